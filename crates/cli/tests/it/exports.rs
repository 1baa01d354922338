//! Exports to the tools finance teams use, through the binary on the sample company: the ERP
//! journal imports (QuickBooks Online, Xero, NetSuite) with a chart-of-accounts mapping file
//! (docs/exports.md).

use std::collections::{BTreeMap, BTreeSet};

use tokencomp_money::Decimal;

use crate::ledger::Company;

fn demo() -> Company {
    let c = Company::new();
    c.ok(&["demo", "--quiet"]);
    c
}

fn rows(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = r.headers().expect("header").iter().map(str::to_owned).collect();
    r.records().map(|rec| headers.iter().cloned().zip(rec.expect("row").iter().map(str::to_owned)).collect()).collect()
}

fn amount(s: &str) -> Decimal {
    if s.is_empty() { Decimal::ZERO } else { s.parse().unwrap_or_else(|_| panic!("not a number: {s:?}")) }
}

/// `dd/dd/dddd` with the month and day in range for `order` ("md" or "dm").
fn is_date(s: &str, order: &str) -> bool {
    let parts: Vec<&str> = s.split('/').collect();
    let [a, b, y] = parts.as_slice() else { return false };
    let ok = |p: &str, n: usize| p.len() == n && p.bytes().all(|c| c.is_ascii_digit());
    if !(ok(a, 2) && ok(b, 2) && ok(y, 4)) {
        return false;
    }
    let (m, d) = if order == "md" { (a, b) } else { (b, a) };
    let (m, d): (u32, u32) = (m.parse().unwrap_or(0), d.parse().unwrap_or(0));
    (1..=12).contains(&m) && (1..=31).contains(&d)
}

/// Exactly two decimals, no sign unless `signed`, no grouping.
fn is_number(s: &str, signed: bool) -> bool {
    let s = if signed { s.strip_prefix('-').unwrap_or(s) } else { s };
    let Some((int, frac)) = s.split_once('.') else { return false };
    !int.is_empty()
        && int.bytes().all(|c| c.is_ascii_digit())
        && frac.len() == 2
        && frac.bytes().all(|c| c.is_ascii_digit())
}

/// The demo company's journal for 2026 in each ERP's layout: a starter map names every account
/// unmapped and the export is refused naming them all; filled in, each file balances per
/// journal number, uses the layout's date and number formats, and names only mapped accounts.
#[test]
fn erp_journals_of_the_demo_company_balance_use_the_layout_and_only_mapped_accounts() {
    let c = demo();
    // One month: Xero takes at most 300 lines per file.
    let range = ["--from", "2026-10-01", "--to", "2026-10-31"];
    let starter = c.dir_path().join("map.toml").display().to_string();
    c.ok(&[&["books"][..], &range[..], &["--write-map", &starter]].concat());
    let text = std::fs::read_to_string(&starter).expect("starter");
    let ours: Vec<String> = text
        .lines()
        .skip_while(|l| *l != "[quickbooks.accounts]")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| l.split(" = ").next().expect("key").trim_matches('"').to_owned())
        .collect();
    assert!(ours.contains(&"Liabilities:PayrollTaxes:EmployerNic".to_owned()), "{ours:?}");
    assert!(ours.iter().all(|a| !a.contains("-X")), "readable names, no hash suffixes: {ours:?}");

    // Unfilled: refused with every account named.
    let out = c.run(&[&["books"][..], &range[..], &["--format", "quickbooks", "--map", &starter]].concat());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{} accounts are not mapped for quickbooks", ours.len())), "{err}");
    for a in &ours {
        assert!(err.contains(a.as_str()), "{a} not named in {err}");
    }

    // Filled: our i-th account is the ERP's "Account i" / code 1000 + i.
    let mut filled = String::from("[xero]\ntax_rate = \"Tax Exempt\"\n[netsuite]\nsubsidiary = \"Gridline\"\n");
    for erp in ["quickbooks", "xero", "netsuite"] {
        filled.push_str(&format!("[{erp}.accounts]\n"));
        for (i, a) in ours.iter().enumerate() {
            let theirs = if erp == "xero" { format!("{}", 1000 + i) } else { format!("Account {i}") };
            filled.push_str(&format!("\"{a}\" = \"{theirs}\"\n"));
        }
    }
    let map = c.write("filled.toml", &filled);
    let mapped = |erp: &str| -> BTreeSet<String> {
        (0..ours.len()).map(|i| if erp == "xero" { format!("{}", 1000 + i) } else { format!("Account {i}") }).collect()
    };
    // (format, journal key, account column, date column, date order, debit/credit or signed amount)
    let layouts = [
        ("quickbooks", "Journal No", "Account Name", "Journal Date", "md", Some(("Debits", "Credits")), None),
        ("xero", "Narration", "AccountCode", "Date", "dm", None, Some("Amount")),
        ("netsuite", "External ID", "Account", "Date", "md", Some(("Debit", "Credit")), None),
    ];
    for (erp, key, account, date, order, sides, signed) in layouts {
        let csv = c.ok(&[&["books"][..], &range[..], &["--format", erp, "--map", &map]].concat());
        let rows = rows(&csv);
        assert!(rows.len() > 20, "{erp}: {} rows", rows.len());
        let mut sums: BTreeMap<(String, String), Decimal> = BTreeMap::new();
        for r in &rows {
            assert!(mapped(erp).contains(&r[account]), "{erp}: unmapped account {:?}", r[account]);
            assert!(is_date(&r[date], order), "{erp}: date {:?}", r[date]);
            let value = match (sides, signed) {
                (Some((dr, cr)), _) => {
                    // Exactly one side filled, a plain positive number with two decimals.
                    assert!(r[dr].is_empty() != r[cr].is_empty(), "{erp}: {r:?}");
                    let filled = if r[dr].is_empty() { &r[cr] } else { &r[dr] };
                    assert!(is_number(filled, false), "{erp}: {filled:?}");
                    amount(&r[dr]) - amount(&r[cr])
                }
                (None, Some(col)) => {
                    assert!(is_number(&r[col], true), "{erp}: {:?}", r[col]);
                    amount(&r[col])
                }
                _ => unreachable!("each layout has debit/credit or a signed amount"),
            };
            *sums.entry((r[key].clone(), r[date].clone())).or_default() += value;
        }
        assert!(sums.len() > 2, "{erp}: {} journals", sums.len());
        for ((number, day), sum) in &sums {
            assert!(sum.is_zero(), "{erp}: journal {number} of {day} is off by {sum}");
        }
    }
}

/// `payroll --layout`: an open period's file says provisional in its name and its sidecar (with
/// the file's SHA-256), a closed one is final; Gusto is refused (exit 2) with the reason; the
/// generic export is unchanged by the flag's default.
#[test]
fn provider_layouts_carry_their_status_in_the_name_and_the_sidecar() {
    let c = demo();
    let generic = c.ok(&["payroll", "--period", "2026-10"]);
    assert_eq!(c.ok(&["payroll", "--period", "2026-10", "--layout", "generic"]), generic);
    let out = c.dir_path().join("rippling-2026-10.csv");
    let said = c.ok(&["payroll", "--period", "2026-10", "--layout", "rippling", "--out", out.to_str().expect("path")]);
    assert!(said.contains("editable column map"), "{said}");
    let written = c.dir_path().join("rippling-2026-10-provisional.csv");
    assert!(!out.exists(), "an open period's file is named provisional");
    let csv = std::fs::read_to_string(&written).expect("layout file");
    assert!(!csv.contains("provisional"), "the status stays out of the layout");
    assert_eq!(csv.lines().next(), Some("Employee ID,Employee Name,Pay Period End,Earning Type,Amount,Reimbursement"));
    let sidecar: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(c.dir_path().join("rippling-2026-10-provisional.csv.json")).expect("sidecar"),
    )
    .expect("JSON");
    assert_eq!(sidecar["status"], "provisional");
    assert_eq!(sidecar["period"], "2026-10");
    assert_eq!(sidecar["rows"], csv.lines().count() - 1);
    assert_eq!(sidecar["sha256"].as_str(), Some(tokencomp_store::sha256_hex(&csv).as_str()));
    assert!(sidecar["exported_at"].is_string() && sidecar["rules"]["rules_sha256"].is_string());

    c.ok(&["payroll", "close", "--period", "2026-09"]);
    let closed = c.dir_path().join("rippling-2026-09.csv");
    c.ok(&["payroll", "--period", "2026-09", "--layout", "rippling", "--out", closed.to_str().expect("path")]);
    let sidecar: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(c.dir_path().join("rippling-2026-09.csv.json")).expect("sidecar"),
    )
    .expect("JSON");
    assert_eq!(sidecar["status"], "final");

    let gusto = c.dir_path().join("gusto.csv");
    c.refused(
        &["payroll", "--period", "2026-10", "--layout", "gusto", "--out", gusto.to_str().expect("path")],
        &["the gusto layout is refused: it can carry only cash earnings", "custom earning types are not supported"],
    );
    assert!(!gusto.exists() && !c.dir_path().join("gusto-provisional.csv").exists());
}

/// `payroll reconcile`: a register that agrees exits 0; one planted difference exits 1 naming
/// the person, the tax line, both amounts and the difference; a bad amount is refused (exit 2)
/// at file:line:column.
#[test]
fn reconcile_names_every_difference_and_bad_rows() {
    let c = demo();
    let generic = c.ok(&["payroll", "--period", "2026-10"]);
    // A register built from our own rows: the employees on payroll (W-2), our tax columns.
    let mut register = String::from(
        "Employee ID,Employee Name,Federal Income Tax,Social Security,Medicare,Additional Medicare,State Income Tax\n",
    );
    for r in rows(&generic).iter().filter(|r| r["tax_form"] == "W-2") {
        register.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            r["employee_id"],
            r["employee_name"],
            r["federal_income_tax"],
            r["social_security_ee"],
            r["medicare_ee"],
            r["additional_medicare_ee"],
            r["state_income_tax"]
        ));
    }
    let agreeing = c.write("register.csv", &register);
    let said = c.ok(&["payroll", "reconcile", "--layout", "rippling", &agreeing, "--period", "2026-10"]);
    assert!(said.contains("agrees with payroll 2026-10"), "{said}");

    // Ada's Medicare per the demo's golden payroll (crates/cli/tests/it/compliance.rs): 122.51.
    assert!(register.contains(",122.51,"), "{register}");
    let planted = c.write("planted.csv", &register.replacen(",122.51,", ",123.01,", 1));
    let out = c.run(&["payroll", "reconcile", "--layout", "rippling", &planted, "--period", "2026-10"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout, "ada: medicare: ours 122.51 theirs 123.01 difference 0.50\n");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("1 difference between the rippling register and payroll 2026-10")
    );

    let bad = c.write("bad.csv", &register.replacen(",122.51,", ",12x.51,", 1));
    c.refused(
        &["payroll", "reconcile", "--layout", "rippling", &bad, "--period", "2026-10"],
        &["`12x.51` is not an amount", "bad.csv:2:"],
    );
}
