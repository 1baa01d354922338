//! Input that the totals could not survive (issue 15 item 18): grants that add up past a
//! `u128` or past the `[tokenomics]` total supply, zero-amount grants, and files that are not
//! UTF-8, refused at input (exit 2, file, line and field named, nothing written); a total
//! that could not be formed is a named error, never a panic.

use tokencomp_store::sqlite::SqliteStore;
use tokencomp_store::{NewEvent, Store};

use crate::ledger::Company;

const MAX: &str = "340282366920938463463374607431768211455";

/// A no-decimals company with `grants` and, when `supply` is given, a `[tokenomics]` section
/// with that supply (one team bucket holding it all).
fn file(supply: Option<&str>, grants: &[(&str, &str)]) -> String {
    let mut s = String::from(
        "[company]\nname = \"Big\"\ntime_zone = \"UTC\"\n[token]\nsymbol = \"BIG\"\ndecimals = 0\n\
         [[person]]\nid = \"ann\"\nname = \"Ann\"\n",
    );
    for (id, amount) in grants {
        s.push_str(&format!(
            "[[grant]]\nid = \"{id}\"\nholder = \"ann\"\namount = \"{amount}\"\n[grant.schedule]\n\
             type = \"monthly\"\nstart = 2026-01-01\nduration_months = 2\n"
        ));
    }
    if let Some(supply) = supply {
        s.push_str(&format!(
            "[tokenomics]\ntotal_supply = \"{supply}\"\ntge = 2025-01-01\n[[tokenomics.bucket]]\nid = \"team\"\n\
             name = \"Team\"\nkind = \"team\"\nshare = \"100%\"\n[tokenomics.bucket.schedule]\ntype = \"monthly\"\n\
             duration_months = 12\n"
        ));
    }
    s
}

/// `schedule` and `init` both refuse the file at the grant that crosses, and write nothing.
fn refused_at_input(c: &Company, text: &str, fragments: &[&str]) {
    let path = c.write("c.toml", text);
    let out = c.run(&["schedule", &path, "--json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for f in fragments {
        assert!(err.contains(f), "expected `{f}` in:\n{err}");
    }
    c.refused(&["init", &path], fragments);
    assert_eq!(c.dump(), "", "nothing was written");
}

#[test]
fn grants_adding_up_past_128_bits_are_refused_naming_the_grant_that_crosses() {
    let c = Company::new();
    refused_at_input(
        &c,
        &file(None, &[("g1", MAX), ("g2", MAX)]),
        &[
            &format!(
                "error: grant `g2` of {MAX} BIG takes the grants' total past 128 bits of base units ({MAX} BIG before it)"
            ),
            "c.toml:21:10 (grant[1].amount)",
        ],
    );
    // The import of a grants CSV counts what the ledger holds: one more unit does not fit.
    c.ok(&["init", &c.write("one.toml", &file(None, &[("g1", MAX)]))]);
    let csv =
        c.write("g.csv", "id,holder,amount_tokens,schedule,start,duration_months\ng0,ann,1,monthly,2026-01-01,2\n");
    c.refused(
        &["import", "grants", &csv],
        &["grant `g0` of 1 BIG takes the grants' total past 128 bits of base units", "g.csv:2:3 (amount_tokens)"],
    );
    // Re-importing the recorded grant itself is not counted twice.
    let same = c.write(
        "same.csv",
        &format!("id,holder,amount_tokens,schedule,start,duration_months\ng1,ann,{MAX},monthly,2026-01-01,2\n"),
    );
    c.ok(&["import", "grants", &same]);
    // `grant add` goes through the ledger's own check.
    c.refused(
        &["grant", "add", "--id", "g9", "--holder", "ann", "--amount", "1", "--start", "2026-01-01"],
        &["grant `g9` of 1 BIG takes the grants' total past 128 bits of base units"],
    );
    let cal = c.json(&["calendar", "--from", "2026-01-01", "--to", "2026-03-31", "--json"]);
    assert_eq!(cal["total"], MAX);
}

#[test]
fn grants_beyond_the_total_supply_are_refused() {
    let c = Company::new();
    refused_at_input(
        &c,
        &file(Some("1000"), &[("g1", "600"), ("g2", "400"), ("g3", "1")]),
        &[
            "error: grant `g3` of 1 BIG takes the grants' total to 1001 BIG, above the total supply of 1000 BIG in [tokenomics]",
            "(grant[2].amount)",
        ],
    );
    c.ok(&["init", &c.write("ok.toml", &file(Some("1000"), &[("g1", "600"), ("g2", "400")]))]);
    let csv =
        c.write("g.csv", "id,holder,amount_tokens,schedule,start,duration_months\ng3,ann,1,monthly,2026-01-01,2\n");
    c.refused(&["import", "grants", &csv], &["grant `g3` of 1 BIG takes the grants' total to 1001 BIG", "g.csv:2:3"]);
}

#[test]
fn zero_amount_grants_are_refused_in_toml_csv_and_grant_add() {
    let c = Company::new();
    refused_at_input(
        &c,
        &file(None, &[("g1", "10"), ("g0", "0")]),
        &["error: a grant of 0 tokens: a grant must be above zero", "(grant[1].amount)"],
    );
    c.ok(&["init", &c.write("ok.toml", &file(None, &[("g1", "10")]))]);
    let csv = c.write(
        "g.csv",
        "id,holder,amount_tokens,value_usd,price_usd,schedule,start,duration_months\n\
         g2,ann,0,,,monthly,2026-01-01,2\ng3,ann,,0.5,1,monthly,2026-01-01,2\n",
    );
    c.refused(
        &["import", "grants", &csv],
        &[
            "a grant of 0 tokens: a grant must be above zero\n  --> ",
            "g.csv:2:3 (amount_tokens)",
            "a value of 0.5 at 1 buys 0 BIG: a grant must be above zero",
            "g.csv:3:4 (value_usd)",
        ],
    );
    c.refused(
        &["grant", "add", "--id", "g4", "--holder", "ann", "--amount", "0", "--start", "2026-01-01"],
        &["a grant of 0 tokens", "--> --amount"],
    );
}

#[test]
fn a_file_that_is_not_utf8_is_bad_input_at_its_line() {
    let c = Company::new();
    c.ok(&["init", &c.write("ok.toml", &file(None, &[("g1", "10")]))]);
    let csv = c.dir_path().join("people.csv");
    std::fs::write(&csv, b"id,name\nben,Ben\ncy,C\xE9line\n").expect("write");
    c.refused(
        &["import", "people", csv.to_str().expect("path")],
        &["error: the file is not valid UTF-8 here (byte 0xE9): save it as UTF-8", "people.csv:3:5"],
    );
    let toml = c.dir_path().join("latin1.toml");
    let mut bytes = file(None, &[("g1", "10")]).into_bytes();
    bytes.extend_from_slice(b"# caf\xE9\n");
    std::fs::write(&toml, bytes).expect("write");
    let out = c.run(&["schedule", toml.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("latin1.toml:18:6"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A ledger whose grants already add up past a `u128` (recorded before these checks, written
/// here straight into the store): `calendar` names the overflow and exits 1; it panicked.
#[test]
fn the_calendar_total_is_a_checked_sum() {
    let c = Company::new();
    c.ok(&["init", &c.write("one.toml", &file(None, &[("g1", MAX)]))]);
    let other = Company::new();
    other.ok(&["init", &other.write("two.toml", &file(None, &[("g2", MAX)]))]);
    let mut src = SqliteStore::open(&other.data().join("ledger.sqlite")).expect("opens");
    let g2: Vec<NewEvent> = src
        .events()
        .expect("events")
        .into_iter()
        .filter(|e| e.event.id.starts_with("grant:g2"))
        .map(|e| e.event)
        .collect();
    assert!(!g2.is_empty());
    let mut dst = SqliteStore::open(&c.data().join("ledger.sqlite")).expect("opens");
    dst.append(&g2, jiff::Timestamp::now()).expect("appended");
    drop(dst);
    let out = c.run(&["calendar", "--from", "2026-01-01", "--to", "2026-03-31"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("the calendar's total for ann overflows 128 bits of base units"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // Such a ledger can still be operated on (a termination raises no grant's total), but it
    // takes no new grant.
    c.ok(&["grant", "terminate", "g2", "--date", "2026-01-15"]);
    // Ended before its first vest, g2 has no tranche left: the calendar's total fits again.
    assert_eq!(c.json(&["calendar", "--from", "2026-01-01", "--to", "2026-03-31", "--json"])["total"], MAX);
    c.refused(
        &["grant", "add", "--id", "g3", "--holder", "ann", "--amount", "1", "--start", "2026-01-01"],
        &["takes the grants' total past 128 bits of base units"],
    );
}
