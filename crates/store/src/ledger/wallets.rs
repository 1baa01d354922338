//! Wallet proofs in the ledger (issue 18, item 3): a person's wallet proven by a signed
//! Sign-In with Ethereum message (`wallet.proven`), and a pending change cancelled before it
//! took effect (`wallet.cancelled`).
//!
//! The ledger keeps the address, the EIP-191 hash of the signed message, who recorded it, when
//! and from when it counts; never the signature's nonce or anything secret. Deciding whether a
//! proof is acceptable is the service's job; this module only encodes and folds the facts.

use jiff::Timestamp;
use serde_json::{Value, json};

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
