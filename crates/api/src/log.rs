//! Structured request logs: one JSON line per request with the route's template (never the
//! concrete path, which holds person and grant ids), method, status, role and duration.
//!
//! Architecture invariant: a log line carries no personal data and no secret: no path
//! parameters, query strings, bodies, cookies, user names or keys.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;

use crate::AppState;

/// Where log lines go: standard error by default; tests collect them.
pub type Sink = Arc<dyn Fn(&str) + Send + Sync>;

pub fn stderr() -> Sink {
    Arc::new(|line: &str| eprintln!("{line}"))
}

/// A server failure's cause, for the operator (the client sees only `internal`).
pub fn error(message: &str) {
    eprintln!("{}", json!({"ts": jiff::Timestamp::now().to_string(), "level": "error", "message": message}));
}

/// Where the authentication extractor leaves the caller's role for the log line.
#[derive(Clone, Default)]
pub struct RoleSlot(pub Arc<std::sync::Mutex<Option<&'static str>>>);

impl RoleSlot {
    pub fn set(&self, role: &'static str) {
        if let Ok(mut g) = self.0.lock() {
            *g = Some(role);
        }
    }
}

pub async fn requests(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let slot = RoleSlot::default();
    req.extensions_mut().insert(slot.clone());
    let response = next.run(req).await;
    let role = slot.0.lock().ok().and_then(|g| *g).unwrap_or("anonymous");
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    let line = json!({
        "ts": state.now().to_string(), "level": "info", "method": method, "route": route,
        "status": response.status().as_u16(), "role": role, "micros": micros,
    });
    (state.inner.cfg.log)(&line.to_string());
    response
}
