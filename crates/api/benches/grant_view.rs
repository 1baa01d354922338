//! The API's hot path, the employee's grant view (`GET /api/grants/{grant}`), beside its
//! kernel measured in the same run.
//!
//! - `ours`: the whole application through `app().oneshot`: routing, the security headers and
//!   request-log middleware, the session cookie's lookup, the ledger's `count(*)` and the cached
//!   company, access, the grant's timeline and the JSON body, on a real SQLite ledger holding the
//!   sample company (`examples/company.toml`).
//! - `kernel`: only what the answer needs: the same grant's timeline from the same folded company
//!   and the same document serialized.
//!
//! `kernel/ours` is the share of a request the work itself takes; the rest is the web's cost.
//! `cargo bench -p tokencomp-api --bench grant_view -- --test` runs each once and checks that
//! both give the same document.

#[path = "../../core/benches/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, header};
use criterion::Criterion;
use http_body_util::BodyExt;
use jiff::Timestamp;
use serde_json::{Value, json};
use support::{Mode, OPTIMIZED, write_results};
use tokencomp_api::auth::{Accounts, Role, accounts_path};
use tokencomp_api::{AppState, Config, app};
use tokencomp_formats::canonical::write_terms;
use tokencomp_formats::company::parse_company;
use tokencomp_store::Store;
use tokencomp_store::ledger::{Company, Fact};
use tokencomp_store::sqlite::SqliteStore;
use tower::ServiceExt;

const GRANT: &str = "ada-2024-hire";
const AS_OF: &str = "2026-10-31";

/// The document the handler writes, computed directly.
fn kernel(c: &Company) -> Vec<u8> {
    let as_of: jiff::civil::Date = AS_OF.parse().expect("date");
    let rec = &c.grants[GRANT];
    let t = rec.terms.grant.timeline(&c.company.time_zone, Some(as_of)).expect("timeline");
    let p = t.position(as_of);
    let doc = json!({"token": {"symbol": c.token.token.symbol(), "decimals": c.token.token.decimals()},
        "as_of": AS_OF, "grant": {"granted": p.granted.to_string(), "vested": p.vested.to_string(),
        "unvested": p.unvested.to_string(), "forfeited": p.forfeited.to_string(),
        "pending": t.pending.to_string(), "id": GRANT,
        "holder": rec.terms.grant.holder, "grant_date": rec.terms.grant_date.to_string(),
        "tranches": t.tranches.iter().map(|x| json!({"date": x.date.to_string(), "amount": x.amount.to_string(),
            "cumulative": x.cumulative.to_string(), "reason": x.reason.as_str()})).collect::<Vec<_>>(),
        "forfeitures": t.forfeitures.iter().map(|f| json!({"date": f.date.to_string(), "amount": f.amount.to_string(),
            "reason": f.reason.as_str()})).collect::<Vec<_>>()}});
    serde_json::to_vec(&doc).expect("json")
}

fn main() {
    let mode = Mode::from_args();
    if mode == Mode::List {
        println!("grant-view: benchmark");
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/company.toml")).expect("sample");
    let file = parse_company("examples/company.toml", &text).unwrap_or_else(|_| panic!("the sample company parses"));
    let mut facts = vec![Fact::Company(file.company.clone()), Fact::Token(file.token.clone())];
    facts.extend(file.people.iter().cloned().map(Fact::Person));
    for g in &file.grants {
        let mut bare = g.clone();
        bare.grant.events.clear();
        facts.push(Fact::GrantIssued {
            grant: g.grant.id.clone(),
            holder: g.grant.holder.clone(),
            terms: write_terms(&bare, &file.token.token),
        });
    }
    let events: Vec<_> = facts.iter().map(|f| f.to_event("system")).collect();
    let mut store = SqliteStore::open(&dir.path().join("ledger.sqlite")).expect("store");
    store.append(&events, Timestamp::UNIX_EPOCH).expect("append");
    let company = Company::fold(&store.events().expect("events")).expect("fold");
    let mut accounts = Accounts::default();
    accounts.set_user("ada", Role::Employee, Some("ada"), "bench-password").expect("user");
    accounts.save(&accounts_path(dir.path())).expect("save");
    let mut cfg = Config::new(dir.path().to_path_buf());
    cfg.now = Some("2026-11-01T12:00:00Z".parse().expect("now"));
    cfg.log = Arc::new(|_: &str| {});
    let state = AppState::new(Box::new(store), cfg).expect("state");
    let router = app(state.clone());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let (token, _, _) = state
        .inner
        .auth
        .login("ada", "bench-password", None, "2026-11-01T12:00:00Z".parse().expect("t"))
        .unwrap_or_else(|_| panic!("login"));
    let cookie = format!("tc_session={token}");
    let uri = format!("/api/grants/{GRANT}?as_of={AS_OF}");
    let ours = || {
        let req = Request::get(&uri).header(header::COOKIE, &cookie).body(Body::empty()).expect("req");
        rt.block_on(async {
            let res = router.clone().oneshot(req).await.expect("res");
            assert!(res.status().is_success(), "{}", res.status());
            res.into_body().collect().await.expect("body").to_bytes()
        })
    };
    // Both sides give the same document.
    let a: Value = serde_json::from_slice(&ours()).expect("json");
    let b: Value = serde_json::from_slice(&kernel(&company)).expect("json");
    assert_eq!(a, b, "the handler and the kernel disagree");
    if mode == Mode::Test {
        println!("grant-view: handler and kernel agree (test mode: not timed)");
        return;
    }
    let mut c = Criterion::default().configure_from_args().measurement_time(Duration::from_secs(5));
    c.bench_function("grant-view/ours", |bch| bch.iter(|| black_box(ours())));
    c.bench_function("grant-view/kernel", |bch| bch.iter(|| black_box(kernel(&company))));
    // The ratio from a plain best-of timing in the same run (criterion prints its own estimates).
    let best = |f: &dyn Fn()| {
        (0..5)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..500 {
                    f();
                }
                t.elapsed()
            })
            .min()
            .expect("runs")
    };
    let o = best(&|| {
        black_box(ours());
    });
    let k = best(&|| {
        black_box(kernel(&company));
    });
    let per = |d: Duration| d.as_nanos() / 500;
    let ratio = k.as_nanos() * 1000 / o.as_nanos().max(1);
    println!(
        "grant-view: ours {} ns/request, kernel {} ns, kernel/ours {}.{:03}{}",
        per(o),
        per(k),
        ratio / 1000,
        ratio % 1000,
        if OPTIMIZED { "" } else { " (unoptimized build)" }
    );
    let _ =
        write_results("grant_view", &json!({"ours_ns": per(o), "kernel_ns": per(k), "kernel_over_ours_milli": ratio}));
}
