//! `tokencomp docs [TOPIC]`: the repository's reference pages, built into the binary so a user
//! without the source can read the same text (the files under `docs/` and ARCHITECTURE.md).

use anyhow::Result;
use clap::Args;

#[derive(Args, Debug)]
pub struct DocsArgs {
    /// The page to print; without one, the list of pages.
    pub topic: Option<String>,
}

/// Topic, the file it prints (from the repository root), and its text.
const TOPICS: &[(&str, &str, &str)] = &[
    ("architecture", "ARCHITECTURE.md", include_str!("../../../ARCHITECTURE.md")),
    ("interfaces", "docs/interfaces.md", include_str!("../../../docs/interfaces.md")),
    ("errors", "docs/errors.md", include_str!("../../../docs/errors.md")),
    ("tax-rules", "docs/tax-rules.md", include_str!("../../../docs/tax-rules.md")),
    ("adr", "docs/adr/README.md", include_str!("../../../docs/adr/README.md")),
    ("company-file", "docs/company-file.md", include_str!("../../../docs/company-file.md")),
    ("ledger", "docs/ledger.md", include_str!("../../../docs/ledger.md")),
    ("compliance", "docs/compliance.md", include_str!("../../../docs/compliance.md")),
    ("year-end", "docs/year-end.md", include_str!("../../../docs/year-end.md")),
    ("exports", "docs/exports.md", include_str!("../../../docs/exports.md")),
    ("chain", "docs/chain.md", include_str!("../../../docs/chain.md")),
    ("analytics", "docs/analytics.md", include_str!("../../../docs/analytics.md")),
    ("governance", "docs/governance.md", include_str!("../../../docs/governance.md")),
    ("web", "docs/web.md", include_str!("../../../docs/web.md")),
    ("notices", "docs/notices.md", include_str!("../../../docs/notices.md")),
    ("time", "docs/time-and-ocf.md", include_str!("../../../docs/time-and-ocf.md")),
    ("testing", "docs/testing-and-benchmarks.md", include_str!("../../../docs/testing-and-benchmarks.md")),
];

pub fn run(args: &DocsArgs) -> Result<()> {
    match &args.topic {
        None => {
            for (topic, path, _) in TOPICS {
                crate::outln!("{topic:<14} {path}");
            }
            Ok(())
        }
        Some(want) => match TOPICS.iter().find(|(topic, _, _)| topic == want) {
            Some((_, _, text)) => {
                crate::out(format_args!("{text}"));
                Ok(())
            }
            None => {
                let names: Vec<&str> = TOPICS.iter().map(|(t, _, _)| *t).collect();
                Err(crate::bad_input(format!("no page `{want}`; the pages are {}", names.join(", ")), "TOPIC"))
            }
        },
    }
}
