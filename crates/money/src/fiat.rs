//! Fiat amounts: `rust_decimal::Decimal` rounded by named policies at documented points.
//!
//! Token × price is formed in wide integers and rounded exactly once, so a value never
//! carries an intermediate rounding.

use std::fmt;
use std::str::FromStr;

use ruint::aliases::U512;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::amount::{Token, TokenAmount};

/// A rounding policy: how many decimal places, and what happens at the midpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rounding {
    pub scale: u32,
    pub midpoint: Midpoint,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Midpoint {
    /// 0.005 → 0.01 (what payroll providers and tax forms do).
    AwayFromZero,
    /// 0.005 → 0.00, 0.015 → 0.02 (banker's rounding).
    ToEven,
}

/// The one policy for money that is paid, withheld or booked: cents, half away from zero.
/// Applied per tax line and per journal line; never to intermediate values.
pub const MONEY_ROUNDING: Rounding = Rounding { scale: 2, midpoint: Midpoint::AwayFromZero };

/// Prices derived by averaging (grant prices, VWAPs) are kept to 8 decimal places.
pub const PRICE_ROUNDING: Rounding = Rounding { scale: 8, midpoint: Midpoint::AwayFromZero };

impl Rounding {
    pub fn apply(self, d: Decimal) -> Decimal {
        let strategy = match self.midpoint {
            Midpoint::AwayFromZero => RoundingStrategy::MidpointAwayFromZero,
            Midpoint::ToEven => RoundingStrategy::MidpointNearestEven,
        };
        d.round_dp_with_strategy(self.scale, strategy)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FiatError {
    #[error("price must be positive, got {0}")]
    NonPositivePrice(Decimal),
    #[error("value must not be negative, got {0}")]
    NegativeValue(Decimal),
    #[error("result does not fit in a decimal")]
    Overflow,
    #[error("`{0}` is not a currency code (three capital letters)")]
    Currency(String),
}

/// An ISO 4217 currency code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const USD: Currency = Currency(*b"USD");
    pub const GBP: Currency = Currency(*b"GBP");
    pub const EUR: Currency = Currency(*b"EUR");

    pub fn code(&self) -> &str {
        // INVARIANT: built only from three ASCII capitals (see FromStr and the constants).
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl FromStr for Currency {
    type Err = FiatError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.as_bytes();
        if b.len() == 3 && b.iter().all(u8::is_ascii_uppercase) {
            Ok(Currency([b[0], b[1], b[2]]))
        } else {
            Err(FiatError::Currency(s.to_owned()))
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

fn pow10(n: u32) -> U512 {
    U512::from(10u8).pow(U512::from(n))
}

fn mantissa(d: Decimal) -> U512 {
    U512::from(d.mantissa().unsigned_abs())
}

/// `amount × price`, rounded once by `rounding`. The product is formed in 512-bit integers:
/// `amount / 10^decimals × mantissa / 10^scale`, so no digit is lost before the rounding.
pub fn token_value(
    token: &Token,
    amount: TokenAmount,
    price: Decimal,
    rounding: Rounding,
) -> Result<Decimal, FiatError> {
    if price.is_sign_negative() && !price.is_zero() {
        return Err(FiatError::NonPositivePrice(price));
    }
    let den_exp = u32::from(token.decimals()) + price.scale();
    // Fast path: the same arithmetic in u128 when every factor fits (typical amounts and prices).
    let narrow = 10u128.checked_pow(rounding.scale).and_then(|p| {
        let num = amount.base_units().checked_mul(price.mantissa().unsigned_abs())?.checked_mul(p)?;
        Some((num, 10u128.checked_pow(den_exp)?))
    });
    if let Some((num, den)) = narrow {
        return to_decimal(divide_rounded_u128(num, den, rounding.midpoint), rounding.scale);
    }
    token_value_wide(amount, price, rounding, den_exp)
}

fn token_value_wide(
    amount: TokenAmount,
    price: Decimal,
    rounding: Rounding,
    den_exp: u32,
) -> Result<Decimal, FiatError> {
    let num = U512::from(amount.base_units()) * mantissa(price) * pow10(rounding.scale);
    let den = pow10(den_exp);
    let q = divide_rounded(num, den, rounding.midpoint);
    to_decimal(q, rounding.scale)
}

/// `divide_rounded` in u128 (`den` > 0; `2 × remainder` cannot overflow since it is < 2 × den
/// ≤ 2 × 10^38 < u128::MAX).
fn divide_rounded_u128(num: u128, den: u128, midpoint: Midpoint) -> u128 {
    let q = num / den;
    let r = num % den;
    let up = match (r * 2).cmp(&den) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => match midpoint {
            Midpoint::AwayFromZero => true,
            Midpoint::ToEven => q % 2 == 1,
        },
    };
    if up { q + 1 } else { q }
}

/// How many base units `value` buys at `price`, rounded down (a grant sized in fiat never
/// exceeds its fiat value).
pub fn tokens_for_value(token: &Token, value: Decimal, price: Decimal) -> Result<TokenAmount, FiatError> {
    if price <= Decimal::ZERO {
        return Err(FiatError::NonPositivePrice(price));
    }
    if value.is_sign_negative() && !value.is_zero() {
        return Err(FiatError::NegativeValue(value));
    }
    // value = mv / 10^sv, price = mp / 10^sp; units = mv * 10^(dec + sp) / (mp * 10^sv).
    let narrow = 10u128.checked_pow(u32::from(token.decimals()) + price.scale()).and_then(|p| {
        let num = value.mantissa().unsigned_abs().checked_mul(p)?;
        let den = price.mantissa().unsigned_abs().checked_mul(10u128.checked_pow(value.scale())?)?;
        Some(num / den)
    });
    if let Some(q) = narrow {
        return Ok(TokenAmount::from_base_units(q));
    }
    let num = mantissa(value) * pow10(u32::from(token.decimals()) + price.scale());
    let den = mantissa(price) * pow10(value.scale());
    let q = num / den;
    u128::try_from(q).map(TokenAmount::from_base_units).map_err(|_| FiatError::Overflow)
}

fn divide_rounded(num: U512, den: U512, midpoint: Midpoint) -> U512 {
    let q = num / den;
    let r = num % den;
    let twice = r * U512::from(2u8);
    let up = match twice.cmp(&den) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => match midpoint {
            Midpoint::AwayFromZero => true,
            Midpoint::ToEven => q.bit(0),
        },
    };
    if up { q + U512::from(1u8) } else { q }
}

fn to_decimal(q: impl TryInto<i128>, scale: u32) -> Result<Decimal, FiatError> {
    let m = q.try_into().map_err(|_| FiatError::Overflow)?;
    Decimal::try_from_i128_with_scale(m, scale).map_err(|_| FiatError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("decimal literal")
    }

    proptest::proptest! {
        #[test]
        fn the_u128_fast_paths_agree_with_512_bit_arithmetic(
            units in proptest::prop_oneof![0u128..10u128.pow(27), 0u128..u128::MAX / 2],
            mantissa in proptest::prop_oneof![1i64..100_000, 1i64..i64::MAX], scale in 0u32..20, decimals in 0u8..=38,
            even in proptest::bool::ANY,
        ) {
            let token = Token::new("T", decimals).expect("token");
            let price = Decimal::new(mantissa, scale);
            let amount = TokenAmount::from_base_units(units);
            let rounding = Rounding { scale: 2, midpoint: if even { Midpoint::ToEven } else { Midpoint::AwayFromZero } };
            let wide = token_value_wide(amount, price, rounding, u32::from(decimals) + price.scale());
            proptest::prop_assert_eq!(token_value(&token, amount, price, rounding), wide);
            let value = Decimal::new(mantissa / 3, scale.min(10));
            let q = U512::from(value.mantissa().unsigned_abs()) * pow10(u32::from(decimals) + price.scale())
                / (mantissa_of(price) * pow10(value.scale()));
            let expect = u128::try_from(q).map(TokenAmount::from_base_units).map_err(|_| FiatError::Overflow);
            proptest::prop_assert_eq!(tokens_for_value(&token, value, price), expect);
        }
    }

    fn mantissa_of(d: Decimal) -> U512 {
        mantissa(d)
    }

    #[test]
    fn value_is_rounded_once() {
        let net = Token::new("NET", 18).expect("token");
        // 1.005 tokens at $1 = $1.005 → $1.01 (away from zero), not $1.00.
        let a = net.parse("1.005").expect("amount");
        assert_eq!(token_value(&net, a, d("1"), MONEY_ROUNDING), Ok(d("1.01")));
        // 3 base units at $0.5 per token is 1.5e-18 dollars: rounds to zero cents.
        assert_eq!(token_value(&net, TokenAmount::from_base_units(3), d("0.5"), MONEY_ROUNDING), Ok(d("0.00")));
        // 1234.56789 tokens at $2.3456 = 2895.8024429... → 2895.80
        let a = net.parse("1234.56789").expect("amount");
        assert_eq!(token_value(&net, a, d("2.3456"), MONEY_ROUNDING), Ok(d("2895.80")));
    }

    #[test]
    fn even_rounding_is_available() {
        let usdc = Token::new("USDC", 6).expect("token");
        let half_cent = usdc.parse("0.025").expect("amount");
        let even = Rounding { scale: 2, midpoint: Midpoint::ToEven };
        assert_eq!(token_value(&usdc, half_cent, d("1"), even), Ok(d("0.02")));
        assert_eq!(token_value(&usdc, half_cent, d("1"), MONEY_ROUNDING), Ok(d("0.03")));
    }

    #[test]
    fn max_amount_times_price_is_exact() {
        let t = Token::new("T", 0).expect("token");
        let v = token_value(&t, TokenAmount::from_base_units(10u128.pow(20)), d("0.0000001"), MONEY_ROUNDING);
        assert_eq!(v, Ok(d("10000000000000.00")));
        let huge = token_value(&t, TokenAmount::MAX, d("79228162514264337593543950335"), MONEY_ROUNDING);
        assert_eq!(huge, Err(FiatError::Overflow));
    }

    #[test]
    fn tokens_for_fiat_round_down() {
        let net = Token::new("NET", 18).expect("token");
        // $100,000 at $3 = 33,333.333... tokens, floored at the 18th decimal.
        let units = tokens_for_value(&net, d("100000"), d("3")).expect("units");
        assert_eq!(units.base_units(), 33_333_333_333_333_333_333_333);
        assert!(tokens_for_value(&net, d("1"), d("0")).is_err());
    }

    #[test]
    fn currency_codes() {
        assert_eq!("GBP".parse::<Currency>(), Ok(Currency::GBP));
        assert!("gbp".parse::<Currency>().is_err());
        assert_eq!(Currency::EUR.to_string(), "EUR");
    }
}

/// A fiat amount as people read it, everywhere (CLI, web, CSV, PDF): rounded as it is booked
/// ([`MONEY_ROUNDING`]: cents, half away from zero), thousands grouped with commas, two places.
pub fn format_fiat(d: Decimal) -> String {
    let cents = MONEY_ROUNDING.apply(d).abs();
    let negative = d.is_sign_negative() && !MONEY_ROUNDING.apply(d).is_zero();
    // Whole units and cents as integers: a Decimal's whole part always fits a u128.
    let whole = cents.trunc().to_u128().unwrap_or(0);
    let frac = ((cents - cents.trunc()) * Decimal::ONE_HUNDRED).to_u128().unwrap_or(0);
    format!("{}{}.{frac:02}", if negative { "-" } else { "" }, crate::amount::group_thousands(whole))
}

#[cfg(test)]
mod format_tests {
    use super::*;

    #[test]
    fn fiat_is_rounded_as_booked_and_grouped() {
        let d = |s: &str| s.parse::<Decimal>().expect("decimal");
        assert_eq!(format_fiat(d("9585685.705")), "9,585,685.71", "half away from zero, as booked");
        assert_eq!(format_fiat(d("9585685.704")), "9,585,685.70");
        assert_eq!(format_fiat(d("-1234.5")), "-1,234.50");
        assert_eq!(format_fiat(d("-0.004")), "0.00", "no negative zero");
        assert_eq!(format_fiat(d("999.995")), "1,000.00");
        assert_eq!(format_fiat(d("12")), "12.00");
        assert_eq!(format_fiat(Decimal::ZERO), "0.00");
    }
}
