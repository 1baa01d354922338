//! Valuing a pay package (salary, vests, floors, tax): the hand-computed point at zero
//! volatility, and volatility spreading the distribution while the floor cuts its lower tail.

use tokencomp_risk::{Gbm, Model, Package, Vest, value_package};

fn package() -> Package {
    // Salary 120,000 a year for one year; 1,000 tokens vest each quarter; the first vest has a
    // 12,000 floor; 30% tax.
    let vests = (1..=4)
        .map(|q| Vest { time: f64::from(q) / 4.0, tokens: 1000.0, floor: if q == 1 { Some(12_000.0) } else { None } })
        .collect();
    Package { salary_per_year: 120_000.0, vests, horizon_years: 1.0, tax_rate: Some(0.3) }
}

#[test]
fn zero_volatility_is_the_hand_computed_point() {
    // σ = 0, μ = 0: the price stays at 10, so each vest is worth 10,000 and the first is topped
    // up to 12,000. Total = 0.7·(120,000 + 12,000 + 3·10,000) = 0.7·162,000 = 113,400.
    // At t = 0.5: 0.7·(60,000 + 12,000 + 10,000) = 57,400.
    let model = Model::Gbm(Gbm::new(0.0, 0.0).unwrap());
    let d = value_package(&package(), &model, 10.0, 2_000, 9, Some(113_400.5)).unwrap();
    for x in [d.mean, d.p5, d.p50, d.p95] {
        assert!((x - 113_400.0).abs() < 1e-6, "{x}");
    }
    assert!(d.std_error < 1e-6);
    assert_eq!(d.prob_below, Some(1.0));
    let half = d.fan[1];
    assert!((half.time - 0.5).abs() < 1e-15);
    assert!((half.p5 - 57_400.0).abs() < 1e-6 && (half.p95 - 57_400.0).abs() < 1e-6);
    assert!((package().value_at_prices(&[10.0; 4]) - 113_400.0).abs() < 1e-6);
}

#[test]
fn volatility_spreads_the_distribution_and_the_floor_cuts_the_tail() {
    let model = Model::Gbm(Gbm::new(0.0, 1.0).unwrap());
    let mut p = package();
    p.tax_rate = None;
    let d = value_package(&p, &model, 10.0, 20_000, 10, Some(150_000.0)).unwrap();
    assert!(d.p5 < d.p50 && d.p50 < d.p95);
    // With the floor, the first vest is worth at least 12,000: total ≥ 120,000 + 12,000.
    assert!(d.p5 >= 132_000.0 - 1e-6);
    // Fan percentiles are ordered and grow over time.
    for w in d.fan.windows(2) {
        assert!(w[1].p50 > w[0].p50);
    }
    for f in &d.fan {
        assert!(f.p5 <= f.p25 && f.p25 <= f.p50 && f.p50 <= f.p75 && f.p75 <= f.p95);
    }
    let pb = d.prob_below.unwrap();
    assert!(pb > 0.0 && pb < 1.0);
}
