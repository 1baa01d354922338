//! Germany: the employee's social insurance on a one-off payment (§23a SGB IV) and the German
//! tax lines through `withholding::withhold`, to the cent, each case derived in its comment.

use std::str::FromStr;

use jiff::civil::date;
use tokencomp_compliance::de::social::{SocialError, SocialInput, contributions, insured_days};
use tokencomp_compliance::de::{DeCase, DeError};
use tokencomp_compliance::rules::Rules;
use tokencomp_compliance::withholding::{Jurisdiction, Payer, TaxKind, Wages, WithholdingError, withhold};
use tokencomp_core::tax_profile::{DeProfile, Health};
use tokencomp_money::Decimal;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal literal")
}

fn social(y: i16) -> tokencomp_compliance::de::params::Social {
    Rules::builtin().expect("the shipped rules parse").de().clone().year(y).expect("ships").social
}

fn statutory(additional: Option<&str>) -> DeProfile {
    DeProfile {
        tax_class: 1,
        health: Health::Statutory { additional_rate: additional.map(d) },
        land: Some("BY".into()),
        ..DeProfile::default()
    }
}

/// 2025, paid 15 December, employed all year, 60,000 EUR liable pay assessed, 10,000 paid,
/// fund additional rate 1.7%, parenthood not proven.
/// Insured days 12 × 30 = 360: pro-rata ceilings 96,600 and 66,150 (the full year).
/// Pension/unemployment: 36,600 still free ≥ 10,000: 10,000 × 9.3% = 930.00 and × 1.3% =
/// 130.00. Health/care: 66,150 − 60,000 = 6,150 free: 6,150 × (14.6% + 1.7%)/2 = 6,150 ×
/// 8.15% = 501.225 → 501.23; care 6,150 × (1.8% + 0.6%) = 147.60.
#[test]
fn december_payment_under_the_pension_ceiling_and_over_the_health_ceiling() {
    let input = SocialInput {
        date: date(2025, 12, 15),
        employed_from: None,
        liable_pension_to_date: d("60000"),
        liable_health_to_date: d("60000"),
        gross: d("10000"),
        previous: None,
    };
    let c = contributions(&social(2025), &statutory(Some("0.017")), &input).expect("computes");
    let amount = |x: &Option<tokencomp_compliance::de::social::Contribution>| x.as_ref().map(|c| c.amount);
    assert_eq!(amount(&c.pension), Some(d("930.00")));
    assert_eq!(amount(&c.unemployment), Some(d("130.00")));
    assert_eq!(amount(&c.health), Some(d("501.23")));
    assert_eq!(c.health.as_ref().map(|h| h.base), Some(d("6150")));
    assert_eq!(amount(&c.care), Some(d("147.60")));
}

/// 2026, paid 30 June in Saxony, three children for care insurance, no fund rate on file (the
/// year's average 2.9%), 30,000 assessed, 5,000 paid. 180 insured days: ceilings 101,400 / 2 =
/// 50,700 and 69,750 / 2 = 34,875. Pension 5,000 × 9.3% = 465.00; unemployment × 1.3% = 65.00;
/// health: 4,875 free × (14.6% + 2.9%)/2 = 8.75% → 426.5625 → 426.56; care: Saxony's employee
/// 2.3% less 2 × 0.25% (second and third child) = 1.8% → 4,875 × 1.8% = 87.75.
#[test]
fn saxony_with_children_mid_year() {
    let profile = DeProfile {
        land: Some("SN".into()),
        care_children: Some(3),
        health: Health::Statutory { additional_rate: None },
        ..DeProfile::default()
    };
    let input = SocialInput {
        date: date(2026, 6, 30),
        employed_from: None,
        liable_pension_to_date: d("30000"),
        liable_health_to_date: d("30000"),
        gross: d("5000"),
        previous: None,
    };
    let c = contributions(&social(2026), &profile, &input).expect("computes");
    let got: Vec<_> =
        [&c.pension, &c.unemployment, &c.health, &c.care].iter().map(|x| x.as_ref().map(|c| c.amount)).collect();
    assert_eq!(got, [Some(d("465.00")), Some(d("65.00")), Some(d("426.56")), Some(d("87.75"))]);
}

/// Employed from 15 October 2025, paid 15 December, nothing assessed before, 50,000 paid.
/// Insured days: 31 − 15 + 1 = 17 in October, 30 each in November and December: 77.
/// Ceilings: 96,600 × 77 / 360 = 20,661.666… → 20,661.67; 66,150 × 77 / 360 = 14,148.75.
/// Pension 20,661.67 × 9.3% = 1,921.53531 → 1,921.54; unemployment × 1.3% = 268.60171 →
/// 268.60; health 14,148.75 × 8.55% (average 2.5%) = 1,209.718… → 1,209.72; care × 2.4% =
/// 339.57.
#[test]
fn employment_begun_during_the_year() {
    assert_eq!(insured_days(date(2025, 12, 15), Some(date(2025, 10, 15))), Ok(77));
    let input = SocialInput {
        date: date(2025, 12, 15),
        employed_from: Some(date(2025, 10, 15)),
        liable_pension_to_date: Decimal::ZERO,
        liable_health_to_date: Decimal::ZERO,
        gross: d("50000"),
        previous: None,
    };
    let c = contributions(&social(2025), &statutory(None), &input).expect("computes");
    let got: Vec<_> =
        [&c.pension, &c.unemployment, &c.health, &c.care].iter().map(|x| x.as_ref().map(|c| c.amount)).collect();
    assert_eq!(got, [Some(d("1921.54")), Some(d("268.60")), Some(d("1209.72")), Some(d("339.57"))]);
}

/// 28 February 2025, 12,000 assessed, 20,000 paid: the health ceiling for 60 days is
/// 66,150 / 6 = 11,025, nothing is free, so the payment belongs to last December (§23a (4)
/// SGB IV): refused by name.
#[test]
fn the_march_clause_is_refused_not_guessed() {
    let input = SocialInput {
        date: date(2025, 2, 28),
        employed_from: None,
        liable_pension_to_date: d("12000"),
        liable_health_to_date: d("12000"),
        gross: d("20000"),
        previous: None,
    };
    let err = contributions(&social(2025), &statutory(None), &input).expect_err("March clause");
    assert!(matches!(err, SocialError::MarchClause { .. }));
    assert!(err.to_string().contains("§23a (4) SGB IV"));
}

/// The March clause with the previous year known: 26 February 2026, 12,000 assessed this year,
/// 20,000 paid. This year's health ceiling for 60 days is 69,750 / 6 = 11,625 < 12,000: nothing
/// free, so the payment belongs to December 2025 (§23a (4) SGB IV), at 2025's rates against
/// 2025's ceilings, employed all 2025 with 60,000 assessed.
/// Pension/unemployment: 96,600 − 60,000 = 36,600 free ≥ 20,000: 20,000 × 9.3% = 1,860.00 and
/// × 1.3% = 260.00. Health/care: 66,150 − 60,000 = 6,150 free: 6,150 × (14.6% + 2.5%)/2 =
/// 6,150 × 8.55% = 525.825 → 525.83 (the year's average add-on, none on file); care 6,150 ×
/// (1.8% + 0.6%) = 147.60 (parenthood not proven).
#[test]
fn the_march_clause_sends_the_payment_to_the_previous_year() {
    let input = SocialInput {
        date: date(2026, 2, 26),
        employed_from: None,
        liable_pension_to_date: d("12000"),
        liable_health_to_date: d("12000"),
        gross: d("20000"),
        previous: Some(tokencomp_compliance::de::social::PreviousYear {
            social: social(2025),
            employed_from: None,
            liable_pension: d("60000"),
            liable_health: d("60000"),
        }),
    };
    let c = contributions(&social(2026), &statutory(None), &input).expect("computes");
    let got: Vec<_> =
        [&c.pension, &c.unemployment, &c.health, &c.care].iter().map(|x| x.as_ref().map(|c| c.amount)).collect();
    assert_eq!(got, [Some(d("1860.00")), Some(d("260.00")), Some(d("525.83")), Some(d("147.60"))]);
}

/// Privately insured: no health or care line; pension and unemployment as usual.
#[test]
fn private_health_has_no_statutory_health_lines() {
    let profile = DeProfile { health: Health::Private { monthly_premium: d("450") }, ..DeProfile::default() };
    let input = SocialInput {
        date: date(2026, 12, 1),
        employed_from: None,
        liable_pension_to_date: d("100000"),
        liable_health_to_date: d("100000"),
        gross: d("2000"),
        previous: None,
    };
    let c = contributions(&social(2026), &profile, &input).expect("computes");
    // 101,400 − 100,000 = 1,400 free: × 9.3% = 130.20, × 1.3% = 18.20.
    assert_eq!(c.pension.map(|c| c.amount), Some(d("130.20")));
    assert_eq!(c.unemployment.map(|c| c.amount), Some(d("18.20")));
    assert!(c.health.is_none() && c.care.is_none());
}

/// Through `withhold`: 2026, class I, church in NW (9%), expected annual wage 60,000, 10,000
/// token payment on 15 December with 55,000 assessed. Wage tax: STS 2,831.00 (PAP case in
/// de_pap::pap_2026_other_payment_by_hand); no surcharge; church 2,831.00 × 9% = 254.79.
/// Social: 101,400 − 55,000 ≥ 10,000: pension 930.00, unemployment 130.00; health
/// 69,750 − 55,000 = 14,750 ≥ 10,000: 10,000 × 8.75% = 875.00, care × 2.4% = 240.00.
#[test]
fn withhold_gives_the_german_lines_in_order() {
    let profile = DeProfile {
        tax_class: 1,
        church: true,
        land: Some("NW".into()),
        health: Health::Statutory { additional_rate: None },
        ..DeProfile::default()
    };
    let case = DeCase::new(profile, d("60000"));
    let rules = Rules::builtin().expect("rules");
    let wages = Wages { year_to_date: d("55000"), ..Wages::default() };
    let w = withhold(&rules, &Jurisdiction::De(Box::new(case)), date(2026, 12, 15), &wages, d("10000.00"))
        .expect("withholds");
    let got: Vec<(&str, Decimal)> = w.lines.iter().map(|l| (l.kind.name(), l.amount)).collect();
    assert_eq!(
        got,
        [
            ("de_wage_tax", d("2831.00")),
            ("de_church_tax", d("254.79")),
            ("de_pension_insurance", d("930.00")),
            ("de_unemployment_insurance", d("130.00")),
            ("de_health_insurance", d("875.00")),
            ("de_care_insurance", d("240.00")),
        ]
    );
    assert!(w.lines.iter().all(|l| l.payer == Payer::Employee));
    assert_eq!(w.employee_total(), d("5260.79"));
    assert_eq!(TaxKind::from_name("de_solidarity_surcharge"), Some(TaxKind::DeSolidarity));
}

#[test]
fn withhold_refuses_a_year_without_german_rules() {
    let case = DeCase::new(DeProfile::default(), d("60000"));
    let rules = Rules::builtin().expect("rules");
    let err = withhold(&rules, &Jurisdiction::De(Box::new(case)), date(2027, 1, 15), &Wages::default(), d("100"))
        .expect_err("2027 is not shipped");
    assert!(matches!(err, WithholdingError::De(DeError::Rules(_))));
    assert!(err.to_string().contains("de.2027.tariff.basic_allowance"));
}
