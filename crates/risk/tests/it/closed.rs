//! Closed forms: Black–Scholes against Hull's textbook values, put–call parity, degenerate
//! volatility, the normal CDF, and Merton without jumps equal to Black–Scholes.

use tokencomp_risk::Merton;
use tokencomp_risk::closed::{bs_call, bs_put, merton_call, merton_put, norm_cdf};

#[test]
fn hull_textbook_values() {
    // Hull, Options, Futures and Other Derivatives, the worked Black–Scholes example:
    // S = 42, K = 40, r = 10%, σ = 20%, T = 0.5 → d1 = 0.7693, d2 = 0.6278, call 4.76, put 0.81.
    let c = bs_call(42.0, 40.0, 0.1, 0.2, 0.5);
    let p = bs_put(42.0, 40.0, 0.1, 0.2, 0.5);
    assert!((c - 4.76).abs() < 0.005, "call {c}");
    assert!((p - 0.81).abs() < 0.005, "put {p}");
    // The same to more places: Φ(0.7693) and Φ(0.6278) give 4.7594 and 0.8086.
    assert!((c - 4.7594).abs() < 1e-3 && (p - 0.8086).abs() < 1e-3);
}

#[test]
fn put_call_parity_holds_to_rounding() {
    for &(s, k, r, sigma, t) in
        &[(42.0, 40.0, 0.1, 0.2, 0.5), (1.0, 2.5, 0.03, 1.2, 3.0), (100.0, 60.0, 0.0, 0.05, 0.01)]
    {
        let lhs = bs_call(s, k, r, sigma, t) - bs_put(s, k, r, sigma, t);
        let rhs = s - k * (-r * t).exp();
        assert!((lhs - rhs).abs() < 1e-12 * s.max(k), "parity off at {s} {k}: {lhs} vs {rhs}");
    }
}

#[test]
fn degenerate_volatility_is_discounted_intrinsic() {
    // σ = 0: the put pays max(K e^{-rT} − S, 0) = 100·e^{-0.05} − 90 = 5.1229…
    let p = bs_put(90.0, 100.0, 0.05, 0.0, 1.0);
    assert!((p - (100.0 * (-0.05f64).exp() - 90.0)).abs() < 1e-12);
    assert_eq!(bs_call(90.0, 100.0, 0.05, 0.0, 1.0), 0.0);
}

#[test]
fn cdf_symmetry_and_tails() {
    for i in -80..=80 {
        let x = f64::from(i) / 10.0;
        assert!((norm_cdf(x) + norm_cdf(-x) - 1.0).abs() < 2e-16 * 4.0);
    }
    // Φ(−8) = 6.220960574271785e-16 (tables): the tail keeps its relative accuracy.
    assert!((norm_cdf(-8.0) / 6.220_960_574_271_785e-16 - 1.0).abs() < 1e-11);
}

#[test]
fn merton_without_jumps_is_black_scholes_and_has_parity() {
    let m = Merton::new(0.0, 0.4, 0.0, -0.1, 0.2).unwrap();
    assert!((merton_put(100.0, 90.0, 0.03, 1.0, &m) - bs_put(100.0, 90.0, 0.03, 0.4, 1.0)).abs() < 1e-12);
    let j = Merton::new(0.0, 0.3, 1.5, -0.2, 0.3).unwrap();
    let lhs = merton_call(100.0, 90.0, 0.03, 2.0, &j) - merton_put(100.0, 90.0, 0.03, 2.0, &j);
    assert!((lhs - (100.0 - 90.0 * (-0.06f64).exp())).abs() < 1e-9, "{lhs}");
    // Jumps with a negative mean fatten the left tail: the put is dearer than BS at the same σ.
    assert!(merton_put(100.0, 90.0, 0.03, 2.0, &j) > bs_put(100.0, 90.0, 0.03, 0.3, 2.0));
}
