//! `backoffice ledger import` and `backoffice banking import`: files larger than one
//! call's input limit, split at record boundaries into chunks that are each imported
//! by one atomic call, resumable after a failure (issue 21, item 4).
//!
//! Every chunk carries a key chained from the digests of the chunks before it and its
//! own text: `key(i) = sha256(key(i-1) || text(i))`. The plugin records the key in the
//! same transaction as the chunk's data, so a rerun skips the chunks already imported.
//! Because the key depends only on the file up to the end of its chunk, a file fixed at
//! a bad record keeps the keys of the chunks before it: the rerun imports the rest and
//! nothing twice.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use backoffice_host::Host;
use backoffice_host::auth::Principal;
use backoffice_host::error::HostError;

/// Records one chunk holds at most by default: each ledger entry emits an event (a
/// call may emit 10,000, `--quota-events-per-call`), and a chunk must finish within the
/// call deadline (2 s by default) even on a busy machine: 2,000 entries take about
/// 0.15 s on an idle one.
const DEFAULT_CHUNK_RECORDS: usize = 2000;

/// Room left in each call's input for the JSON around the chunk's text.
const ENVELOPE_BYTES: usize = 1024;

/// How chunks are sized.
#[derive(Debug, clap::Args)]
pub struct ChunkArgs {
    /// Largest input of one call, in bytes of JSON [default: the host's input limit,
    /// 1 MiB unless changed].
    #[arg(long)]
    chunk_bytes: Option<usize>,
    /// Most records (journal transactions and directives, statement lines) in one call.
    #[arg(long, default_value_t = DEFAULT_CHUNK_RECORDS)]
    chunk_records: usize,
}

/// `backoffice ledger ...`.
#[derive(Debug, clap::Subcommand)]
pub enum LedgerCommand {
    /// Import an hledger / ledger journal of any size in atomic chunks; run it again
    /// after a failure to import the rest.
    Import(LedgerImportArgs),
}

/// `backoffice banking ...`.
#[derive(Debug, clap::Subcommand)]
pub enum BankingCommand {
    /// Import a bank statement of any size in atomic chunks; run it again after a
    /// failure to import the rest.
    Import(BankingImportArgs),
}

#[derive(Debug, clap::Args)]
pub struct LedgerImportArgs {
    /// The journal file.
    file: PathBuf,
    /// Tenant to import into.
    #[arg(long)]
    tenant: String,
    #[command(flatten)]
    chunks: ChunkArgs,
}

/// Statement formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// CSV read through a saved column mapping (`--mapping`).
    Csv,
    /// ISO 20022 camt.053 XML.
    Camt053,
    /// OFX (1.x SGML or 2.x XML).
    Ofx,
}

#[derive(Debug, clap::Args)]
pub struct BankingImportArgs {
    /// The statement file.
    file: PathBuf,
    /// Tenant to import into.
    #[arg(long)]
    tenant: String,
    /// The bank account (`ba-000001`) the statement belongs to.
    #[arg(long)]
    account: String,
    /// The file's format [default: from the extension: .csv, .xml, .ofx or .qfx].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// The saved CSV mapping to read the file with (CSV only).
    #[arg(long)]
    mapping: Option<String>,
    /// Balance before the first line, as a decimal (`1250.00`) (CSV only).
    #[arg(long, allow_hyphen_values = true)]
    opening_balance: Option<String>,
    /// Balance after the last line, as a decimal, for reconciliation (CSV only).
    #[arg(long, allow_hyphen_values = true)]
    closing_balance: Option<String>,
    /// The day of the closing balance, YYYY-MM-DD [default: the last line's date].
    #[arg(long)]
    closing_date: Option<String>,
    #[command(flatten)]
    chunks: ChunkArgs,
}

/// One record of the file: a transaction or directive with its comments, or a
/// statement line.
#[derive(Debug, Clone)]
struct Record {
    /// 1-based line of its first line in the file.
    line: usize,
    /// Its text, ending with a line break.
    text: String,
    /// Whether it counts as a record in the summary (comment-only runs do not).
    counts: bool,
    /// A journal `commodity` directive (repeated in the preamble of later chunks).
    preamble: bool,
}

/// One call's worth of the file.
#[derive(Debug)]
struct Chunk {
    /// The text sent.
    text: String,
    /// The file line of each line of `text`.
    lines: Vec<usize>,
    /// File lines of its first and last records.
    first_line: usize,
    last_line: usize,
    /// Records counted.
    records: usize,
    /// `hex(sha256(previous key || text))`, 32 hex digits.
    key: String,
}

/// The escaped length of `text` inside a JSON string.
fn json_len(text: &str) -> usize {
    serde_json::to_string(text).map_or(text.len() * 6, |s| s.len() - 2)
}

/// Lines of `text` with their 1-based numbers, each ending with `\n` (added to a last
/// line without one).
fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, String)> + '_ {
    text.split_inclusive('\n').enumerate().map(|(i, l)| {
        let mut l = l.to_owned();
        if !l.ends_with('\n') {
            l.push('\n');
        }
        (i + 1, l)
    })
}

/// Split a journal into records: a transaction starts at an unindented line that
/// starts with a digit (its date), a directive at any other unindented word; indented
/// lines, blank lines, comment lines and `comment` blocks belong to the record before.
fn journal_records(text: &str) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::new();
    let mut in_comment = false;
    for (n, line) in numbered_lines(text) {
        let first = line.chars().next().unwrap_or('\n');
        let starts = !in_comment
            && !line.trim().is_empty()
            && !matches!(first, ' ' | '\t' | ';' | '#' | '*' | '%' | '|');
        if in_comment {
            in_comment = line.trim_end() != "end comment";
        }
        if starts {
            let word = line
                .split([' ', '\t', '\r', '\n'])
                .next()
                .unwrap_or("")
                .to_owned();
            in_comment = word == "comment";
            out.push(Record {
                line: n,
                text: line,
                counts: word != "comment",
                preamble: matches!(word.as_str(), "commodity" | "decimal-mark"),
            });
        } else if let Some(last) = out.last_mut() {
            last.text.push_str(&line);
        } else {
            out.push(Record {
                line: n,
                text: line,
                counts: false,
                preamble: false,
            });
        }
    }
    out
}

/// Split CSV text into its first `header_rows` records (kept together as the header)
/// and the data records after them; a record ends at a line break outside quotes.
fn csv_records(text: &str, header_rows: usize) -> (String, usize, Vec<Record>) {
    let mut header = String::new();
    let mut header_lines = 0;
    let mut out: Vec<Record> = Vec::new();
    let mut rows = 0;
    let mut in_quotes = false;
    let mut open: Option<Record> = None;
    for (n, line) in numbered_lines(text) {
        let quotes = line.bytes().filter(|b| *b == b'"').count();
        let rec = open.get_or_insert_with(|| Record {
            line: n,
            text: String::new(),
            counts: false,
            preamble: false,
        });
        rec.text.push_str(&line);
        if quotes % 2 == 1 {
            in_quotes = !in_quotes;
        }
        if in_quotes {
            continue;
        }
        let Some(mut rec) = open.take() else { continue };
        if rows < header_rows {
            header_lines += rec.text.matches('\n').count();
            header.push_str(&rec.text);
            if !rec.text.trim().is_empty() {
                rows += 1;
            }
            continue;
        }
        rec.counts = !rec.text.trim().is_empty();
        out.push(rec);
    }
    if let Some(rec) = open {
        // An unclosed quote: send it as is, the plugin names its line.
        out.push(Record {
            counts: true,
            ..rec
        });
    }
    (header, header_lines, out)
}

/// Group records into chunks whose JSON text stays within `budget` bytes and
/// `max_records` records. `preamble_of` gives the text every chunk starts with (the
/// header, or the directives before it) and its file lines.
fn chunk(
    records: &[Record],
    budget: usize,
    max_records: usize,
    preamble_of: &dyn Fn(usize) -> (String, Vec<usize>),
) -> Result<Vec<Chunk>, HostError> {
    let mut chunks = Vec::new();
    let mut key = [0u8; 32];
    let mut at = 0;
    while at < records.len() {
        let (mut text, mut lines) = preamble_of(at);
        let mut size = json_len(&text);
        let start = at;
        let mut counted = 0;
        while at < records.len() {
            let r = &records[at];
            let len = json_len(&r.text);
            let full = counted >= max_records.max(1) && r.counts;
            if at > start && (size + len > budget || full) {
                break;
            }
            if size + len > budget {
                return Err(HostError::InvalidInput(format!(
                    "line {}: this record is {len} bytes (as JSON, with the {} bytes every chunk repeats), more than one call takes ({budget} bytes); split it or raise --chunk-bytes and the host's input limit",
                    r.line, size
                )));
            }
            size += len;
            text.push_str(&r.text);
            lines.extend((0..r.text.matches('\n').count()).map(|k| r.line + k));
            counted += usize::from(r.counts);
            at += 1;
        }
        let mut h = Sha256::new();
        h.update(key);
        h.update(text.as_bytes());
        key = h.finalize().into();
        chunks.push(Chunk {
            text,
            lines,
            first_line: records[start].line,
            last_line: records[at - 1].line,
            records: counted,
            key: hex::encode(&key[..16]),
        });
    }
    Ok(chunks)
}

/// `message` with every `line N` of the chunk's text replaced by the file's line.
fn file_lines(message: &str, lines: &[usize]) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("line ") {
        out.push_str(&rest[..at + 5]);
        rest = &rest[at + 5..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let mapped = rest[..digits]
            .parse::<usize>()
            .ok()
            .and_then(|n| lines.get(n.checked_sub(1)?));
        match mapped {
            Some(n) => out.push_str(&n.to_string()),
            None => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// Pass the message of `$value` through `$f` in place when it is one of the listed
/// variants of `$ty`, each holding only its message; `false` for any other variant.
macro_rules! reword_in_place {
    ($value:expr, $f:expr, $ty:ident: $($variant:ident),+) => {
        match $value {
            $($ty::$variant(m) => {
                *m = $f(m);
                true
            })+
            #[allow(unreachable_patterns)]
            _ => false,
        }
    };
}

/// The same failure with its message passed through `f` (the exit code is kept).
fn reword(mut e: HostError, f: impl Fn(&str) -> String) -> HostError {
    use backoffice_host::bindings::WitError as W;
    use backoffice_host::runtime::Failure;
    let reworded = match &mut e {
        HostError::Call {
            failure: Failure::Plugin(w),
            ..
        } => {
            reword_in_place!(w, f, W: InvalidInput, NotFound, Conflict, Forbidden, Internal, Unsupported)
        }
        other => {
            reword_in_place!(other, f, HostError: InvalidInput, NotFound, Conflict, Forbidden, Internal)
        }
    };
    if !reworded {
        // Deadlines, quotas, traps: the message cannot carry the chunk, so say it on
        // its own line first.
        eprintln!("{}", f("the chunk failed"));
    }
    e
}

/// What a run did.
#[derive(Debug, Default)]
struct Tally {
    chunks: usize,
    imported_chunks: usize,
    skipped_chunks: usize,
    records: usize,
    imported: usize,
    skipped: usize,
}

/// Read the file, with a clear error.
fn read(file: &Path) -> Result<String, HostError> {
    std::fs::read_to_string(file).map_err(|e| {
        HostError::InvalidInput(format!(
            "cannot read {}: {e} (the file must exist and be UTF-8 text)",
            file.display()
        ))
    })
}

/// The JSON budget of one call.
fn budget(host: &Host, args: &ChunkArgs) -> Result<usize, HostError> {
    let limit = host.runtime().limits().max_input_bytes;
    let wanted = args.chunk_bytes.unwrap_or(limit);
    if wanted > limit {
        return Err(HostError::InvalidInput(format!(
            "--chunk-bytes {wanted} is more than the host's input limit of {limit} bytes; use at most {limit}"
        )));
    }
    wanted
        .checked_sub(ENVELOPE_BYTES)
        .filter(|b| *b >= 1024)
        .ok_or_else(|| {
            HostError::InvalidInput(format!(
                "--chunk-bytes {wanted} is too small: use at least {}",
                ENVELOPE_BYTES + 1024
            ))
        })
}

/// Import `chunks` one call each: `call(chunk, index)` answers whether the chunk was
/// already imported (skipped). Draws a progress bar on a terminal and prints the
/// summary at the end, or says which chunks are in when one fails.
fn run_chunks(
    file: &Path,
    what: &str,
    chunks: &[Chunk],
    mut call: impl FnMut(&Chunk, usize) -> Result<bool, HostError>,
) -> Result<(), HostError> {
    let started = Instant::now();
    let total: usize = chunks.iter().map(|c| c.records).sum();
    let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{msg}: [{bar:40}] {pos}/{len} records, {elapsed} (eta {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(format!("importing {}", file.display()));
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut tally = Tally {
        chunks: chunks.len(),
        records: total,
        ..Tally::default()
    };
    for (i, c) in chunks.iter().enumerate() {
        match call(c, i) {
            Ok(true) => {
                tally.skipped_chunks += 1;
                tally.skipped += c.records;
            }
            Ok(false) => {
                tally.imported_chunks += 1;
                tally.imported += c.records;
            }
            Err(e) => {
                bar.abandon();
                let done = tally.imported_chunks + tally.skipped_chunks;
                let n = chunks.len();
                return Err(reword(e, |m| {
                    format!(
                        "{}: chunk {} of {n} (lines {} to {}) was not imported: {}; {}",
                        file.display(),
                        i + 1,
                        c.first_line,
                        c.last_line,
                        file_lines(m, &c.lines),
                        if done == 0 {
                            "nothing of the file is imported".to_owned()
                        } else {
                            format!(
                                "chunks 1 to {done} ({} {what}, up to line {}) are imported; fix the file and run the same command again to import the rest (chunks already imported are skipped)",
                                tally.imported + tally.skipped,
                                c.first_line.saturating_sub(1)
                            )
                        }
                    )
                }));
            }
        }
        bar.inc(c.records as u64);
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let rate = if secs > 0.0 {
        tally.imported as f64 / secs
    } else {
        0.0
    };
    println!(
        "imported {}: {} chunks ({} imported, {} already imported and skipped), {} {what} ({} imported, {} skipped) in {secs:.1} s ({rate:.0} {what}/s)",
        file.display(),
        tally.chunks,
        tally.imported_chunks,
        tally.skipped_chunks,
        tally.records,
        tally.imported,
        tally.skipped,
    );
    Ok(())
}

/// Invoke as the operator; `input` is JSON.
fn invoke(
    host: &Host,
    tenant: &str,
    plugin: &str,
    op: &str,
    input: &Value,
) -> Result<Value, HostError> {
    host.invoke(
        tenant,
        plugin,
        op,
        &input.to_string(),
        &Principal::operator(&super::os_user()),
    )
}

pub fn run_ledger(host: &Host, cmd: &LedgerCommand) -> Result<(), HostError> {
    let LedgerCommand::Import(args) = cmd;
    let text = read(&args.file)?;
    let records = journal_records(&text);
    let budget = budget(host, &args.chunks)?;
    // Every chunk repeats the `commodity` directives before it: they say how later
    // amounts are written (`commodity $1,000.00` allows the grouping).
    let preamble = |at: usize| {
        let mut text = String::new();
        let mut lines = Vec::new();
        for r in records[..at].iter().filter(|r| r.preamble) {
            text.push_str(&r.text);
            lines.extend((0..r.text.matches('\n').count()).map(|k| r.line + k));
        }
        if !text.is_empty() {
            text.push('\n');
            lines.push(0);
        }
        (text, lines)
    };
    let chunks = chunk(&records, budget, args.chunks.chunk_records, &preamble)?;
    let result = run_chunks(&args.file, "records", &chunks, |c, _| {
        let out = invoke(
            host,
            &args.tenant,
            "ledger",
            "import-journal",
            &json!({"journal": c.text, "idempotency-key": format!("import-{}", c.key)}),
        )?;
        Ok(out["replayed"] == json!(true))
    });
    if let Err(e) = host.record_code_digests() {
        tracing::warn!(error = %e, "cannot record compiled-code cache digests");
    }
    result
}

pub fn run_banking(host: &Host, cmd: &BankingCommand) -> Result<(), HostError> {
    let BankingCommand::Import(args) = cmd;
    let format = match args.format {
        Some(f) => f,
        None => {
            let ext = args
                .file
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            match ext.as_deref() {
                Some("csv") => Format::Csv,
                Some("xml") => Format::Camt053,
                Some("ofx" | "qfx") => Format::Ofx,
                _ => {
                    return Err(HostError::InvalidInput(format!(
                        "cannot tell the format of {} from its extension; pass --format csv, camt053 or ofx",
                        args.file.display()
                    )));
                }
            }
        }
    };
    if format != Format::Csv {
        if args.mapping.is_some()
            || args.opening_balance.is_some()
            || args.closing_balance.is_some()
        {
            return Err(HostError::InvalidInput(
                "--mapping, --opening-balance and --closing-balance are for CSV files; camt.053 and OFX statements carry their own balances".into(),
            ));
        }
        return statement_file(host, args, format);
    }
    let mapping = args.mapping.as_deref().ok_or_else(|| {
        HostError::InvalidInput(
            "a CSV statement needs --mapping NAME (a mapping saved with `backoffice call banking save-csv-mapping`)".into(),
        )
    })?;
    let text = read(&args.file)?;
    let mappings = invoke(
        host,
        &args.tenant,
        "banking",
        "list-csv-mappings",
        &json!({}),
    )?;
    let skip_rows = mappings["mappings"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["name"] == json!(mapping)))
        .map(|m| m["skip-rows"].as_u64().unwrap_or(1))
        .ok_or_else(|| {
            HostError::NotFound(format!(
                "no CSV mapping {mapping:?} in tenant {}; save one with `backoffice call --tenant {} banking save-csv-mapping`",
                args.tenant, args.tenant
            ))
        })?;
    let skip_rows = usize::try_from(skip_rows).unwrap_or(usize::MAX);
    let (header, header_lines, records) = csv_records(&text, skip_rows);
    if !records.iter().any(|r| r.counts) {
        return Err(HostError::InvalidInput(format!(
            "{}: no lines after the {skip_rows} header rows of mapping {mapping}; nothing was imported",
            args.file.display()
        )));
    }
    let budget = budget(host, &args.chunks)?;
    let header_map: Vec<usize> = (1..=header_lines).collect();
    let preamble = |_: usize| (header.clone(), header_map.clone());
    let chunks = chunk(&records, budget, args.chunks.chunk_records, &preamble)?;
    let last = chunks.len().saturating_sub(1);
    import_statement_chunks(host, args, "import-csv", &chunks, |c, i, input| {
        input["mapping"] = json!(mapping);
        input["line-offset"] = json!(c.first_line.saturating_sub(header_lines + 1));
        if i == 0
            && let Some(b) = &args.opening_balance
        {
            input["opening-balance"] = json!(b);
        }
        if i == last {
            if let Some(b) = &args.closing_balance {
                input["closing-balance"] = json!(b);
            }
            if let Some(d) = &args.closing_date {
                input["closing-date"] = json!(d);
            }
        }
    })
}

/// Import the chunks of one statement file with a call of the banking `operation`
/// each: the chunk's text for the account, as a statement of its own (`import-<key>`)
/// in the file's batch, with what `add` puts in for the chunk at its index. Chunks an
/// earlier run imported are skipped.
fn import_statement_chunks(
    host: &Host,
    args: &BankingImportArgs,
    operation: &str,
    chunks: &[Chunk],
    add: impl Fn(&Chunk, usize, &mut Value),
) -> Result<(), HostError> {
    let (taken, batch) = statements_taken(host, &args.tenant, &args.account, chunks)?;
    let result = run_chunks(&args.file, "lines", chunks, |c, i| {
        let sid = format!("import-{}", c.key);
        if taken.contains(&sid) {
            return Ok(true);
        }
        let mut input = json!({
            "account": args.account,
            "content": c.text,
            "statement-id": sid,
            "batch": batch,
        });
        add(c, i, &mut input);
        invoke(host, &args.tenant, "banking", operation, &input)?;
        Ok(false)
    });
    if let Err(e) = host.record_code_digests() {
        tracing::warn!(error = %e, "cannot record compiled-code cache digests");
    }
    result
}

/// The start of the line holding byte `at` when only blanks precede it there, else
/// `at`: an entry taken from there keeps its indentation and starts a line.
fn line_start(text: &str, at: usize) -> usize {
    let from = text[..at].rfind('\n').map_or(0, |i| i + 1);
    if text[from..at].trim().is_empty() {
        from
    } else {
        at
    }
}

/// The end of the line holding byte `at` (after its line break) when only blanks
/// follow there, else `at`.
fn line_end(text: &str, at: usize) -> usize {
    let to = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
    if text[at..to].trim().is_empty() {
        to
    } else {
        at
    }
}

/// A camt.053 or OFX statement split at its entries (`<Ntry>`, `<STMTTRN>`): the
/// header before the first (document, statement, account, balances), each entry from
/// the line of its opening tag, and the rest after the last entry's closing tag (the
/// closing tags and, in OFX, the balances). `None` without entries.
fn entry_records(
    text: &str,
    open: &str,
    close: &str,
) -> Option<(String, Vec<Record>, String, usize)> {
    let starts: Vec<usize> = text
        .match_indices(open)
        .map(|(at, _)| line_start(text, at))
        .collect();
    let (&first, &last_start) = (starts.first()?, starts.last()?);
    let last_close = text[last_start..].rfind(close)? + last_start;
    let end = line_end(text, last_close + close.len());
    let mut records = Vec::with_capacity(starts.len());
    let mut line = 1 + text[..first].matches('\n').count();
    for (i, &at) in starts.iter().enumerate() {
        let to = starts.get(i + 1).copied().unwrap_or(end);
        let piece = &text[at..to];
        records.push(Record {
            line,
            text: piece.to_owned(),
            counts: true,
            preamble: false,
        });
        line += piece.matches('\n').count();
    }
    Some((
        text[..first].to_owned(),
        records,
        text[end..].to_owned(),
        line,
    ))
}

/// The namespace prefix of a camt.053 document's elements with its colon (`ns2:` for
/// `<ns2:Document xmlns:ns2="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">`), from
/// its `BkToCstmrStmt` element; empty when they are unprefixed (or it is absent).
fn camt_prefix(text: &str) -> String {
    let Some(at) = text.find("BkToCstmrStmt") else {
        return String::new();
    };
    let Some(lt) = text[..at].rfind('<') else {
        return String::new();
    };
    let between = &text[lt + 1..at];
    match between.strip_suffix(':') {
        Some(p)
            if !p.is_empty()
                && p.chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.')) =>
        {
            between.to_owned()
        }
        _ => String::new(),
    }
}

/// A camt.053 or OFX file: whole in one call when it fits, which keeps the bank's
/// statement id; else split at its entries into chunks, each the statement's header,
/// some entries and the rest of the file, imported one call each as CSV chunks are
/// (keys chained, `import-<key>` statement ids, one batch). The first chunk keeps the
/// opening balance and the last the closing balance, so the last chunk's statement
/// reconciles the whole file.
fn statement_file(host: &Host, args: &BankingImportArgs, format: Format) -> Result<(), HostError> {
    let text = read(&args.file)?;
    let (op, name, open, close, stmt) = match format {
        Format::Ofx => (
            "import-ofx",
            "OFX",
            "<STMTTRN>".to_owned(),
            "</STMTTRN>".to_owned(),
            "<STMTRS>".to_owned(),
        ),
        _ => {
            let p = camt_prefix(&text);
            (
                "import-camt053",
                "camt.053",
                format!("<{p}Ntry>"),
                format!("</{p}Ntry>"),
                format!("<{p}Stmt>"),
            )
        }
    };
    let (open, close, stmt) = (open.as_str(), close.as_str(), stmt.as_str());
    let whole = json!({"content": text, "account": args.account});
    let limit = host.runtime().limits().max_input_bytes;
    let size = whole.to_string().len();
    let budget = budget(host, &args.chunks)?;
    if size <= limit && args.chunks.chunk_bytes.is_none_or(|b| size <= b) {
        let started = Instant::now();
        let out = invoke(host, &args.tenant, "banking", op, &whole)?;
        let lines: u64 = out["statements"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| s["imported"].as_u64().unwrap_or(0))
            .sum();
        println!(
            "imported {}: 1 chunk (1 imported, 0 already imported and skipped), {lines} lines ({lines} imported, 0 skipped) in {:.1} s",
            args.file.display(),
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let statements = text.matches(stmt).count();
    if statements > 1 {
        return Err(HostError::InvalidInput(format!(
            "{}: a {name} file of {size} bytes (as JSON) with {statements} statements does not fit in one call ({limit} bytes); only a file of one statement is split: ask the bank for one statement per file",
            args.file.display()
        )));
    }
    let (head, records, tail, tail_line) = entry_records(&text, open, close).ok_or_else(|| {
        HostError::InvalidInput(format!(
            "{}: a {name} file of {size} bytes (as JSON) does not fit in one call ({limit} bytes) and has no {open} entries to split it at",
            args.file.display()
        ))
    })?;
    let head_lines: Vec<usize> = (1..=head.matches('\n').count()).collect();
    let preamble = |_: usize| (head.clone(), head_lines.clone());
    let tail_lines: Vec<usize> = (0..tail.matches('\n').count().max(1))
        .map(|k| tail_line + k)
        .collect();
    let room = budget.saturating_sub(json_len(&tail));
    let mut chunks = chunk(&records, room, args.chunks.chunk_records, &preamble)?;
    for c in &mut chunks {
        c.text.push_str(&tail);
        c.lines.extend(&tail_lines);
    }
    let last = chunks.len().saturating_sub(1);
    import_statement_chunks(host, args, op, &chunks, |_, i, input| {
        input["chunk"] = json!(match i {
            0 => "first",
            i if i == last => "last",
            _ => "middle",
        });
    })
}

/// The statement ids of `account` already imported (chunks of an earlier run of the
/// same file are skipped), and the import batch the chunks belong to: lines of chunks
/// of one file are never duplicates of each other, and the batch is named by the
/// first chunk's key, which a fix later in the file keeps.
fn statements_taken(
    host: &Host,
    tenant: &str,
    account: &str,
    chunks: &[Chunk],
) -> Result<(BTreeSet<String>, String), HostError> {
    let listed = invoke(
        host,
        tenant,
        "banking",
        "list-statements",
        &json!({ "account": account }),
    )?;
    let taken = listed["statements"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["statement-id"].as_str().map(str::to_owned))
        .collect();
    let batch = chunks
        .first()
        .map(|c| format!("import-{}", c.key))
        .unwrap_or_default();
    Ok((taken, batch))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_preamble(_: usize) -> (String, Vec<usize>) {
        (String::new(), Vec::new())
    }

    #[test]
    fn journal_records_start_at_dates_and_directives() {
        let text = "; head\ncommodity $1,000.00\n  format $1,000.00\n\n2024-01-01 A\n    a  $1\n    b\n; between\ncomment\n2024-01-02 not a record\nend comment\nP 2024-01-01 EUR $1.1\n2024-01-03 B\n    a  $2\n    b";
        let r = journal_records(text);
        let starts: Vec<(usize, bool, bool)> =
            r.iter().map(|r| (r.line, r.counts, r.preamble)).collect();
        assert_eq!(
            starts,
            vec![
                (1, false, false),
                (2, true, true),
                (5, true, false),
                (9, false, false),
                (12, true, false),
                (13, true, false)
            ]
        );
        assert!(r[5].text.ends_with("    b\n"));
        let joined: String = r.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(joined, format!("{text}\n"));
    }

    #[test]
    fn csv_records_keep_quoted_line_breaks_and_the_header() {
        let text = "date,amount,memo\n2024-01-01,1.00,\"two\nlines\"\n2024-01-02,2.00,x\n";
        let (header, lines, r) = csv_records(text, 1);
        assert_eq!(header, "date,amount,memo\n");
        assert_eq!(lines, 1);
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].line, r[1].line), (2, 4));
    }

    #[test]
    fn chunks_stay_within_the_budget_and_keys_chain() {
        let records: Vec<Record> = (0..100)
            .map(|i| Record {
                line: i * 2 + 1,
                text: format!("record {i:03}\nmore\n"),
                counts: true,
                preamble: false,
            })
            .collect();
        let a = chunk(&records, 200, 1000, &no_preamble).unwrap();
        assert!(a.len() > 5);
        assert!(a.iter().all(|c| json_len(&c.text) <= 200));
        assert_eq!(a.iter().map(|c| c.records).sum::<usize>(), 100);
        // A change in a later record keeps the keys of the chunks before it.
        let mut changed = records.clone();
        changed[99].text = "record 099\nfixed\n".into();
        let b = chunk(&changed, 200, 1000, &no_preamble).unwrap();
        let n = a.len();
        assert_eq!(
            a[..n - 1].iter().map(|c| &c.key).collect::<Vec<_>>(),
            b[..n - 1].iter().map(|c| &c.key).collect::<Vec<_>>()
        );
        assert_ne!(a[n - 1].key, b[n - 1].key);
        let capped = chunk(&records, 1 << 20, 7, &no_preamble).unwrap();
        assert_eq!(capped.len(), 15);
        let err = chunk(&records, 10, 1000, &no_preamble).unwrap_err();
        assert!(err.to_string().contains("line 1: this record is"), "{err}");
    }

    #[test]
    fn camt_namespace_prefixes_are_found() {
        let prefixed = "<?xml version=\"1.0\"?>\n<ns2:Document xmlns:ns2=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">\n<ns2:BkToCstmrStmt>\n<ns2:Stmt><ns2:Id>S</ns2:Id>\n<ns2:Ntry><ns2:Amt>1</ns2:Amt></ns2:Ntry>\n<ns2:Ntry><ns2:Amt>2</ns2:Amt></ns2:Ntry>\n</ns2:Stmt>\n</ns2:BkToCstmrStmt>\n</ns2:Document>\n";
        assert_eq!(camt_prefix(prefixed), "ns2:");
        let (head, r, tail, _) = entry_records(prefixed, "<ns2:Ntry>", "</ns2:Ntry>").unwrap();
        assert!(head.ends_with("<ns2:Stmt><ns2:Id>S</ns2:Id>\n"), "{head}");
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].text, "<ns2:Ntry><ns2:Amt>2</ns2:Amt></ns2:Ntry>\n");
        assert!(tail.starts_with("</ns2:Stmt>"));
        assert_eq!(camt_prefix("<Document><BkToCstmrStmt>"), "");
        assert_eq!(camt_prefix("<Document><x y:BkToCstmrStmt>"), "");
        assert_eq!(camt_prefix("no statement here"), "");
    }

    #[test]
    fn statements_split_at_entries_with_header_and_rest() {
        let text = "<Document>\n<Stmt><Id>S</Id>\n  <Ntry><Amt>1</Amt>\n  </Ntry>\n  <Ntry><Amt>2</Amt></Ntry>\n</Stmt>\n</Document>\n";
        let (head, r, tail, tail_line) = entry_records(text, "<Ntry>", "</Ntry>").unwrap();
        assert_eq!(head, "<Document>\n<Stmt><Id>S</Id>\n");
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].line, r[1].line), (3, 5));
        assert_eq!(r[0].text, "  <Ntry><Amt>1</Amt>\n  </Ntry>\n");
        assert_eq!(tail, "</Stmt>\n</Document>\n");
        assert_eq!(tail_line, 6);
        let joined: String = [head.as_str(), &r[0].text, &r[1].text, &tail].concat();
        assert_eq!(joined, text);
        assert!(entry_records("<OFX></OFX>", "<STMTTRN>", "</STMTTRN>").is_none());
    }

    #[test]
    fn error_lines_name_the_file() {
        assert_eq!(
            file_lines("line 2: bad; line 3: worse; line 9: unknown", &[10, 20, 30]),
            "line 20: bad; line 30: worse; line 9: unknown"
        );
    }
}
