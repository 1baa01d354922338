//! The contract's vested amount against the engine's, to the base unit, for generated schedules:
//! tranched grants from the engine's timelines (monthly calendars with a cliff, fixed-day steps,
//! custom tranches) and linear grants in the engine's OpenZeppelin mode, at generated instants;
//! and the engine's linear mode against OpenZeppelin's own VestingWalletCliff bytecode.

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolConstructor;
use jiff::tz::TimeZone;
use tokencomp_core::calendar::{date_of, start_of_day, to_day};
use tokencomp_core::grant::{Grant, Timeline};
use tokencomp_core::schedule::{At, Linear, LinearModel, Schedule};
use tokencomp_evm::{REFERENCE_VESTING_WALLET_CLIFF, ReferenceVestingWalletCliff, TestToken};
use tokencomp_money::TokenAmount;

use crate::harness::{DEPLOYER, GENESIS, Rng, STRANGER, World, deploy, id, linear, tranched, wallet};
use crate::schedules::{ZONES, schedule};

const TRANCHED_SCHEDULES: u64 = 6_000;
const LINEAR_SCHEDULES: u64 = 4_000;
/// Tranches per createGrants transaction, so a batch stays well under the block gas limit.
const TRANCHES_PER_BATCH: usize = 1_500;

struct Case {
    id: B256,
    tz: TimeZone,
    total: u128,
    schedule: Schedule,
    /// (vest instant, cumulative) from the engine's timeline.
    tranches: Vec<(u64, u128)>,
    grant: Grant,
    timeline: Timeline,
}

fn tranched_case(rng: &mut Rng, n: u64) -> Case {
    let zone: &&str = rng.pick(&ZONES);
    let tz = TimeZone::get(zone).unwrap();
    let total = rng.amount();
    let schedule = schedule(rng);
    let grant = Grant {
        id: format!("g-{n}"),
        holder: format!("p-{n}"),
        amount: TokenAmount::from_base_units(total),
        schedule: schedule.clone(),
        performance: Vec::new(),
        events: Vec::new(),
    };
    let timeline = grant.timeline(&tz, None).unwrap();
    let tranches: Vec<(u64, u128)> = timeline
        .tranches
        .iter()
        .map(|t| (u64::try_from(start_of_day(t.date, &tz).unwrap()).unwrap(), t.cumulative.base_units()))
        .collect();
    assert_eq!(tranches.last().map(|t| t.1), Some(total), "the timeline adds up to the grant");
    Case { id: id(n), tz, total, schedule, tranches, grant, timeline }
}

/// The engine's vested amount at instant `t`: evaluated directly, and read from the timeline.
fn engine_vested(case: &Case, t: u64) -> u128 {
    let instant = i64::try_from(t).unwrap();
    let day = date_of(instant, &case.tz).unwrap();
    let direct = case.schedule.vested(case.total, &At::new(to_day(day), instant));
    let table = case.timeline.position(day).vested.base_units();
    assert_eq!(direct, table, "engine: direct evaluation and timeline agree");
    direct
}

/// Instants worth checking: just before the first tranche, either side of a tranche taken at
/// random, the last tranche, and one instant at random around the schedule.
fn probe_times(rng: &mut Rng, tranches: &[(u64, u128)]) -> Vec<u64> {
    let first = tranches[0].0;
    let last = tranches[tranches.len() - 1].0;
    let at = rng.pick(tranches).0;
    vec![first - 1, at - 1, at, last, rng.range(first.saturating_sub(86_400 * 30), last + 86_400 * 30)]
}

#[test]
fn tranched_grants_vest_as_the_engine_computes_to_the_base_unit() {
    let mut rng = Rng::new(0x7a11_c0de);
    let mut w = World::new();
    let mut pending: Vec<Case> = Vec::new();
    let mut in_batch = 0;
    let mut checked = 0u64;
    let mut flush = |w: &mut World, pending: &mut Vec<Case>, rng: &mut Rng| {
        let inputs = pending
            .iter()
            .enumerate()
            .map(|(i, c)| tranched(c.id, wallet(u64::try_from(i).unwrap()), &c.tranches))
            .collect();
        w.create(inputs);
        for c in pending.drain(..) {
            for t in probe_times(rng, &c.tranches) {
                assert_eq!(w.vested_at(c.id, t), engine_vested(&c, t), "grant {} {:?} at {t}", c.grant.id, c.schedule);
                checked += 1;
            }
        }
    };
    for n in 1..=TRANCHED_SCHEDULES {
        let case = tranched_case(&mut rng, n);
        in_batch += case.tranches.len();
        pending.push(case);
        if in_batch >= TRANCHES_PER_BATCH || pending.len() >= 50 {
            flush(&mut w, &mut pending, &mut rng);
            in_batch = 0;
        }
    }
    flush(&mut w, &mut pending, &mut rng);
    assert!(checked == TRANCHED_SCHEDULES * 5, "checked {checked} instants");
}

struct LinearCase {
    id: B256,
    total: u128,
    start: u64,
    cliff: Option<u64>,
    end: u64,
}

fn linear_case(rng: &mut Rng, n: u64) -> LinearCase {
    let start = GENESIS + rng.range(0, 86_400 * 365 * 10);
    let duration = match rng.range(0, 3) {
        0 => 0,
        1 => rng.range(1, 1_000),
        _ => rng.range(1, 86_400 * 365 * 5),
    };
    let end = start + duration;
    let cliff = if rng.range(0, 2) == 0 { None } else { Some(rng.range(start, end)) };
    LinearCase { id: id(1_000_000 + n), total: rng.amount(), start, cliff, end }
}

fn linear_times(rng: &mut Rng, c: &LinearCase) -> Vec<u64> {
    let cliff = c.cliff.unwrap_or(c.start);
    let mut ts = vec![cliff.saturating_sub(1), cliff, c.end.saturating_sub(1), c.end];
    ts.push(rng.range(c.start.saturating_sub(100), c.end + 100));
    ts.push(rng.range(c.start, c.end));
    ts
}

fn engine_linear(c: &LinearCase) -> Linear {
    let i = |t: u64| i64::try_from(t).unwrap();
    Linear::new(i(c.start), c.cliff.map(i), i(c.end), 1, LinearModel::OpenZeppelin).unwrap()
}

#[test]
fn linear_grants_vest_as_the_engines_openzeppelin_mode() {
    let mut rng = Rng::new(0x11_4ea7);
    let mut w = World::new();
    let mut checked = 0u64;
    for chunk in 0..LINEAR_SCHEDULES / 50 {
        let cases: Vec<LinearCase> = (0..50).map(|k| linear_case(&mut rng, chunk * 50 + k)).collect();
        let inputs = cases
            .iter()
            .enumerate()
            .map(|(i, c)| {
                linear(c.id, wallet(u64::try_from(i).unwrap()), c.total, c.start, c.cliff.unwrap_or(c.start), c.end)
            })
            .collect();
        w.create(inputs);
        for c in &cases {
            let engine = engine_linear(c);
            for t in linear_times(&mut rng, c) {
                let expected = engine.vested(c.total, i64::try_from(t).unwrap());
                assert_eq!(
                    w.vested_at(c.id, t),
                    expected,
                    "linear {}..{:?}..{} total {} at {t}",
                    c.start,
                    c.cliff,
                    c.end,
                    c.total
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, LINEAR_SCHEDULES * 6);
}

/// The engine's OpenZeppelin mode against the real VestingWalletCliff, deployed per schedule.
#[test]
fn engine_linear_mode_equals_openzeppelin_vesting_wallet_cliff() {
    let mut rng = Rng::new(0x02e9_9e11);
    let mut w = World::new();
    let token = w.token;
    for n in 0..300 {
        let c = linear_case(&mut rng, n);
        let cliff_seconds = c.cliff.unwrap_or(c.start) - c.start;
        let args = ReferenceVestingWalletCliff::constructorCall {
            beneficiary: Address::repeat_byte(0x42),
            startTimestamp: c.start,
            durationSeconds: c.end - c.start,
            cliffSeconds: cliff_seconds,
        }
        .abi_encode();
        let wallet = deploy(&mut w.chain, DEPLOYER, REFERENCE_VESTING_WALLET_CLIFF.bytecode().unwrap(), args);
        w.ok(DEPLOYER, token, &TestToken::mintCall { to: wallet, amount: U256::from(c.total) });
        let engine = engine_linear(&c);
        for t in linear_times(&mut rng, &c) {
            let oz: U256 = w
                .chain
                .call(STRANGER, wallet, &ReferenceVestingWalletCliff::vestedAmount_1Call { token, timestamp: t })
                .unwrap();
            assert_eq!(
                oz,
                U256::from(engine.vested(c.total, i64::try_from(t).unwrap())),
                "{}..{:?}..{} at {t}",
                c.start,
                c.cliff,
                c.end
            );
        }
    }
}
