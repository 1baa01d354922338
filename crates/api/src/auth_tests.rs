//! The accounts' and sessions' unit tests: hashes, keys, lockouts, and sessions kept in the
//! ledger's database across a restart.

use super::*;

/// The server's view over the SQLite ledger file of `data` (as `serve` opens it).
fn open(data: &Path) -> Auth {
    let store = tokencomp_store::sqlite::SqliteStore::open(&data.join("ledger.sqlite")).expect("ledger");
    Auth::new(data, tokencomp_store::Store::logins(&store).expect("logins"))
}

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
    let auth = open(dir.path());
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
    let auth = open(dir.path());
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
    let auth = open(dir.path());
    let now = Timestamp::UNIX_EPOCH;
    assert_eq!(auth.login("aud", "password2", None, now).err(), Some(LoginRefused::Invalid));
    let (token, csrf, _) = auth.login("aud", "password1", None, now).expect("login");
    assert_eq!(auth.session(&token, now).map(|s| s.1), Some(csrf));
    let later = now.checked_add(jiff::SignedDuration::from_hours(SESSION_HOURS + 1)).expect("t");
    assert!(auth.session(&token, later).is_none());
    auth.logout(&token, now);
    assert!(auth.session(&token, now).is_none());
}

fn server(users: &[(&str, Role, Option<&str>)]) -> (tempfile::TempDir, Auth) {
    let dir = tempfile::tempdir().expect("tmp");
    let mut a = Accounts::default();
    for (name, role, person) in users {
        a.set_user(name, *role, *person, "password1").expect("add");
    }
    a.save(&accounts_path(dir.path())).expect("save");
    let auth = open(dir.path());
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

/// Issue 18: a restart (a new `Auth` over the same database) keeps the session and its CSRF
/// token; nothing in the database is the token.
#[test]
fn a_session_survives_a_restart() {
    let (dir, auth) = server(&[("ops", Role::Admin, None)]);
    let now = Timestamp::UNIX_EPOCH;
    let (token, csrf, who) = auth.login("ops", "password1", None, now).expect("login");
    drop(auth);
    let restarted = open(dir.path());
    assert_eq!(restarted.session(&token, now), Some((who, csrf)));
    let ledger = std::fs::read(dir.path().join("ledger.sqlite")).expect("read");
    assert!(!ledger.windows(token.len()).any(|w| w == token.as_bytes()), "the token is stored only hashed");
    // Expiry still holds after the restart.
    let later = now.checked_add(jiff::SignedDuration::from_hours(SESSION_HOURS)).expect("t");
    assert!(restarted.session(&token, later).is_none());
    assert!(restarted.session(&token, now).is_none(), "an expired session is ended when found");
}

/// Issue 18: a password change made while the server is down ends the login's sessions at the
/// restart; another login's session lives on.
#[test]
fn a_password_change_ends_the_others_across_a_restart() {
    let (dir, auth) = server(&[("ops", Role::Admin, None), ("aud", Role::Auditor, None)]);
    let now = Timestamp::UNIX_EPOCH;
    let (ops, _, _) = auth.login("ops", "password1", None, now).expect("login");
    let (aud, _, _) = auth.login("aud", "password1", None, now).expect("login");
    drop(auth);
    let path = accounts_path(dir.path());
    let mut a = Accounts::load(&path).expect("load");
    a.set_user("ops", Role::Admin, None, "password2").expect("reset");
    a.save(&path).expect("save");
    let auth = open(dir.path());
    assert!(auth.session(&ops, now).is_none());
    assert!(auth.session(&aud, now).is_some());
    let lines = auth.log_lines(Some("ops"), 10).expect("log");
    assert_eq!(lines.first().map(|l| l.what.as_str()), Some("ended_by_change"), "{lines:?}");
}

/// Issue 18: "sign out everywhere" and an admin's revocation end every session of one login,
/// and no other's; each leaves a line in the sign-in log without the token or its hash.
#[test]
fn sign_out_everywhere_and_revocation_end_one_logins_sessions() {
    let (_dir, auth) = server(&[("ops", Role::Admin, None), ("aud", Role::Auditor, None)]);
    let now = Timestamp::UNIX_EPOCH;
    let ops: Vec<String> = (0..3).map(|_| auth.login("ops", "password1", None, now).expect("login").0).collect();
    let (aud, _, _) = auth.login("aud", "password1", None, now).expect("login");
    assert_eq!(auth.end_sessions_of("ops", "user:ops", "sign_out_everywhere", now).expect("ends"), 3);
    assert!(ops.iter().all(|t| auth.session(t, now).is_none()));
    assert!(auth.session(&aud, now).is_some());
    let (aud2, _, _) = auth.login("aud", "password1", None, now).expect("login");
    assert_eq!(auth.end_sessions_of("aud", "user:ops", "revoked", now).expect("ends"), 2);
    assert!(auth.session(&aud, now).is_none() && auth.session(&aud2, now).is_none());
    let lines = auth.log_lines(None, 20).expect("log");
    let whats: Vec<(&str, &str)> = lines.iter().map(|l| (l.login.as_str(), l.what.as_str())).collect();
    let mut want = vec![("aud", "revoked"), ("aud", "login"), ("ops", "sign_out_everywhere"), ("aud", "login")];
    want.extend([("ops", "login"); 3]);
    assert_eq!(whats, want);
    assert_eq!(lines[0].actor, "user:ops");
    for l in &lines {
        for t in ops.iter().chain([&aud, &aud2]) {
            let text = format!("{l:?}");
            assert!(!text.contains(t.as_str()) && !text.contains(&sha256_hex(t)), "{text}");
        }
    }
}

/// Issue 18: the per-login cap holds in the database: the 17th login ends the oldest session.
#[test]
fn the_per_login_cap_still_holds() {
    let (_dir, auth) = server(&[("ops", Role::Admin, None)]);
    let t = |s: i64| Timestamp::from_second(s).expect("t");
    let tokens: Vec<String> = (0..=SESSIONS_PER_LOGIN)
        .map(|i| auth.login("ops", "password1", None, t(i64::try_from(i).expect("i"))).expect("login").0)
        .collect();
    let now = t(100);
    assert!(auth.session(&tokens[0], now).is_none(), "the oldest went");
    assert!(tokens[1..].iter().all(|x| auth.session(x, now).is_some()));
}

/// Issue 18: a lockout survives a restart: five failures, a new server, and the right password
/// is still refused until the lock ends.
#[test]
fn failure_counts_survive_a_restart() {
    let (dir, auth) = server(&[("ops", Role::Admin, None)]);
    let t0 = Timestamp::UNIX_EPOCH;
    let from: Option<IpAddr> = Some("10.0.0.9".parse().expect("ip"));
    for _ in 0..MAX_FAILURES {
        assert_eq!(auth.login("ops", "guess-guess", from, t0).err(), Some(LoginRefused::Invalid));
    }
    drop(auth);
    let auth = open(dir.path());
    let until = t0.checked_add(lock_span()).expect("t");
    assert_eq!(auth.login("ops", "password1", from, t0).err(), Some(LoginRefused::Locked { until }));
    assert!(auth.login("ops", "password1", from, until).is_ok());
    // The name's budget is counted in the database too: strangers spend it across restarts.
    drop(auth);
    let auth = open(dir.path());
    for n in 0..NAME_BUDGET {
        let client = Some(format!("10.1.0.{}", n / MAX_FAILURES).parse::<IpAddr>().expect("ip"));
        assert_eq!(auth.login("ops", "guess-guess", client, until).err(), Some(LoginRefused::Invalid));
    }
    drop(auth);
    let auth = open(dir.path());
    let stranger = Some("10.2.0.1".parse::<IpAddr>().expect("ip"));
    assert!(matches!(auth.login("ops", "password1", stranger, until), Err(LoginRefused::Locked { .. })));
    // The client that logged in before is known across the restart and may still log in.
    assert!(auth.login("ops", "password1", from, until).is_ok());
}
