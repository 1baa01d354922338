//! The company's notices file (`notices.toml` in the data directory): when to send, the SMTP
//! server and the webhook endpoints. It holds secrets (the SMTP password, each endpoint's
//! signing secret), so it lives beside the ledger, owner-only, and never in it.
//!
//! Must never: echo a secret in an error (a problem names the field, not its value).

use serde::Deserialize;

/// Every notice kind, as the outbox, the preferences and the webhook `type` name them.
pub const KINDS: [&str; 5] = ["upcoming_vest", "vest", "milestone", "period_closed", "wallet_change"];

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeConfig {
    /// Notice of a vest this many days ahead (0: none).
    #[serde(default = "default_upcoming_days")]
    pub upcoming_days: u16,
    /// Causes before this day are not notified (a ledger with years of history does not mail
    /// them all on its first run).
    #[serde(default)]
    pub since: Option<String>,
    /// How often `serve` runs the scheduler.
    #[serde(default = "default_interval")]
    pub interval_seconds: u32,
    /// Attempts per notice before it is marked failed.
    #[serde(default = "default_attempts")]
    pub max_attempts: u8,
    /// The first retry's delay; each later one doubles it.
    #[serde(default = "default_backoff")]
    pub backoff_seconds: u32,
    /// Notices sent per scheduler run.
    #[serde(default = "default_batch")]
    pub batch: u16,
    /// Addresses that receive the company-wide notices (a period closed, a wallet change).
    #[serde(default)]
    pub admins: Vec<String>,
    #[serde(default)]
    pub smtp: Option<SmtpConfig>,
    #[serde(default, rename = "webhook")]
    pub webhooks: Vec<WebhookConfig>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    pub username: String,
    pub password: String,
    /// The sender, `Name <address>` or an address.
    pub from: String,
    /// A PEM file of an extra root certificate to trust (a private CA), besides the public roots.
    #[serde(default)]
    pub ca_file: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u16,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// How the outbox and the delivery log name the endpoint (its URL may carry credentials).
    pub name: String,
    pub url: String,
    /// `whsec_` followed by the base64 key (Standard Webhooks).
    pub secret: String,
    /// The kinds sent to it; every kind when empty.
    #[serde(default)]
    pub kinds: Vec<String>,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u16,
}

fn default_upcoming_days() -> u16 {
    7
}
fn default_interval() -> u32 {
    300
}
fn default_attempts() -> u8 {
    6
}
fn default_backoff() -> u32 {
    60
}
fn default_batch() -> u16 {
    100
}
fn default_port() -> u16 {
    587
}
fn default_timeout() -> u16 {
    30
}

/// Bounds the file's numbers and names; each problem names its field, never a value that could
/// be a secret.
pub fn parse(text: &str) -> Result<NoticeConfig, Vec<String>> {
    let cfg: NoticeConfig = toml::from_str(text).map_err(|e| {
        // toml's message quotes the offending text; keep only its position and kind.
        let at = e.span().map(|s| format!(" (at byte {})", s.start)).unwrap_or_default();
        vec![format!("notices.toml: {}{at}", e.message())]
    })?;
    let mut problems = Vec::new();
    if cfg.upcoming_days > 366 {
        problems.push("upcoming_days: at most 366".to_owned());
    }
    if !(10..=86_400).contains(&cfg.interval_seconds) {
        problems.push("interval_seconds: between 10 and 86400".to_owned());
    }
    if !(1..=20).contains(&cfg.max_attempts) {
        problems.push("max_attempts: between 1 and 20".to_owned());
    }
    if !(1..=86_400).contains(&cfg.backoff_seconds) {
        problems.push("backoff_seconds: between 1 and 86400".to_owned());
    }
    if !(1..=10_000).contains(&cfg.batch) {
        problems.push("batch: between 1 and 10000".to_owned());
    }
    if let Some(s) = &cfg.since
        && s.parse::<jiff::civil::Date>().is_err()
    {
        problems.push("since: a date, YYYY-MM-DD".to_owned());
    }
    if cfg.admins.len() > 100 {
        problems.push("admins: at most 100".to_owned());
    }
    if cfg.webhooks.len() > 20 {
        problems.push("webhook: at most 20 endpoints".to_owned());
    }
    for (i, w) in cfg.webhooks.iter().enumerate() {
        if w.name.is_empty()
            || w.name.len() > 64
            || !w.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            problems.push(format!("webhook[{i}].name: 1 to 64 letters, digits, - or _"));
        }
        if !(w.url.starts_with("https://") || w.url.starts_with("http://")) {
            problems.push(format!("webhook[{i}].url: an http or https URL"));
        }
        if !w.secret.starts_with("whsec_") {
            problems.push(format!("webhook[{i}].secret: starts with whsec_"));
        }
        for k in &w.kinds {
            if !KINDS.contains(&k.as_str()) {
                problems.push(format!("webhook[{i}].kinds: `{k}` is none of {}", KINDS.join(", ")));
            }
        }
    }
    if problems.is_empty() { Ok(cfg) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_a_minimal_file() {
        let cfg = parse("").expect("empty is valid");
        assert_eq!((cfg.upcoming_days, cfg.interval_seconds, cfg.max_attempts, cfg.batch), (7, 300, 6, 100));
        assert!(cfg.smtp.is_none() && cfg.webhooks.is_empty());
    }

    #[test]
    fn every_problem_is_named_by_field_and_no_secret_is_echoed() {
        let text = "max_attempts = 0\nbatch = 0\nsince = \"soon\"\n[[webhook]]\nname = \"a b\"\nurl = \"ftp://x\"\n\
                    secret = \"hunter2\"\nkinds = [\"spam\"]\n";
        let problems = parse(text).expect_err("refused");
        for field in [
            "max_attempts",
            "batch",
            "since",
            "webhook[0].name",
            "webhook[0].url",
            "webhook[0].secret",
            "webhook[0].kinds",
        ] {
            assert!(problems.iter().any(|p| p.starts_with(field)), "{field}: {problems:?}");
        }
        assert!(!problems.iter().any(|p| p.contains("hunter2")), "{problems:?}");
        // A mistyped key is refused (not ignored), without quoting the file.
        let err =
            parse("[smtp]\nhost = \"h\"\nusername = \"u\"\npassword = \"hunter2\"\nfrom = \"f\"\npasword = \"x\"\n")
                .expect_err("unknown key");
        assert!(!err[0].contains("hunter2"), "{err:?}");
    }
}
