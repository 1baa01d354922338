//! Withholding on one payment (a vest's gross income, or a cash top-up): the employee's and the
//! employer's tax lines, each with its base, rate, amount and the rule's source.
//!
//! The caller supplies the person's wages before this payment ([`Wages`]); the caps, bands and
//! switches (Social Security wage base, the $1,000,000 supplemental switch, PAYE bands, NIC
//! thresholds) are applied to the part of the payment that falls on each side, so splitting a
//! payment in two gives the same result to the cent per line.
//!
//! Rounding happens once per tax line (`MONEY_ROUNDING`, the named point "per tax line");
//! bases are not rounded. A line is present only when some of this payment is taxed at a
//! non-zero rate: nothing above a cap, a zero-rate state or a zero gross gives no line.
//!
//! This module must never read the clock, guess a missing rule (the rules table errors
//! instead), or withhold in tokens: every amount is fiat in the person's pay currency.

use std::fmt;

use jiff::civil::Date;
use tokencomp_money::{Decimal, MONEY_ROUNDING};

use crate::rules::{FlatRule, Rules, RulesError, Source, UsYear};
use crate::uk::rules::UkRulesError;
use crate::uk::{UkKind, UkPay, uk_lines};
use crate::us_state::{LineKind, ProgrammeKind, StateError, StateLine, StatePayment, state_lines};
use tokencomp_core::period::uk_tax_month;
use tokencomp_core::tax_profile::{UkProfile, UsProfile};
use tokencomp_formats::rule_node::max_amount;

/// Where the person is taxed on this payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Jurisdiction {
    /// US federal and FICA, plus the work state's lines when a state is given: its income tax
    /// on supplemental wages, its employee contributions and the local tax (see
    /// [`crate::us_state`]).
    Us { state: Option<String> },
    /// UK PAYE for the person's tax code, Class 1 NICs for their category letter, and their
    /// student and postgraduate loan deductions (`crate::uk`).
    Uk { profile: UkProfile },
    /// A company-configured flat rule (see [`Rules::with_flat`]).
    Flat { country: String },
    /// Germany: the BMF wage-tax programme on the payment as a sonstiger Bezug, and the
    /// employee's social insurance on it as a one-off payment (`crate::de`).
    De(Box<crate::de::DeCase>),
}

/// The person's wages before this payment, in the pay currency (USD for US, GBP for UK, the
/// flat rule's currency otherwise).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wages {
    /// All wages of the tax year before this payment (salary and earlier token income): the
    /// calendar year in the US, the tax year from 6 April in the UK.
    pub year_to_date: Decimal,
    /// US: earlier supplemental wages this calendar year (for the $1,000,000 switch).
    pub supplemental_year_to_date: Decimal,
    /// Earnings in the same pay month before this payment, salary included: UK NICs (per pay
    /// period, not cumulative); US states that apply their percentage method by the aggregate
    /// rule (`crate::us_state`).
    pub period_to_date: Decimal,
}

/// Who bears a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Payer {
    /// Withheld from the person's pay.
    Employee,
    /// Paid by the employer on top of the pay.
    Employer,
}

impl Payer {
    pub const ALL: [Payer; 2] = [Payer::Employee, Payer::Employer];

    pub fn name(self) -> &'static str {
        match self {
            Payer::Employee => "employee",
            Payer::Employer => "employer",
        }
    }

    pub fn from_name(name: &str) -> Option<Payer> {
        Payer::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// What a line is for. `name()` is stable: it is used for CSV columns and stored records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TaxKind {
    FederalIncome,
    SocialSecurity,
    Medicare,
    AdditionalMedicare,
    Futa,
    StateIncome,
    Paye,
    EmployeeNic,
    EmployerNic,
    FlatIncome,
    FlatEmployer,
    /// Employee-paid state disability insurance (CA SDI, NJ DI, RI TDI).
    StateDisability,
    /// Employee-paid state paid family/medical leave (NY PFL, NJ FLI, WA, MA, CO, OR, CT, …).
    StatePaidLeave,
    /// The employee's share of state unemployment insurance (NJ UI/WF/SWF, AK, PA).
    StateUnemploymentEmployee,
    /// State long-term-care premium (WA Cares).
    StateLongTermCare,
    /// A statewide transit tax withheld from wages (Oregon).
    StateTransit,
    /// A local income tax (NYC, Yonkers).
    LocalIncome,
    StudentLoan,
    PostgraduateLoan,
    DeWageTax,
    DeSolidarity,
    DeChurch,
    DePension,
    DeUnemployment,
    DeHealth,
    DeCare,
}

impl TaxKind {
    pub const ALL: [TaxKind; 26] = [
        TaxKind::FederalIncome,
        TaxKind::SocialSecurity,
        TaxKind::Medicare,
        TaxKind::AdditionalMedicare,
        TaxKind::Futa,
        TaxKind::StateIncome,
        TaxKind::Paye,
        TaxKind::EmployeeNic,
        TaxKind::EmployerNic,
        TaxKind::FlatIncome,
        TaxKind::FlatEmployer,
        TaxKind::StateDisability,
        TaxKind::StatePaidLeave,
        TaxKind::StateUnemploymentEmployee,
        TaxKind::StateLongTermCare,
        TaxKind::StateTransit,
        TaxKind::LocalIncome,
        TaxKind::StudentLoan,
        TaxKind::PostgraduateLoan,
        TaxKind::DeWageTax,
        TaxKind::DeSolidarity,
        TaxKind::DeChurch,
        TaxKind::DePension,
        TaxKind::DeUnemployment,
        TaxKind::DeHealth,
        TaxKind::DeCare,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TaxKind::FederalIncome => "federal_income",
            TaxKind::SocialSecurity => "social_security",
            TaxKind::Medicare => "medicare",
            TaxKind::AdditionalMedicare => "additional_medicare",
            TaxKind::Futa => "futa",
            TaxKind::StateIncome => "state_income",
            TaxKind::Paye => "paye",
            TaxKind::EmployeeNic => "employee_nic",
            TaxKind::EmployerNic => "employer_nic",
            TaxKind::FlatIncome => "flat_income",
            TaxKind::FlatEmployer => "flat_employer",
            TaxKind::StateDisability => "state_sdi",
            TaxKind::StatePaidLeave => "state_pfml",
            TaxKind::StateUnemploymentEmployee => "state_ui_employee",
            TaxKind::StateLongTermCare => "state_ltss",
            TaxKind::StateTransit => "state_transit",
            TaxKind::LocalIncome => "local_income",
            TaxKind::StudentLoan => "student_loan",
            TaxKind::PostgraduateLoan => "postgraduate_loan",
            TaxKind::DeWageTax => "de_wage_tax",
            TaxKind::DeSolidarity => "de_solidarity_surcharge",
            TaxKind::DeChurch => "de_church_tax",
            TaxKind::DePension => "de_pension_insurance",
            TaxKind::DeUnemployment => "de_unemployment_insurance",
            TaxKind::DeHealth => "de_health_insurance",
            TaxKind::DeCare => "de_care_insurance",
        }
    }

    pub fn from_name(name: &str) -> Option<TaxKind> {
        TaxKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for TaxKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One tax on one payment: `amount` is `base × rate` rounded once to cents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaxLine {
    pub kind: TaxKind,
    pub payer: Payer,
    /// The part of the payment taxed at `rate`, exact (not rounded).
    pub base: Decimal,
    /// A fraction: 0.22 is 22%.
    pub rate: Decimal,
    pub amount: Decimal,
    /// The rules-table source of the rate and thresholds.
    pub source: Source,
}

/// The lines for one payment, in a fixed order (federal or PAYE first, employer lines after
/// the employee's of the same tax). A tax with two rates on one payment (the 22%/37% switch,
/// PAYE and NIC bands) has one line per rate. UK lines follow HMRC's rounding points instead of
/// one rounding per line (see `crate::uk`): their amounts add up to HMRC's figure exactly.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Withholding {
    pub lines: Vec<TaxLine>,
}

impl Withholding {
    /// What is withheld from the person's pay.
    pub fn employee_total(&self) -> Decimal {
        self.total_where(|l| l.payer == Payer::Employee)
    }

    /// What the employer pays on top.
    pub fn employer_total(&self) -> Decimal {
        self.total_where(|l| l.payer == Payer::Employer)
    }

    /// Every line of one kind (both payers, every rate).
    pub fn lines_of(&self, kind: TaxKind) -> impl Iterator<Item = &TaxLine> + '_ {
        self.lines.iter().filter(move |l| l.kind == kind)
    }

    /// The summed amount of one kind for one payer; zero when there is no such line.
    pub fn amount_of(&self, kind: TaxKind, payer: Payer) -> Decimal {
        self.total_where(|l| l.kind == kind && l.payer == payer)
    }

    fn total_where(&self, keep: impl Fn(&TaxLine) -> bool) -> Decimal {
        // Each amount is at most 10^15 and there are at most a dozen lines: no overflow.
        self.lines.iter().filter(|l| keep(l)).map(|l| l.amount).sum()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WithholdingError {
    #[error(
        "the gross payment {gross} is negative; a correction is a separate reversing entry, not a negative payment"
    )]
    NegativeGross { gross: Decimal },
    #[error("wages.{field} is {value}, which is negative; year-to-date and period-to-date wages start at zero")]
    NegativeWages { field: &'static str, value: Decimal },
    #[error("{field} is {value}, above the largest amount accepted ({limit}); this is not a realistic wage")]
    TooLarge { field: &'static str, value: Decimal, limit: Decimal },
    #[error(
        "wages.{field} ({value}) is more than wages.year_to_date ({year_to_date}); it is part of the year's wages, so it cannot exceed them"
    )]
    Inconsistent { field: &'static str, value: Decimal, year_to_date: Decimal },
    #[error(transparent)]
    Rules(#[from] RulesError),
    #[error(transparent)]
    De(#[from] crate::de::DeError),
    #[error(transparent)]
    UkRules(#[from] UkRulesError),
    #[error(transparent)]
    State(#[from] StateError),
}

/// Withholding on one payment of `gross` (pay currency) made on `date`, given the person's
/// wages before it. A zero gross gives no lines.
pub fn withhold(
    rules: &Rules,
    jurisdiction: &Jurisdiction,
    date: Date,
    wages: &Wages,
    gross: Decimal,
) -> Result<Withholding, WithholdingError> {
    withhold_for(rules, jurisdiction, date, wages, gross, None)
}

/// [`withhold`] with the person's US certificate and residence (`None`: nothing on file, the
/// state's defaults apply). Only US payments read the profile.
pub fn withhold_for(
    rules: &Rules,
    jurisdiction: &Jurisdiction,
    date: Date,
    wages: &Wages,
    gross: Decimal,
    profile: Option<&UsProfile>,
) -> Result<Withholding, WithholdingError> {
    check_inputs(jurisdiction, wages, gross)?;
    let mut lines = Vec::new();
    match jurisdiction {
        Jurisdiction::Us { state } => {
            let year = rules.us(date.year())?;
            // A year the US state rules file ships takes the state's lines from it (income
            // method, contributions, local tax); otherwise the table's flat state rate.
            let file_year = rules.us_states().and_then(|r| r.year(date.year()));
            let from_file = match (state.as_deref(), file_year) {
                (Some(work_state), Some(state_year)) => Some((work_state, state_year)),
                _ => None,
            };
            let flat_state = if from_file.is_some() { None } else { state.as_deref() };
            us_lines(&mut lines, year, flat_state, wages, gross)?;
            if let Some((work_state, state_year)) = from_file {
                // The state module also sees the month's regular wages (its percentage-method
                // states) and the federal income tax just computed (Vermont withholds a share).
                let federal_income_tax =
                    lines.iter().filter(|l| l.kind == TaxKind::FederalIncome).map(|l| l.amount).sum();
                let payment = StatePayment {
                    work_state,
                    profile,
                    year_to_date: wages.year_to_date,
                    period_wages: wages.period_to_date,
                    federal_income_tax,
                    gross,
                    paid: date,
                };
                lines.extend(state_lines(state_year, &payment)?.into_iter().map(tax_line));
            }
        }
        Jurisdiction::Uk { profile } => {
            let (tax_year, month) = uk_tax_month(date);
            let uk = rules.uk_rules();
            let pay = UkPay { year_to_date: wages.year_to_date, period_to_date: wages.period_to_date };
            for l in uk_lines(uk.year(tax_year)?, uk.file(), profile, month, pay, gross)? {
                let (kind, payer) = match l.kind {
                    UkKind::Paye => (TaxKind::Paye, Payer::Employee),
                    UkKind::EmployeeNic => (TaxKind::EmployeeNic, Payer::Employee),
                    UkKind::EmployerNic => (TaxKind::EmployerNic, Payer::Employer),
                    UkKind::StudentLoan => (TaxKind::StudentLoan, Payer::Employee),
                    UkKind::PostgraduateLoan => (TaxKind::PostgraduateLoan, Payer::Employee),
                };
                lines.push(TaxLine { kind, payer, base: l.base, rate: l.rate, amount: l.amount, source: l.source });
            }
        }
        Jurisdiction::Flat { country } => {
            let rule = rules.flat(country, date.year())?;
            flat_lines(&mut lines, rule, country, gross);
        }
        Jurisdiction::De(case) => {
            use crate::de::DeLineKind as K;
            let rules = rules.de();
            for l in crate::de::lines(rules, case, date, wages.year_to_date, gross)? {
                let kind = match l.kind {
                    K::WageTax => TaxKind::DeWageTax,
                    K::Solidarity => TaxKind::DeSolidarity,
                    K::Church => TaxKind::DeChurch,
                    K::Pension => TaxKind::DePension,
                    K::Unemployment => TaxKind::DeUnemployment,
                    K::Health => TaxKind::DeHealth,
                    K::Care => TaxKind::DeCare,
                };
                let (base, rate, amount, source) = (l.base, l.rate, l.amount, l.source);
                lines.push(TaxLine { kind, payer: Payer::Employee, base, rate, amount, source });
            }
        }
    }
    Ok(Withholding { lines })
}

fn check_inputs(jurisdiction: &Jurisdiction, wages: &Wages, gross: Decimal) -> Result<(), WithholdingError> {
    if gross.is_sign_negative() && !gross.is_zero() {
        return Err(WithholdingError::NegativeGross { gross });
    }
    let fields = [
        ("year_to_date", wages.year_to_date),
        ("supplemental_year_to_date", wages.supplemental_year_to_date),
        ("period_to_date", wages.period_to_date),
    ];
    for (field, value) in fields {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(WithholdingError::NegativeWages { field, value });
        }
    }
    // Bounding every input keeps all the arithmetic below (at most (wages + gross) × 12 × rate)
    // far from Decimal's limit of about 7.9 × 10^28, so plain operators cannot overflow.
    for (field, value) in [("gross", gross)].into_iter().chain(fields) {
        if value > max_amount() {
            return Err(WithholdingError::TooLarge { field, value, limit: max_amount() });
        }
    }
    let part = match jurisdiction {
        Jurisdiction::Us { .. } => Some(("supplemental_year_to_date", wages.supplemental_year_to_date)),
        Jurisdiction::Uk { .. } => Some(("period_to_date", wages.period_to_date)),
        Jurisdiction::Flat { .. } | Jurisdiction::De(_) => None,
    };
    if let Some((field, value)) = part
        && value > wages.year_to_date
    {
        return Err(WithholdingError::Inconsistent { field, value, year_to_date: wages.year_to_date });
    }
    Ok(())
}

/// A state module line as a withholding line (always withheld from the employee).
fn tax_line(l: StateLine) -> TaxLine {
    let kind = match l.kind {
        LineKind::Income => TaxKind::StateIncome,
        LineKind::Local => TaxKind::LocalIncome,
        LineKind::Programme(ProgrammeKind::Disability) => TaxKind::StateDisability,
        LineKind::Programme(ProgrammeKind::PaidLeave) => TaxKind::StatePaidLeave,
        LineKind::Programme(ProgrammeKind::UnemploymentEmployee) => TaxKind::StateUnemploymentEmployee,
        LineKind::Programme(ProgrammeKind::LongTermCare) => TaxKind::StateLongTermCare,
        LineKind::Programme(ProgrammeKind::Transit) => TaxKind::StateTransit,
    };
    TaxLine { kind, payer: Payer::Employee, base: l.base, rate: l.rate, amount: l.amount, source: l.source }
}

/// The length of `[from, to]` that lies inside `[low, high]` (`high = None`: no upper end).
fn overlap(from: Decimal, to: Decimal, low: Decimal, high: Option<Decimal>) -> Decimal {
    let start = from.max(low);
    let end = high.map_or(to, |h| to.min(h));
    (end - start).max(Decimal::ZERO)
}

/// Appends `base × rate` rounded once; nothing when the base or the rate is zero.
fn push(lines: &mut Vec<TaxLine>, kind: TaxKind, payer: Payer, base: Decimal, rate: Decimal, source: &Source) {
    if base.is_zero() || rate.is_zero() {
        return;
    }
    let amount = round_line(base * rate);
    lines.push(TaxLine { kind, payer, base, rate, amount, source: Source::clone(source) });
}

/// The one rounding of a line (`MONEY_ROUNDING`), always written with two places ("87.50").
fn round_line(exact: Decimal) -> Decimal {
    let mut amount = MONEY_ROUNDING.apply(exact);
    // Only pads: the value already has at most MONEY_ROUNDING.scale places.
    amount.rescale(MONEY_ROUNDING.scale);
    amount
}

fn us_lines(
    lines: &mut Vec<TaxLine>,
    year: &UsYear,
    state: Option<&str>,
    wages: &Wages,
    gross: Decimal,
) -> Result<(), WithholdingError> {
    // Look the state up first: a missing state fails the whole payment, not half of it.
    let state_rule = match state {
        Some(code) => Some(year.state(&code.to_ascii_uppercase())?),
        None => None,
    };
    let (ytd, ytd_after) = (wages.year_to_date, wages.year_to_date + gross);
    let supp = wages.supplemental_year_to_date;

    // 26 CFR 31.3402(g)-1(a)(2), (a)(7): 22% while the year's supplemental wages stay within
    // $1M, 37% on the rest; a payment that crosses the line is split at the exact dollar.
    let f = &year.federal;
    let below = overlap(supp, supp + gross, Decimal::ZERO, Some(f.high_threshold));
    let above = overlap(supp, supp + gross, f.high_threshold, None);
    push(lines, TaxKind::FederalIncome, Payer::Employee, below, f.rate, &f.source);
    push(lines, TaxKind::FederalIncome, Payer::Employee, above, f.high_rate, &f.source);

    // Social Security: only the part of the payment below the wage base, both sides.
    let ss = &year.social_security;
    let ss_base = overlap(ytd, ytd_after, Decimal::ZERO, Some(ss.wage_base));
    push(lines, TaxKind::SocialSecurity, Payer::Employee, ss_base, ss.employee_rate, &ss.source);
    push(lines, TaxKind::SocialSecurity, Payer::Employer, ss_base, ss.employer_rate, &ss.source);

    let m = &year.medicare;
    push(lines, TaxKind::Medicare, Payer::Employee, gross, m.employee_rate, &m.source);
    push(lines, TaxKind::Medicare, Payer::Employer, gross, m.employer_rate, &m.source);

    // Additional Medicare: employee only, the part of the year's wages above the threshold.
    let am = &year.additional_medicare;
    let am_base = overlap(ytd, ytd_after, am.threshold, None);
    push(lines, TaxKind::AdditionalMedicare, Payer::Employee, am_base, am.rate, &am.source);

    let futa = &year.futa;
    let futa_base = overlap(ytd, ytd_after, Decimal::ZERO, Some(futa.wage_base));
    push(lines, TaxKind::Futa, Payer::Employer, futa_base, futa.rate, &futa.source);

    if let Some(rule) = state_rule {
        push(lines, TaxKind::StateIncome, Payer::Employee, gross, rule.rate, &rule.source);
    }
    Ok(())
}

fn flat_lines(lines: &mut Vec<TaxLine>, rule: &FlatRule, country: &str, gross: Decimal) {
    let source = Source::from(format!("company flat withholding rule for {country}"));
    push(lines, TaxKind::FlatIncome, Payer::Employee, gross, rule.employee_rate, &source);
    push(lines, TaxKind::FlatEmployer, Payer::Employer, gross, rule.employer_rate, &source);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_and_payer_names_round_trip() {
        for kind in TaxKind::ALL {
            assert_eq!(TaxKind::from_name(kind.name()), Some(kind));
        }
        for payer in Payer::ALL {
            assert_eq!(Payer::from_name(payer.name()), Some(payer));
        }
        assert_eq!(TaxKind::from_name("FederalIncome"), None);
        let names: std::collections::BTreeSet<_> = TaxKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), TaxKind::ALL.len());
    }

    #[test]
    fn overlap_clips_to_the_band() {
        let d = Decimal::from;
        assert_eq!(overlap(d(0), d(10), d(5), Some(d(8))), d(3));
        assert_eq!(overlap(d(9), d(10), d(5), Some(d(8))), d(0));
        assert_eq!(overlap(d(6), d(20), d(5), None), d(14));
        assert_eq!(overlap(d(0), d(4), d(5), None), d(0));
    }
}
