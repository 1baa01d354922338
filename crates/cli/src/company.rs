//! Loading a company into the ledger: `init`, `apply`, `import`, and single grant actions. The
//! rules every write keeps are the service's (`tokencomp_service::ledger`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use jiff::civil::Date;
use tokencomp_core::grant::{Acceleration, EventKind, GrantEvent, MilestoneEffect, TerminationCause, Trigger};
use tokencomp_core::model::CompanyFile;
use tokencomp_store::Store;
use tokencomp_store::ledger::Company;

use tokencomp_service::ledger::{Loaded, decode, import_text, init_with, record_checked};
use tokencomp_store::ledger::origin::Origin;

use crate::{Global, bad_input};

/// Opens the company's ledger (see [`tokencomp_service::ledger::open_store`]).
pub fn open_store(g: &Global) -> Result<Box<dyn Store + Send>> {
    Ok(tokencomp_service::ledger::open_store(&g.dir(), g.database.as_deref())?)
}

/// Reads and folds the whole ledger.
pub fn load_all(store: &mut dyn Store) -> Result<Loaded> {
    Ok(tokencomp_service::ledger::load_all(store)?)
}

/// Folds the ledger into the company's state.
pub fn load(store: &mut dyn Store) -> Result<Company> {
    Ok(tokencomp_service::ledger::load(store)?)
}

#[derive(Args, Debug)]
pub struct FileArgs {
    /// The company file (TOML).
    pub file: PathBuf,
}

/// Reads a company file to record beside the ledger's people (`recorded`; empty for `init`).
fn read_file(path: &Path, recorded: &std::collections::BTreeSet<String>) -> Result<CompanyFile> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path.display().to_string();
    Ok(tokencomp_service::ledger::parse_company_for(&name, decode(&name, &bytes)?, recorded)?)
}

pub fn init(g: &Global, args: &FileArgs) -> Result<()> {
    let file = read_file(&args.file, &Default::default())?;
    let mut store = open_store(g)?;
    let by = g.stamp().from(Origin::File(args.file.display().to_string()));
    init_with(&mut *store, &file, &by)?;
    crate::outln!(
        "initialized {} in {}: {} people, {} grants",
        file.company.name,
        store.describe(),
        file.people.len(),
        file.grants.len()
    );
    Ok(())
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// The company file (TOML).
    pub file: PathBuf,
    /// Print the plan and record nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Reverse every recorded lifecycle event of the file's grants that the file does not
    /// list, also those recorded from the command line or the API (by default only the ones
    /// the file recorded, and those a grant lists under `reverse = [...]`).
    #[arg(long)]
    pub reverse_unlisted: bool,
}

pub fn apply(g: &Global, args: &ApplyArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let loaded = load_all(&mut *store)?;
    let people = loaded.company()?.people.keys().cloned().collect();
    let file = read_file(&args.file, &people)?;
    let name = args.file.display().to_string();
    let options = tokencomp_service::apply::Options { dry_run: args.dry_run, reverse_unlisted: args.reverse_unlisted };
    // The plan is made again under the write lock, from the ledger as it stands.
    let (plan, appended) = tokencomp_service::apply::apply(&mut *store, &loaded, &file, &name, &g.stamp(), options)?;
    crate::out(format_args!("{}", plan.render()));
    match appended {
        Some(a) => crate::outln!("applied {name}: {} new events ({} unchanged)", a.new, a.existing),
        None => crate::outln!("dry run: nothing was recorded"),
    }
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
    let bytes = std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let name = args.file.display().to_string();
    let text = decode(&name, &bytes)?;
    let mut store = open_store(g)?;
    let loaded = load_all(&mut *store)?;
    loaded.company()?;
    let a = import_text(&mut *store, Some(&loaded), args.kind.into(), &name, text, &g.stamp())?;
    crate::outln!("imported {name}: {} new events ({} unchanged)", a.new, a.existing);
    Ok(())
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

impl AddArgs {
    fn request(&self) -> tokencomp_service::ledger::AddGrant {
        tokencomp_service::ledger::AddGrant {
            id: self.id.clone(),
            holder: self.holder.clone(),
            amount: self.amount.clone(),
            start: self.start,
            months: self.months,
            cliff_months: self.cliff_months,
            grant_date: self.grant_date,
        }
    }
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
    match tokencomp_formats::company::percent_to_bps(s) {
        Some(b) if b <= max => Ok(b),
        _ => {
            Err(bad_input(format!("`{s}` is not a percentage from 0 to {} with at most two decimals", max / 100), flag))
        }
    }
}

/// Adds one lifecycle event to a grant after checking the whole lifecycle still folds.
fn add_event(g: &Global, grant_id: &str, event: GrantEvent) -> Result<()> {
    let mut store = open_store(g)?;
    let loaded = load_all(&mut *store)?;
    loaded.company()?;
    let (a, count) =
        tokencomp_service::ledger::record_grant_event(&mut *store, Some(&loaded), &g.stamp(), grant_id, &event)?;
    crate::outln!("recorded `{}` on {count} grant(s) ({} new events)", event.id, a.new);
    Ok(())
}

pub fn grant(g: &Global, cmd: &GrantCommand) -> Result<()> {
    match cmd {
        GrantCommand::Add(a) => {
            let mut store = open_store(g)?;
            let loaded = load_all(&mut *store)?;
            loaded.company()?;
            // The holder, the amount and the team budget are checked under the write lock: two
            // `grant add`s at once cannot both fit into what only one of them fits.
            let (r, ()) = record_checked(&mut *store, &g.stamp(), Some(&loaded), |l| {
                let facts = tokencomp_service::ledger::add_facts(l.company()?, &a.request())?;
                Ok::<_, tokencomp_service::Error>((facts, ()))
            })?;
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

impl From<ImportKind> for tokencomp_service::ledger::ImportKind {
    fn from(k: ImportKind) -> Self {
        match k {
            ImportKind::People => Self::People,
            ImportKind::Grants => Self::Grants,
            ImportKind::Prices => Self::Prices,
            ImportKind::Fx => Self::Fx,
        }
    }
}
