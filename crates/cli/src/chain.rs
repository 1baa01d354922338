//! `tokencomp chain …`: the company's grants on a chain — the embedded one in the data directory
//! by default, any Ethereum JSON-RPC node with `--rpc URL`.
//!
//! The ledger says what should be on the chain: [`plans`] turns each grant's timeline (the
//! engine's, after its events) into the contract's schedule, its revocation and its per-tranche
//! withholding (from the payroll pass), and [`expected`] what reconciliation compares the logs
//! with. `tokencomp-chain` does the sending and the comparing, the same way on both backends.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use alloy_primitives::{Address, B256, keccak256};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde_json::{Value, json};
use tokencomp_chain::anchor::AnchorContract;
use tokencomp_chain::ops::{self, DeployArgs, Deployment, GrantPlan, MilestonePlan, Session, Shape, grant_key};
use tokencomp_chain::reconcile::{Expected, ExpectedGrant, ExpectedRevocation, ExpectedVest, ExpectedWithholding};
use tokencomp_chain::{Backend, Embedded, KEY_ENV, Key, Rpc, files, safe, twap};
use tokencomp_core::calendar::{days, end_of_day, start_of_day};
use tokencomp_core::grant::{EventKind, ForfeitReason, Grant, MilestoneEffect, VestReason};
use tokencomp_core::model::{FmvSource, TermsEffect};
use tokencomp_core::schedule::{LinearModel, Schedule};
use tokencomp_money::Currency;
use tokencomp_store::EventKind as Kind;
use tokencomp_store::Store;
use tokencomp_store::anchor::Head;
use tokencomp_store::ledger::{Company, Fact};

use crate::company::{load, open_store};
use crate::{Global, bad_input};

/// The chain id of the embedded chain when the company file names none (a development chain's).
pub const DEFAULT_CHAIN_ID: u64 = 31337;
/// The demo's signer key: public, so never fund its address anywhere real.
pub const DEMO_KEY: &str = "tokencomp demo key: public, never fund it";

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

/// Where a network's files live in the data directory.
pub fn chain_dir(g: &Global) -> PathBuf {
    g.data.join("chain")
}

pub fn key_path(g: &Global) -> PathBuf {
    g.data.join("keys").join("chain.key")
}

/// The signer: `TOKENCOMP_CHAIN_KEY`, else the key file.
fn signer(g: &Global) -> Result<Key> {
    if let Ok(hex) = std::env::var(KEY_ENV) {
        return Ok(Key::from_hex(&hex, KEY_ENV)?);
    }
    let path = key_path(g);
    if !path.exists() {
        return Err(bad_input(
            format!("no signer key: {} does not exist and {KEY_ENV} is not set", path.display()),
            "run `tokencomp chain key --new`, or set the variable",
        ));
    }
    Ok(Key::load(&path)?)
}

/// The demo's key, derived from a public phrase so every demo run signs the same transactions.
pub fn demo_key() -> Key {
    // INVARIANT: a keccak-256 digest is 32 bytes, a valid secp256k1 scalar except with
    // negligible probability, and this fixed phrase's digest is one (the demo test signs with it).
    Key::from_hex(&keccak256(DEMO_KEY.as_bytes()).to_string(), "the demo key").expect("the demo key is valid")
}

fn chain_id(company: &Company) -> u64 {
    company.token.chain_id.unwrap_or(DEFAULT_CHAIN_ID)
}

pub fn open_backend(g: &Global, net: &NetArgs, company: &Company, plan: &Plan) -> Result<Box<dyn Backend>> {
    let want = chain_id(company);
    match &net.rpc {
        Some(url) => {
            let mut rpc = Rpc::connect(url)?;
            let id = rpc.chain_id()?;
            if id != want {
                return Err(bad_input(
                    format!("the node at {url} is chain {id}; the company's token is on chain {want}"),
                    "[token] chain_id",
                ));
            }
            Ok(Box::new(rpc))
        }
        None => {
            let genesis = plan.genesis(&company.company.time_zone)?;
            Ok(Box::new(Embedded::open(&chain_dir(g).join("embedded.json"), want, genesis)?))
        }
    }
}

fn parse_at(s: &str, tz: &TimeZone) -> Result<u64> {
    let instant = if let Ok(d) = s.parse::<Date>() {
        end_of_day(d, tz)?
    } else {
        let ts: jiff::Timestamp = s
            .parse()
            .map_err(|_| bad_input(format!("`{s}` is not a date (YYYY-MM-DD) or an RFC 3339 time"), "--at"))?;
        ts.as_second()
    };
    u64::try_from(instant).map_err(|_| bad_input(format!("`{s}` is before 1970"), "--at"))
}

fn deployment_path(g: &Global, network: &str) -> PathBuf {
    chain_dir(g).join(format!("{network}.deployment.json"))
}

fn deployment(g: &Global, backend: &mut dyn Backend) -> Result<Deployment> {
    let network = backend.network()?;
    let path = deployment_path(g, &network);
    Deployment::load(&path)?.ok_or_else(|| {
        bad_input(format!("nothing is deployed on {}", backend.describe()), "run `tokencomp chain deploy` first")
    })
}

/// A person's wallet address: the `wallet` field when it is an address, else (with
/// `label_wallets`) one derived from the label.
fn wallet(company: &Company, person: &str, label_wallets: bool) -> Result<Address> {
    let p = company.people.get(person).with_context(|| format!("grant holder `{person}` is not a person"))?;
    let label = p.wallet.clone().unwrap_or_else(|| person.to_owned());
    if let Ok(a) = label.parse::<Address>() {
        return Ok(a);
    }
    if label_wallets {
        return Ok(Address::from_slice(&keccak256(format!("tokencomp:wallet:{label}").as_bytes())[12..]));
    }
    Err(bad_input(
        format!("person `{person}` has wallet `{label}`, a label, not an address"),
        "set `wallet = \"0x…\"` for the person, or pass --label-wallets for a demo",
    ))
}

/// The instant a vest on `date` happens for this grant: 00:00 that day for steps, the end of
/// the day for a per-second linear schedule's month-end samples (the engine samples there).
fn vest_instant(linear: bool, date: Date, tz: &TimeZone) -> Result<u64> {
    let t = if linear { end_of_day(date, tz)? } else { start_of_day(date, tz)? };
    u64::try_from(t).context("a vest before 1970")
}

/// The tokens payroll takes from each (grant, vest date, reason) to fund tax: withheld under
/// net settlement, sold to cover (by the company, from the tax wallet) under sell-to-cover.
type Withheld = BTreeMap<(String, Date, VestReason), u128>;

fn withheld(company: &Company) -> Result<Withheld> {
    let through = company.recognized.keys().map(|k| k.1).max();
    let Some(through) = through else { return Ok(BTreeMap::new()) };
    let mut out = BTreeMap::new();
    for e in crate::compliance::income_events(company, through)? {
        let tokens = e.settlement.tokens_withheld.base_units().saturating_add(e.settlement.tokens_sold.base_units());
        let slot = out.entry((e.grant.clone(), e.vest_date, e.reason)).or_insert(0u128);
        *slot = slot.saturating_add(tokens);
    }
    Ok(out)
}

/// The ledger's grants as the contract should hold them, with what reconciliation needs of
/// each: built once per command (one timeline per grant, one compliance pass).
pub struct Plan {
    pub grants: Vec<GrantPlan>,
    /// The `[[milestone]]` terms as the contract should hold them.
    pub milestones: Vec<MilestonePlan>,
    /// Grants whose milestones the contract settles: they hold only their time-vesting part, and
    /// their tax is settled off the contract (no withholding posted), as for linear grants.
    on_chain_milestones: BTreeSet<String>,
    /// Per grant: each timeline tranche's (date, reason), by tranche index.
    tranches: BTreeMap<String, Vec<(Date, VestReason)>>,
    withheld: Withheld,
}

impl Plan {
    /// Each ledger grant as the contract should hold it.
    pub fn new(company: &Company, label_wallets: bool) -> Result<Plan> {
        Plan::build(company, label_wallets, true)
    }

    /// The grants' schedules without the compliance pass (no withholding): for the steps that
    /// never post it, so they run before the prices that pass needs are recorded (a company
    /// whose FMV is the TWAP must be able to deploy and record it first).
    pub fn schedules(company: &Company, label_wallets: bool) -> Result<Plan> {
        Plan::build(company, label_wallets, false)
    }

    fn build(company: &Company, label_wallets: bool, withholding: bool) -> Result<Plan> {
        let tz = &company.company.time_zone;
        let withheld = if withholding { withheld(company)? } else { Withheld::new() };
        let mut grants = Vec::new();
        let mut tranches = BTreeMap::new();
        let on_chain_milestones: BTreeSet<String> =
            company.milestones.values().flat_map(|m| m.grants.iter().cloned()).collect();
        for (id, rec) in &company.grants {
            if on_chain_milestones.contains(id) {
                let tl = rec.terms.grant.timeline(tz, None).map_err(|e| anyhow::anyhow!("grant {id}: {e}"))?;
                tranches.insert(id.clone(), tl.tranches.iter().map(|t| (t.date, t.reason)).collect());
                grants.push(milestone_grant_plan(company, id, label_wallets)?);
                continue;
            }
            let grant = &rec.terms.grant;
            let tl = grant.timeline(tz, None).map_err(|e| anyhow::anyhow!("grant {id}: {e}"))?;
            let linear = matches!(grant.schedule, Schedule::Linear(_));
            let total = tl.granted.base_units();
            let plain_linear = match &grant.schedule {
                Schedule::Linear(l) if grant.events.is_empty() && grant.performance.is_empty() => {
                    (l.model() == LinearModel::OpenZeppelin && l.granularity() == 1).then_some(l)
                }
                _ => None,
            };
            let shape = match plain_linear {
                Some(l) => {
                    let u = |t: i64| u64::try_from(t).context("a linear schedule before 1970");
                    Shape::Linear { start: u(l.start())?, cliff: u(l.cliff().unwrap_or(l.start()))?, end: u(l.end())? }
                }
                None => {
                    let mut steps = Vec::with_capacity(tl.tranches.len() + 1);
                    for t in &tl.tranches {
                        steps.push((vest_instant(linear, t.date, tz)?, t.cumulative.base_units()));
                    }
                    // What the schedule does not vest — forfeited, or a performance tranche no
                    // milestone has settled yet — waits in a step that never comes: revoke
                    // returns it to the treasury.
                    if steps.last().map_or(0, |s| s.1) < total {
                        steps.push((u64::MAX, total));
                    }
                    Shape::Tranched(steps)
                }
            };
            let revoke_at = match tl.forfeitures.iter().map(|f| f.date).max() {
                Some(d) => Some(u64::try_from(end_of_day(d, tz)?).context("a forfeiture before 1970")?),
                None => None,
            };
            let mut withholding = Vec::new();
            if matches!(shape, Shape::Tranched(_)) {
                // Payroll withholds per (date, reason); tranches sharing both (a milestone's
                // unlock and its pull-forward) release together, so their withholding is laid
                // over them in order, each tranche carrying at most its own amount.
                let mut i = 0;
                while i < tl.tranches.len() {
                    let (date, reason) = (tl.tranches[i].date, tl.tranches[i].reason);
                    let mut j = i;
                    while j < tl.tranches.len() && tl.tranches[j].date == date && tl.tranches[j].reason == reason {
                        j += 1;
                    }
                    let mut rest = withheld.get(&(id.clone(), date, reason)).copied().unwrap_or(0);
                    for (k, t) in tl.tranches.iter().enumerate().take(j).skip(i) {
                        let here = rest.min(t.amount.base_units());
                        if here > 0 {
                            withholding.push((u64::try_from(k)?, here));
                        }
                        rest -= here;
                    }
                    i = j;
                }
            }
            tranches.insert(id.clone(), tl.tranches.iter().map(|t| (t.date, t.reason)).collect());
            grants.push(GrantPlan {
                grant: id.clone(),
                id: grant_key(id),
                beneficiary: wallet(company, &grant.holder, label_wallets)?,
                total,
                shape,
                revoke_at,
                withholding,
            });
        }
        let milestones = milestone_plans(company)?;
        Ok(Plan { grants, milestones, on_chain_milestones, tranches, withheld })
    }

    /// A new embedded chain starts the day before the company's first vest, so its history fits.
    fn genesis(&self, tz: &TimeZone) -> Result<u64> {
        let first = self.tranches.values().filter_map(|t| t.first()).map(|t| t.0).min();
        let first = first.unwrap_or(Date::constant(2020, 1, 2)).min(Date::constant(2020, 1, 2));
        u64::try_from(start_of_day(first.yesterday()?, tz)?).context("the first vest predates 1970")
    }

    /// What the ledger says the chain should show, with the ledger event ids behind each part.
    pub fn expected(&self, store: &mut dyn Store, company: &Company) -> Result<Expected> {
        let tz = &company.company.time_zone;
        let mut x = Expected::default();
        for p in &self.grants {
            let linear = matches!(company.grants[&p.grant].terms.grant.schedule, Schedule::Linear(_));
            // The grant's ledger events by kind, and vests and forfeitures also by date and reason.
            let mut issued = Vec::new();
            let mut forfeitures = Vec::new();
            let mut vest_events: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
            for e in store.events_for(&tokencomp_store::Subject::Grant(p.grant.clone()))? {
                match e.event.kind {
                    Kind::GrantIssued | Kind::GrantCorrected => issued.push(e.event.id),
                    Kind::Forfeiture | Kind::ForfeitureReversal => forfeitures.push(e.event.id),
                    Kind::Vest | Kind::VestReversal => {
                        let v: Value = serde_json::from_str(&e.event.payload).unwrap_or(Value::Null);
                        let key = (
                            v["date"].as_str().unwrap_or("").to_owned(),
                            v["reason"].as_str().unwrap_or("").to_owned(),
                        );
                        vest_events.entry(key).or_default().push(e.event.id);
                    }
                    _ => {}
                }
            }
            let vest_ids = |date: Date, reason: VestReason| {
                vest_events.get(&(date.to_string(), reason.as_str().to_owned())).cloned().unwrap_or_default()
            };
            x.grants.push(ExpectedGrant {
                grant: p.grant.clone(),
                id: p.id,
                total: p.total,
                beneficiary: p.beneficiary,
                ledger_events: issued,
            });
            let mut recognized = BTreeSet::new();
            for ((grant, date, reason), units) in
                company.recognized.range((p.grant.clone(), Date::MIN, VestReason::Cliff)..)
            {
                if grant != &p.grant {
                    break;
                }
                if *units == 0 {
                    continue;
                }
                recognized.insert((*date, *reason));
                // A per-second linear grant has no tranches to withhold from: it releases gross,
                // and its tax is settled off the contract (a covering sale from the person's wallet).
                let w = match p.shape {
                    Shape::Tranched(_) if !self.on_chain_milestones.contains(grant) => {
                        self.withheld.get(&(grant.clone(), *date, *reason)).copied().unwrap_or(0)
                    }
                    _ => 0,
                };
                x.vests.push(ExpectedVest {
                    grant: grant.clone(),
                    id: p.id,
                    date: date.to_string(),
                    instant: vest_instant(linear, *date, tz)?,
                    units: *units,
                    withheld: w,
                    ledger_events: vest_ids(*date, *reason),
                });
            }
            let tranches = &self.tranches[&p.grant];
            for &(index, tokens) in &p.withholding {
                let Some(&(date, reason)) = usize::try_from(index).ok().and_then(|i| tranches.get(i)) else { continue };
                if recognized.contains(&(date, reason)) {
                    x.withholdings.push(ExpectedWithholding {
                        grant: p.grant.clone(),
                        id: p.id,
                        index,
                        tokens,
                        ledger_events: vest_ids(date, reason),
                    });
                }
            }
            let forfeited: u128 = company
                .forfeits_recognized
                .range((p.grant.clone(), Date::MIN, ForfeitReason::Termination)..)
                .take_while(|((g, _, _), _)| g == &p.grant)
                .map(|(_, a)| *a)
                .sum();
            if let (Some(at), true) = (p.revoke_at, forfeited > 0) {
                x.revocations.push(ExpectedRevocation {
                    grant: p.grant.clone(),
                    id: p.id,
                    effective_at: at,
                    returned: forfeited,
                    ledger_events: forfeitures,
                });
            }
        }
        Ok(x)
    }
}

pub fn run(g: &Global, cmd: &ChainCommand) -> Result<()> {
    match cmd {
        ChainCommand::Key(args) => key(g, args),
        ChainCommand::Deploy(args) => {
            let key = signer(g)?;
            let mut store = open_store(g)?;
            let company = load(&mut *store)?;
            let plan = Plan::schedules(&company, true)?;
            let mut backend = open_backend(g, &args.net, &company, &plan)?;
            let d = deploy(g, &mut *backend, &key, &company, args)?;
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
            let mut backend = open_backend(g, net, &company, &Plan::schedules(&company, true)?)?;
            let d = deployment(g, &mut *backend)?;
            let (logs, new) = files::sync(&mut *backend, &d, &logs_path(g, &d.network))?;
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

/// A grant whose milestones the contract settles: the contract holds its time-vesting part only
/// (the engine's timeline without performance tranches and milestone events), and the milestones'
/// `defineMilestones` funds their performance amounts. With a pull-forward milestone the contract
/// counts installments, so the grant is pushed with one step per installment
/// (`Schedule::installment_steps`); that needs a schedule no other event reshapes.
fn milestone_grant_plan(company: &Company, id: &str, label_wallets: bool) -> Result<GrantPlan> {
    let tz = &company.company.time_zone;
    let grant = &company.grants[id].terms.grant;
    let time_part = Grant {
        performance: Vec::new(),
        events: grant.events.iter().filter(|e| !matches!(e.kind, EventKind::Milestone { .. })).cloned().collect(),
        ..grant.clone()
    };
    let full = grant.timeline(tz, None).map_err(|e| anyhow::anyhow!("grant {id}: {e}"))?;
    let tl = time_part.timeline(tz, None).map_err(|e| anyhow::anyhow!("grant {id}: {e}"))?;
    let total = tl.granted.base_units();
    let pulls = company.milestones.values().any(|m| {
        m.grants.iter().any(|g| g == id) && matches!(m.effect, TermsEffect::Fixed(MilestoneEffect::PullForward { .. }))
    });
    let mut steps = Vec::new();
    if pulls {
        let reshaped = time_part.events.iter().any(|e| !matches!(e.kind, EventKind::Revocation));
        let installments = if reshaped { None } else { grant.schedule.installment_steps(total, tz)? };
        let Some(installments) = installments else {
            return Err(bad_input(
                format!(
                    "grant `{id}` has a pull_forward milestone, which the contract applies by counting installments"
                ),
                "on the chain that needs a calendar or custom schedule that no leave, termination, change of control or amendment reshapes",
            ));
        };
        for (at, cumulative) in installments {
            steps.push((u64::try_from(at).context("an installment before 1970")?, cumulative));
        }
    } else {
        let linear = matches!(grant.schedule, Schedule::Linear(_));
        for t in &tl.tranches {
            steps.push((vest_instant(linear, t.date, tz)?, t.cumulative.base_units()));
        }
    }
    // What the schedule does not vest (forfeited) waits in a step that never comes.
    if steps.last().map_or(0, |s| s.1) < total {
        steps.push((u64::MAX, total));
    }
    let revoke_at = match full.forfeitures.iter().map(|f| f.date).max() {
        Some(d) => Some(u64::try_from(end_of_day(d, tz)?).context("a forfeiture before 1970")?),
        None => None,
    };
    Ok(GrantPlan {
        grant: id.to_owned(),
        id: grant_key(id),
        beneficiary: wallet(company, &grant.holder, label_wallets)?,
        total,
        shape: if pulls { Shape::Installments(steps) } else { Shape::Tranched(steps) },
        revoke_at,
        withholding: Vec::new(),
    })
}

/// The `[[milestone]]` terms as `defineMilestones` takes them, each effect per grant, with the
/// funding each performance effect needs (the most it can vest, as the contract computes it).
fn milestone_plans(company: &Company) -> Result<Vec<MilestonePlan>> {
    use tokencomp_chain::attest::value;
    use tokencomp_chain::ops::{EffectInput, MilestoneInput};
    use tokencomp_core::attestation::Comparison;
    let mut out = Vec::new();
    for terms in company.milestones.values() {
        let m = &terms.milestone;
        let mut effects = Vec::new();
        let mut funding = 0u128;
        for grant_id in &terms.grants {
            let Some(rec) = company.grants.get(grant_id) else {
                return Err(bad_input(
                    format!("milestone `{}` names grant `{grant_id}`, which the ledger does not have", m.id),
                    "[[milestone]]",
                ));
            };
            let target_of = |tranche: &str| -> Result<(u128, u32)> {
                let t = rec.terms.grant.performance.iter().find(|p| p.id == tranche).ok_or_else(|| {
                    bad_input(format!("grant `{grant_id}` has no performance tranche `{tranche}`"), "[[milestone]]")
                })?;
                Ok((t.target.base_units(), t.cap_bps))
            };
            let bps_of = |amount: u128, bps: u32| {
                tokencomp_money::mul_div_floor(amount, u128::from(bps), 10_000).ok_or_else(|| {
                    bad_input(format!("grant `{grant_id}`: {bps} bps of {amount} does not fit u128"), "[[milestone]]")
                })
            };
            let (kind, periods, bps, target, funded) = match &terms.effect {
                TermsEffect::Fixed(MilestoneEffect::Unlock { tranche }) => {
                    let (target, _) = target_of(tranche)?;
                    (1u8, 0, 0, target, target)
                }
                TermsEffect::Fixed(MilestoneEffect::PullForward { periods }) => (2, *periods, 0, 0, 0),
                TermsEffect::Fixed(MilestoneEffect::Scale { tranche, bps }) => {
                    let (target, _) = target_of(tranche)?;
                    (3, 0, *bps, target, bps_of(target, *bps)?)
                }
                TermsEffect::Graded { tranche } => {
                    let (target, cap) = target_of(tranche)?;
                    (4, 0, cap, target, bps_of(target, cap)?)
                }
            };
            funding = funding.checked_add(funded).ok_or_else(|| {
                bad_input(format!("milestone `{}`: its funding does not fit u128", m.id), "[[milestone]]")
            })?;
            effects.push(EffectInput { grant: grant_key(grant_id), kind, periods, bps, target });
        }
        let comparison = match m.comparison {
            Comparison::Gte => 0,
            Comparison::Gt => 1,
            Comparison::Lte => 2,
            Comparison::Lt => 3,
            Comparison::Eq => 4,
        };
        out.push(MilestonePlan {
            input: MilestoneInput {
                id: m.id.clone(),
                metric: m.metric.clone(),
                comparison,
                threshold: value(m.threshold),
                subject: m.subject.to_string(),
                deadline: m.deadline,
                quorum: m.quorum,
                effects,
            },
            funding,
        });
    }
    Ok(out)
}

/// Each oracle of the ledger's registry with its active key (`None` when revoked).
fn oracle_keys(company: &Company) -> Vec<(String, Option<Address>)> {
    company
        .book()
        .registry
        .oracles()
        .map(|(id, keys)| {
            let active = keys.last().filter(|k| k.until.is_none()).map(|k| Address::from(k.address.0));
            (id.to_owned(), active)
        })
        .collect()
}

/// Submission files grouped by milestone, in the order each milestone first appears.
fn submission_sets(files: &[PathBuf]) -> Result<Vec<(String, Vec<tokencomp_chain::attest::Submission>)>> {
    let mut sets: Vec<(String, Vec<tokencomp_chain::attest::Submission>)> = Vec::new();
    for path in files {
        let (s, _) = crate::oracle::read_submission(path)?;
        let m = s.attestation.milestone.clone();
        match sets.iter_mut().find(|(x, _)| *x == m) {
            Some((_, set)) => set.push(s),
            None => sets.push((m, vec![s])),
        }
    }
    Ok(sets)
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
    if refused { Err(anyhow::Error::new(crate::BadInput::default())) } else { Ok(()) }
}

/// What the demo's chain steps did.
pub struct DemoChain {
    pub deployment: Deployment,
    pub transactions: usize,
    pub gas: u64,
    pub report: tokencomp_chain::reconcile::Report,
    /// The demo market's pair and the TWAP points recorded from it.
    pub market: twap::Market,
    pub twap_days: Vec<Date>,
}

/// The demo's chain steps on the embedded chain, with the demo key: deploy a demo token and
/// the manager, fund, a demo market following the month's closes (`chain market`), push the grants (and revocations) the day before `through`, post the
/// withholding, release at the end of `through`, reconcile, and record the TWAP points (`chain price`). The same steps run as separate
/// commands (`chain deploy --demo-token`, `fund`, `push-grants --at`, …) give the same chain.
pub fn demo_steps(
    g: &Global,
    store: &mut dyn Store,
    company: &Company,
    through: Date,
    attestations: &[PathBuf],
) -> Result<DemoChain> {
    let key = demo_key();
    let tz = &company.company.time_zone;
    let net = NetArgs { rpc: None, gas_limit: None, at: None };
    let plan = Plan::new(company, true)?;
    let plans = &plan.grants;
    let mut backend = open_backend(g, &net, company, &plan)?;
    let d = deployment(g, &mut *backend)?;
    let mut s = Session::new(&mut *backend, &key);
    ops::fund(&mut s, &d, plans, &plan.milestones)?;
    // The demo market follows the closes of `through`'s month up to the day before, when the
    // grants are pushed: a chain's time only moves forward.
    let first = through.first_of_month();
    let (market, _) = market_steps(g, &mut s, company, &d, first, through.yesterday()?)?;
    let before = u64::try_from(end_of_day(through.yesterday()?, tz)?)?;
    s.at = Some(before);
    ops::push_grants(&mut s, &d, plans)?;
    ops::revoke_due(&mut s, &d, plans, before)?;
    // `chain push-milestones`, then `chain submit` with the oracle's signed files.
    ops::sync_oracles(&mut s, &d, &oracle_keys(company))?;
    ops::push_milestones(&mut s, &d, &plan.milestones, plans)?;
    for (milestone, set) in submission_sets(attestations)? {
        if let Err(r) = ops::apply_milestone(&mut s, &d, &milestone, &set)? {
            anyhow::bail!("the demo's attestation for {milestone} was refused on the chain: {r}");
        }
    }
    ops::post_withholding(&mut s, &d, plans)?;
    s.at = Some(u64::try_from(end_of_day(through, tz)?)?);
    ops::release(&mut s, &d, plans)?;
    let sent = std::mem::take(&mut s.sent);
    backend.flush()?;
    let (_, report) = reconcile_report(g, store, company, &mut *backend, &plan)?;
    // The release at the end of `through` made every day of the market final.
    let twap_days = record_twap(
        g,
        store,
        company,
        &mut *backend,
        Some(market.pair),
        first.yesterday()?,
        Some(through.yesterday()?),
    )?;
    Ok(DemoChain {
        deployment: d,
        transactions: sent.len(),
        gas: sent.iter().map(|t| t.mined.gas_used).sum(),
        report,
        market,
        twap_days,
    })
}

/// The demo's first chain step, before its ledger runs: the manager deployed with the demo key
/// (`chain deploy --demo-token`), so the oracle can sign for its domain.
pub fn demo_deploy(g: &Global, company: &Company) -> Result<Deployment> {
    let key = demo_key();
    demo_key_file(g, &key)?;
    let net = NetArgs { rpc: None, gas_limit: None, at: None };
    let plan = Plan::schedules(company, true)?;
    let mut backend = open_backend(g, &net, company, &plan)?;
    let args = DeployCmd { net, token: None, demo_token: true, admin: None, treasury: None, tax_wallet: None };
    let d = deploy(g, &mut *backend, &key, company, &args)?;
    backend.flush()?;
    Ok(d)
}

/// The demo writes its public key as the data directory's key file, so the `chain` commands
/// continue its chain.
fn demo_key_file(g: &Global, key: &Key) -> Result<()> {
    let path = key_path(g);
    if !path.exists() {
        key.save(&path)?;
    }
    Ok(())
}

fn key(g: &Global, args: &KeyArgs) -> Result<()> {
    let path = key_path(g);
    if std::env::var(KEY_ENV).is_err() && !path.exists() && args.new {
        Key::generate().save(&path)?;
        crate::outln!("created {}", path.display());
    }
    let k = signer(g)?;
    crate::outln!("{}", k.address());
    Ok(())
}

pub fn deploy(
    g: &Global,
    backend: &mut dyn Backend,
    key: &Key,
    company: &Company,
    args: &DeployCmd,
) -> Result<Deployment> {
    let tz = &company.company.time_zone;
    let token = match (&args.token, args.demo_token, &company.token.address) {
        (Some(t), _, _) => Some(*t),
        (None, true, _) => None,
        (None, false, Some(a)) => {
            Some(a.parse::<Address>().map_err(|_| bad_input(format!("`{a}` is not an address"), "[token] address"))?)
        }
        (None, false, None) => {
            return Err(bad_input(
                "the company file has no token address",
                "set [token] address, pass --token ADDR, or --demo-token for a demo",
            ));
        }
    };
    let token_settings = &company.token.token;
    let tax_default =
        Address::from_slice(&keccak256(format!("tokencomp:tax:{}", company.company.name).as_bytes())[12..]);
    let deploy_args = DeployArgs {
        token,
        demo_symbol: token_settings.symbol().to_owned(),
        demo_decimals: token_settings.decimals(),
        // The demo treasury holds a billion tokens.
        demo_supply: 10u128.pow(u32::from(token_settings.decimals())).saturating_mul(1_000_000_000),
        admin: args.admin.unwrap_or(key.address()),
        treasury: args.treasury.unwrap_or(key.address()),
        tax_wallet: args.tax_wallet.unwrap_or(tax_default),
    };
    let network = backend.network()?;
    let mut s = Session::new(backend, key);
    s.gas_limit = args.net.gas_limit;
    s.at = args.net.at.as_deref().map(|a| parse_at(a, tz)).transpose()?;
    let d = ops::deploy(&mut s, &deployment_path(g, &network), &deploy_args)?;
    s.backend.flush()?;
    Ok(d)
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
    let plan = Plan::build(&company, label_wallets, withholding)?;
    let mut backend = open_backend(g, net, &company, &plan)?;
    let d = deployment(g, &mut *backend)?;
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

/// The logs cache: every manager log read so far, and the next block to read.
fn logs_path(g: &Global, network: &str) -> PathBuf {
    chain_dir(g).join(format!("{network}.logs.json"))
}

pub fn reconcile_report(
    g: &Global,
    store: &mut dyn Store,
    company: &Company,
    backend: &mut dyn Backend,
    plan: &Plan,
) -> Result<(Deployment, tokencomp_chain::reconcile::Report)> {
    let d = deployment(g, backend)?;
    let expected = plan.expected(store, company)?;
    let (logs, _) = files::sync(backend, &d, &logs_path(g, &d.network))?;
    let head = backend.head()?;
    Ok((d, tokencomp_chain::reconcile::reconcile(&expected, &logs, head.number, head.timestamp)))
}

/// The chain a server reads: `TOKENCOMP_RPC`'s node when set (as the `chain` commands'
/// `--rpc` default), else the embedded chain.
fn server_net() -> NetArgs {
    NetArgs { rpc: std::env::var("TOKENCOMP_RPC").ok().filter(|u| !u.is_empty()), gas_limit: None, at: None }
}

/// `chain reconcile --json`'s document on a loaded company.
pub fn reconcile_doc(g: &Global, store: &mut dyn Store, company: &Company, label_wallets: bool) -> Result<Value> {
    let plan = Plan::new(company, label_wallets)?;
    let mut backend = open_backend(g, &server_net(), company, &plan)?;
    let (d, report) = reconcile_report(g, store, company, &mut *backend, &plan)?;
    Ok(reconcile_json(company, &d, &report))
}

fn reconcile_json(company: &Company, d: &Deployment, report: &tokencomp_chain::reconcile::Report) -> Value {
    let mut v = report.to_json();
    if let Value::Object(m) = &mut v {
        let mut doc = serde_json::Map::new();
        doc.insert(
            "token".into(),
            json!({"symbol": company.token.token.symbol(), "decimals": company.token.token.decimals()}),
        );
        doc.insert("chain_id".into(), json!(d.chain_id));
        doc.insert("manager".into(), json!(d.manager.to_string()));
        doc.extend(std::mem::take(m));
        v = Value::Object(doc);
    }
    v
}

/// The deployment on the embedded chain (or `TOKENCOMP_RPC`'s node) and its head.
pub fn status_doc(g: &Global, company: &Company) -> Result<Value> {
    // Only the chain's genesis is needed: no compliance pass, so no price is, and wallets are
    // not read (label wallets are allowed).
    let plan = Plan::schedules(company, true)?;
    let net = server_net();
    if net.rpc.is_none() && !chain_dir(g).join("embedded.json").exists() {
        return Ok(json!({"deployed": false, "network": null, "chain_id": null, "manager": null,
                         "token_address": null, "head_block": null, "head_timestamp": null}));
    }
    let mut backend = open_backend(g, &net, company, &plan)?;
    let network = backend.network()?;
    let head = backend.head()?;
    let d = Deployment::load(&deployment_path(g, &network))?;
    Ok(json!({"deployed": d.is_some(), "network": network, "chain_id": chain_id(company),
              "manager": d.as_ref().map(|d| d.manager.to_string()), "token_address": d.as_ref().map(|d| d.token.to_string()),
              "head_block": head.number, "head_timestamp": head.timestamp}))
}

fn reconcile(g: &Global, args: &ReconcileArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let plan = Plan::new(&company, args.label_wallets)?;
    let mut backend = open_backend(g, &args.net, &company, &plan)?;
    let (d, report) = reconcile_report(g, &mut *store, &company, &mut *backend, &plan)?;
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

fn safe_contracts_path(g: &Global, network: &str) -> PathBuf {
    chain_dir(g).join(format!("{network}.safe.json"))
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
    let mut backend = open_backend(g, &args.net, &company, &plan)?;
    let network = backend.network()?;
    let mut s = Session::new(&mut *backend, &key);
    s.gas_limit = args.net.gas_limit;
    s.at = args.net.at.as_deref().map(|a| parse_at(a, &company.company.time_zone)).transpose()?;
    let result = safe::SafeContracts::deploy(&mut s, &safe_contracts_path(g, &network)).and_then(|c| {
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
    let mut backend = open_backend(g, &args.net, &company, &plan)?;
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

fn anchor_path(g: &Global, network: &str) -> PathBuf {
    chain_dir(g).join(format!("{network}.anchor.json"))
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
    let mut backend = open_backend(g, net, &company, &plan)?;
    let network = backend.network()?;
    let describe = backend.describe();
    let mut s = Session::new(&mut *backend, &key);
    s.gas_limit = net.gas_limit;
    s.at = net.at.as_deref().map(|a| parse_at(a, &company.company.time_zone)).transpose()?;
    let result = AnchorContract::deploy(&mut s, &anchor_path(g, &network))
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
    let mut backend = open_backend(g, &net, &company, &plan)?;
    let network = backend.network()?;
    let Some(c) = AnchorContract::existing(&mut *backend, &anchor_path(g, &network))? else {
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

fn market_path(g: &Global, network: &str) -> PathBuf {
    chain_dir(g).join(format!("{network}.market.json"))
}

/// Creates the demo market once and moves its price to each day's recorded close from `from`
/// through `through`, at the start of the day (days the pair has already passed are skipped).
/// Returns the market and the days set.
fn market_steps(
    g: &Global,
    s: &mut Session<'_>,
    company: &Company,
    d: &Deployment,
    from: Date,
    through: Date,
) -> Result<(twap::Market, usize)> {
    let tz = &company.company.time_zone;
    let m = twap::demo_market(s, &market_path(g, &d.network), d)?;
    let pool = twap::pool(s, m.pair, d.token)?;
    let logs = s.backend.logs(m.pair, 0)?;
    let mut last = twap::history(pool, &logs)?.syncs.last().map(|r| r.timestamp);
    let mut set = 0;
    for day in days(from, through) {
        let close = company.prices.get(&(Currency::USD, day)).ok_or_else(|| {
            bad_input(format!("no USD close is recorded for {day}"), "a demo market follows the recorded closes")
        })?;
        let at = u64::try_from(start_of_day(day, tz)?).context("a day before 1970")?;
        if last.is_some_and(|t| t >= at) {
            continue;
        }
        // The price changes at the day's start, after a mint or two in the seconds before it.
        let head = s.backend.head()?.timestamp;
        if head.saturating_add(3) > at {
            return Err(bad_input(
                format!(
                    "the chain's time ({head}) is already at the start of {day} ({at}): a chain only moves forward"
                ),
                "--from",
            ));
        }
        let num = u128::try_from(close.mantissa()).context("a negative close")?;
        twap::set_demo_price(s, &pool, num, close.scale(), Some(at))?;
        last = Some(at);
        set += 1;
    }
    Ok((m, set))
}

fn market(g: &Global, args: &MarketArgs) -> Result<()> {
    let key = signer(g)?;
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let from = crate::compliance::date_arg(&args.from, "--from")?;
    let through = match &args.through {
        Some(t) => crate::compliance::date_arg(t, "--through")?,
        None => company
            .prices
            .keys()
            .filter(|(c, _)| *c == Currency::USD)
            .map(|(_, d)| *d)
            .max()
            .ok_or_else(|| bad_input("no USD close is recorded", "import prices first"))?,
    };
    let plan = Plan::schedules(&company, true)?;
    let mut backend = open_backend(g, &args.net, &company, &plan)?;
    let d = deployment(g, &mut *backend)?;
    let mut s = Session::new(&mut *backend, &key);
    s.gas_limit = args.net.gas_limit;
    let result = market_steps(g, &mut s, &company, &d, from, through);
    let sent = s.sent.len();
    backend.flush()?;
    let (m, set) = result?;
    crate::outln!("demo market: pair {} (factory {}, quote USDC {})", m.pair, m.factory, m.quote);
    crate::outln!("set the price for {set} days ({sent} transactions)");
    Ok(())
}

/// Reads the pair's history, checks it against the pair's own counters, and records the point
/// at the end of each day from `from` through `through` (default: the last day the chain's head
/// has passed). Returns the days recorded.
fn record_twap(
    g: &Global,
    store: &mut dyn Store,
    company: &Company,
    backend: &mut dyn Backend,
    pair: Option<Address>,
    from: Date,
    through: Option<Date>,
) -> Result<Vec<Date>> {
    let tz = &company.company.time_zone;
    let network = backend.network()?;
    let token = match Deployment::load(&deployment_path(g, &network))? {
        Some(d) => d.token,
        None => {
            let a =
                company.token.address.as_deref().ok_or_else(|| {
                    bad_input("the company file has no token address", "set [token] address, or deploy")
                })?;
            a.parse::<Address>().map_err(|_| bad_input(format!("`{a}` is not an address"), "[token] address"))?
        }
    };
    let pair = match pair {
        Some(p) => p,
        None => twap::Market::load(&market_path(g, &network))?.map(|m| m.pair).ok_or_else(|| {
            bad_input(
                format!("no pair: there is no demo market on {}", backend.describe()),
                "pass --pair ADDR (the token's Uniswap V2 pair), or create one with `tokencomp chain market`",
            )
        })?,
    };
    // Reads only: the demo key is merely the calls' sender.
    let reader = demo_key();
    let mut s = Session::new(backend, &reader);
    let pool = twap::pool(&mut s, pair, token)?;
    let logs = s.backend.logs(pair, 0)?;
    let history = twap::history(pool, &logs)?;
    history.verify(&mut s)?;
    let head = s.backend.head()?.timestamp;
    // The midnight that ends the day (not its last second), so a day's TWAP spans all of it.
    let end =
        |day: Date| -> Result<u64> { u64::try_from(start_of_day(day.tomorrow()?, tz)?).context("a day before 1970") };
    let through = match through {
        Some(t) => t,
        None => {
            let mut t = from.yesterday()?;
            while end(t.tomorrow()?)? <= head {
                t = t.tomorrow()?;
            }
            t
        }
    };
    let mut facts = Vec::new();
    for day in days(from, through) {
        let at = end(day)?;
        if at > head {
            return Err(bad_input(
                format!("the chain's latest block ({head}) is before the end of {day} ({at}): its price is not final"),
                "--through",
            ));
        }
        let point = history
            .point(at)
            .ok_or_else(|| bad_input(format!("the pair {pair} had no price yet at the end of {day}"), "--from"))?;
        facts.push(Fact::TwapPoint { date: day, point });
    }
    crate::company::record(store, &facts, &g.actor())?;
    Ok(days(from, through).collect())
}

fn price(g: &Global, args: &PriceArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let from = crate::compliance::date_arg(&args.from, "--from")?;
    let through = args.through.as_deref().map(|t| crate::compliance::date_arg(t, "--through")).transpose()?;
    let plan = Plan::schedules(&company, true)?;
    let mut backend = open_backend(g, &args.net, &company, &plan)?;
    let recorded = record_twap(g, &mut *store, &company, &mut *backend, args.pair, from, through)?;
    let company = load(&mut *store)?;
    print_twap(&company, &recorded);
    Ok(())
}

/// Each recorded day's one-day TWAP (when the day before is recorded too) beside its close.
fn print_twap(company: &Company, recorded: &[Date]) {
    let book = crate::compliance::price_book(company);
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
