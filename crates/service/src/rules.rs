//! The tax rules a company runs under: the shipped files with its recorded ones laid over them
//! (`tokencomp rules add`), what is in force and where each value came from (`rules list`), the
//! hash a period run records, and the refusal that names every missing constant.
//!
//! A recorded file is checked whole before anything is written (every problem, with its file,
//! line, column and path); recording the same file again changes nothing while it is still what
//! is in force. This module must never fill a gap: a year without rules is refused.

use serde_json::{Value, json};
use tokencomp_compliance::rules::{FlatRule, Rules, RulesError};
use tokencomp_formats::diag::Diagnostic;
use tokencomp_formats::tax_rules::{Origin, read_file};
use tokencomp_store::ledger::{Company, Fact};
use tokencomp_store::sha256_hex;

use crate::error::{Context, Error, Result};
use crate::ledger::{Loaded, Stamp, record_checked};

/// The jurisdictions rules files hold (those with a typed reader).
pub const JURISDICTIONS: &[&str] = tokencomp_formats::tax_rules::JURISDICTIONS;

/// What adds a year's (or a state's) constants, as every refusal says it.
pub const ADD_COMMAND: &str = "tokencomp rules add FILE";

/// The rules in force for `company`: shipped, then its recorded files in ledger order, then its
/// flat rules.
pub fn rules(company: &Company) -> Result<Rules> {
    let mut rules = Rules::effective(&company.rules).context("the tax rules")?;
    for f in &company.company.policy.flat_rules {
        let rate = |bps: u32| tokencomp_money::Decimal::new(i64::from(bps), 4);
        let rule = FlatRule { employee_rate: rate(f.employee_bps), employer_rate: rate(f.employer_bps) };
        rules = rules
            .with_flat(&f.country, rule)
            .with_context(|| format!("the flat withholding rule for {}", f.country))?;
    }
    Ok(rules)
}

/// The SHA-256 (hex) of the rule set in force: of `Tree::canonical`, one `path = value` line per
/// value of the whole effective tree (shipped and recorded, every year and jurisdiction) with its
/// table's source, in path order. The company's flat rules are company settings, not part of it.
pub fn rules_hash(rules: &Rules) -> String {
    sha256_hex(&rules.tree().canonical())
}

/// A payment the rules cannot price: every missing constant and the command that adds them.
/// Other rules errors (a bad shipped file, a flat rule) keep their own kind.
pub fn refusal(e: RulesError) -> Error {
    if e.missing().is_empty() {
        return Error::from(e);
    }
    Error::NotReady {
        field: "rules".to_owned(),
        message: format!(
            "payroll cannot run: the tax rules in force lack {} constant(s) it needs: {}. Nothing is projected or \
             taken from another year: record a rules file with these constants, each table with its `source`, using \
             `{ADD_COMMAND}` (docs/tax-rules.md#adding-a-year)",
            e.missing().len(),
            e.missing().join(", ")
        ),
    }
}

/// What `rules add` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Added {
    pub file: String,
    pub sha256: String,
    /// False when the same file is already what is in force (nothing was written).
    pub recorded: bool,
    /// The `(jurisdiction, year)` pairs the file sets values for.
    pub years: Vec<(String, i16)>,
    /// How many values it sets.
    pub values: usize,
}

impl Added {
    pub fn to_json(&self) -> Value {
        let years: Vec<String> = self.years.iter().map(|(j, y)| format!("{j}.{y}")).collect();
        json!({"file": self.file, "sha256": self.sha256, "recorded": self.recorded, "years": years,
               "values": self.values})
    }
}

/// Checks `text` (the rules file `name`) over the rules in force and records it, in one guarded
/// write: every problem refuses it with nothing written; the same file already in force is a
/// no-op.
pub fn add(
    store: &mut dyn tokencomp_store::Store,
    known: Option<&Loaded>,
    name: &str,
    text: &str,
    by: &Stamp,
) -> Result<Added> {
    let sha256 = sha256_hex(text);
    let (_, added) = record_checked(store, by, known, |l| {
        let company = l.company()?;
        let current = rules(company)?;
        let years = current.check_addition(name, text).map_err(|e| rejected(name, e))?;
        let file = read_file(name, text).map_err(|e| Error::invalid(e, name))?;
        let paths: Vec<&String> = file.values.keys().filter(|p| !p.ends_with(".source")).collect();
        let same: Vec<i64> = company.rules.iter().filter(|r| sha256_hex(&r.text) == sha256).map(|r| r.seq).collect();
        // Already in force: every value it sets is still the one this same file recorded.
        let in_force = !same.is_empty()
            && paths.iter().all(|p| {
                matches!(current.tree().placed().get(*p).map(|v| &v.origin),
                         Some(Origin::Recorded { seq, .. }) if same.contains(seq))
            });
        let out =
            Added { file: name.to_owned(), sha256: sha256.clone(), recorded: !in_force, years, values: paths.len() };
        if in_force {
            return Ok::<_, Error>((Vec::new(), out));
        }
        let id_suffix = if same.is_empty() { String::new() } else { format!(":{}", l.len) };
        let fact = Fact::RulesAdded {
            name: name.to_owned(),
            text: text.to_owned(),
            sha256: sha256.clone(),
            at: by.at.to_string(),
            id_suffix,
        };
        Ok((vec![fact], out))
    })?;
    Ok(added)
}

/// A refused rules file: every problem as a diagnostic block.
fn rejected(name: &str, e: RulesError) -> Error {
    let diagnostics: Vec<Diagnostic> = match e {
        RulesError::Invalid { problems, .. } => problems
            .into_iter()
            .map(|p| {
                let file = if p.file.is_empty() { name.to_owned() } else { p.file.clone() };
                let d = Diagnostic::new(&file, Some(p.path()), p.message.clone());
                match (p.line, p.column) {
                    (Some(l), Some(c)) => d.at(l, c),
                    _ => d,
                }
            })
            .collect(),
        RulesError::Syntax { file, line, message } => {
            let d = Diagnostic::new(&file, None, message);
            vec![match line {
                Some(l) => d.at(l, 1),
                None => d,
            }]
        }
        other => vec![Diagnostic::new(name, None, other.to_string())],
    };
    let text: String = diagnostics.iter().map(|d| format!("{d}\n")).collect();
    Error::Rejected { field: name.to_owned(), text }
}

/// One value in force and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleValue {
    pub path: String,
    /// As written (a string without its quotes).
    pub value: String,
    pub origin: Origin,
    /// The `source` of its table in the file it came from.
    pub source: String,
}

impl RuleValue {
    pub fn to_json(&self) -> Value {
        let origin = match &self.origin {
            Origin::Shipped { file, line } => json!({"kind": "shipped", "file": file, "line": line}),
            Origin::Recorded { seq, actor, at, file, line } => {
                json!({"kind": "recorded", "seq": seq, "actor": actor, "at": at, "file": file, "line": line})
            }
        };
        json!({"path": self.path, "value": self.value, "origin": origin, "source": self.source})
    }
}

/// Every value in force, in path order; `year` and `jurisdiction` narrow it.
pub fn list(company: &Company, year: Option<i16>, jurisdiction: Option<&str>) -> Result<Vec<RuleValue>> {
    let rules = rules(company)?;
    let tree = rules.tree();
    let keep = |path: &str| {
        let mut parts = path.split('.');
        let j = parts.next().unwrap_or_default();
        let y = parts.next().and_then(|y| y.parse::<i16>().ok());
        jurisdiction.is_none_or(|want| want == j) && year.is_none_or(|want| y == Some(want))
    };
    Ok(tree
        .placed()
        .iter()
        .filter(|(path, _)| keep(path))
        .map(|(path, placed)| RuleValue {
            path: path.clone(),
            value: tree.written(path).unwrap_or_default(),
            origin: placed.origin.clone(),
            source: placed.source.clone(),
        })
        .collect())
}
