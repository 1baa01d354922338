//! The generators the property tests share: schedules, grants and event kinds in every shape
//! the engine accepts. `crates/formats/tests/it` includes this file by path (its canonical
//! round trip draws from the same shapes).
//!
//! Each test binary uses part of it.
#![allow(dead_code)]

use jiff::ToSpan;
use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use proptest::prelude::*;
use tokencomp_core::calendar::{self, end_of_day};
use tokencomp_core::schedule::{Allocation, At, Calendar, Custom, DayOfMonth, Linear, LinearModel, Period, Schedule};
use tokencomp_core::{Acceleration, EventKind, Grant, MilestoneEffect, TerminationCause, Trigger};
use tokencomp_money::TokenAmount;

pub fn any_date() -> impl Strategy<Value = Date> {
    (0i64..12_000).prop_map(|d| date(2000, 1, 1).checked_add(d.days()).expect("in range"))
}

pub fn any_rule() -> impl Strategy<Value = DayOfMonth> {
    prop_oneof![
        (1u8..=28).prop_map(DayOfMonth::Day),
        (29u8..=31).prop_map(DayOfMonth::OrLast),
        Just(DayOfMonth::VestingStartDayOrLast),
    ]
}

pub fn any_allocation() -> impl Strategy<Value = Allocation> {
    proptest::sample::select(Allocation::ALL.to_vec())
}

pub fn any_total() -> impl Strategy<Value = u128> {
    prop_oneof![1u128..10_000, 1u128..10u128.pow(27), (u128::MAX - 1_000_000)..=u128::MAX, any::<u128>()]
}

pub fn any_calendar() -> impl Strategy<Value = Schedule> {
    (any_date(), prop_oneof![(1u32..=12).prop_map(Period::Months), (1u32..=90).prop_map(Period::Days)], 1u32..=60)
        .prop_flat_map(|(start, period, n)| (Just(start), Just(period), Just(n), 0..=n, any_rule(), any_allocation()))
        .prop_map(|(start, period, n, cliff, rule, alloc)| {
            Schedule::Calendar(Calendar::new(start, period, n, cliff, rule, alloc).expect("valid"))
        })
}

pub fn any_custom() -> impl Strategy<Value = Schedule> {
    (any_date(), proptest::collection::vec((1i64..400, 1u128..1_000_000), 1..20), any_allocation()).prop_map(
        |(start, steps, alloc)| {
            let mut d = start;
            let tranches: Vec<(Date, u128)> = steps
                .into_iter()
                .map(|(gap, w)| {
                    d = d.checked_add(gap.days()).expect("in range");
                    (d, w)
                })
                .collect();
            Schedule::Custom(Custom::with_allocation(&tranches, alloc).expect("valid"))
        },
    )
}

pub fn any_linear() -> impl Strategy<Value = Schedule> {
    let t0 = 946_684_800i64; // 2000-01-01T00:00:00Z
    (0i64..300_000_000, 1i64..200_000_000, 0u8..=100, 1u32..=2_592_000, any::<bool>(), 0u128..1000, 0u128..1000)
        .prop_map(move |(start, dur, cliff_pct, gran, sablier, su, cu)| {
            let start = t0 + start;
            let end = start + dur;
            let cliff =
                (cliff_pct > 0).then(|| start + dur * i64::from(cliff_pct) / 101).filter(|&c| c > start && c < end);
            let gran = u32::try_from(i64::from(gran).min(end - cliff.unwrap_or(start)).max(1)).expect("fits");
            let model = if sablier {
                LinearModel::Sablier { start_unlock: su, cliff_unlock: if cliff.is_some() { cu } else { 0 } }
            } else {
                LinearModel::OpenZeppelin
            };
            Schedule::Linear(Linear::new(start, cliff, end, gran, model).expect("valid"))
        })
}

pub fn any_schedule() -> impl Strategy<Value = Schedule> {
    prop_oneof![any_calendar(), any_custom(), any_linear()]
}

pub fn grant(total: u128, schedule: Schedule) -> Grant {
    Grant {
        id: "g".into(),
        holder: "h".into(),
        amount: TokenAmount::from_base_units(total),
        schedule,
        performance: vec![],
        events: vec![],
    }
}

/// `PROPTEST_CASES` cases when set (to hunt for rare failures), otherwise `default`; an explicit
/// `cases` would silently override the variable. Rejections are allowed in proportion.
pub fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    ProptestConfig { cases, max_global_rejects: cases.saturating_mul(2).max(1024), ..ProptestConfig::default() }
}

pub fn at(d: Date, tz: &TimeZone) -> At {
    At::new(calendar::to_day(d), end_of_day(d, tz).expect("in range"))
}

pub fn any_event_kind() -> impl Strategy<Value = EventKind> {
    prop_oneof![
        Just(EventKind::Leave { until: date(2000, 1, 1) }),
        (0u32..5, 0u32..=10_000, any::<bool>()).prop_map(|(c, bps, months)| EventKind::Termination {
            cause: [
                TerminationCause::Voluntary,
                TerminationCause::WithoutCause,
                TerminationCause::GoodReason,
                TerminationCause::ForCause,
                TerminationCause::DeathOrDisability
            ][c as usize],
            acceleration: if bps == 0 {
                None
            } else if months {
                Some(Acceleration::Months(bps % 24))
            } else {
                Some(Acceleration::Percent { bps })
            },
        }),
        (0u32..=10_000, any::<bool>(), 1u32..24).prop_map(|(bps, single, w)| EventKind::ChangeOfControl {
            trigger: if single { Trigger::Single { bps } } else { Trigger::Double { bps, window_months: w } }
        }),
        Just(EventKind::Revocation),
        (0u128..u128::MAX)
            .prop_map(|a| EventKind::Amendment { amount: Some(TokenAmount::from_base_units(a)), schedule: None }),
        (1u32..12).prop_map(|n| EventKind::Milestone { effect: MilestoneEffect::PullForward { periods: n } }),
        (0u32..=20_000)
            .prop_map(|bps| EventKind::Milestone { effect: MilestoneEffect::Scale { tranche: "p".into(), bps } }),
    ]
}
