//! Where an event came from: a company file or CSV (`file:NAME`), the command line (`cli`) or
//! the HTTP API (`api`). It decides what `apply` may reverse: an event the file put there and
//! the file no longer lists is reversed; one recorded any other way is kept unless the file
//! names it under `reverse = [...]` (or `apply --reverse-unlisted`).
//!
//! The origin is the payload's `origin` key, added after the event's id is formed (content
//! ids hash the payload without it) and left out when an append compares a recorded event
//! with the same one given again: like the actor, the first writer's origin stays, and the same
//! fact recorded from another face is a no-op, never a conflict.
//!
//! Events recorded before origins were kept have no key. Their origin is read from what the
//! ledger does record: the batch they were appended in (the events sharing one record time, in
//! sequence). A batch that also holds what only a file or an import records (the company, the
//! token, a person, a price, an FX rate, `[tokenomics]`, a milestone's terms, a grant's
//! corrected terms or a reversed event, or a grant issued together with its events) was written
//! by `init`, `apply` or `import`: `file`. Any other batch reads as `cli`, so an old lifecycle
//! event that may have been a `grant terminate` is kept, never reversed on a guess; the plan of
//! `apply` names it, and `reverse = [...]` reverses it when that is what is meant.

use serde_json::Value;

use crate::{EventKind, StoredEvent};

/// Where an event came from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// A company file or CSV import, by the name it was given (empty when an older ledger
    /// did not record it).
    File(String),
    Cli,
    Api,
}

impl Origin {
    /// The payload text: `file:NAME`, `file`, `cli`, `api`.
    pub fn text(&self) -> String {
        match self {
            Origin::File(name) if name.is_empty() => "file".to_owned(),
            Origin::File(name) => format!("file:{name}"),
            Origin::Cli => "cli".to_owned(),
            Origin::Api => "api".to_owned(),
        }
    }

    /// The inverse of [`Origin::text`]; `None` for text no version writes.
    pub fn parse(text: &str) -> Option<Origin> {
        match text {
            "cli" => Some(Origin::Cli),
            "api" => Some(Origin::Api),
            "file" => Some(Origin::File(String::new())),
            _ => text.strip_prefix("file:").map(|n| Origin::File(n.to_owned())),
        }
    }

    pub fn is_file(&self) -> bool {
        matches!(self, Origin::File(_))
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

/// `payload` (a JSON object) with its `origin` set; any other payload unchanged.
pub fn with_origin(payload: &str, origin: &Origin) -> String {
    match serde_json::from_str::<Value>(payload) {
        Ok(Value::Object(mut m)) => {
            m.insert("origin".into(), Value::String(origin.text()));
            Value::Object(m).to_string()
        }
        _ => payload.to_owned(),
    }
}

/// Whether two payloads record the same fact: equal, or equal once their `origin` is left out.
pub fn same_payload(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let strip = |s: &str| match serde_json::from_str::<Value>(s) {
        Ok(Value::Object(mut m)) => {
            m.remove("origin");
            Some(Value::Object(m))
        }
        _ => None,
    };
    matches!((strip(a), strip(b)), (Some(x), Some(y)) if x == y)
}

/// The kinds only a company file or an import records (see the module doc).
const FILE_ONLY: [EventKind; 9] = [
    EventKind::Company,
    EventKind::Token,
    EventKind::Person,
    EventKind::Price,
    EventKind::Fx,
    EventKind::Tokenomics,
    EventKind::Milestone,
    EventKind::GrantCorrected,
    EventKind::GrantEventReversed,
];

/// Each event's origin, parallel to `events` (the whole ledger, in sequence order): its
/// `origin` key, or for an older event the one its batch implies (see the module doc).
pub fn origins(events: &[StoredEvent]) -> Vec<Origin> {
    let mut out = Vec::with_capacity(events.len());
    let mut start = 0;
    while start < events.len() {
        let at = events[start].recorded_at;
        let end = events[start..].iter().position(|e| e.recorded_at != at).map_or(events.len(), |n| start + n);
        let batch = &events[start..end];
        let kinds = || batch.iter().map(|e| e.event.kind);
        let from_file = kinds().any(|k| FILE_ONLY.contains(&k))
            || (kinds().any(|k| k == EventKind::GrantIssued) && kinds().any(|k| k == EventKind::GrantEvent));
        for e in batch {
            let recorded = serde_json::from_str::<Value>(&e.event.payload)
                .ok()
                .and_then(|v| v.get("origin").and_then(Value::as_str).and_then(Origin::parse));
            out.push(recorded.unwrap_or(if from_file { Origin::File(String::new()) } else { Origin::Cli }));
        }
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_read_back_and_compare_as_no_difference() {
        for o in [Origin::File("company.toml".into()), Origin::File(String::new()), Origin::Cli, Origin::Api] {
            assert_eq!(Origin::parse(&o.text()), Some(o));
        }
        let p = with_origin(r#"{"grant":"g","event_id":"e"}"#, &Origin::Cli);
        assert_eq!(p, r#"{"grant":"g","event_id":"e","origin":"cli"}"#);
        assert!(same_payload(&p, &with_origin(&p, &Origin::File("c.toml".into()))));
        assert!(same_payload(&p, r#"{"grant":"g","event_id":"e"}"#));
        assert!(!same_payload(&p, r#"{"grant":"h","event_id":"e"}"#));
    }
}
