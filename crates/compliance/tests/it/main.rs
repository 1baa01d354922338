//! Integration tests for tax and accounting: one binary, one module per subject.

mod accounting;
mod books;
mod de_pap;
mod de_social;
mod lots;
mod payroll;
mod rng;
mod uk;
mod us_state;
mod us_state_methods;
mod withholding;
