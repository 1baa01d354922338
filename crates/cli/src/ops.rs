//! `verify-ledger`, `backup`, `restore` and `migrate-store`.
//!
//! A backup is one tar file: `ledger.jsonl` (every event with its sequence, record time and
//! hashes — portable between SQLite and PostgreSQL), `anchor.json` (the ledger's head: its last
//! hash and event count) and every other file of the data directory, one directory level deep:
//! the embedded chain and its deployment records (`chain/`), the signer keys (`keys/`) and the
//! logins (`auth/`). It holds private keys and password hashes: it is written owner-only.
//! It leaves out the sessions, failed-login counts and sign-in log kept in the ledger's database
//! beside the chain (`tokencomp_store::logins`): a restored copy starts with everyone logged out,
//! and `migrate-store` does not copy them either.
//!
//! A restore never writes into the data directory until it is complete: the archive is checked
//! entry by entry (only regular files under `data/`, at most one directory deep, no `..`, no
//! absolute path, nothing named like the SQLite ledger, no entry twice), unpacked into a
//! directory beside the target, the ledger restored there, and that directory renamed into
//! place. Killed at any point, it leaves the target as it was, and running it again finishes the
//! job. On PostgreSQL the ledger commits before the rename; a re-run finds the database holding
//! exactly the backup's ledger and only puts the files in place.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::{Value, json};
use tokencomp_store::anchor::{self, Head};
use tokencomp_store::postgres::PostgresStore;
use tokencomp_store::sqlite::SqliteStore;
use tokencomp_store::{
    Store, StoreError, StoredEvent, canonical_dump, event_from_json, event_to_json, private, verify as verify_chain,
};

use crate::company::open_store;
use crate::{Global, bad_input};
use tokencomp_service::data::LEDGER_FILE;

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// A head the ledger must still hold (the same hash at the same event count; a ledger that
    /// grew since holds it): an event hash, an anchor file (`FILE.anchor.json`, written beside a
    /// closed payroll export), a backup, or `chain` (the latest head `chain anchor` recorded).
    #[arg(long, value_name = "HASH|FILE|chain")]
    pub expect_head: Option<String>,
    /// The report as JSON (the exit code is 1 all the same when a check fails).
    #[arg(long)]
    pub json: bool,
    /// With `--expect-head chain`: an Ethereum JSON-RPC node instead of the embedded chain.
    #[arg(long, env = "TOKENCOMP_RPC")]
    pub rpc: Option<String>,
}

/// A head to check the ledger against, and where it came from.
struct Expected {
    source: String,
    head: Result<Head, anchor::HeadMismatch>,
}

/// Reads `--expect-head`: a bare hash is looked up (its count is implied: the hash covers it).
fn expected_head(g: &Global, args: &VerifyArgs, spec: &str, events: &[StoredEvent]) -> Result<Expected> {
    if spec == "chain" {
        let (source, head) = crate::chain::anchored_head(g, args.rpc.as_deref())?;
        return Ok(Expected { source, head: Ok(head) });
    }
    let lower = spec.to_ascii_lowercase();
    if anchor::is_hash(&lower) && !Path::new(spec).exists() {
        return Ok(Expected { source: format!("hash {lower}"), head: anchor::find(events, &lower) });
    }
    let path = Path::new(spec);
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let not_anchor = || {
        bad_input(
            format!("{} is neither an event hash, an anchor file nor a backup", path.display()),
            "--expect-head HASH|FILE|chain",
        )
    };
    let doc = match serde_json::from_slice::<Value>(&bytes) {
        Ok(v) => v,
        Err(_) => backup_anchor(&bytes).ok_or_else(not_anchor)?,
    };
    let head = Head::from_json(&doc).ok_or_else(not_anchor)?;
    Ok(Expected { source: path.display().to_string(), head: Ok(head) })
}

/// The `anchor.json` of a backup file.
fn backup_anchor(bytes: &[u8]) -> Option<Value> {
    let mut archive = tar::Archive::new(bytes);
    for entry in archive.entries().ok()? {
        let mut entry = entry.ok()?;
        if entry.path_bytes().as_ref() == ANCHOR_ENTRY.as_bytes() {
            let mut text = String::new();
            entry.read_to_string(&mut text).ok()?;
            return serde_json::from_str(&text).ok();
        }
    }
    None
}

/// Recomputes the hash chain, checks that the append-only triggers are in place and that the
/// heads payroll closes recorded are still the ledger's, and, with `--expect-head`, that the
/// ledger still holds a head kept outside it.
pub fn verify(g: &Global, args: &VerifyArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let events = store.events()?;
    let chain = verify_chain(&events);
    let guards = store.append_only_problems()?;
    let recorded = if chain.is_ok() { anchor::check_recorded(&events) } else { Vec::new() };
    let expected = match &args.expect_head {
        Some(spec) => Some(expected_head(g, args, spec, &events)?),
        None => None,
    };
    let matched = expected.as_ref().map(|x| x.head.clone().and_then(|h| anchor::check(&events, &h).map(|()| h)));
    let head = Head::of(&events);

    let mut failures = Vec::new();
    if let Err(b) = &chain {
        failures.push(format!("the ledger's hash chain is broken at {b}"));
    }
    if !guards.is_empty() {
        failures.push(format!("the ledger is not protected against edits: {}", guards.join("; ")));
    }
    if !recorded.is_empty() {
        failures.push(format!("a head the ledger recorded is no longer its own: {}", recorded.join("; ")));
    }
    if let (Some(x), Some(Err(e))) = (&expected, &matched) {
        failures.push(format!("the ledger does not hold the expected head ({}): {e}", x.source));
    }

    if args.json {
        let doc = json!({
            "ok": failures.is_empty(),
            "events": events.len(),
            "head": head.hash,
            "backend": store.describe(),
            "chain": match &chain {
                Ok(_) => json!({"ok": true}),
                Err(b) => json!({"ok": false, "seq": b.seq, "id": b.id, "reason": b.reason}),
            },
            "append_only": {"ok": guards.is_empty(), "problems": guards},
            "not_checked": {"tables": tokencomp_store::logins::TABLES, "why": OUTSIDE_CHAIN},
            "recorded_heads": {"ok": recorded.is_empty(), "problems": recorded},
            "expected_head": match (&expected, &matched) {
                (Some(x), Some(Ok(h))) => json!({"source": x.source, "ok": true, "hash": h.hash, "events": h.events}),
                (Some(x), Some(Err(e))) => json!({"source": x.source, "ok": false, "reason": e.to_string()}),
                _ => Value::Null,
            },
        });
        crate::outln!("{doc:#}");
    }
    if !failures.is_empty() {
        bail!("{}", failures.join("\nerror: "));
    }
    if !args.json {
        crate::outln!(
            "ledger ok: {} events, hash chain intact, append-only triggers in place, head {}",
            events.len(),
            if events.is_empty() { "(empty)" } else { head.hash.as_str() }
        );
        if let (Some(x), Some(Ok(h))) = (&expected, &matched) {
            crate::outln!("expected head held: event {} has hash {} ({})", h.events, h.hash, x.source);
        }
        crate::outln!("not checked: {} ({OUTSIDE_CHAIN})", tokencomp_store::logins::TABLES.join(", "));
    }
    Ok(())
}

/// What `verify-ledger`, `backup` and `migrate-store` say of the login tables beside the chain.
const OUTSIDE_CHAIN: &str = "sessions, failed-login counts and the sign-in log: mutable, kept beside the hash chain, \
                             never part of it";

#[derive(Args, Debug)]
pub struct BackupArgs {
    pub file: PathBuf,
}

const LEDGER_ENTRY: &str = "ledger.jsonl";
const ANCHOR_ENTRY: &str = "anchor.json";
/// Every file of the data directory is under this in a backup.
const DATA_PREFIX: &str = "data/";

/// The SQLite ledger and its side files (`-wal`, `-shm`, `-journal`): never copied as files, and
/// never restored from one (a crafted archive would replace the verified ledger).
fn is_ledger_file(name: &str) -> bool {
    name == LEDGER_FILE || name.starts_with(&format!("{LEDGER_FILE}-"))
}

/// Files a backup leaves out: the ledger's own, and temporary files of interrupted writes.
fn left_out(name: &str) -> bool {
    is_ledger_file(name) || name.ends_with(private::TMP_SUFFIX)
}

/// The data directory's files other than the ledger, and those of its subdirectories (`chain/`,
/// `keys/`, `auth/`), by relative name, sorted. Symbolic links are not followed: a link planted in
/// the data directory must not carry another file into the backup.
fn data_files(data: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(data)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_file() && !left_out(&name) {
            out.push((name, path));
        } else if kind.is_dir() {
            for inner in std::fs::read_dir(&path)?.flatten() {
                let inner_name = inner.file_name().to_string_lossy().into_owned();
                if inner.file_type()?.is_file() && !left_out(&inner_name) {
                    out.push((format!("{name}/{inner_name}"), inner.path()));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

fn append(tar: &mut tar::Builder<&mut std::fs::File>, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(u64::try_from(bytes.len()).unwrap_or(u64::MAX));
    header.set_mode(0o600);
    header.set_cksum();
    tar.append_data(&mut header, name, bytes)
}

pub fn backup(g: &Global, args: &BackupArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let events = store.events()?;
    verify_chain(&events).map_err(|b| anyhow::anyhow!("refusing to back up a broken ledger: {b}"))?;
    let head = Head::of(&events);
    let mut jsonl = Vec::new();
    for e in &events {
        serde_json::to_writer(&mut jsonl, &event_to_json(e))?;
        jsonl.push(b'\n');
    }
    let files = if g.data.is_dir() { data_files(&g.data)? } else { Vec::new() };
    // Private keys and password hashes: owner-only, written whole or not at all.
    private::write_with(&args.file, |out| {
        let mut tar = tar::Builder::new(out);
        append(&mut tar, LEDGER_ENTRY, &jsonl)?;
        append(&mut tar, ANCHOR_ENTRY, format!("{:#}\n", head.to_json()).as_bytes())?;
        for (name, path) in &files {
            append(&mut tar, &format!("{DATA_PREFIX}{name}"), &std::fs::read(path)?)?;
        }
        tar.finish()
    })
    .with_context(|| format!("writing {}", args.file.display()))?;
    crate::outln!("backed up {} events to {} (head {})", events.len(), args.file.display(), head.hash);
    crate::outln!("sessions and login counts are not in a backup: a restored copy starts with everyone logged out");
    Ok(())
}

/// Test hook: the process aborts at the named point of a command when `TOKENCOMP_CRASH_AT`
/// names it, so the crash tests can stop a command exactly between two of its steps.
fn crash_point(name: &str) {
    if std::env::var_os("TOKENCOMP_CRASH_AT").is_some_and(|v| v == name) {
        std::process::abort();
    }
}

/// What one archive entry is.
enum Entry {
    Ledger,
    Anchor,
    /// A file of the data directory, by its path inside it.
    File(String),
    /// Nothing to restore (a directory, a global PAX header).
    Skip,
}

/// Decides what an entry of a backup is, refusing anything a backup never holds: links,
/// devices and other special files, absolute paths, `..`, paths deeper than `data/DIR/FILE`,
/// and the SQLite ledger's files.
fn classify(entry: &tar::Entry<'_, impl Read>) -> std::result::Result<Entry, String> {
    use tar::EntryType;
    let raw = entry.path_bytes();
    let name = std::str::from_utf8(&raw).map_err(|_| "a path that is not UTF-8".to_owned())?.to_owned();
    let kind = entry.header().entry_type();
    let file = match kind {
        EntryType::Regular => true,
        EntryType::Directory => false,
        EntryType::XGlobalHeader => return Ok(Entry::Skip),
        other => return Err(format!("`{name}` is a {other:?} entry; a backup holds regular files only")),
    };
    if name.starts_with('/') || name.contains('\\') {
        return Err(format!("`{name}` is an absolute path"));
    }
    let trimmed = if file { name.as_str() } else { name.trim_end_matches('/') };
    let parts: Vec<&str> = trimmed.split('/').collect();
    if parts.iter().any(|p| p.is_empty() || *p == "." || *p == "..") {
        return Err(format!("`{name}` is not a plain relative path (`..`, `.` or an empty part)"));
    }
    if parts.last().is_some_and(|p| is_ledger_file(p)) {
        return Err(format!("`{name}` would replace the ledger, which is restored from {LEDGER_ENTRY} only"));
    }
    match (file, parts.as_slice()) {
        (true, [LEDGER_ENTRY]) => Ok(Entry::Ledger),
        (true, [ANCHOR_ENTRY]) => Ok(Entry::Anchor),
        (true, ["data", rest @ ..]) if (1..=2).contains(&rest.len()) => Ok(Entry::File(rest.join("/"))),
        (false, ["data"] | ["data", _]) => Ok(Entry::Skip),
        _ => Err(format!("unexpected entry `{name}` (a backup holds {LEDGER_ENTRY}, {ANCHOR_ENTRY} and data/…)")),
    }
}

/// The directory a restore is prepared in, beside the data directory (same file system, so it
/// can be renamed into place).
fn staging_dir(data: &Path) -> Result<PathBuf> {
    let name = data
        .file_name()
        .ok_or_else(|| bad_input(format!("{} has no directory name", data.display()), "--data"))?
        .to_string_lossy();
    let parent = match data.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    Ok(parent.join(format!(".{name}.restoring")))
}

/// Whether `dir` is missing or has no entries.
fn is_empty_dir(dir: &Path) -> Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e).with_context(|| format!("reading {}", dir.display())),
    }
}

/// A backup unpacked into the staging directory: its events (and anchor) in memory, its data
/// files on disk.
struct Unpacked {
    events: Vec<StoredEvent>,
    anchor: Option<Head>,
    files: usize,
}

fn unpack(archive_path: &Path, staging: &Path) -> Result<Unpacked> {
    let shown = archive_path.display().to_string();
    let file = std::fs::File::open(archive_path).with_context(|| format!("opening {shown}"))?;
    let mut archive = tar::Archive::new(file);
    let mut events: Option<Vec<StoredEvent>> = None;
    let mut anchor_doc: Option<Head> = None;
    let mut seen = std::collections::BTreeSet::new();
    let mut files = 0;
    for entry in archive.entries().with_context(|| format!("reading {shown}"))? {
        let entry = entry.with_context(|| format!("reading {shown}"))?;
        let what = classify(&entry).map_err(|reason| bad_input(format!("refusing the backup: {reason}"), &shown))?;
        let key = String::from_utf8_lossy(&entry.path_bytes()).trim_end_matches('/').to_owned();
        if !matches!(what, Entry::Skip) && !seen.insert(key.clone()) {
            return Err(bad_input(format!("refusing the backup: `{key}` appears twice"), &shown));
        }
        match what {
            Entry::Skip => {}
            Entry::Ledger => {
                let mut list = Vec::new();
                for (i, line) in BufReader::new(entry).lines().enumerate() {
                    let line = line.with_context(|| format!("reading {shown}"))?;
                    let v: Value =
                        serde_json::from_str(&line).map_err(|e| bad_input(e, &format!("{shown}:{}", i + 1)))?;
                    list.push(
                        event_from_json(&v)
                            .map_err(|e| bad_input(e, &format!("{shown} ({LEDGER_ENTRY}:{})", i + 1)))?,
                    );
                }
                events = Some(list);
            }
            Entry::Anchor => {
                let mut text = String::new();
                BufReader::new(entry).read_to_string(&mut text).with_context(|| format!("reading {shown}"))?;
                let head = serde_json::from_str::<Value>(&text).ok().and_then(|v| Head::from_json(&v));
                anchor_doc = Some(head.ok_or_else(|| bad_input(format!("{ANCHOR_ENTRY} is not an anchor"), &shown))?);
            }
            Entry::File(rel) => {
                let path = staging.join(&rel);
                if let Some(dir) = path.parent().filter(|d| *d != staging) {
                    private::dir(dir).with_context(|| format!("creating {}", dir.display()))?;
                }
                let mut entry = entry;
                private::write_with(&path, |f| std::io::copy(&mut entry, f).map(|_| ()))
                    .with_context(|| format!("writing {}", path.display()))?;
                files += 1;
            }
        }
    }
    let events = events.ok_or_else(|| bad_input(format!("no {LEDGER_ENTRY} in the backup"), &shown))?;
    Ok(Unpacked { events, anchor: anchor_doc, files })
}

pub fn restore(g: &Global, args: &BackupArgs) -> Result<()> {
    if g.database.is_none() && !is_empty_dir(&g.data)? {
        return Err(bad_input(format!("{} is not empty", g.data.display()), "restore into an empty data directory"));
    }
    let staging = staging_dir(&g.data)?;
    // What an interrupted restore left: it never reached the data directory, so start over.
    if staging.exists() {
        std::fs::remove_dir_all(&staging).with_context(|| format!("removing {}", staging.display()))?;
    }
    private::dir(&staging).with_context(|| format!("creating {}", staging.display()))?;
    let result = restore_via(g, args, &staging);
    if result.is_err() && staging.exists() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    let (events, files, target) = result?;
    crate::outln!("restored {events} events into {target}, and {files} files of the data directory");
    Ok(())
}

/// The restore proper: unpack and check into `staging`, the ledger, then the rename.
fn restore_via(g: &Global, args: &BackupArgs, staging: &Path) -> Result<(usize, usize, String)> {
    let shown = args.file.display().to_string();
    let Unpacked { events, anchor: kept, files } = unpack(&args.file, staging)?;
    verify_chain(&events).map_err(|b| bad_input(format!("the backup's hash chain is broken at {b}"), &shown))?;
    let head = Head::of(&events);
    if let Some(kept) = &kept
        && *kept != head
    {
        return Err(bad_input(
            format!(
                "the backup's ledger ends at event {} (hash {}) but its {ANCHOR_ENTRY} says event {} (hash {}): \
                 {LEDGER_ENTRY} lost events or was rewritten",
                head.events, head.hash, kept.events, kept.hash
            ),
            &shown,
        ));
    }
    crash_point("restore:unpacked");
    let target = match &g.database {
        None => {
            let path = tokencomp_service::DataDir::new(staging).ledger();
            let mut store = SqliteStore::open(&path).with_context(|| format!("opening {}", path.display()))?;
            store.restore(&events)?;
            check_copy(&mut store, &events)?;
            drop(store);
            format!("sqlite:{}", g.dir().ledger().display())
        }
        Some(_) => {
            let mut store = open_store(g)?;
            let present = store.events()?;
            let resumed = !present.is_empty() && verify_chain(&present).is_ok() && Head::of(&present) == head;
            if resumed && is_empty_dir(&g.data)? {
                // A restore stopped after the ledger's commit: only the files are missing.
            } else if !present.is_empty() {
                let e = StoreError::NotEmpty { events: i64::try_from(present.len()).unwrap_or(i64::MAX) };
                return Err(bad_input(e, &store.describe()));
            } else if !is_empty_dir(&g.data)? {
                return Err(bad_input(
                    format!("{} is not empty", g.data.display()),
                    "restore into an empty data directory",
                ));
            } else {
                match store.restore(&events) {
                    Err(e @ StoreError::NotEmpty { .. }) => return Err(bad_input(e, &store.describe())),
                    other => other?,
                }
                check_copy(&mut *store, &events)?;
            }
            store.describe()
        }
    };
    crash_point("restore:ledger-committed");
    for sub in std::fs::read_dir(staging)?.flatten() {
        if sub.path().is_dir() {
            private::sync_dir(&sub.path())?;
        }
    }
    private::sync_dir(staging)?;
    // Into place in one step; the target is missing or an empty directory, which rename replaces.
    std::fs::rename(staging, &g.data)
        .with_context(|| format!("moving {} to {}", staging.display(), g.data.display()))?;
    crash_point("restore:renamed");
    private::sync_parent(&g.data)?;
    Ok((events.len(), files, target))
}

/// The restored ledger reads back as the backup's, to the last hash.
fn check_copy(store: &mut dyn Store, events: &[StoredEvent]) -> Result<()> {
    let copied = store.events()?;
    if Head::of(&copied) != Head::of(events) || canonical_dump(&copied) != canonical_dump(events) {
        bail!("the restored ledger in {} differs from the backup", store.describe());
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// The PostgreSQL database to move the ledger to (it must have no events yet).
    #[arg(long)]
    pub to: String,
}

pub fn migrate(g: &Global, args: &MigrateArgs) -> Result<()> {
    let mut from = open_store(g)?;
    let events = from.events()?;
    verify_chain(&events).map_err(|b| anyhow::anyhow!("refusing to migrate a broken ledger: {b}"))?;
    let mut to = PostgresStore::connect(&args.to).context("connecting to the target database")?;
    match to.restore(&events) {
        Err(e @ tokencomp_store::StoreError::NotEmpty { .. }) => return Err(bad_input(e, "--to")),
        other => other?,
    }
    let copied = to.events()?;
    if canonical_dump(&copied) != canonical_dump(&events)
        || copied.last().map(|e| &e.hash) != events.last().map(|e| &e.hash)
    {
        bail!("the copy in {} differs from the source; the source is unchanged", to.describe());
    }
    crate::outln!(
        "moved {} events from {} to {}; run later commands with --database (or TOKENCOMP_DATABASE) set to it",
        events.len(),
        from.describe(),
        to.describe()
    );
    crate::outln!("sessions and login counts were not copied: everyone logs in again on the new database");
    Ok(())
}
