//! Vesting schedules in parametric form, evaluated exactly at any point in time.
//!
//! A schedule says what share of an amount has vested at a given day or instant; it never
//! holds the amount itself. Every shape computes the cumulative vested amount directly (never
//! by summing rounded pieces), so the last step always equals the total exactly.
//!
//! Architecture invariant: evaluation is allocation-free and never reads the clock.

use jiff::civil::Date;
use tokencomp_money::mul_div_floor;

use crate::calendar::{self, Day, Instant};

/// A point in time as the engine sees it: the company-local calendar day and the instant.
/// Calendar-based shapes read `day` (with its civil parts precomputed); linear shapes read
/// `instant`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct At {
    pub day: Day,
    pub instant: Instant,
    year: i32,
    month: u8,
    dom: u8,
}

impl At {
    pub fn new(day: Day, instant: Instant) -> At {
        let (year, month, dom) = calendar::civil_from_day(day);
        At { day, instant, year, month, dom }
    }

    /// The same point moved `days` calendar days and `seconds` seconds earlier.
    pub fn earlier(self, days: i32, seconds: i64) -> At {
        At::new(self.day - days, self.instant - seconds)
    }
}

/// OCF's rule for which day of the month a monthly vest falls on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DayOfMonth {
    /// A fixed day, 1 to 28 (every month has it).
    Day(u8),
    /// Day 29, 30 or 31, or the month's last day when it is shorter.
    OrLast(u8),
    /// The vesting start's day of month, or the month's last day when it is shorter.
    VestingStartDayOrLast,
}

impl DayOfMonth {
    /// OCF's name for the rule (`"05"`, `"31_OR_LAST_DAY_OF_MONTH"`, …), used by the company
    /// file and OCF packages alike.
    pub fn ocf_name(self) -> String {
        match self {
            DayOfMonth::Day(d) => format!("{d:02}"),
            DayOfMonth::OrLast(d) => format!("{d}_OR_LAST_DAY_OF_MONTH"),
            DayOfMonth::VestingStartDayOrLast => "VESTING_START_DAY_OR_LAST_DAY_OF_MONTH".to_owned(),
        }
    }

    pub fn from_ocf_name(s: &str) -> Option<DayOfMonth> {
        match s {
            "29_OR_LAST_DAY_OF_MONTH" => Some(DayOfMonth::OrLast(29)),
            "30_OR_LAST_DAY_OF_MONTH" => Some(DayOfMonth::OrLast(30)),
            "31_OR_LAST_DAY_OF_MONTH" => Some(DayOfMonth::OrLast(31)),
            "VESTING_START_DAY_OR_LAST_DAY_OF_MONTH" => Some(DayOfMonth::VestingStartDayOrLast),
            _ if s.len() == 2 && s.bytes().all(|c| c.is_ascii_digit()) => {
                let d: u8 = s.parse().ok()?;
                (1..=28).contains(&d).then_some(DayOfMonth::Day(d))
            }
            _ => None,
        }
    }

    #[inline]
    fn day_in(self, start_dom: u8, y: i32, m: u8) -> u8 {
        let wanted = match self {
            DayOfMonth::Day(d) => return d,
            DayOfMonth::OrLast(d) => d,
            DayOfMonth::VestingStartDayOrLast => start_dom,
        };
        wanted.min(calendar::days_in_month(y, m))
    }
}

/// OCF's allocation types: how a total is split over `n` equal installments when it does not
/// divide evenly. Every type is defined here by its cumulative amount after `k` installments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Allocation {
    /// Cumulative amount rounded half up at each installment.
    CumulativeRounding,
    /// Cumulative amount rounded down at each installment.
    CumulativeRoundDown,
    /// Equal installments; the remainder spread one unit each over the first installments.
    FrontLoaded,
    /// Equal installments; the remainder spread one unit each over the last installments.
    BackLoaded,
    /// Equal installments; the whole remainder in the first installment.
    FrontLoadedToSingleTranche,
    /// Equal installments; the whole remainder in the last installment.
    BackLoadedToSingleTranche,
    /// Exact fractions; at base-unit precision the cumulative floor, whose last installment
    /// carries the remainder.
    Fractional,
}

impl Allocation {
    /// OCF's names, in the order of `ALL`.
    pub const OCF_NAMES: [&'static str; 7] = [
        "CUMULATIVE_ROUNDING",
        "CUMULATIVE_ROUND_DOWN",
        "FRONT_LOADED",
        "BACK_LOADED",
        "FRONT_LOADED_TO_SINGLE_TRANCHE",
        "BACK_LOADED_TO_SINGLE_TRANCHE",
        "FRACTIONAL",
    ];

    pub fn ocf_name(self) -> &'static str {
        let i = Allocation::ALL.iter().position(|a| *a == self).unwrap_or(1);
        Allocation::OCF_NAMES[i]
    }

    pub fn from_ocf_name(s: &str) -> Option<Allocation> {
        Allocation::OCF_NAMES.iter().position(|n| *n == s).map(|i| Allocation::ALL[i])
    }

    pub const ALL: [Allocation; 7] = [
        Allocation::CumulativeRounding,
        Allocation::CumulativeRoundDown,
        Allocation::FrontLoaded,
        Allocation::BackLoaded,
        Allocation::FrontLoadedToSingleTranche,
        Allocation::BackLoadedToSingleTranche,
        Allocation::Fractional,
    ];

    /// Cumulative base units after `k` of `n` installments of `total` (0 ≤ k ≤ n, n ≥ 1).
    // Inlined into callers' loops: the benchmark measured the call overhead as most of the
    // difference to a bare multiply-divide.
    #[inline(always)]
    pub fn cumulative(self, total: u128, k: u32, n: u32) -> u128 {
        debug_assert!(n >= 1 && k <= n);
        if k >= n {
            return total;
        }
        let (k128, n128) = (u128::from(k), u128::from(n));
        match self {
            Allocation::CumulativeRoundDown | Allocation::Fractional => floor_frac(total, k128, n128),
            Allocation::CumulativeRounding => {
                let q = floor_frac(total, k128, n128);
                // remainder of total*k/n, from the quotient: (total*k - q*n) fits because it is < n.
                let r = rem_frac(total, k128, n128, q);
                if r.saturating_mul(2) >= n128 { q + 1 } else { q }
            }
            Allocation::FrontLoaded => {
                let (q, r) = (total / n128, total % n128);
                k128 * q + k128.min(r)
            }
            Allocation::BackLoaded => {
                let (q, r) = (total / n128, total % n128);
                k128 * q + k128.saturating_sub(n128 - r)
            }
            Allocation::FrontLoadedToSingleTranche => {
                let (q, r) = (total / n128, total % n128);
                k128 * q + if k > 0 { r } else { 0 }
            }
            Allocation::BackLoadedToSingleTranche => k128 * (total / n128),
        }
    }
}

#[inline]
fn floor_frac(total: u128, k: u128, n: u128) -> u128 {
    // k < n, so the quotient is below total and always fits.
    mul_div_floor(total, k, n).unwrap_or(total)
}

/// `total*k - q*n` where `q = floor(total*k/n)`, computed without forming `total*k` when it
/// would overflow: the result is below `n`, so wrapping arithmetic gives it exactly.
#[inline]
fn rem_frac(total: u128, k: u128, n: u128, q: u128) -> u128 {
    total.wrapping_mul(k).wrapping_sub(q.wrapping_mul(n))
}

/// The length of one installment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Period {
    Months(u32),
    Days(u32),
}

/// A calendar schedule in the style of OCF vesting terms: `occurrences` equal installments
/// every `period` after `start`, the first `cliff` of them held back and paid at once (catch
/// up) on the cliff installment's date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Calendar {
    start: Date,
    period: Period,
    occurrences: u32,
    cliff: u32,
    day_of_month: DayOfMonth,
    allocation: Allocation,
    // Precomputed for the hot path.
    start_day: Day,
    start_month: i32,
    start_dom: u8,
}

/// Why a schedule's parameters do not describe a schedule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("the number of installments must be at least 1")]
    NoOccurrences,
    #[error("the period length must be at least 1")]
    ZeroPeriod,
    #[error("the cliff ({cliff} installments) is longer than the schedule ({occurrences})")]
    CliffTooLong { cliff: u32, occurrences: u32 },
    #[error("day of month {0} is not 1 to 28, nor 29, 30 or 31 with `or last day`")]
    DayOfMonth(u8),
    #[error("date {0} is outside 1970-01-01 to 2199-12-31")]
    DateRange(Date),
    #[error("the schedule ends before it starts")]
    EndBeforeStart,
    #[error("the cliff must be within the schedule (start ≤ cliff ≤ end)")]
    CliffOutside,
    #[error("granularity must be between 1 second and the vesting duration")]
    Granularity,
    #[error("a custom schedule needs at least one tranche")]
    NoTranches,
    #[error("custom tranche weights must be positive and sum to at most 2^128 - 1")]
    Weights,
    #[error("custom tranche dates must be strictly increasing ({0} follows a later or equal date)")]
    TrancheOrder(Date),
    #[error("a Sablier stream's start and cliff unlock amounts exceed the amount")]
    UnlockExceedsTotal,
    #[error("a Sablier stream with a cliff unlock amount needs a cliff")]
    CliffUnlockWithoutCliff,
    #[error("schedule is too long: {0}")]
    TooLong(&'static str),
}

/// The earliest and latest dates the engine accepts: instants stay positive (as contracts
/// store them) and month arithmetic stays well inside jiff's range.
pub const MIN_DATE: Date = Date::constant(1970, 1, 1);
pub const MAX_DATE: Date = Date::constant(2199, 12, 31);

/// Refuses a date outside [`MIN_DATE`]..=[`MAX_DATE`].
pub fn check_date(d: Date) -> Result<(), ScheduleError> {
    if d < MIN_DATE || d > MAX_DATE { Err(ScheduleError::DateRange(d)) } else { Ok(()) }
}

impl Calendar {
    pub fn new(
        start: Date,
        period: Period,
        occurrences: u32,
        cliff: u32,
        day_of_month: DayOfMonth,
        allocation: Allocation,
    ) -> Result<Calendar, ScheduleError> {
        check_date(start)?;
        if occurrences == 0 {
            return Err(ScheduleError::NoOccurrences);
        }
        let len = match period {
            Period::Months(n) | Period::Days(n) => n,
        };
        if len == 0 {
            return Err(ScheduleError::ZeroPeriod);
        }
        if cliff > occurrences {
            return Err(ScheduleError::CliffTooLong { cliff, occurrences });
        }
        match day_of_month {
            DayOfMonth::Day(d) if !(1..=28).contains(&d) => {
                return Err(ScheduleError::DayOfMonth(d));
            }
            DayOfMonth::OrLast(d) if !(29..=31).contains(&d) => {
                return Err(ScheduleError::DayOfMonth(d));
            }
            _ => {}
        }
        // The last installment must stay inside the supported range.
        let span = u64::from(len) * u64::from(occurrences);
        let too_long = match period {
            Period::Months(_) => span > 12 * 230,
            Period::Days(_) => span > 366 * 230,
        };
        if too_long {
            return Err(ScheduleError::TooLong("installments run past 2199"));
        }
        // A day-of-month rule means nothing for day periods: keep one canonical value.
        let day_of_month =
            if matches!(period, Period::Days(_)) { DayOfMonth::VestingStartDayOrLast } else { day_of_month };
        let start_day = calendar::to_day(start);
        let (y, m, d) = calendar::civil_from_day(start_day);
        let cal = Calendar {
            start,
            period,
            occurrences,
            cliff,
            day_of_month,
            allocation,
            start_day,
            start_month: calendar::month_index(y, m),
            start_dom: d,
        };
        check_date(cal.installment_date(occurrences))?;
        Ok(cal)
    }

    pub fn start(&self) -> Date {
        self.start
    }
    pub fn period(&self) -> Period {
        self.period
    }
    pub fn occurrences(&self) -> u32 {
        self.occurrences
    }
    pub fn cliff(&self) -> u32 {
        self.cliff
    }
    pub fn day_of_month(&self) -> DayOfMonth {
        self.day_of_month
    }
    pub fn allocation(&self) -> Allocation {
        self.allocation
    }

    /// The day of installment `k` (1-based): month `k × len` after the start, on the day the
    /// rule gives, clamped to the month's end; or `k × len` days after the start.
    pub fn installment_day(&self, k: u32) -> Day {
        match self.period {
            Period::Months(len) => {
                let months = i32::try_from(u64::from(k) * u64::from(len)).unwrap_or(i32::MAX / 2);
                let (y, m) = calendar::from_month_index(self.start_month + months);
                let d = self.day_of_month.day_in(self.start_dom, y, m);
                calendar::day_from_civil(y, m, d)
            }
            Period::Days(len) => self.start_day + i32::try_from(u64::from(k) * u64::from(len)).unwrap_or(i32::MAX / 2),
        }
    }

    pub fn installment_date(&self, k: u32) -> Date {
        calendar::to_date(self.installment_day(k))
    }

    /// Installments whose date is on or before `at.day`.
    // Inlined into callers' loops: the benchmark measured the call overhead as most of the
    // difference to a bare multiply-divide.
    #[inline(always)]
    pub fn elapsed(&self, at: &At) -> u32 {
        let k = match self.period {
            Period::Months(len) => {
                let q = calendar::month_index(at.year, at.month) - self.start_month;
                if q <= 0 {
                    // The start month itself never holds an installment (k ≥ 1).
                    return 0;
                }
                let before_vest_day = || at.dom < self.day_of_month.day_in(self.start_dom, at.year, at.month);
                if len == 1 {
                    // Monthly: no division needed.
                    q - i32::from(before_vest_day())
                } else {
                    let len = i32::try_from(len).unwrap_or(i32::MAX);
                    let k = q / len;
                    if q % len == 0 && before_vest_day() { k - 1 } else { k }
                }
            }
            Period::Days(len) => {
                let q = at.day - self.start_day;
                if q <= 0 {
                    return 0;
                }
                q / i32::try_from(len).unwrap_or(i32::MAX)
            }
        };
        u32::try_from(k).unwrap_or(0).min(self.occurrences)
    }

    /// The anchor after a leave of `shift` days: the nominal date of installment 0 (the start,
    /// or the rule's day in the start month) moved `shift` days; the moved day becomes the
    /// vest day, clamped to each month's end.
    fn shifted_anchor(&self, shift: i32) -> (i32, u8) {
        let (y, m) = calendar::from_month_index(self.start_month);
        let d0 = self.day_of_month.day_in(self.start_dom, y, m);
        let (y, m, d) = calendar::civil_from_day(calendar::day_from_civil(y, m, d0) + shift);
        (calendar::month_index(y, m), d)
    }

    /// The day of installment `k` after leaves totalling `shift` days (see `shifted_anchor`).
    pub fn installment_day_shifted(&self, k: u32, shift: i32) -> Day {
        if shift == 0 {
            return self.installment_day(k);
        }
        match self.period {
            Period::Months(len) => {
                let (mi, d) = self.shifted_anchor(shift);
                let months = i32::try_from(u64::from(k) * u64::from(len)).unwrap_or(i32::MAX / 2);
                calendar::month_day_clamped(mi, months, d)
            }
            Period::Days(_) => self.installment_day(k) + shift,
        }
    }

    /// Installments on or before `at.day` after leaves totalling `shift` days.
    pub fn elapsed_shifted(&self, at: &At, shift: i32) -> u32 {
        if shift == 0 {
            return self.elapsed(at);
        }
        match self.period {
            Period::Months(len) => {
                let (mi0, d) = self.shifted_anchor(shift);
                let q = calendar::month_index(at.year, at.month) - mi0;
                if q <= 0 {
                    return 0;
                }
                let len = i32::try_from(len).unwrap_or(i32::MAX);
                let mut k = q / len;
                if q % len == 0 && at.dom < d.min(calendar::days_in_month(at.year, at.month)) {
                    k -= 1;
                }
                u32::try_from(k).unwrap_or(0).min(self.occurrences)
            }
            Period::Days(_) => self.elapsed(&At::new(at.day - shift, at.instant)),
        }
    }

    /// Cumulative vested after `k` installments have passed, the cliff applied.
    // Inlined into callers' loops: the benchmark measured the call overhead as most of the
    // difference to a bare multiply-divide.
    #[inline(always)]
    pub fn cumulative(&self, total: u128, k: u32) -> u128 {
        let k = k.min(self.occurrences);
        if k < self.cliff || k == 0 {
            return 0;
        }
        self.allocation.cumulative(total, k, self.occurrences)
    }
}

/// Which on-chain linear formula a linear schedule follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinearModel {
    /// OpenZeppelin VestingWalletCliff: accrues from `start`, nothing before the cliff, then
    /// everything accrued since `start` at once.
    OpenZeppelin,
    /// Sablier Lockup Linear (v4): `start_unlock` at the start, `cliff_unlock` at the cliff,
    /// the rest accruing from the cliff (or the start without one), in steps of `granularity`.
    Sablier { start_unlock: u128, cliff_unlock: u128 },
}

/// Per-second (or stepped) linear vesting between two instants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Linear {
    start: Instant,
    cliff: Option<Instant>,
    end: Instant,
    granularity: u32,
    model: LinearModel,
}

impl Linear {
    pub fn new(
        start: Instant,
        cliff: Option<Instant>,
        end: Instant,
        granularity: u32,
        model: LinearModel,
    ) -> Result<Linear, ScheduleError> {
        let lo = calendar::start_of_day(MIN_DATE, &jiff::tz::TimeZone::UTC).unwrap_or(0);
        let hi = calendar::end_of_day(MAX_DATE, &jiff::tz::TimeZone::UTC).unwrap_or(i64::MAX);
        for t in [Some(start), cliff, Some(end)].into_iter().flatten() {
            if t < lo || t > hi {
                return Err(ScheduleError::TooLong("instant outside 1970 to 2199"));
            }
        }
        if end < start {
            return Err(ScheduleError::EndBeforeStart);
        }
        if let Some(c) = cliff {
            let ok = match model {
                LinearModel::OpenZeppelin => start <= c && c <= end,
                LinearModel::Sablier { .. } => start < c && c < end,
            };
            if !ok {
                return Err(ScheduleError::CliffOutside);
            }
        }
        if let LinearModel::Sablier { cliff_unlock, .. } = model {
            if cliff.is_none() && cliff_unlock > 0 {
                return Err(ScheduleError::CliffUnlockWithoutCliff);
            }
            if end == start {
                return Err(ScheduleError::EndBeforeStart);
            }
        }
        let range = end - cliff.filter(|_| matches!(model, LinearModel::Sablier { .. })).unwrap_or(start);
        if granularity == 0 || (range > 0 && i64::from(granularity) > range) {
            return Err(ScheduleError::Granularity);
        }
        Ok(Linear { start, cliff, end, granularity, model })
    }

    pub fn start(&self) -> Instant {
        self.start
    }
    pub fn cliff(&self) -> Option<Instant> {
        self.cliff
    }
    pub fn end(&self) -> Instant {
        self.end
    }
    pub fn granularity(&self) -> u32 {
        self.granularity
    }
    pub fn model(&self) -> LinearModel {
        self.model
    }

    /// Vested at instant `t`, exactly as the model's contract computes it.
    #[inline]
    pub fn vested(&self, total: u128, t: Instant) -> u128 {
        match self.model {
            LinearModel::OpenZeppelin => {
                if t < self.cliff.unwrap_or(self.start) || t < self.start {
                    return 0;
                }
                if t >= self.end {
                    return total;
                }
                let elapsed = if self.granularity == 1 {
                    t - self.start
                } else {
                    let g = i64::from(self.granularity);
                    (t - self.start) / g * g
                };
                // 0 ≤ elapsed < duration, so the quotient is below total.
                mul_div_floor(total, elapsed.unsigned_abs().into(), (self.end - self.start).unsigned_abs().into())
                    .unwrap_or(total)
            }
            LinearModel::Sablier { start_unlock, cliff_unlock } => {
                if t < self.start {
                    return 0;
                }
                if let Some(c) = self.cliff
                    && t < c
                {
                    return start_unlock.min(total);
                }
                if t >= self.end {
                    return total;
                }
                let unlocked = start_unlock.saturating_add(cliff_unlock);
                if unlocked >= total {
                    return total;
                }
                let reference = self.cliff.unwrap_or(self.start);
                let g = i64::from(self.granularity);
                let elapsed = (t - reference) / g * g;
                let range = self.end - reference;
                unlocked
                    + mul_div_floor(total - unlocked, elapsed.unsigned_abs().into(), range.unsigned_abs().into())
                        .unwrap_or(total - unlocked)
            }
        }
    }
}

/// An explicit list of tranches: dates and weights (amounts, or shares such as 5/15/40/40).
/// Cumulative vested after tranche `k` is `floor(total × weights[..=k] / Σ weights)`; with
/// equal weights every OCF allocation type applies as it does to a calendar schedule, and
/// with unequal weights `CumulativeRounding` rounds the cumulative half up and every other
/// type rounds it down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Custom {
    dates: Box<[Date]>,
    days: Box<[Day]>,
    cumulative_weights: Box<[u128]>,
    allocation: Allocation,
    equal_weights: bool,
}

impl Custom {
    pub fn new(tranches: &[(Date, u128)]) -> Result<Custom, ScheduleError> {
        Custom::with_allocation(tranches, Allocation::CumulativeRoundDown)
    }

    pub fn with_allocation(tranches: &[(Date, u128)], allocation: Allocation) -> Result<Custom, ScheduleError> {
        if tranches.is_empty() {
            return Err(ScheduleError::NoTranches);
        }
        if u32::try_from(tranches.len()).is_err() {
            return Err(ScheduleError::TooLong("more than 2^32 tranches"));
        }
        let mut cum = Vec::with_capacity(tranches.len());
        let mut acc: u128 = 0;
        let mut prev: Option<Date> = None;
        for &(date, w) in tranches {
            check_date(date)?;
            if prev.is_some_and(|p| p >= date) {
                return Err(ScheduleError::TrancheOrder(date));
            }
            prev = Some(date);
            if w == 0 {
                return Err(ScheduleError::Weights);
            }
            acc = acc.checked_add(w).ok_or(ScheduleError::Weights)?;
            cum.push(acc);
        }
        Ok(Custom {
            dates: tranches.iter().map(|t| t.0).collect(),
            days: tranches.iter().map(|t| calendar::to_day(t.0)).collect(),
            cumulative_weights: cum.into_boxed_slice(),
            allocation,
            equal_weights: tranches.iter().all(|t| t.1 == tranches[0].1),
        })
    }

    pub fn allocation(&self) -> Allocation {
        self.allocation
    }

    /// Tranches every `months` months from `start` (month-end clamped), weighted as given: the
    /// back-weighted templates such as 5/15/40/40 yearly.
    pub fn periodic(start: Date, months: u32, weights: &[u128]) -> Result<Custom, ScheduleError> {
        check_date(start)?;
        let anchor = calendar::month_index(i32::from(start.year()), start.month().unsigned_abs());
        let dom = start.day().unsigned_abs();
        let mut tranches = Vec::with_capacity(weights.len());
        for (i, &w) in weights.iter().enumerate() {
            let k = i32::try_from((i as u64 + 1) * u64::from(months)).map_err(|_| ScheduleError::TooLong("months"))?;
            if k > 12 * 230 {
                return Err(ScheduleError::TooLong("installments run past 2199"));
            }
            tranches.push((calendar::to_date(calendar::month_day_clamped(anchor, k, dom)), w));
        }
        Custom::new(&tranches)
    }

    pub fn tranches(&self) -> impl Iterator<Item = (Date, u128)> + '_ {
        let mut prev = 0;
        self.dates.iter().zip(self.cumulative_weights.iter()).map(move |(d, &c)| {
            let w = c - prev;
            prev = c;
            (*d, w)
        })
    }

    pub fn len(&self) -> usize {
        self.days.len()
    }

    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    pub fn total_weight(&self) -> u128 {
        // INVARIANT: new() refuses an empty list.
        self.cumulative_weights.last().copied().unwrap_or(1)
    }

    /// Tranches dated on or before `day`.
    #[inline]
    pub fn elapsed(&self, day: Day) -> usize {
        self.days.partition_point(|&d| d <= day)
    }

    #[inline]
    pub fn cumulative(&self, total: u128, k: usize) -> u128 {
        if k == 0 {
            return 0;
        }
        let k = k.min(self.days.len());
        let n = self.days.len();
        if k == n {
            return total;
        }
        if self.equal_weights {
            // n ≤ u32::MAX is checked in with_allocation.
            let (k, n) = (u32::try_from(k).unwrap_or(u32::MAX), u32::try_from(n).unwrap_or(u32::MAX));
            return self.allocation.cumulative(total, k, n);
        }
        let (w, total_w) = (self.cumulative_weights[k - 1], self.total_weight());
        let q = mul_div_floor(total, w, total_w).unwrap_or(total);
        if self.allocation == Allocation::CumulativeRounding
            && rem_frac(total, w, total_w, q).saturating_mul(2) >= total_w
        {
            q + 1
        } else {
            q
        }
    }
}

/// Every schedule shape the engine knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Schedule {
    Calendar(Calendar),
    Linear(Linear),
    Custom(Custom),
}

impl Schedule {
    /// Cumulative base units of `total` vested at `at`.
    // Inlined into callers' loops: the benchmark measured the call overhead as most of the
    // difference to a bare multiply-divide.
    #[inline(always)]
    pub fn vested(&self, total: u128, at: &At) -> u128 {
        self.vested_boosted(total, at, 0)
    }

    /// Vested at `at` with `boost` extra periods counted as elapsed (a milestone that pulled
    /// the schedule forward).
    // Inlined into callers' loops: the benchmark measured the call overhead as most of the
    // difference to a bare multiply-divide.
    #[inline(always)]
    pub fn vested_boosted(&self, total: u128, at: &At, boost: u32) -> u128 {
        match self {
            Schedule::Calendar(c) => c.cumulative(total, c.elapsed(at).saturating_add(boost)),
            Schedule::Custom(c) => c.cumulative(total, c.elapsed(at.day).saturating_add(boost as usize)),
            Schedule::Linear(l) => {
                let t = at.instant.saturating_add(i64::from(boost) * i64::from(l.granularity));
                l.vested(total, t)
            }
        }
    }

    /// Vested with leaves applied: calendar schedules read `cal_at` with their anchor moved
    /// `shift` days (month arithmetic from the moved anchor, clamped); every other shape reads
    /// `at`, already moved back in time by the leaves.
    #[inline]
    pub fn vested_shifted(&self, total: u128, at: &At, cal_at: &At, shift: i32, boost: u32) -> u128 {
        match self {
            Schedule::Calendar(c) => c.cumulative(total, c.elapsed_shifted(cal_at, shift).saturating_add(boost)),
            _ => self.vested_boosted(total, at, boost),
        }
    }

    /// One `(vest instant, cumulative)` per installment, the pre-cliff ones included at zero, for
    /// calendar and custom shapes (`None` for linear ones): the steps of a contract that counts
    /// installments, so that "pulled forward N periods" is "N more steps elapsed" there too.
    pub fn installment_steps(
        &self,
        total: u128,
        tz: &jiff::tz::TimeZone,
    ) -> Result<Option<Vec<(Instant, u128)>>, jiff::Error> {
        let steps = match self {
            Schedule::Calendar(c) => (1..=c.occurrences())
                .map(|k| Ok((calendar::start_of_day(c.installment_date(k), tz)?, c.cumulative(total, k))))
                .collect::<Result<Vec<_>, jiff::Error>>()?,
            Schedule::Custom(c) => c
                .tranches()
                .enumerate()
                .map(|(i, (date, _))| Ok((calendar::start_of_day(date, tz)?, c.cumulative(total, i + 1))))
                .collect::<Result<Vec<_>, jiff::Error>>()?,
            Schedule::Linear(_) => return Ok(None),
        };
        Ok(Some(steps))
    }

    /// Whether "pull forward N periods" means anything for this shape.
    pub fn is_periodic(&self) -> bool {
        match self {
            Schedule::Linear(l) => l.granularity > 1,
            _ => true,
        }
    }

    /// Checks that the shape can carry `total` (Sablier unlock amounts fit inside it).
    pub fn check_total(&self, total: u128) -> Result<(), ScheduleError> {
        if let Schedule::Linear(Linear { model: LinearModel::Sablier { start_unlock, cliff_unlock }, .. }) = self
            && start_unlock.checked_add(*cliff_unlock).is_none_or(|s| s > total)
        {
            return Err(ScheduleError::UnlockExceedsTotal);
        }
        Ok(())
    }
}
