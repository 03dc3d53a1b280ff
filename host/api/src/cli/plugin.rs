//! `backoffice plugin ...`

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Subcommand;

use backoffice_host::Host;
use backoffice_host::error::HostError;
use backoffice_host::registry::PluginInfo;

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Validate and install a plugin package, granting the capabilities it requests.
    Install {
        /// The plugin's .wasm component.
        file: PathBuf,
        /// Grant the requested capabilities without asking.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Install even if the package is unsigned or its key is not trusted
        /// (a signature that does not match the file is always refused).
        #[arg(long)]
        allow_unsigned: bool,
        /// Install even though data kept under this plugin id (removed without
        /// --purge) was written by another vendor's plugin; this package inherits it.
        #[arg(long)]
        allow_vendor_change: bool,
    },
    /// Show a package's manifest, capabilities, imports, exports, host API range and
    /// signature status without installing it.
    Inspect {
        /// The plugin's .wasm component (its signature is read from <file>.sig).
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Sign a package with a vendor key: writes <file.wasm>.sig beside it.
    Sign {
        /// The vendor's secret key file from `backoffice keygen`.
        #[arg(long)]
        key: PathBuf,
        /// The plugin's .wasm component.
        file: PathBuf,
    },
    /// Upgrade an installed plugin to a higher version, migrating every tenant's data.
    Upgrade {
        /// The new version's .wasm component.
        file: PathBuf,
        /// Approve added capabilities without asking.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Accept a major (breaking) version change.
        #[arg(long)]
        allow_major: bool,
        /// Accept an unsigned package or an untrusted key.
        #[arg(long)]
        allow_unsigned: bool,
        /// Accept a new version published by another vendor than the installed one;
        /// it takes over every tenant's data of the plugin.
        #[arg(long)]
        allow_vendor_change: bool,
    },
    /// Return a plugin to its previously installed version.
    Rollback {
        /// Plugin id.
        id: String,
    },
    /// Embed a plugin.toml into a component built by any toolchain (componentize-py,
    /// jco, wit-bindgen without the SDK), replacing a manifest it already carries.
    Pack(PackArgs),
    /// Create a plugin project with one operation and a test: in Rust (Cargo.toml,
    /// src/lib.rs, a test in a real in-process host), Python or JavaScript (app.py or
    /// app.js, the SDK helpers, build.sh with the pinned toolchain, test.sh).
    New(NewArgs),
    /// List installed plugins.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one installed plugin, and its usage against its quotas.
    Info {
        /// Plugin id.
        id: String,
        /// Show usage in this tenant only [default: every tenant it is enabled for].
        #[arg(long)]
        tenant: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Enable a plugin for a tenant (runs its migration).
    Enable {
        /// Plugin id.
        id: String,
        /// Tenant id.
        #[arg(long)]
        tenant: String,
    },
    /// Disable a plugin for a tenant; its data is kept.
    Disable {
        /// Plugin id.
        id: String,
        /// Tenant id.
        #[arg(long)]
        tenant: String,
    },
    /// Remove an installed plugin.
    Remove {
        /// Plugin id.
        id: String,
        /// Also delete the plugin's data in every tenant.
        #[arg(long)]
        purge: bool,
    },
}

/// `backoffice plugin new`.
#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// Plugin id and crate name: lowercase letters, digits and '-'.
    name: String,
    /// Vendor name for the manifest (and the signing key).
    #[arg(long, default_value = "example")]
    vendor: String,
    /// Directory to create the project in.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// Path of the backoffice `sdk` crate [default: the source tree this binary was built from].
    #[arg(long)]
    sdk_path: Option<PathBuf>,
    /// Path of the backoffice `host` crate, for the test kit [default: as for --sdk-path].
    #[arg(long)]
    host_path: Option<PathBuf>,
    /// The language of the project.
    #[arg(long, value_enum, default_value_t = Lang::Rust)]
    lang: Lang,
}

/// A language `plugin new` scaffolds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Rust with the backoffice SDK crate.
    Rust,
    /// Python, built with componentize-py.
    Python,
    /// JavaScript, built with componentize-js.
    Js,
}

/// `backoffice plugin pack`.
#[derive(Debug, clap::Args)]
pub struct PackArgs {
    /// The component (.wasm) to pack.
    component: PathBuf,
    /// The plugin.toml to embed.
    #[arg(long)]
    manifest: PathBuf,
    /// Where to write the packed component (may be the input itself).
    #[arg(long)]
    out: PathBuf,
}

/// Embed a manifest into a component; needs no host. The output is written to a
/// temporary file beside `--out` and renamed, so a refused or interrupted pack leaves
/// no partial file.
pub fn pack(args: &PackArgs) -> Result<(), HostError> {
    let component = read(&args.component)?;
    let text = std::fs::read_to_string(&args.manifest).map_err(|e| {
        HostError::InvalidInput(format!("cannot read {}: {e}", args.manifest.display()))
    })?;
    let (packed, m) = backoffice_host::pack::pack(&component, &text)?;
    let name = args
        .out
        .file_name()
        .ok_or_else(|| {
            HostError::InvalidInput(format!(
                "--out {} does not name a file; pass a path such as plugin.wasm",
                args.out.display()
            ))
        })?
        .to_string_lossy()
        .into_owned();
    let tmp = args.out.with_file_name(format!(".{name}.packing"));
    let write = std::fs::write(&tmp, &packed).and_then(|()| std::fs::rename(&tmp, &args.out));
    if let Err(e) = write {
        let _ = std::fs::remove_file(&tmp);
        return Err(HostError::InvalidInput(format!(
            "cannot write {}: {e}",
            args.out.display()
        )));
    }
    println!(
        "packed {} {} ({} bytes) into {}",
        m.id,
        m.version,
        packed.len(),
        args.out.display()
    );
    println!(
        "sign it with `backoffice plugin sign --key <key> {}` after packing: packing changes the bytes",
        args.out.display()
    );
    Ok(())
}

/// Write a new plugin project; needs no host.
pub fn new(args: &NewArgs) -> Result<(), HostError> {
    use backoffice_host::scaffold_script::{Script, new_script_plugin};
    let script = match args.lang {
        Lang::Rust => None,
        Lang::Python => Some(Script::Python),
        Lang::Js => Some(Script::JavaScript),
    };
    if let Some(lang) = script {
        let files = new_script_plugin(&args.name, &args.vendor, &args.dir, lang)?;
        for f in &files {
            println!("created {}", f.display());
        }
        println!(
            "build it with `./build.sh` in {} (it writes build/{}.wasm); test it with `./test.sh`",
            args.dir.join(&args.name).display(),
            args.name
        );
        return Ok(());
    }
    let tree = backoffice_host::scaffold::Sources::from_build_tree();
    let pick = |given: &Option<PathBuf>, from_tree: Option<PathBuf>, what: &str| {
        given.clone().or(from_tree).ok_or_else(|| {
            HostError::InvalidInput(format!(
                "cannot find the backoffice {what} crate; pass --{what}-path <dir>"
            ))
        })
    };
    let sources = backoffice_host::scaffold::Sources {
        sdk: pick(&args.sdk_path, tree.as_ref().map(|t| t.sdk.clone()), "sdk")?,
        host: pick(&args.host_path, tree.map(|t| t.host), "host")?,
    };
    let files =
        backoffice_host::scaffold::new_plugin(&args.name, &args.vendor, &args.dir, &sources)?;
    for f in &files {
        println!("created {}", f.display());
    }
    let dir = args.dir.join(&args.name);
    println!(
        "build it with `cargo build --release --target wasm32-wasip2` in {}; test it with `cargo test`",
        dir.display()
    );
    Ok(())
}

pub fn run(host: &Host, cmd: &PluginCommand) -> Result<(), HostError> {
    match cmd {
        PluginCommand::Install {
            file,
            yes,
            allow_unsigned,
            allow_vendor_change,
        } => install(host, file, *yes, *allow_unsigned, *allow_vendor_change),
        PluginCommand::Inspect { file, json } => inspect(host, file, *json),
        PluginCommand::New(args) => new(args),
        PluginCommand::Pack(args) => pack(args),
        PluginCommand::Sign { key, file } => {
            let key_text = std::fs::read_to_string(key).map_err(|e| {
                HostError::InvalidInput(format!("cannot read {}: {e}", key.display()))
            })?;
            let bytes = read(file)?;
            let sig = backoffice_host::trust::sign(&key_text, &bytes)?;
            let out = backoffice_host::trust::signature_path(file);
            std::fs::write(&out, sig).map_err(|e| {
                HostError::InvalidInput(format!("cannot write {}: {e}", out.display()))
            })?;
            println!(
                "signed {}; signature written to {}",
                file.display(),
                out.display()
            );
            println!("ship both files; the signature covers the whole component");
            Ok(())
        }
        PluginCommand::Upgrade {
            file,
            yes,
            allow_major,
            allow_unsigned,
            allow_vendor_change,
        } => upgrade(
            host,
            file,
            &UpgradeFlags {
                yes: *yes,
                allow_major: *allow_major,
                allow_unsigned: *allow_unsigned,
                allow_vendor_change: *allow_vendor_change,
            },
        ),
        PluginCommand::Rollback { id } => {
            let r = host.rollback(id)?;
            println!(
                "rolled back '{id}' from {} to {}; {} is no longer installed",
                r.from_version, r.to_version, r.from_version
            );
            Ok(())
        }
        PluginCommand::List { json } => {
            let plugins = host.plugins()?;
            let empty =
                "no plugins installed; install one with `backoffice plugin install <file.wasm>`";
            let header = format!(
                "{:<20} {:<10} {:<16} {:<12} {:<24} ENABLED FOR",
                "ID", "VERSION", "VENDOR", "SIGNATURE", "CAPABILITIES"
            );
            super::print_list(&plugins, *json, Some(empty), &header, |p| {
                format!(
                    "{:<20} {:<10} {:<16} {:<12} {:<24} {}",
                    p.id,
                    p.version,
                    p.vendor,
                    p.signature.word(),
                    p.granted.join(","),
                    p.enabled_for.join(",")
                )
            })
        }
        PluginCommand::Info { id, tenant, json } => {
            let info = host.plugin_usage(id, tenant.as_deref())?;
            super::print_report(&info, *json, print_info)
        }
        PluginCommand::Enable { id, tenant } => {
            let e = host.enable(id, tenant)?;
            println!("enabled '{id}' {} for tenant '{tenant}'", e.data_version);
            Ok(())
        }
        PluginCommand::Disable { id, tenant } => {
            host.disable(id, tenant)?;
            println!("disabled '{id}' for tenant '{tenant}'; its data is kept");
            Ok(())
        }
        PluginCommand::Remove { id, purge } => {
            let r = host.remove(id, *purge)?;
            if *purge {
                println!(
                    "removed '{id}' and deleted {} keys of its data",
                    r.purged_keys
                );
            } else {
                println!(
                    "removed '{id}'; kept {} keys of its data (reinstall to use them, or remove with --purge to delete them)",
                    r.kept_keys
                );
            }
            Ok(())
        }
    }
}

fn read(file: &Path) -> Result<Vec<u8>, HostError> {
    std::fs::read(file)
        .map_err(|e| HostError::InvalidInput(format!("cannot read {}: {e}", file.display())))
}

fn install(
    host: &Host,
    file: &Path,
    yes: bool,
    allow_unsigned: bool,
    allow_vendor_change: bool,
) -> Result<(), HostError> {
    let signature = backoffice_host::trust::read_signature(file)?;
    let mut plan = host.install_plan(read(file)?, signature.as_deref(), allow_unsigned)?;
    plan.allow_vendor_change = allow_vendor_change;
    let m = &plan.manifest;
    println!("{} {} by {} ({})", m.id, m.version, m.vendor, m.name);
    println!("signature: {}", plan.signature.describe());
    if let Some(err) = plan.signature.refusal(&m.id, allow_unsigned) {
        return Err(err);
    }
    let vendor_changed = plan.vendor_changed();
    if plan.kept_keys > 0 {
        println!(
            "inherits {} keys of data kept from an earlier install of '{}' by vendor '{}'",
            plan.kept_keys,
            m.id,
            plan.kept_vendor_name()
        );
    }
    if let Some(err) = plan.vendor_refusal() {
        return Err(err);
    }
    if vendor_changed {
        println!(
            "VENDOR CHANGE: data of '{}' written by vendor '{}' goes to vendor '{}'",
            m.id,
            plan.kept_vendor_name(),
            m.vendor
        );
    }
    if m.capabilities.is_empty() {
        println!("requests no capabilities");
    } else {
        println!("requests capabilities:");
        print_capabilities(m);
    }
    print_background(m);
    let grants_more =
        !m.capabilities.is_empty() || !m.background.permissions.is_empty() || !m.uses.is_empty();
    if !yes && (vendor_changed || grants_more) {
        let question = if vendor_changed {
            format!(
                "hand the data of '{}' from vendor '{}' to vendor '{}', grant these capabilities and install?",
                m.id,
                plan.kept_vendor_name(),
                m.vendor
            )
        } else {
            "grant these capabilities and permissions and install?".to_string()
        };
        if !confirm(&question)? {
            return Err(HostError::Forbidden(
                "installation cancelled: the requested capabilities were not granted".into(),
            ));
        }
    }
    let info = host.install(plan)?;
    println!(
        "installed '{}' {} (sha256 {})",
        info.id,
        info.version,
        &info.digest[..16]
    );
    println!(
        "enable it with `backoffice plugin enable {} --tenant <tenant>`",
        info.id
    );
    Ok(())
}

fn inspect(host: &Host, file: &Path, json: bool) -> Result<(), HostError> {
    let signature = backoffice_host::trust::read_signature(file)?;
    let r = host.inspect_package(read(file)?, signature.as_deref())?;
    if json {
        return super::print_json(&r);
    }
    let m = &r.manifest;
    print_identity(
        &m.id,
        &m.version,
        &m.name,
        &m.vendor,
        &m.description,
        &r.digest,
        &r.signature,
    );
    println!(
        "host API:      needs {}, this host provides {}",
        r.host_api_required, r.host_api_provided
    );
    println!(
        "installed:     {}",
        r.installed_version.as_deref().unwrap_or("no")
    );
    println!("capabilities:");
    if m.capabilities.is_empty() {
        println!("  (none)");
    }
    print_capabilities(m);
    if !m.dependencies.is_empty() {
        for (dep, req) in &m.dependencies {
            println!("depends on:    {dep} {req}");
        }
    }
    print_background(m);
    println!("imports:");
    for i in &r.imports {
        println!("  {i}");
    }
    println!("exports:");
    for e in &r.exports {
        println!("  {e}");
    }
    println!("operations:");
    for op in &m.operations {
        println!(
            "  {:<20} needs {:<24} {}",
            op.name, op.permission, op.description
        );
    }
    Ok(())
}

/// What the admin allowed on `plugin upgrade`.
struct UpgradeFlags {
    yes: bool,
    allow_major: bool,
    allow_unsigned: bool,
    allow_vendor_change: bool,
}

fn upgrade(host: &Host, file: &Path, flags: &UpgradeFlags) -> Result<(), HostError> {
    let signature = backoffice_host::trust::read_signature(file)?;
    let mut plan =
        host.upgrade_plan_checked(read(file)?, signature.as_deref(), flags.allow_unsigned)?;
    plan.allow_major = flags.allow_major;
    plan.allow_vendor_change = flags.allow_vendor_change;
    let id = plan.manifest.id.clone();
    println!(
        "{id}: {} -> {}{}",
        plan.from_version,
        plan.manifest.version,
        if plan.major { " (major)" } else { "" }
    );
    if plan.vendor_changed() {
        println!(
            "vendor: '{}' -> '{}' (VENDOR CHANGE: '{}' takes over every tenant's data of '{id}')",
            plan.from_vendor, plan.manifest.vendor, plan.manifest.vendor
        );
    } else {
        println!("vendor: {}", plan.manifest.vendor);
    }
    println!("signature: {}", plan.signature.describe());
    if let Some(err) = plan.signature.refusal(&id, flags.allow_unsigned) {
        return Err(err);
    }
    if let Some(err) = plan.vendor_refusal() {
        return Err(err);
    }
    if plan.major && !flags.allow_major {
        return Err(HostError::Conflict(format!(
            "upgrading '{id}' from {} to {} is a major (breaking) version change; read the vendor's release notes and pass --allow-major to go ahead",
            plan.from_version, plan.manifest.version
        )));
    }
    for cap in &plan.dropped_capabilities {
        println!("  - {cap} (no longer requested; the grant is withdrawn)");
    }
    if plan.requests_more() {
        println!("the new version asks for more:");
    }
    for cap in &plan.added.capabilities {
        println!("  + {cap}: {}", describe_capability(cap));
    }
    for h in &plan.added.outbound_hosts {
        println!("  + HTTP requests to {h}");
    }
    for dep in &plan.added.dependencies {
        println!("  + dependency {dep}: may call its operations as the caller");
    }
    for topic in &plan.added.subscriptions {
        println!("  + subscription {topic}: receives these events of every tenant enabling it");
    }
    for job in &plan.added.jobs {
        println!("  + job {job}: runs on its schedule or when scheduled, without a user asking");
    }
    for topic in &plan.added.emits {
        println!("  + emits {topic}");
    }
    for permission in &plan.added.background_permissions {
        println!(
            "  + background permission {permission}: its jobs and event handlers may call operations needing it"
        );
    }
    for interface in &plan.added.uses {
        println!("  + uses {interface}: calls the plugins that provide it");
    }
    if !flags.yes && (plan.requests_more() || plan.vendor_changed()) {
        let question = if plan.vendor_changed() {
            format!(
                "replace vendor '{}' by vendor '{}' for '{id}', grant the above and upgrade?",
                plan.from_vendor, plan.manifest.vendor
            )
        } else {
            "grant the above and upgrade?".to_string()
        };
        if !confirm(&question)? {
            return Err(HostError::Forbidden(
                "upgrade cancelled: the additions were not approved".into(),
            ));
        }
    }
    if !plan.tenants.is_empty() {
        println!(
            "migrating the data of tenant(s) {}",
            plan.tenants.join(", ")
        );
    }
    let info = host.upgrade(plan)?;
    println!("upgraded '{}' to {}", info.id, info.version);
    Ok(())
}

/// What the plugin's background work runs with and which extension points it calls,
/// for the install prompt and `plugin inspect`.
fn print_background(m: &backoffice_host::manifest::Manifest) {
    if m.background.permissions.is_empty() {
        println!(
            "background work (jobs, event handlers) runs as plugin:{} with no permissions",
            m.id
        );
    } else {
        println!(
            "background work (jobs, event handlers) runs as plugin:{} with permissions:",
            m.id
        );
        for p in &m.background.permissions {
            println!("  - {p}");
        }
    }
    for interface in &m.uses {
        println!("uses extension point {interface}: calls the plugins that provide it");
    }
}

fn describe_capability(cap: &str) -> &'static str {
    match cap {
        "storage" => "read and write its own data in each tenant that enables it",
        "events" => "emit events to other plugins",
        "scheduler" => "schedule runs of its own jobs",
        "plugins" => "call operations of the plugins it depends on",
        "notify" => "email users and roles of each tenant that enables it",
        "http" => "send HTTP requests, after each call commits, to the hosts it lists",
        _ => "unknown capability",
    }
}

fn confirm(question: &str) -> Result<bool, HostError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(HostError::Forbidden(format!(
            "there is no terminal to answer \"{question}\"; re-run with --yes to approve what is listed above"
        )));
    }
    print!("{question} [y/N] ");
    std::io::stdout().flush().ok();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| HostError::InvalidInput(format!("cannot read answer: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// A line per capability `m` requests, saying what it allows, and under `http` the
/// hosts it may reach.
fn print_capabilities(m: &backoffice_host::manifest::Manifest) {
    for cap in &m.capabilities {
        println!("  - {cap}: {}", describe_capability(cap));
        if cap == "http" {
            for h in &m.allowed_outbound_hosts {
                println!("      {h}");
            }
        }
    }
}

/// The first lines about a package, installed or not: its id, version and name,
/// vendor, description (when it has one), digest and signature.
fn print_identity(
    id: &str,
    version: &dyn std::fmt::Display,
    name: &str,
    vendor: &str,
    description: &str,
    digest: &str,
    signature: &backoffice_host::trust::SignatureStatus,
) {
    println!("{id} {version} ({name})");
    println!("vendor:        {vendor}");
    if !description.is_empty() {
        println!("description:   {description}");
    }
    println!("sha256:        {digest}");
    println!("signature:     {}", signature.describe());
}

fn print_info(p: &PluginInfo) {
    print_identity(
        &p.id,
        &p.version,
        &p.name,
        &p.vendor,
        &p.description,
        &p.digest,
        &p.signature,
    );
    println!("installed at:  {}", p.installed_at);
    println!("versions:      {}", p.versions.join(", "));
    println!(
        "capabilities:  requested [{}], granted [{}]",
        p.capabilities.join(", "),
        p.granted.join(", ")
    );
    if !p.dependencies.is_empty() {
        let deps: Vec<String> = p
            .dependencies
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!("depends on:    {}", deps.join(", "));
    }
    println!(
        "background:    runs as plugin:{} with permissions [{}]",
        p.id,
        p.background_permissions.join(", ")
    );
    if !p.uses.is_empty() {
        println!("uses:          {}", p.uses.join(", "));
    }
    println!(
        "limits:        {} of memory, {} ms per call ({})",
        if p.limits.memory_bytes.is_multiple_of(1 << 20) {
            format!("{} MiB", p.limits.memory_bytes >> 20)
        } else {
            format!("{} bytes", p.limits.memory_bytes)
        },
        p.limits.call_deadline_ms,
        if p.limits.declared {
            "declared in its [limits]"
        } else {
            "the host's defaults"
        }
    );
    println!(
        "memory peak:   {}",
        match p.limits.memory_high_water_bytes {
            Some(bytes) => format!(
                "{} KiB held by one instance at most, over this process's calls",
                bytes >> 10
            ),
            None =>
                "not measured: no call in this process (see the server's GET /v1/admin/plugins/ID)"
                    .into(),
        }
    );
    println!(
        "enabled for:   {}",
        if p.enabled_for.is_empty() {
            "no tenant".into()
        } else {
            p.enabled_for.join(", ")
        }
    );
    println!("operations:");
    for op in &p.operations {
        println!(
            "  {:<20} needs {:<24} {}",
            op.name, op.permission, op.description
        );
    }
    for u in &p.usage {
        let pct = |m: &backoffice_host::registry::Meter| {
            if m.limit == 0 {
                String::new()
            } else {
                format!(" ({:.1} %)", m.used as f64 * 100.0 / m.limit as f64)
            }
        };
        println!("quotas in tenant '{}' (day {} UTC):", u.tenant, u.day);
        for (name, m) in [
            ("stored keys", &u.stored_keys),
            ("stored bytes", &u.stored_bytes),
            ("events today", &u.events_today),
            ("runs today", &u.runs_today),
        ] {
            println!("  {name:<14} {} of {}{}", m.used, m.limit, pct(m));
        }
        println!(
            "  per call       at most {} events, {} scheduled runs",
            u.events_per_call, u.runs_per_call
        );
    }
}
