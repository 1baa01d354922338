//! `tokencomp chain …`: the company's grants on a chain — the embedded one in the data directory
//! by default, any Ethereum JSON-RPC node with `--rpc URL`.
//!
//! The ledger says what should be on the chain: [`plans`] turns each grant's timeline (the
//! engine's, after its events) into the contract's schedule, its revocation and its per-tranche
//! withholding (from the payroll pass), and [`expected`] what reconciliation compares the logs
//! with. `tokencomp-chain` does the sending and the comparing, the same way on both backends.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use alloy_primitives::{Address, B256};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use jiff::civil::Date;
use serde_json::Value;
use tokencomp_chain::anchor::AnchorContract;
use tokencomp_chain::ops::{self, Deployment, MilestonePlan, Session};
use tokencomp_chain::{Backend, KEY_ENV, Key, files, safe};
use tokencomp_core::model::FmvSource;
use tokencomp_money::Currency;
use tokencomp_store::anchor::Head;
use tokencomp_store::ledger::Company;

use tokencomp_service::chain::Plan;
use tokencomp_service::chain::{Net, deployment, oracle_keys, parse_at, reconcile_json, submission_sets};

use crate::company::{load, open_store};
use crate::{Global, bad_input};

#[derive(Subcommand, Debug)]
pub enum ChainCommand {
    /// Print the signer's address, creating the key file (`DATA/keys/chain.key`) if asked.
    Key(KeyArgs),
    /// Deploy VestingManager (and, with --demo-token, a token for a demo), once per network.
    Deploy(DeployCmd),
    /// Approve the manager to pull, from the treasury, what the grants not yet pushed need.
    Fund(NetArgs),
    /// Create the ledger's grants on the chain, and revoke those the ledger forfeited.
    PushGrants(PushArgs),
    /// Post, per tranche, the tokens payroll withholds at release.
    PostWithholding(PushArgs),
    /// Release every grant's vested tokens to its beneficiary (net) and the tax wallet (withheld).
    Release(PushArgs),
    /// Bring the contract's oracle registry to the ledger's (admin) and define the `[[milestone]]`
    /// terms whose grants are on the chain, funding their performance amounts (operator).
    PushMilestones(PushArgs),
    /// Submit signed attestation files (`oracle sign`) to the contract's `applyMilestone`, a set
    /// per milestone; a refusal is named as the engine names it, and nothing is sent for it.
    Submit(SubmitArgs),
    /// Read the contract's logs since the last sync into the data directory.
    Sync(NetArgs),
    /// The contract's logs against the ledger and payroll: matched, missing on chain, unexpected
    /// on chain, amount mismatch.
    Reconcile(ReconcileArgs),
    /// A demo market for the demo token: a Uniswap V2 pair against a demo USDC whose price
    /// follows the recorded closes, changing at the start of each day.
    Market(MarketArgs),
    /// Record the token's TWAP points from its Uniswap V2 pair: the pair's cumulative price at
    /// the end of each day, for `fmv = "twap"` (an N-day TWAP ending D needs D-N and D).
    Price(PriceArgs),
    /// Create a Safe (1.4.1) with these owners, deploying the Safe contracts first if needed:
    /// for the embedded chain and development nodes (on a real network, use the Safe app).
    SafeCreate(SafeCreateArgs),
    /// Execute a Safe batch file (`push-grants --unsigned FILE`) through the Safe's
    /// `execTransaction`, signed by the owners' key files; the signer key submits and pays gas.
    SafeExec(SafeExecArgs),
    /// Record the ledger's head (its last event hash and event count) on the chain, in a small
    /// `LedgerAnchor` contract deployed by the first anchor; `verify-ledger --expect-head chain`
    /// then checks that the ledger still holds it.
    Anchor(NetArgs),
}

#[derive(Args, Debug)]
pub struct SafeCreateArgs {
    #[command(flatten)]
    pub net: NetArgs,
    /// An owner's address (repeat for each owner).
    #[arg(long = "owner", required = true)]
    pub owners: Vec<Address>,
    /// How many owners must sign each transaction.
    #[arg(long)]
    pub threshold: u64,
    /// The factory's salt nonce: another Safe with the same owners needs another one.
    #[arg(long, default_value_t = 0)]
    pub salt_nonce: u64,
}

#[derive(Args, Debug)]
pub struct SafeExecArgs {
    #[command(flatten)]
    pub net: NetArgs,
    /// The Safe Transaction Builder batch file.
    pub file: PathBuf,
    /// A file holding an owner's private key (hex, as `DATA/keys/chain.key`); repeat for as many
    /// owners as the Safe's threshold.
    #[arg(long = "owner-key", required = true)]
    pub owner_keys: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct MarketArgs {
    #[command(flatten)]
    pub net: NetArgs,
    /// The first day whose recorded USD close the pair's price takes.
    #[arg(long)]
    pub from: String,
    /// The last such day (default: the last recorded close).
    #[arg(long)]
    pub through: Option<String>,
}

#[derive(Args, Debug)]
pub struct PriceArgs {
    #[command(flatten)]
    pub net: NetArgs,
    /// The token's Uniswap V2 pair against a USD stablecoin (default: the demo market's pair).
    #[arg(long)]
    pub pair: Option<Address>,
    /// The first day whose end is recorded.
    #[arg(long)]
    pub from: String,
    /// The last such day (default: the last day the chain has passed the end of).
    #[arg(long)]
    pub through: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct NetArgs {
    /// An Ethereum JSON-RPC node instead of the embedded chain.
    #[arg(long, env = "TOKENCOMP_RPC")]
    pub rpc: Option<String>,
    /// Gas limit of each transaction (default 16,777,216, the EIP-7825 cap; capped by the block's).
    #[arg(long)]
    pub gas_limit: Option<u64>,
    /// Block time of the transactions: a date (the end of that day in the company's time zone)
    /// or an RFC 3339 instant; the embedded chain and development nodes only. Each block is at
    /// least a second after the previous one.
    #[arg(long)]
    pub at: Option<String>,
}

#[derive(Args, Debug)]
pub struct KeyArgs {
    /// Create a new random key file if there is none.
    #[arg(long)]
    pub new: bool,
}

#[derive(Args, Debug)]
pub struct DeployCmd {
    #[command(flatten)]
    pub net: NetArgs,
    /// The token's address (default: `[token] address` in the company file).
    #[arg(long)]
    pub token: Option<Address>,
    /// Deploy a test token for a demo, its supply minted to the treasury.
    #[arg(long, conflicts_with = "token")]
    pub demo_token: bool,
    /// The admin (revocations, wallet changes), e.g. a Safe; default: the signer.
    #[arg(long)]
    pub admin: Option<Address>,
    /// Funds grants and receives revoked tokens; default: the signer.
    #[arg(long)]
    pub treasury: Option<Address>,
    /// Receives withheld tokens; default: an address derived from the company's name.
    #[arg(long)]
    pub tax_wallet: Option<Address>,
}

#[derive(Args, Debug)]
pub struct PushArgs {
    #[command(flatten)]
    pub net: NetArgs,
    /// People whose `wallet` is a label, not an address, get an address derived from it
    /// (keccak-256 of `tokencomp:wallet:LABEL`): for demos, since nobody holds its key.
    #[arg(long)]
    pub label_wallets: bool,
    /// Write admin actions (revocations) as a Safe transaction batch to this file instead of
    /// sending them: for an admin that is a multisig.
    #[arg(long)]
    pub unsigned: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub net: NetArgs,
    /// Submission files; those of one milestone go in as one set (a quorum's k files).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ReconcileArgs {
    #[command(flatten)]
    pub net: NetArgs,
    #[arg(long)]
    pub label_wallets: bool,
    /// The report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The signer: `TOKENCOMP_CHAIN_KEY`, else the key file.
fn signer(g: &Global) -> Result<Key> {
    if let Ok(hex) = std::env::var(KEY_ENV) {
        return Ok(Key::from_hex(&hex, KEY_ENV)?);
    }
    let path = g.dir().chain_key();
    if !path.exists() {
        return Err(bad_input(
            format!("no signer key: {} does not exist and {KEY_ENV} is not set", path.display()),
            "run `tokencomp chain key --new`, or set the variable",
        ));
    }
    Ok(Key::load(&path)?)
}

pub fn run(g: &Global, cmd: &ChainCommand) -> Result<()> {
    match cmd {
        ChainCommand::Key(args) => key(g, args),
        ChainCommand::Deploy(args) => {
            let key = signer(g)?;
            let mut store = open_store(g)?;
            let company = load(&mut *store)?;
            let plan = Plan::schedules(&company, true)?;
            let mut backend = open_backend(&g.dir(), &args.net, &company, &plan)?;
            let d = deploy(&g.dir(), &mut *backend, &key, &company, args)?;
            print_deployment(&*backend, &d);
            Ok(())
        }
        // Funding needs the totals only, not the wallets.
        ChainCommand::Fund(net) => with_session(g, net, true, false, |s, d, plan| {
            let needed = ops::fund(s, d, &plan.grants, &plan.milestones)?;
            crate::outln!("treasury {} approves {} base units for the manager {}", d.treasury, needed, d.manager);
            Ok(())
        }),
        ChainCommand::PushGrants(args) => with_session(g, &args.net, args.label_wallets, false, |s, d, plan| {
            let plans = &plan.grants;
            let created = ops::push_grants(s, d, plans)?;
            let now = match s.at {
                Some(at) => at,
                None => s.backend.head()?.timestamp.saturating_add(1),
            };
            let (revoked, unsigned) = ops::revoke_due(s, d, plans, now)?;
            crate::outln!("created {created} grants, revoked {revoked}");
            if !unsigned.is_empty() {
                let Some(path) = &args.unsigned else {
                    return Err(bad_input(
                        format!("{} revocations need the admin {}, which is not this key", unsigned.len(), d.admin),
                        "pass --unsigned FILE to write them as a Safe transaction batch",
                    ));
                };
                write_safe_batch(path, d, &unsigned)?;
                crate::outln!("wrote {} admin actions for the Safe {} to {}", unsigned.len(), d.admin, path.display());
            }
            Ok(())
        }),
        ChainCommand::PushMilestones(args) => {
            let mut store = open_store(g)?;
            let oracles = oracle_keys(&load(&mut *store)?);
            drop(store);
            with_session(g, &args.net, args.label_wallets, false, |s, d, plan| {
                // Before anything is sent: a milestone over a grant the chain holds in another
                // layout would release early or fund twice.
                let problems = ops::milestone_layout_problems(s, d, &plan.milestones, &plan.grants)?;
                if !problems.is_empty() {
                    return Err(bad_input(
                        format!("{}; nothing was sent", problems.join("; ")),
                        "[[milestone]] (settle such a milestone off the chain, or push the grant anew under another id)",
                    ));
                }
                let (changed, unsigned) = ops::sync_oracles(s, d, &oracles)?;
                if !unsigned.is_empty() {
                    let Some(path) = &args.unsigned else {
                        return Err(bad_input(
                            format!(
                                "{} oracle changes need the admin {}, which is not this key",
                                unsigned.len(),
                                d.admin
                            ),
                            "pass --unsigned FILE to write them as a Safe transaction batch",
                        ));
                    };
                    write_safe_batch(path, d, &unsigned)?;
                    crate::outln!(
                        "wrote {} admin actions for the Safe {} to {}",
                        unsigned.len(),
                        d.admin,
                        path.display()
                    );
                }
                let missing = ops::missing_grants(s, d, &plan.grants)?;
                let ready: Vec<MilestonePlan> = plan
                    .milestones
                    .iter()
                    .filter(|m| m.input.effects.iter().all(|e| missing.iter().all(|p| p.id != e.grant)))
                    .cloned()
                    .collect();
                let waiting = plan.milestones.len() - ready.len();
                let defined = ops::push_milestones(s, d, &ready, &plan.grants)?;
                crate::outln!("oracle registry: {changed} changes; defined {defined} milestones");
                if waiting > 0 {
                    crate::outln!("{waiting} milestones wait for their grants (chain push-grants first)");
                }
                Ok(())
            })
        }
        ChainCommand::Submit(args) => submit(g, args),
        ChainCommand::PostWithholding(args) => with_session(g, &args.net, args.label_wallets, true, |s, d, plan| {
            let n = ops::post_withholding(s, d, &plan.grants)?;
            crate::outln!("posted withholding for {n} tranches");
            Ok(())
        }),
        ChainCommand::Release(args) => with_session(g, &args.net, args.label_wallets, true, |s, d, plan| {
            // A release as of a time the chain has passed cannot be made again: it was made.
            if let Some(at) = s.at {
                let head = s.backend.head()?.timestamp;
                if head >= at {
                    crate::outln!("the chain's time ({head}) is already at or past --at ({at}): nothing to release");
                    return Ok(());
                }
            }
            let n = ops::release(s, d, &plan.grants)?;
            crate::outln!("{n} grants released tokens");
            Ok(())
        }),
        ChainCommand::Sync(net) => {
            let mut store = open_store(g)?;
            let company = load(&mut *store)?;
            let mut backend = open_backend(&g.dir(), net, &company, &Plan::schedules(&company, true)?)?;
            let d = deployment(&g.dir(), &mut *backend)?;
            let (logs, new) = files::sync(&mut *backend, &d, &g.dir().logs(&d.network))?;
            crate::outln!(
                "{new} new logs, {} in all, through block {}",
                logs.len(),
                logs.last().map_or(0, |l| l.block_number)
            );
            Ok(())
        }
        ChainCommand::Reconcile(args) => reconcile(g, args),
        ChainCommand::Market(args) => market(g, args),
        ChainCommand::Price(args) => price(g, args),
        ChainCommand::SafeCreate(args) => safe_create(g, args),
        ChainCommand::SafeExec(args) => safe_exec(g, args),
        ChainCommand::Anchor(net) => anchor(g, net),
    }
}

/// `chain submit`: each milestone's files as one set to `applyMilestone`.
fn submit(g: &Global, args: &SubmitArgs) -> Result<()> {
    let sets = submission_sets(&args.files)?;
    let mut refused = false;
    with_session(g, &args.net, true, false, |s, d, _| {
        for (milestone, set) in &sets {
            match ops::apply_milestone(s, d, milestone, set)? {
                Ok(true) => crate::outln!("{milestone}: applied on chain ({} attestations)", set.len()),
                Ok(false) => crate::outln!("{milestone}: already applied on chain; nothing sent"),
                Err(r) => {
                    refused = true;
                    crate::outln!("{milestone}: rejected on chain: {r}");
                }
            }
        }
        Ok(())
    })?;
    if refused { Err(crate::reported()) } else { Ok(()) }
}

fn key(g: &Global, args: &KeyArgs) -> Result<()> {
    let path = g.dir().chain_key();
    if std::env::var(KEY_ENV).is_err() && !path.exists() && args.new {
        Key::generate().save(&path)?;
        crate::outln!("created {}", path.display());
    }
    let k = signer(g)?;
    crate::outln!("{}", k.address());
    Ok(())
}

fn print_deployment(backend: &dyn Backend, d: &Deployment) {
    crate::outln!("VestingManager {} on {} (chain {})", d.manager, backend.describe(), d.chain_id);
    crate::outln!("  token      {}{}", d.token, if d.demo_token { " (demo)" } else { "" });
    crate::outln!("  admin      {}", d.admin);
    crate::outln!("  operator   {}", d.operator);
    crate::outln!("  treasury   {}", d.treasury);
    crate::outln!("  tax wallet {}", d.tax_wallet);
    crate::outln!("  deployed   block {} tx {}", d.block, d.tx_hash);
}

/// Runs `f` with a signing session on the deployed manager, then makes the chain durable and
/// lists the transactions sent.
fn with_session(
    g: &Global,
    net: &NetArgs,
    label_wallets: bool,
    withholding: bool,
    f: impl FnOnce(&mut Session<'_>, &Deployment, &Plan) -> Result<()>,
) -> Result<()> {
    let key = signer(g)?;
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    // A company that requires proven wallets is paid to those in effect now (the face's clock).
    let now = (!label_wallets).then(jiff::Timestamp::now);
    let plan = Plan::build_at(&company, label_wallets, withholding, now)?;
    let mut backend = open_backend(&g.dir(), net, &company, &plan)?;
    let d = deployment(&g.dir(), &mut *backend)?;
    let mut s = Session::new(&mut *backend, &key);
    s.gas_limit = net.gas_limit;
    s.at = net.at.as_deref().map(|a| parse_at(a, &company.company.time_zone)).transpose()?;
    let result = f(&mut s, &d, &plan);
    let sent = std::mem::take(&mut s.sent);
    // What was mined stays mined, even when a later step failed.
    backend.flush()?;
    print_sent(&sent);
    result
}

fn reconcile(g: &Global, args: &ReconcileArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let plan = Plan::new(&company, args.label_wallets)?;
    let mut backend = open_backend(&g.dir(), &args.net, &company, &plan)?;
    let (d, report) =
        tokencomp_service::chain::reconcile_report(&g.dir(), &mut *store, &company, &mut *backend, &plan)?;
    if args.json {
        let v = reconcile_json(&company, &d, &report);
        crate::outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        crate::outln!("reconciliation of {} on {} through block {}", d.manager, backend.describe(), report.head_block);
        for (name, items) in [
            ("matched", &report.matched),
            ("missing on chain", &report.missing_on_chain),
            ("unexpected on chain", &report.unexpected_on_chain),
            ("amount mismatch", &report.amount_mismatch),
        ] {
            let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
            for i in items.iter() {
                *by_kind.entry(i.kind).or_default() += 1;
            }
            let kinds: Vec<String> = by_kind.iter().map(|(k, n)| format!("{n} {k}s")).collect();
            crate::outln!("  {name:<20} {:>5}  {}", items.len(), kinds.join(", "));
        }
        for (name, items) in [
            ("missing on chain", &report.missing_on_chain),
            ("unexpected on chain", &report.unexpected_on_chain),
            ("amount mismatch", &report.amount_mismatch),
        ] {
            for i in items.iter() {
                crate::outln!(
                    "  {name}: {} {} tx {} ledger {} expected {} on chain {}",
                    i.kind,
                    i.grant.as_deref().unwrap_or("?"),
                    i.tx_hash.map_or("-".to_owned(), |h| h.to_string()),
                    if i.ledger_events.is_empty() { "-".to_owned() } else { i.ledger_events.join(",") },
                    i.expected,
                    i.on_chain
                );
            }
        }
    }
    if report.is_clean() { Ok(()) } else { Err(anyhow::anyhow!("the chain and the ledger disagree")) }
}

/// A Safe Transaction Builder batch: the JSON the Safe web app imports, one call per action.
fn write_safe_batch(path: &Path, d: &Deployment, calls: &[ops::AdminCall]) -> Result<()> {
    let batch = safe::Batch { chain_id: d.chain_id, safe: d.admin, calls: calls.to_vec() };
    files::write_atomic(path, &format!("{:#}\n", batch.to_json()))
        .with_context(|| format!("writing {}", path.display()))
}

fn safe_create(g: &Global, args: &SafeCreateArgs) -> Result<()> {
    if args.threshold == 0 || usize::try_from(args.threshold).map_or(true, |t| t > args.owners.len()) {
        return Err(bad_input(
            format!("a threshold of {} for {} owners", args.threshold, args.owners.len()),
            "--threshold is between 1 and the number of owners",
        ));
    }
    let key = signer(g)?;
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let plan = Plan::schedules(&company, true)?;
    let mut backend = open_backend(&g.dir(), &args.net, &company, &plan)?;
    let network = backend.network()?;
    let mut s = Session::new(&mut *backend, &key);
    s.gas_limit = args.net.gas_limit;
    s.at = args.net.at.as_deref().map(|a| parse_at(a, &company.company.time_zone)).transpose()?;
    let result = safe::SafeContracts::deploy(&mut s, &g.dir().safe_contracts(&network)).and_then(|c| {
        c.create_safe(&mut s, &args.owners, args.threshold, alloy_primitives::U256::from(args.salt_nonce))
    });
    let sent = s.sent.len();
    backend.flush()?;
    let address = result?;
    crate::outln!("Safe {address} ({} of {} owners; {sent} transactions)", args.threshold, args.owners.len());
    Ok(())
}

fn safe_exec(g: &Global, args: &SafeExecArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| bad_input(format!("{}: not JSON: {e}", args.file.display()), "a Safe batch file"))?;
    let batch = safe::Batch::from_json(&value)
        .map_err(|e| bad_input(format!("{}: not a Safe batch file: {e}", args.file.display()), "a Safe batch file"))?;
    let mut owners = Vec::with_capacity(args.owner_keys.len());
    for path in &args.owner_keys {
        owners.push(Key::load(path)?);
    }
    let key = signer(g)?;
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let plan = Plan::schedules(&company, true)?;
    let mut backend = open_backend(&g.dir(), &args.net, &company, &plan)?;
    let chain_id = backend.chain_id()?;
    if chain_id != batch.chain_id {
        return Err(bad_input(
            format!("the batch is for chain {}, {} is chain {chain_id}", batch.chain_id, backend.describe()),
            "chainId",
        ));
    }
    let owner_refs: Vec<&Key> = owners.iter().collect();
    let mut s = Session::new(&mut *backend, &key);
    s.gas_limit = args.net.gas_limit;
    s.at = args.net.at.as_deref().map(|a| parse_at(a, &company.company.time_zone)).transpose()?;
    let mut result = Ok(());
    for call in &batch.calls {
        if let Err(e) = safe::exec(&mut s, batch.safe, call, &owner_refs) {
            result = Err(e);
            break;
        }
    }
    let sent = std::mem::take(&mut s.sent);
    // What was mined stays mined, even when a later call failed.
    backend.flush()?;
    print_sent(&sent);
    result?;
    crate::outln!("executed {} of {} transactions through the Safe {}", sent.len(), batch.calls.len(), batch.safe);
    Ok(())
}

/// `chain anchor`: the ledger's head into the anchor contract (deployed on first use).
fn anchor(g: &Global, net: &NetArgs) -> Result<()> {
    let key = signer(g)?;
    let mut store = open_store(g)?;
    let events = store.events()?;
    tokencomp_store::verify(&events).map_err(|b| anyhow::anyhow!("refusing to anchor a broken ledger: {b}"))?;
    let head = Head::of(&events);
    let company = load(&mut *store)?;
    drop(store);
    let hash: B256 = format!("0x{}", head.hash).parse().context("the ledger's head hash")?;
    let count = u64::try_from(head.events).context("the event count")?;
    let plan = Plan::schedules(&company, true)?;
    let mut backend = open_backend(&g.dir(), net, &company, &plan)?;
    let network = backend.network()?;
    let describe = backend.describe();
    let mut s = Session::new(&mut *backend, &key);
    s.gas_limit = net.gas_limit;
    s.at = net.at.as_deref().map(|a| parse_at(a, &company.company.time_zone)).transpose()?;
    let result = AnchorContract::deploy(&mut s, &g.dir().anchor(&network))
        .and_then(|c| c.anchor(&mut s, hash, count).map(|m| (c, m)));
    let sent = std::mem::take(&mut s.sent);
    // What was mined stays mined, even when the anchor itself was refused.
    backend.flush()?;
    print_sent(&sent);
    let (c, mined) = result?;
    match mined {
        Some(_) => {
            crate::outln!("anchored event {count} (hash {}) in LedgerAnchor {} on {describe}", head.hash, c.address)
        }
        None => {
            crate::outln!("LedgerAnchor {} on {describe} already holds event {count} (hash {})", c.address, head.hash)
        }
    }
    Ok(())
}

/// The latest head `chain anchor` recorded on the network (`rpc`, else the embedded chain), with
/// where it was read, for `verify-ledger --expect-head chain`.
pub fn anchored_head(g: &Global, rpc: Option<&str>) -> Result<(String, Head)> {
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    drop(store);
    let net = NetArgs { rpc: rpc.map(str::to_owned), gas_limit: None, at: None };
    let plan = Plan::schedules(&company, true)?;
    let mut backend = open_backend(&g.dir(), &net, &company, &plan)?;
    let network = backend.network()?;
    let Some(c) = AnchorContract::existing(&mut *backend, &g.dir().anchor(&network))? else {
        anyhow::bail!("no head is anchored on {}: run `tokencomp chain anchor` first", backend.describe());
    };
    let latest = c.latest(&mut *backend)?;
    if latest.events == 0 {
        anyhow::bail!("the anchor contract {} on {} holds no head yet", c.address, backend.describe());
    }
    let hash = tokencomp_store::hex(latest.hash.as_slice());
    let source = format!(
        "the chain: LedgerAnchor {} on {}, anchored at {}",
        c.address,
        backend.describe(),
        jiff::Timestamp::from_second(i64::try_from(latest.at).unwrap_or(i64::MAX))
            .map_or_else(|_| latest.at.to_string(), |t| t.to_string())
    );
    Ok((source, Head { hash, events: i64::try_from(latest.events).context("the anchored event count")? }))
}

fn market(g: &Global, args: &MarketArgs) -> Result<()> {
    let key = signer(g)?;
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let from = tokencomp_service::reports::date_arg(&args.from, "--from")?;
    let through = match &args.through {
        Some(t) => tokencomp_service::reports::date_arg(t, "--through")?,
        None => company
            .prices
            .keys()
            .filter(|(c, _)| *c == Currency::USD)
            .map(|(_, d)| *d)
            .max()
            .ok_or_else(|| bad_input("no USD close is recorded", "import prices first"))?,
    };
    let plan = Plan::schedules(&company, true)?;
    let mut backend = open_backend(&g.dir(), &args.net, &company, &plan)?;
    let d = deployment(&g.dir(), &mut *backend)?;
    let mut s = Session::new(&mut *backend, &key);
    s.gas_limit = args.net.gas_limit;
    let result = tokencomp_service::chain::market_steps(&g.dir(), &mut s, &company, &d, from, through);
    let sent = s.sent.len();
    backend.flush()?;
    let (m, set) = result?;
    crate::outln!("demo market: pair {} (factory {}, quote USDC {})", m.pair, m.factory, m.quote);
    crate::outln!("set the price for {set} days ({sent} transactions)");
    Ok(())
}

fn price(g: &Global, args: &PriceArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let from = tokencomp_service::reports::date_arg(&args.from, "--from")?;
    let through = args.through.as_deref().map(|t| tokencomp_service::reports::date_arg(t, "--through")).transpose()?;
    let plan = Plan::schedules(&company, true)?;
    let mut backend = open_backend(&g.dir(), &args.net, &company, &plan)?;
    let days = tokencomp_service::chain::TwapDays { pair: args.pair, from, through };
    let recorded =
        tokencomp_service::chain::record_twap(&g.dir(), &mut *store, &company, &mut *backend, &days, &g.stamp())?;
    let company = load(&mut *store)?;
    print_twap(&company, &recorded);
    Ok(())
}

/// Each recorded day's one-day TWAP (when the day before is recorded too) beside its close.
fn print_twap(company: &Company, recorded: &[Date]) {
    let book = tokencomp_service::reports::price_book(company);
    crate::outln!("{:<10}  {:>9}  {:>14}  {:>14}", "day", "block", "twap-1d USD", "close USD");
    for day in recorded {
        let block = company.twap.get(day).map_or(0, |p| p.block);
        let twap = book.fmv(FmvSource::Twap(1), *day).map_or_else(|_| "-".to_owned(), |f| f.price.to_string());
        let close = company.prices.get(&(Currency::USD, *day)).map_or_else(|| "-".to_owned(), ToString::to_string);
        crate::outln!("{day:<10}  {block:>9}  {twap:>14}  {close:>14}");
    }
}

/// One line per mined transaction: block, hash, gas and what it did.
fn print_sent(sent: &[ops::Sent]) {
    for t in sent {
        crate::outln!(
            "  block {:<6} {} gas {:>10}  {}",
            t.mined.block_number,
            t.mined.tx_hash,
            t.mined.gas_used,
            t.what
        );
    }
}

impl NetArgs {
    pub fn net(&self) -> Net {
        Net { rpc: self.rpc.clone(), gas_limit: self.gas_limit, at: self.at.clone() }
    }
}

impl DeployCmd {
    fn request(&self) -> tokencomp_service::chain::Deploy {
        tokencomp_service::chain::Deploy {
            net: self.net.net(),
            token: self.token,
            demo_token: self.demo_token,
            admin: self.admin,
            treasury: self.treasury,
            tax_wallet: self.tax_wallet,
        }
    }
}

/// The chain `net` names for the company (see [`tokencomp_service::chain::open_backend`]).
pub fn open_backend(
    data: &tokencomp_service::DataDir,
    net: &NetArgs,
    company: &Company,
    plan: &Plan,
) -> Result<Box<dyn Backend>> {
    Ok(tokencomp_service::chain::open_backend(data, &net.net(), company, plan)?)
}

fn deploy(
    data: &tokencomp_service::DataDir,
    backend: &mut dyn Backend,
    key: &Key,
    company: &Company,
    args: &DeployCmd,
) -> Result<Deployment> {
    Ok(tokencomp_service::chain::deploy(data, backend, key, company, &args.request())?)
}
