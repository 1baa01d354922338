//! Integration tests for tax and accounting: one binary, one module per subject.

mod accounting;
mod books;
mod lots;
mod payroll;
mod rng;
mod rules;
mod withholding;
