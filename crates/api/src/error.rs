//! The one error type every handler returns: `{code, message, details}` with a stable
//! snake_case code (docs/interfaces.md#errors). A 5xx hides its cause from the client and writes it to the
//! server log instead.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
}

/// Every code the API can answer with, for the OpenAPI document and the tests.
pub const CODES: &[&str] = &[
    "invalid_input",
    "invalid_credentials",
    "too_many_attempts",
    "rate_limited",
    "overloaded",
    "sessions_unavailable",
    "payload_too_large",
    "request_timeout",
    "unauthenticated",
    "forbidden",
    "csrf_failed",
    "not_found",
    "conflict",
    "incomplete_data",
    "layout_refused",
    "chain_unavailable",
    "unsupported_media_type",
    "method_not_allowed",
    "internal",
];

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), details: Value::Null }
    }

    /// Bad input, naming the field (`query.as_of`, `body.choice`, `path.period`).
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_input",
            message: message.into(),
            details: json!({"field": field}),
        }
    }

    pub fn unauthenticated() -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "log in or send an API key")
    }

    /// The same answer whether the resource exists or belongs to someone else, so a refusal
    /// says nothing about other people's data.
    pub fn forbidden() -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", "your role cannot see or do this")
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no such {what}"))
    }

    /// `not_found` for what the request's `field` names (`path.grant`, `query.person`).
    pub fn not_found_at(field: &str, what: &str) -> Self {
        ApiError::not_found(what).with_details(json!({"field": field}))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// A failure of the server: the client sees a generic message, the log the cause.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        crate::log::error(&cause.to_string());
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the server failed; the cause is in its log")
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// When to try again: `details.retry_after_seconds` and the `Retry-After` header.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        if !self.details.is_object() {
            self.details = json!({});
        }
        self.details["retry_after_seconds"] = json!(seconds);
        self
    }

    /// 429 `rate_limited`: the login wrote more than its share (`Limits::writes_per_minute`).
    pub fn rate_limited(seconds: u64) -> Self {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many changes from this login; try again in {seconds} s"),
        )
        .retry_after(seconds)
    }

    /// 413 `payload_too_large`.
    pub fn too_large(max: usize) -> Self {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is larger than {max} bytes"),
        )
        .with_details(json!({"field": "body", "max_bytes": max}))
    }
}

/// The one place a use case's failure becomes a status and a code (docs/errors.md). A refusal
/// names its field in `details.field`; a failure of the ledger, the chain or the server hides
/// its cause from the client and logs it.
impl From<tokencomp_service::Error> for ApiError {
    fn from(e: tokencomp_service::Error) -> ApiError {
        use tokencomp_service::Error as E;
        let field = |f: &str| json!({"field": f});
        match e {
            E::Invalid { field: f, message } => ApiError::invalid(&f, message),
            E::Rejected { field: f, text } => ApiError::invalid(&f, text.trim_end().to_owned()),
            E::NotFound { field: f, message } => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", message).with_details(field(&f))
            }
            E::Conflict { field: f, message } if f.is_empty() => ApiError::conflict(message),
            E::NotReady { field: f, message } | E::Conflict { field: f, message } => {
                ApiError::conflict(message).with_details(field(&f))
            }
            E::Incomplete(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "incomplete_data", m),
            E::Chain(m) => {
                crate::log::error(&m);
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "chain_unavailable",
                    "the chain could not be read; the cause is in the server's log",
                )
            }
            E::Store(m) | E::Internal(m) => ApiError::internal(m),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = self.details.get("retry_after_seconds").and_then(Value::as_u64);
        let body = json!({"code": self.code, "message": self.message, "details": self.details});
        let mut res = (self.status, Json(body)).into_response();
        if let Some(s) = retry {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(s));
        }
        res
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl std::error::Error for ApiError {}
