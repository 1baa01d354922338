//! Exact amounts for tokencomp.
//!
//! Token amounts are integers of base units (`TokenAmount`, a `u128` behind checked
//! operations); fiat amounts are `rust_decimal::Decimal` rounded by one named policy
//! ([`MONEY_ROUNDING`]) at the points the callers document. Nothing in this crate uses a
//! float, and nothing here can panic on overflow: every operation that can overflow returns
//! a `Result`.

mod amount;
mod fiat;
mod wide;

pub use amount::{AmountError, MAX_DECIMALS, Token, TokenAmount};
pub use fiat::{
    Currency, FiatError, MONEY_ROUNDING, PRICE_ROUNDING, Rounding, format_fiat, token_value, tokens_for_value,
};
pub use rust_decimal::Decimal;
pub use wide::mul_div_floor;
