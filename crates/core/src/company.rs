//! The company file (TOML): `[company]`, `[token]`, `[[person]]`, `[[price]]`, `[[grant]]` with
//! `[grant.schedule]`, `[[grant.performance]]` and `[[grant.event]]`.
//!
//! The file is read into a spanned tree (`toml::de::DeTable`) and validated field by field,
//! so every problem in the file is reported at once with its line, column and field path;
//! the domain types carry no serde. A file with any problem yields no company at all.

use std::collections::BTreeSet;
use std::ops::Range;
use std::str::FromStr;

use jiff::ToSpan;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use tokencomp_money::{Currency, Decimal, PRICE_ROUNDING, Token, TokenAmount, tokens_for_value};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::calendar::{self, Instant};
use crate::diag::Diagnostic;
use crate::grant::{
    Acceleration, EventKind, FULL_BPS, Grant, GrantEvent, MilestoneEffect, PerformanceTranche, TerminationCause,
    Trigger,
};
use crate::schedule::{Allocation, Calendar, Custom, DayOfMonth, Linear, LinearModel, Period, Schedule, check_date};

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
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Price {
    pub date: Date,
    pub close: Decimal,
    pub currency: Currency,
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
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompanyFile {
    pub company: CompanySettings,
    pub token: TokenSettings,
    pub people: Vec<Person>,
    pub prices: Vec<Price>,
    pub grants: Vec<GrantTerms>,
}

impl CompanyFile {
    pub fn grant_ids(&self) -> impl Iterator<Item = &str> {
        self.grants.iter().map(|g| g.grant.id.as_str())
    }
}

/// Reads a company file. `file` is the name used in diagnostics.
pub fn parse_company(file: &str, text: &str) -> Result<CompanyFile, Vec<Diagnostic>> {
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
    root.allow(&mut cx, &["company", "token", "person", "price", "grant", "tokenomics", "milestone"]);

    let company = match root.table(&mut cx, "company", false) {
        Some(c) => read_company(&mut cx, &c),
        None => Some(CompanySettings {
            name: String::new(),
            time_zone: TimeZone::UTC,
            time_zone_name: "UTC".into(),
            pay_frequency: PayFrequency::Monthly,
            demo_through: None,
        }),
    };
    let token = root.table(&mut cx, "token", true).and_then(|t| read_token(&mut cx, &t));
    let people =
        root.array_of_tables(&mut cx, "person").iter().filter_map(|p| read_person(&mut cx, p)).collect::<Vec<_>>();
    let prices =
        root.array_of_tables(&mut cx, "price").iter().filter_map(|p| read_price(&mut cx, p)).collect::<Vec<_>>();
    check_unique(&mut cx, &root, "person");
    check_unique(&mut cx, &root, "grant");

    let mut grants = Vec::new();
    // A bad [company] still lets the grants be checked (in UTC), so every error shows at once;
    // without a token there is no way to read amounts.
    let tz = company.as_ref().map_or(TimeZone::UTC, |c| c.time_zone.clone());
    // Without a valid token, grants are still checked; their amounts only for syntax.
    let fallback = Token::new("UNKNOWN", 0).ok();
    if let Some(env_token) = token.as_ref().map(|t| &t.token).or(fallback.as_ref()) {
        let env = Env { tz: &tz, token: env_token, prices: &prices, amounts_known: token.is_some() };
        let holders: BTreeSet<&str> = people.iter().map(|p| p.id.as_str()).collect();
        for g in root.array_of_tables(&mut cx, "grant") {
            if let Some(terms) = read_grant(&mut cx, &env, &g) {
                if !holders.is_empty() && !holders.contains(terms.grant.holder.as_str()) {
                    let span = g.get("holder").map_or(g.span.clone(), |v| v.span());
                    cx.err(&g.field("holder"), span, format!("no [[person]] has id `{}`", terms.grant.holder));
                }
                grants.push(terms);
            }
        }
    }

    match (cx.diags.is_empty(), company, token) {
        (true, Some(company), Some(token)) => Ok(CompanyFile { company, token, people, prices, grants }),
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

    /// A percentage such as `"50"` or `"12.5"` (at most two decimals), as basis points.
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
        match percent_to_bps(&text) {
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
    t.allow(cx, &["name", "time_zone", "pay_frequency", "demo_through", "policies"]);
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
    Some(CompanySettings { name: name?, time_zone: tz?, time_zone_name: tz_name, pay_frequency: freq?, demo_through })
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
    t.allow(cx, &["id", "name", "email", "kind", "country", "region", "state", "hired"]);
    let id = t.string(cx, "id");
    let name = t.string(cx, "name");
    let kind = t.choice(
        cx,
        "kind",
        &[("employee", PersonKind::Employee), ("contractor", PersonKind::Contractor), ("advisor", PersonKind::Advisor)],
        Some(PersonKind::Employee),
    );
    let country = t.str(cx, "country", false).and_then(|(c, span)| {
        let ok = c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase());
        if !ok {
            cx.err(&t.field("country"), span, format!("`{c}` is not a two-letter country code (US, GB, DE, …)"));
        }
        ok.then(|| c.to_owned())
    });
    let region = t.opt_string(cx, "region").or_else(|| t.opt_string(cx, "state"));
    let hired = t.date(cx, "hired", false);
    Some(Person { id: id?, name: name?, email: t.opt_string(cx, "email"), kind: kind?, country, region, hired })
}

fn read_price(cx: &mut Cx<'_>, t: &Tbl<'_, '_>) -> Option<Price> {
    t.allow(cx, &["date", "close", "currency"]);
    let date = t.date(cx, "date", true);
    let close = t.decimal(cx, "close", true);
    let currency = match t.str(cx, "currency", false) {
        None => Some(Currency::USD),
        Some((c, span)) => Currency::from_str(c).map_err(|e| cx.err(&t.field("currency"), span, e.to_string())).ok(),
    };
    Some(Price { date: date?, close: close?, currency: currency? })
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
            let start = t.date(cx, "start", true);
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
            let start = t.date(cx, "start", true);
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
            let start = t.date(cx, "start", true);
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
            let start = t.instant(cx, "start", true, env.tz);
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
            let start = t.date(cx, "start", true);
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

fn read_grant(cx: &mut Cx<'_>, env: &Env<'_>, t: &Tbl<'_, '_>) -> Option<GrantTerms> {
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
    let schedule = t.table(cx, "schedule", true).and_then(|s| read_schedule(cx, env, &s, amount));
    let performance: Vec<PerformanceTranche> = t
        .array_of_tables(cx, "performance")
        .iter()
        .filter_map(|p| {
            p.allow(cx, &["id", "target", "cap_percent"]);
            let id = p.string(cx, "id");
            let target = env.amount(cx, p, "target", true);
            let cap = p.percent_bps(cx, "cap_percent", false, crate::grant::MAX_PERFORMANCE_BPS).unwrap_or(FULL_BPS);
            Some(PerformanceTranche { id: id?, target: target?, cap_bps: cap })
        })
        .collect();
    let events: Vec<Option<GrantEvent>> =
        t.array_of_tables(cx, "event").iter().map(|e| read_event(cx, env, e)).collect();
    let events: Option<Vec<GrantEvent>> = events.into_iter().collect();
    let (schedule, amount) = (schedule?, amount?);
    let grant = Grant { id: id?, holder: holder?, amount, schedule, performance, events: events? };
    let first = grant_date.or(match &grant.schedule {
        Schedule::Calendar(c) => Some(c.start()),
        Schedule::Custom(c) => c.tranches().next().map(|x| x.0),
        Schedule::Linear(l) => calendar::date_of(l.start(), env.tz).ok(),
    })?;
    // The whole lifecycle must fold: report a refusal at the event it names.
    let folded = if env.amounts_known { grant.timeline(env.tz, None).map(|_| ()) } else { Ok(()) };
    if let Err(e) = folded {
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
    Some(GrantTerms { grant, grant_date: first, size })
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
