//! Integration tests for the engine: one binary, one module per subject.

mod goldens;
mod import;
mod lifecycle;
mod ocf;
mod props;
