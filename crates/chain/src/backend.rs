//! One interface to a chain, with two implementations: the embedded chain kept in the data
//! directory ([`crate::embedded::Embedded`]) and any Ethereum JSON-RPC node
//! ([`crate::rpc::Rpc`]). Everything above it (deployment, pushing grants, releases,
//! reconciliation) is written once against this trait, so both backends read and write the
//! same way.

use alloy_primitives::{Address, B256, Bytes, Log};

use crate::keys::Signed;

/// A mined transaction, as its receipt says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mined {
    pub tx_hash: B256,
    pub block_number: u64,
    pub timestamp: u64,
    pub success: bool,
    pub gas_used: u64,
    pub contract_address: Option<Address>,
}

/// A log with where it was emitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainLog {
    pub tx_hash: B256,
    pub block_number: u64,
    pub timestamp: u64,
    /// Position in the block's logs: with the block number, the log's order on the chain.
    pub log_index: u64,
    pub log: Log,
}

/// The latest block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    pub number: u64,
    pub timestamp: u64,
    pub gas_limit: u64,
    /// Wei per gas; zero on the embedded chain.
    pub base_fee: u128,
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("{0}")]
    Embedded(#[from] tokencomp_evm::ChainError),
    #[error("the node at {url}: {message}")]
    Rpc { url: String, message: String },
    #[error("{path}: {message}")]
    State { path: String, message: String },
    #[error("transaction {tx_hash} was not mined within {seconds} s")]
    NotMined { tx_hash: B256, seconds: u64 },
    #[error("the node at {url} cannot set block times (it is not a development node): {message}")]
    NoTimeTravel { url: String, message: String },
}

pub trait Backend {
    /// "embedded (DIR/chain/embedded.json)" or the node's URL.
    fn describe(&self) -> String;
    /// A short name for files kept per backend: `embedded` or `rpc-<chain id>`.
    fn network(&mut self) -> Result<String, BackendError>;
    fn chain_id(&mut self) -> Result<u64, BackendError>;
    fn head(&mut self) -> Result<Head, BackendError>;
    fn nonce(&mut self, address: Address) -> Result<u64, BackendError>;
    fn code(&mut self, address: Address) -> Result<Bytes, BackendError>;
    /// Runs a call against the latest state; `Ok(Err(data))` is a revert with its data.
    fn call(&mut self, from: Address, to: Address, data: Bytes) -> Result<Result<Bytes, Bytes>, BackendError>;
    /// Sends a signed transaction and waits for its receipt.
    fn submit(&mut self, signed: &Signed) -> Result<Mined, BackendError>;
    /// The timestamp of the next block (the embedded chain; development nodes).
    fn set_next_timestamp(&mut self, timestamp: u64) -> Result<(), BackendError>;
    /// Logs of `address` from block `from` to the head, in chain order.
    fn logs(&mut self, address: Address, from: u64) -> Result<Vec<ChainLog>, BackendError>;
    /// Makes what was sent durable (the embedded chain writes its file; a node needs nothing).
    fn flush(&mut self) -> Result<(), BackendError>;
}
