//! Rules as data through the binary: a period in the first year the shipped rules do not cover is
//! refused naming every missing constant and the command that adds them; `rules add` records a
//! file (checked whole, nothing written on a problem, the same file again a no-op); each period
//! run records the hash of the rules it used and a closed period keeps its own; a rules
//! correction after close reaches the next open period as an ADJUST row, as a price correction
//! does; `rules list` shows where each value in force came from.

use std::collections::BTreeMap;

use serde_json::Value;
use tokencomp_money::Decimal;

use crate::ledger::Company;

/// One US employee in California (no salary, so no wage base is reached) vesting 1,000 NET on
/// the 15th of each month from 15 November 2026, at $2.00 in 2026 and $2.50 on 15 January 2027.
const COMPANY: &str = r#"
[company]
name = "Rules Test Co"
time_zone = "America/Los_Angeles"
pay_frequency = "monthly"

[token]
symbol = "NET"
decimals = 18

[[person]]
id = "ada"
name = "Ada"
country = "US"
region = "CA"
hired = 2026-01-01

[[price]]
date = 2026-11-15
close = "2.00"
[[price]]
date = 2026-12-15
close = "2.00"
[[price]]
date = 2027-01-15
close = "2.50"

[[grant]]
id = "g"
holder = "ada"
grant_date = 2026-10-15
amount = "12000"
[grant.schedule]
type = "monthly"
start = 2026-10-15
duration_months = 12
"#;

/// The company's own file for 2027 in the test: 2026's constants declared again for 2027, so
/// the expected cents below follow from the file itself (these are not the published 2027
/// figures, which tokencomp does not ship).
const US_2027: &str = r#"[us.2027.federal_supplemental]
rate = "22%"
high_rate = "37%"
high_threshold = "1000000"
source = "26 CFR 31.3402(g)-1(a)(2) and (a)(7)"

[us.2027.social_security]
employee_rate = "6.2%"
employer_rate = "6.2%"
wage_base = "184500"
source = "test: 2026 wage base declared again"

[us.2027.medicare]
employee_rate = "1.45%"
employer_rate = "1.45%"
source = "IRC 3101(b)(1), 3111(b)"

[us.2027.additional_medicare]
rate = "0.9%"
threshold = "200000"
source = "IRC 3101(b)(2), 3102(f)"

[us.2027.futa]
rate = "0.6%"
wage_base = "7000"
source = "IRC 3301, 3302, 3306(b)(1)"

[us.2027.state.CA]
rate = "10.23%"
source = "test: 2026 rate declared again"
"#;

/// The payroll CSV as (person, earning code) → column → value.
fn table(csv: &str) -> BTreeMap<(String, String), BTreeMap<String, String>> {
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let headers: Vec<String> = r.headers().expect("header").iter().map(str::to_owned).collect();
    let mut out = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.expect("row");
        let row: BTreeMap<String, String> = headers.iter().cloned().zip(rec.iter().map(str::to_owned)).collect();
        out.insert((row["employee_id"].clone(), row["earning_code"].clone()), row);
    }
    out
}

/// Period id → the rules hash its run recorded (null when none).
fn hashes(c: &Company) -> BTreeMap<String, Value> {
    let list = c.json(&["periods", "--through", "2027-02-28", "--json"]);
    list.as_array()
        .expect("array")
        .iter()
        .map(|p| (p["id"].as_str().expect("id").to_owned(), p["rules_sha256"].clone()))
        .collect()
}

/// `rules list --json` as path → (value, origin kind, source).
fn in_force(c: &Company, year: &str) -> BTreeMap<String, (String, String, String)> {
    let list = c.json(&["rules", "list", "--year", year, "--jurisdiction", "us", "--json"]);
    list.as_array()
        .expect("array")
        .iter()
        .map(|v| {
            let s = |x: &Value| x.as_str().expect("string").to_owned();
            (s(&v["path"]), (s(&v["value"]), s(&v["origin"]["kind"]), s(&v["source"])))
        })
        .collect()
}

fn company() -> Company {
    let c = Company::new();
    let file = c.write("company.toml", COMPANY);
    c.ok(&["init", &file]);
    c
}

#[test]
fn the_first_year_not_shipped_is_refused_by_name_until_a_rules_file_adds_it() {
    let c = company();
    c.ok(&["run", "--through", "2026-12-31", "--quiet"]);
    let shipped = hashes(&c);
    let h2026 = shipped["2026-11"].as_str().expect("the run recorded its rules hash").to_owned();
    assert_eq!(h2026.len(), 64);
    assert_eq!(shipped["2026-12"], Value::from(h2026.clone()));

    // January 2027: no year is shipped, so the run stops and names every constant a US employee
    // in California needs, and the command that adds them; nothing of 2027 is recorded.
    let before = c.dump();
    let out = c.run(&["run", "--through", "2027-01-31", "--quiet"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let missing = [
        "us.2027.federal_supplemental.rate",
        "us.2027.federal_supplemental.high_rate",
        "us.2027.federal_supplemental.high_threshold",
        "us.2027.federal_supplemental.source",
        "us.2027.social_security.employee_rate",
        "us.2027.social_security.employer_rate",
        "us.2027.social_security.wage_base",
        "us.2027.social_security.source",
        "us.2027.medicare.employee_rate",
        "us.2027.medicare.employer_rate",
        "us.2027.medicare.source",
        "us.2027.additional_medicare.rate",
        "us.2027.additional_medicare.threshold",
        "us.2027.additional_medicare.source",
        "us.2027.futa.rate",
        "us.2027.futa.wage_base",
        "us.2027.futa.source",
        "us.2027.state.CA.rate",
        "us.2027.state.CA.source",
    ];
    let expected = format!("lack {} constant(s) it needs: {}.", missing.len(), missing.join(", "));
    assert!(err.contains(&expected), "{err}");
    assert!(err.contains("`tokencomp rules add FILE`"), "{err}");
    assert_eq!(c.dump(), before, "a refused run records nothing");

    // A file with the constants: recorded once; the same file again changes nothing.
    let file = c.write("us-2027.toml", US_2027);
    let out = c.ok(&["rules", "add", &file]);
    assert!(out.starts_with("recorded rules") && out.contains("13 value(s) for us.2027"), "{out}");
    let recorded = c.dump();
    let out = c.ok(&["rules", "add", &file]);
    assert!(out.contains("already in force"), "{out}");
    assert_eq!(c.dump(), recorded, "re-adding an identical file is a no-op");

    c.ok(&["run", "--through", "2027-01-31", "--quiet"]);
    let after = hashes(&c);
    let h2027 = after["2027-01"].as_str().expect("hash").to_owned();
    assert_ne!(h2027, h2026, "the rules in force changed");
    assert_eq!(after["2026-11"], Value::from(h2026), "an earlier run keeps the hash it ran under");

    // January's vest of 1,000 NET at $2.50 = $2,500.00, withheld under the recorded file:
    // federal 22% = 550.00; Social Security 6.2% = 155.00; Medicare 1.45% = 36.25;
    // CA 10.23% = 255.75; FUTA 0.6% of the first $7,000 of the new year = 15.00.
    let jan = table(&c.ok(&["payroll", "--period", "2027-01"]));
    let ada = &jan[&("ada".to_owned(), "TOKEN".to_owned())];
    for (col, cents) in [
        ("token_income", "2500.00"),
        ("federal_income_tax", "550.00"),
        ("social_security_ee", "155.00"),
        ("medicare_ee", "36.25"),
        ("state_income_tax", "255.75"),
        ("futa_er", "15.00"),
    ] {
        assert_eq!(ada[col], cents, "{col}");
    }

    // Where each value came from: the recorded file, its line, the actor, and its table's source.
    let list = c.json(&["rules", "list", "--year", "2027", "--json"]);
    let rows = list.as_array().expect("array");
    assert_eq!(rows.len(), 13);
    let base = rows.iter().find(|r| r["path"] == "us.2027.social_security.wage_base").expect("listed");
    assert_eq!(base["value"], "184500");
    assert_eq!(base["source"], "test: 2026 wage base declared again");
    let origin = &base["origin"];
    assert_eq!(
        (origin["kind"].as_str(), origin["actor"].as_str(), origin["line"].as_u64()),
        (Some("recorded"), Some("user:test"), Some(10))
    );
    assert!(origin["file"].as_str().is_some_and(|f| f.ends_with("us-2027.toml")), "{origin}");
    assert!(origin["seq"].as_i64().is_some_and(|s| s > 0) && origin["at"].as_str().is_some(), "{origin}");
    let text = c.ok(&["rules", "list", "--year", "2027"]);
    assert!(text.contains("us.2027.futa.wage_base = 7000\trecorded seq "), "{text}");
    let shipped = c.ok(&["rules", "list", "--year", "2026", "--jurisdiction", "us"]);
    assert!(shipped.contains("us.2026.social_security.wage_base = 184500\trules/tax.toml:"), "{shipped}");
}

#[test]
fn a_bad_rules_file_is_refused_with_every_problem_and_changes_nothing() {
    let c = company();
    let bad = c.write(
        "bad.toml",
        "[us.2027.federal_supplemental]\nrate = \"22\"\nhigh_rate = 37\nhigh_threshold = \"1000000\"\ncolour = \"x\"\n\n[us.2027.futa]\nrate = \"0.6%\"\nsource = \"Pub 15\"\n",
    );
    // `refused` also checks the ledger dump is byte for byte what it was.
    c.refused(
        &["rules", "add", &bad],
        &[
            "bad.toml:1:10 (us.2027.federal_supplemental.source)",
            "bad.toml:2:1 (us.2027.federal_supplemental.rate)",
            "bad.toml:3:1 (us.2027.federal_supplemental.high_rate)",
            "bad.toml:5:1 (us.2027.federal_supplemental.colour)",
            "bad.toml:7:10 (us.2027.futa.wage_base)",
            "bad.toml:1:5 (us.2027.social_security.wage_base)",
        ],
    );
    let unknown = c.write("fr.toml", "[fr.2027.income]\nrate = \"1%\"\nsource = \"x\"\n");
    c.refused(&["rules", "add", &unknown], &["fr.toml:1:1", "unknown jurisdiction `fr`"]);
    let not_toml = c.write("broken.toml", "[us.2027.futa\nrate = \"1%\"\n");
    c.refused(&["rules", "add", &not_toml], &["broken.toml:1"]);
}

#[test]
fn a_rules_correction_after_close_becomes_an_adjustment_and_changes_only_its_value() {
    let c = company();
    c.ok(&["run", "--through", "2026-12-31", "--quiet"]);
    let hash = hashes(&c)["2026-11"].clone();
    // November: 1,000 NET at $2.00 = $2,000.00; California's 10.23% = 204.60.
    let november = c.ok(&["payroll", "--period", "2026-11"]);
    let nov = table(&november);
    assert_eq!(nov[&("ada".to_owned(), "TOKEN".to_owned())]["state_income_tax"], "204.60");
    c.ok(&["payroll", "close", "--period", "2026-11"]);
    let december_before = table(&c.ok(&["payroll", "--period", "2026-12"]));
    let rules_before = in_force(&c, "2026");

    // A correction of one 2026 value, recorded after November closed.
    let fix =
        c.write("ca-fix.toml", "[us.2026.state.CA.income]\nrate = \"11%\"\nsource = \"test: a corrected rate\"\n");
    c.ok(&["rules", "add", &fix]);

    // Only that value changed in force, now with its recorded origin and source.
    let rules_after = in_force(&c, "2026");
    let changed: Vec<&String> = rules_after.keys().filter(|k| rules_before.get(*k) != rules_after.get(*k)).collect();
    assert_eq!(changed, ["us.2026.state.CA.income.rate"]);
    assert_eq!(
        rules_after["us.2026.state.CA.income.rate"],
        ("11%".into(), "recorded".into(), "test: a corrected rate".into())
    );
    assert_eq!(rules_before.len(), rules_after.len());

    // November is frozen and keeps the rules it ran under (its export is now final).
    assert_eq!(c.ok(&["payroll", "--period", "2026-11"]), november.replace(",provisional\n", ",final\n"));
    assert_eq!(hashes(&c)["2026-11"], hash);

    // December carries November's difference as an ADJUST row: 2,000.00 × 11% = 220.00 against
    // the 204.60 paid, so +15.40 of state tax; nothing else of November's withholding moved.
    let december = table(&c.ok(&["payroll", "--period", "2026-12"]));
    let adj = &december[&("ada".to_owned(), "ADJUST".to_owned())];
    assert_eq!(adj["adjusts"], "2026-11");
    assert_eq!(adj["state_income_tax"], "15.40");
    for col in ["token_income", "federal_income_tax", "social_security_ee", "medicare_ee", "futa_er", "tokens_vested"] {
        let value: Decimal = adj[col].parse().expect("a decimal");
        assert!(value.is_zero(), "{col}: {}", adj[col]);
    }
    // December's own vest is withheld at the corrected rate: 2,000.00 × 11% = 220.00; its
    // federal line is what it was.
    let dec_row = &december[&("ada".to_owned(), "TOKEN".to_owned())];
    assert_eq!(dec_row["state_income_tax"], "220.00");
    let before_row = &december_before[&("ada".to_owned(), "TOKEN".to_owned())];
    assert_eq!(before_row["state_income_tax"], "204.60");
    assert_eq!(dec_row["federal_income_tax"], before_row["federal_income_tax"]);
}

/// A German employee vesting on 15 January 2027: Germany's 2027 constants are not shipped.
const DE_COMPANY: &str = r#"
[company]
name = "Regeln GmbH"
time_zone = "Europe/Berlin"
pay_frequency = "monthly"

[token]
symbol = "NET"
decimals = 18

[[person]]
id = "lena"
name = "Lena"
country = "DE"
hired = 2027-01-01
salary = "60000"
[person.de]
tax_class = "1"
land = "BE"

[[price]]
date = 2027-01-15
close = "2.00"

[[fx]]
date = 2027-01-15
currency = "EUR"
per_usd = "0.90"

[[grant]]
id = "g"
holder = "lena"
grant_date = 2027-01-01
amount = "12000"
[grant.schedule]
type = "monthly"
start = 2026-12-15
duration_months = 12
"#;

/// The German rules of the shipped file for 2026, declared again by the company for 2027 (the
/// programme's structure of 2026 carries on; only the constants are data).
fn de_2027() -> String {
    let shipped = include_str!("../../../formats/rules/de.toml");
    shipped
        .split("\n[")
        .filter(|t| t.starts_with("de.2026") || t.starts_with("[de.2026"))
        .map(|t| format!("[{}", t.replace("de.2026", "de.2027")))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_german_year_not_shipped_is_refused_by_path_and_added_with_rules_add() {
    let c = Company::new();
    let file = c.write("company.toml", DE_COMPANY);
    c.ok(&["init", &file]);
    let before = c.dump();
    let out = c.run(&["run", "--through", "2027-01-31", "--quiet"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for path in ["de.2027.tariff.basic_allowance", "de.2027.social.pension_ceiling", "tokencomp rules add FILE"] {
        assert!(err.contains(path), "{path} in {err}");
    }
    assert_eq!(c.dump(), before, "a refused run records nothing");
    let rules = c.write("de-2027.toml", &de_2027());
    c.ok(&["rules", "add", &rules]);
    c.ok(&["run", "--through", "2027-01-31", "--quiet"]);
    let january = table(&c.ok(&["payroll", "--period", "2027-01"]));
    let row = &january[&("lena".to_owned(), "TOKEN".to_owned())];
    // 1,000 NET at $2.00 × 0.90 = 1,800.00 EUR, taxed by the programme as an other payment.
    assert_eq!((row["tax_form"].as_str(), row["gross_supplemental_wages"].as_str()), ("LStB", "1800.00"));
    let wage_tax: Decimal = row["de_wage_tax"].parse().expect("decimal");
    assert!(wage_tax > Decimal::ZERO, "{row:?}");
    // The same company a year earlier, under the shipped 2026 rules: the constants are the same,
    // so every amount is the same to the cent.
    let earlier = Company::new();
    let file = earlier.write(
        "company.toml",
        &DE_COMPANY.replace("2027-", "2026-").replace("start = 2026-12-15", "start = 2025-12-15"),
    );
    earlier.ok(&["init", &file]);
    earlier.ok(&["run", "--through", "2026-01-31", "--quiet"]);
    let shipped = table(&earlier.ok(&["payroll", "--period", "2026-01"]));
    let same = &shipped[&("lena".to_owned(), "TOKEN".to_owned())];
    for column in ["de_wage_tax", "de_solidarity_surcharge", "de_church_tax", "de_social_insurance_ee", "tax_remitted"]
    {
        assert_eq!(row[column], same[column], "{column}");
    }
}
