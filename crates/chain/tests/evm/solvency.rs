//! The manager never pays out more than a grant was funded with: a revocation dated before a
//! milestone's application (issue 15, item 1), a pull forward on a grant without installment
//! steps (item 2), and funding that arrives short or a balance that shrank (item 4), each refused
//! or settled by name, with the engine agreeing where it has a say.

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{SolConstructor, SolError};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use tokencomp_core::attestation::{Book, Registry};
use tokencomp_core::grant::{EventKind, Grant, GrantEvent, MilestoneEffect};
use tokencomp_core::schedule::{Allocation, Calendar, DayOfMonth, Period, Schedule};
use tokencomp_evm::{FEE_ON_TRANSFER_TOKEN, FeeOnTransferToken, VestingManager as VM};
use tokencomp_money::TokenAmount;

use crate::harness::{ADMIN, GENESIS, OPERATOR, STRANGER, TREASURY, World, id, tranched, wallet};
use crate::milestones::{attestation, define, domain, effect, key, milestone_input, on_chain, signer};

const DAY: u64 = 86_400;
/// 2020-01-11, 00:00 UTC: day 0 of the scenarios.
const T0: u64 = GENESIS + 10 * DAY;

/// Four 30-day installments of 100 from T0 (days 30, 60, 90, 120), one step each.
fn installments(g: B256, to: Address) -> VM::GrantInput {
    let steps: Vec<(u64, u128)> = (1..=4).map(|k| (T0 + k * 30 * DAY, 100 * u128::from(k))).collect();
    VM::GrantInput { kind: 3, ..tranched(g, to, &steps) }
}

/// The engine's grant for `installments`: 400 over four 30-day periods from 2020-01-11, UTC.
fn engine_grant(events: Vec<(Date, EventKind)>) -> Grant {
    let start = Date::constant(2020, 1, 11);
    let calendar = Calendar::new(
        start,
        Period::Days(30),
        4,
        0,
        DayOfMonth::VestingStartDayOrLast,
        Allocation::CumulativeRoundDown,
    )
    .unwrap();
    Grant {
        id: "a".into(),
        holder: "p".into(),
        amount: TokenAmount::from_base_units(400),
        schedule: Schedule::Calendar(calendar),
        performance: vec![],
        events: events
            .into_iter()
            .enumerate()
            .map(|(i, (date, kind))| GrantEvent { id: format!("e{i}"), date, kind })
            .collect(),
    }
}

/// A world whose oracle `o` is registered at `t`, with `grants` created and the milestone `pull`
/// (pull forward two periods) defined on the first.
fn pull_world(t: u64, grants: &[B256]) -> (World, Book) {
    let mut w = World::new();
    w.at(t);
    let m = w.manager;
    let mut registry = Registry::new();
    w.ok(ADMIN, m, &VM::registerOracleCall { name: "o".into(), key: key(0).address() });
    registry.register("o", signer(&key(0)), t).unwrap();
    let mut book = Book::new(registry);
    w.create(grants.iter().enumerate().map(|(i, g)| installments(*g, wallet(i as u64 + 1))).collect());
    let effects = vec![effect(grants[0], 2, 2, 0, 0)];
    define(&mut w, &mut book, vec![milestone_input("pull", "grant:a", "0.8", t + 200 * DAY, 1, effects)]);
    (w, book)
}

fn apply_pull(w: &mut World, now: u64) {
    w.at(now);
    let d = domain(w);
    let k = key(0);
    let set = [tokencomp_chain::attest::sign(&k, &attestation("pull", "grant:a", &k, "0.9", 1, now), &d).unwrap()];
    let (r, _) = on_chain(w, "pull", &set);
    assert!(r.is_ok(), "{r:?}");
}

/// The scenario: two grants of 400 funded with 800, a pull forward applied on day 45,
/// `revoke(a, day 40)`. The milestone came after the grant ended, so it counts for nothing:
/// 300 go back, 100 is released from a, b releases its 400 to the last unit, and the manager ends
/// empty. On the old contract 300 went back and 300 were released from a (600 of 400), and b's
/// last release reverted with ERC20InsufficientBalance. The engine says the same as the contract:
/// a revocation on day 40 voids a milestone dated day 45.
#[test]
fn a_revocation_dated_before_a_pull_forward_pays_only_what_vested_by_its_date() {
    let (a, b) = (id(1), id(2));
    let (alice, bob) = (wallet(1), wallet(2));
    let (mut w, _) = pull_world(T0, &[a, b]);
    let m = w.manager;
    assert_eq!(w.balance(m), U256::from(800));
    apply_pull(&mut w, T0 + 45 * DAY);
    // Pulled two periods forward on day 45: three steps vested (the first on day 30, two pulled).
    assert_eq!(w.vested_at(a, T0 + 45 * DAY), 300);
    let treasury = w.balance(TREASURY);
    w.at(T0 + 50 * DAY);
    w.ok(ADMIN, m, &VM::revokeCall { id: a, effectiveAt: T0 + 40 * DAY });
    assert_eq!(w.balance(TREASURY) - treasury, U256::from(300));
    // Every view agrees with what revoke left: one step, at any time from the revocation on.
    for t in [T0 + 40 * DAY, T0 + 45 * DAY, T0 + 400 * DAY] {
        assert_eq!(w.vested_at(a, t), 100, "vestedAt(a, {t})");
    }
    let perf = w.chain.call(STRANGER, m, &VM::perfOfCall { id: a }).unwrap();
    assert_eq!((perf.boost, perf.bonus, perf.appliedAt), (0, 0, 0), "the pull forward is dropped");
    w.ok(alice, m, &VM::releaseCall { id: a });
    assert_eq!(w.balance(alice), U256::from(100));
    for day in [60, 90, 120] {
        w.at(T0 + day * DAY);
        w.ok(bob, m, &VM::releaseCall { id: b });
    }
    w.refused_with(alice, &VM::releaseCall { id: a }, &VM::NothingToRelease { id: a });
    assert_eq!(w.balance(bob), U256::from(400));
    assert_eq!(w.balance(m), U256::ZERO);

    // The engine: a revocation on day 40 (2020-02-20) ends the grant before the milestone of day
    // 45 (2020-02-25), which then counts for nothing; 100 vested, 300 forfeited.
    let g = engine_grant(vec![
        (Date::constant(2020, 2, 25), EventKind::Milestone { effect: MilestoneEffect::PullForward { periods: 2 } }),
        (Date::constant(2020, 2, 20), EventKind::Revocation),
    ]);
    let tl = g.timeline(&TimeZone::UTC, None).unwrap();
    assert_eq!(tl.tranches.last().unwrap().cumulative.base_units(), 100);
    assert_eq!(tl.forfeitures.iter().map(|f| f.amount.base_units()).sum::<u128>(), 300);
}

/// A revocation dated on or after the application keeps the pull forward: the grant had not
/// ended when the milestone was met, in the engine and on the chain alike.
#[test]
fn a_revocation_dated_after_a_pull_forward_keeps_it() {
    let a = id(1);
    let (mut w, _) = pull_world(T0, &[a]);
    let m = w.manager;
    apply_pull(&mut w, T0 + 45 * DAY);
    let treasury = w.balance(TREASURY);
    w.at(T0 + 50 * DAY);
    w.ok(ADMIN, m, &VM::revokeCall { id: a, effectiveAt: T0 + 46 * DAY });
    assert_eq!(w.balance(TREASURY) - treasury, U256::from(100));
    w.ok(wallet(1), m, &VM::releaseCall { id: a });
    assert_eq!(w.balance(wallet(1)), U256::from(300));
    assert_eq!(w.balance(m), U256::ZERO);
    let g = engine_grant(vec![
        (Date::constant(2020, 2, 25), EventKind::Milestone { effect: MilestoneEffect::PullForward { periods: 2 } }),
        (Date::constant(2020, 2, 26), EventKind::Revocation),
    ]);
    let tl = g.timeline(&TimeZone::UTC, None).unwrap();
    assert_eq!(tl.tranches.last().unwrap().cumulative.base_units(), 300);
}

/// Issue 15, item 2: a pull forward on a grant whose steps are not one per installment (created
/// TRANCHED, its pre-cliff installments merged into the cliff step) is refused by name when it is
/// defined, and nothing is pulled from the treasury.
#[test]
fn a_pull_forward_on_a_grant_without_installment_steps_is_refused() {
    let mut w = World::new();
    w.at(T0);
    let g = id(7);
    // A one-year cliff of a 48-month grant merged into one step, then monthly steps.
    let mut steps = vec![(T0 + 365 * DAY, 12_000u128)];
    steps.extend((13..=48u64).map(|k| (T0 + k * 30 * DAY + 5 * DAY, 1_000 * u128::from(k))));
    w.create(vec![tranched(g, wallet(7), &steps)]);
    let treasury = w.balance(TREASURY);
    let input = milestone_input("pull", "grant:g", "0.8", T0 + 100 * DAY, 1, vec![effect(g, 2, 2, 0, 0)]);
    w.refused_with(
        OPERATOR,
        &VM::defineMilestonesCall { inputs: vec![input] },
        &VM::NoInstallmentSteps { milestone: alloy_primitives::keccak256("pull"), index: U256::ZERO, id: g },
    );
    assert_eq!(w.balance(TREASURY), treasury);
    assert_eq!(w.grant(g).kind, 1);
}

/// A world on the fee-on-transfer test token (fee 0 until a test sets it).
fn fee_world() -> World {
    let mut chain = tokencomp_evm::Chain::new(31337, GENESIS);
    let token = crate::harness::deploy(
        &mut chain,
        crate::harness::DEPLOYER,
        FEE_ON_TRANSFER_TOKEN.bytecode().unwrap(),
        FeeOnTransferToken::constructorCall {}.abi_encode(),
    );
    World::with_token(chain, token)
}

/// Issue 15, item 4: a token that keeps a fee on transfer delivers less than `createGrants` and
/// `defineMilestones` pull; both refuse the shortfall by name and nothing is created or defined.
/// On the old contract both went through, leaving the grants underfunded.
#[test]
fn funding_that_arrives_short_is_refused_by_name() {
    let mut w = fee_world();
    w.at(T0);
    let (m, token) = (w.manager, w.token);
    w.ok(STRANGER, token, &FeeOnTransferToken::setFeeCall { feeBps_: U256::from(100) });
    let g = id(1);
    w.refused_with(
        OPERATOR,
        &VM::createGrantsCall { inputs: vec![installments(g, wallet(1))] },
        &VM::FundingShortfall { expected: U256::from(400), received: U256::from(396) },
    );
    w.refused_with(STRANGER, &VM::grantOfCall { id: g }, &VM::UnknownGrant { id: g });
    assert_eq!(w.balance(m), U256::ZERO);
    // Without the fee the grant is created; a milestone's funding then arrives short.
    w.ok(STRANGER, token, &FeeOnTransferToken::setFeeCall { feeBps_: U256::ZERO });
    w.create(vec![installments(g, wallet(1))]);
    w.ok(STRANGER, token, &FeeOnTransferToken::setFeeCall { feeBps_: U256::from(50) });
    let input = milestone_input("bonus", "grant:a", "0.8", T0 + 100 * DAY, 1, vec![effect(g, 1, 0, 0, 1_000)]);
    w.refused_with(
        OPERATOR,
        &VM::defineMilestonesCall { inputs: vec![input] },
        &VM::FundingShortfall { expected: U256::from(1_000), received: U256::from(995) },
    );
    let (def, _) = w
        .chain
        .call(STRANGER, m, &VM::milestoneOfCall { milestone: alloy_primitives::keccak256("bonus") })
        .map(|r| (r._0, r._1))
        .unwrap();
    assert_eq!(def.quorum, 0, "not defined");
    assert_eq!(w.balance(m), U256::from(400));
}

/// Issue 15, item 4: a balance that shrank under the manager (a rebasing token's negative rebase,
/// unsupported) makes the release it cannot cover revert with `Underfunded(id, amount, balance)`,
/// not the token's error; a release it can still cover goes through.
#[test]
fn a_release_the_balance_cannot_cover_is_refused_by_name() {
    let mut w = fee_world();
    w.at(T0);
    let (m, token) = (w.manager, w.token);
    let g = id(1);
    w.create(vec![installments(g, wallet(1))]);
    w.ok(STRANGER, token, &FeeOnTransferToken::rebaseCall { account: m, amount: U256::from(250) });
    w.at(T0 + 30 * DAY);
    w.ok(wallet(1), m, &VM::releaseCall { id: g });
    assert_eq!(w.balance(wallet(1)), U256::from(100));
    w.at(T0 + 60 * DAY);
    w.refused_with(
        wallet(1),
        &VM::releaseCall { id: g },
        &VM::Underfunded { id: g, amount: U256::from(100), balance: U256::from(50) },
    );
    assert_eq!(w.balance(m), U256::from(50));
}

/// The milestone module runs only through the manager: called directly it refuses by name.
#[test]
fn the_milestone_module_refuses_a_direct_call() {
    let mut w = World::new();
    let m = w.manager;
    // The manager's first contract creation (its nonce starts at 1).
    let module = m.create(1);
    // The committed artifact's code, its immutables (token, own address) filled in at deployment.
    let code = w.chain.code(module);
    assert_eq!(code.len(), tokencomp_evm::VESTING_MILESTONES.deployed_bytecode().unwrap().len(), "the module");
    let r = w.chain.send(OPERATOR, module, &VM::defineMilestonesCall { inputs: vec![] }).unwrap();
    assert_eq!(r.output, alloy_primitives::Bytes::from(VM::NotDelegated {}.abi_encode()));
}

/// Two applications on one grant, a release between them, and a revocation dated between them:
/// the first counts, the second (a pull forward and an unlock of 50) is left out and its unlock
/// goes back; revoke, release and vestedAt agree, the engine too, and the manager ends empty.
#[test]
fn a_revocation_dated_between_two_applications_keeps_the_first_only() {
    let a = id(1);
    let alice = wallet(1);
    let mut w = World::new();
    w.at(T0);
    let m = w.manager;
    let mut registry = Registry::new();
    w.ok(ADMIN, m, &VM::registerOracleCall { name: "o".into(), key: key(0).address() });
    registry.register("o", signer(&key(0)), T0).unwrap();
    let mut book = Book::new(registry);
    w.create(vec![installments(a, alice)]);
    let deadline = T0 + 200 * DAY;
    define(
        &mut w,
        &mut book,
        vec![
            milestone_input("first", "grant:a", "0.8", deadline, 1, vec![effect(a, 2, 1, 0, 0)]),
            milestone_input(
                "second",
                "grant:a",
                "0.8",
                deadline,
                1,
                vec![effect(a, 2, 1, 0, 0), effect(a, 1, 0, 0, 50)],
            ),
        ],
    );
    let apply = |w: &mut World, milestone: &str, nonce: u64, now: u64| {
        w.at(now);
        let d = domain(w);
        let k = key(0);
        let set =
            [tokencomp_chain::attest::sign(&k, &attestation(milestone, "grant:a", &k, "0.9", nonce, now), &d).unwrap()];
        assert!(on_chain(w, milestone, &set).0.is_ok());
    };
    apply(&mut w, "first", 1, T0 + 45 * DAY);
    w.at(T0 + 50 * DAY);
    w.ok(alice, m, &VM::releaseCall { id: a });
    assert_eq!(w.balance(alice), U256::from(200), "one step and one pulled forward");
    apply(&mut w, "second", 2, T0 + 70 * DAY);
    assert_eq!(w.vested_at(a, T0 + 70 * DAY), 400 + 50);
    let treasury = w.balance(TREASURY);
    w.at(T0 + 80 * DAY);
    w.ok(ADMIN, m, &VM::revokeCall { id: a, effectiveAt: T0 + 60 * DAY });
    // Vested by day 60: two steps and the first pull (300); back: the last step and the unlock.
    assert_eq!(w.balance(TREASURY) - treasury, U256::from(150));
    for (t, vested) in [(T0 + 40 * DAY, 100), (T0 + 46 * DAY, 200), (T0 + 60 * DAY, 300), (T0 + 400 * DAY, 300)] {
        assert_eq!(w.vested_at(a, t), vested, "vestedAt(day {})", (t - T0) / DAY);
    }
    let perf = w.chain.call(STRANGER, m, &VM::perfOfCall { id: a }).unwrap();
    assert_eq!((perf.boost, perf.bonus, perf.appliedAt), (1, 0, T0 + 45 * DAY));
    w.ok(alice, m, &VM::releaseCall { id: a });
    assert_eq!(w.balance(alice), U256::from(300));
    assert_eq!(w.balance(m), U256::ZERO);
    // The engine: milestones on days 45 and 70 (2020-02-25, 2020-03-21), revoked on day 60.
    let pull = || EventKind::Milestone { effect: MilestoneEffect::PullForward { periods: 1 } };
    let g = engine_grant(vec![
        (Date::constant(2020, 2, 25), pull()),
        (Date::constant(2020, 3, 21), pull()),
        (Date::constant(2020, 3, 11), EventKind::Revocation),
    ]);
    let tl = g.timeline(&TimeZone::UTC, None).unwrap();
    assert_eq!(tl.tranches.last().unwrap().cumulative.base_units(), 300);
}
