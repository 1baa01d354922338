//! Fairness across hire cohorts: a small company worked by hand, and the Gini coefficient's
//! properties against a brute-force reference.

// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used)]

use std::str::FromStr;

use jiff::civil::{Date, date};
use proptest::prelude::*;
use tokencomp_core::fairness::{Cohort, CohortPeriod, FairnessError, GrantValue, Holder, Stats, fairness, gini, stats};
use tokencomp_money::{Decimal, Token};

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal literal")
}

fn net() -> Token {
    Token::new("NET", 18).expect("valid")
}

fn holder(id: &str, hired: Date, grants: &[(u128, &str)], held: u128) -> Holder {
    let net = net();
    Holder {
        id: id.into(),
        hired,
        grants: grants
            .iter()
            .map(|&(tokens, price)| GrantValue {
                date: hired,
                tokens: net.parse(&tokens.to_string()).unwrap(),
                price: d(price),
            })
            .collect(),
        held: net.parse(&held.to_string()).unwrap(),
    }
}

/// Five people, two quarters, today's price $0.10:
///
/// | who   | hired      | grants (tokens × $)           | at grant   | held   | today    |
/// |-------|------------|-------------------------------|------------|--------|----------|
/// | alice | 2024-01-15 | 10,000 × 1.00                 | 10,000.00  | 10,000 | 1,000.00 |
/// | bob   | 2024-02-01 | 20,000 × 0.50                 | 10,000.00  | 20,000 | 2,000.00 |
/// | carol | 2024-03-31 | 5,000 × 2.00 + 1,000 × 1.50   | 11,500.00  | 6,000  |   600.00 |
/// | dan   | 2024-04-01 | 40,000 × 0.25                 | 10,000.00  | 40,000 | 4,000.00 |
/// | erin  | 2024-06-30 | 10,000 × 0.333333333          | 3,333.33   | 5,000  |   500.00 |
///
/// (erin's 3,333.33333 rounds once to cents; half her grant was forfeited.)
///
/// Gini in the sorted form Σ(2i − n − 1)·x₍ᵢ₎ / (n·Σx):
/// - Q1 today 600, 1,000, 2,000: (−2·600 + 0 + 2·2,000) / (3·3,600) = 2,800 / 10,800 = 0.259259…
///   (pairwise: |Δ| = 400, 1,400, 1,000, twice each = 5,600, over 2·3²·1,200 = 21,600: the same);
/// - Q1 at grant 10,000, 10,000, 11,500: 3,000 / 94,500 = 0.031746…;
/// - Q2 today 500, 4,000: 3,500 / 9,000 = 0.388888… → 0.388889;
/// - Q2 at grant 3,333.33, 10,000: 6,666.67 / 26,666.66 = 0.25000019 → 0.250000;
/// - company today 500, 600, 1,000, 2,000, 4,000: (−4·500 − 2·600 + 0 + 2·2,000 + 4·4,000)
///   / (5·8,100) = 16,800 / 40,500 = 0.414814… → 0.414815.
///
/// Ratios to the cohort's median today (Q1 1,000.00; Q2 2,250.00): alice 1, bob 2, carol 0.6,
/// dan 4,000 / 2,250 = 1.7778, erin 500 / 2,250 = 0.2222.
#[test]
fn small_company_golden() {
    let people = [
        holder("alice", date(2024, 1, 15), &[(10_000, "1.00")], 10_000),
        holder("bob", date(2024, 2, 1), &[(20_000, "0.50")], 20_000),
        holder("carol", date(2024, 3, 31), &[(5_000, "2.00"), (1_000, "1.50")], 6_000),
        holder("dan", date(2024, 4, 1), &[(40_000, "0.25")], 40_000),
        holder("erin", date(2024, 6, 30), &[(10_000, "0.333333333")], 5_000),
    ];
    let f = fairness(&net(), &people, d("0.10"), CohortPeriod::Quarter, 2).unwrap();
    let values: Vec<(&str, String, Decimal, Decimal)> =
        f.people.iter().map(|p| (p.id.as_str(), p.cohort.to_string(), p.at_grant, p.today)).collect();
    assert_eq!(
        values,
        [
            ("alice", "2024-Q1".into(), d("10000.00"), d("1000.00")),
            ("bob", "2024-Q1".into(), d("10000.00"), d("2000.00")),
            ("carol", "2024-Q1".into(), d("11500.00"), d("600.00")),
            ("dan", "2024-Q2".into(), d("10000.00"), d("4000.00")),
            ("erin", "2024-Q2".into(), d("3333.33"), d("500.00")),
        ]
    );
    assert_eq!(f.cohorts.len(), 2);
    let q1 = &f.cohorts[0];
    assert_eq!(q1.cohort, Cohort { year: 2024, quarter: Some(1) });
    assert_eq!(
        q1.today,
        Stats {
            count: 3,
            total: d("3600"),
            mean: d("1200"),
            median: d("1000"),
            min: d("600"),
            max: d("2000"),
            max_min_ratio: Some(d("3.3333")),
            gini: d("0.259259"),
        }
    );
    assert_eq!((q1.at_grant.mean, q1.at_grant.median), (d("10500"), d("10000")));
    assert_eq!((q1.at_grant.max_min_ratio, q1.at_grant.gini), (Some(d("1.15")), d("0.031746")));
    let q2 = &f.cohorts[1];
    assert_eq!((q2.today.mean, q2.today.median, q2.today.gini), (d("2250"), d("2250"), d("0.388889")));
    assert_eq!(q2.today.max_min_ratio, Some(d("8")));
    // 13,333.33 / 2 = 6,666.665 → 6,666.67 (half away from zero, once).
    assert_eq!((q2.at_grant.mean, q2.at_grant.median), (d("6666.67"), d("6666.67")));
    // 10,000 / 3,333.33 = 3.0000030… → 3.0000.
    assert_eq!((q2.at_grant.max_min_ratio, q2.at_grant.gini), (Some(d("3")), d("0.25")));
    assert_eq!(f.company_today.gini, d("0.414815"));
    assert_eq!((f.company_today.median, f.company_today.max_min_ratio), (d("1000"), Some(d("8"))));

    let ranked = |v: &[tokencomp_core::fairness::PersonValue]| -> Vec<(String, Option<Decimal>)> {
        v.iter().map(|p| (p.id.clone(), p.to_median)).collect()
    };
    assert_eq!(ranked(&f.most_over), [("bob".into(), Some(d("2"))), ("dan".into(), Some(d("1.7778")))]);
    assert_eq!(ranked(&f.most_under), [("erin".into(), Some(d("0.2222"))), ("carol".into(), Some(d("0.6")))]);

    // By year, everyone is one cohort.
    let y = fairness(&net(), &people, d("0.10"), CohortPeriod::Year, 1).unwrap();
    assert_eq!(y.cohorts.len(), 1);
    assert_eq!(y.cohorts[0].today, y.company_today);
    assert_eq!(y.cohorts[0].cohort.to_string(), "2024");
}

#[test]
fn gini_goldens() {
    // 1, 2, 3, 4: Σ|xᵢ − xⱼ| over ordered pairs = 2·(1+2+3+1+2+1) = 20; 2n²·mean = 2·16·2.5 = 80.
    assert_eq!(gini(&[d("1"), d("2"), d("3"), d("4")]).unwrap(), d("0.25"));
    assert_eq!(gini(&[d("7.5"); 6]).unwrap(), Decimal::ZERO);
    assert_eq!(gini(&[Decimal::ZERO; 3]).unwrap(), Decimal::ZERO);
    // One of four holds everything: (n − 1)/n = 0.75.
    assert_eq!(gini(&[d("0"), d("0"), d("100"), d("0")]).unwrap(), d("0.75"));
    // Zero at the bottom: no max/min ratio.
    assert_eq!(stats(&[d("0"), d("5")]).unwrap().max_min_ratio, None);
}

#[test]
fn bad_input_is_refused() {
    let a = holder("a", date(2024, 1, 1), &[(1, "1")], 1);
    assert_eq!(
        fairness(&net(), &[a.clone(), a], d("1"), CohortPeriod::Quarter, 1),
        Err(FairnessError::Duplicate("a".into()))
    );
    assert_eq!(fairness(&net(), &[], d("1"), CohortPeriod::Quarter, 1), Err(FairnessError::NoPeople));
    let b = holder("b", date(2024, 1, 1), &[(1, "-1")], 1);
    assert!(matches!(fairness(&net(), &[b], d("1"), CohortPeriod::Quarter, 1), Err(FairnessError::Value { .. })));
}

/// Σᵢ Σⱼ |xᵢ − xⱼ| / (2n²·mean) over cents, straight from the definition, rounded half up to 6 places.
fn gini_reference(cents: &[u64]) -> Decimal {
    let n = u128::try_from(cents.len()).unwrap();
    let sum: u128 = cents.iter().map(|&c| u128::from(c)).sum();
    if sum == 0 {
        return Decimal::ZERO;
    }
    let pairs: u128 = cents.iter().flat_map(|&a| cents.iter().map(move |&b| u128::from(a.abs_diff(b)))).sum();
    // 2n²·mean = 2n·sum; G·10^6 rounded half up = floor((2·pairs·10^6 + den) / (2·den)).
    let den = 2 * n * sum;
    let q = (2 * pairs * 1_000_000 + den) / (2 * den);
    Decimal::from_i128_with_scale(i128::try_from(q).unwrap(), 6)
}

fn money(cents: &[u64]) -> Vec<Decimal> {
    cents.iter().map(|&c| Decimal::new(i64::try_from(c).unwrap(), 2)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn gini_matches_its_definition_and_stays_below_one(cents in proptest::collection::vec(0u64..10_000_000_000, 1..40)) {
        let g = gini(&money(&cents)).unwrap();
        prop_assert_eq!(g, gini_reference(&cents));
        prop_assert!(g >= Decimal::ZERO && g < Decimal::ONE);
        let s = stats(&money(&cents)).unwrap();
        prop_assert!(s.min <= s.median && s.median <= s.max);
        prop_assert!(s.min <= s.mean && s.mean <= s.max);
    }

    /// Scaling every value by the same positive factor (an exact decimal) leaves the Gini as it was.
    #[test]
    fn gini_is_scale_invariant(cents in proptest::collection::vec(0u64..10_000_000_000, 1..40), factor in 1i64..1_000_000, places in 0u32..6) {
        let c = Decimal::new(factor, places);
        let scaled: Vec<Decimal> = money(&cents).iter().map(|v| v * c).collect();
        prop_assert_eq!(gini(&scaled).unwrap(), gini(&money(&cents)).unwrap());
    }

    /// One person holding everything among n gives (n − 1)/n.
    #[test]
    fn one_holder_of_everything(n in 1usize..60, at in 0usize..60, cents in 1u64..1_000_000_000) {
        let mut v = vec![0u64; n];
        v[at % n] = cents;
        // (n − 1)/n to 6 places, half up, in integers.
        let n = i128::try_from(n).unwrap();
        let want = Decimal::from_i128_with_scale(((n - 1) * 2_000_000 + n) / (2 * n), 6);
        prop_assert_eq!(gini(&money(&v)).unwrap(), want);
    }
}
