//! Constant-product liquidity: hand-worked goldens and the invariants of selling into a pool.

// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used)]

use std::str::FromStr;

use jiff::civil::date;
use proptest::prelude::*;
use tokencomp_core::amm::{AmmError, Pool, Recovery, amount_in, amount_out, quote_to_decimal, sell_unlocks};
use tokencomp_money::{Decimal, Token};

const TOKEN: u128 = 1_000_000_000_000_000_000; // 18 decimals
const USDC: u128 = 1_000_000; // 6 decimals

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal literal")
}

fn net() -> Token {
    Token::new("NET", 18).expect("valid")
}

fn usdc() -> Token {
    Token::new("USDC", 6).expect("valid")
}

/// 1,000,000 tokens against 500,000 USDC: spot $0.50.
fn pool() -> Pool {
    Pool::uniswap_v2(1_000_000 * TOKEN, 500_000 * USDC).expect("valid")
}

/// Selling 10,000 tokens (10^22 base units) into the pool, by hand:
/// in_with_fee = 10^22 × 9970 = 9.97·10^25;
/// numerator   = 9.97·10^25 × 5·10^11 (the USDC reserve) = 4.985·10^37;
/// denominator = 10^24 × 10^4 + 9.97·10^25 = 1.00997·10^28;
/// out = 4.985·10^37 / 1.00997·10^28 = 4,935,790,171.98… → 4,935,790,171 units = 4,935.790171 USDC.
/// Paper value 10,000 × $0.50 = 5,000 USDC; shortfall 64,209,829 units = 64.209829 USDC,
/// a share of 64,209,829 / 5·10^9 = 0.0128419658 → 0.01284197 (8 places, half up).
/// Average price 4,935.790171 / 10,000 = 0.4935790171 → 0.49357902.
#[test]
fn selling_ten_thousand_tokens_golden() {
    let sale = pool().sell_in_chunks(10_000 * TOKEN, 1).unwrap();
    assert_eq!(sale.proceeds, 4_935_790_171);
    assert_eq!(sale.paper_value, 5_000 * USDC);
    assert_eq!(sale.after, Pool { token_reserve: 1_010_000 * TOKEN, quote_reserve: 495_064_209_829, fee_bps: 30 });
    let ill = sale.illusion().unwrap();
    assert_eq!((ill.paper_value, ill.realizable, ill.shortfall), (5_000_000_000, 4_935_790_171, 64_209_829));
    assert_eq!(ill.share, d("0.01284197"));
    assert_eq!(sale.price_impact().unwrap(), d("0.01284197"));
    assert_eq!(sale.average_price(&net(), &usdc()).unwrap(), d("0.49357902"));
    assert_eq!(quote_to_decimal(&usdc(), sale.proceeds).unwrap(), d("4935.790171"));
    assert_eq!(quote_to_decimal(&usdc(), ill.shortfall).unwrap(), d("64.209829"));
    assert_eq!(pool().spot_price(&net(), &usdc()).unwrap(), d("0.5"));
    // Spot after: 495,064.209829 / 1,010,000 = 0.49016258…; it fell by
    // 1 − 495,064.209829 / (0.5 × 1,010,000) = 1 − 0.98032516… = 0.01967483(20…) → 0.01967483.
    assert_eq!(sale.spot_move().unwrap(), d("0.01967483"));
}

/// The same 10,000 tokens in two swaps of 5,000:
/// first  = 5·10^21·9970·5·10^11 / (10^28 + 4.985·10^25) = 2,480,136,519.6… → 2,480,136,519;
/// pool  → 1,005,000 tokens, 497,519,863,481 units;
/// second = 4.985·10^25·497,519,863,481 / (1.005·10^28 + 4.985·10^25) = 2,455,617,181.…
/// total 4,935,753,700: 36,471 units (0.036471 USDC) less than one swap, the first chunk's fee
/// having stayed in the pool against the second.
#[test]
fn splitting_the_golden_sale_fetches_less() {
    let split = pool().sell_in_chunks(10_000 * TOKEN, 2).unwrap();
    let fills: Vec<(u128, u128)> = split.fills.iter().map(|f| (f.tokens_in, f.quote_out)).collect();
    assert_eq!(fills, [(5_000 * TOKEN, 2_480_136_519), (5_000 * TOKEN, 2_455_617_181)]);
    assert_eq!(split.proceeds, 4_935_753_700);
    assert_eq!(split.after.quote_reserve, 500_000 * USDC - 4_935_753_700);

    // The same as two months of 5,000 with no recovery, and unlocks in one month are summed.
    let unlocks =
        [(date(2026, 2, 1), 5_000 * TOKEN), (date(2026, 1, 10), 2_000 * TOKEN), (date(2026, 1, 31), 3_000 * TOKEN)];
    let s = sell_unlocks(&pool(), &unlocks, 1, Recovery::NONE).unwrap();
    assert_eq!(s.months.len(), 2);
    assert_eq!(s.months[0].month, date(2026, 1, 1));
    assert_eq!((s.months[0].sale.proceeds, s.months[1].sale.proceeds), (2_480_136_519, 2_455_617_181));
    assert_eq!(s.proceeds, 4_935_753_700);
    assert_eq!(s.paper_value, 5_000 * USDC);
    assert_eq!(s.illusion().unwrap().shortfall, 64_246_300);
    assert!(s.months.iter().all(|m| m.arbitrage.is_none()));
}

/// Chunks of unequal remainder: 10 units in 3 chunks are 4, 3, 3.
#[test]
fn chunks_spread_the_remainder_first() {
    let sale = Pool::uniswap_v2(1_000_000, 1_000_000).unwrap().sell_in_chunks(10, 3).unwrap();
    let sizes: Vec<u128> = sale.fills.iter().map(|f| f.tokens_in).collect();
    assert_eq!(sizes, [4, 3, 3]);
    // More chunks than units: the empty ones are skipped.
    assert_eq!(Pool::uniswap_v2(100, 100).unwrap().sell_in_chunks(2, 5).unwrap().fills.len(), 2);
}

/// V2's getAmountIn, by hand: to take 1,000 USDC units out of (1,000,000 tokens, 1,000,000 USDC)
/// at 0.3%: 1,000,000·1,000·10,000 / (999,000·9,970) = 1,004.0141… → 1,004, + 1 = 1,005.
#[test]
fn amount_in_golden() {
    assert_eq!(amount_in(1_000, 1_000_000, 1_000_000, 30).unwrap(), 1_005);
    assert_eq!(amount_out(1_005, 1_000_000, 1_000_000, 30).unwrap(), 1_000);
    assert_eq!(amount_out(1_004, 1_000_000, 1_000_000, 30).unwrap(), 999);
}

#[test]
fn full_recovery_brings_the_price_back_without_overshooting() {
    let unlocks = [(date(2026, 1, 1), 50_000 * TOKEN), (date(2026, 2, 1), 50_000 * TOKEN)];
    let none = sell_unlocks(&pool(), &unlocks, 1, Recovery::NONE).unwrap();
    let full = sell_unlocks(&pool(), &unlocks, 1, Recovery::FULL).unwrap();
    let half = sell_unlocks(&pool(), &unlocks, 1, Recovery { restore_bps: 5_000 }).unwrap();
    let arb = full.months[1].arbitrage.expect("the price fell, so an arbitrageur buys");
    let start = pool();
    // At or below the starting price (q·T ≤ Q·t) and one more unit of quote would pass it.
    let below = |p: &Pool| p.quote_reserve * start.token_reserve <= start.quote_reserve * p.token_reserve;
    assert!(below(&arb.pool_after));
    let before = full.months[0].sale.after;
    assert!(!below(&before.buy(arb.quote_in + 1).unwrap().1));
    assert_eq!(before.buy(arb.quote_in).unwrap(), (arb.tokens_out, arb.pool_after));
    // Half-way back takes a smaller buy.
    let h = half.months[1].arbitrage.unwrap();
    assert!(h.quote_in < arb.quote_in);
    // More recovery, more proceeds; the first month is the same in all three.
    assert_eq!(none.months[0], full.months[0]);
    assert!(none.proceeds < half.proceeds && half.proceeds < full.proceeds);
    assert!(full.proceeds <= full.paper_value);
    assert_eq!(sell_unlocks(&pool(), &unlocks, 1, Recovery { restore_bps: 10_001 }), Err(AmmError::Recovery(10_001)));
}

fn reserves() -> impl Strategy<Value = (u128, u128)> {
    // Up to 2^100 base units a side: beyond any real pool, well inside U256 products.
    (1u128..(1 << 100), 1u128..(1 << 100))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// More in, more out; the average price only falls, up to the output's floor:
    /// for a < b, out(b)/b ≤ exact(b)/b < exact(a)/a < (out(a) + 1)/a.
    #[test]
    fn more_in_more_out_at_a_lower_price((x, y) in reserves(), a in 1u128..(1 << 90), extra in 1u128..(1 << 90), fee in 0u32..1_000) {
        let b = a + extra;
        let oa = amount_out(a, x, y, fee).unwrap();
        let ob = amount_out(b, x, y, fee).unwrap();
        prop_assert!(oa <= ob);
        prop_assert!(ob < y);
        prop_assert!(ruint::aliases::U256::from(ob) * ruint::aliases::U256::from(a)
            < ruint::aliases::U256::from(oa + 1) * ruint::aliases::U256::from(b));
    }

    /// Splitting a sale never fetches more than one swap; with no fee, only the floors of the
    /// chunks separate them (less than one unit per chunk).
    #[test]
    fn splitting_never_fetches_more((x, y) in reserves(), tokens in 1u128..(1 << 100), chunks in 1u32..24, fee in 0u32..1_000) {
        let pool = Pool::new(x, y, fee).unwrap();
        let one = pool.sell_in_chunks(tokens, 1).unwrap();
        let split = pool.sell_in_chunks(tokens, chunks).unwrap();
        prop_assert!(split.proceeds <= one.proceeds);
        prop_assert_eq!(split.fills.iter().map(|f| f.tokens_in).sum::<u128>(), tokens);
        prop_assert_eq!(split.fills.iter().map(|f| f.quote_out).sum::<u128>(), split.proceeds);
        prop_assert_eq!(split.after.quote_reserve, y - split.proceeds);
        if fee == 0 {
            prop_assert!(split.proceeds + u128::from(chunks) > one.proceeds);
        }
    }

    /// Whatever the chunks and the recovery, the proceeds never exceed the paper value.
    #[test]
    fn proceeds_never_exceed_paper_value(
        (x, y) in reserves(),
        months in proptest::collection::vec(1u128..(1 << 96), 1..6),
        chunks in 1u32..5,
        restore in 0u32..=10_000,
    ) {
        let pool = Pool::uniswap_v2(x, y).unwrap();
        let unlocks: Vec<_> = months.iter().zip(1i8..).map(|(&t, m)| (date(2026, m, 15), t)).collect();
        let s = sell_unlocks(&pool, &unlocks, chunks, Recovery { restore_bps: restore }).unwrap();
        prop_assert!(s.proceeds <= s.paper_value);
        let ill = s.illusion().unwrap();
        prop_assert_eq!(ill.shortfall + ill.realizable, ill.paper_value);
        prop_assert!(ill.share >= Decimal::ZERO && ill.share <= Decimal::ONE);
        for m in &s.months {
            prop_assert!(m.sale.proceeds <= m.sale.paper_value);
        }
        if restore == 0 {
            let once = pool.sell_in_chunks(s.tokens, 1).unwrap();
            prop_assert!(s.proceeds <= once.proceeds);
        }
    }

    /// getAmountIn buys the output, and is at most one unit above the least input that does
    /// (V2 adds one after the floor even when the division is exact).
    #[test]
    fn amount_in_buys_the_output((x, y) in reserves(), want in 1u128..(1 << 60), fee in 0u32..1_000) {
        prop_assume!(want < y);
        let need = amount_in(want, x, y, fee).unwrap();
        prop_assert!(amount_out(need, x, y, fee).unwrap() >= want);
        if need > 2 {
            prop_assert!(amount_out(need - 2, x, y, fee).unwrap() < want);
        }
    }
}
