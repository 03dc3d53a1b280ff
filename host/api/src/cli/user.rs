//! `backoffice user ...` and `backoffice role ...`: who may do what in a tenant.

use std::io::Read;

use clap::Subcommand;

use backoffice_host::Host;
use backoffice_host::error::HostError;

/// Where a user lives: a tenant, or the host for system administrators.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct UserScope {
    /// Tenant the user belongs to.
    #[arg(long)]
    pub(super) tenant: Option<String>,
    /// A system administrator of the host instead of a tenant user.
    #[arg(long)]
    system_admin: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. Without --password-stdin the user can only act through API
    /// tokens (a service account).
    Create {
        /// Login name.
        username: String,
        #[command(flatten)]
        scope: UserScope,
        /// Display name.
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from standard input (at least 12 characters).
        #[arg(long)]
        password_stdin: bool,
        /// The user's email address, where plugins' notifications go (tenant users).
        #[arg(long, value_name = "ADDRESS")]
        email: Option<String>,
    },
    /// Set or clear the email address notifications to a tenant user go to.
    SetEmail {
        /// Login name.
        username: String,
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// The address, such as ana@example.com.
        #[arg(required_unless_present = "clear", conflicts_with = "clear")]
        address: Option<String>,
        /// Remove the address: the user is no longer notified.
        #[arg(long)]
        clear: bool,
    },
    /// Change a user's password (from standard input) or disable the user.
    Update {
        /// Login name.
        username: String,
        #[command(flatten)]
        scope: UserScope,
        /// Read a new password from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Disable the user: no sign-in, every token stops working.
        #[arg(long)]
        disable: bool,
    },
    /// List users.
    List {
        #[command(flatten)]
        scope: UserScope,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Give a user a role in its tenant.
    AssignRole(RoleOfUser),
    /// Take a role away from a user.
    UnassignRole(RoleOfUser),
}

/// The arguments of `user assign-role` and `user unassign-role`.
#[derive(Debug, clap::Args)]
pub struct RoleOfUser {
    /// Login name.
    username: String,
    /// Role name.
    role: String,
    /// Tenant id.
    #[arg(long)]
    tenant: String,
}

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Create a role in a tenant.
    Create {
        /// Role name.
        name: String,
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// What the role is for.
        #[arg(long, default_value = "")]
        description: String,
        /// Permission patterns to grant at once (repeatable): `ledger.post`, `ledger.*`.
        #[arg(long = "permission")]
        permissions: Vec<String>,
    },
    /// Grant a permission pattern to a role.
    Grant {
        /// Role name.
        role: String,
        /// Permission pattern: `ledger.post`, `ledger.*` or `*`.
        permission: String,
        /// Tenant id.
        #[arg(long)]
        tenant: String,
    },
    /// Revoke a permission pattern from a role.
    Revoke {
        /// Role name.
        role: String,
        /// Permission pattern exactly as granted.
        permission: String,
        /// Tenant id.
        #[arg(long)]
        tenant: String,
    },
    /// List the roles of a tenant with their permissions.
    List {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn read_password() -> Result<String, HostError> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| HostError::InvalidInput(format!("cannot read the password: {e}")))?;
    Ok(text.trim_end_matches(['\n', '\r']).to_string())
}

pub fn run_user(host: &Host, cmd: &UserCommand) -> Result<(), HostError> {
    match cmd {
        UserCommand::Create {
            username,
            scope,
            display_name,
            password_stdin,
            email,
        } => {
            if let Some(address) = email {
                if scope.tenant.is_none() {
                    return Err(HostError::InvalidInput(
                        "--email is for tenant users: notifications go to people of a tenant; create the user with --tenant".into(),
                    ));
                }
                // Checked before the user exists, so a bad address creates nothing.
                backoffice_host::notify::check_address(address)?;
            }
            let password = password_stdin.then(read_password).transpose()?;
            let user = host.create_user(
                scope.tenant.as_deref(),
                username,
                display_name.as_deref(),
                password.as_deref(),
            )?;
            let place = scope
                .tenant
                .as_deref()
                .map_or("system administrator".to_string(), |t| {
                    format!("tenant '{t}'")
                });
            if let (Some(tenant), Some(address)) = (&scope.tenant, email) {
                host.set_user_email(tenant, &user.username, Some(address))?;
            }
            println!("created user '{}' ({place})", user.username);
        }
        UserCommand::SetEmail {
            username,
            tenant,
            address,
            clear: _,
        } => {
            host.set_user_email(tenant, username, address.as_deref())?;
            match address {
                Some(a) => println!("user '{username}' in tenant '{tenant}' is notified at {a}"),
                None => println!("user '{username}' in tenant '{tenant}' has no email address now"),
            }
        }
        UserCommand::Update {
            username,
            scope,
            password_stdin,
            disable,
        } => {
            if !password_stdin && !disable {
                return Err(HostError::InvalidInput(
                    "nothing to change: pass --password-stdin and/or --disable".into(),
                ));
            }
            let password = password_stdin.then(read_password).transpose()?;
            host.update_user(
                scope.tenant.as_deref(),
                username,
                password.as_deref(),
                *disable,
            )?;
            println!("updated user '{username}'");
        }
        UserCommand::List { scope, json } => {
            let users = host.users(scope.tenant.as_deref())?;
            let emails: std::collections::HashMap<String, String> = match &scope.tenant {
                Some(t) => host.user_emails(t)?.into_iter().collect(),
                None => std::collections::HashMap::new(),
            };
            if *json {
                let mut rows = Vec::with_capacity(users.len());
                for u in &users {
                    let mut row = serde_json::to_value(u)
                        .map_err(|e| HostError::Internal(format!("cannot print users: {e}")))?;
                    if let Some(obj) = row.as_object_mut() {
                        obj.insert("email".into(), emails.get(&u.username).cloned().into());
                    }
                    rows.push(row);
                }
                super::print_json(&rows)?;
            } else {
                println!(
                    "{:<24} {:<32} {:<8} {:<32} CREATED",
                    "USER", "NAME", "STATE", "EMAIL"
                );
                for u in users {
                    let state = if u.disabled_at.is_some() {
                        "disabled"
                    } else {
                        "active"
                    };
                    let email = emails.get(&u.username).map_or("-", String::as_str);
                    println!(
                        "{:<24} {:<32} {:<8} {:<32} {}",
                        u.username, u.display_name, state, email, u.created_at
                    );
                }
            }
        }
        UserCommand::AssignRole(RoleOfUser {
            username,
            role,
            tenant,
        })
        | UserCommand::UnassignRole(RoleOfUser {
            username,
            role,
            tenant,
        }) => {
            let remove = matches!(cmd, UserCommand::UnassignRole(_));
            let roles = host.set_user_role(tenant, username, role, remove)?;
            println!(
                "user '{username}' in tenant '{tenant}' now has roles: {}",
                joined(&roles, "(none)")
            );
        }
    }
    Ok(())
}

/// `items` separated by commas, or `none` when there are none.
fn joined(items: &[String], none: &str) -> String {
    if items.is_empty() {
        none.to_string()
    } else {
        items.join(", ")
    }
}

pub fn run_role(host: &Host, cmd: &RoleCommand) -> Result<(), HostError> {
    match cmd {
        RoleCommand::Create {
            name,
            tenant,
            description,
            permissions,
        } => {
            let role = host.create_role(tenant, name, description, permissions)?;
            println!(
                "created role '{}' in tenant '{tenant}' with permissions: {}",
                role.name,
                role.permissions.join(", ")
            );
        }
        RoleCommand::Grant {
            role,
            permission,
            tenant,
        }
        | RoleCommand::Revoke {
            role,
            permission,
            tenant,
        } => {
            let revoke = matches!(cmd, RoleCommand::Revoke { .. });
            let updated = host.set_role_permission(tenant, role, permission, revoke)?;
            println!(
                "role '{role}' in tenant '{tenant}' now grants: {}",
                joined(&updated.permissions, "(nothing)")
            );
        }
        RoleCommand::List { tenant, json } => {
            let roles = host.roles(tenant)?;
            let header = format!("{:<24} PERMISSIONS", "ROLE");
            super::print_list(&roles, *json, None, &header, |r| {
                format!("{:<24} {}", r.name, r.permissions.join(", "))
            })?;
        }
    }
    Ok(())
}
