//! A deployed world (token, manager, roles) on a fresh embedded chain, and a seeded generator.
//! Shared with `crates/chain/tests/evm` (included there by path); each uses a part of it.
#![allow(dead_code)]

use alloy_primitives::{Address, B256, Bytes, U256, address};
use alloy_sol_types::{SolCall, SolConstructor};
use tokencomp_evm::{Chain, Receipt, TEST_TOKEN, TestToken, VESTING_MANAGER, VestingManager};

pub const DEPLOYER: Address = address!("00000000000000000000000000000000000000d0");
pub const ADMIN: Address = address!("00000000000000000000000000000000000000a0");
pub const OPERATOR: Address = address!("00000000000000000000000000000000000000b0");
pub const TREASURY: Address = address!("00000000000000000000000000000000000000c0");
pub const TAX: Address = address!("00000000000000000000000000000000000000e0");
pub const STRANGER: Address = address!("00000000000000000000000000000000000000f0");

/// 2020-01-01T00:00:00Z: the chain's genesis, before every generated schedule's start.
pub const GENESIS: u64 = 1_577_836_800;

pub struct World {
    pub chain: Chain,
    pub token: Address,
    pub manager: Address,
}

pub fn deploy(chain: &mut Chain, from: Address, bytecode: Bytes, args: Vec<u8>) -> Address {
    let r = chain.deploy(from, &bytecode, &args).unwrap();
    assert!(r.success, "deployment reverted: {:?}", r.output);
    r.contract_address.unwrap()
}

impl World {
    /// A TestToken (18 decimals) with the treasury holding `u128::MAX` base units and approving
    /// the manager for all of it, and a VestingManager with the roles above.
    pub fn new() -> World {
        let mut chain = Chain::new(31337, GENESIS);
        let token_args =
            TestToken::constructorCall { name_: "Network".into(), symbol_: "NET".into(), decimals_: 18 }.abi_encode();
        let token = deploy(&mut chain, DEPLOYER, TEST_TOKEN.bytecode().unwrap(), token_args);
        World::with_token(chain, token)
    }

    pub fn with_token(mut chain: Chain, token: Address) -> World {
        let args = VestingManager::constructorCall {
            token_: token,
            admin: ADMIN,
            operator: OPERATOR,
            treasury_: TREASURY,
            taxWallet_: TAX,
        }
        .abi_encode();
        let manager = deploy(&mut chain, DEPLOYER, VESTING_MANAGER.bytecode().unwrap(), args);
        let mut w = World { chain, token, manager };
        w.ok(TREASURY, token, &TestToken::mintCall { to: TREASURY, amount: U256::from(u128::MAX) });
        w.ok(TREASURY, token, &TestToken::approveCall { spender: manager, value: U256::MAX });
        w
    }

    /// Sends a call that must succeed.
    pub fn ok<C: SolCall>(&mut self, from: Address, to: Address, call: &C) -> Receipt {
        let r = self.chain.send(from, to, call).unwrap();
        assert!(r.success, "{} reverted with {}", C::SIGNATURE, r.output);
        r
    }

    /// Sends a call to the manager that must revert with the custom error `selector`.
    pub fn refused<C: SolCall>(&mut self, from: Address, call: &C, selector: [u8; 4]) {
        let manager = self.manager;
        let r = self.chain.send(from, manager, call).unwrap();
        assert_eq!(
            r.revert_selector(),
            Some(selector),
            "{} should revert with 0x{}, got success={} output={}",
            C::SIGNATURE,
            alloy_primitives::hex::encode(selector),
            r.success,
            r.output
        );
    }

    pub fn at(&mut self, timestamp: u64) {
        self.chain.set_next_timestamp(timestamp).unwrap();
    }

    pub fn create(&mut self, inputs: Vec<VestingManager::GrantInput>) -> Receipt {
        let manager = self.manager;
        self.ok(OPERATOR, manager, &VestingManager::createGrantsCall { inputs })
    }

    pub fn vested_at(&mut self, id: B256, t: u64) -> u128 {
        let manager = self.manager;
        self.chain.call(STRANGER, manager, &VestingManager::vestedAtCall { id, timestamp: t }).unwrap()
    }

    pub fn balance(&mut self, who: Address) -> U256 {
        let token = self.token;
        self.chain.call(STRANGER, token, &TestToken::balanceOfCall { account: who }).unwrap()
    }

    pub fn grant(&mut self, id: B256) -> VestingManager::Grant {
        let manager = self.manager;
        self.chain.call(STRANGER, manager, &VestingManager::grantOfCall { id }).unwrap()
    }
}

pub fn id(n: u64) -> B256 {
    B256::from(U256::from(n))
}

pub fn wallet(n: u64) -> Address {
    Address::from_word(B256::from(U256::from(0x1000_0000_u64 + n)))
}

pub fn tranched(id: B256, beneficiary: Address, tranches: &[(u64, u128)]) -> VestingManager::GrantInput {
    VestingManager::GrantInput {
        id,
        beneficiary,
        kind: 1,
        total: tranches.last().map_or(0, |t| t.1),
        start: 0,
        cliff: 0,
        end: 0,
        tranches: tranches.iter().map(|&(at, cumulative)| VestingManager::Tranche { at, cumulative }).collect(),
    }
}

pub fn linear(
    id: B256,
    beneficiary: Address,
    total: u128,
    start: u64,
    cliff: u64,
    end: u64,
) -> VestingManager::GrantInput {
    VestingManager::GrantInput { id, beneficiary, kind: 2, total, start, cliff, end, tranches: Vec::new() }
}

/// SplitMix64: a small seeded generator, so every run checks the same cases.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[usize::try_from(self.range(0, u64::try_from(items.len()).unwrap() - 1)).unwrap()]
    }
    /// An amount spread over magnitudes: 1 to about 10^30 base units.
    pub fn amount(&mut self) -> u128 {
        let digits = self.range(0, 30);
        let scale = 10u128.pow(u32::try_from(digits).unwrap());
        u128::from(self.next()).wrapping_mul(scale) % (scale * 10) + 1
    }
}

impl World {
    /// Sends a call to the manager that must revert with exactly `error`: its selector and every
    /// argument, as the contract encodes them.
    pub fn refused_with<C: SolCall, E: alloy_sol_types::SolError + std::fmt::Debug>(
        &mut self,
        from: Address,
        call: &C,
        error: &E,
    ) {
        let manager = self.manager;
        let r = self.chain.send(from, manager, call).unwrap();
        assert!(!r.success, "{} from {from} should revert with {error:?}, but succeeded", C::SIGNATURE);
        assert_eq!(
            r.output,
            Bytes::from(error.abi_encode()),
            "{} from {from} should revert with {error:?}",
            C::SIGNATURE
        );
    }
}
