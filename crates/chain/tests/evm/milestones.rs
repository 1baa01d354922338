//! Milestone attestations on-chain against the engine's rules (`tokencomp_core::attestation`,
//! through `tokencomp_chain::attest`): every refusal named alike on both sides, signatures from
//! this signer and from ethers.js accepted by the contract and a tampered one refused by both,
//! random milestone terms and attestation sequences vesting the same amounts in both, and the gas
//! of an application.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use alloy_primitives::{Address, B256, I256, U256, keccak256};
use alloy_sol_types::SolEvent;
use jiff::tz::TimeZone;
use tokencomp_chain::Key;
use tokencomp_chain::attest::{self, Attestation, Domain, Submission};
use tokencomp_core::attestation::{
    Book, Comparison, Fixed18, Milestone, Refused, Registry, Rejection, Signer, Subject,
};
use tokencomp_core::calendar::{date_of, start_of_day};
use tokencomp_core::grant::{EventKind, Grant, GrantEvent, MilestoneEffect, PerformanceTranche};
use tokencomp_core::model::{MilestoneTerms, TermsEffect};
use tokencomp_evm::VestingManager as VM;
use tokencomp_money::TokenAmount;

use crate::harness::{ADMIN, GENESIS, OPERATOR, Rng, STRANGER, World, id, tranched, wallet};
use crate::schedules::{ZONES, schedule};

const DAY: u64 = 86_400;
const METRIC: &str = "mmlu/acc,none";

pub(crate) fn key(i: u64) -> Key {
    Key::from_hex(&format!("0x{:064x}", 0xa11ce_u64 + i), "test").unwrap()
}

pub(crate) fn signer(k: &Key) -> Signer {
    Signer(k.address().into_array())
}

pub(crate) fn fixed(text: &str) -> Fixed18 {
    Fixed18::parse_decimal(text).unwrap()
}

pub(crate) fn domain(w: &World) -> Domain {
    Domain { chain_id: 31337, verifying_contract: w.manager }
}

/// An attestation of `METRIC` about `subject`, observed an hour ago and valid for a day.
pub(crate) fn attestation(
    milestone: &str,
    subject: &str,
    oracle: &Key,
    value: &str,
    nonce: u64,
    now: u64,
) -> Attestation {
    Attestation {
        milestone: milestone.into(),
        metric: METRIC.into(),
        value: attest::value(fixed(value)),
        subject: subject.into(),
        observedAt: now - 3_600,
        expiresAt: now + DAY,
        oracle: oracle.address(),
        nonce,
    }
}

pub(crate) fn effect(grant: B256, kind: u8, periods: u32, bps: u32, target: u128) -> VM::EffectInput {
    VM::EffectInput { grant, kind, periods, bps, target }
}

pub(crate) fn milestone_input(
    id: &str,
    subject: &str,
    threshold: &str,
    deadline: u64,
    quorum: u32,
    effects: Vec<VM::EffectInput>,
) -> VM::MilestoneInput {
    VM::MilestoneInput {
        id: id.into(),
        metric: METRIC.into(),
        comparison: 0,
        threshold: attest::value(fixed(threshold)),
        subject: subject.into(),
        deadline,
        quorum,
        effects,
    }
}

/// The engine's milestone for a contract's milestone input (comparison `gte`, as the tests
/// define them).
pub(crate) fn milestone_of(input: &VM::MilestoneInput) -> Milestone {
    assert_eq!(input.comparison, 0, "the tests define gte milestones");
    Milestone {
        id: input.id.clone(),
        metric: input.metric.clone(),
        comparison: Comparison::Gte,
        threshold: Fixed18::from_be_bytes(input.threshold.into_raw().to_be_bytes()),
        subject: Subject::parse(&input.subject).unwrap(),
        deadline: input.deadline,
        quorum: input.quorum,
    }
}

/// Defines the same milestones on the contract (by the operator) and in the engine's book.
pub(crate) fn define(w: &mut World, book: &mut Book, inputs: Vec<VM::MilestoneInput>) {
    for input in &inputs {
        book.add_milestone(milestone_of(input)).unwrap();
    }
    let m = w.manager;
    w.ok(OPERATOR, m, &VM::defineMilestonesCall { inputs });
}

/// What the contract says of `applyMilestone(milestone, set)`: the applied median, or the named
/// refusal decoded from its custom error.
pub(crate) fn on_chain(w: &mut World, milestone: &str, set: &[Submission]) -> (Result<I256, Refused>, u64) {
    let call =
        VM::applyMilestoneCall { milestone: milestone.into(), set: set.iter().map(attest::to_contract).collect() };
    let m = w.manager;
    let r = w.chain.send(STRANGER, m, &call).unwrap();
    if !r.success {
        let refused = attest::rejection_of(&r.output).unwrap_or_else(|| panic!("not a named refusal: {}", r.output));
        return (Err(refused), r.gas_used);
    }
    let applied = r
        .logs
        .iter()
        .find_map(|l| VM::MilestoneApplied::decode_log_data(&l.data).ok())
        .expect("a MilestoneApplied event");
    (Ok(applied.value), r.gas_used)
}

/// A world with three oracles registered at `t` (gamma's key then revoked) and one tranched grant.
fn oracle_world(t: u64) -> (World, Book) {
    let mut w = World::new();
    w.at(t);
    let m = w.manager;
    let mut registry = Registry::new();
    for (i, name) in ["alpha", "beta", "gamma"].into_iter().enumerate() {
        let k = key(i as u64);
        w.ok(ADMIN, m, &VM::registerOracleCall { name: name.into(), key: k.address() });
        registry.register(name, signer(&k), t).unwrap();
    }
    w.ok(ADMIN, m, &VM::revokeOracleCall { name: "gamma".into() });
    registry.revoke("gamma", t).unwrap();
    // One step per installment (INSTALLMENTS), so a pull forward may move it.
    let steps = [(t + 30 * DAY, 100), (t + 60 * DAY, 200), (t + 90 * DAY, 300)];
    w.create(vec![VM::GrantInput { kind: 3, ..tranched(id(1), wallet(1), &steps) }]);
    (w, Book::new(registry))
}

/// Every refusal reason, each made by one changed field or step, named alike (reason and index)
/// by the engine's rules and by the contract; and what both accept, accepted by both with the
/// same median, once.
#[test]
fn each_refusal_is_named_alike_by_the_engine_and_the_contract() {
    let t = GENESIS + DAY;
    let (mut w, mut book) = oracle_world(t);
    let m = w.manager;
    let deadline = t + 10 * DAY;
    define(
        &mut w,
        &mut book,
        vec![
            milestone_input("solo", "grant:g-1", "0.8", deadline, 1, vec![effect(id(1), 1, 0, 0, 50)]),
            milestone_input("pair", "grant:g-1", "0.8", deadline, 2, vec![effect(id(1), 2, 1, 0, 0)]),
        ],
    );
    let now = t + 2 * DAY;
    w.at(now);
    let d = domain(&w);
    let (alpha, beta, gamma, stranger) = (key(0), key(1), key(2), key(9));
    let a =
        |milestone: &str, k: &Key, value: &str, nonce: u64| attestation(milestone, "grant:g-1", k, value, nonce, now);
    let sign = |k: &Key, a: &Attestation, d: &Domain| attest::sign(k, a, d).unwrap();

    let mut tampered = sign(&alpha, &a("solo", &alpha, "0.9", 1), &d);
    tampered.attestation.value = attest::value(fixed("0.95"));
    let mut wrong_subject = a("solo", &alpha, "0.9", 1);
    wrong_subject.subject = "grant:g-2".into();
    let mut wrong_metric = a("solo", &alpha, "0.9", 1);
    wrong_metric.metric = "mmlu/acc_norm,none".into();
    let mut expired = a("solo", &alpha, "0.9", 1);
    expired.expiresAt = now;
    let mut late = a("solo", &alpha, "0.9", 1);
    late.observedAt = deadline + 1;
    let ok = sign(&alpha, &a("solo", &alpha, "0.9", 1), &d);
    let mut flipped = sign(&alpha, &a("solo", &alpha, "0.9", 2), &d);
    flipped.signature[5] ^= 1;
    let cases: Vec<(&str, Vec<Submission>, Result<(), Refused>)> = vec![
        (
            "solo",
            vec![sign(&alpha, &a("solo", &alpha, "0.9", 1), &Domain { chain_id: 1, ..d })],
            Err(at(Rejection::WrongChain, 0)),
        ),
        (
            "solo",
            vec![sign(
                &alpha,
                &a("solo", &alpha, "0.9", 1),
                &Domain { verifying_contract: Address::repeat_byte(7), ..d },
            )],
            Err(at(Rejection::WrongContract, 0)),
        ),
        ("solo", vec![ok.clone(), tampered], Err(at(Rejection::BadSignature, 1))),
        ("solo", vec![sign(&stranger, &a("solo", &stranger, "0.9", 1), &d)], Err(at(Rejection::UnregisteredOracle, 0))),
        ("solo", vec![sign(&gamma, &a("solo", &gamma, "0.9", 1), &d)], Err(at(Rejection::RevokedOracle, 0))),
        ("solo", vec![sign(&alpha, &expired, &d)], Err(at(Rejection::Expired, 0))),
        ("solo", vec![ok.clone(), ok.clone()], Err(at(Rejection::ReplayedNonce, 1))),
        ("nope", vec![sign(&alpha, &a("nope", &alpha, "0.9", 1), &d)], Err(at(Rejection::UnknownMilestone, 0))),
        ("pair", vec![ok.clone()], Err(at(Rejection::UnknownMilestone, 0))),
        ("solo", vec![], Err(whole(Rejection::QuorumNotMet))),
        ("nope", vec![], Err(whole(Rejection::UnknownMilestone))),
        ("solo", vec![sign(&alpha, &wrong_subject, &d)], Err(at(Rejection::WrongSubject, 0))),
        ("solo", vec![sign(&alpha, &wrong_metric, &d)], Err(at(Rejection::WrongMetric, 0))),
        ("solo", vec![sign(&alpha, &late, &d)], Err(at(Rejection::PastDeadline, 0))),
        ("solo", vec![sign(&alpha, &a("solo", &alpha, "0.79", 1), &d)], Err(at(Rejection::BelowThreshold, 0))),
        // Below threshold is found before a bad signature later in the set, on both sides.
        (
            "solo",
            vec![sign(&alpha, &a("solo", &alpha, "0.79", 1), &d), flipped.clone()],
            Err(at(Rejection::BelowThreshold, 0)),
        ),
        ("solo", vec![ok.clone()], Ok(())),
        ("solo", vec![sign(&alpha, &a("solo", &alpha, "0.9", 2), &d)], Err(whole(Rejection::AlreadyApplied))),
        // Alpha's nonce 1 was spent by the application above.
        ("pair", vec![sign(&alpha, &a("pair", &alpha, "0.9", 1), &d)], Err(at(Rejection::ReplayedNonce, 0))),
        // One oracle twice is one vote.
        (
            "pair",
            vec![sign(&alpha, &a("pair", &alpha, "0.9", 3), &d), sign(&alpha, &a("pair", &alpha, "0.85", 4), &d)],
            Err(whole(Rejection::QuorumNotMet)),
        ),
        (
            "pair",
            vec![sign(&beta, &a("pair", &beta, "0.95", 1), &d), sign(&alpha, &a("pair", &alpha, "0.85", 5), &d)],
            Ok(()),
        ),
    ];
    let mut named = std::collections::BTreeSet::new();
    for (k, (milestone, set, expected)) in cases.into_iter().enumerate() {
        let engine = attest::apply(&mut book, milestone, &set, &d, now);
        let (chain, _) = on_chain(&mut w, milestone, &set);
        match (&expected, &engine, &chain) {
            (Err(e), Err(x), Err(y)) => {
                assert_eq!((x, y), (e, e), "case {k}: engine {x}, contract {y}, expected {e}");
                named.insert(e.reason);
            }
            (Ok(()), Ok(met), Ok(value)) => {
                assert_eq!(attest::value(met.value), *value, "case {k}: the median");
            }
            _ => panic!("case {k}: expected {expected:?}, engine {engine:?}, contract {chain:?}"),
        }
    }
    assert_eq!(named.len(), Rejection::ALL.len(), "every reason was named: {named:?}");

    // The effects: solo unlocked 50 at once, pair pulled the grant one step forward.
    // (Each transaction is a block a second or more after the last: look a day on.)
    assert_eq!(w.vested_at(id(1), now + DAY), 50 + 100);
    w.ok(STRANGER, m, &VM::releaseCall { id: id(1) });
    assert_eq!(w.balance(wallet(1)), U256::from(150));
    let perf = w.chain.call(STRANGER, m, &VM::perfOfCall { id: id(1) }).unwrap();
    assert_eq!((perf.pending, perf.bonus, perf.bonusReleased, perf.boost), (0, 50, 50, 1));
    // Spent nonces are readable.
    assert!(w.chain.call(STRANGER, m, &VM::nonceSpentCall { oracle: alpha.address(), nonce: 5 }).unwrap());
    assert!(!w.chain.call(STRANGER, m, &VM::nonceSpentCall { oracle: alpha.address(), nonce: 2 }).unwrap());
}

fn at(reason: Rejection, index: usize) -> Refused {
    Refused { reason, index: Some(index) }
}

fn whole(reason: Rejection) -> Refused {
    Refused { reason, index: None }
}

/// A rotated key: the old one is refused as revoked from the rotation on, the new one accepted,
/// on both sides; rotating to a key in use is refused.
#[test]
fn a_rotated_key_is_revoked_and_its_successor_accepted() {
    let t = GENESIS + DAY;
    let (mut w, mut book) = oracle_world(t);
    let m = w.manager;
    let deadline = t + 10 * DAY;
    define(
        &mut w,
        &mut book,
        vec![milestone_input("solo", "team:ml", "0.8", deadline, 1, vec![effect(id(1), 1, 0, 0, 7)])],
    );
    let now = t + DAY;
    w.at(now);
    let fresh = key(5);
    w.ok(ADMIN, m, &VM::rotateOracleCall { name: "alpha".into(), key: fresh.address() });
    book.registry.rotate("alpha", signer(&fresh), now).unwrap();
    w.refused_with(
        ADMIN,
        &VM::rotateOracleCall { name: "beta".into(), key: fresh.address() },
        &VM::KeyInUse { key: fresh.address() },
    );
    w.at(now + 60);
    let d = domain(&w);
    let old = attest::sign(&key(0), &attestation("solo", "team:ml", &key(0), "0.9", 1, now + 60), &d).unwrap();
    let new = attest::sign(&fresh, &attestation("solo", "team:ml", &fresh, "0.9", 1, now + 60), &d).unwrap();
    let engine = attest::apply(&mut book.clone(), "solo", std::slice::from_ref(&old), &d, now + 60);
    assert_eq!(engine.unwrap_err(), at(Rejection::RevokedOracle, 0));
    assert_eq!(on_chain(&mut w, "solo", std::slice::from_ref(&old)).0, Err(at(Rejection::RevokedOracle, 0)));
    assert!(attest::apply(&mut book, "solo", std::slice::from_ref(&new), &d, now + 60).is_ok());
    assert!(on_chain(&mut w, "solo", std::slice::from_ref(&new)).0.is_ok());
    let k = w.chain.call(STRANGER, m, &VM::oracleKeyOfCall { key: key(0).address() }).unwrap();
    assert_eq!((k.oracle, k.until), (keccak256("alpha"), now));
}

/// Runs `node contracts/test/eip712.mjs sign` with `input` on stdin. It fails, never skips, when
/// node or contracts/node_modules is missing: scripts/test installs them.
fn ethers_sign(input: &serde_json::Value) -> serde_json::Value {
    let contracts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../contracts");
    let install = "run scripts/test (or `npm ci` in contracts/)";
    assert!(
        contracts.join("node_modules/ethers/package.json").is_file(),
        "contracts/node_modules/ethers is missing: {install}"
    );
    let mut child = Command::new("node")
        .arg("test/eip712.mjs")
        .arg("sign")
        .current_dir(&contracts)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node ({e}): {install}"));
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "ethers failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A signature made by ethers.js (an independent EIP-712 implementation) applies in the contract
/// and passes the engine's checks; the same signature over a tampered value is refused by both;
/// and the contract's digest is the one this crate signs.
#[test]
fn an_ethers_signature_verifies_in_the_contract_and_a_tampered_one_is_refused_by_both() {
    let t = GENESIS + DAY;
    let (mut w, mut book) = oracle_world(t);
    let m = w.manager;
    let solo = milestone_input("solo", "grant:g-1", "0.8", t + 10 * DAY, 1, vec![effect(id(1), 1, 0, 0, 9)]);
    define(&mut w, &mut book, vec![solo]);
    let now = t + DAY;
    w.at(now);
    let d = domain(&w);
    let a = attestation("solo", "grant:g-1", &key(1), "0.8123", 77, now);
    let ours = attest::sign(&key(1), &a, &d).unwrap();
    let digest =
        w.chain.call(STRANGER, m, &VM::attestationDigestCall { a: attest::to_contract(&ours).attestation }).unwrap();
    assert_eq!(digest, attest::digest(&a, &d));
    let mut input = ours.to_json();
    input["key"] = serde_json::json!(format!("0x{:064x}", 0xa11ce_u64 + 1));
    let signed = ethers_sign(&input);
    let theirs = Submission::from_json(&signed).unwrap();
    // Deterministic ECDSA (RFC 6979) on both sides: the very same bytes.
    assert_eq!(theirs.signature, ours.signature);
    let mut tampered = theirs.clone();
    tampered.attestation.value = attest::value(fixed("0.9"));
    assert_eq!(
        attest::apply(&mut book.clone(), "solo", std::slice::from_ref(&tampered), &d, now).unwrap_err(),
        at(Rejection::BadSignature, 0)
    );
    assert_eq!(on_chain(&mut w, "solo", std::slice::from_ref(&tampered)).0, Err(at(Rejection::BadSignature, 0)));
    assert!(attest::apply(&mut book, "solo", std::slice::from_ref(&theirs), &d, now).is_ok());
    assert_eq!(on_chain(&mut w, "solo", std::slice::from_ref(&theirs)).0, Ok(attest::value(fixed("0.8123"))));
}

/// The gas of applying an attestation with one signer and with a 3-of-5 quorum (one Unlock
/// effect), asserted exactly (a snapshot).
#[test]
fn gas_of_applying_attestations() {
    let t = GENESIS + DAY;
    let mut w = World::new();
    w.at(t);
    let m = w.manager;
    let keys: Vec<Key> = (0..5).map(key).collect();
    for (i, k) in keys.iter().enumerate() {
        w.ok(ADMIN, m, &VM::registerOracleCall { name: format!("oracle-{i}"), key: k.address() });
    }
    w.create(vec![tranched(id(1), wallet(1), &[(t + 30 * DAY, 1_000)])]);
    let deadline = t + 10 * DAY;
    define(
        &mut w,
        &mut Book::default(),
        vec![
            milestone_input("one", "grant:g-1", "0.8", deadline, 1, vec![effect(id(1), 1, 0, 0, 100)]),
            milestone_input("three", "grant:g-1", "0.8", deadline, 3, vec![effect(id(1), 4, 0, 15_000, 100)]),
        ],
    );
    let now = t + DAY;
    w.at(now);
    let d = domain(&w);
    let one = [attest::sign(&keys[0], &attestation("one", "grant:g-1", &keys[0], "0.9", 1, now), &d).unwrap()];
    let (r, single) = on_chain(&mut w, "one", &one);
    assert!(r.is_ok());
    let values = ["0.9", "1.2", "0.85", "1.1", "1.0"];
    let five: Vec<Submission> = keys
        .iter()
        .zip(values)
        .map(|(k, v)| attest::sign(k, &attestation("three", "grant:g-1", k, v, 2, now), &d).unwrap())
        .collect();
    let (r, quorum) = on_chain(&mut w, "three", &five[..3]);
    // Graded on the lower median of 0.9, 1.2, 0.85: 0.9 / 0.8 = 112.5% of 100.
    assert_eq!(r, Ok(attest::value(fixed("0.9"))));
    let perf = w.chain.call(STRANGER, m, &VM::perfOfCall { id: id(1) }).unwrap();
    assert_eq!(perf.bonus, 100 + 112);
    // Exact: the snapshot changes only with the contract (or the compiler settings); docs/chain.md's
    // gas table quotes it.
    insta::assert_snapshot!(
        "gas_apply_milestone",
        format!(
            "applyMilestone, one signer, one unlock: {single}\napplyMilestone, 3 of 5 oracles, one graded scale: {quorum}\n"
        )
    );
}

/// Seconds of the start of `date` in `tz`, as the chain counts.
fn instant(date: jiff::civil::Date, tz: &TimeZone) -> u64 {
    u64::try_from(start_of_day(date, tz).unwrap()).unwrap()
}

/// Random grants (a periodic schedule and a performance tranche), random milestone terms (unlock,
/// scale, graded scale, pull forward; quorum 1–3 of 3) and random attestation sets over time,
/// some of them refused: after every set the engine and the contract agree on the outcome, and on
/// the vested amount then and at later instants; in the end the beneficiary holds what the engine
/// says vested.
#[test]
fn random_milestones_vest_alike_in_the_engine_and_the_contract() {
    const CASES: u64 = 60;
    let mut rng = Rng::new(0x0005_eed7);
    let mut steps = 0;
    let mut accepted = [0; 2];
    for case in 0..CASES {
        let zone: &&str = rng.pick(&ZONES);
        let tz = TimeZone::get(zone).unwrap();
        let schedule = schedule(&mut rng);
        if !schedule.is_periodic() {
            continue;
        }
        let total = u128::from(rng.range(1, 1_000_000)) * 1_000;
        let target = u128::from(rng.range(1, 500_000)) * 1_000 + u128::from(rng.range(0, 999));
        let cap = u32::try_from(rng.range(10_000, 20_000)).unwrap();
        let Some(installments) = schedule.installment_steps(total, &tz).unwrap() else { continue };
        let first = u64::try_from(installments[0].0).unwrap();
        // The chain starts a day before the first installment's day, past the generated starts.
        let t0 = first.saturating_sub(40 * DAY).max(GENESIS + DAY);
        let mut w = World::new();
        w.at(t0);
        let m = w.manager;
        let keys: Vec<Key> = (0..3).map(key).collect();
        let mut registry = Registry::new();
        for (i, k) in keys.iter().enumerate() {
            w.ok(ADMIN, m, &VM::registerOracleCall { name: format!("o{i}"), key: k.address() });
            registry.register(&format!("o{i}"), signer(k), t0).unwrap();
        }
        let mut book = Book::new(registry);
        let g = id(case + 1);
        let steps_in: Vec<(u64, u128)> = installments.iter().map(|&(at, c)| (u64::try_from(at).unwrap(), c)).collect();
        w.create(vec![VM::GrantInput { kind: 3, ..tranched(g, wallet(case), &steps_in) }]);
        let mut grant = Grant {
            id: format!("g{case}"),
            holder: "p".into(),
            amount: TokenAmount::from_base_units(total),
            schedule: schedule.clone(),
            performance: vec![PerformanceTranche {
                id: "perf".into(),
                target: TokenAmount::from_base_units(target),
                cap_bps: cap,
            }],
            events: vec![],
        };
        let subject = format!("grant:g{case}");
        let end = u64::try_from(installments.last().unwrap().0).unwrap();
        let deadline = t0 + (end - t0) / 2;
        // Two milestones: a performance one (on the tranche) and a pull forward.
        let perf_effect = match rng.range(0, 2) {
            0 => TermsEffect::Fixed(MilestoneEffect::Unlock { tranche: "perf".into() }),
            1 => TermsEffect::Fixed(MilestoneEffect::Scale {
                tranche: "perf".into(),
                bps: u32::try_from(rng.range(0, u64::from(cap))).unwrap(),
            }),
            _ => TermsEffect::Graded { tranche: "perf".into() },
        };
        let periods = u32::try_from(rng.range(1, 6)).unwrap();
        let mut terms = Vec::new();
        let mut inputs = Vec::new();
        for (name, terms_effect) in
            [("perf", perf_effect), ("pull", TermsEffect::Fixed(MilestoneEffect::PullForward { periods }))]
        {
            let quorum = u32::try_from(rng.range(1, 3)).unwrap();
            let threshold = format!("0.{}", rng.range(50, 90));
            let e = match &terms_effect {
                TermsEffect::Fixed(MilestoneEffect::Unlock { .. }) => effect(g, 1, 0, 0, target),
                TermsEffect::Fixed(MilestoneEffect::Scale { bps, .. }) => effect(g, 3, 0, *bps, target),
                TermsEffect::Graded { .. } => effect(g, 4, 0, cap, target),
                TermsEffect::Fixed(MilestoneEffect::PullForward { periods }) => effect(g, 2, *periods, 0, 0),
            };
            let input = milestone_input(name, &subject, &threshold, deadline, quorum, vec![e]);
            terms.push(MilestoneTerms {
                milestone: milestone_of(&input),
                deadline_date: date_of(i64::try_from(deadline).unwrap(), &tz).unwrap(),
                grants: vec![grant.id.clone()],
                effect: terms_effect,
            });
            inputs.push(input);
        }
        define(&mut w, &mut book, inputs);

        let mut now = t0;
        let mut nonce = 0;
        for _ in 0..rng.range(1, 4) {
            now += rng.range(DAY, (end - t0) / 3 + DAY);
            w.at(now);
            let d = domain(&w);
            let which = usize::try_from(rng.range(0, 1)).unwrap();
            let name = terms[which].milestone.id.clone();
            let mut set = Vec::new();
            for k in &keys[..usize::try_from(rng.range(1, 3)).unwrap()] {
                nonce += 1;
                let value = format!("{}.{:02}", rng.range(0, 1), rng.range(0, 99));
                let mut a = attestation(&name, &subject, k, &value, nonce, now);
                a.observedAt = now - rng.range(0, 2 * DAY);
                set.push(attest::sign(k, &a, &d).unwrap());
            }
            let engine = attest::apply(&mut book, &name, &set, &d, now);
            let (chain, _) = on_chain(&mut w, &name, &set);
            match (&engine, &chain) {
                (Ok(met), Ok(value)) => {
                    assert_eq!(attest::value(met.value), *value, "case {case}");
                    accepted[which] += 1;
                    let observed = set.iter().map(|s| s.attestation.observedAt).max().unwrap();
                    let day = date_of(i64::try_from(observed).unwrap(), &tz).unwrap();
                    let effect = terms[which].effect_for(met.value, cap).unwrap();
                    grant.events.push(GrantEvent {
                        id: format!("e{nonce}"),
                        date: day,
                        kind: EventKind::Milestone { effect },
                    });
                }
                (Err(x), Err(y)) => assert_eq!(x, y, "case {case}"),
                _ => panic!("case {case}: engine {engine:?}, contract {chain:?}"),
            }
            let timeline = grant.timeline(&tz, None).unwrap();
            let engine_vested = |t: u64| {
                timeline
                    .tranches
                    .iter()
                    .take_while(|x| instant(x.date, &tz) <= t)
                    .last()
                    .map_or(0, |x| x.cumulative.base_units())
            };
            for probe in [now, now + DAY, now + 45 * DAY, now + 400 * DAY, end + 1] {
                let probe = probe.max(now);
                assert_eq!(w.vested_at(g, probe), engine_vested(probe), "case {case} at {probe} (now {now})");
            }
            steps += 1;
        }
        // Releasing pays what the engine says vested by then.
        let later = now + 30 * DAY;
        w.at(later);
        let timeline = grant.timeline(&tz, None).unwrap();
        let expected: u128 = timeline
            .tranches
            .iter()
            .take_while(|x| instant(x.date, &tz) <= later)
            .last()
            .map_or(0, |x| x.cumulative.base_units());
        if expected > 0 {
            w.ok(STRANGER, m, &VM::releaseCall { id: g });
        }
        assert_eq!(w.balance(wallet(case)), U256::from(expected), "case {case}: released");
    }
    assert!(steps > 60, "only {steps} attestation steps were compared");
    // Both kinds of milestone were met often enough to mean something.
    assert!(accepted.iter().all(|&n| n >= 5), "accepted (performance, pull forward): {accepted:?}");
}
