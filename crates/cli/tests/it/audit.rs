//! `tokencomp audit` (issue 18, item 6): the ledger's events newest first with the web's
//! filters, the table, the JSON and the CSV checked against the ledger read directly, and every
//! bad filter refused with exit code 2 naming its flag.

use tokencomp_store::sqlite::SqliteStore;
use tokencomp_store::{Store, StoredEvent};

use crate::ledger::Company;

fn events(c: &Company) -> Vec<StoredEvent> {
    SqliteStore::open(&c.data().join("ledger.sqlite")).expect("opens").events().expect("events")
}

#[test]
fn the_audit_command_lists_filters_and_exports_what_the_ledger_holds() {
    let c = Company::new();
    c.ok(&["init", "examples/company.toml"]);
    let all = events(&c);
    let n = all.len();
    assert!(n > 20, "{n}");
    // The table: the chain's verdict, then the newest events first.
    let table = c.ok(&["audit", "--limit", "3"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], format!("hash chain: verifies through event {n}"), "{table}");
    assert!(lines[1].trim_start().starts_with("seq"), "{table}");
    for (line, e) in lines[2..5].iter().zip(all.iter().rev()) {
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells[0], e.seq.to_string(), "{line}");
        assert_eq!(cells[2], e.event.kind.as_str(), "{line}");
        assert_eq!(cells[5], &e.hash[..12], "{line}");
        assert_eq!(cells[6], "ok", "{line}");
    }
    assert_eq!(lines[5], "3 events, newest first (more: raise --limit or narrow the filters)");
    // The CSV of one kind: a header and one line per event of that kind, newest first, each
    // with its hashes as the ledger holds them.
    let csv = c.ok(&["audit", "--csv", "--kind", "grant.issued", "--by", "user:test"]);
    let rows: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert_eq!(
        rows[0],
        "seq,recorded_at,kind,subject,actor,amount,amount_base_units,event_id,prev_hash,hash,chain_verified,payload"
    );
    let grants: Vec<&StoredEvent> = all.iter().rev().filter(|e| e.event.kind.as_str() == "grant.issued").collect();
    assert!(!grants.is_empty());
    assert_eq!(rows.len(), grants.len() + 1, "{csv}");
    for (row, e) in rows[1..].iter().zip(&grants) {
        let amount = e.event.amount.map(|a| a.to_string()).unwrap_or_default();
        let start = format!("{},{},grant.issued,{},user:test,", e.seq, e.recorded_at, e.event.subject);
        assert!(row.starts_with(&start), "{row}\nwant {start}");
        let tail = format!(",{amount},{},{},{},yes,\"", e.event.id, e.prev_hash, e.hash);
        assert!(row.contains(&tail), "{row}\nwant {tail}");
    }
    // `--limit` narrows the CSV to the newest.
    let two = c.ok(&["audit", "--csv", "--kind", "grant.issued", "--limit", "2"]);
    assert_eq!(two.split_terminator("\r\n").collect::<Vec<_>>(), rows[..3]);
    // The JSON: a subject's events, each with its place in the chain.
    let company = c.json(&["audit", "--json", "--subject", "company"]);
    let items = company["items"].as_array().expect("items");
    let want: Vec<i64> = all.iter().rev().filter(|e| e.event.subject == "company").map(|e| e.seq).collect();
    assert_eq!(items.iter().map(|e| e["seq"].as_i64().expect("seq")).collect::<Vec<_>>(), want);
    assert!(items.iter().all(|e| e["chain_ok"] == true), "{company}");
}

#[test]
fn a_bad_audit_filter_is_refused_naming_its_flag() {
    let c = Company::new();
    c.ok(&["init", "examples/company.toml"]);
    for (args, fragments) in [
        (&["audit", "--kind", "bonus.paid"][..], &["`bonus.paid` is not an event kind", "--kind"][..]),
        (&["audit", "--since", "2026-13-01"], &["`2026-13-01` is not a date", "--since"]),
        (&["audit", "--since", "2026-12-02", "--until", "2026-12-01"], &["before the range's first day", "--until"]),
        (&["audit", "--by", "user:nobody"], &["no event was recorded by `user:nobody`", "--by"]),
        (&["audit", "--subject", "grant:nobody"], &["no event is about `grant:nobody`", "--subject"]),
    ] {
        c.refused(args, fragments);
    }
}
