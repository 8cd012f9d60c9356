//! HTTP Basic authentication against the namespaces table, and the `_` namespace alias.
//!
//! [`Subject`] is the extractor every authenticated handler takes, in [`crate::api`] and
//! [`crate::run`] alike (web actions call [`AppState::authenticate`] themselves), so it lives
//! below both, over [`crate::state`] and the store.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use base64::Engine;

use crate::http_error::ApiError;
use crate::names;
use crate::state::AppState;
use crate::store::namespaces;

/// The authenticated caller: the namespace its key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub namespace: String,
}

impl Subject {
    /// The namespace a path segment names: `_` is the caller's own; any other value must be
    /// a valid name and the caller's (403 otherwise). `resource` names what is accessed, for
    /// the 403 message.
    pub fn namespace_for(&self, segment: &str, resource: &str) -> Result<String, ApiError> {
        if segment == "_" || segment == self.namespace {
            return Ok(self.namespace.clone());
        }
        names::check_namespace(segment)?;
        Err(ApiError::forbidden(&format!("{segment}{resource}")))
    }

    /// The namespace a path segment names for a read, and whether it is another's: reads
    /// of published packages (and what they hold) reach across namespaces, as OpenWhisk
    /// shares published packages; the caller checks the package is published.
    pub fn read_namespace(&self, segment: &str) -> Result<(String, bool), ApiError> {
        if segment == "_" || segment == self.namespace {
            return Ok((self.namespace.clone(), false));
        }
        names::check_namespace(segment)?;
        Ok((segment.to_string(), true))
    }
}

impl FromRequestParts<AppState> for Subject {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match state.authenticate(&parts.headers).await? {
            Some(s) => Ok(s),
            None => Err(ApiError::no_auth()),
        }
    }
}

impl AppState {
    /// The caller named by the request's `Authorization` header: `Ok(None)` without one,
    /// 401 when it is present but wrong. Basic credentials are `uuid:key`; a Bearer token
    /// (the DigitalOcean API) may be `uuid:key` or the key alone.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Option<Subject>, ApiError> {
        let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
            return Ok(None);
        };
        let value = value.to_str().map_err(|_| ApiError::bad_auth())?.trim();
        let (scheme, rest) = value.split_once(' ').ok_or_else(ApiError::bad_auth)?;
        let credentials = if scheme.eq_ignore_ascii_case("basic") {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(rest.trim())
                .map_err(|_| ApiError::bad_auth())?;
            String::from_utf8(bytes).map_err(|_| ApiError::bad_auth())?
        } else if scheme.eq_ignore_ascii_case("bearer") {
            rest.trim().to_string()
        } else {
            return Err(ApiError::bad_auth());
        };
        if let Some(ns) = self.cached_subject(&credentials) {
            return Ok(Some(Subject { namespace: ns }));
        }
        let creds = credentials.clone();
        let found = self
            .store
            .call(move |c| match creds.split_once(':') {
                Some((uuid, key)) => namespaces::authenticate(c, uuid, key),
                None => {
                    // A bare key (DigitalOcean Bearer token): match any namespace's key.
                    for name in namespaces::list(c)? {
                        if let Some(ns) = namespaces::get(c, &name)?
                            && ns.key == creds
                        {
                            return Ok(Some(ns.name));
                        }
                    }
                    Ok(None)
                }
            })
            .await?;
        match found {
            Some(ns) => {
                self.cache_subject(credentials, ns.clone());
                Ok(Some(Subject { namespace: ns }))
            }
            None => Err(ApiError::bad_auth()),
        }
    }
}
