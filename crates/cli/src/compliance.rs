//! Compliance commands: `payroll` (and `payroll close`), `sell`, `books`, `rollforward`,
//! `tax-report`. All of them read the compliance pass (`payroll::income_events`) over the
//! whole ledger, so they always agree with each other.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use jiff::civil::Date;
use tokencomp_compliance::accounting::{self, AccountingError};
use tokencomp_compliance::books;
use tokencomp_compliance::fmv::PriceBook;
use tokencomp_compliance::lots::{self, Selection};
use tokencomp_compliance::payroll::{self, Context, IncomeEvent, PayrollRow, RecognizedVest};
use tokencomp_compliance::rules::{FlatRule, Rules};
use tokencomp_compliance::statements::{self, AwardData, RecordedSale};
use tokencomp_compliance::withholding::Payer;
use tokencomp_core::model::{GrantTerms, Person};
use tokencomp_core::period::{self, PayPeriod, period_of, periods};
use tokencomp_money::Decimal;
use tokencomp_money::TokenAmount;
use tokencomp_store::StoredEvent;
use tokencomp_store::anchor::Head;
use tokencomp_store::ledger::{Company, Fact, SaleRecord};
use tokencomp_store::sha256_hex;

use serde_json::Value;

use crate::company::{Loaded, load, load_all, open_store, record_checked};
use crate::{Global, bad_input};

/// The rules table: the built-in one plus the company's flat rules.
pub fn rules(company: &Company) -> Result<Rules> {
    let mut rules = Rules::builtin().context("the built-in tax rules")?;
    for f in &company.company.policy.flat_rules {
        let rate = |bps: u32| tokencomp_money::Decimal::new(i64::from(bps), 4);
        let rule = FlatRule { employee_rate: rate(f.employee_bps), employer_rate: rate(f.employer_bps) };
        rules = rules
            .with_flat(&f.country, rule)
            .with_context(|| format!("the flat withholding rule for {}", f.country))?;
    }
    Ok(rules)
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
    let rules = rules(company)?;
    let grants: BTreeMap<String, GrantTerms> =
        company.grants.iter().map(|(id, g)| (id.clone(), g.terms.clone())).collect();
    let cx = Context {
        settings: &company.company,
        token: &company.token.token,
        people: &company.people,
        grants: &grants,
        prices: price_book(company),
        rules: &rules,
        through: Some(through),
    };
    Ok(payroll::income_events(&cx, &recognized(company))?)
}

#[derive(Args, Debug)]
pub struct PayrollArgs {
    #[command(subcommand)]
    pub command: Option<PayrollCommand>,
    /// The pay period (ids as `pay_frequency` defines them, e.g. `2026-10`).
    #[arg(long)]
    pub period: Option<String>,
    /// Write the CSV here instead of standard output.
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum PayrollCommand {
    /// Freeze the period's export: it never changes again; later corrections become
    /// adjustment rows in the next open period.
    Close {
        #[arg(long)]
        period: String,
        /// Also write the frozen export here (owner-only), with the ledger's head beside it in
        /// `FILE.anchor.json`.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
}

/// The period holding `d` in the UK or the company calendar.
pub fn pay_period_of(company: &Company, uk: bool, d: Date) -> PayPeriod {
    period::pay_period_of(company.company.pay_frequency, uk, d)
}

/// Reads a period id of either calendar.
pub fn pay_period(company: &Company, id: &str) -> Option<PayPeriod> {
    period::pay_period(company.company.pay_frequency, id)
}

/// The rows of an open `period`: its calendar's people only, plus, right after the latest closed
/// period of the same calendar, adjustments of that calendar's closed periods.
fn open_rows(company: &Company, events: &[IncomeEvent], period: &PayPeriod) -> Result<Vec<PayrollRow>> {
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

/// The export of `period` as it stands: the frozen rows when it is closed, else its open rows.
pub fn export(company: &Company, events: &[IncomeEvent], period: &PayPeriod) -> Result<String> {
    match company.payroll_closed.get(&period.id) {
        Some((rows, _)) => Ok(rows.clone()),
        None => Ok(payroll::to_csv(&open_rows(company, events, period)?, &company.token.token)),
    }
}

pub fn run(g: &Global, args: &PayrollArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let loaded = load_all(&mut *store)?;
    let company = loaded.company()?;
    match &args.command {
        Some(PayrollCommand::Close { period, out }) => {
            close(g, &mut *store, &loaded, period)?;
            if let Some(path) = out {
                let company = load(&mut *store)?;
                let period = check_period(&company, period)?;
                let csv = export(&company, &[], &period)?;
                write_export(&mut *store, &company, &period.id, &csv, path)?;
            }
            Ok(())
        }
        None => {
            let Some(period) = &args.period else {
                return Err(bad_input(
                    "`tokencomp payroll` needs --period ID (or `payroll close --period ID`)",
                    "--period",
                ));
            };
            let period = check_period(company, period)?;
            let events = income_events(company, period.end)?;
            let csv = export(company, &events, &period)?;
            match &args.out {
                Some(path) => write_export(&mut *store, company, &period.id, &csv, path)?,
                None => crate::out(format_args!("{csv}")),
            }
            Ok(())
        }
    }
}

/// Writes a payroll export owner-only (it holds pay and tax); a closed period's export gets its
/// anchor beside it, `FILE.anchor.json` (never inside the CSV, which stays byte for byte what
/// payroll imports): the ledger's head now, and the close event with the head it recorded, so
/// `verify-ledger --expect-head FILE.anchor.json` later proves the ledger still holds them.
fn write_export(
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
    doc["export_sha256"] = Value::from(digest.as_str());
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

/// The period, or bad input when `id` is not one of the company's period ids.
fn check_period(company: &Company, id: &str) -> Result<PayPeriod> {
    pay_period(company, id).ok_or_else(|| {
        bad_input(
            format!(
                "`{id}` is not a period id of this company's pay frequency (or a UK tax month such as uk-2026-m08)"
            ),
            &format!("--period {id}"),
        )
    })
}

fn close(g: &Global, store: &mut dyn tokencomp_store::Store, loaded: &Loaded, id: &str) -> Result<()> {
    match close_with(store, Some(loaded), id, &g.actor())? {
        None => crate::outln!("payroll {id} is already closed; its export never changes"),
        Some((rows, digest)) => crate::outln!("closed payroll {id}: {rows} rows, sha256 {digest}"),
    }
    Ok(())
}

/// A payroll close asked for before the run that recognizes the period's vests: the ledger's
/// state refuses it (the API answers 409), not a failure of the run.
#[derive(Debug)]
pub struct NotRun {
    pub covering: String,
}

impl std::fmt::Display for NotRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "period {} has not been run yet: run `tokencomp run --through <its last day>` first", self.covering)
    }
}

impl std::error::Error for NotRun {}

/// Freezes `id`'s export: `(rows, digest)`, or `None` when it was closed already. Decided under
/// the write lock (the period run, the rows, not closed yet), so the frozen rows are those of
/// the ledger they are recorded in; `known` is a ledger already read.
pub fn close_with(
    store: &mut dyn tokencomp_store::Store,
    known: Option<&Loaded>,
    id: &str,
    actor: &str,
) -> Result<Option<(usize, String)>> {
    let (_, closed) = record_checked(store, actor, known, |l| {
        let closed = close_facts(l.company()?, &l.events, id)?;
        Ok((closed.iter().map(|c| c.0.clone()).collect(), closed.map(|c| (c.1, c.2))))
    })?;
    Ok(closed)
}

/// The close's fact with its rows and digest, or `None` when `id` is closed already.
fn close_facts(company: &Company, ledger: &[StoredEvent], id: &str) -> Result<Option<(Fact, usize, String)>> {
    let period = check_period(company, id)?;
    if company.payroll_closed.contains_key(id) {
        return Ok(None);
    }
    // Every vest up to the period's last day must have been recognized by a run.
    let covering = period_of(company.company.pay_frequency, period.end).id;
    if !company.periods_run.contains(&covering) {
        return Err(NotRun { covering }.into());
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
pub fn payroll_csv(company: &Company, id: &str) -> Result<String> {
    let period = check_period(company, id)?;
    let events = income_events(company, period.end)?;
    export(company, &events, &period)
}

/// A recorded sale as the statements read it.
fn recorded_sale(s: &SaleRecord) -> RecordedSale {
    RecordedSale {
        id: s.id.clone(),
        person: s.person.clone(),
        wallet: s.wallet.clone(),
        date: s.date,
        amount: s.amount,
        price_usd: s.price,
        fee_usd: s.fee,
        selection: match s.selection.as_str() {
            "lifo" => Selection::Lifo,
            "hifo" => Selection::Hifo,
            "specific" => Selection::Specific(s.lots.clone()),
            _ => Selection::Fifo,
        },
    }
}

/// Recorded sales as the statements read them.
pub fn recorded_sales(company: &Company) -> Vec<RecordedSale> {
    company.sales.iter().map(recorded_sale).collect()
}

pub(crate) fn price_book(company: &Company) -> PriceBook<'_> {
    PriceBook { closes: &company.prices, volumes: &company.volumes, fx: &company.fx, twap: &company.twap }
}

fn person<'c>(company: &'c Company, id: &str) -> Result<&'c Person> {
    company
        .people
        .get(id)
        .ok_or_else(|| bad_input(format!("no person `{id}` in the company"), &format!("--person {id}")))
}

#[derive(Args, Debug)]
pub struct SellArgs {
    /// Who sold.
    #[arg(long)]
    pub person: String,
    /// The wallet the tokens left (default: the person's delivery wallet).
    #[arg(long)]
    pub wallet: Option<String>,
    /// Tokens sold, in whole tokens (e.g. `1250.5`).
    #[arg(long)]
    pub amount: String,
    /// USD per whole token.
    #[arg(long)]
    pub price: String,
    /// The sale's date.
    #[arg(long)]
    pub on: String,
    /// The sale's total fee in USD (it reduces the proceeds).
    #[arg(long, default_value = "0")]
    pub fee: String,
    /// Specific lots: `LOT=AMOUNT,LOT=AMOUNT` (US only); otherwise `--method`.
    #[arg(long, conflicts_with = "method")]
    pub lots: Option<String>,
    /// fifo, lifo or hifo (US); UK and German sales always follow their statutory matching.
    #[arg(long)]
    pub method: Option<String>,
    /// A stable id for the sale (default: derived from its content, so a repeat is a no-op).
    #[arg(long)]
    pub id: Option<String>,
}

pub fn sell(g: &Global, args: &SellArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let loaded = load_all(&mut *store)?;
    loaded.company()?;
    // The sale is checked against the person's lots under the write lock: two sales at once
    // cannot both spend the same tokens.
    let (appended, (id, done)) =
        record_checked(&mut *store, &g.actor(), Some(&loaded), |l| sale_facts(l.company()?, args))?;
    if appended.new == 0 {
        crate::outln!("sale {id} was already recorded");
    } else {
        crate::outln!("{done}");
    }
    Ok(())
}

/// The sale's fact, its id and what to print once it is recorded; refused (bad input) when the
/// person's lots cannot cover it.
fn sale_facts(company: &Company, args: &SellArgs) -> Result<(Vec<Fact>, (String, String))> {
    let token = &company.token.token;
    let who = person(company, &args.person)?;
    let amount = token.parse(&args.amount).map_err(|e| bad_input(format!("amount: {e}"), "--amount"))?;
    if amount.is_zero() {
        return Err(bad_input("amount: a sale must sell something", "--amount"));
    }
    let price = positive_decimal(&args.price, "price")?;
    let fee: Decimal = args
        .fee
        .parse()
        .ok()
        .filter(|f: &Decimal| !f.is_sign_negative() && f.scale() <= 2)
        .ok_or_else(|| bad_input(format!("fee: `{}` is not an amount in cents", args.fee), "--fee"))?;
    let date: Date = args.on.parse().map_err(|e| bad_input(format!("on: {e}"), "--on"))?;
    let wallet = args.wallet.clone().or_else(|| who.wallet.clone()).unwrap_or_else(|| "main".to_owned());
    let us = statements::regime(who) == tokencomp_compliance::lots::Regime::Us;
    let (selection, lots) = match (&args.lots, args.method.as_deref()) {
        (Some(spec), _) => {
            if !us {
                return Err(bad_input("specific lots: UK and German sales follow statutory matching", "--lots"));
            }
            let mut lots = Vec::new();
            for part in spec.split(',') {
                let (lot, a) = part
                    .split_once('=')
                    .ok_or_else(|| bad_input(format!("lots: `{part}` is not LOT=AMOUNT"), "--lots"))?;
                let a = token.parse(a.trim()).map_err(|e| bad_input(format!("lots: {lot}: {e}"), "--lots"))?;
                lots.push((lot.trim().to_owned(), a));
            }
            ("specific", lots)
        }
        (None, None | Some("fifo")) => ("fifo", Vec::new()),
        (None, Some(m @ ("lifo" | "hifo"))) if us => (m, Vec::new()),
        (None, Some(m)) => {
            return Err(bad_input(
                format!("method: `{m}` is not available here (fifo, lifo or hifo for US sellers; fifo otherwise)"),
                "--method",
            ));
        }
    };
    let id = args.id.clone().unwrap_or_else(|| {
        let key = format!("{}|{wallet}|{date}|{}|{price}|{fee}|{selection}|{lots:?}", who.id, amount.base_units());
        format!("{}-{date}-{}", who.id, &sha256_hex(&key)[..10])
    });
    let sale = SaleRecord {
        id: id.clone(),
        person: who.id.clone(),
        wallet,
        date,
        amount,
        price,
        fee,
        selection: selection.to_owned(),
        lots,
    };
    if company.sales.iter().any(|s| s.id == id) {
        // The same id again: the append compares it with the recorded sale.
        return Ok((vec![Fact::from(sale)], (id, String::new())));
    }
    // Check the sale against the person's lots before recording anything. Lots come from income
    // up to the last priced day (later vests cannot be valued yet).
    let through = company.prices.keys().map(|(_, d)| *d).max().unwrap_or(date).max(date);
    let events = income_events(company, through)?;
    let mut sales = recorded_sales(company);
    sales.push(recorded_sale(&sale));
    let book = statements::person_book(token, who, &events, &sales, &price_book(company))
        .map_err(|e| bad_input(e, &format!("sale {id}")))?;
    let fact = Fact::from(sale);
    let (mut proceeds, mut gain) = (Decimal::ZERO, Decimal::ZERO);
    for d in book.disposals.iter().filter(|d| d.sale == id) {
        proceeds += d.proceeds;
        gain += d.gain;
    }
    let currency = payroll::pay_currency(who);
    let done = format!(
        "recorded sale {id}: {} {} by {}; proceeds {proceeds} {currency}, gain {gain} {currency}",
        token.format(amount),
        token.symbol(),
        who.id
    );
    Ok((vec![fact], (id, done)))
}

#[derive(Args, Debug)]
pub struct BooksArgs {
    #[arg(long)]
    pub from: String,
    #[arg(long)]
    pub to: String,
    /// csv, beancount or hledger.
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// A person's own lots and gains instead of the company's books.
    #[arg(long)]
    pub person: Option<String>,
    /// Write here instead of standard output.
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
}

/// A price given on the command line (`--NAME`): a decimal above zero.
fn positive_decimal(text: &str, name: &str) -> Result<Decimal> {
    text.parse()
        .ok()
        .filter(|d: &Decimal| *d > Decimal::ZERO)
        .ok_or_else(|| bad_input(format!("{name}: `{text}` is not a positive decimal"), &format!("--{name}")))
}

pub(crate) fn date_arg(text: &str, flag: &str) -> Result<Date> {
    text.parse().map_err(|e| bad_input(format!("{flag}: `{text}`: {e}"), flag))
}

/// The company's awards as the accounting module measures them on `as_of`.
pub fn awards(company: &Company, as_of: Date) -> Result<Vec<AwardData>> {
    let prices = price_book(company);
    let mut out = Vec::new();
    for (id, g) in &company.grants {
        out.push(
            statements::award_data(&g.terms, &company.company.time_zone, as_of, &company.company.policy, &prices)
                .with_context(|| format!("grant {id}"))?,
        );
    }
    Ok(out)
}

fn price_at(company: &Company) -> impl Fn(Date) -> Result<Decimal, AccountingError> + '_ {
    move |d| {
        company
            .prices
            .get(&(tokencomp_money::Currency::USD, d))
            .copied()
            .ok_or(AccountingError::MissingPrice { date: d })
    }
}

pub fn books(g: &Global, args: &BooksArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let from = date_arg(&args.from, "--from")?;
    let to = date_arg(&args.to, "--to")?;
    let text = books_text(&company, from, to, &args.format, args.person.as_deref())?;
    match &args.out {
        Some(path) => tokencomp_store::private::write(path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?,
        None => crate::out(format_args!("{text}")),
    }
    Ok(())
}

/// The company's journal (or `person`'s lots and gains) from `from` to `to` in `format`.
pub fn books_text(company: &Company, from: Date, to: Date, format: &str, person_id: Option<&str>) -> Result<String> {
    if from > to {
        return Err(bad_input("--from is after --to", "--from"));
    }
    let token = &company.token.token;
    let events = income_events(company, to)?;
    let journal = match person_id {
        Some(id) => {
            let who = person(company, id)?;
            if statements::regime(who) == tokencomp_compliance::lots::Regime::Uk {
                bail!(
                    "{id} is taxed in the UK, where disposals match a section 104 pool; lot-level books for a pool \
                     are not produced yet: use `tokencomp tax-report --person {id}`"
                );
            }
            statements::person_journal(token, who, &events, &recorded_sales(company), &price_book(company), from, to)?
        }
        None => {
            let freq = company.company.pay_frequency;
            let ends: Vec<Date> = periods(freq, from, to).iter().map(|p| p.end).collect();
            let opening = period_of(freq, from).start.yesterday().ok();
            let awards = awards(company, to)?;
            let at = price_at(company);
            let expense = statements::expense_lines(token, &awards, opening, &ends, &at)?;
            statements::company_journal(&company.company.name, token, &expense, &events, from, to)?
        }
    };
    Ok(match format {
        "csv" => books::to_csv(&journal)?,
        "beancount" => books::to_beancount(&journal)?,
        "hledger" => books::to_hledger(&journal)?,
        other => return Err(bad_input(format!("format: `{other}` (csv, beancount or hledger)"), "--format")),
    })
}

#[derive(Args, Debug)]
pub struct RollforwardArgs {
    #[arg(long)]
    pub from: String,
    #[arg(long)]
    pub to: String,
    #[arg(long)]
    pub json: bool,
}

pub fn rollforward(g: &Global, args: &RollforwardArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let from = date_arg(&args.from, "--from")?;
    let to = date_arg(&args.to, "--to")?;
    let token = &company.token.token;
    let data = awards(&company, to)?;
    let list: Vec<_> = data.iter().map(AwardData::award).collect();
    let at = price_at(&company);
    let r = accounting::rollforward(token, &list, from, to, &at)?;
    let u = |a: TokenAmount| token.format(a);
    if args.json {
        let v = serde_json::json!({
            "token": {"symbol": token.symbol(), "decimals": token.decimals()},
            "from": from.to_string(), "to": to.to_string(),
            "units": {"opening": r.units.opening.base_units().to_string(), "granted": r.units.granted.base_units().to_string(),
                      "vested": r.units.vested.base_units().to_string(), "forfeited": r.units.forfeited.base_units().to_string(),
                      "closing": r.units.closing.base_units().to_string()},
            "expense": {"currency": "USD", "opening": r.expense.opening.to_string(), "recognized": r.expense.recognized.to_string(),
                        "closing": r.expense.closing.to_string(), "unrecognized": r.expense.unrecognized.to_string()},
        });
        crate::outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    crate::outln!("Rollforward {from} to {to} ({}, expense in USD)", token.symbol());
    crate::outln!("  units outstanding at start  {:>28}", u(r.units.opening));
    crate::outln!("  + granted                   {:>28}", u(r.units.granted));
    crate::outln!("  - vested                    {:>28}", u(r.units.vested));
    crate::outln!("  - forfeited                 {:>28}", u(r.units.forfeited));
    crate::outln!("  = outstanding at end        {:>28}", u(r.units.closing));
    crate::outln!("  expense recognized before   {:>28}", r.expense.opening);
    crate::outln!("  + recognized in the period  {:>28}", r.expense.recognized);
    crate::outln!("  = recognized to date        {:>28}", r.expense.closing);
    crate::outln!("  unrecognized (outstanding)  {:>28}", r.expense.unrecognized);
    Ok(())
}

#[derive(Args, Debug)]
pub struct TaxReportArgs {
    #[arg(long)]
    pub person: String,
    #[arg(long)]
    pub year: i16,
    #[arg(long)]
    pub json: bool,
    /// Write the person's Form 8949 rows (CSV) here.
    #[arg(long)]
    pub form_8949: Option<std::path::PathBuf>,
}

pub fn tax_report(g: &Global, args: &TaxReportArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    if let Some(doc) = tax_report_in(&company, args)? {
        crate::outln!("{}", serde_json::to_string_pretty(&doc)?);
    }
    Ok(())
}

/// `tax-report` on a loaded company: the JSON document when `--json`, else the report printed.
pub fn tax_report_in(company: &Company, args: &TaxReportArgs) -> Result<Option<Value>> {
    let token = &company.token.token;
    let who = person(company, &args.person)?;
    // UK tax years end on 5 April of the next calendar year.
    let uk = statements::regime(who) == tokencomp_compliance::lots::Regime::Uk;
    let end = if uk { Date::new(args.year.saturating_add(1), 4, 5) } else { Date::new(args.year, 12, 31) };
    let year_end = end.map_err(|e| bad_input(format!("year: {e}"), "--year"))?;
    let events = income_events(company, year_end)?;
    let sales = recorded_sales(company);
    let y = statements::tax_year(token, who, &events, &sales, &price_book(company), args.year)?;
    if let Some(path) = &args.form_8949 {
        let csv = lots::form_8949_csv(&y.disposals, token, args.year);
        tokencomp_store::private::write(path, csv.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    }
    let cur = y.currency.code();
    if args.json {
        let income: Vec<_> = y
            .income
            .iter()
            .map(|e| {
                serde_json::json!({
                    "id": e.id(), "grant": e.grant, "kind": e.kind.name(), "vest_date": e.vest_date.to_string(),
                    "income_date": e.income_date.to_string(), "units": e.units.base_units().to_string(),
                    "fmv_usd": e.fmv.price.to_string(), "fmv_source": e.fmv.source, "fmv_window": [e.fmv.window.0.to_string(), e.fmv.window.1.to_string()],
                    "fx_rate": e.fx_rate.to_string(), "price": e.price.to_string(), "token_income": e.token_income.to_string(),
                    "top_up": e.top_up.to_string(), "form": e.form.name(),
                    "withholding": e.withholding.lines.iter().map(|l| serde_json::json!({
                        "kind": l.kind.name(), "payer": if l.payer == Payer::Employee { "employee" } else { "employer" },
                        "base": l.base.to_string(), "rate": l.rate.to_string(), "amount": l.amount.to_string(), "source": &*l.source,
                    })).collect::<Vec<_>>(),
                    "method": method_name(e.settlement.method),
                    "tokens_sold": e.settlement.tokens_sold.base_units().to_string(),
                    "tokens_withheld": e.settlement.tokens_withheld.base_units().to_string(),
                    "net_tokens": e.settlement.net_tokens.base_units().to_string(),
                    "cash_remitted": e.settlement.cash_remitted.to_string(),
                    "lot": {"id": e.lot.id, "wallet": e.lot.wallet, "acquired": e.lot.acquired.to_string(),
                            "units": e.lot.units.base_units().to_string(), "basis": e.lot.basis.to_string()},
                })
            })
            .collect();
        let disposals: Vec<_> = y
            .disposals
            .iter()
            .map(|d| {
                serde_json::json!({
                    "sale": d.sale, "lot": d.lot, "wallet": d.wallet, "acquired": d.acquired.to_string(), "sold": d.sold.to_string(),
                    "units": d.amount.base_units().to_string(), "proceeds": d.proceeds.to_string(), "basis": d.basis.to_string(),
                    "gain": d.gain.to_string(), "term": format!("{:?}", d.term).to_lowercase(), "rule": format!("{:?}", d.rule),
                    "exempt": d.exempt,
                })
            })
            .collect();
        let v = serde_json::json!({
            "token": {"symbol": token.symbol(), "decimals": token.decimals()},
            "person": who.id, "year": args.year, "currency": cur,
            "regime": statements::regime(who).to_string(),
            "income": income, "gross_income": y.gross.to_string(),
            "withheld": y.withheld.iter().map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string()))).collect::<serde_json::Map<_, _>>(),
            "disposals": disposals,
            "short_term_gain": y.short_gain.to_string(), "long_term_gain": y.long_gain.to_string(),
        });
        return Ok(Some(v));
    }
    let label = if uk { format!("{}-{:02}", args.year, (args.year + 1) % 100) } else { args.year.to_string() };
    crate::outln!("Tax report {label} — {} ({}), {} ({})", who.name, who.id, statements::regime(who), cur);
    crate::outln!("Income ({} events): {} {cur}", y.income.len(), y.gross);
    for e in &y.income {
        crate::outln!(
            "  {}  {:<10} {:>24} {} at {} {cur} = {} {cur}{}",
            e.income_date,
            e.grant,
            token.format_display(e.units, 2),
            token.symbol(),
            e.price,
            e.token_income,
            if e.top_up.is_zero() { String::new() } else { format!(" + top-up {}", e.top_up) }
        );
    }
    crate::outln!("Withheld:");
    for (k, v) in &y.withheld {
        crate::outln!("  {k:<24} {v:>14} {cur}");
    }
    crate::outln!("Disposals ({}):", y.disposals.len());
    for d in &y.disposals {
        crate::outln!(
            "  {}  {:<28} {:>24} proceeds {:>12} basis {:>12} gain {:>12} {:?}",
            d.sold,
            d.lot,
            token.format_display(d.amount, 2),
            d.proceeds,
            d.basis,
            d.gain,
            d.term
        );
    }
    crate::outln!("Gains: short term {} {cur}, long term {} {cur}", y.short_gain, y.long_gain);
    if statements::regime(who) == tokencomp_compliance::lots::Regime::De {
        // The year's disposals are all the exemption limit looks at.
        let year = lots::Book { disposals: y.disposals.clone(), open: Vec::new() };
        crate::outln!(
            "Taxable private-sale gain (after the exemption limit): {} EUR",
            lots::de_taxable_gain(&year, args.year)
        );
    }
    Ok(None)
}

fn method_name(m: tokencomp_core::model::WithholdingMethod) -> &'static str {
    use tokencomp_core::model::WithholdingMethod as W;
    match m {
        W::SellToCover => "sell_to_cover",
        W::NetSettlement => "net_settlement",
        W::Cash => "cash",
    }
}

#[derive(Subcommand, Debug)]
pub enum PriceCommand {
    /// Replace a recorded close (a price fixed after the fact). Closed payroll periods keep
    /// their export; the difference reaches the next open period as adjustments.
    Correct(CorrectPriceArgs),
}

#[derive(Args, Debug)]
pub struct CorrectPriceArgs {
    #[arg(long)]
    pub date: String,
    /// The corrected close per whole token.
    #[arg(long)]
    pub close: String,
    #[arg(long, default_value = "USD")]
    pub currency: String,
    /// Why, for the audit trail.
    #[arg(long)]
    pub reason: String,
}

pub fn price(g: &Global, cmd: &PriceCommand) -> Result<()> {
    let PriceCommand::Correct(args) = cmd;
    let mut store = open_store(g)?;
    let loaded = load_all(&mut *store)?;
    loaded.company()?;
    // Compared with the close as it stands under the write lock.
    let (_, done) = record_checked(&mut *store, &g.actor(), Some(&loaded), |l| correction(l.company()?, args))?;
    crate::outln!("{done}");
    Ok(())
}

fn correction(company: &Company, args: &CorrectPriceArgs) -> Result<(Vec<Fact>, String)> {
    let date = date_arg(&args.date, "--date")?;
    let currency: tokencomp_money::Currency =
        args.currency.parse().map_err(|_| bad_input(format!("currency: `{}`", args.currency), "--currency"))?;
    let close = positive_decimal(&args.close, "close")?;
    if args.reason.trim().is_empty() {
        return Err(bad_input("reason: say why the price is corrected", "--reason"));
    }
    let Some(old) = company.prices.get(&(currency, date)) else {
        return Err(bad_input(
            format!("no {currency} price is recorded for {date}: record it with `import prices` or [[price]]"),
            "--date",
        ));
    };
    if *old == close {
        return Ok((Vec::new(), format!("the {currency} close for {date} is already {close}")));
    }
    let fact = Fact::PriceCorrected { currency, date, close, reason: args.reason.clone() };
    Ok((vec![fact], format!("corrected the {currency} close for {date}: {old} → {close}")))
}
