//! A person's yearly statement, as CSV and PDF (`GET /api/people/{person}/statement`): the
//! token income of the year with what was withheld on each vest, the withholding by tax, every
//! sale with its acquisition date, basis, proceeds and gain, and the year's totals. It is the
//! tax report ([`crate::reports::tax_report`]) laid out for the person: the same events, the
//! same amounts, no internal lot id. Every fiat figure is written once by
//! [`tokencomp_money::format_fiat`] and every token figure by the token's display rule, so the
//! CSV, the PDF and the API show the same strings.

use tokencomp_formats::csv_text::neutralise;
use tokencomp_money::format_fiat;

use crate::reports::TaxReport;
use crate::{Error, Result};

/// Places a token amount shows in the statement (truncated, never rounded up).
const TOKEN_PLACES: u8 = 2;

/// One row of the statement; the CSV writes these, the PDF lays them out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// `income`, `withheld`, `sale` or `total`.
    pub section: &'static str,
    pub date: String,
    /// The grant (income) or the acquisition date of the lot sold (sale).
    pub reference: String,
    /// Tokens, in the token's display form.
    pub tokens: String,
    /// Price per token (income) or proceeds (sale).
    pub price: String,
    /// Income, withholding, basis (sale) or a total.
    pub amount: String,
    /// Withheld on the vest (income) or the gain (sale).
    pub other: String,
    pub note: String,
}

pub struct Statement {
    pub company: String,
    pub report: TaxReport,
    pub rows: Vec<Row>,
}

/// The CSV header, in the order of [`Row`]'s fields.
pub const CSV_HEADER: [&str; 8] = ["section", "date", "reference", "tokens", "price", "amount", "other", "note"];

/// The statement of `report` (made by [`crate::reports::tax_report`] for the person and year).
pub fn statement(company: &str, report: TaxReport) -> Statement {
    let (token, y) = (&report.token, &report.y);
    let cur = y.currency.code().to_owned();
    let mut rows = Vec::new();
    for e in &y.income {
        let withheld = e.withholding.employee_total();
        rows.push(Row {
            section: "income",
            date: e.income_date.to_string(),
            reference: e.grant.clone(),
            tokens: token.format_display(e.units, TOKEN_PLACES),
            price: e.price.to_string(),
            amount: format_fiat(e.token_income),
            other: format_fiat(withheld),
            note: if e.top_up.is_zero() {
                format!("{cur}; price of {}", e.income_date)
            } else {
                format!("{cur}; price of {}; top-up {}", e.income_date, format_fiat(e.top_up))
            },
        });
    }
    for (kind, amount) in &y.withheld {
        rows.push(Row {
            section: "withheld",
            date: String::new(),
            reference: (*kind).to_owned(),
            tokens: String::new(),
            price: String::new(),
            amount: format_fiat(*amount),
            other: String::new(),
            note: cur.clone(),
        });
    }
    for d in &y.disposals {
        rows.push(Row {
            section: "sale",
            date: d.sold.to_string(),
            reference: format!("acquired {}", d.acquired),
            tokens: token.format_display(d.amount, TOKEN_PLACES),
            price: format_fiat(d.proceeds),
            amount: format_fiat(d.basis),
            other: format_fiat(d.gain),
            note: format!("{cur}; {}", format!("{:?}", d.term).to_lowercase()),
        });
    }
    let withheld_total: tokencomp_money::Decimal = y.withheld.values().copied().sum();
    for (what, amount) in [
        ("token income", y.gross),
        ("withheld", withheld_total),
        ("short-term gain", y.short_gain),
        ("long-term gain", y.long_gain),
    ] {
        rows.push(Row {
            section: "total",
            date: String::new(),
            reference: what.to_owned(),
            tokens: String::new(),
            price: String::new(),
            amount: format_fiat(amount),
            other: String::new(),
            note: cur.clone(),
        });
    }
    Statement { company: company.to_owned(), report, rows }
}

impl Statement {
    /// The year as the person's tax authority names it (`2026`, or `2026-27` for the UK).
    pub fn year_label(&self) -> String {
        crate::reports::tax_year_label(self.report.year, self.report.uk)
    }

    /// The rows as CSV (RFC 4180, the formula-safe quoting every CSV of the product uses).
    pub fn to_csv(&self) -> Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let fail = |e: csv::Error| Error::internal(format!("writing the statement: {e}"));
        w.write_record(CSV_HEADER).map_err(fail)?;
        for r in &self.rows {
            // Text cells are neutralised against formulas; the figures are ours and may be
            // negative, which a spreadsheet must read as a number.
            let (reference, note) = (neutralise(&r.reference), neutralise(&r.note));
            let cells = [r.section, &r.date, &reference, &r.tokens, &r.price, &r.amount, &r.other, &note];
            w.write_record(cells).map_err(fail)?;
        }
        let bytes = w.into_inner().map_err(|e| Error::internal(format!("writing the statement: {e}")))?;
        String::from_utf8(bytes).map_err(|e| Error::internal(format!("writing the statement: {e}")))
    }

    /// The statement's text lines (what the PDF shows).
    pub fn lines(&self) -> Vec<String> {
        let who = &self.report.person;
        let cur = self.report.y.currency.code();
        let symbol = self.report.token.symbol();
        let mut out = vec![
            format!("{} — token compensation statement {}", self.company, self.year_label()),
            format!("{} ({}), amounts in {cur}, tokens in {symbol}", who.name, who.id),
            String::new(),
        ];
        let section = |out: &mut Vec<String>, title: &str, header: String| {
            out.push(title.to_owned());
            out.push(header);
        };
        let of = |s: &'static str| self.rows.iter().filter(move |r| r.section == s);
        section(
            &mut out,
            "Income",
            format!(
                "{:<12} {:<16} {:>22} {:>14} {:>16} {:>14}",
                "date", "grant", "tokens", "price", "income", "withheld"
            ),
        );
        for r in of("income") {
            out.push(format!(
                "{:<12} {:<16} {:>22} {:>14} {:>16} {:>14}",
                r.date, r.reference, r.tokens, r.price, r.amount, r.other
            ));
        }
        out.push(String::new());
        section(&mut out, "Withheld", format!("{:<30} {:>16}", "tax", "amount"));
        for r in of("withheld") {
            out.push(format!("{:<30} {:>16}", r.reference, r.amount));
        }
        out.push(String::new());
        section(
            &mut out,
            "Sales",
            format!(
                "{:<12} {:<20} {:>22} {:>16} {:>16} {:>14} {:<6}",
                "sold", "lot", "tokens", "proceeds", "basis", "gain", "term"
            ),
        );
        for r in of("sale") {
            let term = r.note.rsplit("; ").next().unwrap_or("");
            out.push(format!(
                "{:<12} {:<20} {:>22} {:>16} {:>16} {:>14} {:<6}",
                r.date, r.reference, r.tokens, r.price, r.amount, r.other, term
            ));
        }
        out.push(String::new());
        out.push("Totals".to_owned());
        for r in of("total") {
            out.push(format!("{:<30} {:>16}", r.reference, r.amount));
        }
        out
    }

    /// The statement as a PDF whose text can be extracted.
    pub fn to_pdf(&self) -> Result<Vec<u8>> {
        let title = format!("Statement {} {}", self.report.person.id, self.year_label());
        crate::pdf::render(&title, &self.lines()).map_err(|e| Error::internal(e.to_string()))
    }
}
