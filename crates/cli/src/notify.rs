//! `tokencomp notify`: one run of the notices scheduler from cron (the same run `serve` makes on
//! its interval): every notice the ledger calls for through `--through` is put in the outbox
//! once, and what is due is sent; `--list` shows the outbox and its delivery log instead.

use anyhow::Result;
use clap::Args;
use jiff::Timestamp;
use jiff::civil::Date;
use tokencomp_formats::notice_config::NoticeConfig;

use crate::company::{load, open_store};
use crate::{Global, bad_input};

#[derive(Args, Debug)]
pub struct NotifyArgs {
    /// The last day whose vests, milestones and closes are notified (upcoming vests are counted
    /// from it); today in the company's zone by default.
    #[arg(long)]
    pub through: Option<Date>,
    /// List the outbox (newest 200 notices, with each attempt) instead of running.
    #[arg(long)]
    pub list: bool,
    /// A fixed "now" (RFC 3339), for tests.
    #[arg(long, hide = true)]
    pub now: Option<String>,
}

pub fn run(g: &Global, args: &NotifyArgs) -> Result<()> {
    let data = g.dir();
    let mut store = open_store(g)?;
    if args.list {
        for q in store.outbox().queued(200)? {
            let n = &q.notice;
            crate::outln!(
                "{} {:<13} {:<7} {:<9} {} {}",
                &n.key[..12],
                n.kind,
                n.channel,
                q.state,
                n.recipient,
                n.subject
            );
            for a in store.outbox().attempts(&n.key)? {
                crate::outln!(
                    "    attempt {} at {} {} {}",
                    a.attempt,
                    a.at,
                    if a.ok { "ok" } else { "failed" },
                    a.detail
                );
            }
        }
        return Ok(());
    }
    let Some(cfg) = tokencomp_service::notices::load_config(&data)? else {
        return Err(bad_input(
            format!(
                "{} does not exist: write it (owner-only) with the SMTP server and webhooks (docs/notices.md)",
                tokencomp_service::notices::config_path(&data).display()
            ),
            "notices.toml",
        ));
    };
    let now = match &args.now {
        Some(s) => s.parse::<Timestamp>().map_err(|e| bad_input(format!("`{s}`: {e}"), "--now"))?,
        None => Timestamp::now(),
    };
    let company = load(&mut *store)?;
    let through = args.through.unwrap_or_else(|| now.to_zoned_datetime(company.company.time_zone.clone()).date());
    let outcome = tokencomp_service::notices::run(&mut *store, &company, &data, &cfg, through, now)?;
    crate::outln!(
        "notices through {through}: {} new in the outbox, {} sent, {} to retry, {} failed",
        outcome.enqueued,
        outcome.sent,
        outcome.retrying,
        outcome.failed
    );
    for d in &outcome.deferred {
        crate::outln!("  waiting: {d}");
    }
    Ok(())
}

/// The scheduler `serve` runs: every `interval_seconds` of the notices file, the ledger is held
/// only to enqueue and claim, sending happens on a blocking thread without it, and each attempt
/// is logged under the lock again. A failed run is reported on standard error (never a secret:
/// the service's errors name fields, endpoints by name) and the next run tries again.
pub async fn scheduler(state: tokencomp_api::AppState, data: tokencomp_service::DataDir, cfg: NoticeConfig) {
    use tokencomp_service::notices;
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(u64::from(cfg.interval_seconds)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let c = cfg.clone();
        let claimed = state
            .with(move |cx| {
                let through = cx.today();
                let outcome = notices::enqueue(cx.store, cx.company, &c, through, cx.now)?;
                Ok((outcome, notices::claim(cx.store, &c, cx.now)?))
            })
            .await;
        let (outcome, claimed) = match claimed {
            Ok(x) => x,
            Err(e) => {
                eprintln!("notices: {e}");
                continue;
            }
        };
        for d in &outcome.deferred {
            eprintln!("notices: waiting: {d}");
        }
        if claimed.is_empty() {
            continue;
        }
        let (c, dir, now) = (cfg.clone(), data.clone(), state.now());
        let sent = tokio::task::spawn_blocking(move || {
            let results = notices::deliver(&c, &dir, &claimed, now);
            (claimed, results)
        })
        .await;
        let Ok((claimed, results)) = sent else { continue };
        let c = cfg.clone();
        let logged = state
            .with(move |cx| {
                for (q, r) in claimed.iter().zip(results) {
                    notices::record(cx.store, &c, q, r, now)?;
                }
                Ok(())
            })
            .await;
        if let Err(e) = logged {
            eprintln!("notices: {e}");
        }
    }
}
