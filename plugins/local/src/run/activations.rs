//! The activations API (openwhisk-api.md §6): list with `name`, `since`, `upto`, `limit`,
//! `skip`, `docs`, `count`; get; logs; result. It reads what [`crate::run::record`] stored,
//! through the store, and the activations still running from [`AppState::running`]
//! (newest, so first in the list; `get` answers their `running` placeholder).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde_json::{Value, json};

use crate::auth::Subject;
use crate::http_error::ApiError;
use crate::request::ListParams;
use crate::state::AppState;
use crate::store::{Activation, ActivationQuery, ActivationResponse};

/// `GET /api/v1/namespaces/{ns}/activations`.
pub async fn list(
    State(state): State<AppState>,
    subject: Subject,
    Path(ns): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let namespace = subject.namespace_for(&ns, "/activations")?;
    let page = ListParams::parse(&query, "activations")?;
    let name = match query.get("name").map(|n| n.trim().trim_matches('/')) {
        None | Some("") => None,
        Some(n) if n.split('/').count() <= 2 => Some(n.to_string()),
        Some(n) => {
            return Err(ApiError::bad_request(format!(
                "Parameter may be a 'simple' name or 'package-name/simple' name: {n}"
            )));
        }
    };
    let epoch = |key: &str| -> Result<Option<i64>, ApiError> {
        match query.get(key) {
            None => Ok(None),
            Some(v) => v.trim().parse::<i64>().map(Some).map_err(|_| {
                ApiError::bad_request(format!(
                    "Parameter is not a valid value for epoch seconds: {v}"
                ))
            }),
        }
    };
    let running: Vec<Activation> = state
        .running
        .of_namespace(&namespace)
        .into_iter()
        .filter(|a| name.as_deref().is_none_or(|n| a.entity_path() == n))
        .filter(|a| epoch("since").ok().flatten().is_none_or(|s| a.start >= s))
        .filter(|a| epoch("upto").ok().flatten().is_none_or(|u| a.start <= u))
        .collect();
    let q = ActivationQuery {
        name,
        since: epoch("since")?,
        upto: epoch("upto")?,
        skip: page.skip,
        limit: page.limit,
    };
    if page.count {
        let n = state.store.count_activations(&namespace, q).await?;
        return Ok(Json(json!({ "activations": n + running.len() as u64 })));
    }
    let (skip, limit) = (q.skip, q.limit);
    let shown_running: Vec<Activation> = running
        .iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .cloned()
        .collect();
    let shown = shown_running.len() as u64;
    let q = ActivationQuery {
        skip: skip.saturating_sub(running.len() as u64),
        limit: limit.saturating_sub(shown),
        ..q
    };
    let found = if q.limit == 0 {
        Vec::new()
    } else {
        state.store.list_activations(&namespace, q).await?
    };
    // A run that just ended may be stored and still noted as running for an instant.
    let items: Vec<Value> = shown_running
        .iter()
        .filter(|r| !found.iter().any(|f| f.activation_id == r.activation_id))
        .chain(found.iter())
        .map(|a| {
            if page.docs {
                serde_json::to_value(a).unwrap_or(Value::Null)
            } else {
                a.brief()
            }
        })
        .collect();
    Ok(Json(Value::Array(items)))
}

/// Checks an activation id: 32 hex characters.
pub fn check_id(id: &str) -> Result<(), ApiError> {
    if id.len() != 32 {
        return Err(ApiError::bad_request(format!(
            "Activation id length is {} but must be 32.",
            id.len()
        )));
    }
    if !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ApiError::bad_request("The activation id is not valid."));
    }
    Ok(())
}

async fn fetch(
    state: &AppState,
    subject: &Subject,
    ns: &str,
    id: &str,
) -> Result<Activation, ApiError> {
    let namespace = subject.namespace_for(ns, &format!("/activations/{id}"))?;
    check_id(id)?;
    let id = id.to_ascii_lowercase();
    if let Some(stored) = state.store.get_activation(&namespace, &id).await? {
        return Ok(stored);
    }
    state
        .running
        .get(&namespace, &id)
        .ok_or_else(ApiError::not_found)
}

/// `GET /api/v1/namespaces/{ns}/activations/{id}`. A running build of `/nimbella/builder`
/// is a 404, as on OpenWhisk, and not its placeholder: remote-build clients (the original
/// deployer among them) take any record with a status for the build's end.
pub async fn get(
    State(state): State<AppState>,
    subject: Subject,
    Path((ns, id)): Path<(String, String)>,
) -> Result<Json<Activation>, ApiError> {
    let activation = fetch(&state, &subject, &ns, &id).await?;
    if is_running_build(&activation) {
        return Err(ApiError::not_found());
    }
    Ok(Json(activation))
}

/// A placeholder of a builder action's activation that has not ended.
fn is_running_build(a: &Activation) -> bool {
    let builder_path = format!(
        "{}/{}/",
        crate::catalog::NIMBELLA_NAMESPACE,
        crate::catalog::builder::PACKAGE
    );
    a.end.is_none()
        && a.response.status == super::record::RUNNING
        && a.annotations.iter().any(|kv| {
            kv.key == "path"
                && kv
                    .value
                    .as_str()
                    .is_some_and(|p| p.starts_with(&builder_path))
        })
}

/// `GET /api/v1/namespaces/{ns}/activations/{id}/logs`.
pub async fn logs(
    State(state): State<AppState>,
    subject: Subject,
    Path((ns, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let a = fetch(&state, &subject, &ns, &id).await?;
    Ok(Json(json!({ "logs": a.logs })))
}

/// `GET /api/v1/namespaces/{ns}/activations/{id}/result`.
pub async fn result(
    State(state): State<AppState>,
    subject: Subject,
    Path((ns, id)): Path<(String, String)>,
) -> Result<Json<ActivationResponse>, ApiError> {
    let a = fetch(&state, &subject, &ns, &id).await?;
    Ok(Json(a.response))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_like_the_controller() {
        assert!(check_id("0123456789abcdef0123456789abcdef").is_ok());
        let short = check_id("abc").expect_err("short");
        assert_eq!(short.message, "Activation id length is 3 but must be 32.");
        let bad = check_id("0123456789abcdef0123456789abcdeg").expect_err("not hex");
        assert_eq!(bad.message, "The activation id is not valid.");
    }
}
