//! Compliance commands: `payroll` (and `payroll close`), `sell`, `books`, `rollforward`,
//! `tax-report`, `price correct`: flags in, the service's reports out, printed or written.

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use tokencomp_compliance::lots;
use tokencomp_compliance::statements;
use tokencomp_money::TokenAmount;
use tokencomp_service::reports::{PriceCorrection, Sale, TaxReport};

use tokencomp_service::payroll::{export, income_events, write_export};
use tokencomp_service::reports::date_arg;

use tokencomp_service::ledger::record_checked;

use crate::company::{load, load_all, open_store};
use crate::{Global, bad_input};

#[derive(Args, Debug)]
pub struct PayrollArgs {
    #[command(subcommand)]
    pub command: Option<PayrollCommand>,
    /// The pay period (ids as `pay_frequency` defines them, e.g. `2026-10`).
    #[arg(long)]
    pub period: Option<String>,
    /// Write the CSV here instead of standard output.
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
    /// The file's layout: generic (tokencomp's own CSV), or a payroll provider's import layout:
    /// gusto, rippling, adp or deel (with --out; docs/exports.md).
    #[arg(long, default_value = "generic")]
    pub layout: String,
    /// The company's own column map for the provider layout (TOML), instead of the shipped one.
    #[arg(long)]
    pub map: Option<std::path::PathBuf>,
    /// Write the provider layout's shipped column map here, to edit and pass back with --map.
    #[arg(long)]
    pub write_map: Option<std::path::PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum PayrollCommand {
    /// Freeze the period's export: it never changes again; later corrections become
    /// adjustment rows in the next open period.
    Close {
        #[arg(long)]
        period: String,
        /// Also write the frozen export here (owner-only), with the ledger's head beside it in
        /// `FILE.anchor.json`.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Read a provider's payroll register back and reconcile the withholding it computed
    /// against ours: every difference by person and tax line; exit 1 when any differs.
    Reconcile {
        /// rippling, adp or deel (gusto's layout is refused, so it has no register to read).
        #[arg(long)]
        layout: String,
        /// The register (CSV) exported from the provider.
        file: std::path::PathBuf,
        #[arg(long)]
        period: String,
        /// The company's own column map (TOML) instead of the shipped one.
        #[arg(long)]
        map: Option<std::path::PathBuf>,
    },
}

fn read_map(map: Option<&std::path::PathBuf>) -> Result<Option<(String, String)>> {
    map.map(|m| {
        let text = std::fs::read_to_string(m).with_context(|| format!("reading {}", m.display()))?;
        Ok((m.display().to_string(), text))
    })
    .transpose()
}

pub fn run(g: &Global, args: &PayrollArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let loaded = load_all(&mut *store)?;
    let company = loaded.company()?;
    match &args.command {
        Some(PayrollCommand::Reconcile { layout, file, period, map }) => {
            let period = tokencomp_service::payroll::check_period(company, period, &format!("--period {period}"))?;
            let map = read_map(map.as_ref())?;
            let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
            let name = file.display().to_string();
            let differences = tokencomp_service::layouts::reconcile_register(
                company,
                &period,
                layout,
                map.as_ref().map(|(n, t)| (n.as_str(), t.as_str())),
                &name,
                &text,
            )?;
            if differences.is_empty() {
                crate::outln!(
                    "{name}: the {layout} register agrees with payroll {} on every person and tax line",
                    period.id
                );
                return Ok(());
            }
            crate::out(format_args!("{}", tokencomp_compliance::payroll_layouts::differences_text(&differences)));
            Err(anyhow::anyhow!(
                "{} difference{} between the {layout} register and payroll {}",
                differences.len(),
                if differences.len() == 1 { "" } else { "s" },
                period.id
            ))
        }
        Some(PayrollCommand::Close { period, out }) => {
            let field = format!("--period {period}");
            match tokencomp_service::payroll::close_with(&mut *store, Some(&loaded), period, &field, &g.stamp())? {
                None => crate::outln!("payroll {period} is already closed; its export never changes"),
                Some((rows, digest)) => crate::outln!("closed payroll {period}: {rows} rows, sha256 {digest}"),
            }
            if let Some(path) = out {
                let company = load(&mut *store)?;
                let period = tokencomp_service::payroll::check_period(&company, period, &field)?;
                let csv = export(&company, &[], &period)?;
                write_export(&mut *store, &company, &period.id, &csv, path)?;
            }
            Ok(())
        }
        None => {
            let Some(period) = &args.period else {
                return Err(bad_input(
                    "`tokencomp payroll` needs --period ID (or `payroll close --period ID`)",
                    "--period",
                ));
            };
            let period = tokencomp_service::payroll::check_period(company, period, &format!("--period {period}"))?;
            if args.layout != "generic" {
                return provider_export(g, company, &period, args);
            }
            let events = income_events(company, period.end)?;
            let csv = export(company, &events, &period)?;
            // Each provisional period exported before, compared with what its export is now.
            let data = g.dir();
            let changes = tokencomp_service::exports::changes(&data, company, &mut |id| {
                if id == period.id {
                    return Ok(csv.clone());
                }
                let p = tokencomp_service::payroll::check_period(company, id, "exports")?;
                export(company, &income_events(company, p.end)?, &p)
            })?;
            for c in &changes {
                eprintln!("warning: {}", c.render());
            }
            tokencomp_service::exports::record(&data, company, &period.id, &csv)?;
            match &args.out {
                Some(path) => write_export(&mut *store, company, &period.id, &csv, path)?,
                None => crate::out(format_args!("{csv}")),
            }
            Ok(())
        }
    }
}

/// `payroll --period P --layout X --out FILE`: the provider's layout and its sidecar.
fn provider_export(
    g: &Global,
    company: &tokencomp_store::ledger::Company,
    period: &tokencomp_core::period::PayPeriod,
    args: &PayrollArgs,
) -> Result<()> {
    let layout = args.layout.as_str();
    if let Some(path) = &args.write_map {
        let text = tokencomp_service::layouts::builtin_map(layout)?;
        tokencomp_store::private::write(path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        crate::outln!(
            "wrote the {layout} column map to {}: edit it, then pass --map {}",
            path.display(),
            path.display()
        );
        return Ok(());
    }
    let Some(out) = &args.out else {
        return Err(bad_input(format!("--layout {layout} writes a file and its sidecar: give --out FILE"), "--out"));
    };
    let map = read_map(args.map.as_ref())?;
    let provisional = tokencomp_service::exports::is_provisional(company, &period.id);
    let export = tokencomp_service::layouts::layout_export(
        company,
        period,
        layout,
        map.as_ref().map(|(n, t)| (n.as_str(), t.as_str())),
        provisional,
        g.stamp().at,
        out,
    )?;
    let sidecar = tokencomp_service::layouts::write_layout_export(&export)?;
    let m = &export.map;
    crate::outln!(
        "wrote {} ({} payroll {}) and {}",
        export.path.display(),
        layout,
        if provisional { "provisional: the period is not closed" } else { "final" },
        sidecar.display()
    );
    crate::outln!("  token income as: {}; sell-to-cover cash: {}", m.non_cash_earning, m.cash_path);
    if export.editable {
        crate::outln!(
            "  note: {layout} does not document these columns; this is an editable column map \
             (--write-map FILE, edit, --map FILE): check it against your {layout} account. {}",
            m.source
        );
    } else {
        crate::outln!("  layout source: {}", m.source);
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct SellArgs {
    /// Who sold.
    #[arg(long)]
    pub person: String,
    /// The wallet the tokens left (default: the person's delivery wallet).
    #[arg(long)]
    pub wallet: Option<String>,
    /// Tokens sold, in whole tokens (e.g. `1250.5`).
    #[arg(long)]
    pub amount: String,
    /// USD per whole token.
    #[arg(long)]
    pub price: String,
    /// The sale's date.
    #[arg(long)]
    pub on: String,
    /// The sale's total fee in USD (it reduces the proceeds).
    #[arg(long, default_value = "0")]
    pub fee: String,
    /// Specific lots: `LOT=AMOUNT,LOT=AMOUNT` (US only); otherwise `--method`.
    #[arg(long, conflicts_with = "method")]
    pub lots: Option<String>,
    /// fifo, lifo or hifo (US); UK and German sales always follow their statutory matching.
    #[arg(long)]
    pub method: Option<String>,
    /// A stable id for the sale (default: derived from its content, so a repeat is a no-op).
    #[arg(long)]
    pub id: Option<String>,
}

pub fn sell(g: &Global, args: &SellArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let loaded = load_all(&mut *store)?;
    loaded.company()?;
    let sale = Sale {
        person: args.person.clone(),
        wallet: args.wallet.clone(),
        amount: args.amount.clone(),
        price: args.price.clone(),
        on: args.on.clone(),
        fee: args.fee.clone(),
        lots: args.lots.clone(),
        method: args.method.clone(),
        id: args.id.clone(),
    };
    // The sale is checked against the person's lots under the write lock: two sales at once
    // cannot both spend the same tokens.
    let (appended, (id, done)) = record_checked(&mut *store, &g.stamp(), Some(&loaded), |l| {
        tokencomp_service::reports::sale_facts(l.company()?, &sale)
    })?;
    if appended.new == 0 {
        crate::outln!("sale {id} was already recorded");
    } else {
        crate::outln!("{done}");
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct BooksArgs {
    #[arg(long)]
    pub from: String,
    #[arg(long)]
    pub to: String,
    /// csv, beancount or hledger; or an ERP's journal import: quickbooks, xero or netsuite
    /// (with --map).
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// The chart-of-accounts mapping file (TOML, docs/exports.md) the ERP formats translate
    /// accounts with.
    #[arg(long)]
    pub map: Option<std::path::PathBuf>,
    /// Write a starter mapping file listing every account the books use, unmapped, and stop.
    #[arg(long, conflicts_with_all = ["map", "person"])]
    pub write_map: Option<std::path::PathBuf>,
    /// A person's own lots and gains instead of the company's books.
    #[arg(long)]
    pub person: Option<String>,
    /// Write here instead of standard output.
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
}

pub fn books(g: &Global, args: &BooksArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let from = date_arg(&args.from, "--from")?;
    let to = date_arg(&args.to, "--to")?;
    if let Some(path) = &args.write_map {
        let text = tokencomp_service::reports::erp_starter_map(&company, from, to)?;
        tokencomp_store::private::write(path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        crate::outln!("wrote a starter mapping to {}: fill in each ERP's account for every line", path.display());
        return Ok(());
    }
    let text = match (&args.map, args.person.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(bad_input("ERP journals are the company's books: --map cannot go with --person", "--map"));
        }
        (Some(map), None) => {
            let map_text = std::fs::read_to_string(map).with_context(|| format!("reading {}", map.display()))?;
            let name = map.display().to_string();
            tokencomp_service::reports::erp_books(&company, from, to, &args.format, &name, &map_text)?
        }
        (None, person) => tokencomp_service::reports::books_text(&company, from, to, &args.format, person)?,
    };
    match &args.out {
        Some(path) => tokencomp_store::private::write(path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?,
        None => crate::out(format_args!("{text}")),
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct RollforwardArgs {
    #[arg(long)]
    pub from: String,
    #[arg(long)]
    pub to: String,
    #[arg(long)]
    pub json: bool,
}

pub fn rollforward(g: &Global, args: &RollforwardArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let from = date_arg(&args.from, "--from")?;
    let to = date_arg(&args.to, "--to")?;
    let report = tokencomp_service::reports::rollforward(&company, from, to)?;
    if args.json {
        crate::outln!("{}", serde_json::to_string_pretty(&report.to_json())?);
        return Ok(());
    }
    let (token, r) = (&report.token, &report.r);
    let u = |a: TokenAmount| token.format(a);
    crate::outln!("Rollforward {from} to {to} ({}, expense in USD)", token.symbol());
    crate::outln!("  units outstanding at start  {:>28}", u(r.units.opening));
    crate::outln!("  + granted                   {:>28}", u(r.units.granted));
    crate::outln!("  - vested                    {:>28}", u(r.units.vested));
    crate::outln!("  - forfeited                 {:>28}", u(r.units.forfeited));
    crate::outln!("  = outstanding at end        {:>28}", u(r.units.closing));
    crate::outln!("  expense recognized before   {:>28}", r.expense.opening);
    crate::outln!("  + recognized in the period  {:>28}", r.expense.recognized);
    crate::outln!("  = recognized to date        {:>28}", r.expense.closing);
    crate::outln!("  unrecognized (outstanding)  {:>28}", r.expense.unrecognized);
    Ok(())
}

#[derive(Args, Debug)]
pub struct TaxReportArgs {
    #[arg(long)]
    pub person: String,
    #[arg(long)]
    pub year: i16,
    #[arg(long)]
    pub json: bool,
    /// Write the person's Form 8949 rows (CSV) here.
    #[arg(long)]
    pub form_8949: Option<std::path::PathBuf>,
}

pub fn tax_report(g: &Global, args: &TaxReportArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let report = tokencomp_service::reports::tax_report(&company, &args.person, args.year, "--year")?;
    if let Some(path) = &args.form_8949 {
        let csv = report.form_8949_csv();
        tokencomp_store::private::write(path, csv.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        crate::outln!("{}", serde_json::to_string_pretty(&report.to_json())?);
        return Ok(());
    }
    print_tax_report(&report);
    Ok(())
}

fn print_tax_report(report: &TaxReport) {
    let (token, who, y, uk) = (&report.token, &report.person, &report.y, report.uk);
    let cur = y.currency.code();
    let label = tokencomp_service::reports::tax_year_label(report.year, uk);
    crate::outln!("Tax report {label} — {} ({}), {} ({})", who.name, who.id, statements::regime(who), cur);
    crate::outln!("Income ({} events): {} {cur}", y.income.len(), y.gross);
    for e in &y.income {
        crate::outln!(
            "  {}  {:<10} {:>24} {} at {} {cur} = {} {cur}{}",
            e.income_date,
            e.grant,
            token.format_display(e.units, 2),
            token.symbol(),
            e.price,
            e.token_income,
            if e.top_up.is_zero() { String::new() } else { format!(" + top-up {}", e.top_up) }
        );
    }
    crate::outln!("Withheld:");
    for (k, v) in &y.withheld {
        crate::outln!("  {k:<24} {v:>14} {cur}");
    }
    crate::outln!("Disposals ({}):", y.disposals.len());
    for d in &y.disposals {
        crate::outln!(
            "  {}  {:<28} {:>24} proceeds {:>12} basis {:>12} gain {:>12} {:?}",
            d.sold,
            d.lot,
            token.format_display(d.amount, 2),
            d.proceeds,
            d.basis,
            d.gain,
            d.term
        );
    }
    crate::outln!("Gains: short term {} {cur}, long term {} {cur}", y.short_gain, y.long_gain);
    if statements::regime(who) == tokencomp_compliance::lots::Regime::De {
        // The year's disposals are all the exemption limit looks at.
        let year = lots::Book { disposals: y.disposals.clone(), open: Vec::new() };
        crate::outln!(
            "Taxable private-sale gain (after the exemption limit): {} EUR",
            lots::de_taxable_gain(&year, report.year)
        );
    }
}

#[derive(Subcommand, Debug)]
pub enum PriceCommand {
    /// Replace a recorded close (a price fixed after the fact). Closed payroll periods keep
    /// their export; the difference reaches the next open period as adjustments.
    Correct(CorrectPriceArgs),
}

#[derive(Args, Debug)]
pub struct CorrectPriceArgs {
    #[arg(long)]
    pub date: String,
    /// The corrected close per whole token.
    #[arg(long)]
    pub close: String,
    #[arg(long, default_value = "USD")]
    pub currency: String,
    /// Why, for the audit trail.
    #[arg(long)]
    pub reason: String,
}

pub fn price(g: &Global, cmd: &PriceCommand) -> Result<()> {
    let PriceCommand::Correct(args) = cmd;
    let mut store = open_store(g)?;
    let loaded = load_all(&mut *store)?;
    loaded.company()?;
    let correction = PriceCorrection {
        date: args.date.clone(),
        close: args.close.clone(),
        currency: args.currency.clone(),
        reason: args.reason.clone(),
    };
    // Compared with the close as it stands under the write lock.
    let (_, done) = record_checked(&mut *store, &g.stamp(), Some(&loaded), |l| {
        tokencomp_service::reports::correction(l.company()?, &correction)
    })?;
    crate::outln!("{done}");
    Ok(())
}
