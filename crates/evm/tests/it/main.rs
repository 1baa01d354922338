//! Integration tests of tokencomp-evm: the committed contracts deployed on the embedded chain,
//! checked against the engine (`tokencomp-core`) to the base unit. The tests that also need
//! `tokencomp-chain` (attestations, roles, solvency, the stateful test) are in
//! `crates/chain/tests/evm`, so this crate's dev-dependencies do not depend on it.

// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used)]

mod anchor;
mod differential;
mod harness;
mod manager;
mod sablier;
mod schedules;
mod uniswap;
