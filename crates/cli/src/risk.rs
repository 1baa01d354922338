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
use jiff::civil::Date;
use serde_json::Value;
use tokencomp_core::fairness;
use tokencomp_core::tokenomics::{self, Projection};
use tokencomp_money::{Decimal, Token, TokenAmount};
use tokencomp_store::ledger::Company;

use tokencomp_service::analytics::{STAGES_COMPANY, STAGES_PERSON, SimulateRequest};

use crate::company::{load, open_store};
use crate::schedule::parse_as_of;
use crate::svg;
use crate::{Global, outln};

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
        (!self.no_charts).then(|| self.charts.clone().unwrap_or_else(|| g.dir().charts_dir()))
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
    let tz = &company.company.time_zone;
    let today = parse_as_of(None, tz, None)?;
    let through = args.through.as_deref().map(|s| tokencomp_service::reports::date_arg(s, "--through")).transpose()?;
    let report = tokencomp_service::analytics::tokenomics(company, through, today, "--through")?;
    let (t, p) = (&report.tokenomics, &report.projection);
    let doc_out = if args.json {
        Some(report.to_json())
    } else {
        print_tokenomics(company, t, p, &report.budget);
        None
    };
    if let Some(dir) = args.charts.dir(g) {
        let (supply, unlocks) = tokenomics_charts(company, t, p);
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

pub fn fairness_cmd(g: &Global, args: &FairnessArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let tz = &company.company.time_zone;
    let as_of = parse_as_of(args.as_of.as_deref(), tz, None)?;
    let report = tokencomp_service::analytics::fairness(&company, as_of, &args.by, args.top)?;
    let (f, holders, price_day, today_price) = (&report.f, &report.holders, report.price_day, report.today_price);
    if args.json {
        let doc = report.to_json();
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

impl SimulateArgs {
    fn request(&self) -> SimulateRequest {
        SimulateRequest {
            person: self.person.clone(),
            model: self.model.clone(),
            mu: self.mu,
            sigma: self.sigma,
            jump_intensity: self.jump_intensity,
            jump_mean: self.jump_mean,
            jump_std: self.jump_std,
            block: self.block,
            paths: self.paths,
            seed: self.seed,
            tax_rate: self.tax_rate,
            below: self.below,
            rate: self.rate,
            pool_usd: self.pool_usd.clone(),
            fee_bps: self.fee_bps,
            recovery_bps: self.recovery_bps,
            equity_sigma: self.equity_sigma,
            equity_mu: self.equity_mu,
            exit_years: self.exit_years,
            exit_probability: self.exit_probability,
            ordinary_rate: self.ordinary_rate,
            capital_gains_rate: self.capital_gains_rate,
        }
    }
}

/// `simulate` on a loaded company: the JSON document when `--json`, else the report printed.
pub fn simulate_in(g: &Global, company: &Company, args: &SimulateArgs) -> Result<Option<Value>> {
    use tokencomp_core::amm;

    let tz = &company.company.time_zone;
    let as_of = parse_as_of(args.as_of.as_deref(), tz, None)?;
    let pb = bar(args.quiet || args.json, if args.person.is_some() { STAGES_PERSON } else { STAGES_COMPANY });
    let sim = tokencomp_service::analytics::simulate(company, &args.request(), as_of, &mut |stage| match stage {
        Some(name) => pb.set_message(name.to_owned()),
        None => pb.inc(1),
    })?;
    pb.finish_and_clear();
    let mut doc_out = None;
    let (token, spot_day, spot, est, mu, sigma) = (&sim.token, sim.spot_day, sim.spot, &sim.est, sim.mu, sim.sigma);
    let (vests, package, floor, sales, comparison) =
        (&sim.vests, &sim.package, &sim.floor, &sim.sales, &sim.comparison);
    let (usdc, pool, pool_usd) = (&sim.usdc, &sim.pool, sim.pool_usd);
    if args.json {
        doc_out = Some(sim.to_json()?);
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
            let q = |u: u128| amm::quote_to_decimal(usdc, u).map(|d| d.round_dp(0).to_string()).unwrap_or_default();
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
