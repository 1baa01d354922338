//! `tokencomp chain …` end to end: the demo's chain steps as separate processes on the
//! embedded chain kept in the data directory, and on a real JSON-RPC node (the Hardhat node
//! `scripts/test` starts, `TOKENCOMP_TEST_RPC`); the reconcile JSON of each equals the demo's.
//! Re-running a step sends nothing; bad input changes nothing; an admin that is a multisig gets
//! a Safe batch file.

// A failed unwrap is the test failing.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The sample company's demo date, and the day before (when grants are pushed).
const THROUGH: &str = "2026-10-31";
const BEFORE: &str = "2026-10-30";

fn run(data: &Path, key: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tokencomp"));
    cmd.arg("--data")
        .arg(data)
        .args(["--actor", "user:test"])
        .args(args)
        .current_dir(data.parent().expect("a parent"))
        .env_remove("TOKENCOMP_DATABASE")
        .env_remove("TOKENCOMP_DATA")
        .env_remove("TOKENCOMP_RPC")
        .env_remove("TOKENCOMP_CHAIN_KEY");
    if let Some(k) = key {
        cmd.env("TOKENCOMP_CHAIN_KEY", k);
    }
    cmd.output().expect("runs")
}

fn ok(data: &Path, key: Option<&str>, args: &[&str]) -> String {
    let out = run(data, key, args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn fails(data: &Path, key: Option<&str>, args: &[&str], code: i32) -> String {
    let out = run(data, key, args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
    err
}

/// The demo in a fresh directory: its ledger, its chain, and the key it signed with.
fn demo(dir: &Path) -> (PathBuf, String) {
    let data = dir.join("demo");
    let out = ok(&data, None, &["demo", "--quiet"]);
    assert!(
        out.contains("reconcile      538 matched, 0 missing on chain, 0 unexpected on chain, 0 amount mismatches"),
        "{out}"
    );
    let key = std::fs::read_to_string(data.join("keys/chain.key")).expect("the demo writes its key").trim().to_owned();
    (data, key)
}

/// A second data directory with the demo's ledger and no chain: the ledger file copied.
fn ledger_only(demo: &Path, dir: &Path, name: &str) -> PathBuf {
    let data = dir.join(name);
    std::fs::create_dir_all(&data).unwrap();
    std::fs::copy(demo.join("ledger.sqlite"), data.join("ledger.sqlite")).unwrap();
    data
}

/// The demo's chain steps, one process each; `net` adds `--rpc URL` for a node. The demo's
/// oracle file (`demo/evals/omar-mmlu.json`) goes to the chain as the demo sends it.
fn steps(data: &Path, key: &str, net: &[&str]) {
    let attestation = data.parent().unwrap().join("demo/evals/omar-mmlu.json");
    let attestation = attestation.to_str().unwrap();
    for args in [
        &["chain", "deploy", "--demo-token"][..],
        &["chain", "fund"],
        &["chain", "market", "--from", "2026-10-01", "--through", BEFORE],
        &["chain", "push-grants", "--label-wallets", "--at", BEFORE],
        &["chain", "push-milestones", "--label-wallets", "--at", BEFORE],
        &["chain", "submit", attestation, "--at", BEFORE],
        &["chain", "post-withholding", "--label-wallets", "--at", BEFORE],
        &["chain", "release", "--label-wallets", "--at", THROUGH],
    ] {
        ok(data, Some(key), &[args, net].concat());
    }
}

fn reconcile(data: &Path, key: &str, net: &[&str]) -> Value {
    let out = ok(data, Some(key), &[&["chain", "reconcile", "--label-wallets", "--json"], net].concat());
    serde_json::from_str(&out).expect("JSON")
}

fn count(v: &Value, list: &str) -> usize {
    v[list].as_array().expect("a list").len()
}

#[test]
fn separate_commands_build_the_demos_chain_and_reconcile_clean() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, key) = demo(dir.path());
    let expected = reconcile(&demo, &key, &[]);
    assert_eq!(count(&expected, "matched"), 538);
    for list in ["missing_on_chain", "unexpected_on_chain", "amount_mismatch"] {
        assert_eq!(count(&expected, list), 0, "{list}: {:#}", expected[list]);
    }
    assert_eq!(expected["token"]["symbol"], "GRID");

    let data = ledger_only(&demo, dir.path(), "steps");
    steps(&data, &key, &[]);
    // Same key, same steps: the same transactions, hashes and blocks.
    assert_eq!(reconcile(&data, &key, &[]), expected);

    // Every finding names its evidence: a transaction and, for what the ledger expects, its events.
    for item in expected["matched"].as_array().unwrap() {
        assert!(item["tx_hash"].as_str().is_some_and(|h| h.len() == 66), "{item}");
        assert!(!item["ledger_events"].as_array().unwrap().is_empty(), "{item}");
    }
    let kinds = |kind: &str| expected["matched"].as_array().unwrap().iter().filter(|i| i["kind"] == kind).count();
    assert_eq!((kinds("grant"), kinds("revocation"), kinds("withholding")), (52, 3, 439));

    // Running a step again sends nothing.
    for args in [
        &["chain", "fund"][..],
        &["chain", "market", "--from", "2026-10-01", "--through", BEFORE],
        &["chain", "push-grants", "--label-wallets", "--at", BEFORE],
        &["chain", "push-milestones", "--label-wallets", "--at", BEFORE],
        &["chain", "submit", demo.join("evals/omar-mmlu.json").to_str().unwrap(), "--at", BEFORE],
        &["chain", "post-withholding", "--label-wallets", "--at", BEFORE],
        &["chain", "release", "--label-wallets", "--at", THROUGH],
    ] {
        let out = ok(&data, Some(&key), args);
        assert!(!out.contains("block "), "{args:?} sent a transaction:\n{out}");
    }
    assert_eq!(reconcile(&data, &key, &[]), expected);

    // A backup carries the chain, its records and the key: the restored company reconciles the same.
    let backup = dir.path().join("backup.tar");
    ok(&demo, None, &["backup", backup.to_str().unwrap()]);
    let restored = dir.path().join("restored");
    ok(&restored, None, &["restore", backup.to_str().unwrap()]);
    assert_eq!(
        std::fs::read(restored.join("keys/chain.key")).unwrap(),
        std::fs::read(demo.join("keys/chain.key")).unwrap()
    );
    let out = ok(&restored, None, &["chain", "reconcile", "--label-wallets", "--json"]);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), expected);
}

#[test]
fn a_release_the_ledger_has_not_recognized_is_unexpected_and_a_missing_one_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, key) = demo(dir.path());
    // A release a month past the ledger's last run pays November's vests, which the ledger has
    // not recognized: each such release is unexpected on chain, and the reconcile fails.
    ok(&demo, Some(&key), &["chain", "release", "--label-wallets", "--at", "2026-11-30"]);
    let out = run(&demo, Some(&key), &["chain", "reconcile", "--label-wallets", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let unexpected = v["unexpected_on_chain"].as_array().unwrap();
    assert!(!unexpected.is_empty());
    assert!(unexpected.iter().all(|i| i["kind"] == "release" && i["tx_hash"].is_string()), "{unexpected:?}");

    // A chain where nothing was released: every recognized vest up to the chain's time is missing.
    let data = ledger_only(&demo, dir.path(), "unreleased");
    ok(&data, Some(&key), &["chain", "deploy", "--demo-token"]);
    ok(&data, Some(&key), &["chain", "fund"]);
    ok(&data, Some(&key), &["chain", "push-grants", "--label-wallets", "--at", THROUGH]);
    let out = run(&data, Some(&key), &["chain", "reconcile", "--label-wallets", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let missing = v["missing_on_chain"].as_array().unwrap();
    let releases = missing.iter().filter(|i| i["kind"] == "release").count();
    let withholding = missing.iter().filter(|i| i["kind"] == "withholding").count();
    // 43 releases of time vesting and omar's milestone (scaled by the demo's attestation).
    assert_eq!((releases, withholding), (44, 439), "{missing:?}");
    assert!(missing.iter().all(|i| i["tx_hash"].is_null() && !i["ledger_events"].as_array().unwrap().is_empty()));
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, key) = demo(dir.path());
    let data = ledger_only(&demo, dir.path(), "bad");
    // No key anywhere.
    let err = fails(&data, None, &["chain", "deploy", "--demo-token"], 2);
    assert!(err.contains("no signer key") && err.contains("TOKENCOMP_CHAIN_KEY"), "{err}");
    let err = fails(&data, Some("0x1234"), &["chain", "deploy", "--demo-token"], 1);
    assert!(err.contains("TOKENCOMP_CHAIN_KEY: not a private key"), "{err}");
    // Nothing deployed yet.
    let err = fails(&data, Some(&key), &["chain", "push-grants", "--label-wallets"], 2);
    assert!(err.contains("nothing is deployed"), "{err}");
    // The company file names no token address.
    let err = fails(&data, Some(&key), &["chain", "deploy"], 2);
    assert!(err.contains("no token address"), "{err}");
    ok(&data, Some(&key), &["chain", "deploy", "--demo-token"]);
    ok(&data, Some(&key), &["chain", "fund"]);
    let chain = std::fs::read(data.join("chain/embedded.json")).unwrap();
    // Wallet labels are not addresses.
    let err = fails(&data, Some(&key), &["chain", "push-grants"], 2);
    assert!(err.contains("has wallet `ada-ledger`, a label, not an address"), "{err}");
    let err = fails(&data, Some(&key), &["chain", "release", "--label-wallets", "--at", "tomorrow"], 2);
    assert!(err.contains("`tomorrow` is not a date") && err.contains("--at"), "{err}");
    // A node that is not there.
    let err = fails(&data, Some(&key), &["chain", "fund", "--rpc", "http://127.0.0.1:9"], 1);
    assert!(err.contains("127.0.0.1:9"), "{err}");
    assert_eq!(std::fs::read(data.join("chain/embedded.json")).unwrap(), chain, "a refused command changed the chain");
}

#[test]
fn revocations_for_a_multisig_admin_are_written_as_a_safe_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, key) = demo(dir.path());
    let data = ledger_only(&demo, dir.path(), "safe");
    let safe = "0x00000000000000000000000000000000005afe01";
    ok(&data, Some(&key), &["chain", "deploy", "--demo-token", "--admin", safe]);
    ok(&data, Some(&key), &["chain", "fund"]);
    let err = fails(&data, Some(&key), &["chain", "push-grants", "--label-wallets", "--at", BEFORE], 2);
    assert!(err.contains("3 revocations need the admin") && err.contains("--unsigned"), "{err}");
    // The grants were created before the refusal, and stay: the step is re-run with the file.
    let batch = dir.path().join("revocations.json");
    let out = ok(
        &data,
        Some(&key),
        &["chain", "push-grants", "--label-wallets", "--at", BEFORE, "--unsigned", batch.to_str().unwrap()],
    );
    assert!(out.contains("created 0 grants, revoked 0") && out.contains("3 admin actions"), "{out}");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&batch).unwrap()).unwrap();
    assert_eq!(v["chainId"], "31337");
    assert_eq!(v["meta"]["createdFromSafeAddress"].as_str().unwrap().to_lowercase(), safe);
    let txs = v["transactions"].as_array().unwrap();
    assert_eq!(txs.len(), 3);
    let deployment: Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("chain/embedded.deployment.json")).unwrap()).unwrap();
    for t in txs {
        assert_eq!(t["to"], deployment["manager"]);
        assert_eq!(t["value"], "0");
        // revoke(bytes32,uint64)
        assert!(t["data"].as_str().unwrap().starts_with("0x"), "{t}");
        assert_eq!(t["data"].as_str().unwrap().len(), 2 + 8 + 64 * 2);
    }
    let selector = &txs[0]["data"].as_str().unwrap()[..10];
    let chen = txs.iter().any(|t| t["data"].as_str().unwrap()[10..].starts_with(&hex_ascii("chen-2024-hire")));
    assert!(chen, "{txs:?}");
    assert_eq!(selector, revoke_selector());
}

/// Three owner keys of a 2-of-3 Safe, written as key files: (key, file), in this order.
fn owner_keys(dir: &Path) -> Vec<(tokencomp_chain::Key, PathBuf)> {
    (1..=3)
        .map(|i| {
            let digest = alloy_primitives::keccak256(format!("tokencomp test safe owner {i}"));
            let key = tokencomp_chain::Key::from_hex(&digest.to_string(), "a test owner").unwrap();
            let file = dir.join(format!("owner-{i}.key"));
            key.save(&file).unwrap();
            (key, file)
        })
        .collect()
}

#[test]
fn a_two_of_three_safe_admin_executes_the_revocation_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, key) = demo(dir.path());
    let expected = reconcile(&demo, &key, &[]);
    let data = ledger_only(&demo, dir.path(), "safe-exec");
    let owners = owner_keys(dir.path());
    let addresses: Vec<String> = owners.iter().map(|(k, _)| k.address().to_string()).collect();

    // A threshold above the owners is refused; then the Safe is created on the company's chain.
    let mut create = vec!["chain", "safe-create", "--threshold", "4"];
    for a in &addresses {
        create.extend(["--owner", a.as_str()]);
    }
    let err = fails(&data, Some(&key), &create, 2);
    assert!(err.contains("a threshold of 4 for 3 owners"), "{err}");
    create[3] = "2";
    let out = ok(&data, Some(&key), &create);
    let safe = out.strip_prefix("Safe ").and_then(|r| r.split_whitespace().next()).unwrap().to_owned();
    assert!(out.contains("(2 of 3 owners; 4 transactions)"), "{out}");
    // Again: the same Safe, nothing sent.
    assert!(ok(&data, Some(&key), &create).contains(&format!("Safe {safe} (2 of 3 owners; 0 transactions)")));

    ok(&data, Some(&key), &["chain", "deploy", "--demo-token", "--admin", &safe]);
    ok(&data, Some(&key), &["chain", "fund"]);
    let batch = dir.path().join("revocations.json");
    let out = ok(
        &data,
        Some(&key),
        &["chain", "push-grants", "--label-wallets", "--at", BEFORE, "--unsigned", batch.to_str().unwrap()],
    );
    assert!(out.contains("revoked 0") && out.contains("3 admin actions"), "{out}");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&batch).unwrap()).unwrap();
    let revoke = file["transactions"][0]["data"].as_str().unwrap().parse::<alloy_primitives::Bytes>().unwrap();
    let chain_file = data.join("chain/embedded.json");
    let before = std::fs::read(&chain_file).unwrap();

    // The operator key sending a revocation itself is refused by the contract's access control,
    // naming the key and the admin role (zero).
    {
        let signer = tokencomp_chain::Key::from_hex(&key, "the demo key").unwrap();
        let mut chain = tokencomp_chain::Embedded::open(&chain_file, 31337, 0).unwrap();
        let manager = file["transactions"][0]["to"].as_str().unwrap().parse().unwrap();
        let mut s = tokencomp_chain::ops::Session::new(&mut chain, &signer);
        let err = s.send("revoke".into(), alloy_primitives::TxKind::Call(manager), revoke).unwrap_err().to_string();
        assert!(err.contains("AccessControlUnauthorizedAccount"), "{err}");
        assert!(err.to_lowercase().contains(&signer.address().to_string().to_lowercase()), "{err}");
        assert!(err.contains(&format!("0x{}", "0".repeat(64))), "{err}");
    }

    // One owner's signature is below the threshold: the Safe refuses (GS020) and nothing is mined.
    let exec = |keys: &[&PathBuf]| -> Vec<String> {
        let mut args = vec!["chain".to_owned(), "safe-exec".to_owned(), batch.to_str().unwrap().to_owned()];
        for k in keys {
            args.extend(["--owner-key".to_owned(), k.to_str().unwrap().to_owned()]);
        }
        args
    };
    let args = exec(&[&owners[1].1]);
    let err = fails(&data, Some(&key), &args.iter().map(String::as_str).collect::<Vec<_>>(), 1);
    assert!(err.contains("GS020"), "{err}");
    // Two signatures, one of them not an owner's: refused too (GS026).
    let stranger = dir.path().join("stranger.key");
    tokencomp_chain::Key::from_hex(&alloy_primitives::keccak256("stranger").to_string(), "x")
        .unwrap()
        .save(&stranger)
        .unwrap();
    let args = exec(&[&owners[1].1, &stranger]);
    let err = fails(&data, Some(&key), &args.iter().map(String::as_str).collect::<Vec<_>>(), 1);
    assert!(err.contains("GS026"), "{err}");
    assert_eq!(std::fs::read(&chain_file).unwrap(), before, "a refused batch changed the chain");

    // Two owners sign (given in any order): each revocation goes through Safe.execTransaction.
    let args = exec(&[&owners[2].1, &owners[0].1]);
    let out = ok(&data, Some(&key), &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.contains(&format!("executed 3 of 3 transactions through the Safe {safe}")), "{out}");
    let exec_hashes: Vec<String> =
        out.lines().filter(|l| l.contains("nonce")).map(|l| l.split_whitespace().nth(2).unwrap().to_owned()).collect();
    assert_eq!(exec_hashes.len(), 3, "{out}");
    // Executed once: the revocations cannot be made again (the contract refuses a second one).
    let err = fails(&data, Some(&key), &args.iter().map(String::as_str).collect::<Vec<_>>(), 1);
    assert!(err.contains("GrantRevoked"), "{err}");

    // The oracle's key is an admin action too: push-milestones defines the milestone (operator)
    // and writes the registration for the Safe, which two owners execute; then the demo's
    // attestation applies on the chain.
    let oracles = dir.path().join("oracles.json");
    let out = ok(
        &data,
        Some(&key),
        &["chain", "push-milestones", "--label-wallets", "--unsigned", oracles.to_str().unwrap()],
    );
    assert!(out.contains("defined 1 milestones") && out.contains("1 admin actions"), "{out}");
    // The demo's file was signed for the demo's manager, not this one.
    let refused = |file: &Path, reason: &str| {
        let out = run(&data, Some(&key), &["chain", "submit", file.to_str().unwrap()]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "{stdout}");
        assert!(stdout.contains(&format!("rejected on chain: {reason} (attestation 0)")), "{stdout}");
    };
    refused(&demo.join("evals/omar-mmlu.json"), "wrong_contract");
    // The oracle signs the same result for this deployment (the domain from its record).
    let attestation = dir.path().join("omar-mmlu.json");
    ok(
        &data,
        Some(&key),
        &[
            "oracle",
            "sign",
            "--key",
            demo.join("keys/oracle-evals.key").to_str().unwrap(),
            "--milestone",
            "omar-mmlu",
            "--result",
            demo.join("evals/results.json").to_str().unwrap(),
            "--pointer",
            "/results/mmlu/acc,none",
            "--observed-at",
            "2026-10-20T15:00:00Z",
            "--expires-in",
            "30d",
            "--nonce",
            "2",
            "--out",
            attestation.to_str().unwrap(),
        ],
    );
    refused(&attestation, "unregistered_oracle");
    let mut args = vec!["chain", "safe-exec", oracles.to_str().unwrap()];
    args.extend(["--owner-key", owners[0].1.to_str().unwrap(), "--owner-key", owners[1].1.to_str().unwrap()]);
    assert!(ok(&data, Some(&key), &args).contains("executed 1 of 1 transactions through the Safe"));
    assert!(ok(&data, Some(&key), &["chain", "submit", attestation.to_str().unwrap()]).contains("applied on chain"));

    // The rest of the demo's steps: the chain reconciles clean, the revocations the Safe made
    // matched to the ledger's forfeitures, amounts as in the demo's own chain.
    ok(&data, Some(&key), &["chain", "post-withholding", "--label-wallets", "--at", BEFORE]);
    ok(&data, Some(&key), &["chain", "release", "--label-wallets", "--at", THROUGH]);
    let got = reconcile(&data, &key, &[]);
    for list in ["missing_on_chain", "unexpected_on_chain", "amount_mismatch"] {
        assert_eq!(count(&got, list), 0, "{list}: {:#}", got[list]);
    }
    assert_eq!(count(&got, "matched"), 538);
    let revocations = |v: &Value| -> Vec<Value> {
        v["matched"].as_array().unwrap().iter().filter(|i| i["kind"] == "revocation").cloned().collect()
    };
    let (ours, theirs) = (revocations(&got), revocations(&expected));
    assert_eq!(ours.len(), 3);
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!((&a["grant"], &a["expected"], &a["on_chain"]), (&b["grant"], &b["expected"], &b["on_chain"]));
        assert!(exec_hashes.iter().any(|h| a["tx_hash"] == h.as_str()), "{a} was not one of the Safe's transactions");
    }
}

fn hex_ascii(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// `revoke(bytes32,uint64)`'s selector, from the committed artifact's method identifiers.
fn revoke_selector() -> String {
    let text = include_str!("../../../../contracts/artifacts/VestingManager.json");
    let v: Value = serde_json::from_str(text).unwrap();
    format!("0x{}", v["methodIdentifiers"]["revoke(bytes32,uint64)"].as_str().unwrap())
}

/// The same steps as separate processes against a real JSON-RPC node: the reconcile JSON
/// equals the embedded chain's (the same signed transactions, so the same hashes and blocks).
#[test]
fn a_json_rpc_node_gives_the_embedded_chains_reconciliation() {
    let url = match std::env::var("TOKENCOMP_TEST_RPC") {
        Ok(u) => u,
        Err(_) => panic!(
            "TOKENCOMP_TEST_RPC is not set: run the tests with scripts/test, which starts a Hardhat node on 127.0.0.1"
        ),
    };
    let dir = tempfile::tempdir().unwrap();
    let (demo, key) = demo(dir.path());
    let expected = reconcile(&demo, &key, &[]);
    let data = ledger_only(&demo, dir.path(), "rpc");
    let net = ["--rpc", url.as_str()];
    steps(&data, &key, &net);
    let got = reconcile(&data, &key, &net);
    assert_eq!(got, expected, "the node's reconciliation differs from the embedded chain's");
    // The node's Sync logs give the TWAP points the demo recorded from the embedded chain: the
    // ledger (a copy of the demo's) refuses a differing point for a recorded day as a conflict.
    let before = ok(&data, None, &["verify-ledger"]);
    let out = ok(&data, Some(&key), &["chain", "price", "--from", "2026-09-30", "--through", BEFORE, "--rpc", &url]);
    assert!(out.contains("2026-10-30") && out.contains("0.71480000"), "{out}");
    assert_eq!(ok(&data, None, &["verify-ledger"]), before, "re-recording the same points added events");
    // Nothing of the node run touched the embedded chain.
    assert!(!data.join("chain/embedded.json").exists());
    assert!(data.join("chain/rpc-31337.deployment.json").exists());
}

/// A small company whose FMV is the on-chain TWAP: a three-month grant vesting on the 1st of
/// October, November and December, and closes from October 1 through November 1 (the demo
/// market follows them; November 1 is a 25-hour day in New York).
fn twap_company(dir: &Path) -> (PathBuf, Vec<(String, String)>) {
    let mut toml = String::from(
        "[company]\nname = \"Twap Co\"\ntime_zone = \"America/New_York\"\npay_frequency = \"monthly\"\n\
         fmv = \"twap\"\nfmv_days = 1\n\n[token]\nsymbol = \"TWP\"\ndecimals = 18\n\n\
         [[person]]\nid = \"kim\"\nname = \"Kim Lee\"\ncountry = \"US\"\nregion = \"CA\"\nhired = 2026-09-01\n\
         salary = \"150000\"\nwallet = \"kim-wallet\"\n\n\
         [[grant]]\nid = \"kim-hire\"\nholder = \"kim\"\namount = \"3000\"\n[grant.schedule]\n\
         type = \"monthly\"\nstart = 2026-09-01\nduration_months = 3\n",
    );
    let mut closes = Vec::new();
    let mut day = jiff::civil::date(2026, 10, 1);
    for i in 0..32u32 {
        // Four decimals, moving every day.
        let close = format!("0.{}", 5000 + (i * 137) % 4000);
        toml.push_str(&format!("\n[[price]]\ndate = {day}\nclose = \"{close}\"\n"));
        closes.push((day.to_string(), close));
        day = day.tomorrow().unwrap();
    }
    let data = dir.join("twap");
    std::fs::create_dir_all(&data).unwrap();
    let file = dir.join("twap.toml");
    std::fs::write(&file, toml).unwrap();
    ok(&data, None, &["init", file.to_str().unwrap()]);
    ok(&data, None, &["run", "--through", "2026-11-30", "--quiet"]);
    (data, closes)
}

fn fmv_of(report: &Value, vest_date: &str) -> (String, String) {
    let row = report["income"].as_array().unwrap().iter().find(|r| r["vest_date"] == vest_date).unwrap();
    (row["fmv_usd"].as_str().unwrap().to_owned(), row["fmv_source"].as_str().unwrap().to_owned())
}

#[test]
fn the_fmv_at_vest_can_be_the_pairs_twap_recorded_from_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let (data, closes) = twap_company(dir.path());
    let key = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
    let report = || -> Output { run(&data, None, &["tax-report", "--person", "kim", "--year", "2026", "--json"]) };
    // Nothing recorded yet: the error names the missing point and how to record it.
    let out = report();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("no TWAP point recorded for the end of 2026-09-30"), "{err}");
    assert!(err.contains("tokencomp chain price"), "{err}");

    // No pair yet, and a market for a token that is not the demo's, are refused.
    let err = fails(&data, Some(key), &["chain", "price", "--from", "2026-09-30"], 2);
    assert!(err.contains("nothing is deployed") || err.contains("no token address"), "{err}");
    ok(&data, Some(key), &["chain", "deploy", "--demo-token"]);
    let err = fails(&data, Some(key), &["chain", "price", "--from", "2026-09-30"], 2);
    assert!(err.contains("no demo market"), "{err}");
    let out = ok(&data, Some(key), &["chain", "market", "--from", "2026-10-01", "--through", "2026-11-01"]);
    assert!(out.contains("set the price for 32 days"), "{out}");
    // Again: every day is already set.
    let out = ok(&data, Some(key), &["chain", "market", "--from", "2026-10-01", "--through", "2026-11-01"]);
    assert!(out.contains("set the price for 0 days"), "{out}");
    // November 1 has not ended on the chain yet: not final, nothing recorded.
    let err = fails(&data, Some(key), &["chain", "price", "--from", "2026-09-30", "--through", "2026-11-01"], 2);
    assert!(err.contains("is before the end of 2026-11-01") && err.contains("not final"), "{err}");
    // A later block (the grants funded and pushed the next day) makes it final.
    ok(&data, Some(key), &["chain", "fund"]);
    ok(&data, Some(key), &["chain", "push-grants", "--label-wallets", "--at", "2026-11-02"]);
    let out = ok(&data, Some(key), &["chain", "price", "--from", "2026-09-30", "--through", "2026-11-01"]);
    // Each day's TWAP is the close the market held all day, the 25-hour November 1 included.
    for (day, close) in &closes {
        let line = out.lines().find(|l| l.starts_with(day.as_str())).unwrap();
        let twap = line.split_whitespace().nth(2).unwrap();
        assert_eq!(twap, format!("{close}0000"), "{line}");
    }
    // Recording again adds nothing.
    let again = ok(&data, Some(key), &["chain", "price", "--from", "2026-09-30", "--through", "2026-11-01"]);
    assert_eq!(again, out);

    // The vests of October 1 and November 1 are valued at the pair's one-day TWAP.
    let out = report();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for (day, close) in [&closes[0], &closes[31]] {
        assert_eq!(fmv_of(&v, day), (format!("{close}0000"), "twap-1d".to_owned()), "{day}");
    }
    // December 1's vest needs the ends of November 30 and December 1, which the chain has not reached.
    ok(&data, None, &["run", "--through", "2026-12-31", "--quiet"]);
    let out = report();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("no TWAP point recorded for the end of 2026-11-30"), "{err}");
}

/// Issue 15, item 2: a pull-forward milestone added for a grant already on the chain (pushed with
/// its twelve pre-cliff installments merged into its cliff step, since no milestone named it then)
/// is refused by `chain push-milestones` before anything is sent: exit 2, naming the grant and
/// why, and the chain's file is unchanged. On the old code the milestone was defined, and two
/// steps pulled forward released months before the engine's first vest.
#[test]
fn a_pull_forward_on_a_grant_already_on_chain_is_refused_and_nothing_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, key) = demo(dir.path());
    let company = dir.path().join("company.toml");
    let mut text = include_str!("../../../../examples/company.toml").to_owned();
    text.push_str(
        "\n[[milestone]]\nid = \"ada-ship\"\ngrant = \"ada-2024-hire\"\nmetric = \"shipped\"\ncomparison = \"gte\"\n\
         threshold = \"1\"\ndeadline = 2027-06-30\neffect = \"pull_forward\"\nperiods = 2\n",
    );
    std::fs::write(&company, text).unwrap();
    // The demo recorded the company as `system`; the same actor applies the change.
    let out = Command::new(env!("CARGO_BIN_EXE_tokencomp"))
        .arg("--data")
        .arg(&demo)
        .args(["--actor", "system", "apply"])
        .arg(&company)
        .env_remove("TOKENCOMP_DATABASE")
        .env_remove("TOKENCOMP_DATA")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let chain = std::fs::read(demo.join("chain/embedded.json")).unwrap();
    let err = fails(&demo, Some(&key), &["chain", "push-milestones", "--label-wallets", "--at", "2026-11-02"], 2);
    assert!(
        err.contains(
            "milestone `ada-ship` pulls grant `ada-2024-hire` forward by counting its steps on the chain, but \
             `ada-2024-hire` is there without one step per installment"
        ) && err.contains("nothing was sent"),
        "{err}"
    );
    assert_eq!(std::fs::read(demo.join("chain/embedded.json")).unwrap(), chain, "nothing was sent");
}
