//! The notices' outbox: each notice once, keyed by an idempotency key derived from its cause,
//! a delivery log with one row per attempt, and each person's choice of what they receive.
//! Mutable tables beside the ledger (migration 3 on both backends), outside its hash chain:
//! `verify-ledger` does not read them and nothing here is a fact about the company.
//!
//! Must never: hold a secret (an address is an email address or a webhook endpoint's name,
//! never its URL's credentials or signing secret), read the clock (times are parameters, unix
//! seconds), or hand the same due notice to two schedulers at once ([`Outbox::claim`] leases it).

use rusqlite::params;

use crate::StoreError;
use crate::postgres::PostgresStore;
use crate::sqlite::SqliteStore;

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

fn bounded(detail: &str) -> String {
    let mut end = detail.len().min(DETAIL_MAX);
    while !detail.is_char_boundary(end) {
        end -= 1;
    }
    detail[..end].to_owned()
}

fn limit_i64(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

const QUEUED_COLUMNS: &str =
    "key, kind, channel, recipient, address, subject, body, created_at, next_at, attempts, state";

fn sqlite_queued(r: &rusqlite::Row<'_>) -> rusqlite::Result<Queued> {
    Ok(Queued {
        notice: NewNotice {
            key: r.get(0)?,
            kind: r.get(1)?,
            channel: r.get(2)?,
            recipient: r.get(3)?,
            address: r.get(4)?,
            subject: r.get(5)?,
            body: r.get(6)?,
        },
        created_at: r.get(7)?,
        next_at: r.get(8)?,
        attempts: r.get(9)?,
        state: r.get(10)?,
    })
}

impl Outbox for SqliteStore {
    fn enqueue(&mut self, notices: &[NewNotice], now: i64) -> Result<usize, StoreError> {
        let tx = self.connection().transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut new = 0;
        for n in notices {
            new += tx.execute(
                "INSERT INTO notice_outbox (key, kind, channel, recipient, address, subject, body, created_at, \
                 next_at, attempts, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, 0, 'pending') \
                 ON CONFLICT (key) DO NOTHING",
                params![n.key, n.kind, n.channel, n.recipient, n.address, n.subject, n.body, now],
            )?;
        }
        tx.commit()?;
        Ok(new)
    }

    fn claim(&mut self, now: i64, lease_until: i64, limit: usize) -> Result<Vec<Queued>, StoreError> {
        let tx = self.connection().transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let rows = {
            let mut st = tx.prepare(&format!(
                "SELECT {QUEUED_COLUMNS} FROM notice_outbox WHERE state = 'pending' AND next_at <= ?1 \
                 ORDER BY next_at, created_at, key LIMIT ?2"
            ))?;
            st.query_map(params![now, limit_i64(limit)], sqlite_queued)?.collect::<rusqlite::Result<Vec<_>>>()?
        };
        for q in &rows {
            tx.execute("UPDATE notice_outbox SET next_at = ?1 WHERE key = ?2", params![lease_until, q.notice.key])?;
        }
        tx.commit()?;
        Ok(rows)
    }

    fn record_attempt(&mut self, a: &Attempt, retry_at: Option<i64>) -> Result<(), StoreError> {
        let tx = self.connection().transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO notice_attempts (key, attempt, at, ok, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![a.key, a.attempt, a.at, i64::from(a.ok), bounded(&a.detail)],
        )?;
        let (state, next) = match (a.ok, retry_at) {
            (true, _) => ("sent", a.at),
            (false, Some(t)) => ("pending", t),
            (false, None) => ("failed", a.at),
        };
        tx.execute(
            "UPDATE notice_outbox SET state = ?1, next_at = ?2, attempts = ?3 WHERE key = ?4",
            params![state, next, a.attempt, a.key],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn queued(&mut self, limit: usize) -> Result<Vec<Queued>, StoreError> {
        let mut st = self
            .connection()
            .prepare(&format!("SELECT {QUEUED_COLUMNS} FROM notice_outbox ORDER BY created_at, key LIMIT ?1"))?;
        Ok(st.query_map(params![limit_i64(limit)], sqlite_queued)?.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn attempts(&mut self, key: &str) -> Result<Vec<Attempt>, StoreError> {
        let mut st = self
            .connection()
            .prepare("SELECT key, attempt, at, ok, detail FROM notice_attempts WHERE key = ?1 ORDER BY attempt")?;
        let rows = st
            .query_map(params![key], |r| {
                Ok(Attempt {
                    key: r.get(0)?,
                    attempt: r.get(1)?,
                    at: r.get(2)?,
                    ok: r.get::<_, i64>(3)? == 1,
                    detail: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn prefs(&mut self, person: &str) -> Result<Vec<(String, bool)>, StoreError> {
        let mut st =
            self.connection().prepare("SELECT kind, enabled FROM notice_prefs WHERE person = ?1 ORDER BY kind")?;
        let rows = st
            .query_map(params![person], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? == 1)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn set_prefs(&mut self, person: &str, prefs: &[(String, bool)]) -> Result<(), StoreError> {
        let tx = self.connection().transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for (kind, enabled) in prefs {
            tx.execute(
                "INSERT INTO notice_prefs (person, kind, enabled) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (person, kind) DO UPDATE SET enabled = excluded.enabled",
                params![person, kind, i64::from(*enabled)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

fn pg_queued(r: &postgres::Row) -> Result<Queued, StoreError> {
    Ok(Queued {
        notice: NewNotice {
            key: r.try_get(0)?,
            kind: r.try_get(1)?,
            channel: r.try_get(2)?,
            recipient: r.try_get(3)?,
            address: r.try_get(4)?,
            subject: r.try_get(5)?,
            body: r.try_get(6)?,
        },
        created_at: r.try_get(7)?,
        next_at: r.try_get(8)?,
        attempts: r.try_get(9)?,
        state: r.try_get(10)?,
    })
}

impl Outbox for PostgresStore {
    fn enqueue(&mut self, notices: &[NewNotice], now: i64) -> Result<usize, StoreError> {
        let mut tx = self.client().transaction()?;
        let mut new = 0u64;
        for n in notices {
            new += tx.execute(
                "INSERT INTO notice_outbox (key, kind, channel, recipient, address, subject, body, created_at, \
                 next_at, attempts, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 0, 'pending') \
                 ON CONFLICT (key) DO NOTHING",
                &[&n.key, &n.kind, &n.channel, &n.recipient, &n.address, &n.subject, &n.body, &now],
            )?;
        }
        tx.commit()?;
        Ok(usize::try_from(new).unwrap_or(usize::MAX))
    }

    fn claim(&mut self, now: i64, lease_until: i64, limit: usize) -> Result<Vec<Queued>, StoreError> {
        let mut tx = self.client().transaction()?;
        // SKIP LOCKED: two servers on one database each take different notices.
        let rows = tx.query(
            &format!(
                "SELECT {QUEUED_COLUMNS} FROM notice_outbox WHERE state = 'pending' AND next_at <= $1 \
                 ORDER BY next_at, created_at, key LIMIT $2 FOR UPDATE SKIP LOCKED"
            ),
            &[&now, &limit_i64(limit)],
        )?;
        let rows = rows.iter().map(pg_queued).collect::<Result<Vec<_>, _>>()?;
        for q in &rows {
            tx.execute("UPDATE notice_outbox SET next_at = $1 WHERE key = $2", &[&lease_until, &q.notice.key])?;
        }
        tx.commit()?;
        Ok(rows)
    }

    fn record_attempt(&mut self, a: &Attempt, retry_at: Option<i64>) -> Result<(), StoreError> {
        let mut tx = self.client().transaction()?;
        tx.execute(
            "INSERT INTO notice_attempts (key, attempt, at, ok, detail) VALUES ($1, $2, $3, $4, $5)",
            &[&a.key, &a.attempt, &a.at, &i64::from(a.ok), &bounded(&a.detail)],
        )?;
        let (state, next) = match (a.ok, retry_at) {
            (true, _) => ("sent", a.at),
            (false, Some(t)) => ("pending", t),
            (false, None) => ("failed", a.at),
        };
        tx.execute(
            "UPDATE notice_outbox SET state = $1, next_at = $2, attempts = $3 WHERE key = $4",
            &[&state, &next, &a.attempt, &a.key],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn queued(&mut self, limit: usize) -> Result<Vec<Queued>, StoreError> {
        let rows = self.client().query(
            &format!("SELECT {QUEUED_COLUMNS} FROM notice_outbox ORDER BY created_at, key LIMIT $1"),
            &[&limit_i64(limit)],
        )?;
        rows.iter().map(pg_queued).collect()
    }

    fn attempts(&mut self, key: &str) -> Result<Vec<Attempt>, StoreError> {
        let rows = self.client().query(
            "SELECT key, attempt, at, ok, detail FROM notice_attempts WHERE key = $1 ORDER BY attempt",
            &[&key],
        )?;
        rows.iter()
            .map(|r| {
                Ok(Attempt {
                    key: r.try_get(0)?,
                    attempt: r.try_get(1)?,
                    at: r.try_get(2)?,
                    ok: r.try_get::<_, i64>(3)? == 1,
                    detail: r.try_get(4)?,
                })
            })
            .collect()
    }

    fn prefs(&mut self, person: &str) -> Result<Vec<(String, bool)>, StoreError> {
        let rows = self
            .client()
            .query("SELECT kind, enabled FROM notice_prefs WHERE person = $1 ORDER BY kind", &[&person])?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get::<_, i64>(1)? == 1))).collect()
    }

    fn set_prefs(&mut self, person: &str, prefs: &[(String, bool)]) -> Result<(), StoreError> {
        let mut tx = self.client().transaction()?;
        for (kind, enabled) in prefs {
            tx.execute(
                "INSERT INTO notice_prefs (person, kind, enabled) VALUES ($1, $2, $3) \
                 ON CONFLICT (person, kind) DO UPDATE SET enabled = EXCLUDED.enabled",
                &[&person, kind, &i64::from(*enabled)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}
