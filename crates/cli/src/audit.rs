//! `tokencomp audit`: the ledger's events newest first, filtered by actor, kind, subject and
//! record days as the web's audit view filters them, each with its hash and whether the chain
//! verifies up to it; `--csv` writes the same CSV as `GET /api/ledger/events.csv`, `--json` the
//! items the API lists. The work is `tokencomp_service::audit`'s; this parses and prints.

use anyhow::Result;
use clap::Args;
use jiff::civil::Date;
use serde_json::json;
use tokencomp_service::audit::{self, AuditQuery};
use tokencomp_store::Subject;

use crate::company::{load, open_store};
use crate::{Global, bad_input};

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Only events recorded by this actor (`user:NAME`, `key:ID`, `oracle:ID`, `system`). The
    /// global `--actor` says who is acting, so the filter has its own name.
    #[arg(long, value_name = "ACTOR")]
    pub by: Option<String>,
    /// Only events of this kind (`grant.issued`, `vest`, `period.run`, `price`, …).
    #[arg(long)]
    pub kind: Option<String>,
    /// Only events about this subject (`grant:ID`, `person:ID`, `period:ID`, `price:DATE`, `company`, …).
    #[arg(long)]
    pub subject: Option<String>,
    /// Only events recorded on or after this day (YYYY-MM-DD, the company's time zone).
    #[arg(long)]
    pub since: Option<String>,
    /// Only events recorded on or before this day (YYYY-MM-DD, the company's time zone).
    #[arg(long)]
    pub until: Option<String>,
    /// At most this many events (the table's default is 50; `--csv` and `--json` list every one).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Write the filtered list as CSV (RFC 4180), the file the web's export button downloads.
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// Print the events as JSON.
    #[arg(long)]
    pub json: bool,
}

fn day(text: Option<&str>, flag: &str) -> Result<Option<Date>> {
    text.map(|s| s.parse::<Date>().map_err(|_| bad_input(format!("`{s}` is not a date (YYYY-MM-DD)"), flag)))
        .transpose()
}

pub fn run(g: &Global, args: &AuditArgs) -> Result<()> {
    let wanted = AuditQuery {
        actor: args.by.as_deref().map(|a| audit::filter_text(a, "--by")).transpose()?,
        kind: args.kind.as_deref().map(|k| audit::kind(k, "--kind")).transpose()?,
        subject: args
            .subject
            .as_deref()
            .map(|s| audit::filter_text(s, "--subject"))
            .transpose()?
            .map(|s| Subject::parse(&s)),
        since: day(args.since.as_deref(), "--since")?,
        until: day(args.until.as_deref(), "--until")?,
    };
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let filter = wanted.filter(&company.company.time_zone, "--until")?;
    audit::known(&mut *store, &wanted, "--by", "--subject")?;
    let token = &company.token.token;
    if args.csv && args.limit.is_none() {
        return Ok(audit::write_csv(&mut *store, &filter, token, &mut |text| {
            crate::out(format_args!("{text}"));
            Ok(())
        })?);
    }
    let whole = args.csv || args.json;
    let limit = args.limit.unwrap_or(if whole { usize::MAX } else { 50 });
    let chain = audit::chain(&mut *store)?;
    let page = audit::page(&mut *store, &filter, None, limit, Some(chain.clone()))?;
    if args.csv {
        let mut text = String::from(audit::CSV_HEADER);
        for e in &page.events {
            audit::csv_line(e, token, &mut text);
        }
        crate::out(format_args!("{text}"));
        return Ok(());
    }
    if args.json {
        let items: Vec<_> = page
            .events
            .iter()
            .map(|e| {
                let s = &e.stored;
                json!({"seq": s.seq, "id": s.event.id, "kind": s.event.kind.as_str(), "subject": s.event.subject,
                       "actor": s.event.actor, "recorded_at": s.recorded_at.to_string(),
                       "amount": s.event.amount.map(|a| a.to_string()),
                       "payload": serde_json::from_str::<serde_json::Value>(&s.event.payload).unwrap_or_default(),
                       "prev_hash": s.prev_hash, "hash": s.hash, "chain_ok": e.chain_ok})
            })
            .collect();
        crate::outln!("{}", serde_json::to_string_pretty(&json!({"items": items}))?);
        return Ok(());
    }
    match &chain.broken {
        None => crate::outln!("hash chain: verifies through event {}", chain.verified_through),
        Some(b) => crate::outln!("hash chain: BROKEN at event {} ({}): {}", b.seq, b.id, b.reason),
    }
    crate::outln!(
        "{:>7}  {:<24}  {:<20}  {:<28}  {:<16}  {:<12}  chain",
        "seq",
        "recorded",
        "kind",
        "subject",
        "actor",
        "hash"
    );
    for e in &page.events {
        let s = &e.stored;
        let hash = s.hash.get(..12).unwrap_or(&s.hash);
        let ok = if e.chain_ok == Some(true) { "ok" } else { "BROKEN" };
        crate::outln!(
            "{:>7}  {:<24}  {:<20}  {:<28}  {:<16}  {:<12}  {ok}",
            s.seq,
            s.recorded_at.to_string(),
            s.event.kind.as_str(),
            s.event.subject,
            s.event.actor,
            hash
        );
    }
    let more = if page.next_below.is_some() { " (more: raise --limit or narrow the filters)" } else { "" };
    crate::outln!("{} events, newest first{more}", page.events.len());
    Ok(())
}
