//! The login page's facts: demo logins only in a directory `tokencomp demo` made, and the
//! cookie warning where a browser would refuse the session cookie (plain http, not loopback).

use axum::body::Body as HttpBody;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::web::fixture;

async fn get(app: &axum::Router, path: &str, host: &str, forwarded: Option<&str>) -> (StatusCode, String) {
    let mut req = Request::builder().uri(path).header(header::HOST, host);
    if let Some(proto) = forwarded {
        req = req.header("x-forwarded-proto", proto);
    }
    let res = app.clone().oneshot(req.body(HttpBody::empty()).expect("request")).await.expect("response");
    let status = res.status();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

async fn info(app: &axum::Router, host: &str) -> Value {
    let (status, text) = get(app, "/api/login-page", host, None).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    serde_json::from_str(&text).expect("JSON")
}

#[tokio::test]
async fn the_demo_lists_its_logins_and_a_company_directory_does_not() {
    let f = fixture();
    let doc = info(&f.app, "127.0.0.1:8080").await;
    assert_eq!(doc["demo"], true);
    let users: Vec<(&str, &str, &str)> = doc["demo_accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| {
            (a["user"].as_str().unwrap_or(""), a["password"].as_str().unwrap_or(""), a["role"].as_str().unwrap_or(""))
        })
        .collect();
    assert_eq!(
        users,
        [
            ("admin", "demo-admin-pw", "admin"),
            ("auditor", "demo-auditor-pw", "auditor"),
            ("ada", "demo-ada-pw", "employee"),
            ("omar", "demo-omar-pw", "employee"),
        ]
    );
    assert_eq!(doc["cookie_warning"], Value::Null, "loopback");

    // Without the mark (a directory `tokencomp init` made), no password anywhere: neither in
    // the page nor in what it reads.
    std::fs::remove_file(tokencomp_service::DataDir::new(f.data.clone()).demo_mark()).expect("the demo mark");
    let doc = info(&f.app, "127.0.0.1:8080").await;
    assert_eq!(doc["demo"], false);
    assert_eq!(doc["demo_accounts"], serde_json::json!([]));
    let (status, page) = get(&f.app, "/login", "127.0.0.1:8080", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("-pw"), "the static page holds no password");
}

#[tokio::test]
async fn plain_http_on_a_lan_address_says_why_the_cookie_will_be_refused() {
    let f = fixture();
    let doc = info(&f.app, "192.168.1.20:8080").await;
    let warning = doc["cookie_warning"].as_str().expect("a warning");
    assert!(warning.contains("192.168.1.20:8080") && warning.contains("--tls-cert"), "{warning}");
    // A forwarded scheme counts only from a trusted proxy (oneshot requests have no peer).
    let (_, text) = get(&f.app, "/api/login-page", "192.168.1.20:8080", Some("https")).await;
    assert!(text.contains("--tls-cert"), "an untrusted X-Forwarded-Proto is ignored: {text}");
    for host in ["localhost:8080", "[::1]:8080"] {
        assert_eq!(info(&f.app, host).await["cookie_warning"], Value::Null, "{host}");
    }
}
