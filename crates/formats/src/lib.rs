//! The files people and tools write, read and written exactly: the company TOML file, the
//! canonical fragments the ledger stores, CSV imports, Open Cap Format packages, the tax-rules
//! table's file, attestation JSON, and the diagnostics that point into them.
//!
//! Every reader reports all the problems of a file at once, with line, column and field; the
//! values it builds are `tokencomp_core`'s, which carry no serde.

pub mod attestation;
pub mod canonical;
pub mod company;
pub mod csv_text;
pub mod de_rules;
pub mod diag;
pub mod erp_map;
pub mod import;
pub mod notice_config;
pub mod ocf;
pub mod payroll_map;
pub mod rule_node;
pub mod tax_rules;
