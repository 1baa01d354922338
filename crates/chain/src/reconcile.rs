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
    /// The vest's reason (`cliff`, `vest`, `acceleration`, `milestone`).
    pub reason: &'static str,
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

/// Compares the logs with the ledger's expectations. `head_timestamp` is the chain's latest
/// block time: vests after it are not due yet.
pub fn reconcile(expected: &Expected, logs: &[ChainLog], head_block: u64, head_timestamp: u64) -> Report {
    let mut r = Report { head_block, head_timestamp, ..Report::default() };
    let names: BTreeMap<B256, &str> = expected.grants.iter().map(|g| (g.id, g.grant.as_str())).collect();
    let name = |id: &B256| names.get(id).map(|s| (*s).to_owned());
    let facts = decode(logs);

    // Grants.
    let mut created: BTreeMap<B256, (&ChainLog, u128, Address)> = BTreeMap::new();
    for (l, f) in &facts {
        if let OnChain::Created { id, total, beneficiary } = f {
            created.insert(*id, (l, *total, *beneficiary));
        }
    }
    for g in &expected.grants {
        let exp = json!({"total": amount(g.total), "beneficiary": g.beneficiary.to_string()});
        match created.remove(&g.id) {
            None => r.missing_on_chain.push(Item {
                kind: "grant",
                grant: Some(g.grant.clone()),
                id: g.id,
                tx_hash: None,
                block: None,
                ledger_events: g.ledger_events.clone(),
                expected: exp,
                on_chain: Value::Null,
            }),
            Some((l, total, beneficiary)) => {
                let item = Item {
                    kind: "grant",
                    grant: Some(g.grant.clone()),
                    id: g.id,
                    tx_hash: Some(l.tx_hash),
                    block: Some(l.block_number),
                    ledger_events: g.ledger_events.clone(),
                    expected: exp,
                    on_chain: json!({"total": amount(total), "beneficiary": beneficiary.to_string()}),
                };
                if total == g.total && beneficiary == g.beneficiary {
                    r.matched.push(item)
                } else {
                    r.amount_mismatch.push(item)
                }
            }
        }
    }
    for (id, (l, total, beneficiary)) in created {
        r.unexpected_on_chain.push(Item {
            kind: "grant",
            grant: None,
            id,
            tx_hash: Some(l.tx_hash),
            block: Some(l.block_number),
            ledger_events: Vec::new(),
            expected: Value::Null,
            on_chain: json!({"total": amount(total), "beneficiary": beneficiary.to_string()}),
        });
    }

    // Withholding: the last posting of a tranche is what counts (posting again replaces).
    let mut posted: BTreeMap<(B256, u64), (&ChainLog, u128)> = BTreeMap::new();
    for (l, f) in &facts {
        if let OnChain::Withholding { id, index, tokens } = f {
            posted.insert((*id, *index), (l, *tokens));
        }
    }
    for w in &expected.withholdings {
        let exp = json!({"index": w.index, "tokens": amount(w.tokens)});
        match posted.remove(&(w.id, w.index)) {
            None => r.missing_on_chain.push(Item {
                kind: "withholding",
                grant: Some(w.grant.clone()),
                id: w.id,
                tx_hash: None,
                block: None,
                ledger_events: w.ledger_events.clone(),
                expected: exp,
                on_chain: Value::Null,
            }),
            Some((l, tokens)) => {
                let item = Item {
                    kind: "withholding",
                    grant: Some(w.grant.clone()),
                    id: w.id,
                    tx_hash: Some(l.tx_hash),
                    block: Some(l.block_number),
                    ledger_events: w.ledger_events.clone(),
                    expected: exp,
                    on_chain: json!({"index": w.index, "tokens": amount(tokens)}),
                };
                if tokens == w.tokens { r.matched.push(item) } else { r.amount_mismatch.push(item) }
            }
        }
    }
    for ((id, index), (l, tokens)) in posted {
        r.unexpected_on_chain.push(Item {
            kind: "withholding",
            grant: name(&id),
            id,
            tx_hash: Some(l.tx_hash),
            block: Some(l.block_number),
            ledger_events: Vec::new(),
            expected: Value::Null,
            on_chain: json!({"index": index, "tokens": amount(tokens)}),
        });
    }

    // Revocations.
    let mut revoked: BTreeMap<B256, (&ChainLog, u64, u128)> = BTreeMap::new();
    for (l, f) in &facts {
        if let OnChain::Revoked { id, effective_at, returned } = f {
            revoked.insert(*id, (l, *effective_at, *returned));
        }
    }
    for v in &expected.revocations {
        let exp = json!({"effective_at": v.effective_at, "returned": amount(v.returned)});
        match revoked.remove(&v.id) {
            None if v.effective_at > head_timestamp => {}
            None => r.missing_on_chain.push(Item {
                kind: "revocation",
                grant: Some(v.grant.clone()),
                id: v.id,
                tx_hash: None,
                block: None,
                ledger_events: v.ledger_events.clone(),
                expected: exp,
                on_chain: Value::Null,
            }),
            Some((l, effective_at, returned)) => {
                let item = Item {
                    kind: "revocation",
                    grant: Some(v.grant.clone()),
                    id: v.id,
                    tx_hash: Some(l.tx_hash),
                    block: Some(l.block_number),
                    ledger_events: v.ledger_events.clone(),
                    expected: exp,
                    on_chain: json!({"effective_at": effective_at, "returned": amount(returned)}),
                };
                if effective_at == v.effective_at && returned == v.returned {
                    r.matched.push(item)
                } else {
                    r.amount_mismatch.push(item)
                }
            }
        }
    }
    for (id, (l, effective_at, returned)) in revoked {
        r.unexpected_on_chain.push(Item {
            kind: "revocation",
            grant: name(&id),
            id,
            tx_hash: Some(l.tx_hash),
            block: Some(l.block_number),
            ledger_events: Vec::new(),
            expected: Value::Null,
            on_chain: json!({"effective_at": effective_at, "returned": amount(returned)}),
        });
    }

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
    let empty: Vec<&ExpectedVest> = Vec::new();
    let ids: std::collections::BTreeSet<B256> = vests.keys().chain(releases.keys()).copied().collect();
    for id in ids {
        let list = vests.get(&id).unwrap_or(&empty);
        let mut next = 0usize;
        for (l, net, withheld) in releases.get(&id).map(Vec::as_slice).unwrap_or(&[]) {
            let start = next;
            while next < list.len() && list[next].instant <= l.timestamp {
                next += 1;
            }
            let covered = &list[start..next];
            let units: u128 = covered.iter().map(|v| v.units).fold(0, u128::saturating_add);
            let exp_withheld: u128 = covered.iter().map(|v| v.withheld).fold(0, u128::saturating_add);
            let events: Vec<String> = covered.iter().flat_map(|v| v.ledger_events.iter().cloned()).collect();
            let dates: Vec<&str> = covered.iter().map(|v| v.date.as_str()).collect();
            let on_chain = json!({"released": amount(net.saturating_add(*withheld)), "net": amount(*net), "withheld": amount(*withheld), "timestamp": l.timestamp});
            let item = Item {
                kind: "release",
                grant: name(&id),
                id,
                tx_hash: Some(l.tx_hash),
                block: Some(l.block_number),
                ledger_events: events,
                expected: if covered.is_empty() {
                    Value::Null
                } else {
                    json!({"released": amount(units), "net": amount(units.saturating_sub(exp_withheld)), "withheld": amount(exp_withheld), "vest_dates": dates})
                },
                on_chain,
            };
            if covered.is_empty() {
                r.unexpected_on_chain.push(item);
            } else if units == net.saturating_add(*withheld) && exp_withheld == *withheld {
                r.matched.push(item);
            } else {
                r.amount_mismatch.push(item);
            }
        }
        let due: Vec<&&ExpectedVest> = list[next..].iter().filter(|v| v.instant <= head_timestamp).collect();
        if !due.is_empty() {
            let units: u128 = due.iter().map(|v| v.units).fold(0, u128::saturating_add);
            let exp_withheld: u128 = due.iter().map(|v| v.withheld).fold(0, u128::saturating_add);
            r.missing_on_chain.push(Item {
                kind: "release",
                grant: name(&id),
                id,
                tx_hash: None,
                block: None,
                ledger_events: due.iter().flat_map(|v| v.ledger_events.iter().cloned()).collect(),
                expected: json!({"released": amount(units), "net": amount(units.saturating_sub(exp_withheld)), "withheld": amount(exp_withheld), "vest_dates": due.iter().map(|v| v.date.as_str()).collect::<Vec<_>>()}),
                on_chain: Value::Null,
            });
        }
    }
    r
}
