//! Who may call what, from the artifact's own list of functions: every role-restricted function
//! refuses every other caller with `AccessControlUnauthorizedAccount(account, role)` and works for
//! its role, and the open ones work for anyone. Then the edges of amounts (zero, `u128::MAX`) and
//! of revocation (release after it, a second one) that manager.rs does not already cover.

use std::collections::BTreeMap;

use alloy_primitives::{B256, Bytes, FixedBytes, I256, U256, keccak256};
use alloy_sol_types::{SolCall, SolError};
use tokencomp_core::schedule::{Linear, LinearModel};
use tokencomp_evm::{TestToken, VESTING_MANAGER, VestingManager as VM};

use crate::harness::{ADMIN, GENESIS, OPERATOR, STRANGER, TAX, TREASURY, World, id, linear, tranched, wallet};

const DAY: u64 = 86_400;
const T0: u64 = GENESIS + 10 * DAY;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    /// A view: anyone may call it.
    View,
    /// Changes state, open to anyone (release pushes to the beneficiary; renounceRole only ever
    /// drops the caller's own role).
    Open,
    /// DEFAULT_ADMIN_ROLE, which is also the admin of both roles (grantRole, revokeRole).
    Admin,
    Operator,
}

struct Case {
    signature: &'static str,
    selector: [u8; 4],
    access: Access,
    data: Bytes,
}

fn case<C: SolCall>(access: Access, call: C) -> Case {
    Case { signature: C::SIGNATURE, selector: C::SELECTOR, access, data: Bytes::from(call.abi_encode()) }
}

fn operator_role() -> B256 {
    keccak256("OPERATOR_ROLE")
}

// Grants the table's calls act on, created by `fixture`.
const HELD: u64 = 1; // paused and resumed, withheld from, read by the views
const MOVED: u64 = 2; // released by releaseMany, then gets a new wallet
const ENDED: u64 = 3; // revoked
const PAID: u64 = 4; // released by a stranger
const NEW: u64 = 5; // created by the table's createGrants
const BENEFICIARY: u64 = 1;

/// A world with the fixture grants, at a time their first tranche has vested.
fn fixture() -> World {
    let mut w = World::new();
    let steps = [(GENESIS + DAY, 100), (GENESIS + 2 * DAY, 200)];
    w.create([HELD, MOVED, ENDED, PAID].map(|g| tranched(id(g), wallet(BENEFICIARY), &steps)).to_vec());
    w.at(GENESIS + 3 * DAY / 2);
    w
}

/// Every function of the ABI with its access and a call that succeeds, in an order in which
/// each does (resume after pause; the treasury changes last, as createGrants pulls from it).
fn table(manager: alloy_primitives::Address) -> Vec<Case> {
    use Access::{Admin, Open, Operator, View};
    let (held, now) = (id(HELD), GENESIS + 3 * DAY / 2);
    // An attestation for the table's applyMilestone, signed for the fixture's manager.
    let oracle = tokencomp_chain::Key::from_hex(&format!("0x{:064x}", 0x0a_u64), "test").unwrap();
    let a = tokencomp_chain::attest::Attestation {
        milestone: "m".into(),
        metric: "x".into(),
        value: I256::ONE,
        subject: "grant:held".into(),
        observedAt: now,
        expiresAt: now + DAY,
        oracle: oracle.address(),
        nonce: 1,
    };
    let domain = tokencomp_chain::attest::Domain { chain_id: 31337, verifying_contract: manager };
    let signed = tokencomp_chain::attest::to_contract(&tokencomp_chain::attest::sign(&oracle, &a, &domain).unwrap());
    vec![
        case(View, VM::DEFAULT_ADMIN_ROLECall {}),
        case(View, VM::OPERATOR_ROLECall {}),
        case(View, VM::getRoleAdminCall { role: operator_role() }),
        case(View, VM::grantOfCall { id: held }),
        case(View, VM::hasRoleCall { role: operator_role(), account: OPERATOR }),
        case(View, VM::releasableCall { id: held }),
        case(View, VM::supportsInterfaceCall { interfaceId: FixedBytes([0x79, 0x65, 0xdb, 0x0b]) }),
        case(View, VM::taxWalletCall {}),
        case(View, VM::tokenCall {}),
        case(View, VM::trancheOfCall { id: held, index: U256::from(1) }),
        case(View, VM::treasuryCall {}),
        case(View, VM::vestedAtCall { id: held, timestamp: now }),
        case(View, VM::withholdingOfCall { id: held, index: U256::ZERO }),
        case(View, VM::ATTESTATION_TYPEHASHCall {}),
        case(View, VM::eip712DomainCall {}),
        case(View, VM::perfOfCall { id: held }),
        case(View, VM::milestoneOfCall { milestone: keccak256("m") }),
        case(View, VM::oracleKeyOfCall { key: oracle.address() }),
        case(View, VM::oracleOfCall { name: "alpha".into() }),
        case(View, VM::nonceSpentCall { oracle: oracle.address(), nonce: 1 }),
        case(View, VM::attestationDigestCall { a: signed.attestation.clone() }),
        // Milestones: an oracle registered and a milestone defined, then anyone applies it.
        case(Admin, VM::registerOracleCall { name: "alpha".into(), key: oracle.address() }),
        case(
            Operator,
            VM::defineMilestonesCall {
                inputs: vec![VM::MilestoneInput {
                    id: "m".into(),
                    metric: "x".into(),
                    comparison: 0,
                    threshold: I256::ONE,
                    subject: "grant:held".into(),
                    deadline: now,
                    quorum: 1,
                    effects: vec![VM::EffectInput { grant: held, kind: 1, periods: 0, bps: 0, target: 5 }],
                }],
            },
        ),
        case(Open, VM::applyMilestoneCall { milestone: "m".into(), set: vec![signed] }),
        case(Admin, VM::rotateOracleCall { name: "alpha".into(), key: wallet(5) }),
        case(Admin, VM::revokeOracleCall { name: "alpha".into() }),
        case(Open, VM::releaseCall { id: id(PAID) }),
        case(Open, VM::releaseManyCall { ids: vec![id(PAID), id(MOVED)] }),
        case(Open, VM::renounceRoleCall { role: operator_role(), callerConfirmation: STRANGER }),
        case(
            Operator,
            VM::createGrantsCall { inputs: vec![linear(id(NEW), wallet(BENEFICIARY), 10, T0, T0, T0 + 10)] },
        ),
        case(Operator, VM::postWithholdingCall { id: held, index: U256::from(1), tokens: 3 }),
        case(
            Operator,
            VM::postWithholdingsCall {
                inputs: vec![VM::WithholdingInput { id: held, index: U256::from(1), tokens: 4 }],
            },
        ),
        case(Operator, VM::pauseCall { id: held, at: now }),
        case(Operator, VM::resumeCall { id: held, at: now }),
        case(Admin, VM::setBeneficiaryCall { id: id(MOVED), beneficiary: wallet(9) }),
        case(Admin, VM::revokeCall { id: id(ENDED), effectiveAt: now }),
        case(Admin, VM::grantRoleCall { role: operator_role(), account: wallet(8) }),
        case(Admin, VM::revokeRoleCall { role: operator_role(), account: wallet(8) }),
        case(Admin, VM::setTaxWalletCall { taxWallet_: wallet(7) }),
        case(Admin, VM::setTreasuryCall { treasury_: wallet(6) }),
    ]
}

/// The table names exactly the artifact's functions, with their selectors, and calls a function a
/// view exactly when the ABI does: a function added to the contract fails here until it has an
/// access rule (and, if restricted, is checked by the test below).
#[test]
fn every_function_of_the_abi_has_an_access_rule() {
    let table = table(fixture().manager);
    let in_table: BTreeMap<&str, &Case> = table.iter().map(|c| (c.signature, c)).collect();
    assert_eq!(in_table.len(), table.len(), "a signature appears twice in the table");
    let artifact = VESTING_MANAGER.method_identifiers().unwrap();
    let abi: serde_json::Value = serde_json::from_str(VESTING_MANAGER.json).unwrap();
    let mutability: BTreeMap<&str, &str> = abi["abi"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "function")
        .map(|e| (e["name"].as_str().unwrap(), e["stateMutability"].as_str().unwrap()))
        .collect();
    for (signature, selector) in &artifact {
        let c = in_table.get(signature.as_str()).unwrap_or_else(|| panic!("{signature} has no access rule"));
        assert_eq!(c.selector, *selector, "{signature}: selector");
        assert_eq!(c.data[..4], selector[..], "{signature}: the table's call is of another function");
        let name = signature.split('(').next().unwrap();
        let view = matches!(mutability[name], "view" | "pure");
        assert_eq!(c.access == Access::View, view, "{signature} is {} in the ABI", mutability[name]);
    }
    assert_eq!(artifact.len(), table.len(), "the table names functions the artifact does not have");
}

#[test]
fn restricted_functions_refuse_every_other_caller_with_account_and_role() {
    let mut w = fixture();
    let m = w.manager;
    let role_of = |access| match access {
        Access::Admin => Some((B256::ZERO, ADMIN, OPERATOR)),
        Access::Operator => Some((operator_role(), OPERATOR, ADMIN)),
        Access::View | Access::Open => None,
    };
    assert_eq!(w.chain.call(STRANGER, m, &VM::OPERATOR_ROLECall {}).unwrap(), operator_role());
    let mut refused = 0;
    for c in table(m) {
        let Some((role, holder, other)) = role_of(c.access) else {
            // Anyone: a stranger's call goes through.
            let r = if c.access == Access::View {
                w.chain.call_raw(STRANGER, m, c.data.clone()).map(|_| ())
            } else {
                let r = w.chain.transact(STRANGER, m, c.data.clone()).unwrap();
                assert!(r.success, "{} from a stranger reverted with {}", c.signature, r.output);
                Ok(())
            };
            assert!(r.is_ok(), "{} from a stranger: {r:?}", c.signature);
            continue;
        };
        for caller in [STRANGER, other, wallet(BENEFICIARY)] {
            let r = w.chain.transact(caller, m, c.data.clone()).unwrap();
            let expected = VM::AccessControlUnauthorizedAccount { account: caller, neededRole: role }.abi_encode();
            assert!(!r.success && r.logs.is_empty(), "{} from {caller} went through", c.signature);
            assert_eq!(r.output, Bytes::from(expected), "{} from {caller}", c.signature);
            refused += 1;
        }
        let r = w.chain.transact(holder, m, c.data.clone()).unwrap();
        assert!(r.success, "{} from its role's holder reverted with {}", c.signature, r.output);
    }
    assert_eq!(refused, 3 * 15, "fifteen restricted functions, three wrong callers each");

    // The successful calls took effect.
    let g = w.grant(id(HELD));
    assert_eq!((g.pausedAt, g.pausedSeconds), (0, 0));
    assert_eq!(w.chain.call(STRANGER, m, &VM::withholdingOfCall { id: id(HELD), index: U256::from(1) }).unwrap(), 4);
    assert_eq!(w.grant(id(MOVED)).beneficiary, wallet(9));
    assert_eq!(w.grant(id(ENDED)).revokedAt, GENESIS + 3 * DAY / 2);
    assert_eq!(w.grant(id(NEW)).total, 10);
    assert_eq!(w.chain.call(STRANGER, m, &VM::perfOfCall { id: id(HELD) }).unwrap().bonus, 5);
    assert_eq!(w.chain.call(STRANGER, m, &VM::taxWalletCall {}).unwrap(), wallet(7));
    assert_eq!(w.chain.call(STRANGER, m, &VM::treasuryCall {}).unwrap(), wallet(6));
    assert_eq!(
        w.balance(wallet(BENEFICIARY)),
        U256::from(200),
        "first tranches of PAID (release) and MOVED (releaseMany)"
    );
}

/// Roles move with grantRole and revokeRole: a new operator acts, and is refused once revoked.
#[test]
fn a_granted_role_acts_and_a_revoked_one_is_refused() {
    let mut w = fixture();
    let m = w.manager;
    let carol = wallet(8);
    let post = VM::postWithholdingCall { id: id(HELD), index: U256::from(1), tokens: 5 };
    let unauthorized = |account| VM::AccessControlUnauthorizedAccount { account, neededRole: operator_role() };
    w.refused_with(carol, &post, &unauthorized(carol));
    w.ok(ADMIN, m, &VM::grantRoleCall { role: operator_role(), account: carol });
    w.ok(carol, m, &post);
    // A role holder cannot hand its role on: only the admin role administers it.
    let grant = VM::grantRoleCall { role: operator_role(), account: STRANGER };
    w.refused_with(carol, &grant, &VM::AccessControlUnauthorizedAccount { account: carol, neededRole: B256::ZERO });
    w.ok(ADMIN, m, &VM::revokeRoleCall { role: operator_role(), account: carol });
    w.refused_with(carol, &post, &unauthorized(carol));
    // The original operator renounces its own role and is refused from then on.
    w.ok(OPERATOR, m, &VM::renounceRoleCall { role: operator_role(), callerConfirmation: OPERATOR });
    w.refused_with(OPERATOR, &post, &unauthorized(OPERATOR));
    // Renouncing for someone else is refused.
    w.refused_with(
        STRANGER,
        &VM::renounceRoleCall { role: B256::ZERO, callerConfirmation: ADMIN },
        &VM::AccessControlBadConfirmation {},
    );
}

/// Zero amounts: a tranched grant of nothing, tranches of nothing, withholding of nothing or of a
/// whole tranche, an empty batch of each kind, a linear grant of no duration.
#[test]
fn zero_amounts() {
    let mut w = World::new();
    let m = w.manager;
    let bob = wallet(20);
    let g = id(20);
    let nothing = tranched(g, bob, &[(T0, 0), (T0 + DAY, 0)]);
    w.refused_with(OPERATOR, &VM::createGrantsCall { inputs: vec![nothing] }, &VM::ZeroAmount { id: g });

    // Empty batches are no-ops that succeed; nothing moves.
    let r = w.create(Vec::new());
    assert_eq!(r.logs.len(), 1, "GrantsFunded(treasury, 0, 0) only, no Transfer");
    w.ok(OPERATOR, m, &VM::postWithholdingsCall { inputs: Vec::new() });
    let r = w.ok(STRANGER, m, &VM::releaseManyCall { ids: Vec::new() });
    assert_eq!(VM::releaseManyCall::abi_decode_returns(&r.output).unwrap(), U256::ZERO);
    assert_eq!(w.balance(m), U256::ZERO);

    // Two tranches of nothing before one of 100.
    w.create(vec![tranched(g, bob, &[(T0, 0), (T0 + DAY, 0), (T0 + 2 * DAY, 100)])]);
    let excess = VM::WithholdingExceedsTranche { id: g, index: U256::ZERO, tokens: 1, trancheAmount: 0 };
    w.refused_with(OPERATOR, &VM::postWithholdingCall { id: g, index: U256::ZERO, tokens: 1 }, &excess);
    w.ok(OPERATOR, m, &VM::postWithholdingCall { id: g, index: U256::ZERO, tokens: 0 });
    // The whole last tranche withheld: the beneficiary's net is zero.
    w.ok(OPERATOR, m, &VM::postWithholdingCall { id: g, index: U256::from(2), tokens: 100 });
    w.at(T0 + DAY);
    // Crossing only empty tranches releases nothing, and the cursor stays.
    w.refused_with(STRANGER, &VM::releaseCall { id: g }, &VM::NothingToRelease { id: g });
    assert_eq!(w.grant(g).cursor, 0);
    w.at(T0 + 2 * DAY);
    w.ok(STRANGER, m, &VM::releaseCall { id: g });
    assert_eq!((w.balance(bob), w.balance(TAX)), (U256::ZERO, U256::from(100)));
    let state = w.grant(g);
    assert_eq!((state.released, state.cursor), (100, 3));

    // Linear with start = cliff = end: nothing before, everything at that instant.
    let l = id(21);
    w.create(vec![linear(l, bob, 77, T0 + 5 * DAY, T0 + 5 * DAY, T0 + 5 * DAY)]);
    w.at(T0 + 5 * DAY - 1);
    w.refused_with(bob, &VM::releaseCall { id: l }, &VM::NothingToRelease { id: l });
    w.at(T0 + 5 * DAY);
    w.ok(bob, m, &VM::releaseCall { id: l });
    assert_eq!(w.balance(bob), U256::from(77));
    assert_eq!(w.balance(m), U256::ZERO);
}

/// `u128::MAX` in every place an amount fits: a batch whose sum exceeds it, a tranched grant of
/// all of it with a tranche withheld whole, and a linear grant of all of it at exact thirds.
#[test]
fn maximum_amounts() {
    let mut w = World::new();
    let m = w.manager;
    let bob = wallet(30);
    let max = u128::MAX;
    // Two maximal grants: the sum (2^129 - 2) does not wrap; the treasury cannot pay it.
    let two = vec![tranched(id(30), bob, &[(T0, max)]), tranched(id(31), bob, &[(T0, max)])];
    let r = w.chain.send(OPERATOR, m, &VM::createGrantsCall { inputs: two }).unwrap();
    let short = TestToken::ERC20InsufficientBalance {
        sender: TREASURY,
        balance: U256::from(max),
        needed: U256::from(max) * U256::from(2),
    };
    assert_eq!((r.success, r.output), (false, Bytes::from(short.abi_encode())));

    // All of it in two tranches; the second, 2^127 tokens, withheld whole.
    let g = id(32);
    let half = max / 2;
    w.create(vec![tranched(g, bob, &[(T0, half), (T0 + DAY, max)])]);
    assert_eq!((w.balance(TREASURY), w.balance(m)), (U256::ZERO, U256::from(max)));
    let t = w.chain.call(STRANGER, m, &VM::trancheOfCall { id: g, index: U256::from(1) }).unwrap();
    assert_eq!(t.cumulative, max);
    let second = max - half;
    let excess = VM::WithholdingExceedsTranche { id: g, index: U256::from(1), tokens: max, trancheAmount: second };
    w.refused_with(OPERATOR, &VM::postWithholdingCall { id: g, index: U256::from(1), tokens: max }, &excess);
    w.ok(OPERATOR, m, &VM::postWithholdingCall { id: g, index: U256::from(1), tokens: second });
    assert_eq!(w.vested_at(g, T0 + DAY - 1), half);
    assert_eq!(w.vested_at(g, T0 + DAY), max);
    w.at(T0 + DAY);
    w.ok(bob, m, &VM::releaseCall { id: g });
    assert_eq!((w.balance(bob), w.balance(TAX), w.balance(m)), (U256::from(half), U256::from(second), U256::ZERO));

    // A fresh world: linear over 3 s. 2^128 - 1 is divisible by 3, so a third is 0x5555…55.
    let mut w = World::new();
    let m = w.manager;
    let l = id(33);
    w.create(vec![linear(l, bob, max, T0, T0, T0 + 3)]);
    let third = u128::from_be_bytes([0x55; 16]);
    assert_eq!(third * 3, max);
    let engine =
        Linear::new(i64::try_from(T0).unwrap(), None, i64::try_from(T0 + 3).unwrap(), 1, LinearModel::OpenZeppelin)
            .unwrap();
    for (k, by_hand) in [(1, third), (2, 2 * third), (3, max)] {
        assert_eq!(engine.vested(max, i64::try_from(T0 + k).unwrap()), by_hand);
        w.at(T0 + k);
        w.ok(bob, m, &VM::releaseCall { id: l });
        assert_eq!(w.balance(bob), U256::from(by_hand), "after {k} s");
    }
    assert_eq!(w.balance(m), U256::ZERO);
}

/// After a revocation only what vested by its effective instant is paid, whenever it is
/// released, then nothing more: for a linear grant revoked ahead of time, and for a paused
/// grant (released although paused, the pause having frozen it first).
#[test]
fn release_after_revoke_pays_the_vested_part_only() {
    let mut w = World::new();
    let m = w.manager;
    let bob = wallet(40);
    let l = id(40);
    // 1,000 over 1,000 s from T0; revoked at T0 + 50, effective at T0 + 600: 400 go back now.
    w.create(vec![linear(l, bob, 1_000, T0, T0 + 100, T0 + 1_000)]);
    let before = w.balance(TREASURY);
    w.at(T0 + 50);
    w.ok(ADMIN, m, &VM::revokeCall { id: l, effectiveAt: T0 + 600 });
    assert_eq!(w.balance(TREASURY) - before, U256::from(400));
    w.at(T0 + 300);
    w.ok(bob, m, &VM::releaseCall { id: l });
    assert_eq!(w.balance(bob), U256::from(300));
    w.at(T0 + 900);
    w.ok(STRANGER, m, &VM::releaseCall { id: l });
    assert_eq!(w.balance(bob), U256::from(600));
    w.at(T0 + 2_000);
    w.refused_with(bob, &VM::releaseCall { id: l }, &VM::NothingToRelease { id: l });
    assert_eq!(w.grant(l).released, 600);

    // Four 30-day steps of 100; paused after the first, revoked later: 100 stays, 300 go back.
    let g = id(41);
    let steps: Vec<(u64, u128)> = (1..=4).map(|k| (T0 + k * 30 * DAY, 100 * u128::from(k))).collect();
    w.create(vec![tranched(g, bob, &steps)]);
    w.at(T0 + 45 * DAY);
    w.ok(OPERATOR, m, &VM::pauseCall { id: g, at: T0 + 45 * DAY });
    let before = w.balance(TREASURY);
    w.at(T0 + 100 * DAY);
    w.ok(ADMIN, m, &VM::revokeCall { id: g, effectiveAt: T0 + 100 * DAY });
    assert_eq!(w.balance(TREASURY) - before, U256::from(300));
    w.ok(bob, m, &VM::releaseCall { id: g });
    assert_eq!(w.balance(bob), U256::from(700));
    w.at(T0 + 400 * DAY);
    w.refused_with(bob, &VM::releaseCall { id: g }, &VM::NothingToRelease { id: g });
    assert_eq!(w.balance(m), U256::ZERO);
}

/// A revoked grant refuses a second revocation whatever its date, and any pause or resume, with
/// `GrantRevoked(id)`; nothing moves.
#[test]
fn a_second_revoke_is_refused_whatever_its_date() {
    let mut w = World::new();
    let m = w.manager;
    let bob = wallet(50);
    let g = id(50);
    w.create(vec![tranched(g, bob, &[(T0, 100), (T0 + DAY, 200)])]);
    w.refused_with(
        ADMIN,
        &VM::revokeCall { id: g, effectiveAt: 0 },
        &VM::TimestampOutOfRange { id: g, at: 0, earliest: 1, latest: u64::MAX },
    );
    w.refused_with(ADMIN, &VM::revokeCall { id: id(59), effectiveAt: T0 }, &VM::UnknownGrant { id: id(59) });
    w.at(T0);
    w.ok(OPERATOR, m, &VM::pauseCall { id: g, at: T0 });
    w.ok(ADMIN, m, &VM::revokeCall { id: g, effectiveAt: T0 + 5 * DAY });
    let (treasury, manager) = (w.balance(TREASURY), w.balance(m));
    assert_eq!(manager, U256::from(100), "frozen at the pause: the second tranche went back");
    for at in [T0, T0 + 5 * DAY, T0 + 50 * DAY, u64::MAX] {
        w.refused_with(ADMIN, &VM::revokeCall { id: g, effectiveAt: at }, &VM::GrantRevoked { id: g });
    }
    w.refused_with(OPERATOR, &VM::resumeCall { id: g, at: T0 }, &VM::GrantRevoked { id: g });
    w.ok(bob, m, &VM::releaseCall { id: g });
    w.refused_with(OPERATOR, &VM::pauseCall { id: g, at: T0 }, &VM::GrantRevoked { id: g });
    w.refused_with(ADMIN, &VM::revokeCall { id: g, effectiveAt: T0 + 9 * DAY }, &VM::GrantRevoked { id: g });
    assert_eq!((w.balance(TREASURY), w.balance(m), w.balance(bob)), (treasury, U256::ZERO, U256::from(100)));
    assert_eq!(w.grant(g).revokedAt, T0 + 5 * DAY);
}
