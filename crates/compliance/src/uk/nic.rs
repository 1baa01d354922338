//! Class 1 National Insurance on one payment, per earnings period (the tax month), never
//! cumulative: the employee's contributions between the primary threshold and the upper
//! earnings limit and above it, the employer's between the secondary threshold and the upper
//! secondary threshold and above it, at the rates of the person's category letter.
//!
//! Exact percentage method (HMRC, NICs guidance for software developers; Social Security
//! (Contributions) Regulations 2001 reg 12): each band's contribution is truncated to four
//! decimal places, the period's employee and employer totals are computed separately and
//! rounded to the penny with a half penny or less disregarded. The payment's contribution is
//! the period's total with it minus without it; the lines per band telescope to that exactly.

use tokencomp_money::Decimal;

/// One band: earnings in `[low, high)` of the period at `rate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NicBand {
    pub low: Decimal,
    pub high: Option<Decimal>,
    pub rate: Decimal,
}

/// A band's share of the payment's contribution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NicLine {
    pub rate: Decimal,
    pub base: Decimal,
    pub amount: Decimal,
}

/// Rounds to the penny disregarding a half penny or less: 50.155 → 50.15, 50.156 → 50.16.
pub fn ni_round(x: Decimal) -> Decimal {
    let mut t = x.trunc_with_scale(2);
    if x - t > Decimal::new(5, 3) {
        t += Decimal::new(1, 2);
    }
    t.rescale(2);
    t
}

fn overlap(from: Decimal, to: Decimal, low: Decimal, high: Option<Decimal>) -> Decimal {
    let start = from.max(low);
    let end = high.map_or(to, |h| to.min(h));
    (end - start).max(Decimal::ZERO)
}

/// Two bands split at `middle`, merged into one when their rates are equal (category A's
/// employer rate is the same either side of the upper secondary threshold).
pub fn two_bands(low: Decimal, middle: Decimal, main: Decimal, upper: Decimal) -> Vec<NicBand> {
    if main == upper {
        vec![NicBand { low, high: None, rate: main }]
    } else {
        vec![NicBand { low, high: Some(middle), rate: main }, NicBand { low: middle, high: None, rate: upper }]
    }
}

/// Rounded partial totals through each band for period earnings `e`.
fn partials(bands: &[NicBand], e: Decimal) -> Vec<Decimal> {
    let mut sum = Decimal::ZERO;
    bands
        .iter()
        .map(|b| {
            sum += (overlap(Decimal::ZERO, e, b.low, b.high) * b.rate).trunc_with_scale(4);
            ni_round(sum)
        })
        .collect()
}

/// The contribution on a payment of `gross` when the period already has `period_to_date`.
pub fn nic_on_payment(bands: &[NicBand], period_to_date: Decimal, gross: Decimal) -> Vec<NicLine> {
    let (e0, e1) = (period_to_date, period_to_date + gross);
    let (s0, s1) = (partials(bands, e0), partials(bands, e1));
    bands
        .iter()
        .enumerate()
        .filter(|(_, b)| !b.rate.is_zero())
        .map(|(i, b)| {
            let prev = |s: &[Decimal]| if i == 0 { Decimal::ZERO } else { s[i - 1] };
            let amount = (s1[i] - prev(&s1)) - (s0[i] - prev(&s0));
            NicLine { rate: b.rate, base: overlap(e0, e1, b.low, b.high), amount }
        })
        .filter(|l| !l.base.is_zero())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    #[test]
    fn a_half_penny_or_less_is_disregarded() {
        assert_eq!(ni_round(d("50.156")), d("50.16"));
        assert_eq!(ni_round(d("50.155")), d("50.15"));
        assert_eq!(ni_round(d("50.154")), d("50.15"));
        assert_eq!(ni_round(d("7")), d("7.00"));
    }
}
