//! Integration tests for the file formats: one binary, one module per format.

mod import;
mod ocf;
mod props;
#[path = "../../../core/tests/it/strategies.rs"]
mod strategies;
mod tokenomics;
