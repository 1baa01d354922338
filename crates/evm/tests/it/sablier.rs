//! The engine's Sablier linear mode against the real SablierLockup (the bytecode `@sablier/lockup`
//! ships, vendored in `contracts/artifacts/vendor`) deployed on the embedded chain: streams created
//! through the contract's own functions, their `streamedAmountOf` read at boundary and random
//! instants and held equal to the engine's value to the base unit. Then the gas of creating 50
//! grants with VestingManager against 50 streams with SablierBatchLockup.

use alloy_primitives::aliases::U40;
use alloy_primitives::{Address, U256};
use alloy_sol_types::{SolCall, SolConstructor};
use tokencomp_core::schedule::{Linear, LinearModel, Schedule};
use tokencomp_evm::TestToken;
use tokencomp_evm::vendor::sablier::{BatchLockup, Lockup, LockupLinear};
use tokencomp_evm::vendor::{
    LOCKUP_HELPERS, LOCKUP_MATH, LOCKUP_NFT_DESCRIPTOR, SABLIER_BATCH_LOCKUP, SABLIER_LOCKUP, SablierBatchLockup,
    SablierLockup, link,
};

use crate::harness::{DEPLOYER, GENESIS, Rng, STRANGER, TREASURY, World, deploy, id, linear, tranched, wallet};

/// Streams created in the differential test, in chunks of [`CHUNK`]: the first [`DIRECT`] of a
/// chunk one transaction each through SablierLockup, the rest in one SablierBatchLockup call.
const STREAMS: usize = 480;
const CHUNK: usize = 20;
const DIRECT: usize = 5;
/// Every stream starts after this, so the chain's head (one block per creation) stays before
/// every instant probed and a read-only call can be placed at any of them.
const FIRST_START: u64 = GENESIS + 86_400;
const YEAR: u64 = 86_400 * 365;

struct Sablier {
    lockup: Address,
    batch: Address,
}

/// A stand-in for Sablier's comptroller (the fee and admin contract SablierLockup's constructor
/// insists on: `supportsInterface` must say yes to its minimal interface). The real one,
/// SablierComptroller, ships in `@sablier/evm-utils`, which contracts/package.json replaces.
/// Runtime code, 20 bytes: 1 for `supportsInterface(bytes4)` (0x01ffc9a7), 0 for anything else, so
/// every fee it is asked for is zero. Creating and reading streams never call it.
const COMPTROLLER_STAND_IN: [u8; 32] = [
    // constructor: copy the 20 bytes after these 12 to memory and return them as the code
    0x60, 0x14, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, 0x14, 0x60, 0x00, 0xf3,
    // calldataload(0) >> 224 == 0x01ffc9a7, stored at 0 and returned as one word
    0x60, 0x00, 0x35, 0x60, 0xe0, 0x1c, 0x63, 0x01, 0xff, 0xc9, 0xa7, 0x14, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00,
    0xf3,
];

/// Deploys Sablier as its deployment does: the two libraries SablierLockup links against, the
/// NFT descriptor its constructor takes, SablierLockup linked to the libraries, and the batch
/// contract; the treasury then approves both for the token.
fn deploy_sablier(w: &mut World) -> Sablier {
    let comptroller = deploy(&mut w.chain, DEPLOYER, COMPTROLLER_STAND_IN.to_vec().into(), Vec::new());
    let helpers = deploy(&mut w.chain, DEPLOYER, LOCKUP_HELPERS.bytecode().unwrap(), Vec::new());
    let math = deploy(&mut w.chain, DEPLOYER, LOCKUP_MATH.bytecode().unwrap(), Vec::new());
    let descriptor = deploy(&mut w.chain, DEPLOYER, LOCKUP_NFT_DESCRIPTOR.bytecode().unwrap(), Vec::new());
    let code = link(&SABLIER_LOCKUP, &[("LockupHelpers", helpers), ("LockupMath", math)]).unwrap();
    let args = SablierLockup::constructorCall { initialComptroller: comptroller, initialNFTDescriptor: descriptor };
    let lockup = deploy(&mut w.chain, DEPLOYER, code, args.abi_encode());
    let batch = deploy(&mut w.chain, DEPLOYER, SABLIER_BATCH_LOCKUP.bytecode().unwrap(), Vec::new());
    let token = w.token;
    for spender in [lockup, batch] {
        w.ok(TREASURY, token, &TestToken::approveCall { spender, value: U256::MAX });
    }
    Sablier { lockup, batch }
}

/// One LockupLinear stream's parameters, as both the engine and Sablier take them.
#[derive(Clone, Debug)]
struct Stream {
    total: u128,
    start: u64,
    cliff: Option<u64>,
    end: u64,
    start_unlock: u128,
    cliff_unlock: u128,
    granularity: u32,
}

impl Stream {
    fn engine(&self) -> Linear {
        let i = |t: u64| i64::try_from(t).unwrap();
        let model = LinearModel::Sablier { start_unlock: self.start_unlock, cliff_unlock: self.cliff_unlock };
        Linear::new(i(self.start), self.cliff.map(i), i(self.end), self.granularity, model).unwrap()
    }

    fn unlocks(&self) -> LockupLinear::UnlockAmounts {
        LockupLinear::UnlockAmounts { start: self.start_unlock, cliff: self.cliff_unlock }
    }

    fn direct(&self, token: Address, recipient: Address) -> SablierLockup::createWithTimestampsLLCall {
        SablierLockup::createWithTimestampsLLCall {
            params: Lockup::CreateWithTimestamps {
                sender: TREASURY,
                recipient,
                depositAmount: self.total,
                token,
                cancelable: true,
                transferable: true,
                timestamps: Lockup::Timestamps { start: u40(self.start), end: u40(self.end) },
                shape: String::new(),
            },
            unlockAmounts: self.unlocks(),
            granularity: u40(u64::from(self.granularity)),
            cliffTime: u40(self.cliff.unwrap_or(0)),
        }
    }

    fn batched(&self, recipient: Address) -> BatchLockup::CreateWithTimestampsLL {
        BatchLockup::CreateWithTimestampsLL {
            sender: TREASURY,
            recipient,
            depositAmount: self.total,
            cancelable: true,
            transferable: true,
            timestamps: Lockup::Timestamps { start: u40(self.start), end: u40(self.end) },
            cliffTime: u40(self.cliff.unwrap_or(0)),
            unlockAmounts: self.unlocks(),
            granularity: u40(u64::from(self.granularity)),
            shape: String::new(),
        }
    }
}

fn u40(t: u64) -> U40 {
    U40::try_from(t).unwrap()
}

fn u128_any(rng: &mut Rng) -> u128 {
    (u128::from(rng.next()) << 64) | u128::from(rng.next())
}

/// Uniform in `0..=hi`.
fn up_to(rng: &mut Rng, hi: u128) -> u128 {
    let x = u128_any(rng);
    if hi == u128::MAX { x } else { x % (hi + 1) }
}

fn stream(rng: &mut Rng) -> Stream {
    let start = FIRST_START + rng.range(0, 10 * YEAR);
    let duration = match rng.range(0, 4) {
        0 => rng.range(1, 3),
        1 => rng.range(4, 1_000),
        2 => rng.range(1_000, 86_400 * 60),
        3 => rng.range(86_400 * 60, 5 * YEAR),
        _ => rng.range(5 * YEAR, 100 * YEAR),
    };
    let end = start + duration;
    // Sablier's cliff lies strictly inside the stream.
    let cliff = (duration >= 2 && rng.range(0, 1) == 0).then(|| rng.range(start + 1, end - 1));
    let total = match rng.range(0, 4) {
        0 => u128::from(rng.range(1, 3)),
        1 => u128::MAX - u128::from(rng.range(0, 2)),
        2 => u128_any(rng).max(1),
        _ => rng.amount(),
    };
    let (start_unlock, cliff_unlock) = match (rng.range(0, 3), cliff.is_some()) {
        (0, _) => (0, 0),
        (1, _) => (up_to(rng, total), 0),
        (2, true) => {
            let s = up_to(rng, total / 2);
            (s, up_to(rng, total - s))
        }
        (2, false) => (up_to(rng, total / 3), 0),
        // Everything unlocked up front: nothing left to stream.
        (_, true) => {
            let s = up_to(rng, total);
            (s, total - s)
        }
        (_, false) => (total, 0),
    };
    let range = end - cliff.unwrap_or(start);
    let granularity =
        if rng.range(0, 3) == 0 { u32::try_from(rng.range(1, range.min(u64::from(u32::MAX)))).unwrap() } else { 1 };
    Stream { total, start, cliff, end, start_unlock, cliff_unlock, granularity }
}

/// Either side of each boundary (start, cliff, end), either side of a step when the stream steps
/// by more than a second, and instants at random within and around the stream.
fn probes(rng: &mut Rng, s: &Stream) -> Vec<u64> {
    let mut ts = vec![s.start - 1, s.start, s.start + 1, s.end - 1, s.end, s.end + 1];
    if let Some(c) = s.cliff {
        ts.extend([c - 1, c, c + 1]);
    }
    let reference = s.cliff.unwrap_or(s.start);
    let g = u64::from(s.granularity);
    if g > 1 {
        let step = reference + g * rng.range(1, (s.end - reference) / g);
        ts.extend([step - 1, step]);
    }
    for _ in 0..4 {
        ts.push(rng.range(s.start, s.end));
    }
    ts.push(rng.range(s.start.saturating_sub(1_000), s.end + 1_000));
    ts
}

fn streamed(w: &mut World, lockup: Address, stream_id: U256, t: u64) -> u128 {
    w.at(t);
    w.chain.call(STRANGER, lockup, &SablierLockup::streamedAmountOfCall { streamId: stream_id }).unwrap()
}

/// Creates `streams` on Sablier, funding the treasury with their sum first; returns their ids.
fn create_streams(w: &mut World, s: &Sablier, streams: &[Stream], first_wallet: u64) -> Vec<U256> {
    let token = w.token;
    let sum = streams.iter().fold(U256::ZERO, |acc, st| acc + U256::from(st.total));
    w.ok(TREASURY, token, &TestToken::mintCall { to: TREASURY, amount: sum });
    let recipient = |i: usize| wallet(first_wallet + u64::try_from(i).unwrap());
    let mut ids = Vec::with_capacity(streams.len());
    for (i, st) in streams.iter().enumerate().take(DIRECT) {
        let r = w.ok(TREASURY, s.lockup, &st.direct(token, recipient(i)));
        ids.push(SablierLockup::createWithTimestampsLLCall::abi_decode_returns(&r.output).unwrap());
    }
    if streams.len() > DIRECT {
        let batch = streams.iter().enumerate().skip(DIRECT).map(|(i, st)| st.batched(recipient(i))).collect();
        let call = SablierBatchLockup::createWithTimestampsLLCall { lockup: s.lockup, token, batch };
        let r = w.ok(TREASURY, s.batch, &call);
        ids.extend(SablierBatchLockup::createWithTimestampsLLCall::abi_decode_returns(&r.output).unwrap());
    }
    ids
}

#[test]
fn engine_sablier_mode_equals_sablier_lockup_linear_streams() {
    let mut rng = Rng::new(0x5ab1_1e12);
    let mut w = World::new();
    let s = deploy_sablier(&mut w);
    let streams: Vec<Stream> = (0..STREAMS).map(|_| stream(&mut rng)).collect();
    let mut ids = Vec::with_capacity(STREAMS);
    for (k, chunk) in streams.chunks(CHUNK).enumerate() {
        ids.extend(create_streams(&mut w, &s, chunk, u64::try_from(k * CHUNK).unwrap()));
    }
    let expected_ids: Vec<U256> = (1..=STREAMS).map(U256::from).collect();
    assert_eq!(ids, expected_ids, "Sablier numbers streams from 1");
    assert!(w.chain.head().timestamp < FIRST_START - 1, "every probe lies after the chain's head");

    let mut probed = 0usize;
    let mut streaming = 0usize;
    let mut mismatches = Vec::new();
    for (st, &stream_id) in streams.iter().zip(&ids) {
        let engine = st.engine();
        for t in probes(&mut rng, st) {
            let theirs = streamed(&mut w, s.lockup, stream_id, t);
            let ours = engine.vested(st.total, i64::try_from(t).unwrap());
            if theirs != ours {
                mismatches.push(format!("{st:?} at {t}: Sablier {theirs}, engine {ours}"));
            }
            let unlocked = st.start_unlock + st.cliff_unlock;
            if ours > unlocked && ours < st.total {
                streaming += 1;
            }
            probed += 1;
        }
    }
    assert!(mismatches.is_empty(), "{} of {probed} probes disagree:\n{}", mismatches.len(), mismatches.join("\n"));
    println!("{STREAMS} Sablier streams, {probed} instants, {streaming} mid-stream: engine and SablierLockup agree");
    // The generator covers what the comparison is about.
    let count = |f: &dyn Fn(&Stream) -> bool| streams.iter().filter(|st| f(st)).count();
    assert!(probed >= 6_000, "{probed} probes");
    assert!(streaming >= probed / 8, "only {streaming} of {probed} probes fell mid-stream");
    assert!(count(&|st| st.cliff.is_some()) >= STREAMS / 3);
    assert!(count(&|st| st.cliff.is_none()) >= STREAMS / 3);
    assert!(count(&|st| st.start_unlock > 0) >= STREAMS / 5);
    assert!(count(&|st| st.cliff_unlock > 0) >= STREAMS / 10);
    assert!(count(&|st| st.start_unlock + st.cliff_unlock == st.total) >= STREAMS / 20);
    assert!(count(&|st| st.granularity > 1) >= STREAMS / 10);
    assert!(count(&|st| st.total <= 3) >= STREAMS / 10);
    assert!(count(&|st| st.total >= u128::MAX - 2) >= STREAMS / 10);
    assert!(count(&|st| st.end - st.start == 1) >= STREAMS / 50);
    assert!(count(&|st| st.end - st.start >= 20 * YEAR) >= STREAMS / 10);
}

/// Shapes at the edge of what Sablier accepts (cliff on a boundary, an instant-long stream,
/// unlocks summing to just over the deposit, a cliff unlock without a cliff, a step as long as
/// the stream or longer): the engine refuses exactly those SablierLockup refuses.
#[test]
fn engine_sablier_mode_refuses_what_sablier_lockup_refuses() {
    let mut w = World::new();
    let s = deploy_sablier(&mut w);
    let token = w.token;
    let total = 100u128;
    w.ok(TREASURY, token, &TestToken::mintCall { to: TREASURY, amount: U256::from(total) });
    let start = FIRST_START;
    let (mut accepted, mut refused) = (0, 0);
    for duration in [0u64, 1, 2, 3, 100] {
        let end = start + duration;
        let cliffs = [None, Some(start - 1), Some(start), Some(start + 1), Some(end - 1), Some(end), Some(end + 1)];
        for cliff in cliffs {
            for (start_unlock, cliff_unlock) in [(0, 0), (100, 0), (101, 0), (0, 1), (50, 50), (50, 51), (0, 100)] {
                let range = end.saturating_sub(cliff.unwrap_or(start));
                let mut grains = vec![1, 2, range, range + 1];
                grains.sort_unstable();
                grains.dedup();
                for g in grains.into_iter().filter(|&g| g > 0) {
                    let st = Stream {
                        total,
                        start,
                        cliff,
                        end,
                        start_unlock,
                        cliff_unlock,
                        granularity: u32::try_from(g).unwrap(),
                    };
                    let i = |t: u64| i64::try_from(t).unwrap();
                    let model = LinearModel::Sablier { start_unlock, cliff_unlock };
                    let engine = Linear::new(i(start), cliff.map(i), i(end), st.granularity, model)
                        .and_then(|l| Schedule::Linear(l).check_total(total));
                    let sablier = w.chain.call(TREASURY, s.lockup, &st.direct(token, wallet(1)));
                    assert_eq!(engine.is_ok(), sablier.is_ok(), "{st:?}: engine {engine:?}, Sablier {sablier:?}");
                    if engine.is_ok() { accepted += 1 } else { refused += 1 }
                }
            }
        }
    }
    assert!(accepted >= 20 && refused >= 100, "accepted {accepted}, refused {refused}");
}

const GAS_BATCH: usize = 50;
const TRANCHES: u64 = 48;

fn n64(n: usize) -> u64 {
    u64::try_from(n).unwrap()
}

#[test]
fn vesting_manager_creates_linear_grants_for_less_gas_than_sablier_batch_streams() {
    let mut rng = Rng::new(0x6a5);
    let mut w = World::new();
    let s = deploy_sablier(&mut w);
    let token = w.token;
    let month = 86_400 * 30;
    // A 4-year grant with a 1-year cliff each, starting on different days, of 1,000 to 1,000,000
    // tokens (18 decimals) and some dust.
    let grants: Vec<(u128, u64, u64, u64)> = (0..GAS_BATCH)
        .map(|_| {
            let total = u128::from(rng.range(1_000, 1_000_000)) * 10u128.pow(18) + u128::from(rng.next());
            let start = FIRST_START + 86_400 * rng.range(0, 365);
            (total, start, start + YEAR, start + 4 * YEAR)
        })
        .collect();
    // Each measurement pays to people nobody has paid yet, so none reuses another's storage
    // (Sablier keeps an NFT balance per recipient).
    let recipient = |batch: u64, i: usize| wallet(batch * 1_000 + n64(i));

    let inputs = grants
        .iter()
        .enumerate()
        .map(|(i, &(total, start, cliff, end))| linear(id(n64(i) + 1), recipient(0, i), total, start, cliff, end))
        .collect();
    let ours_linear = w.create(inputs).gas_used;

    // The same grants as 48 monthly tranches (the cumulative amount rounded down), in two
    // transactions of 25 to stay well inside the block gas limit.
    let mut ours_tranched = 0;
    for (half, part) in grants.chunks(GAS_BATCH / 2).enumerate() {
        let inputs = part
            .iter()
            .enumerate()
            .map(|(i, &(total, start, _, _))| {
                let n = half * GAS_BATCH / 2 + i;
                let steps: Vec<(u64, u128)> = (1..=TRANCHES)
                    .map(|k| {
                        let cumulative = U256::from(total) * U256::from(k) / U256::from(TRANCHES);
                        (start + k * month, u128::try_from(cumulative).unwrap())
                    })
                    .collect();
                tranched(id(1_000 + n64(n)), recipient(1, n), &steps)
            })
            .collect();
        ours_tranched += w.create(inputs).gas_used;
    }

    // Sablier, twice: the same times and amounts with nothing unlocked at the cliff (its cheapest
    // linear stream with a cliff), and with the cliff unlocking what had accrued since the start
    // (what a VestingManager LINEAR grant pays at its cliff, as the engine computes it).
    let mut sablier_gas = Vec::new();
    for (k, cliff_unlocks) in [(2, false), (3, true)] {
        let batch: Vec<BatchLockup::CreateWithTimestampsLL> = grants
            .iter()
            .enumerate()
            .map(|(i, &(total, start, cliff, end))| {
                let i64_ = |t: u64| i64::try_from(t).unwrap();
                let accrued = Linear::new(i64_(start), Some(i64_(cliff)), i64_(end), 1, LinearModel::OpenZeppelin)
                    .unwrap()
                    .vested(total, i64_(cliff));
                let st = Stream {
                    total,
                    start,
                    cliff: Some(cliff),
                    end,
                    start_unlock: 0,
                    cliff_unlock: if cliff_unlocks { accrued } else { 0 },
                    granularity: 1,
                };
                st.batched(recipient(k, i))
            })
            .collect();
        let sum = grants.iter().fold(U256::ZERO, |acc, g| acc + U256::from(g.0));
        w.ok(TREASURY, token, &TestToken::mintCall { to: TREASURY, amount: sum });
        let call = SablierBatchLockup::createWithTimestampsLLCall { lockup: s.lockup, token, batch };
        let r = w.ok(TREASURY, s.batch, &call);
        let ids = SablierBatchLockup::createWithTimestampsLLCall::abi_decode_returns(&r.output).unwrap();
        assert_eq!(ids.len(), GAS_BATCH);
        sablier_gas.push(r.gas_used);
    }
    let per = |gas: u64| gas / n64(GAS_BATCH);
    // Exact: the snapshot changes only with the contracts; docs/chain.md's gas table quotes it.
    insta::assert_snapshot!(
        "gas_create_against_sablier",
        format!(
            "gas per grant, {GAS_BATCH} created in one call (receipt gas_used / {GAS_BATCH}):\n  VestingManager LINEAR with cliff         {:>7}\n  VestingManager TRANCHED, 48 steps        {:>7}  (two calls of 25)\n  SablierBatchLockup LockupLinear, cliff   {:>7}\n    same, with a cliff unlock amount       {:>7}\n",
            per(ours_linear),
            per(ours_tranched),
            per(sablier_gas[0]),
            per(sablier_gas[1])
        )
    );
    assert!(
        ours_linear < sablier_gas[0] && ours_linear < sablier_gas[1],
        "VestingManager LINEAR {ours_linear} gas for {GAS_BATCH} grants, Sablier {sablier_gas:?}"
    );
}
