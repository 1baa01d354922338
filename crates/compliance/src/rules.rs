//! The versioned tax rules: every withholding constant, per jurisdiction and per year, each with
//! the source an auditor should open to check it, typed.
//!
//! The constants are data: the shipped files (`tokencomp_formats::tax_rules::SHIPPED`, embedded at
//! build time) and the files a company records in its ledger (`tokencomp rules add`), read into
//! one tree by `tokencomp_formats::tax_rules` and read here section by section with
//! `tokencomp_formats::rule_node::At`. Text is parsed exactly into `Decimal` (rates `"6.2%"`,
//! amounts as decimal strings); every problem is reported at once with its file, line and path.
//! A company may add a flat rule for a country the rules do not cover.
//!
//! This module must never guess: a year, a US state or a country without its constants is an
//! error naming every missing constant by path, never a fallback to another year, a projection or
//! a default rate. It holds no global state and no IO: callers build `Rules` once and keep it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use tokencomp_formats::rule_node::{At, ProblemKind, Problems};
use tokencomp_formats::tax_rules::{self, FileError, Origin, SHIPPED, Tree};
use tokencomp_money::Decimal;

use crate::us_state::{LoadError, UsStateRules};

/// A rule's source text, shared by every tax line computed from it (`crate::source`).
pub type Source = crate::source::Source;

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
            missing: state_paths(self.year, code),
        })
    }
}

/// The UK tax year (every tax code's bands, NICs by letter, the loans): read by `crate::uk`.
pub type UkYear = crate::uk::rules::UkTaxYear;

/// A configurable flat rule for a country the table does not cover (e.g. DE 42% / 0%).
/// Rates are fractions: `0.42` is 42%. It applies to every year.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlatRule {
    pub employee_rate: Decimal,
    pub employer_rate: Decimal,
}

/// A rules file the company recorded in its ledger (`tokencomp rules add`), as the fold gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRules {
    /// The event's sequence number in the ledger.
    pub seq: i64,
    pub actor: String,
    /// When it was recorded (RFC 3339).
    pub at: String,
    /// The file's name as given.
    pub name: String,
    pub text: String,
}

impl RecordedRules {
    fn origin(&self, line: usize) -> Origin {
        Origin::Recorded {
            seq: self.seq,
            actor: self.actor.clone(),
            at: self.at.clone(),
            file: self.name.clone(),
            line,
        }
    }
}

/// What a payment needs from the rules: a US calendar year (and the person's state) or a UK tax
/// year. [`Rules::require`] names every missing constant of a list of needs at once.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    Us {
        year: i16,
        state: Option<String>,
    },
    Uk {
        tax_year: i16,
    },
    /// Germany's programme for a calendar year.
    De {
        year: i16,
    },
}

/// The rules in force. Build it once ([`Rules::builtin`], [`Rules::effective`] or
/// [`Rules::parse`]) and pass it by reference; it is never global.
#[derive(Clone, Debug, PartialEq)]
pub struct Rules {
    /// The shipped files' names, as messages give them.
    file: String,
    tree: Tree,
    us: BTreeMap<i16, UsYear>,
    uk: std::sync::Arc<crate::uk::rules::UkRules>,
    de: std::sync::Arc<crate::de::DeRules>,
    /// Years present in the tree whose reading found problems (incomplete or invalid).
    broken: BTreeMap<(&'static str, i16), Problems>,
    flat: BTreeMap<String, FlatRule>,
    /// The US state rules file (`rules/us-states.toml`); for the years it ships, it replaces
    /// the flat `state` entries.
    us_states: Option<std::sync::Arc<UsStateRules>>,
}

impl Rules {
    /// The rules shipped with `tokencomp_formats` (`tax_rules::SHIPPED`); any problem in them is
    /// an error naming its file and line.
    /// Read once per process: they are constant, and every report and run starts from them.
    pub fn builtin() -> Result<Rules, RulesError> {
        static SHIPPED_RULES: std::sync::OnceLock<Result<Rules, RulesError>> = std::sync::OnceLock::new();
        SHIPPED_RULES
            .get_or_init(|| {
                let files: Vec<(&str, &str)> = SHIPPED.iter().map(|f| (f.name, f.text)).collect();
                Rules::shipped(&files)
            })
            .clone()
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

    /// Whether the company configured a flat rule for `country`.
    pub fn has_flat(&self, country: &str) -> bool {
        self.flat.contains_key(country)
    }

    /// Reads one rules file as if it were the only shipped one; every problem is reported.
    pub fn parse(file_name: &str, text: &str) -> Result<Rules, RulesError> {
        Rules::shipped(&[(file_name, text)])
    }

    /// Reads `files` as the shipped set: shape, duplicates across files, then every year.
    pub fn shipped(files: &[(&str, &str)]) -> Result<Rules, RulesError> {
        let names = files.iter().map(|f| f.0).collect::<Vec<_>>().join(", ");
        let mut read = Vec::new();
        for (name, text) in files {
            read.push(tax_rules::read_file(name, text).map_err(file_error)?);
        }
        let tree = Tree::shipped_from(&read)
            .map_err(|d| RulesError::Duplicate { duplicates: d.iter().map(ToString::to_string).collect() })?;
        let rules = Rules::from_tree(&names, tree);
        let problems: Vec<Problem> = rules
            .broken
            .values()
            .flat_map(|p| {
                locate(p, &rules.tree, |path| read.iter().find_map(|f| f.position(path).map(|at| (f.name.clone(), at))))
            })
            .collect();
        if problems.is_empty() {
            Ok(rules)
        } else {
            Err(RulesError::Invalid { file: names, problems: sorted(problems) })
        }
    }

    /// The shipped rules with the company's recorded files laid over them in ledger order: a
    /// recorded value overrides the one at its exact path. A year left incomplete is kept as its
    /// problems, reported when a payment needs it.
    pub fn effective(recorded: &[RecordedRules]) -> Result<Rules, RulesError> {
        let shipped = Rules::builtin()?;
        if recorded.is_empty() {
            return Ok(shipped);
        }
        let mut tree = shipped.tree;
        for r in recorded {
            let file = tax_rules::read_file(&r.name, &r.text).map_err(file_error)?;
            tree.overlay(&file, &|line| r.origin(line));
        }
        Ok(Rules::from_tree(&shipped.file, tree))
    }

    /// Checks a file a company wants to record over these rules: its shape, then every year it
    /// touches read again with it laid over, so a value that is not what its rule needs, a
    /// constant the year still lacks, or an unknown key is reported with the file's line and the
    /// path. Returns the `(jurisdiction, year)` pairs it changes.
    pub fn check_addition(&self, name: &str, text: &str) -> Result<Vec<(String, i16)>, RulesError> {
        let (file, shape) = tax_rules::read_file_with_problems(name, text).map_err(file_error)?;
        let mut problems: Vec<Problem> = match file_error(FileError::Shape(shape)) {
            RulesError::Invalid { problems, .. } => problems,
            _ => Vec::new(),
        };
        let mut tree = self.tree.clone();
        tree.overlay(&file, &|line| Origin::Recorded {
            seq: 0,
            actor: String::new(),
            at: String::new(),
            file: name.to_owned(),
            line,
        });
        let years = file.years();
        for (jurisdiction, year) in &years {
            let found = match jurisdiction.as_str() {
                "us" => {
                    let states = crate::us_state::from_table(&self.file, tree.table());
                    let owned = matches!(&states, Ok(s) if s.year(*year).is_some())
                        || matches!(&states, Err(LoadError::Invalid { problems, .. })
                            if problems.0.iter().any(|q| q.path.starts_with(&format!("us.{year}.state."))));
                    let mut p = read_us_with(&tree, *year, !owned).1;
                    if let Err(LoadError::Invalid { problems, .. }) = states {
                        p.0.extend(problems.0.into_iter().filter(|q| q.path.starts_with(&format!("us.{year}."))));
                    }
                    p
                }
                "uk" => {
                    crate::uk::rules::UkRules::from_table(&self.file, tree.table()).1.remove(year).unwrap_or_default()
                }
                "de" => de_problems(&tokencomp_formats::de_rules::DeRulesFile::from_table(tree.table()), *year),
                _ => Problems::default(),
            };
            for p in locate(&found, &tree, |path| {
                let at = file.position(path).or_else(|| file.position(&format!("{jurisdiction}.{year}")))?;
                Some((file.name.clone(), at))
            }) {
                // The shape check has said it already (a missing `source`).
                if !problems.iter().any(|q| q.path() == p.path()) {
                    problems.push(p);
                }
            }
        }
        if problems.is_empty() {
            Ok(years)
        } else {
            Err(RulesError::Invalid { file: name.to_owned(), problems: sorted(problems) })
        }
    }

    fn from_tree(file: &str, tree: Tree) -> Rules {
        let (uk, uk_broken) = crate::uk::rules::UkRules::from_table(file, tree.table());
        let de_file = tokencomp_formats::de_rules::DeRulesFile::from_table(tree.table());
        let mut rules = Rules {
            file: file.to_owned(),
            us: BTreeMap::new(),
            uk: std::sync::Arc::new(uk),
            de: std::sync::Arc::new(crate::de::DeRules::new(de_file.clone())),
            broken: BTreeMap::new(),
            flat: BTreeMap::new(),
            tree: Tree::default(),
            us_states: None,
        };
        // The state years (income methods, contributions, local taxes) are read first: their
        // years' flat `state` entries are theirs, not `read_us`'s.
        match crate::us_state::from_table(file, tree.table()) {
            Ok(states) => rules.us_states = Some(std::sync::Arc::new(states)),
            Err(LoadError::Invalid { problems, .. }) => drop(rules.broken.insert(("us-states", 0), problems)),
            Err(LoadError::Syntax { .. }) => {}
        }
        for year in tree.years("us") {
            let owned = rules.us_states().and_then(|s| s.year(year)).is_some();
            match read_us_with(&tree, year, !owned) {
                (parsed, p) if p.is_empty() => drop(rules.us.insert(year, parsed)),
                (_, p) => drop(rules.broken.insert(("us", year), p)),
            }
        }
        for (year, p) in uk_broken {
            rules.broken.insert(("uk", year), p);
        }
        for year in tree.years("de") {
            let p = de_problems(&de_file, year);
            if !p.is_empty() {
                rules.broken.insert(("de", year), p);
            }
        }
        rules.tree = tree;
        rules
    }

    /// The German programme's constants in force.
    pub fn de(&self) -> &crate::de::DeRules {
        &self.de
    }

    /// The UK's constants in force (every tax year read whole).
    pub fn uk_rules(&self) -> &crate::uk::rules::UkRules {
        &self.uk
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

    /// The US rules for a calendar year; without them, every missing constant by path.
    pub fn us(&self, year: i16) -> Result<&UsYear, RulesError> {
        self.us.get(&year).ok_or_else(|| RulesError::NoUsYear {
            year,
            file: self.file.clone(),
            known: self.us.keys().copied().collect(),
            missing: listed(&self.year_problems("us", year)),
        })
    }

    /// The UK rules for the tax year starting on 6 April of `tax_year`; without them, every
    /// missing constant by path.
    pub fn uk(&self, tax_year: i16) -> Result<&UkYear, RulesError> {
        self.uk.year(tax_year).map_err(|_| RulesError::NoUkYear {
            tax_year,
            file: self.file.clone(),
            known: self.uk.years().collect(),
            missing: listed(&self.year_problems("uk", tax_year)),
        })
    }

    fn year_problems(&self, jurisdiction: &'static str, year: i16) -> Problems {
        match self.broken.get(&(jurisdiction, year)) {
            Some(p) => p.clone(),
            None if jurisdiction == "us" => read_us(&self.tree, year).1,
            None => crate::uk::rules::UkRules::needed(year),
        }
    }

    /// Every constant the `needs` lack, at once, in the order of the needs (each year's
    /// constants in reading order, then each state's): `Ok` when every need is met.
    pub fn require(&self, needs: &[Need]) -> Result<(), RulesError> {
        let mut missing: Vec<String> = Vec::new();
        let mut add = |paths: Vec<String>| {
            for p in paths {
                if !missing.contains(&p) {
                    missing.push(p);
                }
            }
        };
        for need in needs {
            match need {
                Need::Us { year, state } => {
                    // A year the state rules file ships: its state module refuses a state it
                    // lacks by name; only the federal constants are asked for here.
                    let state = if self.us_states().and_then(|s| s.year(*year)).is_some() { &None } else { state };
                    match self.us.get(year) {
                        Some(y) => {
                            if let Some(code) = state
                                && !y.states.contains_key(code)
                            {
                                add(state_paths(*year, code));
                            }
                        }
                        None => {
                            add(listed(&self.year_problems("us", *year)));
                            if let Some(code) = state {
                                let mut p = Problems::default();
                                let at =
                                    At::root(format!("us.{year}.state"), self.tree.get(&format!("us.{year}.state")));
                                read_state(&at.child(code, &mut p), &mut p);
                                add(listed(&p));
                            }
                        }
                    }
                }
                Need::Uk { tax_year } if self.uk.year(*tax_year).is_err() => {
                    add(listed(&self.year_problems("uk", *tax_year)))
                }
                Need::Uk { .. } => {}
                Need::De { year } => {
                    if crate::de::params::Edition::for_year(*year).is_some() && self.de.year(*year).is_err() {
                        add(listed(&de_problems(self.de.file(), *year)));
                    }
                }
            }
        }
        if missing.is_empty() { Ok(()) } else { Err(RulesError::Missing { missing }) }
    }

    /// The company's flat rule for `country`; `year` only names the payment's year in the error.
    pub fn flat(&self, country: &str, year: i16) -> Result<&FlatRule, RulesError> {
        self.flat.get(country).ok_or_else(|| RulesError::NoFlatRule { country: country.to_owned(), year })
    }

    /// The shipped files the rules were read from, as messages name them.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The tree in force: every value with its origin and source.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    pub fn us_years(&self) -> impl Iterator<Item = i16> + '_ {
        self.us.keys().copied()
    }

    pub fn uk_years(&self) -> impl Iterator<Item = i16> + '_ {
        self.uk.years()
    }
}

fn file_error(e: FileError) -> RulesError {
    match e {
        FileError::Syntax { file, line, message } => RulesError::Syntax { file, line, message },
        FileError::Shape(problems) => {
            let file = problems.first().map(|p| p.file.clone()).unwrap_or_default();
            let problems = problems
                .into_iter()
                .map(|p| {
                    let (entry, field) = split(&p.path);
                    Problem {
                        file: p.file,
                        line: Some(p.line),
                        column: Some(p.column),
                        entry,
                        field,
                        message: p.message,
                    }
                })
                .collect();
            RulesError::Invalid { file, problems }
        }
    }
}

fn split(path: &str) -> (String, String) {
    match path.rfind('.') {
        Some(i) => (path[..i].to_owned(), path[i + 1..].to_owned()),
        None => (path.to_owned(), String::new()),
    }
}

fn sorted(mut problems: Vec<Problem>) -> Vec<Problem> {
    problems.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    problems
}

/// The reader's problems as file problems: `position` finds a path's file and (line, column).
fn locate(
    problems: &Problems,
    tree: &Tree,
    position: impl Fn(&str) -> Option<(String, (usize, usize))>,
) -> Vec<Problem> {
    problems
        .0
        .iter()
        .map(|p| {
            let (entry, field) = split(&p.path);
            let at = position(&p.path);
            let message = match &p.kind {
                ProblemKind::Missing => "missing".to_owned(),
                ProblemKind::Invalid(why) => match tree.written(&p.path) {
                    Some(v) => format!("found `{v}`: {why}"),
                    None => why.clone(),
                },
            };
            Problem {
                file: at.as_ref().map(|a| a.0.clone()).unwrap_or_default(),
                line: at.as_ref().map(|a| a.1.0),
                column: at.as_ref().map(|a| a.1.1),
                entry,
                field,
                message,
            }
        })
        .collect()
}

/// Each problem's path (with why, when a value is there but wrong).
fn listed(problems: &Problems) -> Vec<String> {
    problems
        .0
        .iter()
        .map(|p| match &p.kind {
            ProblemKind::Missing => p.path.clone(),
            ProblemKind::Invalid(why) => format!("{} ({why})", p.path),
        })
        .collect()
}

fn state_paths(year: i16, code: &str) -> Vec<String> {
    vec![format!("us.{year}.state.{code}.rate"), format!("us.{year}.state.{code}.source")]
}

// ------------------------------------------------------------------------------------------
// Typed reading of one year: every constant asked for by path; what is missing or wrong is a
// problem, never a guess.

fn source(at: &At<'_>, p: &mut Problems) -> Source {
    Source::from(at.source(p))
}

/// Every value key of `at` not in `known` is an unknown field (a typo would otherwise be ignored).
fn known(at: &At<'_>, keys: &[&str], p: &mut Problems) {
    for key in at.value_keys() {
        if !keys.contains(&key) {
            p.push_invalid(
                format!("{}.{key}", at.path()),
                format!("unknown field (this entry has {})", keys.join(", ")),
            );
        }
    }
}

fn read_state(at: &At<'_>, p: &mut Problems) -> StateRule {
    let rule = StateRule { rate: at.percent("rate", p), source: source(at, p) };
    known(at, &["rate", "source"], p);
    rule
}

fn read_us(tree: &Tree, year: i16) -> (UsYear, Problems) {
    read_us_with(tree, year, true)
}

/// The German year's problems in a rules tree (none when it reads whole).
fn de_problems(file: &tokencomp_formats::de_rules::DeRulesFile, year: i16) -> Problems {
    match crate::de::params::Edition::for_year(year) {
        Some(edition) => match crate::de::params::read_year(file, year, edition) {
            Ok(_) => Problems::default(),
            Err(e) => {
                let mut p = Problems::default();
                for text in e.problems {
                    match text.strip_suffix(" (missing)") {
                        Some(path) => p.push_missing(path.to_owned()),
                        None => {
                            let (path, why) = text.split_once(' ').unwrap_or((text.as_str(), ""));
                            p.push_invalid(path.to_owned(), why.trim_start_matches(['(', ':']).trim_end_matches(')'));
                        }
                    }
                }
                p
            }
        },
        None => Problems::default(),
    }
}

/// `read_us`, reading the flat `state` entries only when `flat_states` (a year the state rules
/// file ships has none).
fn read_us_with(tree: &Tree, year: i16, flat_states: bool) -> (UsYear, Problems) {
    let mut p = Problems::default();
    let path = format!("us.{year}");
    let root = At::root(path.clone(), tree.get(&path));
    let f = root.child("federal_supplemental", &mut p);
    let federal = FederalSupplemental {
        rate: f.percent("rate", &mut p),
        high_rate: f.percent("high_rate", &mut p),
        high_threshold: f.amount("high_threshold", &mut p),
        source: source(&f, &mut p),
    };
    known(&f, &["rate", "high_rate", "high_threshold", "source"], &mut p);
    let s = root.child("social_security", &mut p);
    let social_security = SocialSecurity {
        employee_rate: s.percent("employee_rate", &mut p),
        employer_rate: s.percent("employer_rate", &mut p),
        wage_base: s.amount("wage_base", &mut p),
        source: source(&s, &mut p),
    };
    known(&s, &["employee_rate", "employer_rate", "wage_base", "source"], &mut p);
    let m = root.child("medicare", &mut p);
    let medicare = Medicare {
        employee_rate: m.percent("employee_rate", &mut p),
        employer_rate: m.percent("employer_rate", &mut p),
        source: source(&m, &mut p),
    };
    known(&m, &["employee_rate", "employer_rate", "source"], &mut p);
    let a = root.child("additional_medicare", &mut p);
    let additional_medicare = AdditionalMedicare {
        rate: a.percent("rate", &mut p),
        threshold: a.amount("threshold", &mut p),
        source: source(&a, &mut p),
    };
    known(&a, &["rate", "threshold", "source"], &mut p);
    let u = root.child("futa", &mut p);
    let futa =
        Futa { rate: u.percent("rate", &mut p), wage_base: u.amount("wage_base", &mut p), source: source(&u, &mut p) };
    known(&u, &["rate", "wage_base", "source"], &mut p);
    let mut states = BTreeMap::new();
    if flat_states && root.has("state") {
        let st = root.child("state", &mut p);
        for code in st.table_keys() {
            let node = st.child(code, &mut p);
            if !(code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())) {
                p.push_invalid(node.path().to_owned(), "a state is its two-letter postal code in capitals, such as CA");
                continue;
            }
            states.insert(code.to_owned(), read_state(&node, &mut p));
        }
    }
    (UsYear { year, federal, social_security, medicare, additional_medicare, futa, states }, p)
}

// ------------------------------------------------------------------------------------------
// Errors

/// One problem of a rules file: where, which entry and field, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file it is in (empty when no file holds the path).
    pub file: String,
    /// 1-based line in the file, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// The entry, e.g. `us.2026.social_security`.
    pub entry: String,
    /// The field inside the entry, e.g. `wage_base` (empty when the entry itself is wrong).
    pub field: String,
    pub message: String,
}

impl Problem {
    /// The full dotted path (`us.2026.social_security.wage_base`).
    pub fn path(&self) -> String {
        if self.field.is_empty() { self.entry.clone() } else { format!("{}.{}", self.entry, self.field) }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.file.is_empty() {
            write!(f, "{} ", self.file)?;
        }
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        write!(f, "{}: {}", self.path(), self.message)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    #[error("{file}{}: the rules table is not valid TOML of the expected shape: {message}", at_line(*.line))]
    Syntax { file: String, line: Option<usize>, message: String },
    #[error("{file}: the rules table has {} problem(s):{}", .problems.len(), list_problems(.problems))]
    Invalid { file: String, problems: Vec<Problem> },
    #[error("the shipped rules define a value twice:{}", .duplicates.iter().map(|d| format!("\n  {d}")).collect::<String>())]
    Duplicate { duplicates: Vec<String> },
    #[error(
        "no US withholding rules for calendar year {year} in {file} (it covers {}); missing: {}",
        list_years(.known),
        .missing.join(", ")
    )]
    NoUsYear { year: i16, file: String, known: Vec<i16>, missing: Vec<String> },
    #[error(
        "no UK withholding rules for tax year {tax_year}-{} in {file} (it covers tax years starting in {}); missing: {}",
        short_next_year(*.tax_year),
        list_years(.known),
        .missing.join(", ")
    )]
    NoUkYear { tax_year: i16, file: String, known: Vec<i16>, missing: Vec<String> },
    #[error(
        "no supplemental withholding rate for US state `{state}` in {year} (the rules have {}); a state's rate is never guessed; missing: {}",
        .known.join(", "),
        .missing.join(", ")
    )]
    NoState { state: String, year: i16, known: Vec<String>, missing: Vec<String> },
    #[error("the tax rules in force lack {} constant(s): {}", .missing.len(), .missing.join(", "))]
    Missing { missing: Vec<String> },
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

impl RulesError {
    /// The constants a payment needs and the rules lack, by path; empty for other errors.
    pub fn missing(&self) -> &[String] {
        match self {
            RulesError::NoUsYear { missing, .. }
            | RulesError::NoUkYear { missing, .. }
            | RulesError::NoState { missing, .. }
            | RulesError::Missing { missing } => missing,
            _ => &[],
        }
    }
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

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use tokencomp_formats::rule_node::{parse_percent, parse_plain_decimal};

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
            if year < 2026 {
                assert_eq!(us.state("CA").expect("valid").rate, d("0.1023"));
                assert_eq!(us.state("NY").expect("valid").rate, d("0.117"));
                assert_eq!(us.state("TX").expect("valid").rate, Decimal::ZERO);
                assert!(us.states.values().all(|s| !s.source.is_empty()));
            } else {
                // 2026's states are the state rules file's (income methods, contributions).
                assert!(us.states.is_empty());
                assert!(rules.us_states().and_then(|s| s.year(2026)).is_some());
            }
        }
        // The UK's monthly NIC thresholds and category A's employer rate (rules/uk.toml).
        let uk24 = rules.uk(2024).expect("valid");
        assert_eq!(
            (uk24.nic.categories[&'A'].employer_main_rate, uk24.nic.secondary_threshold),
            (d("0.138"), d("758"))
        );
        let uk25 = rules.uk(2025).expect("valid");
        assert_eq!((uk25.nic.categories[&'A'].employer_main_rate, uk25.nic.secondary_threshold), (d("0.15"), d("417")));
        assert!(rules.de().year(2026).is_ok());
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
[us.2030.social_security]
employee_rate = \"6.2%\"
employer_rate = 6.2
wage_base = \"184,500\"
colour = \"blue\"
source = \"x\"
";
        let err = Rules::parse("my.toml", text).expect_err("must be refused");
        let RulesError::Invalid { file, problems } = &err else { panic!("{err}") };
        assert_eq!(file, "my.toml");
        let found: Vec<_> = problems.iter().map(|p| (p.line, p.entry.as_str(), p.field.as_str())).collect();
        assert!(found.contains(&(Some(3), "us.2030.social_security", "employer_rate")), "{found:?}");
        assert!(found.contains(&(Some(4), "us.2030.social_security", "wage_base")), "{found:?}");
        assert!(found.contains(&(Some(5), "us.2030.social_security", "colour")), "{found:?}");
        assert!(found.iter().any(|(_, e, _)| *e == "us.2030.futa"), "missing futa entry reported: {found:?}");
        let message = err.to_string();
        assert!(message.contains("line 4: us.2030.social_security.wage_base"), "{message}");
        assert!(message.contains("`184,500`"), "{message}");
    }

    #[test]
    fn bad_keys_and_syntax_are_errors() {
        let err = Rules::parse("t.toml", "[us.20x6.futa]\nrate = \"1%\"\n").expect_err("must be refused");
        assert!(err.to_string().contains("us.20x6"), "{err}");
        let err =
            Rules::parse("t.toml", "[us.2026.state.ca]\nrate = \"1%\"\nsource = \"s\"\n").expect_err("must be refused");
        assert!(err.to_string().contains("us.2026.state.ca"), "{err}");
        let err = Rules::parse("t.toml", "[fr.2026]\nrate = \"1%\"\n").expect_err("must be refused");
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
        let err = rules.us(2025).expect("valid").state("NV").expect_err("must be refused").to_string();
        assert!(err.contains("`NV`") && err.contains("2025"), "{err}");
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
