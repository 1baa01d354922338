//! The signer key: a secp256k1 private key, from a key file in the data directory or from an
//! environment variable, that signs EIP-1559 transactions for either backend.

use std::path::{Path, PathBuf};

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_network::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use tokencomp_evm::SignedTx;

/// The environment variable that holds a signer key (hex), used before any key file.
pub const KEY_ENV: &str = "TOKENCOMP_CHAIN_KEY";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{source_name}: not a private key (64 hex digits, optionally 0x-prefixed)")]
    Malformed { source_name: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("signing failed: {0}")]
    Sign(String),
}

/// A private key and the address it controls.
#[derive(Clone)]
pub struct Key {
    signer: PrivateKeySigner,
}

impl std::fmt::Debug for Key {
    // Never print the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("address", &self.address()).finish_non_exhaustive()
    }
}

/// A signed transaction: the bytes a node accepts (`eth_sendRawTransaction`) and what the
/// embedded chain runs.
#[derive(Clone, Debug)]
pub struct Signed {
    pub raw: Bytes,
    pub tx: SignedTx,
}

impl Key {
    /// Parses 32 bytes of hex; `source_name` names where it came from in errors.
    pub fn from_hex(text: &str, source_name: &str) -> Result<Key, KeyError> {
        let malformed = || KeyError::Malformed { source_name: source_name.to_owned() };
        let digits = text.trim();
        let digits = digits.strip_prefix("0x").unwrap_or(digits);
        if digits.len() != 64 {
            return Err(malformed());
        }
        let bytes: B256 = digits.parse().map_err(|_| malformed())?;
        PrivateKeySigner::from_bytes(&bytes).map(|signer| Key { signer }).map_err(|_| malformed())
    }

    /// A fresh key from the operating system's random source.
    pub fn generate() -> Key {
        Key { signer: PrivateKeySigner::random() }
    }

    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// The key as 0x-prefixed hex, as the key file holds it.
    pub fn to_hex(&self) -> String {
        self.signer.to_bytes().to_string()
    }

    /// Reads a key file.
    pub fn load(path: &Path) -> Result<Key, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io { path: path.to_owned(), source })?;
        Key::from_hex(&text, &path.display().to_string())
    }

    /// Writes the key file (owner-only, in an owner-only directory), refusing to overwrite one.
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        let io = |source| KeyError::Io { path: path.to_owned(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokencomp_store::private::dir(dir).map_err(io)?;
        }
        tokencomp_store::private::write_new(path, format!("{}\n", self.to_hex()).as_bytes()).map_err(io)
    }

    /// Signs a 32-byte digest as it stands (no message prefix): `r ‖ s ‖ v` with `v` 27 or 28,
    /// the form a Safe checks an owner's EIP-712 signature in.
    pub fn sign_digest(&self, digest: &B256) -> Result<[u8; 65], KeyError> {
        let signature = self.signer.sign_hash_sync(digest).map_err(|e| KeyError::Sign(e.to_string()))?;
        Ok(signature.as_bytes())
    }

    /// Signs an EIP-1559 transaction.
    pub fn sign(&self, fields: TxFields) -> Result<Signed, KeyError> {
        let tx = TxEip1559 {
            chain_id: fields.chain_id,
            nonce: fields.nonce,
            gas_limit: fields.gas_limit,
            max_fee_per_gas: fields.max_fee_per_gas,
            max_priority_fee_per_gas: fields.max_priority_fee_per_gas,
            to: fields.kind,
            value: fields.value,
            access_list: Default::default(),
            input: fields.input.clone(),
        };
        let signature = self.signer.sign_hash_sync(&tx.signature_hash()).map_err(|e| KeyError::Sign(e.to_string()))?;
        let signed = tx.into_signed(signature);
        let hash = *signed.hash();
        let raw = Bytes::from(TxEnvelope::from(signed).encoded_2718());
        Ok(Signed {
            raw,
            tx: SignedTx {
                hash,
                from: self.address(),
                nonce: fields.nonce,
                gas_limit: fields.gas_limit,
                kind: fields.kind,
                value: fields.value,
                input: fields.input,
            },
        })
    }
}

/// What a transaction says, before it is signed.
#[derive(Clone, Debug)]
pub struct TxFields {
    pub chain_id: u64,
    pub nonce: u64,
    pub gas_limit: u64,
    pub max_fee_per_gas: u128,
    pub max_priority_fee_per_gas: u128,
    pub kind: TxKind,
    pub value: U256,
    pub input: Bytes,
}

/// Recovers the sender of raw signed bytes, as a node does (used to check our own encoding).
pub fn recover(raw: &[u8]) -> Result<(B256, Address), KeyError> {
    use alloy_network::eip2718::Decodable2718;
    let mut buf = raw;
    let envelope = TxEnvelope::decode_2718(&mut buf).map_err(|e| KeyError::Sign(e.to_string()))?;
    let from = match &envelope {
        TxEnvelope::Eip1559(s) => s.recover_signer().map_err(|e| KeyError::Sign(e.to_string()))?,
        _ => return Err(KeyError::Sign("not an EIP-1559 transaction".to_owned())),
    };
    Ok((*envelope.tx_hash(), from))
}
