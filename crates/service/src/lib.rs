//! What a company can do, once: open its ledger and record facts with every rule that guards a
//! write, run periods, payroll, reports, the chain plan, oracle submissions, analytics and
//! governance. Plain functions over the folded company, the [`tokencomp_store::Store`] and the
//! chain's [`tokencomp_chain::Backend`]; time, the actor and progress are parameters, results are
//! typed and write their own JSON once, and every failure is one [`Error`].
//!
//! The CLI (argument parsing, tables, charts, prompts, exit codes) and the HTTP API (routes,
//! roles, status codes) both call this crate, so a file the browser downloads is the file the
//! CLI writes.

pub mod data;
pub mod error;
pub mod ledger;

pub use data::DataDir;
pub use error::{Error, Result};
pub mod analytics;
pub mod apply;
pub mod audit;
pub mod chain;
pub mod changes;
pub mod demo;
pub mod exports;
pub mod gov;
pub mod layouts;
pub mod notices;
pub mod oracle;
pub mod payroll;
pub mod pdf;
pub mod portal;
pub mod reports;
pub mod rules;
pub mod statement;
pub mod wallets;
pub mod yearend;
