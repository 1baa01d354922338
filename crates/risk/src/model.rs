//! Price models: geometric Brownian motion, Merton jump-diffusion and the bootstrap of a price
//! history, plus `estimate`, which turns recorded closes into the parameters shown to the user.
//!
//! Rates are annualized over 365 days: crypto trades every day, so a daily close is 1/365 of a
//! year (an equity desk would use 252 trading days). A model only describes a price; it never
//! draws anything itself (the engine in `sim` does, with a generator per path).

use serde::Serialize;

use crate::RiskError;
use crate::error::{finite, non_negative, positive};

/// Days in a year for annualizing daily returns (crypto trades every calendar day).
pub const DAYS_PER_YEAR: f64 = 365.0;

/// Geometric Brownian motion: `dS = μS dt + σS dW`, stepped exactly:
/// `S_{t+dt} = S_t · exp((μ − σ²/2)dt + σ√dt Z)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Gbm {
    /// Annual drift μ (continuously compounded expected growth: `E[S_t] = S0·e^{μt}`).
    pub mu: f64,
    /// Annual volatility σ.
    pub sigma: f64,
}

impl Gbm {
    /// Checks μ is finite and σ ≥ 0.
    pub fn new(mu: f64, sigma: f64) -> Result<Gbm, RiskError> {
        Ok(Gbm { mu: finite("mu", mu)?, sigma: non_negative("sigma", sigma)? })
    }
}

/// Merton jump-diffusion: GBM plus jumps arriving at Poisson rate `lambda` per year, each
/// multiplying the price by `e^J` with `J ~ N(jump_mean, jump_std²)`. The diffusion's drift is
/// compensated by `λκ`, `κ = E[e^J] − 1`, so `E[S_t] = S0·e^{μt}` as for GBM.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Merton {
    /// Annual drift μ of the price (after compensation for the jumps).
    pub mu: f64,
    /// Annual volatility of the diffusion part.
    pub sigma: f64,
    /// Expected jumps per year.
    pub lambda: f64,
    /// Mean of a jump's log size.
    pub jump_mean: f64,
    /// Standard deviation of a jump's log size.
    pub jump_std: f64,
}

impl Merton {
    /// Checks μ and the jump mean are finite, σ, λ and the jump std at least 0.
    pub fn new(mu: f64, sigma: f64, lambda: f64, jump_mean: f64, jump_std: f64) -> Result<Merton, RiskError> {
        Ok(Merton {
            mu: finite("mu", mu)?,
            sigma: non_negative("sigma", sigma)?,
            lambda: non_negative("lambda", lambda)?,
            jump_mean: finite("jump_mean", jump_mean)?,
            jump_std: non_negative("jump_std", jump_std)?,
        })
    }

    /// `κ = E[e^J] − 1 = e^{m + δ²/2} − 1`, the mean relative jump.
    pub fn kappa(&self) -> f64 {
        (self.jump_mean + 0.5 * self.jump_std * self.jump_std).exp_m1()
    }
}

/// Bootstrap from a history: a path's daily log returns are drawn with replacement from the
/// history's, in blocks of `block` consecutive days (circularly, so every day can start a block)
/// to keep short-range dependence such as volatility clustering. `block = 1` is the plain i.i.d.
/// bootstrap. A monitoring time `t` years ahead is `round(365·t)` days ahead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bootstrap {
    returns: Vec<f64>,
    block: usize,
}

impl Bootstrap {
    /// From daily closes (at least 2, all positive), resampling blocks of `block ≥ 1` days.
    pub fn from_closes(closes: &[f64], block: usize) -> Result<Bootstrap, RiskError> {
        Bootstrap::from_returns(log_returns(closes)?, block)
    }

    /// From daily log returns (at least one, all finite).
    pub fn from_returns(returns: Vec<f64>, block: usize) -> Result<Bootstrap, RiskError> {
        if returns.is_empty() {
            return Err(RiskError::History { needed: 2, got: returns.len() + 1 });
        }
        for (index, &value) in returns.iter().enumerate() {
            if !value.is_finite() {
                return Err(RiskError::Close { index: index + 1, value });
            }
        }
        if block == 0 || block > returns.len() {
            return Err(RiskError::Parameter {
                name: "block",
                rule: "between 1 and the number of returns",
                value: usize_f64(block),
            });
        }
        Ok(Bootstrap { returns, block })
    }

    /// The daily log returns resampled.
    pub fn returns(&self) -> &[f64] {
        &self.returns
    }

    /// The block length in days.
    pub fn block(&self) -> usize {
        self.block
    }

    /// The same history shifted by a constant so that one day's gross return has mean
    /// `e^{r/365}` over the empirical distribution: the discrete martingale condition, used for
    /// risk-neutral pricing (exact for `block = 1`; blocks keep the same daily shift).
    pub fn risk_neutral(&self, r: f64) -> Bootstrap {
        let n = usize_f64(self.returns.len());
        let mean_gross = self.returns.iter().map(|x| x.exp()).sum::<f64>() / n;
        let shift = r / DAYS_PER_YEAR - mean_gross.ln();
        Bootstrap { returns: self.returns.iter().map(|x| x + shift).collect(), block: self.block }
    }
}

/// A price model for the simulation engine.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Model {
    /// Geometric Brownian motion.
    Gbm(Gbm),
    /// Merton jump-diffusion.
    Merton(Merton),
    /// Bootstrap of a price history.
    Bootstrap(Bootstrap),
}

impl Model {
    /// The same model under the risk-neutral measure with rate `r`: GBM and Merton get `μ = r`,
    /// a bootstrap is shifted as [`Bootstrap::risk_neutral`] says.
    pub fn risk_neutral(&self, r: f64) -> Model {
        match self {
            Model::Gbm(g) => Model::Gbm(Gbm { mu: r, ..*g }),
            Model::Merton(m) => Model::Merton(Merton { mu: r, ..*m }),
            Model::Bootstrap(b) => Model::Bootstrap(b.risk_neutral(r)),
        }
    }
}

/// Daily log returns `ln(c[i+1]/c[i])` of closes (at least 2, all positive and finite).
pub fn log_returns(closes: &[f64]) -> Result<Vec<f64>, RiskError> {
    if closes.len() < 2 {
        return Err(RiskError::History { needed: 2, got: closes.len() });
    }
    for (index, &value) in closes.iter().enumerate() {
        if !(value.is_finite() && value > 0.0) {
            return Err(RiskError::Close { index, value });
        }
    }
    Ok(closes.windows(2).map(|w| (w[1] / w[0]).ln()).collect())
}

/// What a price history says about GBM's parameters, for the user to see (and to question:
/// the drift of a short history is mostly noise, which `mu_std_error` shows).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// Annual drift of the price, `μ = 365·mean + σ²/2` (so `E[S_t] = S0·e^{μt}`).
    pub mu: f64,
    /// Annual volatility, `σ = std·√365`.
    pub sigma: f64,
    /// Standard error of `mu`: `σ/√(years of history)`.
    pub mu_std_error: f64,
    /// Number of daily returns (closes − 1).
    pub days: usize,
    /// Mean daily log return.
    pub mean_daily_log_return: f64,
    /// Sample standard deviation of the daily log returns (n − 1 in the denominator).
    pub std_daily_log_return: f64,
    /// First close.
    pub first_close: f64,
    /// Last close.
    pub last_close: f64,
    /// Worst daily log return.
    pub min_daily_log_return: f64,
    /// Best daily log return.
    pub max_daily_log_return: f64,
}

impl Estimate {
    /// The GBM these parameters describe.
    pub fn gbm(&self) -> Gbm {
        Gbm { mu: self.mu, sigma: self.sigma }
    }
}

/// Estimates GBM's annual drift and volatility from daily closes (at least 3, all positive),
/// annualized with [`DAYS_PER_YEAR`] = 365.
pub fn estimate(closes: &[f64]) -> Result<Estimate, RiskError> {
    if closes.len() < 3 {
        return Err(RiskError::History { needed: 3, got: closes.len() });
    }
    let returns = log_returns(closes)?;
    let n = usize_f64(returns.len());
    let mean = returns.iter().sum::<f64>() / n;
    let var = returns.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    let std = var.sqrt();
    let sigma = std * DAYS_PER_YEAR.sqrt();
    let years = n / DAYS_PER_YEAR;
    Ok(Estimate {
        mu: mean * DAYS_PER_YEAR + 0.5 * sigma * sigma,
        sigma,
        mu_std_error: sigma / years.sqrt(),
        days: returns.len(),
        mean_daily_log_return: mean,
        std_daily_log_return: std,
        first_close: closes[0],
        last_close: closes[closes.len() - 1],
        min_daily_log_return: returns.iter().copied().fold(f64::INFINITY, f64::min),
        max_daily_log_return: returns.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    })
}

/// A count as a float (exact below 2^53, which every count here is).
#[allow(clippy::cast_precision_loss)]
pub(crate) fn usize_f64(n: usize) -> f64 {
    n as f64
}

/// Checks a positive spot price.
pub(crate) fn spot(s0: f64) -> Result<f64, RiskError> {
    positive("s0", s0)
}
