//! The ledger's head on a chain: the `LedgerAnchor` contract (`contracts/src/LedgerAnchor.sol`)
//! keeps the latest (hash, event count) its writer recorded, refusing a head that goes back or
//! rewrites one already anchored. One contract per company and network, deployed by the first
//! `chain anchor` and recorded in `chain/<network>.anchor.json`.
//!
//! The head itself comes from the caller (the ledger's last event); nothing here reads the ledger.

use std::path::Path;

use alloy_primitives::{Address, B256, Bytes, TxKind};
use alloy_sol_types::SolCall;
use tokencomp_evm::{LEDGER_ANCHOR, LedgerAnchor};

use crate::backend::{Backend, Mined};
use crate::ops::{OpsError, Session};

/// Where a company's anchor contract lives on one network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnchorContract {
    pub address: Address,
    /// The account that deployed it, the only one that may anchor.
    pub writer: Address,
    pub tx_hash: B256,
    pub block: u64,
}

/// A head as the contract holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Anchored {
    pub hash: B256,
    pub events: u64,
    /// Block time of the anchoring transaction (0 before the first).
    pub at: u64,
}

impl AnchorContract {
    /// The record in `path`, if there is one.
    pub fn load(path: &Path) -> Result<Option<AnchorContract>, OpsError> {
        let bad = |message: String| OpsError::Deployment { path: path.display().to_string(), message };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
                let s = |k: &str| v.get(k).and_then(serde_json::Value::as_str);
                let record = (|| {
                    Some(AnchorContract {
                        address: s("contract")?.parse().ok()?,
                        writer: s("writer")?.parse().ok()?,
                        tx_hash: s("tx_hash")?.parse().ok()?,
                        block: v.get("block")?.as_u64()?,
                    })
                })();
                record.map(Some).ok_or_else(|| bad("not an anchor contract record".to_owned()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(bad(e.to_string())),
        }
    }

    fn save(&self, path: &Path) -> Result<(), OpsError> {
        let v = serde_json::json!({
            "contract": self.address.to_string(),
            "writer": self.writer.to_string(),
            "tx_hash": self.tx_hash.to_string(),
            "block": self.block,
        });
        crate::files::write_atomic(path, &format!("{v:#}\n"))
            .map_err(|e| OpsError::Deployment { path: path.display().to_string(), message: e.to_string() })
    }

    /// The recorded contract, after checking it has code (a reset chain has none).
    pub fn existing(backend: &mut dyn Backend, path: &Path) -> Result<Option<AnchorContract>, OpsError> {
        let Some(c) = AnchorContract::load(path)? else { return Ok(None) };
        if backend.code(c.address)?.is_empty() {
            return Err(OpsError::Deployment {
                path: path.display().to_string(),
                message: format!(
                    "records an anchor contract at {} but {} has no code there (was the chain reset?)",
                    c.address,
                    backend.describe()
                ),
            });
        }
        Ok(Some(c))
    }

    /// The recorded contract, or a new one deployed by the session's key and recorded.
    pub fn deploy(s: &mut Session<'_>, path: &Path) -> Result<AnchorContract, OpsError> {
        if let Some(c) = AnchorContract::existing(s.backend, path)? {
            return Ok(c);
        }
        let code = LEDGER_ANCHOR.bytecode().map_err(|e| OpsError::Refused(e.to_string()))?;
        let mined = s.send("deploy LedgerAnchor".to_owned(), TxKind::Create, code)?;
        let address =
            mined.contract_address.ok_or_else(|| OpsError::Refused("the deployment made no contract".into()))?;
        let c = AnchorContract { address, writer: s.key.address(), tx_hash: mined.tx_hash, block: mined.block_number };
        c.save(path)?;
        Ok(c)
    }

    /// The latest head the contract holds.
    pub fn latest(&self, backend: &mut dyn Backend) -> Result<Anchored, OpsError> {
        let data = Bytes::from(LedgerAnchor::latestCall {}.abi_encode());
        let out = backend.call(Address::ZERO, self.address, data)?.map_err(|revert| OpsError::Reverted {
            function: "LedgerAnchor.latest".into(),
            error: crate::ops::decode_revert(&revert),
        })?;
        let r = LedgerAnchor::latestCall::abi_decode_returns(&out)
            .map_err(|e| OpsError::Decode { function: "latest()", message: e.to_string() })?;
        Ok(Anchored { hash: r._0, events: r._1, at: r._2 })
    }

    /// Anchors `hash` after `events` events; `None` when the contract holds that head already. A
    /// head behind or beside the latest one is refused here, naming both, before anything is
    /// sent (the contract would refuse it too).
    pub fn anchor(&self, s: &mut Session<'_>, hash: B256, events: u64) -> Result<Option<Mined>, OpsError> {
        if self.writer != s.key.address() {
            return Err(OpsError::Refused(format!(
                "the anchor contract {} takes heads from {} only, not this key's {}",
                self.address,
                self.writer,
                s.key.address()
            )));
        }
        let latest = self.latest(s.backend)?;
        if latest.events == events && latest.hash == hash {
            return Ok(None);
        }
        if events < latest.events {
            return Err(OpsError::Refused(format!(
                "the chain already holds a later head (event {}, hash {}) than this ledger's {events}: \
                 the ledger lost events since it was anchored",
                latest.events, latest.hash
            )));
        }
        if events == latest.events && latest.events != 0 {
            return Err(OpsError::Refused(format!(
                "the chain holds hash {} for event {events}, this ledger {hash}: its history was rewritten",
                latest.hash
            )));
        }
        let call = LedgerAnchor::anchorCall { newHead: hash, newEvents: events };
        s.call(format!("anchor the ledger's head at event {events}"), self.address, &call).map(Some)
    }
}
