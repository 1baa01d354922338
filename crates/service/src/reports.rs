//! Reports over the compliance pass: sales and their lots, the company's books (or a person's),
//! the awards' rollforward, a person's tax year, and price corrections. A report computes income
//! only through its own end, so it never needs a later price.

use jiff::civil::Date;
use serde_json::Value;
use tokencomp_compliance::accounting::{self, AccountingError, Rollforward};
use tokencomp_compliance::books;
use tokencomp_compliance::erp::{self, Erp, ErpError};
use tokencomp_compliance::lots::{self, Selection};
use tokencomp_compliance::payroll;
use tokencomp_compliance::statements::{self, AwardData, RecordedSale, TaxYear};
use tokencomp_compliance::withholding::Payer;
use tokencomp_core::model::Person;
use tokencomp_core::period::{period_of, periods};
use tokencomp_formats::erp_map;
use tokencomp_money::{Decimal, Token};
use tokencomp_store::ledger::{Company, Fact, SaleRecord};
use tokencomp_store::sha256_hex;

use crate::error::{Context, Error, Result, bad_input, bail};
use crate::payroll::income_events;
pub use crate::payroll::price_book;

/// `sell`: a sale of tokens from a person's wallet, matched to lots.
#[derive(Clone, Debug, Default)]
pub struct Sale {
    pub person: String,
    /// The wallet the tokens left (default: the person's delivery wallet).
    pub wallet: Option<String>,
    /// Tokens sold, in whole tokens.
    pub amount: String,
    /// USD per whole token.
    pub price: String,
    pub on: String,
    /// The sale's total fee in USD.
    pub fee: String,
    /// Specific lots: `LOT=AMOUNT,LOT=AMOUNT` (US only).
    pub lots: Option<String>,
    /// fifo, lifo or hifo (US).
    pub method: Option<String>,
    pub id: Option<String>,
}

/// `price correct`: a recorded close replaced after the fact.
#[derive(Clone, Debug, Default)]
pub struct PriceCorrection {
    pub date: String,
    pub close: String,
    pub currency: String,
    pub reason: String,
}

/// A recorded sale as the statements read it.
pub fn recorded_sale(s: &SaleRecord) -> RecordedSale {
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

pub fn person<'c>(company: &'c Company, id: &str) -> Result<&'c Person> {
    company
        .people
        .get(id)
        .ok_or_else(|| bad_input(format!("no person `{id}` in the company"), &format!("--person {id}")))
}

/// The sale's fact, its id and what to print once it is recorded; refused (bad input) when the
/// person's lots cannot cover it.
pub fn sale_facts(company: &Company, args: &Sale) -> Result<(Vec<Fact>, (String, String))> {
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

/// A price given on the command line (`--NAME`): a decimal above zero.
fn positive_decimal(text: &str, name: &str) -> Result<Decimal> {
    text.parse()
        .ok()
        .filter(|d: &Decimal| *d > Decimal::ZERO)
        .ok_or_else(|| bad_input(format!("{name}: `{text}` is not a positive decimal"), &format!("--{name}")))
}

pub fn date_arg(text: &str, flag: &str) -> Result<Date> {
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

/// The company's journal (or `person`'s lots and gains) from `from` to `to` in `format`.
pub fn books_text(company: &Company, from: Date, to: Date, format: &str, person_id: Option<&str>) -> Result<String> {
    let journal = books_journal(company, from, to, person_id)?;
    Ok(match format {
        "csv" => books::to_csv(&journal)?,
        "beancount" => books::to_beancount(&journal)?,
        "hledger" => books::to_hledger(&journal)?,
        "quickbooks" | "xero" | "netsuite" => {
            return Err(bad_input(
                format!("format `{format}` needs the chart-of-accounts mapping: --map FILE"),
                "--map",
            ));
        }
        other => {
            return Err(bad_input(
                format!("format: `{other}` (csv, beancount, hledger, quickbooks, xero or netsuite)"),
                "--format",
            ));
        }
    })
}

/// The company's books (or a person's) from `from` to `to`, as one checked journal.
pub fn books_journal(company: &Company, from: Date, to: Date, person_id: Option<&str>) -> Result<books::Journal> {
    if from > to {
        return Err(bad_input("--from is after --to", "--from"));
    }
    let token = &company.token.token;
    let events = income_events(company, to)?;
    Ok(match person_id {
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
    })
}

/// The company's books from `from` to `to` in an ERP's journal-import layout (`quickbooks`,
/// `xero` or `netsuite`), accounts translated by the company's mapping file (`map_text`, read
/// from `map_file`). Refused, naming every problem at once, when the file is not valid or leaves
/// an account of the journal unmapped.
pub fn erp_books(
    company: &Company,
    from: Date,
    to: Date,
    format: &str,
    map_file: &str,
    map_text: &str,
) -> Result<String> {
    let erp = Erp::from_key(format).ok_or_else(|| {
        bad_input(format!("format: `{format}` is not an ERP layout (quickbooks, xero or netsuite)"), "--format")
    })?;
    let map = erp_map::read(map_file, map_text).map_err(|problems| Error::Rejected {
        field: "--map".into(),
        text: problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
    })?;
    let journal = books_journal(company, from, to, None)?;
    erp::to_erp(&journal, erp, map.erp(erp.key())).map_err(|e| match e {
        e @ (ErpError::NoTable { .. } | ErpError::Unmapped { .. } | ErpError::MissingSetting { .. }) => {
            Error::Rejected { field: "--map".into(), text: format!("error: {e}\n  --> {map_file}") }
        }
        ErpError::Books(e) => (*e).into(),
        e => Error::Incomplete(e.to_string()),
    })
}

/// A starter chart-of-accounts mapping file listing every account the company's books use from
/// `from` to `to`, unmapped, under each ERP.
pub fn erp_starter_map(company: &Company, from: Date, to: Date) -> Result<String> {
    let journal = books_journal(company, from, to, None)?;
    let mut accounts = erp::accounts(&journal);
    accounts.sort_unstable();
    Ok(erp_map::starter(&accounts))
}

/// A person's tax year: income, withholding, lots, disposals and gains.
pub struct TaxReport {
    pub token: Token,
    pub person: Person,
    pub year: i16,
    /// Taxed in the UK: the tax year ends on 5 April of the next calendar year.
    pub uk: bool,
    pub y: TaxYearOwned,
}

/// [`TaxYear`] with its income events owned.
#[derive(Clone, Debug)]
pub struct TaxYearOwned {
    pub currency: tokencomp_money::Currency,
    pub income: Vec<payroll::IncomeEvent>,
    pub gross: Decimal,
    pub withheld: std::collections::BTreeMap<&'static str, Decimal>,
    pub disposals: Vec<lots::Disposal>,
    pub short_gain: Decimal,
    pub long_gain: Decimal,
}

impl TaxYearOwned {
    fn of(y: TaxYear<'_>) -> TaxYearOwned {
        TaxYearOwned {
            currency: y.currency,
            income: y.income.into_iter().cloned().collect(),
            gross: y.gross,
            withheld: y.withheld,
            disposals: y.disposals,
            short_gain: y.short_gain,
            long_gain: y.long_gain,
        }
    }
}

/// A tax year as its authority names it: `2026`, or `2026-27` for a UK tax year (which starts on
/// 6 April of `year`).
pub fn tax_year_label(year: i16, uk: bool) -> String {
    if uk { format!("{year}-{:02}", (year + 1) % 100) } else { year.to_string() }
}

/// `tax-report` on a loaded company. `field` names where the year came from.
pub fn tax_report(company: &Company, person_id: &str, year: i16, field: &str) -> Result<TaxReport> {
    let token = &company.token.token;
    let who = person(company, person_id)?;
    // UK tax years end on 5 April of the next calendar year.
    let uk = statements::regime(who) == tokencomp_compliance::lots::Regime::Uk;
    let end = if uk { Date::new(year.saturating_add(1), 4, 5) } else { Date::new(year, 12, 31) };
    let year_end = end.map_err(|e| bad_input(format!("year: {e}"), field))?;
    let events = income_events(company, year_end)?;
    let sales = recorded_sales(company);
    let y = statements::tax_year(token, who, &events, &sales, &price_book(company), year)?;
    Ok(TaxReport { token: token.clone(), person: who.clone(), year, uk, y: TaxYearOwned::of(y) })
}

impl TaxReport {
    /// The person's Form 8949 rows (CSV).
    pub fn form_8949_csv(&self) -> String {
        lots::form_8949_csv(&self.y.disposals, &self.token, self.year)
    }

    /// `tax-report --json`'s document, and the API's answer.
    pub fn to_json(&self) -> Value {
        let (token, who, y) = (&self.token, &self.person, &self.y);
        let cur = y.currency.code();
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
            "person": who.id, "year": self.year, "currency": cur,
            "regime": statements::regime(who).to_string(),
            "income": income, "gross_income": y.gross.to_string(),
            "withheld": y.withheld.iter().map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string()))).collect::<serde_json::Map<_, _>>(),
            "disposals": disposals,
            "short_term_gain": y.short_gain.to_string(), "long_term_gain": y.long_gain.to_string(),
        });
        v
    }
}

fn method_name(m: tokencomp_core::model::WithholdingMethod) -> &'static str {
    use tokencomp_core::model::WithholdingMethod as W;
    match m {
        W::SellToCover => "sell_to_cover",
        W::NetSettlement => "net_settlement",
        W::Cash => "cash",
    }
}

pub fn correction(company: &Company, args: &PriceCorrection) -> Result<(Vec<Fact>, String)> {
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

/// Award units and compensation expense from `from` to `to`.
pub struct RollforwardReport {
    pub token: Token,
    pub from: Date,
    pub to: Date,
    pub r: Rollforward,
}

/// `rollforward` on a loaded company.
pub fn rollforward(company: &Company, from: Date, to: Date) -> Result<RollforwardReport> {
    let token = &company.token.token;
    let data = awards(company, to)?;
    let list: Vec<_> = data.iter().map(AwardData::award).collect();
    let at = price_at(company);
    let r = accounting::rollforward(token, &list, from, to, &at)?;
    Ok(RollforwardReport { token: token.clone(), from, to, r })
}

impl RollforwardReport {
    /// `rollforward --json`'s document.
    pub fn to_json(&self) -> Value {
        let (token, r) = (&self.token, &self.r);
        serde_json::json!({
            "token": {"symbol": token.symbol(), "decimals": token.decimals()},
            "from": self.from.to_string(), "to": self.to.to_string(),
            "units": {"opening": r.units.opening.base_units().to_string(), "granted": r.units.granted.base_units().to_string(),
                      "vested": r.units.vested.base_units().to_string(), "forfeited": r.units.forfeited.base_units().to_string(),
                      "closing": r.units.closing.base_units().to_string()},
            "expense": {"currency": "USD", "opening": r.expense.opening.to_string(), "recognized": r.expense.recognized.to_string(),
                        "closing": r.expense.closing.to_string(), "unrecognized": r.expense.unrecognized.to_string()},
        })
    }
}
