//! `tokencomp oracle`: oracle keys, the registry's admin actions, and milestone attestations
//! signed from an evaluation's result file, verified and submitted to the ledger.
//!
//! The rules and the recording are the service's (`tokencomp_service::oracle`); this module
//! parses the flags, reads the files, picks the clock and prints what came of each submission.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use jiff::Timestamp;
use tokencomp_chain::attest::Domain;
use tokencomp_chain::keys::Key;
use tokencomp_core::attestation::{Fixed18, Signer};
use tokencomp_service::oracle::{CheckFlags, SignRequest};
use tokencomp_store::ledger::{Company, OracleAction};

use tokencomp_service::oracle::read_submission;

use crate::company::{load, load_all, open_store};
use crate::{Global, bad_input};

#[derive(Subcommand, Debug)]
pub enum OracleCommand {
    /// Create an oracle key (`DATA/keys/oracle-ID.key`, owner-only) and print its address.
    Keygen(KeygenArgs),
    /// Register an oracle with its first key (an admin action).
    Register(RegistryArgs),
    /// Replace an oracle's key: the old one is revoked from then on.
    Rotate(RegistryArgs),
    /// Revoke an oracle's active key.
    Revoke(RevokeArgs),
    /// Sign an attestation of a metric read from a result file (lm-evaluation-harness or any JSON).
    Sign(SignArgs),
    /// Check submission files against the ledger without recording anything (exit 2 if refused).
    Verify(CheckArgs),
    /// Record submission files; a met milestone's effect becomes the grant's lifecycle event.
    Submit(CheckArgs),
}

#[derive(Args, Debug)]
pub struct KeygenArgs {
    #[arg(long)]
    pub oracle: String,
}

#[derive(Args, Debug)]
pub struct RegistryArgs {
    #[arg(long)]
    pub oracle: String,
    /// The key's address (0x and 40 hex digits).
    #[arg(long)]
    pub address: String,
    /// When it takes effect (RFC 3339 or a date, meaning its start); now by default.
    #[arg(long)]
    pub at: Option<String>,
}

#[derive(Args, Debug)]
pub struct RevokeArgs {
    #[arg(long)]
    pub oracle: String,
    #[arg(long)]
    pub at: Option<String>,
}

/// The EIP-712 domain, when not the deployment's in the data directory.
#[derive(Args, Debug)]
pub struct DomainArgs {
    #[arg(long, requires = "contract")]
    pub chain_id: Option<u64>,
    /// The VestingManager that verifies.
    #[arg(long, requires = "chain_id")]
    pub contract: Option<String>,
}

#[derive(Args, Debug)]
pub struct SignArgs {
    /// The oracle's key file.
    #[arg(long)]
    pub key: PathBuf,
    #[arg(long)]
    pub milestone: String,
    /// The result file (JSON).
    #[arg(long)]
    pub result: PathBuf,
    /// A JSON pointer to the metric, e.g. `/results/mmlu/acc,none`.
    #[arg(long)]
    pub pointer: String,
    /// When the metric was observed (RFC 3339); now by default.
    #[arg(long)]
    pub observed_at: Option<String>,
    /// How long the attestation stays valid from its observation: `7d`, `12h`, `30m`, `90s`.
    #[arg(long, default_value = "7d")]
    pub expires_in: String,
    /// The oracle's nonce; the observation's time in milliseconds by default.
    #[arg(long)]
    pub nonce: Option<u64>,
    /// Where to write the submission (standard output by default).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub domain: DomainArgs,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Submission files; a quorum milestone takes its k files at once.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The instant to check at (RFC 3339 or a date, meaning its end); now by default. `submit`
    /// takes it only with --override-clock.
    #[arg(long)]
    pub at: Option<String>,
    #[command(flatten)]
    pub domain: DomainArgs,
    /// `submit`: record as checked at --at instead of now (development chains only; recorded on
    /// each attestation event). A past instant accepts attestations that have since expired.
    #[arg(long, requires = "at")]
    pub override_clock: bool,
    /// `submit`: accept attestations signed for --chain-id/--contract instead of the company's
    /// deployment (development chains only; recorded on each attestation event).
    #[arg(long, requires = "chain_id")]
    pub override_domain: bool,
}

pub fn run(g: &Global, cmd: &OracleCommand) -> Result<()> {
    match cmd {
        OracleCommand::Keygen(a) => keygen(g, a),
        OracleCommand::Register(a) => registry(g, OracleAction::Register, &a.oracle, Some(&a.address), a.at.as_deref()),
        OracleCommand::Rotate(a) => registry(g, OracleAction::Rotate, &a.oracle, Some(&a.address), a.at.as_deref()),
        OracleCommand::Revoke(a) => registry(g, OracleAction::Revoke, &a.oracle, None, a.at.as_deref()),
        OracleCommand::Sign(a) => sign(g, a),
        OracleCommand::Verify(a) => check(g, a, false),
        OracleCommand::Submit(a) => check(g, a, true),
    }
}

fn keygen(g: &Global, a: &KeygenArgs) -> Result<()> {
    if a.oracle.is_empty() || !a.oracle.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(bad_input(format!("`{}` is not an oracle id (letters, digits, - and _)", a.oracle), "--oracle"));
    }
    let path = g.dir().oracle_key(&a.oracle);
    if path.exists() {
        return Err(bad_input(format!("{} exists; a key file is never overwritten", path.display()), "--oracle"));
    }
    let key = Key::generate();
    key.save(&path)?;
    crate::outln!("{}", key.address());
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// The value as the attestation carries it, for display.
pub fn value_text(units: &str) -> String {
    Fixed18::parse_units(units).map_or_else(|_| units.to_owned(), |v| v.to_string())
}

/// An instant from a flag: RFC 3339, or a date meaning its start (`day_end`: its end); now
/// without one.
fn instant(text: Option<&str>, tz: &jiff::tz::TimeZone, flag: &str, day_end: bool) -> Result<u64> {
    Ok(tokencomp_service::oracle::instant(text, tz, flag, day_end, Timestamp::now())?)
}

fn registry(g: &Global, action: OracleAction, oracle: &str, address: Option<&str>, at: Option<&str>) -> Result<()> {
    let mut store = open_store(g)?;
    let loaded = load_all(&mut *store)?;
    let at = instant(at, &loaded.company()?.company.time_zone, "--at", false)?;
    let signer = match address {
        Some(text) => Some(text.parse::<Signer>().map_err(|e| bad_input(e.text, "--address"))?),
        None => None,
    };
    let a = tokencomp_service::oracle::register(&mut *store, Some(&loaded), &g.stamp(), action, oracle, signer, at)?;
    let what = match action {
        OracleAction::Register => "registered",
        OracleAction::Rotate => "rotated",
        OracleAction::Revoke => "revoked",
    };
    crate::outln!(
        "{what} oracle {oracle}{} at {} ({} new events)",
        signer.map(|s| format!(" key {s}")).unwrap_or_default(),
        Timestamp::from_second(i64::try_from(at)?)?,
        a.new
    );
    Ok(())
}

/// The domain: the flags, else the VestingManager deployed on the company's chain.
fn domain(g: &Global, company: &Company, args: &DomainArgs) -> Result<Domain> {
    Ok(tokencomp_service::oracle::domain(&g.dir(), company, args.chain_id, args.contract.as_deref())?)
}

fn sign(g: &Global, a: &SignArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    if !company.milestones.contains_key(&a.milestone) {
        return Err(bad_input(format!("no milestone has id `{}`", a.milestone), "--milestone"));
    }
    let text = std::fs::read_to_string(&a.result).with_context(|| format!("reading {}", a.result.display()))?;
    let key = Key::load(&a.key)?;
    let domain = domain(g, &company, &a.domain)?;
    let observed_at = instant(a.observed_at.as_deref(), &company.company.time_zone, "--observed-at", false)?;
    let nonce = match a.nonce {
        Some(n) => n,
        None => u64::try_from(Timestamp::now().as_millisecond()).context("the clock is before 1970")?,
    };
    let signed = tokencomp_service::oracle::sign(
        &company,
        &SignRequest {
            key: &key,
            milestone: &a.milestone,
            result_name: &a.result.display().to_string(),
            result_text: &text,
            pointer: &a.pointer,
            domain,
            observed_at,
            expires_in: &a.expires_in,
            nonce,
        },
    )?;
    let json = serde_json::to_string_pretty(&signed.submission.to_json())?;
    match &a.out {
        Some(path) => {
            tokencomp_store::private::write(path, format!("{json}\n").as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "signed {} = {} for {} ({}), digest {}",
                signed.metric,
                signed.value,
                signed.milestone,
                signed.subject,
                tokencomp_chain::attest::digest(&signed.attestation, &signed.domain)
            );
            crate::outln!("{}", path.display());
        }
        None => crate::outln!("{json}"),
    }
    Ok(())
}

fn check(g: &Global, args: &CheckArgs, submit: bool) -> Result<()> {
    let mut store = open_store(g)?;
    let loaded = load_all(&mut *store)?;
    let company = loaded.company()?;
    let tz = company.company.time_zone.clone();
    let expected = domain(g, company, &args.domain)?;
    let flags = CheckFlags {
        at: args.at.clone(),
        chain_id: args.domain.chain_id,
        override_clock: args.override_clock,
        override_domain: args.override_domain,
    };
    let overrides = if submit {
        let deployed = domain(g, company, &DomainArgs { chain_id: None, contract: None }).ok();
        tokencomp_service::oracle::overrides(company, &flags, &expected, deployed.as_ref())?
    } else {
        tokencomp_store::ledger::Overrides::default()
    };
    let now = instant(args.at.as_deref(), &tz, "--at", true)?;
    let mut subs = Vec::new();
    for path in &args.files {
        subs.push((path.clone(), read_submission(path)?));
    }
    let (lines, refused) = if submit {
        let checks = tokencomp_service::oracle::Checks { expected: &expected, now, tz: &tz, overrides: &overrides };
        tokencomp_service::oracle::submit(&mut *store, Some(&loaded), &g.stamp(), &subs, &checks)?
    } else {
        tokencomp_service::oracle::verify(company, &subs, &expected, now)
    };
    for line in lines {
        crate::outln!("{line}");
    }
    if refused { Err(crate::reported()) } else { Ok(()) }
}
