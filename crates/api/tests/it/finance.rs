//! The finance year through the API (issue 17): the year-end pack's JSON and CSV files equal the
//! service's pack for the same company, byte for byte; an employee gets only their own; a
//! provider layout carries its status in the file name and its sidecar; a refused layout says
//! why; an ERP journal is the service's with the mapping sent in the body.

use axum::http::{Method, StatusCode, header};
use serde_json::{Value, json};
use tokencomp_service::DataDir;
use tokencomp_store::ledger::Company;

use crate::web::{NOW, Reply, Who, call, erp_map, fixture, login};

fn company(data: &std::path::Path) -> Company {
    let mut store = tokencomp_service::ledger::open_store(&DataDir::new(data.to_owned()), None).expect("store");
    tokencomp_service::ledger::load(&mut *store).expect("company")
}

fn disposition(r: &Reply) -> String {
    r.headers.get(header::CONTENT_DISPOSITION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

fn pack(c: &Company, year: i16, person: Option<&str>) -> tokencomp_service::yearend::Pack {
    tokencomp_service::yearend::pack(c, year, person, "--year").expect("pack")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_year_end_json_is_the_services_pack_and_an_employee_gets_only_their_own() {
    let f = fixture();
    let c = company(&f.data);
    let admin = login(&f.app, "admin").await;
    for year in [2025, 2026] {
        let r = call(&f.app, Method::GET, &format!("/api/year-end?year={year}"), &admin, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.json(), pack(&c, year, None).to_json(), "{year}");
    }
    // The default year is the request's (2026); staff may narrow to one person.
    let all = call(&f.app, Method::GET, "/api/year-end", &admin, None).await.json();
    assert_eq!(all, pack(&c, 2026, None).to_json());
    let people = |v: &Value| -> Vec<String> {
        v["people"].as_array().expect("people").iter().map(|p| p["person"].as_str().expect("id").to_owned()).collect()
    };
    assert!(people(&all).len() > 2 && people(&all).contains(&"omar".to_owned()), "{all}");
    let omar = call(&f.app, Method::GET, "/api/year-end?year=2026&person=omar", &admin, None).await.json();
    assert_eq!(omar, pack(&c, 2026, Some("omar")).to_json());
    assert_eq!(people(&omar), ["omar"]);

    // Ada asking for Omar, or for no one, is answered with Ada's own pack, as `/api/grants` does.
    let ada = login(&f.app, "ada").await;
    let own = pack(&c, 2026, Some("ada")).to_json();
    assert_eq!(people(&own), ["ada"]);
    for path in ["/api/year-end?year=2026", "/api/year-end?year=2026&person=omar", "/api/year-end?person=ada"] {
        let r = call(&f.app, Method::GET, path, &ada, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        assert_eq!(r.json(), own, "{path}");
        assert!(!r.text.contains("omar"), "{path}: {}", r.text);
    }
    // A person the company lacks is staff's 404 naming the parameter; a bad year is 400.
    let r = call(&f.app, Method::GET, "/api/year-end?person=nobody", &admin, None).await;
    assert_eq!((r.status, r.json()["details"]["field"].clone()), (StatusCode::NOT_FOUND, json!("query.person")));
    let r = call(&f.app, Method::GET, "/api/year-end?year=twenty", &admin, None).await;
    assert_eq!((r.status, r.json()["details"]["field"].clone()), (StatusCode::BAD_REQUEST, json!("query.year")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_year_end_csv_is_the_services_file_byte_for_byte() {
    let f = fixture();
    let c = company(&f.data);
    let admin = login(&f.app, "admin").await;
    let files = pack(&c, 2025, None).files();
    let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, tokencomp_api::routes::YEAR_END_FILES, "the route's list of files is the pack's");
    for (name, csv) in &files {
        let r = call(&f.app, Method::GET, &format!("/api/year-end/{name}?year=2025"), &admin, None).await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        assert!(r.headers[header::CONTENT_TYPE].to_str().expect("ct").starts_with("text/csv"));
        assert_eq!(disposition(&r), format!("attachment; filename=\"year-end-2025-{name}\""));
        assert_eq!(&r.text, csv, "{name}");
    }
    let w2 = &files[0].1;
    assert!(w2.lines().any(|l| l.starts_with("ben,")) && w2.lines().any(|l| l.starts_with("ada,")), "{w2}");
    // Ada's W-2 file has her row only, whatever `person` says.
    let ada = login(&f.app, "ada").await;
    let r = call(&f.app, Method::GET, "/api/year-end/w2.csv?year=2025&person=ben", &ada, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.text, pack(&c, 2025, Some("ada")).files()[0].1);
    assert!(r.text.lines().skip(1).all(|l| l.starts_with("ada,")) && r.text.lines().count() == 2, "{}", r.text);
    // A form the pack does not have names the path parameter.
    let r = call(&f.app, Method::GET, "/api/year-end/w3.csv", &admin, None).await;
    assert_eq!((r.status, r.json()["details"]["field"].clone()), (StatusCode::BAD_REQUEST, json!("path.form")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_layout_says_provisional_in_its_name_and_sidecar_until_the_period_closes() {
    let f = fixture();
    let c = company(&f.data);
    let admin = login(&f.app, "admin").await;
    let now: jiff::Timestamp = NOW.parse().expect("now");
    let period = tokencomp_service::payroll::check_period(&c, "2026-10", "--period").expect("period");
    let want = tokencomp_service::layouts::layout_export(
        &c,
        &period,
        "rippling",
        None,
        true,
        now,
        std::path::Path::new("rippling-2026-10.csv"),
    )
    .expect("export");
    let r = call(&f.app, Method::GET, "/api/payroll/2026-10/layout/rippling", &admin, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(disposition(&r), "attachment; filename=\"rippling-2026-10-provisional.csv\"");
    assert_eq!(r.text, want.csv);
    assert!(!r.text.contains("provisional"), "the status is never inside the layout");
    let side = call(&f.app, Method::GET, "/api/payroll/2026-10/layout/rippling/sidecar", &admin, None).await;
    assert_eq!(side.status, StatusCode::OK, "{}", side.text);
    assert_eq!(side.json(), want.sidecar);
    assert_eq!(side.json()["status"], "provisional");
    assert_eq!(side.json()["file"], "rippling-2026-10-provisional.csv");

    // Closed, the same period's file is final.
    for step in ["run", "close"] {
        let r = call(&f.app, Method::POST, &format!("/api/periods/2026-10/{step}"), &admin, None).await;
        assert_eq!(r.status, StatusCode::OK, "{step}: {}", r.text);
    }
    let r = call(&f.app, Method::GET, "/api/payroll/2026-10/layout/deel", &admin, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(disposition(&r), "attachment; filename=\"deel-2026-10.csv\"");
    let side = call(&f.app, Method::GET, "/api/payroll/2026-10/layout/deel/sidecar", &admin, None).await.json();
    assert_eq!((side["status"].clone(), side["file"].clone()), (json!("final"), json!("deel-2026-10.csv")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_layout_says_why_and_names_the_provider() {
    let f = fixture();
    let admin = login(&f.app, "admin").await;
    for suffix in ["", "/sidecar"] {
        // Gusto can carry only cash earnings: refused, never used to pay token income in cash.
        let r = call(&f.app, Method::GET, &format!("/api/payroll/2026-10/layout/gusto{suffix}"), &admin, None).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        let v = r.json();
        assert_eq!(
            (v["code"].clone(), v["details"]["field"].clone()),
            (json!("layout_refused"), json!("path.provider"))
        );
        assert!(v["message"].as_str().is_some_and(|m| m.contains("cash")), "{v}");
        // ADP's shipped map leaves the company's own codes to fill in: each is named.
        let r = call(&f.app, Method::GET, &format!("/api/payroll/2026-10/layout/adp{suffix}"), &admin, None).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        let v = r.json();
        assert_eq!(
            (v["code"].clone(), v["details"]["field"].clone()),
            (json!("layout_refused"), json!("path.provider"))
        );
        let m = v["message"].as_str().expect("message");
        for header in ["Co Code", "Batch ID", "Memo Code", "Earnings 3 Code"] {
            assert!(m.contains(&format!("`{header}` is a fixed value the company must fill in")), "{header}: {m}");
        }
        let r = call(&f.app, Method::GET, &format!("/api/payroll/2026-10/layout/paychex{suffix}"), &admin, None).await;
        assert_eq!((r.status, r.json()["details"]["field"].clone()), (StatusCode::BAD_REQUEST, json!("path.provider")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erp_journal_is_the_services_with_the_map_from_the_body() {
    let f = fixture();
    let c = company(&f.data);
    let admin = login(&f.app, "admin").await;
    // Xero imports at most 300 lines a file: its range is one month.
    for (format, from, to) in [
        ("quickbooks", "2026-01-01", "2026-12-06"),
        ("netsuite", "2026-01-01", "2026-12-06"),
        ("xero", "2026-10-01", "2026-10-31"),
    ] {
        let body = json!({"format": format, "map": erp_map(), "from": from, "to": to});
        let r = call(&f.app, Method::POST, "/api/books/erp", &admin, Some(body)).await;
        assert_eq!(r.status, StatusCode::OK, "{format}: {}", r.text);
        assert_eq!(disposition(&r), format!("attachment; filename=\"books-{format}.csv\""));
        let (from, to) = (from.parse().expect("from"), to.parse().expect("to"));
        let want = tokencomp_service::reports::erp_books(&c, from, to, format, "body.map", erp_map()).expect("erp");
        assert_eq!(r.text, want, "{format}");
        assert!(r.text.lines().count() > 3 && r.text.contains("TC "), "{format}: {}", r.text);
    }
    // The default range is 1 January to today, as `GET /api/books`; what the ERP cannot take is
    // the service's refusal as it is.
    let r = call(&f.app, Method::POST, "/api/books/erp", &admin, Some(json!({"format": "netsuite", "map": erp_map()})))
        .await;
    let (from, to) = ("2026-01-01".parse().expect("from"), "2026-12-06".parse().expect("to"));
    let want = tokencomp_service::reports::erp_books(&c, from, to, "netsuite", "body.map", erp_map()).expect("erp");
    assert_eq!(r.text, want);
    let r =
        call(&f.app, Method::POST, "/api/books/erp", &admin, Some(json!({"format": "xero", "map": erp_map()}))).await;
    assert_eq!((r.status, r.json()["code"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("incomplete_data")));
    assert!(r.json()["message"].as_str().is_some_and(|m| m.contains("at most 300 lines")), "{}", r.text);
    // A map leaving an account unmapped is refused naming the body's field and where.
    let partial: String = erp_map().lines().filter(|l| !l.contains("TC Expenses")).map(|l| format!("{l}\n")).collect();
    let r = call(&f.app, Method::POST, "/api/books/erp", &admin, Some(json!({"format": "quickbooks", "map": partial})))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.json()["details"]["field"], "body.map", "{}", r.text);
    assert!(r.json()["message"].as_str().is_some_and(|m| m.contains("body.map")), "{}", r.text);
    // Unknown format; and the GET route points an ERP format to this one.
    let r =
        call(&f.app, Method::POST, "/api/books/erp", &admin, Some(json!({"format": "sage", "map": erp_map()}))).await;
    assert_eq!((r.status, r.json()["details"]["field"].clone()), (StatusCode::BAD_REQUEST, json!("body.format")));
    let r = call(&f.app, Method::GET, "/api/books?format=netsuite", &admin, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["message"].as_str().is_some_and(|m| m.contains("POST /api/books/erp")), "{}", r.text);
    // A browser session must send its CSRF token here too.
    let Who::Session { cookie, .. } = admin else { panic!("session") };
    let no_token = Who::Session { cookie, csrf: "wrong".into() };
    let r = call(&f.app, Method::POST, "/api/books/erp", &no_token, Some(json!({"format": "xero", "map": erp_map()})))
        .await;
    assert_eq!((r.status, r.json()["code"].clone()), (StatusCode::FORBIDDEN, json!("csrf_failed")));
}
