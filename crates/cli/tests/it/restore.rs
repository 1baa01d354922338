//! `restore` (issue 15, item 15) and file modes (item 16), through the binary.
//!
//! - A crafted archive is refused whole, naming the entry, and writes nothing anywhere: an entry
//!   that would replace the verified ledger (`ledger.sqlite`, `-wal`, `-shm`), a path with `..` or
//!   an absolute one, links, devices, a path deeper than a backup holds, an entry given twice, and
//!   a ledger that lost its last events behind the backup's own anchor.
//! - A restore killed at any point (between each of its steps, and at seeded instants as in
//!   `crash.rs`) leaves the data directory as it was or complete, never half, and running it
//!   again finishes the job; on PostgreSQL too, where the ledger commits before the files land.
//! - After the demo, exports, a backup and a restore, run with a umask of 000, every file in the
//!   data directories is 0600 and every directory 0700.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tar::EntryType;

use crate::ops::{Ledger, TestDatabase, files};

const SIGABRT: i32 = 6;
const SIGKILL: i32 = 9;

/// The command `Ledger::run` runs, to be started and stopped here.
fn command(l: &Ledger, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tokencomp"));
    cmd.arg("--data").arg(&l.data);
    if let Some(url) = &l.database {
        cmd.args(["--database", url]);
    }
    cmd.args(["--actor", "user:test"])
        .args(args)
        .current_dir(l.data.parent().expect("a parent"))
        .env_remove("TOKENCOMP_DATABASE")
        .env_remove("TOKENCOMP_DATA")
        .env_remove("TOKENCOMP_ACTOR")
        .env_remove("TOKENCOMP_CRASH_AT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8")
}

/// The demo and its backup, in `dir`.
fn backed_up(dir: &Path) -> (Ledger, PathBuf) {
    let a = Ledger::sqlite(dir.join("a"));
    a.demo();
    let backup = dir.join("company.tar");
    a.ok(&["backup", path(&backup)]);
    (a, backup)
}

/// The staging directory a restore into `data` uses.
fn staging(data: &Path) -> PathBuf {
    data.with_file_name(format!(".{}.restoring", data.file_name().expect("a name").to_string_lossy()))
}

// ---------------------------------------------------------------------------------------------
// Crafted archives

/// An entry written byte for byte: the tar crate's builder refuses `..` and absolute paths,
/// which is what an attacker's archive holds.
struct Raw<'a> {
    name: &'a [u8],
    kind: EntryType,
    data: &'a [u8],
    link: &'a [u8],
}

/// `backup` with its ledger lines edited by `edit` and `extra` entries appended.
fn crafted(backup: &Path, out: &Path, edit: impl Fn(String) -> String, extra: &[Raw<'_>]) {
    let mut archive = tar::Archive::new(std::fs::File::open(backup).expect("the backup"));
    let mut builder = tar::Builder::new(std::fs::File::create(out).expect("creates"));
    for entry in archive.entries().expect("a tar file") {
        let mut entry = entry.expect("an entry");
        let mut header = entry.header().clone();
        let name = entry.path().expect("a path").into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("reads");
        if name == Path::new("ledger.jsonl") {
            bytes = edit(String::from_utf8(bytes).expect("UTF-8")).into_bytes();
            header.set_size(u64::try_from(bytes.len()).expect("small"));
            header.set_cksum();
        }
        builder.append_data(&mut header, &name, bytes.as_slice()).expect("writes");
    }
    for e in extra {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..e.name.len()].copy_from_slice(e.name);
        h.as_old_mut().linkname[..e.link.len()].copy_from_slice(e.link);
        h.set_entry_type(e.kind);
        h.set_size(u64::try_from(e.data.len()).expect("small"));
        h.set_mode(0o644);
        h.set_cksum();
        builder.append(&h, e.data).expect("writes");
    }
    builder.into_inner().expect("finishes");
}

#[test]
fn a_crafted_archive_is_refused_whole_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (a, backup) = backed_up(tmp.path());
    // Another company's ledger, to smuggle in over the verified one.
    let other = Ledger::sqlite(tmp.path().join("other"));
    other.ok(&["init", concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/company.toml")]);
    let foreign = std::fs::read(other.data.join("ledger.sqlite")).expect("reads");
    let escaped = tmp.path().join("escaped");
    let absolute = format!("{}/absolute", tmp.path().display());
    let file = |name: &'static str| Raw { name: name.as_bytes(), kind: EntryType::Regular, data: b"x", link: b"" };
    let keep = |s: String| s;
    let cases: Vec<(&str, Raw<'_>)> = vec![
        (
            "would replace the ledger",
            Raw { name: b"data/ledger.sqlite", kind: EntryType::Regular, data: &foreign, link: b"" },
        ),
        ("would replace the ledger", file("data/ledger.sqlite-wal")),
        ("would replace the ledger", file("data/ledger.sqlite-shm")),
        ("would replace the ledger", file("ledger.sqlite")),
        ("not a plain relative path", file("../escaped")),
        ("not a plain relative path", file("data/../../escaped")),
        ("not a plain relative path", file("data/./keys/x")),
        ("is an absolute path", Raw { name: absolute.as_bytes(), kind: EntryType::Regular, data: b"x", link: b"" }),
        (
            "is a Symlink entry",
            Raw { name: b"data/keys/evil.key", kind: EntryType::Symlink, data: b"", link: b"/etc/passwd" },
        ),
        (
            "is a Link entry",
            Raw { name: b"data/keys/evil.key", kind: EntryType::Link, data: b"", link: b"data/keys/chain.key" },
        ),
        ("is a Char entry", Raw { name: b"data/null", kind: EntryType::Char, data: b"", link: b"" }),
        ("is a Block entry", Raw { name: b"data/disk", kind: EntryType::Block, data: b"", link: b"" }),
        ("is a Fifo entry", Raw { name: b"data/pipe", kind: EntryType::Fifo, data: b"", link: b"" }),
        ("unexpected entry `data/a/b/c`", file("data/a/b/c")),
        ("unexpected entry `notes.txt`", file("notes.txt")),
        ("`data/keys/chain.key` appears twice", file("data/keys/chain.key")),
    ];
    for (i, (reason, entry)) in cases.into_iter().enumerate() {
        let bad = tmp.path().join(format!("crafted-{i}.tar"));
        crafted(&backup, &bad, keep, &[entry]);
        let c = Ledger::sqlite(tmp.path().join(format!("c{i}")));
        let err = c.fails(&["restore", path(&bad)], 2);
        assert!(err.contains("refusing the backup") && err.contains(reason), "case {i} ({reason}): {err}");
        assert!(!c.data.exists() && !staging(&c.data).exists(), "case {i} ({reason}): something was written");
        assert!(!escaped.exists() && !Path::new(&absolute).exists(), "case {i}: a file outside was written");
    }

    // The ledger's last 50 events dropped: still a valid chain, but not the head the backup
    // recorded in its anchor.
    let bad = tmp.path().join("cut.tar");
    let cut = |text: String| {
        let lines: Vec<&str> = text.lines().collect();
        lines[..lines.len() - 50].iter().map(|l| format!("{l}\n")).collect()
    };
    crafted(&backup, &bad, cut, &[]);
    let c = Ledger::sqlite(tmp.path().join("cut"));
    let err = c.fails(&["restore", path(&bad)], 2);
    assert!(err.contains("anchor.json says event") && err.contains("lost events or was rewritten"), "{err}");
    assert!(!c.data.exists() && !staging(&c.data).exists());

    // The untouched backup restores, and the ledger is the backed-up one.
    let d = Ledger::sqlite(tmp.path().join("d"));
    d.ok(&["restore", path(&backup)]);
    assert_eq!(d.ok(&["verify-ledger"]), a.ok(&["verify-ledger"]));
}

// ---------------------------------------------------------------------------------------------
// Killed restores

/// What a restore leaves that a person would compare: every file but the SQLite ledger's own
/// (whose pages may be laid out differently), and the ledger's events and head.
fn state(l: &Ledger) -> (BTreeMap<String, Vec<u8>>, String) {
    let mut f = files(&l.data);
    f.retain(|name, _| !name.starts_with("ledger.sqlite"));
    let verify = if l.data.join("ledger.sqlite").exists() || l.database.is_some() {
        l.ok(&["verify-ledger"])
    } else {
        String::new()
    };
    (f, verify)
}

/// Runs a restore that `stop` ends early; returns whether it was stopped by `signal`.
fn stopped(l: &Ledger, backup: &Path, crash_at: Option<&str>, kill_after: Option<Duration>) -> Option<i32> {
    let mut cmd = command(l, &["restore", path(backup)]);
    if let Some(point) = crash_at {
        cmd.env("TOKENCOMP_CRASH_AT", point);
    }
    let mut child = cmd.spawn().expect("starts");
    if let Some(d) = kill_after {
        std::thread::sleep(d);
        if let Err(e) = child.kill() {
            assert!(child.try_wait().expect("status").is_some(), "kill failed: {e}");
        }
    }
    let out: Output = child.wait_with_output().expect("waits");
    if out.status.signal().is_none() {
        assert!(out.status.success(), "restore failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    out.status.signal()
}

/// After a stopped restore the data directory is untouched (missing) or complete; running the
/// restore again completes it, or refuses a complete one and changes nothing.
fn rerun_completes(l: &Ledger, backup: &Path, reference: &(BTreeMap<String, Vec<u8>>, String), what: &str) -> bool {
    let complete = l.data.exists();
    if complete {
        assert_eq!(&state(l), reference, "{what}: the data directory is there but not complete");
        let err = l.fails(&["restore", path(backup)], 2);
        assert!(err.contains("is not empty"), "{what}: {err}");
    } else {
        let out = l.ok(&["restore", path(backup)]);
        assert!(out.contains("restored"), "{what}: {out}");
    }
    assert_eq!(&state(l), reference, "{what}: after the re-run");
    assert!(!staging(&l.data).exists(), "{what}: the staging directory was left behind");
    complete
}

#[test]
fn a_restore_killed_at_any_point_can_be_run_again_and_loses_nothing() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (_, backup) = backed_up(tmp.path());
    let reference_dir = Ledger::sqlite(tmp.path().join("reference"));
    let started = Instant::now();
    reference_dir.ok(&["restore", path(&backup)]);
    let length = started.elapsed();
    let reference = state(&reference_dir);
    assert!(reference.0.contains_key("keys/chain.key") && reference.0.contains_key("auth/accounts.json"));
    assert!(reference.0.contains_key("chain/embedded.json"));

    // SIGKILL at seeded instants over the restore's length, at once, and after it ended.
    let mut seed: u64 = 0x5eed_2e57_02e0_0001;
    let mut next = || {
        seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let window = u64::try_from((length * 11 / 10).as_nanos()).expect("seconds");
    let mut delays: Vec<Option<Duration>> =
        (0..10).map(|_| Some(Duration::from_nanos(next() % (window + 1)))).collect();
    delays.extend([Some(Duration::ZERO), None]);
    let (mut untouched, mut complete) = (0, 0);
    for (i, delay) in delays.into_iter().enumerate() {
        let l = Ledger::sqlite(tmp.path().join(format!("kill-{i}")));
        let signal = stopped(&l, &backup, None, delay);
        assert!(matches!(signal, None | Some(SIGKILL)), "{signal:?}");
        if rerun_completes(&l, &backup, &reference, &format!("killed after {delay:?}")) {
            complete += 1;
        } else {
            untouched += 1;
        }
    }
    println!(
        "restore of {:.2} s killed 12 times: {untouched} left nothing, {complete} left it complete",
        length.as_secs_f64()
    );
    assert!(untouched >= 1 && complete >= 1, "the kills reach both ends");

    // And exactly between each two steps: unpacked and checked; the ledger committed (where the
    // old restore left a ledger without keys, logins or chain files); renamed into place.
    for (i, (point, complete)) in
        [("restore:unpacked", false), ("restore:ledger-committed", false), ("restore:renamed", true)]
            .into_iter()
            .enumerate()
    {
        let l = Ledger::sqlite(tmp.path().join(format!("point-{i}")));
        assert_eq!(stopped(&l, &backup, Some(point), None), Some(SIGABRT), "{point}: the restore was not stopped");
        assert_eq!(l.data.exists(), complete, "{point}");
        if !complete {
            assert!(staging(&l.data).exists(), "{point}: the work in progress is beside the data directory");
        }
        assert_eq!(rerun_completes(&l, &backup, &reference, point), complete);
    }
}

#[test]
fn a_restore_into_postgres_killed_after_the_ledger_commit_is_finished_by_a_rerun() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (a, backup) = backed_up(tmp.path());
    let mut expected = files(&a.data);
    expected.retain(|name, _| !name.starts_with("ledger.sqlite"));
    let db = TestDatabase::create();
    let pg = Ledger::postgres(&db, tmp.path().join("pg-data"));
    assert_eq!(stopped(&pg, &backup, Some("restore:ledger-committed"), None), Some(SIGABRT));
    assert!(!pg.data.exists(), "no file landed before the ledger was in");
    assert_eq!(pg.ok(&["verify-ledger"]), a.ok(&["verify-ledger"]), "the ledger is committed");

    // The re-run finds the ledger the backup holds, and puts the files in place.
    let out = pg.ok(&["restore", path(&backup)]);
    assert!(out.contains("restored"), "{out}");
    assert_eq!(files(&pg.data), expected, "keys, logins and chain files are all there");
    assert_eq!(pg.ok(&["verify-ledger"]), a.ok(&["verify-ledger"]));
    let err = pg.fails(&["restore", path(&backup)], 2);
    assert!(err.contains("empty ledger"), "{err}");
    assert_eq!(files(&pg.data), expected);
}

// ---------------------------------------------------------------------------------------------
// File modes

/// Runs the command under `umask 000`, so only the code's own modes protect what it writes.
fn wide_open(l: &Ledger, args: &[&str]) -> String {
    let cmd = command(l, args);
    let mut sh = Command::new("sh");
    sh.arg("-c").arg("umask 000 && exec \"$@\"").arg("sh").arg(cmd.get_program()).args(cmd.get_args());
    sh.current_dir(l.data.parent().expect("a parent"))
        .env_remove("TOKENCOMP_DATABASE")
        .env_remove("TOKENCOMP_DATA")
        .env_remove("TOKENCOMP_ACTOR")
        .env("TOKENCOMP_PASSWORD", "carol-password-1");
    let out = sh.output().expect("runs");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every path under `dir` (itself included) whose mode is not 0600 for a file or 0700 for a
/// directory, with its mode.
fn too_open(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let meta = std::fs::symlink_metadata(dir).expect("exists");
    let mode = meta.permissions().mode() & 0o7777;
    if meta.is_dir() {
        if mode != 0o700 {
            out.push(format!("{} {mode:o}", dir.display()));
        }
        for e in std::fs::read_dir(dir).expect("lists") {
            out.extend(too_open(&e.expect("an entry").path()));
        }
    } else if !meta.is_file() || mode != 0o600 {
        out.push(format!("{} {mode:o}", dir.display()));
    }
    out
}

#[test]
fn every_file_the_data_directory_holds_is_owner_only_whatever_the_umask() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let d = Ledger::sqlite(tmp.path().join("d"));
    wide_open(&d, &["demo", "--quiet"]);
    // The exports people ask for, written into the data directory so the walk below sees them.
    let out = |name: &str| d.data.join(name).display().to_string();
    wide_open(&d, &["payroll", "--period", "2026-10", "--out", &out("2026-10.csv")]);
    wide_open(&d, &["payroll", "close", "--period", "2026-09"]);
    wide_open(&d, &["payroll", "--period", "2026-09", "--out", &out("2026-09.csv")]);
    wide_open(
        &d,
        &[
            "books",
            "--from",
            "2026-01-01",
            "--to",
            "2026-10-31",
            "--format",
            "beancount",
            "--out",
            &out("books.beancount"),
        ],
    );
    wide_open(&d, &["tax-report", "--person", "ada", "--year", "2026", "--form-8949", &out("8949.csv")]);
    wide_open(&d, &["tokenomics"]);
    wide_open(&d, &["oracle", "keygen", "--oracle", "second"]);
    wide_open(&d, &["user", "add", "carol", "--role", "auditor"]);
    let backup = d.data.join("backup.tar");
    wide_open(&d, &["backup", path(&backup)]);
    let r = Ledger::sqlite(tmp.path().join("r"));
    wide_open(&r, &["restore", path(&backup)]);

    for name in ["2026-10.csv", "books.beancount", "8949.csv", "charts", "auth/accounts.json", "backup.tar"] {
        assert!(d.data.join(name).exists(), "{name} was written");
    }
    assert!(r.data.join("auth/accounts.json").exists() && r.data.join("keys/oracle-second.key").exists());
    // With a connection open, SQLite's -wal and -shm files exist: they take the ledger's mode.
    let _open = tokencomp_store::sqlite::SqliteStore::open(&r.data.join("ledger.sqlite")).expect("opens");
    assert!(r.data.join("ledger.sqlite-wal").exists() && r.data.join("ledger.sqlite-shm").exists());
    let mut open = too_open(&d.data);
    open.extend(too_open(&r.data));
    assert_eq!(open, Vec::<String>::new(), "files not 0600 or directories not 0700");
}
