//! Integration tests for tax and accounting: one binary, one module per subject.

mod accounting;
mod books;
mod de_pap;
mod de_social;
mod erp;
mod lots;
mod payroll;
mod payroll_layouts;
mod rng;
mod rules;
mod uk;
mod us_state;
mod us_state_methods;
mod us_state_payroll;
mod withholding;
mod yearend;
