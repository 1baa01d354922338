//! Integration tests of tokencomp-evm: the committed contracts deployed on the embedded chain,
//! checked against the engine (`tokencomp-core`) to the base unit.

// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used)]

mod differential;
mod harness;
mod manager;
mod milestones;
mod roles;
mod sablier;
mod solvency;
mod stateful;
mod uniswap;
