//! US state and local withholding as data: each state's income-tax method for supplemental
//! wages, the employee-paid state payroll contributions (disability, paid leave, unemployment,
//! long-term care, transit), local income taxes (NYC, Yonkers) and the reciprocity agreements,
//! read from `crates/formats/rules/us-states.toml` and applied to one payment.
//!
//! The file is read here with [`tokencomp_formats::rule_node::At`], which names every missing or
//! invalid constant by its dotted path: a year or state that is not shipped is refused naming
//! it, never filled from another year or a default. [`load`] is a plain function of the file's
//! text, so a loader that assembles several rules files can call it.
//!
//! The computation ([`compute`]) is pure: no IO, no clock. This module depends on no other
//! module of the crate; `withholding` maps its lines to tax lines.

pub mod compute;

use std::collections::BTreeMap;

use tokencomp_core::tax_profile::FilingStatus;
use tokencomp_formats::rule_node::{At, Problems};
use tokencomp_money::Decimal;

pub use compute::{LineKind, StateError, StateLine, StatePayment, state_lines};

/// A rule's source text, shared by every line computed from it (the same type as
/// `rules::Source`, named here so this module does not depend on the rules table).
pub type Source = std::sync::Arc<str>;

/// The shipped file's name (for messages) and text.
pub const BUILTIN_FILE: &str = "rules/us-states.toml";

/// How a state withholds income tax on supplemental wages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IncomeMethod {
    /// The state has no income tax on wages (`method = "none"`).
    None,
    /// A flat percentage of the supplemental payment (`method = "flat"`).
    Flat { rate: Decimal },
    /// A percentage the employee elects from a fixed list, with a default when no certificate
    /// is on file (Arizona Form A-4, `method = "elected"`).
    Elected { default_rate: Decimal, allowed: Vec<Decimal> },
    /// A share of the federal income tax withheld on the same payment (Vermont: 30%,
    /// `method = "federal_share"`).
    FederalShare { share: Decimal },
    /// The state's annualised percentage method, applied to the payment by the aggregate rule
    /// (`method = "percentage"`; see [`compute`]).
    Percentage(Box<Percentage>),
}

/// One bracket of an annual schedule: `rate` on the taxable income above `over` (up to the
/// next bracket's `over`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bracket {
    pub over: Decimal,
    pub rate: Decimal,
}

/// An annual tax schedule (a state's "rate table"), with the standard deduction it takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// The table's key in the file (`A`, `single`, …).
    pub name: String,
    pub standard_deduction: Decimal,
    /// Ascending by `over`, the first at 0.
    pub brackets: Vec<Bracket>,
}

/// The constants of an annualised percentage method: the schedule each filing status uses,
/// how the certificate's exemptions reduce the annual wages, and the filing status to assume
/// when no certificate is on file (with no exemption).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Percentage {
    pub schedules: Vec<(FilingStatus, Schedule)>,
    pub exemption: Exemption,
    pub default_status: FilingStatus,
    /// An annual tax credit per allowance claimed, subtracted from the annual tax (never below
    /// zero) where the state's formula takes one (`credit = "110"`, e.g. Delaware's credit per
    /// personal exemption); `None` where the formula has none.
    pub credit: Option<Decimal>,
}

/// How a certificate's exemptions reduce the annualised wages before the schedule applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exemption {
    /// A fixed annual amount per allowance claimed (`allowance = "1000"`, e.g. New Jersey).
    PerAllowance(Decimal),
    /// The dollar amount the certificate itself states (`exemption = "certificate_amount"`,
    /// the profile's `dependents_amount`; e.g. Mississippi Form 89-350, item 6), none when
    /// nothing is on file.
    CertificateAmount,
}

impl Percentage {
    pub fn schedule(&self, status: FilingStatus) -> &Schedule {
        // Every status is present: the loader reports a missing one.
        let found = self.schedules.iter().find(|(s, _)| *s == status);
        &found.unwrap_or(&self.schedules[0]).1
    }
}

/// Where a state's guide prescribes rounding the withheld amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateRounding {
    /// To the cent, once per tax line (the project's named point).
    Cent,
    /// To the nearest whole dollar, as the guide requires (`rounding = "dollar"`).
    Dollar,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateIncome {
    pub method: IncomeMethod,
    pub rounding: StateRounding,
    /// The state adds a county income tax to its own (Indiana, Maryland: `county_tax =
    /// "required"`): the person's `locality` names the county, whose rate is in the state's
    /// `county` table; a missing locality or county is refused by name.
    pub county_required: bool,
    pub source: Source,
}

/// A county income tax rate, withheld on the payment with the state's own tax.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct County {
    pub rate: Decimal,
    pub source: Source,
}

/// What an employee-paid state programme funds; each maps to one withholding kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProgrammeKind {
    /// Disability insurance (CA SDI, NJ DI, RI TDI).
    Disability,
    /// Paid family and/or medical leave (NY PFL, NJ FLI, WA, MA, CO, OR, CT, DE, MN, ME, MD).
    PaidLeave,
    /// The employee's share of unemployment insurance (NJ UI/WF/SWF, AK, PA).
    UnemploymentEmployee,
    /// Long-term care (WA Cares).
    LongTermCare,
    /// A statewide transit tax (Oregon).
    Transit,
}

impl ProgrammeKind {
    pub const ALL: [ProgrammeKind; 5] = [
        ProgrammeKind::Disability,
        ProgrammeKind::PaidLeave,
        ProgrammeKind::UnemploymentEmployee,
        ProgrammeKind::LongTermCare,
        ProgrammeKind::Transit,
    ];

    /// The `kind` value in the rules file.
    pub fn name(self) -> &'static str {
        match self {
            ProgrammeKind::Disability => "disability",
            ProgrammeKind::PaidLeave => "paid_leave",
            ProgrammeKind::UnemploymentEmployee => "unemployment_employee",
            ProgrammeKind::LongTermCare => "long_term_care",
            ProgrammeKind::Transit => "transit",
        }
    }

    pub fn from_name(name: &str) -> Option<ProgrammeKind> {
        ProgrammeKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// One employee-paid contribution in force: `employee_rate` of the wages of the calendar year
/// up to `wage_base` (none: every wage).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Programme {
    /// The table's key (`sdi`, `pfml`, `ui_wf_swf`, …), for messages and documentation.
    pub key: String,
    pub kind: ProgrammeKind,
    /// The whole premium rate (employer and employee together).
    pub rate: Decimal,
    /// The part of `rate` the employee bears (a fraction, 1 = all of it).
    pub employee_share: Decimal,
    pub wage_base: Option<Decimal>,
    pub source: Source,
}

impl Programme {
    /// `rate × employee_share`, exact.
    pub fn employee_rate(&self) -> Decimal {
        self.rate * self.employee_share
    }
}

/// A state's rules for one calendar year.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    /// `None`: the file ships this state's contributions but not its income-tax method yet,
    /// so a payment in the state is refused naming the missing table.
    pub income: Option<StateIncome>,
    /// Income-tax methods that replace `income` for payments made on or after a date of the
    /// same year (`[us.<year>.state.<XX>.income_from.<YYYY-MM-DD>]`), in date order: states
    /// change withholding mid-year (Georgia and West Virginia in 2026, Idaho in July 2025).
    pub income_from: Vec<(jiff::civil::Date, StateIncome)>,
    /// Contributions in force this year, in key order.
    pub programmes: Vec<Programme>,
    /// Programmes the file records as not in force this year (`in_force = "no"`), by key.
    pub not_in_force: Vec<String>,
    /// County rates by the county's name as the profile's `locality` writes it (upper case).
    pub counties: BTreeMap<String, County>,
}

/// A local income tax on supplemental wages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LocalMethod {
    /// A flat rate of the payment (NYC residents' supplemental rate; Yonkers nonresidents).
    Flat { rate: Decimal },
    /// A surcharge on the state income tax withheld on the payment (Yonkers residents).
    StateSurcharge { rate: Decimal, state: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Local {
    pub method: LocalMethod,
    pub source: Source,
}

/// A reciprocity agreement: a resident of `residence` working in `work` is withheld for the
/// residence state instead of the work state (on the residence state's certificate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reciprocity {
    pub work: String,
    pub residence: String,
    pub source: Source,
}

/// Everything the file ships for one calendar year.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateYear {
    pub year: i16,
    /// Keyed by the two-letter postal code (`DC` included).
    pub states: BTreeMap<String, State>,
    /// Keyed by the locality name as the profile writes it (`NYC`, `YONKERS`, …).
    pub locals: BTreeMap<String, Local>,
    pub reciprocity: Vec<Reciprocity>,
}

impl State {
    /// The income-tax method in force for a payment made on `paid`: the latest change on or
    /// before it, else the year's `income`.
    pub fn income_on(&self, paid: jiff::civil::Date) -> Option<&StateIncome> {
        self.income_from.iter().rev().find(|(from, _)| *from <= paid).map(|(_, income)| income).or(self.income.as_ref())
    }
}

impl StateYear {
    /// The agreement covering a resident of `residence` working in `work`, if any.
    pub fn agreement(&self, work: &str, residence: &str) -> Option<&Reciprocity> {
        self.reciprocity.iter().find(|r| r.work == work && r.residence == residence)
    }
}

/// The whole file, by calendar year.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsStateRules {
    pub years: BTreeMap<i16, StateYear>,
}

impl UsStateRules {
    pub fn year(&self, year: i16) -> Option<&StateYear> {
        self.years.get(&year)
    }
}

/// The file could not be read: a TOML syntax error, or every constant that is missing or
/// invalid, each by its dotted path.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("{file}: not valid TOML: {message}")]
    Syntax { file: String, message: String },
    #[error("{file}: {} problem(s) in the US state rules:{}", .problems.0.len(), list(.problems))]
    Invalid { file: String, problems: Problems },
}

fn list(problems: &Problems) -> String {
    let mut out = String::new();
    for p in &problems.0 {
        out.push_str("\n  ");
        out.push_str(&p.path);
        match &p.kind {
            tokencomp_formats::rule_node::ProblemKind::Missing => out.push_str(": missing"),
            tokencomp_formats::rule_node::ProblemKind::Invalid(why) => {
                out.push_str(": ");
                out.push_str(why);
            }
        }
    }
    out
}

/// Reads a file in the shape of `us-states.toml` (`[us.<year>.state.<XX>.income]`,
/// `[us.<year>.state.<XX>.<programme>]`, `[us.<year>.local.<NAME>]`,
/// `[[us.<year>.reciprocity]]`); every problem is reported at once.
pub fn load(file: &str, text: &str) -> Result<UsStateRules, LoadError> {
    let table: toml::Table =
        toml::from_str(text).map_err(|e| LoadError::Syntax { file: file.to_owned(), message: e.to_string() })?;
    from_table(file, &table)
}

/// Reads the state years of a rules tree: a year is this file's when one of its states has a
/// table of its own (`income`, a programme) or it has `local` or `reciprocity`; a year whose
/// states are only the flat `rate` entries of `tax.toml` is left to `rules`.
pub fn from_table(file: &str, table: &toml::Table) -> Result<UsStateRules, LoadError> {
    let mut problems = Problems::default();
    let root = At::root("", Some(table));
    let us = root.child("us", &mut problems);
    let mut years = BTreeMap::new();
    for key in us.table_keys() {
        let node = us.child(key, &mut problems);
        if !is_state_year(&node) {
            continue;
        }
        match key.parse::<i16>().ok().filter(|y| (1000..=9998).contains(y)) {
            Some(year) => {
                years.insert(year, read_year(year, &node, &mut problems));
            }
            None => problems.push_invalid(node.path().to_owned(), "a year is four digits, such as 2026"),
        }
    }
    if problems.is_empty() {
        Ok(UsStateRules { years })
    } else {
        Err(LoadError::Invalid { file: file.to_owned(), problems })
    }
}

/// Whether a `[us.<year>]` table holds this file's shape (see [`from_table`]).
pub fn is_state_year(year: &At<'_>) -> bool {
    let Some(t) = year.table() else { return false };
    if t.contains_key("local") || t.contains_key("reciprocity") {
        return true;
    }
    let Some(toml::Value::Table(states)) = t.get("state") else { return false };
    states.values().any(|s| s.as_table().is_some_and(|s| s.values().any(toml::Value::is_table)))
}

fn source(node: &At<'_>, problems: &mut Problems) -> Source {
    Source::from(node.source(problems))
}

fn read_year(year: i16, node: &At<'_>, problems: &mut Problems) -> StateYear {
    let mut states = BTreeMap::new();
    let state_node = node.child("state", problems);
    for code in state_node.table_keys() {
        let s = state_node.child(code, problems);
        let valid = code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase());
        if !valid {
            problems.push_invalid(s.path().to_owned(), "a state is its two-letter postal code in capitals, such as NJ");
            continue;
        }
        states.insert(code.to_owned(), read_state(year, &s, problems));
    }
    let mut locals = BTreeMap::new();
    let local_node = node.child("local", problems);
    for name in local_node.table_keys() {
        let l = local_node.child(name, problems);
        locals.insert(name.to_owned(), read_local(&l, problems));
    }
    let mut reciprocity = Vec::new();
    if node.has("reciprocity") {
        for r in node.array("reciprocity", problems) {
            let work = r.text("work", problems);
            let residence = r.text("residence", problems);
            let src = source(&r, problems);
            reciprocity.push(Reciprocity { work, residence, source: src });
        }
    }
    StateYear { year, states, locals, reciprocity }
}

fn read_state(year: i16, node: &At<'_>, problems: &mut Problems) -> State {
    // A state's constants live in its tables (`income`, the programmes, `county`); a value
    // written on the state itself (a flat `rate` of the old shape) would be ignored, so it is
    // refused.
    for key in node.value_keys() {
        if key != "source" {
            problems.push_invalid(
                format!("{}.{key}", node.path()),
                "a state's constants go in its tables: [….income] (method, rate, …) or a programme's",
            );
        }
    }
    let income_node = node.child("income", problems);
    let income = income_node.exists().then(|| read_income(&income_node, problems));
    let mut income_from = Vec::new();
    let from_node = node.child("income_from", problems);
    for key in from_node.table_keys() {
        let change = from_node.child(key, problems);
        match key.parse::<jiff::civil::Date>() {
            Ok(date) if date.year() == year => income_from.push((date, read_income(&change, problems))),
            _ => problems.push_invalid(
                change.path().to_owned(),
                format!("a change of method is keyed by the date it takes effect, in {year}, written YYYY-MM-DD"),
            ),
        }
    }
    income_from.sort_by_key(|(date, _)| *date);
    let mut programmes = Vec::new();
    let mut not_in_force = Vec::new();
    let mut counties = BTreeMap::new();
    let county_node = node.child("county", problems);
    for name in county_node.table_keys() {
        let c = county_node.child(name, problems);
        let rate = c.percent("rate", problems);
        counties.insert(name.to_owned(), County { rate, source: source(&c, problems) });
    }
    for key in node.table_keys() {
        if key == "income" || key == "income_from" || key == "county" {
            continue;
        }
        let p = node.child(key, problems);
        match p.text("in_force", problems).as_str() {
            "no" => {
                let _ = p.source(problems);
                not_in_force.push(key.to_owned());
            }
            "yes" => {
                if let Some(programme) = read_programme(key, &p, problems) {
                    programmes.push(programme);
                }
            }
            other => problems.push_invalid(format!("{}.in_force", p.path()), format!("{other:?} is not yes or no")),
        }
    }
    State { income, income_from, programmes, not_in_force, counties }
}

fn read_income(node: &At<'_>, problems: &mut Problems) -> StateIncome {
    let method_name = node.text("method", problems);
    let method = match method_name.as_str() {
        "none" => IncomeMethod::None,
        "flat" => IncomeMethod::Flat { rate: node.percent("rate", problems) },
        "elected" => {
            let default_rate = node.percent("default_rate", problems);
            let mut allowed = Vec::new();
            match node.table().and_then(|t| t.get("allowed_rates")) {
                Some(toml::Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        match item.as_str().and_then(tokencomp_formats::rule_node::parse_percent) {
                            Some(r) => allowed.push(r),
                            None => problems.push_invalid(
                                format!("{}.allowed_rates[{i}]", node.path()),
                                "each allowed rate is a percent string such as \"2.0%\"",
                            ),
                        }
                    }
                }
                Some(_) => problems.push_invalid(
                    format!("{}.allowed_rates", node.path()),
                    "a list of percent strings such as [\"2.0%\"]",
                ),
                None => problems.push_missing(format!("{}.allowed_rates", node.path())),
            }
            IncomeMethod::Elected { default_rate, allowed }
        }
        "federal_share" => IncomeMethod::FederalShare { share: node.percent("share", problems) },
        "percentage" => IncomeMethod::Percentage(Box::new(read_percentage(node, problems))),
        "" => IncomeMethod::None,
        other => {
            problems.push_invalid(
                format!("{}.method", node.path()),
                format!(
                    "{other:?} is not a method this version computes (none, flat, elected, federal_share, percentage)"
                ),
            );
            IncomeMethod::None
        }
    };
    let rounding = match node.opt_text("rounding", problems).as_deref() {
        None | Some("cent") => StateRounding::Cent,
        Some("dollar") => StateRounding::Dollar,
        Some(other) => {
            problems.push_invalid(format!("{}.rounding", node.path()), format!("{other:?} is not cent or dollar"));
            StateRounding::Cent
        }
    };
    let county_required = match node.opt_text("county_tax", problems).as_deref() {
        None => false,
        Some("required") => true,
        Some(other) => {
            problems.push_invalid(format!("{}.county_tax", node.path()), format!("{other:?} is not \"required\""));
            false
        }
    };
    StateIncome { method, rounding, county_required, source: source(node, problems) }
}

fn filing_status(node: &At<'_>, key: &str, problems: &mut Problems) -> FilingStatus {
    let name = node.text(key, problems);
    FilingStatus::from_name(&name).unwrap_or_else(|| {
        if !name.is_empty() {
            let names: Vec<_> = FilingStatus::ALL.iter().map(|s| s.as_str()).collect();
            problems
                .push_invalid(format!("{}.{key}", node.path()), format!("{name:?} is not one of {}", names.join(", ")));
        }
        FilingStatus::Single
    })
}

/// `[….income]` with `allowance` (or `exemption = "certificate_amount"`), `default_status`, a
/// `filing_status` table naming the schedule of each status, and `schedules.<name>` with
/// `standard_deduction`, `source` and `[[brackets]]` (`over`, `rate`), ascending from 0; and,
/// where the formula takes one, `credit` (an annual tax credit per allowance claimed).
fn read_percentage(node: &At<'_>, problems: &mut Problems) -> Percentage {
    let credit = node.opt_amount("credit", problems);
    let exemption = match node.opt_text("exemption", problems).as_deref() {
        None => Exemption::PerAllowance(node.amount("allowance", problems)),
        Some("certificate_amount") => {
            if node.has("allowance") {
                problems.push_invalid(
                    format!("{}.allowance", node.path()),
                    "a state whose certificate states its exemption amount has no per-allowance amount",
                );
            }
            Exemption::CertificateAmount
        }
        Some(other) => {
            problems.push_invalid(
                format!("{}.exemption", node.path()),
                format!("{other:?} is not \"certificate_amount\" (leave it out for `allowance`)"),
            );
            Exemption::PerAllowance(Decimal::ZERO)
        }
    };
    let default_status = filing_status(node, "default_status", problems);
    let by_status = node.child("filing_status", problems);
    let schedules_node = node.child("schedules", problems);
    let mut schedules = Vec::new();
    for status in FilingStatus::ALL {
        let name = by_status.text(status.as_str(), problems);
        if name.is_empty() {
            continue;
        }
        if !schedules_node.has(&name) {
            problems.push_missing(format!("{}.{name}", schedules_node.path()));
            continue;
        }
        let s = schedules_node.child(&name, problems);
        let standard_deduction = s.amount("standard_deduction", problems);
        let _ = s.source(problems);
        let mut brackets = Vec::new();
        for b in s.array("brackets", problems) {
            let over = b.amount("over", problems);
            let rate = b.percent("rate", problems);
            let ascending = brackets.last().is_none_or(|prev: &Bracket| prev.over < over);
            let first_at_zero = !brackets.is_empty() || over.is_zero();
            if !ascending || !first_at_zero {
                problems.push_invalid(format!("{}.over", b.path()), "brackets ascend by `over`, the first at \"0\"");
            }
            brackets.push(Bracket { over, rate });
        }
        schedules.push((status, Schedule { name, standard_deduction, brackets }));
    }
    if schedules.is_empty() {
        // Keep `Percentage::schedule` total even for a file with problems (never returned).
        schedules.push((
            FilingStatus::Single,
            Schedule { name: String::new(), standard_deduction: Decimal::ZERO, brackets: Vec::new() },
        ));
    }
    Percentage { schedules, exemption, default_status, credit }
}

fn read_programme(key: &str, node: &At<'_>, problems: &mut Problems) -> Option<Programme> {
    let kind_name = node.text("kind", problems);
    let kind = ProgrammeKind::from_name(&kind_name);
    if kind.is_none() && !kind_name.is_empty() {
        let names: Vec<_> = ProgrammeKind::ALL.iter().map(|k| k.name()).collect();
        problems
            .push_invalid(format!("{}.kind", node.path()), format!("{kind_name:?} is not one of {}", names.join(", ")));
    }
    // Either the whole rate and the employee's share of it, or (where the authority publishes
    // the employee's own rate, e.g. Massachusetts) `employee_rate` alone.
    let (rate, employee_share) = if node.has("employee_rate") {
        (node.percent("employee_rate", problems), Decimal::ONE)
    } else {
        (node.percent("rate", problems), node.percent("employee_share", problems))
    };
    let wage_base = match node.table().and_then(|t| t.get("wage_base")) {
        Some(toml::Value::String(s)) if s == "none" => None,
        _ => Some(node.amount("wage_base", problems)),
    };
    let src = source(node, problems);
    kind.map(|kind| Programme { key: key.to_owned(), kind, rate, employee_share, wage_base, source: src })
}

fn read_local(node: &At<'_>, problems: &mut Problems) -> Local {
    let method = match node.text("method", problems).as_str() {
        "flat" => LocalMethod::Flat { rate: node.percent("rate", problems) },
        "state_surcharge" => {
            LocalMethod::StateSurcharge { rate: node.percent("rate", problems), state: node.text("state", problems) }
        }
        other => {
            problems
                .push_invalid(format!("{}.method", node.path()), format!("{other:?} is not flat or state_surcharge"));
            LocalMethod::Flat { rate: Decimal::ZERO }
        }
    };
    Local { method, source: source(node, problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_reads_without_problems() {
        let rules = load(BUILTIN_FILE, include_str!("../../../formats/rules/us-states.toml"))
            .expect("the shipped file is valid");
        assert!(rules.year(2026).is_some());
    }

    #[test]
    fn a_credit_per_allowance_is_read_and_an_invalid_one_named_by_path() {
        let table = |credit: &str| {
            format!(
                r#"
[us.2026.state.ZZ.income]
method = "percentage"
allowance = "0"
default_status = "single"
{credit}
source = "x"

[us.2026.state.ZZ.income.filing_status]
single = "s"
married_joint = "s"
married_separate = "s"
head_of_household = "s"

[us.2026.state.ZZ.income.schedules.s]
standard_deduction = "0"
source = "y"

[[us.2026.state.ZZ.income.schedules.s.brackets]]
over = "0"
rate = "1%"
"#
            )
        };
        let method = |rules: &UsStateRules| {
            let income = rules.year(2026).and_then(|y| y.states.get("ZZ")).and_then(|s| s.income.clone());
            match income.map(|i| i.method) {
                Some(IncomeMethod::Percentage(p)) => p.credit,
                other => panic!("not a percentage method: {other:?}"),
            }
        };
        let with = load("t.toml", &table(r#"credit = "110""#)).expect("valid");
        assert_eq!(method(&with), Some(Decimal::from(110)));
        let without = load("t.toml", &table("")).expect("valid");
        assert_eq!(method(&without), None);
        let err = load("t.toml", &table(r#"credit = "ten""#)).expect_err("invalid").to_string();
        assert!(err.contains("us.2026.state.ZZ.income.credit"), "{err}");
    }

    #[test]
    fn every_problem_is_named_by_path() {
        let text = r#"
[us.2026.state.ZZ.income]
method = "flat"
source = "x"

[us.2026.state.ZZ.sdi]
in_force = "yes"
kind = "disability"
rate = "1.3"
source = "y"

[us.2026.state.Ca.income]
method = "none"
source = "z"
"#;
        let err = load("t.toml", text).expect_err("invalid");
        let LoadError::Invalid { problems, .. } = err else { panic!("not a syntax error") };
        let paths: Vec<_> = problems.0.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"us.2026.state.ZZ.income.rate"), "{paths:?}");
        assert!(paths.contains(&"us.2026.state.ZZ.sdi.rate"), "{paths:?}");
        assert!(paths.contains(&"us.2026.state.ZZ.sdi.employee_share"), "{paths:?}");
        assert!(paths.contains(&"us.2026.state.ZZ.sdi.wage_base"), "{paths:?}");
        assert!(paths.contains(&"us.2026.state.Ca"), "{paths:?}");
    }
}
