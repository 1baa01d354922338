//! The crate's one error type: every input is checked before a simulation starts.

/// Why a model, a simulation or a valuation refused its inputs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RiskError {
    /// A parameter is outside its domain (`rule` says what is allowed).
    #[error("{name} must be {rule}, got {value}")]
    Parameter {
        /// The parameter's name, as the API spells it.
        name: &'static str,
        /// What is allowed, in words.
        rule: &'static str,
        /// The value given.
        value: f64,
    },
    /// A price history with too few closes to estimate anything.
    #[error("a price history needs at least {needed} closes, got {got}")]
    History {
        /// Closes needed.
        needed: usize,
        /// Closes given.
        got: usize,
    },
    /// A close that is not a positive finite price.
    #[error("close {index} is {value}: closes must be positive and finite")]
    Close {
        /// Index of the close in the history.
        index: usize,
        /// The close.
        value: f64,
    },
    /// Monitoring or vest times must be finite, within `0..=MAX_YEARS` and non-decreasing.
    #[error("time {index} is {value} years: times must be finite, in 0..=100 and non-decreasing")]
    Times {
        /// Index of the offending time.
        index: usize,
        /// The time, in years.
        value: f64,
    },
}

/// Checks `value` with `ok`, naming it in the error.
pub(crate) fn check(name: &'static str, rule: &'static str, value: f64, ok: bool) -> Result<f64, RiskError> {
    if ok && !value.is_nan() { Ok(value) } else { Err(RiskError::Parameter { name, rule, value }) }
}

/// A finite value ≥ 0.
pub(crate) fn non_negative(name: &'static str, value: f64) -> Result<f64, RiskError> {
    check(name, "finite and at least 0", value, value.is_finite() && value >= 0.0)
}

/// A finite value > 0.
pub(crate) fn positive(name: &'static str, value: f64) -> Result<f64, RiskError> {
    check(name, "finite and greater than 0", value, value.is_finite() && value > 0.0)
}

/// Any finite value.
pub(crate) fn finite(name: &'static str, value: f64) -> Result<f64, RiskError> {
    check(name, "finite", value, value.is_finite())
}
