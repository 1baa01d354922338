//! `tokenomics`, `simulate` and `fairness`: the company's supply, what a package is worth
//! under volatility and thin liquidity, and how grants compare across hire cohorts.
//!
//! Exact numbers (supply, budget, pool proceeds, fairness values) come from `tokencomp_core`;
//! the Monte Carlo comes from `tokencomp_risk`. Floats appear here only where a number is
//! handed to the simulation or drawn on a chart, never for a number that is paid or booked.

// Token amounts become floats for charts and for the simulation's inputs only.
#![allow(clippy::float_arithmetic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use jiff::ToSpan;
use jiff::civil::Date;
use serde_json::{Value, json};
use tokencomp_core::Timeline;
use tokencomp_core::fairness::{self, CohortPeriod, GrantValue, Holder};
use tokencomp_core::model::GrantSize;
use tokencomp_core::tokenomics::{self, Projection};
use tokencomp_money::{Currency, Decimal, Token, TokenAmount};
use tokencomp_store::ledger::Company;

use crate::company::{load, open_store};
use crate::queries::timelines;
use crate::schedule::parse_as_of;
use crate::svg;
use crate::{Global, bad_input, outln};

/// Where the charts go: `--charts DIR`, else `DATA/charts`.
#[derive(Args, Debug, Clone)]
pub struct ChartArgs {
    /// Write the SVG charts into this directory (default: `charts/` in the data directory).
    #[arg(long)]
    pub charts: Option<PathBuf>,
    /// Write no charts.
    #[arg(long, conflicts_with = "charts")]
    pub no_charts: bool,
}

impl ChartArgs {
    fn dir(&self, g: &Global) -> Option<PathBuf> {
        (!self.no_charts).then(|| self.charts.clone().unwrap_or_else(|| g.data.join("charts")))
    }
}

/// Writes one chart, creating its directory; returns its path for the summary line.
fn write_chart(dir: &Path, name: &str, svg: Result<String, svg::ChartError>) -> Result<PathBuf> {
    let svg = svg.map_err(|e| anyhow::anyhow!("chart {name}: {e}"))?;
    // Created owner-only; a directory the user named and that exists keeps its mode.
    if !dir.exists() {
        tokencomp_store::private::dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let path = dir.join(name);
    tokencomp_store::private::write(&path, svg.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn token_json(t: &Token) -> Value {
    json!({"symbol": t.symbol(), "decimals": t.decimals()})
}

/// Whole tokens as a float, for charts and simulation inputs only.
fn tokens_f64(token: &Token, units: u128) -> f64 {
    tokencomp_risk::tokens_f64(units, token.decimals())
}

/// A decimal as a float, for charts and simulation inputs only.
pub fn decimal_f64(d: Decimal) -> f64 {
    d.to_string().parse().unwrap_or(f64::NAN)
}

fn fmt_tokens(token: &Token, units: u128) -> String {
    token.format_display(TokenAmount::from_base_units(units), 0)
}

/// The last USD close on or before `day`, with its date.
pub fn close_on_or_before(c: &Company, day: Date) -> Option<(Date, Decimal)> {
    c.prices
        .range(..=(Currency::USD, day))
        .next_back()
        .filter(|((cur, _), _)| *cur == Currency::USD)
        .map(|((_, d), p)| (*d, *p))
}

// ---------------------------------------------------------------------------------------------
// tokenomics

#[derive(Args, Debug)]
pub struct TokenomicsArgs {
    /// Project through the end of this month (default: five years after the TGE, or a year
    /// after today when that is later).
    #[arg(long)]
    pub through: Option<String>,
    /// Exact base units as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub charts: ChartArgs,
}

pub fn tokenomics(g: &Global, args: &TokenomicsArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    if let Some(doc) = tokenomics_in(g, &company, args)? {
        outln!("{}", serde_json::to_string_pretty(&doc)?);
    }
    Ok(())
}

/// `tokenomics` on a loaded company: the JSON document when `--json`, else the table printed.
pub fn tokenomics_in(g: &Global, company: &Company, args: &TokenomicsArgs) -> Result<Option<Value>> {
    let mut doc_out = None;
    let Some(t) = &company.tokenomics else {
        return Err(bad_input(
            "the company has no [tokenomics] section",
            "company file: add [tokenomics] and `tokencomp apply` it",
        ));
    };
    let tz = &company.company.time_zone;
    let today = parse_as_of(None, tz, None)?;
    let through = match &args.through {
        Some(s) => crate::compliance::date_arg(s, "--through")?,
        None => {
            let five = t.tge.checked_add(60.months()).unwrap_or(t.tge);
            five.max(today.checked_add(12.months()).unwrap_or(today))
        }
    };
    let tl = timelines(company, through)?;
    let team: Vec<Timeline> = tl.into_values().collect();
    let p = tokenomics::project(t, Some(&team), through, tz)
        .map_err(|e| bad_input(format!("projection: {e}"), "--through"))?;
    let outstanding = team.iter().try_fold(0u128, |a, tl| tokenomics::outstanding(tl).and_then(|o| a.checked_add(o)));
    let outstanding = outstanding.ok_or_else(|| anyhow::anyhow!("the grants' outstanding amounts overflow"))?;
    let budget = tokenomics::team_budget(t, outstanding).map_err(|e| anyhow::anyhow!("{e}"))?;
    let token = &company.token.token;

    if args.json {
        let months: Vec<Value> = p
            .months
            .iter()
            .map(|m| {
                json!({"date": m.date.to_string(), "total_supply": m.total_supply.to_string(),
                       "circulating": m.circulating.to_string(), "emitted": m.emitted.to_string(),
                       "burned": m.burned.to_string(),
                       "buckets": m.buckets.iter().map(|b| json!({"id": b.id, "unlocked": b.unlocked.to_string(),
                           "emitted": b.emitted.to_string(), "burned": b.burned.to_string()})).collect::<Vec<_>>()})
            })
            .collect();
        let calendar: Vec<Value> = p
            .calendar
            .iter()
            .map(|u| {
                json!({"date": u.date.to_string(), "bucket": u.bucket, "amount": u.amount.to_string(),
                            "share_of_circulating_bps": u.share_of_circulating_bps})
            })
            .collect();
        let doc = json!({
            "token": token_json(token),
            "total_supply": t.total_supply.base_units().to_string(),
            "tge": t.tge.to_string(),
            "buckets": t.buckets.iter().map(|b| json!({"id": b.id, "name": b.name, "kind": b.kind.as_str(),
                "amount": b.amount.base_units().to_string()})).collect::<Vec<_>>(),
            "team_budget": {"bucket": budget.bucket, "allocation": budget.allocation.base_units().to_string(),
                            "outstanding": budget.outstanding.base_units().to_string(),
                            "remaining": budget.remaining.base_units().to_string(),
                            // Beyond the bucket (zero within it): allocation + excess =
                            // outstanding + remaining, always.
                            "excess": budget.excess().base_units().to_string()},
            "months": months,
            "unlock_calendar": calendar,
        });
        doc_out = Some(doc);
    } else {
        print_tokenomics(company, t, &p, &budget);
    }
    if let Some(dir) = args.charts.dir(g) {
        let (supply, unlocks) = tokenomics_charts(company, t, &p);
        let a = write_chart(&dir, "supply.svg", supply)?;
        let b = write_chart(&dir, "unlocks.svg", unlocks)?;
        if !args.json {
            outln!("\ncharts: {}, {}", a.display(), b.display());
        }
    }
    Ok(doc_out)
}

fn print_tokenomics(c: &Company, t: &tokenomics::Tokenomics, p: &Projection, budget: &tokenomics::Budget) {
    let token = &c.token.token;
    let sym = token.symbol();
    outln!("{} — {} tokenomics, TGE {}", c.company.name, sym, t.tge);
    outln!("  total supply at TGE   {} {sym}", fmt_tokens(token, t.total_supply.base_units()));
    for b in &t.buckets {
        outln!(
            "  {:<22}{:>16} {sym}  {}",
            format!("{} ({})", b.id, b.kind.as_str()),
            fmt_tokens(token, b.amount.base_units()),
            b.name
        );
    }
    outln!(
        "  team budget           {} {sym} allocated, {} outstanding in grants, {} remaining",
        fmt_tokens(token, budget.allocation.base_units()),
        fmt_tokens(token, budget.outstanding.base_units()),
        fmt_tokens(token, budget.remaining.base_units())
    );
    outln!();
    outln!(
        "{:<11} {:>16} {:>16} {:>7}  unlocks this month (share of circulating)",
        "month end",
        "total supply",
        "circulating",
        "circ%"
    );
    for m in &p.months {
        let pct = m.circulating.saturating_mul(1000).checked_div(m.total_supply).unwrap_or(0);
        let unlocks: Vec<String> = p
            .calendar
            .iter()
            .filter(|u| u.date == m.date)
            .map(|u| {
                format!(
                    "{} {} ({}.{:02}%)",
                    u.bucket,
                    fmt_tokens(token, u.amount),
                    u.share_of_circulating_bps / 100,
                    u.share_of_circulating_bps % 100
                )
            })
            .collect();
        outln!(
            "{:<11} {:>16} {:>16} {:>5}.{}%  {}",
            m.date.to_string(),
            fmt_tokens(token, m.total_supply),
            fmt_tokens(token, m.circulating),
            pct / 10,
            pct % 10,
            unlocks.join(", ")
        );
    }
}

fn month_label(d: Date) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

fn tokenomics_charts(
    c: &Company,
    t: &tokenomics::Tokenomics,
    p: &Projection,
) -> (Result<String, svg::ChartError>, Result<String, svg::ChartError>) {
    let token = &c.token.token;
    let sym = token.symbol();
    let x: Vec<String> = p.months.iter().map(|m| month_label(m.date)).collect();
    let mut series: Vec<svg::Series> = t
        .buckets
        .iter()
        .enumerate()
        .map(|(i, b)| svg::Series {
            name: format!("{} unlocked", b.id),
            values: p.months.iter().map(|m| m.buckets.get(i).map_or(0.0, |s| tokens_f64(token, s.unlocked))).collect(),
            kind: svg::SeriesKind::Area,
        })
        .collect();
    series.push(svg::Series {
        name: "total supply".into(),
        values: p.months.iter().map(|m| tokens_f64(token, m.total_supply)).collect(),
        kind: svg::SeriesKind::Line,
    });
    series.push(svg::Series {
        name: "circulating".into(),
        values: p.months.iter().map(|m| tokens_f64(token, m.circulating)).collect(),
        kind: svg::SeriesKind::Line,
    });
    let supply = svg::LineChart {
        title: format!("{sym} supply by month"),
        x_label: "month end".into(),
        y_label: sym.into(),
        x: x.clone(),
        series,
    }
    .render();
    let bars: Vec<svg::BarSeries> = t
        .buckets
        .iter()
        .map(|b| svg::BarSeries {
            name: b.id.clone(),
            values: p
                .months
                .iter()
                .map(|m| {
                    p.calendar
                        .iter()
                        .filter(|u| u.date == m.date && u.bucket == b.id)
                        .map(|u| tokens_f64(token, u.amount))
                        .sum()
                })
                .collect(),
        })
        .collect();
    let unlocks = svg::StackedBars {
        title: format!("{sym} unlock calendar"),
        x_label: "month end".into(),
        y_label: format!("{sym} unlocked"),
        x,
        series: bars,
    }
    .render();
    (supply, unlocks)
}

// ---------------------------------------------------------------------------------------------
// fairness

#[derive(Args, Debug)]
pub struct FairnessArgs {
    /// Value today at the last close on or before this date (default: today).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Cohorts by hire quarter or year.
    #[arg(long, default_value = "quarter", value_parser = ["quarter", "year"])]
    pub by: String,
    /// How many people to list as most over- and under-compensated.
    #[arg(long, default_value_t = 3)]
    pub top: usize,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub charts: ChartArgs,
}

/// A grant's price at grant: the fiat price its size was given at, else the close of its day
/// (or the last close before it).
fn grant_price(c: &Company, size: &GrantSize, day: Date) -> Option<(Decimal, String)> {
    if let GrantSize::Fiat { price, currency, .. } = size
        && *currency == Currency::USD
    {
        return Some((*price, "grant terms".into()));
    }
    close_on_or_before(c, day).map(|(d, p)| (p, format!("close {d}")))
}

pub fn fairness_cmd(g: &Global, args: &FairnessArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let tz = &company.company.time_zone;
    let as_of = parse_as_of(args.as_of.as_deref(), tz, None)?;
    let token = &company.token.token;
    let (price_day, today_price) = close_on_or_before(&company, as_of)
        .ok_or_else(|| bad_input(format!("no USD close on or before {as_of}"), "--as-of"))?;
    let tl = timelines(&company, as_of)?;
    let mut holders: Vec<Holder> = Vec::new();
    let mut missing = Vec::new();
    for (pid, person) in &company.people {
        let mut grants = Vec::new();
        let mut held = TokenAmount::ZERO;
        let mut first = None::<Date>;
        for (gid, rec) in company.grants.iter().filter(|(_, r)| r.terms.grant.holder == *pid) {
            let day = rec.terms.grant_date;
            if day > as_of {
                continue;
            }
            let Some((price, _)) = grant_price(&company, &rec.terms.size, day) else {
                missing.push(format!("{gid} (granted {day})"));
                continue;
            };
            let pos = tl[gid].position(as_of);
            grants.push(GrantValue { date: day, tokens: pos.granted, price });
            held = held.checked_add(pos.granted.saturating_sub(pos.forfeited)).map_err(|e| anyhow::anyhow!("{e}"))?;
            first = Some(first.map_or(day, |f: Date| f.min(day)));
        }
        if grants.is_empty() {
            continue;
        }
        let hired = person.hired.or(first).unwrap_or(as_of);
        holders.push(Holder { id: pid.clone(), hired, grants, held });
    }
    if !missing.is_empty() {
        return Err(bad_input(
            format!("no USD price at grant for {}", missing.join(", ")),
            "prices: import a close on or before each grant date",
        ));
    }
    let period = if args.by == "year" { CohortPeriod::Year } else { CohortPeriod::Quarter };
    let f = fairness::fairness(token, &holders, today_price, period, args.top)
        .map_err(|e| anyhow::anyhow!("fairness: {e}"))?;
    if args.json {
        let stats = |s: &fairness::Stats| {
            json!({"count": s.count, "total": s.total.to_string(), "mean": s.mean.to_string(), "median": s.median.to_string(),
                   "min": s.min.to_string(), "max": s.max.to_string(),
                   "max_min_ratio": s.max_min_ratio.map(|r| r.to_string()), "gini": s.gini.to_string()})
        };
        let person = |p: &fairness::PersonValue| {
            json!({"id": p.id, "cohort": p.cohort.to_string(), "at_grant_usd": p.at_grant.to_string(),
                   "today_usd": p.today.to_string(), "to_cohort_median": p.to_median.map(|r| r.to_string())})
        };
        let doc = json!({
            "as_of": as_of.to_string(),
            "price": {"date": price_day.to_string(), "close_usd": today_price.to_string()},
            "by": args.by,
            "company": {"at_grant": stats(&f.company_at_grant), "today": stats(&f.company_today)},
            "cohorts": f.cohorts.iter().map(|c| json!({"cohort": c.cohort.to_string(), "at_grant": stats(&c.at_grant), "today": stats(&c.today)})).collect::<Vec<_>>(),
            "people": f.people.iter().map(person).collect::<Vec<_>>(),
            "most_over": f.most_over.iter().map(person).collect::<Vec<_>>(),
            "most_under": f.most_under.iter().map(person).collect::<Vec<_>>(),
        });
        outln!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        outln!(
            "{} — grant value by hire {} (today: close {today_price} USD on {price_day})",
            company.company.name,
            args.by
        );
        outln!(
            "{:<9} {:>3} {:>14} {:>14} {:>14} {:>14} {:>9} {:>8} {:>8}",
            "cohort",
            "n",
            "median grant",
            "median today",
            "min today",
            "max today",
            "max/min",
            "gini@g",
            "gini"
        );
        let row = |name: String, a: &fairness::Stats, t: &fairness::Stats| {
            outln!(
                "{:<9} {:>3} {:>14} {:>14} {:>14} {:>14} {:>9} {:>8} {:>8}",
                name,
                t.count,
                a.median.round_dp(0),
                t.median.round_dp(0),
                t.min.round_dp(0),
                t.max.round_dp(0),
                t.max_min_ratio.map_or("-".into(), |r| r.round_dp(2).to_string()),
                a.gini.round_dp(3),
                t.gini.round_dp(3)
            );
        };
        for c in &f.cohorts {
            row(c.cohort.to_string(), &c.at_grant, &c.today);
        }
        row("company".into(), &f.company_at_grant, &f.company_today);
        let list = |title: &str, ps: &[fairness::PersonValue]| {
            outln!("\n{title}");
            for p in ps {
                outln!(
                    "  {:<10} {:<8} today {:>12} USD, {}× the cohort median (at grant {} USD)",
                    p.id,
                    p.cohort.to_string(),
                    p.today.round_dp(2),
                    p.to_median.map_or("-".into(), |r| r.round_dp(2).to_string()),
                    p.at_grant.round_dp(2)
                );
            }
        };
        list("most over-compensated relative to their cohort", &f.most_over);
        list("most under-compensated relative to their cohort", &f.most_under);
    }
    if let Some(dir) = args.charts.dir(g) {
        let mut groups: Vec<svg::Group> = Vec::new();
        for c in &f.cohorts {
            let points = f
                .people
                .iter()
                .filter(|p| p.cohort == c.cohort)
                .filter_map(|p| {
                    let hired = holders.iter().find(|h| h.id == p.id)?.hired;
                    Some(svg::Point { date: hired, value: decimal_f64(p.today), label: p.id.clone() })
                })
                .collect();
            groups.push(svg::Group { name: c.cohort.to_string(), points, median: Some(decimal_f64(c.today.median)) });
        }
        let chart = svg::Scatter {
            title: format!("Grant value today by hire date (close {today_price} USD)"),
            x_label: "hired".into(),
            y_label: "value today (USD)".into(),
            groups,
        }
        .render();
        let path = write_chart(&dir, "fairness.svg", chart)?;
        if !args.json {
            outln!("\nchart: {}", path.display());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// simulate

#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// The person whose package is valued (default: the company view: every floor and the
    /// team's unlocks).
    #[arg(long)]
    pub person: Option<String>,
    /// Simulate from the end of this day (default: today); the spot is the last close on or
    /// before it and the history is every close up to it.
    #[arg(long)]
    pub as_of: Option<String>,
    /// The price model: gbm, merton (jump-diffusion) or bootstrap (resampled history).
    #[arg(long, default_value = "gbm", value_parser = ["gbm", "merton", "bootstrap"])]
    pub model: String,
    /// Annual drift (default 0: the history's drift is shown, not used, because a few years of
    /// a token's prices say little about its future drift; its standard error shows how little).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub mu: f64,
    /// Annual volatility (default: estimated from the price history).
    #[arg(long)]
    pub sigma: Option<f64>,
    /// Merton: jumps per year.
    #[arg(long, default_value_t = 1.0)]
    pub jump_intensity: f64,
    /// Merton: mean of the log jump size.
    #[arg(long, default_value_t = -0.1, allow_hyphen_values = true)]
    pub jump_mean: f64,
    /// Merton: standard deviation of the log jump size.
    #[arg(long, default_value_t = 0.25)]
    pub jump_std: f64,
    /// Bootstrap: days per resampled block.
    #[arg(long, default_value_t = 5)]
    pub block: usize,
    /// Monte Carlo paths.
    #[arg(long, default_value_t = 20_000)]
    pub paths: usize,
    /// Seed: the same seed gives the same numbers on any machine and thread count.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// A flat tax rate on everything realized (e.g. 0.35), for after-tax values.
    #[arg(long)]
    pub tax_rate: Option<f64>,
    /// Report the probability that the package realizes less than this many USD.
    #[arg(long)]
    pub below: Option<f64>,
    /// Risk-free rate for pricing the floor (annual, continuously compounded).
    #[arg(long, default_value_t = 0.04)]
    pub rate: f64,
    /// Depth of the token/USD pool sold into: USD on its quote side (default 2,000,000), and
    /// tokens on the other at the spot.
    #[arg(long, default_value = "2000000")]
    pub pool_usd: String,
    /// The pool's fee in basis points (Uniswap V2: 30).
    #[arg(long, default_value_t = 30)]
    pub fee_bps: u32,
    /// Between months, arbitrage restores this share of the price move (0 = none, the worst
    /// case; 10000 = all of it).
    #[arg(long, default_value_t = 0)]
    pub recovery_bps: u32,
    /// Token vs equity: the equity's annual volatility.
    #[arg(long, default_value_t = 0.6)]
    pub equity_sigma: f64,
    /// Token vs equity: the equity's annual drift.
    #[arg(long, default_value_t = 0.15)]
    pub equity_mu: f64,
    /// Token vs equity: years until an exit.
    #[arg(long, default_value_t = 6.0)]
    pub exit_years: f64,
    /// Token vs equity: probability the exit happens.
    #[arg(long, default_value_t = 0.5)]
    pub exit_probability: f64,
    /// Token vs equity: ordinary income rate on tokens at vest.
    #[arg(long, default_value_t = 0.37)]
    pub ordinary_rate: f64,
    /// Token vs equity: capital gains rate on equity at exit.
    #[arg(long, default_value_t = 0.2)]
    pub capital_gains_rate: f64,
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub charts: ChartArgs,
}

/// A future vest of the simulated package, exact, with its floor share.
struct FutureVest {
    date: Date,
    grant: String,
    units: u128,
    /// The grant's floor spread in proportion to units (USD), when it has one.
    floor: Option<Decimal>,
}

/// The vests after `as_of` of `grants` (all grants when `person` is `None`), each with the
/// floor payroll would pay it against (`payroll::vest_floor`, exact base units).
fn future_vests(
    c: &Company,
    tl: &BTreeMap<String, Timeline>,
    as_of: Date,
    person: Option<&str>,
) -> Result<Vec<FutureVest>> {
    let mut out = Vec::new();
    for (id, rec) in &c.grants {
        if person.is_some_and(|p| rec.terms.grant.holder != p) {
            continue;
        }
        let t = &tl[id];
        for tr in t.tranches.iter().filter(|tr| tr.date > as_of) {
            let floor = tokencomp_compliance::payroll::vest_floor(&rec.terms, tr.amount)
                .map_err(|e| anyhow::anyhow!("grant {id}: {e}"))?;
            out.push(FutureVest { date: tr.date, grant: id.clone(), units: tr.amount.base_units(), floor });
        }
    }
    out.sort_by(|a, b| a.date.cmp(&b.date).then(a.grant.cmp(&b.grant)));
    Ok(out)
}

fn years_between(from: Date, to: Date) -> f64 {
    let days = tokencomp_core::calendar::to_day(to) - tokencomp_core::calendar::to_day(from);
    f64::from(days) / tokencomp_risk::DAYS_PER_YEAR
}

fn bar(quiet: bool, stages: u64) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let b = indicatif::ProgressBar::new(stages);
    b.set_style(
        indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    b.set_prefix("simulate");
    b
}

fn usd(x: f64) -> String {
    let r = x.round();
    let neg = r < 0.0;
    let digits = format!("{:.0}", r.abs());
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if neg { format!("-{out}") } else { out }
}

pub fn simulate(g: &Global, args: &SimulateArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    if let Some(doc) = simulate_in(g, &company, args)? {
        outln!("{}", serde_json::to_string_pretty(&doc)?);
    }
    Ok(())
}

/// `simulate` on a loaded company: the JSON document when `--json`, else the report printed.
pub fn simulate_in(g: &Global, company: &Company, args: &SimulateArgs) -> Result<Option<Value>> {
    let mut doc_out = None;
    use tokencomp_core::amm::{self, Pool, Recovery};
    use tokencomp_risk::{Bootstrap, Gbm, Merton, Model, Package, Vest};

    let tz = &company.company.time_zone;
    let token = &company.token.token;
    let as_of = parse_as_of(args.as_of.as_deref(), tz, None)?;
    if let Some(p) = &args.person
        && !company.people.contains_key(p)
    {
        return Err(bad_input(format!("no person has id `{p}`"), "--person"));
    }
    if args.paths == 0 {
        return Err(bad_input("at least one path is needed", "--paths"));
    }
    let (spot_day, spot) = close_on_or_before(company, as_of)
        .ok_or_else(|| bad_input(format!("no USD close on or before {as_of}"), "--as-of"))?;
    let closes: Vec<f64> = company
        .prices
        .range((Currency::USD, Date::MIN)..=(Currency::USD, as_of))
        .map(|(_, p)| decimal_f64(*p))
        .collect();
    let est = tokencomp_risk::estimate(&closes).map_err(|e| bad_input(format!("price history: {e}"), "prices"))?;
    let mu = args.mu;
    let sigma = args.sigma.unwrap_or(est.sigma);
    let bad = |e: tokencomp_risk::RiskError, flag: &str| bad_input(e, flag);
    let model = match args.model.as_str() {
        "merton" => Model::Merton(
            Merton::new(mu, sigma, args.jump_intensity, args.jump_mean, args.jump_std)
                .map_err(|e| bad(e, "--model merton"))?,
        ),
        "bootstrap" => Model::Bootstrap(Bootstrap::from_closes(&closes, args.block).map_err(|e| bad(e, "--block"))?),
        _ => Model::Gbm(Gbm::new(mu, sigma).map_err(|e| bad(e, "--mu/--sigma"))?),
    };
    let s0 = decimal_f64(spot);
    let tl = timelines(company, as_of)?;
    let vests = future_vests(company, &tl, as_of, args.person.as_deref())?;
    let pb = bar(args.quiet || args.json, if args.person.is_some() { 4 } else { 2 });

    // The pool: `pool_usd` of USDC (6 decimals) against tokens at the spot.
    let usdc = Token::new("USDC", 6).map_err(|e| anyhow::anyhow!("{e}"))?;
    let pool_usd: Decimal = args
        .pool_usd
        .parse()
        .ok()
        .filter(|d: &Decimal| *d > Decimal::ZERO)
        .ok_or_else(|| bad_input(format!("`{}` is not a positive USD amount", args.pool_usd), "--pool-usd"))?;
    let quote_units = usdc.parse(&pool_usd.round_dp(6).to_string()).map_err(|e| bad_input(e, "--pool-usd"))?;
    let pool_tokens =
        tokencomp_money::tokens_for_value(token, pool_usd, spot).map_err(|e| bad_input(e, "--pool-usd"))?;
    let pool = Pool::new(pool_tokens.base_units(), quote_units.base_units(), args.fee_bps)
        .map_err(|e| bad_input(e, "--fee-bps / --pool-usd"))?;
    let recovery = Recovery { restore_bps: args.recovery_bps };
    pb.set_message("liquidity");
    let unlocks: Vec<(Date, u128)> = vests.iter().map(|v| (v.date, v.units)).collect();
    let sales = if unlocks.is_empty() {
        None
    } else {
        Some(amm::sell_unlocks(&pool, &unlocks, 1, recovery).map_err(|e| bad_input(e, "--recovery-bps"))?)
    };
    let liquidity = match &sales {
        Some(s) => {
            let ill = s.illusion().map_err(|e| anyhow::anyhow!("{e}"))?;
            let q = |u: u128| amm::quote_to_decimal(&usdc, u).map(|d| d.to_string()).unwrap_or_default();
            json!({"pool": {"tokens": pool.token_reserve.to_string(), "usd": q(pool.quote_reserve), "fee_bps": pool.fee_bps},
                   "recovery_bps": args.recovery_bps, "months": s.months.len(),
                   "tokens": s.tokens.to_string(), "paper_value_usd": q(ill.paper_value),
                   "realizable_usd": q(ill.realizable), "illusion_usd": q(ill.shortfall), "illusion_share": ill.share.to_string()})
        }
        None => Value::Null,
    };
    pb.inc(1);

    // The floor: a strip of puts over every future vest with a floor.
    pb.set_message("floor");
    let sim_vests: Vec<Vest> = vests
        .iter()
        .map(|v| Vest {
            time: years_between(as_of, v.date).max(0.0),
            tokens: tokens_f64(token, v.units),
            floor: v.floor.map(decimal_f64),
        })
        .collect();
    let floored: Vec<Vest> = sim_vests.iter().filter(|v| v.floor.is_some()).copied().collect();
    let floor = if floored.is_empty() {
        None
    } else {
        Some(
            tokencomp_risk::floor::floor_cost(&floored, &model, s0, args.rate, args.paths, args.seed)
                .map_err(|e| bad(e, "--rate"))?,
        )
    };
    pb.inc(1);

    // One person's package and token vs equity.
    let mut package = None;
    let mut comparison = None;
    if let Some(pid) = &args.person {
        pb.set_message("package");
        let person = &company.people[pid];
        let salary = person.salary.map(decimal_f64).unwrap_or(0.0);
        let horizon = sim_vests.last().map_or(1.0, |v| v.time.max(1.0 / 12.0));
        let pkg = Package {
            salary_per_year: salary,
            vests: sim_vests.clone(),
            horizon_years: horizon,
            tax_rate: args.tax_rate,
        };
        let dist = tokencomp_risk::value_package(&pkg, &model, s0, args.paths, args.seed, args.below)
            .map_err(|e| bad(e, "--tax-rate / --below"))?;
        pb.inc(1);
        pb.set_message("token vs equity");
        let total_tokens: f64 = sim_vests.iter().map(|v| v.tokens).sum();
        if total_tokens > 0.0 {
            let fractions: Vec<(f64, f64)> = sim_vests.iter().map(|v| (v.time, v.tokens / total_tokens)).collect();
            let side = tokencomp_risk::compare::TokenSide {
                s0,
                model: model.clone(),
                vest_fractions: fractions,
                ordinary_rate: args.ordinary_rate,
            };
            let eq = tokencomp_risk::compare::EquitySide {
                gbm: Gbm::new(args.equity_mu, args.equity_sigma).map_err(|e| bad(e, "--equity-mu / --equity-sigma"))?,
                exit_years: args.exit_years,
                exit_probability: args.exit_probability,
                capital_gains_rate: args.capital_gains_rate,
            };
            comparison = Some(
                tokencomp_risk::compare::compare(total_tokens * s0, &side, &eq, args.paths, args.seed)
                    .map_err(|e| bad(e, "token vs equity"))?,
            );
        }
        pb.inc(1);
        package = Some((pkg, dist));
    }
    pb.finish_and_clear();

    let model_json = serde_json::to_value(match &model {
        Model::Bootstrap(_) => {
            json!({"kind": "bootstrap", "block": args.block, "returns": closes.len().saturating_sub(1)})
        }
        m => serde_json::to_value(m)?,
    })?;
    if args.json {
        let doc = json!({
            "token": token_json(token),
            "as_of": as_of.to_string(),
            "spot": {"date": spot_day.to_string(), "close_usd": spot.to_string()},
            "history": est,
            "model": model_json,
            "paths": args.paths,
            "seed": args.seed,
            "person": args.person,
            "vests": vests.iter().map(|v| json!({"date": v.date.to_string(), "grant": v.grant, "amount": v.units.to_string(),
                "floor_usd": v.floor.map(|f| f.round_dp(2).to_string())})).collect::<Vec<_>>(),
            "package": package.as_ref().map(|(_, d)| serde_json::to_value(d)).transpose()?,
            "floor": floor.as_ref().map(serde_json::to_value).transpose()?,
            "liquidity": liquidity,
            "token_vs_equity": comparison.as_ref().map(serde_json::to_value).transpose()?,
        });
        doc_out = Some(doc);
    } else {
        let who = args.person.as_deref().map_or("the company".to_owned(), |p| format!("{p}'s package"));
        outln!("{} — {who}, {} paths, seed {}, as of {as_of}", company.company.name, args.paths, args.seed);
        outln!("  spot            {spot} USD (close {spot_day})");
        outln!(
            "  history         {} daily returns: mean {:.5}, sd {:.5}/day → mu {:.3} ± {:.3}, sigma {:.3} a year",
            est.days,
            est.mean_daily_log_return,
            est.std_daily_log_return,
            est.mu,
            est.mu_std_error,
            est.sigma
        );
        outln!("  model           {} (mu {mu:.3}, sigma {sigma:.3})", args.model);
        let fut = vests
            .iter()
            .try_fold(0u128, |a, v| a.checked_add(v.units))
            .ok_or_else(|| anyhow::anyhow!("the future vests' total overflows u128"))?;
        outln!("  future vests    {} vests, {} {}", vests.len(), fmt_tokens(token, fut), token.symbol());
        if let Some((pkg, d)) = &package {
            let tax = pkg.tax_rate.map_or("before tax".to_owned(), |t| format!("after {:.1}% tax", t * 100.0));
            outln!("\nrealized value through the last vest (salary + tokens at vest, floor top-ups; {tax}), USD");
            outln!(
                "  mean {} (± {}), P5 {}, P50 {}, P95 {}",
                usd(d.mean),
                usd(d.std_error),
                usd(d.p5),
                usd(d.p50),
                usd(d.p95)
            );
            if let (Some(x), Some(p)) = (d.threshold, d.prob_below) {
                outln!("  P(value < {}) = {:.1}%", usd(x), p * 100.0);
            }
        }
        if let Some(f) = &floor {
            outln!(
                "\nfloor guarantee (a strip of {} puts at rate {:.2}%), USD today",
                f.per_vest.len(),
                args.rate * 100.0
            );
            outln!(
                "  expected cost {} (± {}), P95 {}, P99 {}, P(any top-up) {:.1}%{}",
                usd(f.mc_mean),
                usd(f.mc_std_error),
                usd(f.p95),
                usd(f.p99),
                f.prob_any_topup * 100.0,
                f.closed_form.map_or(String::new(), |c| format!(", closed form {}", usd(c)))
            );
        } else {
            outln!("\nfloor guarantee: no future vest has a floor");
        }
        if let Some(s) = &sales {
            let ill = s.illusion().map_err(|e| anyhow::anyhow!("{e}"))?;
            let q = |u: u128| amm::quote_to_decimal(&usdc, u).map(|d| d.round_dp(0).to_string()).unwrap_or_default();
            outln!(
                "\nliquidity: selling every future unlock month by month into a {} USD / {} {} pool ({} bps fee, {} bps recovery)",
                usd(decimal_f64(pool_usd)),
                fmt_tokens(token, pool.token_reserve),
                token.symbol(),
                pool.fee_bps,
                args.recovery_bps
            );
            outln!(
                "  paper value {} USD, realizable {} USD, liquidity illusion {} USD ({}% of paper)",
                q(ill.paper_value),
                q(ill.realizable),
                q(ill.shortfall),
                (ill.share * Decimal::from(100)).round_dp(2)
            );
        }
        if let Some(cmp) = &comparison {
            outln!("\ntoken vs equity, the same offer ({} USD at today's price)", usd(cmp.offer_value));
            for [a, t, e] in cmp.rows() {
                outln!("  {a}\n    token   {t}\n    equity  {e}");
            }
        }
    }
    if let Some(dir) = args.charts.dir(g)
        && let Some((_, d)) = &package
    {
        let labels: Vec<String> = vests.iter().map(|v| month_label(v.date)).collect();
        let chart = svg::FanChart {
            title: format!("{}: realized value, {} paths", args.person.as_deref().unwrap_or(""), args.paths),
            x_label: "vest".into(),
            y_label: "cumulative value (USD)".into(),
            x: labels,
            bands: d
                .fan
                .iter()
                .map(|f| svg::Quantiles { p5: f.p5, p25: f.p25, p50: f.p50, p75: f.p75, p95: f.p95 })
                .collect(),
            reference: args.below.map(|b| svg::Reference { name: "threshold".into(), value: b }),
        }
        .render();
        let path = write_chart(&dir, "value.svg", chart)?;
        if !args.json {
            outln!("\nchart: {}", path.display());
        }
    }
    Ok(doc_out)
}
