//! The cost of a price floor: zero for a zero floor, growing with the floor, and Monte Carlo
//! agreeing with the closed forms (a Black–Scholes put strip, the Merton series).

use tokencomp_risk::floor::floor_cost;
use tokencomp_risk::{Gbm, Merton, Model, Vest};

fn monthly(tokens: f64, floor: f64, months: u32) -> Vec<Vest> {
    (1..=months).map(|m| Vest { time: f64::from(m) / 12.0, tokens, floor: Some(floor) }).collect()
}

#[test]
fn zero_floor_costs_zero() {
    let model = Model::Gbm(Gbm::new(0.2, 1.0).unwrap());
    let c = floor_cost(&monthly(1000.0, 0.0, 12), &model, 1.0, 0.04, 10_000, 1).unwrap();
    assert_eq!(c.mc_mean, 0.0);
    assert_eq!(c.p99, 0.0);
    assert_eq!(c.closed_form, Some(0.0));
    assert_eq!(c.prob_any_topup, 0.0);
}

#[test]
fn cost_grows_with_the_floor() {
    // Same seed, so each path's top-up is monotone in the floor and so is the mean.
    let model = Model::Gbm(Gbm::new(0.2, 0.9).unwrap());
    let mut last = -1.0;
    let mut last_bs = -1.0;
    for floor in [200.0, 500.0, 800.0, 1000.0, 1500.0] {
        let c = floor_cost(&monthly(1000.0, floor, 24), &model, 1.0, 0.04, 20_000, 2).unwrap();
        assert!(c.mc_mean > last, "{floor}: {} after {last}", c.mc_mean);
        let bs = c.closed_form.unwrap();
        assert!(bs > last_bs);
        assert!(c.p99 >= c.p95 && c.p95 >= 0.0);
        last = c.mc_mean;
        last_bs = bs;
    }
}

#[test]
fn monte_carlo_agrees_with_the_black_scholes_strip() {
    // 24 monthly vests of 5,000 tokens at spot 2, each with a 9,000 floor (strike 1.8/token),
    // σ = 120%, r = 5%; the user's drift (30%) must not matter: pricing is risk-neutral.
    let model = Model::Gbm(Gbm::new(0.3, 1.2).unwrap());
    let c = floor_cost(&monthly(5000.0, 9000.0, 24), &model, 2.0, 0.05, 100_000, 3).unwrap();
    let bs = c.closed_form.unwrap();
    assert!((c.mc_mean - bs).abs() < 3.0 * c.mc_std_error, "MC {} ± {} vs BS {bs}", c.mc_mean, c.mc_std_error);
    let per_vest: f64 = c.per_vest.iter().map(|v| v.mc).sum();
    assert!((per_vest - c.mc_mean).abs() < 1e-6 * c.mc_mean);
}

#[test]
fn merton_floor_agrees_with_the_series() {
    let model = Model::Merton(Merton::new(0.0, 0.5, 1.0, -0.3, 0.2).unwrap());
    let c = floor_cost(&monthly(100.0, 90.0, 12), &model, 1.0, 0.03, 100_000, 4).unwrap();
    let series = c.closed_form.unwrap();
    assert!((c.mc_mean - series).abs() < 3.0 * c.mc_std_error, "MC {} ± {} vs {series}", c.mc_mean, c.mc_std_error);
}
