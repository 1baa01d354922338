//! The token's time-weighted average price on a Uniswap V2 pair, read from the chain.
//!
//! A V2 pair keeps a running sum of its price times the seconds it held
//! (`price0CumulativeLast`, `price1CumulativeLast`), updated whenever its reserves change and
//! announced by a `Sync` log carrying the new reserves. The counter is only stored at those
//! updates, so the value at any other instant (a local midnight) is formed from the `Sync` logs:
//! each interval adds the UQ112x112 price of the reserves that held during it times its length,
//! in the pair's own integer arithmetic (floor division, wrapping modulo 2^256). Before anything
//! is taken from the logs, the sum they give at the pair's last update must equal what the pair
//! itself stores, and the last reserves must equal `getReserves()`: a missed log or a different
//! pair contract is refused, never guessed around.
//!
//! Two such points `n` days apart give the pair's `n`-day TWAP; `tokencomp_compliance::fmv` turns
//! them into USD per token (the quote token is taken as one USD).

use std::path::Path;

use alloy_primitives::{Address, Bytes, TxKind, U256};
use alloy_sol_types::{SolConstructor, SolEvent};
use tokencomp_compliance::fmv::TwapPoint;
use tokencomp_evm::vendor::{UNISWAP_V2_FACTORY, UniswapV2Factory, UniswapV2Pair as Pair};
use tokencomp_evm::{TEST_TOKEN, TestToken};

use crate::backend::ChainLog;
use crate::ops::{Deployment, OpsError, Session};

/// The pair, oriented so that the price is quote tokens per token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool {
    pub pair: Address,
    pub token: Address,
    pub quote: Address,
    /// Whether the token is the pair's `token0` (its price is then `price0`: token1 per token0).
    pub token_is_0: bool,
    /// The token's and the quote token's decimals.
    pub decimals: (u8, u8),
}

/// One `Sync`: the reserves from this log's block time on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reserves {
    pub block: u64,
    pub timestamp: u64,
    pub reserve0: u128,
    pub reserve1: u128,
}

/// The pair's price history, checked against the pair's own counters.
#[derive(Clone, Debug)]
pub struct History {
    pub pool: Pool,
    pub syncs: Vec<Reserves>,
}

fn refused(pool: &Pool, why: String) -> OpsError {
    OpsError::Refused(format!("the pair {}: {why}", pool.pair))
}

/// Reads the pair's tokens and decimals; `token` must be one of the two.
pub fn pool(s: &mut Session<'_>, pair: Address, token: Address) -> Result<Pool, OpsError> {
    if s.backend.code(pair)?.is_empty() {
        return Err(OpsError::Refused(format!("the pair address {pair} has no code on {}", s.backend.describe())));
    }
    let read_err = |function: &str, e: alloy_primitives::Bytes| {
        OpsError::Refused(format!("the pair {pair}: {function} reverted (0x{}); is it a Uniswap V2 pair?", e))
    };
    let token0 = s.read(pair, &Pair::token0Call {})?.map_err(|e| read_err("token0()", e))?;
    let token1 = s.read(pair, &Pair::token1Call {})?.map_err(|e| read_err("token1()", e))?;
    let (token_is_0, quote) = match token {
        t if t == token0 => (true, token1),
        t if t == token1 => (false, token0),
        _ => {
            return Err(OpsError::Refused(format!(
                "the pair {pair} trades {token0} against {token1}, not the company's token {token}"
            )));
        }
    };
    let mut decimals = |t: Address| -> Result<u8, OpsError> {
        s.read(t, &TestToken::decimalsCall {})?
            .map_err(|_| OpsError::Refused(format!("the token {t} has no decimals()")))
    };
    let decimals = (decimals(token)?, decimals(quote)?);
    Ok(Pool { pair, token, quote, token_is_0, decimals })
}

/// The pair's `Sync` logs in chain order, from `logs` (every log of the pair since its creation).
pub fn history(pool: Pool, logs: &[ChainLog]) -> Result<History, OpsError> {
    let mut syncs = Vec::new();
    for l in logs.iter().filter(|l| l.log.address == pool.pair) {
        if l.log.topics().first() != Some(&Pair::Sync::SIGNATURE_HASH) {
            continue;
        }
        let e = Pair::Sync::decode_log(&l.log)
            .map_err(|e| refused(&pool, format!("a Sync log in block {} does not decode: {e}", l.block_number)))?;
        syncs.push(Reserves {
            block: l.block_number,
            timestamp: l.timestamp,
            reserve0: e.reserve0.to::<u128>(),
            reserve1: e.reserve1.to::<u128>(),
        });
    }
    Ok(History { pool, syncs })
}

/// The pair's UQ112x112 price of token0 in token1 (`price0`) or the reverse, as the pair computes
/// it: the numerator reserve shifted left 112 bits, divided by the other, rounded down.
fn uq_price(r: &Reserves, zero: bool) -> U256 {
    let (num, den) = if zero { (r.reserve1, r.reserve0) } else { (r.reserve0, r.reserve1) };
    (U256::from(num) << 112) / U256::from(den)
}

impl History {
    /// The pair's cumulative price (`price0` when `zero`) at `t`, with the block of the `Sync`
    /// that set the price in force just before `t` (an update at `t` itself adds nothing yet);
    /// `None` before the pair first held reserves, or while they are empty.
    pub fn cumulative_at(&self, t: u64, zero: bool) -> Option<(U256, u64)> {
        let before = self.syncs.partition_point(|r| r.timestamp < t);
        let Some(p) = before.checked_sub(1).map(|i| &self.syncs[i]) else {
            // The first liquidity lands at `t` exactly: the sum starts there.
            return self
                .syncs
                .first()
                .filter(|r| r.timestamp == t && r.reserve0 != 0 && r.reserve1 != 0)
                .map(|r| (U256::ZERO, r.block));
        };
        // A pair whose reserves were emptied has no price until it is refilled.
        if p.reserve0 == 0 || p.reserve1 == 0 {
            return None;
        }
        let sum = self.syncs[..before]
            .windows(2)
            .fold(U256::ZERO, |sum, w| sum.wrapping_add(self.term(&w[0], w[1].timestamp, zero)));
        Some((sum.wrapping_add(self.term(p, t, zero)), p.block))
    }

    /// What the interval from `p`'s time to `until` adds: nothing while a reserve is empty, as in
    /// the pair.
    fn term(&self, p: &Reserves, until: u64, zero: bool) -> U256 {
        if p.reserve0 == 0 || p.reserve1 == 0 {
            return U256::ZERO;
        }
        uq_price(p, zero).wrapping_mul(U256::from(until - p.timestamp))
    }

    /// Refuses unless the logs' sums equal the pair's stored counters and last reserves.
    pub fn verify(&self, s: &mut Session<'_>) -> Result<(), OpsError> {
        let pool = &self.pool;
        let stored = s
            .read(pool.pair, &Pair::getReservesCall {})?
            .map_err(|_| refused(pool, "getReserves() reverted".into()))?;
        let c0 = s
            .read(pool.pair, &Pair::price0CumulativeLastCall {})?
            .map_err(|_| refused(pool, "price0CumulativeLast() reverted".into()))?;
        let c1 = s
            .read(pool.pair, &Pair::price1CumulativeLastCall {})?
            .map_err(|_| refused(pool, "price1CumulativeLast() reverted".into()))?;
        let Some(last) = self.syncs.last() else {
            return Err(refused(pool, "it has never held reserves (no Sync log)".into()));
        };
        let (r0, r1) = (stored._reserve0.to::<u128>(), stored._reserve1.to::<u128>());
        if (r0, r1) != (last.reserve0, last.reserve1) {
            return Err(refused(
                pool,
                format!(
                    "its reserves are {r0} and {r1} but its last Sync log (block {}) says {} and {}; a log was missed",
                    last.block, last.reserve0, last.reserve1
                ),
            ));
        }
        // The stored counters include every interval up to the last update and nothing after.
        let upto = |zero: bool| {
            let mut sum = U256::ZERO;
            for w in self.syncs.windows(2) {
                sum = sum.wrapping_add(self.term(&w[0], w[1].timestamp, zero));
            }
            sum
        };
        for (zero, stored) in [(true, c0), (false, c1)] {
            let ours = upto(zero);
            if ours != stored {
                let which = if zero { "price0CumulativeLast" } else { "price1CumulativeLast" };
                return Err(refused(
                    pool,
                    format!("its {which} is {stored} but its Sync logs sum to {ours}; the logs are incomplete"),
                ));
            }
        }
        Ok(())
    }

    /// The token's point at instant `at` (the local midnight ending `date`), or `None` before the
    /// pair had a price.
    pub fn point(&self, at: u64) -> Option<TwapPoint> {
        let (cumulative, block) = self.cumulative_at(at, self.pool.token_is_0)?;
        Some(TwapPoint {
            pair: format!("{:#x}", self.pool.pair),
            at: i64::try_from(at).ok()?,
            cumulative,
            decimals: self.pool.decimals,
            block,
        })
    }
}

/// A demo market for a demo token: a Uniswap V2 factory, a demo quote token (six decimals, taken
/// as one USD) and the pair between them, recorded in `DATA/chain/<network>.market.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Market {
    pub factory: Address,
    pub quote: Address,
    pub pair: Address,
}

/// The demo quote token's decimals (as USDC's).
pub const DEMO_QUOTE_DECIMALS: u8 = 6;
/// The demo pair's depth: the token side of its first liquidity, in whole tokens.
const DEMO_DEPTH_TOKENS: u32 = 1_000_000;

impl Market {
    fn to_json(self) -> serde_json::Value {
        serde_json::json!({
            "factory": self.factory.to_string(),
            "quote": self.quote.to_string(),
            "pair": self.pair.to_string(),
        })
    }

    /// The record in `path`, if there is one.
    pub fn load(path: &Path) -> Result<Option<Market>, OpsError> {
        let bad = |message: String| OpsError::Deployment { path: path.display().to_string(), message };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
                let a = |k: &str| v.get(k).and_then(|x| x.as_str()).and_then(|x| x.parse::<Address>().ok());
                match (a("factory"), a("quote"), a("pair")) {
                    (Some(factory), Some(quote), Some(pair)) => Ok(Some(Market { factory, quote, pair })),
                    _ => Err(bad("not a market record".to_owned())),
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(bad(e.to_string())),
        }
    }

    fn save(self, path: &Path) -> Result<(), OpsError> {
        crate::files::write_atomic(path, &format!("{:#}\n", self.to_json()))
            .map_err(|e| OpsError::Deployment { path: path.display().to_string(), message: e.to_string() })
    }
}

/// Creates the demo market for the deployment's demo token once (later calls find the record).
pub fn demo_market(s: &mut Session<'_>, record: &Path, d: &Deployment) -> Result<Market, OpsError> {
    if let Some(m) = Market::load(record)? {
        if s.backend.code(m.pair)?.is_empty() {
            return Err(OpsError::Deployment {
                path: record.display().to_string(),
                message: format!("records a pair at {} but it has no code (was the chain reset?)", m.pair),
            });
        }
        return Ok(m);
    }
    if !d.demo_token {
        return Err(OpsError::Refused(
            "a demo market needs the demo token (`chain deploy --demo-token`); for the company's own token, pass the \
             address of its Uniswap V2 pair with --pair"
                .into(),
        ));
    }
    let ctor = TestToken::constructorCall {
        name_: "USD Coin (demo)".into(),
        symbol_: "USDC".into(),
        decimals_: DEMO_QUOTE_DECIMALS,
    };
    let code =
        [TEST_TOKEN.bytecode().map_err(|e| OpsError::Refused(e.to_string()))?.as_ref(), &ctor.abi_encode()].concat();
    let quote = s
        .send("deploy the demo quote token (USDC)".into(), TxKind::Create, Bytes::from(code))?
        .contract_address
        .ok_or_else(|| OpsError::Refused("the quote token deployment made no contract".into()))?;
    let ctor = UniswapV2Factory::constructorCall { _feeToSetter: s.key.address() };
    let code =
        [UNISWAP_V2_FACTORY.bytecode().map_err(|e| OpsError::Refused(e.to_string()))?.as_ref(), &ctor.abi_encode()]
            .concat();
    let factory = s
        .send("deploy UniswapV2Factory".into(), TxKind::Create, Bytes::from(code))?
        .contract_address
        .ok_or_else(|| OpsError::Refused("the factory deployment made no contract".into()))?;
    s.call(
        "create the token/USDC pair".into(),
        factory,
        &UniswapV2Factory::createPairCall { tokenA: d.token, tokenB: quote },
    )?;
    let pair = s
        .read(factory, &UniswapV2Factory::getPairCall { _0: d.token, _1: quote })?
        .map_err(|_| OpsError::Refused("getPair reverted".into()))?;
    let m = Market { factory, quote, pair };
    m.save(record)?;
    Ok(m)
}

/// Moves the demo pair's price to `num / 10^scale` quote tokens per whole token, by minting
/// demo tokens to the pair and calling `sync()` (or, the first time, adding liquidity): reserves
/// only grow, and the ratio lands within one base unit (of either token) of the target. Returns whether anything
/// was sent. With `at`, the mints land in the seconds before it and the price changes at `at`
/// exactly (when the chain's head allows).
pub fn set_demo_price(
    s: &mut Session<'_>,
    pool: &Pool,
    num: u128,
    scale: u32,
    at: Option<u64>,
) -> Result<bool, OpsError> {
    if num == 0 {
        return Err(refused(pool, "a demo price must be above zero".into()));
    }
    let stored =
        s.read(pool.pair, &Pair::getReservesCall {})?.map_err(|_| refused(pool, "getReserves() reverted".into()))?;
    let (r0, r1) = (U256::from(stored._reserve0.to::<u128>()), U256::from(stored._reserve1.to::<u128>()));
    let (x, y) = if pool.token_is_0 { (r0, r1) } else { (r1, r0) };
    let (dt, dq) = (u32::from(pool.decimals.0), u32::from(pool.decimals.1));
    // Target y/x = N/D with N = num * 10^dq and D = 10^(scale + dt).
    let ten = U256::from(10);
    let n = U256::from(num) * ten.pow(U256::from(dq));
    let den = ten.pow(U256::from(scale + dt));
    let (have, want) = (y * den, n * x);
    let (x2, y2) = if x.is_zero() || y.is_zero() {
        let x2 = U256::from(DEMO_DEPTH_TOKENS) * ten.pow(U256::from(dt));
        (x2, (n * x2).div_ceil(den))
    } else if have.abs_diff(want) < den.max(n) {
        // Within one base unit of either side: the price is already set.
        return Ok(false);
    } else if have < want {
        (x, want.div_ceil(den))
    } else {
        (have / n, y)
    };
    let limit = U256::from(1) << 112;
    if x2 >= limit || y2 >= limit {
        return Err(refused(pool, "the demo price would take a reserve past 2^112".into()));
    }
    let mints: Vec<_> = [(pool.token, x, x2, "token"), (pool.quote, y, y2, "quote token")]
        .into_iter()
        .filter(|(_, have, want, _)| want > have)
        .collect();
    let mut before = mints.len() as u64;
    for (token, have, want, what) in mints {
        s.at = at.map(|t| t.saturating_sub(before));
        before -= 1;
        s.call(
            format!("mint demo {what} to the pair"),
            token,
            &TestToken::mintCall { to: pool.pair, amount: want - have },
        )?;
    }
    s.at = at;
    if x.is_zero() || y.is_zero() {
        s.call("add the demo liquidity".into(), pool.pair, &Pair::mintCall { to: s.key.address() })?;
    } else {
        s.call("sync the pair's reserves".into(), pool.pair, &Pair::syncCall {})?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(syncs: &[(u64, u128, u128)]) -> History {
        let pool = Pool {
            pair: Address::ZERO,
            token: Address::ZERO,
            quote: Address::ZERO,
            token_is_0: true,
            decimals: (18, 6),
        };
        let syncs = syncs
            .iter()
            .enumerate()
            .map(|(i, &(timestamp, reserve0, reserve1))| Reserves {
                block: i as u64 + 1,
                timestamp,
                reserve0,
                reserve1,
            })
            .collect();
        History { pool, syncs }
    }

    #[test]
    fn sums_price_times_seconds_as_the_pair_does() {
        // Price 2 for 10 s, then 3 from t = 110 on; the second update in the same second adds nothing.
        let h = h(&[(100, 1, 2), (110, 10, 30), (110, 1, 3)]);
        let one = U256::from(1) << 112;
        assert_eq!(h.cumulative_at(99, true), None);
        assert_eq!(h.cumulative_at(100, true), Some((U256::ZERO, 1)));
        assert_eq!(h.cumulative_at(105, true), Some((one * U256::from(10), 1)));
        assert_eq!(h.cumulative_at(110, true), Some((one * U256::from(20), 1)));
        assert_eq!(h.cumulative_at(120, true), Some((one * U256::from(20 + 30), 3)));
        // price1 is the reciprocal, floored: 2^112 / 3 per second from t = 110.
        assert_eq!(
            h.cumulative_at(111, false),
            Some(((one / U256::from(2)) * U256::from(10) + one / U256::from(3), 3))
        );
    }

    #[test]
    fn an_emptied_pair_has_no_price_and_adds_nothing() {
        let h = h(&[(100, 1, 2), (110, 0, 0), (130, 1, 1)]);
        assert_eq!(h.cumulative_at(120, true), None);
        let one = U256::from(1) << 112;
        assert_eq!(h.cumulative_at(140, true), Some((one * U256::from(20) + one * U256::from(10), 3)));
    }
}
