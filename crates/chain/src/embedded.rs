//! The embedded chain (revm) kept in one JSON file in the data directory: loaded when a command
//! starts, written (to a temporary file, then renamed) when it has sent its transactions, so an
//! interrupted command leaves the chain as it was before it and can simply be run again.

use std::path::{Path, PathBuf};

use alloy_primitives::{Address, Bytes};
use tokencomp_evm::{BLOCK_GAS_LIMIT, Chain, ChainError};

use crate::backend::{Backend, BackendError, ChainLog, Head, Mined};
use crate::files::write_atomic;
use crate::keys::Signed;

pub struct Embedded {
    chain: Chain,
    path: PathBuf,
    dirty: bool,
}

impl Embedded {
    /// The chain in `path`, or a new one whose genesis has `genesis_timestamp`.
    pub fn open(path: &Path, chain_id: u64, genesis_timestamp: u64) -> Result<Embedded, BackendError> {
        let state = |message: String| BackendError::State { path: path.display().to_string(), message };
        let chain = match std::fs::read_to_string(path) {
            Ok(text) => {
                let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| state(e.to_string()))?;
                let chain = Chain::restore(&value).map_err(|e| state(e.to_string()))?;
                if chain.chain_id() != chain_id {
                    return Err(state(format!(
                        "the embedded chain has chain id {}, the company's token says {chain_id}",
                        chain.chain_id()
                    )));
                }
                chain
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Chain::new(chain_id, genesis_timestamp),
            Err(e) => return Err(state(e.to_string())),
        };
        Ok(Embedded { chain, path: path.to_owned(), dirty: false })
    }

    pub fn chain(&self) -> &Chain {
        &self.chain
    }
}

impl Backend for Embedded {
    fn describe(&self) -> String {
        format!("embedded chain ({})", self.path.display())
    }

    fn network(&mut self) -> Result<String, BackendError> {
        Ok("embedded".to_owned())
    }

    fn chain_id(&mut self) -> Result<u64, BackendError> {
        Ok(self.chain.chain_id())
    }

    fn head(&mut self) -> Result<Head, BackendError> {
        let h = self.chain.head();
        Ok(Head { number: h.number, timestamp: h.timestamp, gas_limit: BLOCK_GAS_LIMIT, base_fee: 0 })
    }

    fn nonce(&mut self, address: Address) -> Result<u64, BackendError> {
        Ok(self.chain.nonce(address))
    }

    fn code(&mut self, address: Address) -> Result<Bytes, BackendError> {
        Ok(self.chain.code(address))
    }

    fn call(&mut self, from: Address, to: Address, data: Bytes) -> Result<Result<Bytes, Bytes>, BackendError> {
        match self.chain.call_raw(from, to, data) {
            Ok(out) => Ok(Ok(out)),
            Err(ChainError::Reverted { data }) => Ok(Err(data)),
            Err(e) => Err(e.into()),
        }
    }

    fn submit(&mut self, signed: &Signed) -> Result<Mined, BackendError> {
        let r = self.chain.apply(signed.tx.clone())?;
        self.dirty = true;
        Ok(Mined {
            tx_hash: r.tx_hash,
            block_number: r.block.number,
            timestamp: r.block.timestamp,
            success: r.success,
            gas_used: r.gas_used,
            contract_address: r.contract_address,
        })
    }

    fn set_next_timestamp(&mut self, timestamp: u64) -> Result<(), BackendError> {
        Ok(self.chain.set_next_timestamp(timestamp)?)
    }

    fn logs(&mut self, address: Address, from: u64) -> Result<Vec<ChainLog>, BackendError> {
        let head = self.chain.head().number;
        Ok(self
            .chain
            .logs(address, from, head)
            .map(|(r, log_index, log)| ChainLog {
                tx_hash: r.tx_hash,
                block_number: r.block.number,
                timestamp: r.block.timestamp,
                log_index,
                log: log.clone(),
            })
            .collect())
    }

    fn flush(&mut self) -> Result<(), BackendError> {
        if !self.dirty {
            return Ok(());
        }
        let state = |message: String| BackendError::State { path: self.path.display().to_string(), message };
        let text = serde_json::to_string(&self.chain.snapshot()).map_err(|e| state(e.to_string()))?;
        write_atomic(&self.path, &text).map_err(|e| state(e.to_string()))?;
        self.dirty = false;
        Ok(())
    }
}
