//! The company on a chain: the [`Plan`] (each ledger grant's timeline as the contract's steps,
//! its revocation and its per-tranche withholding from one payroll pass), what reconciliation
//! expects of the chain, the deployment and its status, the demo market and its TWAP points, and
//! the demo's chain steps. `tokencomp-chain` does the sending and the comparing, the same way on
//! the embedded chain and a node.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use alloy_primitives::{Address, keccak256};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde_json::{Value, json};
use tokencomp_chain::attest::Submission;
use tokencomp_chain::ops::{self, DeployArgs, Deployment, GrantPlan, MilestonePlan, Session, Shape, grant_key};
use tokencomp_chain::reconcile::{Expected, ExpectedGrant, ExpectedRevocation, ExpectedVest, ExpectedWithholding};
use tokencomp_chain::{Backend, Embedded, Key, Rpc, files, twap};
use tokencomp_core::calendar::{days, end_of_day, start_of_day};
use tokencomp_core::grant::{EventKind, ForfeitReason, Grant, MilestoneEffect, VestReason};
use tokencomp_core::model::TermsEffect;
use tokencomp_core::schedule::{LinearModel, Schedule};
use tokencomp_money::Currency;
use tokencomp_store::ledger::{Company, Fact};
use tokencomp_store::{EventKind as StoreKind, Store};

use crate::data::DataDir;
use crate::error::{Context, Error, Result, bad_input, bail};
use crate::ledger::Stamp;

/// Which chain a command talks to, and how.
#[derive(Clone, Debug, Default)]
pub struct Net {
    /// A JSON-RPC node; the embedded chain in the data directory when `None`.
    pub rpc: Option<String>,
    pub gas_limit: Option<u64>,
    /// Send as of this date (its end) or RFC 3339 time (development chains).
    pub at: Option<String>,
}

/// `chain deploy`'s choices.
#[derive(Clone, Debug, Default)]
pub struct Deploy {
    pub net: Net,
    /// The token (default: the company file's `[token] address`).
    pub token: Option<Address>,
    /// Deploy a demo token first.
    pub demo_token: bool,
    pub admin: Option<Address>,
    pub treasury: Option<Address>,
    pub tax_wallet: Option<Address>,
}

/// The chain id of the embedded chain when the company file names none (a development chain's).
pub const DEFAULT_CHAIN_ID: u64 = 31337;
/// The demo's signer key: public, so never fund its address anywhere real.
pub const DEMO_KEY: &str = "tokencomp demo key: public, never fund it";

/// The demo's key, derived from a public phrase so every demo run signs the same transactions.
pub fn demo_key() -> Key {
    // INVARIANT: a keccak-256 digest is 32 bytes, a valid secp256k1 scalar except with
    // negligible probability, and this fixed phrase's digest is one (the demo test signs with it).
    Key::from_hex(&keccak256(DEMO_KEY.as_bytes()).to_string(), "the demo key").expect("the demo key is valid")
}

pub fn chain_id(company: &Company) -> u64 {
    company.token.chain_id.unwrap_or(DEFAULT_CHAIN_ID)
}

pub fn open_backend(data: &DataDir, net: &Net, company: &Company, plan: &Plan) -> Result<Box<dyn Backend>> {
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
            Ok(Box::new(Embedded::open(&data.embedded_chain(), want, genesis)?))
        }
    }
}

pub fn parse_at(s: &str, tz: &TimeZone) -> Result<u64> {
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

pub fn deployment(data: &DataDir, backend: &mut dyn Backend) -> Result<Deployment> {
    let network = backend.network()?;
    let path = data.deployment(&network);
    Deployment::load(&path)?.ok_or_else(|| {
        bad_input(format!("nothing is deployed on {}", backend.describe()), "run `tokencomp chain deploy` first")
    })
}

/// A person's wallet address: the `wallet` field when it is an address, else (with
/// `label_wallets`) one derived from the label.
pub fn wallet(company: &Company, person: &str, label_wallets: bool) -> Result<Address> {
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

/// The address a holder is paid to: under `require_proven_wallets` their proven wallet in
/// effect at `now` (see [`Plan::build_at`]), else [`wallet`].
fn beneficiary(company: &Company, person: &str, label_wallets: bool, now: Option<Timestamp>) -> Result<Address> {
    if !company.company.policy.require_proven_wallets {
        return wallet(company, person, label_wallets);
    }
    match now {
        Some(now) => {
            let proof = company.effective_wallet(person, now).ok_or_else(|| {
                bad_input(format!("person `{person}` has no proven wallet in effect"), "prove a wallet on /me")
            })?;
            proof
                .address
                .parse()
                .map_err(|_| Error::internal(format!("proof of `{person}`: `{}` is not an address", proof.address)))
        }
        None if label_wallets => wallet(company, person, true),
        None => Err(bad_input(
            "the company requires proven wallets: a payout plan needs the instant to judge them",
            "plan with `Plan::build_at` and the current time",
        )),
    }
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
    for e in crate::payroll::income_events(company, through)? {
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

    pub fn build(company: &Company, label_wallets: bool, withholding: bool) -> Result<Plan> {
        Plan::build_at(company, label_wallets, withholding, None)
    }

    /// [`Plan::build`] at `now`: a company that sets `require_proven_wallets` is paid only to
    /// the wallets its people proved and that are in effect at `now` (never a typed one), and a
    /// plan is refused naming every holder who lacks one. Without `now` such a company can be
    /// planned only with `label_wallets` (views that pay nothing).
    pub fn build_at(company: &Company, label_wallets: bool, withholding: bool, now: Option<Timestamp>) -> Result<Plan> {
        if let (true, Some(now)) = (company.company.policy.require_proven_wallets, now) {
            let lacking = company.lacking_proven_wallets(now);
            if !lacking.is_empty() {
                return Err(bad_input(
                    format!(
                        "the company requires proven wallets, and these holders have none in effect: {}",
                        lacking.join(", ")
                    ),
                    "each of them proves a wallet on their page (/me), or the company turns off `require_proven_wallets`",
                ));
            }
        }
        let beneficiary = |person: &str| beneficiary(company, person, label_wallets, now);
        let tz = &company.company.time_zone;
        let withheld = if withholding { withheld(company)? } else { Withheld::new() };
        let mut grants = Vec::new();
        let mut tranches = BTreeMap::new();
        let on_chain_milestones: BTreeSet<String> =
            company.milestones.values().flat_map(|m| m.grants.iter().cloned()).collect();
        for (id, rec) in &company.grants {
            if on_chain_milestones.contains(id) {
                let tl = rec.terms.grant.timeline(tz, None).map_err(|e| Error::internal(format!("grant {id}: {e}")))?;
                tranches.insert(id.clone(), tl.tranches.iter().map(|t| (t.date, t.reason)).collect());
                grants.push(milestone_grant_plan(company, id, &beneficiary)?);
                continue;
            }
            let grant = &rec.terms.grant;
            let tl = grant.timeline(tz, None).map_err(|e| Error::internal(format!("grant {id}: {e}")))?;
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
                beneficiary: beneficiary(&grant.holder)?,
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
                    StoreKind::GrantIssued | StoreKind::GrantCorrected => issued.push(e.event.id),
                    StoreKind::Forfeiture | StoreKind::ForfeitureReversal => forfeitures.push(e.event.id),
                    StoreKind::Vest | StoreKind::VestReversal => {
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

/// A grant whose milestones the contract settles: the contract holds its time-vesting part only
/// (the engine's timeline without performance tranches and milestone events), and the milestones'
/// `defineMilestones` funds their performance amounts. With a pull-forward milestone the contract
/// counts installments, so the grant is pushed with one step per installment
/// (`Schedule::installment_steps`); that needs a schedule no other event reshapes.
fn milestone_grant_plan(
    company: &Company,
    id: &str,
    beneficiary: &dyn Fn(&str) -> Result<Address>,
) -> Result<GrantPlan> {
    let tz = &company.company.time_zone;
    let grant = &company.grants[id].terms.grant;
    let time_part = Grant {
        performance: Vec::new(),
        events: grant.events.iter().filter(|e| !matches!(e.kind, EventKind::Milestone { .. })).cloned().collect(),
        ..grant.clone()
    };
    let full = grant.timeline(tz, None).map_err(|e| Error::internal(format!("grant {id}: {e}")))?;
    let tl = time_part.timeline(tz, None).map_err(|e| Error::internal(format!("grant {id}: {e}")))?;
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
        beneficiary: beneficiary(&grant.holder)?,
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
pub fn oracle_keys(company: &Company) -> Vec<(String, Option<Address>)> {
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

/// A submission file, and its JSON as read (kept as the canonical form of what was read, so
/// the ledger holds the submission itself).
pub fn read_submission(path: &Path) -> Result<(Submission, String)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad_input(format!("not JSON: {e}"), &path.display().to_string()))?;
    let s = Submission::from_json(&json).map_err(|e| bad_input(e, &path.display().to_string()))?;
    // Kept as the canonical form of what was read, so the ledger holds the submission itself.
    Ok((s, json.to_string()))
}

/// Submission files grouped by milestone, in the order each milestone first appears.
pub fn submission_sets(files: &[PathBuf]) -> Result<Vec<(String, Vec<tokencomp_chain::attest::Submission>)>> {
    let mut sets: Vec<(String, Vec<tokencomp_chain::attest::Submission>)> = Vec::new();
    for path in files {
        let (s, _) = read_submission(path)?;
        let m = s.attestation.milestone.clone();
        match sets.iter_mut().find(|(x, _)| *x == m) {
            Some((_, set)) => set.push(s),
            None => sets.push((m, vec![s])),
        }
    }
    Ok(sets)
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
    data: &DataDir,
    store: &mut dyn Store,
    company: &Company,
    through: Date,
    attestations: &[PathBuf],
    by: &Stamp,
) -> Result<DemoChain> {
    let key = demo_key();
    let tz = &company.company.time_zone;
    let net = Net { rpc: None, gas_limit: None, at: None };
    let plan = Plan::new(company, true)?;
    let plans = &plan.grants;
    let mut backend = open_backend(data, &net, company, &plan)?;
    let d = deployment(data, &mut *backend)?;
    let mut s = Session::new(&mut *backend, &key);
    ops::fund(&mut s, &d, plans, &plan.milestones)?;
    // The demo market follows the closes of `through`'s month up to the day before, when the
    // grants are pushed: a chain's time only moves forward.
    let first = through.first_of_month();
    let (market, _) = market_steps(data, &mut s, company, &d, first, through.yesterday()?)?;
    let before = u64::try_from(end_of_day(through.yesterday()?, tz)?)?;
    s.at = Some(before);
    ops::push_grants(&mut s, &d, plans)?;
    ops::revoke_due(&mut s, &d, plans, before)?;
    // `chain push-milestones`, then `chain submit` with the oracle's signed files.
    ops::sync_oracles(&mut s, &d, &oracle_keys(company))?;
    ops::push_milestones(&mut s, &d, &plan.milestones, plans)?;
    for (milestone, set) in submission_sets(attestations)? {
        if let Err(r) = ops::apply_milestone(&mut s, &d, &milestone, &set)? {
            bail!("the demo's attestation for {milestone} was refused on the chain: {r}");
        }
    }
    ops::post_withholding(&mut s, &d, plans)?;
    s.at = Some(u64::try_from(end_of_day(through, tz)?)?);
    ops::release(&mut s, &d, plans)?;
    let sent = std::mem::take(&mut s.sent);
    backend.flush()?;
    let (_, report) = reconcile_report(data, store, company, &mut *backend, &plan)?;
    // The release at the end of `through` made every day of the market final.
    let days = TwapDays { pair: Some(market.pair), from: first.yesterday()?, through: Some(through.yesterday()?) };
    let twap_days = record_twap(data, store, company, &mut *backend, &days, by)?;
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
pub fn demo_deploy(data: &DataDir, company: &Company) -> Result<Deployment> {
    let key = demo_key();
    demo_key_file(data, &key)?;
    let net = Net { rpc: None, gas_limit: None, at: None };
    let plan = Plan::schedules(company, true)?;
    let mut backend = open_backend(data, &net, company, &plan)?;
    let args = Deploy { net, token: None, demo_token: true, admin: None, treasury: None, tax_wallet: None };
    let d = deploy(data, &mut *backend, &key, company, &args)?;
    backend.flush()?;
    Ok(d)
}

/// The demo writes its public key as the data directory's key file, so the `chain` commands
/// continue its chain.
fn demo_key_file(data: &DataDir, key: &Key) -> Result<()> {
    let path = data.chain_key();
    if !path.exists() {
        key.save(&path)?;
    }
    Ok(())
}

pub fn deploy(
    data: &DataDir,
    backend: &mut dyn Backend,
    key: &Key,
    company: &Company,
    args: &Deploy,
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
    let d = ops::deploy(&mut s, &data.deployment(&network), &deploy_args)?;
    s.backend.flush()?;
    Ok(d)
}

pub fn reconcile_report(
    data: &DataDir,
    store: &mut dyn Store,
    company: &Company,
    backend: &mut dyn Backend,
    plan: &Plan,
) -> Result<(Deployment, tokencomp_chain::reconcile::Report)> {
    let d = deployment(data, backend)?;
    let expected = plan.expected(store, company)?;
    let (logs, _) = files::sync(backend, &d, &data.logs(&d.network))?;
    let head = backend.head()?;
    Ok((d, tokencomp_chain::reconcile::reconcile(&expected, &logs, head.number, head.timestamp)))
}

pub fn reconcile_json(company: &Company, d: &Deployment, report: &tokencomp_chain::reconcile::Report) -> Value {
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

/// `chain reconcile --json`'s document on a loaded company, on `rpc`'s node or else the
/// embedded chain.
pub fn reconcile_doc(
    data: &DataDir,
    rpc: Option<&str>,
    store: &mut dyn Store,
    company: &Company,
    label_wallets: bool,
) -> Result<Value> {
    let plan = Plan::new(company, label_wallets)?;
    let net = Net { rpc: rpc.map(str::to_owned), gas_limit: None, at: None };
    let mut backend = open_backend(data, &net, company, &plan)?;
    let (d, report) = reconcile_report(data, store, company, &mut *backend, &plan)?;
    Ok(reconcile_json(company, &d, &report))
}

/// The deployment on `rpc`'s node (else the embedded chain) and its head.
pub fn status_doc(data: &DataDir, rpc: Option<&str>, company: &Company) -> Result<Value> {
    // Only the chain's genesis is needed: no compliance pass, so no price is, and wallets are
    // not read (label wallets are allowed).
    let plan = Plan::schedules(company, true)?;
    let net = Net { rpc: rpc.map(str::to_owned), gas_limit: None, at: None };
    if net.rpc.is_none() && !data.embedded_chain().exists() {
        return Ok(json!({"deployed": false, "network": null, "chain_id": null, "manager": null,
                         "token_address": null, "head_block": null, "head_timestamp": null}));
    }
    let mut backend = open_backend(data, &net, company, &plan)?;
    let network = backend.network()?;
    let head = backend.head()?;
    let d = Deployment::load(&data.deployment(&network))?;
    Ok(json!({"deployed": d.is_some(), "network": network, "chain_id": chain_id(company),
              "manager": d.as_ref().map(|d| d.manager.to_string()), "token_address": d.as_ref().map(|d| d.token.to_string()),
              "head_block": head.number, "head_timestamp": head.timestamp}))
}

/// Returns the market and the days set.
pub fn market_steps(
    data: &DataDir,
    s: &mut Session<'_>,
    company: &Company,
    d: &Deployment,
    from: Date,
    through: Date,
) -> Result<(twap::Market, usize)> {
    let tz = &company.company.time_zone;
    let m = twap::demo_market(s, &data.market(&d.network), d)?;
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

/// Which pair's points to record, and for which days.
#[derive(Clone, Copy, Debug)]
pub struct TwapDays {
    /// The pair (default: the demo market's).
    pub pair: Option<Address>,
    pub from: Date,
    /// Default: the last day the chain's head has passed.
    pub through: Option<Date>,
}

/// Reads the pair's history, checks it against the pair's own counters, and records the point
/// at the end of each day from `from` through `through` (default: the last day the chain's head
/// has passed). Returns the days recorded.
pub fn record_twap(
    data: &DataDir,
    store: &mut dyn Store,
    company: &Company,
    backend: &mut dyn Backend,
    days_of: &TwapDays,
    by: &Stamp,
) -> Result<Vec<Date>> {
    let TwapDays { pair, from, through } = *days_of;
    let tz = &company.company.time_zone;
    let network = backend.network()?;
    let token = match Deployment::load(&data.deployment(&network))? {
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
        None => twap::Market::load(&data.market(&network))?.map(|m| m.pair).ok_or_else(|| {
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
    crate::ledger::record(store, &facts, by)?;
    Ok(days(from, through).collect())
}
