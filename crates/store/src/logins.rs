//! Logins beside the ledger: browser sessions, failed-login counts and the sign-in log, in the
//! ledger's own database (SQLite or PostgreSQL) so that a restart keeps everyone logged in and
//! a lockout, and several servers on one PostgreSQL share both.
//!
//! These tables are mutable and outside the hash chain: no event covers them, no trigger keeps
//! them append-only, [`crate::canonical_dump`], backups and `migrate-store` leave them out
//! (a restored or moved ledger starts with nobody logged in).
//!
//! Architecture invariant: a session is stored as the SHA-256 of its token, never the token;
//! the sign-in log holds neither. Every table is bounded by the caller's caps.

use jiff::Timestamp;
use postgres::Client;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::StoreError;

/// One browser session as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    /// SHA-256 of the session token, hexadecimal.
    pub token_sha256: String,
    pub login: String,
    /// The login's role when the session opened (`admin`, `employee`, `auditor`).
    pub role: String,
    pub person: Option<String>,
    /// The CSRF token the browser echoes (worthless without the session cookie).
    pub csrf: String,
    /// SHA-256 of the login's password hash when the session opened: a reset ends it.
    pub password_fp: String,
    pub created: Timestamp,
    pub expires: Timestamp,
}

/// Which failure table a count is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountKind {
    /// Failed logins for one name from every client (client is empty).
    Name,
    /// Failed logins for one name from one client.
    Pair,
    /// A client that logged in as the name (failures always 0; `last` is the login).
    Known,
}

impl CountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CountKind::Name => "name",
            CountKind::Pair => "pair",
            CountKind::Known => "known",
        }
    }
}

/// A count as stored: failures in a row, and the last one (or the last login, for `Known`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Count {
    pub failures: u32,
    pub last: Timestamp,
}

/// One line of the sign-in log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub seq: i64,
    pub at: Timestamp,
    /// The login the line is about.
    pub login: String,
    /// Who did it (`user:NAME`, `key:ID`, or the login itself).
    pub actor: String,
    /// `login`, `logout`, `sign_out_everywhere`, `revoked`, `ended_by_change`.
    pub what: String,
    /// A short note (how many sessions ended); never a secret.
    pub detail: String,
}

/// The sessions, counts and sign-in log of one database (a connection of its own, beside the
/// ledger's).
pub trait Logins: Send {
    /// Stores a new session; first ends expired sessions, and the login's oldest ones so that
    /// it keeps at most `per_login` (this one included). Returns how many the cap ended.
    fn open_session(&mut self, row: &SessionRow, per_login: usize, now: Timestamp) -> Result<usize, StoreError>;
    /// The session with this token hash, expired or not.
    fn session(&mut self, token_sha256: &str) -> Result<Option<SessionRow>, StoreError>;
    /// Ends one session; whether there was one.
    fn end_session(&mut self, token_sha256: &str) -> Result<Option<SessionRow>, StoreError>;
    /// Ends every session of `login`; how many.
    fn end_sessions_of(&mut self, login: &str) -> Result<usize, StoreError>;
    /// Ends every session whose login is not among `current` (login, password fingerprint):
    /// the login is gone, or its password or role changed. Returns the logins it ended
    /// sessions of, with how many each.
    fn end_stale(&mut self, current: &[(String, String)]) -> Result<Vec<(String, usize)>, StoreError>;
    /// The live sessions of `login` at `now`.
    fn sessions_of(&mut self, login: &str, now: Timestamp) -> Result<Vec<SessionRow>, StoreError>;
    /// A stored count.
    fn count(&mut self, kind: CountKind, login: &str, client: &str) -> Result<Option<Count>, StoreError>;
    /// Counts one failure, atomically (two servers failing at once both count): a count whose
    /// last failure is at or before `window_start` starts again at 1. A new entry in a table
    /// of `cap` entries first removes those at or before `window_start`, then the oldest.
    fn add_failure(
        &mut self,
        kind: CountKind,
        login: &str,
        client: &str,
        now: Timestamp,
        window_start: Timestamp,
        cap: usize,
    ) -> Result<Count, StoreError>;
    /// Records that `client` logged in as `login` at `now` (kept to `cap` entries, oldest out).
    fn mark_known(&mut self, login: &str, client: &str, now: Timestamp, cap: usize) -> Result<(), StoreError>;
    /// Removes a count (a successful login clears its (name, client) failures).
    fn clear_count(&mut self, kind: CountKind, login: &str, client: &str) -> Result<(), StoreError>;
    /// How many entries a table holds (for tests and caps).
    fn count_entries(&mut self, kind: CountKind) -> Result<usize, StoreError>;
    /// Appends a line to the sign-in log, keeping its newest `cap` lines.
    fn log(&mut self, line: &LogLine, cap: usize) -> Result<(), StoreError>;
    /// The sign-in log, newest first, at most `limit` lines, optionally about one login.
    fn log_lines(&mut self, login: Option<&str>, limit: usize) -> Result<Vec<LogLine>, StoreError>;
}

/// Nanoseconds since 1970 as stored; instants past 2262 do not fit and are refused.
fn ns(t: Timestamp) -> Result<i64, StoreError> {
    i64::try_from(t.as_nanosecond()).map_err(|_| StoreError::Backend(format!("{t} is outside the stored range")))
}

fn from_ns(n: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_nanosecond(i128::from(n)).map_err(|e| StoreError::Corrupt(format!("a stored instant: {e}")))
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn failures(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

const SESSION_COLUMNS: &str = "token_sha256, login, role, person, csrf, password_fp, created_ns, expires_ns";

// ---------------------------------------------------------------------------------------------
// SQLite

/// The tables in the SQLite ledger file, over a connection of their own.
pub struct SqliteLogins {
    conn: Connection,
}

impl SqliteLogins {
    pub(crate) fn new(conn: Connection) -> SqliteLogins {
        SqliteLogins { conn }
    }
}

type RawSession = (String, String, String, Option<String>, String, String, i64, i64);

fn sqlite_session(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawSession> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
}

fn session_of(raw: RawSession) -> Result<SessionRow, StoreError> {
    let (token_sha256, login, role, person, csrf, password_fp, created, expires) = raw;
    Ok(SessionRow {
        token_sha256,
        login,
        role,
        person,
        csrf,
        password_fp,
        created: from_ns(created)?,
        expires: from_ns(expires)?,
    })
}

impl Logins for SqliteLogins {
    fn open_session(&mut self, row: &SessionRow, per_login: usize, now: Timestamp) -> Result<usize, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM auth_sessions WHERE expires_ns <= ?1", [ns(now)?])?;
        let mine: i64 =
            tx.query_row("SELECT count(*) FROM auth_sessions WHERE login = ?1", [&row.login], |r| r.get(0))?;
        let over = (mine + 1 - to_i64(per_login)).max(0);
        let ended = tx.execute(
            "DELETE FROM auth_sessions WHERE token_sha256 IN \
             (SELECT token_sha256 FROM auth_sessions WHERE login = ?1 ORDER BY expires_ns, created_ns LIMIT ?2)",
            params![row.login, over],
        )?;
        tx.execute(
            &format!("INSERT INTO auth_sessions ({SESSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
            params![
                row.token_sha256,
                row.login,
                row.role,
                row.person,
                row.csrf,
                row.password_fp,
                ns(row.created)?,
                ns(row.expires)?
            ],
        )?;
        tx.commit()?;
        Ok(ended)
    }

    fn session(&mut self, token_sha256: &str) -> Result<Option<SessionRow>, StoreError> {
        let raw = self
            .conn
            .prepare_cached(&format!("SELECT {SESSION_COLUMNS} FROM auth_sessions WHERE token_sha256 = ?1"))?
            .query_row([token_sha256], sqlite_session)
            .optional()?;
        raw.map(session_of).transpose()
    }

    fn end_session(&mut self, token_sha256: &str) -> Result<Option<SessionRow>, StoreError> {
        let raw = self
            .conn
            .prepare_cached(&format!("DELETE FROM auth_sessions WHERE token_sha256 = ?1 RETURNING {SESSION_COLUMNS}"))?
            .query_row([token_sha256], sqlite_session)
            .optional()?;
        raw.map(session_of).transpose()
    }

    fn end_sessions_of(&mut self, login: &str) -> Result<usize, StoreError> {
        Ok(self.conn.execute("DELETE FROM auth_sessions WHERE login = ?1", [login])?)
    }

    fn end_stale(&mut self, current: &[(String, String)]) -> Result<Vec<(String, usize)>, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let rows: Vec<(String, String)> = tx
            .prepare("SELECT DISTINCT login, password_fp FROM auth_sessions")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut ended: Vec<(String, usize)> = Vec::new();
        for (login, fp) in rows.into_iter().filter(|r| !current.contains(r)) {
            let n = tx.execute("DELETE FROM auth_sessions WHERE login = ?1 AND password_fp = ?2", [&login, &fp])?;
            match ended.iter_mut().find(|(l, _)| *l == login) {
                Some((_, total)) => *total += n,
                None => ended.push((login, n)),
            }
        }
        tx.commit()?;
        Ok(ended)
    }

    fn sessions_of(&mut self, login: &str, now: Timestamp) -> Result<Vec<SessionRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {SESSION_COLUMNS} FROM auth_sessions WHERE login = ?1 AND expires_ns > ?2 ORDER BY created_ns"
        ))?;
        let rows: Vec<RawSession> =
            stmt.query_map(params![login, ns(now)?], sqlite_session)?.collect::<Result<_, _>>()?;
        rows.into_iter().map(session_of).collect()
    }

    fn count(&mut self, kind: CountKind, login: &str, client: &str) -> Result<Option<Count>, StoreError> {
        let raw: Option<(i64, i64)> = self
            .conn
            .prepare_cached("SELECT failures, last_ns FROM auth_counts WHERE kind = ?1 AND login = ?2 AND client = ?3")?
            .query_row([kind.as_str(), login, client], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        raw.map(|(f, l)| Ok(Count { failures: failures(f), last: from_ns(l)? })).transpose()
    }

    fn add_failure(
        &mut self,
        kind: CountKind,
        login: &str,
        client: &str,
        now: Timestamp,
        window_start: Timestamp,
        cap: usize,
    ) -> Result<Count, StoreError> {
        let (now_ns, start) = (ns(now)?, ns(window_start)?);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        make_room_sqlite(&tx, kind, login, client, Some(start), cap)?;
        let (f, l): (i64, i64) = tx.query_row(
            "INSERT INTO auth_counts (kind, login, client, failures, last_ns) VALUES (?1, ?2, ?3, 1, ?4) \
             ON CONFLICT (kind, login, client) DO UPDATE SET \
               failures = CASE WHEN auth_counts.last_ns > ?5 THEN auth_counts.failures + 1 ELSE 1 END, \
               last_ns = excluded.last_ns \
             RETURNING failures, last_ns",
            params![kind.as_str(), login, client, now_ns, start],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        tx.commit()?;
        Ok(Count { failures: failures(f), last: from_ns(l)? })
    }

    fn mark_known(&mut self, login: &str, client: &str, now: Timestamp, cap: usize) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        make_room_sqlite(&tx, CountKind::Known, login, client, None, cap)?;
        tx.execute(
            "INSERT INTO auth_counts (kind, login, client, failures, last_ns) VALUES ('known', ?1, ?2, 0, ?3) \
             ON CONFLICT (kind, login, client) DO UPDATE SET last_ns = excluded.last_ns",
            params![login, client, ns(now)?],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn clear_count(&mut self, kind: CountKind, login: &str, client: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "DELETE FROM auth_counts WHERE kind = ?1 AND login = ?2 AND client = ?3",
            [kind.as_str(), login, client],
        )?;
        Ok(())
    }

    fn count_entries(&mut self, kind: CountKind) -> Result<usize, StoreError> {
        let n: i64 =
            self.conn.query_row("SELECT count(*) FROM auth_counts WHERE kind = ?1", [kind.as_str()], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn log(&mut self, line: &LogLine, cap: usize) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO auth_log (at_ns, login, actor, what, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![ns(line.at)?, line.login, line.actor, line.what, line.detail],
        )?;
        tx.execute("DELETE FROM auth_log WHERE seq <= (SELECT max(seq) FROM auth_log) - ?1", [to_i64(cap)])?;
        tx.commit()?;
        Ok(())
    }

    fn log_lines(&mut self, login: Option<&str>, limit: usize) -> Result<Vec<LogLine>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, at_ns, login, actor, what, detail FROM auth_log \
             WHERE ?1 IS NULL OR login = ?1 ORDER BY seq DESC LIMIT ?2",
        )?;
        let rows: Vec<(i64, i64, String, String, String, String)> = stmt
            .query_map(params![login, to_i64(limit)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
            })?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(seq, at, login, actor, what, detail)| {
                Ok(LogLine { seq, at: from_ns(at)?, login, actor, what, detail })
            })
            .collect()
    }
}

/// Before a new entry of `kind`: when the table holds `cap`, the entries at or before
/// `expired` go, then (still full) the oldest.
fn make_room_sqlite(
    tx: &rusqlite::Transaction<'_>,
    kind: CountKind,
    login: &str,
    client: &str,
    expired: Option<i64>,
    cap: usize,
) -> Result<(), StoreError> {
    let k = kind.as_str();
    let exists: Option<i64> = tx
        .query_row(
            "SELECT 1 FROM auth_counts WHERE kind = ?1 AND login = ?2 AND client = ?3",
            [k, login, client],
            |r| r.get(0),
        )
        .optional()?;
    let n: i64 = tx.query_row("SELECT count(*) FROM auth_counts WHERE kind = ?1", [k], |r| r.get(0))?;
    if exists.is_some() || n < to_i64(cap) {
        return Ok(());
    }
    if let Some(e) = expired {
        tx.execute("DELETE FROM auth_counts WHERE kind = ?1 AND last_ns <= ?2", params![k, e])?;
    }
    let n: i64 = tx.query_row("SELECT count(*) FROM auth_counts WHERE kind = ?1", [k], |r| r.get(0))?;
    let over = n + 1 - to_i64(cap);
    if over > 0 {
        tx.execute(
            "DELETE FROM auth_counts WHERE (kind, login, client) IN \
             (SELECT kind, login, client FROM auth_counts WHERE kind = ?1 ORDER BY last_ns LIMIT ?2)",
            params![k, over],
        )?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/// The tables in the PostgreSQL ledger database, over a connection of their own.
pub struct PostgresLogins {
    client: Client,
}

impl PostgresLogins {
    pub(crate) fn new(client: Client) -> PostgresLogins {
        PostgresLogins { client }
    }
}

fn pg_session(r: &postgres::Row) -> Result<SessionRow, StoreError> {
    session_of((
        r.try_get(0)?,
        r.try_get(1)?,
        r.try_get(2)?,
        r.try_get(3)?,
        r.try_get(4)?,
        r.try_get(5)?,
        r.try_get(6)?,
        r.try_get(7)?,
    ))
}

/// The PostgreSQL twin of [`make_room_sqlite`]; a per-kind advisory lock keeps two servers from
/// both seeing room for one.
fn make_room_pg(
    tx: &mut postgres::Transaction<'_>,
    kind: CountKind,
    login: &str,
    client: &str,
    expired: Option<i64>,
    cap: usize,
) -> Result<(), StoreError> {
    let k = kind.as_str();
    tx.execute("SELECT pg_advisory_xact_lock(7307468, hashtext($1))", &[&k])?;
    let exists = tx
        .query_opt("SELECT 1 FROM auth_counts WHERE kind = $1 AND login = $2 AND client = $3", &[&k, &login, &client])?
        .is_some();
    let n: i64 = tx.query_one("SELECT count(*) FROM auth_counts WHERE kind = $1", &[&k])?.try_get(0)?;
    if exists || n < to_i64(cap) {
        return Ok(());
    }
    if let Some(e) = expired {
        tx.execute("DELETE FROM auth_counts WHERE kind = $1 AND last_ns <= $2", &[&k, &e])?;
    }
    let n: i64 = tx.query_one("SELECT count(*) FROM auth_counts WHERE kind = $1", &[&k])?.try_get(0)?;
    let over = n + 1 - to_i64(cap);
    if over > 0 {
        tx.execute(
            "DELETE FROM auth_counts WHERE (kind, login, client) IN \
             (SELECT kind, login, client FROM auth_counts WHERE kind = $1 ORDER BY last_ns LIMIT $2)",
            &[&k, &over],
        )?;
    }
    Ok(())
}

impl Logins for PostgresLogins {
    fn open_session(&mut self, row: &SessionRow, per_login: usize, now: Timestamp) -> Result<usize, StoreError> {
        let mut tx = self.client.transaction()?;
        // One opening per login at a time, so two servers cannot both stay under the cap.
        tx.execute("SELECT pg_advisory_xact_lock(7307469, hashtext($1))", &[&row.login])?;
        tx.execute("DELETE FROM auth_sessions WHERE expires_ns <= $1", &[&ns(now)?])?;
        let mine: i64 =
            tx.query_one("SELECT count(*) FROM auth_sessions WHERE login = $1", &[&row.login])?.try_get(0)?;
        let over = (mine + 1 - to_i64(per_login)).max(0);
        let ended = tx.execute(
            "DELETE FROM auth_sessions WHERE token_sha256 IN \
             (SELECT token_sha256 FROM auth_sessions WHERE login = $1 ORDER BY expires_ns, created_ns LIMIT $2)",
            &[&row.login, &over],
        )?;
        tx.execute(
            &format!("INSERT INTO auth_sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
            &[
                &row.token_sha256,
                &row.login,
                &row.role,
                &row.person,
                &row.csrf,
                &row.password_fp,
                &ns(row.created)?,
                &ns(row.expires)?,
            ],
        )?;
        tx.commit()?;
        Ok(usize::try_from(ended).unwrap_or(usize::MAX))
    }

    fn session(&mut self, token_sha256: &str) -> Result<Option<SessionRow>, StoreError> {
        let row = self.client.query_opt(
            &format!("SELECT {SESSION_COLUMNS} FROM auth_sessions WHERE token_sha256 = $1"),
            &[&token_sha256],
        )?;
        row.as_ref().map(pg_session).transpose()
    }

    fn end_session(&mut self, token_sha256: &str) -> Result<Option<SessionRow>, StoreError> {
        let row = self.client.query_opt(
            &format!("DELETE FROM auth_sessions WHERE token_sha256 = $1 RETURNING {SESSION_COLUMNS}"),
            &[&token_sha256],
        )?;
        row.as_ref().map(pg_session).transpose()
    }

    fn end_sessions_of(&mut self, login: &str) -> Result<usize, StoreError> {
        let n = self.client.execute("DELETE FROM auth_sessions WHERE login = $1", &[&login])?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn end_stale(&mut self, current: &[(String, String)]) -> Result<Vec<(String, usize)>, StoreError> {
        let mut tx = self.client.transaction()?;
        let rows: Vec<(String, String)> = tx
            .query("SELECT DISTINCT login, password_fp FROM auth_sessions", &[])?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, StoreError>>()?;
        let mut ended: Vec<(String, usize)> = Vec::new();
        for (login, fp) in rows.into_iter().filter(|r| !current.contains(r)) {
            let n = tx.execute("DELETE FROM auth_sessions WHERE login = $1 AND password_fp = $2", &[&login, &fp])?;
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            match ended.iter_mut().find(|(l, _)| *l == login) {
                Some((_, total)) => *total += n,
                None => ended.push((login, n)),
            }
        }
        tx.commit()?;
        Ok(ended)
    }

    fn sessions_of(&mut self, login: &str, now: Timestamp) -> Result<Vec<SessionRow>, StoreError> {
        let rows = self.client.query(
            &format!(
                "SELECT {SESSION_COLUMNS} FROM auth_sessions WHERE login = $1 AND expires_ns > $2 ORDER BY created_ns"
            ),
            &[&login, &ns(now)?],
        )?;
        rows.iter().map(pg_session).collect()
    }

    fn count(&mut self, kind: CountKind, login: &str, client: &str) -> Result<Option<Count>, StoreError> {
        let row = self.client.query_opt(
            "SELECT failures, last_ns FROM auth_counts WHERE kind = $1 AND login = $2 AND client = $3",
            &[&kind.as_str(), &login, &client],
        )?;
        match row {
            Some(r) => Ok(Some(Count { failures: failures(r.try_get(0)?), last: from_ns(r.try_get(1)?)? })),
            None => Ok(None),
        }
    }

    fn add_failure(
        &mut self,
        kind: CountKind,
        login: &str,
        client: &str,
        now: Timestamp,
        window_start: Timestamp,
        cap: usize,
    ) -> Result<Count, StoreError> {
        let (now_ns, start) = (ns(now)?, ns(window_start)?);
        let mut tx = self.client.transaction()?;
        make_room_pg(&mut tx, kind, login, client, Some(start), cap)?;
        let r = tx.query_one(
            "INSERT INTO auth_counts (kind, login, client, failures, last_ns) VALUES ($1, $2, $3, 1, $4) \
             ON CONFLICT (kind, login, client) DO UPDATE SET \
               failures = CASE WHEN auth_counts.last_ns > $5 THEN auth_counts.failures + 1 ELSE 1 END, \
               last_ns = excluded.last_ns \
             RETURNING failures, last_ns",
            &[&kind.as_str(), &login, &client, &now_ns, &start],
        )?;
        let count = Count { failures: failures(r.try_get(0)?), last: from_ns(r.try_get(1)?)? };
        tx.commit()?;
        Ok(count)
    }

    fn mark_known(&mut self, login: &str, client: &str, now: Timestamp, cap: usize) -> Result<(), StoreError> {
        let mut tx = self.client.transaction()?;
        make_room_pg(&mut tx, CountKind::Known, login, client, None, cap)?;
        tx.execute(
            "INSERT INTO auth_counts (kind, login, client, failures, last_ns) VALUES ('known', $1, $2, 0, $3) \
             ON CONFLICT (kind, login, client) DO UPDATE SET last_ns = excluded.last_ns",
            &[&login, &client, &ns(now)?],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn clear_count(&mut self, kind: CountKind, login: &str, client: &str) -> Result<(), StoreError> {
        self.client.execute(
            "DELETE FROM auth_counts WHERE kind = $1 AND login = $2 AND client = $3",
            &[&kind.as_str(), &login, &client],
        )?;
        Ok(())
    }

    fn count_entries(&mut self, kind: CountKind) -> Result<usize, StoreError> {
        let n: i64 =
            self.client.query_one("SELECT count(*) FROM auth_counts WHERE kind = $1", &[&kind.as_str()])?.try_get(0)?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn log(&mut self, line: &LogLine, cap: usize) -> Result<(), StoreError> {
        let mut tx = self.client.transaction()?;
        tx.execute(
            "INSERT INTO auth_log (at_ns, login, actor, what, detail) VALUES ($1, $2, $3, $4, $5)",
            &[&ns(line.at)?, &line.login, &line.actor, &line.what, &line.detail],
        )?;
        tx.execute("DELETE FROM auth_log WHERE seq <= (SELECT max(seq) FROM auth_log) - $1", &[&to_i64(cap)])?;
        tx.commit()?;
        Ok(())
    }

    fn log_lines(&mut self, login: Option<&str>, limit: usize) -> Result<Vec<LogLine>, StoreError> {
        let rows = self.client.query(
            "SELECT seq, at_ns, login, actor, what, detail FROM auth_log \
             WHERE $1::text IS NULL OR login = $1 ORDER BY seq DESC LIMIT $2",
            &[&login, &to_i64(limit)],
        )?;
        rows.iter()
            .map(|r| {
                Ok(LogLine {
                    seq: r.try_get(0)?,
                    at: from_ns(r.try_get(1)?)?,
                    login: r.try_get(2)?,
                    actor: r.try_get(3)?,
                    what: r.try_get(4)?,
                    detail: r.try_get(5)?,
                })
            })
            .collect()
    }
}

/// The tables these logins keep beside the ledger (named by `verify-ledger`).
pub const TABLES: [&str; 3] = ["auth_sessions", "auth_counts", "auth_log"];
