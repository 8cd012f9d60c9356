//! The one error type of this crate: what DigitalOcean answered, or why it could not be asked.
//! No variant carries the token.

/// A failed call to DigitalOcean's API.
#[derive(Debug, thiserror::Error)]
pub enum DoError {
    /// 401 or 403: the token is wrong, expired, or lacks the scope.
    #[error("DigitalOcean refused the API token ({method} {url}: {message})")]
    Unauthorized {
        method: String,
        url: String,
        /// DigitalOcean's `message`.
        message: String,
    },
    /// 404 for one namespace.
    #[error("DigitalOcean has no functions namespace '{namespace}' in this account")]
    NotFound { namespace: String },
    /// Any other error status (422 for a bad label or region, 429, 5xx).
    #[error("DigitalOcean refused {method} {url}: {message} (HTTP {status}{})", .id.as_deref().map(|i| format!(", {i}")).unwrap_or_default())]
    Api {
        method: String,
        url: String,
        status: u16,
        /// DigitalOcean's error `id` (`unprocessable_entity`, `too_many_requests`, …).
        id: Option<String>,
        message: String,
    },
    /// No answer: connection refused, reset, timed out, TLS failure.
    #[error("cannot reach DigitalOcean's API ({method} {url}): {message}")]
    Transport {
        method: String,
        url: String,
        message: String,
    },
    /// The answer was not the JSON the API documents.
    #[error("unexpected answer from {url}: {message}")]
    Decode { url: String, message: String },
    /// The base URL is not a URL.
    #[error("'{url}' is not a usable API URL: {message}")]
    BadUrl { url: String, message: String },
    /// No namespace of the account has this label or id.
    #[error("'{hint}' is not the label or id of any functions namespace of this account")]
    NoMatch {
        hint: String,
        /// The labels the account has, for the help line.
        labels: Vec<String>,
    },
    /// Several namespaces match a partial label or id.
    #[error("'{hint}' matches several functions namespaces: {}", .matches.join(", "))]
    Ambiguous { hint: String, matches: Vec<String> },
}

impl DoError {
    /// What the user can do about it.
    pub fn help(&self) -> Option<String> {
        match self {
            DoError::Unauthorized { .. } => Some(
                "check the token (it needs read and write access to functions), or make a new one at https://cloud.digitalocean.com/account/api/tokens".to_string(),
            ),
            DoError::NotFound { .. } => {
                Some("list the account's namespaces with 'sluice namespace list --remote'".to_string())
            }
            DoError::Api { status: 422, .. } => Some(
                "labels must be unique in the account; regions are DigitalOcean's datacenters such as nyc1, sfo3, ams3, fra1, lon1, sgp1, syd1, tor1, blr1".to_string(),
            ),
            DoError::Api { status: 429, .. } | DoError::Api { status: 500.., .. } => {
                Some("DigitalOcean is busy or failing; try again in a moment".to_string())
            }
            DoError::Transport { .. } => Some(format!(
                "check the network, or {} when it points elsewhere",
                crate::API_URL_ENV
            )),
            DoError::NoMatch { labels, .. } if labels.is_empty() => Some(
                "the account has no functions namespaces; create one with 'sluice namespace create --label <label> --region <region>'".to_string(),
            ),
            DoError::NoMatch { labels, .. } => Some(format!(
                "the account's namespaces are labelled: {}",
                labels.join(", ")
            )),
            DoError::Ambiguous { .. } => {
                Some("give the whole label or the namespace's id".to_string())
            }
            _ => None,
        }
    }

    /// The HTTP status, when DigitalOcean answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            DoError::Unauthorized { .. } => Some(401),
            DoError::NotFound { .. } => Some(404),
            DoError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Results of this crate.
pub type Result<T, E = DoError> = std::result::Result<T, E>;
