//! Tokenomics: the token's total supply split into allocation buckets with their own unlock
//! schedules, emission (inflation) and burn rules, the month-end supply projection with its
//! unlock calendar, and the team bucket as the hard budget grants cannot exceed.
//!
//! The model, month by month (every point is the end of a calendar month, in the company's
//! zone, from the month of the TGE through the month of the horizon):
//! 1. each bucket's *unlocked* amount is its schedule's vested amount at the end of that day
//!    (`Schedule::vested`); the team bucket's is the smaller of its schedule and the tokens
//!    the team's grants have actually vested by then, when the caller passes the grants'
//!    timelines (tokens granted but not vested are not circulating, and neither are vested
//!    tokens the pool has not unlocked yet);
//! 2. each emission active that month (`from` ≤ month end ≤ `to`) mints: an `inflation` rule
//!    `floor(S × rate / 12)`, where `S` is the total supply at the previous month end (the
//!    initial supply for the TGE month) and `rate` the annual percentage, so inflation
//!    compounds monthly; a `fixed` rule its `amount`. Several rules read the same `S`.
//!    Tokens minted `into = "circulating"` circulate at once; minted into a bucket they are
//!    held by it and do not circulate (a reserve);
//! 3. each burn active that month destroys: a `fixed` rule its `amount`, a `percent` rule
//!    `floor(A × rate)` with `rate` per month, where `A` is what its source holds: the
//!    circulating supply (`of = "circulating"`), or a bucket's unlocked tokens not yet
//!    burned. A burn never takes more than `A` nor more than the circulating supply.
//!
//! *Circulating supply* is the tokens unlocked and not burned: the buckets' unlocked amounts
//! plus emissions into circulation minus every burn. So circulating ≤ total supply always,
//! and without burns it never decreases.
//!
//! Everything is exact integer arithmetic on base units (products through `mul_div_floor`'s
//! 256-bit path); rounding is down, once per rule and month. This module never reads a clock
//! or a file, and never changes a grant: the team budget is a check the caller applies.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use tokencomp_money::{TokenAmount, mul_div_floor};

use crate::calendar;
use crate::grant::Timeline;
use crate::schedule::{At, Schedule};

/// What a bucket is for; exactly one bucket is `Team`, the grant budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BucketKind {
    Team,
    Investors,
    Community,
    Treasury,
    Ecosystem,
    Other,
}

impl BucketKind {
    pub const ALL: [BucketKind; 6] = [
        BucketKind::Team,
        BucketKind::Investors,
        BucketKind::Community,
        BucketKind::Treasury,
        BucketKind::Ecosystem,
        BucketKind::Other,
    ];

    /// The name in the company file.
    pub fn as_str(self) -> &'static str {
        match self {
            BucketKind::Team => "team",
            BucketKind::Investors => "investors",
            BucketKind::Community => "community",
            BucketKind::Treasury => "treasury",
            BucketKind::Ecosystem => "ecosystem",
            BucketKind::Other => "other",
        }
    }
}

/// An allocation of the initial supply, unlocked by its own schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    pub id: String,
    pub name: String,
    pub kind: BucketKind,
    /// Base units (a `share` in the file is resolved to its exact amount).
    pub amount: TokenAmount,
    pub schedule: Schedule,
}

/// Where minted tokens go, or where burned tokens come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Circulating,
    Bucket(String),
}

impl Target {
    pub fn name(&self) -> &str {
        match self {
            Target::Circulating => "circulating",
            Target::Bucket(id) => id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmissionRule {
    /// An annual rate in basis points, minted monthly on the previous month end's supply.
    Inflation { annual_bps: u32 },
    /// A fixed amount each month.
    Fixed { per_month: TokenAmount },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Emission {
    pub id: String,
    pub rule: EmissionRule,
    pub from: Date,
    /// Inclusive; none means for ever.
    pub to: Option<Date>,
    pub into: Target,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BurnRule {
    /// A fixed amount each month (less when the source holds less).
    Fixed { per_month: TokenAmount },
    /// A share of what the source holds, in basis points per month.
    Percent { monthly_bps: u32 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Burn {
    pub id: String,
    pub rule: BurnRule,
    pub from: Date,
    pub to: Option<Date>,
    pub of: Target,
}

/// The `[tokenomics]` section of a company file, checked: buckets add up to `total_supply`
/// exactly, exactly one is the team's, every target names a bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tokenomics {
    pub total_supply: TokenAmount,
    /// Token generation event: the projection starts at the end of its month.
    pub tge: Date,
    pub buckets: Vec<Bucket>,
    pub emissions: Vec<Emission>,
    pub burns: Vec<Burn>,
}

impl Tokenomics {
    /// The team bucket (the parser guarantees exactly one).
    pub fn team(&self) -> Option<&Bucket> {
        self.buckets.iter().find(|b| b.kind == BucketKind::Team)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenomicsError {
    #[error("the projection overflows 2^128 base units at {date}")]
    Overflow { date: Date },
    #[error("{date} cannot be placed in the company's time zone: {reason}")]
    Time { date: Date, reason: String },
    #[error("the tokenomics has no team bucket")]
    NoTeamBucket,
}

/// One bucket at a month end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketSupply {
    pub id: String,
    /// Cumulative unlocked (for the team bucket, see the module doc).
    pub unlocked: u128,
    /// Cumulative minted into the bucket (held, not circulating).
    pub emitted: u128,
    /// Cumulative burned from the bucket's unlocked tokens.
    pub burned: u128,
}

/// The supply at one month end; every amount is cumulative, in base units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonthSupply {
    /// The last day of the month.
    pub date: Date,
    /// Initial supply + emitted − burned.
    pub total_supply: u128,
    pub circulating: u128,
    pub emitted: u128,
    pub burned: u128,
    pub buckets: Vec<BucketSupply>,
}

/// What a bucket unlocked in one month.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unlock {
    /// The month end.
    pub date: Date,
    pub bucket: String,
    pub amount: u128,
    /// `floor(amount × 10 000 / circulating)`, the circulating supply at the same month end
    /// (after the unlock): the share of the circulating supply this unlock is, in basis points.
    pub share_of_circulating_bps: u128,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Projection {
    pub months: Vec<MonthSupply>,
    /// Month by month, buckets in file order; months where a bucket unlocked nothing are left out.
    pub calendar: Vec<Unlock>,
}

/// The last day of `date`'s month.
fn month_end(date: Date) -> Date {
    date.last_of_month()
}

/// The month end `n` months after `tge`'s month.
fn nth_month_end(tge: Date, n: i32) -> Option<Date> {
    let first = tge.first_of_month();
    let mi = i32::from(first.year()) * 12 + i32::from(first.month()) - 1 + n;
    let (y, m) = calendar::from_month_index(mi);
    let y = i16::try_from(y).ok()?;
    let m = i8::try_from(m).ok()?;
    Date::new(y, m, 1).ok().map(month_end)
}

fn active(from: Date, to: Option<Date>, at: Date) -> bool {
    from <= at && to.is_none_or(|t| at <= t)
}

/// Tokens the team's grants have vested by the end of `date`.
fn team_vested(timelines: &[Timeline], date: Date) -> Option<u128> {
    timelines.iter().try_fold(0u128, |a, t| a.checked_add(t.position(date).vested.base_units()))
}

/// The supply at each month end from the TGE's month through `through`'s month, and the
/// unlock calendar. `team` is the team's grants' timelines, or `None` to unlock the team bucket
/// by its own schedule (see the module doc).
pub fn project(
    t: &Tokenomics,
    team: Option<&[Timeline]>,
    through: Date,
    tz: &TimeZone,
) -> Result<Projection, TokenomicsError> {
    let mut months = Vec::new();
    let mut cal = Vec::new();
    let initial = t.total_supply.base_units();
    let mut total = initial;
    let mut emitted_circ = 0u128;
    let mut emitted = 0u128;
    let mut burned = 0u128;
    let mut per: Vec<BucketSupply> =
        t.buckets.iter().map(|b| BucketSupply { id: b.id.clone(), unlocked: 0, emitted: 0, burned: 0 }).collect();
    let last = month_end(through);
    for n in 0.. {
        let Some(date) = nth_month_end(t.tge, n) else { break };
        if date > last {
            break;
        }
        let overflow = || TokenomicsError::Overflow { date };
        let instant =
            calendar::end_of_day(date, tz).map_err(|e| TokenomicsError::Time { date, reason: e.to_string() })?;
        let at = At::new(calendar::to_day(date), instant);
        // 1. unlocks.
        let mut unlocks = Vec::new();
        for (b, s) in t.buckets.iter().zip(per.iter_mut()) {
            let mut u = b.schedule.vested(b.amount.base_units(), &at);
            if let (BucketKind::Team, Some(tl)) = (b.kind, team) {
                u = u.min(team_vested(tl, date).ok_or_else(overflow)?);
            }
            if u > s.unlocked {
                unlocks.push((b.id.clone(), u - s.unlocked));
            }
            s.unlocked = s.unlocked.max(u);
        }
        // 2. emissions, all on the previous month end's supply.
        let supply_before = total;
        for e in t.emissions.iter().filter(|e| active(e.from, e.to, date)) {
            let minted = match &e.rule {
                EmissionRule::Inflation { annual_bps } => {
                    mul_div_floor(supply_before, u128::from(*annual_bps), 120_000).ok_or_else(overflow)?
                }
                EmissionRule::Fixed { per_month } => per_month.base_units(),
            };
            total = total.checked_add(minted).ok_or_else(overflow)?;
            emitted = emitted.checked_add(minted).ok_or_else(overflow)?;
            match &e.into {
                Target::Circulating => emitted_circ = emitted_circ.checked_add(minted).ok_or_else(overflow)?,
                Target::Bucket(id) => {
                    if let Some(s) = per.iter_mut().find(|s| &s.id == id) {
                        s.emitted = s.emitted.checked_add(minted).ok_or_else(overflow)?;
                    }
                }
            }
        }
        // 3. burns, on what each source holds now.
        for b in t.burns.iter().filter(|b| active(b.from, b.to, date)) {
            let circulating = circulating_of(&per, emitted_circ, burned).ok_or_else(overflow)?;
            let held = match &b.of {
                Target::Circulating => circulating,
                Target::Bucket(id) => {
                    per.iter().find(|s| &s.id == id).map_or(0, |s| s.unlocked.saturating_sub(s.burned)).min(circulating)
                }
            };
            let want = match &b.rule {
                BurnRule::Fixed { per_month } => per_month.base_units(),
                BurnRule::Percent { monthly_bps } => {
                    mul_div_floor(held, u128::from(*monthly_bps), 10_000).ok_or_else(overflow)?
                }
            };
            let amount = want.min(held);
            burned = burned.checked_add(amount).ok_or_else(overflow)?;
            // INVARIANT: amount ≤ circulating ≤ total (see the module doc).
            total = total.checked_sub(amount).ok_or_else(overflow)?;
            if let Target::Bucket(id) = &b.of
                && let Some(s) = per.iter_mut().find(|s| &s.id == id)
            {
                s.burned = s.burned.checked_add(amount).ok_or_else(overflow)?;
            }
        }
        let circulating = circulating_of(&per, emitted_circ, burned).ok_or_else(overflow)?;
        for (bucket, amount) in unlocks {
            let share = mul_div_floor(amount, 10_000, circulating.max(1)).ok_or_else(overflow)?;
            cal.push(Unlock { date, bucket, amount, share_of_circulating_bps: share });
        }
        months.push(MonthSupply { date, total_supply: total, circulating, emitted, burned, buckets: per.clone() });
    }
    Ok(Projection { months, calendar: cal })
}

/// Σ unlocked + emitted into circulation − burned.
fn circulating_of(per: &[BucketSupply], emitted_circ: u128, burned: u128) -> Option<u128> {
    let unlocked = per.iter().try_fold(0u128, |a, s| a.checked_add(s.unlocked))?;
    unlocked.checked_add(emitted_circ)?.checked_sub(burned)
}

/// The team pool as a budget: what the team bucket holds against what grants still claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    /// The team bucket's id.
    pub bucket: String,
    pub allocation: TokenAmount,
    /// Granted minus forfeited, across every grant of the company.
    pub outstanding: TokenAmount,
    /// `allocation − outstanding`, or zero when the grants claim more.
    pub remaining: TokenAmount,
}

impl Budget {
    /// How far the grants claim beyond the allocation (zero within it).
    pub fn excess(&self) -> TokenAmount {
        self.outstanding.saturating_sub(self.allocation)
    }
}

/// The team budget for `granted_outstanding` base units claimed by grants.
pub fn team_budget(t: &Tokenomics, granted_outstanding: u128) -> Result<Budget, TokenomicsError> {
    let team = t.team().ok_or(TokenomicsError::NoTeamBucket)?;
    let outstanding = TokenAmount::from_base_units(granted_outstanding);
    Ok(Budget {
        bucket: team.id.clone(),
        allocation: team.amount,
        outstanding,
        remaining: team.amount.saturating_sub(outstanding),
    })
}

/// What one grant claims from the pool: granted minus forfeited (forfeited tokens return to
/// it). `None` on overflow, which a checked timeline cannot produce.
pub fn outstanding(t: &Timeline) -> Option<u128> {
    let forfeited = t.forfeitures.iter().try_fold(0u128, |a, f| a.checked_add(f.amount.base_units()))?;
    t.granted.base_units().checked_sub(forfeited)
}
