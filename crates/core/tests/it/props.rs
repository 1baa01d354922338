//! Property tests: the invariants every schedule and every event sequence must keep, and a
//! differential check of the fast calendar path against a plain jiff-based reference.

use jiff::ToSpan;
use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use proptest::prelude::*;
use tokencomp_core::calendar::{self, end_of_day};
use tokencomp_core::schedule::{Allocation, At, Calendar, Custom, DayOfMonth, Linear, LinearModel, Period, Schedule};
use tokencomp_core::{
    Acceleration, EventKind, Grant, GrantError, GrantEvent, MilestoneEffect, PerformanceTranche, TerminationCause,
    Trigger,
};
use tokencomp_money::TokenAmount;

fn any_date() -> impl Strategy<Value = Date> {
    (0i64..12_000).prop_map(|d| date(2000, 1, 1).checked_add(d.days()).expect("in range"))
}

fn any_rule() -> impl Strategy<Value = DayOfMonth> {
    prop_oneof![
        (1u8..=28).prop_map(DayOfMonth::Day),
        (29u8..=31).prop_map(DayOfMonth::OrLast),
        Just(DayOfMonth::VestingStartDayOrLast),
    ]
}

fn any_allocation() -> impl Strategy<Value = Allocation> {
    proptest::sample::select(Allocation::ALL.to_vec())
}

fn any_total() -> impl Strategy<Value = u128> {
    prop_oneof![1u128..10_000, 1u128..10u128.pow(27), (u128::MAX - 1_000_000)..=u128::MAX, any::<u128>()]
}

fn any_calendar() -> impl Strategy<Value = Schedule> {
    (any_date(), prop_oneof![(1u32..=12).prop_map(Period::Months), (1u32..=90).prop_map(Period::Days)], 1u32..=60)
        .prop_flat_map(|(start, period, n)| (Just(start), Just(period), Just(n), 0..=n, any_rule(), any_allocation()))
        .prop_map(|(start, period, n, cliff, rule, alloc)| {
            Schedule::Calendar(Calendar::new(start, period, n, cliff, rule, alloc).expect("valid"))
        })
}

fn any_custom() -> impl Strategy<Value = Schedule> {
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

fn any_linear() -> impl Strategy<Value = Schedule> {
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

fn any_schedule() -> impl Strategy<Value = Schedule> {
    prop_oneof![any_calendar(), any_custom(), any_linear()]
}

fn grant(total: u128, schedule: Schedule) -> Grant {
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
fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    ProptestConfig { cases, max_global_rejects: cases.saturating_mul(2).max(1024), ..ProptestConfig::default() }
}

fn at(d: Date, tz: &TimeZone) -> At {
    At::new(calendar::to_day(d), end_of_day(d, tz).expect("in range"))
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn tranches_sum_to_the_grant_and_cumulative_is_monotone(s in any_schedule(), total in any_total()) {
        // Sablier unlock amounts must fit in the grant.
        prop_assume!(s.check_total(total).is_ok());
        let g = grant(total, s.clone());
        let t = g.timeline(&TimeZone::UTC, None).expect("timeline");
        let sum = t.tranches.iter().try_fold(0u128, |a, x| a.checked_add(x.amount.base_units()));
        prop_assert_eq!(sum, Some(total));
        prop_assert!(t.tranches.windows(2).all(|w| w[0].date <= w[1].date && w[0].cumulative < w[1].cumulative));
        // The table agrees with direct evaluation at each tranche's date.
        for x in &t.tranches {
            prop_assert_eq!(s.vested(total, &at(x.date, &TimeZone::UTC)), x.cumulative.base_units());
        }
    }

    #[test]
    fn direct_evaluation_is_monotone_zero_before_and_total_after(s in any_schedule(), total in any_total(), days in proptest::collection::vec(0i64..14_000, 2..40)) {
        prop_assume!(s.check_total(total).is_ok());
        let tz = TimeZone::UTC;
        let mut days = days;
        days.sort_unstable();
        let mut prev = 0u128;
        for d in days {
            let v = s.vested(total, &at(date(2000, 1, 1).checked_add(d.days()).expect("in range"), &tz));
            prop_assert!(v >= prev && v <= total);
            prev = v;
        }
        prop_assert_eq!(s.vested(total, &at(date(2199, 1, 1), &tz)), total);
        prop_assert_eq!(s.vested(total, &at(date(1999, 12, 31), &tz)), 0);
    }

    #[test]
    fn nothing_vests_before_the_cliff(s in any_calendar(), total in 1u128..) {
        let Schedule::Calendar(c) = &s else { unreachable!() };
        prop_assume!(c.cliff() >= 1);
        let cliff_day = c.installment_date(c.cliff());
        let before = cliff_day.yesterday().expect("in range");
        prop_assert_eq!(s.vested(total, &at(before, &TimeZone::UTC)), 0);
        prop_assert!(s.vested(total, &at(cliff_day, &TimeZone::UTC)) > 0 || c.allocation().cumulative(total, c.cliff(), c.occurrences()) == 0);
    }

    /// The hot path counts elapsed installments from month indexes; the reference adds months
    /// with jiff (which clamps to month end) and compares dates.
    #[test]
    fn calendar_fast_path_matches_a_jiff_reference(s in any_calendar(), probe in any_date()) {
        let Schedule::Calendar(c) = &s else { unreachable!() };
        let mut reference = 0u32;
        for k in 1..=c.occurrences() {
            let d = match c.period() {
                Period::Days(len) => c.start().checked_add((i64::from(k) * i64::from(len)).days()).expect("in range"),
                Period::Months(len) => {
                    let first = c.start().first_of_month().checked_add((i64::from(k) * i64::from(len)).months()).expect("in range");
                    let last = first.last_of_month().day();
                    let wanted = match c.day_of_month() {
                        DayOfMonth::Day(d) => i8::try_from(d).expect("day"),
                        DayOfMonth::OrLast(d) => i8::try_from(d).expect("day").min(last),
                        DayOfMonth::VestingStartDayOrLast => c.start().day().min(last),
                    };
                    first.with().day(wanted).build().expect("valid")
                }
            };
            prop_assert_eq!(c.installment_date(k), d);
            if d <= probe {
                reference = k;
            }
        }
        prop_assert_eq!(c.elapsed(&at(probe, &TimeZone::UTC)), reference);
    }

    #[test]
    fn any_event_sequence_accounts_for_every_unit(
        s in any_schedule(),
        total in any_total(),
        kinds in proptest::collection::vec(any_event_kind(), 0..6),
        gaps in proptest::collection::vec(0i64..500, 6),
        as_of in any_date(),
    ) {
        let mut g = grant(total, s.clone());
        g.performance = vec![PerformanceTranche { id: "p".into(), target: TokenAmount::from_base_units(total / 7), cap_bps: 20_000 }];
        prop_assume!(s.check_total(total).is_ok());
        let mut d = match &s {
            Schedule::Calendar(c) => c.start(),
            Schedule::Custom(c) => c.tranches().next().expect("non-empty").0,
            Schedule::Linear(l) => calendar::date_of(l.start(), &TimeZone::UTC).expect("in range"),
        };
        for (i, kind) in kinds.into_iter().enumerate() {
            d = d.checked_add(gaps[i].days()).expect("in range");
            let kind = match kind {
                EventKind::Leave { .. } => EventKind::Leave { until: d.checked_add((1 + gaps[i] % 90).days()).expect("in range") },
                other => other,
            };
            g.events.push(GrantEvent { id: format!("e{i}"), date: d, kind });
        }
        match g.timeline(&TimeZone::get("Europe/London").expect("tz"), Some(as_of)) {
            Ok(t) => {
                let p = t.position(as_of);
                prop_assert_eq!(p.vested.base_units() + p.unvested.base_units() + p.forfeited.base_units(), t.granted.base_units());
                let vested: u128 = t.tranches.iter().map(|x| x.amount.base_units()).sum();
                let forfeited: u128 = t.forfeitures.iter().map(|x| x.amount.base_units()).sum();
                prop_assert!(vested + forfeited <= t.granted.base_units());
                prop_assert!(t.tranches.windows(2).all(|w| w[0].date <= w[1].date && w[0].cumulative < w[1].cumulative));
                let later = t.position(as_of.checked_add(400.days()).expect("in range"));
                prop_assert!(later.vested >= p.vested && later.forfeited >= p.forfeited);
            }
            // Refusals are only ever the documented validation errors, never an internal one.
            Err(e) => prop_assert!(
                matches!(e, GrantError::AfterEnd { .. } | GrantError::LeaveOverlap { .. } | GrantError::AmendmentBelowVested { .. }
                    | GrantError::TrancheResolved { .. } | GrantError::RescaleNothing { .. } | GrantError::Overflow | GrantError::NotPeriodic { .. }),
                "unexpected refusal: {e}"
            ),
        }
    }

    /// Issue 15 item 20: with performance tranches some of which no milestone settles, the
    /// timeline still reconciles: tranches + forfeitures + pending = granted exactly, and
    /// vested + unvested + forfeited = granted at any date. Pending is the unsettled,
    /// unforfeited targets, so a settled or forfeited tranche is never counted twice.
    #[test]
    fn pending_performance_targets_close_the_reconciliation(
        s in any_schedule(),
        total in 1u128..u128::MAX / 8,
        targets in proptest::collection::vec((1u128..u128::MAX / 64, 0u32..=20_000), 1..4),
        settle in proptest::collection::vec(proptest::option::of((0i64..900, 0u32..=20_000, any::<bool>())), 4),
        end in proptest::option::of((0i64..1500, any::<bool>())),
        as_of in any_date(),
    ) {
        prop_assume!(s.check_total(total).is_ok());
        let mut g = grant(total, s.clone());
        let start = match &s {
            Schedule::Calendar(c) => c.start(),
            Schedule::Custom(c) => c.tranches().next().expect("non-empty").0,
            Schedule::Linear(l) => calendar::date_of(l.start(), &TimeZone::UTC).expect("in range"),
        };
        for (i, (target, cap)) in targets.iter().enumerate() {
            let id = format!("p{i}");
            g.performance.push(PerformanceTranche { id: id.clone(), target: TokenAmount::from_base_units(*target), cap_bps: *cap });
            if let Some((days, bps, unlock)) = settle[i] {
                let effect = if unlock {
                    MilestoneEffect::Unlock { tranche: id }
                } else {
                    MilestoneEffect::Scale { tranche: id, bps: bps.min(*cap) }
                };
                let date = start.checked_add(days.days()).expect("in range");
                g.events.push(GrantEvent { id: format!("m{i}"), date, kind: EventKind::Milestone { effect } });
            }
        }
        if let Some((days, revoke)) = end {
            let date = start.checked_add(days.days()).expect("in range");
            let kind = if revoke {
                EventKind::Revocation
            } else {
                EventKind::Termination { cause: TerminationCause::Voluntary, acceleration: None }
            };
            g.events.push(GrantEvent { id: "end".into(), date, kind });
        }
        match g.timeline(&TimeZone::UTC, Some(as_of)) {
            Ok(t) => {
                let vested = t.tranches.iter().try_fold(0u128, |a, x| a.checked_add(x.amount.base_units()));
                let forfeited = t.forfeitures.iter().try_fold(0u128, |a, x| a.checked_add(x.amount.base_units()));
                let whole = vested.zip(forfeited).and_then(|(v, f)| v.checked_add(f)?.checked_add(t.pending.base_units()));
                prop_assert_eq!(whole, Some(t.granted.base_units()));
                // Pending is exactly the targets no milestone settled and no end forfeited.
                // (An Ok timeline has no milestone after the end: a settled tranche is resolved,
                // an unsettled one is forfeited by the end when there is one.)
                let open: u128 = targets
                    .iter()
                    .zip(&settle)
                    .filter(|(_, m)| m.is_none() && end.is_none())
                    .map(|(t, _)| t.0)
                    .sum();
                prop_assert_eq!(t.pending.base_units(), open);
                for d in [as_of, as_of.checked_add(3000.days()).unwrap_or(as_of)] {
                    let p = t.position(d);
                    prop_assert_eq!(
                        p.vested.base_units().checked_add(p.unvested.base_units()).and_then(|x| x.checked_add(p.forfeited.base_units())),
                        Some(t.granted.base_units())
                    );
                }
            }
            Err(e) => prop_assert!(
                matches!(e, GrantError::AfterEnd { .. } | GrantError::Overflow),
                "unexpected refusal: {e}"
            ),
        }
    }

    /// A leave pauses a linear stream from the first instant of its first local day to the
    /// first instant of its last, so every step after that instant moves by the pause in
    /// seconds (not whole days when a DST change falls inside); a pull forward moves it earlier
    /// by whole granules. Leaves start on or just before a step's day, in zones with and
    /// without DST; with one unit the step's day is checked exactly. Regression:
    /// lifecycle::leave_across_a_dst_change_moves_a_linear_step_to_the_next_local_day.
    #[test]
    fn leaves_and_pulls_move_every_linear_step_into_the_table(
        s in any_linear(),
        total in prop_oneof![Just(1u128), 1u128..1000],
        zone in proptest::sample::select(vec!["UTC", "Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]),
        step in 0usize..3,
        back in 0i64..3,
        lengths in (1i64..200, proptest::option::of((0i64..100, 1i64..200))),
        pull in proptest::option::of((-60i64..60, 1u32..12)),
    ) {
        let Schedule::Linear(l) = &s else { unreachable!() };
        // Sablier unlock amounts must fit in the grant: raise the total rather than reject.
        let total = match l.model() {
            LinearModel::Sablier { start_unlock, cliff_unlock } => total.max(start_unlock + cliff_unlock),
            LinearModel::OpenZeppelin => total,
        };
        let tz = TimeZone::get(zone).expect("tz");
        let steps = [Some(l.end()), l.cliff(), Some(l.start())];
        let t = steps[step].or(steps[0]).expect("end");
        let from = calendar::date_of(t, &tz).expect("in range").checked_sub(back.days()).expect("in range");
        let until = from.checked_add(lengths.0.days()).expect("in range");
        let mut g = grant(total, s.clone());
        g.events.push(GrantEvent { id: "l1".into(), date: from, kind: EventKind::Leave { until } });
        if let Some((gap, len)) = lengths.1 {
            let from = until.checked_add(gap.days()).expect("in range");
            let until = from.checked_add(len.days()).expect("in range");
            g.events.push(GrantEvent { id: "l2".into(), date: from, kind: EventKind::Leave { until } });
        }
        // Pulling forward needs granules (a per-second stream has no periods).
        if let Some((offset, periods)) = pull.filter(|_| l.granularity() > 1) {
            let date = from.checked_add(offset.days()).expect("in range");
            let effect = MilestoneEffect::PullForward { periods };
            g.events.push(GrantEvent { id: "m".into(), date, kind: EventKind::Milestone { effect } });
        }
        let timeline = g.timeline(&tz, None);
        prop_assert!(timeline.is_ok(), "refused: {:?}", timeline);
        let timeline = timeline.expect("checked");
        let sum = timeline.tranches.iter().try_fold(0u128, |a, x| a.checked_add(x.amount.base_units()));
        prop_assert_eq!(sum, Some(total));
        // The table agrees with direct evaluation (the engine's check at `as_of`) on each
        // tranche's day (a milestone's day has two tranches: compare the day's position); with one
        // unit, also that nothing has vested the day before.
        let vested_on = |d: Date| g.timeline(&tz, Some(d)).map(|t| t.position(d).vested.base_units());
        for x in &timeline.tranches {
            prop_assert_eq!(vested_on(x.date), Ok(timeline.position(x.date).vested.base_units()));
            if total == 1 {
                prop_assert_eq!(vested_on(x.date.yesterday().expect("in range")), Ok(0));
            }
        }
    }
}

fn any_event_kind() -> impl Strategy<Value = EventKind> {
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

/// A grant's policy keys for a grant dated `grant_date`, in any combination the company file
/// accepts: restricted token units settle on or after the grant; an §83(b) election needs a
/// transfer at grant and falls within 30 days of it.
fn any_grant_policy(grant_date: Date) -> impl Strategy<Value = tokencomp_core::company::GrantPolicy> {
    use tokencomp_core::company::{AttributionPolicy, ClassificationPolicy, GrantPolicy, WithholdingMethod};
    let delivery = prop_oneof![
        Just((None, false, None)),
        (0i64..3000).prop_map(move |d| (Some(grant_date.checked_add(d.days()).expect("in range")), false, None)),
        proptest::option::of(0i64..=30).prop_map(move |e| (
            None,
            true,
            e.map(|d| grant_date.checked_add(d.days()).expect("in range"))
        )),
    ];
    (
        proptest::option::of(proptest::sample::select(WithholdingMethod::ALL.to_vec())),
        proptest::option::of((0i128..10i128.pow(15), 0u32..=6)),
        delivery,
        proptest::option::of(proptest::sample::select(AttributionPolicy::ALL.to_vec())),
        proptest::option::of(proptest::sample::select(ClassificationPolicy::ALL.to_vec())),
    )
        .prop_map(
            |(
                withholding,
                floor,
                (settlement_date, transferred_at_grant, election_83b),
                attribution,
                classification,
            )| {
                GrantPolicy {
                    withholding,
                    floor: floor.map(|(m, scale)| tokencomp_money::Decimal::from_i128_with_scale(m, scale)),
                    settlement_date,
                    transferred_at_grant,
                    election_83b,
                    attribution,
                    classification,
                }
            },
        )
}

proptest! {
    #![proptest_config(config(256))]

    /// The ledger stores grants as canonical TOML: reading it back gives the same grant.
    #[test]
    fn canonical_toml_round_trips(
        s in any_schedule(),
        total in 1u128..10u128.pow(30),
        kinds in proptest::collection::vec(any_event_kind(), 0..4),
        gaps in proptest::collection::vec(1i64..400, 4),
        policy in any_grant_policy(date(2000, 6, 1)),
    ) {
        use tokencomp_core::canonical::{read_grant, write_event, write_terms};
        use tokencomp_core::company::{GrantSize, GrantTerms};
        prop_assume!(s.check_total(total).is_ok());
        let token = tokencomp_money::Token::new("NET", 18).expect("token");
        let tz = TimeZone::get("America/New_York").expect("tz");
        let mut g = grant(total, s.clone());
        g.id = "g \"quoted\" \\ id".into();
        g.performance = vec![PerformanceTranche { id: "p".into(), target: TokenAmount::from_base_units(total / 3 + 1), cap_bps: 17_550 }];
        let mut d = date(2001, 1, 1);
        for (i, kind) in kinds.into_iter().enumerate() {
            d = d.checked_add(gaps[i].days()).expect("in range");
            let kind = match kind {
                EventKind::Leave { .. } => EventKind::Leave { until: d.checked_add(gaps[i].days()).expect("in range") },
                other => other,
            };
            g.events.push(GrantEvent { id: format!("e{i}"), date: d, kind });
        }
        prop_assume!(g.timeline(&tz, None).is_ok());
        let terms = GrantTerms { grant: g.clone(), grant_date: date(2000, 6, 1), size: GrantSize::Tokens, policy };
        let events: Vec<String> = g.events.iter().map(|e| write_event(e, &token)).collect();
        let refs: Vec<&str> = events.iter().map(String::as_str).collect();
        let back = read_grant(&token, "America/New_York", &write_terms(&terms, &token), &refs);
        let back = back.map_err(|d| d.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"));
        prop_assert_eq!(back, Ok(terms));
    }
}
