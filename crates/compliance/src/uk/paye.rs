//! PAYE income tax for every tax code, as HMRC's "Specification for PAYE Tax Table Routines"
//! (version 23.0, January 2025) computes it for monthly pay: free pay (suffix codes) or
//! additional pay (K codes) from the code number, cumulative or week-1/month-1 basis, the
//! flat codes BR, D0 to D3 and NT, the Scottish and Welsh rates chosen by the code's prefix,
//! and the 50% overriding limit of a K code.
//!
//! HMRC's rounding points, each named here and applied nowhere else:
//! - the pay adjustment of the code number's remainder and of each block of 500 is rounded up
//!   to the penny per month, then multiplied by the month number ([`month_adjustment`]);
//! - taxable pay to date is rounded down to the whole pound;
//! - band limits to date are `annual × n / 12`, exact, and the band is chosen by comparing
//!   taxable pay with each limit rounded up to the pound;
//! - tax due to date is truncated to the penny, and so is the overriding limit.
//!
//! The tax on one payment (a vest paid through payroll in a tax month) is the tax due with it
//! minus the tax due without it. Lines are per band; their amounts are differences of the
//! truncated partial sums, so they add up to that exact difference.

use tokencomp_core::tax_profile::{CodeKind, TaxCode};
use tokencomp_money::Decimal;

use super::rules::{Bands, UkRulesError};

/// Everything about the person's month that PAYE needs, in pounds.
#[derive(Clone, Copy, Debug)]
pub struct PayeMonth {
    /// Tax month 1..=12.
    pub month: i8,
    /// Pay in the tax year before this payment (the previous months and this one so far).
    pub year_to_date: Decimal,
    /// Pay in this tax month before this payment.
    pub period_to_date: Decimal,
}

/// One band's share of the payment's tax: the part of taxable pay it covers (exact) and the
/// tax, whole pennies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BandTax {
    pub rate: Decimal,
    pub base: Decimal,
    pub amount: Decimal,
}

/// Rounded up to the penny (pay adjustments).
fn ceil_penny(x: Decimal) -> Decimal {
    (x * Decimal::ONE_HUNDRED).ceil() / Decimal::ONE_HUNDRED
}

/// Truncated to the penny (tax due, the overriding limit).
pub(crate) fn trunc_penny(x: Decimal) -> Decimal {
    let mut t = x.trunc_with_scale(2);
    t.rescale(2);
    t
}

/// The month-1 pay adjustment of a code number (spec paragraph 4.3.1, the note for
/// programmers): the number is split into blocks of 500 and a remainder of 1 to 500; the
/// remainder gives `(r × 10 + 9) / 12` and each block `500 × 10 / 12`, each rounded up to the
/// penny. Code number 0 has none.
pub fn month_adjustment(number: u32) -> Decimal {
    if number == 0 {
        return Decimal::ZERO;
    }
    let twelve = Decimal::from(12);
    let (blocks, rest) = ((number - 1) / 500, (number - 1) % 500 + 1);
    let rest_part = ceil_penny((Decimal::from(rest) * Decimal::TEN + Decimal::from(9)) / twelve);
    let block_part = ceil_penny(Decimal::from(5000) / twelve);
    rest_part + block_part * Decimal::from(blocks)
}

/// How one code turns pay to date into tax due to date.
enum Method<'b> {
    /// Suffix codes (`adjustment` > 0 is free pay) and K codes (`adjustment` < 0 is
    /// additional pay), over all bands.
    Banded {
        bands: &'b Bands,
        adjustment: Decimal,
    },
    /// BR and D codes: every pound of pay at one band's rate.
    Flat {
        band: usize,
        rate: Decimal,
    },
    NoTax,
}

fn method<'b>(code: &TaxCode, bands: &'b Bands, n: Decimal) -> Result<Method<'b>, String> {
    Ok(match code.kind {
        CodeKind::Allowance { number, .. } => Method::Banded { bands, adjustment: month_adjustment(number) * n },
        CodeKind::K { number } => Method::Banded { bands, adjustment: -(month_adjustment(number) * n) },
        CodeKind::BasicRate => Method::Flat { band: bands.basic, rate: bands.bands[bands.basic].rate },
        CodeKind::Band(d) => {
            let band = bands.basic + 1 + usize::from(d);
            let rate = bands.bands.get(band).map(|b| b.rate).ok_or_else(|| {
                format!("tax code {code}: D{d} names a band these rates do not have ({} bands above basic)", {
                    bands.bands.len() - bands.basic - 1
                })
            })?;
            Method::Flat { band, rate }
        }
        CodeKind::NoTax => Method::NoTax,
    })
}

/// Truncated partial sums of tax due to date per band (last entry = tax due to date), and the
/// exact band bases, for pay to date `pay` in month-fraction `n` (the month number, or 1 on a
/// week-1/month-1 basis).
fn partials(m: &Method<'_>, bands_len: usize, pay: Decimal, n: Decimal) -> (Vec<Decimal>, Decimal) {
    let mut out = vec![Decimal::ZERO; bands_len];
    match m {
        Method::NoTax => (out, Decimal::ZERO),
        Method::Flat { band, rate } => {
            let taxable = pay.max(Decimal::ZERO);
            let tax = trunc_penny(taxable.floor() * rate);
            for slot in out.iter_mut().skip(*band) {
                *slot = tax;
            }
            (out, taxable)
        }
        Method::Banded { bands, adjustment } => {
            let twelve = Decimal::from(12);
            let u = pay - adjustment;
            if u <= Decimal::ZERO {
                return (out, u);
            }
            let t = u.floor();
            // Limits and tax of the full bands to date: annual × n / 12, exact.
            let (mut low, mut below) = (Decimal::ZERO, Decimal::ZERO);
            for (i, b) in bands.bands.iter().enumerate() {
                let high = b.to.map(|to| to * n / twelve);
                let fits = high.is_none_or(|h| u <= h.ceil());
                if fits {
                    let tax = trunc_penny(below + (t - low) * b.rate);
                    for slot in out.iter_mut().skip(i) {
                        *slot = tax;
                    }
                    break;
                }
                // INVARIANT: `fits` is true for the last band (no upper limit), so `high` is Some.
                let h = high.unwrap_or(low);
                below += (h - low) * b.rate;
                out[i] = trunc_penny(below);
                low = h;
            }
            (out, u)
        }
    }
}

/// The annual band limits to date `[low, high)` of band `i`, for the bases of the lines.
fn band_range(m: &Method<'_>, i: usize, n: Decimal) -> (Decimal, Option<Decimal>) {
    match m {
        Method::Banded { bands, .. } => {
            let twelve = Decimal::from(12);
            let low = if i == 0 { Decimal::ZERO } else { bands.bands[i - 1].to.unwrap_or_default() * n / twelve };
            (low, bands.bands[i].to.map(|to| to * n / twelve))
        }
        Method::Flat { band, .. } if *band == i => (Decimal::ZERO, None),
        _ => (Decimal::ZERO, Some(Decimal::ZERO)),
    }
}

fn overlap(from: Decimal, to: Decimal, low: Decimal, high: Option<Decimal>) -> Decimal {
    let start = from.max(low);
    let end = high.map_or(to, |h| to.min(h));
    (end - start).max(Decimal::ZERO)
}

/// The PAYE on a payment of `gross` with `code` and the region's `bands`, one entry per band
/// that the payment reaches. `regulatory_limit` is the share of a period's pay a K code may
/// take (50%).
pub fn paye_on_payment(
    code: &TaxCode,
    bands: &Bands,
    regulatory_limit: Decimal,
    at: PayeMonth,
    gross: Decimal,
) -> Result<Vec<BandTax>, UkRulesError> {
    let month = Decimal::from(at.month);
    let n = if code.non_cumulative { Decimal::ONE } else { month };
    let bad_code = |message| UkRulesError::Invalid { file: String::new(), problems: vec![message] };
    let m = method(code, bands, n).map_err(bad_code)?;
    let count = bands.bands.len();
    // Pay to date that the tax due is computed on: the year's (cumulative) or the month's.
    let (p0, p1) = if code.non_cumulative {
        (at.period_to_date, at.period_to_date + gross)
    } else {
        (at.year_to_date, at.year_to_date + gross)
    };
    let (s0, u0) = partials(&m, count, p0, n);
    let (s1, u1) = partials(&m, count, p1, n);
    let mut lines: Vec<BandTax> = (0..count)
        .map(|i| {
            let prev = |s: &[Decimal]| if i == 0 { Decimal::ZERO } else { s[i - 1] };
            let amount = (s1[i] - prev(&s1)) - (s0[i] - prev(&s0));
            let (low, high) = band_range(&m, i, n);
            BandTax { rate: bands.bands[i].rate, base: overlap(u0, u1, low, high), amount }
        })
        .collect();

    // The overriding limit of a K code (spec paragraph 4.5): the tax deducted in a period is
    // at most `regulatory_limit` of the period's pay. Earlier months are taken as fully
    // deducted, so the tax for this month is the tax due to date minus the tax due at the end
    // of the previous month.
    if matches!(code.kind, CodeKind::K { .. }) {
        let previous = if code.non_cumulative || at.month <= 1 {
            Decimal::ZERO
        } else {
            let before_month = at.year_to_date - at.period_to_date;
            let n_before = month - Decimal::ONE;
            let m_before = method(code, bands, n_before).map_err(bad_code)?;
            partials(&m_before, count, before_month, n_before).0[count - 1]
        };
        let period_tax = |due: Decimal, pay: Decimal| (due - previous).min(trunc_penny(pay * regulatory_limit));
        let with = period_tax(s1[count - 1], at.period_to_date + gross);
        let without = period_tax(s0[count - 1], at.period_to_date);
        // The limit can lower the payment's tax (it binds with the payment) or raise it (it
        // bound without the payment, and the payment lifts it): the difference is taken off
        // the highest bands first, or added to the highest band the payment reaches.
        let mut excess = (s1[count - 1] - s0[count - 1]) - (with - without);
        for line in lines.iter_mut().rev() {
            if excess <= Decimal::ZERO {
                break;
            }
            let cut = excess.min(line.amount.max(Decimal::ZERO));
            line.amount -= cut;
            excess -= cut;
        }
        if excess < Decimal::ZERO
            && let Some(top) = lines.iter_mut().rev().find(|l| !l.base.is_zero())
        {
            top.amount -= excess;
        }
    }

    // A band boundary can leave a penny difference on a band the payment does not reach
    // (HMRC chooses the band by the limit rounded up to the pound): it joins the nearest band
    // the payment does reach, so every line has a base.
    for i in 0..lines.len() {
        if lines[i].base.is_zero() && !lines[i].amount.is_zero() {
            let target = (0..lines.len()).filter(|&j| !lines[j].base.is_zero()).min_by_key(|&j| j.abs_diff(i));
            if let Some(j) = target {
                let moved = lines[i].amount;
                lines[j].amount += moved;
                lines[i].amount = Decimal::ZERO;
            }
        }
    }
    Ok(lines.into_iter().filter(|l| !l.base.is_zero()).collect())
}

/// Tax due to date for pay to date `pay` in month `month` (cumulative) — HMRC's L(n), exposed
/// for tests that check a published row of figures.
pub fn tax_due_to_date(code: &TaxCode, bands: &Bands, month: i8, pay: Decimal) -> Result<Decimal, String> {
    let n = if code.non_cumulative { Decimal::ONE } else { Decimal::from(month) };
    let m = method(code, bands, n)?;
    let (s, _) = partials(&m, bands.bands.len(), pay, n);
    Ok(s[bands.bands.len() - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    #[test]
    fn pay_adjustments_follow_the_500_blocks() {
        // 1257: one remainder of 257 → (2,579 / 12 = 214.9166…) ↑ 214.92; two blocks of 500 →
        // 2 × (5,000 / 12 = 416.666…) ↑ 416.67 = 833.34; month 1 = 1,048.26.
        assert_eq!(month_adjustment(1257), d("1048.26"));
        // 500 is one remainder of 500, not a block: (5,009 / 12 = 417.4166…) ↑ 417.42.
        assert_eq!(month_adjustment(500), d("417.42"));
        assert_eq!(month_adjustment(1), d("1.59"));
        assert_eq!(month_adjustment(0), Decimal::ZERO);
    }
}
