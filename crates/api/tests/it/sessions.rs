//! Issue 18, item 4: sessions kept in the ledger's database through the HTTP API. A restarted
//! server (a new `AppState` over the same data directory) keeps the session; a password change
//! ends the login's other sessions; "sign out everywhere" and an admin's revocation end a login's
//! sessions; the sign-in log shows each, without a token.

use axum::http::{Method, StatusCode};
use serde_json::json;
use tokencomp_api::{AppState, Config, app};
use tokencomp_service::DataDir;

use crate::web::{NOW, Who, call, fixture, login};

/// A second server over the fixture's data directory (and so its ledger database).
fn restarted(data: &std::path::Path) -> axum::Router {
    let store = tokencomp_service::ledger::open_store(&DataDir::new(data.to_path_buf()), None).expect("store");
    let mut cfg = Config::new(data.to_path_buf());
    cfg.now = Some(NOW.parse().expect("now"));
    cfg.log = std::sync::Arc::new(|_: &str| {});
    app(AppState::new(store, cfg).expect("state"))
}

fn cookie(who: &Who) -> String {
    match who {
        Who::Session { cookie, .. } => cookie.clone(),
        _ => panic!("not a session"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_survives_a_restart_and_a_second_server_shares_it() {
    let f = fixture();
    let ada = login(&f.app, "ada").await;
    let again = restarted(&f.data);
    let r = call(&again, Method::GET, "/api/session", &ada, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["user"], json!("ada"));
    // Logging out on the second server ends it on the first too.
    let r = call(&again, Method::DELETE, "/api/session", &ada, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = call(&f.app, Method::GET, "/api/session", &ada, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_ends_the_logins_other_sessions() {
    let f = fixture();
    let ada = login(&f.app, "ada").await;
    let omar = login(&f.app, "omar").await;
    let path = tokencomp_api::auth::accounts_path(&f.data);
    let mut accounts = tokencomp_api::auth::Accounts::load(&path).expect("accounts");
    accounts.set_user("ada", tokencomp_api::Role::Employee, Some("ada"), "a-new-password").expect("reset");
    accounts.save(&path).expect("save");
    let r = call(&f.app, Method::GET, "/api/session", &ada, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    let r = call(&f.app, Method::GET, "/api/session", &omar, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_everywhere_and_revocation_end_a_logins_sessions_and_are_logged() {
    let f = fixture();
    let phone = login(&f.app, "ada").await;
    let laptop = login(&f.app, "ada").await;
    let omar = login(&f.app, "omar").await;
    let r = call(&f.app, Method::DELETE, "/api/session/all", &laptop, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json(), json!({"user": "ada", "ended": 2}));
    assert!(r.headers.get("set-cookie").is_some_and(|c| c.to_str().is_ok_and(|c| c.contains("Max-Age=0"))));
    for who in [&phone, &laptop] {
        assert_eq!(call(&f.app, Method::GET, "/api/session", who, None).await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(call(&f.app, Method::GET, "/api/session", &omar, None).await.status, StatusCode::OK);
    // An admin ends omar's sessions; an employee may not; an unknown login is not found.
    let admin = login(&f.app, "admin").await;
    let ada = login(&f.app, "ada").await;
    let r = call(&f.app, Method::DELETE, "/api/users/omar/sessions", &ada, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = call(&f.app, Method::DELETE, "/api/users/omar/sessions", &admin, None).await;
    assert_eq!(r.json(), json!({"user": "omar", "ended": 1}));
    assert_eq!(call(&f.app, Method::GET, "/api/session", &omar, None).await.status, StatusCode::UNAUTHORIZED);
    let r = call(&f.app, Method::DELETE, "/api/users/nobody/sessions", &admin, None).await;
    assert_eq!((r.status, r.json()["details"]["field"].clone()), (StatusCode::NOT_FOUND, json!("path.user")));
    // The sign-in log, newest first, for staff only; no token or token hash in it.
    let r = call(&f.app, Method::GET, "/api/sign-ins?limit=4", &admin, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let lines: Vec<(String, String, String)> = r.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|l| {
            let s = |k: &str| l[k].as_str().expect("text").to_owned();
            (s("user"), s("what"), s("actor"))
        })
        .collect();
    let want = [
        ("omar", "revoked", "user:admin"),
        ("ada", "login", "user:ada"),
        ("admin", "login", "user:admin"),
        ("ada", "sign_out_everywhere", "user:ada"),
    ];
    let want: Vec<(String, String, String)> =
        want.iter().map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned())).collect();
    assert_eq!(lines, want);
    for who in [&phone, &laptop, &omar, &admin] {
        let c = cookie(who);
        assert!(!r.text.contains(&c) && !r.text.contains(&tokencomp_store::sha256_hex(&c)), "{}", r.text);
    }
    assert_eq!(call(&f.app, Method::GET, "/api/sign-ins", &ada, None).await.status, StatusCode::FORBIDDEN);
}
