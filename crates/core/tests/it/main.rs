//! Integration tests for the engine: one binary, one module per subject.

mod goldens;
mod lifecycle;
mod ocf;
mod props;
