//! Loading a company into the ledger: `init`, `apply`, `import`, and single grant actions.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use jiff::Timestamp;
use jiff::civil::Date;
use tokencomp_core::grant::{Acceleration, EventKind, GrantEvent, MilestoneEffect, TerminationCause, Trigger};
use tokencomp_core::model::{CompanyFile, GrantPolicy, GrantSize, GrantTerms};
use tokencomp_core::schedule::{Allocation, Calendar, DayOfMonth, Period, Schedule};
use tokencomp_core::tokenomics;
use tokencomp_formats::canonical::{write_event, write_terms};
use tokencomp_money::TokenAmount;
use tokencomp_store::ledger::{Company, Fact, FoldError, distinct_reverts, latest_wins};
use tokencomp_store::postgres::PostgresStore;
use tokencomp_store::sqlite::SqliteStore;
use tokencomp_store::{Appended, Checked, LedgerRead, NewEvent, Store, StoreError, StoredEvent, append_checked};

use crate::schedule::{load_company_text, report};
use crate::{BadInput, Global, bad_input};

/// The SQLite ledger's file name inside the data directory.
pub const LEDGER_FILE: &str = "ledger.sqlite";
/// The data directory's own subdirectories: signing keys, logins, the chain's files, the demo
/// oracle's files, charts.
pub const DATA_SUBDIRS: [&str; 5] = ["keys", "auth", "chain", "evals", "charts"];

/// Opens the company's ledger: PostgreSQL when `--database` names one, else the SQLite file in
/// the data directory (created on first use). `Send`, so `serve` can hand it to its threads.
pub fn open_store(g: &Global) -> Result<Box<dyn Store + Send>> {
    // Owner-only, always: what tokencomp keeps here from before this rule is brought under it
    // (its own subdirectories only: the directory may hold files of the user's).
    if g.data.is_dir() {
        let restrict = |dir: &Path, depth| {
            tokencomp_store::private::tighten(dir, depth).with_context(|| format!("restricting {}", dir.display()))
        };
        restrict(&g.data, 0)?;
        for sub in DATA_SUBDIRS {
            let dir = g.data.join(sub);
            if dir.is_dir() && !dir.is_symlink() {
                restrict(&dir, 1)?;
            }
        }
    }
    match &g.database {
        Some(url) => Ok(Box::new(PostgresStore::connect(url).context("connecting to PostgreSQL")?)),
        None => {
            // Owner-only, always: the ledger holds salaries and emails, `keys/` signing keys.
            tokencomp_store::private::dir(&g.data).with_context(|| format!("creating {}", g.data.display()))?;
            let path = g.data.join(LEDGER_FILE);
            Ok(Box::new(SqliteStore::open(&path).with_context(|| format!("opening {}", path.display()))?))
        }
    }
}

/// The ledger as a command read it: how many events it had, the events, and the company
/// folded from them (`None` while the ledger holds no company yet).
pub struct Loaded {
    pub len: i64,
    pub events: Vec<StoredEvent>,
    company: Option<Company>,
}

fn no_company() -> anyhow::Error {
    bad_input("the data directory has no company yet", "run `tokencomp init FILE` first")
}

impl Loaded {
    pub fn read(events: Vec<StoredEvent>) -> Result<Loaded> {
        let len = events.last().map_or(0, |e| e.seq);
        let company = match Company::fold(&events) {
            Ok(c) => Some(c),
            Err(FoldError::Empty) => None,
            Err(e) => return Err(anyhow::Error::new(e)),
        };
        Ok(Loaded { len, events, company })
    }

    /// The company, or bad input when the ledger has none yet.
    pub fn company(&self) -> Result<&Company> {
        self.company.as_ref().ok_or_else(no_company)
    }

    pub fn into_company(self) -> Result<Company> {
        self.company.ok_or_else(no_company)
    }
}

/// Reads and folds the whole ledger.
pub fn load_all(store: &mut dyn Store) -> Result<Loaded> {
    Loaded::read(store.events()?)
}

/// Folds the ledger into the company's state.
pub fn load(store: &mut dyn Store) -> Result<Company> {
    load_all(store)?.into_company()
}

/// The guarded write as the commands use it: `decide` runs under the ledger-wide write lock on
/// the ledger as it stands and returns the events to append (with a value for the caller), in
/// the same transaction. Its error is the command's (bad input stays exit 2); a conflicting
/// event is bad input too, and nothing is written.
pub fn guarded<T>(
    store: &mut dyn Store,
    decide: impl FnOnce(&mut dyn LedgerRead) -> Result<(Vec<NewEvent>, T)>,
) -> Result<(Appended, T)> {
    let mut value = None;
    let appended = append_checked(store, Timestamp::now(), |ledger| {
        let (events, t) = decide(ledger)?;
        value = Some(t);
        Ok::<_, anyhow::Error>(events)
    });
    match (appended, value) {
        (Ok(a), Some(t)) => Ok((a, t)),
        (Ok(_), None) => anyhow::bail!("a guarded write appended without deciding"),
        (Err(Checked::Refused(e)), _) => Err(e),
        (Err(Checked::Store(e @ StoreError::Conflict { .. })), _) => Err(bad_input(e, &store.describe())),
        (Err(Checked::Store(e)), _) => Err(e.into()),
    }
}

/// Records what `decide` makes of the ledger, deciding under the write lock (see [`guarded`]):
/// every rule that guards the write runs in `decide` or here (the team budget), on the ledger as
/// it stands. `known` is a ledger the command already read: reused when nothing was appended
/// since (its length is the head's sequence; events are never removed), so a guarded write costs
/// one more query, not a second fold.
pub fn record_checked<T>(
    store: &mut dyn Store,
    actor: &str,
    known: Option<&Loaded>,
    decide: impl FnOnce(&Loaded) -> Result<(Vec<Fact>, T)>,
) -> Result<(Appended, T)> {
    guarded(store, |ledger| {
        let len = ledger.head()?.map_or(0, |h| h.0);
        let fresh;
        let current = match known {
            Some(k) if k.len == len => k,
            _ => {
                fresh = Loaded::read(ledger.events()?)?;
                &fresh
            }
        };
        let (facts, t) = decide(current)?;
        let mut events: Vec<NewEvent> = facts.iter().map(|f| f.to_event(actor)).collect();
        distinct_reverts(&current.events, &mut events);
        // The total first: a team budget over grants that overflow could only saturate.
        check_grant_rules(current, &events, &facts)?;
        Ok((events, t))
    })
}

/// Appends facts as one transaction, checking the team budget under the write lock when they
/// touch it; a conflicting event is bad input (exit 2) and nothing is written. For facts whose
/// other rules depend on the ledger, use [`record_checked`].
pub fn record(store: &mut dyn Store, facts: &[Fact], actor: &str) -> Result<Appended> {
    let mut events: Vec<NewEvent> = facts.iter().map(|f| f.to_event(actor)).collect();
    let (a, ()) = guarded(store, |ledger| {
        if facts.iter().any(touches_budget) || events.iter().any(latest_wins) {
            let current = Loaded::read(ledger.events()?)?;
            distinct_reverts(&current.events, &mut events);
            check_grant_rules(&current, &events, facts)?;
        }
        Ok((events, ()))
    })?;
    Ok(a)
}

/// The ledger's grants, each folded to its total, and the `[tokenomics]` supply: what a grants
/// CSV must fit beside.
fn recorded_grants(c: &Company) -> tokencomp_formats::import::Recorded {
    tokencomp_formats::import::Recorded { supply: c.tokenomics.as_ref().map(|t| t.total_supply), granted: granted(c) }
}

/// Each grant's folded total (performance tranches and amendments included).
fn granted(c: &Company) -> BTreeMap<String, TokenAmount> {
    c.grants.keys().filter_map(|id| Some((id.clone(), granted_of(c, id)?))).collect()
}

/// One grant's folded total; a grant whose timeline cannot be built (refused when recorded)
/// counts its amount.
fn granted_of(c: &Company, id: &str) -> Option<TokenAmount> {
    let g = &c.grants.get(id)?.terms.grant;
    Some(g.timeline(&c.company.time_zone, None).map_or(g.amount, |t| t.granted))
}

/// What one grant still holds against the supply: its total less what it forfeited (a
/// terminated grant's unvested tokens go back to the treasury and may be granted again).
fn committed_of(c: &Company, id: &str) -> Option<TokenAmount> {
    let g = &c.grants.get(id)?.terms.grant;
    let Ok(t) = g.timeline(&c.company.time_zone, None) else { return Some(g.amount) };
    let forfeited = t.forfeitures.iter().try_fold(TokenAmount::ZERO, |a, f| a.checked_add(f.amount)).ok()?;
    Some(t.granted.saturating_sub(forfeited))
}

/// The rules on grants a batch must keep, decided under the write lock on the ledger as it
/// would be after `events` (folded once for both): the grants' total and the team budget.
fn check_grant_rules(current: &Loaded, events: &[NewEvent], facts: &[Fact]) -> Result<()> {
    if !facts.iter().any(touches_budget) {
        return Ok(());
    }
    // A batch that does not fold is refused elsewhere or was never a budget question.
    let Ok(new) = Company::fold(&appended(&current.events, events)) else { return Ok(()) };
    check_grants_total(current, &new, facts)?;
    check_team_budget(current, &new, facts)
}

/// Every command that records grants (init, apply, grant add, import grants, lifecycle events),
/// under the write lock: when the batch issues a grant or raises one's total, the grants of the
/// ledger as it would be after `events`, summed in id order with the batch's own grants last,
/// must fit in a `u128`, and what they still hold (less forfeitures) must stay within the
/// `[tokenomics]` total supply, or the batch is refused (exit 2, nothing written) naming the
/// grant that crosses. Without this the
/// calendar's, the company's and the tokenomics' totals could not be formed. A batch that
/// raises no grant (a termination) is never refused here, so a ledger recorded before the
/// check can still be operated on.
fn check_grants_total(current: &Loaded, new: &Company, facts: &[Fact]) -> Result<()> {
    let touched: BTreeSet<&str> = facts.iter().filter_map(fact_grant).collect();
    let before = current.company.as_ref();
    let raised = touched.iter().any(|id| granted_of(new, id) > before.and_then(|c| granted_of(c, id)));
    if !raised {
        return Ok(());
    }
    let supply = new.tokenomics.as_ref().map(|t| t.total_supply);
    let all = granted(new);
    let token = &new.token.token;
    let fmt = |a: TokenAmount| format!("{} {}", token.format(a), token.symbol());
    let (mine, others): (Vec<_>, Vec<_>) = all.iter().partition(|(id, _)| touched.contains(id.as_str()));
    let (mut total, mut committed) = (TokenAmount::ZERO, TokenAmount::ZERO);
    for (id, granted) in others.into_iter().chain(mine) {
        let next = total.checked_add(*granted).map_err(|_| {
            bad_input(
                format!(
                    "grant `{id}` of {} takes the grants' total past 128 bits of base units ({} before it)",
                    fmt(*granted),
                    fmt(total)
                ),
                &format!("grant `{id}`"),
            )
        })?;
        // Below the u128 bound, so this sum cannot overflow.
        let held = committed_of(new, id).unwrap_or(*granted);
        let next_committed = committed.checked_add(held).unwrap_or(next);
        if let Some(supply) = supply
            && next_committed > supply
        {
            return Err(bad_input(
                format!(
                    "grant `{id}` of {} takes the grants' total to {}, above the total supply of {} in [tokenomics]",
                    fmt(*granted),
                    fmt(next_committed),
                    fmt(supply)
                ),
                &format!("grant `{id}`"),
            ));
        }
        total = next;
        committed = next_committed;
    }
    Ok(())
}

/// The grant a fact is about, when it is about one.
fn fact_grant(f: &Fact) -> Option<&str> {
    match f {
        Fact::GrantIssued { grant, .. }
        | Fact::GrantCorrected { grant, .. }
        | Fact::GrantEvent { grant, .. }
        | Fact::GrantEventReversed { grant, .. } => Some(grant.as_str()),
        _ => None,
    }
}

/// The ledger's events with `events` appended (ids already recorded are skipped, as the store
/// does).
fn appended(before: &[StoredEvent], events: &[NewEvent]) -> Vec<StoredEvent> {
    let mut ids: BTreeSet<String> = before.iter().map(|e| e.event.id.clone()).collect();
    let mut after = before.to_vec();
    let mut seq = before.last().map_or(0, |e| e.seq);
    for e in events {
        if ids.insert(e.id.clone()) {
            seq += 1;
            after.push(StoredEvent {
                seq,
                event: e.clone(),
                recorded_at: Timestamp::UNIX_EPOCH,
                prev_hash: String::new(),
                hash: String::new(),
            });
        }
    }
    after
}

/// Whether a fact can change what grants claim from the team pool, or the pool itself.
fn touches_budget(f: &Fact) -> bool {
    matches!(
        f,
        Fact::GrantIssued { .. }
            | Fact::GrantCorrected { .. }
            | Fact::GrantEvent { .. }
            | Fact::GrantEventReversed { .. }
            | Fact::Tokenomics { .. }
    )
}

/// Per grant, what it claims from the team pool: granted minus forfeited. A grant whose
/// timeline cannot be built claims its whole amount.
fn claims(c: &Company) -> BTreeMap<String, u128> {
    let tz = &c.company.time_zone;
    c.grants
        .iter()
        .map(|(id, r)| {
            let g = &r.terms.grant;
            let claim = g.timeline(tz, None).ok().and_then(|t| tokenomics::outstanding(&t));
            (id.clone(), claim.unwrap_or(g.amount.base_units()))
        })
        .collect()
}

fn excess(c: &Company) -> u128 {
    let Some(t) = &c.tokenomics else { return 0 };
    let outstanding = claims(c).values().fold(0u128, |a, v| a.saturating_add(*v));
    tokenomics::team_budget(t, outstanding).map_or(0, |b| b.excess().base_units())
}

/// The team budget, checked in one place for every command that records grants (init, apply,
/// grant add, import grants, lifecycle events): on `new`, the ledger as it would be after the
/// batch, a batch that takes the grants further past the team bucket than they already
/// were is refused (exit 2, nothing written), naming the first grant that crosses. A company
/// without `[tokenomics]` has no budget.
fn check_team_budget(current: &Loaded, new: &Company, facts: &[Fact]) -> Result<()> {
    let Some(t) = &new.tokenomics else { return Ok(()) };
    let old_excess = current.company.as_ref().map_or(0, excess);
    let new_claims = claims(new);
    let total = new_claims.values().fold(0u128, |a, v| a.saturating_add(*v));
    let budget = tokenomics::team_budget(t, total).map_err(|e| bad_input(e, "[tokenomics]"))?;
    if budget.excess().base_units() == 0 || budget.excess().base_units() <= old_excess {
        return Ok(());
    }
    let token = &new.token.token;
    let fmt = |u: u128| format!("{} {}", token.format(TokenAmount::from_base_units(u)), token.symbol());
    let allocation = budget.allocation.base_units();
    let location = format!("team budget (tokenomics bucket `{}`)", budget.bucket);
    let mut touched: Vec<&str> = Vec::new();
    for f in facts {
        let id = match f {
            Fact::GrantIssued { grant, .. }
            | Fact::GrantCorrected { grant, .. }
            | Fact::GrantEvent { grant, .. }
            | Fact::GrantEventReversed { grant, .. } => grant.as_str(),
            _ => continue,
        };
        if !touched.contains(&id) {
            touched.push(id);
        }
    }
    let mut base = new_claims
        .iter()
        .filter(|(id, _)| !touched.contains(&id.as_str()))
        .fold(0u128, |a, (_, v)| a.saturating_add(*v));
    for id in touched {
        let claim = new_claims.get(id).copied().unwrap_or(0);
        if base.saturating_add(claim) > allocation {
            return Err(bad_input(
                format!(
                    "grant `{id}` of {} would exceed the team budget: {} remain of the {} in bucket `{}` ({} already granted and not forfeited)",
                    fmt(claim),
                    fmt(allocation.saturating_sub(base)),
                    fmt(allocation),
                    budget.bucket,
                    fmt(base)
                ),
                &location,
            ));
        }
        base = base.saturating_add(claim);
    }
    Err(bad_input(
        format!(
            "the team bucket `{}` of {} is smaller than the {} already granted and not forfeited",
            budget.bucket,
            fmt(allocation),
            fmt(total)
        ),
        &location,
    ))
}

#[derive(Args, Debug)]
pub struct FileArgs {
    /// The company file (TOML).
    pub file: PathBuf,
}

fn read_file(path: &Path) -> Result<CompanyFile> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path.display().to_string();
    load_company_text(&name, decode(&name, &bytes)?)
}

/// A user's file as text: invalid UTF-8 is bad input at its line (exit 2), not a failed run.
pub fn decode<'a>(name: &str, bytes: &'a [u8]) -> Result<&'a str> {
    tokencomp_formats::diag::decode_utf8(name, bytes).map_err(|d| report(&d))
}

/// The facts a grant's terms and events amount to.
pub fn grant_facts(terms: &GrantTerms, token: &tokencomp_money::Token) -> Vec<Fact> {
    let g = &terms.grant;
    let mut bare = terms.clone();
    bare.grant.events.clear();
    let mut facts =
        vec![Fact::GrantIssued { grant: g.id.clone(), holder: g.holder.clone(), terms: write_terms(&bare, token) }];
    for e in &g.events {
        facts.push(Fact::GrantEvent { grant: g.id.clone(), event_id: e.id.clone(), event: write_event(e, token) });
    }
    facts
}

/// Everything a company file says, as facts.
pub fn file_facts(file: &CompanyFile) -> Vec<Fact> {
    let mut facts = vec![Fact::Company(file.company.clone()), Fact::Token(file.token.clone())];
    facts.extend(file.people.iter().cloned().map(Fact::Person));
    facts.extend(file.prices.iter().cloned().map(Fact::Price));
    facts.extend(file.fx.iter().copied().map(Fact::FxRate));
    for g in &file.grants {
        facts.extend(grant_facts(g, &file.token.token));
    }
    facts.extend(tokenomics_fact(file));
    facts.extend(milestone_facts(file));
    facts
}

/// The `[[milestone]]` terms as facts (content-addressed: unchanged terms are no new event).
fn milestone_facts(file: &CompanyFile) -> Vec<Fact> {
    file.milestones
        .iter()
        .map(|m| Fact::Milestone {
            id: m.milestone.id.clone(),
            terms: tokencomp_formats::canonical::write_milestone(m),
        })
        .collect()
}

/// The `[tokenomics]` section as a fact, when the file has one.
fn tokenomics_fact(file: &CompanyFile) -> Option<Fact> {
    let t = file.tokenomics.as_ref()?;
    Some(Fact::Tokenomics { terms: tokencomp_formats::canonical::write_tokenomics(t, &file.token.token) })
}

pub fn init(g: &Global, args: &FileArgs) -> Result<()> {
    let file = read_file(&args.file)?;
    let mut store = open_store(g)?;
    init_with(&mut *store, &file, &g.actor())?;
    crate::outln!(
        "initialized {} in {}: {} people, {} grants",
        file.company.name,
        store.describe(),
        file.people.len(),
        file.grants.len()
    );
    Ok(())
}

pub fn init_with(store: &mut dyn Store, file: &CompanyFile, actor: &str) -> Result<Appended> {
    // Checked under the write lock: two `init`s at once cannot both find the ledger empty.
    let (a, ()) = record_checked(store, actor, None, |current| {
        if current.len > 0 {
            return Err(bad_input(
                "this data directory already has a company",
                "use `tokencomp apply FILE` to record changes",
            ));
        }
        Ok((file_facts(file), ()))
    })?;
    Ok(a)
}

/// What changed between the ledger and a company file, as new events.
pub fn diff(company: &Company, file: &CompanyFile, file_name: &str) -> Result<Vec<Fact>> {
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
    let mut facts = vec![Fact::Company(file.company.clone()), Fact::Token(file.token.clone())];
    facts.extend(file.people.iter().cloned().map(Fact::Person));
    facts.extend(file.prices.iter().cloned().map(Fact::Price));
    facts.extend(file.fx.iter().copied().map(Fact::FxRate));
    let mut problems = Vec::new();
    for terms in &file.grants {
        let g = &terms.grant;
        let Some(rec) = company.grants.get(&g.id) else {
            facts.extend(grant_facts(terms, token));
            continue;
        };
        let mut bare = terms.clone();
        bare.grant.events.clear();
        let toml = write_terms(&bare, token);
        if toml != rec.terms_toml {
            facts.push(Fact::GrantCorrected { grant: g.id.clone(), holder: g.holder.clone(), terms: toml });
        }
        let in_file: BTreeMap<&str, String> = g.events.iter().map(|e| (e.id.as_str(), write_event(e, token))).collect();
        for (id, stored) in &rec.events {
            match in_file.get(id.as_str()) {
                None => facts.push(Fact::GrantEventReversed { grant: g.id.clone(), event_id: id.clone() }),
                Some(t) if t != stored => problems.push(format!(
                    "event `{id}` of grant `{}` changed; recorded events are immutable: remove it (it is reversed) and add the corrected one under a new id",
                    g.id
                )),
                Some(_) => {}
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
    facts.extend(tokenomics_fact(file));
    facts.extend(milestone_facts(file));
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("error: {p}\n  --> {file_name}");
        }
        return Err(anyhow::Error::new(BadInput::default()));
    }
    Ok(facts)
}

pub fn apply(g: &Global, args: &FileArgs) -> Result<()> {
    let file = read_file(&args.file)?;
    let mut store = open_store(g)?;
    let loaded = load_all(&mut *store)?;
    loaded.company()?;
    // The difference is taken under the write lock, from the ledger as it stands.
    let name = args.file.display().to_string();
    let (a, ()) =
        record_checked(&mut *store, &g.actor(), Some(&loaded), |l| Ok((diff(l.company()?, &file, &name)?, ())))?;
    crate::outln!("applied {}: {} new events ({} unchanged)", args.file.display(), a.new, a.existing);
    Ok(())
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ImportKind {
    People,
    Grants,
    Prices,
    /// Daily FX rates: `date,currency,per_usd` (units of the currency per 1 USD).
    Fx,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    pub kind: ImportKind,
    /// The CSV file.
    pub file: PathBuf,
}

pub fn import(g: &Global, args: &ImportArgs) -> Result<()> {
    let bytes = std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let name = args.file.display().to_string();
    let text = decode(&name, &bytes)?;
    let mut store = open_store(g)?;
    let loaded = load_all(&mut *store)?;
    loaded.company()?;
    let a = import_text(&mut *store, Some(&loaded), args.kind, &name, text, &g.actor())?;
    crate::outln!("imported {name}: {} new events ({} unchanged)", a.new, a.existing);
    Ok(())
}

/// Imports one CSV file, all or nothing. Grants are read against the ledger as it stands under
/// the write lock (its token, prices and people, and the team budget); `known` is a ledger
/// already read, reused when nothing was appended since. People, prices and rates depend on no
/// recorded state (a changed one for a recorded id is a conflict the append itself refuses).
pub fn import_text(
    store: &mut dyn Store,
    known: Option<&Loaded>,
    kind: ImportKind,
    name: &str,
    text: &str,
    actor: &str,
) -> Result<Appended> {
    use tokencomp_formats::import;
    let facts: Vec<Fact> = match kind {
        ImportKind::People => {
            import::parse_people(name, text).map_err(|d| report(&d))?.into_iter().map(Fact::Person).collect()
        }
        ImportKind::Prices => {
            import::parse_prices(name, text).map_err(|d| report(&d))?.into_iter().map(Fact::Price).collect()
        }
        ImportKind::Fx => import::parse_fx(name, text).map_err(|d| report(&d))?.into_iter().map(Fact::FxRate).collect(),
        ImportKind::Grants => {
            let (a, ()) = record_checked(store, actor, known, |l| Ok((grant_rows(l.company()?, name, text)?, ())))?;
            return Ok(a);
        }
    };
    record(store, &facts, actor)
}

/// A grants CSV's facts, read with the company's token, zone and prices; every holder must be a
/// person of the company.
fn grant_rows(company: &Company, name: &str, text: &str) -> Result<Vec<Fact>> {
    let grants = tokencomp_formats::import::parse_grants_within(
        name,
        text,
        &company.token.token,
        &company.company.time_zone,
        &company.prices_vec(),
        &recorded_grants(company),
    )
    .map_err(|d| report(&d))?;
    let mut facts = Vec::new();
    let mut diags = Vec::new();
    for terms in &grants {
        if !company.people.is_empty() && !company.people.contains_key(&terms.grant.holder) {
            diags.push(tokencomp_formats::diag::Diagnostic::new(
                name,
                Some("holder".to_owned()),
                format!("grant `{}`: no person has id `{}`", terms.grant.id, terms.grant.holder),
            ));
        }
        facts.extend(grant_facts(terms, &company.token.token));
    }
    if !diags.is_empty() {
        return Err(report(&diags));
    }
    Ok(facts)
}

#[derive(Subcommand, Debug)]
pub enum GrantCommand {
    /// Issue a grant: monthly vesting from a start date.
    Add(AddArgs),
    /// End employment on a date (vests on or before it stand; the rest is forfeited).
    Terminate(TerminateArgs),
    /// A leave of absence: vesting pauses and later vests move by its length.
    Leave(LeaveArgs),
    /// A change of control, for one grant or all of them.
    ChangeOfControl(CocArgs),
    /// A milestone reached.
    Milestone(MilestoneArgs),
}

#[derive(Args, Debug)]
pub struct AddArgs {
    #[arg(long)]
    pub id: String,
    #[arg(long)]
    pub holder: String,
    /// Whole tokens, exact (e.g. 48000 or 1.5).
    #[arg(long)]
    pub amount: String,
    #[arg(long)]
    pub start: Date,
    #[arg(long, default_value_t = 48)]
    pub months: u32,
    #[arg(long, default_value_t = 12)]
    pub cliff_months: u32,
    /// The grant date (defaults to the start).
    #[arg(long)]
    pub grant_date: Option<Date>,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
#[allow(clippy::enum_variant_names)] // the names are the CLI values: without-cause, for-cause
pub enum Cause {
    Voluntary,
    WithoutCause,
    GoodReason,
    ForCause,
    DeathOrDisability,
}

#[derive(Args, Debug)]
pub struct TerminateArgs {
    pub grant: String,
    /// The last day of employment.
    #[arg(long)]
    pub date: Date,
    #[arg(long, value_enum, default_value = "voluntary")]
    pub cause: Cause,
    #[arg(long, conflicts_with = "accelerate_percent")]
    pub accelerate_months: Option<u32>,
    /// A percentage with at most two decimals, e.g. 50 or 12.5.
    #[arg(long)]
    pub accelerate_percent: Option<String>,
    /// The event id (defaults to one derived from the action and date).
    #[arg(long)]
    pub event_id: Option<String>,
}

#[derive(Args, Debug)]
pub struct LeaveArgs {
    pub grant: String,
    #[arg(long)]
    pub from: Date,
    /// The first day back.
    #[arg(long)]
    pub until: Date,
    #[arg(long)]
    pub event_id: Option<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum TriggerKind {
    Single,
    Double,
}

#[derive(Args, Debug)]
pub struct CocArgs {
    /// A grant id, or `all` for every grant not ended.
    pub grant: String,
    #[arg(long)]
    pub date: Date,
    #[arg(long, value_enum)]
    pub trigger: TriggerKind,
    #[arg(long)]
    pub percent: String,
    #[arg(long, required_if_eq("trigger", "double"))]
    pub window_months: Option<u32>,
    #[arg(long)]
    pub event_id: Option<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum EffectKind {
    Unlock,
    PullForward,
    Scale,
}

#[derive(Args, Debug)]
pub struct MilestoneArgs {
    pub grant: String,
    #[arg(long)]
    pub date: Date,
    #[arg(long, value_enum)]
    pub effect: EffectKind,
    #[arg(long)]
    pub tranche: Option<String>,
    #[arg(long)]
    pub periods: Option<u32>,
    #[arg(long)]
    pub percent: Option<String>,
    #[arg(long)]
    pub event_id: Option<String>,
}

/// "12.5" → 1250 basis points (at most two decimals, at most `max`).
fn bps(s: &str, flag: &str, max: u32) -> Result<u32> {
    match tokencomp_formats::company::percent_to_bps(s) {
        Some(b) if b <= max => Ok(b),
        _ => {
            Err(bad_input(format!("`{s}` is not a percentage from 0 to {} with at most two decimals", max / 100), flag))
        }
    }
}

/// Adds one lifecycle event to a grant after checking the whole lifecycle still folds.
fn add_event(g: &Global, grant_id: &str, event: GrantEvent) -> Result<()> {
    let mut store = open_store(g)?;
    let loaded = load_all(&mut *store)?;
    loaded.company()?;
    let (a, count) = record_checked(&mut *store, &g.actor(), Some(&loaded), |l| {
        let facts = event_facts(l.company()?, grant_id, &event)?;
        let count = facts.len();
        Ok((facts, count))
    })?;
    crate::outln!("recorded `{}` on {count} grant(s) ({} new events)", event.id, a.new);
    Ok(())
}

/// The lifecycle event's facts, each grant's whole lifecycle checked to still fold.
fn event_facts(company: &Company, grant_id: &str, event: &GrantEvent) -> Result<Vec<Fact>> {
    let ids: Vec<String> = if grant_id == "all" {
        company.grants.keys().cloned().collect()
    } else if company.grants.contains_key(grant_id) {
        vec![grant_id.to_owned()]
    } else {
        return Err(bad_input(format!("no grant has id `{grant_id}`"), "GRANT"));
    };
    let mut facts = Vec::new();
    for id in ids {
        let rec = &company.grants[&id];
        let mut grant = rec.terms.grant.clone();
        let check = grant.check_new_event(event).and_then(|()| {
            grant.events.push(event.clone());
            grant.timeline(&company.company.time_zone, None)
        });
        match check {
            Ok(_) => {}
            Err(e) if grant_id == "all" && matches!(e, tokencomp_core::GrantError::AfterEnd { .. }) => continue,
            Err(e) => return Err(bad_input(e, &format!("grant {id}"))),
        }
        facts.push(Fact::GrantEvent {
            grant: id,
            event_id: event.id.clone(),
            event: write_event(event, &company.token.token),
        });
    }
    Ok(facts)
}

/// `grant add`'s facts, checked against the company (under the write lock).
fn add_facts(company: &Company, a: &AddArgs) -> Result<Vec<Fact>> {
    let token = &company.token.token;
    let amount = token.parse(&a.amount).map_err(|e| bad_input(e, "--amount"))?;
    if amount.is_zero() {
        // As the company file and the CSV import refuse it (the contract does too).
        return Err(bad_input("a grant of 0 tokens: a grant must be above zero", "--amount"));
    }
    if !company.people.contains_key(&a.holder) {
        return Err(bad_input(format!("no person has id `{}`", a.holder), "--holder"));
    }
    let schedule = Calendar::new(
        a.start,
        Period::Months(1),
        a.months,
        a.cliff_months,
        DayOfMonth::VestingStartDayOrLast,
        Allocation::CumulativeRoundDown,
    )
    .map_err(|e| bad_input(e, "--months/--cliff-months"))?;
    let terms = GrantTerms {
        grant: tokencomp_core::Grant {
            id: a.id.clone(),
            holder: a.holder.clone(),
            amount,
            schedule: Schedule::Calendar(schedule),
            performance: vec![],
            events: vec![],
        },
        grant_date: a.grant_date.unwrap_or(a.start),
        size: GrantSize::Tokens,
        policy: GrantPolicy::default(),
    };
    Ok(grant_facts(&terms, token))
}

pub fn grant(g: &Global, cmd: &GrantCommand) -> Result<()> {
    match cmd {
        GrantCommand::Add(a) => {
            let mut store = open_store(g)?;
            let loaded = load_all(&mut *store)?;
            loaded.company()?;
            // The holder, the amount and the team budget are checked under the write lock: two
            // `grant add`s at once cannot both fit into what only one of them fits.
            let (r, ()) =
                record_checked(&mut *store, &g.actor(), Some(&loaded), |l| Ok((add_facts(l.company()?, a)?, ())))?;
            if r.new == 0 {
                crate::outln!("grant {} already recorded with these terms", a.id);
            } else {
                crate::outln!("issued grant {} to {}", a.id, a.holder);
            }
            Ok(())
        }
        GrantCommand::Terminate(t) => {
            let cause = match t.cause {
                Cause::Voluntary => TerminationCause::Voluntary,
                Cause::WithoutCause => TerminationCause::WithoutCause,
                Cause::GoodReason => TerminationCause::GoodReason,
                Cause::ForCause => TerminationCause::ForCause,
                Cause::DeathOrDisability => TerminationCause::DeathOrDisability,
            };
            let acceleration = match (&t.accelerate_months, &t.accelerate_percent) {
                (Some(m), _) => Some(Acceleration::Months(*m)),
                (None, Some(p)) => Some(Acceleration::Percent { bps: bps(p, "--accelerate-percent", 10_000)? }),
                (None, None) => None,
            };
            let id = t.event_id.clone().unwrap_or_else(|| format!("termination-{}", t.date));
            add_event(
                g,
                &t.grant,
                GrantEvent { id, date: t.date, kind: EventKind::Termination { cause, acceleration } },
            )
        }
        GrantCommand::Leave(l) => {
            let id = l.event_id.clone().unwrap_or_else(|| format!("leave-{}", l.from));
            add_event(g, &l.grant, GrantEvent { id, date: l.from, kind: EventKind::Leave { until: l.until } })
        }
        GrantCommand::ChangeOfControl(c) => {
            let b = bps(&c.percent, "--percent", 10_000)?;
            let trigger = match c.trigger {
                TriggerKind::Single => Trigger::Single { bps: b },
                TriggerKind::Double => Trigger::Double { bps: b, window_months: c.window_months.unwrap_or(12) },
            };
            let id = c.event_id.clone().unwrap_or_else(|| format!("change-of-control-{}", c.date));
            add_event(g, &c.grant, GrantEvent { id, date: c.date, kind: EventKind::ChangeOfControl { trigger } })
        }
        GrantCommand::Milestone(m) => {
            let need = |v: &Option<String>, flag: &str| {
                v.clone().ok_or_else(|| bad_input(format!("{flag} is required for this effect"), flag))
            };
            let effect = match m.effect {
                EffectKind::Unlock => MilestoneEffect::Unlock { tranche: need(&m.tranche, "--tranche")? },
                EffectKind::PullForward => MilestoneEffect::PullForward {
                    periods: m
                        .periods
                        .ok_or_else(|| bad_input("--periods is required for pull-forward", "--periods"))?,
                },
                EffectKind::Scale => MilestoneEffect::Scale {
                    tranche: need(&m.tranche, "--tranche")?,
                    bps: bps(&need(&m.percent, "--percent")?, "--percent", 20_000)?,
                },
            };
            let id = m.event_id.clone().unwrap_or_else(|| format!("milestone-{}", m.date));
            add_event(g, &m.grant, GrantEvent { id, date: m.date, kind: EventKind::Milestone { effect } })
        }
    }
}
