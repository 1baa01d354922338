//! The `tokencomp` command-line tool.
//!
//! Exit codes (docs/interfaces.md#errors): 0 ok, 1 the run failed, 2 bad input (with every problem of the
//! input printed as `error: …` / `  --> file:line:column (field)`).

mod audit;
mod chain;
mod company;
mod compliance;
mod demo;
mod docs;
mod gov;
mod notify;
mod ops;
mod oracle;
mod queries;
mod risk;
mod rules;
mod schedule;
mod serve;
mod svg;
mod yearend;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Token compensation: exact vesting, on-chain releases, tax and books.
#[derive(Parser, Debug)]
#[command(name = "tokencomp", version, about)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Where the company lives and who is acting.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// The data directory (one company per directory).
    #[arg(long, global = true, env = "TOKENCOMP_DATA", default_value = "tokencomp-data")]
    pub data: PathBuf,
    /// A PostgreSQL database for the ledger instead of the SQLite file in the data directory.
    #[arg(long, global = true, env = "TOKENCOMP_DATABASE")]
    pub database: Option<String>,
    /// Who is acting, recorded on every event: `user:NAME`, `key:ID` or `system`.
    #[arg(long, global = true, env = "TOKENCOMP_ACTOR")]
    pub actor: Option<String>,
}

impl Global {
    /// The data directory, every file of it named by [`tokencomp_service::DataDir`].
    pub fn dir(&self) -> tokencomp_service::DataDir {
        tokencomp_service::DataDir::new(self.data.clone())
    }

    pub fn actor(&self) -> String {
        self.actor.clone().unwrap_or_else(|| match std::env::var("USER") {
            Ok(u) if !u.is_empty() => format!("user:{u}"),
            _ => "system".to_owned(),
        })
    }

    /// Who records this command's writes, and when: the actor, now (the one clock read a write
    /// takes; the service reads none).
    pub fn stamp(&self) -> tokencomp_service::ledger::Stamp {
        tokencomp_service::ledger::Stamp::new(self.actor(), jiff::Timestamp::now())
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print every grant's vesting schedule from a company file (TOML) or an OCF package folder.
    Schedule(schedule::ScheduleArgs),
    /// Load the sample company into a fresh data directory, run every period through its demo
    /// date, and print a summary.
    Demo(demo::DemoArgs),
    /// Create the company in the data directory from a company file.
    Init(company::FileArgs),
    /// Record what changed in a company file as new events (never edits), printing the plan
    /// first: what is added, corrected (field, old → new), reversed or kept.
    Apply(company::ApplyArgs),
    /// Import people, grants, prices or FX rates from CSV (all or nothing).
    Import(company::ImportArgs),
    /// Single actions on grants.
    #[command(subcommand)]
    Grant(company::GrantCommand),
    /// Recognize every vest up to a date, period by period (idempotent).
    Run(queries::RunArgs),
    /// Grants and where they stand.
    Grants(queries::GrantsArgs),
    /// Upcoming vests per person and in total.
    Calendar(queries::CalendarArgs),
    /// Every event behind a grant's numbers, with actors.
    History(queries::HistoryArgs),
    /// The ledger's events newest first, filtered by actor (--by), kind, subject and record days,
    /// with hashes and whether the chain verifies up to each; --csv writes the web's export.
    Audit(audit::AuditArgs),
    /// The period's payroll export (CSV), or `payroll close --period ID` to freeze it.
    Payroll(compliance::PayrollArgs),
    /// The tax rules in force: `rules add FILE` records a rules file, `rules list` shows every
    /// value with where it came from.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// Pay periods: run, closed, and the hash of the rules each run used.
    Periods(rules::PeriodsArgs),
    /// Correct a recorded price.
    #[command(subcommand)]
    Price(compliance::PriceCommand),
    /// Record a sale of tokens from a person's wallet, matched to lots.
    Sell(compliance::SellArgs),
    /// Journals for the company's books or a person's lots and gains: CSV, beancount, hledger.
    Books(compliance::BooksArgs),
    /// Award units and compensation expense: opening, granted, vested, forfeited, closing.
    Rollforward(compliance::RollforwardArgs),
    /// A person's year: income, withholding, lots, disposals and gains.
    TaxReport(compliance::TaxReportArgs),
    /// The year's forms: W-2, 1099-NEC, P60 and FPS, corrections (W-2c, EYU) and sales with their
    /// lots, one CSV per form plus year-end.json, checked against the payroll rows.
    YearEnd(yearend::YearEndArgs),
    /// The grants on a chain: deploy, fund, push-grants, post-withholding, release, sync,
    /// reconcile (the embedded chain by default, `--rpc URL` for a node).
    #[command(subcommand)]
    Chain(chain::ChainCommand),
    /// The token's supply by month from `[tokenomics]`: buckets, emissions, burns, the unlock
    /// calendar and the team budget, with SVG charts.
    Tokenomics(risk::TokenomicsArgs),
    /// What a package is worth under volatility (GBM, Merton or bootstrap Monte Carlo), the
    /// floor's cost as a strip of puts, the liquidity illusion of selling unlocks into a pool,
    /// and token vs equity.
    Simulate(risk::SimulateArgs),
    /// Grant value across hire cohorts: Gini, max/min, and who is furthest from their cohort.
    Fairness(risk::FairnessArgs),
    /// Milestone attestations: oracle keys and registry, sign a result file, verify, submit.
    #[command(subcommand)]
    Oracle(oracle::OracleCommand),
    /// Governance: voting power snapshots, delegation, proposals, ballots and tallies.
    #[command(subcommand)]
    Gov(gov::GovCommand),
    /// Serve the HTTP API and the dashboards for the data directory's company.
    Serve(serve::ServeArgs),
    /// Notices: put what the ledger calls for in the outbox once and send what is due (by email
    /// and signed webhooks), as `serve` does on its interval; for cron.
    Notify(notify::NotifyArgs),
    /// Logins for the API and dashboards: add, key, remove, list.
    #[command(subcommand)]
    User(serve::UserCommand),
    /// Check the ledger's hash chain, its append-only triggers and, with --expect-head, that it
    /// still holds a head kept outside it.
    VerifyLedger(ops::VerifyArgs),
    /// Write the ledger, chain state and keys to one file.
    Backup(ops::BackupArgs),
    /// Restore a backup into an empty data directory.
    Restore(ops::BackupArgs),
    /// Copy the ledger to PostgreSQL, losing nothing.
    MigrateStore(ops::MigrateArgs),
    /// Print a reference page (architecture, interfaces, errors, tax-rules, …); no topic lists them.
    Docs(docs::DocsArgs),
}

/// Writes to standard output. When the reader has gone away (`tokencomp grants | head`) the
/// command stops quietly, as Unix tools do; any other write error is a failed run.
pub fn out(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing to standard output: {e}");
        std::process::exit(1);
    }
}

/// `println!` through [`out`].
#[macro_export]
macro_rules! outln {
    () => { $crate::out(format_args!("\n")) };
    ($($t:tt)*) => { $crate::out(format_args!("{}\n", format_args!($($t)*))) };
}

/// Bad input: exit code 2, `message` printed with `location` by `main`.
pub fn bad_input(message: impl std::fmt::Display, location: &str) -> anyhow::Error {
    anyhow::Error::new(tokencomp_service::Error::invalid(message, location))
}

/// Bad input already reported (the command printed every problem): exit code 2, nothing more.
pub fn reported() -> anyhow::Error {
    anyhow::Error::new(tokencomp_service::Error::Rejected { field: String::new(), text: String::new() })
}

/// The one place an error becomes an exit code (docs/errors.md): 2 when the caller can fix the
/// input (with what and where printed), 1 when the run failed.
fn exit_code(e: &anyhow::Error) -> ExitCode {
    use tokencomp_service::Error as E;
    match e.downcast_ref::<E>() {
        Some(s) if s.is_input() => {
            match s {
                E::Rejected { text, .. } => eprint!("{text}"),
                E::Invalid { field, message } | E::NotFound { field, message } | E::Conflict { field, message }
                    if !message.is_empty() =>
                {
                    eprintln!("error: {message}\n  --> {field}");
                }
                _ => {}
            }
            ExitCode::from(2)
        }
        _ => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let g = &cli.global;
    let result = match &cli.command {
        Command::Schedule(args) => schedule::run(args),
        Command::Demo(args) => demo::run(g, args),
        Command::Init(args) => company::init(g, args),
        Command::Apply(args) => company::apply(g, args),
        Command::Import(args) => company::import(g, args),
        Command::Grant(cmd) => company::grant(g, cmd),
        Command::Run(args) => queries::run(g, args),
        Command::Grants(args) => queries::grants(g, args),
        Command::Calendar(args) => queries::calendar(g, args),
        Command::History(args) => queries::history(g, args),
        Command::Audit(args) => audit::run(g, args),
        Command::Payroll(args) => compliance::run(g, args),
        Command::Chain(cmd) => chain::run(g, cmd),
        Command::Price(cmd) => compliance::price(g, cmd),
        Command::Rules(cmd) => rules::run(g, cmd),
        Command::Periods(args) => rules::periods(g, args),
        Command::Sell(args) => compliance::sell(g, args),
        Command::Books(args) => compliance::books(g, args),
        Command::Rollforward(args) => compliance::rollforward(g, args),
        Command::TaxReport(args) => compliance::tax_report(g, args),
        Command::YearEnd(args) => yearend::run(g, args),
        Command::Tokenomics(args) => risk::tokenomics(g, args),
        Command::Simulate(args) => risk::simulate(g, args),
        Command::Fairness(args) => risk::fairness_cmd(g, args),
        Command::Oracle(cmd) => oracle::run(g, cmd),
        Command::Gov(cmd) => gov::run(g, cmd),
        Command::Serve(args) => serve::serve(g, args),
        Command::Notify(args) => notify::run(g, args),
        Command::User(cmd) => serve::user(g, cmd),
        Command::VerifyLedger(args) => ops::verify(g, args),
        Command::Backup(args) => ops::backup(g, args),
        Command::Restore(args) => ops::restore(g, args),
        Command::MigrateStore(args) => ops::migrate(g, args),
        Command::Docs(args) => docs::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => exit_code(&e),
    }
}
