//! `tokenomics`, `simulate` and `fairness`: the company's supply, what a package is worth
//! under volatility and thin liquidity, and how grants compare across hire cohorts.
//!
//! Exact numbers (supply, budget, pool proceeds, fairness values) come from `tokencomp_core`;
//! the Monte Carlo comes from `tokencomp_risk`. Floats appear here only where a number is
//! handed to the simulation or drawn on a chart, never for a number that is paid or booked.

// Token amounts become floats for charts and for the simulation's inputs only.
#![allow(clippy::float_arithmetic)]

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use jiff::ToSpan;
use jiff::civil::Date;
use serde_json::{Value, json};
use tokencomp_core::Timeline;
use tokencomp_core::company::GrantSize;
use tokencomp_core::fairness::{self, CohortPeriod, GrantValue, Holder};
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
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, svg).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn token_json(t: &Token) -> Value {
    json!({"symbol": t.symbol(), "decimals": t.decimals()})
}

/// Whole tokens as a float, for charts and simulation inputs only.
pub fn tokens_f64(token: &Token, units: u128) -> f64 {
    let one = token.one();
    (units / one) as f64 + (units % one) as f64 / one as f64
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
    let tl = timelines(&company, through)?;
    let team: Vec<Timeline> = tl.into_values().collect();
    let p = tokenomics::project(t, Some(&team), through, tz).map_err(|e| anyhow::anyhow!("projection: {e}"))?;
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
                            "remaining": budget.remaining.base_units().to_string()},
            "months": months,
            "unlock_calendar": calendar,
        });
        outln!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print_tokenomics(&company, t, &p, &budget);
    }
    if let Some(dir) = args.charts.dir(g) {
        let (supply, unlocks) = tokenomics_charts(&company, t, &p);
        let a = write_chart(&dir, "supply.svg", supply)?;
        let b = write_chart(&dir, "unlocks.svg", unlocks)?;
        if !args.json {
            outln!("\ncharts: {}, {}", a.display(), b.display());
        }
    }
    Ok(())
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
