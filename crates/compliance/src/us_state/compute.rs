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
//! whole dollars (`rounding = "dollar"`, e.g. Oklahoma), then to the nearest dollar, half away
//! from zero.
//!
//! The annualised percentage method (`method = "percentage"`) is applied to a supplemental
//! payment by the aggregate rule: payroll runs monthly, so the period's wages are annualised
//! ×12; the tax on the regular wages of the period plus the payment, less the tax on the
//! regular wages alone, both as the state's annual schedule (after its standard deduction and
//! the certificate's allowances) divided by 12, exact, rounded once. The regular wages of the
//! period are `StatePayment::period_wages` (payroll's month-to-date wages before this payment:
//! the month's salary instalment and any earlier payment that month, so two payments in one
//! month are taxed as their sum). With no certificate on file the state's `default_status`
//! and zero allowances apply. Where the state's formula takes a tax credit per allowance
//! (`credit`, e.g. Delaware's per personal exemption), each annual tax is reduced by the
//! credit × the certificate's allowances, never below zero, before the division by 12.

use tokencomp_core::tax_profile::UsProfile;
use tokencomp_money::{Decimal, MONEY_ROUNDING, Rounding};

use super::{
    Exemption, IncomeMethod, LocalMethod, Percentage, ProgrammeKind, Schedule, Source, StateRounding, StateYear,
};

/// Pay periods a year: tokencomp's payroll runs monthly.
const PERIODS_PER_YEAR: u32 = 12;

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
    /// The regular wages of this pay period (month) before this payment, salary included: the
    /// base of the aggregate rule for states that use their percentage method.
    pub period_wages: Decimal,
    /// The federal income tax withheld on this same payment (for states that withhold a share
    /// of it, e.g. Vermont).
    pub federal_income_tax: Decimal,
    pub gross: Decimal,
    /// The day the payment is made: the income-tax method in force that day applies.
    pub paid: jiff::civil::Date,
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
        "{state}: the {year} county income tax needs the employee's county on file (the profile's `locality`, e.g. `locality = \"{example}\"`); it is never guessed"
    )]
    NoCountyOnFile { state: String, year: i16, example: String },
    #[error(
        "{state}: no {year} rate for the county `{county}` (missing `us.{year}.state.{state}.county.{county}`; the file has {}); a county's rate is never guessed",
        if .known.is_empty() { "none yet".to_owned() } else { .known.join(", ") }
    )]
    NoCounty { state: String, year: i16, county: String, known: Vec<String> },
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

    let income = income_rules.income_on(payment.paid).ok_or_else(|| StateError::NoIncomeMethod {
        state: income_state.clone(),
        year: year.year,
        path: format!("us.{}.state.{income_state}.income", year.year),
    })?;
    if !profile.exempt {
        let round = |exact: Decimal| match income.rounding {
            StateRounding::Cent => cents(exact),
            StateRounding::Dollar => dollars(exact),
        };
        match &income.method {
            IncomeMethod::None => {}
            IncomeMethod::Flat { rate } => {
                push(&mut lines, LineKind::Income, gross, *rate, round(gross * rate), &income.source)
            }
            IncomeMethod::Elected { default_rate, allowed } => {
                let rate = match profile.elected_rate {
                    None => *default_rate,
                    Some(r) if allowed.contains(&r) => r,
                    Some(r) => {
                        return Err(StateError::ElectedRate { state: income_state, rate: r, allowed: allowed.clone() });
                    }
                };
                push(&mut lines, LineKind::Income, gross, rate, round(gross * rate), &income.source);
            }
            IncomeMethod::FederalShare { share } => {
                let federal = payment.federal_income_tax;
                push(&mut lines, LineKind::Income, federal, *share, round(federal * share), &income.source);
            }
            IncomeMethod::Percentage(method) => {
                let amount = round(aggregate(method, profile, payment.period_wages, gross));
                // The line's rate is descriptive only (the amount is not base × rate): the
                // effective rate on the payment, to six decimal places.
                let rate = if gross.is_zero() { Decimal::ZERO } else { (amount / gross).round_dp(6) };
                if !amount.is_zero() {
                    lines.push(StateLine {
                        kind: LineKind::Income,
                        base: gross,
                        rate,
                        amount,
                        source: Source::clone(&income.source),
                    });
                }
            }
        }
        if income.county_required {
            let rules = income_rules;
            let county = profile.locality.as_deref().ok_or_else(|| StateError::NoCountyOnFile {
                state: income_state.clone(),
                year: year.year,
                example: rules.counties.keys().next().cloned().unwrap_or_else(|| "MARION".to_owned()),
            })?;
            let c = rules.counties.get(county).ok_or_else(|| StateError::NoCounty {
                state: income_state.clone(),
                year: year.year,
                county: county.to_owned(),
                known: rules.counties.keys().cloned().collect(),
            })?;
            push(&mut lines, LineKind::Local, gross, c.rate, round(gross * c.rate), &c.source);
        }
    }

    let (ytd, ytd_after) = (payment.year_to_date, payment.year_to_date + gross);
    for p in &work_rules.programmes {
        let base = overlap(ytd, ytd_after, p.wage_base);
        let rate = p.employee_rate();
        push(&mut lines, LineKind::Programme(p.kind), base, rate, cents(base * rate), &p.source);
    }

    // In a county-tax state the locality names the county (handled with the income tax above).
    let county_state = income_rules.income_on(payment.paid).is_some_and(|i| i.county_required);
    if let Some(name) = profile.locality.as_deref().filter(|_| !county_state) {
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

/// The aggregate rule on the state's annualised schedule: the period tax on `regular +
/// payment` less the period tax on `regular` alone, exact.
fn aggregate(method: &Percentage, profile: &UsProfile, regular: Decimal, gross: Decimal) -> Decimal {
    let status = profile.filing_status.unwrap_or(method.default_status);
    let schedule = method.schedule(status);
    let exemptions = match method.exemption {
        Exemption::PerAllowance(amount) => amount * Decimal::from(profile.allowances.unwrap_or(0)),
        Exemption::CertificateAmount => profile.dependents_amount.unwrap_or(Decimal::ZERO),
    };
    let deductions = schedule.standard_deduction + exemptions;
    let credit = method.credit.map_or(Decimal::ZERO, |c| c * Decimal::from(profile.allowances.unwrap_or(0)));
    let period_tax = |wages: Decimal| {
        let periods = Decimal::from(PERIODS_PER_YEAR);
        let tax = annual_tax(schedule, (wages * periods - deductions).max(Decimal::ZERO));
        (tax - credit).max(Decimal::ZERO) / periods
    };
    (period_tax(regular + gross) - period_tax(regular)).max(Decimal::ZERO)
}

/// The annual tax of a schedule on `taxable`: each bracket's rate on the part of `taxable`
/// between its `over` and the next bracket's.
pub fn annual_tax(schedule: &Schedule, taxable: Decimal) -> Decimal {
    let mut tax = Decimal::ZERO;
    for (i, b) in schedule.brackets.iter().enumerate() {
        if taxable <= b.over {
            break;
        }
        let top = schedule.brackets.get(i + 1).map_or(taxable, |next| taxable.min(next.over));
        tax += (top - b.over) * b.rate;
    }
    tax
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
