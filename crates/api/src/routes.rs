//! Every route, once: method, path, who may call it, what it answers, and its handler. The
//! router and `/openapi.json` are both built from [`table`].

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{MethodRouter, delete, get, post, put};
use jiff::ToSpan;
use jiff::civil::Date;
use serde_json::{Value, json};
use tokencomp_core::Timeline;
use tokencomp_money::TokenAmount;
use tokencomp_store::ledger::Company;
use tokencomp_store::{StoredEvent, Subject, verify};

pub use finance::{ERP_FORMATS, YEAR_END_FILES};

mod audit;
mod finance;
mod gov;
mod login_page;
mod notices;
mod reports;
mod session;
mod wallets;

use crate::{ApiError, AppState, Caller, Ctx, Principal, Query, Role};
use reports::{
    books, chain_status, close_period, payroll, periods, reconciliation, run_period, simulation, tax_report, tokenomics,
};
use session::{login, logout, revoke_sessions, session, sign_in_log, sign_out_everywhere};

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, logged in or not.
    Public,
    /// Any login; what it returns is narrowed to the caller's own data for employees.
    Authenticated,
    /// Admins and auditors.
    Staff,
    /// Admins only.
    Admin,
    /// The person the path names (employees), or staff.
    Own,
    /// A change to the person the path names: that person, or an admin.
    OwnWrite,
    /// A login that is a person (an employee): casting their own ballot, proving their wallet.
    Holder,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Public => "public",
            Access::Authenticated => "authenticated",
            Access::Staff => "staff",
            Access::Admin => "admin",
            Access::Own => "own",
            Access::OwnWrite => "own_write",
            Access::Holder => "holder",
        }
    }
}

/// A query parameter, for the document and the handler that reads it.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    pub name: &'static str,
    pub kind: &'static str,
    pub format: Option<&'static str>,
    pub description: &'static str,
    /// An integer's bounds, both included.
    pub range: Option<(u64, u64)>,
    /// A string's only values, when it has a fixed set.
    pub choices: &'static [&'static str],
}

const fn date(name: &'static str, description: &'static str) -> Param {
    Param { name, kind: "string", format: Some("date"), description, range: None, choices: &[] }
}
const fn int(name: &'static str, lo: u64, hi: u64, description: &'static str) -> Param {
    Param { name, kind: "integer", format: None, description, range: Some((lo, hi)), choices: &[] }
}
const fn text(name: &'static str, description: &'static str) -> Param {
    Param { name, kind: "string", format: None, description, range: None, choices: &[] }
}
const fn choice(name: &'static str, choices: &'static [&'static str], description: &'static str) -> Param {
    Param { name, kind: "string", format: None, description, range: None, choices }
}

impl Param {
    /// The parameter from `q`, within its documented range.
    pub fn int_from(&self, q: &Query) -> Result<Option<u64>, ApiError> {
        let (lo, hi) = self.range.unwrap_or((0, u64::MAX));
        q.int(self.name, lo, hi)
    }
}

const CURSOR: Param = text("cursor", "The `next_cursor` of the previous page.");
pub(crate) const LIMIT: Param = int("limit", 1, 1000, "Items per page, 1 to 1000 (default 100).");
pub(crate) const YEAR: Param = int("year", 1970, 2199, "The tax year (default this year).");
pub(crate) const PATHS: Param = int("paths", 100, 20_000, "Paths, 100 to 20000 (default 2000).");
pub(crate) const SEED: Param = int("seed", 0, u64::MAX, "The random seed (default 1).");
pub(crate) const WEIGHT: Param =
    int("unvested_weight_bps", 0, 10_000, "Weight on unvested tokens, 0 to 10000 (default 0).");
pub(crate) const BOOKS_FORMATS: &[&str] = &["csv", "beancount", "hledger"];
const YEAR_END_PERSON: Param = text("person", "Only this person (staff; an employee always gets their own).");
const SIGN_IN_USER: Param = text("user", "Only this login's lines.");
const AS_OF: Param = date("as_of", "The end of this day in the company's time zone (default today).");

/// The jurisdictions `GET /api/rules` narrows to.
const RULES_JURISDICTIONS: &[&str] = tokencomp_service::rules::JURISDICTIONS;

/// What a route answers with on success.
#[derive(Clone, Copy, Debug)]
pub enum Resp {
    /// JSON described by this component schema.
    Json(&'static str),
    /// A text download, in one of these media types (`text/csv`, `text/plain`).
    Text(&'static [&'static str]),
    /// The dashboard's HTML.
    Html,
}

pub struct Route {
    pub method: Method,
    /// OpenAPI and axum agree on `{name}` path parameters.
    pub path: &'static str,
    pub access: Access,
    pub tag: &'static str,
    pub summary: &'static str,
    pub params: Vec<Param>,
    /// The request body's component schema, when it takes one.
    pub body: Option<&'static str>,
    pub status: StatusCode,
    pub response: Resp,
    pub handler: MethodRouter<AppState>,
}

#[allow(clippy::too_many_arguments)]
fn route(
    method: Method,
    path: &'static str,
    access: Access,
    tag: &'static str,
    summary: &'static str,
    params: &[Param],
    body: Option<&'static str>,
    response: Resp,
    handler: MethodRouter<AppState>,
) -> Route {
    let status = if method == Method::POST && (path.ends_with("/ballots") || path == "/api/gov/proposals") {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Route { method, path, access, tag, summary, params: params.to_vec(), body, status, response, handler }
}

/// Every route of the application.
pub fn table() -> Vec<Route> {
    use Access::*;
    use Method as M;
    vec![
        route(
            M::GET,
            "/healthz",
            Public,
            "meta",
            "Liveness and the ledger's size",
            &[],
            None,
            Resp::Json("Health"),
            get(healthz),
        ),
        route(
            M::GET,
            "/openapi.json",
            Public,
            "meta",
            "This document",
            &[],
            None,
            Resp::Json("OpenApi"),
            get(crate::openapi_json),
        ),
        route(
            M::GET,
            "/api/login-page",
            Public,
            "session",
            "What the login page shows before a login: the demo logins (only in a directory `tokencomp demo` made) and why a browser would refuse the session cookie here",
            &[],
            None,
            Resp::Json("LoginPage"),
            get(login_page::login_page),
        ),
        route(
            M::POST,
            "/api/session",
            Public,
            "session",
            "Log in: sets the session cookie and returns the CSRF token",
            &[],
            Some("Login"),
            Resp::Json("Session"),
            post(login),
        ),
        route(
            M::GET,
            "/api/session",
            Authenticated,
            "session",
            "Who is logged in",
            &[],
            None,
            Resp::Json("Session"),
            get(session),
        ),
        route(
            M::DELETE,
            "/api/session",
            Authenticated,
            "session",
            "Log out",
            &[],
            None,
            Resp::Json("Ok"),
            delete(logout),
        ),
        // Notices (issue 18, item 5): each person's choice of the notices they receive.
        route(
            M::GET,
            "/api/me/notices",
            Holder,
            "notices",
            "The caller's notice choices: every kind, on unless turned off",
            &[],
            None,
            Resp::Json("NoticePrefs"),
            get(notices::get_prefs),
        ),
        route(
            M::PUT,
            "/api/me/notices",
            Holder,
            "notices",
            "Turn kinds of notices on or off for the caller (the kinds named; others kept)",
            &[],
            Some("NoticePrefsRequest"),
            Resp::Json("NoticePrefs"),
            put(notices::put_prefs),
        ),
        route(
            M::DELETE,
            "/api/session/all",
            Authenticated,
            "session",
            "Sign out everywhere: ends every session of the caller's login, this one included",
            &[],
            None,
            Resp::Json("SessionsEnded"),
            delete(sign_out_everywhere),
        ),
        route(
            M::DELETE,
            "/api/users/{user}/sessions",
            Admin,
            "session",
            "Ends every session of a login (an admin's revocation)",
            &[],
            None,
            Resp::Json("SessionsEnded"),
            delete(revoke_sessions),
        ),
        route(
            M::GET,
            "/api/sign-ins",
            Staff,
            "session",
            "The sign-in log, newest first: logins, logouts, sign-outs everywhere, revocations",
            &[LIMIT, SIGN_IN_USER],
            None,
            Resp::Json("SignInLog"),
            get(sign_in_log),
        ),
        route(
            M::GET,
            "/api/company",
            Staff,
            "company",
            "Company totals as of a date",
            &[AS_OF],
            None,
            Resp::Json("Company"),
            get(company),
        ),
        route(
            M::GET,
            "/api/people",
            Staff,
            "people",
            "People, by id",
            &[CURSOR, LIMIT],
            None,
            Resp::Json("PersonList"),
            get(people),
        ),
        route(
            M::GET,
            "/api/people/{person}",
            Own,
            "people",
            "One person and their totals",
            &[AS_OF],
            None,
            Resp::Json("Person"),
            get(person),
        ),
        // Wallet proofs (issue 18, item 3): Sign-In with Ethereum.
        route(
            M::POST,
            "/api/me/wallet/challenge",
            Holder,
            "people",
            "A Sign-In with Ethereum (EIP-4361) message for the caller to sign with `address` (single-use nonce, 10 minutes)",
            &[],
            Some("WalletChallengeRequest"),
            Resp::Json("WalletChallenge"),
            post(wallets::challenge),
        ),
        route(
            M::POST,
            "/api/me/wallet/proof",
            Holder,
            "people",
            "Prove a wallet: the signed challenge (EIP-191 personal_sign); effective after the company's delay",
            &[],
            Some("WalletProofRequest"),
            Resp::Json("WalletProof"),
            post(wallets::proof),
        ),
        route(
            M::GET,
            "/api/people/{person}/wallet",
            Own,
            "people",
            "A person's proven wallet in effect and every proof, newest first",
            &[],
            None,
            Resp::Json("PersonWallet"),
            get(wallets::show),
        ),
        route(
            M::POST,
            "/api/people/{person}/wallet/cancel",
            OwnWrite,
            "people",
            "Cancel the person's wallet changes still waiting for their delay (none pending: an empty list)",
            &[],
            None,
            Resp::Json("WalletCancelled"),
            post(wallets::cancel),
        ),
        route(
            M::PUT,
            "/api/people/{person}/tax",
            Admin,
            "people",
            "Set a person's tax profiles (us, uk, de; each field a string, validated as the company file's)",
            &[],
            Some("TaxProfilesRequest"),
            Resp::Json("PersonRow"),
            put(put_tax),
        ),
        route(
            M::GET,
            "/api/people/{person}/portal",
            Own,
            "people",
            "What the person's portal shows: holdings and their value at the latest price (with its date), the grants at the grant date's price, upcoming vests with the withholding each would cost at today's price, the tax year so far, and open lots",
            &[AS_OF],
            None,
            Resp::Json("Portal"),
            get(reports::portal),
        ),
        route(
            M::GET,
            "/api/people/{person}/statement",
            Own,
            "reports",
            "A person's yearly statement: token income with its withholding, withholding by tax, every sale with its acquisition date and basis, and the totals",
            &[YEAR, choice("format", reports::STATEMENT_FORMATS, "`pdf` (default) or `csv`.")],
            None,
            Resp::Text(&["application/pdf", "text/csv"]),
            get(reports::statement),
        ),
        route(
            M::GET,
            "/api/people/{person}/tax-report",
            Own,
            "reports",
            "A person's tax year: income, withholding, lots, disposals, gains",
            &[YEAR],
            None,
            Resp::Json("TaxReport"),
            get(tax_report),
        ),
        route(
            M::GET,
            "/api/people/{person}/simulation",
            Own,
            "risk",
            "Monte Carlo of the person's package: fan chart, floor, liquidity, token vs equity",
            &[PATHS, SEED, AS_OF],
            None,
            Resp::Json("Simulation"),
            get(simulation),
        ),
        route(
            M::GET,
            "/api/grants",
            Authenticated,
            "grants",
            "Grants and where they stand (an employee's own only)",
            &[AS_OF, text("person", "Only this person's grants (staff)."), CURSOR, LIMIT],
            None,
            Resp::Json("GrantList"),
            get(grants),
        ),
        route(
            M::GET,
            "/api/grants/{grant}",
            Own,
            "grants",
            "One grant's whole schedule: tranches and forfeitures",
            &[AS_OF],
            None,
            Resp::Json("GrantSchedule"),
            get(grant),
        ),
        route(
            M::GET,
            "/api/grants/{grant}/history",
            Own,
            "grants",
            "Every ledger event behind a grant, with actors",
            &[],
            None,
            Resp::Json("History"),
            get(history),
        ),
        route(
            M::GET,
            "/api/calendar",
            Authenticated,
            "grants",
            "Vests between two dates, per person and in total (an employee's own only)",
            &[date("from", "First day (default today)."), date("to", "Last day (default 90 days after `from`).")],
            None,
            Resp::Json("Calendar"),
            get(calendar),
        ),
        route(
            M::GET,
            "/api/periods",
            Staff,
            "payroll",
            "Pay periods through today and whether each is run and closed",
            &[],
            None,
            Resp::Json("PeriodList"),
            get(periods),
        ),
        route(
            M::GET,
            "/api/rules",
            Staff,
            "payroll",
            "Every tax-rules value in force, where it came from (shipped file and line, or the recorded file) and its source",
            &[
                int(
                    "year",
                    1000,
                    9998,
                    "Only this year (the calendar year; for the UK, the year its tax year starts).",
                ),
                choice("jurisdiction", RULES_JURISDICTIONS, "Only this jurisdiction."),
            ],
            None,
            Resp::Json("RuleValueList"),
            get(reports::rules_list),
        ),
        route(
            M::POST,
            "/api/rules",
            Admin,
            "payroll",
            "Record a tax-rules file (TOML in the shipped table's shape): checked whole, every problem refuses it",
            &[],
            Some("RulesAddRequest"),
            Resp::Json("RulesAdded"),
            post(reports::rules_add),
        ),
        route(
            M::POST,
            "/api/periods/{period}/run",
            Admin,
            "payroll",
            "Recognize every vest through the period's end (idempotent)",
            &[],
            None,
            Resp::Json("PeriodRun"),
            post(run_period),
        ),
        route(
            M::POST,
            "/api/periods/{period}/close",
            Admin,
            "payroll",
            "Freeze the period's payroll export",
            &[],
            None,
            Resp::Json("PeriodClose"),
            post(close_period),
        ),
        route(
            M::GET,
            "/api/periods/{period}/payroll",
            Staff,
            "payroll",
            "The period's payroll file (CSV), as `tokencomp payroll` writes it",
            &[],
            None,
            Resp::Text(&["text/csv"]),
            get(payroll),
        ),
        route(
            M::GET,
            "/api/books",
            Staff,
            "reports",
            "The company's journal: CSV, beancount or hledger",
            &[
                date("from", "First day (default 1 January this year)."),
                date("to", "Last day (default today)."),
                choice("format", BOOKS_FORMATS, "`csv` (default), `beancount` or `hledger`."),
            ],
            None,
            Resp::Text(&["text/csv", "text/plain"]),
            get(books),
        ),
        route(
            M::POST,
            "/api/books/erp",
            Staff,
            "reports",
            "The company's journal as QuickBooks Online, Xero or NetSuite imports it, with the account map in the body",
            &[],
            Some("ErpBooksRequest"),
            Resp::Text(&["text/csv"]),
            post(finance::erp_books),
        ),
        route(
            M::GET,
            "/api/payroll/{period}/layout/{provider}",
            Staff,
            "payroll",
            "The period's payroll in a provider's import layout (`…-provisional.csv` while the period is open)",
            &[],
            None,
            Resp::Text(&["text/csv"]),
            get(finance::layout),
        ),
        route(
            M::GET,
            "/api/payroll/{period}/layout/{provider}/sidecar",
            Staff,
            "payroll",
            "The sidecar beside that layout file: status, row count, its SHA-256, the rules hash, the map's source",
            &[],
            None,
            Resp::Json("LayoutSidecar"),
            get(finance::layout_sidecar),
        ),
        route(
            M::GET,
            "/api/year-end",
            Authenticated,
            "reports",
            "The year-end pack's JSON: W-2, 1099-NEC, P60 and FPS, Lohnsteuerbescheinigung (an employee's own only)",
            &[YEAR, YEAR_END_PERSON],
            None,
            Resp::Json("YearEnd"),
            get(finance::year_end),
        ),
        route(
            M::GET,
            "/api/year-end/{form}",
            Authenticated,
            "reports",
            "One CSV file of the year-end pack, `w2.csv` … `sales.csv` (an employee's own rows only)",
            &[YEAR, YEAR_END_PERSON],
            None,
            Resp::Text(&["text/csv"]),
            get(finance::year_end_file),
        ),
        route(
            M::GET,
            "/api/tokenomics",
            Staff,
            "company",
            "Supply by month, unlock calendar and team budget",
            &[date("through", "Project through this month (default three years from today; at most 100 years ahead).")],
            None,
            Resp::Json("Tokenomics"),
            get(tokenomics),
        ),
        route(
            M::GET,
            "/api/chain",
            Staff,
            "chain",
            "The vesting contract's deployment and the chain's head",
            &[],
            None,
            Resp::Json("ChainStatus"),
            get(chain_status),
        ),
        route(
            M::GET,
            "/api/chain/reconciliation",
            Staff,
            "chain",
            "The chain against the ledger: matched, missing, unexpected, mismatched",
            &[],
            None,
            Resp::Json("Reconciliation"),
            get(reconciliation),
        ),
        // The audit view (issue 18, item 6): newest first, filtered, with the chain; and as CSV.
        route(
            M::GET,
            "/api/ledger/events",
            Staff,
            "audit",
            "The ledger's events newest first, filtered by actor, kind, subject and record days, with actors, hashes and whether the chain verifies up to each",
            &audit::LIST,
            None,
            Resp::Json("EventList"),
            get(audit::events),
        ),
        route(
            M::GET,
            "/api/ledger/events.csv",
            Staff,
            "audit",
            "The same filtered list as CSV (RFC 4180), newest first",
            &audit::FILTERS,
            None,
            Resp::Text(&["text/csv"]),
            get(audit::events_csv),
        ),
        route(
            M::GET,
            "/api/ledger/verify",
            Staff,
            "audit",
            "Recompute the hash chain",
            &[],
            None,
            Resp::Json("LedgerVerify"),
            get(ledger_verify),
        ),
        route(
            M::GET,
            "/api/gov/power",
            Authenticated,
            "governance",
            "Voting power at a date (an employee sees their own balances; their power and the total only at a proposal's snapshot date and weight)",
            &[date("date", "Snapshot date (default today)."), WEIGHT],
            None,
            Resp::Json("VotingPower"),
            get(gov::power),
        ),
        route(
            M::GET,
            "/api/gov/delegations",
            Authenticated,
            "governance",
            "Delegations in effect at a date (an employee sees the ones that involve them)",
            &[date("date", "Default today.")],
            None,
            Resp::Json("DelegationList"),
            get(gov::delegations),
        ),
        route(
            M::PUT,
            "/api/gov/delegations/{person}",
            OwnWrite,
            "governance",
            "Delegate a person's voting power (`to: null` takes it back); cycles are refused",
            &[],
            Some("DelegationRequest"),
            Resp::Json("Delegation"),
            put(gov::delegate),
        ),
        route(
            M::GET,
            "/api/gov/proposals",
            Authenticated,
            "governance",
            "Proposals with their tallies",
            &[CURSOR, LIMIT],
            None,
            Resp::Json("ProposalList"),
            get(gov::proposals),
        ),
        route(
            M::POST,
            "/api/gov/proposals",
            Admin,
            "governance",
            "Open a proposal",
            &[],
            Some("ProposalRequest"),
            Resp::Json("Proposal"),
            post(gov::propose),
        ),
        route(
            M::GET,
            "/api/gov/proposals/{proposal}",
            Authenticated,
            "governance",
            "One proposal, its tally and ballots (an employee sees their own ballot)",
            &[],
            None,
            Resp::Json("Proposal"),
            get(gov::proposal),
        ),
        route(
            M::POST,
            "/api/gov/proposals/{proposal}/ballots",
            Holder,
            "governance",
            "Cast or change your ballot (counts once, the latest)",
            &[],
            Some("BallotRequest"),
            Resp::Json("Ballot"),
            post(gov::vote),
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// helpers shared by the handlers

pub fn token_json(c: &Company) -> Value {
    json!({"symbol": c.token.token.symbol(), "decimals": c.token.token.decimals()})
}

pub fn require_staff(p: &Principal) -> Result<(), ApiError> {
    if p.is_staff() { Ok(()) } else { Err(ApiError::forbidden()) }
}

pub fn require_admin(p: &Principal) -> Result<(), ApiError> {
    if p.role == Role::Admin { Ok(()) } else { Err(ApiError::forbidden()) }
}

/// `person`'s data, for staff or that person.
pub fn require_person(p: &Principal, person: &str) -> Result<(), ApiError> {
    if p.may_see(person) { Ok(()) } else { Err(ApiError::forbidden()) }
}

/// The person, or `not_found` naming `field` for staff (an employee was refused earlier unless
/// it is them).
pub fn known_person(c: &Company, person: &str, field: &str) -> Result<(), ApiError> {
    if c.people.contains_key(person) { Ok(()) } else { Err(ApiError::not_found_at(field, "person")) }
}

/// A period id from the path, in one of the shapes the pay calendars define (`2026-10`,
/// `2026-10-a`, `2026-10-b`, `bw-2026-10-05`, `uk-2026-m06`: the document's pattern) with a year
/// within [`crate::DATES`]. Whether the company's calendar has it is the service's to say.
pub fn period_path(id: &str) -> Result<(), ApiError> {
    let bad = || {
        ApiError::invalid(
            "path.period",
            format!("`{id}` is not a period id (2026-10, 2026-10-a, 2026-10-b, bw-2026-10-05 or uk-2026-m06)"),
        )
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let day = |s: &str| if digits(s.get(..4).unwrap_or(""), 4) { s.parse::<Date>().ok() } else { None };
    let first = if let Some(rest) = id.strip_prefix("uk-") {
        let (year, month) = rest.split_once("-m").ok_or_else(bad)?;
        if !digits(month, 2) {
            return Err(bad());
        }
        day(&format!("{year}-04-06"))
    } else if let Some(rest) = id.strip_prefix("bw-") {
        day(rest).filter(|_| rest.len() == 10)
    } else {
        let half = id.get(7..).unwrap_or("");
        if !["", "-a", "-b"].contains(&half) {
            return Err(bad());
        }
        id.get(..7).filter(|ym| ym.len() == 7).and_then(|ym| day(&format!("{ym}-01")))
    };
    crate::check_date("path.period", first.ok_or_else(bad)?)?;
    Ok(())
}

pub(crate) fn as_of(cx: &Ctx<'_>, q: &Query) -> Result<Date, ApiError> {
    Ok(q.date("as_of")?.unwrap_or_else(|| cx.today()))
}

pub fn timeline(c: &Company, grant: &str, as_of: Date) -> Result<Timeline, ApiError> {
    let rec = c.grants.get(grant).ok_or_else(|| ApiError::not_found_at("path.grant", "grant"))?;
    rec.terms
        .grant
        .timeline(&c.company.time_zone, Some(as_of))
        .map_err(|e| ApiError::internal(format!("grant {grant}: {e}")))
}

/// One page of `items` (sorted by key): those after the cursor, at most `limit`.
pub fn page<T>(items: Vec<(String, T)>, q: &Query) -> Result<(Vec<T>, Option<String>), ApiError> {
    let limit = usize::try_from(LIMIT.int_from(q)?.unwrap_or(100)).unwrap_or(100);
    let after = match q.get("cursor") {
        Some(c) => Some(
            unhex(c)
                .filter(|c| !c.is_empty())
                .ok_or_else(|| ApiError::invalid("query.cursor", "not a cursor this API returned"))?,
        ),
        None => None,
    };
    let mut rest: Vec<(String, T)> = items.into_iter().filter(|(k, _)| after.as_ref().is_none_or(|a| k > a)).collect();
    let more = rest.len() > limit;
    rest.truncate(limit);
    let next = if more { rest.last().map(|(k, _)| tokencomp_store::hex(k.as_bytes())) } else { None };
    Ok((rest.into_iter().map(|(_, v)| v).collect(), next))
}

fn unhex(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> =
        (0..s.len()).step_by(2).map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok())).collect();
    String::from_utf8(bytes?).ok()
}

/// A grant's amounts as of `as_of`, with `pending` (unsettled performance targets), so the
/// tranches, forfeitures and pending add up to what was granted.
fn amounts(t: &Timeline, as_of: Date) -> Value {
    let p = t.position(as_of);
    json!({"granted": p.granted.to_string(), "vested": p.vested.to_string(),
           "unvested": p.unvested.to_string(), "forfeited": p.forfeited.to_string(),
           "pending": t.pending.to_string()})
}

/// Granted, vested, unvested and forfeited summed over `grants` as of `as_of`, as the JSON
/// `totals` object.
fn totals<'a>(c: &Company, grants: impl Iterator<Item = &'a String>, as_of: Date) -> Result<Value, ApiError> {
    let mut t = [0u128; 4];
    for id in grants {
        let p = timeline(c, id, as_of)?.position(as_of);
        for (slot, a) in t.iter_mut().zip([p.granted, p.vested, p.unvested, p.forfeited]) {
            *slot = add(*slot, a)?;
        }
    }
    let s = |u: u128| TokenAmount::from_base_units(u).to_string();
    Ok(json!({"granted": s(t[0]), "vested": s(t[1]), "unvested": s(t[2]), "forfeited": s(t[3])}))
}

fn add(a: u128, b: TokenAmount) -> Result<u128, ApiError> {
    a.checked_add(b.base_units()).ok_or_else(|| ApiError::internal("a total overflows u128"))
}

// ---------------------------------------------------------------------------------------------
// meta and session

async fn healthz(State(st): State<AppState>) -> Result<Json<Value>, ApiError> {
    let events = st.with(|cx| cx.store.len().map_err(ApiError::internal)).await?;
    Ok(Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION"), "ledger_events": events})))
}

pub(crate) fn session_json(c: &Caller, company: &Company) -> Value {
    let p = &c.who;
    json!({"user": p.user, "role": p.role.as_str(), "person": p.person, "csrf_token": c.csrf,
           "company": company.company.name, "token": token_json(company)})
}

// ---------------------------------------------------------------------------------------------
// company, people, grants

async fn company(State(st): State<AppState>, Caller { who, .. }: Caller, q: Query) -> Result<Json<Value>, ApiError> {
    require_staff(&who)?;
    let doc = st
        .with(move |cx| {
            let as_of = as_of(cx, &q)?;
            let c = cx.company;
            let holders: std::collections::BTreeSet<&str> =
                c.grants.values().map(|r| r.terms.grant.holder.as_str()).collect();
            let totals = totals(c, c.grants.keys(), as_of)?;
            let events = cx.store.len().map_err(ApiError::internal)?;
            Ok(json!({
                "token": token_json(c), "as_of": as_of.to_string(), "name": c.company.name,
                "time_zone": c.company.time_zone_name, "pay_frequency": c.company.pay_frequency.as_str(),
                "people": c.people.len(), "holders": holders.len(), "grants": c.grants.len(),
                "totals": totals,
                "periods_run": c.periods_run.len(), "ledger_events": events,
            }))
        })
        .await?;
    Ok(Json(doc))
}

fn person_json(p: &tokencomp_core::model::Person) -> Value {
    json!({"id": p.id, "name": p.name, "kind": p.kind.as_str(), "country": p.country, "region": p.region,
           "hired": p.hired.map(|d| d.to_string()), "wallet": p.wallet, "tax": tax_json(&p.tax)})
}

/// A request's tax profiles: `{"us": {...}, "uk": {...}, "de": {...}}`, each jurisdiction an
/// object of string fields read through `TaxProfile::set`; an absent or `null` one has nothing
/// on file. Every problem is refused at once, the first as the message and all in `details`.
fn tax_from_json(body: &Value) -> Result<tokencomp_core::tax_profile::TaxProfile, ApiError> {
    use tokencomp_core::tax_profile::{Fields, TaxProfile};
    let Some(m) = body.as_object() else { return Err(ApiError::invalid("body", "expected an object with us, uk, de")) };
    let mut tax = TaxProfile::default();
    let mut errors: Vec<(String, String)> = Vec::new();
    for (j, v) in m {
        let field = format!("body.{j}");
        if !TaxProfile::JURISDICTIONS.contains(&j.as_str()) {
            errors.push((field, "the tax profiles are us, uk and de".into()));
            continue;
        }
        let obj = match v {
            Value::Null => continue,
            Value::Object(o) => o,
            _ => {
                errors.push((field, "expected an object of text fields".into()));
                continue;
            }
        };
        let mut fields = Fields::new();
        for (k, x) in obj {
            match x.as_str() {
                Some(t) => {
                    fields.insert(k.clone(), t.to_owned());
                }
                None => errors.push((format!("{field}.{k}"), "expected a string".into())),
            }
        }
        if let Err(es) = tax.set(j, &fields) {
            errors.extend(es.into_iter().map(|e| (format!("{field}.{}", e.field), e.message)));
        }
    }
    match errors.first() {
        None => Ok(tax),
        Some((field, message)) => {
            let all: Vec<Value> = errors.iter().map(|(f, m)| json!({"field": f, "message": m})).collect();
            Err(ApiError::invalid(field, message.clone()).with_details(json!({"field": field, "errors": all})))
        }
    }
}

async fn put_tax(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    Path(id): Path<String>,
    body: crate::Body,
) -> Result<Json<Value>, ApiError> {
    require_admin(&who)?;
    let tax = tax_from_json(&body.0)?;
    let actor = who.actor();
    let doc = st
        .with(move |cx| {
            known_person(cx.company, &id, "path.person")?;
            let by = cx.stamp(&actor);
            tokencomp_service::ledger::set_tax(cx.store, &by, &id, tax.clone())?;
            let mut p = cx.company.people[&id].clone();
            p.tax = tax;
            Ok(person_json(&p))
        })
        .await?;
    Ok(Json(doc))
}

/// A person's tax profiles as the API shows them: every jurisdiction, `null` when nothing is
/// on file (see the `TaxProfiles` schema).
fn tax_json(tax: &tokencomp_core::tax_profile::TaxProfile) -> Value {
    let mut m = serde_json::Map::new();
    for j in tokencomp_core::tax_profile::TaxProfile::JURISDICTIONS {
        m.insert(j.to_owned(), Value::Null);
    }
    for (j, fields) in tax.to_fields() {
        m.insert(j.to_owned(), json!(fields));
    }
    Value::Object(m)
}

async fn people(State(st): State<AppState>, Caller { who, .. }: Caller, q: Query) -> Result<Json<Value>, ApiError> {
    require_staff(&who)?;
    let doc = st
        .with(move |cx| {
            let items = cx.company.people.values().map(|p| (p.id.clone(), person_json(p))).collect();
            let (items, next) = page(items, &q)?;
            Ok(json!({"items": items, "next_cursor": next}))
        })
        .await?;
    Ok(Json(doc))
}

async fn person(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    Path(id): Path<String>,
    q: Query,
) -> Result<Json<Value>, ApiError> {
    require_person(&who, &id)?;
    let doc = st
        .with(move |cx| {
            known_person(cx.company, &id, "path.person")?;
            let as_of = as_of(cx, &q)?;
            let c = cx.company;
            let grants: Vec<&String> =
                c.grants.iter().filter(|(_, r)| r.terms.grant.holder == id).map(|(gid, _)| gid).collect();
            let totals = totals(c, grants.iter().copied(), as_of)?;
            let mut doc = person_json(&c.people[&id]);
            if let Value::Object(m) = &mut doc {
                m.insert("token".into(), token_json(c));
                m.insert("as_of".into(), json!(as_of.to_string()));
                m.insert("grants".into(), json!(grants));
                m.insert("totals".into(), totals);
            }
            Ok(doc)
        })
        .await?;
    Ok(Json(doc))
}

async fn grants(State(st): State<AppState>, Caller { who, .. }: Caller, q: Query) -> Result<Json<Value>, ApiError> {
    let doc = st
        .with(move |cx| {
            let as_of = as_of(cx, &q)?;
            let c = cx.company;
            // An employee sees their own grants whatever `person` says.
            let only = match (&who.role, q.get("person")) {
                (Role::Employee, _) => who.person.clone(),
                (_, Some(p)) => {
                    known_person(c, p, "query.person")?;
                    Some(p.to_owned())
                }
                (_, None) => None,
            };
            let mut items = Vec::new();
            for (id, rec) in &c.grants {
                let holder = &rec.terms.grant.holder;
                if only.as_ref().is_some_and(|o| o != holder) {
                    continue;
                }
                let t = timeline(c, id, as_of)?;
                let next = t.tranches.iter().find(|x| x.date > as_of);
                let mut v = amounts(&t, as_of);
                if let Value::Object(m) = &mut v {
                    m.insert("id".into(), json!(id));
                    m.insert("holder".into(), json!(holder));
                    m.insert("grant_date".into(), json!(rec.terms.grant_date.to_string()));
                    m.insert(
                        "next_vest".into(),
                        next.map_or(
                            Value::Null,
                            |x| json!({"date": x.date.to_string(), "amount": x.amount.to_string()}),
                        ),
                    );
                }
                items.push((id.clone(), v));
            }
            let (items, next) = page(items, &q)?;
            Ok(json!({"token": token_json(c), "as_of": as_of.to_string(), "items": items, "next_cursor": next}))
        })
        .await?;
    Ok(Json(doc))
}

/// The grant's holder must be the caller unless staff; an unknown grant is the same refusal.
fn check_grant(cx: &Ctx<'_>, who: &Principal, grant: &str) -> Result<(), ApiError> {
    match cx.company.grants.get(grant) {
        Some(rec) => require_person(who, &rec.terms.grant.holder),
        None if who.is_staff() => Err(ApiError::not_found_at("path.grant", "grant")),
        None => Err(ApiError::forbidden()),
    }
}

async fn grant(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    Path(id): Path<String>,
    q: Query,
) -> Result<Json<Value>, ApiError> {
    let doc = st
        .with(move |cx| {
            check_grant(cx, &who, &id)?;
            let as_of = as_of(cx, &q)?;
            let c = cx.company;
            let rec = &c.grants[&id];
            let t = timeline(c, &id, as_of)?;
            let mut g = amounts(&t, as_of);
            if let Value::Object(m) = &mut g {
                m.insert("id".into(), json!(id));
                m.insert("holder".into(), json!(rec.terms.grant.holder));
                m.insert("grant_date".into(), json!(rec.terms.grant_date.to_string()));
                m.insert(
                    "tranches".into(),
                    t.tranches
                        .iter()
                        .map(|x| {
                            json!({"date": x.date.to_string(), "amount": x.amount.to_string(),
                                   "cumulative": x.cumulative.to_string(), "reason": x.reason.as_str()})
                        })
                        .collect(),
                );
                m.insert(
                    "forfeitures".into(),
                    t.forfeitures
                        .iter()
                        .map(|f| json!({"date": f.date.to_string(), "amount": f.amount.to_string(), "reason": f.reason.as_str()}))
                        .collect(),
                );
            }
            Ok(json!({"token": token_json(c), "as_of": as_of.to_string(), "grant": g}))
        })
        .await?;
    Ok(Json(doc))
}

fn event_json(e: &StoredEvent) -> Value {
    json!({"seq": e.seq, "id": e.event.id, "kind": e.event.kind.as_str(), "subject": e.event.subject, "actor": e.event.actor,
           "recorded_at": e.recorded_at.to_string(), "amount": e.event.amount.map(|a| a.to_string()),
           "payload": serde_json::from_str::<Value>(&e.event.payload).unwrap_or(Value::Null),
           "prev_hash": e.prev_hash, "hash": e.hash})
}

async fn history(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let doc = st
        .with(move |cx| {
            check_grant(cx, &who, &id)?;
            let events = cx.store.events_for(&Subject::Grant(id.clone())).map_err(ApiError::internal)?;
            let list: Vec<Value> = events.iter().map(event_json).collect();
            Ok(json!({"token": token_json(cx.company), "grant": id, "events": list}))
        })
        .await?;
    Ok(Json(doc))
}

async fn calendar(State(st): State<AppState>, Caller { who, .. }: Caller, q: Query) -> Result<Json<Value>, ApiError> {
    let doc = st
        .with(move |cx| {
            let from = q.date("from")?.unwrap_or_else(|| cx.today());
            let to = match q.date("to")? {
                Some(d) => d,
                None => from.saturating_add(90.days()).min(crate::DATES.1),
            };
            if to < from {
                return Err(ApiError::invalid("query.to", "`to` is before `from`"));
            }
            if from.checked_add(10.years()).is_ok_and(|limit| to > limit) {
                return Err(ApiError::invalid("query.to", "a calendar spans at most ten years"));
            }
            let c = cx.company;
            let only = if who.role == Role::Employee { who.person.clone() } else { None };
            let mut rows = Vec::new();
            for (id, rec) in &c.grants {
                let holder = &rec.terms.grant.holder;
                if only.as_ref().is_some_and(|o| o != holder) {
                    continue;
                }
                let t = timeline(c, id, to)?;
                for x in t.tranches.iter().filter(|x| x.date >= from && x.date <= to) {
                    rows.push((x.date, holder.clone(), id.clone(), x.amount, x.reason.as_str()));
                }
            }
            rows.sort();
            let mut per: std::collections::BTreeMap<&str, u128> = std::collections::BTreeMap::new();
            let mut total = 0u128;
            for r in &rows {
                let e = per.entry(r.1.as_str()).or_insert(0);
                *e = add(*e, r.3)?;
                total = add(total, r.3)?;
            }
            let s = |u: u128| TokenAmount::from_base_units(u).to_string();
            let vests: Vec<Value> = rows
                .iter()
                .map(|r| json!({"date": r.0.to_string(), "holder": r.1, "grant": r.2, "amount": r.3.to_string(), "reason": r.4}))
                .collect();
            let people: Vec<Value> = per.iter().map(|(p, a)| json!({"holder": p, "amount": s(*a)})).collect();
            Ok(json!({"token": token_json(c), "from": from.to_string(), "to": to.to_string(),
                      "vests": vests, "per_person": people, "total": s(total)}))
        })
        .await?;
    Ok(Json(doc))
}

// ---------------------------------------------------------------------------------------------
// audit

async fn ledger_verify(State(st): State<AppState>, Caller { who, .. }: Caller) -> Result<Json<Value>, ApiError> {
    require_staff(&who)?;
    let doc = st
        .with(move |cx| {
            let events = cx.store.events().map_err(ApiError::internal)?;
            let head = events.last().map(|e| e.hash.clone());
            // As `verify-ledger`: a lifted append-only guard, or a recorded head the ledger no
            // longer holds, is not ok either.
            let mut problems = cx.store.append_only_problems().map_err(ApiError::internal)?;
            let chain = verify(&events);
            if chain.is_ok() {
                problems.extend(tokencomp_store::anchor::check_recorded(&events));
            }
            Ok(match chain {
                Ok(n) => json!({"ok": problems.is_empty(), "events": n, "head_hash": head, "break": null, "problems": problems}),
                Err(b) => json!({"ok": false, "events": events.len(), "head_hash": head,
                                 "break": {"seq": b.seq, "id": b.id, "reason": b.reason}, "problems": problems}),
            })
        })
        .await?;
    Ok(Json(doc))
}
