//! The TWAP's cumulative prices, formed from a Uniswap V2 pair's `Sync` logs, against the real
//! pair bytecode: after every liquidity change, swap, donation, burn and skim at random times,
//! the logs' sums equal the pair's own `price0CumulativeLast` and `price1CumulativeLast`; a sum
//! formed for an instant between updates equals what the pair stores when a `sync()` lands at
//! that instant; and a history missing one log is refused.

use alloy_primitives::{Address, Bytes, U256};
use tokencomp_chain::ops::{self, DeployArgs, Session};
use tokencomp_chain::twap::{self, History, Pool};
use tokencomp_chain::{Embedded, Key};
use tokencomp_evm::TestToken;
use tokencomp_evm::vendor::UniswapV2Pair as Pair;

use crate::{GENESIS, KEY};

/// splitmix64: a fixed, seedable sequence, so a failure names its seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn history(s: &mut Session<'_>, pool: Pool) -> History {
    let logs = s.backend.logs(pool.pair, 0).unwrap();
    twap::history(pool, &logs).unwrap()
}

fn stored(s: &mut Session<'_>, pair: Address) -> (U256, U256, u128, u128) {
    let c0 = s.read(pair, &Pair::price0CumulativeLastCall {}).unwrap().unwrap();
    let c1 = s.read(pair, &Pair::price1CumulativeLastCall {}).unwrap().unwrap();
    let r = s.read(pair, &Pair::getReservesCall {}).unwrap().unwrap();
    (c0, c1, r._reserve0.to::<u128>(), r._reserve1.to::<u128>())
}

fn mint(s: &mut Session<'_>, token: Address, to: Address, amount: u128) {
    s.call("mint".into(), token, &TestToken::mintCall { to, amount: U256::from(amount) }).unwrap();
}

#[test]
fn log_sums_equal_the_pairs_own_cumulative_prices_at_every_step() {
    let key = Key::from_hex(KEY, "test").unwrap();
    let me = key.address();
    for seed in 1..=3u64 {
        let dir = tempfile::tempdir().unwrap();
        let mut chain = Embedded::open(&dir.path().join("chain/embedded.json"), 31337, GENESIS).unwrap();
        let mut s = Session::new(&mut chain, &key);
        let args = DeployArgs {
            token: None,
            demo_symbol: "NET".into(),
            demo_decimals: 18,
            demo_supply: 1,
            admin: me,
            treasury: me,
            tax_wallet: Address::repeat_byte(0x7a),
        };
        let d = ops::deploy(&mut s, &dir.path().join("chain/d.json"), &args).unwrap();
        let m = twap::demo_market(&mut s, &dir.path().join("chain/m.json"), &d).unwrap();
        let pool = twap::pool(&mut s, m.pair, d.token).unwrap();
        assert_eq!(pool.decimals, (18, twap::DEMO_QUOTE_DECIMALS));
        assert_eq!(pool.quote, m.quote);
        // Before any liquidity there is no price and nothing to verify against.
        assert!(history(&mut s, pool).cumulative_at(GENESIS + 10_000, true).is_none());

        let mut rng = Rng(seed);
        let mut t = GENESIS + 1_000;
        assert!(twap::set_demo_price(&mut s, &pool, 42, 2, None).unwrap());
        let mut between_checked = 0;
        for step in 0..40 {
            t += rng.below(3 * 86_400) + 1;
            s.at = Some(t);
            let (_, _, r0, r1) = stored(&mut s, m.pair);
            let (token0, token1) = if pool.token_is_0 { (pool.token, pool.quote) } else { (pool.quote, pool.token) };
            match rng.below(5) {
                // A swap in either direction, sized as the pair's 0.3% fee formula allows.
                0 | 1 => {
                    let zero_in = rng.below(2) == 0;
                    let (rin, rout, tin) = if zero_in { (r0, r1, token0) } else { (r1, r0, token1) };
                    let ain = rin / 100 * u128::from(rng.below(50) + 1);
                    let (a, ri, ro) = (U256::from(ain), U256::from(rin), U256::from(rout));
                    let out = (a * U256::from(997) * ro / (ri * U256::from(1000) + a * U256::from(997))).to::<u128>();
                    mint(&mut s, tin, m.pair, ain);
                    let (a0, a1) = if zero_in { (0, out) } else { (out, 0) };
                    let call = Pair::swapCall {
                        amount0Out: U256::from(a0),
                        amount1Out: U256::from(a1),
                        to: me,
                        data: Bytes::new(),
                    };
                    s.call("swap".into(), m.pair, &call).unwrap();
                }
                // Liquidity added at the current ratio (give or take).
                2 => {
                    let k = u128::from(rng.below(20) + 1);
                    mint(&mut s, token0, m.pair, r0 / 10 * k);
                    mint(&mut s, token1, m.pair, r1 / 10 * k + 1);
                    s.call("add liquidity".into(), m.pair, &Pair::mintCall { to: me }).unwrap();
                }
                // Part of the liquidity burned.
                3 => {
                    let lp = s.read(m.pair, &Pair::balanceOfCall(me)).unwrap().unwrap();
                    let part = lp / U256::from(rng.below(4) + 2);
                    s.call("send LP".into(), m.pair, &Pair::transferCall { to: m.pair, value: part }).unwrap();
                    s.call("burn".into(), m.pair, &Pair::burnCall { to: me }).unwrap();
                }
                // A donation synced, or a bare sync: the check of an instant between updates.
                _ => {
                    let before = history(&mut s, pool);
                    // The sync lands at exactly `t` (the session's next block time).
                    let (f0, _) = before.cumulative_at(t, true).unwrap();
                    let (f1, _) = before.cumulative_at(t, false).unwrap();
                    if rng.below(2) == 0 {
                        mint(&mut s, token0, m.pair, r0 / 50);
                        // A skim of nothing changes nothing and emits no Sync.
                        s.call("skim".into(), m.pair, &Pair::skimCall { to: me }).unwrap();
                    } else {
                        s.call("sync".into(), m.pair, &Pair::syncCall {}).unwrap();
                        let (c0, c1, _, _) = stored(&mut s, m.pair);
                        assert_eq!((c0, c1), (f0, f1), "seed {seed} step {step}: the sum at {t} before the sync");
                        between_checked += 1;
                    }
                }
            }
            let h = history(&mut s, pool);
            h.verify(&mut s).unwrap_or_else(|e| panic!("seed {seed} step {step}: {e}"));
            t = s.backend.head().unwrap().timestamp;
        }
        assert!(between_checked > 0, "seed {seed} never checked an instant between updates");

        // One log missing: the sums (or the last reserves) no longer match, and it is refused.
        let mut h = history(&mut s, pool);
        assert!(h.syncs.len() > 10);
        // A log whose price differs from the one before it (a log that repeats the price, as
        // liquidity added at the ratio may, changes no sum).
        let uq = |r: &tokencomp_chain::twap::Reserves| (U256::from(r.reserve1) << 112) / U256::from(r.reserve0);
        let i = (2..h.syncs.len() - 1).find(|&i| uq(&h.syncs[i]) != uq(&h.syncs[i - 1])).unwrap();
        h.syncs.remove(i);
        let e = h.verify(&mut s).unwrap_err().to_string();
        assert!(e.contains("the logs are incomplete"), "{e}");
        let mut h = history(&mut s, pool);
        h.syncs.pop();
        let e = h.verify(&mut s).unwrap_err().to_string();
        assert!(e.contains("a log was missed"), "{e}");
    }
}

#[test]
fn a_demo_price_lands_within_a_base_unit_and_a_foreign_token_is_refused() {
    let key = Key::from_hex(KEY, "test").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Embedded::open(&dir.path().join("chain/embedded.json"), 31337, GENESIS).unwrap();
    let mut s = Session::new(&mut chain, &key);
    let args = DeployArgs {
        token: None,
        demo_symbol: "NET".into(),
        demo_decimals: 18,
        demo_supply: 1,
        admin: key.address(),
        treasury: key.address(),
        tax_wallet: Address::repeat_byte(0x7a),
    };
    let d = ops::deploy(&mut s, &dir.path().join("chain/d.json"), &args).unwrap();
    let record = dir.path().join("chain/m.json");
    let m = twap::demo_market(&mut s, &record, &d).unwrap();
    // Found again, not repeated.
    let sent = s.sent.len();
    assert_eq!(twap::demo_market(&mut s, &record, &d).unwrap(), m);
    assert_eq!(s.sent.len(), sent);
    let pool = twap::pool(&mut s, m.pair, d.token).unwrap();
    // 0.42, up to 1.37215, down to 0.0031 USDC per token: quote units per token unit is the
    // price times 10^(6-18); the reserves hold it within one base unit of the quote.
    for (num, scale) in [(42u128, 2u32), (137_215, 5), (31, 4)] {
        assert!(twap::set_demo_price(&mut s, &pool, num, scale, None).unwrap());
        let (_, _, r0, r1) = stored(&mut s, m.pair);
        let (x, y) = if pool.token_is_0 { (r0, r1) } else { (r1, r0) };
        // y / x = num / 10^(scale+12) within a base unit of either token:
        // |y * 10^(scale+12) - num * x| < max(10^(scale+12), num).
        let lhs = U256::from(y) * U256::from(10).pow(U256::from(scale + 12));
        let rhs = U256::from(num) * U256::from(x);
        let diff = if lhs > rhs { lhs - rhs } else { rhs - lhs };
        assert!(
            diff < U256::from(10).pow(U256::from(scale + 12)).max(U256::from(num)),
            "{num}e-{scale}: off by {diff}"
        );
        // Setting the same price again sends nothing.
        assert!(!twap::set_demo_price(&mut s, &pool, num, scale, None).unwrap());
    }
    let e = twap::pool(&mut s, m.pair, Address::repeat_byte(9)).unwrap_err().to_string();
    assert!(e.contains("not the company's token"), "{e}");
    let e = twap::pool(&mut s, Address::repeat_byte(9), d.token).unwrap_err().to_string();
    assert!(e.contains("has no code"), "{e}");
}
