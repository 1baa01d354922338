//! A person's yearly statement (`GET /api/people/{person}/statement`): the CSV's figures are
//! the tax report's, written by the one fiat rule; the PDF passes `qpdf --check`, its text
//! (extracted by poppler's `pdftotext`) holds the same figures and the person's name and no
//! internal lot id; the same request gives the same bytes.

use axum::body::Body as HttpBody;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tokencomp_money::{Decimal, format_fiat};
use tower::ServiceExt;

use crate::web::{Who, call, fixture, login};

async fn bytes(app: &axum::Router, path: &str, who: &Who) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let Who::Session { cookie, .. } = who else { panic!("a session") };
    let req = Request::builder()
        .uri(path)
        .header(header::COOKIE, format!("tc_session={cookie}"))
        .body(HttpBody::empty())
        .expect("request");
    let res = app.clone().oneshot(req).await.expect("response");
    let (status, headers) = (res.status(), res.headers().clone());
    (status, headers, res.into_body().collect().await.expect("body").to_bytes().to_vec())
}

fn fiat(v: &Value) -> String {
    format_fiat(v.as_str().expect("a decimal string").parse::<Decimal>().expect("decimal"))
}

#[tokio::test]
async fn the_statement_is_the_tax_report_in_csv_and_in_a_pdf_whose_text_can_be_read() {
    let f = fixture();
    let ada = login(&f.app, "ada").await;
    let report = call(&f.app, Method::GET, "/api/people/ada/tax-report?year=2026", &ada, None).await.json();
    let income = report["income"].as_array().expect("income");
    assert!(!income.is_empty(), "the demo vests ada's tokens in 2026");

    let (status, headers, csv) = bytes(&f.app, "/api/people/ada/statement?year=2026&format=csv", &ada).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&csv));
    assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert_eq!(headers[header::CONTENT_DISPOSITION], "attachment; filename=\"statement-ada-2026.csv\"");
    let mut reader = csv::Reader::from_reader(csv.as_slice());
    let head: Vec<String> = reader.headers().expect("header").iter().map(str::to_owned).collect();
    assert_eq!(head, tokencomp_service::statement::CSV_HEADER);
    let rows: Vec<Vec<String>> =
        reader.records().map(|r| r.expect("row").iter().map(str::to_owned).collect()).collect();
    let of = |section: &str| rows.iter().filter(|r| r[0] == section).collect::<Vec<_>>();

    // One income row per income event, each the report's income and date.
    let income_rows = of("income");
    assert_eq!(income_rows.len(), income.len());
    for (row, e) in income_rows.iter().zip(income) {
        assert_eq!(row[1], e["income_date"].as_str().expect("date"));
        assert_eq!(row[2], e["grant"].as_str().expect("grant"));
        assert_eq!(row[5], fiat(&e["token_income"]));
    }
    assert_eq!(of("sale").len(), report["disposals"].as_array().expect("disposals").len());
    let total = |what: &str| of("total").iter().find(|r| r[2] == what).map(|r| r[5].clone()).expect(what);
    let withheld: Decimal = report["withheld"]
        .as_object()
        .expect("withheld")
        .values()
        .map(|v| v.as_str().expect("amount").parse::<Decimal>().expect("decimal"))
        .sum();
    let totals = [total("token income"), total("withheld"), total("short-term gain"), total("long-term gain")];
    assert_eq!(
        totals,
        [
            fiat(&report["gross_income"]),
            format_fiat(withheld),
            fiat(&report["short_term_gain"]),
            fiat(&report["long_term_gain"])
        ]
    );

    let (status, headers, pdf) = bytes(&f.app, "/api/people/ada/statement?year=2026", &ada).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/pdf");
    assert!(pdf.starts_with(b"%PDF-"));
    let (_, _, again) = bytes(&f.app, "/api/people/ada/statement?year=2026&format=pdf", &ada).await;
    assert!(pdf == again, "the same statement gives the same bytes");

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("statement.pdf");
    std::fs::write(&file, &pdf).expect("write");
    let check = std::process::Command::new("qpdf")
        .arg("--check")
        .arg(&file)
        .output()
        .expect("qpdf (scripts/tools.sh installs it)");
    assert!(check.status.success(), "qpdf --check: {}", String::from_utf8_lossy(&check.stdout));
    let text = std::process::Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (scripts/tools.sh installs it)");
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).expect("UTF-8");
    let person = call(&f.app, Method::GET, "/api/people/ada", &ada, None).await.json();
    assert!(text.contains(person["name"].as_str().expect("name")), "{text}");
    for figure in totals.iter().chain(income_rows.iter().map(|r| &r[5])) {
        assert!(text.contains(figure.as_str()), "the PDF lacks {figure}:\n{text}");
    }
    for e in income {
        let lot = e["lot"]["id"].as_str().expect("lot id");
        assert!(!text.contains(lot), "an internal lot id ({lot}) is shown");
    }

    // Someone else's statement is refused like any of their data; a bad format names the field.
    let omar = call(&f.app, Method::GET, "/api/people/omar/statement?year=2026&format=csv", &ada, None).await;
    assert_eq!(omar.status, StatusCode::FORBIDDEN);
    let bad = call(&f.app, Method::GET, "/api/people/ada/statement?format=docx", &ada, None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.json()["details"]["field"], "query.format");
}
