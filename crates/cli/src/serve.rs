//! `tokencomp serve` and `tokencomp user`: the HTTP API and dashboards over the data directory,
//! and the logins that may use them. The API calls the same service as the commands, so a file
//! downloaded in the browser is the file the CLI writes.

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use jiff::Timestamp;
use tokencomp_api::auth::{Accounts, Role};
use tokencomp_api::{AppState, Config};

use crate::{Global, bad_input};

/// Clap parses the arguments, so every default is the command line's own (`demo --serve`).
pub(crate) fn args<T: Args>(argv: &[&str]) -> Result<T> {
    #[derive(Parser)]
    struct Wrap<A: Args> {
        #[command(flatten)]
        a: A,
    }
    let mut full = vec!["tokencomp"];
    full.extend_from_slice(argv);
    Ok(Wrap::<T>::try_parse_from(full).map(|w| w.a)?)
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
    /// Terminate TLS: the certificate chain, PEM, leaf first (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// Terminate TLS: the certificate's private key, PEM, readable by its owner only.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
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
    /// The host (and port) browsers reach this server at, e.g. `comp.example.com`: the domain of
    /// the Sign-In with Ethereum messages people sign to prove a wallet (default: the request's
    /// `Host` header, which only a server reached directly can trust).
    #[arg(long, value_name = "HOST")]
    pub public_host: Option<String>,
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
    let accounts = Accounts::load(&g.dir().accounts()).map_err(|e| bad_input(e, "accounts"))?;
    if accounts.users.is_empty() {
        eprintln!("note: no logins yet; add one with `tokencomp user add NAME --role admin`");
    }
    let mut cfg = Config::new(g.data.clone());
    cfg.secure_cookies = !args.insecure_cookies;
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        cfg.tls = Some(tokencomp_api::tls::load(cert, key).map_err(|e| bad_input(e, "--tls-cert/--tls-key"))?);
    }
    cfg.now = now;
    cfg.limits.header_timeout = std::time::Duration::from_secs(args.header_timeout);
    cfg.limits.body_timeout = std::time::Duration::from_secs(args.body_timeout);
    cfg.limits.max_connections = usize::try_from(args.max_connections).unwrap_or(usize::MAX);
    cfg.limits.connections_per_client = usize::try_from(args.connections_per_client).unwrap_or(usize::MAX);
    cfg.limits.writes_per_minute = args.writes_per_minute;
    cfg.limits.trusted_proxies = args.trusted_proxies.clone();
    cfg.label_wallets = args.label_wallets;
    cfg.public_host = args.public_host.clone();
    // The chain a server reads: `TOKENCOMP_RPC`'s node when set (as the `chain` commands'
    // `--rpc` default), else the embedded chain.
    cfg.rpc = std::env::var("TOKENCOMP_RPC").ok().filter(|u| !u.is_empty());
    // Notices (issue 18, item 5): the scheduler runs when the data directory has a notices file.
    let notices = tokencomp_service::notices::load_config(&g.dir())?;
    let tls = cfg.tls.is_some();
    let state = AppState::new(store, cfg).context("opening the sessions beside the ledger")?;
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
        crate::outln!("listening on {}://{addr}", if tls { "https" } else { "http" });
        if !tls && !args.insecure_cookies && !addr.ip().is_loopback() && args.trusted_proxies.is_empty() {
            eprintln!(
                "warning: serving plain http on {addr}, which is not loopback: browsers refuse the session \
                 cookie (it is marked Secure) except on localhost, so logins from other machines will return to \
                 the login page. Use --tls-cert FILE --tls-key FILE, or a TLS proxy named with --trusted-proxy IP; \
                 --insecure-cookies only on a trusted network. The login page says the same."
            );
        }
        if let Some(n) = notices {
            eprintln!("notices: the scheduler runs every {} seconds", n.interval_seconds);
            tokio::spawn(crate::notify::scheduler(state.clone(), g.dir(), n));
        }
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
    let path = g.dir().accounts();
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

/// The documented demo logins (`tokencomp_api::auth::DEMO_USERS`), written over the accounts.
pub fn demo_users(g: &Global) -> Result<()> {
    tokencomp_api::auth::write_demo_users(&g.dir()).map_err(|e| anyhow::anyhow!("{e}"))
}
