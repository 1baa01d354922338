//! Wallet proofs (issue 18, item 3): an employee asks for a Sign-In with Ethereum challenge,
//! signs it with their wallet and sends it back; the person or an admin sees and cancels a
//! pending change. The checks and the ledger are `tokencomp_service::wallets`'; this maps
//! requests onto it.
//!
//! The SIWE domain is the server's configured public host (`Config::public_host`); without one,
//! the request's `Host` header (fine on loopback; behind a proxy set the public host).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use serde_json::{Value, json};
use tokencomp_service::wallets::{self, Origin};

use super::known_person;
use crate::{ApiError, AppState, Body, Caller, Principal, Role};

/// Letters and digits of a fresh nonce (EIP-4361 wants at least 8 alphanumerics).
const NONCE_LEN: usize = 17;

/// The caller's own person: only an employee login carries one.
fn own_person(who: &Principal) -> Result<String, ApiError> {
    match (&who.role, &who.person) {
        (Role::Employee, Some(p)) => Ok(p.clone()),
        _ => Err(ApiError::forbidden()),
    }
}

/// Whether `who` may see (`write: false`) or cancel (`write: true`) `person`'s wallet changes:
/// the person themself, staff to see, an admin to cancel. Refused before anything is read.
fn may(who: &Principal, person: &str, write: bool) -> Result<(), ApiError> {
    match who.role {
        Role::Employee if who.person.as_deref() == Some(person) => Ok(()),
        Role::Admin => Ok(()),
        Role::Auditor if !write => Ok(()),
        _ => Err(ApiError::forbidden()),
    }
}

/// Where the browser reached us: the configured public host, else the `Host` header.
fn origin(cfg_host: Option<&str>, headers: &HeaderMap, secure: bool) -> Result<Origin, ApiError> {
    let host = match cfg_host {
        Some(h) => h.to_owned(),
        None => headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic() && !"/?#@".contains(c)))
            .ok_or_else(|| ApiError::invalid("header.host", "no usable Host header and no public host configured"))?
            .to_owned(),
    };
    let scheme = if secure { "https" } else { "http" };
    Ok(Origin { uri: format!("{scheme}://{host}/me"), domain: host })
}

fn nonce() -> Result<String, ApiError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; NONCE_LEN];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::internal(format!("random bytes: {e}")))?;
    // 256 is 4 × 62 + 8: the bias toward the first 8 letters is too small to matter for a nonce
    // (it must be unguessable and unique, not uniform).
    Ok(bytes.iter().map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()])).collect())
}

/// `POST /api/me/wallet/challenge` `{address}`: the SIWE message to sign.
pub(crate) async fn challenge(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let person = own_person(&who)?;
    let address = body.str("address")?.to_owned();
    let nonce = nonce()?;
    let doc = st
        .with(move |cx| {
            let at = origin(cx.cfg.public_host.as_deref(), &headers, cx.cfg.secure_cookies)?;
            let text = wallets::challenge(cx.store, cx.company, &at, &person, &address, &nonce, cx.now)?;
            Ok(json!({"message": text, "nonce": nonce,
                      "expires_at": (cx.now + wallets::CHALLENGE_TTL).to_string()}))
        })
        .await?;
    Ok(Json(doc))
}

/// `POST /api/me/wallet/proof` `{message, signature}`: checks and records the proof.
pub(crate) async fn proof(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let person = own_person(&who)?;
    let (message, signature) = (body.str("message")?.to_owned(), body.str("signature")?.to_owned());
    let actor = who.actor();
    let doc = st
        .with(move |cx| {
            let at = origin(cx.cfg.public_host.as_deref(), &headers, cx.cfg.secure_cookies)?;
            let by = cx.stamp(&actor);
            let p = wallets::prove(cx.store, cx.company, &at, &person, &message, &signature, &by)?;
            Ok(json!({"person": p.person, "address": p.address, "message_hash": p.message_hash,
                      "proven_at": p.proven_at.to_string(), "effective_at": p.effective_at.to_string(),
                      "state": if p.pending(cx.now) { "pending" } else { "effective" }}))
        })
        .await?;
    Ok(Json(doc))
}

/// `GET /api/people/{person}/wallet`: the proven wallet in effect and every proof.
pub(crate) async fn show(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    Path(person): Path<String>,
) -> Result<Json<Value>, ApiError> {
    may(&who, &person, false)?;
    let doc = st
        .with(move |cx| {
            known_person(cx.company, &person, "path.person")?;
            Ok(wallets::wallets_json(cx.company, &person, cx.now))
        })
        .await?;
    Ok(Json(doc))
}

/// `POST /api/people/{person}/wallet/cancel`: withdraws every change still pending
/// (idempotent: none pending answers an empty list).
pub(crate) async fn cancel(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    Path(person): Path<String>,
) -> Result<Json<Value>, ApiError> {
    may(&who, &person, true)?;
    let actor = who.actor();
    let doc = st
        .with(move |cx| {
            known_person(cx.company, &person, "path.person")?;
            let by = cx.stamp(&actor);
            let cancelled = wallets::cancel_pending(cx.store, &person, &by)?;
            Ok(json!({"person": person, "cancelled": cancelled, "cancelled_at": cx.now.to_string()}))
        })
        .await?;
    Ok(Json(doc))
}
