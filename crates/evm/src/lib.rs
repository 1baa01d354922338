//! tokencomp's only door to an EVM: the committed Solidity artifacts (`contracts/artifacts`),
//! their alloy `sol!` bindings, and an embedded chain on revm.
//!
//! The engine (`tokencomp-core`) computes what vests; this crate deploys and drives the
//! contracts that release it. It must never compute a vesting amount itself: amounts come from
//! the engine or from the contract, and the tests hold the two equal to the base unit.

pub mod artifacts;
pub mod chain;
pub mod vendor;

pub use artifacts::{
    Artifact, ArtifactError, FEE_ON_TRANSFER_TOKEN, FeeOnTransferToken, REENTRANT_TOKEN,
    REFERENCE_VESTING_WALLET_CLIFF, ReentrantToken, ReferenceVestingWalletCliff, TEST_TOKEN, TestToken,
    VESTING_MANAGER, VESTING_MILESTONES, VestingManager,
};
pub use chain::{
    BLOCK_GAS_LIMIT, BlockHeader, Chain, ChainError, Receipt, SNAPSHOT_FORMAT, SignedTx, log_from_json, log_to_json,
};
