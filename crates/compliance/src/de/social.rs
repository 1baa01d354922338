//! The employee's social-insurance contributions on a one-off payment (einmalig gezahltes
//! Arbeitsentgelt, §23a SGB IV): pension, unemployment, health and long-term care insurance.
//!
//! A one-off payment is contributory only as far as it fits under the pro-rata annual ceiling of
//! each branch: the annual ceiling for the insured days of the year up to the end of the pay
//! period of the payment (§23a (3) SGB IV; 30 days per full calendar month, the calendar days of
//! a month begun during it), minus the contribution-liable pay already assessed in the year.
//! Pension and unemployment insurance share one ceiling, health and care the other. The pro-rata
//! ceiling is exact for whole months (the annual ceiling × months / 12) and otherwise rounded
//! once to cents, half away from zero (named point "pro-rata ceiling").
//!
//! Rates (total rates of the year, the employee bearing half): pension 18.6%, unemployment 2.6%,
//! health 14.6% plus the fund's additional rate (the year's average when none is on file), care
//! 3.6% with Saxony's employee share of 2.3% (§58 (3) SGB XI), the 0.6% surcharge of the
//! childless (until parenthood is proven, §55 (3) SGB XI) and 0.25% less per child from the
//! second to the fifth (§55 (3a) SGB XI). Each contribution is rounded once to cents, half away
//! from zero (named point "per contribution").
//!
//! The March clause (§23a (4) SGB IV): a payment made from January to March that exceeds the
//! pro-rata ceiling still free belongs to the last pay period of the previous year when the
//! employment already existed then: its contributions are those of the previous year (its
//! rates, and its annual ceiling for the insured days of that year less the pay assessed in it).
//! Without the previous year's assessed pay and constants such a payment is refused by name
//! rather than guessed.

use jiff::civil::Date;
use tokencomp_core::tax_profile::{DeProfile, Health};
use tokencomp_money::{Decimal, MONEY_ROUNDING};

use super::params::Social;

/// What the contribution calculation needs besides the person's profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocialInput {
    /// The payment date; its month's end closes the pro-rata period.
    pub date: Date,
    /// First day of employment when it began in this calendar year (1 January included);
    /// `None`: employed since before this year.
    pub employed_from: Option<Date>,
    /// The contribution-liable pay already assessed this year (regular pay including the
    /// payment's own pay period, and the assessed part of earlier one-off payments), for the
    /// pension/unemployment ceiling and for the health/care ceiling.
    pub liable_pension_to_date: Decimal,
    pub liable_health_to_date: Decimal,
    /// The one-off payment, EUR.
    pub gross: Decimal,
    /// The previous calendar year, for a payment the March clause sends there.
    pub previous: Option<PreviousYear>,
}

/// The previous calendar year as the March clause needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviousYear {
    /// Its constants (rates and annual ceilings).
    pub social: Social,
    /// First day of employment when it began in that year; `None`: employed all year.
    pub employed_from: Option<Date>,
    /// The contribution-liable pay assessed in that year, per ceiling.
    pub liable_pension: Decimal,
    pub liable_health: Decimal,
}

/// One employee contribution: the contributory part of the payment, the employee's rate and
/// the rounded amount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contribution {
    pub base: Decimal,
    pub rate: Decimal,
    pub amount: Decimal,
}

/// The four contributions; `None` where the person is not insured in that branch (or the
/// payment lies wholly above the ceiling).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Contributions {
    pub pension: Option<Contribution>,
    pub unemployment: Option<Contribution>,
    pub health: Option<Contribution>,
    pub care: Option<Contribution>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SocialError {
    #[error(
        "the one-off payment of {gross} EUR on {date} exceeds the {remaining} EUR still free under the pro-rata ceiling; from January to March such a payment belongs to the previous year's last pay period (§23a (4) SGB IV, the March clause), whose assessed pay is not available here: compute it against the previous year's ceiling"
    )]
    MarchClause { date: Date, gross: Decimal, remaining: Decimal },
    #[error("the employment start {start} is after the payment date {date}")]
    StartAfterPayment { start: Date, date: Date },
}

/// Insured days (SV-Tage) from the start of the year, or of the employment, to the end of the
/// payment's month.
pub fn insured_days(date: Date, employed_from: Option<Date>) -> Result<i64, SocialError> {
    let month = i64::from(date.month());
    match employed_from {
        Some(start) if start.year() == date.year() => {
            if start > date {
                return Err(SocialError::StartAfterPayment { start, date });
            }
            let later_months = month - i64::from(start.month());
            let first =
                if start.day() == 1 { 30 } else { i64::from(start.days_in_month()) - i64::from(start.day()) + 1 };
            Ok(first + 30 * later_months)
        }
        Some(start) if start > date => Err(SocialError::StartAfterPayment { start, date }),
        _ => Ok(30 * month),
    }
}

/// The pro-rata ceiling for `days` insured days (named point "pro-rata ceiling").
pub fn pro_rata_ceiling(annual: Decimal, days: i64) -> Decimal {
    MONEY_ROUNDING.apply(annual * Decimal::from(days) / Decimal::from(360))
}

fn contribution(base: Decimal, rate: Decimal) -> Option<Contribution> {
    if base.is_zero() || rate.is_zero() {
        return None;
    }
    let mut amount = MONEY_ROUNDING.apply(base * rate);
    amount.rescale(MONEY_ROUNDING.scale);
    Some(Contribution { base, rate, amount })
}

/// The employee's care rate: half the care rate (Saxony: its own share), plus the childless
/// surcharge, less the reductions for the second to fifth child.
pub fn care_employee_rate(s: &Social, profile: &DeProfile) -> Decimal {
    let saxony = profile.land.as_deref() == Some("SN");
    let base = if saxony { s.care_employee_rate_saxony } else { s.care_rate / Decimal::TWO };
    match profile.care_children {
        None | Some(0) => base + s.care_childless_surcharge,
        Some(k) => base - Decimal::from(k.saturating_sub(1).min(4)) * s.care_child_reduction,
    }
}

/// The employee's contributions on one one-off payment.
pub fn contributions(s: &Social, profile: &DeProfile, input: &SocialInput) -> Result<Contributions, SocialError> {
    let days = insured_days(input.date, input.employed_from)?;
    let free = |annual: Decimal, liable: Decimal| (pro_rata_ceiling(annual, days) - liable).max(Decimal::ZERO);
    let free_pension = free(s.pension_ceiling, input.liable_pension_to_date);
    let free_health = free(s.health_ceiling, input.liable_health_to_date);
    let statutory_health = matches!(profile.health, Health::Statutory { .. });

    let existed_last_year = input.employed_from.is_none_or(|start| start.year() < input.date.year());
    let march_free = if statutory_health { free_health } else { free_pension };
    let insured_somewhere = statutory_health || profile.pension_insured || profile.unemployment_insured;
    let (s, free_pension, free_health) =
        if input.date.month() <= 3 && existed_last_year && insured_somewhere && input.gross > march_free {
            let Some(prev) = &input.previous else {
                return Err(SocialError::MarchClause { date: input.date, gross: input.gross, remaining: march_free });
            };
            // The previous year's last pay period: its ceiling for the insured days of that year.
            let december = Date::new(input.date.year() - 1, 12, 31).map_err(|_| SocialError::MarchClause {
                date: input.date,
                gross: input.gross,
                remaining: march_free,
            })?;
            let days = insured_days(december, prev.employed_from)?;
            let free = |annual: Decimal, liable: Decimal| (pro_rata_ceiling(annual, days) - liable).max(Decimal::ZERO);
            (
                &prev.social,
                free(prev.social.pension_ceiling, prev.liable_pension),
                free(prev.social.health_ceiling, prev.liable_health),
            )
        } else {
            (s, free_pension, free_health)
        };

    let pension_base = input.gross.min(free_pension);
    let health_base = input.gross.min(free_health);
    let mut out = Contributions::default();
    if profile.pension_insured {
        out.pension = contribution(pension_base, s.pension_rate / Decimal::TWO);
    }
    if profile.unemployment_insured {
        out.unemployment = contribution(pension_base, s.unemployment_rate / Decimal::TWO);
    }
    if let Health::Statutory { additional_rate } = &profile.health {
        let additional = additional_rate.unwrap_or(s.average_health_additional_rate);
        out.health = contribution(health_base, (s.health_rate + additional) / Decimal::TWO);
        out.care = contribution(health_base, care_employee_rate(s, profile));
    }
    Ok(out)
}
