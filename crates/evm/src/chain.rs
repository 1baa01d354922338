//! An embedded Ethereum chain on revm: in-memory accounts, one block per transaction (like a
//! development node's auto-mining), block numbers and timestamps the caller sets, receipts with
//! logs, and read-only calls.
//!
//! Time is never read from the machine: a block's timestamp is what the caller set with
//! [`Chain::set_next_timestamp`], else the previous block's plus one second.
//!
//! Two ways in: [`Chain::send`] and friends take the sender's word (tests, where a transaction
//! hash is the keccak-256 of the chain id, sender, nonce, recipient, value and input), and
//! [`Chain::apply`] runs a transaction someone signed, under its own hash, nonce and gas limit
//! (`tokencomp-chain` signs real EIP-1559 transactions and recovers their sender). Gas is free:
//! the base fee is zero, as on a development node started with a zero base fee.
//!
//! [`Chain::snapshot`] writes every account (balance, nonce, code, non-zero storage), the head
//! and every receipt as one JSON document, and [`Chain::restore`] reads it back, so separate runs
//! of the CLI continue the same chain.

use alloy_primitives::{Address, B256, Bytes, Log, LogData, TxKind, U256, hex, keccak256};
use alloy_sol_types::SolCall;
use revm::context::result::{ExecutionResult, Output};
use revm::context::{BlockEnv, CfgEnv, Context, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::handler::MainnetContext;
use revm::primitives::hardfork::SpecId;
use revm::state::{AccountInfo, Bytecode};
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
    #[error("transaction {tx_hash} from {from} has nonce {nonce}, the account's next is {expected}")]
    Nonce { tx_hash: B256, from: Address, nonce: u64, expected: u64 },
    #[error("the chain snapshot is unreadable: {0}")]
    Snapshot(String),
}

/// A transaction already signed elsewhere: its recovered sender, its fields and its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTx {
    pub hash: B256,
    pub from: Address,
    pub nonce: u64,
    pub gas_limit: u64,
    pub kind: TxKind,
    pub value: U256,
    pub input: Bytes,
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

    /// The code an account holds (empty for none).
    pub fn code(&self, address: Address) -> Bytes {
        let Some(info) = self.account(address) else { return Bytes::new() };
        let code = info.code.or_else(|| self.evm.ctx.journaled_state.database.code_by_hash_ref(info.code_hash).ok());
        code.map(|c| c.original_bytes()).unwrap_or_default()
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
        // As a node's eth_call: a call may come from a contract (a Safe simulating its own call),
        // which EIP-3607 forbids only for transactions; `apply` keeps the check.
        self.evm.ctx.cfg.disable_eip3607 = true;
        let result = self.evm.transact(tx);
        self.evm.ctx.cfg.disable_eip3607 = false;
        let result = result.map_err(|e| ChainError::Refused { from, reason: e.to_string() })?;
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

    /// Logs emitted by `address` in blocks `from..=to`, in order, each with its index among its
    /// transaction's logs (one transaction per block, so also its index in the block).
    pub fn logs(&self, address: Address, from: u64, to: u64) -> impl Iterator<Item = (&Receipt, u64, &Log)> {
        self.receipts.iter().filter(move |r| r.success && r.block.number >= from && r.block.number <= to).flat_map(
            move |r| {
                (0u64..).zip(r.logs.iter()).filter(move |(_, l)| l.address == address).map(move |(i, l)| (r, i, l))
            },
        )
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
        self.tx_env_with(from, kind, data, value, BLOCK_GAS_LIMIT)
    }

    fn tx_env_with(&self, from: Address, kind: TxKind, data: Bytes, value: U256, gas_limit: u64) -> TxEnv {
        TxEnv {
            caller: from,
            kind,
            data,
            value,
            nonce: self.nonce(from),
            gas_limit,
            gas_price: 0,
            chain_id: Some(self.chain_id),
            ..TxEnv::default()
        }
    }

    /// Mines a signed transaction in a new block, under its own hash and gas limit. Its nonce
    /// must be the sender's next, as a node requires.
    pub fn apply(&mut self, tx: SignedTx) -> Result<Receipt, ChainError> {
        let expected = self.nonce(tx.from);
        if tx.nonce != expected {
            return Err(ChainError::Nonce { tx_hash: tx.hash, from: tx.from, nonce: tx.nonce, expected });
        }
        self.mine(tx.from, tx.kind, tx.input, tx.value, tx.gas_limit, tx.hash)
    }

    fn transact_raw(&mut self, from: Address, kind: TxKind, data: Bytes, value: U256) -> Result<Receipt, ChainError> {
        let nonce = self.nonce(from);
        let tx_hash = tx_hash(self.chain_id, from, nonce, kind, value, &data);
        self.mine(from, kind, data, value, BLOCK_GAS_LIMIT, tx_hash)
    }

    fn mine(
        &mut self,
        from: Address,
        kind: TxKind,
        data: Bytes,
        value: U256,
        gas_limit: u64,
        tx_hash: B256,
    ) -> Result<Receipt, ChainError> {
        let block = self.pending();
        self.evm.set_block(block_env(block));
        let tx = self.tx_env_with(from, kind, data, value, gas_limit);
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

/// The snapshot's format name; a different one is refused rather than misread.
pub const SNAPSHOT_FORMAT: &str = "tokencomp-embedded-chain/1";

impl Chain {
    /// Every account, the head and every receipt, as JSON (accounts by address, storage by slot,
    /// so the same chain always gives the same text).
    pub fn snapshot(&self) -> serde_json::Value {
        use serde_json::json;
        let cache = &self.evm.ctx.journaled_state.database.cache;
        let mut accounts: Vec<(&Address, serde_json::Value)> = cache
            .accounts
            .iter()
            .map(|(address, account)| {
                let code = account
                    .info
                    .code
                    .clone()
                    .or_else(|| cache.contracts.get(&account.info.code_hash).cloned())
                    .map(|c| c.original_bytes())
                    .unwrap_or_default();
                let mut storage: Vec<(&U256, &U256)> = account.storage.iter().filter(|(_, v)| !v.is_zero()).collect();
                storage.sort();
                let storage: Vec<serde_json::Value> =
                    storage.into_iter().map(|(k, v)| json!([word(*k), word(*v)])).collect();
                let value = json!({
                    "balance": account.info.balance.to_string(),
                    "nonce": account.info.nonce,
                    "code": format!("0x{}", hex::encode(&code)),
                    "storage": storage,
                });
                (address, value)
            })
            .collect();
        accounts.sort_by_key(|(a, _)| **a);
        let accounts: serde_json::Map<String, serde_json::Value> =
            accounts.into_iter().map(|(a, v)| (a.to_string(), v)).collect();
        let receipts: Vec<serde_json::Value> = self.receipts.iter().map(receipt_json).collect();
        json!({
            "format": SNAPSHOT_FORMAT,
            "chain_id": self.chain_id,
            "head": {"number": self.head.number, "timestamp": self.head.timestamp},
            "accounts": accounts,
            "receipts": receipts,
        })
    }

    /// The chain a [`Chain::snapshot`] describes.
    pub fn restore(snapshot: &serde_json::Value) -> Result<Chain, ChainError> {
        let bad = |what: &str| ChainError::Snapshot(what.to_owned());
        if snapshot.get("format").and_then(|f| f.as_str()) != Some(SNAPSHOT_FORMAT) {
            return Err(bad(&format!("its format is not {SNAPSHOT_FORMAT}")));
        }
        let chain_id = snapshot.get("chain_id").and_then(|v| v.as_u64()).ok_or_else(|| bad("chain_id"))?;
        let head = snapshot.get("head").ok_or_else(|| bad("head"))?;
        let number = head.get("number").and_then(|v| v.as_u64()).ok_or_else(|| bad("head.number"))?;
        let timestamp = head.get("timestamp").and_then(|v| v.as_u64()).ok_or_else(|| bad("head.timestamp"))?;
        let mut chain = Chain::new(chain_id, timestamp);
        chain.head = BlockHeader { number, timestamp };
        let accounts = snapshot.get("accounts").and_then(|v| v.as_object()).ok_or_else(|| bad("accounts"))?;
        for (address, account) in accounts {
            let address: Address = address.parse().map_err(|_| bad(&format!("account address {address}")))?;
            let field = |name: &str| account.get(name).ok_or_else(|| bad(&format!("account {address}: {name}")));
            let balance: U256 = field("balance")?
                .as_str()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| bad(&format!("account {address}: balance")))?;
            let nonce = field("nonce")?.as_u64().ok_or_else(|| bad(&format!("account {address}: nonce")))?;
            let code = hex_bytes(field("code")?).ok_or_else(|| bad(&format!("account {address}: code")))?;
            let info = if code.is_empty() {
                AccountInfo { balance, nonce, ..AccountInfo::default() }
            } else {
                AccountInfo::new(balance, nonce, keccak256(&code), Bytecode::new_raw(code))
            };
            chain.db_mut().insert_account_info(address, info);
            let slots = field("storage")?.as_array().ok_or_else(|| bad(&format!("account {address}: storage")))?;
            for slot in slots {
                let pair = slot.as_array().filter(|p| p.len() == 2);
                let parsed = pair.and_then(|p| Some((hex_word(&p[0])?, hex_word(&p[1])?)));
                let (key, value) = parsed.ok_or_else(|| bad(&format!("account {address}: a storage slot")))?;
                chain
                    .db_mut()
                    .insert_account_storage(address, key, value)
                    .map_err(|e| bad(&format!("account {address}: {e}")))?;
            }
        }
        let receipts = snapshot.get("receipts").and_then(|v| v.as_array()).ok_or_else(|| bad("receipts"))?;
        for (i, r) in receipts.iter().enumerate() {
            chain.receipts.push(receipt_from_json(r).ok_or_else(|| bad(&format!("receipt {i}")))?);
        }
        Ok(chain)
    }
}

fn word(v: U256) -> String {
    format!("0x{}", hex::encode(v.to_be_bytes::<32>()))
}

fn hex_bytes(v: &serde_json::Value) -> Option<Bytes> {
    let s = v.as_str()?.strip_prefix("0x")?;
    hex::decode(s).ok().map(Bytes::from)
}

fn hex_word(v: &serde_json::Value) -> Option<U256> {
    let b = hex_bytes(v)?;
    (b.len() == 32).then(|| U256::from_be_slice(&b))
}

/// A log as JSON: its address, topics and data, hex.
pub fn log_to_json(l: &Log) -> serde_json::Value {
    serde_json::json!({
        "address": l.address.to_string(),
        "topics": l.topics().iter().map(|t| t.to_string()).collect::<Vec<_>>(),
        "data": format!("0x{}", hex::encode(&l.data.data)),
    })
}

/// The log [`log_to_json`] wrote.
pub fn log_from_json(v: &serde_json::Value) -> Option<Log> {
    let topics: Option<Vec<B256>> =
        v.get("topics")?.as_array()?.iter().map(|t| t.as_str().and_then(|s| s.parse().ok())).collect();
    let data = LogData::new(topics?, hex_bytes(v.get("data")?)?)?;
    Some(Log { address: v.get("address")?.as_str()?.parse().ok()?, data })
}

fn receipt_json(r: &Receipt) -> serde_json::Value {
    use serde_json::json;
    let logs: Vec<serde_json::Value> = r.logs.iter().map(log_to_json).collect();
    json!({
        "tx_hash": r.tx_hash.to_string(),
        "block": {"number": r.block.number, "timestamp": r.block.timestamp},
        "from": r.from.to_string(),
        "to": r.to.map(|a| a.to_string()),
        "contract_address": r.contract_address.map(|a| a.to_string()),
        "success": r.success,
        "gas_used": r.gas_used,
        "output": format!("0x{}", hex::encode(&r.output)),
        "logs": logs,
    })
}

fn receipt_from_json(v: &serde_json::Value) -> Option<Receipt> {
    let address = |v: &serde_json::Value| -> Option<Option<Address>> {
        if v.is_null() { Some(None) } else { v.as_str()?.parse().ok().map(Some) }
    };
    let block = v.get("block")?;
    let logs: Option<Vec<Log>> = v.get("logs")?.as_array()?.iter().map(log_from_json).collect();
    let logs = logs?;
    Some(Receipt {
        tx_hash: v.get("tx_hash")?.as_str()?.parse().ok()?,
        block: BlockHeader { number: block.get("number")?.as_u64()?, timestamp: block.get("timestamp")?.as_u64()? },
        from: v.get("from")?.as_str()?.parse().ok()?,
        to: address(v.get("to")?)?,
        contract_address: address(v.get("contract_address")?)?,
        success: v.get("success")?.as_bool()?,
        gas_used: v.get("gas_used")?.as_u64()?,
        output: hex_bytes(v.get("output")?)?,
        logs,
    })
}
