//! `year-end` through the binary on the sample company: the pack's figures equal the payroll
//! rows that paid the year (a December correction carried as a January adjustment included),
//! the W-2c names the correction (boxes 1–6), and a UK tax year spans two calendar years; and on
//! a biweekly company, the period that straddles 1 January pays each year its own wages.

use std::collections::BTreeMap;

use tokencomp_money::Decimal;

use crate::ledger::Company;

fn dec(s: &str) -> Decimal {
    s.parse().unwrap_or_else(|_| panic!("not a decimal: {s:?}"))
}

/// A CSV as rows of column → value.
fn rows(csv: &str) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let headers: Vec<String> = r.headers().expect("header").iter().map(str::to_owned).collect();
    r.records().map(|rec| headers.iter().cloned().zip(rec.expect("row").iter().map(str::to_owned)).collect()).collect()
}

/// Sum of `column` over `person`'s rows of the payroll exports of `periods`, by earning code.
fn paid(c: &Company, periods: &[String], person: &str, column: &str) -> (Decimal, Decimal) {
    let (mut token, mut adjust) = (Decimal::ZERO, Decimal::ZERO);
    for p in periods {
        for r in rows(&c.ok(&["payroll", "--period", p])).iter().filter(|r| r["employee_id"] == person) {
            match r["earning_code"].as_str() {
                "TOKEN" => token += dec(&r[column]),
                _ => adjust += dec(&r[column]),
            }
        }
    }
    (token, adjust)
}

fn read(c: &Company, dir: &str, file: &str) -> Vec<BTreeMap<String, String>> {
    rows(&std::fs::read_to_string(c.dir_path().join(dir).join(file)).expect("pack file"))
}

#[test]
fn year_end_equals_the_payroll_rows_with_a_december_correction_paid_in_january() {
    let c = Company::new();
    c.ok(&["demo", "--quiet"]);
    let months: Vec<String> = (1..=12).map(|m| format!("2025-{m:02}")).collect();
    let (before, _) = paid(&c, &months, "ada", "gross_supplemental_wages");
    c.ok(&["payroll", "close", "--period", "2025-12"]);
    // Ada's 10,000 GRID of 2025-12-15 were worth less than recorded; the fix reaches January.
    c.ok(&["price", "correct", "--date", "2025-12-15", "--close", "1.00", "--reason", "exchange feed error"]);
    let (_, january) = paid(&c, &["2026-01".to_owned()], "ada", "gross_supplemental_wages");
    assert_eq!(
        january,
        dec("10000.00") - dec("3747.00"),
        "the January adjustment: 10,000 × $1.00 less the $3,747.00 paid"
    );
    let dir = c.dir_path().join("pack-2025");
    let out = c.ok(&["year-end", "--year", "2025", "--out", dir.to_str().expect("utf-8")]);
    assert!(!out.contains("differ"), "{out}");

    // Box 1 is the income of 2025 as it is now: the year's rows plus the adjustment paid in 2026.
    let w2 = read(&c, "pack-2025", "w2.csv");
    let ada = w2.iter().find(|r| r["employee_id"] == "ada").expect("ada's W-2");
    assert_eq!(dec(&ada["box1_wages"]), before + january);
    // The year's own rows, and January's adjustment row (not January's own income).
    let year = |column: &str| {
        let (own, _) = paid(&c, &months, "ada", column);
        let (_, adjusted) = paid(&c, &["2026-01".to_owned()], "ada", column);
        own + adjusted
    };
    assert_eq!(dec(&ada["box2_federal_income_tax"]), year("federal_income_tax"));
    assert_eq!(dec(&ada["box4_social_security_tax"]), year("social_security_ee"));
    assert_eq!(dec(&ada["box6_medicare_tax"]), year("medicare_ee") + year("additional_medicare_ee"));
    // Boxes 3 and 5 equal the rows' Social Security and Medicare wages.
    assert_eq!(dec(&ada["box3_social_security_wages"]), year("social_security_wages"));
    assert_eq!(dec(&ada["box5_medicare_wages"]), year("medicare_wages"));
    let states = read(&c, "pack-2025", "w2-states.csv");
    let ca = states.iter().find(|r| r["employee_id"] == "ada").expect("ada's state row");
    assert_eq!(ca["box15_state"], "CA");
    assert_eq!(dec(&ca["box17_state_income_tax"]), year("state_income_tax"));

    // The W-2c: what 2025's own payroll reported, what is correct, for the figures that moved.
    let corrections = read(&c, "pack-2025", "corrections.csv");
    let gross =
        corrections.iter().find(|r| r["person_id"] == "ada" && r["figure"] == "gross").expect("ada's W-2c wages");
    assert_eq!(gross["form"], "W-2c");
    assert_eq!(dec(&gross["previously_reported"]), before);
    assert_eq!(dec(&gross["correct"]), before + january);
    assert_eq!(dec(&gross["difference"]), january);
    assert_eq!((gross["corrected_periods"].as_str(), gross["paid_in"].as_str()), ("2025-12", "2026-01"));
    // Ada is past 2025's Social Security wage base, so boxes 3 and 4 did not move; box 5 (no
    // cap) moved by the whole correction. Olu also vested on 2025-12-15 and is corrected too;
    // nobody else's year changed.
    for figure in ["social_security_tax", "social_security_wages"] {
        assert!(!corrections.iter().any(|r| r["person_id"] == "ada" && r["figure"] == figure), "{figure}");
    }
    let box5 = corrections
        .iter()
        .find(|r| r["person_id"] == "ada" && r["figure"] == "medicare_wages")
        .expect("ada's W-2c box 5");
    assert_eq!((box5["form"].as_str(), dec(&box5["difference"])), ("W-2c", january));
    let who: std::collections::BTreeSet<&str> = corrections.iter().map(|r| r["person_id"].as_str()).collect();
    assert_eq!(who.into_iter().collect::<Vec<_>>(), ["ada", "olu"]);

    // The JSON document says the same and that the check agrees.
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("year-end.json")).expect("json")).expect("valid");
    assert_eq!(doc["payroll_check"]["agrees"], true);
    assert_eq!(doc["year"], 2025);
}

#[test]
fn a_uk_tax_year_spans_two_calendar_years_and_equals_its_tax_months() {
    let c = Company::new();
    c.ok(&["demo", "--quiet"]);
    let months: Vec<String> = (1..=12).map(|m| format!("uk-2025-m{m:02}")).collect();
    let dir = c.dir_path().join("grace");
    c.ok(&["year-end", "--year", "2025", "--person", "grace", "--out", dir.to_str().expect("utf-8")]);
    let p60 = read(&c, "grace", "p60.csv");
    assert_eq!(p60.len(), 1, "one person asked for: {p60:?}");
    assert_eq!(p60[0]["tax_year"], "2025-26");
    let (pay, _) = paid(&c, &months, "grace", "gross_supplemental_wages");
    let (tax, _) = paid(&c, &months, "grace", "uk_paye");
    let (nic, _) = paid(&c, &months, "grace", "uk_nic_ee");
    assert_eq!((dec(&p60[0]["pay_in_this_employment"]), dec(&p60[0]["tax_deducted"])), (pay, tax));
    assert_eq!(dec(&p60[0]["employee_nic"]), nic);
    // The FPS months run April 2025 (01) to March 2026 (12): the tax year's January to March
    // are in the next calendar year, and their pay is in the P60.
    let fps = read(&c, "grace", "fps.csv");
    let (m12, _) = paid(&c, &["uk-2025-m12".to_owned()], "grace", "gross_supplemental_wages");
    let march = fps.iter().find(|r| r["tax_month"] == "12").expect("March 2026 is month 12 of 2025-26");
    assert_eq!(dec(&march["taxable_pay_in_period"]), m12);
    let total: Decimal = fps.iter().map(|r| dec(&r["taxable_pay_in_period"])).sum();
    assert_eq!(total, pay);
    assert!(read(&c, "grace", "w2.csv").is_empty(), "nobody else is in a one-person pack");
}

/// A biweekly company (periods counted from Monday 2024-01-01, so bw-2025-12-29 runs from
/// 29 December 2025 to 11 January 2026) with one Californian vesting 1,000 NET on 30 December
/// 2025 and 1,000 NET on 5 January 2026, both at $2.00.
const BIWEEKLY: &str = r#"
[company]
name = "Fortnight Co"
time_zone = "America/Los_Angeles"
pay_frequency = "biweekly"

[token]
symbol = "NET"
decimals = 18

[[person]]
id = "bea"
name = "Bea"
country = "US"
region = "CA"
hired = 2025-01-05

[[price]]
date = 2025-12-30
close = "2.00"
[[price]]
date = 2026-01-05
close = "2.00"

[[grant]]
id = "december"
holder = "bea"
grant_date = 2025-11-30
amount = "1000"
[grant.schedule]
type = "monthly"
start = 2025-11-30
duration_months = 1

[[grant]]
id = "january"
holder = "bea"
grant_date = 2025-12-05
amount = "1000"
[grant.schedule]
type = "monthly"
start = 2025-12-05
duration_months = 1
"#;

/// Regression: the year-end counted the 30 December vest in 2025 (wages count for the year they
/// are paid: 26 CFR 31.3121(a)-2; the tokens were delivered that day) while the payroll check
/// counted the whole straddling period for 2026, the year of its last day, so `year-end --year
/// 2025` named a difference and exited 1. The period now has a row per tax year.
#[test]
fn a_biweekly_period_straddling_1_january_is_counted_in_each_year_by_its_own_rows() {
    let c = Company::new();
    let file = c.write("company.toml", BIWEEKLY);
    c.ok(&["init", &file]);
    c.ok(&["run", "--through", "2026-01-11", "--quiet"]);
    let period = rows(&c.ok(&["payroll", "--period", "bw-2025-12-29"]));
    let years: Vec<(&str, &str, Decimal)> = period
        .iter()
        .map(|r| (r["earning_code"].as_str(), r["tax_year"].as_str(), dec(&r["gross_supplemental_wages"])))
        .collect();
    // 1,000 × $2.00 = $2,000.00 on each side of 1 January.
    assert_eq!(years, [("TOKEN", "2025", dec("2000.00")), ("TOKEN", "2026", dec("2000.00"))]);
    for (year, row) in [("2025", &period[0]), ("2026", &period[1])] {
        let dir = c.dir_path().join(format!("pack-{year}"));
        let out = c.ok(&["year-end", "--year", year, "--out", dir.to_str().expect("utf-8")]);
        assert!(!out.contains("differ"), "{year}: {out}");
        let w2 = read(&c, &format!("pack-{year}"), "w2.csv");
        assert_eq!(w2.len(), 1, "{year}: {w2:?}");
        for (column, box_) in [
            ("gross_supplemental_wages", "box1_wages"),
            ("federal_income_tax", "box2_federal_income_tax"),
            ("social_security_wages", "box3_social_security_wages"),
            ("medicare_wages", "box5_medicare_wages"),
        ] {
            assert_eq!(dec(&w2[0][box_]), dec(&row[column]), "{year}: {box_}");
        }
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("year-end.json")).expect("json")).expect("valid");
        assert_eq!(doc["payroll_check"]["agrees"], true, "{year}");
        // The straddling period holds wages of both years: until it is closed, both are provisional.
        let open = doc["open_periods"].as_array().expect("open periods");
        assert!(open.iter().any(|p| p == "bw-2025-12-29"), "{year}: {open:?}");
    }
}
