//! The sample company, loaded into an empty ledger and run through its demo date: its prices
//! and rates, the chain's manager, the demo oracle's attestation, every period, governance, and
//! the same vesting on the embedded chain, reconciled.

use jiff::civil::Date;
use tokencomp_store::Store;

use crate::chain::{self, DemoChain};
use crate::data::DataDir;
use crate::error::{Context, Error, Result};
use crate::ledger::{ImportKind, Stamp, import_text, init_with, load, load_all, parse_company};
use crate::oracle::{self, DemoOracle};
use crate::payroll::{RunOutcome, RunProgress, run_through};

/// The sample company, built in so the demo runs from any directory.
pub const SAMPLE_COMPANY: &str = include_str!("../../../examples/company.toml");
/// The sample company's daily prices, built in with the company file.
pub const SAMPLE_PRICES: &str = include_str!("../../../examples/prices.csv");
/// The sample company's daily GBP and EUR rates per USD, for its UK and German payroll.
pub const SAMPLE_FX: &str = include_str!("../../../examples/fx.csv");

/// What the demo did.
pub struct Demo {
    pub through: Date,
    pub oracle: DemoOracle,
    pub run: RunOutcome,
    pub chain: DemoChain,
}

/// Builds the demo in `store` (which must be empty) and the data directory's chain files.
pub fn build(
    data: &DataDir,
    store: &mut dyn Store,
    by: &Stamp,
    progress: &mut dyn FnMut(&RunProgress),
) -> Result<Demo> {
    let file = parse_company("examples/company.toml", SAMPLE_COMPANY)?;
    let through = file.company.demo_through.context("the sample company sets demo_through")?;
    if store.len()? > 0 {
        return Err(Error::invalid("the database already has a company", "demo needs an empty ledger"));
    }
    init_with(
        store,
        &file,
        &by.clone().from(tokencomp_store::ledger::origin::Origin::File("examples/company.toml".into())),
    )?;
    // Prices and rates do not depend on the ledger: nothing to fold for them.
    import_text(store, None, ImportKind::Prices, "examples/prices.csv", SAMPLE_PRICES, by)?;
    import_text(store, None, ImportKind::Fx, "examples/fx.csv", SAMPLE_FX, by)?;
    let company = load(store)?;
    // The chain's manager first, so the demo oracle can sign for its domain; its attestation
    // goes into the ledger before the periods run, so October's payroll sees the milestone.
    chain::demo_deploy(data, &company)?;
    let attestations = oracle::demo(data, store, by)?;
    let loaded = load_all(store)?;
    let run = run_through(store, Some(&loaded), through, by, progress)?;
    // Governance, so the dashboards have something to show.
    crate::gov::demo(store, by)?;
    let company = load(store)?;
    // The same vesting on the embedded chain, reconciled against the ledger and payroll.
    let on_chain = chain::demo_steps(data, store, &company, through, &attestations.files, by)?;
    Ok(Demo { through, oracle: attestations, run, chain: on_chain })
}
