//! Withholding goldens worked by hand (each citing its rule) and the calculator's invariants.

use std::collections::BTreeMap;
use std::str::FromStr;

use Payer::{Employee as EE, Employer as ER};
use jiff::civil::{Date, date};
use proptest::prelude::*;
use tokencomp_compliance::rules::{FlatRule, Rules};
use tokencomp_compliance::withholding::{Jurisdiction, Payer, TaxKind, Wages, Withholding, WithholdingError, withhold};
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
    // above 200,000 → the whole vest pays Additional Medicare: 100,000 × 0.9% = 900.00.
    // Medicare 100,000 × 1.45% = 1,450.00 each side; FUTA's 7,000 is long used up.
    let w =
        withhold(&rules(), &us(None), date(2026, 3, 15), &wages("1100000", "950000", "0"), d("100000")).expect("valid");
    assert_eq!(
        table(&w),
        [
            row(TaxKind::FederalIncome, EE, "50000", "0.22", "11000.00"),
            row(TaxKind::FederalIncome, EE, "50000", "0.37", "18500.00"),
            row(TaxKind::Medicare, EE, "100000", "0.0145", "1450.00"),
            row(TaxKind::Medicare, ER, "100000", "0.0145", "1450.00"),
            row(TaxKind::AdditionalMedicare, EE, "100000", "0.009", "900.00"),
        ]
    );
    // 11,000 + 18,500 + 1,450 + 900 = 31,850.00 withheld; the employer adds 1,450.00.
    assert_eq!(w.employee_total(), d("31850.00"));
    assert_eq!(w.employer_total(), d("1450.00"));
    assert_eq!(w.amount_of(TaxKind::FederalIncome, EE), d("29500.00"));
    assert_eq!(w.lines_of(TaxKind::FederalIncome).count(), 2);
    assert!(w.lines[0].source.contains("31.3402(g)-1"));
}

#[test]
fn social_security_stops_at_the_wage_base_mid_year() {
    // IRC 3121(a)(1), docs/tax-rules.md#fica table: 2026 wage base 184,500. YTD 180,000, vest
    // 10,000: only 184,500 − 180,000 = 4,500 is taxed, 4,500 × 6.2% = 279.00 on each side.
    // Federal 10,000 × 22% = 2,200.00 (no supplemental wages before); Medicare 10,000 × 1.45% =
    // 145.00 each side; 190,000 ≤ 200,000 so no Additional Medicare; FUTA used up.
    let w = withhold(&rules(), &us(None), date(2026, 11, 20), &wages("180000", "0", "0"), d("10000")).expect("valid");
    assert_eq!(
        table(&w),
        [
            row(TaxKind::FederalIncome, EE, "10000", "0.22", "2200.00"),
            row(TaxKind::SocialSecurity, EE, "4500", "0.062", "279.00"),
            row(TaxKind::SocialSecurity, ER, "4500", "0.062", "279.00"),
            row(TaxKind::Medicare, EE, "10000", "0.0145", "145.00"),
            row(TaxKind::Medicare, ER, "10000", "0.0145", "145.00"),
        ]
    );
    // 2,200 + 279 + 145 = 2,624.00 withheld; 279 + 145 = 424.00 from the employer.
    assert_eq!(w.employee_total(), d("2624.00"));
    assert_eq!(w.employer_total(), d("424.00"));

    // The next vest finds the base used up: no Social Security line at all.
    let next =
        withhold(&rules(), &us(None), date(2026, 12, 1), &wages("190000", "10000", "0"), d("5000")).expect("valid");
    assert_eq!(next.lines_of(TaxKind::SocialSecurity).count(), 0);
}

#[test]
fn additional_medicare_starts_inside_one_payment() {
    // IRC 3101(b)(2), 3102(f): 0.9% employee-only on wages above 200,000 in the year.
    // 2025: YTD 150,000, vest 80,000 → year wages 230,000; 230,000 − 200,000 = 30,000 taxed:
    // 30,000 × 0.9% = 270.00. SS (2025 base 176,100): 176,100 − 150,000 = 26,100 × 6.2% =
    // 1,618.20 each side. Federal 80,000 × 22% = 17,600.00. Medicare 80,000 × 1.45% = 1,160.00.
    let w = withhold(&rules(), &us(None), date(2025, 9, 1), &wages("150000", "0", "0"), d("80000")).expect("valid");
    assert_eq!(
        table(&w),
        [
            row(TaxKind::FederalIncome, EE, "80000", "0.22", "17600.00"),
            row(TaxKind::SocialSecurity, EE, "26100", "0.062", "1618.20"),
            row(TaxKind::SocialSecurity, ER, "26100", "0.062", "1618.20"),
            row(TaxKind::Medicare, EE, "80000", "0.0145", "1160.00"),
            row(TaxKind::Medicare, ER, "80000", "0.0145", "1160.00"),
            row(TaxKind::AdditionalMedicare, EE, "30000", "0.009", "270.00"),
        ]
    );
    // 17,600 + 1,618.20 + 1,160 + 270 = 20,648.20; employer 1,618.20 + 1,160 = 2,778.20.
    assert_eq!(w.employee_total(), d("20648.20"));
    assert_eq!(w.employer_total(), d("2778.20"));
    assert_eq!(w.lines_of(TaxKind::AdditionalMedicare).map(|l| l.payer).collect::<Vec<_>>(), [EE]);
}

#[test]
fn california_supplemental_rate() {
    // California EDD, DE 44: stock options and bonuses 10.23%.
    // 12,345.67 × 10.23% = 1,262.962041 → 1,262.96 (rounded once, per tax line).
    // Federal 12,345.67 × 22% = 2,716.0474 → 2,716.05.
    let w = withhold(&rules(), &us(Some("CA")), date(2026, 6, 1), &wages("300000", "100000", "0"), d("12345.67"))
        .expect("valid");
    let state: Vec<_> = w.lines_of(TaxKind::StateIncome).collect();
    assert_eq!(state.len(), 1);
    assert_eq!((state[0].base, state[0].rate, state[0].amount), (d("12345.67"), d("0.1023"), d("1262.96")));
    assert!(state[0].source.contains("DE 44"), "{}", state[0].source);
    assert_eq!(w.amount_of(TaxKind::FederalIncome, EE), d("2716.05"));

    // Postal codes are case-insensitive; a state without income tax gives no state line; no
    // state at all gives none either.
    let lower = withhold(&rules(), &us(Some("ca")), date(2026, 6, 1), &wages("0", "0", "0"), d("100")).expect("valid");
    assert_eq!(lower.amount_of(TaxKind::StateIncome, EE), d("10.23"));
    for j in [us(Some("TX")), us(Some("WA")), us(None)] {
        let w = withhold(&rules(), &j, date(2026, 6, 1), &wages("0", "0", "0"), d("100")).expect("valid");
        assert_eq!(w.lines_of(TaxKind::StateIncome).count(), 0, "{j:?}");
    }
}

#[test]
fn futa_stops_at_7000() {
    // IRC 3306(b)(1), 3301/3302: 0.6% (6.0% less the full 5.4% state credit) on the first
    // 7,000 of the year's wages. YTD 5,000, payment 3,000: 2,000 × 0.6% = 12.00.
    let w = withhold(&rules(), &us(None), date(2024, 2, 1), &wages("5000", "0", "0"), d("3000")).expect("valid");
    let futa: Vec<_> = w.lines_of(TaxKind::Futa).collect();
    assert_eq!(futa.len(), 1);
    assert_eq!((futa[0].payer, futa[0].base, futa[0].amount), (ER, d("2000"), d("12.00")));
    // The next payment starts at 8,000: nothing left under 7,000, no FUTA line.
    let next = withhold(&rules(), &us(None), date(2024, 3, 1), &wages("8000", "3000", "0"), d("3000")).expect("valid");
    assert_eq!(next.lines_of(TaxKind::Futa).count(), 0);
    // Its employer lines are Social Security 3,000 × 6.2% = 186.00 and Medicare 3,000 × 1.45%
    // = 43.50: 229.50, no FUTA.
    assert_eq!(next.employer_total(), d("229.50"));
}

#[test]
fn uk_paye_and_nics_on_a_vest_with_salary_already_in_the_month() {
    // ITEPA 2003 Part 11 / PAYE Regulations (cumulative basis), tax code 1257L, 2025-26
    // (HMRC "Rates and thresholds for employers 2025 to 2026"); docs/tax-rules.md#earnings-and-paye.
    // Vest on 15 July 2025: tax month 4 (6 July – 5 August). Salary 3,000 a month, months 1-4
    // paid, so YTD = 12,000 and the month already holds 3,000. Vest gross 10,000.
    //
    // PAYE, cumulative to month 4:
    //   allowance 12,570 × 4/12 = 4,190; basic band 37,700 × 4/12 = 12,566.666…
    //   taxable before: 12,000 − 4,190 = 7,810; after: 22,000 − 4,190 = 17,810
    //   20% on 12,566.666… − 7,810 = 4,756.666… → 951.333… → 951.33
    //   40% on 17,810 − 12,566.666… = 5,243.333… → 2,097.333… → 2,097.33
    //   (check: tax(17,810) − tax(7,810) = 2,513.333 + 2,097.333 − 1,562 = 3,048.67 unrounded)
    // Employee Class 1 NICs for the month (SSCBA 1992 s8), monthly thresholds = annual / 12:
    //   PT 12,570/12 = 1,047.50; UEL 50,270/12 = 4,189.166…; month earnings 3,000 → 13,000
    //   8% on 4,189.166… − 3,000 = 1,189.166… → 95.133… → 95.13
    //   2% on 13,000 − 4,189.166… = 8,810.833… → 176.216… → 176.22
    // Employer (s9): secondary threshold 5,000/12 = 416.67, already passed by the salary:
    //   15% × 10,000 = 1,500.00
    let w = withhold(&rules(), &Jurisdiction::Uk, date(2025, 7, 15), &wages("12000", "0", "3000"), d("10000"))
        .expect("valid");
    assert_eq!(
        table(&w),
        [
            row(TaxKind::Paye, EE, "4756.66666667", "0.2", "951.33"),
            row(TaxKind::Paye, EE, "5243.33333333", "0.4", "2097.33"),
            row(TaxKind::EmployeeNic, EE, "1189.16666667", "0.08", "95.13"),
            row(TaxKind::EmployeeNic, EE, "8810.83333333", "0.02", "176.22"),
            row(TaxKind::EmployerNic, ER, "10000", "0.15", "1500.00"),
        ]
    );
    // 951.33 + 2,097.33 + 95.13 + 176.22 = 3,320.01 withheld; employer 1,500.00.
    assert_eq!(w.employee_total(), d("3320.01"));
    assert_eq!(w.employer_total(), d("1500.00"));
}

#[test]
fn uk_last_month_of_2024_25_uses_the_old_employer_rate() {
    // 5 April 2025 is month 12 of 2024-25 (HMRC rates 2024 to 2025: employer 13.8% above
    // 9,100 a year). A first payment of 1,000 in the month, nothing earlier in the year:
    //   PAYE: taxable 1,000 − 12,570 × 12/12 < 0 → none. Employee NIC: 1,000 < 1,047.50 → none.
    //   Employer: (1,000 − 9,100/12) × 13.8% = 241.666… × 13.8% = 33.35.
    let w = withhold(&rules(), &Jurisdiction::Uk, date(2025, 4, 5), &wages("0", "0", "0"), d("1000")).expect("valid");
    assert_eq!(table(&w), [row(TaxKind::EmployerNic, ER, "241.66666667", "0.138", "33.35")]);
    // The next day is month 1 of 2025-26: 15% above 5,000/12 = 416.666…: 583.333… × 15% = 87.50.
    let w = withhold(&rules(), &Jurisdiction::Uk, date(2025, 4, 6), &wages("0", "0", "0"), d("1000")).expect("valid");
    assert_eq!(w.amount_of(TaxKind::EmployerNic, ER), d("87.50"));
    // Month 1 allowance is 12,570/12 = 1,047.50: PAYE 20% on 1,000 − 1,047.50 < 0 → none.
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
    for j in [us(Some("CA")), Jurisdiction::Uk, Jurisdiction::Flat { country: "DE".to_owned() }] {
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
    let err = withhold(&r, &Jurisdiction::Uk, date(2027, 4, 6), &Wages::default(), d("100"))
        .expect_err("must be refused")
        .to_string();
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
    let err = withhold(&r, &Jurisdiction::Uk, date(2026, 1, 15), &wages("10", "0", "20"), d("1"))
        .expect_err("must be refused");
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
        Just(Jurisdiction::Uk),
        Just(Jurisdiction::Uk),
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

/// Reference for UK PAYE: the whole-year band tax applied to cumulative taxable pay with
/// limits scaled by m/12 (divisions done directly, as a person would on paper).
fn paye_reference(month: i8, ytd: Decimal, gross: Decimal) -> Decimal {
    let m = Decimal::from(month) / Decimal::from(12);
    let (allowance, basic, higher) = (d("12570") * m, d("37700") * m, d("125140") * m);
    let tax = |pay: Decimal| {
        let t = (pay - allowance).max(Decimal::ZERO);
        t.min(basic) * d("0.2")
            + (t.min(higher) - basic).max(Decimal::ZERO) * d("0.4")
            + (t - higher).max(Decimal::ZERO) * d("0.45")
    };
    tax(ytd + gross) - tax(ytd)
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
            prop_assert!((l.amount - l.base * l.rate).abs() <= d("0.005000000001"), "{l:?}");
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

    /// PAYE lines against the cumulative formula computed with direct divisions by 12.
    #[test]
    fn paye_matches_the_reference(w in wages_strategy(), gross in amount(), day in payment_date()) {
        let out = withhold(&rules(), &Jurisdiction::Uk, day, &w, gross).expect("valid");
        let month = tokencomp_core::period::uk_tax_month(day).1;
        let exact: Decimal = out.lines_of(TaxKind::Paye).map(|l| l.base * l.rate).sum();
        let reference = paye_reference(month, w.year_to_date, gross);
        prop_assert!((exact - reference).abs() < d("0.00000000001"), "{exact} vs {reference}");
    }
}
