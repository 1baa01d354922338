//! `tokencomp serve` and `tokencomp user`: the HTTP API and dashboards over the data directory,
//! and the logins that may use them. The API's reports are this binary's own commands, reached
//! through [`CliEngine`], so a file downloaded in the browser is the file the CLI writes.

use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Value, json};
use tokencomp_api::auth::{Accounts, Role, accounts_path};
use tokencomp_api::{AppState, Config, Engine, EngineError, PeriodInfo};
use tokencomp_store::Store;
use tokencomp_store::ledger::Company;

use crate::{BadInput, Global, bad_input};

/// What the API asks of the CLI's commands.
pub struct CliEngine {
    pub g: Global,
    /// Derive demo addresses for people whose wallet is a label (as `--label-wallets`).
    pub label_wallets: bool,
}

fn engine_error(e: anyhow::Error) -> EngineError {
    if let Some(n) = e.downcast_ref::<crate::compliance::NotRun>() {
        return EngineError::Conflict { field: "path.period".into(), message: n.to_string() };
    }
    match e.downcast_ref::<BadInput>() {
        Some(b) if !b.message.is_empty() => {
            EngineError::Invalid { field: b.location.clone(), message: b.message.clone() }
        }
        Some(_) => EngineError::Invalid { field: "input".into(), message: "bad input".into() },
        None => EngineError::Failed(format!("{e:#}")),
    }
}

/// A report over the ledger: what it cannot compute from what is recorded (a missing price or
/// rate) is the ledger's gap, said as such, not a server failure.
fn report_error(e: anyhow::Error) -> EngineError {
    match engine_error(e) {
        EngineError::Failed(m) => EngineError::Incomplete(m),
        other => other,
    }
}

/// Clap parses the arguments, so every default is the command line's own.
pub(crate) fn args<T: Args>(argv: &[&str]) -> Result<T, EngineError> {
    #[derive(Parser)]
    struct Wrap<A: Args> {
        #[command(flatten)]
        a: A,
    }
    let mut full = vec!["tokencomp"];
    full.extend_from_slice(argv);
    Wrap::<T>::try_parse_from(full).map(|w| w.a).map_err(|e| EngineError::Failed(e.to_string()))
}

impl Engine for CliEngine {
    fn periods(&self, company: &Company, through: Date) -> Result<Vec<PeriodInfo>, EngineError> {
        let first = company.grants.values().map(|g| g.terms.grant_date).min();
        let Some(first) = first else { return Ok(Vec::new()) };
        let freq = company.company.pay_frequency;
        let mut out: Vec<PeriodInfo> = tokencomp_core::period::periods(freq, first, through)
            .into_iter()
            .map(|p| PeriodInfo {
                run: company.periods_run.contains(&p.id),
                closed: company.payroll_closed.contains_key(&p.id),
                id: p.id,
                start: p.start,
                end: p.end,
            })
            .collect();
        out.sort_by_key(|p| p.start);
        Ok(out)
    }

    fn run_period(
        &self,
        store: &mut dyn Store,
        company: &Company,
        period: &str,
        actor: &str,
        today: Date,
    ) -> Result<Value, EngineError> {
        let p = crate::compliance::pay_period(company, period).ok_or_else(|| EngineError::Invalid {
            field: "path.period".into(),
            message: format!("`{period}` is not a period id of this company"),
        })?;
        // A period is run once it has ended (its last day's vests are then final).
        if p.end >= today {
            return Err(EngineError::Invalid {
                field: "path.period".into(),
                message: format!("period {period} ends on {}; it can be run from the day after", p.end),
            });
        }
        let (periods, events) = crate::queries::run_through(store, None, p.end, actor, false).map_err(engine_error)?;
        Ok(json!({"period": period, "through": p.end.to_string(), "periods_run": periods, "events_recorded": events}))
    }

    fn close_period(
        &self,
        store: &mut dyn Store,
        company: &Company,
        period: &str,
        actor: &str,
    ) -> Result<Value, EngineError> {
        // What the close cannot compute from the ledger (a missing price) is the ledger's gap,
        // as for the payroll file; the ledger failing to record it is the server's.
        let closed = crate::compliance::close_with(store, None, period, actor).map_err(|e| {
            if e.downcast_ref::<tokencomp_store::StoreError>().is_some() { engine_error(e) } else { report_error(e) }
        })?;
        let digest = match &closed {
            Some((_, d)) => d.clone(),
            None => company.payroll_closed.get(period).map(|(_, d)| d.clone()).unwrap_or_default(),
        };
        Ok(
            json!({"period": period, "closed": true, "digest": digest, "events_recorded": usize::from(closed.is_some())}),
        )
    }

    fn payroll_csv(&self, company: &Company, period: &str) -> Result<String, EngineError> {
        crate::compliance::payroll_csv(company, period).map_err(report_error)
    }

    fn tax_report(&self, company: &Company, person: &str, year: i16) -> Result<Value, EngineError> {
        let year = year.to_string();
        let a = args::<crate::compliance::TaxReportArgs>(&["--person", person, "--year", &year, "--json"])?;
        crate::compliance::tax_report_in(company, &a)
            .map_err(report_error)?
            .ok_or_else(|| EngineError::Failed("the tax report gave no document".into()))
    }

    fn books(&self, company: &Company, from: Date, to: Date, format: &str) -> Result<String, EngineError> {
        crate::compliance::books_text(company, from, to, format, None).map_err(report_error)
    }

    fn tokenomics(&self, company: &Company, through: Date) -> Result<Value, EngineError> {
        if company.tokenomics.is_none() {
            return Err(EngineError::NotFound("tokenomics: the company has no [tokenomics] section".into()));
        }
        let through = through.to_string();
        let a = args::<crate::risk::TokenomicsArgs>(&["--through", &through, "--json", "--no-charts"])?;
        crate::risk::tokenomics_in(&self.g, company, &a)
            .map_err(engine_error)?
            .ok_or_else(|| EngineError::Failed("tokenomics gave no document".into()))
    }

    fn simulate(
        &self,
        company: &Company,
        person: &str,
        as_of: Date,
        paths: usize,
        seed: u64,
    ) -> Result<Value, EngineError> {
        let (paths, seed, as_of) = (paths.to_string(), seed.to_string(), as_of.to_string());
        let a = args::<crate::risk::SimulateArgs>(&[
            "--person",
            person,
            "--paths",
            &paths,
            "--seed",
            &seed,
            "--as-of",
            &as_of,
            "--json",
            "--quiet",
            "--no-charts",
        ])?;
        crate::risk::simulate_in(&self.g, company, &a)
            .map_err(report_error)?
            .ok_or_else(|| EngineError::Failed("the simulation gave no document".into()))
    }

    fn chain_status(&self, company: &Company) -> Result<Value, EngineError> {
        crate::chain::status_doc(&self.g, company).map_err(report_error)
    }

    fn reconcile(&self, store: &mut dyn Store, company: &Company) -> Result<Value, EngineError> {
        match crate::chain::reconcile_doc(&self.g, store, company, self.label_wallets) {
            Ok(v) => Ok(v),
            // Nothing deployed is "no such thing", not bad input.
            Err(e) if e.downcast_ref::<BadInput>().is_some_and(|b| b.message.starts_with("nothing is deployed")) => {
                Err(EngineError::NotFound("deployment: nothing is deployed on this chain".into()))
            }
            Err(e) => Err(report_error(e)),
        }
    }
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The address to listen on (loopback by default; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Derive demo addresses for people whose wallet is a label (for reconciliation).
    #[arg(long)]
    pub label_wallets: bool,
    /// Send the session cookie without `Secure` (only behind a proxy that terminates TLS and
    /// rewrites cookies).
    #[arg(long)]
    pub insecure_cookies: bool,
    /// A fixed "now" (RFC 3339), for tests and reproducible demos.
    #[arg(long, hide = true)]
    pub now: Option<String>,
    /// Seconds a connection has to send a request's headers (and may stay idle between
    /// requests) before it is closed.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout: u64,
    /// Seconds a request's body has to arrive once its headers have (408 after).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_timeout: u64,
    /// Connections held at once (lowered to fit the process's descriptor limit).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,
    /// Connections held at once from one client address (a trusted proxy is not counted).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub connections_per_client: u64,
    /// Changes (any request that writes) per login and minute; a login may also make them at once.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub writes_per_minute: u32,
    /// A reverse proxy whose `X-Forwarded-For` names the client (repeatable); from any other
    /// peer the header is ignored, so a client cannot pick its own address.
    #[arg(long = "trusted-proxy", value_name = "IP")]
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

pub fn serve(g: &Global, args: &ServeArgs) -> Result<()> {
    let mut store = crate::company::open_store(g)?;
    if store.is_empty()? {
        return Err(bad_input(
            "the data directory has no company yet",
            "run `tokencomp init FILE` or `tokencomp demo` first",
        ));
    }
    let now = match &args.now {
        Some(s) => Some(s.parse::<Timestamp>().map_err(|e| bad_input(format!("`{s}`: {e}"), "--now"))?),
        None => None,
    };
    let accounts = Accounts::load(&accounts_path(&g.data)).map_err(|e| bad_input(e, "accounts"))?;
    if accounts.users.is_empty() {
        eprintln!("note: no logins yet; add one with `tokencomp user add NAME --role admin`");
    }
    let mut cfg = Config::new(g.data.clone());
    cfg.secure_cookies = !args.insecure_cookies;
    cfg.now = now;
    cfg.limits.header_timeout = std::time::Duration::from_secs(args.header_timeout);
    cfg.limits.body_timeout = std::time::Duration::from_secs(args.body_timeout);
    cfg.limits.max_connections = usize::try_from(args.max_connections).unwrap_or(usize::MAX);
    cfg.limits.connections_per_client = usize::try_from(args.connections_per_client).unwrap_or(usize::MAX);
    cfg.limits.writes_per_minute = args.writes_per_minute;
    cfg.limits.trusted_proxies = args.trusted_proxies.clone();
    let engine = Arc::new(CliEngine { g: g.clone(), label_wallets: args.label_wallets });
    let state = AppState::new(store, engine, cfg);
    // Blocking work (ledger reads behind one lock, password checks behind the gate) queues
    // for a bounded pool rather than starting a thread per request.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(64)
        .build()
        .context("starting the server runtime")?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| bad_input(format!("cannot listen on {}: {e}", args.listen), "--listen"))?;
        let addr = listener.local_addr()?;
        // Tests read this line to find the port.
        crate::outln!("listening on http://{addr}");
        tokencomp_api::serve(listener, state).await.context("serving")
    })
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a login (or replace its password and role: that ends its sessions and revokes its
    /// API keys, also on a running server). The password comes from standard input (one line)
    /// or `TOKENCOMP_PASSWORD`.
    Add(UserAddArgs),
    /// Create an API key for a login; the key is printed once and stored only as a hash.
    Key { name: String },
    /// Remove a login and its keys.
    Remove { name: String },
    /// Logins, their roles and keys (never secrets).
    List,
}

#[derive(Args, Debug)]
pub struct UserAddArgs {
    pub name: String,
    /// admin, employee or auditor.
    #[arg(long)]
    pub role: String,
    /// The person an employee login is.
    #[arg(long)]
    pub person: Option<String>,
}

fn read_password() -> Result<String> {
    if let Ok(p) = std::env::var("TOKENCOMP_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

pub fn user(g: &Global, cmd: &UserCommand) -> Result<()> {
    let path = accounts_path(&g.data);
    // A file that cannot be read is the user's to fix (exit 2), whatever the command.
    Accounts::load(&path).map_err(|e| bad_input(e, "accounts"))?;
    match cmd {
        UserCommand::Add(a) => {
            let role: Role = a.role.parse().map_err(|e| bad_input(e, "--role"))?;
            if let Some(p) = &a.person {
                let mut store = crate::company::open_store(g)?;
                let company = crate::company::load(&mut *store)?;
                if !company.people.contains_key(p) {
                    return Err(bad_input(format!("no person has id `{p}`"), "--person"));
                }
            }
            let password = read_password()?;
            let (replaced, keys) = Accounts::edit(&path, |accounts| {
                let replaced = accounts.user(&a.name).is_some();
                let keys = accounts.keys.iter().filter(|k| k.user == a.name).count();
                accounts
                    .set_user(&a.name, role, a.person.as_deref(), &password)
                    .map_err(|e| bad_input(e, "user add"))?;
                Ok::<_, anyhow::Error>((replaced, keys))
            })?;
            crate::outln!("user {} ({}) saved in {}", a.name, role.as_str(), path.display());
            if replaced {
                // A reset or a role change: a running server ends the sessions on its next request.
                crate::outln!("its sessions end and its {keys} API key(s) were revoked");
            }
        }
        UserCommand::Key { name } => {
            let key = Accounts::edit(&path, |accounts| {
                accounts.add_key(name, Timestamp::now()).map_err(|e| bad_input(e, "NAME"))
            })?;
            crate::outln!("{key}");
            eprintln!("this key is shown once; send it as `Authorization: Bearer <key>`");
        }
        UserCommand::Remove { name } => {
            Accounts::edit(&path, |accounts| {
                if accounts.remove_user(name) {
                    Ok(())
                } else {
                    Err(bad_input(format!("no user is named `{name}`"), "NAME"))
                }
            })?;
            crate::outln!("removed {name} and its keys");
        }
        UserCommand::List => {
            let accounts = Accounts::load(&path).map_err(|e| bad_input(e, "accounts"))?;
            for u in &accounts.users {
                let keys: Vec<&str> =
                    accounts.keys.iter().filter(|k| k.user == u.name).map(|k| k.id.as_str()).collect();
                crate::outln!(
                    "{:<16} {:<9} {:<12} keys: {}",
                    u.name,
                    u.role.as_str(),
                    u.person.as_deref().unwrap_or("-"),
                    if keys.is_empty() { "-".to_owned() } else { keys.join(", ") }
                );
            }
        }
    }
    Ok(())
}

/// The documented demo logins (README): password `demo-<name>-pw`.
pub const DEMO_USERS: &[(&str, Role, Option<&str>)] = &[
    ("admin", Role::Admin, None),
    ("auditor", Role::Auditor, None),
    ("ada", Role::Employee, Some("ada")),
    ("omar", Role::Employee, Some("omar")),
];

pub fn demo_users(g: &Global) -> Result<()> {
    let path = accounts_path(&g.data);
    let mut accounts = Accounts::default();
    for (name, role, person) in DEMO_USERS {
        accounts
            .set_user(name, *role, *person, &format!("demo-{name}-pw"))
            .map_err(|e| anyhow::anyhow!("demo user {name}: {e}"))?;
    }
    accounts.save(&path).map_err(|e| anyhow::anyhow!("{e}"))
}
