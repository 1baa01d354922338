//! Tax and accounting over the award domain: the tax-rules table and its lookups, withholding,
//! fair market value, settlement, payroll, tax lots, employer accounting, books and statements.
//!
//! Pure like `tokencomp_core`: no IO and no clock; the rules table's file is read by
//! `tokencomp_formats::tax_rules`.

pub mod accounting;
pub mod books;
pub mod de;
pub mod erp;
pub mod fmv;
pub mod lots;
pub mod payroll;
pub mod payroll_layouts;
pub mod rules;
pub mod settle;
pub mod source;
pub mod statements;
pub mod uk;
pub mod us_state;
pub mod withholding;
pub mod yearend;
