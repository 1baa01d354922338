//! The year-end's figures against the payroll rows that paid the year: a December correction
//! paid as a January `ADJUST` row gives the W-2c boxes 1–6 (box 3 capped at the Social Security
//! wage base), a biweekly period that straddles 1 January pays each year its own wages, and an
//! export frozen before rows carried their year and wage bases still reads and corrects.
//!
//! Constants used in the comments (crates/formats/rules/tax.toml, 2025 and 2026): federal
//! supplemental rate 22% (26 CFR 31.3402(g)-1(a)(7)); Social Security 6.2% on wages up to the
//! 2026 wage base of $184,500 (IRC 3101(a), 3121(a)(1); IRS Pub. 15 (2026)); Medicare 1.45% on
//! all wages (IRC 3101(b)(1)); additional Medicare 0.9% on wages above $200,000 (IRC 3101(b)(2)).

use std::str::FromStr;

use jiff::civil::{Date, date};
use tokencomp_compliance::payroll::{self, IncomeEvent, PayrollRow};
use tokencomp_compliance::yearend::{self, Difference, Figures, W2};
use tokencomp_core::period::{PayFrequency, period_of};
use tokencomp_money::Decimal;

use crate::payroll::{World, vest};

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal")
}

/// Two US employees without a state income tax, each with one grant paid in cash (nothing sold):
/// Lou earns $120,000 a year, Hal $180,000 ($10,000.00 and $15,000.00 a month). `{DEC}` is the
/// close of 15 December 2026.
const TWO: &str = r#"
[company]
name = "Forms Inc."
time_zone = "America/New_York"
withholding_method = "cash"

[token]
symbol = "GRID"
decimals = 18

[[person]]
id = "hal"
name = "Hal High"
country = "US"
salary = "180000"

[[person]]
id = "lou"
name = "Lou Low"
country = "US"
salary = "120000"

[[price]]
date = 2025-12-30
close = "2.00"
[[price]]
date = 2026-01-05
close = "2.00"
[[price]]
date = 2026-12-15
close = "{DEC}"

[[grant]]
id = "hal-g"
holder = "hal"
grant_date = 2025-01-15
amount = "40000"
[grant.schedule]
type = "annually"
start = 2025-01-15
duration_months = 48

[[grant]]
id = "lou-g"
holder = "lou"
grant_date = 2025-01-15
amount = "40000"
[grant.schedule]
type = "annually"
start = 2025-01-15
duration_months = 48
"#;

fn world(december_close: &str) -> World {
    World::new(&TWO.replace("{DEC}", december_close))
}

fn month(d: Date) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

fn biweekly(d: Date) -> String {
    period_of(PayFrequency::Biweekly, d).id
}

fn rows(w: &World, events: &[IncomeEvent], period: &str, period_of: &dyn Fn(Date) -> String) -> Vec<PayrollRow> {
    payroll::period_rows(w.token(), &w.people, events, period, period_of).expect("rows")
}

fn w2<'a>(year: &'a [yearend::PersonYear], person: &str) -> &'a W2 {
    match &year.iter().find(|p| p.person == person).expect("a W-2").figures {
        Figures::W2(w) => w,
        other => panic!("{person}: not a W-2: {other:?}"),
    }
}

fn diff(person: &str, figure: &'static str, payroll: &str, year_end: &str) -> Difference {
    Difference { person: person.into(), figure, year_end: d(year_end), payroll: d(payroll) }
}

fn value(r: &PayrollRow, column: &str) -> Decimal {
    r.values[AMOUNT.iter().position(|c| *c == column).expect("a column")]
}

const AMOUNT: [&str; payroll::COLUMNS] = payroll::AMOUNT_COLUMNS;

/// 10,000 GRID vest on 15 December 2026 for each, recorded at $2.00 (December is closed with
/// those rows), then corrected to $2.50 (the exchange's feed was wrong): the correction is paid
/// as January 2027 `ADJUST` rows that count for 2026, and the W-2c's boxes follow.
#[test]
fn a_december_correction_paid_in_january_gives_w2c_boxes_1_to_6_above_and_below_the_wage_base() {
    let on = date(2026, 12, 15);
    let before = world("2.00");
    let vests: Vec<_> = ["hal-g", "lou-g"].iter().map(|g| vest(&before, g, on, "10000")).collect();
    let frozen = rows(&before, &before.events(&vests).expect("events"), "2026-12", &month);
    let frozen = payroll::parse_csv("2026-12 (closed)", &payroll::to_csv(&frozen, before.token())).expect("frozen");

    let after = world("2.50");
    let events = after.events(&vests).expect("events");
    let recomputed = rows(&after, &events, "2026-12", &month);
    let adjust = payroll::adjustments(&recomputed, &frozen, "2027-01");

    // Wages before the vest: 12 monthly instalments, $180,000 (Hal) and $120,000 (Lou).
    // As recorded, 10,000 × $2.00 = $20,000.00; corrected, 10,000 × $2.50 = $25,000.00.
    //   Federal: 22% × 20,000 = 4,400.00 → 22% × 25,000 = 5,500.00 (each).
    //   Lou, Social Security: wages 120,000 → 140,000 (145,000), all below 184,500, so box 3 is
    //     20,000.00 → 25,000.00 and box 4 6.2% of it, 1,240.00 → 1,550.00.
    //   Hal, Social Security: only 184,500 − 180,000 = 4,500.00 is below the wage base either
    //     way: box 3 4,500.00 and box 4 279.00 (6.2% × 4,500) do not move.
    //   Medicare (box 5 has no cap): 20,000.00 → 25,000.00, tax 290.00 → 362.50 (each).
    //   Hal, additional Medicare: wages 180,000 → 200,000 reach the $200,000 threshold exactly
    //     (nothing); corrected → 205,000, 0.9% × 5,000 = 45.00. Box 6: 290.00 → 407.50.
    let [hal, lou] = [&adjust[0], &adjust[1]];
    assert_eq!((hal.person.as_str(), lou.person.as_str()), ("hal", "lou"));
    for r in [hal, lou] {
        assert_eq!((r.earning_code.as_str(), r.adjusts.as_str(), r.tax_year), ("ADJUST", "2026-12", 2026));
        assert_eq!(value(r, "gross_supplemental_wages"), d("5000.00"));
        assert_eq!(value(r, "medicare_wages"), d("5000.00"));
        assert_eq!(value(r, "federal_income_tax"), d("1100.00"));
        assert_eq!(value(r, "medicare_ee"), d("72.50"));
    }
    assert_eq!((value(lou, "social_security_wages"), value(lou, "social_security_ee")), (d("5000.00"), d("310.00")));
    assert_eq!((value(hal, "social_security_wages"), value(hal, "social_security_ee")), (d("0"), d("0")));
    assert_eq!(value(hal, "additional_medicare_ee"), d("45.00"));

    // The year-end from the income events: the W-2 as it is now.
    let year = yearend::year_end(&after.people, &events, 2026, None);
    let (h, l) = (w2(&year, "hal"), w2(&year, "lou"));
    let boxes = |w: &W2| {
        [
            w.box1_wages,
            w.box2_federal_income_tax,
            w.box3_social_security_wages,
            w.box4_social_security_tax,
            w.box5_medicare_wages,
            w.box6_medicare_tax,
        ]
    };
    assert_eq!(boxes(h), ["25000.00", "5500.00", "4500.00", "279.00", "25000.00", "407.50"].map(d));
    assert_eq!(boxes(l), ["25000.00", "5500.00", "25000.00", "1550.00", "25000.00", "362.50"].map(d));

    // December's frozen rows plus January's adjustment equal it, boxes 3 and 5 included.
    let mut paid = frozen.clone();
    paid.extend(adjust.iter().cloned());
    assert_eq!(yearend::check_rows(&year, &paid), []);

    // The W-2c: what the year's own payroll reported (December's rows) against what is correct,
    // for every figure that moved. Hal's boxes 3 and 4 did not (he was above the wage base).
    assert_eq!(
        yearend::check_rows(&year, &frozen),
        [
            diff("hal", "gross", "20000.00", "25000.00"),
            diff("hal", "federal_income_tax", "4400.00", "5500.00"),
            diff("hal", "medicare_tax", "290.00", "407.50"),
            diff("hal", "medicare_wages", "20000.00", "25000.00"),
            diff("lou", "gross", "20000.00", "25000.00"),
            diff("lou", "federal_income_tax", "4400.00", "5500.00"),
            diff("lou", "social_security_tax", "1240.00", "1550.00"),
            diff("lou", "medicare_tax", "290.00", "362.50"),
            diff("lou", "social_security_wages", "20000.00", "25000.00"),
            diff("lou", "medicare_wages", "20000.00", "25000.00"),
        ]
    );
}

/// Regression: a biweekly period that straddles 1 January (bw-2025-12-29, 29 December 2025 to
/// 11 January 2026) was one row per person, counted for the year of its last day, while the
/// year-end counts each vest in the year it was paid (26 CFR 31.3121(a)-2(a)-(b): wages are
/// paid when actually or constructively paid; the tokens are delivered on the vest date, and the
/// pass withholds on them under that year's rules). The year-end named the
/// difference. Now the period has a row per tax year and each year's rows equal its year-end.
#[test]
fn a_biweekly_period_straddling_1_january_pays_each_year_its_own_wages() {
    let w = world("2.00");
    let (december, january) = (date(2025, 12, 30), date(2026, 1, 5));
    assert_eq!((biweekly(december), biweekly(january)), ("bw-2025-12-29".to_owned(), "bw-2025-12-29".to_owned()));
    let vests = [vest(&w, "lou-g", december, "1000"), vest(&w, "lou-g", january, "1000")];
    let events = w.events(&vests).expect("events");
    let period = rows(&w, &events, "bw-2025-12-29", &biweekly);
    // 1,000 × $2.00 = $2,000.00 on each side of 1 January.
    let years: Vec<(i16, Decimal)> =
        period.iter().map(|r| (r.tax_year, value(r, "gross_supplemental_wages"))).collect();
    assert_eq!(years, [(2025, d("2000.00")), (2026, d("2000.00"))]);
    for y in [2025, 2026] {
        let year = yearend::year_end(&w.people, &events, y, None);
        assert_eq!(w2(&year, "lou").box1_wages, d("2000.00"));
        let mine: Vec<PayrollRow> = period.iter().filter(|r| r.tax_year == y).cloned().collect();
        assert_eq!(yearend::check_rows(&year, &mine), [], "{y}");
    }
    // The two rows read back from the export as they were written.
    let text = payroll::to_csv(&period, w.token());
    assert_eq!(payroll::parse_csv("bw-2025-12-29", &text).expect("parse"), period);
}

/// An export in the columns written before rows carried `tax_year` and the wage bases.
fn legacy(csv: &str) -> String {
    let ids = payroll::ID_COLUMNS.len();
    let drop = [ids - 1, ids + payroll::WAGE_BASE_COLUMNS[0], ids + payroll::WAGE_BASE_COLUMNS[1]];
    csv.lines()
        .map(|line| {
            let cells: Vec<&str> =
                line.split(',').enumerate().filter(|(i, _)| !drop.contains(i)).map(|(_, c)| c).collect();
            format!("{}\n", cells.join(","))
        })
        .collect()
}

/// A period closed before this version froze its export without `tax_year` and the wage bases:
/// it still reads (its rows count for the year they counted for then), an unchanged period gets
/// no adjustment, a correction of it carries no wage bases (what was reported is unknown), and
/// the year-end check leaves boxes 3 and 5 unchecked for that person.
#[test]
fn an_export_frozen_before_rows_carried_their_year_and_wage_bases_still_reads_and_corrects() {
    let on = date(2026, 12, 15);
    let before = world("2.00");
    let vests = [vest(&before, "lou-g", on, "10000")];
    let events = before.events(&vests).expect("events");
    let own = rows(&before, &events, "2026-12", &month);
    let text = legacy(&payroll::to_csv(&own, before.token()));
    assert!(text.starts_with("employee_id,employee_name,pay_period,earning_code,tax_form,currency,work_state,adjusts,token_income,cash_top_up,gross_supplemental_wages,federal_income_tax,"));
    let frozen = payroll::parse_csv("2026-12 (closed)", &text).expect("a legacy export reads");
    assert_eq!((frozen[0].tax_year, frozen[0].wage_bases), (2026, false));
    assert_eq!(value(&frozen[0], "medicare_wages"), d("0"));
    // Nothing changed: no adjustment (the unknown wage bases are not a difference).
    assert_eq!(payroll::adjustments(&own, &frozen, "2027-01"), []);

    // The price is corrected to $2.50: the correction carries every column but the wage bases.
    let after = world("2.50");
    let events = after.events(&vests).expect("events");
    let adjust = payroll::adjustments(&rows(&after, &events, "2026-12", &month), &frozen, "2027-01");
    assert_eq!(adjust.len(), 1);
    assert_eq!(value(&adjust[0], "gross_supplemental_wages"), d("5000.00"));
    assert_eq!((value(&adjust[0], "social_security_wages"), value(&adjust[0], "medicare_wages")), (d("0"), d("0")));
    let year = yearend::year_end(&after.people, &events, 2026, None);
    let mut paid = frozen.clone();
    paid.extend(adjust);
    assert_eq!(yearend::check_rows(&year, &paid), []);

    // Legacy rows of a straddling period and of an adjustment keep the year they were counted for:
    // the period's last day's, and the corrected periods' latest.
    let header = text.lines().next().expect("header");
    let cells = text.lines().nth(1).expect("row").split(',').skip(8).collect::<Vec<_>>().join(",");
    let old = format!(
        "{header}\nlou,Lou Low,bw-2025-12-29,TOKEN,W-2,USD,,,{cells}\nlou,Lou Low,2026-01,ADJUST,W-2,USD,,2025-11 2025-12,{cells}\n"
    );
    let read = payroll::parse_csv("old", &old).expect("reads");
    assert_eq!(read.iter().map(|r| r.tax_year).collect::<Vec<_>>(), [2026, 2025]);
}
