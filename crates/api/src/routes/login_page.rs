//! What the login page needs before anyone is logged in: the demo accounts, only in a data
//! directory `tokencomp demo` made (a real company's page never shows a password), and why a
//! browser will refuse the session cookie when the page was reached over plain http on an
//! address other than loopback (the right password would otherwise return to the login page
//! with no message).

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use serde_json::{Value, json};

use crate::{ApiError, AppState};

/// `GET /api/login-page`.
pub async fn login_page(State(st): State<AppState>, req: Request) -> Result<Json<Value>, ApiError> {
    let cfg = &st.inner.cfg;
    let demo = crate::auth::is_demo(&cfg.data);
    let accounts: Vec<Value> = if demo {
        crate::auth::DEMO_USERS
            .iter()
            .map(|(name, role, person)| {
                json!({"user": name, "password": crate::auth::demo_password(name), "role": role.as_str(), "person": person})
            })
            .collect()
    } else {
        Vec::new()
    };
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let headers = req.headers();
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    // Behind a trusted proxy the proxy says which scheme the browser used; anyone else's
    // header is ignored, as for the client address.
    let proxied_https = peer.is_some_and(|p| cfg.limits.trusted_proxies.contains(&p))
        && headers
            .get("x-forwarded-proto")
            .and_then(|h| h.to_str().ok())
            .is_some_and(|v| v.split(',').next().is_some_and(|s| s.trim().eq_ignore_ascii_case("https")));
    let warning = cookie_warning(cfg.secure_cookies, cfg.tls.is_some() || proxied_https, host);
    Ok(Json(json!({"demo": demo, "demo_accounts": accounts, "cookie_warning": warning})))
}

/// Why a browser will drop the `Secure` session cookie on this page, if it will: the cookie is
/// `Secure`, the browser reached the page over plain http, and the host is not one browsers
/// treat as secure (`localhost`, `127.0.0.0/8`, `::1`).
pub fn cookie_warning(secure_cookies: bool, https: bool, host: &str) -> Option<String> {
    if !secure_cookies || https || is_loopback_host(host) {
        return None;
    }
    Some(format!(
        "This page was reached over plain http at {host}. The session cookie is marked Secure, so your browser will \
         refuse it here and logging in will come back to this page. Serve over TLS (`tokencomp serve --tls-cert FILE \
         --tls-key FILE`), or behind a TLS proxy named with `--trusted-proxy IP`, or use http://localhost on the \
         server itself; `--insecure-cookies` is for a trusted network only."
    ))
}

/// Whether a `Host` header names a loopback host (with or without a port).
pub fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, port)| if port.bytes().all(|b| b.is_ascii_digit()) { h } else { host })
    };
    name.eq_ignore_ascii_case("localhost")
        || name.to_ascii_lowercase().ends_with(".localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised_with_and_without_ports() {
        for h in ["localhost", "localhost:8080", "127.0.0.1:8080", "127.5.6.7", "[::1]:8080", "app.localhost:1"] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in ["192.168.1.20:8080", "10.0.0.5", "example.com", "[fe80::1]:80", "", "localhost.example.com"] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn the_warning_appears_only_where_a_browser_drops_the_cookie() {
        assert!(cookie_warning(true, false, "192.168.1.20:8080").is_some_and(|w| w.contains("192.168.1.20:8080")));
        assert_eq!(cookie_warning(true, true, "192.168.1.20:8080"), None, "over TLS");
        assert_eq!(cookie_warning(false, false, "192.168.1.20:8080"), None, "cookie not Secure");
        assert_eq!(cookie_warning(true, false, "127.0.0.1:8080"), None, "loopback");
    }
}
