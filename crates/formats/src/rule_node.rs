//! Typed reading of one rules table (a `[<jurisdiction>.<year>…]` TOML tree): every constant is
//! asked for by name, and every problem — a constant that is missing, a value that is not what
//! the rule needs — is collected with its full dotted path, so a year can be refused naming every
//! missing constant at once. A reader never guesses: a missing constant reads as zero *and* is
//! reported; callers must not use the result when [`Problems`] is not empty.
//!
//! Conventions of the rules files (see `docs/tax-rules.md`): rates are percent strings
//! (`"6.2%"`), amounts are plain decimal strings (`"184500"`), names are strings; every table
//! holding values has a `source` naming the document an auditor opens to check it.

use std::str::FromStr;

use tokencomp_money::Decimal;

/// What is wrong with one constant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// The rules in force have no value at this path.
    Missing,
    /// A value is there but is not what the rule needs; the text says what is expected.
    Invalid(String),
}

/// One problem, at a full dotted path such as `us.2027.social_security.wage_base`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleProblem {
    pub path: String,
    pub kind: ProblemKind,
}

/// The problems found while reading; empty means every constant asked for was read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Problems(pub Vec<RuleProblem>);

impl Problems {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The paths of the missing constants, in the order they were asked for.
    pub fn missing(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter(|p| p.kind == ProblemKind::Missing).map(|p| p.path.as_str())
    }

    pub fn push_missing(&mut self, path: String) {
        self.0.push(RuleProblem { path, kind: ProblemKind::Missing });
    }

    pub fn push_invalid(&mut self, path: String, why: impl Into<String>) {
        self.0.push(RuleProblem { path, kind: ProblemKind::Invalid(why.into()) });
    }
}

/// A table of the rules tree and its full dotted path. A table that does not exist is a node
/// without a table, so asking it for a constant reports that constant as missing.
#[derive(Clone, Debug)]
pub struct At<'t> {
    table: Option<&'t toml::Table>,
    path: String,
}

impl<'t> At<'t> {
    /// The root of a reading: `path` names `table` (`"us.2026"` for the `[us.2026]` table).
    pub fn root(path: impl Into<String>, table: Option<&'t toml::Table>) -> At<'t> {
        At { table, path: path.into() }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn exists(&self) -> bool {
        self.table.is_some()
    }

    pub fn table(&self) -> Option<&'t toml::Table> {
        self.table
    }

    fn join(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_owned() } else { format!("{}.{key}", self.path) }
    }

    /// The sub-table `key` (absent or not a table: a node whose constants all read as missing;
    /// a value that is not a table is reported as invalid).
    pub fn child(&self, key: &str, problems: &mut Problems) -> At<'t> {
        let path = self.join(key);
        let table = match self.table.and_then(|t| t.get(key)) {
            Some(toml::Value::Table(t)) => Some(t),
            Some(_) => {
                problems.push_invalid(path.clone(), "this must be a table");
                None
            }
            None => None,
        };
        At { table, path }
    }

    /// Whether `key` is present at all.
    pub fn has(&self, key: &str) -> bool {
        self.table.is_some_and(|t| t.contains_key(key))
    }

    /// The keys of the sub-tables, in key order (states, bands, …).
    pub fn table_keys(&self) -> Vec<&'t str> {
        let Some(t) = self.table else { return Vec::new() };
        t.iter().filter(|(_, v)| v.is_table()).map(|(k, _)| k.as_str()).collect()
    }

    /// The keys holding values (not tables), in key order; for checking no unknown constant.
    pub fn value_keys(&self) -> Vec<&'t str> {
        let Some(t) = self.table else { return Vec::new() };
        t.iter().filter(|(_, v)| !v.is_table() && !is_table_array(v)).map(|(k, _)| k.as_str()).collect()
    }

    fn string(&self, key: &str, problems: &mut Problems) -> Option<&'t str> {
        match self.table.and_then(|t| t.get(key)) {
            Some(toml::Value::String(s)) => Some(s.as_str()),
            Some(_) => {
                problems.push_invalid(self.join(key), "this must be a string, such as \"6.2%\" or \"184500\"");
                None
            }
            None => {
                problems.push_missing(self.join(key));
                None
            }
        }
    }

    /// A rate written as a percent string between 0% and 100%.
    pub fn percent(&self, key: &str, problems: &mut Problems) -> Decimal {
        let Some(text) = self.string(key, problems) else { return Decimal::ZERO };
        match parse_percent(text) {
            Some(r) => r,
            None => {
                problems.push_invalid(
                    self.join(key),
                    format!("{text:?} is not a percent from 0% to 100%, such as \"6.2%\""),
                );
                Decimal::ZERO
            }
        }
    }

    /// A non-negative amount written as a plain decimal string.
    pub fn amount(&self, key: &str, problems: &mut Problems) -> Decimal {
        let Some(text) = self.string(key, problems) else { return Decimal::ZERO };
        match parse_plain_decimal(text) {
            Some(a) if a <= max_amount() => a,
            _ => {
                problems.push_invalid(
                    self.join(key),
                    format!("{text:?} is not an amount: digits with at most one decimal point, such as \"184500\""),
                );
                Decimal::ZERO
            }
        }
    }

    /// A name or other text (empty on a problem).
    pub fn text(&self, key: &str, problems: &mut Problems) -> String {
        self.string(key, problems).unwrap_or_default().to_owned()
    }

    /// The table's `source`, which every table holding constants must have.
    pub fn source(&self, problems: &mut Problems) -> String {
        let s = self.text("source", problems);
        if self.table.is_some() && s.trim().is_empty() && self.has("source") {
            problems.push_invalid(self.join("source"), "the source must name a document");
        }
        s
    }

    /// Like [`At::percent`] but absent is `None`, not a problem.
    pub fn opt_percent(&self, key: &str, problems: &mut Problems) -> Option<Decimal> {
        self.has(key).then(|| self.percent(key, problems))
    }

    /// Like [`At::amount`] but absent is `None`, not a problem.
    pub fn opt_amount(&self, key: &str, problems: &mut Problems) -> Option<Decimal> {
        self.has(key).then(|| self.amount(key, problems))
    }

    /// Like [`At::text`] but absent is `None`, not a problem.
    pub fn opt_text(&self, key: &str, problems: &mut Problems) -> Option<String> {
        self.has(key).then(|| self.text(key, problems))
    }

    /// An array of tables (`[[a.b.bands]]`), each as a node `a.b.bands[i]`; missing is a problem.
    pub fn array(&self, key: &str, problems: &mut Problems) -> Vec<At<'t>> {
        match self.table.and_then(|t| t.get(key)) {
            Some(toml::Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let path = format!("{}[{i}]", self.join(key));
                    match v {
                        toml::Value::Table(t) => At { table: Some(t), path },
                        _ => {
                            problems.push_invalid(path.clone(), "this must be a table");
                            At { table: None, path }
                        }
                    }
                })
                .collect(),
            Some(_) => {
                problems.push_invalid(self.join(key), "this must be an array of tables");
                Vec::new()
            }
            None => {
                problems.push_missing(self.join(key));
                Vec::new()
            }
        }
    }
}

fn is_table_array(v: &toml::Value) -> bool {
    matches!(v, toml::Value::Array(items) if items.iter().all(toml::Value::is_table) && !items.is_empty())
}

/// Largest amount a rules table holds: 10^15 in the jurisdiction's currency.
pub fn max_amount() -> Decimal {
    Decimal::from(1_000_000_000_000_000_i64)
}

/// `"6.2%"` → 0.062, exactly. Digits with at most one decimal point followed by `%`, 0% to 100%.
pub fn parse_percent(text: &str) -> Option<Decimal> {
    let number = text.strip_suffix('%')?;
    let percent = parse_plain_decimal(number)?;
    if percent > Decimal::ONE_HUNDRED {
        return None;
    }
    percent.checked_div(Decimal::ONE_HUNDRED).map(|r| r.normalize())
}

/// `"184500"` or `"0.5"`: digits with at most one decimal point; no sign, exponent or spaces.
pub fn parse_plain_decimal(text: &str) -> Option<Decimal> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_year_reports_every_constant_asked_for_by_path() {
        let mut p = Problems::default();
        let root = At::root("us.2027", None);
        let ss = root.child("social_security", &mut p);
        let _ = ss.percent("employee_rate", &mut p);
        let _ = ss.amount("wage_base", &mut p);
        assert_eq!(
            p.missing().collect::<Vec<_>>(),
            ["us.2027.social_security.employee_rate", "us.2027.social_security.wage_base"]
        );
    }

    #[test]
    fn values_are_read_exactly_and_bad_ones_named() {
        let t: toml::Table =
            toml::from_str("[x]\nrate = \"6.2%\"\nbase = \"184500.5\"\nbad = \"1e3\"\nn = 3\n").expect("valid toml");
        let mut p = Problems::default();
        let x = At::root("us.2026", Some(&t)).child("x", &mut p);
        assert_eq!(x.percent("rate", &mut p), Decimal::from_str("0.062").expect("decimal"));
        assert_eq!(x.amount("base", &mut p), Decimal::from_str("184500.5").expect("decimal"));
        assert!(p.is_empty());
        let _ = x.amount("bad", &mut p);
        let _ = x.amount("n", &mut p);
        assert_eq!(p.0.len(), 2);
        assert_eq!(p.0[0].path, "us.2026.x.bad");
        assert_eq!(p.0[1].path, "us.2026.x.n");
        assert_eq!(p.missing().count(), 0);
    }
}
