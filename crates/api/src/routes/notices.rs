//! Notices (issue 18, item 5): each person chooses which notices they receive
//! (`GET`/`PUT /api/me/notices`; every kind is on until they turn it off). The outbox and its
//! delivery are `tokencomp_service::notices`; a login that is no person has no choices (403).

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};
use tokencomp_service::notices::KINDS;

use crate::{ApiError, AppState, Caller, Role};

fn prefs_json(person: &str, prefs: &[(String, bool)]) -> Value {
    let kinds: Map<String, Value> = prefs.iter().map(|(k, on)| (k.clone(), json!(on))).collect();
    json!({"person": person, "kinds": kinds})
}

/// The choices are a person's own: staff logins without a person have none (as a ballot).
fn own_person(who: &crate::Principal) -> Result<String, ApiError> {
    match (&who.role, &who.person) {
        (Role::Employee, Some(p)) => Ok(p.clone()),
        _ => Err(ApiError::forbidden()),
    }
}

pub async fn get_prefs(State(st): State<AppState>, Caller { who, .. }: Caller) -> Result<Json<Value>, ApiError> {
    let person = own_person(&who)?;
    let doc = st
        .with(move |cx| {
            let prefs = tokencomp_service::notices::prefs(cx.store, &person)?;
            Ok(prefs_json(&person, &prefs))
        })
        .await?;
    Ok(Json(doc))
}

/// `{"kinds": {"vest": false, …}}`: the kinds named are set, the others kept.
pub async fn put_prefs(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    body: crate::Body,
) -> Result<Json<Value>, ApiError> {
    let person = own_person(&who)?;
    let Some(kinds) = body.0.get("kinds").and_then(Value::as_object) else {
        return Err(ApiError::invalid("body.kinds", "an object of notice kind to true or false"));
    };
    let mut choices = Vec::new();
    let mut problems = Vec::new();
    for (k, v) in kinds {
        match (KINDS.contains(&k.as_str()), v.as_bool()) {
            (true, Some(on)) => choices.push((k.clone(), on)),
            (false, _) => problems.push(format!("`{k}` is none of {}", KINDS.join(", "))),
            (true, None) => problems.push(format!("`{k}`: true or false")),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid("body.kinds", problems.join("; ")));
    }
    let doc = st
        .with(move |cx| {
            let prefs = tokencomp_service::notices::set_prefs(cx.store, &person, &choices)?;
            Ok(prefs_json(&person, &prefs))
        })
        .await?;
    Ok(Json(doc))
}
