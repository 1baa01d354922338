//! Withholding goldens worked by hand (each citing its rule) and the calculator's invariants.

use std::collections::BTreeMap;
use std::str::FromStr;

use Payer::{Employee as EE, Employer as ER};
use jiff::civil::{Date, date};
use proptest::prelude::*;
use tokencomp_compliance::rules::{FlatRule, Rules};
use tokencomp_compliance::withholding::{Jurisdiction, Payer, TaxKind, Wages, Withholding, WithholdingError, withhold};
use tokencomp_core::tax_profile::UkProfile;
use tokencomp_money::{Decimal, MONEY_ROUNDING, PRICE_ROUNDING};

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("valid")
}

fn rules() -> Rules {
    Rules::builtin()
        .expect("valid")
        .with_flat("DE", FlatRule { employee_rate: d("0.42"), employer_rate: Decimal::ZERO })
        .expect("valid")
        .with_flat("FR", FlatRule { employee_rate: d("0.25"), employer_rate: d("0.45") })
        .expect("valid")
}

fn us(state: Option<&str>) -> Jurisdiction {
    Jurisdiction::Us { state: state.map(str::to_owned) }
}

/// Tax code 1257L, cumulative, category A, no loans: what these cases assumed before tax codes.
fn uk() -> Jurisdiction {
    Jurisdiction::Uk { profile: UkProfile { tax_code: "1257L".parse().expect("code"), ..UkProfile::default() } }
}

fn wages(ytd: &str, supplemental: &str, period: &str) -> Wages {
    Wages { year_to_date: d(ytd), supplemental_year_to_date: d(supplemental), period_to_date: d(period) }
}

/// The lines as (kind, payer, base, rate, amount) with decimals as text, for whole-list checks.
fn table(w: &Withholding) -> Vec<(TaxKind, Payer, String, String, String)> {
    w.lines
        .iter()
        .map(|l| {
            (
                l.kind,
                l.payer,
                PRICE_ROUNDING.apply(l.base).normalize().to_string(),
                l.rate.to_string(),
                l.amount.to_string(),
            )
        })
        .collect()
}

fn row(kind: TaxKind, payer: Payer, base: &str, rate: &str, amount: &str) -> (TaxKind, Payer, String, String, String) {
    (kind, payer, base.to_owned(), rate.to_owned(), amount.to_owned())
}

#[test]
fn federal_switches_from_22_to_37_percent_inside_one_vest() {
    // 26 CFR 31.3402(g)-1(a)(2) and (a)(7), docs/tax-rules.md#federal-supplemental-withholding:
    // 22% on supplemental wages up to $1,000,000 in the year, 37% above.
    // Supplemental YTD 950,000; the vest of 100,000 takes it to 1,050,000:
    //   50,000 × 22% = 11,000.00;  50,000 × 37% = 18,500.00.
    // Year wages are 1,100,000 before the vest: above the 2026 SS base (184,500) → no SS line;
    // PAYE, code 1257L cumulative (HMRC, Specification for PAYE Tax Table Routines v23.0,
    // paragraphs 4.3 and 4.4), 15 July 2025 is tax month 4:
    //   free pay: 1257 = 2 × 500 + 257 → 2 × 416.67 + (2,579 / 12 ↑ 214.92) = 1,048.26 a month;
    //   × 4 = 4,193.04
    //   taxable pay to date before: 12,000 − 4,193.04 = 7,806.96 → 7,806 (whole pounds)
    //                       after: 22,000 − 4,193.04 = 17,806.96 → 17,806
    //   basic band to date 37,700 × 4/12 = 12,566.666…; 17,806.96 > 12,567 → higher band
    //   tax due before: 7,806 × 20% = 1,561.20
    //   tax due after: 12,566.666… × 20% + (17,806 − 12,566.666…) × 40%
    //                 = 2,513.333… + 2,095.733… = 4,609.066… → 4,609.06
    //   lines: basic band 2,513.33 − 1,561.20 = 952.13 on 12,566.666… − 7,806.96 = 4,759.706…;
    //          higher band 4,609.06 − 2,513.33 = 2,095.73 on 17,806.96 − 12,566.666… = 5,240.293…
    //   (was 951.33 + 2,097.33 with 12,570/12 free pay and unrounded taxable pay; HMRC's free
    //   pay is 1,048.26 a month and taxable pay is whole pounds.)
    // Employee Class 1 NICs for the month (HMRC rates 2025 to 2026, monthly PT 1,048 and UEL
    // 4,189, category A 8% / 2%); month earnings 3,000 → 13,000:
    //   before: (3,000 − 1,048) × 8% = 156.16
    //   after: (4,189 − 1,048) × 8% = 251.28, + (13,000 − 4,189) × 2% = 176.22
    //   lines: 251.28 − 156.16 = 95.12 on 1,189; 176.22 on 8,811
    // Employer (ST 417 a month, 15%), already passed by the salary: 15% × 10,000 = 1,500.00
    let w = withhold(&rules(), &uk(), date(2025, 7, 15), &wages("12000", "0", "3000"), d("10000")).expect("valid");
    assert_eq!(
        table(&w),
        [
            row(TaxKind::Paye, EE, "4759.70666667", "0.2", "952.13"),
            row(TaxKind::Paye, EE, "5240.29333333", "0.4", "2095.73"),
            row(TaxKind::EmployeeNic, EE, "1189", "0.08", "95.12"),
            row(TaxKind::EmployeeNic, EE, "8811", "0.02", "176.22"),
            row(TaxKind::EmployerNic, ER, "10000", "0.15", "1500.00"),
        ]
    );
    // 952.13 + 2,095.73 + 95.12 + 176.22 = 3,319.20 withheld; employer 1,500.00.
    assert_eq!(w.employee_total(), d("3319.20"));
    assert_eq!(w.employer_total(), d("1500.00"));
}

#[test]
fn uk_last_month_of_2024_25_uses_the_old_employer_rate() {
    // 5 April 2025 is month 12 of 2024-25 (HMRC rates 2024 to 2025: employer 13.8% above
    // the monthly secondary threshold 758). A first payment of 1,000 in the month, nothing
    // earlier in the year:
    //   PAYE: free pay 1,048.26 × 12 = 12,579.12 > 1,000 → none. Employee NIC: 1,000 < PT 1,048.
    //   Employer: (1,000 − 758) × 13.8% = 33.396 → 33.40 (a fraction above half a penny rounds
    //   up, SS(C)R 2001 reg 12). (Was 33.35 on the unpublished threshold 9,100 / 12.)
    let w = withhold(&rules(), &uk(), date(2025, 4, 5), &wages("0", "0", "0"), d("1000")).expect("valid");
    assert_eq!(table(&w), [row(TaxKind::EmployerNic, ER, "242", "0.138", "33.40")]);
    // The next day is month 1 of 2025-26: 15% above 417: 583 × 15% = 87.45 (was 87.50 on
    // 5,000 / 12).
    let w = withhold(&rules(), &uk(), date(2025, 4, 6), &wages("0", "0", "0"), d("1000")).expect("valid");
    assert_eq!(w.amount_of(TaxKind::EmployerNic, ER), d("87.45"));
    // Month 1 free pay is 1,048.26: PAYE on 1,000 − 1,048.26 < 0 → none.
    assert_eq!(w.lines_of(TaxKind::Paye).count(), 0);
}

#[test]
fn flat_rules_for_other_countries() {
    // Company-configured flat rule (docs/tax-rules.md#germany: tokens are wages; the rate is the
    // company's estimate): DE 42% employee, 0% employer. 10,000 × 42% = 4,200.00, and a zero
    // employer rate gives no employer line.
    let de = Jurisdiction::Flat { country: "DE".to_owned() };
    let w = withhold(&rules(), &de, date(2026, 2, 2), &Wages::default(), d("10000")).expect("valid");
    assert_eq!(table(&w), [row(TaxKind::FlatIncome, EE, "10000", "0.42", "4200.00")]);
    // FR (illustrative 25% / 45%): 1,234.57 × 25% = 308.6425 → 308.64; × 45% = 555.5565 → 555.56.
    let fr = Jurisdiction::Flat { country: "FR".to_owned() };
    let w = withhold(&rules(), &fr, date(2026, 2, 2), &Wages::default(), d("1234.57")).expect("valid");
    assert_eq!(
        table(&w),
        [
            row(TaxKind::FlatIncome, EE, "1234.57", "0.25", "308.64"),
            row(TaxKind::FlatEmployer, ER, "1234.57", "0.45", "555.56"),
        ]
    );
}

#[test]
fn zero_gross_gives_no_lines() {
    for j in [us(Some("CA")), uk(), Jurisdiction::Flat { country: "DE".to_owned() }] {
        let w = withhold(&rules(), &j, date(2025, 8, 1), &wages("100", "0", "0"), Decimal::ZERO).expect("valid");
        assert_eq!(w.lines, [], "{j:?}");
    }
}

#[test]
fn missing_rules_are_errors_that_name_them() {
    let r = rules();
    let err = withhold(&r, &us(None), date(2027, 1, 15), &Wages::default(), d("100"))
        .expect_err("must be refused")
        .to_string();
    assert!(err.contains("calendar year 2027") && err.contains("rules/tax.toml"), "{err}");

    // Nevada is now shipped (no income tax); Hawaii's guide method is not, so it is refused.
    let err = withhold(&r, &us(Some("HI")), date(2026, 1, 15), &Wages::default(), d("100"))
        .expect_err("must be refused")
        .to_string();
    assert!(err.contains("`HI`") && err.contains("2026"), "{err}");

    // 6 April 2027 starts tax year 2027-28, which the table does not have.
    let err =
        withhold(&r, &uk(), date(2027, 4, 6), &Wages::default(), d("100")).expect_err("must be refused").to_string();
    assert!(err.contains("tax year 2027-28"), "{err}");

    let it = Jurisdiction::Flat { country: "IT".to_owned() };
    let err =
        withhold(&r, &it, date(2026, 5, 1), &Wages::default(), d("100")).expect_err("must be refused").to_string();
    assert!(err.contains("`IT`") && err.contains("2026"), "{err}");
}

#[test]
fn bad_inputs_are_refused() {
    let r = rules();
    let err = withhold(&r, &us(None), date(2026, 1, 15), &Wages::default(), d("-1")).expect_err("must be refused");
    assert!(matches!(err, WithholdingError::NegativeGross { .. }), "{err}");
    let err = withhold(&r, &us(None), date(2026, 1, 15), &wages("-5", "0", "0"), d("1")).expect_err("must be refused");
    assert!(err.to_string().contains("wages.year_to_date"), "{err}");
    // Supplemental wages are part of the year's wages, and the month's earnings part of the year's.
    let err = withhold(&r, &us(None), date(2026, 1, 15), &wages("10", "20", "0"), d("1")).expect_err("must be refused");
    assert!(err.to_string().contains("supplemental_year_to_date"), "{err}");
    let err = withhold(&r, &uk(), date(2026, 1, 15), &wages("10", "0", "20"), d("1")).expect_err("must be refused");
    assert!(err.to_string().contains("period_to_date"), "{err}");
    let err = withhold(&r, &us(None), date(2026, 1, 15), &Wages::default(), d("1000000000000001"))
        .expect_err("must be refused");
    assert!(matches!(err, WithholdingError::TooLarge { field: "gross", .. }), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Properties

fn cents(max: i64) -> impl Strategy<Value = Decimal> {
    (0..=max).prop_map(|c| Decimal::new(c, 2))
}

/// Small and large amounts, so both the low thresholds (7,000, UK months) and the high ones
/// (wage base, 200,000, 1,000,000, 125,140) are crossed often.
fn amount() -> impl Strategy<Value = Decimal> {
    prop_oneof![cents(2_000_000), cents(300_000_000)]
}

fn jurisdiction() -> impl Strategy<Value = Jurisdiction> {
    prop_oneof![
        Just(us(None)),
        Just(us(Some("CA"))),
        Just(us(Some("NY"))),
        Just(us(Some("TX"))),
        Just(uk()),
        Just(uk()),
        Just(Jurisdiction::Flat { country: "DE".to_owned() }),
        Just(Jurisdiction::Flat { country: "FR".to_owned() }),
    ]
}

/// Dates covered by both tables: 6 April 2024 to 31 December 2026.
fn payment_date() -> impl Strategy<Value = Date> {
    (0i32..=999).prop_map(|n| date(2024, 4, 6).checked_add(jiff::Span::new().days(n)).expect("valid"))
}

/// Year-to-date wages with the supplemental and month parts no larger than the year's.
fn wages_strategy() -> impl Strategy<Value = Wages> {
    (amount(), 0i64..=100, 0i64..=100).prop_map(|(ytd, s, p)| Wages {
        year_to_date: ytd,
        supplemental_year_to_date: MONEY_ROUNDING.apply(ytd * Decimal::new(s, 2)),
        period_to_date: MONEY_ROUNDING.apply(ytd * Decimal::new(p, 2)),
    })
}

type Key = (TaxKind, Payer, Decimal);

fn by_key(ws: &[&Withholding]) -> BTreeMap<Key, (Decimal, Decimal, u32)> {
    let mut out: BTreeMap<Key, (Decimal, Decimal, u32)> = BTreeMap::new();
    for w in ws {
        for l in &w.lines {
            let e = out.entry((l.kind, l.payer, l.rate.normalize())).or_default();
            e.0 += l.base;
            e.1 += l.amount;
            e.2 += 1;
        }
    }
    out
}

/// Reference for US federal withholding: the tax on the year's supplemental wages so far,
/// 22% up to 1,000,000 and 37% above, differenced around the payment.
fn federal_reference(supplemental: Decimal, gross: Decimal) -> Decimal {
    let tax = |s: Decimal| {
        let limit = d("1000000");
        s.min(limit) * d("0.22") + (s - limit).max(Decimal::ZERO) * d("0.37")
    };
    tax(supplemental + gross) - tax(supplemental)
}

/// Reference for UK PAYE, code 1257L cumulative, written from HMRC's Specification for PAYE
/// Tax Table Routines (v23.0) paragraphs 4.3–4.4 as a person would on paper: free pay
/// 1,048.26 × m, taxable pay to whole pounds, band limits annual × m / 12, the band chosen by
/// the limit rounded up to the pound, tax due truncated to the penny.
fn paye_reference(month: i8, ytd: Decimal, gross: Decimal) -> Decimal {
    let m = Decimal::from(month);
    let due = |pay: Decimal| {
        let u = pay - d("1048.26") * m;
        if u <= Decimal::ZERO {
            return Decimal::ZERO;
        }
        let t = u.floor();
        let (c1, c2) = (d("37700") * m / d("12"), d("125140") * m / d("12"));
        let tax = if u <= c1.ceil() {
            t * d("0.2")
        } else if u <= c2.ceil() {
            c1 * d("0.2") + (t - c1) * d("0.4")
        } else {
            c1 * d("0.2") + (c2 - c1) * d("0.4") + (t - c2) * d("0.45")
        };
        tax.trunc_with_scale(2)
    };
    due(ytd + gross) - due(ytd)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every line is non-negative with a base inside the payment, its amount is base × rate
    /// rounded once, and the employee never has more withheld than the payment.
    #[test]
    fn lines_are_sane_and_employee_withholding_never_exceeds_gross(
        j in jurisdiction(), day in payment_date(), w in wages_strategy(), gross in amount(),
    ) {
        let out = withhold(&rules(), &j, day, &w, gross).expect("valid");
        for l in &out.lines {
            prop_assert!(l.base > Decimal::ZERO && l.base <= gross, "{l:?}");
            prop_assert!(l.rate > Decimal::ZERO && l.rate <= Decimal::ONE, "{l:?}");
            prop_assert!(l.amount >= Decimal::ZERO, "{l:?}");
            prop_assert_eq!(l.amount.scale(), 2);
            // One rounding per line, except the UK's HMRC rounding points: taxable pay in whole
            // pounds (PAYE), NICs rounded per period total with and without the payment.
            let tolerance = match l.kind {
                TaxKind::Paye => d("1"),
                TaxKind::EmployeeNic | TaxKind::EmployerNic => d("0.02"),
                _ => d("0.005000000001"),
            };
            prop_assert!((l.amount - l.base * l.rate).abs() <= tolerance, "{l:?}");
            prop_assert!(!l.source.is_empty());
        }
        prop_assert!(out.employee_total() <= gross, "{} > {gross}", out.employee_total());
    }

    /// Paying a + b at once or as a then b (wages updated in between) taxes the same bases
    /// at the same rates, so each line differs only by its own rounding.
    #[test]
    fn splitting_a_payment_changes_nothing_but_rounding(
        j in jurisdiction(), day in payment_date(), w in wages_strategy(), a in amount(), b in amount(),
    ) {
        let r = rules();
        let one = withhold(&r, &j, day, &w, a + b).expect("valid");
        let first = withhold(&r, &j, day, &w, a).expect("valid");
        let after = Wages {
            year_to_date: w.year_to_date + a,
            supplemental_year_to_date: w.supplemental_year_to_date + a,
            period_to_date: w.period_to_date + a,
        };
        let second = withhold(&r, &j, day, &after, b).expect("valid");
        let (whole, split) = (by_key(&[&one]), by_key(&[&first, &second]));
        prop_assert_eq!(whole.keys().collect::<Vec<_>>(), split.keys().collect::<Vec<_>>());
        for (key, (base, amount, n)) in &whole {
            let (split_base, split_amount, split_n) = split[key];
            // Bases agree up to the last digit of a division by 12 (UK).
            prop_assert!((split_base - base).abs() < d("0.000000000000000001"), "{key:?}: {split_base} vs {base}");
            // Each line is within half a cent of its exact value.
            let tolerance = Decimal::new(5, 3) * Decimal::from(n + split_n);
            prop_assert!((split_amount - amount).abs() <= tolerance, "{key:?}: {split_amount} vs {amount}");
        }
    }

    /// Federal lines against a direct formula for the 22% / 37% split.
    #[test]
    fn federal_matches_the_reference(w in wages_strategy(), gross in amount(), day in payment_date()) {
        let out = withhold(&rules(), &us(None), day, &w, gross).expect("valid");
        let exact: Decimal = out.lines_of(TaxKind::FederalIncome).map(|l| l.base * l.rate).sum();
        prop_assert_eq!(exact, federal_reference(w.supplemental_year_to_date, gross));
    }

    /// PAYE lines against HMRC's cumulative formula written out directly.
    #[test]
    fn paye_matches_the_reference(w in wages_strategy(), gross in amount(), day in payment_date()) {
        let out = withhold(&rules(), &uk(), day, &w, gross).expect("valid");
        let month = tokencomp_core::period::uk_tax_month(day).1;
        let total: Decimal = out.lines_of(TaxKind::Paye).map(|l| l.amount).sum();
        prop_assert_eq!(total, paye_reference(month, w.year_to_date, gross));
    }
}
