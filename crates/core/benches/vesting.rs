//! Vested-amount evaluation at scale: 1,000,000 grants in parametric form, each evaluated at 48
//! month ends, for three schedule shapes (per-second linear, a fixed 30-day step, calendar
//! months).
//!
//! Every shape is measured against a reference kernel run in the same process over the same
//! grants: a plain `total * elapsed / duration` in `u128` per grant and point, with none of a
//! schedule's rules (cliffs, installments, day-of-month clamping, 256-bit safety), so
//! `ours/reference speed` says what those rules cost (the target is at least 0.5x: no
//! worse than twice the bare arithmetic). The bench also reports the memory
//! the grants hold (target: under 200 MB for 1,000,000) and writes everything to
//! `target/bench-results/vesting.json` for the tables in docs/testing-and-benchmarks.md.
//!
//! `cargo bench -p tokencomp-core --bench vesting -- --test` (and `cargo test --benches`) runs a
//! 10,000-grant data set through the same code paths and correctness checks in about a second:
//! ratios and memory printed, nothing written. A criterion filter (`-- calendar`) also limits
//! the shapes timed here.
//!
//! Memory is counted, not sampled from an allocator: the workspace forbids `unsafe_code`, and a
//! counting `GlobalAlloc` needs `unsafe impl`. The count is exact for these shapes (the `Vec`'s
//! capacity times the element size plus any heap a schedule owns, which is none for `Calendar`
//! and `Linear`); the growth of the process's resident set (Linux) is printed beside it as an
//! independent measurement.

// Floats and lossy casts appear only in turning durations and byte counts into the printed
// and JSON-reported rates, ratios and megabytes; no vested amount goes through them.
#![allow(clippy::float_arithmetic, clippy::cast_precision_loss)]

mod support;

use std::hint::black_box;
use std::ops::Range;
use std::path::PathBuf;
use std::time::{Duration, Instant as Clock};

use criterion::{Criterion, SamplingMode, Throughput};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use support::{Mode, OPTIMIZED, SplitMix64, filter_from_args, selects, status_bytes, thousands, write_results};
use tokencomp_core::calendar::{self, Instant};
use tokencomp_core::schedule::{Allocation, At, Calendar, DayOfMonth, Linear, LinearModel, Period, Schedule};

/// Grants in a full run, and in criterion's test mode.
const FULL_GRANTS: usize = 1_000_000;
const TEST_GRANTS: usize = 10_000;
/// Evaluation points: the last day of each month, January 2023 to December 2026.
const POINTS: usize = 48;
/// Grant starts are spread over 2022-01-01 ..= 2024-12-31.
const START_DAYS: u64 = 1096;
/// Totals are drawn below 10^24 base units (a million tokens of 18 decimals)...
const MAX_TOTAL: u128 = 1_000_000_000_000_000_000_000_000;
/// ...except one grant in this many, drawn just below `u128::MAX / 1000`, where `total * elapsed`
/// overflows `u128` and the engine takes its 256-bit path.
const WIDE_EVERY: u64 = 1000;
/// Every this-many-th grant (and every wide one) is checked against an independent computation.
const CHECK_EVERY: usize = 97;
const SEED: u64 = 0x7c0f_fee5_eed5_1234;
/// Grants per chunk, and runs per chunk, in the in-process timing (see `time_both`).
const TIMING_CHUNK: usize = 50_000;
const TIMING_REPS: usize = 5;

const TARGET_RATIO: f64 = 0.5;
const TARGET_MB: f64 = 200.0;
/// Megabytes are 10^6 bytes.
const MB: f64 = 1e6;

/// A grant as the benchmark holds it: the amount and its schedule, nothing else.
struct Grant {
    total: u128,
    schedule: Schedule,
}

/// The reference kernel's view of the same grants, as flat arrays.
struct Reference {
    totals: Vec<u128>,
    starts: Vec<Instant>,
    durations: Vec<i64>,
}

#[derive(Clone, Copy)]
enum Shape {
    Linear,
    FixedStep,
    CalendarMonth,
}

impl Shape {
    const ALL: [Shape; 3] = [Shape::Linear, Shape::FixedStep, Shape::CalendarMonth];

    fn name(self) -> &'static str {
        match self {
            Shape::Linear => "linear-per-second",
            Shape::FixedStep => "fixed-step-30d",
            Shape::CalendarMonth => "calendar-month",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Shape::Linear => "OpenZeppelin linear, 1 s granularity, 4 years, 12-month cliff",
            Shape::FixedStep => "48 installments every 30 days, 12-installment cliff, cumulative round down",
            Shape::CalendarMonth => {
                "48 monthly installments on the start's day (or the month's last), 12-month cliff, cumulative round down"
            }
        }
    }
}

/// Whether criterion's filter runs `shape`, so the timing and checks here run for the same shapes.
fn selected(shape: Shape, filter: Option<&str>) -> bool {
    selects(filter, ["ours", "reference"].map(|kernel| format!("vesting/{}/{kernel}", shape.name())))
}

/// One grant's draw, shared by every shape so the three data sets differ only in the schedule.
#[derive(Clone, Copy)]
struct Draw {
    start: u16,
    total: u128,
}

fn draws(n: usize) -> Vec<Draw> {
    let mut rng = SplitMix64(SEED);
    (0..n)
        .map(|_| {
            let start = u16::try_from(rng.next_u64() % START_DAYS).expect("START_DAYS fits in u16");
            let total = if rng.next_u64().is_multiple_of(WIDE_EVERY) {
                u128::MAX / 1000 - u128::from(rng.next_u64() % 1_000_000)
            } else {
                rng.next_u128() % MAX_TOTAL + 1
            };
            Draw { start, total }
        })
        .collect()
}

/// A schedule per possible start date, and the start and length (in seconds) the reference
/// kernel uses for it: from the start of the first day to the start of the day everything has
/// vested.
struct Template {
    schedule: Schedule,
    start: Instant,
    duration: i64,
}

fn first_start() -> Date {
    Date::constant(2022, 1, 1)
}

/// `months` after `date`, clamped to the month's end, by the engine's own month rule.
fn plus_months(date: Date, months: i32) -> Date {
    let anchor = calendar::month_index(i32::from(date.year()), date.month().unsigned_abs());
    calendar::to_date(calendar::month_day_clamped(anchor, months, date.day().unsigned_abs()))
}

fn start_instant(date: Date, tz: &TimeZone) -> Instant {
    calendar::start_of_day(date, tz).expect("benchmark dates are in range")
}

fn templates(shape: Shape, tz: &TimeZone) -> Vec<Template> {
    let first = calendar::to_day(first_start());
    (0..START_DAYS)
        .map(|offset| {
            let date = calendar::to_date(first + i32::try_from(offset).expect("START_DAYS fits in i32"));
            let start = start_instant(date, tz);
            let (schedule, end) = match shape {
                Shape::Linear => {
                    let cliff = start_instant(plus_months(date, 12), tz);
                    let end = start_instant(plus_months(date, 48), tz);
                    let linear = Linear::new(start, Some(cliff), end, 1, LinearModel::OpenZeppelin)
                        .expect("valid linear schedule");
                    (Schedule::Linear(linear), end)
                }
                Shape::FixedStep | Shape::CalendarMonth => {
                    let period = if let Shape::FixedStep = shape { Period::Days(30) } else { Period::Months(1) };
                    let cal = Calendar::new(
                        date,
                        period,
                        48,
                        12,
                        DayOfMonth::VestingStartDayOrLast,
                        Allocation::CumulativeRoundDown,
                    )
                    .expect("valid calendar schedule");
                    let end = start_instant(cal.installment_date(48), tz);
                    (Schedule::Calendar(cal), end)
                }
            };
            Template { schedule, start, duration: end - start }
        })
        .collect()
}

/// The 48 evaluation points, built once outside every timed loop.
fn points(tz: &TimeZone) -> Vec<At> {
    let first = calendar::month_index(2023, 1);
    (0..POINTS)
        .map(|i| {
            let (y, m) = calendar::from_month_index(first + i32::try_from(i).expect("48 fits in i32"));
            let date = calendar::to_date(calendar::day_from_civil(y, m, calendar::days_in_month(y, m)));
            At::new(calendar::to_day(date), calendar::end_of_day(date, tz).expect("benchmark dates are in range"))
        })
        .collect()
}

fn index(draw: Draw) -> usize {
    usize::from(draw.start)
}

/// Heap bytes a schedule owns beyond its inline size.
fn heap_bytes(schedule: &Schedule) -> usize {
    match schedule {
        Schedule::Calendar(_) | Schedule::Linear(_) => 0,
        Schedule::Custom(c) => c.len() * (size_of::<Date>() + size_of::<calendar::Day>() + size_of::<u128>()),
    }
}

struct Memory {
    bytes: usize,
    rss_delta: Option<u64>,
}

/// Builds the grants in parametric form, counting what they hold.
fn build_grants(draws: &[Draw], templates: &[Template]) -> (Vec<Grant>, Memory) {
    let before = status_bytes("VmRSS:");
    let mut grants = Vec::with_capacity(draws.len());
    for &d in draws {
        grants.push(Grant { total: d.total, schedule: templates[index(d)].schedule.clone() });
    }
    let after = status_bytes("VmRSS:");
    let bytes = grants.capacity() * size_of::<Grant>() + grants.iter().map(|g| heap_bytes(&g.schedule)).sum::<usize>();
    let rss_delta = before.zip(after).map(|(b, a)| a.saturating_sub(b));
    (grants, Memory { bytes, rss_delta })
}

fn build_reference(draws: &[Draw], templates: &[Template]) -> Reference {
    Reference {
        totals: draws.iter().map(|d| d.total).collect(),
        starts: draws.iter().map(|&d| templates[index(d)].start).collect(),
        durations: draws.iter().map(|&d| templates[index(d)].duration).collect(),
    }
}

/// Ours: every grant at every point through the engine's public entry point.
#[inline(never)]
fn eval_ours(grants: &[Grant], points: &[At]) -> u128 {
    let mut sum: u128 = 0;
    for g in grants {
        for at in points {
            // A checksum only: wide grants make the true sum overflow u128.
            sum = sum.wrapping_add(g.schedule.vested(g.total, at));
        }
    }
    sum
}

/// The reference kernel for one grant and instant: `total * elapsed / duration`, elapsed clamped
/// to `[0, duration]`. The multiply wraps, so for the rare wide grant (product over 2^128) the
/// kernel is cheaper than an exact evaluation and its value is wrong: it is a speed bound, not
/// an oracle.
#[inline(always)]
fn reference_one(total: u128, start: Instant, duration: i64, t: Instant) -> u128 {
    let elapsed = (t - start).clamp(0, duration);
    total.wrapping_mul(u128::from(elapsed.unsigned_abs())) / u128::from(duration.unsigned_abs())
}

#[inline(never)]
fn eval_reference(r: &Reference, grants: Range<usize>, instants: &[Instant]) -> u128 {
    let mut sum: u128 = 0;
    let (totals, starts, durations) = (&r.totals[grants.clone()], &r.starts[grants.clone()], &r.durations[grants]);
    for ((&total, &start), &duration) in totals.iter().zip(starts).zip(durations) {
        for &t in instants {
            sum = sum.wrapping_add(reference_one(total, start, duration, t));
        }
    }
    sum
}

/// `floor(total * num / den)` exactly for `num <= den < 2^64`, without a wide product:
/// `(total / den) * num + (total % den) * num / den`.
fn exact_mul_div(total: u128, num: u128, den: u128) -> u128 {
    assert!(num <= den && den < 1 << 64);
    (total / den) * num + (total % den) * num / den
}

/// Checks ours against independent computations on a sample (every `CHECK_EVERY`-th grant and
/// every wide grant), so the speed comparison is between two things that compute the same
/// numbers. Returns how many (grant, point) pairs were checked.
fn check(shape: Shape, grants: &[Grant], reference: &Reference, points: &[At]) -> usize {
    let mut checked = 0;
    for (i, g) in grants.iter().enumerate() {
        if !i.is_multiple_of(CHECK_EVERY) && g.total < MAX_TOTAL {
            continue;
        }
        let (start, duration) = (reference.starts[i], reference.durations[i]);
        assert_eq!(reference.totals[i], g.total);
        let mut previous = 0;
        for at in points {
            let ours = g.schedule.vested(g.total, at);
            let expected = match &g.schedule {
                Schedule::Linear(l) => {
                    // Same formula as the reference kernel, with OpenZeppelin's cliff.
                    assert_eq!((l.start(), l.end() - l.start()), (start, duration), "grant {i}");
                    let cliff = l.cliff().expect("every benchmark grant has a cliff");
                    if at.instant < cliff {
                        0
                    } else {
                        let elapsed = (at.instant - start).clamp(0, duration);
                        let exact =
                            exact_mul_div(g.total, elapsed.unsigned_abs().into(), duration.unsigned_abs().into());
                        if g.total.checked_mul(elapsed.unsigned_abs().into()).is_some() {
                            assert_eq!(reference_one(g.total, start, duration, at.instant), exact, "grant {i}");
                        }
                        exact
                    }
                }
                Schedule::Calendar(c) => {
                    // Installments counted from their dates, not by `elapsed`'s arithmetic.
                    let n = c.occurrences();
                    let k = (1..=n).filter(|&k| c.installment_day(k) <= at.day).count();
                    let k = u32::try_from(k).expect("at most 48 installments");
                    if k < c.cliff() { 0 } else { exact_mul_div(g.total, k.into(), n.into()) }
                }
                Schedule::Custom(_) => unreachable!("the benchmark builds no custom schedules"),
            };
            assert_eq!(ours, expected, "{} grant {i} at day {}", shape.name(), at.day);
            assert!(previous <= ours && ours <= g.total, "{} grant {i}: not monotone", shape.name());
            if at.instant >= start + duration {
                assert_eq!(ours, g.total, "{} grant {i}: not fully vested at the end", shape.name());
            }
            previous = ours;
            checked += 1;
        }
    }
    checked
}

/// Wall time of one pass of each loop over all grants, robust to a busy machine: the grants
/// are taken in chunks, each chunk is run `reps` times alternating ours and the reference, and
/// the per-chunk minimums are summed. Both loops see the same interference at a granularity
/// of milliseconds. A repeated chunk (5.6 MB of grants) may be served from the L3 cache where a
/// whole pass streams from memory; both loops are compute-bound (some 500 ns of arithmetic per
/// grant), and criterion's whole-pass medians agree with these figures within noise.
fn time_both(
    reps: usize,
    grants: usize,
    mut ours: impl FnMut(Range<usize>) -> u128,
    mut reference: impl FnMut(Range<usize>) -> u128,
) -> (Duration, Duration) {
    let (mut total_ours, mut total_ref) = (Duration::ZERO, Duration::ZERO);
    for lo in (0..grants).step_by(TIMING_CHUNK) {
        let chunk = lo..grants.min(lo + TIMING_CHUNK);
        let (mut best_ours, mut best_ref) = (Duration::MAX, Duration::MAX);
        for _ in 0..reps {
            let t = Clock::now();
            black_box(ours(chunk.clone()));
            best_ours = best_ours.min(t.elapsed());
            let t = Clock::now();
            black_box(reference(chunk.clone()));
            best_ref = best_ref.min(t.elapsed());
        }
        total_ours += best_ours;
        total_ref += best_ref;
    }
    (total_ours, total_ref)
}

struct ShapeResult {
    shape: Shape,
    ours_ns: f64,
    reference_ns: f64,
    ratio: f64,
    memory: Memory,
    checked: usize,
}

fn run_shape(c: &mut Criterion, mode: Mode, shape: Shape, draws: &[Draw], tz: &TimeZone, at: &[At]) -> ShapeResult {
    let templates = templates(shape, tz);
    let (grants, memory) = build_grants(draws, &templates);
    let reference = build_reference(draws, &templates);
    drop(templates);
    let instants: Vec<Instant> = at.iter().map(|p| p.instant).collect();
    let evals = grants.len() * at.len();
    let checked = if mode == Mode::List { 0 } else { check(shape, &grants, &reference, at) };

    // Our own timing first: criterion does not hand its estimates back, and this also sizes
    // criterion's measurement window to the loop's length.
    let (ours, refr) = if mode == Mode::List {
        (Duration::ZERO, Duration::ZERO)
    } else {
        time_both(
            if mode == Mode::Full { TIMING_REPS } else { 3 },
            grants.len(),
            |chunk| eval_ours(black_box(&grants[chunk]), black_box(at)),
            |chunk| eval_reference(black_box(&reference), chunk, black_box(&instants)),
        )
    };

    let mut group = c.benchmark_group(format!("vesting/{}", shape.name()));
    group.throughput(Throughput::Elements(u64::try_from(evals).expect("evaluations fit in u64")));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    if mode == Mode::Full {
        // Ten samples of one pass each, with room to spare so criterion does not warn.
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(ours.max(refr).mul_f64(13.0).max(Duration::from_secs(2)));
    }
    group.bench_function("ours", |b| b.iter(|| eval_ours(black_box(&grants), black_box(at))));
    group.bench_function("reference", |b| {
        b.iter(|| eval_reference(black_box(&reference), 0..grants.len(), black_box(&instants)))
    });
    group.finish();

    let per_eval = |d: Duration| d.as_secs_f64() * 1e9 / evals as f64;
    let (ours_ns, reference_ns) = (per_eval(ours), per_eval(refr));
    ShapeResult { shape, ours_ns, reference_ns, ratio: reference_ns / ours_ns, memory, checked }
}

fn report(r: &ShapeResult, grants: usize) {
    let name = r.shape.name();
    let verdict = |ok: bool| if ok { "ok" } else { "BELOW TARGET" };
    println!(
        "ratio {name}: ours {:.2} ns/eval, reference {:.2} ns/eval, ours/reference speed = {:.2}x (target >= {TARGET_RATIO}x) {}",
        r.ours_ns,
        r.reference_ns,
        r.ratio,
        if OPTIMIZED { verdict(r.ratio >= TARGET_RATIO) } else { "(unoptimized build, not comparable)" },
    );
    let per_grant = r.memory.bytes as f64 / grants as f64;
    let mb = r.memory.bytes as f64 / MB;
    // A small data set can land in pages the allocator already holds, so its resident-set
    // growth means nothing; a full one is mapped fresh.
    let rss = match r.memory.rss_delta {
        Some(b) if grants == FULL_GRANTS => format!("; resident set grew {:.1} MB", b as f64 / MB),
        _ => String::new(),
    };
    let projected = if grants == FULL_GRANTS {
        String::new()
    } else {
        format!("; {} grants would hold {:.1} MB", thousands(FULL_GRANTS), per_grant * FULL_GRANTS as f64 / MB)
    };
    println!(
        "memory {name}: {} grants hold {mb:.1} MB (target < {TARGET_MB} MB) {}; {per_grant:.0} bytes/grant{rss}{projected}",
        thousands(grants),
        verdict(per_grant * FULL_GRANTS as f64 / MB < TARGET_MB),
    );
    println!("check {name}: {} sampled evaluations equal the independent computation", thousands(r.checked));
}

fn write_json(results: &[ShapeResult], grants: usize) -> std::io::Result<PathBuf> {
    let shapes: Vec<Json> = results
        .iter()
        .map(|r| {
            Json::Obj(vec![
                ("shape", Json::str(r.shape.name())),
                ("schedule", Json::str(r.shape.describe())),
                ("ours_ns_per_eval", Json::float(r.ours_ns)),
                ("reference_ns_per_eval", Json::float(r.reference_ns)),
                ("ours_per_second", Json::float(1e9 / r.ours_ns)),
                ("reference_per_second", Json::float(1e9 / r.reference_ns)),
                ("speed_ratio", Json::float(r.ratio)),
                ("target_speed_ratio", Json::float(TARGET_RATIO)),
                ("meets_speed_target", Json::Bool(r.ratio >= TARGET_RATIO)),
                ("memory_bytes", Json::int(r.memory.bytes)),
                ("memory_mb", Json::float(r.memory.bytes as f64 / MB)),
                ("bytes_per_grant", Json::float(r.memory.bytes as f64 / grants as f64)),
                ("resident_set_growth_bytes", r.memory.rss_delta.map_or(Json::Null, Json::int)),
                ("target_memory_mb", Json::float(TARGET_MB)),
                ("meets_memory_target", Json::Bool((r.memory.bytes as f64 / MB) < TARGET_MB)),
                ("checked_evaluations", Json::int(r.checked)),
            ])
        })
        .collect();
    let doc = Json::Obj(vec![
        ("bench", Json::str("vesting")),
        ("grants", Json::int(grants)),
        ("points", Json::int(POINTS)),
        ("evaluations_per_pass", Json::int(grants * POINTS)),
        (
            "timing",
            Json::Str(format!(
                "per {}-grant chunk, the minimum wall time of {TIMING_REPS} alternating runs of each loop, summed over the chunks; single thread",
                thousands(TIMING_CHUNK)
            )),
        ),
        ("megabyte", Json::int(1_000_000)),
        ("size_of_schedule", Json::int(size_of::<Schedule>())),
        ("size_of_grant", Json::int(size_of::<Grant>())),
        ("shapes", Json::Arr(shapes)),
    ]);
    write_results("vesting", &doc)
}

/// The results document, pretty-printed as serde_json prints one: the domain crate, whose
/// bench this is, depends on no JSON library.
enum Json {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(&'static str, Json)>),
}

impl Json {
    fn str(s: &str) -> Json {
        Json::Str(s.to_owned())
    }

    fn int(n: impl std::fmt::Display) -> Json {
        Json::Num(n.to_string())
    }

    /// A finite float in its shortest exact form (`0.5`, `12.0`); JSON has no NaN or infinity.
    fn float(x: f64) -> Json {
        if x.is_finite() { Json::Num(format!("{x:?}")) } else { Json::Null }
    }

    fn write(&self, out: &mut String, depth: usize) {
        let pad = |out: &mut String, d: usize| out.push_str(&"  ".repeat(d));
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Num(n) => out.push_str(n),
            Json::Str(s) => quote(out, s),
            Json::Arr(items) if items.is_empty() => out.push_str("[]"),
            Json::Arr(items) => {
                out.push_str("[\n");
                for (i, item) in items.iter().enumerate() {
                    pad(out, depth + 1);
                    item.write(out, depth + 1);
                    out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                pad(out, depth);
                out.push(']');
            }
            Json::Obj(fields) if fields.is_empty() => out.push_str("{}"),
            Json::Obj(fields) => {
                out.push_str("{\n");
                for (i, (key, value)) in fields.iter().enumerate() {
                    pad(out, depth + 1);
                    quote(out, key);
                    out.push_str(": ");
                    value.write(out, depth + 1);
                    out.push_str(if i + 1 < fields.len() { ",\n" } else { "\n" });
                }
                pad(out, depth);
                out.push('}');
            }
        }
    }
}

fn quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

impl std::fmt::Display for Json {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::new();
        self.write(&mut out, 0);
        f.write_str(&out)
    }
}

fn main() {
    let mode = Mode::from_args();
    let mut c = Criterion::default().configure_from_args();
    let grants = if mode == Mode::Full { FULL_GRANTS } else { TEST_GRANTS };
    let tz = TimeZone::get("America/New_York").expect("bundled time zone");
    let at = points(&tz);
    let draws = draws(grants);

    let filter = filter_from_args();
    let results: Vec<ShapeResult> = Shape::ALL
        .into_iter()
        .filter(|&shape| selected(shape, filter.as_deref()))
        .map(|shape| run_shape(&mut c, mode, shape, &draws, &tz, &at))
        .collect();
    c.final_summary();
    if mode == Mode::List {
        return;
    }

    println!();
    println!(
        "vesting: {} grants x {POINTS} points = {} evaluations per pass{}",
        thousands(grants),
        thousands(grants * POINTS),
        if mode == Mode::Test { " (test mode: small data set, 3 runs)" } else { "" },
    );
    println!(
        "size_of::<Schedule>() = {} bytes, size_of::<Grant>() = {} bytes",
        size_of::<Schedule>(),
        size_of::<Grant>()
    );
    for r in &results {
        report(r, grants);
    }
    if results.len() < Shape::ALL.len() {
        println!("filtered run: results not written (a full `cargo bench` writes target/bench-results/vesting.json)");
    } else if mode == Mode::Full {
        match write_json(&results, grants) {
            Ok(path) => println!("results written to {}", path.display()),
            Err(e) => eprintln!("could not write bench results: {e}"),
        }
    } else {
        println!("test mode: results not written (a full `cargo bench` writes target/bench-results/vesting.json)");
    }
}
