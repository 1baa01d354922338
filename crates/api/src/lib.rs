//! The HTTP API and the dashboards, one axum [`Router`] built by [`app`].
//!
//! Every route is declared once in [`routes::table`] with its method, path, who may call it and
//! its response schema; the router and the OpenAPI document (`/openapi.json`) are both built
//! from that table, so they cannot drift apart, and the authorization tests walk it.
//!
//! The ledger is read through the [`tokencomp_store::Store`] trait on a blocking thread (the
//! stores are synchronous). The folded company is cached and refolded only when the ledger's
//! length changes, so a read costs one `count(*)`, not a fold of every event. What a company can
//! do (period runs, payroll files, tax reports, books, chain reconciliation, simulations) is
//! `tokencomp_service`'s, called directly, so the file a browser downloads is the file the CLI
//! writes; a service error becomes a status and a code in one place (`error`).
//!
//! Architecture invariant: every handler decides access from the [`Principal`] before it reads
//! anything, and a refusal is the same 401/403 whether or not the resource exists.

pub mod auth;
pub mod error;
pub mod limits;
pub mod log;
mod net;
pub mod openapi;
pub mod routes;
pub mod tls;
pub mod ui;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::Value;
use tokencomp_store::Store;
use tokencomp_store::ledger::Company;

pub use auth::{Auth, Principal, Role};
pub use error::ApiError;

/// How the server runs.
pub struct Config {
    /// The data directory: accounts live in `auth/` there.
    pub data: PathBuf,
    /// `Secure` on the session cookie (browsers accept it on `http://127.0.0.1` and
    /// `http://localhost`; turn it off only behind a proxy that strips it).
    pub secure_cookies: bool,
    /// The server terminates TLS itself (`serve --tls-cert/--tls-key`), so every page is https.
    pub tls: Option<tls::ServerTls>,
    /// A fixed "now" for tests and reproducible demos; the clock otherwise.
    pub now: Option<Timestamp>,
    pub log: log::Sink,
    /// Connections, bodies, hashing and writes: what one client or login may cost.
    pub limits: limits::Limits,
    /// The node the chain routes read (`TOKENCOMP_RPC`); the embedded chain when `None`.
    pub rpc: Option<String>,
    /// Derive demo addresses for people whose wallet is a label (for reconciliation).
    pub label_wallets: bool,
    /// The host (and port) browsers reach this server at: the domain of Sign-In with Ethereum
    /// challenges (wallet proofs). `None`: the request's `Host` header.
    pub public_host: Option<String>,
}

impl Config {
    pub fn new(data: PathBuf) -> Config {
        Config {
            data,
            secure_cookies: true,
            tls: None,
            now: None,
            log: log::stderr(),
            limits: limits::Limits::default(),
            rpc: None,
            label_wallets: false,
            public_host: None,
        }
    }
}

struct Loaded {
    len: i64,
    company: Arc<Company>,
}

pub struct Inner {
    store: Mutex<Box<dyn Store + Send>>,
    cache: Mutex<Option<Loaded>>,
    pub auth: Auth,
    /// Every password and key hash passes here (bounded: see [`limits::HashGate`]).
    pub gate: Arc<limits::HashGate>,
    writes: limits::WriteLimiter,
    now: Mutex<Option<Timestamp>>,
    cfg: Config,
}

#[derive(Clone)]
pub struct AppState {
    pub inner: Arc<Inner>,
}

/// What a handler's blocking work gets: the ledger and the company folded from it.
pub struct Ctx<'a> {
    pub store: &'a mut dyn Store,
    pub company: &'a Company,
    /// How many events `company` was folded from (a guarded write reuses it when the ledger,
    /// read under the write lock, still has that many).
    pub len: i64,
    pub now: Timestamp,
    /// How the server runs: the data directory, the chain it reads.
    pub cfg: &'a Config,
}

impl Ctx<'_> {
    /// Today in the company's time zone.
    pub fn today(&self) -> Date {
        self.now.to_zoned_datetime(self.company.company.time_zone.clone()).date()
    }

    /// Who records this request's writes, and when: `actor` at the request's now.
    pub fn stamp(&self, actor: &str) -> tokencomp_service::ledger::Stamp {
        tokencomp_service::ledger::Stamp::new(actor, self.now).from(tokencomp_store::ledger::origin::Origin::Api)
    }

    /// The data directory's files.
    pub fn data(&self) -> tokencomp_service::DataDir {
        tokencomp_service::DataDir::new(self.cfg.data.clone())
    }
}

impl AppState {
    /// The server over `store`; sessions and login counts go to the same database, over a
    /// connection of their own (so a session check never waits for a ledger read).
    pub fn new(store: Box<dyn Store + Send>, cfg: Config) -> Result<AppState, tokencomp_store::StoreError> {
        let auth = Auth::new(&cfg.data, store.logins()?);
        let gate = limits::HashGate::new(cfg.limits.hashers, cfg.limits.hash_queue);
        let writes = limits::WriteLimiter::new(cfg.limits.writes_per_minute);
        Ok(AppState {
            inner: Arc::new(Inner {
                store: Mutex::new(store),
                cache: Mutex::new(None),
                auth,
                gate,
                writes,
                now: Mutex::new(cfg.now),
                cfg,
            }),
        })
    }

    /// Runs `f` with the accounts and sessions on a blocking thread (the sessions are in the
    /// database).
    pub async fn with_auth<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Auth) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let st = self.clone();
        tokio::task::spawn_blocking(move || f(&st.inner.auth)).await.map_err(ApiError::internal)
    }

    pub fn now(&self) -> Timestamp {
        let fixed = self.inner.now.lock().map(|n| *n).unwrap_or(None);
        fixed.unwrap_or_else(Timestamp::now)
    }

    /// Moves a fixed clock (tests: two ballots at two instants).
    pub fn set_now(&self, t: Timestamp) {
        if let Ok(mut n) = self.inner.now.lock() {
            *n = Some(t);
        }
    }

    /// Runs `f` on a blocking thread with the ledger locked and the company current.
    pub async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Ctx<'_>) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let st = self.clone();
        let now = self.now();
        tokio::task::spawn_blocking(move || {
            let inner = &st.inner;
            let mut store = inner.store.lock().map_err(|_| ApiError::internal("the ledger lock is poisoned"))?;
            let (company, len) = current(&mut **store, &inner.cache)?;
            let mut cx = Ctx { store: &mut **store, company: &company, len, now, cfg: &inner.cfg };
            f(&mut cx)
        })
        .await
        .map_err(ApiError::internal)?
    }
}

/// The company as the ledger now stands, folded again only when the ledger grew.
fn current(store: &mut dyn Store, cache: &Mutex<Option<Loaded>>) -> Result<(Arc<Company>, i64), ApiError> {
    let len = store.len().map_err(ApiError::internal)?;
    let mut cache = cache.lock().map_err(|_| ApiError::internal("the cache lock is poisoned"))?;
    if let Some(l) = cache.as_ref().filter(|l| l.len == len) {
        return Ok((l.company.clone(), len));
    }
    let events = store.events().map_err(ApiError::internal)?;
    let company = match Company::fold(&events) {
        Ok(c) => Arc::new(c),
        Err(tokencomp_store::ledger::FoldError::Empty) => {
            return Err(ApiError::not_found("company: the data directory has none yet (`tokencomp init FILE`)"));
        }
        Err(e) => return Err(ApiError::internal(e)),
    };
    *cache = Some(Loaded { len, company: company.clone() });
    Ok((company, len))
}

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "tc_session";
/// The header a browser session must echo on every request that changes something.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The authenticated caller of a request, with the session's CSRF token when it came by cookie.
pub struct Caller {
    pub who: Principal,
    pub csrf: Option<String>,
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        let slot = parts.extensions.get::<log::RoleSlot>().cloned();
        let mut csrf_token = None;
        let principal = if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let key = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::to_owned);
            let key = key.ok_or_else(ApiError::unauthenticated)?;
            match st.inner.auth.lookup_key(&key) {
                auth::KeyLookup::Valid(p) => p,
                auth::KeyLookup::Refused => return Err(ApiError::unauthenticated()),
                // The first use of a key checks its argon2 hash: through the gate, off the
                // async threads.
                auth::KeyLookup::Check(check) => {
                    let client = limits::ClientAddr::of(parts, &st.inner.cfg.limits.trusted_proxies);
                    st.inner
                        .gate
                        .run(client.0, false, move || check.run())
                        .await?
                        .ok_or_else(ApiError::unauthenticated)?
                }
            }
        } else if let Some(token) = cookie(&parts.headers, SESSION_COOKIE) {
            let (token, now) = (token.to_owned(), st.now());
            let found = match st.inner.auth.recent_session(&token, now) {
                Some(found) => found,
                None => st.with_auth(move |auth| auth.session(&token, now)).await?,
            };
            let (p, csrf) = found.ok_or_else(ApiError::unauthenticated)?;
            let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
            let echoed = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if !safe && echoed != Some(csrf.as_str()) {
                return Err(ApiError::new(
                    axum::http::StatusCode::FORBIDDEN,
                    "csrf_failed",
                    format!("a browser session must send its CSRF token in `{CSRF_HEADER}`"),
                ));
            }
            csrf_token = Some(csrf);
            p
        } else {
            return Err(ApiError::unauthenticated());
        };
        if let Some(s) = slot {
            s.set(principal.role.as_str());
        }
        // Writes are limited per login (logging out is not a write to the ledger).
        let write = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if write && !parts.uri.path().starts_with("/api/session") {
            st.inner.writes.take(&principal.user, st.now()).map_err(ApiError::rate_limited)?;
        }
        Ok(Caller { who: principal, csrf: csrf_token })
    }
}

/// `/openapi.json`: the document built from the route table.
async fn openapi_json() -> axum::Json<Value> {
    axum::Json(openapi::document())
}

/// Every date the API takes (query, path or body) lies in this range, first and last day
/// included: the engine's month arithmetic, prices and projections are defined well inside it,
/// so a far date (`9999-12-31`) is the caller's `invalid_input`, never a failure deep in a
/// report. The OpenAPI document states it on every date parameter.
pub const DATES: (Date, Date) = (Date::constant(1970, 1, 1), Date::constant(2199, 12, 31));

/// `text` as a date within [`DATES`], or `invalid_input` naming `field`.
pub fn date_in_range(field: &str, text: &str) -> Result<Date, ApiError> {
    let d = text
        .parse::<Date>()
        .map_err(|e| ApiError::invalid(field, format!("`{text}` is not a date (YYYY-MM-DD): {e}")))?;
    check_date(field, d)
}

/// `d` when it lies within [`DATES`], else `invalid_input` naming `field`.
pub fn check_date(field: &str, d: Date) -> Result<Date, ApiError> {
    let (first, last) = DATES;
    if d < first || d > last {
        return Err(ApiError::invalid(field, format!("{d} is outside the dates this API takes: {first} to {last}")));
    }
    Ok(d)
}

/// `text` as an RFC 3339 instant whose UTC date lies within [`DATES`].
pub fn instant_in_range(field: &str, text: &str) -> Result<Timestamp, ApiError> {
    let t = text
        .parse::<Timestamp>()
        .map_err(|e| ApiError::invalid(field, format!("`{text}` is not an RFC 3339 instant: {e}")))?;
    check_date(field, t.to_zoned_datetime(jiff::tz::TimeZone::UTC).date())?;
    Ok(t)
}

/// The query string as a map; a malformed one is `invalid_input`.
pub struct Query(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<HashMap<String, String>>::from_request_parts(parts, s)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| ApiError::invalid("query", e.body_text()))
    }
}

impl Query {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }

    /// A calendar date parameter, within [`DATES`].
    pub fn date(&self, k: &str) -> Result<Option<Date>, ApiError> {
        self.get(k).map(|s| date_in_range(&format!("query.{k}"), s)).transpose()
    }

    /// An unsigned integer parameter within `lo..=hi`.
    pub fn int(&self, k: &str, lo: u64, hi: u64) -> Result<Option<u64>, ApiError> {
        self.get(k)
            .map(|s| {
                s.parse::<u64>().ok().filter(|n| (lo..=hi).contains(n)).ok_or_else(|| {
                    ApiError::invalid(&format!("query.{k}"), format!("`{s}` is not a whole number from {lo} to {hi}"))
                })
            })
            .transpose()
    }
}

/// A JSON request body; anything but `application/json`, or JSON that does not parse, is
/// refused with where it went wrong.
pub struct Body(pub Value);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;
    async fn from_request(req: Request, s: &S) -> Result<Self, ApiError> {
        let json =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
                v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        if !json {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be JSON (`Content-Type: application/json`)",
            ));
        }
        let limits = req.extensions().get::<BodyLimits>().copied().unwrap_or_default();
        let read = axum::body::Bytes::from_request(req, s);
        let bytes = tokio::time::timeout(limits.timeout, read)
            .await
            .map_err(|_| {
                ApiError::new(
                    axum::http::StatusCode::REQUEST_TIMEOUT,
                    "request_timeout",
                    format!("the body did not arrive within {} s", limits.timeout.as_secs()),
                )
            })?
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::too_large(limits.max)
                } else {
                    ApiError::invalid("body", e.body_text())
                }
            })?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::invalid("body", format!("not JSON: {e}"))
                .with_details(serde_json::json!({"field": "body", "line": e.line(), "column": e.column()}))
        })?;
        if !v.is_object() {
            return Err(ApiError::invalid("body", "the body must be a JSON object"));
        }
        Ok(Body(v))
    }
}

impl Body {
    /// A required string field.
    pub fn str(&self, k: &str) -> Result<&str, ApiError> {
        match self.0.get(k) {
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(ApiError::invalid(&format!("body.{k}"), format!("`{k}` must be a string"))),
            None => Err(ApiError::invalid(&format!("body.{k}"), format!("`{k}` is required"))),
        }
    }

    /// An optional string field (`null` and absent alike).
    pub fn opt_str(&self, k: &str) -> Result<Option<&str>, ApiError> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::invalid(&format!("body.{k}"), format!("`{k}` must be a string or null"))),
        }
    }

    /// An optional date field within [`DATES`] (`null` and absent alike).
    pub fn opt_date(&self, k: &str) -> Result<Option<Date>, ApiError> {
        self.opt_str(k)?.map(|s| date_in_range(&format!("body.{k}"), s)).transpose()
    }

    /// A required date field within [`DATES`].
    pub fn date(&self, k: &str) -> Result<Date, ApiError> {
        date_in_range(&format!("body.{k}"), self.str(k)?)
    }

    /// A required RFC 3339 instant whose date lies within [`DATES`].
    pub fn instant(&self, k: &str) -> Result<Timestamp, ApiError> {
        instant_in_range(&format!("body.{k}"), self.str(k)?)
    }

    /// An optional whole number within `lo..=hi`.
    pub fn opt_int(&self, k: &str, lo: u64, hi: u64) -> Result<Option<u64>, ApiError> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_u64().filter(|n| (lo..=hi).contains(n)).map(Some).ok_or_else(|| {
                ApiError::invalid(&format!("body.{k}"), format!("`{k}` must be a whole number from {lo} to {hi}"))
            }),
        }
    }
}

/// The body limits the middleware put on a request, for the [`Body`] extractor.
#[derive(Clone, Copy, Debug)]
struct BodyLimits {
    max: usize,
    timeout: std::time::Duration,
}

impl Default for BodyLimits {
    fn default() -> Self {
        BodyLimits { max: limits::MAX_BODY, timeout: std::time::Duration::from_secs(30) }
    }
}

/// Every route: a declared body over the limit is 413 before anything reads it, and a streamed
/// one stops at the limit.
async fn body_limit(axum::extract::State(st): axum::extract::State<AppState>, req: Request, next: Next) -> Response {
    use axum::response::IntoResponse;
    let l = &st.inner.cfg.limits;
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::try_from(l.max_body).unwrap_or(u64::MAX)) {
        return ApiError::too_large(l.max_body).into_response();
    }
    let mut req = req.map(|b| axum::body::Body::new(http_body_util::Limited::new(b, l.max_body)));
    req.extensions_mut().insert(BodyLimits { max: l.max_body, timeout: l.body_timeout });
    next.run(req).await
}

async fn security_headers(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    if api {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// The whole application: API, OpenAPI document, dashboards, health check.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new();
    for r in routes::table() {
        router = router.route(r.path, r.handler);
    }
    router
        .merge(ui::router())
        .fallback(|| async { ApiError::not_found_at("path", "route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        })
        .layer(middleware::from_fn_with_state(state.clone(), body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), log::requests))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// Serves `app` on `listener` until Ctrl-C (or SIGTERM), within the connection limits of
/// [`limits::Limits`] (see `net`).
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    let limits = state.inner.cfg.limits.clone();
    let tls = state.inner.cfg.tls.clone();
    net::serve(listener, app(state), limits, tls, shutdown()).await
}

async fn shutdown() {
    #[cfg(unix)]
    {
        let term = async {
            if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                s.recv().await;
            }
        };
        tokio::select! { _ = tokio::signal::ctrl_c() => {}, () = term => {} }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
