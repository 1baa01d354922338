//! Every user mistake through the API is a 4xx with a reason: from the app's own
//! `/openapi.json`, each operation gets, per parameter, a far date, an unknown id, an empty and
//! a 10 kB value, and per JSON body each required field missing and each field of the wrong
//! type. Each is sent as a caller allowed to use the operation (the admin; an employee where
//! only a holder may), and each answer must be a 4xx whose JSON has its `code` and names the
//! field (`path` when an empty path segment leaves no route to name one in).

use axum::http::Method;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use crate::web::{NOW, Who, call, fixture, login};

/// A request the generator made, and the field its answer must name.
struct Case {
    method: Method,
    path: String,
    body: Option<Value>,
    fields: Vec<String>,
    what: String,
}

/// A valid value for each path parameter (Ada's own resources, an open proposal).
fn valid_path_value(name: &str) -> &'static str {
    match name {
        "person" => "ada",
        "grant" => "ada-2024-hire",
        "period" => "2026-10",
        "proposal" => "grants-budget-2027",
        "provider" => "rippling",
        "form" => "w2.csv",
        other => panic!("no sample value for path parameter {other}"),
    }
}

/// A valid body for each request schema, by its `$ref` name.
fn valid_body(schema: &str) -> Value {
    match schema {
        "Login" => json!({"user": "auditor", "password": "demo-auditor-pw"}),
        "DelegationRequest" => json!({"to": "priya"}),
        "ProposalRequest" => json!({"id": "inputs-1", "title": "An input proposal", "snapshot_date": "2026-11-30",
                                     "opens": "2026-12-01T00:00:00Z", "closes": "2026-12-31T00:00:00Z"}),
        "BallotRequest" => json!({"choice": "for"}),
        "NoticePrefsRequest" => json!({"kinds": {"vest": false}}),
        "TaxProfilesRequest" => json!({"uk": {"tax_code": "1257L"}, "us": null}),
        "RulesAddRequest" => json!({"name": "ca-2026.toml", "text": crate::web::RULES_FILE}),
        "ErpBooksRequest" => json!({"format": "quickbooks", "map": crate::web::erp_map(), "from": "2026-01-01"}),
        "WalletChallengeRequest" => json!({"address": crate::wallets::key().address().to_string()}),
        "WalletProofRequest" => json!({"message": "not yet signed", "signature": "0x"}),
        other => panic!("no sample body for {other}"),
    }
}

/// A value of another JSON type than `schema` allows.
fn wrong_type(schema: &Value) -> Value {
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        // An enum of strings.
        _ => vec!["string"],
    };
    if types.contains(&"string") { json!(12345) } else { json!("not a number") }
}

fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The values every parameter is tried with.
fn bad_values() -> Vec<(&'static str, String)> {
    vec![
        ("a far date", "9999-12-31".to_owned()),
        ("an unknown id", "no-such-thing-zz".to_owned()),
        ("an empty value", String::new()),
        ("10 kB", "x".repeat(10 * 1024)),
    ]
}

fn cases(doc: &Value) -> Vec<Case> {
    let schemas = &doc["components"]["schemas"];
    let mut out = Vec::new();
    for (template, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("operations") {
            let method: Method = method.to_uppercase().parse().expect("method");
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let body_schema = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                .as_str()
                .map(|r| r.trim_start_matches("#/components/schemas/").to_owned());
            let path_names: Vec<String> = params
                .iter()
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect();
            let fill = |except: Option<(&str, &str)>| {
                let mut path = template.clone();
                for name in &path_names {
                    let value = match except {
                        Some((n, v)) if n == name => encode(v),
                        _ => valid_path_value(name).to_owned(),
                    };
                    path = path.replace(&format!("{{{name}}}"), &value);
                }
                path
            };
            let body = body_schema.as_deref().map(valid_body);
            for p in &params {
                let name = p["name"].as_str().expect("name");
                let place = p["in"].as_str().expect("in");
                for (what, value) in bad_values() {
                    let (path, fields) = if place == "path" {
                        let mut fields = vec![format!("path.{name}")];
                        if value.is_empty() {
                            // `/api/people//tax-report` matches no route: the path is what is wrong.
                            fields.push("path".to_owned());
                        }
                        (fill(Some((name, &value))), fields)
                    } else {
                        (format!("{}?{name}={}", fill(None), encode(&value)), vec![format!("query.{name}")])
                    };
                    out.push(Case {
                        method: method.clone(),
                        path,
                        body: body.clone(),
                        fields,
                        what: format!("{method} {template}: {place} parameter `{name}` as {what}"),
                    });
                }
            }
            if let Some(schema_name) = &body_schema {
                let schema = &schemas[schema_name.as_str()];
                let valid = valid_body(schema_name);
                for field in schema["required"].as_array().cloned().unwrap_or_default() {
                    let field = field.as_str().expect("field");
                    let mut b = valid.clone();
                    b.as_object_mut().expect("object").remove(field);
                    out.push(Case {
                        method: method.clone(),
                        path: fill(None),
                        body: Some(b),
                        fields: vec![format!("body.{field}")],
                        what: format!("{method} {template}: body without `{field}`"),
                    });
                }
                let props: Map<String, Value> = schema["properties"].as_object().cloned().unwrap_or_default();
                for (field, s) in &props {
                    let mut b = valid.clone();
                    b[field.as_str()] = wrong_type(s);
                    out.push(Case {
                        method: method.clone(),
                        path: fill(None),
                        body: Some(b),
                        fields: vec![format!("body.{field}")],
                        what: format!("{method} {template}: body with `{field}` of the wrong type"),
                    });
                }
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mistake_the_document_allows_is_a_4xx_naming_its_field() {
    let f = fixture();
    let doc = call(&f.app, Method::GET, "/openapi.json", &Who::Anonymous, None).await.json();
    let admin = login(&f.app, "admin").await;
    let holder = login(&f.app, "ada").await;
    let cases = cases(&doc);
    assert!(cases.len() > 150, "{} cases", cases.len());
    let t0: Timestamp = NOW.parse().expect("now");
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        // Writes are limited per login: a step of the fixed clock keeps every case under it.
        let step = i64::try_from(i).expect("count");
        f.state.set_now(t0.checked_add(SignedDuration::from_secs(3 * step)).expect("t"));
        // A ballot, notice choices and wallet proofs are a person's own (staff logins have none).
        let only_holders = (case.path.ends_with("/ballots") || case.path.starts_with("/api/me/wallet/"))
            && case.method == Method::POST
            || case.path == "/api/me/notices";
        let who = if only_holders { &holder } else { &admin };
        let r = call(&f.app, case.method.clone(), &case.path, who, case.body.clone()).await;
        let v: Value = serde_json::from_str(&r.text).unwrap_or(Value::Null);
        let field = v["details"]["field"].as_str().unwrap_or_default().to_owned();
        let ok = r.status.is_client_error()
            && v["code"].as_str().is_some_and(|c| !c.is_empty())
            && v["message"].as_str().is_some_and(|m| !m.is_empty())
            && case.fields.contains(&field);
        if !ok {
            let text: String = r.text.chars().take(300).collect();
            failures.push(format!("{}: {} {text} (want field {:?})", case.what, r.status, case.fields));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
