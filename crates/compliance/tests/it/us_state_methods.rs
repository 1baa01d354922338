//! US state income-tax methods beyond a flat rate: the annualised percentage method applied
//! by the aggregate rule (New Jersey by allowances, Mississippi by the certificate's exemption
//! amount, in whole dollars), a share of the federal withholding (Vermont) and a
//! county tax withheld with the state's (Indiana). Every amount is derived in the comment from
//! the document `us-states.toml` cites for it.

use std::str::FromStr;

use jiff::civil::date;
use tokencomp_compliance::rules::Rules;
use tokencomp_compliance::us_state::compute::annual_tax;
use tokencomp_compliance::us_state::{IncomeMethod, StateError, load};
use tokencomp_compliance::withholding::{Jurisdiction, TaxKind, Wages, WithholdingError, withhold_for};
use tokencomp_core::tax_profile::{Fields, FilingStatus, UsProfile};
use tokencomp_money::Decimal;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("valid")
}

fn profile(fields: &[(&str, &str)]) -> UsProfile {
    let f: Fields = fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    UsProfile::from_fields(&f).expect("valid profile")
}

/// The state income and local lines of a 15 June 2026 payment, as (kind name, amount).
fn income_lines(
    rules: &Rules,
    state: &str,
    profile: Option<&UsProfile>,
    wages: Wages,
    gross: &str,
) -> Result<Vec<(&'static str, String)>, WithholdingError> {
    let j = Jurisdiction::Us { state: Some(state.to_owned()) };
    let w = withhold_for(rules, &j, date(2026, 6, 15), &wages, d(gross), profile)?;
    Ok(w.lines
        .iter()
        .filter(|l| matches!(l.kind, TaxKind::StateIncome | TaxKind::LocalIncome))
        .map(|l| (l.kind.name(), l.amount.to_string()))
        .collect())
}

/// $50,000 of earlier wages, of which `month` in the payment's month.
fn wages(month: &str) -> Wages {
    Wages { year_to_date: d("50000"), supplemental_year_to_date: Decimal::ZERO, period_to_date: d(month) }
}

#[test]
fn new_jersey_schedules_reproduce_the_printed_addons() {
    // NJ-WT / Form NJ-W4, annual payroll period: the "amount of income tax withheld" column
    // is the tax of the brackets below; the brackets as shipped reproduce every printed figure.
    let rules = Rules::builtin().expect("valid").us_states().expect("shipped").clone();
    let nj = rules.year(2026).and_then(|y| y.states.get("NJ")).and_then(|s| s.income.as_ref()).expect("NJ 2026");
    let IncomeMethod::Percentage(method) = &nj.method else { panic!("NJ uses its percentage method") };
    let a = method.schedule(FilingStatus::Single);
    let b = method.schedule(FilingStatus::MarriedJoint);
    assert_eq!((a.name.as_str(), b.name.as_str()), ("A", "B"));
    assert_eq!(method.schedule(FilingStatus::MarriedSeparate).name, "A");
    assert_eq!(method.schedule(FilingStatus::HeadOfHousehold).name, "B");
    for (taxable, want) in [
        ("20000", "300"),
        ("35000", "600"),
        ("40000", "795"),
        ("75000", "2930"),
        ("500000", "32680"),
        ("1000000", "82180"),
    ] {
        assert_eq!(annual_tax(a, d(taxable)).normalize(), d(want), "Rate A at {taxable}");
    }
    for (taxable, want) in [
        ("20000", "300"),
        ("50000", "900"),
        ("70000", "1440"),
        ("80000", "1830"),
        ("150000", "6100"),
        ("500000", "30600"),
        ("1000000", "80100"),
    ] {
        assert_eq!(annual_tax(b, d(taxable)).normalize(), d(want), "Rate B at {taxable}");
    }
}

#[test]
fn new_jersey_aggregate_rule_on_the_months_salary() {
    let rules = Rules::builtin().expect("valid");
    // No NJ-W4 (Rate A, 0 allowances); the month's salary instalment 5,000 is the regular
    // wage. Regular: 5,000 × 12 = 60,000 → 795 + 6.1% × 20,000 = 2,015 a year.
    // Regular + vest: 15,000 × 12 = 180,000 → 2,930 + 7.0% × 105,000 = 10,280 a year.
    // (10,280 − 2,015) / 12 = 8,265 / 12 = 688.75.
    assert_eq!(
        income_lines(&rules, "NJ", None, wages("5000"), "10000").expect("valid"),
        [("state_income", "688.75".to_owned())]
    );
    // The same vest paid in two parts the same month adds up to the same tax, because the
    // second part's regular wages include the first (period_to_date):
    //   4,000 on 5,000: (9,000 × 12 = 108,000 → 2,930 + 7.0% × 33,000 = 5,240) − 2,015
    //   = 3,225 / 12 = 268.75;
    //   6,000 on 9,000: 10,280 − 5,240 = 5,040 / 12 = 420.00; 268.75 + 420.00 = 688.75.
    assert_eq!(
        income_lines(&rules, "NJ", None, wages("5000"), "4000").expect("valid"),
        [("state_income", "268.75".to_owned())]
    );
    assert_eq!(
        income_lines(&rules, "NJ", None, wages("9000"), "6000").expect("valid"),
        [("state_income", "420.00".to_owned())]
    );
    // An NJ-W4 as married filing jointly (Rate B) with 2 allowances ($1,000 each a year):
    // regular 60,000 − 2,000 = 58,000 → 900 + 2.7% × 8,000 = 1,116;
    // with the vest 180,000 − 2,000 = 178,000 → 6,100 + 7.0% × 28,000 = 8,060;
    // (8,060 − 1,116) / 12 = 6,944 / 12 = 578.666… → 578.67.
    let married = profile(&[("filing_status", "married_joint"), ("allowances", "2")]);
    assert_eq!(
        income_lines(&rules, "NJ", Some(&married), wages("5000"), "10000").expect("valid"),
        [("state_income", "578.67".to_owned())]
    );
    // Head of household uses Rate B too (NJ-W4: status without a chosen table).
    let hoh = profile(&[("filing_status", "head_of_household"), ("allowances", "2")]);
    assert_eq!(
        income_lines(&rules, "NJ", Some(&hoh), wages("5000"), "10000").expect("valid"),
        [("state_income", "578.67".to_owned())]
    );
    // An exempt certificate: no income line.
    let exempt = profile(&[("exempt", "yes")]);
    assert_eq!(income_lines(&rules, "NJ", Some(&exempt), wages("5000"), "10000").expect("valid"), []);
}

#[test]
fn mississippi_aggregate_rule_with_the_certificates_exemption_amount_in_whole_dollars() {
    let rules = Rules::builtin().expect("valid");
    // Pub. 89-700 percentage formula, 2026: 0% on the first $10,000 of taxable income, 4%
    // above; standard deduction by marital status; the Form 89-350 exemption in dollars; the
    // period's tax rounded to the nearest dollar.
    // No certificate: single, no exemption, standard deduction 2,300; salary 5,000 a month.
    //   regular 60,000 − 2,300 = 57,700 → 4% × 47,700 = 1,908;
    //   with the vest 180,000 − 2,300 = 177,700 → 4% × 167,700 = 6,708;
    //   (6,708 − 1,908) / 12 = 4,800 / 12 = 400.00.
    assert_eq!(
        income_lines(&rules, "MS", None, wages("5000"), "10000").expect("valid"),
        [("state_income", "400.00".to_owned())]
    );
    // Single with the $6,000 exemption, salary 1,000 a month, a 1,010 vest:
    //   regular 12,000 − 2,300 − 6,000 = 3,700 → below 10,000, no tax;
    //   with the vest 24,120 − 8,300 = 15,820 → 4% × 5,820 = 232.80;
    //   232.80 / 12 = 19.40 → 19.00 (nearest dollar).
    let single = profile(&[("filing_status", "single"), ("dependents_amount", "6000")]);
    assert_eq!(
        income_lines(&rules, "MS", Some(&single), wages("1000"), "1010").expect("valid"),
        [("state_income", "19.00".to_owned())]
    );
    // Married, spouse not working ($12,000) with one dependent ($1,500): 13,500 claimed;
    // salary 1,000, a 2,000 vest:
    //   regular 12,000 − 4,600 − 13,500 < 0 → no tax;
    //   with the vest 36,000 − 18,100 = 17,900 → 4% × 7,900 = 316; 316 / 12 = 26.33 → 26.00.
    let married = profile(&[("filing_status", "married_joint"), ("dependents_amount", "13500")]);
    assert_eq!(
        income_lines(&rules, "MS", Some(&married), wages("1000"), "2000").expect("valid"),
        [("state_income", "26.00".to_owned())]
    );
    // Head of family ($9,500 exemption, standard deduction 3,400), same wages:
    //   36,000 − 3,400 − 9,500 = 23,100 → 4% × 13,100 = 524; 524 / 12 = 43.67 → 44.00.
    let head = profile(&[("filing_status", "head_of_household"), ("dependents_amount", "9500")]);
    assert_eq!(
        income_lines(&rules, "MS", Some(&head), wages("1000"), "2000").expect("valid"),
        [("state_income", "44.00".to_owned())]
    );
}

#[test]
fn an_exemption_rule_is_either_per_allowance_or_the_certificates_amount() {
    let text = r#"
[us.2026.state.ZZ.income]
method = "percentage"
exemption = "certificate_amount"
allowance = "1000"
default_status = "single"
source = "x"

[us.2026.state.ZZ.income.filing_status]
single = "A"
married_joint = "A"
married_separate = "A"
head_of_household = "A"

[us.2026.state.ZZ.income.schedules.A]
standard_deduction = "0"
source = "y"

[[us.2026.state.ZZ.income.schedules.A.brackets]]
over = "0"
rate = "1%"

[us.2026.state.YY.income]
method = "percentage"
exemption = "per_dependent"
default_status = "single"
source = "x"

[us.2026.state.YY.income.filing_status]
single = "A"
married_joint = "A"
married_separate = "A"
head_of_household = "A"

[us.2026.state.YY.income.schedules.A]
standard_deduction = "0"
source = "y"

[[us.2026.state.YY.income.schedules.A.brackets]]
over = "0"
rate = "1%"
"#;
    let err = load("t.toml", text).expect_err("invalid").to_string();
    assert!(err.contains("us.2026.state.ZZ.income.allowance: a state whose certificate"), "{err}");
    assert!(err.contains("us.2026.state.YY.income.exemption"), "{err}");
}

#[test]
fn vermont_withholds_thirty_percent_of_the_federal_supplemental_withholding() {
    let rules = Rules::builtin().expect("valid");
    // Pub. GB-1210 (2026): 30% of the federal withholding on the payment. Federal: 22% while
    // the year's supplemental wages stay within $1,000,000, 37% above (26 CFR
    // 31.3402(g)-1(a)(7)). After 995,000 of supplemental wages a 10,000 vest is withheld
    // 5,000 × 22% + 5,000 × 37% = 1,100.00 + 1,850.00 = 2,950.00 federal;
    // Vermont 2,950.00 × 30% = 885.00.
    let w = Wages { year_to_date: d("995000"), supplemental_year_to_date: d("995000"), period_to_date: d("0") };
    assert_eq!(income_lines(&rules, "VT", None, w, "10000").expect("valid"), [("state_income", "885.00".to_owned())]);
    // Odd cents: a 1,234.57 vest: federal 1,234.57 × 22% = 271.6054 → 271.61;
    // Vermont 271.61 × 30% = 81.483 → 81.48.
    assert_eq!(
        income_lines(&rules, "VT", None, wages("0"), "1234.57").expect("valid"),
        [("state_income", "81.48".to_owned())]
    );
}

#[test]
fn indiana_needs_the_county_and_refuses_one_not_shipped() {
    let rules = Rules::builtin().expect("valid");
    let err = income_lines(&rules, "IN", None, wages("0"), "10000").expect_err("no county on file");
    assert!(
        matches!(&err, WithholdingError::State(StateError::NoCountyOnFile { state, year: 2026, .. }) if state == "IN"),
        "{err:?}"
    );
    assert!(err.to_string().contains("locality"), "{err}");
    // A county whose 2026 rate the file does not ship (Marion's was not confirmed by a 2026
    // document) is refused naming the table to add.
    let marion = profile(&[("locality", "MARION")]);
    let err = income_lines(&rules, "IN", Some(&marion), wages("0"), "10000").expect_err("county not shipped");
    let text = err.to_string();
    assert!(text.contains("us.2026.state.IN.county.MARION"), "{text}");

    // With a county in the file, the state's 2.95% and the county's rate are two lines on the
    // payment (test data for the county, not a shipped rate): 10,000 × 2.95% = 295.00 and
    // 10,000 × 1.5% = 150.00.
    let text = r#"
[us.2026.state.IN.income]
method = "flat"
rate = "2.95%"
county_tax = "required"
source = "Departmental Notice #1 (2026)"

[us.2026.state.IN.county.TESTCOUNTY]
rate = "1.5%"
source = "test data"
"#;
    let with_county = Rules::builtin().expect("valid").with_us_states(load("t.toml", text).expect("valid"));
    let county = profile(&[("locality", "TESTCOUNTY")]);
    assert_eq!(
        income_lines(&with_county, "IN", Some(&county), wages("0"), "10000").expect("valid"),
        [("state_income", "295.00".to_owned()), ("local_income", "150.00".to_owned())]
    );
}

#[test]
fn a_percentage_table_with_problems_is_refused_by_path() {
    let text = r#"
[us.2026.state.ZZ.income]
method = "percentage"
default_status = "single"
source = "x"

[us.2026.state.ZZ.income.filing_status]
single = "A"
married_joint = "B"
married_separate = "A"
head_of_household = "A"

[us.2026.state.ZZ.income.schedules.A]
standard_deduction = "0"
source = "y"

[[us.2026.state.ZZ.income.schedules.A.brackets]]
over = "100"
rate = "1%"
"#;
    let err = load("t.toml", text).expect_err("invalid").to_string();
    assert!(err.contains("us.2026.state.ZZ.income.allowance: missing"), "{err}");
    assert!(err.contains("us.2026.state.ZZ.income.schedules.B: missing"), "{err}");
    assert!(err.contains("us.2026.state.ZZ.income.schedules.A.brackets[0].over"), "{err}");
}

// ------------------------------------------------------------ GA, WV, WI, LA, DC (bands group)

/// Louisiana's formula since the flat tax (R-1306 as revised for 2025: the annualised wages
/// less the standard deduction of the L-4 status, times one flat rate, no exemptions) needs no
/// shape of its own: it is the `percentage` method with one bracket and no allowance amount.
/// The 2026 constants are not shipped (see docs/tax-rules.md#us-states), so this test records
/// the 2025 ones as a company would with `tokencomp rules add`: standard deduction $12,500
/// (single, married filing separately) and $25,000 (married filing jointly, head of household),
/// withholding rate 3.09% (R-1306 effective 1 January 2025, as transcribed by the National
/// Finance Center, bulletin NFC-25-1740487316 of 26 February 2025).
#[test]
fn louisiana_flat_rate_after_a_standard_deduction_is_the_percentage_shape() {
    let text = r#"
[us.2025.state.LA.income]
method = "percentage"
allowance = "0"
default_status = "single"
source = "R-1306 (2025) via NFC bulletin NFC-25-1740487316"

[us.2025.state.LA.income.filing_status]
single = "single"
married_joint = "married"
married_separate = "single"
head_of_household = "married"

[us.2025.state.LA.income.schedules.single]
standard_deduction = "12500"
source = "R-1306 (2025): $12,500, 3.09%"

[[us.2025.state.LA.income.schedules.single.brackets]]
over = "0"
rate = "3.09%"

[us.2025.state.LA.income.schedules.married]
standard_deduction = "25000"
source = "R-1306 (2025): $25,000, 3.09%"

[[us.2025.state.LA.income.schedules.married.brackets]]
over = "0"
rate = "3.09%"
"#;
    let rules = Rules::builtin().expect("valid").with_us_states(load("t.toml", text).expect("valid"));
    let la = |profile: Option<&UsProfile>, month: &str, gross: &str| {
        let j = Jurisdiction::Us { state: Some("LA".to_owned()) };
        let w = Wages { year_to_date: d("50000"), supplemental_year_to_date: Decimal::ZERO, period_to_date: d(month) };
        let out = withhold_for(&rules, &j, date(2025, 6, 15), &w, d(gross), profile).expect("valid");
        out.lines.iter().filter(|l| l.kind == TaxKind::StateIncome).map(|l| l.amount.to_string()).collect::<Vec<_>>()
    };
    // Single, salary 5,000 a month, vest 10,000: regular 60,000 − 12,500 = 47,500 × 3.09% =
    // 1,467.75 a year; with the vest 180,000 − 12,500 = 167,500 × 3.09% = 5,175.75;
    // (5,175.75 − 1,467.75) / 12 = 3,708 / 12 = 309.00 (the whole vest at 3.09%).
    let single = profile(&[("filing_status", "single")]);
    assert_eq!(la(Some(&single), "5000", "10000"), ["309.00"]);
    // The deduction matters when the month's regular wages are below it: salary 500, vest
    // 1,000: regular 6,000 − 12,500 < 0 → 0; with the vest 18,000 − 12,500 = 5,500 × 3.09% =
    // 169.95 a year; 169.95 / 12 = 14.1625 → 14.16.
    assert_eq!(la(Some(&single), "500", "1000"), ["14.16"]);
    // Married filing jointly: 18,000 stays below the $25,000 deduction, so no line.
    let married = profile(&[("filing_status", "married_joint")]);
    assert_eq!(la(Some(&married), "500", "1000"), Vec::<String>::new());
}

#[test]
fn indiana_shipped_counties_add_their_2026_rate() {
    // Departmental Notice #1 (1 January 2026): the state's 2.95% and the county's rate, two
    // lines on the payment. Howard County rose to 2.35% (from 1.95%) on 1 January 2026
    // (PayrollOrg PayState Update, 12 December 2025; Indiana Economic Digest, December 2025):
    // 10,000 × 2.95% = 295.00; 10,000 × 2.35% = 235.00.
    let rules = Rules::builtin().expect("valid");
    let howard = profile(&[("locality", "HOWARD")]);
    assert_eq!(
        income_lines(&rules, "IN", Some(&howard), wages("0"), "10000").expect("valid"),
        [("state_income", "295.00".to_owned()), ("local_income", "235.00".to_owned())]
    );
    // Carroll County 2.4733% (from 2.2733%), odd cents: a 1,234.57 vest:
    // state 1,234.57 × 2.95% = 36.419815 → 36.42; county 1,234.57 × 2.4733% = 30.53432…
    // → 30.53.
    let carroll = profile(&[("locality", "CARROLL")]);
    assert_eq!(
        income_lines(&rules, "IN", Some(&carroll), wages("0"), "1234.57").expect("valid"),
        [("state_income", "36.42".to_owned()), ("local_income", "30.53".to_owned())]
    );
    // Lake County, unchanged at 1.5% for 2026 (the Indiana Economic Digest report):
    // 10,000 × 1.5% = 150.00; the county tax does not depend on the month's regular wages.
    let lake = profile(&[("locality", "LAKE")]);
    assert_eq!(
        income_lines(&rules, "IN", Some(&lake), wages("5000"), "10000").expect("valid"),
        [("state_income", "295.00".to_owned()), ("local_income", "150.00".to_owned())]
    );
}

#[test]
fn indiana_2026_county_table_is_exactly_what_the_2026_reports_confirm() {
    // The six increases of 1 January 2026 (PayrollOrg, 12 December 2025) with their new
    // rates, and the five Northwest Indiana counties reported unchanged (Indiana Economic
    // Digest, December 2025); nothing else is shipped.
    let rules = Rules::builtin().expect("valid").us_states().expect("shipped").clone();
    let indiana = rules.year(2026).and_then(|y| y.states.get("IN")).expect("IN 2026");
    let got: Vec<(&str, Decimal)> = indiana.counties.iter().map(|(k, c)| (k.as_str(), c.rate)).collect();
    let want = [
        ("CARROLL", "0.024733"),
        ("GRANT", "0.0275"),
        ("GREENE", "0.0235"),
        ("HOWARD", "0.0235"),
        ("JASPER", "0.02864"),
        ("LAKE", "0.015"),
        ("LAPORTE", "0.0145"),
        ("NEWTON", "0.01"),
        ("PORTER", "0.005"),
        ("SHELBY", "0.017"),
        ("UNION", "0.0275"),
    ];
    let want: Vec<(&str, Decimal)> = want.iter().map(|(k, r)| (*k, d(r))).collect();
    assert_eq!(got, want);
    assert!(indiana.counties.values().all(|c| c.source.contains("Departmental Notice #1")));
}

#[test]
fn a_credit_per_allowance_reduces_each_annual_tax_never_below_zero() {
    // Test data, not a 2026 value: the Delaware schedule of 30 Del. C. sec. 1102(a)(14) for
    // tax years 2014 to 2025 (0% to $2,000; 2.2% to $5,000; 3.9% to $10,000; 4.8% to $20,000;
    // 5.2% to $25,000; 5.55% to $60,000; 6.6% above; the Division of Revenue's tax rate table
    // prints $2,943.50 at $60,000), its withholding formula's $3,250 single standard deduction
    // and $110 tax credit per personal exemption, keyed under 2026 so the payment date reads it.
    let text = r#"
[us.2026.state.DE.income]
method = "percentage"
allowance = "0"
credit = "110"
default_status = "single"
source = "test data: Delaware schedule 2014-2025 with the $110 credit per exemption"

[us.2026.state.DE.income.filing_status]
single = "single"
married_joint = "single"
married_separate = "single"
head_of_household = "single"

[us.2026.state.DE.income.schedules.single]
standard_deduction = "3250"
source = "test data"

[[us.2026.state.DE.income.schedules.single.brackets]]
over = "0"
rate = "0%"

[[us.2026.state.DE.income.schedules.single.brackets]]
over = "2000"
rate = "2.2%"

[[us.2026.state.DE.income.schedules.single.brackets]]
over = "5000"
rate = "3.9%"

[[us.2026.state.DE.income.schedules.single.brackets]]
over = "10000"
rate = "4.8%"

[[us.2026.state.DE.income.schedules.single.brackets]]
over = "20000"
rate = "5.2%"

[[us.2026.state.DE.income.schedules.single.brackets]]
over = "25000"
rate = "5.55%"

[[us.2026.state.DE.income.schedules.single.brackets]]
over = "60000"
rate = "6.6%"
"#;
    let rules = Rules::builtin().expect("valid").with_us_states(load("t.toml", text).expect("valid"));
    let state = rules.us_states().and_then(|r| r.year(2026)).and_then(|y| y.states.get("DE")).expect("DE");
    let Some(IncomeMethod::Percentage(method)) = state.income.as_ref().map(|i| &i.method) else {
        panic!("a percentage method")
    };
    // The schedule reproduces the printed $2,943.50 at $60,000:
    // 3,000 × 2.2% + 5,000 × 3.9% + 10,000 × 4.8% + 5,000 × 5.2% + 35,000 × 5.55%
    // = 66 + 195 + 480 + 260 + 1,942.50 = 2,943.50.
    assert_eq!(annual_tax(method.schedule(FilingStatus::Single), d("60000")), d("2943.50"));

    // One allowance, no regular wages this month: 10,000 × 12 = 120,000 − 3,250 = 116,750;
    // 2,943.50 + 56,750 × 6.6% = 2,943.50 + 3,745.50 = 6,689.00; less the credit 110 =
    // 6,579.00; the regular wages' tax is 0; 6,579.00 / 12 = 548.25.
    let one = profile(&[("allowances", "1")]);
    let none = || Wages { year_to_date: d("0"), supplemental_year_to_date: Decimal::ZERO, period_to_date: d("0") };
    assert_eq!(
        income_lines(&rules, "DE", Some(&one), none(), "10000").expect("valid"),
        [("state_income", "548.25".to_owned())]
    );
    // Two allowances: 6,689.00 − 220 = 6,469.00; / 12 = 539.0833… → 539.08. No certificate on
    // file: zero allowances, no credit: 6,689.00 / 12 = 557.4166… → 557.42.
    let two = profile(&[("allowances", "2")]);
    assert_eq!(
        income_lines(&rules, "DE", Some(&two), none(), "10000").expect("valid"),
        [("state_income", "539.08".to_owned())]
    );
    assert_eq!(
        income_lines(&rules, "DE", None, none(), "10000").expect("valid"),
        [("state_income", "557.42".to_owned())]
    );
    // With a month's salary of 5,000 the credit falls out of the difference, as both annual
    // taxes exceed it: regular 60,000 − 3,250 = 56,750: 66 + 195 + 480 + 260 + 31,750 × 5.55%
    // (1,762.125) = 2,763.125 − 110 = 2,653.125; with the vest 180,000 − 3,250 = 176,750:
    // 2,943.50 + 116,750 × 6.6% (7,705.50) = 10,649.00 − 110 = 10,539.00; the difference
    // 7,885.875 / 12 = 657.15625 → 657.16.
    let salaried =
        Wages { year_to_date: d("25000"), supplemental_year_to_date: Decimal::ZERO, period_to_date: d("5000") };
    assert_eq!(
        income_lines(&rules, "DE", Some(&one), salaried, "10000").expect("valid"),
        [("state_income", "657.16".to_owned())]
    );
    // Never below zero: a 500 vest alone: 6,000 − 3,250 = 2,750; 750 × 2.2% = 16.50, less the
    // 110 credit is below zero, so 0: no line.
    assert_eq!(income_lines(&rules, "DE", Some(&one), none(), "500").expect("valid"), []);
}

/// A company's rules file for a state whose withholding changed in the middle of 2026, recorded
/// over the shipped tree. The rates are test data in the shape Georgia needs (its flat
/// supplemental rate moved with HB 463 (2026) partway through the year), not shipped values.
const MID_YEAR: &str = r#"
[us.2026.state.GA.income]
method = "flat"
rate = "5.19%"
source = "test: the rate in force from 1 January"

[us.2026.state.GA.income_from.2026-07-01]
method = "flat"
rate = "4.99%"
source = "test: the rate in force from 1 July"
"#;

fn ga_line(rules: &Rules, paid: jiff::civil::Date) -> Result<Vec<String>, WithholdingError> {
    let j = Jurisdiction::Us { state: Some("GA".to_owned()) };
    let w = withhold_for(rules, &j, paid, &wages("5000"), d("10000"), None)?;
    Ok(w.lines.iter().filter(|l| l.kind == TaxKind::StateIncome).map(|l| l.amount.to_string()).collect())
}

#[test]
fn a_method_that_changes_mid_year_applies_by_the_day_the_payment_is_made() {
    let recorded = tokencomp_compliance::rules::RecordedRules {
        seq: 7,
        actor: "user:finance".to_owned(),
        at: "2026-07-02T09:00:00Z".to_owned(),
        name: "ga-2026.toml".to_owned(),
        text: MID_YEAR.to_owned(),
    };
    let rules = Rules::effective(&[recorded]).expect("valid");
    // 10,000 × 5.19% = 519.00 on the last day of the old rate; 10,000 × 4.99% = 499.00 from
    // the day of the change, and later in the year.
    assert_eq!(ga_line(&rules, date(2026, 6, 30)).expect("valid"), ["519.00"]);
    assert_eq!(ga_line(&rules, date(2026, 7, 1)).expect("valid"), ["499.00"]);
    assert_eq!(ga_line(&rules, date(2026, 12, 31)).expect("valid"), ["499.00"]);

    // With only the change on file, a payment before it has no method and is refused by
    // name, never withheld at the later rate.
    let only_change = MID_YEAR.split("[us.2026.state.GA.income_from").nth(1).expect("two tables");
    let only = Rules::builtin()
        .expect("valid")
        .with_us_states(load("t.toml", &format!("[us.2026.state.GA.income_from{only_change}")).expect("valid"));
    let err = ga_line(&only, date(2026, 3, 1)).expect_err("no method before July").to_string();
    assert!(err.contains("us.2026.state.GA.income"), "{err}");
    assert_eq!(ga_line(&only, date(2026, 8, 1)).expect("valid"), ["499.00"]);

    // A change keyed outside its year, or not by a date, is named by its path.
    for bad in ["2025-07-01", "july"] {
        let text = MID_YEAR.replace("2026-07-01", bad);
        let err = load("t.toml", &text).expect_err("invalid").to_string();
        assert!(err.contains(&format!("us.2026.state.GA.income_from.{bad}")), "{err}");
    }
}
