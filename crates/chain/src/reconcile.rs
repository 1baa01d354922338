//! The contract's logs against what the ledger expects: grants created, withholding posted,
//! revocations, and every release against the vests the ledger recognized in its window and
//! the payroll's net tokens. Each finding carries its transaction hash (when there is one on
//! the chain) and the ledger event ids behind the expectation.
//!
//! A release at block time T of grant g covers the ledger's vests of g whose vest instant is
//! after g's previous release and at or before T: their units must equal the release's net
//! plus withheld, and their withholding (what payroll sent to the tax wallet) its withheld.
//! Vests at or before the chain's latest block time that no release covers are missing on chain.

use std::collections::BTreeMap;

use alloy_primitives::{Address, B256};
use alloy_sol_types::SolEvent;
use serde_json::{Value, json};
use tokencomp_evm::VestingManager as VM;

use crate::backend::ChainLog;

/// A grant the ledger holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedGrant {
    pub grant: String,
    pub id: B256,
    pub total: u128,
    pub beneficiary: Address,
    pub ledger_events: Vec<String>,
}

/// A vest the ledger recognized, with what payroll withheld from it in tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedVest {
    pub grant: String,
    pub id: B256,
    pub date: String,
    pub instant: u64,
    pub units: u128,
    pub withheld: u128,
    pub ledger_events: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedRevocation {
    pub grant: String,
    pub id: B256,
    pub effective_at: u64,
    pub returned: u128,
    pub ledger_events: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedWithholding {
    pub grant: String,
    pub id: B256,
    pub index: u64,
    pub tokens: u128,
    pub ledger_events: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expected {
    pub grants: Vec<ExpectedGrant>,
    pub vests: Vec<ExpectedVest>,
    pub revocations: Vec<ExpectedRevocation>,
    pub withholdings: Vec<ExpectedWithholding>,
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// `grant`, `release`, `withholding` or `revocation`.
    pub kind: &'static str,
    pub grant: Option<String>,
    pub id: B256,
    pub tx_hash: Option<B256>,
    pub block: Option<u64>,
    pub ledger_events: Vec<String>,
    pub expected: Value,
    pub on_chain: Value,
}

impl Item {
    pub fn to_json(&self) -> Value {
        json!({
            "kind": self.kind,
            "grant": self.grant,
            "grant_id": self.id.to_string(),
            "tx_hash": self.tx_hash.map(|h| h.to_string()),
            "block": self.block,
            "ledger_events": self.ledger_events,
            "expected": self.expected,
            "on_chain": self.on_chain,
        })
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub matched: Vec<Item>,
    pub missing_on_chain: Vec<Item>,
    pub unexpected_on_chain: Vec<Item>,
    pub amount_mismatch: Vec<Item>,
    /// The latest block read, and its time.
    pub head_block: u64,
    pub head_timestamp: u64,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.missing_on_chain.is_empty() && self.unexpected_on_chain.is_empty() && self.amount_mismatch.is_empty()
    }

    pub fn to_json(&self) -> Value {
        let list = |items: &[Item]| Value::Array(items.iter().map(Item::to_json).collect());
        json!({
            "head_block": self.head_block,
            "head_timestamp": self.head_timestamp,
            "matched": list(&self.matched),
            "missing_on_chain": list(&self.missing_on_chain),
            "unexpected_on_chain": list(&self.unexpected_on_chain),
            "amount_mismatch": list(&self.amount_mismatch),
        })
    }
}

/// What the logs say happened, in chain order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OnChain {
    Created { id: B256, total: u128, beneficiary: Address },
    Released { id: B256, net: u128, withheld: u128 },
    Revoked { id: B256, effective_at: u64, returned: u128 },
    Withholding { id: B256, index: u64, tokens: u128 },
}

/// Decodes the manager's logs; logs of other events (roles, wallets, funding) are skipped.
pub fn decode(logs: &[ChainLog]) -> Vec<(&ChainLog, OnChain)> {
    let mut out = Vec::new();
    for l in logs {
        let Some(topic) = l.log.topics().first() else { continue };
        let fact =
            match *topic {
                VM::GrantCreated::SIGNATURE_HASH => VM::GrantCreated::decode_log_data(&l.log.data)
                    .ok()
                    .map(|e| OnChain::Created { id: e.id, total: e.total, beneficiary: e.beneficiary }),
                VM::Released::SIGNATURE_HASH => VM::Released::decode_log_data(&l.log.data)
                    .ok()
                    .map(|e| OnChain::Released { id: e.id, net: e.net, withheld: e.withheld }),
                VM::Revoked::SIGNATURE_HASH => VM::Revoked::decode_log_data(&l.log.data)
                    .ok()
                    .map(|e| OnChain::Revoked { id: e.id, effective_at: e.effectiveAt, returned: e.returned }),
                VM::WithholdingPosted::SIGNATURE_HASH => {
                    VM::WithholdingPosted::decode_log_data(&l.log.data).ok().and_then(|e| {
                        Some(OnChain::Withholding { id: e.id, index: u64::try_from(e.index).ok()?, tokens: e.tokens })
                    })
                }
                _ => None,
            };
        if let Some(f) = fact {
            out.push((l, f));
        }
    }
    out
}

fn amount(v: u128) -> Value {
    Value::String(v.to_string())
}

/// One finding's evidence: the log (when there is one on chain) and the ledger events.
fn item(
    kind: &'static str,
    grant: Option<String>,
    id: B256,
    log: Option<&ChainLog>,
    ledger_events: Vec<String>,
    expected: Value,
    on_chain: Value,
) -> Item {
    Item {
        kind,
        grant,
        id,
        tx_hash: log.map(|l| l.tx_hash),
        block: log.map(|l| l.block_number),
        ledger_events,
        expected,
        on_chain,
    }
}

/// What the ledger expects of one keyed fact (a grant, a tranche's withholding, a revocation),
/// in the same JSON shape its log gives, so that matching is equality.
struct Want<'a, K> {
    key: K,
    grant: &'a str,
    id: B256,
    ledger_events: &'a [String],
    expected: Value,
    /// Whether its absence on chain is a finding yet (a future revocation is not).
    due: bool,
}

/// Sorts one kind of keyed fact: the last log of a key is what the chain holds (posting a
/// withholding again replaces it); a key the ledger lacks is unexpected.
fn compare<K: Ord + Copy>(
    r: &mut Report,
    kind: &'static str,
    wants: Vec<Want<'_, K>>,
    mut found: BTreeMap<K, (B256, &ChainLog, Value)>,
    name: impl Fn(&B256) -> Option<String>,
) {
    for w in wants {
        let grant = Some(w.grant.to_owned());
        let events = w.ledger_events.to_vec();
        match found.remove(&w.key) {
            None if !w.due => {}
            None => r.missing_on_chain.push(item(kind, grant, w.id, None, events, w.expected, Value::Null)),
            Some((_, l, on_chain)) => {
                let same = on_chain == w.expected;
                let it = item(kind, grant, w.id, Some(l), events, w.expected, on_chain);
                if same { r.matched.push(it) } else { r.amount_mismatch.push(it) }
            }
        }
    }
    for (id, l, on_chain) in found.into_values() {
        r.unexpected_on_chain.push(item(kind, name(&id), id, Some(l), Vec::new(), Value::Null, on_chain));
    }
}

/// Compares the logs with the ledger's expectations. `head_timestamp` is the chain's latest
/// block time: vests after it are not due yet.
pub fn reconcile(expected: &Expected, logs: &[ChainLog], head_block: u64, head_timestamp: u64) -> Report {
    let mut r = Report { head_block, head_timestamp, ..Report::default() };
    let names: BTreeMap<B256, &str> = expected.grants.iter().map(|g| (g.id, g.grant.as_str())).collect();
    let name = |id: &B256| names.get(id).map(|s| (*s).to_owned());
    let facts = decode(logs);

    let grant_json =
        |total: u128, beneficiary: Address| json!({"total": amount(total), "beneficiary": beneficiary.to_string()});
    let mut found = BTreeMap::new();
    for (l, f) in &facts {
        if let OnChain::Created { id, total, beneficiary } = f {
            found.insert(*id, (*id, *l, grant_json(*total, *beneficiary)));
        }
    }
    let wants = expected
        .grants
        .iter()
        .map(|g| Want {
            key: g.id,
            grant: &g.grant,
            id: g.id,
            ledger_events: &g.ledger_events,
            expected: grant_json(g.total, g.beneficiary),
            due: true,
        })
        .collect();
    compare(&mut r, "grant", wants, found, name);

    let withholding_json = |index: u64, tokens: u128| json!({"index": index, "tokens": amount(tokens)});
    let mut found = BTreeMap::new();
    for (l, f) in &facts {
        if let OnChain::Withholding { id, index, tokens } = f {
            found.insert((*id, *index), (*id, *l, withholding_json(*index, *tokens)));
        }
    }
    let wants = expected
        .withholdings
        .iter()
        .map(|w| Want {
            key: (w.id, w.index),
            grant: &w.grant,
            id: w.id,
            ledger_events: &w.ledger_events,
            expected: withholding_json(w.index, w.tokens),
            due: true,
        })
        .collect();
    compare(&mut r, "withholding", wants, found, name);

    let revocation_json =
        |effective_at: u64, returned: u128| json!({"effective_at": effective_at, "returned": amount(returned)});
    let mut found = BTreeMap::new();
    for (l, f) in &facts {
        if let OnChain::Revoked { id, effective_at, returned } = f {
            found.insert(*id, (*id, *l, revocation_json(*effective_at, *returned)));
        }
    }
    let wants = expected
        .revocations
        .iter()
        .map(|v| Want {
            key: v.id,
            grant: &v.grant,
            id: v.id,
            ledger_events: &v.ledger_events,
            expected: revocation_json(v.effective_at, v.returned),
            due: v.effective_at <= head_timestamp,
        })
        .collect();
    compare(&mut r, "revocation", wants, found, name);

    // Releases, grant by grant in chain order.
    let mut vests: BTreeMap<B256, Vec<&ExpectedVest>> = BTreeMap::new();
    for v in &expected.vests {
        vests.entry(v.id).or_default().push(v);
    }
    for list in vests.values_mut() {
        list.sort_by_key(|v| v.instant);
    }
    let mut releases: BTreeMap<B256, Vec<(&ChainLog, u128, u128)>> = BTreeMap::new();
    for (l, f) in &facts {
        if let OnChain::Released { id, net, withheld } = f {
            releases.entry(*id).or_default().push((l, *net, *withheld));
        }
    }
    // What a run of vests should release: in total, net and to the tax wallet.
    let release_json = |covered: &[&ExpectedVest]| {
        let units: u128 = covered.iter().map(|v| v.units).fold(0, u128::saturating_add);
        let withheld: u128 = covered.iter().map(|v| v.withheld).fold(0, u128::saturating_add);
        let dates: Vec<&str> = covered.iter().map(|v| v.date.as_str()).collect();
        json!({"released": amount(units), "net": amount(units.saturating_sub(withheld)), "withheld": amount(withheld), "vest_dates": dates})
    };
    let events = |covered: &[&ExpectedVest]| -> Vec<String> {
        covered.iter().flat_map(|v| v.ledger_events.iter().cloned()).collect()
    };
    let ids: std::collections::BTreeSet<B256> = vests.keys().chain(releases.keys()).copied().collect();
    for id in ids {
        let list: &[&ExpectedVest] = vests.get(&id).map_or(&[], Vec::as_slice);
        let mut next = 0usize;
        for (l, net, withheld) in releases.get(&id).map_or(&[][..], Vec::as_slice) {
            let start = next;
            while next < list.len() && list[next].instant <= l.timestamp {
                next += 1;
            }
            let covered = &list[start..next];
            let on_chain = json!({"released": amount(net.saturating_add(*withheld)), "net": amount(*net), "withheld": amount(*withheld), "timestamp": l.timestamp});
            if covered.is_empty() {
                r.unexpected_on_chain.push(item("release", name(&id), id, Some(l), Vec::new(), Value::Null, on_chain));
                continue;
            }
            let expected = release_json(covered);
            let same = expected["released"] == on_chain["released"] && expected["withheld"] == on_chain["withheld"];
            let it = item("release", name(&id), id, Some(l), events(covered), expected, on_chain);
            if same { r.matched.push(it) } else { r.amount_mismatch.push(it) }
        }
        let due: Vec<&ExpectedVest> = list[next..].iter().copied().filter(|v| v.instant <= head_timestamp).collect();
        if !due.is_empty() {
            r.missing_on_chain.push(item(
                "release",
                name(&id),
                id,
                None,
                events(&due),
                release_json(&due),
                Value::Null,
            ));
        }
    }
    r
}
