//! The ledger's head kept outside the ledger: its last event's hash and its event count.
//!
//! The hash chain finds an edit that was not re-hashed, but a ledger whose last events were
//! deleted, or whose history was edited and every later hash recomputed, is a valid chain again.
//! A head written down elsewhere — beside a closed payroll export, in a backup, on a chain —
//! tells them apart from a ledger that only grew: the ledger must still hold that hash at that
//! count (TigerBeetle and Certificate Transparency check a log the same way, against a
//! checkpoint held by someone else).
//!
//! Everything here assumes a chain [`crate::verify`] accepted, so event `n` is at index `n - 1`.

use serde_json::{Value, json};

use crate::{EventKind, GENESIS, StoredEvent};

/// A ledger's head: after `events` events, the last one's hash is `hash` ([`GENESIS`] for none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub hash: String,
    pub events: i64,
}

impl Head {
    /// The head of a ledger.
    pub fn of(events: &[StoredEvent]) -> Head {
        match events.last() {
            Some(e) => Head { hash: e.hash.clone(), events: e.seq },
            None => Head { hash: GENESIS.to_owned(), events: 0 },
        }
    }

    /// `{"head": HASH, "events": N}`: the fields every anchor document carries.
    pub fn to_json(&self) -> Value {
        json!({"head": self.hash, "events": self.events})
    }

    /// The head in an anchor document (`head` and `events`, other fields ignored).
    pub fn from_json(v: &Value) -> Option<Head> {
        let hash = v.get("head")?.as_str()?;
        let events = v.get("events")?.as_i64()?;
        (is_hash(hash) && events >= 0).then(|| Head { hash: hash.to_owned(), events })
    }
}

/// Whether `s` is an event hash: 64 lower-case hexadecimal digits.
pub fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Why a ledger does not hold an anchored head.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeadMismatch {
    #[error(
        "the ledger has {found} events but the anchor names event {} (hash {}): events were deleted from its end",
        .expected.events, .expected.hash
    )]
    Lost { expected: Head, found: i64 },
    #[error(
        "event {} has hash {found} but the anchor says {}: the ledger's history was rewritten",
        .expected.events, .expected.hash
    )]
    Rewritten { expected: Head, found: String },
    #[error("no event of the ledger has hash {hash}: it lost that event or its history was rewritten")]
    Unknown { hash: String },
}

/// Whether the ledger holds `expected`: the same hash at the same count. A ledger that grew past
/// it holds it; one that lost it or rewrote it does not.
pub fn check(events: &[StoredEvent], expected: &Head) -> Result<(), HeadMismatch> {
    if expected.events == 0 {
        return if expected.hash == GENESIS {
            Ok(())
        } else {
            Err(HeadMismatch::Rewritten { expected: expected.clone(), found: GENESIS.to_owned() })
        };
    }
    let found = i64::try_from(events.len()).unwrap_or(i64::MAX);
    let at = usize::try_from(expected.events - 1).ok().and_then(|i| events.get(i));
    match at {
        None => Err(HeadMismatch::Lost { expected: expected.clone(), found }),
        Some(e) if e.hash != expected.hash => {
            Err(HeadMismatch::Rewritten { expected: expected.clone(), found: e.hash.clone() })
        }
        Some(_) => Ok(()),
    }
}

/// The head whose hash is `hash`, when the ledger holds it (a bare hash names its count too: the
/// hash covers the event's sequence number).
pub fn find(events: &[StoredEvent], hash: &str) -> Result<Head, HeadMismatch> {
    events
        .iter()
        .find(|e| e.hash == hash)
        .map(|e| Head { hash: e.hash.clone(), events: e.seq })
        .ok_or_else(|| HeadMismatch::Unknown { hash: hash.to_owned() })
}

/// The heads that payroll close events recorded (`anchor` in their payload), with the closing
/// event's sequence number and id: each must be a head of the same ledger, before that event.
pub fn recorded(events: &[StoredEvent]) -> Vec<(i64, String, Head)> {
    events
        .iter()
        .filter(|e| e.event.kind == EventKind::PayrollClosed)
        .filter_map(|e| {
            let v: Value = serde_json::from_str(&e.event.payload).ok()?;
            Some((e.seq, e.event.id.clone(), Head::from_json(v.get("anchor")?)?))
        })
        .collect()
}

/// Checks every head the ledger recorded of itself ([`recorded`]): one line per problem.
pub fn check_recorded(events: &[StoredEvent]) -> Vec<String> {
    recorded(events)
        .into_iter()
        .filter_map(|(seq, id, head)| {
            if head.events >= seq {
                return Some(format!("event {seq} ({id}) anchors event {}, which is not before it", head.events));
            }
            check(events, &head).err().map(|e| format!("event {seq} ({id}): {e}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::{NewEvent, hash_event};

    fn ledger(n: i64) -> Vec<StoredEvent> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let event = NewEvent {
                    id: format!("e{seq}"),
                    kind: EventKind::Price,
                    subject: "s".into(),
                    payload: "{}".into(),
                    amount: None,
                    actor: "system".into(),
                };
                let hash = hash_event(&prev, seq, &event, "2026-01-01T00:00:00Z");
                StoredEvent {
                    seq,
                    event,
                    recorded_at: Timestamp::UNIX_EPOCH,
                    prev_hash: std::mem::replace(&mut prev, hash.clone()),
                    hash,
                }
            })
            .collect()
    }

    #[test]
    fn a_ledger_holds_its_past_heads_and_not_a_lost_or_rewritten_one() {
        let full = ledger(10);
        let at7 = Head::of(&full[..7]);
        assert_eq!(check(&full, &at7), Ok(()), "grown past it");
        assert_eq!(check(&full, &Head::of(&[])), Ok(()));
        assert_eq!(find(&full, &at7.hash), Ok(at7.clone()));
        let head = Head::of(&full);
        assert!(matches!(check(&full[..9], &head), Err(HeadMismatch::Lost { found: 9, .. })));
        let mut other = ledger(10);
        other[9].event.payload = "{\"x\":1}".into();
        other[9].hash = hash_event(&other[9].prev_hash, 10, &other[9].event, "2026-01-01T00:00:00Z");
        assert!(matches!(check(&other, &head), Err(HeadMismatch::Rewritten { .. })));
        assert!(matches!(find(&other, &head.hash), Err(HeadMismatch::Unknown { .. })));
        assert_eq!(Head::from_json(&head.to_json()), Some(head));
        assert_eq!(Head::from_json(&json!({"head": "ABC", "events": 1})), None);
    }
}
