//! Canonical TOML for grants and their events, and for the `[tokenomics]` section: the company file's own format, written back.
//!
//! The ledger stores grant terms and lifecycle events in this form and reads them back through
//! the same validating parser that reads company files, so what the ledger holds is always
//! something a person could have written, and reading it back can never skip a check.
//! Fiat-sized grants are written with their resolved `price`, so reading back never needs the
//! price history again. Architecture invariant: `parse(write(g)) == g` (property-tested).

use std::fmt::Write;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use tokencomp_money::{Token, TokenAmount};

use crate::company::{parse_recorded, percent};
use crate::diag::Diagnostic;
use tokencomp_core::attestation::Subject;
use tokencomp_core::calendar;
use tokencomp_core::grant::{Acceleration, EventKind, GrantEvent, MilestoneEffect, TerminationCause, Trigger};
use tokencomp_core::model::{CompanyFile, GrantPolicy, GrantSize, GrantTerms, MilestoneTerms, TermsEffect};
use tokencomp_core::schedule::{LinearModel, Period, Schedule};
use tokencomp_core::tokenomics::{BurnRule, EmissionRule, Tokenomics};

fn q(s: &str) -> String {
    // TOML basic strings: escape backslashes, quotes and control characters.
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn instant(t: calendar::Instant) -> String {
    jiff::Timestamp::from_second(t).map_or_else(|_| t.to_string(), |ts| q(&ts.to_string()))
}

/// The `[grant.schedule]`-style table body (without its header) for a schedule.
fn schedule_body(out: &mut String, s: &Schedule, token: &Token) {
    match s {
        Schedule::Calendar(c) => {
            match c.period() {
                Period::Months(len) => {
                    let _ = writeln!(out, "type = \"months\"");
                    let _ = writeln!(out, "start = {}", c.start());
                    let _ = writeln!(out, "every_months = {len}");
                    let _ = writeln!(out, "installments = {}", c.occurrences());
                    let _ = writeln!(out, "cliff_installments = {}", c.cliff());
                    let _ = writeln!(out, "day_of_month = {}", q(&c.day_of_month().ocf_name()));
                }
                Period::Days(len) => {
                    let _ = writeln!(out, "type = \"days\"");
                    let _ = writeln!(out, "start = {}", c.start());
                    let _ = writeln!(out, "every_days = {len}");
                    let _ = writeln!(out, "installments = {}", c.occurrences());
                    let _ = writeln!(out, "cliff_installments = {}", c.cliff());
                }
            }
            let _ = writeln!(out, "allocation = {}", q(c.allocation().ocf_name()));
        }
        Schedule::Linear(l) => {
            let _ = writeln!(out, "type = \"linear\"");
            let _ = writeln!(out, "start = {}", instant(l.start()));
            let _ = writeln!(out, "end = {}", instant(l.end()));
            if let Some(c) = l.cliff() {
                let _ = writeln!(out, "cliff = {}", instant(c));
            }
            let _ = writeln!(out, "granularity_seconds = {}", l.granularity());
            match l.model() {
                LinearModel::OpenZeppelin => {
                    let _ = writeln!(out, "model = \"openzeppelin\"");
                }
                LinearModel::Sablier { start_unlock, cliff_unlock } => {
                    let _ = writeln!(out, "model = \"sablier\"");
                    let f = |u| q(&token.format(tokencomp_money::TokenAmount::from_base_units(u)));
                    let _ = writeln!(out, "start_unlock = {}", f(start_unlock));
                    let _ = writeln!(out, "cliff_unlock = {}", f(cliff_unlock));
                }
            }
        }
        Schedule::Custom(c) => {
            let _ = writeln!(out, "type = \"custom\"");
            let _ = writeln!(out, "allocation = {}", q(c.allocation().ocf_name()));
            for (date, w) in c.tranches() {
                let _ = writeln!(out, "[[{{PATH}}.tranche]]\ndate = {date}\nweight = {}", q(&w.to_string()));
            }
        }
    }
}

/// Writes `[PATH]` (a schedule table) with its body; custom tranches become `[[PATH.tranche]]`.
fn schedule_table(out: &mut String, path: &str, s: &Schedule, token: &Token) {
    let _ = writeln!(out, "[{path}]");
    let mut body = String::new();
    schedule_body(&mut body, s, token);
    out.push_str(&body.replace("{PATH}", path));
}

/// The grant's policy keys, only those that are set: a grant without any writes exactly what it
/// did before they existed, so its ledger payload (and id) stays the same.
fn grant_policy(out: &mut String, p: &GrantPolicy) {
    if let Some(m) = p.withholding {
        let _ = writeln!(out, "withholding_method = {}", q(m.as_str()));
    }
    if let Some(floor) = p.floor {
        let _ = writeln!(out, "floor_usd = {}", q(&floor.to_string()));
    }
    if let Some(d) = p.settlement_date {
        let _ = writeln!(out, "settlement_date = {d}");
    }
    if p.transferred_at_grant {
        let _ = writeln!(out, "transferred_at_grant = true");
    }
    if let Some(d) = p.election_83b {
        let _ = writeln!(out, "election_83b = {d}");
    }
    if let Some(a) = p.attribution {
        let _ = writeln!(out, "attribution = {}", q(a.as_str()));
    }
    if let Some(c) = p.classification {
        let _ = writeln!(out, "classification = {}", q(c.as_str()));
    }
}

/// The `[[grant]]` table for a grant's terms, without its events.
pub fn write_terms(terms: &GrantTerms, token: &Token) -> String {
    let g = &terms.grant;
    let mut out = String::new();
    let _ = writeln!(out, "[[grant]]");
    let _ = writeln!(out, "id = {}", q(&g.id));
    let _ = writeln!(out, "holder = {}", q(&g.holder));
    let _ = writeln!(out, "grant_date = {}", terms.grant_date);
    match &terms.size {
        GrantSize::Tokens => {
            let _ = writeln!(out, "amount = {}", q(&token.format(g.amount)));
        }
        GrantSize::Fiat { value, currency, price, average_days } => {
            let _ = writeln!(out, "value = {}", q(&value.to_string()));
            let _ = writeln!(out, "currency = {}", q(currency.code()));
            let _ = writeln!(out, "price = {}", q(&price.to_string()));
            if let Some(days) = average_days {
                let _ = writeln!(out, "price_average_days = {days}");
            }
        }
    }
    grant_policy(&mut out, &terms.policy);
    schedule_table(&mut out, "grant.schedule", &g.schedule, token);
    for p in &g.performance {
        let _ = writeln!(out, "[[grant.performance]]");
        let _ = writeln!(out, "id = {}", q(&p.id));
        let _ = writeln!(out, "target = {}", q(&token.format(p.target)));
        let _ = writeln!(out, "cap_percent = {}", q(&percent(p.cap_bps)));
    }
    out
}

/// One `[[grant.event]]` table.
pub fn write_event(e: &GrantEvent, token: &Token) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "[[grant.event]]");
    let _ = writeln!(out, "id = {}", q(&e.id));
    let _ = writeln!(out, "date = {}", e.date);
    match &e.kind {
        EventKind::Leave { until } => {
            let _ = writeln!(out, "type = \"leave\"\nuntil = {until}");
        }
        EventKind::Termination { cause, acceleration } => {
            let cause = match cause {
                TerminationCause::Voluntary => "voluntary",
                TerminationCause::WithoutCause => "without_cause",
                TerminationCause::GoodReason => "good_reason",
                TerminationCause::ForCause => "for_cause",
                TerminationCause::DeathOrDisability => "death_or_disability",
            };
            let _ = writeln!(out, "type = \"termination\"\ncause = \"{cause}\"");
            match acceleration {
                None => {}
                Some(Acceleration::Months(m)) => {
                    let _ = writeln!(out, "accelerate_months = {m}");
                }
                Some(Acceleration::Percent { bps }) => {
                    let _ = writeln!(out, "accelerate_percent = {}", q(&percent(*bps)));
                }
            }
        }
        EventKind::ChangeOfControl { trigger } => {
            let _ = writeln!(out, "type = \"change_of_control\"");
            match trigger {
                Trigger::Single { bps } => {
                    let _ = writeln!(out, "trigger = \"single\"\npercent = {}", q(&percent(*bps)));
                }
                Trigger::Double { bps, window_months } => {
                    let _ = writeln!(
                        out,
                        "trigger = \"double\"\npercent = {}\nwindow_months = {window_months}",
                        q(&percent(*bps))
                    );
                }
            }
        }
        EventKind::Revocation => {
            let _ = writeln!(out, "type = \"revocation\"");
        }
        EventKind::Amendment { amount, schedule } => {
            let _ = writeln!(out, "type = \"amendment\"");
            if let Some(a) = amount {
                let _ = writeln!(out, "amount = {}", q(&token.format(*a)));
            }
            if let Some(s) = schedule {
                schedule_table(&mut out, "grant.event.schedule", s, token);
            }
        }
        EventKind::Milestone { effect } => {
            let _ = writeln!(out, "type = \"milestone\"");
            match effect {
                MilestoneEffect::Unlock { tranche } => {
                    let _ = writeln!(out, "effect = \"unlock\"\ntranche = {}", q(tranche));
                }
                MilestoneEffect::PullForward { periods } => {
                    let _ = writeln!(out, "effect = \"pull_forward\"\nperiods = {periods}");
                }
                MilestoneEffect::Scale { tranche, bps } => {
                    let _ =
                        writeln!(out, "effect = \"scale\"\ntranche = {}\npercent = {}", q(tranche), q(&percent(*bps)));
                }
            }
        }
    }
    out
}

/// The `[tokenomics]` section: buckets with resolved amounts (a `share` is written as the
/// amount it came to) and explicit schedule starts, then emissions and burns.
pub fn write_tokenomics(t: &Tokenomics, token: &Token) -> String {
    let amount = |a: TokenAmount| q(&token.format(a));
    let window = |out: &mut String, from: Date, to: Option<Date>| {
        let _ = writeln!(out, "from = {from}");
        if let Some(to) = to {
            let _ = writeln!(out, "to = {to}");
        }
    };
    let mut out = String::new();
    let _ = writeln!(out, "[tokenomics]");
    let _ = writeln!(out, "total_supply = {}", amount(t.total_supply));
    let _ = writeln!(out, "tge = {}", t.tge);
    for b in &t.buckets {
        let _ = writeln!(out, "[[tokenomics.bucket]]");
        let _ = writeln!(out, "id = {}", q(&b.id));
        let _ = writeln!(out, "name = {}", q(&b.name));
        let _ = writeln!(out, "kind = {}", q(b.kind.as_str()));
        let _ = writeln!(out, "amount = {}", amount(b.amount));
        schedule_table(&mut out, "tokenomics.bucket.schedule", &b.schedule, token);
    }
    for e in &t.emissions {
        let _ = writeln!(out, "[[tokenomics.emission]]");
        let _ = writeln!(out, "id = {}", q(&e.id));
        match &e.rule {
            EmissionRule::Inflation { annual_bps } => {
                let _ = writeln!(out, "kind = \"inflation\"\nrate = {}", q(&format!("{}%", percent(*annual_bps))));
            }
            EmissionRule::Fixed { per_month } => {
                let _ = writeln!(out, "kind = \"fixed\"\namount = {}", amount(*per_month));
            }
        }
        window(&mut out, e.from, e.to);
        let _ = writeln!(out, "into = {}", q(e.into.name()));
    }
    for b in &t.burns {
        let _ = writeln!(out, "[[tokenomics.burn]]");
        let _ = writeln!(out, "id = {}", q(&b.id));
        match &b.rule {
            BurnRule::Percent { monthly_bps } => {
                let _ = writeln!(out, "kind = \"percent\"\nrate = {}", q(&format!("{}%", percent(*monthly_bps))));
            }
            BurnRule::Fixed { per_month } => {
                let _ = writeln!(out, "kind = \"fixed\"\namount = {}", amount(*per_month));
            }
        }
        window(&mut out, b.from, b.to);
        let _ = writeln!(out, "of = {}", q(b.of.name()));
    }
    out
}

/// Reads a `[tokenomics]` section back with every check a company file gets.
pub fn read_tokenomics(token: &Token, tz_name: &str, text: &str) -> Result<Tokenomics, Vec<Diagnostic>> {
    let mut full = header(token, tz_name);
    full.push_str(text);
    let file: CompanyFile = parse_recorded("ledger", &full)?;
    file.tokenomics.ok_or_else(|| vec![Diagnostic::new("ledger", None, "no [tokenomics] in the fragment")])
}

/// A `[[milestone]]` as canonical TOML, the ledger's payload for it.
pub fn write_milestone(m: &MilestoneTerms) -> String {
    let ms = &m.milestone;
    let mut out = String::from("[[milestone]]\n");
    let _ = writeln!(out, "id = {}", q(&ms.id));
    match &ms.subject {
        Subject::Grant(g) => {
            let _ = writeln!(out, "grant = {}", q(g));
        }
        Subject::Team(t) => {
            let list: Vec<String> = m.grants.iter().map(|g| q(g)).collect();
            let _ = writeln!(out, "team = {}\ngrants = [{}]", q(t), list.join(", "));
        }
    }
    let _ = writeln!(out, "metric = {}", q(&ms.metric));
    let _ = writeln!(out, "comparison = {}", q(ms.comparison.as_str()));
    let _ = writeln!(out, "threshold = {}", q(&ms.threshold.to_string()));
    let _ = writeln!(out, "deadline = {}", m.deadline_date);
    let _ = writeln!(out, "quorum = {}", ms.quorum);
    match &m.effect {
        TermsEffect::Fixed(MilestoneEffect::Unlock { tranche }) => {
            let _ = writeln!(out, "effect = \"unlock\"\ntranche = {}", q(tranche));
        }
        TermsEffect::Fixed(MilestoneEffect::PullForward { periods }) => {
            let _ = writeln!(out, "effect = \"pull_forward\"\nperiods = {periods}");
        }
        TermsEffect::Fixed(MilestoneEffect::Scale { tranche, bps }) => {
            let _ = writeln!(out, "effect = \"scale\"\ntranche = {}\npercent = {}", q(tranche), q(&percent(*bps)));
        }
        TermsEffect::Graded { tranche } => {
            let _ = writeln!(out, "effect = \"scale\"\ntranche = {}\ngraded = true", q(tranche));
        }
    }
    out
}

/// Reads a milestone back from its fragment, with every check a company file gives it.
pub fn read_milestone(tz_name: &str, text: &str) -> Result<MilestoneTerms, Vec<Diagnostic>> {
    let token = Token::new("LEDGER", 0).map_err(|e| vec![Diagnostic::new("ledger", None, e.to_string())])?;
    let mut full = header(&token, tz_name);
    full.push_str(text);
    let file: CompanyFile = parse_recorded("ledger", &full)?;
    file.milestones
        .into_iter()
        .next()
        .ok_or_else(|| vec![Diagnostic::new("ledger", None, "no [[milestone]] in the fragment")])
}

/// The `[company]`-less header that gives fragments their token and time zone.
fn header(token: &Token, tz_name: &str) -> String {
    format!(
        "[company]\nname = \"ledger\"\ntime_zone = {}\n[token]\nsymbol = {}\ndecimals = {}\n",
        q(tz_name),
        q(token.symbol()),
        token.decimals()
    )
}

/// Reads a grant back from its terms and event fragments, with every check a company file
/// gets (the whole lifecycle must fold) but those only new input gets (`parse_recorded`).
pub fn read_grant(token: &Token, tz_name: &str, terms: &str, events: &[&str]) -> Result<GrantTerms, Vec<Diagnostic>> {
    let mut text = header(token, tz_name);
    text.push_str(terms);
    for e in events {
        text.push_str(e);
    }
    let file: CompanyFile = parse_recorded("ledger", &text)?;
    file.grants.into_iter().next().ok_or_else(|| vec![Diagnostic::new("ledger", None, "no grant in the fragment")])
}

/// The time zone's IANA name, for `read_grant`.
pub fn tz_name(tz: &TimeZone) -> &str {
    tz.iana_name().unwrap_or("UTC")
}

/// The date a linear instant falls on, for callers that show it.
pub fn local_date(t: calendar::Instant, tz: &TimeZone) -> Option<Date> {
    calendar::date_of(t, tz).ok()
}
