//! Milestone attestations as EIP-712 typed data: an oracle's key signs an [`Attestation`] under
//! the domain `tokencomp`/`1`/chain id/VestingManager, and a [`Submission`] (the attestation,
//! the domain fields it claims and the 65-byte signature) is verified here before
//! `tokencomp_core::attestation` applies its rules.
//!
//! This module owns the cryptography only: the digest, signing, recovery and the signature's
//! form (v 27/28, low s, as OpenZeppelin's ECDSA requires). It never decides whether a milestone
//! is met: that is the core's `Book`, with the same named reasons the contract uses.

use std::borrow::Cow;

use alloy_primitives::{Address, B256, I256, Signature, U256, hex};
use alloy_sol_types::{Eip712Domain, SolStruct};
use tokencomp_core::attestation::{Book, Claim, Fixed18, Met, Refused, Rejection, Signer, ValueError};

use crate::keys::{Key, KeyError};

/// What an oracle signs: the contract's own `Attestation` struct, from its ABI, so the typed data
/// hashed here is the one the contract hashes.
pub use tokencomp_evm::VestingManager::Attestation;

/// The EIP-712 domain's name.
pub const NAME: &str = "tokencomp";
/// The EIP-712 domain's version.
pub const VERSION: &str = "1";
/// The struct's type string, as the contract's `ATTESTATION_TYPEHASH` hashes it.
pub const TYPE: &str = "Attestation(string milestone,string metric,int256 value,string subject,uint64 observedAt,uint64 expiresAt,address oracle,uint64 nonce)";

/// secp256k1's group order halved: OpenZeppelin's ECDSA refuses a larger `s` (malleability).
const HALF_ORDER: U256 = U256::from_be_bytes(hex!("7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0"));

/// The domain fields that vary: the chain and the VestingManager that verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Domain {
    pub chain_id: u64,
    pub verifying_contract: Address,
}

impl Domain {
    pub fn eip712(&self) -> Eip712Domain {
        Eip712Domain::new(
            Some(Cow::Borrowed(NAME)),
            Some(Cow::Borrowed(VERSION)),
            Some(U256::from(self.chain_id)),
            Some(self.verifying_contract),
            None,
        )
    }

    /// The domain separator (OpenZeppelin's `_domainSeparatorV4()`).
    pub fn separator(&self) -> B256 {
        self.eip712().separator()
    }
}

/// A signed attestation as an oracle hands it in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    pub attestation: Attestation,
    /// The domain it claims to be signed for.
    pub domain: Domain,
    /// `r ‖ s ‖ v`, v 27 or 28.
    pub signature: [u8; 65],
}

#[derive(Debug, thiserror::Error)]
pub enum AttestError {
    #[error("the key {key} is not the attestation's oracle {oracle}")]
    NotTheOracle { key: Address, oracle: Address },
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A submission file's field, named by its path (`attestation.value`).
    #[error("{field}: {message}")]
    Field { field: String, message: String },
}

/// The hash an oracle signs: `keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(attestation))`.
pub fn digest(attestation: &Attestation, domain: &Domain) -> B256 {
    attestation.eip712_signing_hash(&domain.eip712())
}

/// Signs with `key`, which must be the attestation's `oracle`.
pub fn sign(key: &Key, attestation: &Attestation, domain: &Domain) -> Result<Submission, AttestError> {
    if key.address() != attestation.oracle {
        return Err(AttestError::NotTheOracle { key: key.address(), oracle: attestation.oracle });
    }
    let signature = key.sign_digest(&digest(attestation, domain))?;
    Ok(Submission { attestation: attestation.clone(), domain: *domain, signature })
}

/// The address a 65-byte signature of `digest` recovers to, refusing what OpenZeppelin's
/// `ECDSA.recover` refuses: v other than 27/28, a zero or out-of-range r or s, and a high s.
pub fn recover(digest: &B256, signature: &[u8; 65]) -> Result<Address, Rejection> {
    let r = U256::from_be_slice(&signature[..32]);
    let s = U256::from_be_slice(&signature[32..64]);
    let parity = match signature[64] {
        27 => false,
        28 => true,
        _ => return Err(Rejection::BadSignature),
    };
    if r.is_zero() || s.is_zero() || s > HALF_ORDER {
        return Err(Rejection::BadSignature);
    }
    Signature::new(r, s, parity).recover_address_from_prehash(digest).map_err(|_| Rejection::BadSignature)
}

/// The attestation as the core's rules read it.
pub fn claim(attestation: &Attestation) -> Claim {
    Claim {
        milestone: attestation.milestone.clone(),
        metric: attestation.metric.clone(),
        value: Fixed18::from_be_bytes(attestation.value.into_raw().to_be_bytes()),
        subject: attestation.subject.clone(),
        observed_at: attestation.observedAt,
        expires_at: attestation.expiresAt,
        oracle: Signer(attestation.oracle.into_array()),
        nonce: attestation.nonce,
    }
}

/// An attested value as the struct's `int256`.
pub fn value(v: Fixed18) -> I256 {
    I256::from_raw(U256::from_be_bytes(v.to_be_bytes()))
}

/// The checks before the rules, in order: `wrong_chain`, `wrong_contract`, `bad_signature`
/// (malformed, or recovering to another address than the claimed oracle). Returns the
/// attestation as a claim with its recovered signer.
pub fn verify(submission: &Submission, expected: &Domain) -> Result<(Claim, Signer), Rejection> {
    if submission.domain.chain_id != expected.chain_id {
        return Err(Rejection::WrongChain);
    }
    if submission.domain.verifying_contract != expected.verifying_contract {
        return Err(Rejection::WrongContract);
    }
    let signer = recover(&digest(&submission.attestation, &submission.domain), &submission.signature)?;
    if signer != submission.attestation.oracle {
        return Err(Rejection::BadSignature);
    }
    Ok((claim(&submission.attestation), Signer(signer.into_array())))
}

/// Every check of one submission, in the order of [`Rejection`] up to `below_threshold`;
/// returns the oracle id whose key signed. Records nothing.
pub fn check(book: &Book, submission: &Submission, expected: &Domain, now: u64) -> Result<String, Rejection> {
    let (claim, signer) = verify(submission, expected)?;
    book.check(&claim, signer, now)
}

/// Applies `milestone` from a set of submissions (one for a single signer, k or more for a
/// quorum), all or nothing, in the contract's order: each submission in turn is verified, checked
/// and matched against the set (the first refused names the reason and its index), then the
/// quorum and applied-once rules of `Book::apply`.
pub fn apply(
    book: &mut Book,
    milestone: &str,
    submissions: &[Submission],
    expected: &Domain,
    now: u64,
) -> Result<Met, Refused> {
    let verified: Vec<Result<(Claim, Signer), Rejection>> = submissions.iter().map(|s| verify(s, expected)).collect();
    book.apply_verified(milestone, verified.iter().map(|v| v.as_ref().map(|(c, s)| (c, *s)).map_err(|r| *r)), now)
}

/// The submission as `VestingManager.applyMilestone` takes it.
pub fn to_contract(s: &Submission) -> tokencomp_evm::VestingManager::SignedAttestation {
    tokencomp_evm::VestingManager::SignedAttestation {
        attestation: s.attestation.clone(),
        chainId: U256::from(s.domain.chain_id),
        verifyingContract: s.domain.verifying_contract,
        signature: s.signature.to_vec().into(),
    }
}

/// The named reason of a revert of `applyMilestone`: its custom error's name, as the engine names
/// it (`BelowThreshold` is `below_threshold`), with the attestation's index when it names one.
/// `None` for any other revert.
pub fn rejection_of(revert: &[u8]) -> Option<Refused> {
    use alloy_sol_types::SolInterface;
    use tokencomp_evm::VestingManager::VestingManagerErrors as E;
    let index = |i: &U256| if *i == U256::MAX { None } else { usize::try_from(*i).ok() };
    let (reason, index) = match E::abi_decode(revert).ok()? {
        E::WrongChain(e) => (Rejection::WrongChain, index(&e.index)),
        E::WrongContract(e) => (Rejection::WrongContract, index(&e.index)),
        E::BadSignature(e) => (Rejection::BadSignature, index(&e.index)),
        E::UnregisteredOracle(e) => (Rejection::UnregisteredOracle, index(&e.index)),
        E::RevokedOracle(e) => (Rejection::RevokedOracle, index(&e.index)),
        E::Expired(e) => (Rejection::Expired, index(&e.index)),
        E::ReplayedNonce(e) => (Rejection::ReplayedNonce, index(&e.index)),
        E::UnknownMilestone(e) => (Rejection::UnknownMilestone, index(&e.index)),
        E::WrongSubject(e) => (Rejection::WrongSubject, index(&e.index)),
        E::WrongMetric(e) => (Rejection::WrongMetric, index(&e.index)),
        E::PastDeadline(e) => (Rejection::PastDeadline, index(&e.index)),
        E::BelowThreshold(e) => (Rejection::BelowThreshold, index(&e.index)),
        E::QuorumNotMet(_) => (Rejection::QuorumNotMet, None),
        E::AlreadyApplied(_) => (Rejection::AlreadyApplied, None),
        _ => return None,
    };
    Some(Refused { reason, index })
}

impl Submission {
    /// The submission file: `attestation` is the EIP-712 message with its typed-data field names
    /// (integers as decimal strings, `value` in base units), `domain` the full EIP-712 domain,
    /// `signature` 0x hex of the 65 bytes.
    pub fn to_json(&self) -> serde_json::Value {
        let a = &self.attestation;
        serde_json::json!({
            "attestation": {
                "milestone": a.milestone,
                "metric": a.metric,
                "value": claim(a).value.units(),
                "subject": a.subject,
                "observedAt": a.observedAt.to_string(),
                "expiresAt": a.expiresAt.to_string(),
                "oracle": a.oracle.to_string(),
                "nonce": a.nonce.to_string(),
            },
            "domain": {
                "name": NAME,
                "version": VERSION,
                "chainId": self.domain.chain_id.to_string(),
                "verifyingContract": self.domain.verifying_contract.to_string(),
            },
            "signature": format!("0x{}", hex::encode(self.signature)),
        })
    }

    /// Reads a submission file; every error names its field. Integers may be decimal strings
    /// or JSON integers.
    pub fn from_json(v: &serde_json::Value) -> Result<Submission, AttestError> {
        let field = |path: &str, message: String| AttestError::Field { field: path.to_owned(), message };
        let get = |path: &str| -> Result<&serde_json::Value, AttestError> {
            path.split('.').try_fold(v, |node, key| node.get(key)).ok_or_else(|| field(path, "missing".to_owned()))
        };
        let string = |path: &str| -> Result<String, AttestError> {
            get(path)?.as_str().map(str::to_owned).ok_or_else(|| field(path, "not a string".to_owned()))
        };
        let uint = |path: &str| -> Result<u64, AttestError> {
            let node = get(path)?;
            let parsed = match node {
                serde_json::Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                    s.parse::<u64>().ok()
                }
                serde_json::Value::Number(n) => n.as_u64(),
                _ => None,
            };
            parsed.ok_or_else(|| field(path, format!("{node} is not an unsigned 64-bit integer")))
        };
        let address = |path: &str| -> Result<Address, AttestError> {
            let text = string(path)?;
            if text.len() != 42 || !text.starts_with("0x") {
                return Err(field(path, format!("{text:?} is not an address (0x and 40 hex digits)")));
            }
            text.parse::<Address>().map_err(|e| field(path, format!("{text:?} is not an address: {e}")))
        };
        for (path, want) in [("domain.name", NAME), ("domain.version", VERSION)] {
            let got = string(path)?;
            if got != want {
                return Err(field(path, format!("{got:?}; attestations are signed under {want:?}")));
            }
        }
        let value_text = string("attestation.value")?;
        let value_units =
            Fixed18::parse_units(&value_text).map_err(|e: ValueError| field("attestation.value", e.to_string()))?;
        let attestation = Attestation {
            milestone: string("attestation.milestone")?,
            metric: string("attestation.metric")?,
            value: value(value_units),
            subject: string("attestation.subject")?,
            observedAt: uint("attestation.observedAt")?,
            expiresAt: uint("attestation.expiresAt")?,
            oracle: address("attestation.oracle")?,
            nonce: uint("attestation.nonce")?,
        };
        let domain =
            Domain { chain_id: uint("domain.chainId")?, verifying_contract: address("domain.verifyingContract")? };
        let sig_text = string("signature")?;
        let bytes = sig_text
            .strip_prefix("0x")
            .and_then(|h| hex::decode(h).ok())
            .ok_or_else(|| field("signature", "not 0x-prefixed hex".to_owned()))?;
        let signature: [u8; 65] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| field("signature", format!("{} bytes; a signature is 65 (r, s, v)", b.len())))?;
        Ok(Submission { attestation, domain, signature })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use alloy_primitives::keccak256;

    use super::*;

    #[test]
    fn the_type_hash_is_the_documented_type_string() {
        assert_eq!(Attestation::eip712_encode_type(), TYPE);
        assert_eq!(Attestation::default().eip712_type_hash(), keccak256(TYPE.as_bytes()));
    }

    #[test]
    fn a_high_s_or_odd_v_is_refused() {
        let key = Key::from_hex("0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318", "t").unwrap();
        let d = B256::repeat_byte(7);
        let sig = key.sign_digest(&d).unwrap();
        assert_eq!(recover(&d, &sig), Ok(key.address()));
        // (r, n − s, v flipped) is the same signature's malleable twin: it recovers to the
        // same key in plain secp256k1, and is refused here as in OpenZeppelin.
        let order = U256::from_be_bytes(hex!("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"));
        let mut twin = sig;
        twin[32..64].copy_from_slice(&(order - U256::from_be_slice(&sig[32..64])).to_be_bytes::<32>());
        twin[64] = if sig[64] == 27 { 28 } else { 27 };
        assert_eq!(recover(&d, &twin), Err(Rejection::BadSignature));
        let mut zero_v = sig;
        zero_v[64] -= 27;
        assert_eq!(recover(&d, &zero_v), Err(Rejection::BadSignature));
        assert_eq!(recover(&d, &[0; 65]), Err(Rejection::BadSignature));
        assert_eq!(HALF_ORDER, order / U256::from(2));
    }
}
