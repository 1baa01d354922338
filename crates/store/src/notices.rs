//! The notices' outbox: each notice once, keyed by an idempotency key derived from its cause,
//! a delivery log with one row per attempt, and each person's choice of what they receive.
//! Mutable tables beside the ledger (migration 3 on both backends, each backend's SQL in its own
//! module), outside its hash chain:
//! `verify-ledger` does not read them and nothing here is a fact about the company.
//!
//! Must never: hold a secret (an address is an email address or a webhook endpoint's name,
//! never its URL's credentials or signing secret), read the clock (times are parameters, unix
//! seconds), or hand the same due notice to two schedulers at once ([`Outbox::claim`] leases it).

use crate::StoreError;

/// A notice to send, as the scheduler builds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewNotice {
    /// The idempotency key: the same cause, kind, recipient and channel give the same key, so
    /// enqueueing again is a no-op.
    pub key: String,
    /// `vest`, `upcoming_vest`, `milestone`, `period_closed` or `wallet_change`.
    pub kind: String,
    /// `email` or `webhook`.
    pub channel: String,
    /// Who it is for: `person:ID`, `admins`, or `webhook:NAME`.
    pub recipient: String,
    /// An email address, or the webhook endpoint's name in the company's notices file.
    pub address: String,
    pub subject: String,
    /// Plain text for email; the JSON payload for a webhook.
    pub body: String,
}

/// A notice in the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    pub notice: NewNotice,
    pub created_at: i64,
    pub next_at: i64,
    pub attempts: i64,
    /// `pending`, `sent` or `failed` (attempts exhausted).
    pub state: String,
}

/// One delivery attempt, as the log keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub key: String,
    pub attempt: i64,
    pub at: i64,
    pub ok: bool,
    /// What the server answered (status line or SMTP reply), bounded; never a secret.
    pub detail: String,
}

/// The longest detail the log keeps.
pub const DETAIL_MAX: usize = 500;

/// The outbox, the delivery log and the preferences, on either backend.
pub trait Outbox {
    /// Adds the notices not already present (by key), in one transaction; returns how many were
    /// new. `now` is their creation and first due time.
    fn enqueue(&mut self, notices: &[NewNotice], now: i64) -> Result<usize, StoreError>;
    /// Up to `limit` pending notices due at `now`, oldest first, each leased until `lease_until`
    /// (its due time moves there) so another scheduler does not take it meanwhile.
    fn claim(&mut self, now: i64, lease_until: i64, limit: usize) -> Result<Vec<Queued>, StoreError>;
    /// Logs an attempt and moves its notice on: `sent` when it succeeded, else due again at
    /// `retry_at`, or `failed` when `retry_at` is `None` (attempts exhausted).
    fn record_attempt(&mut self, attempt: &Attempt, retry_at: Option<i64>) -> Result<(), StoreError>;
    /// Every notice, by creation then key (for the CLI's listing and tests), at most `limit`.
    fn queued(&mut self, limit: usize) -> Result<Vec<Queued>, StoreError>;
    /// The log of one notice's attempts, in order.
    fn attempts(&mut self, key: &str) -> Result<Vec<Attempt>, StoreError>;
    /// A person's choices that differ from the default (on): (kind, enabled).
    fn prefs(&mut self, person: &str) -> Result<Vec<(String, bool)>, StoreError>;
    /// Sets a person's choices, replacing the given kinds, in one transaction.
    fn set_prefs(&mut self, person: &str, prefs: &[(String, bool)]) -> Result<(), StoreError>;
}

pub(crate) fn bounded(detail: &str) -> String {
    let mut end = detail.len().min(DETAIL_MAX);
    while !detail.is_char_boundary(end) {
        end -= 1;
    }
    detail[..end].to_owned()
}

pub(crate) fn limit_i64(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

pub(crate) const QUEUED_COLUMNS: &str =
    "key, kind, channel, recipient, address, subject, body, created_at, next_at, attempts, state";
