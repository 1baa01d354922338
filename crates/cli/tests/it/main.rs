//! The `tokencomp` binary end to end: one integration-test binary, one module per subject.

mod chain;
mod compliance;
mod crash;
mod gov;
mod input;
mod ledger;
mod limits;
mod ops;
mod oracle;
mod risk;
mod schedule;
mod tidy;
mod tokenomics;
mod web;
mod writes;
