//! Integration tests for the engine: one binary, one module per subject.

mod accounting;
mod amm;
mod books;
mod fairness;
mod goldens;
mod import;
mod lifecycle;
mod lots;
mod ocf;
mod payroll;
mod props;
mod rng;
mod tokenomics;
mod withholding;
