//! `LedgerAnchor`: the latest ledger head only moves forward, only its writer moves it, and every
//! anchor is logged.

use alloy_primitives::{B256, U256};
use alloy_sol_types::{SolError, SolEvent};
use tokencomp_evm::{Chain, LEDGER_ANCHOR, LedgerAnchor as LA};

use crate::harness::{DEPLOYER, GENESIS, STRANGER, deploy};

fn hash(n: u64) -> B256 {
    B256::from(U256::from(n))
}

#[test]
fn the_anchored_head_only_moves_forward_and_only_by_its_writer() {
    let mut chain = Chain::new(31337, GENESIS);
    let anchor = deploy(&mut chain, DEPLOYER, LEDGER_ANCHOR.bytecode().unwrap(), Vec::new());
    let latest = |chain: &mut Chain| {
        let r = chain.call(STRANGER, anchor, &LA::latestCall {}).unwrap();
        (r._0, r._1, r._2)
    };
    assert_eq!(latest(&mut chain), (B256::ZERO, 0, 0), "nothing before the first anchor");
    assert_eq!(chain.call(STRANGER, anchor, &LA::writerCall {}).unwrap(), DEPLOYER);

    chain.set_next_timestamp(GENESIS + 100).unwrap();
    let r = chain.send(DEPLOYER, anchor, &LA::anchorCall { newHead: hash(7), newEvents: 10 }).unwrap();
    assert!(r.success, "{}", r.output);
    let logged: Vec<LA::Anchored> =
        r.logs.iter().filter_map(|l| LA::Anchored::decode_log(l).ok().map(|l| l.data)).collect();
    assert_eq!(logged, [LA::Anchored { head: hash(7), events: 10, anchoredAt: GENESIS + 100 }]);
    assert_eq!(latest(&mut chain), (hash(7), 10, GENESIS + 100));

    // The same head again changes nothing and logs nothing.
    let r = chain.send(DEPLOYER, anchor, &LA::anchorCall { newHead: hash(7), newEvents: 10 }).unwrap();
    assert!(r.success && r.logs.is_empty());
    assert_eq!(latest(&mut chain), (hash(7), 10, GENESIS + 100));

    // Refused, each by name, and nothing changes.
    let refused = |chain: &mut Chain, from, head, events, selector: [u8; 4]| {
        let r = chain.send(from, anchor, &LA::anchorCall { newHead: head, newEvents: events }).unwrap();
        assert_eq!(r.revert_selector(), Some(selector), "{}", r.output);
    };
    refused(&mut chain, DEPLOYER, hash(6), 9, LA::HeadGoesBack::SELECTOR);
    refused(&mut chain, DEPLOYER, hash(8), 10, LA::HeadRewritten::SELECTOR);
    refused(&mut chain, STRANGER, hash(9), 11, LA::NotWriter::SELECTOR);
    assert_eq!(latest(&mut chain), (hash(7), 10, GENESIS + 100));

    // A ledger that grew moves it on.
    chain.set_next_timestamp(GENESIS + 200).unwrap();
    let r = chain.send(DEPLOYER, anchor, &LA::anchorCall { newHead: hash(9), newEvents: 11 }).unwrap();
    assert!(r.success, "{}", r.output);
    assert_eq!(latest(&mut chain), (hash(9), 11, GENESIS + 200));
    // An anchor after the first changes two storage slots; the figure changes only with the
    // contract.
    assert_eq!(r.gas_used, 33_712, "gas of a later anchor");
}
