//! The HTTP API over the sample company, through `app().oneshot` (no socket) over the service
//! and a real SQLite ledger: the authorization matrix, sessions and CSRF, API keys,
//! bad bodies, the request log, and a period run from the API that equals the CLI's.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::body::Body as HttpBody;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use jiff::Timestamp;
use serde_json::{Value, json};
use tokencomp_api::routes::{Access, table};
use tokencomp_api::{AppState, Config, app};
use tower::ServiceExt;

use tokencomp_service::DataDir;

/// `system` writing at the wall clock's now, as a test that seeds the ledger directly does.
fn system_now() -> tokencomp_service::ledger::Stamp {
    tokencomp_service::ledger::Stamp::new("system", Timestamp::now())
}

/// The demo's data directory, made once per test binary; each test works on a copy.
pub(crate) fn template() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let dir_files = DataDir::new(data.clone());
        let mut store = tokencomp_service::ledger::open_store(&dir_files, None).expect("store");
        tokencomp_service::demo::build(&dir_files, &mut *store, &system_now(), &mut |_| {}).expect("demo");
        tokencomp_api::auth::write_demo_users(&dir_files).expect("demo logins");
        (dir, data)
    })
    .1
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}

/// The instant the tests run at: inside the demo's open proposal, after November ended.
pub(crate) const NOW: &str = "2026-12-06T12:00:00Z";

pub(crate) struct Fixture {
    _dir: tempfile::TempDir,
    pub(crate) data: PathBuf,
    pub(crate) state: AppState,
    pub(crate) app: Router,
    logs: Arc<Mutex<Vec<String>>>,
}

pub(crate) fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    copy_dir(template(), &data);
    let store = tokencomp_service::ledger::open_store(&DataDir::new(data.clone()), None).expect("store");
    let logs = Arc::new(Mutex::new(Vec::new()));
    let sink = logs.clone();
    let mut cfg = Config::new(data.clone());
    cfg.now = Some(NOW.parse().expect("now"));
    cfg.log = Arc::new(move |line: &str| sink.lock().expect("logs").push(line.to_owned()));
    cfg.label_wallets = true;
    cfg.public_host = Some(crate::wallets::HOST.to_owned());
    let state = AppState::new(store, cfg).expect("state");
    Fixture { _dir: dir, data, app: app(state.clone()), state, logs }
}

#[derive(Clone, Debug)]
pub(crate) enum Who {
    Anonymous,
    Session { cookie: String, csrf: String },
    Key(String),
}

pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: axum::http::HeaderMap,
    pub(crate) text: String,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

pub(crate) async fn call(app: &Router, method: Method, path: &str, who: &Who, body: Option<Value>) -> Reply {
    let mut req = Request::builder().method(method.clone()).uri(path);
    match who {
        Who::Anonymous => {}
        Who::Session { cookie, csrf } => {
            req = req.header(header::COOKIE, format!("tc_session={cookie}"));
            if method != Method::GET {
                req = req.header("x-csrf-token", csrf);
            }
        }
        Who::Key(k) => req = req.header(header::AUTHORIZATION, format!("Bearer {k}")),
    }
    let req = match body {
        Some(b) => req.header(header::CONTENT_TYPE, "application/json").body(HttpBody::from(b.to_string())),
        None => req.body(HttpBody::empty()),
    }
    .expect("request");
    let res = app.clone().oneshot(req).await.expect("response");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    Reply { status, headers, text: String::from_utf8_lossy(&bytes).into_owned() }
}

pub(crate) async fn login(app: &Router, user: &str) -> Who {
    let r = call(
        app,
        Method::POST,
        "/api/session",
        &Who::Anonymous,
        Some(json!({"user": user, "password": format!("demo-{user}-pw")})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let set = r.headers.get(header::SET_COOKIE).expect("cookie").to_str().expect("ascii").to_owned();
    for attr in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(set.contains(attr), "the session cookie lacks {attr}: {set}");
    }
    let cookie = set.trim_start_matches("tc_session=").split(';').next().expect("value").to_owned();
    Who::Session { cookie, csrf: r.json()["csrf_token"].as_str().expect("csrf").to_owned() }
}

/// Every route and who may call it. A route added to the table without a line here fails
/// `every_route_has_an_expected_access`.
const EXPECTED: &[(&str, &str, Access)] = &[
    ("GET", "/healthz", Access::Public),
    ("GET", "/openapi.json", Access::Public),
    ("GET", "/api/login-page", Access::Public),
    ("POST", "/api/session", Access::Public),
    ("GET", "/api/session", Access::Authenticated),
    ("DELETE", "/api/session", Access::Authenticated),
    ("DELETE", "/api/session/all", Access::Authenticated),
    ("DELETE", "/api/users/{user}/sessions", Access::Admin),
    ("GET", "/api/sign-ins", Access::Staff),
    // Notices (issue 18, item 5): a person's own choices.
    ("GET", "/api/me/notices", Access::Holder),
    ("PUT", "/api/me/notices", Access::Holder),
    ("GET", "/api/company", Access::Staff),
    ("GET", "/api/people", Access::Staff),
    ("GET", "/api/people/{person}", Access::Own),
    ("PUT", "/api/people/{person}/tax", Access::Admin),
    ("GET", "/api/people/{person}/portal", Access::Own),
    ("GET", "/api/people/{person}/statement", Access::Own),
    ("GET", "/api/people/{person}/tax-report", Access::Own),
    ("GET", "/api/people/{person}/simulation", Access::Own),
    ("GET", "/api/grants", Access::Authenticated),
    ("GET", "/api/grants/{grant}", Access::Own),
    ("GET", "/api/grants/{grant}/history", Access::Own),
    ("GET", "/api/calendar", Access::Authenticated),
    ("GET", "/api/periods", Access::Staff),
    ("GET", "/api/rules", Access::Staff),
    ("POST", "/api/rules", Access::Admin),
    ("POST", "/api/periods/{period}/run", Access::Admin),
    ("POST", "/api/periods/{period}/close", Access::Admin),
    ("GET", "/api/periods/{period}/payroll", Access::Staff),
    ("GET", "/api/books", Access::Staff),
    ("POST", "/api/books/erp", Access::Staff),
    ("GET", "/api/payroll/{period}/layout/{provider}", Access::Staff),
    ("GET", "/api/payroll/{period}/layout/{provider}/sidecar", Access::Staff),
    ("GET", "/api/year-end", Access::Authenticated),
    ("GET", "/api/year-end/{form}", Access::Authenticated),
    ("GET", "/api/tokenomics", Access::Staff),
    ("GET", "/api/chain", Access::Staff),
    ("GET", "/api/chain/reconciliation", Access::Staff),
    ("GET", "/api/ledger/events", Access::Staff),
    ("GET", "/api/ledger/events.csv", Access::Staff),
    ("GET", "/api/ledger/verify", Access::Staff),
    ("GET", "/api/gov/power", Access::Authenticated),
    ("GET", "/api/gov/delegations", Access::Authenticated),
    ("PUT", "/api/gov/delegations/{person}", Access::OwnWrite),
    ("GET", "/api/gov/proposals", Access::Authenticated),
    ("POST", "/api/gov/proposals", Access::Admin),
    ("GET", "/api/gov/proposals/{proposal}", Access::Authenticated),
    ("POST", "/api/gov/proposals/{proposal}/ballots", Access::Holder),
    ("POST", "/api/me/wallet/challenge", Access::Holder),
    ("POST", "/api/me/wallet/proof", Access::Holder),
    ("GET", "/api/people/{person}/wallet", Access::Own),
    ("POST", "/api/people/{person}/wallet/cancel", Access::OwnWrite),
];

#[test]
fn every_route_has_an_expected_access() {
    let routes: Vec<(String, String, Access)> =
        table().iter().map(|r| (r.method.to_string(), r.path.to_owned(), r.access)).collect();
    for (m, p, a) in &routes {
        let want = EXPECTED.iter().find(|(em, ep, _)| em == m && ep == p);
        assert_eq!(want.map(|w| w.2), Some(*a), "{m} {p}: add it to EXPECTED with the access it should have");
    }
    assert_eq!(routes.len(), EXPECTED.len(), "EXPECTED names a route the table no longer has");
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Anonymous,
    Admin,
    Auditor,
    /// Ada, an employee.
    Employee,
}

fn allowed(access: Access, role: Role, own: bool) -> bool {
    use Role::*;
    match access {
        Access::Public => true,
        Access::Authenticated => role != Anonymous,
        Access::Staff => matches!(role, Admin | Auditor),
        Access::Admin => role == Admin,
        Access::Own => matches!(role, Admin | Auditor) || (role == Employee && own),
        Access::OwnWrite => role == Admin || (role == Employee && own),
        Access::Holder => role == Employee,
    }
}

/// The path with its parameters filled: Ada's own resources, or Omar's.
fn concrete(path: &str, own: bool) -> String {
    let (person, grant) = if own { ("ada", "ada-2024-hire") } else { ("omar", "omar-2026-hire") };
    path.replace("{person}", person)
        .replace("{grant}", grant)
        .replace("{period}", "2026-10")
        .replace("{proposal}", "grants-budget-2027")
        .replace("{provider}", "rippling")
        .replace("{form}", "w2.csv")
        .replace("{user}", "omar")
}

/// A chart-of-accounts mapping for the demo's books of 2026 through the tests' now: every
/// account of the starter file mapped to a name of its own, Xero's tax rate set.
pub(crate) fn erp_map() -> &'static str {
    static MAP: OnceLock<String> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut store = tokencomp_service::ledger::open_store(&DataDir::new(template()), None).expect("store");
        let company = tokencomp_service::ledger::load(&mut *store).expect("company");
        let (from, to) = ("2026-01-01".parse().expect("from"), "2026-12-06".parse().expect("to"));
        let starter = tokencomp_service::reports::erp_starter_map(&company, from, to).expect("starter map");
        let mut out = String::new();
        for line in starter.lines() {
            match line.strip_suffix(" = \"\"") {
                Some("tax_rate") => out.push_str("tax_rate = \"Tax Exempt\""),
                Some(key) if !key.starts_with('#') => {
                    let name = key.trim_matches('"').replace(':', " ");
                    out.push_str(&format!("{key} = \"TC {name}\""));
                }
                _ => out.push_str(line),
            }
            out.push('\n');
        }
        out
    })
}

/// A rules file that declares California's 2026 rate again (the shipped value, recorded).
pub(crate) const RULES_FILE: &str =
    "[us.2026.state.CA.income]\nmethod = \"flat\"\nrate = \"10.23%\"\nsource = \"California EDD, DE 44 (2026)\"\n";

fn body_for(schema: &str, role: Role) -> Value {
    match schema {
        "Login" => json!({"user": "auditor", "password": "demo-auditor-pw"}),
        // Each caller records their own fact (the same record by another actor is a conflict).
        "DelegationRequest" if role == Role::Employee => json!({"to": "dara"}),
        "DelegationRequest" => json!({"to": "priya"}),
        "ProposalRequest" => json!({"id": "matrix-1", "title": "A matrix proposal", "snapshot_date": "2026-11-30",
                                     "opens": "2026-12-01T00:00:00Z", "closes": "2026-12-31T00:00:00Z"}),
        "BallotRequest" => json!({"choice": "for"}),
        "NoticePrefsRequest" => json!({"kinds": {"upcoming_vest": false}}),
        "TaxProfilesRequest" => json!({"uk": {"tax_code": "1257L"}}),
        "RulesAddRequest" => json!({"name": "ca-2026.toml", "text": RULES_FILE}),
        "ErpBooksRequest" => json!({"format": "quickbooks", "map": erp_map()}),
        "WalletChallengeRequest" => json!({"address": crate::wallets::key().address().to_string()}),
        other => panic!("no sample body for {other}"),
    }
}

/// Whether a route's path names a person or a grant, so that who owns it matters.
fn owned(path: &str) -> bool {
    path.contains("{person}") || path.contains("{grant}")
}

/// A property of an allowed call's body: every field its documented schema requires, and what
/// the path or the caller's role says it must hold.
fn check_allowed_body(route: &tokencomp_api::routes::Route, path: &str, role: Role, r: &Reply, what: &str) {
    use tokencomp_api::routes::Resp;
    let schemas = tokencomp_api::openapi::schemas();
    let name = match route.response {
        Resp::Json(name) => name,
        Resp::Text(types) => {
            let got = r.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
            assert!(types.iter().any(|ct| got.starts_with(ct)), "{what}: content type {got}");
            assert!(r.text.lines().next().is_some_and(|l| !l.trim().is_empty()), "{what}: an empty file");
            return;
        }
        Resp::Html => panic!("{what}: no HTML route in the API table"),
    };
    let body = r.json();
    for key in schemas[name]["required"].as_array().expect("required") {
        let key = key.as_str().expect("key");
        assert!(body.get(key).is_some(), "{what}: `{key}` of {name} missing");
    }
    let segment = |i: usize| path.trim_start_matches('/').split('/').nth(i).unwrap_or_default().to_owned();
    let pointer = match (route.method.as_str(), route.path) {
        ("GET", "/api/people/{person}") | ("PUT", "/api/people/{person}/tax") => Some(("/id", json!(segment(2)))),
        (
            "GET",
            "/api/people/{person}/tax-report" | "/api/people/{person}/simulation" | "/api/people/{person}/portal",
        ) => Some(("/person", json!(segment(2)))),
        ("GET", "/api/grants/{grant}") => Some(("/grant/id", json!(segment(2)))),
        ("GET", "/api/grants/{grant}/history") => Some(("/grant", json!(segment(2)))),
        ("PUT", "/api/gov/delegations/{person}") => Some(("/from", json!(segment(3)))),
        ("GET", "/api/people/{person}/wallet") | ("POST", "/api/people/{person}/wallet/cancel") => {
            Some(("/person", json!(segment(2))))
        }
        ("POST", "/api/me/wallet/proof") => Some(("/state", json!("pending"))),
        ("GET", "/api/gov/proposals/{proposal}") => Some(("/id", json!(segment(3)))),
        ("POST", "/api/gov/proposals/{proposal}/ballots") => Some(("/voter", json!("ada"))),
        ("POST", "/api/periods/{period}/run" | "/api/periods/{period}/close") => Some(("/period", json!(segment(2)))),
        ("GET", "/api/chain/reconciliation") => Some(("/missing_on_chain", json!([]))),
        ("GET", "/api/session") => Some(("/role", json!(role_name(role)))),
        ("POST", "/api/session") => Some(("/user", json!("auditor"))),
        ("POST", "/api/gov/proposals") => Some(("/id", json!("matrix-1"))),
        ("POST", "/api/rules") => Some(("/years", json!(["us.2026"]))),
        ("GET", "/api/year-end") => Some(("/year", json!(2026))),
        ("GET", "/api/payroll/{period}/layout/{provider}/sidecar") => Some(("/layout", json!("rippling"))),
        ("GET" | "PUT", "/api/me/notices") => Some(("/person", json!("ada"))),
        ("GET", "/healthz") => Some(("/status", json!("ok"))),
        ("GET", "/openapi.json") => Some(("/openapi", json!("3.1.0"))),
        _ => None,
    };
    if let Some((ptr, want)) = pointer {
        assert_eq!(body.pointer(ptr), Some(&want), "{what}");
    }
    // An employee's lists are their own whatever they ask.
    if role == Role::Employee {
        let holders = |items: &Value, key: &str| -> Vec<String> {
            items
                .as_array()
                .map_or_else(Vec::new, |a| a.iter().filter_map(|x| x[key].as_str().map(str::to_owned)).collect())
        };
        let mine = match route.path {
            "/api/grants" => holders(&body["items"], "holder"),
            "/api/calendar" => holders(&body["vests"], "holder"),
            "/api/gov/power" => holders(&body["rows"], "holder"),
            "/api/gov/proposals/{proposal}" => holders(&body["ballots"], "voter"),
            "/api/year-end" => holders(&body["people"], "person"),
            _ => Vec::new(),
        };
        assert!(mine.iter().all(|h| h == "ada"), "{what}: {mine:?}");
    }
    if route.path == "/api/people" || route.path == "/api/grants" && role != Role::Employee {
        assert!(body["items"].as_array().is_some_and(|a| a.len() > 1), "{what}");
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Auditor => "auditor",
        Role::Employee => "employee",
        Role::Anonymous => "anonymous",
    }
}

/// Every route, every role, and for routes that name a person or a grant both Ada's and
/// Omar's: each call distinct, each answered with its exact status and a body that says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorization_matrix_holds_for_every_route_role_and_owner() {
    let f = fixture();
    let mut sessions = vec![(Role::Anonymous, Who::Anonymous)];
    let user_of = |role: Role| match role {
        Role::Admin => "admin",
        Role::Auditor => "auditor",
        _ => "ada",
    };
    for (role, user) in [(Role::Admin, "admin"), (Role::Auditor, "auditor"), (Role::Employee, "ada")] {
        sessions.push((role, login(&f.app, user).await));
    }
    let forbidden = json!({"code": "forbidden", "message": "your role cannot see or do this", "details": null});
    let unauthenticated = json!({"code": "unauthenticated", "message": "log in or send an API key", "details": null});
    let mut seen = std::collections::BTreeSet::new();
    let mut counts = std::collections::BTreeMap::<u16, usize>::new();
    for route in table() {
        let owners: &[bool] = if owned(route.path) { &[true, false] } else { &[true] };
        for &own in owners {
            let path = concrete(route.path, own);
            for slot in sessions.iter_mut() {
                let (role, who) = slot.clone();
                let role = &role;
                // Logging out ends the session the rest of the matrix uses: a fresh one.
                let who = if route.method == Method::DELETE && *role != Role::Anonymous {
                    login(&f.app, user_of(*role)).await
                } else {
                    who.clone()
                };
                assert!(
                    seen.insert((route.method.to_string(), path.clone(), *role)),
                    "a repeated call: {path} {role:?}"
                );
                let body = match route.body {
                    // A proof needs a challenge signed just now (the employee's; others are refused).
                    Some("WalletProofRequest") => Some(crate::wallets::signed_proof(&f.app, &who).await),
                    b => b.map(|b| body_for(b, *role)),
                };
                let r = call(&f.app, route.method.clone(), &path, &who, body).await;
                let text: String = r.text.chars().take(600).collect();
                let what = format!("{} {path} as {role:?}: {} {text}", route.method, r.status);
                if allowed(route.access, *role, own) {
                    assert_eq!(r.status, route.status, "{what}");
                    check_allowed_body(&route, &path, *role, &r, &what);
                } else if *role == Role::Anonymous {
                    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}");
                    assert_eq!(r.json(), unauthenticated, "{what}");
                } else {
                    // The refusal is the same words whatever the resource: nothing leaks.
                    assert_eq!(r.status, StatusCode::FORBIDDEN, "{what}");
                    assert_eq!(r.json(), forbidden, "{what}");
                }
                *counts.entry(r.status.as_u16()).or_default() += 1;
                // Signing out everywhere ended the matrix's own session of that login too.
                if route.path == "/api/session/all" && *role != Role::Anonymous {
                    slot.1 = login(&f.app, user_of(*role)).await;
                }
            }
        }
    }
    let owned_routes = table().iter().filter(|r| owned(r.path)).count();
    assert_eq!(seen.len(), (table().len() + owned_routes) * 4, "{counts:?}");
    // The matrix exercises each answer it expects.
    for status in [200, 201, 401, 403] {
        assert!(counts.get(&status).is_some_and(|n| *n > 0), "no {status} in {counts:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_employee_sees_only_their_own_and_an_unknown_grant_is_refused_alike() {
    let f = fixture();
    let ada = login(&f.app, "ada").await;
    let grants = call(&f.app, Method::GET, "/api/grants", &ada, None).await.json();
    let holders: Vec<&str> =
        grants["items"].as_array().expect("items").iter().filter_map(|g| g["holder"].as_str()).collect();
    assert!(!holders.is_empty());
    assert!(holders.iter().all(|h| *h == "ada"), "{holders:?}");
    // `person=omar` does not widen an employee's view.
    let other = call(&f.app, Method::GET, "/api/grants?person=omar", &ada, None).await.json();
    assert_eq!(other["items"], grants["items"]);
    let cal = call(&f.app, Method::GET, "/api/calendar?from=2026-01-01&to=2027-12-31", &ada, None).await.json();
    assert!(cal["vests"].as_array().expect("vests").iter().all(|v| v["holder"] == "ada"));
    let missing = call(&f.app, Method::GET, "/api/grants/no-such-grant", &ada, None).await;
    let someone_elses = call(&f.app, Method::GET, "/api/grants/omar-2026-hire", &ada, None).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert_eq!(missing.text, someone_elses.text, "an unknown grant and someone else's must look the same");
    let power = call(&f.app, Method::GET, "/api/gov/power?date=2026-10-31", &ada, None).await.json();
    let rows = power["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["holder"], "ada");
    // Staff see every holder, and the power column sums to the total.
    let admin = login(&f.app, "admin").await;
    let all =
        call(&f.app, Method::GET, "/api/gov/power?date=2026-10-31&unvested_weight_bps=2500", &admin, None).await.json();
    let sum: u128 = all["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["power"].as_str().expect("p").parse::<u128>().expect("u128"))
        .sum();
    assert_eq!(sum.to_string(), all["total"].as_str().expect("total"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_session_needs_its_csrf_token_to_change_anything() {
    let f = fixture();
    let Who::Session { cookie, csrf } = login(&f.app, "admin").await else { panic!("session") };
    let no_token = Who::Session { cookie: cookie.clone(), csrf: "wrong".into() };
    let r = call(&f.app, Method::POST, "/api/periods/2026-11/run", &no_token, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["code"], "csrf_failed");
    let before = call(&f.app, Method::GET, "/api/periods", &no_token, None).await.json();
    let nov =
        |v: &Value| v["items"].as_array().expect("items").iter().find(|p| p["id"] == "2026-11").cloned().expect("nov");
    assert_eq!(nov(&before)["run"], false, "the refused run changed nothing");
    let ok = Who::Session { cookie, csrf };
    let r = call(&f.app, Method::POST, "/api/periods/2026-11/run", &ok, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json()["events_recorded"].as_u64().expect("n") > 0);
    let again = call(&f.app, Method::POST, "/api/periods/2026-11/run", &ok, None).await.json();
    assert_eq!(again["events_recorded"], 0, "a period run is idempotent");
    // December has not ended on 6 December: refused, naming the path's field.
    let early = call(&f.app, Method::POST, "/api/periods/2026-12/run", &ok, None).await;
    assert_eq!(early.status, StatusCode::BAD_REQUEST, "{}", early.text);
    assert_eq!(early.json()["details"]["field"], "path.period");
    assert_eq!(nov(&call(&f.app, Method::GET, "/api/periods", &ok, None).await.json())["run"], true);
    // The ledger records who ran it.
    let ev = call(&f.app, Method::GET, "/api/ledger/events?subject=period:2026-11", &ok, None).await.json();
    let actors: Vec<&str> = ev["items"].as_array().expect("items").iter().filter_map(|e| e["actor"].as_str()).collect();
    assert!(actors.contains(&"user:admin"), "{actors:?}");
    // Logging out ends the session.
    assert_eq!(call(&f.app, Method::DELETE, "/api/session", &ok, None).await.status, StatusCode::OK);
    assert_eq!(call(&f.app, Method::GET, "/api/session", &ok, None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_check_reports_a_dropped_append_only_trigger() {
    let f = fixture();
    let path = tokencomp_api::auth::accounts_path(&f.data);
    let mut accounts = tokencomp_api::auth::Accounts::load(&path).expect("accounts");
    let key = accounts.add_key("auditor", Timestamp::UNIX_EPOCH).expect("key");
    accounts.save(&path).expect("save");
    let who = Who::Key(key);
    let r = call(&f.app, Method::GET, "/api/ledger/verify", &who, None).await;
    assert_eq!((r.json()["ok"].clone(), r.json()["problems"].clone()), (json!(true), json!([])), "{}", r.text);
    let mut raw = tokencomp_store::sqlite::SqliteStore::open(&f.data.join("ledger.sqlite")).expect("opens");
    raw.connection().execute_batch("DROP TRIGGER events_no_delete").expect("drops");
    let r = call(&f.app, Method::GET, "/api/ledger/verify", &who, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["ok"], false);
    assert_eq!(r.json()["break"], Value::Null, "the chain itself holds");
    assert_eq!(r.json()["problems"], json!(["the append-only trigger `events_no_delete` is missing"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_acts_as_its_user_and_a_wrong_one_is_refused() {
    let f = fixture();
    let path = tokencomp_api::auth::accounts_path(&f.data);
    let mut accounts = tokencomp_api::auth::Accounts::load(&path).expect("accounts");
    let key = accounts.add_key("auditor", Timestamp::UNIX_EPOCH).expect("key");
    accounts.save(&path).expect("save");
    let who = Who::Key(key.clone());
    let r = call(&f.app, Method::GET, "/api/ledger/verify", &who, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["ok"], true);
    // An auditor's key reads, and changes nothing.
    let r = call(&f.app, Method::POST, "/api/periods/2026-11/run", &who, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The last character changed to one it is not, so the secret always differs.
    let last = if key.ends_with('0') { '1' } else { '0' };
    let wrong = Who::Key(format!("{}{last}", &key[..key.len() - 1]));
    assert_eq!(call(&f.app, Method::GET, "/api/ledger/verify", &wrong, None).await.status, StatusCode::UNAUTHORIZED);
    let r = call(
        &f.app,
        Method::POST,
        "/api/session",
        &Who::Anonymous,
        Some(json!({"user": "admin", "password": "nope-nope"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["code"], "invalid_credentials");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_and_parameters_name_the_field_and_change_nothing() {
    let f = fixture();
    let admin = login(&f.app, "admin").await;
    let count = |v: Value| v["ledger_events"].as_u64().expect("n");
    let before = count(call(&f.app, Method::GET, "/healthz", &admin, None).await.json());
    // Not JSON at all: where it broke.
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/api/gov/proposals")
        .header(header::CONTENT_TYPE, "application/json");
    if let Who::Session { cookie, csrf } = &admin {
        req = req.header(header::COOKIE, format!("tc_session={cookie}")).header("x-csrf-token", csrf);
    }
    let res = f.app.clone().oneshot(req.body(HttpBody::from("{\"id\": \n oops}")).expect("req")).await.expect("res");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let v: Value = serde_json::from_slice(&res.into_body().collect().await.expect("b").to_bytes()).expect("json");
    assert_eq!(
        (v["code"].as_str(), v["details"]["field"].as_str(), v["details"]["line"].as_u64()),
        (Some("invalid_input"), Some("body"), Some(2))
    );
    let cases = [
        (
            json!({"title": "x", "snapshot_date": "2026-11-30", "opens": "2026-12-01T00:00:00Z", "closes": "2026-12-31T00:00:00Z"}),
            "body.id",
        ),
        (
            json!({"id": "p", "title": "x", "snapshot_date": "30/11/2026", "opens": "2026-12-01T00:00:00Z", "closes": "2026-12-31T00:00:00Z"}),
            "body.snapshot_date",
        ),
        (
            json!({"id": "p", "title": "x", "snapshot_date": "2026-11-30", "opens": "2026-12-31T00:00:00Z", "closes": "2026-12-01T00:00:00Z"}),
            "body.closes",
        ),
        (
            json!({"id": "p", "title": "x", "snapshot_date": "2026-11-30", "opens": "2026-12-01T00:00:00Z", "closes": "2026-12-31T00:00:00Z", "quorum_bps": 10001}),
            "body.quorum_bps",
        ),
    ];
    for (body, field) in cases {
        let r = call(&f.app, Method::POST, "/api/gov/proposals", &admin, Some(body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
        assert_eq!(r.json()["details"]["field"], field, "{}", r.text);
    }
    let r = call(&f.app, Method::GET, "/api/grants?as_of=yesterday", &admin, None).await;
    assert_eq!(r.json()["details"]["field"], "query.as_of");
    let r = call(&f.app, Method::GET, "/api/grants?limit=0", &admin, None).await;
    assert_eq!(r.json()["details"]["field"], "query.limit");
    let r = call(&f.app, Method::GET, "/api/periods/2026-13/payroll", &admin, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    // A delegation cycle is refused by name: priya -> ada exists after this, so ada -> priya closes it.
    let ada = login(&f.app, "ada").await;
    let first = call(&f.app, Method::PUT, "/api/gov/delegations/priya", &admin, Some(json!({"to": "ada"}))).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let cycle = call(&f.app, Method::PUT, "/api/gov/delegations/ada", &ada, Some(json!({"to": "priya"}))).await;
    assert_eq!(cycle.status, StatusCode::CONFLICT, "{}", cycle.text);
    // Staff see the cycle's path; an employee is not shown other people's delegations.
    assert_eq!(cycle.json()["details"], json!({"field": "body.to"}), "{}", cycle.text);
    let cycle = call(&f.app, Method::PUT, "/api/gov/delegations/ada", &admin, Some(json!({"to": "priya"}))).await;
    assert_eq!(cycle.status, StatusCode::CONFLICT, "{}", cycle.text);
    assert_eq!(cycle.json()["details"]["cycle"], json!(["ada", "priya", "ada"]), "{}", cycle.text);
    let after = count(call(&f.app, Method::GET, "/healthz", &admin, None).await.json());
    assert_eq!(after, before + 1, "only the one valid delegation was recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_ballot_counts_once() {
    let f = fixture();
    let ada = login(&f.app, "ada").await;
    let url = "/api/gov/proposals/grants-budget-2027";
    let before = call(&f.app, Method::GET, url, &ada, None).await.json();
    for (choice, at) in [("against", "2026-12-06T12:00:00Z"), ("for", "2026-12-06T12:05:00Z")] {
        f.state.set_now(at.parse().expect("t"));
        let r = call(&f.app, Method::POST, &format!("{url}/ballots"), &ada, Some(json!({"choice": choice}))).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let after = call(&f.app, Method::GET, url, &ada, None).await.json();
    let t = &after["tally"];
    assert_eq!(t["voters"].as_u64(), before["tally"]["voters"].as_u64().map(|v| v + 1));
    assert_eq!(t["for"], after["my_power"], "{after}");
    assert_eq!(t["against"], before["tally"]["against"]);
    assert_eq!(after["ballots"].as_array().map(Vec::len), Some(1), "an employee sees only their own ballot");
}

/// A write is recorded at the request's now (the server's clock, fixed here), not the wall clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_period_run_is_recorded_at_the_requests_now() {
    let f = fixture();
    let events = || {
        let mut store = tokencomp_service::ledger::open_store(&DataDir::new(f.data.clone()), None).expect("store");
        store.events().expect("events")
    };
    let before = events().len();
    let at: Timestamp = "2026-12-07T08:09:10.5Z".parse().expect("t");
    f.state.set_now(at);
    let admin = login(&f.app, "admin").await;
    let r = call(&f.app, Method::POST, "/api/periods/2026-11/run", &admin, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let new = events().split_off(before);
    assert!(!new.is_empty(), "the run recorded November's vests: {}", r.text);
    assert!(new.iter().all(|e| e.recorded_at == at && e.event.actor == "user:admin"), "{new:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_payroll_file_from_the_api_is_the_clis_byte_for_byte() {
    let f = fixture();
    let admin = login(&f.app, "admin").await;
    let r = call(&f.app, Method::GET, "/api/periods/2026-10/payroll", &admin, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers[header::CONTENT_DISPOSITION].to_str().expect("cd").contains("payroll-2026-10.csv"));
    let mut store = tokencomp_service::ledger::open_store(&DataDir::new(f.data.clone()), None).expect("store");
    let company = tokencomp_service::ledger::load(&mut *store).expect("company");
    assert_eq!(r.text, tokencomp_service::payroll::payroll_csv(&company, "2026-10", "--period").expect("csv"));
    assert!(r.text.lines().count() > 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_logs_are_structured_and_carry_no_personal_data_or_secrets() {
    let f = fixture();
    let ada = login(&f.app, "ada").await;
    call(&f.app, Method::GET, "/api/grants/ada-2024-hire?as_of=2026-10-31", &ada, None).await;
    call(&f.app, Method::GET, "/api/people/ada/tax-report?year=2026", &ada, None).await;
    call(&f.app, Method::GET, "/api/grants/omar-2026-hire", &ada, None).await;
    let Who::Session { cookie, csrf } = &ada else { panic!("session") };
    let logs = f.logs.lock().expect("logs").clone();
    assert!(logs.len() >= 4, "{logs:?}");
    for line in &logs {
        let v: Value = serde_json::from_str(line).expect("each line is JSON");
        for k in ["ts", "method", "route", "status", "role", "micros"] {
            assert!(v.get(k).is_some(), "{k} missing in {line}");
        }
        for secret in ["ada", "omar", "Okafor", "demo-ada-pw", cookie.as_str(), csrf.as_str(), "2026-10-31"] {
            assert!(!line.contains(secret), "`{secret}` in the log: {line}");
        }
    }
    assert!(logs.iter().any(|l| l.contains("\"route\":\"/api/grants/{grant}\"") && l.contains("\"status\":403")));
}

/// Issue 15 item 20: every grant view of the API reconciles: tranches + forfeitures + `pending`
/// (unsettled performance targets; the demo settles Omar's) = granted, and every row of the
/// grant list carries `pending` too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_grant_view_reconciles_with_its_pending_performance_targets() {
    let f = fixture();
    let admin = login(&f.app, "admin").await;
    let units = |v: &Value| v.as_str().and_then(|s| s.parse::<u128>().ok()).unwrap_or_else(|| panic!("{v}"));
    let list = call(&f.app, Method::GET, "/api/grants?limit=1000", &admin, None).await.json();
    let rows = list["items"].as_array().expect("items");
    assert!(rows.len() > 40, "{}", rows.len());
    for row in rows {
        assert_eq!(units(&row["vested"]) + units(&row["unvested"]) + units(&row["forfeited"]), units(&row["granted"]));
        let id = row["id"].as_str().expect("id");
        let g = call(&f.app, Method::GET, &format!("/api/grants/{id}"), &admin, None).await.json();
        let g = &g["grant"];
        assert_eq!(g["pending"], row["pending"], "{id}");
        let sum = |key: &str| g[key].as_array().expect("list").iter().map(|x| units(&x["amount"])).sum::<u128>();
        assert_eq!(sum("tranches") + sum("forfeitures") + units(&g["pending"]), units(&g["granted"]), "{id}");
    }
}

/// Regression (issue 15, item 10): an employee learned others' delegations from a cycle error,
/// the delegators' and the company's totals from `/api/gov/power` at any date and weight, and
/// which person ids exist from delegation targets; a delegation dated 9999-12-31 blocked every
/// later change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_employee_learns_nothing_of_other_people_from_governance() {
    let f = fixture();
    let (admin, ada, omar) = (login(&f.app, "admin").await, login(&f.app, "ada").await, login(&f.app, "omar").await);
    // Priya delegates to Ada: Ada's power now includes Priya's balances.
    let r = call(&f.app, Method::PUT, "/api/gov/delegations/priya", &admin, Some(json!({"to": "ada"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for query in
        ["date=2026-10-31&unvested_weight_bps=0", "date=2026-10-31&unvested_weight_bps=10000", "date=2026-12-06"]
    {
        let p = call(&f.app, Method::GET, &format!("/api/gov/power?{query}"), &ada, None).await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.text);
        let p = p.json();
        assert_eq!((&p["published"], &p["total"], &p["holders"]), (&json!(false), &Value::Null, &Value::Null), "{p}");
        let rows = p["rows"].as_array().expect("rows");
        assert_eq!(rows.len(), 1, "{p}");
        assert_eq!((&rows[0]["holder"], &rows[0]["power"]), (&json!("ada"), &Value::Null), "{p}");
        assert!(rows[0]["own"].as_str().is_some_and(|o| o != "0"), "her own balance stays visible: {p}");
    }
    // At a proposal's snapshot (date and weight) she sees what its tally publishes.
    let prop = call(&f.app, Method::GET, "/api/gov/proposals/grants-budget-2027", &ada, None).await.json();
    let url = format!(
        "/api/gov/power?date={}&unvested_weight_bps={}",
        prop["snapshot_date"].as_str().expect("date"),
        prop["unvested_weight_bps"]
    );
    let p = call(&f.app, Method::GET, &url, &ada, None).await.json();
    assert_eq!((&p["published"], &p["total"], &p["holders"]), (&json!(true), &prop["tally"]["total"], &Value::Null));
    assert_eq!(p["rows"][0]["power"], prop["my_power"], "{p}");
    // Staff see every holder and the total at any date.
    let all = call(&f.app, Method::GET, "/api/gov/power?date=2026-10-31&unvested_weight_bps=10000", &admin, None).await;
    let all = all.json();
    assert!(all["total"].is_string() && all["holders"].as_u64().is_some_and(|n| n > 1), "{all}");

    // A target that names no one gets the same answer as a person: nothing says who exists.
    let to = |who: &str| Some(json!({"to": who}));
    let nobody = call(&f.app, Method::PUT, "/api/gov/delegations/ada", &ada, to("no-such-person")).await;
    let somebody = call(&f.app, Method::PUT, "/api/gov/delegations/ada", &ada, to("omar")).await;
    assert_eq!((nobody.status, somebody.status), (StatusCode::OK, StatusCode::OK), "{} {}", nobody.text, somebody.text);
    let shape = |r: &Reply| {
        let mut v = r.json();
        v["to"] = Value::Null;
        v
    };
    assert_eq!(shape(&nobody), shape(&somebody));
    let bad = call(&f.app, Method::PUT, "/api/gov/delegations/ada", &ada, to("not an id")).await;
    assert_eq!((bad.status, bad.json()["details"]["field"].clone()), (StatusCode::BAD_REQUEST, json!("body.to")));
    // Staff, who see the people, are told an id names no one.
    let r = call(&f.app, Method::PUT, "/api/gov/delegations/omar", &admin, to("no-such-person")).await;
    assert_eq!((r.status, r.json()["details"]["field"].clone()), (StatusCode::BAD_REQUEST, json!("body.to")));

    // An effective date at most 366 days after today (6 December 2026).
    let on = |day: &str| Some(json!({"to": "dara", "effective": day}));
    for day in ["9999-12-31", "2027-12-08"] {
        let r = call(&f.app, Method::PUT, "/api/gov/delegations/ada", &ada, on(day)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{day}: {}", r.text);
        assert_eq!(r.json()["details"]["field"], "body.effective", "{}", r.text);
    }
    let r = call(&f.app, Method::PUT, "/api/gov/delegations/ada", &ada, on("2027-12-07")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // That far record blocks nobody else's change from today on …
    let r = call(&f.app, Method::PUT, "/api/gov/delegations/omar", &omar, Some(json!({"to": "dara"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // … and an earlier date is refused without naming anyone's record.
    let r = call(&f.app, Method::PUT, "/api/gov/delegations/omar", &omar, on("2026-12-05")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.json()["details"]["field"], "body.effective");
    assert!(!r.text.contains("2027-12-07"), "{}", r.text);
}

/// Regression (issue 15, item 11): a grant whose id was a person's id listed that person's
/// record (salary, email) in the grant's history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_named_like_a_person_shows_only_the_grants_own_history() {
    let f = fixture();
    {
        let mut store = tokencomp_service::ledger::open_store(&DataDir::new(f.data.clone()), None).expect("store");
        let company = tokencomp_service::ledger::load(&mut *store).expect("company");
        let mut terms = company.grants["omar-2026-hire"].terms.clone();
        terms.grant.id = "ada".into();
        let toml = tokencomp_formats::canonical::write_terms(&terms, &company.token.token);
        let fact =
            tokencomp_store::ledger::Fact::GrantIssued { grant: "ada".into(), holder: "omar".into(), terms: toml };
        tokencomp_service::ledger::record(&mut *store, &[fact], &system_now()).expect("records");
    }
    let omar = login(&f.app, "omar").await;
    let r = call(&f.app, Method::GET, "/api/grants/ada/history", &omar, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let events = r.json()["events"].as_array().expect("events").clone();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds, ["grant.issued"], "{}", r.text);
    for secret in ["salary", "email", "Okafor"] {
        assert!(!r.text.contains(secret), "`{secret}` of the person `ada` in the grant's history: {}", r.text);
    }
    // The audit view looks subjects up typed too.
    let admin = login(&f.app, "admin").await;
    let ev = |s: &str| format!("/api/ledger/events?limit=1000&subject={s}");
    let person = call(&f.app, Method::GET, &ev("person:ada"), &admin, None).await.json();
    let person_kinds: std::collections::BTreeSet<&str> =
        person["items"].as_array().expect("items").iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(person_kinds.contains("person") && !person_kinds.contains("grant.issued"), "{person_kinds:?}");
    let grant = call(&f.app, Method::GET, &ev("grant:ada"), &admin, None).await.json();
    assert_eq!(grant["items"].as_array().map(Vec::len), Some(1), "{grant}");
}

/// Every GET route's date parameters, from the route table.
fn date_params() -> Vec<(String, &'static str)> {
    table()
        .iter()
        .filter(|r| r.method == Method::GET)
        .flat_map(|r| {
            r.params.iter().filter(|p| p.format == Some("date")).map(move |p| (concrete(r.path, true), p.name))
        })
        .collect()
}

/// Regression (issue 15, item 18): `as_of=9999-12-31` and closing a period never run were 500s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn far_dates_and_unrun_periods_are_the_callers_mistake_naming_the_field() {
    let f = fixture();
    let admin = login(&f.app, "admin").await;
    let params = date_params();
    // 12, the portal's `as_of`, and the audit view's `since` and `until` on its list and its CSV
    // (issue 18, items 2 and 6).
    assert_eq!(params.len(), 17, "{params:?}");
    for (path, name) in &params {
        for far in ["9999-12-31", "1969-12-31", "0001-01-01"] {
            let r = call(&f.app, Method::GET, &format!("{path}?{name}={far}"), &admin, None).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}?{name}={far}: {}", r.text);
            assert_eq!(r.json()["details"]["field"], format!("query.{name}"), "{path}: {}", r.text);
        }
    }
    // Body dates: the same range.
    let r = call(
        &f.app,
        Method::PUT,
        "/api/gov/delegations/ada",
        &admin,
        Some(json!({"to": "omar", "effective": "9999-12-31"})),
    )
    .await;
    assert_eq!((r.status, r.json()["details"]["field"].clone()), (StatusCode::BAD_REQUEST, json!("body.effective")));
    let proposal = |k: &str, v: &str| {
        let mut b = json!({"id": "far", "title": "Far", "snapshot_date": "2026-11-30",
                           "opens": "2026-12-01T00:00:00Z", "closes": "2026-12-31T00:00:00Z"});
        b[k] = json!(v);
        Some(b)
    };
    for (k, v) in
        [("snapshot_date", "9999-12-31"), ("opens", "9999-01-01T00:00:00Z"), ("closes", "9999-12-31T00:00:00Z")]
    {
        let r = call(&f.app, Method::POST, "/api/gov/proposals", &admin, proposal(k, v)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{k}: {}", r.text);
        assert_eq!(r.json()["details"]["field"], format!("body.{k}"), "{}", r.text);
    }
    // Periods: far, malformed, or of another calendar are 400; a close before its run is 409.
    for (method, path) in [
        (Method::GET, "/api/periods/9999-12/payroll"),
        (Method::POST, "/api/periods/9999-12/run"),
        (Method::POST, "/api/periods/9999-12/close"),
        (Method::GET, "/api/periods/2026-10-a/payroll"),
        (Method::POST, "/api/periods/bw-2026-10-05/close"),
        (Method::GET, "/api/periods/uk-2026-13x/payroll"),
    ] {
        let r = call(&f.app, method.clone(), path, &admin, None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{method} {path}: {}", r.text);
        assert_eq!(r.json()["details"]["field"], "path.period", "{path}: {}", r.text);
    }
    let r = call(&f.app, Method::POST, "/api/periods/2026-11/close", &admin, None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.json()["details"]["field"], "path.period", "{}", r.text);
    assert!(r.json()["message"].as_str().is_some_and(|m| m.contains("has not been run")), "{}", r.text);
    // The edges of the range are answered, not failed.
    for (path, name) in &params {
        for edge in ["1970-01-01", "2199-12-31"] {
            let r = call(&f.app, Method::GET, &format!("{path}?{name}={edge}"), &admin, None).await;
            assert!(
                [StatusCode::OK, StatusCode::BAD_REQUEST, StatusCode::UNPROCESSABLE_ENTITY].contains(&r.status),
                "{path}?{name}={edge}: {}",
                r.text
            );
        }
    }
}

/// Regression (found with issue 15, item 10's class): an employee's tax report failed on a gap in
/// the company-wide pass and its message named another person's grant and vest ("grant
/// aisha-2025-hire: vest on 2026-11-07: no GBP per USD rate …").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reports_gap_told_to_an_employee_names_no_one_elses_grant() {
    let f = fixture();
    let admin = login(&f.app, "admin").await;
    let r = call(&f.app, Method::POST, "/api/periods/2026-11/run", &admin, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    {
        // November's USD closes, but no November exchange rates: the pass stops at a UK vest.
        let mut store = tokencomp_service::ledger::open_store(&DataDir::new(f.data.clone()), None).expect("store");
        let prices: String = std::iter::once("date,close_usd\n".to_owned())
            .chain((1..=30).map(|d| format!("2026-11-{d:02},0.78\n")))
            .collect();
        tokencomp_service::ledger::import_text(
            &mut *store,
            None,
            tokencomp_service::ledger::ImportKind::Prices,
            "nov.csv",
            &prices,
            &system_now(),
        )
        .expect("imports");
    }
    let ada = login(&f.app, "ada").await;
    let mine = call(&f.app, Method::GET, "/api/people/ada/tax-report?year=2026", &ada, None).await;
    assert_eq!(mine.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", mine.text);
    assert_eq!(mine.json()["code"], "incomplete_data");
    let staff = call(&f.app, Method::GET, "/api/people/ada/tax-report?year=2026", &admin, None).await;
    assert_eq!(staff.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", staff.text);
    let grants = call(&f.app, Method::GET, "/api/grants?limit=1000", &admin, None).await.json();
    let others: Vec<&str> = grants["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|g| g["holder"] != "ada")
        .filter_map(|g| g["id"].as_str())
        .collect();
    assert!(others.iter().any(|g| staff.text.contains(g)), "staff are told which grant: {}", staff.text);
    for g in others {
        assert!(!mine.text.contains(g), "ada is told about `{g}`: {}", mine.text);
    }
}
