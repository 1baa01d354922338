//! The ledger's head kept outside it (issue 15, item 12): a ledger whose last events were deleted,
//! or whose history was edited and every later hash recomputed, is a valid hash chain again, and
//! `verify-ledger` alone cannot tell it from the real one. A head written down elsewhere can:
//! the anchor file beside a closed payroll export, a backup, a bare hash, the chain. And a guard
//! lifted through SQL (the append-only triggers) is reported by `verify-ledger` itself.
//!
//! The tampering is done as an operator with database access would: raw SQL, the triggers dropped
//! for it and put back exactly as the migrations made them.

use std::path::Path;

use serde_json::Value;
use tokencomp_store::postgres::PostgresStore;
use tokencomp_store::sqlite::SqliteStore;
use tokencomp_store::{EventKind, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS, Store, StoredEvent, format_time, hash_event};

use crate::ops::{Ledger, TestDatabase};

/// Raw SQL on a company's ledger, wherever it is.
fn sql(l: &Ledger, statements: &str) {
    match &l.database {
        None => SqliteStore::open(&l.data.join("ledger.sqlite"))
            .expect("opens")
            .connection()
            .execute_batch(statements)
            .unwrap_or_else(|e| panic!("{statements}: {e}")),
        Some(url) => postgres::Client::connect(url, postgres::NoTls)
            .expect("connects")
            .batch_execute(statements)
            .unwrap_or_else(|e| panic!("{statements}: {e}")),
    }
}

fn events(l: &Ledger) -> Vec<StoredEvent> {
    match &l.database {
        None => SqliteStore::open(&l.data.join("ledger.sqlite")).expect("opens").events().expect("reads"),
        Some(url) => PostgresStore::connect(url).expect("connects").events().expect("reads"),
    }
}

/// Runs `statements` with the append-only triggers dropped, then puts them back as the
/// migrations create them: afterwards nothing in the schema shows that anything happened.
fn behind_the_guard(l: &Ledger, statements: &str) {
    let postgres = l.database.is_some();
    let drop = if postgres {
        "DROP TRIGGER events_no_update ON events; DROP TRIGGER events_no_truncate ON events;"
    } else {
        "DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;"
    };
    let migrations = if postgres { POSTGRES_MIGRATIONS } else { SQLITE_MIGRATIONS };
    let recreate: String = migrations
        .iter()
        .flat_map(|(_, _, sql)| sql.lines().filter(|l| l.starts_with("CREATE TRIGGER")))
        .map(|line| format!("{line}\n"))
        .collect();
    sql(l, &format!("{drop}\n{statements}\n{recreate}"));
}

fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Edits the amount of event `seq` (a vest) and re-hashes it and every later event, as a forger
/// who knows the hash function would. With `fix_recorded_heads`, the heads payroll closes
/// recorded are rewritten too, as a thorough forger would.
fn rehash_from(l: &Ledger, seq: i64, fix_recorded_heads: bool) {
    let mut all = events(l);
    let first = usize::try_from(seq - 1).expect("a sequence number");
    let amount = all[first].event.amount.expect("a vest has an amount");
    all[first].event.amount = Some(tokencomp_money::TokenAmount::from_base_units(amount.base_units() + 1));
    let mut prev = all[first].prev_hash.clone();
    let mut new_hash: std::collections::BTreeMap<i64, String> = std::collections::BTreeMap::new();
    let mut statements = String::new();
    for e in &mut all[first..] {
        if fix_recorded_heads && e.event.kind == EventKind::PayrollClosed {
            let mut v: Value = serde_json::from_str(&e.event.payload).expect("JSON");
            if let Some(n) = v["anchor"]["events"].as_i64().filter(|n| *n >= seq) {
                v["anchor"]["head"] = Value::from(new_hash[&n].clone());
                e.event.payload = v.to_string();
            }
        }
        e.prev_hash = prev.clone();
        e.hash = hash_event(&prev, e.seq, &e.event, &format_time(e.recorded_at));
        new_hash.insert(e.seq, e.hash.clone());
        prev = e.hash.clone();
        statements.push_str(&format!(
            "UPDATE events SET amount = {}, payload = {}, prev_hash = {}, hash = {} WHERE seq = {};\n",
            e.event.amount.map_or("NULL".to_owned(), |a| quoted(&a.to_string())),
            quoted(&e.event.payload),
            quoted(&e.prev_hash),
            quoted(&e.hash),
            e.seq
        ));
    }
    behind_the_guard(l, &statements);
}

/// The last event at or before `seq` that carries an amount (a vest).
fn vest_before(l: &Ledger, seq: i64) -> i64 {
    let all = events(l);
    all[..usize::try_from(seq).expect("a sequence number")]
        .iter()
        .rev()
        .find(|e| e.event.amount.is_some())
        .map(|e| e.seq)
        .expect("a vest")
}

/// A copy of a SQLite company's data directory.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("creates");
    for e in std::fs::read_dir(from).expect("lists") {
        let e = e.expect("an entry");
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).expect("copies");
        }
    }
}

/// `verify-ledger --expect-head SPEC --json`: exit 1 and the reason.
fn refused_head(l: &Ledger, spec: &str) -> String {
    let out = l.run(&["verify-ledger", "--expect-head", spec, "--json"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "--expect-head {spec}: {err}");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("the JSON report");
    assert_eq!(
        (&doc["ok"], &doc["chain"]["ok"], &doc["expected_head"]["ok"]),
        (&Value::Bool(false), &Value::Bool(true), &Value::Bool(false)),
        "{doc:#}"
    );
    assert!(err.contains("does not hold the expected head"), "{err}");
    doc["expected_head"]["reason"].as_str().expect("a reason").to_owned()
}

fn head_json(l: &Ledger) -> (String, i64) {
    let doc: Value = serde_json::from_str(&l.ok(&["verify-ledger", "--json"])).expect("JSON");
    assert_eq!(doc["ok"], true, "{doc:#}");
    (doc["head"].as_str().expect("a head").to_owned(), doc["events"].as_i64().expect("a count"))
}

/// The story on one backend: a company closes October's payroll (its export and the anchor file
/// beside it go to the payroll provider), is backed up, and then someone cuts or rewrites its
/// ledger. `make` gives a fresh copy of that company.
fn tail_deletion_and_rehashing_are_caught(make: &dyn Fn(&str) -> Ledger, outside: &Path) {
    let sidecar = outside.join("2026-10.csv.anchor.json");
    let backup = outside.join("company.tar");
    let l = make("original");
    let (head, n) = head_json(&l);
    assert!(n > 4000, "the whole demo and the close");
    let ok = l.ok(&["verify-ledger", "--expect-head", sidecar.to_str().expect("UTF-8")]);
    assert!(ok.contains(&format!("expected head held: event {n} has hash {head}")), "{ok}");
    l.ok(&["verify-ledger", "--expect-head", &head]);
    l.ok(&["verify-ledger", "--expect-head", backup.to_str().expect("UTF-8")]);

    // The last 50 events deleted: still a valid chain, and the triggers are back in place.
    let cut = make("cut");
    behind_the_guard(&cut, &format!("DELETE FROM events WHERE seq > {};", n - 50));
    let plain = cut.ok(&["verify-ledger"]);
    assert!(plain.starts_with(&format!("ledger ok: {} events, hash chain intact", n - 50)), "{plain}");
    for spec in [head.as_str(), sidecar.to_str().expect("UTF-8"), backup.to_str().expect("UTF-8")] {
        let reason = refused_head(&cut, spec);
        assert!(
            reason.contains(&format!("the ledger has {} events but the anchor names event {n}", n - 50))
                || reason.contains(&format!("no event of the ledger has hash {head}")),
            "{spec}: {reason}"
        );
    }

    // A vest some 30 events back given one more base unit, everything after re-hashed, the
    // close's recorded head too.
    let forged = make("forged");
    rehash_from(&forged, vest_before(&forged, n - 30), true);
    let plain = forged.ok(&["verify-ledger"]);
    assert!(plain.starts_with(&format!("ledger ok: {n} events, hash chain intact")), "{plain}");
    assert_ne!(head_json(&forged).0, head);
    let reason = refused_head(&forged, sidecar.to_str().expect("UTF-8"));
    assert!(reason.contains(&format!("event {n} has hash")) && reason.contains("history was rewritten"), "{reason}");
    let reason = refused_head(&forged, backup.to_str().expect("UTF-8"));
    assert!(reason.contains("history was rewritten"), "{reason}");
    let reason = refused_head(&forged, &head);
    assert!(reason.contains(&format!("no event of the ledger has hash {head}")), "{reason}");

    // A forger who leaves the close event's recorded head alone is caught without any anchor:
    // the close recorded the head before it, which the rewrite changed.
    let careless = make("careless");
    let close =
        events(&careless).iter().find(|e| e.event.kind == EventKind::PayrollClosed).map(|e| e.seq).expect("a close");
    rehash_from(&careless, vest_before(&careless, close - 1), false);
    let err = careless.fails(&["verify-ledger"], 1);
    assert!(
        err.contains("a head the ledger recorded is no longer its own") && err.contains("history was rewritten"),
        "{err}"
    );
}

/// The company both backends start from: the demo, October's payroll closed with its export and
/// anchor file written outside the data directory, and a backup there too.
fn company(dir: &Path) -> (Ledger, std::path::PathBuf) {
    let outside = dir.join("outside");
    std::fs::create_dir_all(&outside).expect("creates");
    let l = Ledger::sqlite(dir.join("template"));
    l.demo();
    let export = outside.join("2026-10.csv");
    l.ok(&["payroll", "close", "--period", "2026-10", "--out", export.to_str().expect("UTF-8")]);
    assert!(outside.join("2026-10.csv.anchor.json").exists());
    l.ok(&["backup", outside.join("company.tar").to_str().expect("UTF-8")]);
    (l, outside)
}

#[test]
fn tail_deletion_and_rehashing_are_caught_by_the_expected_head_on_sqlite() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (template, outside) = company(tmp.path());
    let make = |name: &str| {
        let data = tmp.path().join(name);
        copy_dir(&template.data, &data);
        Ledger::sqlite(data)
    };
    tail_deletion_and_rehashing_are_caught(&make, &outside);
}

#[test]
fn tail_deletion_and_rehashing_are_caught_by_the_expected_head_on_postgres() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (template, outside) = company(tmp.path());
    let databases = std::cell::RefCell::new(Vec::new());
    let make = |name: &str| {
        let db = TestDatabase::create();
        template.ok(&["migrate-store", "--to", &db.url]);
        let data = tmp.path().join(name);
        std::fs::create_dir_all(&data).expect("creates");
        let l = Ledger::postgres(&db, data);
        databases.borrow_mut().push(db);
        l
    };
    tail_deletion_and_rehashing_are_caught(&make, &outside);
}

/// `verify-ledger` reports a lifted guard, naming the trigger, on both backends.
fn lifted_guards_are_reported(l: &Ledger, lift: &str, named: &str) {
    l.ok(&["verify-ledger"]);
    sql(l, lift);
    let err = l.fails(&["verify-ledger"], 1);
    assert!(err.contains("not protected against edits") && err.contains(named), "{lift}: {err}");
    let out = l.run(&["verify-ledger", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        (&doc["ok"], &doc["chain"]["ok"], &doc["append_only"]["ok"]),
        (&Value::Bool(false), &Value::Bool(true), &Value::Bool(false))
    );
    assert!(doc["append_only"]["problems"][0].as_str().expect("a problem").contains(named), "{doc:#}");
}

#[test]
fn dropped_or_disabled_append_only_triggers_fail_verify_ledger() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let l = Ledger::sqlite(tmp.path().join("a"));
    l.demo();
    lifted_guards_are_reported(&l, "DROP TRIGGER events_no_delete", "`events_no_delete` is missing");

    let db = TestDatabase::create();
    l.ok(&["migrate-store", "--to", &db.url]);
    let data = tmp.path().join("pg");
    std::fs::create_dir_all(&data).expect("creates");
    let pg = Ledger::postgres(&db, data);
    lifted_guards_are_reported(
        &pg,
        "ALTER TABLE events DISABLE TRIGGER events_no_update",
        "`events_no_update` is disabled",
    );
    sql(&pg, "ALTER TABLE events ENABLE TRIGGER events_no_update; DROP TRIGGER events_no_truncate ON events");
    let err = pg.fails(&["verify-ledger"], 1);
    assert!(err.contains("`events_no_truncate` is missing"), "{err}");
}

#[test]
fn chain_anchor_records_the_head_and_expect_head_chain_checks_the_latest() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let l = Ledger::sqlite(tmp.path().join("a"));
    l.demo();
    let err = l.fails(&["verify-ledger", "--expect-head", "chain"], 1);
    assert!(err.contains("no head is anchored on embedded chain"), "{err}");

    let out = l.ok(&["chain", "anchor"]);
    let (head, n) = head_json(&l);
    assert!(out.contains("deploy LedgerAnchor") && out.contains(&format!("anchored event {n} (hash {head})")), "{out}");
    assert!(l.ok(&["chain", "anchor"]).contains(&format!("already holds event {n}")), "anchoring again sends nothing");
    let ok = l.ok(&["verify-ledger", "--expect-head", "chain"]);
    assert!(ok.contains(&format!("expected head held: event {n} has hash {head} (the chain: LedgerAnchor")), "{ok}");

    // The ledger grows: it still holds the anchored head; anchored again, the chain moves on.
    l.ok(&["grant", "terminate", "ada-2024-hire", "--date", "2026-11-01"]);
    l.ok(&["verify-ledger", "--expect-head", "chain"]);
    assert!(l.ok(&["chain", "anchor"]).contains(&format!("anchored event {}", n + 1)));

    // The last event deleted behind the guard: the chain's head is gone, and anchoring the cut
    // ledger is refused.
    behind_the_guard(&l, &format!("DELETE FROM events WHERE seq = {};", n + 1));
    assert!(l.ok(&["verify-ledger"]).starts_with(&format!("ledger ok: {n} events")));
    let reason = refused_head(&l, "chain");
    assert!(reason.contains(&format!("the ledger has {n} events but the anchor names event {}", n + 1)), "{reason}");
    let err = l.fails(&["chain", "anchor"], 1);
    assert!(err.contains("the ledger lost events since it was anchored"), "{err}");
}
