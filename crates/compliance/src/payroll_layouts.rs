//! A period's payroll rows in a payroll provider's import layout, and the provider's payroll
//! register read back and reconciled against our withholding.
//!
//! Layouts are column maps (`tokencomp_formats::payroll_map`; the shipped ones, with the
//! provider document each follows and its date, are in `crates/formats/payroll_layouts/` and
//! docs/exports.md#payroll-providers). Token income always goes in as the provider's non-cash
//! earning type (`non_cash_earning`), and the sell-to-cover cash as the map's `cash_path`; a
//! layout that can carry only cash earnings (`cash_only`) is refused with its reason, never
//! used to make a provider pay token income in cash.
//!
//! Rows written: the people on payroll (forms W-2, PAYE and the flat rule); contractors and
//! advisors (1099-NEC, none) are paid outside payroll and left out. Adjustment rows of closed
//! periods are written like the period's own. Amounts are the rows' cents as they are, two
//! decimals, `-` for a negative; nothing is rounded here. Whether the period is provisional is
//! the caller's to put in the file name and sidecar, never inside the layout.
//!
//! Must never: read a file or the clock, or compare amounts other than cent for cent.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::civil::Date;
use tokencomp_formats::csv_text::neutralise;
use tokencomp_formats::diag::Diagnostic;
use tokencomp_formats::payroll_map::{ColumnMap, REGISTER_LINES};
use tokencomp_money::Decimal;

use crate::payroll::{AMOUNT_COLUMNS, PayrollRow};

/// The pay period the rows belong to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Period<'a> {
    pub id: &'a str,
    pub start: Date,
    pub end: Date,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error(
        "the {provider} layout is refused: it can carry only cash earnings, and token income is not cash. {reason}"
    )]
    CashOnly { provider: String, reason: String },
    #[error("CSV writing failed: {0}")]
    Csv(String),
}

/// Our column of a register tax line (the employee's share).
fn our_column(line: &str) -> Option<usize> {
    let name = match line {
        "federal_income" => "federal_income_tax",
        "social_security" => "social_security_ee",
        "medicare" => "medicare_ee",
        "additional_medicare" => "additional_medicare_ee",
        "state_income" => "state_income_tax",
        "state_contributions" => "state_contributions_ee",
        "local_income" => "local_income_tax",
        _ => return None,
    };
    AMOUNT_COLUMNS.iter().position(|c| *c == name)
}

fn value_of(name: &str) -> Option<usize> {
    AMOUNT_COLUMNS.iter().position(|c| *c == name)
}

fn money(d: Decimal) -> String {
    let mut x = d;
    x.rescale(2);
    x.to_string()
}

/// Whether a row is paid through payroll (employees), not as a contractor payment.
fn on_payroll(row: &PayrollRow) -> bool {
    !matches!(row.form.as_str(), "1099-NEC" | "none")
}

/// The rows in the provider's import layout: the map's header row, then one line per person
/// (and adjustment) on payroll.
pub fn to_layout(rows: &[PayrollRow], map: &ColumnMap, period: &Period) -> Result<String, LayoutError> {
    if map.cash_only {
        return Err(LayoutError::CashOnly { provider: map.provider.clone(), reason: map.source.clone() });
    }
    let csv_err = |e: csv::Error| LayoutError::Csv(e.to_string());
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(map.columns.iter().map(|c| c.header.as_str())).map_err(csv_err)?;
    let date = |d: Date| d.strftime(&map.date_format).to_string();
    for row in rows.iter().filter(|r| on_payroll(r)) {
        let amount = |name: &str| value_of(name).and_then(|i| row.values.get(i)).map(|v| money(*v)).unwrap_or_default();
        let record: Vec<String> = map
            .columns
            .iter()
            .map(|c| match c.field.as_str() {
                "employee_id" => neutralise(&row.person).into_owned(),
                "employee_name" => neutralise(&row.name).into_owned(),
                "period" => neutralise(period.id).into_owned(),
                "period_start" => date(period.start),
                "period_end" => date(period.end),
                "earning_type" => neutralise(&map.non_cash_earning).into_owned(),
                "token_income" => amount("token_income"),
                "cover_cash" => amount("tax_remitted"),
                "owed_from_salary" => amount("owed_from_salary"),
                "cash_to_employee" => amount("cash_to_employee"),
                "cash_top_up" => amount("cash_top_up"),
                "currency" => row.currency.clone(),
                "work_state" => neutralise(&row.state).into_owned(),
                other => neutralise(other.strip_prefix("const:").unwrap_or_default()).into_owned(),
            })
            .collect();
        w.write_record(&record).map_err(csv_err)?;
    }
    let bytes = w.into_inner().map_err(|e| LayoutError::Csv(e.to_string()))?;
    let out = String::from_utf8(bytes).map_err(|e| LayoutError::Csv(e.to_string()))?;
    Ok(out)
}

/// A register line's amounts for one person, from one line of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterRow {
    pub person: String,
    /// 1-based line in the file.
    pub line: usize,
    /// Register tax line (`federal_income` …) → amount.
    pub amounts: BTreeMap<String, Decimal>,
}

/// The 1-based character column where field `index` of a CSV line starts.
fn field_column(line: &str, index: usize) -> usize {
    let mut field = 0;
    let mut quoted = false;
    for (col, c) in line.chars().enumerate() {
        if field == index {
            return col + 1;
        }
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => field += 1,
            _ => {}
        }
    }
    line.chars().count() + 1
}

/// An amount as registers print it: `1234.56`, `1,234.56`, `$1,234.56`, `-12.00` or `(12.00)`;
/// at most two decimals. `None` when it is not one.
fn register_amount(cell: &str) -> Option<Decimal> {
    let s = cell.trim();
    if s.is_empty() {
        return Some(Decimal::ZERO);
    }
    let (negative, s) = match s.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
        Some(inner) => (true, inner),
        None => match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        },
    };
    let s = s.strip_prefix('$').unwrap_or(s);
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let groups_ok = !int.contains(',')
        || int.split(',').enumerate().all(|(i, g)| {
            !g.is_empty() && g.len() <= 3 && (i == 0 || g.len() == 3) && g.bytes().all(|b| b.is_ascii_digit())
        });
    let digits = int.replace(',', "");
    if digits.is_empty()
        || !groups_ok
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let text = if frac.is_empty() { digits } else { format!("{digits}.{frac}") };
    let d: Decimal = text.parse().ok()?;
    Some(if negative { -d } else { d })
}

/// Reads a provider's payroll register with the map's `[register]` headers (lines starting with
/// `#` are comments). Every problem —
/// a missing column, a row with no employee id, an amount that is not one — is reported at
/// once with file, line and column.
pub fn read_register(file: &str, text: &str, map: &ColumnMap) -> Result<Vec<RegisterRow>, Vec<Diagnostic>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.lines().collect();
    // Lines starting with `#` are comments (our fixtures cite their source there).
    let mut reader =
        csv::ReaderBuilder::new().has_headers(true).flexible(true).comment(Some(b'#')).from_reader(text.as_bytes());
    let mut problems = Vec::new();
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(vec![Diagnostic::new(file, None, e.to_string()).at(1, 1)]),
    };
    let header_line = lines.iter().position(|l| !l.starts_with('#')).map_or(1, |i| i + 1);
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for (key, header) in &map.register {
        match headers.iter().position(|h| h.trim() == header) {
            Some(i) => {
                index.insert(key.as_str(), i);
            }
            None => problems.push(
                Diagnostic::new(file, Some(format!("register.{key}")), format!("no column `{header}` in the header"))
                    .at(header_line, 1),
            ),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let id_col = index.get("employee_id").copied().unwrap_or_default();
    let mut out = Vec::new();
    for rec in reader.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| usize::try_from(p.line()).unwrap_or(0));
                problems.push(Diagnostic::new(file, None, e.to_string()).at(line, 1));
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| usize::try_from(p.line()).unwrap_or(0));
        let raw = lines.get(line.saturating_sub(1)).copied().unwrap_or_default();
        if rec.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let person = rec.get(id_col).unwrap_or_default().trim().to_owned();
        if person.is_empty() {
            let header = &map.register["employee_id"];
            problems.push(
                Diagnostic::new(file, Some(header.clone()), "the row has no employee id")
                    .at(line, field_column(raw, id_col)),
            );
            continue;
        }
        let mut amounts = BTreeMap::new();
        for key in REGISTER_LINES {
            let Some(&i) = index.get(key) else { continue };
            let cell = rec.get(i).unwrap_or_default();
            match register_amount(cell) {
                Some(d) => {
                    amounts.insert(key.to_owned(), d);
                }
                None => problems.push(
                    Diagnostic::new(
                        file,
                        Some(map.register[key].clone()),
                        format!("`{cell}` is not an amount (digits, optional thousands commas, at most 2 decimals)"),
                    )
                    .at(line, field_column(raw, i)),
                ),
            }
        }
        out.push(RegisterRow { person, line, amounts });
    }
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

/// One tax line of one person where the provider's withholding differs from ours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub person: String,
    /// `federal_income`, `social_security`, `medicare`, `additional_medicare`, `state_income`.
    pub line: String,
    pub ours: Decimal,
    pub theirs: Decimal,
    /// `theirs - ours`.
    pub difference: Decimal,
}

/// Every (person, tax line) the register names where its total differs from ours by a cent or
/// more, in person then line order. Ours: the period's rows of people on payroll (adjustments
/// included), summed per person; theirs: the register's rows summed per person. A person on
/// only one side differs on every line the other side would have had to show.
pub fn reconcile(ours: &[PayrollRow], theirs: &[RegisterRow], map: &ColumnMap) -> Vec<Difference> {
    let lines: Vec<&str> = REGISTER_LINES.iter().copied().filter(|l| map.register.contains_key(*l)).collect();
    let mut totals: BTreeMap<(String, String), (Decimal, Decimal)> = BTreeMap::new();
    for row in ours.iter().filter(|r| on_payroll(r)) {
        for line in &lines {
            let v = our_column(line).and_then(|i| row.values.get(i)).copied().unwrap_or_default();
            totals.entry((row.person.clone(), (*line).to_owned())).or_default().0 += v;
        }
    }
    for row in theirs {
        for line in &lines {
            let v = row.amounts.get(*line).copied().unwrap_or_default();
            totals.entry((row.person.clone(), (*line).to_owned())).or_default().1 += v;
        }
    }
    totals
        .into_iter()
        .filter(|(_, (o, t))| o != t)
        .map(|((person, line), (ours, theirs))| Difference { person, line, ours, theirs, difference: theirs - ours })
        .collect()
}

/// The differences as the CLI prints them, one line each.
pub fn differences_text(differences: &[Difference]) -> String {
    let mut out = String::new();
    for d in differences {
        let _ = writeln!(
            out,
            "{}: {}: ours {} theirs {} difference {}",
            d.person,
            d.line,
            money(d.ours),
            money(d.theirs),
            money(d.difference)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_amounts() {
        let d = |s: &str| s.parse::<Decimal>().expect("decimal");
        assert_eq!(register_amount("1,234.56"), Some(d("1234.56")));
        assert_eq!(register_amount("$1,234.5"), Some(d("1234.5")));
        assert_eq!(register_amount("(12.00)"), Some(d("-12.00")));
        assert_eq!(register_amount("-0.01"), Some(d("-0.01")));
        assert_eq!(register_amount(""), Some(Decimal::ZERO));
        for bad in ["12.345", "1,23.00", "abc", "1.2.3", "$", "12,34"] {
            assert_eq!(register_amount(bad), None, "{bad}");
        }
    }

    #[test]
    fn field_columns_count_quoted_commas() {
        assert_eq!(field_column("a,\"b,c\",d", 2), 9);
        assert_eq!(field_column("a,b", 0), 1);
        assert_eq!(field_column("a,b", 1), 3);
    }
}
