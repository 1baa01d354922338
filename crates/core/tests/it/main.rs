//! Integration tests for the award domain: one binary, one module per subject.

mod amm;
mod fairness;
mod goldens;
mod lifecycle;
mod props;
mod strategies;
