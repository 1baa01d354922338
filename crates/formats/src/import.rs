//! CSV imports: people, prices, FX rates and grants from a spreadsheet or a cap-table export,
//! read into the company file's domain values (`tokencomp import people|grants|prices|fx FILE.csv`).
//!
//! Text in, values or diagnostics out. An import is all or nothing: every problem in the file
//! is reported at once (file, line, column and the column's header as the field), sorted by
//! line and column, and a file with any problem yields no values at all.
//!
//! Must never: do IO, read the clock, round a token amount it is given, or guess a missing price. Grant rules
//! are those of the company file's `[grant.schedule]` (`company.rs`), with the same messages.
//!
//! # The files
//!
//! The first line names the columns, in any order. Names match without regard to case, with
//! spaces or hyphens read as underscores; an unknown column is an error. Surrounding spaces in
//! a cell are ignored and an empty cell means "not given". Quoting follows RFC 4180: a cell
//! with a comma, a quote or a line break is quoted, a quote inside it doubled.
//!
//! People (`parse_people`):
//!
//! | column    | also read from (cap-table exports) | required | value |
//! |-----------|------------------------------------|----------|-------|
//! | `id`      | `stakeholder_id`                   | yes | unique in the file |
//! | `name`    | `legal_name`, `full_name`          | yes | any text |
//! | `email`   | `email_address`                    | no  | any text |
//! | `kind`    | `stakeholder_type`                 | no  | `employee` (default), `contractor`, `advisor`; under `stakeholder_type`: `EMPLOYEE`, `CONSULTANT`, `ADVISOR`, `BOARD_MEMBER` in any case (a consultant is a contractor, a board member an advisor) |
//! | `country` |                                    | no  | two capital letters (`US`, `GB`) |
//! | `region`  | `state`                            | no  | any text (`CA`) |
//! | `hired`   | `start_date`, `hire_date`          | no  | `YYYY-MM-DD` |
//! | `salary`  |                                    | no  | annual base salary in the person's pay currency: a non-negative decimal |
//! | `wallet`  |                                    | no  | the label of the wallet their tokens go to: one word, no whitespace |
//! | `us.FIELD`, `uk.FIELD`, `de.FIELD` |                   | no  | a tax profile field (`us.residence`, `uk.tax_code`, `de.tax_class`): the names are each profile's `FIELDS` in `tokencomp_core::tax_profile`, the values as that profile reads them; a row with no cell of a jurisdiction has nothing on file there (the authority's default) |
//!
//! Prices (`parse_prices`): one row per day; each filled close cell is one price in that
//! currency, returned in file order. A (date, currency) pair may appear once.
//!
//! | column          | required | value |
//! |-----------------|----------|-------|
//! | `date`          | yes | `YYYY-MM-DD` |
//! | `close_usd`     | at least one of the three | a positive decimal (`0.1223`), kept exactly |
//! | `close_gbp`     |  | as `close_usd` |
//! | `close_eur`     |  | as `close_usd` |
//! | `volume_tokens` | no | tokens traded that day (for a VWAP), a positive decimal; it goes with every close of its row |
//!
//! FX rates (`parse_fx`): one row per (day, currency); a pair may appear once.
//!
//! | column     | required | value |
//! |------------|----------|-------|
//! | `date`     | yes | `YYYY-MM-DD` |
//! | `currency` | yes | ISO 4217 (`GBP`, `EUR`); not `USD` |
//! | `per_usd`  | yes | units of `currency` per 1 USD: a positive decimal (`0.7912`), kept exactly |
//!
//! Grants (`parse_grants`): one row per grant, sized in tokens or in US dollars, with a
//! calendar or linear schedule. Holders are not checked here: the caller knows the people.
//!
//! | column               | also read from (cap-table exports) | required | value |
//! |----------------------|------------------------------------|----------|-------|
//! | `id`                 | `security_id`                      | yes | unique in the file |
//! | `holder`             | `stakeholder_id`                   | yes | a person's id |
//! | `grant_date`         | `issue_date`, `date_of_grant`      | no  | `YYYY-MM-DD`; defaults to the schedule's start |
//! | `amount_tokens`      | `quantity`                         | one of these two | whole tokens, at most the token's decimals, above zero |
//! | `value_usd`          |                                    |  | a decimal; the grant gets `value_usd / price` tokens, rounded down (at least one base unit) |
//! | `price_usd`          |                                    | with `value_usd`, one of these two | a positive decimal |
//! | `price_average_days` |                                    |  | 1 to 365: the average USD close of that many days before `grant_date` |
//! | `schedule`           |                                    | yes | `monthly`, `quarterly`, `annually`, `days`, `linear` |
//! | `start`              | `vesting_start_date`               | yes | `YYYY-MM-DD`; for `linear` also an RFC 3339 time |
//! | `duration_months`    |                                    | monthly, quarterly, annually, linear | 1 to 2760, whole periods |
//! | `cliff_months`       |                                    | no  | 0 (default) to 2760, whole periods, at most the duration |
//! | `every_days`         |                                    | days | 1 to 36500 |
//! | `installments`       |                                    | days | 1 to 100000 |
//! | `cliff_installments` |                                    | no  | 0 (default) to `installments` |
//! | `day_of_month`       |                                    | no  | OCF: `01`…`28`, `29_OR_LAST_DAY_OF_MONTH`…, `VESTING_START_DAY_OR_LAST_DAY_OF_MONTH` (default) |
//! | `allocation`         |                                    | no  | OCF allocation type; `CUMULATIVE_ROUND_DOWN` by default |
//! | `model`              |                                    | no  | linear only: `openzeppelin` (default) or `sablier` |
//! | `granularity_seconds`|                                    | no  | linear only: 1 (default) to 4294967294 |
//!
//! A cell in a column its row's schedule does not use (`every_days` on a monthly grant) is an
//! error, as an unknown key is in `[grant.schedule]`. The grants, after those the company already
//! holds ([`parse_grants_within`]), must add up within a `u128` and the `[tokenomics]` total
//! supply; the row that crosses is named. A file that is not UTF-8 is refused before it is read
//! (`diag::decode_utf8`, at its line).

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use jiff::ToSpan;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use tokencomp_money::{Currency, Decimal, Token, TokenAmount, tokens_for_value};

use crate::company;
use crate::diag::Diagnostic;
use tokencomp_core::calendar::{self, Instant};
use tokencomp_core::grant::Grant;
use tokencomp_core::model::{self, FxRate, GrantPolicy, GrantSize, GrantTerms, Person, PersonKind, Price};
use tokencomp_core::schedule::{
    Allocation, Calendar, DayOfMonth, Linear, LinearModel, Period, Schedule, ScheduleError, check_date,
};
use tokencomp_core::tax_profile::{DeProfile, Fields, TaxProfile, UkProfile, UsProfile};

/// Reads a people CSV. `file` is the name used in diagnostics.
pub fn parse_people(file: &str, text: &str) -> Result<Vec<Person>, Vec<Diagnostic>> {
    let mut cx = Cx::new(file);
    let Some(sheet) = Sheet::read(&mut cx, text, PEOPLE) else { return cx.finish(Vec::new()) };
    sheet.require(&mut cx, &[&["id"], &["name"]]);
    let mut people = Vec::new();
    for row in sheet.rows() {
        match read_person(&mut cx, &row) {
            Ok(p) => people.push(p),
            Err(Reported) => cx.failed(row.line),
        }
    }
    sheet.unique(&mut cx, "id", "person");
    cx.finish(people)
}

/// Reads a prices CSV: one `Price` per filled close cell, in file order.
pub fn parse_prices(file: &str, text: &str) -> Result<Vec<Price>, Vec<Diagnostic>> {
    let mut cx = Cx::new(file);
    let Some(sheet) = Sheet::read(&mut cx, text, PRICES) else { return cx.finish(Vec::new()) };
    sheet.require(&mut cx, &[&["date"], &["close_usd", "close_gbp", "close_eur"]]);
    let mut prices = Vec::new();
    // (date, currency) → the line that first gave it.
    let mut seen: HashMap<(Date, Currency), usize> = HashMap::new();
    for row in sheet.rows() {
        let date = row.parse(&mut cx, "date", |s, _| parse_date(s));
        let date = row.required(&mut cx, "date", date);
        let volume = row.parse(&mut cx, "volume_tokens", |s, _| parse_decimal(s, Sign::Positive));
        let mut found = Vec::new();
        let mut any = false;
        for (column, currency) in CLOSES {
            let close = row.parse(&mut cx, column, |s, _| parse_decimal(s, Sign::Positive));
            any |= !matches!(close, Ok(None));
            if let (Ok(Some(close)), Some(cell)) = (close, row.cell(column)) {
                found.push((cell, close, currency));
            }
        }
        if !any && let Some(col) = CLOSES.iter().find_map(|(c, _)| row.col(c)) {
            let names: Vec<String> = CLOSES.iter().map(|(c, _)| format!("`{c}`")).collect();
            cx.at(row.line, col, format!("no price on this line: fill {}", or_list(&names)));
        }
        let (Ok(date), Ok(volume)) = (date, volume) else {
            cx.failed(row.line);
            continue;
        };
        for (cell, close, currency) in found {
            match seen.get(&(date, currency)) {
                Some(first) => cx.at(
                    row.line,
                    cell.col,
                    format!("duplicate {currency} price for {date}: lines {first} and {}", row.line),
                ),
                None => {
                    seen.insert((date, currency), row.line);
                    prices.push(Price { date, close, currency, volume });
                }
            }
        }
    }
    cx.finish(prices)
}

/// Reads an FX-rates CSV (`date,currency,per_usd`): one rate per row, in file order.
pub fn parse_fx(file: &str, text: &str) -> Result<Vec<FxRate>, Vec<Diagnostic>> {
    let mut cx = Cx::new(file);
    let Some(sheet) = Sheet::read(&mut cx, text, FX) else { return cx.finish(Vec::new()) };
    sheet.require(&mut cx, &[&["date"], &["currency"], &["per_usd"]]);
    let mut rates = Vec::new();
    // (date, currency) → the line that first gave it.
    let mut seen: HashMap<(Date, Currency), usize> = HashMap::new();
    for row in sheet.rows() {
        let date = row.parse(&mut cx, "date", |s, _| parse_date(s));
        let date = row.required(&mut cx, "date", date);
        let currency = row.parse(&mut cx, "currency", |s, _| match Currency::from_str(s) {
            Ok(Currency::USD) => Err("USD has no rate against itself: give another currency".to_owned()),
            Ok(c) => Ok(c),
            Err(_) => Err(format!("`{s}` is not a currency code (three capital letters, e.g. GBP)")),
        });
        let currency = row.required(&mut cx, "currency", currency);
        let per_usd = row.parse(&mut cx, "per_usd", |s, _| parse_decimal(s, Sign::Positive));
        let per_usd = row.required(&mut cx, "per_usd", per_usd);
        let (Ok(date), Ok(currency), Ok(per_usd)) = (date, currency, per_usd) else {
            cx.failed(row.line);
            continue;
        };
        match seen.get(&(date, currency)) {
            Some(first) => {
                if let Some(col) = row.col("date") {
                    cx.at(
                        row.line,
                        col,
                        format!("duplicate {currency} rate for {date}: lines {first} and {}", row.line),
                    );
                }
            }
            None => {
                seen.insert((date, currency), row.line);
                rates.push(FxRate { date, currency, per_usd });
            }
        }
    }
    cx.finish(rates)
}

/// Reads a grants CSV. Amounts are read in `token`'s units; dates are in `tz`; grants sized
/// by `value_usd` with `price_average_days` average the USD closes in `prices`. The file's
/// grants must add up within a `u128` (see [`parse_grants_within`] for a ledger's limits).
pub fn parse_grants(
    file: &str,
    text: &str,
    token: &Token,
    tz: &TimeZone,
    prices: &[Price],
) -> Result<Vec<GrantTerms>, Vec<Diagnostic>> {
    parse_grants_within(file, text, token, tz, prices, &Recorded::default())
}

/// What a company already holds that a grants file must fit beside: the `[tokenomics]` total
/// supply (when the company has one), each recorded grant's total by id (a row with a
/// recorded id stands for that grant, so it is not counted twice), and, when given, the ids of
/// its people: every row's `holder` must be one of them (each row that names someone else is
/// reported at its `holder` cell).
#[derive(Clone, Debug, Default)]
pub struct Recorded {
    pub supply: Option<TokenAmount>,
    pub granted: BTreeMap<String, TokenAmount>,
    pub people: Option<std::collections::BTreeSet<String>>,
}

/// [`parse_grants`], refusing the file when its grants, in file order after the recorded ones,
/// take the total past a `u128` or past the total supply: the row whose amount crosses is
/// named (line, column).
pub fn parse_grants_within(
    file: &str,
    text: &str,
    token: &Token,
    tz: &TimeZone,
    prices: &[Price],
    recorded: &Recorded,
) -> Result<Vec<GrantTerms>, Vec<Diagnostic>> {
    let mut cx = Cx::new(file);
    let Some(sheet) = Sheet::read(&mut cx, text, GRANTS) else { return cx.finish(Vec::new()) };
    sheet.require(&mut cx, &[&["id"], &["holder"], &["amount_tokens", "value_usd"], &["schedule"], &["start"]]);
    let env = Env { token, tz, prices };
    let mut grants = Vec::new();
    // Where each grant's size is written: (line, column index, header).
    let mut at: Vec<(usize, usize, String)> = Vec::new();
    for row in sheet.rows() {
        match read_grant(&mut cx, &env, &row) {
            Ok(g) => {
                if let (Some(people), Some(cell)) = (&recorded.people, row.cell("holder"))
                    && !people.contains(&g.grant.holder)
                {
                    let message = format!(
                        "grant `{}`: no person has id `{}`; import the person first (`tokencomp import people FILE`) or fix `{}`",
                        g.grant.id, g.grant.holder, cell.col.header
                    );
                    cx.at(row.line, cell.col, message);
                }
                let c = row.cell("amount_tokens").or(row.cell("value_usd"));
                at.push((row.line, c.map_or(0, |c| c.col.index), c.map_or_else(String::new, |c| c.col.header.clone())));
                grants.push(g);
            }
            Err(Reported) => cx.failed(row.line),
        }
    }
    sheet.unique(&mut cx, "id", "grant");
    check_total(&mut cx, token, recorded, &grants, &at);
    cx.finish(grants)
}

/// The recorded grants not in the file, then the file's in order, summed checked.
fn check_total(
    cx: &mut Cx<'_>,
    token: &Token,
    recorded: &Recorded,
    grants: &[GrantTerms],
    at: &[(usize, usize, String)],
) {
    let fmt = |a: TokenAmount| format!("{} {}", token.format(a), token.symbol());
    let in_file: std::collections::BTreeSet<&str> = grants.iter().map(|g| g.grant.id.as_str()).collect();
    let others = recorded.granted.iter().filter(|(id, _)| !in_file.contains(id.as_str())).map(|(_, a)| *a);
    let Ok(mut total) = TokenAmount::checked_sum(others) else {
        cx.push(1, 1, None, "the company's recorded grants already add up past 128 bits of base units");
        return;
    };
    for (g, (line, index, header)) in grants.iter().zip(at) {
        let amount = g.grant.amount;
        let crossed = match total.checked_add(amount) {
            Err(_) => Some(format!(
                "grant `{}` of {} takes the grants' total past 128 bits of base units ({} before it)",
                g.grant.id,
                fmt(amount),
                fmt(total)
            )),
            Ok(next) => match recorded.supply {
                Some(supply) if next > supply => Some(format!(
                    "grant `{}` of {} takes the grants' total to {}, above the total supply of {} in [tokenomics]",
                    g.grant.id,
                    fmt(amount),
                    fmt(next),
                    fmt(supply)
                )),
                _ => {
                    total = next;
                    None
                }
            },
        };
        if let Some(message) = crossed {
            cx.push(*line, index + 1, Some(header.as_str()).filter(|h| !h.is_empty()), message);
            return;
        }
    }
}

// ---- columns --------------------------------------------------------------------------------

/// A column an import knows: its name and the names cap-table exports give it.
struct Column {
    name: &'static str,
    aliases: &'static [&'static str],
}

const fn col(name: &'static str, aliases: &'static [&'static str]) -> Column {
    Column { name, aliases }
}

const PEOPLE: &[Column] = &[
    col("id", &["stakeholder_id"]),
    col("name", &["legal_name", "full_name"]),
    col("email", &["email_address"]),
    col("kind", &["stakeholder_type"]),
    col("country", &[]),
    col("region", &["state"]),
    col("hired", &["start_date", "hire_date"]),
    col("salary", &[]),
    col("wallet", &[]),
];

const PRICES: &[Column] =
    &[col("date", &[]), col("close_usd", &[]), col("close_gbp", &[]), col("close_eur", &[]), col("volume_tokens", &[])];

const FX: &[Column] = &[col("date", &[]), col("currency", &[]), col("per_usd", &[])];

const CLOSES: [(&str, Currency); 3] =
    [("close_usd", Currency::USD), ("close_gbp", Currency::GBP), ("close_eur", Currency::EUR)];

const GRANTS: &[Column] = &[
    col("id", &["security_id"]),
    col("holder", &["stakeholder_id"]),
    col("grant_date", &["issue_date", "date_of_grant"]),
    col("amount_tokens", &["quantity"]),
    col("value_usd", &[]),
    col("price_usd", &[]),
    col("price_average_days", &[]),
    col("schedule", &[]),
    col("start", &["vesting_start_date"]),
    col("duration_months", &[]),
    col("cliff_months", &[]),
    col("every_days", &[]),
    col("installments", &[]),
    col("cliff_installments", &[]),
    col("day_of_month", &[]),
    col("allocation", &[]),
    col("model", &[]),
    col("granularity_seconds", &[]),
];

/// The schedule columns after `start`, each with the kinds of schedule that use it.
const SCHEDULE_COLUMNS: [(&str, &[Kind]); 9] = [
    ("duration_months", &[Kind::Months(1), Kind::Months(3), Kind::Months(12), Kind::Linear]),
    ("cliff_months", &[Kind::Months(1), Kind::Months(3), Kind::Months(12), Kind::Linear]),
    ("every_days", &[Kind::Days]),
    ("installments", &[Kind::Days]),
    ("cliff_installments", &[Kind::Days]),
    ("day_of_month", &[Kind::Months(1), Kind::Months(3), Kind::Months(12)]),
    ("allocation", &[Kind::Months(1), Kind::Months(3), Kind::Months(12), Kind::Days]),
    ("model", &[Kind::Linear]),
    ("granularity_seconds", &[Kind::Linear]),
];

// ---- reading the sheet ----------------------------------------------------------------------

/// An error already reported as a diagnostic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Reported;

/// A cell read as a value: `Ok(None)` when the column is absent or the cell empty.
type Got<T> = Result<Option<T>, Reported>;

struct Cx<'a> {
    file: &'a str,
    diags: Vec<Diagnostic>,
    /// Lines of rows that produced no value.
    failed: Vec<usize>,
}

impl<'a> Cx<'a> {
    fn new(file: &'a str) -> Cx<'a> {
        Cx { file, diags: Vec::new(), failed: Vec::new() }
    }

    fn push(&mut self, line: usize, column: usize, field: Option<&str>, message: impl Into<String>) {
        self.diags.push(Diagnostic::new(self.file, field.map(str::to_owned), message).at(line, column));
    }

    /// A problem with the cell of `col` on `line`.
    fn at(&mut self, line: usize, col: &Col, message: impl Into<String>) {
        self.push(line, col.index + 1, Some(&col.header), message);
    }

    fn failed(&mut self, line: usize) {
        self.failed.push(line);
    }

    fn finish<T>(mut self, values: Vec<T>) -> Result<Vec<T>, Vec<Diagnostic>> {
        // A row that yields nothing has always said why; should one ever not, the import still
        // fails rather than lose the row.
        if self.diags.is_empty() {
            for line in std::mem::take(&mut self.failed) {
                self.push(line, 1, None, "this row could not be read");
            }
        }
        if self.diags.is_empty() {
            return Ok(values);
        }
        self.diags.sort_by_key(|d| (d.location.line, d.location.column));
        Err(self.diags)
    }
}

/// Where a known column is in the file.
struct Col {
    /// 0-based field index.
    index: usize,
    /// The header as written, the field path of its diagnostics.
    header: String,
    /// The header normalized (lower case, underscores), to tell an alias from the name.
    key: String,
}

struct Line {
    line: usize,
    cells: Vec<String>,
}

struct Sheet {
    spec: &'static [Column],
    /// Parallel to `spec`: where each known column is, if the file has it.
    cols: Vec<Option<Col>>,
    header_line: usize,
    /// The header's fields, known or not: every row must have as many.
    headers: Vec<String>,
    /// The well-formed data rows; malformed ones are reported and left out.
    lines: Vec<Line>,
    /// The people import's tax columns (`us.residence`): jurisdiction, field, where.
    tax: Vec<(&'static str, &'static str, Col)>,
}

impl Sheet {
    /// Reads the header and every record; `None` when there is not even a header.
    fn read(cx: &mut Cx<'_>, text: &str, spec: &'static [Column]) -> Option<Sheet> {
        let body = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(body.as_bytes());
        let mut record = csv::StringRecord::new();
        let mut sheet: Option<Sheet> = None;
        loop {
            match reader.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    let line = e.position().map_or(1, |p| to_usize(p.line()));
                    cx.push(line, 1, None, format!("not readable as CSV: {e}"));
                    break;
                }
            }
            // The reader always gives a record its position; its own is a harmless stand-in.
            let pos = record.position().unwrap_or(reader.position()).clone();
            let start = to_usize(pos.byte());
            let raw = body.get(start..to_usize(reader.position().byte())).unwrap_or("");
            // The csv reader counts the blank lines it skips before a record as the record's
            // own; move past them to the line where the record's text starts.
            let trimmed = raw.trim_start_matches(['\r', '\n']);
            let line = to_usize(pos.line()) + raw[..raw.len() - trimmed.len()].matches('\n').count();
            let quoting = bad_quoting(trimmed);
            let cells: Vec<String> = record.iter().map(|c| c.trim().to_owned()).collect();
            for (index, why) in &quoting {
                let header = sheet.as_ref().map_or(cells.get(*index).cloned(), |s| s.header_at(*index));
                cx.push(line, index + 1, header.as_deref(), *why);
            }
            match &mut sheet {
                None => sheet = Some(Sheet::header(cx, spec, line, &cells)),
                Some(sheet) => {
                    let width = sheet.headers.len();
                    if cells.len() > width {
                        let msg = format!(
                            "{} fields, but the header has {width} columns (quote a cell that holds a comma)",
                            cells.len()
                        );
                        cx.push(line, width + 1, None, msg);
                    } else if cells.len() < width {
                        let missing = sheet.header_at(cells.len());
                        let msg = format!("{} fields, but the header has {width} columns", cells.len());
                        cx.push(line, cells.len() + 1, missing.as_deref(), msg);
                    } else if quoting.is_empty() {
                        sheet.lines.push(Line { line, cells });
                        continue;
                    }
                    cx.failed(line);
                }
            }
        }
        if sheet.is_none() {
            let names: Vec<&str> = spec.iter().map(|c| c.name).collect();
            cx.push(
                1,
                1,
                None,
                format!("the file is empty: its first line must name the columns ({})", names.join(", ")),
            );
        }
        sheet
    }

    fn header(cx: &mut Cx<'_>, spec: &'static [Column], line: usize, cells: &[String]) -> Sheet {
        let mut cols: Vec<Option<Col>> = spec.iter().map(|_| None).collect();
        let mut tax: Vec<(&'static str, &'static str, Col)> = Vec::new();
        let names: Vec<&str> = spec.iter().map(|c| c.name).collect();
        for (index, header) in cells.iter().enumerate() {
            let key = normalize(header);
            let Some(k) = spec.iter().position(|c| c.name == key || c.aliases.contains(&key.as_str())) else {
                let taxed = std::ptr::eq(spec, PEOPLE);
                if taxed && let Some((j, f)) = tax_column(&key) {
                    match tax.iter().find(|(tj, tf, _)| (*tj, *tf) == (j, f)) {
                        Some((_, _, first)) => {
                            let msg = format!(
                                "`{header}` is the same column as `{}` (column {})",
                                first.header,
                                first.index + 1
                            );
                            cx.push(line, index + 1, Some(header), msg);
                        }
                        None => tax.push((j, f, Col { index, header: header.clone(), key })),
                    }
                    continue;
                }
                let more = if taxed { ", or a tax column `us.FIELD`, `uk.FIELD`, `de.FIELD`" } else { "" };
                let msg = if key.is_empty() {
                    format!("column {} has no name; expected one of: {}{more}", index + 1, names.join(", "))
                } else {
                    format!("unknown column `{header}`; expected one of: {}{more}", names.join(", "))
                };
                cx.push(line, index + 1, Some(header), msg);
                continue;
            };
            match &cols[k] {
                Some(first) => {
                    let msg =
                        format!("`{header}` is the same column as `{}` (column {})", first.header, first.index + 1);
                    cx.push(line, index + 1, Some(header), msg);
                }
                None => cols[k] = Some(Col { index, header: header.clone(), key }),
            }
        }
        Sheet { spec, cols, header_line: line, headers: cells.to_vec(), lines: Vec::new(), tax }
    }

    fn col(&self, name: &str) -> Option<&Col> {
        let k = self.spec.iter().position(|c| c.name == name);
        debug_assert!(k.is_some(), "`{name}` is not a column of this import");
        self.cols.get(k?)?.as_ref()
    }

    /// The header of the field at a 0-based index, known or not.
    fn header_at(&self, index: usize) -> Option<String> {
        self.headers.get(index).cloned()
    }

    /// Reports each group of columns none of which the header has: `[["id"], ["a", "b"]]`
    /// needs `id`, and `a` or `b`.
    fn require(&self, cx: &mut Cx<'_>, groups: &[&[&str]]) {
        for group in groups {
            if group.iter().any(|name| self.col(name).is_some()) {
                continue;
            }
            let names: Vec<String> = group
                .iter()
                .flat_map(|name| {
                    let aliases = self.spec.iter().find(|c| c.name == *name).map_or(&[][..], |c| c.aliases);
                    std::iter::once(name).chain(aliases)
                })
                .map(|n| format!("`{n}`"))
                .collect();
            let field = group.first().copied();
            cx.push(self.header_line, 1, field, format!("missing column {}", or_list(&names)));
        }
    }

    fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.lines.iter().map(|l| Row { sheet: self, line: l.line, cells: &l.cells })
    }

    /// Reports every row whose `column` repeats an earlier row's, naming both lines.
    fn unique(&self, cx: &mut Cx<'_>, column: &str, what: &str) {
        let mut first: HashMap<&str, usize> = HashMap::new();
        for row in self.rows() {
            let Some(cell) = row.cell(column) else { continue };
            match first.get(cell.text) {
                Some(line) => cx.at(
                    row.line,
                    cell.col,
                    format!("duplicate {what} id `{}`: lines {line} and {}", cell.text, row.line),
                ),
                None => {
                    first.insert(cell.text, row.line);
                }
            }
        }
    }
}

/// The fields of a tax profile by its jurisdiction's name (`TaxProfile::JURISDICTIONS`).
fn profile_fields(jurisdiction: &str) -> &'static [&'static str] {
    match jurisdiction {
        "us" => UsProfile::FIELDS,
        "uk" => UkProfile::FIELDS,
        "de" => DeProfile::FIELDS,
        _ => &[],
    }
}

/// A people column that is a tax profile's field: `us.residence` → (`us`, `residence`); any
/// other name is an unknown column.
fn tax_column(key: &str) -> Option<(&'static str, &'static str)> {
    let (j, f) = key.split_once('.')?;
    let j = TaxProfile::JURISDICTIONS.into_iter().find(|x| *x == j)?;
    let f = profile_fields(j).iter().copied().find(|x| *x == f)?;
    Some((j, f))
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn normalize(header: &str) -> String {
    header.trim().to_ascii_lowercase().replace([' ', '-'], "_")
}

/// `a`, `a or b`, `a, b or c`.
fn or_list(items: &[String]) -> String {
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// The quoting RFC 4180 forbids and the csv reader would quietly accept: text after a closing
/// quote (`"Smith, J"r`), a quote inside an unquoted cell (`5'10"`), and a quoted cell that
/// never closes (it swallows the rest of the file). `raw` is one record's text from its first
/// byte; the answer is each bad cell's 0-based index and why.
fn bad_quoting(raw: &str) -> Vec<(usize, &'static str)> {
    let b = raw.as_bytes();
    let (mut i, mut field, mut bad) = (0, 0, Vec::new());
    loop {
        if b.get(i) == Some(&b'"') {
            i += 1;
            loop {
                match b.get(i) {
                    None => {
                        bad.push((field, "a quoted cell never ends: its closing `\"` is missing"));
                        return bad;
                    }
                    Some(b'"') if b.get(i + 1) == Some(&b'"') => i += 2,
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
            if !matches!(b.get(i), None | Some(b',' | b'\r' | b'\n')) {
                bad.push((field, "text after a quoted cell's closing `\"`: quote the whole cell"));
            }
        }
        while let Some(&c) = b.get(i) {
            if matches!(c, b',' | b'\r' | b'\n') {
                break;
            }
            if c == b'"' && bad.last().is_none_or(|l| l.0 != field) {
                bad.push((field, "a `\"` inside an unquoted cell: quote the cell and double the `\"`"));
            }
            i += 1;
        }
        if b.get(i) != Some(&b',') {
            return bad;
        }
        i += 1;
        field += 1;
    }
}

// ---- reading cells --------------------------------------------------------------------------

/// One well-formed data row.
struct Row<'s> {
    sheet: &'s Sheet,
    line: usize,
    cells: &'s [String],
}

/// A non-empty cell and its column.
#[derive(Clone, Copy)]
struct Cell<'s> {
    text: &'s str,
    col: &'s Col,
}

impl<'s> Row<'s> {
    fn col(&self, name: &str) -> Option<&'s Col> {
        self.sheet.col(name)
    }

    /// The cell of `name`, when the file has the column and the cell is not empty.
    fn cell(&self, name: &str) -> Option<Cell<'s>> {
        let col = self.col(name)?;
        let text = self.cells.get(col.index).map(String::as_str).filter(|t| !t.is_empty())?;
        Some(Cell { text, col })
    }

    /// The name the file gives a column, or its own name when the file lacks it.
    fn name(&self, name: &str) -> String {
        self.col(name).map_or_else(|| name.to_owned(), |c| c.header.clone())
    }

    /// The cell of `name` read by `parse(text, header)`; a refusal is reported at the cell.
    fn parse<T>(&self, cx: &mut Cx<'_>, name: &str, parse: impl FnOnce(&str, &str) -> Result<T, String>) -> Got<T> {
        let Some(cell) = self.cell(name) else { return Ok(None) };
        match parse(cell.text, &cell.col.header) {
            Ok(v) => Ok(Some(v)),
            Err(msg) => {
                cx.at(self.line, cell.col, msg);
                Err(Reported)
            }
        }
    }

    fn text(&self, name: &str) -> Option<String> {
        self.cell(name).map(|c| c.text.to_owned())
    }

    /// A value of a column every row needs. A missing column was reported with the header.
    fn required<T>(&self, cx: &mut Cx<'_>, name: &str, got: Got<T>) -> Result<T, Reported> {
        match got? {
            Some(v) => Ok(v),
            None => {
                if let Some(col) = self.col(name) {
                    cx.at(self.line, col, format!("`{}` must not be empty", col.header));
                }
                Err(Reported)
            }
        }
    }

    fn required_text(&self, cx: &mut Cx<'_>, name: &str) -> Result<String, Reported> {
        self.required(cx, name, Ok(self.text(name)))
    }

    /// A value this row needs because of another cell, `because` (its schedule, say): a
    /// missing column is reported at that cell.
    fn needed<T>(
        &self,
        cx: &mut Cx<'_>,
        name: &str,
        got: Got<T>,
        because: Cell<'_>,
        what: &str,
    ) -> Result<T, Reported> {
        match got? {
            Some(v) => Ok(v),
            None => {
                match self.col(name) {
                    Some(col) => cx.at(self.line, col, format!("{what} needs `{}`", col.header)),
                    None => cx.at(self.line, because.col, format!("{what} needs the column `{name}`")),
                }
                Err(Reported)
            }
        }
    }
}

/// A calendar date written `YYYY-MM-DD`, within the engine's range.
fn parse_date(s: &str) -> Result<Date, String> {
    let shape = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    match Date::from_str(s) {
        Ok(d) if shape && check_date(d).is_ok() => Ok(d),
        Ok(d) if shape => Err(format!("date {d} is outside 1970-01-01 to 2199-12-31")),
        _ => Err(format!("`{s}` is not a date (YYYY-MM-DD)")),
    }
}

/// An instant: an RFC 3339 time, or a date meaning 00:00 of that day in `tz`.
fn parse_instant(s: &str, tz: &TimeZone) -> Result<Instant, String> {
    let bad = || format!("`{s}` is not a date or an RFC 3339 time within 1970 to 2199");
    if let Ok(d) = parse_date(s) {
        return calendar::start_of_day(d, tz).map_err(|_| bad());
    }
    let t = jiff::Timestamp::from_str(s).map_err(|_| bad())?.as_second();
    let date = calendar::date_of(t, tz).map_err(|_| bad())?;
    check_date(date).map_err(|_| bad())?;
    Ok(t)
}

fn parse_u32(s: &str, header: &str, lo: u32, hi: u32) -> Result<u32, String> {
    let n = s.parse::<u32>().ok().filter(|_| s.bytes().all(|b| b.is_ascii_digit()));
    match n {
        Some(n) if (lo..=hi).contains(&n) => Ok(n),
        Some(n) => Err(format!("{n} is out of range: `{header}` must be {lo} to {hi}")),
        None if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            Err(format!("{s} is out of range: `{header}` must be {lo} to {hi}"))
        }
        None => Err(format!("`{s}` is not a whole number")),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sign {
    Positive,
    NonNegative,
}

/// A decimal written as digits with at most one point (`2.50`, `0.1223`), kept exactly.
fn parse_decimal(s: &str, sign: Sign) -> Result<Decimal, String> {
    let what = if sign == Sign::Positive { "positive" } else { "non-negative" };
    let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) {
        return Err(format!("`{s}` is not a {what} decimal number such as 2.50"));
    }
    let d = Decimal::from_str_exact(s).map_err(|_| format!("`{s}` has more digits than can be kept exactly"))?;
    if sign == Sign::Positive && d.is_zero() {
        return Err(format!("`{s}` is not a {what} decimal number: it must be above zero"));
    }
    Ok(d)
}

fn parse_choice<T: Copy>(s: &str, options: &[(&str, T)]) -> Result<T, String> {
    match options.iter().find(|o| o.0 == s) {
        Some(o) => Ok(o.1),
        None => {
            let names: Vec<&str> = options.iter().map(|o| o.0).collect();
            Err(format!("`{s}` is not one of: {}", names.join(", ")))
        }
    }
}

// ---- people ---------------------------------------------------------------------------------

/// Cap-table stakeholder types, matched without regard to case.
const STAKEHOLDER_TYPES: [(&str, PersonKind); 4] = [
    ("EMPLOYEE", PersonKind::Employee),
    ("CONSULTANT", PersonKind::Contractor),
    ("ADVISOR", PersonKind::Advisor),
    ("BOARD_MEMBER", PersonKind::Advisor),
];

fn read_person(cx: &mut Cx<'_>, row: &Row<'_>) -> Result<Person, Reported> {
    let id = row.required_text(cx, "id");
    let name = row.required_text(cx, "name");
    let cap_table = row.col("kind").is_some_and(|c| c.key == "stakeholder_type");
    let kind = row.parse(cx, "kind", |s, _| {
        if cap_table {
            parse_choice(&s.to_ascii_uppercase(), &STAKEHOLDER_TYPES).map_err(|_| {
                let names: Vec<&str> = STAKEHOLDER_TYPES.iter().map(|o| o.0).collect();
                format!("`{s}` is not one of: {}", names.join(", "))
            })
        } else {
            parse_choice(s, &PersonKind::ALL.map(|k| (k.as_str(), k)))
        }
    });
    let country = row.parse(cx, "country", |c, _| {
        if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(c.to_owned())
        } else {
            Err(format!("`{c}` is not a two-letter country code (US, GB, DE, …)"))
        }
    });
    let hired = row.parse(cx, "hired", |s, _| parse_date(s));
    let salary = row.parse(cx, "salary", |s, _| parse_decimal(s, Sign::NonNegative));
    let wallet = row.parse(cx, "wallet", |s, _| match company::wallet_problem(s) {
        Some(why) => Err(why),
        None => Ok(s.to_owned()),
    });
    let tax = read_tax(cx, row);
    Ok(Person {
        id: id?,
        name: name?,
        email: row.text("email"),
        kind: kind?.unwrap_or(PersonKind::Employee),
        country: country?,
        region: row.text("region"),
        hired: hired?,
        salary: salary?,
        wallet: wallet?,
        tax: tax?,
    })
}

/// A row's tax columns, per jurisdiction through `TaxProfile::set`; each problem at its cell
/// (a field the profile needs whose column the file lacks: at the jurisdiction's first column).
fn read_tax(cx: &mut Cx<'_>, row: &Row<'_>) -> Result<TaxProfile, Reported> {
    let mut tax = TaxProfile::default();
    let mut ok = true;
    for j in TaxProfile::JURISDICTIONS {
        let cols: Vec<&(&str, &str, Col)> = row.sheet.tax.iter().filter(|(tj, _, _)| *tj == j).collect();
        let mut fields = Fields::new();
        for (_, f, col) in &cols {
            if let Some(text) = row.cells.get(col.index).filter(|t| !t.is_empty()) {
                fields.insert((*f).to_owned(), text.clone());
            }
        }
        if fields.is_empty() {
            continue;
        }
        if let Err(errors) = tax.set(j, &fields) {
            ok = false;
            for e in errors {
                let at = cols.iter().find(|(_, f, _)| *f == e.field).or(cols.first());
                if let Some((_, _, col)) = at {
                    let message = if col.key == format!("{j}.{}", e.field) {
                        e.message
                    } else {
                        format!("`{j}.{}`: {}", e.field, e.message)
                    };
                    cx.at(row.line, col, message);
                }
            }
        }
    }
    if ok { Ok(tax) } else { Err(Reported) }
}

// ---- grants ---------------------------------------------------------------------------------

struct Env<'a> {
    token: &'a Token,
    tz: &'a TimeZone,
    prices: &'a [Price],
}

/// The shapes a grants CSV can give, as `schedule` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Every 1, 3 or 12 months.
    Months(u32),
    Days,
    Linear,
}

const SCHEDULES: [(&str, Kind); 5] = [
    ("monthly", Kind::Months(1)),
    ("quarterly", Kind::Months(3)),
    ("annually", Kind::Months(12)),
    ("days", Kind::Days),
    ("linear", Kind::Linear),
];

impl Kind {
    fn name(self) -> &'static str {
        SCHEDULES.iter().find(|s| s.1 == self).map_or("", |s| s.0)
    }
}

fn read_grant(cx: &mut Cx<'_>, env: &Env<'_>, row: &Row<'_>) -> Result<GrantTerms, Reported> {
    let id = row.required_text(cx, "id");
    let holder = row.required_text(cx, "holder");
    let grant_date = row.parse(cx, "grant_date", |s, _| parse_date(s));
    let size = read_size(cx, env, row, grant_date);
    let schedule = read_schedule(cx, env, row);
    let ((amount, size), schedule) = (size?, schedule?);
    let grant = Grant { id: id?, holder: holder?, amount, schedule, performance: Vec::new(), events: Vec::new() };
    if let Err(e) = grant.timeline(env.tz, None) {
        if let Some(col) = row.col("schedule") {
            cx.at(row.line, col, e.to_string());
        }
        return Err(Reported);
    }
    let first = match &grant.schedule {
        Schedule::Calendar(c) => Some(c.start()),
        Schedule::Custom(c) => c.tranches().next().map(|t| t.0),
        Schedule::Linear(l) => calendar::date_of(l.start(), env.tz).ok(),
    };
    let grant_date = grant_date?.or(first).ok_or(Reported)?;
    Ok(GrantTerms { grant, grant_date, size, policy: GrantPolicy::default() })
}

/// The amount in base units and how it was given: `amount_tokens`, or `value_usd` at
/// `price_usd` or at the `price_average_days` average close before `grant_date`.
fn read_size(
    cx: &mut Cx<'_>,
    env: &Env<'_>,
    row: &Row<'_>,
    grant_date: Got<Date>,
) -> Result<(TokenAmount, GrantSize), Reported> {
    let (amount_name, value_name) = (row.name("amount_tokens"), row.name("value_usd"));
    match (row.cell("amount_tokens"), row.cell("value_usd")) {
        (Some(a), Some(_)) => {
            cx.at(row.line, a.col, format!("give `{amount_name}` (tokens) or `{value_name}` (fiat), not both"));
            Err(Reported)
        }
        (None, None) => {
            if let Some(col) = row.col("amount_tokens").or(row.col("value_usd")) {
                cx.at(row.line, col, format!("give `{amount_name}` (tokens) or `{value_name}` (fiat)"));
            }
            Err(Reported)
        }
        (Some(a), None) => {
            let mut ok = true;
            for name in ["price_usd", "price_average_days"] {
                if let Some(c) = row.cell(name) {
                    let msg = format!("`{}` applies only to a grant sized by `{value_name}`", c.col.header);
                    cx.at(row.line, c.col, msg);
                    ok = false;
                }
            }
            let amount = env.token.parse(a.text).map_err(|e| cx.at(row.line, a.col, e.to_string()));
            match (amount, ok) {
                // The contract refuses a grant of nothing (`ZeroAmount`); so does the import.
                (Ok(amount), true) if amount.is_zero() => {
                    cx.at(row.line, a.col, "a grant of 0 tokens: a grant must be above zero");
                    Err(Reported)
                }
                (Ok(amount), true) => Ok((amount, GrantSize::Tokens)),
                _ => Err(Reported),
            }
        }
        (None, Some(v)) => {
            let value = parse_decimal(v.text, Sign::NonNegative).map_err(|msg| cx.at(row.line, v.col, msg));
            let price = row.parse(cx, "price_usd", |s, _| parse_decimal(s, Sign::Positive));
            let days = row.parse(cx, "price_average_days", |s, h| parse_u32(s, h, 1, 365));
            let price = match (price?, days?) {
                (Some(_), Some(_)) => {
                    if let Some(c) = row.col("price_average_days") {
                        let msg = format!("give `{}` or `{}`, not both", row.name("price_usd"), c.header);
                        cx.at(row.line, c, msg);
                    }
                    return Err(Reported);
                }
                (Some(p), None) => (p, None),
                (None, Some(days)) => (average(cx, env, row, grant_date, days)?, Some(days)),
                (None, None) => {
                    let msg = format!("a grant sized by `{value_name}` needs `price_usd` or `price_average_days`");
                    cx.at(row.line, v.col, msg);
                    return Err(Reported);
                }
            };
            let (value, (price, average_days)) = (value.map_err(|()| Reported)?, price);
            match tokens_for_value(env.token, value, price) {
                Ok(amount) if amount.is_zero() => {
                    let msg = format!(
                        "a value of {value} at {price} buys 0 {}: a grant must be above zero",
                        env.token.symbol()
                    );
                    cx.at(row.line, v.col, msg);
                    Err(Reported)
                }
                Ok(amount) => Ok((amount, GrantSize::Fiat { value, currency: Currency::USD, price, average_days })),
                Err(e) => {
                    cx.at(row.line, v.col, e.to_string());
                    Err(Reported)
                }
            }
        }
    }
}

/// The average USD close of the `days` days before the grant date (`model::average_close`).
fn average(
    cx: &mut Cx<'_>,
    env: &Env<'_>,
    row: &Row<'_>,
    grant_date: Got<Date>,
    days: u32,
) -> Result<Decimal, Reported> {
    let Some(cell) = row.cell("price_average_days") else { return Err(Reported) };
    let Some(date) = grant_date? else {
        let msg = format!("`{}` needs a `{}`", cell.col.header, row.name("grant_date"));
        cx.at(row.line, cell.col, msg);
        return Err(Reported);
    };
    match model::average_close(env.prices, date, days, Currency::USD) {
        Ok(p) if !p.is_zero() => Ok(p),
        Ok(_) => {
            cx.at(row.line, cell.col, "the average price is zero");
            Err(Reported)
        }
        Err(msg) => {
            cx.at(row.line, cell.col, msg);
            Err(Reported)
        }
    }
}

/// The schedule columns, each read for its own syntax whatever the kind, then the kind's
/// rules (those of `[grant.schedule]` in the company file).
fn read_schedule(cx: &mut Cx<'_>, env: &Env<'_>, row: &Row<'_>) -> Result<Schedule, Reported> {
    let kind = row.parse(cx, "schedule", |s, _| parse_choice(s, &SCHEDULES));
    let kind = row.required(cx, "schedule", kind);
    // The start as a day (calendar schedules) and an instant (linear ones, which also take a time).
    let start = row.parse(cx, "start", |s, _| match kind {
        Ok(Kind::Linear) | Err(_) => {
            let t = parse_instant(s, env.tz)?;
            Ok((calendar::date_of(t, env.tz).map_err(|e| e.to_string())?, t))
        }
        Ok(_) => {
            let d = parse_date(s)?;
            Ok((d, calendar::start_of_day(d, env.tz).map_err(|e| e.to_string())?))
        }
    });
    let start = row.required(cx, "start", start);
    let duration = row.parse(cx, "duration_months", |s, h| parse_u32(s, h, 1, 2760));
    let cliff_months = row.parse(cx, "cliff_months", |s, h| parse_u32(s, h, 0, 2760));
    let every_days = row.parse(cx, "every_days", |s, h| parse_u32(s, h, 1, 36_500));
    let installments = row.parse(cx, "installments", |s, h| parse_u32(s, h, 1, 100_000));
    let cliff_installments = row.parse(cx, "cliff_installments", |s, h| parse_u32(s, h, 0, 100_000));
    let day_rule = row.parse(cx, "day_of_month", |s, _| {
        DayOfMonth::from_ocf_name(s).ok_or_else(|| {
            format!(
                "`{s}` is not \"01\" to \"28\", 29/30/31_OR_LAST_DAY_OF_MONTH or VESTING_START_DAY_OR_LAST_DAY_OF_MONTH"
            )
        })
    });
    let allocations: Vec<(&str, Allocation)> = Allocation::OCF_NAMES.into_iter().zip(Allocation::ALL).collect();
    let allocation = row.parse(cx, "allocation", |s, _| parse_choice(s, &allocations));
    let model = row.parse(cx, "model", |s, _| parse_choice(s, &[("openzeppelin", false), ("sablier", true)]));
    let granularity = row.parse(cx, "granularity_seconds", |s, h| parse_u32(s, h, 1, u32::MAX - 1));

    let kind = kind?;
    let Some(kind_cell) = row.cell("schedule") else { return Err(Reported) };
    let what = format!("a `{}` schedule", kind.name());
    let mut applies = true;
    for (name, kinds) in SCHEDULE_COLUMNS {
        if let Some(c) = row.cell(name)
            && !kinds.contains(&kind)
        {
            cx.at(row.line, c.col, format!("`{}` does not apply to {what}", c.col.header));
            applies = false;
        }
    }
    let start = start?;
    let allocation = allocation?.unwrap_or(Allocation::CumulativeRoundDown);
    let fail = |cx: &mut Cx<'_>, name: &str, e: ScheduleError| {
        if let Some(col) = row.col(name).or(row.col("schedule")) {
            cx.at(row.line, col, e.to_string());
        }
        Reported
    };
    match kind {
        Kind::Months(k) => {
            let duration = row.needed(cx, "duration_months", duration, kind_cell, &what);
            let cliff = cliff_months?.unwrap_or(0);
            let rule = day_rule?.unwrap_or(DayOfMonth::VestingStartDayOrLast);
            let duration = duration?;
            let mut ok = applies;
            if duration % k != 0 {
                if let Some(col) = row.col("duration_months") {
                    cx.at(row.line, col, format!("{duration} months is not a whole number of {k}-month periods"));
                }
                ok = false;
            }
            if !cliff.is_multiple_of(k) || cliff > duration {
                if let Some(col) = row.col("cliff_months") {
                    let msg = format!(
                        "the cliff ({cliff} months) must be a whole number of {k}-month periods, at most the duration"
                    );
                    cx.at(row.line, col, msg);
                }
                ok = false;
            }
            if !ok {
                return Err(Reported);
            }
            Calendar::new(start.0, Period::Months(k), duration / k, cliff / k, rule, allocation)
                .map(Schedule::Calendar)
                .map_err(|e| fail(cx, "start", e))
        }
        Kind::Days => {
            let every = row.needed(cx, "every_days", every_days, kind_cell, &what);
            let n = row.needed(cx, "installments", installments, kind_cell, &what);
            let cliff = cliff_installments?.unwrap_or(0);
            let (every, n) = (every?, n?);
            if !applies {
                return Err(Reported);
            }
            let rule = DayOfMonth::VestingStartDayOrLast;
            Calendar::new(start.0, Period::Days(every), n, cliff, rule, allocation).map(Schedule::Calendar).map_err(
                |e| match e {
                    ScheduleError::CliffTooLong { .. } => fail(cx, "cliff_installments", e),
                    _ => fail(cx, "installments", e),
                },
            )
        }
        Kind::Linear => {
            let months = row.needed(cx, "duration_months", duration, kind_cell, &what)?;
            let cliff_months = cliff_months?.unwrap_or(0);
            let granularity = granularity?.unwrap_or(1);
            let model = match model? {
                Some(true) => LinearModel::Sablier { start_unlock: 0, cliff_unlock: 0 },
                _ => LinearModel::OpenZeppelin,
            };
            if !applies {
                return Err(Reported);
            }
            let start = start.1;
            let end = months_after(start, months, env.tz).map_err(|e| fail(cx, "duration_months", e))?;
            let cliff = match cliff_months {
                0 => None,
                m => Some(months_after(start, m, env.tz).map_err(|e| fail(cx, "cliff_months", e))?),
            };
            Linear::new(start, cliff, end, granularity, model).map(Schedule::Linear).map_err(|e| match e {
                ScheduleError::CliffOutside => fail(cx, "cliff_months", e),
                ScheduleError::Granularity => fail(cx, "granularity_seconds", e),
                _ => fail(cx, "duration_months", e),
            })
        }
    }
}

/// The same time of day `months` calendar months after `start`, in `tz` (clamped to the
/// month's end).
fn months_after(start: Instant, months: u32, tz: &TimeZone) -> Result<Instant, ScheduleError> {
    let too_long = || ScheduleError::TooLong("the schedule runs past 2199");
    let date = calendar::date_of(start, tz).map_err(|_| too_long())?;
    let offset = start - calendar::start_of_day(date, tz).map_err(|_| too_long())?;
    let end = date.checked_add(i64::from(months).months()).map_err(|_| too_long())?;
    check_date(end)?;
    Ok(calendar::start_of_day(end, tz).map_err(|_| too_long())? + offset)
}
