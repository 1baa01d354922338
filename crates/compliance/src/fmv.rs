//! Fair market value at a vest, and foreign-exchange rates, from recorded prices.
//!
//! The price book holds what the ledger recorded: daily closes in USD (imported from a CSV or
//! entered by hand for a token that does not trade yet), optional daily volumes, FX rates, and
//! a Uniswap V2 pair's price cumulatives at the end of each day (for an on-chain TWAP).
//! Every value says where it came from (its source and window) and when it was observed.
//! A missing close, volume, rate or TWAP point is an error naming the date: this module never
//! guesses, never interpolates and never falls back to another day.

use std::collections::BTreeMap;

use jiff::ToSpan;
use jiff::civil::Date;
use ruint::aliases::{U256, U512};
use tokencomp_money::{Currency, Decimal, PRICE_ROUNDING};

use tokencomp_core::calendar::days;
use tokencomp_core::model::FmvSource;

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
    #[error(
        "no TWAP point recorded for the end of {date}, needed for the {days}-day TWAP ending {end} \
         (record it with `tokencomp chain price`)"
    )]
    MissingTwapPoint { date: Date, days: u32, end: Date },
    #[error(
        "the {days}-day TWAP ending {end} cannot be formed from the points recorded for the ends of {start} and {end}: {cause}"
    )]
    Twap { days: u32, start: Date, end: Date, cause: TwapError },
}

/// Why two TWAP points give no average price.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TwapError {
    #[error("they come from different pairs ({start} and {end})")]
    Pair { start: String, end: String },
    #[error("their (token, quote) decimals differ: {start:?} and {end:?}")]
    Decimals { start: (u8, u8), end: (u8, u8) },
    #[error("the later point (unix {end}) is not after the earlier one (unix {start})")]
    Order { start: i64, end: i64 },
    #[error("the average price does not fit a decimal")]
    Overflow,
}

/// The most decimals a TWAP point's token or quote token may have (what the ledger accepts).
pub const MAX_TWAP_DECIMALS: u8 = 36;

/// Closes, volumes and FX rates as recorded; borrowed from the folded ledger.
#[derive(Clone, Copy, Debug)]
pub struct PriceBook<'a> {
    /// USD close per whole token, by day.
    pub closes: &'a BTreeMap<(Currency, Date), Decimal>,
    /// Tokens traded, by day (for VWAP).
    pub volumes: &'a BTreeMap<(Currency, Date), Decimal>,
    /// Units of a currency per 1 USD, by day.
    pub fx: &'a BTreeMap<(Currency, Date), Decimal>,
    /// A Uniswap V2 pair's price cumulative at the end of each day (for `FmvSource::Twap`).
    pub twap: &'a BTreeMap<Date, TwapPoint>,
}

/// A fair market value per whole token, in USD, with its provenance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fmv {
    /// The day the value is for (the vest or settlement date).
    pub date: Date,
    /// USD per whole token, rounded by `PRICE_ROUNDING` when it is an average.
    pub price: Decimal,
    /// `close`, `average-5d`, `vwap-5d` or `twap-5d`.
    pub source: String,
    /// The first and last day of the window the value was formed from.
    pub window: (Date, Date),
}

/// A Uniswap V2 pair's cumulative price of the token at the local midnight that ends a day, as
/// the pair itself accumulates it (recorded by `tokencomp chain price`). Two points `n` days
/// apart give the pair's time-weighted average price over those `n` days.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TwapPoint {
    /// The pair's address, `0x` and 40 lowercase hex digits.
    pub pair: String,
    /// Unix seconds of the instant observed: the local midnight that ends the day.
    pub at: i64,
    /// The pair's price cumulative of the token (UQ112x112 quote units per token unit, times
    /// seconds), wrapping modulo 2^256 as the pair's own counter does.
    pub cumulative: U256,
    /// The token's and the quote token's decimals (the quote token is taken as one USD).
    pub decimals: (u8, u8),
    /// The block whose `Sync` set the price in force just before `at`.
    pub block: u64,
}

impl TwapPoint {
    /// Whether the point can be recorded: its pair is `0x` and 40 lowercase hex digits and both
    /// decimals are at most [`MAX_TWAP_DECIMALS`]; the error says which rule it breaks.
    pub fn check(&self) -> Result<(), String> {
        let hex = self.pair.strip_prefix("0x").unwrap_or_default();
        if hex.len() != 40 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(format!("pair `{}` is not 0x and 40 lowercase hex digits", self.pair));
        }
        let (token, quote) = self.decimals;
        if token > MAX_TWAP_DECIMALS || quote > MAX_TWAP_DECIMALS {
            return Err(format!("decimals ({token}, {quote}) must each be at most {MAX_TWAP_DECIMALS}"));
        }
        Ok(())
    }
}

/// USD per whole token over the span from `start` to `end`, two points of one pair: the pair's
/// time-weighted average price, as Uniswap's example oracle forms it (the cumulatives'
/// wrapping difference divided, rounded down, by the seconds between them: a UQ112x112 quote
/// units per token unit), then scaled by the decimals and rounded once by `PRICE_ROUNDING`.
/// A pair's prices are below 2^224, so their average is too and the example's `uint224` cast
/// changes nothing.
pub fn twap_usd(start: &TwapPoint, end: &TwapPoint) -> Result<Decimal, TwapError> {
    if start.pair != end.pair {
        return Err(TwapError::Pair { start: start.pair.clone(), end: end.pair.clone() });
    }
    if start.decimals != end.decimals {
        return Err(TwapError::Decimals { start: start.decimals, end: end.decimals });
    }
    let order = TwapError::Order { start: start.at, end: end.at };
    let elapsed = end.at.checked_sub(start.at).and_then(|s| u64::try_from(s).ok()).filter(|s| *s > 0).ok_or(order)?;
    // The counter wraps modulo 2^256 by design, so the wrapping difference is the true one.
    let average = end.cumulative.wrapping_sub(start.cumulative) / U256::from(elapsed);
    uq112_usd(average, end.decimals)
}

/// A UQ112x112 price in quote units per token unit, as USD per whole token:
/// `price × 10^token / (2^112 × 10^quote)`, an exact rational rounded once to
/// `PRICE_ROUNDING.scale` places, midpoint away from zero (`PRICE_ROUNDING`'s midpoint).
fn uq112_usd(price: U256, (token, quote): (u8, u8)) -> Result<Decimal, TwapError> {
    let scale = PRICE_ROUNDING.scale;
    let pow10 = |n: u32| U512::from(10u8).checked_pow(U512::from(n));
    // INVARIANT: a 256-bit value always fits 512 bits.
    let wide = U512::from(price);
    let num = pow10(u32::from(token) + scale).and_then(|p| wide.checked_mul(p)).ok_or(TwapError::Overflow)?;
    let den = pow10(u32::from(quote)).and_then(|p| p.checked_shl(112)).ok_or(TwapError::Overflow)?;
    let (q, r) = num.div_rem(den);
    // 2r ≥ den, written so that nothing can overflow (r < den).
    let up = r >= den - r;
    let q = if up { q.checked_add(U512::from(1u8)).ok_or(TwapError::Overflow)? } else { q };
    let m = i128::try_from(q).map_err(|_| TwapError::Overflow)?;
    Decimal::try_from_i128_with_scale(m, scale).map_err(|_| TwapError::Overflow)
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
    /// `n` days ending on `date`, every one of which must be recorded. TWAP: the pair's average
    /// from the end of the day before the window to the end of `date` (both points recorded).
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
            FmvSource::Twap(n) => {
                let first = window_start(date, n)?;
                let before = first.yesterday().map_err(|_| FmvError::Date { date })?;
                let point =
                    |d: Date| self.twap.get(&d).ok_or(FmvError::MissingTwapPoint { date: d, days: n, end: date });
                let (start, end) = (point(before)?, point(date)?);
                let price = twap_usd(start, end).map_err(|cause| match cause {
                    TwapError::Overflow => FmvError::Overflow { date },
                    cause => FmvError::Twap { days: n, start: before, end: date, cause },
                })?;
                Ok(Fmv { date, price, source: format!("twap-{n}d"), window: (first, date) })
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::strategy::Strategy;

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
        let book = PriceBook { closes: &closes, volumes: &volumes, fx: &fx, twap: &BTreeMap::new() };
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

    // ---------------------------------------------------------------------------------------
    // TWAP. Expected prices are worked by hand; UQ112x112 values are formed as the pair forms
    // them (`UQ112x112.encode(reserve1).uqdiv(reserve0)`: reserve1 · 2^112 / reserve0, floored).

    const PAIR: &str = "0x00000000000000000000000000000000000000aa";
    const USDC: (u8, u8) = (18, 6);
    const DAY: i64 = 86_400;
    /// 2026-03-10T00:00:00Z, the end of 2026-03-09 in UTC.
    const MAR_10: i64 = 1_773_100_800;

    /// The pair's price of the token: `quote` quote units per `token` token units.
    fn uq(quote: u128, token: u128) -> U256 {
        (U256::from(quote) << 112) / U256::from(token)
    }

    fn point(at: i64, cumulative: U256, decimals: (u8, u8)) -> TwapPoint {
        TwapPoint { pair: PAIR.into(), at, cumulative, decimals, block: 1 }
    }

    /// The cumulative after `start` of the pair holding each (price, seconds) in turn.
    fn accrue(start: U256, segments: &[(U256, i64)]) -> U256 {
        segments.iter().fold(start, |c, (p, secs)| c.wrapping_add(*p * U256::from(u64::try_from(*secs).unwrap())))
    }

    fn twap(points: &[(Date, TwapPoint)], n: u32, end: Date) -> Result<Fmv, FmvError> {
        let twap: BTreeMap<Date, TwapPoint> = points.iter().cloned().collect();
        let none = BTreeMap::new();
        PriceBook { closes: &none, volumes: &none, fx: &none, twap: &twap }.fmv(FmvSource::Twap(n), end)
    }

    /// 1 500 USDC (6 decimals) against 1 000 tokens (18 decimals): 1.5 USD per token.
    fn one_and_a_half() -> U256 {
        uq(1_500_000_000, 1_000 * 10u128.pow(18))
    }

    #[test]
    fn a_constant_price_is_its_own_twap_to_eight_places() {
        // p / 2^112 · 10^12 lies within 10^12 / 2^112 (about 2·10^-22) below 1.5: 1.50000000.
        let p = one_and_a_half();
        let c0 = U256::from(12_345u32);
        let (d9, d10) = (date(2026, 3, 9), date(2026, 3, 10));
        let points = [(d9, point(MAR_10, c0, USDC)), (d10, point(MAR_10 + DAY, accrue(c0, &[(p, DAY)]), USDC))];
        let f = twap(&points, 1, d10).unwrap();
        assert_eq!((f.price.to_string(), f.source.as_str(), f.window), ("1.50000000".into(), "twap-1d", (d10, d10)));
        assert_eq!(f.date, d10);
        // Three days need the points at the ends of the 7th and the 10th; the 8th and 9th are not read.
        let d7 = date(2026, 3, 7);
        let points =
            [(d7, point(MAR_10 - 2 * DAY, c0, USDC)), (d10, point(MAR_10 + DAY, accrue(c0, &[(p, 3 * DAY)]), USDC))];
        let f = twap(&points, 3, d10).unwrap();
        assert_eq!((f.price, f.source.as_str(), f.window), (d("1.5"), "twap-3d", (date(2026, 3, 8), d10)));
    }

    #[test]
    fn a_day_of_two_prices_weighs_each_by_its_seconds() {
        // 1.5 for 16 hours, then 2.0 for 8: (1.5·16 + 2·8) / 24 = 40/24 = 1.6666… → 1.66666667.
        let (a, b) = (one_and_a_half(), uq(2_000_000_000, 1_000 * 10u128.pow(18)));
        let c0 = U256::from(7u8);
        let (d9, d10) = (date(2026, 3, 9), date(2026, 3, 10));
        let end = accrue(c0, &[(a, 16 * 3600), (b, 8 * 3600)]);
        let points = [(d9, point(MAR_10, c0, USDC)), (d10, point(MAR_10 + DAY, end, USDC))];
        assert_eq!(twap(&points, 1, d10).unwrap().price, d("1.66666667"));
    }

    #[test]
    fn a_cumulative_that_wraps_past_2_pow_256_gives_the_same_average() {
        let p = one_and_a_half();
        let (d9, d10) = (date(2026, 3, 9), date(2026, 3, 10));
        // Half a day's accrual before the counter's maximum: the end point wraps to a small number.
        let c0 = U256::MAX - p * U256::from(DAY / 2);
        let c1 = accrue(c0, &[(p, DAY)]);
        assert!(c1 < c0, "the counter wrapped");
        let wrapped = [(d9, point(MAR_10, c0, USDC)), (d10, point(MAR_10 + DAY, c1, USDC))];
        let plain =
            [(d9, point(MAR_10, U256::ZERO, USDC)), (d10, point(MAR_10 + DAY, accrue(U256::ZERO, &[(p, DAY)]), USDC))];
        assert_eq!(twap(&wrapped, 1, d10).unwrap(), twap(&plain, 1, d10).unwrap());
        assert_eq!(twap(&wrapped, 1, d10).unwrap().price, d("1.5"));
    }

    #[test]
    fn a_23_hour_day_is_averaged_over_its_23_hours() {
        // New York springs forward on 2026-03-08: that day lasts 23 hours (82 800 s).
        let tz = jiff::tz::TimeZone::get("America/New_York").unwrap();
        let (d7, d8) = (date(2026, 3, 7), date(2026, 3, 8));
        let start = tokencomp_core::calendar::start_of_day(d8, &tz).unwrap();
        let stop = tokencomp_core::calendar::start_of_day(date(2026, 3, 9), &tz).unwrap();
        assert_eq!(stop - start, 82_800);
        // 1.0 for 12 hours, then 2.5 for 11 (decimals 0 and 0): 39.5 / 23 = 1.717391304… →
        // 1.71739130 (over 24 hours it would be 1.64583333).
        let (one, two_and_a_half) = (uq(1, 1), uq(5, 2));
        let c0 = U256::from(1u8) << 200;
        let end = accrue(c0, &[(one, 12 * 3600), (two_and_a_half, 11 * 3600)]);
        let points = [(d7, point(start, c0, (0, 0))), (d8, point(stop, end, (0, 0)))];
        assert_eq!(twap(&points, 1, d8).unwrap().price, d("1.71739130"));
    }

    #[test]
    fn the_rounding_is_half_away_from_zero_at_eight_places_like_price_rounding() {
        // 2^103 / 2^112 = 1/512 = 0.001953125 exactly: a midpoint, rounded up; one unit less is
        // below it. 3/512 = 0.005859375 → 0.00585938.
        let cases = [
            (U256::from(1u8) << 103, "0.00195313"),
            ((U256::from(1u8) << 103) - U256::from(1u8), "0.00195312"),
            (U256::from(3u8) << 103, "0.00585938"),
        ];
        for (p, want) in cases {
            let start = point(0, U256::ZERO, (0, 0));
            let end = point(10, p * U256::from(10u8), (0, 0));
            assert_eq!(twap_usd(&start, &end).unwrap().to_string(), want);
        }
        assert_eq!(PRICE_ROUNDING.apply(d("0.001953125")), d("0.00195313"), "the policy this follows");
        // The proptest's reference agrees on these hand-worked values.
        assert_eq!(reference_price(U256::from(1u8) << 103, (0, 0)), Some(d("0.00195313")));
        assert_eq!(reference_price(one_and_a_half(), USDC), Some(d("1.5")));
        assert_eq!(reference_price(uq(1, 1), (36, 0)), None);
    }

    #[test]
    fn a_missing_or_mismatched_point_is_named() {
        let p = one_and_a_half();
        let (d8, d9, d10) = (date(2026, 3, 8), date(2026, 3, 9), date(2026, 3, 10));
        let later = point(MAR_10 + DAY, accrue(U256::ZERO, &[(p, DAY)]), USDC);
        let e = twap(&[(d10, later.clone())], 1, d10).unwrap_err();
        assert_eq!(e, FmvError::MissingTwapPoint { date: d9, days: 1, end: d10 });
        assert_eq!(
            e.to_string(),
            "no TWAP point recorded for the end of 2026-03-09, needed for the 1-day TWAP ending 2026-03-10 \
             (record it with `tokencomp chain price`)"
        );
        let earlier = point(MAR_10, U256::ZERO, USDC);
        let e = twap(&[(d9, earlier.clone())], 1, d10).unwrap_err();
        assert_eq!(e, FmvError::MissingTwapPoint { date: d10, days: 1, end: d10 });
        // Two days need the end of the 8th.
        let e = twap(&[(d9, earlier.clone()), (d10, later.clone())], 2, d10).unwrap_err();
        assert_eq!(e, FmvError::MissingTwapPoint { date: d8, days: 2, end: d10 });

        let other = TwapPoint { pair: "0x00000000000000000000000000000000000000bb".into(), ..later.clone() };
        let e = twap(&[(d9, earlier.clone()), (d10, other)], 1, d10).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the 1-day TWAP ending 2026-03-10 cannot be formed from the points recorded for the ends of 2026-03-09 \
             and 2026-03-10: they come from different pairs (0x00000000000000000000000000000000000000aa and \
             0x00000000000000000000000000000000000000bb)"
        );
        let other = TwapPoint { decimals: (18, 18), ..later.clone() };
        let e = twap(&[(d9, earlier.clone()), (d10, other)], 1, d10).unwrap_err();
        let cause = TwapError::Decimals { start: (18, 6), end: (18, 18) };
        assert_eq!(e, FmvError::Twap { days: 1, start: d9, end: d10, cause });
        assert!(e.to_string().ends_with("their (token, quote) decimals differ: (18, 6) and (18, 18)"), "{e}");
        for at in [MAR_10, MAR_10 - 1] {
            let e = twap(&[(d9, earlier.clone()), (d10, TwapPoint { at, ..later.clone() })], 1, d10).unwrap_err();
            let cause = TwapError::Order { start: MAR_10, end: at };
            assert_eq!(e, FmvError::Twap { days: 1, start: d9, end: d10, cause });
        }
        // 10^36 USD per token does not fit a decimal.
        let (a, b) = (point(0, U256::ZERO, (36, 0)), point(1, uq(1, 1), (36, 0)));
        assert_eq!(twap(&[(d9, a), (d10, b)], 1, d10).unwrap_err(), FmvError::Overflow { date: d10 });
    }

    #[test]
    fn a_point_checks_its_pair_and_decimals() {
        let ok = point(0, U256::ZERO, (36, 36));
        assert_eq!(ok.check(), Ok(()));
        for pair in
            ["0x00000000000000000000000000000000000000AA", "00000000000000000000000000000000000000aa00", "0xaa", ""]
        {
            let e = TwapPoint { pair: pair.into(), ..ok.clone() }.check().unwrap_err();
            assert!(e.contains("40 lowercase hex digits"), "{e}");
        }
        let e = TwapPoint { decimals: (18, 37), ..ok }.check().unwrap_err();
        assert_eq!(e, "decimals (18, 37) must each be at most 36");
    }

    /// The price `p / 2^112 · 10^token / 10^quote` to eight places, half away from zero, worked
    /// in decimal digits: `p / 2^112 = p · 5^112 / 10^112` exactly, so the digits of
    /// `p · 5^112` with the point moved `112 + quote − token` places are the exact expansion.
    /// None when it does not fit a decimal.
    fn reference_price(p: U256, (token, quote): (u8, u8)) -> Option<Decimal> {
        let five = U512::from(5u8).pow(U512::from(112u8));
        let digits = (U512::from(p) * five).to_string();
        let shift = 112 + usize::from(quote) - usize::from(token);
        // Left-pad so there is at least one integer digit and the point can move `shift` places.
        let padded = format!("{}{digits}", "0".repeat((shift + 1).saturating_sub(digits.len())));
        let (int, frac) = padded.split_at(padded.len() - shift);
        let kept = format!("{int}{}", &frac[..8]);
        let up = frac.as_bytes()[8] >= b'5';
        let kept = kept.trim_start_matches('0');
        if kept.len() > 30 {
            return None;
        }
        let m = kept.parse::<u128>().unwrap_or(0) + u128::from(up);
        // Decimal holds a 96-bit mantissa.
        if m >= 1u128 << 96 {
            return None;
        }
        Some(Decimal::from_i128_with_scale(i128::try_from(m).unwrap(), 8))
    }

    fn u112() -> impl Strategy<Value = u128> {
        // Every magnitude of reserve, not just the top of the range.
        (1u128..1 << 112, 0u32..112).prop_map(|(r, shift)| (r >> shift).max(1))
    }

    proptest::proptest! {
        #[test]
        fn a_constant_price_twaps_to_the_pairs_price_converted(
            reserve0 in u112(),
            reserve1 in u112(),
            decimals in (0u8..=36, 0u8..=36),
            seconds in 1i64..=40 * DAY,
            limbs in proptest::array::uniform4(proptest::num::u64::ANY),
        ) {
            let p = uq(reserve1, reserve0);
            let c0 = U256::from_limbs(limbs);
            let start = point(MAR_10, c0, decimals);
            let end = point(MAR_10 + seconds, accrue(c0, &[(p, seconds)]), decimals);
            match reference_price(p, decimals) {
                Some(want) => proptest::prop_assert_eq!(twap_usd(&start, &end), Ok(want)),
                None => proptest::prop_assert_eq!(twap_usd(&start, &end), Err(TwapError::Overflow)),
            }
        }
    }
}
