//! The state and local lines of one US payment: the state's income tax on the supplemental
//! payment (flat rate, or the employee's elected rate, or nothing), each employee-paid state
//! contribution with its wage base applied across the calendar year exactly like the Social
//! Security base (only the part of the payment below the base is charged), and the local tax.
//!
//! Withholding follows the work state; a resident of another state is withheld for the
//! residence state only where the file records a reciprocity agreement for the pair.
//! Contributions always follow the work state (they insure the employment there).
//!
//! Rounding: once per line, to the cent (`MONEY_ROUNDING`), unless the state's guide prescribes
//! whole dollars (`rounding = "dollar"`, e.g. Idaho), then to the nearest dollar, half away
//! from zero.

use tokencomp_core::tax_profile::UsProfile;
use tokencomp_money::{Decimal, MONEY_ROUNDING, Rounding};

use super::{IncomeMethod, LocalMethod, ProgrammeKind, Source, StateRounding, StateYear};

/// What a state line is for; the withholding module maps it to its `TaxKind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LineKind {
    /// State income tax.
    Income,
    /// An employee-paid state programme.
    Programme(ProgrammeKind),
    /// A local income tax.
    Local,
}

/// One employee line: `amount` is `base × rate` rounded once (cents, or whole dollars where
/// the state prescribes it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateLine {
    pub kind: LineKind,
    pub base: Decimal,
    pub rate: Decimal,
    pub amount: Decimal,
    pub source: Source,
}

/// One payment to withhold on.
#[derive(Clone, Copy, Debug)]
pub struct StatePayment<'a> {
    /// The two-letter work state (case-insensitive).
    pub work_state: &'a str,
    /// The person's US certificate and residence; `None` is "nothing on file".
    pub profile: Option<&'a UsProfile>,
    /// All wages of the calendar year before this payment.
    pub year_to_date: Decimal,
    pub gross: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error(
        "no {year} rules for US state `{state}` in the US state rules (the year has {}); a state's rules are never guessed",
        .known.join(", ")
    )]
    NoState { state: String, year: i16, known: Vec<String> },
    #[error(
        "{state}: the {year} US state rules have no income-tax method for supplemental wages (missing `{path}`); this state's guide method is not shipped yet, so its payments are refused rather than guessed"
    )]
    NoIncomeMethod { state: String, year: i16, path: String },
    #[error(
        "no {year} rules for the local tax `{locality}` (the year has {}); other localities are not computed",
        .known.join(", ")
    )]
    NoLocality { locality: String, year: i16, known: Vec<String> },
    #[error(
        "{state}: the elected rate {rate} is not one the certificate allows ({})",
        .allowed.iter().map(|r| format!("{}%", (*r * Decimal::ONE_HUNDRED).normalize())).collect::<Vec<_>>().join(", ")
    )]
    ElectedRate { state: String, rate: Decimal, allowed: Vec<Decimal> },
    #[error(
        "the local tax `{locality}` is a surcharge on {state} income tax, but this payment's state income tax is withheld for {withheld_for}"
    )]
    SurchargeState { locality: String, state: String, withheld_for: String },
}

/// The state income, contribution and local lines of one payment, in that order.
pub fn state_lines(year: &StateYear, payment: &StatePayment<'_>) -> Result<Vec<StateLine>, StateError> {
    let work = payment.work_state.to_ascii_uppercase();
    let default_profile = UsProfile::default();
    let profile = payment.profile.unwrap_or(&default_profile);
    let work_rules = lookup(year, &work)?;

    // Reciprocity: the residence state's rules replace the work state's for income tax only.
    let income_state = match profile.residence.as_deref() {
        Some(home) if home != work && year.agreement(&work, home).is_some() => home.to_owned(),
        _ => work.clone(),
    };
    let income_rules = lookup(year, &income_state)?;
    let gross = payment.gross;
    let mut lines = Vec::new();

    let income = income_rules.income.as_ref().ok_or_else(|| StateError::NoIncomeMethod {
        state: income_state.clone(),
        year: year.year,
        path: format!("us.{}.state.{income_state}.income", year.year),
    })?;
    if !profile.exempt {
        let rate = match &income.method {
            IncomeMethod::None => None,
            IncomeMethod::Flat { rate } => Some(*rate),
            IncomeMethod::Elected { default_rate, allowed } => match profile.elected_rate {
                None => Some(*default_rate),
                Some(r) if allowed.contains(&r) => Some(r),
                Some(r) => {
                    return Err(StateError::ElectedRate { state: income_state, rate: r, allowed: allowed.clone() });
                }
            },
        };
        if let Some(rate) = rate {
            let amount = match income.rounding {
                StateRounding::Cent => cents(gross * rate),
                StateRounding::Dollar => dollars(gross * rate),
            };
            push(&mut lines, LineKind::Income, gross, rate, amount, &income.source);
        }
    }

    let (ytd, ytd_after) = (payment.year_to_date, payment.year_to_date + gross);
    for p in &work_rules.programmes {
        let base = overlap(ytd, ytd_after, p.wage_base);
        let rate = p.employee_rate();
        push(&mut lines, LineKind::Programme(p.kind), base, rate, cents(base * rate), &p.source);
    }

    if let Some(name) = profile.locality.as_deref() {
        let local = year.locals.get(name).ok_or_else(|| StateError::NoLocality {
            locality: name.to_owned(),
            year: year.year,
            known: year.locals.keys().cloned().collect(),
        })?;
        match &local.method {
            LocalMethod::Flat { rate } => {
                push(&mut lines, LineKind::Local, gross, *rate, cents(gross * rate), &local.source);
            }
            LocalMethod::StateSurcharge { rate, state } => {
                if *state != income_state {
                    return Err(StateError::SurchargeState {
                        locality: name.to_owned(),
                        state: state.clone(),
                        withheld_for: income_state,
                    });
                }
                // A surcharge on the state's supplemental withholding is, for supplemental
                // wages, the state's flat rate times the surcharge, applied to the payment and
                // rounded once (NYS-50-T-Y prints the product as the Yonkers supplemental rate).
                let state_rate = lines.iter().find(|l| l.kind == LineKind::Income).map_or(Decimal::ZERO, |l| l.rate);
                let combined = state_rate * rate;
                push(&mut lines, LineKind::Local, gross, combined, cents(gross * combined), &local.source);
            }
        }
    }
    Ok(lines)
}

fn lookup<'y>(year: &'y StateYear, code: &str) -> Result<&'y super::State, StateError> {
    year.states.get(code).ok_or_else(|| StateError::NoState {
        state: code.to_owned(),
        year: year.year,
        known: year.states.keys().cloned().collect(),
    })
}

/// The part of `[from, to]` below `cap` (no cap: all of it).
fn overlap(from: Decimal, to: Decimal, cap: Option<Decimal>) -> Decimal {
    let end = cap.map_or(to, |c| to.min(c));
    (end - from).max(Decimal::ZERO)
}

fn cents(exact: Decimal) -> Decimal {
    let mut amount = MONEY_ROUNDING.apply(exact);
    amount.rescale(MONEY_ROUNDING.scale);
    amount
}

/// Whole dollars with the same midpoint rule as cents (half away from zero), written "12.00".
fn dollars(exact: Decimal) -> Decimal {
    let mut amount = Rounding { scale: 0, ..MONEY_ROUNDING }.apply(exact);
    amount.rescale(MONEY_ROUNDING.scale);
    amount
}

fn push(lines: &mut Vec<StateLine>, kind: LineKind, base: Decimal, rate: Decimal, amount: Decimal, source: &Source) {
    if base.is_zero() || rate.is_zero() {
        return;
    }
    lines.push(StateLine { kind, base, rate, amount, source: Source::clone(source) });
}
