//! One source of truth (issue 17, parts 2 and 4), end to end: `apply` prints its plan and keeps
//! what the file did not record, `--dry-run` changes nothing, every unknown holder, price
//! conflict and missing price is reported at once with what to run instead, person tax
//! profiles are validated where they are written, and a provisional payroll export that
//! changed is reported at the next export.

use crate::ledger::{Company, root};

fn sample() -> String {
    std::fs::read_to_string(root().join("examples/company.toml")).expect("read")
}

#[test]
fn a_termination_from_the_cli_survives_apply_of_the_older_file_and_a_dry_run_changes_nothing() {
    let c = Company::new();
    c.ok(&["init", "examples/company.toml"]);
    c.ok(&["grant", "terminate", "dara-2025-hire", "--date", "2026-09-30"]);
    // The plan names the termination as kept, says why, and a dry run records nothing.
    let before = c.dump();
    let plan = c.ok(&["apply", "--dry-run", "examples/company.toml"]);
    assert!(
        plan.contains(
            "  keep     event termination-2026-09-30 of grant dara-2025-hire (recorded from cli, not in the file; \
             to reverse it list it under the grant's reverse = [\"termination-2026-09-30\"] or pass --reverse-unlisted)"
        ),
        "{plan}"
    );
    assert!(
        plan.starts_with("plan for examples/company.toml: 0 to add, 0 to correct, 0 to reverse, 1 kept, "),
        "{plan}"
    );
    assert!(plan.ends_with("dry run: nothing was recorded\n"), "{plan}");
    assert_eq!(c.dump(), before, "a dry run changes nothing");
    let unlisted = c.ok(&["apply", "--dry-run", "--reverse-unlisted", "examples/company.toml"]);
    assert!(unlisted.contains("  reverse  event termination-2026-09-30 of grant dara-2025-hire (recorded from cli"));
    assert_eq!(c.dump(), before, "a dry run changes nothing, whatever it would reverse");
    // Applied for real: the termination stands.
    let out = c.ok(&["apply", "examples/company.toml"]);
    assert!(out.contains("1 kept") && out.contains("applied examples/company.toml: 0 new events"), "{out}");
    assert_eq!(c.dump(), before);
    let h = c.json(&["history", "dara-2025-hire", "--json"]);
    let events = h["events"].as_array().expect("events");
    assert!(events.iter().any(|e| e["id"] == "grant:dara-2025-hire:event:termination-2026-09-30"));
    assert!(!events.iter().any(|e| e["kind"] == "grant.event_reversed"), "{h:#}");
    // A changed salary is a correction naming the field; the grant's `reverse` reverses the
    // termination, and the plan says so.
    let changed = sample()
        .replace("salary = \"115000\"", "salary = \"120000\"")
        .replace("id = \"dara-2025-hire\"\n", "id = \"dara-2025-hire\"\nreverse = [\"termination-2026-09-30\"]\n");
    let f = c.write("changed.toml", &changed);
    let out = c.ok(&["apply", &f]);
    assert!(out.contains("  correct  person chen: salary 115000 → 120000\n"), "{out}");
    assert!(
        out.contains(
            "  reverse  event termination-2026-09-30 of grant dara-2025-hire (recorded from cli; listed under reverse or --reverse-unlisted)"
        ),
        "{out}"
    );
    assert!(out.contains(": 0 to add, 1 to correct, 1 to reverse, 0 kept,"), "{out}");
    assert!(out.contains("2 new events"), "{out}");
    // Reversing what the grant no longer holds is refused.
    let again = changed.replace("termination-2026-09-30\"]", "termination-2026-09-30\", \"no-such-event\"]");
    let f = c.write("again.toml", &again);
    c.refused(&["apply", &f], &["grant `dara-2025-hire` lists `no-such-event` under reverse"]);
}

#[test]
fn a_grant_for_an_unknown_person_is_refused_with_every_such_grant() {
    let c = Company::new();
    // Two grants in the sample name people who do not exist: both are reported, with their
    // lines, and nothing is recorded.
    let text = sample()
        .replace("holder = \"dara\"\n", "holder = \"darla\"\n")
        .replace("id = \"chen-2024-hire\"\nholder = \"chen\"\n", "id = \"chen-2024-hire\"\nholder = \"chen-w\"\n");
    let f = c.write("typos.toml", &text);
    let line = |needle: &str| text[..text.find(needle).expect("in the file")].matches('\n').count() + 1;
    c.refused(
        &["init", &f],
        &[
            &format!("typos.toml:{}:", line("holder = \"darla\"")),
            "grant `dara-2025-hire`: no [[person]] has id `darla`; add a [[person]] with id = \"darla\" or fix `holder`",
            &format!("typos.toml:{}:", line("holder = \"chen-w\"")),
            "grant `chen-2024-hire`: no [[person]] has id `chen-w`",
            "2 errors in the input; nothing was changed",
        ],
    );
    assert_eq!(c.dump(), "", "init recorded nothing");
    // A file of grants only (its people are in the ledger) is checked against the ledger's.
    c.ok(&["init", "examples/company.toml"]);
    let only = "[company]\nname = \"Gridline Labs, Inc.\"\ntime_zone = \"America/New_York\"\n[token]\nsymbol = \"GRID\"\ndecimals = 18\n\
                [[grant]]\nid = \"x1\"\nholder = \"ada\"\namount = \"10\"\n[grant.schedule]\ntype = \"monthly\"\nstart = 2026-01-01\nduration_months = 12\n\
                [[grant]]\nid = \"x2\"\nholder = \"nobody\"\namount = \"10\"\n[grant.schedule]\ntype = \"monthly\"\nstart = 2026-01-01\nduration_months = 12\n";
    let f = c.write("grants-only.toml", only);
    c.refused(
        &["apply", &f],
        &[
            "grants-only.toml:17:",
            "grant `x2`: no person has id `nobody` (neither a [[person]] here nor in the ledger)",
        ],
    );
    // CSV: every row naming someone unknown, at its holder cell.
    let csv = c.write(
        "grants.csv",
        "id,holder,amount_tokens,schedule,start,duration_months\n\
         g1,nobody,100,monthly,2026-01-01,12\ng2,ada,100,monthly,2026-01-01,12\ng3,ghost,100,monthly,2026-01-01,12\n",
    );
    c.refused(
        &["import", "grants", &csv],
        &[
            "grants.csv:2:2 (holder)",
            "grant `g1`: no person has id `nobody`; import the person first (`tokencomp import people FILE`)",
            "grants.csv:4:2 (holder)",
            "grant `g3`: no person has id `ghost`",
            "2 errors in the input",
        ],
    );
}

#[test]
fn four_price_conflicts_are_four_readable_lines_naming_price_correct() {
    let c = Company::new();
    c.ok(&["init", "examples/company.toml"]);
    c.ok(&["import", "prices", "examples/prices.csv"]);
    // The sample records 2025-05-10 at 0.43, 05-11 at 0.42, 05-12 at 0.4033, 05-13 at 0.4064.
    let clash = c.write(
        "clash.csv",
        "date,close_usd\n2025-05-10,0.44\n2025-05-11,0.42\n2025-05-12,0.41\n2025-05-13,0.5\n2025-05-14,0.3881\n2099-01-01,1\n",
    );
    let clash2 =
        c.write("clash2.csv", "date,close_usd\n2025-05-10,0.44\n2025-05-11,0.43\n2025-05-12,0.41\n2025-05-13,0.5\n");
    c.refused(&["import", "prices", &clash], &["3 conflicts with the ledger; nothing was changed"]);
    let out = c.run(&["import", "prices", &clash2]);
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("tokencomp price correct")).collect();
    assert_eq!(
        lines,
        [
            "error: price USD 2025-05-10: the ledger has 0.43, this file 0.44; recorded prices never change: run `tokencomp price correct --date 2025-05-10 --currency USD --close 0.44 --reason \"…\"`",
            "error: price USD 2025-05-11: the ledger has 0.42, this file 0.43; recorded prices never change: run `tokencomp price correct --date 2025-05-11 --currency USD --close 0.43 --reason \"…\"`",
            "error: price USD 2025-05-12: the ledger has 0.4033, this file 0.41; recorded prices never change: run `tokencomp price correct --date 2025-05-12 --currency USD --close 0.41 --reason \"…\"`",
            "error: price USD 2025-05-13: the ledger has 0.4064, this file 0.5; recorded prices never change: run `tokencomp price correct --date 2025-05-13 --currency USD --close 0.5 --reason \"…\"`",
        ],
        "{err}"
    );
    assert!(err.contains("4 conflicts with the ledger; nothing was changed"), "{err}");
    assert!(!err.contains('{'), "no raw JSON: {err}");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn every_missing_price_is_listed_at_once_with_the_import_that_adds_them() {
    let c = Company::new();
    c.ok(&["init", "examples/company.toml"]);
    c.ok(&["run", "--through", "2026-01-31", "--quiet"]);
    // No prices at all: the vests through January need a close for each of their days.
    let out = c.run(&["payroll", "--period", "2026-01"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    let dates: Vec<&str> = err.lines().filter(|l| l.trim_start().starts_with("USD 20")).collect();
    assert!(dates.len() >= 2, "every missing date, not the first: {err}");
    assert!(err.contains(&format!("no price recorded for {} dates the vests need", dates.len())), "{err}");
    assert!(err.contains("`tokencomp import prices FILE.csv`"), "{err}");
    for d in &dates {
        let day = &d.trim().trim_start_matches("USD ")[..10];
        assert!(err.contains(&format!("  {day},\n")), "{day} in the CSV skeleton: {err}");
    }
}

#[test]
fn tax_profiles_are_checked_in_the_company_file_and_the_csv() {
    let c = Company::new();
    let text = sample().replacen(
        "[person.uk]\ntax_code = \"1257L\"",
        "[person.uk]\ntax_code = \"12X7\"\nni_category = \"Q\"",
        1,
    );
    let f = c.write("bad-tax.toml", &text);
    let line = text[..text.find("tax_code = \"12X7\"").expect("in the file")].matches('\n').count() + 1;
    c.refused(
        &["init", &f],
        &[
            &format!("bad-tax.toml:{line}:12 (person[2].uk.tax_code)"),
            &format!("bad-tax.toml:{}:15 (person[2].uk.ni_category)", line + 1),
            "\"Q\" is not an NI category letter",
        ],
    );
    c.ok(&["init", "examples/company.toml"]);
    let people = c.write(
        "people.csv",
        "id,name,us.residence,uk.tax_code,de.tax_class\nzoe,Zoe,NJ,,\nyan,Yan,,S1257L,\nuli,Uli,,,7\n",
    );
    c.refused(&["import", "people", &people], &["people.csv:4:5 (de.tax_class)", "\"7\" is not a tax class 1 to 6"]);
    let good = c.write("good.csv", "id,name,us.residence,uk.tax_code\nzoe,Zoe,NJ,\nyan,Yan,,S1257L\n");
    c.ok(&["import", "people", &good]);
    let events = c.dump();
    assert!(events.contains("\"tax\":{\"us\":{\"residence\":\"NJ\"}}"), "{events}");
    assert!(events.contains("\"tax\":{\"uk\":{\"ni_category\":\"A\",\"tax_code\":\"S1257L\"}}"), "{events}");
    assert!(events.contains("\"origin\":\"file:"), "{events}");
}

#[test]
fn a_provisional_exports_change_is_reported_at_the_next_export() {
    let c = Company::new();
    c.ok(&["demo", "--quiet"]);
    let october = c.ok(&["payroll", "--period", "2026-10"]);
    let mut lines = october.lines();
    assert!(lines.next().expect("header").ends_with(",net_tokens,status"), "{october}");
    assert!(lines.all(|l| l.ends_with(",provisional")), "{october}");
    // Ada's October vest (2026-10-15) priced again: October's rows change while it is open.
    c.ok(&["price", "correct", "--date", "2026-10-15", "--close", "9.99", "--reason", "test"]);
    let out = c.run(&["payroll", "--period", "2026-09"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let ada: Vec<&str> = err.lines().filter(|l| l.contains("person ada,")).collect();
    assert_eq!(ada.len(), 1, "{err}");
    assert!(ada[0].starts_with("warning: payroll 2026-10 (provisional): line "), "{err}");
    assert!(ada[0].contains(", changed: ") && ada[0].contains("token_income "), "{err}");
    // Once closed, the export is final and no longer compared.
    c.ok(&["payroll", "close", "--period", "2026-10"]);
    let closed = c.ok(&["payroll", "--period", "2026-10"]);
    assert!(closed.lines().skip(1).all(|l| l.ends_with(",final")), "{closed}");
    let out = c.run(&["payroll", "--period", "2026-09"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("2026-10"), "a closed period is final");
}
