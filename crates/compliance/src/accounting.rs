//! Employer accounting for token awards: how much compensation cost an award has earned by a
//! date, what each period's journal entry is, and the rollforward of units and expense that the
//! disclosures need (docs/tax-rules.md#employer-accounting; ASC 718).
//!
//! Everything here is a cumulative measured directly at a date: a period's expense is the
//! difference of two cumulatives, never a sum of rounded pieces, so entries always add up.
//!
//! This module must never read prices, dates or the ledger itself (prices come in through a
//! closure, dates as parameters), never round anything but the cumulative amounts it returns,
//! and never use a float.
//!
//! # Conventions
//!
//! - A vest on date `d` happens at 00:00 of `d` (ARCHITECTURE.md, "Time"), so the service it
//!   requires is the days `service_start ..= d - 1`; a measurement "at `D`" is at the end of
//!   `D`, which counts `D` as served.
//! - Forfeitures are accounted for as they occur (ASC 718-10-35-3), not estimated: until a
//!   forfeiture's date the units are part of the award exactly as scheduled, and from that date
//!   they are gone, which reverses what had been recognized for them. Each forfeited piece
//!   therefore carries the date it was scheduled to vest ([`Forfeit::scheduled`]): the expense
//!   recognized before the forfeiture depends on it, and it cannot be recovered from the
//!   schedule after the event (a termination leaves no future tranches to spread them over).

use jiff::civil::Date;
use tokencomp_money::{AmountError, Decimal, FiatError, MONEY_ROUNDING, Rounding, Token, TokenAmount, token_value};

use tokencomp_core::calendar::{self, Day};

// The plan policies are the company file's own types, under the names this module's rules use.
use tokencomp_core::model::{AttributionPolicy as Attribution, ClassificationPolicy as Classification};

/// Unvested units that left an award (termination, revocation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Forfeit {
    /// The day the units leave the award; from the end of this day they no longer count.
    pub on: Date,
    /// The day they were scheduled to vest, as the schedule stood just before `on`; strictly
    /// after `on`, since only unvested units can be forfeited.
    pub scheduled: Date,
    pub units: TokenAmount,
}

/// One award, as the ledger knows it.
#[derive(Clone, Copy, Debug)]
pub struct Award<'a> {
    pub grant: &'a str,
    /// When service begins: usually the grant date or the vesting start.
    pub service_start: Date,
    /// Units granted.
    pub units: TokenAmount,
    /// Fair value per whole token at the grant date; what equity awards are measured at
    /// (liability awards use `price_at` instead).
    pub grant_date_price: Decimal,
    /// The vesting schedule after events (past and future): dates not descending, none before
    /// `service_start`; with the forfeitures, sums to `units`.
    pub tranches: &'a [(Date, TokenAmount)],
    /// Units forfeited, accounted for as they occur.
    pub forfeitures: &'a [Forfeit],
    pub attribution: Attribution,
    pub classification: Classification,
}

/// Fair value per whole token on a date, supplied by the caller. Return
/// [`AccountingError::MissingPrice`] when there is none; whatever it returns is passed on with
/// the grant and the date.
pub type PriceAt<'p> = dyn Fn(Date) -> Result<Decimal, AccountingError> + 'p;

/// An award measured at the end of a date, each amount rounded once to cents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Measurement {
    /// Compensation cost recognized since the service start.
    pub cumulative: Decimal,
    /// The value of the units vested by the date: the floor under `cumulative`.
    pub vested_value: Decimal,
    /// The value of every unit still in the award (vested or not): what `cumulative` reaches
    /// once all service is rendered. `fair_value - cumulative` is the unrecognized cost.
    pub fair_value: Decimal,
}

/// Unvested units outstanding over a period (ASC 718-10-50-2: nonvested at the start, granted,
/// vested, forfeited, nonvested at the end).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnitRollforward {
    pub opening: TokenAmount,
    pub granted: TokenAmount,
    pub vested: TokenAmount,
    pub forfeited: TokenAmount,
    pub closing: TokenAmount,
}

/// Compensation cost over a period, in cents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpenseRollforward {
    /// Cumulative expense at the end of the day before the period.
    pub opening: Decimal,
    /// `closing - opening`: the period's journal entries, summed.
    pub recognized: Decimal,
    /// Cumulative expense at the end of the period.
    pub closing: Decimal,
    /// Cost not yet recognized for the units outstanding at the end of the period.
    pub unrecognized: Decimal,
}

/// The movement of a set of awards over the days `from ..= to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rollforward {
    pub from: Date,
    pub to: Date,
    pub units: UnitRollforward,
    pub expense: ExpenseRollforward,
}

/// Why an award could not be measured.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccountingError {
    #[error("grant {grant}: a tranche vests on {date}, before service starts on {service_start}")]
    TrancheBeforeServiceStart { grant: String, date: Date, service_start: Date },
    #[error("grant {grant}: tranches must be in date order, but {date} comes after {previous}")]
    TranchesNotAscending { grant: String, date: Date, previous: Date },
    #[error("grant {grant}: units are forfeited on {on}, before service starts on {service_start}")]
    ForfeitureBeforeServiceStart { grant: String, on: Date, service_start: Date },
    #[error(
        "grant {grant}: units forfeited on {on} were scheduled to vest on {scheduled}; only units that \
         have not vested yet can be forfeited"
    )]
    ForfeitureOfVestedUnits { grant: String, on: Date, scheduled: Date },
    #[error(
        "grant {grant}: tranches ({tranches} base units) and forfeitures ({forfeited}) must add up to the \
         {units} base units granted"
    )]
    UnitsMismatch { grant: String, units: TokenAmount, tranches: TokenAmount, forfeited: TokenAmount },
    #[error("grant {grant}: its units add up to more than 128 bits of base units")]
    UnitsOverflow { grant: String },
    #[error("grant {grant}: the fair value on {date} is {price}; a price cannot be negative")]
    NegativePrice { grant: String, date: Date, price: Decimal },
    #[error("no fair value is recorded for {date}")]
    MissingPrice { date: Date },
    #[error("grant {grant}: cannot value its tokens on {date}: {source}")]
    Price {
        grant: String,
        date: Date,
        #[source]
        source: Box<AccountingError>,
    },
    #[error("grant {grant}: its value on {date} does not fit in a decimal")]
    ValueOverflow { grant: String, date: Date },
    #[error("the period starting {start} ends on {end}, before it starts")]
    PeriodReversed { start: Date, end: Date },
    #[error("the day before {date} is outside the supported calendar")]
    DateOutOfRange { date: Date },
    #[error(
        "units do not reconcile: opening {opening} + granted {granted} - vested {vested} - forfeited \
         {forfeited} should be closing {closing}"
    )]
    Unreconciled {
        opening: TokenAmount,
        granted: TokenAmount,
        vested: TokenAmount,
        forfeited: TokenAmount,
        closing: TokenAmount,
    },
}

/// Checks an award's shape: tranches not before the service start and in date order,
/// forfeitures of unvested units only, and tranches plus forfeitures equal to the units granted.
pub fn validate(award: &Award) -> Result<(), AccountingError> {
    let grant = || award.grant.to_owned();
    if award.grant_date_price.is_sign_negative() && !award.grant_date_price.is_zero() {
        return Err(AccountingError::NegativePrice {
            grant: grant(),
            date: award.service_start,
            price: award.grant_date_price,
        });
    }
    let mut previous: Option<Date> = None;
    for &(date, _) in award.tranches {
        if date < award.service_start {
            return Err(AccountingError::TrancheBeforeServiceStart {
                grant: grant(),
                date,
                service_start: award.service_start,
            });
        }
        if let Some(previous) = previous.filter(|&p| p > date) {
            return Err(AccountingError::TranchesNotAscending { grant: grant(), date, previous });
        }
        previous = Some(date);
    }
    for f in award.forfeitures {
        if f.on < award.service_start {
            return Err(AccountingError::ForfeitureBeforeServiceStart {
                grant: grant(),
                on: f.on,
                service_start: award.service_start,
            });
        }
        if f.scheduled <= f.on {
            return Err(AccountingError::ForfeitureOfVestedUnits { grant: grant(), on: f.on, scheduled: f.scheduled });
        }
    }
    let overflow = |_: AmountError| AccountingError::UnitsOverflow { grant: grant() };
    let tranches = TokenAmount::checked_sum(award.tranches.iter().map(|t| t.1)).map_err(overflow)?;
    let forfeited = TokenAmount::checked_sum(award.forfeitures.iter().map(|f| f.units)).map_err(overflow)?;
    if tranches.checked_add(forfeited).map_err(overflow)? != award.units {
        return Err(AccountingError::UnitsMismatch { grant: grant(), units: award.units, tranches, forfeited });
    }
    Ok(())
}

/// Cumulative compensation cost recognized for `award` through the end of `date`, in cents.
///
/// The rules (docs/tax-rules.md#employer-accounting; ASC 718-10-35-2 and 35-8; FIN 28):
///
/// - **Service fraction.** A tranche vesting on `d` requires the service days
///   `service_start ..= d - 1`. At the end of `date` the days served are
///   `date - service_start + 1`, so its fraction is `(date - service_start + 1) / (d - service_start)`,
///   which reaches 1 at the end of `d - 1`; a tranche vesting on or before `date` is fully earned,
///   and nothing is earned before the service start. Day counts are integers, the ratio an exact
///   `Decimal` quotient.
/// - **Straight-line.** The value of every unit in the award at `date` times the fraction of the
///   award's last scheduled vest (ASC 718-10-35-8, straight-line over the whole award).
/// - **Graded.** Each tranche's value times its own fraction (FIN 28: each tranche is a separate
///   award), summed.
/// - **Floor.** Either way the result is at least the value of the units vested by `date`
///   (ASC 718-10-35-8).
/// - **Forfeitures as they occur** (ASC 718-10-35-3). Before a forfeiture's `on` date its units
///   are a tranche vesting on [`Forfeit::scheduled`]; from `on` they are out of the award, which
///   reverses exactly the cost recognized for them (with the straight-line method, the award's
///   last vest date is taken from what is left).
/// - **Equity** awards are valued at `grant_date_price` and never remeasured. **Liability**
///   awards are remeasured (ASC 718-30-35-1, 35-2): a tranche vested by `date` settled at
///   `price_at(its vest date)`, the rest at `price_at(date)`; `price_at` is never called for
///   equity awards, nor before the service start.
/// - **Rounding.** Values and fractions are exact decimals (at most 28 significant digits); the
///   cumulative is rounded once, to cents (`MONEY_ROUNDING`), per award and date. That is the
///   named rounding point: period entries are differences of rounded cumulatives.
pub fn cumulative_expense(
    token: &Token,
    award: &Award,
    date: Date,
    price_at: &PriceAt,
) -> Result<Decimal, AccountingError> {
    measure(token, award, date, price_at).map(|m| m.cumulative)
}

/// The expense to book for the period ending `end`: the cumulative at the end of `end` minus the
/// cumulative at the end of `prev_end` (zero when there is no earlier period). docs/tax-rules.md#employer-accounting:
/// "each period's journal entry is cumulative expense now minus cumulative expense at the end
/// of the prior period". Negative for a forfeiture or a fall in a liability's value.
pub fn period_expense(
    token: &Token,
    award: &Award,
    prev_end: Option<Date>,
    end: Date,
    price_at: &PriceAt,
) -> Result<Decimal, AccountingError> {
    let before = match prev_end {
        Some(prev) if prev > end => return Err(AccountingError::PeriodReversed { start: prev, end }),
        Some(prev) => cumulative_expense(token, award, prev, price_at)?,
        None => Decimal::ZERO,
    };
    let now = cumulative_expense(token, award, end, price_at)?;
    now.checked_sub(before).ok_or_else(|| AccountingError::ValueOverflow { grant: award.grant.to_owned(), date: end })
}

/// `award` measured at the end of `date`: the cumulative expense of [`cumulative_expense`] (see
/// its rules), the vested value that floors it, and the value of the units still in the award.
/// Before the service start the award has no cost and no value yet.
pub fn measure(token: &Token, award: &Award, date: Date, price_at: &PriceAt) -> Result<Measurement, AccountingError> {
    validate(award)?;
    let zero = Measurement { cumulative: Decimal::ZERO, vested_value: Decimal::ZERO, fair_value: Decimal::ZERO };
    let start = calendar::to_day(award.service_start);
    let at = calendar::to_day(date);
    if at < start {
        return Ok(zero);
    }
    let overflow = || AccountingError::ValueOverflow { grant: award.grant.to_owned(), date };
    let pieces = live_pieces(award, date)?;
    let Some(last) = pieces.last().map(|p| p.0) else {
        return Ok(zero);
    };
    let served = Decimal::from(i64::from(at) - i64::from(start) + 1);

    // The remeasured price is asked for once, and only if some unit is still unvested.
    let mut current: Option<Decimal> = None;
    let mut total = Decimal::ZERO;
    let mut vested = Decimal::ZERO;
    let mut graded = Decimal::ZERO;
    for &(vests, units) in &pieces {
        let is_vested = vests <= date;
        let price = match award.classification {
            Classification::Equity => award.grant_date_price,
            Classification::Liability if is_vested => price_on(award, vests, price_at)?,
            Classification::Liability => match current {
                Some(p) => p,
                None => *current.insert(price_on(award, date, price_at)?),
            },
        };
        let value = exact_value(token, units, price).map_err(|_| overflow())?;
        total = total.checked_add(value).ok_or_else(overflow)?;
        let earned = if is_vested {
            vested = vested.checked_add(value).ok_or_else(overflow)?;
            value
        } else {
            fraction_of(value, served, start, vests).ok_or_else(overflow)?
        };
        graded = graded.checked_add(earned).ok_or_else(overflow)?;
    }
    let attributed = match award.attribution {
        Attribution::Graded => graded,
        Attribution::StraightLine if last <= date => total,
        Attribution::StraightLine => fraction_of(total, served, start, last).ok_or_else(overflow)?,
    };
    Ok(Measurement {
        cumulative: MONEY_ROUNDING.apply(attributed.max(vested)),
        vested_value: MONEY_ROUNDING.apply(vested),
        fair_value: MONEY_ROUNDING.apply(total),
    })
}

/// Units and expense of `awards` over the days `from ..= to` (ASC 718-10-50-2).
///
/// - Units: opening is what was granted, not vested and not forfeited by the end of the day
///   before `from`; granted counts the awards whose service starts in the period; vested and
///   forfeited count tranche and forfeiture dates in the period; closing is what is outstanding
///   and unvested at the end of `to`. Awards whose service starts after `to` are left out. The
///   identity `opening + granted - vested - forfeited = closing` is checked on every call.
/// - Expense: opening and closing are the sums of each award's rounded cumulative at the end of
///   the day before `from` and at the end of `to`; recognized is their difference; unrecognized
///   is, per award, the value of its units at `to` (grant-date values for equity, settled and
///   current values for liabilities) minus its cumulative expense.
pub fn rollforward(
    token: &Token,
    awards: &[Award],
    from: Date,
    to: Date,
    price_at: &PriceAt,
) -> Result<Rollforward, AccountingError> {
    if from > to {
        return Err(AccountingError::PeriodReversed { start: from, end: to });
    }
    let before = from.yesterday().map_err(|_| AccountingError::DateOutOfRange { date: from })?;
    let mut units = UnitRollforward {
        opening: TokenAmount::ZERO,
        granted: TokenAmount::ZERO,
        vested: TokenAmount::ZERO,
        forfeited: TokenAmount::ZERO,
        closing: TokenAmount::ZERO,
    };
    let (mut opening, mut recognized, mut closing, mut unrecognized) =
        (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for award in awards {
        validate(award)?;
        if award.service_start > to {
            continue;
        }
        let grant = || award.grant.to_owned();
        let too_many = |_: AmountError| AccountingError::UnitsOverflow { grant: grant() };
        let vested_in = |lo: Option<Date>, hi: Date| {
            TokenAmount::checked_sum(
                award.tranches.iter().filter(|t| lo.is_none_or(|lo| t.0 >= lo) && t.0 <= hi).map(|t| t.1),
            )
        };
        let forfeited_in = |lo: Option<Date>, hi: Date| {
            TokenAmount::checked_sum(
                award.forfeitures.iter().filter(|f| lo.is_none_or(|lo| f.on >= lo) && f.on <= hi).map(|f| f.units),
            )
        };
        // Outstanding and unvested at the end of a day; validate() guarantees no underflow.
        let outstanding = |at: Date| -> Result<TokenAmount, AmountError> {
            award.units.checked_sub(vested_in(None, at)?)?.checked_sub(forfeited_in(None, at)?)
        };
        let add = |sum: TokenAmount, x: TokenAmount| sum.checked_add(x).map_err(too_many);
        if award.service_start < from {
            units.opening = add(units.opening, outstanding(before).map_err(too_many)?)?;
        } else {
            units.granted = add(units.granted, award.units)?;
        }
        units.vested = add(units.vested, vested_in(Some(from), to).map_err(too_many)?)?;
        units.forfeited = add(units.forfeited, forfeited_in(Some(from), to).map_err(too_many)?)?;
        units.closing = add(units.closing, outstanding(to).map_err(too_many)?)?;

        let overflow = || AccountingError::ValueOverflow { grant: grant(), date: to };
        let start = measure(token, award, before, price_at)?;
        let end = measure(token, award, to, price_at)?;
        opening = opening.checked_add(start.cumulative).ok_or_else(overflow)?;
        closing = closing.checked_add(end.cumulative).ok_or_else(overflow)?;
        // Cents minus cents is exact, so this sum is exactly `closing - opening`.
        let entry = end.cumulative.checked_sub(start.cumulative).ok_or_else(overflow)?;
        recognized = recognized.checked_add(entry).ok_or_else(overflow)?;
        let left = end.fair_value.checked_sub(end.cumulative).ok_or_else(overflow)?;
        unrecognized = unrecognized.checked_add(left).ok_or_else(overflow)?;
    }
    let reconciled = units
        .opening
        .checked_add(units.granted)
        .and_then(|x| x.checked_sub(units.vested))
        .and_then(|x| x.checked_sub(units.forfeited));
    if reconciled != Ok(units.closing) {
        return Err(AccountingError::Unreconciled {
            opening: units.opening,
            granted: units.granted,
            vested: units.vested,
            forfeited: units.forfeited,
            closing: units.closing,
        });
    }
    Ok(Rollforward { from, to, units, expense: ExpenseRollforward { opening, recognized, closing, unrecognized } })
}

/// The units in the award at the end of `date`, by vest date: the tranches, plus the forfeited
/// pieces whose forfeiture has not happened yet (at their scheduled dates). Same-date units are
/// merged so that they are valued together, as one tranche; empty pieces are dropped.
fn live_pieces(award: &Award, date: Date) -> Result<Vec<(Date, TokenAmount)>, AccountingError> {
    let mut pieces: Vec<(Date, TokenAmount)> = award
        .tranches
        .iter()
        .copied()
        .chain(award.forfeitures.iter().filter(|f| f.on > date).map(|f| (f.scheduled, f.units)))
        // A piece of nothing requires no service; kept, it would stretch a straight-line period.
        .filter(|p| !p.1.is_zero())
        .collect();
    pieces.sort_by_key(|p| p.0);
    let mut merged: Vec<(Date, TokenAmount)> = Vec::with_capacity(pieces.len());
    for (vests, units) in pieces {
        match merged.last_mut() {
            Some(last) if last.0 == vests => {
                last.1 = last
                    .1
                    .checked_add(units)
                    .map_err(|_| AccountingError::UnitsOverflow { grant: award.grant.to_owned() })?;
            }
            _ => merged.push((vests, units)),
        }
    }
    Ok(merged)
}

/// `value × served / (vests - start)`: the part of a tranche vesting on `vests` earned after
/// `served` days. Called only for `start <= date < vests`, so the divisor is positive and the
/// ratio at most 1.
fn fraction_of(value: Decimal, served: Decimal, start: Day, vests: Date) -> Option<Decimal> {
    let required = Decimal::from(i64::from(calendar::to_day(vests)) - i64::from(start));
    value.checked_mul(served)?.checked_div(required)
}

/// The caller's price for `date`, checked, with the grant and date attached to any failure.
fn price_on(award: &Award, date: Date, price_at: &PriceAt) -> Result<Decimal, AccountingError> {
    let price = price_at(date).map_err(|e| AccountingError::Price {
        grant: award.grant.to_owned(),
        date,
        source: Box::new(e),
    })?;
    if price.is_sign_negative() && !price.is_zero() {
        return Err(AccountingError::NegativePrice { grant: award.grant.to_owned(), date, price });
    }
    Ok(price)
}

/// `units × price` unrounded: at the scale that holds the product exactly
/// (`decimals + price scale`), or at the finest scale a `Decimal` can hold for a value that
/// large (28 places shrinking as the integer part grows; the digits lost lie far below a cent).
fn exact_value(token: &Token, units: TokenAmount, price: Decimal) -> Result<Decimal, FiatError> {
    let mut scale = (u32::from(token.decimals()) + price.scale()).min(28);
    loop {
        match token_value(token, units, price, Rounding { scale, ..MONEY_ROUNDING }) {
            Err(FiatError::Overflow) if scale > 0 => scale -= 1,
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("test value")
    }

    #[test]
    fn exact_value_keeps_every_digit_it_can() {
        let t18 = Token::new("T", 18).expect("test value");
        // 1.000000000000000001 tokens × 0.12345678 = 0.12345678000000000012345678 (26 places).
        let v = exact_value(&t18, TokenAmount::from_base_units(1_000_000_000_000_000_001), d("0.12345678"))
            .expect("test value");
        assert_eq!(v, d("0.12345678000000000012345678"));
        // 10^12 tokens at 1.5: the integer part needs 13 digits, so the scale drops to fit 28.
        let big = t18.parse("1000000000000").expect("test value");
        assert_eq!(exact_value(&t18, big, d("1.5")).expect("test value"), d("1500000000000"));
    }

    #[test]
    fn live_pieces_merge_and_drop_forfeited_units() {
        let tranches = [(date(2025, 1, 1), TokenAmount::from_base_units(5))];
        let forfeitures = [
            Forfeit { on: date(2024, 6, 1), scheduled: date(2025, 1, 1), units: TokenAmount::from_base_units(3) },
            Forfeit { on: date(2024, 6, 1), scheduled: date(2026, 1, 1), units: TokenAmount::from_base_units(2) },
        ];
        let award = Award {
            grant: "g",
            service_start: date(2024, 1, 1),
            units: TokenAmount::from_base_units(10),
            grant_date_price: Decimal::ONE,
            tranches: &tranches,
            forfeitures: &forfeitures,
            attribution: Attribution::Graded,
            classification: Classification::Equity,
        };
        let before = live_pieces(&award, date(2024, 5, 31)).expect("test value");
        assert_eq!(
            before,
            vec![
                (date(2025, 1, 1), TokenAmount::from_base_units(8)),
                (date(2026, 1, 1), TokenAmount::from_base_units(2))
            ]
        );
        assert_eq!(live_pieces(&award, date(2024, 6, 1)).expect("test value"), vec![tranches[0]]);
    }
}
