//! The engine's constant-product math (`tokencomp_core::amm`) against a real Uniswap V2 pair:
//! the vendored factory and pair bytecode, deployed on the embedded chain.
//!
//! For each case the pair must accept the engine's `amount_out` and refuse one unit more with
//! its own `UniswapV2: K`, and its reserves after every swap must equal the engine's pool, so
//! every pool state the engine reports is one a real pair reaches.

use alloy_primitives::{Address, Bytes, U256, address};
use alloy_sol_types::{SolCall, SolConstructor, SolError};
use jiff::civil::date;
use proptest::prelude::*;
use tokencomp_core::amm::{Pool, Recovery, UnlockSales, amount_out, sell_unlocks};
use tokencomp_evm::vendor::{UNISWAP_V2_FACTORY, UniswapV2Factory, UniswapV2Pair};
use tokencomp_evm::{Chain, TEST_TOKEN, TestToken};

use crate::harness::{DEPLOYER, GENESIS, deploy};

const LP: Address = address!("0000000000000000000000000000000000000a11");
const SELLER: Address = address!("0000000000000000000000000000000000000a22");

/// A fresh chain with a token (18 decimals), a quote token (6) and their pair holding the
/// given reserves.
struct Market {
    chain: Chain,
    token: Address,
    quote: Address,
    pair: Address,
    /// Whether the token sorts first in the pair (`token0`).
    token_first: bool,
}

impl Market {
    fn new(token_reserve: u128, quote_reserve: u128) -> Market {
        let mut chain = Chain::new(31337, GENESIS);
        let erc20 = |chain: &mut Chain, symbol: &str, decimals: u8| {
            let args = TestToken::constructorCall { name_: symbol.into(), symbol_: symbol.into(), decimals_: decimals }
                .abi_encode();
            deploy(chain, DEPLOYER, TEST_TOKEN.bytecode().unwrap(), args)
        };
        let token = erc20(&mut chain, "NET", 18);
        let quote = erc20(&mut chain, "USDC", 6);
        let args = UniswapV2Factory::constructorCall { _feeToSetter: DEPLOYER }.abi_encode();
        let factory = deploy(&mut chain, DEPLOYER, UNISWAP_V2_FACTORY.bytecode().unwrap(), args);
        let mut m = Market { chain, token, quote, pair: Address::ZERO, token_first: false };
        m.ok(factory, &UniswapV2Factory::createPairCall { tokenA: token, tokenB: quote });
        m.pair = m.chain.call(DEPLOYER, factory, &UniswapV2Factory::getPairCall { _0: token, _1: quote }).unwrap();
        m.token_first = m.chain.call(DEPLOYER, m.pair, &UniswapV2Pair::token0Call {}).unwrap() == token;
        m.pay(token, token_reserve);
        m.pay(quote, quote_reserve);
        let pair = m.pair;
        m.ok(pair, &UniswapV2Pair::mintCall { to: LP });
        assert_eq!(m.reserves(), (token_reserve, quote_reserve));
        m
    }

    fn ok<C: SolCall>(&mut self, to: Address, call: &C) {
        let r = self.chain.send(SELLER, to, call).unwrap();
        assert!(r.success, "{} reverted with {}", C::SIGNATURE, r.output);
    }

    /// Puts `amount` of `erc20` into the pair (minted straight to it: the same balance as a transfer).
    fn pay(&mut self, erc20: Address, amount: u128) {
        let pair = self.pair;
        self.ok(erc20, &TestToken::mintCall { to: pair, amount: U256::from(amount) });
    }

    /// (token reserve, quote reserve) as the pair stores them.
    fn reserves(&mut self) -> (u128, u128) {
        let r = self.chain.call(SELLER, self.pair, &UniswapV2Pair::getReservesCall {}).unwrap();
        let (r0, r1) = (u128::try_from(r._reserve0).unwrap(), u128::try_from(r._reserve1).unwrap());
        if self.token_first { (r0, r1) } else { (r1, r0) }
    }

    /// Asks the pair for `out` of `side` (already paid for); returns the receipt's success and output.
    fn swap(&mut self, side: Address, out: u128) -> (bool, Bytes) {
        let out = U256::from(out);
        let token_out = (side == self.token) == self.token_first;
        let (first, second) = if token_out { (out, U256::ZERO) } else { (U256::ZERO, out) };
        let call = UniswapV2Pair::swapCall { amount0Out: first, amount1Out: second, to: SELLER, data: Bytes::new() };
        let r = self.chain.send(SELLER, self.pair, &call).unwrap();
        (r.success, r.output)
    }

    /// Pays `amount_in` of one side and takes `out` of the other: `out + 1` must be refused
    /// with the pair's K error, then `out` accepted. An output of zero is no swap (the pair
    /// refuses one), so the payment is a donation the pair takes into its reserves by `sync`,
    /// which is what the engine's pool does with it.
    fn exact_swap(&mut self, pay: Address, amount_in: u128, take: Address, out: u128) {
        self.pay(pay, amount_in);
        let (success, output) = self.swap(take, out + 1);
        assert!(!success, "the pair paid {} for {amount_in}, one more than the engine's {out}", out + 1);
        assert_eq!(output, Bytes::from(k_error()), "one unit over must fail the K check");
        if out > 0 {
            let (success, output) = self.swap(take, out);
            assert!(success, "the pair refused the engine's {out} for {amount_in}: {output}");
        } else {
            let pair = self.pair;
            self.ok(pair, &UniswapV2Pair::syncCall {});
        }
    }

    fn pool(&mut self) -> Pool {
        let (t, q) = self.reserves();
        Pool::uniswap_v2(t, q).unwrap()
    }
}

/// Replays `plan` on a fresh pair, swap by swap, checking the reserves after each.
fn replay(plan: &UnlockSales) {
    let mut m = Market::new(plan.start.token_reserve, plan.start.quote_reserve);
    let (token, quote) = (m.token, m.quote);
    for month in &plan.months {
        if let Some(arb) = month.arbitrage {
            m.exact_swap(quote, arb.quote_in, token, arb.tokens_out);
            assert_eq!(m.pool(), arb.pool_after, "after the arbitrage before {}", month.month);
        }
        for fill in &month.sale.fills {
            m.exact_swap(token, fill.tokens_in, quote, fill.quote_out);
            assert_eq!(m.pool(), fill.pool_after, "after a fill in {}", month.month);
        }
    }
    assert_eq!(m.pool(), plan.end);
}

/// Three months of 50,000 tokens into 1,000,000 tokens / 500,000 USDC, 4 swaps each, with the
/// price fully and then half restored between months: every swap, the arbitrageur's included,
/// is one the pair accepts and lands on the engine's reserves.
#[test]
fn a_team_schedule_with_recovery_replays_exactly() {
    let start = Pool::uniswap_v2(1_000_000 * 10u128.pow(18), 500_000 * 10u128.pow(6)).unwrap();
    let unlocks: Vec<_> = (1..=3).map(|m| (date(2026, m, 1), 50_000 * 10u128.pow(18))).collect();
    for restore in [Recovery::FULL, Recovery { restore_bps: 5_000 }, Recovery::NONE] {
        let plan = sell_unlocks(&start, &unlocks, 4, restore).unwrap();
        assert_eq!(plan.months[1].arbitrage.is_some(), restore != Recovery::NONE);
        assert_eq!(plan.months.iter().map(|m| m.sale.fills.len()).sum::<usize>(), 12);
        replay(&plan);
    }
}

fn k_error() -> Vec<u8> {
    alloy_sol_types::Revert { reason: "UniswapV2: K".into() }.abi_encode()
}

/// Reserves a pair can hold (above its locked MINIMUM_LIQUIDITY, far below uint112).
fn reserve() -> impl Strategy<Value = u128> {
    prop_oneof![10_000u128..10_000_000, 10_000u128..(1 << 100)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// One sale: the pair pays exactly the engine's amount and reaches the engine's pool.
    #[test]
    fn the_pair_pays_exactly_amount_out(x in reserve(), y in reserve(), scale in 0u32..4, raw in 1u128..(1 << 100)) {
        // Up to 1,000 times the reserve, so one unit over the output is still below the reserve
        // (the pair checks liquidity before K).
        let amount_in = raw % (x * 10u128.pow(scale)) + 1;
        let mut m = Market::new(x, y);
        let (token, quote) = (m.token, m.quote);
        let out = amount_out(amount_in, x, y, 30).unwrap();
        m.exact_swap(token, amount_in, quote, out);
        let (_, after) = Pool::uniswap_v2(x, y).unwrap().sell(amount_in).unwrap();
        prop_assert_eq!(m.pool(), after);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Months of chunked sales with the arbitrageur's buy-backs between them, replayed swap by
    /// swap: after each one the pair's reserves equal the engine's pool.
    #[test]
    fn unlock_sales_replay_on_the_pair(
        x in 1_000_000u128..(1 << 96),
        y in 1_000_000u128..(1 << 96),
        months in proptest::collection::vec(1u128..1_000, 1..4),
        chunks in 1u32..4,
        restore in prop_oneof![Just(0u32), Just(10_000u32), 0u32..=10_000],
    ) {
        // Each month sells between 0.1% and 100% of the starting token reserve.
        let unlocks: Vec<_> =
            months.iter().zip(1i8..).map(|(&permille, m)| (date(2026, m, 1), x / 1_000 * permille + 1)).collect();
        let start = Pool::uniswap_v2(x, y).unwrap();
        let plan = sell_unlocks(&start, &unlocks, chunks, Recovery { restore_bps: restore }).unwrap();
        replay(&plan);
        prop_assert!(plan.proceeds <= plan.paper_value);
    }
}
