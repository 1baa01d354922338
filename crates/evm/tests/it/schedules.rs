//! Generated engine schedules and time zones, shared by the differential tests here and the
//! milestone tests in `crates/chain/tests/evm` (which include this file by path).

use jiff::civil::Date;
use tokencomp_core::schedule::{Allocation, Calendar, Custom, DayOfMonth, Period, Schedule};

use crate::harness::Rng;

pub(crate) const ZONES: [&str; 6] =
    ["UTC", "America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Sydney", "Pacific/Chatham"];
const ALLOCATIONS: [Allocation; 7] = [
    Allocation::CumulativeRounding,
    Allocation::CumulativeRoundDown,
    Allocation::FrontLoaded,
    Allocation::BackLoaded,
    Allocation::FrontLoadedToSingleTranche,
    Allocation::BackLoadedToSingleTranche,
    Allocation::Fractional,
];

fn date(rng: &mut Rng) -> Date {
    let y = i16::try_from(rng.range(2020, 2030)).unwrap();
    let m = i8::try_from(rng.range(1, 12)).unwrap();
    let d = i8::try_from(rng.range(1, 31)).unwrap();
    // Day 29–31 clamps to the month's end, so month-end starts are common.
    Date::new(y, m, d).unwrap_or_else(|_| Date::new(y, m, 1).unwrap().last_of_month())
}

pub(crate) fn schedule(rng: &mut Rng) -> Schedule {
    let start = date(rng);
    match rng.range(0, 2) {
        0 => {
            let months = *rng.pick(&[1u32, 1, 1, 3, 6]);
            let occurrences = u32::try_from(rng.range(1, 48)).unwrap();
            let cliff = u32::try_from(rng.range(0, u64::from(occurrences.min(12)))).unwrap();
            let dom = match rng.range(0, 2) {
                0 => DayOfMonth::Day(u8::try_from(rng.range(1, 28)).unwrap()),
                1 => DayOfMonth::OrLast(u8::try_from(rng.range(29, 31)).unwrap()),
                _ => DayOfMonth::VestingStartDayOrLast,
            };
            let allocation = *rng.pick(&ALLOCATIONS);
            Schedule::Calendar(
                Calendar::new(start, Period::Months(months), occurrences, cliff, dom, allocation).unwrap(),
            )
        }
        1 => {
            let days = u32::try_from(rng.range(1, 90)).unwrap();
            let occurrences = u32::try_from(rng.range(1, 60)).unwrap();
            let cliff = u32::try_from(rng.range(0, u64::from(occurrences.min(10)))).unwrap();
            let allocation = *rng.pick(&ALLOCATIONS);
            Schedule::Calendar(
                Calendar::new(
                    start,
                    Period::Days(days),
                    occurrences,
                    cliff,
                    DayOfMonth::VestingStartDayOrLast,
                    allocation,
                )
                .unwrap(),
            )
        }
        _ => {
            let n = rng.range(1, 12);
            let mut d = start;
            let mut tranches = Vec::new();
            for _ in 0..n {
                tranches.push((d, u128::from(rng.range(1, 100))));
                d = d.checked_add(jiff::Span::new().days(i64::try_from(rng.range(1, 400)).unwrap())).unwrap();
            }
            Schedule::Custom(Custom::new(&tranches).unwrap())
        }
    }
}
