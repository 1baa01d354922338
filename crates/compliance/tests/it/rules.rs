//! The rules tree: a year not shipped is refused naming every constant it lacks; a recorded file
//! overrides exactly the paths it sets (later recordings win); a file to record is checked with
//! its file, line and path; two shipped files never define one value.

use std::str::FromStr;

use jiff::civil::date;
use tokencomp_compliance::rules::{Need, RecordedRules, Rules, RulesError};
use tokencomp_compliance::withholding::{Jurisdiction, Payer, TaxKind, Wages, withhold};
use tokencomp_formats::tax_rules::{Origin, SHIPPED};
use tokencomp_money::Decimal;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("valid")
}

fn recorded(seq: i64, name: &str, text: &str) -> RecordedRules {
    RecordedRules {
        seq,
        actor: "user:cfo".into(),
        at: "2027-01-05T09:00:00Z".into(),
        name: name.into(),
        text: text.into(),
    }
}

const US_CONSTANTS: [&str; 17] = [
    "federal_supplemental.rate",
    "federal_supplemental.high_rate",
    "federal_supplemental.high_threshold",
    "federal_supplemental.source",
    "social_security.employee_rate",
    "social_security.employer_rate",
    "social_security.wage_base",
    "social_security.source",
    "medicare.employee_rate",
    "medicare.employer_rate",
    "medicare.source",
    "additional_medicare.rate",
    "additional_medicare.threshold",
    "additional_medicare.source",
    "futa.rate",
    "futa.wage_base",
    "futa.source",
];

#[test]
fn a_year_not_shipped_names_every_constant_its_people_need() {
    let rules = Rules::builtin().expect("valid");
    let err = rules
        .require(&[Need::Us { year: 2027, state: Some("CA".into()) }, Need::Uk { tax_year: 2027 }])
        .expect_err("2027 is not shipped");
    let mut expected: Vec<String> = US_CONSTANTS.iter().map(|c| format!("us.2027.{c}")).collect();
    expected.extend(["us.2027.state.CA.rate".into(), "us.2027.state.CA.source".into()]);
    // The UK's tax year as rules/uk.toml shapes it (the regions' bands, the NIC thresholds; the
    // NI letters and loan plans are tables a year lists, each refused by name when missing).
    for c in [
        "paye.regulatory_limit",
        "paye.source",
        "paye.rest_of_uk.source",
        "paye.rest_of_uk.bands",
        "nic.primary_threshold",
        "nic.upper_earnings_limit",
        "nic.secondary_threshold",
        "nic.upper_secondary_threshold",
        "nic.source",
    ] {
        expected.push(format!("uk.2027.{c}"));
    }
    assert_eq!(err, RulesError::Missing { missing: expected });
    // A flat-table year with a state it does not have: only that state's constants.
    let err = rules.require(&[Need::Us { year: 2025, state: Some("NV".into()) }]).expect_err("NV is not shipped");
    assert_eq!(err.missing(), ["us.2025.state.NV.rate", "us.2025.state.NV.source"]);
    // A year the state rules file ships: its state module refuses a state it lacks by name.
    assert!(rules.require(&[Need::Us { year: 2026, state: Some("HI".into()) }]).is_ok());
    assert!(rules.require(&[Need::Us { year: 2026, state: Some("CA".into()) }, Need::Uk { tax_year: 2026 }]).is_ok());
    // The lookup says the same, never another year's values.
    let err = rules.us(2027).expect_err("not shipped");
    assert_eq!(err.missing().len(), US_CONSTANTS.len());
    assert!(err.to_string().contains("us.2027.social_security.wage_base"), "{err}");
}

#[test]
fn a_recorded_value_overrides_only_its_path_and_a_later_recording_wins() {
    let shipped = Rules::builtin().expect("valid");
    let first = recorded(40, "ss-a.toml", "[us.2026.social_security]\nwage_base = \"190000\"\nsource = \"notice A\"\n");
    let second =
        recorded(41, "ss-b.toml", "[us.2026.social_security]\nwage_base = \"185000\"\nsource = \"notice B\"\n");
    let rules = Rules::effective(&[first, second]).expect("valid");
    let (was, now) = (shipped.us(2026).expect("valid"), rules.us(2026).expect("valid"));
    assert_eq!(now.social_security.wage_base, d("185000"), "the later recording wins");
    assert_eq!(now.social_security.employee_rate, was.social_security.employee_rate);
    assert_eq!(
        (&now.federal, &now.medicare, &now.futa, &now.states),
        (&was.federal, &was.medicare, &was.futa, &was.states)
    );
    assert_eq!(rules.us(2025).expect("valid"), shipped.us(2025).expect("valid"), "other years untouched");
    let placed = &rules.tree().placed()["us.2026.social_security.wage_base"];
    assert_eq!(
        placed.origin,
        Origin::Recorded {
            seq: 41,
            actor: "user:cfo".into(),
            at: "2027-01-05T09:00:00Z".into(),
            file: "ss-b.toml".into(),
            line: 2
        }
    );
    assert_eq!(placed.source, "notice B");
    assert!(matches!(rules.tree().placed()["us.2026.social_security.employee_rate"].origin, Origin::Shipped { .. }));
    // The line's source names both documents, each with the keys it covers.
    assert!(
        now.social_security.source.ends_with("(employee_rate, employer_rate); notice B (wage_base)"),
        "{}",
        now.social_security.source
    );

    // $1,000 of supplemental wages after $184,000 of the year's wages: under the shipped base of
    // $184,500 only $500.00 is taxed for Social Security (6.2% = 31.00); under the recorded
    // $185,000 all $1,000.00 is (62.00). Every other line is the same.
    let ca = Jurisdiction::Us { state: Some("CA".into()) };
    let wages =
        Wages { year_to_date: d("184000"), supplemental_year_to_date: Decimal::ZERO, period_to_date: Decimal::ZERO };
    let on = date(2026, 6, 15);
    let before = withhold(&shipped, &ca, on, &wages, d("1000")).expect("valid");
    let after = withhold(&rules, &ca, on, &wages, d("1000")).expect("valid");
    assert_eq!(before.amount_of(TaxKind::SocialSecurity, Payer::Employee), d("31.00"));
    assert_eq!(after.amount_of(TaxKind::SocialSecurity, Payer::Employee), d("62.00"));
    for kind in TaxKind::ALL.into_iter().filter(|k| *k != TaxKind::SocialSecurity) {
        for payer in Payer::ALL {
            assert_eq!(before.amount_of(kind, payer), after.amount_of(kind, payer), "{kind} {payer:?}");
        }
    }
}

#[test]
fn a_file_to_record_is_checked_with_its_line_and_path_and_every_problem_at_once() {
    let rules = Rules::builtin().expect("valid");
    let text = "[us.2027.federal_supplemental]\nrate = \"22\"\nhigh_rate = \"37%\"\nhigh_threshold = \"1000000\"\nsource = \"Pub 15\"\n";
    let err = rules.check_addition("y.toml", text).expect_err("incomplete and invalid");
    let RulesError::Invalid { file, problems } = &err else { panic!("{err:?}") };
    assert_eq!(file, "y.toml");
    let found: Vec<(Option<usize>, String)> = problems.iter().map(|p| (p.line, p.path())).collect();
    assert_eq!(found[0], (Some(1), "us.2027.social_security.employee_rate".to_owned()));
    assert!(found.contains(&(Some(2), "us.2027.federal_supplemental.rate".to_owned())), "{found:?}");
    assert!(found.contains(&(Some(1), "us.2027.futa.source".to_owned())), "{found:?}");
    assert_eq!(problems.len(), 1 + 13, "the bad rate and the 13 constants the year still lacks");
    assert!(problems.iter().all(|p| p.file == "y.toml"));
    // One corrected value of a shipped year is complete by itself.
    let years = rules
        .check_addition("fix.toml", "[us.2026.state.CA.income]\nrate = \"11%\"\nsource = \"notice\"\n")
        .expect("valid");
    assert_eq!(years, [("us".to_owned(), 2026)]);
    // A state's flat rate of a year the state rules file ships is refused as a bad shape.
    let err = rules
        .check_addition("old.toml", "[us.2026.state.CA]\nrate = \"11%\"\nsource = \"notice\"\n")
        .expect_err("2026's states have income methods");
    assert!(err.to_string().contains("us.2026.state.CA"), "{err}");
    let err =
        rules.check_addition("s.toml", "[us.2026.state.ca]\nrate = \"1%\"\nsource = \"x\"\n").expect_err("bad code");
    assert!(err.to_string().contains("s.toml line 1: us.2026.state.ca"), "{err}");
}

#[test]
fn two_shipped_files_never_define_one_value() {
    let a = "[us.2030.futa]\nrate = \"0.6%\"\nwage_base = \"7000\"\nsource = \"Pub 15\"\n";
    let b = "# another file\n[us.2030.futa]\nrate = \"0.6%\"\nsource = \"Pub 15\"\n";
    let err = Rules::shipped(&[("rules/a.toml", a), ("rules/b.toml", b)]).expect_err("duplicate");
    assert_eq!(
        err.to_string(),
        "the shipped rules define a value twice:\n  us.2030.futa.rate is defined in two shipped files: rules/a.toml:2 and rules/b.toml:3"
    );
    // What is shipped today is one list, read whole.
    assert!(SHIPPED.iter().any(|f| f.name == "rules/tax.toml"));
    assert_eq!(Rules::builtin().expect("valid").file(), SHIPPED.iter().map(|f| f.name).collect::<Vec<_>>().join(", "));
}
