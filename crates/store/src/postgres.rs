//! The PostgreSQL backend (`--database postgres://…`), with the same migrations (by version)
//! and the same semantics as SQLite. Amounts are `NUMERIC(39,0)`, passed as text so no digit
//! is ever converted through a float.

use std::collections::HashMap;

use jiff::Timestamp;
use postgres::{Client, NoTls, Row};
use tokencomp_money::TokenAmount;

use crate::{
    Appended, Decide, EventKind, GENESIS, LedgerRead, NewEvent, POSTGRES_MIGRATIONS, Store, StoreError, StoredEvent,
    Subject, format_time, hash_event, same_content,
};

pub struct PostgresStore {
    client: Client,
    /// The URL without its password, for messages.
    shown: String,
    /// The URL as given, for a second connection ([`Store::logins`]); never shown.
    url: String,
}

const COLUMNS: &str = "seq, event_id, kind, subject, payload, amount::text, actor, recorded_at, prev_hash, hash";

fn redact(url: &str) -> String {
    // postgres://user:secret@host/db → postgres://user:***@host/db
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn to_event(r: &Row) -> Result<StoredEvent, StoreError> {
    let amount: Option<String> = r.try_get(5)?;
    let amount =
        amount.map(|a| a.parse::<TokenAmount>()).transpose().map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let recorded_at: String = r.try_get(7)?;
    let (seq, id, kind): (i64, String, String) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
    Ok(StoredEvent {
        seq,
        event: NewEvent {
            // The same parse as SQLite's rows: an unknown kind names the event.
            kind: EventKind::stored(seq, &id, &kind)?,
            id,
            subject: r.try_get(3)?,
            payload: r.try_get(4)?,
            amount,
            actor: r.try_get(6)?,
        },
        recorded_at: recorded_at.parse().map_err(|e: jiff::Error| StoreError::Corrupt(e.to_string()))?,
        prev_hash: r.try_get(8)?,
        hash: r.try_get(9)?,
    })
}

impl PostgresStore {
    /// Connects and brings the schema up to date (migrations are serialized by an advisory lock).
    pub fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let client = Client::connect(url, NoTls)?;
        let mut store = PostgresStore { client, shown: redact(url), url: url.to_owned() };
        store.migrate()?;
        Ok(store)
    }

    /// The raw client, for tests and benchmarks that measure against plain SQL.
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let mut tx = self.client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock(7307466)", &[])?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL)",
        )?;
        for (version, name, sql) in POSTGRES_MIGRATIONS {
            let done = tx.query_opt("SELECT version FROM schema_migrations WHERE version = $1", &[version])?;
            if done.is_none() {
                tx.batch_execute(sql)?;
                tx.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", &[version, name])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// The ledger-wide write lock's key (`pg_advisory_xact_lock`; the migrations use 7307466).
const WRITE_LOCK: i64 = 7_307_467;

/// Takes the ledger-wide write lock for the rest of `tx`: every writer takes it first, so a
/// guarded write's read, check and append see no other writer in between. The table lock
/// keeps the chain's single head even against a writer that does not take the advisory lock.
/// Under READ COMMITTED each later statement of `tx` reads the latest commit.
fn lock(tx: &mut postgres::Transaction<'_>) -> Result<(), StoreError> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])?;
    tx.batch_execute("LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE")?;
    Ok(())
}

fn head(tx: &mut postgres::Transaction<'_>) -> Result<Option<(i64, String)>, StoreError> {
    match tx.query_opt("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1", &[])? {
        Some(r) => Ok(Some((r.try_get(0)?, r.try_get(1)?))),
        None => Ok(None),
    }
}

/// Appends `batch` after the head inside `tx` (the caller holds the write lock).
fn insert_batch(tx: &mut postgres::Transaction<'_>, batch: &[NewEvent], at: &str) -> Result<Appended, StoreError> {
    let (mut seq, mut prev): (i64, String) = head(tx)?.unwrap_or((0, GENESIS.to_owned()));
    // Every id of the batch already stored, in one round trip.
    let ids: Vec<&str> = batch.iter().map(|e| e.id.as_str()).collect();
    let mut stored: HashMap<String, NewEvent> = HashMap::new();
    for r in tx.query(&format!("SELECT {COLUMNS} FROM events WHERE event_id = ANY($1)"), &[&ids])? {
        let e = to_event(&r)?.event;
        stored.insert(e.id.clone(), e);
    }
    let mut out = Appended::default();
    let mut new: HashMap<&str, &NewEvent> = HashMap::new();
    let (
        mut seqs,
        mut event_ids,
        mut kinds,
        mut subjects,
        mut payloads,
        mut amounts,
        mut actors,
        mut prevs,
        mut hashes,
    ) = (vec![], vec![], vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    for e in batch {
        if let Some(s) = stored.get(&e.id) {
            same_content(s, e)?;
            out.existing += 1;
            continue;
        }
        if let Some(s) = new.get(e.id.as_str()) {
            same_content(s, e)?;
            out.existing += 1;
            continue;
        }
        new.insert(&e.id, e);
        seq += 1;
        let hash = hash_event(&prev, seq, e, at);
        seqs.push(seq);
        event_ids.push(e.id.as_str());
        kinds.push(e.kind.as_str());
        subjects.push(e.subject.as_str());
        payloads.push(e.payload.as_str());
        amounts.push(e.amount.map(|a| a.to_string()));
        actors.push(e.actor.as_str());
        prevs.push(std::mem::replace(&mut prev, hash.clone()));
        hashes.push(hash);
        out.new += 1;
    }
    if !seqs.is_empty() {
        tx.execute(
            "INSERT INTO events (seq, event_id, kind, subject, payload, amount, actor, recorded_at, prev_hash, hash) \
             SELECT s, i, k, sub, p, CAST(a AS NUMERIC(39,0)), act, $8::text, pr, h \
             FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $9::text[], $10::text[]) \
             AS u(s, i, k, sub, p, a, act, pr, h) ORDER BY s",
            &[&seqs, &event_ids, &kinds, &subjects, &payloads, &amounts, &actors, &at, &prevs, &hashes],
        )?;
    }
    Ok(out)
}

/// The ledger inside a write transaction that holds the write lock.
struct Locked<'a, 'c>(&'a mut postgres::Transaction<'c>);

impl LedgerRead for Locked<'_, '_> {
    fn head(&mut self) -> Result<Option<(i64, String)>, StoreError> {
        head(self.0)
    }

    fn events(&mut self) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = self.0.query(&format!("SELECT {COLUMNS} FROM events ORDER BY seq"), &[])?;
        rows.iter().map(to_event).collect()
    }
}

impl Store for PostgresStore {
    fn append(&mut self, batch: &[NewEvent], recorded_at: Timestamp) -> Result<Appended, StoreError> {
        let at = format_time(recorded_at);
        let mut tx = self.client.transaction()?;
        lock(&mut tx)?;
        let out = insert_batch(&mut tx, batch, &at)?;
        tx.commit()?;
        Ok(out)
    }

    fn append_guarded(&mut self, recorded_at: Timestamp, decide: &mut Decide<'_>) -> Result<Appended, StoreError> {
        let at = format_time(recorded_at);
        let mut tx = self.client.transaction()?;
        lock(&mut tx)?;
        let batch = decide(&mut Locked(&mut tx))?;
        let out = insert_batch(&mut tx, &batch, &at)?;
        tx.commit()?;
        Ok(out)
    }

    fn events(&mut self) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = self.client.query(&format!("SELECT {COLUMNS} FROM events ORDER BY seq"), &[])?;
        rows.iter().map(to_event).collect()
    }

    fn events_for(&mut self, subject: &Subject) -> Result<Vec<StoredEvent>, StoreError> {
        let texts = subject.texts();
        let (typed, bare) = (&texts[0], texts.last().unwrap_or(&texts[0]));
        let rows = self
            .client
            .query(&format!("SELECT {COLUMNS} FROM events WHERE subject IN ($1, $2) ORDER BY seq"), &[typed, bare])?;
        // The column alone may be another namespace's bare id: the kind decides.
        rows.iter().map(to_event).filter(|e| e.as_ref().map_or(true, |e| e.event.about() == *subject)).collect()
    }

    fn events_chunk(
        &mut self,
        filter: &crate::scan::EventFilter,
        start: crate::scan::Start,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        use crate::scan::Start;
        let (actor, kind, typed, bare) = filter.columns();
        let (bound, order, past) = match start {
            Start::NewestBelow(below) => ("seq < $1", "DESC", below.unwrap_or(i64::MAX)),
            Start::OldestAbove(above) => ("seq > $1", "ASC", above),
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.client.query(
            &format!(
                "SELECT {COLUMNS} FROM events WHERE {bound} AND ($2::text IS NULL OR actor = $2) \
                 AND ($3::text IS NULL OR kind = $3) AND ($4::text IS NULL OR subject IN ($4, $5)) \
                 ORDER BY seq {order} LIMIT $6"
            ),
            &[&past, &actor, &kind, &typed, &bare, &limit],
        )?;
        rows.iter().map(to_event).collect()
    }

    fn len(&mut self) -> Result<i64, StoreError> {
        Ok(self.client.query_one("SELECT count(*) FROM events", &[])?.try_get(0)?)
    }

    fn describe(&self) -> String {
        self.shown.clone()
    }

    fn restore(&mut self, events: &[StoredEvent]) -> Result<(), StoreError> {
        let mut tx = self.client.transaction()?;
        lock(&mut tx)?;
        let n: i64 = tx.query_one("SELECT count(*) FROM events", &[])?.try_get(0)?;
        if n > 0 {
            return Err(StoreError::NotEmpty { events: n });
        }
        let insert = tx.prepare(
            "INSERT INTO events (seq, event_id, kind, subject, payload, amount, actor, recorded_at, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, CAST($6::text AS NUMERIC(39,0)), $7, $8, $9, $10)",
        )?;
        for e in events {
            let ev = &e.event;
            let amount = ev.amount.map(|a| a.to_string());
            let at = format_time(e.recorded_at);
            tx.execute(
                &insert,
                &[
                    &e.seq,
                    &ev.id,
                    &ev.kind.as_str(),
                    &ev.subject,
                    &ev.payload,
                    &amount,
                    &ev.actor,
                    &at,
                    &e.prev_hash,
                    &e.hash,
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn append_only_problems(&mut self) -> Result<Vec<String>, StoreError> {
        crate::guards::postgres(&mut self.client)
    }

    // Wallet proofs (issue 18, item 3): SIWE nonces.
    fn nonce_put(
        &mut self,
        nonce: &str,
        person: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.client.transaction()?;
        tx.execute("DELETE FROM wallet_nonces WHERE expires_at < $1", &[&now.as_second()])?;
        tx.execute(
            "INSERT INTO wallet_nonces (nonce, person, expires_at) VALUES ($1, $2, $3)",
            &[&nonce, &person, &expires_at.as_second()],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn nonce_take(&mut self, nonce: &str) -> Result<Option<(String, Timestamp)>, StoreError> {
        let row = self
            .client
            .query_opt("DELETE FROM wallet_nonces WHERE nonce = $1 RETURNING person, expires_at", &[&nonce])?;
        row.map(|r| {
            let (person, at): (String, i64) = (r.try_get(0)?, r.try_get(1)?);
            Ok((person, Timestamp::from_second(at).map_err(|e| StoreError::Corrupt(e.to_string()))?))
        })
        .transpose()
    }

    fn logins(&self) -> Result<Box<dyn crate::logins::Logins>, StoreError> {
        Ok(Box::new(crate::logins::PostgresLogins::new(Client::connect(&self.url, NoTls)?)))
    }

    fn outbox(&mut self) -> &mut dyn crate::notices::Outbox {
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Notices (issue 18, item 5): the outbox, its delivery log and the choices, outside the chain.

use crate::notices::{Attempt, NewNotice, QUEUED_COLUMNS, Queued, bounded, limit_i64};

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

impl crate::notices::Outbox for PostgresStore {
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

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_show() {
        assert_eq!(super::redact("postgres://app:s3cret@127.0.0.1:5432/db"), "postgres://app:***@127.0.0.1:5432/db");
        assert_eq!(super::redact("postgres://127.0.0.1/db"), "postgres://127.0.0.1/db");
    }
}
