//! Employer accounting: hand-worked goldens for attribution, forfeiture and remeasurement, the
//! rollforward, the errors, and property tests against a plain exact-fraction reference.
//!
//! Every expected amount below was worked by hand from the rule it cites
//! (docs/tax-rules.md#employer-accounting; ASC 718-10-35-8; FIN 28; ASC 718-30-35-2), not captured from the code.

use jiff::ToSpan;
use jiff::civil::{Date, date};
use proptest::prelude::*;
use tokencomp_compliance::accounting::{
    AccountingError, Award, Forfeit, PriceAt, cumulative_expense, measure, period_expense, rollforward,
};
use tokencomp_core::model::{AttributionPolicy as Attribution, ClassificationPolicy as Classification};
use tokencomp_money::{Decimal, MONEY_ROUNDING, Token, TokenAmount, token_value};

fn tkn() -> Token {
    Token::new("TKN", 18).expect("valid token")
}

fn whole(n: u128) -> TokenAmount {
    TokenAmount::from_base_units(n * 10u128.pow(18))
}

fn usd(s: &str) -> Decimal {
    s.parse().expect("decimal literal")
}

/// Equity awards are never remeasured: any call is a bug.
fn no_price(d: Date) -> Result<Decimal, AccountingError> {
    panic!("price_at({d}) called for an equity award")
}

fn award<'a>(
    start: Date,
    units: u128,
    price: &str,
    tranches: &'a [(Date, TokenAmount)],
    forfeitures: &'a [Forfeit],
    attribution: Attribution,
) -> Award<'a> {
    Award {
        grant: "g-1",
        service_start: start,
        units: whole(units),
        grant_date_price: usd(price),
        tranches,
        forfeitures,
        attribution,
        classification: Classification::Equity,
    }
}

fn cum(a: &Award, at: Date) -> Decimal {
    cumulative_expense(&tkn(), a, at, &no_price).expect("valid award")
}

/// The textbook award with calendar years of 365 days each: service from 2098-03-01, 1,000
/// units vesting on each of the next four 1 March. No 29 February falls in between (2100 is not
/// a leap year), so the tranches need 365, 730, 1095 and 1460 days of service and the day-count
/// fractions are exactly the 1/2, 1/3, 1/4 of the textbook.
fn textbook() -> [(Date, TokenAmount); 4] {
    [
        (date(2099, 3, 1), whole(1000)),
        (date(2100, 3, 1), whole(1000)),
        (date(2101, 3, 1), whole(1000)),
        (date(2102, 3, 1), whole(1000)),
    ]
}

#[test]
fn textbook_year_ends_graded_versus_straight_line() {
    // docs/tax-rules.md#employer-accounting example; ASC 718-10-35-8; FIN 28. 4,000 units at $1.
    // "End of year n" is the end of the day before the n-th vest: 365·n days served, the whole
    // service the n-th tranche requires (a vest happens at 00:00 of its day).
    let t = textbook();
    let s = date(2098, 3, 1);
    let graded = award(s, 4000, "1", &t, &[], Attribution::Graded);
    let straight = award(s, 4000, "1", &t, &[], Attribution::StraightLine);
    let cases = [
        // Year 1, 365 days. Graded: 1000·1 + 1000·1/2 + 1000·1/3 + 1000·1/4
        //   = 1000 + 500 + 333.333… + 250 = 2083.333… → 2083.33.
        // Straight-line: 4000 · 365/1460 = 1000.00 (nothing has vested yet: floor 0).
        (date(2099, 2, 28), "2083.33", "1000.00"),
        // Year 2, 730 days. Graded: 1000 + 1000 + 1000·2/3 + 1000·2/4 = 3166.666… → 3166.67.
        // Straight-line: 4000 · 730/1460 = 2000.00 (floor: 1,000 vested → 1000).
        (date(2100, 2, 28), "3166.67", "2000.00"),
        // Year 3, 1095 days. Graded: 1000·3 + 1000·3/4 = 3750.00. Straight-line: 4000·3/4 = 3000.00.
        (date(2101, 2, 28), "3750.00", "3000.00"),
        // Year 4, 1460 days: everything earned, 4000.00 either way.
        (date(2102, 2, 28), "4000.00", "4000.00"),
        // The last vest date and after: still 4000.00.
        (date(2102, 3, 1), "4000.00", "4000.00"),
        (date(2110, 1, 1), "4000.00", "4000.00"),
    ];
    for (at, g, sl) in cases {
        assert_eq!(cum(&graded, at), usd(g), "graded at {at}");
        assert_eq!(cum(&straight, at), usd(sl), "straight-line at {at}");
    }
    // The journal entries: graded 2083.33, 1083.34, 583.33, 250.00, summing to 4000.00.
    let ends = [date(2099, 2, 28), date(2100, 2, 28), date(2101, 2, 28), date(2102, 2, 28)];
    let mut prev = None;
    let mut entries = vec![];
    for end in ends {
        entries.push(period_expense(&tkn(), &graded, prev, end, &no_price).expect("valid award"));
        prev = Some(end);
    }
    assert_eq!(entries, [usd("2083.33"), usd("1083.34"), usd("583.33"), usd("250.00")]);
}

#[test]
fn real_calendar_counts_the_leap_day() {
    // The same shape from 2025-01-01: vests on 1 January 2026..2029, needing 365, 730, 1095 and
    // 1461 days of service (29 February 2028 falls in the fourth year).
    let t = [
        (date(2026, 1, 1), whole(1000)),
        (date(2027, 1, 1), whole(1000)),
        (date(2028, 1, 1), whole(1000)),
        (date(2029, 1, 1), whole(1000)),
    ];
    let s = date(2025, 1, 1);
    let graded = award(s, 4000, "1", &t, &[], Attribution::Graded);
    let straight = award(s, 4000, "1", &t, &[], Attribution::StraightLine);
    // End of 2025, 365 days served. Graded: 1000 + 1000·365/730 + 1000·365/1095 + 1000·365/1461
    //   = 1000 + 500 + 333.3333… + 249.8288… = 2083.1622… → 2083.16.
    // Straight-line: 4000·365/1461 = 999.3155… → 999.32; nothing vested, so no floor.
    assert_eq!(cum(&graded, date(2025, 12, 31)), usd("2083.16"));
    assert_eq!(cum(&straight, date(2025, 12, 31)), usd("999.32"));
    // 2026-01-01, 366 days, first tranche vested. Graded: 1000 + 1000·366/730 + 1000·366/1095
    //   + 1000·366/1461 = 1000 + 501.3698… + 334.2466… + 250.5133… = 2086.1297… → 2086.13.
    // Straight-line: 4000·366/1461 = 1002.0533… → 1002.05, above the 1000.00 floor.
    assert_eq!(cum(&graded, date(2026, 1, 1)), usd("2086.13"));
    assert_eq!(cum(&straight, date(2026, 1, 1)), usd("1002.05"));
    // Before the service start nothing is earned.
    assert_eq!(cum(&graded, date(2024, 12, 31)), Decimal::ZERO);
}

#[test]
fn straight_line_is_floored_at_the_vested_value() {
    // ASC 718-10-35-8: cumulative cost at least the grant-date value of what has vested.
    // 3,000 of 4,000 units vest after one year, 1,000 after four (textbook dates, $1).
    let t = [(date(2099, 3, 1), whole(3000)), (date(2102, 3, 1), whole(1000))];
    let s = date(2098, 3, 1);
    let straight = award(s, 4000, "1", &t, &[], Attribution::StraightLine);
    let graded = award(s, 4000, "1", &t, &[], Attribution::Graded);
    // On the first vest date, 366 days served. Straight-line: 4000·366/1460 = 1002.74, but
    // 3,000 units have vested: floor 3000.00. Graded: 3000 + 1000·366/1460 = 3250.6849… → 3250.68.
    assert_eq!(cum(&straight, date(2099, 3, 1)), usd("3000.00"));
    assert_eq!(cum(&graded, date(2099, 3, 1)), usd("3250.68"));
    // The day before, nothing has vested: 4000·365/1460 = 1000.00.
    assert_eq!(cum(&straight, date(2099, 2, 28)), usd("1000.00"));
}

#[test]
fn termination_reverses_the_cost_of_the_forfeited_units() {
    // Textbook award; employment ends on 2100-09-01, after two vests. Forfeitures as they occur
    // (ASC 718-10-35-3; docs/tax-rules.md#employer-accounting: "a forfeiture before vesting reverses the expense
    // recognized for the forfeited units").
    let t = textbook();
    let remaining = [t[0], t[1]];
    let on = date(2100, 9, 1);
    let forfeits = [
        Forfeit { on, scheduled: date(2101, 3, 1), units: whole(1000) },
        Forfeit { on, scheduled: date(2102, 3, 1), units: whole(1000) },
    ];
    let s = date(2098, 3, 1);
    let graded = award(s, 4000, "1", &remaining, &forfeits, Attribution::Graded);
    let straight = award(s, 4000, "1", &remaining, &forfeits, Attribution::StraightLine);
    // 2100-08-31: 730 + 184 = 914 days served, the award still whole.
    // Graded: 1000 + 1000 + 1000·914/1095 + 1000·914/1460 = 2000 + 834.7032 + 626.0274
    //   = 3460.7306 → 3460.73.
    // Straight-line: 4000·914/1460 = 2504.1096 → 2504.11.
    assert_eq!(cum(&graded, date(2100, 8, 31)), usd("3460.73"));
    assert_eq!(cum(&straight, date(2100, 8, 31)), usd("2504.11"));
    // 2100-09-01: the 2,000 unvested units are gone; what is left has all vested, so the
    // cumulative is the grant-date value of the vested units, 2000.00, either way.
    assert_eq!(cum(&graded, on), usd("2000.00"));
    assert_eq!(cum(&straight, on), usd("2000.00"));
    // The reversal booked that period is exactly what had been recognized for the forfeited
    // tranches: graded 834.7032 + 626.0274 = 1460.7306 → −1460.73.
    let entry = period_expense(&tkn(), &graded, Some(date(2100, 8, 31)), on, &no_price).expect("valid award");
    assert_eq!(entry, usd("-1460.73"));
    // Straight-line: the 2,000 vested units were carried at 2000.00 (their floor), so the
    // forfeited units carried the rest, 504.11.
    let entry = period_expense(&tkn(), &straight, Some(date(2100, 8, 31)), on, &no_price).expect("valid award");
    assert_eq!(entry, usd("-504.11"));
}

#[test]
fn liability_award_is_remeasured_each_quarter() {
    // ASC 718-30-35-1, 35-2: remeasured at each reporting date; the cost is the fair value
    // times the share of service rendered; a vested tranche settles at its vest-date value.
    // 1,000 units from 2025-01-01: 500 vest 2025-07-01 (181 days of service), 500 vest
    // 2026-01-01 (365 days). Prices: 2.00 on 03-31, 3.00 on 06-30, 2.50 on the vest date
    // 07-01, 1.50 on 09-30.
    let t = [(date(2025, 7, 1), whole(500)), (date(2026, 1, 1), whole(500))];
    let prices = |d: Date| -> Result<Decimal, AccountingError> {
        match (d.month(), d.day()) {
            (3, 31) => Ok(usd("2.00")),
            (6, 30) => Ok(usd("3.00")),
            (7, 1) => Ok(usd("2.50")),
            (9, 30) => Ok(usd("1.50")),
            _ => Err(AccountingError::MissingPrice { date: d }),
        }
    };
    let mut graded = award(date(2025, 1, 1), 1000, "1", &t, &[], Attribution::Graded);
    graded.classification = Classification::Liability;
    let straight = Award { attribution: Attribution::StraightLine, ..graded };
    let quarter_ends = [date(2025, 3, 31), date(2025, 6, 30), date(2025, 9, 30)];
    // Graded:
    //   Q1, 90 days:  500·2·90/181 + 500·2·90/365 = 497.2376 + 246.5753 = 743.8129 → 743.81
    //   Q2, 181 days: 500·3·181/181 + 500·3·181/365 = 1500 + 743.8356 = 2243.8356 → 2243.84
    //                 (the first tranche is fully earned but vests tomorrow: still at 3.00)
    //   Q3, 273 days: 500·2.50 (settled) + 500·1.50·273/365 = 1250 + 560.9589 = 1810.9589 → 1810.96
    // Straight-line (total fair value × 273/365 of the whole service, floored at 1250 settled):
    //   Q1: 1000·2·90/365 = 493.1507 → 493.15
    //   Q2: 1000·3·181/365 = 1487.6712 → 1487.67
    //   Q3: (1250 + 500·1.50)·273/365 = 2000·273/365 = 1495.8904 → 1495.89
    let expected = [("743.81", "493.15"), ("2243.84", "1487.67"), ("1810.96", "1495.89")];
    for (at, (g, sl)) in quarter_ends.into_iter().zip(expected) {
        assert_eq!(cumulative_expense(&tkn(), &graded, at, &prices).expect("valid award"), usd(g), "graded at {at}");
        assert_eq!(
            cumulative_expense(&tkn(), &straight, at, &prices).expect("valid award"),
            usd(sl),
            "straight at {at}"
        );
    }
    // The quarterly entries: the fall in price in Q3 is a negative expense.
    // 743.81, 2243.84 − 743.81 = 1500.03, 1810.96 − 2243.84 = −432.88.
    let q3 = period_expense(&tkn(), &graded, Some(quarter_ends[1]), quarter_ends[2], &prices).expect("valid award");
    assert_eq!(q3, usd("-432.88"));
    let q2 = period_expense(&tkn(), &graded, Some(quarter_ends[0]), quarter_ends[1], &prices).expect("valid award");
    assert_eq!(q2, usd("1500.03"));
    // Unrecognized at Q3 (graded): fair value 1250 + 750 = 2000.00 minus 1810.96 = 189.04.
    let m = measure(&tkn(), &graded, quarter_ends[2], &prices).expect("valid award");
    assert_eq!((m.fair_value, m.vested_value), (usd("2000.00"), usd("1250.00")));
}

#[test]
fn liability_needs_no_current_price_once_everything_has_vested() {
    let t = [(date(2025, 7, 1), whole(10))];
    let only_vest_date = |d: Date| {
        if d == date(2025, 7, 1) { Ok(usd("4")) } else { Err(AccountingError::MissingPrice { date: d }) }
    };
    let mut a = award(date(2025, 1, 1), 10, "1", &t, &[], Attribution::Graded);
    a.classification = Classification::Liability;
    // Settled at 10 · 4.00 = 40.00; no price is needed for 2026-12-31.
    assert_eq!(cumulative_expense(&tkn(), &a, date(2026, 12, 31), &only_vest_date).expect("valid award"), usd("40.00"));
}

#[test]
fn rollforward_of_a_year() {
    // Calendar 2026 (ASC 718-10-50-2 nonvested rollforward and unrecognized cost).
    // A: the real-calendar award of `real_calendar_counts_the_leap_day`, graded, 4,000 at $1.
    let a_t = [
        (date(2026, 1, 1), whole(1000)),
        (date(2027, 1, 1), whole(1000)),
        (date(2028, 1, 1), whole(1000)),
        (date(2029, 1, 1), whole(1000)),
    ];
    // B: granted 2026-03-01, 1,200 units at $2.50, straight-line, 600 vesting 2027-03-01 and
    // 600 on 2028-03-01; employment ends 2026-10-01, so all 1,200 are forfeited.
    let on = date(2026, 10, 1);
    let b_f = [
        Forfeit { on, scheduled: date(2027, 3, 1), units: whole(600) },
        Forfeit { on, scheduled: date(2028, 3, 1), units: whole(600) },
    ];
    // C: fully vested in 2024 (100 at $1). D: service starts in 2027, outside the period.
    let c_t = [(date(2024, 1, 1), whole(100))];
    let d_t = [(date(2028, 1, 1), whole(50))];
    let awards = [
        award(date(2025, 1, 1), 4000, "1", &a_t, &[], Attribution::Graded),
        Award { grant: "g-2", ..award(date(2026, 3, 1), 1200, "2.50", &[], &b_f, Attribution::StraightLine) },
        Award { grant: "g-3", ..award(date(2023, 1, 1), 100, "1", &c_t, &[], Attribution::StraightLine) },
        Award { grant: "g-4", ..award(date(2027, 1, 1), 50, "1", &d_t, &[], Attribution::StraightLine) },
    ];
    // B before its termination: 214 days of 731 (2026-03-01 → 2028-03-01 spans 29 Feb 2028):
    // 1200·2.50·214/731 = 878.2490 → 878.25; then reversed to 0.00 on 2026-10-01.
    assert_eq!(cum(&awards[1], date(2026, 9, 30)), usd("878.25"));
    assert_eq!(cum(&awards[1], on), usd("0.00"));

    let r = rollforward(&tkn(), &awards, date(2026, 1, 1), date(2026, 12, 31), &no_price).expect("valid awards");
    // Units: opening 4,000 (A; C has vested; B and D not granted); granted 1,200 (B); vested
    // 1,000 (A on 2026-01-01); forfeited 1,200 (B); closing 4000 + 1200 − 1000 − 1200 = 3,000.
    assert_eq!(
        [r.units.opening, r.units.granted, r.units.vested, r.units.forfeited, r.units.closing],
        [whole(4000), whole(1200), whole(1000), whole(1200), whole(3000)]
    );
    // Expense: opening at 2025-12-31 = A 2083.16 + C 100.00 = 2183.16.
    // Closing at 2026-12-31 (730 days for A): 1000 + 1000 + 1000·730/1095 + 1000·730/1461
    //   = 2000 + 666.6667 + 499.6578 = 3166.3244 → 3166.32; + C 100.00 + B 0.00 = 3266.32.
    // Recognized 3266.32 − 2183.16 = 1083.16. Unrecognized: A 4000.00 − 3166.32 = 833.68.
    assert_eq!(r.expense.opening, usd("2183.16"));
    assert_eq!(r.expense.closing, usd("3266.32"));
    assert_eq!(r.expense.recognized, usd("1083.16"));
    assert_eq!(r.expense.unrecognized, usd("833.68"));
}

#[test]
fn invalid_awards_are_refused_with_the_reason() {
    let s = date(2025, 1, 1);
    let t = tkn();
    let at = date(2026, 1, 1);
    let err = |a: &Award| cumulative_expense(&t, a, at, &no_price).expect_err("refused");

    let early = [(date(2024, 12, 31), whole(1))];
    assert_eq!(
        err(&award(s, 1, "1", &early, &[], Attribution::Graded)),
        AccountingError::TrancheBeforeServiceStart { grant: "g-1".into(), date: date(2024, 12, 31), service_start: s }
    );

    let unordered = [(date(2026, 1, 1), whole(1)), (date(2025, 6, 1), whole(1))];
    assert_eq!(
        err(&award(s, 2, "1", &unordered, &[], Attribution::Graded)),
        AccountingError::TranchesNotAscending {
            grant: "g-1".into(),
            date: date(2025, 6, 1),
            previous: date(2026, 1, 1)
        }
    );

    let one = [(date(2026, 1, 1), whole(1))];
    let e = err(&award(s, 3, "1", &one, &[], Attribution::Graded));
    assert_eq!(
        e,
        AccountingError::UnitsMismatch {
            grant: "g-1".into(),
            units: whole(3),
            tranches: whole(1),
            forfeited: whole(0)
        }
    );
    assert!(e.to_string().contains("must add up to"), "{e}");

    let vested = [Forfeit { on: date(2026, 1, 1), scheduled: date(2026, 1, 1), units: whole(1) }];
    assert_eq!(
        err(&award(s, 2, "1", &one, &vested, Attribution::Graded)),
        AccountingError::ForfeitureOfVestedUnits {
            grant: "g-1".into(),
            on: date(2026, 1, 1),
            scheduled: date(2026, 1, 1)
        }
    );

    let before = [Forfeit { on: date(2024, 1, 1), scheduled: date(2026, 1, 1), units: whole(1) }];
    assert_eq!(
        err(&award(s, 2, "1", &one, &before, Attribution::Graded)),
        AccountingError::ForfeitureBeforeServiceStart { grant: "g-1".into(), on: date(2024, 1, 1), service_start: s }
    );

    assert!(matches!(err(&award(s, 1, "-1", &one, &[], Attribution::Graded)), AccountingError::NegativePrice { .. }));

    let ok = award(s, 1, "1", &one, &[], Attribution::Graded);
    assert_eq!(
        period_expense(&t, &ok, Some(date(2026, 2, 1)), date(2026, 1, 1), &no_price).expect_err("refused"),
        AccountingError::PeriodReversed { start: date(2026, 2, 1), end: date(2026, 1, 1) }
    );
    assert_eq!(
        rollforward(&t, &[ok], date(2026, 2, 1), date(2026, 1, 1), &no_price).expect_err("refused"),
        AccountingError::PeriodReversed { start: date(2026, 2, 1), end: date(2026, 1, 1) }
    );
}

#[test]
fn a_missing_price_is_passed_through_with_grant_and_date() {
    let one = [(date(2026, 1, 1), whole(1))];
    let mut a = award(date(2025, 1, 1), 1, "1", &one, &[], Attribution::Graded);
    a.classification = Classification::Liability;
    let missing = |d: Date| Err(AccountingError::MissingPrice { date: d });
    let e = cumulative_expense(&tkn(), &a, date(2025, 6, 30), &missing).expect_err("refused");
    assert_eq!(
        e,
        AccountingError::Price {
            grant: "g-1".into(),
            date: date(2025, 6, 30),
            source: Box::new(AccountingError::MissingPrice { date: date(2025, 6, 30) }),
        }
    );
    assert_eq!(
        e.to_string(),
        "grant g-1: cannot value its tokens on 2025-06-30: no fair value is recorded for 2025-06-30"
    );
    let negative = |_: Date| Ok(usd("-0.01"));
    assert!(matches!(
        cumulative_expense(&tkn(), &a, date(2025, 6, 30), &negative),
        Err(AccountingError::NegativePrice { .. })
    ));
}

#[test]
fn zero_unit_tranches_do_not_stretch_the_service_period() {
    // A tranche of nothing requires no service: straight-line ends at the last real vest.
    let t = [(date(2026, 1, 1), whole(10)), (date(2030, 1, 1), whole(0))];
    let a = award(date(2025, 1, 1), 10, "1", &t, &[], Attribution::StraightLine);
    // 2025-07-01: 181 days of 365 → 10·181/365 = 4.9589 → 4.96.
    assert_eq!(cum(&a, date(2025, 6, 30)), usd("4.96"));
}

// ---------------------------------------------------------------------------------------------
// Property tests against a plain reference: exact fractions of cents in i128, whole tokens,
// every tranche on its own (no merging), day counts from jiff's own date difference.

#[derive(Clone, Copy, Debug, PartialEq)]
struct Q {
    n: i128,
    d: i128,
}

fn gcd(a: i128, b: i128) -> i128 {
    if b == 0 { a.abs() } else { gcd(b, a % b) }
}

impl Q {
    fn new(n: i128, d: i128) -> Q {
        let g = gcd(n, d).max(1);
        Q { n: n / g, d: d / g }
    }
    fn int(n: i128) -> Q {
        Q { n, d: 1 }
    }
    fn add(self, o: Q) -> Q {
        let l = self.d / gcd(self.d, o.d) * o.d;
        Q::new(self.n * (l / self.d) + o.n * (l / o.d), l)
    }
    fn mul(self, o: Q) -> Q {
        Q::new(self.n * o.n, self.d * o.d)
    }
    fn max(self, o: Q) -> Q {
        if self.n * o.d >= o.n * self.d { self } else { o }
    }
    /// Half away from zero, for non-negative values.
    fn round(self) -> i128 {
        (2 * self.n + self.d) / (2 * self.d)
    }
}

fn days(from: Date, to: Date) -> i128 {
    i128::from(to.since(from).expect("date difference").get_days())
}

/// Liability prices: an arbitrary, deterministic walk in cents, up and down.
fn liability_cents(d: Date) -> i128 {
    (days(date(2000, 1, 1), d) * 7919).rem_euclid(50_000)
}

fn liability_price(d: Date) -> Result<Decimal, AccountingError> {
    Ok(Decimal::from_i128_with_scale(liability_cents(d), 2))
}

#[derive(Clone, Debug)]
struct Case {
    start: Date,
    decimals: u8,
    grant_cents: i128,
    /// (vest date, whole tokens) after events.
    tranches: Vec<(Date, u128)>,
    /// (on, scheduled, whole tokens).
    forfeits: Vec<(Date, Date, u128)>,
    tranche_amounts: Vec<(Date, TokenAmount)>,
    forfeit_list: Vec<Forfeit>,
}

impl Case {
    fn build(
        start: Date,
        decimals: u8,
        grant_cents: i128,
        tranches: Vec<(Date, u128)>,
        forfeits: Vec<(Date, Date, u128)>,
    ) -> Case {
        let unit = 10u128.pow(u32::from(decimals));
        let tranche_amounts = tranches.iter().map(|&(d, w)| (d, TokenAmount::from_base_units(w * unit))).collect();
        let forfeit_list = forfeits
            .iter()
            .map(|&(on, scheduled, w)| Forfeit { on, scheduled, units: TokenAmount::from_base_units(w * unit) })
            .collect();
        Case { start, decimals, grant_cents, tranches, forfeits, tranche_amounts, forfeit_list }
    }

    fn token(&self) -> Token {
        Token::new("TKN", self.decimals).expect("valid token")
    }

    fn units(&self) -> TokenAmount {
        let w: u128 = self.tranches.iter().map(|t| t.1).sum::<u128>() + self.forfeits.iter().map(|f| f.2).sum::<u128>();
        TokenAmount::from_base_units(w * 10u128.pow(u32::from(self.decimals)))
    }

    fn award(&self, attribution: Attribution, classification: Classification) -> Award<'_> {
        Award {
            grant: "p",
            service_start: self.start,
            units: self.units(),
            grant_date_price: self.grant_price(),
            tranches: &self.tranche_amounts,
            forfeitures: &self.forfeit_list,
            attribution,
            classification,
        }
    }

    fn grant_price(&self) -> Decimal {
        Decimal::from_i128_with_scale(self.grant_cents, 2)
    }

    fn last_date(&self) -> Date {
        self.tranches.iter().map(|t| t.0).chain(self.forfeits.iter().map(|f| f.1)).max().unwrap_or(self.start)
    }

    /// The forfeited pieces never existed.
    fn without_forfeits(&self) -> Case {
        Case::build(self.start, self.decimals, self.grant_cents, self.tranches.clone(), vec![])
    }

    /// The forfeited pieces vest as they were scheduled to.
    fn restored(&self) -> Case {
        let mut t = self.tranches.clone();
        t.extend(self.forfeits.iter().map(|f| (f.1, f.2)));
        t.sort_by_key(|p| p.0);
        Case::build(self.start, self.decimals, self.grant_cents, t, vec![])
    }

    /// Cumulative cost in cents at the end of `at`, straight from the rules.
    fn reference(&self, at: Date, attribution: Attribution, classification: Classification) -> i128 {
        if at < self.start {
            return 0;
        }
        let pieces: Vec<(Date, i128)> = self
            .tranches
            .iter()
            .copied()
            .chain(self.forfeits.iter().filter(|f| f.0 > at).map(|f| (f.1, f.2)))
            .filter(|p| p.1 > 0)
            .map(|(d, w)| (d, i128::try_from(w).expect("at most a million")))
            .collect();
        let Some(last) = pieces.iter().map(|p| p.0).max() else {
            return 0;
        };
        let served = days(self.start, at) + 1;
        let fraction = |v: Date| if v <= at { Q::int(1) } else { Q::new(served, days(self.start, v)) };
        let price = |v: Date| match classification {
            Classification::Equity => self.grant_cents,
            Classification::Liability => liability_cents(if v <= at { v } else { at }),
        };
        let (mut total, mut vested, mut graded) = (Q::int(0), Q::int(0), Q::int(0));
        for &(v, w) in &pieces {
            let value = Q::int(w * price(v));
            total = total.add(value);
            if v <= at {
                vested = vested.add(value);
            }
            graded = graded.add(value.mul(fraction(v)));
        }
        let raw = match attribution {
            Attribution::Graded => graded,
            Attribution::StraightLine => total.mul(fraction(last)),
        };
        raw.max(vested).round()
    }

    fn cumulative(&self, at: Date, attribution: Attribution, classification: Classification) -> Decimal {
        let price: &PriceAt = &liability_price;
        cumulative_expense(&self.token(), &self.award(attribution, classification), at, price).expect("valid award")
    }
}

fn cents(d: Decimal) -> i128 {
    let c = d * Decimal::ONE_HUNDRED;
    assert_eq!(c.fract(), Decimal::ZERO, "{d} is not whole cents");
    c.mantissa() / 10i128.pow(c.scale())
}

#[derive(Clone, Copy, Debug)]
enum Event {
    None,
    /// Employment ends between tranche k−1 and tranche k: tranches k.. are forfeited whole.
    Termination,
    /// Part of each tranche from k on is revoked at some day before tranche k.
    Revocation,
}

fn any_case() -> impl Strategy<Value = Case> {
    (
        0i64..4000,
        prop::sample::select(vec![0u8, 6, 18]),
        0i128..=50_000,
        prop::collection::vec((0i64..=400, 0u128..=1_000_000, 0u128..=100), 1..=5),
        prop_oneof![Just(Event::None), Just(Event::Termination), Just(Event::Revocation)],
        any::<prop::sample::Index>(),
        0i64..=1000,
    )
        .prop_map(|(offset, decimals, grant_cents, raw, event, k, permille)| {
            let start = date(2000, 1, 1).checked_add(offset.days()).expect("date in range");
            let mut at = start;
            let mut planned = vec![];
            for &(gap, w, _) in &raw {
                at = at.checked_add(gap.days()).expect("date in range");
                planned.push((at, w));
            }
            let k = k.index(planned.len());
            let lo = match event {
                Event::Termination if k > 0 => planned[k - 1].0,
                _ => start,
            };
            let hi = planned[k].0.yesterday().expect("date in range");
            if matches!(event, Event::None) || hi < lo {
                return Case::build(start, decimals, grant_cents, planned, vec![]);
            }
            let step = i64::try_from(days(lo, hi) * i128::from(permille) / 1000).expect("a few thousand days");
            let on = lo.checked_add(step.days()).expect("in range");
            let mut tranches = planned[..k].to_vec();
            let mut forfeits = vec![];
            for (j, &(d, w)) in planned.iter().enumerate().skip(k) {
                let gone = if matches!(event, Event::Termination) { w } else { w * raw[j].2 / 100 };
                if gone > 0 {
                    forfeits.push((on, d, gone));
                }
                if w > gone {
                    tranches.push((d, w - gone));
                }
            }
            Case::build(start, decimals, grant_cents, tranches, forfeits)
        })
}

fn any_policy() -> impl Strategy<Value = (Attribution, Classification)> {
    (
        prop_oneof![Just(Attribution::StraightLine), Just(Attribution::Graded)],
        prop_oneof![Just(Classification::Equity), Just(Classification::Liability)],
    )
}

/// A date from a little before the service start to a little after the last vest.
fn date_in(case: &Case, permille: i64) -> Date {
    let span = i64::try_from(days(case.start, case.last_date())).expect("a few thousand days") + 40;
    case.start.checked_add((span * permille / 1000 - 10).days()).expect("date in range")
}

proptest! {
    #[test]
    fn matches_the_exact_reference(case in any_case(), policy in any_policy(), p in 0i64..=1000) {
        let at = date_in(&case, p);
        let got = cents(case.cumulative(at, policy.0, policy.1));
        prop_assert_eq!(got, case.reference(at, policy.0, policy.1));
    }

    #[test]
    fn equity_without_forfeitures_is_monotone(
        case in any_case(), policy in any_policy(), p in 0i64..=1000, q in 0i64..=1000,
    ) {
        let case = case.without_forfeits();
        let (a, b) = (date_in(&case, p.min(q)), date_in(&case, p.max(q)));
        let x = case.cumulative(a, policy.0, Classification::Equity);
        let y = case.cumulative(b, policy.0, Classification::Equity);
        prop_assert!(x <= y, "{} at {} > {} at {}", x, a, y, b);
    }

    #[test]
    fn equity_is_at_least_the_vested_value(case in any_case(), policy in any_policy(), p in 0i64..=1000) {
        let at = date_in(&case, p);
        let vested = case.tranche_amounts.iter().filter(|t| t.0 <= at).map(|t| t.1);
        let vested = TokenAmount::checked_sum(vested).expect("small sum");
        let floor = token_value(&case.token(), vested, case.grant_price(), MONEY_ROUNDING).expect("small value");
        prop_assert!(case.cumulative(at, policy.0, Classification::Equity) >= floor);
    }

    #[test]
    fn equity_at_the_end_is_the_grant_date_value(case in any_case(), policy in any_policy(), later in 0i64..100) {
        // Past every vest and every forfeiture: the value of the units that vested, rounded once.
        let end = case.forfeits.iter().map(|f| f.0).chain([case.last_date()]).max().expect("at least one date");
        let at = end.checked_add(later.days()).expect("date in range");
        let kept = TokenAmount::checked_sum(case.tranche_amounts.iter().map(|t| t.1)).expect("small sum");
        let value = token_value(&case.token(), kept, case.grant_price(), MONEY_ROUNDING).expect("small value");
        prop_assert_eq!(case.cumulative(at, policy.0, Classification::Equity), value);
    }

    #[test]
    fn graded_is_never_below_straight_line(case in any_case(), policy in any_policy(), p in 0i64..=1000) {
        let at = date_in(&case, p);
        let graded = case.cumulative(at, Attribution::Graded, policy.1);
        let straight = case.cumulative(at, Attribution::StraightLine, policy.1);
        prop_assert!(graded >= straight, "graded {} < straight-line {} at {}", graded, straight, at);
    }

    #[test]
    fn period_entries_sum_to_the_cumulative(
        case in any_case(), policy in any_policy(), cuts in prop::collection::vec(0i64..=1000, 1..8),
    ) {
        let mut ends: Vec<Date> = cuts.iter().map(|&p| date_in(&case, p)).collect();
        ends.sort();
        let award = case.award(policy.0, policy.1);
        let price: &PriceAt = &liability_price;
        let mut prev = None;
        let mut sum = Decimal::ZERO;
        for &end in &ends {
            sum += period_expense(&case.token(), &award, prev, end, price).expect("valid award");
            prev = Some(end);
        }
        prop_assert_eq!(sum, case.cumulative(*ends.last().expect("at least one period"), policy.0, policy.1));
    }

    #[test]
    fn forfeitures_count_until_they_happen_and_never_after(
        case in any_case(), policy in any_policy(), p in 0i64..=1000,
    ) {
        // Before its date a forfeited piece is a tranche at its scheduled date; from its date
        // the award is as if the piece had never been granted (the reversal).
        let at = date_in(&case, p);
        let got = case.cumulative(at, policy.0, policy.1);
        let happened = case.forfeits.first().is_some_and(|f| f.0 <= at);
        let twin = if happened { case.without_forfeits() } else { case.restored() };
        prop_assert_eq!(got, twin.cumulative(at, policy.0, policy.1));
    }

    #[test]
    fn rollforward_reconciles(
        cases in prop::collection::vec(any_case(), 1..4), policy in any_policy(), p in 0i64..=1000, q in 0i64..=1000,
    ) {
        // One token per rollforward: keep the cases that share the first one's decimals.
        let token = cases[0].token();
        let awards: Vec<Award> =
            cases.iter().filter(|c| c.decimals == cases[0].decimals).map(|c| c.award(policy.0, policy.1)).collect();
        let (from, to) = (date_in(&cases[0], p.min(q)), date_in(&cases[0], p.max(q)));
        let price: &PriceAt = &liability_price;
        let r = rollforward(&token, &awards, from, to, price).expect("valid awards");
        let u = r.units;
        prop_assert_eq!(
            u.opening.base_units() + u.granted.base_units() - u.vested.base_units() - u.forfeited.base_units(),
            u.closing.base_units()
        );
        // Closing units counted another way: for awards already granted, the tranches and
        // forfeitures still to come after `to`.
        let closing: u128 = awards
            .iter()
            .filter(|a| a.service_start <= to)
            .map(|a| {
                a.tranches.iter().filter(|t| t.0 > to).map(|t| t.1.base_units()).sum::<u128>()
                    + a.forfeitures.iter().filter(|f| f.on > to).map(|f| f.units.base_units()).sum::<u128>()
            })
            .sum();
        prop_assert_eq!(u.closing.base_units(), closing);
        let sum_at = |d: Date| -> Decimal {
            awards.iter().map(|a| cumulative_expense(&token, a, d, price).expect("valid award")).sum()
        };
        prop_assert_eq!(r.expense.opening, sum_at(from.yesterday().expect("in range")));
        prop_assert_eq!(r.expense.closing, sum_at(to));
        prop_assert_eq!(r.expense.recognized, r.expense.closing - r.expense.opening);
        prop_assert!(r.expense.unrecognized >= Decimal::ZERO);
    }

    #[test]
    fn a_rollforward_over_everything_leaves_nothing_outstanding(
        cases in prop::collection::vec(any_case(), 1..4), policy in any_policy(),
    ) {
        let token = cases[0].token();
        let same: Vec<&Case> = cases.iter().filter(|c| c.decimals == cases[0].decimals).collect();
        let awards: Vec<Award> = same.iter().map(|c| c.award(policy.0, policy.1)).collect();
        let to = same.iter().map(|c| c.last_date()).max().expect("at least one date");
        let r = rollforward(&token, &awards, date(1999, 1, 1), to, &liability_price).expect("valid awards");
        let granted = TokenAmount::checked_sum(awards.iter().map(|a| a.units)).expect("small sum");
        prop_assert_eq!(r.units.opening, TokenAmount::ZERO);
        prop_assert_eq!(r.units.granted, granted);
        prop_assert_eq!(r.units.closing, TokenAmount::ZERO);
        prop_assert_eq!(r.expense.unrecognized, Decimal::ZERO);
        prop_assert_eq!(r.expense.recognized, r.expense.closing);
    }
}
