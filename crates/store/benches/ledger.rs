//! The ledger's write path at scale, each part beside a peer measured in the same run.
//!
//! - `sqlite-append`: 100,000 vest events appended through `SqliteStore::append` in batches of
//!   10,000 (one transaction each), beside a raw rusqlite loop inserting the same rows (the same
//!   columns and values, hashes computed beforehand) with a prepared statement in the same
//!   transactions, into a store opened the same way (same schema, WAL, `synchronous = FULL`).
//!   `ours/raw` says what the idempotency check and the hashing cost; the issue's target is
//!   0.5x.
//! - `period-run`: a company of 100,000 monthly 48-month grants (20,000 people hired over 2024
//!   and 2025, each with a hire grant and four refreshes) run through 2026-06-30 as
//!   `tokencomp run` does it: read and fold the ledger, every grant's timeline, the plan, and
//!   every period's batch appended. Events per second overall and per stage, and the peak
//!   resident set (`VmHWM`, reset through `/proc/self/clear_refs` first) before and after.
//! - `postgres-append`: the same append through `PostgresStore::append` beside a raw
//!   `COPY ... FROM STDIN` (text format) of the same rows, in the same batches, into a fresh
//!   table with the ledger's columns, indexes and constraints. It needs
//!   `TOKENCOMP_TEST_POSTGRES` (a server URL; `./scripts/test` starts a server and sets it):
//!   every run gets a database `tc_bench_<pid>_<random>` there, dropped after. Without it the
//!   part is skipped with a line saying so, except in test mode under CI (`CI=true`), where a
//!   missing server fails the run.
//!
//! Every part checks its result first (both sides wrote exactly the precomputed rows, the chain
//! verifies, the run recognized every tranche due and a second plan is empty). Each timed run
//! starts from a fresh ledger; the best of all of them (a checked run, alternating runs for
//! SQLite, and criterion's samples) is reported, and written to
//! `target/bench-results/ledger.json`.
//!
//! `cargo bench -p tokencomp-store --bench ledger -- --test` (and `cargo test --benches`) runs
//! 2,000 events and 2,000 grants through the same code and checks in a few seconds: rates
//! printed, nothing written. A criterion filter (`-- period-run`) limits the parts run.

// The benchmarks' shared harness lives with the core benches.
#[path = "../../core/benches/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::hint::black_box;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use rusqlite::{Connection, TransactionBehavior, params};
use support::{
    Mode, OPTIMIZED, SplitMix64, filter_from_args, reset_peak, selects, status_bytes, thousands, write_results,
};
use tokencomp_core::model::{CompanySettings, GrantSize, GrantTerms, Person, PersonKind, TokenSettings};
use tokencomp_core::period::PayFrequency;
use tokencomp_core::schedule::{Allocation, Calendar, DayOfMonth, Period, Schedule};
use tokencomp_core::{Grant, Timeline, VestReason};
use tokencomp_money::{Token, TokenAmount};
use tokencomp_store::ledger::{Company, Fact};
use tokencomp_store::postgres::PostgresStore;
use tokencomp_store::sqlite::SqliteStore;
use tokencomp_store::{GENESIS, NewEvent, Store, StoredEvent, format_time, hash_event, run, verify};

/// Events appended, and events per transaction, in a full run and in test mode.
const FULL_EVENTS: usize = 100_000;
const TEST_EVENTS: usize = 2_000;
const FULL_BATCH: usize = 10_000;
const TEST_BATCH: usize = 500;
/// Grants in the period run, and how many each person holds.
const FULL_GRANTS: usize = 100_000;
const TEST_GRANTS: usize = 2_000;
const GRANTS_PER_PERSON: usize = 5;
/// Grant starts fall in 2024 and 2025; the run recognizes everything through mid-2026.
const FIRST_START: Date = Date::constant(2024, 1, 1);
const START_DAYS: u64 = 731;
const THROUGH: Date = Date::constant(2026, 6, 30);
const SEED: u64 = 0x1ed9_e55e_ed00_0042;
const ACTOR: &str = "system";
/// Alternating timed runs of ours and the peer; the best of each counts.
const FULL_REPS: usize = 3;
/// The target ratio, in thousandths (0.5x). Rates and ratios are integers: this crate keeps
/// floats out entirely, even from printing.
const TARGET_PERMILLE: u128 = 500;
const POSTGRES_ENV: &str = "TOKENCOMP_TEST_POSTGRES";

/// Criterion's filter (its one positional argument), so the parts run here are the ones
/// criterion runs. A plain substring of `ledger/<part>/<kernel>` selects; a filter with regex
/// syntax runs every part.
fn selected(part: &str) -> bool {
    let kernels = ["ours", "raw", "raw-copy", "100000-grants", "2000-grants"];
    selects(filter_from_args().as_deref(), kernels.map(|kernel| format!("ledger/{part}/{kernel}")))
}

fn recorded_at() -> Timestamp {
    "2026-07-01T09:00:00.123456789Z".parse().expect("a valid timestamp")
}

fn per_second(n: usize, d: Duration) -> u128 {
    (n as u128 * 1_000_000_000).checked_div(d.as_nanos()).unwrap_or(0)
}

/// `d` as seconds with `places` decimals (truncated), for printing.
fn secs(d: Duration, places: u32) -> String {
    let scale = 10u128.pow(9 - places);
    let v = d.as_nanos() / scale;
    let unit = 10u128.pow(places);
    format!("{}.{:0w$}", v / unit, v % unit, w = places as usize)
}

/// A ratio in thousandths as `0.81`.
fn permille(p: u128) -> String {
    format!("{}.{:02}", p / 1000, (p % 1000) / 10)
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

// ---------------------------------------------------------------------------------------------
// The rows

/// Vest events as a period run records them: grant, holder, date, reason and period in the
/// payload, the amount in its column.
fn vest_events(n: usize) -> Vec<NewEvent> {
    let mut rng = SplitMix64(SEED);
    (0..n)
        .map(|i| {
            let grant = format!("g{:06}", i / 24);
            let holder = format!("p{:06}", i / 24 / GRANTS_PER_PERSON);
            let month = i32::try_from(i % 24).expect("small");
            let date = Date::constant(2025, 1, 15).checked_add(jiff::Span::new().months(month)).expect("in range");
            let reason = if i % 24 == 0 { VestReason::Cliff } else { VestReason::Vest };
            let period = format!("{:04}-{:02}", date.year(), date.month());
            let amount = TokenAmount::from_base_units(u128::from(rng.next_u64()) * 1_000_000_000);
            Fact::Vest { grant, holder, date, reason, period, amount }.to_event(ACTOR)
        })
        .collect()
}

/// A row exactly as the store writes it.
struct Row {
    seq: i64,
    event: NewEvent,
    amount: Option<String>,
    prev_hash: String,
    hash: String,
}

/// The rows `events` become when appended to an empty ledger at `at`: the chain computed
/// beforehand, so the raw loops only insert.
fn rows(events: &[NewEvent], at: &str) -> Vec<Row> {
    let mut prev = GENESIS.to_owned();
    events
        .iter()
        .zip(1..)
        .map(|(e, seq)| {
            let hash = hash_event(&prev, seq, e, at);
            Row {
                seq,
                event: e.clone(),
                amount: e.amount.map(|a| a.to_string()),
                prev_hash: std::mem::replace(&mut prev, hash.clone()),
                hash,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// SQLite append

const INSERT: &str = "INSERT INTO events (seq, event_id, kind, subject, payload, amount, actor, recorded_at, \
                      prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

/// A fresh ledger file in `dir`.
fn fresh_sqlite(dir: &Path, name: &str) -> SqliteStore {
    let path = dir.join(name);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    SqliteStore::open(&path).expect("a fresh ledger opens")
}

fn ours_sqlite(store: &mut SqliteStore, events: &[NewEvent], batch: usize, at: Timestamp) {
    for chunk in events.chunks(batch) {
        let a = store.append(chunk, at).expect("appends");
        assert_eq!(a.new, chunk.len());
    }
}

fn raw_sqlite(conn: &mut Connection, rows: &[Row], batch: usize, at: &str) {
    for chunk in rows.chunks(batch) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).expect("begins");
        {
            let mut insert = tx.prepare_cached(INSERT).expect("prepares");
            for r in chunk {
                let e = &r.event;
                insert
                    .execute(params![
                        r.seq,
                        e.id,
                        e.kind.as_str(),
                        e.subject,
                        e.payload,
                        r.amount,
                        e.actor,
                        at,
                        r.prev_hash,
                        r.hash
                    ])
                    .expect("inserts");
            }
        }
        tx.commit().expect("commits");
    }
}

/// Every timed run of one side: the in-process runs and criterion's. The best counts.
#[derive(Default)]
struct Samples(std::cell::RefCell<Vec<Duration>>);

impl Samples {
    fn record(&self, d: Duration) -> Duration {
        self.0.borrow_mut().push(d);
        d
    }

    fn best(&self) -> Duration {
        self.0.borrow().iter().copied().min().unwrap_or(Duration::MAX)
    }

    fn runs(&self) -> usize {
        self.0.borrow().len()
    }
}

/// How long criterion measures a part whose one run takes `run`: ten samples of one run each
/// for slow parts (criterion may say it needs a little longer), a few runs each for fast ones.
fn measurement_time(run: Duration) -> Duration {
    if run > Duration::from_secs(3) { run * 9 } else { (run * 13).max(Duration::from_secs(2)) }
}

struct AppendResult {
    backend: &'static str,
    peer: &'static str,
    events: usize,
    batch: usize,
    /// The best runs, and how many there were.
    ours: Duration,
    raw: Duration,
    runs: (usize, usize),
}

impl AppendResult {
    /// raw time / our time, in thousandths.
    fn ratio(&self) -> u128 {
        (self.raw.as_nanos() * 1000).checked_div(self.ours.as_nanos()).unwrap_or(0)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "events": self.events,
            "batch": self.batch,
            "peer": self.peer,
            "ours_ns": nanos(self.ours),
            "raw_ns": nanos(self.raw),
            "ours_events_per_second": u64::try_from(per_second(self.events, self.ours)).unwrap_or(u64::MAX),
            "raw_events_per_second": u64::try_from(per_second(self.events, self.raw)).unwrap_or(u64::MAX),
            "ours_over_raw_permille": u64::try_from(self.ratio()).unwrap_or(u64::MAX),
            "timed_runs": {"ours": self.runs.0, "raw": self.runs.1},
        })
    }
}

fn sqlite_append(c: &mut Criterion, mode: Mode, dir: &Path) -> AppendResult {
    let (n, batch) = if mode == Mode::Full { (FULL_EVENTS, FULL_BATCH) } else { (TEST_EVENTS, TEST_BATCH) };
    let at = recorded_at();
    let at_text = format_time(at);
    let events = vest_events(n);
    let rows = rows(&events, &at_text);

    // Both sides write the same table: check once, outside any timing.
    let mut ours = fresh_sqlite(dir, "ours.sqlite");
    ours_sqlite(&mut ours, &events, batch, at);
    let mut raw = fresh_sqlite(dir, "raw.sqlite");
    raw_sqlite(raw.connection(), &rows, batch, &at_text);
    let (a, b) = (ours.events().expect("reads"), raw.events().expect("reads"));
    assert!(holds(&a, &rows, &at_text), "the store wrote other rows than computed");
    assert!(holds(&b, &rows, &at_text), "the raw loop wrote other rows than computed");
    assert_eq!(verify(&a), Ok(n));
    // Appending the same batch again is a no-op.
    assert_eq!(ours.append(&events[..batch], at).expect("appends").existing, batch);
    drop((ours, raw, a, b));

    let (ours, raw) = (Samples::default(), Samples::default());
    let run_ours = || {
        let mut s = fresh_sqlite(dir, "ours.sqlite");
        let t = Instant::now();
        ours_sqlite(&mut s, black_box(&events), batch, at);
        ours.record(t.elapsed())
    };
    let run_raw = || {
        let mut s = fresh_sqlite(dir, "raw.sqlite");
        let t = Instant::now();
        raw_sqlite(s.connection(), black_box(&rows), batch, &at_text);
        raw.record(t.elapsed())
    };
    // Alternating runs first, so both sides see the same state of the machine; they also
    // size criterion's window.
    for _ in 0..if mode == Mode::Full { FULL_REPS } else { 1 } {
        run_ours();
        run_raw();
    }

    let mut group = c.benchmark_group("ledger/sqlite-append");
    group.throughput(Throughput::Elements(u64::try_from(n).expect("fits")));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    if mode == Mode::Full {
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(measurement_time(ours.best()));
    }
    group.bench_function("ours", |b| b.iter_custom(|iters| (0..iters).map(|_| run_ours()).sum()));
    if mode == Mode::Full {
        group.measurement_time(measurement_time(raw.best()));
    }
    group.bench_function("raw", |b| b.iter_custom(|iters| (0..iters).map(|_| run_raw()).sum()));
    group.finish();

    AppendResult {
        backend: "sqlite",
        peer: "raw rusqlite insert loop",
        events: n,
        batch,
        ours: ours.best(),
        raw: raw.best(),
        runs: (ours.runs(), raw.runs()),
    }
}

// ---------------------------------------------------------------------------------------------
// The period run

/// What `tokencomp init` records for a company of `grants` monthly grants.
fn company_facts(grants: usize) -> Vec<Fact> {
    let tz_name = "America/New_York";
    let token = Token::new("BNCH", 18).expect("a valid token");
    let mut facts = vec![
        Fact::Company(CompanySettings {
            name: "Bench Co".to_owned(),
            time_zone: TimeZone::get(tz_name).expect("bundled time zone"),
            time_zone_name: tz_name.to_owned(),
            pay_frequency: PayFrequency::Monthly,
            demo_through: None,
            policy: Default::default(),
        }),
        Fact::Token(TokenSettings { token: token.clone(), chain_id: Some(31337), address: None }),
    ];
    let mut rng = SplitMix64(SEED ^ 0x9a);
    let people = grants.div_ceil(GRANTS_PER_PERSON);
    let hired: Vec<Date> = (0..people)
        .map(|_| {
            let days = i64::try_from(rng.next_u64() % START_DAYS).expect("small");
            FIRST_START.checked_add(jiff::Span::new().days(days)).expect("in range")
        })
        .collect();
    for (i, &hired) in hired.iter().enumerate() {
        facts.push(Fact::Person(Person {
            id: format!("p{i:06}"),
            name: format!("Person {i}"),
            email: Some(format!("person{i}@bench.example")),
            kind: PersonKind::Employee,
            country: Some("US".to_owned()),
            region: Some("NY".to_owned()),
            hired: Some(hired),
            salary: None,
            wallet: None,
            tax: Default::default(),
        }));
    }
    for i in 0..grants {
        let holder = i / GRANTS_PER_PERSON;
        // A hire grant, then refreshes on later starts.
        let refresh = u64::try_from(i % GRANTS_PER_PERSON).expect("small");
        let extra = i64::try_from(refresh * (rng.next_u64() % 120)).expect("small");
        let start = hired[holder].checked_add(jiff::Span::new().days(extra)).expect("in range");
        let schedule = Calendar::new(
            start,
            Period::Months(1),
            48,
            12,
            DayOfMonth::VestingStartDayOrLast,
            Allocation::CumulativeRoundDown,
        )
        .expect("a valid schedule");
        let amount = TokenAmount::from_base_units(u128::from(1_000 + rng.next_u64() % 100_000) * 10u128.pow(18));
        let terms = GrantTerms {
            grant: Grant {
                id: format!("g{i:06}"),
                holder: format!("p{holder:06}"),
                amount,
                schedule: Schedule::Calendar(schedule),
                performance: vec![],
                events: vec![],
            },
            grant_date: start,
            size: GrantSize::Tokens,
            policy: Default::default(),
        };
        facts.push(Fact::GrantIssued {
            grant: terms.grant.id.clone(),
            holder: terms.grant.holder.clone(),
            terms: tokencomp_formats::canonical::write_terms(&terms, &token),
        });
    }
    facts
}

#[derive(Clone, Copy, Default)]
struct Stages {
    read: Duration,
    fold: Duration,
    timelines: Duration,
    plan: Duration,
    append: Duration,
}

impl Stages {
    fn total(&self) -> Duration {
        self.read + self.fold + self.timelines + self.plan + self.append
    }
}

struct RunResult {
    grants: usize,
    init_events: usize,
    tranches: usize,
    periods: usize,
    appended: usize,
    init: Duration,
    /// The fastest run's, of `runs`.
    stages: Stages,
    runs: usize,
    peak_before: Option<u64>,
    peak_after: Option<u64>,
    peak_reset: bool,
}

/// One period run, as `tokencomp run` does it, timed by stage.
fn period_run(store: &mut SqliteStore, at: Timestamp) -> (Stages, usize, usize, usize) {
    let mut s = Stages::default();
    let t = Instant::now();
    let events = store.events().expect("reads");
    s.read = t.elapsed();
    let t = Instant::now();
    let company = Company::fold(&events).expect("folds");
    s.fold = t.elapsed();
    drop(events);
    let t = Instant::now();
    let tz = &company.company.time_zone;
    let timelines: BTreeMap<String, Timeline> = company
        .grants
        .iter()
        .map(|(id, rec)| (id.clone(), rec.terms.grant.timeline(tz, Some(THROUGH)).expect("a timeline")))
        .collect();
    s.timelines = t.elapsed();
    let tranches = timelines.values().map(|t| t.tranches.len()).sum();
    let t = Instant::now();
    let batches = run::plan(&company, &timelines, THROUGH);
    s.plan = t.elapsed();
    let t = Instant::now();
    let mut appended = 0;
    for b in &batches {
        let events: Vec<NewEvent> = b.facts.iter().map(|f| f.to_event(ACTOR)).collect();
        appended += store.append(&events, at).expect("appends").new;
    }
    s.append = t.elapsed();
    (s, tranches, batches.len(), appended)
}

fn period_run_part(c: &mut Criterion, mode: Mode, dir: &Path) -> RunResult {
    let grants = if mode == Mode::Full { FULL_GRANTS } else { TEST_GRANTS };
    let at = recorded_at();
    let facts = company_facts(grants);
    let init_events: Vec<NewEvent> = facts.iter().map(|f| f.to_event(ACTOR)).collect();
    drop(facts);
    // The company as `init` leaves it, copied for every run.
    let template = dir.join("company.sqlite");
    let t = Instant::now();
    {
        let mut s = fresh_sqlite(dir, "company.sqlite");
        s.append(&init_events, at).expect("appends");
    }
    let init = t.elapsed();
    let fresh = || {
        let path = dir.join("run.sqlite");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        std::fs::copy(&template, &path).expect("copies the company");
        SqliteStore::open(&path).expect("opens")
    };

    let mut store = fresh();
    let peak_reset = reset_peak();
    let peak_before = status_bytes("VmHWM:");
    let (stages, tranches, periods, appended) = period_run(&mut store, at);
    let peak_after = status_bytes("VmHWM:");

    // The run recognized every tranche through THROUGH, in whole periods, and a second plan
    // finds nothing left to do.
    let events = store.events().expect("reads");
    assert_eq!(verify(&events), Ok(init_events.len() + appended));
    let company = Company::fold(&events).expect("folds");
    assert_eq!(company.periods_run.len(), periods);
    let tz = &company.company.time_zone;
    let timelines: BTreeMap<String, Timeline> = company
        .grants
        .iter()
        .map(|(id, rec)| (id.clone(), rec.terms.grant.timeline(tz, Some(THROUGH)).expect("a timeline")))
        .collect();
    let due = timelines.values().flat_map(|t| &t.tranches).filter(|x| x.date <= THROUGH).count();
    assert_eq!(appended, due + periods, "one vest per tranche due, one marker per period");
    assert!(run::plan(&company, &timelines, THROUGH).is_empty(), "a second run would record more");
    drop((events, company, timelines, store));

    // The fastest run's stages are reported; criterion's runs count too.
    let best = std::cell::Cell::new(stages);
    let runs = std::cell::Cell::new(1);
    let mut group = c.benchmark_group("ledger/period-run");
    group.throughput(Throughput::Elements(u64::try_from(appended).expect("fits")));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    if mode == Mode::Full {
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(measurement_time(stages.total()));
    }
    group.bench_function(format!("{grants}-grants"), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let mut s = fresh();
                    let (stages, ..) = period_run(&mut s, at);
                    runs.set(runs.get() + 1);
                    if stages.total() < best.get().total() {
                        best.set(stages);
                    }
                    stages.total()
                })
                .sum()
        })
    });
    group.finish();

    RunResult {
        grants,
        init_events: init_events.len(),
        tranches,
        periods,
        appended,
        init,
        stages: best.get(),
        runs: runs.get(),
        peak_before,
        peak_after,
        peak_reset,
    }
}

// ---------------------------------------------------------------------------------------------
// Postgres append

/// `url` with its database replaced: a `postgres://` URL's path, or a `dbname=` added to a
/// key-value connection string (the last one counts).
fn with_database(url: &str, db: &str) -> String {
    let Some(scheme) = url.find("://") else { return format!("{url} dbname={db}") };
    let rest = scheme + 3;
    let query = url[rest..].find('?').map_or(url.len(), |q| rest + q);
    let path = url[rest..query].find('/').map_or(query, |p| rest + p);
    format!("{}/{db}{}", &url[..path], &url[query..])
}

/// A database of its own on the server, dropped with this value.
struct Scratch {
    admin: postgres::Client,
    name: String,
    url: String,
}

impl Scratch {
    fn create(server: &str) -> Scratch {
        let mut admin = postgres::Client::connect(server, postgres::NoTls)
            .unwrap_or_else(|e| panic!("{POSTGRES_ENV} is set but the server does not answer: {e}"));
        let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
        let name = format!("tc_bench_{}_{random:016x}", std::process::id());
        admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("creates a bench database");
        let url = with_database(server, &name);
        Scratch { admin, name, url }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = self.admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)) {
            eprintln!("could not drop the bench database {}: {e}", self.name);
        }
    }
}

/// A field in `COPY`'s text format.
fn copy_field(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

/// The rows in `COPY`'s text format, one buffer per batch, built before any timing.
fn copy_text(rows: &[Row], batch: usize, at: &str) -> Vec<Vec<u8>> {
    rows.chunks(batch)
        .map(|chunk| {
            let mut out = Vec::new();
            for r in chunk {
                let e = &r.event;
                out.extend_from_slice(r.seq.to_string().as_bytes());
                for field in [e.id.as_str(), e.kind.as_str(), &e.subject, &e.payload] {
                    out.push(b'\t');
                    copy_field(&mut out, field);
                }
                out.push(b'\t');
                match &r.amount {
                    Some(a) => copy_field(&mut out, a),
                    None => out.extend_from_slice(b"\\N"),
                }
                for field in [e.actor.as_str(), at, &r.prev_hash, &r.hash] {
                    out.push(b'\t');
                    copy_field(&mut out, field);
                }
                out.push(b'\n');
            }
            out
        })
        .collect()
}

const COPY: &str = "COPY raw_events (seq, event_id, kind, subject, payload, amount, actor, recorded_at, prev_hash, hash) \
                    FROM STDIN";

fn raw_copy(client: &mut postgres::Client, batches: &[Vec<u8>]) {
    for text in batches {
        let mut tx = client.transaction().expect("begins");
        let mut w = tx.copy_in(COPY).expect("starts the copy");
        w.write_all(text).expect("streams the rows");
        w.finish().expect("finishes the copy");
        tx.commit().expect("commits");
    }
}

/// Whether a ledger holds exactly `rows`, recorded at `at`.
fn holds(events: &[StoredEvent], rows: &[Row], at: &str) -> bool {
    events.len() == rows.len()
        && events.iter().zip(rows).all(|(e, r)| {
            e.seq == r.seq
                && e.event == r.event
                && format_time(e.recorded_at) == at
                && e.prev_hash == r.prev_hash
                && e.hash == r.hash
        })
}

fn postgres_append(c: &mut Criterion, mode: Mode, server: &str) -> AppendResult {
    let (n, batch) = if mode == Mode::Full { (FULL_EVENTS, FULL_BATCH) } else { (TEST_EVENTS, TEST_BATCH) };
    let at = recorded_at();
    let at_text = format_time(at);
    let events = vest_events(n);
    let rows = rows(&events, &at_text);
    let copy = copy_text(&rows, batch, &at_text);

    // Ours: a fresh database for every run (the ledger refuses TRUNCATE), made and migrated
    // before the clock starts.
    let (ours, raw_runs) = (Samples::default(), Samples::default());
    let run_ours = |check: bool| {
        let db = Scratch::create(server);
        let mut store = PostgresStore::connect(&db.url).expect("connects to the bench database");
        let t = Instant::now();
        for chunk in black_box(&events).chunks(batch) {
            assert_eq!(store.append(chunk, at).expect("appends").new, chunk.len());
        }
        let elapsed = t.elapsed();
        if check {
            let stored = store.events().expect("reads");
            assert!(holds(&stored, &rows, &at_text), "the store wrote other rows than computed");
            assert_eq!(verify(&stored), Ok(n));
        }
        ours.record(elapsed)
    };
    // The peer: a fresh table like the ledger's (the same columns, types, indexes and
    // constraints; not its append-only triggers, which no insert fires) for every run.
    let raw_db = Scratch::create(server);
    drop(PostgresStore::connect(&raw_db.url).expect("creates the ledger's table to copy"));
    let mut raw = postgres::Client::connect(&raw_db.url, postgres::NoTls).expect("connects");
    let mut run_raw = |check: bool| {
        raw.batch_execute("DROP TABLE IF EXISTS raw_events; CREATE TABLE raw_events (LIKE events INCLUDING ALL)")
            .expect("creates the raw table");
        let t = Instant::now();
        raw_copy(&mut raw, black_box(&copy));
        let elapsed = t.elapsed();
        if check {
            let stored: Vec<StoredEvent> = raw
                .query(
                    "SELECT seq, event_id, kind, subject, payload, amount::text, actor, recorded_at, prev_hash, hash \
                     FROM raw_events ORDER BY seq",
                    &[],
                )
                .expect("reads")
                .iter()
                .map(|r| StoredEvent {
                    seq: r.get(0),
                    event: NewEvent {
                        id: r.get(1),
                        kind: r.get::<_, String>(2).parse().expect("a kind"),
                        subject: r.get(3),
                        payload: r.get(4),
                        amount: r.get::<_, Option<String>>(5).map(|a| a.parse().expect("base units")),
                        actor: r.get(6),
                    },
                    recorded_at: r.get::<_, String>(7).parse().expect("a record time"),
                    prev_hash: r.get(8),
                    hash: r.get(9),
                })
                .collect();
            assert!(holds(&stored, &rows, &at_text), "COPY wrote other rows than computed");
        }
        raw_runs.record(elapsed)
    };

    // One checked run of each (timed too); criterion's runs add the rest.
    run_ours(true);
    run_raw(true);

    let mut group = c.benchmark_group("ledger/postgres-append");
    group.throughput(Throughput::Elements(u64::try_from(n).expect("fits")));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    if mode == Mode::Full {
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(measurement_time(ours.best()));
    }
    group.bench_function("ours", |b| b.iter_custom(|iters| (0..iters).map(|_| run_ours(false)).sum()));
    if mode == Mode::Full {
        group.measurement_time(measurement_time(raw_runs.best()));
    }
    group.bench_function("raw-copy", |b| b.iter_custom(|iters| (0..iters).map(|_| run_raw(false)).sum()));
    group.finish();
    drop(raw);
    drop(raw_db);

    AppendResult {
        backend: "postgres",
        peer: "raw COPY FROM STDIN (text)",
        events: n,
        batch,
        ours: ours.best(),
        raw: raw_runs.best(),
        runs: (ours.runs(), raw_runs.runs()),
    }
}

// ---------------------------------------------------------------------------------------------
// Reports

fn report_append(r: &AppendResult) {
    let verdict = if !OPTIMIZED {
        "(unoptimized build, not comparable)"
    } else if r.backend == "sqlite" {
        if r.ratio() >= TARGET_PERMILLE { "ok" } else { "BELOW TARGET" }
    } else {
        ""
    };
    let target =
        if r.backend == "sqlite" { format!(" (target >= {}x)", permille(TARGET_PERMILLE)) } else { String::new() };
    println!(
        "ratio {}-append: ours {} events/s, raw {} events/s, ours/raw = {}{target} {verdict}",
        r.backend,
        per_second(r.events, r.ours),
        per_second(r.events, r.raw),
        permille(r.ratio()),
    );
    println!(
        "  {} events in batches of {} ({} transactions); peer: {}; best of {} and {} runs",
        thousands(r.events),
        thousands(r.batch),
        r.events.div_ceil(r.batch),
        r.peer,
        r.runs.0,
        r.runs.1,
    );
}

fn mb(b: Option<u64>) -> String {
    b.map_or_else(|| "n/a".to_owned(), |b| format!("{}.{} MB", b / 1_000_000, (b % 1_000_000) / 100_000))
}

fn report_run(r: &RunResult) {
    let s = &r.stages;
    println!(
        "period-run: {} grants, {} init events, {} periods, {} events appended in {} s = {} events/s overall (best of {} runs)",
        thousands(r.grants),
        thousands(r.init_events),
        r.periods,
        thousands(r.appended),
        secs(s.total(), 2),
        per_second(r.appended, s.total()),
        r.runs,
    );
    let line = |name: &str, d: Duration, n: usize, unit: &str, note: &str| {
        println!("  {name:<10} {:>8} s {:>12} {unit}/s{note}", secs(d, 3), per_second(n, d));
    };
    line("init", r.init, r.init_events, "events", " (before the run: one transaction, not counted)");
    line("read", s.read, r.init_events, "events", "");
    line("fold", s.fold, r.init_events, "events", "");
    line("timelines", s.timelines, r.grants, "grants", "");
    line("plan", s.plan, r.appended, "events", "");
    line("append", s.append, r.appended, "events", "");
    let growth = r.peak_before.zip(r.peak_after).map(|(b, a)| a.saturating_sub(b));
    println!(
        "  peak memory (VmHWM): {} before, {} after (+{}){}; {} tranches in the timelines",
        mb(r.peak_before),
        mb(r.peak_after),
        mb(growth),
        if r.peak_reset {
            "; peak reset before the run"
        } else {
            "; the peak could not be reset: before is the process's peak so far"
        },
        thousands(r.tranches),
    );
}

fn write_json(
    sqlite: Option<&AppendResult>,
    run: Option<&RunResult>,
    pg: Option<&AppendResult>,
) -> std::io::Result<PathBuf> {
    let run = run.map(|r| {
        let s = &r.stages;
        serde_json::json!({
            "grants": r.grants,
            "through": THROUGH.to_string(),
            "init_events": r.init_events,
            "periods": r.periods,
            "tranches": r.tranches,
            "events_appended": r.appended,
            "ns": nanos(s.total()),
            "events_per_second": u64::try_from(per_second(r.appended, s.total())).unwrap_or(u64::MAX),
            "stages_ns": {
                "read": nanos(s.read), "fold": nanos(s.fold), "timelines": nanos(s.timelines),
                "plan": nanos(s.plan), "append": nanos(s.append),
            },
            "init_ns": nanos(r.init),
            "timed_runs": r.runs,
            "peak_rss_before_bytes": r.peak_before,
            "peak_rss_after_bytes": r.peak_after,
            "peak_reset_before_run": r.peak_reset,
        })
    });
    let doc = serde_json::json!({
        "bench": "ledger",
        "timing": format!(
            "the best of every timed run (checked runs, {FULL_REPS} alternating runs of each side for SQLite, and criterion's samples), each on a fresh ledger; single thread"
        ),
        "target_sqlite_ratio_permille": u64::try_from(TARGET_PERMILLE).unwrap_or(0),
        "sqlite_append": sqlite.map(AppendResult::json),
        "period_run": run,
        "postgres_append": pg.map(AppendResult::json),
        "postgres_skipped": pg.is_none(),
        "megabyte": 1_000_000,
    });
    write_results("ledger", &doc)
}

fn main() {
    let mode = Mode::from_args();
    let mut c = Criterion::default().configure_from_args();
    if mode == Mode::List {
        // Criterion lists what is registered without running it.
        for name in [
            "ledger/sqlite-append/ours",
            "ledger/sqlite-append/raw",
            "ledger/period-run/100000-grants",
            "ledger/postgres-append/ours",
            "ledger/postgres-append/raw-copy",
        ] {
            c.bench_function(name, |b| b.iter(|| ()));
        }
        return;
    }
    let server = std::env::var(POSTGRES_ENV).ok().filter(|s| !s.is_empty());
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    if server.is_none() && mode == Mode::Test && ci && selected("postgres-append") {
        eprintln!(
            "postgres: {POSTGRES_ENV} is not set under CI: run the benches through ./scripts/test, which starts a server"
        );
        std::process::exit(1);
    }
    let dir = tempfile::tempdir().expect("a scratch directory");

    let sqlite = selected("sqlite-append").then(|| sqlite_append(&mut c, mode, dir.path()));
    let run = selected("period-run").then(|| period_run_part(&mut c, mode, dir.path()));
    let pg = match &server {
        Some(url) if selected("postgres-append") => Some(postgres_append(&mut c, mode, url)),
        _ => None,
    };
    c.final_summary();

    println!();
    if mode == Mode::Test {
        println!("ledger (test mode: small data sets)");
    }
    if let Some(r) = &sqlite {
        report_append(r);
    }
    if let Some(r) = &run {
        report_run(r);
    }
    match &pg {
        Some(r) => report_append(r),
        None if server.is_none() => {
            println!("postgres: skipped ({POSTGRES_ENV} not set; ./scripts/test sets it)");
        }
        None => {}
    }
    let all = sqlite.is_some() && run.is_some() && (pg.is_some() || server.is_none());
    if mode != Mode::Full {
        println!("test mode: results not written (a full `cargo bench` writes target/bench-results/ledger.json)");
    } else if !all {
        println!("filtered run: results not written (a full `cargo bench` writes target/bench-results/ledger.json)");
    } else {
        match write_json(sqlite.as_ref(), run.as_ref(), pg.as_ref()) {
            Ok(path) => println!("results written to {}", path.display()),
            Err(e) => eprintln!("could not write bench results: {e}"),
        }
    }
}
