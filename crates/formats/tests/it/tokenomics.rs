//! Tokenomics: the `[tokenomics]` section read and refused, the supply projection and unlock
//! calendar worked by hand, the team budget, and the projection's invariants as properties.

use std::fmt::Write;

use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use proptest::prelude::*;
use tokencomp_core::schedule::{Allocation, Calendar, DayOfMonth, Period, Schedule};
use tokencomp_core::tokenomics::{BucketKind, Tokenomics, outstanding, project, team_budget};
use tokencomp_core::{Grant, Timeline};
use tokencomp_formats::canonical::{read_tokenomics, write_tokenomics};
use tokencomp_formats::company::parse_company;
use tokencomp_money::{Token, TokenAmount};

/// A token with no decimals, so base units are whole tokens and the arithmetic reads plainly.
const HEAD: &str = "[company]\nname = \"T\"\ntime_zone = \"UTC\"\n[token]\nsymbol = \"T\"\ndecimals = 0\n";

/// 1,200,000 T at a TGE on 2025-01-10: team 25% monthly over 4 months, investors 900,000
/// quarterly over 6 months; 12% a year of inflation into circulation from February (1% of
/// the previous month end's supply each month) and 1,000 T burned a month from March.
const SMALL: &str = r#"
[tokenomics]
total_supply = "1200000"
tge = 2025-01-10

[[tokenomics.bucket]]
id = "team"
name = "Team"
kind = "team"
share = "25%"
[tokenomics.bucket.schedule]
type = "monthly"
duration_months = 4

[[tokenomics.bucket]]
id = "investors"
name = "Investors"
kind = "investors"
amount = "900000"
[tokenomics.bucket.schedule]
type = "quarterly"
duration_months = 6

[[tokenomics.emission]]
id = "staking"
kind = "inflation"
rate = "12%"
from = 2025-02-01
into = "circulating"

[[tokenomics.burn]]
id = "fees"
kind = "fixed"
amount = "1000"
from = 2025-03-01
of = "circulating"
"#;

fn parse(section: &str) -> Tokenomics {
    let text = format!("{HEAD}{section}");
    match parse_company("t.toml", &text) {
        Ok(f) => f.tokenomics.expect("a [tokenomics] section"),
        Err(d) => panic!("{d:?}"),
    }
}

fn errors(section: &str) -> Vec<(usize, usize, String, String)> {
    let text = format!("{HEAD}{section}");
    let d = parse_company("t.toml", &text).expect_err("the file must be refused");
    d.into_iter()
        .map(|d| {
            (
                d.location.line.unwrap_or(0),
                d.location.column.unwrap_or(0),
                d.location.field.unwrap_or_default(),
                d.message,
            )
        })
        .collect()
}

#[test]
fn the_small_section_is_read_with_shares_resolved_and_starts_at_the_tge() {
    let t = parse(SMALL);
    assert_eq!(t.total_supply, TokenAmount::from_base_units(1_200_000));
    assert_eq!(t.tge, date(2025, 1, 10));
    // 25% of 1,200,000 = 300,000.
    assert_eq!(t.buckets[0].amount.base_units(), 300_000);
    assert_eq!(t.buckets[0].kind, BucketKind::Team);
    match &t.buckets[0].schedule {
        Schedule::Calendar(c) => assert_eq!(c.start(), date(2025, 1, 10)),
        other => panic!("{other:?}"),
    }
    assert_eq!(t.team().map(|b| b.id.as_str()), Some("team"));
}

#[test]
fn the_supply_projection_with_inflation_and_burn_worked_by_hand() {
    let t = parse(SMALL);
    let p = project(&t, None, date(2025, 5, 20), &TimeZone::UTC).expect("projection");
    // Month ends Jan..May (the horizon's month is included).
    // Team vests 75,000 on the 10th of Feb, Mar, Apr, May; investors 450,000 on Apr 10 and Jul 10.
    // Jan 31: nothing unlocked, no rule active: total 1,200,000, circulating 0.
    // Feb 28: mint 1% × 1,200,000 = 12,000 → total 1,212,000; circulating 75,000 + 12,000 = 87,000.
    // Mar 31: mint 1% × 1,212,000 = 12,120 → 1,224,120; burn 1,000 → 1,223,120;
    //         circulating 150,000 + 24,120 − 1,000 = 173,120.
    // Apr 30: mint floor(1% × 1,223,120) = 12,231 → 1,235,351; burn → 1,234,351;
    //         circulating 225,000 + 450,000 + 36,351 − 2,000 = 709,351.
    // May 31: mint floor(1% × 1,234,351) = 12,343 → 1,246,694; burn → 1,245,694;
    //         circulating 300,000 + 450,000 + 48,694 − 3,000 = 795,694.
    let got: Vec<(Date, u128, u128, u128, u128)> =
        p.months.iter().map(|m| (m.date, m.total_supply, m.circulating, m.emitted, m.burned)).collect();
    assert_eq!(
        got,
        vec![
            (date(2025, 1, 31), 1_200_000, 0, 0, 0),
            (date(2025, 2, 28), 1_212_000, 87_000, 12_000, 0),
            (date(2025, 3, 31), 1_223_120, 173_120, 24_120, 1_000),
            (date(2025, 4, 30), 1_234_351, 709_351, 36_351, 2_000),
            (date(2025, 5, 31), 1_245_694, 795_694, 48_694, 3_000),
        ]
    );
    let unlocked: Vec<(u128, u128)> = p.months.iter().map(|m| (m.buckets[0].unlocked, m.buckets[1].unlocked)).collect();
    assert_eq!(unlocked, vec![(0, 0), (75_000, 0), (150_000, 0), (225_000, 450_000), (300_000, 450_000)]);
}

#[test]
fn the_unlock_calendar_of_a_small_company_worked_by_hand() {
    let t = parse(SMALL);
    let p = project(&t, None, date(2025, 5, 31), &TimeZone::UTC).expect("projection");
    // share = floor(amount × 10,000 / circulating at that month end):
    // Feb: 750,000,000 / 87,000 = 8,620.7 → 8,620; Mar: 750,000,000 / 173,120 = 4,332.3 → 4,332;
    // Apr: 750,000,000 / 709,351 = 1,057.3 → 1,057 and 4,500,000,000 / 709,351 = 6,343.8 → 6,343;
    // May: 750,000,000 / 795,694 = 942.6 → 942.
    let cal: Vec<(Date, &str, u128, u128)> =
        p.calendar.iter().map(|u| (u.date, u.bucket.as_str(), u.amount, u.share_of_circulating_bps)).collect();
    assert_eq!(
        cal,
        vec![
            (date(2025, 2, 28), "team", 75_000, 8_620),
            (date(2025, 3, 31), "team", 75_000, 4_332),
            (date(2025, 4, 30), "team", 75_000, 1_057),
            (date(2025, 4, 30), "investors", 450_000, 6_343),
            (date(2025, 5, 31), "team", 75_000, 942),
        ]
    );
}

fn team_grant(amount: u128, start: Date, months: u32) -> Timeline {
    let schedule = Schedule::Calendar(
        Calendar::new(
            start,
            Period::Months(1),
            months,
            0,
            DayOfMonth::VestingStartDayOrLast,
            Allocation::CumulativeRoundDown,
        )
        .expect("schedule"),
    );
    let g = Grant {
        id: "g".into(),
        holder: "h".into(),
        amount: TokenAmount::from_base_units(amount),
        schedule,
        performance: vec![],
        events: vec![],
    };
    g.timeline(&TimeZone::UTC, None).expect("timeline")
}

#[test]
fn the_team_bucket_circulates_what_its_grants_vested_within_what_it_unlocked() {
    let t = parse(SMALL);
    // One grant of 100,000 vesting 25,000 on the 15th of Mar..Jun. The team bucket's own
    // schedule unlocks 75,000 a month from February, so the grant's vesting is the limit:
    // Feb min(75,000, 0) = 0; Mar min(150,000, 25,000); Apr 50,000; May 75,000.
    let grants = [team_grant(100_000, date(2025, 2, 15), 4)];
    let p = project(&t, Some(&grants), date(2025, 5, 31), &TimeZone::UTC).expect("projection");
    let team: Vec<u128> = p.months.iter().map(|m| m.buckets[0].unlocked).collect();
    assert_eq!(team, vec![0, 0, 25_000, 50_000, 75_000]);
    // A grant vesting faster than the pool unlocks is held back by the pool: 300,000 on Feb 15.
    let grants = [team_grant(300_000, date(2025, 1, 15), 1)];
    let p = project(&t, Some(&grants), date(2025, 5, 31), &TimeZone::UTC).expect("projection");
    let team: Vec<u128> = p.months.iter().map(|m| m.buckets[0].unlocked).collect();
    assert_eq!(team, vec![0, 75_000, 150_000, 225_000, 300_000]);
}

#[test]
fn a_percent_burn_of_a_bucket_takes_from_its_unlocked_tokens() {
    let section = SMALL.replace(
        "kind = \"fixed\"\namount = \"1000\"\nfrom = 2025-03-01\nof = \"circulating\"",
        "kind = \"percent\"\nrate = \"10%\"\nfrom = 2025-03-01\nto = 2025-04-30\nof = \"team\"",
    );
    let t = parse(&section);
    let p = project(&t, None, date(2025, 5, 31), &TimeZone::UTC).expect("projection");
    // Mar: the team holds 150,000 unlocked → burns 15,000. Apr: 225,000 − 15,000 = 210,000
    // unburned → 21,000. May: the rule ended on Apr 30. Burned from the team: 36,000.
    let burned: Vec<u128> = p.months.iter().map(|m| m.buckets[0].burned).collect();
    assert_eq!(burned, vec![0, 0, 15_000, 36_000, 36_000]);
    assert_eq!(p.months[4].burned, 36_000);
}

#[test]
fn the_team_budget_is_the_allocation_less_what_grants_still_claim() {
    let t = parse(SMALL);
    let b = team_budget(&t, 250_000).expect("budget");
    assert_eq!((b.allocation.base_units(), b.remaining.base_units(), b.excess().base_units()), (300_000, 50_000, 0));
    let b = team_budget(&t, 310_000).expect("budget");
    assert_eq!((b.remaining.base_units(), b.excess().base_units()), (0, 10_000));
    assert_eq!(b.bucket, "team");
}

#[test]
fn forfeited_tokens_do_not_count_against_the_budget() {
    use tokencomp_core::{EventKind, GrantEvent, TerminationCause};
    let schedule = Schedule::Calendar(
        Calendar::new(
            date(2025, 1, 1),
            Period::Months(1),
            10,
            0,
            DayOfMonth::VestingStartDayOrLast,
            Allocation::CumulativeRoundDown,
        )
        .expect("schedule"),
    );
    let g = Grant {
        id: "g".into(),
        holder: "h".into(),
        amount: TokenAmount::from_base_units(100_000),
        schedule,
        performance: vec![],
        events: vec![GrantEvent {
            id: "quit".into(),
            date: date(2025, 4, 15),
            kind: EventKind::Termination { cause: TerminationCause::Voluntary, acceleration: None },
        }],
    };
    // 10,000 a month on the 1st: Feb, Mar, Apr vested (30,000) by the last day; 70,000 forfeited.
    let tl = g.timeline(&TimeZone::UTC, None).expect("timeline");
    assert_eq!(outstanding(&tl), Some(30_000));
}

#[test]
fn the_section_round_trips_through_its_canonical_form() {
    let t = parse(SMALL);
    let token = Token::new("T", 0).expect("token");
    let text = write_tokenomics(&t, &token);
    assert_eq!(read_tokenomics(&token, "UTC", &text).expect("read back"), t);
    // The sample company's section too (linear, quarterly and monthly schedules).
    let sample = parse_company("company.toml", include_str!("../../../../examples/company.toml")).expect("sample");
    let t = sample.tokenomics.expect("the sample has tokenomics");
    let text = write_tokenomics(&t, &sample.token.token);
    assert_eq!(read_tokenomics(&sample.token.token, "America/New_York", &text).expect("read back"), t);
}

#[test]
fn every_problem_of_a_section_is_reported_at_once_with_its_place() {
    let section = r#"
[tokenomics]
total_supply = "1000"
tge = 2025-01-10

[[tokenomics.bucket]]
id = "a"
name = "A"
kind = "team"
share = "50%"
[tokenomics.bucket.schedule]
type = "monthly"
duration_months = 4

[[tokenomics.bucket]]
id = "b"
name = "B"
kind = "team"
amount = "400"
[tokenomics.bucket.schedule]
type = "monthly"
duration_months = 4

[[tokenomics.emission]]
id = "e"
kind = "inflation"
rate = "2%"
from = 2025-03-01
to = 2025-02-01
into = "nowhere"

[[tokenomics.burn]]
id = "x"
kind = "melt"
from = 2025-03-01
of = "circulating"
"#;
    let e = errors(section);
    let lines = HEAD.lines().count();
    let find = |field: &str| e.iter().find(|x| x.2 == field).unwrap_or_else(|| panic!("no error on {field}: {e:#?}"));
    // Line numbers count the 6-line header; columns are where the value starts.
    let kind = find("tokenomics.bucket[1].kind");
    assert_eq!((kind.0, kind.1), (lines + 18, 8));
    assert!(kind.3.contains("only one bucket may be of kind `team`"), "{}", kind.3);
    let to = find("tokenomics.emission[0].to");
    assert_eq!((to.0, to.1), (lines + 29, 6));
    assert!(to.3.contains("before `from`"));
    let into = find("tokenomics.emission[0].into");
    assert_eq!((into.0, into.1), (lines + 30, 8));
    assert!(into.3.contains("`nowhere` is neither `circulating` nor a bucket id"));
    let burn = find("tokenomics.burn[0].kind");
    assert!(burn.3.contains("`melt` is not one of: percent, fixed"));
}

#[test]
fn buckets_that_do_not_add_up_are_refused_naming_the_difference() {
    let section = SMALL.replace("amount = \"900000\"", "amount = \"899990\"");
    let e = errors(&section);
    assert_eq!(e.len(), 1, "{e:#?}");
    let lines = HEAD.lines().count();
    // `[[tokenomics.bucket]]` first appears on line 6 of the section.
    assert_eq!((e[0].0, e[0].2.as_str()), (lines + 6, "tokenomics.bucket"));
    assert_eq!(e[0].3, "the buckets add up to 1199990 T, 10 T less than the total supply of 1200000 T");
    let over = SMALL.replace("amount = \"900000\"", "amount = \"900001\"");
    assert!(errors(&over)[0].3.contains("1 T more than the total supply"));
    // A share that is not a whole number of base units is refused, never rounded.
    let odd = SMALL.replace("total_supply = \"1200000\"", "total_supply = \"1200001\"");
    assert!(errors(&odd).iter().any(|x| x.2 == "tokenomics.bucket[0].share" && x.3.contains("whole number")));
}

#[test]
fn a_section_without_a_team_bucket_is_refused() {
    let section = SMALL.replace("kind = \"team\"", "kind = \"other\"");
    let e = errors(&section);
    assert!(e.iter().any(|x| x.3.contains("no bucket is of kind `team`")), "{e:#?}");
}

/// A section of `shares.len()` monthly buckets (the first the team's) over `total` tokens.
fn section_of(total: u128, shares: &[(u32, u32, u32)], inflation: u32, burn: Option<u128>) -> String {
    let mut s = format!("[tokenomics]\ntotal_supply = \"{total}\"\ntge = 2025-01-10\n");
    for (i, (bps, months, cliff)) in shares.iter().enumerate() {
        let kind = if i == 0 { "team" } else { "other" };
        let pct = tokencomp_formats::company::percent(*bps);
        let _ = write!(
            s,
            "[[tokenomics.bucket]]\nid = \"b{i}\"\nname = \"B{i}\"\nkind = \"{kind}\"\nshare = \"{pct}%\"\n\
             [tokenomics.bucket.schedule]\ntype = \"monthly\"\nduration_months = {months}\ncliff_months = {cliff}\n"
        );
    }
    let _ = write!(
        s,
        "[[tokenomics.emission]]\nid = \"i\"\nkind = \"inflation\"\nrate = \"{}%\"\nfrom = 2025-06-01\ninto = \"b1\"\n",
        tokencomp_formats::company::percent(inflation)
    );
    let _ = write!(
        s,
        "[[tokenomics.emission]]\nid = \"f\"\nkind = \"fixed\"\namount = \"777\"\nfrom = 2025-03-01\nto = 2026-03-01\ninto = \"circulating\"\n"
    );
    if let Some(b) = burn {
        let _ = write!(
            s,
            "[[tokenomics.burn]]\nid = \"x\"\nkind = \"fixed\"\namount = \"{b}\"\nfrom = 2025-02-01\nof = \"circulating\"\n\
             [[tokenomics.burn]]\nid = \"y\"\nkind = \"percent\"\nrate = \"3%\"\nfrom = 2025-04-01\nof = \"b0\"\n"
        );
    }
    s
}

/// Shares in basis points that add up to 10,000, with a month count and cliff each.
fn any_buckets() -> impl Strategy<Value = Vec<(u32, u32, u32)>> {
    proptest::collection::vec((1u32..5_000, 1u32..60, 0u32..24), 2..6).prop_map(|v| {
        let sum: u32 = v.iter().map(|x| x.0).sum();
        let mut out: Vec<(u32, u32, u32)> = v.iter().map(|&(w, m, c)| (w * 10_000 / sum, m, c.min(m))).collect();
        let rest = 10_000 - out.iter().map(|x| x.0).sum::<u32>();
        out[0].0 += rest;
        out.retain(|x| x.0 > 0);
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn circulating_never_exceeds_the_supply_and_never_falls_without_burns(
        buckets in any_buckets(),
        units in 1u128..1_000_000_000,
        inflation in 0u32..2_000,
        burn in proptest::option::of(0u128..50_000_000),
    ) {
        prop_assume!(buckets.iter().any(|b| b.0 > 0) && buckets.len() >= 2);
        // A multiple of 10,000 so every share is a whole number of tokens.
        let total = units * 10_000;
        let t = parse(&section_of(total, &buckets, inflation, burn));
        // The buckets add up to the supply exactly.
        let sum: u128 = t.buckets.iter().map(|b| b.amount.base_units()).sum();
        prop_assert_eq!(sum, total);
        let p = project(&t, None, date(2031, 12, 31), &TimeZone::UTC).expect("projection");
        let mut prev = 0u128;
        for m in &p.months {
            prop_assert!(m.circulating <= m.total_supply, "{:?}", m);
            prop_assert_eq!(m.total_supply, total + m.emitted - m.burned);
            if burn.is_none() {
                prop_assert!(m.circulating >= prev);
            }
            prev = m.circulating;
        }
        // Every bucket is fully unlocked once its schedule has ended (60 months at most).
        let last = p.months.last().expect("months");
        for (b, s) in t.buckets.iter().zip(&last.buckets) {
            prop_assert_eq!(s.unlocked, b.amount.base_units());
        }
        // The calendar's unlocks add up to what the buckets unlocked.
        let unlocked: u128 = p.calendar.iter().map(|u| u.amount).sum();
        prop_assert_eq!(unlocked, total);
    }
}

#[test]
fn the_sample_companys_grants_fit_its_team_bucket_with_room_left() {
    let sample = parse_company("company.toml", include_str!("../../../../examples/company.toml")).expect("sample");
    let t = sample.tokenomics.expect("the sample has tokenomics");
    let tz = &sample.company.time_zone;
    let timelines: Vec<Timeline> =
        sample.grants.iter().map(|g| g.grant.timeline(tz, None).expect("timeline")).collect();
    let claimed: u128 = timelines.iter().map(|t| outstanding(t).expect("outstanding")).sum();
    let b = team_budget(&t, claimed).expect("budget");
    assert_eq!(b.excess(), TokenAmount::ZERO);
    assert!(b.remaining > b.outstanding, "{b:?}");
    // The TGE comes before the first grant.
    assert!(sample.grants.iter().all(|g| g.grant_date > t.tge));
    let p = project(&t, Some(&timelines), date(2028, 12, 31), tz).expect("projection");
    assert!(p.months.iter().all(|m| m.circulating <= m.total_supply));
    // The fee burn (250,000 a month from 2025-01-31) and 1.5% inflation both ran.
    let last = p.months.last().expect("months");
    assert!(last.burned >= 48 * 250_000 * 10u128.pow(18) && last.emitted > 0, "{last:?}");
}
