//! The UK constants of one tax year, read from `crates/formats/rules/uk.toml` (shape
//! `[uk.<year>.paye.<region>]`, `[uk.<year>.nic.category.<letter>]`, `[uk.<year>.loans.<plan>]`)
//! with `tokencomp_formats::rule_node`, so a missing or malformed constant is reported by its full
//! dotted path and the year is refused, never filled in.
//!
//! [`UkRules::parse`] reads any text of that shape (a company's own file, a test's year);
//! [`UkRules::builtin`] is the shipped file, parsed once. The integrator plugs [`UkRules::parse`]
//! into the rules loader's list of files; this module keeps no other state.

use std::collections::BTreeMap;

use tokencomp_core::tax_profile::{LoanPlan, UkRegion};
use tokencomp_formats::rule_node::{At, Problems};
use tokencomp_money::Decimal;

use crate::source::Source;

/// The shipped file's name, for messages.
pub const BUILTIN_FILE: &str = "rules/uk.toml";

/// The NI category letters this module computes; any other letter is refused by name.
pub const NI_CATEGORIES: [char; 8] = ['A', 'B', 'C', 'H', 'J', 'M', 'Z', 'X'];

/// One income-tax band: `rate` on annual taxable pay up to `to` (`None`: no upper end).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Band {
    pub name: String,
    pub rate: Decimal,
    pub to: Option<Decimal>,
}

/// The bands of one set of rates (rest of UK, Scotland or Wales), lowest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bands {
    pub bands: Vec<Band>,
    /// The index of the band named `basic` (the rate of a BR code; D codes follow it).
    pub basic: usize,
    pub source: Source,
}

/// Class 1 rates of one category letter: employee between PT and UEL / above UEL, employer
/// between ST and the upper secondary threshold / above it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NicCategory {
    pub employee_main_rate: Decimal,
    pub employee_upper_rate: Decimal,
    pub employer_main_rate: Decimal,
    pub employer_upper_rate: Decimal,
    pub source: Source,
}

/// Class 1 monthly earnings-period thresholds and the rates per category letter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nic {
    pub primary_threshold: Decimal,
    pub upper_earnings_limit: Decimal,
    pub secondary_threshold: Decimal,
    /// UST (category M, Z) and AUST (category H); both the same figure.
    pub upper_secondary_threshold: Decimal,
    pub categories: BTreeMap<char, NicCategory>,
    pub source: Source,
}

/// A loan plan's annual threshold and rate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loan {
    pub annual_threshold: Decimal,
    pub rate: Decimal,
    pub source: Source,
}

/// Everything needed for a UK payment in one tax year. A region or plan not shipped is absent
/// and refused by name when a person needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UkTaxYear {
    pub tax_year: i16,
    pub regulatory_limit: Decimal,
    pub paye_source: Source,
    pub regions: BTreeMap<UkRegion, Bands>,
    pub nic: Nic,
    pub loans: BTreeMap<LoanPlan, Loan>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UkRulesError {
    #[error("{file}: the UK rules are not valid TOML: {message}")]
    Syntax { file: String, message: String },
    #[error("{file}: the UK rules have {} problem(s): {}", .problems.len(), .problems.join("; "))]
    Invalid { file: String, problems: Vec<String> },
    #[error(
        "no UK rules for tax year {tax_year}-{:02} in {file} (it covers tax years starting in {}); add [uk.{tax_year}.paye], [uk.{tax_year}.nic] and [uk.{tax_year}.loans] with `tokencomp rules add`",
        (i32::from(*.tax_year) + 1).rem_euclid(100),
        years(.known)
    )]
    NoYear { tax_year: i16, file: String, known: Vec<i16> },
    #[error(
        "no {what} for tax year {tax_year}-{:02} in {file}: missing {path}; add it with `tokencomp rules add`",
        (i32::from(*.tax_year) + 1).rem_euclid(100)
    )]
    Missing { what: String, tax_year: i16, file: String, path: String },
    #[error(
        "NI category letter {letter} is not supported (this calculator has {}); its rates are never guessed",
        NI_CATEGORIES.iter().map(char::to_string).collect::<Vec<_>>().join(", ")
    )]
    Category { letter: char },
}

fn years(known: &[i16]) -> String {
    if known.is_empty() {
        "no years".to_owned()
    } else {
        known.iter().map(i16::to_string).collect::<Vec<_>>().join(", ")
    }
}

/// Every UK year of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UkRules {
    file: String,
    years: BTreeMap<i16, UkTaxYear>,
}

pub fn region_key(region: UkRegion) -> &'static str {
    match region {
        UkRegion::RestOfUk => "rest_of_uk",
        UkRegion::Scotland => "scotland",
        UkRegion::Wales => "wales",
    }
}

impl UkRules {
    /// Reads every `[uk.<year>]` of `text`; every problem of every year is reported at once.
    pub fn parse(file: &str, text: &str) -> Result<UkRules, UkRulesError> {
        let root: toml::Table =
            toml::from_str(text).map_err(|e| UkRulesError::Syntax { file: file.to_owned(), message: e.to_string() })?;
        let (rules, broken) = UkRules::from_table(file, &root);
        let problems: Vec<String> = broken
            .values()
            .flat_map(|p| p.0.iter())
            .map(|p| match &p.kind {
                tokencomp_formats::rule_node::ProblemKind::Missing => format!("{} is missing", p.path),
                tokencomp_formats::rule_node::ProblemKind::Invalid(why) => format!("{}: {why}", p.path),
            })
            .collect();
        if problems.is_empty() { Ok(rules) } else { Err(UkRulesError::Invalid { file: file.to_owned(), problems }) }
    }

    /// Reads every `[uk.<year>]` of a rules tree: the years that read whole, and each other
    /// year's problems (a year key that is not a year is filed under year 0).
    pub fn from_table(file: &str, root: &toml::Table) -> (UkRules, BTreeMap<i16, Problems>) {
        let mut broken: BTreeMap<i16, Problems> = BTreeMap::new();
        let mut years = BTreeMap::new();
        let mut top = Problems::default();
        let uk = At::root("", Some(root)).child("uk", &mut top);
        for key in uk.table_keys() {
            let Some(year) = key.parse::<i16>().ok().filter(|y| (1000..=9998).contains(y)) else {
                top.push_invalid(format!("uk.{key}"), "a UK year is the calendar year the tax year starts in");
                continue;
            };
            let mut p = Problems::default();
            let at = uk.child(key, &mut p);
            let parsed = read_year(year, &at, &mut p);
            if p.is_empty() {
                years.insert(year, parsed);
            } else {
                broken.insert(year, p);
            }
        }
        if !top.is_empty() {
            broken.entry(0).or_default().0.extend(top.0);
        }
        (UkRules { file: file.to_owned(), years }, broken)
    }

    /// Every constant a UK tax year needs, by path, as read from nothing (for a refusal).
    pub fn needed(tax_year: i16) -> Problems {
        let mut p = Problems::default();
        read_year(tax_year, &At::root(format!("uk.{tax_year}"), None), &mut p);
        p
    }

    pub fn year(&self, tax_year: i16) -> Result<&UkTaxYear, UkRulesError> {
        self.years.get(&tax_year).ok_or_else(|| UkRulesError::NoYear {
            tax_year,
            file: self.file.clone(),
            known: self.years.keys().copied().collect(),
        })
    }

    pub fn file(&self) -> &str {
        &self.file
    }

    pub fn years(&self) -> impl Iterator<Item = i16> + '_ {
        self.years.keys().copied()
    }
}

impl UkTaxYear {
    pub fn bands(&self, region: UkRegion, file: &str) -> Result<&Bands, UkRulesError> {
        self.regions.get(&region).ok_or_else(|| UkRulesError::Missing {
            what: format!("{} income-tax bands", region_key(region).replace('_', " ")),
            tax_year: self.tax_year,
            file: file.to_owned(),
            path: format!("uk.{}.paye.{}", self.tax_year, region_key(region)),
        })
    }

    pub fn category(&self, letter: char, file: &str) -> Result<&NicCategory, UkRulesError> {
        if !NI_CATEGORIES.contains(&letter) {
            return Err(UkRulesError::Category { letter });
        }
        self.nic.categories.get(&letter).ok_or_else(|| UkRulesError::Missing {
            what: format!("NI category {letter} rates"),
            tax_year: self.tax_year,
            file: file.to_owned(),
            path: format!("uk.{}.nic.category.{letter}", self.tax_year),
        })
    }

    pub fn loan(&self, plan: LoanPlan, file: &str) -> Result<&Loan, UkRulesError> {
        self.loans.get(&plan).ok_or_else(|| UkRulesError::Missing {
            what: format!("{} loan threshold", plan.as_str()),
            tax_year: self.tax_year,
            file: file.to_owned(),
            path: format!("uk.{}.loans.{}", self.tax_year, plan.as_str()),
        })
    }
}

fn read_year(year: i16, at: &At<'_>, p: &mut Problems) -> UkTaxYear {
    let paye = at.child("paye", p);
    let regulatory_limit = paye.percent("regulatory_limit", p);
    let paye_source = Source::from(paye.source(p));
    let mut regions = BTreeMap::new();
    for region in [UkRegion::RestOfUk, UkRegion::Scotland, UkRegion::Wales] {
        let key = region_key(region);
        // A region may be left out of a year (it is then refused when a code needs it); the
        // rest of the UK never is.
        if region != UkRegion::RestOfUk && !paye.has(key) {
            continue;
        }
        let node = paye.child(key, p);
        regions.insert(region, read_bands(&node, p));
    }
    let nic_at = at.child("nic", p);
    let mut categories = BTreeMap::new();
    let cat_at = nic_at.child("category", p);
    for key in cat_at.table_keys() {
        let c = cat_at.child(key, p);
        let mut chars = key.chars();
        let letter = match (chars.next(), chars.next()) {
            (Some(l), None) if NI_CATEGORIES.contains(&l) => l,
            _ => {
                p.push_invalid(c.path().to_owned(), "not an NI category letter this calculator supports");
                continue;
            }
        };
        categories.insert(
            letter,
            NicCategory {
                employee_main_rate: c.percent("employee_main_rate", p),
                employee_upper_rate: c.percent("employee_upper_rate", p),
                employer_main_rate: c.percent("employer_main_rate", p),
                employer_upper_rate: c.percent("employer_upper_rate", p),
                source: Source::from(c.source(p)),
            },
        );
    }
    let nic = Nic {
        primary_threshold: nic_at.amount("primary_threshold", p),
        upper_earnings_limit: nic_at.amount("upper_earnings_limit", p),
        secondary_threshold: nic_at.amount("secondary_threshold", p),
        upper_secondary_threshold: nic_at.amount("upper_secondary_threshold", p),
        categories,
        source: Source::from(nic_at.source(p)),
    };
    if nic.upper_earnings_limit < nic.primary_threshold {
        p.push_invalid(format!("{}.upper_earnings_limit", nic_at.path()), "below primary_threshold");
    }
    let loans_at = at.child("loans", p);
    let mut loans = BTreeMap::new();
    for key in loans_at.table_keys() {
        let l = loans_at.child(key, p);
        let Some(plan) = LoanPlan::from_name(key) else {
            p.push_invalid(l.path().to_owned(), "not a loan plan (plan1, plan2, plan4, plan5, postgraduate)");
            continue;
        };
        let loan = Loan {
            annual_threshold: l.amount("annual_threshold", p),
            rate: l.percent("rate", p),
            source: Source::from(l.source(p)),
        };
        loans.insert(plan, loan);
    }
    UkTaxYear { tax_year: year, regulatory_limit, paye_source, regions, nic, loans }
}

fn read_bands(at: &At<'_>, p: &mut Problems) -> Bands {
    let source = Source::from(at.source(p));
    let items = at.array("bands", p);
    let mut bands = Vec::new();
    let mut basic = None;
    for (i, b) in items.iter().enumerate() {
        let band = Band { name: b.text("name", p), rate: b.percent("rate", p), to: b.opt_amount("to", p) };
        let last = i + 1 == items.len();
        if band.to.is_none() != last {
            p.push_invalid(
                format!("{}.to", b.path()),
                "every band but the last has an upper limit `to`; the last has none",
            );
        }
        if let (Some(prev), Some(to)) = (bands.last().and_then(|x: &Band| x.to), band.to)
            && to <= prev
        {
            p.push_invalid(format!("{}.to", b.path()), "band limits must increase");
        }
        if band.name == "basic" {
            basic = Some(i);
        }
        bands.push(band);
    }
    if basic.is_none() && at.exists() {
        p.push_invalid(format!("{}.bands", at.path()), "one band must be named \"basic\" (the rate of a BR code)");
    }
    Bands { bands, basic: basic.unwrap_or(0), source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_reads_and_names_what_it_lacks() {
        let rules = UkRules::parse(BUILTIN_FILE, include_str!("../../../formats/rules/uk.toml")).expect("valid");
        assert_eq!(rules.years().collect::<Vec<_>>(), [2024, 2025, 2026]);
        let y = rules.year(2026).expect("year");
        let scotland = y.bands(UkRegion::Scotland, rules.file()).expect("2026-27 Scottish bands ship");
        assert_eq!(scotland.bands.len(), 6);
        let mut without = y.clone();
        without.regions.remove(&UkRegion::Scotland);
        let err = without.bands(UkRegion::Scotland, rules.file()).expect_err("absent").to_string();
        assert!(err.contains("uk.2026.paye.scotland"), "{err}");
        assert!(y.category('V', rules.file()).is_err());
        assert!(rules.year(2024).expect("year").loan(LoanPlan::Plan5, rules.file()).is_err());
        assert!(rules.year(2023).expect_err("none").to_string().contains("2023-24"));
    }

    #[test]
    fn a_year_missing_constants_names_each_path() {
        let text = "[uk.2030.paye]\nsource = \"x\"\n[uk.2030.paye.rest_of_uk]\nsource = \"y\"\n";
        let err = UkRules::parse("t.toml", text).expect_err("refused").to_string();
        for path in ["uk.2030.paye.regulatory_limit", "uk.2030.paye.rest_of_uk.bands", "uk.2030.nic.primary_threshold"]
        {
            assert!(err.contains(path), "{path}: {err}");
        }
    }
}
