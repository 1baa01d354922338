//! Statements built from the compliance pass: a person's lots, sales and gains; a person's and
//! the company's double-entry journals; a person's tax report.
//!
//! Everything here is derived from `payroll::income_events` plus recorded sales, so it can be
//! re-derived at any time and always agrees with payroll. This module never reads a clock and
//! never rounds except through the modules it calls (lots, payroll, accounting).

use std::collections::BTreeMap;

use jiff::civil::Date;
use tokencomp_money::{Currency, Decimal, MONEY_ROUNDING, Token, TokenAmount};

use crate::accounting::{self, Award, Forfeit, PriceAt};
use crate::books::{AccountNames, Amount, Entry, Journal, LotRef, Posting};
use crate::fmv::{FmvError, PriceBook};
use crate::lots::{Book, Disposal, Lot, LotError, Regime, Reporting, Sale, Selection, Term, match_sales};
use crate::payroll::{IncomeEvent, pay_currency};
use crate::withholding::{Payer, TaxKind};
use tokencomp_core::EventKind;
use tokencomp_core::model::{AttributionPolicy as Attribution, ClassificationPolicy as Classification};
use tokencomp_core::model::{ClassificationPolicy, FmvSource, GrantSize, GrantTerms, Person, Policy};

#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    #[error(transparent)]
    Lots(#[from] LotError),
    #[error("sale {sale}: {source}")]
    Fx { sale: String, source: FmvError },
    #[error("{0}")]
    Other(String),
}

/// `*sum += x`, checked: a fiat total past `Decimal`'s range is an error, never a panic.
fn add(sum: &mut Decimal, x: Decimal) -> Result<(), StatementError> {
    *sum = sum.checked_add(x).ok_or_else(|| StatementError::Other(format!("a total overflows: {sum} + {x}")))?;
    Ok(())
}

/// A sale as recorded (USD price and fee), before conversion to the person's tax currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedSale {
    pub id: String,
    pub person: String,
    pub wallet: String,
    pub date: Date,
    pub amount: TokenAmount,
    pub price_usd: Decimal,
    pub fee_usd: Decimal,
    pub selection: Selection,
}

/// How a person's disposals are matched to lots.
pub fn regime(person: &Person) -> Regime {
    match person.country.as_deref() {
        Some("GB") => Regime::Uk,
        Some("DE") => Regime::De,
        _ => Regime::Us,
    }
}

/// A person's lots (one per vest) and sales (each sell-to-cover sale, then the recorded
/// sales, in the person's tax currency), ready for matching.
pub fn person_inputs(
    person: &Person,
    events: &[IncomeEvent],
    sales: &[RecordedSale],
    prices: &PriceBook<'_>,
) -> Result<(Vec<Lot>, Vec<Sale>), StatementError> {
    let mut lots = Vec::new();
    let mut out = Vec::new();
    for e in events.iter().filter(|e| e.person == person.id && !e.lot.units.is_zero()) {
        lots.push(Lot {
            id: e.lot.id.clone(),
            wallet: e.lot.wallet.clone(),
            acquired: e.lot.acquired,
            amount: e.lot.units,
            basis: e.lot.basis,
        });
        let s = &e.settlement;
        if !s.tokens_sold.is_zero() {
            out.push(Sale {
                id: format!("cover:{}", e.lot.id),
                wallet: e.lot.wallet.clone(),
                date: e.lot.acquired,
                amount: s.tokens_sold,
                price: s.sale_price,
                fee: s.fee,
                // The covering sale takes the just-vested lot: named for the US; the UK's
                // same-day rule matches it anyway; German FIFO is statutory.
                selection: match regime(person) {
                    Regime::Us => Selection::Specific(vec![(e.lot.id.clone(), s.tokens_sold)]),
                    _ => Selection::Fifo,
                },
                reported: Reporting::NoForm,
            });
        }
    }
    let currency = pay_currency(person);
    for s in sales.iter().filter(|s| s.person == person.id) {
        let fx = |source| StatementError::Fx { sale: s.id.clone(), source };
        let price = prices.convert_price(s.price_usd, currency, s.date).map_err(fx)?;
        let rate = prices.rate(currency, s.date).map_err(fx)?;
        out.push(Sale {
            id: s.id.clone(),
            wallet: s.wallet.clone(),
            date: s.date,
            amount: s.amount,
            price,
            fee: MONEY_ROUNDING.apply(s.fee_usd * rate),
            selection: s.selection.clone(),
            reported: Reporting::NoForm,
        });
    }
    Ok((lots, out))
}

/// A person's matched book: every disposal and what remains open.
pub fn person_book(
    token: &Token,
    person: &Person,
    events: &[IncomeEvent],
    sales: &[RecordedSale],
    prices: &PriceBook<'_>,
) -> Result<Book, StatementError> {
    let (lots, sales) = person_inputs(person, events, sales, prices)?;
    Ok(match_sales(regime(person), token, &lots, &sales)?)
}

fn in_range(d: Date, from: Date, to: Date) -> bool {
    from <= d && d <= to
}

const WALLETS: &str = "Assets:Wallet";
const TAXES: &str = "Expenses:Taxes";
const PAYROLL_TAXES: &str = "Liabilities:PayrollTaxes";
const COMPENSATION: &str = "Expenses:TokenCompensation";
const TOP_UPS: &str = "Expenses:TokenCompensation:TopUps";

/// An account [`AccountNames`] was given; a miss is a bug in the caller's list of ids, reported
/// rather than papered over with another name.
fn named(names: &AccountNames, parent: &str, id: &str) -> Result<String, StatementError> {
    names
        .get(parent, id)
        .map(str::to_owned)
        .ok_or_else(|| StatementError::Other(format!("no account was named for `{id}` under {parent}")))
}

/// Units of one lot entering (or leaving, `negative`) a wallet at their basis.
fn lot_posting(
    names: &AccountNames,
    wallet: &str,
    units: TokenAmount,
    negative: bool,
    label: &str,
    acquired: Date,
    basis: Decimal,
) -> Result<Posting, StatementError> {
    let lot = LotRef { label: label.to_owned(), acquired, basis };
    Ok(Posting { account: named(names, WALLETS, wallet)?, amount: Amount::Lot { units, negative, lot, price: None } })
}

/// A person's own journal between `from` and `to`: opening lots, vests (wages, taxes withheld,
/// cash), and sales (lots out at cost, cash in, gains by term). Amounts are in the person's
/// tax currency.
pub fn person_journal(
    token: &Token,
    person: &Person,
    events: &[IncomeEvent],
    sales: &[RecordedSale],
    prices: &PriceBook<'_>,
    from: Date,
    to: Date,
) -> Result<Journal, StatementError> {
    let currency = pay_currency(person);
    let (lots, all_sales) = person_inputs(person, events, sales, prices)?;
    let book = match_sales(regime(person), token, &lots, &all_sales)?;
    let mut entries = Vec::new();

    // Lots held when the range opens: what was acquired before it, less what was sold before.
    let before = from.yesterday().map_err(|e| StatementError::Other(e.to_string()))?;
    let earlier_sales: Vec<Sale> = all_sales.iter().filter(|s| s.date <= before).cloned().collect();
    let earlier_lots: Vec<Lot> = lots.iter().filter(|l| l.acquired <= before).cloned().collect();
    let opening = match_sales(regime(person), token, &earlier_lots, &earlier_sales)?;
    // Every wallet a lot or a sale touches, and every tax line, named once for the journal.
    let names = AccountNames::new(
        [],
        lots.iter()
            .map(|l| (WALLETS, l.wallet.as_str()))
            .chain(all_sales.iter().map(|s| (WALLETS, s.wallet.as_str())))
            .chain(book.disposals.iter().map(|d| (WALLETS, d.wallet.as_str())))
            .chain(book.open.iter().chain(&opening.open).map(|l| (WALLETS, l.wallet.as_str())))
            .chain(TaxKind::ALL.iter().map(|k| (TAXES, k.name()))),
    );
    let mut open_postings = Vec::new();
    let mut open_basis = Decimal::ZERO;
    for l in opening.open.iter().filter(|l| !l.amount.is_zero()) {
        add(&mut open_basis, l.basis)?;
        open_postings.push(lot_posting(&names, &l.wallet, l.amount, false, &l.id, l.acquired, l.basis)?);
    }
    if !open_postings.is_empty() {
        open_postings.push(Posting { account: "Equity:Opening-Balances".into(), amount: Amount::Fiat(-open_basis) });
        entries.push(Entry {
            date: from,
            id: format!("opening:{}", person.id),
            narration: format!("Lots held by {} on {from}", person.name),
            postings: open_postings,
        });
    }

    for e in events.iter().filter(|e| e.person == person.id && in_range(e.income_date, from, to)) {
        let mut postings = Vec::new();
        let gross = e.gross();
        postings.push(Posting { account: "Income:Wages:Tokens".into(), amount: Amount::Fiat(-e.token_income) });
        if !e.top_up.is_zero() {
            postings.push(Posting { account: "Income:Wages:TopUp".into(), amount: Amount::Fiat(-e.top_up) });
        }
        let mut debits = Decimal::ZERO;
        if !e.lot.units.is_zero() {
            add(&mut debits, e.lot.basis)?;
            postings.push(lot_posting(
                &names,
                &e.lot.wallet,
                e.lot.units,
                false,
                &e.lot.id,
                e.lot.acquired,
                e.lot.basis,
            )?);
        }
        for l in e.withholding.lines.iter().filter(|l| l.payer == Payer::Employee && !l.amount.is_zero()) {
            add(&mut debits, l.amount)?;
            postings.push(Posting { account: named(&names, TAXES, l.kind.name())?, amount: Amount::Fiat(l.amount) });
        }
        // Cash is what balances: top-ups and refunds in, tax paid from salary out, and for
        // net settlement the value of tokens the employer kept beyond the tax.
        let cash = gross - debits;
        if !cash.is_zero() {
            postings.push(Posting { account: "Assets:Cash".into(), amount: Amount::Fiat(cash) });
        }
        entries.push(Entry {
            date: e.income_date,
            id: e.id(),
            narration: format!(
                "{} {} of grant {} at {} {} ({} {})",
                e.kind.name(),
                token.format(e.units),
                e.grant,
                e.price,
                currency,
                e.fmv.source,
                e.fmv.date
            ),
            postings,
        });
    }

    let mut by_sale: BTreeMap<(Date, String), Vec<&Disposal>> = BTreeMap::new();
    for d in book.disposals.iter().filter(|d| in_range(d.sold, from, to)) {
        by_sale.entry((d.sold, d.sale.clone())).or_default().push(d);
    }
    for ((date, sale), pieces) in by_sale {
        let mut postings = Vec::new();
        let mut proceeds = Decimal::ZERO;
        let mut gains: BTreeMap<&str, Decimal> = BTreeMap::new();
        for d in &pieces {
            add(&mut proceeds, d.proceeds)?;
            let term = match d.term {
                Term::Long => "Income:CapitalGains:LongTerm",
                _ => "Income:CapitalGains:ShortTerm",
            };
            add(gains.entry(term).or_default(), d.gain)?;
            postings.push(lot_posting(&names, &d.wallet, d.amount, true, &d.lot, d.acquired, d.basis)?);
        }
        postings.push(Posting { account: "Assets:Cash".into(), amount: Amount::Fiat(proceeds) });
        for (account, gain) in gains.into_iter().filter(|(_, g)| !g.is_zero()) {
            postings.push(Posting { account: account.into(), amount: Amount::Fiat(-gain) });
        }
        let units = TokenAmount::checked_sum(pieces.iter().map(|d| d.amount))
            .map_err(|e| StatementError::Other(e.to_string()))?;
        entries.push(Entry {
            date,
            id: format!("sale:{sale}"),
            narration: format!("sale {sale}: {} {}", token.format(units), token.symbol()),
            postings,
        });
    }
    // On one day, lots arrive (opening, vests) before sales can take them.
    let rank = |e: &Entry| u8::from(e.id.starts_with("sale:"));
    entries.sort_by(|a, b| (a.date, rank(a), &a.id).cmp(&(b.date, rank(b), &b.id)));
    Ok(Journal { title: format!("{} — tokens and gains", person.name), token: token.clone(), currency, entries })
}

/// One grant's expense over one period, from the accounting module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpenseLine {
    pub grant: String,
    pub period_end: Date,
    pub classification: ClassificationPolicy,
    pub amount: Decimal,
}

/// The company's journal: each period's compensation expense (the change in cumulative
/// expense), employer payroll taxes, cash top-ups and tax remitted on net settlement, in USD.
pub fn company_journal(
    title: &str,
    token: &Token,
    expense: &[ExpenseLine],
    events: &[IncomeEvent],
    from: Date,
    to: Date,
) -> Result<Journal, StatementError> {
    let names = AccountNames::new(
        [TOP_UPS],
        expense
            .iter()
            .map(|l| (COMPENSATION, l.grant.as_str()))
            .chain(TaxKind::ALL.iter().map(|k| (PAYROLL_TAXES, k.name()))),
    );
    let mut entries = Vec::new();
    let mut by_period: BTreeMap<Date, Vec<&ExpenseLine>> = BTreeMap::new();
    for l in expense.iter().filter(|l| in_range(l.period_end, from, to) && !l.amount.is_zero()) {
        by_period.entry(l.period_end).or_default().push(l);
    }
    for (end, lines) in by_period {
        let mut postings = Vec::new();
        for l in lines {
            let credit = match l.classification {
                ClassificationPolicy::Equity => "Equity:TokenAwards",
                ClassificationPolicy::Liability => "Liabilities:TokenAwards",
            };
            postings.push(Posting { account: named(&names, COMPENSATION, &l.grant)?, amount: Amount::Fiat(l.amount) });
            postings.push(Posting { account: credit.into(), amount: Amount::Fiat(-l.amount) });
        }
        entries.push(Entry {
            date: end,
            id: format!("expense:{end}"),
            narration: format!("token compensation expense for the period ending {end}"),
            postings,
        });
    }
    for e in events.iter().filter(|e| in_range(e.income_date, from, to)) {
        let usd = |amount: Decimal| MONEY_ROUNDING.apply(amount / e.fx_rate);
        let mut postings = Vec::new();
        for l in e.withholding.lines.iter().filter(|l| l.payer == Payer::Employer && !l.amount.is_zero()) {
            let a = usd(l.amount);
            postings.push(Posting { account: "Expenses:PayrollTaxes".into(), amount: Amount::Fiat(a) });
            postings.push(Posting { account: named(&names, PAYROLL_TAXES, l.kind.name())?, amount: Amount::Fiat(-a) });
        }
        if !e.top_up.is_zero() {
            let a = usd(e.top_up);
            postings.push(Posting { account: TOP_UPS.into(), amount: Amount::Fiat(a) });
            postings.push(Posting { account: "Liabilities:Payroll:TopUps".into(), amount: Amount::Fiat(-a) });
        }
        if !e.settlement.tokens_withheld.is_zero() {
            let a = usd(e.settlement.cash_remitted);
            postings.push(Posting { account: "Assets:Treasury:WithheldTokens".into(), amount: Amount::Fiat(a) });
            postings.push(Posting { account: "Liabilities:Withholding".into(), amount: Amount::Fiat(-a) });
        }
        if postings.is_empty() {
            continue;
        }
        entries.push(Entry {
            date: e.income_date,
            id: format!("payroll:{}", e.id()),
            narration: format!("payroll for {} ({} of grant {})", e.person, token.format(e.units), e.grant),
            postings,
        });
    }
    entries.sort_by(|a, b| (a.date, &a.id).cmp(&(b.date, &b.id)));
    Ok(Journal { title: title.to_owned(), token: token.clone(), currency: Currency::USD, entries })
}

/// A person's tax year (calendar; UK: from 6 April): income, withholding, disposals and gains.
#[derive(Clone, Debug)]
pub struct TaxYear<'a> {
    pub person: &'a Person,
    pub year: i16,
    pub currency: Currency,
    pub income: Vec<&'a IncomeEvent>,
    pub gross: Decimal,
    pub withheld: BTreeMap<&'static str, Decimal>,
    pub disposals: Vec<Disposal>,
    pub short_gain: Decimal,
    pub long_gain: Decimal,
    pub open: Vec<Lot>,
}

pub fn tax_year<'a>(
    token: &Token,
    person: &'a Person,
    events: &'a [IncomeEvent],
    sales: &[RecordedSale],
    prices: &PriceBook<'_>,
    year: i16,
) -> Result<TaxYear<'a>, StatementError> {
    // The UK's tax year runs 6 April to 5 April (`year` is the one it starts in).
    let in_year = |d: Date| match regime(person) {
        Regime::Uk => tokencomp_core::period::uk_tax_month(d).0 == year,
        _ => d.year() == year,
    };
    let income: Vec<&IncomeEvent> = events.iter().filter(|e| e.person == person.id && in_year(e.income_date)).collect();
    let mut withheld: BTreeMap<&'static str, Decimal> = BTreeMap::new();
    let mut gross = Decimal::ZERO;
    for e in &income {
        add(&mut gross, e.gross())?;
        for l in e.withholding.lines.iter().filter(|l| l.payer == Payer::Employee) {
            add(withheld.entry(l.kind.name()).or_default(), l.amount)?;
        }
    }
    let book = person_book(token, person, events, sales, prices)?;
    let disposals: Vec<Disposal> = book.disposals.into_iter().filter(|d| in_year(d.sold)).collect();
    let (mut short_gain, mut long_gain) = (Decimal::ZERO, Decimal::ZERO);
    for d in &disposals {
        match d.term {
            Term::Long => add(&mut long_gain, d.gain)?,
            _ => add(&mut short_gain, d.gain)?,
        }
    }
    Ok(TaxYear {
        person,
        year,
        currency: pay_currency(person),
        income,
        gross,
        withheld,
        disposals,
        short_gain,
        long_gain,
        open: book.open,
    })
}

/// An award's data for the accounting module, owned (an `Award` borrows from it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwardData {
    pub grant: String,
    pub service_start: Date,
    pub units: TokenAmount,
    pub price: Decimal,
    pub tranches: Vec<(Date, TokenAmount)>,
    pub forfeitures: Vec<Forfeit>,
    pub attribution: Attribution,
    pub classification: Classification,
}

impl AwardData {
    pub fn award(&self) -> Award<'_> {
        Award {
            grant: &self.grant,
            service_start: self.service_start,
            units: self.units,
            grant_date_price: self.price,
            tranches: &self.tranches,
            forfeitures: &self.forfeitures,
            attribution: self.attribution,
            classification: self.classification,
        }
    }
}

fn other(e: impl std::fmt::Display) -> StatementError {
    StatementError::Other(e.to_string())
}

/// A grant as an accounting award, as its events stand on `as_of`.
///
/// Grant-date fair value: the price a fiat-sized grant was sized at, else the recorded close on
/// the grant date. Performance tranches not yet earned are left out (not probable). Forfeited
/// units are taken from the end of the schedule as it stood without terminations and
/// revocations: the units furthest from vesting are the ones a termination (less any
/// acceleration of the nearest ones) takes away.
pub fn award_data(
    terms: &GrantTerms,
    tz: &jiff::tz::TimeZone,
    as_of: Date,
    policy: &Policy,
    prices: &PriceBook<'_>,
) -> Result<AwardData, StatementError> {
    let g = &terms.grant;
    let price = match &terms.size {
        GrantSize::Fiat { price, .. } => *price,
        GrantSize::Tokens => {
            prices
                .fmv(FmvSource::Close, terms.grant_date)
                .map_err(|e| StatementError::Other(format!("grant {}: grant-date fair value: {e}", g.id)))?
                .price
        }
    };
    let tl = g.timeline(tz, Some(as_of)).map_err(other)?;
    let tranches: Vec<(Date, TokenAmount)> =
        tl.tranches.iter().filter(|t| !t.amount.is_zero()).map(|t| (t.date, t.amount)).collect();
    let mut forfeitures = Vec::new();
    if !tl.forfeitures.is_empty() {
        let mut uncut = g.clone();
        uncut.events.retain(|e| !matches!(e.kind, EventKind::Termination { .. } | EventKind::Revocation));
        let original = uncut.timeline(tz, Some(as_of)).map_err(other)?;
        // Walk the original schedule from its far end.
        let mut pieces: Vec<(Date, TokenAmount)> =
            original.tranches.iter().filter(|t| !t.amount.is_zero()).map(|t| (t.date, t.amount)).collect();
        for f in &tl.forfeitures {
            let mut left = f.amount;
            while !left.is_zero() {
                let Some((date, amount)) = pieces.pop() else { break };
                let take = amount.min(left);
                let scheduled = if date > f.date { date } else { f.date.tomorrow().map_err(other)? };
                forfeitures.push(Forfeit { on: f.date, scheduled, units: take });
                left = left.checked_sub(take).map_err(other)?;
                let rest = amount.checked_sub(take).map_err(other)?;
                if !rest.is_zero() {
                    pieces.push((date, rest));
                }
            }
            if !left.is_zero() {
                forfeitures.push(Forfeit { on: f.date, scheduled: f.date.tomorrow().map_err(other)?, units: left });
            }
        }
    }
    let units = TokenAmount::checked_sum(tranches.iter().map(|t| t.1).chain(forfeitures.iter().map(|f| f.units)))
        .map_err(other)?;
    Ok(AwardData {
        grant: g.id.clone(),
        service_start: terms.grant_date,
        units,
        price,
        tranches,
        forfeitures,
        attribution: terms.policy.attribution.unwrap_or(policy.attribution),
        classification: terms.policy.classification.unwrap_or(policy.classification),
    })
}

/// Each award's expense for each period ending in `ends` (ascending), the first measured from
/// `opening` (the end of the period before, or `None` for the start of history).
pub fn expense_lines(
    token: &Token,
    awards: &[AwardData],
    opening: Option<Date>,
    ends: &[Date],
    price_at: &PriceAt,
) -> Result<Vec<ExpenseLine>, StatementError> {
    let mut out = Vec::new();
    for a in awards {
        let award = a.award();
        let mut prev = opening;
        for &end in ends {
            let amount = accounting::period_expense(token, &award, prev, end, price_at).map_err(other)?;
            prev = Some(end);
            out.push(ExpenseLine { grant: a.grant.clone(), period_end: end, classification: a.classification, amount });
        }
    }
    Ok(out)
}
