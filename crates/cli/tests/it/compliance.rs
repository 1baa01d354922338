//! Payroll, sales, books and tax reports through the binary, on the sample company; the books
//! are checked by the real tools (bean-check, bean-query, hledger), which `./scripts/test`
//! installs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use tokencomp_compliance::payroll::{AMOUNT_COLUMNS, EMPLOYEE_TAX_COLUMNS};
use tokencomp_money::Decimal;

use crate::ledger::Company;

fn demo() -> Company {
    let c = Company::new();
    c.ok(&["demo", "--quiet"]);
    c
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap_or_else(|_| panic!("not a decimal: {s:?}"))
}

/// The payroll CSV as (person, earning code) → column → value.
fn table(csv: &str) -> BTreeMap<(String, String), BTreeMap<String, String>> {
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let headers: Vec<String> = r.headers().expect("header").iter().map(str::to_owned).collect();
    let mut out = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.expect("row");
        let row: BTreeMap<String, String> = headers.iter().cloned().zip(rec.iter().map(str::to_owned)).collect();
        out.insert((row["employee_id"].clone(), row["earning_code"].clone()), row);
    }
    out
}

#[test]
fn payroll_export_matches_its_golden_file_and_reruns_identically() {
    let c = demo();
    let csv = c.ok(&["payroll", "--period", "2026-10"]);
    insta::assert_snapshot!("payroll_2026_10", csv);
    assert_eq!(c.ok(&["payroll", "--period", "2026-10"]), csv, "a re-run changes nothing");
    let rows = table(&csv);
    // Ada (CA, $238,000 salary) vests 10,000 GRID on 2026-10-15 at the close of $0.8449.
    let ada = &rows[&("ada".to_owned(), "TOKEN".to_owned())];
    assert_eq!(ada["token_income"], "8449.00");
    // 22% federal supplemental (26 CFR 31.3402(g)-1): 8,449.00 × 0.22 = 1,858.78.
    assert_eq!(ada["federal_income_tax"], "1858.78");
    // CA supplemental 10.23%: 864.33; Medicare 1.45%: 122.51 on each side.
    assert_eq!((ada["state_income_tax"].as_str(), ada["medicare_ee"].as_str()), ("864.33", "122.51"));
    // By October her salary and vests are past the 2026 wage base: no Social Security.
    assert_eq!(ada["social_security_ee"], "0.00");
    for row in rows.values() {
        let employee: Decimal = AMOUNT_COLUMNS[EMPLOYEE_TAX_COLUMNS].iter().map(|k| dec(&row[*k])).sum();
        assert!(employee <= dec(&row["gross_supplemental_wages"]), "{row:?}");
        let tokens = dec(&row["tokens_sold"]) + dec(&row["tokens_withheld"]) + dec(&row["net_tokens"]);
        assert_eq!(tokens, dec(&row["tokens_vested"]), "{row:?}");
    }
    // A contractor: income reported on 1099-NEC, nothing withheld, every token delivered.
    let jonah = &rows[&("jonah".to_owned(), "TOKEN".to_owned())];
    assert_eq!((jonah["tax_form"].as_str(), jonah["tax_remitted"].as_str()), ("1099-NEC", "0.00"));
    assert_eq!(jonah["net_tokens"], jonah["tokens_vested"]);
    // People paid in the UK are not in the company's months: they follow UK tax months.
    assert!(rows.values().all(|r| r["currency"] != "GBP"), "no GBP rows in 2026-10");
}

#[test]
fn people_paid_in_the_uk_follow_uk_tax_months() {
    let c = demo();
    // Tax month 6 of 2026-27 runs 6 September to 5 October 2026.
    let csv = c.ok(&["payroll", "--period", "uk-2026-m06"]);
    insta::assert_snapshot!("payroll_uk_2026_m06", csv);
    let rows = table(&csv);
    assert!(!rows.is_empty() && rows.values().all(|r| r["currency"] == "GBP" && r["tax_form"] == "PAYE"));
    // Aisha vests on the 7th of each month: 2026-09-07 is in tax month 6.
    assert!(rows.contains_key(&("aisha".to_owned(), "TOKEN".to_owned())));
    c.ok(&["payroll", "close", "--period", "uk-2026-m06"]);
    // Closed, the same rows, now final rather than provisional.
    assert_eq!(c.ok(&["payroll", "--period", "uk-2026-m06"]), csv.replace(",provisional\n", ",final\n"));
    // Month 7 ends on 5 November, after the last period run.
    let out = c.run(&["payroll", "close", "--period", "uk-2026-m07"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("2026-11 has not been run"));
    c.refused(&["payroll", "--period", "uk-2026-m13"], &["uk-2026-m13"]);
    c.refused(&["payroll", "--period", "2026-13"], &["2026-13"]);
}

#[test]
fn a_closed_period_never_changes_and_a_late_termination_becomes_an_adjustment() {
    let c = demo();
    let september = c.ok(&["payroll", "--period", "2026-09"]);
    let closed = c.ok(&["payroll", "close", "--period", "2026-09"]);
    assert!(closed.contains("closed payroll 2026-09"), "{closed}");
    assert!(c.ok(&["payroll", "close", "--period", "2026-09"]).contains("already closed"));
    // A period that has not been run cannot be closed.
    let out = c.run(&["payroll", "close", "--period", "2026-11"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has not been run"));

    let october_before = table(&c.ok(&["payroll", "--period", "2026-10"]));
    // Ada's employment ended on 2026-09-01, recorded late: her September and October vests
    // are reversed by the next run.
    c.ok(&["grant", "terminate", "ada-2024-hire", "--date", "2026-09-01"]);
    c.ok(&["run", "--through", "2026-11-30", "--quiet"]);
    assert_eq!(
        c.ok(&["payroll", "--period", "2026-09"]),
        september.replace(",provisional\n", ",final\n"),
        "the closed export is frozen (and final)"
    );

    let october = table(&c.ok(&["payroll", "--period", "2026-10"]));
    assert!(!october.contains_key(&("ada".to_owned(), "TOKEN".to_owned())), "no October vest any more");
    let adj = &october[&("ada".to_owned(), "ADJUST".to_owned())];
    let sept = table(&september);
    let sept_ada = &sept[&("ada".to_owned(), "TOKEN".to_owned())];
    assert_eq!(adj["adjusts"], "2026-09");
    for col in ["token_income", "federal_income_tax", "state_income_tax", "medicare_ee", "tokens_vested", "net_tokens"]
    {
        assert_eq!(dec(&adj[col]), -dec(&sept_ada[col]), "{col}");
    }
    // Nobody else's October changed.
    for (key, row) in &october_before {
        if key.0 != "ada" {
            assert_eq!(&october[key], row, "{key:?}");
        }
    }
    // Closing October freezes the adjustment with it; November then carries none.
    c.ok(&["payroll", "close", "--period", "2026-10"]);
    // November's vests need November's prices: the missing ones are an error naming every day.
    let out = c.run(&["payroll", "--period", "2026-11"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no price recorded for ") && err.contains("\n  USD 2026-11-07 (grant "), "{err}");
    assert!(err.contains("`tokencomp import prices FILE.csv`"), "{err}");
    let mut prices = String::from("date,close_usd\n");
    for day in 1..=30 {
        prices.push_str(&format!("2026-11-{day:02},0.{}\n", 8000 + day));
    }
    let file = c.write("november.csv", &prices);
    c.ok(&["import", "prices", &file]);
    let mut fx = String::from("date,currency,per_usd\n");
    for day in 1..=30 {
        fx.push_str(&format!("2026-11-{day:02},GBP,0.79\n2026-11-{day:02},EUR,0.92\n"));
    }
    let file = c.write("november-fx.csv", &fx);
    c.ok(&["import", "fx", &file]);
    let november = table(&c.ok(&["payroll", "--period", "2026-11"]));
    assert!(november.keys().all(|(_, code)| code == "TOKEN"), "{november:?}");
}

#[test]
fn a_price_fixed_after_close_becomes_an_adjustment_and_changes_nothing_closed() {
    let c = demo();
    let september = c.ok(&["payroll", "--period", "2026-09"]);
    c.ok(&["payroll", "close", "--period", "2026-09"]);
    let before = table(&september);
    let ada = &before[&("ada".to_owned(), "TOKEN".to_owned())];
    // Ada vested 10,000 GRID on 2026-09-15; its close is corrected to $1.00.
    let out = c.ok(&["price", "correct", "--date", "2026-09-15", "--close", "1.00", "--reason", "exchange feed error"]);
    assert!(out.contains("corrected the USD close for 2026-09-15"), "{out}");
    assert_eq!(
        c.ok(&["payroll", "--period", "2026-09"]),
        september.replace(",provisional\n", ",final\n"),
        "the closed export is frozen (and final)"
    );
    let october = table(&c.ok(&["payroll", "--period", "2026-10"]));
    let adj = &october[&("ada".to_owned(), "ADJUST".to_owned())];
    // 10,000 × $1.00 = $10,000.00 now, against what September paid.
    assert_eq!(dec(&adj["token_income"]), dec("10000.00") - dec(&ada["token_income"]));
    assert_eq!(dec(&adj["tokens_vested"]), Decimal::ZERO, "the tokens did not change, only their value");
    // Bad corrections change nothing.
    c.refused(&["price", "correct", "--date", "2026-12-25", "--close", "1", "--reason", "x"], &["no USD price"]);
    c.refused(&["price", "correct", "--date", "2026-09-15", "--close", "-1", "--reason", "x"], &["close"]);
    c.refused(&["price", "correct", "--date", "2026-09-15", "--close", "2", "--reason", " "], &["reason"]);
}

#[test]
fn sales_are_matched_checked_and_recorded_once() {
    let c = demo();
    let sale =
        ["sell", "--person", "ada", "--amount", "5000", "--price", "0.90", "--on", "2026-10-20", "--fee", "2.50"];
    let sale = [&sale[..], &["--method", "hifo"]].concat();
    let out = c.ok(&sale);
    assert!(out.contains("recorded sale"), "{out}");
    let again = c.ok(&sale);
    assert!(again.contains("already recorded"), "{again}");
    c.refused(
        &["sell", "--person", "ada", "--amount", "100000000", "--price", "1", "--on", "2026-10-20"],
        &["error:", "ada"],
    );
    c.refused(
        &["sell", "--person", "chen", "--amount", "1", "--price", "1", "--on", "2026-10-20", "--method", "hifo"],
        &["fifo"],
    );
    c.refused(&["sell", "--person", "nobody", "--amount", "1", "--price", "1", "--on", "2026-10-20"], &["nobody"]);
    c.refused(&["sell", "--person", "ada", "--amount", "1", "--price", "-1", "--on", "2026-10-20"], &["price"]);

    let report = c.json(&["tax-report", "--person", "ada", "--year", "2026", "--json"]);
    let disposals = report["disposals"].as_array().expect("disposals");
    let sold: Vec<_> =
        disposals.iter().filter(|d| d["sale"].as_str().is_some_and(|s| !s.starts_with("cover:"))).collect();
    let units: u128 = sold.iter().map(|d| d["units"].as_str().expect("units").parse::<u128>().expect("u128")).sum();
    assert_eq!(units, 5000 * 1_000_000_000_000_000_000);
    let proceeds: Decimal = sold.iter().map(|d| dec(d["proceeds"].as_str().expect("p"))).sum();
    // 5,000 × $0.90 − $2.50 fee.
    assert_eq!(proceeds, dec("4497.50"));
    // HIFO takes the dearest lots first: the highest basis per token among Ada's lots.
    assert!(sold.iter().all(|d| d["term"] == "short" || d["term"] == "long"));

    let dir = tempfile::tempdir().expect("dir");
    let f8949 = dir.path().join("8949.csv");
    c.ok(&["tax-report", "--person", "ada", "--year", "2026", "--form-8949", f8949.to_str().expect("path")]);
    let text = std::fs::read_to_string(&f8949).expect("8949");
    assert!(text.lines().count() > 2, "{text}");
}

fn venv() -> PathBuf {
    let dir = std::env::var_os("TOKENCOMP_TEST_VENV")
        .expect("TOKENCOMP_TEST_VENV is not set: run ./scripts/test, which installs beancount, beanquery and hledger");
    PathBuf::from(dir)
}

fn tool(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Our own per-account totals, from the CSV export.
fn csv_balances(csv: &str) -> BTreeMap<String, Decimal> {
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let headers: Vec<String> = r.headers().expect("header").iter().map(str::to_owned).collect();
    let account = headers.iter().position(|h| h == "account").expect("account column");
    let amount = headers.iter().position(|h| h.starts_with("amount")).expect("amount column");
    let mut out: BTreeMap<String, Decimal> = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.expect("row");
        *out.entry(rec[account].to_owned()).or_default() += dec(&rec[amount]);
    }
    out.retain(|_, v| !v.is_zero());
    out
}

/// A tool's per-account totals from its CSV output: the account, then an amount with its
/// currency on either side ("123.45 USD" from bean-query, hledger's own layout).
fn tool_balances(text: &str) -> BTreeMap<String, Decimal> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let mut out = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.expect("row");
        let number = rec[1].split_whitespace().find(|p| p.parse::<Decimal>().is_ok()).unwrap_or("0");
        let v = dec(number);
        if !v.is_zero() {
            out.insert(rec[0].trim().to_owned(), v);
        }
    }
    out
}

fn hledger_balances(file: &str) -> BTreeMap<String, Decimal> {
    tool_balances(&tool("hledger", &["-f", file, "bal", "--cost", "--flat", "--no-total", "-O", "csv"]))
}

fn beanquery_balances(venv: &std::path::Path, file: &str, currency: &str) -> BTreeMap<String, Decimal> {
    let query = "SELECT account, sum(convert(cost(position), '".to_owned() + currency + "')) AS total GROUP BY account";
    tool_balances(&tool(venv.join("bin/bean-query").to_str().expect("path"), &["-f", "csv", file, &query]))
}

#[test]
fn company_and_personal_books_are_accepted_by_beancount_and_hledger_and_agree_with_ours() {
    let venv = venv();
    let c = demo();
    c.ok(&["sell", "--person", "ada", "--amount", "2500.5", "--price", "0.91", "--on", "2026-10-21", "--fee", "1.25"]);
    c.ok(&["sell", "--person", "ada", "--amount", "1200", "--price", "0.40", "--on", "2025-06-02", "--method", "lifo"]);
    c.ok(&["sell", "--person", "fatima", "--amount", "300", "--price", "0.95", "--on", "2026-10-22"]);
    let dir = tempfile::tempdir().expect("dir");
    let cases: [(&[&str], &str); 4] = [
        (&["books", "--from", "2024-01-01", "--to", "2026-10-31"], "USD"),
        (&["books", "--from", "2026-01-01", "--to", "2026-10-31"], "USD"),
        (&["books", "--from", "2024-01-01", "--to", "2026-10-31", "--person", "ada"], "USD"),
        (&["books", "--from", "2026-07-01", "--to", "2026-10-31", "--person", "fatima"], "EUR"),
    ];
    for (i, (args, currency)) in cases.iter().enumerate() {
        let with = |format: &str, ext: &str| {
            let path = dir.path().join(format!("books-{i}.{ext}"));
            let mut a: Vec<&str> = args.to_vec();
            let p = path.to_str().expect("path").to_owned();
            a.extend(["--format", format, "--out", &p]);
            c.ok(&a);
            p
        };
        let csv_path = with("csv", "csv");
        let ours = csv_balances(&std::fs::read_to_string(&csv_path).expect("csv"));
        assert!(!ours.is_empty(), "{args:?}: empty books");
        let bean = with("beancount", "beancount");
        tool(venv.join("bin/bean-check").to_str().expect("path"), &[&bean]);
        assert_eq!(beanquery_balances(&venv, &bean, currency), ours, "{args:?}: bean-query disagrees");
        let ledger = with("hledger", "journal");
        tool("hledger", &["-f", &ledger, "check"]);
        assert_eq!(hledger_balances(&ledger), ours, "{args:?}: hledger disagrees");
    }
    // UK people's disposals match a section 104 pool, which lot-level books cannot show yet:
    // refused with a reason, not written wrong.
    let out =
        c.run(&["books", "--from", "2026-01-01", "--to", "2026-10-31", "--person", "chen", "--format", "beancount"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("section 104"));
}

#[test]
fn rollforward_reconciles_units_and_expense() {
    let c = demo();
    let r = c.json(&["rollforward", "--from", "2026-01-01", "--to", "2026-10-31", "--json"]);
    let u = |k: &str| r["units"][k].as_str().expect("units").parse::<u128>().expect("u128");
    assert_eq!(u("opening") + u("granted") - u("vested") - u("forfeited"), u("closing"));
    let e = |k: &str| dec(r["expense"][k].as_str().expect("expense"));
    assert_eq!(e("opening") + e("recognized"), e("closing"));
    assert!(e("recognized") > Decimal::ZERO && e("unrecognized") > Decimal::ZERO, "{r}");
    // The company journal's expense for the same months is the rollforward's recognized expense.
    let csv = c.ok(&["books", "--from", "2026-01-01", "--to", "2026-10-31"]);
    let expense: Decimal = csv_balances(&csv)
        .iter()
        .filter(|(a, _)| a.starts_with("Expenses:TokenCompensation:") && !a.ends_with("TopUps"))
        .map(|(_, v)| *v)
        .sum();
    assert_eq!(expense, e("recognized"));
}
