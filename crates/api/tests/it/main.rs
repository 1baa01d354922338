//! The OpenAPI document against the route table: every route is described, every response
//! has a real schema, every reference resolves.

mod audit;
mod finance;
mod inputs;
mod login_page;
mod portal;
mod sessions;
mod statement;
mod wallets;
mod web;
mod web_limits;

use serde_json::Value;
use tokencomp_api::openapi::{document, schemas};
use tokencomp_api::routes::{Resp, table};

/// Walks `v` and returns every `$ref` target.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.trim_start_matches("#/components/schemas/").to_owned());
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

/// A schema that says something: a type with properties (objects), items (arrays), or a
/// constraint. `{}` or `{"type": "object"}` alone is empty.
fn is_empty_schema(s: &Value) -> bool {
    let Some(m) = s.as_object() else { return true };
    if m.contains_key("$ref") || m.contains_key("enum") || m.contains_key("const") || m.contains_key("oneOf") {
        return false;
    }
    match m.get("type") {
        Some(Value::String(t)) if t == "object" => {
            !m.contains_key("properties") && !m.contains_key("additionalProperties")
        }
        Some(Value::String(t)) if t == "array" => m.get("items").is_none_or(is_empty_schema),
        Some(_) => false,
        None => true,
    }
}

#[test]
fn every_route_is_in_the_document_with_its_method() {
    let doc = document();
    for r in table() {
        let op = &doc["paths"][r.path][r.method.as_str().to_lowercase()];
        assert!(op.is_object(), "{} {} is not described", r.method, r.path);
        assert!(op["responses"][r.status.as_u16().to_string()].is_object(), "{} {}", r.method, r.path);
        assert_eq!(op["x-access"], r.access.as_str());
    }
    let ops: usize =
        doc["paths"].as_object().expect("paths").values().map(|p| p.as_object().map_or(0, |m| m.len())).sum();
    assert_eq!(ops, table().len(), "the document describes a route the table does not have");
}

#[test]
fn no_response_schema_is_empty_and_every_reference_resolves() {
    let all = schemas();
    for r in table() {
        if let Resp::Json(name) = r.response {
            let s = all.get(name).unwrap_or_else(|| panic!("{} {}: no schema {name}", r.method, r.path));
            assert!(!is_empty_schema(s), "{name} is an empty schema");
            let props = s["properties"].as_object().map_or(0, |p| p.len());
            assert!(props > 0, "{name} has no properties");
        }
    }
    let mut targets = Vec::new();
    refs(&document(), &mut targets);
    assert!(targets.len() > 40);
    for t in targets {
        assert!(all.contains_key(&t), "dangling reference to {t}");
    }
    // The checker itself must reject what it should.
    assert!(is_empty_schema(&serde_json::json!({})));
    assert!(is_empty_schema(&serde_json::json!({"type": "object"})));
    assert!(!is_empty_schema(&serde_json::json!({"type": "string"})));
}

#[test]
fn every_error_code_the_handlers_use_is_documented() {
    let src = [
        include_str!("../../src/lib.rs"),
        include_str!("../../src/routes.rs"),
        include_str!("../../src/routes/gov.rs"),
        include_str!("../../src/routes/reports.rs"),
        include_str!("../../src/routes/finance.rs"),
        include_str!("../../src/routes/login_page.rs"),
        include_str!("../../src/routes/audit.rs"),
        include_str!("../../src/error.rs"),
    ]
    .concat();
    let codes = tokencomp_api::error::CODES;
    for (i, _) in src.match_indices("StatusCode::") {
        let tail = &src[i..];
        // `ApiError::new(StatusCode::X, "code", …)`: the code follows the status.
        if let Some(rest) = tail.split_once(", \"") {
            let code = rest.1.split('"').next().unwrap_or("");
            if code.chars().all(|c| c.is_ascii_lowercase() || c == '_') && !code.is_empty() && rest.0.len() < 40 {
                assert!(codes.contains(&code), "code `{code}` is not in CODES");
            }
        }
    }
}

/// Regression (issue 15, item 22): the documented pattern refused semi-monthly ids (`2026-10-a`),
/// so Schemathesis never sent one. Every id each pay calendar makes matches it, and the path
/// check the handlers run agrees with it.
#[test]
fn the_period_pattern_takes_every_calendars_ids_and_the_handlers_agree() {
    use jiff::civil::Date;
    use tokencomp_core::period::PayFrequency;
    let pattern = regex::Regex::new(tokencomp_api::openapi::PERIOD_PATTERN).expect("the pattern compiles");
    let from: Date = "2026-01-01".parse().expect("date");
    let through: Date = "2026-12-31".parse().expect("date");
    let mut ids: Vec<String> = [PayFrequency::Monthly, PayFrequency::SemiMonthly, PayFrequency::Biweekly]
        .into_iter()
        .flat_map(|f| tokencomp_core::period::periods(f, from, through))
        .map(|p| p.id)
        .collect();
    ids.extend((1..=12).map(|m| format!("uk-2026-m{m:02}")));
    assert!(ids.contains(&"2026-10-a".to_owned()) && ids.contains(&"2026-10-b".to_owned()), "{ids:?}");
    for id in &ids {
        assert!(pattern.is_match(id), "the document refuses the period id {id}");
        assert_eq!(tokencomp_api::routes::period_path(id), Ok(()), "{id}");
    }
    for bad in ["2026-10-c", "2026-1", "2026-10-", "bw-2026-10", "uk-2026-6", "10-2026", "2026-10-ab", ""] {
        assert!(!pattern.is_match(bad), "the document takes {bad}");
        let refused = tokencomp_api::routes::period_path(bad).expect_err(bad);
        assert_eq!(refused.details["field"], "path.period", "{bad}");
    }
    // Out of the API's dates: the form is right, the year is not.
    assert!(pattern.is_match("9999-12") && tokencomp_api::routes::period_path("9999-12").is_err());
}

/// Every link leads to an operation of the document and names one of its parameters.
#[test]
fn every_link_leads_to_a_documented_operation_and_parameter() {
    let doc = document();
    let mut ops = std::collections::BTreeMap::new();
    for item in doc["paths"].as_object().expect("paths").values() {
        for op in item.as_object().expect("item").values() {
            let params: Vec<String> = op["parameters"]
                .as_array()
                .map(|a| a.iter().filter_map(|p| p["name"].as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            ops.insert(op["operationId"].as_str().expect("id").to_owned(), params);
        }
    }
    let mut n = 0;
    for item in doc["paths"].as_object().expect("paths").values() {
        for op in item.as_object().expect("item").values() {
            for resp in op["responses"].as_object().expect("responses").values() {
                for (name, link) in resp["links"].as_object().into_iter().flatten() {
                    let target = link["operationId"].as_str().expect("target");
                    let params = ops.get(target).unwrap_or_else(|| panic!("link {name} to unknown {target}"));
                    for p in link["parameters"].as_object().expect("parameters").keys() {
                        assert!(params.contains(p), "link {name}: {target} has no parameter {p}");
                    }
                    n += 1;
                }
            }
        }
    }
    assert!(n >= 15, "{n} links");
}
