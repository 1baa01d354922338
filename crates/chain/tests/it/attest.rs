//! Milestone attestations end to end: signed here or by ethers.js (an independent EIP-712
//! implementation, run with node from contracts/node_modules), verified here and recovered there,
//! and every rejection reason told apart.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use alloy_primitives::{Address, B256, I256, U256, keccak256};
use alloy_sol_types::SolStruct;
use tokencomp_chain::Key;
use tokencomp_chain::attest::{self, Attestation, Domain, Submission, TYPE};
use tokencomp_core::attestation::{Book, Comparison, Fixed18, Milestone, Refused, Registry, Rejection, Subject};

use crate::KEY;

const NOW: u64 = 1_750_000_000;
const DOMAIN: Domain = Domain { chain_id: 31337, verifying_contract: Address::repeat_byte(0x5a) };
const ORACLE_KEYS: [&str; 3] = [
    KEY,
    "0x0000000000000000000000000000000000000000000000000000000000000b0b",
    "0x0000000000000000000000000000000000000000000000000000000000000c0c",
];

fn key(i: usize) -> Key {
    Key::from_hex(ORACLE_KEYS[i], "test").unwrap()
}

fn value(text: &str) -> I256 {
    attest::value(Fixed18::parse_decimal(text).unwrap())
}

fn attestation(oracle: &Key, v: &str, nonce: u64) -> Attestation {
    Attestation {
        milestone: "mmlu-80".into(),
        metric: "mmlu/acc,none".into(),
        value: value(v),
        subject: "grant:g-7".into(),
        observedAt: NOW - 3_600,
        expiresAt: NOW + 86_400,
        oracle: oracle.address(),
        nonce,
    }
}

/// Three oracles (the first rotated once, the third revoked) and one milestone: MMLU accuracy
/// ≥ 0.8 for grant g-7, observed by the deadline, with the given quorum.
fn book(quorum: u32) -> Book {
    let mut r = Registry::new();
    let s = |k: Key| tokencomp_core::attestation::Signer(k.address().into_array());
    r.register("alpha", s(key(0)), NOW - 1_000).unwrap();
    r.register("beta", s(key(1)), NOW - 1_000).unwrap();
    r.register("gamma", s(key(2)), NOW - 1_000).unwrap();
    let mut b = Book::new(r);
    b.add_milestone(Milestone {
        id: "mmlu-80".into(),
        metric: "mmlu/acc,none".into(),
        comparison: Comparison::Gte,
        threshold: Fixed18::parse_decimal("0.8").unwrap(),
        subject: Subject::Grant("g-7".into()),
        deadline: NOW,
        quorum,
    })
    .unwrap();
    b
}

#[test]
fn a_signed_attestation_round_trips_through_its_file_and_applies_once() {
    let mut b = book(1);
    let a = attestation(&key(0), "0.8123", 1);
    let s = attest::sign(&key(0), &a, &DOMAIN).unwrap();
    let json = s.to_json();
    assert_eq!(json["attestation"]["value"], "812300000000000000");
    assert_eq!(json["domain"]["chainId"], "31337");
    assert_eq!(Submission::from_json(&json).unwrap(), s);
    assert_eq!(attest::check(&b, &s, &DOMAIN, NOW), Ok("alpha".to_owned()));
    let met = attest::apply(&mut b, "mmlu-80", std::slice::from_ref(&s), &DOMAIN, NOW).unwrap();
    assert_eq!(met.value.to_string(), "0.8123");
    assert_eq!(met.oracles, ["alpha"]);
    // Signing needs the oracle's own key.
    assert!(matches!(attest::sign(&key(1), &a, &DOMAIN), Err(attest::AttestError::NotTheOracle { .. })));
}

#[test]
fn a_submission_file_names_the_field_it_cannot_read() {
    let s = attest::sign(&key(0), &attestation(&key(0), "0.9", 1), &DOMAIN).unwrap();
    let broken = |path: &str, v: serde_json::Value| {
        let mut json = s.to_json();
        let (parent, leaf) = path.rsplit_once('.').unwrap_or(("", path));
        let node = if parent.is_empty() { &mut json } else { &mut json[parent] };
        node[leaf] = v;
        Submission::from_json(&json).unwrap_err().to_string()
    };
    for (path, v) in [
        ("attestation.value", serde_json::json!("0.9")),
        ("attestation.nonce", serde_json::json!("-1")),
        ("attestation.observedAt", serde_json::json!(1.5)),
        ("attestation.oracle", serde_json::json!("0x12")),
        ("attestation.milestone", serde_json::json!(7)),
        ("domain.name", serde_json::json!("other")),
        ("domain.verifyingContract", serde_json::json!(null)),
        ("signature", serde_json::json!("0x1234")),
    ] {
        let message = broken(path, v);
        assert!(message.starts_with(&format!("{path}: ")), "{path}: {message}");
    }
    let mut json = s.to_json();
    json["attestation"].as_object_mut().unwrap().remove("subject");
    assert_eq!(Submission::from_json(&json).unwrap_err().to_string(), "attestation.subject: missing");
    // Integers may also be plain JSON integers.
    json = s.to_json();
    json["attestation"]["nonce"] = serde_json::json!(1);
    assert_eq!(Submission::from_json(&json).unwrap(), s);
}

#[test]
fn the_digest_is_eip712_worked_by_hand() {
    // EIP-712, step by step with keccak256 and 32-byte words only:
    // typeHash = keccak256(TYPE); hashStruct = keccak256(typeHash ‖ each field encoded, where
    // strings are their keccak256, int256 its two's complement, uint64 and address left-padded);
    // domainSeparator likewise over EIP712Domain(string name,string version,uint256 chainId,
    // address verifyingContract); digest = keccak256(0x19 0x01 ‖ domainSeparator ‖ hashStruct).
    let type_hash = keccak256(
        "Attestation(string milestone,string metric,int256 value,string subject,uint64 observedAt,uint64 expiresAt,address oracle,uint64 nonce)",
    );
    let a = attestation(&key(0), "-1.5", 42);
    assert_eq!(a.eip712_type_hash(), type_hash);
    assert_eq!(keccak256(TYPE), type_hash);
    let word_u64 = |n: u64| B256::from(U256::from(n));
    let word_addr = |x: Address| B256::left_padding_from(x.as_slice());
    let mut s = Vec::new();
    s.extend_from_slice(type_hash.as_slice());
    s.extend_from_slice(keccak256("mmlu-80").as_slice());
    s.extend_from_slice(keccak256("mmlu/acc,none").as_slice());
    // −1.5 × 10^18 as int256: 2^256 − 1.5e18.
    s.extend_from_slice(&(U256::ZERO - U256::from(1_500_000_000_000_000_000u64)).to_be_bytes::<32>());
    s.extend_from_slice(keccak256("grant:g-7").as_slice());
    s.extend_from_slice(word_u64(NOW - 3_600).as_slice());
    s.extend_from_slice(word_u64(NOW + 86_400).as_slice());
    s.extend_from_slice(word_addr(key(0).address()).as_slice());
    s.extend_from_slice(word_u64(42).as_slice());
    let struct_hash = keccak256(&s);
    let mut d = Vec::new();
    d.extend_from_slice(
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)").as_slice(),
    );
    d.extend_from_slice(keccak256("tokencomp").as_slice());
    d.extend_from_slice(keccak256("1").as_slice());
    d.extend_from_slice(word_u64(31337).as_slice());
    d.extend_from_slice(word_addr(DOMAIN.verifying_contract).as_slice());
    let separator = keccak256(&d);
    assert_eq!(DOMAIN.separator(), separator);
    let mut m = vec![0x19, 0x01];
    m.extend_from_slice(separator.as_slice());
    m.extend_from_slice(struct_hash.as_slice());
    assert_eq!(attest::digest(&a, &DOMAIN), keccak256(&m));
    // Every field is in the hash: changing any one changes it.
    let base = attest::digest(&a, &DOMAIN);
    let mut other = a.clone();
    other.nonce += 1;
    assert_ne!(attest::digest(&other, &DOMAIN), base);
    assert_ne!(attest::digest(&a, &Domain { chain_id: 1, ..DOMAIN }), base);
}

fn refused(b: &mut Book, submissions: &[Submission], expected: &Domain, now: u64) -> Rejection {
    attest::apply(b, "mmlu-80", submissions, expected, now).unwrap_err().reason
}

#[test]
fn each_rejection_is_named() {
    let alpha = key(0);
    let sign = |k: &Key, a: &Attestation| attest::sign(k, a, &DOMAIN).unwrap();
    let good = attestation(&alpha, "0.81", 7);
    let with = |f: &dyn Fn(&mut Attestation)| {
        let mut a = good.clone();
        f(&mut a);
        sign(&alpha, &a)
    };
    let mut b = book(1);
    b.registry.revoke("gamma", NOW - 10).unwrap();
    let stranger = Key::from_hex("0x00000000000000000000000000000000000000000000000000000000000000dd", "t").unwrap();

    // wrong_chain, wrong_contract: signed for another domain than this chain's manager.
    let other_chain = attest::sign(&alpha, &good, &Domain { chain_id: 1, ..DOMAIN }).unwrap();
    assert_eq!(refused(&mut b, &[other_chain], &DOMAIN, NOW), Rejection::WrongChain);
    let other_contract =
        attest::sign(&alpha, &good, &Domain { verifying_contract: Address::repeat_byte(1), ..DOMAIN }).unwrap();
    assert_eq!(refused(&mut b, &[other_contract], &DOMAIN, NOW), Rejection::WrongContract);
    // bad_signature: a field changed after signing, a claimed oracle that did not sign, a
    // malformed v.
    let mut tampered = sign(&alpha, &good);
    tampered.attestation.value = value("0.99");
    assert_eq!(refused(&mut b, &[tampered], &DOMAIN, NOW), Rejection::BadSignature);
    let mut impostor = sign(&stranger, &Attestation { oracle: stranger.address(), ..good.clone() });
    impostor.attestation.oracle = alpha.address();
    assert_eq!(refused(&mut b, &[impostor], &DOMAIN, NOW), Rejection::BadSignature);
    let mut bad_v = sign(&alpha, &good);
    bad_v.signature[64] = 29;
    assert_eq!(refused(&mut b, &[bad_v], &DOMAIN, NOW), Rejection::BadSignature);
    // unregistered_oracle, revoked_oracle.
    let unregistered = sign(&stranger, &Attestation { oracle: stranger.address(), ..good.clone() });
    assert_eq!(refused(&mut b, &[unregistered], &DOMAIN, NOW), Rejection::UnregisteredOracle);
    let revoked = sign(&key(2), &Attestation { oracle: key(2).address(), ..good.clone() });
    assert_eq!(refused(&mut b, &[revoked], &DOMAIN, NOW), Rejection::RevokedOracle);
    // expired: expiresAt ≤ now.
    assert_eq!(refused(&mut b, &[with(&|a| a.expiresAt = NOW)], &DOMAIN, NOW), Rejection::Expired);
    // unknown_milestone, wrong_subject, wrong_metric, past_deadline, below_threshold.
    let unknown = with(&|a| a.milestone = "helm-70".into());
    assert_eq!(refused(&mut b, &[unknown], &DOMAIN, NOW), Rejection::UnknownMilestone);
    let team = with(&|a| a.subject = "team:research".into());
    assert_eq!(refused(&mut b, &[team], &DOMAIN, NOW), Rejection::WrongSubject);
    let metric = with(&|a| a.metric = "mmlu/acc_norm,none".into());
    assert_eq!(refused(&mut b, &[metric], &DOMAIN, NOW), Rejection::WrongMetric);
    let late = with(&|a| a.observedAt = NOW + 1);
    assert_eq!(refused(&mut b, &[late], &DOMAIN, NOW + 2), Rejection::PastDeadline);
    let low = with(&|a| a.value = value("0.799999999999999999"));
    assert_eq!(refused(&mut b, &[low], &DOMAIN, NOW), Rejection::BelowThreshold);
    // Applied once; the same submission again is a replayed nonce, a fresh one finds it applied.
    attest::apply(&mut b, "mmlu-80", &[sign(&alpha, &good)], &DOMAIN, NOW).unwrap();
    assert_eq!(refused(&mut b, &[sign(&alpha, &good)], &DOMAIN, NOW), Rejection::ReplayedNonce);
    assert_eq!(refused(&mut b, &[with(&|a| a.nonce = 8)], &DOMAIN, NOW), Rejection::AlreadyApplied);

    // quorum_not_met: two of the three oracles a 3-of-3 milestone needs.
    let mut q = book(3);
    let two: Vec<Submission> =
        (0..2).map(|i| sign(&key(i), &Attestation { oracle: key(i).address(), ..good.clone() })).collect();
    assert_eq!(refused(&mut q, &two, &DOMAIN, NOW), Rejection::QuorumNotMet);
    // With the third: the median of 0.81, 0.95, 0.85 grades the effect.
    let all: Vec<Submission> = (0..3)
        .map(|i| {
            let v = ["0.81", "0.95", "0.85"][i];
            sign(&key(i), &Attestation { oracle: key(i).address(), value: value(v), ..good.clone() })
        })
        .collect();
    let met = attest::apply(&mut q, "mmlu-80", &all, &DOMAIN, NOW).unwrap();
    assert_eq!((met.value.to_string(), met.oracles.len()), ("0.85".to_owned(), 3));
    // A bad member of a set is named with its index.
    let mut set = all.clone();
    set[2].signature[0] ^= 1;
    assert_eq!(
        attest::apply(&mut book(3), "mmlu-80", &set, &DOMAIN, NOW),
        Err(Refused { reason: Rejection::BadSignature, index: Some(2) })
    );
}

/// Runs `node contracts/test/eip712.mjs MODE` with `input` on stdin. It fails, never skips, when
/// node or contracts/node_modules is missing: scripts/test installs them.
fn ethers(mode: &str, input: &serde_json::Value) -> serde_json::Value {
    let contracts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../contracts");
    let install = "install Node.js 18+ and run `npm ci` in contracts/ (scripts/test does both)";
    assert!(
        contracts.join("node_modules/ethers/package.json").is_file(),
        "contracts/node_modules/ethers is missing: {install}"
    );
    let mut child = Command::new("node")
        .arg("test/eip712.mjs")
        .arg(mode)
        .current_dir(&contracts)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node ({e}): {install}"));
    child.stdin.take().unwrap().write_all(input.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "eip712.mjs {mode}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn ethers_and_this_signer_accept_each_others_signatures_and_refuse_a_tampered_one() {
    let alpha = key(0);
    let mut b = book(1);
    let a = attestation(&alpha, "-0.000000000000000001", u64::MAX);
    let ours = attest::sign(&alpha, &Attestation { value: value("0.8123"), ..a.clone() }, &DOMAIN).unwrap();

    // (b) Ours recovers to the oracle in ethers, under the same digest.
    let theirs_view = ethers("recover", &ours.to_json());
    assert_eq!(theirs_view["address"].as_str().unwrap().parse::<Address>().unwrap(), alpha.address());
    assert_eq!(
        theirs_view["digest"].as_str().unwrap().parse::<B256>().unwrap(),
        attest::digest(&ours.attestation, &DOMAIN)
    );

    // (a) ethers' signature verifies here (and passes the rules).
    let mut request = ours.to_json();
    request["key"] = serde_json::json!(ORACLE_KEYS[0]);
    request.as_object_mut().unwrap().remove("signature");
    let signed = Submission::from_json(&ethers("sign", &request)).unwrap();
    assert_eq!(signed.attestation, ours.attestation);
    assert_eq!(attest::check(&b, &signed, &DOMAIN, NOW), Ok("alpha".to_owned()));
    // Both are deterministic RFC 6979 signatures of the same digest by the same key.
    assert_eq!(signed.signature, ours.signature);
    // A negative value and the largest nonce hash the same on both sides too.
    let edge = attest::sign(&alpha, &a, &DOMAIN).unwrap();
    let view = ethers("recover", &edge.to_json());
    assert_eq!(view["digest"].as_str().unwrap().parse::<B256>().unwrap(), attest::digest(&a, &DOMAIN));
    assert_eq!(view["address"].as_str().unwrap().parse::<Address>().unwrap(), alpha.address());

    // (c) ethers' signature with the value raised after signing: refused here as bad_signature,
    // and ethers recovers it to some other address.
    let mut tampered = signed.to_json();
    tampered["attestation"]["value"] = serde_json::json!("990000000000000000");
    let tampered_sub = Submission::from_json(&tampered).unwrap();
    assert_eq!(attest::check(&b, &tampered_sub, &DOMAIN, NOW), Err(Rejection::BadSignature));
    assert_eq!(
        attest::apply(&mut b, "mmlu-80", &[tampered_sub], &DOMAIN, NOW).unwrap_err().reason,
        Rejection::BadSignature
    );
    let elsewhere = ethers("recover", &tampered)["address"].as_str().unwrap().parse::<Address>().unwrap();
    assert_ne!(elsewhere, alpha.address());
    // The untampered one still applies.
    assert_eq!(attest::apply(&mut b, "mmlu-80", &[signed], &DOMAIN, NOW).unwrap().value.to_string(), "0.8123");
}
