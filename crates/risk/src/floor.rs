//! The employer's cost of a fiat floor: a floor `F` on a vest of `n` tokens pays
//! `max(F − n·S_t, 0) = n·max(K − S_t, 0)` with `K = F/n`, so the guarantee is a strip of
//! European puts, one per vest.
//!
//! Priced under the risk-neutral measure: the model's drift is replaced by the rate `r`
//! ([`Model::risk_neutral`]) and each payment is discounted by `e^{−r·t}`, so the Monte Carlo
//! mean is comparable with the Black–Scholes strip (GBM) or Merton's series (Merton). The tail
//! (P95/P99) is of the same discounted total. Never used for an amount that is paid.

use serde::Serialize;

use crate::RiskError;
use crate::closed::{bs_put, merton_put};
use crate::error::{finite, non_negative};
use crate::model::{Model, spot};
use crate::package::Vest;
use crate::sim::{Simulation, check_times};
use crate::stats::{mean_sd_se, quantile, sorted};

/// One vest's share of the floor's cost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct VestFloor {
    /// Years from now.
    pub time: f64,
    /// Strike per token, `floor / tokens` (0 without a floor).
    pub strike_per_token: f64,
    /// Monte Carlo value of this vest's top-up (discounted mean).
    pub mc: f64,
    /// Closed-form value (`tokens × put`), when the model has one.
    pub closed_form: Option<f64>,
}

/// The floor's cost: Monte Carlo with its standard error and tail, and the closed form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FloorCost {
    /// Paths simulated.
    pub paths: usize,
    /// Expected discounted cost (Monte Carlo).
    pub mc_mean: f64,
    /// Standard error of `mc_mean`.
    pub mc_std_error: f64,
    /// 95th percentile of the discounted total cost.
    pub p95: f64,
    /// 99th percentile of the discounted total cost.
    pub p99: f64,
    /// Fraction of paths on which the employer tops up at least once.
    pub prob_any_topup: f64,
    /// Sum of closed-form puts (Black–Scholes for GBM, Merton's series for Merton; `None` for a
    /// bootstrap).
    pub closed_form: Option<f64>,
    /// Per vest.
    pub per_vest: Vec<VestFloor>,
}

/// Prices the floors of `vests` (vests without a floor cost nothing) under `model` made
/// risk-neutral at rate `r`, from spot `s0`, with `paths` paths and `seed`.
pub fn floor_cost(
    vests: &[Vest],
    model: &Model,
    s0: f64,
    r: f64,
    paths: usize,
    seed: u64,
) -> Result<FloorCost, RiskError> {
    spot(s0)?;
    finite("r", r)?;
    let times: Vec<f64> = vests.iter().map(|v| v.time).collect();
    check_times(&times)?;
    let strikes: Vec<f64> = vests
        .iter()
        .map(|v| {
            non_negative("tokens", v.tokens)?;
            let floor = non_negative("floor", v.floor.unwrap_or(0.0))?;
            Ok(if v.tokens > 0.0 { floor / v.tokens } else { 0.0 })
        })
        .collect::<Result<_, RiskError>>()?;
    let discounts: Vec<f64> = times.iter().map(|t| (-r * t).exp()).collect();
    let rn = model.risk_neutral(r);
    let sim = Simulation::new(rn.clone(), s0, times.clone(), paths, seed)?;
    let width = vests.len() + 1;
    // Row: each vest's discounted top-up, then the total.
    let rows = sim.reduce(width, |prices, row| {
        let mut total = 0.0;
        for k in 0..vests.len() {
            let pay = vests[k].tokens * (strikes[k] - prices[k]).max(0.0) * discounts[k];
            row[k] = pay;
            total += pay;
        }
        row[vests.len()] = total;
    });
    let totals: Vec<f64> = rows.iter().skip(vests.len()).step_by(width).copied().collect();
    let (mc_mean, _, mc_std_error) = mean_sd_se(&totals);
    let any = totals.iter().filter(|t| **t > 0.0).count();
    let totals = sorted(totals);
    let put = |k: usize| -> Option<f64> {
        let v = &vests[k];
        match &rn {
            Model::Gbm(g) => Some(v.tokens * bs_put(s0, strikes[k], r, g.sigma, v.time)),
            Model::Merton(m) => Some(v.tokens * merton_put(s0, strikes[k], r, v.time, m)),
            Model::Bootstrap(_) => None,
        }
    };
    let per_vest: Vec<VestFloor> = (0..vests.len())
        .map(|k| {
            let col: Vec<f64> = rows.iter().skip(k).step_by(width).copied().collect();
            VestFloor {
                time: vests[k].time,
                strike_per_token: strikes[k],
                mc: mean_sd_se(&col).0,
                closed_form: if strikes[k] > 0.0 { put(k) } else { Some(0.0) },
            }
        })
        .collect();
    let closed_form = per_vest.iter().map(|v| v.closed_form).sum::<Option<f64>>();
    Ok(FloorCost {
        paths,
        mc_mean,
        mc_std_error,
        p95: quantile(&totals, 0.95),
        p99: quantile(&totals, 0.99),
        prob_any_topup: crate::model::usize_f64(any) / crate::model::usize_f64(paths),
        closed_form,
        per_vest,
    })
}
