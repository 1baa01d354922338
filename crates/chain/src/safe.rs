//! A Safe (1.4.1) as the manager's admin: the batch file of admin calls the CLI writes for the
//! Safe Transaction Builder, and executing such calls through `Safe.execTransaction` with owners'
//! keys — the EIP-712 `SafeTx` hash, its signatures packed in the order the Safe checks them.
//! For a development chain (and the tests) it also deploys the Safe contracts and a Safe.
//!
//! It never decides what an admin call is: the calls come from `ops` (through the batch file),
//! and the Safe itself refuses what its owners have not signed.

use std::path::Path;

use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy_sol_types::{Eip712Domain, SolCall, SolStruct};
use tokencomp_evm::vendor::{COMPATIBILITY_FALLBACK_HANDLER, SAFE, SAFE_PROXY_FACTORY, Safe, SafeProxyFactory};

use crate::backend::Mined;
use crate::keys::{Key, KeyError};
use crate::ops::{AdminCall, OpsError, Session, decode_revert};

alloy_sol_types::sol! {
    /// The transaction a Safe's owners sign, field for field as Safe 1.4.1 hashes it
    /// (`SAFE_TX_TYPEHASH`).
    #[derive(Debug, PartialEq, Eq)]
    struct SafeTx {
        address to;
        uint256 value;
        bytes data;
        uint8 operation;
        uint256 safeTxGas;
        uint256 baseGas;
        uint256 gasPrice;
        address gasToken;
        address refundReceiver;
        uint256 nonce;
    }
}

impl SafeTx {
    /// A plain call (no delegatecall) that pays no refund, so any account may submit it.
    pub fn call(to: Address, value: U256, data: Bytes, nonce: U256) -> SafeTx {
        SafeTx {
            to,
            value,
            data,
            operation: 0,
            safeTxGas: U256::ZERO,
            baseGas: U256::ZERO,
            gasPrice: U256::ZERO,
            gasToken: Address::ZERO,
            refundReceiver: Address::ZERO,
            nonce,
        }
    }

    /// The hash the owners sign: EIP-712 over the Safe's domain, which (from 1.3.0 on) holds
    /// only the chain id and the Safe's address — no name, no version.
    pub fn hash(&self, chain_id: u64, safe: Address) -> B256 {
        let domain = Eip712Domain::new(None, None, Some(U256::from(chain_id)), Some(safe), None);
        self.eip712_signing_hash(&domain)
    }
}

/// The owners' signatures of `hash` as `execTransaction` takes them: 65 bytes each (`r ‖ s ‖ v`,
/// v 27/28), sorted by owner address ascending, since the Safe walks them requiring each signer
/// to be above the previous one. A key given twice signs once.
pub fn signatures(hash: &B256, owners: &[&Key]) -> Result<Bytes, KeyError> {
    let mut keys: Vec<&Key> = owners.to_vec();
    keys.sort_by_key(|k| k.address());
    keys.dedup_by_key(|k| k.address());
    let mut out = Vec::with_capacity(65 * keys.len());
    for k in keys {
        out.extend_from_slice(&k.sign_digest(hash)?);
    }
    Ok(Bytes::from(out))
}

/// A Safe's revert string (`GS…`) with what it means, for the codes an executor meets.
pub fn explain(reason: &str) -> String {
    let meaning = match reason {
        "GS013" => "the Safe's call failed",
        "GS020" => "fewer signatures than the Safe's threshold",
        "GS025" => "a signature is not an owner's",
        "GS026" => "a signer is not an owner, or the signatures are not sorted by owner",
        _ => return reason.to_owned(),
    };
    format!("{reason} ({meaning})")
}

/// Executes `call` from `safe`, signed by `owners` and submitted by the session's key (any
/// account may submit; it pays the gas). The call is simulated from the Safe first, so a call
/// the target refuses is reported with the target's own error; the hash computed here is checked
/// against the Safe's `getTransactionHash` before anyone signs it.
pub fn exec(s: &mut Session<'_>, safe: Address, call: &AdminCall, owners: &[&Key]) -> Result<Mined, OpsError> {
    let reverted = |function: &str, data: &[u8]| OpsError::Reverted {
        function: function.to_owned(),
        error: explain(&decode_revert(data)),
    };
    if s.backend.code(safe)?.is_empty() {
        return Err(OpsError::Refused(format!("the Safe {safe} has no code on {}", s.backend.describe())));
    }
    let nonce = s.read(safe, &Safe::nonceCall {})?.map_err(|r| reverted("nonce", &r))?;
    let tx = SafeTx::call(call.to, U256::ZERO, call.data.clone(), nonce);
    let hash = tx.hash(s.backend.chain_id()?, safe);
    let theirs = s
        .read(
            safe,
            &Safe::getTransactionHashCall {
                to: tx.to,
                value: tx.value,
                data: tx.data.clone(),
                operation: tx.operation,
                safeTxGas: tx.safeTxGas,
                baseGas: tx.baseGas,
                gasPrice: tx.gasPrice,
                gasToken: tx.gasToken,
                refundReceiver: tx.refundReceiver,
                _nonce: tx.nonce,
            },
        )?
        .map_err(|r| reverted("getTransactionHash", &r))?;
    if theirs != hash {
        return Err(OpsError::Refused(format!(
            "the Safe {safe} hashes its transactions as {theirs}, not {hash}: it is not a Safe 1.3/1.4"
        )));
    }
    if let Err(r) = s.backend.call(safe, call.to, call.data.clone())? {
        return Err(reverted(&call.description, &r));
    }
    let signatures = signatures(&hash, owners)?;
    let exec = Safe::execTransactionCall {
        to: tx.to,
        value: tx.value,
        data: tx.data,
        operation: tx.operation,
        safeTxGas: tx.safeTxGas,
        baseGas: tx.baseGas,
        gasPrice: tx.gasPrice,
        gasToken: tx.gasToken,
        refundReceiver: tx.refundReceiver,
        signatures,
    };
    let what = format!("Safe {safe} nonce {nonce}: {}", call.description);
    s.call(what.clone(), safe, &exec).map_err(|e| match e {
        OpsError::Reverted { function, error } => OpsError::Reverted { function, error: explain(&error) },
        other => other,
    })
}

/// The Safe Transaction Builder's batch file: what the Safe web app imports, one call per action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub chain_id: u64,
    pub safe: Address,
    pub calls: Vec<AdminCall>,
}

impl Batch {
    pub fn to_json(&self) -> serde_json::Value {
        let txs: Vec<serde_json::Value> = self
            .calls
            .iter()
            .map(|c| {
                serde_json::json!({"to": c.to.to_string(), "value": "0",
                    "data": format!("0x{}", alloy_primitives::hex::encode(&c.data)),
                    "contractMethod": null, "contractInputsValues": null})
            })
            .collect();
        let description: Vec<&str> = self.calls.iter().map(|c| c.description.as_str()).collect();
        serde_json::json!({
            "version": "1.0",
            "chainId": self.chain_id.to_string(),
            "createdAt": 0,
            "meta": {"name": "tokencomp admin actions", "description": description.join("; "),
                     "createdFromSafeAddress": self.safe.to_string()},
            "transactions": txs,
        })
    }

    /// Reads a batch file; only calls that send no ether are taken (the manager's admin calls
    /// never do).
    pub fn from_json(v: &serde_json::Value) -> Result<Batch, String> {
        let chain_id = v["chainId"].as_str().and_then(|c| c.parse::<u64>().ok()).ok_or("no chainId")?;
        let safe = v["meta"]["createdFromSafeAddress"]
            .as_str()
            .and_then(|a| a.parse::<Address>().ok())
            .ok_or("no meta.createdFromSafeAddress")?;
        let descriptions: Vec<&str> = v["meta"]["description"].as_str().unwrap_or("").split("; ").collect();
        let txs = v["transactions"].as_array().ok_or("no transactions")?;
        let mut calls = Vec::with_capacity(txs.len());
        for (i, t) in txs.iter().enumerate() {
            let to = t["to"].as_str().and_then(|a| a.parse::<Address>().ok()).ok_or(format!("transactions[{i}].to"))?;
            if t["value"].as_str() != Some("0") {
                return Err(format!("transactions[{i}].value: only calls that send no ether are executed"));
            }
            let data =
                t["data"].as_str().and_then(|d| d.parse::<Bytes>().ok()).ok_or(format!("transactions[{i}].data"))?;
            let description = descriptions
                .get(i)
                .filter(|_| descriptions.len() == txs.len())
                .map_or_else(|| format!("transaction {i}"), |d| (*d).to_owned());
            calls.push(AdminCall { to, data, description });
        }
        Ok(Batch { chain_id, safe, calls })
    }
}

/// Where the Safe contracts live on a development chain (`chain/<network>.safe.json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SafeContracts {
    pub singleton: Address,
    pub factory: Address,
    pub fallback_handler: Address,
}

impl SafeContracts {
    /// The record in `path`, if there is one.
    pub fn load(path: &Path) -> Result<Option<SafeContracts>, OpsError> {
        let bad = |message: String| OpsError::Deployment { path: path.display().to_string(), message };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
                let a = |k: &str| v.get(k).and_then(|x| x.as_str()).and_then(|x| x.parse::<Address>().ok());
                match (a("singleton"), a("factory"), a("fallback_handler")) {
                    (Some(singleton), Some(factory), Some(fallback_handler)) => {
                        Ok(Some(SafeContracts { singleton, factory, fallback_handler }))
                    }
                    _ => Err(bad("not a Safe contracts record".to_owned())),
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(bad(e.to_string())),
        }
    }

    fn save(self, path: &Path) -> Result<(), OpsError> {
        let v = serde_json::json!({
            "singleton": self.singleton.to_string(),
            "factory": self.factory.to_string(),
            "fallback_handler": self.fallback_handler.to_string(),
        });
        crate::files::write_atomic(path, &format!("{v:#}\n"))
            .map_err(|e| OpsError::Deployment { path: path.display().to_string(), message: e.to_string() })
    }

    /// Deploys the Safe singleton, its proxy factory and the fallback handler once (the vendored
    /// 1.4.1 bytecode); later calls find the record.
    pub fn deploy(s: &mut Session<'_>, record: &Path) -> Result<SafeContracts, OpsError> {
        if let Some(c) = SafeContracts::load(record)? {
            if s.backend.code(c.factory)?.is_empty() {
                return Err(OpsError::Deployment {
                    path: record.display().to_string(),
                    message: format!(
                        "records a Safe factory at {} but it has no code (was the chain reset?)",
                        c.factory
                    ),
                });
            }
            return Ok(c);
        }
        let mut create = |what: &str, code: Bytes| -> Result<Address, OpsError> {
            s.send(format!("deploy {what}"), TxKind::Create, code)?
                .contract_address
                .ok_or_else(|| OpsError::Refused(format!("the {what} deployment made no contract")))
        };
        let code = |a: &tokencomp_evm::Artifact| a.bytecode().map_err(|e| OpsError::Refused(e.to_string()));
        let singleton = create("Safe 1.4.1", code(&SAFE)?)?;
        let factory = create("SafeProxyFactory 1.4.1", code(&SAFE_PROXY_FACTORY)?)?;
        let fallback_handler = create("CompatibilityFallbackHandler 1.4.1", code(&COMPATIBILITY_FALLBACK_HANDLER)?)?;
        let c = SafeContracts { singleton, factory, fallback_handler };
        c.save(record)?;
        Ok(c)
    }

    /// The Safe with these owners and threshold (and salt nonce): created through the factory
    /// unless it already exists at its CREATE2 address. Returns its address.
    pub fn create_safe(
        &self,
        s: &mut Session<'_>,
        owners: &[Address],
        threshold: u64,
        salt_nonce: U256,
    ) -> Result<Address, OpsError> {
        let setup = Safe::setupCall {
            _owners: owners.to_vec(),
            _threshold: U256::from(threshold),
            to: Address::ZERO,
            data: Bytes::new(),
            fallbackHandler: self.fallback_handler,
            paymentToken: Address::ZERO,
            payment: U256::ZERO,
            paymentReceiver: Address::ZERO,
        };
        let initializer = Bytes::from(setup.abi_encode());
        // The factory's CREATE2: salt = keccak(keccak(initializer) ‖ saltNonce), init code =
        // the proxy's creation code ‖ the singleton as a 32-byte word.
        let creation = s
            .read(self.factory, &SafeProxyFactory::proxyCreationCodeCall {})?
            .map_err(|r| OpsError::Reverted { function: "proxyCreationCode".into(), error: decode_revert(&r) })?;
        let salt = keccak256([keccak256(&initializer).as_slice(), &salt_nonce.to_be_bytes::<32>()].concat());
        let init_code = [creation.as_ref(), B256::left_padding_from(self.singleton.as_slice()).as_slice()].concat();
        let address = self.factory.create2(salt, keccak256(&init_code));
        if !s.backend.code(address)?.is_empty() {
            return Ok(address);
        }
        s.call(
            format!("create a {threshold}-of-{} Safe at {address}", owners.len()),
            self.factory,
            &SafeProxyFactory::createProxyWithNonceCall {
                _singleton: self.singleton,
                initializer,
                saltNonce: salt_nonce,
            },
        )?;
        if s.backend.code(address)?.is_empty() {
            return Err(OpsError::Refused(format!("the factory made no Safe at {address}")));
        }
        Ok(address)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn key(n: u8) -> Key {
        Key::from_hex(&keccak256([n]).to_string(), "test").unwrap()
    }

    #[test]
    fn the_safe_tx_type_is_the_one_safe_hashes() {
        // Safe 1.4.1's SAFE_TX_TYPEHASH constant (Safe.sol), and its domain's type.
        assert_eq!(
            SafeTx::call(Address::ZERO, U256::ZERO, Bytes::new(), U256::ZERO).eip712_type_hash(),
            "0xbb8310d486368db6bd6f849402fdd73ad53d316b5a4b2644ad6efe0f941286d8".parse::<B256>().unwrap()
        );
        let domain = Eip712Domain::new(None, None, Some(U256::from(1u64)), Some(Address::ZERO), None);
        assert_eq!(domain.encode_type(), "EIP712Domain(uint256 chainId,address verifyingContract)");
    }

    #[test]
    fn signatures_are_sorted_by_owner_and_recover_to_them() {
        let keys = [key(1), key(2), key(3)];
        let hash = keccak256(b"a safe transaction");
        let packed = signatures(&hash, &[&keys[2], &keys[0], &keys[1], &keys[0]]).unwrap();
        assert_eq!(packed.len(), 3 * 65);
        let mut want: Vec<Address> = keys.iter().map(Key::address).collect();
        want.sort();
        let got: Vec<Address> = packed
            .chunks(65)
            .map(|c| {
                assert!(c[64] == 27 || c[64] == 28, "v = {}", c[64]);
                let sig = alloy_primitives::Signature::from_bytes_and_parity(&c[..64], c[64] == 28);
                sig.recover_address_from_prehash(&hash).unwrap()
            })
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_batch_file_reads_back() {
        let batch = Batch {
            chain_id: 31337,
            safe: Address::repeat_byte(0x5a),
            calls: vec![
                AdminCall { to: Address::repeat_byte(1), data: Bytes::from(vec![1, 2, 3]), description: "one".into() },
                AdminCall { to: Address::repeat_byte(2), data: Bytes::from(vec![4]), description: "two".into() },
            ],
        };
        assert_eq!(Batch::from_json(&batch.to_json()).unwrap(), batch);
        let mut v = batch.to_json();
        v["transactions"][1]["value"] = "1".into();
        assert!(Batch::from_json(&v).unwrap_err().contains("transactions[1].value"));
    }
}
