//! A ledger written by an earlier binary still folds to the same company: the fixture in
//! `tests/fixtures/ledger-2026-12/` (people, prices and FX rates, grants with lifecycle events and
//! milestones, period runs, a price correction, a closed payroll period, a delegation, a proposal
//! and ballots; `make.sh` there says how it was made) is read by today's binary, whose outputs
//! must equal the ones recorded beside it byte for byte; a backup of it holds the same events
//! (`ledger.jsonl`), and restoring that backup gives the same ledger and the same outputs again.
//!
//! An event of a kind this version does not know is refused by every read, naming its sequence
//! number and id (exit 1, no panic), never folded as something else.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::ops::Ledger;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ledger-2026-12");

/// Each expected file beside the fixture and the command that gives it (as `make.sh` ran them).
const OUTPUTS: [(&str, &[&str]); 7] = [
    ("verify-ledger.txt", &["verify-ledger"]),
    ("grants.json", &["grants", "--json", "--as-of", "2026-12-31"]),
    ("calendar.json", &["calendar", "--from", "2026-11-01", "--to", "2027-01-31", "--json"]),
    ("rollforward.json", &["rollforward", "--from", "2026-01-01", "--to", "2026-12-31", "--json"]),
    ("payroll-2026-10.csv", &["payroll", "--period", "2026-10"]),
    ("history-eli-2025-hire.json", &["history", "eli-2025-hire", "--json"]),
    ("tally-treasury-2027.json", &["gov", "tally", "treasury-2027", "--at", "2026-12-31T00:00:00Z", "--json"]),
];

fn expected(name: &str) -> String {
    let path = Path::new(FIXTURE).join("expected").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A copy of the fixture's ledger in a data directory of its own under `dir`.
fn copied(dir: &Path) -> Ledger {
    let data = dir.join("data");
    std::fs::create_dir(&data).expect("creates");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let ledger = data.join("ledger.sqlite");
    std::fs::copy(Path::new(FIXTURE).join("ledger.sqlite"), &ledger).expect("copies the fixture");
    std::fs::set_permissions(&ledger, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    Ledger::sqlite(data)
}

/// The events a backup of `l` holds, as its `ledger.jsonl`.
fn backed_up_events(l: &Ledger, backup: &Path) -> String {
    l.ok(&["backup", backup.to_str().expect("UTF-8")]);
    let mut archive = tar::Archive::new(std::fs::File::open(backup).expect("the backup"));
    for entry in archive.entries().expect("a tar file") {
        let mut entry = entry.expect("an entry");
        if entry.path().expect("a path").as_ref() == Path::new("ledger.jsonl") {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut entry, &mut text).expect("UTF-8");
            return text;
        }
    }
    panic!("the backup has no ledger.jsonl")
}

fn assert_outputs(l: &Ledger, when: &str) {
    for (name, args) in OUTPUTS {
        assert!(l.ok(args) == expected(name), "{when}: `{}` differs from expected/{name}", args.join(" "));
    }
}

#[test]
fn the_fixture_ledger_folds_backs_up_and_restores_as_it_did() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let a = copied(tmp.path());
    assert_outputs(&a, "the fixture");
    let backup: PathBuf = tmp.path().join("fixture.tar");
    assert!(backed_up_events(&a, &backup) == expected("ledger.jsonl"), "the backup's ledger.jsonl differs");

    let b = Ledger::sqlite(tmp.path().join("restored"));
    b.ok(&["restore", backup.to_str().expect("UTF-8")]);
    assert_outputs(&b, "after restore");
    let again = tmp.path().join("again.tar");
    assert!(backed_up_events(&b, &again) == expected("ledger.jsonl"), "the restored ledger's events differ");
}

#[test]
fn an_event_of_an_unknown_kind_is_refused_by_every_read() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let l = copied(tmp.path());
    {
        let mut store =
            tokencomp_store::sqlite::SqliteStore::open(&l.data.join("ledger.sqlite")).expect("opens the ledger");
        // After the last event (524), linked to it; its hash does not matter: the kind is read first.
        store
            .connection()
            .execute_batch(
                "INSERT INTO events (seq, event_id, kind, subject, payload, amount, actor, recorded_at, prev_hash, hash)
                 SELECT seq + 1, 'bonus:ada:2026-12', 'bonus.paid', 'person:ada', '{\"person\":\"ada\"}', NULL,
                        'user:test', '2026-12-01T00:00:00Z', hash, hash FROM events ORDER BY seq DESC LIMIT 1",
            )
            .expect("a raw insert");
    }
    for args in [
        &["grants", "--json", "--as-of", "2026-12-31"][..],
        &["history", "eli-2025-hire"],
        &["verify-ledger"],
        &["payroll", "--period", "2026-10"],
    ] {
        let err = l.fails(args, 1);
        assert!(
            err.contains("event 524 (bonus:ada:2026-12)") && err.contains("unknown kind `bonus.paid`"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
