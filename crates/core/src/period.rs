//! Pay periods, in one place: the company's pay frequency, the period a date falls in and its
//! id, the periods between two dates, and the UK tax months people paid in the UK follow.
//!
//! Period ids: monthly `2026-10`; semi-monthly `2026-10-a` (1st–15th) and `2026-10-b` (16th to
//! month end); biweekly `bw-2026-10-05` (14 days from that Monday; periods are counted from
//! Monday 2024-01-01); UK tax months `uk-2026-m08` (tax year 2026-27, month 8, 6 November to
//! 5 December).

use jiff::ToSpan;
use jiff::civil::Date;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayFrequency {
    Monthly,
    SemiMonthly,
    Biweekly,
}

impl PayFrequency {
    pub const ALL: [PayFrequency; 3] = [PayFrequency::Monthly, PayFrequency::SemiMonthly, PayFrequency::Biweekly];

    /// The frequency a name stands for (the inverse of [`PayFrequency::as_str`]).
    pub fn from_name(name: &str) -> Option<PayFrequency> {
        PayFrequency::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// The company file's (and the ledger's) name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            PayFrequency::Monthly => "monthly",
            PayFrequency::SemiMonthly => "semi-monthly",
            PayFrequency::Biweekly => "biweekly",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("UK tax month {month} of tax year {year} does not exist: months run 1 to 12 and years 1000 to 9998")]
    TaxMonth { year: i16, month: i8 },
}

/// A pay period of the company's calendar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Period {
    pub id: String,
    pub start: Date,
    pub end: Date,
}

const BIWEEKLY_ANCHOR: Date = Date::constant(2024, 1, 1);

/// The pay period containing `d`.
pub fn period_of(freq: PayFrequency, d: Date) -> Period {
    match freq {
        PayFrequency::Monthly => {
            let start = d.first_of_month();
            Period { id: format!("{:04}-{:02}", d.year(), d.month()), start, end: d.last_of_month() }
        }
        PayFrequency::SemiMonthly => {
            let (half, start, end) = if d.day() <= 15 {
                ("a", d.first_of_month(), d.with().day(15).build().unwrap_or(d))
            } else {
                ("b", d.with().day(16).build().unwrap_or(d), d.last_of_month())
            };
            Period { id: format!("{:04}-{:02}-{half}", d.year(), d.month()), start, end }
        }
        PayFrequency::Biweekly => {
            let days = (d - BIWEEKLY_ANCHOR).get_days();
            let start = BIWEEKLY_ANCHOR.checked_add((days.div_euclid(14) * 14).days()).unwrap_or(d);
            let end = start.checked_add(13.days()).unwrap_or(d);
            Period { id: format!("bw-{start}"), start, end }
        }
    }
}

/// Every period from the one containing `from` to the last one ending on or before `through`.
pub fn periods(freq: PayFrequency, from: Date, through: Date) -> Vec<Period> {
    let mut out = Vec::new();
    let mut p = period_of(freq, from);
    while p.end <= through {
        let next = p.end.tomorrow().map(|d| period_of(freq, d));
        out.push(p);
        match next {
            Ok(n) => p = n,
            Err(_) => break,
        }
    }
    out
}

/// A payroll period. People paid in the UK follow UK tax months (`uk-2026-m08`: tax year
/// 2026-27, month 8, 6 November to 5 December); everyone else the company's `pay_frequency`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayPeriod {
    pub id: String,
    pub start: Date,
    pub end: Date,
    pub uk: bool,
}

/// The period holding `d` in the UK or the company calendar.
pub fn pay_period_of(freq: PayFrequency, uk: bool, d: Date) -> PayPeriod {
    if uk {
        let (year, month) = uk_tax_month(d);
        // A tax month of a date jiff can hold always has bounds; the fallback is unreachable.
        let (start, end) = uk_tax_month_bounds(year, month).unwrap_or((d, d));
        PayPeriod { id: format!("uk-{year}-m{month:02}"), start, end, uk }
    } else {
        let p = period_of(freq, d);
        PayPeriod { id: p.id, start: p.start, end: p.end, uk }
    }
}

/// Reads a period id of either calendar.
pub fn pay_period(freq: PayFrequency, id: &str) -> Option<PayPeriod> {
    let guess = if let Some(rest) = id.strip_prefix("uk-") {
        let (year, month) = rest.split_once("-m")?;
        uk_tax_month_bounds(year.parse().ok()?, month.parse().ok()?).ok()?.0
    } else if let Some(rest) = id.strip_prefix("bw-") {
        rest.parse::<Date>().ok()?
    } else {
        let ym = id.get(..7)?;
        let d: Date = format!("{ym}-01").parse().ok()?;
        if id.ends_with("-b") { d.with().day(16).build().ok()? } else { d }
    };
    let p = pay_period_of(freq, id.starts_with("uk-"), guess);
    (p.id == id).then_some(p)
}

/// The UK tax year (by the calendar year it starts in) and tax month of `date`: month 1 runs
/// 6 April to 5 May, …, month 12 runs 6 March to 5 April.
pub fn uk_tax_month(date: Date) -> (i16, i8) {
    // The tax month starting on the 6th of the calendar month that holds the date, or of the
    // previous calendar month before the 6th.
    let (mut year, mut month) = (date.year(), date.month());
    if date.day() < 6 {
        if month == 1 {
            year -= 1;
            month = 12;
        } else {
            month -= 1;
        }
    }
    if month >= 4 { (year, month - 3) } else { (year - 1, month + 9) }
}

/// First and last day of UK tax month `month` (1..=12) of the tax year starting in `year`.
pub fn uk_tax_month_bounds(year: i16, month: i8) -> Result<(Date, Date), PeriodError> {
    let bad = || PeriodError::TaxMonth { year, month };
    if !(1..=12).contains(&month) || !(1000..=9998).contains(&year) {
        return Err(bad());
    }
    // Calendar month in which the tax month starts: April for month 1, … March for month 12.
    let (start_year, start_month) = if month <= 9 { (year, month + 3) } else { (year + 1, month - 9) };
    let (end_year, end_month) = if start_month == 12 { (start_year + 1, 1) } else { (start_year, start_month + 1) };
    let first = Date::new(start_year, start_month, 6).map_err(|_| bad())?;
    let last = Date::new(end_year, end_month, 5).map_err(|_| bad())?;
    Ok((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    #[test]
    fn names_are_the_files_and_read_back() {
        let names: Vec<&str> = PayFrequency::ALL.iter().map(|f| f.as_str()).collect();
        assert_eq!(names, ["monthly", "semi-monthly", "biweekly"]);
        for f in PayFrequency::ALL {
            assert_eq!(PayFrequency::from_name(f.as_str()), Some(f));
        }
        assert_eq!(PayFrequency::from_name("weekly"), None);
        let kinds: Vec<&str> = crate::model::PersonKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(kinds, ["employee", "contractor", "advisor"]);
        for k in crate::model::PersonKind::ALL {
            assert_eq!(crate::model::PersonKind::from_name(k.as_str()), Some(k));
        }
        assert_eq!(crate::model::PersonKind::from_name("Employee"), None);
    }

    #[test]
    fn period_ids() {
        assert_eq!(period_of(PayFrequency::Monthly, date(2026, 2, 14)).id, "2026-02");
        assert_eq!(period_of(PayFrequency::Monthly, date(2024, 2, 14)).end, date(2024, 2, 29));
        let p = period_of(PayFrequency::SemiMonthly, date(2026, 2, 16));
        assert_eq!((p.id.as_str(), p.start, p.end), ("2026-02-b", date(2026, 2, 16), date(2026, 2, 28)));
        let p = period_of(PayFrequency::Biweekly, date(2026, 10, 7));
        assert_eq!((p.start, p.end), (date(2026, 10, 5), date(2026, 10, 18)));
        assert_eq!(p.id, "bw-2026-10-05");
    }

    #[test]
    fn periods_stop_at_the_last_complete_one() {
        let ps = periods(PayFrequency::Monthly, date(2026, 1, 20), date(2026, 4, 29));
        let ids: Vec<&str> = ps.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["2026-01", "2026-02", "2026-03"]);
    }

    #[test]
    fn uk_tax_months_at_their_edges() {
        let date = |y, m, d| Date::new(y, m, d).expect("valid");
        assert_eq!(uk_tax_month(date(2025, 4, 5)), (2024, 12));
        assert_eq!(uk_tax_month(date(2025, 4, 6)), (2025, 1));
        assert_eq!(uk_tax_month(date(2025, 5, 5)), (2025, 1));
        assert_eq!(uk_tax_month(date(2025, 12, 31)), (2025, 9));
        assert_eq!(uk_tax_month(date(2026, 1, 5)), (2025, 9));
        assert_eq!(uk_tax_month(date(2026, 1, 6)), (2025, 10));
        assert_eq!(uk_tax_month(date(2026, 3, 6)), (2025, 12));
        assert_eq!(uk_tax_month_bounds(2025, 1).expect("valid"), (date(2025, 4, 6), date(2025, 5, 5)));
        assert_eq!(uk_tax_month_bounds(2025, 9).expect("valid"), (date(2025, 12, 6), date(2026, 1, 5)));
        assert_eq!(uk_tax_month_bounds(2025, 12).expect("valid"), (date(2026, 3, 6), date(2026, 4, 5)));
        assert!(uk_tax_month_bounds(2025, 13).is_err());
        assert!(uk_tax_month_bounds(2025, 0).is_err());
    }

    proptest! {
        /// Every date lies inside the bounds of its own tax month, and consecutive tax months
        /// tile the calendar with no gap.
        #[test]
        fn tax_month_bounds_contain_the_date(day in 0i32..40_000) {
            let date = Date::new(1950, 1, 1).expect("valid").checked_add(jiff::Span::new().days(day)).expect("valid");
            let (year, month) = uk_tax_month(date);
            prop_assert!((1..=12).contains(&month));
            let (first, last) = uk_tax_month_bounds(year, month).expect("valid");
            prop_assert!(first <= date && date <= last, "{date} not in {first}..={last}");
            let next_first = if month == 12 {
                uk_tax_month_bounds(year + 1, 1).expect("valid").0
            } else {
                uk_tax_month_bounds(year, month + 1).expect("valid").0
            };
            prop_assert_eq!(last.tomorrow().expect("valid"), next_first);
        }
    }
}
