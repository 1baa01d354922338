//! Property tests for exact amounts.

use proptest::prelude::*;
use tokencomp_money::{Token, TokenAmount, mul_div_floor};

proptest! {
    #[test]
    fn parse_format_round_trips(units in any::<u128>(), decimals in 0u8..=38) {
        let t = Token::new("T", decimals).expect("token");
        let a = TokenAmount::from_base_units(units);
        prop_assert_eq!(t.parse(&t.format(a)), Ok(a));
    }

    #[test]
    fn mul_div_matches_schoolbook(a in any::<u128>(), b in any::<u64>(), d in 1u64..) {
        // Reference: split a into two 64-bit halves and divide by hand.
        let (hi, lo) = (a >> 64, a & u128::from(u64::MAX));
        let (b, d) = (u128::from(b), u128::from(d));
        let hi_p = hi * b; // < 2^128
        let lo_p = lo * b; // < 2^128
        // a*b = hi_p * 2^64 + lo_p. Divide in two steps of 64 bits each.
        let q1 = hi_p / d;
        let r1 = hi_p % d;
        // (r1 * 2^64 + lo_p) / d, with r1 < d < 2^64 so r1 * 2^64 < 2^128.
        let (mid, carry) = (r1 << 64).overflowing_add(lo_p);
        let expected = if carry || q1 >= (1u128 << 64) {
            None
        } else {
            let q2 = mid / d;
            (q1 << 64).checked_add(q2)
        };
        if !carry {
            prop_assert_eq!(mul_div_floor(a, b, d), expected);
        }
    }

    #[test]
    fn elapsed_fraction_is_exact_near_max(total in (u128::MAX - 1_000_000)..=u128::MAX, elapsed in 0u128..=1000, extra in 0u128..1000) {
        let duration = elapsed + extra + 1;
        let v = mul_div_floor(total, elapsed, duration).expect("fits, since elapsed < duration");
        prop_assert!(v <= total);
        // v is the floor: v * duration <= total * elapsed < (v + 1) * duration, checked in 256 bits.
        let lhs = ruint_mul(v, duration);
        let mid = ruint_mul(total, elapsed);
        let rhs = ruint_mul(v + 1, duration);
        prop_assert!(lhs <= mid && mid < rhs);
    }
}

fn ruint_mul(a: u128, b: u128) -> (u128, u128) {
    // (high, low) 256-bit product, compared lexicographically.
    let (a_hi, a_lo) = (a >> 64, a & u128::from(u64::MAX));
    let (b_hi, b_lo) = (b >> 64, b & u128::from(u64::MAX));
    let ll = a_lo * b_lo;
    let lh = a_lo * b_hi;
    let hl = a_hi * b_lo;
    let hh = a_hi * b_hi;
    let (mid, c1) = lh.overflowing_add(hl);
    let (lo, c2) = ll.overflowing_add(mid << 64);
    let hi = hh + (mid >> 64) + (u128::from(c1) << 64) + u128::from(c2);
    (hi, lo)
}
