//! Payroll in a provider's import layout (Gusto, Rippling, ADP Workforce Now, Deel) with its
//! JSON sidecar, and a provider's payroll register reconciled against our withholding
//! (docs/exports.md). The generic payroll CSV stays in `payroll`, its provisional status in `exports`.
//!
//! A period not yet closed is provisional: that is said in the file's name (`…-provisional.csv`)
//! and in the sidecar beside it, never inside the provider's layout. No clock here: the export
//! time is a parameter.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tokencomp_compliance::payroll::PayrollRow;
use tokencomp_compliance::payroll_layouts::{self, Difference, LayoutError, Period};
use tokencomp_core::period::PayPeriod;
use tokencomp_formats::payroll_map::{self, BUILTIN, ColumnMap};
use tokencomp_store::ledger::Company;
use tokencomp_store::sha256_hex;

use crate::error::{Context, Error, Result, bad_input};
use crate::payroll::{income_events, rows_as_paid};

/// The provider layouts `--layout` accepts besides `generic`.
pub fn providers() -> Vec<&'static str> {
    BUILTIN.iter().map(|(p, _)| *p).collect()
}

fn rejected(field: &str, problems: &[tokencomp_formats::diag::Diagnostic]) -> Error {
    Error::Rejected {
        field: field.to_owned(),
        text: problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
    }
}

/// The shipped map's text of `provider`, for `--write-map`.
pub fn builtin_map(provider: &str) -> Result<&'static str> {
    payroll_map::builtin(provider)
        .ok_or_else(|| bad_input(format!("layout: `{provider}` (generic, {})", providers().join(", ")), "--layout"))
}

/// The column map of `provider`: the company's own file (`map` = (name, text)) when given,
/// else the shipped one.
pub fn column_map(provider: &str, map: Option<(&str, &str)>) -> Result<ColumnMap> {
    let shipped = builtin_map(provider)?;
    let (name, text) = map.unwrap_or((provider, shipped));
    let field = if map.is_some() { "--map" } else { "--layout" };
    let m = payroll_map::read(name, text).map_err(|p| {
        let mut text = p.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
        if map.is_none() {
            text.push_str(&format!(
                "\nthe shipped {provider} map needs the company's own values: write it with \
                 `tokencomp payroll --layout {provider} --write-map FILE`, fill them in, and pass --map FILE"
            ));
        }
        Error::Rejected { field: field.to_owned(), text }
    })?;
    if m.provider != provider {
        return Err(bad_input(format!("the map is for `{}`, not `{provider}`", m.provider), "--map"));
    }
    Ok(m)
}

/// The rows of `period` as payroll has them (`payroll::rows_as_paid`); a closed period needs no
/// income pass.
fn rows_of(company: &Company, period: &PayPeriod) -> Result<Vec<PayrollRow>> {
    let events =
        if company.payroll_closed.contains_key(&period.id) { Vec::new() } else { income_events(company, period.end)? };
    rows_as_paid(company, &events, period)
}

/// A payroll file in a provider's layout, ready to be written.
#[derive(Clone, Debug)]
pub struct LayoutExport {
    /// Where it goes: the requested path, with `-provisional` before the extension when the
    /// period is not closed.
    pub path: PathBuf,
    pub csv: String,
    /// Beside the file, `<path>.json`.
    pub sidecar: Value,
    /// Said to the user: the map is an editable one, not the provider's documented layout.
    pub editable: bool,
    pub map: ColumnMap,
}

/// `out` with `-provisional` before its extension: `adp-2026-10.csv` → `adp-2026-10-provisional.csv`.
pub fn provisional_path(out: &Path) -> PathBuf {
    let stem = out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name = match out.extension() {
        Some(ext) => format!("{stem}-provisional.{}", ext.to_string_lossy()),
        None => format!("{stem}-provisional"),
    };
    out.with_file_name(name)
}

/// `period`'s payroll in `provider`'s layout. `provisional`: the period is not closed (the
/// file name and the sidecar say so); `exported_at` is the time the sidecar records.
pub fn layout_export(
    company: &Company,
    period: &PayPeriod,
    provider: &str,
    map: Option<(&str, &str)>,
    provisional: bool,
    exported_at: jiff::Timestamp,
    out: &Path,
) -> Result<LayoutExport> {
    let m = column_map(provider, map)?;
    let rows = rows_of(company, period)?;
    let p = Period { id: &period.id, start: period.start, end: period.end };
    let csv = payroll_layouts::to_layout(&rows, &m, &p).map_err(|e| match e {
        e @ LayoutError::CashOnly { .. } => bad_input(e, "--layout"),
        e @ LayoutError::Csv(_) => Error::internal(e),
    })?;
    let path = if provisional { provisional_path(out) } else { out.to_owned() };
    let written = csv.lines().count().saturating_sub(1);
    let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let sidecar = json!({
        "period": period.id,
        "status": if provisional { "provisional" } else { "final" },
        "layout": provider,
        "file": file,
        "rows": written,
        "sha256": sha256_hex(&csv),
        "rules": {
            // The hash each period run records (`tokencomp periods`), over the rules in force.
            "rules_sha256": crate::rules::rules_hash(&crate::payroll::rules(company)?),
            "flat_rules": company.company.policy.flat_rules.iter().map(|f| json!({
                "country": f.country,
                "employee_bps": f.employee_bps,
                "employer_bps": f.employer_bps,
            })).collect::<Vec<_>>(),
        },
        "exported_at": exported_at.to_string(),
        "map": {
            "source": m.source,
            "documented": m.documented,
            "non_cash_earning": m.non_cash_earning,
            "cash_path": m.cash_path,
        },
    });
    Ok(LayoutExport { path, csv, sidecar, editable: !m.documented, map: m })
}

/// Writes the export and its sidecar owner-only; returns the sidecar's path.
pub fn write_layout_export(export: &LayoutExport) -> Result<PathBuf> {
    let path = &export.path;
    tokencomp_store::private::write(path, export.csv.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    let sidecar = tokencomp_store::private::sibling(path, ".json");
    tokencomp_store::private::write(&sidecar, format!("{:#}\n", export.sidecar).as_bytes())
        .with_context(|| format!("writing {}", sidecar.display()))?;
    Ok(sidecar)
}

/// The provider's register (`file`, `text`) for `period`, reconciled against our rows: every
/// (person, tax line) that differs. A register that cannot be read is refused with every
/// problem at file:line:column.
pub fn reconcile_register(
    company: &Company,
    period: &PayPeriod,
    provider: &str,
    map: Option<(&str, &str)>,
    file: &str,
    text: &str,
) -> Result<Vec<Difference>> {
    let m = column_map(provider, map)?;
    if m.cash_only {
        return Err(bad_input(
            format!(
                "the {provider} layout is refused (it carries only cash earnings), so there is no register to reconcile"
            ),
            "--layout",
        ));
    }
    let theirs = payroll_layouts::read_register(file, text, &m).map_err(|p| rejected("FILE", &p))?;
    let ours = rows_of(company, period)?;
    Ok(payroll_layouts::reconcile(&ours, &theirs, &m))
}
