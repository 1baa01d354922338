//! `verify-ledger`, `backup`, `restore` and `migrate-store`.
//!
//! A backup is one tar file: `ledger.jsonl` (every event with its sequence, record time and
//! hashes — portable between SQLite and PostgreSQL) and every other file of the data directory,
//! one directory level deep: the embedded chain and its deployment records (`chain/`) and the
//! signer key (`keys/`).

use std::io::{BufRead, Read, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use tokencomp_store::postgres::PostgresStore;
use tokencomp_store::{Store, StoredEvent, canonical_dump, event_from_json, event_to_json, verify as verify_chain};

use crate::company::{LEDGER_FILE, open_store};
use crate::{Global, bad_input};

pub fn verify(g: &Global) -> Result<()> {
    let mut store = open_store(g)?;
    let events = store.events()?;
    match verify_chain(&events) {
        Ok(n) => {
            let head = events.last().map_or("(empty)", |e| e.hash.as_str());
            crate::outln!("ledger ok: {n} events, hash chain intact, head {head}");
            Ok(())
        }
        Err(b) => bail!("the ledger's hash chain is broken at {b}"),
    }
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    pub file: PathBuf,
}

const LEDGER_ENTRY: &str = "ledger.jsonl";

fn is_ledger_file(name: &str) -> bool {
    name == LEDGER_FILE || name.starts_with(&format!("{LEDGER_FILE}-"))
}

/// The data directory's files other than the ledger, and those of its subdirectories (`chain/`,
/// `keys/`), by relative name, sorted; temporary files of interrupted writes are left out.
fn data_files(data: &std::path::Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(data)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if path.is_file() && !is_ledger_file(&name) {
            out.push((name, path));
        } else if path.is_dir() {
            for inner in std::fs::read_dir(&path)?.flatten() {
                let inner_name = inner.file_name().to_string_lossy().into_owned();
                if inner.path().is_file() && !inner_name.ends_with(".tmp") {
                    out.push((format!("{name}/{inner_name}"), inner.path()));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

pub fn backup(g: &Global, args: &BackupArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let events = store.events()?;
    verify_chain(&events).map_err(|b| anyhow::anyhow!("refusing to back up a broken ledger: {b}"))?;
    let mut jsonl = Vec::new();
    for e in &events {
        serde_json::to_writer(&mut jsonl, &event_to_json(e))?;
        jsonl.push(b'\n');
    }
    let tmp = args.file.with_extension("partial");
    {
        let out = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let mut tar = tar::Builder::new(out);
        let mut header = tar::Header::new_gnu();
        header.set_size(jsonl.len() as u64);
        header.set_mode(0o600);
        header.set_cksum();
        tar.append_data(&mut header, LEDGER_ENTRY, jsonl.as_slice())?;
        if g.data.is_dir() {
            for (name, path) in data_files(&g.data)? {
                tar.append_path_with_name(path, format!("data/{name}"))?;
            }
        }
        tar.into_inner()?.sync_all()?;
    }
    std::fs::rename(&tmp, &args.file)?;
    crate::outln!("backed up {} events to {}", events.len(), args.file.display());
    Ok(())
}

pub fn restore(g: &Global, args: &BackupArgs) -> Result<()> {
    let file = std::fs::File::open(&args.file).with_context(|| format!("opening {}", args.file.display()))?;
    let mut archive = tar::Archive::new(file);
    let mut events: Option<Vec<StoredEvent>> = None;
    let mut others: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        if name == LEDGER_ENTRY {
            let mut list = Vec::new();
            for (i, line) in bytes.lines().enumerate() {
                let v: serde_json::Value = serde_json::from_str(&line?)
                    .map_err(|e| bad_input(e, &format!("{}:{}", args.file.display(), i + 1)))?;
                list.push(
                    event_from_json(&v)
                        .map_err(|e| bad_input(e, &format!("{} ({LEDGER_ENTRY}:{})", args.file.display(), i + 1)))?,
                );
            }
            events = Some(list);
        } else if let Some(rest) = name.strip_prefix("data/") {
            if rest.matches('/').count() > 1 || rest.split('/').any(|p| p.is_empty() || p == "." || p == "..") {
                return Err(bad_input(
                    format!("unexpected path `{name}` in the backup"),
                    &args.file.display().to_string(),
                ));
            }
            others.push((rest.to_owned(), bytes));
        }
    }
    let events = events
        .ok_or_else(|| bad_input(format!("no {LEDGER_ENTRY} in the backup"), &args.file.display().to_string()))?;
    verify_chain(&events).map_err(|b| {
        bad_input(format!("the backup's hash chain is broken at {b}"), &args.file.display().to_string())
    })?;
    if g.data.exists() && std::fs::read_dir(&g.data)?.next().is_some() && g.database.is_none() {
        return Err(bad_input(format!("{} is not empty", g.data.display()), "restore into an empty data directory"));
    }
    std::fs::create_dir_all(&g.data).with_context(|| format!("creating {}", g.data.display()))?;
    let mut store = open_store(g)?;
    match store.restore(&events) {
        Err(e @ tokencomp_store::StoreError::NotEmpty { .. }) => return Err(bad_input(e, &store.describe())),
        other => other?,
    }
    for (name, bytes) in others {
        let path = g.data.join(&name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut f = std::fs::File::create(&path)?;
        f.write_all(&bytes)?;
        // A signer key stays readable by its owner only.
        #[cfg(unix)]
        if name.starts_with("keys/") {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        f.sync_all()?;
    }
    crate::outln!("restored {} events into {}", events.len(), store.describe());
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
    Ok(())
}
