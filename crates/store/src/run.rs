//! Period runs: what a run through a date must record, period by period.
//!
//! For every grant the engine's timeline says what vests (and is forfeited) on which date. A
//! run compares that with what the ledger has recognized and records the differences: new
//! vests in the period they fall in; corrections to periods already run (a late termination,
//! a fixed amendment) as new or reversing entries in the first period not yet run. Each
//! period is one batch — one transaction — ending with its `period.run` marker, so a run cut
//! short at any point is finished by running again, and a complete run is a no-op.
//!
//! Periods and their ids are `tokencomp_core::period`'s.

use std::collections::BTreeMap;

use jiff::civil::Date;
use tokencomp_core::period::{Period, period_of, periods};
use tokencomp_core::{ForfeitReason, Timeline, VestReason};
use tokencomp_money::TokenAmount;

use crate::ledger::{Company, Fact};

/// One period's batch: the facts to record, then its marker.
#[derive(Clone, Debug)]
pub struct PeriodBatch {
    pub period: Period,
    pub facts: Vec<Fact>,
}

/// Plans a run through `through`: the batches of every period not yet run, in order.
/// `timelines` holds each grant's timeline.
pub fn plan(company: &Company, timelines: &BTreeMap<String, Timeline>, through: Date) -> Vec<PeriodBatch> {
    let freq = company.company.pay_frequency;
    // Expected net amounts per key, for dates up to `through`.
    let mut vests: BTreeMap<(String, Date, VestReason), u128> = BTreeMap::new();
    let mut forfeits: BTreeMap<(String, Date, ForfeitReason), u128> = BTreeMap::new();
    let mut first: Option<Date> = None;
    for (id, t) in timelines {
        for x in t.tranches.iter().take_while(|x| x.date <= through) {
            *vests.entry((id.clone(), x.date, x.reason)).or_insert(0) += x.amount.base_units();
            first = Some(first.map_or(x.date, |f| f.min(x.date)));
        }
        for f in t.forfeitures.iter().filter(|f| f.date <= through) {
            *forfeits.entry((id.clone(), f.date, f.reason)).or_insert(0) += f.amount.base_units();
            first = Some(first.map_or(f.date, |d| d.min(f.date)));
        }
    }
    for d in company.recognized.keys().map(|k| k.1).chain(company.forfeits_recognized.keys().map(|k| k.1)) {
        first = Some(first.map_or(d, |f| f.min(d)));
    }
    let Some(first) = first else { return Vec::new() };
    let all = periods(freq, first, through);
    let Some(first_open) = all.iter().position(|p| !company.periods_run.contains(&p.id)) else { return Vec::new() };
    let mut batches: Vec<PeriodBatch> =
        all[first_open..].iter().map(|p| PeriodBatch { period: p.clone(), facts: Vec::new() }).collect();
    // Where a difference dated `d` is recorded: its own period, or the first open one.
    let open: Vec<(String, Date)> = batches.iter().map(|b| (b.period.id.clone(), b.period.start)).collect();
    let slot = |d: Date| -> Option<usize> {
        let p = period_of(freq, d);
        match open.iter().position(|o| o.0 == p.id) {
            Some(i) => Some(i),
            None => (p.end < open[0].1).then_some(0),
        }
    };
    let holder = |g: &str| company.grants.get(g).map(|r| r.terms.grant.holder.clone()).unwrap_or_default();

    for (key, diff) in differences(&vests, &company.recognized) {
        let Some(i) = slot(key.1) else { continue };
        let (grant, date, reason) = key;
        let (period, holder) = (batches[i].period.id.clone(), holder(&grant));
        batches[i].facts.push(match diff {
            Diff::More(amount) => Fact::Vest { grant, holder, date, reason, period, amount },
            Diff::Less(amount) => Fact::VestReversal { grant, holder, date, reason, period, amount },
        });
    }
    for (key, diff) in differences(&forfeits, &company.forfeits_recognized) {
        let Some(i) = slot(key.1) else { continue };
        let (grant, date, reason) = key;
        let (period, holder) = (batches[i].period.id.clone(), holder(&grant));
        batches[i].facts.push(match diff {
            Diff::More(amount) => Fact::Forfeiture { grant, holder, date, reason, period, amount },
            Diff::Less(amount) => Fact::ForfeitureReversal { grant, holder, date, reason, period, amount },
        });
    }
    for b in &mut batches {
        let vests = b.facts.iter().filter(|f| matches!(f, Fact::Vest { .. } | Fact::VestReversal { .. })).count();
        let forfeitures = b.facts.len() - vests;
        b.facts.push(Fact::PeriodRun {
            period: b.period.id.clone(),
            start: b.period.start,
            end: b.period.end,
            vests,
            forfeitures,
            rules: None,
        });
    }
    batches
}

/// What a run must add to, or take back from, what the ledger recognized for a key.
enum Diff {
    More(TokenAmount),
    Less(TokenAmount),
}

/// Every key where `want` (from the timelines) and `have` (from the ledger) differ, in key order.
fn differences<R: Ord + Copy>(
    want: &BTreeMap<(String, Date, R), u128>,
    have: &BTreeMap<(String, Date, R), u128>,
) -> Vec<((String, Date, R), Diff)> {
    let mut keys: Vec<&(String, Date, R)> = want.keys().chain(have.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let (w, h) = (want.get(k).copied().unwrap_or(0), have.get(k).copied().unwrap_or(0));
            let diff = match w.cmp(&h) {
                std::cmp::Ordering::Equal => return None,
                std::cmp::Ordering::Greater => Diff::More(TokenAmount::from_base_units(w - h)),
                std::cmp::Ordering::Less => Diff::Less(TokenAmount::from_base_units(h - w)),
            };
            Some((k.clone(), diff))
        })
        .collect()
}
