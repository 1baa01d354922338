//! Wallet proofs in the ledger (issue 18, item 3): a person's wallet proven by a signed
//! Sign-In with Ethereum message (`wallet.proven`), and a pending change cancelled before it
//! took effect (`wallet.cancelled`).
//!
//! The ledger keeps the address, the EIP-191 hash of the signed message, who recorded it, when
//! and from when it counts; never the signature's nonce or anything secret. Deciding whether a
//! proof is acceptable is the service's job; this module only encodes and folds the facts.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::fact::Fact;
use super::fold::Company;
use super::read::{FoldError, bad, s};
use crate::{EventKind, StoredEvent, Subject};

/// A proven wallet as the ledger holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletProof {
    pub person: String,
    /// The EIP-55 checksummed address that signed.
    pub address: String,
    /// The EIP-191 digest of the signed message, 0x hex: the proof's identity.
    pub message_hash: String,
    /// When the proof was accepted.
    pub proven_at: Timestamp,
    /// From when it is the person's wallet (the proof plus the company's delay).
    pub effective_at: Timestamp,
    /// Who recorded it (the event's actor).
    pub actor: String,
    /// When and by whom it was cancelled, when it was (only before `effective_at`).
    pub cancelled: Option<(Timestamp, String)>,
}

impl WalletProof {
    /// Whether this proof is the person's wallet at `now`: in effect and not cancelled.
    pub fn effective(&self, now: Timestamp) -> bool {
        self.cancelled.is_none() && self.effective_at <= now
    }

    /// Whether it waits for its delay at `now` (cancellable).
    pub fn pending(&self, now: Timestamp) -> bool {
        self.cancelled.is_none() && self.effective_at > now
    }
}

/// The id, kind, subject and payload of a proof.
pub(super) fn proven(
    person: &str,
    address: &str,
    message_hash: &str,
    proven_at: Timestamp,
    effective_at: Timestamp,
) -> (String, EventKind, String, Value) {
    let v = json!({"person": person, "address": address, "message_hash": message_hash,
                   "proven_at": proven_at.to_string(), "effective_at": effective_at.to_string()});
    (format!("wallet:{person}:{message_hash}"), EventKind::WalletProven, Subject::Person(person.to_owned()).text(), v)
}

/// The id, kind, subject and payload of a cancellation.
pub(super) fn cancelled(person: &str, message_hash: &str, at: Timestamp) -> (String, EventKind, String, Value) {
    let v = json!({"person": person, "message_hash": message_hash, "at": at.to_string()});
    (
        format!("wallet:{person}:{message_hash}:cancelled"),
        EventKind::WalletCancelled,
        Subject::Person(person.to_owned()).text(),
        v,
    )
}

fn time(v: &Value, key: &str, e: &StoredEvent) -> Result<Timestamp, FoldError> {
    s(v, key, e)?.parse().map_err(|_| bad(e, format!("`{key}` is not an instant")))
}

/// Folds one wallet event into `proofs` (in ledger order).
pub(super) fn fold(proofs: &mut Vec<WalletProof>, v: &Value, e: &StoredEvent) -> Result<(), FoldError> {
    match e.event.kind {
        EventKind::WalletProven => proofs.push(WalletProof {
            person: s(v, "person", e)?.to_owned(),
            address: s(v, "address", e)?.to_owned(),
            message_hash: s(v, "message_hash", e)?.to_owned(),
            proven_at: time(v, "proven_at", e)?,
            effective_at: time(v, "effective_at", e)?,
            actor: e.event.actor.clone(),
            cancelled: None,
        }),
        EventKind::WalletCancelled => {
            let (person, hash) = (s(v, "person", e)?, s(v, "message_hash", e)?);
            let at = time(v, "at", e)?;
            let p = proofs
                .iter_mut()
                .find(|p| p.person == person && p.message_hash == hash)
                .ok_or_else(|| bad(e, format!("no wallet proof {hash} of `{person}` to cancel")))?;
            p.cancelled = Some((at, e.event.actor.clone()));
        }
        _ => {}
    }
    Ok(())
}

impl Company {
    /// The person's proven wallet in effect at `now`: the latest proof past its delay and not
    /// cancelled.
    pub fn effective_wallet(&self, person: &str, now: Timestamp) -> Option<&WalletProof> {
        self.wallet_proofs.iter().rev().find(|p| p.person == person && p.effective(now))
    }

    /// The grant holders who have no proven wallet in effect at `now`, sorted.
    pub fn lacking_proven_wallets(&self, now: Timestamp) -> Vec<String> {
        let holders: std::collections::BTreeSet<&str> =
            self.grants.values().map(|g| g.terms.grant.holder.as_str()).collect();
        holders.into_iter().filter(|h| self.effective_wallet(h, now).is_none()).map(str::to_owned).collect()
    }
}

/// Whether `w` is written as an Ethereum address (0x and 40 hex digits), not a label.
fn is_address(w: &str) -> bool {
    w.len() == 42 && w.starts_with("0x") && w[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The first person of `facts` whose wallet *address* is newly typed while the company (as the
/// batch leaves it: a company fact in it counts) requires proven wallets. A label is not an
/// address and stays allowed; an address already on record may be recorded again unchanged.
pub fn typed_wallet_refused(current: Option<&Company>, facts: &[Fact]) -> Option<String> {
    let in_batch = facts.iter().rev().find_map(|f| match f {
        Fact::Company(c) => Some(c.policy.require_proven_wallets),
        _ => None,
    });
    if !in_batch.or_else(|| current.map(|c| c.company.policy.require_proven_wallets)).unwrap_or(false) {
        return None;
    }
    facts.iter().find_map(|f| {
        let Fact::Person(p) = f else { return None };
        let w = p.wallet.as_deref().filter(|w| is_address(w))?;
        let recorded = current.and_then(|c| c.people.get(&p.id)).and_then(|q| q.wallet.as_deref());
        (recorded != Some(w)).then(|| p.id.clone())
    })
}
