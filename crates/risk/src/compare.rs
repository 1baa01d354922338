//! Token vs equity for the same offer value, side by side: the seed article's table (liquidity
//! horizon, value, tax treatment, governance rights) with the values simulated rather than
//! asserted.
//!
//! The two sides, kept deliberately simple (and said so in the output):
//! - Token: `offer_value / s0` tokens vesting as `vest_fractions` says, liquid at each vest and
//!   sold then; each vest is ordinary income at its value, so after tax the holder keeps
//!   `(1 − ordinary_rate)·tokens·S_t` (gains after vest would be capital gains; selling at vest
//!   realizes none).
//! - Equity: shares worth `offer_value` at grant (bought at fair value or with an 83(b)
//!   election, so the growth is a capital gain), illiquid until an exit `exit_years` ahead that
//!   happens with probability `exit_probability` (no exit: worth nothing); the exit proceeds
//!   `shares·P_H` are taxed at `capital_gains_rate` on the gain over the grant value.
//!
//! The two sides use independent streams (seed and seed + 1). Nothing here is ever paid.

use rand::Rng;
use serde::Serialize;

use crate::RiskError;
use crate::error::{check, non_negative, positive};
use crate::model::{Gbm, Model, spot};
use crate::sim::{Simulation, check_times, path_rng};
use crate::stats::{mean_sd_se, quantile, sorted};

/// The token side of the offer.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenSide {
    /// Token price at grant.
    pub s0: f64,
    /// Its price model (typically a high-volatility GBM, Merton or a bootstrap).
    pub model: Model,
    /// `(time in years, fraction of the grant)` per vest; fractions should sum to 1.
    pub vest_fractions: Vec<(f64, f64)>,
    /// Ordinary income tax rate applied at vest.
    pub ordinary_rate: f64,
}

/// The equity side of the offer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EquitySide {
    /// The share value's model (a GBM, typically lower volatility than the token).
    pub gbm: Gbm,
    /// Years until a liquidity event (IPO or acquisition).
    pub exit_years: f64,
    /// Probability that the exit happens at all.
    pub exit_probability: f64,
    /// Capital gains rate on the gain at exit (0 models QSBS's exclusion).
    pub capital_gains_rate: f64,
}

/// One side's summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Side {
    /// When the value can first be turned into cash, in words.
    pub liquidity_horizon: String,
    /// Years until the last of the value is liquid (expected, for equity: the exit date).
    pub liquidity_years: f64,
    /// Expected after-tax value realized.
    pub expected_value: f64,
    /// Standard error of `expected_value`.
    pub std_error: f64,
    /// 5th percentile of the after-tax value realized.
    pub p5_value: f64,
    /// Median after-tax value realized.
    pub p50_value: f64,
    /// How it is taxed, in words.
    pub tax_treatment: String,
    /// What it lets the holder vote on, in words.
    pub governance_rights: String,
}

/// The comparison, printable as a table ([`Comparison::rows`]) or JSON (serde).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Offer value at grant, in fiat.
    pub offer_value: f64,
    /// Paths simulated per side.
    pub paths: usize,
    /// The token grant.
    pub token: Side,
    /// The equity grant.
    pub equity: Side,
}

impl Comparison {
    /// The table: `[aspect, token, equity]` per row, values formatted to whole currency units.
    pub fn rows(&self) -> Vec<[String; 3]> {
        let money = |x: f64| format!("{x:.0}");
        vec![
            ["Liquidity horizon".into(), self.token.liquidity_horizon.clone(), self.equity.liquidity_horizon.clone()],
            ["Expected value (after tax)".into(), money(self.token.expected_value), money(self.equity.expected_value)],
            ["P5 value (after tax)".into(), money(self.token.p5_value), money(self.equity.p5_value)],
            ["Median value (after tax)".into(), money(self.token.p50_value), money(self.equity.p50_value)],
            ["Tax treatment".into(), self.token.tax_treatment.clone(), self.equity.tax_treatment.clone()],
            ["Governance rights".into(), self.token.governance_rights.clone(), self.equity.governance_rights.clone()],
        ]
    }
}

/// Compares a token grant with an equity grant of the same `offer_value`.
pub fn compare(
    offer_value: f64,
    token: &TokenSide,
    equity: &EquitySide,
    paths: usize,
    seed: u64,
) -> Result<Comparison, RiskError> {
    non_negative("offer_value", offer_value)?;
    spot(token.s0)?;
    let rate = |name, x: f64| check(name, "in 0..=1", x, (0.0..=1.0).contains(&x));
    rate("ordinary_rate", token.ordinary_rate)?;
    rate("exit_probability", equity.exit_probability)?;
    rate("capital_gains_rate", equity.capital_gains_rate)?;
    positive("exit_years", equity.exit_years)?;
    let times: Vec<f64> = token.vest_fractions.iter().map(|v| v.0).collect();
    check_times(&times)?;
    for v in &token.vest_fractions {
        non_negative("vest fraction", v.1)?;
    }
    let tokens = offer_value / token.s0;

    let keep = 1.0 - token.ordinary_rate;
    let sim = Simulation::new(token.model.clone(), token.s0, times.clone(), paths, seed)?;
    let token_values = sim.reduce(1, |prices, row| {
        row[0] = keep * token.vest_fractions.iter().zip(prices).map(|((_, f), p)| f * tokens * p).sum::<f64>();
    });

    // Equity: one price at the exit per path, and whether the exit happens (a uniform from the
    // path's own stream after its normal).
    let eq_sim = Simulation::new(Model::Gbm(equity.gbm), 1.0, vec![equity.exit_years], paths, seed.wrapping_add(1))?;
    let growth = eq_sim.matrix();
    let cg = equity.capital_gains_rate;
    let p = equity.exit_probability;
    let exits: Vec<f64> = (0..paths)
        .map(|i| {
            let mut rng = path_rng(seed.wrapping_add(2), i as u64);
            let u: f64 = rng.random();
            if u < p {
                let proceeds = offer_value * growth[i];
                proceeds - cg * (proceeds - offer_value).max(0.0)
            } else {
                0.0
            }
        })
        .collect();

    let last_vest = times.last().copied().unwrap_or(0.0);
    let first_vest = times.first().copied().unwrap_or(0.0);
    let token_side = summarize(
        token_values,
        format!("liquid at each vest, from {first_vest:.2} to {last_vest:.2} years (if listed on a DEX)"),
        last_vest,
        format!(
            "ordinary income at vest ({:.0}% here), capital gains on growth after vest",
            token.ordinary_rate * 100.0
        ),
        format!("direct protocol votes with vested tokens ({tokens:.0} tokens at full vest)"),
    );
    let equity_side = summarize(
        exits,
        format!("illiquid until an exit in {:.1} years ({:.0}% chance)", equity.exit_years, p * 100.0),
        equity.exit_years,
        format!("capital gains at exit ({:.0}% here; QSBS can exclude it)", cg * 100.0),
        "shareholder votes, usually minimal for employees".into(),
    );
    Ok(Comparison { offer_value, paths, token: token_side, equity: equity_side })
}

fn summarize(values: Vec<f64>, horizon: String, years: f64, tax: String, governance: String) -> Side {
    let (mean, _, se) = mean_sd_se(&values);
    let values = sorted(values);
    Side {
        liquidity_horizon: horizon,
        liquidity_years: years,
        expected_value: mean,
        std_error: se,
        p5_value: quantile(&values, 0.05),
        p50_value: quantile(&values, 0.5),
        tax_treatment: tax,
        governance_rights: governance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certain_exit_and_zero_vol_give_hand_values() {
        // Token: 100,000 at s0 = 1 → 100,000 tokens, σ = 0, μ = 0 → price stays 1; 40% tax →
        // 60,000. Equity: μ = ln(2)/4 over 4 years doubles to 200,000; gain 100,000 at 20% →
        // 200,000 − 20,000 = 180,000.
        let token = TokenSide {
            s0: 1.0,
            model: Model::Gbm(Gbm { mu: 0.0, sigma: 0.0 }),
            vest_fractions: vec![(1.0, 0.5), (2.0, 0.5)],
            ordinary_rate: 0.4,
        };
        let equity = EquitySide {
            gbm: Gbm { mu: 2f64.ln() / 4.0, sigma: 0.0 },
            exit_years: 4.0,
            exit_probability: 1.0,
            capital_gains_rate: 0.2,
        };
        let c = compare(100_000.0, &token, &equity, 100, 7).expect("valid inputs");
        assert!((c.token.expected_value - 60_000.0).abs() < 1e-6);
        assert!((c.token.p5_value - 60_000.0).abs() < 1e-6);
        assert!((c.equity.expected_value - 180_000.0).abs() < 1e-6);
        assert_eq!(c.rows().len(), 6);
    }
}
