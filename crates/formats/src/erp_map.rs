//! The chart-of-accounts mapping file a company keeps for its ERP journal imports: for each ERP
//! (QuickBooks Online, Xero, NetSuite), our account → the ERP's account (a name for QuickBooks
//! Online and NetSuite, a code for Xero), plus the few per-ERP settings the import layouts need.
//!
//! ```toml
//! [quickbooks.accounts]
//! "Expenses:PayrollTaxes" = "Payroll Expenses:Taxes"
//!
//! [xero]
//! tax_rate = "Tax Exempt"          # the tax rate's name as Xero's tax settings show it
//! [xero.accounts]
//! "Expenses:PayrollTaxes" = "477"
//!
//! [netsuite]
//! subsidiary = "Parent Company"    # OneWorld accounts only; leave out otherwise
//! [netsuite.accounts]
//! "Expenses:PayrollTaxes" = "6100 Payroll Taxes"
//! ```
//!
//! An empty value (`""`, as [`starter`] writes it) means "not mapped yet". This module only reads
//! and writes the file: which accounts a journal needs, and whether they are all mapped, is the
//! writer's business (`tokencomp_compliance::erp`). Every problem of the file is reported at
//! once with line, column and field (docs/exports.md).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;
use toml::Spanned;

use crate::diag::Diagnostic;

/// The ERPs whose journal imports we write, by the key their table has in the file.
pub const ERPS: [&str; 3] = ["quickbooks", "xero", "netsuite"];

/// One ERP's part of the file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErpAccounts {
    /// Our account → the ERP's account; an empty value is unmapped.
    pub accounts: BTreeMap<String, String>,
    /// Xero: the tax rate's name for every line (the import requires one).
    pub tax_rate: Option<String>,
    /// NetSuite OneWorld: the subsidiary every entry belongs to.
    pub subsidiary: Option<String>,
}

/// The whole file: the ERPs it has a table for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountMap {
    pub erps: BTreeMap<String, ErpAccounts>,
}

impl AccountMap {
    pub fn erp(&self, key: &str) -> Option<&ErpAccounts> {
        self.erps.get(key)
    }
}

#[derive(Deserialize, Default)]
struct RawErp {
    #[serde(default)]
    accounts: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    tax_rate: Option<Spanned<toml::Value>>,
    subsidiary: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
struct RawFile {
    quickbooks: Option<RawErp>,
    xero: Option<RawErp>,
    netsuite: Option<RawErp>,
}

/// The settings an ERP's table may hold besides `accounts`.
const SETTINGS: [(&str, &str); 2] = [("xero", "tax_rate"), ("netsuite", "subsidiary")];

/// Reads the mapping file; `file` names it in the diagnostics.
pub fn read(file: &str, text: &str) -> Result<AccountMap, Vec<Diagnostic>> {
    let syntax = |e: toml::de::Error| {
        let d = Diagnostic::new(file, None, e.message().trim().to_owned());
        vec![match e.span() {
            Some(s) => d.at_offset(text, s.start),
            None => d,
        }]
    };
    // First the shape: which tables and keys there are (values are checked below, with spans).
    let top: BTreeMap<Spanned<String>, Spanned<toml::Value>> = toml::from_str(text).map_err(syntax)?;
    let mut problems = Vec::new();
    for (key, value) in &top {
        let name = key.get_ref();
        if !ERPS.contains(&name.as_str()) {
            let message = format!("unknown table `{name}`: the file has tables quickbooks, xero and netsuite");
            problems.push(Diagnostic::new(file, Some(name.clone()), message).at_offset(text, key.span().start));
            continue;
        }
        let Some(table) = value.get_ref().as_table() else {
            let message = format!("`{name}` must be a table with `accounts`");
            problems.push(Diagnostic::new(file, Some(name.clone()), message).at_offset(text, value.span().start));
            continue;
        };
        for (k, v) in table {
            let allowed = k == "accounts" || SETTINGS.contains(&(name.as_str(), k.as_str()));
            let field = format!("{name}.{k}");
            if !allowed {
                let message = format!("unknown key `{k}` in [{name}]");
                problems.push(Diagnostic::new(file, Some(field), message).at_offset(text, value.span().start));
            } else if k == "accounts" && !v.is_table() {
                let message = "`accounts` must be a table: our account = the ERP's account".to_owned();
                problems.push(Diagnostic::new(file, Some(field), message).at_offset(text, value.span().start));
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let raw: RawFile = toml::from_str(text).map_err(syntax)?;
    let mut map = AccountMap::default();
    for (key, erp) in [("quickbooks", raw.quickbooks), ("xero", raw.xero), ("netsuite", raw.netsuite)] {
        let Some(raw) = erp else { continue };
        let mut text_of = |field: String, v: Spanned<toml::Value>| -> Option<String> {
            let at = v.span().start;
            match v.into_inner() {
                toml::Value::String(s) => Some(s.trim().to_owned()),
                other => {
                    let message = format!("expected a string, found {}", other.type_str());
                    problems.push(Diagnostic::new(file, Some(field), message).at_offset(text, at));
                    None
                }
            }
        };
        let mut erp = ErpAccounts::default();
        for (ours, theirs) in raw.accounts {
            let ours = ours.into_inner();
            if let Some(t) = text_of(format!("{key}.accounts.\"{ours}\""), theirs) {
                erp.accounts.insert(ours, t);
            }
        }
        erp.tax_rate = raw.tax_rate.and_then(|v| text_of(format!("{key}.tax_rate"), v));
        erp.subsidiary = raw.subsidiary.and_then(|v| text_of(format!("{key}.subsidiary"), v));
        map.erps.insert(key.to_owned(), erp);
    }
    if problems.is_empty() { Ok(map) } else { Err(problems) }
}

/// A TOML basic string.
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A starter file listing `accounts` (ours, as a journal uses them) unmapped under every ERP,
/// for the company to fill in; [`read`] reads it back as written.
pub fn starter(accounts: &[&str]) -> String {
    let mut out = String::new();
    out.push_str("# tokencomp chart-of-accounts mapping (docs/exports.md): our account = the ERP's account.\n");
    out.push_str("# QuickBooks Online: the account's full name (Parent:Sub). Xero: the account code.\n");
    out.push_str("# NetSuite: the account's name, or number and name when account numbers are on.\n");
    out.push_str("# An empty value is unmapped; an export naming an unmapped account is refused.\n");
    for erp in ERPS {
        out.push('\n');
        match erp {
            "xero" => {
                out.push_str(
                    "[xero]\n# The tax rate's name as Xero's tax settings show it (required by the import).\n",
                );
                out.push_str("tax_rate = \"\"\n\n");
            }
            "netsuite" => {
                out.push_str("[netsuite]\n# OneWorld accounts: the subsidiary every entry belongs to.\n");
                out.push_str("# subsidiary = \"\"\n\n");
            }
            _ => {}
        }
        let _ = writeln!(out, "[{erp}.accounts]");
        for account in accounts {
            let _ = writeln!(out, "{} = \"\"", quoted(account));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_accounts_and_settings() {
        let text = "[quickbooks.accounts]\n\"Expenses:PayrollTaxes\" = \"Payroll Expenses:Taxes\"\n\n[xero]\ntax_rate = \"Tax Exempt\"\n[xero.accounts]\n\"Expenses:PayrollTaxes\" = \" 477 \"\n";
        let map = read("map.toml", text).expect("valid");
        let qb = map.erp("quickbooks").expect("quickbooks");
        assert_eq!(qb.accounts["Expenses:PayrollTaxes"], "Payroll Expenses:Taxes");
        let xero = map.erp("xero").expect("xero");
        assert_eq!(xero.accounts["Expenses:PayrollTaxes"], "477");
        assert_eq!(xero.tax_rate.as_deref(), Some("Tax Exempt"));
        assert!(map.erp("netsuite").is_none());
    }

    #[test]
    fn reports_every_problem_with_its_place() {
        let text = "[sage.accounts]\n\"A\" = \"1\"\n\n[xero]\nrate = \"x\"\n";
        let problems = read("map.toml", text).expect_err("two problems");
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "error: unknown table `sage`: the file has tables quickbooks, xero and netsuite\n  --> map.toml:1:2 (sage)",
                "error: unknown key `rate` in [xero]\n  --> map.toml:4:1 (xero.rate)",
            ]
        );
        let text = "[xero]\ntax_rate = 5\n[xero.accounts]\n\"Expenses:X\" = 200\n";
        let problems = read("map.toml", text).expect_err("two problems");
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "error: expected a string, found integer\n  --> map.toml:4:16 (xero.accounts.\"Expenses:X\")",
                "error: expected a string, found integer\n  --> map.toml:2:12 (xero.tax_rate)",
            ]
        );
    }

    #[test]
    fn the_starter_reads_back_unmapped() {
        let text = starter(&["Expenses:PayrollTaxes", "Liabilities:PayrollTaxes:EmployerNic"]);
        let map = read("starter.toml", &text).expect("the starter is valid");
        for erp in ERPS {
            let accounts = &map.erp(erp).expect(erp).accounts;
            assert_eq!(accounts.len(), 2, "{erp}");
            assert!(accounts.values().all(String::is_empty), "{erp}");
        }
        assert_eq!(map.erp("xero").and_then(|x| x.tax_rate.as_deref()), Some(""));
    }
}
