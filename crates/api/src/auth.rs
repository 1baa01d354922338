//! Accounts and roles: logins with argon2 password hashes, API keys, browser sessions.
//!
//! Sessions, failed-login counts and the sign-in log live in the ledger's database, in tables
//! beside the hash chain ([`tokencomp_store::logins`]): a restart keeps everyone logged in and
//! every lockout, and servers sharing one PostgreSQL share both. A session is stored as the
//! SHA-256 of its token with the SHA-256 of the login's password hash, so a reset or a role
//! change (which writes a new hash) ends it. Attempts still being checked are counted in memory
//! only (they end with the process).
//!
//! Accounts live in `DATA/auth/accounts.json` (mode 0600), not in the ledger: a secret, even
//! hashed, must be removable, and the hash-chained ledger keeps everything forever. Who did
//! what is still in the ledger, as each event's actor (`user:NAME` or `key:ID`).
//!
//! An API key is `tc_<id>_<secret>`. The id finds the one stored hash, so a request never
//! tries hashes in turn; after the first argon2 check the key's SHA-256 is cached, so later
//! requests do not pay a password hash either.
//!
//! Architecture invariant: no password, key secret or session token is ever written anywhere
//! but as a hash, and none appears in a log line or an error message.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use argon2::password_hash::{self, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokencomp_store::logins::{CountKind, LogLine, Logins, SessionRow};
use tokencomp_store::{hex, sha256_hex};

/// What a login may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The finance / people team: everything.
    Admin,
    /// One person: their own grants, lots, reports and ballots.
    Employee,
    /// Reads everything, changes nothing.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Employee, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Employee => "employee",
            Role::Auditor => "auditor",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = AuthError;
    fn from_str(s: &str) -> Result<Self, AuthError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| AuthError::Invalid(format!("`{s}` is not a role (admin, employee, auditor)")))
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub role: Role,
    /// The person an employee login is; admins and auditors may have none.
    #[serde(default)]
    pub person: Option<String>,
    /// argon2id, PHC string.
    pub password: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub user: String,
    /// argon2id of the secret part, PHC string.
    pub secret: String,
    pub created: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Accounts {
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub keys: Vec<ApiKey>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{0}")]
    Invalid(String),
    #[error("{path}: {message}")]
    File { path: String, message: String },
}

/// Who is calling, once authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user: String,
    pub role: Role,
    pub person: Option<String>,
    /// `Some(id)` when the call came with an API key.
    pub key: Option<String>,
}

impl Principal {
    /// The actor recorded on ledger events this caller causes.
    pub fn actor(&self) -> String {
        match &self.key {
            Some(id) => format!("key:{id}"),
            None => format!("user:{}", self.user),
        }
    }

    pub fn is_staff(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Auditor)
    }

    /// Whether the caller may see `person`'s data.
    pub fn may_see(&self, person: &str) -> bool {
        self.is_staff() || self.person.as_deref() == Some(person)
    }
}

/// `DATA/auth/accounts.json` (named by [`tokencomp_service::DataDir`]).
pub fn accounts_path(data: &Path) -> PathBuf {
    tokencomp_service::DataDir::new(data).accounts()
}

impl Accounts {
    pub fn load(path: &Path) -> Result<Accounts, AuthError> {
        let file_err = |message: String| AuthError::File { path: path.display().to_string(), message };
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| file_err(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Accounts::default()),
            Err(e) => Err(file_err(e.to_string())),
        }
    }

    /// Writes atomically (a temporary file renamed over the old one), readable by the owner only,
    /// in an owner-only directory.
    pub fn save(&self, path: &Path) -> Result<(), AuthError> {
        let file_err = |e: std::io::Error| AuthError::File { path: path.display().to_string(), message: e.to_string() };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokencomp_store::private::dir(dir).map_err(file_err)?;
        }
        let text = serde_json::to_string_pretty(self).map_err(|e| AuthError::Invalid(e.to_string()))?;
        tokencomp_store::private::write(path, text.as_bytes()).map_err(file_err)
    }

    /// Loads, changes and saves the accounts under an exclusive lock on `accounts.lock` beside
    /// them (not the file itself, which a save replaces), so two `tokencomp user …` commands at
    /// once cannot lose each other's change. `change` may refuse; then nothing is written.
    pub fn edit<T, E: From<AuthError>>(
        path: &Path,
        change: impl FnOnce(&mut Accounts) -> Result<T, E>,
    ) -> Result<T, E> {
        let file_err = |e: std::io::Error| AuthError::File { path: path.display().to_string(), message: e.to_string() };
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        tokencomp_store::private::dir(dir).map_err(file_err)?;
        use std::os::unix::fs::OpenOptionsExt as _;
        // Owner-only, like everything in this directory (it holds nothing).
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            // `accounts.lock` (`DataDir::accounts_lock`) beside the accounts.
            .open(dir.join(tokencomp_service::data::ACCOUNTS_LOCK))
            .map_err(file_err)?;
        lock.lock().map_err(file_err)?;
        let mut accounts = Accounts::load(path)?;
        let t = change(&mut accounts)?;
        accounts.save(path)?;
        Ok(t)
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// Adds or replaces a login. Names are what people type: letters, digits, `-`, `_`, `.`,
    /// at most [`MAX_NAME`] of them. Replacing a login (a reset, a role change) revokes its API
    /// keys, and the server ends its sessions (their password hash no longer matches).
    pub fn set_user(&mut self, name: &str, role: Role, person: Option<&str>, password: &str) -> Result<(), AuthError> {
        if name.is_empty()
            || name.len() > MAX_NAME
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(AuthError::Invalid(format!(
                "`{name}` is not a user name (letters, digits, - _ ., at most {MAX_NAME})"
            )));
        }
        if role == Role::Employee && person.is_none() {
            return Err(AuthError::Invalid("an employee login needs --person".into()));
        }
        if password.chars().count() < 8 {
            return Err(AuthError::Invalid("a password needs at least 8 characters".into()));
        }
        let user =
            User { name: name.into(), role, person: person.map(str::to_owned), password: hash_secret(password)? };
        match self.users.iter_mut().find(|u| u.name == name) {
            Some(u) => {
                *u = user;
                self.keys.retain(|k| k.user != name);
            }
            None => self.users.push(user),
        }
        Ok(())
    }

    /// Removes a login and its keys.
    pub fn remove_user(&mut self, name: &str) -> bool {
        let before = self.users.len();
        self.users.retain(|u| u.name != name);
        self.keys.retain(|k| k.user != name);
        self.users.len() != before
    }

    /// A new API key for `user`; the whole key is returned once and only its hash is kept.
    pub fn add_key(&mut self, user: &str, now: Timestamp) -> Result<String, AuthError> {
        if self.user(user).is_none() {
            return Err(AuthError::Invalid(format!("no user is named `{user}`")));
        }
        let id = hex(&random::<6>()?);
        let secret = hex(&random::<24>()?);
        self.keys.push(ApiKey {
            id: id.clone(),
            user: user.into(),
            secret: hash_secret(&secret)?,
            created: now.to_string(),
        });
        Ok(format!("tc_{id}_{secret}"))
    }

    /// Checks a password; `None` for an unknown user or a wrong password alike.
    pub fn login(&self, name: &str, password: &str) -> Option<Principal> {
        let user = self.user(name);
        // An unknown user still pays one hash, so timing does not tell which names exist.
        let hash = user.map_or(DUMMY_HASH, |u| u.password.as_str());
        let ok = verify_secret(hash, password);
        let user = user.filter(|_| ok)?;
        Some(Principal { user: user.name.clone(), role: user.role, person: user.person.clone(), key: None })
    }

    /// Checks an API key by its id, then its secret.
    pub fn check_key(&self, id: &str, secret: &str) -> Option<Principal> {
        let key = self.keys.iter().find(|k| k.id == id)?;
        if !verify_secret(&key.secret, secret) {
            return None;
        }
        let user = self.user(&key.user)?;
        Some(Principal {
            user: user.name.clone(),
            role: user.role,
            person: user.person.clone(),
            key: Some(key.id.clone()),
        })
    }
}

/// A valid argon2id hash of a random string, verified against when the user does not exist.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0BEA5p6Ln2Vxk0Jm6kQaCgUuK3o0tqS0mdu4nHXbY2E";

/// argon2id with OWASP's minimum parameters: 19 MiB of memory, 2 passes, 1 lane. The memory
/// is what one check holds; the server runs at most `Limits::hashers` (≤ 8) at once.
pub const M_COST_KIB: u32 = 19_456;
pub const T_COST: u32 = 2;
pub const P_COST: u32 = 1;
/// The most passes a stored hash may ask for (memory and lanes may not exceed ours at all).
pub const MAX_T_COST: u32 = 8;

fn argon2() -> Result<Argon2<'static>, AuthError> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None).map_err(|e| AuthError::Invalid(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_secret(secret: &str) -> Result<String, AuthError> {
    let salt = SaltString::encode_b64(&random::<16>()?).map_err(|e| AuthError::Invalid(e.to_string()))?;
    argon2()?
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Invalid(format!("hashing: {e}")))
}

/// Blocks (1 KiB each) a check's working memory is allocated with. glibc serves a request of
/// 32 MiB or more with its own mapping, returned to the system when freed (its dynamic mmap
/// threshold never exceeds 32 MiB); a 19 MiB request came from a per-thread arena that kept
/// it, and a login flood grew the server to gigabytes. Only the first [`M_COST_KIB`] blocks
/// are touched, so a check still holds 19 MiB of resident memory.
const WORK_BLOCKS: usize = 33 * 1024;

/// Checks `secret` against a stored hash whose parameters are within ours: a hash (edited into
/// the accounts file) that asks for more memory or time is refused, never computed, so one
/// check's memory stays at most [`M_COST_KIB`].
fn verify_secret(phc: &str, secret: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else { return false };
    let Ok(params) = Params::try_from(&hash) else { return false };
    if params.m_cost() > M_COST_KIB || params.t_cost() > MAX_T_COST || params.p_cost() > P_COST {
        crate::log::error("accounts: a stored hash asks for more than the argon2 limits; refused");
        return false;
    }
    let (Some(expected), Some(salt)) = (hash.hash, hash.salt) else { return false };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else { return false };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else { return false };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let blocks = params.block_count();
    let mut memory: Vec<Block> = Vec::with_capacity(blocks.max(WORK_BLOCKS));
    memory.resize(blocks, Block::default());
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params);
    if argon2.hash_password_into_with_memory(secret.as_bytes(), salt, &mut out, &mut memory[..]).is_err() {
        return false;
    }
    // `Output`'s equality is constant-time.
    password_hash::Output::new(&out).is_ok_and(|o| o == expected)
}

/// `N` bytes from the operating system's generator.
pub fn random<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| AuthError::Invalid(format!("random bytes: {e}")))?;
    Ok(b)
}

/// Constant-time equality of two hex digests.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The server's view of accounts: the file (re-read when it changes), the verified-key cache
/// and the attempts running now; sessions and failure counts in the database (`db`).
pub struct Auth {
    path: PathBuf,
    state: Arc<Mutex<AuthState>>,
    db: Db,
}

/// The sessions and counts tables, over a connection of their own. Lock order: the state
/// first, then this, never the other way round.
type Db = Arc<Mutex<Box<dyn Logins>>>;

/// How long a session read from the database is trusted before it is read again.
pub const SESSION_RECHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// Lines the sign-in log keeps (the oldest go first).
pub const MAX_LOG_LINES: usize = 100_000;

/// The stored form of a client: its address, or empty when unknown.
fn client_text(client: Option<IpAddr>) -> String {
    client.map(|c| c.to_string()).unwrap_or_default()
}

/// What ends a session's validity: the SHA-256 of the login's password hash.
fn fingerprint(user: &User) -> String {
    sha256_hex(&user.password)
}

/// A database failure: logged (never with a secret), and the caller refuses.
fn db_failed(what: &str, e: &tokencomp_store::StoreError) {
    crate::log::error(&format!("logins: {what}: {e}"));
}

/// Appends a line to the sign-in log; a failure to write it is logged, not fatal.
fn log_line(db: &Db, at: Timestamp, login: &str, actor: &str, what: &str, detail: String) {
    let line = LogLine { seq: 0, at, login: login.into(), actor: actor.into(), what: what.into(), detail };
    if let Err(e) = lock(db).log(&line, MAX_LOG_LINES) {
        db_failed("the sign-in log", &e);
    }
}

/// What identifies one version of the accounts file without reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

#[derive(Default)]
struct AuthState {
    accounts: Arc<Accounts>,
    stamp: Option<Stamp>,
    /// When the file was last read, and the SHA-256 of what was read.
    read_at: Option<SystemTime>,
    digest: String,
    /// Key id → (SHA-256 of the secret, who, the key's stored hash).
    keys: HashMap<String, (String, Principal, String)>,
    /// Sessions read from the database in the last [`SESSION_RECHECK`]: token SHA-256 → (row,
    /// when read). Expiry and the login are still checked on every use; what another server
    /// ended is seen within [`SESSION_RECHECK`], what this one ended at once.
    recent: HashMap<String, (SessionRow, std::time::Instant)>,
    /// (name, client) → failed logins; the lock a stranger's guesses put on their own client.
    pairs: Counts<(String, Option<IpAddr>)>,
    /// Name → failed logins from every client: the name's guess budget.
    names: Counts<String>,
}

/// Failed logins in a row (within [`LOCK_MINUTES`] of each other) from one client after which
/// that client may not try the name for [`LOCK_MINUTES`]: guessing then costs hours, and a
/// person who mistypes is not stopped.
pub const MAX_FAILURES: u32 = 5;
/// Failed logins for one name, from every client together, after which the name is locked for
/// every client that has not logged in as it before: the name's guess budget.
pub const NAME_BUDGET: u32 = 20;
pub const LOCK_MINUTES: i64 = 15;
/// Entries each failure table and the known-client table keep (expired ones go first).
pub const MAX_ENTRIES: usize = 100_000;
/// Sessions one login keeps; logging in again beyond them ends the oldest.
pub const SESSIONS_PER_LOGIN: usize = 16;
/// The longest user name (names are what people type).
pub const MAX_NAME: usize = 64;

/// Whether `name` could be a login: letters, digits, `-`, `_`, `.`, at most [`MAX_NAME`].
pub fn is_login_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// Failed and in-flight attempts under one key.
#[derive(Clone, Copy, Debug, Default)]
struct Count {
    failures: u32,
    /// Checks running now: counted before the hash, so parallel guesses cannot outrun the lock.
    pending: u32,
    last: Option<Timestamp>,
}

impl Count {
    /// Attempts that count at `now`: failures whose window has not run out, and those running.
    fn live(&self, now: Timestamp) -> u32 {
        let recent = self.last.is_some_and(|l| l.checked_add(lock_span()).is_ok_and(|end| end > now));
        (if recent { self.failures } else { 0 }).saturating_add(self.pending)
    }

    fn until(&self, now: Timestamp) -> Timestamp {
        self.last.unwrap_or(now).checked_add(lock_span()).unwrap_or(now)
    }
}

fn lock_span() -> jiff::SignedDuration {
    jiff::SignedDuration::from_mins(LOCK_MINUTES)
}

/// A table of counts that never holds more than [`MAX_ENTRIES`].
struct Counts<K> {
    map: HashMap<K, Count>,
    cap: usize,
}

impl<K> Default for Counts<K> {
    fn default() -> Self {
        Counts { map: HashMap::new(), cap: MAX_ENTRIES }
    }
}

impl<K: std::hash::Hash + Eq + Clone> Counts<K> {
    fn live(&self, k: &K, now: Timestamp) -> (u32, Timestamp) {
        self.map.get(k).map_or((0, now), |c| (c.live(now), c.until(now)))
    }

    fn entry(&mut self, k: &K, now: Timestamp) -> &mut Count {
        if !self.map.contains_key(k) && self.map.len() >= self.cap {
            self.map.retain(|_, c| c.live(now) > 0);
            if self.map.len() >= self.cap {
                // Full of live counts: the oldest idle one goes (forcing that takes the
                // attacker `cap` hashed guesses, longer than a lock lasts).
                let oldest = self.map.iter().filter(|(_, c)| c.pending == 0).min_by_key(|(_, c)| c.last);
                if let Some(k) = oldest.map(|(k, _)| k.clone()) {
                    self.map.remove(&k);
                }
            }
        }
        self.map.entry(k.clone()).or_default()
    }

    /// Mirrors the database's count for `k` (its pending checks kept).
    fn set(&mut self, k: &K, stored: tokencomp_store::logins::Count, now: Timestamp) {
        let c = self.entry(k, now);
        c.failures = stored.failures;
        c.last = Some(stored.last);
    }

    /// Forgets a count the database no longer holds (its pending checks kept).
    fn clear(&mut self, k: &K) {
        if let Some(c) = self.map.get_mut(k) {
            c.failures = 0;
            c.last = None;
        }
    }

    fn begin(&mut self, k: &K, now: Timestamp) {
        let c = self.entry(k, now);
        c.pending = c.pending.saturating_add(1);
    }

    /// Ends a running check: a failure is counted (a window that ran out starts again).
    fn end(&mut self, k: &K, failed: bool, now: Timestamp) {
        let Some(c) = self.map.get_mut(k) else { return };
        c.pending = c.pending.saturating_sub(1);
        if failed {
            let recent = c.last.is_some_and(|l| l.checked_add(lock_span()).is_ok_and(|end| end > now));
            c.failures = if recent { c.failures.saturating_add(1) } else { 1 };
            c.last = Some(now);
        }
        if c.pending == 0 && c.live(now) == 0 {
            self.map.remove(k);
        }
    }
}

/// Why a login was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginRefused {
    /// Unknown user or wrong password (the same answer for both).
    Invalid,
    /// Too many failures: try again after `until`.
    Locked { until: Timestamp },
    /// The sessions database did not answer: nothing was decided.
    Unavailable,
}

/// How long a browser session lasts.
pub const SESSION_HOURS: i64 = 12;

/// A login attempt counted before its hash: finish it with [`Attempt::check`]; dropped
/// unchecked (the server was too busy), it is given back.
pub struct Attempt {
    state: Arc<Mutex<AuthState>>,
    db: Db,
    accounts: Arc<Accounts>,
    name: String,
    client: Option<IpAddr>,
    known: bool,
    now: Timestamp,
    open: bool,
}

impl Attempt {
    /// Whether this client has logged in as this name before.
    pub fn known(&self) -> bool {
        self.known
    }

    /// Checks the password (one argon2 hash; unknown names pay one too) and opens a session:
    /// `(token, csrf token, who)`.
    pub fn check(mut self, password: &str) -> Result<(String, String, Principal), LoginRefused> {
        let user = self.accounts.user(&self.name).cloned();
        // An unknown user still pays one hash, so timing does not tell which names exist.
        let ok = verify_secret(user.as_ref().map_or(DUMMY_HASH, |u| u.password.as_str()), password);
        let now = self.now;
        self.open = false;
        let key = (self.name.clone(), self.client);
        {
            let mut st = lock(&self.state);
            st.pairs.end(&key, !ok, now);
            st.names.end(&self.name, !ok, now);
        }
        let client = client_text(self.client);
        let unavailable = |e: tokencomp_store::StoreError| {
            db_failed("a login", &e);
            LoginRefused::Unavailable
        };
        let Some(user) = user.filter(|_| ok) else {
            // The failure is counted in the database (atomically, so servers sharing it add
            // up), and the memory mirrors what it holds.
            let window = now.checked_sub(lock_span()).unwrap_or(now);
            let (pair, named) = {
                let mut db = lock(&self.db);
                let pair = db.add_failure(CountKind::Pair, &self.name, &client, now, window, MAX_ENTRIES);
                let named = db.add_failure(CountKind::Name, &self.name, "", now, window, MAX_ENTRIES);
                (pair.map_err(unavailable)?, named.map_err(unavailable)?)
            };
            let mut st = lock(&self.state);
            st.pairs.set(&key, pair, now);
            st.names.set(&self.name, named, now);
            return Err(LoginRefused::Invalid);
        };
        // The login may have changed while its password was checked.
        if lock(&self.state).accounts.user(&user.name) != Some(&user) {
            return Err(LoginRefused::Invalid);
        }
        lock(&self.state).pairs.map.remove(&key);
        let fail = |_| LoginRefused::Invalid;
        let token = hex(&random::<32>().map_err(fail)?);
        let csrf = hex(&random::<16>().map_err(fail)?);
        let expires =
            now.checked_add(jiff::SignedDuration::from_hours(SESSION_HOURS)).map_err(|_| LoginRefused::Invalid)?;
        let principal = Principal { user: user.name.clone(), role: user.role, person: user.person.clone(), key: None };
        let row = SessionRow {
            token_sha256: sha256_hex(&token),
            login: user.name.clone(),
            role: user.role.as_str().into(),
            person: user.person.clone(),
            csrf: csrf.clone(),
            password_fp: fingerprint(&user),
            created: now,
            expires,
        };
        let capped = {
            let mut db = lock(&self.db);
            db.clear_count(CountKind::Pair, &self.name, &client).map_err(unavailable)?;
            db.mark_known(&self.name, &client, now, MAX_ENTRIES).map_err(unavailable)?;
            db.open_session(&row, SESSIONS_PER_LOGIN, now).map_err(unavailable)?
        };
        let detail = if capped > 0 {
            format!("the oldest {capped} sessions ended (cap {SESSIONS_PER_LOGIN})")
        } else {
            String::new()
        };
        log_line(&self.db, now, &user.name, &format!("user:{}", user.name), "login", detail);
        Ok((token, csrf, principal))
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if self.open {
            let mut st = lock(&self.state);
            st.pairs.end(&(self.name.clone(), self.client), false, self.now);
            st.names.end(&self.name, false, self.now);
        }
    }
}

/// An API key whose secret has not been checked since the accounts were read.
pub struct KeyCheck {
    state: Arc<Mutex<AuthState>>,
    accounts: Arc<Accounts>,
    id: String,
    secret: String,
}

impl KeyCheck {
    /// One argon2 check; a valid key is cached by its SHA-256.
    pub fn run(self) -> Option<Principal> {
        let principal = self.accounts.check_key(&self.id, &self.secret)?;
        let stored = self.accounts.keys.iter().find(|k| k.id == self.id)?.secret.clone();
        lock(&self.state).keys.insert(self.id, (sha256_hex(&self.secret), principal.clone(), stored));
        Some(principal)
    }
}

/// What a key needs before it may be used.
pub enum KeyLookup {
    Valid(Principal),
    /// Malformed, or no key has that id: refused without a hash.
    Refused,
    Check(KeyCheck),
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Whether `who` still is what `accounts` says (the login exists with that role and person).
fn current(accounts: &Accounts, who: &Principal) -> Option<User> {
    accounts.user(&who.user).filter(|u| u.role == who.role && u.person == who.person).cloned()
}

/// The documented demo logins (docs): password `demo-<name>-pw`.
pub const DEMO_USERS: &[(&str, Role, Option<&str>)] = &[
    ("admin", Role::Admin, None),
    ("auditor", Role::Auditor, None),
    ("ada", Role::Employee, Some("ada")),
    ("omar", Role::Employee, Some("omar")),
];

/// A demo login's password (the demo is public, so its passwords are too).
pub fn demo_password(name: &str) -> String {
    format!("demo-{name}-pw")
}

/// Whether `data` is a directory `tokencomp demo` made (it carries the demo mark).
pub fn is_demo(data: &Path) -> bool {
    tokencomp_service::DataDir::new(data).demo_mark().is_file()
}

/// Writes the demo logins as the data directory's accounts (replacing what was there), and the
/// demo mark.
pub fn write_demo_users(dir: &tokencomp_service::DataDir) -> Result<(), AuthError> {
    let mut accounts = Accounts::default();
    for (name, role, person) in DEMO_USERS {
        accounts.set_user(name, *role, *person, &demo_password(name))?;
    }
    accounts.save(&dir.accounts())?;
    let mark = dir.demo_mark();
    std::fs::write(&mark, "made by `tokencomp demo`: the login page lists the demo logins while this file exists\n")
        .map_err(|e| AuthError::File { path: mark.display().to_string(), message: e.to_string() })
}

impl Auth {
    /// The accounts of the data directory `data`, with sessions and counts in `logins` (the
    /// ledger's database: [`tokencomp_store::Store::logins`]).
    pub fn new(data: &Path, logins: Box<dyn Logins>) -> Auth {
        Auth {
            path: accounts_path(data),
            state: Arc::new(Mutex::new(AuthState::default())),
            db: Arc::new(Mutex::new(logins)),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut AuthState) -> R) -> R {
        let mut st = lock(&self.state);
        self.refresh(&mut st);
        f(&mut st)
    }

    /// Re-reads the accounts file when `tokencomp user …` changed it. A file written within a
    /// second or two of the last read is read again (its time stamp may not have moved, as
    /// git's "racy clean" index), and only a change of content counts.
    fn refresh(&self, st: &mut AuthState) {
        let meta = std::fs::metadata(&self.path).ok();
        let stamp = meta.as_ref().map(|m| Stamp { modified: m.modified().ok(), len: m.len(), inode: inode(m) });
        let racy = match (stamp.and_then(|s| s.modified), st.read_at) {
            (Some(m), Some(read)) => read.duration_since(m).map_or(true, |d| d < std::time::Duration::from_secs(2)),
            _ => false,
        };
        if st.read_at.is_some() && stamp == st.stamp && !racy {
            return;
        }
        st.stamp = stamp;
        st.read_at = Some(SystemTime::now());
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return crate::log::error(&format!("accounts: {e}")),
        };
        let digest = sha256_hex(&text);
        if digest == st.digest {
            return;
        }
        let accounts = if text.is_empty() {
            Ok(Accounts::default())
        } else {
            serde_json::from_str::<Accounts>(&text).map_err(|e| e.to_string())
        };
        match accounts {
            Ok(a) => {
                st.accounts = Arc::new(a);
                st.digest = digest;
            }
            Err(e) => return crate::log::error(&format!("accounts: {}: {e}", self.path.display())),
        }
        // Sessions and cached keys are checked against the accounts on every use; this only
        // frees what can no longer be used.
        let accounts = st.accounts.clone();
        st.recent.clear();
        let valid: Vec<(String, String)> = accounts.users.iter().map(|u| (u.name.clone(), fingerprint(u))).collect();
        let ended = lock(&self.db).end_stale(&valid);
        match ended {
            Ok(ended) => {
                let now = Timestamp::now();
                for (login, n) in ended {
                    let detail = format!("{n} sessions ended: the login was removed or its password or role changed");
                    log_line(&self.db, now, &login, "accounts", "ended_by_change", detail);
                }
            }
            Err(e) => db_failed("ending the sessions of changed logins", &e),
        }
        st.keys.retain(|id, (_, _, stored)| accounts.keys.iter().any(|k| &k.id == id && &k.secret == stored));
    }

    /// Counts a login attempt before its hash, or refuses it: a client that has failed
    /// [`MAX_FAILURES`] times for this name, or a name that has spent its [`NAME_BUDGET`]
    /// (unless this client logged in as it before), is locked.
    pub fn reserve(&self, name: &str, client: Option<IpAddr>, now: Timestamp) -> Result<Attempt, LoginRefused> {
        // A name no login can have is refused without a hash or a count: the rule is public.
        if name.is_empty()
            || name.len() > MAX_NAME
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(LoginRefused::Invalid);
        }
        // The stored counts first (no lock held on the state meanwhile): a restart or another
        // server's failures count here too.
        let text = client_text(client);
        let stored = {
            let mut db = lock(&self.db);
            (|| {
                Ok::<_, tokencomp_store::StoreError>((
                    db.count(CountKind::Pair, name, &text)?,
                    db.count(CountKind::Name, name, "")?,
                    db.count(CountKind::Known, name, &text)?.is_some(),
                ))
            })()
        };
        let (pair_db, name_db, known) = stored.map_err(|e| {
            db_failed("reading the failure counts", &e);
            LoginRefused::Unavailable
        })?;
        self.with(|st| {
            let key = (name.to_owned(), client);
            match pair_db {
                Some(c) => st.pairs.set(&key, c, now),
                None => st.pairs.clear(&key),
            }
            match name_db {
                Some(c) => st.names.set(&name.to_owned(), c, now),
                None => st.names.clear(&name.to_owned()),
            }
            let (pair, pair_until) = st.pairs.live(&key, now);
            if pair >= MAX_FAILURES {
                return Err(LoginRefused::Locked { until: pair_until });
            }
            let (named, name_until) = st.names.live(&name.to_owned(), now);
            if !known && named >= NAME_BUDGET {
                return Err(LoginRefused::Locked { until: name_until });
            }
            st.pairs.begin(&key, now);
            st.names.begin(&name.to_owned(), now);
            Ok(Attempt {
                state: self.state.clone(),
                db: self.db.clone(),
                accounts: st.accounts.clone(),
                name: name.to_owned(),
                client,
                known,
                now,
                open: true,
            })
        })
    }

    /// Checks a login and opens a session, hashing on this thread: `(token, csrf token, who)`.
    pub fn login(
        &self,
        name: &str,
        password: &str,
        client: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<(String, String, Principal), LoginRefused> {
        self.reserve(name, client, now)?.check(password)
    }

    /// Ends the session of `token` (it blocks on the database: call it off the async threads).
    pub fn logout(&self, token: &str, now: Timestamp) {
        let digest = sha256_hex(token);
        self.with(|st| st.recent.remove(&digest));
        // The guard must go before the log line takes the lock again.
        let ended = lock(&self.db).end_session(&digest);
        match ended {
            Ok(Some(row)) => {
                log_line(&self.db, now, &row.login, &format!("user:{}", row.login), "logout", String::new())
            }
            Ok(None) => {}
            Err(e) => db_failed("a logout", &e),
        }
    }

    /// Ends every session of `login` (sign out everywhere, or an admin's revocation, as `what`
    /// by `actor`): how many. It blocks on the database.
    pub fn end_sessions_of(&self, login: &str, actor: &str, what: &str, now: Timestamp) -> Result<usize, AuthError> {
        self.with(|st| st.recent.retain(|_, (row, _)| row.login != login));
        let n = lock(&self.db).end_sessions_of(login).map_err(|e| {
            db_failed("ending sessions", &e);
            AuthError::Invalid("the sessions database did not answer".into())
        })?;
        log_line(&self.db, now, login, actor, what, format!("{n} sessions ended"));
        Ok(n)
    }

    /// The sign-in log, newest first: at most `limit` lines, about `login` when given.
    pub fn log_lines(&self, login: Option<&str>, limit: usize) -> Result<Vec<LogLine>, AuthError> {
        lock(&self.db).log_lines(login, limit).map_err(|e| {
            db_failed("reading the sign-in log", &e);
            AuthError::Invalid("the sessions database did not answer".into())
        })
    }

    /// Whether a login of this name exists now.
    pub fn has_user(&self, name: &str) -> bool {
        self.with(|st| st.accounts.user(name).is_some())
    }

    /// The session's caller and CSRF token when it was read from the database within
    /// [`SESSION_RECHECK`] (no database access: safe on the async threads); `None` when it must
    /// be read ([`Auth::session`]).
    pub fn recent_session(&self, token: &str, now: Timestamp) -> Option<Option<(Principal, String)>> {
        let digest = sha256_hex(token);
        let row = self.with(|st| {
            st.recent.get(&digest).filter(|(_, at)| at.elapsed() < SESSION_RECHECK).map(|(row, _)| row.clone())
        })?;
        Some(self.check_row(&digest, row, now))
    }

    /// The session's caller and CSRF token, while the login is unchanged (it blocks on the
    /// database: call it off the async threads).
    pub fn session(&self, token: &str, now: Timestamp) -> Option<(Principal, String)> {
        let digest = sha256_hex(token);
        let row = match lock(&self.db).session(&digest) {
            Ok(row) => row,
            Err(e) => {
                db_failed("reading a session", &e);
                return None;
            }
        };
        let Some(row) = row else {
            self.with(|st| st.recent.remove(&digest));
            return None;
        };
        self.with(|st| {
            if st.recent.len() >= MAX_ENTRIES {
                st.recent.clear();
            }
            st.recent.insert(digest.clone(), (row.clone(), std::time::Instant::now()));
        });
        self.check_row(&digest, row, now)
    }

    /// A stored session's caller and CSRF token while it has not expired and its login is
    /// unchanged; otherwise it is ended.
    fn check_row(&self, digest: &str, row: SessionRow, now: Timestamp) -> Option<(Principal, String)> {
        let principal =
            Principal { user: row.login.clone(), role: row.role.parse().ok()?, person: row.person.clone(), key: None };
        let valid = row.expires > now
            && self
                .with(|st| current(&st.accounts, &principal).is_some_and(|u| same(&fingerprint(&u), &row.password_fp)));
        if !valid {
            self.with(|st| st.recent.remove(digest));
            if let Err(e) = lock(&self.db).end_session(digest) {
                db_failed("ending a session", &e);
            }
            return None;
        }
        Some((principal, row.csrf))
    }

    /// A key `tc_<id>_<secret>`: cached, refused, or to be checked (an argon2 hash).
    pub fn lookup_key(&self, key: &str) -> KeyLookup {
        let Some((id, secret)) = key.strip_prefix("tc_").and_then(|k| k.split_once('_')) else {
            return KeyLookup::Refused;
        };
        let digest = sha256_hex(secret);
        self.with(|st| {
            let stored = st.accounts.keys.iter().find(|k| k.id == id).map(|k| k.secret.clone());
            let Some(stored) = stored else { return KeyLookup::Refused };
            if let Some((d, p, s)) = st.keys.get(id)
                && same(d, &digest)
                && *s == stored
                && current(&st.accounts, p).is_some()
            {
                return KeyLookup::Valid(p.clone());
            }
            KeyLookup::Check(KeyCheck {
                state: self.state.clone(),
                accounts: st.accounts.clone(),
                id: id.to_owned(),
                secret: secret.to_owned(),
            })
        })
    }

    /// The caller of an API key, hashing on this thread when it is not cached.
    pub fn key(&self, key: &str) -> Option<Principal> {
        match self.lookup_key(key) {
            KeyLookup::Valid(p) => Some(p),
            KeyLookup::Refused => None,
            KeyLookup::Check(c) => c.run(),
        }
    }
}

#[cfg(unix)]
fn inode(m: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(m)
}

#[cfg(not(unix))]
fn inode(_: &std::fs::Metadata) -> u64 {
    0
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
