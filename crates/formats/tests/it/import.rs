//! CSV imports. Every expected value below was worked out by hand from the fixture and the
//! rule it names (amounts in base units of an 18-decimal token), not captured from the code.

use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use proptest::prelude::*;
use tokencomp_core::model::{FxRate, GrantPolicy, GrantSize, GrantTerms, Person, PersonKind, Price};
use tokencomp_core::{Allocation, Calendar, DayOfMonth, Grant, Linear, LinearModel, Period, Schedule, VestReason};
use tokencomp_formats::diag::Diagnostic;
use tokencomp_formats::import::{parse_fx, parse_grants, parse_people, parse_prices};
use tokencomp_money::{Currency, Decimal, Token, TokenAmount};

// ---- helpers --------------------------------------------------------------------------------

const E18: u128 = 1_000_000_000_000_000_000;

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn token() -> Token {
    Token::new("NET", 18).expect("token")
}

fn new_york() -> TimeZone {
    TimeZone::get("America/New_York").expect("time zone")
}

fn render(errs: &[Diagnostic]) -> String {
    errs.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

fn ok<T>(r: Result<Vec<T>, Vec<Diagnostic>>) -> Vec<T> {
    r.unwrap_or_else(|errs| panic!("unexpected errors:\n{}", render(&errs)))
}

/// The errors, checked one by one: (line, column, field, a fragment of the message). The
/// count must match too: every error of the file, at once.
fn check_errors<T: std::fmt::Debug>(
    file: &str,
    r: Result<Vec<T>, Vec<Diagnostic>>,
    expected: &[(usize, usize, Option<&str>, &str)],
) {
    let errs = match r {
        Ok(v) => panic!("expected errors, got {v:?}"),
        Err(e) => e,
    };
    let got: Vec<String> = errs
        .iter()
        .map(|d| {
            let l = &d.location;
            format!("{:?}:{:?} {:?} {}", l.line, l.column, l.field, d.message)
        })
        .collect();
    assert_eq!(errs.len(), expected.len(), "all errors at once; got:\n{}", got.join("\n"));
    for (d, (line, column, field, fragment)) in errs.iter().zip(expected) {
        let l = &d.location;
        let shown = format!("{:?}:{:?} {:?} {}", l.line, l.column, l.field, d.message);
        assert_eq!(l.file, file, "{shown}");
        assert_eq!((l.line, l.column), (Some(*line), Some(*column)), "{shown}");
        assert_eq!(l.field.as_deref(), *field, "{shown}");
        assert!(d.message.contains(fragment), "`{fragment}` not in: {shown}");
    }
}

fn person(id: &str, name: &str, kind: PersonKind) -> Person {
    Person {
        id: id.into(),
        name: name.into(),
        email: None,
        kind,
        country: None,
        region: None,
        hired: None,
        salary: None,
        wallet: None,
        tax: Default::default(),
    }
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str_exact(s).expect("decimal")
}

fn calendar(start: Date, period: Period, n: u32, cliff: u32, rule: DayOfMonth, alloc: Allocation) -> Schedule {
    Schedule::Calendar(Calendar::new(start, period, n, cliff, rule, alloc).expect("schedule"))
}

/// (date, amount in base units, reason) of each tranche.
fn table(g: &Grant, tz: &TimeZone) -> Vec<(Date, u128, VestReason)> {
    g.timeline(tz, None).expect("timeline").tranches.iter().map(|t| (t.date, t.amount.base_units(), t.reason)).collect()
}

fn prices() -> Vec<Price> {
    ok(parse_prices("prices.csv", &fixture("prices.csv")))
}

// ---- people ---------------------------------------------------------------------------------

#[test]
fn people_in_our_columns_in_any_order() {
    let people = ok(parse_people("people.csv", &fixture("people.csv")));
    let expected = vec![
        Person {
            email: Some("ada@example.com".into()),
            country: Some("US".into()),
            region: Some("CA".into()),
            hired: Some(date(2024, 1, 15)),
            ..person("ada", "Okafor, Ada", PersonKind::Employee)
        },
        Person {
            country: Some("US".into()),
            region: Some("NY".into()),
            hired: Some(date(2024, 3, 31)),
            ..person("ben", "Ben \"Benny\" Richter", PersonKind::Contractor)
        },
        Person { country: Some("GB".into()), ..person("chen", "Chen Wei", PersonKind::Advisor) },
        // An empty kind is an employee.
        Person { hired: Some(date(2025, 1, 31)), ..person("dara", "Dara Moss", PersonKind::Employee) },
    ];
    assert_eq!(people, expected);
}

#[test]
fn people_from_a_cap_table_export() {
    let text = fixture("people_captable.csv");
    let expected = vec![
        Person {
            email: Some("ada@example.com".into()),
            country: Some("US".into()),
            region: Some("CA".into()),
            hired: Some(date(2024, 1, 15)),
            ..person("sh-001", "Ada Okafor", PersonKind::Employee)
        },
        Person {
            email: Some("gus@example.com".into()),
            country: Some("SE".into()),
            hired: Some(date(2023, 11, 1)),
            ..person("sh-002", "Gus Lindqvist", PersonKind::Advisor)
        },
        Person {
            country: Some("US".into()),
            region: Some("WA".into()),
            ..person("sh-003", "Ivy Chen", PersonKind::Contractor)
        },
        person("sh-004", "Jon Park", PersonKind::Advisor),
    ];
    assert_eq!(ok(parse_people("people_captable.csv", &text)), expected);
    // As a spreadsheet saves it: a byte-order mark and CRLF line ends.
    let excel = format!("\u{feff}{}", text.replace('\n', "\r\n"));
    assert_eq!(ok(parse_people("people_captable.csv", &excel)), expected);
}

#[test]
fn a_stakeholder_type_outside_the_cap_table_words_is_refused() {
    let r =
        parse_people("p.csv", "stakeholder_id,legal_name,stakeholder_type\nsh-1,Ann,INDIVIDUAL\nsh-2,Bo,contractor\n");
    check_errors(
        "p.csv",
        r,
        &[
            (2, 3, Some("stakeholder_type"), "`INDIVIDUAL` is not one of: EMPLOYEE, CONSULTANT, ADVISOR, BOARD_MEMBER"),
            (3, 3, Some("stakeholder_type"), "`contractor` is not one of"),
        ],
    );
}

#[test]
fn every_bad_person_row_at_once() {
    // Line 3's name runs onto line 4 inside quotes: the rows after it keep their own lines.
    check_errors(
        "people_bad.csv",
        parse_people("people_bad.csv", &fixture("people_bad.csv")),
        &[
            (1, 8, Some("nickname"), "unknown column `nickname`; expected one of: id, name, email"),
            (3, 4, Some("kind"), "`intern` is not one of: employee, contractor, advisor"),
            (3, 5, Some("country"), "`us` is not a two-letter country code"),
            (3, 7, Some("hired"), "`2024-02-30` is not a date (YYYY-MM-DD)"),
            (5, 2, Some("name"), "`name` must not be empty"),
            (6, 1, Some("id"), "duplicate person id `ada`: lines 2 and 6"),
            (7, 9, None, "9 fields, but the header has 8 columns"),
            (8, 6, Some("region"), "5 fields, but the header has 8 columns"),
            (9, 7, Some("hired"), "`15/05/2025` is not a date (YYYY-MM-DD)"),
        ],
    );
}

#[test]
fn a_missing_required_header_is_reported_and_the_rows_still_checked() {
    check_errors(
        "people_missing_header.csv",
        parse_people("people_missing_header.csv", &fixture("people_missing_header.csv")),
        &[
            (1, 1, Some("id"), "missing column `id` or `stakeholder_id`"),
            (2, 3, Some("hired"), "`2024-13-01` is not a date"),
        ],
    );
    check_errors(
        "p.csv",
        parse_people("p.csv", "email,region\n"),
        &[
            (1, 1, Some("id"), "missing column `id` or `stakeholder_id`"),
            (1, 1, Some("name"), "missing column `name`, `legal_name` or `full_name`"),
        ],
    );
}

#[test]
fn repeated_and_unnamed_columns() {
    check_errors(
        "p.csv",
        parse_people("p.csv", "id,name,Stakeholder ID,\nada,Ada,sh-1,\n"),
        &[
            (1, 3, Some("Stakeholder ID"), "`Stakeholder ID` is the same column as `id` (column 1)"),
            (1, 4, Some(""), "column 4 has no name"),
        ],
    );
}

#[test]
fn bad_quoting_is_reported_at_its_cell() {
    check_errors(
        "people_quoting.csv",
        parse_people("people_quoting.csv", &fixture("people_quoting.csv")),
        &[
            (2, 2, Some("name"), "text after a quoted cell's closing `\"`"),
            (3, 2, Some("name"), "a `\"` inside an unquoted cell"),
            (5, 2, Some("name"), "a quoted cell never ends"),
        ],
    );
}

#[test]
fn an_empty_file_names_the_columns_it_needs() {
    for text in ["", "\u{feff}", "\n\n"] {
        check_errors(
            "p.csv",
            parse_people("p.csv", text),
            &[(1, 1, None, "the file is empty: its first line must name the columns (id, name, email")],
        );
    }
    // A header and no rows is an empty import, not an error.
    assert_eq!(ok(parse_people("p.csv", "id,name\n")), vec![]);
}

#[test]
fn blank_lines_keep_the_line_numbers_true() {
    check_errors(
        "p.csv",
        parse_people("p.csv", "id,name,hired\n\nada,Ada,2024-01-01\r\n\r\n\r\nben,Ben,soon\n"),
        &[(6, 3, Some("hired"), "`soon` is not a date")],
    );
}

// ---- prices ---------------------------------------------------------------------------------

#[test]
fn prices_one_per_filled_close_cell_kept_exactly() {
    let got: Vec<(Date, String, Currency)> =
        prices().into_iter().map(|p| (p.date, p.close.to_string(), p.currency)).collect();
    let usd = Currency::USD;
    let gbp = Currency::GBP;
    assert_eq!(
        got,
        vec![
            (date(2024, 12, 29), "0.50".into(), usd),
            (date(2024, 12, 29), "0.40".into(), gbp),
            (date(2024, 12, 30), "0.52".into(), usd),
            (date(2024, 12, 31), "0.54".into(), usd),
            (date(2024, 12, 31), "0.43".into(), gbp),
            (date(2025, 1, 1), "0.56".into(), usd),
            (date(2025, 1, 1), "0.45".into(), gbp),
        ]
    );
}

#[test]
fn the_sample_company_prices_import() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/prices.csv");
    let text = std::fs::read_to_string(path).expect("examples/prices.csv");
    let rows = text.lines().skip(1).filter(|l| !l.is_empty()).count();
    let prices = ok(parse_prices("prices.csv", &text));
    assert_eq!(prices.len(), rows);
    assert!(prices.iter().all(|p| p.currency == Currency::USD && p.close > Decimal::ZERO));
}

#[test]
fn every_bad_price_row_at_once() {
    check_errors(
        "prices_bad.csv",
        parse_prices("prices_bad.csv", &fixture("prices_bad.csv")),
        &[
            (
                1,
                4,
                Some("close_chf"),
                "unknown column `close_chf`; expected one of: date, close_usd, close_gbp, close_eur",
            ),
            (3, 2, Some("close_usd"), "`abc` is not a positive decimal number"),
            (3, 3, Some("close_gbp"), "`0` is not a positive decimal number: it must be above zero"),
            (4, 2, Some("close_usd"), "`-1` is not a positive decimal number"),
            (5, 1, Some("date"), "`2025/01/04` is not a date"),
            (6, 2, Some("close_usd"), "duplicate USD price for 2025-01-01: lines 2 and 6"),
            (7, 2, Some("close_usd"), "no price on this line: fill `close_usd`, `close_gbp` or `close_eur`"),
            (8, 2, Some("close_usd"), "has more digits than can be kept exactly"),
        ],
    );
}

#[test]
fn prices_need_a_date_and_a_close_column() {
    check_errors(
        "p.csv",
        parse_prices("p.csv", "day,close\n2025-01-01,1\n"),
        &[
            (1, 1, Some("day"), "unknown column `day`"),
            (1, 1, Some("date"), "missing column `date`"),
            (1, 1, Some("close_usd"), "missing column `close_usd`, `close_gbp` or `close_eur`"),
            (1, 2, Some("close"), "unknown column `close`"),
        ],
    );
}

// ---- grants ---------------------------------------------------------------------------------

fn grants() -> Vec<GrantTerms> {
    ok(parse_grants("grants.csv", &fixture("grants.csv"), &token(), &new_york(), &prices()))
}

fn find<'a>(grants: &'a [GrantTerms], id: &str) -> &'a GrantTerms {
    grants.iter().find(|g| g.grant.id == id).unwrap_or_else(|| panic!("no grant {id}"))
}

#[test]
fn grants_in_file_order() {
    let ids: Vec<String> = grants().into_iter().map(|g| g.grant.id).collect();
    assert_eq!(ids, ["g-1", "g-2", "g-3", "g-4", "g-5", "g-6", "g-7"]);
}

#[test]
fn a_monthly_grant_with_a_cliff() {
    let all = grants();
    let g = find(&all, "g-1");
    let vsd = DayOfMonth::VestingStartDayOrLast;
    let schedule = calendar(date(2025, 1, 31), Period::Months(1), 48, 12, vsd, Allocation::CumulativeRoundDown);
    let expected = GrantTerms {
        grant: Grant {
            id: "g-1".into(),
            holder: "ada".into(),
            amount: TokenAmount::from_base_units(48_000 * E18),
            schedule,
            performance: vec![],
            events: vec![],
        },
        grant_date: date(2025, 1, 15),
        size: GrantSize::Tokens,
        policy: GrantPolicy::default(),
    };
    assert_eq!(g, &expected);
    // 12 × 1000 at the cliff a year after the start, then 1000 a month on the 31st or the
    // month's last day, through 2029-01-31.
    let t = table(&g.grant, &new_york());
    assert_eq!(t.len(), 37);
    assert_eq!(t[0], (date(2026, 1, 31), 12_000 * E18, VestReason::Cliff));
    assert_eq!(t[1], (date(2026, 2, 28), 1_000 * E18, VestReason::Vest));
    assert_eq!(t[2], (date(2026, 3, 31), 1_000 * E18, VestReason::Vest));
    assert_eq!(t[36], (date(2029, 1, 31), 1_000 * E18, VestReason::Vest));
}

#[test]
fn a_quarterly_grant_in_fractional_tokens_dated_by_its_start() {
    let all = grants();
    let g = find(&all, "g-2");
    // 1000.5 tokens in four quarters of 250.125.
    assert_eq!(g.grant.amount.base_units(), 1_000_500_000_000_000_000_000);
    assert_eq!(g.grant_date, date(2025, 2, 15));
    assert_eq!(g.size, GrantSize::Tokens);
    let q = 250_125_000_000_000_000_000;
    assert_eq!(
        table(&g.grant, &new_york()),
        vec![
            (date(2025, 5, 15), q, VestReason::Vest),
            (date(2025, 8, 15), q, VestReason::Vest),
            (date(2025, 11, 15), q, VestReason::Vest),
            (date(2026, 2, 15), q, VestReason::Vest),
        ]
    );
}

#[test]
fn an_annual_grant_sized_in_dollars_at_a_given_price() {
    let all = grants();
    let g = find(&all, "g-3");
    // $10,000 at $0.25 is 40,000 tokens; three years front-loaded: 40000e18 = 3 × q + 1.
    assert_eq!(g.grant.amount.base_units(), 40_000 * E18);
    assert_eq!(
        g.size,
        GrantSize::Fiat { value: dec("10000"), currency: Currency::USD, price: dec("0.25"), average_days: None }
    );
    let q = 13_333_333_333_333_333_333_333;
    assert_eq!(
        table(&g.grant, &new_york()),
        vec![
            (date(2026, 3, 1), q + 1, VestReason::Vest),
            (date(2027, 3, 1), q, VestReason::Vest),
            (date(2028, 3, 1), q, VestReason::Vest),
        ]
    );
}

#[test]
fn a_day_period_grant_sized_at_an_average_price() {
    let all = grants();
    let g = find(&all, "g-4");
    // Closes of the 3 days before 2025-01-01: (0.50 + 0.52 + 0.54) / 3 = 0.52.
    // $1000 / 0.52 = 1923.076923076923076923… tokens, rounded down at 18 decimals.
    let total = 1_923_076_923_076_923_076_923;
    assert_eq!(g.grant.amount.base_units(), total);
    match &g.size {
        GrantSize::Fiat { value, currency, price, average_days } => {
            assert_eq!((*value, *currency, *price, *average_days), (dec("1000"), Currency::USD, dec("0.52"), Some(3)));
        }
        other => panic!("{other:?}"),
    }
    // Every 30 days from 2025-01-01, 4 installments, the first 2 held to the cliff; rounded
    // down cumulatively: total = 4q + 3 with q = 480769230769230769230.
    let q = 480_769_230_769_230_769_230;
    assert_eq!(
        table(&g.grant, &new_york()),
        vec![
            (date(2025, 3, 2), 2 * q + 1, VestReason::Cliff),
            (date(2025, 4, 1), q + 1, VestReason::Vest),
            (date(2025, 5, 1), q + 1, VestReason::Vest),
        ]
    );
}

#[test]
fn linear_grants_start_at_midnight_in_the_company_time_zone() {
    let all = grants();
    // 2025-01-01 00:00 in New York is 05:00 UTC (1735707600); the cliff three months on is
    // 2025-04-01 00:00 EDT, 04:00 UTC (1743480000); the end 2026-01-01 05:00 UTC (1767243600).
    let g5 = find(&all, "g-5");
    let oz = Linear::new(1_735_707_600, Some(1_743_480_000), 1_767_243_600, 1, LinearModel::OpenZeppelin);
    assert_eq!(g5.grant.schedule, Schedule::Linear(oz.expect("linear")));
    let t = table(&g5.grant, &new_york());
    assert_eq!((t[0].0, t[0].2), (date(2025, 4, 1), VestReason::Cliff));
    let last = t.last().expect("tranches");
    assert_eq!(last.0, date(2026, 1, 1));
    assert_eq!(t.iter().map(|r| r.1).sum::<u128>(), 1_200 * E18);

    // An RFC 3339 start keeps its time of day: 12:00 UTC is 07:00 EST; six months on is
    // 07:00 EDT on 2025-07-01, 11:00 UTC (1751367600).
    let g6 = find(&all, "g-6");
    let sablier = LinearModel::Sablier { start_unlock: 0, cliff_unlock: 0 };
    let expected = Linear::new(1_735_732_800, None, 1_751_367_600, 86_400, sablier).expect("linear");
    assert_eq!(g6.grant.schedule, Schedule::Linear(expected));
    assert_eq!(g6.grant_date, date(2025, 1, 1));
}

#[test]
fn day_of_month_and_allocation_take_ocf_names() {
    let all = grants();
    let g = find(&all, "g-7");
    // 10 tokens in 3 back-loaded installments on the 31st or the month's last day.
    let q = 3_333_333_333_333_333_333;
    assert_eq!(
        table(&g.grant, &new_york()),
        vec![
            (date(2025, 2, 28), q, VestReason::Vest),
            (date(2025, 3, 31), q, VestReason::Vest),
            (date(2025, 4, 30), q + 1, VestReason::Vest),
        ]
    );
}

#[test]
fn grants_from_a_cap_table_export() {
    let text = fixture("grants_captable.csv");
    let got = ok(parse_grants("grants_captable.csv", &text, &token(), &TimeZone::UTC, &[]));
    let vsd = DayOfMonth::VestingStartDayOrLast;
    let crd = Allocation::CumulativeRoundDown;
    let expected = vec![
        GrantTerms {
            grant: Grant {
                id: "ES-1".into(),
                holder: "sh-001".into(),
                amount: TokenAmount::from_base_units(4_800 * E18),
                schedule: calendar(date(2024, 1, 15), Period::Months(1), 48, 12, vsd, crd),
                performance: vec![],
                events: vec![],
            },
            grant_date: date(2024, 1, 10),
            size: GrantSize::Tokens,
            policy: GrantPolicy::default(),
        },
        GrantTerms {
            grant: Grant {
                id: "ES-2".into(),
                holder: "sh-002".into(),
                amount: TokenAmount::from_base_units(1_200 * E18 + 1),
                schedule: calendar(date(2024, 2, 1), Period::Months(12), 2, 0, vsd, crd),
                performance: vec![],
                events: vec![],
            },
            grant_date: date(2024, 2, 1),
            size: GrantSize::Tokens,
            policy: GrantPolicy::default(),
        },
    ];
    assert_eq!(got, expected);
    // The odd base unit goes to the last year (cumulative round-down).
    assert_eq!(
        table(&got[1].grant, &TimeZone::UTC),
        vec![(date(2025, 2, 1), 600 * E18, VestReason::Vest), (date(2026, 2, 1), 600 * E18 + 1, VestReason::Vest)]
    );
}

#[test]
fn every_bad_grant_row_at_once() {
    let r = parse_grants("grants_bad.csv", &fixture("grants_bad.csv"), &token(), &new_york(), &prices());
    check_errors(
        "grants_bad.csv",
        r,
        &[
            (2, 4, Some("amount_tokens"), "`1.0000000000000000001` has 19 decimal places but NET has only 18"),
            (
                3,
                11,
                Some("cliff_months"),
                "the cliff (36 months) must be a whole number of 1-month periods, at most the duration",
            ),
            (4, 10, Some("duration_months"), "10 months is not a whole number of 3-month periods"),
            (5, 8, Some("schedule"), "`weekly` is not one of: monthly, quarterly, annually, days, linear"),
            (6, 12, Some("every_days"), "`every_days` does not apply to a `monthly` schedule"),
            (7, 4, Some("amount_tokens"), "give `amount_tokens` (tokens) or `value_usd` (fiat), not both"),
            (8, 5, Some("value_usd"), "a grant sized by `value_usd` needs `price_usd` or `price_average_days`"),
            (
                9,
                7,
                Some("price_average_days"),
                "no USD price for 2025-01-09, needed for the 30-day average before 2025-01-10",
            ),
            (10, 7, Some("price_average_days"), "`price_average_days` needs a `grant_date`"),
            (11, 1, Some("id"), "duplicate grant id `b-1`: lines 2 and 11"),
            (12, 15, Some("day_of_month"), "`32` is not \"01\" to \"28\""),
            (13, 14, Some("cliff_installments"), "the cliff (5 installments) is longer than the schedule (4)"),
            (14, 11, Some("cliff_months"), "the cliff must be within the schedule"),
            (15, 10, Some("duration_months"), "a `monthly` schedule needs `duration_months`"),
            (16, 16, Some("allocation"), "`SPLIT_EVENLY` is not one of: CUMULATIVE_ROUNDING, CUMULATIVE_ROUND_DOWN"),
            (17, 2, Some("holder"), "`holder` must not be empty"),
            (17, 3, Some("grant_date"), "`2025-02-30` is not a date (YYYY-MM-DD)"),
            (17, 9, Some("start"), "`31/01/2025` is not a date (YYYY-MM-DD)"),
            (18, 18, Some("granularity_seconds"), "granularity must be between 1 second and the vesting duration"),
            (19, 6, Some("price_usd"), "`price_usd` applies only to a grant sized by `value_usd`"),
        ],
    );
}

#[test]
fn grants_name_their_missing_columns() {
    let r =
        parse_grants("grants_missing_header.csv", &fixture("grants_missing_header.csv"), &token(), &TimeZone::UTC, &[]);
    check_errors(
        "grants_missing_header.csv",
        r,
        &[
            (1, 1, Some("holder"), "missing column `holder` or `stakeholder_id`"),
            (1, 1, Some("amount_tokens"), "missing column `amount_tokens`, `quantity` or `value_usd`"),
            (1, 6, Some("nickname"), "unknown column `nickname`"),
        ],
    );
}

#[test]
fn a_schedule_column_the_file_lacks_is_reported_at_the_schedule() {
    let text = "id,holder,amount_tokens,schedule,start\ng-1,ada,10,days,2025-01-01\ng-2,ben,10,linear,2025-01-01\n";
    check_errors(
        "g.csv",
        parse_grants("g.csv", text, &token(), &TimeZone::UTC, &[]),
        &[
            (2, 4, Some("schedule"), "a `days` schedule needs the column `every_days`"),
            (2, 4, Some("schedule"), "a `days` schedule needs the column `installments`"),
            (3, 4, Some("schedule"), "a `linear` schedule needs the column `duration_months`"),
        ],
    );
}

// ---- property: people survive a round trip through CSV --------------------------------------

/// RFC 4180 quoting, only where a cell needs it.
fn cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

fn any_kind() -> impl Strategy<Value = PersonKind> {
    prop_oneof![Just(PersonKind::Employee), Just(PersonKind::Contractor), Just(PersonKind::Advisor)]
}

fn any_person() -> impl Strategy<Value = Person> {
    (
        "[a-z][a-z0-9,\"]{0,6}",
        "[A-Za-zé]([A-Za-zé ,\"'\n.-]{0,18}[A-Za-zé.\"])?",
        proptest::option::of("[a-z]{1,8}@[a-z]{1,8}\\.com"),
        any_kind(),
        proptest::option::of("[A-Z]{2}"),
        proptest::option::of("[A-Z][A-Za-z, ]{0,8}[a-z]"),
        proptest::option::of(0i64..83_000),
        proptest::option::of((0i128..10i128.pow(12), 0u32..=4)),
        proptest::option::of("[A-Za-z0-9_.:-]{1,12}"),
    )
        .prop_map(|(id, name, email, kind, country, region, hired, salary, wallet)| Person {
            id,
            name,
            email,
            kind,
            country,
            region,
            hired: hired.map(|d| date(1970, 1, 1).checked_add(jiff::Span::new().days(d)).expect("date")),
            salary: salary.map(|(m, scale)| Decimal::from_i128_with_scale(m, scale)),
            wallet,
            tax: Default::default(),
        })
}

fn write_people(people: &[Person], columns: &[&str], crlf: bool) -> String {
    let end = if crlf { "\r\n" } else { "\n" };
    let mut out = columns.join(",") + end;
    for p in people {
        let kind = match p.kind {
            PersonKind::Employee => "employee",
            PersonKind::Contractor => "contractor",
            PersonKind::Advisor => "advisor",
        };
        let cells: Vec<String> = columns
            .iter()
            .map(|c| match *c {
                "id" => cell(&p.id),
                "name" => cell(&p.name),
                "email" => cell(p.email.as_deref().unwrap_or("")),
                "kind" => kind.to_owned(),
                "country" => cell(p.country.as_deref().unwrap_or("")),
                "region" => cell(p.region.as_deref().unwrap_or("")),
                "salary" => p.salary.map(|d| d.to_string()).unwrap_or_default(),
                "wallet" => cell(p.wallet.as_deref().unwrap_or("")),
                _ => p.hired.map(|d| d.to_string()).unwrap_or_default(),
            })
            .collect();
        out += &(cells.join(",") + end);
    }
    out
}

proptest! {
    #[test]
    fn people_written_as_csv_read_back_the_same(
        people in proptest::collection::vec(any_person(), 0..12),
        columns in Just(vec!["id", "name", "email", "kind", "country", "region", "hired", "salary", "wallet"])
            .prop_shuffle(),
        crlf in any::<bool>(),
    ) {
        // Ids made unique by their position.
        let people: Vec<Person> =
            people.into_iter().enumerate().map(|(i, p)| Person { id: format!("{}-{i}", p.id), ..p }).collect();
        let text = write_people(&people, &columns, crlf);
        match parse_people("p.csv", &text) {
            Ok(back) => prop_assert_eq!(back, people),
            Err(errs) => prop_assert!(false, "{}\n{}", text, render(&errs)),
        }
    }
}

// ---- people: salary and wallet --------------------------------------------------------------

#[test]
fn people_with_a_salary_and_a_wallet() {
    let text = "id,name,country,salary,wallet\n\
                ada,Ada,US,215000,ada-ledger\n\
                chen,Chen,GB,115000.50,\n\
                gus,Gus,US,,gus.cold:1\n";
    let people = ok(parse_people("p.csv", text));
    let expected = vec![
        Person {
            country: Some("US".into()),
            salary: Some(dec("215000")),
            wallet: Some("ada-ledger".into()),
            ..person("ada", "Ada", PersonKind::Employee)
        },
        // The salary is kept exactly, pence and all; an empty wallet cell is no wallet.
        Person {
            country: Some("GB".into()),
            salary: Some(dec("115000.50")),
            ..person("chen", "Chen", PersonKind::Employee)
        },
        Person {
            country: Some("US".into()),
            wallet: Some("gus.cold:1".into()),
            ..person("gus", "Gus", PersonKind::Employee)
        },
    ];
    assert_eq!(people, expected);
    // The scale is kept too: 115000.50 is written back as it was given.
    assert_eq!(people[1].salary.map(|d| d.to_string()).as_deref(), Some("115000.50"));
}

#[test]
fn a_bad_salary_or_wallet_is_reported_at_its_cell() {
    check_errors(
        "p.csv",
        parse_people("p.csv", "id,name,salary,wallet\nada,Ada,-1,main\nben,Ben,12k,\"my wallet\"\ncy,Cy,0,ok\n"),
        &[
            (2, 3, Some("salary"), "`-1` is not a non-negative decimal number"),
            (3, 3, Some("salary"), "`12k` is not a non-negative decimal number"),
            (3, 4, Some("wallet"), "has whitespace"),
        ],
    );
}

// ---- prices: volume -------------------------------------------------------------------------

#[test]
fn a_days_volume_goes_with_every_close_of_its_row() {
    let text = "date,close_usd,close_gbp,volume_tokens\n\
                2026-01-01,1.50,1.20,1250000\n\
                2026-01-02,1.60,,\n\
                2026-01-03,,1.25,0.5\n";
    let got: Vec<(Date, Currency, String, Option<String>)> = ok(parse_prices("p.csv", text))
        .into_iter()
        .map(|p| (p.date, p.currency, p.close.to_string(), p.volume.map(|v| v.to_string())))
        .collect();
    let (usd, gbp) = (Currency::USD, Currency::GBP);
    assert_eq!(
        got,
        vec![
            (date(2026, 1, 1), usd, "1.50".into(), Some("1250000".into())),
            (date(2026, 1, 1), gbp, "1.20".into(), Some("1250000".into())),
            (date(2026, 1, 2), usd, "1.60".into(), None),
            (date(2026, 1, 3), gbp, "1.25".into(), Some("0.5".into())),
        ]
    );
}

#[test]
fn a_volume_must_be_above_zero_and_needs_a_close() {
    check_errors(
        "p.csv",
        parse_prices("p.csv", "date,close_usd,volume_tokens\n2026-01-01,1.5,0\n2026-01-02,1.5,lots\n2026-01-03,,10\n"),
        &[
            (2, 3, Some("volume_tokens"), "`0` is not a positive decimal number: it must be above zero"),
            (3, 3, Some("volume_tokens"), "`lots` is not a positive decimal number"),
            (4, 2, Some("close_usd"), "no price on this line"),
        ],
    );
}

// ---- FX rates -------------------------------------------------------------------------------

fn fx(date: Date, currency: Currency, per_usd: &str) -> FxRate {
    FxRate { date, currency, per_usd: dec(per_usd) }
}

#[test]
fn fx_rates_one_per_row_kept_exactly() {
    // Columns in any order, names in any case; a byte-order mark and CRLF as a spreadsheet saves.
    let text =
        "\u{feff}Currency,DATE,per usd\r\nGBP,2026-01-01,0.7900\r\nEUR,2026-01-01,0.921234\r\nGBP,2026-01-02,0.78\r\n";
    let rates = ok(parse_fx("fx.csv", text));
    assert_eq!(
        rates,
        vec![
            fx(date(2026, 1, 1), Currency::GBP, "0.7900"),
            fx(date(2026, 1, 1), Currency::EUR, "0.921234"),
            fx(date(2026, 1, 2), Currency::GBP, "0.78"),
        ]
    );
    // Trailing zeros are kept: the rate is what the file says, digit for digit.
    assert_eq!(rates[0].per_usd.to_string(), "0.7900");
    assert_eq!(ok(parse_fx("fx.csv", "date,currency,per_usd\n")), vec![]);
}

#[test]
fn every_bad_fx_row_at_once() {
    let text = "date,currency,per_usd\n\
                2026-01-01,GBP,0.79\n\
                2026-01-02,USD,1\n\
                2026-01-03,gbp,0.79\n\
                2026-01-04,EUR,0\n\
                2026-02-30,EUR,0.92\n\
                2026-01-01,GBP,0.80\n\
                2026-01-05,,0.9\n\
                2026-01-06,EUR\n\
                2026-01-07,EUR,-0.9\n";
    check_errors(
        "fx.csv",
        parse_fx("fx.csv", text),
        &[
            (3, 2, Some("currency"), "USD has no rate against itself"),
            (4, 2, Some("currency"), "`gbp` is not a currency code"),
            (5, 3, Some("per_usd"), "`0` is not a positive decimal number: it must be above zero"),
            (6, 1, Some("date"), "`2026-02-30` is not a date (YYYY-MM-DD)"),
            (7, 1, Some("date"), "duplicate GBP rate for 2026-01-01: lines 2 and 7"),
            (8, 2, Some("currency"), "`currency` must not be empty"),
            (9, 3, Some("per_usd"), "2 fields, but the header has 3 columns"),
            (10, 3, Some("per_usd"), "`-0.9` is not a positive decimal number"),
        ],
    );
}

#[test]
fn fx_needs_its_three_columns() {
    check_errors(
        "fx.csv",
        parse_fx("fx.csv", "date,rate\n2026-01-01,0.79\n"),
        &[
            (1, 1, Some("currency"), "missing column `currency`"),
            (1, 1, Some("per_usd"), "missing column `per_usd`"),
            (1, 2, Some("rate"), "unknown column `rate`; expected one of: date, currency, per_usd"),
        ],
    );
}

#[test]
fn the_sample_company_fx_import() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/fx.csv");
    let text = std::fs::read_to_string(path).expect("examples/fx.csv");
    let rates = ok(parse_fx("fx.csv", &text));
    // 2023-09-01 through 2026-10-31 is 1,157 days (122 + 366 + 365 + 304), GBP and EUR on each.
    assert_eq!(rates.len(), 2 * 1157);
    let mut day = date(2023, 9, 1);
    for pair in rates.chunks(2) {
        assert_eq!((pair[0].date, pair[0].currency), (day, Currency::GBP));
        assert_eq!((pair[1].date, pair[1].currency), (day, Currency::EUR));
        day = day.tomorrow().expect("a day");
    }
    assert_eq!(day, date(2026, 11, 1));
    // Rates near their centres (GBP 0.79, EUR 0.92), written with 4 to 6 decimals.
    for r in &rates {
        let (lo, hi) = if r.currency == Currency::GBP { ("0.69", "0.89") } else { ("0.82", "1.02") };
        assert!(r.per_usd > dec(lo) && r.per_usd < dec(hi), "{r:?}");
        assert!((4..=6).contains(&r.per_usd.scale()), "{r:?}");
    }
}

fn any_fx() -> impl Strategy<Value = Vec<FxRate>> {
    let currency = proptest::sample::select(vec![Currency::GBP, Currency::EUR, "JPY".parse().expect("JPY")]);
    proptest::collection::vec((0i64..83_000, currency, 1i128..10i128.pow(12), 0u32..=8), 0..20).prop_map(|rows| {
        let mut seen = std::collections::BTreeSet::new();
        rows.into_iter()
            .map(|(d, currency, m, scale)| FxRate {
                date: date(1970, 1, 1).checked_add(jiff::Span::new().days(d)).expect("date"),
                currency,
                per_usd: Decimal::from_i128_with_scale(m, scale),
            })
            .filter(|r| seen.insert((r.date, r.currency)))
            .collect()
    })
}

proptest! {
    #[test]
    fn fx_rates_written_as_csv_read_back_the_same(rates in any_fx(), crlf in any::<bool>()) {
        let end = if crlf { "\r\n" } else { "\n" };
        let mut text = format!("date,currency,per_usd{end}");
        for r in &rates {
            text += &format!("{},{},{}{end}", r.date, r.currency, r.per_usd);
        }
        match parse_fx("fx.csv", &text) {
            Ok(back) => {
                // Exactly, scale included: the ledger stores the rate as its text.
                let shown: Vec<String> = back.iter().map(|r| r.per_usd.to_string()).collect();
                let given: Vec<String> = rates.iter().map(|r| r.per_usd.to_string()).collect();
                prop_assert_eq!(shown, given);
                prop_assert_eq!(back, rates);
            }
            Err(errs) => prop_assert!(false, "{}\n{}", text, render(&errs)),
        }
    }
}
