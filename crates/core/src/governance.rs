//! Governance: voting power snapshots, delegation, proposals, ballots and tallies.
//!
//! A snapshot turns each holder's balances on a date into their own voting power (vested,
//! plus a policy weight on unvested), then moves it along delegations: a delegator's power
//! flows to the first holder down the chain who has not delegated (liquid delegation).
//! A proposal has a voting window `[opens, closes)`, a quorum and the snapshot date its power
//! is read at; each holder's latest ballot inside the window counts once, with their power.
//!
//! Pure: balances, delegations, ballots and the instant to judge them at all come in as
//! parameters. This module must never read the clock or the ledger, and never round an
//! amount except at the two documented points: the weighted unvested balance (down, once per
//! holding, in [`snapshot`]) and the quorum (up, in [`quorum_of`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::Date;
use tokencomp_money::TokenAmount;

/// 100% in basis points.
pub const FULL_BPS: u32 = 10_000;

/// What one holder holds on the snapshot date, in base units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holding {
    pub holder: String,
    pub vested: TokenAmount,
    pub unvested: TokenAmount,
}

/// Delegator -> delegate, transitive (liquid): power flows along the chain to the first holder
/// who has not delegated.
pub type Delegations = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GovError {
    /// `path` runs `a -> b -> … -> a`.
    #[error("the delegation would make a cycle: {}", path.join(" -> "))]
    Cycle { path: Vec<String> },
    #[error("`{holder}` cannot delegate to themselves")]
    SelfDelegation { holder: String },
    #[error("no person has id `{holder}`")]
    UnknownHolder { holder: String },
    #[error("`{holder}` has no delegation to revoke on {date}")]
    NotDelegated { holder: String, date: Date },
    #[error(
        "a delegation effective {effective} is earlier than the latest recorded one ({latest}): delegation history only grows forward"
    )]
    Backdated { effective: Date, latest: Date },
    #[error(
        "a delegation takes effect at most {max_days} days after it is recorded: {effective} is after {last} (recorded {recorded})"
    )]
    TooFarAhead { effective: Date, recorded: Date, last: Date, max_days: i16 },
    #[error(
        "proposal `{proposal}` already counts votes with the snapshot of {snapshot_date}: a delegation can take effect from the day after"
    )]
    SnapshotTaken { proposal: String, snapshot_date: Date },
    #[error("`{id}` is not an id: ASCII letters, digits, `.`, `_` and `-`, at most 64 characters")]
    BadTarget { id: String },
    #[error("the unvested weight is {bps} basis points; it must be at most 10000")]
    BadWeight { bps: u32 },
    #[error("the quorum is {bps} basis points; it must be at most 10000")]
    BadQuorum { bps: u32 },
    #[error("the voting window must open before it closes: opens {opens}, closes {closes}")]
    BadWindow { opens: Timestamp, closes: Timestamp },
    #[error("the {field} must not be empty")]
    Empty { field: &'static str },
    #[error("proposal id `{id}` may only have ASCII letters, digits, `.`, `_` and `-`")]
    BadId { id: String },
    #[error("the snapshot date {snapshot_date} is after the day voting opens ({opens_on})")]
    SnapshotAfterOpen { snapshot_date: Date, opens_on: Date },
    #[error("proposal `{id}` already exists with other terms")]
    DuplicateProposal { id: String },
    #[error("proposal `{proposal}` is not open at {at}: voting runs from {opens} until (not including) {closes}")]
    NotOpen { proposal: String, opens: Timestamp, closes: Timestamp, at: Timestamp },
    #[error("`{voter}` has no voting power in the proposal's snapshot")]
    NoVotingPower { voter: String },
    #[error("`{voter}` delegated their voting power to `{delegate}` in the proposal's snapshot")]
    Delegated { voter: String, delegate: String },
    #[error("a ballot is cast when it is recorded: cast at {cast_at}, recorded at {at}")]
    CastAt { cast_at: Timestamp, at: Timestamp },
    #[error("no proposal has id `{id}`")]
    UnknownProposal { id: String },
    #[error("`{choice}` is not a choice: for, against or abstain")]
    BadChoice { choice: String },
    #[error("the balances of grant `{grant}` cannot be computed: {reason}")]
    Balances { grant: String, reason: String },
    #[error("voting power overflows 128 bits of base units")]
    Overflow,
}

/// Refuses a delegation that would make a cycle (naming the path) or delegates to oneself.
///
/// `current` is the delegations in force; the new one replaces whatever `from` delegated
/// before. A `current` that already holds a cycle the chain from `to` runs into is refused
/// too, naming that cycle.
pub fn check_delegation(current: &Delegations, from: &str, to: &str) -> Result<(), GovError> {
    if from == to {
        return Err(GovError::SelfDelegation { holder: from.to_owned() });
    }
    let mut path = vec![from.to_owned(), to.to_owned()];
    let mut seen = BTreeSet::from([to]);
    let mut at = to;
    while let Some(next) = current.get(at) {
        path.push(next.clone());
        if next == from || !seen.insert(next.as_str()) {
            return Err(GovError::Cycle { path });
        }
        at = next;
    }
    Ok(())
}

/// The first holder down `holder`'s chain who has not delegated (`holder` itself when it has
/// not).
fn final_delegate<'a>(delegations: &'a Delegations, holder: &'a str) -> Result<&'a str, GovError> {
    let mut path = vec![holder];
    let mut seen = BTreeSet::from([holder]);
    let mut at = holder;
    while let Some(next) = delegations.get(at) {
        if next == at {
            return Err(GovError::SelfDelegation { holder: at.to_owned() });
        }
        if !seen.insert(next.as_str()) {
            // The cycle proper: from the first visit of `next` back to it.
            let start = path.iter().position(|p| *p == next.as_str()).unwrap_or(0);
            let mut cycle: Vec<String> = path[start..].iter().map(|p| (*p).to_owned()).collect();
            cycle.push(next.clone());
            return Err(GovError::Cycle { path: cycle });
        }
        path.push(next.as_str());
        at = next;
    }
    Ok(at)
}

/// Voting power on a date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub date: Date,
    pub unvested_weight_bps: u32,
    /// Each holder's own weighted balance: vested + floor(unvested × weight / 10000).
    pub own: BTreeMap<String, TokenAmount>,
    /// After delegation; holders who delegated have zero and are present.
    pub power: BTreeMap<String, TokenAmount>,
    /// Each delegator's final delegate.
    pub delegates: BTreeMap<String, String>,
    /// The sum of `own` (and of `power`).
    pub total: TokenAmount,
}

/// Each holder's own weighted balance, moved along the delegations.
///
/// Rounding: the unvested part is weighted once per holding and rounded down,
/// `floor(unvested × unvested_weight_bps / 10000)` in 256-bit arithmetic; holdings of the same
/// holder are added after that. Every other step is an exact, checked sum.
///
/// Every delegator and delegate must hold something (a zero holding will do), the weight must
/// be at most 10000 bps, and the delegations must not cycle.
pub fn snapshot(
    date: Date,
    holdings: &[Holding],
    delegations: &Delegations,
    unvested_weight_bps: u32,
) -> Result<Snapshot, GovError> {
    if unvested_weight_bps > FULL_BPS {
        return Err(GovError::BadWeight { bps: unvested_weight_bps });
    }
    let mut own: BTreeMap<String, TokenAmount> = BTreeMap::new();
    for h in holdings {
        let weighted = h
            .unvested
            .mul_div_floor(u128::from(unvested_weight_bps), u128::from(FULL_BPS))
            .and_then(|w| h.vested.checked_add(w))
            .map_err(|_| GovError::Overflow)?;
        let slot = own.entry(h.holder.clone()).or_default();
        *slot = slot.checked_add(weighted).map_err(|_| GovError::Overflow)?;
    }
    for (from, to) in delegations {
        for holder in [from, to] {
            if !own.contains_key(holder) {
                return Err(GovError::UnknownHolder { holder: holder.clone() });
            }
        }
    }
    let total = TokenAmount::checked_sum(own.values().copied()).map_err(|_| GovError::Overflow)?;
    let mut power: BTreeMap<String, TokenAmount> = own.keys().map(|k| (k.clone(), TokenAmount::ZERO)).collect();
    let mut delegates = BTreeMap::new();
    for (holder, amount) in &own {
        let target = final_delegate(delegations, holder)?;
        if target != holder {
            delegates.insert(holder.clone(), target.to_owned());
        }
        let slot = power.entry(target.to_owned()).or_default();
        // Cannot overflow: every share is part of `total`, which fit.
        *slot = slot.checked_add(*amount).map_err(|_| GovError::Overflow)?;
    }
    Ok(Snapshot { date, unvested_weight_bps, own, power, delegates, total })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Choice {
    For,
    Against,
    Abstain,
}

impl Choice {
    pub const ALL: [Choice; 3] = [Choice::For, Choice::Against, Choice::Abstain];

    pub fn as_str(self) -> &'static str {
        match self {
            Choice::For => "for",
            Choice::Against => "against",
            Choice::Abstain => "abstain",
        }
    }
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Choice {
    type Err = GovError;
    fn from_str(s: &str) -> Result<Choice, GovError> {
        Choice::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| GovError::BadChoice { choice: s.to_owned() })
    }
}

/// A question put to the holders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    pub id: String,
    pub title: String,
    pub description: String,
    /// The day (in the company's time zone) whose balances and delegations give the power.
    pub snapshot_date: Date,
    /// Voting runs over `[opens, closes)`.
    pub opens: Timestamp,
    pub closes: Timestamp,
    /// The share of the snapshot's total that must turn out (abstentions included).
    pub quorum_bps: u32,
    pub unvested_weight_bps: u32,
}

/// Where a proposal stands at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Before `opens`.
    Pending,
    Open,
    /// From `closes` on.
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Open => "open",
            Status::Closed => "closed",
        }
    }
}

impl Proposal {
    pub fn status(&self, at: Timestamp) -> Status {
        if at < self.opens {
            Status::Pending
        } else if at < self.closes {
            Status::Open
        } else {
            Status::Closed
        }
    }

    /// Whether `at` is inside the voting window `[opens, closes)`.
    pub fn is_open(&self, at: Timestamp) -> bool {
        self.status(at) == Status::Open
    }
}

/// How far ahead a delegation may be dated: a year and a day, so a leap year's anniversary
/// fits and no record can hold delegation history hostage for longer.
pub const MAX_DELEGATION_DAYS: i16 = 366;

/// Whether a proposal id is safe inside event ids: ASCII letters, digits, `.`, `_`, `-`.
pub fn id_ok(id: &str) -> bool {
    id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// Opens before it closes, quorum and weight at most 10000 bps, a non-empty id (letters,
/// digits, `.`, `_`, `-`) and title.
pub fn check_proposal(p: &Proposal) -> Result<(), GovError> {
    if p.id.is_empty() {
        return Err(GovError::Empty { field: "id" });
    }
    if !id_ok(&p.id) {
        return Err(GovError::BadId { id: p.id.clone() });
    }
    if p.title.trim().is_empty() {
        return Err(GovError::Empty { field: "title" });
    }
    if p.opens >= p.closes {
        return Err(GovError::BadWindow { opens: p.opens, closes: p.closes });
    }
    if p.quorum_bps > FULL_BPS {
        return Err(GovError::BadQuorum { bps: p.quorum_bps });
    }
    if p.unvested_weight_bps > FULL_BPS {
        return Err(GovError::BadWeight { bps: p.unvested_weight_bps });
    }
    Ok(())
}

/// One holder's vote on a proposal; a later ballot of the same holder replaces it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ballot {
    pub proposal: String,
    pub voter: String,
    pub choice: Choice,
    pub cast_at: Timestamp,
}

/// Window is [opens, closes); voter must have power > 0 in the snapshot.
pub fn check_ballot(p: &Proposal, snap: &Snapshot, voter: &str, at: Timestamp) -> Result<(), GovError> {
    if !p.is_open(at) {
        return Err(GovError::NotOpen { proposal: p.id.clone(), opens: p.opens, closes: p.closes, at });
    }
    if let Some(delegate) = snap.delegates.get(voter) {
        return Err(GovError::Delegated { voter: voter.to_owned(), delegate: delegate.clone() });
    }
    if snap.power.get(voter).is_none_or(|w| w.is_zero()) {
        return Err(GovError::NoVotingPower { voter: voter.to_owned() });
    }
    Ok(())
}

/// The ballot that counts for each voter of `p` as of `at`: among their ballots for `p` cast
/// inside the window and no later than `at`, the latest by `cast_at` (ties: the later in the
/// slice).
pub fn final_ballots<'a>(p: &Proposal, ballots: &'a [Ballot], at: Timestamp) -> BTreeMap<&'a str, &'a Ballot> {
    let mut out: BTreeMap<&str, &Ballot> = BTreeMap::new();
    for b in ballots.iter().filter(|b| b.proposal == p.id && p.is_open(b.cast_at) && b.cast_at <= at) {
        match out.get(b.voter.as_str()) {
            Some(kept) if kept.cast_at > b.cast_at => {}
            _ => {
                out.insert(&b.voter, b);
            }
        }
    }
    out
}

/// `ceil(total × quorum_bps / 10000)`: the turnout a proposal needs. Rounding up, so a quorum
/// is never met by a fraction of a base unit short. A quorum above 10000 bps counts as 100%.
pub fn quorum_of(total: TokenAmount, quorum_bps: u32) -> TokenAmount {
    let bps = u128::from(quorum_bps.min(FULL_BPS));
    let full = u128::from(FULL_BPS);
    // bps ≤ 10000, so the quotient is at most `total`, which fits.
    let floor = total.mul_div_floor(bps, full).unwrap_or(total);
    // (total × bps) mod 10000 from the residue of `total`, which keeps the product small.
    let remainder = (total.base_units() % full) * bps % full;
    if remainder == 0 { floor } else { floor.checked_add(TokenAmount::from_base_units(1)).unwrap_or(total) }
}

/// How a proposal ended (or that it has not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Still open or pending.
    Undecided,
    Passed,
    Rejected,
    NoQuorum,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Undecided => "undecided",
            Outcome::Passed => "passed",
            Outcome::Rejected => "rejected",
            Outcome::NoQuorum => "no_quorum",
        }
    }
}

/// The count of a proposal's ballots at an instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    pub status: Status,
    pub outcome: Outcome,
    pub for_: TokenAmount,
    pub against: TokenAmount,
    pub abstain: TokenAmount,
    /// Voters whose ballot counted (with power above zero).
    pub voters: usize,
    /// The snapshot's total.
    pub total: TokenAmount,
    /// for + against + abstain.
    pub turnout: TokenAmount,
    /// ceil(total × quorum_bps / 10000).
    pub quorum: TokenAmount,
    pub quorum_reached: bool,
}

/// Only ballots inside the window count; per voter the latest (by cast_at, ties by slice order)
/// counts once, weighted by the voter's snapshot power. Passed = closed, quorum reached
/// (turnout incl. abstain >= quorum), for > against.
pub fn tally(p: &Proposal, snap: &Snapshot, ballots: &[Ballot], at: Timestamp) -> Tally {
    // Each voter counts once and the powers sum to the snapshot's total, which fit in a u128,
    // so none of these sums can overflow; `add` saturates rather than panic if one did.
    let add = |a: TokenAmount, b: TokenAmount| a.checked_add(b).unwrap_or(TokenAmount::MAX);
    let (mut for_, mut against, mut abstain) = (TokenAmount::ZERO, TokenAmount::ZERO, TokenAmount::ZERO);
    let mut voters = 0;
    for (voter, b) in final_ballots(p, ballots, at) {
        let power = snap.power.get(voter).copied().unwrap_or_default();
        if power.is_zero() {
            continue;
        }
        voters += 1;
        match b.choice {
            Choice::For => for_ = add(for_, power),
            Choice::Against => against = add(against, power),
            Choice::Abstain => abstain = add(abstain, power),
        }
    }
    let turnout = add(add(for_, against), abstain);
    let quorum = quorum_of(snap.total, p.quorum_bps);
    let quorum_reached = turnout >= quorum;
    let status = p.status(at);
    let outcome = match status {
        Status::Pending | Status::Open => Outcome::Undecided,
        Status::Closed if !quorum_reached => Outcome::NoQuorum,
        Status::Closed if for_ > against => Outcome::Passed,
        Status::Closed => Outcome::Rejected,
    };
    Tally { status, outcome, for_, against, abstain, voters, total: snap.total, turnout, quorum, quorum_reached }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn amt(u: u128) -> TokenAmount {
        TokenAmount::from_base_units(u)
    }

    fn hold(holder: &str, vested: u128, unvested: u128) -> Holding {
        Holding { holder: holder.into(), vested: amt(vested), unvested: amt(unvested) }
    }

    fn dels(pairs: &[(&str, &str)]) -> Delegations {
        pairs.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn proposal(quorum_bps: u32) -> Proposal {
        Proposal {
            id: "p-1".into(),
            title: "Treasury".into(),
            description: String::new(),
            snapshot_date: date(2026, 10, 31),
            opens: ts("2026-11-01T00:00:00Z"),
            closes: ts("2026-11-15T00:00:00Z"),
            quorum_bps,
            unvested_weight_bps: 0,
        }
    }

    fn ballot(voter: &str, choice: Choice, at: &str) -> Ballot {
        Ballot { proposal: "p-1".into(), voter: voter.into(), choice, cast_at: ts(at) }
    }

    fn snap(holdings: &[Holding], d: &Delegations, bps: u32) -> Snapshot {
        snapshot(date(2026, 10, 31), holdings, d, bps).expect("snapshot")
    }

    #[test]
    fn unvested_is_weighted_and_rounded_down_per_holding() {
        let s = snap(&[hold("a", 10, 3), hold("b", 0, 7), hold("b", 1, 1)], &Delegations::new(), 5000);
        // a: 10 + floor(1.5) = 11; b: floor(3.5) + 1 + floor(0.5) = 4.
        assert_eq!(s.own["a"], amt(11));
        assert_eq!(s.own["b"], amt(4));
        assert_eq!(s.total, amt(15));
        let full = snap(&[hold("a", 10, 3)], &Delegations::new(), FULL_BPS);
        assert_eq!(full.total, amt(13));
        assert_eq!(
            snapshot(date(2026, 1, 1), &[], &Delegations::new(), 10_001),
            Err(GovError::BadWeight { bps: 10_001 })
        );
    }

    #[test]
    fn a_total_beyond_128_bits_is_an_error() {
        let max = TokenAmount::MAX.base_units();
        let err = snapshot(date(2026, 1, 1), &[hold("a", max, 0), hold("b", 1, 0)], &Delegations::new(), 0);
        assert_eq!(err, Err(GovError::Overflow));
        let err = snapshot(date(2026, 1, 1), &[hold("a", max, max)], &Delegations::new(), 1);
        assert_eq!(err, Err(GovError::Overflow));
        // The weighting itself is exact at the top of the range (256-bit product).
        let s = snap(&[hold("a", 0, max)], &Delegations::new(), 5000);
        assert_eq!(s.total, amt(max / 2));
    }

    #[test]
    fn power_flows_to_the_end_of_the_chain() {
        let h = [hold("a", 5, 0), hold("b", 7, 0), hold("c", 11, 0), hold("d", 13, 0)];
        let s = snap(&h, &dels(&[("a", "b"), ("b", "c")]), 0);
        assert_eq!(s.power["a"], amt(0));
        assert_eq!(s.power["b"], amt(0));
        assert_eq!(s.power["c"], amt(23));
        assert_eq!(s.power["d"], amt(13));
        assert_eq!(s.delegates, dels(&[("a", "c"), ("b", "c")]));
        assert_eq!(s.total, amt(36));
    }

    #[test]
    fn a_snapshot_refuses_unknown_holders_and_cycles() {
        let h = [hold("a", 1, 0), hold("b", 1, 0), hold("c", 1, 0)];
        let unknown = snapshot(date(2026, 1, 1), &h, &dels(&[("a", "z")]), 0);
        assert_eq!(unknown, Err(GovError::UnknownHolder { holder: "z".into() }));
        let cycle = snapshot(date(2026, 1, 1), &h, &dels(&[("a", "b"), ("b", "c"), ("c", "b")]), 0);
        assert_eq!(cycle, Err(GovError::Cycle { path: vec!["b".into(), "c".into(), "b".into()] }));
        let selfish = snapshot(date(2026, 1, 1), &h, &dels(&[("a", "a")]), 0);
        assert_eq!(selfish, Err(GovError::SelfDelegation { holder: "a".into() }));
    }

    #[test]
    fn a_delegation_that_closes_a_cycle_is_refused_naming_it() {
        let current = dels(&[("b", "c"), ("c", "a")]);
        assert_eq!(
            check_delegation(&current, "a", "b"),
            Err(GovError::Cycle { path: vec!["a".into(), "b".into(), "c".into(), "a".into()] })
        );
        assert_eq!(check_delegation(&current, "a", "a"), Err(GovError::SelfDelegation { holder: "a".into() }));
        assert_eq!(check_delegation(&current, "d", "b"), Ok(()));
        // Replacing one's own delegation is not a cycle.
        assert_eq!(check_delegation(&dels(&[("a", "b")]), "a", "c"), Ok(()));
    }

    #[test]
    fn proposals_are_checked() {
        assert_eq!(check_proposal(&proposal(2000)), Ok(()));
        let mut p = proposal(10_001);
        assert_eq!(check_proposal(&p), Err(GovError::BadQuorum { bps: 10_001 }));
        p = proposal(0);
        p.closes = p.opens;
        assert!(matches!(check_proposal(&p), Err(GovError::BadWindow { .. })));
        p = proposal(0);
        p.unvested_weight_bps = 20_000;
        assert_eq!(check_proposal(&p), Err(GovError::BadWeight { bps: 20_000 }));
        p = proposal(0);
        p.id = "a:b".into();
        assert_eq!(check_proposal(&p), Err(GovError::BadId { id: "a:b".into() }));
        p = proposal(0);
        p.title = "  ".into();
        assert_eq!(check_proposal(&p), Err(GovError::Empty { field: "title" }));
    }

    #[test]
    fn the_window_opens_inclusive_and_closes_exclusive() {
        let p = proposal(0);
        let s = snap(&[hold("a", 1, 0), hold("b", 1, 0), hold("z", 0, 0)], &dels(&[("b", "a")]), 0);
        assert_eq!(check_ballot(&p, &s, "a", p.opens), Ok(()));
        assert!(matches!(check_ballot(&p, &s, "a", p.closes), Err(GovError::NotOpen { .. })));
        let before = ts("2026-10-31T23:59:59.999Z");
        assert!(matches!(check_ballot(&p, &s, "a", before), Err(GovError::NotOpen { .. })));
        assert_eq!(
            check_ballot(&p, &s, "b", p.opens),
            Err(GovError::Delegated { voter: "b".into(), delegate: "a".into() })
        );
        assert_eq!(check_ballot(&p, &s, "z", p.opens), Err(GovError::NoVotingPower { voter: "z".into() }));
        assert_eq!(check_ballot(&p, &s, "nobody", p.opens), Err(GovError::NoVotingPower { voter: "nobody".into() }));
        assert_eq!(p.status(before), Status::Pending);
        assert_eq!(p.status(p.opens), Status::Open);
        assert_eq!(p.status(p.closes), Status::Closed);
    }

    #[test]
    fn the_quorum_rounds_up() {
        assert_eq!(quorum_of(amt(10_001), 2000), amt(2001));
        assert_eq!(quorum_of(amt(10_000), 2000), amt(2000));
        assert_eq!(quorum_of(amt(0), 2000), amt(0));
        assert_eq!(quorum_of(amt(1), 1), amt(1));
        assert_eq!(quorum_of(TokenAmount::MAX, FULL_BPS), TokenAmount::MAX);
        assert_eq!(quorum_of(amt(7), 20_000), amt(7));
    }

    #[test]
    fn a_tally_decides_only_once_closed() {
        let h = [hold("a", 60, 0), hold("b", 30, 0), hold("c", 10, 0)];
        let s = snap(&h, &Delegations::new(), 0);
        let p = proposal(2000);
        let ballots = [
            ballot("a", Choice::For, "2026-11-02T00:00:00Z"),
            ballot("b", Choice::Against, "2026-11-03T00:00:00Z"),
            // Outside the window: ignored.
            ballot("c", Choice::Against, "2026-11-15T00:00:00Z"),
            ballot("c", Choice::Against, "2026-10-31T00:00:00Z"),
        ];
        let open = tally(&p, &s, &ballots, ts("2026-11-10T00:00:00Z"));
        assert_eq!((open.status, open.outcome), (Status::Open, Outcome::Undecided));
        assert_eq!((open.for_, open.against, open.abstain), (amt(60), amt(30), amt(0)));
        assert_eq!(open.voters, 2);
        assert!(open.quorum_reached);
        let closed = tally(&p, &s, &ballots, p.closes);
        assert_eq!((closed.status, closed.outcome), (Status::Closed, Outcome::Passed));
        // Tallied before b voted, b's ballot is not yet counted.
        let early = tally(&p, &s, &ballots, ts("2026-11-02T12:00:00Z"));
        assert_eq!((early.against, early.voters), (amt(0), 1));
        let pending = tally(&p, &s, &ballots, ts("2026-10-01T00:00:00Z"));
        assert_eq!((pending.status, pending.turnout), (Status::Pending, amt(0)));
    }

    #[test]
    fn abstentions_count_toward_quorum_but_not_the_result() {
        let h = [hold("a", 15, 0), hold("b", 10, 0), hold("c", 75, 0)];
        let s = snap(&h, &Delegations::new(), 0);
        let p = proposal(2500);
        let only_a = [ballot("a", Choice::For, "2026-11-02T00:00:00Z")];
        let t = tally(&p, &s, &only_a, p.closes);
        assert_eq!((t.quorum, t.quorum_reached, t.outcome), (amt(25), false, Outcome::NoQuorum));
        let with_b = [only_a[0].clone(), ballot("b", Choice::Abstain, "2026-11-02T00:00:00Z")];
        let t = tally(&p, &s, &with_b, p.closes);
        assert_eq!((t.turnout, t.quorum_reached, t.outcome), (amt(25), true, Outcome::Passed));
        let tie =
            [ballot("a", Choice::Against, "2026-11-02T00:00:00Z"), ballot("b", Choice::For, "2026-11-02T00:00:00Z")];
        let t = tally(&p, &s, &tie, p.closes);
        assert_eq!(t.outcome, Outcome::Rejected);
    }

    #[test]
    fn same_instant_ballots_resolve_by_slice_order_and_delegated_power_is_used() {
        let h = [hold("a", 40, 0), hold("b", 60, 0)];
        let s = snap(&h, &dels(&[("b", "a")]), 0);
        let p = proposal(0);
        let ballots = [
            ballot("a", Choice::Against, "2026-11-05T00:00:00Z"),
            ballot("a", Choice::For, "2026-11-05T00:00:00Z"),
            // A delegator's ballot (refused by `check_ballot`) carries no power.
            ballot("b", Choice::Against, "2026-11-05T00:00:00Z"),
        ];
        let t = tally(&p, &s, &ballots, p.closes);
        assert_eq!((t.for_, t.against, t.voters), (amt(100), amt(0), 1));
    }

    #[test]
    fn choices_round_trip() {
        for c in Choice::ALL {
            assert_eq!(c.as_str().parse::<Choice>(), Ok(c));
        }
        assert_eq!("yes".parse::<Choice>(), Err(GovError::BadChoice { choice: "yes".into() }));
    }

    /// Holders `h0..hn` with random balances and random acyclic delegations: each holder may
    /// delegate only to one of higher rank, so no chain can come back.
    fn world() -> impl Strategy<Value = (Vec<Holding>, Delegations)> {
        prop::collection::vec((any::<u64>(), any::<u64>(), any::<u32>(), prop::option::of(0usize..16)), 1..16).prop_map(
            |rows| {
                let n = rows.len();
                let holdings: Vec<Holding> = rows
                    .iter()
                    .enumerate()
                    .map(|(i, r)| hold(&format!("h{i}"), u128::from(r.0), u128::from(r.1)))
                    .collect();
                let rank = |i: usize| (rows[i].2, i);
                let mut d = Delegations::new();
                for (i, r) in rows.iter().enumerate() {
                    if let Some(j) = r.3.map(|j| j % n)
                        && rank(i) < rank(j)
                    {
                        d.insert(format!("h{i}"), format!("h{j}"));
                    }
                }
                (holdings, d)
            },
        )
    }

    /// The reference: walk the chain one step at a time (the delegations are acyclic).
    fn walk<'a>(d: &'a Delegations, mut at: &'a str) -> &'a str {
        while let Some(next) = d.get(at) {
            at = next;
        }
        at
    }

    proptest! {
        #[test]
        fn voting_power_sums_to_the_snapshots_total((holdings, d) in world(), bps in 0u32..=FULL_BPS) {
            let s = snapshot(date(2026, 10, 31), &holdings, &d, bps).expect("acyclic");
            let sum = |m: &BTreeMap<String, TokenAmount>| m.values().map(|a| a.base_units()).sum::<u128>();
            prop_assert_eq!(sum(&s.power), s.total.base_units());
            prop_assert_eq!(sum(&s.own), s.total.base_units());
            let raw: u128 = holdings.iter().map(|h| h.vested.base_units() + h.unvested.base_units()).sum();
            prop_assert!(s.total.base_units() <= raw);
            // Against the reference walk: each holder's power is what reaches them.
            for h in &holdings {
                let expected: u128 = s.own.iter().filter(|(k, _)| walk(&d, k) == h.holder).map(|(_, a)| a.base_units()).sum();
                prop_assert_eq!(s.power[&h.holder].base_units(), expected, "{}", h.holder);
                let delegated = d.contains_key(&h.holder);
                prop_assert_eq!(s.delegates.get(&h.holder).map(String::as_str), delegated.then(|| walk(&d, &h.holder)));
                if delegated {
                    prop_assert!(s.power[&h.holder].is_zero());
                }
            }
        }

        #[test]
        fn delegation_cycles_are_refused((holdings, d) in world(), from in 0usize..16, to in 0usize..16) {
            let n = holdings.len();
            let (from, to) = (format!("h{}", from % n), format!("h{}", to % n));
            let got = check_delegation(&d, &from, &to);
            // Reference: a cycle closes exactly when the chain from `to` reaches `from`.
            let mut closes = false;
            let mut at = to.as_str();
            loop {
                if at == from { closes = true; break; }
                match d.get(at) { Some(next) => at = next, None => break }
            }
            if from == to {
                prop_assert_eq!(got, Err(GovError::SelfDelegation { holder: from.clone() }));
            } else if closes {
                let Err(GovError::Cycle { path }) = &got else { panic!("expected a cycle, got {got:?}") };
                prop_assert_eq!(path.first(), Some(&from));
                prop_assert_eq!(path.last(), Some(&from));
                prop_assert_eq!(path.get(1), Some(&to));
                for w in path.windows(2).skip(1) {
                    prop_assert_eq!(d.get(&w[0]), Some(&w[1]));
                }
            } else {
                prop_assert_eq!(got, Ok(()));
                let mut after = d.clone();
                after.insert(from, to);
                prop_assert!(snapshot(date(2026, 10, 31), &holdings, &after, 0).is_ok());
            }
        }

        #[test]
        fn a_changed_ballot_counts_once_with_the_last_choice(
            (holdings, d) in world(),
            changes in prop::collection::vec((0usize..3, 1i64..100_000), 1..12),
            others in prop::collection::vec((0usize..16, 0usize..3), 0..8),
            seed in any::<u64>(),
        ) {
            let s = snapshot(date(2026, 10, 31), &holdings, &d, 0).expect("acyclic");
            let p = proposal(0);
            // The voter is a holder with the most power; skip worlds where everyone has nothing.
            let (voter, power) = s.power.iter().max_by_key(|(_, a)| **a).expect("one holder");
            prop_assume!(!power.is_zero());
            let mut t = p.opens;
            let mut ballots = Vec::new();
            for (c, step) in &changes {
                t = t.checked_add(jiff::SignedDuration::from_secs(*step)).expect("in range");
                ballots.push(Ballot { proposal: p.id.clone(), voter: voter.clone(), choice: Choice::ALL[*c], cast_at: t });
            }
            let last = Choice::ALL[changes.last().expect("one").0];
            for (who, c) in &others {
                let who = format!("h{}", who % holdings.len());
                if who != *voter {
                    ballots.push(Ballot { proposal: p.id.clone(), voter: who, choice: Choice::ALL[*c], cast_at: p.opens });
                }
            }
            // Slice order must not matter when the times differ.
            let len = ballots.len();
            ballots.rotate_left(usize::try_from(seed % u64::try_from(len).expect("small")).expect("small"));
            let with = tally(&p, &s, &ballots, p.closes);
            let without: Vec<Ballot> = ballots.iter().filter(|b| b.voter != *voter).cloned().collect();
            let base = tally(&p, &s, &without, p.closes);
            prop_assert_eq!(with.voters, base.voters + 1);
            prop_assert_eq!(with.turnout.base_units(), base.turnout.base_units() + power.base_units());
            let bucket = |x: &Tally, c: Choice| match c { Choice::For => x.for_, Choice::Against => x.against, Choice::Abstain => x.abstain };
            for c in Choice::ALL {
                let added = if c == last { power.base_units() } else { 0 };
                prop_assert_eq!(bucket(&with, c).base_units(), bucket(&base, c).base_units() + added, "{}", c);
            }
        }

        #[test]
        fn tally_totals_never_exceed_the_snapshot_total(
            (holdings, d) in world(),
            bps in 0u32..=FULL_BPS,
            quorum in 0u32..=12_000,
            votes in prop::collection::vec((0usize..20, 0usize..3, -100_000i64..1_500_000), 0..40),
            at in -100_000i64..1_500_000,
        ) {
            let s = snapshot(date(2026, 10, 31), &holdings, &d, bps).expect("acyclic");
            let mut p = proposal(quorum);
            p.closes = p.opens.checked_add(jiff::SignedDuration::from_secs(1_209_600)).expect("in range");
            let after = |secs: i64| p.opens.checked_add(jiff::SignedDuration::from_secs(secs)).expect("in range");
            let ballots: Vec<Ballot> = votes
                .iter()
                .map(|(who, c, secs)| Ballot { proposal: p.id.clone(), voter: format!("h{who}"), choice: Choice::ALL[*c], cast_at: after(*secs) })
                .collect();
            let t = tally(&p, &s, &ballots, after(at));
            let sum = t.for_.base_units() + t.against.base_units() + t.abstain.base_units();
            prop_assert_eq!(sum, t.turnout.base_units());
            prop_assert!(t.turnout <= s.total);
            prop_assert!(t.quorum <= s.total);
            prop_assert_eq!(t.total, s.total);
            prop_assert!(t.voters <= s.power.len());
            prop_assert_eq!(t.quorum_reached, t.turnout >= t.quorum);
        }
    }
}
