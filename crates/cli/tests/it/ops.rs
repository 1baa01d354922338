//! `backup`, `restore` and `migrate-store` through the binary: the company after is the company
//! before — every grant, the calendar, each grant's history with its record times and hashes,
//! and the hash chain's head — and a refused operation writes nothing.
//!
//! The PostgreSQL tests use the server `scripts/test` starts (`TOKENCOMP_TEST_POSTGRES`), each
//! in a database of its own; without it they fail, they never skip.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// Where a company's ledger is: a data directory, or a PostgreSQL database (with a data
/// directory for its other files).
pub(crate) struct Ledger {
    pub(crate) data: PathBuf,
    pub(crate) database: Option<String>,
}

impl Ledger {
    pub(crate) fn sqlite(data: PathBuf) -> Ledger {
        Ledger { data, database: None }
    }

    pub(crate) fn postgres(db: &TestDatabase, data: PathBuf) -> Ledger {
        Ledger { data, database: Some(db.url.clone()) }
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tokencomp"));
        cmd.arg("--data").arg(&self.data);
        if let Some(url) = &self.database {
            cmd.args(["--database", url]);
        }
        // Run from the data directory's parent so nothing lands in the working tree.
        let cwd = self.data.parent().expect("the data directory has a parent");
        cmd.args(["--actor", "user:test"])
            .args(args)
            .current_dir(cwd)
            .env_remove("TOKENCOMP_DATABASE")
            .env_remove("TOKENCOMP_DATA")
            .env_remove("TOKENCOMP_ACTOR")
            .output()
            .expect("runs")
    }

    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("UTF-8")
    }

    /// Fails with `code`; returns stderr.
    pub(crate) fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        err
    }

    /// Fails, as bad input (2) or a failed run (1); returns stderr.
    fn refused(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(matches!(out.status.code(), Some(1 | 2)), "{args:?}: {:?} {err}", out.status);
        err
    }

    pub(crate) fn demo(&self) {
        self.ok(&["demo", "--quiet"]);
    }

    /// What the company looks like from outside: every query a person would compare, with
    /// every grant's history.
    fn snapshot(&self) -> Snapshot {
        self.snapshot_every(1)
    }

    /// The same with the history of every `n`th grant only (each is a run of the binary).
    fn snapshot_every(&self, n: usize) -> Snapshot {
        let grants = self.ok(&["grants", "--json", "--as-of", "2026-10-31"]);
        let ids: Vec<String> = serde_json::from_str::<Value>(&grants).expect("JSON")["grants"]
            .as_array()
            .expect("grants")
            .iter()
            .map(|g| g["id"].as_str().expect("an id").to_owned())
            .collect();
        assert!(ids.len() > 40, "the sample company's grants");
        let history = ids.iter().step_by(n).map(|id| (id.clone(), self.ok(&["history", id, "--json"]))).collect();
        Snapshot {
            grants,
            calendar: self.ok(&["calendar", "--from", "2026-11-01", "--to", "2027-01-31", "--json"]),
            history,
            verify: self.ok(&["verify-ledger"]),
        }
    }
}

/// N from `ledger ok: N events, …`.
fn event_count(verify: &str) -> usize {
    let n = verify.strip_prefix("ledger ok: ").and_then(|r| r.split(' ').next()).expect("verify-ledger's report");
    n.parse().expect("a count")
}

#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    grants: String,
    calendar: String,
    /// Each grant's `history --json`: its events with sequence, actor, record time and hash.
    history: BTreeMap<String, String>,
    /// The event count and the chain's head hash.
    verify: String,
}

/// Everything in a directory, by relative name, with its subdirectories (`chain/`, `keys/`).
pub(crate) fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else { return BTreeMap::new() };
    let mut out = BTreeMap::new();
    for e in entries {
        let e = e.expect("an entry");
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().is_dir() {
            for (inner, bytes) in files(&e.path()) {
                out.insert(format!("{name}/{inner}"), bytes);
            }
        } else {
            out.insert(name, std::fs::read(e.path()).expect("readable"));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

fn server_url() -> String {
    match std::env::var("TOKENCOMP_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "TOKENCOMP_TEST_POSTGRES is not set: the PostgreSQL tests need a server. Run ./scripts/test, which \
             starts one on loopback (or `scripts/postgres.sh cargo test …` for a subset)"
        ),
    }
}

/// A database of its own on the test server, dropped with this value.
pub(crate) struct TestDatabase {
    server: String,
    name: String,
    pub(crate) url: String,
}

impl TestDatabase {
    pub(crate) fn create() -> TestDatabase {
        let server = server_url();
        let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
        let name = format!("tc_test_{}_{random:016x}", std::process::id());
        let mut admin = postgres::Client::connect(&server, postgres::NoTls)
            .unwrap_or_else(|e| panic!("connecting to the test server {server}: {e}"));
        admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("CREATE DATABASE");
        // The server URL with the database name replaced.
        let (base, query) = server.split_once('?').map_or((server.as_str(), None), |(b, q)| (b, Some(q)));
        let host_start = base.find("://").map_or(0, |i| i + 3);
        let host_end = base[host_start..].find('/').map_or(base.len(), |i| host_start + i);
        let url = match query {
            Some(q) => format!("{}/{name}?{q}", &base[..host_end]),
            None => format!("{}/{name}", &base[..host_end]),
        };
        TestDatabase { server, name, url }
    }

    /// The ledger's rows as the database holds them, straight from SQL.
    fn rows(&self) -> Vec<String> {
        let mut client = postgres::Client::connect(&self.url, postgres::NoTls).expect("connects");
        let has_events =
            client.query_one("SELECT to_regclass('events') IS NOT NULL", &[]).expect("queries").get::<_, bool>(0);
        if !has_events {
            return Vec::new();
        }
        client
            .query("SELECT concat_ws('|', seq, event_id, amount, recorded_at, hash) FROM events ORDER BY seq", &[])
            .expect("queries")
            .iter()
            .map(|r| r.get(0))
            .collect()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let dropped = postgres::Client::connect(&self.server, postgres::NoTls)
            .and_then(|mut c| c.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)));
        if let Err(e) = dropped {
            eprintln!("could not drop the test database {}: {e}", self.name);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Backups

/// A backup whose `ledger.jsonl` went through `edit` (every other entry copied as it was).
fn tampered(backup: &Path, out: &Path, edit: impl Fn(Vec<String>) -> Vec<String>) {
    let mut archive = tar::Archive::new(std::fs::File::open(backup).expect("the backup"));
    let mut builder = tar::Builder::new(std::fs::File::create(out).expect("creates"));
    for entry in archive.entries().expect("a tar file") {
        let mut entry = entry.expect("an entry");
        let mut header = entry.header().clone();
        let path = entry.path().expect("a path").into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("reads");
        if path == Path::new("ledger.jsonl") {
            let lines = String::from_utf8(bytes).expect("UTF-8").lines().map(str::to_owned).collect();
            bytes = (edit(lines).join("\n") + "\n").into_bytes();
            header.set_size(u64::try_from(bytes.len()).expect("small"));
            header.set_cksum();
        }
        builder.append_data(&mut header, &path, bytes.as_slice()).expect("writes");
    }
    builder.into_inner().expect("finishes");
}

/// The `ledger.jsonl` of a backup.
fn backed_up_ledger(backup: &Path) -> String {
    let mut archive = tar::Archive::new(std::fs::File::open(backup).expect("the backup"));
    for entry in archive.entries().expect("a tar file") {
        let mut entry = entry.expect("an entry");
        if entry.path().expect("a path") == Path::new("ledger.jsonl") {
            let mut text = String::new();
            entry.read_to_string(&mut text).expect("reads");
            return text;
        }
    }
    panic!("no ledger.jsonl in {}", backup.display())
}

/// An edit to a backup's ledger lines.
type Edit = dyn Fn(Vec<String>) -> Vec<String>;

/// Changes one field of the first event of `kind` (a JSON line of the backup).
fn edit_first(lines: Vec<String>, kind: &str, edit: impl Fn(&mut serde_json::Map<String, Value>)) -> Vec<String> {
    let mut done = false;
    lines
        .into_iter()
        .map(|line| {
            let mut v: Value = serde_json::from_str(&line).expect("a JSON line");
            if !done && v["kind"] == kind {
                edit(v.as_object_mut().expect("an object"));
                done = true;
                return v.to_string();
            }
            line
        })
        .collect()
}

#[test]
fn backup_then_restore_gives_the_same_company() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let a = Ledger::sqlite(tmp.path().join("a"));
    a.demo();
    // A file of the data directory beside the ledger (the chain's state and keys live there).
    std::fs::write(a.data.join("signer.key"), b"\x00\x01 not really a key \xff").expect("writes");
    let before = a.snapshot();
    let backup = tmp.path().join("company.tar");
    a.ok(&["backup", backup.to_str().expect("UTF-8")]);

    let b = Ledger::sqlite(tmp.path().join("b"));
    let out = b.ok(&["restore", backup.to_str().expect("UTF-8")]);
    assert!(out.contains(&format!("restored {} events", event_count(&before.verify))), "{out}");
    assert_eq!(b.snapshot(), before);
    assert_eq!(files(&b.data)["signer.key"], files(&a.data)["signer.key"], "the data directory's files come back");

    // Backing up the restored company gives the same ledger, line for line.
    let again = tmp.path().join("again.tar");
    b.ok(&["backup", again.to_str().expect("UTF-8")]);
    assert_eq!(backed_up_ledger(&again), backed_up_ledger(&backup));
    assert_eq!(a.ok(&["verify-ledger"]), before.verify, "backing up changed nothing");
}

#[test]
fn restore_refuses_a_data_directory_that_is_not_empty() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let a = Ledger::sqlite(tmp.path().join("a"));
    a.demo();
    let backup = tmp.path().join("company.tar");
    a.ok(&["backup", backup.to_str().expect("UTF-8")]);

    // A directory with a stray file, and one with a company of its own.
    let b = Ledger::sqlite(tmp.path().join("b"));
    std::fs::create_dir(&b.data).expect("creates");
    std::fs::write(b.data.join("notes.txt"), "mine").expect("writes");
    let err = b.fails(&["restore", backup.to_str().expect("UTF-8")], 2);
    assert!(err.contains("is not empty"), "{err}");
    assert_eq!(files(&b.data), BTreeMap::from([("notes.txt".to_owned(), b"mine".to_vec())]), "nothing written");

    let before = files(&a.data);
    let err = a.fails(&["restore", backup.to_str().expect("UTF-8")], 2);
    assert!(err.contains("is not empty"), "{err}");
    assert_eq!(files(&a.data), before, "nothing written");
}

#[test]
fn restore_refuses_a_tampered_backup_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let a = Ledger::sqlite(tmp.path().join("a"));
    a.demo();
    let backup = tmp.path().join("company.tar");
    a.ok(&["backup", backup.to_str().expect("UTF-8")]);

    let more_tokens = |lines| {
        edit_first(lines, "vest", |e| {
            let amount = e["amount"].as_str().expect("an amount").parse::<u128>().expect("base units");
            e.insert("amount".into(), Value::String((amount + 1).to_string()));
        })
    };
    let other_actor =
        |lines| edit_first(lines, "grant.issued", |e| _ = e.insert("actor".into(), "user:mallory".into()));
    let backdated =
        |lines| edit_first(lines, "period.run", |e| _ = e.insert("recorded_at".into(), "2020-01-01T00:00:00Z".into()));
    let dropped = |mut lines: Vec<String>| {
        lines.remove(100);
        lines
    };
    let reordered = |mut lines: Vec<String>| {
        lines.swap(10, 11);
        lines
    };
    let cases: [(&str, &Edit); 5] = [
        ("a vest's amount raised by one base unit", &more_tokens),
        ("another actor", &other_actor),
        ("a backdated record time", &backdated),
        ("an event removed", &dropped),
        ("two events swapped", &reordered),
    ];
    for (i, (what, edit)) in cases.into_iter().enumerate() {
        let bad = tmp.path().join(format!("tampered-{i}.tar"));
        tampered(&backup, &bad, edit);
        let c = Ledger::sqlite(tmp.path().join(format!("c{i}")));
        let err = c.fails(&["restore", bad.to_str().expect("UTF-8")], 2);
        assert!(err.contains("hash chain is broken"), "{what}: {err}");
        assert!(!c.data.exists(), "{what}: the data directory was created");
    }

    // Not JSON at all: refused too, with the line.
    let bad = tmp.path().join("garbled.tar");
    tampered(&backup, &bad, |mut lines| {
        lines[3].truncate(20);
        lines
    });
    let c = Ledger::sqlite(tmp.path().join("garbled"));
    let err = c.fails(&["restore", bad.to_str().expect("UTF-8")], 2);
    assert!(err.contains("garbled.tar:4"), "{err}");
    assert!(!c.data.exists());

    // The untouched backup still restores: the refusals were about the edits.
    let d = Ledger::sqlite(tmp.path().join("d"));
    d.ok(&["restore", backup.to_str().expect("UTF-8")]);
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

#[test]
fn migrate_store_moves_the_company_to_postgres() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let a = Ledger::sqlite(tmp.path().join("a"));
    a.demo();
    let before = a.snapshot();
    let sqlite_file = files(&a.data);

    let db = TestDatabase::create();
    let out = a.ok(&["migrate-store", "--to", &db.url]);
    let n = event_count(&before.verify);
    assert!(out.contains(&format!("moved {n} events")), "{out}");
    let pg = Ledger::postgres(&db, tmp.path().join("pg-data"));
    assert_eq!(pg.snapshot(), before, "the same company, record times and hashes included");
    assert_eq!(files(&a.data), sqlite_file, "the source is untouched");

    // Into a database that already has a ledger: refused, and nothing changes there.
    let rows = db.rows();
    assert_eq!(rows.len(), n);
    let err = a.refused(&["migrate-store", "--to", &db.url]);
    assert!(err.contains("empty ledger") && !err.contains("damaged"), "{err}");
    assert_eq!(db.rows(), rows);
    assert_eq!(pg.ok(&["verify-ledger"]), before.verify);
    assert_eq!(files(&a.data), sqlite_file);
}

#[test]
fn migrate_store_refuses_an_unreachable_database_and_changes_nothing() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let a = Ledger::sqlite(tmp.path().join("a"));
    a.demo();
    let sqlite_file = files(&a.data);
    // Nothing listens on port 1.
    let err = a.fails(&["migrate-store", "--to", "postgres://tokencomp@127.0.0.1:1/none"], 1);
    assert!(err.contains("connecting to the target database") && err.contains("error connecting to server: "), "{err}");
    assert_eq!(files(&a.data), sqlite_file);
}

#[test]
fn the_demo_on_postgres_is_the_demo_on_sqlite() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let db = TestDatabase::create();
    let pg = Ledger::postgres(&db, tmp.path().join("pg-data"));
    pg.demo();
    assert!(event_count(&pg.ok(&["verify-ledger"])) > 1000, "the whole demo");
    // A second demo finds the company there and refuses.
    let rows = db.rows();
    pg.fails(&["demo", "--quiet"], 2);
    assert_eq!(db.rows(), rows);

    let lite = Ledger::sqlite(tmp.path().join("lite"));
    lite.demo();
    let grants = ["grants", "--json", "--as-of", "2026-10-31"];
    assert_eq!(pg.ok(&grants), lite.ok(&grants));
    let calendar = ["calendar", "--from", "2026-11-01", "--to", "2027-01-31", "--json"];
    assert_eq!(pg.ok(&calendar), lite.ok(&calendar));

    // And back: a backup of the PostgreSQL ledger restores into SQLite as the same company.
    let before = pg.snapshot_every(5);
    let backup = tmp.path().join("from-postgres.tar");
    pg.ok(&["backup", backup.to_str().expect("UTF-8")]);
    let back = Ledger::sqlite(tmp.path().join("back"));
    back.ok(&["restore", backup.to_str().expect("UTF-8")]);
    assert_eq!(back.snapshot_every(5), before);
}

#[test]
fn a_backup_restores_into_an_empty_postgres_database() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let a = Ledger::sqlite(tmp.path().join("a"));
    a.demo();
    std::fs::write(a.data.join("signer.key"), b"key bytes").expect("writes");
    let before = a.snapshot_every(5);
    let backup = tmp.path().join("company.tar");
    a.ok(&["backup", backup.to_str().expect("UTF-8")]);

    // The ledger goes to the database, the data directory's other files to --data.
    let db = TestDatabase::create();
    let pg = Ledger::postgres(&db, tmp.path().join("pg-data"));
    std::fs::create_dir(&pg.data).expect("the operator's data directory, for the keys");
    pg.ok(&["restore", backup.to_str().expect("UTF-8")]);
    assert_eq!(pg.snapshot_every(5), before);
    // Every file but the SQLite ledger: the demo's chain and key, and the extra key file.
    let mut expected = files(&a.data);
    expected.retain(|name, _| !name.starts_with("ledger.sqlite"));
    assert!(expected.contains_key("chain/embedded.json") && expected.contains_key("keys/chain.key"));
    assert_eq!(expected.get("signer.key"), Some(&b"key bytes".to_vec()));
    assert_eq!(files(&pg.data), expected);

    // Again into the same database: refused, nothing changed.
    let rows = db.rows();
    let err = pg.refused(&["restore", backup.to_str().expect("UTF-8")]);
    assert!(err.contains("empty ledger") && !err.contains("damaged"), "{err}");
    assert_eq!(db.rows(), rows);
}
