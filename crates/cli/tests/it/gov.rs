//! Governance through the binary: delegation, proposals, ballots and tallies on the sample
//! company, and refusals that must change nothing.

use serde_json::Value;

use crate::ledger::Company;

fn units(v: &Value) -> u128 {
    v.as_str().expect("a base-unit string").parse().expect("units")
}

/// Each holder's field `key` from `gov power --json`.
fn by_holder(power: &Value, key: &str) -> std::collections::BTreeMap<String, u128> {
    power["holders"]
        .as_array()
        .expect("holders")
        .iter()
        .map(|h| (h["holder"].as_str().expect("holder").to_owned(), units(&h[key])))
        .collect()
}

fn events(c: &Company) -> usize {
    c.dump().lines().count()
}

fn sample() -> Company {
    let c = Company::new();
    c.ok(&["init", "examples/company.toml"]);
    c
}

const WINDOW: [&str; 6] =
    ["--snapshot", "2026-10-31", "--opens", "2026-11-01T00:00:00Z", "--closes", "2026-11-15T00:00:00Z"];

fn propose(c: &Company, id: &str, extra: &[&str]) {
    let mut args = vec!["gov", "propose", "--id", id, "--title", "Treasury budget 2027"];
    args.extend(WINDOW);
    args.extend(extra);
    c.ok(&args);
}

#[test]
fn a_delegation_cycle_is_refused_and_nothing_is_written() {
    let c = sample();
    c.ok(&["gov", "delegate", "--from", "ben", "--to", "ada", "--effective", "2026-10-01"]);
    c.ok(&["gov", "delegate", "--from", "ada", "--to", "chen", "--effective", "2026-10-01"]);
    let before = events(&c);
    c.refused(
        &["gov", "delegate", "--from", "chen", "--to", "ben", "--effective", "2026-10-01"],
        &["cycle: chen -> ben -> ada -> chen", "--> --to"],
    );
    c.refused(&["gov", "delegate", "--from", "ada", "--to", "ada", "--effective", "2026-10-01"], &["themselves"]);
    c.refused(
        &["gov", "delegate", "--from", "ada", "--to", "nobody", "--effective", "2026-10-01"],
        &["no person has id `nobody`", "--> --to"],
    );
    c.refused(
        &["gov", "delegate", "--from", "nobody", "--to", "ada", "--effective", "2026-10-01"],
        &["no person has id `nobody`", "--> --from"],
    );
    // History only grows forward: nothing may take effect before the latest record.
    c.refused(
        &["gov", "delegate", "--from", "dara", "--to", "ada", "--effective", "2026-09-30"],
        &["earlier than the latest recorded one", "--> --effective"],
    );
    assert_eq!(events(&c), before);
    // Once Ada revokes, Chen may delegate to Ben: the chain no longer comes back.
    c.ok(&["gov", "undelegate", "--from", "ada", "--effective", "2026-10-05"]);
    c.ok(&["gov", "delegate", "--from", "chen", "--to", "ben", "--effective", "2026-10-05"]);
    let power = c.json(&["gov", "power", "--date", "2026-10-31", "--json"]);
    let holder = |id: &str| {
        power["holders"].as_array().expect("holders").iter().find(|h| h["holder"] == id).expect("holder").clone()
    };
    assert_eq!(holder("chen")["final_delegate"], "ada");
    assert_eq!(holder("ada")["delegate"], Value::Null);
    c.ok(&["verify-ledger"]);
}

#[test]
fn a_delegation_dated_more_than_366_days_ahead_is_refused_by_its_flag() {
    let c = sample();
    let before = events(&c);
    let today =
        jiff::Timestamp::now().to_zoned_datetime(jiff::tz::TimeZone::get("America/New_York").expect("tz")).date();
    let day = |n: i64| today.checked_add(jiff::Span::new().days(n)).expect("date").to_string();
    c.refused(
        &["gov", "delegate", "--from", "ben", "--to", "ada", "--effective", "9999-12-31"],
        &["at most 366 days after it is recorded", "--> --effective"],
    );
    c.refused(
        &["gov", "delegate", "--from", "ben", "--to", "ada", "--effective", &day(400)],
        &["at most 366 days after it is recorded", "--> --effective"],
    );
    assert_eq!(events(&c), before);
    // Within the bound it is recorded, and it does not stop another person's change from today.
    c.ok(&["gov", "delegate", "--from", "ben", "--to", "ada", "--effective", &day(300)]);
    c.ok(&["gov", "delegate", "--from", "dara", "--to", "ada", "--effective", &day(1)]);
}

#[test]
fn rerunning_the_same_gov_delegate_writes_nothing() {
    let c = sample();
    let args = ["gov", "delegate", "--from", "ben", "--to", "ada", "--effective", "2026-10-01"];
    assert!(c.ok(&args).contains("recorded: ben delegates to ada from 2026-10-01"));
    let once = c.dump();
    assert!(c.ok(&args).contains("already recorded, nothing written"));
    assert_eq!(c.dump(), once);
    // Also after a later delegation moved the history forward.
    c.ok(&["gov", "delegate", "--from", "dara", "--to", "ada", "--effective", "2026-10-20"]);
    let twice = c.dump();
    c.ok(&args);
    assert_eq!(c.dump(), twice);
    let undelegate = ["gov", "undelegate", "--from", "ben", "--effective", "2026-10-25"];
    c.ok(&undelegate);
    let thrice = c.dump();
    c.ok(&undelegate);
    assert_eq!(c.dump(), thrice);
    // Nothing left to revoke on a later day.
    c.refused(&["gov", "undelegate", "--from", "ben", "--effective", "2026-10-26"], &["no delegation to revoke"]);
}

#[test]
fn gov_power_sums_to_the_total_after_delegation() {
    let c = sample();
    c.ok(&["gov", "delegate", "--from", "ben", "--to", "ada", "--effective", "2026-10-01"]);
    c.ok(&["gov", "delegate", "--from", "ada", "--to", "priya", "--effective", "2026-10-01"]);
    c.ok(&["gov", "delegate", "--from", "fatima", "--to", "dara", "--effective", "2026-10-15"]);
    for weight in ["0", "2500", "10000"] {
        let p = c.json(&["gov", "power", "--date", "2026-10-31", "--unvested-weight", weight, "--json"]);
        assert_eq!(p["token"]["symbol"], "GRID");
        assert_eq!(p["token"]["decimals"], 18);
        let (own, power, vested, unvested) =
            (by_holder(&p, "own"), by_holder(&p, "power"), by_holder(&p, "vested"), by_holder(&p, "unvested"));
        let total = units(&p["total"]);
        assert_eq!(power.values().sum::<u128>(), total, "weight {weight}");
        assert_eq!(own.values().sum::<u128>(), total, "weight {weight}");
        assert_eq!((power["ben"], power["ada"], power["fatima"]), (0, 0, 0));
        assert_eq!(power["priya"], own["priya"] + own["ada"] + own["ben"]);
        assert_eq!(power["dara"], own["dara"] + own["fatima"]);
        let w: u128 = weight.parse().expect("bps");
        for (holder, o) in &own {
            assert_eq!(*o, vested[holder] + unvested[holder] * w / 10_000, "{holder} at {weight}");
        }
    }
    // Ben's delegation is not in force before it starts.
    let early = c.json(&["gov", "power", "--date", "2026-09-30", "--json"]);
    assert_eq!(by_holder(&early, "power")["ben"], by_holder(&early, "own")["ben"]);
    c.refused(&["gov", "power", "--date", "2026-10-31", "--unvested-weight", "10001"], &["--> --unvested-weight"]);
}

#[test]
fn a_changed_ballot_counts_once_in_gov_tally() {
    let c = sample();
    c.ok(&["gov", "delegate", "--from", "fatima", "--to", "dara", "--effective", "2026-10-15"]);
    propose(&c, "treasury-2027", &["--quorum-bps", "500", "--unvested-weight", "2500"]);
    let vote = |voter: &str, choice: &str, at: &str| {
        c.ok(&[
            "gov",
            "vote",
            "--proposal",
            "treasury-2027",
            "--voter",
            voter,
            "--choice",
            choice,
            "--at",
            at,
            "--override-clock",
        ]);
    };
    vote("dara", "for", "2026-11-02T10:00:00Z");
    vote("dara", "against", "2026-11-03T10:00:00Z");
    vote("gus", "against", "2026-11-04T10:00:00Z");
    vote("dara", "abstain", "2026-11-05T10:00:00Z");
    vote("dara", "for", "2026-11-06T10:00:00Z");
    // The same ballot again is a no-op.
    let before = c.dump();
    vote("dara", "for", "2026-11-06T10:00:00Z");
    assert_eq!(c.dump(), before);
    let power =
        by_holder(&c.json(&["gov", "power", "--date", "2026-10-31", "--unvested-weight", "2500", "--json"]), "power");
    let t = c.json(&["gov", "tally", "treasury-2027", "--at", "2026-11-15T00:00:00Z", "--json"]);
    assert_eq!(t["token"]["symbol"], "GRID");
    assert_eq!((t["status"].as_str(), t["outcome"].as_str()), (Some("closed"), Some("passed")));
    assert_eq!(t["voters"], 2);
    assert_eq!(t["ballots_recorded"], 5);
    assert_eq!(units(&t["for"]), power["dara"]);
    assert_eq!(units(&t["against"]), power["gus"]);
    assert_eq!(units(&t["abstain"]), 0);
    assert_eq!(units(&t["turnout"]), power["dara"] + power["gus"]);
    assert_eq!(units(&t["total"]), power.values().sum::<u128>());
    let ballots = t["ballots"].as_array().expect("ballots");
    assert_eq!(ballots.iter().filter(|b| b["voter"] == "dara").count(), 1);
    // Tallied while open, before the last change, Dara's abstention stands.
    let mid = c.json(&["gov", "tally", "treasury-2027", "--at", "2026-11-05T12:00:00Z", "--json"]);
    assert_eq!((mid["status"].as_str(), mid["outcome"].as_str()), (Some("open"), Some("undecided")));
    assert_eq!((units(&mid["abstain"]), units(&mid["for"])), (power["dara"], 0));
    // Refusals: a delegator, outside the window, an unknown proposal; nothing is written.
    let refused = |voter: &str, at: &str, proposal: &str, fragment: &str| {
        c.refused(
            &[
                "gov",
                "vote",
                "--proposal",
                proposal,
                "--voter",
                voter,
                "--choice",
                "for",
                "--at",
                at,
                "--override-clock",
            ],
            &[fragment],
        );
    };
    refused("fatima", "2026-11-07T00:00:00Z", "treasury-2027", "delegated their voting power to `dara`");
    refused("ada", "2026-11-15T00:00:00Z", "treasury-2027", "--> --at");
    refused("ada", "2026-10-31T23:59:59Z", "treasury-2027", "is not open");
    refused("ada", "2026-11-07T00:00:00Z", "nope", "no proposal has id `nope`");
    refused("nobody", "2026-11-07T00:00:00Z", "treasury-2027", "no person has id `nobody`");
    let listed = c.json(&["gov", "proposals", "--at", "2026-11-20T00:00:00Z", "--json"]);
    assert_eq!(listed["proposals"][0]["tally"]["outcome"], "passed");
    c.ok(&["verify-ledger"]);
}

#[test]
fn gov_proposals_are_checked_before_they_are_recorded() {
    let c = sample();
    let bad = |extra: &[&str], fragment: &str, flag: &str| {
        let mut args = vec!["gov", "propose", "--title", "T"];
        args.extend(extra);
        c.refused(&args, &[fragment, flag]);
    };
    let window = |snapshot: &'static str, opens: &'static str, closes: &'static str| {
        ["--snapshot", snapshot, "--opens", opens, "--closes", closes]
    };
    let ok = window("2026-10-31", "2026-11-01T00:00:00Z", "2026-11-15T00:00:00Z");
    bad(
        &[&["--id", "p"][..], &window("2026-10-31", "2026-11-15T00:00:00Z", "2026-11-01T00:00:00Z")].concat(),
        "open before it closes",
        "--> --closes",
    );
    bad(&[&["--id", "p", "--quorum-bps", "10001"][..], &ok].concat(), "quorum", "--> --quorum-bps");
    bad(&[&["--id", "p", "--unvested-weight", "10001"][..], &ok].concat(), "unvested weight", "--> --unvested-weight");
    bad(&[&["--id", "a:b"][..], &ok].concat(), "may only have", "--> --id");
    // 2026-11-01T00:00Z is still October 31 in New York.
    bad(
        &[&["--id", "p"][..], &window("2026-11-01", "2026-11-01T00:00:00Z", "2026-11-15T00:00:00Z")].concat(),
        "after the day voting opens",
        "--> --snapshot",
    );
    propose(&c, "p", &[]);
    let once = c.dump();
    propose(&c, "p", &[]);
    assert_eq!(c.dump(), once);
    bad(&[&["--id", "p", "--quorum-bps", "3000"][..], &ok].concat(), "already exists", "--> --id");
}

/// Issue 15 (beyond item 17, the same class): `vote --at` cast a ballot at any instant, so a
/// ballot backdated into a closed window changed its outcome. The clock is overridden only by
/// name (--override-clock), on a development chain.
#[test]
fn a_ballot_at_another_time_needs_override_clock() {
    let c = sample();
    propose(&c, "treasury-2027", &[]);
    let at = ["gov", "vote", "--proposal", "treasury-2027", "--voter", "ada", "--choice", "for", "--at"];
    c.refused(&[&at[..], &["2026-11-02T10:00:00Z"]].concat(), &["--override-clock", "--> --at"]);
    // Now the window has closed: a ballot cast now is refused as not open.
    c.refused(
        &["gov", "vote", "--proposal", "treasury-2027", "--voter", "ada", "--choice", "for"],
        &["is not open", "--> --at"],
    );
}
