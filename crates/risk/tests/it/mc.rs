//! Monte Carlo against closed forms: each test asserts |MC − closed| < 3 standard errors.

use tokencomp_risk::closed::{bs_put, merton_put};
use tokencomp_risk::{Gbm, Merton, Model, Simulation};

/// Discounted put payoffs of the `k`-th monitored price, per path.
fn put_samples(sim: &Simulation, strike: f64, r: f64, t: f64) -> Vec<f64> {
    let df = (-r * t).exp();
    sim.reduce(1, |prices, row| row[0] = df * (strike - prices[prices.len() - 1]).max(0.0))
}

fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (v / n).sqrt())
}

#[test]
fn gbm_put_within_three_standard_errors_of_black_scholes() {
    // A crypto-like case: σ = 80%, r = 4%, one year, at the money, 200,000 paths.
    let (s0, k, r, sigma, t) = (100.0, 100.0, 0.04, 0.8, 1.0);
    let sim = Simulation::new(Model::Gbm(Gbm::new(r, sigma).unwrap()), s0, vec![0.5, t], 200_000, 11).unwrap();
    let (mc, se) = mean_se(&put_samples(&sim, k, r, t));
    let bs = bs_put(s0, k, r, sigma, t);
    assert!((mc - bs).abs() < 3.0 * se, "MC {mc} ± {se} vs BS {bs}");
    assert!(se < 0.01 * bs, "the test must be sharp: se {se}");
}

#[test]
fn monthly_strip_within_three_standard_errors() {
    // 24 monthly puts on 1,000 tokens each, strike 0.9 of spot, σ = 100%, r = 5%.
    let (s0, k, r, sigma) = (2.0, 1.8, 0.05, 1.0);
    let times: Vec<f64> = (1..=24).map(|m| f64::from(m) / 12.0).collect();
    let sim = Simulation::new(Model::Gbm(Gbm::new(r, sigma).unwrap()), s0, times.clone(), 100_000, 12).unwrap();
    let dfs: Vec<f64> = times.iter().map(|t| (-r * t).exp()).collect();
    let strip = sim.reduce(1, |prices, row| {
        row[0] = prices.iter().zip(&dfs).map(|(p, df)| 1000.0 * df * (k - p).max(0.0)).sum();
    });
    let (mc, se) = mean_se(&strip);
    let bs: f64 = times.iter().map(|&t| 1000.0 * bs_put(s0, k, r, sigma, t)).sum();
    assert!((mc - bs).abs() < 3.0 * se, "strip MC {mc} ± {se} vs BS {bs}");
}

#[test]
fn merton_put_within_three_standard_errors_of_the_series() {
    // λ = 2 jumps a year, log jump N(−0.15, 0.25²), diffusion σ = 40%, r = 3%, T = 1.5.
    let m = Merton::new(0.03, 0.4, 2.0, -0.15, 0.25).unwrap();
    let (s0, k, r, t) = (10.0, 9.0, 0.03, 1.5);
    let sim = Simulation::new(Model::Merton(m), s0, vec![0.25, 1.0, t], 200_000, 13).unwrap();
    let (mc, se) = mean_se(&put_samples(&sim, k, r, t));
    let series = merton_put(s0, k, r, t, &m);
    assert!((mc - series).abs() < 3.0 * se, "Merton MC {mc} ± {se} vs series {series}");
    // And the simulated forward is compensated: E[S_T] = S0·e^{rT} within 3 SE.
    let fwd = sim.reduce(1, |p, row| row[0] = p[2]);
    let (f, fse) = mean_se(&fwd);
    assert!((f - s0 * (r * t).exp()).abs() < 3.0 * fse, "forward {f} ± {fse}");
}
