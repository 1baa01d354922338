//! Hand-worked schedules: every expected number below was computed by hand from the rule it
//! names, not captured from the engine.

use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use tokencomp_core::schedule::{Allocation, Calendar, Custom, DayOfMonth, Linear, LinearModel, Period, Schedule};
use tokencomp_core::{Grant, VestReason};
use tokencomp_money::TokenAmount;

pub fn grant(amount: u128, schedule: Schedule) -> Grant {
    Grant {
        id: "g-1".into(),
        holder: "alice".into(),
        amount: TokenAmount::from_base_units(amount),
        schedule,
        performance: vec![],
        events: vec![],
    }
}

pub fn monthly(start: Date, n: u32, cliff: u32, rule: DayOfMonth, alloc: Allocation) -> Schedule {
    Schedule::Calendar(Calendar::new(start, Period::Months(1), n, cliff, rule, alloc).expect("valid schedule"))
}

/// (date, amount, reason) of each tranche.
pub fn table(g: &Grant) -> Vec<(Date, u128, &'static str)> {
    g.timeline(&TimeZone::UTC, None)
        .expect("timeline")
        .tranches
        .iter()
        .map(|t| (t.date, t.amount.base_units(), t.reason.as_str()))
        .collect()
}

fn amounts(g: &Grant) -> Vec<u128> {
    table(g).into_iter().map(|t| t.1).collect()
}

fn dates(g: &Grant) -> Vec<Date> {
    table(g).into_iter().map(|t| t.0).collect()
}

#[test]
fn ocf_allocation_types_on_18_units_over_4_tranches() {
    // The table in OCF's AllocationType description.
    let cases = [
        (Allocation::CumulativeRounding, [5, 4, 5, 4]), // round(4.5)=5, round(9)=9, round(13.5)=14, 18
        (Allocation::CumulativeRoundDown, [4, 5, 4, 5]), // 4, 9, 13, 18
        (Allocation::FrontLoaded, [5, 5, 4, 4]),        // 4 each, remainder 2 to the first two
        (Allocation::BackLoaded, [4, 4, 5, 5]),
        (Allocation::FrontLoadedToSingleTranche, [6, 4, 4, 4]),
        (Allocation::BackLoadedToSingleTranche, [4, 4, 4, 6]),
        (Allocation::Fractional, [4, 5, 4, 5]), // 4.5 each, floored cumulatively at base units
    ];
    for (alloc, expected) in cases {
        let g = grant(18, monthly(date(2025, 1, 1), 4, 0, DayOfMonth::VestingStartDayOrLast, alloc));
        assert_eq!(amounts(&g), expected, "{alloc:?}");
    }
}

#[test]
fn cliff_takes_the_allocation_of_the_whole_schedule() {
    // OCF issue 514: 18 over 4 monthly tranches with a 2-installment cliff pays the first two
    // allocated installments together: 9 (cumulative), 10 (front loaded), 8 (back loaded).
    let cliff = |alloc| amounts(&grant(18, monthly(date(2025, 1, 1), 4, 2, DayOfMonth::VestingStartDayOrLast, alloc)));
    assert_eq!(cliff(Allocation::CumulativeRounding), [9, 5, 4]);
    assert_eq!(cliff(Allocation::FrontLoaded), [10, 4, 4]);
    assert_eq!(cliff(Allocation::BackLoaded), [8, 5, 5]);
}

#[test]
fn starts_on_the_31st_clamp_in_leap_and_common_years() {
    let rule = DayOfMonth::VestingStartDayOrLast;
    let g = grant(4, monthly(date(2024, 1, 31), 4, 0, rule, Allocation::CumulativeRoundDown));
    assert_eq!(dates(&g), [date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30), date(2024, 5, 31)]);
    let g = grant(4, monthly(date(2025, 1, 31), 4, 0, rule, Allocation::CumulativeRoundDown));
    assert_eq!(dates(&g), [date(2025, 2, 28), date(2025, 3, 31), date(2025, 4, 30), date(2025, 5, 31)]);
}

#[test]
fn starts_on_the_29th_and_30th() {
    let rule = DayOfMonth::VestingStartDayOrLast;
    let g = grant(3, monthly(date(2023, 12, 29), 3, 0, rule, Allocation::CumulativeRoundDown));
    assert_eq!(dates(&g), [date(2024, 1, 29), date(2024, 2, 29), date(2024, 3, 29)]);
    let g = grant(3, monthly(date(2024, 12, 29), 3, 0, rule, Allocation::CumulativeRoundDown));
    assert_eq!(dates(&g), [date(2025, 1, 29), date(2025, 2, 28), date(2025, 3, 29)]);
    // Computed from the anchor: after February's 28th the 30th comes back.
    let g = grant(3, monthly(date(2025, 1, 30), 3, 0, rule, Allocation::CumulativeRoundDown));
    assert_eq!(dates(&g), [date(2025, 2, 28), date(2025, 3, 30), date(2025, 4, 30)]);
}

#[test]
fn day_of_month_rules() {
    // 31-or-last from a start on the 15th.
    let g = grant(3, monthly(date(2025, 1, 15), 3, 0, DayOfMonth::OrLast(31), Allocation::CumulativeRoundDown));
    assert_eq!(dates(&g), [date(2025, 2, 28), date(2025, 3, 31), date(2025, 4, 30)]);
    // 29-or-last in a leap year.
    let g = grant(2, monthly(date(2024, 1, 10), 2, 0, DayOfMonth::OrLast(29), Allocation::CumulativeRoundDown));
    assert_eq!(dates(&g), [date(2024, 2, 29), date(2024, 3, 29)]);
    // A fixed day: the month is start month + k, the day is the 15th.
    let g = grant(2, monthly(date(2025, 1, 20), 2, 0, DayOfMonth::Day(15), Allocation::CumulativeRoundDown));
    assert_eq!(dates(&g), [date(2025, 2, 15), date(2025, 3, 15)]);
}

#[test]
fn four_years_with_a_one_year_cliff() {
    // 4,800 units from 2025-01-31: 1,200 at the cliff, then 100 a month on the last day.
    let g = grant(
        4800,
        monthly(date(2025, 1, 31), 48, 12, DayOfMonth::VestingStartDayOrLast, Allocation::CumulativeRounding),
    );
    let t = table(&g);
    assert_eq!(t.len(), 37);
    assert_eq!(t[0], (date(2026, 1, 31), 1200, "cliff"));
    assert_eq!(t[1], (date(2026, 2, 28), 100, "vest"));
    assert_eq!(t[2], (date(2026, 3, 31), 100, "vest"));
    assert_eq!(t[13], (date(2027, 2, 28), 100, "vest"));
    assert_eq!(t[25], (date(2028, 2, 29), 100, "vest"));
    assert_eq!(t[36], (date(2029, 1, 31), 100, "vest"));
    // Before the cliff nothing is vested; at its end, everything.
    let tl = g.timeline(&TimeZone::UTC, None).expect("timeline");
    assert_eq!(tl.position(date(2026, 1, 30)).vested.base_units(), 0);
    assert_eq!(tl.position(date(2026, 1, 31)).vested.base_units(), 1200);
    assert_eq!(tl.position(date(2029, 1, 31)).vested.base_units(), 4800);
}

#[test]
fn quarterly_and_annual_steps() {
    let q = Schedule::Calendar(
        Calendar::new(
            date(2025, 2, 28),
            Period::Months(3),
            4,
            0,
            DayOfMonth::VestingStartDayOrLast,
            Allocation::CumulativeRoundDown,
        )
        .expect("valid"),
    );
    // Anchor day 28 stays 28 (not month end): May 28, Aug 28, Nov 28, Feb 28.
    assert_eq!(dates(&grant(4, q)), [date(2025, 5, 28), date(2025, 8, 28), date(2025, 11, 28), date(2026, 2, 28)]);
    let annual = Schedule::Calendar(
        Calendar::new(
            date(2024, 2, 29),
            Period::Months(12),
            2,
            0,
            DayOfMonth::VestingStartDayOrLast,
            Allocation::CumulativeRoundDown,
        )
        .expect("valid"),
    );
    assert_eq!(dates(&grant(2, annual)), [date(2025, 2, 28), date(2026, 2, 28)]);
}

#[test]
fn fixed_day_steps() {
    // Every 30 days, 3 steps, 100 units: 33, 33, 34 (cumulative floor: 33, 66, 100).
    let s = Schedule::Calendar(
        Calendar::new(
            date(2025, 1, 1),
            Period::Days(30),
            3,
            0,
            DayOfMonth::VestingStartDayOrLast,
            Allocation::CumulativeRoundDown,
        )
        .expect("valid"),
    );
    assert_eq!(
        table(&grant(100, s)),
        [(date(2025, 1, 31), 33, "vest"), (date(2025, 3, 2), 33, "vest"), (date(2025, 4, 1), 34, "vest")]
    );
}

#[test]
fn back_weighted_template() {
    // 5/15/40/40 yearly on 1,000 units from 2025-03-31.
    let s = Schedule::Custom(Custom::periodic(date(2025, 3, 31), 12, &[5, 15, 40, 40]).expect("valid"));
    assert_eq!(
        table(&grant(1000, s)),
        [
            (date(2026, 3, 31), 50, "vest"),
            (date(2027, 3, 31), 150, "vest"),
            (date(2028, 3, 31), 400, "vest"),
            (date(2029, 3, 31), 400, "vest")
        ]
    );
}

#[test]
fn custom_weights_round_down_cumulatively() {
    // 10 units in thirds: floor(10/3)=3, floor(20/3)=6 → 3, 3, 4.
    let s = Schedule::Custom(
        Custom::new(&[(date(2025, 1, 1), 1), (date(2025, 2, 1), 1), (date(2025, 3, 1), 1)]).expect("valid"),
    );
    assert_eq!(amounts(&grant(10, s)), [3, 3, 4]);
}

fn ts(s: &str) -> i64 {
    s.parse::<jiff::Timestamp>().expect("timestamp").as_second()
}

#[test]
fn openzeppelin_linear_accrues_from_start_behind_the_cliff() {
    // 1,000 units over 1,000 seconds from t0, cliff at 250 s.
    let t0 = ts("2025-01-01T00:00:00Z");
    let l = Linear::new(t0, Some(t0 + 250), t0 + 1000, 1, LinearModel::OpenZeppelin).expect("valid");
    assert_eq!(l.vested(1000, t0 + 249), 0);
    assert_eq!(l.vested(1000, t0 + 250), 250); // everything since the start, at once
    assert_eq!(l.vested(1000, t0 + 999), 999);
    assert_eq!(l.vested(1000, t0 + 1000), 1000);
    // 7 units over 3 s: floor(7/3)=2, floor(14/3)=4.
    let l = Linear::new(t0, None, t0 + 3, 1, LinearModel::OpenZeppelin).expect("valid");
    assert_eq!(
        [l.vested(7, t0 - 1), l.vested(7, t0), l.vested(7, t0 + 1), l.vested(7, t0 + 2), l.vested(7, t0 + 3)],
        [0, 0, 2, 4, 7]
    );
}

#[test]
fn sablier_linear_unlocks_then_accrues_from_the_cliff() {
    // 1,000 units, start unlock 100, cliff unlock 200, cliff at 100 s, end at 600 s, 60 s steps.
    let t0 = ts("2025-01-01T00:00:00Z");
    let model = LinearModel::Sablier { start_unlock: 100, cliff_unlock: 200 };
    let l = Linear::new(t0, Some(t0 + 100), t0 + 600, 60, model).expect("valid");
    assert_eq!(l.vested(1000, t0 - 1), 0);
    assert_eq!(l.vested(1000, t0), 100);
    assert_eq!(l.vested(1000, t0 + 99), 100);
    assert_eq!(l.vested(1000, t0 + 100), 300); // both unlocks, accrual starts from zero
    assert_eq!(l.vested(1000, t0 + 159), 300); // first 60 s step not complete
    assert_eq!(l.vested(1000, t0 + 160), 300 + 700 * 60 / 500); // 384
    assert_eq!(l.vested(1000, t0 + 599), 300 + 700 * 480 / 500); // 972
    assert_eq!(l.vested(1000, t0 + 600), 1000);
}

#[test]
fn linear_tables_sample_month_ends() {
    // 1,200 units over 2025 (365 days) in UTC, no cliff: the table samples each month end.
    let t0 = ts("2025-01-01T00:00:00Z");
    let t1 = ts("2026-01-01T00:00:00Z");
    let s = Schedule::Linear(Linear::new(t0, None, t1, 1, LinearModel::OpenZeppelin).expect("valid"));
    let t = table(&grant(1200, s));
    // End of 2025-01-31 is 31 days minus one second after t0: floor(1200 × 2678399 / 31536000) = 101.
    assert_eq!(t[0], (date(2025, 1, 31), 101, "vest"));
    // From the end of 2025-11-30 to the end of 2025-12-31, one second short of the end: the
    // last unit vests on 2026-01-01.
    assert_eq!(
        t[t.len() - 2],
        (date(2025, 12, 31), 1200 * 31_535_999 / 31_536_000 - 1200 * 28_857_599 / 31_536_000, "vest")
    );
    assert_eq!(t.last(), Some(&(date(2026, 1, 1), 1, "vest")));
    assert_eq!(t.len(), 13);
    assert_eq!(t.iter().map(|x| x.1).sum::<u128>(), 1200);
    assert!(t.iter().all(|x| x.2 == VestReason::Vest.as_str()));
}

#[test]
fn u128_max_grant_loses_no_unit() {
    let g = grant(
        u128::MAX,
        monthly(date(2025, 1, 1), 48, 12, DayOfMonth::VestingStartDayOrLast, Allocation::CumulativeRounding),
    );
    let t = table(&g);
    assert_eq!(t.iter().try_fold(0u128, |a, x| a.checked_add(x.1)), Some(u128::MAX));
    // The cliff is exactly a quarter, rounded half up: (2^128 - 1) / 4 = 2^126 - 0.25 → 2^126.
    assert_eq!(t[0].1, 1u128 << 126);
}
