//! An embedded Ethereum chain on revm: in-memory accounts, one block per transaction (like a
//! development node's auto-mining), block numbers and timestamps the caller sets, receipts with
//! logs, and read-only calls.
//!
//! Time is never read from the machine: a block's timestamp is what the caller set with
//! [`Chain::set_next_timestamp`], else the previous block's plus one second.
//!
//! Transactions are unsigned (the caller names the sender), so a transaction hash here is the
//! keccak-256 of the chain id, sender, nonce, recipient, value and input: unique per sender and
//! nonce, and stable across runs. Keeping the chain in the data directory is a later stage: all
//! state is in [`Chain`]'s fields (the accounts in revm's `CacheDB`, the blocks and receipts in
//! plain vectors), so it can be written out and read back as one snapshot.

use alloy_primitives::{Address, B256, Bytes, Log, TxKind, U256, keccak256};
use alloy_sol_types::SolCall;
use revm::context::result::{ExecutionResult, Output};
use revm::context::{BlockEnv, CfgEnv, Context, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::handler::MainnetContext;
use revm::primitives::hardfork::SpecId;
use revm::state::AccountInfo;
use revm::{DatabaseRef, ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainnetEvm};

/// Gas limit of every block, and of a transaction unless given: mainnet's order of magnitude.
pub const BLOCK_GAS_LIMIT: u64 = 60_000_000;

/// The chain's hard fork: the contracts are compiled for Cancun (`contracts/build.mjs`).
pub const SPEC: SpecId = SpecId::CANCUN;

type Db = CacheDB<EmptyDB>;
type Evm = MainnetEvm<MainnetContext<Db>>;

/// A mined block's number and timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockHeader {
    pub number: u64,
    pub timestamp: u64,
}

/// What one transaction did, as a node's receipt reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub tx_hash: B256,
    pub block: BlockHeader,
    pub from: Address,
    /// `None` for a deployment.
    pub to: Option<Address>,
    pub contract_address: Option<Address>,
    pub success: bool,
    pub gas_used: u64,
    /// Return data, or the revert data when `success` is false.
    pub output: Bytes,
    pub logs: Vec<Log>,
}

impl Receipt {
    /// The 4-byte selector of the custom error a reverted transaction returned.
    pub fn revert_selector(&self) -> Option<[u8; 4]> {
        if self.success {
            return None;
        }
        self.output.get(..4).and_then(|s| <[u8; 4]>::try_from(s).ok())
    }
}

/// Why the chain could not run a transaction or call at all (a revert is not one of these:
/// it is a receipt with `success == false`, mined like any other).
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("block timestamp {requested} is before the latest block's {latest}")]
    TimeWentBack { requested: u64, latest: u64 },
    #[error("the EVM refused the transaction from {from}: {reason}")]
    Refused { from: Address, reason: String },
    #[error("the call halted: {reason}")]
    Halted { reason: String },
    #[error("the call reverted with 0x{}", alloy_primitives::hex::encode(data))]
    Reverted { data: Bytes },
    #[error("could not decode the return data of {function}: {reason}")]
    Decode { function: &'static str, reason: String },
}

/// The embedded chain.
pub struct Chain {
    evm: Evm,
    chain_id: u64,
    head: BlockHeader,
    next_timestamp: Option<u64>,
    receipts: Vec<Receipt>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain").field("chain_id", &self.chain_id).field("head", &self.head).finish_non_exhaustive()
    }
}

impl Chain {
    /// A new chain whose genesis block (number 0) has `genesis_timestamp`.
    pub fn new(chain_id: u64, genesis_timestamp: u64) -> Chain {
        let cfg = CfgEnv::new_with_spec(SPEC).with_chain_id(chain_id);
        let ctx = Context::new(CacheDB::new(EmptyDB::new()), SPEC).with_cfg(cfg);
        let evm = ctx.build_mainnet();
        Chain {
            evm,
            chain_id,
            head: BlockHeader { number: 0, timestamp: genesis_timestamp },
            next_timestamp: None,
            receipts: Vec::new(),
        }
    }

    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The latest mined block.
    pub fn head(&self) -> BlockHeader {
        self.head
    }

    /// Every receipt, in the order mined.
    pub fn receipts(&self) -> &[Receipt] {
        &self.receipts
    }

    /// Sets an account's ether balance (gas is free here: the base fee is zero).
    pub fn set_balance(&mut self, address: Address, wei: U256) {
        let db = self.db_mut();
        let mut info = db.basic_ref(address).ok().flatten().unwrap_or_default();
        info.balance = wei;
        db.insert_account_info(address, info);
    }

    /// An account's nonce (0 for an unknown account).
    pub fn nonce(&self, address: Address) -> u64 {
        self.account(address).map_or(0, |a| a.nonce)
    }

    /// An account's ether balance.
    pub fn balance(&self, address: Address) -> U256 {
        self.account(address).map_or(U256::ZERO, |a| a.balance)
    }

    /// The timestamp of the next block. It may equal the latest block's, never precede it.
    pub fn set_next_timestamp(&mut self, timestamp: u64) -> Result<(), ChainError> {
        if timestamp < self.head.timestamp {
            return Err(ChainError::TimeWentBack { requested: timestamp, latest: self.head.timestamp });
        }
        self.next_timestamp = Some(timestamp);
        Ok(())
    }

    /// Deploys `bytecode ‖ constructor_args` from `from` in a new block.
    pub fn deploy(&mut self, from: Address, bytecode: &[u8], constructor_args: &[u8]) -> Result<Receipt, ChainError> {
        let mut code = Vec::with_capacity(bytecode.len() + constructor_args.len());
        code.extend_from_slice(bytecode);
        code.extend_from_slice(constructor_args);
        self.transact_raw(from, TxKind::Create, Bytes::from(code), U256::ZERO)
    }

    /// Sends `data` from `from` to `to` in a new block.
    pub fn transact(&mut self, from: Address, to: Address, data: Bytes) -> Result<Receipt, ChainError> {
        self.transact_raw(from, TxKind::Call(to), data, U256::ZERO)
    }

    /// Sends an ABI-encoded call in a new block.
    pub fn send<C: SolCall>(&mut self, from: Address, to: Address, call: &C) -> Result<Receipt, ChainError> {
        self.transact(from, to, Bytes::from(call.abi_encode()))
    }

    /// Runs `data` against the latest state in the pending block (the next number and timestamp)
    /// without mining or keeping anything; returns the output, or the revert as an error.
    pub fn call_raw(&mut self, from: Address, to: Address, data: Bytes) -> Result<Bytes, ChainError> {
        let block = self.pending();
        self.evm.set_block(block_env(block));
        let tx = self.tx_env(from, TxKind::Call(to), data, U256::ZERO);
        let result = self.evm.transact(tx).map_err(|e| ChainError::Refused { from, reason: e.to_string() })?;
        match result.result {
            ExecutionResult::Success { output, .. } => Ok(output.into_data()),
            ExecutionResult::Revert { output, .. } => Err(ChainError::Reverted { data: output }),
            ExecutionResult::Halt { reason, .. } => Err(ChainError::Halted { reason: format!("{reason:?}") }),
        }
    }

    /// A typed read-only call.
    pub fn call<C: SolCall>(&mut self, from: Address, to: Address, call: &C) -> Result<C::Return, ChainError> {
        let out = self.call_raw(from, to, Bytes::from(call.abi_encode()))?;
        C::abi_decode_returns(&out).map_err(|e| ChainError::Decode { function: C::SIGNATURE, reason: e.to_string() })
    }

    /// Logs emitted by `address` in blocks `from..=to`, in order.
    pub fn logs(&self, address: Address, from: u64, to: u64) -> impl Iterator<Item = (&Receipt, &Log)> {
        self.receipts
            .iter()
            .filter(move |r| r.success && r.block.number >= from && r.block.number <= to)
            .flat_map(move |r| r.logs.iter().filter(move |l| l.address == address).map(move |l| (r, l)))
    }

    fn account(&self, address: Address) -> Option<AccountInfo> {
        self.evm.ctx.journaled_state.database.basic_ref(address).ok().flatten()
    }

    fn db_mut(&mut self) -> &mut Db {
        &mut self.evm.ctx.journaled_state.database
    }

    fn pending(&self) -> BlockHeader {
        BlockHeader {
            number: self.head.number.saturating_add(1),
            timestamp: self.next_timestamp.unwrap_or(self.head.timestamp.saturating_add(1)),
        }
    }

    fn tx_env(&self, from: Address, kind: TxKind, data: Bytes, value: U256) -> TxEnv {
        TxEnv {
            caller: from,
            kind,
            data,
            value,
            nonce: self.nonce(from),
            gas_limit: BLOCK_GAS_LIMIT,
            gas_price: 0,
            chain_id: Some(self.chain_id),
            ..TxEnv::default()
        }
    }

    fn transact_raw(&mut self, from: Address, kind: TxKind, data: Bytes, value: U256) -> Result<Receipt, ChainError> {
        let block = self.pending();
        let nonce = self.nonce(from);
        let tx_hash = tx_hash(self.chain_id, from, nonce, kind, value, &data);
        self.evm.set_block(block_env(block));
        let tx = self.tx_env(from, kind, data, value);
        let result = self.evm.transact_commit(tx).map_err(|e| ChainError::Refused { from, reason: e.to_string() })?;
        let (success, gas_used, output, logs, contract_address) = match result {
            ExecutionResult::Success { gas, logs, output, .. } => {
                let created = match &output {
                    Output::Create(_, address) => *address,
                    Output::Call(_) => None,
                };
                (true, gas.tx_gas_used(), output.into_data(), logs, created)
            }
            ExecutionResult::Revert { gas, output, logs } => (false, gas.tx_gas_used(), output, logs, None),
            ExecutionResult::Halt { gas, logs, .. } => (false, gas.tx_gas_used(), Bytes::new(), logs, None),
        };
        let to = match kind {
            TxKind::Call(to) => Some(to),
            TxKind::Create => None,
        };
        let receipt = Receipt { tx_hash, block, from, to, contract_address, success, gas_used, output, logs };
        self.head = block;
        self.next_timestamp = None;
        self.receipts.push(receipt.clone());
        Ok(receipt)
    }
}

fn block_env(block: BlockHeader) -> BlockEnv {
    BlockEnv {
        number: U256::from(block.number),
        timestamp: U256::from(block.timestamp),
        gas_limit: BLOCK_GAS_LIMIT,
        basefee: 0,
        ..BlockEnv::default()
    }
}

fn tx_hash(chain_id: u64, from: Address, nonce: u64, kind: TxKind, value: U256, data: &[u8]) -> B256 {
    let mut buf = Vec::with_capacity(8 + 20 + 8 + 21 + 32 + data.len());
    buf.extend_from_slice(&chain_id.to_be_bytes());
    buf.extend_from_slice(from.as_slice());
    buf.extend_from_slice(&nonce.to_be_bytes());
    match kind {
        TxKind::Call(to) => {
            buf.push(1);
            buf.extend_from_slice(to.as_slice());
        }
        TxKind::Create => buf.push(0),
    }
    buf.extend_from_slice(&value.to_be_bytes::<32>());
    buf.extend_from_slice(data);
    keccak256(&buf)
}
