//! Multiply-then-divide without losing a unit: `a * b / d` for any `u128` inputs.

use ruint::aliases::U256;

/// `floor(a * b / d)`, exact for every `u128` input.
///
/// The product is formed in 128 bits when it fits (the common case, and the hot path of
/// schedule evaluation) and in 256 bits otherwise. Returns `None` when `d` is zero or the
/// quotient does not fit in a `u128`.
#[inline]
pub fn mul_div_floor(a: u128, b: u128, d: u128) -> Option<u128> {
    if d == 0 {
        return None;
    }
    match a.checked_mul(b) {
        Some(p) => Some(p / d),
        None => mul_div_wide(a, b, d),
    }
}

#[cold]
#[inline(never)]
fn mul_div_wide(a: u128, b: u128, d: u128) -> Option<u128> {
    // Two u128 factors always fit in 256 bits, so the wrapping product is the true product.
    let p = U256::from(a).wrapping_mul(U256::from(b));
    let q = p / U256::from(d);
    u128::try_from(q).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_products_take_the_fast_path() {
        assert_eq!(mul_div_floor(10, 7, 3), Some(23));
        assert_eq!(mul_div_floor(0, u128::MAX, 1), Some(0));
        assert_eq!(mul_div_floor(1, 1, 0), None);
    }

    #[test]
    fn near_max_products_keep_every_unit() {
        // (MAX * (MAX - 1)) / MAX = MAX - 1 exactly: needs the 256-bit path.
        assert_eq!(mul_div_floor(u128::MAX, u128::MAX - 1, u128::MAX), Some(u128::MAX - 1));
        assert_eq!(mul_div_floor(u128::MAX, 3, 4), Some(u128::MAX / 4 * 3 + 2));
        assert_eq!(mul_div_floor(u128::MAX, 2, 1), None);
    }
}
