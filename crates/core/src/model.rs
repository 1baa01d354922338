//! The domain model a company is described by: its settings and policy, its people, prices and
//! exchange rates, its grants' terms and its milestones. Plain values with no serde: the company
//! file's reader (`tokencomp_formats::company`) builds them, and every other crate reads them.

use jiff::ToSpan;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use ruint::aliases::U256;
use tokencomp_money::{Currency, Decimal, PRICE_ROUNDING, Token};

use crate::attestation::{Fixed18, Milestone};
use crate::grant::{Grant, MilestoneEffect};
use crate::period::PayFrequency;
use crate::tokenomics::Tokenomics;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompanySettings {
    pub name: String,
    pub time_zone: TimeZone,
    pub time_zone_name: String,
    pub pay_frequency: PayFrequency,
    /// The sample company's fixed "today", so its demo gives the same result every day.
    pub demo_through: Option<Date>,
    /// How vests are settled, valued, expensed and withheld unless a grant says otherwise.
    pub policy: Policy,
}

/// How the tax due on a vest is paid (docs/tax-rules.md#withholding-methods). Tax is always
/// remitted in cash; the methods differ in where the cash comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WithholdingMethod {
    /// Sell enough of the just-vested tokens to fund the withholding.
    #[default]
    SellToCover,
    /// The employer keeps tokens worth the tax and remits the cash itself.
    NetSettlement,
    /// Paid from salary or by the employee; every vested token is delivered.
    Cash,
}

impl WithholdingMethod {
    pub const ALL: [WithholdingMethod; 3] =
        [WithholdingMethod::SellToCover, WithholdingMethod::NetSettlement, WithholdingMethod::Cash];

    /// The company file's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            WithholdingMethod::SellToCover => "sell_to_cover",
            WithholdingMethod::NetSettlement => "net_settlement",
            WithholdingMethod::Cash => "cash",
        }
    }

    pub fn from_name(name: &str) -> Option<WithholdingMethod> {
        Self::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

/// Where the fair market value of a vest comes from: that day's close, the average or
/// volume-weighted average of the `N` days ending on it, or a Uniswap V2 pair's time-weighted
/// average price over those days (from the price cumulatives `tokencomp chain price` records).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FmvSource {
    #[default]
    Close,
    Average(u32),
    Vwap(u32),
    Twap(u32),
}

/// The longest FMV window the company file accepts, in days.
pub const MAX_FMV_DAYS: u32 = 90;

impl FmvSource {
    /// The company file's `fmv` value.
    pub fn as_str(self) -> &'static str {
        match self {
            FmvSource::Close => "close",
            FmvSource::Average(_) => "average",
            FmvSource::Vwap(_) => "vwap",
            FmvSource::Twap(_) => "twap",
        }
    }

    /// The company file's `fmv_days`, for the windowed sources.
    pub fn days(self) -> Option<u32> {
        match self {
            FmvSource::Close => None,
            FmvSource::Average(n) | FmvSource::Vwap(n) | FmvSource::Twap(n) => Some(n),
        }
    }

    /// From `fmv` and `fmv_days`: a window of 1 to 90 days is required for `average`, `vwap`
    /// and `twap` and refused for `close`.
    pub fn from_parts(name: &str, days: Option<u32>) -> Result<FmvSource, String> {
        let window = |make: fn(u32) -> FmvSource| match days {
            Some(n) if (1..=MAX_FMV_DAYS).contains(&n) => Ok(make(n)),
            Some(n) => Err(format!("{n} is out of range: `fmv_days` must be 1 to {MAX_FMV_DAYS}")),
            None => Err(format!("fmv = \"{name}\" needs `fmv_days` (1 to {MAX_FMV_DAYS})")),
        };
        match name {
            "close" if days.is_some() => Err(FMV_DAYS_ONLY.into()),
            "close" => Ok(FmvSource::Close),
            "average" => window(FmvSource::Average),
            "vwap" => window(FmvSource::Vwap),
            "twap" => window(FmvSource::Twap),
            other => Err(format!("`{other}` is not one of: {}", FMV_NAMES.join(", "))),
        }
    }
}

/// Every `fmv` name, in the order messages list them.
pub const FMV_NAMES: [&str; 4] = ["close", "average", "vwap", "twap"];

pub const FMV_DAYS_ONLY: &str = "`fmv_days` applies only to fmv = \"average\", \"vwap\" or \"twap\"";

/// How compensation cost is attributed over the service period (docs/tax-rules.md#employer-accounting;
/// ASC 718-10-35-8: a policy choice for awards with service conditions only).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AttributionPolicy {
    /// The whole award over the service period of its last tranche.
    #[default]
    StraightLine,
    /// Each tranche as its own award over its own service period (FIN 28), so the cost is
    /// front-loaded.
    Graded,
}

impl AttributionPolicy {
    pub const ALL: [AttributionPolicy; 2] = [AttributionPolicy::StraightLine, AttributionPolicy::Graded];

    pub fn as_str(self) -> &'static str {
        match self {
            AttributionPolicy::StraightLine => "straight_line",
            AttributionPolicy::Graded => "graded",
        }
    }

    pub fn from_name(name: &str) -> Option<AttributionPolicy> {
        Self::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

/// Whether awards are measured once at grant (equity, by analogy with ASC 718) or remeasured
/// each period (liability).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClassificationPolicy {
    /// By analogy to equity awards: grant-date fair value, never remeasured (ASC 718-10-30).
    #[default]
    Equity,
    /// Remeasured at each reporting date until settlement (ASC 718-30-35-1, 35-2); a tranche
    /// settles at its fair value on its vest date.
    Liability,
}

impl ClassificationPolicy {
    pub const ALL: [ClassificationPolicy; 2] = [ClassificationPolicy::Equity, ClassificationPolicy::Liability];

    pub fn as_str(self) -> &'static str {
        match self {
            ClassificationPolicy::Equity => "equity",
            ClassificationPolicy::Liability => "liability",
        }
    }

    pub fn from_name(name: &str) -> Option<ClassificationPolicy> {
        Self::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

/// A flat withholding rate for a country no tax engine covers yet (`[[company.flat_withholding]]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlatRuleInput {
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub employee_bps: u32,
    pub employer_bps: u32,
}

/// The company-wide settlement, valuation and accounting policy (`[company]` keys).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    pub withholding: WithholdingMethod,
    /// Exchange fee on a sell-to-cover sale, in basis points of the proceeds.
    pub sale_fee_bps: u32,
    /// Expected price slippage on a sell-to-cover sale, in basis points.
    pub slippage_bps: u32,
    pub fmv: FmvSource,
    pub attribution: AttributionPolicy,
    pub classification: ClassificationPolicy,
    /// At most one per country.
    pub flat_rules: Vec<FlatRuleInput>,
    /// Hours between a proven wallet change and its effect (`None`: the default,
    /// [`DEFAULT_WALLET_CHANGE_DELAY_HOURS`]); 0 makes a proof effective at once.
    pub wallet_change_delay_hours: Option<u32>,
    /// Whether the chain part pays only wallets people proved (never a typed one).
    pub require_proven_wallets: bool,
}

/// Hours a proven wallet change waits before it takes effect, unless the company says otherwise.
pub const DEFAULT_WALLET_CHANGE_DELAY_HOURS: u32 = 48;

/// The most hours a company may make a wallet change wait (one year).
pub const MAX_WALLET_CHANGE_DELAY_HOURS: u32 = 8_760;

impl Policy {
    /// The hours a proven wallet change waits before it takes effect.
    pub fn wallet_change_delay_hours(&self) -> u32 {
        self.wallet_change_delay_hours.unwrap_or(DEFAULT_WALLET_CHANGE_DELAY_HOURS)
    }
}

/// One grant's departures from the company policy, and the facts of its delivery.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GrantPolicy {
    pub withholding: Option<WithholdingMethod>,
    /// USD value guaranteed over the whole grant (a hybrid package): the shortfall of the
    /// tokens' value is paid in cash.
    pub floor: Option<Decimal>,
    /// Restricted token units: tranches vesting before this day are delivered, and taxed, on it.
    pub settlement_date: Option<Date>,
    /// Restricted tokens transferred at grant (subject to forfeiture), the only case where an
    /// §83(b) election exists.
    pub transferred_at_grant: bool,
    /// The day an IRC §83(b) election was filed: income is then the grant-date value.
    pub election_83b: Option<Date>,
    pub attribution: Option<AttributionPolicy>,
    pub classification: Option<ClassificationPolicy>,
}

/// A day's foreign-exchange rate: units of `currency` per 1 USD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FxRate {
    pub date: Date,
    pub currency: Currency,
    pub per_usd: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenSettings {
    pub token: Token,
    pub chain_id: Option<u64>,
    pub address: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PersonKind {
    Employee,
    Contractor,
    Advisor,
}

impl PersonKind {
    pub const ALL: [PersonKind; 3] = [PersonKind::Employee, PersonKind::Contractor, PersonKind::Advisor];

    /// The company file's (and the ledger's) name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            PersonKind::Employee => "employee",
            PersonKind::Contractor => "contractor",
            PersonKind::Advisor => "advisor",
        }
    }

    /// The kind a name stands for (the inverse of [`PersonKind::as_str`]).
    pub fn from_name(name: &str) -> Option<PersonKind> {
        PersonKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub kind: PersonKind,
    /// ISO 3166-1 alpha-2, e.g. `US`, `GB`, `DE`.
    pub country: Option<String>,
    /// US state or other subdivision code, e.g. `CA`.
    pub region: Option<String>,
    pub hired: Option<Date>,
    /// Annual base salary in the person's pay currency (not negative).
    pub salary: Option<Decimal>,
    /// The label of the wallet their tokens are delivered to (no whitespace).
    pub wallet: Option<String>,
    /// What each tax authority needs to know about them; nothing on file reads as each
    /// authority's default (see [`crate::tax_profile`]).
    pub tax: crate::tax_profile::TaxProfile,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Price {
    pub date: Date,
    pub close: Decimal,
    pub currency: Currency,
    /// Tokens traded that day (for a VWAP); above zero when given.
    pub volume: Option<Decimal>,
}

/// How a grant's size was given, kept for the audit trail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrantSize {
    Tokens,
    Fiat { value: Decimal, currency: Currency, price: Decimal, average_days: Option<u32> },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantTerms {
    pub grant: Grant,
    pub grant_date: Date,
    pub size: GrantSize,
    pub policy: GrantPolicy,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompanyFile {
    pub company: CompanySettings,
    pub token: TokenSettings,
    pub people: Vec<Person>,
    pub prices: Vec<Price>,
    pub grants: Vec<GrantTerms>,
    /// `[[fx]]` rates (most come from `tokencomp import fx`).
    pub fx: Vec<FxRate>,
    /// `[tokenomics]`, when the file has one.
    pub tokenomics: Option<Tokenomics>,
    /// `[[milestone]]` terms: attested conditions and the effect each has on its grants.
    pub milestones: Vec<MilestoneTerms>,
    /// `(grant, event id)` pairs a grant's `reverse = [...]` lists: recorded lifecycle events
    /// `apply` reverses although the file did not record them.
    pub reverse: Vec<(String, String)>,
}

/// A `[[milestone]]`: the condition an oracle attests (`milestone`, whose subject is the grant or
/// the team), the deadline as written, and the effect on the grants it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MilestoneTerms {
    pub milestone: Milestone,
    /// The day the deadline was written as; `milestone.deadline` is the end of it in the zone.
    pub deadline_date: Date,
    /// The grants the effect applies to: the subject grant, or a team milestone's `grants`.
    pub grants: Vec<String>,
    pub effect: TermsEffect,
}

/// A milestone's effect as its terms give it; a graded scale is settled by the attested value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TermsEffect {
    Fixed(MilestoneEffect),
    /// Scale `tranche` to value / threshold (whole basis points, floored), capped by its cap.
    Graded {
        tranche: String,
    },
}

impl MilestoneTerms {
    /// The effect applied when the milestone is met with `value` (the quorum's median), given
    /// the tranche's cap for a graded scale: `min(cap, floor(max(value, 0) · 10 000 / threshold))`
    /// basis points, over the whole int256 range, as the contract computes it. `None` when a
    /// graded ratio is not defined (a threshold that is not above zero).
    pub fn effect_for(&self, value: Fixed18, cap_bps: u32) -> Option<MilestoneEffect> {
        match &self.effect {
            TermsEffect::Fixed(e) => Some(e.clone()),
            TermsEffect::Graded { tranche } => {
                use ruint::aliases::U512;
                let t = self.milestone.threshold;
                if t.is_negative() || t == Fixed18::ZERO {
                    return None;
                }
                let wide = |x: Fixed18| U512::from(U256::from_be_bytes(x.to_be_bytes()));
                let v = if value.is_negative() { U512::ZERO } else { wide(value) };
                // 256 × 14 bits fit in 512: no product overflows.
                let bps = v * U512::from(10_000u32) / wide(t);
                let bps = u32::try_from(bps.min(U512::from(cap_bps))).ok()?;
                Some(MilestoneEffect::Scale { tranche: tranche.clone(), bps })
            }
        }
    }
}

impl CompanyFile {
    pub fn grant_ids(&self) -> impl Iterator<Item = &str> {
        self.grants.iter().map(|g| g.grant.id.as_str())
    }
}

/// The average close over the `days` days before `grant_date`, rounded by `PRICE_ROUNDING`.
/// Every day must have a price: a gap is an error naming the date, never a guess.
pub fn average_close(prices: &[Price], grant_date: Date, days: u32, currency: Currency) -> Result<Decimal, String> {
    let mut sum = Decimal::ZERO;
    for back in 1..=days {
        let d = grant_date.checked_sub(i64::from(back).days()).map_err(|e| e.to_string())?;
        let p = prices.iter().find(|p| p.date == d && p.currency == currency).ok_or_else(|| {
            format!("no {currency} price for {d}, needed for the {days}-day average before {grant_date}")
        })?;
        sum = sum.checked_add(p.close).ok_or("price sum overflows")?;
    }
    let avg = sum.checked_div(Decimal::from(days)).ok_or("division by zero")?;
    Ok(PRICE_ROUNDING.apply(avg))
}
