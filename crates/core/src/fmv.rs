//! Fair market value at a vest, and foreign-exchange rates, from recorded prices.
//!
//! The price book holds what the ledger recorded: daily closes in USD (imported from a CSV or
//! entered by hand for a token that does not trade yet), optional daily volumes, and FX rates.
//! Every value says where it came from (its source and window) and when it was observed.
//! A missing close, volume or rate is an error naming the date: this module never guesses,
//! never interpolates and never falls back to another day.

use std::collections::BTreeMap;

use jiff::ToSpan;
use jiff::civil::Date;
use tokencomp_money::{Currency, Decimal, PRICE_ROUNDING};

use crate::company::FmvSource;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FmvError {
    #[error("no {currency} price recorded for {date}{why}")]
    MissingPrice { currency: Currency, date: Date, why: String },
    #[error("no traded volume recorded for {date}, needed for the {days}-day VWAP ending {end}")]
    MissingVolume { date: Date, days: u32, end: Date },
    #[error("the {days}-day VWAP ending {end} has zero volume")]
    ZeroVolume { days: u32, end: Date },
    #[error("no {currency} per USD rate recorded for {date}")]
    MissingRate { currency: Currency, date: Date },
    #[error("date arithmetic before {date} failed")]
    Date { date: Date },
    #[error("price arithmetic overflowed for {date}")]
    Overflow { date: Date },
}

/// Closes, volumes and FX rates as recorded; borrowed from the folded ledger.
#[derive(Clone, Copy, Debug)]
pub struct PriceBook<'a> {
    /// USD close per whole token, by day.
    pub closes: &'a BTreeMap<(Currency, Date), Decimal>,
    /// Tokens traded, by day (for VWAP).
    pub volumes: &'a BTreeMap<(Currency, Date), Decimal>,
    /// Units of a currency per 1 USD, by day.
    pub fx: &'a BTreeMap<(Currency, Date), Decimal>,
}

/// A fair market value per whole token, in USD, with its provenance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fmv {
    /// The day the value is for (the vest or settlement date).
    pub date: Date,
    /// USD per whole token, rounded by `PRICE_ROUNDING` when it is an average.
    pub price: Decimal,
    /// `close`, `average-5d` or `vwap-5d`.
    pub source: String,
    /// The first and last day of the window the value was formed from.
    pub window: (Date, Date),
}

impl PriceBook<'_> {
    fn close(&self, date: Date, why: impl FnOnce() -> String) -> Result<Decimal, FmvError> {
        self.closes.get(&(Currency::USD, date)).copied().ok_or_else(|| FmvError::MissingPrice {
            currency: Currency::USD,
            date,
            why: why(),
        })
    }

    /// The FMV on `date` under `source`. Close: that day's recorded price. Average and VWAP: the
    /// `n` days ending on `date`, every one of which must be recorded.
    pub fn fmv(&self, source: FmvSource, date: Date) -> Result<Fmv, FmvError> {
        match source {
            FmvSource::Close => {
                let price = self.close(date, || ", the fair market value at vest".into())?;
                Ok(Fmv { date, price, source: "close".into(), window: (date, date) })
            }
            FmvSource::Average(n) => {
                let first = window_start(date, n)?;
                let mut sum = Decimal::ZERO;
                for d in days(first, date) {
                    let c = self.close(d, || format!(", needed for the {n}-day average ending {date}"))?;
                    sum = sum.checked_add(c).ok_or(FmvError::Overflow { date })?;
                }
                let avg = sum.checked_div(Decimal::from(n)).ok_or(FmvError::Overflow { date })?;
                Ok(Fmv {
                    date,
                    price: PRICE_ROUNDING.apply(avg),
                    source: format!("average-{n}d"),
                    window: (first, date),
                })
            }
            FmvSource::Vwap(n) => {
                let first = window_start(date, n)?;
                let (mut value, mut volume) = (Decimal::ZERO, Decimal::ZERO);
                for d in days(first, date) {
                    let c = self.close(d, || format!(", needed for the {n}-day VWAP ending {date}"))?;
                    let v = self.volumes.get(&(Currency::USD, d)).copied().ok_or(FmvError::MissingVolume {
                        date: d,
                        days: n,
                        end: date,
                    })?;
                    value = c.checked_mul(v).and_then(|cv| value.checked_add(cv)).ok_or(FmvError::Overflow { date })?;
                    volume = volume.checked_add(v).ok_or(FmvError::Overflow { date })?;
                }
                if volume.is_zero() {
                    return Err(FmvError::ZeroVolume { days: n, end: date });
                }
                let vwap = value.checked_div(volume).ok_or(FmvError::Overflow { date })?;
                Ok(Fmv { date, price: PRICE_ROUNDING.apply(vwap), source: format!("vwap-{n}d"), window: (first, date) })
            }
        }
    }

    /// Units of `currency` per 1 USD on `date` (1 for USD itself).
    pub fn rate(&self, currency: Currency, date: Date) -> Result<Decimal, FmvError> {
        if currency == Currency::USD {
            return Ok(Decimal::ONE);
        }
        self.fx.get(&(currency, date)).copied().ok_or(FmvError::MissingRate { currency, date })
    }

    /// A USD price per token in `currency`, rounded by `PRICE_ROUNDING` (the named point where a
    /// price crosses currencies).
    pub fn convert_price(&self, usd: Decimal, currency: Currency, date: Date) -> Result<Decimal, FmvError> {
        let rate = self.rate(currency, date)?;
        usd.checked_mul(rate).map(|p| PRICE_ROUNDING.apply(p)).ok_or(FmvError::Overflow { date })
    }
}

fn window_start(end: Date, n: u32) -> Result<Date, FmvError> {
    end.checked_sub(i64::from(n.saturating_sub(1)).days()).map_err(|_| FmvError::Date { date: end })
}

fn days(first: Date, last: Date) -> impl Iterator<Item = Date> {
    std::iter::successors(Some(first), move |d| d.tomorrow().ok().filter(|n| *n <= last))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn close_average_and_vwap_name_their_window_and_missing_days() {
        let mut closes = BTreeMap::new();
        let mut volumes = BTreeMap::new();
        for (day, c, v) in [(1, "1.00", "100"), (2, "2.00", "300"), (3, "3.00", "0")] {
            closes.insert((Currency::USD, date(2026, 1, day)), d(c));
            volumes.insert((Currency::USD, date(2026, 1, day)), d(v));
        }
        let fx = BTreeMap::from([((Currency::GBP, date(2026, 1, 3)), d("0.8"))]);
        let book = PriceBook { closes: &closes, volumes: &volumes, fx: &fx };
        let end = date(2026, 1, 3);
        assert_eq!(book.fmv(FmvSource::Close, end).unwrap().price, d("3.00"));
        let avg = book.fmv(FmvSource::Average(3), end).unwrap();
        assert_eq!((avg.price, avg.window, avg.source.as_str()), (d("2"), (date(2026, 1, 1), end), "average-3d"));
        // (1×100 + 2×300 + 3×0) / 400 = 1.75
        assert_eq!(book.fmv(FmvSource::Vwap(3), end).unwrap().price, d("1.75"));
        let e = book.fmv(FmvSource::Average(4), end).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no USD price recorded for 2025-12-31, needed for the 4-day average ending 2026-01-03"
        );
        assert_eq!(book.convert_price(d("2.5"), Currency::GBP, end).unwrap(), d("2.0"));
        assert_eq!(
            book.rate(Currency::EUR, end).unwrap_err().to_string(),
            "no EUR per USD rate recorded for 2026-01-03"
        );
        assert_eq!(book.rate(Currency::USD, end).unwrap(), Decimal::ONE);
    }
}
