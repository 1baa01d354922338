//! `tokencomp oracle`: oracle keys, the registry's admin actions, and milestone attestations
//! signed from an evaluation's result file, verified and submitted to the ledger.
//!
//! The rules are the core's (`attestation::Book`) and the cryptography the chain crate's
//! (`attest`); this module only reads files, picks the domain and records what came of each
//! submission. It never applies an effect except through a grant's lifecycle event, checked
//! like any other, and never records an accepted attestation without that event.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use alloy_primitives::Address;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use tokencomp_chain::attest::{self, Attestation, Domain, Submission};
use tokencomp_chain::keys::Key;
use tokencomp_chain::ops::Deployment;
use tokencomp_core::attestation::{Fixed18, Signer};
use tokencomp_core::grant::{EventKind, GrantEvent};
use tokencomp_formats::attestation::metric_at;
use tokencomp_formats::canonical::write_event;
use tokencomp_store::ledger::{Accepted, AttestationRecord, Company, Fact, OracleAction, Overrides};

use crate::company::{load, load_all, open_store, record_checked};
use crate::{BadInput, Global, bad_input};

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

/// Chains whose state nobody relies on: Hardhat's and Anvil's (31337) and Ganache's (1337).
pub const DEVELOPMENT_CHAINS: [u64; 2] = [31337, 1337];

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

pub fn key_path(g: &Global, oracle: &str) -> PathBuf {
    g.data.join("keys").join(format!("oracle-{oracle}.key"))
}

fn keygen(g: &Global, a: &KeygenArgs) -> Result<()> {
    if a.oracle.is_empty() || !a.oracle.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(bad_input(format!("`{}` is not an oracle id (letters, digits, - and _)", a.oracle), "--oracle"));
    }
    let path = key_path(g, &a.oracle);
    if path.exists() {
        return Err(bad_input(format!("{} exists; a key file is never overwritten", path.display()), "--oracle"));
    }
    let key = Key::generate();
    key.save(&path)?;
    crate::outln!("{}", key.address());
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// The demo oracle's key: derived from a public phrase, so the demo is reproducible; never
/// register its address anywhere real.
const DEMO_ORACLE_KEY: &str = "tokencomp demo oracle key: public, never trust it";
/// The demo's evaluation results, lm-evaluation-harness's shape.
const DEMO_RESULTS: &str = include_str!("../../../examples/lm-eval-results.json");

/// The demo's oracle, as its commands would do it: the oracle `evals` with the demo key,
/// registered from 2026-10-01; the sample results file (`DATA/evals/results.json`) signed for
/// `omar-mmlu` under the deployment's domain, observed 2026-10-20, into
/// `DATA/evals/omar-mmlu.json`; and that file submitted to the ledger. Returns the file, which the
/// demo submits to the chain too.
pub fn demo(g: &Global) -> Result<Vec<PathBuf>> {
    let key =
        Key::from_hex(&alloy_primitives::keccak256(DEMO_ORACLE_KEY.as_bytes()).to_string(), "the demo oracle key")?;
    let key_file = key_path(g, "evals");
    if !key_file.exists() {
        key.save(&key_file)?;
    }
    let dir = g.data.join("evals");
    tokencomp_store::private::dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let results = dir.join("results.json");
    tokencomp_store::private::write(&results, DEMO_RESULTS.as_bytes())
        .with_context(|| format!("writing {}", results.display()))?;
    let out = dir.join("omar-mmlu.json");
    registry(g, OracleAction::Register, "evals", Some(&key.address().to_string()), Some("2026-10-01"))?;
    let no_domain = || DomainArgs { chain_id: None, contract: None };
    sign(
        g,
        &SignArgs {
            key: key_file,
            milestone: "omar-mmlu".into(),
            result: results,
            pointer: "/results/mmlu/acc,none".into(),
            observed_at: Some("2026-10-20T15:00:00Z".into()),
            expires_in: "30d".into(),
            nonce: Some(1),
            out: Some(out.clone()),
            domain: no_domain(),
        },
    )?;
    // The demo's fixed "today" is in the past: its embedded chain is a development chain.
    check(
        g,
        &CheckArgs {
            files: vec![out.clone()],
            at: Some("2026-10-20T18:00:00Z".into()),
            domain: no_domain(),
            override_clock: true,
            override_domain: false,
        },
        true,
    )?;
    Ok(vec![out])
}

/// An instant: RFC 3339, or a date meaning `day_end` (its end) or its start, in the zone.
fn instant(text: Option<&str>, tz: &TimeZone, flag: &str, day_end: bool) -> Result<u64> {
    let Some(text) = text else {
        return u64::try_from(Timestamp::now().as_second()).context("the clock is before 1970");
    };
    let seconds = if let Ok(d) = text.parse::<jiff::civil::Date>() {
        let f = if day_end { tokencomp_core::calendar::end_of_day } else { tokencomp_core::calendar::start_of_day };
        f(d, tz).map_err(|e| bad_input(e, flag))?
    } else {
        text.parse::<Timestamp>()
            .map_err(|_| bad_input(format!("`{text}` is not a date (YYYY-MM-DD) or an RFC 3339 time"), flag))?
            .as_second()
    };
    u64::try_from(seconds).map_err(|_| bad_input(format!("`{text}` is before 1970"), flag))
}

fn registry(g: &Global, action: OracleAction, oracle: &str, address: Option<&str>, at: Option<&str>) -> Result<()> {
    let mut store = open_store(g)?;
    let loaded = load_all(&mut *store)?;
    let at = instant(at, &loaded.company()?.company.time_zone, "--at", false)?;
    let signer = match address {
        Some(text) => Some(text.parse::<Signer>().map_err(|e| bad_input(e.text, "--address"))?),
        None => None,
    };
    // The same action on a copy of the registry as it stands under the write lock first: what
    // it refuses is never recorded.
    let (a, ()) = record_checked(&mut *store, &g.actor(), Some(&loaded), |l| {
        let mut r = l.company()?.registry.clone();
        let done = match (action, signer) {
            (OracleAction::Register, Some(s)) => r.register(oracle, s, at),
            (OracleAction::Rotate, Some(s)) => r.rotate(oracle, s, at),
            _ => r.revoke(oracle, at),
        };
        done.map_err(|e| bad_input(e, "--oracle"))?;
        Ok((vec![Fact::Oracle { action, oracle: oracle.to_owned(), address: signer.map(|s| s.to_string()), at }], ()))
    })?;
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
    if let (Some(chain_id), Some(contract)) = (args.chain_id, &args.contract) {
        let verifying_contract = contract
            .parse::<Address>()
            .map_err(|e| bad_input(format!("`{contract}` is not an address: {e}"), "--contract"))?;
        return Ok(Domain { chain_id, verifying_contract });
    }
    let want = company.token.chain_id;
    let dir = crate::chain::chain_dir(g);
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let path = e.path();
            if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(".deployment.json"))
                && let Some(d) = Deployment::load(&path)?
                && want.is_none_or(|w| w == d.chain_id)
            {
                found.push(d);
            }
        }
    }
    match found.as_slice() {
        [d] => Ok(Domain { chain_id: d.chain_id, verifying_contract: d.manager }),
        [] => Err(bad_input(
            "no VestingManager is deployed for this company, so there is no domain to sign under",
            "run `tokencomp chain deploy`, or give --chain-id and --contract",
        )),
        _ => Err(bad_input("more than one deployment matches the company's chain", "give --chain-id and --contract")),
    }
}

/// `7d`, `12h`, `30m`, `90s` or plain seconds.
fn duration(text: &str) -> Result<u64> {
    let (digits, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| bad_input(format!("`{text}` is not a duration (7d, 12h, 30m, 90s)"), "--expires-in"))?;
    let unit = match unit {
        'd' => 86_400,
        'h' => 3_600,
        'm' => 60,
        's' => 1,
        _ => return Err(bad_input(format!("`{text}`: the unit is d, h, m or s"), "--expires-in")),
    };
    n.checked_mul(unit).ok_or_else(|| bad_input(format!("`{text}` is too long"), "--expires-in"))
}

fn sign(g: &Global, a: &SignArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let Some(terms) = company.milestones.get(&a.milestone) else {
        return Err(bad_input(format!("no milestone has id `{}`", a.milestone), "--milestone"));
    };
    let text = std::fs::read_to_string(&a.result).with_context(|| format!("reading {}", a.result.display()))?;
    let value =
        metric_at(&text, &a.pointer).map_err(|e| bad_input(e, &format!("{} ({})", a.result.display(), a.pointer)))?;
    let key = Key::load(&a.key)?;
    let domain = domain(g, &company, &a.domain)?;
    let observed_at = instant(a.observed_at.as_deref(), &company.company.time_zone, "--observed-at", false)?;
    let expires_at = observed_at
        .checked_add(duration(&a.expires_in)?)
        .ok_or_else(|| bad_input("the expiry is beyond 2^64 seconds", "--expires-in"))?;
    let nonce = match a.nonce {
        Some(n) => n,
        None => u64::try_from(Timestamp::now().as_millisecond()).context("the clock is before 1970")?,
    };
    let attestation = Attestation {
        milestone: terms.milestone.id.clone(),
        metric: terms.milestone.metric.clone(),
        value: attest::value(value),
        subject: terms.milestone.subject.to_string(),
        observedAt: observed_at,
        expiresAt: expires_at,
        oracle: key.address(),
        nonce,
    };
    let submission = attest::sign(&key, &attestation, &domain)?;
    let json = serde_json::to_string_pretty(&submission.to_json())?;
    match &a.out {
        Some(path) => {
            tokencomp_store::private::write(path, format!("{json}\n").as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "signed {} = {value} for {} ({}), digest {}",
                terms.milestone.metric,
                terms.milestone.id,
                terms.milestone.subject,
                attest::digest(&attestation, &domain)
            );
            crate::outln!("{}", path.display());
        }
        None => crate::outln!("{json}"),
    }
    Ok(())
}

pub fn read_submission(path: &Path) -> Result<(Submission, String)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad_input(format!("not JSON: {e}"), &path.display().to_string()))?;
    let s = Submission::from_json(&json).map_err(|e| bad_input(e, &path.display().to_string()))?;
    // Kept as the canonical form of what was read, so the ledger holds the submission itself.
    Ok((s, json.to_string()))
}

/// The ledger's record of one submission and what came of it.
fn record_of(
    company: &Company,
    s: &Submission,
    json: &str,
    at: u64,
    outcome: Result<Accepted, String>,
    set_reason: Option<String>,
    overrides: &Overrides,
) -> Fact {
    let a = &s.attestation;
    let digest = attest::digest(a, &s.domain).to_string();
    let signer = attest::recover(&attest::digest(a, &s.domain), &s.signature).ok().map(|x| x.to_string());
    let subject = match company.milestones.get(&a.milestone).and_then(|m| m.grants.first()) {
        Some(grant) => grant.clone(),
        None => a.subject.strip_prefix("grant:").unwrap_or(&a.subject).to_owned(),
    };
    Fact::Attestation(AttestationRecord {
        digest,
        milestone: a.milestone.clone(),
        subject,
        submission: json.to_owned(),
        at,
        signer,
        nonce: a.nonce,
        value: attest::claim(a).value.units(),
        outcome,
        set_reason,
        overrides: overrides.clone(),
    })
}

/// What `submit` overrides, refused unless asked for by name and on a development chain: a
/// recorded acceptance must hold at the time it is recorded, under the company's own domain, or
/// the ledger and the chain disagree about what was applied.
fn overrides(company: &Company, args: &CheckArgs, expected: &Domain, deployed: Option<&Domain>) -> Result<Overrides> {
    if args.at.is_some() && !args.override_clock {
        return Err(bad_input(
            "`submit --at` checks the files at another time than now, so an expired attestation could be recorded as accepted; pass --override-clock to do so on a development chain",
            "--at",
        ));
    }
    // Flags naming the deployment's own domain override nothing.
    let other_domain = args.domain.chain_id.is_some() && deployed != Some(expected);
    if other_domain && !args.override_domain {
        return Err(bad_input(
            "`submit --chain-id/--contract` accepts attestations signed for another domain than the company's deployment; pass --override-domain to do so on a development chain",
            "--chain-id",
        ));
    }
    let o = Overrides {
        clock: args.override_clock,
        domain: (other_domain && args.override_domain)
            .then(|| (expected.chain_id, expected.verifying_contract.to_string())),
    };
    if o.any() {
        let flag = if o.clock { "--override-clock" } else { "--override-domain" };
        development_chain_only(company, &[expected.chain_id], flag)?;
    }
    Ok(o)
}

/// Refuses `flag` (an override of the clock or the domain) unless the company's chain and each
/// of `others` is a development chain.
pub fn development_chain_only(company: &Company, others: &[u64], flag: &str) -> Result<()> {
    let company_chain = company.token.chain_id.unwrap_or(crate::chain::DEFAULT_CHAIN_ID);
    for &chain in std::iter::once(&company_chain).chain(others) {
        if !DEVELOPMENT_CHAINS.contains(&chain) {
            return Err(bad_input(
                format!(
                    "{flag} is refused on chain id {chain}: overrides are for development chains only ({})",
                    DEVELOPMENT_CHAINS.map(|c| c.to_string()).join(", ")
                ),
                flag,
            ));
        }
    }
    Ok(())
}

fn check(g: &Global, args: &CheckArgs, submit: bool) -> Result<()> {
    let mut store = open_store(g)?;
    let loaded = load_all(&mut *store)?;
    let company = loaded.company()?;
    let tz = company.company.time_zone.clone();
    let expected = domain(g, company, &args.domain)?;
    let overrides = if submit {
        let deployed = domain(g, company, &DomainArgs { chain_id: None, contract: None }).ok();
        overrides(company, args, &expected, deployed.as_ref())?
    } else {
        Overrides::default()
    };
    let now = instant(args.at.as_deref(), &tz, "--at", true)?;
    let mut subs = Vec::new();
    for path in &args.files {
        subs.push((path.clone(), read_submission(path)?));
    }
    let mut refused = false;
    if !submit {
        let book = company.book();
        for (path, (s, _)) in &subs {
            match attest::check(&book, s, &expected, now) {
                Ok(oracle) => crate::outln!(
                    "{}: accepted ({} = {} by oracle {oracle})",
                    path.display(),
                    s.attestation.metric,
                    attest::claim(&s.attestation).value
                ),
                Err(reason) => {
                    refused = true;
                    crate::outln!("{}: rejected: {reason}", path.display());
                }
            }
        }
        return if refused { Err(anyhow::Error::new(BadInput::default())) } else { Ok(()) };
    }
    // Submissions go in as sets by milestone, in the order their milestones first appear.
    let mut sets: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut order = Vec::new();
    for (i, (_, (s, _))) in subs.iter().enumerate() {
        let m = s.attestation.milestone.clone();
        if !sets.contains_key(&m) {
            order.push(m.clone());
        }
        sets.entry(m).or_default().push(i);
    }
    let cx = SetContext { subs: &subs, expected: &expected, now, tz: &tz, overrides: &overrides };
    for milestone in order {
        // Checked against the book as it stands under the write lock, so two submissions of
        // one milestone at once cannot both apply it, nor both spend a nonce.
        let idx = &sets[&milestone];
        let (_, (lines, set_refused)) =
            record_checked(&mut *store, &g.actor(), Some(&loaded), |l| cx.decide(l.company()?, &milestone, idx))?;
        refused |= set_refused;
        for line in lines {
            crate::outln!("{line}");
        }
    }
    if refused { Err(anyhow::Error::new(BadInput::default())) } else { Ok(()) }
}

/// What a set came to: the lines to print, and whether it was refused.
type SetOutcome = (Vec<String>, bool);

/// What one `submit` checks its sets with.
struct SetContext<'a> {
    subs: &'a [(PathBuf, (Submission, String))],
    expected: &'a Domain,
    now: u64,
    tz: &'a TimeZone,
    overrides: &'a Overrides,
}

impl SetContext<'_> {
    /// One milestone's set against `company`: the facts to record, the lines to print, and
    /// whether it was refused. A refused set records each file with its own reason.
    fn decide(&self, company: &Company, milestone: &str, idx: &[usize]) -> Result<(Vec<Fact>, SetOutcome)> {
        let (subs, expected, now, tz) = (self.subs, self.expected, self.now, self.tz);
        let book = company.book();
        let set: Vec<Submission> = idx.iter().map(|&i| subs[i].1.0.clone()).collect();
        let met = match attest::apply(&mut book.clone(), milestone, &set, expected, now) {
            Err(r) => {
                let (mut facts, mut lines) = (Vec::new(), Vec::new());
                let culprit = r.index.and_then(|p| idx.get(p)).map(|&i| subs[i].0.display().to_string());
                for (pos, &i) in idx.iter().enumerate() {
                    let (path, (s, json)) = &subs[i];
                    // The file's own refusal when it has one; the set's when the set as a whole
                    // failed; else it passed and was refused with its set.
                    let own = if r.index == Some(pos) {
                        Some(r.reason)
                    } else {
                        attest::check(&book, s, expected, now).err()
                    };
                    let reason = match (own, r.index) {
                        (Some(own), _) => own.as_str().to_owned(),
                        (None, None) => r.reason.as_str().to_owned(),
                        (None, Some(_)) => "set_refused".to_owned(),
                    };
                    lines.push(match (&culprit, reason.as_str()) {
                        (Some(c), "set_refused") => {
                            format!(
                                "{}: rejected: set_refused (its set was refused: {c}: {})",
                                path.display(),
                                r.reason
                            )
                        }
                        _ => format!("{}: rejected: {reason}", path.display()),
                    });
                    let set_reason = Some(r.reason.as_str().to_owned());
                    facts.push(record_of(company, s, json, now, Err(reason), set_reason, self.overrides));
                }
                return Ok((facts, (lines, true)));
            }
            Ok(met) => met,
        };
        let Some(terms) = company.milestones.get(milestone) else {
            return Err(bad_input(format!("milestone `{milestone}` has no terms"), "[[milestone]]"));
        };
        let first = attest::digest(&set[0].attestation, &set[0].domain).to_string();
        let event_id = format!("attest-{}", &first[2..18]);
        let observed = set.iter().map(|s| s.attestation.observedAt).max().unwrap_or(now);
        let day = tz.to_datetime(Timestamp::from_second(i64::try_from(observed)?)?).date();
        let mut facts = Vec::new();
        let mut lines = Vec::new();
        let token = &company.token.token;
        for grant_id in &terms.grants {
            let Some(rec) = company.grants.get(grant_id) else {
                return Err(bad_input(
                    format!("milestone `{milestone}` names grant `{grant_id}`, which the ledger does not have"),
                    "[[milestone]]",
                ));
            };
            let cap = match &terms.effect {
                tokencomp_core::model::TermsEffect::Graded { tranche } => {
                    rec.terms.grant.performance.iter().find(|p| &p.id == tranche).map_or(0, |p| p.cap_bps)
                }
                tokencomp_core::model::TermsEffect::Fixed(_) => 0,
            };
            let effect = terms.effect_for(met.value, cap).ok_or_else(|| {
                bad_input(format!("milestone `{milestone}`: no graded share for {}", met.value), "[[milestone]]")
            })?;
            let event = GrantEvent { id: event_id.clone(), date: day, kind: EventKind::Milestone { effect } };
            let mut grant = rec.terms.grant.clone();
            grant.check_new_event(&event).map_err(|e| bad_input(e, &format!("grant {grant_id}")))?;
            grant.events.push(event.clone());
            let before = rec.terms.grant.timeline(tz, None).map_err(|e| bad_input(e, &format!("grant {grant_id}")))?;
            let after = grant.timeline(tz, None).map_err(|e| bad_input(e, &format!("grant {grant_id}")))?;
            let sum = |t: &tokencomp_core::Timeline| {
                t.tranches.iter().fold(0u128, |a, x| a.saturating_add(x.amount.base_units()))
            };
            let delta = sum(&after).saturating_sub(sum(&before));
            lines.push(format!(
                "applied {milestone} (value {}, oracles {}) to {grant_id} as event {event_id} on {day}: {} {} more scheduled",
                met.value,
                met.oracles.join(", "),
                token.format(tokencomp_money::TokenAmount::from_base_units(delta)),
                token.symbol()
            ));
            facts.push(Fact::GrantEvent {
                grant: grant_id.clone(),
                event_id: event_id.clone(),
                event: write_event(&event, token),
            });
        }
        let accepted =
            Accepted { event_id: event_id.clone(), met_value: met.value.units(), oracles: met.oracles.clone() };
        for &i in idx {
            let (_, (s, json)) = &subs[i];
            facts.push(record_of(company, s, json, now, Ok(accepted.clone()), None, self.overrides));
        }
        Ok((facts, (lines, false)))
    }
}

/// The value as the attestation carries it, for display.
pub fn value_text(units: &str) -> String {
    Fixed18::parse_units(units).map_or_else(|_| units.to_owned(), |v| v.to_string())
}
