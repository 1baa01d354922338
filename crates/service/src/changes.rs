//! What differs between a fact and what the ledger holds: the fields a correction changes
//! (old → new, nested payloads and TOML fragments key by key), and a conflict as a readable line
//! naming what to run instead (a price's `tokencomp price correct …`). Used by `apply`'s plan
//! and by the imports, so every conflict of a file is reported at once.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use tokencomp_store::ledger::origin::same_payload;
use tokencomp_store::ledger::{Company, Fact};
use tokencomp_store::{EventKind, NewEvent, StoredEvent};

/// Every one of `events` (the events of `facts`, in order) that the ledger `before` holds under
/// its id with other content, as a readable line; empty when none does.
pub fn conflicts(
    before: &[StoredEvent],
    company: Option<&Company>,
    facts: &[Fact],
    events: &[NewEvent],
) -> Vec<String> {
    let recorded: BTreeMap<&str, &StoredEvent> = before.iter().map(|e| (e.event.id.as_str(), e)).collect();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (fact, e) in facts.iter().zip(events) {
        if !seen.insert(e.id.as_str()) {
            continue;
        }
        if let Some(stored) = recorded.get(e.id.as_str())
            && !same_payload(&stored.event.payload, &e.payload)
        {
            out.push(conflict_line(fact, stored, company));
        }
    }
    out
}

/// What a fact is about, as a plan names it.
pub(crate) fn describe(f: &Fact) -> String {
    match f {
        Fact::Company(_) => "company settings".into(),
        Fact::Token(_) => "token".into(),
        Fact::Person(p) => format!("person {}", p.id),
        Fact::Price(p) => format!("price {} {}", p.currency, p.date),
        Fact::FxRate(r) => format!("fx rate {} {}", r.currency, r.date),
        Fact::GrantIssued { grant, holder, .. } => format!("grant {grant} to {holder}"),
        Fact::GrantCorrected { grant, .. } => format!("grant {grant} terms"),
        Fact::GrantEvent { grant, event_id, .. } | Fact::GrantEventReversed { grant, event_id } => {
            format!("event {event_id} of grant {grant}")
        }
        Fact::Tokenomics { .. } => "[tokenomics]".into(),
        Fact::Milestone { id, .. } => format!("milestone {id}"),
        other => format!("{:?}", other.to_event("").kind),
    }
}

/// A conflict as a line: the price's with the `price correct` that changes it; any other
/// event's with the field that differs.
pub(crate) fn conflict_line(fact: &Fact, stored: &StoredEvent, company: Option<&Company>) -> String {
    let old: Value = serde_json::from_str(&stored.event.payload).unwrap_or(Value::Null);
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("(none)").to_owned();
    match fact {
        Fact::Price(p) if text(&old, "close") != p.close.to_string() => {
            let current = company.and_then(|c| c.prices.get(&(p.currency, p.date))).map(ToString::to_string);
            let was = text(&old, "close");
            let now = match current {
                Some(c) if c != was => format!("{was}, corrected to {c}"),
                _ => was,
            };
            format!(
                "price {} {}: the ledger has {now}, this file {}; recorded prices never change: run `tokencomp price correct --date {} --currency {} --close {} --reason \"…\"`",
                p.currency, p.date, p.close, p.date, p.currency, p.close
            )
        }
        Fact::Price(p) => format!(
            "price {} {}: the ledger has volume {}, this file {}; a recorded day's volume never changes: give the recorded volume or leave the row out",
            p.currency,
            p.date,
            text(&old, "volume"),
            p.volume.map_or_else(|| "(none)".to_owned(), |v| v.to_string())
        ),
        Fact::FxRate(r) => format!(
            "fx rate {} {}: the ledger has {}, this file {}; recorded rates never change: leave the row out",
            r.currency,
            r.date,
            text(&old, "per_usd"),
            r.per_usd
        ),
        other => {
            let changes = json_changes(&stored.event.payload, &other.to_event("").payload);
            let changes: Vec<String> = changes.iter().map(|(f, o, n)| format!("{f} {o} → {n}")).collect();
            format!(
                "{}: recorded with other content ({}); recorded events never change",
                describe(other),
                changes.join("; ")
            )
        }
    }
}

/// A latest-wins event's slot (`person:ada`), as the ledger's revert rule reads it.
pub(crate) fn slot(e: &NewEvent) -> Option<String> {
    const KINDS: [EventKind; 5] =
        [EventKind::Company, EventKind::Token, EventKind::Person, EventKind::Tokenomics, EventKind::Milestone];
    if !KINDS.contains(&e.kind) {
        return None;
    }
    let base = e.id.split(":again:").next().unwrap_or(&e.id);
    Some(base.rsplit_once(':').map_or(base, |(slot, _)| slot).to_owned())
}

/// The fields two payloads differ in (nested objects flattened as `tax.uk.tax_code`; TOML
/// fragments such as `terms` compared key by key), the origin left out.
pub fn json_changes(old: &str, new: &str) -> Vec<(String, String, String)> {
    let (a, b): (Value, Value) =
        (serde_json::from_str(old).unwrap_or(Value::Null), serde_json::from_str(new).unwrap_or(Value::Null));
    let (mut fa, mut fb) = (BTreeMap::new(), BTreeMap::new());
    flatten("", &a, &mut fa);
    flatten("", &b, &mut fb);
    let keys: BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
    let mut out = Vec::new();
    for k in keys {
        if k == "origin" {
            continue;
        }
        let (o, n) = (fa.get(k), fb.get(k));
        if o == n {
            continue;
        }
        if k == "terms" {
            out.extend(toml_changes(o.map_or("", String::as_str), n.map_or("", String::as_str)));
            continue;
        }
        let show = |v: Option<&String>| v.cloned().unwrap_or_else(|| "(none)".to_owned());
        out.push((k.clone(), show(o), show(n)));
    }
    out
}

fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, x, out);
            }
        }
        Value::Null => {}
        Value::String(s) => {
            out.insert(prefix.to_owned(), s.clone());
        }
        other => {
            out.insert(prefix.to_owned(), other.to_string());
        }
    }
}

/// Two canonical TOML fragments compared key by key (`schedule.duration_months`, an array of
/// tables' entries numbered `performance[1].amount`).
pub fn toml_changes(old: &str, new: &str) -> Vec<(String, String, String)> {
    let (a, b) = (toml_keys(old), toml_keys(new));
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let show = |v: Option<&String>| v.cloned().unwrap_or_else(|| "(none)".to_owned());
    keys.into_iter().filter(|k| a.get(*k) != b.get(*k)).map(|k| (k.clone(), show(a.get(k)), show(b.get(k)))).collect()
}

fn toml_keys(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut section = String::new();
    let mut arrays: BTreeMap<String, usize> = BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        if let Some(name) = line.strip_prefix("[[").and_then(|l| l.strip_suffix("]]")) {
            let n = arrays.entry(name.to_owned()).and_modify(|n| *n += 1).or_insert(0);
            section = format!("{name}[{n}]");
        } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
        } else if let Some((k, v)) = line.split_once(" = ") {
            let key = if section.is_empty() { k.to_owned() } else { format!("{section}.{k}") };
            out.insert(key, v.trim_matches('"').to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_name_each_field_old_and_new() {
        let old = r#"{"id":"ada","salary":"100","tax":{"uk":{"tax_code":"0T M1"}},"origin":"cli"}"#;
        let new = r#"{"id":"ada","salary":"120","tax":{"uk":{"tax_code":"1257L"}},"origin":"file:c.toml"}"#;
        assert_eq!(
            json_changes(old, new),
            vec![
                ("salary".to_owned(), "100".to_owned(), "120".to_owned()),
                ("tax.uk.tax_code".to_owned(), "0T M1".to_owned(), "1257L".to_owned()),
            ]
        );
        let a = "id = \"g\"\namount = \"100\"\n[schedule]\nmonths = 48\n";
        let b = "id = \"g\"\namount = \"120\"\n[schedule]\nmonths = 36\n";
        assert_eq!(
            toml_changes(a, b),
            vec![
                ("amount".to_owned(), "100".to_owned(), "120".to_owned()),
                ("schedule.months".to_owned(), "48".to_owned(), "36".to_owned()),
            ]
        );
    }
}
