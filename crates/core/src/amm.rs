//! What vested tokens really fetch when sold into a constant-product (Uniswap V2) pool.
//!
//! Every amount is an integer of base units: the token reserve and the sold tokens in the
//! token's units, the quote reserve and the proceeds in the quote token's (USDC has 6
//! decimals). A swap is computed exactly as a Uniswap V2 pair accepts it, so a pool state here
//! is one a real pair reaches (the evm crate's tests hold the two equal, swap by swap).
//!
//! Named rounding points: a swap's output is floored (the pair's own rule); a paper value
//! (tokens at the starting spot price) is floored to a quote base unit; shares and prices
//! shown as `Decimal` are rounded once, half away from zero, to [`SHARE_PLACES`] or
//! `PRICE_ROUNDING`. This module never uses a float and never reads a price from anywhere:
//! the pool is a parameter.

use jiff::civil::Date;
use ruint::aliases::{U256, U512};
use tokencomp_money::{Decimal, PRICE_ROUNDING, Token};

/// Basis points in one whole.
pub const BPS: u32 = 10_000;
/// A Uniswap V2 pair's swap fee (0.3%, its `997 / 1000`).
pub const UNISWAP_V2_FEE_BPS: u32 = 30;
/// Decimal places of a share (`0.0123` is 1.23%), rounded once, half away from zero.
pub const SHARE_PLACES: u32 = 8;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmmError {
    #[error("a pool reserve is zero")]
    EmptyReserve,
    #[error("the amount swapped is zero")]
    ZeroInput,
    #[error("a fee of {0} basis points leaves nothing of a swap (it must be below 10000)")]
    Fee(u32),
    #[error("the pool holds {reserve} base units and {wanted} were asked for")]
    InsufficientLiquidity { wanted: u128, reserve: u128 },
    #[error("a sale must be split into at least one chunk")]
    NoChunks,
    #[error("a recovery of {0} basis points is more than the whole price move (at most 10000)")]
    Recovery(u32),
    #[error("{0} overflowed")]
    Overflow(&'static str),
}

fn check_fee(fee_bps: u32) -> Result<U256, AmmError> {
    if fee_bps >= BPS {
        return Err(AmmError::Fee(fee_bps));
    }
    Ok(U256::from(BPS - fee_bps))
}

fn narrow(x: U256, what: &'static str) -> Result<u128, AmmError> {
    u128::try_from(x).map_err(|_| AmmError::Overflow(what))
}

/// What a pair pays out for `amount_in`: the router's `getAmountOut`, in basis points.
///
/// `out = floor(in·(10000 − fee)·reserve_out / (reserve_in·10000 + in·(10000 − fee)))`.
/// With a fee of 30 this is V2's `in·997·r_out / (r_in·1000 + in·997)` with numerator and
/// denominator both multiplied by 10, the same rational, so the same floor. It is also the
/// largest output the pair's K check accepts: `(r_in·1000 + in·997)·(r_out − out) ≥
/// r_in·r_out·1000` solved for `out`. The products are formed in 256 bits and refused when
/// they do not fit (reserves of a real pair are below 2^112, far inside).
pub fn amount_out(amount_in: u128, reserve_in: u128, reserve_out: u128, fee_bps: u32) -> Result<u128, AmmError> {
    let keep = check_fee(fee_bps)?;
    if amount_in == 0 {
        return Err(AmmError::ZeroInput);
    }
    if reserve_in == 0 || reserve_out == 0 {
        return Err(AmmError::EmptyReserve);
    }
    let in_with_fee = U256::from(amount_in).checked_mul(keep).ok_or(AmmError::Overflow("amount_in × fee"))?;
    let numerator =
        in_with_fee.checked_mul(U256::from(reserve_out)).ok_or(AmmError::Overflow("amount_out numerator"))?;
    let denominator = U256::from(reserve_in)
        .checked_mul(U256::from(BPS))
        .and_then(|d| d.checked_add(in_with_fee))
        .ok_or(AmmError::Overflow("amount_out denominator"))?;
    // The quotient is below reserve_out, so it fits.
    narrow(numerator / denominator, "amount_out")
}

/// An input for which the pair pays at least `amount_out`: the router's `getAmountIn`,
/// `floor(r_in·out·10000 / ((r_out − out)·(10000 − fee))) + 1`. It is the least such input,
/// or one unit more when that division is exact (V2 adds the one regardless).
pub fn amount_in(amount_out: u128, reserve_in: u128, reserve_out: u128, fee_bps: u32) -> Result<u128, AmmError> {
    let keep = check_fee(fee_bps)?;
    if amount_out == 0 {
        return Err(AmmError::ZeroInput);
    }
    if reserve_in == 0 || reserve_out == 0 {
        return Err(AmmError::EmptyReserve);
    }
    if amount_out >= reserve_out {
        return Err(AmmError::InsufficientLiquidity { wanted: amount_out, reserve: reserve_out });
    }
    let numerator = U256::from(reserve_in)
        .checked_mul(U256::from(amount_out))
        .and_then(|n| n.checked_mul(U256::from(BPS)))
        .ok_or(AmmError::Overflow("amount_in numerator"))?;
    let denominator =
        U256::from(reserve_out - amount_out).checked_mul(keep).ok_or(AmmError::Overflow("amount_in denominator"))?;
    let q = numerator / denominator;
    narrow(q.checked_add(U256::from(1u8)).ok_or(AmmError::Overflow("amount_in"))?, "amount_in")
}

/// A token/quote constant-product pool. Reserves are base units of each side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pool {
    pub token_reserve: u128,
    pub quote_reserve: u128,
    pub fee_bps: u32,
}

/// One swap of a sale: tokens in, quote out, and the pool it left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fill {
    pub tokens_in: u128,
    pub quote_out: u128,
    pub pool_after: Pool,
}

/// A sale of tokens into a pool, possibly in chunks sold one after another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sale {
    pub before: Pool,
    pub after: Pool,
    pub tokens: u128,
    /// Quote base units received, the sum of the fills'.
    pub proceeds: u128,
    /// The tokens at the spot price before the sale, floored: what a screen shows them worth.
    pub paper_value: u128,
    pub fills: Vec<Fill>,
}

/// The gap between what tokens look worth at the spot price and what selling them fetches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Illusion {
    pub paper_value: u128,
    pub realizable: u128,
    /// `paper_value − realizable`, quote base units (never negative: see [`Pool::spot_value`]).
    pub shortfall: u128,
    /// `shortfall / paper_value` to [`SHARE_PLACES`]; zero when the paper value is zero.
    pub share: Decimal,
}

impl Illusion {
    pub fn new(paper_value: u128, realizable: u128) -> Result<Illusion, AmmError> {
        let shortfall = paper_value.checked_sub(realizable).ok_or(AmmError::Overflow("shortfall"))?;
        let share = share(shortfall, paper_value)?;
        Ok(Illusion { paper_value, realizable, shortfall, share })
    }
}

/// `num / den` to [`SHARE_PLACES`], half away from zero (zero when `den` is zero).
pub fn share(num: u128, den: u128) -> Result<Decimal, AmmError> {
    if den == 0 {
        return Ok(Decimal::ZERO);
    }
    round_ratio(U512::from(num), U512::from(den), SHARE_PLACES)
}

/// `num / den` rounded once, half away from zero, to `places` decimals (`den` > 0).
pub(crate) fn round_ratio(num: U512, den: U512, places: u32) -> Result<Decimal, AmmError> {
    let scaled = U512::from(10u8)
        .checked_pow(U512::from(places))
        .and_then(|p| num.checked_mul(p))
        .and_then(|n| n.checked_mul(U512::from(2u8)))
        .and_then(|n| n.checked_add(den))
        .ok_or(AmmError::Overflow("ratio"))?;
    let q = scaled / (den * U512::from(2u8));
    let m = i128::try_from(q).map_err(|_| AmmError::Overflow("ratio"))?;
    Decimal::try_from_i128_with_scale(m, places).map_err(|_| AmmError::Overflow("ratio"))
}

/// Quote base units as a `Decimal` amount of the quote token (USDC: 6 places), exactly.
pub fn quote_to_decimal(quote: &Token, units: u128) -> Result<Decimal, AmmError> {
    let m = i128::try_from(units).map_err(|_| AmmError::Overflow("quote amount"))?;
    Decimal::try_from_i128_with_scale(m, u32::from(quote.decimals()))
        .map(|d| d.normalize())
        .map_err(|_| AmmError::Overflow("quote amount"))
}

impl Pool {
    pub fn new(token_reserve: u128, quote_reserve: u128, fee_bps: u32) -> Result<Pool, AmmError> {
        check_fee(fee_bps)?;
        if token_reserve == 0 || quote_reserve == 0 {
            return Err(AmmError::EmptyReserve);
        }
        Ok(Pool { token_reserve, quote_reserve, fee_bps })
    }

    /// A pool with Uniswap V2's 0.3% fee.
    pub fn uniswap_v2(token_reserve: u128, quote_reserve: u128) -> Result<Pool, AmmError> {
        Pool::new(token_reserve, quote_reserve, UNISWAP_V2_FEE_BPS)
    }

    /// `tokens` at the spot price, `floor(tokens·quote_reserve / token_reserve)`.
    ///
    /// Realizable proceeds never exceed it: a swap's exact output is below the exact spot value
    /// (the price only falls as tokens go in), its floor is an integer at most that, so at most
    /// this floor too.
    pub fn spot_value(&self, tokens: u128) -> Result<u128, AmmError> {
        if self.token_reserve == 0 {
            return Err(AmmError::EmptyReserve);
        }
        let v = U256::from(tokens) * U256::from(self.quote_reserve) / U256::from(self.token_reserve);
        narrow(v, "spot value")
    }

    /// The spot price in quote per whole token, to `PRICE_ROUNDING`.
    pub fn spot_price(&self, token: &Token, quote: &Token) -> Result<Decimal, AmmError> {
        price(self.quote_reserve, self.token_reserve, token, quote)
    }

    /// One swap of `tokens` into the pool: the quote paid out and the pool after it.
    pub fn sell(&self, tokens: u128) -> Result<(u128, Pool), AmmError> {
        let out = amount_out(tokens, self.token_reserve, self.quote_reserve, self.fee_bps)?;
        let token_reserve = self.token_reserve.checked_add(tokens).ok_or(AmmError::Overflow("token reserve"))?;
        Ok((out, Pool { token_reserve, quote_reserve: self.quote_reserve - out, ..*self }))
    }

    /// One swap of `quote_in` for tokens (an arbitrageur buying back): tokens out and the pool after.
    pub fn buy(&self, quote_in: u128) -> Result<(u128, Pool), AmmError> {
        let out = amount_out(quote_in, self.quote_reserve, self.token_reserve, self.fee_bps)?;
        let quote_reserve = self.quote_reserve.checked_add(quote_in).ok_or(AmmError::Overflow("quote reserve"))?;
        Ok((out, Pool { token_reserve: self.token_reserve - out, quote_reserve, ..*self }))
    }

    /// Sells `tokens` in `chunks` swaps one after another, with nothing between them.
    ///
    /// The chunks are `tokens / chunks` each, the first `tokens % chunks` one unit larger;
    /// chunks of zero tokens are skipped (the pair refuses an empty swap). Splitting never
    /// fetches more than one swap of the whole: each swap's K check, chained, implies the
    /// single swap's (their difference is `fee·(10000 − fee)·a·b ≥ 0` for chunks `a`, `b`),
    /// so the split's total is an output the single swap would also accept, at most its
    /// maximum. With a fee it usually fetches less, since the first chunk's fee stays in the
    /// pool and moves the price against the next; without a fee only the floors differ.
    pub fn sell_in_chunks(&self, tokens: u128, chunks: u32) -> Result<Sale, AmmError> {
        if chunks == 0 {
            return Err(AmmError::NoChunks);
        }
        if tokens == 0 {
            return Err(AmmError::ZeroInput);
        }
        let paper_value = self.spot_value(tokens)?;
        let k = u128::from(chunks);
        let (base, extra) = (tokens / k, tokens % k);
        let mut pool = *self;
        let mut proceeds = 0u128;
        let mut fills = Vec::new();
        for i in 0..k {
            let size = if i < extra { base + 1 } else { base };
            if size == 0 {
                continue;
            }
            let (out, after) = pool.sell(size)?;
            proceeds = proceeds.checked_add(out).ok_or(AmmError::Overflow("proceeds"))?;
            fills.push(Fill { tokens_in: size, quote_out: out, pool_after: after });
            pool = after;
        }
        Ok(Sale { before: *self, after: pool, tokens, proceeds, paper_value, fills })
    }

    /// The largest quote input whose swap leaves the spot price at most `num / den` (quote
    /// base units per token base unit), and the swap it makes; `None` when the price is at or
    /// above the target already or no swap of at least one unit stays at or below it.
    fn buy_up_to(&self, num: U512, den: U512) -> Result<Option<(u128, u128, Pool)>, AmmError> {
        // Spot after a buy of q: (quote + q) / (token − out(q)); it only rises with q.
        let at_most = |q: u128| -> Result<Option<(u128, Pool)>, AmmError> {
            let (out, after) = match self.buy(q) {
                Ok(x) => x,
                Err(AmmError::Overflow(_)) => return Ok(None),
                Err(e) => return Err(e),
            };
            let lhs = U512::from(after.quote_reserve).checked_mul(den);
            let rhs = num.checked_mul(U512::from(after.token_reserve));
            match (lhs, rhs) {
                (Some(l), Some(r)) if l <= r => Ok(Some((out, after))),
                _ => Ok(None),
            }
        };
        if at_most(1)?.is_none() {
            return Ok(None);
        }
        // Doubling, then bisection: `lo` always passes, `hi` never does.
        let mut lo = 1u128;
        let mut hi = loop {
            let Some(next) = lo.checked_mul(2) else { break None };
            if at_most(next)?.is_none() {
                break Some(next);
            }
            lo = next;
        };
        if let Some(h) = hi.as_mut() {
            while *h - lo > 1 {
                let mid = lo + (*h - lo) / 2;
                if at_most(mid)?.is_some() {
                    lo = mid;
                } else {
                    *h = mid;
                }
            }
        }
        // A swap that buys nothing is one the pair refuses; then there is no arbitrage.
        Ok(at_most(lo)?.filter(|&(out, _)| out > 0).map(|(out, after)| (lo, out, after)))
    }
}

/// `quote_units / token_units` as quote per whole token, to `PRICE_ROUNDING`.
fn price(quote_units: u128, token_units: u128, token: &Token, quote: &Token) -> Result<Decimal, AmmError> {
    if token_units == 0 {
        return Err(AmmError::ZeroInput);
    }
    let pow10 = |n: u8| U512::from(10u8).pow(U512::from(n));
    let num = U512::from(quote_units) * pow10(token.decimals());
    let den = U512::from(token_units) * pow10(quote.decimals());
    round_ratio(num, den, PRICE_ROUNDING.scale)
}

impl Sale {
    /// Paper value against proceeds.
    pub fn illusion(&self) -> Result<Illusion, AmmError> {
        Illusion::new(self.paper_value, self.proceeds)
    }

    /// Proceeds per whole token sold, in quote per token, to `PRICE_ROUNDING`.
    pub fn average_price(&self, token: &Token, quote: &Token) -> Result<Decimal, AmmError> {
        price(self.proceeds, self.tokens, token, quote)
    }

    /// How far the average price fell short of the spot price before the sale, as a share
    /// (the price impact, fee included): `1 − proceeds / paper_value`, the illusion's share.
    pub fn price_impact(&self) -> Result<Decimal, AmmError> {
        Ok(self.illusion()?.share)
    }

    /// How far the spot price itself fell, as a share: `1 − spot_after / spot_before`.
    pub fn spot_move(&self) -> Result<Decimal, AmmError> {
        spot_fall(&self.before, &self.after)
    }
}

/// `1 − (q₁/t₁) / (q₀/t₀)` to [`SHARE_PLACES`], zero when the price did not fall.
fn spot_fall(before: &Pool, after: &Pool) -> Result<Decimal, AmmError> {
    let p0 = U512::from(before.quote_reserve) * U512::from(after.token_reserve);
    let p1 = U512::from(after.quote_reserve) * U512::from(before.token_reserve);
    if p1 >= p0 {
        return Ok(Decimal::ZERO);
    }
    round_ratio(p0 - p1, p0, SHARE_PLACES)
}

/// What happens between two months' sales.
///
/// The model: the outside market keeps the price the pool had before the first sale, and
/// before each later month's sale an arbitrageur buys tokens from the pool with quote, one
/// Uniswap V2 swap paying the pool's fee, closing `restore_bps` of the gap between the spot
/// price the sales left and that starting price (the largest such swap that does not
/// overshoot). The default, [`Recovery::NONE`], has no arbitrage at all: every month sells
/// into what the previous months left, the worst case.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    pub restore_bps: u32,
}

impl Recovery {
    pub const NONE: Recovery = Recovery { restore_bps: 0 };
    pub const FULL: Recovery = Recovery { restore_bps: BPS };
}

/// The arbitrageur's swap before a month's sale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arbitrage {
    pub quote_in: u128,
    pub tokens_out: u128,
    pub pool_after: Pool,
}

/// One month's sale, after the recovery (if any) that preceded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonthSale {
    /// The first day of the month.
    pub month: Date,
    pub arbitrage: Option<Arbitrage>,
    pub sale: Sale,
}

/// A schedule of unlocks sold month by month.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnlockSales {
    pub start: Pool,
    pub end: Pool,
    pub months: Vec<MonthSale>,
    pub tokens: u128,
    pub proceeds: u128,
    /// Every unlocked token at the starting spot price, floored once: what the unlocks look
    /// worth on the day the schedule is drawn up.
    pub paper_value: u128,
}

impl UnlockSales {
    /// Paper value at the start against the sum of every month's proceeds.
    pub fn illusion(&self) -> Result<Illusion, AmmError> {
        Illusion::new(self.paper_value, self.proceeds)
    }
}

/// Sells `unlocks` (date, token base units) into `pool` month by month: unlocks in one
/// calendar month are sold together, in `chunks` swaps, in date order; `recovery` acts
/// between consecutive months' sales. The whole team's unlocks give the team's realizable
/// value; one person's alone give what that person would fetch selling into the pool
/// untouched by the others. Months with nothing unlocked are skipped.
pub fn sell_unlocks(
    pool: &Pool,
    unlocks: &[(Date, u128)],
    chunks: u32,
    recovery: Recovery,
) -> Result<UnlockSales, AmmError> {
    if recovery.restore_bps > BPS {
        return Err(AmmError::Recovery(recovery.restore_bps));
    }
    let mut by_month: std::collections::BTreeMap<Date, u128> = std::collections::BTreeMap::new();
    for &(date, tokens) in unlocks {
        let month = date.first_of_month();
        let sum = by_month.entry(month).or_insert(0);
        *sum = sum.checked_add(tokens).ok_or(AmmError::Overflow("a month's unlocks"))?;
    }
    let tokens = by_month.values().try_fold(0u128, |a, &t| a.checked_add(t)).ok_or(AmmError::Overflow("unlocks"))?;
    let paper_value = pool.spot_value(tokens)?;
    // The outside price, quote units per token unit, as the reserves' ratio.
    let (target_q, target_t) = (U512::from(pool.quote_reserve), U512::from(pool.token_reserve));
    let r = U512::from(recovery.restore_bps);
    let whole = U512::from(BPS);
    let mut current = *pool;
    let mut months = Vec::new();
    let mut proceeds = 0u128;
    for (month, amount) in by_month.into_iter().filter(|&(_, t)| t > 0) {
        let mut arbitrage = None;
        if !months.is_empty() && recovery.restore_bps > 0 {
            // Target price p + r·(p₀ − p) with p = q/t now and p₀ = Q/T at the start:
            // (q·T·(10000 − r) + r·Q·t) / (10000·t·T).
            let (q, t) = (U512::from(current.quote_reserve), U512::from(current.token_reserve));
            let num = q * target_t * (whole - r) + r * target_q * t;
            let den = whole * t * target_t;
            if let Some((quote_in, tokens_out, after)) = current.buy_up_to(num, den)? {
                arbitrage = Some(Arbitrage { quote_in, tokens_out, pool_after: after });
                current = after;
            }
        }
        let sale = current.sell_in_chunks(amount, chunks)?;
        proceeds = proceeds.checked_add(sale.proceeds).ok_or(AmmError::Overflow("proceeds"))?;
        current = sale.after;
        months.push(MonthSale { month, arbitrage, sale });
    }
    Ok(UnlockSales { start: *pool, end: current, months, tokens, proceeds, paper_value })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn thirty_bps_is_v2s_997_over_1000() {
        // V2's library form, written out independently.
        let v2 = |a: u128, r_in: u128, r_out: u128| a * 997 * r_out / (r_in * 1000 + a * 997);
        for (a, r_in, r_out) in
            [(1, 1, 1), (10, 1_000, 5_000), (123_456, 7_890_123, 4_567), (1 << 40, 1 << 41, 1 << 39)]
        {
            assert_eq!(amount_out(a, r_in, r_out, 30).unwrap(), v2(a, r_in, r_out));
        }
    }

    #[test]
    fn errors_name_what_is_wrong() {
        assert_eq!(amount_out(0, 1, 1, 30), Err(AmmError::ZeroInput));
        assert_eq!(amount_out(1, 0, 1, 30), Err(AmmError::EmptyReserve));
        assert_eq!(amount_out(1, 1, 1, 10_000), Err(AmmError::Fee(10_000)));
        assert_eq!(amount_in(5, 10, 5, 30), Err(AmmError::InsufficientLiquidity { wanted: 5, reserve: 5 }));
        assert!(matches!(amount_out(u128::MAX, u128::MAX, u128::MAX, 30), Err(AmmError::Overflow(_))));
        assert_eq!(Pool::new(1, 1, 30).unwrap().sell_in_chunks(1, 0), Err(AmmError::NoChunks));
    }

    #[test]
    fn round_ratio_rounds_half_away_once() {
        assert_eq!(round_ratio(U512::from(1u8), U512::from(8u8), 2).unwrap().to_string(), "0.13");
        assert_eq!(round_ratio(U512::from(1u8), U512::from(3u8), 2).unwrap().to_string(), "0.33");
        assert_eq!(round_ratio(U512::from(2u8), U512::from(3u8), 2).unwrap().to_string(), "0.67");
    }
}
