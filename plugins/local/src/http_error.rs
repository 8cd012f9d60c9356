//! Error responses: `{"error": <message>, "code": <request id>}`.
//!
//! At the bottom of the crate: the entity API, the run-time API and the name rules all answer
//! with [`ApiError`], so it imports nothing of theirs.
//!
//! Handlers return [`ApiError`] without knowing the request id; the response carries the
//! message in an extension and the request-id middleware writes the body, so every error
//! (including the runner's) gets the same shape and the same `code` as the `X-Request-ID`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::LocalError;

/// The controller's 404 text.
pub const NOT_FOUND: &str = "The requested resource does not exist.";

/// An error answer of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

/// The message of an error response, for the middleware to render with the request id.
#[derive(Debug, Clone)]
pub struct ErrorMessage(pub String);

impl ApiError {
    /// An error with any status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 400 `The request content was malformed:\n<detail>`.
    pub fn malformed(detail: impl std::fmt::Display) -> Self {
        Self::bad_request(format!("The request content was malformed:\n{detail}"))
    }

    /// 400 `The query parameter '<name>' was malformed:\n<detail>`.
    pub fn bad_query(name: &str, detail: impl std::fmt::Display) -> Self {
        Self::bad_request(format!(
            "The query parameter '{name}' was malformed:\n{detail}"
        ))
    }

    /// 404 with the controller's text.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, NOT_FOUND)
    }

    /// 409.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// 409 `resource already exists`.
    pub fn exists() -> Self {
        Self::conflict("resource already exists")
    }

    /// 413 `<what> larger than allowed: X > Y bytes.`
    pub fn too_large(what: &str, size: usize, max: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("{what} larger than allowed: {size} > {max} bytes."),
        )
    }

    /// 403 for a namespace the key does not own.
    pub fn forbidden(resource: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            format!("The supplied authentication is not authorized to access '{resource}'."),
        )
    }

    /// 401 for missing credentials.
    pub fn no_auth() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "The resource requires authentication, which was not supplied with the request",
        )
    }

    /// 401 for wrong credentials.
    pub fn bad_auth() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "The supplied authentication is invalid",
        )
    }
}

impl From<LocalError> for ApiError {
    fn from(e: LocalError) -> Self {
        tracing::error!(error = %e, "local namespace store failed");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = self.status.into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"OpenWhisk secure realm\""),
            );
        }
        resp.extensions_mut().insert(ErrorMessage(self.message));
        resp
    }
}
