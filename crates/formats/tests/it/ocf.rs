//! OCF import and export. The expected dates and amounts were worked out by hand from the OCF
//! spec (the explainer, the AllocationType table and the samples) and the notes on each test.
//! None of them is copied from this code's output.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde_json::{Value, json};
use tokencomp_core::{Allocation, Calendar, DayOfMonth, Grant, Linear, LinearModel, Period, Schedule, VestReason};
use tokencomp_formats::diag::Diagnostic;
use tokencomp_formats::ocf::{
    self, OcfImport, OcfWriteError, read_package, read_package_with_token, write_package, write_vesting_terms,
};
use tokencomp_money::Token;

// ---- helpers --------------------------------------------------------------------------------

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ocf")
}

fn fs_read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| e.to_string())
}

fn manifest_of(dir: &str) -> String {
    examples().join(dir).join("Manifest.ocf.json").to_string_lossy().into_owned()
}

fn import(dir: &str) -> OcfImport {
    match read_package(&manifest_of(dir), &mut fs_read) {
        Ok(i) => i,
        Err(errs) => panic!("{dir}: {}", render(&errs)),
    }
}

fn render(errs: &[Diagnostic]) -> String {
    errs.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

fn grant<'a>(imp: &'a OcfImport, id: &str) -> &'a Grant {
    imp.grants().find(|g| g.id == id).unwrap_or_else(|| panic!("no grant {id}"))
}

fn d(s: &str) -> Date {
    s.parse().expect("date")
}

/// The timeline as (date, amount in base units, reason) rows.
fn rows(g: &Grant) -> Vec<(String, u128, VestReason)> {
    g.timeline(&TimeZone::UTC, None)
        .expect("timeline")
        .tranches
        .iter()
        .map(|t| (t.date.to_string(), t.amount.base_units(), t.reason))
        .collect()
}

fn amounts(g: &Grant) -> Vec<(String, u128)> {
    rows(g).into_iter().map(|r| (r.0, r.1)).collect()
}

fn dated(pairs: &[(&str, u128)]) -> Vec<(String, u128)> {
    pairs.iter().map(|(d, a)| ((*d).to_owned(), *a)).collect()
}

// An in-memory package for the bad-input tests: the manifest lists one terms file and one
// transactions file. Each condition goes on its own line, from line 5 on, with the field
// under test first, so the expected line and column can be counted by hand.

const MANIFEST: &str = r#"{
  "ocf_version": "1.2.0",
  "file_type": "OCF_MANIFEST_FILE",
  "issuer": {"object_type": "ISSUER", "id": "co", "legal_name": "Co", "formation_date": "2020-01-01", "country_of_formation": "US"},
  "as_of": "2025-06-30",
  "generated_at": "2025-06-30T00:00:00Z",
  "stock_plans_files": [],
  "stock_legend_templates_files": [],
  "stock_classes_files": [],
  "vesting_terms_files": [{"filepath": "./VestingTerms.ocf.json"}],
  "valuations_files": [],
  "transactions_files": [{"filepath": "Transactions.ocf.json"}],
  "stakeholders_files": []
}
"#;

fn terms_file(allocation: &str, conds: &[&str]) -> String {
    format!(
        "{{\"file_type\": \"OCF_VESTING_TERMS_FILE\", \"items\": [\n\
         {{\"id\": \"t\", \"object_type\": \"VESTING_TERMS\", \"name\": \"T\", \"description\": \"T\",\n\
         \"allocation_type\": \"{allocation}\",\n\
         \"vesting_conditions\": [\n{}\n]}}]}}\n",
        conds.join(",\n")
    )
}

fn tx_file(items: &[String]) -> String {
    format!("{{\"file_type\": \"OCF_TRANSACTIONS_FILE\", \"items\": [\n{}\n]}}\n", items.join(",\n"))
}

fn issuance(security: &str, quantity: &str, terms: &str) -> String {
    format!(
        r#"{{"object_type": "TX_EQUITY_COMPENSATION_ISSUANCE", "id": "i-{security}", "security_id": "{security}", "date": "2024-01-01", "security_law_exemptions": [], "stakeholder_id": "alice", "custom_id": "{security}", "compensation_type": "RSU", "quantity": "{quantity}", "vesting_terms_id": "{terms}", "expiration_date": null, "termination_exercise_windows": []}}"#
    )
}

fn vesting_tx(kind: &str, security: &str, date: &str, condition: &str) -> String {
    format!(
        r#"{{"object_type": "TX_VESTING_{kind}", "id": "{kind}-{security}-{condition}", "security_id": "{security}", "date": "{date}", "vesting_condition_id": "{condition}"}}"#
    )
}

fn start(security: &str, date: &str) -> String {
    vesting_tx("START", security, date, "start")
}

const START: &str =
    r#"{"id": "start", "quantity": "0", "trigger": {"type": "VESTING_START_DATE"}, "next_condition_ids": ["cliff"]}"#;

fn monthly(id: &str, num: &str, den: &str, occurrences: u32, to: &str, next: &str) -> String {
    format!(
        r#"{{"id": "{id}", "portion": {{"numerator": "{num}", "denominator": "{den}"}}, "trigger": {{"type": "VESTING_SCHEDULE_RELATIVE", "period": {{"length": 1, "type": "MONTHS", "occurrences": {occurrences}, "day_of_month": "VESTING_START_DAY_OR_LAST_DAY_OF_MONTH"}}, "relative_to_condition_id": "{to}"}}, "next_condition_ids": [{next}]}}"#
    )
}

fn read_mem(terms: &str, txs: &str, token: Option<&Token>) -> Result<OcfImport, Vec<Diagnostic>> {
    let files: HashMap<&str, &str> =
        [("pkg/Manifest.ocf.json", MANIFEST), ("pkg/VestingTerms.ocf.json", terms), ("pkg/Transactions.ocf.json", txs)]
            .into_iter()
            .collect();
    let mut read = |p: &str| files.get(p).map(|s| (*s).to_owned()).ok_or_else(|| format!("no such file {p}"));
    match token {
        Some(t) => read_package_with_token("pkg/Manifest.ocf.json", t, &mut read),
        None => read_package("pkg/Manifest.ocf.json", &mut read),
    }
}

fn errors_of(terms: &str, txs: &str) -> Vec<Diagnostic> {
    match read_mem(terms, txs, None) {
        Ok(_) => panic!("expected diagnostics"),
        Err(e) => e,
    }
}

#[track_caller]
fn assert_diag(d: &Diagnostic, file: &str, field: Option<&str>, at: Option<(usize, usize)>, message: &str) {
    assert_eq!(d.location.file, file, "{d}");
    assert_eq!(d.location.field.as_deref(), field, "{d}");
    if let Some((line, col)) = at {
        assert_eq!((d.location.line, d.location.column), (Some(line), Some(col)), "{d}");
    }
    assert!(d.message.contains(message), "{d}\nshould contain: {message}");
}

// ---- the sample package ---------------------------------------------------------------------

#[test]
fn four_year_one_year_cliff_follows_the_explainer_example_3() {
    // Explainer Example 3: 480 shares, vesting start 2021-01-30. The cliff is 12/48 on
    // 2022-01-30. Then 10 shares on the 30th of each month, or the month's last day in
    // February.
    let imp = import("sample");
    let g = grant(&imp, "vesting-ex-3");
    assert_eq!(g.holder, "alice");
    assert_eq!(g.amount.base_units(), 480);
    let monthly = [
        "2022-02-28",
        "2022-03-30",
        "2022-04-30",
        "2022-05-30",
        "2022-06-30",
        "2022-07-30",
        "2022-08-30",
        "2022-09-30",
        "2022-10-30",
        "2022-11-30",
        "2022-12-30",
        "2023-01-30",
        "2023-02-28",
        "2023-03-30",
        "2023-04-30",
        "2023-05-30",
        "2023-06-30",
        "2023-07-30",
        "2023-08-30",
        "2023-09-30",
        "2023-10-30",
        "2023-11-30",
        "2023-12-30",
        "2024-01-30",
        "2024-02-29",
        "2024-03-30",
        "2024-04-30",
        "2024-05-30",
        "2024-06-30",
        "2024-07-30",
        "2024-08-30",
        "2024-09-30",
        "2024-10-30",
        "2024-11-30",
        "2024-12-30",
        "2025-01-30",
    ];
    let mut expected = vec![("2022-01-30".to_owned(), 120, VestReason::Cliff)];
    expected.extend(monthly.iter().map(|d| ((*d).to_owned(), 10, VestReason::Vest)));
    assert_eq!(expected.len(), 37);
    assert_eq!(rows(g), expected);
    // The classic three-condition chain is an exact calendar.
    match &g.schedule {
        Schedule::Calendar(c) => {
            assert_eq!(c.start(), d("2021-01-30"));
            assert_eq!(c.period(), Period::Months(1));
            assert_eq!((c.occurrences(), c.cliff()), (48, 12));
            assert_eq!(c.day_of_month(), DayOfMonth::VestingStartDayOrLast);
            assert_eq!(c.allocation(), Allocation::CumulativeRounding);
        }
        other => panic!("expected a calendar, got {other:?}"),
    }
}

#[test]
fn six_year_back_loaded_vests_each_phase_in_full() {
    // 4800 shares from 2025-01-01: 10% at month 24, then 1/80, 1/60, 1/48 and 1/40 monthly
    // for twelve months each. Every piece divides evenly: 480; 12 × 60; 12 × 80; 12 × 100;
    // 12 × 120.
    let imp = import("sample");
    let g = grant(&imp, "six-year-option");
    let r = amounts(g);
    assert_eq!(r.len(), 49);
    assert_eq!(r[0], ("2027-01-01".to_owned(), 480));
    let phase = |from: usize| -> (u128, &str, &str) {
        let p = &r[from..from + 12];
        (p.iter().map(|x| x.1).sum(), &p[0].0, &p[11].0)
    };
    assert_eq!(phase(1), (720, "2027-02-01", "2028-01-01"));
    assert_eq!(phase(13), (960, "2028-02-01", "2029-01-01"));
    assert_eq!(phase(25), (1200, "2029-02-01", "2030-01-01"));
    assert_eq!(phase(37), (1440, "2030-02-01", "2031-01-01"));
    for (i, (_, a)) in r.iter().enumerate().skip(1) {
        let want = [60, 80, 100, 120][(i - 1) / 12];
        assert_eq!(*a, want, "installment {i}");
    }
    // Unequal portions make a custom schedule: the weights are the portions over 240.
    match &g.schedule {
        Schedule::Custom(c) => {
            assert_eq!(c.allocation(), Allocation::BackLoaded);
            assert_eq!(c.total_weight(), 240);
            let w: Vec<u128> = c.tranches().map(|t| t.1).collect();
            assert_eq!(w[0], 24);
            assert_eq!(&w[1..4], &[3, 3, 3]);
            assert_eq!(w[48], 6);
        }
        other => panic!("expected a custom schedule, got {other:?}"),
    }
}

#[test]
fn cliff_installment_allocates_over_all_installments_like_issue_514() {
    // 50 shares over 48 months with CUMULATIVE_ROUNDING and the cliff at installment 12.
    // The cliff pays round(50 × 12/48) = round(12.5) = 13. The monthly vests bring the
    // total to exactly 50. A per-condition allocation would pay 13 + 38 = 51.
    let imp = import("sample");
    let g = grant(&imp, "rsu-cliff-installment-50");
    let r = rows(g);
    assert_eq!(r.len(), 37);
    assert_eq!(r[0], ("2025-01-31".to_owned(), 13, VestReason::Cliff));
    assert_eq!(r[1].0, "2025-02-28");
    assert_eq!(r[2].0, "2025-03-31");
    assert_eq!(r[36].0, "2028-01-31");
    assert_eq!(r.iter().map(|x| x.1).sum::<u128>(), 50);
    // k = 13: round(13.54) = 14, so 1 share; k = 14: round(14.58) = 15, so 1 share.
    assert_eq!((r[1].1, r[2].1), (1, 1));
    // The classic form of the same schedule reads as the same calendar.
    let classic = grant(&imp, "rsu-classic-50");
    assert_eq!(classic.schedule, g.schedule);
    assert_eq!(rows(classic), r);
}

#[test]
fn day_periods_count_calendar_days() {
    // 1000 shares: the cliff of 4/16 comes 364 days after 2024-01-01, a leap year, on
    // 2024-12-30. Then 1/16 every 91 days. CUMULATIVE_ROUND_DOWN floors 62.5 × k.
    let imp = import("sample");
    let g = grant(&imp, "rsu-days-1000");
    let expected = dated(&[
        ("2024-12-30", 250),
        ("2025-03-31", 62),
        ("2025-06-30", 63),
        ("2025-09-29", 62),
        ("2025-12-29", 63),
        ("2026-03-30", 62),
        ("2026-06-29", 63),
        ("2026-09-28", 62),
        ("2026-12-28", 63),
        ("2027-03-29", 62),
        ("2027-06-28", 63),
        ("2027-09-27", 62),
        ("2027-12-27", 63),
    ]);
    assert_eq!(amounts(g), expected);
    assert!(matches!(&g.schedule, Schedule::Calendar(c) if c.period() == Period::Days(91) && c.cliff() == 4));
}

#[test]
fn thirty_first_or_last_day_lands_on_each_month_end() {
    // Start 2024-01-15, day rule 31_OR_LAST. 1000 / 12 = 83 remainder 4, and FRONT_LOADED
    // gives the first four installments one extra share.
    let imp = import("sample");
    let g = grant(&imp, "rsu-month-end-1000");
    let dates = [
        "2024-02-29",
        "2024-03-31",
        "2024-04-30",
        "2024-05-31",
        "2024-06-30",
        "2024-07-31",
        "2024-08-31",
        "2024-09-30",
        "2024-10-31",
        "2024-11-30",
        "2024-12-31",
        "2025-01-31",
    ];
    let expected: Vec<(String, u128)> =
        dates.iter().enumerate().map(|(i, d)| ((*d).to_owned(), if i < 4 { 84 } else { 83 })).collect();
    assert_eq!(amounts(g), expected);
}

#[test]
fn a_fixed_day_is_that_day_of_each_later_month() {
    // Start 2024-01-20, day "15". Installment k is the 15th of the k-th month after January
    // (documented rule), so the first vest is 2024-02-15. 100 / 24 = 4 remainder 4, and
    // BACK_LOADED_TO_SINGLE_TRANCHE puts the whole remainder in the last installment.
    let imp = import("sample");
    let g = grant(&imp, "rsu-15th-100");
    let r = amounts(g);
    assert_eq!(r.len(), 24);
    for (i, (date, amount)) in r.iter().enumerate() {
        let month = 2 + i; // February 2024 is month 2
        let want = format!("{}-{:02}-15", 2024 + (month - 1) / 12, (month - 1) % 12 + 1);
        assert_eq!(date, &want);
        assert_eq!(*amount, if i == 23 { 8 } else { 4 }, "{date}");
    }
    assert!(matches!(&g.schedule, Schedule::Calendar(c) if c.day_of_month() == DayOfMonth::Day(15)));
}

#[test]
fn absolute_dates_and_remainder_portions_make_dated_tranches() {
    // 1/4 on 2025-03-31 and 1/4 on 2025-09-30, then "all of the remainder" on 2026-03-31.
    // The weights are 1:1:2. CUMULATIVE_ROUNDING rounds the cumulative half up:
    // 250.25 → 250, 500.5 → 501, then 1001.
    let imp = import("sample");
    let g = grant(&imp, "rsa-fixed-dates-1001");
    assert_eq!(amounts(g), dated(&[("2025-03-31", 250), ("2025-09-30", 251), ("2026-03-31", 500)]));
}

#[test]
fn explicit_vestings_are_kept_exactly_and_win_over_terms() {
    let imp = import("sample");
    // The OCF sample: 10000 shares as 3333 / 3334 / 3333.
    let g = grant(&imp, "rsu-vestings-10000");
    assert_eq!(amounts(g), dated(&[("2024-06-07", 3333), ("2025-06-07", 3334), ("2026-06-07", 3333)]));
    // The sample warrant names terms that do not exist ("one-year-quarterly"). Its vestings
    // win, so that is not an error.
    let w = grant(&imp, "warrant-22538");
    assert_eq!(w.holder, "acme-ventures");
    assert_eq!(
        amounts(w),
        dated(&[("2022-05-01", 5635), ("2022-08-01", 5634), ("2022-11-01", 5635), ("2023-02-01", 5634),])
    );
}

#[test]
fn the_sample_package_reads_cleanly() {
    let imp = import("sample");
    assert_eq!(imp.warnings, vec![], "{}", render(&imp.warnings));
    let p = &imp.package;
    assert_eq!(p.issuer.legal_name, "Sample Token Co.");
    assert_eq!(p.as_of, d("2025-06-30"));
    assert_eq!((p.token.symbol(), p.token.decimals()), ("SHARE", 0));
    // The fully vested issuance (no terms, no vestings) is not a vesting grant.
    let ids: Vec<&str> = imp.grants().map(|g| g.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "vesting-ex-3",
            "six-year-option",
            "rsu-cliff-installment-50",
            "rsu-classic-50",
            "rsu-days-1000",
            "rsu-month-end-1000",
            "rsu-15th-100",
            "rsa-fixed-dates-1001",
            "rsu-vestings-10000",
            "warrant-22538",
        ]
    );
    assert_eq!(p.stakeholders.len(), 9);
    let og = p.grants.iter().find(|g| g.grant.id == "vesting-ex-3").expect("grant");
    assert_eq!(og.issued, d("2021-01-01"));
}

// ---- allocation types ---------------------------------------------------------------------

#[test]
fn every_allocation_type_splits_18_over_4_as_the_spec_table_says() {
    // The AllocationType enum's example: 18 shares in 4 tranches. Here they are quarterly
    // from 2024-01-01. FRACTIONAL (4.5 each) at whole-share precision is the cumulative
    // floor: 4, 9, 13, 18.
    let imp = import("allocations");
    let dates = ["2024-04-01", "2024-07-01", "2024-10-01", "2025-01-01"];
    let table: [(&str, [u128; 4]); 7] = [
        ("cumulative-rounding", [5, 4, 5, 4]),
        ("cumulative-round-down", [4, 5, 4, 5]),
        ("front-loaded", [5, 5, 4, 4]),
        ("back-loaded", [4, 4, 5, 5]),
        ("front-loaded-to-single-tranche", [6, 4, 4, 4]),
        ("back-loaded-to-single-tranche", [4, 4, 4, 6]),
        ("fractional", [4, 5, 4, 5]),
    ];
    for (slug, want) in table {
        let g = grant(&imp, &format!("rsu-18-{slug}"));
        let expected: Vec<(String, u128)> = dates.iter().zip(want).map(|(d, a)| ((*d).to_owned(), a)).collect();
        assert_eq!(amounts(g), expected, "{slug}");
    }
}

#[test]
fn fractional_is_exact_when_the_token_has_the_decimals() {
    // With one decimal, 18 shares are 180 base units, and each tranche is 4.5 shares.
    let token = Token::new("SHARE", 1).expect("token");
    let imp = read_package_with_token(&manifest_of("allocations"), &token, &mut fs_read).expect("reads");
    let g = grant(&imp, "rsu-18-fractional");
    assert_eq!(g.amount.base_units(), 180);
    let a: Vec<u128> = amounts(g).iter().map(|r| r.1).collect();
    assert_eq!(a, [45, 45, 45, 45]);
}

// ---- events -------------------------------------------------------------------------------

#[test]
fn recorded_events_give_event_conditions_their_dates() {
    let imp = import("events");
    assert_eq!(imp.warnings, vec![], "{}", render(&imp.warnings));
    // Explainer Example 1: 500 shares vest on the day of the qualifying sale.
    assert_eq!(amounts(grant(&imp, "vesting-ex-1")), dated(&[("2022-07-14", 500)]));
    // Example 2: the sale on 2024-03-15 comes before both expirations.
    assert_eq!(amounts(grant(&imp, "vesting-ex-2")), dated(&[("2024-03-15", 1000)]));
    // Multi-tranche: two sales of 20% each, then a double-trigger acceleration of all that
    // remains (remainder: true, so 1/1 of the 60% left).
    assert_eq!(
        amounts(grant(&imp, "multi-sale-4800")),
        dated(&[("2022-01-01", 960), ("2022-06-01", 960), ("2023-01-01", 2880)])
    );
}

#[test]
fn the_successor_that_fires_first_is_taken_and_ties_go_to_the_first_listed() {
    // `slow` is listed first but fires on 2026-01-01. `fast` is absolute on 2025-01-01.
    // Evaluated day by day (as the explainer describes), `fast` triggers first.
    let terms = terms_file(
        "CUMULATIVE_ROUND_DOWN",
        &[
            r#"{"id": "start", "quantity": "0", "trigger": {"type": "VESTING_START_DATE"}, "next_condition_ids": ["slow", "fast", "tie"]}"#,
            r#"{"id": "slow", "portion": {"numerator": "1", "denominator": "1"}, "trigger": {"type": "VESTING_SCHEDULE_RELATIVE", "period": {"length": 24, "type": "MONTHS", "occurrences": 1, "day_of_month": "01"}, "relative_to_condition_id": "start"}, "next_condition_ids": []}"#,
            r#"{"id": "fast", "portion": {"numerator": "1", "denominator": "2"}, "trigger": {"type": "VESTING_SCHEDULE_ABSOLUTE", "date": "2025-01-01"}, "next_condition_ids": ["rest"]}"#,
            r#"{"id": "tie", "portion": {"numerator": "1", "denominator": "1"}, "trigger": {"type": "VESTING_SCHEDULE_ABSOLUTE", "date": "2025-01-01"}, "next_condition_ids": []}"#,
            r#"{"id": "rest", "portion": {"numerator": "1", "denominator": "2"}, "trigger": {"type": "VESTING_SCHEDULE_ABSOLUTE", "date": "2025-07-01"}, "next_condition_ids": []}"#,
        ],
    );
    let txs = tx_file(&[issuance("s", "100", "t"), start("s", "2024-01-01")]);
    let imp = read_mem(&terms, &txs, None).unwrap_or_else(|e| panic!("{}", render(&e)));
    // `fast` and `tie` both fire on 2025-01-01, and `fast` is listed first.
    assert_eq!(amounts(grant(&imp, "s")), dated(&[("2025-01-01", 50), ("2025-07-01", 50)]));
}

#[test]
fn an_unrecorded_event_that_could_still_change_the_path_is_a_warning() {
    // A 12-month schedule whose start may instead be followed by an acceleration event. The
    // package is as of 2025-06-30, before the first monthly vest on 2025-07-01, so the event
    // could still happen first.
    let terms = terms_file(
        "CUMULATIVE_ROUND_DOWN",
        &[
            r#"{"id": "start", "quantity": "0", "trigger": {"type": "VESTING_START_DATE"}, "next_condition_ids": ["acceleration", "monthly"]}"#,
            r#"{"id": "acceleration", "portion": {"numerator": "1", "denominator": "1"}, "trigger": {"type": "VESTING_EVENT"}, "next_condition_ids": []}"#,
            &monthly("monthly", "1", "12", 12, "start", ""),
        ],
    );
    let txs = tx_file(&[issuance("s", "12", "t"), start("s", "2025-06-01")]);
    let imp = read_mem(&terms, &txs, None).unwrap_or_else(|e| panic!("{}", render(&e)));
    assert_eq!(amounts(grant(&imp, "s")).len(), 12);
    assert_eq!(imp.warnings.len(), 1);
    assert_diag(
        &imp.warnings[0],
        "pkg/VestingTerms.ocf.json",
        Some("/items/0/vesting_conditions/1"),
        Some((6, 1)),
        "event condition `acceleration` has no TX_VESTING_EVENT and is skipped; the grant follows the time-based path start → monthly",
    );
    // Started a year earlier, the path was already taken before as_of: no warning.
    let txs = tx_file(&[issuance("s", "12", "t"), start("s", "2024-06-01")]);
    let imp = read_mem(&terms, &txs, None).unwrap_or_else(|e| panic!("{}", render(&e)));
    assert_eq!(imp.warnings, vec![]);
}

#[test]
fn vesting_that_waits_for_an_event_is_an_error_naming_the_condition() {
    // Explainer Example 2 for vesting-ex-2 (start 2023-07-01) without a sale. The absolute
    // expiration (2025-01-01) fires before the relative one (2026-07-01) and vests nothing,
    // and the rest waits for `qualifying-sale`.
    let text = std::fs::read_to_string(examples().join("events/VestingTerms.ocf.json")).expect("example");
    let txs = tx_file(&[
        issuance("vesting-ex-2", "1000", "all-or-nothing-with-expiration"),
        vesting_tx("START", "vesting-ex-2", "2023-07-01", "vesting-start"),
    ]);
    let errs = errors_of(&text, &txs);
    assert_eq!(errs.len(), 1, "{}", render(&errs));
    assert_diag(
        &errs[0],
        "pkg/VestingTerms.ocf.json",
        Some("/items/1/vesting_conditions/3"),
        None,
        "security `vesting-ex-2`: vesting terms `all-or-nothing-with-expiration` vest only 0 of the quantity by time (path vesting-start → absolute-expiration); the rest depends on event condition `qualifying-sale`",
    );
    // Example 1 has no start at all, only the event.
    let txs = tx_file(&[issuance("vesting-ex-1", "500", "all-or-nothing")]);
    let errs = errors_of(&text, &txs);
    assert_eq!(errs.len(), 1, "{}", render(&errs));
    assert_diag(
        &errs[0],
        "pkg/VestingTerms.ocf.json",
        Some("/items/0/vesting_conditions/0"),
        None,
        "vesting terms `all-or-nothing` start with event condition `qualifying-sale`, which has no TX_VESTING_EVENT",
    );
}

// ---- round trips --------------------------------------------------------------------------

#[test]
fn every_example_round_trips_through_write_and_read() {
    let mut dirs: Vec<String> = std::fs::read_dir(examples())
        .expect("examples/ocf")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Manifest.ocf.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 3, "{dirs:?}");
    for dir in dirs {
        let first = import(&dir);
        let files = write_package(&first.package).unwrap_or_else(|e| panic!("{dir}: {e}"));
        assert_eq!(files[0].0, "Manifest.ocf.json");
        let map: HashMap<String, String> = files.iter().map(|(p, t)| (format!("out/{p}"), t.clone())).collect();
        let mut read = |p: &str| map.get(p).cloned().ok_or_else(|| format!("missing {p}"));
        let second = read_package_with_token("out/Manifest.ocf.json", &first.package.token, &mut read)
            .unwrap_or_else(|e| panic!("{dir}: {}", render(&e)));
        // The written manifest's MD5s match the written files.
        assert_eq!(second.warnings, vec![], "{dir}: {}", render(&second.warnings));
        assert_eq!(second.package.token, first.package.token);
        assert_eq!(second.package.grants.len(), first.package.grants.len(), "{dir}");
        for (a, b) in first.package.grants.iter().zip(&second.package.grants) {
            assert_eq!(a.grant.id, b.grant.id, "{dir}");
            assert_eq!(a.grant.holder, b.grant.holder, "{dir}");
            assert_eq!(a.grant.amount, b.grant.amount, "{dir} {}", a.grant.id);
            assert_eq!(a.grant.schedule, b.grant.schedule, "{dir} {}", a.grant.id);
            assert_eq!(a.issued, b.issued, "{dir} {}", a.grant.id);
            assert_eq!(rows(&a.grant), rows(&b.grant), "{dir} {}", a.grant.id);
        }
        // Stakeholders and the issuer survive.
        assert_eq!(second.package.issuer, first.package.issuer);
        for s in &first.package.stakeholders {
            assert!(second.package.stakeholders.contains(s), "{dir}: {s:?}");
        }
        // Writing the second import again gives the same files.
        assert_eq!(write_package(&second.package).expect("writes"), files, "{dir}");
    }
}

#[test]
fn a_calendar_is_written_in_the_classic_form_of_the_ocf_sample() {
    let cal = Calendar::new(
        d("2021-01-30"),
        Period::Months(1),
        48,
        12,
        DayOfMonth::VestingStartDayOrLast,
        Allocation::CumulativeRounding,
    )
    .expect("calendar");
    let mut terms = write_vesting_terms("4yr-1yr", &Schedule::Calendar(cal)).expect("writes");
    assert_eq!(terms["id"], "4yr-1yr");
    assert_eq!(terms["object_type"], "VESTING_TERMS");
    assert_eq!(terms["allocation_type"], "CUMULATIVE_ROUNDING");
    assert!(terms["name"].is_string() && terms["description"].is_string());
    let conds = terms["vesting_conditions"].as_array_mut().expect("conditions");
    for c in conds.iter_mut() {
        c.as_object_mut().expect("object").remove("description");
    }
    let dom = "VESTING_START_DAY_OR_LAST_DAY_OF_MONTH";
    assert_eq!(
        Value::Array(conds.clone()),
        json!([
            {"id": "vesting-start", "quantity": "0", "trigger": {"type": "VESTING_START_DATE"},
             "next_condition_ids": ["cliff"]},
            {"id": "cliff", "portion": {"numerator": "12", "denominator": "48"},
             "trigger": {"type": "VESTING_SCHEDULE_RELATIVE",
                         "period": {"length": 12, "type": "MONTHS", "occurrences": 1, "day_of_month": dom},
                         "relative_to_condition_id": "vesting-start"},
             "next_condition_ids": ["installments"]},
            {"id": "installments", "portion": {"numerator": "1", "denominator": "48"},
             "trigger": {"type": "VESTING_SCHEDULE_RELATIVE",
                         "period": {"length": 1, "type": "MONTHS", "occurrences": 36, "day_of_month": dom},
                         "relative_to_condition_id": "cliff"},
             "next_condition_ids": []},
        ])
    );
    // A DAYS period has no day_of_month (the schema forbids it there).
    let days = Calendar::new(
        d("2024-01-01"),
        Period::Days(7),
        10,
        0,
        DayOfMonth::VestingStartDayOrLast,
        Allocation::FrontLoaded,
    )
    .expect("calendar");
    let t = write_vesting_terms("weekly", &Schedule::Calendar(days)).expect("writes");
    assert_eq!(
        t["vesting_conditions"][1]["trigger"]["period"],
        json!({"length": 7, "type": "DAYS", "occurrences": 10})
    );
    assert_eq!(t["vesting_conditions"][1]["trigger"]["relative_to_condition_id"], "vesting-start");
}

#[test]
fn linear_schedules_cannot_be_written() {
    let lin = Linear::new(0, None, 86_400 * 365, 1, LinearModel::OpenZeppelin).expect("linear");
    assert_eq!(write_vesting_terms("x", &Schedule::Linear(lin)), Err(OcfWriteError::Linear { id: "x".into() }));
}

#[test]
fn the_manifest_md5_is_checked() {
    // The sample's manifest hashes agree with its files, which the_sample_package_reads_cleanly
    // shows. An edited file gives a warning that names the entry.
    let manifest = MANIFEST.replace(
        r#"{"filepath": "Transactions.ocf.json"}"#,
        r#"{"filepath": "Transactions.ocf.json", "md5": "00000000000000000000000000000000"}"#,
    );
    let terms = terms_file("CUMULATIVE_ROUND_DOWN", &[START, &monthly("cliff", "1", "1", 1, "start", "")]);
    let txs = tx_file(&[issuance("s", "5", "t"), start("s", "2024-01-01")]);
    let files: HashMap<&str, &str> = [
        ("p/Manifest.ocf.json", manifest.as_str()),
        ("p/VestingTerms.ocf.json", terms.as_str()),
        ("p/Transactions.ocf.json", txs.as_str()),
    ]
    .into_iter()
    .collect();
    let mut read = |p: &str| files.get(p).map(|s| (*s).to_owned()).ok_or_else(|| p.to_owned());
    let imp = read_package("p/Manifest.ocf.json", &mut read).expect("reads");
    assert_eq!(imp.warnings.len(), 1);
    assert_diag(
        &imp.warnings[0],
        "p/Manifest.ocf.json",
        Some("/transactions_files/0/md5"),
        Some((12, 71)),
        &format!(
            "`Transactions.ocf.json` has MD5 {}, but the manifest says 00000000000000000000000000000000",
            ocf::md5_hex(txs.as_bytes())
        ),
    );
}

// ---- bad input ----------------------------------------------------------------------------

#[test]
fn malformed_json_reports_line_and_column() {
    let terms = "{\n  \"file_type\": \"OCF_VESTING_TERMS_FILE\",\n  \"items\": [\n    {\n      \"id\": \"t\"\n      \"object_type\": \"VESTING_TERMS\"\n    }\n  ]\n}\n";
    let txs = tx_file(&[]);
    let errs = errors_of(terms, &txs);
    assert_eq!(errs.len(), 1, "{}", render(&errs));
    // Line 6 opens with the key that should have followed a comma, at column 7.
    assert_diag(&errs[0], "pkg/VestingTerms.ocf.json", None, Some((6, 7)), "invalid JSON: expected `,` or `}`");
}

#[test]
fn an_unknown_condition_id_is_reported_where_it_is_named() {
    let cliff = r#"{"next_condition_ids": ["monthly"], "id": "cliff", "portion": {"numerator": "1", "denominator": "1"}, "trigger": {"type": "VESTING_SCHEDULE_ABSOLUTE", "date": "2025-01-01"}}"#;
    let terms = terms_file("CUMULATIVE_ROUND_DOWN", &[START, cliff]);
    let txs = tx_file(&[issuance("s", "10", "t"), start("s", "2024-01-01")]);
    let errs = errors_of(&terms, &txs);
    assert_eq!(errs.len(), 1, "{}", render(&errs));
    // The cliff is on line 6; `"monthly"` starts at column 25.
    assert_diag(
        &errs[0],
        "pkg/VestingTerms.ocf.json",
        Some("/items/0/vesting_conditions/1/next_condition_ids/0"),
        Some((6, 25)),
        "unknown condition `monthly` in the next conditions of `cliff`",
    );
}

#[test]
fn a_cycle_is_reported_at_the_edge_that_closes_it() {
    let a = r#"{"next_condition_ids": ["b"], "id": "a", "portion": {"numerator": "1", "denominator": "2"}, "trigger": {"type": "VESTING_SCHEDULE_ABSOLUTE", "date": "2025-01-01"}}"#;
    let b = r#"{"next_condition_ids": ["a"], "id": "b", "portion": {"numerator": "1", "denominator": "2"}, "trigger": {"type": "VESTING_SCHEDULE_ABSOLUTE", "date": "2026-01-01"}}"#;
    let start_a = START.replace("[\"cliff\"]", "[\"a\"]");
    let terms = terms_file("CUMULATIVE_ROUND_DOWN", &[&start_a, a, b]);
    let txs = tx_file(&[issuance("s", "10", "t"), start("s", "2024-01-01")]);
    let errs = errors_of(&terms, &txs);
    assert_eq!(errs.len(), 1, "{}", render(&errs));
    assert_diag(
        &errs[0],
        "pkg/VestingTerms.ocf.json",
        Some("/items/0/vesting_conditions/2/next_condition_ids/0"),
        Some((7, 25)),
        "the next conditions form a cycle: a → b → a",
    );
}

#[test]
fn a_bad_numerator_is_reported_at_its_field() {
    let cliff = r#"{"portion": {"numerator": "twelve", "denominator": "48"}, "id": "cliff", "trigger": {"type": "VESTING_SCHEDULE_ABSOLUTE", "date": "2025-01-01"}, "next_condition_ids": []}"#;
    let terms = terms_file("CUMULATIVE_ROUND_DOWN", &[START, cliff]);
    let txs = tx_file(&[issuance("s", "10", "t"), start("s", "2024-01-01")]);
    let errs = errors_of(&terms, &txs);
    assert_eq!(errs.len(), 1, "{}", render(&errs));
    assert_diag(
        &errs[0],
        "pkg/VestingTerms.ocf.json",
        Some("/items/0/vesting_conditions/1/portion/numerator"),
        Some((6, 27)),
        "`twelve` is not an OCF number",
    );
    // A bare JSON number is a common mistake: OCF numbers are strings.
    let cliff = cliff.replace("\"twelve\"", "12");
    let errs = errors_of(&terms_file("CUMULATIVE_ROUND_DOWN", &[START, &cliff]), &txs);
    assert_diag(
        &errs[0],
        "pkg/VestingTerms.ocf.json",
        Some("/items/0/vesting_conditions/1/portion/numerator"),
        Some((6, 27)),
        "OCF numbers are strings: write \"12\"",
    );
    // A zero denominator.
    let cliff = cliff.replace("12", "\"1\"").replace("\"48\"", "\"0\"");
    let errs = errors_of(&terms_file("CUMULATIVE_ROUND_DOWN", &[START, &cliff]), &txs);
    assert_diag(
        &errs[0],
        "pkg/VestingTerms.ocf.json",
        Some("/items/0/vesting_conditions/1/portion/denominator"),
        None,
        "a denominator must not be zero",
    );
}

#[test]
fn an_unknown_allocation_type_is_reported() {
    let terms = terms_file("ROUND_ROBIN", &[START, &monthly("cliff", "1", "1", 1, "start", "")]);
    let txs = tx_file(&[issuance("s", "10", "t"), start("s", "2024-01-01")]);
    let errs = errors_of(&terms, &txs);
    assert_eq!(errs.len(), 1, "{}", render(&errs));
    assert_diag(
        &errs[0],
        "pkg/VestingTerms.ocf.json",
        Some("/items/0/allocation_type"),
        Some((3, 20)),
        "unknown allocation type `ROUND_ROBIN`; expected one of CUMULATIVE_ROUNDING, CUMULATIVE_ROUND_DOWN, FRONT_LOADED, BACK_LOADED, FRONT_LOADED_TO_SINGLE_TRANCHE, BACK_LOADED_TO_SINGLE_TRANCHE, FRACTIONAL",
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let bad_cond = r#"{"portion": {"numerator": "-1", "denominator": "4"}, "id": "cliff", "trigger": {"type": "VESTING_SCHEDULE_RELATIVE", "period": {"length": 1, "type": "YEARS", "occurrences": 1}, "relative_to_condition_id": "start"}, "next_condition_ids": [], "extra": true}"#;
    let terms = terms_file("FRONT_LOADED", &[START, bad_cond]);
    let txs = tx_file(&[
        issuance("s", "10", "t"),
        start("s", "2024-01-01"),
        issuance("u", "10", "missing-terms"),
        issuance("v", "1.5", "t"),
    ]);
    let errs = errors_of(&terms, &txs);
    let fields: Vec<(&str, Option<&str>)> =
        errs.iter().map(|d| (d.location.file.as_str(), d.location.field.as_deref())).collect();
    assert_eq!(
        fields,
        [
            ("pkg/VestingTerms.ocf.json", Some("/items/0/vesting_conditions/1/extra")),
            ("pkg/VestingTerms.ocf.json", Some("/items/0/vesting_conditions/1/portion/numerator")),
            ("pkg/VestingTerms.ocf.json", Some("/items/0/vesting_conditions/1/trigger/period/type")),
            ("pkg/Transactions.ocf.json", Some("/items/2/vesting_terms_id")),
        ],
        "{}",
        render(&errs)
    );
    assert!(errs[0].message.contains("unknown field `extra`"));
    assert!(errs[1].message.contains("a numerator must not be negative"));
    assert!(errs[2].message.contains("write calendar years as 12 MONTHS"));
    assert!(errs[3].message.contains("unknown vesting terms `missing-terms` for security `u`"));
}

#[test]
fn schedule_level_problems_name_the_security() {
    let terms = terms_file("CUMULATIVE_ROUND_DOWN", &[START, &monthly("cliff", "1", "48", 12, "start", "")]);
    // Portions that add up to 12/48 = 1/4, not all of the grant.
    let txs = tx_file(&[issuance("s", "10", "t"), start("s", "2024-01-01")]);
    let errs = errors_of(&terms, &txs);
    assert_eq!(errs.len(), 1, "{}", render(&errs));
    assert_diag(
        &errs[0],
        "pkg/VestingTerms.ocf.json",
        Some("/items/0/vesting_conditions"),
        Some((4, 23)),
        "security `s`: the path start → cliff of vesting terms `t` vests 1/4 of the quantity, not all of it",
    );

    // No TX_VESTING_START for a start condition.
    let full = terms_file("CUMULATIVE_ROUND_DOWN", &[START, &monthly("cliff", "1", "12", 12, "start", "")]);
    let errs = errors_of(&full, &tx_file(&[issuance("s", "10", "t")]));
    assert_diag(
        &errs[0],
        "pkg/Transactions.ocf.json",
        Some("/items/0"),
        Some((2, 1)),
        "security `s` has no TX_VESTING_START for condition `start` of vesting terms `t`",
    );

    // Explicit vestings that do not add up to the quantity.
    let vest = issuance("w", "10", "t").replace(
        r#""vesting_terms_id": "t""#,
        r#""vestings": [{"date": "2025-01-01", "amount": "4"}, {"date": "2026-01-01", "amount": "5"}]"#,
    );
    let errs = errors_of(&full, &tx_file(&[vest]));
    assert_diag(
        &errs[0],
        "pkg/Transactions.ocf.json",
        Some("/items/0/vestings"),
        None,
        "the vestings of security `w` add up to 9, but its quantity is 10",
    );

    // A quantity with more decimals than the caller's token.
    let token = Token::new("SHARE", 0).expect("token");
    let txs = tx_file(&[issuance("s", "10.5", "t"), start("s", "2024-01-01")]);
    let errs = read_mem(&full, &txs, Some(&token)).expect_err("too precise");
    assert_diag(
        &errs[0],
        "pkg/Transactions.ocf.json",
        Some("/items/0/quantity"),
        None,
        "has 1 decimal places but SHARE has only 0",
    );
    // Without a token the reader picks one decimal, so 10.5 shares are 105 base units.
    let imp = read_mem(&full, &txs, None).unwrap_or_else(|e| panic!("{}", render(&e)));
    assert_eq!(imp.package.token.decimals(), 1);
    assert_eq!(grant(&imp, "s").amount.base_units(), 105);
}

#[test]
fn manifest_paths_must_stay_inside_the_package() {
    let manifest = MANIFEST.replace("./VestingTerms.ocf.json", "../secrets.json");
    let mut read = |p: &str| {
        if p == "pkg/Manifest.ocf.json" { Ok(manifest.clone()) } else { Err(format!("should not read {p}")) }
    };
    let errs = read_package("pkg/Manifest.ocf.json", &mut read).expect_err("refused");
    assert_diag(
        &errs[0],
        "pkg/Manifest.ocf.json",
        Some("/vesting_terms_files/0/filepath"),
        Some((10, 40)),
        "`../secrets.json`: a file path must be relative to the manifest's folder",
    );
    // The missing transactions file is reported as well, in the same pass.
    assert!(
        errs.iter()
            .any(|d| d.location.file == "pkg/Transactions.ocf.json" && d.message.contains("cannot read the file")),
        "{}",
        render(&errs)
    );
}
