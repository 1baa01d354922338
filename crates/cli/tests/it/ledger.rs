//! The ledger through the binary: loading, period runs, queries, and bad input that must
//! change nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tokencomp_store::sqlite::SqliteStore;
use tokencomp_store::{Store, canonical_dump};

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(crate) struct Company {
    dir: tempfile::TempDir,
}

impl Company {
    pub(crate) fn new() -> Company {
        Company { dir: tempfile::tempdir().expect("temp dir") }
    }

    pub(crate) fn dir_path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_tokencomp"))
            .arg("--data")
            .arg(self.data())
            .args(["--actor", "user:test"])
            .args(args)
            .current_dir(root())
            .env_remove("TOKENCOMP_DATABASE")
            .output()
            .expect("runs")
    }

    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub(crate) fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).expect("JSON")
    }

    /// Exit code 2, every expected fragment on stderr, and the ledger exactly as before.
    pub(crate) fn refused(&self, args: &[&str], fragments: &[&str]) {
        let before = self.dump();
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        for f in fragments {
            assert!(err.contains(f), "{args:?}: expected `{f}` in:\n{err}");
        }
        assert_eq!(self.dump(), before, "{args:?} changed the ledger");
    }

    pub(crate) fn dump(&self) -> String {
        let path = self.data().join("ledger.sqlite");
        if !path.exists() {
            return String::new();
        }
        let mut s = SqliteStore::open(&path).expect("opens");
        canonical_dump(&s.events().expect("events"))
    }

    pub(crate) fn write(&self, name: &str, text: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p.display().to_string()
    }
}

const E18: u128 = 1_000_000_000_000_000_000;

fn units(v: &Value) -> u128 {
    v.as_str().expect("string").parse().expect("units")
}

#[test]
fn runs_are_idempotent_and_loading_twice_changes_nothing() {
    let c = Company::new();
    c.ok(&["init", "examples/company.toml"]);
    c.ok(&["import", "prices", "examples/prices.csv"]);
    c.ok(&["run", "--through", "2026-06-30", "--quiet"]);
    let once = c.dump();
    assert!(c.ok(&["run", "--through", "2026-06-30", "--quiet"]).contains("nothing to run"));
    c.ok(&["apply", "examples/company.toml"]);
    c.ok(&["import", "prices", "examples/prices.csv"]);
    assert_eq!(c.dump(), once);
    // A later run continues where the first stopped and equals one run straight through.
    c.ok(&["run", "--through", "2026-10-31", "--quiet"]);
    let d = Company::new();
    d.ok(&["init", "examples/company.toml"]);
    d.ok(&["import", "prices", "examples/prices.csv"]);
    d.ok(&["run", "--through", "2026-10-31", "--quiet"]);
    assert_eq!(c.dump(), d.dump());
    c.ok(&["verify-ledger"]);
}

#[test]
fn queries_report_the_ledger() {
    let c = Company::new();
    c.ok(&["demo", "--quiet"]);
    let g = c.json(&["grants", "--person", "ada", "--as-of", "2026-10-31", "--json"]);
    assert_eq!(g["token"]["symbol"], "GRID");
    let ada = g["grants"].as_array().expect("grants").iter().find(|x| x["id"] == "ada-2024-hire").expect("ada");
    assert_eq!(units(&ada["vested"]), 330_000 * E18);
    let cal = c.json(&["calendar", "--from", "2026-11-01", "--to", "2026-11-30", "--json"]);
    let sum: u128 = cal["vests"].as_array().expect("vests").iter().map(|v| units(&v["amount"])).sum();
    assert_eq!(units(&cal["total"]), sum);
    let per: u128 = cal["per_person"].as_array().expect("people").iter().map(|v| units(&v["amount"])).sum();
    assert_eq!(per, sum);
    // Ada vests 10,000 on 2026-11-15.
    assert!(
        cal["vests"]
            .as_array()
            .expect("vests")
            .iter()
            .any(|v| v["grant"] == "ada-2024-hire" && v["date"] == "2026-11-15" && units(&v["amount"]) == 10_000 * E18)
    );
    let h = c.json(&["history", "chen-2024-hire", "--json"]);
    let kinds: Vec<&str> =
        h["events"].as_array().expect("events").iter().map(|e| e["kind"].as_str().expect("kind")).collect();
    assert_eq!(kinds[..2], ["grant.issued", "grant.event"]);
    assert!(kinds.contains(&"forfeiture"));
    assert!(h["events"].as_array().expect("events").iter().all(|e| e["actor"] == "system"));
}

#[test]
fn apply_records_changes_as_new_and_reversing_events() {
    let c = Company::new();
    c.ok(&["init", "examples/company.toml"]);
    c.ok(&["import", "prices", "examples/prices.csv"]);
    c.ok(&["run", "--through", "2026-10-31", "--quiet"]);
    let before = c.json(&["grants", "--person", "chen", "--as-of", "2026-10-31", "--json"]);
    assert_eq!(units(&before["grants"][0]["forfeited"]), 100_000 * E18);
    // Chen's termination is withdrawn and a new grant appears.
    let text = std::fs::read_to_string(root().join("examples/company.toml")).expect("read");
    let start = text.find("[[grant.event]]\nid = \"chen-termination\"").expect("chen's termination");
    let end = start + text[start..].find("accelerate_months = 3\n").expect("its end") + "accelerate_months = 3\n".len();
    let mut changed = format!("{}{}", &text[..start], &text[end..]);
    changed.push_str("\n[[grant]]\nid = \"ada-2026-bonus\"\nholder = \"ada\"\namount = \"1200\"\n[grant.schedule]\ntype = \"monthly\"\nstart = 2026-06-01\nduration_months = 12\n");
    let f = c.write("changed.toml", &changed);
    let out = c.ok(&["apply", &f]);
    assert!(out.contains("2 new events"), "{out}");
    let h = c.json(&["history", "chen-2024-hire", "--json"]);
    assert!(
        h["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["kind"] == "grant.event_reversed" && e["actor"] == "user:test")
    );
    // The next run reverses the forfeiture and the acceleration, and recognizes Chen's vests
    // since, in the first open period.
    c.ok(&["run", "--through", "2026-11-30", "--quiet"]);
    let after = c.json(&["grants", "--person", "chen", "--as-of", "2026-11-30", "--json"]);
    assert_eq!(units(&after["grants"][0]["forfeited"]), 0);
    let h = c.json(&["history", "chen-2024-hire", "--json"]);
    let reversals: Vec<&Value> =
        h["events"].as_array().expect("events").iter().filter(|e| e["kind"] == "forfeiture.reversal").collect();
    assert_eq!(reversals.len(), 1);
    assert_eq!(units(&reversals[0]["amount"]), 100_000 * E18);
    assert_eq!(reversals[0]["payload"]["period"], "2026-11");
    c.ok(&["verify-ledger"]);
}

#[test]
fn single_actions_are_checked_before_they_are_recorded() {
    let c = Company::new();
    c.ok(&["init", "examples/company.toml"]);
    c.ok(&["grant", "leave", "dara-2025-hire", "--from", "2026-12-01", "--until", "2027-01-01"]);
    c.ok(&[
        "grant",
        "terminate",
        "dara-2025-hire",
        "--date",
        "2027-03-31",
        "--cause",
        "without-cause",
        "--accelerate-percent",
        "12.5",
    ]);
    // Nothing can follow the end of a grant; a leave cannot end before it starts.
    c.refused(
        &["grant", "leave", "dara-2025-hire", "--from", "2027-05-01", "--until", "2027-06-01"],
        &["after the grant ended"],
    );
    c.refused(
        &["grant", "leave", "ada-2024-hire", "--from", "2026-05-01", "--until", "2026-04-01"],
        &["must end after it starts"],
    );
    c.refused(&["grant", "terminate", "nobody", "--date", "2026-05-01"], &["no grant has id `nobody`"]);
    c.refused(
        &["grant", "change-of-control", "all", "--date", "2026-05-01", "--trigger", "single", "--percent", "101"],
        &["not a percentage"],
    );
    c.refused(
        &["grant", "add", "--id", "x", "--holder", "nobody", "--amount", "10", "--start", "2026-01-01"],
        &["no person has id `nobody`"],
    );
    c.refused(
        &["grant", "add", "--id", "x", "--holder", "ada", "--amount", "1.0000000000000000001", "--start", "2026-01-01"],
        &["19 decimal places"],
    );
    c.ok(&["grant", "add", "--id", "x", "--holder", "ada", "--amount", "100", "--start", "2026-01-01"]);
    // The same id again with other terms is a conflict naming the field; with the same terms, a no-op.
    c.refused(
        &["grant", "add", "--id", "x", "--holder", "ada", "--amount", "200", "--start", "2026-01-01"],
        &["event `grant:x` already exists with a different terms"],
    );
    assert!(
        c.ok(&["grant", "add", "--id", "x", "--holder", "ada", "--amount", "100", "--start", "2026-01-01"])
            .contains("already recorded")
    );
}

#[test]
fn bad_imports_and_files_change_nothing() {
    let c = Company::new();
    c.refused(&["run", "--through", "2026-01-31"], &["no company yet"]);
    c.ok(&["init", "examples/company.toml"]);
    c.refused(&["init", "examples/company.toml"], &["already has a company"]);
    let bad_people = c.write("people.csv", "id,name,kind\nzoe,Zoe,employee\n,No Id,employee\nyan,Yan,wizard\n");
    c.refused(&["import", "people", &bad_people], &["people.csv:3:", "people.csv:4:", "wizard"]);
    let bad_prices = c.write("prices.csv", "date,close_usd\n2026-01-01,1.5\n2026-01-02,-1\n2026-13-01,2\n");
    c.refused(&["import", "prices", &bad_prices], &["prices.csv:3:", "prices.csv:4:"]);
    // A price that contradicts a recorded one.
    let clash = c.write("clash.csv", "date,close_usd\n2025-05-10,0.99\n");
    c.refused(
        &["import", "prices", &clash],
        &["price USD 2025-05-10: the ledger has 0.43, this file 0.99", "tokencomp price correct --date 2025-05-10"],
    );
    let bad_grants = c.write(
        "grants.csv",
        "id,holder,amount_tokens,schedule,start,duration_months,cliff_months\ng1,ada,100,monthly,2026-01-01,48,60\n",
    );
    c.refused(&["import", "grants", &bad_grants], &["grants.csv:2:"]);
    let bad_toml =
        c.write("bad.toml", "[company]\nname = \"X\"\n[token]\nsymbol = \"GRID\"\ndecimals = 18\n[[grant]]\nid = 1\n");
    c.refused(&["apply", &bad_toml], &["bad.toml:7:6 (grant[0].id)"]);
    let other_token = c.write("token.toml", "[company]\nname = \"X\"\n[token]\nsymbol = \"GRID\"\ndecimals = 6\n");
    c.refused(&["apply", &other_token], &["cannot change its token"]);
    c.refused(&["run", "--through", "someday"], &["not a date"]);
    // A good import after all that goes through.
    let good = c.write("good.csv", "id,name,kind\nzoe,Zoe Park,employee\n");
    c.ok(&["import", "people", &good]);
}

#[test]
fn demo_refuses_a_non_empty_data_directory_without_force() {
    let c = Company::new();
    c.ok(&["demo", "--quiet"]);
    c.refused(&["demo", "--quiet"], &["is not empty", "--force"]);
    c.ok(&["demo", "--quiet", "--force"]);
    c.ok(&["verify-ledger"]);
}

/// Every bad CSV fixture of the import parser, through the binary: exit 2, each problem located
/// in the file, and the ledger exactly as before.
#[test]
fn every_bad_import_fixture_is_refused_whole() {
    let c = Company::new();
    c.ok(&["init", "examples/company.toml"]);
    let dir = root().join("crates/formats/tests/fixtures/import");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        if !(name.contains("_bad") || name.contains("missing_header") || name.contains("quoting")) {
            continue;
        }
        let kind = name.split(['_', '.']).next().expect("kind");
        let before = c.dump();
        let out = c.run(&["import", kind, path.to_str().expect("utf-8")]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(&format!("{name}:")), "{name}: errors name the file and line:\n{err}");
        assert_eq!(c.dump(), before, "{name} changed the ledger");
        checked += 1;
    }
    assert!(checked >= 4, "found the bad fixtures");
}

/// The company as the ledger folds it.
fn folded(c: &Company) -> tokencomp_store::ledger::Company {
    let mut s = SqliteStore::open(&c.data().join("ledger.sqlite")).expect("opens");
    tokencomp_store::ledger::Company::fold(&s.events().expect("events")).expect("folds")
}

fn dec(s: &str) -> tokencomp_money::Decimal {
    tokencomp_money::Decimal::from_str_exact(s).expect("decimal")
}

#[test]
fn import_fx_checks_every_row_then_records_each_rate_once() {
    let c = Company::new();
    c.ok(&["init", "examples/company.toml"]);
    // 1,157 days (2023-09-01 … 2026-10-31), GBP and EUR on each.
    let out = c.ok(&["import", "fx", "examples/fx.csv"]);
    assert!(out.contains("2314 new events (0 unchanged)"), "{out}");
    let out = c.ok(&["import", "fx", "examples/fx.csv"]);
    assert!(out.contains("0 new events (2314 unchanged)"), "{out}");
    let company = folded(&c);
    assert_eq!(company.fx.len(), 2314);
    // The file's first line, kept to the digit.
    let first = company.fx[&(tokencomp_money::Currency::GBP, jiff::civil::date(2023, 9, 1))];
    assert_eq!(first.to_string(), "0.7900");

    // Every bad row at once, and nothing written.
    let bad = c.write("fx.csv", "date,currency,per_usd\n2026-11-01,GBP,0.8\n2026-11-02,USD,1\n2026-11-03,EUR,zero\n");
    c.refused(&["import", "fx", &bad], &["fx.csv:3:2 (currency)", "fx.csv:4:3 (per_usd)", "USD has no rate"]);
    // A different rate for a recorded day is a conflict naming the rate, both values and what to do.
    let clash = c.write("clash.csv", "date,currency,per_usd\n2023-09-01,GBP,0.7901\n");
    c.refused(&["import", "fx", &clash], &["fx rate GBP 2023-09-01: the ledger has 0.7900, this file 0.7901"]);
    let good = c.write("good.csv", "date,currency,per_usd\n2026-11-01,GBP,0.8\n");
    assert!(c.ok(&["import", "fx", &good]).contains("1 new events"));
}

#[test]
fn the_company_file_records_its_policy_salaries_volumes_and_rates() {
    let c = Company::new();
    let file = "[company]\nname = \"Policy Co\"\ntime_zone = \"Europe/Berlin\"\nwithholding_method = \"net_settlement\"\n\
                sale_fee = \"0.25%\"\nslippage = \"0.5%\"\nfmv = \"vwap\"\nfmv_days = 5\nclassification = \"liability\"\n\
                [[company.flat_withholding]]\ncountry = \"DE\"\nemployee = \"42%\"\nemployer = \"0%\"\n\
                [token]\nsymbol = \"NET\"\ndecimals = 18\n\
                [[person]]\nid = \"ada\"\nname = \"Ada\"\ncountry = \"DE\"\nsalary = \"96000\"\nwallet = \"ada-main\"\n\
                [[price]]\ndate = 2026-01-02\nclose = \"1.50\"\nvolume = \"1250000\"\n\
                [[fx]]\ndate = 2026-01-02\ncurrency = \"EUR\"\nper_usd = \"0.92\"\n\
                [[grant]]\nid = \"g\"\nholder = \"ada\"\ngrant_date = 2026-01-02\namount = \"1000\"\n\
                transferred_at_grant = true\nelection_83b = 2026-01-20\nfloor_usd = \"500\"\n\
                [grant.schedule]\ntype = \"monthly\"\nstart = 2026-01-02\nduration_months = 12\n";
    let path = c.write("policy.toml", file);
    c.ok(&["init", &path]);
    let company = folded(&c);
    let policy = &company.company.policy;
    assert_eq!(policy.withholding, tokencomp_core::model::WithholdingMethod::NetSettlement);
    assert_eq!((policy.sale_fee_bps, policy.slippage_bps), (25, 50));
    assert_eq!(policy.fmv, tokencomp_core::model::FmvSource::Vwap(5));
    assert_eq!(policy.classification, tokencomp_core::model::ClassificationPolicy::Liability);
    assert_eq!(policy.flat_rules.len(), 1);
    assert_eq!(company.people["ada"].salary, Some(dec("96000")));
    assert_eq!(company.people["ada"].wallet.as_deref(), Some("ada-main"));
    assert_eq!(company.prices_vec()[0].volume, Some(dec("1250000")));
    assert_eq!(company.fx_vec().len(), 1);
    let g = &company.grants["g"].terms.policy;
    assert!(g.transferred_at_grant);
    assert_eq!(g.election_83b, Some(jiff::civil::date(2026, 1, 20)));
    assert_eq!(g.floor, Some(dec("500")));

    // Applying the same file records nothing; a changed grant policy is a correction of its terms.
    assert!(c.ok(&["apply", &path]).contains(": 0 new events"));
    let changed = c.write("changed.toml", &file.replace("floor_usd = \"500\"", "floor_usd = \"600\""));
    assert!(c.ok(&["apply", &changed]).contains(": 1 new events"));
    assert_eq!(folded(&c).grants["g"].terms.policy.floor, Some(dec("600")));
    let h = c.json(&["history", "g", "--json"]);
    assert!(h["events"].as_array().expect("events").iter().any(|e| e["kind"] == "grant.corrected"));

    // A bad policy is located in the file, every problem at once, and changes nothing.
    let bad = c.write(
        "bad.toml",
        &file.replace("election_83b = 2026-01-20", "election_83b = 2026-02-02").replace("fmv_days = 5\n", ""),
    );
    c.refused(
        &["apply", &bad],
        &["(company.fmv)", "needs `fmv_days`", "(grant[0].election_83b)", "30 days after it (2026-02-01)"],
    );
}

#[test]
fn the_demo_records_the_sample_companys_compliance_inputs() {
    let c = Company::new();
    c.ok(&["demo", "--quiet"]);
    let company = folded(&c);
    assert_eq!(company.fx.len(), 2314, "examples/fx.csv, after the prices");
    let policy = &company.company.policy;
    assert_eq!((policy.sale_fee_bps, policy.slippage_bps), (10, 30));
    assert_eq!(policy.attribution, tokencomp_core::model::AttributionPolicy::Graded);
    assert!(policy.flat_rules.is_empty(), "German staff are under the Ministry's programme");
    assert_eq!(company.people["fatima"].tax.de.as_ref().map(|d| d.tax_class), Some(1));
    assert_eq!(company.people["noor"].salary, Some(dec("425000")));
    assert_eq!(company.people["gus"].salary, None, "advisors are not on payroll");
    let samir = &company.grants["samir-2025-hire"].terms.policy;
    assert_eq!(samir.settlement_date, Some(jiff::civil::date(2026, 6, 30)));
    c.ok(&["verify-ledger"]);
}
