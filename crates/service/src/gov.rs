//! Governance writes: every delegation, proposal and ballot passes
//! `tokencomp_store::gov::validate_gov` against the ledger as it stands under the write lock and
//! is recorded in the same transaction; a refusal names the field and writes nothing. The sample
//! company's governance for the demo.

use jiff::Timestamp;
use jiff::civil::Date;
use tokencomp_core::governance::{Choice, GovError, Proposal};
use tokencomp_store::gov::validate_gov;
use tokencomp_store::ledger::{Company, Fact};
use tokencomp_store::{Checked, Store, StoreError};

use crate::error::{Error, Result, bad_input};
use crate::ledger::{Loaded, Stamp, guarded, load_all, record_checked};

/// A governance error as a caller reports it: a refusal of the input names `field`; one that
/// says the ledger's balances cannot be computed is a failure.
pub fn refuse(e: GovError, field: &str) -> Error {
    match e {
        GovError::Balances { .. } | GovError::Overflow => Error::from(e),
        e => bad_input(e, field),
    }
}

/// Validates one governance fact at `at` against the ledger as it stands under the write lock,
/// records it in the same transaction (stamped `by`), and says whether anything new was written.
/// `known` is the ledger the command read (reused when nothing was appended since).
pub fn validate_and_record(
    store: &mut dyn Store,
    known: &Loaded,
    fact: Fact,
    at: Timestamp,
    by: &Stamp,
    flag: impl Fn(&GovError) -> &'static str,
) -> Result<bool> {
    let (a, ()) = record_checked(store, by, Some(known), |l| {
        validate_gov(l.company()?, &fact, at).map_err(|e| {
            let f = flag(&e);
            refuse(e, f)
        })?;
        Ok::<_, Error>((vec![fact], ()))
    })?;
    Ok(a.new > 0)
}

/// Appends one governance `fact` after `check` passes on the ledger as it stands under the
/// write lock, in the same transaction, stamped `by`: `cached` (folded from `len` events) is
/// reused when nothing was appended since (another process, the CLI, may write the same
/// ledger). The number of new events (0: the same fact again). A refusal is `check`'s; the same
/// event id with other content is a [`Error::Conflict`] naming no field.
pub fn record_fact<E: From<Error>>(
    store: &mut dyn Store,
    (cached, len): (&Company, i64),
    fact: &Fact,
    by: &Stamp,
    check: impl FnOnce(&Company) -> std::result::Result<(), E>,
) -> std::result::Result<usize, E> {
    let appended = tokencomp_store::append_checked(store, by.at, |ledger| {
        let head = ledger.head().map_err(Error::from)?.map_or(0, |h| h.0);
        let fresh;
        let company = if head == len {
            cached
        } else {
            fresh = Company::fold(&ledger.events().map_err(Error::from)?).map_err(Error::from)?;
            &fresh
        };
        check(company)?;
        Ok(vec![by.event(fact)])
    });
    match appended {
        Ok(a) => Ok(a.new),
        Err(Checked::Refused(e)) => Err(e),
        Err(Checked::Store(e @ StoreError::Conflict { .. })) => {
            Err(Error::Conflict { field: String::new(), message: e.to_string() }.into())
        }
        Err(Checked::Store(e)) => Err(Error::from(e).into()),
    }
}

/// Governance for the sample company, so the dashboard has data: two delegations in force on
/// 2026-10-31, the closed proposal `treasury-2027` (snapshot 2026-10-31, voting 2026-11-01 to
/// 2026-11-15, quorum 20%, unvested weighted 25%) with ballots, one of them changed, which
/// passes; and `grants-budget-2027` (voting 2026-11-20 to 2027-01-31) with none. Every fact passes
/// `validate_gov` first; a re-run records nothing new.
pub fn demo(store: &mut dyn Store, by: &Stamp) -> Result<()> {
    let ts = |s: &str| -> Result<Timestamp> { s.parse().map_err(Error::internal) };
    let day = |s: &str| -> Result<Date> { s.parse().map_err(Error::internal) };
    let delegate = |from: &str, to: &str, effective: &str| -> Result<Fact> {
        Ok(Fact::Delegation { from: from.into(), to: Some(to.into()), effective: day(effective)? })
    };
    let proposal = |id: &str, title: &str, description: &str, opens: &str, closes: &str| -> Result<Fact> {
        Ok(Fact::Proposal(Proposal {
            id: id.into(),
            title: title.into(),
            description: description.into(),
            snapshot_date: day("2026-10-31")?,
            opens: ts(opens)?,
            closes: ts(closes)?,
            quorum_bps: 2000,
            unvested_weight_bps: 2500,
        }))
    };
    let ballot = |voter: &str, choice: Choice, at: &str| -> Result<(Fact, Timestamp)> {
        let cast_at = ts(at)?;
        Ok((Fact::Ballot { proposal: "treasury-2027".into(), voter: voter.into(), choice, cast_at }, cast_at))
    };
    // (fact, the instant it is validated at); facts are recorded in this order.
    let recorded_at = ts("2026-10-31T12:00:00Z")?;
    let facts = vec![
        (delegate("ben", "ada", "2026-10-01")?, recorded_at),
        (delegate("fatima", "dara", "2026-10-15")?, recorded_at),
        (
            proposal(
                "treasury-2027",
                "Treasury budget 2027",
                "Move 2,000,000 GRID from the treasury bucket to a 2027 operating budget.",
                "2026-11-01T00:00:00Z",
                "2026-11-15T00:00:00Z",
            )?,
            recorded_at,
        ),
        (
            proposal(
                "grants-budget-2027",
                "Grants budget 2027",
                "Set the 2027 ecosystem grants budget at 1,500,000 GRID.",
                "2026-11-20T00:00:00Z",
                "2027-01-31T00:00:00Z",
            )?,
            recorded_at,
        ),
        ballot("ada", Choice::For, "2026-11-02T15:00:00Z")?,
        ballot("dara", Choice::Against, "2026-11-03T09:30:00Z")?,
        ballot("eli", Choice::Abstain, "2026-11-04T18:00:00Z")?,
        ballot("gus", Choice::For, "2026-11-05T10:00:00Z")?,
        ballot("noor", Choice::For, "2026-11-06T14:20:00Z")?,
        ballot("tomas", Choice::Against, "2026-11-07T11:00:00Z")?,
        // Dara changes her ballot; only the latest counts.
        ballot("dara", Choice::For, "2026-11-10T16:45:00Z")?,
    ];
    // Each fact is validated under the write lock against the company as folded, kept current
    // with the facts this loop records; folded again only if another writer appended meanwhile.
    let loaded = load_all(store)?;
    let mut len = loaded.len;
    let mut company = loaded.into_company()?;
    for (fact, at) in facts {
        let (a, head) = guarded(store, by.at, |ledger| {
            let head = ledger.head()?.map_or(0, |h| h.0);
            if head != len {
                company = Loaded::read(ledger.events()?)?.into_company()?;
            }
            validate_gov(&company, &fact, at).map_err(|e| Error::internal(format!("governance demo: {e}")))?;
            Ok::<_, Error>((vec![by.event(&fact)], head))
        })?;
        if a.new > 0 {
            company.governance.apply(&fact)?;
        }
        len = head + i64::try_from(a.new)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use tokencomp_core::governance::{Outcome, Status};
    use tokencomp_store::sqlite::SqliteStore;

    use super::*;
    use tokencomp_money::TokenAmount;
    use tokencomp_store::gov::tally_for;

    use crate::demo::SAMPLE_COMPANY;
    use crate::ledger::{init_with, load, parse_company};

    #[test]
    fn gov_demo_records_a_passed_proposal_with_a_changed_ballot_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = SqliteStore::open(&dir.path().join("ledger.sqlite")).expect("opens");
        let file = parse_company("examples/company.toml", SAMPLE_COMPANY).expect("the sample company");
        let by = Stamp::new("system", "2026-10-31T12:00:00Z".parse().expect("instant"));
        init_with(&mut store, &file, &by).expect("init");
        demo(&mut store, &by).expect("demo");
        let events = store.len().expect("len");
        let company = load(&mut store).expect("folds");
        let closes: Timestamp = "2026-11-15T00:00:00Z".parse().expect("instant");
        let (snap, t) = tally_for(&company, "treasury-2027", closes).expect("tally");
        assert_eq!((t.status, t.outcome), (Status::Closed, Outcome::Passed));
        assert!(t.quorum_reached, "{t:?}");
        assert_eq!(company.governance.ballots["treasury-2027"].len(), 7);
        assert_eq!(t.voters, 6);
        // Dara (with Fatima's delegated power) counts once, for.
        let dara = snap.power["dara"];
        assert_eq!(dara, snap.own["dara"].checked_add(snap.own["fatima"]).expect("sum"));
        let against = snap.power["tomas"];
        assert_eq!(t.against, against);
        assert_eq!(
            t.for_,
            TokenAmount::checked_sum(["ada", "dara", "gus", "noor"].map(|p| snap.power[p])).expect("sum")
        );
        let open: Timestamp = "2026-12-01T00:00:00Z".parse().expect("instant");
        let (_, other) = tally_for(&company, "grants-budget-2027", open).expect("tally");
        assert_eq!((other.status, other.voters), (Status::Open, 0));
        // A second run writes nothing.
        demo(&mut store, &by).expect("re-run");
        assert_eq!(store.len().expect("len"), events);
    }
}
