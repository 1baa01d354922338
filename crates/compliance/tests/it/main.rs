//! Integration tests for tax and accounting: one binary, one module per subject.

mod accounting;
mod books;
mod erp;
mod lots;
mod payroll;
mod payroll_layouts;
mod rng;
mod withholding;
