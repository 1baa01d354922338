//! tokencomp on a chain. The same code drives two backends — the embedded revm chain kept in
//! the data directory (the default) and any Ethereum JSON-RPC node — through [`Backend`]:
//! signed EIP-1559 transactions from a key file or environment variable ([`keys`]), the
//! deployment ([`ops`]), pushing grants, withholding and releases, and reconciliation of the
//! contract's logs against the ledger ([`reconcile`]).
//!
//! Amounts never come from here: what a grant vests comes from the engine (through the plans the
//! CLI builds from the ledger), and what was released comes from the contract's logs.

pub mod anchor;
pub mod attest;
pub mod backend;
pub mod embedded;
pub mod files;
pub mod keys;
pub mod ops;
pub mod reconcile;
pub mod rpc;
pub mod safe;
pub mod siwe;
pub mod twap;

pub use backend::{Backend, BackendError, ChainLog, Head, Mined};
pub use embedded::Embedded;
pub use keys::{KEY_ENV, Key, KeyError, Signed, TxFields};
pub use rpc::Rpc;
