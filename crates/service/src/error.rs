//! The one error of every use case: what went wrong, in the terms a caller acts on. The CLI
//! turns it into an exit code in one place (`main`), the API into an HTTP status and a code in
//! one place (`tokencomp_api::error`); `docs/errors.md` is the table of both.

use std::fmt::Display;

/// What a use case refuses or fails with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Bad input, naming where it came from (a flag such as `--period 2026-13`, a field such as
    /// `path.period`, a file such as `[tokenomics]`).
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// A whole input file refused: `text` is every problem, one `error: … / --> file:line:column`
    /// block each, as the CLI prints it (empty when the caller already said it).
    #[error("{}", if text.is_empty() { "bad input" } else { text.as_str() })]
    Rejected { field: String, text: String },
    /// What the request names does not exist (a person, a grant, a deployment).
    #[error("{message}")]
    NotFound { field: String, message: String },
    /// The ledger is not yet where the request needs it (a period closed before it was run).
    #[error("{message}")]
    NotReady { field: String, message: String },
    /// The request contradicts what is recorded (the same event id with other content, a
    /// delegation cycle).
    #[error("{message}")]
    Conflict { field: String, message: String },
    /// The ledger lacks what the answer needs (a price, an exchange rate): the message says what.
    #[error("{0}")]
    Incomplete(String),
    /// The ledger failed (not the caller's fault).
    #[error("{0}")]
    Store(String),
    /// The chain (the embedded one or a node) failed, or a key for it.
    #[error("{0}")]
    Chain(String),
    /// Anything else that is not the caller's fault: a file that cannot be written, a bug.
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Bad input at `field`.
    pub fn invalid(message: impl Display, field: &str) -> Error {
        Error::Invalid { field: field.to_owned(), message: message.to_string() }
    }

    pub fn not_found(message: impl Display, field: &str) -> Error {
        Error::NotFound { field: field.to_owned(), message: message.to_string() }
    }

    pub fn internal(message: impl Display) -> Error {
        Error::Internal(message.to_string())
    }

    /// Whether the caller can fix it by changing the request (the CLI's exit code 2).
    pub fn is_input(&self) -> bool {
        matches!(self, Error::Invalid { .. } | Error::Rejected { .. } | Error::NotFound { .. } | Error::Conflict { .. })
    }

    /// The field or place the error names, when it names one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. }
            | Error::Rejected { field, .. }
            | Error::NotFound { field, .. }
            | Error::NotReady { field, .. }
            | Error::Conflict { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The same error with `context` in front of a failure's message, as `anyhow` would print
    /// it; a refusal of the input keeps its own message (it already says where).
    pub fn context(self, context: impl Display) -> Error {
        match self {
            Error::Incomplete(m) => Error::Incomplete(format!("{context}: {m}")),
            Error::Store(m) => Error::Store(format!("{context}: {m}")),
            Error::Chain(m) => Error::Chain(format!("{context}: {m}")),
            Error::Internal(m) => Error::Internal(format!("{context}: {m}")),
            other => other,
        }
    }
}

/// `error` and its sources, joined by `: ` (as `anyhow` prints a chain).
pub fn chain_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Bad input at `field` (the name the CLI's modules used before they moved here).
pub(crate) fn bad_input(message: impl Display, field: &str) -> Error {
    Error::invalid(message, field)
}

/// `anyhow`'s `context`/`with_context`, for the service's own [`Error`].
pub(crate) trait Context<T> {
    fn context(self, context: impl Display) -> Result<T>;
    fn with_context<C: Display>(self, f: impl FnOnce() -> C) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context(self, context: impl Display) -> Result<T> {
        self.map_err(|e| e.into().context(context))
    }
    fn with_context<C: Display>(self, f: impl FnOnce() -> C) -> Result<T> {
        self.map_err(|e| e.into().context(f()))
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, context: impl Display) -> Result<T> {
        self.ok_or_else(|| Error::Internal(context.to_string()))
    }
    fn with_context<C: Display>(self, f: impl FnOnce() -> C) -> Result<T> {
        self.ok_or_else(|| Error::Internal(f().to_string()))
    }
}

/// `return Err(Error::Internal(format!(…)))`.
macro_rules! bail {
    ($($t:tt)*) => { return Err($crate::Error::Internal(format!($($t)*))) };
}
pub(crate) use bail;

macro_rules! from_as {
    ($variant:ident: $($t:ty),* $(,)?) => {
        $(impl From<$t> for Error {
            fn from(e: $t) -> Error {
                Error::$variant(chain_text(&e))
            }
        })*
    };
}

// A conflicting event is the caller's (the same id with other content); the rest is the ledger's.
impl From<tokencomp_store::StoreError> for Error {
    fn from(e: tokencomp_store::StoreError) -> Error {
        match e {
            e @ tokencomp_store::StoreError::Conflict { .. } => {
                Error::Conflict { field: "ledger".into(), message: chain_text(&e) }
            }
            e => Error::Store(chain_text(&e)),
        }
    }
}

from_as!(Store: tokencomp_store::ledger::FoldError);
from_as!(Chain:
    tokencomp_chain::BackendError,
    tokencomp_chain::KeyError,
    tokencomp_chain::ops::OpsError,
    tokencomp_chain::attest::AttestError,
);
// What a report cannot compute from what is recorded (a missing price or rate) is the ledger's
// gap, said as such.
from_as!(Incomplete:
    tokencomp_compliance::payroll::PayrollError,
    tokencomp_compliance::statements::StatementError,
    tokencomp_compliance::accounting::AccountingError,
    tokencomp_compliance::books::BooksError,
    tokencomp_compliance::fmv::FmvError,
    tokencomp_compliance::fmv::TwapError,
    tokencomp_compliance::lots::LotError,
    tokencomp_compliance::withholding::WithholdingError,
    tokencomp_compliance::settle::SettleError,
    tokencomp_core::fairness::FairnessError,
);
from_as!(Internal:
    std::io::Error,
    serde_json::Error,
    jiff::Error,
    std::num::TryFromIntError,
    tokencomp_money::AmountError,
    tokencomp_money::FiatError,
    tokencomp_core::GrantError,
    tokencomp_core::schedule::ScheduleError,
    tokencomp_compliance::rules::RulesError,
    tokencomp_core::tokenomics::TokenomicsError,
    tokencomp_core::amm::AmmError,
    tokencomp_core::governance::GovError,
    tokencomp_core::attestation::ValueError,
    tokencomp_core::attestation::RegistryError,
    tokencomp_risk::RiskError,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_prefixes_a_failure_and_leaves_a_refusal_as_it_was() {
        let failed: Result<()> = Err(Error::Store("database error: locked".into()));
        assert_eq!(failed.context("opening x").err(), Some(Error::Store("opening x: database error: locked".into())));
        let refused: Result<()> = Err(Error::invalid("`x` is not a date", "--from"));
        assert_eq!(refused.context("reading").err(), Some(Error::invalid("`x` is not a date", "--from")));
        assert!(Error::invalid("m", "f").is_input() && !Error::Incomplete("m".into()).is_input());
        assert!(!Error::NotReady { field: "f".into(), message: "m".into() }.is_input());
    }

    #[test]
    fn a_conflicting_event_is_the_callers_and_other_store_failures_are_the_ledgers() {
        let conflict = tokencomp_store::StoreError::Conflict {
            id: "e".into(),
            field: "payload",
            stored: "a".into(),
            given: "b".into(),
        };
        assert!(matches!(Error::from(conflict), Error::Conflict { .. }));
        assert!(matches!(Error::from(tokencomp_store::StoreError::Backend("x".into())), Error::Store(_)));
    }
}
