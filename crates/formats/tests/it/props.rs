//! Property tests of the canonical form: any grant the engine accepts, with any events and
//! policy keys, reads back from the canonical TOML the ledger stores as the same grant.

use jiff::ToSpan;
use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use proptest::prelude::*;
use tokencomp_core::{EventKind, GrantEvent, PerformanceTranche};
use tokencomp_money::TokenAmount;

use crate::strategies::*;

/// A grant's policy keys for a grant dated `grant_date`, in any combination the company file
/// accepts: restricted token units settle on or after the grant; an §83(b) election needs a
/// transfer at grant and falls within 30 days of it.
fn any_grant_policy(grant_date: Date) -> impl Strategy<Value = tokencomp_core::model::GrantPolicy> {
    use tokencomp_core::model::{AttributionPolicy, ClassificationPolicy, GrantPolicy, WithholdingMethod};
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
        use tokencomp_formats::canonical::{read_grant, write_event, write_terms};
        use tokencomp_core::model::{GrantSize, GrantTerms};
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
