//! Payroll-provider column maps: how a provider's payroll import file is laid out (which column
//! holds what, the date format, the earning type used for non-cash token income, how the
//! sell-to-cover cash reaches the provider) and how its payroll register names the tax lines we
//! reconcile against.
//!
//! The maps of the providers we ship are TOML files beside this module
//! (`crates/formats/payroll_layouts/*.toml`), each citing where its columns come from; where a
//! provider does not document its columns the shipped map says so (`documented = false`) and
//! the company edits a copy (`tokencomp payroll --layout X --write-map FILE`, then `--map FILE`).
//! A layout that can carry only cash earnings ships as a refusal (`cash_only`), never as a
//! layout. This module reads and checks the file's shape, reporting every problem with line,
//! column and field; it knows nothing of payroll rows (`tokencomp_compliance::payroll_layouts`
//! fills the columns).

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::diag::Diagnostic;

/// The providers we ship a map for, with the map's text.
pub const BUILTIN: [(&str, &str); 4] = [
    ("gusto", include_str!("../payroll_layouts/gusto.toml")),
    ("rippling", include_str!("../payroll_layouts/rippling.toml")),
    ("adp", include_str!("../payroll_layouts/adp.toml")),
    ("deel", include_str!("../payroll_layouts/deel.toml")),
];

/// What an export column holds (`field` in the file).
pub const EXPORT_FIELDS: [&str; 13] = [
    "employee_id",
    "employee_name",
    "period",
    "period_start",
    "period_end",
    "earning_type",
    "token_income",
    "cover_cash",
    "owed_from_salary",
    "cash_to_employee",
    "cash_top_up",
    "currency",
    "work_state",
];

/// The register's tax lines we reconcile (`[register]` keys besides `employee_id`).
pub const REGISTER_LINES: [&str; 7] = [
    "federal_income",
    "social_security",
    "medicare",
    "additional_medicare",
    "state_income",
    "state_contributions",
    "local_income",
];

/// How the sell-to-cover cash reaches the provider.
pub const CASH_PATHS: [&str; 3] = ["reimbursement", "deduction", "off_cycle_note"];

/// One column of the provider's import file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub header: String,
    /// One of [`EXPORT_FIELDS`], or `const:TEXT` for a fixed value (a company code, a batch id).
    pub field: String,
}

/// A provider's column map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnMap {
    pub provider: String,
    /// Where the columns come from: the provider's document and its date, or why there is none.
    pub source: String,
    /// Whether the provider documents these columns; `false`: an editable map the company
    /// checks against its own account.
    pub documented: bool,
    /// The layout carries only cash earnings: refused, for the reason in `source`.
    pub cash_only: bool,
    /// strftime-style: `%m/%d/%Y`, `%Y-%m-%d` …
    pub date_format: String,
    /// The provider's earning type for non-cash token income.
    pub non_cash_earning: String,
    /// One of [`CASH_PATHS`].
    pub cash_path: String,
    pub columns: Vec<Column>,
    /// `employee_id` and each of [`REGISTER_LINES`] → the register's column header.
    pub register: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumn {
    header: Spanned<String>,
    field: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMap {
    provider: String,
    source: String,
    #[serde(default = "yes")]
    documented: bool,
    #[serde(default)]
    cash_only: bool,
    #[serde(default)]
    date_format: Option<Spanned<String>>,
    #[serde(default)]
    non_cash_earning: Option<String>,
    #[serde(default)]
    cash_path: Option<Spanned<String>>,
    #[serde(default)]
    column: Vec<RawColumn>,
    #[serde(default)]
    register: BTreeMap<Spanned<String>, Spanned<String>>,
}

fn yes() -> bool {
    true
}

/// The shipped map of `provider`, as text.
pub fn builtin(provider: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(p, _)| *p == provider).map(|(_, t)| *t)
}

/// Reads a column map; `file` names it in the diagnostics.
pub fn read(file: &str, text: &str) -> Result<ColumnMap, Vec<Diagnostic>> {
    let raw: RawMap = toml::from_str(text).map_err(|e| {
        let d = Diagnostic::new(file, None, e.message().trim().to_owned());
        vec![match e.span() {
            Some(s) => d.at_offset(text, s.start),
            None => d,
        }]
    })?;
    let mut problems = Vec::new();
    let mut bad = |field: String, at: usize, message: String| {
        problems.push(Diagnostic::new(file, Some(field), message).at_offset(text, at));
    };
    let date_format = raw.date_format.map(|d| {
        let at = d.span().start;
        let f = d.into_inner();
        let probe = jiff::civil::date(2026, 1, 31).strftime(&f).to_string();
        if !["%Y", "%m", "%d"].iter().all(|x| f.contains(x)) || probe.is_empty() {
            bad("date_format".into(), at, format!("`{f}` must hold %Y, %m and %d"));
        }
        f
    });
    let cash_path = raw.cash_path.map(|c| {
        let at = c.span().start;
        let c = c.into_inner();
        if !CASH_PATHS.contains(&c.as_str()) {
            bad("cash_path".into(), at, format!("`{c}` is not one of {}", CASH_PATHS.join(", ")));
        }
        c
    });
    let mut columns = Vec::new();
    for (i, c) in raw.column.into_iter().enumerate() {
        let (header_at, field_at) = (c.header.span().start, c.field.span().start);
        let (header, field) = (c.header.into_inner(), c.field.into_inner());
        if header.trim().is_empty() {
            bad(format!("column[{i}].header"), header_at, "a column needs a header".into());
        }
        match field.strip_prefix("const:") {
            Some(value) if value.trim().is_empty() => bad(
                format!("column[{i}].field"),
                field_at,
                format!("`{header}` is a fixed value the company must fill in (`const:` followed by it)"),
            ),
            Some(_) => {}
            None if !EXPORT_FIELDS.contains(&field.as_str()) => bad(
                format!("column[{i}].field"),
                field_at,
                format!("`{field}` is not one of {} (or const:TEXT)", EXPORT_FIELDS.join(", ")),
            ),
            None => {}
        }
        columns.push(Column { header, field });
    }
    let mut register = BTreeMap::new();
    for (k, v) in raw.register {
        let at = k.span().start;
        let (k, v) = (k.into_inner(), v.into_inner());
        if k != "employee_id" && !REGISTER_LINES.contains(&k.as_str()) {
            bad(
                format!("register.{k}"),
                at,
                format!("`{k}` is not employee_id or one of {}", REGISTER_LINES.join(", ")),
            );
        }
        register.insert(k, v);
    }
    if !raw.cash_only {
        let missing: Vec<&str> = [
            ("date_format", date_format.is_none()),
            ("non_cash_earning", raw.non_cash_earning.as_deref().is_none_or(str::is_empty)),
            ("cash_path", cash_path.is_none()),
            ("column", columns.is_empty()),
            ("register.employee_id", !register.contains_key("employee_id")),
        ]
        .into_iter()
        .filter(|x| x.1)
        .map(|x| x.0)
        .collect();
        for m in missing {
            problems.push(Diagnostic::new(file, Some(m.to_owned()), format!("`{m}` is required")));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(ColumnMap {
        provider: raw.provider,
        source: raw.source,
        documented: raw.documented,
        cash_only: raw.cash_only,
        date_format: date_format.unwrap_or_default(),
        non_cash_earning: raw.non_cash_earning.unwrap_or_default(),
        cash_path: cash_path.unwrap_or_default(),
        columns,
        register,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_map_reads() {
        for (provider, text) in BUILTIN.iter().filter(|(p, _)| *p != "adp") {
            let map = read(provider, text).unwrap_or_else(|e| panic!("{provider}: {e:?}"));
            assert_eq!(&map.provider, provider);
            assert!(!map.source.is_empty(), "{provider}");
        }
        assert!(read("gusto", BUILTIN[0].1).expect("gusto").cash_only);
        // ADP's codes are the company's own: the shipped map names each one to fill in.
        let problems = read("adp", builtin("adp").expect("adp")).expect_err("codes to fill");
        let fields: Vec<_> = problems.iter().filter_map(|d| d.location.field.as_deref()).collect();
        assert_eq!(fields, ["column[0].field", "column[1].field", "column[3].field", "column[5].field"]);
        let filled = builtin("adp").expect("adp").replacen("field = \"const:\"", "field = \"const:X\"", 4);
        assert!(read("adp", &filled).is_ok());
    }

    #[test]
    fn problems_are_reported_together_with_their_place() {
        let text = "provider = \"x\"\nsource = \"s\"\ndate_format = \"%Y\"\nnon_cash_earning = \"Imputed\"\ncash_path = \"wire\"\n[[column]]\nheader = \"Co Code\"\nfield = \"const:\"\n[[column]]\nheader = \"Pay\"\nfield = \"salary\"\n[register]\nemployee_id = \"ID\"\n";
        let shown: Vec<String> =
            read("m.toml", text).expect_err("four problems").iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "error: `%Y` must hold %Y, %m and %d\n  --> m.toml:3:15 (date_format)",
                "error: `wire` is not one of reimbursement, deduction, off_cycle_note\n  --> m.toml:5:13 (cash_path)",
                "error: `Co Code` is a fixed value the company must fill in (`const:` followed by it)\n  --> m.toml:8:9 (column[0].field)",
                "error: `salary` is not one of employee_id, employee_name, period, period_start, period_end, earning_type, token_income, cover_cash, owed_from_salary, cash_to_employee, cash_top_up, currency, work_state (or const:TEXT)\n  --> m.toml:11:9 (column[1].field)",
            ]
        );
    }
}
