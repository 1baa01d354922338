//! A monthly payroll run at scale: 100,000 people, one grant each, every grant vesting once in
//! the period (2026-10), turned into income events (`payroll::income_events`), the period's
//! export rows (`payroll::period_rows`) and its CSV (`payroll::to_csv`).
//!
//! The reference kernel, run in the same process over the same grants, is the plain vest
//! computation a run needs to know that a vest happened: `Schedule::vested(total, &At)` at the
//! period's end minus at its start, per grant. `ours/reference time` is therefore far above 1
//! and says what turning a vest into payroll costs: fair value and FX lookups in the price
//! book, the person's year-to-date wages, the withholding lines of three jurisdictions,
//! settlement (the sell-to-cover search, net settlement, cash), the lot, and the export's
//! per-person decimal columns.
//!
//! The people are mostly US employees across the seven states of the rules table, with UK
//! employees (PAYE and NICs in GBP), German employees under a company flat rule (EUR), and US
//! and foreign contractors; grants settle by sell-to-cover (the company default), net
//! settlement or cash, a few carry a hybrid USD floor (some of them paying a top-up), and a
//! few are large enough to cross the $1,000,000 supplemental-wage switch to 37% in one vest.
//! The bench asserts that every one of those paths ran.
//!
//! Where the time goes (2 cores, release; the figures of a run are in
//! `target/bench-results/payroll.json`): `income_events` a little under half of a pass,
//! `period_rows` about a third, `to_csv` a quarter. Token × price takes a u128 fast path, a
//! tax line shares its rule's source text with the rules table, `period_rows` asks for each
//! day's period once and `to_csv` writes in place, so what remains is the settlement search,
//! the tax lines' own allocation, lookups by string key, the per-person row map and the
//! `Decimal` arithmetic of 23 columns. A pass peaks at a few hundred megabytes for 100,000
//! events: each event owns about 1 kB (half of it tax lines), and the rows, their map and the
//! CSV are alive at once.
//!
//! Checked, not only timed: one event per vest; each event's units equal the reference vest
//! of its grant (and the vests recognized from `Grant::timeline`, an independent path); the
//! CSV's `tokens_vested` column sums to the reference total; every row's employee withholding
//! is at most its gross wages; each settlement accounts for every vested token; the CSV reads
//! back to the same rows.
//!
//! `cargo bench -p tokencomp-compliance --bench payroll -- --test` (and `cargo test --benches`) runs
//! a 2,000-person company through the same code paths and checks: numbers printed, nothing
//! written.
//!
//! Memory is the growth of the process's peak resident set over one payroll pass (Linux: the
//! peak is reset through `/proc/self/clear_refs` first), beside a count of the bytes the
//! events own (their capacities; no counting allocator, since the workspace forbids `unsafe`).

// Floats and lossy casts appear only in turning durations and byte counts into the printed
// and JSON-reported rates, ratios and megabytes; no amount, wage or tax goes through them.
#![allow(clippy::float_arithmetic, clippy::cast_precision_loss)]

#[path = "../../core/benches/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant as Clock};

use criterion::{Criterion, SamplingMode, Throughput};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use support::{Mode, OPTIMIZED, SplitMix64, filter_from_args, reset_peak, status_bytes, thousands, write_results};
use tokencomp_compliance::fmv::{PriceBook, TwapPoint};
use tokencomp_compliance::payroll::{
    self, AMOUNT_COLUMNS, Context, EMPLOYEE_TAX_COLUMNS, Form, ID_COLUMNS, IncomeEvent, PayrollRow, RecognizedVest,
    TOKEN_COLUMNS_FROM,
};
use tokencomp_compliance::rules::{FlatRule, Rules};
use tokencomp_compliance::withholding::{Payer, TaxKind, TaxLine};
use tokencomp_core::calendar;
use tokencomp_core::model::{
    CompanySettings, FlatRuleInput, FmvSource, GrantPolicy, GrantSize, GrantTerms, Person, PersonKind, Policy,
    WithholdingMethod,
};
use tokencomp_core::period::PayFrequency;
use tokencomp_core::{Allocation, At, Calendar, DayOfMonth, Grant, Period, Schedule};
use tokencomp_money::{Currency, Decimal, Token, TokenAmount};

/// No TWAP points: these companies take their FMV from closes.
static NO_TWAP: BTreeMap<Date, TwapPoint> = BTreeMap::new();

/// People (one grant, one vest each) in a full run, and in criterion's test mode.
const FULL_PEOPLE: usize = 100_000;
const TEST_PEOPLE: usize = 2_000;
const PERIOD: &str = "2026-10";
const PERIOD_FIRST: Date = Date::constant(2026, 10, 1);
const PERIOD_LAST: Date = Date::constant(2026, 10, 31);
/// Closes and FX rates are recorded for every day from here through the period's end.
const PRICES_FROM: Date = Date::constant(2026, 1, 1);
/// 48 monthly installments, the first 12 held back to the cliff. Starts fall in 2022-10-01 ..=
/// 2025-10-31, so the October 2026 installment is number 12 (the cliff) to 48 (the last).
const OCCURRENCES: u32 = 48;
const CLIFF: u32 = 12;
const FIRST_START: Date = Date::constant(2022, 10, 1);
const LAST_START: Date = Date::constant(2025, 10, 31);
const STATES: [&str; 7] = ["CA", "NY", "IL", "MA", "CO", "TX", "WA"];
const DECIMALS: u8 = 18;
/// One grant in this many is a "whale": 60,000,000 tokens, whose monthly vest alone is worth
/// more than $1,000,000 (the federal 37% switch).
const WHALE_EVERY: u64 = 400;
const SEED: u64 = 0x9a71_011f_0000_2026;
/// Runs of each loop in the in-process timing (the minimum is kept).
const FULL_REPS: usize = 3;
/// The reference pass takes milliseconds: it is repeated this many times per payroll pass.
const REFERENCE_REPS: usize = 20;

const MB: f64 = 1e6;

/// Everything the payroll reads, owned; `Context` borrows it.
struct Company {
    settings: CompanySettings,
    token: Token,
    people: BTreeMap<String, Person>,
    grants: BTreeMap<String, GrantTerms>,
    closes: BTreeMap<(Currency, Date), Decimal>,
    volumes: BTreeMap<(Currency, Date), Decimal>,
    fx: BTreeMap<(Currency, Date), Decimal>,
    rules: Rules,
}

impl Company {
    fn context(&self) -> Context<'_> {
        Context {
            settings: &self.settings,
            token: &self.token,
            people: &self.people,
            grants: &self.grants,
            prices: PriceBook { closes: &self.closes, volumes: &self.volumes, fx: &self.fx, twap: &NO_TWAP },
            rules: &self.rules,
            through: None,
        }
    }
}

fn dollars(n: u64) -> Decimal {
    Decimal::from(n)
}

fn person(rng: &mut SplitMix64, i: usize) -> Person {
    let id = format!("p{i:06}");
    // A comma in some names, so the CSV's quoting runs too.
    let name = if rng.one_in(10) { format!("Doe, Person {i}") } else { format!("Person {i}") };
    let draw = rng.range(0, 99);
    let (kind, country, region, salary) = match draw {
        0..=3 => (PersonKind::Contractor, "US", None, None),
        4 => (PersonKind::Advisor, "PT", None, None),
        5..=12 => (PersonKind::Employee, "GB", None, Some(dollars(rng.range(30_000, 250_000)))),
        13..=17 => (PersonKind::Employee, "DE", None, Some(dollars(rng.range(50_000, 150_000)))),
        _ => {
            let state = STATES[usize::try_from(rng.range(0, 6)).expect("a state index")];
            // Salaries from below the Social Security wage base to above the Additional
            // Medicare threshold; one in ten has no salary on file.
            let salary = (!rng.one_in(10)).then(|| dollars(rng.range(40_000, 450_000)));
            (PersonKind::Employee, "US", Some(state.to_owned()), salary)
        }
    };
    Person {
        id,
        name,
        email: None,
        kind,
        country: Some(country.to_owned()),
        region,
        hired: None,
        salary,
        wallet: (!rng.one_in(3)).then(|| format!("wallet-{i}")),
        tax: Default::default(),
    }
}

fn grant(rng: &mut SplitMix64, i: usize, holder: &str, token: &Token) -> GrantTerms {
    let first = calendar::to_day(FIRST_START);
    let span = u64::try_from(calendar::to_day(LAST_START) - first).expect("starts are in order");
    let start = calendar::to_date(first + i32::try_from(rng.range(0, span)).expect("a day offset"));
    let whale = rng.one_in(WHALE_EVERY);
    let tokens = if whale { 60_000_000 } else { rng.range(1_000, 200_000) };
    // A fraction of a token on top, so the installments' rounding is exercised.
    let amount = u128::from(tokens) * token.one() + u128::from(rng.next_u64()) % token.one();
    let withholding = match rng.range(0, 19) {
        0..=2 => Some(WithholdingMethod::NetSettlement),
        3..=4 => Some(WithholdingMethod::Cash),
        _ => None,
    };
    // Hybrid floors on small grants only: above the price (a top-up) or below it (none). The
    // floor's share is formed as floor × vest units / grant units in `Decimal`, so a large floor
    // on a large grant would leave its 96-bit range.
    let floor = (!whale && tokens <= 50_000 && rng.one_in(20)).then(|| dollars(tokens * rng.range(1, 3)));
    let schedule = Calendar::new(
        start,
        Period::Months(1),
        OCCURRENCES,
        CLIFF,
        DayOfMonth::VestingStartDayOrLast,
        Allocation::CumulativeRoundDown,
    )
    .expect("a valid calendar schedule");
    GrantTerms {
        grant: Grant {
            id: format!("g{i:06}"),
            holder: holder.to_owned(),
            amount: TokenAmount::from_base_units(amount),
            schedule: Schedule::Calendar(schedule),
            performance: Vec::new(),
            events: Vec::new(),
        },
        grant_date: start,
        size: GrantSize::Tokens,
        policy: GrantPolicy { withholding, floor, ..GrantPolicy::default() },
    }
}

/// Closes between $1.50 and $2.50 (8 places), GBP and EUR rates near 0.79 and 0.93 per USD, for
/// every day from `PRICES_FROM` through the period's end.
#[allow(clippy::type_complexity)]
fn price_book() -> (BTreeMap<(Currency, Date), Decimal>, BTreeMap<(Currency, Date), Decimal>) {
    let (mut closes, mut fx) = (BTreeMap::new(), BTreeMap::new());
    let mut day = PRICES_FROM;
    for n in 0_i64.. {
        closes.insert((Currency::USD, day), Decimal::new(150_000_000 + (n * 7_919_017) % 100_000_000, 8));
        fx.insert((Currency::GBP, day), Decimal::new(780_000 + (n * 3_571) % 20_000, 6));
        fx.insert((Currency::EUR, day), Decimal::new(920_000 + (n * 2_399) % 20_000, 6));
        if day == PERIOD_LAST {
            break;
        }
        day = day.tomorrow().expect("a date in range");
    }
    (closes, fx)
}

fn company(people: usize) -> Company {
    let mut rng = SplitMix64(SEED);
    let token = Token::new("TKN", DECIMALS).expect("a valid token");
    let mut people_map = BTreeMap::new();
    let mut grants = BTreeMap::new();
    for i in 0..people {
        let p = person(&mut rng, i);
        let g = grant(&mut rng, i, &p.id, &token);
        grants.insert(g.grant.id.clone(), g);
        people_map.insert(p.id.clone(), p);
    }
    let (closes, fx) = price_book();
    let de = FlatRuleInput { country: "DE".into(), employee_bps: 4_200, employer_bps: 2_000 };
    // As the CLI builds it: the built-in table plus the company's flat rules.
    let rate = |bps: u32| Decimal::new(i64::from(bps), 4);
    let rules = Rules::builtin()
        .and_then(|r| {
            r.with_flat(
                &de.country,
                FlatRule { employee_rate: rate(de.employee_bps), employer_rate: rate(de.employer_bps) },
            )
        })
        .expect("the built-in rules and the DE flat rule");
    let settings = CompanySettings {
        name: "Payroll Bench Co".into(),
        time_zone: TimeZone::get("America/New_York").expect("bundled time zone"),
        time_zone_name: "America/New_York".into(),
        pay_frequency: PayFrequency::Monthly,
        demo_through: None,
        policy: Policy {
            withholding: WithholdingMethod::SellToCover,
            sale_fee_bps: 10,
            slippage_bps: 25,
            fmv: FmvSource::Close,
            flat_rules: vec![de],
            ..Policy::default()
        },
    };
    Company { settings, token, people: people_map, grants, closes, volumes: BTreeMap::new(), fx, rules }
}

/// What the ledger would have recognized for the period: the tranches `Grant::timeline` puts in
/// it (the same path the run planner takes), one per grant here.
fn recognized(c: &Company) -> Vec<RecognizedVest> {
    let tz = &c.settings.time_zone;
    let mut vests = Vec::with_capacity(c.grants.len());
    for terms in c.grants.values() {
        let timeline = terms.grant.timeline(tz, Some(PERIOD_LAST)).expect("a valid grant");
        let mut in_period = timeline.tranches.iter().filter(|t| (PERIOD_FIRST..=PERIOD_LAST).contains(&t.date));
        let t = in_period.next().expect("every grant vests in the period");
        assert!(in_period.next().is_none(), "grant {} vests twice in {PERIOD}", terms.grant.id);
        vests.push(RecognizedVest { grant: terms.grant.id.clone(), date: t.date, reason: t.reason, amount: t.amount });
    }
    vests
}

/// The reference kernel's view of the grants: amount and schedule, in a flat array.
struct RefGrant {
    total: u128,
    schedule: Schedule,
}

fn reference_grants(c: &Company) -> Vec<RefGrant> {
    c.grants
        .values()
        .map(|t| RefGrant { total: t.grant.amount.base_units(), schedule: t.grant.schedule.clone() })
        .collect()
}

/// The period's bounds as the engine evaluates them: the end of the day before it, and the end
/// of its last day.
fn bounds(tz: &TimeZone) -> (At, At) {
    let at = |d: Date| At::new(calendar::to_day(d), calendar::end_of_day(d, tz).expect("benchmark dates are in range"));
    (at(PERIOD_FIRST.yesterday().expect("a date in range")), at(PERIOD_LAST))
}

/// Reference: each grant's vest in the period, written to `out`; returns their sum.
#[inline(never)]
fn vests_reference(grants: &[RefGrant], start: &At, end: &At, out: &mut [u128]) -> u128 {
    let mut sum: u128 = 0;
    for (g, slot) in grants.iter().zip(out.iter_mut()) {
        let vest = g.schedule.vested(g.total, end) - g.schedule.vested(g.total, start);
        *slot = vest;
        sum += vest;
    }
    sum
}

fn period_id(d: Date) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

struct Outputs {
    events: Vec<IncomeEvent>,
    rows: Vec<PayrollRow>,
    csv: String,
}

/// Wall time of each stage of one payroll pass.
#[derive(Clone, Copy)]
struct Stages {
    income: Duration,
    rows: Duration,
    csv: Duration,
}

impl Stages {
    fn total(self) -> Duration {
        self.income + self.rows + self.csv
    }
}

/// Ours: the period's payroll, from recognized vests to the export's text.
#[inline(never)]
fn payroll_pass(c: &Company, vests: &[RecognizedVest]) -> (Outputs, Stages) {
    let cx = c.context();
    let t = Clock::now();
    let events = payroll::income_events(&cx, vests).expect("the payroll pass succeeds");
    let income = t.elapsed();
    let t = Clock::now();
    let rows = payroll::period_rows(&c.token, &c.people, &events, PERIOD, &period_id).expect("the period's rows");
    let rows_time = t.elapsed();
    let t = Clock::now();
    let csv = payroll::to_csv(&rows, &c.token);
    let csv_time = t.elapsed();
    (Outputs { events, rows, csv }, Stages { income, rows: rows_time, csv: csv_time })
}

/// How often each path the bench promises ran.
#[derive(Default, Debug)]
struct Coverage {
    by_form: BTreeMap<&'static str, usize>,
    by_method: BTreeMap<&'static str, usize>,
    by_state: BTreeMap<String, usize>,
    top_ups: usize,
    federal_37: usize,
    above_ss_base: usize,
    additional_medicare: usize,
    uk_higher_rate: usize,
    person_owes: usize,
}

fn is_employee_tax(l: &TaxLine) -> bool {
    l.payer == Payer::Employee
}

/// The index of `name` among the export's columns.
fn column(name: &str) -> usize {
    ID_COLUMNS.iter().chain(AMOUNT_COLUMNS.iter()).position(|c| *c == name).expect("a payroll column")
}

/// Checks the payroll against the reference and its own invariants; returns what ran.
fn check(c: &Company, vests: &[RecognizedVest], reference: &[u128], reference_sum: u128, out: &Outputs) -> Coverage {
    let n = c.grants.len();
    // One recognized vest per grant, equal to the reference's (two independent paths: the
    // timeline's tranches and direct evaluation at the period's bounds).
    assert_eq!(vests.len(), n);
    let by_grant: BTreeMap<&str, u128> = c.grants.keys().map(String::as_str).zip(reference.iter().copied()).collect();
    for v in vests {
        assert_eq!(v.amount.base_units(), by_grant[v.grant.as_str()], "grant {}: timeline vs reference", v.grant);
    }

    assert_eq!(out.events.len(), n, "one income event per vest");
    let mut cov = Coverage::default();
    let mut gross_by_currency: BTreeMap<&str, Decimal> = BTreeMap::new();
    for e in &out.events {
        assert_eq!(e.units.base_units(), by_grant[e.grant.as_str()], "grant {}: event units", e.grant);
        assert_eq!(e.income_date, e.vest_date);
        let s = &e.settlement;
        let accounted = [s.tokens_sold, s.tokens_withheld, s.net_tokens]
            .into_iter()
            .try_fold(TokenAmount::ZERO, |a, b| a.checked_add(b))
            .expect("token counts add up");
        assert_eq!(accounted, e.units, "grant {}: sold + withheld + delivered = vested", e.grant);
        assert_eq!(e.lot.units, e.units.checked_sub(s.tokens_withheld).expect("withheld ≤ vested"));
        let employee_tax = e.withholding.employee_total();
        assert_eq!(s.cash_remitted, employee_tax, "grant {}: the whole tax is remitted", e.grant);
        assert!(employee_tax <= e.gross(), "grant {}: withholding {employee_tax} above gross {}", e.grant, e.gross());
        *gross_by_currency.entry(e.currency.code()).or_default() += e.gross();

        *cov.by_form.entry(e.form.name()).or_default() += 1;
        *cov.by_method.entry(s.method.as_str()).or_default() += 1;
        cov.top_ups += usize::from(e.top_up > Decimal::ZERO);
        cov.person_owes += usize::from(s.person_owes > Decimal::ZERO);
        let has = |kind: TaxKind, rate: Option<Decimal>| {
            e.withholding.lines_of(kind).any(|l| is_employee_tax(l) && rate.is_none_or(|r| l.rate == r))
        };
        if e.form == Form::W2 {
            let state = c.people[&e.person].region.clone().unwrap_or_default();
            *cov.by_state.entry(state).or_default() += 1;
            cov.federal_37 += usize::from(has(TaxKind::FederalIncome, Some(Decimal::new(37, 2))));
            cov.above_ss_base += usize::from(!has(TaxKind::SocialSecurity, None));
            cov.additional_medicare += usize::from(has(TaxKind::AdditionalMedicare, None));
            assert!(has(TaxKind::Medicare, None), "grant {}: a W-2 vest always has Medicare", e.grant);
        }
        if e.form == Form::Paye {
            cov.uk_higher_rate += usize::from(has(TaxKind::Paye, Some(Decimal::new(40, 2))));
        }
        if matches!(e.form, Form::Nec1099 | Form::None) {
            assert!(e.withholding.lines.is_empty(), "grant {}: nothing is withheld from a contractor", e.grant);
        }
    }

    // The rows: one per person (each has one vest), employee withholding at most gross.
    assert_eq!(out.rows.len(), n, "one row per person");
    let gross = AMOUNT_COLUMNS.iter().position(|c| *c == "gross_supplemental_wages").expect("a column");
    let employee_columns: Vec<usize> = EMPLOYEE_TAX_COLUMNS.collect();
    let mut row_gross: BTreeMap<&str, Decimal> = BTreeMap::new();
    for r in &out.rows {
        let withheld: Decimal = employee_columns.iter().map(|&k| r.values[k]).sum();
        assert!(
            withheld <= r.values[gross],
            "{}: employee withholding {withheld} above gross {}",
            r.person,
            r.values[gross]
        );
        assert!(r.values[gross] > Decimal::ZERO, "{}: a vest in the period is income in it", r.person);
        *row_gross.entry(r.currency.as_str()).or_default() += r.values[gross];
    }
    assert_eq!(row_gross, gross_by_currency, "the rows' gross wages are the events'");

    // The export: the tokens_vested column sums to the reference's vests, and reads back.
    let vested_column = column("tokens_vested");
    assert!(vested_column >= ID_COLUMNS.len() + TOKEN_COLUMNS_FROM);
    let mut reader = csv::Reader::from_reader(out.csv.as_bytes());
    let mut column_sum = TokenAmount::ZERO;
    let mut lines = 0;
    for rec in reader.records() {
        let rec = rec.expect("a CSV record");
        let cell = rec.get(vested_column).expect("a tokens_vested cell");
        let units = c.token.parse(cell).expect("a token amount");
        column_sum = column_sum.checked_add(units).expect("the column's sum fits");
        lines += 1;
    }
    assert_eq!(lines, n);
    assert_eq!(column_sum.base_units(), reference_sum, "CSV tokens_vested sum vs the reference vests");
    let back = payroll::parse_csv("export", &out.csv).expect("the export reads back");
    assert_eq!(back, out.rows, "the CSV reads back to the same rows");
    cov
}

/// Paths that must have run, whatever the size.
fn assert_covered(cov: &Coverage) {
    for form in [Form::W2, Form::Nec1099, Form::Paye, Form::Flat, Form::None] {
        assert!(cov.by_form.get(form.name()).is_some_and(|&k| k > 0), "no {} event", form.name());
    }
    for m in WithholdingMethod::ALL {
        assert!(cov.by_method.get(m.as_str()).is_some_and(|&k| k > 0), "no {} settlement", m.as_str());
    }
    assert_eq!(cov.by_state.len(), STATES.len(), "every state of the table: {:?}", cov.by_state);
    for (what, k) in [
        ("hybrid top-up", cov.top_ups),
        ("37% federal (over $1,000,000)", cov.federal_37),
        ("wages above the Social Security base", cov.above_ss_base),
        ("Additional Medicare", cov.additional_medicare),
        ("UK higher-rate PAYE", cov.uk_higher_rate),
        ("tax owed by the person", cov.person_owes),
    ] {
        assert!(k > 0, "no event with {what}");
    }
}

/// One payroll pass with the growth of the process's peak resident set over it (its outputs
/// are alive at the end, so they are in the peak).
fn measured_pass(c: &Company, vests: &[RecognizedVest]) -> (Outputs, Stages, Option<u64>) {
    let memory_status = || Some((status_bytes("VmRSS:")?, status_bytes("VmHWM:")?));
    let before = reset_peak()
        .then(memory_status)
        .flatten()
        .filter(|(rss, peak)| *peak <= rss + (1 << 20)) // the reset took
        .map(|(rss, _)| rss);
    let (out, stages) = payroll_pass(c, vests);
    let growth = before.zip(memory_status()).map(|(b, (_, peak))| peak.saturating_sub(b));
    (out, stages, growth)
}

/// Bytes the events own, counted from sizes and capacities, by where they sit.
#[derive(Clone, Copy)]
struct EventBytes {
    /// The events' own array: `size_of::<IncomeEvent>()` per slot.
    inline: usize,
    /// The withholding lines' arrays.
    tax_lines: usize,
    /// Ids, the FMV source, the lot id and wallet.
    other_strings: usize,
}

impl EventBytes {
    fn count(events: &Vec<IncomeEvent>) -> EventBytes {
        let mut b = EventBytes { inline: events.capacity() * size_of::<IncomeEvent>(), tax_lines: 0, other_strings: 0 };
        for e in events {
            b.tax_lines += e.withholding.lines.capacity() * size_of::<TaxLine>();
            b.other_strings += [&e.person, &e.grant, &e.fmv.source, &e.lot.id, &e.lot.wallet]
                .iter()
                .map(|s| s.capacity())
                .sum::<usize>();
        }
        b
    }

    fn total(self) -> usize {
        self.inline + self.tax_lines + self.other_strings
    }
}

struct Results {
    people: usize,
    stages: Stages,
    ours: Duration,
    reference: Duration,
    peak_growth: Option<u64>,
    event_bytes: EventBytes,
    csv_bytes: usize,
    coverage: Coverage,
}

impl Results {
    fn per_second(&self, d: Duration) -> f64 {
        self.people as f64 / d.as_secs_f64()
    }
    fn ratio(&self) -> f64 {
        self.ours.as_secs_f64() / self.reference.as_secs_f64()
    }
    fn share(&self, d: Duration) -> f64 {
        100.0 * d.as_secs_f64() / self.stages.total().as_secs_f64()
    }
}

fn report(r: &Results, mode: Mode) {
    println!();
    println!(
        "payroll {PERIOD}: {} people, one grant and one vest each{}",
        thousands(r.people),
        if mode == Mode::Test { " (test mode: small company, one run)" } else { "" },
    );
    let note = if OPTIMIZED { "" } else { " (unoptimized build, not comparable)" };
    println!(
        "ratio: ours {:.0} events/s ({:.1} ms), reference {:.0} events/s ({:.3} ms), ours/reference time = {:.0}x{note}",
        r.per_second(r.ours),
        r.ours.as_secs_f64() * 1e3,
        r.per_second(r.reference),
        r.reference.as_secs_f64() * 1e3,
        r.ratio(),
    );
    println!(
        "split: income_events {:.1} ms ({:.0}%), period_rows {:.1} ms ({:.0}%), to_csv {:.1} ms ({:.0}%)",
        r.stages.income.as_secs_f64() * 1e3,
        r.share(r.stages.income),
        r.stages.rows.as_secs_f64() * 1e3,
        r.share(r.stages.rows),
        r.stages.csv.as_secs_f64() * 1e3,
        r.share(r.stages.csv),
    );
    let peak = match r.peak_growth {
        Some(b) => format!("peak resident set grew {:.1} MB over one pass", b as f64 / MB),
        None => "peak resident set not measurable here".to_owned(),
    };
    let e = r.event_bytes;
    let per_event = |b: usize| b as f64 / r.people as f64;
    println!(
        "memory: {peak}; the events own {:.1} MB ({:.0} bytes/event: {:.0} inline, {:.0} tax-line arrays, \
         {:.0} other strings; rule sources are shared with the rules table), the CSV is {:.1} MB",
        e.total() as f64 / MB,
        per_event(e.total()),
        per_event(e.inline),
        per_event(e.tax_lines),
        per_event(e.other_strings),
        r.csv_bytes as f64 / MB,
    );
    let c = &r.coverage;
    println!(
        "check: {} events = vests; units, tokens_vested sum and withholding <= gross verified; forms {:?}; methods {:?}; \
         top-ups {}, 37% federal {}, above SS base {}, additional Medicare {}, UK higher rate {}, tax owed by person {}",
        thousands(r.people),
        c.by_form,
        c.by_method,
        c.top_ups,
        c.federal_37,
        c.above_ss_base,
        c.additional_medicare,
        c.uk_higher_rate,
        c.person_owes,
    );
}

fn write_json(r: &Results) -> std::io::Result<PathBuf> {
    let c = &r.coverage;
    let doc = serde_json::json!({
        "bench": "payroll",
        "period": PERIOD,
        "people": r.people,
        "events": r.people,
        "ours": "payroll::income_events over the period's recognized vests, then period_rows and to_csv",
        "reference": "Schedule::vested(total, &At) at the period's end minus at its start, per grant",
        "timing": format!(
            "minimum wall time of {FULL_REPS} payroll passes, and of {} reference passes; single thread",
            FULL_REPS * REFERENCE_REPS
        ),
        "ours_seconds": r.ours.as_secs_f64(),
        "income_events_seconds": r.stages.income.as_secs_f64(),
        "period_rows_seconds": r.stages.rows.as_secs_f64(),
        "to_csv_seconds": r.stages.csv.as_secs_f64(),
        "reference_seconds": r.reference.as_secs_f64(),
        "ours_events_per_second": r.per_second(r.ours),
        "reference_events_per_second": r.per_second(r.reference),
        "time_ratio_ours_over_reference": r.ratio(),
        "income_events_share_percent": r.share(r.stages.income),
        "peak_resident_set_growth_bytes": r.peak_growth,
        "event_bytes": r.event_bytes.total(),
        "bytes_per_event": r.event_bytes.total() as f64 / r.people as f64,
        "event_bytes_by_part": {
            "inline": r.event_bytes.inline,
            "tax_line_arrays": r.event_bytes.tax_lines,
            "other_strings": r.event_bytes.other_strings,
        },
        "size_of_income_event": size_of::<IncomeEvent>(),
        "csv_bytes": r.csv_bytes,
        "megabyte": 1_000_000,
        "coverage": {
            "forms": c.by_form,
            "methods": c.by_method,
            "w2_states": c.by_state,
            "top_ups": c.top_ups,
            "federal_37_percent": c.federal_37,
            "above_social_security_base": c.above_ss_base,
            "additional_medicare": c.additional_medicare,
            "uk_higher_rate": c.uk_higher_rate,
            "tax_owed_by_person": c.person_owes,
        },
    });
    write_results("payroll", &doc)
}

fn main() {
    let mode = Mode::from_args();
    let mut c = Criterion::default().configure_from_args();
    let people = if mode == Mode::Full { FULL_PEOPLE } else { TEST_PEOPLE };
    let company = company(people);
    let vests = recognized(&company);
    let ref_grants = reference_grants(&company);
    let (start, end) = bounds(&company.settings.time_zone);
    let mut ref_out = vec![0_u128; ref_grants.len()];

    // Our own timing and the checks first: criterion does not hand its estimates back, and
    // this also sizes criterion's measurement window to a pass's length. The first pass runs
    // on a heap that has held no payroll yet, so its peak is the pass's own.
    let mut results = None;
    if mode != Mode::List {
        let (out, first, peak_growth) = measured_pass(&company, &vests);
        let reference_sum = vests_reference(&ref_grants, &start, &end, &mut ref_out);
        let coverage = check(&company, &vests, &ref_out, reference_sum, &out);
        assert_covered(&coverage);
        let event_bytes = EventBytes::count(&out.events);
        let csv_bytes = out.csv.len();
        drop(out);

        let reps = if mode == Mode::Full { FULL_REPS } else { 1 };
        let (mut best_stages, mut best_ref) = (first, Duration::MAX);
        for rep in 0..reps {
            if rep > 0 {
                let (out, stages) = payroll_pass(&company, black_box(&vests));
                drop(black_box(out));
                if stages.total() < best_stages.total() {
                    best_stages = stages;
                }
            }
            for _ in 0..REFERENCE_REPS {
                let t = Clock::now();
                black_box(vests_reference(black_box(&ref_grants), &start, &end, &mut ref_out));
                best_ref = best_ref.min(t.elapsed());
            }
        }
        results = Some(Results {
            people,
            stages: best_stages,
            ours: best_stages.total(),
            reference: best_ref,
            peak_growth,
            event_bytes,
            csv_bytes,
            coverage,
        });
    }

    let mut group = c.benchmark_group(format!("payroll/{PERIOD}"));
    group.throughput(Throughput::Elements(u64::try_from(people).expect("people fit in u64")));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    if let Some(r) = results.as_ref().filter(|_| mode == Mode::Full) {
        // Ten samples of one pass each, with room to spare so criterion does not warn.
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(r.ours.mul_f64(13.0).max(Duration::from_secs(2)));
    }
    group.bench_function("ours", |b| b.iter_with_large_drop(|| payroll_pass(&company, black_box(&vests)).0));
    group.bench_function("reference", |b| {
        b.iter(|| vests_reference(black_box(&ref_grants), black_box(&start), black_box(&end), &mut ref_out))
    });
    group.finish();
    c.final_summary();

    let Some(r) = results else { return };
    report(&r, mode);
    if filter_from_args().is_some() {
        println!("filtered run: results not written (a full `cargo bench` writes target/bench-results/payroll.json)");
    } else if mode == Mode::Full {
        match write_json(&r) {
            Ok(path) => println!("results written to {}", path.display()),
            Err(e) => eprintln!("could not write bench results: {e}"),
        }
    } else {
        println!("test mode: results not written (a full `cargo bench` writes target/bench-results/payroll.json)");
    }
}
