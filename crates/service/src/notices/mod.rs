//! Notices: an upcoming vest, a vest with its withholding, a milestone applied, a period closed
//! and a wallet change, by email (SMTP) and by signed webhooks (Standard Webhooks).
//!
//! The scheduler is two steps. [`enqueue`] reads the folded company and the ledger's events and
//! puts each notice in the outbox once, under a key derived from its cause (the event's
//! sequence, or the grant and day of an upcoming vest), its kind, its recipient and its
//! channel, so running it again, from `serve` or from cron, never sends twice. [`deliver`]
//! claims what is due, sends it, and logs each attempt; a failure is retried with exponential
//! backoff up to the company's bound, then marked failed. The outbox lives in the ledger's
//! database ([`tokencomp_store::notices`]), outside its hash chain, so a restart loses nothing.
//!
//! Must never: read the clock (`now` is a parameter), send while holding the ledger (callers
//! lock only around [`enqueue`], [`claim`] and [`record`]), or log or store a secret (the
//! outbox names a webhook endpoint, never its URL or signing secret).

pub mod send;

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use serde_json::{Value, json};
use tokencomp_compliance::payroll::IncomeEvent;
use tokencomp_formats::notice_config::{self, NoticeConfig};
use tokencomp_money::{Decimal, TokenAmount};
use tokencomp_store::ledger::Company;
use tokencomp_store::notices::{Attempt, NewNotice, Queued};
use tokencomp_store::{EventKind, Store, StoredEvent, sha256_hex};

use crate::DataDir;
use crate::error::{Error, Result};

/// The notices file in a data directory (owner-only: it holds the SMTP password and the
/// webhook secrets).
pub fn config_path(data: &DataDir) -> std::path::PathBuf {
    data.root().join("notices.toml")
}

/// Every notice kind, as the outbox, the preferences and a webhook's `type` name them.
pub const KINDS: [&str; 5] = notice_config::KINDS;

/// The largest notices file read, and the largest body a notice may have.
pub const CONFIG_MAX: u64 = 64 * 1024;
pub const BODY_MAX: usize = 16 * 1024;
/// How long a claimed notice is held before another scheduler may take it.
pub const LEASE_SECONDS: i64 = 600;

/// The company's notices file, when it has one. A file that others can read is refused: it
/// holds secrets.
pub fn load_config(data: &DataDir) -> Result<Option<NoticeConfig>> {
    let path = config_path(data);
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::internal(format!("{}: {e}", path.display()))),
    };
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(Error::invalid(
                format!("{} can be read by others; it holds secrets (run `chmod 600` on it)", path.display()),
                "notices.toml",
            ));
        }
    }
    if meta.len() > CONFIG_MAX {
        return Err(Error::invalid(format!("{} is over {CONFIG_MAX} bytes", path.display()), "notices.toml"));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| Error::internal(format!("{}: {e}", path.display())))?;
    notice_config::parse(&text)
        .map(Some)
        .map_err(|problems| Error::Rejected { field: "notices.toml".into(), text: problems.join("\n") })
}

/// The idempotency key of a notice: its cause, kind, recipient and channel.
pub fn key(cause: &str, kind: &str, recipient: &str, channel: &str) -> String {
    sha256_hex(&format!("{cause}\n{kind}\n{recipient}\n{channel}"))
}

/// A fiat amount as every face shows it: rounded as it is booked (cents, half away from zero),
/// thousands grouped, with its currency (`USD 1,234.50`).
pub fn fiat_display(currency: impl std::fmt::Display, d: Decimal) -> String {
    format!("{currency} {}", tokencomp_money::format_fiat(d))
}

/// A token amount as every face shows it: truncated to two decimals (never more than is held).
fn tokens_display(company: &Company, a: TokenAmount) -> String {
    let token = &company.token.token;
    format!("{} {}", token.format_display(a, 2), token.symbol())
}

/// What one notice says, before it is addressed.
struct Draft {
    cause: String,
    kind: &'static str,
    /// The person it is about, who receives it by email when they have an address and want it.
    person: Option<String>,
    /// Whether the company's admins receive it by email too.
    admins: bool,
    subject: String,
    text: String,
    data: Value,
}

/// What a scheduler run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub enqueued: usize,
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
    /// Causes left for a later run, each with why (a vest whose price is not yet recorded).
    pub deferred: Vec<String>,
}

impl Outcome {
    pub fn to_json(&self) -> Value {
        json!({"enqueued": self.enqueued, "sent": self.sent, "retrying": self.retrying,
               "failed": self.failed, "deferred": self.deferred})
    }
}

fn grant_holder<'c>(company: &'c Company, grant: &str) -> Option<&'c str> {
    company.grants.get(grant).map(|g| g.terms.grant.holder.as_str())
}

fn person_name(company: &Company, id: &str) -> String {
    company.people.get(id).map(|p| p.name.clone()).unwrap_or_else(|| id.to_owned())
}

fn payload(e: &StoredEvent) -> Value {
    serde_json::from_str(&e.event.payload).unwrap_or(Value::Null)
}

fn str_of<'v>(v: &'v Value, k: &str) -> &'v str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// The drafts the ledger calls for through `through`: recorded vests (with their withholding),
/// accepted milestones and closed periods from `since` on, and vests due within the company's
/// horizon after `through`.
fn drafts(
    company: &Company,
    events: &[StoredEvent],
    cfg: &NoticeConfig,
    through: Date,
    deferred: &mut Vec<String>,
) -> Result<Vec<Draft>> {
    let since: Option<Date> = cfg.since.as_deref().and_then(|s| s.parse().ok());
    let tz = &company.company.time_zone;
    let day_of = |e: &StoredEvent| e.recorded_at.to_zoned_datetime(tz.clone()).date();
    let after_since = |d: Date| since.is_none_or(|s| d >= s);
    let mut out = Vec::new();
    // The compliance pass once; when it cannot run yet (a price is missing), the vests wait.
    let income: std::result::Result<Vec<IncomeEvent>, Error> = crate::payroll::income_events(company, through);
    for e in events {
        let v = payload(e);
        match e.event.kind {
            EventKind::Vest => {
                let (grant, holder) = (str_of(&v, "grant"), str_of(&v, "holder"));
                let Ok(date) = str_of(&v, "date").parse::<Date>() else { continue };
                if date > through || !after_since(date) {
                    continue;
                }
                let amount = e.event.amount.unwrap_or(TokenAmount::ZERO);
                let income = match &income {
                    Ok(i) => i,
                    Err(err) => {
                        deferred.push(format!("vest {grant} {date}: {err}"));
                        continue;
                    }
                };
                let lines: Vec<&IncomeEvent> =
                    income.iter().filter(|i| i.grant == grant && i.vest_date == date).collect();
                let name = person_name(company, holder);
                let amount_s = tokens_display(company, amount);
                let taxed_at_grant = company.grants.get(grant).is_some_and(|g| g.terms.policy.election_83b.is_some());
                if lines.is_empty() && !taxed_at_grant {
                    // Taxed later (a settlement date after `through`): notified once it is.
                    deferred.push(format!("vest {grant} {date}: its income falls after {through}"));
                    continue;
                }
                let Some(first) = lines.first() else {
                    // No income at this vest (taxed when granted: a §83(b) election): nothing withheld.
                    out.push(Draft {
                        cause: format!("seq:{}", e.seq),
                        kind: "vest",
                        person: Some(holder.to_owned()),
                        admins: false,
                        subject: format!("Vested on {date}: {amount_s} (grant {grant})"),
                        text: format!(
                            "Hello {name},\n\nYour grant {grant} vested on {date}: {amount_s}.\n\
                             It was taxed when granted, so this vest is no income and nothing is withheld.\n"
                        ),
                        data: json!({"grant": grant, "person": holder, "date": date.to_string(),
                                     "amount": amount.to_string(), "amount_display": amount_s,
                                     "currency": null, "income": null, "income_display": null,
                                     "tax": null, "tax_display": null}),
                    });
                    continue;
                };
                let currency = first.currency;
                let gross: Decimal = lines.iter().map(|i| i.gross()).sum();
                let tax: Decimal = lines.iter().map(|i| i.withholding.employee_total()).sum();
                let (gross_s, tax_s) = (fiat_display(currency, gross), fiat_display(currency, tax));
                let price_s = fiat_display(currency, first.price);
                out.push(Draft {
                    cause: format!("seq:{}", e.seq),
                    kind: "vest",
                    person: Some(holder.to_owned()),
                    admins: false,
                    subject: format!("Vested on {date}: {amount_s} (grant {grant})"),
                    text: format!(
                        "Hello {name},\n\nYour grant {grant} vested on {date}: {amount_s}.\n\
                         Income: {gross_s} at {price_s} per token.\n\
                         Tax withheld: {tax_s}.\n"
                    ),
                    data: json!({"grant": grant, "person": holder, "date": date.to_string(),
                                 "amount": amount.to_string(), "amount_display": amount_s,
                                 "currency": currency.to_string(), "income": gross.to_string(),
                                 "income_display": gross_s, "tax": tax.to_string(), "tax_display": tax_s}),
                });
            }
            EventKind::Attestation if str_of(&v, "status") == "accepted" => {
                let date = day_of(e);
                if !after_since(date) || date > through {
                    continue;
                }
                let milestone = str_of(&v, "milestone");
                let subject = str_of(&v, "subject");
                let grants: Vec<String> = match company.milestones.get(milestone) {
                    Some(t) if !t.grants.is_empty() => t.grants.clone(),
                    _ => vec![subject.trim_start_matches("grant:").to_owned()],
                };
                let holders: BTreeSet<&str> = grants.iter().filter_map(|g| grant_holder(company, g)).collect();
                for holder in holders {
                    let mine: Vec<&str> = grants
                        .iter()
                        .filter(|g| grant_holder(company, g) == Some(holder))
                        .map(String::as_str)
                        .collect();
                    out.push(Draft {
                        cause: format!("seq:{}", e.seq),
                        kind: "milestone",
                        person: Some(holder.to_owned()),
                        admins: false,
                        subject: format!("Milestone {milestone} applied"),
                        text: format!(
                            "Hello {name},\n\nMilestone {milestone} was met and applied on {date} to grant {}.\n",
                            mine.join(", "),
                            name = person_name(company, holder)
                        ),
                        data: json!({"milestone": milestone, "person": holder, "grants": mine,
                                     "date": date.to_string(), "value": str_of(&v, "met_value")}),
                    });
                }
            }
            EventKind::PayrollClosed => {
                let date = day_of(e);
                if !after_since(date) || date > through {
                    continue;
                }
                let period = str_of(&v, "period");
                out.push(Draft {
                    cause: format!("seq:{}", e.seq),
                    kind: "period_closed",
                    person: None,
                    admins: true,
                    subject: format!("Period {period} closed"),
                    text: format!("Payroll period {period} was closed on {date}; its export is frozen.\n"),
                    data: json!({"period": period, "date": date.to_string(), "digest": str_of(&v, "digest")}),
                });
            }
            _ => {}
        }
    }
    if cfg.upcoming_days > 0 {
        let horizon =
            through.checked_add(i32::from(cfg.upcoming_days).days()).map_err(|e| Error::invalid(e, "upcoming_days"))?;
        for (id, timeline) in crate::payroll::timelines(company, horizon)? {
            let Some(holder) = grant_holder(company, &id) else { continue };
            for t in timeline.tranches.iter().filter(|t| t.date > through && t.date <= horizon) {
                let amount_s = tokens_display(company, t.amount);
                out.push(Draft {
                    cause: format!("upcoming:{id}:{}:{}", t.date, t.reason.as_str()),
                    kind: "upcoming_vest",
                    person: Some(holder.to_owned()),
                    admins: false,
                    subject: format!("Vesting on {}: {amount_s} (grant {id})", t.date),
                    text: format!(
                        "Hello {name},\n\nYour grant {id} vests {amount_s} on {}.\n\
                         Tax will be withheld at that day's price.\n",
                        t.date,
                        name = person_name(company, holder)
                    ),
                    data: json!({"grant": id, "person": holder, "date": t.date.to_string(),
                                 "amount": t.amount.to_string(), "amount_display": amount_s}),
                });
            }
        }
    }
    Ok(out)
}

/// Addresses drafts: an email to the person (when they have an address and want this kind),
/// to each admin (for company-wide notices), and a webhook call to each endpoint that takes
/// the kind.
fn address(
    store: &mut dyn Store,
    company: &Company,
    cfg: &NoticeConfig,
    drafts: Vec<Draft>,
    now: Timestamp,
) -> Result<Vec<NewNotice>> {
    let mut prefs: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
    let mut out = Vec::new();
    let footer = format!("\n-- \n{} (tokencomp)\n", company.company.name);
    for d in drafts {
        let email = |recipient: String, to: &str, out: &mut Vec<NewNotice>| {
            out.push(NewNotice {
                key: key(&d.cause, d.kind, &recipient, "email"),
                kind: d.kind.to_owned(),
                channel: "email".into(),
                recipient,
                address: to.to_owned(),
                subject: d.subject.clone(),
                body: format!("{}{footer}", d.text),
            });
        };
        if cfg.smtp.is_some() {
            if let Some(p) = &d.person
                && let Some(to) = company.people.get(p).and_then(|p| p.email.as_deref())
            {
                if !prefs.contains_key(p) {
                    let got = store.outbox().prefs(p)?.into_iter().collect();
                    prefs.insert(p.clone(), got);
                }
                if prefs.get(p).and_then(|m| m.get(d.kind)).copied().unwrap_or(true) {
                    email(format!("person:{p}"), to, &mut out);
                }
            }
            if d.admins {
                for a in &cfg.admins {
                    email(format!("admin:{a}"), a, &mut out);
                }
            }
        }
        for w in &cfg.webhooks {
            if !w.kinds.is_empty() && !w.kinds.iter().any(|k| k == d.kind) {
                continue;
            }
            let recipient = format!("webhook:{}", w.name);
            let body = json!({"type": format!("tokencomp.{}", d.kind), "timestamp": now.to_string(), "data": d.data});
            out.push(NewNotice {
                key: key(&d.cause, d.kind, &recipient, "webhook"),
                kind: d.kind.to_owned(),
                channel: "webhook".into(),
                recipient,
                address: w.name.clone(),
                subject: d.subject.clone(),
                body: body.to_string(),
            });
        }
    }
    out.retain(|n| n.body.len() <= BODY_MAX);
    Ok(out)
}

/// Puts every notice the ledger calls for through `through` in the outbox (each once).
pub fn enqueue(
    store: &mut dyn Store,
    company: &Company,
    cfg: &NoticeConfig,
    through: Date,
    now: Timestamp,
) -> Result<Outcome> {
    let events = store.events()?;
    let mut outcome = Outcome::default();
    let mut drafts = drafts(company, &events, cfg, through, &mut outcome.deferred)?;
    // Wallet changes (issue 18, item 3): each proof when proven, its cancellation, and its
    // taking effect, to the person and the admins, each once (the change's own id is the cause).
    drafts.extend(crate::wallets::notices(company, now).iter().map(|w| wallet_draft(company, w)));
    let notices = address(store, company, cfg, drafts, now)?;
    outcome.enqueued = store.outbox().enqueue(&notices, now.as_second())?;
    Ok(outcome)
}

fn wallet_draft(company: &Company, w: &crate::wallets::WalletNotice) -> Draft {
    let name = person_name(company, &w.person);
    let (subject, text) = match w.what {
        "proven" => (
            format!("Wallet change for {name}"),
            format!(
                "{name} proved the wallet {} (signed with it). It takes effect at {} unless it is cancelled \
                 before then; if this was not you, cancel it now.\n",
                w.address, w.effective_at
            ),
        ),
        "cancelled" => (
            format!("Wallet change cancelled for {name}"),
            format!("The change of {name}'s wallet to {} was cancelled; nothing changes.\n", w.address),
        ),
        _ => (
            format!("Wallet changed for {name}"),
            format!("From {}, releases to {name} go to the wallet {}.\n", w.effective_at, w.address),
        ),
    };
    Draft {
        cause: w.id.clone(),
        kind: "wallet_change",
        person: Some(w.person.clone()),
        admins: true,
        subject,
        text,
        data: json!({"person": w.person, "what": w.what, "address": w.address,
                     "effective_at": w.effective_at.to_string(), "at": w.at.to_string()}),
    }
}

/// Up to the company's batch of due notices, leased to this scheduler.
pub fn claim(store: &mut dyn Store, cfg: &NoticeConfig, now: Timestamp) -> Result<Vec<Queued>> {
    let now = now.as_second();
    Ok(store.outbox().claim(now, now + LEASE_SECONDS, usize::from(cfg.batch))?)
}

/// The delay before attempt `attempt + 1`, after `attempt` failed: the base doubled per attempt.
pub fn backoff(cfg: &NoticeConfig, attempt: i64) -> Option<i64> {
    if attempt >= i64::from(cfg.max_attempts) {
        return None;
    }
    let shift = u32::try_from(attempt.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    Some(i64::from(cfg.backoff_seconds).saturating_mul(1i64 << shift))
}

/// Logs one attempt at `now` and schedules what follows.
pub fn record(
    store: &mut dyn Store,
    cfg: &NoticeConfig,
    q: &Queued,
    result: std::result::Result<String, String>,
    now: Timestamp,
) -> Result<Delivered> {
    let attempt = q.attempts + 1;
    let (ok, detail) = match result {
        Ok(d) => (true, d),
        Err(d) => (false, d),
    };
    let retry_at = if ok { None } else { backoff(cfg, attempt).map(|s| now.as_second() + s) };
    store
        .outbox()
        .record_attempt(&Attempt { key: q.notice.key.clone(), attempt, at: now.as_second(), ok, detail }, retry_at)?;
    Ok(match (ok, retry_at) {
        (true, _) => Delivered::Sent,
        (false, Some(_)) => Delivered::Retrying,
        (false, None) => Delivered::Failed,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivered {
    Sent,
    Retrying,
    Failed,
}

/// Sends claimed notices (no lock held) and returns each one's result, in order.
pub fn deliver(
    cfg: &NoticeConfig,
    data: &DataDir,
    claimed: &[Queued],
    now: Timestamp,
) -> Vec<std::result::Result<String, String>> {
    claimed.iter().map(|q| send::send(cfg, data, q, now)).collect()
}

/// One scheduler run over a store the caller holds throughout (the CLI's `notify`): enqueue,
/// claim, send, record.
pub fn run(
    store: &mut dyn Store,
    company: &Company,
    data: &DataDir,
    cfg: &NoticeConfig,
    through: Date,
    now: Timestamp,
) -> Result<Outcome> {
    let mut outcome = enqueue(store, company, cfg, through, now)?;
    let claimed = claim(store, cfg, now)?;
    let results = deliver(cfg, data, &claimed, now);
    for (q, r) in claimed.iter().zip(results) {
        match record(store, cfg, q, r, now)? {
            Delivered::Sent => outcome.sent += 1,
            Delivered::Retrying => outcome.retrying += 1,
            Delivered::Failed => outcome.failed += 1,
        }
    }
    Ok(outcome)
}

/// A person's choices: every kind, on unless they turned it off.
pub fn prefs(store: &mut dyn Store, person: &str) -> Result<Vec<(String, bool)>> {
    let set: BTreeMap<String, bool> = store.outbox().prefs(person)?.into_iter().collect();
    Ok(KINDS.iter().map(|k| ((*k).to_owned(), set.get(*k).copied().unwrap_or(true))).collect())
}

/// Sets a person's choices; an unknown kind is refused, naming it.
pub fn set_prefs(store: &mut dyn Store, person: &str, choices: &[(String, bool)]) -> Result<Vec<(String, bool)>> {
    for (k, _) in choices {
        if !KINDS.contains(&k.as_str()) {
            return Err(Error::invalid(format!("`{k}` is none of {}", KINDS.join(", ")), "kind"));
        }
    }
    store.outbox().set_prefs(person, choices)?;
    prefs(store, person)
}

/// Writes a notices file owner-only (the CLI's `notify init` and tests).
pub fn write_config(data: &DataDir, text: &str) -> Result<()> {
    notice_config::parse(text).map_err(|p| Error::Rejected { field: "notices.toml".into(), text: p.join("\n") })?;
    let path = config_path(data);
    tokencomp_store::private::write(&path, text.as_bytes())
        .map_err(|e| Error::internal(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    #[test]
    fn fiat_is_shown_rounded_as_booked_and_grouped() {
        assert_eq!(fiat_display("USD", d("3031.50")), "USD 3,031.50");
        // Half a cent rounds away from zero, as MONEY_ROUNDING books it.
        assert_eq!(fiat_display("USD", d("1234567.005")), "USD 1,234,567.01");
        assert_eq!(fiat_display("EUR", d("-0.004")), "EUR 0.00");
        assert_eq!(fiat_display("EUR", d("-12.5")), "EUR -12.50");
        assert_eq!(fiat_display("GBP", d("999")), "GBP 999.00");
    }

    #[test]
    fn backoff_doubles_and_stops_at_the_bound() {
        let cfg = notice_config::parse("backoff_seconds = 30\nmax_attempts = 4\n").expect("config");
        let delays: Vec<Option<i64>> = (1..=4).map(|a| backoff(&cfg, a)).collect();
        assert_eq!(delays, vec![Some(30), Some(60), Some(120), None]);
    }

    #[test]
    fn the_key_depends_on_every_part_of_the_cause() {
        let k = key("seq:12", "vest", "person:ada", "email");
        assert_eq!(k, key("seq:12", "vest", "person:ada", "email"));
        for other in [
            key("seq:13", "vest", "person:ada", "email"),
            key("seq:12", "milestone", "person:ada", "email"),
            key("seq:12", "vest", "person:ben", "email"),
            key("seq:12", "vest", "person:ada", "webhook"),
        ] {
            assert_ne!(k, other);
        }
    }

    #[test]
    fn the_outbox_keeps_each_notice_once_and_logs_every_attempt() {
        let dir = tempfile::tempdir().expect("dir");
        let mut store = tokencomp_store::sqlite::SqliteStore::open(&dir.path().join("ledger.sqlite")).expect("store");
        let cfg = notice_config::parse("backoff_seconds = 10\nmax_attempts = 2\n").expect("config");
        let n = NewNotice {
            key: key("seq:1", "vest", "webhook:hr", "webhook"),
            kind: "vest".into(),
            channel: "webhook".into(),
            recipient: "webhook:hr".into(),
            address: "hr".into(),
            subject: "s".into(),
            body: "{}".into(),
        };
        let s: &mut dyn Store = &mut store;
        assert_eq!(s.outbox().enqueue(std::slice::from_ref(&n), 100).expect("enqueue"), 1);
        assert_eq!(s.outbox().enqueue(std::slice::from_ref(&n), 200).expect("again"), 0);
        let at = |t: i64| Timestamp::from_second(t).expect("time");
        let claimed = claim(s, &cfg, at(100)).expect("claim");
        assert_eq!(claimed.len(), 1);
        // Leased: a second scheduler finds nothing due.
        assert!(claim(s, &cfg, at(101)).expect("claim").is_empty());
        assert_eq!(record(s, &cfg, &claimed[0], Err("http 500".into()), at(102)).expect("log"), Delivered::Retrying);
        // Due again after the 10 s backoff, not before.
        assert!(claim(s, &cfg, at(111)).expect("claim").is_empty());
        let again = claim(s, &cfg, at(112)).expect("claim");
        assert_eq!(again[0].attempts, 1);
        assert_eq!(record(s, &cfg, &again[0], Err("http 500".into()), at(113)).expect("log"), Delivered::Failed);
        let log = s.outbox().attempts(&n.key).expect("log");
        assert_eq!(
            log.iter().map(|a| (a.attempt, a.at, a.ok)).collect::<Vec<_>>(),
            vec![(1, 102, false), (2, 113, false)]
        );
        assert_eq!(s.outbox().queued(10).expect("queued")[0].state, "failed");
    }

    #[test]
    fn choices_default_on_and_refuse_unknown_kinds() {
        let dir = tempfile::tempdir().expect("dir");
        let mut store = tokencomp_store::sqlite::SqliteStore::open(&dir.path().join("ledger.sqlite")).expect("store");
        let s: &mut dyn Store = &mut store;
        assert!(prefs(s, "ada").expect("prefs").iter().all(|(_, on)| *on));
        let set = set_prefs(s, "ada", &[("vest".into(), false)]).expect("set");
        assert_eq!(set.iter().filter(|(_, on)| !on).map(|(k, _)| k.as_str()).collect::<Vec<_>>(), vec!["vest"]);
        assert!(set_prefs(s, "ada", &[("spam".into(), false)]).is_err());
        assert!(prefs(s, "ben").expect("prefs").iter().all(|(_, on)| *on));
    }
}
