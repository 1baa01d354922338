//! What a token package is worth under volatility: price models (GBM, Merton jump-diffusion,
//! bootstrap from a price history), a parallel Monte Carlo engine that is reproducible at any
//! thread count, Black–Scholes and Merton closed forms, the realized value of a package, the
//! employer's cost of a fiat floor, and token vs equity side by side.
//!
//! Everything here is an estimate in `f64`: nothing computed in this crate is ever paid,
//! withheld, booked or released (those amounts are exact, in `tokencomp-money` and
//! `tokencomp-core`). The API takes and returns plain `f64` so the CLI can feed it.

// The risk code is floating-point by nature; the workspace warns on float arithmetic so that no
// float reaches money elsewhere, and this crate is the one place where floats are the point.
#![allow(clippy::float_arithmetic)]

pub mod closed;
pub mod compare;
mod error;
pub mod floor;
pub mod model;
pub mod package;
pub mod sim;
mod stats;

pub use error::RiskError;
pub use model::{Bootstrap, DAYS_PER_YEAR, Estimate, Gbm, Merton, Model, estimate, log_returns};
pub use package::{Distribution, FanPoint, Package, Vest, tokens_f64, value_package};
pub use sim::{Simulation, path_rng};
