//! The Monte Carlo engine: `paths` price paths observed at monitoring times (years from now,
//! any spacing, e.g. vest dates), in parallel with rayon, reproducible bit for bit at any thread
//! count.
//!
//! Reproducibility: path `i` draws only from its own generator, `path_rng(seed, i)`
//! (xoshiro256++ seeded by splitmix64 from the seed and the index), and writes only its own row
//! of the output; so how rayon splits the paths cannot change a single bit. Speed: normals from
//! the Ziggurat (`rand_distr::StandardNormal`), per-interval constants computed once, one price
//! buffer per chunk of paths (never one per path), results written into one preallocated buffer.
//! The engine must never share a generator between paths.

use rand::Rng;
use rand::SeedableRng;
use rand_distr::{Distribution, Poisson, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use crate::RiskError;
use crate::model::{DAYS_PER_YEAR, Model, spot};

/// Longest horizon accepted, in years.
pub const MAX_YEARS: f64 = 100.0;
/// Paths per rayon task: large enough to amortize scheduling, small enough to balance 2–64 cores.
const PATHS_PER_CHUNK: usize = 512;

/// splitmix64's output function: a bijective, well-mixed 64-bit hash.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The generator of path `path` under `seed`: xoshiro256++ whose 256-bit state is four
/// consecutive splitmix64 outputs from a key mixing both. For a fixed seed the key is a
/// bijection of the index, so no two paths share a stream start.
pub fn path_rng(seed: u64, path: u64) -> Xoshiro256PlusPlus {
    let mut state = mix64(seed ^ 0x6a09_e667_f3bc_c909).wrapping_add(mix64(path));
    let mut bytes = [0u8; 32];
    for word in bytes.chunks_exact_mut(8) {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        word.copy_from_slice(&mix64(state).to_le_bytes());
    }
    Xoshiro256PlusPlus::from_seed(bytes)
}

/// A simulation: a model, a spot price, monitoring times and how many paths with which seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulation {
    model: Model,
    s0: f64,
    times: Vec<f64>,
    paths: usize,
    seed: u64,
}

impl Simulation {
    /// Checks `s0 > 0`, at least one path, and times finite, in `0..=100` years, non-decreasing.
    pub fn new(model: Model, s0: f64, times: Vec<f64>, paths: usize, seed: u64) -> Result<Simulation, RiskError> {
        spot(s0)?;
        check_times(&times)?;
        if paths == 0 {
            return Err(RiskError::Parameter { name: "paths", rule: "at least 1", value: 0.0 });
        }
        Ok(Simulation { model, s0, times, paths, seed })
    }

    /// The monitoring times, in years.
    pub fn times(&self) -> &[f64] {
        &self.times
    }

    /// The number of paths.
    pub fn paths(&self) -> usize {
        self.paths
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Runs every path and lets `f` reduce it: `f(prices, row)` gets the path's prices at the
    /// monitoring times and writes `width` numbers into `row`. Returns the rows, path after path
    /// (`paths × width`, row-major). Identical for any rayon pool.
    pub fn reduce<F>(&self, width: usize, f: F) -> Vec<f64>
    where
        F: Fn(&[f64], &mut [f64]) + Sync,
    {
        let mut out = vec![0.0; self.paths * width];
        if width == 0 {
            return out;
        }
        let kernel = Kernel::new(&self.model, &self.times);
        let n_times = self.times.len();
        out.par_chunks_mut(PATHS_PER_CHUNK * width).enumerate().for_each(|(chunk, rows)| {
            let mut prices = vec![0.0; n_times];
            for (j, row) in rows.chunks_exact_mut(width).enumerate() {
                let path = chunk * PATHS_PER_CHUNK + j;
                let mut rng = path_rng(self.seed, path as u64);
                kernel.fill(&mut rng, self.s0, &mut prices);
                f(&prices, row);
            }
        });
        out
    }

    /// Every price: `paths × times`, row-major (path `i`'s prices at `times` are
    /// `[i*times.len() .. (i+1)*times.len()]`).
    pub fn matrix(&self) -> Vec<f64> {
        self.reduce(self.times.len(), |prices, row| row.copy_from_slice(prices))
    }
}

/// Monitoring or vest times: finite, within `0..=MAX_YEARS`, non-decreasing.
pub(crate) fn check_times(times: &[f64]) -> Result<(), RiskError> {
    let mut last = 0.0;
    for (index, &value) in times.iter().enumerate() {
        if !(value.is_finite() && (0.0..=MAX_YEARS).contains(&value) && value >= last) {
            return Err(RiskError::Times { index, value });
        }
        last = value;
    }
    Ok(())
}

/// A model turned into per-interval constants for the given times.
enum Kernel<'a> {
    Gbm { drift: Vec<f64>, vol: Vec<f64> },
    Merton { drift: Vec<f64>, vol: Vec<f64>, jumps: Vec<Option<Poisson<f64>>>, jump_mean: f64, jump_std: f64 },
    Bootstrap { returns: &'a [f64], block: usize, days: Vec<usize> },
}

impl<'a> Kernel<'a> {
    fn new(model: &'a Model, times: &[f64]) -> Kernel<'a> {
        let steps = times.iter().scan(0.0, |last, &t| {
            let dt = t - *last;
            *last = t;
            Some(dt)
        });
        match model {
            Model::Gbm(g) => {
                let (drift, vol) = steps.map(|dt| ((g.mu - 0.5 * g.sigma * g.sigma) * dt, g.sigma * dt.sqrt())).unzip();
                Kernel::Gbm { drift, vol }
            }
            Model::Merton(m) => {
                let c = m.mu - 0.5 * m.sigma * m.sigma - m.lambda * m.kappa();
                let dts: Vec<f64> = steps.collect();
                Kernel::Merton {
                    drift: dts.iter().map(|dt| c * dt).collect(),
                    vol: dts.iter().map(|dt| m.sigma * dt.sqrt()).collect(),
                    // Poisson::new refuses a zero rate: no jumps in an empty interval.
                    jumps: dts.iter().map(|dt| Poisson::new(m.lambda * dt).ok()).collect(),
                    jump_mean: m.jump_mean,
                    jump_std: m.jump_std,
                }
            }
            Model::Bootstrap(b) => {
                // Whole days from now to each time, rounded once per time so rounding never
                // accumulates; an interval is the difference.
                let mut last = 0;
                let days = times
                    .iter()
                    .map(|t| {
                        let day = whole_days(*t);
                        let d = day - last;
                        last = day;
                        d
                    })
                    .collect();
                Kernel::Bootstrap { returns: b.returns(), block: b.block(), days }
            }
        }
    }

    /// One path: `out[k]` is the price at the k-th time.
    #[inline]
    fn fill(&self, rng: &mut Xoshiro256PlusPlus, s0: f64, out: &mut [f64]) {
        let mut x = 0.0;
        match self {
            Kernel::Gbm { drift, vol } => {
                for ((o, d), v) in out.iter_mut().zip(drift).zip(vol) {
                    let z: f64 = StandardNormal.sample(rng);
                    x += d + v * z;
                    *o = s0 * x.exp();
                }
            }
            Kernel::Merton { drift, vol, jumps, jump_mean, jump_std } => {
                for (k, o) in out.iter_mut().enumerate() {
                    let z: f64 = StandardNormal.sample(rng);
                    x += drift[k] + vol[k] * z;
                    if let Some(poisson) = &jumps[k] {
                        let n = poisson.sample(rng);
                        if n > 0.0 {
                            // The sum of n i.i.d. N(m, δ²) jumps is N(n·m, n·δ²).
                            let z: f64 = StandardNormal.sample(rng);
                            x += n * jump_mean + jump_std * n.sqrt() * z;
                        }
                    }
                    *o = s0 * x.exp();
                }
            }
            Kernel::Bootstrap { returns, block, days } => {
                let mut pos = 0;
                let mut left = 0;
                for (o, &d) in out.iter_mut().zip(days) {
                    for _ in 0..d {
                        if left == 0 {
                            pos = rng.random_range(0..returns.len());
                            left = *block;
                        }
                        x += returns[pos];
                        pos = if pos + 1 == returns.len() { 0 } else { pos + 1 };
                        left -= 1;
                    }
                    *o = s0 * x.exp();
                }
            }
        }
    }
}

/// `round(365·t)` for a checked time (finite, `0..=100` years, so at most 36,500 days).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn whole_days(t: f64) -> usize {
    // INVARIANT: check_times bounds t to 0..=100, so the rounded value is in 0..=36_500.
    (t * DAYS_PER_YEAR).round() as usize
}
