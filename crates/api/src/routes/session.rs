//! The session routes: log in (a password, then a session in the ledger's database), who is
//! logged in, log out, sign out everywhere, an admin's revocation of a login's sessions, and the
//! sign-in log (docs/web.md). The work is `crate::auth`'s, run off the async threads.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{LIMIT, require_admin, require_staff, session_json};
use crate::{ApiError, AppState, Body, Caller, Query, SESSION_COOKIE};

pub(super) async fn login(
    State(st): State<AppState>,
    client: crate::limits::ClientAddr,
    body: Body,
) -> Result<Response, ApiError> {
    let user = body.str("user")?.to_owned();
    let password = body.str("password")?.to_owned();
    let now = st.now();
    // Counted before the hash; then one hash through the bounded gate (or 503 at once).
    let reserved = st.with_auth(move |auth| auth.reserve(&user, client.0, now)).await?;
    let opened = match reserved {
        Ok(attempt) => {
            let known = attempt.known();
            st.inner.gate.run(client.0, known, move || attempt.check(&password)).await?
        }
        Err(refused) => Err(refused),
    };
    let (token, csrf, who) = match opened {
        Ok(o) => o,
        Err(crate::auth::LoginRefused::Invalid) => {
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "wrong user name or password"));
        }
        Err(crate::auth::LoginRefused::Unavailable) => {
            return Err(sessions_unavailable("the sessions database did not answer; try again"));
        }
        Err(crate::auth::LoginRefused::Locked { until }) => {
            let wait = u64::try_from(until.duration_since(now).as_secs()).unwrap_or(0).max(1);
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!("too many failed logins for this name; try again after {until}"),
            )
            .retry_after(wait));
        }
    };
    let caller = Caller { who, csrf: Some(csrf) };
    let doc = st.with(move |cx| Ok(session_json(&caller, cx.company))).await?;
    let secure = if st.inner.cfg.secure_cookies { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        crate::auth::SESSION_HOURS * 3600
    );
    let mut res = Json(doc).into_response();
    res.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(ApiError::internal)?);
    Ok(res)
}

pub(super) async fn session(State(st): State<AppState>, c: Caller) -> Result<Json<Value>, ApiError> {
    Ok(Json(st.with(move |cx| Ok(session_json(&c, cx.company))).await?))
}

pub(super) async fn logout(State(st): State<AppState>, _c: Caller, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(t) = crate::cookie(&headers, SESSION_COOKIE).map(str::to_owned) {
        let now = st.now();
        st.with_auth(move |auth| auth.logout(&t, now)).await?;
    }
    cleared(json!({"ok": true}))
}

/// 503 `sessions_unavailable`: the database holding the sessions did not answer.
fn sessions_unavailable(message: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "sessions_unavailable", message.to_string())
}

/// A JSON answer that also clears the session cookie.
fn cleared(doc: Value) -> Result<Response, ApiError> {
    let mut res = Json(doc).into_response();
    let cookie = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    res.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(ApiError::internal)?);
    Ok(res)
}

/// Sign out everywhere: every session of the caller's login ends, this one included.
pub(super) async fn sign_out_everywhere(State(st): State<AppState>, c: Caller) -> Result<Response, ApiError> {
    let (login, actor, now) = (c.who.user.clone(), c.who.actor(), st.now());
    let ended = st
        .with_auth(move |auth| auth.end_sessions_of(&login, &actor, "sign_out_everywhere", now))
        .await?
        .map_err(sessions_unavailable)?;
    cleared(json!({"user": c.who.user, "ended": ended}))
}

/// An admin ends every session of a login. An unknown login is `not_found`, after the role
/// was checked (a refusal looks the same whoever is named).
pub(super) async fn revoke_sessions(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    Path(user): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&who)?;
    let (actor, now, name) = (who.actor(), st.now(), user.clone());
    let ended = st
        .with_auth(move |auth| {
            if !auth.has_user(&name) {
                return Ok(None);
            }
            auth.end_sessions_of(&name, &actor, "revoked", now).map(Some)
        })
        .await?
        .map_err(sessions_unavailable)?
        .ok_or_else(|| ApiError::not_found_at("path.user", "user"))?;
    Ok(Json(json!({"user": user, "ended": ended})))
}

/// The sign-in log, newest first: logins, logouts, revocations, sessions a change ended.
pub(super) async fn sign_in_log(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    q: Query,
) -> Result<Json<Value>, ApiError> {
    require_staff(&who)?;
    let limit = usize::try_from(LIMIT.int_from(&q)?.unwrap_or(100)).unwrap_or(100);
    let login = q.get("user").map(str::to_owned);
    if let Some(name) = &login
        && !crate::auth::is_login_name(name)
    {
        return Err(ApiError::invalid(
            "query.user",
            format!("not a login name (at most {} of a-z, 0-9, - _ .)", crate::auth::MAX_NAME),
        ));
    }
    let lines = st
        .with_auth(move |auth| {
            let lines = auth.log_lines(login.as_deref(), limit)?;
            // A name that is no login and has no line (even a removed login's) is not found.
            let known = login.as_deref().is_none_or(|n| !lines.is_empty() || auth.has_user(n));
            Ok::<_, crate::auth::AuthError>(known.then_some(lines))
        })
        .await?
        .map_err(sessions_unavailable)?
        .ok_or_else(|| ApiError::not_found_at("query.user", "user"))?;
    let items: Vec<Value> = lines
        .iter()
        .map(|l| {
            json!({"seq": l.seq, "at": l.at.to_string(), "user": l.login, "actor": l.actor, "what": l.what,
                   "detail": l.detail})
        })
        .collect();
    Ok(Json(json!({"items": items})))
}
