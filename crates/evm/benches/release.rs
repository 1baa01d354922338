//! Releases per second in revm: `VestingManager.release` on tranched grants, each release
//! crossing one tranche, beside OpenZeppelin's `VestingWalletCliff.release(token)` measured in the
//! same run on the same embedded chain (`tokencomp_evm::Chain`, one block per transaction).
//!
//! Like for like, as the gas test in `tests/it/manager.rs`: both pay the same TestToken with one
//! `transfer` to a beneficiary of their own, starting from a zero balance, and each release pays
//! the same amount. Ours: 100 grants of 48 monthly (30-day) tranches, released once a month each
//! (no withholding, never paused). Theirs: 100 wallets vesting the same totals linearly over the
//! same 48 months without a cliff, released on the same days. A pass is the 4,800 releases in
//! month order; each timed pass starts from a freshly prepared chain (deployments, grants and
//! funding are not timed). The best pass of each side (alternating in-process runs, then
//! criterion's samples) gives its rate; `ours/theirs` is their ratio, and the target is 0.5x.
//! Every release must succeed, and the checked first run also requires every beneficiary to hold
//! exactly its total afterwards.
//!
//! `cargo bench -p tokencomp-evm --bench release -- --test` (and `cargo test --benches`) runs 5
//! grants of 6 tranches through the same code: rates printed, nothing written. A full run
//! writes `target/bench-results/release.json`.

// The benchmarks' shared harness lives with the core benches.
#[path = "../../core/benches/support/mod.rs"]
mod support;

use std::cell::RefCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256, Bytes, U256, address};
use alloy_sol_types::{SolCall, SolConstructor};
use criterion::{Criterion, SamplingMode, Throughput};
use support::{Mode, OPTIMIZED, filter_from_args, selects, thousands, write_results};
use tokencomp_evm::{
    Chain, REFERENCE_VESTING_WALLET_CLIFF, ReferenceVestingWalletCliff as Vwc, TEST_TOKEN, TestToken, VESTING_MANAGER,
    VestingManager as VM,
};

const FULL_GRANTS: u64 = 100;
const FULL_MONTHS: u64 = 48;
const TEST_GRANTS: u64 = 5;
const TEST_MONTHS: u64 = 6;
/// Grants per createGrants transaction, well inside the block gas limit.
const GRANTS_PER_BATCH: usize = 20;
/// Alternating timed runs of each side before criterion's; the best of all counts.
const FULL_REPS: usize = 3;
/// The target ratio, in thousandths (0.5x). Rates and ratios are integers: no floats.
const TARGET_PERMILLE: u128 = 500;

const DAY: u64 = 86_400;
const MONTH: u64 = 30 * DAY;
/// 2020-01-01T00:00:00Z, and the schedules' start ten days later.
const GENESIS: u64 = 1_577_836_800;
const T0: u64 = GENESIS + 10 * DAY;
/// Each tranche, and each month of a wallet: 1,000 tokens of 18 decimals.
const MONTHLY: u128 = 1_000 * 10u128.pow(18);

const DEPLOYER: Address = address!("00000000000000000000000000000000000000d0");
const ADMIN: Address = address!("00000000000000000000000000000000000000a0");
const OPERATOR: Address = address!("00000000000000000000000000000000000000b0");
const TREASURY: Address = address!("00000000000000000000000000000000000000c0");
const TAX: Address = address!("00000000000000000000000000000000000000e0");

const NAMES: [&str; 2] = ["release/vesting-manager", "release/vesting-wallet-cliff"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Manager,
    Wallet,
}

/// A chain ready for a pass: who sends which release, in each month.
struct Prepared {
    chain: Chain,
    token: Address,
    /// (sender, contract, calldata) of each grant's monthly release.
    releases: Vec<(Address, Address, Bytes)>,
    beneficiaries: Vec<Address>,
}

fn beneficiary(side: Side, k: u64) -> Address {
    let base: u64 = if side == Side::Manager { 0x1000_0000 } else { 0x2000_0000 };
    Address::from_word(B256::from(U256::from(base + k)))
}

fn deploy(chain: &mut Chain, bytecode: &Bytes, args: Vec<u8>) -> Address {
    let r = chain.deploy(DEPLOYER, bytecode, &args).expect("the chain runs the deployment");
    assert!(r.success, "deployment reverted: {}", r.output);
    r.contract_address.expect("a deployment creates a contract")
}

fn send<C: SolCall>(chain: &mut Chain, from: Address, to: Address, call: &C) {
    let r = chain.send(from, to, call).expect("the chain runs the call");
    assert!(r.success, "{} reverted: {}", C::SIGNATURE, r.output);
}

fn prepare(side: Side, grants: u64, months: u64) -> Prepared {
    let mut chain = Chain::new(31337, GENESIS);
    let token_args =
        TestToken::constructorCall { name_: "Network".into(), symbol_: "NET".into(), decimals_: 18 }.abi_encode();
    let token = deploy(&mut chain, &TEST_TOKEN.bytecode().expect("artifact"), token_args);
    let total = MONTHLY * u128::from(months);
    let beneficiaries: Vec<Address> = (0..grants).map(|k| beneficiary(side, k)).collect();
    let releases = match side {
        Side::Manager => {
            let args = VM::constructorCall {
                token_: token,
                admin: ADMIN,
                operator: OPERATOR,
                treasury_: TREASURY,
                taxWallet_: TAX,
            }
            .abi_encode();
            let manager = deploy(&mut chain, &VESTING_MANAGER.bytecode().expect("artifact"), args);
            let mint = TestToken::mintCall { to: TREASURY, amount: U256::from(total) * U256::from(grants) };
            send(&mut chain, TREASURY, token, &mint);
            send(&mut chain, TREASURY, token, &TestToken::approveCall { spender: manager, value: U256::MAX });
            let tranches: Vec<VM::Tranche> =
                (1..=months).map(|k| VM::Tranche { at: T0 + k * MONTH, cumulative: MONTHLY * u128::from(k) }).collect();
            let inputs: Vec<VM::GrantInput> = beneficiaries
                .iter()
                .zip(0u64..)
                .map(|(&b, k)| VM::GrantInput {
                    id: B256::from(U256::from(k + 1)),
                    beneficiary: b,
                    kind: 1,
                    total,
                    start: 0,
                    cliff: 0,
                    end: 0,
                    tranches: tranches.clone(),
                })
                .collect();
            for batch in inputs.chunks(GRANTS_PER_BATCH) {
                send(&mut chain, OPERATOR, manager, &VM::createGrantsCall { inputs: batch.to_vec() });
            }
            inputs
                .iter()
                .map(|g| (g.beneficiary, manager, Bytes::from(VM::releaseCall { id: g.id }.abi_encode())))
                .collect()
        }
        Side::Wallet => {
            let code = REFERENCE_VESTING_WALLET_CLIFF.bytecode().expect("artifact");
            let data = Bytes::from(Vwc::release_0Call { token }.abi_encode());
            beneficiaries
                .iter()
                .map(|&b| {
                    let args = Vwc::constructorCall {
                        beneficiary: b,
                        startTimestamp: T0,
                        durationSeconds: months * MONTH,
                        cliffSeconds: 0,
                    }
                    .abi_encode();
                    let wallet = deploy(&mut chain, &code, args);
                    send(&mut chain, DEPLOYER, token, &TestToken::mintCall { to: wallet, amount: U256::from(total) });
                    (b, wallet, data.clone())
                })
                .collect()
        }
    };
    Prepared { chain, token, releases, beneficiaries }
}

/// The timed part: every grant's release, month by month. Returns the gas used.
fn release_all(p: &mut Prepared, months: u64) -> u64 {
    let mut gas = 0;
    for month in 1..=months {
        for (from, to, data) in &p.releases {
            p.chain.set_next_timestamp(T0 + month * MONTH).expect("time moves forward");
            let r = p.chain.transact(*from, *to, data.clone()).expect("the chain runs the release");
            assert!(r.success, "a release reverted: {}", r.output);
            gas += r.gas_used;
        }
    }
    gas
}

/// Every timed pass of one side; the best counts.
#[derive(Default)]
struct Samples(RefCell<Vec<Duration>>);

impl Samples {
    fn record(&self, d: Duration) -> Duration {
        self.0.borrow_mut().push(d);
        d
    }
    fn best(&self) -> Duration {
        self.0.borrow().iter().copied().min().unwrap_or(Duration::MAX)
    }
    fn runs(&self) -> usize {
        self.0.borrow().len()
    }
}

fn per_second(n: u64, d: Duration) -> u128 {
    (u128::from(n) * 1_000_000_000).checked_div(d.as_nanos()).unwrap_or(0)
}

/// A ratio in thousandths as `0.81`.
fn permille(p: u128) -> String {
    format!("{}.{:02}", p / 1000, (p % 1000) / 10)
}

/// How long criterion measures a side whose pass takes `run`: a few passes per sample.
fn measurement_time(run: Duration) -> Duration {
    (run * 13).max(Duration::from_secs(2))
}

struct Measured {
    grants: u64,
    months: u64,
    ours: Duration,
    theirs: Duration,
    runs: (usize, usize),
    /// Gas per release, from the checked run.
    gas: (u64, u64),
}

impl Measured {
    fn releases(&self) -> u64 {
        self.grants * self.months
    }
    /// Their time over ours, in thousandths: our rate over theirs.
    fn ratio(&self) -> u128 {
        (self.theirs.as_nanos() * 1000).checked_div(self.ours.as_nanos()).unwrap_or(0)
    }
}

/// One untimed pass per side, checked: every beneficiary holds exactly its total.
fn checked_run(side: Side, grants: u64, months: u64) -> u64 {
    let mut p = prepare(side, grants, months);
    let gas = release_all(&mut p, months);
    let total = U256::from(MONTHLY * u128::from(months));
    for &b in &p.beneficiaries {
        let held = p.chain.call(b, p.token, &TestToken::balanceOfCall { account: b }).expect("balanceOf");
        assert_eq!(held, total, "a beneficiary was paid otherwise than its total");
    }
    gas / (grants * months)
}

fn run(c: &mut Criterion, mode: Mode) -> Measured {
    let (grants, months) = if mode == Mode::Full { (FULL_GRANTS, FULL_MONTHS) } else { (TEST_GRANTS, TEST_MONTHS) };
    let gas = (checked_run(Side::Manager, grants, months), checked_run(Side::Wallet, grants, months));
    let (ours, theirs) = (Samples::default(), Samples::default());
    let pass = |side: Side, samples: &Samples| {
        let mut p = prepare(side, grants, months);
        let t = Instant::now();
        black_box(release_all(&mut p, months));
        samples.record(t.elapsed())
    };
    // Alternating runs first, so both sides see the same state of the machine; they also size
    // criterion's window.
    for _ in 0..if mode == Mode::Full { FULL_REPS } else { 1 } {
        pass(Side::Manager, &ours);
        pass(Side::Wallet, &theirs);
    }

    let mut group = c.benchmark_group("release");
    group.throughput(Throughput::Elements(grants * months));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    if mode == Mode::Full {
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(measurement_time(ours.best()));
    }
    group.bench_function("vesting-manager", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| pass(Side::Manager, &ours)).sum())
    });
    if mode == Mode::Full {
        group.measurement_time(measurement_time(theirs.best()));
    }
    group.bench_function("vesting-wallet-cliff", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| pass(Side::Wallet, &theirs)).sum())
    });
    group.finish();
    Measured { grants, months, ours: ours.best(), theirs: theirs.best(), runs: (ours.runs(), theirs.runs()), gas }
}

fn report(r: &Measured) {
    let verdict = if !OPTIMIZED {
        "(unoptimized build, not comparable)"
    } else if r.ratio() >= TARGET_PERMILLE {
        "ok"
    } else {
        "BELOW TARGET"
    };
    println!(
        "ratio release: VestingManager {} releases/s, VestingWalletCliff {} releases/s, ours/theirs = {} (target >= {}x) {verdict}",
        thousands(usize::try_from(per_second(r.releases(), r.ours)).unwrap_or(usize::MAX)),
        thousands(usize::try_from(per_second(r.releases(), r.theirs)).unwrap_or(usize::MAX)),
        permille(r.ratio()),
        permille(TARGET_PERMILLE),
    );
    println!(
        "  {} grants x {} monthly releases = {} releases per pass, one tranche crossed each; gas per release: VestingManager {}, VestingWalletCliff {}; best of {} and {} passes",
        r.grants,
        r.months,
        thousands(usize::try_from(r.releases()).unwrap_or(usize::MAX)),
        thousands(usize::try_from(r.gas.0).unwrap_or(usize::MAX)),
        thousands(usize::try_from(r.gas.1).unwrap_or(usize::MAX)),
        r.runs.0,
        r.runs.1,
    );
}

fn write_json(r: &Measured) -> std::io::Result<std::path::PathBuf> {
    let rate = |d| u64::try_from(per_second(r.releases(), d)).unwrap_or(u64::MAX);
    let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    let doc = serde_json::json!({
        "bench": "release",
        "grants": r.grants,
        "tranches_per_grant": r.months,
        "releases_per_pass": r.releases(),
        "peer": "OpenZeppelin VestingWalletCliff.release(token), same totals, linear over the same months",
        "ours_ns": nanos(r.ours),
        "peer_ns": nanos(r.theirs),
        "ours_releases_per_second": rate(r.ours),
        "peer_releases_per_second": rate(r.theirs),
        "ours_over_peer_permille": u64::try_from(r.ratio()).unwrap_or(u64::MAX),
        "target_permille": u64::try_from(TARGET_PERMILLE).unwrap_or(u64::MAX),
        "gas_per_release": {"ours": r.gas.0, "peer": r.gas.1},
        "timed_passes": {"ours": r.runs.0, "peer": r.runs.1},
    });
    write_results("release", &doc)
}

fn main() {
    let mode = Mode::from_args();
    let mut c = Criterion::default().configure_from_args();
    if mode == Mode::List {
        // Criterion lists what is registered without running it.
        for name in NAMES {
            c.bench_function(name, |b| b.iter(|| ()));
        }
        return;
    }
    if !selects(filter_from_args().as_deref(), NAMES.map(str::to_owned)) {
        println!("release: filtered out");
        return;
    }
    let result = run(&mut c, mode);
    c.final_summary();

    println!();
    if mode == Mode::Test {
        println!("release (test mode: small data set)");
    }
    report(&result);
    if mode == Mode::Full {
        match write_json(&result) {
            Ok(path) => println!("results written to {}", path.display()),
            Err(e) => eprintln!("could not write bench results: {e}"),
        }
    } else {
        println!("test mode: results not written (a full `cargo bench` writes target/bench-results/release.json)");
    }
}
