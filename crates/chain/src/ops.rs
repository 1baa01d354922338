//! What the CLI's `chain` commands do, on any [`Backend`]: deploy the manager (and, for a demo,
//! a token), approve the treasury's funding, push the ledger's grants and revocations, post
//! withholding, and release. Every step first reads the chain and sends only what is missing,
//! so a command interrupted at any point is simply run again.
//!
//! Each transaction is simulated with `eth_call` first: a refusal is reported with the
//! contract's custom error and nothing is sent.

use std::path::Path;

use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy_sol_types::{SolCall, SolConstructor, SolError, SolInterface};
use tokencomp_evm::{TEST_TOKEN, TestToken, VESTING_MANAGER, VestingManager as VM};

use crate::backend::{Backend, BackendError, Mined};
use crate::keys::{Key, KeyError, TxFields};

/// The most gas one transaction may use unless `--gas-limit` says otherwise (capped by the
/// block's own limit): 2^24, the per-transaction cap EIP-7825 sets from the Osaka fork on. It is
/// fixed, not estimated, so the same step signs the same bytes on every backend.
pub const DEFAULT_GAS_LIMIT: u64 = 1 << 24;
/// Tranches per `createGrants` transaction (about 25k gas each, so a batch stays near 12.5M gas
/// under the cap), and grants per batch at most.
const TRANCHES_PER_TX: usize = 500;
const GRANTS_PER_TX: usize = 50;
const WITHHOLDINGS_PER_TX: usize = 300;
const RELEASES_PER_TX: usize = 150;

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("{function} would revert: {error}")]
    Reverted { function: String, error: String },
    #[error("transaction {tx_hash} ({function}) was mined but failed")]
    Failed { function: String, tx_hash: B256 },
    #[error("{path}: {message}")]
    Deployment { path: String, message: String },
    #[error("{0}")]
    Refused(String),
    #[error("could not decode {function}'s answer: {message}")]
    Decode { function: &'static str, message: String },
}

/// Where the contracts of one company live on one network, kept in the data directory
/// (`chain/<network>.json`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployment {
    pub network: String,
    pub chain_id: u64,
    pub token: Address,
    /// Whether `token` is the demo TestToken this deployment created.
    pub demo_token: bool,
    pub manager: Address,
    pub admin: Address,
    pub operator: Address,
    pub treasury: Address,
    pub tax_wallet: Address,
    pub tx_hash: B256,
    pub block: u64,
}

impl Deployment {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "network": self.network,
            "chain_id": self.chain_id,
            "token": self.token.to_string(),
            "demo_token": self.demo_token,
            "manager": self.manager.to_string(),
            "admin": self.admin.to_string(),
            "operator": self.operator.to_string(),
            "treasury": self.treasury.to_string(),
            "tax_wallet": self.tax_wallet.to_string(),
            "tx_hash": self.tx_hash.to_string(),
            "block": self.block,
        })
    }

    pub fn from_json(v: &serde_json::Value) -> Option<Deployment> {
        let s = |k: &str| v.get(k).and_then(|x| x.as_str());
        let a = |k: &str| s(k).and_then(|x| x.parse::<Address>().ok());
        Some(Deployment {
            network: s("network")?.to_owned(),
            chain_id: v.get("chain_id")?.as_u64()?,
            token: a("token")?,
            demo_token: v.get("demo_token")?.as_bool()?,
            manager: a("manager")?,
            admin: a("admin")?,
            operator: a("operator")?,
            treasury: a("treasury")?,
            tax_wallet: a("tax_wallet")?,
            tx_hash: s("tx_hash")?.parse().ok()?,
            block: v.get("block")?.as_u64()?,
        })
    }

    /// The record in `path`, if there is one.
    pub fn load(path: &Path) -> Result<Option<Deployment>, OpsError> {
        let bad = |message: String| OpsError::Deployment { path: path.display().to_string(), message };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
                Deployment::from_json(&v).map(Some).ok_or_else(|| bad("not a deployment record".to_owned()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(bad(e.to_string())),
        }
    }

    pub fn save(&self, path: &Path) -> Result<(), OpsError> {
        tokencomp_store::private::write(path, format!("{:#}\n", self.to_json()).as_bytes())
            .map_err(|e| OpsError::Deployment { path: path.display().to_string(), message: e.to_string() })
    }
}

/// The on-chain id of a ledger grant: the id's bytes, left-aligned and zero-padded, when it fits
/// in 32 bytes (so an explorer shows it), else its keccak-256.
pub fn grant_key(grant: &str) -> B256 {
    let bytes = grant.as_bytes();
    if bytes.len() <= 32 {
        let mut out = [0u8; 32];
        out[..bytes.len()].copy_from_slice(bytes);
        B256::from(out)
    } else {
        keccak256(bytes)
    }
}

/// The contract's `Kind` values.
pub const KIND_TRANCHED: u8 = 1;
pub const KIND_LINEAR: u8 = 2;
pub const KIND_INSTALLMENTS: u8 = 3;
/// The contract's `EffectKind.PullForward`.
pub const EFFECT_PULL_FORWARD: u8 = 2;

/// A grant as the contract should hold it, built by the caller from the engine's timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantPlan {
    pub grant: String,
    pub id: B256,
    pub beneficiary: Address,
    pub total: u128,
    pub shape: Shape,
    /// Revoke as of this instant (the ledger's last forfeiture), once the chain's time reaches it.
    pub revoke_at: Option<u64>,
    /// (tranche index, tokens) to withhold for tax at release.
    pub withholding: Vec<(u64, u128)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// (vest instant, cumulative) pairs; the last cumulative is the total.
    Tranched(Vec<(u64, u128)>),
    /// The same, one step per installment of the schedule, the pre-cliff ones at zero
    /// (`Schedule::installment_steps`): the contract's INSTALLMENTS kind, the only one a pull
    /// forward may move.
    Installments(Vec<(u64, u128)>),
    /// OpenZeppelin VestingWalletCliff's formula.
    Linear { start: u64, cliff: u64, end: u64 },
}

impl GrantPlan {
    fn input(&self) -> VM::GrantInput {
        match &self.shape {
            Shape::Tranched(t) | Shape::Installments(t) => VM::GrantInput {
                id: self.id,
                beneficiary: self.beneficiary,
                kind: if matches!(self.shape, Shape::Installments(_)) { KIND_INSTALLMENTS } else { KIND_TRANCHED },
                total: self.total,
                start: 0,
                cliff: 0,
                end: 0,
                tranches: t.iter().map(|&(at, cumulative)| VM::Tranche { at, cumulative }).collect(),
            },
            Shape::Linear { start, cliff, end } => VM::GrantInput {
                id: self.id,
                beneficiary: self.beneficiary,
                kind: KIND_LINEAR,
                total: self.total,
                start: *start,
                cliff: *cliff,
                end: *end,
                tranches: Vec::new(),
            },
        }
    }

    fn tranche_count(&self) -> usize {
        match &self.shape {
            Shape::Tranched(t) | Shape::Installments(t) => t.len(),
            Shape::Linear { .. } => 1,
        }
    }
}

/// An admin action for a multisig to sign, when the admin is not our key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminCall {
    pub to: Address,
    pub data: Bytes,
    pub description: String,
}

/// One sent transaction, for the command's report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub what: String,
    pub mined: Mined,
}

/// Signs with one key and sends through one backend, at the block times the caller asks for.
pub struct Session<'a> {
    pub backend: &'a mut dyn Backend,
    pub key: &'a Key,
    pub gas_limit: Option<u64>,
    /// The earliest timestamp of the next block (each later block takes at least one second more).
    pub at: Option<u64>,
    pub sent: Vec<Sent>,
    /// The `at` the next block's time was fixed for; valid until a transaction is mined.
    pinned: Option<u64>,
}

impl<'a> Session<'a> {
    pub fn new(backend: &'a mut dyn Backend, key: &'a Key) -> Session<'a> {
        Session { backend, key, gas_limit: None, at: None, sent: Vec::new(), pinned: None }
    }

    /// Fixes the next block's time (when the session has one), so that reads and simulations see
    /// the time the next transaction will be mined at.
    fn pin_time(&mut self) -> Result<(), OpsError> {
        let Some(at) = self.at else { return Ok(()) };
        if self.pinned != Some(at) {
            let t = at.max(self.backend.head()?.timestamp.saturating_add(1));
            self.backend.set_next_timestamp(t)?;
            self.pinned = Some(at);
        }
        Ok(())
    }

    /// A read-only call in the pending block, decoded.
    pub fn read<C: SolCall>(&mut self, to: Address, call: &C) -> Result<Result<C::Return, Bytes>, OpsError> {
        self.pin_time()?;
        match self.backend.call(self.key.address(), to, Bytes::from(call.abi_encode()))? {
            Ok(out) => C::abi_decode_returns(&out)
                .map(Ok)
                .map_err(|e| OpsError::Decode { function: C::SIGNATURE, message: e.to_string() }),
            Err(revert) => Ok(Err(revert)),
        }
    }

    /// Simulates, signs and sends; fails with the decoded custom error if the call would revert.
    pub fn send(&mut self, what: String, kind: TxKind, input: Bytes) -> Result<Mined, OpsError> {
        self.pin_time()?;
        if let TxKind::Call(to) = kind
            && let Err(revert) = self.backend.call(self.key.address(), to, input.clone())?
        {
            return Err(OpsError::Reverted { function: what, error: decode_revert(&revert) });
        }
        let head = self.backend.head()?;
        let chain_id = self.backend.chain_id()?;
        let nonce = self.backend.nonce(self.key.address())?;
        let gas_limit = self.gas_limit.unwrap_or(DEFAULT_GAS_LIMIT).min(head.gas_limit);
        let signed = self.key.sign(TxFields {
            chain_id,
            nonce,
            gas_limit,
            max_fee_per_gas: 2 * head.base_fee,
            max_priority_fee_per_gas: 0,
            kind,
            value: U256::ZERO,
            input,
        })?;
        let mined = self.backend.submit(&signed)?;
        // The next block needs its own time.
        self.pinned = None;
        if !mined.success {
            return Err(OpsError::Failed { function: what, tx_hash: mined.tx_hash });
        }
        self.sent.push(Sent { what, mined: mined.clone() });
        Ok(mined)
    }

    pub fn call<C: SolCall>(&mut self, what: String, to: Address, call: &C) -> Result<Mined, OpsError> {
        self.send(what, TxKind::Call(to), Bytes::from(call.abi_encode()))
    }
}

/// A revert's data as the custom error it encodes (VestingManager's or the token's), or hex.
pub fn decode_revert(data: &[u8]) -> String {
    if let Ok(e) = VM::VestingManagerErrors::abi_decode(data) {
        return format!("{e:?}");
    }
    if let Ok(e) = TestToken::TestTokenErrors::abi_decode(data) {
        return format!("{e:?}");
    }
    if let Ok(reason) = alloy_sol_types::Revert::abi_decode(data) {
        return reason.reason;
    }
    format!("0x{}", alloy_primitives::hex::encode(data))
}

/// What `deploy` needs.
#[derive(Clone, Debug)]
pub struct DeployArgs {
    /// The company's token; `None` deploys a demo TestToken minting `demo_supply` to the treasury.
    pub token: Option<Address>,
    pub demo_symbol: String,
    pub demo_decimals: u8,
    pub demo_supply: u128,
    pub admin: Address,
    pub treasury: Address,
    pub tax_wallet: Address,
}

/// Deploys (or finds already deployed) the manager for this network; the record is written to
/// `record` before it is returned.
pub fn deploy(s: &mut Session<'_>, record: &Path, args: &DeployArgs) -> Result<Deployment, OpsError> {
    let network = s.backend.network()?;
    if let Some(d) = Deployment::load(record)? {
        if s.backend.code(d.manager)?.is_empty() {
            return Err(OpsError::Deployment {
                path: record.display().to_string(),
                message: format!(
                    "records a manager at {} but {} has no code there (was the chain reset?); remove the file to deploy anew",
                    d.manager,
                    s.backend.describe()
                ),
            });
        }
        return Ok(d);
    }
    let operator = s.key.address();
    let (token, demo_token) = match args.token {
        Some(t) => {
            if s.backend.code(t)?.is_empty() {
                return Err(OpsError::Refused(format!(
                    "the token address {t} has no code on {}",
                    s.backend.describe()
                )));
            }
            (t, false)
        }
        None => {
            let ctor = TestToken::constructorCall {
                name_: format!("{} (demo)", args.demo_symbol),
                symbol_: args.demo_symbol.clone(),
                decimals_: args.demo_decimals,
            };
            let code =
                [TEST_TOKEN.bytecode().map_err(|e| OpsError::Refused(e.to_string()))?.as_ref(), &ctor.abi_encode()]
                    .concat();
            let mined = s.send("deploy the demo token".to_owned(), TxKind::Create, Bytes::from(code))?;
            let token = mined
                .contract_address
                .ok_or_else(|| OpsError::Refused("the token deployment made no contract".into()))?;
            if args.treasury == operator {
                s.call(
                    "mint the demo supply to the treasury".to_owned(),
                    token,
                    &TestToken::mintCall { to: args.treasury, amount: U256::from(args.demo_supply) },
                )?;
            }
            (token, true)
        }
    };
    let ctor = VM::constructorCall {
        token_: token,
        admin: args.admin,
        operator,
        treasury_: args.treasury,
        taxWallet_: args.tax_wallet,
    };
    let code = [VESTING_MANAGER.bytecode().map_err(|e| OpsError::Refused(e.to_string()))?.as_ref(), &ctor.abi_encode()]
        .concat();
    let mined = s.send("deploy VestingManager".to_owned(), TxKind::Create, Bytes::from(code))?;
    let manager = mined.contract_address.ok_or_else(|| OpsError::Refused("the deployment made no contract".into()))?;
    let d = Deployment {
        network,
        chain_id: s.backend.chain_id()?,
        token,
        demo_token,
        manager,
        admin: args.admin,
        operator,
        treasury: args.treasury,
        tax_wallet: args.tax_wallet,
        tx_hash: mined.tx_hash,
        block: mined.block_number,
    };
    d.save(record)?;
    Ok(d)
}

/// Grants of `plans` not yet on the chain.
pub fn missing_grants<'p>(
    s: &mut Session<'_>,
    d: &Deployment,
    plans: &'p [GrantPlan],
) -> Result<Vec<&'p GrantPlan>, OpsError> {
    let mut out = Vec::new();
    for p in plans {
        if s.read(d.manager, &VM::grantOfCall { id: p.id })?.is_err() {
            out.push(p);
        }
    }
    Ok(out)
}

/// Lets the manager pull what the grants and milestones not yet pushed need from the treasury
/// (our key must be the treasury). Sets the allowance to exactly that; nothing is sent if it
/// already is.
pub fn fund(
    s: &mut Session<'_>,
    d: &Deployment,
    plans: &[GrantPlan],
    milestones: &[MilestonePlan],
) -> Result<u128, OpsError> {
    // A checked sum: an approval that saturated would fund less than the grants need.
    let too_much = || OpsError::Refused("the grants and milestones to fund need more than 2^128 base units".into());
    let mut needed = 0u128;
    for total in missing_grants(s, d, plans)?.iter().map(|p| p.total) {
        needed = needed.checked_add(total).ok_or_else(too_much)?;
    }
    for funding in missing_milestones(s, d, milestones)?.iter().map(|p| p.funding) {
        needed = needed.checked_add(funding).ok_or_else(too_much)?;
    }
    if d.treasury != s.key.address() {
        return Err(OpsError::Refused(format!(
            "the treasury is {}, not this key's {}: approve {} for {needed} base units from the treasury",
            d.treasury,
            s.key.address(),
            d.manager
        )));
    }
    let allowance = s
        .read(d.token, &TestToken::allowanceCall { owner: d.treasury, spender: d.manager })?
        .map_err(|r| OpsError::Reverted { function: "allowance".into(), error: decode_revert(&r) })?;
    if allowance != U256::from(needed) {
        s.call(
            format!("approve the manager for {needed} base units"),
            d.token,
            &TestToken::approveCall { spender: d.manager, value: U256::from(needed) },
        )?;
    }
    Ok(needed)
}

/// Creates the grants not yet on the chain, in batches.
pub fn push_grants(s: &mut Session<'_>, d: &Deployment, plans: &[GrantPlan]) -> Result<usize, OpsError> {
    let missing = missing_grants(s, d, plans)?;
    let mut batch: Vec<&GrantPlan> = Vec::new();
    let mut tranches = 0usize;
    let mut created = 0usize;
    for p in missing {
        if !batch.is_empty() && (tranches + p.tranche_count() > TRANCHES_PER_TX || batch.len() == GRANTS_PER_TX) {
            created += send_batch(s, d, &batch)?;
            batch.clear();
            tranches = 0;
        }
        tranches += p.tranche_count();
        batch.push(p);
    }
    if !batch.is_empty() {
        created += send_batch(s, d, &batch)?;
    }
    Ok(created)
}

fn send_batch(s: &mut Session<'_>, d: &Deployment, batch: &[&GrantPlan]) -> Result<usize, OpsError> {
    let inputs: Vec<VM::GrantInput> = batch.iter().map(|p| p.input()).collect();
    let names: Vec<&str> = batch.iter().map(|p| p.grant.as_str()).collect();
    s.call(
        format!("create {} grants ({})", batch.len(), names.join(", ")),
        d.manager,
        &VM::createGrantsCall { inputs },
    )?;
    Ok(batch.len())
}

/// Revokes, as of their effective instants, the grants whose revocation time the chain's next
/// block has reached and that are not revoked yet. Returns the calls a multisig must make
/// instead when the admin is not this key.
pub fn revoke_due(
    s: &mut Session<'_>,
    d: &Deployment,
    plans: &[GrantPlan],
    now: u64,
) -> Result<(usize, Vec<AdminCall>), OpsError> {
    let mut done = 0;
    let mut unsigned = Vec::new();
    for p in plans {
        let Some(at) = p.revoke_at else { continue };
        if at > now {
            continue;
        }
        let Ok(state) = s.read(d.manager, &VM::grantOfCall { id: p.id })? else { continue };
        if state.revokedAt != 0 {
            continue;
        }
        let call = VM::revokeCall { id: p.id, effectiveAt: at };
        let what = format!("revoke {} as of {at}", p.grant);
        if d.admin == s.key.address() {
            s.call(what, d.manager, &call)?;
            done += 1;
        } else {
            unsigned.push(AdminCall { to: d.manager, data: Bytes::from(call.abi_encode()), description: what });
        }
    }
    Ok((done, unsigned))
}

/// Posts the withholding of tranches not released yet whose posted amount differs.
pub fn post_withholding(s: &mut Session<'_>, d: &Deployment, plans: &[GrantPlan]) -> Result<usize, OpsError> {
    let mut entries = Vec::new();
    for p in plans.iter().filter(|p| !p.withholding.is_empty()) {
        let Ok(state) = s.read(d.manager, &VM::grantOfCall { id: p.id })? else { continue };
        for &(index, tokens) in &p.withholding {
            if index < u64::from(state.cursor) {
                continue;
            }
            let posted = s
                .read(d.manager, &VM::withholdingOfCall { id: p.id, index: U256::from(index) })?
                .map_err(|r| OpsError::Reverted { function: "withholdingOf".into(), error: decode_revert(&r) })?;
            if posted != tokens {
                entries.push(VM::WithholdingInput { id: p.id, index: U256::from(index), tokens });
            }
        }
    }
    let n = entries.len();
    for chunk in entries.chunks(WITHHOLDINGS_PER_TX) {
        s.call(
            format!("post withholding for {} tranches", chunk.len()),
            d.manager,
            &VM::postWithholdingsCall { inputs: chunk.to_vec() },
        )?;
    }
    Ok(n)
}

/// Pushes a release of every pushed grant (the contract skips those with nothing to release);
/// returns how many grants released something.
pub fn release(s: &mut Session<'_>, d: &Deployment, plans: &[GrantPlan]) -> Result<usize, OpsError> {
    let mut ids = Vec::new();
    for p in plans {
        if s.read(d.manager, &VM::grantOfCall { id: p.id })?.is_ok() {
            ids.push(p.id);
        }
    }
    let mut released = 0usize;
    for chunk in ids.chunks(RELEASES_PER_TX) {
        let call = VM::releaseManyCall { ids: chunk.to_vec() };
        // The simulation's answer is what the transaction does: same state, same block time.
        let n = s
            .read(d.manager, &call)?
            .map_err(|r| OpsError::Reverted { function: "releaseMany".into(), error: decode_revert(&r) })?;
        s.call(format!("release {} grants", chunk.len()), d.manager, &call)?;
        released += usize::try_from(n).unwrap_or(usize::MAX);
    }
    Ok(released)
}

pub use tokencomp_evm::VestingManager::{EffectInput, MilestoneInput};

/// A milestone as the contract should hold it: its definition with one effect per grant, and
/// the performance funding `defineMilestones` pulls from the treasury for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MilestonePlan {
    pub input: VM::MilestoneInput,
    pub funding: u128,
}

/// Milestones of `plans` not yet defined on the chain.
pub fn missing_milestones<'p>(
    s: &mut Session<'_>,
    d: &Deployment,
    plans: &'p [MilestonePlan],
) -> Result<Vec<&'p MilestonePlan>, OpsError> {
    let mut out = Vec::new();
    for p in plans {
        let (def, _) = s
            .read(d.manager, &VM::milestoneOfCall { milestone: keccak256(p.input.id.as_bytes()) })?
            .map(|r| (r._0, r._1))
            .map_err(|r| OpsError::Reverted { function: "milestoneOf".into(), error: decode_revert(&r) })?;
        if def.quorum == 0 {
            out.push(p);
        }
    }
    Ok(out)
}

/// Why the milestones of `plans` not yet defined cannot be defined over the grants as the chain
/// holds them, one line per (milestone, grant), naming both: a grant pushed before a
/// `[[milestone]]` named it holds its whole timeline, its pre-cliff installments merged into its
/// cliff step and its performance tranches in the step that never comes. A pull forward there
/// would count steps that are not installments and release months early (the contract refuses it
/// too: `NoInstallmentSteps`), and a performance effect would be funded a second time. Grants not
/// on the chain yet, or not in `grants`, are left to the caller.
pub fn milestone_layout_problems(
    s: &mut Session<'_>,
    d: &Deployment,
    plans: &[MilestonePlan],
    grants: &[GrantPlan],
) -> Result<Vec<String>, OpsError> {
    let mut out = Vec::new();
    for m in missing_milestones(s, d, plans)? {
        for e in &m.input.effects {
            let Some(g) = grants.iter().find(|g| g.id == e.grant) else { continue };
            let Ok(state) = s.read(d.manager, &VM::grantOfCall { id: g.id })? else { continue };
            let want = g.input();
            let (count, total) = (u64::try_from(g.tranche_count()).unwrap_or(u64::MAX), g.total);
            let pulls = e.kind == EFFECT_PULL_FORWARD;
            if pulls && state.kind != KIND_INSTALLMENTS {
                out.push(format!(
                    "milestone `{}` pulls grant `{}` forward by counting its steps on the chain, but `{}` is there without \
                     one step per installment (pushed before a pull_forward milestone named it, its pre-cliff \
                     installments merged into one step): the contract would release it months before the engine's \
                     first vest, so the milestone is not defined",
                    m.input.id, g.grant, g.grant
                ));
            } else if state.kind != want.kind
                || state.total != total
                || (want.kind != KIND_LINEAR && u64::from(state.trancheCount.to::<u32>()) != count)
            {
                out.push(format!(
                    "milestone `{}` names grant `{}`, which is on the chain as pushed before the milestone named it \
                     ({} steps, {} base units; its time-vesting part is {count} steps, {total}): its performance \
                     amount would be funded twice, so the milestone is not defined",
                    m.input.id, g.grant, state.trancheCount, state.total
                ));
            }
        }
    }
    Ok(out)
}

/// Defines the milestones not yet on the chain (their grants must be), in one transaction; refuses,
/// sending nothing, when one names a grant the chain holds in another layout than `grants` says
/// (see `milestone_layout_problems`).
pub fn push_milestones(
    s: &mut Session<'_>,
    d: &Deployment,
    plans: &[MilestonePlan],
    grants: &[GrantPlan],
) -> Result<usize, OpsError> {
    let problems = milestone_layout_problems(s, d, plans, grants)?;
    if !problems.is_empty() {
        return Err(OpsError::Refused(problems.join("\n")));
    }
    let missing = missing_milestones(s, d, plans)?;
    if missing.is_empty() {
        return Ok(0);
    }
    let names: Vec<&str> = missing.iter().map(|p| p.input.id.as_str()).collect();
    let inputs: Vec<VM::MilestoneInput> = missing.iter().map(|p| p.input.clone()).collect();
    s.call(
        format!("define {} milestones ({})", inputs.len(), names.join(", ")),
        d.manager,
        &VM::defineMilestonesCall { inputs },
    )?;
    Ok(names.len())
}

/// Brings the contract's oracle registry to the ledger's: each oracle's active key (`None` when
/// revoked) registered, rotated to or revoked. Returns how many changes were sent, and the calls
/// a multisig must make instead when the admin is not this key.
pub fn sync_oracles(
    s: &mut Session<'_>,
    d: &Deployment,
    oracles: &[(String, Option<Address>)],
) -> Result<(usize, Vec<AdminCall>), OpsError> {
    let mut calls: Vec<(String, Bytes)> = Vec::new();
    for (name, want) in oracles {
        let state = s
            .read(d.manager, &VM::oracleOfCall { name: name.clone() })?
            .map_err(|r| OpsError::Reverted { function: "oracleOf".into(), error: decode_revert(&r) })?;
        let active = (state.activeKey != Address::ZERO).then_some(state.activeKey);
        match (state.registered, *want) {
            (false, Some(key)) => calls.push((
                format!("register oracle {name} with key {key}"),
                VM::registerOracleCall { name: name.clone(), key }.abi_encode().into(),
            )),
            (true, Some(key)) if active != Some(key) => calls.push((
                format!("rotate oracle {name} to key {key}"),
                VM::rotateOracleCall { name: name.clone(), key }.abi_encode().into(),
            )),
            (true, None) if active.is_some() => calls.push((
                format!("revoke oracle {name}'s key"),
                VM::revokeOracleCall { name: name.clone() }.abi_encode().into(),
            )),
            _ => {}
        }
    }
    if d.admin != s.key.address() {
        let unsigned =
            calls.into_iter().map(|(description, data)| AdminCall { to: d.manager, data, description }).collect();
        return Ok((0, unsigned));
    }
    let n = calls.len();
    for (what, data) in calls {
        s.send(what, TxKind::Call(d.manager), data)?;
    }
    Ok((n, Vec::new()))
}

/// Submits a set of signed attestations to `applyMilestone`. `Ok(false)`: the milestone is
/// applied on the chain and this set's nonces are spent there, so this is a re-run and nothing is
/// sent. Otherwise the simulation decides: a refusal is returned with its engine name and nothing
/// is sent; `Ok(true)` means it is applied now.
pub fn apply_milestone(
    s: &mut Session<'_>,
    d: &Deployment,
    milestone: &str,
    set: &[crate::attest::Submission],
) -> Result<Result<bool, tokencomp_core::attestation::Refused>, OpsError> {
    let call = VM::applyMilestoneCall {
        milestone: milestone.to_owned(),
        set: set.iter().map(crate::attest::to_contract).collect(),
    };
    let read_err = |function: &str| {
        let function = function.to_owned();
        move |r: Bytes| OpsError::Reverted { function, error: decode_revert(&r) }
    };
    let def = s
        .read(d.manager, &VM::milestoneOfCall { milestone: keccak256(milestone.as_bytes()) })?
        .map_err(read_err("milestoneOf"))?
        ._0;
    if def.applied {
        let mut all_spent = !set.is_empty();
        for a in set.iter().map(|x| &x.attestation) {
            let spent = s
                .read(d.manager, &VM::nonceSpentCall { oracle: a.oracle, nonce: a.nonce })?
                .map_err(read_err("nonceSpent"))?;
            all_spent &= spent;
        }
        if all_spent {
            return Ok(Ok(false));
        }
    }
    if let Err(revert) = s.read(d.manager, &call)? {
        return match crate::attest::rejection_of(&revert) {
            Some(r) => Ok(Err(r)),
            None => Err(OpsError::Reverted { function: "applyMilestone".into(), error: decode_revert(&revert) }),
        };
    }
    s.call(format!("apply milestone {milestone} ({} attestations)", set.len()), d.manager, &call)?;
    Ok(Ok(true))
}
