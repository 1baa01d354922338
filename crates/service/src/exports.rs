//! Provisional payroll exports: a period whose payroll is not closed can still change (a later
//! run, a correction, a termination), so its export is provisional, and a change to it is
//! reported when the next export is made.
//!
//! The generic export carries a last column `status`: `provisional` while the period is open,
//! `final` once `payroll close` froze it ([`with_status`]; the frozen rows and their recorded
//! digest stay as they were, without the column). Provider layouts carry the status outside
//! the layout (file name, sidecar): [`is_provisional`] says which.
//!
//! Every export written by `tokencomp payroll` is recorded in the data directory, under
//! `exports/`: `<period>.csv`, the rows as last exported, and one line per export in
//! `exports/log.jsonl` (`{"period", "status", "rows", "sha256"}`, the SHA-256 of the file as
//! exported). The next export compares every provisional period it has a record of with what
//! that period's export is now, row by row, and names each change: the person, the row's line
//! in the last export, and the cells that differ (old → new), or the row gone or added.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tokencomp_store::ledger::Company;

use crate::data::DataDir;
use crate::error::{Context, Result};

/// The column the generic export ends with.
pub const STATUS_COLUMN: &str = "status";

/// Whether `period`'s export can still change: its payroll is not closed.
pub fn is_provisional(company: &Company, period: &str) -> bool {
    !company.payroll_closed.contains_key(period)
}

/// The export `csv` (the payroll rows) with the `status` column added to the header and to
/// every record (a cell with a line break stays inside its record: the records are found by
/// the CSV reader, not by lines).
pub fn with_status(csv: &str, status: &str) -> String {
    let mut out = String::with_capacity(csv.len() + 16 * csv.lines().count());
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(csv.as_bytes());
    let mut record = csv::ByteRecord::new();
    let mut start = 0usize;
    let mut first = true;
    while let Ok(true) = reader.read_byte_record(&mut record) {
        let end = usize::try_from(reader.position().byte()).unwrap_or(csv.len()).min(csv.len());
        let text = &csv[start..end];
        let body = text.trim_end_matches(['\r', '\n']);
        out.push_str(body);
        out.push(',');
        out.push_str(if first { STATUS_COLUMN } else { status });
        out.push('\n');
        first = false;
        start = end;
    }
    out
}

/// The status a period's export carries.
pub fn status(company: &Company, period: &str) -> &'static str {
    if is_provisional(company, period) { "provisional" } else { "final" }
}

/// One row that changed since a provisional period was last exported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowChange {
    pub period: String,
    pub person: String,
    /// The row's record number in the last export, counted as lines with the header as line 1
    /// (a record whose cell holds a line break counts once); for an added row, its number now.
    pub line: usize,
    /// `(column, old, new)`; a gone row has every cell with new `(none)`, an added one old.
    pub cells: Vec<(String, String, String)>,
    pub kind: ChangeKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Changed,
    Gone,
    Added,
}

impl RowChange {
    pub fn render(&self) -> String {
        let what = match self.kind {
            ChangeKind::Changed => "changed",
            ChangeKind::Gone => "is gone",
            ChangeKind::Added => "was added",
        };
        let cells: Vec<String> = self.cells.iter().map(|(c, o, n)| format!("{c} {o} → {n}")).collect();
        format!(
            "payroll {} (provisional): line {} of the last export, person {}, {what}: {}",
            self.period,
            self.line,
            self.person,
            cells.join("; ")
        )
    }
}

/// Where the exports are recorded.
fn dir(data: &DataDir) -> PathBuf {
    data.root().join("exports")
}

/// Rows of an export by line: `(line, cells)`, with the header.
fn table(csv: &str) -> (Vec<String>, Vec<(usize, Vec<String>)>) {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().map(|h| h.iter().map(str::to_owned).collect()).unwrap_or_default();
    let rows = reader
        .records()
        .filter_map(std::result::Result::ok)
        .enumerate()
        .map(|(i, r)| (i + 2, r.iter().map(str::to_owned).collect()))
        .collect();
    (header, rows)
}

/// The rows of two exports of one period compared: a row is the same row when its text columns
/// (person, name, period, earning code, form, currency, state, adjusts, tax year: the leading
/// columns that are not amounts) match, in order of appearance; its amounts are what may change.
pub fn compare(period: &str, old: &str, new: &str) -> Vec<RowChange> {
    const KEY_COLUMNS: usize = tokencomp_compliance::payroll::ID_COLUMNS.len();
    let (header, before) = table(old);
    let (_, after) = table(new);
    let key = |cells: &[String]| cells.iter().take(KEY_COLUMNS).cloned().collect::<Vec<_>>();
    let mut remaining: Vec<Option<&(usize, Vec<String>)>> = after.iter().map(Some).collect();
    let mut out = Vec::new();
    let none = "(none)".to_owned();
    let column = |i: usize| header.get(i).cloned().unwrap_or_else(|| format!("column {}", i + 1));
    for (line, cells) in &before {
        let found = remaining.iter_mut().find(|r| r.is_some_and(|(_, c)| key(c) == key(cells))).and_then(Option::take);
        let person = cells.first().cloned().unwrap_or_default();
        match found {
            None => out.push(RowChange {
                period: period.to_owned(),
                person,
                line: *line,
                cells: cells
                    .iter()
                    .enumerate()
                    .filter(|(i, c)| {
                        *i >= KEY_COLUMNS && !c.is_empty() && header.get(*i).is_none_or(|h| h != STATUS_COLUMN)
                    })
                    .map(|(i, c)| (column(i), c.clone(), none.clone()))
                    .collect(),
                kind: ChangeKind::Gone,
            }),
            Some((_, now)) => {
                let cells: Vec<(String, String, String)> = cells
                    .iter()
                    .zip(now)
                    .enumerate()
                    .filter(|(i, (a, b))| *i < header.len() && header[*i] != STATUS_COLUMN && a != b)
                    .map(|(i, (a, b))| (column(i), a.clone(), b.clone()))
                    .collect();
                if !cells.is_empty() {
                    out.push(RowChange {
                        period: period.to_owned(),
                        person,
                        line: *line,
                        cells,
                        kind: ChangeKind::Changed,
                    });
                }
            }
        }
    }
    for (line, cells) in remaining.into_iter().flatten() {
        out.push(RowChange {
            period: period.to_owned(),
            person: cells.first().cloned().unwrap_or_default(),
            line: *line,
            cells: cells
                .iter()
                .enumerate()
                .filter(|(i, c)| {
                    *i >= KEY_COLUMNS && !c.is_empty() && header.get(*i).is_none_or(|h| h != STATUS_COLUMN)
                })
                .map(|(i, c)| (column(i), none.clone(), c.clone()))
                .collect(),
            kind: ChangeKind::Added,
        });
    }
    out
}

/// The provisional periods this data directory recorded an export of, with that export.
pub fn recorded(data: &DataDir) -> Result<BTreeMap<String, String>> {
    let dir = dir(data);
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(out) };
    for entry in entries {
        let path = entry.with_context(|| format!("reading {}", dir.display()))?.path();
        let Some(period) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".csv")) else {
            continue;
        };
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        out.insert(period.to_owned(), text);
    }
    Ok(out)
}

/// Every change to a provisional period since its recorded export: `current(period)` is that
/// period's export as it stands now (with its status column); a period closed since is left
/// out (its close froze what it holds).
pub fn changes(
    data: &DataDir,
    company: &Company,
    current: &mut dyn FnMut(&str) -> Result<String>,
) -> Result<Vec<RowChange>> {
    let mut out = Vec::new();
    for (period, old) in recorded(data)? {
        if !is_provisional(company, &period) {
            continue;
        }
        let now = current(&period)?;
        out.extend(compare(&period, &old, &now));
    }
    Ok(out)
}

/// Records an export: its rows as `exports/<period>.csv` (owner-only) and a line of
/// `exports/log.jsonl` with its status, row count and SHA-256.
pub fn record(data: &DataDir, company: &Company, period: &str, csv: &str) -> Result<()> {
    let dir = dir(data);
    tokencomp_store::private::dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let file = dir.join(format!("{period}.csv"));
    tokencomp_store::private::write(&file, csv.as_bytes()).with_context(|| format!("writing {}", file.display()))?;
    let log = dir.join("log.jsonl");
    let mut text = std::fs::read_to_string(&log).unwrap_or_default();
    let line = serde_json::json!({
        "period": period,
        "status": status(company, period),
        "rows": table(csv).1.len(),
        "sha256": tokencomp_store::sha256_hex(csv),
    });
    text.push_str(&format!("{line}\n"));
    tokencomp_store::private::write(&log, text.as_bytes()).with_context(|| format!("writing {}", log.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_column_follows_each_record_and_a_gone_row_is_named() {
        let csv = "person,name,period,earning_code,form,currency,state,adjusts,tax_year,gross\n\
                   ada,\"Ada\nL\",2026-10,TOK,W-2,USD,CA,,2026,100.00\nben,Ben,2026-10,TOK,W-2,USD,NY,,2026,50.00\n";
        let with = with_status(csv, "provisional");
        assert_eq!(
            with,
            "person,name,period,earning_code,form,currency,state,adjusts,tax_year,gross,status\n\
             ada,\"Ada\nL\",2026-10,TOK,W-2,USD,CA,,2026,100.00,provisional\nben,Ben,2026-10,TOK,W-2,USD,NY,,2026,50.00,provisional\n"
        );
        let later = "person,name,period,earning_code,form,currency,state,adjusts,tax_year,gross,status\n\
                     ada,\"Ada\nL\",2026-10,TOK,W-2,USD,CA,,2026,120.00,provisional\n";
        let changes = compare("2026-10", &with, later);
        assert_eq!(
            changes,
            vec![
                RowChange {
                    period: "2026-10".into(),
                    person: "ada".into(),
                    line: 2,
                    cells: vec![("gross".into(), "100.00".into(), "120.00".into())],
                    kind: ChangeKind::Changed
                },
                RowChange {
                    period: "2026-10".into(),
                    person: "ben".into(),
                    line: 3,
                    cells: vec![("gross".into(), "50.00".into(), "(none)".into())],
                    kind: ChangeKind::Gone
                },
            ]
        );
    }
}
