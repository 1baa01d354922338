//! The store's conformance suite: every case is written once against `Store` and run on SQLite
//! and on PostgreSQL, each time on a fresh, empty ledger (SQLite in a temporary directory;
//! PostgreSQL in a database `tc_test_…` created for the test and dropped after it). Then the
//! checks that the two backends' schemas and migration lists agree.
//!
//! PostgreSQL is a real server: `scripts/test` starts one on loopback and sets
//! `TOKENCOMP_TEST_POSTGRES`. Without it the PostgreSQL cases fail; they never skip.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, Hasher};
use std::path::Path;

use jiff::Timestamp;
use jiff::civil::date;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokencomp_compliance::fmv::TwapPoint;
use tokencomp_core::model::{
    AttributionPolicy, ClassificationPolicy, CompanySettings, FlatRuleInput, FmvSource, FxRate, Person, PersonKind,
    Policy, Price, TokenSettings, WithholdingMethod,
};
use tokencomp_core::period::PayFrequency;
use tokencomp_formats::canonical::{write_event, write_terms};
use tokencomp_formats::company::parse_company;
use tokencomp_money::{Currency, Decimal, Token, TokenAmount};
use tokencomp_store::ledger::{Company, Fact, SaleRecord};
use tokencomp_store::postgres::PostgresStore;
use tokencomp_store::sqlite::SqliteStore;
use tokencomp_store::{
    Appended, EventKind, GENESIS, NewEvent, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS, Store, StoreError, StoredEvent,
    Subject, canonical_dump, format_time, hash_event, verify,
};

// ---------------------------------------------------------------------------------------------
// Fresh ledgers

/// The server `scripts/test` started; a failure (never a skip) when there is none.
fn server_url() -> String {
    match std::env::var("TOKENCOMP_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "TOKENCOMP_TEST_POSTGRES is not set: the PostgreSQL tests need a server. Run ./scripts/test, which \
             starts one on loopback (or `scripts/postgres.sh cargo test …` for a subset)"
        ),
    }
}

/// `url` with its database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let host_start = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[host_start..].find('/').map_or(base.len(), |i| host_start + i);
    match query {
        Some(q) => format!("{}/{name}?{q}", &base[..host_end]),
        None => format!("{}/{name}", &base[..host_end]),
    }
}

/// A database of its own on the test server, dropped with this value.
struct TestDatabase {
    server: String,
    name: String,
    url: String,
}

impl TestDatabase {
    fn create() -> TestDatabase {
        let server = server_url();
        let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
        let name = format!("tc_test_{}_{random:016x}", std::process::id());
        let mut admin = ::postgres::Client::connect(&server, ::postgres::NoTls)
            .unwrap_or_else(|e| panic!("connecting to the test server {server}: {e}"));
        admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("CREATE DATABASE");
        let url = with_database(&server, &name);
        TestDatabase { server, name, url }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let dropped = ::postgres::Client::connect(&self.server, ::postgres::NoTls)
            .and_then(|mut c| c.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)));
        if let Err(e) = dropped {
            eprintln!("could not drop the test database {}: {e}", self.name);
        }
    }
}

/// A fresh, empty ledger of one kind, deleted afterwards. Fields drop in order: the store's
/// connection closes before its database or directory goes.
enum Db {
    Sqlite { store: SqliteStore, dir: TempDir },
    Postgres { store: Box<PostgresStore>, db: TestDatabase },
}

impl Db {
    fn sqlite() -> Db {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("ledger.sqlite")).expect("opens SQLite");
        Db::Sqlite { store, dir }
    }

    fn postgres() -> Db {
        let db = TestDatabase::create();
        let store = Box::new(PostgresStore::connect(&db.url).expect("connects to PostgreSQL"));
        Db::Postgres { store, db }
    }

    fn store(&mut self) -> &mut dyn Store {
        match self {
            Db::Sqlite { store, .. } => store,
            Db::Postgres { store, .. } => store.as_mut(),
        }
    }

    fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres { .. })
    }

    /// Another connection to the same ledger (opening it runs the migrations again).
    fn reopen(&self) -> Box<dyn Store + Send> {
        match self {
            Db::Sqlite { dir, .. } => {
                Box::new(SqliteStore::open(&dir.path().join("ledger.sqlite")).expect("reopens SQLite"))
            }
            Db::Postgres { db, .. } => Box::new(PostgresStore::connect(&db.url).expect("reconnects")),
        }
    }

    /// Raw SQL, around the store: what a careless or malicious operator could run.
    fn sql(&mut self, sql: &str) -> Result<(), String> {
        match self {
            Db::Sqlite { store, .. } => store.connection().execute_batch(sql).map_err(|e| e.to_string()),
            Db::Postgres { store, .. } => store
                .client()
                .batch_execute(sql)
                .map_err(|e| e.as_db_error().map_or_else(|| e.to_string(), |d| d.message().to_owned())),
        }
    }

    fn drop_append_only_triggers(&mut self) {
        let sql = if self.is_postgres() {
            "DROP TRIGGER events_no_update ON events; DROP TRIGGER events_no_truncate ON events;"
        } else {
            "DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;"
        };
        self.sql(sql).expect("drops the triggers");
    }

    fn events(&mut self) -> Vec<StoredEvent> {
        self.store().events().expect("reads the events")
    }
}

/// Instantiates every case for both backends: `sqlite::CASE` and `postgres::CASE`.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $case() { super::$case(&mut super::Db::sqlite()) } )*
        }
        mod postgres {
            $( #[test] fn $case() { super::$case(&mut super::Db::postgres()) } )*
        }
    };
}

conformance!(
    append_then_read_back,
    reappending_is_idempotent,
    a_conflict_names_the_field_and_writes_nothing,
    amounts_up_to_u128_max_are_exact,
    the_schema_rejects_amounts_that_are_not_base_units,
    raw_updates_and_deletes_are_refused,
    verify_finds_an_edit_made_with_the_triggers_dropped,
    events_for_one_subject,
    a_grant_and_a_person_with_one_id_are_two_subjects_in_old_and_new_ledgers,
    restore_reproduces_the_ledger_and_refuses_a_non_empty_one,
    restore_is_all_or_nothing,
    reopening_keeps_the_ledger_and_migrates_once,
    concurrent_appenders_keep_one_chain,
    the_same_fact_by_another_actor_is_a_no_op_that_keeps_the_first_writer,
    a_refused_guarded_write_writes_nothing_and_says_why,
    guarded_writers_racing_never_overdraw_a_pool,
    the_compliance_facts_fold_back_as_recorded,
    recorded_rules_and_run_hashes_fold_back_in_ledger_order,
    an_fx_or_volume_conflict_names_the_field,
    twap_points_fold_back_and_a_different_point_conflicts,
    a_dropped_disabled_or_altered_trigger_is_reported,
    a_deleted_tail_or_a_rehashed_history_loses_the_anchored_head,
    an_unknown_kind_is_refused_naming_the_event,
    sessions_outlive_the_connection_and_stay_outside_the_chain,
    sessions_end_by_token_login_cap_and_stale_password,
    failure_counts_are_atomic_restart_their_window_and_stay_bounded,
    wallet_nonces_are_taken_once_and_expired_ones_dropped,
    the_sign_in_log_is_newest_first_and_bounded,
    a_scan_selects_newest_first_a_chunk_at_a_time_as_a_plain_filter_would,
    a_scan_below_a_sequence_number_is_stable_under_appends,
    the_chain_state_says_how_far_the_chain_holds,
);

fn session_row(token: &str, login: &str, created: i64, hours: i64) -> tokencomp_store::logins::SessionRow {
    let created = Timestamp::from_second(1_793_491_200 + created).expect("t");
    tokencomp_store::logins::SessionRow {
        token_sha256: tokencomp_store::sha256_hex(token),
        login: login.to_owned(),
        role: "admin".into(),
        person: None,
        csrf: format!("csrf-{token}"),
        password_fp: tokencomp_store::sha256_hex(&format!("hash-of-{login}")),
        created,
        expires: created.checked_add(jiff::SignedDuration::from_hours(hours)).expect("t"),
    }
}

/// A session written through one connection is read through another opened later (a server
/// restarted, or a second server on the same database); none of it is an event, so the chain,
/// its length and its canonical dump do not move, and the token itself is stored nowhere.
fn sessions_outlive_the_connection_and_stay_outside_the_chain(db: &mut Db) {
    db.store().append(&[ev("a", "g", json!({"n": 1}), None)], t(0)).expect("appends");
    let before = canonical_dump(&db.events());
    let row = session_row("secret-token-1", "ops", 0, 12);
    let mut logins = db.store().logins().expect("logins");
    assert_eq!(logins.open_session(&row, 16, row.created).expect("opens"), 0);
    drop(logins);
    let again = db.reopen();
    let mut logins = again.logins().expect("logins again");
    assert_eq!(logins.session(&row.token_sha256).expect("reads"), Some(row.clone()));
    assert_eq!(logins.session(&tokencomp_store::sha256_hex("another")).expect("reads"), None);
    assert_eq!(db.store().len().expect("len"), 1);
    assert_eq!(canonical_dump(&db.events()), before);
    assert_eq!(verify(&db.events()), Ok(1));
    let raw = "token_sha256 = 'secret-token-1'";
    let found = match db {
        Db::Sqlite { store, .. } => store
            .connection()
            .query_row(&format!("SELECT count(*) FROM auth_sessions WHERE {raw} OR csrf = 'secret-token-1'"), [], |r| {
                r.get::<_, i64>(0)
            })
            .expect("counts"),
        Db::Postgres { store, .. } => store
            .client()
            .query_one(&format!("SELECT count(*) FROM auth_sessions WHERE {raw} OR csrf = 'secret-token-1'"), &[])
            .expect("counts")
            .get::<_, i64>(0),
    };
    assert_eq!(found, 0, "the token itself is never stored");
    // The append-only guard is the ledger's: the sessions table is mutable and does not count.
    assert_eq!(db.store().append_only_problems().expect("checks"), Vec::<String>::new());
}

/// Logout ends one session; the per-login cap ends the oldest; revocation ends a login's
/// sessions and no other's; a changed password fingerprint ends the stale ones only.
fn sessions_end_by_token_login_cap_and_stale_password(db: &mut Db) {
    let mut logins = db.store().logins().expect("logins");
    let rows: Vec<_> = (0..3).map(|i| session_row(&format!("ops-{i}"), "ops", i, 12)).collect();
    for r in &rows {
        logins.open_session(r, 2, r.created).expect("opens");
    }
    // A cap of 2: the third opening ended the oldest.
    let live: Vec<String> =
        logins.sessions_of("ops", rows[2].created).expect("lists").into_iter().map(|r| r.token_sha256).collect();
    assert_eq!(live, [rows[1].token_sha256.clone(), rows[2].token_sha256.clone()]);
    let aud = session_row("aud-0", "aud", 5, 12);
    logins.open_session(&aud, 2, aud.created).expect("opens");
    assert_eq!(logins.end_session(&rows[1].token_sha256).expect("ends"), Some(rows[1].clone()));
    assert_eq!(logins.end_session(&rows[1].token_sha256).expect("ends"), None);
    // An expired session is gone at the next opening.
    let late = session_row("ops-late", "ops", 13 * 3600, 12);
    logins.open_session(&late, 2, late.created).expect("opens");
    assert_eq!(logins.session(&rows[2].token_sha256).expect("reads"), None);
    assert!(logins.session(&aud.token_sha256).expect("reads").is_none(), "aud's expired too");
    let aud = session_row("aud-1", "aud", 13 * 3600, 12);
    logins.open_session(&aud, 2, aud.created).expect("opens");
    // ops's password changed: only ops's sessions end.
    let current = [("aud".to_owned(), aud.password_fp.clone()), ("ops".to_owned(), "other".to_owned())];
    assert_eq!(logins.end_stale(&current).expect("ends"), [("ops".to_owned(), 1)]);
    assert_eq!(logins.session(&late.token_sha256).expect("reads"), None);
    assert_eq!(logins.session(&aud.token_sha256).expect("reads"), Some(aud.clone()));
    assert_eq!(logins.end_sessions_of("aud").expect("revokes"), 1);
    assert_eq!(logins.session(&aud.token_sha256).expect("reads"), None);
}

/// Failures count one by one, also through a second connection (two servers); one after the
/// window ran out starts again at 1; a full table drops expired counts first, then the oldest.
fn failure_counts_are_atomic_restart_their_window_and_stay_bounded(db: &mut Db) {
    use tokencomp_store::logins::{Count, CountKind};
    let at = |s: i64| Timestamp::from_second(1_793_491_200 + s).expect("t");
    let window = |now: Timestamp| now.checked_sub(jiff::SignedDuration::from_mins(15)).expect("t");
    let mut one = db.store().logins().expect("logins");
    let other = db.reopen();
    let mut two = other.logins().expect("logins");
    assert_eq!(one.add_failure(CountKind::Pair, "ops", "10.0.0.1", at(0), window(at(0)), 3).expect("adds").failures, 1);
    assert_eq!(two.add_failure(CountKind::Pair, "ops", "10.0.0.1", at(1), window(at(1)), 3).expect("adds").failures, 2);
    assert_eq!(one.count(CountKind::Pair, "ops", "10.0.0.1").expect("reads"), Some(Count { failures: 2, last: at(1) }));
    // 15 minutes after the last failure the window has run out: the count starts again.
    let later = at(1 + 15 * 60);
    assert_eq!(one.add_failure(CountKind::Pair, "ops", "10.0.0.1", later, window(later), 3).expect("adds").failures, 1);
    one.clear_count(CountKind::Pair, "ops", "10.0.0.1").expect("clears");
    assert_eq!(one.count(CountKind::Pair, "ops", "10.0.0.1").expect("reads"), None);
    // A cap of 3: n0 and n1 expire, n2 is live; n3 then n4 arrive.
    for (name, s) in [("n0", 0), ("n1", 0), ("n2", 20 * 60)] {
        one.add_failure(CountKind::Name, name, "", at(s), window(at(s)), 3).expect("adds");
    }
    let now = at(20 * 60);
    one.add_failure(CountKind::Name, "n3", "", now, window(now), 3).expect("adds");
    assert_eq!(one.count_entries(CountKind::Name).expect("counts"), 2, "the expired counts went first");
    for i in 4..8 {
        one.add_failure(CountKind::Name, &format!("n{i}"), "", now, window(now), 3).expect("adds");
        assert!(one.count_entries(CountKind::Name).expect("counts") <= 3);
    }
    assert!(one.count(CountKind::Name, "n7", "").expect("reads").is_some());
    // Known clients keep their cap too, the oldest going first.
    for i in 0..4 {
        one.mark_known("ops", &format!("10.0.1.{i}"), at(i), 3).expect("marks");
    }
    assert_eq!(one.count_entries(CountKind::Known).expect("counts"), 3);
    assert_eq!(one.count(CountKind::Known, "ops", "10.0.1.0").expect("reads"), None);
    assert!(one.count(CountKind::Known, "ops", "10.0.1.3").expect("reads").is_some());
}

fn the_sign_in_log_is_newest_first_and_bounded(db: &mut Db) {
    use tokencomp_store::logins::LogLine;
    let mut logins = db.store().logins().expect("logins");
    for (i, what) in ["login", "logout", "login", "revoked"].iter().enumerate() {
        let line = LogLine {
            seq: 0,
            at: t(i32::try_from(i).expect("i")),
            login: if i == 2 { "aud".into() } else { "ops".into() },
            actor: "user:ops".into(),
            what: (*what).to_owned(),
            detail: String::new(),
        };
        logins.log(&line, 3).expect("logs");
    }
    let all: Vec<String> = logins.log_lines(None, 10).expect("reads").into_iter().map(|l| l.what).collect();
    assert_eq!(all, ["revoked", "login", "logout"], "the oldest line went");
    let ops: Vec<String> = logins.log_lines(Some("ops"), 10).expect("reads").into_iter().map(|l| l.what).collect();
    assert_eq!(ops, ["revoked", "logout"]);
}

/// Wallet proofs' SIWE nonces (issue 18, item 3): a nonce is taken once (a replay finds none),
/// says whose it was and when it expires, survives a reopen (another server sees it), expired
/// ones are dropped by the next put, and none of it touches the ledger.
fn wallet_nonces_are_taken_once_and_expired_ones_dropped(db: &mut Db) {
    let at = |s: i64| Timestamp::from_second(1_793_491_200 + s).expect("instant");
    let s = db.store();
    s.nonce_put("nonceAAAA1", "ada", at(600), at(0)).expect("puts");
    s.nonce_put("nonceBBBB2", "ben", at(10), at(0)).expect("puts");
    assert_eq!(s.nonce_take("nonceAAAA1").expect("takes"), Some(("ada".to_owned(), at(600))));
    assert_eq!(s.nonce_take("nonceAAAA1").expect("takes"), None, "a nonce is taken once");
    assert_eq!(s.nonce_take("nonceZZZZ9").expect("takes"), None, "never issued");
    // A put at 20 s drops Ben's nonce, expired at 10 s.
    s.nonce_put("nonceCCCC3", "ada", at(620), at(20)).expect("puts");
    assert_eq!(s.nonce_take("nonceBBBB2").expect("takes"), None);
    let mut other = db.reopen();
    assert_eq!(other.nonce_take("nonceCCCC3").expect("takes"), Some(("ada".to_owned(), at(620))));
    assert_eq!(db.store().nonce_take("nonceCCCC3").expect("takes"), None, "taken by the other connection");
    assert_eq!(db.store().len().expect("len"), 0, "the ledger is untouched");
}

/// A row of a kind this version does not know (written by raw SQL, or a later version) is
/// refused by every read, naming its sequence number and id: never defaulted or skipped.
fn an_unknown_kind_is_refused_naming_the_event(db: &mut Db) {
    db.store().append(&[ev("a", "g", json!({"n": 1}), None)], t(0)).expect("appends");
    db.sql(
        "INSERT INTO events (seq, event_id, kind, subject, payload, amount, actor, recorded_at, prev_hash, hash) \
         VALUES (2, 'bonus:1', 'bonus.paid', 'g', '{}', NULL, 'system', '2026-11-01T00:00:00Z', 'p', 'h')",
    )
    .expect("a raw insert");
    let s = db.store();
    let want = "the ledger is damaged: event 2 (bonus:1): unknown kind `bonus.paid`";
    for (what, result) in [
        ("events", s.events().map(drop)),
        ("events_for", s.events_for(&Subject::Grant("g".into())).map(drop)),
        (
            "a guarded read",
            tokencomp_store::append_checked(s, t(1), |l| l.events().map(|_| Vec::new())).map(drop).map_err(
                |e| match e {
                    tokencomp_store::Checked::Refused(e) | tokencomp_store::Checked::Store(e) => e,
                },
            ),
        ),
    ] {
        let err = result.expect_err(what);
        assert!(matches!(err, StoreError::Corrupt(_)), "{what}: {err:?}");
        assert_eq!(err.to_string(), want, "{what}");
    }
    // Appending an event with the id of the unknown one reads it too, and is refused alike.
    let mut again = ev("bonus:1", "g", json!({}), None);
    again.kind = EventKind::Vest;
    assert_eq!(s.append(&[again], t(2)).expect_err("refused").to_string(), want);
}

fn a_dropped_disabled_or_altered_trigger_is_reported(db: &mut Db) {
    assert_eq!(db.store().append_only_problems().expect("reads the schema"), Vec::<String>::new());
    let pg = db.is_postgres();
    // Each way an operator could lift the guard, and the name the report must carry; the guard is
    // put back (migrations' own text) after each.
    let cases: Vec<(&str, &str, &str)> = if pg {
        vec![
            ("DROP TRIGGER events_no_truncate ON events", "`events_no_truncate` is missing", ""),
            (
                "ALTER TABLE events DISABLE TRIGGER events_no_update",
                "`events_no_update` is disabled",
                "ALTER TABLE events ENABLE TRIGGER events_no_update",
            ),
            (
                "CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END; $$",
                "no longer only refuses",
                "",
            ),
            (
                "DROP TRIGGER events_no_update ON events; CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events \
                 FOR EACH ROW WHEN (false) EXECUTE FUNCTION events_append_only()",
                "`events_no_update` was altered",
                "",
            ),
        ]
    } else {
        vec![
            ("DROP TRIGGER events_no_delete", "`events_no_delete` is missing", ""),
            (
                "DROP TRIGGER events_no_update; CREATE TRIGGER events_no_update BEFORE UPDATE ON events WHEN 0 \
                 BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END",
                "`events_no_update` was altered",
                "",
            ),
        ]
    };
    for (lift, named, undo) in cases {
        db.sql(lift).expect(lift);
        let problems = db.store().append_only_problems().expect("reads the schema");
        // Replacing the shared function lifts both triggers at once, and both are named.
        assert!(!problems.is_empty() && problems.iter().all(|p| p.contains(named)), "{lift}: {problems:?}");
        if undo.is_empty() {
            restore_triggers(db);
        } else {
            db.sql(undo).expect(undo);
        }
        assert_eq!(db.store().append_only_problems().expect("reads"), Vec::<String>::new(), "{lift}: put back");
    }
}

/// The append-only triggers exactly as the migrations create them.
fn restore_triggers(db: &mut Db) {
    let (migrations, drop) = if db.is_postgres() {
        (
            POSTGRES_MIGRATIONS,
            "DROP TRIGGER IF EXISTS events_no_update ON events; DROP TRIGGER IF EXISTS events_no_truncate ON events;",
        )
    } else {
        (SQLITE_MIGRATIONS, "DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS events_no_delete;")
    };
    db.sql(drop).expect("drops");
    for (_, _, sql) in migrations {
        if let Some(start) = sql.find("CREATE FUNCTION") {
            let end = sql[start..].find("$$;").expect("the function's end") + start + 3;
            db.sql(&sql[start..end].replacen("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)).expect("function");
        }
        for line in sql.lines().filter(|l| l.starts_with("CREATE TRIGGER")) {
            db.sql(line).expect(line);
        }
    }
}

fn a_deleted_tail_or_a_rehashed_history_loses_the_anchored_head(db: &mut Db) {
    use tokencomp_store::anchor::{self, Head, HeadMismatch};
    let batch: Vec<NewEvent> = (1..=60).map(|i| ev(&format!("e{i}"), "g", json!({"n": i}), Some(i))).collect();
    db.store().append(&batch, t(1)).expect("appends");
    let original = db.events();
    let head = Head::of(&original);
    assert_eq!((head.events, anchor::check(&original, &head)), (60, Ok(())));

    // The last 50 events deleted, the guard lifted for it and put back: the chain still holds.
    let drop =
        if db.is_postgres() { "DROP TRIGGER events_no_update ON events" } else { "DROP TRIGGER events_no_delete" };
    db.sql(drop).expect("lifts the guard");
    db.sql("DELETE FROM events WHERE seq > 10").expect("deletes the tail");
    restore_triggers(db);
    let cut = db.events();
    assert_eq!(verify(&cut), Ok(10), "a cut ledger is a valid chain");
    assert_eq!(db.store().append_only_problems().expect("reads"), Vec::<String>::new());
    assert_eq!(anchor::check(&cut, &head), Err(HeadMismatch::Lost { expected: head.clone(), found: 10 }));

    // Grown again to 60 with another history from event 5 on, every hash recomputed.
    db.sql(drop).expect("lifts the guard");
    db.sql("DELETE FROM events WHERE seq >= 5").expect("deletes");
    restore_triggers(db);
    let mut forged: Vec<NewEvent> = (5..=60).map(|i| ev(&format!("e{i}"), "g", json!({"n": i}), Some(i))).collect();
    forged[0].payload = json!({"n": 500}).to_string();
    db.store().append(&forged, t(1)).expect("appends the forgery");
    let rewritten = db.events();
    assert_eq!(verify(&rewritten), Ok(60), "a re-hashed ledger is a valid chain");
    assert!(matches!(anchor::check(&rewritten, &head), Err(HeadMismatch::Rewritten { .. })));
    assert!(matches!(anchor::find(&rewritten, &head.hash), Err(HeadMismatch::Unknown { .. })));
    // A head from before the rewrite is still held.
    assert_eq!(anchor::check(&rewritten, &Head::of(&original[..4])), Ok(()));
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// A test event filed under `subject` as a grant's bare id (as older ledgers wrote them).
fn ev(id: &str, subject: &str, payload: Value, amount: Option<u128>) -> NewEvent {
    NewEvent {
        id: id.to_owned(),
        kind: EventKind::GrantIssued,
        subject: subject.to_owned(),
        payload: payload.to_string(),
        amount: amount.map(TokenAmount::from_base_units),
        actor: "user:test".to_owned(),
    }
}

fn at(seconds: i64, nanos: i32) -> Timestamp {
    Timestamp::new(seconds, nanos).expect("a valid instant")
}

/// 2026-11-01T00:00:00Z plus `nanos`.
fn t(nanos: i32) -> Timestamp {
    at(1_793_491_200, nanos)
}

/// An SQL string literal.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Sequences 1..=n, every link and every hash as `hash_event` computes it.
fn assert_chain(events: &[StoredEvent]) {
    let mut prev = GENESIS.to_owned();
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.seq, i64::try_from(i).expect("small") + 1, "sequence of {}", e.event.id);
        assert_eq!(e.prev_hash, prev, "link of {}", e.event.id);
        assert_eq!(e.hash, hash_event(&prev, e.seq, &e.event, &format_time(e.recorded_at)), "hash of {}", e.event.id);
        prev = e.hash.clone();
    }
    assert_eq!(verify(events), Ok(events.len()));
}

fn ids(events: &[StoredEvent]) -> Vec<&str> {
    events.iter().map(|e| e.event.id.as_str()).collect()
}

fn price(day: u8, close: &str) -> NewEvent {
    Fact::Price(Price {
        date: date(2026, 10, i8::try_from(day).expect("a day")),
        close: Decimal::from_str_exact(close).expect("a decimal"),
        currency: "USD".parse().expect("USD"),
        volume: None,
    })
    .to_event("oracle:test")
}

fn conflict(result: Result<Appended, StoreError>) -> (String, &'static str, String) {
    match result {
        Err(e @ StoreError::Conflict { .. }) => {
            let message = e.to_string();
            let StoreError::Conflict { id, field, .. } = e else { unreachable!() };
            (id, field, message)
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The cases

fn append_then_read_back(db: &mut Db) {
    let first = vec![
        ev("a", "g-1", json!({"n": 1}), Some(5)),
        ev("b", "g-2", json!({"name": "Zoë O'Brien ✓", "note": "tab\there, newline\nthere"}), None),
        ev("c", "g-1", json!({}), Some(0)),
    ];
    let second = vec![ev("d", "price:2026-10-01", json!({"close": "0.4123"}), None)];
    // Record times round-trip to the nanosecond, whole seconds included.
    let (t1, t2) = (t(123_456_789), at(1_793_491_201, 1));
    let s = db.store();
    assert_eq!(s.append(&first, t1).expect("appends"), Appended { new: 3, existing: 0 });
    assert_eq!(s.append(&second, t2).expect("appends"), Appended { new: 1, existing: 0 });
    assert_eq!(s.append(&[], t2).expect("an empty batch"), Appended::default());
    assert_eq!(s.append(&[ev("e", "s", json!({}), None)], at(1_793_491_202, 0)).expect("appends").new, 1);

    let got = s.events().expect("reads");
    assert_eq!(s.len().expect("len"), 5);
    let want: Vec<(&NewEvent, Timestamp)> =
        first.iter().map(|e| (e, t1)).chain(second.iter().map(|e| (e, t2))).collect();
    for (e, (w, when)) in got.iter().zip(&want) {
        assert_eq!(&e.event, *w, "every field of {}", w.id);
        assert_eq!(e.recorded_at, *when, "record time of {}", w.id);
    }
    assert_eq!(got[4].recorded_at, at(1_793_491_202, 0));
    assert_chain(&got);
    assert!(!s.describe().is_empty());
}

fn reappending_is_idempotent(db: &mut Db) {
    let batch = vec![ev("a", "g", json!({"n": 1}), Some(7)), ev("b", "g", json!({"n": 2}), None)];
    let s = db.store();
    assert_eq!(s.append(&batch, t(1)).expect("appends"), Appended { new: 2, existing: 0 });
    let before = s.events().expect("reads");
    assert_eq!(s.append(&batch, t(2)).expect("re-appends"), Appended { new: 0, existing: 2 });
    assert_eq!(s.events().expect("reads"), before, "no new sequence, the first record time kept");

    // Known and new events in one batch; the same event twice in one batch.
    let mixed = vec![batch[1].clone(), ev("c", "g", json!({"n": 3}), None), ev("c", "g", json!({"n": 3}), None)];
    assert_eq!(s.append(&mixed, t(3)).expect("appends"), Appended { new: 1, existing: 2 });
    let after = s.events().expect("reads");
    assert_eq!(ids(&after), ["a", "b", "c"]);
    assert_eq!((after[2].seq, after[2].recorded_at), (3, t(3)));
    assert_chain(&after);
}

fn a_conflict_names_the_field_and_writes_nothing(db: &mut Db) {
    let s = db.store();
    s.append(&[price(1, "1.25"), ev("n", "g", json!({"n": 1}), Some(1))], t(1)).expect("appends");
    let before = s.events().expect("reads");

    // Same id, a different close: refused naming `close`, and the events around it in the batch
    // are not written either.
    let batch = [ev("x", "g", json!({}), None), price(1, "1.30"), ev("y", "g", json!({}), None)];
    let (id, field, message) = conflict(s.append(&batch, t(2)));
    assert_eq!((id.as_str(), field), ("price:USD:2026-10-01", "close"));
    assert!(message.contains("different close") && message.contains("1.25") && message.contains("1.30"), "{message}");
    assert_eq!(s.events().expect("reads"), before);

    // A conflict between two events of the same batch.
    let twice = [ev("z", "g", json!({"amount": "1"}), None), ev("z", "g", json!({"amount": "2"}), None)];
    assert_eq!(conflict(s.append(&twice, t(3))).1, "amount");

    // Every other field is compared too (the actor is not content: see
    // `the_same_fact_by_another_actor_is_a_no_op_that_keeps_the_first_writer`); a payload key
    // outside the ledger's vocabulary is reported as the payload.
    let mut other_amount = before[1].event.clone();
    other_amount.amount = Some(TokenAmount::from_base_units(2));
    let mut no_amount = before[1].event.clone();
    no_amount.amount = None;
    let mut other_kind = before[1].event.clone();
    other_kind.kind = EventKind::Sale;
    let mut other_subject = before[1].event.clone();
    other_subject.subject = "h".into();
    let mut other_payload = before[1].event.clone();
    other_payload.payload = json!({"n": 2}).to_string();
    for (e, want) in [
        (other_amount, "amount"),
        (no_amount, "amount"),
        (other_kind, "kind"),
        (other_subject, "subject"),
        (other_payload, "payload"),
    ] {
        assert_eq!(conflict(s.append(&[ev("w", "g", json!({}), None), e], t(4))).1, want);
    }
    assert_eq!(s.events().expect("reads"), before, "nothing written by any refused batch");
}

fn amounts_up_to_u128_max_are_exact(db: &mut Db) {
    let amounts = [u128::MAX, u128::MAX - 1, 10u128.pow(38), 10u128.pow(38) - 1, 1, 0, 1_000_000_000_000_000_000];
    let batch: Vec<NewEvent> =
        amounts.iter().enumerate().map(|(i, a)| ev(&format!("a{i}"), "big", json!({}), Some(*a))).collect();
    let s = db.store();
    s.append(&batch, t(0)).expect("appends");
    let got: Vec<Option<u128>> = s
        .events_for(&Subject::Grant("big".into()))
        .expect("reads")
        .iter()
        .map(|e| e.event.amount.map(TokenAmount::base_units))
        .collect();
    assert_eq!(got, amounts.map(Some));
    // Re-appending the largest is recognized as the same content, to the last digit.
    assert_eq!(s.append(&batch[..1], t(1)).expect("re-appends"), Appended { new: 0, existing: 1 });
    let mut off_by_one = batch[0].clone();
    off_by_one.amount = Some(TokenAmount::from_base_units(u128::MAX - 2));
    assert_eq!(conflict(s.append(&[off_by_one], t(2))).1, "amount");
}

fn insert_raw(seq: i64, id: &str, amount: &str) -> String {
    format!(
        "INSERT INTO events (seq, event_id, kind, subject, payload, amount, actor, recorded_at, prev_hash, hash) \
         VALUES ({seq}, {}, 'vest', 'raw', '{{}}', {amount}, 'system', '2026-11-01T00:00:00Z', 'p', 'h')",
        lit(id)
    )
}

fn the_schema_rejects_amounts_that_are_not_base_units(db: &mut Db) {
    // The statement itself is fine: with a base-unit amount (or none) it is accepted.
    let max = u128::MAX.to_string();
    db.sql(&insert_raw(100, "ok-max", &lit(&max))).expect("u128::MAX is accepted");
    db.sql(&insert_raw(101, "ok-null", "NULL")).expect("no amount is accepted");
    let bad = ["'12a'", "'abc'", "'-1'", "''", "'1000000000000000000000000000000000000000'", "'1,5'"];
    for (i, amount) in bad.iter().enumerate() {
        let seq = 200 + i64::try_from(i).expect("small");
        let result = db.sql(&insert_raw(seq, &format!("bad-{i}"), amount));
        assert!(result.is_err(), "the amount {amount} was accepted");
    }
    let stored: Vec<Option<u128>> = db.events().iter().map(|e| e.event.amount.map(TokenAmount::base_units)).collect();
    assert_eq!(stored, [Some(u128::MAX), None]);
}

fn raw_updates_and_deletes_are_refused(db: &mut Db) {
    db.store()
        .append(&[ev("a", "g", json!({"n": 1}), Some(1)), ev("b", "g", json!({"n": 2}), Some(2))], t(0))
        .expect("appends");
    let before = db.events();
    let mut statements = vec![
        "UPDATE events SET payload = '{\"n\":9}' WHERE seq = 1",
        "UPDATE events SET amount = NULL",
        "DELETE FROM events WHERE seq = 2",
        "DELETE FROM events",
    ];
    if db.is_postgres() {
        statements.push("TRUNCATE events");
    }
    for sql in statements {
        let err = db.sql(sql).expect_err(sql);
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(db.events(), before);
}

fn verify_finds_an_edit_made_with_the_triggers_dropped(db: &mut Db) {
    let s = db.store();
    let first: Vec<NewEvent> = (1..=3).map(|i| ev(&format!("e{i}"), "g", json!({"n": i}), Some(i))).collect();
    let second: Vec<NewEvent> = (4..=5).map(|i| ev(&format!("e{i}"), "g", json!({"n": i}), Some(i))).collect();
    s.append(&first, t(1)).expect("appends");
    s.append(&second, t(2)).expect("appends");
    let original = db.events();
    assert_eq!(verify(&original), Ok(5));

    db.drop_append_only_triggers();
    db.sql("UPDATE events SET payload = '{\"n\":30}' WHERE seq = 3").expect("the trigger is gone");
    let broken = verify(&db.events()).expect_err("the edit is found");
    assert_eq!((broken.seq, broken.id.as_str()), (3, "e3"));
    assert!(broken.reason.contains("content"), "{broken}");

    db.sql("UPDATE events SET amount = '4000' WHERE seq = 4").expect("edits");
    db.sql(&format!("UPDATE events SET payload = {} WHERE seq = 3", lit(&original[2].event.payload))).expect("edits");
    assert_eq!(verify(&db.events()).expect_err("the edit is found").seq, 4, "the first break is reported");

    db.sql("UPDATE events SET amount = '4' WHERE seq = 4").expect("edits");
    assert_eq!(db.events(), original, "put back exactly");
    assert_eq!(verify(&db.events()), Ok(5));

    db.sql("DELETE FROM events WHERE seq = 2").expect("deletes");
    let broken = verify(&db.events()).expect_err("the gap is found");
    assert_eq!(broken.seq, 3);
    assert!(broken.reason.contains("missing"), "{broken}");
}

fn events_for_one_subject(db: &mut Db) {
    let s = db.store();
    let batch = [
        ev("a", "g-1", json!({"n": 1}), Some(1)),
        ev("b", "g-2", json!({"n": 2}), None),
        ev("c", "g-1", json!({"n": 3}), Some(3)),
        ev("d", "g-10", json!({"n": 4}), None),
    ];
    s.append(&batch[..2], t(1)).expect("appends");
    s.append(&batch[2..], t(2)).expect("appends");
    let all = s.events().expect("reads");
    let g1 = s.events_for(&Subject::Grant("g-1".into())).expect("reads");
    assert_eq!(g1, [all[0].clone(), all[2].clone()], "whole events, in sequence order");
    assert_eq!(ids(&s.events_for(&Subject::Grant("g-10".into())).expect("reads")), ["d"]);
    assert!(s.events_for(&Subject::Grant("g".into())).expect("reads").is_empty(), "exact subjects, not prefixes");
    assert!(s.events_for(&Subject::Grant("g-%".into())).expect("reads").is_empty(), "not a pattern");
}

/// Regression (issue 15, item 11): a grant whose id is a person's id listed that person's
/// record (salary, email) in the grant's history, because both were filed under the bare id.
fn a_grant_and_a_person_with_one_id_are_two_subjects_in_old_and_new_ledgers(db: &mut Db) {
    let s = db.store();
    let typed = |id: &str, kind: &str, subject: &str| NewEvent {
        id: id.to_owned(),
        kind: EventKind::parse(kind).expect("a kind"),
        subject: subject.to_owned(),
        payload: json!({"id": id}).to_string(),
        amount: None,
        actor: "system".to_owned(),
    };
    // What an older version wrote (bare ids), then what this one writes (typed).
    let old = [
        typed("person:ada:1", "person", "ada"),
        typed("grant:ada", "grant.issued", "ada"),
        typed("sale:s-1", "sale", "ada"),
        typed("gov.proposal:ada", "gov.proposal", "ada"),
    ];
    let new = [typed("person:ada:2", "person", "person:ada"), typed("grant:ada:event:e", "grant.event", "grant:ada")];
    s.append(&old, t(1)).expect("appends");
    s.append(&new, t(2)).expect("appends");
    fn ids(s: &mut dyn Store, subject: Subject) -> Vec<String> {
        s.events_for(&subject).expect("reads").into_iter().map(|e| e.event.id).collect()
    }
    assert_eq!(ids(s, Subject::Grant("ada".into())), ["grant:ada", "grant:ada:event:e"]);
    assert_eq!(ids(s, Subject::Person("ada".into())), ["person:ada:1", "sale:s-1", "person:ada:2"]);
    assert_eq!(ids(s, Subject::Proposal("ada".into())), ["gov.proposal:ada"]);
    assert!(ids(s, Subject::Other("ada".into())).is_empty());
    // The same fact again with today's typed subject is the same event, not a conflict.
    assert_eq!(s.append(&[typed("grant:ada", "grant.issued", "grant:ada")], t(3)).expect("no-op").new, 0);
    let err = s.append(&[typed("grant:ada", "grant.issued", "person:ada")], t(3)).expect_err("another subject");
    assert!(matches!(err, StoreError::Conflict { field: "subject", .. }), "{err}");
    assert_eq!(verify(&s.events().expect("reads")), Ok(6), "old and new events verify as stored");
}

#[test]
fn subjects_are_read_in_the_namespace_their_kind_implies() {
    let of = |kind: &str, text: &str| Subject::of(EventKind::parse(kind).expect("a kind"), text);
    assert_eq!(of("grant.issued", "ada"), Subject::Grant("ada".into()));
    assert_eq!(of("vest", "grant:ada"), Subject::Grant("ada".into()));
    assert_eq!(of("person", "ada"), Subject::Person("ada".into()));
    assert_eq!(of("gov.delegation", "person:ada"), Subject::Person("ada".into()));
    assert_eq!(of("gov.ballot", "p-1"), Subject::Proposal("p-1".into()));
    assert_eq!(of("attestation", "g-1"), Subject::Grant("g-1".into()));
    assert_eq!(of("attestation", "team:research"), Subject::Team("research".into()));
    assert_eq!(of("period.run", "period:2026-10"), Subject::Period("2026-10".into()));
    assert_eq!(of("company", "company"), Subject::Company);
    // A kind this version does not know is no longer filed as `Other`: reading its row fails
    // (see `an_unknown_kind_is_refused_naming_the_event`).
    assert!(EventKind::parse("test").is_err());
    for subject in [Subject::Grant("a".into()), Subject::Person("a".into()), Subject::Price("2026-10-01".into())] {
        assert_eq!(Subject::parse(&subject.text()), subject);
    }
}

#[test]
fn a_connection_error_says_why() {
    // Nothing listens on port 1; the reason must survive into the message.
    let err = PostgresStore::connect("postgres://tokencomp@127.0.0.1:1/none").err().expect("refused");
    let message = err.to_string();
    assert!(message.contains("error connecting to server: "), "{message}");
}

/// A ledger from the other backend when testing PostgreSQL (restoring is how a company moves),
/// from SQLite itself otherwise.
fn source_events() -> Vec<StoredEvent> {
    let mut source = Db::sqlite();
    let s = source.store();
    s.append(&[ev("a", "g", json!({"n": 1}), Some(u128::MAX)), price(1, "0.41")], t(1)).expect("appends");
    s.append(&[ev("b", "g", json!({"n": 2}), None)], t(2)).expect("appends");
    s.append(&[ev("c", "h", json!({"n": 3}), Some(0))], at(1_793_500_000, 0)).expect("appends");
    s.events().expect("reads")
}

fn restore_reproduces_the_ledger_and_refuses_a_non_empty_one(db: &mut Db) {
    let events = source_events();
    let s = db.store();
    s.restore(&events).expect("restores into an empty ledger");
    assert_eq!(s.events().expect("reads"), events, "sequences, record times and hashes kept");
    assert_eq!(s.events_for(&Subject::Grant("h".into())).expect("reads"), events[3..]);

    // The chain goes on from the restored head.
    s.append(&[ev("d", "g", json!({"n": 4}), None)], t(9)).expect("appends");
    let after = s.events().expect("reads");
    assert_eq!(after[4].prev_hash, events[3].hash);
    assert_chain(&after);

    let err = s.restore(&events).expect_err("a non-empty ledger is refused");
    assert!(matches!(err, StoreError::NotEmpty { events: 5 }), "{err:?}");
    assert_eq!(s.events().expect("reads"), after, "unchanged");
}

fn restore_is_all_or_nothing(db: &mut Db) {
    let events = source_events();
    let mut bad = events.clone();
    let mut dup = bad[1].clone();
    dup.seq = 5;
    bad.push(dup);
    let s = db.store();
    let err = s.restore(&bad).expect_err("a duplicate event id is refused");
    // The database's own message comes through (PostgreSQL's error displays as "db error").
    assert!(err.to_string().contains("event_id"), "{err}");
    assert_eq!(s.len().expect("len"), 0, "nothing of it was written");
    s.restore(&[]).expect("nothing to restore");
    s.restore(&events).expect("restores");
    assert_eq!(s.events().expect("reads"), events);
}

fn reopening_keeps_the_ledger_and_migrates_once(db: &mut Db) {
    db.store().append(&[ev("a", "g", json!({}), Some(1))], t(1)).expect("appends");
    let mut again = db.reopen();
    assert_eq!(again.events().expect("reads"), db.events());
    again.append(&[ev("b", "g", json!({}), None)], t(2)).expect("appends through the second connection");
    assert_eq!(ids(&db.events()), ["a", "b"]);
    drop(again);
    let migrations = if db.is_postgres() { POSTGRES_MIGRATIONS } else { SQLITE_MIGRATIONS };
    let want: Vec<(i64, String)> = migrations.iter().map(|(v, n, _)| (*v, (*n).to_owned())).collect();
    assert_eq!(applied_migrations(db), want);
}

fn applied_migrations(db: &mut Db) -> Vec<(i64, String)> {
    let sql = "SELECT version, name FROM schema_migrations ORDER BY version";
    match db {
        Db::Sqlite { store, .. } => {
            let conn = store.connection();
            let mut stmt = conn.prepare(sql).expect("prepares");
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .expect("queries")
                .collect::<Result<_, _>>()
                .expect("rows")
        }
        Db::Postgres { store, .. } => {
            store.client().query(sql, &[]).expect("queries").iter().map(|r| (r.get(0), r.get(1))).collect()
        }
    }
}

fn concurrent_appenders_keep_one_chain(db: &mut Db) {
    const BATCHES: usize = 40;
    let writers: Vec<Box<dyn Store + Send>> = vec![db.reopen(), db.reopen()];
    let results: Vec<Appended> = std::thread::scope(|scope| {
        let handles: Vec<_> = writers
            .into_iter()
            .enumerate()
            .map(|(w, mut store)| {
                scope.spawn(move || {
                    let mut total = Appended::default();
                    for i in 0..BATCHES {
                        // Two events of this writer's own and one both writers append.
                        let batch = [
                            ev(&format!("w{w}-{i}-a"), "w", json!({"w": w, "i": i}), Some(1)),
                            ev(&format!("w{w}-{i}-b"), "w", json!({"w": w, "i": i}), None),
                            ev(&format!("shared-{i}"), "shared", json!({"i": i}), Some(2)),
                        ];
                        let a = store.append(&batch, t(i32::try_from(i).expect("small"))).expect("appends");
                        total.new += a.new;
                        total.existing += a.existing;
                    }
                    total
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("the writer finished")).collect()
    });
    let new: usize = results.iter().map(|a| a.new).sum();
    let existing: usize = results.iter().map(|a| a.existing).sum();
    assert_eq!((new, existing), (5 * BATCHES, BATCHES), "each shared event written once");

    let events = db.events();
    assert_eq!(events.len(), 5 * BATCHES);
    assert_chain(&events);
    let unique: BTreeSet<&str> = ids(&events).into_iter().collect();
    assert_eq!(unique.len(), events.len(), "no event twice");
    // A batch is one transaction: a writer's two events sit next to each other.
    let seq: BTreeMap<&str, i64> = events.iter().map(|e| (e.event.id.as_str(), e.seq)).collect();
    for w in 0..2 {
        for i in 0..BATCHES {
            assert_eq!(seq[format!("w{w}-{i}-b").as_str()], seq[format!("w{w}-{i}-a").as_str()] + 1);
        }
    }
}

/// Issue 15, item 13: a second operator re-recording what the first recorded (the same `apply`,
/// `import` or `run`) is a no-op, not "already exists with a different actor"; the first writer
/// stays recorded. Other content under the same id is still refused, whoever writes it.
fn the_same_fact_by_another_actor_is_a_no_op_that_keeps_the_first_writer(db: &mut Db) {
    let s = db.store();
    let batch = [ev("a", "g", json!({"n": 1}), Some(7)), ev("b", "g", json!({"n": 2}), None)];
    s.append(&batch, t(1)).expect("appends");
    let before = s.events().expect("reads");
    let by_bob: Vec<NewEvent> = batch
        .iter()
        .map(|e| NewEvent { actor: "user:bob".into(), ..e.clone() })
        .chain([NewEvent { actor: "user:bob".into(), ..ev("c", "g", json!({"n": 3}), None) }])
        .collect();
    assert_eq!(s.append(&by_bob, t(2)).expect("bob re-records"), Appended { new: 1, existing: 2 });
    let after = s.events().expect("reads");
    assert_eq!(after[..2], before[..], "the first writer's events, unchanged");
    let actors: Vec<&str> = after.iter().map(|e| e.event.actor.as_str()).collect();
    assert_eq!(actors, ["user:test", "user:test", "user:bob"], "each event keeps who first recorded it");
    assert_chain(&after);

    // Bob changing a recorded fact under its id is a conflict naming the field, as for anyone.
    let changed = NewEvent { actor: "user:bob".into(), ..ev("a", "g", json!({"n": 1}), Some(8)) };
    let (id, field, _) = conflict(s.append(&[changed], t(3)));
    assert_eq!((id.as_str(), field), ("a", "amount"));
    assert_eq!(s.events().expect("reads"), after, "nothing written");
}

/// What a guard refuses is never written, and the caller gets the guard's own reason; what the
/// guard reads is the ledger as it stands.
fn a_refused_guarded_write_writes_nothing_and_says_why(db: &mut Db) {
    let s = db.store();
    s.append(&[ev("a", "g", json!({}), Some(7))], t(1)).expect("appends");
    let before = s.events().expect("reads");
    let refused = tokencomp_store::append_checked(s, t(2), |ledger| {
        let head = ledger.head().map_err(|e| e.to_string())?;
        let events = ledger.events().map_err(|e| e.to_string())?;
        assert_eq!(head, Some((1, before[0].hash.clone())));
        assert_eq!(events, before);
        Err::<Vec<NewEvent>, _>(format!("{} events: no room", events.len()))
    });
    match refused {
        Err(tokencomp_store::Checked::Refused(why)) => assert_eq!(why, "1 events: no room"),
        other => panic!("expected the guard's refusal, got {other:?}"),
    }
    assert_eq!(s.events().expect("reads"), before, "nothing written");
    let a = tokencomp_store::append_checked(s, t(3), |_| Ok::<_, String>(vec![ev("b", "g", json!({}), None)]))
        .expect("a passing guard appends");
    assert_eq!(a, Appended { new: 1, existing: 0 });
    assert_chain(&s.events().expect("reads"));
}

/// Issue 15, item 14 at the store: two writers, each on its own connection, race a guarded
/// append of 60 into a pool of 100 (the guard sums what the ledger holds), 100 times; exactly one
/// wins each round and the pool is never overdrawn. Checked before the lock (as the commands did),
/// both would pass.
fn guarded_writers_racing_never_overdraw_a_pool(db: &mut Db) {
    const ROUNDS: usize = 100;
    const POOL: u128 = 100;
    let writers: Vec<Box<dyn Store + Send>> = vec![db.reopen(), db.reopen()];
    let barrier = std::sync::Barrier::new(2);
    let won: Vec<usize> = std::thread::scope(|scope| {
        let handles: Vec<_> = writers
            .into_iter()
            .enumerate()
            .map(|(w, mut store)| {
                let barrier = &barrier;
                scope.spawn(move || {
                    let mut wins = 0;
                    for round in 0..ROUNDS {
                        barrier.wait();
                        let grant = ev(&format!("r{round}-w{w}"), &format!("round-{round}"), json!({}), Some(60));
                        let r = tokencomp_store::append_checked(&mut *store, t(0), |ledger| {
                            let events = ledger.events().map_err(|e| e.to_string())?;
                            let spent: u128 = events
                                .iter()
                                .filter(|e| e.event.subject == format!("round-{round}"))
                                .filter_map(|e| e.event.amount.map(|a| a.base_units()))
                                .sum();
                            if spent + 60 > POOL {
                                return Err(format!("only {} left", POOL - spent));
                            }
                            Ok(vec![grant])
                        });
                        match r {
                            Ok(a) => wins += a.new,
                            Err(tokencomp_store::Checked::Refused(why)) => assert_eq!(why, "only 40 left"),
                            Err(e) => panic!("round {round}: {e}"),
                        }
                    }
                    wins
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("the writer finished")).collect()
    });
    assert_eq!(won.iter().sum::<usize>(), ROUNDS, "one grant per round: {won:?}");
    let events = db.events();
    assert_eq!(events.len(), ROUNDS);
    for round in 0..ROUNDS {
        let spent: u128 = events
            .iter()
            .filter(|e| e.event.subject == format!("round-{round}"))
            .filter_map(|e| e.event.amount.map(|a| a.base_units()))
            .sum();
        assert_eq!(spent, 60, "round {round}");
    }
    assert_chain(&events);
}

// ---------------------------------------------------------------------------------------------
// The sample company on both backends

/// What `tokencomp init` records for the sample company, then every period run through its demo
/// date, appended batch by batch; returns the ledger and the company folded from it.
fn load_sample_company(db: &mut Db) -> (Vec<StoredEvent>, Company) {
    let file = parse_company("examples/company.toml", include_str!("../../../examples/company.toml"))
        .expect("the sample company parses");
    let token = &file.token.token;
    let mut facts = vec![Fact::Company(file.company.clone()), Fact::Token(file.token.clone())];
    facts.extend(file.people.iter().cloned().map(Fact::Person));
    facts.extend(file.prices.iter().cloned().map(Fact::Price));
    for terms in &file.grants {
        let g = &terms.grant;
        let mut bare = terms.clone();
        bare.grant.events.clear();
        facts.push(Fact::GrantIssued {
            grant: g.id.clone(),
            holder: g.holder.clone(),
            terms: write_terms(&bare, token),
        });
        for e in &g.events {
            facts.push(Fact::GrantEvent { grant: g.id.clone(), event_id: e.id.clone(), event: write_event(e, token) });
        }
    }
    let events: Vec<NewEvent> = facts.iter().map(|f| f.to_event("system")).collect();
    let s = db.store();
    s.append(&events, t(0)).expect("records the company");

    let through = file.company.demo_through.expect("the sample company has a demo date");
    let company = Company::fold(&s.events().expect("reads")).expect("folds");
    let tz = &company.company.time_zone;
    let timelines: BTreeMap<String, tokencomp_core::Timeline> = company
        .grants
        .iter()
        .map(|(id, g)| (id.clone(), g.terms.grant.timeline(tz, Some(through)).expect("a timeline")))
        .collect();
    let batches = tokencomp_store::run::plan(&company, &timelines, through);
    assert!(batches.len() > 12, "a run over the company's history");
    for (i, b) in batches.iter().enumerate() {
        let events: Vec<NewEvent> = b.facts.iter().map(|f| f.to_event("system")).collect();
        let a = s.append(&events, t(i32::try_from(i).expect("small") + 1)).expect("records the period");
        assert_eq!(a.existing, 0, "period {}", b.period.id);
    }
    let events = s.events().expect("reads");
    assert_chain(&events);
    let company = Company::fold(&events).expect("folds");
    assert_eq!(company.grants.len(), file.grants.len());
    assert_eq!(company.people.len(), file.people.len());
    (events, company)
}

#[test]
fn the_sample_company_folds_the_same_on_both_backends() {
    let (sqlite_events, sqlite) = load_sample_company(&mut Db::sqlite());
    let (postgres_events, postgres) = load_sample_company(&mut Db::postgres());
    assert_eq!(canonical_dump(&sqlite_events), canonical_dump(&postgres_events));
    assert!(!sqlite.recognized.is_empty(), "the run recognized vests");
    assert_eq!(sqlite.recognized, postgres.recognized);
    assert_eq!(sqlite.forfeits_recognized, postgres.forfeits_recognized);
    assert_eq!(sqlite.periods_run, postgres.periods_run);
    assert_eq!(sqlite.people, postgres.people);
    assert_eq!(sqlite.prices, postgres.prices);
    assert_eq!(sqlite.grants.keys().collect::<Vec<_>>(), postgres.grants.keys().collect::<Vec<_>>());
    for (id, g) in &sqlite.grants {
        let p = &postgres.grants[id];
        assert_eq!((&g.terms_toml, &g.events, g.issued_seq), (&p.terms_toml, &p.events, p.issued_seq), "{id}");
    }
}

// ---------------------------------------------------------------------------------------------
// The two schemas agree

/// Per table: its columns (name, nullable, normalized type), and its indexes (explicit ones by
/// name; unique ones, however declared, as `unique(columns)`).
#[derive(Debug, PartialEq, Eq)]
struct Table {
    columns: Vec<(String, bool, String)>,
    indexes: BTreeSet<String>,
}

/// `integer`/`bigint` → int, `text` → text, an amount column (SQLite: TEXT with the digits-only
/// CHECK; PostgreSQL: NUMERIC(39,0)) → amount.
fn normalize(ty: &str) -> String {
    match ty.to_ascii_lowercase().as_str() {
        "integer" | "bigint" => "int".into(),
        "text" => "text".into(),
        "numeric(39,0)" => "amount".into(),
        other => other.into(),
    }
}

fn sqlite_schema(conn: &rusqlite::Connection) -> BTreeMap<String, Table> {
    let mut out = BTreeMap::new();
    let tables: Vec<(String, String)> = conn
        .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .expect("prepares")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("queries")
        .collect::<Result<_, _>>()
        .expect("rows");
    for (table, create) in tables {
        let mut columns = Vec::new();
        let mut pk = Vec::new();
        let mut stmt =
            conn.prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid").expect("pragma");
        let rows: Vec<(String, String, bool, i64)> = stmt
            .query_map([&table], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .expect("queries")
            .collect::<Result<_, _>>()
            .expect("rows");
        for (name, ty, notnull, key) in rows {
            // The column's own line of the CREATE TABLE statement.
            let definition = create.lines().map(str::trim).find(|l| l.split_whitespace().next() == Some(&name));
            let digits_only = definition.is_some_and(|d| d.contains("NOT GLOB '*[^0-9]*'"));
            let ty = if ty.eq_ignore_ascii_case("text") && digits_only { "amount".into() } else { normalize(&ty) };
            // An INTEGER PRIMARY KEY is the rowid: never NULL, though the pragma says nullable.
            columns.push((name.clone(), !notnull && key == 0, ty));
            if key > 0 {
                pk.push(name);
            }
        }
        let mut indexes = BTreeSet::new();
        if !pk.is_empty() {
            indexes.insert(format!("unique({})", pk.join(",")));
        }
        let list: Vec<(String, bool)> = conn
            .prepare("SELECT name, \"unique\" FROM pragma_index_list(?1)")
            .expect("pragma")
            .query_map([&table], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("queries")
            .collect::<Result<_, _>>()
            .expect("rows");
        for (name, unique) in list {
            let cols: Vec<String> = conn
                .prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
                .expect("pragma")
                .query_map([&name], |r| r.get(0))
                .expect("queries")
                .collect::<Result<_, _>>()
                .expect("rows");
            indexes.insert(if unique {
                format!("unique({})", cols.join(","))
            } else {
                format!("{name}({})", cols.join(","))
            });
        }
        out.insert(table, Table { columns, indexes });
    }
    out
}

fn postgres_schema(client: &mut ::postgres::Client) -> BTreeMap<String, Table> {
    let mut out = BTreeMap::new();
    let tables = client
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
            &[],
        )
        .expect("queries");
    for row in tables {
        let table: String = row.get(0);
        let columns = client
            .query(
                "SELECT column_name::text, is_nullable::text, data_type::text, numeric_precision::int, \
                        numeric_scale::int \
                 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 \
                 ORDER BY ordinal_position",
                &[&table],
            )
            .expect("queries")
            .iter()
            .map(|r| {
                let (ty, precision, scale): (String, Option<i32>, Option<i32>) = (r.get(2), r.get(3), r.get(4));
                let ty = match (ty.as_str(), precision, scale) {
                    ("numeric", Some(p), Some(s)) => format!("numeric({p},{s})"),
                    _ => ty,
                };
                (r.get(0), r.get::<_, String>(1) == "YES", normalize(&ty))
            })
            .collect();
        let indexes = client
            .query(
                "SELECT i.relname::text, x.indisunique, \
                        array_agg(a.attname::text ORDER BY k.ord) \
                 FROM pg_index x \
                 JOIN pg_class i ON i.oid = x.indexrelid \
                 JOIN pg_class t ON t.oid = x.indrelid \
                 CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
                 WHERE t.relname = $1 \
                   AND t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) \
                 GROUP BY i.relname, x.indisunique",
                &[&table],
            )
            .expect("queries")
            .iter()
            .map(|r| {
                let (name, unique, cols): (String, bool, Vec<String>) = (r.get(0), r.get(1), r.get(2));
                if unique { format!("unique({})", cols.join(",")) } else { format!("{name}({})", cols.join(",")) }
            })
            .collect();
        out.insert(table, Table { columns, indexes });
    }
    out
}

#[test]
fn the_two_schemas_agree() {
    let mut sqlite = Db::sqlite();
    let mut pg = Db::postgres();
    let (Db::Sqlite { store: s, .. }, Db::Postgres { store: p, .. }) = (&mut sqlite, &mut pg) else { unreachable!() };
    let lite = sqlite_schema(s.connection());
    let post = postgres_schema(p.client());
    // Sessions (issue 18, item 4), the notices' tables (item 5) and the wallet proofs' nonces
    // (item 3) sit beside the ledger, outside its hash chain.
    assert_eq!(
        lite.keys().collect::<Vec<_>>(),
        [
            "auth_counts",
            "auth_log",
            "auth_sessions",
            "events",
            "notice_attempts",
            "notice_outbox",
            "notice_prefs",
            "schema_migrations",
            "wallet_nonces"
        ]
    );
    assert_eq!(
        lite["wallet_nonces"].columns,
        [
            ("nonce".into(), false, "text".into()),
            ("person".into(), false, "text".into()),
            ("expires_at".into(), false, "int".into())
        ]
    );
    let events = &lite["events"];
    assert!(events.columns.contains(&("amount".into(), true, "amount".into())), "{events:?}");
    assert!(events.columns.contains(&("seq".into(), false, "int".into())), "{events:?}");
    assert!(events.indexes.contains("unique(event_id)") && events.indexes.contains("events_subject(subject,seq)"));
    assert_eq!(lite, post);
    assert_eq!(applied_migrations(&mut sqlite), applied_migrations(&mut pg));
}

#[test]
fn both_backends_have_the_same_numbered_migrations() {
    let list = |m: &[(i64, &str, &str)]| m.iter().map(|(v, n, _)| (*v, (*n).to_owned())).collect::<Vec<_>>();
    let sqlite = list(SQLITE_MIGRATIONS);
    assert_eq!(sqlite, list(POSTGRES_MIGRATIONS), "the same versions and names, in the same order");
    let versions: Vec<i64> = sqlite.iter().map(|m| m.0).collect();
    let expected: Vec<i64> = (1..=i64::try_from(versions.len()).expect("small")).collect();
    assert_eq!(versions, expected, "numbered from 1 without gaps");

    // Every file is listed, under its number and name, with its text.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for (backend, migrations) in [("sqlite", SQLITE_MIGRATIONS), ("postgres", POSTGRES_MIGRATIONS)] {
        let mut files: Vec<String> = std::fs::read_dir(root.join(backend))
            .expect("the migrations folder")
            .map(|e| e.expect("an entry").file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let listed: Vec<String> = migrations.iter().map(|(v, n, _)| format!("{v:04}_{n}.sql")).collect();
        assert_eq!(files, listed, "{backend}");
        for (file, (_, _, sql)) in files.iter().zip(migrations) {
            let text = std::fs::read_to_string(root.join(backend).join(file)).expect("readable");
            assert_eq!(&text, sql, "{backend}/{file}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The compliance inputs: policy, salaries, wallets, volumes, FX rates, sales, closed payrolls

fn dec(s: &str) -> Decimal {
    Decimal::from_str_exact(s).expect("a decimal")
}

fn settings(policy: Policy) -> CompanySettings {
    CompanySettings {
        name: "Policy Co".into(),
        time_zone: jiff::tz::TimeZone::UTC,
        time_zone_name: "UTC".into(),
        pay_frequency: PayFrequency::Monthly,
        demo_through: None,
        policy,
    }
}

fn token_settings() -> TokenSettings {
    TokenSettings { token: Token::new("NET", 18).expect("token"), chain_id: None, address: None }
}

fn someone(id: &str, salary: Option<&str>, wallet: Option<&str>) -> Person {
    Person {
        id: id.into(),
        name: format!("Person {id}"),
        email: None,
        kind: PersonKind::Employee,
        country: Some("DE".into()),
        region: None,
        hired: None,
        salary: salary.map(dec),
        wallet: wallet.map(str::to_owned),
        tax: Default::default(),
    }
}

/// Every policy key away from its default.
fn full_policy() -> Policy {
    Policy {
        withholding: WithholdingMethod::NetSettlement,
        sale_fee_bps: 10,
        slippage_bps: 30,
        fmv: FmvSource::Vwap(5),
        attribution: AttributionPolicy::Graded,
        classification: ClassificationPolicy::Liability,
        flat_rules: vec![
            FlatRuleInput { country: "DE".into(), employee_bps: 4200, employer_bps: 0 },
            FlatRuleInput { country: "FR".into(), employee_bps: 3000, employer_bps: 450 },
        ],
        wallet_change_delay_hours: Some(12),
        require_proven_wallets: true,
    }
}

fn sale(id: &str, selection: &str, amount: u128, lots: &[(&str, u128)]) -> SaleRecord {
    SaleRecord {
        id: id.into(),
        person: "ada".into(),
        wallet: "ada-main".into(),
        date: date(2026, 10, 15),
        amount: TokenAmount::from_base_units(amount),
        price: dec("1.2345"),
        fee: dec("0.50"),
        selection: selection.into(),
        lots: lots.iter().map(|(l, a)| ((*l).to_owned(), TokenAmount::from_base_units(*a))).collect(),
    }
}

fn sale_fact(r: &SaleRecord) -> Fact {
    Fact::Sale {
        id: r.id.clone(),
        person: r.person.clone(),
        wallet: r.wallet.clone(),
        date: r.date,
        amount: r.amount,
        price: r.price,
        fee: r.fee,
        selection: r.selection.clone(),
        lots: r.lots.clone(),
    }
}

fn recorded_rules_and_run_hashes_fold_back_in_ledger_order(db: &mut Db) {
    let text = "[us.2026.state.CA]\nrate = \"11%\"\nsource = \"notice\"\n";
    let sha = tokencomp_store::sha256_hex(text);
    let rules = |suffix: &str| Fact::RulesAdded {
        name: "ca-fix.toml".into(),
        text: text.into(),
        sha256: sha.clone(),
        at: "2027-01-05T09:00:00Z".into(),
        id_suffix: suffix.into(),
    };
    let run = |period: &str, hash: Option<&str>| Fact::PeriodRun {
        period: period.into(),
        start: date(2026, 10, 1),
        end: date(2026, 10, 31),
        vests: 0,
        forfeitures: 0,
        rules: hash.map(str::to_owned),
    };
    let facts = [
        Fact::Company(settings(full_policy())),
        Fact::Token(token_settings()),
        run("2026-09", None),
        rules(""),
        run("2026-10", Some("ab12")),
        rules(":5"),
    ];
    let events: Vec<NewEvent> = facts.iter().map(|f| f.to_event("user:cfo")).collect();
    assert_eq!((events[3].id.clone(), events[3].kind.as_str()), (format!("rules:{sha}"), "rules.added"));
    assert_eq!(events[5].id, format!("rules:{sha}:5"));
    assert!(!events[2].payload.contains("rules"), "a run without a hash is written as before");
    let s = db.store();
    assert_eq!(s.append(&events, t(1)).expect("appends").new, facts.len());
    let stored = s.events().expect("reads");
    let c = Company::fold(&stored).expect("folds");
    assert_eq!(c.rules.len(), 2);
    assert_eq!((c.rules[0].seq, c.rules[1].seq), (stored[3].seq, stored[5].seq));
    assert_eq!((c.rules[0].actor.as_str(), c.rules[0].name.as_str()), ("user:cfo", "ca-fix.toml"));
    assert_eq!((c.rules[0].text.as_str(), c.rules[0].at.as_str()), (text, "2027-01-05T09:00:00Z"));
    assert_eq!(c.period_rules.get("2026-10").map(String::as_str), Some("ab12"));
    assert!(!c.period_rules.contains_key("2026-09") && c.periods_run.contains("2026-09"));
}

fn the_compliance_facts_fold_back_as_recorded(db: &mut Db) {
    let usd: Currency = Currency::USD;
    let with_volume =
        Price { date: date(2026, 10, 1), close: dec("1.25"), currency: usd, volume: Some(dec("1250000.5")) };
    let without = Price { date: date(2026, 10, 2), close: dec("1.30"), currency: usd, volume: None };
    let gbp = FxRate { date: date(2026, 10, 1), currency: Currency::GBP, per_usd: dec("0.7900") };
    let eur = FxRate { date: date(2026, 10, 1), currency: Currency::EUR, per_usd: dec("0.921234") };
    // Recorded out of id order: the fold keeps sales in ledger order.
    let sales = [
        sale("s-2", "specific", u128::MAX, &[("vest-1", u128::MAX - 7), ("vest-2", 7)]),
        sale("s-1", "fifo", 10u128.pow(18), &[]),
    ];
    let rows = "person,gross\nada,\"1,234.56\"\nzoë,0\n";
    let facts = vec![
        Fact::Company(settings(full_policy())),
        Fact::Token(token_settings()),
        Fact::Person(someone("ada", Some("185000.50"), Some("ada-main"))),
        Fact::Person(someone("ben", None, None)),
        Fact::Price(with_volume.clone()),
        Fact::Price(without.clone()),
        Fact::FxRate(gbp),
        Fact::FxRate(eur),
        sale_fact(&sales[0]),
        sale_fact(&sales[1]),
        Fact::PayrollClosed { period: "2026-10".into(), rows: rows.into(), digest: "sha256:abc".into(), anchor: None },
    ];
    let events: Vec<NewEvent> = facts.iter().map(|f| f.to_event("system")).collect();
    let id_list: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        id_list[6..],
        ["fx:GBP:2026-10-01", "fx:EUR:2026-10-01", "sale:s-2", "sale:s-1", "payroll:2026-10:closed"]
    );
    assert_eq!((events[8].kind.as_str(), events[8].amount), ("sale", Some(TokenAmount::from_base_units(u128::MAX))));
    assert_eq!(events[10].kind.as_str(), "payroll.closed");
    let s = db.store();
    assert_eq!(s.append(&events, t(1)).expect("appends").new, facts.len());
    // Recording the same facts again is a no-op.
    assert_eq!(s.append(&events, t(2)).expect("re-appends"), Appended { new: 0, existing: facts.len() });

    let c = Company::fold(&s.events().expect("reads")).expect("folds");
    assert_eq!(c.company, settings(full_policy()));
    assert_eq!(c.people["ada"], someone("ada", Some("185000.50"), Some("ada-main")));
    assert_eq!(c.people["ada"].salary.map(|d| d.to_string()).as_deref(), Some("185000.50"));
    assert_eq!(c.people["ben"], someone("ben", None, None));
    assert_eq!(c.prices_vec(), vec![with_volume, without]);
    assert_eq!(c.volumes.len(), 1);
    assert_eq!(c.fx_vec(), vec![eur, gbp], "in (currency, date) order");
    assert_eq!(c.fx[&(Currency::GBP, date(2026, 10, 1))].to_string(), "0.7900");
    assert_eq!(c.sales, sales);
    assert_eq!(c.payroll_closed["2026-10"], (rows.to_owned(), "sha256:abc".to_owned()));
}

fn an_fx_or_volume_conflict_names_the_field(db: &mut Db) {
    let rate = |r: &str| {
        Fact::FxRate(FxRate { date: date(2026, 10, 1), currency: Currency::GBP, per_usd: dec(r) }).to_event("system")
    };
    let s = db.store();
    s.append(&[rate("0.79"), price(1, "1.25")], t(1)).expect("appends");
    let before = s.events().expect("reads");
    assert_eq!(s.append(&[rate("0.79")], t(2)).expect("the same rate").existing, 1);

    let (id, field, message) = conflict(s.append(&[rate("0.80")], t(3)));
    assert_eq!((id.as_str(), field), ("fx:GBP:2026-10-01", "per_usd"));
    assert!(message.contains("0.79") && message.contains("0.80"), "{message}");
    // Trailing zeros are part of what was recorded: 0.790 is another rate text.
    assert_eq!(conflict(s.append(&[rate("0.790")], t(3))).1, "per_usd");

    // A volume for a day recorded without one contradicts the record too.
    let with_volume = Fact::Price(Price {
        date: date(2026, 10, 1),
        close: dec("1.25"),
        currency: Currency::USD,
        volume: Some(dec("1000")),
    })
    .to_event("oracle:test");
    let (id, field, _) = conflict(s.append(&[with_volume], t(4)));
    assert_eq!((id.as_str(), field), ("price:USD:2026-10-01", "volume"));
    assert_eq!(s.events().expect("reads"), before, "nothing written");
}

/// 2^256 − 1, the largest cumulative a pair's counter holds.
const U256_MAX: &str = "115792089237316195423570985008687907853269984665640564039457584007913129639935";

fn twap_point(at: i64, cumulative: &str, block: u64) -> TwapPoint {
    TwapPoint {
        pair: "0x00000000000000000000000000000000000000aa".into(),
        at,
        cumulative: cumulative.parse().expect("a cumulative"),
        decimals: (18, 6),
        block,
    }
}

fn twap_points_fold_back_and_a_different_point_conflicts(db: &mut Db) {
    let policy = Policy { fmv: FmvSource::Twap(7), ..Policy::default() };
    let (d1, d2) = (date(2026, 10, 1), date(2026, 10, 2));
    // 2026-10-02T00:00:00Z and a day later; the second cumulative has wrapped past 2^256.
    let (p1, p2) = (twap_point(1_790_899_200, U256_MAX, u64::MAX), twap_point(1_790_985_600, "12345", 24_000_000));
    let facts = [
        Fact::Company(settings(policy.clone())),
        Fact::Token(token_settings()),
        Fact::TwapPoint { date: d1, point: p1.clone() },
        Fact::TwapPoint { date: d2, point: p2.clone() },
    ];
    let events: Vec<NewEvent> = facts.iter().map(|f| f.to_event("oracle:chain")).collect();
    let e = &events[2];
    assert_eq!(
        (e.id.as_str(), e.kind.as_str(), e.subject.as_str(), e.amount),
        ("twap:2026-10-01", "twap", "twap:2026-10-01", None)
    );
    let payload: Value = serde_json::from_str(&e.payload).expect("JSON");
    assert_eq!(
        payload,
        json!({"date": "2026-10-01", "pair": "0x00000000000000000000000000000000000000aa", "at": 1_790_899_200,
               "cumulative": U256_MAX, "token_decimals": 18, "quote_decimals": 6, "block": u64::MAX})
    );
    let s = db.store();
    assert_eq!(s.append(&events, t(1)).expect("appends").new, 4);
    let c = Company::fold(&s.events().expect("reads")).expect("folds");
    assert_eq!(c.twap, BTreeMap::from([(d1, p1.clone()), (d2, p2.clone())]));
    assert_eq!((c.company.policy.fmv, c.company.policy), (FmvSource::Twap(7), policy));

    // Recording the same point again is a no-op.
    let again = Fact::TwapPoint { date: d1, point: p1.clone() }.to_event("oracle:chain");
    assert_eq!(s.append(&[again], t(2)).expect("re-appends"), Appended { new: 0, existing: 1 });
    // Another point for a recorded day contradicts the record, whichever field differs.
    let before = s.events().expect("reads");
    for (point, field) in [
        (TwapPoint { cumulative: "0".parse().expect("0"), ..p1.clone() }, "cumulative"),
        (TwapPoint { block: 1, ..p1.clone() }, "block"),
        (TwapPoint { at: p1.at + 3600, ..p1.clone() }, "at"),
        (TwapPoint { pair: "0x00000000000000000000000000000000000000bb".into(), ..p1.clone() }, "pair"),
        (TwapPoint { decimals: (18, 18), ..p1.clone() }, "quote_decimals"),
    ] {
        let fact = Fact::TwapPoint { date: d1, point };
        let (id, got, message) = conflict(s.append(&[fact.to_event("oracle:chain")], t(3)));
        assert_eq!((id.as_str(), got), ("twap:2026-10-01", field), "{message}");
    }
    assert_eq!(s.events().expect("reads"), before, "nothing written");
}

/// A stored event as an older version of the ledger wrote it.
fn stored(seq: i64, id: &str, kind: &str, payload: Value, amount: Option<u128>) -> StoredEvent {
    StoredEvent {
        seq,
        event: NewEvent {
            id: id.into(),
            kind: EventKind::parse(kind).expect("a kind"),
            subject: kind.into(),
            payload: payload.to_string(),
            amount: amount.map(TokenAmount::from_base_units),
            actor: "system".into(),
        },
        recorded_at: t(0),
        prev_hash: String::new(),
        hash: String::new(),
    }
}

#[test]
fn an_old_ledger_without_the_new_keys_folds_to_the_defaults() {
    // The payloads exactly as the ledger wrote them before policies, salaries and volumes.
    let company = json!({"name": "Policy Co", "time_zone": "UTC", "pay_frequency": "monthly", "demo_through": null});
    let person = json!({"id": "ben", "name": "Person ben", "email": null, "kind": "employee", "country": "DE",
                        "region": null, "hired": null});
    let close = json!({"date": "2026-10-01", "close": "1.25", "currency": "USD"});
    let events = [
        stored(1, "company:x", "company", company.clone(), None),
        stored(
            2,
            "token:x",
            "token",
            json!({"symbol": "NET", "decimals": 18, "chain_id": null, "address": null}),
            None,
        ),
        stored(3, "person:ben:x", "person", person.clone(), None),
        stored(4, "price:USD:2026-10-01", "price", close.clone(), None),
    ];
    let c = Company::fold(&events).expect("an old ledger folds");
    assert_eq!(c.company.policy, Policy::default());
    assert_eq!(c.company.policy.withholding, WithholdingMethod::SellToCover);
    assert_eq!(c.company.policy.fmv, FmvSource::Close);
    assert_eq!(c.people["ben"], someone("ben", None, None));
    assert!(c.volumes.is_empty() && c.fx.is_empty() && c.sales.is_empty() && c.payroll_closed.is_empty());
    assert!(c.twap.is_empty());

    // Today's events for the same facts are the old ones, byte for byte: re-applying an unchanged
    // company file to an old ledger records nothing and conflicts with nothing.
    let now = |f: Fact| f.to_event("system").payload;
    assert_eq!(now(Fact::Company(settings(Policy::default()))), company.to_string());
    assert_eq!(now(Fact::Person(someone("ben", None, None))), person.to_string());
    let p = Price { date: date(2026, 10, 1), close: dec("1.25"), currency: Currency::USD, volume: None };
    assert_eq!(now(Fact::Price(p)), close.to_string());
}

#[test]
fn unreadable_compliance_payloads_are_named() {
    let base = || {
        vec![
            stored(
                1,
                "company:x",
                "company",
                json!({"name": "X", "time_zone": "UTC", "pay_frequency": "monthly"}),
                None,
            ),
            stored(2, "token:x", "token", json!({"symbol": "NET", "decimals": 18}), None),
        ]
    };
    let cases = [
        (
            stored(
                3,
                "company:y",
                "company",
                json!({"name": "X", "time_zone": "UTC", "pay_frequency": "monthly", "fmv": "vwap"}),
                None,
            ),
            "fmv_days",
        ),
        (
            stored(
                3,
                "company:y",
                "company",
                json!({"name": "X", "time_zone": "UTC", "pay_frequency": "monthly", "attribution": "front"}),
                None,
            ),
            "attribution",
        ),
        (
            stored(
                3,
                "fx:GBP:2026-10-01",
                "fx",
                json!({"date": "2026-10-01", "currency": "GBP", "per_usd": "0"}),
                None,
            ),
            "per_usd",
        ),
        (
            stored(
                3,
                "sale:s",
                "sale",
                json!({"id": "s", "person": "a", "wallet": "w", "date": "2026-10-01", "price": "1", "fee": "0",
                       "selection": "lofo", "lots": []}),
                Some(1),
            ),
            "lofo",
        ),
        (
            stored(
                3,
                "sale:s",
                "sale",
                json!({"id": "s", "person": "a", "wallet": "w", "date": "2026-10-01", "price": "1", "fee": "-1",
                       "selection": "fifo", "lots": []}),
                Some(1),
            ),
            "fee",
        ),
    ];
    // A TWAP point with one field spoiled at a time.
    let twap = |key: &str, value: Value| {
        let mut p = json!({"date": "2026-10-01", "pair": "0x00000000000000000000000000000000000000aa", "at": 1,
                           "cumulative": "1", "token_decimals": 18, "quote_decimals": 6, "block": 1});
        p[key] = value;
        stored(3, "twap:2026-10-01", "twap", p, None)
    };
    let good = Company::fold(&[base(), vec![twap("block", json!(2))]].concat()).expect("a good point folds");
    assert_eq!(good.twap[&date(2026, 10, 1)].block, 2);
    let over = format!("{U256_MAX}0"); // 10 × (2^256 − 1)
    let twap_cases = [
        (twap("pair", json!("0x00000000000000000000000000000000000000AA")), "lowercase hex"),
        (twap("pair", json!("0xaa")), "lowercase hex"),
        (twap("cumulative", json!(over)), "below 2^256"),
        (twap("cumulative", json!("0x10")), "below 2^256"),
        (twap("cumulative", json!("-1")), "below 2^256"),
        (twap("cumulative", json!("")), "below 2^256"),
        (twap("cumulative", json!(1)), "cumulative"),
        (twap("token_decimals", json!(37)), "at most 36"),
        (twap("quote_decimals", json!(256)), "quote_decimals"),
        (twap("at", json!("1")), "`at`"),
        (twap("at", json!(1.5)), "`at`"),
        (twap("block", json!(-1)), "`block`"),
        (twap("date", json!("2026-13-01")), "`date`"),
    ];
    for (event, named) in twap_cases {
        let err = Company::fold(&[base(), vec![event]].concat()).expect_err("refused").to_string();
        assert!(err.contains(named) && err.contains("event 3"), "{named}: {err}");
    }
    for (event, named) in cases {
        let mut events = base();
        events.push(event);
        let err = Company::fold(&events).expect_err("refused").to_string();
        assert!(err.contains(named) && err.contains("event 3"), "{named}: {err}");
    }
}

/// 1,300 events (more than two chunks of 512): event `i` by actor `u{i % 6}`, a vest when
/// `i % 3 == 0` (else a grant), about `grant:g-{i % 7}`, appended ten to a batch, the batch of
/// `i` recorded `10 × (i / 10)` seconds after 2026-11-01T00:00:00Z.
fn scan_ledger(s: &mut dyn Store) -> Vec<StoredEvent> {
    for batch in 0..130u32 {
        let events: Vec<NewEvent> = (batch * 10..batch * 10 + 10)
            .map(|i| {
                let mut e = ev(&format!("s{i}"), &format!("grant:g-{}", i % 7), json!({"i": i}), Some(u128::from(i)));
                e.actor = format!("user:u{}", i % 6);
                if i % 3 == 0 {
                    e.kind = EventKind::Vest;
                }
                e
            })
            .collect();
        let at = Timestamp::new(1_793_491_200 + 10 * i64::from(batch), 0).expect("instant");
        s.append(&events, at).expect("appends");
    }
    s.events().expect("reads")
}

/// Audit view (issue 18, item 6): each filter alone and combined, newest first, across chunk
/// boundaries, against a plain filter over every event (text comparisons, no `EventFilter`).
fn a_scan_selects_newest_first_a_chunk_at_a_time_as_a_plain_filter_would(db: &mut Db) {
    use tokencomp_store::scan::{EventFilter, Start, scan};
    let s = db.store();
    let all = scan_ledger(s);
    let second = |n: i64| Timestamp::new(1_793_491_200 + n, 0).expect("instant");
    let filters = [
        (EventFilter::default(), None),
        (EventFilter { actor: Some("user:u2".into()), ..EventFilter::default() }, None),
        (EventFilter { kind: Some(EventKind::Vest), ..EventFilter::default() }, None),
        (EventFilter { subject: Some(Subject::Grant("g-3".into())), ..EventFilter::default() }, None),
        (EventFilter { from: Some(second(100)), before: Some(second(900)), ..EventFilter::default() }, None),
        (
            EventFilter {
                actor: Some("user:u1".into()),
                kind: Some(EventKind::GrantIssued),
                subject: Some(Subject::Grant("g-4".into())),
                from: Some(second(20)),
                before: Some(second(1200)),
            },
            None,
        ),
        // A person with the grant's id is another subject: nothing.
        (EventFilter { subject: Some(Subject::Person("g-3".into())), ..EventFilter::default() }, Some(0)),
    ];
    for (filter, count) in filters {
        let want: Vec<i64> = all
            .iter()
            .rev()
            .filter(|e| filter.actor.as_ref().is_none_or(|a| e.event.actor == *a))
            .filter(|e| filter.kind.is_none_or(|k| e.event.kind.as_str() == k.as_str()))
            .filter(|e| filter.subject.as_ref().is_none_or(|g| e.event.subject == g.text()))
            .filter(|e| filter.from.is_none_or(|f| e.recorded_at >= f))
            .filter(|e| filter.before.is_none_or(|b| e.recorded_at < b))
            .map(|e| e.seq)
            .collect();
        let mut got = Vec::new();
        scan(s, &filter, Start::NewestBelow(None), &mut |e| {
            got.push(e.seq);
            Ok(true)
        })
        .expect("scans");
        assert_eq!(got, want, "{filter:?}");
        if let Some(n) = count {
            assert_eq!(got.len(), n, "{filter:?}");
        }
    }
    // Actor u1 and subject g-4: i % 6 == 1 and i % 7 == 4, so i ≡ 25 (mod 42); none is a vest
    // (25 + 42j ≡ 1 mod 3). Recorded at 10 × (i / 10) in [20, 1200) seconds: 20 <= i < 1200, so
    // i = 25, 67, …, 1159 (28 events), sequence i + 1.
    let combined: Vec<i64> = (0..28).map(|j| 25 + 42 * j + 1).rev().collect();
    let mut got = Vec::new();
    let filter = EventFilter {
        actor: Some("user:u1".into()),
        kind: Some(EventKind::GrantIssued),
        subject: Some(Subject::Grant("g-4".into())),
        from: Some(second(20)),
        before: Some(second(1200)),
    };
    scan(s, &filter, Start::NewestBelow(None), &mut |e| {
        got.push(e.seq);
        Ok(true)
    })
    .expect("scans");
    assert_eq!(got, combined, "sequence = i + 1");
    // Oldest first, above a sequence number, stopping when told.
    let mut first = Vec::new();
    scan(s, &EventFilter::default(), Start::OldestAbove(510), &mut |e| {
        first.push(e.seq);
        Ok(first.len() < 5)
    })
    .expect("scans");
    assert_eq!(first, [511, 512, 513, 514, 515]);
}

/// Audit view: a page that ends below a sequence number continues below it however many events
/// were appended meanwhile, so nothing repeats and nothing is skipped.
fn a_scan_below_a_sequence_number_is_stable_under_appends(db: &mut Db) {
    use tokencomp_store::scan::{EventFilter, Start, scan};
    let s = db.store();
    scan_ledger(s);
    let page = |s: &mut dyn Store, below: Option<i64>| {
        let mut out = Vec::new();
        scan(s, &EventFilter::default(), Start::NewestBelow(below), &mut |e| {
            out.push(e.seq);
            Ok(out.len() < 600)
        })
        .expect("scans");
        out
    };
    let first = page(s, None);
    assert_eq!((first[0], first[599]), (1300, 701));
    let more: Vec<NewEvent> = (0..700).map(|i| ev(&format!("late{i}"), "grant:g-0", json!({}), None)).collect();
    s.append(&more, t(5)).expect("appends");
    let second = page(s, Some(701));
    assert_eq!((second[0], second[599]), (700, 101));
    let third = page(s, Some(101));
    assert_eq!(third, (1..=100).rev().collect::<Vec<i64>>());
}

/// Audit view: the chain recomputed a chunk at a time holds through the last event, and after
/// an edit made with the triggers dropped it holds through the event before the edit.
fn the_chain_state_says_how_far_the_chain_holds(db: &mut Db) {
    use tokencomp_store::scan::chain_state;
    let empty = chain_state(db.store()).expect("reads");
    assert_eq!((empty.verified_through, empty.broken), (0, None));
    scan_ledger(db.store());
    let whole = chain_state(db.store()).expect("reads");
    assert_eq!((whole.verified_through, whole.broken.clone()), (1300, None));
    assert!(whole.holds_through(1300) && !whole.holds_through(1301));
    db.drop_append_only_triggers();
    db.sql("UPDATE events SET actor = 'user:mallory' WHERE seq = 700").expect("the trigger is gone");
    let broken = chain_state(db.store()).expect("reads");
    assert_eq!(broken.verified_through, 699);
    let b = broken.broken.clone().expect("a break");
    assert_eq!((b.seq, b.id.as_str()), (700, "s699"));
    // The same verdict as verifying the whole slice.
    assert_eq!(Some(b), verify(&db.events()).err());
    assert!(broken.holds_through(699) && !broken.holds_through(700));
}

/// Notices (issue 18, item 5): the outbox keeps each notice once across enqueues and restarts,
/// leases what a scheduler claims, logs every attempt and keeps each person's choices, alike on
/// both backends; none of it touches the hash chain.
fn outbox_case(mut db: Db) {
    use tokencomp_store::notices::{Attempt, NewNotice};
    let n = |key: &str| NewNotice {
        key: key.into(),
        kind: "vest".into(),
        channel: "webhook".into(),
        recipient: "webhook:hr".into(),
        address: "hr".into(),
        subject: "Vested".into(),
        body: "{}".into(),
    };
    let s = db.store();
    assert_eq!(s.outbox().enqueue(&[n("a"), n("b")], 100).expect("enqueue"), 2);
    // The scheduler runs again: nothing new.
    assert_eq!(s.outbox().enqueue(&[n("a"), n("b"), n("c")], 200).expect("again"), 1);
    let claimed = s.outbox().claim(150, 750, 10).expect("claim");
    assert_eq!(claimed.iter().map(|q| q.notice.key.as_str()).collect::<Vec<_>>(), vec!["a", "b"]);
    // Leased until 750: another scheduler takes only what is newly due.
    let other = s.outbox().claim(300, 900, 10).expect("claim");
    assert_eq!(other.iter().map(|q| q.notice.key.as_str()).collect::<Vec<_>>(), vec!["c"]);
    let attempt = |key: &str, n: i64, at: i64, ok: bool| Attempt {
        key: key.into(),
        attempt: n,
        at,
        ok,
        detail: if ok { "http 204".into() } else { "x".repeat(2000) },
    };
    s.outbox().record_attempt(&attempt("a", 1, 160, true), None).expect("log");
    s.outbox().record_attempt(&attempt("b", 1, 160, false), Some(220)).expect("log");
    s.outbox().set_prefs("ada", &[("vest".into(), false)]).expect("prefs");
    assert_eq!(s.len().expect("len"), 0, "the outbox is outside the ledger");
    // A restart loses nothing.
    let mut again = db.reopen();
    let q = again.outbox().queued(10).expect("queued");
    let states: Vec<(&str, &str, i64, i64)> =
        q.iter().map(|q| (q.notice.key.as_str(), q.state.as_str(), q.attempts, q.next_at)).collect();
    assert_eq!(states, vec![("a", "sent", 1, 160), ("b", "pending", 1, 220), ("c", "pending", 0, 900)]);
    let log = again.outbox().attempts("b").expect("log");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].detail.len(), tokencomp_store::notices::DETAIL_MAX, "details are bounded");
    assert_eq!(again.outbox().claim(219, 800, 10).expect("claim").len(), 0);
    assert_eq!(again.outbox().claim(220, 800, 10).expect("claim")[0].notice.key, "b");
    assert_eq!(again.outbox().prefs("ada").expect("prefs"), vec![("vest".to_owned(), false)]);
    again.outbox().set_prefs("ada", &[("vest".into(), true)]).expect("prefs");
    assert_eq!(again.outbox().prefs("ada").expect("prefs"), vec![("vest".to_owned(), true)]);
}

#[test]
fn the_notice_outbox_keeps_each_notice_once_on_sqlite() {
    outbox_case(Db::sqlite());
}

#[test]
fn the_notice_outbox_keeps_each_notice_once_on_postgres() {
    outbox_case(Db::postgres());
}
