//! The embedded backend: one SQLite file in the data directory, in WAL mode.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokencomp_money::TokenAmount;

use crate::{
    Appended, Decide, EventKind, GENESIS, LedgerRead, NewEvent, SQLITE_MIGRATIONS, Store, StoreError, StoredEvent,
    Subject, format_time, hash_event, same_content,
};

pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating if needed) the ledger at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        // Salaries and emails: the file exists owner-only before SQLite opens it, and SQLite
        // gives its -wal and -shm files the database file's mode.
        let io = |e: std::io::Error| StoreError::Backend(format!("{}: {e}", path.display()));
        crate::private::touch(path).map_err(io)?;
        let conn = Connection::open(path)?;
        // WAL: readers never block the writer; FULL: a commit survives power loss, not only a
        // killed process.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let mut store = SqliteStore { conn, path: path.to_owned() };
        store.migrate()?;
        // Whatever the umask, and for ledgers made before this rule.
        for suffix in ["-wal", "-shm"] {
            let side = crate::private::sibling(path, suffix);
            if side.exists() {
                crate::private::restrict(&side).map_err(io)?;
            }
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The raw connection, for tests and benchmarks that measure against plain SQL.
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)",
        )?;
        for (version, name, sql) in SQLITE_MIGRATIONS {
            let done: Option<i64> = tx
                .query_row("SELECT version FROM schema_migrations WHERE version = ?1", [version], |r| r.get(0))
                .optional()?;
            if done.is_none() {
                tx.execute_batch(sql)?;
                tx.execute("INSERT INTO schema_migrations (version, name) VALUES (?1, ?2)", params![version, name])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Copies the database, consistently, to `dest` (SQLite's online backup).
    pub fn backup_to(&self, dest: &Path) -> Result<(), StoreError> {
        crate::private::touch(dest).map_err(|e| StoreError::Backend(format!("{}: {e}", dest.display())))?;
        let mut out = Connection::open(dest)?;
        let backup = rusqlite::backup::Backup::new(&self.conn, &mut out)?;
        backup.run_to_completion(1024, std::time::Duration::from_millis(0), None)?;
        Ok(())
    }
}

/// A row as stored; [`finish`] reads its kind and record time.
struct Raw {
    seq: i64,
    id: String,
    kind: String,
    subject: String,
    payload: String,
    amount: Option<TokenAmount>,
    actor: String,
    recorded_at: String,
    prev_hash: String,
    hash: String,
}

fn row_to_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<Raw> {
    let amount: Option<String> = r.get(5)?;
    let amount = amount
        .map(|a| a.parse::<TokenAmount>())
        .transpose()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, Box::new(e)))?;
    Ok(Raw {
        seq: r.get(0)?,
        id: r.get(1)?,
        kind: r.get(2)?,
        subject: r.get(3)?,
        payload: r.get(4)?,
        amount,
        actor: r.get(6)?,
        recorded_at: r.get(7)?,
        prev_hash: r.get(8)?,
        hash: r.get(9)?,
    })
}

/// The stored event a row holds: a kind this version does not know is an error naming the event.
fn finish(raw: Raw) -> Result<StoredEvent, StoreError> {
    let Raw { seq, id, kind, subject, payload, amount, actor, recorded_at, prev_hash, hash } = raw;
    let kind = EventKind::stored(seq, &id, &kind)?;
    let recorded_at = recorded_at
        .parse::<Timestamp>()
        .map_err(|e| StoreError::Corrupt(format!("event {seq}: bad record time: {e}")))?;
    Ok(StoredEvent { seq, event: NewEvent { id, kind, subject, payload, amount, actor }, recorded_at, prev_hash, hash })
}

const COLUMNS: &str = "seq, event_id, kind, subject, payload, amount, actor, recorded_at, prev_hash, hash";

/// Appends `batch` after the head inside `tx` (the caller holds the write lock).
fn insert_batch(tx: &rusqlite::Transaction<'_>, batch: &[NewEvent], at: &str) -> Result<Appended, StoreError> {
    let mut out = Appended::default();
    let head: Option<(i64, String)> = tx
        .query_row("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (mut seq, mut prev) = head.unwrap_or((0, GENESIS.to_owned()));
    let mut find = tx.prepare_cached(&format!("SELECT {COLUMNS} FROM events WHERE event_id = ?1"))?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO events (seq, event_id, kind, subject, payload, amount, actor, recorded_at, prev_hash, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for e in batch {
        if let Some(raw) = find.query_row([&e.id], row_to_event).optional()? {
            same_content(&finish(raw)?.event, e)?;
            out.existing += 1;
            continue;
        }
        seq += 1;
        let hash = hash_event(&prev, seq, e, at);
        insert.execute(params![
            seq,
            e.id,
            e.kind.as_str(),
            e.subject,
            e.payload,
            e.amount.map(|a| a.to_string()),
            e.actor,
            at,
            prev,
            hash
        ])?;
        prev = hash;
        out.new += 1;
    }
    Ok(out)
}

/// The ledger inside a write transaction (`BEGIN IMMEDIATE` holds SQLite's write lock, and in
/// WAL mode the transaction reads the latest commit).
struct Locked<'a, 'c>(&'a rusqlite::Transaction<'c>);

impl LedgerRead for Locked<'_, '_> {
    fn head(&mut self) -> Result<Option<(i64, String)>, StoreError> {
        Ok(self
            .0
            .query_row("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    fn events(&mut self) -> Result<Vec<StoredEvent>, StoreError> {
        let mut stmt = self.0.prepare_cached(&format!("SELECT {COLUMNS} FROM events ORDER BY seq"))?;
        let rows = stmt.query_map([], row_to_event)?;
        rows.map(|r| finish(r?)).collect()
    }
}

impl Store for SqliteStore {
    fn append(&mut self, batch: &[NewEvent], recorded_at: Timestamp) -> Result<Appended, StoreError> {
        let at = format_time(recorded_at);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = insert_batch(&tx, batch, &at)?;
        tx.commit()?;
        Ok(out)
    }

    fn append_guarded(&mut self, recorded_at: Timestamp, decide: &mut Decide<'_>) -> Result<Appended, StoreError> {
        let at = format_time(recorded_at);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let batch = decide(&mut Locked(&tx))?;
        let out = insert_batch(&tx, &batch, &at)?;
        tx.commit()?;
        Ok(out)
    }

    fn events(&mut self) -> Result<Vec<StoredEvent>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!("SELECT {COLUMNS} FROM events ORDER BY seq"))?;
        let rows = stmt.query_map([], row_to_event)?;
        rows.map(|r| finish(r?)).collect()
    }

    fn events_for(&mut self, subject: &Subject) -> Result<Vec<StoredEvent>, StoreError> {
        let texts = subject.texts();
        let (typed, bare) = (&texts[0], texts.last().unwrap_or(&texts[0]));
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM events WHERE subject IN (?1, ?2) ORDER BY seq"))?;
        let rows = stmt.query_map([typed, bare], row_to_event)?;
        // The column alone may be another namespace's bare id: the kind decides.
        rows.map(|r| finish(r?)).filter(|e| e.as_ref().map_or(true, |e| e.event.about() == *subject)).collect()
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
            Start::NewestBelow(below) => ("seq < ?1", "DESC", below.unwrap_or(i64::MAX)),
            Start::OldestAbove(above) => ("seq > ?1", "ASC", above),
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM events WHERE {bound} AND (?2 IS NULL OR actor = ?2) \
             AND (?3 IS NULL OR kind = ?3) AND (?4 IS NULL OR subject IN (?4, ?5)) ORDER BY seq {order} LIMIT ?6"
        ))?;
        let rows = stmt.query_map(params![past, actor, kind, typed, bare, limit], row_to_event)?;
        rows.map(|r| finish(r?)).collect()
    }

    fn len(&mut self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row("SELECT count(*) FROM events", [], |r| r.get(0))?)
    }

    fn describe(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }

    fn restore(&mut self, events: &[StoredEvent]) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n: i64 = tx.query_row("SELECT count(*) FROM events", [], |r| r.get(0))?;
        if n > 0 {
            return Err(StoreError::NotEmpty { events: n });
        }
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO events (seq, event_id, kind, subject, payload, amount, actor, recorded_at, prev_hash, hash) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for e in events {
                let ev = &e.event;
                insert.execute(params![
                    e.seq,
                    ev.id,
                    ev.kind.as_str(),
                    ev.subject,
                    ev.payload,
                    ev.amount.map(|a| a.to_string()),
                    ev.actor,
                    format_time(e.recorded_at),
                    e.prev_hash,
                    e.hash
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn append_only_problems(&mut self) -> Result<Vec<String>, StoreError> {
        crate::guards::sqlite(&self.conn)
    }

    // Wallet proofs (issue 18, item 3): SIWE nonces.
    fn nonce_put(
        &mut self,
        nonce: &str,
        person: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM wallet_nonces WHERE expires_at < ?1", [now.as_second()])?;
        tx.execute(
            "INSERT INTO wallet_nonces (nonce, person, expires_at) VALUES (?1, ?2, ?3)",
            params![nonce, person, expires_at.as_second()],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn nonce_take(&mut self, nonce: &str) -> Result<Option<(String, Timestamp)>, StoreError> {
        let row: Option<(String, i64)> = self
            .conn
            .query_row("DELETE FROM wallet_nonces WHERE nonce = ?1 RETURNING person, expires_at", [nonce], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        row.map(|(p, t)| Ok((p, Timestamp::from_second(t).map_err(|e| StoreError::Corrupt(e.to_string()))?)))
            .transpose()
    }

    fn logins(&self) -> Result<Box<dyn crate::logins::Logins>, StoreError> {
        Ok(Box::new(crate::logins::SqliteLogins::new(SqliteStore::open(&self.path)?.conn)))
    }

    fn outbox(&mut self) -> &mut dyn crate::notices::Outbox {
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Notices (issue 18, item 5): the outbox, its delivery log and the choices, outside the chain.

use crate::notices::{Attempt, NewNotice, QUEUED_COLUMNS, Queued, bounded, limit_i64};

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

impl crate::notices::Outbox for SqliteStore {
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
