//! Each lifecycle event on a 48-month grant, worked by hand.
//!
//! The grant: 4,800 units from 2025-01-15, 48 monthly installments on the 15th, a 12-month
//! cliff (1,200 on 2026-01-15), then 100 a month through 2029-01-15. At the end, regression
//! tests named after engine bugs, each on its own small grant.

use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use tokencomp_core::schedule::{Allocation, Calendar, DayOfMonth, Linear, LinearModel, Period, Schedule};
use tokencomp_core::{
    Acceleration, EventKind, ForfeitReason, Grant, GrantError, GrantEvent, MilestoneEffect, PerformanceTranche,
    TerminationCause, Timeline, Trigger,
};
use tokencomp_money::TokenAmount;

use crate::goldens::{grant, monthly};

fn base() -> Grant {
    grant(4800, monthly(date(2025, 1, 15), 48, 12, DayOfMonth::VestingStartDayOrLast, Allocation::CumulativeRounding))
}

fn with(events: Vec<(Date, EventKind)>) -> Grant {
    let mut g = base();
    g.events = events
        .into_iter()
        .enumerate()
        .map(|(i, (d, k))| GrantEvent { id: format!("e{i}"), date: d, kind: k })
        .collect();
    g
}

fn tl(g: &Grant) -> Timeline {
    g.timeline(&TimeZone::get("America/New_York").expect("tz"), None).expect("timeline")
}

fn units(a: TokenAmount) -> u128 {
    a.base_units()
}

fn check_sums(t: &Timeline) {
    let vested: u128 = t.tranches.iter().map(|x| units(x.amount)).sum();
    let forfeited: u128 = t.forfeitures.iter().map(|x| units(x.amount)).sum();
    assert_eq!(vested + forfeited, units(t.granted));
}

#[test]
fn leave_moves_the_anchor_of_later_vests() {
    // 30 days of leave from 2026-03-01 (back on 2026-03-31): the anchor 2025-01-15 moves to
    // 2025-02-14, so every vest after 03-01 is month n after 2025-02-14, on the 14th.
    let t = tl(&with(vec![(date(2026, 3, 1), EventKind::Leave { until: date(2026, 3, 31) })]));
    let d: Vec<Date> = t.tranches.iter().map(|x| x.date).collect();
    assert_eq!(d[0], date(2026, 1, 15));
    assert_eq!(d[1], date(2026, 2, 15)); // before the leave: unchanged
    assert_eq!(d[2], date(2026, 4, 14)); // 03-15 moved 30 days
    assert_eq!(d[3], date(2026, 5, 14));
    assert_eq!(d[4], date(2026, 6, 14));
    assert_eq!(d.last(), Some(&date(2029, 2, 14)));
    assert_eq!(t.tranches.len(), 37);
    assert_eq!(units(t.position(date(2026, 4, 13)).vested), 1300);
    assert_eq!(units(t.position(date(2026, 4, 14)).vested), 1400);
    check_sums(&t);
}

#[test]
fn leave_keeps_month_end_vests_clamped() {
    // Start 2024-03-31, 48 months, cliff 12; 61 days of leave from 2025-09-01 to 2025-11-01:
    // the anchor becomes 2024-05-31, so later vests fall on the 31st or the month's last day.
    let mut g = grant(
        4800,
        monthly(date(2024, 3, 31), 48, 12, DayOfMonth::VestingStartDayOrLast, Allocation::CumulativeRoundDown),
    );
    g.events = vec![GrantEvent {
        id: "l".into(),
        date: date(2025, 9, 1),
        kind: EventKind::Leave { until: date(2025, 11, 1) },
    }];
    let t = tl(&g);
    let after: Vec<Date> = t.tranches.iter().map(|x| x.date).filter(|d| *d > date(2025, 9, 1)).take(4).collect();
    assert_eq!(after, [date(2025, 11, 30), date(2025, 12, 31), date(2026, 1, 31), date(2026, 2, 28)]);
    assert_eq!(t.tranches.last().map(|x| x.date), Some(date(2028, 5, 31)));
    check_sums(&t);
}

#[test]
fn two_leaves_add_up() {
    // 10 days from 2026-03-01 and 20 days from 2026-07-01: after both, the anchor has moved 30
    // days (2025-02-14).
    let t = tl(&with(vec![
        (date(2026, 3, 1), EventKind::Leave { until: date(2026, 3, 11) }),
        (date(2026, 7, 1), EventKind::Leave { until: date(2026, 7, 21) }),
    ]));
    let d: Vec<Date> = t.tranches.iter().map(|x| x.date).collect();
    assert_eq!(
        &d[2..7],
        [date(2026, 3, 25), date(2026, 4, 25), date(2026, 5, 25), date(2026, 6, 25), date(2026, 8, 14)]
    );
    assert_eq!(d.last(), Some(&date(2029, 2, 14)));
    check_sums(&t);
}

#[test]
fn termination_forfeits_the_unvested() {
    // Last day 2026-06-20: cliff 1,200 + Feb..Jun 15 (5 × 100) = 1,700 vested; 3,100 forfeited.
    let t = tl(&with(vec![(
        date(2026, 6, 20),
        EventKind::Termination { cause: TerminationCause::Voluntary, acceleration: None },
    )]));
    assert_eq!(units(t.tranches.last().expect("tranche").cumulative), 1700);
    assert_eq!(t.forfeitures.len(), 1);
    assert_eq!((t.forfeitures[0].date, units(t.forfeitures[0].amount)), (date(2026, 6, 20), 3100));
    assert_eq!(t.forfeitures[0].reason, ForfeitReason::Termination);
    let p = t.position(date(2026, 6, 19));
    assert_eq!((units(p.vested), units(p.unvested), units(p.forfeited)), (1700, 3100, 0));
    let p = t.position(date(2030, 1, 1));
    assert_eq!((units(p.vested), units(p.unvested), units(p.forfeited)), (1700, 0, 3100));
    check_sums(&t);
}

#[test]
fn termination_with_months_of_acceleration() {
    // Three more months (Jul, Aug, Sep 15) vest on the last day: 300 acceleration.
    let t = tl(&with(vec![(
        date(2026, 6, 20),
        EventKind::Termination { cause: TerminationCause::WithoutCause, acceleration: Some(Acceleration::Months(3)) },
    )]));
    let last = t.tranches.last().expect("tranche");
    assert_eq!((last.date, units(last.amount), last.reason.as_str()), (date(2026, 6, 20), 300, "acceleration"));
    assert_eq!(units(t.forfeitures[0].amount), 2800);
    check_sums(&t);
}

#[test]
fn termination_before_the_cliff_with_acceleration_reaches_past_it() {
    // Last day 2025-11-10 + 6 months = 2026-05-10: cliff 1,200 + Feb, Mar, Apr = 1,500.
    let t = tl(&with(vec![(
        date(2025, 11, 10),
        EventKind::Termination { cause: TerminationCause::WithoutCause, acceleration: Some(Acceleration::Months(6)) },
    )]));
    assert_eq!(t.tranches.len(), 1);
    assert_eq!((t.tranches[0].date, units(t.tranches[0].amount)), (date(2025, 11, 10), 1500));
    assert_eq!(units(t.forfeitures[0].amount), 3300);
}

#[test]
fn termination_with_percent_acceleration() {
    // 50% of the 3,100 unvested.
    let t = tl(&with(vec![(
        date(2026, 6, 20),
        EventKind::Termination {
            cause: TerminationCause::WithoutCause,
            acceleration: Some(Acceleration::Percent { bps: 5000 }),
        },
    )]));
    assert_eq!(units(t.tranches.last().expect("tranche").amount), 1550);
    assert_eq!(units(t.forfeitures[0].amount), 1550);
}

#[test]
fn future_termination_keeps_vesting_until_its_date() {
    let g = with(vec![(
        date(2027, 1, 31),
        EventKind::Termination { cause: TerminationCause::Voluntary, acceleration: None },
    )]);
    let t = tl(&g);
    // Through 2027-01-15: 1,200 + 12 × 100.
    assert_eq!(units(t.tranches.last().expect("tranche").cumulative), 2400);
    let p = t.position(date(2026, 11, 25));
    assert_eq!((units(p.vested), units(p.forfeited)), (2200, 0));
}

#[test]
fn single_trigger_change_of_control() {
    // On 2027-01-15, after that day's vest, 2,400 vested and 2,400 unvested: 50% (1,200) vests now,
    // and the 24 remaining installments shrink pro rata from 100 to 50.
    let t = tl(&with(vec![(date(2027, 1, 15), EventKind::ChangeOfControl { trigger: Trigger::Single { bps: 5000 } })]));
    let on_day: Vec<_> = t.tranches.iter().filter(|x| x.date == date(2027, 1, 15)).collect();
    assert_eq!(on_day.len(), 2);
    assert_eq!((units(on_day[0].amount), on_day[0].reason.as_str()), (100, "vest"));
    assert_eq!((units(on_day[1].amount), on_day[1].reason.as_str()), (1200, "acceleration"));
    let after: Vec<u128> = t.tranches.iter().filter(|x| x.date > date(2027, 1, 15)).map(|x| units(x.amount)).collect();
    assert_eq!(after, vec![50; 24]);
    check_sums(&t);
}

#[test]
fn double_trigger_needs_a_qualifying_termination_inside_the_window() {
    let coc =
        (date(2027, 1, 1), EventKind::ChangeOfControl { trigger: Trigger::Double { bps: 10_000, window_months: 12 } });
    // Without cause on 2027-03-10: vested 1,200 + 13 × 100 = 2,500; the other 2,300 accelerate.
    let t = tl(&with(vec![
        coc.clone(),
        (date(2027, 3, 10), EventKind::Termination { cause: TerminationCause::WithoutCause, acceleration: None }),
    ]));
    assert_eq!(units(t.tranches.last().expect("tranche").amount), 2300);
    assert!(t.forfeitures.is_empty());
    // Resigning in the window does not trigger it.
    let t = tl(&with(vec![
        coc.clone(),
        (date(2027, 3, 10), EventKind::Termination { cause: TerminationCause::Voluntary, acceleration: None }),
    ]));
    assert_eq!(units(t.forfeitures[0].amount), 2300);
    // Nor does a qualifying termination after the window closes (2028-01-01).
    let t = tl(&with(vec![
        coc,
        (date(2028, 1, 20), EventKind::Termination { cause: TerminationCause::WithoutCause, acceleration: None }),
    ]));
    // 1,200 + Feb 2026..Jan 2028 (24) = 3,600 vested.
    assert_eq!(units(t.forfeitures[0].amount), 1200);
}

#[test]
fn revocation_forfeits_with_its_reason() {
    let t = tl(&with(vec![(date(2026, 6, 20), EventKind::Revocation)]));
    assert_eq!(t.forfeitures[0].reason, ForfeitReason::Revocation);
    assert_eq!(units(t.forfeitures[0].amount), 3100);
}

#[test]
fn amendment_of_the_amount_rescales_what_remains() {
    // From 2026-06-20, 6,000 in all: 1,700 vested stays; the 3,100 remaining become 4,300,
    // each later cumulative scaled by 43/31: the next step is floor(100 × 4300 / 3100) = 138.
    let t = tl(&with(vec![(
        date(2026, 6, 20),
        EventKind::Amendment { amount: Some(TokenAmount::from_base_units(6000)), schedule: None },
    )]));
    assert_eq!(units(t.granted), 6000);
    let next = t.tranches.iter().find(|x| x.date > date(2026, 6, 20)).expect("tranche");
    assert_eq!((next.date, units(next.amount)), (date(2026, 7, 15), 138));
    assert_eq!(t.tranches.last().map(|x| (x.date, units(x.cumulative))), Some((date(2029, 1, 15), 6000)));
    check_sums(&t);
}

#[test]
fn amendment_with_a_new_schedule_keeps_vested_to_date() {
    // From 2026-06-20 the remaining 3,100 vest monthly over 12 months from that day:
    // floor(3100 × k / 12): 258, 516, 775 … → steps 258, 258, 259, …
    let new = Schedule::Calendar(
        Calendar::new(
            date(2026, 6, 20),
            Period::Months(1),
            12,
            0,
            DayOfMonth::VestingStartDayOrLast,
            Allocation::CumulativeRoundDown,
        )
        .expect("valid"),
    );
    let t = tl(&with(vec![(date(2026, 6, 20), EventKind::Amendment { amount: None, schedule: Some(new) })]));
    let after: Vec<(Date, u128)> =
        t.tranches.iter().filter(|x| x.date > date(2026, 6, 20)).map(|x| (x.date, units(x.amount))).collect();
    assert_eq!(after.len(), 12);
    assert_eq!(after[0], (date(2026, 7, 20), 258));
    assert_eq!(after[1], (date(2026, 8, 20), 258));
    assert_eq!(after[2], (date(2026, 9, 20), 259));
    assert_eq!(after[11].0, date(2027, 6, 20));
    assert_eq!(units(t.granted), 4800);
    check_sums(&t);
}

#[test]
fn amendment_below_vested_is_refused() {
    let g = with(vec![(
        date(2026, 6, 20),
        EventKind::Amendment { amount: Some(TokenAmount::from_base_units(1000)), schedule: None },
    )]);
    assert!(matches!(g.timeline(&TimeZone::UTC, None), Err(GrantError::AmendmentBelowVested { .. })));
}

#[test]
fn milestone_pulls_the_schedule_forward() {
    // On 2026-03-01, 13 installments have passed (1,300); six more count as passed: 1,900, so
    // 600 vest on the milestone's day. The schedule then ends six months early, on 2028-07-15.
    let t = tl(&with(vec![(
        date(2026, 3, 1),
        EventKind::Milestone { effect: MilestoneEffect::PullForward { periods: 6 } },
    )]));
    let m = t.tranches.iter().find(|x| x.date == date(2026, 3, 1)).expect("milestone tranche");
    assert_eq!((units(m.amount), m.reason.as_str()), (600, "milestone"));
    assert_eq!(t.tranches.last().map(|x| (x.date, units(x.cumulative))), Some((date(2028, 7, 15), 4800)));
    check_sums(&t);
}

#[test]
fn milestone_scales_a_performance_tranche_within_its_cap() {
    let mut g = with(vec![(
        date(2026, 5, 1),
        EventKind::Milestone { effect: MilestoneEffect::Scale { tranche: "mmlu".into(), bps: 15_000 } },
    )]);
    g.performance =
        vec![PerformanceTranche { id: "mmlu".into(), target: TokenAmount::from_base_units(1000), cap_bps: 20_000 }];
    let t = tl(&g);
    let m = t.tranches.iter().find(|x| x.date == date(2026, 5, 1)).expect("milestone tranche");
    assert_eq!((units(m.amount), m.reason.as_str()), (1500, "milestone"));
    assert_eq!(units(t.granted), 6300);
    check_sums(&t);
    // Above the cap is refused.
    g.events[0].kind = EventKind::Milestone { effect: MilestoneEffect::Scale { tranche: "mmlu".into(), bps: 20_001 } };
    assert!(matches!(g.timeline(&TimeZone::UTC, None), Err(GrantError::AboveCap { .. })));
}

#[test]
fn unresolved_performance_tranche_is_forfeited_at_termination() {
    let mut g = with(vec![
        (date(2026, 2, 1), EventKind::Milestone { effect: MilestoneEffect::Unlock { tranche: "paper".into() } }),
        (date(2026, 6, 20), EventKind::Termination { cause: TerminationCause::Voluntary, acceleration: None }),
    ]);
    g.performance = vec![
        PerformanceTranche { id: "paper".into(), target: TokenAmount::from_base_units(500), cap_bps: 10_000 },
        PerformanceTranche { id: "mmlu".into(), target: TokenAmount::from_base_units(1000), cap_bps: 20_000 },
    ];
    let t = tl(&g);
    // 1,700 time-vested + 500 unlocked; 3,100 + 1,000 forfeited.
    assert_eq!(units(t.tranches.last().expect("tranche").cumulative), 2200);
    assert_eq!(units(t.forfeitures[0].amount), 4100);
    assert_eq!(units(t.granted), 6300);
    check_sums(&t);
}

#[test]
fn events_after_the_end_are_refused() {
    let g = with(vec![
        (date(2026, 6, 20), EventKind::Revocation),
        (date(2026, 7, 1), EventKind::Leave { until: date(2026, 8, 1) }),
    ]);
    assert!(matches!(g.timeline(&TimeZone::UTC, None), Err(GrantError::AfterEnd { .. })));
}

#[test]
fn leave_then_termination_during_leave() {
    // Leave from 2026-03-01 to 2026-06-01; terminated 2026-04-10 while on leave: vesting froze
    // at 1,300 (cliff + Feb).
    let t = tl(&with(vec![
        (date(2026, 3, 1), EventKind::Leave { until: date(2026, 6, 1) }),
        (date(2026, 4, 10), EventKind::Termination { cause: TerminationCause::Voluntary, acceleration: None }),
    ]));
    assert_eq!(units(t.tranches.last().expect("tranche").cumulative), 1300);
    assert_eq!(units(t.forfeitures[0].amount), 3500);
}

/// A one-unit per-second OpenZeppelin stream: the unit vests at `end` exactly, so a table
/// that samples the wrong day loses it.
fn one_unit_stream(start: i64, end: i64) -> Grant {
    let linear = Linear::new(start, None, end, 1, LinearModel::OpenZeppelin).expect("valid schedule");
    grant(1, Schedule::Linear(linear))
}

/// (vested on the day before, vested on the day) from timelines checked against direct
/// evaluation at each of those days.
fn vested_around(g: &Grant, tz: &TimeZone, day: Date) -> (u128, u128) {
    let before = day.yesterday().expect("in range");
    let at = |d: Date| units(g.timeline(tz, Some(d)).expect("timeline").position(d).vested);
    (at(before), at(day))
}

#[test]
fn leave_across_a_dst_change_moves_a_linear_step_to_the_next_local_day() {
    // Found by props::any_event_sequence_accounts_for_every_unit (Europe/London). The stream
    // ends 2001-04-17T22:00:00Z = 23:00 BST. Leave 2000-09-15 (BST) to 2000-10-30 (GMT): the
    // pause is start(10-30) - start(09-15) = 45 days + 1 hour (clocks went back on 10-29) =
    // 3,891,600 s, so the end moves to 23:00 BST + 45 days + 1 hour = 2001-06-02 00:00 BST.
    // The table used to move the end's day by 45 days (to 06-01), never sampled 06-02 and lost
    // the unit: "tranches and forfeitures do not add up to the grant".
    let tz = TimeZone::get("Europe/London").expect("tz");
    let mut g = one_unit_stream(957_449_147, 987_544_800);
    g.events = vec![GrantEvent {
        id: "leave".into(),
        date: date(2000, 9, 15),
        kind: EventKind::Leave { until: date(2000, 10, 30) },
    }];
    let t = g.timeline(&tz, None).expect("timeline");
    check_sums(&t);
    assert_eq!(t.tranches.iter().map(|x| (x.date, units(x.amount))).collect::<Vec<_>>(), [(date(2001, 6, 2), 1)]);
    assert_eq!(vested_around(&g, &tz, date(2001, 6, 2)), (0, 1));
}

#[test]
fn leave_starting_on_the_day_of_a_linear_step_moves_that_step() {
    // The colleague's shrunk case: the stream 2000-03-02T00:00:00Z to 2000-12-20T00:00:01Z
    // vests its one unit at 00:00:01 on 12-20. A one-day leave from 12-20 pauses vesting from
    // 00:00:00 that day, one second before the step, so the unit vests 86,400 s later, at
    // 2000-12-21T00:00:01. The table used to move only steps dated after the leave's first day,
    // kept 12-20 (where the frozen value is still 0) and lost the unit.
    let tz = TimeZone::UTC;
    let mut g = one_unit_stream(951_955_200, 977_270_401);
    g.events = vec![GrantEvent {
        id: "leave".into(),
        date: date(2000, 12, 20),
        kind: EventKind::Leave { until: date(2000, 12, 21) },
    }];
    let t = g.timeline(&tz, None).expect("timeline");
    check_sums(&t);
    assert_eq!(t.tranches.iter().map(|x| (x.date, units(x.amount))).collect::<Vec<_>>(), [(date(2000, 12, 21), 1)]);
    assert_eq!(vested_around(&g, &tz, date(2000, 12, 21)), (0, 1));
    // A step exactly at the leave's first instant has vested before the pause: it stays.
    let mut g = one_unit_stream(951_955_200, 977_270_400);
    g.events = vec![GrantEvent {
        id: "leave".into(),
        date: date(2000, 12, 20),
        kind: EventKind::Leave { until: date(2000, 12, 21) },
    }];
    let t = g.timeline(&tz, None).expect("timeline");
    assert_eq!(t.tranches.iter().map(|x| (x.date, units(x.amount))).collect::<Vec<_>>(), [(date(2000, 12, 20), 1)]);
    assert_eq!(vested_around(&g, &tz, date(2000, 12, 20)), (0, 1));
}

#[test]
fn pull_forward_moves_a_stepped_linear_step_to_its_own_day() {
    // A stream 2000-01-01T00:00Z to 2000-01-21T00:00Z in 2-day granules (10 of them): its one
    // unit vests at the end. A milestone on 01-10 pulls it one granule forward, so from 01-10
    // the stream reads 172,800 s ahead and the unit vests at 2000-01-19T00:00Z. The table used
    // to keep the step on the end's day (01-21), two days after it had vested.
    let tz = TimeZone::UTC;
    let linear = Linear::new(946_684_800, None, 948_412_800, 172_800, LinearModel::OpenZeppelin).expect("valid");
    let mut g = grant(1, Schedule::Linear(linear));
    g.events = vec![GrantEvent {
        id: "m".into(),
        date: date(2000, 1, 10),
        kind: EventKind::Milestone { effect: MilestoneEffect::PullForward { periods: 1 } },
    }];
    let t = g.timeline(&tz, None).expect("timeline");
    check_sums(&t);
    assert_eq!(t.tranches.iter().map(|x| (x.date, units(x.amount))).collect::<Vec<_>>(), [(date(2000, 1, 19), 1)]);
    assert_eq!(vested_around(&g, &tz, date(2000, 1, 19)), (0, 1));
}

#[test]
fn timeline_as_of_the_start_date_of_a_linear_schedule_without_a_cliff() {
    // Found by crates/evm's stateful test. A stream of 86,400 units over 86,400 s from
    // 2000-01-01T12:00:00Z (no cliff) vests one unit a second: at the end of 2000-01-01 (UTC),
    // its last second 23:59:59, 43,199 have vested; the other 43,201 by the end on 01-02. The table starts at the start's day but only added `as_of` as a row
    // strictly after it, so asked about 2000-01-01 its first row was 2000-01-02 (the end),
    // `position` said 0, and the self-check refused: "the vesting table disagrees with direct
    // evaluation".
    let tz = TimeZone::UTC;
    let linear = Linear::new(946_728_000, None, 946_814_400, 1, LinearModel::OpenZeppelin).expect("valid schedule");
    let g = grant(86_400, Schedule::Linear(linear));
    let t = g.timeline(&tz, Some(date(2000, 1, 1))).expect("timeline as of the start date");
    check_sums(&t);
    assert_eq!(units(t.position(date(2000, 1, 1)).vested), 43_199);
    assert_eq!(
        t.tranches.iter().map(|x| (x.date, units(x.amount))).collect::<Vec<_>>(),
        [(date(2000, 1, 1), 43_199), (date(2000, 1, 2), 43_201)]
    );
    // The day before the start: nothing, and no row.
    let t = g.timeline(&tz, Some(date(1999, 12, 31))).expect("timeline before the start");
    assert_eq!(units(t.position(date(1999, 12, 31)).vested), 0);
}

/// Issue 15, item 1: a revocation recorded later with a date before a milestone ends the grant
/// first; the milestone then counts for nothing (as on the chain, where a revocation dated before
/// a milestone's application leaves it out), instead of making the grant's whole history an
/// error. A milestone met on the revocation's own day counts: the revocation takes effect at the
/// day's end.
#[test]
fn a_milestone_after_a_revocation_counts_for_nothing_and_one_on_its_day_counts() {
    let pull = || EventKind::Milestone { effect: MilestoneEffect::PullForward { periods: 2 } };
    // Vested by the end of 2026-06-10: the cliff (1,200) and four months (the 15th, Feb–May).
    let t = tl(&with(vec![(date(2026, 6, 20), pull()), (date(2026, 6, 10), EventKind::Revocation)]));
    assert_eq!(units(t.tranches.last().expect("tranche").cumulative), 1600);
    assert_eq!(units(t.forfeitures[0].amount), 3200);
    check_sums(&t);
    // The same revocation given first, with the milestone on its day: two more months vest.
    let g = with(vec![(date(2026, 6, 10), EventKind::Revocation), (date(2026, 6, 10), pull())]);
    let t = tl(&g);
    assert_eq!(units(t.tranches.last().expect("tranche").cumulative), 1800);
    assert_eq!(units(t.forfeitures[0].amount), 3000);
    check_sums(&t);
    // Recording a new milestone after the end is refused (it would record nothing); on the day,
    // accepted.
    let g = with(vec![(date(2026, 6, 10), EventKind::Revocation)]);
    let late = GrantEvent { id: "late".into(), date: date(2026, 6, 11), kind: pull() };
    assert!(matches!(g.check_new_event(&late), Err(GrantError::AfterEnd { ended_by, .. }) if ended_by == "e0"));
    let same = GrantEvent { id: "same".into(), date: date(2026, 6, 10), kind: pull() };
    assert!(g.check_new_event(&same).is_ok());
}
