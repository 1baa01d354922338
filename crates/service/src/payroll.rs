//! Payroll: pay periods (the company's calendar, and UK tax months for people paid in the UK),
//! the period run that recognizes vests, each period's rows and export, and the close that
//! freezes an export. Every payroll file is one pass (`income_events`) over what the ledger
//! recorded, so payroll, tax reports and books agree.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::civil::Date;
use serde_json::{Value, json};
use tokencomp_compliance::fmv::PriceBook;
use tokencomp_compliance::payroll::{self, Context as PassContext, IncomeEvent, PayrollRow, RecognizedVest};
use tokencomp_compliance::rules::{Need, Rules};
use tokencomp_core::Timeline;
use tokencomp_core::model::GrantTerms;
use tokencomp_core::period::period_of;
use tokencomp_money::TokenAmount;
use tokencomp_store::anchor::Head;
use tokencomp_store::ledger::{Company, Fact};
use tokencomp_store::run::{PeriodBatch, plan};
use tokencomp_store::{Store, StoredEvent, sha256_hex};

use crate::error::{Context, Error, Result, bad_input};
use crate::ledger::{Loaded, Stamp, guarded, record_checked};

/// The ledger's prices, volumes, rates and TWAP points as the FMV rules read them.
pub fn price_book(company: &Company) -> PriceBook<'_> {
    PriceBook { closes: &company.prices, volumes: &company.volumes, fx: &company.fx, twap: &company.twap }
}

/// Every grant's timeline, as of `as_of`.
pub fn timelines(company: &Company, as_of: Date) -> Result<BTreeMap<String, Timeline>> {
    let tz = &company.company.time_zone;
    let mut out = BTreeMap::new();
    for (id, rec) in &company.grants {
        out.insert(
            id.clone(),
            rec.terms.grant.timeline(tz, Some(as_of)).map_err(|e| Error::internal(format!("grant {id}: {e}")))?,
        );
    }
    Ok(out)
}

/// How a period run is going, for a progress bar: `done` of `total` periods, the last one's id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunProgress {
    pub done: usize,
    pub total: usize,
    pub period: String,
}

/// What a run recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    pub periods: usize,
    pub events: usize,
}

/// Runs every open period through `through`, each in its own transaction. Each period's batch
/// is decided under the write lock: the plan made from `known` (a ledger already read) while the
/// ledger is still what the plan was made from plus this run's own batches, else a new plan from
/// the ledger as it stands (another writer appended in between), so a concurrent run, termination
/// or correction is never recorded against a stale plan. `progress` hears of each period.
pub fn run_through(
    store: &mut dyn Store,
    known: Option<&Loaded>,
    through: Date,
    by: &Stamp,
    progress: &mut dyn FnMut(&RunProgress),
) -> Result<RunOutcome> {
    let mut planned: Option<(i64, Vec<PeriodBatch>)> = match known {
        Some(k) => Some((k.len, run_plan(k.company()?, through)?)),
        None => None,
    };
    let (mut periods, mut events) = (0, 0);
    loop {
        let (a, (len, batch, rest)) = guarded(store, by.at, |ledger| {
            let len = ledger.head()?.map_or(0, |h| h.0);
            let mut batches = match planned.take() {
                Some((at, batches)) if at == len => batches,
                _ => run_plan(Loaded::read(ledger.events()?)?.company()?, through)?,
            };
            if batches.is_empty() {
                return Ok::<_, Error>((Vec::new(), (len, None, batches)));
            }
            let b = batches.remove(0);
            let new = b.facts.iter().map(|f| by.event(f)).collect();
            Ok((new, (len, Some(b.period.id), batches)))
        })?;
        let Some(period) = batch else { break };
        periods += 1;
        events += a.new;
        progress(&RunProgress { done: periods, total: periods + rest.len(), period });
        // The ledger is now what the rest of the plan was made from plus this batch.
        planned = Some((len + i64::try_from(a.new)?, rest));
    }
    Ok(RunOutcome { periods, events })
}

/// The run's plan with the rules each batch needs checked and the hash of the rules in force
/// stamped on each period's marker. The first period whose vests need rules the company lacks
/// stops the plan there with the refusal naming every missing constant; the periods before it
/// still run (each is its own transaction).
fn run_plan(c: &Company, through: Date) -> Result<Vec<PeriodBatch>> {
    let mut batches = plan(c, &timelines(c, through)?, through);
    let rules = rules(c)?;
    let hash = crate::rules::rules_hash(&rules);
    for (i, b) in batches.iter_mut().enumerate() {
        let mut needs: Vec<Need> = b
            .facts
            .iter()
            .filter_map(|f| match f {
                Fact::Vest { holder, date, .. } => {
                    c.people.get(holder).and_then(|p| payroll::rules_need(p, *date, &rules))
                }
                _ => None,
            })
            .collect();
        needs.sort();
        needs.dedup();
        if let Err(e) = rules.require(&needs) {
            if i == 0 {
                return Err(crate::rules::refusal(e));
            }
            batches.truncate(i);
            break;
        }
        for f in &mut b.facts {
            if let Fact::PeriodRun { rules, .. } = f {
                *rules = Some(hash.clone());
            }
        }
    }
    Ok(batches)
}

/// A pay period as the dashboard lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeriodInfo {
    pub id: String,
    /// `company` (the company's pay calendar) or `uk` (UK tax months, for people paid in GBP).
    pub calendar: &'static str,
    /// A UK tax month's vests are recognized by the company calendar's runs: the company period
    /// holding the month's last day, whose run completes it (`None` for company periods).
    pub runs_with: Option<String>,
    pub start: Date,
    pub end: Date,
    /// Its vests are recognized in the ledger.
    pub run: bool,
    /// Its payroll export is frozen.
    pub closed: bool,
    /// The hash of the rule set its run used (see [`crate::rules::rules_hash`]), when it ran with
    /// one recorded.
    pub rules: Option<String>,
}

impl PeriodInfo {
    pub fn to_json(&self) -> Value {
        json!({"id": self.id, "calendar": self.calendar, "runs_with": self.runs_with, "start": self.start.to_string(),
               "end": self.end.to_string(), "run": self.run, "closed": self.closed, "rules_sha256": self.rules})
    }
}

/// The periods that ended by `through`, from the first grant's, earliest first: the company
/// calendar's, and the UK tax months too when anyone is paid in GBP (their payroll runs on
/// those; see [`open_rows`]).
pub fn periods(company: &Company, through: Date) -> Vec<PeriodInfo> {
    let first = company.grants.values().map(|g| g.terms.grant_date).min();
    let Some(first) = first else { return Vec::new() };
    let freq = company.company.pay_frequency;
    let info = |id: String, start: Date, end: Date, runs_with: Option<String>| PeriodInfo {
        // Runs follow the company calendar in order, so a UK month is complete once the
        // company period holding its last day has run.
        run: company.periods_run.contains(runs_with.as_ref().unwrap_or(&id)),
        closed: company.payroll_closed.contains_key(&id),
        rules: company.period_rules.get(runs_with.as_ref().unwrap_or(&id)).cloned(),
        calendar: if runs_with.is_some() { "uk" } else { "company" },
        runs_with,
        id,
        start,
        end,
    };
    let mut out: Vec<PeriodInfo> = tokencomp_core::period::periods(freq, first, through)
        .into_iter()
        .map(|p| info(p.id, p.start, p.end, None))
        .collect();
    let uk_staff = company.people.values().any(|p| payroll::pay_currency(p) == tokencomp_money::Currency::GBP);
    if uk_staff {
        let mut p = pay_period_of(company, true, first);
        while p.end <= through {
            let next = p.end.tomorrow().map(|d| pay_period_of(company, true, d));
            let with = pay_period_of(company, false, p.end).id;
            out.push(info(p.id, p.start, p.end, Some(with)));
            match next {
                Ok(n) => p = n,
                Err(_) => break,
            }
        }
    }
    out.sort_by(|a, b| (a.start, a.calendar).cmp(&(b.start, b.calendar)));
    out
}

/// One period's run, as the API answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeriodRun {
    pub period: String,
    pub through: Date,
    pub outcome: RunOutcome,
}

impl PeriodRun {
    pub fn to_json(&self) -> Value {
        json!({"period": self.period, "through": self.through.to_string(), "periods_run": self.outcome.periods,
               "events_recorded": self.outcome.events})
    }
}

/// Recognizes every vest through the end of `period`, which must have ended before `today`
/// (idempotent). `field` names where the period came from (`path.period`, `--period`).
pub fn run_period(
    store: &mut dyn Store,
    company: &Company,
    period: &str,
    field: &str,
    by: &Stamp,
    today: Date,
) -> Result<PeriodRun> {
    let p = pay_period(company, period)
        .ok_or_else(|| bad_input(format!("`{period}` is not a period id of this company"), field))?;
    // A period is run once it has ended (its last day's vests are then final).
    if p.end >= today {
        return Err(bad_input(format!("period {period} ends on {}; it can be run from the day after", p.end), field));
    }
    let outcome = run_through(store, None, p.end, by, &mut |_| {})?;
    Ok(PeriodRun { period: period.to_owned(), through: p.end, outcome })
}

/// A period's close, as the API answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeriodClose {
    pub period: String,
    pub digest: String,
    /// Rows frozen by this call; `None` when it was closed already.
    pub rows: Option<usize>,
}

impl PeriodClose {
    pub fn to_json(&self) -> Value {
        json!({"period": self.period, "closed": true, "digest": self.digest,
               "events_recorded": usize::from(self.rows.is_some())})
    }
}

/// Freezes `period`'s export (see [`close_with`]), with the digest of the frozen export.
pub fn close_period(
    store: &mut dyn Store,
    company: &Company,
    known: Option<&Loaded>,
    period: &str,
    field: &str,
    by: &Stamp,
) -> Result<PeriodClose> {
    let closed = close_with(store, known, period, field, by)?;
    Ok(match closed {
        Some((rows, digest)) => PeriodClose { period: period.to_owned(), digest, rows: Some(rows) },
        None => PeriodClose {
            period: period.to_owned(),
            digest: company.payroll_closed.get(period).map(|(_, d)| d.clone()).unwrap_or_default(),
            rows: None,
        },
    })
}

/// The rules in force: shipped, the company's recorded files, its flat rules (see
/// [`crate::rules::rules`]).
pub fn rules(company: &Company) -> Result<Rules> {
    crate::rules::rules(company)
}

/// Every recognized vest (net of reversals), as the compliance pass reads them.
pub fn recognized(company: &Company) -> Vec<RecognizedVest> {
    company
        .recognized
        .iter()
        .filter(|(_, units)| **units > 0)
        .map(|((grant, date, reason), units)| RecognizedVest {
            grant: grant.clone(),
            date: *date,
            reason: *reason,
            amount: TokenAmount::from_base_units(*units),
        })
        .collect()
}

/// The compliance pass over the ledger's income through `through`: later income is left out, so
/// a report never needs a price from after its own end.
pub fn income_events(company: &Company, through: Date) -> Result<Vec<IncomeEvent>> {
    income_events_of(company, &recognized(company), through)
}

/// [`income_events`] over the given vests (the recognized ones, or those plus vests still to
/// come, for an estimate) and the company's price book.
pub fn income_events_of(company: &Company, vests: &[RecognizedVest], through: Date) -> Result<Vec<IncomeEvent>> {
    let rules = rules(company)?;
    let grants: BTreeMap<String, GrantTerms> =
        company.grants.iter().map(|(id, g)| (id.clone(), g.terms.clone())).collect();
    let pass = |prices: PriceBook<'_>| {
        let cx = PassContext {
            settings: &company.company,
            token: &company.token.token,
            people: &company.people,
            grants: &grants,
            prices,
            rules: &rules,
            through: Some(through),
        };
        payroll::income_events(&cx, vests)
    };
    match pass(price_book(company)) {
        Ok(events) => Ok(events),
        Err(first) => Err(missing_inputs(company, first, &pass)),
    }
}

/// The pass stops at the first missing close or rate. To name every one at once, each one
/// found is filled with a stand-in (never used for anything but finding the next) and the pass
/// run again, until it needs nothing more; the answer lists every missing date with the command
/// that adds it. Any other failure is the first one's.
fn missing_inputs(
    company: &Company,
    first: payroll::PayrollError,
    pass: &dyn Fn(PriceBook<'_>) -> std::result::Result<Vec<IncomeEvent>, payroll::PayrollError>,
) -> Error {
    use tokencomp_compliance::fmv::FmvError;
    use tokencomp_money::{Currency, Decimal};
    let missing_of = |e: &payroll::PayrollError| match e {
        payroll::PayrollError::Fmv { grant, cause: FmvError::MissingPrice { currency, date, .. }, .. } => {
            Some((true, *currency, *date, grant.clone()))
        }
        payroll::PayrollError::Fmv { grant, cause: FmvError::MissingRate { currency, date }, .. } => {
            Some((false, *currency, *date, grant.clone()))
        }
        _ => None,
    };
    if missing_of(&first).is_none() {
        return match first {
            payroll::PayrollError::Rules(e) => crate::rules::refusal(e),
            e => e.into(),
        };
    }
    let (mut closes, mut fx) = (company.prices.clone(), company.fx.clone());
    // Each missing (currency, day) with the grants whose vests need it.
    type Needed = BTreeMap<(Currency, Date), std::collections::BTreeSet<String>>;
    let (mut prices, mut rates) = (Needed::new(), Needed::new());
    let mut next = Some(first);
    // Each round adds one stand-in; a ledger can lack at most a few thousand days.
    for _ in 0..10_000 {
        let Some((close, currency, date, grant)) = next.as_ref().and_then(missing_of) else { break };
        if close {
            prices.entry((currency, date)).or_default().insert(grant);
            closes.insert((currency, date), Decimal::ONE);
        } else {
            rates.entry((currency, date)).or_default().insert(grant);
            fx.insert((currency, date), Decimal::ONE);
        }
        let book = PriceBook { closes: &closes, volumes: &company.volumes, fx: &fx, twap: &company.twap };
        next = pass(book).err();
    }
    let mut text = String::new();
    if !prices.is_empty() {
        let n = prices.len();
        text.push_str(&format!("no price recorded for {n} date{} the vests need:\n", if n == 1 { "" } else { "s" }));
        for ((currency, date), grants) in &prices {
            let grants: Vec<&str> = grants.iter().map(String::as_str).collect();
            text.push_str(&format!("  {currency} {date} (grant {})\n", grants.join(", ")));
        }
        let usd: Vec<String> =
            prices.keys().filter(|(c, _)| *c == Currency::USD).map(|(_, d)| format!("{d},")).collect();
        text.push_str(&format!(
            "add them all at once: `tokencomp import prices FILE.csv` with a row per date (date,close_usd):\n  date,close_usd\n  {}\n",
            usd.join("\n  ")
        ));
    }
    if !rates.is_empty() {
        let n = rates.len();
        text.push_str(&format!("no FX rate recorded for {n} date{}:\n", if n == 1 { "" } else { "s" }));
        for ((currency, date), grants) in &rates {
            let grants: Vec<&str> = grants.iter().map(String::as_str).collect();
            text.push_str(&format!("  {currency} {date} (grant {})\n", grants.join(", ")));
        }
        text.push_str("add them all at once: `tokencomp import fx FILE.csv` (date,currency,per_usd)\n");
    }
    Error::Incomplete(text.trim_end().to_owned())
}

use tokencomp_core::period::PayPeriod;

/// The period holding `d` in the UK or the company calendar.
pub fn pay_period_of(company: &Company, uk: bool, d: Date) -> PayPeriod {
    tokencomp_core::period::pay_period_of(company.company.pay_frequency, uk, d)
}

/// Reads a period id of either calendar.
pub fn pay_period(company: &Company, id: &str) -> Option<PayPeriod> {
    tokencomp_core::period::pay_period(company.company.pay_frequency, id)
}

/// The rows of an open `period`: its calendar's people only, plus, right after the latest closed
/// period of the same calendar, adjustments of that calendar's closed periods.
pub fn open_rows(company: &Company, events: &[IncomeEvent], period: &PayPeriod) -> Result<Vec<PayrollRow>> {
    let uk = period.uk;
    let mine: Vec<&IncomeEvent> =
        events.iter().filter(|e| (e.currency == tokencomp_money::Currency::GBP) == uk).collect();
    let period_id = |d: Date| pay_period_of(company, uk, d).id;
    let token = &company.token.token;
    let mut rows = payroll::period_rows(token, &company.people, mine.iter().copied(), &period.id, &period_id)?;
    let closed: Vec<(PayPeriod, &String)> = company
        .payroll_closed
        .iter()
        .filter_map(|(id, (text, _))| pay_period(company, id).filter(|p| p.uk == uk).map(|p| (p, text)))
        .collect();
    let latest = closed.iter().map(|(p, _)| p.end).max();
    let right_after =
        latest.and_then(|end| end.tomorrow().ok()).is_some_and(|next| pay_period_of(company, uk, next).id == period.id);
    if right_after {
        let mut recomputed = Vec::new();
        let mut frozen = Vec::new();
        for (p, text) in &closed {
            recomputed.extend(payroll::period_rows(token, &company.people, mine.iter().copied(), &p.id, &period_id)?);
            frozen.extend(payroll::parse_csv(&format!("payroll {} (closed)", p.id), text)?);
        }
        rows.extend(payroll::adjustments(&recomputed, &frozen, &period.id));
    }
    Ok(rows)
}

/// The export of `period` as it stands: the frozen rows when it is closed (`status` final),
/// else its open rows (`status` provisional); see [`crate::exports`].
/// The rows of `period` as payroll has them: the frozen rows once closed, else its open rows
/// (`events` must run through the period's end).
pub fn rows_as_paid(company: &Company, events: &[IncomeEvent], period: &PayPeriod) -> Result<Vec<PayrollRow>> {
    match company.payroll_closed.get(&period.id) {
        Some((text, _)) => Ok(payroll::parse_csv(&format!("payroll {} (closed)", period.id), text)?),
        None => open_rows(company, events, period),
    }
}

pub fn export(company: &Company, events: &[IncomeEvent], period: &PayPeriod) -> Result<String> {
    let rows = match company.payroll_closed.get(&period.id) {
        Some((rows, _)) => rows.clone(),
        None => payroll::to_csv(&open_rows(company, events, period)?, &company.token.token),
    };
    Ok(crate::exports::with_status(&rows, crate::exports::status(company, &period.id)))
}

/// Writes a payroll export owner-only (it holds pay and tax); a closed period's export gets its
/// anchor beside it, `FILE.anchor.json` (never inside the CSV, which stays byte for byte what
/// payroll imports): the ledger's head now, and the close event with the head it recorded, so
/// `verify-ledger --expect-head FILE.anchor.json` later proves the ledger still holds them.
pub fn write_export(
    store: &mut dyn tokencomp_store::Store,
    company: &Company,
    id: &str,
    csv: &str,
    path: &Path,
) -> Result<()> {
    tokencomp_store::private::write(path, csv.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    let Some((_, digest)) = company.payroll_closed.get(id) else { return Ok(()) };
    let events = store.events()?;
    let close_id = format!("payroll:{id}:closed");
    let close = events.iter().find(|e| e.event.id == close_id);
    let recorded = tokencomp_store::anchor::recorded(&events)
        .into_iter()
        .find(|(_, event, _)| *event == close_id)
        .map(|(_, _, head)| head.to_json());
    let mut doc = Head::of(&events).to_json();
    doc["period"] = Value::from(id);
    doc["export"] = Value::from(path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
    // The frozen rows' digest, as the close recorded it (without the `status` column), and the
    // file's own.
    doc["export_sha256"] = Value::from(digest.as_str());
    doc["file_sha256"] = Value::from(sha256_hex(csv));
    doc["closed"] = serde_json::json!({
        "event": close_id,
        "seq": close.map(|e| e.seq),
        "hash": close.map(|e| e.hash.as_str()),
        "anchor": recorded,
    });
    let sidecar = tokencomp_store::private::sibling(path, ANCHOR_SUFFIX);
    tokencomp_store::private::write(&sidecar, format!("{doc:#}\n").as_bytes())
        .with_context(|| format!("writing {}", sidecar.display()))?;
    Ok(())
}

/// What a closed export's anchor file adds to the export's name.
pub const ANCHOR_SUFFIX: &str = ".anchor.json";

/// The period, or bad input at `field` when `id` is not one of the company's period ids.
pub fn check_period(company: &Company, id: &str, field: &str) -> Result<PayPeriod> {
    pay_period(company, id).ok_or_else(|| {
        bad_input(
            format!(
                "`{id}` is not a period id of this company's pay frequency (or a UK tax month such as uk-2026-m08)"
            ),
            field,
        )
    })
}

/// Freezes `id`'s export: `(rows, digest)`, or `None` when it was closed already. Decided under
/// the write lock (the period run, the rows, not closed yet), so the frozen rows are those of
/// the ledger they are recorded in; `known` is a ledger already read.
pub fn close_with(
    store: &mut dyn tokencomp_store::Store,
    known: Option<&Loaded>,
    id: &str,
    field: &str,
    by: &Stamp,
) -> Result<Option<(usize, String)>> {
    let (_, closed) = record_checked(store, by, known, |l| {
        let closed = close_facts(l.company()?, &l.events, id, field)?;
        Ok::<_, Error>((closed.iter().map(|c| c.0.clone()).collect(), closed.map(|c| (c.1, c.2))))
    })?;
    Ok(closed)
}

/// The close's fact with its rows and digest, or `None` when `id` is closed already.
fn close_facts(
    company: &Company,
    ledger: &[StoredEvent],
    id: &str,
    field: &str,
) -> Result<Option<(Fact, usize, String)>> {
    let period = check_period(company, id, field)?;
    if company.payroll_closed.contains_key(id) {
        return Ok(None);
    }
    // Every vest up to the period's last day must have been recognized by a run.
    let covering = period_of(company.company.pay_frequency, period.end).id;
    if !company.periods_run.contains(&covering) {
        // The ledger's state refuses it, not a failure of the run.
        return Err(Error::NotReady {
            field: field.to_owned(),
            message: format!(
                "period {covering} has not been run yet: run `tokencomp run --through <its last day>` first"
            ),
        });
    }
    let events = income_events(company, period.end)?;
    let rows = open_rows(company, &events, &period)?;
    let csv = payroll::to_csv(&rows, &company.token.token);
    let digest = sha256_hex(&csv);
    let rows = rows.len();
    // The head this close builds on goes into the close event itself, and so into every anchor
    // file of its export.
    let anchor = Some(Head::of(ledger));
    Ok(Some((Fact::PayrollClosed { period: id.to_owned(), rows: csv, digest: digest.clone(), anchor }, rows, digest)))
}

/// The payroll file of period `id`, as `tokencomp payroll --period` writes it.
pub fn payroll_csv(company: &Company, id: &str, field: &str) -> Result<String> {
    let period = check_period(company, id, field)?;
    let events = income_events(company, period.end)?;
    export(company, &events, &period)
}
