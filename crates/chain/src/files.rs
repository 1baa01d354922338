//! What the chain part keeps in the data directory besides the embedded chain itself: files
//! written whole (to a temporary file, then renamed, so a reader never sees half of one), and
//! the cache of the manager's logs that `sync` extends and `reconcile` reads.

use std::path::Path;

use alloy_primitives::Address;
use serde_json::{Value, json};
use tokencomp_evm::{log_from_json, log_to_json};

use crate::backend::{Backend, ChainLog};
use crate::ops::{Deployment, OpsError};

/// Writes `text` to `path` through a temporary file beside it, creating the directory; owner-only
/// (the data directory's one rule for files, `tokencomp_store::private`).
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    tokencomp_store::private::write(path, text.as_bytes())
}

fn chain_log_json(l: &ChainLog) -> Value {
    json!({
        "tx_hash": l.tx_hash.to_string(),
        "block": l.block_number,
        "timestamp": l.timestamp,
        "index": l.log_index,
        "log": log_to_json(&l.log),
    })
}

fn chain_log_from_json(v: &Value) -> Option<ChainLog> {
    Some(ChainLog {
        tx_hash: v["tx_hash"].as_str()?.parse().ok()?,
        block_number: v["block"].as_u64()?,
        timestamp: v["timestamp"].as_u64()?,
        log_index: v["index"].as_u64()?,
        log: log_from_json(&v["log"])?,
    })
}

/// Reads the manager's logs after the last synced block into the cache at `path` (a cache of
/// another manager is started over); returns every cached log and how many are new.
pub fn sync(backend: &mut dyn Backend, d: &Deployment, path: &Path) -> Result<(Vec<ChainLog>, usize), OpsError> {
    let bad = |message: String| OpsError::Deployment { path: path.display().to_string(), message };
    let (mut logs, next) = match std::fs::read_to_string(path) {
        Ok(text) => {
            let v: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
            if v["manager"].as_str().and_then(|m| m.parse::<Address>().ok()) != Some(d.manager) {
                (Vec::new(), d.block)
            } else {
                let cached: Option<Vec<ChainLog>> =
                    v["logs"].as_array().and_then(|a| a.iter().map(chain_log_from_json).collect());
                let next = v["next_block"].as_u64();
                match (cached, next) {
                    (Some(l), Some(n)) => (l, n),
                    _ => return Err(bad("not a logs cache".to_owned())),
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Vec::new(), d.block),
        Err(e) => return Err(bad(e.to_string())),
    };
    let head = backend.head()?.number;
    let new = if next <= head { backend.logs(d.manager, next)? } else { Vec::new() };
    let count = new.len();
    logs.extend(new.into_iter().filter(|l| l.block_number <= head));
    let doc = json!({
        "manager": d.manager.to_string(),
        "next_block": head + 1,
        "logs": logs.iter().map(chain_log_json).collect::<Vec<_>>(),
    });
    let text = serde_json::to_string(&doc).map_err(|e| bad(e.to_string()))?;
    write_atomic(path, &text).map_err(|e| bad(e.to_string()))?;
    Ok((logs, count))
}
