//! Milestone attestations through the binary: keys, the registry, signing an lm-evaluation-harness
//! results file, verify and submit, the effect on the grant, and one refusal per named reason,
//! each recorded in the ledger.

#![allow(clippy::unwrap_used)]

use serde_json::Value;

use crate::ledger::Company;

const FILE: &str = r#"[company]
name = "Oracle Co"
time_zone = "UTC"
[token]
symbol = "NET"
decimals = 18
[[person]]
id = "ada"
name = "Ada"
[[grant]]
id = "g"
holder = "ada"
grant_date = 2026-01-05
amount = "1200"
[grant.schedule]
type = "monthly"
start = 2026-01-05
duration_months = 12
[[grant.performance]]
id = "mmlu"
target = "100"
cap_percent = "150"
[[milestone]]
id = "m1"
grant = "g"
metric = "mmlu/acc"
comparison = "gte"
threshold = "0.8"
deadline = 2026-12-31
effect = "unlock"
tranche = "mmlu"
[[milestone]]
id = "late"
grant = "g"
metric = "mmlu/acc"
comparison = "gte"
threshold = "0.8"
deadline = 2026-01-31
effect = "pull_forward"
periods = 1
[[milestone]]
id = "two"
grant = "g"
metric = "mmlu/acc"
comparison = "gte"
threshold = "0.8"
deadline = 2026-12-31
quorum = 2
effect = "scale"
tranche = "mmlu"
graded = true
"#;

const DOMAIN: [&str; 4] = ["--chain-id", "31337", "--contract", "0x00000000000000000000000000000000000000aa"];
/// The contract as the ledger records it (EIP-55).
const CONTRACT_EIP55: &str = "0x00000000000000000000000000000000000000AA";

struct Setup {
    c: Company,
}

impl Setup {
    /// A company with oracle `o1` registered from 2026-01-01, and an lm-eval results file.
    fn new(score: &str) -> Setup {
        let c = Company::new();
        std::fs::create_dir_all(c.data()).unwrap();
        let file = c.data().join("c.toml");
        std::fs::write(&file, FILE).unwrap();
        c.ok(&["init", file.to_str().unwrap()]);
        let s = Setup { c };
        s.oracle("o1", true);
        // The shape lm-evaluation-harness writes: results → task → "metric,filter".
        let results = format!(
            r#"{{"results": {{"mmlu": {{"alias": "mmlu", "acc,none": {score}, "acc_stderr,none": 0.0031}}}}, "config": {{"model": "hf"}}}}"#
        );
        std::fs::write(s.path("results.json"), results).unwrap();
        s
    }

    fn path(&self, name: &str) -> String {
        self.c.data().join(name).to_str().unwrap().to_owned()
    }

    fn oracle(&self, id: &str, register: bool) -> String {
        let address = self.c.ok(&["oracle", "keygen", "--oracle", id]).trim().to_owned();
        assert!(address.starts_with("0x") && address.len() == 42, "{address}");
        if register {
            self.c.ok(&["oracle", "register", "--oracle", id, "--address", &address, "--at", "2026-01-01"]);
        }
        address
    }

    /// Signs `milestone` with `oracle`'s key, observed on 2026-06-15, into `out`.
    fn sign(&self, oracle: &str, milestone: &str, nonce: &str, extra: &[&str], out: &str) -> String {
        let key = self.path(&format!("keys/oracle-{oracle}.key"));
        let (results, out_path) = (self.path("results.json"), self.path(out));
        let mut args = vec![
            "oracle",
            "sign",
            "--key",
            &key,
            "--milestone",
            milestone,
            "--result",
            &results,
            "--pointer",
            "/results/mmlu/acc,none",
            "--observed-at",
            "2026-06-15T00:00:00Z",
            "--nonce",
            nonce,
            "--out",
            &out_path,
        ];
        args.extend_from_slice(extra);
        if !extra.contains(&"--chain-id") {
            args.extend_from_slice(&DOMAIN);
        }
        self.c.ok(&args);
        out_path
    }

    /// Submits at a fixed instant under the test domain: both overrides, which the test
    /// company's development chain (31337) allows.
    fn submit(&self, files: &[&str], at: &str) -> std::process::Output {
        let mut args = vec!["oracle", "submit"];
        args.extend_from_slice(files);
        args.extend_from_slice(&["--at", at]);
        args.extend_from_slice(&DOMAIN);
        args.extend_from_slice(&["--override-clock", "--override-domain"]);
        self.c.run(&args)
    }

    /// Every attestation event's payload.
    fn payloads(&self) -> Vec<Value> {
        let h = self.c.json(&["history", "g", "--json"]);
        h["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "attestation")
            .map(|e| e["payload"].clone())
            .collect()
    }

    /// The attestation events the ledger filed under grant `g`, as (status, reason).
    fn recorded(&self) -> Vec<(String, String)> {
        let h = self.c.json(&["history", "g", "--json"]);
        h["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "attestation")
            .map(|e| {
                let p = &e["payload"];
                (p["status"].as_str().unwrap().to_owned(), p["reason"].as_str().unwrap_or("").to_owned())
            })
            .collect()
    }

    /// Submitting `files` at `at` is refused with `reason` (exit 2), and recorded as such.
    fn refused(&self, files: &[&str], at: &str, reason: &str) {
        let accepted = |r: &[(String, String)]| r.iter().filter(|x| x.0 == "accepted").count();
        let before = accepted(&self.recorded());
        let out = self.submit(files, at);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains(&format!("rejected: {reason}")), "{stdout}");
        let recorded = self.recorded();
        assert!(recorded.contains(&("rejected".to_owned(), reason.to_owned())), "{recorded:?}");
        assert_eq!(accepted(&recorded), before, "{recorded:?}");
    }
}

fn units(grants: &Value, key: &str) -> u128 {
    grants["grants"][0][key].as_str().unwrap().parse().unwrap()
}

fn vested(grants: &Value) -> u128 {
    units(grants, "vested")
}

fn unvested(grants: &Value) -> u128 {
    units(grants, "unvested")
}

#[test]
fn an_lm_eval_result_signed_verified_and_submitted_unlocks_the_tranche_once() {
    let s = Setup::new("0.8123");
    let sub = s.sign("o1", "m1", "1", &[], "s1.json");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&sub).unwrap()).unwrap();
    assert_eq!(file["attestation"]["value"], "812300000000000000");
    assert_eq!(file["attestation"]["subject"], "grant:g");
    let key_mode = std::fs::metadata(s.path("keys/oracle-o1.key")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(key_mode.permissions().mode() & 0o777, 0o600);
    }

    let mut verify = vec!["oracle", "verify", sub.as_str(), "--at", "2026-06-16"];
    verify.extend_from_slice(&DOMAIN);
    assert!(s.c.ok(&verify).contains("accepted"));
    assert!(s.recorded().is_empty(), "verify records nothing");

    let at = |day: &str| s.c.json(&["grants", "--json", "--as-of", day]);
    let (before_14, before_15) = (at("2026-06-14"), at("2026-06-15"));
    let out = s.submit(&[&sub], "2026-06-16");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (after_14, after_15) = (at("2026-06-14"), at("2026-06-15"));
    // Exactly the effect: the whole 100-token performance tranche vests on the day observed
    // (2026-06-15), nothing moves the day before, and the grant's total is unchanged.
    assert_eq!(vested(&after_14), vested(&before_14));
    assert_eq!(vested(&after_15), vested(&before_15) + 100 * 10u128.pow(18));
    assert_eq!(after_15["grants"][0]["granted"], before_15["grants"][0]["granted"]);
    assert_eq!(unvested(&before_15) - unvested(&after_15), 100 * 10u128.pow(18));

    let history = s.c.ok(&["history", "g"]);
    let digest = s.c.json(&["history", "g", "--json"])["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "attestation")
        .map(|e| e["payload"]["digest"].as_str().unwrap().to_owned())
        .unwrap();
    assert!(
        history.contains(&digest) && history.contains("value 0.8123") && history.contains("accepted -> attest-"),
        "{history}"
    );

    // The same attestation again: its nonce is spent; recorded as rejected, applied once.
    s.refused(&[&sub], "2026-06-16", "replayed_nonce");
    assert_eq!(at("2026-06-15"), after_15);
}

#[test]
fn an_unregistered_oracle_is_refused() {
    let s = Setup::new("0.9");
    s.oracle("stranger", false);
    let sub = s.sign("stranger", "m1", "1", &[], "s.json");
    s.refused(&[&sub], "2026-06-16", "unregistered_oracle");
}

#[test]
fn a_revoked_oracle_is_refused() {
    let s = Setup::new("0.9");
    s.c.ok(&["oracle", "revoke", "--oracle", "o1", "--at", "2026-03-01"]);
    let sub = s.sign("o1", "m1", "1", &[], "s.json");
    s.refused(&[&sub], "2026-06-16", "revoked_oracle");
}

#[test]
fn an_expired_attestation_is_refused() {
    let s = Setup::new("0.9");
    let sub = s.sign("o1", "m1", "1", &["--expires-in", "1d"], "s.json");
    s.refused(&[&sub], "2026-06-20", "expired");
}

#[test]
fn a_value_below_the_threshold_is_refused() {
    let s = Setup::new("0.7999");
    let sub = s.sign("o1", "m1", "1", &[], "s.json");
    s.refused(&[&sub], "2026-06-16", "below_threshold");
}

#[test]
fn an_observation_after_the_deadline_is_refused() {
    let s = Setup::new("0.9");
    let sub = s.sign("o1", "late", "1", &[], "s.json");
    s.refused(&[&sub], "2026-06-16", "past_deadline");
}

#[test]
fn a_submission_for_another_chain_is_refused() {
    let s = Setup::new("0.9");
    let sub = s.sign("o1", "m1", "1", &["--chain-id", "1", "--contract", DOMAIN[3]], "s.json");
    s.refused(&[&sub], "2026-06-16", "wrong_chain");
}

#[test]
fn a_tampered_value_is_a_bad_signature() {
    let s = Setup::new("0.8123");
    let sub = s.sign("o1", "m1", "1", &[], "s.json");
    let text = std::fs::read_to_string(&sub).unwrap().replace("812300000000000000", "912300000000000000");
    std::fs::write(&sub, text).unwrap();
    s.refused(&[&sub], "2026-06-16", "bad_signature");
}

#[test]
fn one_of_a_two_oracle_quorum_is_not_enough_and_two_apply_the_median() {
    let s = Setup::new("0.9");
    let one = s.sign("o1", "two", "1", &[], "one.json");
    s.refused(&[&one], "2026-06-16", "quorum_not_met");
    s.oracle("o2", true);
    let other = s.sign("o2", "two", "7", &[], "other.json");
    let one_again = s.sign("o1", "two", "2", &[], "one-again.json");
    let out = s.submit(&[&one_again, &other], "2026-06-16");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    // Graded: 0.9 / 0.8 = 112.5% of the 100-token target (under the 150% cap) = 112.5 tokens.
    assert!(stdout.contains("112.5 NET more scheduled"), "{stdout}");
}

#[test]
fn bad_milestone_terms_are_reported_with_file_line_and_column() {
    let c = Company::new();
    std::fs::create_dir_all(c.data()).unwrap();
    let bad = FILE.replace(
        "comparison = \"gte\"\nthreshold = \"0.8\"\ndeadline = 2026-12-31\neffect = \"unlock\"",
        "comparison = \"gteq\"\nthreshold = \"0.8.1\"\ndeadline = 2026-12-31\neffect = \"unlock\"",
    );
    let path = c.data().join("bad.toml");
    std::fs::write(&path, &bad).unwrap();
    let line = |needle: &str| bad.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let out = c.run(&["init", path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let file = path.display().to_string();
    assert!(err.contains(&format!("{file}:{}:14 (milestone[0].comparison)", line("gteq"))), "{err}");
    assert!(err.contains(&format!("{file}:{}:13 (milestone[0].threshold)", line("0.8.1"))), "{err}");
}

/// The milestones on the embedded chain: the contract holds the grant's time part (one step per
/// installment, for its pull-forward milestone) and the milestones, funded; the oracle's signed
/// file applies in the ledger and, the same file, on the chain once; a below-threshold one is
/// refused there by name; and the release pays what the engine says vested, unlock included.
#[test]
fn the_same_signed_files_apply_on_the_chain_once_and_release_what_the_engine_vests() {
    let s = Setup::new("0.8123");
    s.c.ok(&["chain", "key", "--new"]);
    s.c.ok(&["chain", "deploy", "--demo-token", "--at", "2026-01-01"]);
    let fund = s.c.ok(&["chain", "fund"]);
    // 1,200 of time vesting, 100 for the unlock and 150 (the cap's share) for the graded scale.
    assert!(fund.contains(&format!("approves {} base units", 1_450 * 10u128.pow(18))), "{fund}");
    s.c.ok(&["chain", "push-grants", "--label-wallets", "--at", "2026-01-02"]);
    let pushed = s.c.ok(&["chain", "push-milestones", "--label-wallets", "--at", "2026-01-02"]);
    assert!(pushed.contains("oracle registry: 1 changes; defined 3 milestones"), "{pushed}");
    // A re-run sends nothing.
    let again = s.c.ok(&["chain", "push-milestones", "--label-wallets", "--at", "2026-01-03"]);
    assert!(again.contains("oracle registry: 0 changes; defined 0 milestones"), "{again}");

    let deployment: Value =
        serde_json::from_str(&std::fs::read_to_string(s.c.data().join("chain/embedded.deployment.json")).unwrap())
            .unwrap();
    let manager = deployment["manager"].as_str().unwrap().to_owned();
    let domain = ["--chain-id", "31337", "--contract", manager.as_str()];
    let results = s.path("results.json");
    let scored = std::fs::read_to_string(&results).unwrap();
    std::fs::write(&results, scored.replace("0.8123", "0.5")).unwrap();
    let low = s.sign("o1", "m1", "7", &domain, "low.json");
    std::fs::write(&results, scored).unwrap();
    let out = s.c.run(&["chain", "submit", &low, "--at", "2026-06-16"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("m1: rejected on chain: below_threshold (attestation 0)"));

    let sub = s.sign("o1", "m1", "1", &domain, "s1.json");
    // The deployment's own domain named by flags is no override; the past instant is.
    let mut ledger = vec!["oracle", "submit", sub.as_str(), "--at", "2026-06-16", "--override-clock"];
    ledger.extend_from_slice(&domain);
    s.c.ok(&ledger);
    let applied = s.c.ok(&["chain", "submit", &sub, "--at", "2026-06-16"]);
    assert!(applied.contains("m1: applied on chain (1 attestations)"), "{applied}");
    let replay = s.c.ok(&["chain", "submit", &sub, "--at", "2026-06-17"]);
    assert!(replay.contains("m1: already applied on chain; nothing sent"), "{replay}");

    s.c.ok(&["chain", "release", "--label-wallets", "--at", "2026-06-30"]);
    let vested = vested(&s.c.json(&["grants", "--json", "--as-of", "2026-06-30"]));
    // No payroll period recognized these vests yet, so reconcile finds the releases unexpected
    // (and says so with exit 2); their amounts are what is checked here.
    let out = s.c.run(&["chain", "reconcile", "--label-wallets", "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let released: u128 = ["matched", "unexpected_on_chain"]
        .iter()
        .flat_map(|k| report[k].as_array().unwrap().iter())
        .filter(|i| i["kind"] == "release")
        .map(|i| i["on_chain"]["net"].as_str().unwrap().parse::<u128>().unwrap())
        .sum();
    // Five monthly installments (Feb–Jun 5th) and the 100-token unlock.
    assert_eq!(vested, (5 * 100 + 100) * 10u128.pow(18));
    assert_eq!(released, vested, "{report}");
    assert!(report["amount_mismatch"].as_array().unwrap().is_empty(), "{report}");
    // The grant the contract holds is the ledger's time part: it matches.
    assert!(report["matched"].as_array().unwrap().iter().any(|i| i["kind"] == "grant"), "{report}");
}

/// Issue 15, item 17: `submit --at <past>` recorded an expired attestation as accepted; the
/// clock is overridden only by name (--override-clock), and not at all without it.
#[test]
fn submit_at_another_time_needs_override_clock() {
    let s = Setup::new("0.9");
    let sub = s.sign("o1", "m1", "1", &["--expires-in", "1d"], "s.json");
    let mut args = vec!["oracle", "submit", sub.as_str(), "--at", "2026-06-15"];
    args.extend_from_slice(&DOMAIN);
    args.push("--override-domain");
    let out = s.c.run(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--override-clock") && err.contains("--> --at"), "{err}");
    assert!(s.recorded().is_empty(), "nothing recorded");
    // Now (the real clock, long after 2026-06-16) the one-day attestation has expired.
    let mut now = vec!["oracle", "submit", sub.as_str()];
    now.extend_from_slice(&DOMAIN);
    now.push("--override-domain");
    let out = s.c.run(&now);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("rejected: expired"));
    assert_eq!(
        s.payloads()[0]["overrides"],
        serde_json::json!({"domain": {"chain_id": 31337, "contract": CONTRACT_EIP55}})
    );
}

/// Issue 15, item 17: `--chain-id/--contract` accepted a file signed for another domain into the
/// company's ledger; now only with --override-domain.
#[test]
fn submit_under_another_domain_needs_override_domain() {
    let s = Setup::new("0.9");
    let sub = s.sign("o1", "m1", "1", &[], "s.json");
    let mut args = vec!["oracle", "submit", sub.as_str(), "--at", "2026-06-16", "--override-clock"];
    args.extend_from_slice(&DOMAIN);
    let out = s.c.run(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--override-domain") && err.contains("--> --chain-id"), "{err}");
    assert!(s.recorded().is_empty(), "nothing recorded");

    // With both overrides on the development chain it is accepted, and each use is on the event.
    let out = s.submit(&[&sub], "2026-06-16");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let p = &s.payloads()[0];
    assert_eq!(p["status"], "accepted");
    assert_eq!(
        p["overrides"],
        serde_json::json!({"clock": true, "domain": {"chain_id": 31337, "contract": CONTRACT_EIP55}})
    );
}

/// Overrides are refused on any chain that is not a development chain (31337, 1337): the
/// company's own, or the domain's.
#[test]
fn overrides_are_refused_off_development_chains() {
    let s = Setup::new("0.9");
    let sub = s.sign("o1", "m1", "1", &[], "s.json");
    // A domain on chain 1.
    let mainnet = ["--chain-id", "1", "--contract", DOMAIN[3]];
    let mut args = vec!["oracle", "submit", sub.as_str(), "--override-domain"];
    args.extend_from_slice(&mainnet);
    let out = s.c.run(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--override-domain is refused on chain id 1") && err.contains("31337, 1337"), "{err}");

    // A company whose token lives on chain 1: no clock override either.
    let c = Company::new();
    std::fs::create_dir_all(c.data()).unwrap();
    let file = c.data().join("c.toml");
    std::fs::write(&file, FILE.replace("decimals = 18", "decimals = 18\nchain_id = 1")).unwrap();
    c.ok(&["init", file.to_str().unwrap()]);
    let mut args =
        vec!["oracle", "submit", sub.as_str(), "--at", "2026-06-16", "--override-clock", "--override-domain"];
    args.extend_from_slice(&DOMAIN);
    let out = c.run(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--override-clock is refused on chain id 1"), "{err}");
    assert!(s.recorded().is_empty());
}

/// Issue 15, item 17: a refused set recorded the set's one reason on every file. Now each file
/// carries its own: the first refusal (the contract's reason for the set), another file's own
/// refusal, and `set_refused` for a file that passed; each with the set's reason beside it.
#[test]
fn a_refused_set_records_each_files_own_reason() {
    let s = Setup::new("0.9");
    s.oracle("o2", true);
    s.oracle("o3", false);
    let expired = s.sign("o1", "two", "1", &["--expires-in", "1d"], "expired.json");
    let stranger = s.sign("o3", "two", "1", &[], "stranger.json");
    let fine = s.sign("o2", "two", "1", &[], "fine.json");
    let out = s.submit(&[&expired, &stranger, &fine], "2026-06-20");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("expired.json: rejected: expired"), "{stdout}");
    assert!(stdout.contains("stranger.json: rejected: unregistered_oracle"), "{stdout}");
    assert!(
        stdout.contains("fine.json: rejected: set_refused (its set was refused: ")
            && stdout.contains("expired.json: expired)"),
        "{stdout}"
    );
    let mut got: Vec<(String, String, String)> = s
        .payloads()
        .iter()
        .map(|p| {
            (
                p["reason"].as_str().unwrap().to_owned(),
                p["set_reason"].as_str().unwrap().to_owned(),
                p["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    got.sort();
    let row = |r: &str| (r.to_owned(), "expired".to_owned(), "rejected".to_owned());
    assert_eq!(got, [row("expired"), row("set_refused"), row("unregistered_oracle")]);
}
