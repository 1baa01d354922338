//! Token amounts in base units and the token that gives them meaning.

use std::fmt;
use std::str::FromStr;

use crate::wide::mul_div_floor;

/// The most decimals a token may have: `10^38` is the largest power of ten a `u128` holds.
pub const MAX_DECIMALS: u8 = 38;

/// Why an amount could not be formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount overflows 128 bits of base units")]
    Overflow,
    #[error("amount would go below zero")]
    Underflow,
    #[error("division by zero")]
    DivisionByZero,
    #[error("`{input}` is not an amount: {reason}")]
    Parse { input: String, reason: &'static str },
    #[error("`{input}` has {found} decimal places but {symbol} has only {decimals}")]
    TooPrecise { input: String, found: usize, symbol: String, decimals: u8 },
    #[error("token decimals must be at most {MAX_DECIMALS}, got {0}")]
    Decimals(u8),
    #[error("token symbol `{0}` must be 1 to 11 ASCII letters or digits")]
    Symbol(String),
}

/// A count of a token's base units (like wei). The field is private: every way to make or
/// combine one is checked, so an amount is never silently wrapped or truncated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenAmount(u128);

impl TokenAmount {
    pub const ZERO: TokenAmount = TokenAmount(0);
    pub const MAX: TokenAmount = TokenAmount(u128::MAX);

    #[inline]
    pub const fn from_base_units(units: u128) -> Self {
        TokenAmount(units)
    }

    #[inline]
    pub const fn base_units(self) -> u128 {
        self.0
    }

    #[inline]
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    #[inline]
    pub fn checked_add(self, other: TokenAmount) -> Result<TokenAmount, AmountError> {
        self.0.checked_add(other.0).map(TokenAmount).ok_or(AmountError::Overflow)
    }

    #[inline]
    pub fn checked_sub(self, other: TokenAmount) -> Result<TokenAmount, AmountError> {
        self.0.checked_sub(other.0).map(TokenAmount).ok_or(AmountError::Underflow)
    }

    /// `self - other`, or zero when `other` is larger.
    #[inline]
    pub fn saturating_sub(self, other: TokenAmount) -> TokenAmount {
        TokenAmount(self.0.saturating_sub(other.0))
    }

    /// `floor(self * num / den)`, exact for every `u128` (256-bit intermediate).
    #[inline]
    pub fn mul_div_floor(self, num: u128, den: u128) -> Result<TokenAmount, AmountError> {
        if den == 0 {
            return Err(AmountError::DivisionByZero);
        }
        mul_div_floor(self.0, num, den).map(TokenAmount).ok_or(AmountError::Overflow)
    }

    /// Sum of amounts; fails on overflow instead of wrapping.
    pub fn checked_sum<I: IntoIterator<Item = TokenAmount>>(iter: I) -> Result<TokenAmount, AmountError> {
        iter.into_iter().try_fold(TokenAmount::ZERO, TokenAmount::checked_add)
    }

    #[inline]
    pub fn min(self, other: TokenAmount) -> TokenAmount {
        if self <= other { self } else { other }
    }
}

/// Displays the integer count of base units, the form amounts take in JSON, CSV and SQL.
impl fmt::Display for TokenAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Parses an integer count of base units (`"1500000000000000000"`), nothing else.
impl FromStr for TokenAmount {
    type Err = AmountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AmountError::Parse { input: s.to_owned(), reason: "base units are digits only" });
        }
        s.parse::<u128>().map(TokenAmount).map_err(|_| AmountError::Overflow)
    }
}

/// A token: its ticker and how many decimals one whole token has.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Token {
    symbol: String,
    decimals: u8,
}

impl Token {
    pub fn new(symbol: &str, decimals: u8) -> Result<Token, AmountError> {
        if decimals > MAX_DECIMALS {
            return Err(AmountError::Decimals(decimals));
        }
        if symbol.is_empty() || symbol.len() > 11 || !symbol.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(AmountError::Symbol(symbol.to_owned()));
        }
        Ok(Token { symbol: symbol.to_owned(), decimals })
    }

    pub fn symbol(&self) -> &str {
        &self.symbol
    }

    pub fn decimals(&self) -> u8 {
        self.decimals
    }

    /// Base units in one whole token: `10^decimals` (fits, as decimals ≤ 38).
    pub fn one(&self) -> u128 {
        10u128.pow(u32::from(self.decimals))
    }

    /// Parses a decimal count of whole tokens (`"1.5"`) exactly. More decimal places than the
    /// token has is an error, never a rounding; so are signs, exponents and empty parts.
    pub fn parse(&self, input: &str) -> Result<TokenAmount, AmountError> {
        let bad = |reason| AmountError::Parse { input: input.to_owned(), reason };
        let s = input.trim();
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (s, None),
        };
        if int.is_empty() {
            return Err(bad("missing the whole-token digits before the point"));
        }
        if !int.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("only digits and one decimal point are allowed"));
        }
        let frac = frac.unwrap_or("");
        if input.trim().ends_with('.') {
            return Err(bad("missing digits after the decimal point"));
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("only digits and one decimal point are allowed"));
        }
        if frac.len() > usize::from(self.decimals) {
            return Err(AmountError::TooPrecise {
                input: input.to_owned(),
                found: frac.len(),
                symbol: self.symbol.clone(),
                decimals: self.decimals,
            });
        }
        let whole: u128 = int.parse().map_err(|_| AmountError::Overflow)?;
        let frac_units: u128 = if frac.is_empty() {
            0
        } else {
            let digits: u128 = frac.parse().map_err(|_| AmountError::Overflow)?;
            // frac.len() <= decimals <= 38, so the power fits.
            let pad = u32::from(self.decimals) - u32::try_from(frac.len()).map_err(|_| AmountError::Overflow)?;
            digits.checked_mul(10u128.pow(pad)).ok_or(AmountError::Overflow)?
        };
        whole
            .checked_mul(self.one())
            .and_then(|w| w.checked_add(frac_units))
            .map(TokenAmount)
            .ok_or(AmountError::Overflow)
    }

    /// Formats an amount as whole tokens with no trailing zeros (`"1.5"`, `"2"`).
    pub fn format(&self, amount: TokenAmount) -> String {
        let one = self.one();
        let whole = amount.0 / one;
        let frac = amount.0 % one;
        if frac == 0 {
            return whole.to_string();
        }
        let mut f = format!("{frac:0width$}", width = usize::from(self.decimals));
        while f.ends_with('0') {
            f.pop();
        }
        format!("{whole}.{f}")
    }

    /// Formats with exactly `places` decimals, truncating (for tables meant for people only;
    /// never feed the result back into a computation).
    pub fn format_display(&self, amount: TokenAmount, places: u8) -> String {
        let places = places.min(self.decimals);
        let one = self.one();
        let whole = amount.0 / one;
        if places == 0 {
            return group_thousands(whole);
        }
        let frac = (amount.0 % one) / 10u128.pow(u32::from(self.decimals - places));
        format!("{}.{frac:0width$}", group_thousands(whole), width = usize::from(places))
    }
}

pub(crate) fn group_thousands(n: u128) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net() -> Token {
        Token::new("NET", 18).expect("valid token")
    }

    #[test]
    fn parses_exactly() {
        assert_eq!(net().parse("1.5").map(TokenAmount::base_units), Ok(1_500_000_000_000_000_000));
        assert_eq!(net().parse("0.000000000000000001").map(TokenAmount::base_units), Ok(1));
        assert_eq!(net().parse("12").map(TokenAmount::base_units), Ok(12 * 10u128.pow(18)));
    }

    #[test]
    fn too_many_decimals_is_an_error_not_a_rounding() {
        assert!(matches!(net().parse("0.0000000000000000001"), Err(AmountError::TooPrecise { found: 19, .. })));
        let usdc = Token::new("USDC", 6).expect("valid token");
        assert!(matches!(usdc.parse("1.2345678"), Err(AmountError::TooPrecise { .. })));
    }

    #[test]
    fn rejects_malformed_input() {
        for bad in ["", ".5", "1.", "-1", "+1", "1e3", "1.2.3", "1,000", " ", "0x10"] {
            assert!(net().parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn overflow_is_reported() {
        let t = Token::new("BIG", 38).expect("valid token");
        assert_eq!(t.parse("3").map(TokenAmount::base_units), Ok(3 * 10u128.pow(38)));
        assert_eq!(t.parse("4"), Err(AmountError::Overflow));
    }

    #[test]
    fn formats_without_trailing_zeros() {
        let t = net();
        assert_eq!(t.format(TokenAmount::from_base_units(1_500_000_000_000_000_000)), "1.5");
        assert_eq!(t.format(TokenAmount::from_base_units(2 * 10u128.pow(18))), "2");
        assert_eq!(t.format(TokenAmount::from_base_units(1)), "0.000000000000000001");
        assert_eq!(t.format_display(TokenAmount::from_base_units(1_234_567 * 10u128.pow(17)), 2), "123,456.70");
    }

    #[test]
    fn rejects_bad_tokens() {
        assert_eq!(Token::new("X", 39), Err(AmountError::Decimals(39)));
        assert!(Token::new("", 18).is_err());
        assert!(Token::new("N-T", 18).is_err());
    }

    #[test]
    fn checked_arithmetic() {
        let max = TokenAmount::MAX;
        assert_eq!(max.checked_add(TokenAmount::from_base_units(1)), Err(AmountError::Overflow));
        assert_eq!(TokenAmount::ZERO.checked_sub(TokenAmount::from_base_units(1)), Err(AmountError::Underflow));
        assert_eq!(max.mul_div_floor(1, 0), Err(AmountError::DivisionByZero));
        assert_eq!(max.mul_div_floor(7, 7), Ok(max));
    }
}
