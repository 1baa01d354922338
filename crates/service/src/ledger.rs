//! The ledger as a company's use cases read and write it: open it, fold it, and record facts
//! with every rule that guards a write checked inside the write's transaction (the grants'
//! total and the team budget included), plus what a company file, a CSV import or a single
//! grant action amounts to.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use jiff::Timestamp;
use tokencomp_core::grant::GrantEvent;
use tokencomp_core::model::{CompanyFile, GrantPolicy, GrantSize, GrantTerms};
use tokencomp_core::schedule::{Allocation, Calendar, DayOfMonth, Period, Schedule};
use tokencomp_core::tokenomics;
use tokencomp_formats::canonical::{write_event, write_terms};
use tokencomp_formats::diag::Diagnostic;
use tokencomp_money::TokenAmount;
use tokencomp_store::ledger::origin::Origin;
use tokencomp_store::ledger::{Company, Fact, FoldError, distinct_reverts, latest_wins};
use tokencomp_store::postgres::PostgresStore;
use tokencomp_store::sqlite::SqliteStore;
use tokencomp_store::{Appended, Checked, LedgerRead, NewEvent, Store, StoreError, StoredEvent, append_checked};

use crate::data::{DataDir, SUBDIRS};
use crate::error::{Context, Error, Result, bad_input};

/// Every problem of an input file, as the CLI prints it: each diagnostic, then the count.
pub fn rejected(diags: &[Diagnostic]) -> Error {
    let mut text = String::new();
    for d in diags {
        text.push_str(&format!("{d}\n"));
    }
    text.push_str(&format!(
        "{} error{} in the input; nothing was changed\n",
        diags.len(),
        if diags.len() == 1 { "" } else { "s" }
    ));
    let field = diags.first().map(|d| d.location.file.clone()).unwrap_or_default();
    Error::Rejected { field, text }
}

/// A company file's text, parsed; every problem is refused at once.
pub fn parse_company(name: &str, text: &str) -> Result<CompanyFile> {
    tokencomp_formats::company::parse_company(name, text).map_err(|d| rejected(&d))
}

/// A company file's text, parsed to be recorded beside the people the ledger already holds
/// (`recorded`: empty for `init`): every grant whose holder is neither a `[[person]]` of the
/// file nor one of them is refused, all at once with the file's other problems.
pub fn parse_company_for(name: &str, text: &str, recorded: &BTreeSet<String>) -> Result<CompanyFile> {
    tokencomp_formats::company::parse_company_for(name, text, recorded).map_err(|d| rejected(&d))
}

/// A user's file as text: invalid UTF-8 is bad input at its line, not a failed run.
pub fn decode<'a>(name: &str, bytes: &'a [u8]) -> Result<&'a str> {
    tokencomp_formats::diag::decode_utf8(name, bytes).map_err(|d| rejected(&d))
}

/// Opens the company's ledger: PostgreSQL when `database` names one, else the SQLite file in
/// the data directory (created on first use). `Send`, so a server can hand it to its threads.
pub fn open_store(data: &DataDir, database: Option<&str>) -> Result<Box<dyn Store + Send>> {
    // Owner-only, always: what tokencomp keeps here from before this rule is brought under it
    // (its own subdirectories only: the directory may hold files of the user's).
    let root = data.root();
    if root.is_dir() {
        let restrict = |dir: &Path, depth| {
            tokencomp_store::private::tighten(dir, depth).with_context(|| format!("restricting {}", dir.display()))
        };
        restrict(root, 0)?;
        for sub in SUBDIRS {
            let dir = data.subdir(sub);
            if dir.is_dir() && !dir.is_symlink() {
                restrict(&dir, 1)?;
            }
        }
    }
    match database {
        Some(url) => Ok(Box::new(PostgresStore::connect(url).context("connecting to PostgreSQL")?)),
        None => {
            // Owner-only, always: the ledger holds salaries and emails, `keys/` signing keys.
            tokencomp_store::private::dir(root).with_context(|| format!("creating {}", root.display()))?;
            let path = data.ledger();
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

fn no_company() -> Error {
    Error::not_found("the data directory has no company yet", "run `tokencomp init FILE` first")
}

impl Loaded {
    pub fn read(events: Vec<StoredEvent>) -> Result<Loaded> {
        let len = events.last().map_or(0, |e| e.seq);
        let company = match Company::fold(&events) {
            Ok(c) => Some(c),
            Err(FoldError::Empty) => None,
            Err(e) => return Err(e.into()),
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

/// Who records a write, when and from where: each event's actor (`user:NAME`, `key:ID`,
/// `system`), its `recorded_at` and its origin (a file, the CLI, the API: see
/// [`tokencomp_store::ledger::origin`]). The face says when now is (the CLI's clock, the API's
/// request time); no service code reads the clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub actor: String,
    pub at: Timestamp,
    pub origin: Origin,
}

impl Stamp {
    /// A write from the command line (the origin the CLI's own commands have).
    pub fn new(actor: impl Into<String>, at: Timestamp) -> Stamp {
        Stamp { actor: actor.into(), at, origin: Origin::Cli }
    }

    /// The same write, from `origin` (the API; a company file or CSV by its name).
    pub fn from(self, origin: Origin) -> Stamp {
        Stamp { origin, ..self }
    }

    /// The event recording `fact`, by this actor from this origin.
    pub fn event(&self, fact: &Fact) -> NewEvent {
        fact.to_event_from(&self.actor, &self.origin)
    }
}

/// The guarded write as the commands use it: `decide` runs under the ledger-wide write lock on
/// the ledger as it stands and returns the events to append (with a value for the caller), in
/// the same transaction, recorded at `at`. Its error is the command's (bad input stays exit 2);
/// a conflicting event is bad input too, and nothing is written.
pub fn guarded<T, E: From<Error>>(
    store: &mut dyn Store,
    at: Timestamp,
    decide: impl FnOnce(&mut dyn LedgerRead) -> Result<(Vec<NewEvent>, T), E>,
) -> Result<(Appended, T), E> {
    let mut value = None;
    let appended = append_checked(store, at, |ledger| {
        let (events, t) = decide(ledger)?;
        value = Some(t);
        Ok::<_, E>(events)
    });
    match (appended, value) {
        (Ok(a), Some(t)) => Ok((a, t)),
        (Ok(_), None) => Err(Error::internal("a guarded write appended without deciding").into()),
        (Err(Checked::Refused(e)), _) => Err(e),
        (Err(Checked::Store(e @ StoreError::Conflict { .. })), _) => {
            Err(Error::Conflict { field: store.describe(), message: e.to_string() }.into())
        }
        (Err(Checked::Store(e)), _) => Err(Error::from(e).into()),
    }
}

/// Records what `decide` makes of the ledger, deciding under the write lock (see [`guarded`]):
/// every rule that guards the write runs in `decide` or here (the team budget), on the ledger as
/// it stands. `known` is a ledger the command already read: reused when nothing was appended
/// since (its length is the head's sequence; events are never removed), so a guarded write costs
/// one more query, not a second fold.
pub fn record_checked<T, E: From<Error>>(
    store: &mut dyn Store,
    by: &Stamp,
    known: Option<&Loaded>,
    decide: impl FnOnce(&Loaded) -> Result<(Vec<Fact>, T), E>,
) -> Result<(Appended, T), E> {
    guarded(store, by.at, |ledger| {
        let len = ledger.head().map_err(Error::from)?.map_or(0, |h| h.0);
        let fresh;
        let current = match known {
            Some(k) if k.len == len => k,
            _ => {
                fresh = Loaded::read(ledger.events().map_err(Error::from)?)?;
                &fresh
            }
        };
        let (facts, t) = decide(current)?;
        let mut events: Vec<NewEvent> = facts.iter().map(|f| by.event(f)).collect();
        distinct_reverts(&current.events, &mut events);
        // The total first: a team budget over grants that overflow could only saturate.
        check_grant_rules(current, &events, &facts)?;
        Ok::<_, E>((events, t))
    })
}

/// Appends facts as one transaction, checking the team budget under the write lock when they
/// touch it; a conflicting event is bad input (exit 2) and nothing is written. For facts whose
/// other rules depend on the ledger, use [`record_checked`].
pub fn record(store: &mut dyn Store, facts: &[Fact], by: &Stamp) -> Result<Appended> {
    let mut events: Vec<NewEvent> = facts.iter().map(|f| by.event(f)).collect();
    let (a, ()) = guarded(store, by.at, |ledger| {
        if facts.iter().any(touches_budget) || events.iter().any(latest_wins) {
            let current = Loaded::read(ledger.events()?)?;
            distinct_reverts(&current.events, &mut events);
            check_grant_rules(&current, &events, facts)?;
        }
        Ok::<_, Error>((events, ()))
    })?;
    Ok(a)
}

/// The ledger's grants, each folded to its total, and the `[tokenomics]` supply: what a grants
/// CSV must fit beside.
fn recorded_grants(c: &Company) -> tokencomp_formats::import::Recorded {
    tokencomp_formats::import::Recorded {
        supply: c.tokenomics.as_ref().map(|t| t.total_supply),
        granted: granted(c),
        people: Some(c.people.keys().cloned().collect()),
    }
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
    // Wallet proofs (issue 18, item 3): no address typed for a company that requires proofs.
    if let Some(id) = tokencomp_store::ledger::typed_wallet_refused(current.company.as_ref(), facts) {
        return Err(bad_input(
            format!(
                "person `{id}`: the company requires proven wallets, so a wallet address cannot be typed: \
                 the person proves one on their page (/me)"
            ),
            &format!("person `{id}`.wallet"),
        ));
    }
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

/// Records a company file into an empty ledger; `by`'s origin is the file (set it with
/// [`Stamp::from`]).
pub fn init_with(store: &mut dyn Store, file: &CompanyFile, by: &Stamp) -> Result<Appended> {
    // Checked under the write lock: two `init`s at once cannot both find the ledger empty.
    let (a, ()) = record_checked(store, by, None, |current| {
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
    by: &Stamp,
) -> Result<Appended> {
    use tokencomp_formats::import;
    // What the file records comes from the file.
    let by = &by.clone().from(Origin::File(name.to_owned()));
    let facts: Vec<Fact> = match kind {
        ImportKind::People => {
            import::parse_people(name, text).map_err(|d| rejected(&d))?.into_iter().map(Fact::Person).collect()
        }
        ImportKind::Prices => {
            import::parse_prices(name, text).map_err(|d| rejected(&d))?.into_iter().map(Fact::Price).collect()
        }
        ImportKind::Fx => {
            import::parse_fx(name, text).map_err(|d| rejected(&d))?.into_iter().map(Fact::FxRate).collect()
        }
        ImportKind::Grants => {
            let (a, ()) =
                record_checked(store, by, known, |l| Ok::<_, Error>((grant_rows(l.company()?, name, text)?, ())))?;
            return Ok(a);
        }
    };
    // A recorded price (rate, person) given with other content is refused with every such row
    // at once, each saying what to run instead, before the append would refuse the first.
    let (a, ()) = record_checked(store, by, known, |l| {
        let mut events: Vec<NewEvent> = facts.iter().map(|f| by.event(f)).collect();
        distinct_reverts(&l.events, &mut events);
        let conflicts = crate::changes::conflicts(&l.events, l.company().ok(), &facts, &events);
        if !conflicts.is_empty() {
            return Err(conflicts_error(name, &conflicts));
        }
        Ok::<_, Error>((facts.clone(), ()))
    })?;
    Ok(a)
}

/// Conflicts with the ledger, one readable line each, then the count.
pub fn conflicts_error(name: &str, conflicts: &[String]) -> Error {
    let mut text = String::new();
    for c in conflicts {
        text.push_str(&format!("error: {c}\n  --> {name}\n"));
    }
    let n = conflicts.len();
    text.push_str(&format!("{n} conflict{} with the ledger; nothing was changed\n", if n == 1 { "" } else { "s" }));
    Error::Rejected { field: name.to_owned(), text }
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
    .map_err(|d| rejected(&d))?;
    // Every holder was checked against the company's people, at its row (`Recorded::people`).
    Ok(grants.iter().flat_map(|terms| grant_facts(terms, &company.token.token)).collect())
}

pub fn event_facts(company: &Company, grant_id: &str, event: &GrantEvent) -> Result<Vec<Fact>> {
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
pub fn add_facts(company: &Company, a: &AddGrant) -> Result<Vec<Fact>> {
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

/// Sets a person's tax profiles (the API's `PUT /api/people/{person}/tax`): the person as the
/// ledger holds them with `tax` in place of what was on file, recorded as a new person event
/// under the write lock (unchanged profiles are no new event).
pub fn set_tax(
    store: &mut dyn Store,
    by: &Stamp,
    person: &str,
    tax: tokencomp_core::tax_profile::TaxProfile,
) -> Result<Appended> {
    let (a, ()) = record_checked(store, by, None, |l| {
        let mut p = l
            .company()?
            .people
            .get(person)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("no person has id `{person}`"), "person"))?;
        p.tax = tax;
        Ok::<_, Error>((vec![Fact::Person(p)], ()))
    })?;
    Ok(a)
}

/// What a CSV file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportKind {
    People,
    Grants,
    Prices,
    /// Daily FX rates: `date,currency,per_usd` (units of the currency per 1 USD).
    Fx,
}

/// `grant add`: a grant vesting monthly from `start`.
#[derive(Clone, Debug)]
pub struct AddGrant {
    pub id: String,
    pub holder: String,
    /// Whole tokens, exact (e.g. 48000 or 1.5).
    pub amount: String,
    pub start: jiff::civil::Date,
    pub months: u32,
    pub cliff_months: u32,
    /// The grant date (defaults to the start).
    pub grant_date: Option<jiff::civil::Date>,
}

/// Adds one lifecycle event to a grant (or `all` grants not ended) after checking each whole
/// lifecycle still folds, under the write lock: the appended events and how many grants.
pub fn record_grant_event(
    store: &mut dyn Store,
    known: Option<&Loaded>,
    by: &Stamp,
    grant_id: &str,
    event: &GrantEvent,
) -> Result<(Appended, usize)> {
    record_checked(store, by, known, |l| {
        let facts = event_facts(l.company()?, grant_id, event)?;
        let count = facts.len();
        Ok::<_, Error>((facts, count))
    })
}

#[cfg(test)]
mod tests {
    use tokencomp_store::sqlite::SqliteStore;

    use super::*;
    use crate::demo::{SAMPLE_COMPANY, SAMPLE_PRICES};

    #[test]
    fn a_guarded_write_is_recorded_at_the_time_it_is_given_not_the_clock() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = SqliteStore::open(&dir.path().join("ledger.sqlite")).expect("opens");
        let file = parse_company("examples/company.toml", SAMPLE_COMPANY).expect("the sample company");
        let first: Timestamp = "2001-02-03T04:05:06Z".parse().expect("instant");
        init_with(&mut store, &file, &Stamp::new("user:ada", first)).expect("init");
        let len = store.len().expect("len");
        let later: Timestamp = "2002-03-04T05:06:07.5Z".parse().expect("instant");
        let by = Stamp::new("key:k1", later);
        import_text(&mut store, None, ImportKind::Prices, "prices.csv", SAMPLE_PRICES, &by).expect("import");
        let events = store.events().expect("events");
        assert!(events.len() > usize::try_from(len).expect("len"), "the import appended");
        for e in &events {
            let want = if e.seq <= len { (first, "user:ada") } else { (later, "key:k1") };
            assert_eq!((e.recorded_at, e.event.actor.as_str()), want, "event {}", e.seq);
        }
    }
}
