//! The `tokencomp` binary end to end: one integration-test binary, one module per subject.

mod anchor;
mod audit;
mod chain;
mod compliance;
mod crash;
mod docs;
mod exports;
mod fixture_ledger;
mod gov;
mod input;
mod ledger;
mod limits;
mod notices;
mod ops;
mod oracle;
mod restore;
mod risk;
mod rules;
mod schedule;
mod tidy;
mod tls;
mod tokenomics;
mod truth;
mod web;
mod writes;
mod yearend;
