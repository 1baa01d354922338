//! `year-end`: the year's forms (W-2, 1099-NEC, P60/FPS, corrections, sales) written as one CSV
//! per form plus `year-end.json`, with the check against the payroll rows printed.

use anyhow::{Context as _, Result, bail};
use clap::Args;
use tokencomp_compliance::yearend::Figures;

use crate::Global;
use crate::company::{load, open_store};

#[derive(Args, Debug)]
pub struct YearEndArgs {
    /// The calendar year (UK staff: the tax year from 6 April of it).
    #[arg(long)]
    pub year: i16,
    /// Only this person.
    #[arg(long)]
    pub person: Option<String>,
    /// The directory to write the pack into (created owner-only; default `year-end-YEAR`).
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
    /// Print the JSON document instead of the summary.
    #[arg(long)]
    pub json: bool,
}

pub fn run(g: &Global, args: &YearEndArgs) -> Result<()> {
    let mut store = open_store(g)?;
    let company = load(&mut *store)?;
    let pack = tokencomp_service::yearend::pack(&company, args.year, args.person.as_deref(), "--year")?;
    let dir = args.out.clone().unwrap_or_else(|| format!("year-end-{}", args.year).into());
    tokencomp_store::private::dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, csv) in pack.files() {
        let path = dir.join(name);
        tokencomp_store::private::write(&path, csv.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let doc = pack.to_json();
    let path = dir.join("year-end.json");
    tokencomp_store::private::write(&path, format!("{doc:#}\n").as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    if args.json {
        crate::outln!("{doc:#}");
    } else {
        crate::outln!(
            "Year-end {} — {} people, {} sale pieces, written to {}",
            args.year,
            pack.people.len(),
            pack.sales.len(),
            dir.display()
        );
        for p in &pack.people {
            let form = match &p.figures {
                Figures::W2(w) => format!("W-2      box 1 {} box 2 {}", w.box1_wages, w.box2_federal_income_tax),
                Figures::Nec1099(n) => format!("1099-NEC box 1 {}", n.box1_nonemployee_compensation),
                Figures::P60 { p60, .. } => format!("P60      pay {} tax {}", p60.pay, p60.tax),
                Figures::Lstb(l) => format!("LStB     line 3 {} line 4 {}", l[0], l[1]),
                Figures::Flat { gross, tax } => format!("flat     gross {gross} tax {tax}"),
            };
            crate::outln!("  {:<16} {form} {}", p.person, p.currency);
        }
        for c in &pack.corrections {
            crate::outln!(
                "  {} for {}: corrects {} (paid in {})",
                c.form,
                c.person,
                c.corrected.join(" "),
                c.paid_in.join(" ")
            );
        }
        if !pack.open_periods.is_empty() {
            crate::outln!(
                "Provisional: periods {} are not closed; their rows may still change.",
                pack.open_periods.join(", ")
            );
        }
    }
    if !pack.differences.is_empty() {
        let lines: Vec<String> = pack
            .differences
            .iter()
            .map(|d| format!("  {} {}: year-end {} , payroll {}", d.person, d.figure, d.year_end, d.payroll))
            .collect();
        bail!("the year-end and the payroll rows that paid the year differ:\n{}", lines.join("\n"));
    }
    Ok(())
}
