//! ERP journal imports (QuickBooks Online, Xero, NetSuite): the documented columns, date and
//! number formats (docs/exports.md#erp-journals, each layout's source cited there), balance per
//! journal number, only mapped accounts, and every unmapped account named at once.

// Tests may unwrap: a failure panics at the line that says what was expected.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use jiff::civil::date;
use tokencomp_compliance::books::{Amount, Entry, Journal, Posting};
use tokencomp_compliance::erp::{Erp, ErpError, to_erp};
use tokencomp_formats::erp_map::{self, ErpAccounts};
use tokencomp_money::{Currency, Decimal, Token};

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn fiat(account: &str, amount: &str) -> Posting {
    Posting { account: account.to_owned(), amount: Amount::Fiat(dec(amount)) }
}

/// Two entries on one day and one on another: an expense entry (1234.50 to two grants' expense
/// and equity) and a payroll entry (employer Medicare 17.89).
fn journal() -> Journal {
    let d = date(2026, 1, 31);
    Journal {
        title: "Example".into(),
        token: Token::new("GRID", 18).unwrap(),
        currency: Currency::USD,
        entries: vec![
            Entry {
                date: d,
                id: "expense:2026-01-31".into(),
                narration: "token compensation expense for the period ending 2026-01-31".into(),
                postings: vec![
                    fiat("Expenses:TokenCompensation:G1", "1000.00"),
                    fiat("Equity:TokenAwards", "-1000.00"),
                    fiat("Expenses:TokenCompensation:G2", "234.50"),
                    fiat("Equity:TokenAwards", "-234.50"),
                ],
            },
            Entry {
                date: d,
                id: "payroll:ada:g-1:2026-01-31".into(),
                narration: "payroll for ada".into(),
                postings: vec![
                    fiat("Expenses:PayrollTaxes", "17.89"),
                    fiat("Liabilities:PayrollTaxes:Medicare", "-17.89"),
                ],
            },
            Entry {
                date: date(2026, 2, 28),
                id: "expense:2026-02-28".into(),
                narration: "=cmd|' /C calc'!A0".into(),
                postings: vec![fiat("Expenses:TokenCompensation:G1", "0.05"), fiat("Equity:TokenAwards", "-0.05")],
            },
        ],
    }
}

const MAP: &str = r#"
[quickbooks.accounts]
"Expenses:TokenCompensation:G1" = "Stock Compensation:Tokens"
"Expenses:TokenCompensation:G2" = "Stock Compensation:Tokens"
"Equity:TokenAwards" = "APIC - Token Awards"
"Expenses:PayrollTaxes" = "Payroll Expenses:Taxes"
"Liabilities:PayrollTaxes:Medicare" = "Payroll Liabilities:Medicare"

[xero]
tax_rate = "Tax Exempt"
[xero.accounts]
"Expenses:TokenCompensation:G1" = "478"
"Expenses:TokenCompensation:G2" = "478"
"Equity:TokenAwards" = "970"
"Expenses:PayrollTaxes" = "477"
"Liabilities:PayrollTaxes:Medicare" = "825"

[netsuite]
subsidiary = "Gridline Labs Inc"
[netsuite.accounts]
"Expenses:TokenCompensation:G1" = "6410 Stock Compensation"
"Expenses:TokenCompensation:G2" = "6410 Stock Compensation"
"Equity:TokenAwards" = "3200 APIC"
"Expenses:PayrollTaxes" = "6100 Payroll Taxes"
"Liabilities:PayrollTaxes:Medicare" = "2310 Medicare Payable"
"#;

fn map(erp: Erp) -> ErpAccounts {
    erp_map::read("map.toml", MAP).expect("valid map").erp(erp.key()).expect("table").clone()
}

fn rows(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    r.records().map(|rec| headers.iter().cloned().zip(rec.unwrap().iter().map(str::to_owned)).collect()).collect()
}

/// Σ debits − Σ credits per journal number, and the accounts named.
fn per_journal(
    text: &str,
    number: &str,
    debit: impl Fn(&BTreeMap<String, String>) -> Decimal,
) -> BTreeMap<String, Decimal> {
    let mut out: BTreeMap<String, Decimal> = BTreeMap::new();
    for row in rows(text) {
        *out.entry(row[number].clone()).or_default() += debit(&row);
    }
    out
}

fn amount(s: &str) -> Decimal {
    if s.is_empty() { Decimal::ZERO } else { dec(s) }
}

#[test]
fn quickbooks_has_the_documented_columns_dates_and_numbers() {
    let text = to_erp(&journal(), Erp::QuickBooks, Some(&map(Erp::QuickBooks))).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // Intuit, "Import journal entries": Journal No, Journal Date, Account Name, Debits,
    // Credits, Description, Name; MM/DD/YYYY; a debit line leaves Credits blank.
    assert_eq!(lines[0], "Journal No,Journal Date,Account Name,Debits,Credits,Description,Name");
    assert_eq!(
        lines[1],
        "TC-20260131-01,01/31/2026,Stock Compensation:Tokens,1000.00,,token compensation expense for the period ending 2026-01-31,"
    );
    assert_eq!(
        lines[2],
        "TC-20260131-01,01/31/2026,APIC - Token Awards,,1000.00,token compensation expense for the period ending 2026-01-31,"
    );
    // A formula-looking narration is written as text (OWASP CSV injection).
    assert_eq!(lines[7], "TC-20260228-01,02/28/2026,Stock Compensation:Tokens,0.05,,'=cmd|' /C calc'!A0,");
    let sums = per_journal(&text, "Journal No", |r| amount(&r["Debits"]) - amount(&r["Credits"]));
    assert_eq!(sums.keys().collect::<Vec<_>>(), ["TC-20260131-01", "TC-20260131-02", "TC-20260228-01"]);
    assert!(sums.values().all(Decimal::is_zero), "{sums:?}");
}

#[test]
fn xero_has_the_documented_columns_dates_and_numbers() {
    let text = to_erp(&journal(), Erp::Xero, Some(&map(Erp::Xero))).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // Xero, "Add or post multiple manual journals": dd/mm/yyyy; positive amount = debit,
    // negative = credit; AccountCode is the code; TaxRate is mandatory.
    assert_eq!(
        lines[0],
        "Narration,Date,Description,AccountCode,TaxRate,Amount,TrackingName1,TrackingOption1,TrackingName2,TrackingOption2"
    );
    assert_eq!(
        lines[5],
        "TC-20260131-02 payroll for ada,31/01/2026,payroll:ada:g-1:2026-01-31,477,Tax Exempt,17.89,,,,"
    );
    assert_eq!(
        lines[6],
        "TC-20260131-02 payroll for ada,31/01/2026,payroll:ada:g-1:2026-01-31,825,Tax Exempt,-17.89,,,,"
    );
    // One journal per (narration, date), and each balances.
    let mut sums: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for r in rows(&text) {
        *sums.entry((r["Narration"].clone(), r["Date"].clone())).or_default() += dec(&r["Amount"]);
    }
    assert_eq!(sums.len(), 3);
    assert!(sums.values().all(Decimal::is_zero), "{sums:?}");
}

#[test]
fn netsuite_has_the_documented_columns_dates_and_numbers() {
    let text = to_erp(&journal(), Erp::NetSuite, Some(&map(Erp::NetSuite))).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // NetSuite Help, journal entry header and line-level fields: External ID, Date,
    // Subsidiary, Currency, Memo; Account, Debit, Credit, line Memo.
    assert_eq!(lines[0], "External ID,Date,Subsidiary,Currency,Memo,Account,Debit,Credit,Line Memo");
    assert_eq!(
        lines[3],
        "TC-20260131-01,01/31/2026,Gridline Labs Inc,USD,token compensation expense for the period ending 2026-01-31,6410 Stock Compensation,234.50,,expense:2026-01-31"
    );
    let sums = per_journal(&text, "External ID", |r| amount(&r["Debit"]) - amount(&r["Credit"]));
    assert_eq!(sums.len(), 3);
    assert!(sums.values().all(Decimal::is_zero), "{sums:?}");
}

#[test]
fn every_unmapped_account_is_named_at_once() {
    let mut partial = map(Erp::QuickBooks);
    partial.accounts.remove("Equity:TokenAwards");
    partial.accounts.insert("Expenses:PayrollTaxes".into(), String::new());
    let err = to_erp(&journal(), Erp::QuickBooks, Some(&partial)).unwrap_err();
    assert_eq!(
        err,
        ErpError::Unmapped {
            erp: "quickbooks",
            accounts: vec!["Equity:TokenAwards".into(), "Expenses:PayrollTaxes".into()],
        }
    );
    assert_eq!(
        err.to_string(),
        "2 accounts are not mapped for quickbooks (add each under [quickbooks.accounts] in the mapping file): \
         Equity:TokenAwards, Expenses:PayrollTaxes"
    );
    assert_eq!(to_erp(&journal(), Erp::Xero, None).unwrap_err(), ErpError::NoTable { erp: "xero" });
    let mut no_rate = map(Erp::Xero);
    no_rate.tax_rate = None;
    assert!(matches!(
        to_erp(&journal(), Erp::Xero, Some(&no_rate)),
        Err(ErpError::MissingSetting { erp: "xero", setting: "tax_rate", .. })
    ));
}

#[test]
fn netsuite_refuses_amounts_past_ten_digits() {
    let mut j = journal();
    j.entries.truncate(1);
    j.entries[0].postings =
        vec![fiat("Expenses:PayrollTaxes", "10000000000.00"), fiat("Equity:TokenAwards", "-10000000000.00")];
    assert!(matches!(to_erp(&j, Erp::NetSuite, Some(&map(Erp::NetSuite))), Err(ErpError::TooLarge { .. })));
    j.entries[0].postings =
        vec![fiat("Expenses:PayrollTaxes", "9999999999.99"), fiat("Equity:TokenAwards", "-9999999999.99")];
    assert!(to_erp(&j, Erp::NetSuite, Some(&map(Erp::NetSuite))).is_ok());
}
