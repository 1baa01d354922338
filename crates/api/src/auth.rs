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
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
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

/// `DATA/auth/accounts.json`.
pub fn accounts_path(data: &Path) -> PathBuf {
    data.join("auth").join("accounts.json")
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

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// Adds or replaces a login. Names are what people type: letters, digits, `-`, `_`, `.`.
    pub fn set_user(&mut self, name: &str, role: Role, person: Option<&str>, password: &str) -> Result<(), AuthError> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return Err(AuthError::Invalid(format!("`{name}` is not a user name (letters, digits, - _ .)")));
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
            Some(u) => *u = user,
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

fn hash_secret(secret: &str) -> Result<String, AuthError> {
    let salt = SaltString::encode_b64(&random::<16>()?).map_err(|e| AuthError::Invalid(e.to_string()))?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Invalid(format!("hashing: {e}")))
}

fn verify_secret(phc: &str, secret: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(secret.as_bytes(), &h).is_ok())
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
}

/// The server's view of accounts: the file (re-read when it changes), live sessions and the
/// verified-key cache.
pub struct Auth {
    path: PathBuf,
    state: Mutex<AuthState>,
}

#[derive(Default)]
struct AuthState {
    accounts: Accounts,
    stamp: Option<(SystemTime, u64)>,
    /// SHA-256 of the session token → session.
    sessions: HashMap<String, Session>,
    /// Key id → (SHA-256 of the secret, who).
    keys: HashMap<String, (String, Principal)>,
    /// User name → (failed logins in a row, the last one's time).
    failures: HashMap<String, (u32, Timestamp)>,
}

/// Failed logins in a row after which a name is locked for [`LOCK_MINUTES`]: guessing a
/// password then costs hours, not seconds, while a person who mistypes is not stopped.
pub const MAX_FAILURES: u32 = 5;
pub const LOCK_MINUTES: i64 = 15;

/// Why a login was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginRefused {
    /// Unknown user or wrong password (the same answer for both).
    Invalid,
    /// Too many failures in a row: try again after `until`.
    Locked { until: Timestamp },
}

/// How long a browser session lasts.
pub const SESSION_HOURS: i64 = 12;

impl Auth {
    pub fn new(data: &Path) -> Auth {
        Auth { path: accounts_path(data), state: Mutex::new(AuthState::default()) }
    }

    fn with<R>(&self, f: impl FnOnce(&mut AuthState) -> R) -> R {
        let mut st = match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        self.refresh(&mut st);
        f(&mut st)
    }

    /// Re-reads the accounts file when `tokencomp user …` changed it; a change drops every
    /// cached key and any session of a login that no longer exists.
    fn refresh(&self, st: &mut AuthState) {
        let stamp = std::fs::metadata(&self.path).ok().and_then(|m| Some((m.modified().ok()?, m.len())));
        if stamp == st.stamp {
            return;
        }
        match Accounts::load(&self.path) {
            Ok(a) => st.accounts = a,
            Err(e) => crate::log::error(&format!("accounts: {e}")),
        }
        st.stamp = stamp;
        st.keys.clear();
        let users = st.accounts.users.clone();
        st.sessions.retain(|_, s| users.iter().any(|u| u.name == s.principal.user && u.role == s.principal.role));
    }

    /// Checks a login and opens a session: `(token, csrf token, who)`.
    pub fn login(
        &self,
        name: &str,
        password: &str,
        now: Timestamp,
    ) -> Result<(String, String, Principal), LoginRefused> {
        let lock = jiff::SignedDuration::from_mins(LOCK_MINUTES);
        let locked = self.with(|st| match st.failures.get(name) {
            Some((n, last)) if *n >= MAX_FAILURES => last.checked_add(lock).ok().filter(|until| *until > now),
            _ => None,
        });
        if let Some(until) = locked {
            return Err(LoginRefused::Locked { until });
        }
        // Hash outside the lock: logins must not stall every other request.
        let accounts = self.with(|st| st.accounts.clone());
        let Some(principal) = accounts.login(name, password) else {
            self.with(|st| {
                let e = st.failures.entry(name.to_owned()).or_insert((0, now));
                // A lock that has run out starts the count again.
                if e.0 >= MAX_FAILURES {
                    e.0 = 0;
                }
                *e = (e.0.saturating_add(1), now);
            });
            return Err(LoginRefused::Invalid);
        };
        let fail = |_| LoginRefused::Invalid;
        let token = hex(&random::<32>().map_err(fail)?);
        let csrf = hex(&random::<16>().map_err(fail)?);
        let expires =
            now.checked_add(jiff::SignedDuration::from_hours(SESSION_HOURS)).map_err(|_| LoginRefused::Invalid)?;
        self.with(|st| {
            st.failures.remove(name);
            st.sessions.retain(|_, s| s.expires > now);
            st.sessions
                .insert(sha256_hex(&token), Session { principal: principal.clone(), csrf: csrf.clone(), expires });
        });
        Ok((token, csrf, principal))
    }

    pub fn logout(&self, token: &str) {
        self.with(|st| st.sessions.remove(&sha256_hex(token)));
    }

    /// The session's caller and CSRF token.
    pub fn session(&self, token: &str, now: Timestamp) -> Option<(Principal, String)> {
        self.with(|st| {
            let s = st.sessions.get(&sha256_hex(token)).filter(|s| s.expires > now)?;
            Some((s.principal.clone(), s.csrf.clone()))
        })
    }

    /// The caller of an API key `tc_<id>_<secret>`.
    pub fn key(&self, key: &str) -> Option<Principal> {
        let (id, secret) = key.strip_prefix("tc_")?.split_once('_')?;
        let digest = sha256_hex(secret);
        let (cached, accounts) = self.with(|st| match st.keys.get(id) {
            Some((d, p)) if same(d, &digest) => (Some(p.clone()), None),
            _ => (None, Some(st.accounts.clone())),
        });
        if let Some(p) = cached {
            return Some(p);
        }
        let principal = accounts?.check_key(id, secret)?;
        self.with(|st| st.keys.insert(id.to_owned(), (digest, principal.clone())));
        Some(principal)
    }
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
            assert_eq!(auth.login("ops", "guess-guess", t0).err(), Some(LoginRefused::Invalid));
        }
        let until = t0.checked_add(jiff::SignedDuration::from_mins(LOCK_MINUTES)).expect("t");
        assert_eq!(auth.login("ops", "password1", t0).err(), Some(LoginRefused::Locked { until }));
        // After the lock, the right password works and clears the count.
        assert!(auth.login("ops", "password1", until).is_ok());
        assert_eq!(auth.login("ops", "guess-guess", until).err(), Some(LoginRefused::Invalid));
        assert!(auth.login("ops", "password1", until).is_ok());
    }

    #[test]
    fn a_session_expires_and_logout_ends_it() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut a = Accounts::default();
        a.set_user("aud", Role::Auditor, None, "password1").expect("add");
        a.save(&accounts_path(dir.path())).expect("save");
        let auth = Auth::new(dir.path());
        let now = Timestamp::UNIX_EPOCH;
        assert_eq!(auth.login("aud", "password2", now).err(), Some(LoginRefused::Invalid));
        let (token, csrf, _) = auth.login("aud", "password1", now).expect("login");
        assert_eq!(auth.session(&token, now).map(|s| s.1), Some(csrf));
        let later = now.checked_add(jiff::SignedDuration::from_hours(SESSION_HOURS + 1)).expect("t");
        assert!(auth.session(&token, later).is_none());
        auth.logout(&token);
        assert!(auth.session(&token, now).is_none());
    }
}
