//! The versioned tax-rules table: every withholding constant, per jurisdiction and per year,
//! each with the source an auditor should open to check it.
//!
//! The constants live in `rules/tax.toml` (embedded at build time and read into its shape by
//! `tokencomp_formats::tax_rules`), so a new tax year is a data change. Text is parsed exactly into `Decimal` (rates are written `"6.2%"`, amounts as decimal
//! strings); every malformed entry is reported at once, naming the line, the entry and the
//! field. A company may add a flat rule for a country the table does not cover.
//!
//! This module must never guess: a year, a US state or a country without an entry is an error
//! naming it, never a fallback to another year or a default rate. It holds no global state:
//! callers parse the table once and keep the `Rules` value.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::str::FromStr;

use tokencomp_formats::tax_rules::{self, BUILTIN_FILE, BUILTIN_TEXT, Key, line_of};
use tokencomp_money::Decimal;

use crate::us_state::{LoadError, UsStateRules};

/// A rule's source text, shared (not copied) by every tax line computed from it.
pub type Source = std::sync::Arc<str>;

/// Largest amount the table (and the withholding calculator) accepts: 10^15 in the pay
/// currency. Far above any wage, and low enough that no product of an amount, a rate and
/// twelve can overflow a `Decimal` (about 7.9 × 10^28).
pub fn max_amount() -> Decimal {
    Decimal::from(1_000_000_000_000_000_i64)
}

// ------------------------------------------------------------------------------------------
// The table

/// US federal withholding on supplemental wages, flat-rate method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FederalSupplemental {
    /// Optional flat rate up to `high_threshold` of supplemental wages in the calendar year.
    pub rate: Decimal,
    /// Mandatory rate on supplemental wages above `high_threshold`.
    pub high_rate: Decimal,
    pub high_threshold: Decimal,
    pub source: Source,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocialSecurity {
    pub employee_rate: Decimal,
    pub employer_rate: Decimal,
    /// Wages above this (all wages of the calendar year) are not taxed.
    pub wage_base: Decimal,
    pub source: Source,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Medicare {
    pub employee_rate: Decimal,
    pub employer_rate: Decimal,
    pub source: Source,
}

/// Employee only, on wages above `threshold` paid by this employer in the calendar year.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdditionalMedicare {
    pub rate: Decimal,
    pub threshold: Decimal,
    pub source: Source,
}

/// Employer only, on the first `wage_base` of wages in the calendar year.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Futa {
    pub rate: Decimal,
    pub wage_base: Decimal,
    pub source: Source,
}

/// A state's flat withholding rate on supplemental wages (zero where there is no income tax).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateRule {
    pub rate: Decimal,
    pub source: Source,
}

/// Everything needed to withhold on a US payment in one calendar year.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsYear {
    pub year: i16,
    pub federal: FederalSupplemental,
    pub social_security: SocialSecurity,
    pub medicare: Medicare,
    pub additional_medicare: AdditionalMedicare,
    pub futa: Futa,
    /// Keyed by the two-letter postal code ("CA").
    pub states: BTreeMap<String, StateRule>,
}

impl UsYear {
    /// The state's rule for this year; a state without an entry is an error, never a guess.
    pub fn state(&self, code: &str) -> Result<&StateRule, RulesError> {
        self.states.get(code).ok_or_else(|| RulesError::NoState {
            state: code.to_owned(),
            year: self.year,
            known: self.states.keys().cloned().collect(),
        })
    }
}

/// PAYE income tax for tax code 1257L (England and Northern Ireland rates), annual figures.
/// Bands are in taxable pay (pay above the personal allowance), as in HMRC's tables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paye {
    pub personal_allowance: Decimal,
    pub basic_rate: Decimal,
    /// Taxable pay taxed at `basic_rate`.
    pub basic_band: Decimal,
    pub higher_rate: Decimal,
    /// Taxable pay up to which `higher_rate` applies; `additional_rate` above.
    pub higher_band_limit: Decimal,
    pub additional_rate: Decimal,
    pub source: Source,
}

/// Class 1 National Insurance, category A, annual thresholds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nic {
    pub primary_threshold: Decimal,
    pub upper_earnings_limit: Decimal,
    /// Employee rate between the primary threshold and the upper earnings limit.
    pub employee_main_rate: Decimal,
    /// Employee rate above the upper earnings limit.
    pub employee_upper_rate: Decimal,
    pub secondary_threshold: Decimal,
    /// Employer rate above the secondary threshold, no upper limit.
    pub employer_rate: Decimal,
    pub source: Source,
}

/// Everything needed to withhold on a UK payment in one tax year (6 April to 5 April).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UkYear {
    /// The calendar year in which the tax year starts (2025 = 2025-26).
    pub tax_year: i16,
    pub paye: Paye,
    pub nic: Nic,
}

/// A configurable flat rule for a country the table does not cover (e.g. DE 42% / 0%).
/// Rates are fractions: `0.42` is 42%. It applies to every year.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlatRule {
    pub employee_rate: Decimal,
    pub employer_rate: Decimal,
}

/// The parsed table. Build it once ([`Rules::builtin`] or [`Rules::parse`]) and pass it by
/// reference; it is never global.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    file: String,
    us: BTreeMap<i16, UsYear>,
    uk: BTreeMap<i16, UkYear>,
    flat: BTreeMap<String, FlatRule>,
    /// The US state rules file (`rules/us-states.toml`); for the years it ships, it replaces
    /// the flat `state` entries above.
    us_states: Option<std::sync::Arc<UsStateRules>>,
}

impl Rules {
    /// The table shipped with `tokencomp_formats` (`rules/tax.toml`).
    pub fn builtin() -> Result<Rules, RulesError> {
        Ok(Rules::parse(BUILTIN_FILE, BUILTIN_TEXT)?.with_us_states(UsStateRules::builtin()?))
    }

    /// Uses `states` for the US state lines of the years it ships.
    pub fn with_us_states(mut self, states: UsStateRules) -> Rules {
        self.us_states = Some(std::sync::Arc::new(states));
        self
    }

    /// The US state rules file in use, if any.
    pub fn us_states(&self) -> Option<&UsStateRules> {
        self.us_states.as_deref()
    }

    /// Parses a rules table; `file_name` is only used in messages. Every problem is reported.
    pub fn parse(file_name: &str, text: &str) -> Result<Rules, RulesError> {
        let raw = tax_rules::read(text).map_err(|e| RulesError::Syntax {
            file: file_name.to_owned(),
            line: e.line,
            message: e.message,
        })?;
        let mut cx = Check { text, problems: Vec::new() };
        let mut us = BTreeMap::new();
        for (key, raw_year) in &raw.us {
            if let Some(year) = cx.year(key, "us")
                && let Some(parsed) = cx.us_year(year, key, raw_year)
            {
                us.insert(year, parsed);
            }
        }
        let mut uk = BTreeMap::new();
        for (key, raw_year) in &raw.uk {
            if let Some(year) = cx.year(key, "uk")
                && let Some(parsed) = cx.uk_year(year, key, raw_year)
            {
                uk.insert(year, parsed);
            }
        }
        // Reported in file order, whichever section they were found in.
        cx.problems.sort_by_key(|p| p.line);
        if cx.problems.is_empty() {
            Ok(Rules { file: file_name.to_owned(), us, uk, flat: BTreeMap::new(), us_states: None })
        } else {
            Err(RulesError::Invalid { file: file_name.to_owned(), problems: cx.problems })
        }
    }

    /// Adds (or replaces) a flat rule for `country`, a two-letter ISO 3166 code other than US
    /// and GB (those have statutory rules in the table). Rates are fractions in 0..=1.
    pub fn with_flat(mut self, country: &str, rule: FlatRule) -> Result<Rules, RulesError> {
        let valid_code = country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase());
        if !valid_code {
            return Err(RulesError::FlatCountry {
                country: country.to_owned(),
                reason: "a country is a two-letter ISO 3166 code in capitals, such as DE",
            });
        }
        if matches!(country, "US" | "GB" | "UK") {
            return Err(RulesError::FlatCountry {
                country: country.to_owned(),
                reason: "this country has statutory rules in the table; use the US or UK jurisdiction",
            });
        }
        for (field, rate) in [("employee_rate", rule.employee_rate), ("employer_rate", rule.employer_rate)] {
            if rate.is_sign_negative() || rate > Decimal::ONE {
                return Err(RulesError::FlatRate { country: country.to_owned(), field, rate });
            }
        }
        self.flat.insert(country.to_owned(), rule);
        Ok(self)
    }

    /// The US rules for a calendar year.
    pub fn us(&self, year: i16) -> Result<&UsYear, RulesError> {
        self.us.get(&year).ok_or_else(|| RulesError::NoUsYear {
            year,
            file: self.file.clone(),
            known: self.us.keys().copied().collect(),
        })
    }

    /// The UK rules for the tax year starting on 6 April of `tax_year`.
    pub fn uk(&self, tax_year: i16) -> Result<&UkYear, RulesError> {
        self.uk.get(&tax_year).ok_or_else(|| RulesError::NoUkYear {
            tax_year,
            file: self.file.clone(),
            known: self.uk.keys().copied().collect(),
        })
    }

    /// The company's flat rule for `country`; `year` only names the payment's year in the error.
    /// Whether the company configured a flat rule for `country`.
    pub fn has_flat(&self, country: &str) -> bool {
        self.flat.contains_key(country)
    }

    pub fn flat(&self, country: &str, year: i16) -> Result<&FlatRule, RulesError> {
        self.flat.get(country).ok_or_else(|| RulesError::NoFlatRule { country: country.to_owned(), year })
    }

    /// The file the table was read from, as given to [`Rules::parse`].
    pub fn file(&self) -> &str {
        &self.file
    }

    pub fn us_years(&self) -> impl Iterator<Item = i16> + '_ {
        self.us.keys().copied()
    }

    pub fn uk_years(&self) -> impl Iterator<Item = i16> + '_ {
        self.uk.keys().copied()
    }
}

// ------------------------------------------------------------------------------------------
// Errors

/// One malformed field of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line in the file, when known.
    pub line: Option<usize>,
    /// The entry, e.g. `us.2026.social_security`.
    pub entry: String,
    /// The field inside the entry, e.g. `wage_base` (empty when the entry itself is wrong).
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if self.field.is_empty() {
            write!(f, "{}: {}", self.entry, self.message)
        } else {
            write!(f, "{}.{}: {}", self.entry, self.field, self.message)
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    #[error("{file}{}: the rules table is not valid TOML of the expected shape: {message}", at_line(*.line))]
    Syntax { file: String, line: Option<usize>, message: String },
    #[error("{file}: the rules table has {} problem(s):{}", .problems.len(), list_problems(.problems))]
    Invalid { file: String, problems: Vec<Problem> },
    #[error(
        "no US withholding rules for calendar year {year} in {file} (it covers {}); a new year needs its own [us.{year}.*] entries",
        list_years(.known)
    )]
    NoUsYear { year: i16, file: String, known: Vec<i16> },
    #[error(
        "no UK withholding rules for tax year {tax_year}-{} in {file} (it covers tax years starting in {}); a new year needs its own [uk.{tax_year}.*] entries",
        short_next_year(*.tax_year),
        list_years(.known)
    )]
    NoUkYear { tax_year: i16, file: String, known: Vec<i16> },
    #[error(
        "no supplemental withholding rate for US state `{state}` in {year} (the table has {}); a state's rate is never guessed, add it to the rules table",
        .known.join(", ")
    )]
    NoState { state: String, year: i16, known: Vec<String> },
    #[error(
        "no withholding rule for country `{country}` (payment in {year}); the company file must configure a flat rule for it"
    )]
    NoFlatRule { country: String, year: i16 },
    #[error("cannot add a flat rule for `{country}`: {reason}")]
    FlatCountry { country: String, reason: &'static str },
    #[error("flat rule for `{country}`: {field} {rate} is not a fraction between 0 and 1 (42% is 0.42)")]
    FlatRate { country: String, field: &'static str, rate: Decimal },
    #[error(transparent)]
    UsStates(#[from] LoadError),
}

fn at_line(line: Option<usize>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}

fn list_problems(problems: &[Problem]) -> String {
    let mut out = String::new();
    for p in problems {
        let _ = write!(out, "\n  {p}");
    }
    out
}

fn list_years(years: &[i16]) -> String {
    if years.is_empty() {
        return "no years".to_owned();
    }
    years.iter().map(i16::to_string).collect::<Vec<_>>().join(", ")
}

/// "26" for the tax year starting in 2025, as in "2025-26".
fn short_next_year(year: i16) -> String {
    let next = i32::from(year) + 1;
    format!("{:02}", next.rem_euclid(100))
}

// ------------------------------------------------------------------------------------------
// Exact text → Decimal

/// `"6.2%"` → 0.062, exactly. Accepts digits with at most one decimal point followed by `%`,
/// between 0% and 100%.
pub fn parse_percent(text: &str) -> Option<Decimal> {
    let number = text.strip_suffix('%')?;
    let percent = parse_plain_decimal(number)?;
    if percent > Decimal::ONE_HUNDRED {
        return None;
    }
    // Normalized so "20%" reads back as 0.2, not 0.20.
    percent.checked_div(Decimal::ONE_HUNDRED).map(|r| r.normalize())
}

/// `"184500"` or `"0.5"`: digits with at most one decimal point; no sign, exponent or spaces.
fn parse_plain_decimal(text: &str) -> Option<Decimal> {
    let (whole, frac) = match text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    Decimal::from_str(text).ok()
}

// ------------------------------------------------------------------------------------------
// Checking the file's entries: every value is checked here, so all the problems of a file are
// reported together.

struct Check<'t> {
    text: &'t str,
    problems: Vec<Problem>,
}

impl<'t> Check<'t> {
    fn problem(&mut self, offset: Option<usize>, entry: &str, field: &str, message: String) {
        let line = offset.map(|o| line_of(self.text, o));
        self.problems.push(Problem { line, entry: entry.to_owned(), field: field.to_owned(), message });
    }

    fn year(&mut self, key: &Key, prefix: &str) -> Option<i16> {
        let parsed = key.name.parse::<i16>().ok().filter(|y| (1000..=9998).contains(y));
        if parsed.is_none() {
            let entry = format!("{prefix}.{}", key.name);
            self.problem(Some(key.at), &entry, "", "a year is four digits, such as 2026".to_owned());
        }
        parsed
    }

    fn section<'e>(&mut self, year_key: &Key, entry: String, raw: &'e Option<tax_rules::Entry>) -> Option<Entry<'e>> {
        match raw {
            Some(fields) => Some(Entry { name: entry, fields, used: BTreeSet::new() }),
            None => {
                self.problem(Some(year_key.at), &entry, "", "this entry is missing".to_owned());
                None
            }
        }
    }

    fn us_year(&mut self, year: i16, key: &Key, raw: &tax_rules::UsYear) -> Option<UsYear> {
        let before = self.problems.len();
        let federal =
            self.section(key, format!("us.{year}.federal_supplemental"), &raw.federal_supplemental).map(|mut e| {
                FederalSupplemental {
                    rate: e.rate(self, "rate"),
                    high_rate: e.rate(self, "high_rate"),
                    high_threshold: e.amount(self, "high_threshold"),
                    source: e.finish(self),
                }
            });
        let social_security =
            self.section(key, format!("us.{year}.social_security"), &raw.social_security).map(|mut e| SocialSecurity {
                employee_rate: e.rate(self, "employee_rate"),
                employer_rate: e.rate(self, "employer_rate"),
                wage_base: e.amount(self, "wage_base"),
                source: e.finish(self),
            });
        let medicare = self.section(key, format!("us.{year}.medicare"), &raw.medicare).map(|mut e| Medicare {
            employee_rate: e.rate(self, "employee_rate"),
            employer_rate: e.rate(self, "employer_rate"),
            source: e.finish(self),
        });
        let additional_medicare = self
            .section(key, format!("us.{year}.additional_medicare"), &raw.additional_medicare)
            .map(|mut e| AdditionalMedicare {
                rate: e.rate(self, "rate"),
                threshold: e.amount(self, "threshold"),
                source: e.finish(self),
            });
        let futa = self.section(key, format!("us.{year}.futa"), &raw.futa).map(|mut e| Futa {
            rate: e.rate(self, "rate"),
            wage_base: e.amount(self, "wage_base"),
            source: e.finish(self),
        });
        let mut states = BTreeMap::new();
        for (code, fields) in &raw.state {
            let name = format!("us.{year}.state.{}", code.name);
            if !(code.name.len() == 2 && code.name.bytes().all(|b| b.is_ascii_uppercase())) {
                let message = "a state is its two-letter postal code in capitals, such as CA".to_owned();
                self.problem(Some(code.at), &name, "", message);
                continue;
            }
            let mut e = Entry { name, fields, used: BTreeSet::new() };
            let rule = StateRule { rate: e.rate(self, "rate"), source: e.finish(self) };
            states.insert(code.name.clone(), rule);
        }
        match (federal, social_security, medicare, additional_medicare, futa) {
            (Some(federal), Some(social_security), Some(medicare), Some(additional_medicare), Some(futa))
                if self.problems.len() == before =>
            {
                Some(UsYear { year, federal, social_security, medicare, additional_medicare, futa, states })
            }
            _ => None,
        }
    }

    fn uk_year(&mut self, year: i16, key: &Key, raw: &tax_rules::UkYear) -> Option<UkYear> {
        let before = self.problems.len();
        let paye = self.section(key, format!("uk.{year}.paye"), &raw.paye).map(|mut e| {
            let paye = Paye {
                personal_allowance: e.amount(self, "personal_allowance"),
                basic_rate: e.rate(self, "basic_rate"),
                basic_band: e.amount(self, "basic_band"),
                higher_rate: e.rate(self, "higher_rate"),
                higher_band_limit: e.amount(self, "higher_band_limit"),
                additional_rate: e.rate(self, "additional_rate"),
                source: e.finish(self),
            };
            if paye.higher_band_limit < paye.basic_band {
                let message = format!("{} is below basic_band {}", paye.higher_band_limit, paye.basic_band);
                e.problem_at(self, "higher_band_limit", message);
            }
            paye
        });
        let nic = self.section(key, format!("uk.{year}.nic"), &raw.nic).map(|mut e| {
            let nic = Nic {
                primary_threshold: e.amount(self, "primary_threshold"),
                upper_earnings_limit: e.amount(self, "upper_earnings_limit"),
                employee_main_rate: e.rate(self, "employee_main_rate"),
                employee_upper_rate: e.rate(self, "employee_upper_rate"),
                secondary_threshold: e.amount(self, "secondary_threshold"),
                employer_rate: e.rate(self, "employer_rate"),
                source: e.finish(self),
            };
            if nic.upper_earnings_limit < nic.primary_threshold {
                let message =
                    format!("{} is below primary_threshold {}", nic.upper_earnings_limit, nic.primary_threshold);
                e.problem_at(self, "upper_earnings_limit", message);
            }
            nic
        });
        match (paye, nic) {
            (Some(paye), Some(nic)) if self.problems.len() == before => Some(UkYear { tax_year: year, paye, nic }),
            _ => None,
        }
    }
}

/// One `[a.b.c]` entry being read: each field is taken once, leftovers are unknown fields.
struct Entry<'e> {
    name: String,
    fields: &'e tax_rules::Entry,
    used: BTreeSet<&'static str>,
}

impl Entry<'_> {
    /// The string value of `key`, or a problem (missing, or not a string) and `None`.
    fn text(&mut self, cx: &mut Check<'_>, key: &'static str, what: &str) -> Option<(String, usize)> {
        self.used.insert(key);
        match self.fields.fields.get(key) {
            None => {
                cx.problem(Some(self.fields.at), &self.name, key, format!("missing; expected {what}"));
                None
            }
            Some(value) => match &value.value {
                tax_rules::Value::Text(s) => Some((s.clone(), value.at)),
                tax_rules::Value::Other(other) => {
                    let message = format!("expected {what} written as a string, found `{other}`");
                    cx.problem(Some(value.at), &self.name, key, message);
                    None
                }
            },
        }
    }

    fn rate(&mut self, cx: &mut Check<'_>, key: &'static str) -> Decimal {
        let what = "a percentage such as \"6.2%\"";
        let Some((text, at)) = self.text(cx, key, what) else { return Decimal::ZERO };
        parse_percent(&text).unwrap_or_else(|| {
            let message = format!("`{text}` is not {what} between 0% and 100%");
            cx.problem(Some(at), &self.name, key, message);
            Decimal::ZERO
        })
    }

    fn amount(&mut self, cx: &mut Check<'_>, key: &'static str) -> Decimal {
        let what = "an amount such as \"184500\"";
        let Some((text, at)) = self.text(cx, key, what) else { return Decimal::ZERO };
        match parse_plain_decimal(&text) {
            Some(d) if d <= max_amount() => d,
            _ => {
                let message = format!("`{text}` is not {what} (digits and at most one point, up to 10^15)");
                cx.problem(Some(at), &self.name, key, message);
                Decimal::ZERO
            }
        }
    }

    fn problem_at(&self, cx: &mut Check<'_>, key: &str, message: String) {
        let at = self.fields.fields.get(key).map_or(self.fields.at, |v| v.at);
        cx.problem(Some(at), &self.name, key, message);
    }

    /// Reads `source` (required, non-empty) and reports every field that was not read.
    fn finish(&mut self, cx: &mut Check<'_>) -> Source {
        let source = match self.text(cx, "source", "the document the values come from") {
            Some((s, at)) if s.trim().is_empty() => {
                cx.problem(Some(at), &self.name, "source", "must name the document the values come from".to_owned());
                Source::from("")
            }
            Some((s, _)) => Source::from(s),
            None => Source::from(""),
        };
        for (key, value) in &self.fields.fields {
            if !self.used.contains(key.as_str()) {
                let known = self.used.iter().copied().collect::<Vec<_>>().join(", ");
                let message = format!("unknown field (this entry has {known})");
                cx.problem(Some(value.at), &self.name, key, message);
            }
        }
        source
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("valid")
    }

    #[test]
    fn builtin_parses_with_the_expected_constants() {
        let rules = Rules::builtin().expect("valid");
        assert_eq!(rules.us_years().collect::<Vec<_>>(), [2023, 2024, 2025, 2026]);
        assert_eq!(rules.uk_years().collect::<Vec<_>>(), [2024, 2025, 2026]);
        for (year, base) in [(2023, "160200"), (2024, "168600"), (2025, "176100"), (2026, "184500")] {
            let us = rules.us(year).expect("valid");
            assert_eq!(us.social_security.wage_base, d(base));
            assert_eq!(us.social_security.employee_rate, d("0.062"));
            assert_eq!(us.federal.rate, d("0.22"));
            assert_eq!(us.federal.high_rate, d("0.37"));
            assert_eq!(us.federal.high_threshold, d("1000000"));
            assert_eq!(us.medicare.employer_rate, d("0.0145"));
            assert_eq!(us.additional_medicare.rate, d("0.009"));
            assert_eq!(us.futa.rate, d("0.006"));
            assert_eq!(us.futa.wage_base, d("7000"));
            assert_eq!(us.state("CA").expect("valid").rate, d("0.1023"));
            assert_eq!(us.state("NY").expect("valid").rate, d("0.117"));
            assert_eq!(us.state("TX").expect("valid").rate, Decimal::ZERO);
            assert!(us.states.values().all(|s| !s.source.is_empty()));
        }
        let uk24 = rules.uk(2024).expect("valid");
        assert_eq!((uk24.nic.employer_rate, uk24.nic.secondary_threshold), (d("0.138"), d("9100")));
        let uk25 = rules.uk(2025).expect("valid");
        assert_eq!((uk25.nic.employer_rate, uk25.nic.secondary_threshold), (d("0.15"), d("5000")));
        assert_eq!(uk25.paye.higher_band_limit, d("125140"));
        assert!(rules.us(2026).expect("valid").federal.source.contains("31.3402(g)-1"));
    }

    #[test]
    fn percent_and_amount_parsing_is_exact_and_strict() {
        assert_eq!(parse_percent("6.2%"), Some(d("0.062")));
        assert_eq!(parse_percent("10.23%"), Some(d("0.1023")));
        assert_eq!(parse_percent("100%"), Some(Decimal::ONE));
        for bad in ["6.2", "-1%", "101%", "1e2%", " 5%", "5 %", "%", ".5%", "5.%", "0x5%"] {
            assert_eq!(parse_percent(bad), None, "{bad}");
        }
        assert_eq!(parse_plain_decimal("184500"), Some(d("184500")));
        for bad in ["", "+1", "1,000", "1_000", "1.2.3", "1e5"] {
            assert_eq!(parse_plain_decimal(bad), None, "{bad}");
        }
    }

    #[test]
    fn malformed_entries_are_all_reported_with_entry_field_and_line() {
        let text = "\
[uk.2030.paye]
personal_allowance = \"12,570\"
basic_rate = 20
basic_band = \"37700\"
higher_rate = \"40%\"
higher_band_limit = \"125140\"
additional_rate = \"45%\"
colour = \"blue\"
source = \"x\"
";
        let err = Rules::parse("my.toml", text).expect_err("must be refused");
        let RulesError::Invalid { file, problems } = &err else { panic!("{err}") };
        assert_eq!(file, "my.toml");
        let found: Vec<_> = problems.iter().map(|p| (p.line, p.entry.as_str(), p.field.as_str())).collect();
        assert!(found.contains(&(Some(2), "uk.2030.paye", "personal_allowance")), "{found:?}");
        assert!(found.contains(&(Some(3), "uk.2030.paye", "basic_rate")), "{found:?}");
        assert!(found.contains(&(Some(8), "uk.2030.paye", "colour")), "{found:?}");
        assert!(found.iter().any(|(_, e, _)| *e == "uk.2030.nic"), "missing nic entry reported: {found:?}");
        let message = err.to_string();
        assert!(message.contains("line 2: uk.2030.paye.personal_allowance"), "{message}");
        assert!(message.contains("`12,570`"), "{message}");
    }

    #[test]
    fn bad_keys_and_syntax_are_errors() {
        let err = Rules::parse("t.toml", "[us.20x6.futa]\nrate = \"1%\"\n").expect_err("must be refused");
        assert!(err.to_string().contains("us.20x6"), "{err}");
        let err =
            Rules::parse("t.toml", "[us.2026.state.ca]\nrate = \"1%\"\nsource = \"s\"\n").expect_err("must be refused");
        assert!(err.to_string().contains("us.2026.state.ca"), "{err}");
        let err = Rules::parse("t.toml", "[de.2026]\nrate = \"1%\"\n").expect_err("must be refused");
        assert!(matches!(err, RulesError::Syntax { line: Some(1), .. }), "{err:?}");
        let err = Rules::parse("t.toml", "rate = [").expect_err("must be refused");
        assert!(err.to_string().starts_with("t.toml:1"), "{err}");
    }

    #[test]
    fn lookups_name_what_is_missing() {
        let rules = Rules::builtin().expect("valid");
        let err = rules.us(2027).expect_err("must be refused").to_string();
        assert!(err.contains("2027") && err.contains("2023, 2024, 2025, 2026"), "{err}");
        let err = rules.uk(2030).expect_err("must be refused").to_string();
        assert!(err.contains("tax year 2030-31"), "{err}");
        let err = rules.us(2026).expect("valid").state("NV").expect_err("must be refused").to_string();
        assert!(err.contains("`NV`") && err.contains("2026"), "{err}");
        let err = rules.flat("DE", 2026).expect_err("must be refused").to_string();
        assert!(err.contains("`DE`") && err.contains("2026"), "{err}");
    }

    #[test]
    fn flat_rules_are_validated() {
        let rule = FlatRule { employee_rate: d("0.42"), employer_rate: Decimal::ZERO };
        let rules = Rules::builtin().expect("valid").with_flat("DE", rule.clone()).expect("valid");
        assert_eq!(rules.flat("DE", 2026).expect("valid"), &rule);
        for country in ["de", "DEU", "US", "GB"] {
            assert!(Rules::builtin().expect("valid").with_flat(country, rule.clone()).is_err(), "{country}");
        }
        let too_high = FlatRule { employee_rate: d("42"), employer_rate: Decimal::ZERO };
        let err = Rules::builtin().expect("valid").with_flat("DE", too_high).expect_err("must be refused").to_string();
        assert!(err.contains("employee_rate 42"), "{err}");
    }
}
