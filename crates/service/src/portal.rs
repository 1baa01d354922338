//! What an employee's portal shows (`GET /api/people/{person}/portal`): their name; what they
//! hold and what it is worth now at the latest recorded price (and what their grants were worth
//! at the grant date's price); their upcoming vests with the withholding each would cost at
//! today's price; income and withholding so far this tax year; and their open lots with
//! acquisition date and basis (no internal id). Every fiat figure names the price date it rests
//! on.
//!
//! The upcoming vests' withholding is the payroll pass itself, run over the vests still to come
//! with the latest close standing in for every later day: the same rules, profile and
//! year-to-date wages a real run would use, at today's price. It is an estimate, labelled so;
//! nothing here is recorded. Where the pass cannot estimate (no rules yet for next year, a price
//! source other than closes), the vests are still listed and the reason is given.

use std::collections::{BTreeMap, BTreeSet};

use jiff::ToSpan;
use jiff::civil::Date;
use tokencomp_compliance::lots::Lot;
use tokencomp_compliance::payroll::{IncomeEvent, RecognizedVest, pay_currency};
use tokencomp_compliance::statements;
use tokencomp_money::{Currency, Decimal, MONEY_ROUNDING, PRICE_ROUNDING, TokenAmount, token_value};
use tokencomp_store::ledger::Company;

use crate::payroll::{income_events, income_events_of, price_book, recognized, timelines};
use crate::reports::{person, recorded_sales};
use crate::{Error, Result};

/// How far ahead the portal lists vests.
pub const HORIZON_MONTHS: i8 = 12;

/// A price in the person's pay currency and the days it rests on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PricePoint {
    pub price: Decimal,
    /// The close's day.
    pub date: Date,
    /// When the close is in USD and the person is paid in another currency: the rate's day.
    pub fx_date: Option<Date>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantValue {
    pub grant: String,
    pub grant_date: Date,
    pub granted: TokenAmount,
    /// The close of the grant date (in the pay currency), if one is recorded.
    pub price: Option<PricePoint>,
    pub value: Option<Decimal>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upcoming {
    pub date: Date,
    pub grant: String,
    pub tokens: TokenAmount,
    /// At today's price.
    pub value: Option<Decimal>,
    /// The employee's withholding the payroll pass computes for it at today's price.
    pub withholding: Option<Decimal>,
    /// Tokens left after sell-to-cover or net settlement, at today's price.
    pub net_tokens: Option<TokenAmount>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenLot {
    pub acquired: Date,
    pub tokens: TokenAmount,
    pub basis: Decimal,
}

pub struct Portal {
    pub id: String,
    pub name: String,
    pub as_of: Date,
    pub currency: Currency,
    pub price: Option<PricePoint>,
    pub granted: TokenAmount,
    pub vested: TokenAmount,
    pub unvested: TokenAmount,
    pub forfeited: TokenAmount,
    /// Tokens in the person's open lots (vested, less what was sold or withheld).
    pub held: TokenAmount,
    pub held_value: Option<Decimal>,
    pub unvested_value: Option<Decimal>,
    pub grants: Vec<GrantValue>,
    pub upcoming: Vec<Upcoming>,
    /// Why some or all upcoming withholding is not estimated.
    pub estimate_note: Option<String>,
    /// The tax year so far: its label, token income and the employee's withholding.
    pub year: String,
    pub income_to_date: Decimal,
    pub withheld_to_date: Decimal,
    pub lots: Vec<OpenLot>,
}

/// The latest close in `currency` on or before `day`, or the latest USD close converted at the
/// latest rate on or before `day`.
pub fn price_on(company: &Company, currency: Currency, day: Date) -> Option<PricePoint> {
    let latest = |m: &BTreeMap<(Currency, Date), Decimal>, c: Currency| {
        m.range((c, Date::MIN)..=(c, day)).next_back().map(|((_, d), v)| (*d, *v))
    };
    if let Some((date, price)) = latest(&company.prices, currency) {
        return Some(PricePoint { price, date, fx_date: None });
    }
    let (date, usd) = latest(&company.prices, Currency::USD)?;
    let (fx_date, rate) = latest(&company.fx, currency)?;
    Some(PricePoint { price: PRICE_ROUNDING.apply(usd * rate), date, fx_date: Some(fx_date) })
}

/// The close of exactly `day` in the pay currency (a grant date's price).
fn price_of_day(company: &Company, currency: Currency, day: Date) -> Option<PricePoint> {
    price_on(company, currency, day).filter(|p| p.date == day && p.fx_date.is_none_or(|d| d == day))
}

fn value(company: &Company, tokens: TokenAmount, price: Option<&PricePoint>) -> Result<Option<Decimal>> {
    price
        .map(|p| token_value(&company.token.token, tokens, p.price, MONEY_ROUNDING))
        .transpose()
        .map_err(|e| Error::internal(format!("valuing tokens: {e}")))
}

/// The portal of `person_id` as of `as_of`.
pub fn portal(company: &Company, person_id: &str, as_of: Date) -> Result<Portal> {
    let who = person(company, person_id)?;
    let currency = pay_currency(who);
    let price = price_on(company, currency, as_of);
    let horizon = as_of.checked_add(i32::from(HORIZON_MONTHS).months()).map_err(|e| Error::internal(e.to_string()))?;
    let lines = timelines(company, horizon)?;
    let mine: Vec<(&String, _)> = company.grants.iter().filter(|(_, g)| g.terms.grant.holder == person_id).collect();

    let (mut granted, mut vested, mut unvested, mut forfeited) =
        (TokenAmount::ZERO, TokenAmount::ZERO, TokenAmount::ZERO, TokenAmount::ZERO);
    let add = |a: &mut TokenAmount, b: TokenAmount| -> Result<()> {
        *a = a.checked_add(b).map_err(|e| Error::internal(e.to_string()))?;
        Ok(())
    };
    let mut grants = Vec::new();
    let mut future = Vec::new();
    for (id, g) in &mine {
        let Some(t) = lines.get(*id) else { continue };
        let p = t.position(as_of);
        add(&mut granted, p.granted)?;
        add(&mut vested, p.vested)?;
        add(&mut unvested, p.unvested)?;
        add(&mut forfeited, p.forfeited)?;
        let at_grant = price_of_day(company, currency, g.terms.grant_date);
        grants.push(GrantValue {
            grant: (*id).clone(),
            grant_date: g.terms.grant_date,
            granted: p.granted,
            value: value(company, p.granted, at_grant.as_ref())?,
            price: at_grant,
        });
        for tr in t.tranches.iter().filter(|tr| tr.date > as_of && tr.date <= horizon) {
            if !company.recognized.contains_key(&((*id).clone(), tr.date, tr.reason)) {
                future.push(RecognizedVest {
                    grant: (*id).clone(),
                    date: tr.date,
                    reason: tr.reason,
                    amount: tr.amount,
                });
            }
        }
    }
    future.sort_by(|a, b| (a.date, &a.grant).cmp(&(b.date, &b.grant)));

    let (estimates, estimate_note) = estimate(company, &future, as_of, horizon);
    let mut upcoming = Vec::new();
    for v in &future {
        let e = estimates.get(&(v.grant.clone(), v.date));
        upcoming.push(Upcoming {
            date: v.date,
            grant: v.grant.clone(),
            tokens: v.amount,
            value: value(company, v.amount, price.as_ref())?,
            withholding: e.map(|e| e.0),
            net_tokens: e.map(|e| e.1),
        });
    }

    // The tax year so far, as the tax report counts it (the UK's runs from 6 April).
    let uk = statements::regime(who) == tokencomp_compliance::lots::Regime::Uk;
    let year = if uk { tokencomp_core::period::uk_tax_month(as_of).0 } else { as_of.year() };
    let events = income_events(company, as_of)?;
    let sales = recorded_sales(company);
    let prices = price_book(company);
    let y = statements::tax_year(&company.token.token, who, &events, &sales, &prices, year)
        .map_err(|e| Error::internal(e.to_string()))?;
    let withheld_to_date: Decimal = y.withheld.values().copied().sum();
    let book = statements::person_book(&company.token.token, who, &events, &sales, &prices)
        .map_err(|e| Error::internal(e.to_string()))?;
    let mut held = TokenAmount::ZERO;
    let mut lots = Vec::new();
    for Lot { acquired, amount, basis, .. } in book.open {
        add(&mut held, amount)?;
        lots.push(OpenLot { acquired, tokens: amount, basis });
    }
    Ok(Portal {
        id: who.id.clone(),
        name: who.name.clone(),
        as_of,
        currency,
        held_value: value(company, held, price.as_ref())?,
        unvested_value: value(company, unvested, price.as_ref())?,
        price,
        granted,
        vested,
        unvested,
        forfeited,
        held,
        grants,
        upcoming,
        estimate_note,
        year: crate::reports::tax_year_label(year, uk),
        income_to_date: y.gross,
        withheld_to_date,
        lots,
    })
}

/// (grant, vest date) → (the employee's withholding, net tokens).
type Estimates = BTreeMap<(String, Date), (Decimal, TokenAmount)>;

/// [`Estimates`] from the payroll pass run
/// over the recognized vests and `future`, with the latest close standing in for every later
/// day. Falls back to the rest of this calendar year when the full horizon cannot be
/// estimated (typically: next year's rules are not published yet), and says why.
fn estimate(company: &Company, future: &[RecognizedVest], as_of: Date, horizon: Date) -> (Estimates, Option<String>) {
    if future.is_empty() {
        return (BTreeMap::new(), None);
    }
    let mut standing = company.clone();
    fill_forward(&mut standing.prices, as_of, horizon);
    fill_forward(&mut standing.volumes, as_of, horizon);
    fill_forward(&mut standing.fx, as_of, horizon);
    let grants: BTreeSet<&str> = future.iter().map(|v| v.grant.as_str()).collect();
    let run = |through: Date| -> Result<Vec<IncomeEvent>> {
        let mut vests = recognized(company);
        vests.extend(future.iter().filter(|v| v.date <= through).cloned());
        income_events_of(&standing, &vests, through)
    };
    let collect = |events: Vec<IncomeEvent>| {
        events
            .into_iter()
            .filter(|e| e.vest_date > as_of && grants.contains(e.grant.as_str()))
            .map(|e| ((e.grant.clone(), e.vest_date), (e.withholding.employee_total(), e.settlement.net_tokens)))
            .collect::<BTreeMap<_, _>>()
    };
    match run(horizon) {
        Ok(events) => (collect(events), None),
        Err(full) => {
            // A person reads this: the cause in a sentence (an administrator sees each missing
            // constant or price when a period is run).
            let reason = match &full {
                Error::NotReady { .. } => {
                    "the tax rules for that year are not published yet, and an estimate is never projected from \
                     another year's (an administrator adds them with `tokencomp rules add`)"
                        .to_owned()
                }
                // The pass is company-wide, so its own message can name other people's
                // grants; a person's document never carries it.
                Error::Incomplete(_) => "a price or exchange rate it needs is not recorded".to_owned(),
                _ => "the payroll pass cannot run for it yet (an administrator sees why when running the period)"
                    .to_owned(),
            };
            let year_end = Date::new(as_of.year(), 12, 31).unwrap_or(as_of);
            let partial = if year_end > as_of { run(year_end).ok() } else { None };
            match partial {
                Some(events) => {
                    (collect(events), Some(format!("Withholding after {year_end} is not estimated: {reason}.")))
                }
                None => (BTreeMap::new(), Some(format!("Withholding is not estimated: {reason}."))),
            }
        }
    }
}

/// Every day after `as_of` through `horizon` gets, per key, the last value on or before
/// `as_of` (only where none is recorded): a stand-in for an estimate, never stored.
fn fill_forward(map: &mut BTreeMap<(Currency, Date), Decimal>, as_of: Date, horizon: Date) {
    let currencies: BTreeSet<Currency> = map.keys().map(|(c, _)| *c).collect();
    for c in currencies {
        let Some(last) = map.range((c, Date::MIN)..=(c, as_of)).next_back().map(|(_, v)| *v) else { continue };
        let mut day = as_of;
        while let Ok(next) = day.tomorrow() {
            if next > horizon {
                break;
            }
            map.entry((c, next)).or_insert(last);
            day = next;
        }
    }
}

impl Portal {
    /// The API's document: every amount as its exact value beside a `display` string written
    /// by the one rule (tokens truncated to two places, fiat rounded as booked), so a page never
    /// formats a number itself.
    pub fn to_json(&self, company: &Company) -> serde_json::Value {
        use serde_json::json;
        let token = &company.token.token;
        let cur = self.currency.code();
        let tokens =
            |a: TokenAmount| json!({"base_units": a.base_units().to_string(), "display": token.format_display(a, 2)});
        let fiat = |d: Option<Decimal>| match d {
            Some(d) => {
                json!({"amount": d.to_string(), "display": format!("{} {cur}", tokencomp_money::format_fiat(d))})
            }
            None => serde_json::Value::Null,
        };
        let price = |p: &Option<PricePoint>| match p {
            Some(p) => json!({"price": p.price.to_string(), "currency": cur, "date": p.date.to_string(),
                              "fx_date": p.fx_date.map(|d| d.to_string())}),
            None => serde_json::Value::Null,
        };
        json!({
            "person": self.id, "name": self.name, "as_of": self.as_of.to_string(), "currency": cur,
            "token": {"symbol": token.symbol(), "decimals": token.decimals()},
            "price": price(&self.price),
            "granted": tokens(self.granted), "vested": tokens(self.vested), "unvested": tokens(self.unvested),
            "forfeited": tokens(self.forfeited), "held": tokens(self.held),
            "held_value": fiat(self.held_value), "unvested_value": fiat(self.unvested_value),
            "grants": self.grants.iter().map(|g| json!({
                "grant": g.grant, "grant_date": g.grant_date.to_string(), "granted": tokens(g.granted),
                "price": price(&g.price), "value": fiat(g.value),
            })).collect::<Vec<_>>(),
            "upcoming": self.upcoming.iter().map(|u| json!({
                "date": u.date.to_string(), "grant": u.grant, "tokens": tokens(u.tokens),
                "value": fiat(u.value), "withholding": fiat(u.withholding),
                "net_tokens": u.net_tokens.map(tokens),
            })).collect::<Vec<_>>(),
            "estimate_note": self.estimate_note,
            "year": self.year,
            "income_to_date": fiat(Some(self.income_to_date)),
            "withheld_to_date": fiat(Some(self.withheld_to_date)),
            "lots": self.lots.iter().map(|l| json!({
                "acquired": l.acquired.to_string(), "tokens": tokens(l.tokens), "basis": fiat(Some(l.basis)),
            })).collect::<Vec<_>>(),
        })
    }
}
