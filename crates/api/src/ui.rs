//! The dashboards: static pages and one script, compiled into the binary (no front-end build
//! at run time). The pages read the same API every other client uses; charts are SVG drawn by
//! the script.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::AppState;

/// Every page and asset, by path: (path, content type, body).
pub const FILES: &[(&str, &str, &str)] = &[
    ("/login", "text/html; charset=utf-8", include_str!("../assets/login.html")),
    ("/admin", "text/html; charset=utf-8", include_str!("../assets/admin.html")),
    ("/me", "text/html; charset=utf-8", include_str!("../assets/me.html")),
    ("/audit", "text/html; charset=utf-8", include_str!("../assets/audit.html")),
    ("/governance", "text/html; charset=utf-8", include_str!("../assets/governance.html")),
    ("/assets/app.js", "text/javascript; charset=utf-8", include_str!("../assets/app.js")),
    ("/assets/audit.js", "text/javascript; charset=utf-8", include_str!("../assets/audit.js")),
    ("/assets/wallet.js", "text/javascript; charset=utf-8", include_str!("../assets/wallet.js")),
    ("/assets/app.css", "text/css; charset=utf-8", include_str!("../assets/app.css")),
];

fn file(content_type: &'static str, body: &'static str) -> Response {
    let mut res = body.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

pub fn router() -> Router<AppState> {
    let mut r = Router::new().route("/", get(|| async { Redirect::to("/login") }));
    for (path, ct, body) in FILES {
        r = r.route(path, get(move || async move { file(ct, body) }));
    }
    r
}
