//! `tokencomp schedule` and the first version of `tokencomp demo`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde_json::{Value, json};
use tokencomp_core::model::CompanyFile;
use tokencomp_core::{Grant, Timeline};
use tokencomp_formats::diag::Diagnostic;
use tokencomp_money::Token;

#[derive(Args, Debug)]
pub struct ScheduleArgs {
    /// The company file (TOML), or an OCF package folder (with Manifest.ocf.json).
    pub file: PathBuf,
    /// Evaluate as of the end of this day in the company's time zone (YYYY-MM-DD), or at an
    /// RFC 3339 instant. Defaults to today.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Only this grant.
    #[arg(long)]
    pub grant: Option<String>,
    /// Print JSON (the shape in docs/interfaces.md#schedule-json) instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// What `schedule` works on, whichever format it came from.
pub struct Loaded {
    pub token: Token,
    pub tz: TimeZone,
    pub grants: Vec<Grant>,
}

/// Every problem of an input (exit 2, each printed with its place).
pub fn report(diags: &[Diagnostic]) -> anyhow::Error {
    anyhow::Error::new(tokencomp_service::ledger::rejected(diags))
}

pub fn load_company_text(name: &str, text: &str) -> Result<CompanyFile> {
    Ok(tokencomp_service::ledger::parse_company(name, text)?)
}

fn load(path: &Path) -> Result<Loaded> {
    if path.is_dir() {
        return load_ocf(path);
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path.display().to_string();
    let file = load_company_text(&name, tokencomp_service::ledger::decode(&name, &bytes)?)?;
    Ok(from_company(file))
}

fn from_company(file: CompanyFile) -> Loaded {
    Loaded {
        token: file.token.token,
        tz: file.company.time_zone,
        grants: file.grants.into_iter().map(|g| g.grant).collect(),
    }
}

/// An OCF package folder. OCF dates carry no time zone: they are read as UTC days.
pub fn load_ocf(dir: &Path) -> Result<Loaded> {
    let manifest = dir.join("Manifest.ocf.json");
    let mut read = |p: &str| std::fs::read_to_string(p).map_err(|e| e.to_string());
    let import =
        tokencomp_formats::ocf::read_package(&manifest.display().to_string(), &mut read).map_err(|d| report(&d))?;
    for w in &import.warnings {
        eprintln!("{}", w.to_string().replacen("error:", "warning:", 1));
    }
    let package = import.package;
    Ok(Loaded {
        token: package.token,
        tz: TimeZone::UTC,
        grants: package.grants.into_iter().map(|g| g.grant).collect(),
    })
}

/// `--as-of`: a date, or an instant converted to the company-local date.
pub fn parse_as_of(s: Option<&str>, tz: &TimeZone, default: Option<Date>) -> Result<Date> {
    match s {
        Some(s) => {
            if let Ok(d) = s.parse::<Date>() {
                return Ok(d);
            }
            let ts: jiff::Timestamp = s.parse().map_err(|_| {
                eprintln!("error: `{s}` is not a date (YYYY-MM-DD) or an RFC 3339 time\n  --> --as-of");
                crate::reported()
            })?;
            Ok(ts.to_zoned_datetime(tz.clone()).date())
        }
        None => Ok(default.unwrap_or_else(|| jiff::ZonedDateTime::now().with_time_zone(tz.clone()).date())),
    }
}

pub fn run(args: &ScheduleArgs) -> Result<()> {
    let loaded = load(&args.file)?;
    let as_of = parse_as_of(args.as_of.as_deref(), &loaded.tz, None)?;
    print(&loaded, as_of, args.grant.as_deref(), args.json)
}

fn timelines<'a>(loaded: &'a Loaded, as_of: Date, only: Option<&str>) -> Result<Vec<(&'a Grant, Timeline)>> {
    let mut out = Vec::new();
    for g in loaded.grants.iter().filter(|g| only.is_none_or(|id| g.id == id)) {
        let t = g.timeline(&loaded.tz, Some(as_of)).with_context(|| format!("grant {}", g.id))?;
        out.push((g, t));
    }
    if let Some(id) = only
        && out.is_empty()
    {
        eprintln!("error: no grant has id `{id}`\n  --> --grant");
        return Err(crate::reported());
    }
    Ok(out)
}

pub fn schedule_json(token: &Token, as_of: Date, items: &[(&Grant, Timeline)]) -> Value {
    let grants: Vec<Value> = items
        .iter()
        .map(|(g, t)| {
            let p = t.position(as_of);
            json!({
                "id": g.id,
                "holder": g.holder,
                "granted": p.granted.to_string(),
                "vested": p.vested.to_string(),
                "unvested": p.unvested.to_string(),
                "forfeited": p.forfeited.to_string(),
                "pending": t.pending.to_string(),
                "tranches": t.tranches.iter().map(|x| json!({
                    "date": x.date.to_string(),
                    "amount": x.amount.to_string(),
                    "cumulative": x.cumulative.to_string(),
                    "reason": x.reason.as_str(),
                })).collect::<Vec<_>>(),
                "forfeitures": t.forfeitures.iter().map(|f| json!({
                    "date": f.date.to_string(),
                    "amount": f.amount.to_string(),
                    "reason": f.reason.as_str(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "token": {"symbol": token.symbol(), "decimals": token.decimals()},
        "as_of": as_of.to_string(),
        "grants": grants,
    })
}

fn print(loaded: &Loaded, as_of: Date, only: Option<&str>, as_json: bool) -> Result<()> {
    let items = timelines(loaded, as_of, only)?;
    if as_json {
        crate::outln!("{}", serde_json::to_string_pretty(&schedule_json(&loaded.token, as_of, &items))?);
        return Ok(());
    }
    crate::out(format_args!("{}", render_tables(&loaded.token, as_of, &items)));
    Ok(())
}

/// The people-facing view: a summary line per grant, then each grant's schedule with the
/// vested rows marked.
pub fn render_tables(token: &Token, as_of: Date, items: &[(&Grant, Timeline)]) -> String {
    use std::fmt::Write;
    let places = token.decimals().min(2);
    let f = |a| token.format_display(a, places);
    let mut out = String::new();
    let _ = writeln!(out, "{} ({} decimals), as of {as_of}", token.symbol(), token.decimals());
    let _ = writeln!(
        out,
        "{:<26} {:<14} {:>18} {:>18} {:>18} {:>18}",
        "grant", "holder", "granted", "vested", "unvested", "forfeited"
    );
    for (g, t) in items {
        let p = t.position(as_of);
        let _ = writeln!(
            out,
            "{:<26} {:<14} {:>18} {:>18} {:>18} {:>18}",
            g.id,
            g.holder,
            f(p.granted),
            f(p.vested),
            f(p.unvested),
            f(p.forfeited)
        );
    }
    for (g, t) in items {
        let _ = writeln!(out, "\n{} ({})", g.id, g.holder);
        let _ = writeln!(out, "  {:<12} {:>18} {:>18}  reason", "date", "amount", "cumulative");
        for x in &t.tranches {
            let mark = if x.date <= as_of { "*" } else { " " };
            let _ = writeln!(
                out,
                "{mark} {:<12} {:>18} {:>18}  {}",
                x.date.to_string(),
                f(x.amount),
                f(x.cumulative),
                x.reason.as_str()
            );
        }
        for x in &t.forfeitures {
            let mark = if x.date <= as_of { "*" } else { " " };
            let _ = writeln!(
                out,
                "{mark} {:<12} {:>18} {:>18}  forfeited: {}",
                x.date.to_string(),
                f(x.amount),
                "",
                x.reason.as_str()
            );
        }
    }
    let _ = writeln!(
        out,
        "\n* = on or before {as_of}; amounts in {} shown to {places} decimals (exact values: --json)",
        token.symbol()
    );
    out
}
