//! Crash safety through the binary: `tokencomp run`, `init` and `import` killed with SIGKILL at
//! seeded points, then run again, leave exactly the ledger an uninterrupted run leaves.
//!
//! A generated company (250 people, one 48-month grant each with a 12-month cliff, starts spread
//! over two years) makes `run --through 2026-06-30` record 30 monthly periods, each one
//! transaction of up to 250 vests ending with its `period.run` marker. Each kill is placed by
//! sleeping a seeded delay within 1.1 times the measured length of an uninterrupted run; the
//! sleep only chooses where the kill lands, and nothing asserted depends on timing:
//! - after a kill, the ledger's canonical dump (record times and hashes left out) is the
//!   uninterrupted run's cut at a period boundary: every period is there whole or not at all;
//! - running again records exactly the periods that were missing, keeps every recorded event
//!   as it was (sequence, record time, hash), leaves a chain that verifies, and its dump equals
//!   the uninterrupted run's;
//! - the kills cover the run from no period committed (one kill at once, always) to all of them
//!   (one kill after the process ended, always), and some kill lands in each eighth of the run's
//!   events, with at least `MIN_DISTINCT` different counts: where the seeded delays miss a range
//!   (a slow or busy machine shifts them), more kills are placed by bisecting the delays around
//!   it, so the coverage holds whatever the timing.
//!
//! `init` and `import prices` are single transactions: killed anywhere, the ledger holds none
//! or all of what the command records, and running the command again completes it.
//!
//! The killed ledger is opened with `SqliteStore`, as the next command would open it (SQLite
//! recovers from its write-ahead log on open).
#![cfg(unix)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokencomp_store::sqlite::SqliteStore;
use tokencomp_store::{EventKind, Store, StoredEvent, canonical_dump, verify};

/// People in the generated company, one grant each: some 0.6 s of `run` in a debug build on an
/// idle machine, so the 50-odd kills and re-runs take about a minute.
const PEOPLE: usize = 250;
const THROUGH: &str = "2026-06-30";
/// Grant starts fall in 2023 and 2024, so the first cliffs vest in January 2024 and the run
/// through June 2026 covers 30 monthly periods.
const PERIODS: usize = 30;
/// Seeded kills of `run`; more are added where they leave a range of counts uncovered.
const RUN_SEEDS: usize = 50;
/// Equal shares of the run's events: some kill must land while each is written.
const BUCKETS: usize = 8;
const MIN_DISTINCT: usize = 10;
/// Bisection probes allowed, in all, to reach the ranges the seeded kills missed.
const MAX_PROBES: usize = 40;
/// Seeded kills of `init` and of `import prices`, besides one at once and one after the end.
const COMMAND_SEEDS: usize = 12;
const SEED: u64 = 0x5eed_c4a5_0000_0001;
const ACTOR: &str = "user:crash-test";
const LEDGER: &str = "ledger.sqlite";
const SIGKILL: i32 = 9;

/// splitmix64: a small seeded generator for the kill points.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A delay drawn uniformly from `[0, window]`.
    fn delay(&mut self, window: Duration) -> Duration {
        let nanos = u64::try_from(window.as_nanos()).expect("a window of seconds fits in u64");
        Duration::from_nanos(self.next_u64() % (nanos + 1))
    }
}

/// The company file: people hired over two years, each with a monthly 48-month grant with a
/// 12-month cliff starting on their hire date.
fn company_toml() -> String {
    let mut rng = SplitMix64(SEED ^ 0xc0);
    let mut out = String::from(
        "[company]\nname = \"Crash Test Co\"\ntime_zone = \"America/New_York\"\npay_frequency = \"monthly\"\n\n\
         [token]\nsymbol = \"CRSH\"\ndecimals = 18\n",
    );
    let first = jiff::civil::date(2023, 1, 1);
    let starts: Vec<jiff::civil::Date> = (0..PEOPLE)
        .map(|_| {
            let days = i64::try_from(rng.next_u64() % 731).expect("small");
            first.checked_add(jiff::Span::new().days(days)).expect("in range")
        })
        .collect();
    for (i, start) in starts.iter().enumerate() {
        let _ = write!(out, "\n[[person]]\nid = \"p{i:04}\"\nname = \"Person {i}\"\nhired = {start}\n");
    }
    for (i, start) in starts.iter().enumerate() {
        let amount = 12_000 + rng.next_u64() % 100_000;
        let _ = write!(
            out,
            "\n[[grant]]\nid = \"g{i:04}\"\nholder = \"p{i:04}\"\namount = \"{amount}\"\n[grant.schedule]\n\
             type = \"monthly\"\nstart = {start}\nduration_months = 48\ncliff_months = 12\n"
        );
    }
    out
}

/// Daily closes in three currencies from 2019 on: one `import prices` of 6,000 events.
fn prices_csv() -> String {
    let mut rng = SplitMix64(SEED ^ 0x9e);
    let mut out = String::from("date,close_usd,close_eur,close_gbp\n");
    let mut day = jiff::civil::date(2019, 1, 1);
    for _ in 0..2000 {
        let cents = 50 + rng.next_u64() % 500;
        let close = |c: u64| format!("{}.{:02}", c / 100, c % 100);
        let _ = writeln!(out, "{day},{},{},{}", close(cents), close(cents * 9 / 10), close(cents * 8 / 10));
        day = day.tomorrow().expect("in range");
    }
    out
}

/// A scratch directory with the company and price files, and numbered data directories.
struct Lab {
    dir: tempfile::TempDir,
    next: std::cell::Cell<usize>,
}

impl Lab {
    fn new() -> Lab {
        let lab = Lab { dir: tempfile::tempdir().expect("temp dir"), next: std::cell::Cell::new(0) };
        std::fs::write(lab.company(), company_toml()).expect("write the company file");
        std::fs::write(lab.prices(), prices_csv()).expect("write the prices");
        lab
    }

    fn company(&self) -> PathBuf {
        self.dir.path().join("company.toml")
    }

    fn prices(&self) -> PathBuf {
        self.dir.path().join("prices.csv")
    }

    /// A new, empty data directory.
    fn data_dir(&self) -> PathBuf {
        let n = self.next.get();
        self.next.set(n + 1);
        let d = self.dir.path().join(format!("data-{n:03}"));
        std::fs::create_dir(&d).expect("create a data directory");
        d
    }

    /// A new data directory holding a copy of `template`'s ledger.
    fn copy_of(&self, template: &Path) -> PathBuf {
        let d = self.data_dir();
        std::fs::copy(template.join(LEDGER), d.join(LEDGER)).expect("copy the ledger");
        d
    }

    /// A data directory after an uninterrupted `init`, holding nothing but the ledger file: a
    /// clean exit checkpoints the write-ahead log into it and removes the log, so copying the
    /// one file copies the whole ledger.
    fn initialized(&self) -> PathBuf {
        let d = self.data_dir();
        ok(&d, &["init", &self.company().display().to_string()]);
        let mut files: Vec<String> = std::fs::read_dir(&d)
            .expect("read the data directory")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(files, [LEDGER], "init left more than the ledger behind (a -wal or -shm file is not checkpointed)");
        d
    }
}

fn tokencomp(data: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tokencomp"));
    c.arg("--data")
        .arg(data)
        .args(["--actor", ACTOR])
        .args(args)
        .env_remove("TOKENCOMP_DATABASE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Runs a command to completion and returns its standard output.
fn ok(data: &Path, args: &[&str]) -> String {
    let out = tokencomp(data, args).output().expect("runs");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command to completion, timed.
fn timed(data: &Path, args: &[&str]) -> Duration {
    let t = Instant::now();
    ok(data, args);
    t.elapsed()
}

/// Where a kill lands.
#[derive(Clone, Copy, Debug)]
enum KillAt {
    /// This long after the process started.
    After(Duration),
    /// After the process has exited by itself.
    End,
}

/// Starts a command and kills it with SIGKILL at `at`. Returns whether the kill found the
/// process still running; a process that ended by itself must have succeeded.
fn crash(data: &Path, args: &[&str], at: KillAt) -> bool {
    let mut child = tokencomp(data, args).spawn().expect("starts");
    if let KillAt::After(d) = at {
        std::thread::sleep(d);
        // A process that already exited is not an error here: the kill came too late.
        if let Err(e) = child.kill() {
            assert!(child.try_wait().expect("status").is_some(), "kill failed: {e}");
        }
    }
    let out = child.wait_with_output().expect("waits");
    match out.status.signal() {
        Some(SIGKILL) => true,
        Some(s) => panic!("{args:?} died of signal {s}"),
        None => {
            assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
            false
        }
    }
}

/// The ledger in a data directory; empty when there is no ledger file.
fn read(data: &Path) -> Vec<StoredEvent> {
    let path = data.join(LEDGER);
    if !path.exists() {
        return Vec::new();
    }
    SqliteStore::open(&path).expect("the ledger opens").events().expect("the events read")
}

/// The ledger in a data directory, its hash chain checked.
fn ledger(data: &Path) -> Vec<StoredEvent> {
    let events = read(data);
    if let Err(e) = verify(&events) {
        panic!("{}: the hash chain breaks: {e}", data.display());
    }
    events
}

fn periods_run(events: &[StoredEvent]) -> usize {
    events.iter().filter(|e| e.event.kind == EventKind::PeriodRun).count()
}

/// What an uninterrupted run leaves, and where it may be cut.
struct Reference {
    dump: String,
    /// Event count → committed periods, for every point a run may stop at: before its first
    /// period and after each one.
    cuts: BTreeMap<usize, usize>,
    /// Committed periods → the run's events then recorded.
    progress: Vec<usize>,
    events: Vec<StoredEvent>,
}

impl Reference {
    fn new(before: usize, events: Vec<StoredEvent>) -> Reference {
        let mut cuts = BTreeMap::from([(before, 0)]);
        let mut periods = 0;
        for (i, e) in events.iter().enumerate().skip(before) {
            if e.event.kind == EventKind::PeriodRun {
                periods += 1;
                cuts.insert(i + 1, periods);
            }
        }
        let progress = cuts.keys().map(|n| n - before).collect();
        Reference { dump: canonical_dump(&events), cuts, progress, events }
    }

    /// Ranges of committed-period counts (strictly between none and all) that split the run's
    /// events into `BUCKETS` equal shares: range `i` holds every count the ledger shows while
    /// the run writes the `i`-th share. Small early periods share a range; a large late one
    /// has its own. Writing is most of a period's time, so each range is about as long a
    /// stretch of the run as the others.
    fn buckets(&self) -> Vec<(usize, usize)> {
        let total = self.progress[PERIODS];
        (0..BUCKETS)
            .filter_map(|i| {
                let (from, to) = (i * total / BUCKETS, (i + 1) * total / BUCKETS);
                // Count k shows while period k + 1 is written: events progress[k]..progress[k + 1].
                let shown = (1..PERIODS).filter(|&k| self.progress[k] < to && self.progress[k + 1] > from);
                let (lo, hi) = shown.clone().min().zip(shown.max())?;
                Some((lo, hi))
            })
            .collect()
    }

    /// Checks a ledger left by a killed run and returns how many periods it committed.
    fn committed(&self, events: &[StoredEvent], what: &str) -> usize {
        let Some(&periods) = self.cuts.get(&events.len()) else {
            panic!("{what}: {} events is not a period boundary of the uninterrupted run", events.len());
        };
        assert!(
            canonical_dump(events) == canonical_dump(&self.events[..events.len()]),
            "{what}: the ledger is not the uninterrupted run's first {} events",
            events.len()
        );
        assert_eq!(periods_run(events), periods, "{what}");
        periods
    }
}

/// A kill of `run`, and what the re-run left, to be checked off the main thread.
struct Finished {
    data: PathBuf,
    what: String,
    /// The ledger as the kill left it.
    killed: Vec<StoredEvent>,
}

impl Finished {
    /// The re-run kept every event the killed run had recorded (sequence, record time and
    /// hash), the chain holds, and the ledger equals the uninterrupted run's. Checking the
    /// chain here also checks the killed ledger's, a prefix of this one.
    fn check(self, reference: &Reference) {
        let events = ledger(&self.data);
        assert!(
            events.len() >= self.killed.len() && events[..self.killed.len()] == self.killed[..],
            "{}: the re-run changed recorded events",
            self.what
        );
        assert!(
            canonical_dump(&events) == reference.dump,
            "{}: after the re-run the ledger differs from an uninterrupted run",
            self.what
        );
        std::fs::remove_dir_all(&self.data).expect("clean up");
    }
}

/// One kill of `run`, checked, then the run finished. Returns the periods that had been
/// committed when the kill landed, whether it found the process running, and the rest of the
/// checks.
fn run_killed(lab: &Lab, template: &Path, reference: &Reference, at: KillAt) -> (usize, bool, Finished) {
    let data = lab.copy_of(template);
    let what = format!("run killed at {at:?} ({})", data.display());
    let running = crash(&data, &["run", "--through", THROUGH, "--quiet"], at);
    let killed = read(&data);
    let committed = reference.committed(&killed, &what);
    let out = ok(&data, &["run", "--through", THROUGH, "--quiet"]);
    let rest = PERIODS - committed;
    if rest == 0 {
        assert!(out.contains("nothing to run"), "{what}: the re-run said {out}");
    } else {
        assert!(out.starts_with(&format!("ran {rest} period(s) through {THROUGH}")), "{what}: the re-run said {out}");
    }
    (committed, running, Finished { data, what, killed })
}

/// The kills of `run` so far, and how many were placed by bisection.
struct Campaign {
    /// Where each kill landed and the periods it left committed.
    kills: Vec<(KillAt, usize)>,
    probes: usize,
    window: Duration,
}

impl Campaign {
    fn kill(&mut self, kill: &impl Fn(KillAt) -> usize, at: KillAt) -> usize {
        let n = kill(at);
        self.kills.push((at, n));
        n
    }

    fn distinct(&self) -> BTreeSet<usize> {
        self.kills.iter().map(|k| k.1).collect()
    }

    /// Kills until one leaves `lo..=hi` periods committed (or the probes run out), bisecting
    /// the delays between the latest kill that left fewer and the earliest that left more, and
    /// starting over from every kill so far when the interval closes without reaching it.
    fn reach(&mut self, kill: &impl Fn(KillAt) -> usize, lo: usize, hi: usize) {
        let mut interval: Option<(Duration, Duration)> = None;
        while self.probes < MAX_PROBES && !self.kills.iter().any(|k| (lo..=hi).contains(&k.1)) {
            let (a, b) = interval.unwrap_or_else(|| self.bracket(lo, hi));
            let mid = (a + b) / 2;
            self.probes += 1;
            interval = match self.kill(kill, KillAt::After(mid)) {
                n if n < lo => Some((mid, b)),
                n if n > hi => Some((a, mid)),
                _ => None,
            }
            .filter(|(a, b)| *b - *a > Duration::from_millis(1));
        }
    }

    /// The earliest delay that left more than `hi` periods, and the latest before it that left
    /// fewer than `lo`.
    fn bracket(&self, lo: usize, hi: usize) -> (Duration, Duration) {
        let above = self.delays(|n| n > hi).min().unwrap_or(self.window * 2);
        let below = self.delays(|n| n < lo).filter(|d| *d < above).max().unwrap_or_default();
        (below, above)
    }

    /// The delays of the kills that left a count `keep` accepts.
    fn delays(&self, keep: impl Fn(usize) -> bool) -> impl Iterator<Item = Duration> {
        self.kills.iter().filter_map(move |&(at, n)| match at {
            KillAt::After(d) if keep(n) => Some(d),
            KillAt::After(_) | KillAt::End => None,
        })
    }
}

fn histogram(kills: &[(KillAt, usize)]) -> String {
    let mut counts = [0usize; PERIODS + 1];
    for &(_, n) in kills {
        counts[n] += 1;
    }
    let mut out = String::new();
    for (n, c) in counts.iter().enumerate() {
        let _ = writeln!(out, "  {n:>2} periods committed: {c:>3} {}", "#".repeat(*c));
    }
    out
}

#[test]
fn a_run_killed_anywhere_and_run_again_equals_an_uninterrupted_run() {
    let started = Instant::now();
    let lab = Lab::new();
    let template = lab.initialized();
    let before = read(&template).len();

    // The uninterrupted run, twice: its length sets the kill window (the shorter, the second
    // run having warm caches), and the two must record the same ledger.
    let a = lab.copy_of(&template);
    let b = lab.copy_of(&template);
    let run = ["run", "--through", THROUGH, "--quiet"];
    let length = timed(&a, &run).min(timed(&b, &run));
    let reference = Reference::new(before, ledger(&a));
    assert_eq!(canonical_dump(&ledger(&b)), reference.dump, "two uninterrupted runs differ");
    assert_eq!(periods_run(&reference.events), PERIODS, "the generated company's run");

    let window = length * 11 / 10;
    let buckets = reference.buckets();
    let mut campaign = Campaign { kills: Vec::new(), probes: 0, window };
    let found_running = std::cell::Cell::new(0);
    // The ledger after each re-run is read and checked on a second thread while the next kill
    // runs: a debug build takes about as long to hash the chain as to run.
    std::thread::scope(|s| {
        // Made here so that a failed assertion drops the sender, ending the checker, before the
        // scope waits for it.
        let (send, receive) = std::sync::mpsc::channel::<Finished>();
        let reference = &reference;
        s.spawn(move || receive.into_iter().for_each(|f| f.check(reference)));
        let kill = |at: KillAt| {
            let (n, running, finished) = run_killed(&lab, &template, reference, at);
            send.send(finished).expect("the checker runs");
            if running {
                found_running.set(found_running.get() + 1);
            }
            n
        };
        let mut rng = SplitMix64(SEED);
        for _ in 0..RUN_SEEDS {
            campaign.kill(&kill, KillAt::After(rng.delay(window)));
        }
        // Both ends, whatever the seeded delays reached: killed at once, before the process has
        // opened the ledger, and after it ended by itself.
        campaign.kill(&kill, KillAt::After(Duration::ZERO));
        campaign.kill(&kill, KillAt::End);
        for &(lo, hi) in &buckets {
            campaign.reach(&kill, lo, hi);
        }
        // More distinct counts, if need be: the widest gap (in events) between counts reached.
        while campaign.distinct().len() < MIN_DISTINCT && campaign.probes < MAX_PROBES {
            let reached: Vec<usize> = campaign.distinct().into_iter().collect();
            let Some(gap) = reached
                .windows(2)
                .filter(|w| w[1] - w[0] >= 2)
                .max_by_key(|w| reference.progress[w[1]] - reference.progress[w[0]])
            else {
                break;
            };
            campaign.reach(&kill, gap[0] + 1, gap[1] - 1);
        }
    });

    let kills = campaign.kills;
    let seeded: BTreeSet<usize> = kills[..RUN_SEEDS].iter().map(|k| k.1).collect();
    let distinct: BTreeSet<usize> = kills.iter().map(|k| k.1).collect();
    println!(
        "{} kills of a {:.2} s run of {PERIODS} periods ({RUN_SEEDS} at seeded delays up to {:.2} s, 2 at the ends, {} bisecting), in {:.1} s\n\
         {} found the process running; the seeded kills left {} distinct counts of committed periods, all kills {}; \
         ranges to reach {:?}\n{}",
        kills.len(),
        length.as_secs_f64(),
        window.as_secs_f64(),
        campaign.probes,
        started.elapsed().as_secs_f64(),
        found_running.get(),
        seeded.len(),
        distinct.len(),
        buckets,
        histogram(&kills),
    );
    assert_eq!(distinct.first(), Some(&0), "no kill landed before the first period");
    assert_eq!(distinct.last(), Some(&PERIODS), "no kill landed after the last period");
    for (lo, hi) in buckets {
        assert!(distinct.range(lo..=hi).next().is_some(), "no kill left {lo}..={hi} periods committed");
    }
    assert!(distinct.len() >= MIN_DISTINCT, "only {} distinct counts", distinct.len());
}

/// What the kills of a single-transaction command left.
#[derive(Debug, Default)]
struct Outcomes {
    nothing: usize,
    everything: usize,
    /// Kills that found the process running and still left everything: they landed after the
    /// commit.
    everything_while_running: usize,
}

/// Kills a single-transaction command at seeded points (and at once, and after its end), and
/// checks each time that the ledger holds none or all of it and that `again` completes it.
fn all_or_nothing(start: impl Fn() -> PathBuf, args: &[&str], again: impl Fn(&Path, bool), seed: u64) -> Outcomes {
    let data = start();
    let nothing = canonical_dump(&ledger(&data));
    let length = timed(&data, args);
    let everything = canonical_dump(&ledger(&data));
    assert_ne!(nothing, everything);
    let mut rng = SplitMix64(seed);
    let mut points: Vec<KillAt> = (0..COMMAND_SEEDS).map(|_| KillAt::After(rng.delay(length * 11 / 10))).collect();
    points.extend([KillAt::After(Duration::ZERO), KillAt::End]);
    let mut out = Outcomes::default();
    for at in points {
        let data = start();
        let running = crash(&data, args, at);
        let what = format!("{args:?} killed at {at:?} ({})", data.display());
        let dump = canonical_dump(&ledger(&data));
        let complete = if dump == nothing {
            out.nothing += 1;
            false
        } else if dump == everything {
            out.everything += 1;
            out.everything_while_running += usize::from(running);
            true
        } else {
            panic!("{what}: the ledger holds part of the command's events");
        };
        again(&data, complete);
        assert!(canonical_dump(&ledger(&data)) == everything, "{what}: running it again did not complete it");
        std::fs::remove_dir_all(&data).expect("clean up");
    }
    out
}

#[test]
fn init_killed_anywhere_records_nothing_or_everything() {
    let lab = Lab::new();
    let company = lab.company().display().to_string();
    let args = ["init", company.as_str()];
    let out = all_or_nothing(
        || lab.data_dir(),
        &args,
        |data, complete| {
            if complete {
                let out = tokencomp(data, &args).output().expect("runs");
                assert_eq!(out.status.code(), Some(2), "init over a complete ledger must be refused");
                assert!(String::from_utf8_lossy(&out.stderr).contains("already has a company"));
            } else {
                ok(data, &args);
            }
        },
        SEED ^ 0x1,
    );
    println!("init killed {} times: {out:?}", COMMAND_SEEDS + 2);
    assert!(out.nothing >= 1 && out.everything >= 1, "{out:?}");
}

#[test]
fn import_killed_anywhere_records_nothing_or_everything() {
    let lab = Lab::new();
    let template = lab.initialized();
    let prices = lab.prices().display().to_string();
    let args = ["import", "prices", prices.as_str()];
    let out = all_or_nothing(
        || lab.copy_of(&template),
        &args,
        |data, complete| {
            let out = ok(data, &args);
            let expected = if complete { " 0 new events (6000 unchanged)" } else { " 6000 new events (0 unchanged)" };
            assert!(out.trim_end().ends_with(expected), "the re-run said {out}");
        },
        SEED ^ 0x2,
    );
    println!("import killed {} times: {out:?}", COMMAND_SEEDS + 2);
    assert!(out.nothing >= 1 && out.everything >= 1, "{out:?}");
}
