//! Analytics over the ledger (records nothing): the token's supply by month and the team
//! budget, what a package is worth under volatility and thin liquidity, and how grants compare
//! across hire cohorts. Exact numbers come from `tokencomp_core`; floats go only to
//! `tokencomp_risk` (the Monte Carlo) and back out for display.

// Token amounts become floats for the simulation's inputs only.
#![allow(clippy::float_arithmetic)]

use std::collections::BTreeMap;

use jiff::ToSpan;
use jiff::civil::Date;
use serde_json::{Value, json};
use tokencomp_core::Timeline;
use tokencomp_core::amm::{self, Pool, Recovery, UnlockSales};
use tokencomp_core::fairness::{self, CohortPeriod, Fairness, GrantValue, Holder};
use tokencomp_core::model::GrantSize;
use tokencomp_core::tokenomics::{self, Budget, Projection, Tokenomics};
use tokencomp_money::{Currency, Decimal, Token, TokenAmount};
use tokencomp_risk::compare::Comparison;
use tokencomp_risk::floor::FloorCost;
use tokencomp_risk::{Bootstrap, Distribution, Estimate, Gbm, Merton, Model, Package, Vest};
use tokencomp_store::ledger::Company;

use crate::error::{Error, Result, bad_input};
use crate::payroll::timelines;

fn token_json(t: &Token) -> Value {
    json!({"symbol": t.symbol(), "decimals": t.decimals()})
}

/// Whole tokens as a float, for simulation inputs only.
fn tokens_f64(token: &Token, units: u128) -> f64 {
    tokencomp_risk::tokens_f64(units, token.decimals())
}

/// A decimal as a float, for charts and simulation inputs only.
pub fn decimal_f64(d: Decimal) -> f64 {
    d.to_string().parse().unwrap_or(f64::NAN)
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

/// The `[tokenomics]` projection and the team budget.
pub struct TokenomicsReport {
    pub token: Token,
    pub tokenomics: Tokenomics,
    pub projection: Projection,
    pub budget: Budget,
}

/// The projection through the end of `through`'s month (default: five years after the TGE, or a
/// year after `today` when that is later). `field` names where `through` came from.
pub fn tokenomics(company: &Company, through: Option<Date>, today: Date, field: &str) -> Result<TokenomicsReport> {
    let Some(t) = &company.tokenomics else {
        return Err(Error::not_found(
            "the company has no [tokenomics] section",
            "company file: add [tokenomics] and `tokencomp apply` it",
        ));
    };
    let tz = &company.company.time_zone;
    let through = match through {
        Some(d) => d,
        None => {
            let five = t.tge.checked_add(60.months()).unwrap_or(t.tge);
            five.max(today.checked_add(12.months()).unwrap_or(today))
        }
    };
    let tl = timelines(company, through)?;
    let team: Vec<Timeline> = tl.into_values().collect();
    let p =
        tokenomics::project(t, Some(&team), through, tz).map_err(|e| bad_input(format!("projection: {e}"), field))?;
    let outstanding = team.iter().try_fold(0u128, |a, tl| tokenomics::outstanding(tl).and_then(|o| a.checked_add(o)));
    let outstanding = outstanding.ok_or_else(|| Error::internal("the grants' outstanding amounts overflow"))?;
    let budget = tokenomics::team_budget(t, outstanding)?;
    Ok(TokenomicsReport { token: company.token.token.clone(), tokenomics: t.clone(), projection: p, budget })
}

impl TokenomicsReport {
    /// `tokenomics --json`'s document, and the API's answer: exact base units.
    pub fn to_json(&self) -> Value {
        let (t, p, budget, token) = (&self.tokenomics, &self.projection, &self.budget, &self.token);
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
        doc
    }
}

// ---------------------------------------------------------------------------------------------
// fairness

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

/// Grant value across hire cohorts.
pub struct FairnessReport {
    pub as_of: Date,
    pub price_day: Date,
    pub today_price: Decimal,
    /// `quarter` or `year`.
    pub by: String,
    pub holders: Vec<Holder>,
    pub f: Fairness,
}

/// `fairness` on a loaded company: value today at the last close on or before `as_of`, cohorts
/// by hire `by` (`quarter` or `year`), the `top` people furthest from their cohort's median.
pub fn fairness(company: &Company, as_of: Date, by: &str, top: usize) -> Result<FairnessReport> {
    let token = &company.token.token;
    let (price_day, today_price) = close_on_or_before(company, as_of)
        .ok_or_else(|| bad_input(format!("no USD close on or before {as_of}"), "--as-of"))?;
    let tl = timelines(company, as_of)?;
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
            let Some((price, _)) = grant_price(company, &rec.terms.size, day) else {
                missing.push(format!("{gid} (granted {day})"));
                continue;
            };
            let pos = tl[gid].position(as_of);
            grants.push(GrantValue { date: day, tokens: pos.granted, price });
            held = held.checked_add(pos.granted.saturating_sub(pos.forfeited)).map_err(Error::internal)?;
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
    let period = if by == "year" { CohortPeriod::Year } else { CohortPeriod::Quarter };
    let f = fairness::fairness(token, &holders, today_price, period, top)
        .map_err(|e| Error::internal(format!("fairness: {e}")))?;
    Ok(FairnessReport { as_of, price_day, today_price, by: by.to_owned(), holders, f })
}

impl FairnessReport {
    /// `fairness --json`'s document.
    pub fn to_json(&self) -> Value {
        let (f, as_of, price_day, today_price) = (&self.f, self.as_of, self.price_day, self.today_price);
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
            "by": self.by,
            "company": {"at_grant": stats(&f.company_at_grant), "today": stats(&f.company_today)},
            "cohorts": f.cohorts.iter().map(|c| json!({"cohort": c.cohort.to_string(), "at_grant": stats(&c.at_grant), "today": stats(&c.today)})).collect::<Vec<_>>(),
            "people": f.people.iter().map(person).collect::<Vec<_>>(),
            "most_over": f.most_over.iter().map(person).collect::<Vec<_>>(),
            "most_under": f.most_under.iter().map(person).collect::<Vec<_>>(),
        });
        doc
    }
}

// ---------------------------------------------------------------------------------------------
// simulate

/// `simulate`'s settings (the CLI's flags; the API sets `person`, `paths`, `seed`).
#[derive(Clone, Debug)]
pub struct SimulateRequest {
    pub person: Option<String>,
    /// `gbm`, `merton` or `bootstrap`.
    pub model: String,
    pub mu: f64,
    pub sigma: Option<f64>,
    pub jump_intensity: f64,
    pub jump_mean: f64,
    pub jump_std: f64,
    pub block: usize,
    pub paths: usize,
    pub seed: u64,
    pub tax_rate: Option<f64>,
    pub below: Option<f64>,
    pub rate: f64,
    pub pool_usd: String,
    pub fee_bps: u32,
    pub recovery_bps: u32,
    pub equity_sigma: f64,
    pub equity_mu: f64,
    pub exit_years: f64,
    pub exit_probability: f64,
    pub ordinary_rate: f64,
    pub capital_gains_rate: f64,
}

impl Default for SimulateRequest {
    /// The command line's defaults.
    fn default() -> SimulateRequest {
        SimulateRequest {
            person: None,
            model: "gbm".into(),
            mu: 0.0,
            sigma: None,
            jump_intensity: 1.0,
            jump_mean: -0.1,
            jump_std: 0.25,
            block: 5,
            paths: 20_000,
            seed: 1,
            tax_rate: None,
            below: None,
            rate: 0.04,
            pool_usd: "2000000".into(),
            fee_bps: 30,
            recovery_bps: 0,
            equity_sigma: 0.6,
            equity_mu: 0.15,
            exit_years: 6.0,
            exit_probability: 0.5,
            ordinary_rate: 0.37,
            capital_gains_rate: 0.2,
        }
    }
}

/// A future vest of the simulated package, exact, with its floor share.
pub struct FutureVest {
    pub date: Date,
    pub grant: String,
    pub units: u128,
    /// The grant's floor spread in proportion to units (USD), when it has one.
    pub floor: Option<Decimal>,
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
                .map_err(|e| Error::internal(format!("grant {id}: {e}")))?;
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

/// What a simulation found.
pub struct Simulation {
    pub request: SimulateRequest,
    pub token: Token,
    pub as_of: Date,
    pub spot_day: Date,
    pub spot: Decimal,
    pub est: Estimate,
    pub closes: usize,
    pub model: Model,
    pub mu: f64,
    pub sigma: f64,
    pub vests: Vec<FutureVest>,
    pub pool_usd: Decimal,
    pub pool: Pool,
    pub usdc: Token,
    pub sales: Option<UnlockSales>,
    pub liquidity: Value,
    pub floor: Option<FloorCost>,
    pub package: Option<(Package, Distribution)>,
    pub comparison: Option<Comparison>,
}

/// The stages a simulation reports to its progress callback.
pub const STAGES_COMPANY: u64 = 2;
pub const STAGES_PERSON: u64 = 4;

/// `simulate` on a loaded company from the end of `as_of`. `progress` hears each stage's name
/// as it starts and `None` when one ends.
pub fn simulate(
    company: &Company,
    args: &SimulateRequest,
    as_of: Date,
    progress: &mut dyn FnMut(Option<&str>),
) -> Result<Simulation> {
    let token = &company.token.token;
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

    // The pool: `pool_usd` of USDC (6 decimals) against tokens at the spot.
    let usdc = Token::new("USDC", 6).map_err(Error::internal)?;
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
    progress(Some("liquidity"));
    let unlocks: Vec<(Date, u128)> = vests.iter().map(|v| (v.date, v.units)).collect();
    let sales = if unlocks.is_empty() {
        None
    } else {
        Some(amm::sell_unlocks(&pool, &unlocks, 1, recovery).map_err(|e| bad_input(e, "--recovery-bps"))?)
    };
    let liquidity = match &sales {
        Some(s) => {
            let ill = s.illusion().map_err(Error::internal)?;
            let q = |u: u128| amm::quote_to_decimal(&usdc, u).map(|d| d.to_string()).unwrap_or_default();
            json!({"pool": {"tokens": pool.token_reserve.to_string(), "usd": q(pool.quote_reserve), "fee_bps": pool.fee_bps},
                   "recovery_bps": args.recovery_bps, "months": s.months.len(),
                   "tokens": s.tokens.to_string(), "paper_value_usd": q(ill.paper_value),
                   "realizable_usd": q(ill.realizable), "illusion_usd": q(ill.shortfall), "illusion_share": ill.share.to_string()})
        }
        None => Value::Null,
    };
    progress(None);

    // The floor: a strip of puts over every future vest with a floor.
    progress(Some("floor"));
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
    progress(None);

    // One person's package and token vs equity.
    let mut package = None;
    let mut comparison = None;
    if let Some(pid) = &args.person {
        progress(Some("package"));
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
        progress(None);
        progress(Some("token vs equity"));
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
        progress(None);
        package = Some((pkg, dist));
    }

    Ok(Simulation {
        request: args.clone(),
        token: token.clone(),
        as_of,
        spot_day,
        spot,
        est,
        closes: closes.len(),
        model,
        mu,
        sigma,
        vests,
        pool_usd,
        pool,
        usdc,
        sales,
        liquidity,
        floor,
        package,
        comparison,
    })
}

impl Simulation {
    /// `simulate --json`'s document, and the API's answer.
    pub fn to_json(&self) -> Result<Value> {
        let (args, token, as_of, spot_day, spot, est) =
            (&self.request, &self.token, self.as_of, self.spot_day, self.spot, &self.est);
        let (vests, package, floor, liquidity, comparison) =
            (&self.vests, &self.package, &self.floor, &self.liquidity, &self.comparison);
        let model_json = serde_json::to_value(match &self.model {
            Model::Bootstrap(_) => {
                json!({"kind": "bootstrap", "block": args.block, "returns": self.closes.saturating_sub(1)})
            }
            m => serde_json::to_value(m)?,
        })?;
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
        Ok(doc)
    }
}
