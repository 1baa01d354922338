//! Parameter estimation from daily closes and the block bootstrap: exact on constructed
//! histories, close on synthetic GBM, resampled moments like the history's, bad histories refused.

use rand_distr::{Distribution, StandardNormal};
use tokencomp_risk::{Bootstrap, Model, Simulation, estimate, path_rng};

/// A synthetic history of `days` daily closes from GBM with the given annual parameters (365
/// days a year), drawn from our own seeded generator.
fn history(mu: f64, sigma: f64, days: usize, seed: u64) -> Vec<f64> {
    let dt = 1.0 / 365.0;
    let mut rng = path_rng(seed, 0);
    let mut s = 100.0;
    let mut closes = vec![s];
    for _ in 0..days {
        let z: f64 = StandardNormal.sample(&mut rng);
        s *= ((mu - 0.5 * sigma * sigma) * dt + sigma * dt.sqrt() * z).exp();
        closes.push(s);
    }
    closes
}

#[test]
fn estimate_is_exact_on_a_constructed_history() {
    // Returns alternate c + a and c − a (c = 0.001, a = 0.02) over 200 days: mean c exactly and
    // sample std a·√(200/199); σ = std·√365, μ = 365·c + σ²/2.
    let (c, a) = (0.001f64, 0.02f64);
    let mut closes = vec![1.0f64];
    for i in 0..200 {
        let r = if i % 2 == 0 { c + a } else { c - a };
        closes.push(closes[i] * r.exp());
    }
    let e = estimate(&closes).unwrap();
    let std = a * (200.0f64 / 199.0).sqrt();
    assert_eq!(e.days, 200);
    assert!((e.mean_daily_log_return - c).abs() < 1e-12);
    assert!((e.std_daily_log_return - std).abs() < 1e-12);
    assert!((e.sigma - std * 365f64.sqrt()).abs() < 1e-10);
    assert!((e.mu - (365.0 * c + 0.5 * e.sigma * e.sigma)).abs() < 1e-10);
}

#[test]
fn estimate_recovers_known_parameters_of_a_synthetic_gbm() {
    // 20 years of daily closes with σ = 60%, μ = 10%. The SE of σ̂ is σ/√(2n) ≈ 0.0052, of μ̂
    // σ/√20 ≈ 0.134 (drift is hard to estimate); we allow 4 SE.
    let e = estimate(&history(0.1, 0.6, 7300, 5)).unwrap();
    assert!((e.sigma - 0.6).abs() < 4.0 * 0.6 / (2.0f64 * 7300.0).sqrt(), "sigma {}", e.sigma);
    assert!((e.mu - 0.1).abs() < 4.0 * e.mu_std_error, "mu {} ± {}", e.mu, e.mu_std_error);
    assert!((e.mu_std_error - 0.6 / 20f64.sqrt()).abs() < 0.01);
}

#[test]
fn resampled_returns_have_the_history_moments() {
    // 2 years of history resampled in blocks of 5 days, 400 paths of a year of daily
    // observations: N = 146,000 resampled returns. The resampled mean differs from the
    // history's by sampling error ~ sd/√(N/5) (blocks count as ~N/5 draws; conservative), the
    // resampled sd from the history's by ~ sd/√(2N/5); we allow 4 of each.
    let closes = history(0.3, 0.9, 730, 8);
    let b = Bootstrap::from_closes(&closes, 5).unwrap();
    let hist = b.returns().to_vec();
    let n = hist.len() as f64;
    let hm = hist.iter().sum::<f64>() / n;
    let hsd = (hist.iter().map(|x| (x - hm).powi(2)).sum::<f64>() / n).sqrt();

    let times: Vec<f64> = (1..=365).map(|d| f64::from(d) / 365.0).collect();
    let sim = Simulation::new(Model::Bootstrap(b), 1.0, times, 400, 21).unwrap();
    let m = sim.matrix();
    let mut rs = Vec::new();
    for path in m.chunks_exact(365) {
        let mut last = 1.0f64;
        for &p in path {
            rs.push((p / last).ln());
            last = p;
        }
    }
    let big_n = rs.len() as f64;
    assert_eq!(rs.len(), 146_000);
    let rm = rs.iter().sum::<f64>() / big_n;
    let rsd = (rs.iter().map(|x| (x - rm).powi(2)).sum::<f64>() / big_n).sqrt();
    assert!((rm - hm).abs() < 4.0 * hsd / (big_n / 5.0).sqrt(), "mean {rm} vs {hm}");
    assert!((rsd - hsd).abs() < 4.0 * hsd / (2.0 * big_n / 5.0).sqrt(), "sd {rsd} vs {hsd}");
    // Every resampled return is one of the history's.
    assert!(rs.iter().take(1000).all(|r| hist.iter().any(|h| (h - r).abs() < 1e-9)));
}

#[test]
fn bad_histories_are_refused() {
    assert!(estimate(&[1.0, 2.0]).is_err());
    assert!(estimate(&[1.0, 0.0, 2.0]).is_err());
    assert!(Bootstrap::from_closes(&[1.0, 2.0, 3.0], 0).is_err());
    assert!(Bootstrap::from_closes(&[1.0, 2.0, 3.0], 3).is_err());
}
