//! GBM Monte Carlo throughput: path-steps per second of our engine (rayon, all cores) beside a
//! reference kernel (a plain single-threaded loop: same generator per path, same Ziggurat, no
//! rayon, no abstraction), numpy (vectorized across paths) and QuantLib-Python's
//! `MCEuropeanEngine`, all on the same paths × steps pricing the same European put.
//!
//! Targets (printed, never asserted): ours ≥ 0.5× the reference (no worse than twice the bare
//! loop; with two cores ours should be faster), ours ≥ 2.5× numpy, ours ≥ 20× QuantLib.
//! Every peer's put price is checked against Black–Scholes (within 5 standard errors) so a
//! fast wrong kernel cannot win.
//!
//! `cargo bench -p tokencomp-risk --bench simulate` runs 100,000 paths × 252 steps and writes
//! `target/bench-results/simulate.json`; `-- --test` (and `cargo test --benches`) runs 2,000 ×
//! 20 through the same code, the Python peers included, and writes `simulate-test.json`. The
//! peers need `TOKENCOMP_TEST_VENV` (set by `scripts/tools.sh`, which installs numpy and
//! QuantLib there): without it the bench fails, it does not skip.

// Floats and casts only turn durations and counts into the printed rates and ratios.
#![allow(clippy::float_arithmetic, clippy::cast_precision_loss, clippy::unwrap_used)]

#[path = "../../core/benches/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use rand_distr::{Distribution, StandardNormal};
use support::{Mode, OPTIMIZED, write_results};
use tokencomp_risk::closed::bs_put;
use tokencomp_risk::{Gbm, Model, Simulation, path_rng};

const FULL: (usize, usize) = (100_000, 252);
const TEST: (usize, usize) = (2_000, 20);
const S0: f64 = 100.0;
const STRIKE: f64 = 100.0;
const RATE: f64 = 0.04;
const SIGMA: f64 = 0.8;
const YEARS: f64 = 1.0;
const SEED: u64 = 42;
/// In-process timing: best of this many runs.
const REPEATS: usize = 5;

/// The discounted put payoff's mean and standard error over per-path payoffs.
fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, (v / n).sqrt())
}

fn simulation(paths: usize, steps: usize) -> Simulation {
    let times = (1..=steps).map(|i| YEARS * i as f64 / steps as f64).collect();
    Simulation::new(Model::Gbm(Gbm::new(RATE, SIGMA).unwrap()), S0, times, paths, SEED).unwrap()
}

/// Ours: the engine, reduced to each path's discounted put payoff.
fn ours(sim: &Simulation) -> Vec<f64> {
    let df = (-RATE * YEARS).exp();
    sim.reduce(1, |prices, row| row[0] = df * (STRIKE - prices[prices.len() - 1]).max(0.0))
}

/// The reference kernel: the same per-path generator and normals, one loop, one thread.
fn reference(paths: usize, steps: usize) -> Vec<f64> {
    let dt = YEARS / steps as f64;
    let drift = (RATE - 0.5 * SIGMA * SIGMA) * dt;
    let vol = SIGMA * dt.sqrt();
    let df = (-RATE * YEARS).exp();
    let mut out = vec![0.0; paths];
    for (i, o) in out.iter_mut().enumerate() {
        let mut rng = path_rng(SEED, i as u64);
        let mut s = S0;
        for _ in 0..steps {
            let z: f64 = StandardNormal.sample(&mut rng);
            s *= (drift + vol * z).exp();
        }
        *o = df * (STRIKE - s).max(0.0);
    }
    out
}

fn best_of(mut f: impl FnMut() -> Vec<f64>) -> (Duration, Vec<f64>) {
    let mut best = Duration::MAX;
    let mut last = Vec::new();
    for _ in 0..REPEATS {
        let t0 = Instant::now();
        last = black_box(f());
        best = best.min(t0.elapsed());
    }
    (best, last)
}

fn venv_python() -> PathBuf {
    let venv = std::env::var_os("TOKENCOMP_TEST_VENV").unwrap_or_else(|| {
        panic!(
            "TOKENCOMP_TEST_VENV is not set: the simulate bench compares with numpy and QuantLib in a Python venv. \
             Run it through scripts/tools.sh (which installs them), e.g. scripts/tools.sh cargo bench -p tokencomp-risk"
        )
    });
    let py = PathBuf::from(venv).join("bin/python");
    assert!(py.is_file(), "{} does not exist: run scripts/tools.sh", py.display());
    py
}

/// Runs `scripts/risk_peers.py`; fails loudly when Python or a package is missing.
fn peers(paths: usize, steps: usize, repeats: usize) -> serde_json::Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/risk_peers.py");
    let out = Command::new(venv_python())
        .arg(&script)
        .args(["--paths", &paths.to_string(), "--steps", &steps.to_string(), "--repeats", &repeats.to_string()])
        .args(["--s0", &S0.to_string(), "--strike", &STRIKE.to_string(), "--rate", &RATE.to_string()])
        .args(["--sigma", &SIGMA.to_string(), "--years", &YEARS.to_string(), "--seed", &SEED.to_string()])
        .output()
        .expect("could not start the venv's python");
    assert!(out.status.success(), "risk_peers.py failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("risk_peers.py prints one JSON object")
}

fn check_price(name: &str, price: f64, se: f64) {
    let bs = bs_put(S0, STRIKE, RATE, SIGMA, YEARS);
    assert!((price - bs).abs() < 5.0 * se, "{name}: put {price} ± {se} is not Black–Scholes' {bs}");
}

fn main() {
    let mode = Mode::from_args();
    let mut criterion = Criterion::default().configure_from_args();
    let (paths, steps) = if mode == Mode::Full { FULL } else { TEST };
    let work = (paths * steps) as f64;
    let sim = simulation(paths, steps);

    if mode != Mode::List {
        let threads = rayon::current_num_threads();
        let (t_ours, ours_payoffs) = best_of(|| ours(&sim));
        let (t_ref, ref_payoffs) = best_of(|| reference(paths, steps));
        let (p_ours, se_ours) = mean_se(&ours_payoffs);
        let (p_ref, se_ref) = mean_se(&ref_payoffs);
        check_price("ours", p_ours, se_ours);
        check_price("reference", p_ref, se_ref);
        // Same generator per path, same arithmetic up to the order of exp/multiply: the kernels
        // agree path by path to rounding.
        let worst = ours_payoffs.iter().zip(&ref_payoffs).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(worst < 1e-6 * S0, "ours and the reference differ by {worst} on a path");

        let peer = peers(paths, steps, if mode == Mode::Full { 3 } else { 1 });
        let rate_of = |name: &str| peer[name]["path_steps_per_sec"].as_f64().unwrap();
        for name in ["numpy", "quantlib"] {
            check_price(name, peer[name]["put"].as_f64().unwrap(), peer[name]["std_error"].as_f64().unwrap());
        }
        let r_ours = work / t_ours.as_secs_f64();
        let r_ref = work / t_ref.as_secs_f64();
        let (r_np, r_ql) = (rate_of("numpy"), rate_of("quantlib"));
        println!(
            "simulate: GBM {paths} paths × {steps} steps, {threads} threads{}",
            if OPTIMIZED { "" } else { " (unoptimized build: rates say nothing)" }
        );
        println!("  ours       {:>8.1} M path-steps/s  put {p_ours:.4} ± {se_ours:.4}", r_ours / 1e6);
        println!("  reference  {:>8.1} M path-steps/s  (1 thread)", r_ref / 1e6);
        println!(
            "  numpy      {:>8.1} M path-steps/s  ({})",
            r_np / 1e6,
            peer["numpy"]["version"].as_str().unwrap_or("?")
        );
        println!(
            "  QuantLib   {:>8.1} M path-steps/s  ({})",
            r_ql / 1e6,
            peer["quantlib"]["version"].as_str().unwrap_or("?")
        );
        println!(
            "  ours/reference {:.2}x (target ≥ 0.5x), ours/numpy {:.2}x (target ≥ 2.5x), ours/QuantLib {:.1}x (target ≥ 20x)",
            r_ours / r_ref,
            r_ours / r_np,
            r_ours / r_ql
        );
        let doc = serde_json::json!({
            "bench": "simulate",
            "mode": if mode == Mode::Full { "full" } else { "test" },
            "optimized": OPTIMIZED,
            "paths": paths, "steps": steps, "threads": threads,
            "model": {"s0": S0, "strike": STRIKE, "rate": RATE, "sigma": SIGMA, "years": YEARS},
            "black_scholes_put": bs_put(S0, STRIKE, RATE, SIGMA, YEARS),
            "ours": {"path_steps_per_sec": r_ours, "seconds": t_ours.as_secs_f64(), "put": p_ours, "std_error": se_ours},
            "reference": {"path_steps_per_sec": r_ref, "seconds": t_ref.as_secs_f64(), "put": p_ref, "std_error": se_ref},
            "numpy": peer["numpy"],
            "quantlib": peer["quantlib"],
            "ratios": {
                "ours_over_reference": r_ours / r_ref, "target_ours_over_reference": 0.5,
                "ours_over_numpy": r_ours / r_np, "target_ours_over_numpy": 2.5,
                "ours_over_quantlib": r_ours / r_ql, "target_ours_over_quantlib": 20.0,
            },
        });
        let name = if mode == Mode::Full { "simulate" } else { "simulate-test" };
        let path = write_results(name, &doc).expect("write the bench results");
        println!("  results: {}", path.display());
    }

    let mut group = criterion.benchmark_group("simulate");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .throughput(Throughput::Elements(paths as u64 * steps as u64));
    group.bench_function("gbm/ours", |b| b.iter(|| black_box(ours(&sim))));
    group.bench_function("gbm/reference", |b| b.iter(|| black_box(reference(paths, steps))));
    group.finish();
    criterion.final_summary();
}
