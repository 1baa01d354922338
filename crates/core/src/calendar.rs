//! Calendar arithmetic on day numbers, fast enough for the vesting hot path.
//!
//! A `Day` is a count of days since 1970-01-01 (proleptic Gregorian). Month arithmetic is
//! always "month n after an anchor, clamped to the month's last day", computed from the
//! anchor, never by adding one month repeatedly. Conversions to instants go through jiff
//! with the company's time zone; this module never reads the clock.

use jiff::civil::Date;
use jiff::tz::TimeZone;

/// Days since 1970-01-01.
pub type Day = i32;

/// Seconds since 1970-01-01T00:00:00Z.
pub type Instant = i64;

pub const SECONDS_PER_DAY: i64 = 86_400;

#[inline]
pub const fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

#[inline]
pub const fn days_in_month(y: i32, m: u8) -> u8 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if is_leap(y) {
                29
            } else {
                28
            }
        }
    }
}

/// Day number of a civil date (the era-based algorithm, exact over the whole `i32` year range
/// that jiff supports).
#[inline]
pub const fn day_from_civil(y: i32, m: u8, d: u8) -> Day {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i32;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date of a day number: (year, month 1..=12, day 1..=31).
#[inline]
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub const fn civil_from_day(z: Day) -> (i32, u8, u8) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // d is in 1..=31 and m in 1..=12, so the casts cannot truncate.
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Months since year 0 (`y * 12 + m - 1`): the index month arithmetic works on.
#[inline]
pub const fn month_index(y: i32, m: u8) -> i32 {
    y * 12 + m as i32 - 1
}

#[inline]
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub const fn from_month_index(mi: i32) -> (i32, u8) {
    // rem_euclid is in 0..12, so the cast cannot truncate.
    (mi.div_euclid(12), (mi.rem_euclid(12) + 1) as u8)
}

pub fn to_day(date: Date) -> Day {
    day_from_civil(i32::from(date.year()), month_u8(date), day_u8(date))
}

fn month_u8(date: Date) -> u8 {
    date.month().unsigned_abs()
}

fn day_u8(date: Date) -> u8 {
    date.day().unsigned_abs()
}

/// The civil date of a day number. Day numbers come from dates jiff accepted, and every
/// shift applied to them is validated against jiff's range when events are built.
pub fn to_date(day: Day) -> Date {
    let (y, m, d) = civil_from_day(day);
    let y = i16::try_from(y).unwrap_or(if y < 0 { -9999 } else { 9999 });
    // INVARIANT: civil_from_day returns a valid month and day; the year is clamped to jiff's
    // range above, and callers validate ranges before evaluating, so this cannot fail.
    Date::new(y, i8::try_from(m).unwrap_or(1), i8::try_from(d).unwrap_or(1)).unwrap_or(Date::MAX)
}

/// `date` plus `months`, clamped to the last day of the target month, with the day taken
/// from `day` (which may exceed the month's length; it is clamped too).
#[inline]
pub fn month_day_clamped(anchor_month: i32, months: i32, day: u8) -> Day {
    let (y, m) = from_month_index(anchor_month + months);
    let d = day.min(days_in_month(y, m));
    day_from_civil(y, m, d)
}

/// The instant a vest on `date` happens: 00:00 of that day in the company's time zone (the
/// earliest instant of the day, if a transition skips midnight).
pub fn start_of_day(date: Date, tz: &TimeZone) -> Result<Instant, jiff::Error> {
    Ok(date.to_zoned_datetime(tz.clone())?.start_of_day()?.timestamp().as_second())
}

/// The last second of `date` in the company's time zone: what `--as-of DATE` means.
pub fn end_of_day(date: Date, tz: &TimeZone) -> Result<Instant, jiff::Error> {
    let next = date.tomorrow()?;
    Ok(start_of_day(next, tz)? - 1)
}

/// Every day from `first` through `last` (none when `last` is earlier).
pub fn days(first: Date, last: Date) -> impl Iterator<Item = Date> {
    std::iter::successors(Some(first).filter(|f| *f <= last), move |d| d.tomorrow().ok().filter(|n| *n <= last))
}

/// The civil date, in the company's time zone, of an instant.
pub fn date_of(instant: Instant, tz: &TimeZone) -> Result<Date, jiff::Error> {
    Ok(jiff::Timestamp::from_second(instant)?.to_zoned_datetime(tz.clone()).date())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::ToSpan;

    #[test]
    fn day_numbers_agree_with_jiff_over_centuries() {
        let epoch = Date::constant(1970, 1, 1);
        let mut date = Date::constant(1899, 12, 25);
        let end = Date::constant(2200, 3, 5);
        while date < end {
            let expected = (date - epoch).get_days();
            assert_eq!(to_day(date), expected, "{date}");
            assert_eq!(to_date(expected), date);
            date = date.checked_add(1.day()).expect("in range");
        }
    }

    #[test]
    fn month_arithmetic_clamps_from_the_anchor() {
        // 31 January + 1 month = 28/29 February; + 2 months = 31 March (not 28 March).
        let anchor = month_index(2024, 1);
        assert_eq!(to_date(month_day_clamped(anchor, 1, 31)), Date::constant(2024, 2, 29));
        assert_eq!(to_date(month_day_clamped(anchor, 2, 31)), Date::constant(2024, 3, 31));
        let anchor = month_index(2025, 1);
        assert_eq!(to_date(month_day_clamped(anchor, 1, 31)), Date::constant(2025, 2, 28));
        assert_eq!(to_date(month_day_clamped(anchor, 13, 30)), Date::constant(2026, 2, 28));
        assert_eq!(to_date(month_day_clamped(anchor, 11, 31)), Date::constant(2025, 12, 31));
    }

    #[test]
    fn day_boundaries_follow_the_zone() {
        let ny = TimeZone::get("America/New_York").expect("tz");
        // 2026-03-08 is the spring-forward day in New York: the day has 23 hours.
        let d = Date::constant(2026, 3, 8);
        let start = start_of_day(d, &ny).expect("start");
        let end = end_of_day(d, &ny).expect("end");
        assert_eq!(end - start + 1, 23 * 3600);
        assert_eq!(date_of(start, &ny).expect("date"), d);
        assert_eq!(date_of(end, &ny).expect("date"), d);
        assert_eq!(date_of(end + 1, &ny).expect("date"), Date::constant(2026, 3, 9));
    }
}
