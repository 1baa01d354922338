//! Third-party contracts, exactly as their npm packages ship them compiled (see
//! `contracts/build.mjs`): Sablier Lockup, Uniswap V2 and Safe.
//!
//! `build.mjs` copies each package's own compiled artifact, trimmed to the ABI and code and
//! labelled with the package and version, into `contracts/artifacts/vendor`, and its `--check`
//! fails when a copy differs from what node_modules holds. Nothing is recompiled: the bytes
//! deployed are the publisher's.
//!
//! SablierLockup calls two external libraries (LockupHelpers, LockupMath), so its creation code
//! holds placeholders where their addresses go: deploy the libraries, then deploy
//! [`link`]`(&SABLIER_LOCKUP, …)` rather than [`Artifact::bytecode`], which refuses it.

use alloy_primitives::{Address, Bytes, hex};

use crate::artifacts::{Artifact, ArtifactError};

pub use compatibility_fallback_handler::CompatibilityFallbackHandler;
pub use multi_send_call_only::MultiSendCallOnly;
pub use sablier::{SablierBatchLockup, SablierLockup};
pub use safe::Safe;
pub use safe_proxy_factory::SafeProxyFactory;
pub use uniswap_v2_factory::UniswapV2Factory;
pub use uniswap_v2_pair::UniswapV2Pair;

macro_rules! vendored {
    ($name:literal) => {
        Artifact { name: $name, json: include_str!(concat!("../../../contracts/artifacts/vendor/", $name, ".json")) }
    };
}

/// Sablier Lockup (`@sablier/lockup`): streams; needs [`LOCKUP_HELPERS`] and [`LOCKUP_MATH`] linked.
pub const SABLIER_LOCKUP: Artifact = vendored!("SablierLockup");
/// Creates many Lockup streams in one transaction, pulling the sum once.
pub const SABLIER_BATCH_LOCKUP: Artifact = vendored!("SablierBatchLockup");
/// Renders a stream's NFT; SablierLockup's constructor takes its address.
pub const LOCKUP_NFT_DESCRIPTOR: Artifact = vendored!("LockupNFTDescriptor");
/// External library of SablierLockup (parameter checks).
pub const LOCKUP_HELPERS: Artifact = vendored!("LockupHelpers");
/// External library of SablierLockup (streamed amounts).
pub const LOCKUP_MATH: Artifact = vendored!("LockupMath");
/// Uniswap V2 core (`@uniswap/v2-core`): the pair factory.
pub const UNISWAP_V2_FACTORY: Artifact = vendored!("UniswapV2Factory");
/// Uniswap V2 core: a pair (the factory deploys these itself; this is for its ABI and code).
pub const UNISWAP_V2_PAIR: Artifact = vendored!("UniswapV2Pair");
/// Safe 1.4.1 (`@safe-global/safe-contracts`): the singleton proxies delegate to.
pub const SAFE: Artifact = vendored!("Safe");
/// Safe 1.4.1: deploys Safe proxies.
pub const SAFE_PROXY_FACTORY: Artifact = vendored!("SafeProxyFactory");
/// Safe 1.4.1: batches calls (no delegatecalls) from a Safe transaction.
pub const MULTI_SEND_CALL_ONLY: Artifact = vendored!("MultiSendCallOnly");
/// Safe 1.4.1: the fallback handler a Safe is usually set up with (EIP-1271, token callbacks).
pub const COMPATIBILITY_FALLBACK_HANDLER: Artifact = vendored!("CompatibilityFallbackHandler");

// One module per contract generated from its JSON: the ABIs name their structs after Solidity
// libraries (`Enum`, …) and two contracts' copies of one library would collide in one module.
//
// Sablier's two are written out instead, for the linear streams only: `sol!` cannot take their
// JSON, whose `LockupDynamic.Segment` uses PRBMath's file-level `UD2x18` type, which the
// generated `LockupDynamic` library cannot see. A test below holds every function, event and
// constructor here to the vendored ABI (types, indexing and mutability).
#[allow(clippy::too_many_arguments)]
pub mod sablier {
    alloy_sol_types::sol! {
        #[sol(all_derives, abi)]
        library Lockup {
            struct Timestamps { uint40 start; uint40 end; }
            struct CreateWithTimestamps {
                address sender;
                address recipient;
                uint128 depositAmount;
                address token;
                bool cancelable;
                bool transferable;
                Lockup.Timestamps timestamps;
                string shape;
            }
            struct CreateWithDurations {
                address sender;
                address recipient;
                uint128 depositAmount;
                address token;
                bool cancelable;
                bool transferable;
                string shape;
            }
            struct CreateEventCommon {
                address funder;
                address sender;
                address recipient;
                uint128 depositAmount;
                address token;
                bool cancelable;
                bool transferable;
                Lockup.Timestamps timestamps;
                string shape;
            }
            enum Status { PENDING, STREAMING, SETTLED, CANCELED, DEPLETED }
        }

        #[sol(all_derives, abi)]
        library LockupLinear {
            struct UnlockAmounts { uint128 start; uint128 cliff; }
            struct Durations { uint40 cliff; uint40 total; }
        }

        #[sol(all_derives, abi)]
        library BatchLockup {
            struct CreateWithTimestampsLL {
                address sender;
                address recipient;
                uint128 depositAmount;
                bool cancelable;
                bool transferable;
                Lockup.Timestamps timestamps;
                uint40 cliffTime;
                LockupLinear.UnlockAmounts unlockAmounts;
                uint40 granularity;
                string shape;
            }
            struct CreateWithDurationsLL {
                address sender;
                address recipient;
                uint128 depositAmount;
                bool cancelable;
                bool transferable;
                LockupLinear.Durations durations;
                LockupLinear.UnlockAmounts unlockAmounts;
                uint40 granularity;
                string shape;
            }
        }

        /// SablierLockup's linear streams (LockupLinear) and the reads common to every stream.
        #[sol(all_derives, abi)]
        interface SablierLockup {
            constructor(address initialComptroller, address initialNFTDescriptor);

            event CreateLockupLinearStream(
                uint256 indexed streamId,
                Lockup.CreateEventCommon commonParams,
                uint40 cliffTime,
                uint40 granularity,
                LockupLinear.UnlockAmounts unlockAmounts
            );

            function createWithTimestampsLL(
                Lockup.CreateWithTimestamps params,
                LockupLinear.UnlockAmounts unlockAmounts,
                uint40 granularity,
                uint40 cliffTime
            ) external payable returns (uint256 streamId);
            function createWithDurationsLL(
                Lockup.CreateWithDurations params,
                LockupLinear.UnlockAmounts unlockAmounts,
                uint40 granularity,
                LockupLinear.Durations durations
            ) external payable returns (uint256 streamId);
            function withdraw(uint256 streamId, address to, uint128 amount) external payable;
            function cancel(uint256 streamId) external payable returns (uint128 refundedAmount);

            function nextStreamId() external view returns (uint256);
            function streamedAmountOf(uint256 streamId) external view returns (uint128 streamedAmount);
            function withdrawableAmountOf(uint256 streamId) external view returns (uint128 withdrawableAmount);
            function statusOf(uint256 streamId) external view returns (Lockup.Status status);
            function getRecipient(uint256 streamId) external view returns (address recipient);
            function getDepositedAmount(uint256 streamId) external view returns (uint128 depositedAmount);
            function getStartTime(uint256 streamId) external view returns (uint40 startTime);
            function getCliffTime(uint256 streamId) external view returns (uint40 cliffTime);
            function getEndTime(uint256 streamId) external view returns (uint40 endTime);
            function getGranularity(uint256 streamId) external view returns (uint40 granularity);
            function getUnlockAmounts(uint256 streamId) external view returns (LockupLinear.UnlockAmounts unlockAmounts);
            function calculateMinFeeWei(uint256 streamId) external view returns (uint256 minFeeWei);
        }

        /// SablierBatchLockup's linear batches: it pulls the sum from the caller once, then
        /// creates each stream on `lockup` with the caller as funder.
        #[sol(all_derives, abi)]
        interface SablierBatchLockup {
            function createWithTimestampsLL(
                address lockup,
                address token,
                BatchLockup.CreateWithTimestampsLL[] batch
            ) external returns (uint256[] streamIds);
            function createWithDurationsLL(
                address lockup,
                address token,
                BatchLockup.CreateWithDurationsLL[] batch
            ) external returns (uint256[] streamIds);
        }
    }
}

pub mod uniswap_v2_factory {
    alloy_sol_types::sol!(
        #[sol(all_derives)]
        UniswapV2Factory,
        "../../contracts/artifacts/vendor/UniswapV2Factory.json"
    );
}

pub mod uniswap_v2_pair {
    alloy_sol_types::sol!(
        #[sol(all_derives)]
        UniswapV2Pair,
        "../../contracts/artifacts/vendor/UniswapV2Pair.json"
    );
}

#[allow(clippy::too_many_arguments)]
pub mod safe {
    alloy_sol_types::sol!(
        #[sol(all_derives)]
        Safe,
        "../../contracts/artifacts/vendor/Safe.json"
    );
}

pub mod safe_proxy_factory {
    alloy_sol_types::sol!(
        #[sol(all_derives)]
        SafeProxyFactory,
        "../../contracts/artifacts/vendor/SafeProxyFactory.json"
    );
}

pub mod multi_send_call_only {
    alloy_sol_types::sol!(
        #[sol(all_derives)]
        MultiSendCallOnly,
        "../../contracts/artifacts/vendor/MultiSendCallOnly.json"
    );
}

pub mod compatibility_fallback_handler {
    alloy_sol_types::sol!(
        #[sol(all_derives)]
        CompatibilityFallbackHandler,
        "../../contracts/artifacts/vendor/CompatibilityFallbackHandler.json"
    );
}

/// Why an artifact's creation code could not be linked.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error("{artifact} links library {library} ({file}) and no address was given for it")]
    MissingLibrary { artifact: &'static str, file: String, library: String },
    #[error("{artifact}: the link reference to {library} at byte {start} does not cover a 20-byte placeholder")]
    BadReference { artifact: &'static str, library: String, start: u64 },
}

/// The artifact's creation code with each library's address written over its placeholders, at
/// the byte offsets its `linkReferences` give. A library is named as there: `LockupMath`, or
/// qualified by its source, `src/libraries/LockupMath.sol:LockupMath`. An artifact without
/// link references comes back as [`Artifact::bytecode`] would return it.
pub fn link(artifact: &Artifact, libraries: &[(&str, Address)]) -> Result<Bytes, LinkError> {
    let name = artifact.name;
    let text = artifact.field("bytecode")?;
    let digits = text.strip_prefix("0x").ok_or(ArtifactError::BadHex { name, field: "bytecode" })?;
    let mut chars = digits.as_bytes().to_vec();
    let value: serde_json::Value =
        serde_json::from_str(artifact.json).map_err(|source| ArtifactError::Json { name, source })?;
    let malformed = || ArtifactError::MissingField { name, field: "linkReferences" };
    let files = match value.get("linkReferences") {
        None => serde_json::Map::new(),
        Some(v) => v.as_object().cloned().ok_or_else(malformed)?,
    };
    for (file, libs) in &files {
        for (library, refs) in libs.as_object().ok_or_else(malformed)? {
            let qualified = format!("{file}:{library}");
            let address =
                libraries.iter().find(|(n, _)| *n == library || *n == qualified).map(|&(_, a)| a).ok_or_else(|| {
                    LinkError::MissingLibrary { artifact: name, file: file.clone(), library: library.clone() }
                })?;
            let encoded = hex::encode(address);
            for r in refs.as_array().ok_or_else(malformed)? {
                let number = |key: &str| r.get(key).and_then(serde_json::Value::as_u64);
                let start = number("start").ok_or_else(malformed)?;
                let bad = || LinkError::BadReference { artifact: name, library: library.clone(), start };
                if number("length") != Some(20) {
                    return Err(bad());
                }
                let at = usize::try_from(start).ok().and_then(|s| s.checked_mul(2)).ok_or_else(bad)?;
                let slot = chars.get_mut(at..at.saturating_add(40)).filter(|s| s.len() == 40).ok_or_else(bad)?;
                if !(slot.starts_with(b"__") && slot.ends_with(b"__")) {
                    return Err(bad());
                }
                slot.copy_from_slice(encoded.as_bytes());
            }
        }
    }
    // A placeholder no reference covered is not hex, so it fails here rather than deploying.
    hex::decode(&chars)
        .map(Bytes::from)
        .map_err(|_| LinkError::Artifact(ArtifactError::BadHex { name, field: "bytecode" }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const ALL: [Artifact; 11] = [
        SABLIER_LOCKUP,
        SABLIER_BATCH_LOCKUP,
        LOCKUP_NFT_DESCRIPTOR,
        LOCKUP_HELPERS,
        LOCKUP_MATH,
        UNISWAP_V2_FACTORY,
        UNISWAP_V2_PAIR,
        SAFE,
        SAFE_PROXY_FACTORY,
        MULTI_SEND_CALL_ONLY,
        COMPATIBILITY_FALLBACK_HANDLER,
    ];

    fn placeholder_offsets(artifact: &Artifact) -> Vec<(String, usize)> {
        let value: serde_json::Value = serde_json::from_str(artifact.json).unwrap();
        let mut out = Vec::new();
        for libs in value["linkReferences"].as_object().unwrap().values() {
            for (library, refs) in libs.as_object().unwrap() {
                for r in refs.as_array().unwrap() {
                    out.push((library.clone(), usize::try_from(r["start"].as_u64().unwrap()).unwrap()));
                }
            }
        }
        out
    }

    /// A parameter's ABI type with tuples spelled out: what encoding and selectors depend on.
    fn canonical(p: &serde_json::Value) -> String {
        let ty = p["type"].as_str().unwrap();
        match ty.strip_prefix("tuple") {
            Some(rest) => {
                let parts: Vec<String> = p["components"].as_array().unwrap().iter().map(canonical).collect();
                format!("({}){rest}", parts.join(","))
            }
            None => ty.to_owned(),
        }
    }

    /// An ABI item reduced to what a binding must get right.
    fn shape(item: &serde_json::Value) -> serde_json::Value {
        let params = |key: &str| -> Vec<String> {
            item.get(key)
                .and_then(serde_json::Value::as_array)
                .map_or_else(Vec::new, |ps| ps.iter().map(canonical).collect())
        };
        let indexed: Vec<bool> = item
            .get("inputs")
            .and_then(serde_json::Value::as_array)
            .map_or_else(Vec::new, |ps| ps.iter().map(|p| p["indexed"].as_bool().unwrap_or(false)).collect());
        serde_json::json!({
            "type": item["type"],
            "name": item.get("name"),
            "inputs": params("inputs"),
            "indexed": indexed,
            "outputs": params("outputs"),
            "stateMutability": item.get("stateMutability"),
            "anonymous": item.get("anonymous").and_then(serde_json::Value::as_bool).unwrap_or(false),
        })
    }

    #[test]
    fn written_out_sablier_bindings_match_the_vendored_abi() {
        let cases = [
            (SABLIER_LOCKUP, serde_json::to_value(sablier::SablierLockup::abi::contract()).unwrap()),
            (SABLIER_BATCH_LOCKUP, serde_json::to_value(sablier::SablierBatchLockup::abi::contract()).unwrap()),
        ];
        for (artifact, ours) in cases {
            let shipped: serde_json::Value = serde_json::from_str(artifact.json).unwrap();
            let shipped: Vec<serde_json::Value> = shipped["abi"].as_array().unwrap().iter().map(shape).collect();
            let ours = ours.as_array().unwrap();
            assert!(ours.len() >= 2, "{}", artifact.name);
            for item in ours {
                let item = shape(item);
                assert!(shipped.contains(&item), "{}: {item} is not in the vendored ABI", artifact.name);
            }
        }
    }

    /// The calls and event a user of Uniswap V2 and Safe needs, generated under the names and
    /// with the signatures the protocols publish.
    #[test]
    fn generated_bindings_cover_what_users_call() {
        use alloy_sol_types::{SolCall, SolEvent};
        let calls = [
            (UniswapV2Factory::createPairCall::SIGNATURE, "createPair(address,address)"),
            (UniswapV2Pair::getReservesCall::SIGNATURE, "getReserves()"),
            (UniswapV2Pair::price0CumulativeLastCall::SIGNATURE, "price0CumulativeLast()"),
            (UniswapV2Pair::price1CumulativeLastCall::SIGNATURE, "price1CumulativeLast()"),
            (UniswapV2Pair::syncCall::SIGNATURE, "sync()"),
            (UniswapV2Pair::swapCall::SIGNATURE, "swap(uint256,uint256,address,bytes)"),
            (UniswapV2Pair::mintCall::SIGNATURE, "mint(address)"),
            (Safe::setupCall::SIGNATURE, "setup(address[],uint256,address,bytes,address,address,uint256,address)"),
            (
                Safe::execTransactionCall::SIGNATURE,
                "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)",
            ),
            (Safe::nonceCall::SIGNATURE, "nonce()"),
            (
                Safe::getTransactionHashCall::SIGNATURE,
                "getTransactionHash(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,uint256)",
            ),
            (SafeProxyFactory::createProxyWithNonceCall::SIGNATURE, "createProxyWithNonce(address,bytes,uint256)"),
            (MultiSendCallOnly::multiSendCall::SIGNATURE, "multiSend(bytes)"),
            (SablierLockup::streamedAmountOfCall::SIGNATURE, "streamedAmountOf(uint256)"),
        ];
        for (generated, published) in calls {
            assert_eq!(generated, published);
        }
        assert_eq!(UniswapV2Pair::Sync::SIGNATURE, "Sync(uint112,uint112)");
        assert_eq!(CompatibilityFallbackHandler::isValidSignature_0Call::SIGNATURE, "isValidSignature(bytes32,bytes)");
    }

    #[test]
    fn every_copy_names_its_contract_and_package_version() {
        for a in ALL {
            assert_eq!(a.field("contractName").unwrap(), a.name);
            let version = a.field("package.version").unwrap();
            let expected = match a.field("package.name").unwrap().as_str() {
                "@sablier/lockup" => "4.0.1",
                "@uniswap/v2-core" => "1.0.1",
                "@safe-global/safe-contracts" => "1.4.1",
                other => panic!("unexpected package {other}"),
            };
            assert_eq!(version, expected, "{}", a.name);
        }
    }

    #[test]
    fn sablier_lockup_links_both_libraries_at_every_placeholder() {
        assert!(matches!(SABLIER_LOCKUP.bytecode(), Err(ArtifactError::BadHex { .. })), "unlinked code is refused");
        let helpers = Address::repeat_byte(0x11);
        let math = Address::repeat_byte(0x22);
        let code =
            link(&SABLIER_LOCKUP, &[("LockupHelpers", helpers), ("src/libraries/LockupMath.sol:LockupMath", math)])
                .unwrap();
        let unlinked = SABLIER_LOCKUP.field("bytecode").unwrap();
        assert_eq!(code.len() * 2, unlinked.len() - 2);
        let offsets = placeholder_offsets(&SABLIER_LOCKUP);
        assert_eq!(offsets.iter().filter(|(l, _)| l == "LockupHelpers").count(), 6);
        assert_eq!(offsets.iter().filter(|(l, _)| l == "LockupMath").count(), 2);
        let mut patched = vec![false; code.len()];
        for (library, start) in &offsets {
            let want = if library == "LockupHelpers" { helpers } else { math };
            assert_eq!(&code[*start..start + 20], want.as_slice(), "{library} at {start}");
            patched[*start..start + 20].fill(true);
        }
        // Every other byte is the shipped one.
        let shipped = unlinked.as_bytes();
        for (i, byte) in code.iter().enumerate().filter(|(i, _)| !patched[*i]) {
            assert_eq!(hex::encode([*byte]).as_bytes(), &shipped[2 + 2 * i..4 + 2 * i], "byte {i}");
        }
    }

    #[test]
    fn a_missing_library_is_named() {
        let err = link(&SABLIER_LOCKUP, &[("LockupHelpers", Address::repeat_byte(1))]).unwrap_err();
        assert!(
            matches!(&err, LinkError::MissingLibrary { library, file, .. } if library == "LockupMath" && file == "src/libraries/LockupMath.sol"),
            "{err}"
        );
    }

    #[test]
    fn code_without_placeholders_links_to_itself() {
        for a in ALL.iter().filter(|a| a.name != "SablierLockup") {
            assert_eq!(link(a, &[]).unwrap(), a.bytecode().unwrap(), "{}", a.name);
            assert!(!a.deployed_bytecode().unwrap().is_empty(), "{}", a.name);
        }
    }
}
