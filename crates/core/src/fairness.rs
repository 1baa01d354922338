//! Fairness across hire cohorts: what each person's grants were worth when granted and are
//! worth today, compared within the people hired in the same quarter (or year).
//!
//! Every value is an exact `Decimal`: a grant's value is its tokens × its grant-date price,
//! rounded once to cents (`MONEY_ROUNDING`, through `token_value`); a person's values are sums
//! of those. The statistics are computed on the exact cents as integers and rounded once at
//! the end: means and medians to cents, ratios to [`RATIO_PLACES`], the Gini coefficient to
//! [`GINI_PLACES`], each half away from zero. This module never uses a float and never
//! decides what someone holds: the tokens held today (granted and not forfeited) are an input.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::civil::Date;
use ruint::aliases::U512;
use tokencomp_money::{Decimal, FiatError, MONEY_ROUNDING, Token, TokenAmount, token_value};

use crate::amm::round_ratio;

/// Decimal places of a ratio (max/min, value to cohort median).
pub const RATIO_PLACES: u32 = 4;
/// Decimal places of a Gini coefficient.
pub const GINI_PLACES: u32 = 6;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FairnessError {
    #[error("no people to compare")]
    NoPeople,
    #[error("person `{0}` appears twice")]
    Duplicate(String),
    #[error("a value must not be negative, got {0}")]
    Negative(Decimal),
    #[error("valuing `{id}`'s tokens: {source}")]
    Value { id: String, source: FiatError },
    #[error("{0} overflowed")]
    Overflow(&'static str),
}

/// One grant: tokens granted and the price per whole token on its grant date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantValue {
    pub date: Date,
    pub tokens: TokenAmount,
    pub price: Decimal,
}

/// A person: when hired, what was granted, and how many tokens of it they hold today
/// (granted and not forfeited, vested or not).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub id: String,
    pub hired: Date,
    pub grants: Vec<GrantValue>,
    pub held: TokenAmount,
}

/// How hire dates are grouped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CohortPeriod {
    #[default]
    Quarter,
    Year,
}

/// A hire cohort: a calendar year, or one of its quarters. Displays as `2024-Q3` or `2024`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cohort {
    pub year: i16,
    pub quarter: Option<i8>,
}

impl Cohort {
    pub fn of(hired: Date, period: CohortPeriod) -> Cohort {
        let quarter = match period {
            CohortPeriod::Quarter => Some((hired.month() - 1) / 3 + 1),
            CohortPeriod::Year => None,
        };
        Cohort { year: hired.year(), quarter }
    }
}

impl fmt::Display for Cohort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.quarter {
            Some(q) => write!(f, "{}-Q{q}", self.year),
            None => write!(f, "{}", self.year),
        }
    }
}

/// Statistics of a group's values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    pub count: usize,
    pub total: Decimal,
    /// To cents.
    pub mean: Decimal,
    /// The middle value, or the mean of the two middle ones, to cents.
    pub median: Decimal,
    pub min: Decimal,
    pub max: Decimal,
    /// `max / min` to [`RATIO_PLACES`]; `None` when the least value is zero.
    pub max_min_ratio: Option<Decimal>,
    /// To [`GINI_PLACES`]: 0 when everyone has the same, `(n − 1)/n` when one has everything.
    pub gini: Decimal,
}

/// One person's values and where they stand in their cohort.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonValue {
    pub id: String,
    pub cohort: Cohort,
    pub at_grant: Decimal,
    pub today: Decimal,
    /// Value today over the cohort's median value today, to [`RATIO_PLACES`]; `None` when
    /// that median is zero.
    pub to_median: Option<Decimal>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CohortReport {
    pub cohort: Cohort,
    pub at_grant: Stats,
    pub today: Stats,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fairness {
    /// Everyone, in input order.
    pub people: Vec<PersonValue>,
    /// In cohort order.
    pub cohorts: Vec<CohortReport>,
    pub company_at_grant: Stats,
    pub company_today: Stats,
    /// The `top_n` highest values of `to_median` (ties by id), most over-compensated first.
    pub most_over: Vec<PersonValue>,
    /// The `top_n` lowest, most under-compensated first.
    pub most_under: Vec<PersonValue>,
}

/// Values each holder's grants at grant and today at `today_price`, groups them by hire
/// `period`, and reports each cohort's and the company's statistics and the `top_n` people
/// furthest above and below their cohort's median.
pub fn fairness(
    token: &Token,
    holders: &[Holder],
    today_price: Decimal,
    period: CohortPeriod,
    top_n: usize,
) -> Result<Fairness, FairnessError> {
    if holders.is_empty() {
        return Err(FairnessError::NoPeople);
    }
    let mut seen = BTreeSet::new();
    let mut people = Vec::with_capacity(holders.len());
    for h in holders {
        if !seen.insert(h.id.as_str()) {
            return Err(FairnessError::Duplicate(h.id.clone()));
        }
        let value = |tokens, price| {
            token_value(token, tokens, price, MONEY_ROUNDING)
                .map_err(|source| FairnessError::Value { id: h.id.clone(), source })
        };
        let mut at_grant = Decimal::ZERO;
        for g in &h.grants {
            at_grant =
                at_grant.checked_add(value(g.tokens, g.price)?).ok_or(FairnessError::Overflow("value at grant"))?;
        }
        let today = value(h.held, today_price)?;
        people.push(PersonValue {
            id: h.id.clone(),
            cohort: Cohort::of(h.hired, period),
            at_grant,
            today,
            to_median: None,
        });
    }
    let mut groups: BTreeMap<Cohort, Vec<usize>> = BTreeMap::new();
    for (i, p) in people.iter().enumerate() {
        groups.entry(p.cohort).or_default().push(i);
    }
    let mut cohorts = Vec::with_capacity(groups.len());
    for (cohort, members) in &groups {
        let at_grant = stats(&members.iter().map(|&i| people[i].at_grant).collect::<Vec<_>>())?;
        let today = stats(&members.iter().map(|&i| people[i].today).collect::<Vec<_>>())?;
        for &i in members {
            people[i].to_median = ratio(people[i].today, today.median)?;
        }
        cohorts.push(CohortReport { cohort: *cohort, at_grant, today });
    }
    let company_at_grant = stats(&people.iter().map(|p| p.at_grant).collect::<Vec<_>>())?;
    let company_today = stats(&people.iter().map(|p| p.today).collect::<Vec<_>>())?;
    let mut ranked: Vec<&PersonValue> = people.iter().filter(|p| p.to_median.is_some()).collect();
    ranked.sort_by(|a, b| b.to_median.cmp(&a.to_median).then_with(|| a.id.cmp(&b.id)));
    let most_over = ranked.iter().take(top_n).map(|p| (*p).clone()).collect();
    ranked.sort_by(|a, b| a.to_median.cmp(&b.to_median).then_with(|| a.id.cmp(&b.id)));
    let most_under = ranked.iter().take(top_n).map(|p| (*p).clone()).collect();
    Ok(Fairness { people, cohorts, company_at_grant, company_today, most_over, most_under })
}

/// The values as integers at one common scale (so ratios between them are exact).
fn integers(values: &[Decimal]) -> Result<(Vec<U512>, u32), FairnessError> {
    let scale = values.iter().map(Decimal::scale).max().unwrap_or(0);
    let ints = values
        .iter()
        .map(|v| {
            if v.is_sign_negative() && !v.is_zero() {
                return Err(FairnessError::Negative(*v));
            }
            Ok(U512::from(v.mantissa().unsigned_abs()) * U512::from(10u8).pow(U512::from(scale - v.scale())))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((ints, scale))
}

fn overflow(what: &'static str) -> impl Fn(crate::amm::AmmError) -> FairnessError {
    move |_| FairnessError::Overflow(what)
}

/// `a / b` to [`RATIO_PLACES`]; `None` when `b` is zero.
fn ratio(a: Decimal, b: Decimal) -> Result<Option<Decimal>, FairnessError> {
    let (ints, _) = integers(&[a, b])?;
    if ints[1].is_zero() {
        return Ok(None);
    }
    round_ratio(ints[0], ints[1], RATIO_PLACES).map(Some).map_err(overflow("ratio"))
}

/// The Gini coefficient of non-negative values, exactly, rounded once to [`GINI_PLACES`].
///
/// `G = Σᵢ Σⱼ |xᵢ − xⱼ| / (2n²·mean)`, computed in its sorted form: with `x₍₁₎ ≤ … ≤ x₍ₙ₎`,
/// `Σᵢ Σⱼ |xᵢ − xⱼ| = 2 Σᵢ (2i − n − 1)·x₍ᵢ₎`, so `G = Σᵢ (2i − n − 1)·x₍ᵢ₎ / (n·Σ x)`.
/// No values, or all zero, give 0.
pub fn gini(values: &[Decimal]) -> Result<Decimal, FairnessError> {
    let (mut xs, _) = integers(values)?;
    xs.sort_unstable();
    let total = xs.iter().fold(U512::ZERO, |a, &x| a + x);
    if total.is_zero() {
        return Ok(Decimal::ZERO);
    }
    let n = U512::from(xs.len());
    // Σ 2i·x₍ᵢ₎ − (n + 1)·Σ x: both parts non-negative and the difference too (it is half the
    // sum of absolute differences), so unsigned arithmetic is exact.
    let weighted = xs.iter().zip(1u64..).fold(U512::ZERO, |a, (&x, i)| a + U512::from(2 * i) * x);
    let numerator = weighted - (n + U512::from(1u8)) * total;
    round_ratio(numerator, n * total, GINI_PLACES).map_err(overflow("gini"))
}

/// Count, total, mean, median, min, max, max/min and Gini of non-negative values.
pub fn stats(values: &[Decimal]) -> Result<Stats, FairnessError> {
    if values.is_empty() {
        return Err(FairnessError::NoPeople);
    }
    let (mut xs, scale) = integers(values)?;
    xs.sort_unstable();
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let total_int = xs.iter().fold(U512::ZERO, |a, &x| a + x);
    let unit = U512::from(10u8).pow(U512::from(scale));
    let n = xs.len();
    let to_money =
        |num: U512, den: U512| round_ratio(num, den, MONEY_ROUNDING.scale).map_err(overflow("mean or median"));
    let mean = to_money(total_int, unit * U512::from(n))?;
    let median = if n % 2 == 1 {
        to_money(xs[n / 2], unit)?
    } else {
        to_money(xs[n / 2 - 1] + xs[n / 2], unit * U512::from(2u8))?
    };
    let total =
        sorted.iter().try_fold(Decimal::ZERO, |a, &x| a.checked_add(x)).ok_or(FairnessError::Overflow("total"))?;
    let (min, max) = (sorted[0], sorted[n - 1]);
    Ok(Stats { count: n, total, mean, median, min, max, max_min_ratio: ratio(max, min)?, gini: gini(values)? })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn quarters_and_years() {
        let d = jiff::civil::date(2024, 3, 31);
        assert_eq!(Cohort::of(d, CohortPeriod::Quarter).to_string(), "2024-Q1");
        assert_eq!(Cohort::of(jiff::civil::date(2024, 4, 1), CohortPeriod::Quarter).to_string(), "2024-Q2");
        assert_eq!(Cohort::of(d, CohortPeriod::Year).to_string(), "2024");
    }

    #[test]
    fn negative_values_are_refused() {
        assert_eq!(gini(&[Decimal::ONE, Decimal::NEGATIVE_ONE]), Err(FairnessError::Negative(Decimal::NEGATIVE_ONE)));
    }
}
