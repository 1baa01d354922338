//! Loading a company into the ledger: `init`, `apply`, `import`, and single grant actions.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use jiff::Timestamp;
use jiff::civil::Date;
use tokencomp_core::canonical::{write_event, write_terms};
use tokencomp_core::company::{CompanyFile, GrantPolicy, GrantSize, GrantTerms};
use tokencomp_core::grant::{Acceleration, EventKind, GrantEvent, MilestoneEffect, TerminationCause, Trigger};
use tokencomp_core::schedule::{Allocation, Calendar, DayOfMonth, Period, Schedule};
use tokencomp_core::tokenomics;
use tokencomp_money::TokenAmount;
use tokencomp_store::ledger::{Company, Fact, FoldError};
use tokencomp_store::postgres::PostgresStore;
use tokencomp_store::sqlite::SqliteStore;
use tokencomp_store::{Appended, NewEvent, Store, StoreError, StoredEvent};

use crate::schedule::{load_company_text, report};
use crate::{BadInput, Global, bad_input};

/// The SQLite ledger's file name inside the data directory.
pub const LEDGER_FILE: &str = "ledger.sqlite";

/// Opens the company's ledger: PostgreSQL when `--database` names one, else the SQLite file in
/// the data directory (created on first use). `Send`, so `serve` can hand it to its threads.
pub fn open_store(g: &Global) -> Result<Box<dyn Store + Send>> {
    match &g.database {
        Some(url) => Ok(Box::new(PostgresStore::connect(url).context("connecting to PostgreSQL")?)),
        None => {
            std::fs::create_dir_all(&g.data).with_context(|| format!("creating {}", g.data.display()))?;
            let path = g.data.join(LEDGER_FILE);
            Ok(Box::new(SqliteStore::open(&path).with_context(|| format!("opening {}", path.display()))?))
        }
    }
}

/// Folds the ledger into the company's state.
pub fn load(store: &mut dyn Store) -> Result<Company> {
    let events = store.events()?;
    match Company::fold(&events) {
        Ok(c) => Ok(c),
        Err(FoldError::Empty) => {
            Err(bad_input("the data directory has no company yet", "run `tokencomp init FILE` first"))
        }
        Err(e) => Err(anyhow::Error::new(e)),
    }
}

/// Appends facts as one transaction; a conflicting event is bad input (exit 2) and nothing is
/// written.
pub fn record(store: &mut dyn Store, facts: &[Fact], actor: &str) -> Result<Appended> {
    let events: Vec<_> = facts.iter().map(|f| f.to_event(actor)).collect();
    check_team_budget(store, &events, facts)?;
    match store.append(&events, Timestamp::now()) {
        Ok(a) => Ok(a),
        Err(e @ StoreError::Conflict { .. }) => Err(bad_input(e, &store.describe())),
        Err(e) => Err(e.into()),
    }
}

/// Whether a fact can change what grants claim from the team pool, or the pool itself.
fn touches_budget(f: &Fact) -> bool {
    matches!(
        f,
        Fact::GrantIssued { .. }
            | Fact::GrantCorrected { .. }
            | Fact::GrantEvent { .. }
            | Fact::GrantEventReversed { .. }
            | Fact::Tokenomics { .. }
    )
}

/// Per grant, what it claims from the team pool: granted minus forfeited. A grant whose
/// timeline cannot be built claims its whole amount.
fn claims(c: &Company) -> BTreeMap<String, u128> {
    let tz = &c.company.time_zone;
    c.grants
        .iter()
        .map(|(id, r)| {
            let g = &r.terms.grant;
            let claim = g.timeline(tz, None).ok().and_then(|t| tokenomics::outstanding(&t));
            (id.clone(), claim.unwrap_or(g.amount.base_units()))
        })
        .collect()
}

fn excess(c: &Company) -> u128 {
    let Some(t) = &c.tokenomics else { return 0 };
    let outstanding = claims(c).values().fold(0u128, |a, v| a.saturating_add(*v));
    tokenomics::team_budget(t, outstanding).map_or(0, |b| b.excess().base_units())
}

/// The team budget, checked in one place for every command that records grants (init, apply,
/// grant add, import grants, lifecycle events): the ledger as it would be after `events` is
/// folded, and a batch that takes the grants further past the team bucket than they already
/// were is refused (exit 2, nothing written), naming the first grant that crosses. A company
/// without `[tokenomics]` has no budget.
fn check_team_budget(store: &mut dyn Store, events: &[NewEvent], facts: &[Fact]) -> Result<()> {
    if !facts.iter().any(touches_budget) {
        return Ok(());
    }
    let before = store.events()?;
    let mut ids: BTreeSet<String> = before.iter().map(|e| e.event.id.clone()).collect();
    let mut after = before.clone();
    let mut seq = before.last().map_or(0, |e| e.seq);
    for e in events {
        if ids.insert(e.id.clone()) {
            seq += 1;
            after.push(StoredEvent {
                seq,
                event: e.clone(),
                recorded_at: Timestamp::UNIX_EPOCH,
                prev_hash: String::new(),
                hash: String::new(),
            });
        }
    }
    // A batch that does not fold is refused elsewhere or was never a budget question.
    let Ok(new) = Company::fold(&after) else { return Ok(()) };
    let Some(t) = &new.tokenomics else { return Ok(()) };
    let old_excess = Company::fold(&before).map_or(0, |c| excess(&c));
    let new_claims = claims(&new);
    let total = new_claims.values().fold(0u128, |a, v| a.saturating_add(*v));
    let budget = tokenomics::team_budget(t, total).map_err(|e| bad_input(e, "[tokenomics]"))?;
    if budget.excess().base_units() == 0 || budget.excess().base_units() <= old_excess {
        return Ok(());
    }
    let token = &new.token.token;
    let fmt = |u: u128| format!("{} {}", token.format(TokenAmount::from_base_units(u)), token.symbol());
    let allocation = budget.allocation.base_units();
    let location = format!("team budget (tokenomics bucket `{}`)", budget.bucket);
    let mut touched: Vec<&str> = Vec::new();
    for f in facts {
        let id = match f {
            Fact::GrantIssued { grant, .. }
            | Fact::GrantCorrected { grant, .. }
            | Fact::GrantEvent { grant, .. }
            | Fact::GrantEventReversed { grant, .. } => grant.as_str(),
            _ => continue,
        };
        if !touched.contains(&id) {
            touched.push(id);
        }
    }
    let mut base = new_claims
        .iter()
        .filter(|(id, _)| !touched.contains(&id.as_str()))
        .fold(0u128, |a, (_, v)| a.saturating_add(*v));
    for id in touched {
        let claim = new_claims.get(id).copied().unwrap_or(0);
        if base.saturating_add(claim) > allocation {
            return Err(bad_input(
                format!(
                    "grant `{id}` of {} would exceed the team budget: {} remain of the {} in bucket `{}` ({} already granted and not forfeited)",
                    fmt(claim),
                    fmt(allocation.saturating_sub(base)),
                    fmt(allocation),
                    budget.bucket,
                    fmt(base)
                ),
                &location,
            ));
        }
        base = base.saturating_add(claim);
    }
    Err(bad_input(
        format!(
            "the team bucket `{}` of {} is smaller than the {} already granted and not forfeited",
            budget.bucket,
            fmt(allocation),
            fmt(total)
        ),
        &location,
    ))
}

#[derive(Args, Debug)]
pub struct FileArgs {
    /// The company file (TOML).
    pub file: PathBuf,
}

fn read_file(path: &Path) -> Result<CompanyFile> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    load_company_text(&path.display().to_string(), &text)
}

/// The facts a grant's terms and events amount to.
pub fn grant_facts(terms: &GrantTerms, token: &tokencomp_money::Token) -> Vec<Fact> {
    let g = &terms.grant;
    let mut bare = terms.clone();
    bare.grant.events.clear();
    let mut facts =
        vec![Fact::GrantIssued { grant: g.id.clone(), holder: g.holder.clone(), terms: write_terms(&bare, token) }];
    for e in &g.events {
        facts.push(Fact::GrantEvent { grant: g.id.clone(), event_id: e.id.clone(), event: write_event(e, token) });
    }
    facts
}

/// Everything a company file says, as facts.
pub fn file_facts(file: &CompanyFile) -> Vec<Fact> {
    let mut facts = vec![Fact::Company(file.company.clone()), Fact::Token(file.token.clone())];
    facts.extend(file.people.iter().cloned().map(Fact::Person));
    facts.extend(file.prices.iter().cloned().map(Fact::Price));
    facts.extend(file.fx.iter().copied().map(Fact::FxRate));
    for g in &file.grants {
        facts.extend(grant_facts(g, &file.token.token));
    }
    facts.extend(tokenomics_fact(file));
    facts.extend(milestone_facts(file));
    facts
}

/// The `[[milestone]]` terms as facts (content-addressed: unchanged terms are no new event).
fn milestone_facts(file: &CompanyFile) -> Vec<Fact> {
    file.milestones
        .iter()
        .map(|m| Fact::Milestone { id: m.milestone.id.clone(), terms: tokencomp_core::canonical::write_milestone(m) })
        .collect()
}

/// The `[tokenomics]` section as a fact, when the file has one.
fn tokenomics_fact(file: &CompanyFile) -> Option<Fact> {
    let t = file.tokenomics.as_ref()?;
    Some(Fact::Tokenomics { terms: tokencomp_core::canonical::write_tokenomics(t, &file.token.token) })
}

pub fn init(g: &Global, args: &FileArgs) -> Result<()> {
    let file = read_file(&args.file)?;
    let mut store = open_store(g)?;
    init_with(&mut *store, &file, &g.actor())?;
    crate::outln!(
        "initialized {} in {}: {} people, {} grants",
        file.company.name,
        store.describe(),
        file.people.len(),
        file.grants.len()
    );
    Ok(())
}

pub fn init_with(store: &mut dyn Store, file: &CompanyFile, actor: &str) -> Result<Appended> {
    if store.len()? > 0 {
        return Err(bad_input(
            "this data directory already has a company",
            "use `tokencomp apply FILE` to record changes",
        ));
    }
    record(store, &file_facts(file), actor)
}

/// What changed between the ledger and a company file, as new events.
pub fn diff(company: &Company, file: &CompanyFile, file_name: &str) -> Result<Vec<Fact>> {
    if company.token.token != file.token.token {
        return Err(bad_input(
            format!(
                "the token is {} with {} decimals in the ledger; a company cannot change its token's decimals or symbol",
                company.token.token.symbol(),
                company.token.token.decimals()
            ),
            &format!("{file_name} (token)"),
        ));
    }
    let token = &file.token.token;
    let mut facts = vec![Fact::Company(file.company.clone()), Fact::Token(file.token.clone())];
    facts.extend(file.people.iter().cloned().map(Fact::Person));
    facts.extend(file.prices.iter().cloned().map(Fact::Price));
    facts.extend(file.fx.iter().copied().map(Fact::FxRate));
    let mut problems = Vec::new();
    for terms in &file.grants {
        let g = &terms.grant;
        let Some(rec) = company.grants.get(&g.id) else {
            facts.extend(grant_facts(terms, token));
            continue;
        };
        let mut bare = terms.clone();
        bare.grant.events.clear();
        let toml = write_terms(&bare, token);
        if toml != rec.terms_toml {
            facts.push(Fact::GrantCorrected { grant: g.id.clone(), holder: g.holder.clone(), terms: toml });
        }
        let in_file: BTreeMap<&str, String> = g.events.iter().map(|e| (e.id.as_str(), write_event(e, token))).collect();
        for (id, stored) in &rec.events {
            match in_file.get(id.as_str()) {
                None => facts.push(Fact::GrantEventReversed { grant: g.id.clone(), event_id: id.clone() }),
                Some(t) if t != stored => problems.push(format!(
                    "event `{id}` of grant `{}` changed; recorded events are immutable: remove it (it is reversed) and add the corrected one under a new id",
                    g.id
                )),
                Some(_) => {}
            }
        }
        for e in &g.events {
            if !rec.events.iter().any(|(id, _)| id == &e.id) {
                facts.push(Fact::GrantEvent {
                    grant: g.id.clone(),
                    event_id: e.id.clone(),
                    event: in_file[e.id.as_str()].clone(),
                });
            }
        }
    }
    facts.extend(tokenomics_fact(file));
    facts.extend(milestone_facts(file));
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("error: {p}\n  --> {file_name}");
        }
        return Err(anyhow::Error::new(BadInput::default()));
    }
    Ok(facts)
}

pub fn apply(g: &Global, args: &FileArgs) -> Result<()> {
    let file = read_file(&args.file)?;
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let facts = diff(&company, &file, &args.file.display().to_string())?;
    let a = record(&mut *store, &facts, &g.actor())?;
    crate::outln!("applied {}: {} new events ({} unchanged)", args.file.display(), a.new, a.existing);
    Ok(())
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ImportKind {
    People,
    Grants,
    Prices,
    /// Daily FX rates: `date,currency,per_usd` (units of the currency per 1 USD).
    Fx,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    pub kind: ImportKind,
    /// The CSV file.
    pub file: PathBuf,
}

pub fn import(g: &Global, args: &ImportArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let name = args.file.display().to_string();
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let a = import_text(&mut *store, &company, args.kind, &name, &text, &g.actor())?;
    crate::outln!("imported {name}: {} new events ({} unchanged)", a.new, a.existing);
    Ok(())
}

pub fn import_text(
    store: &mut dyn Store,
    company: &Company,
    kind: ImportKind,
    name: &str,
    text: &str,
    actor: &str,
) -> Result<Appended> {
    use tokencomp_core::import;
    let facts: Vec<Fact> = match kind {
        ImportKind::People => {
            import::parse_people(name, text).map_err(|d| report(&d))?.into_iter().map(Fact::Person).collect()
        }
        ImportKind::Prices => {
            import::parse_prices(name, text).map_err(|d| report(&d))?.into_iter().map(Fact::Price).collect()
        }
        ImportKind::Fx => import::parse_fx(name, text).map_err(|d| report(&d))?.into_iter().map(Fact::FxRate).collect(),
        ImportKind::Grants => {
            let grants = import::parse_grants(
                name,
                text,
                &company.token.token,
                &company.company.time_zone,
                &company.prices_vec(),
            )
            .map_err(|d| report(&d))?;
            let mut facts = Vec::new();
            let mut diags = Vec::new();
            for terms in &grants {
                if !company.people.is_empty() && !company.people.contains_key(&terms.grant.holder) {
                    diags.push(tokencomp_core::diag::Diagnostic::new(
                        name,
                        Some("holder".to_owned()),
                        format!("grant `{}`: no person has id `{}`", terms.grant.id, terms.grant.holder),
                    ));
                }
                facts.extend(grant_facts(terms, &company.token.token));
            }
            if !diags.is_empty() {
                return Err(report(&diags));
            }
            facts
        }
    };
    record(store, &facts, actor)
}

#[derive(Subcommand, Debug)]
pub enum GrantCommand {
    /// Issue a grant: monthly vesting from a start date.
    Add(AddArgs),
    /// End employment on a date (vests on or before it stand; the rest is forfeited).
    Terminate(TerminateArgs),
    /// A leave of absence: vesting pauses and later vests move by its length.
    Leave(LeaveArgs),
    /// A change of control, for one grant or all of them.
    ChangeOfControl(CocArgs),
    /// A milestone reached.
    Milestone(MilestoneArgs),
}

#[derive(Args, Debug)]
pub struct AddArgs {
    #[arg(long)]
    pub id: String,
    #[arg(long)]
    pub holder: String,
    /// Whole tokens, exact (e.g. 48000 or 1.5).
    #[arg(long)]
    pub amount: String,
    #[arg(long)]
    pub start: Date,
    #[arg(long, default_value_t = 48)]
    pub months: u32,
    #[arg(long, default_value_t = 12)]
    pub cliff_months: u32,
    /// The grant date (defaults to the start).
    #[arg(long)]
    pub grant_date: Option<Date>,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
#[allow(clippy::enum_variant_names)] // the names are the CLI values: without-cause, for-cause
pub enum Cause {
    Voluntary,
    WithoutCause,
    GoodReason,
    ForCause,
    DeathOrDisability,
}

#[derive(Args, Debug)]
pub struct TerminateArgs {
    pub grant: String,
    /// The last day of employment.
    #[arg(long)]
    pub date: Date,
    #[arg(long, value_enum, default_value = "voluntary")]
    pub cause: Cause,
    #[arg(long, conflicts_with = "accelerate_percent")]
    pub accelerate_months: Option<u32>,
    /// A percentage with at most two decimals, e.g. 50 or 12.5.
    #[arg(long)]
    pub accelerate_percent: Option<String>,
    /// The event id (defaults to one derived from the action and date).
    #[arg(long)]
    pub event_id: Option<String>,
}

#[derive(Args, Debug)]
pub struct LeaveArgs {
    pub grant: String,
    #[arg(long)]
    pub from: Date,
    /// The first day back.
    #[arg(long)]
    pub until: Date,
    #[arg(long)]
    pub event_id: Option<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum TriggerKind {
    Single,
    Double,
}

#[derive(Args, Debug)]
pub struct CocArgs {
    /// A grant id, or `all` for every grant not ended.
    pub grant: String,
    #[arg(long)]
    pub date: Date,
    #[arg(long, value_enum)]
    pub trigger: TriggerKind,
    #[arg(long)]
    pub percent: String,
    #[arg(long, required_if_eq("trigger", "double"))]
    pub window_months: Option<u32>,
    #[arg(long)]
    pub event_id: Option<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum EffectKind {
    Unlock,
    PullForward,
    Scale,
}

#[derive(Args, Debug)]
pub struct MilestoneArgs {
    pub grant: String,
    #[arg(long)]
    pub date: Date,
    #[arg(long, value_enum)]
    pub effect: EffectKind,
    #[arg(long)]
    pub tranche: Option<String>,
    #[arg(long)]
    pub periods: Option<u32>,
    #[arg(long)]
    pub percent: Option<String>,
    #[arg(long)]
    pub event_id: Option<String>,
}

/// "12.5" → 1250 basis points (at most two decimals, at most `max`).
fn bps(s: &str, flag: &str, max: u32) -> Result<u32> {
    match tokencomp_core::company::percent_to_bps(s) {
        Some(b) if b <= max => Ok(b),
        _ => {
            Err(bad_input(format!("`{s}` is not a percentage from 0 to {} with at most two decimals", max / 100), flag))
        }
    }
}

/// Adds one lifecycle event to a grant after checking the whole lifecycle still folds.
fn add_event(g: &Global, grant_id: &str, event: GrantEvent) -> Result<()> {
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let ids: Vec<String> = if grant_id == "all" {
        company.grants.keys().cloned().collect()
    } else if company.grants.contains_key(grant_id) {
        vec![grant_id.to_owned()]
    } else {
        return Err(bad_input(format!("no grant has id `{grant_id}`"), "GRANT"));
    };
    let mut facts = Vec::new();
    for id in ids {
        let rec = &company.grants[&id];
        let mut grant = rec.terms.grant.clone();
        let check = grant.check_new_event(&event).and_then(|()| {
            grant.events.push(event.clone());
            grant.timeline(&company.company.time_zone, None)
        });
        match check {
            Ok(_) => {}
            Err(e) if grant_id == "all" && matches!(e, tokencomp_core::GrantError::AfterEnd { .. }) => continue,
            Err(e) => return Err(bad_input(e, &format!("grant {id}"))),
        }
        facts.push(Fact::GrantEvent {
            grant: id,
            event_id: event.id.clone(),
            event: write_event(&event, &company.token.token),
        });
    }
    let a = record(&mut *store, &facts, &g.actor())?;
    crate::outln!("recorded `{}` on {} grant(s) ({} new events)", event.id, facts.len(), a.new);
    Ok(())
}

pub fn grant(g: &Global, cmd: &GrantCommand) -> Result<()> {
    match cmd {
        GrantCommand::Add(a) => {
            let mut store = open_store(g)?;
            let company = load(&mut *store)?;
            let token = &company.token.token;
            let amount = token.parse(&a.amount).map_err(|e| bad_input(e, "--amount"))?;
            if !company.people.contains_key(&a.holder) {
                return Err(bad_input(format!("no person has id `{}`", a.holder), "--holder"));
            }
            let schedule = Calendar::new(
                a.start,
                Period::Months(1),
                a.months,
                a.cliff_months,
                DayOfMonth::VestingStartDayOrLast,
                Allocation::CumulativeRoundDown,
            )
            .map_err(|e| bad_input(e, "--months/--cliff-months"))?;
            let terms = GrantTerms {
                grant: tokencomp_core::Grant {
                    id: a.id.clone(),
                    holder: a.holder.clone(),
                    amount,
                    schedule: Schedule::Calendar(schedule),
                    performance: vec![],
                    events: vec![],
                },
                grant_date: a.grant_date.unwrap_or(a.start),
                size: GrantSize::Tokens,
                policy: GrantPolicy::default(),
            };
            let r = record(&mut *store, &grant_facts(&terms, token), &g.actor())?;
            if r.new == 0 {
                crate::outln!("grant {} already recorded with these terms", a.id);
            } else {
                crate::outln!("issued grant {} to {}", a.id, a.holder);
            }
            Ok(())
        }
        GrantCommand::Terminate(t) => {
            let cause = match t.cause {
                Cause::Voluntary => TerminationCause::Voluntary,
                Cause::WithoutCause => TerminationCause::WithoutCause,
                Cause::GoodReason => TerminationCause::GoodReason,
                Cause::ForCause => TerminationCause::ForCause,
                Cause::DeathOrDisability => TerminationCause::DeathOrDisability,
            };
            let acceleration = match (&t.accelerate_months, &t.accelerate_percent) {
                (Some(m), _) => Some(Acceleration::Months(*m)),
                (None, Some(p)) => Some(Acceleration::Percent { bps: bps(p, "--accelerate-percent", 10_000)? }),
                (None, None) => None,
            };
            let id = t.event_id.clone().unwrap_or_else(|| format!("termination-{}", t.date));
            add_event(
                g,
                &t.grant,
                GrantEvent { id, date: t.date, kind: EventKind::Termination { cause, acceleration } },
            )
        }
        GrantCommand::Leave(l) => {
            let id = l.event_id.clone().unwrap_or_else(|| format!("leave-{}", l.from));
            add_event(g, &l.grant, GrantEvent { id, date: l.from, kind: EventKind::Leave { until: l.until } })
        }
        GrantCommand::ChangeOfControl(c) => {
            let b = bps(&c.percent, "--percent", 10_000)?;
            let trigger = match c.trigger {
                TriggerKind::Single => Trigger::Single { bps: b },
                TriggerKind::Double => Trigger::Double { bps: b, window_months: c.window_months.unwrap_or(12) },
            };
            let id = c.event_id.clone().unwrap_or_else(|| format!("change-of-control-{}", c.date));
            add_event(g, &c.grant, GrantEvent { id, date: c.date, kind: EventKind::ChangeOfControl { trigger } })
        }
        GrantCommand::Milestone(m) => {
            let need = |v: &Option<String>, flag: &str| {
                v.clone().ok_or_else(|| bad_input(format!("{flag} is required for this effect"), flag))
            };
            let effect = match m.effect {
                EffectKind::Unlock => MilestoneEffect::Unlock { tranche: need(&m.tranche, "--tranche")? },
                EffectKind::PullForward => MilestoneEffect::PullForward {
                    periods: m
                        .periods
                        .ok_or_else(|| bad_input("--periods is required for pull-forward", "--periods"))?,
                },
                EffectKind::Scale => MilestoneEffect::Scale {
                    tranche: need(&m.tranche, "--tranche")?,
                    bps: bps(&need(&m.percent, "--percent")?, "--percent", 20_000)?,
                },
            };
            let id = m.event_id.clone().unwrap_or_else(|| format!("milestone-{}", m.date));
            add_event(g, &m.grant, GrantEvent { id, date: m.date, kind: EventKind::Milestone { effect } })
        }
    }
}
