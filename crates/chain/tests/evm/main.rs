//! The committed contracts on the embedded chain against the engine and this crate's signer:
//! milestone attestations signed with `tokencomp_chain::attest`, roles, solvency and the
//! stateful invariant test. They moved here from `crates/evm/tests/it` so that tokencomp-evm
//! does not dev-depend on this crate (which depends on it); the world harness and the generated
//! schedules are shared with those tests by path.

// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used)]

#[path = "../../../evm/tests/it/harness.rs"]
mod harness;
mod milestones;
mod roles;
#[path = "../../../evm/tests/it/schedules.rs"]
mod schedules;
mod solvency;
mod stateful;
