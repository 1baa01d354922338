//! What a compensation package is worth path by path: salary plus token vests at the simulated
//! price, each vest topped up to its fiat floor when there is one, optionally after a flat tax.
//!
//! Values are nominal (not discounted) fiat in the salary's currency. Salary accrues evenly: by
//! time `t` it has paid `salary_per_year · t`. Token vests are ordinary income at vest, so a tax
//! rate applies to salary, vests and top-ups alike. These are estimates for a person to read;
//! nothing here is ever paid.

use serde::Serialize;

use crate::RiskError;
use crate::error::{check, non_negative};
use crate::model::Model;
use crate::sim::{Simulation, check_times};
use crate::stats::{fraction_below, mean_sd_se, quantile, sorted};

/// One vest: `tokens` (whole tokens, as a float) vesting `time` years from now, with an optional
/// fiat floor for that vest (if `tokens × price < floor`, the employer pays the difference).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Vest {
    /// Years from now.
    pub time: f64,
    /// Tokens vesting then.
    pub tokens: f64,
    /// Guaranteed fiat value of this vest, if any.
    pub floor: Option<f64>,
}

/// A package: salary, vests, horizon and tax.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Package {
    /// Annual salary in fiat.
    pub salary_per_year: f64,
    /// The vests, in non-decreasing time order.
    pub vests: Vec<Vest>,
    /// Years of salary counted (usually the last vest's time).
    pub horizon_years: f64,
    /// Flat tax rate in `0..=1` applied to everything (after-tax values), or `None` for pre-tax.
    pub tax_rate: Option<f64>,
}

impl Package {
    /// Checks salary ≥ 0, tokens ≥ 0, floors ≥ 0, times ordered and the tax rate in `0..=1`.
    pub fn validate(&self) -> Result<(), RiskError> {
        non_negative("salary_per_year", self.salary_per_year)?;
        non_negative("horizon_years", self.horizon_years)?;
        let times: Vec<f64> = self.vests.iter().map(|v| v.time).collect();
        check_times(&times)?;
        for v in &self.vests {
            non_negative("tokens", v.tokens)?;
            if let Some(f) = v.floor {
                non_negative("floor", f)?;
            }
        }
        if let Some(t) = self.tax_rate {
            check("tax_rate", "in 0..=1", t, (0.0..=1.0).contains(&t))?;
        }
        Ok(())
    }

    /// What is kept of a pre-tax amount.
    fn keep(&self) -> f64 {
        1.0 - self.tax_rate.unwrap_or(0.0)
    }

    /// The realized value of each vest on one path (`prices[k]` at `vests[k]`), cumulative with
    /// salary to date, written into `row`.
    fn cumulative(&self, prices: &[f64], row: &mut [f64]) {
        let keep = self.keep();
        let mut vested = 0.0;
        for ((v, p), out) in self.vests.iter().zip(prices).zip(row.iter_mut()) {
            let value = v.tokens * p;
            vested += v.floor.map_or(value, |f| value.max(f));
            *out = keep * (self.salary_per_year * v.time + vested);
        }
    }

    /// The value with every vest at the price `price_at(k)` (deterministic; for tests and the
    /// σ = 0 check).
    pub fn value_at_prices(&self, prices: &[f64]) -> f64 {
        let mut row = vec![0.0; self.vests.len()];
        self.cumulative(prices, &mut row);
        self.total_from(row.last().copied())
    }

    /// Total realized value given the cumulative value at the last vest (salary counted to the
    /// horizon rather than to the last vest).
    fn total_from(&self, last: Option<f64>) -> f64 {
        let keep = self.keep();
        let last_time = self.vests.last().map_or(0.0, |v| v.time);
        last.unwrap_or(0.0) + keep * self.salary_per_year * (self.horizon_years - last_time)
    }
}

/// Percentiles of the cumulative realized value at one vest time, for a fan chart.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FanPoint {
    /// Years from now.
    pub time: f64,
    /// 5th percentile.
    pub p5: f64,
    /// 25th percentile.
    pub p25: f64,
    /// Median.
    pub p50: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 95th percentile.
    pub p95: f64,
}

/// The distribution of a package's total realized value over the simulated paths.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Distribution {
    /// Paths simulated.
    pub paths: usize,
    /// Mean total value.
    pub mean: f64,
    /// Standard error of the mean (`sd/√paths`).
    pub std_error: f64,
    /// Standard deviation of the total value across paths.
    pub std_dev: f64,
    /// 5th percentile.
    pub p5: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// The threshold asked about, if any.
    pub threshold: Option<f64>,
    /// Fraction of paths whose total is strictly below `threshold`.
    pub prob_below: Option<f64>,
    /// Cumulative value percentiles at each vest time.
    pub fan: Vec<FanPoint>,
}

/// Simulates `package` under `model` from spot `s0` (`paths` paths, `seed`), monitoring the price
/// at the vest times only, and summarizes the total realized value (and `P(total < threshold)`
/// when a threshold is given). Reproducible at any thread count.
pub fn value_package(
    package: &Package,
    model: &Model,
    s0: f64,
    paths: usize,
    seed: u64,
    threshold: Option<f64>,
) -> Result<Distribution, RiskError> {
    package.validate()?;
    let times: Vec<f64> = package.vests.iter().map(|v| v.time).collect();
    let sim = Simulation::new(model.clone(), s0, times.clone(), paths, seed)?;
    let width = package.vests.len();
    let rows = sim.reduce(width, |prices, row| package.cumulative(prices, row));
    let totals: Vec<f64> = if width == 0 {
        vec![package.total_from(None); paths]
    } else {
        rows.chunks_exact(width).map(|r| package.total_from(r.last().copied())).collect()
    };
    let (mean, std_dev, std_error) = mean_sd_se(&totals);
    let totals = sorted(totals);
    let fan = (0..width)
        .map(|k| {
            let col = sorted(rows.iter().skip(k).step_by(width).copied().collect());
            FanPoint {
                time: times[k],
                p5: quantile(&col, 0.05),
                p25: quantile(&col, 0.25),
                p50: quantile(&col, 0.5),
                p75: quantile(&col, 0.75),
                p95: quantile(&col, 0.95),
            }
        })
        .collect();
    Ok(Distribution {
        paths,
        mean,
        std_error,
        std_dev,
        p5: quantile(&totals, 0.05),
        p50: quantile(&totals, 0.5),
        p95: quantile(&totals, 0.95),
        threshold,
        prob_below: threshold.map(|x| fraction_below(&totals, x)),
        fan,
    })
}

/// Whole tokens as a float from base units and decimals (for feeding the simulation; display
/// precision only, never used for an amount that is paid).
pub fn tokens_f64(base_units: u128, decimals: u8) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let units = base_units as f64;
    units / 10f64.powi(i32::from(decimals))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_from_base_units() {
        assert!((tokens_f64(1_500_000_000_000_000_000, 18) - 1.5).abs() < 1e-15);
    }
}
