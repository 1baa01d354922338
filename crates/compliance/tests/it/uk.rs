//! UK goldens, derived step by step from HMRC's documents: PAYE for every kind of tax code
//! (HMRC, Specification for PAYE Tax Table Routines v23.0: 4.3 pay adjustment, 4.4 tax due,
//! 4.5 overriding limit; "Rates and thresholds for employers" of each year for the bands),
//! Class 1 NICs per category letter (monthly thresholds PT 1,048, UEL 4,189, ST 758 in 2024-25
//! and 417 from 2025-26; SS(C)R 2001 reg 12 rounding), and student and postgraduate loans.
//! Free pay of code 1257L per month: 2 × 416.67 + (2,579 / 12 = 214.916… ↑ 214.92) = 1,048.26.

use std::str::FromStr;

use Payer::{Employee as EE, Employer as ER};
use jiff::civil::{Date, date};
use tokencomp_compliance::rules::{Rules, Source};
use tokencomp_compliance::uk::paye::tax_due_to_date;
use tokencomp_compliance::uk::rules::{Band, Bands};
use tokencomp_compliance::withholding::{Jurisdiction, Payer, TaxKind, Wages, Withholding, withhold};
use tokencomp_core::tax_profile::{LoanPlan, TaxCode, UkProfile, UkRegion};
use tokencomp_money::{Decimal, PRICE_ROUNDING};

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("valid")
}

fn profile(code: &str, letter: char, loans: &[LoanPlan]) -> Jurisdiction {
    let tax_code = TaxCode::from_str(code).expect("code");
    Jurisdiction::Uk { profile: UkProfile { tax_code, ni_category: letter, loans: loans.to_vec() } }
}

fn code(c: &str) -> Jurisdiction {
    profile(c, 'A', &[])
}

fn pay(j: &Jurisdiction, on: Date, ytd: &str, period: &str, gross: &str) -> Withholding {
    let wages = Wages { year_to_date: d(ytd), supplemental_year_to_date: Decimal::ZERO, period_to_date: d(period) };
    withhold(&Rules::builtin().expect("rules"), j, on, &wages, d(gross)).expect("valid")
}

/// (kind, payer, base to 8 places, rate, amount) of every line of `kind`s.
fn rows(w: &Withholding, kinds: &[TaxKind]) -> Vec<(TaxKind, Payer, String, String, String)> {
    w.lines
        .iter()
        .filter(|l| kinds.contains(&l.kind))
        .map(|l| {
            let base = PRICE_ROUNDING.apply(l.base).normalize().to_string();
            (l.kind, l.payer, base, l.rate.normalize().to_string(), l.amount.to_string())
        })
        .collect()
}

fn row(kind: TaxKind, payer: Payer, base: &str, rate: &str, amount: &str) -> (TaxKind, Payer, String, String, String) {
    (kind, payer, base.to_owned(), rate.to_owned(), amount.to_owned())
}

const PAYE: &[TaxKind] = &[TaxKind::Paye];
const NIC: &[TaxKind] = &[TaxKind::EmployeeNic, TaxKind::EmployerNic];
const LOANS: &[TaxKind] = &[TaxKind::StudentLoan, TaxKind::PostgraduateLoan];

#[test]
fn hmrc_test_data_2009_10_suffix_and_k_codes() {
    // HMRC, Notes for payroll software developers, Annex B "Test Data – 2009-2010" (monthly
    // rows), with that year's bands: 20% on the first 37,400 of taxable pay, 40% above.
    let bands = Bands {
        bands: vec![
            Band { name: "basic".into(), rate: d("0.2"), to: Some(d("37400")) },
            Band { name: "higher".into(), rate: d("0.4"), to: None },
        ],
        basic: 0,
        source: Source::from("HMRC test data 2009-10"),
    };
    let due = |c: &str, month: i8, pay: &str| tax_due_to_date(&c.parse().expect("code"), &bands, month, d(pay));
    // 560T month 3: pay adjustment 3 × (416.67 + 609/12 ↑ 50.75) = 1,402.26; taxable
    // 2,750.00 − 1,402.26 = 1,347.74 → 1,347 × 20% = 269.40.
    assert_eq!(due("560T", 3, "2750.00"), Ok(d("269.40")));
    // 560T month 10: 21,287.75 − 4,674.20 = 16,613.55 → 16,613 × 20% = 3,322.60.
    assert_eq!(due("560T", 10, "21287.75"), Ok(d("3322.60")));
    // K255 month 5: additional pay 5 × (2,559/12 ↑ 213.25) = 1,066.25; 7,089.91 → 7,089 × 20%
    // = 1,417.80.
    assert_eq!(due("K255", 5, "6023.66"), Ok(d("1417.80")));
    // K255 month 8: 32,799.98 + 1,706.00 = 34,505.98 → 34,505; band 37,400 × 8/12 =
    // 24,933.33…: 4,986.666… + (34,505 − 24,933.333…) × 40% = 8,815.333… → 8,815.33.
    assert_eq!(due("K255", 8, "32799.98"), Ok(d("8815.33")));
}

#[test]
fn code_1257l_cumulative_in_each_year() {
    // Month 1, first pay of the year 5,000: taxable 5,000 − 1,048.26 = 3,951.74 → 3,951; basic
    // band to date 37,700 / 12 = 3,141.666…, 3,951.74 above 3,142 → higher band:
    // 628.333… + (3,951 − 3,141.666…) × 40% = 628.333… + 323.733… = 952.066… → 952.06;
    // lines 628.33 and 952.06 − 628.33 = 323.73.
    // NICs (category A): (4,189 − 1,048) × 8% = 251.28; (5,000 − 4,189) × 2% = 16.22.
    // Employer: 2024-25 (5,000 − 758) × 13.8% = 585.396 → 585.40; 2025-26 and 2026-27
    // (5,000 − 417) × 15% = 687.45.
    for (year, er_rate, er_base, er) in
        [(2024, "0.138", "4242", "585.40"), (2025, "0.15", "4583", "687.45"), (2026, "0.15", "4583", "687.45")]
    {
        let w = pay(&code("1257L"), date(year, 4, 20), "0", "0", "5000");
        assert_eq!(
            rows(&w, &[TaxKind::Paye, TaxKind::EmployeeNic, TaxKind::EmployerNic]),
            [
                row(TaxKind::Paye, EE, "3141.66666667", "0.2", "628.33"),
                row(TaxKind::Paye, EE, "810.07333333", "0.4", "323.73"),
                row(TaxKind::EmployeeNic, EE, "3141", "0.08", "251.28"),
                row(TaxKind::EmployeeNic, EE, "811", "0.02", "16.22"),
                row(TaxKind::EmployerNic, ER, er_base, er_rate, er),
            ],
            "{year}"
        );
    }
}

#[test]
fn scottish_and_welsh_codes_use_their_own_bands() {
    // S1257L, 2025-26 Scottish bands in taxable pay (starter to 2,827, basic to 14,921,
    // intermediate to 31,092, higher to 62,430), month 1, first pay 5,000:
    // taxable 3,951.74 → 3,951; limits / 12: 235.583…, 1,243.416…, 2,591, 5,202.5 →
    // higher band (3,951.74 ≤ 5,203). Tax of the full bands: 235.583… × 19% = 44.760…;
    // + 1,007.833… × 20% = 246.327…; + 1,347.583… × 21% = 529.32; tax due 529.32 +
    // (3,951 − 2,591) × 42% = 1,100.52. Lines: 44.76; 246.32 − 44.76 = 201.56;
    // 529.32 − 246.32 = 283.00; 1,100.52 − 529.32 = 571.20.
    let w = pay(&code("S1257L"), date(2025, 4, 20), "0", "0", "5000");
    assert_eq!(
        rows(&w, PAYE),
        [
            row(TaxKind::Paye, EE, "235.58333333", "0.19", "44.76"),
            row(TaxKind::Paye, EE, "1007.83333333", "0.2", "201.56"),
            row(TaxKind::Paye, EE, "1347.58333333", "0.21", "283.00"),
            row(TaxKind::Paye, EE, "1360.74", "0.42", "571.20"),
        ]
    );
    // 2024-25 Scottish bands (starter to 2,306): month 1, pay 1,500 → taxable 451.74 → 451;
    // starter 2,306 / 12 = 192.166…: 36.511… + (451 − 192.166…) × 20% = 36.511… + 51.766…
    // = 88.278… → 88.27; lines 36.51 and 51.76.
    let w = pay(&code("S1257L"), date(2024, 4, 20), "0", "0", "1500");
    assert_eq!(
        rows(&w, PAYE),
        [
            row(TaxKind::Paye, EE, "192.16666667", "0.19", "36.51"),
            row(TaxKind::Paye, EE, "259.57333333", "0.2", "51.76"),
        ]
    );
    // C1257L: the Welsh rates equal the rest of the UK's (HMRC rates 2025 to 2026, Wales).
    let welsh = pay(&code("C1257L"), date(2025, 4, 20), "0", "0", "5000");
    let english = pay(&code("1257L"), date(2025, 4, 20), "0", "0", "5000");
    assert_eq!(rows(&welsh, PAYE), rows(&english, PAYE));
    assert!(welsh.lines[0].source.contains("Wales"), "{}", welsh.lines[0].source);
}

#[test]
fn scottish_and_welsh_codes_in_2026_27() {
    // Scottish Rate Resolution 2026-27 (Scottish Parliament motion S6M-20844, paragraphs (a) to
    // (f)), limits on income above the personal allowance: starter 19% to 3,967, basic 20% to
    // 16,956, intermediate 21% to 31,092, higher 42% to 62,430, advanced 45% to 125,140, top 48%.
    // (The Government's press release gave the gross thresholds "£16,537 and £29,526"; with the
    // £12,570 allowance the resolution's 3,967 and 16,956 are the last pounds of the starter and
    // basic bands, i.e. basic from £16,538 and intermediate from £29,527 gross.)
    //
    // S1257L, month 1, first pay 5,000: taxable 5,000 − 1,048.26 = 3,951.74 → 3,951; limits / 12:
    // 330.583…, 1,413, 2,591, 5,202.5 → higher band (3,951.74 ≤ 5,203). Tax of the full bands:
    // 330.583… × 19% = 62.810…; + 1,082.416… × 20% = 216.483… → 279.294…; + 1,178 × 21% = 247.38
    // → 526.674…; tax due 526.674… + (3,951 − 2,591) × 42% = 526.674… + 571.20 = 1,097.874… →
    // 1,097.87. Truncated partial sums 62.81, 279.29, 526.67, 1,097.87, so the lines are 62.81;
    // 279.29 − 62.81 = 216.48; 526.67 − 279.29 = 247.38; 1,097.87 − 526.67 = 571.20.
    let w = pay(&code("S1257L"), date(2026, 4, 20), "0", "0", "5000");
    assert_eq!(
        rows(&w, PAYE),
        [
            row(TaxKind::Paye, EE, "330.58333333", "0.19", "62.81"),
            row(TaxKind::Paye, EE, "1082.41666667", "0.2", "216.48"),
            row(TaxKind::Paye, EE, "1178", "0.21", "247.38"),
            row(TaxKind::Paye, EE, "1360.74", "0.42", "571.20"),
        ]
    );
    assert!(w.lines[0].source.contains("S6M-20844"), "{}", w.lines[0].source);
    // SD codes tax every pound at one band after basic (SD0 intermediate 21%, SD1 higher 42%,
    // SD2 advanced 45%, SD3 top 48%): SD1, 1,000.99 → 1,000 × 42% = 420.00.
    let w = pay(&code("SD1"), date(2026, 4, 20), "0", "0", "1000.99");
    assert_eq!(rows(&w, PAYE), [row(TaxKind::Paye, EE, "1000.99", "0.42", "420.00")]);

    // The worked examples Deloitte published on the draft budget (BBC News, "Scottish Budget
    // 2026/27: What could you be paying in tax?", January 2026), on a whole year's taxable
    // income (code S0T, month 12: no free pay, limits × 12 / 12 are the annual limits):
    // £16,000 salary, 3,430 taxable: 3,430 × 19% = 651.70. £33,000 salary, 20,430 taxable:
    // 3,967 × 19% = 753.73; (16,956 − 3,967) × 20% = 2,597.80; (20,430 − 16,956) × 21% =
    // 729.54; total 4,081.07.
    let rules = Rules::builtin().expect("rules");
    let uk = rules.uk_rules();
    let bands = uk.year(2026).expect("2026-27").bands(UkRegion::Scotland, uk.file()).expect("bands");
    let s0t: TaxCode = "S0T".parse().expect("code");
    assert_eq!(tax_due_to_date(&s0t, bands, 12, d("3430")), Ok(d("651.70")));
    assert_eq!(tax_due_to_date(&s0t, bands, 12, d("20430")), Ok(d("4081.07")));

    // C1257L in 2026-27: the Welsh Rate Resolution 2026-27 (Senedd motion NDM9117) keeps the
    // Welsh rate at 10p in each band, so 20%, 40%, 45% on the UK limits (37,700 and 125,140),
    // the same as 1257L: month 1, first pay 5,000 → 628.33 and 323.73 (see
    // code_1257l_cumulative_in_each_year), from the Welsh table.
    let welsh = pay(&code("C1257L"), date(2026, 4, 20), "0", "0", "5000");
    assert_eq!(
        rows(&welsh, PAYE),
        [
            row(TaxKind::Paye, EE, "3141.66666667", "0.2", "628.33"),
            row(TaxKind::Paye, EE, "810.07333333", "0.4", "323.73"),
        ]
    );
    assert!(welsh.lines[0].source.contains("NDM9117"), "{}", welsh.lines[0].source);
}

#[test]
fn k_code_overriding_limit_binds() {
    // K475, month 1 of 2025-26, first pay 200: additional pay 4,759 / 12 = 396.583… ↑ 396.59;
    // taxable 596.59 → 596 × 20% = 119.20; the overriding limit is 50% of the period's pay,
    // 100.00, so 100.00 is deducted.
    let w = pay(&code("K475"), date(2025, 4, 20), "0", "0", "200");
    assert_eq!(rows(&w, PAYE), [row(TaxKind::Paye, EE, "200", "0.2", "100.00")]);
    // With 1,000 of pay the limit (500.00) does not bind: 1,396.59 → 1,396 × 20% = 279.20.
    let w = pay(&code("K475"), date(2025, 4, 20), "0", "0", "1000");
    assert_eq!(w.amount_of(TaxKind::Paye, EE), d("279.20"));
    // Month 2, salary 200 already paid this month (and 200 in month 1, taxed at the limit):
    // tax due at the end of month 1: 119.20; to date now 400 + 793.18 = 1,193.18 → 1,193 ×
    // 20% = 238.60, so 119.40 for the month before the vest, limited to 100.00. With a vest of
    // 300: 700 + 793.18 = 1,493.18 → 298.60, 179.40 for the month, limit 50% × 500 = 250.00,
    // so 179.40 is due: the vest's tax is 179.40 − 100.00 = 79.40.
    let w = pay(&code("K475"), date(2025, 5, 20), "400", "200", "300");
    assert_eq!(w.amount_of(TaxKind::Paye, EE), d("79.40"));
}

#[test]
fn flat_codes_br_d0_sd3_and_nt() {
    // BR, cumulative, month 3 of 2025-26: pay to date 2,000.50 → 2,000 × 20% = 400.00; with a
    // payment of 1,000: 3,000.50 → 3,000 × 20% = 600.00 → 200.00.
    let w = pay(&code("BR"), date(2025, 6, 20), "2000.50", "0", "1000");
    assert_eq!(rows(&w, PAYE), [row(TaxKind::Paye, EE, "1000", "0.2", "200.00")]);
    // D0: every pound at the higher rate: 1,000.99 → 1,000 × 40% = 400.00.
    let w = pay(&code("D0"), date(2025, 4, 20), "0", "0", "1000.99");
    assert_eq!(rows(&w, PAYE), [row(TaxKind::Paye, EE, "1000.99", "0.4", "400.00")]);
    // SD3: the Scottish top rate, 48%: 1,000 × 48% = 480.00 (2024-25 and 2025-26).
    for year in [2024, 2025] {
        let w = pay(&code("SD3"), date(year, 4, 20), "0", "0", "1000");
        assert_eq!(rows(&w, PAYE), [row(TaxKind::Paye, EE, "1000", "0.48", "480.00")], "{year}");
    }
    // NT: no tax, but NICs still apply: (1,500 − 1,048) × 8% = 36.16.
    let w = pay(&code("NT"), date(2025, 4, 20), "0", "0", "1500");
    assert_eq!(rows(&w, PAYE), []);
    assert_eq!(w.amount_of(TaxKind::EmployeeNic, EE), d("36.16"));
}

#[test]
fn zero_t_month_1_and_a_code_change_to_week1_month1() {
    // 0T M1 (HMRC's default when nothing is on file), month 6 of 2025-26, 3,000 already paid
    // this month: each month alone, no free pay, the basic band for one month 3,141.666…:
    // before 3,000 × 20% = 600.00; after 4,000: 628.333… + 858.333… × 40% = 971.666… → 971.66.
    // Lines: 628.33 − 600.00 = 28.33 on 141.666…; 971.66 − 628.33 = 343.33 on 858.333….
    let w = pay(&Jurisdiction::Uk { profile: UkProfile::default() }, date(2025, 9, 20), "18000", "3000", "1000");
    assert_eq!(
        rows(&w, PAYE),
        [
            row(TaxKind::Paye, EE, "141.66666667", "0.2", "28.33"),
            row(TaxKind::Paye, EE, "858.33333333", "0.4", "343.33"),
        ]
    );
    // The same month after HMRC changes the code to 1257L M1: the month alone with one
    // month's free pay: 3,000 − 1,048.26 = 1,951.74 → 390.20; 2,951.74 → 590.20 → 200.00.
    let w = pay(&code("1257L M1"), date(2025, 9, 20), "18000", "3000", "1000");
    assert_eq!(w.amount_of(TaxKind::Paye, EE), d("200.00"));
    // Cumulative 1257L instead, on the year's pay: free pay 6 × 1,048.26 = 6,289.56, basic band
    // to date 37,700 × 6/12 = 18,850. With 24,500 to date: 18,210.44 → 18,210 × 20% =
    // 3,642.00; with the payment 19,210.44 → 19,210: 3,770 + 360 × 40% = 3,914.00 → 272.00.
    let w = pay(&code("1257L"), date(2025, 9, 20), "24500", "3000", "1000");
    assert_eq!(w.amount_of(TaxKind::Paye, EE), d("272.00"));
}

#[test]
fn nic_by_category_letter() {
    // Month 1 of 2025-26, 3,000 already earned this month, payment 2,000 (5,000 in all);
    // PT 1,048, UEL 4,189, ST 417, UST/AUST 4,189 (HMRC rates 2025 to 2026).
    let on = date(2025, 4, 20);
    let nic = |letter| rows(&pay(&profile("1257L", letter, &[]), on, "3000", "3000", "2000"), NIC);
    // A: employee (4,189 − 3,000) × 8% = 95.12 and (5,000 − 4,189) × 2% = 16.22; employer
    // 2,000 × 15% = 300.00.
    let a = [
        row(TaxKind::EmployeeNic, EE, "1189", "0.08", "95.12"),
        row(TaxKind::EmployeeNic, EE, "811", "0.02", "16.22"),
        row(TaxKind::EmployerNic, ER, "2000", "0.15", "300.00"),
    ];
    assert_eq!(nic('A'), a);
    // C (over State Pension age): no employee contributions; employer as A.
    assert_eq!(nic('C'), [row(TaxKind::EmployerNic, ER, "2000", "0.15", "300.00")]);
    // H and M: employer 0% up to 4,189, 15% above: 811 × 15% = 121.65.
    for letter in ['H', 'M'] {
        assert_eq!(nic(letter), [a[0].clone(), a[1].clone(), row(TaxKind::EmployerNic, ER, "811", "0.15", "121.65")]);
    }
    // Z: employee 2% from the PT up: 3,952 × 2% − 1,952 × 2% = 79.04 − 39.04 = 40.00.
    assert_eq!(
        nic('Z'),
        [
            row(TaxKind::EmployeeNic, EE, "2000", "0.02", "40.00"),
            row(TaxKind::EmployerNic, ER, "811", "0.15", "121.65"),
        ]
    );
    // B (reduced rate 1.85%): before 1,952 × 1.85% = 36.112 → 36.11; after 3,141 × 1.85% =
    // 58.1085 → 58.11 (more than half a penny rounds up), + 16.22 = 74.3285 → 74.33.
    // Lines 58.11 − 36.11 = 22.00 and 74.33 − 58.11 = 16.22.
    assert_eq!(
        nic('B'),
        [
            row(TaxKind::EmployeeNic, EE, "1189", "0.0185", "22.00"),
            row(TaxKind::EmployeeNic, EE, "811", "0.02", "16.22"),
            row(TaxKind::EmployerNic, ER, "2000", "0.15", "300.00"),
        ]
    );
    // X: not liable, no lines.
    assert_eq!(nic('X'), []);
    // A letter this calculator does not have is refused by name.
    let wages = Wages::default();
    let err = withhold(&Rules::builtin().expect("rules"), &profile("1257L", 'V', &[]), on, &wages, d("100"))
        .expect_err("refused")
        .to_string();
    assert!(err.contains("category letter V"), "{err}");
}

#[test]
fn student_and_postgraduate_loans() {
    // Month 1 of 2025-26, 2,000 already earned this month, payment 1,000 (3,000 in all).
    // Monthly thresholds: annual / 12 truncated to the penny. Deductions: 9% (6% postgraduate)
    // of earnings above it, rounded down to whole pounds, with minus without the payment.
    let on = date(2025, 4, 20);
    let loans = |plans: &[LoanPlan], on| rows(&pay(&profile("1257L", 'A', plans), on, "2000", "2000", "1000"), LOANS);
    // Plan 1, 26,065 → 2,172.08: (3,000 − 2,172.08) × 9% = 74.51 → 74; before: nothing → 74.00.
    assert_eq!(loans(&[LoanPlan::Plan1], on), [row(TaxKind::StudentLoan, EE, "827.92", "0.09", "74.00")]);
    // Plan 2, 28,470 → 2,372.50: 627.50 × 9% = 56.475 → 56.00.
    assert_eq!(loans(&[LoanPlan::Plan2], on), [row(TaxKind::StudentLoan, EE, "627.5", "0.09", "56.00")]);
    // Plan 4, 32,745 → 2,728.75: 271.25 × 9% = 24.41 → 24.00.
    assert_eq!(loans(&[LoanPlan::Plan4], on), [row(TaxKind::StudentLoan, EE, "271.25", "0.09", "24.00")]);
    // Postgraduate, 21,000 → 1,750: before 250 × 6% = 15; after 1,250 × 6% = 75 → 60.00.
    assert_eq!(loans(&[LoanPlan::Postgraduate], on), [row(TaxKind::PostgraduateLoan, EE, "1000", "0.06", "60.00")]);
    // Plan 1 and Plan 2 with a postgraduate loan: one plan, the lowest threshold (Plan 1), and
    // the postgraduate loan in addition.
    assert_eq!(
        loans(&[LoanPlan::Plan1, LoanPlan::Plan2, LoanPlan::Postgraduate], on),
        [
            row(TaxKind::StudentLoan, EE, "827.92", "0.09", "74.00"),
            row(TaxKind::PostgraduateLoan, EE, "1000", "0.06", "60.00"),
        ]
    );
    // Plan 5 starts in 2026-27: 25,000 → 2,083.33: 916.67 × 9% = 82.50 → 82.00. In 2025-26
    // there is no Plan 5 threshold: refused, naming it.
    let on26 = date(2026, 4, 20);
    assert_eq!(loans(&[LoanPlan::Plan5], on26), [row(TaxKind::StudentLoan, EE, "916.67", "0.09", "82.00")]);
    // 2024-25 Plan 2, 27,295 → 2,274.58 (HMRC's published monthly figure): 725.42 × 9% =
    // 65.28 → 65.00.
    assert_eq!(
        loans(&[LoanPlan::Plan2], date(2024, 4, 20)),
        [row(TaxKind::StudentLoan, EE, "725.42", "0.09", "65.00")]
    );
    let wages = Wages::default();
    let err =
        withhold(&Rules::builtin().expect("rules"), &profile("1257L", 'A', &[LoanPlan::Plan5]), on, &wages, d("1"))
            .expect_err("refused")
            .to_string();
    assert!(err.contains("uk.2025.loans.plan5"), "{err}");
}

#[test]
fn a_tax_year_spans_two_calendar_years() {
    // 20 March 2026 is month 12 of 2025-26; 20 April 2026 is month 1 of 2026-27. Salary 3,000
    // a month, a payment of 2,000 in each.
    // March: free pay 12 × 1,048.26 = 12,579.12; 36,000 → 23,420.88 → 4,684.00; 38,000 →
    // 25,420.88 → 5,084.00 → 400.00 (basic band to date 37,700).
    let w = pay(&code("1257L"), date(2026, 3, 20), "36000", "3000", "2000");
    assert_eq!(w.amount_of(TaxKind::Paye, EE), d("400.00"));
    // April: the year starts again: 3,000 → 1,951.74 → 390.20; 5,000 → 3,951.74 → 3,951:
    // 628.333… + 809.333… × 40% = 952.066… → 952.06 → 561.86.
    let w = pay(&code("1257L"), date(2026, 4, 20), "3000", "3000", "2000");
    assert_eq!(w.amount_of(TaxKind::Paye, EE), d("561.86"));
}
