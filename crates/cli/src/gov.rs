//! `tokencomp gov …`: voting power snapshots, delegation, proposals, ballots and tallies.
//!
//! Every write is checked by `tokencomp_store::gov::validate_gov` (the same check the HTTP API
//! makes) before it is recorded; a refusal is bad input (exit 2) naming the flag, and nothing
//! is written. Reads fold the ledger and compute with `tokencomp_core::governance`.

use anyhow::Result;
use clap::{Args, Subcommand};
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Value, json};
use tokencomp_core::governance::{Choice, FULL_BPS, GovError, Proposal, Snapshot, Tally, final_ballots};
use tokencomp_money::TokenAmount;
use tokencomp_store::Store;
use tokencomp_store::gov::{holdings, snapshot_on, tally_for};
use tokencomp_store::ledger::{Company, Fact};

use tokencomp_service::ledger::Loaded;

use crate::company::{load, load_all, open_store};
use crate::{Global, bad_input};
use tokencomp_service::ledger::Stamp;

#[derive(Subcommand, Debug)]
pub enum GovCommand {
    /// Voting power on a date: each holder's own balance (vested plus weighted unvested) and
    /// the power delegation leaves them.
    Power(PowerArgs),
    /// Delegate a person's voting power to another from a date on (chains are followed to the
    /// end; a delegation that would make a cycle is refused).
    Delegate(DelegateArgs),
    /// Revoke a person's delegation from a date on.
    Undelegate(UndelegateArgs),
    /// Put a proposal to the holders: a snapshot date, a voting window and a quorum.
    Propose(ProposeArgs),
    /// Every proposal and where it stands.
    Proposals(ProposalsArgs),
    /// Cast a ballot (a later ballot of the same voter replaces it until voting closes).
    Vote(VoteArgs),
    /// Count a proposal's ballots.
    Tally(TallyArgs),
}

#[derive(Args, Debug)]
pub struct PowerArgs {
    /// The snapshot date (balances at the end of that day in the company's time zone).
    #[arg(long)]
    pub date: Date,
    /// The weight on unvested balances, in basis points (0 to 10000).
    #[arg(long = "unvested-weight", value_name = "BPS", default_value_t = 0)]
    pub unvested_weight: u32,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DelegateArgs {
    /// The person delegating.
    #[arg(long)]
    pub from: String,
    /// The person who votes with the delegated power.
    #[arg(long)]
    pub to: String,
    /// In force from this date on (default: today in the company's time zone).
    #[arg(long)]
    pub effective: Option<Date>,
}

#[derive(Args, Debug)]
pub struct UndelegateArgs {
    #[arg(long)]
    pub from: String,
    /// Revoked from this date on (default: today in the company's time zone).
    #[arg(long)]
    pub effective: Option<Date>,
}

#[derive(Args, Debug)]
pub struct ProposeArgs {
    /// The proposal's id: ASCII letters, digits, `.`, `_` and `-`.
    #[arg(long)]
    pub id: String,
    #[arg(long)]
    pub title: String,
    #[arg(long, default_value = "")]
    pub description: String,
    /// The date whose balances and delegations give the voting power.
    #[arg(long)]
    pub snapshot: Date,
    /// Voting opens at this instant (RFC 3339).
    #[arg(long)]
    pub opens: Timestamp,
    /// Voting closes at this instant (RFC 3339; a ballot at it is too late).
    #[arg(long)]
    pub closes: Timestamp,
    /// The turnout needed, abstentions included, in basis points of the snapshot's total.
    #[arg(long = "quorum-bps", default_value_t = 2000)]
    pub quorum_bps: u32,
    /// The weight on unvested balances, in basis points.
    #[arg(long = "unvested-weight", value_name = "BPS", default_value_t = 0)]
    pub unvested_weight: u32,
}

#[derive(Args, Debug)]
pub struct ProposalsArgs {
    /// Where each proposal stands at this instant (RFC 3339; default now).
    #[arg(long)]
    pub at: Option<Timestamp>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct VoteArgs {
    #[arg(long)]
    pub proposal: String,
    #[arg(long)]
    pub voter: String,
    /// for, against or abstain.
    #[arg(long)]
    pub choice: Choice,
    /// When the ballot is cast (RFC 3339; default now); only with --override-clock.
    #[arg(long)]
    pub at: Option<Timestamp>,
    /// Cast the ballot at --at instead of now (development chains only): a past instant could
    /// otherwise change a closed vote.
    #[arg(long, requires = "at")]
    pub override_clock: bool,
}

#[derive(Args, Debug)]
pub struct TallyArgs {
    /// The proposal's id.
    pub id: String,
    /// Count as of this instant (RFC 3339; default now).
    #[arg(long)]
    pub at: Option<Timestamp>,
    #[arg(long)]
    pub json: bool,
}

pub fn run(g: &Global, cmd: &GovCommand) -> Result<()> {
    match cmd {
        GovCommand::Power(a) => power(g, a),
        GovCommand::Delegate(a) => {
            let fact = |c: &Company| Fact::Delegation {
                from: a.from.clone(),
                to: Some(a.to.clone()),
                effective: a.effective.unwrap_or_else(|| today(c)),
            };
            delegation(g, fact, &a.from)
        }
        GovCommand::Undelegate(a) => {
            let fact = |c: &Company| Fact::Delegation {
                from: a.from.clone(),
                to: None,
                effective: a.effective.unwrap_or_else(|| today(c)),
            };
            delegation(g, fact, &a.from)
        }
        GovCommand::Propose(a) => propose(g, a),
        GovCommand::Proposals(a) => proposals(g, a),
        GovCommand::Vote(a) => vote(g, a),
        GovCommand::Tally(a) => tally_cmd(g, a),
    }
}

fn today(c: &Company) -> Date {
    Timestamp::now().to_zoned_datetime(c.company.time_zone.clone()).date()
}

fn token_json(c: &Company) -> Value {
    json!({"symbol": c.token.token.symbol(), "decimals": c.token.token.decimals()})
}

/// A governance error as the CLI reports it: a refusal of the input names `flag` (exit 2); one
/// that says the ledger's balances cannot be computed is a failure of the run (exit 1).
fn refuse(e: GovError, flag: &str) -> anyhow::Error {
    anyhow::Error::new(tokencomp_service::gov::refuse(e, flag))
}

/// Validates one governance fact under the write lock and records it (see
/// [`tokencomp_service::gov::validate_and_record`]): whether anything new was written.
fn validate_and_record(
    store: &mut dyn Store,
    known: &Loaded,
    fact: Fact,
    at: Timestamp,
    by: &Stamp,
    flag: impl Fn(&GovError) -> &'static str,
) -> Result<bool> {
    Ok(tokencomp_service::gov::validate_and_record(store, known, fact, at, by, flag)?)
}

fn delegation(g: &Global, fact: impl Fn(&Company) -> Fact, from: &str) -> Result<()> {
    let mut store = open_store(g)?;
    let loaded = load_all(&mut *store)?;
    let fact = fact(loaded.company()?);
    let Fact::Delegation { effective, .. } = &fact else { anyhow::bail!("not a delegation") };
    let effective = *effective;
    let flag = |e: &GovError| match e {
        GovError::UnknownHolder { holder } if holder == from => "--from",
        GovError::NotDelegated { .. } => "--from",
        GovError::Backdated { .. } | GovError::TooFarAhead { .. } | GovError::SnapshotTaken { .. } => "--effective",
        _ => "--to",
    };
    let by = g.stamp();
    let new = validate_and_record(&mut *store, &loaded, fact, by.at, &by, flag)?;
    let company = load(&mut *store)?;
    let in_force = company.governance.delegations_on(effective);
    let now = match in_force.get(from) {
        Some(to) => format!("{from} delegates to {to} from {effective}"),
        None => format!("{from} votes their own power from {effective}"),
    };
    if new {
        crate::outln!("recorded: {now}");
    } else {
        crate::outln!("already recorded, nothing written: {now}");
    }
    Ok(())
}

fn propose(g: &Global, a: &ProposeArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let loaded = load_all(&mut *store)?;
    loaded.company()?;
    let p = Proposal {
        id: a.id.clone(),
        title: a.title.clone(),
        description: a.description.clone(),
        snapshot_date: a.snapshot,
        opens: a.opens,
        closes: a.closes,
        quorum_bps: a.quorum_bps,
        unvested_weight_bps: a.unvested_weight,
    };
    let flag = |e: &GovError| match e {
        GovError::Empty { field: "title" } => "--title",
        GovError::BadWindow { .. } => "--closes",
        GovError::BadQuorum { .. } => "--quorum-bps",
        GovError::BadWeight { .. } => "--unvested-weight",
        GovError::SnapshotAfterOpen { .. } => "--snapshot",
        _ => "--id",
    };
    let by = g.stamp();
    let new = validate_and_record(&mut *store, &loaded, Fact::Proposal(p.clone()), by.at, &by, flag)?;
    let verb = if new { "recorded" } else { "already recorded, nothing written:" };
    crate::outln!(
        "{verb} proposal {} (snapshot {}, voting {} until {}, quorum {})",
        p.id,
        p.snapshot_date,
        p.opens,
        p.closes,
        percent(p.quorum_bps)
    );
    Ok(())
}

fn vote(g: &Global, a: &VoteArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let loaded = load_all(&mut *store)?;
    if a.at.is_some() && !a.override_clock {
        return Err(bad_input(
            "`vote --at` casts the ballot at another time than now, which could change a closed vote; pass --override-clock to do so on a development chain",
            "--at",
        ));
    }
    if a.override_clock {
        tokencomp_service::oracle::development_chain_only(loaded.company()?, &[], "--override-clock")?;
    }
    let by = g.stamp();
    let at = a.at.unwrap_or(by.at);
    let fact = Fact::Ballot { proposal: a.proposal.clone(), voter: a.voter.clone(), choice: a.choice, cast_at: at };
    let flag = |e: &GovError| match e {
        GovError::UnknownProposal { .. } => "--proposal",
        GovError::NotOpen { .. } | GovError::CastAt { .. } => "--at",
        _ => "--voter",
    };
    let new = validate_and_record(&mut *store, &loaded, fact, at, &by, flag)?;
    let verb = if new { "recorded" } else { "already recorded, nothing written:" };
    crate::outln!("{verb} {} votes {} on {} at {at}", a.voter, a.choice, a.proposal);
    Ok(())
}

/// `1234` bps as `12.34%`.
fn percent(bps: u32) -> String {
    format!("{}.{:02}%", bps / 100, bps % 100)
}

fn power(g: &Global, a: &PowerArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    if a.unvested_weight > FULL_BPS {
        return Err(bad_input(GovError::BadWeight { bps: a.unvested_weight }, "--unvested-weight"));
    }
    let held = holdings(&company, a.date).map_err(|e| refuse(e, "--date"))?;
    let snap = snapshot_on(&company, a.date, a.unvested_weight).map_err(|e| refuse(e, "--date"))?;
    let direct = company.governance.delegations_on(a.date);
    let balance = |holder: &str| {
        held.iter()
            .find(|h| h.holder == holder)
            .map_or((TokenAmount::ZERO, TokenAmount::ZERO), |h| (h.vested, h.unvested))
    };
    if a.json {
        let holders: Vec<Value> = snap
            .own
            .iter()
            .map(|(holder, own)| {
                let (vested, unvested) = balance(holder);
                json!({"holder": holder, "vested": vested.to_string(), "unvested": unvested.to_string(),
                       "own": own.to_string(), "power": snap.power.get(holder).copied().unwrap_or_default().to_string(),
                       "delegate": direct.get(holder), "final_delegate": snap.delegates.get(holder)})
            })
            .collect();
        let doc = json!({"token": token_json(&company), "date": a.date.to_string(),
                         "unvested_weight_bps": a.unvested_weight, "total": snap.total.to_string(),
                         "holders": holders});
        crate::outln!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    let token = &company.token.token;
    let f = |x: TokenAmount| token.format_display(x, 2);
    crate::outln!("voting power on {} ({}; unvested weighted {})", a.date, token.symbol(), percent(a.unvested_weight));
    crate::outln!("{:<12} {:>18} {:>18} {:>18} {:>18}  delegates to", "holder", "vested", "unvested", "own", "power");
    for (holder, own) in &snap.own {
        let (vested, unvested) = balance(holder);
        let to = match (direct.get(holder), snap.delegates.get(holder)) {
            (Some(d), Some(end)) if d != end => format!("{d} (-> {end})"),
            (_, Some(end)) => end.clone(),
            _ => String::new(),
        };
        let power = snap.power.get(holder).copied().unwrap_or_default();
        crate::outln!("{holder:<12} {:>18} {:>18} {:>18} {:>18}  {to}", f(vested), f(unvested), f(*own), f(power));
    }
    crate::outln!("{:<12} {:>18} {:>18} {:>18} {:>18}", "total", "", "", "", f(snap.total));
    Ok(())
}

/// A proposal's terms as JSON.
fn proposal_json(p: &Proposal) -> Value {
    json!({"id": p.id, "title": p.title, "description": p.description, "snapshot_date": p.snapshot_date.to_string(),
           "opens": p.opens.to_string(), "closes": p.closes.to_string(), "quorum_bps": p.quorum_bps,
           "unvested_weight_bps": p.unvested_weight_bps})
}

/// A tally's counts as JSON (amounts as base-unit strings).
fn tally_json(t: &Tally) -> Value {
    json!({"status": t.status.as_str(), "outcome": t.outcome.as_str(), "for": t.for_.to_string(),
           "against": t.against.to_string(), "abstain": t.abstain.to_string(), "voters": t.voters,
           "total": t.total.to_string(), "turnout": t.turnout.to_string(), "quorum": t.quorum.to_string(),
           "quorum_reached": t.quorum_reached})
}

fn proposals(g: &Global, a: &ProposalsArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let at = a.at.unwrap_or_else(Timestamp::now);
    let mut rows = Vec::new();
    for (id, p) in &company.governance.proposals {
        let (_, t) = tally_for(&company, id, at)?;
        rows.push((p, t));
    }
    if a.json {
        let list: Vec<Value> = rows
            .iter()
            .map(|(p, t)| {
                let mut v = proposal_json(p);
                if let (Value::Object(m), Value::Object(counts)) = (&mut v, tally_json(t)) {
                    m.insert("tally".into(), Value::Object(counts));
                }
                v
            })
            .collect();
        let doc = json!({"token": token_json(&company), "at": at.to_string(), "proposals": list});
        crate::outln!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    let token = &company.token.token;
    crate::outln!("{} proposal(s) at {at}", rows.len());
    for (p, t) in &rows {
        crate::outln!(
            "{:<24} {:<8} {:<10} {} .. {}  turnout {} of quorum {} {}  {}",
            p.id,
            t.status.as_str(),
            t.outcome.as_str(),
            p.opens,
            p.closes,
            token.format_display(t.turnout, 0),
            token.format_display(t.quorum, 0),
            token.symbol(),
            p.title
        );
    }
    Ok(())
}

fn tally_cmd(g: &Global, a: &TallyArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let at = a.at.unwrap_or_else(Timestamp::now);
    let (snap, t) = tally_for(&company, &a.id, at).map_err(|e| refuse(e, "ID"))?;
    let gov = &company.governance;
    // `tally_for` found the proposal.
    let p = &gov.proposals[&a.id];
    let all = gov.ballots.get(&a.id).map_or(&[][..], Vec::as_slice);
    let counted = final_ballots(p, all, at);
    let weight = |voter: &str| snap.power.get(voter).copied().unwrap_or_default();
    if a.json {
        let ballots: Vec<Value> = counted
            .iter()
            .filter(|(voter, _)| !weight(voter).is_zero())
            .map(|(voter, b)| {
                json!({"voter": voter, "choice": b.choice.as_str(), "cast_at": b.cast_at.to_string(),
                       "power": weight(voter).to_string()})
            })
            .collect();
        let mut doc = json!({"token": token_json(&company), "at": at.to_string(), "proposal": proposal_json(p),
                             "ballots": ballots, "ballots_recorded": all.len()});
        if let (Value::Object(m), Value::Object(counts)) = (&mut doc, tally_json(&t)) {
            m.extend(counts);
        }
        crate::outln!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    print_tally(&company, p, &snap, &t, &counted, at);
    Ok(())
}

fn print_tally(
    company: &Company,
    p: &Proposal,
    snap: &Snapshot,
    t: &Tally,
    counted: &std::collections::BTreeMap<&str, &tokencomp_core::governance::Ballot>,
    at: Timestamp,
) {
    let token = &company.token.token;
    let f = |x: TokenAmount| format!("{} {}", token.format_display(x, 2), token.symbol());
    crate::outln!("proposal {}: {}", p.id, p.title);
    if !p.description.is_empty() {
        crate::outln!("  {}", p.description);
    }
    crate::outln!(
        "  snapshot {} (unvested weighted {}), voting {} until {}, quorum {}",
        p.snapshot_date,
        percent(p.unvested_weight_bps),
        p.opens,
        p.closes,
        percent(p.quorum_bps)
    );
    crate::outln!("  at {at}: {}, {}", t.status.as_str(), t.outcome.as_str());
    crate::outln!("  for      {:>24}", f(t.for_));
    crate::outln!("  against  {:>24}", f(t.against));
    crate::outln!("  abstain  {:>24}", f(t.abstain));
    let reached = if t.quorum_reached { "reached" } else { "not reached" };
    crate::outln!("  turnout  {:>24} of {} (quorum {}, {reached})", f(t.turnout), f(t.total), f(t.quorum));
    crate::outln!("  voters   {:>24}", t.voters);
    for (voter, b) in counted {
        let power = snap.power.get(*voter).copied().unwrap_or_default();
        if !power.is_zero() {
            crate::outln!("    {voter:<12} {:<8} {}  {}", b.choice.as_str(), b.cast_at, f(power));
        }
    }
}
