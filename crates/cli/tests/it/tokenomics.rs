//! The team budget through the binary: every command that records grants refuses one that
//! would take the grants past the team bucket (exit 2, the ledger unchanged), forfeited
//! tokens go back into it, and the `[tokenomics]` section is one idempotent ledger event.

use crate::ledger::Company;

/// A 1,000-token company (no decimals) whose team bucket holds 100 tokens.
fn file(grants: &str, team: &str) -> String {
    format!(
        r#"[company]
name = "Tiny"
time_zone = "UTC"
[token]
symbol = "TT"
decimals = 0
[[person]]
id = "ann"
name = "Ann"
[[person]]
id = "bo"
name = "Bo"

[tokenomics]
total_supply = "1000"
tge = 2025-01-01
[[tokenomics.bucket]]
id = "pool"
name = "Team pool"
kind = "team"
amount = "{team}"
[tokenomics.bucket.schedule]
type = "monthly"
duration_months = 12
[[tokenomics.bucket]]
id = "rest"
name = "Everything else"
kind = "treasury"
share = "90%"
[tokenomics.bucket.schedule]
type = "monthly"
duration_months = 24
cliff_months = 6
{grants}"#
    )
}

fn grant(id: &str, holder: &str, amount: u32) -> String {
    format!(
        "[[grant]]\nid = \"{id}\"\nholder = \"{holder}\"\namount = \"{amount}\"\n[grant.schedule]\ntype = \"monthly\"\nstart = 2025-02-01\nduration_months = 10\n"
    )
}

fn events(c: &Company) -> String {
    c.ok(&["verify-ledger"]).split(',').next().unwrap_or_default().to_owned()
}

#[test]
fn init_refuses_grants_beyond_the_team_bucket() {
    let c = Company::new();
    let path = c.write("c.toml", &file(&format!("{}{}", grant("a-1", "ann", 60), grant("b-1", "bo", 50)), "100"));
    c.refused(
        &["init", &path],
        &[
            "error: grant `b-1` of 50 TT would exceed the team budget: 40 TT remain of the 100 TT in bucket `pool` (60 TT already granted and not forfeited)",
            "--> team budget (tokenomics bucket `pool`)",
        ],
    );
    assert_eq!(c.dump(), "", "nothing was written");
}

#[test]
fn grant_add_import_and_apply_check_the_budget_and_forfeits_return_to_it() {
    let c = Company::new();
    let path = c.write("c.toml", &file(&grant("a-1", "ann", 60), "100"));
    c.ok(&["init", &path]);
    let before = events(&c);
    // 40 remain: 41 is refused by `grant add`, …
    c.refused(
        &["grant", "add", "--id", "b-1", "--holder", "bo", "--amount", "41", "--start", "2025-03-01"],
        &["grant `b-1` of 41 TT would exceed the team budget: 40 TT remain of the 100 TT in bucket `pool`"],
    );
    // … by `import grants`, …
    let csv = c.write(
        "g.csv",
        "id,holder,amount_tokens,schedule,start,duration_months,cliff_months\nb-1,bo,41,monthly,2025-03-01,12,0\n",
    );
    c.refused(&["import", "grants", &csv], &["grant `b-1` of 41 TT would exceed the team budget"]);
    // … and by `apply` with the grant in the file.
    let bigger = c.write("c2.toml", &file(&format!("{}{}", grant("a-1", "ann", 60), grant("b-1", "bo", 41)), "100"));
    c.refused(&["apply", &bigger], &["grant `b-1` of 41 TT would exceed the team budget"]);
    assert_eq!(events(&c), before, "the refusals added no event");
    // Exactly the remainder fits.
    c.ok(&["grant", "add", "--id", "b-1", "--holder", "bo", "--amount", "40", "--start", "2025-03-01"]);
    c.refused(
        &["grant", "add", "--id", "b-2", "--holder", "bo", "--amount", "1", "--start", "2025-03-01"],
        &["0 TT remain of the 100 TT"],
    );
    // Ann leaves on 2025-05-15: 6 a month on the 1st from Mar 1 (month 1 after the Feb 1 start)
    // leaves 18 vested of 60 (Mar, Apr, May); 42 are forfeited and return to the pool:
    // 100 − (18 + 40) = 42 remain.
    c.ok(&["grant", "terminate", "a-1", "--date", "2025-05-15"]);
    c.refused(
        &["grant", "add", "--id", "b-2", "--holder", "bo", "--amount", "43", "--start", "2025-06-01"],
        &["42 TT remain of the 100 TT", "(58 TT already granted and not forfeited)"],
    );
    c.ok(&["grant", "add", "--id", "b-2", "--holder", "bo", "--amount", "42", "--start", "2025-06-01"]);
}

#[test]
fn shrinking_the_team_bucket_below_what_is_granted_is_refused() {
    let c = Company::new();
    let path = c.write("c.toml", &file(&grant("a-1", "ann", 60), "100"));
    c.ok(&["init", &path]);
    // The pool shrinks to 50 (the treasury takes the other 50 through its share… of 90%, so
    // the file must move 50 tokens: use amounts that still add up).
    let text = file(&grant("a-1", "ann", 60), "50").replace("share = \"90%\"", "amount = \"950\"");
    let smaller = c.write("c2.toml", &text);
    c.refused(&["apply", &smaller], &["bucket `pool`"]);
}

#[test]
fn the_section_is_one_idempotent_event_and_a_change_is_a_new_one() {
    let c = Company::new();
    let path = c.write("c.toml", &file(&grant("a-1", "ann", 60), "100"));
    c.ok(&["init", &path]);
    let dump = c.dump();
    assert_eq!(dump.matches("\ttokenomics\ttokenomics\t").count(), 1, "{dump}");
    // Applying the same file adds nothing.
    let out = c.ok(&["apply", &path]);
    assert!(out.contains(": 0 new events"), "{out}");
    assert_eq!(c.dump(), dump);
    // A changed section is one new event.
    let text = file(&grant("a-1", "ann", 60), "200").replace("share = \"90%\"", "share = \"80%\"");
    let changed = c.write("c2.toml", &text);
    let out = c.ok(&["apply", &changed]);
    assert!(out.contains(": 1 new events"), "{out}");
    assert_eq!(c.dump().matches("\ttokenomics\ttokenomics\t").count(), 2);
    // The latest wins: 140 of the 200-token pool remain, so 140 fits and 141 would not.
    c.refused(
        &["grant", "add", "--id", "b-1", "--holder", "bo", "--amount", "141", "--start", "2025-03-01"],
        &["140 TT remain of the 200 TT"],
    );
}

#[test]
fn a_company_without_tokenomics_has_no_budget() {
    let c = Company::new();
    let text = file("", "100");
    let start = text.find("[tokenomics]").expect("section");
    let path = c.write("c.toml", &format!("{}{}", &text[..start], grant("a-1", "ann", 5_000)));
    c.ok(&["init", &path]);
    c.ok(&["grant", "add", "--id", "b-1", "--holder", "bo", "--amount", "1000000", "--start", "2025-03-01"]);
}

#[test]
fn a_backup_carries_the_section_and_the_restored_company_keeps_its_budget() {
    let a = Company::new();
    let path = a.write("c.toml", &file(&grant("a-1", "ann", 60), "100"));
    a.ok(&["init", &path]);
    let backup = a.write("backup.tar", "");
    a.ok(&["backup", &backup]);
    let b = Company::new();
    b.ok(&["restore", &backup]);
    assert_eq!(b.dump(), a.dump());
    b.refused(
        &["grant", "add", "--id", "b-1", "--holder", "bo", "--amount", "41", "--start", "2025-03-01"],
        &["40 TT remain of the 100 TT in bucket `pool`"],
    );
}
