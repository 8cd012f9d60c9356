//! The one error type of this crate. Each variant says which request or file it is about;
//! [`OwError::into_core`] turns it into a [`sluice_core::Error`] at the trait boundary.

use std::path::PathBuf;

/// What went wrong talking to a controller, the DigitalOcean API or the local disk.
#[derive(Debug, thiserror::Error)]
pub enum OwError {
    /// The server answered with an error status.
    #[error("{}", http_message(.status, .reason, .error.as_deref(), .method, .url))]
    Http {
        method: String,
        /// The URL without credentials (we never put credentials in URLs).
        url: String,
        status: u16,
        reason: String,
        /// The `error` (OpenWhisk) or `message` (DigitalOcean) string of the body, if any.
        error: Option<String>,
        /// The server's `Retry-After`, in seconds, when it sent one.
        retry_after: Option<u64>,
    },
    /// No answer: connection refused, reset, timed out, TLS failure.
    #[error("http request failed: {method} {url}: {message}")]
    Transport {
        method: String,
        url: String,
        message: String,
        /// The connection itself failed (refused, no route, name not resolved): nothing
        /// answers there, as opposed to an answer that was cut off.
        unreachable: bool,
    },
    /// The answer was not the JSON we expected.
    #[error("unexpected answer from {url}: {message}")]
    Decode { url: String, message: String },
    /// The API host is not a usable URL.
    #[error("'{apihost}' is not a valid API host: {message}")]
    BadHost { apihost: String, message: String },
    /// A local file (credentials, versions, code) could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The credential store or the flags do not give usable credentials.
    #[error("{message}")]
    Credentials {
        message: String,
        help: Option<String>,
    },
    /// A deploy-level failure with the original deployer's wording.
    #[error("{0}")]
    Message(String),
}

/// The original deployer's improvement of OpenWhisk errors (spec §1.5): the body's `error`
/// lower-cased plus ` (<status> <reason>)`; without one, the method, URL and status.
fn http_message(
    status: &u16,
    reason: &str,
    error: Option<&str>,
    method: &str,
    url: &str,
) -> String {
    match error {
        Some(e) if !e.is_empty() => format!("{} ({status} {reason})", e.to_lowercase()),
        _ => format!("{method} {url} returned HTTP {status} ({reason})"),
    }
}

impl OwError {
    /// Shorthand for [`OwError::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        OwError::Io {
            path: path.into(),
            source,
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            OwError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Converts to the core error at the trait boundary; `context` names the entity.
    pub fn into_core(self, context: Option<String>) -> sluice_core::Error {
        match self {
            OwError::Io { path, source } => sluice_core::Error::Io { path, source },
            OwError::Credentials { message, help } => {
                sluice_core::Error::Credentials { message, help }
            }
            OwError::Http { status: 401, .. } | OwError::Http { status: 403, .. } => {
                sluice_core::Error::Credentials {
                    message: self.to_string(),
                    help: Some(AUTH_FAILED_HELP.to_string()),
                }
            }
            other => sluice_core::Error::Deploy {
                message: other.to_string(),
                context,
            },
        }
    }
}

/// The help of a refused key (401/403). The CLI, which knows where the key came from (a flag,
/// the store, the local namespace), replaces it with a help that names that place.
pub const AUTH_FAILED_HELP: &str = "check the key with 'sluice namespace current', or add the namespace again with 'sluice namespace add'";

/// Results of this crate.
pub type Result<T, E = OwError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_error_uses_the_original_improvement() {
        let e = OwError::Http {
            method: "GET".into(),
            url: "https://h/api/v1/namespaces".into(),
            status: 401,
            reason: "Unauthorized".into(),
            error: Some("The supplied authentication is invalid".into()),
            retry_after: None,
        };
        assert_eq!(
            e.to_string(),
            "the supplied authentication is invalid (401 Unauthorized)"
        );
    }

    #[test]
    fn http_error_without_body_names_the_request() {
        let e = OwError::Http {
            method: "PUT".into(),
            url: "https://h/x".into(),
            status: 500,
            reason: "Internal Server Error".into(),
            error: None,
            retry_after: None,
        };
        assert_eq!(
            e.to_string(),
            "PUT https://h/x returned HTTP 500 (Internal Server Error)"
        );
    }
}
