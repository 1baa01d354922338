//! Student loan (plans 1, 2, 4, 5) and postgraduate loan deductions on one payment, per pay
//! period and never cumulative (HMRC, Collecting student loan and postgraduate loan
//! repayments: the deduction is the plan's rate of the period's earnings above the period
//! threshold, rounded down to the whole pound).
//!
//! The monthly threshold is the annual threshold divided by 12 and truncated to the penny, as
//! HMRC publishes it (Plan 2 2024-25: 27,295 / 12 = 2,274.583… → 2,274.58; postgraduate weekly
//! 21,000 / 52 = 403.846… → 403.84). One undergraduate plan is deducted at a time: with several
//! on file, the one with the lowest threshold (HMRC, Special rules for student loans: an
//! employee with more than one plan type); the postgraduate loan is deducted in addition.

use tokencomp_money::Decimal;

use super::paye::trunc_penny;
use super::rules::Loan;

/// The period threshold of an annual threshold (monthly pay).
pub fn monthly_threshold(annual: Decimal) -> Decimal {
    trunc_penny(annual / Decimal::from(12))
}

/// The deduction for a period with earnings `e`.
fn deduction(loan: &Loan, e: Decimal) -> Decimal {
    let above = e - monthly_threshold(loan.annual_threshold);
    if above <= Decimal::ZERO {
        return Decimal::ZERO;
    }
    let mut whole = (above * loan.rate).floor();
    whole.rescale(2);
    whole
}

/// `(base, amount)` of the deduction on a payment of `gross` when the period already has
/// `period_to_date`; `None` when nothing of the payment is above the threshold.
pub fn loan_on_payment(loan: &Loan, period_to_date: Decimal, gross: Decimal) -> Option<(Decimal, Decimal)> {
    let threshold = monthly_threshold(loan.annual_threshold);
    let (e0, e1) = (period_to_date, period_to_date + gross);
    let base = e1 - e0.max(threshold);
    if base <= Decimal::ZERO || loan.rate.is_zero() {
        return None;
    }
    Some((base, deduction(loan, e1) - deduction(loan, e0)))
}
