//! `run`, `grants`, `calendar` and `history`.

use std::collections::BTreeMap;

use anyhow::Result;
use clap::Args;
use jiff::civil::Date;
use serde_json::{Value, json};
use tokencomp_core::Timeline;
use tokencomp_store::EventKind as Kind;
use tokencomp_store::Store;
use tokencomp_store::ledger::Company;

use tokencomp_service::ledger::Loaded;

use crate::company::{load, load_all, open_store};
use crate::schedule::parse_as_of;
use crate::{Global, bad_input};

use tokencomp_service::payroll::timelines;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Recognize every vest up to the end of this day (whole periods only).
    #[arg(long)]
    pub through: String,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs every open period through `through` (see [`tokencomp_service::payroll::run_through`]),
/// with a progress bar unless `progress` is off: `(periods, events)`.
pub fn run_through(
    store: &mut dyn Store,
    known: Option<&Loaded>,
    through: Date,
    by: &tokencomp_service::ledger::Stamp,
    progress: bool,
) -> Result<(usize, usize)> {
    let bar = if progress {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} periods {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        b.set_prefix("run");
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let done = tokencomp_service::payroll::run_through(store, known, through, by, &mut |p| {
        bar.set_length(p.total as u64);
        bar.set_message(p.period.clone());
        bar.set_position(p.done as u64);
    })?;
    bar.finish_and_clear();
    Ok((done.periods, done.events))
}

pub fn run(g: &Global, args: &RunArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let loaded = load_all(&mut *store)?;
    let through = parse_as_of(Some(&args.through), &loaded.company()?.company.time_zone, None)?;
    let (periods, events) = run_through(&mut *store, Some(&loaded), through, &g.stamp(), !args.quiet)?;
    if periods == 0 {
        crate::outln!("nothing to run: every complete period through {through} is recorded");
    } else {
        crate::outln!("ran {periods} period(s) through {through}: {events} events recorded");
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct GrantsArgs {
    #[arg(long)]
    pub person: Option<String>,
    #[arg(long)]
    pub as_of: Option<String>,
    #[arg(long)]
    pub json: bool,
}

fn token_json(c: &Company) -> Value {
    json!({"symbol": c.token.token.symbol(), "decimals": c.token.token.decimals()})
}

pub fn grants(g: &Global, args: &GrantsArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let as_of = parse_as_of(args.as_of.as_deref(), &company.company.time_zone, None)?;
    if let Some(p) = &args.person
        && !company.people.contains_key(p)
    {
        return Err(bad_input(format!("no person has id `{p}`"), "--person"));
    }
    let tl = timelines(&company, as_of)?;
    let token = &company.token.token;
    let rows: Vec<(&String, &Timeline)> = tl
        .iter()
        .filter(|(id, _)| args.person.as_ref().is_none_or(|p| company.grants[*id].terms.grant.holder == *p))
        .collect();
    if args.json {
        let grants: Vec<Value> = rows
            .iter()
            .map(|(id, t)| {
                let p = t.position(as_of);
                let rec = &company.grants[*id];
                json!({"id": id, "holder": rec.terms.grant.holder, "grant_date": rec.terms.grant_date.to_string(),
                       "granted": p.granted.to_string(), "vested": p.vested.to_string(),
                       "unvested": p.unvested.to_string(), "forfeited": p.forfeited.to_string(),
                       "pending": t.pending.to_string()})
            })
            .collect();
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(
                &json!({"token": token_json(&company), "as_of": as_of.to_string(), "grants": grants})
            )?
        );
        return Ok(());
    }
    let f = |a| token.format_display(a, 2);
    crate::outln!("{} grants as of {as_of} ({})", rows.len(), token.symbol());
    crate::outln!(
        "{:<28} {:<12} {:>18} {:>18} {:>18} {:>18}",
        "grant",
        "holder",
        "granted",
        "vested",
        "unvested",
        "forfeited"
    );
    for (id, t) in rows {
        let p = t.position(as_of);
        let holder = &company.grants[id].terms.grant.holder;
        crate::outln!(
            "{id:<28} {holder:<12} {:>18} {:>18} {:>18} {:>18}",
            f(p.granted),
            f(p.vested),
            f(p.unvested),
            f(p.forfeited)
        );
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct CalendarArgs {
    #[arg(long)]
    pub from: Date,
    #[arg(long)]
    pub to: Date,
    #[arg(long)]
    pub json: bool,
}

pub fn calendar(g: &Global, args: &CalendarArgs) -> Result<()> {
    if args.to < args.from {
        return Err(bad_input("--to is before --from", "--to"));
    }
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let tl = timelines(&company, args.to)?;
    let token = &company.token.token;
    // (date, person, grant, amount, reason)
    let mut rows = Vec::new();
    for (id, t) in &tl {
        let holder = &company.grants[id].terms.grant.holder;
        for x in t.tranches.iter().filter(|x| x.date >= args.from && x.date <= args.to) {
            rows.push((x.date, holder.clone(), id.clone(), x.amount, x.reason.as_str()));
        }
    }
    rows.sort();
    // Checked sums: a ledger whose grants add up past u128 is refused when recorded, but a
    // total is never allowed to wrap or panic (issue 15 item 18).
    let overflow = |what: &str| anyhow::anyhow!("the calendar's {what} overflows 128 bits of base units");
    let mut per_person: BTreeMap<&str, u128> = BTreeMap::new();
    let mut total = 0u128;
    for r in &rows {
        let slot = per_person.entry(r.1.as_str()).or_insert(0);
        *slot = slot.checked_add(r.3.base_units()).ok_or_else(|| overflow(&format!("total for {}", r.1)))?;
        total = total.checked_add(r.3.base_units()).ok_or_else(|| overflow("total"))?;
    }
    let amt = |u: u128| tokencomp_money::TokenAmount::from_base_units(u);
    if args.json {
        let vests: Vec<Value> = rows
            .iter()
            .map(|r| json!({"date": r.0.to_string(), "holder": r.1, "grant": r.2, "amount": r.3.to_string(), "reason": r.4}))
            .collect();
        let people: Vec<Value> =
            per_person.iter().map(|(p, a)| json!({"holder": p, "amount": amt(*a).to_string()})).collect();
        let doc = json!({"token": token_json(&company), "from": args.from.to_string(), "to": args.to.to_string(),
                         "vests": vests, "per_person": people, "total": amt(total).to_string()});
        crate::outln!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    let f = |u: u128| token.format_display(amt(u), 2);
    crate::outln!("vests from {} to {} ({})", args.from, args.to, token.symbol());
    for r in &rows {
        crate::outln!("{}  {:<12} {:<28} {:>18}  {}", r.0, r.1, r.2, token.format_display(r.3, 2), r.4);
    }
    crate::outln!("\nper person");
    for (p, a) in &per_person {
        crate::outln!("  {p:<12} {:>18}", f(*a));
    }
    crate::outln!("  {:<12} {:>18}", "total", f(total));
    Ok(())
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    pub grant: String,
    #[arg(long)]
    pub json: bool,
}

pub fn history(g: &Global, args: &HistoryArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    if !company.grants.contains_key(&args.grant) {
        return Err(bad_input(format!("no grant has id `{}`", args.grant), "GRANT"));
    }
    let events = store.events_for(&tokencomp_store::Subject::Grant(args.grant.clone()))?;
    if args.json {
        let list: Vec<Value> = events
            .iter()
            .map(|e| {
                json!({"seq": e.seq, "id": e.event.id, "kind": e.event.kind.as_str(), "actor": e.event.actor,
                       "recorded_at": e.recorded_at.to_string(), "amount": e.event.amount.map(|a| a.to_string()),
                       "payload": serde_json::from_str::<Value>(&e.event.payload).unwrap_or(Value::Null), "hash": e.hash})
            })
            .collect();
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&json!({"token": token_json(&company), "grant": args.grant, "events": list}))?
        );
        return Ok(());
    }
    let token = &company.token.token;
    crate::outln!("history of {} ({} events)", args.grant, events.len());
    for e in &events {
        let amount = e.event.amount.map(|a| format!(" {} {}", token.format(a), token.symbol())).unwrap_or_default();
        let v: Value = serde_json::from_str(&e.event.payload).unwrap_or(Value::Null);
        let detail = match e.event.kind {
            Kind::Vest | Kind::VestReversal | Kind::Forfeiture => format!(
                "{} {} (period {})",
                v["date"].as_str().unwrap_or(""),
                v["reason"].as_str().unwrap_or(""),
                v["period"].as_str().unwrap_or("")
            ),
            Kind::GrantEvent | Kind::GrantEventReversed => v["event_id"].as_str().unwrap_or("").to_owned(),
            // Which attestation moved which tokens: its digest, signer, value, and the event it
            // became (or why it was refused).
            Kind::Attestation => {
                let outcome = match v["status"].as_str() {
                    Some("accepted") => format!("accepted -> {}", v["event_id"].as_str().unwrap_or("")),
                    _ => format!("rejected: {}", v["reason"].as_str().unwrap_or("")),
                };
                format!(
                    "{} digest {} oracle {} value {} {outcome}",
                    v["milestone"].as_str().unwrap_or(""),
                    v["digest"].as_str().unwrap_or(""),
                    v["signer"].as_str().unwrap_or("?"),
                    crate::oracle::value_text(v["value"].as_str().unwrap_or(""))
                )
            }
            _ => String::new(),
        };
        crate::outln!(
            "#{:<6} {}  {:<22} {:<16} {detail}{amount}",
            e.seq,
            e.recorded_at.strftime("%Y-%m-%d %H:%M:%S"),
            e.event.kind.as_str(),
            e.event.actor
        );
    }
    Ok(())
}
