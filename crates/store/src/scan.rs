//! Reading the ledger a bounded piece at a time: the events a filter selects, newest or oldest
//! first, from a sequence number on, and the hash chain recomputed as the events go by. The
//! audit view and its CSV export read a ledger of any size through these with a few hundred
//! events in memory at once.
//!
//! Must never: load the whole ledger to filter it, or change how the chain is hashed (the
//! check here is [`crate::verify`]'s, one event at a time).

use jiff::Timestamp;

use crate::{ChainBreak, EventKind, GENESIS, Store, StoreError, StoredEvent, Subject, format_time, hash_event};

/// How many events one read of a scan brings into memory.
pub const CHUNK: usize = 512;

/// Which events a scan selects; every part that is set must hold (they combine).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Exactly this actor (`user:ada`, `key:…`, `system`).
    pub actor: Option<String>,
    pub kind: Option<EventKind>,
    /// About this subject, typed (an older ledger's bare ids included, as
    /// [`Store::events_for`]).
    pub subject: Option<Subject>,
    /// Recorded at or after this instant.
    pub from: Option<Timestamp>,
    /// Recorded before this instant.
    pub before: Option<Timestamp>,
}

impl EventFilter {
    /// Whether `e` is selected. The backends narrow by the columns in SQL; this decides, so a
    /// bare id of another namespace and the record times (text that does not sort) are judged
    /// here the same way on both backends.
    pub fn matches(&self, e: &StoredEvent) -> bool {
        self.actor.as_ref().is_none_or(|a| *a == e.event.actor)
            && self.kind.is_none_or(|k| k == e.event.kind)
            && self.subject.as_ref().is_none_or(|s| *s == e.event.about())
            && self.from.is_none_or(|t| e.recorded_at >= t)
            && self.before.is_none_or(|t| e.recorded_at < t)
    }

    /// The column values a backend narrows by: actor, kind text, and the subject's two texts
    /// (typed and bare).
    pub(crate) fn columns(&self) -> (Option<String>, Option<String>, Option<String>, Option<String>) {
        let texts = self.subject.as_ref().map(Subject::texts);
        let typed = texts.as_ref().and_then(|t| t.first().cloned());
        let bare = texts.as_ref().and_then(|t| t.last().cloned());
        (self.actor.clone(), self.kind.map(|k| k.as_str().to_owned()), typed, bare)
    }
}

/// Where a chunk starts and which way it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// Newest first, from the event below this sequence number (`None`: from the head).
    NewestBelow(Option<i64>),
    /// Oldest first, from the event above this sequence number (0: from the first).
    OldestAbove(i64),
}

/// Visits the events `filter` selects in `from`'s order, one chunk of [`CHUNK`] rows in memory
/// at a time, until `visit` returns `false` or the ledger ends. Events appended meanwhile have
/// higher sequence numbers, so a newest-first scan never meets them.
pub fn scan(
    store: &mut dyn Store,
    filter: &EventFilter,
    from: Start,
    visit: &mut dyn FnMut(StoredEvent) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let mut at = from;
    loop {
        let chunk = store.events_chunk(filter, at, CHUNK)?;
        let (Some(last), full) = (chunk.last().map(|e| e.seq), chunk.len() == CHUNK) else { return Ok(()) };
        for e in chunk {
            if filter.matches(&e) && !visit(e)? {
                return Ok(());
            }
        }
        if !full {
            return Ok(());
        }
        at = match at {
            Start::NewestBelow(_) => Start::NewestBelow(Some(last)),
            Start::OldestAbove(_) => Start::OldestAbove(last),
        };
    }
}

/// How far the hash chain holds: every event through `verified_through` links up; `broken`
/// is the first event where it does not (none when the whole ledger verifies).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainState {
    pub verified_through: i64,
    pub broken: Option<ChainBreak>,
}

impl ChainState {
    /// Whether the chain verifies from the first event up to and including `seq`.
    pub fn holds_through(&self, seq: i64) -> bool {
        seq <= self.verified_through
    }
}

/// Recomputes the hash chain oldest first, a chunk at a time (the check [`crate::verify`] makes
/// over a slice), and says how far it holds.
pub fn chain_state(store: &mut dyn Store) -> Result<ChainState, StoreError> {
    let mut prev = GENESIS.to_owned();
    let mut through = 0i64;
    let mut broken = None;
    scan(store, &EventFilter::default(), Start::OldestAbove(0), &mut |e| {
        let brk = |reason: String| ChainBreak { seq: e.seq, id: e.event.id.clone(), reason };
        let expected = through + 1;
        let failure = if e.seq != expected {
            Some(brk(format!("sequence {} where {expected} was expected (an event is missing)", e.seq)))
        } else if e.prev_hash != prev {
            Some(brk("its link to the previous event does not match".into()))
        } else if hash_event(&prev, e.seq, &e.event, &format_time(e.recorded_at)) != e.hash {
            Some(brk("its content does not match its hash (edited after it was recorded)".into()))
        } else {
            None
        };
        if let Some(b) = failure {
            broken = Some(b);
            return Ok(false);
        }
        through = e.seq;
        prev = e.hash;
        Ok(true)
    })?;
    Ok(ChainState { verified_through: through, broken })
}
