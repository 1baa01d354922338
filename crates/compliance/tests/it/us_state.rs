//! US state goldens: for every state and DC, a $10,000.00 supplemental payment (a vest) on
//! 15 June 2026 to an employee with $50,000.00 of earlier wages this year and no certificate on
//! file, each state line derived in the comment from the document the rules file cites; then
//! the certificate cases, wage-base crossings, the published annual maxima, reciprocity and the
//! local taxes. Every amount is `base × rate` rounded once to the cent (the named point "per
//! tax line"), except Oklahoma, whose guide prescribes whole dollars. A state's contribution
//! lines come in the order of their keys in the rules file.

use std::str::FromStr;

use jiff::civil::date;
use tokencomp_compliance::rules::Rules;
use tokencomp_compliance::us_state::{StateError, load};
use tokencomp_compliance::withholding::{Jurisdiction, TaxKind, TaxLine, Wages, WithholdingError, withhold_for};
use tokencomp_core::tax_profile::{Fields, UsProfile};
use tokencomp_money::Decimal;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("valid")
}

/// The kinds the state module produces (federal and FICA lines are tested elsewhere).
pub(crate) const STATE_KINDS: [TaxKind; 7] = [
    TaxKind::StateIncome,
    TaxKind::StateDisability,
    TaxKind::StatePaidLeave,
    TaxKind::StateUnemploymentEmployee,
    TaxKind::StateLongTermCare,
    TaxKind::StateTransit,
    TaxKind::LocalIncome,
];

fn profile(fields: &[(&str, &str)]) -> UsProfile {
    let f: Fields = fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    UsProfile::from_fields(&f).expect("valid profile")
}

/// The state lines of a payment of `gross` with `ytd` earlier wages, as (kind name, amount).
fn state_lines(
    rules: &Rules,
    state: &str,
    profile: Option<&UsProfile>,
    ytd: &str,
    gross: &str,
) -> Result<Vec<(&'static str, String)>, WithholdingError> {
    let wages = Wages { year_to_date: d(ytd), supplemental_year_to_date: Decimal::ZERO, period_to_date: Decimal::ZERO };
    let j = Jurisdiction::Us { state: Some(state.to_owned()) };
    let w = withhold_for(rules, &j, date(2026, 6, 15), &wages, d(gross), profile)?;
    Ok(w.lines
        .iter()
        .filter(|l| STATE_KINDS.contains(&l.kind))
        .map(|l: &TaxLine| (l.kind.name(), l.amount.to_string()))
        .collect())
}

/// What one state's golden case comes to: its lines, or a refusal naming what is missing.
pub(crate) enum Expect {
    Lines(&'static [(&'static str, &'static str)]),
    /// The state is not in the 2026 file at all.
    NoState,
    /// The file ships the state's contributions but not its income-tax method.
    NoIncomeMethod,
    /// The state adds a county tax and no county is on file.
    NoCountyOnFile,
}

use Expect::{Lines, NoCountyOnFile, NoIncomeMethod, NoState};

/// The 2026 golden case of every state and DC: $10,000.00 vest, $50,000.00 earlier wages, no
/// certificate on file.
///
/// No wage income tax (AK, FL, NV, NH, SD, TN, TX, WY): no line (constitutions and statutes
/// cited in the file). Washington has no income tax but two employee premiums:
///   WA PFML, ESD "2026 Paid Family & Medical Leave Premiums": 1.13% × 71.43% = 0.807159%;
///   60,000 is below the $184,500 cap, so 10,000 × 0.807159% = 80.7159 → 80.72.
///   WA Cares, RCW 50B.04.080: 0.58% of all wages: 10,000 × 0.58% = 58.00.
/// Flat supplemental rates (each guide's supplemental section, as cited in the file):
///   CA DE 44 (2026) bonuses and stock options 10.23% → 1,023.00; CA SDI, EDD 2026 rates:
///   1.3%, no wage limit → 130.00.
///   CO DR 1098 (2026) 4.4% → 440.00; CO FAMLI 0.88% × 50% employee = 0.44% → 44.00.
///   IA r. 701-307.2(1)"c" at the 2026 single rate 3.8% → 380.00.
///   IL IL-700-T (2026) 4.95% → 495.00.
///   MA Circular M (2026) 5.0% → 500.00; MA PFML employee 0.28% + 0.18% = 0.46% → 46.00.
///   MI Form 446 (2026) 4.25% → 425.00.
///   MN withholding booklet (2026) 6.25% → 625.00; MN Paid Leave 0.88% × 50% = 0.44% → 44.00.
///   NY NYS-50-T-NYS (2026) 11.70% → 1,170.00; NY PFL 0.432%, 60,000 below the 95,348.76
///   cap → 43.20.
///   PA 3.07% → 307.00; PA employee UC 0.07% of all wages → 7.00.
///   RI withholding tables (2026) 5.99% → 599.00; RI TDI 1.1% on the first 100,000 → 110.00.
///   VA 5.75% → 575.00.
///   AR Withholding Tax Employer's Instructions p. 4, top rate 3.9% (unchanged in the 2026
///   formula) → 390.00.
///   KY 2026 Withholding Tax Formula, single rate 3.5%; the $50,000 of earlier wages has used
///   the $3,360 standard deduction, so the whole vest is taxed: 10,000 × 3.5% → 350.00.
///   NC 17 NCAC 06C .0117: the 2026 rate 3.99% (G.S. 105-153.7(a)) + 0.1% = 4.09% → 409.00.
///   OH Adm. Code 5703-7-10: 3.5% → 350.00.
///   NE Circular EN flat supplemental option at its 2026 rate 3.5% → 350.00.
///   ME Withholding Tables for Individual Income Tax (2026): supplemental wages paid
///   separately 5% → 500.00; ME PFML 1% × 50% employee = 0.5%, 60,000 below $184,500 → 50.00.
///   OK Packet OW-2: the highest 2026 rate, 4.5% (HB 2764), rounded to whole dollars:
///   10,000 × 4.5% = 450 → 450.00 (the rounding is exercised in
///   `whole_dollar_rounding_where_a_guide_prescribes_it`).
/// Flat-rate group (NM, ND), each state's supplemental section as cited in the file:
///   NM FYI-104 (2026): federal withholding at the flat supplemental rate, so New Mexico's flat
///   supplemental rate 5.9% (the 2026 top rate): 10,000 × 5.9% = 590.00.
///   ND Income Tax Withholding Rates and Instructions (2026): flat supplemental rate 1.5%,
///   rounded to the nearest whole dollar: 10,000 × 1.5% = 150 → 150.00 (the rounding is
///   exercised in `north_dakota_rounds_its_supplemental_withholding_to_whole_dollars`).
/// Elected percentage: AZ Form A-4, no form on file → 2.0% → 200.00.
/// Share of the federal withholding: VT Pub. GB-1210 (2026), 30% of the federal supplemental
/// withholding on the payment: federal 10,000 × 22% = 2,200.00; 2,200.00 × 30% = 660.00.
/// Percentage method, aggregate rule: NJ-WT / NJ-W4 rate tables, no NJ-W4 on file → Rate A,
/// zero allowances; no regular wages in the month (the golden passes none), so the tax is
/// that of the payment alone: annualised 10,000 × 12 = 120,000; Rate A: 2,930 + 7.0% ×
/// (120,000 − 75,000) = 2,930 + 3,150 = 6,080 a year; 6,080 / 12 = 506.666… → 506.67, less
/// the tax on no regular wages (0). NJ DI 0.19% and FLI 0.23% on 10,000 (below $171,100):
/// 19.00 and 23.00; UI/WF/SWF: the $44,800 base was passed by the earlier $50,000, no line.
/// MS Pub. 89-700 percentage formula (2026: 4% above $10,000 of taxable income), no Form
/// 89-350 on file → single, no exemption, standard deduction $2,300; no regular wages in the
/// month: 10,000 × 12 = 120,000 − 2,300 = 117,700; 4% × (117,700 − 10,000) = 4,308 a year;
/// 4,308 / 12 = 359.00, rounded to the nearest dollar as the formula prescribes → 359.00.
/// County tax: IN Departmental Notice #1 (2026) withholds the state's 2.95% plus the county's
/// rate; with no county on file the payment is refused naming what to add.
/// Refused by name: CT, MD and OR (contributions shipped, income method not yet) and the
/// states whose 2026 guides could not be confirmed (see docs/tax-rules.md#us-states).
pub(crate) const GOLDEN_2026: [(&str, Expect); 51] = [
    ("AK", Lines(&[])),
    ("AL", NoState),
    ("AR", Lines(&[("state_income", "390.00")])),
    ("AZ", Lines(&[("state_income", "200.00")])),
    ("CA", Lines(&[("state_income", "1023.00"), ("state_sdi", "130.00")])),
    ("CO", Lines(&[("state_income", "440.00"), ("state_pfml", "44.00")])),
    ("CT", NoIncomeMethod),
    ("DC", NoState),
    ("DE", NoState),
    ("FL", Lines(&[])),
    ("GA", NoState),
    ("HI", NoState),
    ("IA", Lines(&[("state_income", "380.00")])),
    ("ID", NoState),
    ("IL", Lines(&[("state_income", "495.00")])),
    ("IN", NoCountyOnFile),
    ("KS", NoState),
    ("KY", Lines(&[("state_income", "350.00")])),
    ("LA", NoState),
    ("MA", Lines(&[("state_income", "500.00"), ("state_pfml", "46.00")])),
    ("MD", NoIncomeMethod),
    ("ME", Lines(&[("state_income", "500.00"), ("state_pfml", "50.00")])),
    ("MI", Lines(&[("state_income", "425.00")])),
    ("MN", Lines(&[("state_income", "625.00"), ("state_pfml", "44.00")])),
    ("MO", NoState),
    ("MS", Lines(&[("state_income", "359.00")])),
    ("MT", NoState),
    ("NC", Lines(&[("state_income", "409.00")])),
    ("ND", Lines(&[("state_income", "150.00")])),
    ("NE", Lines(&[("state_income", "350.00")])),
    ("NH", Lines(&[])),
    ("NJ", Lines(&[("state_income", "506.67"), ("state_sdi", "19.00"), ("state_pfml", "23.00")])),
    ("NM", Lines(&[("state_income", "590.00")])),
    ("NV", Lines(&[])),
    ("NY", Lines(&[("state_income", "1170.00"), ("state_pfml", "43.20")])),
    ("OH", Lines(&[("state_income", "350.00")])),
    ("OK", Lines(&[("state_income", "450.00")])),
    ("OR", NoIncomeMethod),
    ("PA", Lines(&[("state_income", "307.00"), ("state_ui_employee", "7.00")])),
    ("RI", Lines(&[("state_income", "599.00"), ("state_sdi", "110.00")])),
    ("SC", NoState),
    ("SD", Lines(&[])),
    ("TN", Lines(&[])),
    ("TX", Lines(&[])),
    ("UT", NoState),
    ("VA", Lines(&[("state_income", "575.00")])),
    ("VT", Lines(&[("state_income", "660.00")])),
    ("WA", Lines(&[("state_ltss", "58.00"), ("state_pfml", "80.72")])),
    ("WI", NoState),
    ("WV", NoState),
    ("WY", Lines(&[])),
];

#[test]
fn every_state_and_dc_has_its_2026_golden_case() {
    let rules = Rules::builtin().expect("valid");
    for (state, expect) in GOLDEN_2026 {
        let got = state_lines(&rules, state, None, "50000", "10000");
        match expect {
            Lines(lines) => {
                let got = got.unwrap_or_else(|e| panic!("{state}: {e}"));
                let want: Vec<_> = lines.iter().map(|(k, a)| (*k, (*a).to_owned())).collect();
                assert_eq!(got, want, "{state}");
            }
            NoState => match got {
                Err(WithholdingError::State(StateError::NoState { state: s, year: 2026, .. })) => assert_eq!(s, state),
                other => panic!("{state}: expected a refusal naming the state, got {other:?}"),
            },
            NoIncomeMethod => match got {
                Err(WithholdingError::State(StateError::NoIncomeMethod { state: s, path, .. })) => {
                    assert_eq!(s, state);
                    assert_eq!(path, format!("us.2026.state.{state}.income"));
                }
                other => panic!("{state}: expected a refusal naming the income table, got {other:?}"),
            },
            NoCountyOnFile => match got {
                Err(WithholdingError::State(StateError::NoCountyOnFile { state: s, year: 2026, .. })) => {
                    assert_eq!(s, state);
                }
                other => panic!("{state}: expected a refusal asking for the county, got {other:?}"),
            },
        }
    }
}

#[test]
fn certificates_change_only_the_states_that_use_them() {
    let rules = Rules::builtin().expect("valid");
    // Arizona Form A-4: an elected 3.5% replaces the 2.0% default: 10,000 × 3.5% = 350.00.
    let az = profile(&[("elected_rate", "3.5%")]);
    assert_eq!(
        state_lines(&rules, "AZ", Some(&az), "50000", "10000").expect("valid"),
        [("state_income", "350.00".to_owned())]
    );
    // A rate the form does not offer is refused, naming the allowed ones.
    let bad = profile(&[("elected_rate", "2.2%")]);
    let err = state_lines(&rules, "AZ", Some(&bad), "50000", "10000").expect_err("refused").to_string();
    assert!(err.contains("0.5%") && err.contains("3.5%"), "{err}");
    // An exempt certificate stops income tax, never the contributions: CA SDI stays 130.00.
    let exempt = profile(&[("exempt", "yes"), ("filing_status", "single")]);
    assert_eq!(
        state_lines(&rules, "CA", Some(&exempt), "50000", "10000").expect("valid"),
        [("state_sdi", "130.00".to_owned())]
    );
    // Flat-rate states ignore filing status and allowances on supplemental wages.
    let married = profile(&[("filing_status", "married_joint"), ("allowances", "3")]);
    assert_eq!(
        state_lines(&rules, "IL", Some(&married), "50000", "10000").expect("valid"),
        [("state_income", "495.00".to_owned())]
    );
}

#[test]
fn wage_bases_apply_across_the_year_like_social_security() {
    let rules = Rules::builtin().expect("valid");
    // CA SDI has no taxable wage limit since 2024 (SB 951; EDD 2026 rates): even after
    // $1,000,000 of wages, 10,000 × 1.3% = 130.00.
    let ca = state_lines(&rules, "CA", None, "1000000", "10000").expect("valid");
    assert!(ca.contains(&("state_sdi", "130.00".to_owned())), "{ca:?}");
    // WA PFML stops at the Social Security cap $184,500: 180,000 earlier, so 4,500 of the
    // payment is charged: 4,500 × 0.807159% = 36.322155 → 36.32. WA Cares has no cap: 58.00.
    assert_eq!(
        state_lines(&rules, "WA", None, "180000", "10000").expect("valid"),
        [("state_ltss", "58.00".to_owned()), ("state_pfml", "36.32".to_owned())]
    );
    // Above the cap, nothing: no line rather than a zero line.
    assert_eq!(
        state_lines(&rules, "WA", None, "200000", "10000").expect("valid"),
        [("state_ltss", "58.00".to_owned())]
    );
    // New Jersey, reached through a Pennsylvania resident (reciprocity: PA income tax 3.07%
    // → 307.00). Earlier wages 40,000: UI/WF/SWF (0.3825% + 0.0425% = 0.425%) on the part
    // below $44,800: 4,800 × 0.425% = 20.40; DI 0.19% and FLI 0.23% on the first $171,100:
    // 19.00 and 23.00.
    let pa_resident = profile(&[("residence", "PA")]);
    assert_eq!(
        state_lines(&rules, "NJ", Some(&pa_resident), "40000", "10000").expect("valid"),
        [
            ("state_income", "307.00".to_owned()),
            ("state_sdi", "19.00".to_owned()),
            ("state_pfml", "23.00".to_owned()),
            ("state_ui_employee", "20.40".to_owned()),
        ]
    );
    // Splitting the payment in two gives the same cents per line where no rounding splits.
    let a = state_lines(&rules, "NJ", Some(&pa_resident), "40000", "4800").expect("valid");
    let b = state_lines(&rules, "NJ", Some(&pa_resident), "44800", "5200").expect("valid");
    assert_eq!(a.iter().find(|l| l.0 == "state_ui_employee").map(|l| l.1.as_str()), Some("20.40"));
    assert!(b.iter().all(|l| l.0 != "state_ui_employee"), "{b:?}");
}

#[test]
fn the_published_annual_maxima_are_reached_exactly() {
    // Each authority prints the year's maximum employee contribution; paying the whole wage
    // base at once must give exactly that figure.
    let rules = Rules::builtin().expect("valid");
    let pa_resident = profile(&[("residence", "PA")]);
    // NJ 2026: TDI 0.19% × 171,100 = 325.09; FLI 0.23% × 171,100 = 393.53 (NJDOL maxima).
    let nj = state_lines(&rules, "NJ", Some(&pa_resident), "0", "171100").expect("valid");
    assert!(nj.contains(&("state_sdi", "325.09".to_owned())), "{nj:?}");
    assert!(nj.contains(&("state_pfml", "393.53".to_owned())), "{nj:?}");
    // NY PFL 2026: 0.432% × 95,348.76 = 411.9066… → 411.91 (DFS maximum annual contribution);
    // wages beyond the cap add nothing.
    let ny = state_lines(&rules, "NY", None, "0", "200000").expect("valid");
    assert!(ny.contains(&("state_pfml", "411.91".to_owned())), "{ny:?}");
    // RI TDI 2026: 1.1% × 100,000 = 1,100.00 (DLT maximum).
    let ri = state_lines(&rules, "RI", None, "0", "150000").expect("valid");
    assert!(ri.contains(&("state_sdi", "1100.00".to_owned())), "{ri:?}");
}

#[test]
fn local_taxes_and_reciprocity() {
    let rules = Rules::builtin().expect("valid");
    // NYS-50-T-NYC: NYC residents' supplemental rate 4.25%: 10,000 × 4.25% = 425.00.
    let nyc = profile(&[("locality", "NYC")]);
    assert_eq!(
        state_lines(&rules, "NY", Some(&nyc), "50000", "10000").expect("valid"),
        [
            ("state_income", "1170.00".to_owned()),
            ("state_pfml", "43.20".to_owned()),
            ("local_income", "425.00".to_owned()),
        ]
    );
    // NYS-50-T-Y: Yonkers residents 11.70% × 16.75% = 1.959750%: 195.975 → 195.98;
    // nonresidents 0.5%: 50.00.
    let yonkers = profile(&[("locality", "YONKERS")]);
    let lines = state_lines(&rules, "NY", Some(&yonkers), "50000", "10000").expect("valid");
    assert_eq!(lines.last(), Some(&("local_income", "195.98".to_owned())));
    let yonkers_nr = profile(&[("locality", "YONKERS_NONRESIDENT")]);
    let lines = state_lines(&rules, "NY", Some(&yonkers_nr), "50000", "10000").expect("valid");
    assert_eq!(lines.last(), Some(&("local_income", "50.00".to_owned())));
    // Any other locality is refused by name.
    let other = profile(&[("locality", "PHILADELPHIA")]);
    let err = state_lines(&rules, "PA", Some(&other), "50000", "10000").expect_err("refused").to_string();
    assert!(err.contains("PHILADELPHIA") && err.contains("NYC"), "{err}");

    // Illinois–Iowa agreement (IL-700): an Iowa resident working in Illinois is withheld for
    // Iowa at 3.8%: 380.00, not Illinois's 495.00.
    let iowan = profile(&[("residence", "IA")]);
    assert_eq!(
        state_lines(&rules, "IL", Some(&iowan), "50000", "10000").expect("valid"),
        [("state_income", "380.00".to_owned())]
    );
    // A New Jersey resident working in Pennsylvania is withheld for New Jersey (NJ-WT Rate A,
    // no certificate: 506.67 as in the golden case) instead of PA's 3.07%; PA's own employee
    // UC (0.07% → 7.00) still follows the work state.
    let nj_resident = profile(&[("residence", "NJ")]);
    assert_eq!(
        state_lines(&rules, "PA", Some(&nj_resident), "50000", "10000").expect("valid"),
        [("state_income", "506.67".to_owned()), ("state_ui_employee", "7.00".to_owned())]
    );
    // No agreement (a New Jersey resident working in New York): the work state withholds.
    assert_eq!(
        state_lines(&rules, "NY", Some(&nj_resident), "50000", "10000").expect("valid"),
        [("state_income", "1170.00".to_owned()), ("state_pfml", "43.20".to_owned())]
    );
}

#[test]
fn a_year_the_file_does_not_ship_falls_back_to_the_tables_flat_rate_and_names_missing_states() {
    // 2025 is not in the US state file yet: the rules table's flat CA rate applies, and no
    // contribution is invented for it.
    let rules = Rules::builtin().expect("valid");
    let wages = Wages { year_to_date: d("50000"), ..Wages::default() };
    let j = Jurisdiction::Us { state: Some("CA".to_owned()) };
    let w = withhold_for(&rules, &j, date(2025, 6, 15), &wages, d("10000"), None).expect("valid");
    let kinds: Vec<_> = w.lines.iter().filter(|l| STATE_KINDS.contains(&l.kind)).map(|l| l.kind).collect();
    assert_eq!(kinds, [TaxKind::StateIncome]);
}

#[test]
fn whole_dollar_rounding_where_a_guide_prescribes_it() {
    // A state whose guide rounds withholding to whole dollars (rounding = "dollar"):
    // 1,234.56 × 5.3% = 65.43168 → 65.00; 1,250.00 × 5.3% = 66.25 → 66.00; half a dollar rounds
    // away from zero: 10 × 5% = 0.50 → 1.00.
    let text = r#"
[us.2026.state.ZZ.income]
method = "flat"
rate = "5.3%"
rounding = "dollar"
source = "test guide"

[us.2026.state.ZY.income]
method = "flat"
rate = "5%"
rounding = "dollar"
source = "test guide"
"#;
    let rules = Rules::builtin().expect("valid").with_us_states(load("t.toml", text).expect("valid"));
    assert_eq!(state_lines(&rules, "ZZ", None, "0", "1234.56").expect("valid"), [("state_income", "65.00".to_owned())]);
    assert_eq!(state_lines(&rules, "ZZ", None, "0", "1250").expect("valid"), [("state_income", "66.00".to_owned())]);
    assert_eq!(state_lines(&rules, "ZY", None, "0", "10").expect("valid"), [("state_income", "1.00".to_owned())]);

    // The shipped Oklahoma entry (Packet OW-2: round to the nearest dollar), 4.5%:
    // 1,234.56 × 4.5% = 55.5552 → 56.00; 1,100.00 × 4.5% = 49.50 → 50.00 (half away from zero);
    // 1,000.00 × 4.5% = 45.00.
    let shipped = Rules::builtin().expect("valid");
    assert_eq!(
        state_lines(&shipped, "OK", None, "50000", "1234.56").expect("valid"),
        [("state_income", "56.00".to_owned())]
    );
    assert_eq!(
        state_lines(&shipped, "OK", None, "50000", "1100").expect("valid"),
        [("state_income", "50.00".to_owned())]
    );
    assert_eq!(
        state_lines(&shipped, "OK", None, "50000", "1000").expect("valid"),
        [("state_income", "45.00".to_owned())]
    );
}

#[test]
fn north_dakota_rounds_its_supplemental_withholding_to_whole_dollars() {
    // ND Income Tax Withholding Rates and Instructions (2026): flat 1.5%, the amount withheld
    // rounded to the nearest whole dollar (half away from zero):
    // 1,234.56 × 1.5% = 18.5184 → 19.00; 1,100.00 × 1.5% = 16.50 → 17.00; 1,000.00 × 1.5% = 15.00.
    let rules = Rules::builtin().expect("valid");
    assert_eq!(
        state_lines(&rules, "ND", None, "50000", "1234.56").expect("valid"),
        [("state_income", "19.00".to_owned())]
    );
    assert_eq!(
        state_lines(&rules, "ND", None, "50000", "1100").expect("valid"),
        [("state_income", "17.00".to_owned())]
    );
    assert_eq!(
        state_lines(&rules, "ND", None, "50000", "1000").expect("valid"),
        [("state_income", "15.00".to_owned())]
    );
    // New Mexico (FYI-104) rounds to the cent: 1,234.56 × 5.9% = 72.83904 → 72.84; filing
    // status and allowances do not change the flat supplemental rate.
    let married = profile(&[("filing_status", "married_joint"), ("allowances", "2")]);
    assert_eq!(
        state_lines(&rules, "NM", Some(&married), "50000", "1234.56").expect("valid"),
        [("state_income", "72.84".to_owned())]
    );
}
