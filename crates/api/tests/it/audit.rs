//! The audit view through the API (issue 18, item 6): the ledger's events newest first, each
//! filter alone and combined against a plain filter over the whole ledger, pages that stay put
//! while events are appended, the chain's marks before and after an edit, the CSV byte for byte,
//! every bad parameter a 400 naming it, and employees refused.
//!
//! The events the tests add are price imports recorded at chosen instants by chosen actors; the
//! demo company's zone is America/New_York (UTC-5 in December), so 2025-12-04T03:00Z is the
//! evening of 3 December for the day filters. They are recorded in December 2025, before the
//! demo's own events (recorded when the test binary builds the demo), so the day filters select
//! them alone whenever the tests run; an event's record time need not grow with its sequence.

use axum::http::{Method, StatusCode, header};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;
use tokencomp_service::DataDir;
use tokencomp_service::ledger::{ImportKind, Stamp, import_text, open_store};
use tokencomp_store::StoredEvent;

use crate::web::{Fixture, Who, call, fixture, login};

/// Records `csv` (a prices file) as `actor` at `at`, as an import through the service does.
fn import_prices(f: &Fixture, actor: &str, at: &str, csv: &str) {
    let mut store = open_store(&DataDir::new(f.data.clone()), None).expect("store");
    let at: Timestamp = at.parse().expect("instant");
    import_text(&mut *store, None, ImportKind::Prices, "prices.csv", csv, &Stamp::new(actor, at)).expect("imports");
}

/// The four events the filter tests look for: carol on 1 and 3 December, dave on the evening of
/// 3 December (New York) and just after midnight on the 4th.
fn add_four(f: &Fixture) {
    import_prices(f, "user:carol", "2025-12-01T12:00:00Z", "date,close_usd\n2026-11-02,0.80\n");
    import_prices(f, "user:carol", "2025-12-03T12:00:00Z", "date,close_usd\n2026-11-03,0.81\n");
    import_prices(f, "user:dave", "2025-12-04T03:00:00Z", "date,close_usd\n2026-11-04,0.82\n");
    import_prices(f, "user:dave", "2025-12-04T05:30:00Z", "date,close_usd\n2026-11-05,0.83\n");
}

fn ledger(f: &Fixture) -> Vec<StoredEvent> {
    open_store(&DataDir::new(f.data.clone()), None).expect("store").events().expect("events")
}

fn seqs(v: &Value) -> Vec<i64> {
    v["items"].as_array().expect("items").iter().map(|e| e["seq"].as_i64().expect("seq")).collect()
}

/// Every page of `path` (which has a `?`), following `next_cursor`.
async fn all_pages(f: &Fixture, who: &Who, path: &str) -> Vec<i64> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}&cursor={c}"),
            None => path.to_owned(),
        };
        let r = call(&f.app, Method::GET, &url, who, None).await;
        assert_eq!(r.status, StatusCode::OK, "{url}: {}", r.text);
        let v = r.json();
        out.extend(seqs(&v));
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_is_newest_first_and_a_next_page_stays_put_while_events_are_appended() {
    let f = fixture();
    let auditor = login(&f.app, "auditor").await;
    let before = ledger(&f);
    let n = i64::try_from(before.len()).expect("small");
    let first = call(&f.app, Method::GET, "/api/ledger/events?limit=7", &auditor, None).await.json();
    assert_eq!(seqs(&first), (n - 6..=n).rev().collect::<Vec<_>>(), "the seven newest, newest first");
    let cursor = first["next_cursor"].as_str().expect("a next page").to_owned();
    // Four events are appended between the two reads: the next page starts where the first ended.
    add_four(&f);
    let next = call(&f.app, Method::GET, &format!("/api/ledger/events?limit=7&cursor={cursor}"), &auditor, None).await;
    assert_eq!(seqs(&next.json()), (n - 13..=n - 7).rev().collect::<Vec<_>>());
    // Walking every page gives every event once, newest first.
    let every = all_pages(&f, &auditor, "/api/ledger/events?limit=100&chain=skip").await;
    assert_eq!(every, (1..=n + 4).rev().collect::<Vec<_>>());
    // Each item: its hash, the previous event's hash, and that the chain holds up to it.
    let top = call(&f.app, Method::GET, "/api/ledger/events?limit=2", &auditor, None).await.json();
    let (a, b) = (&top["items"][0], &top["items"][1]);
    assert_eq!(a["prev_hash"], b["hash"], "{top}");
    assert_eq!((a["chain_ok"].clone(), b["chain_ok"].clone()), (Value::Bool(true), Value::Bool(true)));
    assert_eq!(top["chain"]["verified_through"], n + 4);
    assert_eq!(top["chain"]["break"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_filter_and_their_combination_select_what_a_plain_filter_over_the_ledger_would() {
    let f = fixture();
    add_four(&f);
    let admin = login(&f.app, "admin").await;
    let all = ledger(&f);
    let n = i64::try_from(all.len()).expect("small");
    // The four added events are the last four.
    let (c1, c2, d1, d2) = (n - 3, n - 2, n - 1, n);
    let ny = TimeZone::get("America/New_York").expect("zone");
    let day = |e: &StoredEvent| e.recorded_at.to_zoned_datetime(ny.clone()).date().to_string();
    let want = |keep: &dyn Fn(&StoredEvent) -> bool| -> Vec<i64> {
        all.iter().rev().filter(|e| keep(e)).map(|e| e.seq).collect()
    };
    let cases: Vec<(&str, Vec<i64>)> = vec![
        ("actor=user:carol", vec![c2, c1]),
        ("actor=system", want(&|e| e.event.actor == "system")),
        ("kind=price", want(&|e| e.event.kind.as_str() == "price")),
        ("kind=grant.issued", want(&|e| e.event.kind.as_str() == "grant.issued")),
        ("subject=price:2026-11-04", vec![d1]),
        ("subject=person:ada", want(&|e| e.event.subject == "person:ada")),
        // The evening of the 3rd in New York is already the 4th in UTC: the company's days count.
        ("since=2025-12-03&until=2025-12-03", want(&|e| day(e) == "2025-12-03")),
        ("since=2025-12-04", want(&|e| day(e).as_str() >= "2025-12-04")),
        ("until=2025-12-02", want(&|e| day(e).as_str() <= "2025-12-02")),
        ("actor=user:dave&since=2025-12-03&until=2025-12-03", vec![d1]),
        ("actor=user:dave&kind=price&subject=price:2026-11-05&since=2025-12-04&until=2025-12-04", vec![d2]),
        ("actor=user:carol&kind=vest", vec![]),
    ];
    for (q, expected) in cases {
        let got = all_pages(&f, &admin, &format!("/api/ledger/events?limit=1000&chain=skip&{q}")).await;
        assert_eq!(got, expected, "{q}");
    }
    // An actor or subject no event has is not found, naming it (a typo is not an empty list).
    for (q, field) in [("subject=grant:nobody", "query.subject"), ("actor=user:nobody&kind=vest", "query.actor")] {
        for path in ["/api/ledger/events", "/api/ledger/events.csv"] {
            let r = call(&f.app, Method::GET, &format!("{path}?{q}"), &admin, None).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}?{q}: {}", r.text);
            assert_eq!(r.json()["details"]["field"], field, "{q}");
        }
    }
    // The hand-known days, as the plain filter read them.
    assert!(want(&|e| day(e) == "2025-12-03").starts_with(&[d1, c2]));
    assert_eq!(want(&|e| day(e) == "2025-12-04").first(), Some(&d2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_below_the_head_marks_the_chain_broken_from_that_event_on() {
    let f = fixture();
    let auditor = login(&f.app, "auditor").await;
    let n = i64::try_from(ledger(&f).len()).expect("small");
    let broken_at = n - 2;
    {
        let mut store =
            tokencomp_store::sqlite::SqliteStore::open(&DataDir::new(f.data.clone()).ledger()).expect("the ledger");
        store
            .connection()
            .execute_batch(&format!(
                "DROP TRIGGER events_no_update; UPDATE events SET actor = 'user:mallory' WHERE seq = {broken_at}"
            ))
            .expect("an operator's edit");
    }
    let v = call(&f.app, Method::GET, "/api/ledger/events?limit=4", &auditor, None).await.json();
    assert_eq!(v["chain"]["verified_through"], broken_at - 1, "{v}");
    assert_eq!(v["chain"]["break"]["seq"], broken_at);
    let marks: Vec<(i64, bool)> = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| (e["seq"].as_i64().expect("seq"), e["chain_ok"].as_bool().expect("mark")))
        .collect();
    assert_eq!(marks, [(n, false), (n - 1, false), (n - 2, false), (n - 3, true)]);
    let skipped = call(&f.app, Method::GET, "/api/ledger/events?limit=1&chain=skip", &auditor, None).await.json();
    assert_eq!((skipped["chain"].clone(), skipped["items"][0]["chain_ok"].clone()), (Value::Null, Value::Null));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csv_is_the_filtered_list_byte_for_byte_with_formula_cells_neutralised() {
    let f = fixture();
    add_four(&f);
    // An actor a spreadsheet would run as a formula, with a comma to be quoted.
    import_prices(&f, "=SUM(1,2)", "2025-12-05T12:00:00Z", "date,close_usd\n2026-11-06,0.84\n");
    let admin = login(&f.app, "admin").await;
    let json = call(
        &f.app,
        Method::GET,
        "/api/ledger/events?kind=price&since=2025-12-03&until=2025-12-31&limit=10",
        &admin,
        None,
    )
    .await
    .json();
    let items = json["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 4, "{json}");
    let r =
        call(&f.app, Method::GET, "/api/ledger/events.csv?kind=price&since=2025-12-03&until=2025-12-31", &admin, None)
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert_eq!(r.headers[header::CONTENT_DISPOSITION], "attachment; filename=\"ledger-events.csv\"");
    // Each line written out by hand from the JSON's fields: RFC 4180 (CRLF; a cell with a comma
    // or a quote in quotes, quotes doubled), a text cell starting `=` behind a `'` (OWASP).
    let s = |e: &Value, k: &str| e[k].as_str().expect(k).to_owned();
    let mut want = String::from(
        "seq,recorded_at,kind,subject,actor,amount,amount_base_units,event_id,prev_hash,hash,chain_verified,payload\r\n",
    );
    for (e, actor) in items.iter().zip(["\"'=SUM(1,2)\"", "user:dave", "user:dave", "user:carol"]) {
        let payload = serde_json::to_string(&e["payload"]).expect("payload");
        want.push_str(&format!(
            "{},{},price,{},{actor},,,{},{},{},yes,\"{}\"\r\n",
            e["seq"],
            s(e, "recorded_at"),
            s(e, "subject"),
            s(e, "id"),
            s(e, "prev_hash"),
            s(e, "hash"),
            payload.replace('"', "\"\"")
        ));
    }
    assert_eq!(r.text, want);
    assert_eq!(s(&items[0], "recorded_at"), "2025-12-05T12:00:00Z");
    assert_eq!(s(&items[3], "subject"), "price:2026-11-03");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_csv_streams_every_event_once_newest_first() {
    let f = fixture();
    // 600 more prices (one event each): the export is more than two pages of 512.
    let mut csv = String::from("date,close_usd\n");
    let first: jiff::civil::Date = "2027-01-01".parse().expect("date");
    for i in 0..600i64 {
        csv.push_str(&format!("{},1.{i:03}\n", first.checked_add(jiff::Span::new().days(i)).expect("day")));
    }
    import_prices(&f, "user:bulk", "2025-12-05T12:00:00Z", &csv);
    let n = ledger(&f).len();
    assert!(n > 1024, "{n}");
    let admin = login(&f.app, "admin").await;
    let r = call(&f.app, Method::GET, "/api/ledger/events.csv", &admin, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let lines: Vec<&str> = r.text.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), n + 1, "a header and every event");
    let got: Vec<usize> = lines[1..].iter().map(|l| l.split(',').next().expect("seq").parse().expect("n")).collect();
    assert_eq!(got, (1..=n).rev().collect::<Vec<_>>());
    assert!(lines[1..].iter().all(|l| l.contains(",yes,")), "every event verifies");
    let bulk = call(&f.app, Method::GET, "/api/ledger/events.csv?actor=user:bulk", &admin, None).await;
    assert_eq!(bulk.text.split_terminator("\r\n").count(), 601);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_filter_or_cursor_is_a_400_naming_the_parameter() {
    let f = fixture();
    let admin = login(&f.app, "admin").await;
    for path in ["/api/ledger/events", "/api/ledger/events.csv"] {
        for (q, field) in [
            ("kind=bonus.paid", "query.kind"),
            ("kind=", "query.kind"),
            ("since=2026-13-01", "query.since"),
            ("until=yesterday", "query.until"),
            ("since=9999-12-31", "query.since"),
            ("since=2025-12-02&until=2025-12-01", "query.until"),
            ("actor=", "query.actor"),
            ("subject=", "query.subject"),
        ] {
            let r = call(&f.app, Method::GET, &format!("{path}?{q}"), &admin, None).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}?{q}: {}", r.text);
            let v = r.json();
            assert_eq!(
                (v["code"].as_str(), v["details"]["field"].as_str()),
                (Some("invalid_input"), Some(field)),
                "{q}"
            );
        }
    }
    let unknown = call(&f.app, Method::GET, "/api/ledger/events?kind=bonus.paid", &admin, None).await.json();
    let message = unknown["message"].as_str().expect("message");
    assert!(message.starts_with("`bonus.paid` is not an event kind; the kinds are company, token,"), "{message}");
    for (q, field) in [("cursor=zz", "query.cursor"), ("cursor=2d31", "query.cursor"), ("chain=maybe", "query.chain")] {
        let r = call(&f.app, Method::GET, &format!("/api/ledger/events?{q}"), &admin, None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}: {}", r.text);
        assert_eq!(r.json()["details"]["field"], field, "{q}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_employee_is_refused_the_list_and_the_csv() {
    let f = fixture();
    let ada = login(&f.app, "ada").await;
    for path in ["/api/ledger/events", "/api/ledger/events.csv", "/api/ledger/events.csv?kind=nonsense"] {
        let r = call(&f.app, Method::GET, path, &ada, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.text);
        assert_eq!(r.json()["code"], "forbidden");
    }
    let r = call(&f.app, Method::GET, "/api/ledger/events.csv", &Who::Anonymous, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
}
