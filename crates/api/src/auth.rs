//! Accounts and roles: logins with argon2 password hashes, API keys, browser sessions.
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

struct Session {
    principal: Principal,
    csrf: String,
    expires: Timestamp,
    /// The login's password hash when the session opened: a reset changes it, and ends it.
    password: String,
}

/// The server's view of accounts: the file (re-read when it changes), live sessions, the
/// verified-key cache and the failed-login counts.
pub struct Auth {
    path: PathBuf,
    state: Arc<Mutex<AuthState>>,
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
    /// SHA-256 of the session token → session.
    sessions: HashMap<String, Session>,
    /// Key id → (SHA-256 of the secret, who, the key's stored hash).
    keys: HashMap<String, (String, Principal, String)>,
    /// (name, client) → failed logins; the lock a stranger's guesses put on their own client.
    pairs: Counts<(String, Option<IpAddr>)>,
    /// Name → failed logins from every client: the name's guess budget.
    names: Counts<String>,
    /// (name, client) → when that client last logged in as that name.
    known: HashMap<(String, Option<IpAddr>), Timestamp>,
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
}

/// How long a browser session lasts.
pub const SESSION_HOURS: i64 = 12;

/// A login attempt counted before its hash: finish it with [`Attempt::check`]; dropped
/// unchecked (the server was too busy), it is given back.
pub struct Attempt {
    state: Arc<Mutex<AuthState>>,
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
        let mut st = lock(&self.state);
        st.pairs.end(&key, !ok, now);
        st.names.end(&self.name, !ok, now);
        let Some(user) = user.filter(|_| ok) else { return Err(LoginRefused::Invalid) };
        // The login may have changed while its password was checked.
        if st.accounts.user(&user.name) != Some(&user) {
            return Err(LoginRefused::Invalid);
        }
        st.pairs.map.remove(&key);
        if !st.known.contains_key(&key) && st.known.len() >= MAX_ENTRIES {
            let oldest = st.known.iter().min_by_key(|(_, t)| **t).map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                st.known.remove(&k);
            }
        }
        st.known.insert(key, now);
        let fail = |_| LoginRefused::Invalid;
        let token = hex(&random::<32>().map_err(fail)?);
        let csrf = hex(&random::<16>().map_err(fail)?);
        let expires =
            now.checked_add(jiff::SignedDuration::from_hours(SESSION_HOURS)).map_err(|_| LoginRefused::Invalid)?;
        let principal = Principal { user: user.name.clone(), role: user.role, person: user.person.clone(), key: None };
        st.sessions.retain(|_, s| s.expires > now);
        let mut mine: Vec<(String, Timestamp)> = st
            .sessions
            .iter()
            .filter(|(_, s)| s.principal.user == user.name)
            .map(|(k, s)| (k.clone(), s.expires))
            .collect();
        if mine.len() >= SESSIONS_PER_LOGIN {
            mine.sort_by_key(|m| m.1);
            for (k, _) in mine.iter().take(mine.len() + 1 - SESSIONS_PER_LOGIN) {
                st.sessions.remove(k);
            }
        }
        st.sessions.insert(
            sha256_hex(&token),
            Session { principal: principal.clone(), csrf: csrf.clone(), expires, password: user.password },
        );
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
    pub fn new(data: &Path) -> Auth {
        Auth { path: accounts_path(data), state: Arc::new(Mutex::new(AuthState::default())) }
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
        st.sessions.retain(|_, s| current(&accounts, &s.principal).is_some_and(|u| u.password == s.password));
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
        self.with(|st| {
            let key = (name.to_owned(), client);
            let known = st.known.contains_key(&key);
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

    pub fn logout(&self, token: &str) {
        self.with(|st| st.sessions.remove(&sha256_hex(token)));
    }

    /// The session's caller and CSRF token, while the login is unchanged.
    pub fn session(&self, token: &str, now: Timestamp) -> Option<(Principal, String)> {
        self.with(|st| {
            let digest = sha256_hex(token);
            let s = st.sessions.get(&digest).filter(|s| s.expires > now)?;
            let valid = current(&st.accounts, &s.principal).is_some_and(|u| u.password == s.password);
            if !valid {
                st.sessions.remove(&digest);
                return None;
            }
            Some((s.principal.clone(), s.csrf.clone()))
        })
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
mod tests {
    use super::*;

    #[test]
    fn a_password_is_kept_as_an_argon2id_hash_and_checked() {
        let mut a = Accounts::default();
        a.set_user("ada", Role::Employee, Some("ada"), "correct horse").expect("add");
        let stored = &a.users[0].password;
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(!stored.contains("correct horse"));
        assert_eq!(a.login("ada", "correct horse").map(|p| p.person), Some(Some("ada".into())));
        assert_eq!(a.login("ada", "wrong horse!"), None);
        assert_eq!(a.login("nobody", "correct horse"), None);
    }

    #[test]
    fn the_dummy_hash_parses_so_unknown_users_pay_a_hash() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn bad_accounts_are_refused_with_a_reason() {
        let mut a = Accounts::default();
        assert!(a.set_user("has space", Role::Admin, None, "password1").is_err());
        assert!(a.set_user("emp", Role::Employee, None, "password1").is_err());
        assert!(a.set_user("short", Role::Admin, None, "pw").is_err());
        assert!(a.users.is_empty());
    }

    #[test]
    fn an_api_key_is_found_by_id_and_its_secret_checked() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut a = Accounts::default();
        a.set_user("ops", Role::Admin, None, "password1").expect("add");
        let key = a.add_key("ops", Timestamp::UNIX_EPOCH).expect("key");
        a.save(&accounts_path(dir.path())).expect("save");
        let text = std::fs::read_to_string(accounts_path(dir.path())).expect("read");
        let secret = key.rsplit('_').next().expect("secret");
        assert!(!text.contains(secret), "the secret must only be stored hashed");
        let auth = Auth::new(dir.path());
        let p = auth.key(&key).expect("valid key");
        assert_eq!(p.actor(), format!("key:{}", a.keys[0].id));
        // The cached path answers the same, and a wrong secret under the same id is refused.
        assert_eq!(auth.key(&key), Some(p));
        let wrong = format!("{}x", &key[..key.len() - 1]);
        assert_eq!(auth.key(&wrong), None);
        assert_eq!(auth.key("tc_nope_nope"), None);
    }

    #[test]
    fn five_failures_lock_a_name_for_a_while_even_against_the_right_password() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut a = Accounts::default();
        a.set_user("ops", Role::Admin, None, "password1").expect("add");
        a.save(&accounts_path(dir.path())).expect("save");
        let auth = Auth::new(dir.path());
        let t0 = Timestamp::UNIX_EPOCH;
        for _ in 0..MAX_FAILURES {
            assert_eq!(auth.login("ops", "guess-guess", None, t0).err(), Some(LoginRefused::Invalid));
        }
        let until = t0.checked_add(jiff::SignedDuration::from_mins(LOCK_MINUTES)).expect("t");
        assert_eq!(auth.login("ops", "password1", None, t0).err(), Some(LoginRefused::Locked { until }));
        // After the lock, the right password works and clears the count.
        assert!(auth.login("ops", "password1", None, until).is_ok());
        assert_eq!(auth.login("ops", "guess-guess", None, until).err(), Some(LoginRefused::Invalid));
        assert!(auth.login("ops", "password1", None, until).is_ok());
    }

    #[test]
    fn a_session_expires_and_logout_ends_it() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut a = Accounts::default();
        a.set_user("aud", Role::Auditor, None, "password1").expect("add");
        a.save(&accounts_path(dir.path())).expect("save");
        let auth = Auth::new(dir.path());
        let now = Timestamp::UNIX_EPOCH;
        assert_eq!(auth.login("aud", "password2", None, now).err(), Some(LoginRefused::Invalid));
        let (token, csrf, _) = auth.login("aud", "password1", None, now).expect("login");
        assert_eq!(auth.session(&token, now).map(|s| s.1), Some(csrf));
        let later = now.checked_add(jiff::SignedDuration::from_hours(SESSION_HOURS + 1)).expect("t");
        assert!(auth.session(&token, later).is_none());
        auth.logout(&token);
        assert!(auth.session(&token, now).is_none());
    }

    fn server(users: &[(&str, Role, Option<&str>)]) -> (tempfile::TempDir, Auth) {
        let dir = tempfile::tempdir().expect("tmp");
        let mut a = Accounts::default();
        for (name, role, person) in users {
            a.set_user(name, *role, *person, "password1").expect("add");
        }
        a.save(&accounts_path(dir.path())).expect("save");
        let auth = Auth::new(dir.path());
        (dir, auth)
    }

    #[test]
    fn parallel_guesses_are_counted_before_their_hash() {
        let (_dir, auth) = server(&[("ops", Role::Admin, None)]);
        let t0 = Timestamp::UNIX_EPOCH;
        let stranger: Option<IpAddr> = Some("127.0.0.2".parse().expect("ip"));
        // Five attempts reserved and not yet checked already use the client's budget.
        let running: Vec<Attempt> =
            (0..MAX_FAILURES).map(|_| auth.reserve("ops", stranger, t0).expect("reserved")).collect();
        assert!(matches!(auth.reserve("ops", stranger, t0), Err(LoginRefused::Locked { .. })));
        // An attempt given back unchecked (the server was busy) is not a failure.
        drop(running);
        assert!(auth.reserve("ops", stranger, t0).is_ok());
    }

    #[test]
    fn strangers_spend_a_names_budget_but_not_its_owners_client() {
        let (_dir, auth) = server(&[("ops", Role::Admin, None)]);
        let t0 = Timestamp::UNIX_EPOCH;
        let ip = |s: &str| Some(s.parse::<IpAddr>().expect("ip"));
        assert!(auth.login("ops", "password1", ip("127.0.0.3"), t0).is_ok());
        for n in 0..NAME_BUDGET {
            let from = ip(&format!("10.0.0.{}", n / MAX_FAILURES));
            assert_eq!(auth.login("ops", "guess-guess", from, t0).err(), Some(LoginRefused::Invalid));
        }
        let until = t0.checked_add(lock_span()).expect("t");
        assert_eq!(auth.login("ops", "password1", ip("127.0.0.4"), t0).err(), Some(LoginRefused::Locked { until }));
        assert!(auth.login("ops", "password1", ip("127.0.0.3"), t0).is_ok());
    }

    #[test]
    fn failure_counts_stay_bounded_and_expired_ones_go_first() {
        let mut counts: Counts<String> = Counts { map: HashMap::new(), cap: 3 };
        let t0 = Timestamp::UNIX_EPOCH;
        let later = t0.checked_add(lock_span()).expect("t");
        for (i, at) in [(0, t0), (1, t0), (2, later)] {
            let k = format!("n{i}");
            counts.begin(&k, at);
            counts.end(&k, true, at);
        }
        counts.begin(&"n3".to_owned(), later);
        counts.end(&"n3".to_owned(), true, later);
        assert_eq!(counts.map.len(), 2, "the expired counts went: {:?}", counts.map.keys().collect::<Vec<_>>());
        for i in 4..10 {
            let k = format!("n{i}");
            counts.begin(&k, later);
            counts.end(&k, true, later);
            assert!(counts.map.len() <= 3);
        }
    }

    #[test]
    fn a_stored_hash_asking_for_more_memory_is_refused_unchecked() {
        let salt = SaltString::encode_b64(&[7u8; 16]).expect("salt");
        let big = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(M_COST_KIB * 2, 1, 1, None).expect("p"));
        let phc = big.hash_password(b"password1", &salt).expect("hash").to_string();
        assert!(!verify_secret(&phc, "password1"));
        let ours = argon2().expect("a").hash_password(b"password1", &salt).expect("hash").to_string();
        assert!(verify_secret(&ours, "password1"));
    }

    #[test]
    fn a_reset_ends_the_logins_sessions_and_revokes_its_keys() {
        let (dir, auth) = server(&[("ops", Role::Admin, None), ("aud", Role::Auditor, None)]);
        let path = accounts_path(dir.path());
        let now = Timestamp::UNIX_EPOCH;
        let mut a = Accounts::load(&path).expect("load");
        let key = a.add_key("ops", now).expect("key");
        a.save(&path).expect("save");
        let (ops, _, _) = auth.login("ops", "password1", None, now).expect("login");
        let (aud, _, _) = auth.login("aud", "password1", None, now).expect("login");
        assert!(auth.key(&key).is_some());
        let mut a = Accounts::load(&path).expect("load");
        a.set_user("ops", Role::Admin, None, "password2").expect("reset");
        assert!(a.keys.is_empty(), "a reset revokes the login's keys");
        a.save(&path).expect("save");
        assert!(auth.session(&ops, now).is_none());
        assert!(auth.key(&key).is_none());
        assert!(auth.session(&aud, now).is_some(), "other logins keep their sessions");
    }
}
