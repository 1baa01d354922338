//! `tokencomp rules add FILE` and `rules list` (the tax rules in force and where each value came
//! from), and `tokencomp periods` (each pay period with the hash of the rules its run used):
//! flags in, the service's rules use cases out.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use serde_json::Value;
use tokencomp_formats::tax_rules::Origin;
use tokencomp_service::ledger::decode;

use crate::Global;
use crate::company::{load, load_all, open_store};

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// Record a rules file (TOML in the shipped table's shape, each table with its `source`):
    /// its values override the shipped ones at their exact paths. Every problem refuses it and
    /// nothing is recorded; the same file again changes nothing.
    Add {
        /// The rules file.
        file: PathBuf,
    },
    /// Every value in force with where it came from (shipped file:line, or the recorded file's
    /// ledger seq, actor and time) and its source.
    List {
        /// Only this year (the calendar year; for the UK, the year the tax year starts).
        #[arg(long)]
        year: Option<i16>,
        /// Only this jurisdiction (`us`, `uk`).
        #[arg(long)]
        jurisdiction: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(g: &Global, cmd: &RulesCommand) -> Result<()> {
    match cmd {
        RulesCommand::Add { file } => {
            let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            let name = file.display().to_string();
            let text = decode(&name, &bytes)?;
            let mut store = open_store(g)?;
            let loaded = load_all(&mut *store)?;
            let added = tokencomp_service::rules::add(&mut *store, Some(&loaded), &name, text, &g.stamp())?;
            let years: Vec<String> = added.years.iter().map(|(j, y)| format!("{j}.{y}")).collect();
            if added.recorded {
                crate::outln!(
                    "recorded rules {name}: {} value(s) for {} (sha256 {})",
                    added.values,
                    years.join(", "),
                    added.sha256
                );
            } else {
                crate::outln!("rules {name} are already in force (sha256 {}); nothing recorded", added.sha256);
            }
            Ok(())
        }
        RulesCommand::List { year, jurisdiction, json } => {
            let mut store = open_store(g)?;
            let company = load(&mut *store)?;
            let values = tokencomp_service::rules::list(&company, *year, jurisdiction.as_deref())?;
            if *json {
                let items: Vec<Value> = values.iter().map(|v| v.to_json()).collect();
                crate::outln!("{:#}", Value::Array(items));
                return Ok(());
            }
            for v in &values {
                let origin = match &v.origin {
                    Origin::Shipped { file, line } => format!("{file}:{line}"),
                    Origin::Recorded { seq, actor, at, file, line } => {
                        format!("recorded seq {seq} by {actor} at {at} ({file}:{line})")
                    }
                };
                crate::outln!("{} = {}\t{}\t{}", v.path, v.value, origin, v.source);
            }
            Ok(())
        }
    }
}

#[derive(Args, Debug)]
pub struct PeriodsArgs {
    /// List periods through this day (default: today in the company's zone).
    #[arg(long)]
    pub through: Option<String>,
    #[arg(long)]
    pub json: bool,
}

/// The company calendar's periods through today: run, closed, and the rules hash of the run.
pub fn periods(g: &Global, args: &PeriodsArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let through = match &args.through {
        Some(text) => text
            .parse::<jiff::civil::Date>()
            .map_err(|_| crate::bad_input(format!("`{text}` is not a date (YYYY-MM-DD)"), "--through"))?,
        None => jiff::Timestamp::now().to_zoned_datetime(company.company.time_zone.clone()).date(),
    };
    let list = tokencomp_service::payroll::periods(&company, through);
    if args.json {
        let items: Vec<Value> = list.iter().map(|p| p.to_json()).collect();
        crate::outln!("{:#}", Value::Array(items));
        return Ok(());
    }
    for p in &list {
        let state = match (p.run, p.closed) {
            (_, true) => "closed",
            (true, false) => "run",
            (false, false) => "open",
        };
        crate::outln!("{}\t{}..{}\t{state}\trules {}", p.id, p.start, p.end, p.rules.as_deref().unwrap_or("-"));
    }
    Ok(())
}
