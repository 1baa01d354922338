//! Wallet proofs over the HTTP API (issue 18, item 3): an employee proves a wallet with a
//! Sign-In with Ethereum message signed by a key made in the test; the message is checked by
//! the independent `siwe` package (PyPI, in the tools venv: scripts/siwe_check.py); a replay,
//! another server's message and another person's change are refused; the person or an admin
//! cancels a pending change.

use std::io::Write;
use std::process::{Command, Stdio};

use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use axum::Router;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::web::{Who, call, fixture, login};

/// The public host the tests' server is configured with (the SIWE domain).
pub(crate) const HOST: &str = "comp.gridline.example";

/// Hardhat's first development key: public, holds nothing.
pub(crate) fn key() -> PrivateKeySigner {
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80".parse().expect("key")
}

fn sign(text: &str) -> String {
    let sig = key().sign_message_sync(text.as_bytes()).expect("signs");
    format!("0x{}", alloy_primitives::hex::encode(sig.as_bytes()))
}

/// A proof body for `who`: their challenge, signed by [`key`]. A caller who may not ask for one
/// gets a body that the proof route refuses for the same reason.
pub(crate) async fn signed_proof(app: &Router, who: &Who) -> Value {
    let c =
        call(app, Method::POST, "/api/me/wallet/challenge", who, Some(json!({"address": key().address().to_string()})))
            .await;
    if c.status != StatusCode::OK {
        return json!({"message": "", "signature": ""});
    }
    let message = c.json()["message"].as_str().expect("message").to_owned();
    json!({"signature": sign(&message), "message": message})
}

async fn len(f: &crate::web::Fixture) -> i64 {
    f.state.with(|cx| Ok(cx.len)).await.expect("len")
}

/// Runs scripts/siwe_check.py with the tools venv's python: `Ok(parsed fields)` or `Err(siwe's error)`.
fn siwe_check(message: &str, signature: &str, domain: &str, nonce: &str, at: &str) -> Result<Value, String> {
    let venv = std::env::var_os("TOKENCOMP_TEST_VENV")
        .expect("TOKENCOMP_TEST_VENV is not set: run ./scripts/test, which installs siwe in the tools venv");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/siwe_check.py");
    let mut child = Command::new(std::path::Path::new(&venv).join("bin/python"))
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python");
    let req = json!({"message": message, "signature": signature, "domain": domain, "nonce": nonce, "at": at});
    child.stdin.take().expect("stdin").write_all(req.to_string().as_bytes()).expect("writes");
    let out = child.wait_with_output().expect("runs");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).expect("JSON"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wallet_proven_over_the_api_passes_the_independent_siwe_package_and_waits_48_hours() {
    let f = fixture();
    let ada = login(&f.app, "ada").await;
    let address = key().address().to_checksum(None);
    let c = call(&f.app, Method::POST, "/api/me/wallet/challenge", &ada, Some(json!({"address": address}))).await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    let c = c.json();
    let (message, nonce) = (c["message"].as_str().expect("message"), c["nonce"].as_str().expect("nonce"));
    // NOW plus the challenge's 10 minutes.
    assert_eq!(c["expires_at"], "2026-12-06T12:10:00Z");
    let signature = sign(message);
    // The independent check: siwe parses our text with its ABNF parser, writes it back byte for
    // byte and verifies the signature, domain, nonce and times one minute after issue.
    let parsed = siwe_check(message, &signature, HOST, nonce, "2026-12-06T12:01:00Z").expect("siwe accepts it");
    assert_eq!(parsed["domain"], HOST);
    assert_eq!(parsed["address"], address.as_str());
    assert_eq!(parsed["uri"], format!("https://{HOST}/me"));
    assert_eq!((parsed["version"].as_str(), parsed["nonce"].as_str()), (Some("1"), Some(nonce)));
    assert_eq!(parsed["issued_at"], "2026-12-06T12:00:00Z");
    assert_eq!(parsed["expiration_time"], "2026-12-06T12:10:00Z");
    // siwe refuses what we refuse: another domain, an expired message, a signature by another key.
    assert!(
        siwe_check(message, &signature, "evil.example", nonce, "2026-12-06T12:01:00Z")
            .is_err_and(|e| e.contains("DomainMismatch"))
    );
    assert!(
        siwe_check(message, &signature, HOST, nonce, "2026-12-06T12:10:01Z")
            .is_err_and(|e| e.contains("ExpiredMessage"))
    );
    let stranger = PrivateKeySigner::from_bytes(&alloy_primitives::keccak256("stranger"))
        .expect("key")
        .sign_message_sync(message.as_bytes())
        .expect("signs");
    let stranger = format!("0x{}", alloy_primitives::hex::encode(stranger.as_bytes()));
    assert!(siwe_check(message, &stranger, HOST, nonce, "2026-12-06T12:01:00Z").is_err());

    let before = len(&f).await;
    let p = call(
        &f.app,
        Method::POST,
        "/api/me/wallet/proof",
        &ada,
        Some(json!({"message": message, "signature": signature})),
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    let p = p.json();
    assert_eq!((p["address"].as_str(), p["state"].as_str()), (Some(address.as_str()), Some("pending")));
    // The company sets no delay: the default 48 hours after NOW.
    assert_eq!(p["effective_at"], "2026-12-08T12:00:00Z");
    assert_eq!(len(&f).await, before + 1);
    // The same signed message again: its nonce is spent.
    let again = call(
        &f.app,
        Method::POST,
        "/api/me/wallet/proof",
        &ada,
        Some(json!({"message": message, "signature": signature})),
    )
    .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.text);
    assert_eq!(again.json()["details"]["field"], "message.nonce");
    // Omar's challenge, sent by Ada: refused, nothing recorded.
    let omar = login(&f.app, "omar").await;
    let theirs = signed_proof(&f.app, &omar).await;
    let r = call(&f.app, Method::POST, "/api/me/wallet/proof", &ada, Some(theirs)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.json()["message"], "this challenge was issued to another person");
    assert_eq!(len(&f).await, before + 1);

    let w = call(&f.app, Method::GET, "/api/people/ada/wallet", &ada, None).await.json();
    assert_eq!((w["wallet"].clone(), w["proofs"][0]["state"].clone()), (Value::Null, json!("pending")));
    assert_eq!(w["wallet_change_delay_hours"], 48);
    // The admin cancels it before it takes effect.
    let admin = login(&f.app, "admin").await;
    let x = call(&f.app, Method::POST, "/api/people/ada/wallet/cancel", &admin, None).await;
    assert_eq!(x.status, StatusCode::OK, "{}", x.text);
    assert_eq!(x.json()["cancelled"], json!([p["message_hash"]]));
    let w = call(&f.app, Method::GET, "/api/people/ada/wallet", &ada, None).await.json();
    assert_eq!(
        (w["proofs"][0]["state"].as_str(), w["proofs"][0]["cancelled_by"].as_str()),
        (Some("cancelled"), Some("user:admin"))
    );
    // Ada may not see or cancel Omar's.
    let r = call(&f.app, Method::POST, "/api/people/omar/wallet/cancel", &ada, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
