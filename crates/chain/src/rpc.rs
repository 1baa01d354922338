//! Any Ethereum JSON-RPC node, through an alloy provider over HTTP. The CLI stays synchronous: a
//! small single-threaded tokio runtime drives each request to completion.

use std::collections::BTreeMap;
use std::time::Duration;

use alloy_primitives::{Address, Bytes};
use alloy_provider::{Provider, ProviderBuilder, RootProvider};
use alloy_rpc_types_eth::{BlockId, BlockNumberOrTag, Filter, TransactionInput, TransactionRequest};

use crate::backend::{Backend, BackendError, ChainLog, Head, Mined};
use crate::keys::Signed;

/// How long `submit` waits for a receipt, polling every `POLL`.
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(20);
/// Blocks per `eth_getLogs` request: nodes cap a query's range.
const LOG_RANGE: u64 = 5_000;

pub struct Rpc {
    url: String,
    runtime: tokio::runtime::Runtime,
    provider: RootProvider,
    chain_id: Option<u64>,
    /// Block number → timestamp, for logs from nodes that do not say it.
    timestamps: BTreeMap<u64, u64>,
}

impl Rpc {
    pub fn connect(url: &str) -> Result<Rpc, BackendError> {
        let err = |message: String| BackendError::Rpc { url: url.to_owned(), message };
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| err(e.to_string()))?;
        let provider = runtime
            .block_on(ProviderBuilder::new().disable_recommended_fillers().connect(url))
            .map_err(|e| err(e.to_string()))?;
        Ok(Rpc { url: url.to_owned(), runtime, provider, chain_id: None, timestamps: BTreeMap::new() })
    }

    fn err(&self, e: impl std::fmt::Display) -> BackendError {
        BackendError::Rpc { url: self.url.clone(), message: e.to_string() }
    }

    fn block_timestamp(&mut self, number: u64) -> Result<u64, BackendError> {
        if let Some(t) = self.timestamps.get(&number) {
            return Ok(*t);
        }
        let block = self
            .runtime
            .block_on(async { self.provider.get_block_by_number(BlockNumberOrTag::Number(number)).await })
            .map_err(|e| self.err(e))?
            .ok_or_else(|| self.err(format!("block {number} not found")))?;
        self.timestamps.insert(number, block.header.timestamp);
        Ok(block.header.timestamp)
    }
}

impl Backend for Rpc {
    fn describe(&self) -> String {
        format!("JSON-RPC node {}", self.url)
    }

    fn network(&mut self) -> Result<String, BackendError> {
        Ok(format!("rpc-{}", self.chain_id()?))
    }

    fn chain_id(&mut self) -> Result<u64, BackendError> {
        if let Some(id) = self.chain_id {
            return Ok(id);
        }
        let id = self.runtime.block_on(async { self.provider.get_chain_id().await }).map_err(|e| self.err(e))?;
        self.chain_id = Some(id);
        Ok(id)
    }

    fn head(&mut self) -> Result<Head, BackendError> {
        let block = self
            .runtime
            .block_on(async { self.provider.get_block_by_number(BlockNumberOrTag::Latest).await })
            .map_err(|e| self.err(e))?
            .ok_or_else(|| self.err("no latest block"))?;
        Ok(Head {
            number: block.header.number,
            timestamp: block.header.timestamp,
            gas_limit: block.header.gas_limit,
            base_fee: block.header.base_fee_per_gas.map_or(0, u128::from),
        })
    }

    fn nonce(&mut self, address: Address) -> Result<u64, BackendError> {
        self.runtime
            .block_on(async { self.provider.get_transaction_count(address).pending().await })
            .map_err(|e| self.err(e))
    }

    fn code(&mut self, address: Address) -> Result<Bytes, BackendError> {
        self.runtime.block_on(async { self.provider.get_code_at(address).await }).map_err(|e| self.err(e))
    }

    fn call(&mut self, from: Address, to: Address, data: Bytes) -> Result<Result<Bytes, Bytes>, BackendError> {
        let tx = TransactionRequest::default().from(from).to(to).input(TransactionInput::new(data));
        // The pending block: the time `evm_setNextBlockTimestamp` fixed, as the next transaction sees.
        match self.runtime.block_on(async { self.provider.call(tx).block(BlockId::pending()).await }) {
            Ok(out) => Ok(Ok(out)),
            Err(e) => match e.as_error_resp().and_then(|p| p.as_revert_data()) {
                Some(data) => Ok(Err(data)),
                None => Err(self.err(e)),
            },
        }
    }

    fn submit(&mut self, signed: &Signed) -> Result<Mined, BackendError> {
        let pending = self
            .runtime
            .block_on(async { self.provider.send_raw_transaction(&signed.raw).await })
            .map_err(|e| self.err(e))?;
        let hash = *pending.tx_hash();
        let started = std::time::Instant::now();
        let receipt = loop {
            let r = self
                .runtime
                .block_on(async { self.provider.get_transaction_receipt(hash).await })
                .map_err(|e| self.err(e))?;
            if let Some(r) = r {
                break r;
            }
            if started.elapsed() > RECEIPT_TIMEOUT {
                return Err(BackendError::NotMined { tx_hash: hash, seconds: RECEIPT_TIMEOUT.as_secs() });
            }
            std::thread::sleep(POLL);
        };
        let block_number = receipt.block_number.ok_or_else(|| self.err(format!("receipt of {hash} has no block")))?;
        let timestamp = self.block_timestamp(block_number)?;
        Ok(Mined {
            tx_hash: hash,
            block_number,
            timestamp,
            success: receipt.status(),
            gas_used: receipt.gas_used,
            contract_address: receipt.contract_address,
        })
    }

    fn set_next_timestamp(&mut self, timestamp: u64) -> Result<(), BackendError> {
        let r: Result<serde_json::Value, _> = self
            .runtime
            .block_on(async { self.provider.raw_request("evm_setNextBlockTimestamp".into(), (timestamp,)).await });
        r.map(|_| ()).map_err(|e| BackendError::NoTimeTravel { url: self.url.clone(), message: e.to_string() })
    }

    fn logs(&mut self, address: Address, from: u64) -> Result<Vec<ChainLog>, BackendError> {
        let head = self.head()?.number;
        let mut out = Vec::new();
        let mut lo = from;
        while lo <= head {
            let hi = head.min(lo.saturating_add(LOG_RANGE - 1));
            let filter = Filter::new().address(address).from_block(lo).to_block(hi);
            let logs =
                self.runtime.block_on(async { self.provider.get_logs(&filter).await }).map_err(|e| self.err(e))?;
            for l in logs {
                let missing = |what: &str| self.err(format!("a log without {what}"));
                let block_number = l.block_number.ok_or_else(|| missing("a block number"))?;
                let tx_hash = l.transaction_hash.ok_or_else(|| missing("a transaction hash"))?;
                let log_index = l.log_index.ok_or_else(|| missing("an index"))?;
                let timestamp = match l.block_timestamp {
                    Some(t) => t,
                    None => self.block_timestamp(block_number)?,
                };
                out.push(ChainLog { tx_hash, block_number, timestamp, log_index, log: l.inner });
            }
            lo = hi + 1;
        }
        out.sort_by_key(|l| (l.block_number, l.log_index));
        Ok(out)
    }

    fn flush(&mut self) -> Result<(), BackendError> {
        Ok(())
    }
}
