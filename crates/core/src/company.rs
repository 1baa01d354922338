//! The company file (TOML): `[company]`, `[token]`, `[[person]]`, `[[price]]`, `[[grant]]` with
//! `[grant.schedule]`, `[[grant.performance]]` and `[[grant.event]]`, and `[tokenomics]` with its
//! buckets (whose schedules are read exactly as a grant's, `start` defaulting to the TGE),
//! emissions and burns.
//!
//! The file is read into a spanned tree (`toml::de::DeTable`) and validated field by field,
//! so every problem in the file is reported at once with its line, column and field path;
//! the domain types carry no serde. A file with any problem yields no company at all.
//!
//! Beyond each field: a grant (or performance target) of zero tokens is refused, and the
//! grants, in file order, must add up within a `u128` and the `[tokenomics]` total supply (the
//! grant that crosses is named), so every total over them can be formed.

use std::collections::BTreeSet;
use std::ops::Range;
use std::str::FromStr;

use jiff::ToSpan;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use tokencomp_money::{Currency, Decimal, PRICE_ROUNDING, Token, TokenAmount, tokens_for_value};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use ruint::aliases::U256;

use crate::attestation::{Comparison, Fixed18, Milestone, Subject};
use crate::calendar::{self, Instant};
use crate::diag::Diagnostic;
use crate::grant::{
    Acceleration, EventKind, FULL_BPS, Grant, GrantEvent, MilestoneEffect, PerformanceTranche, TerminationCause,
    Trigger,
};
use crate::schedule::{Allocation, Calendar, Custom, DayOfMonth, Linear, LinearModel, Period, Schedule, check_date};
use crate::tokenomics::{Bucket, BucketKind, Burn, BurnRule, Emission, EmissionRule, Target, Tokenomics};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayFrequency {
    Monthly,
    SemiMonthly,
    Biweekly,
}

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
const FMV_NAMES: [&str; 4] = ["close", "average", "vwap", "twap"];

const FMV_DAYS_ONLY: &str = "`fmv_days` applies only to fmv = \"average\", \"vwap\" or \"twap\"";

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

/// Reads a company file. `file` is the name used in diagnostics.
pub fn parse_company(file: &str, text: &str) -> Result<CompanyFile, Vec<Diagnostic>> {
    parse(file, text, false)
}

/// A fragment the ledger recorded (`canonical`), read with every check except those only new
/// input gets (a zero-amount grant), so what a ledger holds stays readable.
pub(crate) fn parse_recorded(file: &str, text: &str) -> Result<CompanyFile, Vec<Diagnostic>> {
    parse(file, text, true)
}

fn parse(file: &str, text: &str, recorded: bool) -> Result<CompanyFile, Vec<Diagnostic>> {
    let mut cx = Cx { file, text, diags: Vec::new() };
    let root = match DeTable::parse(text) {
        Ok(t) => t,
        Err(e) => {
            let d = Diagnostic::new(file, None, first_line(e.message()));
            let d = match e.span() {
                Some(s) => d.at_offset(text, s.start),
                None => d,
            };
            return Err(vec![d]);
        }
    };
    let root = Tbl { t: root.get_ref(), span: root.span(), path: String::new() };
    root.allow(&mut cx, &["company", "token", "person", "price", "fx", "grant", "tokenomics", "milestone"]);

    let company = match root.table(&mut cx, "company", false) {
        Some(c) => read_company(&mut cx, &c),
        None => Some(CompanySettings {
            name: String::new(),
            time_zone: TimeZone::UTC,
            time_zone_name: "UTC".into(),
            pay_frequency: PayFrequency::Monthly,
            demo_through: None,
            policy: Policy::default(),
        }),
    };
    let token = root.table(&mut cx, "token", true).and_then(|t| read_token(&mut cx, &t));
    let people =
        root.array_of_tables(&mut cx, "person").iter().filter_map(|p| read_person(&mut cx, p)).collect::<Vec<_>>();
    let prices =
        root.array_of_tables(&mut cx, "price").iter().filter_map(|p| read_price(&mut cx, p)).collect::<Vec<_>>();
    let fx = read_fx(&mut cx, &root);
    check_unique(&mut cx, &root, "person");
    check_unique(&mut cx, &root, "grant");

    let mut grants = Vec::new();
    let mut tokenomics = None;
    // A bad [company] still lets the grants be checked (in UTC), so every error shows at once;
    // without a token there is no way to read amounts.
    let tz = company.as_ref().map_or(TimeZone::UTC, |c| c.time_zone.clone());
    // Without a valid token, grants are still checked; their amounts only for syntax.
    let fallback = Token::new("UNKNOWN", 0).ok();
    if let Some(env_token) = token.as_ref().map(|t| &t.token).or(fallback.as_ref()) {
        let env = Env {
            tz: &tz,
            token: env_token,
            prices: &prices,
            amounts_known: token.is_some(),
            default_start: None,
            recorded,
        };
        let holders: BTreeSet<&str> = people.iter().map(|p| p.id.as_str()).collect();
        // Each grant's folded total with where its size is written, for the file's total.
        let mut sized: Vec<Sized> = Vec::new();
        for g in root.array_of_tables(&mut cx, "grant") {
            if let Some((terms, granted)) = read_grant(&mut cx, &env, &g) {
                if !holders.is_empty() && !holders.contains(terms.grant.holder.as_str()) {
                    let span = g.get("holder").map_or(g.span.clone(), |v| v.span());
                    cx.err(&g.field("holder"), span, format!("no [[person]] has id `{}`", terms.grant.holder));
                }
                if let Some(granted) = granted {
                    let key = if g.get("value").is_some() { "value" } else { "amount" };
                    let span = g.get(key).map_or(g.span.clone(), |v| v.span());
                    sized.push(Sized { id: terms.grant.id.clone(), granted, field: g.field(key), span });
                }
                grants.push(terms);
            }
        }
        if let Some(t) = root.table(&mut cx, "tokenomics", false) {
            tokenomics = read_tokenomics(&mut cx, &env, &t);
        }
        if env.amounts_known {
            check_grants_total(&mut cx, env.token, &sized, tokenomics.as_ref().map(|t| t.total_supply));
        }
    }

    check_unique(&mut cx, &root, "milestone");
    let milestones: Vec<MilestoneTerms> = root
        .array_of_tables(&mut cx, "milestone")
        .iter()
        .filter_map(|m| read_milestone(&mut cx, &tz, &grants, m))
        .collect();

    match (cx.diags.is_empty(), company, token) {
        (true, Some(company), Some(token)) => {
            Ok(CompanyFile { company, token, people, prices, grants, fx, tokenomics, milestones })
        }
        _ => {
            let mut d = cx.diags;
            d.sort_by_key(|d| (d.location.line, d.location.column));
            Err(d)
        }
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).trim().to_owned()
}

struct Cx<'a> {
    file: &'a str,
    text: &'a str,
    diags: Vec<Diagnostic>,
}

impl Cx<'_> {
    fn err(&mut self, field: &str, span: Range<usize>, message: impl Into<String>) {
        self.diags.push(Diagnostic::new(self.file, Some(field.to_owned()), message).at_offset(self.text, span.start));
    }
}

struct Env<'a> {
    tz: &'a TimeZone,
    token: &'a Token,
    prices: &'a [Price],
    /// False when `[token]` itself is bad: amounts are then checked for syntax only.
    amounts_known: bool,
    /// The `start` a schedule without one takes (a tokenomics bucket's: the TGE).
    default_start: Option<Date>,
    /// A fragment the ledger recorded, not new input (see `parse_recorded`).
    recorded: bool,
}

/// A grant's folded total (granted, performance tranches included) and where its size is
/// written in the file.
struct Sized {
    id: String,
    granted: TokenAmount,
    field: String,
    span: Range<usize>,
}

/// The grants of one file, summed in file order, must fit in a `u128` and stay within the
/// `[tokenomics]` total supply when there is one: otherwise every total over them (the calendar,
/// company totals, tokenomics, payroll) could not be formed. The grant whose amount crosses the
/// limit is named, at its `amount` (or `value`).
fn check_grants_total(cx: &mut Cx<'_>, token: &Token, sized: &[Sized], supply: Option<TokenAmount>) {
    let fmt = |a: TokenAmount| format!("{} {}", token.format(a), token.symbol());
    let mut total = TokenAmount::ZERO;
    for g in sized {
        let Ok(next) = total.checked_add(g.granted) else {
            let message = format!(
                "grant `{}` of {} takes the grants' total past 128 bits of base units ({} before it)",
                g.id,
                fmt(g.granted),
                fmt(total)
            );
            cx.err(&g.field, g.span.clone(), message);
            return;
        };
        if let Some(supply) = supply
            && next > supply
        {
            let message = format!(
                "grant `{}` of {} takes the grants' total to {}, above the total supply of {} in [tokenomics]",
                g.id,
                fmt(g.granted),
                fmt(next),
                fmt(supply)
            );
            cx.err(&g.field, g.span.clone(), message);
            return;
        }
        total = next;
    }
}

type Val<'i> = Spanned<DeValue<'i>>;

struct Tbl<'t, 'i> {
    t: &'t DeTable<'i>,
    span: Range<usize>,
    path: String,
}

impl<'t, 'i> Tbl<'t, 'i> {
    fn field(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_owned() } else { format!("{}.{key}", self.path) }
    }

    fn get(&self, key: &str) -> Option<&'t Val<'i>> {
        self.t.get(key)
    }

    /// Reports keys this table does not know.
    fn allow(&self, cx: &mut Cx<'_>, known: &[&str]) {
        for (k, _) in self.t.iter() {
            if !known.contains(&k.get_ref().as_ref()) {
                let msg = format!("unknown field `{}`; expected one of: {}", k.get_ref(), known.join(", "));
                cx.err(&self.field(k.get_ref()), k.span(), msg);
            }
        }
    }

    fn missing(&self, cx: &mut Cx<'_>, key: &str) {
        let where_ = if self.path.is_empty() { "the file".to_owned() } else { format!("`{}`", self.path) };
        cx.err(&self.field(key), self.span.clone(), format!("missing field `{key}` in {where_}"));
    }

    /// The value under `key`; a missing required one is reported.
    fn value(&self, cx: &mut Cx<'_>, key: &str, required: bool) -> Option<&'t Val<'i>> {
        let v = self.get(key);
        if v.is_none() && required {
            self.missing(cx, key);
        }
        v
    }

    fn table(&self, cx: &mut Cx<'_>, key: &str, required: bool) -> Option<Tbl<'t, 'i>> {
        match self.get(key) {
            None => {
                if required {
                    self.missing(cx, key);
                }
                None
            }
            Some(v) => match v.get_ref() {
                DeValue::Table(t) => Some(Tbl { t, span: v.span(), path: self.field(key) }),
                other => {
                    cx.err(&self.field(key), v.span(), format!("expected a table, found {}", other.type_str()));
                    None
                }
            },
        }
    }

    fn array_of_tables(&self, cx: &mut Cx<'_>, key: &str) -> Vec<Tbl<'t, 'i>> {
        let Some(v) = self.get(key) else { return Vec::new() };
        let DeValue::Array(items) = v.get_ref() else {
            cx.err(&self.field(key), v.span(), format!("expected an array of tables ([[{key}]])"));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item.get_ref() {
                DeValue::Table(t) => out.push(Tbl { t, span: item.span(), path: format!("{}[{i}]", self.field(key)) }),
                other => cx.err(
                    &format!("{}[{i}]", self.field(key)),
                    item.span(),
                    format!("expected a table, found {}", other.type_str()),
                ),
            }
        }
        out
    }

    fn str(&self, cx: &mut Cx<'_>, key: &str, required: bool) -> Option<(&'t str, Range<usize>)> {
        match self.get(key) {
            None => {
                if required {
                    self.missing(cx, key);
                }
                None
            }
            Some(v) => match v.get_ref() {
                DeValue::String(s) => Some((s.as_ref(), v.span())),
                other => {
                    cx.err(&self.field(key), v.span(), format!("expected a string, found {}", other.type_str()));
                    None
                }
            },
        }
    }

    fn string(&self, cx: &mut Cx<'_>, key: &str) -> Option<String> {
        let (s, span) = self.str(cx, key, true)?;
        if s.trim().is_empty() {
            cx.err(&self.field(key), span, format!("`{key}` must not be empty"));
            return None;
        }
        Some(s.to_owned())
    }

    fn opt_string(&self, cx: &mut Cx<'_>, key: &str) -> Option<String> {
        self.str(cx, key, false).map(|(s, _)| s.to_owned())
    }

    fn int(&self, cx: &mut Cx<'_>, key: &str, required: bool, range: Range<i64>) -> Option<i64> {
        let v = self.value(cx, key, required)?;
        let parsed =
            v.get_ref().as_integer().and_then(|i| i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok());
        match parsed {
            Some(n) if range.contains(&n) => Some(n),
            Some(n) => {
                let msg = format!("{n} is out of range: `{key}` must be {} to {}", range.start, range.end - 1);
                cx.err(&self.field(key), v.span(), msg);
                None
            }
            None => {
                cx.err(&self.field(key), v.span(), format!("expected an integer, found {}", v.get_ref().type_str()));
                None
            }
        }
    }

    fn u32(&self, cx: &mut Cx<'_>, key: &str, required: bool, range: Range<i64>) -> Option<u32> {
        self.int(cx, key, required, range).and_then(|n| u32::try_from(n).ok())
    }

    /// A calendar date: a TOML local date or a `YYYY-MM-DD` string, within the engine's range.
    fn date(&self, cx: &mut Cx<'_>, key: &str, required: bool) -> Option<Date> {
        let v = self.value(cx, key, required)?;
        let text = match v.get_ref() {
            DeValue::String(s) => s.to_string(),
            DeValue::Datetime(d) if d.time.is_none() && d.offset.is_none() => d.to_string(),
            other => {
                cx.err(&self.field(key), v.span(), format!("expected a date (YYYY-MM-DD), found {}", other.type_str()));
                return None;
            }
        };
        match Date::from_str(&text) {
            Ok(d) if check_date(d).is_ok() => Some(d),
            Ok(d) => {
                cx.err(&self.field(key), v.span(), format!("date {d} is outside 1970-01-01 to 2199-12-31"));
                None
            }
            Err(_) => {
                cx.err(&self.field(key), v.span(), format!("`{text}` is not a date (YYYY-MM-DD)"));
                None
            }
        }
    }

    /// An instant: an RFC 3339 timestamp, or a date meaning 00:00 of that day in `tz`.
    fn instant(&self, cx: &mut Cx<'_>, key: &str, required: bool, tz: &TimeZone) -> Option<Instant> {
        let v = self.value(cx, key, required)?;
        let text = match v.get_ref() {
            DeValue::String(s) => s.to_string(),
            DeValue::Datetime(d) => d.to_string(),
            other => {
                cx.err(
                    &self.field(key),
                    v.span(),
                    format!("expected a date or an RFC 3339 time, found {}", other.type_str()),
                );
                return None;
            }
        };
        if let Ok(d) = Date::from_str(&text) {
            if check_date(d).is_ok()
                && let Ok(t) = calendar::start_of_day(d, tz)
            {
                return Some(t);
            }
        } else if let Ok(ts) = jiff::Timestamp::from_str(&text) {
            return Some(ts.as_second());
        }
        cx.err(&self.field(key), v.span(), format!("`{text}` is not a date or an RFC 3339 time within 1970 to 2199"));
        None
    }

    /// An amount of money or tokens that is not negative: a string (`"185000.50"`) or an integer.
    fn quantity(&self, cx: &mut Cx<'_>, key: &str) -> Option<Decimal> {
        let v = self.get(key)?;
        let text = match v.get_ref() {
            DeValue::String(s) => s.to_string(),
            DeValue::Integer(i) if i.radix() == 10 => i.as_str().replace('_', ""),
            other => {
                let msg = format!("expected a decimal number as a string (e.g. \"2.50\"), found {}", other.type_str());
                cx.err(&self.field(key), v.span(), msg);
                return None;
            }
        };
        match Decimal::from_str_exact(text.trim()) {
            Ok(d) if !d.is_sign_negative() => Some(d),
            _ => {
                cx.err(&self.field(key), v.span(), format!("`{text}` is not a non-negative decimal number"));
                None
            }
        }
    }

    fn bool(&self, cx: &mut Cx<'_>, key: &str) -> Option<bool> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            other => {
                cx.err(&self.field(key), v.span(), format!("expected true or false, found {}", other.type_str()));
                None
            }
        }
    }

    /// The span of `key`'s value, or of the table when it has none.
    fn span_of(&self, key: &str) -> Range<usize> {
        self.get(key).map_or(self.span.clone(), |v| v.span())
    }

    fn decimal(&self, cx: &mut Cx<'_>, key: &str, required: bool) -> Option<Decimal> {
        let (s, span) = self.str(cx, key, required)?;
        match Decimal::from_str_exact(s.trim()) {
            Ok(d) if !d.is_sign_negative() => Some(d),
            _ => {
                cx.err(
                    &self.field(key),
                    span,
                    format!("`{s}` is not a non-negative decimal number (write it as a string, e.g. \"2.50\")"),
                );
                None
            }
        }
    }

    /// A percentage such as `"50"`, `"12.5"` or `"0.25%"` (at most two decimals), as basis points.
    fn percent_bps(&self, cx: &mut Cx<'_>, key: &str, required: bool, max_bps: u32) -> Option<u32> {
        let v = self.get(key);
        let (text, span) = match v.map(|v| (v.get_ref(), v.span())) {
            None => {
                if required {
                    self.missing(cx, key);
                }
                return None;
            }
            Some((DeValue::String(s), span)) => (s.to_string(), span),
            Some((DeValue::Integer(i), span)) => (i.as_str().to_owned(), span),
            Some((other, span)) => {
                cx.err(
                    &self.field(key),
                    span,
                    format!("expected a percentage such as \"50\" or \"12.5\", found {}", other.type_str()),
                );
                return None;
            }
        };
        // `"0.25%"` reads as `"0.25"`: policy rates are usually written with the sign.
        match percent_to_bps(text.strip_suffix('%').unwrap_or(&text)) {
            Some(b) if b <= max_bps => Some(b),
            _ => {
                let max = Decimal::from(max_bps) / Decimal::from(100);
                cx.err(
                    &self.field(key),
                    span,
                    format!("`{text}` is not a percentage from 0 to {max} with at most two decimals"),
                );
                None
            }
        }
    }

    fn amount(&self, cx: &mut Cx<'_>, key: &str, required: bool, token: &Token) -> Option<TokenAmount> {
        let v = self.get(key);
        let (text, span) = match v.map(|v| (v.get_ref(), v.span())) {
            None => {
                if required {
                    self.missing(cx, key);
                }
                return None;
            }
            Some((DeValue::String(s), span)) => (s.to_string(), span),
            Some((DeValue::Integer(i), span)) if i.radix() == 10 => (i.as_str().replace('_', ""), span),
            Some((other, span)) => {
                cx.err(
                    &self.field(key),
                    span,
                    format!("expected an amount of {} as a string, found {}", token.symbol(), other.type_str()),
                );
                return None;
            }
        };
        match token.parse(&text) {
            Ok(a) => Some(a),
            Err(e) => {
                cx.err(&self.field(key), span, e.to_string());
                None
            }
        }
    }

    /// An optional choice with no default: `None` when the key is absent or its value refused.
    fn opt_choice<T: Copy>(&self, cx: &mut Cx<'_>, key: &str, options: &[(&str, T)]) -> Option<T> {
        self.get(key)?;
        self.choice(cx, key, options, None)
    }

    fn choice<T: Copy>(&self, cx: &mut Cx<'_>, key: &str, options: &[(&str, T)], default: Option<T>) -> Option<T> {
        let Some((s, span)) = self.str(cx, key, default.is_none()) else { return default };
        match options.iter().find(|o| o.0 == s) {
            Some(o) => Some(o.1),
            None => {
                let names: Vec<&str> = options.iter().map(|o| o.0).collect();
                cx.err(&self.field(key), span, format!("`{s}` is not one of: {}", names.join(", ")));
                None
            }
        }
    }
}

/// Reports every `[[key]]` table whose `id` an earlier one already used.
impl Env<'_> {
    fn amount(&self, cx: &mut Cx<'_>, t: &Tbl<'_, '_>, key: &str, required: bool) -> Option<TokenAmount> {
        if self.amounts_known {
            return t.amount(cx, key, required, self.token);
        }
        let (text, span) = match t.get(key).map(|v| (v.get_ref(), v.span())) {
            None => {
                if required {
                    t.missing(cx, key);
                }
                return None;
            }
            Some((DeValue::String(s), span)) => (s.to_string(), span),
            Some((DeValue::Integer(i), span)) => (i.as_str().to_owned(), span),
            Some((other, span)) => {
                cx.err(&t.field(key), span, format!("expected an amount as a string, found {}", other.type_str()));
                return None;
            }
        };
        let ok = !text.is_empty()
            && text.bytes().filter(|b| *b == b'.').count() <= 1
            && text.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        if !ok {
            cx.err(&t.field(key), span, format!("`{text}` is not an amount"));
        }
        // A stand-in that passes every later check; nothing is built from a file with errors.
        Some(TokenAmount::from_base_units(1))
    }
}

fn check_unique(cx: &mut Cx<'_>, root: &Tbl<'_, '_>, key: &str) {
    let mut quiet = Cx { file: cx.file, text: cx.text, diags: Vec::new() };
    let mut seen = BTreeSet::new();
    for t in root.array_of_tables(&mut quiet, key) {
        if let Some(v) = t.get("id")
            && let Some(id) = v.get_ref().as_str()
            && !seen.insert(id.to_owned())
        {
            cx.err(&t.field("id"), v.span(), format!("duplicate {key} id `{id}`"));
        }
    }
}

fn read_company(cx: &mut Cx<'_>, t: &Tbl<'_, '_>) -> Option<CompanySettings> {
    t.allow(
        cx,
        &[
            "name",
            "time_zone",
            "pay_frequency",
            "demo_through",
            "withholding_method",
            "sale_fee",
            "slippage",
            "fmv",
            "fmv_days",
            "attribution",
            "classification",
            "flat_withholding",
        ],
    );
    let name = t.string(cx, "name");
    let (tz_name, tz) = match t.str(cx, "time_zone", false) {
        None => ("UTC".to_owned(), Some(TimeZone::UTC)),
        Some((s, span)) => match TimeZone::get(s) {
            Ok(tz) => (s.to_owned(), Some(tz)),
            Err(_) => {
                cx.err(&t.field("time_zone"), span, format!("`{s}` is not an IANA time zone (e.g. America/New_York)"));
                (s.to_owned(), None)
            }
        },
    };
    let freq = t.choice(
        cx,
        "pay_frequency",
        &[
            ("monthly", PayFrequency::Monthly),
            ("semi-monthly", PayFrequency::SemiMonthly),
            ("biweekly", PayFrequency::Biweekly),
        ],
        Some(PayFrequency::Monthly),
    );
    let demo_through = t.date(cx, "demo_through", false);
    let policy = read_policy(cx, t);
    Some(CompanySettings {
        name: name?,
        time_zone: tz?,
        time_zone_name: tz_name,
        pay_frequency: freq?,
        demo_through,
        policy: policy?,
    })
}

fn withholding_choices() -> Vec<(&'static str, WithholdingMethod)> {
    WithholdingMethod::ALL.into_iter().map(|m| (m.as_str(), m)).collect()
}

fn attribution_choices() -> Vec<(&'static str, AttributionPolicy)> {
    AttributionPolicy::ALL.into_iter().map(|m| (m.as_str(), m)).collect()
}

fn classification_choices() -> Vec<(&'static str, ClassificationPolicy)> {
    ClassificationPolicy::ALL.into_iter().map(|m| (m.as_str(), m)).collect()
}

/// Whether `c` is an ISO 3166-1 alpha-2 code in shape: two capital letters.
fn is_country(c: &str) -> bool {
    c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())
}

/// The policy keys of `[company]`; each defaults as `Policy::default()` does.
fn read_policy(cx: &mut Cx<'_>, t: &Tbl<'_, '_>) -> Option<Policy> {
    let withholding = t.choice(cx, "withholding_method", &withholding_choices(), Some(WithholdingMethod::default()));
    let sale_fee = t.percent_bps(cx, "sale_fee", false, FULL_BPS);
    let slippage = t.percent_bps(cx, "slippage", false, FULL_BPS);
    let (sale_fee_bps, slippage_bps) = (sale_fee.unwrap_or(0), slippage.unwrap_or(0));
    let mut costs_ok = true;
    // A sell-to-cover sale nets (1 − fee − slippage) of its proceeds: that must stay positive.
    if sale_fee_bps.saturating_add(slippage_bps) >= FULL_BPS {
        let key = if t.get("slippage").is_some() { "slippage" } else { "sale_fee" };
        let msg = format!(
            "`sale_fee` and `slippage` add up to {}%: together they must stay below 100%",
            crate::canonical::percent(sale_fee_bps.saturating_add(slippage_bps))
        );
        cx.err(&t.field(key), t.span_of(key), msg);
        costs_ok = false;
    }
    let days = t.u32(cx, "fmv_days", false, 1..i64::from(MAX_FMV_DAYS) + 1);
    let days_ok = t.get("fmv_days").is_none() || days.is_some();
    let fmv = match t.str(cx, "fmv", false) {
        None if days.is_some() => {
            cx.err(&t.field("fmv_days"), t.span_of("fmv_days"), FMV_DAYS_ONLY);
            None
        }
        None => Some(FmvSource::Close),
        Some((name, span)) if days_ok => match FmvSource::from_parts(name, days) {
            Ok(f) => Some(f),
            Err(msg) => {
                // A bad name is the `fmv` value's fault; a missing or stray window is `fmv_days`'s.
                let at_days = FMV_NAMES.contains(&name) && t.get("fmv_days").is_some();
                let (key, span) = if at_days { ("fmv_days", t.span_of("fmv_days")) } else { ("fmv", span) };
                cx.err(&t.field(key), span, msg);
                None
            }
        },
        Some(_) => None,
    };
    let attribution = t.choice(cx, "attribution", &attribution_choices(), Some(AttributionPolicy::default()));
    let classification =
        t.choice(cx, "classification", &classification_choices(), Some(ClassificationPolicy::default()));
    let mut flat_rules = Vec::new();
    let mut rules_ok = true;
    let mut seen = BTreeSet::new();
    for r in t.array_of_tables(cx, "flat_withholding") {
        r.allow(cx, &["country", "employee", "employer"]);
        let country = r.str(cx, "country", true).and_then(|(c, span)| {
            if !is_country(c) {
                cx.err(&r.field("country"), span, format!("`{c}` is not a two-letter country code (US, GB, DE, …)"));
                None
            } else if !seen.insert(c.to_owned()) {
                cx.err(
                    &r.field("country"),
                    span,
                    format!("a second flat withholding rule for `{c}`: give one per country"),
                );
                None
            } else {
                Some(c.to_owned())
            }
        });
        let employee = r.percent_bps(cx, "employee", true, FULL_BPS);
        let employer = r.percent_bps(cx, "employer", true, FULL_BPS);
        match (country, employee, employer) {
            (Some(country), Some(employee_bps), Some(employer_bps)) => {
                flat_rules.push(FlatRuleInput { country, employee_bps, employer_bps });
            }
            _ => rules_ok = false,
        }
    }
    let sale_fee_ok = sale_fee.is_some() || t.get("sale_fee").is_none();
    let slippage_ok = slippage.is_some() || t.get("slippage").is_none();
    if !(costs_ok && rules_ok && sale_fee_ok && slippage_ok) {
        return None;
    }
    Some(Policy {
        withholding: withholding?,
        sale_fee_bps,
        slippage_bps,
        fmv: fmv?,
        attribution: attribution?,
        classification: classification?,
        flat_rules,
    })
}

fn read_token(cx: &mut Cx<'_>, t: &Tbl<'_, '_>) -> Option<TokenSettings> {
    t.allow(cx, &["symbol", "decimals", "chain_id", "address"]);
    let symbol = t.str(cx, "symbol", true);
    let decimals = t.int(cx, "decimals", true, 0..39);
    let chain_id = t.int(cx, "chain_id", false, 1..i64::MAX).and_then(|n| u64::try_from(n).ok());
    let address = t.str(cx, "address", false).and_then(|(a, span)| {
        let ok = a.len() == 42 && a.starts_with("0x") && a[2..].bytes().all(|b| b.is_ascii_hexdigit());
        if !ok {
            cx.err(&t.field("address"), span, format!("`{a}` is not a 0x-prefixed 20-byte hex address"));
        }
        ok.then(|| a.to_owned())
    });
    let (symbol, span) = symbol?;
    match Token::new(symbol, u8::try_from(decimals?).ok()?) {
        Ok(token) => Some(TokenSettings { token, chain_id, address }),
        Err(e) => {
            cx.err(&t.field("symbol"), span, e.to_string());
            None
        }
    }
}

fn read_person(cx: &mut Cx<'_>, t: &Tbl<'_, '_>) -> Option<Person> {
    t.allow(cx, &["id", "name", "email", "kind", "country", "region", "state", "hired", "salary", "wallet"]);
    let id = t.string(cx, "id");
    let name = t.string(cx, "name");
    let kind = t.choice(
        cx,
        "kind",
        &[("employee", PersonKind::Employee), ("contractor", PersonKind::Contractor), ("advisor", PersonKind::Advisor)],
        Some(PersonKind::Employee),
    );
    let country = t.str(cx, "country", false).and_then(|(c, span)| {
        let ok = is_country(c);
        if !ok {
            cx.err(&t.field("country"), span, format!("`{c}` is not a two-letter country code (US, GB, DE, …)"));
        }
        ok.then(|| c.to_owned())
    });
    let region = t.opt_string(cx, "region").or_else(|| t.opt_string(cx, "state"));
    let hired = t.date(cx, "hired", false);
    let salary = t.quantity(cx, "salary");
    let salary_ok = salary.is_some() || t.get("salary").is_none();
    let wallet = t.str(cx, "wallet", false).and_then(|(w, span)| match wallet_problem(w) {
        Some(why) => {
            cx.err(&t.field("wallet"), span, why);
            None
        }
        None => Some(w.to_owned()),
    });
    let wallet_ok = wallet.is_some() || t.get("wallet").is_none();
    let email = t.opt_string(cx, "email");
    if !(salary_ok && wallet_ok) {
        return None;
    }
    Some(Person { id: id?, name: name?, email, kind: kind?, country, region, hired, salary, wallet })
}

fn read_price(cx: &mut Cx<'_>, t: &Tbl<'_, '_>) -> Option<Price> {
    t.allow(cx, &["date", "close", "currency", "volume"]);
    let date = t.date(cx, "date", true);
    let close = t.decimal(cx, "close", true);
    let currency = match t.str(cx, "currency", false) {
        None => Some(Currency::USD),
        Some((c, span)) => Currency::from_str(c).map_err(|e| cx.err(&t.field("currency"), span, e.to_string())).ok(),
    };
    let volume = match t.quantity(cx, "volume") {
        Some(v) if v.is_zero() => {
            cx.err(&t.field("volume"), t.span_of("volume"), "a day's traded volume must be above zero when given");
            return None;
        }
        None if t.get("volume").is_some() => return None,
        v => v,
    };
    Some(Price { date: date?, close: close?, currency: currency?, volume })
}

/// Why a wallet label is refused, if it is: it names a wallet in exports and lot records, so it
/// must be one visible word.
pub fn wallet_problem(w: &str) -> Option<String> {
    if w.is_empty() {
        Some("`wallet` must not be empty".to_owned())
    } else if w.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some(format!("wallet label {w:?} has whitespace: give one word, e.g. \"ada-main\""))
    } else {
        None
    }
}

/// `[[fx]]` rates: a (currency, date) pair may appear once; USD itself has no rate.
fn read_fx(cx: &mut Cx<'_>, root: &Tbl<'_, '_>) -> Vec<FxRate> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for t in root.array_of_tables(cx, "fx") {
        t.allow(cx, &["date", "currency", "per_usd"]);
        let date = t.date(cx, "date", true);
        let currency = t.str(cx, "currency", true).and_then(|(c, span)| match Currency::from_str(c) {
            Ok(Currency::USD) => {
                cx.err(&t.field("currency"), span, "USD has no rate against itself: give another currency");
                None
            }
            Ok(cur) => Some(cur),
            Err(e) => {
                cx.err(&t.field("currency"), span, e.to_string());
                None
            }
        });
        let per_usd = t.decimal(cx, "per_usd", true).filter(|r| {
            if r.is_zero() {
                cx.err(&t.field("per_usd"), t.span_of("per_usd"), "an exchange rate must be above zero");
            }
            !r.is_zero()
        });
        if let (Some(date), Some(currency), Some(per_usd)) = (date, currency, per_usd) {
            if seen.insert((currency, date)) {
                out.push(FxRate { date, currency, per_usd });
            } else {
                cx.err(&t.field("date"), t.span_of("date"), format!("a second {currency} rate for {date}"));
            }
        }
    }
    out
}

fn read_day_rule(cx: &mut Cx<'_>, t: &Tbl<'_, '_>) -> Option<DayOfMonth> {
    let Some((s, span)) = t.str(cx, "day_of_month", false) else { return Some(DayOfMonth::VestingStartDayOrLast) };
    match DayOfMonth::from_ocf_name(s) {
        Some(rule) => Some(rule),
        None => {
            cx.err(&t.field("day_of_month"), span, format!("`{s}` is not \"01\" to \"28\", 29/30/31_OR_LAST_DAY_OF_MONTH or VESTING_START_DAY_OR_LAST_DAY_OF_MONTH"));
            None
        }
    }
}

/// The schedule table; `total` is the amount it will carry (for tranche amounts that must add
/// up to it) when known.
fn read_schedule(cx: &mut Cx<'_>, env: &Env<'_>, t: &Tbl<'_, '_>, total: Option<TokenAmount>) -> Option<Schedule> {
    let kind = t.choice(
        cx,
        "type",
        &[
            ("monthly", 1u32),
            ("quarterly", 3),
            ("annually", 12),
            ("days", 0),
            ("linear", 100),
            ("custom", 101),
            ("template", 102),
            ("months", 103),
        ],
        None,
    )?;
    let allocations: Vec<(&str, Allocation)> = Allocation::OCF_NAMES.into_iter().zip(Allocation::ALL).collect();
    let allocation = t.choice(cx, "allocation", &allocations, Some(Allocation::CumulativeRoundDown));
    let fail = |cx: &mut Cx<'_>, key: &str, e: crate::schedule::ScheduleError| {
        let span = t.get(key).map_or(t.span.clone(), |v| v.span());
        cx.err(&t.field(key), span, e.to_string());
        None
    };
    match kind {
        1 | 3 | 12 => {
            t.allow(cx, &["type", "start", "duration_months", "cliff_months", "day_of_month", "allocation"]);
            let start = start_date(cx, env, t);
            let duration = t.u32(cx, "duration_months", true, 1..2761);
            let cliff = t.u32(cx, "cliff_months", false, 0..2761).unwrap_or(0);
            let rule = read_day_rule(cx, t);
            let duration = duration?;
            let mut ok = true;
            if duration % kind != 0 {
                cx.err(
                    &t.field("duration_months"),
                    t.get("duration_months").map_or(t.span.clone(), |v| v.span()),
                    format!("{duration} months is not a whole number of {kind}-month periods"),
                );
                ok = false;
            }
            if !cliff.is_multiple_of(kind) || cliff > duration {
                cx.err(&t.field("cliff_months"), t.get("cliff_months").map_or(t.span.clone(), |v| v.span()), format!("the cliff ({cliff} months) must be a whole number of {kind}-month periods, at most the duration"));
                ok = false;
            }
            if !ok {
                return None;
            }
            match Calendar::new(start?, Period::Months(kind), duration / kind, cliff / kind, rule?, allocation?) {
                Ok(c) => Some(Schedule::Calendar(c)),
                Err(e) => fail(cx, "start", e),
            }
        }
        103 => {
            t.allow(
                cx,
                &["type", "start", "every_months", "installments", "cliff_installments", "day_of_month", "allocation"],
            );
            let start = start_date(cx, env, t);
            let every = t.u32(cx, "every_months", true, 1..2761);
            let n = t.u32(cx, "installments", true, 1..2761);
            let cliff = t.u32(cx, "cliff_installments", false, 0..2761).unwrap_or(0);
            let rule = read_day_rule(cx, t);
            match Calendar::new(start?, Period::Months(every?), n?, cliff, rule?, allocation?) {
                Ok(c) => Some(Schedule::Calendar(c)),
                Err(e) => fail(cx, "installments", e),
            }
        }
        0 => {
            t.allow(cx, &["type", "start", "every_days", "installments", "cliff_installments", "allocation"]);
            let start = start_date(cx, env, t);
            let every = t.u32(cx, "every_days", true, 1..36_501);
            let n = t.u32(cx, "installments", true, 1..100_001);
            let cliff = t.u32(cx, "cliff_installments", false, 0..100_001).unwrap_or(0);
            match Calendar::new(start?, Period::Days(every?), n?, cliff, DayOfMonth::VestingStartDayOrLast, allocation?)
            {
                Ok(c) => Some(Schedule::Calendar(c)),
                Err(e) => fail(cx, "installments", e),
            }
        }
        100 => {
            t.allow(
                cx,
                &[
                    "type",
                    "start",
                    "end",
                    "duration_months",
                    "cliff",
                    "cliff_months",
                    "granularity_seconds",
                    "model",
                    "start_unlock",
                    "cliff_unlock",
                ],
            );
            let start = match env.default_start {
                Some(d) if t.get("start").is_none() => calendar::start_of_day(d, env.tz).ok(),
                _ => t.instant(cx, "start", true, env.tz),
            };
            let end = if t.get("end").is_some() {
                t.instant(cx, "end", true, env.tz)
            } else {
                let months = t.u32(cx, "duration_months", true, 1..2761);
                months_after(start, months, env.tz)
            };
            let cliff = if t.get("cliff").is_some() {
                t.instant(cx, "cliff", false, env.tz)
            } else {
                t.u32(cx, "cliff_months", false, 0..2761)
                    .filter(|&m| m > 0)
                    .and_then(|m| months_after(start, Some(m), env.tz))
            };
            let granularity = t.u32(cx, "granularity_seconds", false, 1..i64::from(u32::MAX)).unwrap_or(1);
            let sablier = t.choice(cx, "model", &[("openzeppelin", false), ("sablier", true)], Some(false))?;
            let model = if sablier {
                let su = env.amount(cx, t, "start_unlock", false).unwrap_or_default().base_units();
                let cu = env.amount(cx, t, "cliff_unlock", false).unwrap_or_default().base_units();
                LinearModel::Sablier { start_unlock: su, cliff_unlock: cu }
            } else {
                for k in ["start_unlock", "cliff_unlock"] {
                    if let Some(v) = t.get(k) {
                        cx.err(&t.field(k), v.span(), format!("`{k}` applies only to model = \"sablier\""));
                    }
                }
                LinearModel::OpenZeppelin
            };
            match Linear::new(start?, cliff, end?, granularity, model) {
                Ok(l) => {
                    let s = Schedule::Linear(l);
                    if let (Some(total), true) = (total, env.amounts_known)
                        && let Err(e) = s.check_total(total.base_units())
                    {
                        return fail(cx, "start_unlock", e);
                    }
                    Some(s)
                }
                Err(e) => fail(cx, if t.get("cliff").is_some() { "cliff" } else { "end" }, e),
            }
        }
        101 => {
            t.allow(cx, &["type", "tranche", "allocation"]);
            let items = t.array_of_tables(cx, "tranche");
            if items.is_empty() {
                t.missing(cx, "tranche");
                return None;
            }
            let mut tranches = Vec::new();
            let mut by_amount = None;
            for it in &items {
                it.allow(cx, &["date", "amount", "weight"]);
                let date = it.date(cx, "date", true);
                let has_amount = it.get("amount").is_some();
                if by_amount.is_some_and(|b| b != has_amount) {
                    cx.err(
                        &it.path,
                        it.span.clone(),
                        "give every tranche an `amount`, or every tranche a `weight`, not a mix",
                    );
                }
                by_amount = Some(has_amount);
                let w = if has_amount {
                    env.amount(cx, it, "amount", true).map(TokenAmount::base_units)
                } else {
                    read_weight(cx, it)
                };
                if let (Some(d), Some(w)) = (date, w) {
                    tranches.push((d, w));
                }
            }
            if tranches.len() != items.len() {
                return None;
            }
            if let (Some(true), Some(total), true) = (by_amount, total, env.amounts_known) {
                let sum = tranches.iter().try_fold(0u128, |a, t| a.checked_add(t.1));
                if sum != Some(total.base_units()) {
                    let shown =
                        sum.map_or("more than 2^128".to_owned(), |s| env.token.format(TokenAmount::from_base_units(s)));
                    cx.err(
                        &t.field("tranche"),
                        t.span.clone(),
                        format!("tranche amounts add up to {shown}, not the grant's {}", env.token.format(total)),
                    );
                    return None;
                }
            }
            match Custom::with_allocation(&tranches, allocation?) {
                Ok(c) => Some(Schedule::Custom(c)),
                Err(e) => fail(cx, "tranche", e),
            }
        }
        _ => {
            t.allow(cx, &["type", "start", "every_months", "weights", "allocation"]);
            let start = start_date(cx, env, t);
            let every = t.u32(cx, "every_months", true, 1..2761);
            let weights = match t.get("weights").map(|v| (v.get_ref(), v.span())) {
                Some((DeValue::Array(a), span)) => {
                    let w: Option<Vec<u128>> = a
                        .iter()
                        .map(|v| {
                            v.get_ref().as_integer().and_then(|i| i.as_str().parse::<u128>().ok()).filter(|&w| w > 0)
                        })
                        .collect();
                    if w.is_none() || a.is_empty() {
                        cx.err(
                            &t.field("weights"),
                            span,
                            "weights must be a non-empty list of positive integers, e.g. [5, 15, 40, 40]",
                        );
                    }
                    w
                }
                Some((_, span)) => {
                    cx.err(&t.field("weights"), span, "weights must be a list such as [5, 15, 40, 40]");
                    None
                }
                None => {
                    t.missing(cx, "weights");
                    None
                }
            };
            match Custom::periodic(start?, every?, &weights?) {
                Ok(c) => Some(Schedule::Custom(c)),
                Err(e) => fail(cx, "weights", e),
            }
        }
    }
}

/// A tranche weight: a positive integer, or a string of digits for weights beyond 64 bits.
fn read_weight(cx: &mut Cx<'_>, t: &Tbl<'_, '_>) -> Option<u128> {
    match t.get("weight").map(|v| (v.get_ref(), v.span())) {
        Some((DeValue::String(s), span)) => match s.parse::<u128>() {
            Ok(w) if w > 0 && s.bytes().all(|b| b.is_ascii_digit()) => Some(w),
            _ => {
                cx.err(&t.field("weight"), span, format!("`{s}` is not a positive whole number"));
                None
            }
        },
        _ => t.int(cx, "weight", true, 1..i64::MAX).and_then(|w| u128::try_from(w).ok()),
    }
}

/// `[tokenomics]`: the supply, its buckets (which must add up to it exactly, one of them the
/// team's), emissions and burns. See `crate::tokenomics` for what each rule means.
fn read_tokenomics(cx: &mut Cx<'_>, env: &Env<'_>, t: &Tbl<'_, '_>) -> Option<Tokenomics> {
    t.allow(cx, &["total_supply", "tge", "bucket", "emission", "burn"]);
    let total = env.amount(cx, t, "total_supply", true);
    if total.is_some_and(|a| a.is_zero()) {
        cx.err(&t.field("total_supply"), t.span_of("total_supply"), "the total supply must be above zero");
    }
    let tge = t.date(cx, "tge", true);
    let benv = Env { default_start: tge, ..*env };
    let items = t.array_of_tables(cx, "bucket");
    if items.is_empty() {
        t.missing(cx, "bucket");
    }
    let kinds: Vec<(&str, BucketKind)> = BucketKind::ALL.iter().map(|k| (k.as_str(), *k)).collect();
    let mut buckets = Vec::new();
    let mut ok = true;
    let mut seen = BTreeSet::new();
    let mut teams = 0;
    for b in &items {
        b.allow(cx, &["id", "name", "kind", "amount", "share", "schedule"]);
        let id = b.string(cx, "id");
        if let Some(id) = &id
            && !seen.insert(id.clone())
        {
            cx.err(&b.field("id"), b.span_of("id"), format!("bucket id `{id}` is used by an earlier bucket"));
        }
        let name = b.string(cx, "name");
        let kind = b.choice(cx, "kind", &kinds, None);
        if kind == Some(BucketKind::Team) {
            teams += 1;
            if teams > 1 {
                cx.err(&b.field("kind"), b.span_of("kind"), "only one bucket may be of kind `team` (the grant budget)");
            }
        }
        let amount = match (b.get("amount").is_some(), b.get("share").is_some()) {
            (true, true) => {
                cx.err(&b.field("share"), b.span_of("share"), "give a bucket an `amount` or a `share`, not both");
                None
            }
            (false, false) => {
                cx.err(
                    &b.field("amount"),
                    b.span.clone(),
                    "a bucket needs an `amount` or a `share` of the total supply",
                );
                None
            }
            (true, false) => benv.amount(cx, b, "amount", true),
            (false, true) => match (b.percent_bps(cx, "share", true, 10_000), total) {
                (Some(bps), Some(total)) => {
                    let units = mul_div_floor_exact(total.base_units(), bps);
                    if units.is_none() && env.amounts_known {
                        cx.err(
                            &b.field("share"),
                            b.span_of("share"),
                            format!(
                                "{}% of the total supply is not a whole number of base units",
                                canonical_percent(bps)
                            ),
                        );
                    }
                    units.map(TokenAmount::from_base_units)
                }
                _ => None,
            },
        };
        let schedule = match b.table(cx, "schedule", true) {
            Some(s) => read_schedule(cx, &benv, &s, amount),
            None => None,
        };
        match (id, name, kind, amount, schedule) {
            (Some(id), Some(name), Some(kind), Some(amount), Some(schedule)) => {
                buckets.push(Bucket { id, name, kind, amount, schedule });
            }
            _ => ok = false,
        }
    }
    if teams == 0 && !items.is_empty() {
        cx.err(&t.field("bucket"), t.span.clone(), "no bucket is of kind `team`: exactly one is the grant budget");
    }
    if let (true, Some(total)) = (ok && env.amounts_known && !buckets.is_empty(), total) {
        let sum = buckets.iter().try_fold(0u128, |a, b| a.checked_add(b.amount.base_units()));
        let fmt = |u: u128| env.token.format(TokenAmount::from_base_units(u));
        let problem = match sum {
            None => Some("the buckets add up to more than 2^128 base units".to_owned()),
            Some(s) if s < total.base_units() => Some(format!(
                "the buckets add up to {} {sym}, {} {sym} less than the total supply of {} {sym}",
                fmt(s),
                fmt(total.base_units() - s),
                fmt(total.base_units()),
                sym = env.token.symbol()
            )),
            Some(s) if s > total.base_units() => Some(format!(
                "the buckets add up to {} {sym}, {} {sym} more than the total supply of {} {sym}",
                fmt(s),
                fmt(s - total.base_units()),
                fmt(total.base_units()),
                sym = env.token.symbol()
            )),
            Some(_) => None,
        };
        if let Some(p) = problem {
            cx.err(&t.field("bucket"), t.span_of("bucket"), p);
        }
    }
    let ids: BTreeSet<String> = buckets.iter().map(|b| b.id.clone()).collect();
    let target = |cx: &mut Cx<'_>, e: &Tbl<'_, '_>, key: &str| -> Option<Target> {
        let (s, span) = e.str(cx, key, true)?;
        if s == "circulating" {
            Some(Target::Circulating)
        } else if ids.contains(s) || !ok {
            Some(Target::Bucket(s.to_owned()))
        } else {
            cx.err(&e.field(key), span, format!("`{s}` is neither `circulating` nor a bucket id"));
            None
        }
    };
    let window = |cx: &mut Cx<'_>, e: &Tbl<'_, '_>| -> Option<(Date, Option<Date>)> {
        let from = e.date(cx, "from", true);
        let to = e.date(cx, "to", false);
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            cx.err(&e.field("to"), e.span_of("to"), format!("`to` ({t}) is before `from` ({f})"));
            return None;
        }
        Some((from?, to))
    };
    let mut emissions = Vec::new();
    for e in t.array_of_tables(cx, "emission") {
        e.allow(cx, &["id", "kind", "rate", "amount", "from", "to", "into"]);
        let id = e.string(cx, "id");
        let rule = match e.choice(cx, "kind", &[("inflation", true), ("fixed", false)], None) {
            Some(true) => {
                e.percent_bps(cx, "rate", true, 10_000).map(|annual_bps| EmissionRule::Inflation { annual_bps })
            }
            Some(false) => benv.amount(cx, &e, "amount", true).map(|per_month| EmissionRule::Fixed { per_month }),
            None => None,
        };
        let w = window(cx, &e);
        let into = target(cx, &e, "into");
        if let (Some(id), Some(rule), Some((from, to)), Some(into)) = (id, rule, w, into) {
            emissions.push(Emission { id, rule, from, to, into });
        }
    }
    let mut burns = Vec::new();
    for e in t.array_of_tables(cx, "burn") {
        e.allow(cx, &["id", "kind", "rate", "amount", "from", "to", "of"]);
        let id = e.string(cx, "id");
        let rule = match e.choice(cx, "kind", &[("percent", true), ("fixed", false)], None) {
            Some(true) => e.percent_bps(cx, "rate", true, 10_000).map(|monthly_bps| BurnRule::Percent { monthly_bps }),
            Some(false) => benv.amount(cx, &e, "amount", true).map(|per_month| BurnRule::Fixed { per_month }),
            None => None,
        };
        let w = window(cx, &e);
        let of = target(cx, &e, "of");
        if let (Some(id), Some(rule), Some((from, to)), Some(of)) = (id, rule, w, of) {
            burns.push(Burn { id, rule, from, to, of });
        }
    }
    Some(Tokenomics { total_supply: total?, tge: tge?, buckets, emissions, burns }).filter(|_| ok)
}

/// `total × bps / 10 000` when it is exact (compared in 256 bits).
fn mul_div_floor_exact(total: u128, bps: u32) -> Option<u128> {
    use ruint::aliases::U256;
    let q = tokencomp_money::mul_div_floor(total, u128::from(bps), 10_000)?;
    (U256::from(q) * U256::from(10_000u32) == U256::from(total) * U256::from(bps)).then_some(q)
}

fn canonical_percent(bps: u32) -> String {
    crate::canonical::percent(bps)
}

/// A schedule's `start` date, or the environment's default when it has none.
fn start_date(cx: &mut Cx<'_>, env: &Env<'_>, t: &Tbl<'_, '_>) -> Option<Date> {
    match env.default_start {
        Some(d) if t.get("start").is_none() => Some(d),
        _ => t.date(cx, "start", true),
    }
}

fn months_after(start: Option<Instant>, months: Option<u32>, tz: &TimeZone) -> Option<Instant> {
    let (start, months) = (start?, months?);
    let date = calendar::date_of(start, tz).ok()?;
    let end = date.checked_add(i64::from(months).months()).ok()?;
    let offset = start - calendar::start_of_day(date, tz).ok()?;
    Some(calendar::start_of_day(end, tz).ok()? + offset)
}

/// A percentage such as `"50"` or `"12.5"` (not negative, at most two decimals) in basis
/// points; the company file and the CLI read percentages the same way.
pub fn percent_to_bps(text: &str) -> Option<u32> {
    Decimal::from_str_exact(text.trim())
        .ok()
        .filter(|d| !d.is_sign_negative() && d.scale() <= 2)
        .and_then(|d| (d * Decimal::from(100)).trunc().to_string().parse::<u32>().ok())
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

/// A grant and, when its amounts are known, its folded total (granted).
fn read_grant(cx: &mut Cx<'_>, env: &Env<'_>, t: &Tbl<'_, '_>) -> Option<(GrantTerms, Option<TokenAmount>)> {
    t.allow(
        cx,
        &[
            "id",
            "holder",
            "grant_date",
            "amount",
            "value",
            "currency",
            "price",
            "price_average_days",
            "schedule",
            "performance",
            "event",
            "withholding_method",
            "floor_usd",
            "settlement_date",
            "transferred_at_grant",
            "election_83b",
            "attribution",
            "classification",
        ],
    );
    let id = t.string(cx, "id");
    let holder = t.string(cx, "holder");
    let grant_date = t.date(cx, "grant_date", false);
    let (amount, size) = if t.get("value").is_some() {
        if let Some(v) = t.get("amount") {
            cx.err(&t.field("amount"), v.span(), "give `amount` (tokens) or `value` (fiat), not both");
        }
        let value = t.decimal(cx, "value", true);
        let currency = match t.str(cx, "currency", false) {
            None => Some(Currency::USD),
            Some((c, span)) => {
                Currency::from_str(c).map_err(|e| cx.err(&t.field("currency"), span, e.to_string())).ok()
            }
        };
        let avg_days = t.u32(cx, "price_average_days", false, 1..366);
        let price = if t.get("price").is_some() {
            t.decimal(cx, "price", true).filter(|p| {
                let ok = !p.is_zero();
                if !ok {
                    cx.err(
                        &t.field("price"),
                        t.get("price").map_or(t.span.clone(), |v| v.span()),
                        "the grant price must be positive",
                    );
                }
                ok
            })
        } else if let (Some(days), Some(currency)) = (avg_days, currency) {
            let Some(gd) = grant_date else {
                cx.err(&t.field("grant_date"), t.span.clone(), "`price_average_days` needs a `grant_date`");
                return None;
            };
            match average_close(env.prices, gd, days, currency) {
                Ok(p) if !p.is_zero() => Some(p),
                Ok(_) => {
                    cx.err(&t.field("price_average_days"), t.span.clone(), "the average price is zero");
                    None
                }
                Err(e) => {
                    let span = t.get("price_average_days").map_or(t.span.clone(), |v| v.span());
                    cx.err(&t.field("price_average_days"), span, e);
                    None
                }
            }
        } else {
            if avg_days.is_none() && t.get("price_average_days").is_none() {
                cx.err(
                    &t.field("price"),
                    t.span.clone(),
                    "a grant sized by `value` needs `price` or `price_average_days`",
                );
            }
            None
        };
        match (value, currency, price) {
            (Some(value), Some(currency), Some(price)) => match tokens_for_value(env.token, value, price) {
                Ok(a) => (Some(a), GrantSize::Fiat { value, currency, price, average_days: avg_days }),
                Err(e) => {
                    cx.err(&t.field("value"), t.get("value").map_or(t.span.clone(), |v| v.span()), e.to_string());
                    (None, GrantSize::Tokens)
                }
            },
            _ => (None, GrantSize::Tokens),
        }
    } else {
        (env.amount(cx, t, "amount", true), GrantSize::Tokens)
    };
    // A grant of nothing is refused at input, as the contract refuses one (`ZeroAmount`).
    let amount = amount.filter(|a| {
        let zero = a.is_zero() && env.amounts_known && !env.recorded;
        if zero {
            let key = if t.get("value").is_some() { "value" } else { "amount" };
            let message = match &size {
                GrantSize::Fiat { value, price, .. } => {
                    format!("a value of {value} at {price} buys 0 {}: a grant must be above zero", env.token.symbol())
                }
                GrantSize::Tokens => "a grant of 0 tokens: a grant must be above zero".to_owned(),
            };
            cx.err(&t.field(key), t.get(key).map_or(t.span.clone(), |v| v.span()), message);
        }
        !zero
    });
    let schedule = t.table(cx, "schedule", true).and_then(|s| read_schedule(cx, env, &s, amount));
    let performance: Vec<PerformanceTranche> = t
        .array_of_tables(cx, "performance")
        .iter()
        .filter_map(|p| {
            p.allow(cx, &["id", "target", "cap_percent"]);
            let id = p.string(cx, "id");
            let target = env.amount(cx, p, "target", true).filter(|a| {
                let zero = a.is_zero() && env.amounts_known && !env.recorded;
                if zero {
                    cx.err(&p.field("target"), p.span_of("target"), "a performance target must be above zero");
                }
                !zero
            });
            let cap = p.percent_bps(cx, "cap_percent", false, crate::grant::MAX_PERFORMANCE_BPS).unwrap_or(FULL_BPS);
            Some(PerformanceTranche { id: id?, target: target?, cap_bps: cap })
        })
        .collect();
    let events: Vec<Option<GrantEvent>> =
        t.array_of_tables(cx, "event").iter().map(|e| read_event(cx, env, e)).collect();
    let events: Option<Vec<GrantEvent>> = events.into_iter().collect();
    let policy = read_grant_policy(cx, t);
    let (schedule, amount) = (schedule?, amount?);
    let grant = Grant { id: id?, holder: holder?, amount, schedule, performance, events: events? };
    let first = grant_date.or(match &grant.schedule {
        Schedule::Calendar(c) => Some(c.start()),
        Schedule::Custom(c) => c.tranches().next().map(|x| x.0),
        Schedule::Linear(l) => calendar::date_of(l.start(), env.tz).ok(),
    })?;
    // The whole lifecycle must fold: report a refusal at the event it names.
    let folded = if env.amounts_known { grant.timeline(env.tz, None).map(|t| Some(t.granted)) } else { Ok(None) };
    let granted = match folded {
        Ok(g) => g,
        Err(e) => {
            let events = t.array_of_tables(cx, "event");
            let at = e
                .event_id()
                .and_then(|id| events.iter().find(|ev| ev.get("id").and_then(|v| v.get_ref().as_str()) == Some(id)));
            let (field, span) = match at {
                Some(ev) => (ev.path.clone(), ev.span.clone()),
                None if grant.events.is_empty() => {
                    (t.field("schedule"), t.get("schedule").map_or(t.span.clone(), |v| v.span()))
                }
                None => (t.field("event"), t.get("event").map_or(t.span.clone(), |v| v.span())),
            };
            cx.err(&field, span, e.to_string());
            return None;
        }
    };
    let policy = policy?;
    if !check_grant_policy(cx, t, &policy, first) {
        return None;
    }
    Some((GrantTerms { grant, grant_date: first, size, policy }, granted))
}

/// The grant's policy keys, each read on its own; how they fit together is `check_grant_policy`.
fn read_grant_policy(cx: &mut Cx<'_>, t: &Tbl<'_, '_>) -> Option<GrantPolicy> {
    let withholding = t.opt_choice(cx, "withholding_method", &withholding_choices());
    let withholding_ok = withholding.is_some() || t.get("withholding_method").is_none();
    let floor = t.quantity(cx, "floor_usd");
    let floor_ok = floor.is_some() || t.get("floor_usd").is_none();
    let settlement_date = t.date(cx, "settlement_date", false);
    let settlement_ok = settlement_date.is_some() || t.get("settlement_date").is_none();
    let transferred = t.bool(cx, "transferred_at_grant");
    let transferred_ok = transferred.is_some() || t.get("transferred_at_grant").is_none();
    let election_83b = t.date(cx, "election_83b", false);
    let election_ok = election_83b.is_some() || t.get("election_83b").is_none();
    let attribution = t.opt_choice(cx, "attribution", &attribution_choices());
    let attribution_ok = attribution.is_some() || t.get("attribution").is_none();
    let classification = t.opt_choice(cx, "classification", &classification_choices());
    let classification_ok = classification.is_some() || t.get("classification").is_none();
    let all_ok = withholding_ok
        && floor_ok
        && settlement_ok
        && transferred_ok
        && election_ok
        && attribution_ok
        && classification_ok;
    all_ok.then_some(GrantPolicy {
        withholding,
        floor,
        settlement_date,
        transferred_at_grant: transferred.unwrap_or(false),
        election_83b,
        attribution,
        classification,
    })
}

/// The longest an §83(b) election may follow the transfer (IRC §83(b)(2): 30 days).
pub const ELECTION_83B_DAYS: i64 = 30;

/// How a grant's delivery keys fit together: an §83(b) election needs tokens transferred at
/// grant and is filed within 30 days of it (IRC §83(b)(2)); restricted token units (a settlement
/// date) are a promise, so they are never transferred at grant; nothing settles before the grant.
fn check_grant_policy(cx: &mut Cx<'_>, t: &Tbl<'_, '_>, p: &GrantPolicy, grant_date: Date) -> bool {
    let before = cx.diags.len();
    if let Some(election) = p.election_83b {
        if !p.transferred_at_grant {
            cx.err(
                &t.field("election_83b"),
                t.span_of("election_83b"),
                "an §83(b) election needs tokens transferred at grant: set `transferred_at_grant = true` (restricted token units cannot make one)",
            );
        }
        let last = grant_date.checked_add(ELECTION_83B_DAYS.days()).unwrap_or(grant_date);
        if election < grant_date || election > last {
            cx.err(
                &t.field("election_83b"),
                t.span_of("election_83b"),
                format!(
                    "the §83(b) election on {election} must be filed from the grant date {grant_date} to 30 days after it ({last})"
                ),
            );
        }
    }
    if let Some(settles) = p.settlement_date {
        if p.transferred_at_grant {
            cx.err(
                &t.field("settlement_date"),
                t.span_of("settlement_date"),
                "give `settlement_date` (restricted token units, delivered later) or `transferred_at_grant = true` (restricted tokens), not both",
            );
        }
        if settles < grant_date {
            cx.err(
                &t.field("settlement_date"),
                t.span_of("settlement_date"),
                format!("the settlement date {settles} is before the grant date {grant_date}"),
            );
        }
    }
    cx.diags.len() == before
}

/// One `[[milestone]]`. Grants and tranches are checked against the file's grants when it has
/// any (a ledger fragment has none; the CLI checks it against the ledger's).
fn read_milestone(cx: &mut Cx<'_>, tz: &TimeZone, grants: &[GrantTerms], t: &Tbl<'_, '_>) -> Option<MilestoneTerms> {
    t.allow(
        cx,
        &[
            "id",
            "grant",
            "team",
            "grants",
            "metric",
            "comparison",
            "threshold",
            "deadline",
            "quorum",
            "effect",
            "tranche",
            "periods",
            "percent",
            "graded",
        ],
    );
    let id = t.string(cx, "id");
    let metric = t.string(cx, "metric");
    let comparison = t.choice(
        cx,
        "comparison",
        &[
            ("gte", Comparison::Gte),
            ("gt", Comparison::Gt),
            ("lte", Comparison::Lte),
            ("lt", Comparison::Lt),
            ("eq", Comparison::Eq),
        ],
        None,
    );
    let threshold = match t.str(cx, "threshold", true) {
        Some((text, span)) => match Fixed18::parse_decimal(text.trim()) {
            Ok(v) => Some(v),
            Err(e) => {
                cx.err(&t.field("threshold"), span, format!("`{text}` is not a threshold: {e}"));
                None
            }
        },
        None => None,
    };
    let deadline_date = t.date(cx, "deadline", true);
    let deadline = deadline_date.and_then(|d| calendar::end_of_day(d, tz).ok()).and_then(|i| u64::try_from(i).ok());
    let quorum = t.u32(cx, "quorum", false, 1..1001).unwrap_or(1);
    let grant = t.str(cx, "grant", false);
    let team = t.str(cx, "team", false);
    let mut targets: Vec<(String, Range<usize>)> = Vec::new();
    let subject = match (grant, team) {
        (Some((g, span)), None) => {
            targets.push((g.to_owned(), span));
            Some(Subject::Grant(g.to_owned()))
        }
        (None, Some((team, span))) => {
            match t.get("grants").map(|v| (v.get_ref(), v.span())) {
                Some((DeValue::Array(items), _)) if !items.is_empty() => {
                    for item in items {
                        match item.get_ref() {
                            DeValue::String(g) => targets.push((g.to_string(), item.span())),
                            other => cx.err(
                                &t.field("grants"),
                                item.span(),
                                format!("expected a grant id, found {}", other.type_str()),
                            ),
                        }
                    }
                }
                _ => cx.err(
                    &t.field("grants"),
                    span,
                    "a team milestone names the grants its effect applies to: `grants = [\"…\"]`",
                ),
            }
            Some(Subject::Team(team.to_owned()))
        }
        (Some(_), Some((_, span))) => {
            cx.err(&t.field("team"), span, "give `grant` or `team`, not both");
            None
        }
        (None, None) => {
            cx.err(&t.field("grant"), t.span.clone(), "missing field `grant` (or `team`) in the milestone");
            None
        }
    };
    let effect = t.choice(cx, "effect", &[("unlock", 0u8), ("pull_forward", 1), ("scale", 2)], None);
    let effect = match effect? {
        0 => TermsEffect::Fixed(MilestoneEffect::Unlock { tranche: t.string(cx, "tranche")? }),
        1 => TermsEffect::Fixed(MilestoneEffect::PullForward { periods: t.u32(cx, "periods", true, 1..1201)? }),
        _ => {
            let tranche = t.string(cx, "tranche");
            let graded = t.bool(cx, "graded").unwrap_or(false);
            if graded {
                if t.get("percent").is_some() {
                    cx.err(&t.field("percent"), t.span_of("percent"), "give `percent` or `graded = true`, not both");
                    return None;
                }
                if threshold.is_some_and(|v| v.is_negative() || v == Fixed18::ZERO) {
                    cx.err(
                        &t.field("threshold"),
                        t.span_of("threshold"),
                        "a graded scale divides by the threshold: it must be above zero",
                    );
                    return None;
                }
                TermsEffect::Graded { tranche: tranche? }
            } else {
                let bps = t.percent_bps(cx, "percent", true, crate::grant::MAX_PERFORMANCE_BPS);
                TermsEffect::Fixed(MilestoneEffect::Scale { tranche: tranche?, bps: bps? })
            }
        }
    };
    if !grants.is_empty() {
        for (g, span) in &targets {
            match grants.iter().find(|x| &x.grant.id == g) {
                None => cx.err(&t.field("grant"), span.clone(), format!("no [[grant]] has id `{g}`")),
                Some(terms) => {
                    let tranche = match &effect {
                        TermsEffect::Fixed(MilestoneEffect::Unlock { tranche })
                        | TermsEffect::Fixed(MilestoneEffect::Scale { tranche, .. })
                        | TermsEffect::Graded { tranche } => Some(tranche),
                        TermsEffect::Fixed(MilestoneEffect::PullForward { .. }) => None,
                    };
                    if let Some(tr) = tranche
                        && !terms.grant.performance.iter().any(|p| &p.id == tr)
                    {
                        cx.err(
                            &t.field("tranche"),
                            t.span_of("tranche"),
                            format!("grant `{g}` has no performance tranche `{tr}`"),
                        );
                    }
                }
            }
        }
    }
    let milestone = Milestone {
        id: id?,
        metric: metric?,
        comparison: comparison?,
        threshold: threshold?,
        subject: subject?,
        deadline: deadline?,
        quorum,
    };
    Some(MilestoneTerms {
        milestone,
        deadline_date: deadline_date?,
        grants: targets.into_iter().map(|(g, _)| g).collect(),
        effect,
    })
}

fn read_event(cx: &mut Cx<'_>, env: &Env<'_>, t: &Tbl<'_, '_>) -> Option<GrantEvent> {
    let kind = t.choice(
        cx,
        "type",
        &[
            ("leave", 0u8),
            ("termination", 1),
            ("change_of_control", 2),
            ("revocation", 3),
            ("amendment", 4),
            ("milestone", 5),
        ],
        None,
    );
    let id = t.string(cx, "id");
    let date = t.date(cx, "date", true);
    let kind = match kind? {
        0 => {
            t.allow(cx, &["id", "type", "date", "until"]);
            EventKind::Leave { until: t.date(cx, "until", true)? }
        }
        1 => {
            t.allow(cx, &["id", "type", "date", "cause", "accelerate_months", "accelerate_percent"]);
            let cause = t.choice(
                cx,
                "cause",
                &[
                    ("voluntary", TerminationCause::Voluntary),
                    ("without_cause", TerminationCause::WithoutCause),
                    ("good_reason", TerminationCause::GoodReason),
                    ("for_cause", TerminationCause::ForCause),
                    ("death_or_disability", TerminationCause::DeathOrDisability),
                ],
                Some(TerminationCause::Voluntary),
            );
            let months = t.u32(cx, "accelerate_months", false, 0..1201);
            let pct = t.percent_bps(cx, "accelerate_percent", false, FULL_BPS);
            if months.is_some() && pct.is_some() {
                cx.err(
                    &t.field("accelerate_percent"),
                    t.span.clone(),
                    "give `accelerate_months` or `accelerate_percent`, not both",
                );
            }
            let acceleration = months.map(Acceleration::Months).or(pct.map(|bps| Acceleration::Percent { bps }));
            EventKind::Termination { cause: cause?, acceleration }
        }
        2 => {
            t.allow(cx, &["id", "type", "date", "trigger", "percent", "window_months"]);
            let double = t.choice(cx, "trigger", &[("single", false), ("double", true)], None);
            let bps = t.percent_bps(cx, "percent", true, FULL_BPS);
            let trigger = if double? {
                Trigger::Double { bps: bps?, window_months: t.u32(cx, "window_months", true, 1..1201)? }
            } else {
                Trigger::Single { bps: bps? }
            };
            EventKind::ChangeOfControl { trigger }
        }
        3 => {
            t.allow(cx, &["id", "type", "date"]);
            EventKind::Revocation
        }
        4 => {
            t.allow(cx, &["id", "type", "date", "amount", "schedule"]);
            let amount = env.amount(cx, t, "amount", false);
            let schedule = match t.table(cx, "schedule", false) {
                Some(s) => Some(read_schedule(cx, env, &s, None)?),
                None => None,
            };
            EventKind::Amendment { amount, schedule }
        }
        _ => {
            t.allow(cx, &["id", "type", "date", "effect", "tranche", "periods", "percent"]);
            let effect = t.choice(cx, "effect", &[("unlock", 0u8), ("pull_forward", 1), ("scale", 2)], None)?;
            let effect = match effect {
                0 => MilestoneEffect::Unlock { tranche: t.string(cx, "tranche")? },
                1 => MilestoneEffect::PullForward { periods: t.u32(cx, "periods", true, 1..1201)? },
                _ => MilestoneEffect::Scale {
                    tranche: t.string(cx, "tranche")?,
                    bps: t.percent_bps(cx, "percent", true, crate::grant::MAX_PERFORMANCE_BPS)?,
                },
            };
            EventKind::Milestone { effect }
        }
    };
    Some(GrantEvent { id: id?, date: date?, kind })
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use proptest::prelude::*;

    use super::*;

    const HEAD: &str = "[company]\nname = \"Co\"\n";
    const TOKEN: &str = "[token]\nsymbol = \"NET\"\ndecimals = 18\n";
    const GRANT: &str = "[[grant]]\nid = \"g\"\nholder = \"ada\"\ngrant_date = 2026-01-05\namount = \"100\"\n";
    const SCHEDULE: &str = "[grant.schedule]\ntype = \"monthly\"\nstart = 2026-01-05\nduration_months = 12\n";

    fn parse(text: &str) -> CompanyFile {
        parse_company("c.toml", text)
            .unwrap_or_else(|d| panic!("{}", d.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")))
    }

    /// (line, column, field, message) of every error.
    fn errors(text: &str) -> Vec<(usize, usize, String, String)> {
        let d = parse_company("c.toml", text).expect_err("errors");
        d.into_iter()
            .map(|d| {
                let l = d.location;
                (l.line.expect("a line"), l.column.expect("a column"), l.field.unwrap_or_default(), d.message)
            })
            .collect()
    }

    /// Line and column of the first `needle` in `text`: where an error about it must point.
    fn at(text: &str, needle: &str) -> (usize, usize) {
        crate::diag::line_column(text, text.find(needle).expect("the needle"))
    }

    fn check(text: &str, expected: &[(&str, &str, &str)]) {
        let got = errors(text);
        let shown = format!("{got:#?}");
        assert_eq!(got.len(), expected.len(), "every error at once: {shown}");
        for (g, (needle, field, fragment)) in got.iter().zip(expected) {
            assert_eq!((g.0, g.1), at(text, needle), "{field}: {shown}");
            assert_eq!(g.2, *field, "{shown}");
            assert!(g.3.contains(fragment), "`{fragment}` not in {shown}");
        }
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str_exact(s).expect("a decimal")
    }

    #[test]
    fn a_file_without_policy_keys_gets_the_defaults() {
        let f = parse(&format!("{HEAD}{TOKEN}[[person]]\nid = \"ada\"\nname = \"Ada\"\n{GRANT}{SCHEDULE}"));
        let p = &f.company.policy;
        assert_eq!(*p, Policy::default());
        assert_eq!(
            (p.withholding, p.sale_fee_bps, p.slippage_bps, p.fmv),
            (WithholdingMethod::SellToCover, 0, 0, FmvSource::Close)
        );
        assert_eq!((p.attribution, p.classification), (AttributionPolicy::StraightLine, ClassificationPolicy::Equity));
        assert_eq!((f.people[0].salary, f.people[0].wallet.clone()), (None, None));
        assert_eq!(f.grants[0].policy, GrantPolicy::default());
        assert!(f.fx.is_empty());
    }

    #[test]
    fn every_policy_key_is_read() {
        let text = format!(
            "{HEAD}withholding_method = \"net_settlement\"\nsale_fee = \"0.25%\"\nslippage = \"0.5\"\nfmv = \"average\"\n\
             fmv_days = 20\nattribution = \"graded\"\nclassification = \"liability\"\n\
             [[company.flat_withholding]]\ncountry = \"DE\"\nemployee = \"42%\"\nemployer = \"0%\"\n\
             [[company.flat_withholding]]\ncountry = \"FR\"\nemployee = \"30.5\"\nemployer = 12\n{TOKEN}"
        );
        let p = parse(&text).company.policy;
        // "0.25%" is 25 basis points, "0.5" (the sign is optional) 50, "30.5" 3050, 12 → 1200.
        assert_eq!(
            p,
            Policy {
                withholding: WithholdingMethod::NetSettlement,
                sale_fee_bps: 25,
                slippage_bps: 50,
                fmv: FmvSource::Average(20),
                attribution: AttributionPolicy::Graded,
                classification: ClassificationPolicy::Liability,
                flat_rules: vec![
                    FlatRuleInput { country: "DE".into(), employee_bps: 4200, employer_bps: 0 },
                    FlatRuleInput { country: "FR".into(), employee_bps: 3050, employer_bps: 1200 },
                ],
            }
        );
        let vwap = parse(&format!("{HEAD}fmv = \"vwap\"\nfmv_days = 90\n{TOKEN}")).company.policy.fmv;
        assert_eq!(vwap, FmvSource::Vwap(90));
        let twap = parse(&format!("{HEAD}fmv = \"twap\"\nfmv_days = 1\n{TOKEN}")).company.policy.fmv;
        assert_eq!((twap, twap.as_str(), twap.days()), (FmvSource::Twap(1), "twap", Some(1)));
    }

    #[test]
    fn every_bad_policy_key_at_once() {
        let text = format!(
            "{HEAD}withholding_method = \"payroll\"\nsale_fee = \"0.125%\"\nslippage = \"-1%\"\nfmv = \"median\"\n\
             attribution = \"front\"\nclassification = 1\n\
             [[company.flat_withholding]]\ncountry = \"de\"\nemployee = \"142%\"\nemployer = \"0%\"\n\
             [[company.flat_withholding]]\ncountry = \"GB\"\nemployer = \"0%\"\nrate = \"1\"\n{TOKEN}"
        );
        check(
            &text,
            &[
                (
                    "\"payroll\"",
                    "company.withholding_method",
                    "`payroll` is not one of: sell_to_cover, net_settlement, cash",
                ),
                ("\"0.125%\"", "company.sale_fee", "not a percentage from 0 to 100 with at most two decimals"),
                ("\"-1%\"", "company.slippage", "not a percentage"),
                ("\"median\"", "company.fmv", "`median` is not one of: close, average, vwap, twap"),
                ("\"front\"", "company.attribution", "`front` is not one of: straight_line, graded"),
                ("1\n[[company", "company.classification", "expected a string"),
                ("\"de\"", "company.flat_withholding[0].country", "not a two-letter country code"),
                ("\"142%\"", "company.flat_withholding[0].employee", "not a percentage from 0 to 100"),
                // A missing key is reported at its table.
                (
                    "[[company.flat_withholding]]\ncountry = \"GB\"",
                    "company.flat_withholding[1].employee",
                    "missing field `employee`",
                ),
                ("rate", "company.flat_withholding[1].rate", "unknown field `rate`"),
            ],
        );
    }

    #[test]
    fn fmv_windows_fees_and_flat_rules_must_fit_together() {
        // A windowed source needs its window; `close` takes none; the window is 1 to 90 days.
        let t = format!("{HEAD}fmv = \"vwap\"\n{TOKEN}");
        check(&t, &[("\"vwap\"", "company.fmv", "fmv = \"vwap\" needs `fmv_days` (1 to 90)")]);
        let t = format!("{HEAD}fmv = \"close\"\nfmv_days = 5\n{TOKEN}");
        check(&t, &[("5\n", "company.fmv_days", "`fmv_days` applies only to fmv = \"average\", \"vwap\" or \"twap\"")]);
        let t = format!("{HEAD}fmv_days = 5\n{TOKEN}");
        check(&t, &[("5\n", "company.fmv_days", "applies only to")]);
        let t = format!("{HEAD}fmv = \"average\"\nfmv_days = 91\n{TOKEN}");
        check(&t, &[("91", "company.fmv_days", "91 is out of range: `fmv_days` must be 1 to 90")]);
        let t = format!("{HEAD}fmv = \"twap\"\n{TOKEN}");
        check(&t, &[("\"twap\"", "company.fmv", "fmv = \"twap\" needs `fmv_days` (1 to 90)")]);
        let t = format!("{HEAD}fmv = \"twap\"\nfmv_days = 0\n{TOKEN}");
        check(&t, &[("0\n", "company.fmv_days", "must be 1 to 90")]);
        // A sale that loses all its proceeds to fees and slippage could never cover a tax.
        let t = format!("{HEAD}sale_fee = \"60%\"\nslippage = \"40%\"\n{TOKEN}");
        check(&t, &[("\"40%\"", "company.slippage", "add up to 100%: together they must stay below 100%")]);
        // One flat rule per country.
        let rule = "[[company.flat_withholding]]\ncountry = \"DE\"\nemployee = \"42\"\nemployer = \"0\"\n";
        let t = format!("{HEAD}{rule}{rule}{TOKEN}");
        let second = t.rfind("\"DE\"").expect("two rules");
        let got = errors(&t);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!((got[0].0, got[0].1), crate::diag::line_column(&t, second));
        assert_eq!(got[0].2, "company.flat_withholding[1].country");
        assert!(got[0].3.contains("a second flat withholding rule for `DE`"), "{got:?}");
    }

    #[test]
    fn people_prices_and_rates_carry_their_new_fields() {
        let text = format!(
            "{HEAD}{TOKEN}[[person]]\nid = \"ada\"\nname = \"Ada\"\nsalary = 185000\nwallet = \"ada-main\"\n\
             [[person]]\nid = \"ben\"\nname = \"Ben\"\nsalary = \"92000.50\"\n\
             [[price]]\ndate = 2026-01-02\nclose = \"1.50\"\nvolume = \"1250000.5\"\n\
             [[fx]]\ndate = 2026-01-02\ncurrency = \"GBP\"\nper_usd = \"0.7900\"\n\
             [[fx]]\ndate = 2026-01-02\ncurrency = \"EUR\"\nper_usd = \"0.92\"\n"
        );
        let f = parse(&text);
        assert_eq!((f.people[0].salary, f.people[0].wallet.as_deref()), (Some(dec("185000")), Some("ada-main")));
        assert_eq!((f.people[1].salary, f.people[1].wallet.as_deref()), (Some(dec("92000.50")), None));
        assert_eq!(f.prices[0].volume, Some(dec("1250000.5")));
        assert_eq!(
            f.fx,
            vec![
                FxRate { date: date(2026, 1, 2), currency: Currency::GBP, per_usd: dec("0.7900") },
                FxRate { date: date(2026, 1, 2), currency: Currency::EUR, per_usd: dec("0.92") },
            ]
        );
    }

    #[test]
    fn bad_salaries_wallets_volumes_and_rates_at_once() {
        let text = format!(
            "{HEAD}{TOKEN}[[person]]\nid = \"ada\"\nname = \"Ada\"\nsalary = \"-5\"\nwallet = \"my wallet\"\n\
             [[person]]\nid = \"ben\"\nname = \"Ben\"\nsalary = 1.5\nwallet = \"\"\n\
             [[price]]\ndate = 2026-01-02\nclose = \"1.50\"\nvolume = \"0\"\n\
             [[fx]]\ndate = 2026-01-02\ncurrency = \"USD\"\nper_usd = \"1\"\n\
             [[fx]]\ndate = 2026-01-03\ncurrency = \"GBP\"\nper_usd = \"0\"\n\
             [[fx]]\ndate = 2026-01-04\ncurrency = \"GBP\"\nper_usd = \"0.8\"\n\
             [[fx]]\ndate = 2026-01-04\ncurrency = \"GBP\"\nper_usd = \"0.8\"\n\
             [[fx]]\ndate = 2026-01-05\nper_usd = \"0.8\"\n"
        );
        let second_dup = text.rfind("date = 2026-01-04").expect("two rates") + "date = ".len();
        let got = errors(&text);
        let shown = format!("{got:#?}");
        let want: Vec<((usize, usize), &str, &str)> = vec![
            (at(&text, "\"-5\""), "person[0].salary", "`-5` is not a non-negative decimal number"),
            (at(&text, "\"my wallet\""), "person[0].wallet", "has whitespace"),
            (at(&text, "1.5\n"), "person[1].salary", "expected a decimal number as a string"),
            (at(&text, "\"\"\n"), "person[1].wallet", "`wallet` must not be empty"),
            (at(&text, "\"0\"\n[[fx]]"), "price[0].volume", "must be above zero"),
            (at(&text, "\"USD\""), "fx[0].currency", "USD has no rate against itself"),
            (at(&text, "\"0\"\n[[fx]]\ndate = 2026-01-04"), "fx[1].per_usd", "must be above zero"),
            (crate::diag::line_column(&text, second_dup), "fx[3].date", "a second GBP rate for 2026-01-04"),
            (at(&text, "[[fx]]\ndate = 2026-01-05"), "fx[4].currency", "missing field `currency`"),
        ];
        assert_eq!(got.len(), want.len(), "{shown}");
        for (g, (pos, field, fragment)) in got.iter().zip(&want) {
            assert_eq!(((g.0, g.1), g.2.as_str()), (*pos, *field), "{shown}");
            assert!(g.3.contains(fragment), "`{fragment}` not in {shown}");
        }
    }

    fn grant_with(keys: &str) -> String {
        format!("{HEAD}{TOKEN}[[person]]\nid = \"ada\"\nname = \"Ada\"\n{GRANT}{keys}{SCHEDULE}")
    }

    #[test]
    fn every_grant_policy_key_is_read() {
        let f = parse(&grant_with(
            "withholding_method = \"cash\"\nfloor_usd = \"15000.00\"\ntransferred_at_grant = true\n\
             election_83b = 2026-02-04\nattribution = \"straight_line\"\nclassification = \"equity\"\n",
        ));
        // 2026-02-04 is the 30th day after the 2026-01-05 grant: the last day an election may be filed.
        assert_eq!(
            f.grants[0].policy,
            GrantPolicy {
                withholding: Some(WithholdingMethod::Cash),
                floor: Some(dec("15000.00")),
                settlement_date: None,
                transferred_at_grant: true,
                election_83b: Some(date(2026, 2, 4)),
                attribution: Some(AttributionPolicy::StraightLine),
                classification: Some(ClassificationPolicy::Equity),
            }
        );
        let rtu = parse(&grant_with("settlement_date = 2026-01-05\ntransferred_at_grant = false\n"));
        assert_eq!(rtu.grants[0].policy.settlement_date, Some(date(2026, 1, 5)));
    }

    #[test]
    fn grant_delivery_keys_that_contradict_each_other_are_refused() {
        // An §83(b) election needs a transfer at grant and is filed within 30 days (IRC §83(b)(2)).
        let t = grant_with("election_83b = 2026-01-10\n");
        check(&t, &[("2026-01-10", "grant[0].election_83b", "needs tokens transferred at grant")]);
        let t = grant_with("transferred_at_grant = true\nelection_83b = 2026-02-05\n");
        check(
            &t,
            &[(
                "2026-02-05",
                "grant[0].election_83b",
                "from the grant date 2026-01-05 to 30 days after it (2026-02-04)",
            )],
        );
        let t = grant_with("transferred_at_grant = true\nelection_83b = 2026-01-04\n");
        check(&t, &[("2026-01-04", "grant[0].election_83b", "must be filed from the grant date")]);
        // Restricted token units are a promise: never transferred at grant; never settled before it.
        let t = grant_with("settlement_date = 2026-06-30\ntransferred_at_grant = true\n");
        check(&t, &[("2026-06-30", "grant[0].settlement_date", "not both")]);
        let t = grant_with("settlement_date = 2025-12-31\n");
        check(&t, &[("2025-12-31", "grant[0].settlement_date", "is before the grant date 2026-01-05")]);
        // Each key's own shape, all at once.
        let t = grant_with(
            "withholding_method = \"stock\"\nfloor_usd = \"-1\"\ntransferred_at_grant = \"yes\"\n\
             settlement_date = \"soon\"\nattribution = \"graded2\"\n",
        );
        check(
            &t,
            &[
                ("\"stock\"", "grant[0].withholding_method", "is not one of: sell_to_cover, net_settlement, cash"),
                ("\"-1\"", "grant[0].floor_usd", "not a non-negative decimal number"),
                ("\"yes\"", "grant[0].transferred_at_grant", "expected true or false"),
                ("\"soon\"", "grant[0].settlement_date", "is not a date"),
                ("\"graded2\"", "grant[0].attribution", "is not one of: straight_line, graded"),
            ],
        );
    }

    #[test]
    fn the_grant_date_that_counts_is_the_schedules_start_when_none_is_given() {
        // No grant_date: the grant is dated at its schedule's start, 2026-01-05, and the 30 days
        // of an election run from there.
        let text = grant_with("transferred_at_grant = true\nelection_83b = 2026-02-05\n")
            .replace("grant_date = 2026-01-05\n", "");
        check(&text, &[("2026-02-05", "grant[0].election_83b", "30 days after it (2026-02-04)")]);
    }

    #[test]
    fn the_sample_company_uses_every_new_input() {
        let f = parse(include_str!("../../../examples/company.toml"));
        let p = &f.company.policy;
        assert_eq!((p.withholding, p.sale_fee_bps, p.slippage_bps), (WithholdingMethod::SellToCover, 10, 30));
        assert_eq!((p.fmv, p.attribution), (FmvSource::Close, AttributionPolicy::Graded));
        assert_eq!(p.flat_rules, vec![FlatRuleInput { country: "DE".into(), employee_bps: 4200, employer_bps: 0 }]);
        // Every employee has a salary; advisors and contractors have none.
        for person in &f.people {
            assert_eq!(person.salary.is_some(), person.kind == PersonKind::Employee, "{}", person.id);
        }
        let over_400k = f.people.iter().filter(|x| x.salary.is_some_and(|s| s > dec("400000"))).count();
        assert_eq!(over_400k, 1, "one founder above the Social Security and Additional Medicare thresholds");
        let policy = |id: &str| &f.grants.iter().find(|g| g.grant.id == id).expect("the grant").policy;
        assert_eq!(policy("marcus-2024-hire").withholding, Some(WithholdingMethod::NetSettlement));
        assert_eq!(policy("hana-2023-hire").withholding, Some(WithholdingMethod::Cash));
        assert_eq!(policy("valentina-2025-hire").floor, Some(dec("120000")));
        assert_eq!(policy("samir-2025-hire").settlement_date, Some(date(2026, 6, 30)));
        assert!(policy("noor-2023-hire").transferred_at_grant);
        assert_eq!(policy("noor-2023-hire").election_83b, Some(date(2023, 10, 20)));
    }

    proptest! {
        /// An election `d` days after a transfer at grant is accepted exactly when 0 ≤ d ≤ 30.
        #[test]
        fn an_election_is_accepted_only_within_30_days(d in -60i64..90) {
            let day = date(2026, 1, 5).checked_add(d.days()).expect("in range");
            let text = grant_with(&format!("transferred_at_grant = true\nelection_83b = {day}\n"));
            let accepted = parse_company("c.toml", &text).is_ok();
            prop_assert_eq!(accepted, (0..=30).contains(&d), "election on {}", day);
        }

        /// Restricted token units settle on or after the grant date, any day after it.
        #[test]
        fn a_settlement_date_is_accepted_from_the_grant_date_on(d in -400i64..4000) {
            let day = date(2026, 1, 5).checked_add(d.days()).expect("in range");
            let text = grant_with(&format!("settlement_date = {day}\n"));
            prop_assert_eq!(parse_company("c.toml", &text).is_ok(), d >= 0, "settlement on {}", day);
        }
    }
}
