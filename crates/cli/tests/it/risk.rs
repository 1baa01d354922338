//! `tokenomics`, `fairness` and `simulate` through the binary, on the sample company: the
//! JSON agrees with itself and with the ledger, the charts are written, nothing is recorded.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use serde_json::Value;
use tokencomp_money::Decimal;

use crate::ledger::Company;

fn demo() -> Company {
    let c = Company::new();
    c.ok(&["demo", "--quiet"]);
    c
}

fn u(v: &Value) -> u128 {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not base units: {v}"))
}

fn dec(v: &Value) -> Decimal {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not a decimal: {v}"))
}

fn svg_ok(path: &std::path::Path) -> String {
    let s = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"), "{}", path.display());
    s
}

#[test]
fn tokenomics_projection_agrees_with_the_ledger_and_writes_its_charts() {
    let c = demo();
    let before = c.dump();
    let j = c.json(&["tokenomics", "--through", "2028-09-30", "--json"]);
    assert_eq!(c.dump(), before, "a report records nothing");
    let total = u(&j["total_supply"]);
    let buckets: u128 = j["buckets"].as_array().unwrap().iter().map(|b| u(&b["amount"])).sum();
    assert_eq!(buckets, total, "buckets add up to the supply");

    // The team budget's outstanding equals what the grants claim: granted minus forfeited.
    let grants = c.json(&["grants", "--as-of", "2028-09-30", "--json"]);
    let claimed: u128 =
        grants["grants"].as_array().unwrap().iter().map(|g| u(&g["granted"]) - u(&g["forfeited"])).sum();
    let b = &j["team_budget"];
    assert_eq!(u(&b["outstanding"]), claimed);
    assert_eq!(u(&b["allocation"]), u(&b["outstanding"]) + u(&b["remaining"]));

    let months = j["months"].as_array().unwrap();
    assert_eq!(months.first().unwrap()["date"], "2023-09-30");
    assert_eq!(months.last().unwrap()["date"], "2028-09-30");
    let mut unlocked_before: BTreeMap<String, u128> = BTreeMap::new();
    for m in months {
        assert!(u(&m["circulating"]) <= u(&m["total_supply"]), "{m}");
        assert_eq!(u(&m["total_supply"]), total + u(&m["emitted"]) - u(&m["burned"]), "{m}");
        // The calendar's unlocks of the month are the buckets' increases.
        for bk in m["buckets"].as_array().unwrap() {
            let id = bk["id"].as_str().unwrap().to_owned();
            let now = u(&bk["unlocked"]);
            let prev = unlocked_before.insert(id.clone(), now).unwrap_or(0);
            let listed: u128 = j["unlock_calendar"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|x| x["date"] == m["date"] && x["bucket"] == id.as_str())
                .map(|x| u(&x["amount"]))
                .sum();
            assert_eq!(listed, now - prev, "{id} at {}", m["date"]);
        }
    }
    let charts = c.data().join("charts");
    assert!(svg_ok(&charts.join("supply.svg")).contains("circulating"));
    assert!(svg_ok(&charts.join("unlocks.svg")).contains("investors"));
}

#[test]
fn tokenomics_without_a_section_is_bad_input() {
    let c = Company::new();
    let f = c.write("c.toml", "[company]\nname = \"X\"\ntime_zone = \"UTC\"\n[token]\nsymbol = \"X\"\ndecimals = 0\n");
    c.ok(&["init", &f]);
    c.refused(&["tokenomics"], &["no [tokenomics] section"]);
}

#[test]
fn fairness_cohorts_cover_everyone_with_a_grant() {
    let c = demo();
    let j = c.json(&["fairness", "--as-of", "2026-10-31", "--json", "--top", "2"]);
    assert_eq!(j["price"]["date"], "2026-10-31");
    let people = j["people"].as_array().unwrap();
    let grants = c.json(&["grants", "--as-of", "2026-10-31", "--json"]);
    let holders: std::collections::BTreeSet<&str> =
        grants["grants"].as_array().unwrap().iter().map(|g| g["holder"].as_str().unwrap()).collect();
    assert_eq!(people.len(), holders.len());
    let in_cohorts: u64 = j["cohorts"].as_array().unwrap().iter().map(|c| c["today"]["count"].as_u64().unwrap()).sum();
    assert_eq!(usize::try_from(in_cohorts).unwrap(), people.len());
    let total: Decimal = people.iter().map(|p| dec(&p["today_usd"])).sum();
    assert_eq!(total, dec(&j["company"]["today"]["total"]));
    let gini = dec(&j["company"]["today"]["gini"]);
    assert!(gini > Decimal::ZERO && gini < Decimal::ONE, "{gini}");
    assert_eq!(j["most_over"].as_array().unwrap().len(), 2);
    assert_eq!(j["most_under"].as_array().unwrap().len(), 2);
    // The most over-compensated sits furthest above their cohort's median.
    let top = dec(&j["most_over"][0]["to_cohort_median"]);
    assert!(people.iter().filter_map(|p| p["to_cohort_median"].as_str()).all(|r| r.parse::<Decimal>().unwrap() <= top));
    let by_year = c.json(&["fairness", "--as-of", "2026-10-31", "--json", "--by", "year", "--no-charts"]);
    assert!(by_year["cohorts"].as_array().unwrap().len() < j["cohorts"].as_array().unwrap().len());
    let chart = svg_ok(&c.data().join("charts/fairness.svg"));
    // One point per person; the legend's swatches are the other circles.
    assert_eq!(chart.matches("<circle").count() - chart.matches("<circle class=\"swatch\"").count(), people.len());
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// `simulate --json` with RAYON_NUM_THREADS set, as the numbers must not depend on it.
fn simulate(c: &Company, threads: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tokencomp"))
        .arg("--data")
        .arg(c.data())
        .args(["simulate", "--json", "--as-of", "2026-10-31"])
        .args(args)
        .env("RAYON_NUM_THREADS", threads)
        .env_remove("TOKENCOMP_DATABASE")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn simulate_is_reproducible_at_any_thread_count_and_seed_dependent() {
    let c = demo();
    let args = ["--person", "ada", "--paths", "3000", "--model", "merton", "--below", "500000"];
    let one = simulate(&c, "1", &args);
    assert_eq!(one, simulate(&c, "2", &args));
    assert_eq!(one, simulate(&c, "3", &args));
    let other = simulate(&c, "2", &[&args[..], &["--seed", "2"]].concat());
    assert_ne!(one, other);
    let j: Value = serde_json::from_str(&one).unwrap();
    let p = &j["package"];
    assert!(f(&p["p5"]) <= f(&p["p50"]) && f(&p["p50"]) <= f(&p["p95"]), "{p}");
    let below = f(&p["prob_below"]);
    assert!((0.0..=1.0).contains(&below));
    assert_eq!(p["fan"].as_array().unwrap().len(), j["vests"].as_array().unwrap().len());
    assert!(svg_ok(&c.data().join("charts/value.svg")).contains("threshold"));
}

#[test]
fn with_no_volatility_the_package_is_worth_its_exact_value() {
    let c = demo();
    let j: Value = serde_json::from_str(&simulate(
        &c,
        "2",
        &["--person", "ada", "--paths", "500", "--sigma", "0", "--mu", "0", "--tax-rate", "0.25"],
    ))
    .unwrap();
    // Worked by hand from the JSON's own inputs: every vest at the spot, 75% kept, salary to
    // the last vest (215,000 a year from the company file).
    let spot: f64 = j["spot"]["close_usd"].as_str().unwrap().parse().unwrap();
    let vests = j["vests"].as_array().unwrap();
    let tokens: f64 = vests.iter().map(|v| u(&v["amount"]) as f64 / 1e18).sum();
    let last = vests.last().unwrap()["date"].as_str().unwrap().parse::<jiff::civil::Date>().unwrap();
    let years = (last - jiff::civil::date(2026, 10, 31)).get_days() as f64 / 365.0;
    let expected = 0.75 * (tokens * spot + 215_000.0 * years);
    let p = &j["package"];
    for k in ["mean", "p5", "p50", "p95"] {
        assert!((f(&p[k]) - expected).abs() < 1e-6 * expected, "{k}: {} vs {expected}", p[k]);
    }
}

#[test]
fn the_company_view_prices_every_floor_and_the_liquidity_illusion() {
    let c = demo();
    let j: Value = serde_json::from_str(&simulate(&c, "2", &["--paths", "40000", "--no-charts"])).unwrap();
    assert!(j["package"].is_null());
    let fl = &j["floor"];
    let (mc, se, bs) = (f(&fl["mc_mean"]), f(&fl["mc_std_error"]), f(&fl["closed_form"]));
    assert!(mc > 0.0 && (mc - bs).abs() < 4.0 * se, "MC {mc} ± {se} vs Black–Scholes {bs}");
    let floors = j["vests"].as_array().unwrap().iter().filter(|v| !v["floor_usd"].is_null()).count();
    assert_eq!(fl["per_vest"].as_array().unwrap().len(), floors);
    let l = &j["liquidity"];
    let (paper, real, ill) = (dec(&l["paper_value_usd"]), dec(&l["realizable_usd"]), dec(&l["illusion_usd"]));
    assert!(real < paper);
    assert_eq!(paper - real, ill);
    // Arbitrage that restores the price between months can only help the sellers.
    let full: Value =
        serde_json::from_str(&simulate(&c, "2", &["--paths", "10", "--recovery-bps", "10000", "--no-charts"])).unwrap();
    assert!(dec(&full["liquidity"]["realizable_usd"]) > real);
    // A deeper pool loses less.
    let deep: Value =
        serde_json::from_str(&simulate(&c, "2", &["--paths", "10", "--pool-usd", "50000000", "--no-charts"])).unwrap();
    assert!(dec(&deep["liquidity"]["illusion_usd"]) < ill);
}

#[test]
fn simulate_refuses_bad_input() {
    let c = demo();
    c.refused(&["simulate", "--person", "nobody"], &["no person has id `nobody`"]);
    c.refused(&["simulate", "--paths", "0"], &["--paths"]);
    c.refused(&["simulate", "--sigma=-1", "--quiet"], &["sigma"]);
    c.refused(&["simulate", "--pool-usd", "lots", "--quiet"], &["--pool-usd"]);
    c.refused(&["simulate", "--person", "ada", "--tax-rate", "1.5", "--quiet"], &["tax_rate"]);
}

/// Φ from libm's `erfc` (musl's), independent of `tokencomp_risk::closed`.
#[allow(clippy::float_arithmetic)] // a reference price in a test, never money
fn phi(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// Black–Scholes put, written out here from the textbook formula (Hull, ch. 15):
/// `K e^{−rT} Φ(−d2) − S Φ(−d1)`.
#[allow(clippy::float_arithmetic)] // a reference price in a test, never money
fn black_scholes_put(s: f64, k: f64, r: f64, sigma: f64, t: f64) -> f64 {
    let d1 = ((s / k).ln() + (r + sigma * sigma / 2.0) * t) / (sigma * t.sqrt());
    let d2 = d1 - sigma * t.sqrt();
    k * (-r * t).exp() * phi(-d2) - s * phi(-d1)
}

/// Issue 15 item 19: the floor `simulate` prices is the share payroll pays, in exact base units.
/// 1,000 tokens monthly over 48 months with a $1,000 floor vest 20.8333… tokens a month, each
/// carrying $20.83 (payroll's share, rounded once to cents), a strike of 0.99984 (the old whole-
/// token share gave $20, a strike of 0.96 and a floor 7% cheap); a 1-token grant over 2 months
/// with a $2 floor vests half a token twice, each carrying $1.00 (the old share was $0: no floor).
/// Every vest's closed form must equal an independent Black–Scholes put × tokens to 1e-9
/// relative (both are double-precision closed forms; ours is documented to 1e-12), and the
/// Monte Carlo mean must sit within 4 standard errors of their sum.
#[test]
fn simulate_prices_the_floor_payroll_pays_on_fractional_vests() {
    let c = crate::ledger::Company::new();
    let file = c.write(
        "floor.toml",
        r#"[company]
name = "Floor Co"
time_zone = "UTC"
[token]
symbol = "FLR"
decimals = 18
[[person]]
id = "fay"
name = "Fay"
[[price]]
date = 2026-01-01
close = "1.00"
[[price]]
date = 2026-01-02
close = "1.02"
[[price]]
date = 2026-01-03
close = "0.99"
[[grant]]
id = "fay-monthly"
holder = "fay"
amount = "1000"
floor_usd = "1000"
[grant.schedule]
type = "monthly"
start = 2026-01-05
duration_months = 48
[[grant]]
id = "fay-tiny"
holder = "fay"
amount = "1"
floor_usd = "2"
[grant.schedule]
type = "monthly"
start = 2026-01-05
duration_months = 2
"#,
    );
    c.ok(&["init", &file]);
    let (s0, r, sigma) = (0.99, 0.04, 0.8);
    let j = c.json(&[
        "simulate",
        "--json",
        "--quiet",
        "--as-of",
        "2026-01-04",
        "--sigma",
        "0.8",
        "--mu",
        "0",
        "--rate",
        "0.04",
        "--paths",
        "20000",
        "--no-charts",
    ]);
    let as_of = jiff::civil::date(2026, 1, 4);
    let vests = j["vests"].as_array().unwrap();
    assert_eq!(vests.len(), 50);
    let per_vest = j["floor"]["per_vest"].as_array().unwrap();
    assert_eq!(per_vest.len(), 50, "every vest carries a floor, the half-token ones too");
    let mut total = 0.0;
    for (v, p) in vests.iter().zip(per_vest) {
        let share = if v["grant"] == "fay-tiny" { "1.00" } else { "20.83" };
        assert_eq!(v["floor_usd"], share, "{v}");
        let tokens = u(&v["amount"]) as f64 / 1e18;
        let strike = share.parse::<f64>().unwrap() / tokens;
        assert!((f(&p["strike_per_token"]) - strike).abs() <= 1e-12 * strike, "{p} vs strike {strike}");
        let date: jiff::civil::Date = v["date"].as_str().unwrap().parse().unwrap();
        let t = (date - as_of).get_days() as f64 / 365.0;
        let want = tokens * black_scholes_put(s0, strike, r, sigma, t);
        let got = f(&p["closed_form"]);
        assert!((got - want).abs() <= 1e-9 * want, "{}: closed form {got} vs Black–Scholes {want}", v["date"]);
        total += want;
    }
    let fl = &j["floor"];
    let closed = f(&fl["closed_form"]);
    assert!((closed - total).abs() <= 1e-9 * total, "{closed} vs {total}");
    let (mc, se) = (f(&fl["mc_mean"]), f(&fl["mc_std_error"]));
    assert!((mc - closed).abs() < 4.0 * se, "MC {mc} ± {se} vs closed form {closed}");
}
