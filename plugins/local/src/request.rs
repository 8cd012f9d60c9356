//! Query parameters and request bodies, with the controller's validation messages.
//!
//! Shared by the entity API ([`crate::api`]) and the run-time API ([`crate::run`]), so it
//! lives below both and imports neither.

use std::collections::HashMap;

use axum::http::HeaderMap;
use serde::de::DeserializeOwned;

use crate::http_error::ApiError;

/// Largest `limit` of a list.
pub const MAX_LIST: u64 = 200;
/// `limit` when none is given.
pub const DEFAULT_LIST: u64 = 30;

/// `limit`, `skip`, `count` and `docs` of a collection list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListParams {
    pub limit: u64,
    pub skip: u64,
    pub count: bool,
    pub docs: bool,
}

impl ListParams {
    /// Parses the list parameters of `collection` (`actions`, `activations`, …): `limit`
    /// 0..=200 (0 means 200, default 30), `skip` ≥ 0, `count` and `docs` booleans, not both.
    pub fn parse(query: &HashMap<String, String>, collection: &str) -> Result<Self, ApiError> {
        let int = |name: &str| -> Result<Option<i64>, ApiError> {
            match query.get(name) {
                None => Ok(None),
                Some(v) => v.trim().parse::<i64>().map(Some).map_err(|_| {
                    ApiError::bad_query(
                        name,
                        format!("The value '{v}' is not an integer for {collection}."),
                    )
                }),
            }
        };
        let limit = match int("limit")? {
            None => DEFAULT_LIST,
            Some(0) => MAX_LIST,
            Some(n) if (1..=200).contains(&n) => n.unsigned_abs(),
            Some(n) => {
                return Err(ApiError::bad_query(
                    "limit",
                    format!(
                        "The value '{n}' is not in the range of 0 to {MAX_LIST} for {collection}."
                    ),
                ));
            }
        };
        let skip = match int("skip")? {
            None => 0,
            Some(n) if n >= 0 => n.unsigned_abs(),
            Some(n) => {
                return Err(ApiError::bad_query(
                    "skip",
                    format!("The value '{n}' is not greater than or equal to 0 for {collection}."),
                ));
            }
        };
        let count = bool_param(query, "count")?.unwrap_or(false);
        let docs = bool_param(query, "docs")?.unwrap_or(false);
        if count && docs {
            return Err(ApiError::bad_request(
                "The parameter 'docs' is not permitted with 'count'.",
            ));
        }
        Ok(ListParams {
            limit,
            skip,
            count,
            docs,
        })
    }
}

/// A boolean query parameter (`true`/`false`, any case; `yes`/`no` are not booleans).
pub fn bool_param(query: &HashMap<String, String>, name: &str) -> Result<Option<bool>, ApiError> {
    match query.get(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(None),
        Some(v) if v == "true" => Ok(Some(true)),
        Some(v) if v == "false" => Ok(Some(false)),
        Some(v) => Err(ApiError::bad_query(
            name,
            format!("'{v}' is not a valid Boolean value"),
        )),
    }
}

/// Parses a JSON request body: 415 for a non-JSON content type, 400 with the controller's
/// "malformed" message for bad JSON; an empty body reads as `{}`.
pub fn read_json<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, ApiError> {
    if let Some(ct) = headers.get(axum::http::header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
        if !ct.is_empty() && !ct.contains("json") {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "The request's Content-Type '{ct}' is not supported. Expected 'application/json'."
                ),
            ));
        }
    }
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(ApiError::malformed)
}
