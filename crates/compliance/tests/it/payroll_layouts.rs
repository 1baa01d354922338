//! Payroll provider layouts and registers (docs/exports.md#payroll-providers): the writer's
//! header and rows exactly, Gusto refused as cash-only, the hand-written register fixtures of
//! each provider (tests/fixtures/registers/, each citing its source at the top) read back and
//! reconciled, a planted difference named, and bad register rows reported at file:line:column.
//!
//! The rows, worked by hand (docs/tax-rules.md, the 2026 rules the demo company uses):
//! - ada (W-2, CA): 8,449.00 token income; federal 22% = 1,858.78; Medicare 1.45% = 122.5105 →
//!   122.51; CA supplemental 10.23% = 864.3327 → 864.33; Social Security 0.00 (past the wage
//!   base); sell-to-cover cash remitted = 1,858.78 + 122.51 + 864.33 = 2,845.62.
//! - ben (W-2, TX): 4,000.00; federal 22% = 880.00; Social Security 6.2% = 248.00; Medicare
//!   1.45% = 58.00; no state income tax; remitted 1,186.00.
//! - jonah (1099-NEC): 1,000.00, nothing withheld; paid outside payroll, so never in a layout.

// Tests may unwrap: a failure panics at the line that says what was expected.
#![allow(clippy::unwrap_used)]

use jiff::civil::date;
use tokencomp_compliance::payroll::{AMOUNT_COLUMNS, PayrollRow};
use tokencomp_compliance::payroll_layouts::{Difference, LayoutError, Period, read_register, reconcile, to_layout};
use tokencomp_formats::payroll_map::{self, ColumnMap};
use tokencomp_money::Decimal;

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn row(person: &str, name: &str, form: &str, state: &str, amounts: &[(&str, &str)]) -> PayrollRow {
    let mut values = [Decimal::ZERO; tokencomp_compliance::payroll::COLUMNS];
    for (column, v) in amounts {
        let i = AMOUNT_COLUMNS.iter().position(|c| c == column).unwrap();
        values[i] = dec(v);
    }
    PayrollRow {
        person: person.into(),
        name: name.into(),
        period: "2026-10".into(),
        earning_code: "TOKEN".into(),
        form: form.into(),
        currency: "USD".into(),
        state: state.into(),
        adjusts: String::new(),
        tax_year: 2026,
        wage_bases: true,
        values,
    }
}

fn rows() -> Vec<PayrollRow> {
    vec![
        row(
            "ada",
            "Ada Okafor",
            "W-2",
            "CA",
            &[
                ("token_income", "8449.00"),
                ("gross_supplemental_wages", "8449.00"),
                ("federal_income_tax", "1858.78"),
                ("medicare_ee", "122.51"),
                ("state_income_tax", "864.33"),
                ("tax_remitted", "2845.62"),
            ],
        ),
        row(
            "ben",
            "Ben Richter",
            "W-2",
            "TX",
            &[
                ("token_income", "4000.00"),
                ("gross_supplemental_wages", "4000.00"),
                ("federal_income_tax", "880.00"),
                ("social_security_ee", "248.00"),
                ("medicare_ee", "58.00"),
                ("tax_remitted", "1186.00"),
            ],
        ),
        row("jonah", "Jonah Reyes", "1099-NEC", "NY", &[("token_income", "1000.00")]),
    ]
}

fn period() -> Period<'static> {
    Period { id: "2026-10", start: date(2026, 10, 1), end: date(2026, 10, 31) }
}

fn shipped(provider: &str) -> ColumnMap {
    let mut text = payroll_map::builtin(provider).unwrap().to_owned();
    // ADP's codes are the company's own: these stand for the ones set up in its account.
    for code in ["XYZ", "TOKENS", "TK", "RB"] {
        text = text.replacen("field = \"const:\"", &format!("field = \"const:{code}\""), 1);
    }
    payroll_map::read(provider, &text).unwrap()
}

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/registers/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn each_layout_writes_its_columns_dates_and_numbers_exactly() {
    // (provider, header, ada's row): the contractor is left out, amounts have two decimals,
    // dates follow the map (ADP, Rippling: MM/DD/YYYY; Deel: YYYY-MM-DD).
    let cases = [
        (
            "adp",
            "Co Code,Batch ID,File #,Memo Code,Memo Amount,Earnings 3 Code,Earnings 3 Amount",
            "XYZ,TOKENS,ada,TK,8449.00,RB,2845.62",
        ),
        (
            "rippling",
            "Employee ID,Employee Name,Pay Period End,Earning Type,Amount,Reimbursement",
            "ada,Ada Okafor,10/31/2026,Imputed Income,8449.00,2845.62",
        ),
        (
            "deel",
            "Worker ID,Worker Name,Event Date,Taxable gain or loss,Plan currency,Method of tax coverage,Tax coverage cash",
            "ada,Ada Okafor,2026-10-31,8449.00,USD,Sell to cover,2845.62",
        ),
    ];
    for (provider, header, ada) in cases {
        let text = to_layout(&rows(), &shipped(provider), &period()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{provider}: header, ada, ben (jonah is a contractor)\n{text}");
        assert_eq!(lines[0], header, "{provider}");
        assert_eq!(lines[1], ada, "{provider}");
        assert!(lines[2].starts_with(if provider == "adp" { "XYZ,TOKENS,ben," } else { "ben," }), "{provider}");
    }
}

#[test]
fn gusto_is_refused_because_it_carries_only_cash_earnings() {
    let map = payroll_map::read("gusto", payroll_map::builtin("gusto").unwrap()).unwrap();
    let err = to_layout(&rows(), &map, &period()).unwrap_err();
    let LayoutError::CashOnly { provider, reason } = &err else { panic!("{err:?}") };
    assert_eq!(provider, "gusto");
    assert!(reason.contains("custom earning types are not supported"), "{reason}");
    assert!(err.to_string().starts_with("the gusto layout is refused: it can carry only cash earnings"), "{err}");
}

#[test]
fn each_providers_register_fixture_reads_and_agrees() {
    for provider in ["adp", "rippling", "deel"] {
        let map = shipped(provider);
        let text = fixture(&format!("{provider}.csv"));
        let register = read_register(&format!("{provider}.csv"), &text, &map).unwrap_or_else(|e| {
            panic!("{provider}: {}", e.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))
        });
        let ada = register.iter().find(|r| r.person == "ada").unwrap();
        assert_eq!(ada.amounts["federal_income"], dec("1858.78"), "{provider}");
        assert_eq!(ada.amounts["state_income"], dec("864.33"), "{provider}");
        assert_eq!(reconcile(&rows(), &register, &map), vec![], "{provider}");
    }
}

#[test]
fn a_planted_difference_is_named_by_person_and_line_with_both_amounts() {
    let map = shipped("rippling");
    let register = read_register("rippling-planted.csv", &fixture("rippling-planted.csv"), &map).unwrap();
    assert_eq!(
        reconcile(&rows(), &register, &map),
        vec![Difference {
            person: "ben".into(),
            line: "medicare".into(),
            ours: dec("58.00"),
            theirs: dec("58.75"),
            difference: dec("0.75"),
        }]
    );
    // A person missing from the register differs on each line we withheld.
    let only_ada: Vec<_> = register.into_iter().filter(|r| r.person == "ada").collect();
    let missing = reconcile(&rows(), &only_ada, &map);
    let named: Vec<(&str, &str, Decimal)> =
        missing.iter().map(|d| (d.person.as_str(), d.line.as_str(), d.difference)).collect();
    assert_eq!(
        named,
        [
            ("ben", "federal_income", dec("-880.00")),
            ("ben", "medicare", dec("-58.00")),
            ("ben", "social_security", dec("-248.00"))
        ]
    );
}

#[test]
fn bad_register_rows_are_reported_at_file_line_and_column() {
    let map = shipped("rippling");
    let text = "Employee ID,Employee Name,Federal Income Tax,Social Security,Medicare,Additional Medicare,State Income Tax\n\
                ada,Ada,12.345,0,0,0,0\n\
                ,\"Okafor, Ada\",1,0,0,0,0\n\
                ben,Ben,1,0,abc,0,0\n";
    let shown: Vec<String> =
        read_register("reg.csv", text, &map).unwrap_err().iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "error: `12.345` is not an amount (digits, optional thousands commas, at most 2 decimals)\n  --> reg.csv:2:9 (Federal Income Tax)",
            "error: the row has no employee id\n  --> reg.csv:3:1 (Employee ID)",
            "error: `abc` is not an amount (digits, optional thousands commas, at most 2 decimals)\n  --> reg.csv:4:13 (Medicare)",
        ]
    );
    // A register without a column the map names: refused at the header line.
    let shown: Vec<String> = read_register("reg.csv", "# note\nEmployee ID,Medicare\nada,1\n", &map)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        shown.contains(
            &"error: no column `Federal Income Tax` in the header\n  --> reg.csv:2:1 (register.federal_income)"
                .to_owned()
        ),
        "{shown:?}"
    );
}
