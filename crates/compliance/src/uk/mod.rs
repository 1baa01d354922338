//! UK withholding on one payment for any employee: PAYE for the person's tax code (rest of UK,
//! Scottish and Welsh rates by the code's prefix), Class 1 NICs for their category letter, and
//! student and postgraduate loan deductions, each a [`TaxLine`] with its band's base, rate and
//! source. Constants come from `rules/uk.toml` ([`rules::UkRules`]).
//!
//! This module never guesses: a year, region, category letter or loan plan that the rules do
//! not have is an error naming the missing constant. It reads no clock and does no IO.

pub mod loans;
pub mod nic;
pub mod paye;
pub mod rules;

use tokencomp_core::tax_profile::{LoanPlan, UkProfile};
use tokencomp_money::Decimal;

use crate::source::Source;
use rules::{UkRulesError, UkTaxYear};

/// What a UK line is for (`withholding` maps each to its `TaxKind` and payer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UkKind {
    Paye,
    EmployeeNic,
    EmployerNic,
    StudentLoan,
    PostgraduateLoan,
}

/// One UK line: `amount` (whole pennies) on `base` at `rate`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UkLine {
    pub kind: UkKind,
    pub base: Decimal,
    pub rate: Decimal,
    pub amount: Decimal,
    pub source: Source,
}

/// The person's pay in the tax year and in the tax month before this payment, in pounds.
#[derive(Clone, Copy, Debug)]
pub struct UkPay {
    pub year_to_date: Decimal,
    pub period_to_date: Decimal,
}

/// The lines of a UK payment of `gross` in tax month `month` of `year`.
pub fn uk_lines(
    year: &UkTaxYear,
    file: &str,
    profile: &UkProfile,
    month: i8,
    wages: UkPay,
    gross: Decimal,
) -> Result<Vec<UkLine>, UkRulesError> {
    // Look everything up first: a missing constant refuses the whole payment, not half of it.
    let bands = year.bands(profile.tax_code.region, file)?;
    let category = year.category(profile.ni_category, file)?;
    let undergraduate = profile
        .loans
        .iter()
        .filter(|p| **p != LoanPlan::Postgraduate)
        .map(|p| year.loan(*p, file).map(|l| (*p, l)))
        .collect::<Result<Vec<_>, _>>()?;
    let postgraduate = match profile.loans.contains(&LoanPlan::Postgraduate) {
        true => Some(year.loan(LoanPlan::Postgraduate, file)?),
        false => None,
    };

    let mut lines = Vec::new();
    let mut push = |kind, base: Decimal, rate: Decimal, amount: Decimal, source: &Source| {
        let mut amount = amount;
        amount.rescale(2);
        lines.push(UkLine { kind, base, rate, amount, source: Source::clone(source) });
    };

    let at = paye::PayeMonth { month, year_to_date: wages.year_to_date, period_to_date: wages.period_to_date };
    for b in paye::paye_on_payment(&profile.tax_code, bands, year.regulatory_limit, at, gross)? {
        if !b.rate.is_zero() {
            push(UkKind::Paye, b.base, b.rate, b.amount, &bands.source);
        }
    }

    let n = &year.nic;
    let employee = nic::two_bands(
        n.primary_threshold,
        n.upper_earnings_limit,
        category.employee_main_rate,
        category.employee_upper_rate,
    );
    for l in nic::nic_on_payment(&employee, wages.period_to_date, gross) {
        push(UkKind::EmployeeNic, l.base, l.rate, l.amount, &category.source);
    }
    let employer = nic::two_bands(
        n.secondary_threshold,
        n.upper_secondary_threshold,
        category.employer_main_rate,
        category.employer_upper_rate,
    );
    for l in nic::nic_on_payment(&employer, wages.period_to_date, gross) {
        push(UkKind::EmployerNic, l.base, l.rate, l.amount, &category.source);
    }

    // One undergraduate plan at a time: the lowest threshold of those on file.
    if let Some((_, loan)) = undergraduate.iter().min_by_key(|(p, l)| (l.annual_threshold, *p))
        && let Some((base, amount)) = loans::loan_on_payment(loan, wages.period_to_date, gross)
    {
        push(UkKind::StudentLoan, base, loan.rate, amount, &loan.source);
    }
    if let Some(loan) = postgraduate
        && let Some((base, amount)) = loans::loan_on_payment(loan, wages.period_to_date, gross)
    {
        push(UkKind::PostgraduateLoan, base, loan.rate, amount, &loan.source);
    }
    Ok(lines)
}
