//! tokencomp-chain without the CLI: keys sign what a node accepts, the embedded chain survives
//! its file, the deployment is found again rather than repeated, and reconciliation sorts logs
//! into its four lists.

// A failed unwrap is the test failing.
#![allow(clippy::unwrap_used)]

mod attest;
mod twap;

use alloy_primitives::{Address, B256, Bytes, Log, TxKind, U256, address};
use alloy_sol_types::SolEvent;
use tokencomp_chain::ops::{self, DeployArgs, GrantPlan, Session, Shape, grant_key};
use tokencomp_chain::reconcile::{Expected, ExpectedGrant, ExpectedVest, reconcile};
use tokencomp_chain::{Backend, ChainLog, Embedded, Key, TxFields, keys};
use tokencomp_evm::VestingManager as VM;

pub const KEY: &str = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
pub const GENESIS: u64 = 1_700_000_000;

#[test]
fn a_signed_transaction_recovers_to_its_signer_under_its_hash() {
    let key = Key::from_hex(KEY, "test").unwrap();
    // The address of this well-known test key, computed independently (web3.py's docs).
    assert_eq!(key.address(), address!("2c7536E3605D9C16a7a3D7b1898e529396a65c23"));
    let signed = key
        .sign(TxFields {
            chain_id: 31337,
            nonce: 7,
            gas_limit: 100_000,
            max_fee_per_gas: 0,
            max_priority_fee_per_gas: 0,
            kind: TxKind::Call(Address::repeat_byte(1)),
            value: U256::ZERO,
            input: Bytes::from_static(b"\x12\x34"),
        })
        .unwrap();
    let (hash, from) = keys::recover(&signed.raw).unwrap();
    assert_eq!((hash, from), (signed.tx.hash, key.address()));
    // An EIP-1559 envelope starts with its type byte.
    assert_eq!(signed.raw[0], 2);
    for bad in ["", "0x12", "zz", &"f".repeat(64)] {
        assert!(Key::from_hex(bad, "the file").is_err(), "{bad}");
    }
    assert!(format!("{key:?}").contains("address") && !format!("{key:?}").contains(&KEY[2..10]));
}

fn plan(n: u8, total: u128, tranches: &[(u64, u128)]) -> GrantPlan {
    GrantPlan {
        grant: format!("g-{n}"),
        id: grant_key(&format!("g-{n}")),
        beneficiary: Address::repeat_byte(0x40 + n),
        total,
        shape: Shape::Tranched(tranches.to_vec()),
        revoke_at: None,
        withholding: Vec::new(),
    }
}

#[test]
fn the_embedded_chain_continues_from_its_file_and_a_deployment_is_not_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain/embedded.json");
    let record = dir.path().join("chain/embedded.deployment.json");
    let key = Key::from_hex(KEY, "test").unwrap();
    let args = DeployArgs {
        token: None,
        demo_symbol: "NET".into(),
        demo_decimals: 18,
        demo_supply: 1_000_000,
        admin: key.address(),
        treasury: key.address(),
        tax_wallet: Address::repeat_byte(0x7a),
    };
    let plans = vec![plan(1, 300, &[(GENESIS + 100, 100), (GENESIS + 200, 300)])];
    let d = {
        let mut chain = Embedded::open(&path, 31337, GENESIS).unwrap();
        let mut s = Session::new(&mut chain, &key);
        let d = ops::deploy(&mut s, &record, &args).unwrap();
        assert_eq!(ops::fund(&mut s, &d, &plans, &[]).unwrap(), 300);
        assert_eq!(ops::push_grants(&mut s, &d, &plans).unwrap(), 1);
        assert_eq!(s.sent.len(), 5, "token, mint, manager, approve, create");
        chain.flush().unwrap();
        d
    };
    let text = std::fs::read_to_string(&path).unwrap();
    let mut chain = Embedded::open(&path, 31337, 0).unwrap();
    assert_eq!(chain.head().unwrap().number, 5);
    assert_eq!(chain.nonce(key.address()).unwrap(), 5);
    assert!(!chain.code(d.manager).unwrap().is_empty());
    // Snapshot → restore → snapshot is the same text.
    assert_eq!(serde_json::to_string(&chain.chain().snapshot()).unwrap(), text);
    // A second deploy finds the first; a second push finds the grant.
    let mut s = Session::new(&mut chain, &key);
    assert_eq!(ops::deploy(&mut s, &record, &args).unwrap(), d);
    assert_eq!(ops::push_grants(&mut s, &d, &plans).unwrap(), 0);
    s.at = Some(GENESIS + 150);
    assert_eq!(ops::release(&mut s, &d, &plans).unwrap(), 1);
    assert_eq!(s.sent.len(), 1);
    // A refused call names the contract's error and sends nothing.
    let err = ops::push_grants(&mut s, &d, &[plan(2, 5, &[(GENESIS, 4)])]).unwrap_err();
    assert!(err.to_string().contains("TotalMismatch"), "{err}");
    assert_eq!(s.sent.len(), 1);
    // Another chain id is refused.
    chain.flush().unwrap();
    assert!(Embedded::open(&path, 1, 0).is_err());
}

fn log(tx: u8, block: u64, timestamp: u64, data: alloy_primitives::LogData) -> ChainLog {
    ChainLog {
        tx_hash: B256::repeat_byte(tx),
        block_number: block,
        timestamp,
        log_index: 0,
        log: Log { address: Address::repeat_byte(9), data },
    }
}

#[test]
fn reconciliation_sorts_logs_into_matched_missing_unexpected_and_mismatched() {
    let (a, b, c) = (grant_key("a"), grant_key("b"), grant_key("stray"));
    let who = Address::repeat_byte(1);
    let grant = |g: &str, id, total| ExpectedGrant {
        grant: g.into(),
        id,
        total,
        beneficiary: who,
        ledger_events: vec![format!("grant:{g}")],
    };
    let vest = |id, date: &str, instant, units, withheld| ExpectedVest {
        grant: if id == a { "a".into() } else { "b".into() },
        id,
        date: date.into(),
        instant,
        units,
        withheld,
        ledger_events: vec![format!("vest:{date}")],
    };
    let expected = Expected {
        grants: vec![grant("a", a, 100), grant("b", b, 50)],
        vests: vec![vest(a, "d1", 10, 40, 4), vest(a, "d2", 20, 60, 6), vest(b, "d1", 10, 50, 0)],
        revocations: Vec::new(),
        withholdings: Vec::new(),
    };
    let created = |id, total| {
        VM::GrantCreated {
            id,
            beneficiary: who,
            kind: 1,
            total,
            start: 0,
            cliff: 0,
            end: 0,
            trancheCount: U256::from(2),
        }
        .encode_log_data()
    };
    let released = |id, net, withheld| VM::Released { id, net, withheld }.encode_log_data();
    let logs = vec![
        log(1, 1, 5, created(a, 100)),
        log(2, 2, 5, created(b, 49)),
        log(3, 3, 5, created(c, 7)),
        // a: the first release covers d1 exactly; b's covers d1 with the wrong split.
        log(4, 4, 15, released(a, 36, 4)),
        log(5, 5, 15, released(b, 45, 5)),
    ];
    let r = reconcile(&expected, &logs, 5, 25);
    let kinds = |items: &[tokencomp_chain::reconcile::Item]| {
        items.iter().map(|i| (i.kind, i.grant.clone().unwrap_or_default())).collect::<Vec<_>>()
    };
    assert_eq!(kinds(&r.matched), vec![("grant", "a".into()), ("release", "a".into())]);
    assert_eq!(kinds(&r.amount_mismatch), vec![("grant", "b".into()), ("release", "b".into())]);
    assert_eq!(kinds(&r.unexpected_on_chain), vec![("grant", String::new())]);
    // a's d2 vest (instant 20) is due by the head's time 25 and no release covers it.
    assert_eq!(kinds(&r.missing_on_chain), vec![("release", "a".into())]);
    assert_eq!(r.missing_on_chain[0].ledger_events, vec!["vest:d2".to_owned()]);
    assert_eq!(r.missing_on_chain[0].expected["withheld"], "6");
    assert_eq!(r.amount_mismatch[1].tx_hash, Some(B256::repeat_byte(5)));
    assert!(!r.is_clean());
    // At an earlier head, d2 is not due yet: nothing is missing.
    assert!(reconcile(&expected, &logs, 5, 19).missing_on_chain.is_empty());
}
