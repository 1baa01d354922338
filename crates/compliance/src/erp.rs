//! A [`Journal`] in the journal-import layouts of three ERPs, with the company's own chart of
//! accounts (`tokencomp_formats::erp_map`): QuickBooks Online, Xero and NetSuite.
//!
//! Each layout follows the product's own import documentation (docs/exports.md#erp-journals,
//! consulted 2026-12-07):
//!
//! - **QuickBooks Online** — Intuit, QuickBooks Online Help, "Import journal entries" (help
//!   article L4tQBwbs7, en-AU edition; the page shows no date): columns `Journal No`, `Journal
//!   Date`, `Account Name`, `Debits`, `Credits`, `Description`, `Name`; rows sharing a journal
//!   number form one entry, which must balance; a sub-account is written `Parent:Sub`. The
//!   page does not print a date format: `MM/DD/YYYY` is a US company's date setting, as the
//!   import guides of postbooks.app and spreadsheetbroccoli.com (2026) state; amounts positive
//!   with two decimals, the other side blank.
//! - **Xero** — Xero Central, "Add or post multiple manual journals" (help.xero.com
//!   ManualJournalsImport): columns `Narration`, `Date`, `Description`, `AccountCode`,
//!   `TaxRate`, `Amount`, `TrackingName1`, `TrackingOption1`, `TrackingName2`,
//!   `TrackingOption2`; rows with the same narration and date form one journal; dates
//!   `dd/mm/yyyy`; the amount is a debit when positive and a credit when negative; the account
//!   is its code; the tax rate's name is mandatory; at most 300 lines per file.
//! - **NetSuite** — Oracle NetSuite Help, "Journal Entry and Intercompany Journal Entry Header
//!   Fields Table" and "…Line-Level Fields Table" (CSV Import Assistant): header `External ID`,
//!   `Date`, `Subsidiary` (OneWorld), `Currency`, `Memo`; lines `Account`, `Debit`, `Credit` and
//!   a line memo; an entry needs two lines or more and balancing debits and credits; a debit or
//!   credit has at most 10 digits before the decimal point and 2 after. Dates `MM/DD/YYYY`:
//!   the help asks for the account's date-format preference, and this is NetSuite's US default
//!   (an account set otherwise must change its preference for the import or convert the file).
//!
//! Journal numbers are `TC-YYYYMMDD-NN`: the entry's date and its place among that date's
//! entries, so a re-export of a range gives the same numbers. Every amount is an entry's own
//! cents (a posting's weight at cost); nothing is rounded here. This module never reads a file
//! or a clock and never invents an account: a journal naming an account the mapping leaves
//! unmapped is refused, naming every such account at once.

use std::collections::BTreeMap;

use tokencomp_formats::csv_text::neutralise;
use tokencomp_formats::erp_map::ErpAccounts;
use tokencomp_money::Decimal;

use crate::books::{BooksError, Journal};

/// The ERPs we write journal imports for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Erp {
    QuickBooks,
    Xero,
    NetSuite,
}

impl Erp {
    pub const ALL: [Erp; 3] = [Erp::QuickBooks, Erp::Xero, Erp::NetSuite];

    /// The name used on the command line and as the mapping file's table.
    pub fn key(self) -> &'static str {
        match self {
            Erp::QuickBooks => "quickbooks",
            Erp::Xero => "xero",
            Erp::NetSuite => "netsuite",
        }
    }

    pub fn from_key(key: &str) -> Option<Erp> {
        Erp::ALL.into_iter().find(|e| e.key() == key)
    }

    /// The layout's header row, exactly as written.
    pub fn header(self) -> &'static [&'static str] {
        match self {
            Erp::QuickBooks => {
                &["Journal No", "Journal Date", "Account Name", "Debits", "Credits", "Description", "Name"]
            }
            Erp::Xero => &[
                "Narration",
                "Date",
                "Description",
                "AccountCode",
                "TaxRate",
                "Amount",
                "TrackingName1",
                "TrackingOption1",
                "TrackingName2",
                "TrackingOption2",
            ],
            Erp::NetSuite => {
                &["External ID", "Date", "Subsidiary", "Currency", "Memo", "Account", "Debit", "Credit", "Line Memo"]
            }
        }
    }
}

/// Why a journal cannot be written for an ERP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErpError {
    #[error(transparent)]
    Books(Box<BooksError>),
    #[error("the mapping file has no [{erp}.accounts] table; write a starter with `tokencomp books --write-map FILE`")]
    NoTable { erp: &'static str },
    #[error(
        "{} account{} not mapped for {erp} (add each under [{erp}.accounts] in the mapping file): {}",
        accounts.len(),
        if accounts.len() == 1 { " is" } else { "s are" },
        accounts.join(", ")
    )]
    Unmapped { erp: &'static str, accounts: Vec<String> },
    #[error("{erp}: `{setting}` is empty in the mapping file: {why}")]
    MissingSetting { erp: &'static str, setting: &'static str, why: &'static str },
    #[error("entry `{id}`, account `{account}`: {amount} is more than NetSuite's 10 digits before the decimal point")]
    TooLarge { id: String, account: String, amount: Decimal },
    #[error("Xero imports at most 300 lines per file; this journal has {lines}: export a shorter range")]
    TooManyLines { lines: usize },
    #[error("CSV writing failed: {0}")]
    Csv(String),
}

impl From<BooksError> for ErpError {
    fn from(e: BooksError) -> ErpError {
        ErpError::Books(Box::new(e))
    }
}

/// What a row of any layout carries.
struct Line<'a> {
    number: String,
    id: &'a str,
    date: jiff::civil::Date,
    narration: &'a str,
    account: &'a str,
    /// Positive: debit; negative: credit; never zero.
    amount: Decimal,
}

/// Every account the journal names, in order of first use.
pub fn accounts(journal: &Journal) -> Vec<&str> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for p in journal.entries.iter().flat_map(|e| &e.postings) {
        if seen.insert(p.account.as_str()) {
            out.push(p.account.as_str());
        }
    }
    out
}

fn lines(journal: &Journal) -> Vec<Line<'_>> {
    let mut per_day: BTreeMap<jiff::civil::Date, u32> = BTreeMap::new();
    let mut out = Vec::new();
    for entry in &journal.entries {
        let n = per_day.entry(entry.date).or_insert(0);
        *n += 1;
        let number = format!("TC-{}-{:02}", entry.date.strftime("%Y%m%d"), n);
        for p in &entry.postings {
            let amount = p.amount.weight();
            if amount.is_zero() {
                continue;
            }
            out.push(Line {
                number: number.clone(),
                id: &entry.id,
                date: entry.date,
                narration: &entry.narration,
                account: &p.account,
                amount,
            });
        }
    }
    out
}

/// A whole-cent amount with exactly two decimals and no sign, grouping or symbol: `1234.50`.
fn cents_text(d: Decimal) -> String {
    let mut x = d.abs();
    x.rescale(2);
    x.to_string()
}

/// One line of text for a cell: control characters become spaces, formula starts are quoted.
fn cell(s: &str) -> String {
    let one: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    neutralise(&one).into_owned()
}

/// The journal in `erp`'s import layout, accounts translated by `map` (that ERP's part of the
/// mapping file). Checks the journal first ([`Journal::check`]): each entry balances, so each
/// journal number does.
pub fn to_erp(journal: &Journal, erp: Erp, map: Option<&ErpAccounts>) -> Result<String, ErpError> {
    journal.check()?;
    let map = map.ok_or(ErpError::NoTable { erp: erp.key() })?;
    let unmapped: Vec<String> = accounts(journal)
        .into_iter()
        .filter(|a| map.accounts.get(*a).is_none_or(String::is_empty))
        .map(str::to_owned)
        .collect();
    if !unmapped.is_empty() {
        return Err(ErpError::Unmapped { erp: erp.key(), accounts: unmapped });
    }
    let theirs = |ours: &str| map.accounts.get(ours).map(String::as_str).unwrap_or_default();
    let rows = lines(journal);
    let csv_err = |e: csv::Error| ErpError::Csv(e.to_string());
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(erp.header()).map_err(csv_err)?;
    let split = |l: &Line| -> (String, String) {
        if l.amount.is_sign_positive() {
            (cents_text(l.amount), String::new())
        } else {
            (String::new(), cents_text(l.amount))
        }
    };
    match erp {
        Erp::QuickBooks => {
            for l in &rows {
                let (dr, cr) = split(l);
                let date = l.date.strftime("%m/%d/%Y").to_string();
                let record =
                    [l.number.clone(), date, cell(theirs(l.account)), dr, cr, cell(l.narration), String::new()];
                w.write_record(&record).map_err(csv_err)?;
            }
        }
        Erp::Xero => {
            if rows.len() > 300 {
                return Err(ErpError::TooManyLines { lines: rows.len() });
            }
            let tax_rate = map.tax_rate.as_deref().filter(|t| !t.is_empty()).ok_or(ErpError::MissingSetting {
                erp: "xero",
                setting: "tax_rate",
                why: "Xero's import requires a tax rate on every line; give the name of a no-tax rate as your Xero \
                      tax settings show it",
            })?;
            for l in &rows {
                let amount = if l.amount.is_sign_positive() {
                    cents_text(l.amount)
                } else {
                    format!("-{}", cents_text(l.amount))
                };
                let narration = cell(&format!("{} {}", l.number, l.narration));
                let date = l.date.strftime("%d/%m/%Y").to_string();
                let record = [
                    narration,
                    date,
                    cell(l.id),
                    cell(theirs(l.account)),
                    cell(tax_rate),
                    amount,
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ];
                w.write_record(&record).map_err(csv_err)?;
            }
        }
        Erp::NetSuite => {
            let subsidiary = map.subsidiary.as_deref().map(cell).unwrap_or_default();
            let currency = journal.currency.code();
            for l in &rows {
                // 10 digits before the decimal point: below 10^10.
                if l.amount.abs() >= Decimal::from(10_000_000_000_i64) {
                    return Err(ErpError::TooLarge {
                        id: l.id.to_owned(),
                        account: l.account.to_owned(),
                        amount: l.amount,
                    });
                }
                let (dr, cr) = split(l);
                let date = l.date.strftime("%m/%d/%Y").to_string();
                let record = [
                    l.number.clone(),
                    date,
                    subsidiary.clone(),
                    currency.to_owned(),
                    cell(l.narration),
                    cell(theirs(l.account)),
                    dr,
                    cr,
                    cell(l.id),
                ];
                w.write_record(&record).map_err(csv_err)?;
            }
        }
    }
    let bytes = w.into_inner().map_err(|e| ErpError::Csv(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| ErpError::Csv(e.to_string()))
}
