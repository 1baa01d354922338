//! Writes per login through the API (`app().oneshot`, the fixed clock moved by hand): a ballot
//! the same as the voter's current one appends nothing, one login's changes are limited (30 at
//! once, then one every 2 s: at most 60 in any minute), and another login's go through.

use axum::http::{Method, StatusCode, header};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::web::{NOW, Who, call, fixture, login};

async fn ledger_events(f: &crate::web::Fixture) -> u64 {
    let v: Value = call(&f.app, Method::GET, "/healthz", &Who::Anonymous, None).await.json();
    v["ledger_events"].as_u64().expect("ledger_events")
}

const BALLOTS: &str = "/api/gov/proposals/grants-budget-2027/ballots";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_ballot_changes_in_a_minute_append_at_most_sixty_events() {
    let f = fixture();
    let ada = login(&f.app, "ada").await;
    let admin = login(&f.app, "admin").await;
    let before = ledger_events(&f).await;
    let t0: Timestamp = NOW.parse().expect("now");
    let (mut accepted, mut recorded, mut limited) = (0u64, 0u64, 0u64);
    // 1,000 changes, one every 60 ms: a minute.
    for i in 0..1000i64 {
        f.state.set_now(t0.checked_add(SignedDuration::from_millis(60 * i)).expect("t"));
        let choice = if i % 2 == 0 { "for" } else { "against" };
        let r = call(&f.app, Method::POST, BALLOTS, &ada, Some(json!({"choice": choice}))).await;
        match r.status {
            StatusCode::CREATED => {
                accepted += 1;
                recorded += u64::from(r.json()["recorded"] == true);
            }
            StatusCode::TOO_MANY_REQUESTS => {
                limited += 1;
                let v = r.json();
                assert_eq!(v["code"], "rate_limited", "{v}");
                let after = r.headers.get(header::RETRY_AFTER).and_then(|h| h.to_str().ok()).map(str::to_owned);
                assert_eq!(after, v["details"]["retry_after_seconds"].as_u64().map(|s| s.to_string()), "{v}");
            }
            other => panic!("ballot {i}: {other} {}", r.text),
        }
        if i == 500 {
            // Another login's change in the same instant goes through.
            let r = call(&f.app, Method::PUT, "/api/gov/delegations/priya", &admin, Some(json!({"to": "ada"}))).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            recorded += 1;
        }
    }
    // 30 at once, then one every 2 s: 29 more in the rest of the minute.
    assert_eq!((accepted, limited), (59, 941));
    assert_eq!(ledger_events(&f).await - before, recorded, "only recorded ballots (and the delegation) appended");
    assert!(recorded <= 61, "{recorded}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ballot_the_same_as_the_current_one_appends_nothing() {
    let f = fixture();
    let ada = login(&f.app, "ada").await;
    let t0: Timestamp = NOW.parse().expect("now");
    let before = ledger_events(&f).await;
    let mut cast = Vec::new();
    for (n, choice) in ["against", "against", "for", "for", "for"].iter().enumerate() {
        f.state.set_now(t0.checked_add(SignedDuration::from_secs(i64::try_from(n).expect("n"))).expect("t"));
        let r = call(&f.app, Method::POST, BALLOTS, &ada, Some(json!({"choice": choice}))).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let v = r.json();
        cast.push((v["recorded"].clone(), v["cast_at"].as_str().expect("cast_at").to_owned()));
    }
    assert_eq!(ledger_events(&f).await - before, 2, "{cast:?}");
    let recorded: Vec<&Value> = cast.iter().map(|c| &c.0).collect();
    assert_eq!(recorded, [&json!(true), &json!(false), &json!(true), &json!(false), &json!(false)]);
    // A repeat answers with the ballot in force, cast when it was first cast.
    assert_eq!(cast[1].1, cast[0].1);
    assert_eq!(cast[4].1, cast[2].1);
}
