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
use tokencomp_money::{Currency, Decimal, Token, TokenAmount, tokens_for_value};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diag::Diagnostic;
use tokencomp_core::attestation::{Comparison, Fixed18, Milestone, Subject};
use tokencomp_core::calendar::{self, Instant};
use tokencomp_core::grant::{
    Acceleration, EventKind, FULL_BPS, Grant, GrantEvent, MilestoneEffect, PerformanceTranche, TerminationCause,
    Trigger,
};
use tokencomp_core::schedule::{
    Allocation, Calendar, Custom, DayOfMonth, Linear, LinearModel, Period, Schedule, check_date,
};
use tokencomp_core::tokenomics::{Bucket, BucketKind, Burn, BurnRule, Emission, EmissionRule, Target, Tokenomics};

use tokencomp_core::model::{
    AttributionPolicy, ClassificationPolicy, CompanyFile, CompanySettings, FMV_DAYS_ONLY, FMV_NAMES, FlatRuleInput,
    FmvSource, FxRate, GrantPolicy, GrantSize, GrantTerms, MAX_FMV_DAYS, MAX_WALLET_CHANGE_DELAY_HOURS, MilestoneTerms,
    Person, PersonKind, Policy, Price, TermsEffect, TokenSettings, WithholdingMethod, average_close,
};
use tokencomp_core::period::PayFrequency;
use tokencomp_core::tax_profile::{Fields, TaxProfile};

use grants::*;
use schedules::*;
use table::*;

mod grants;
mod schedules;
mod table;

/// Reads a company file. `file` is the name used in diagnostics. A grant's holder must be a
/// `[[person]]` of the file when the file lists people (see [`parse_company_for`]).
pub fn parse_company(file: &str, text: &str) -> Result<CompanyFile, Vec<Diagnostic>> {
    parse(file, text, false, None)
}

/// Reads a company file to record it beside the people a ledger already holds (`recorded`:
/// empty for `init`): every grant's holder must be a `[[person]]` of the file or one of them,
/// and each grant that names anyone else is reported (file, line, grant and person) with the
/// rest of the file's problems.
pub fn parse_company_for(file: &str, text: &str, recorded: &BTreeSet<String>) -> Result<CompanyFile, Vec<Diagnostic>> {
    parse(file, text, false, Some(recorded))
}

/// A fragment the ledger recorded (`canonical`), read with every check except those only new
/// input gets (a zero-amount grant), so what a ledger holds stays readable.
pub(crate) fn parse_recorded(file: &str, text: &str) -> Result<CompanyFile, Vec<Diagnostic>> {
    parse(file, text, true, None)
}

fn parse(
    file: &str,
    text: &str,
    recorded: bool,
    people_recorded: Option<&BTreeSet<String>>,
) -> Result<CompanyFile, Vec<Diagnostic>> {
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
    let mut reverse = Vec::new();
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
        let mut holders: BTreeSet<&str> = people.iter().map(|p| p.id.as_str()).collect();
        holders.extend(people_recorded.into_iter().flatten().map(String::as_str));
        let check_holders = people_recorded.is_some() || !holders.is_empty();
        // Each grant's folded total with where its size is written, for the file's total.
        let mut sized: Vec<Sized> = Vec::new();
        for g in root.array_of_tables(&mut cx, "grant") {
            if let Some((terms, granted)) = read_grant(&mut cx, &env, &g) {
                if check_holders && !holders.contains(terms.grant.holder.as_str()) {
                    let span = g.get("holder").map_or(g.span.clone(), |v| v.span());
                    let (id, holder) = (&terms.grant.id, &terms.grant.holder);
                    let message = if people_recorded.is_some_and(|p| !p.is_empty()) {
                        format!(
                            "grant `{id}`: no person has id `{holder}` (neither a [[person]] here nor in the ledger); add a [[person]] with id = \"{holder}\" or fix `holder`"
                        )
                    } else {
                        format!(
                            "grant `{id}`: no [[person]] has id `{holder}`; add a [[person]] with id = \"{holder}\" or fix `holder`"
                        )
                    };
                    cx.err(&g.field("holder"), span, message);
                }
                reverse.extend(read_reverse(&mut cx, &g, &terms));
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
            Ok(CompanyFile { company, token, people, prices, grants, fx, tokenomics, milestones, reverse })
        }
        _ => {
            let mut d = cx.diags;
            d.sort_by_key(|d| (d.location.line, d.location.column));
            Err(d)
        }
    }
}

/// A grant's `reverse = ["event-id", …]`: recorded lifecycle events of the grant the file asks
/// `apply` to reverse although it did not record them (a `grant terminate` from the command
/// line, say). An id the grant also lists under `[[grant.event]]` is refused.
fn read_reverse(cx: &mut Cx<'_>, g: &Tbl<'_, '_>, terms: &GrantTerms) -> Vec<(String, String)> {
    let Some(v) = g.get("reverse") else { return Vec::new() };
    let DeValue::Array(items) = v.get_ref() else {
        cx.err(
            &g.field("reverse"),
            v.span(),
            "expected an array of event ids, e.g. reverse = [\"termination-2026-04-30\"]",
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("{}[{i}]", g.field("reverse"));
        match item.get_ref() {
            DeValue::String(s) if terms.grant.events.iter().any(|e| e.id == s.as_ref()) => cx.err(
                &field,
                item.span(),
                format!("event `{s}` is listed under [[grant.event]] too: an event is either kept or reversed"),
            ),
            DeValue::String(s) if !s.trim().is_empty() => out.push((terms.grant.id.clone(), s.to_string())),
            other => cx.err(&field, item.span(), format!("expected an event id, found {}", other.type_str())),
        }
    }
    out
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
            "wallet_change_delay_hours",
            "require_proven_wallets",
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
    let freq = t.choice(cx, "pay_frequency", &PayFrequency::ALL.map(|f| (f.as_str(), f)), Some(PayFrequency::Monthly));
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
            percent(sale_fee_bps.saturating_add(slippage_bps))
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
    // Wallet proofs (issue 18, item 3).
    let delay = t.u32(cx, "wallet_change_delay_hours", false, 0..i64::from(MAX_WALLET_CHANGE_DELAY_HOURS) + 1);
    let delay_ok = delay.is_some() || t.get("wallet_change_delay_hours").is_none();
    let require = t.bool(cx, "require_proven_wallets");
    let require_ok = require.is_some() || t.get("require_proven_wallets").is_none();
    if !(costs_ok && rules_ok && sale_fee_ok && slippage_ok && delay_ok && require_ok) {
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
        wallet_change_delay_hours: delay,
        require_proven_wallets: require.unwrap_or(false),
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
    t.allow(
        cx,
        &["id", "name", "email", "kind", "country", "region", "state", "hired", "salary", "wallet", "us", "uk", "de"],
    );
    let id = t.string(cx, "id");
    let name = t.string(cx, "name");
    let kind = t.choice(cx, "kind", &PersonKind::ALL.map(|k| (k.as_str(), k)), Some(PersonKind::Employee));
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
    let tax = read_tax(cx, t);
    if !(salary_ok && wallet_ok) {
        return None;
    }
    Some(Person { id: id?, name: name?, email, kind: kind?, country, region, hired, salary, wallet, tax: tax? })
}

/// A person's `[person.us]`, `[person.uk]` and `[person.de]` tables, each read through
/// `TaxProfile::set` (the profile owns its fields: a field added there is read here unchanged).
/// Values are strings; whole numbers and booleans are taken as their text. Every problem is
/// reported at its key (a missing one at its table) as `person[i].uk.tax_code`.
fn read_tax(cx: &mut Cx<'_>, t: &Tbl<'_, '_>) -> Option<TaxProfile> {
    let mut tax = TaxProfile::default();
    let mut ok = true;
    for jurisdiction in TaxProfile::JURISDICTIONS {
        let Some(sub) = t.table(cx, jurisdiction, false) else {
            ok &= t.get(jurisdiction).is_none();
            continue;
        };
        let mut fields = Fields::new();
        for (k, v) in sub.t.iter() {
            let key = k.get_ref().to_string();
            let text = match v.get_ref() {
                DeValue::String(s) => s.to_string(),
                DeValue::Integer(i) => i.as_str().replace('_', ""),
                DeValue::Boolean(b) => b.to_string(),
                other => {
                    cx.err(&sub.field(&key), v.span(), format!("expected a string, found {}", other.type_str()));
                    ok = false;
                    continue;
                }
            };
            fields.insert(key, text);
        }
        if let Err(errors) = tax.set(jurisdiction, &fields) {
            ok = false;
            for e in errors {
                let span = sub.get(&e.field).map_or(sub.span.clone(), |v| v.span());
                cx.err(&sub.field(&e.field), span, e.message);
            }
        }
    }
    ok.then_some(tax)
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

/// Basis points as a percentage string with at most two decimals: 1250 → "12.5".
pub fn percent(bps: u32) -> String {
    let (whole, frac) = (bps / 100, bps % 100);
    match frac {
        0 => format!("{whole}"),
        f if f % 10 == 0 => format!("{whole}.{}", f / 10),
        f => format!("{whole}.{f:02}"),
    }
}

/// A percentage such as `"50"` or `"12.5"` (not negative, at most two decimals) in basis
/// points; the company file and the CLI read percentages the same way.
pub fn percent_to_bps(text: &str) -> Option<u32> {
    Decimal::from_str_exact(text.trim())
        .ok()
        .filter(|d| !d.is_sign_negative() && d.scale() <= 2)
        .and_then(|d| (d * Decimal::from(100)).trunc().to_string().parse::<u32>().ok())
}

/// The longest an §83(b) election may follow the transfer (IRC §83(b)(2): 30 days).
pub const ELECTION_83B_DAYS: i64 = 30;

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
             wallet_change_delay_hours = 0\nrequire_proven_wallets = true\n\
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
                wallet_change_delay_hours: Some(0),
                require_proven_wallets: true,
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
        // Wallet proofs: a delay of whole hours up to a year; the requirement is true or false.
        let t = format!("{HEAD}wallet_change_delay_hours = 8761\nrequire_proven_wallets = \"yes\"\n{TOKEN}");
        check(
            &t,
            &[
                ("8761", "company.wallet_change_delay_hours", "must be 0 to 8760"),
                ("\"yes\"", "company.require_proven_wallets", "expected true or false"),
            ],
        );
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
        let f = parse(include_str!("../../../../examples/company.toml"));
        let p = &f.company.policy;
        assert_eq!((p.withholding, p.sale_fee_bps, p.slippage_bps), (WithholdingMethod::SellToCover, 10, 30));
        assert_eq!((p.fmv, p.attribution), (FmvSource::Close, AttributionPolicy::Graded));
        // German staff are under the Ministry's programme, with their ELStAM on file.
        assert!(p.flat_rules.is_empty());
        let fatima = f.people.iter().find(|p| p.id == "fatima").expect("fatima");
        assert_eq!(fatima.tax.de.as_ref().map(|d| (d.tax_class, d.land.as_deref())), Some((1, Some("BE"))));
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
