//! Integration tests of tokencomp-risk: closed forms, Monte Carlo against them, the bootstrap,
//! reproducibility across thread pools, the floor and the package.
#![allow(clippy::float_arithmetic, clippy::unwrap_used)]

mod bootstrap;
mod closed;
mod floor;
mod mc;
mod package;
mod repro;
