//! VestingManager's lifecycle on the embedded chain: release, withholding, revocation, pause
//! and resume, change of wallet; every refusal asserted by its custom error; release gas.

use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::{SolCall, SolConstructor, SolError, SolEvent};
use tokencomp_evm::{Chain, REENTRANT_TOKEN, ReentrantToken, TestToken, VestingManager as VM};

use crate::harness::{
    ADMIN, DEPLOYER, GENESIS, OPERATOR, STRANGER, TAX, TREASURY, World, deploy, id, linear, tranched, wallet,
};

const DAY: u64 = 86_400;
/// A year of monthly-ish steps (30 days apart, to keep the arithmetic plain): 100 tokens each.
fn steps(start: u64, n: u64, each: u128) -> Vec<(u64, u128)> {
    (1..=n).map(|k| (start + k * 30 * DAY, each * u128::from(k))).collect()
}

const T0: u64 = GENESIS + 10 * DAY;

fn release(w: &mut World, from: Address, grant: B256) -> alloy_primitives::Bytes {
    let m = w.manager;
    w.ok(from, m, &VM::releaseCall { id: grant }).output
}

#[test]
fn release_pays_exactly_vested_minus_released_to_the_beneficiary() {
    let mut w = World::new();
    let g = id(1);
    let bob = wallet(1);
    w.create(vec![tranched(g, bob, &steps(T0, 12, 100))]);
    assert_eq!(w.balance(w.manager), U256::from(1_200));
    assert_eq!(w.balance(TREASURY), U256::from(u128::MAX - 1_200));

    // Before the first step nothing is releasable.
    w.at(T0 + 30 * DAY - 1);
    w.refused(bob, &VM::releaseCall { id: g }, VM::NothingToRelease::SELECTOR);

    // Three steps crossed; a stranger pushes the release, the beneficiary is paid.
    w.at(T0 + 90 * DAY);
    release(&mut w, STRANGER, g);
    assert_eq!(w.balance(bob), U256::from(300));
    assert_eq!(w.balance(STRANGER), U256::ZERO);
    w.refused(bob, &VM::releaseCall { id: g }, VM::NothingToRelease::SELECTOR);

    // After the end the rest, once.
    w.at(T0 + 400 * DAY);
    release(&mut w, bob, g);
    assert_eq!(w.balance(bob), U256::from(1_200));
    assert_eq!(w.balance(w.manager), U256::ZERO);
    let state = w.grant(g);
    assert_eq!((state.released, state.cursor), (1_200, 12));
}

#[test]
fn linear_release_follows_the_formula() {
    let mut w = World::new();
    let g = id(2);
    let bob = wallet(2);
    // 1,000 over 1,000 s from T0, cliff at T0 + 250.
    w.create(vec![linear(g, bob, 1_000, T0, T0 + 250, T0 + 1_000)]);
    w.at(T0 + 249);
    w.refused(bob, &VM::releaseCall { id: g }, VM::NothingToRelease::SELECTOR);
    w.at(T0 + 250);
    release(&mut w, bob, g);
    assert_eq!(w.balance(bob), U256::from(250));
    w.at(T0 + 333);
    release(&mut w, bob, g);
    assert_eq!(w.balance(bob), U256::from(333));
}

#[test]
fn withholding_goes_to_the_tax_wallet_and_the_net_to_the_beneficiary() {
    let mut w = World::new();
    let m = w.manager;
    let g = id(3);
    let bob = wallet(3);
    w.create(vec![tranched(g, bob, &steps(T0, 4, 100))]);
    w.ok(OPERATOR, m, &VM::postWithholdingCall { id: g, index: U256::from(0), tokens: 40 });
    w.ok(OPERATOR, m, &VM::postWithholdingCall { id: g, index: U256::from(1), tokens: 35 });
    w.refused(
        OPERATOR,
        &VM::postWithholdingCall { id: g, index: U256::from(2), tokens: 101 },
        VM::WithholdingExceedsTranche::SELECTOR,
    );
    w.refused(
        OPERATOR,
        &VM::postWithholdingCall { id: g, index: U256::from(4), tokens: 1 },
        VM::TrancheOutOfRange::SELECTOR,
    );
    w.refused(
        STRANGER,
        &VM::postWithholdingCall { id: g, index: U256::from(0), tokens: 1 },
        VM::AccessControlUnauthorizedAccount::SELECTOR,
    );

    w.at(T0 + 60 * DAY);
    release(&mut w, bob, g);
    assert_eq!(w.balance(bob), U256::from(200 - 75));
    assert_eq!(w.balance(TAX), U256::from(75));
    // A released tranche's withholding can no longer change.
    w.refused(
        OPERATOR,
        &VM::postWithholdingCall { id: g, index: U256::from(1), tokens: 1 },
        VM::TrancheAlreadyReleased::SELECTOR,
    );

    let lin = id(30);
    w.create(vec![linear(lin, bob, 10, T0, T0, T0 + 10)]);
    w.refused(
        OPERATOR,
        &VM::postWithholdingCall { id: lin, index: U256::from(0), tokens: 1 },
        VM::NotTranched::SELECTOR,
    );
}

#[test]
fn revoke_returns_the_unvested_and_keeps_the_vested_releasable() {
    let mut w = World::new();
    let m = w.manager;
    let g = id(4);
    let bob = wallet(4);
    w.create(vec![tranched(g, bob, &steps(T0, 12, 100))]);
    let before = w.balance(TREASURY);
    // Effective after the 5th step, recorded later (step 7 has passed by then).
    w.at(T0 + 215 * DAY);
    w.refused(
        STRANGER,
        &VM::revokeCall { id: g, effectiveAt: T0 + 150 * DAY },
        VM::AccessControlUnauthorizedAccount::SELECTOR,
    );
    w.refused(
        OPERATOR,
        &VM::revokeCall { id: g, effectiveAt: T0 + 150 * DAY },
        VM::AccessControlUnauthorizedAccount::SELECTOR,
    );
    w.ok(ADMIN, m, &VM::revokeCall { id: g, effectiveAt: T0 + 150 * DAY });
    assert_eq!(w.balance(TREASURY) - before, U256::from(700));
    assert_eq!(w.vested_at(g, T0 + 400 * DAY), 500);
    w.refused(ADMIN, &VM::revokeCall { id: g, effectiveAt: T0 + 150 * DAY }, VM::GrantRevoked::SELECTOR);
    release(&mut w, bob, g);
    assert_eq!(w.balance(bob), U256::from(500));
    // Release after revoke has nothing more to pay.
    w.refused(bob, &VM::releaseCall { id: g }, VM::NothingToRelease::SELECTOR);
    assert_eq!(w.balance(m), U256::ZERO);
    // A revocation may not reach back before what was already released.
    let h = id(40);
    w.create(vec![tranched(h, bob, &steps(T0, 12, 100))]);
    release(&mut w, bob, h);
    let now = w.chain.head().timestamp;
    w.refused(ADMIN, &VM::revokeCall { id: h, effectiveAt: now - 1 }, VM::TimestampOutOfRange::SELECTOR);
}

#[test]
fn pause_and_resume_shift_later_vesting_by_the_paused_seconds() {
    let mut w = World::new();
    let m = w.manager;
    let g = id(5);
    let bob = wallet(5);
    let tranches = steps(T0, 12, 100);
    w.create(vec![tranched(g, bob, &tranches)]);
    let p = T0 + 45 * DAY; // after step 1
    let r = p + 20 * DAY;
    w.at(p + 10);
    w.refused(OPERATOR, &VM::pauseCall { id: g, at: p + 11 }, VM::TimestampOutOfRange::SELECTOR); // in the future
    w.at(p + 10);
    w.refused(STRANGER, &VM::pauseCall { id: g, at: p }, VM::AccessControlUnauthorizedAccount::SELECTOR);
    w.at(p + 10);
    w.ok(OPERATOR, m, &VM::pauseCall { id: g, at: p });
    w.refused(OPERATOR, &VM::pauseCall { id: g, at: p }, VM::GrantPaused::SELECTOR);
    w.at(r - 1);
    w.refused(bob, &VM::releaseCall { id: g }, VM::GrantPaused::SELECTOR);
    // Frozen while paused, even past step 2's original instant (T0 + 60 days).
    assert_eq!(w.vested_at(g, T0 + 61 * DAY), 100);
    w.at(r);
    w.refused(OPERATOR, &VM::resumeCall { id: g, at: p - 1 }, VM::TimestampOutOfRange::SELECTOR);
    w.at(r);
    w.ok(OPERATOR, m, &VM::resumeCall { id: g, at: r });
    w.refused(OPERATOR, &VM::resumeCall { id: g, at: r }, VM::GrantNotPaused::SELECTOR);
    // Every later step moved by exactly r - p seconds.
    let shift = r - p;
    for &(at, cumulative) in &tranches[1..] {
        assert_eq!(w.vested_at(g, at + shift - 1), cumulative - 100);
        assert_eq!(w.vested_at(g, at + shift), cumulative);
    }
    w.at(T0 + 60 * DAY + shift);
    release(&mut w, bob, g);
    assert_eq!(w.balance(bob), U256::from(200));
}

#[test]
fn the_admin_changes_the_beneficiary_wallet() {
    let mut w = World::new();
    let m = w.manager;
    let g = id(6);
    let (old, new) = (wallet(6), wallet(66));
    w.create(vec![tranched(g, old, &steps(T0, 2, 100))]);
    w.refused(
        OPERATOR,
        &VM::setBeneficiaryCall { id: g, beneficiary: new },
        VM::AccessControlUnauthorizedAccount::SELECTOR,
    );
    w.refused(ADMIN, &VM::setBeneficiaryCall { id: g, beneficiary: Address::ZERO }, VM::ZeroAddress::SELECTOR);
    w.ok(ADMIN, m, &VM::setBeneficiaryCall { id: g, beneficiary: new });
    w.at(T0 + 60 * DAY);
    release(&mut w, STRANGER, g);
    assert_eq!((w.balance(old), w.balance(new)), (U256::ZERO, U256::from(200)));
}

#[test]
fn bad_batches_are_refused_whole() {
    let mut w = World::new();
    let bob = wallet(7);
    let good = tranched(id(7), bob, &steps(T0, 3, 10));
    let create = |inputs| VM::createGrantsCall { inputs };
    w.refused(STRANGER, &create(vec![good.clone()]), VM::AccessControlUnauthorizedAccount::SELECTOR);

    let mut mismatch = good.clone();
    mismatch.id = id(77);
    mismatch.total = 31;
    w.refused(OPERATOR, &create(vec![good.clone(), mismatch]), VM::TotalMismatch::SELECTOR);
    let mut unsorted = tranched(id(8), bob, &[(T0 + 2, 1), (T0 + 1, 2)]);
    w.refused(OPERATOR, &create(vec![unsorted.clone()]), VM::TranchesOutOfOrder::SELECTOR);
    unsorted.tranches = Vec::new();
    unsorted.total = 1;
    w.refused(OPERATOR, &create(vec![unsorted]), VM::EmptySchedule::SELECTOR);
    w.refused(OPERATOR, &create(vec![linear(id(9), bob, 0, T0, T0, T0 + 1)]), VM::ZeroAmount::SELECTOR);
    w.refused(OPERATOR, &create(vec![linear(id(9), bob, 5, T0, T0 + 2, T0 + 1)]), VM::InvalidLinearSchedule::SELECTOR);
    w.refused(OPERATOR, &create(vec![linear(id(9), Address::ZERO, 5, T0, T0, T0 + 1)]), VM::ZeroAddress::SELECTOR);
    let mut with_tranches = linear(id(9), bob, 5, T0, T0, T0 + 1);
    with_tranches.tranches = good.tranches.clone();
    w.refused(OPERATOR, &create(vec![with_tranches]), VM::UnexpectedTranches::SELECTOR);
    let mut no_kind = good.clone();
    no_kind.kind = 0;
    w.refused(OPERATOR, &create(vec![no_kind]), VM::InvalidKind::SELECTOR);
    // Nothing of the refused batches was kept or pulled.
    assert_eq!(w.balance(w.manager), U256::ZERO);

    w.create(vec![good.clone()]);
    w.refused(OPERATOR, &create(vec![good]), VM::GrantExists::SELECTOR);
    w.refused(STRANGER, &VM::releaseCall { id: id(999) }, VM::UnknownGrant::SELECTOR);
    // The largest amount a grant can hold.
    w.create(vec![linear(id(10), bob, u128::MAX - 30, T0, T0, T0 + 1)]);
    w.at(T0 + 1);
    release(&mut w, bob, id(10));
    assert_eq!(w.balance(bob), U256::from(u128::MAX - 30));
}

#[test]
fn a_token_that_reenters_on_transfer_is_refused() {
    let mut chain = Chain::new(31337, GENESIS);
    let token = deploy(
        &mut chain,
        DEPLOYER,
        REENTRANT_TOKEN.bytecode().unwrap(),
        ReentrantToken::constructorCall {}.abi_encode(),
    );
    let mut w = World::with_token(chain, token);
    let m = w.manager;
    let g = id(11);
    let bob = wallet(11);
    w.create(vec![tranched(g, bob, &steps(T0, 2, 100))]);
    let payload = Bytes::from(VM::releaseCall { id: g }.abi_encode());
    w.ok(STRANGER, token, &ReentrantToken::armCall { target_: m, payload_: payload });
    w.at(T0 + 60 * DAY);
    w.refused(bob, &VM::releaseCall { id: g }, VM::ReentrancyGuardReentrantCall::SELECTOR);
    assert_eq!(w.balance(bob), U256::ZERO);
    // Disarmed, the same release goes through once.
    w.ok(STRANGER, token, &ReentrantToken::armCall { target_: m, payload_: Bytes::new() });
    release(&mut w, bob, g);
    assert_eq!(w.balance(bob), U256::from(200));
}

/// Gas of one release crossing one step is the same whatever the schedule's length.
#[test]
fn release_gas_does_not_grow_with_the_number_of_steps() {
    let mut gas = Vec::new();
    for n in [12u64, 48, 120] {
        let mut w = World::new();
        let m = w.manager;
        let g = id(n);
        let bob = wallet(n);
        w.create(vec![tranched(g, bob, &steps(T0, n, 1_000))]);
        // A first release (warms nothing across transactions: each is its own block), then a
        // monthly one in the middle of the schedule.
        w.at(T0 + 30 * DAY);
        release(&mut w, bob, g);
        w.at(T0 + 60 * DAY);
        let r = w.ok(bob, m, &VM::releaseCall { id: g });
        gas.push(r.gas_used);
    }
    assert!(gas.windows(2).all(|p| p[0] == p[1]), "{gas:?}");
    insta::assert_snapshot!("gas_release_by_steps", format!("release, 12 / 48 / 120 steps: {gas:?}\n"));
}

/// Gas, measured in the same run and asserted exactly (a snapshot): a monthly release against
/// OpenZeppelin's VestingWalletCliff release, and creation per grant in a batch of 50.
///
/// Like for like: both pay the same TestToken with one `transfer` to a beneficiary of their own
/// that starts with a zero balance, so the first release of each pays the same zero-to-non-zero
/// balance write and the later ones the same non-zero-to-non-zero write; both contracts hold a
/// non-zero balance of the token before. Ours is a 12-step tranched grant (one step crossed per
/// release, no withholding, never paused), theirs a 360-day linear wallet without cliff.
#[test]
fn gas_report() {
    use tokencomp_evm::{REFERENCE_VESTING_WALLET_CLIFF, ReferenceVestingWalletCliff as Vwc};
    let mut w = World::new();
    let (m, token) = (w.manager, w.token);
    let (bob, carol) = (wallet(12), wallet(13));
    let vwc_args =
        Vwc::constructorCall { beneficiary: carol, startTimestamp: T0, durationSeconds: 360 * DAY, cliffSeconds: 0 }
            .abi_encode();
    let vwc = deploy(&mut w.chain, DEPLOYER, REFERENCE_VESTING_WALLET_CLIFF.bytecode().unwrap(), vwc_args);
    w.ok(DEPLOYER, token, &TestToken::mintCall { to: vwc, amount: U256::from(12_000u64) });
    let g = id(12);
    w.create(vec![tranched(g, bob, &steps(T0, 12, 1_000))]);
    let inputs: Vec<_> = (0..50).map(|k| tranched(id(100 + k), wallet(100 + k), &steps(T0, 48, 1_000))).collect();
    let batch48 = w.create(inputs).gas_used;
    let inputs: Vec<_> =
        (0..50).map(|k| linear(id(200 + k), wallet(200 + k), 48_000, T0, T0 + 360 * DAY, T0 + 4 * 360 * DAY)).collect();
    let batch_linear = w.create(inputs).gas_used;

    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for month in 1..=3 {
        w.at(T0 + month * 30 * DAY);
        ours.push(w.ok(bob, m, &VM::releaseCall { id: g }).gas_used);
        theirs.push(w.ok(carol, vwc, &Vwc::release_0Call { token }).gas_used);
    }
    // Both paid a month: the comparison is of the same work.
    assert_eq!(w.balance(bob), U256::from(3_000));
    assert_eq!(w.balance(carol), U256::from(3_000));
    for (k, (o, t)) in ours.iter().zip(&theirs).enumerate() {
        assert!(o <= t, "release {} costs {o} gas, VestingWalletCliff's {t}", k + 1);
    }
    // Exact: the snapshot changes only with the contracts (or the compiler settings); the
    // docs/chain.md's gas table quotes it.
    insta::assert_snapshot!(
        "gas_report",
        format!(
            "release (VestingManager, tranched): first {}, later {:?}\nrelease (VestingWalletCliff): first {}, later {:?}\ncreate per grant, batch of 50: 48-step tranched {}, linear {}\n",
            ours[0],
            &ours[1..],
            theirs[0],
            &theirs[1..],
            batch48 / 50,
            batch_linear / 50
        )
    );
}

/// The operator's batch calls: `postWithholdings` posts as one `postWithholding` per entry, and
/// `releaseMany` releases every grant with something vested, skipping the paused and the empty.
#[test]
fn batched_withholding_and_release_act_as_their_single_calls() {
    let mut w = World::new();
    let m = w.manager;
    let (a, b, c, d) = (id(60), id(61), id(62), id(63));
    w.create(vec![
        tranched(a, wallet(60), &steps(T0, 4, 100)),
        tranched(b, wallet(61), &steps(T0, 4, 100)),
        tranched(c, wallet(62), &steps(T0 + 365 * DAY, 4, 100)),
        linear(d, wallet(63), 1_000, T0, T0, T0 + 1_000),
    ]);
    let entry = |id, index: u64, tokens| VM::WithholdingInput { id, index: U256::from(index), tokens };
    w.ok(OPERATOR, m, &VM::postWithholdingsCall { inputs: vec![entry(a, 0, 7), entry(a, 1, 8), entry(b, 0, 9)] });
    assert_eq!(w.chain.call(STRANGER, m, &VM::withholdingOfCall { id: a, index: U256::from(1) }).unwrap(), 8);
    // One bad entry refuses the whole batch: nothing of it is posted.
    w.refused(
        OPERATOR,
        &VM::postWithholdingsCall { inputs: vec![entry(b, 1, 5), entry(b, 2, 101)] },
        VM::WithholdingExceedsTranche::SELECTOR,
    );
    assert_eq!(w.chain.call(STRANGER, m, &VM::withholdingOfCall { id: b, index: U256::from(1) }).unwrap(), 0);
    w.refused(STRANGER, &VM::postWithholdingsCall { inputs: vec![] }, VM::AccessControlUnauthorizedAccount::SELECTOR);

    w.at(T0 + 30 * DAY);
    w.ok(OPERATOR, m, &VM::pauseCall { id: b, at: T0 + 30 * DAY });
    w.at(T0 + 61 * DAY);
    let r = w.ok(STRANGER, m, &VM::releaseManyCall { ids: vec![a, b, c, d] });
    let released = VM::releaseManyCall::abi_decode_returns(&r.output).unwrap();
    // a (two tranches, 15 withheld) and d (all of it) release; b is paused, c has nothing yet.
    assert_eq!(released, U256::from(2));
    assert_eq!(w.balance(wallet(60)), U256::from(200 - 15));
    assert_eq!(w.balance(TAX), U256::from(15));
    assert_eq!(w.balance(wallet(61)), U256::ZERO);
    assert_eq!(w.balance(wallet(62)), U256::ZERO);
    assert_eq!(w.balance(wallet(63)), U256::from(1_000));
    let events = r.logs.iter().filter(|l| l.topics().first() == Some(&VM::Released::SIGNATURE_HASH)).count();
    assert_eq!(events, 2);
    // An unknown id refuses the batch.
    w.refused(STRANGER, &VM::releaseManyCall { ids: vec![a, id(99)] }, VM::UnknownGrant::SELECTOR);
}
