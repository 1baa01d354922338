//! The `tokencomp` command-line tool.
//!
//! Exit codes (INTERFACES.md): 0 ok, 1 the run failed, 2 bad input (with every problem of the
//! input printed as `error: …` / `  --> file:line:column (field)`).

mod schedule;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Token compensation: exact vesting, on-chain releases, tax and books.
#[derive(Parser, Debug)]
#[command(name = "tokencomp", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print every grant's vesting schedule from a company file (TOML) or an OCF package folder.
    Schedule(schedule::ScheduleArgs),
    /// Run the sample company (built into the binary) and print its schedules as of its
    /// `demo_through` date.
    Demo(schedule::DemoArgs),
}

/// An error that already printed its diagnostics: exit code 2.
#[derive(Debug)]
pub struct BadInput;

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("bad input")
    }
}

impl std::error::Error for BadInput {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Schedule(args) => schedule::run(&args),
        Command::Demo(args) => schedule::demo(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<BadInput>() => ExitCode::from(2),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
