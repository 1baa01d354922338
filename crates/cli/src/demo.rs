//! `tokencomp demo`: the sample company, loaded into a fresh data directory and run through its
//! demo date.

use anyhow::{Context, Result};
use clap::Args;
use jiff::ToSpan;
use tokencomp_money::TokenAmount;

use crate::company::{load, open_store};
use crate::{Global, bad_input};
use tokencomp_service::payroll::timelines;

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Replace what is in the data directory.
    #[arg(long)]
    pub force: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Then serve the dashboards (log in with the demo accounts in the README).
    #[arg(long)]
    pub serve: bool,
    /// Where `--serve` listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
}

pub fn run(g: &Global, args: &DemoArgs) -> Result<()> {
    if g.database.is_none() && g.data.exists() && std::fs::read_dir(&g.data)?.next().is_some() {
        if !args.force {
            return Err(bad_input(
                format!("{} is not empty", g.data.display()),
                "pass --force to replace it, or --data DIR for another directory",
            ));
        }
        std::fs::remove_dir_all(&g.data).with_context(|| format!("clearing {}", g.data.display()))?;
    }
    let by = tokencomp_service::ledger::Stamp::new("system", jiff::Timestamp::now());
    let mut store = open_store(g)?;
    let bar = if args.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} periods {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        b.set_prefix("run");
        b
    };
    let demo = tokencomp_service::demo::build(&g.dir(), &mut *store, &by, &mut |p| {
        bar.set_length(p.total as u64);
        bar.set_message(p.period.clone());
        bar.set_position(p.done as u64);
    })?;
    bar.finish_and_clear();
    for line in &demo.oracle.stderr {
        eprintln!("{line}");
    }
    for line in &demo.oracle.stdout {
        crate::outln!("{line}");
    }
    let (through, periods, events) = (demo.through, demo.run.periods, demo.run.events);
    // The dashboards' logins, so `--serve` has something to show.
    crate::serve::demo_users(g)?;
    let company = load(&mut *store)?;
    let tl = timelines(&company, through.checked_add(1.month())?)?;
    let token = &company.token.token;
    let sum = |f: &dyn Fn(&tokencomp_core::Timeline) -> TokenAmount| TokenAmount::checked_sum(tl.values().map(f));
    let granted = sum(&|t| t.position(through).granted)?;
    let vested = sum(&|t| t.position(through).vested)?;
    let forfeited = sum(&|t| t.position(through).forfeited)?;
    let next_from = through.tomorrow()?;
    let next_to = next_from.last_of_month();
    let next = TokenAmount::checked_sum(
        tl.values()
            .flat_map(|t| t.tranches.iter())
            .filter(|x| x.date >= next_from && x.date <= next_to)
            .map(|x| x.amount),
    )?;
    let f = |a: TokenAmount| format!("{} {}", token.format_display(a, 2), token.symbol());
    crate::outln!("{} — demo through {through}", company.company.name);
    crate::outln!(
        "  ledger         {} ({} events, {periods} periods run, {events} events from the run)",
        store.describe(),
        store.len()?
    );
    crate::outln!("  people         {}", company.people.len());
    crate::outln!("  grants         {}", company.grants.len());
    crate::outln!("  granted        {}", f(granted));
    crate::outln!("  vested         {}", f(vested));
    crate::outln!("  forfeited      {}", f(forfeited));
    crate::outln!("  vesting {next_from}..{next_to}: {}", f(next));

    // The last periods' payroll (the company's month; the UK tax month for people paid in the
    // UK), from the same compliance pass the reports use.
    let income = tokencomp_service::payroll::income_events(&company, through)?;
    let mut last_id = String::new();
    for uk in [false, true] {
        let p = tokencomp_service::payroll::pay_period_of(&company, uk, through);
        let mut totals: std::collections::BTreeMap<&str, (tokencomp_money::Decimal, tokencomp_money::Decimal, usize)> =
            std::collections::BTreeMap::new();
        for e in income.iter().filter(|e| {
            (e.currency == tokencomp_money::Currency::GBP) == uk && e.income_date >= p.start && e.income_date <= p.end
        }) {
            let t = totals.entry(e.currency.code()).or_default();
            t.0 += e.gross();
            t.1 += e.withholding.employee_total();
            t.2 += 1;
        }
        for (cur, (gross, withheld, n)) in &totals {
            crate::outln!("  payroll {:<11} {n} vests, wages {gross} {cur}, withheld {withheld} {cur}", p.id);
        }
        if !uk {
            last_id = p.id;
        }
    }
    let on_chain = &demo.chain;
    let r = &on_chain.report;
    crate::outln!(
        "  chain          VestingManager {} on the embedded chain ({} transactions, {} gas)",
        on_chain.deployment.manager,
        on_chain.transactions,
        on_chain.gas
    );
    crate::outln!(
        "  reconcile      {} matched, {} missing on chain, {} unexpected on chain, {} amount mismatches",
        r.matched.len(),
        r.missing_on_chain.len(),
        r.unexpected_on_chain.len(),
        r.amount_mismatch.len()
    );
    // The demo market's TWAP beside the close it followed, for the last full market day.
    let company = crate::company::load(&mut *store)?;
    let (first, last) = match on_chain.twap_days.as_slice() {
        [first, .., last] => (*first, *last),
        _ => anyhow::bail!("the demo recorded no TWAP points"),
    };
    let day = last;
    let fmv = tokencomp_service::reports::price_book(&company).fmv(tokencomp_core::model::FmvSource::Twap(1), day)?;
    let close = company.prices.get(&(tokencomp_money::Currency::USD, day)).copied().unwrap_or_default();
    crate::outln!(
        "  twap           Uniswap V2 pair {}: points {first}..{last}; {day} 1-day TWAP {} USD (close {close})",
        on_chain.market.pair,
        fmv.price
    );
    if let Some(t) = &company.tokenomics {
        let tl = tokencomp_service::payroll::timelines(&company, through)?;
        let outstanding = tl
            .values()
            .filter_map(tokencomp_core::tokenomics::outstanding)
            .try_fold(0u128, u128::checked_add)
            .ok_or(tokencomp_money::AmountError::Overflow)?;
        let b = tokencomp_core::tokenomics::team_budget(t, outstanding)?;
        let tok = &company.token.token;
        crate::outln!(
            "  team budget    {} of {} {} granted and outstanding, {} left",
            tok.format_display(b.outstanding, 0),
            tok.format_display(b.allocation, 0),
            tok.symbol(),
            tok.format_display(b.remaining, 0)
        );
    }
    crate::outln!(
        "\nnext: `tokencomp grants`, `tokencomp calendar --from {next_from} --to {next_to}`, `tokencomp history GRANT`,\n      \
         `tokencomp payroll --period {}`, `tokencomp tax-report --person ada --year {}`, \
         `tokencomp books --from {}-01-01 --to {through} --format beancount`,\n      \
         `tokencomp chain reconcile --label-wallets`, `tokencomp chain price --from {}`,\n      \
         `tokencomp tokenomics`, `tokencomp simulate --person ada`, `tokencomp fairness` (charts in {}/charts),\n      \
         `tokencomp gov tally treasury-2027`, `tokencomp serve` (logins: admin, auditor, ada, omar; password demo-NAME-pw)",
        last_id,
        through.year(),
        through.year(),
        first,
        g.data.display()
    );
    if args.serve {
        drop(store);
        let serve = crate::serve::args::<crate::serve::ServeArgs>(&["--listen", &args.listen, "--label-wallets"])?;
        return crate::serve::serve(g, &serve);
    }
    Ok(())
}
