//! Sending one notice: email over SMTP (STARTTLS required, then authentication) with `lettre`,
//! and webhooks signed as Standard Webhooks specify (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`) with `ureq`.
//!
//! Must never: put a secret in a result (the delivery log keeps what is returned here), follow a
//! redirect (a signed body goes only where the company said), or read an unbounded answer.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use sha2::Sha256;
use tokencomp_formats::notice_config::{NoticeConfig, SmtpConfig, WebhookConfig};
use tokencomp_store::notices::Queued;

use crate::DataDir;

/// The most of a webhook receiver's answer that is read.
const ANSWER_MAX: u64 = 4096;

/// Sends `q` now: `Ok(detail)` when the server accepted it, `Err(detail)` otherwise.
pub fn send(cfg: &NoticeConfig, data: &DataDir, q: &Queued, now: Timestamp) -> Result<String, String> {
    match q.notice.channel.as_str() {
        "email" => {
            let smtp = cfg.smtp.as_ref().ok_or("no [smtp] in notices.toml")?;
            email(smtp, data, q)
        }
        "webhook" => {
            let w = cfg
                .webhooks
                .iter()
                .find(|w| w.name == q.notice.address)
                .ok_or_else(|| format!("no webhook named `{}` in notices.toml", q.notice.address))?;
            webhook(w, q, now)
        }
        other => Err(format!("unknown channel `{other}`")),
    }
}

fn email(smtp: &SmtpConfig, data: &DataDir, q: &Queued) -> Result<String, String> {
    let n = &q.notice;
    let message = Message::builder()
        .from(smtp.from.parse().map_err(|e| format!("smtp.from: {e}"))?)
        .to(n.address.parse().map_err(|e| format!("recipient address: {e}"))?)
        .subject(n.subject.clone())
        // The key as the Message-ID: a resend after a crash between sending and logging is
        // recognizably the same message.
        .message_id(Some(format!("<{}@tokencomp>", &n.key[..n.key.len().min(40)])))
        .header(ContentType::TEXT_PLAIN)
        .body(n.body.clone())
        .map_err(|e| format!("building the message: {e}"))?;
    let mut tls = TlsParameters::builder(smtp.host.clone());
    if let Some(ca) = &smtp.ca_file {
        let path = if std::path::Path::new(ca).is_absolute() { ca.into() } else { data.root().join(ca) };
        let pem = std::fs::read(&path).map_err(|e| format!("smtp.ca_file {}: {e}", path.display()))?;
        tls = tls.add_root_certificate(Certificate::from_pem(&pem).map_err(|e| format!("smtp.ca_file: {e}"))?);
    }
    let tls = tls.build_rustls().map_err(|e| format!("TLS settings: {e}"))?;
    let transport = SmtpTransport::builder_dangerous(smtp.host.as_str())
        .port(smtp.port)
        // STARTTLS is required: credentials never cross in clear.
        .tls(Tls::Required(tls))
        .credentials(Credentials::new(smtp.username.clone(), smtp.password.clone()))
        .timeout(Some(Duration::from_secs(u64::from(smtp.timeout_seconds))))
        .build();
    match transport.send(&message) {
        Ok(r) => Ok(format!("smtp {}", r.code())),
        // lettre's errors carry the server's reply, never the credentials.
        Err(e) => Err(format!("smtp: {e}")),
    }
}

/// The webhook's message id: the same across retries, so the receiver processes it once.
pub fn webhook_id(key: &str) -> String {
    format!("msg_{}", &key[..key.len().min(32)])
}

/// `v1,<signature>` over `id.timestamp.body` with the endpoint's `whsec_` secret.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String, String> {
    let raw = secret.strip_prefix("whsec_").ok_or("the webhook secret does not start with whsec_")?;
    let key = STANDARD.decode(raw).map_err(|_| "the webhook secret is not base64 after whsec_".to_owned())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| "the webhook secret is empty".to_owned())?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

fn webhook(w: &WebhookConfig, q: &Queued, now: Timestamp) -> Result<String, String> {
    let id = webhook_id(&q.notice.key);
    let ts = now.as_second();
    let signature = sign(&w.secret, &id, ts, &q.notice.body)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(u64::from(w.timeout_seconds))))
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let answer = agent
        .post(&w.url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", &ts.to_string())
        .header("webhook-signature", &signature)
        .send(q.notice.body.as_str());
    match answer {
        Ok(mut r) => {
            let status = r.status();
            let _ = r.body_mut().with_config().limit(ANSWER_MAX).read_to_string();
            if status.is_success() {
                Ok(format!("http {}", status.as_u16()))
            } else {
                Err(format!("http {}", status.as_u16()))
            }
        }
        // ureq's error names the host and the failure, not the URL's credentials or the secret.
        Err(e) => Err(format!("http: {}", e.to_string().replace(&w.url, &w.name))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks specification's own example (its reference libraries test it):
    /// secret `whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw`, id `msg_p5jXN8AQM9LWM0D4loKWxJek`,
    /// timestamp 1614265330, body `{"test": 2432232314}`.
    #[test]
    fn signs_the_specification_example() {
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(sig.as_deref(), Ok("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    }

    #[test]
    fn refuses_a_secret_without_its_prefix() {
        assert!(sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_x", 1, "{}").is_err());
        assert!(sign("whsec_%%%", "msg_x", 1, "{}").is_err());
    }
}
