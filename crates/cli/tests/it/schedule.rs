//! The `tokencomp` binary end to end: output shapes, goldens and bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tokencomp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tokencomp")).args(args).current_dir(root()).output().expect("runs")
}

fn json(args: &[&str]) -> Value {
    let out = tokencomp(args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

fn grant<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["grants"].as_array().expect("grants").iter().find(|g| g["id"] == id).expect("grant present")
}

const E18: u128 = 1_000_000_000_000_000_000;

fn units(v: &Value) -> u128 {
    v.as_str().expect("amounts are strings").parse().expect("base units")
}

#[test]
fn schedule_json_has_the_interfaces_shape() {
    let doc = json(&["schedule", "examples/company.toml", "--as-of", "2026-10-31", "--json"]);
    assert_eq!(doc["token"], serde_json::json!({"symbol": "GRID", "decimals": 18}));
    assert_eq!(doc["as_of"], "2026-10-31");
    for g in doc["grants"].as_array().expect("grants") {
        let keys: Vec<&str> = g.as_object().expect("object").keys().map(String::as_str).collect();
        // `pending` (issue 15 item 20): the behaviour change that adds one key here.
        assert_eq!(
            keys,
            ["id", "holder", "granted", "vested", "unvested", "forfeited", "pending", "tranches", "forfeitures"]
        );
        // The three parts add up to what was granted; cumulative runs over tranches only.
        assert_eq!(units(&g["vested"]) + units(&g["unvested"]) + units(&g["forfeited"]), units(&g["granted"]));
        let mut cum = 0;
        for t in g["tranches"].as_array().expect("tranches") {
            cum += units(&t["amount"]);
            assert_eq!(units(&t["cumulative"]), cum);
            assert!(["cliff", "vest", "acceleration", "milestone"].contains(&t["reason"].as_str().expect("reason")));
        }
        // And a consumer can reconcile the whole schedule: tranches + forfeitures + pending.
        let forfeited: u128 =
            g["forfeitures"].as_array().expect("forfeitures").iter().map(|f| units(&f["amount"])).sum();
        assert_eq!(cum + forfeited + units(&g["pending"]), units(&g["granted"]), "{}", g["id"]);
    }
}

/// Issue 15 item 20: Omar's 40,000-token performance tranche (`mmlu-85`) has no milestone yet;
/// before `pending`, his tranches and forfeitures came to 160,000 of the 200,000 granted.
#[test]
fn an_unsettled_performance_target_is_pending_in_schedule_and_grants_json() {
    let doc = json(&["schedule", "examples/company.toml", "--as-of", "2026-10-31", "--json"]);
    let omar = grant(&doc, "omar-2026-hire");
    assert_eq!(units(&omar["granted"]), 200_000 * E18);
    assert_eq!(units(&omar["pending"]), 40_000 * E18);
    let tranches: u128 = omar["tranches"].as_array().expect("tranches").iter().map(|t| units(&t["amount"])).sum();
    assert_eq!(tranches, 160_000 * E18);
    // A settled tranche is not pending: Eli's was scaled to 150% and vested.
    assert_eq!(units(&grant(&doc, "eli-2025-hire")["pending"]), 0);
    assert_eq!(units(&grant(&doc, "ada-2024-hire")["pending"]), 0);

    // `grants --json` carries the same field for every grant of the ledger.
    let c = crate::ledger::Company::new();
    c.ok(&["init", "examples/company.toml"]);
    let listed = c.json(&["grants", "--as-of", "2026-10-31", "--json"]);
    for g in listed["grants"].as_array().expect("grants") {
        let from_file = grant(&doc, g["id"].as_str().expect("id"));
        assert_eq!(g["pending"], from_file["pending"], "{}", g["id"]);
        assert_eq!(units(&g["vested"]) + units(&g["unvested"]) + units(&g["forfeited"]), units(&g["granted"]));
    }
}

#[test]
fn sample_company_numbers_worked_by_hand() {
    let doc = json(&["schedule", "examples/company.toml", "--as-of", "2026-10-31", "--json"]);
    // Ada: 480,000 over 48 months from 2024-01-15, 1-year cliff: 120,000 + 21 × 10,000 by 2026-10-15.
    let ada = grant(&doc, "ada-2024-hire");
    assert_eq!(units(&ada["vested"]), 330_000 * E18);
    // Chen: quarterly from 2024-06-03, cliff 2025-06-03 (50,000), then Sep 3, Dec 3, Mar 3 (12,500
    // each) = 87,500 by the last day 2026-04-30; 3 months more reach 2026-06-03: 12,500 accelerated.
    let chen = grant(&doc, "chen-2024-hire");
    assert_eq!(units(&chen["vested"]), 100_000 * E18);
    assert_eq!(units(&chen["forfeited"]), 100_000 * E18);
    let acc = chen["tranches"]
        .as_array()
        .expect("tranches")
        .iter()
        .find(|t| t["reason"] == "acceleration")
        .expect("acceleration");
    assert_eq!((acc["date"].as_str(), units(&acc["amount"])), (Some("2026-04-30"), 12_500 * E18));
    // Fatima: $150,000 at the 3-day average of 0.41, 0.43, 0.42 = $0.42 → 357,142.857142857142857142 GRID.
    let fatima = grant(&doc, "fatima-2025-hire");
    assert_eq!(units(&fatima["granted"]), 357_142_857_142_857_142_857_142);
    // Gus: 50,000 over 24 months from 2024-09-01, revoked 2026-02-10: 17 months vested
    // (Oct 2024 … Feb 2026), floor(50,000 × 17 / 24) = 35,416.666…
    let gus = grant(&doc, "gus-2024-advisor");
    assert_eq!(units(&gus["vested"]), 50_000 * E18 * 17 / 24);
    assert_eq!(gus["forfeitures"][0]["reason"], "revocation");
    // Eli: the 20,000 performance tranche scaled to 150% → 30,000 on 2026-06-30.
    let eli = grant(&doc, "eli-2025-hire");
    assert_eq!(units(&eli["granted"]), 126_000 * E18);
    let m =
        eli["tranches"].as_array().expect("tranches").iter().find(|t| t["date"] == "2026-06-30").expect("milestone");
    assert_eq!((m["reason"].as_str(), units(&m["amount"])), (Some("milestone"), 30_000 * E18));
}

#[test]
fn schedule_json_golden() {
    let doc = json(&["schedule", "examples/company.toml", "--as-of", "2026-10-31", "--json"]);
    insta::assert_json_snapshot!("sample_company_schedule", doc);
}

#[test]
fn table_view_golden() {
    let out = tokencomp(&["schedule", "examples/company.toml", "--as-of", "2026-10-31", "--grant", "ben-2024-hire"]);
    assert!(out.status.success());
    insta::assert_snapshot!("ben_table", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn as_of_accepts_an_instant_in_the_company_zone() {
    // 2026-11-01T03:00Z is still 2026-10-31 in New York.
    let a = json(&["schedule", "examples/company.toml", "--as-of", "2026-11-01T03:00:00Z", "--json"]);
    assert_eq!(a["as_of"], "2026-10-31");
}

#[test]
fn demo_runs_from_any_directory() {
    // The sample company is built in; the default data directory is ./tokencomp-data.
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_tokencomp"))
        .args(["demo", "--quiet"])
        .current_dir(dir.path())
        .env_remove("TOKENCOMP_DATA")
        .env_remove("TOKENCOMP_DATABASE")
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Gridline Labs") && text.contains("people         40"), "{text}");
    assert!(dir.path().join("tokencomp-data/ledger.sqlite").exists());
}

/// Runs `schedule` on a fixture and returns stderr, asserting exit code 2 and no stdout.
fn bad(fixture: &str) -> String {
    let path = format!("crates/cli/tests/fixtures/{fixture}");
    let out = tokencomp(&["schedule", &path, "--json"]);
    assert_eq!(out.status.code(), Some(2), "{fixture}: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// data-driven: each fixture with every (location, message fragment) it must report.
#[test]
fn bad_input_names_file_line_and_field() {
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("syntax.toml", &[("syntax.toml:4:5", "extra `=`")]),
        (
            "many.toml",
            &[
                ("many.toml:3:13 (company.time_zone)", "not an IANA time zone"),
                ("many.toml:12:10 (grant[0].amount)", "19 decimal places but NET has only 18"),
                ("many.toml:15:9 (grant[0].schedule.start)", "is not a date"),
                ("many.toml:20:6 (grant[1].id)", "duplicate grant id `g1`"),
                ("many.toml:23:1 (grant[1].colour)", "unknown field `colour`"),
                ("many.toml:25:8 (grant[1].schedule.type)", "`weekly` is not one of"),
            ],
        ),
        ("event_after_end.toml", &[("(grant[0].event[1])", "comes after the grant ended on 2025-03-15")]),
        (
            "missing.toml",
            &[("(token.decimals)", "missing field `decimals`"), ("(grant[0].schedule)", "missing field `schedule`")],
        ),
        ("custom_sum.toml", &[("(grant[0].schedule.tranche)", "tranche amounts add up to 90, not the grant's 100")]),
        ("price_gap.toml", &[("(grant[0].price_average_days)", "no USD price for 2025-01-08")]),
        ("percent.toml", &[("(grant[0].event[0].percent)", "not a percentage from 0 to 100")]),
        ("holder.toml", &[("(grant[0].holder)", "no [[person]] has id `zed`")]),
        ("cliff.toml", &[("(grant[0].schedule.cliff_months)", "whole number of 3-month periods")]),
    ];
    for (fixture, expected) in cases {
        let err = bad(fixture);
        for (loc, msg) in *expected {
            let hit = err.lines().collect::<Vec<_>>().windows(2).any(|w| w[0].contains(msg) && w[1].contains(loc));
            assert!(hit, "{fixture}: expected `{msg}` at `{loc}` in:\n{err}");
        }
        let count = err.lines().filter(|l| l.starts_with("error: ")).count();
        assert_eq!(count, expected.len(), "{fixture}: every error once:\n{err}");
    }
}

#[test]
fn bad_as_of_is_bad_input() {
    let out = tokencomp(&["schedule", "examples/company.toml", "--as-of", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn missing_file_is_a_run_failure() {
    let out = tokencomp(&["schedule", "no/such/file.toml"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn schedule_reads_an_ocf_package() {
    let doc = json(&["schedule", "examples/ocf/sample", "--as-of", "2026-10-31", "--json"]);
    assert_eq!(doc["token"], serde_json::json!({"symbol": "SHARE", "decimals": 0}));
    // OCF's own example: 480 shares from 2021-01-30, a year's cliff, then monthly on the 30th.
    let g = grant(&doc, "vesting-ex-3");
    let t = g["tranches"].as_array().expect("tranches");
    assert_eq!(
        (t[0]["date"].as_str(), t[0]["amount"].as_str(), t[0]["reason"].as_str()),
        (Some("2022-01-30"), Some("120"), Some("cliff"))
    );
    assert_eq!((t[1]["date"].as_str(), t[1]["amount"].as_str()), (Some("2022-02-28"), Some("10")));
    assert_eq!(t.len(), 37);
}

#[test]
fn a_broken_ocf_package_is_bad_input() {
    let dir = std::env::temp_dir().join(format!("tokencomp-ocf-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("Manifest.ocf.json"), "{ \"file_type\": \"OCF_MANIFEST_FILE\",\n  oops }").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_tokencomp")).args(["schedule"]).arg(&dir).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Manifest.ocf.json:2:"), "{err}");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokencomp"))
        .args(["schedule", "examples/company.toml", "--json"])
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let mut first = [0u8; 16];
    child.stdout.take().expect("stdout").read_exact(&mut first).expect("some output");
    // stdout is dropped here: the pipe is closed while the command still writes.
    let out = child.wait_with_output().expect("ends");
    assert_eq!(out.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
