//! Latest-wins facts (settings, people, milestones, corrections) recorded again after a change:
//! a revert gets an event of its own.

use std::collections::{BTreeMap, BTreeSet};

use crate::{EventKind, NewEvent, StoredEvent};

/// The kinds whose latest event is the company's state (addressed by content, the latest wins).
const LATEST_WINS: [EventKind; 6] = [
    EventKind::Company,
    EventKind::Token,
    EventKind::Person,
    EventKind::Tokenomics,
    EventKind::Milestone,
    EventKind::PriceCorrected,
];

/// What a latest-wins event replaces: its id without the content hash (and without an `:again:`
/// suffix), e.g. `person:ada` for `person:ada:<hash>`.
fn slot(e: &NewEvent) -> Option<&str> {
    if !LATEST_WINS.contains(&e.kind) {
        return None;
    }
    let base = e.id.split(":again:").next().unwrap_or(&e.id);
    Some(base.rsplit_once(':').map_or(base, |(slot, _)| slot))
}

/// Whether `e` is a latest-wins event (see [`distinct_reverts`]).
pub fn latest_wins(e: &NewEvent) -> bool {
    slot(e).is_some()
}

/// Gives a reverted fact an event of its own. Latest-wins facts are addressed by content, so
/// recording one whose content was recorded before and later superseded (a salary set back, a
/// company setting reverted) would find the old event and change nothing: the revert lost, and
/// the old event's writer shown for what someone else just did. Such an event gets the id
/// `<id>:again:<n>` (`n` the ledger's length plus its place in the batch: deterministic for the
/// ledger it is decided on, under the write lock) and is recorded as a change by its actor. A
/// fact equal to what its slot already holds takes that event's id, so recording it again is a
/// no-op whoever does it, and the first writer stays recorded.
pub fn distinct_reverts(before: &[StoredEvent], batch: &mut [NewEvent]) {
    let mut current: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut ids: BTreeSet<String> = BTreeSet::new();
    for e in before {
        ids.insert(e.event.id.clone());
        if let Some(slot) = slot(&e.event) {
            current.insert(slot.to_owned(), (e.event.id.clone(), e.event.payload.clone()));
        }
    }
    let len = before.len();
    for (i, e) in batch.iter_mut().enumerate() {
        let Some(slot) = slot(e).map(str::to_owned) else { continue };
        match current.get(&slot) {
            Some((id, payload)) if super::origin::same_payload(payload, &e.payload) => e.id.clone_from(id),
            _ if ids.contains(&e.id) => {
                let base = e.id.split(":again:").next().unwrap_or(&e.id).to_owned();
                e.id = format!("{base}:again:{}", len + i + 1);
            }
            _ => {}
        }
        ids.insert(e.id.clone());
        current.insert(slot, (e.id.clone(), e.payload.clone()));
    }
}

#[cfg(test)]
mod revert_tests {
    use tokencomp_core::model::{Person, PersonKind};

    use super::*;
    use crate::ledger::Fact;

    fn stored(events: &[NewEvent]) -> Vec<StoredEvent> {
        events
            .iter()
            .zip(1..)
            .map(|(e, seq)| StoredEvent {
                seq,
                event: e.clone(),
                recorded_at: jiff::Timestamp::UNIX_EPOCH,
                prev_hash: String::new(),
                hash: String::new(),
            })
            .collect()
    }

    fn person(name: &str, actor: &str) -> NewEvent {
        Fact::Person(Person {
            id: "ada".into(),
            name: name.into(),
            email: None,
            kind: PersonKind::Employee,
            country: None,
            region: None,
            hired: None,
            salary: None,
            wallet: None,
            tax: Default::default(),
        })
        .to_event(actor)
    }

    #[test]
    fn a_reverted_fact_is_a_new_event_and_an_unchanged_one_keeps_its_event() {
        let (a, b) = (person("Ada", "user:alice"), person("Ada B", "user:alice"));
        let before = stored(&[a.clone(), b.clone()]);
        // Bob sets the name back: a change of his, under an id of its own.
        let mut batch = vec![person("Ada", "user:bob")];
        distinct_reverts(&before, &mut batch);
        assert_eq!(batch[0].id, format!("{}:again:3", a.id));
        // Recording what the slot holds is the same event (a no-op), whoever records it.
        let mut again = vec![person("Ada B", "user:bob")];
        distinct_reverts(&before, &mut again);
        assert_eq!(again[0].id, b.id);
        // After the revert, setting it back once more is again a new event, and the current one
        // (under its `again` id) is matched by content.
        let after = stored(&[a.clone(), b.clone(), batch[0].clone()]);
        let mut same = vec![person("Ada", "user:carol")];
        distinct_reverts(&after, &mut same);
        assert_eq!(same[0].id, batch[0].id);
        let mut back = vec![person("Ada B", "user:carol")];
        distinct_reverts(&after, &mut back);
        assert_eq!(back[0].id, format!("{}:again:4", b.id));
        // Other kinds are left alone.
        let mut other = vec![NewEvent { kind: EventKind::Vest, ..a.clone() }];
        distinct_reverts(&after, &mut other);
        assert_eq!(other[0].id, a.id);
    }
}
