//! `apply`: a company file recorded against the ledger as a plan first — exactly which events
//! would be added, corrected (each differing field, old → new), reversed or kept — then, unless
//! it is a dry run, the plan's events in one guarded write.
//!
//! What the file no longer lists is reversed only when the file put it there: every event
//! carries its origin ([`tokencomp_store::ledger::origin`]), and a lifecycle event recorded from
//! the command line or the API (a `grant terminate`) is kept, and shown as kept, unless the
//! grant lists it under `reverse = ["event-id", …]` or the caller asks for every unlisted event
//! to be reversed (`apply --reverse-unlisted`). A conflict (a recorded price given another
//! close) is reported for every event at once, with the command that changes it instead.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde_json::Value;
use tokencomp_core::model::CompanyFile;
use tokencomp_formats::canonical::{write_event, write_terms};
use tokencomp_store::ledger::origin::{Origin, origins, same_payload};
use tokencomp_store::ledger::{Company, Fact, distinct_reverts};
use tokencomp_store::{Appended, NewEvent, Store, StoredEvent};

use crate::changes::{conflict_line, describe, json_changes, slot, toml_changes};
use crate::error::{Error, Result, bad_input};
use crate::ledger::{Loaded, Stamp, file_facts, record_checked};

/// What one step of a plan does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Add,
    Correct,
    Reverse,
    /// Not in the file, recorded another way: left as it is.
    Keep,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Add => "add",
            Action::Correct => "correct",
            Action::Reverse => "reverse",
            Action::Keep => "keep",
        }
    }
}

/// One line of a plan: what (`person ada`, `event termination-2026-04-30 of grant g1`), the
/// fields that differ (field, old, new) for a correction, and why, where that needs saying.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub action: Action,
    pub what: String,
    pub changes: Vec<(String, String, String)>,
    pub note: Option<String>,
}

/// What applying a file does to the ledger.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub file: String,
    pub steps: Vec<Step>,
    /// Events the file gives that the ledger already holds.
    pub unchanged: usize,
    /// Events the ledger holds with other content, each as a readable line with what to run.
    pub conflicts: Vec<String>,
}

impl Plan {
    fn count(&self, a: Action) -> usize {
        self.steps.iter().filter(|s| s.action == a).count()
    }

    /// The plan as `apply` prints it.
    pub fn render(&self) -> String {
        let mut out = format!(
            "plan for {}: {} to add, {} to correct, {} to reverse, {} kept, {} unchanged\n",
            self.file,
            self.count(Action::Add),
            self.count(Action::Correct),
            self.count(Action::Reverse),
            self.count(Action::Keep),
            self.unchanged
        );
        for s in &self.steps {
            let _ = write!(out, "  {:<8} {}", s.action.as_str(), s.what);
            if !s.changes.is_empty() {
                let changes: Vec<String> = s.changes.iter().map(|(f, o, n)| format!("{f} {o} → {n}")).collect();
                let _ = write!(out, ": {}", changes.join("; "));
            }
            if let Some(n) = &s.note {
                let _ = write!(out, " ({n})");
            }
            out.push('\n');
        }
        for c in &self.conflicts {
            let _ = writeln!(out, "  conflict {c}");
        }
        out
    }

    pub fn to_json(&self) -> Value {
        let steps: Vec<Value> = self
            .steps
            .iter()
            .map(|s| {
                let changes: Vec<Value> =
                    s.changes.iter().map(|(f, o, n)| serde_json::json!({"field": f, "old": o, "new": n})).collect();
                serde_json::json!({"action": s.action.as_str(), "what": s.what, "changes": changes, "note": s.note})
            })
            .collect();
        serde_json::json!({"file": self.file, "steps": steps, "unchanged": self.unchanged, "conflicts": self.conflicts})
    }
}

/// How `apply` treats what the file does not list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Plan only: nothing is recorded.
    pub dry_run: bool,
    /// Reverse every recorded lifecycle event of the file's grants that the file does not list,
    /// whatever its origin.
    pub reverse_unlisted: bool,
}

/// The grants' lifecycle events the file no longer lists, and what becomes of each: reversed
/// (the file recorded it, or the file or the caller says so) or kept.
fn unlisted(
    company: &Company,
    origin_of: &BTreeMap<&str, &Origin>,
    file: &CompanyFile,
    file_name: &str,
    options: Options,
) -> Result<(Vec<Fact>, Vec<Step>)> {
    let token = &file.token.token;
    let listed: BTreeSet<(&str, &str)> = file.reverse.iter().map(|(g, e)| (g.as_str(), e.as_str())).collect();
    let mut facts = Vec::new();
    let mut kept = Vec::new();
    let mut problems = Vec::new();
    for terms in &file.grants {
        let g = &terms.grant;
        let Some(rec) = company.grants.get(&g.id) else {
            if let Some((_, e)) = file.reverse.iter().find(|(rg, _)| *rg == g.id) {
                problems.push(format!("grant `{}` lists `{e}` under reverse, but the grant is not recorded yet", g.id));
            }
            continue;
        };
        let in_file: BTreeMap<&str, String> = g.events.iter().map(|e| (e.id.as_str(), write_event(e, token))).collect();
        for (id, stored) in &rec.events {
            match in_file.get(id.as_str()) {
                Some(t) if t != stored => problems.push(format!(
                    "event `{id}` of grant `{}` changed; recorded events are immutable: remove it (it is reversed) and add the corrected one under a new id",
                    g.id
                )),
                Some(_) => {}
                None => {
                    let key = format!("grant:{}:event:{id}", g.id);
                    let origin = origin_of.get(key.as_str()).map_or(Origin::Cli, |o| (*o).clone());
                    let asked = listed.contains(&(g.id.as_str(), id.as_str()));
                    if origin.is_file() || asked || options.reverse_unlisted {
                        facts.push(Fact::GrantEventReversed { grant: g.id.clone(), event_id: id.clone() });
                    } else {
                        kept.push(Step {
                            action: Action::Keep,
                            what: format!("event {id} of grant {}", g.id),
                            changes: Vec::new(),
                            note: Some(format!(
                                "recorded from {origin}, not in the file; to reverse it list it under the grant's reverse = [\"{id}\"] or pass --reverse-unlisted"
                            )),
                        });
                    }
                }
            }
        }
        for (rg, e) in file.reverse.iter().filter(|(rg, _)| *rg == g.id) {
            if !rec.events.iter().any(|(id, _)| id == e) {
                problems
                    .push(format!("grant `{rg}` lists `{e}` under reverse, but the grant has no recorded event `{e}`"));
            }
        }
        for e in &g.events {
            if !rec.events.iter().any(|(id, _)| id == &e.id) {
                facts.push(Fact::GrantEvent {
                    grant: g.id.clone(),
                    event_id: e.id.clone(),
                    event: in_file[e.id.as_str()].clone(),
                });
            }
        }
    }
    if !problems.is_empty() {
        let text: String = problems.iter().map(|p| format!("error: {p}\n  --> {file_name}\n")).collect();
        return Err(Error::Rejected { field: file_name.to_owned(), text });
    }
    Ok((facts, kept))
}

/// What recording `file` over the ledger amounts to: its facts, and the events kept although
/// the file no longer lists them.
pub fn diff(loaded: &Loaded, file: &CompanyFile, file_name: &str, options: Options) -> Result<(Vec<Fact>, Vec<Step>)> {
    let company = loaded.company()?;
    if company.token.token != file.token.token {
        return Err(bad_input(
            format!(
                "the token is {} with {} decimals in the ledger; a company cannot change its token's decimals or symbol",
                company.token.token.symbol(),
                company.token.token.decimals()
            ),
            &format!("{file_name} (token)"),
        ));
    }
    let token = &file.token.token;
    let all = origins(&loaded.events);
    let origin_of: BTreeMap<&str, &Origin> =
        loaded.events.iter().map(|e| e.event.id.as_str()).zip(all.iter()).collect();
    let mut facts = Vec::new();
    // The file's own facts, grants replaced by what differs from the recorded ones.
    for fact in file_facts(file) {
        if let Fact::GrantIssued { grant, .. } | Fact::GrantEvent { grant, .. } = &fact
            && company.grants.contains_key(grant)
        {
            continue;
        }
        facts.push(fact);
    }
    for terms in &file.grants {
        let g = &terms.grant;
        let Some(rec) = company.grants.get(&g.id) else { continue };
        let mut bare = terms.clone();
        bare.grant.events.clear();
        let toml = write_terms(&bare, token);
        if toml != rec.terms_toml {
            facts.push(Fact::GrantCorrected { grant: g.id.clone(), holder: g.holder.clone(), terms: toml });
        }
    }
    let (more, kept) = unlisted(company, &origin_of, file, file_name, options)?;
    facts.extend(more);
    Ok((facts, kept))
}

/// The plan of recording `facts` (as `by`) over `loaded`, with the kept steps of the diff.
pub fn plan(loaded: &Loaded, facts: &[Fact], kept: Vec<Step>, by: &Stamp, file_name: &str) -> (Plan, Vec<NewEvent>) {
    let mut events: Vec<NewEvent> = facts.iter().map(|f| by.event(f)).collect();
    distinct_reverts(&loaded.events, &mut events);
    let recorded: BTreeMap<&str, &StoredEvent> = loaded.events.iter().map(|e| (e.event.id.as_str(), e)).collect();
    // The latest event of each latest-wins slot (`person:ada`), to name what a change changes.
    let mut slots: BTreeMap<String, &StoredEvent> = BTreeMap::new();
    for e in &loaded.events {
        if let Some(slot) = slot(&e.event) {
            slots.insert(slot, e);
        }
    }
    let company = loaded.company().ok();
    let all = origins(&loaded.events);
    let origin_of: BTreeMap<&str, &Origin> =
        loaded.events.iter().map(|e| e.event.id.as_str()).zip(all.iter()).collect();
    let mut plan = Plan { file: file_name.to_owned(), ..Plan::default() };
    let mut seen = BTreeSet::new();
    for (fact, e) in facts.iter().zip(&events) {
        if !seen.insert(e.id.clone()) {
            continue;
        }
        if let Some(stored) = recorded.get(e.id.as_str()) {
            if same_payload(&stored.event.payload, &e.payload) {
                plan.unchanged += 1;
            } else {
                plan.conflicts.push(conflict_line(fact, stored, company));
            }
            continue;
        }
        let what = describe(fact);
        let step = match fact {
            Fact::GrantEventReversed { grant, event_id } => {
                let key = format!("grant:{grant}:event:{event_id}");
                let note = match origin_of.get(key.as_str()) {
                    Some(o) if o.is_file() => format!("recorded from {o}, not in the file"),
                    Some(o) => format!("recorded from {o}; listed under reverse or --reverse-unlisted"),
                    None => "not in the file".to_owned(),
                };
                Step { action: Action::Reverse, what, changes: Vec::new(), note: Some(note) }
            }
            Fact::GrantCorrected { grant, terms, .. } => {
                let old = company.and_then(|c| c.grants.get(grant)).map(|r| r.terms_toml.as_str()).unwrap_or("");
                Step { action: Action::Correct, what, changes: toml_changes(old, terms), note: None }
            }
            _ => match slot(e).and_then(|s| slots.get(&s)) {
                Some(before) => Step {
                    action: Action::Correct,
                    what,
                    changes: json_changes(&before.event.payload, &e.payload),
                    note: None,
                },
                None => Step { action: Action::Add, what, changes: Vec::new(), note: None },
            },
        };
        plan.steps.push(step);
    }
    plan.steps.extend(kept);
    (plan, events)
}

/// Applies a company file: its plan, and unless `options.dry_run` its events, recorded under
/// the write lock (the plan is made again there, from the ledger as it stands, and that plan
/// is the one returned). A plan with conflicts records nothing and is refused with the plan.
pub fn apply(
    store: &mut dyn Store,
    known: &Loaded,
    file: &CompanyFile,
    file_name: &str,
    by: &Stamp,
    options: Options,
) -> Result<(Plan, Option<Appended>)> {
    let by = by.clone().from(Origin::File(file_name.to_owned()));
    if options.dry_run {
        let (facts, kept) = diff(known, file, file_name, options)?;
        let (plan, _) = plan(known, &facts, kept, &by, file_name);
        return Ok((plan, None));
    }
    let (a, plan) = record_checked(store, &by, Some(known), |l| {
        let (facts, kept) = diff(l, file, file_name, options)?;
        let (plan, _) = plan(l, &facts, kept, &by, file_name);
        if !plan.conflicts.is_empty() {
            return Err(refused(&plan));
        }
        Ok::<_, Error>((facts, plan))
    })?;
    Ok((plan, Some(a)))
}

/// A plan with conflicts, refused: the plan, then the count.
pub fn refused(plan: &Plan) -> Error {
    let n = plan.conflicts.len();
    let text = format!(
        "{}{n} conflict{} with the ledger; nothing was changed\n",
        plan.render(),
        if n == 1 { "" } else { "s" }
    );
    Error::Rejected { field: plan.file.clone(), text }
}
