//! Governance over the ledger's state: each holder's balances on a date, the snapshot and
//! tally of a recorded proposal, and the one check every new governance fact passes before it
//! is appended (the CLI and the HTTP API both call [`validate_gov`]).
//!
//! Architecture invariant: nothing here writes or reads the clock; the instant a ballot is cast
//! or a tally is taken at is a parameter.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use jiff::ToSpan;
use jiff::civil::Date;
use tokencomp_core::governance::{
    GovError, Holding, MAX_DELEGATION_DAYS, Proposal, Snapshot, Status, Tally, check_ballot, check_delegation,
    check_proposal, id_ok, snapshot, tally,
};
use tokencomp_money::TokenAmount;

use crate::ledger::{Company, Fact};

/// Each person's vested and unvested balance on `date`, summed over their grants (the grants'
/// positions as of `date`, in the company's time zone): one holding per person who holds any
/// grant, sorted by holder.
pub fn holdings(company: &Company, date: Date) -> Result<Vec<Holding>, GovError> {
    let tz = &company.company.time_zone;
    let mut per: BTreeMap<&str, (TokenAmount, TokenAmount)> = BTreeMap::new();
    for (id, rec) in &company.grants {
        let grant = &rec.terms.grant;
        let timeline = grant
            .timeline(tz, Some(date))
            .map_err(|e| GovError::Balances { grant: id.clone(), reason: e.to_string() })?;
        let p = timeline.position(date);
        let slot = per.entry(grant.holder.as_str()).or_default();
        slot.0 = slot.0.checked_add(p.vested).map_err(|_| GovError::Overflow)?;
        slot.1 = slot.1.checked_add(p.unvested).map_err(|_| GovError::Overflow)?;
    }
    Ok(per
        .into_iter()
        .map(|(holder, (vested, unvested))| Holding { holder: holder.to_owned(), vested, unvested })
        .collect())
}

/// Voting power on `date` with the given weight on unvested balances, after the delegations in
/// force that day. A delegator or delegate who holds no grant takes part with nothing of their
/// own (a delegate still receives what is delegated to them).
pub fn snapshot_on(company: &Company, date: Date, unvested_weight_bps: u32) -> Result<Snapshot, GovError> {
    snapshot_of(company, holdings(company, date)?, date, unvested_weight_bps)
}

/// [`snapshot_on`] from holdings the caller already has (the same `date`'s [`holdings`]).
pub fn snapshot_of(
    company: &Company,
    mut held: Vec<Holding>,
    date: Date,
    unvested_weight_bps: u32,
) -> Result<Snapshot, GovError> {
    let delegations = company.governance.delegations_on(date);
    let known: BTreeSet<String> = held.iter().map(|h| h.holder.clone()).collect();
    let parties: BTreeSet<&String> = delegations.iter().flat_map(|(from, to)| [from, to]).collect();
    for p in parties.into_iter().filter(|p| !known.contains(*p)) {
        held.push(Holding { holder: p.clone(), vested: TokenAmount::ZERO, unvested: TokenAmount::ZERO });
    }
    snapshot(date, &held, &delegations, unvested_weight_bps)
}

/// The snapshot a proposal's votes are weighed with: its snapshot date and unvested weight.
pub fn snapshot_for(company: &Company, proposal: &Proposal) -> Result<Snapshot, GovError> {
    snapshot_on(company, proposal.snapshot_date, proposal.unvested_weight_bps)
}

/// A recorded proposal's snapshot and its tally at `at`.
pub fn tally_for(company: &Company, proposal_id: &str, at: Timestamp) -> Result<(Snapshot, Tally), GovError> {
    let gov = &company.governance;
    let p = gov.proposals.get(proposal_id).ok_or_else(|| GovError::UnknownProposal { id: proposal_id.to_owned() })?;
    let snap = snapshot_for(company, p)?;
    let ballots = gov.ballots.get(proposal_id).map_or(&[][..], Vec::as_slice);
    let t = tally(p, &snap, ballots, at);
    Ok((snap, t))
}

/// Whether the caller may know who the people are. An employee may not: a delegation they
/// make to an id that names no one is checked for its form only and recorded (its power goes to
/// that id, which nobody votes with, as a delegation to an address without a key does on
/// chain), so the answer never says whether a person exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Roster {
    Visible,
    Hidden,
}

/// Whether a new governance fact may be appended to the ledger `company` was folded from, at
/// `at`. A fact the ledger already holds (a retry, a re-run) passes: appending it is a no-op.
/// Facts other than governance ones pass. The CLI and staff on the API check with the people
/// visible ([`validate_gov`]); an employee on the API with them hidden.
///
/// - Delegation: both people exist, not to oneself, no cycle among the delegations in force on
///   `effective`; `effective` at most [`MAX_DELEGATION_DAYS`] after the day `at` falls on (in
///   the company's time zone), and either no earlier than the latest recorded delegation's or
///   no earlier than that day (history only grows forward, so a snapshot already taken never
///   changes, and nobody's far-dated record blocks others' changes); never on or before the
///   snapshot date of a proposal already open or closed (its votes are being weighed with that
///   snapshot); a revocation needs a delegation in force.
/// - Proposal: [`check_proposal`], an unused id, and a snapshot date no later than the day
///   voting opens (in the company's time zone).
/// - Ballot: a person, a recorded proposal, `cast_at` = `at`, inside the window, and power
///   above zero in the proposal's snapshot (a delegator is refused, naming the delegate).
pub fn validate_gov(company: &Company, fact: &Fact, at: Timestamp) -> Result<(), GovError> {
    validate_gov_for(company, fact, at, Roster::Visible)
}

/// [`validate_gov`] for a caller who may or may not see the people.
pub fn validate_gov_for(company: &Company, fact: &Fact, at: Timestamp, roster: Roster) -> Result<(), GovError> {
    let gov = &company.governance;
    let person = |id: &str| {
        if company.people.contains_key(id) { Ok(()) } else { Err(GovError::UnknownHolder { holder: id.to_owned() }) }
    };
    match fact {
        Fact::Delegation { from, to, effective } => {
            if gov.delegations.iter().any(|r| r.from == *from && r.to == *to && r.effective == *effective) {
                return Ok(());
            }
            person(from)?;
            let recorded = at.to_zoned_datetime(company.company.time_zone.clone()).date();
            let last = recorded.saturating_add(i64::from(MAX_DELEGATION_DAYS).days());
            if *effective > last {
                return Err(GovError::TooFarAhead {
                    effective: *effective,
                    recorded,
                    last,
                    max_days: MAX_DELEGATION_DAYS,
                });
            }
            if let Some(latest) = gov.latest_delegation()
                && *effective < latest
                && *effective < recorded
            {
                return Err(GovError::Backdated { effective: *effective, latest });
            }
            let current = gov.delegations_on(*effective);
            match to {
                Some(to) => {
                    if from != to {
                        match roster {
                            Roster::Visible => person(to)?,
                            // The form only, the same for every id, whether it names a person or not.
                            Roster::Hidden if to.is_empty() || to.len() > 64 || !id_ok(to) => {
                                return Err(GovError::BadTarget { id: to.clone() });
                            }
                            Roster::Hidden => {}
                        }
                    }
                    check_delegation(&current, from, to)?;
                }
                None if current.contains_key(from) => {}
                None => return Err(GovError::NotDelegated { holder: from.clone(), date: *effective }),
            }
            let counting = gov
                .proposals
                .values()
                .filter(|p| p.status(at) != Status::Pending && p.snapshot_date >= *effective)
                .min_by_key(|p| (p.snapshot_date, p.id.clone()));
            match counting {
                Some(p) => Err(GovError::SnapshotTaken { proposal: p.id.clone(), snapshot_date: p.snapshot_date }),
                None => Ok(()),
            }
        }
        Fact::Proposal(p) => {
            match gov.proposals.get(&p.id) {
                Some(held) if held == p => return Ok(()),
                Some(_) => return Err(GovError::DuplicateProposal { id: p.id.clone() }),
                None => {}
            }
            check_proposal(p)?;
            let opens_on = p.opens.to_zoned_datetime(company.company.time_zone.clone()).date();
            if p.snapshot_date > opens_on {
                return Err(GovError::SnapshotAfterOpen { snapshot_date: p.snapshot_date, opens_on });
            }
            Ok(())
        }
        Fact::Ballot { proposal, voter, choice, cast_at } => {
            let p = gov.proposals.get(proposal).ok_or_else(|| GovError::UnknownProposal { id: proposal.clone() })?;
            let held = gov.ballots.get(proposal).is_some_and(|list| {
                list.iter().any(|b| b.voter == *voter && b.choice == *choice && b.cast_at == *cast_at)
            });
            if held {
                return Ok(());
            }
            person(voter)?;
            if *cast_at != at {
                return Err(GovError::CastAt { cast_at: *cast_at, at });
            }
            check_ballot(p, &snapshot_for(company, p)?, voter, at)
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use tokencomp_core::governance::{Choice, Outcome};
    use tokencomp_formats::canonical::write_terms;
    use tokencomp_formats::company::parse_company;

    use super::*;
    use crate::StoredEvent;
    use crate::ledger::FoldError;

    /// Ada 1200 over 12 months from January, Ben 2400 from July, Cy holds nothing.
    const SMALL: &str = r#"
[company]
name = "Small"
time_zone = "UTC"
[token]
symbol = "TK"
decimals = 0
[[person]]
id = "ada"
name = "Ada"
[[person]]
id = "ben"
name = "Ben"
[[person]]
id = "cy"
name = "Cy"
[[grant]]
id = "a-1"
holder = "ada"
amount = "1200"
[grant.schedule]
type = "monthly"
start = 2026-01-01
duration_months = 12
[[grant]]
id = "b-1"
holder = "ben"
amount = "2400"
[grant.schedule]
type = "monthly"
start = 2026-07-01
duration_months = 12
"#;

    fn day(s: &str) -> Date {
        s.parse().expect("date")
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("instant")
    }

    fn stored(facts: &[Fact]) -> Vec<StoredEvent> {
        facts
            .iter()
            .zip(1..)
            .map(|(f, seq)| StoredEvent {
                seq,
                event: f.to_event("system"),
                recorded_at: Timestamp::UNIX_EPOCH,
                prev_hash: String::new(),
                hash: String::new(),
            })
            .collect()
    }

    fn base() -> Vec<Fact> {
        let file = parse_company("small.toml", SMALL).expect("parses");
        let mut facts = vec![Fact::Company(file.company.clone()), Fact::Token(file.token.clone())];
        facts.extend(file.people.iter().cloned().map(Fact::Person));
        for terms in &file.grants {
            let terms_toml = write_terms(terms, &file.token.token);
            facts.push(Fact::GrantIssued {
                grant: terms.grant.id.clone(),
                holder: terms.grant.holder.clone(),
                terms: terms_toml,
            });
        }
        facts
    }

    fn fold(facts: &[Fact]) -> Company {
        Company::fold(&stored(facts)).expect("folds")
    }

    fn delegate(from: &str, to: Option<&str>, effective: &str) -> Fact {
        Fact::Delegation { from: from.into(), to: to.map(str::to_owned), effective: day(effective) }
    }

    fn proposal() -> Proposal {
        Proposal {
            id: "p".into(),
            title: "P".into(),
            description: "why".into(),
            snapshot_date: day("2026-09-30"),
            opens: ts("2026-10-01T00:00:00Z"),
            closes: ts("2026-10-15T00:00:00Z"),
            quorum_bps: 5000,
            unvested_weight_bps: 5000,
        }
    }

    fn ballot(voter: &str, choice: Choice, at: &str) -> Fact {
        Fact::Ballot { proposal: "p".into(), voter: voter.into(), choice, cast_at: ts(at) }
    }

    #[test]
    fn holdings_sum_each_persons_grants() {
        let c = fold(&base());
        let h = holdings(&c, day("2026-09-30")).expect("holdings");
        let got: Vec<(&str, u128, u128)> =
            h.iter().map(|h| (h.holder.as_str(), h.vested.base_units(), h.unvested.base_units())).collect();
        // Ada: 8 of 12 months (the first vest is a month after the start); Ben: 2 of 12.
        assert_eq!(got, [("ada", 800, 400), ("ben", 400, 2000)]);
    }

    #[test]
    fn gov_facts_fold_back_and_delegations_follow_their_dates() {
        let mut facts = base();
        facts.extend([
            delegate("ben", Some("ada"), "2026-08-01"),
            delegate("ben", None, "2026-09-01"),
            delegate("cy", Some("ben"), "2026-09-01"),
            delegate("cy", Some("ada"), "2026-09-01"),
            Fact::Proposal(proposal()),
            ballot("ada", Choice::For, "2026-10-02T00:00:00Z"),
            ballot("ada", Choice::Against, "2026-10-03T00:00:00Z"),
        ]);
        let c = fold(&facts);
        let g = &c.governance;
        assert_eq!(g.delegations.len(), 4);
        assert_eq!(g.proposals["p"], proposal());
        assert_eq!(g.ballots["p"].len(), 2);
        assert_eq!(g.ballots["p"][1].choice, Choice::Against);
        let on = |d: &str| g.delegations_on(day(d)).into_iter().collect::<Vec<_>>();
        assert_eq!(on("2026-07-31"), []);
        assert_eq!(on("2026-08-15"), [("ben".to_owned(), "ada".to_owned())]);
        // Same day: the later record wins.
        assert_eq!(on("2026-09-01"), [("cy".to_owned(), "ada".to_owned())]);
        // Snapshot 2026-09-30 at 50%: ada 800 + 200, ben 400 + 1000, cy (no grant) 0 -> ada.
        let (snap, t) = tally_for(&c, "p", ts("2026-10-15T00:00:00Z")).expect("tally");
        assert_eq!(snap.total.base_units(), 2400);
        assert_eq!(snap.power["ada"].base_units(), 1000);
        assert_eq!(snap.power["cy"].base_units(), 0);
        assert_eq!(t.against.base_units(), 1000);
        assert_eq!(t.voters, 1);
        // Half of 2400 is 1200 > 1000.
        assert_eq!((t.quorum.base_units(), t.outcome), (1200, Outcome::NoQuorum));
        assert_eq!(
            tally_for(&c, "q", ts("2026-10-15T00:00:00Z")).err(),
            Some(GovError::UnknownProposal { id: "q".into() })
        );
    }

    #[test]
    fn a_bad_gov_payload_is_a_bad_event() {
        let mut events = stored(&[base(), vec![Fact::Proposal(proposal())]].concat());
        let last = events.last_mut().expect("one");
        last.event.payload = last.event.payload.replace("\"quorum_bps\":5000", "\"quorum_bps\":50000");
        let err = Company::fold(&events).expect_err("refused");
        assert!(
            matches!(&err, FoldError::Bad { id, reason, .. } if id == "gov.proposal:p" && reason.contains("quorum")),
            "{err}"
        );
        let mut events = stored(&[base(), vec![ballot("ada", Choice::For, "2026-10-02T00:00:00Z")]].concat());
        let err = Company::fold(&events).expect_err("a ballot without its proposal");
        assert!(err.to_string().contains("no proposal has id `p`"), "{err}");
        events = stored(
            &[base(), vec![Fact::Proposal(proposal()), ballot("ada", Choice::For, "2026-10-02T00:00:00Z")]].concat(),
        );
        let last = events.last_mut().expect("one");
        last.event.payload = last.event.payload.replace("\"for\"", "\"maybe\"");
        assert!(Company::fold(&events).is_err());
    }

    #[test]
    fn new_gov_facts_are_validated_against_the_ledger() {
        let mut facts = base();
        facts.extend([delegate("ben", Some("ada"), "2026-08-01"), Fact::Proposal(proposal())]);
        let c = fold(&facts);
        let at = ts("2026-10-02T00:00:00Z");
        let check = |f: Fact| validate_gov(&c, &f, at);
        assert_eq!(
            check(delegate("ada", Some("ben"), "2026-08-01")),
            Err(GovError::Cycle { path: vec!["ada".into(), "ben".into(), "ada".into()] })
        );
        // The cycle is judged on the effective date's delegations; none before August.
        assert_eq!(
            check(delegate("ada", Some("ben"), "2026-07-01")),
            Err(GovError::Backdated { effective: day("2026-07-01"), latest: day("2026-08-01") })
        );
        assert_eq!(
            check(delegate("ada", Some("zed"), "2026-08-01")),
            Err(GovError::UnknownHolder { holder: "zed".into() })
        );
        // Proposal `p` is open and weighs votes with the snapshot of 30 September: a delegation
        // dated on or before it would change the votes being counted.
        assert_eq!(
            check(delegate("cy", Some("ben"), "2026-08-02")),
            Err(GovError::SnapshotTaken { proposal: "p".into(), snapshot_date: day("2026-09-30") })
        );
        assert_eq!(check(delegate("cy", Some("ben"), "2026-10-01")), Ok(()));
        assert_eq!(check(delegate("ben", Some("ada"), "2026-08-01")), Ok(()), "already recorded");
        assert_eq!(
            check(delegate("cy", None, "2026-08-02")),
            Err(GovError::NotDelegated { holder: "cy".into(), date: day("2026-08-02") })
        );
        assert_eq!(check(Fact::Proposal(proposal())), Ok(()), "already recorded");
        let mut other = proposal();
        other.quorum_bps = 1;
        assert_eq!(check(Fact::Proposal(other)), Err(GovError::DuplicateProposal { id: "p".into() }));
        assert_eq!(check(ballot("ada", Choice::For, "2026-10-02T00:00:00Z")), Ok(()));
        assert_eq!(
            check(ballot("ada", Choice::For, "2026-10-01T00:00:00Z")),
            Err(GovError::CastAt { cast_at: ts("2026-10-01T00:00:00Z"), at })
        );
        assert_eq!(
            check(ballot("ben", Choice::For, "2026-10-02T00:00:00Z")),
            Err(GovError::Delegated { voter: "ben".into(), delegate: "ada".into() })
        );
        assert_eq!(
            check(ballot("cy", Choice::For, "2026-10-02T00:00:00Z")),
            Err(GovError::NoVotingPower { voter: "cy".into() })
        );
        let late = ts("2026-10-15T00:00:00Z");
        assert!(matches!(
            validate_gov(&c, &ballot("ada", Choice::For, "2026-10-15T00:00:00Z"), late),
            Err(GovError::NotOpen { .. })
        ));
        assert_eq!(
            check(Fact::Ballot { proposal: "q".into(), voter: "ada".into(), choice: Choice::For, cast_at: at }),
            Err(GovError::UnknownProposal { id: "q".into() })
        );
    }

    #[test]
    fn a_delegation_is_dated_at_most_366_days_ahead_and_a_far_one_blocks_no_one() {
        let c = fold(&base());
        // Recorded on 7 December 2026 (UTC): 366 days on is 8 December 2027.
        let at = ts("2026-12-07T10:00:00Z");
        assert_eq!(validate_gov(&c, &delegate("ada", Some("ben"), "2027-12-08"), at), Ok(()));
        assert_eq!(
            validate_gov(&c, &delegate("ada", Some("ben"), "9999-12-31"), at),
            Err(GovError::TooFarAhead {
                effective: day("9999-12-31"),
                recorded: day("2026-12-07"),
                last: day("2027-12-08"),
                max_days: 366,
            })
        );
        // A record a year ahead does not stop anyone else's change from today on, but a date
        // before today and before it is still backdating.
        let mut facts = base();
        facts.push(delegate("ada", Some("ben"), "2027-12-08"));
        let c = fold(&facts);
        assert_eq!(validate_gov(&c, &delegate("cy", Some("ben"), "2026-12-07"), at), Ok(()));
        assert_eq!(
            validate_gov(&c, &delegate("cy", Some("ben"), "2026-12-06"), at),
            Err(GovError::Backdated { effective: day("2026-12-06"), latest: day("2027-12-08") })
        );
    }

    #[test]
    fn with_the_people_hidden_a_target_is_checked_for_its_form_only() {
        let c = fold(&base());
        let at = ts("2026-10-02T00:00:00Z");
        let hidden = |to: &str| validate_gov_for(&c, &delegate("ada", Some(to), "2026-10-02"), at, Roster::Hidden);
        // A person and an id that names no one get the same answer.
        assert_eq!(hidden("ben"), Ok(()));
        assert_eq!(hidden("zed"), Ok(()));
        assert_eq!(hidden("no body"), Err(GovError::BadTarget { id: "no body".into() }));
        assert_eq!(hidden(&"x".repeat(65)), Err(GovError::BadTarget { id: "x".repeat(65) }));
        assert_eq!(hidden("ada"), Err(GovError::SelfDelegation { holder: "ada".into() }));
        let visible = validate_gov(&c, &delegate("ada", Some("zed"), "2026-10-02"), at);
        assert_eq!(visible, Err(GovError::UnknownHolder { holder: "zed".into() }));
    }
}
