//! Activation records (openwhisk-api.md §3.6) built from runs, and the activations API (§6):
//! list with `name`, `since`, `upto`, `limit`, `skip`, `docs`, `count`; get; logs; result.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde_json::{Value, json};

use crate::api::{ApiError, AppState, ListParams, Subject};
use crate::invoke::{Resolved, new_activation_id};
use crate::runner::{ActivationStatus, RunOutcome, now_ms};
use crate::store::{Activation, ActivationQuery, ActivationResponse, KeyValue};

/// Who runs an activation and why: the invoker's namespace, the ids, and the parent
/// sequence when there is one.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The invoker's namespace (the activation's `namespace` and `subject`).
    pub invoker: String,
    /// This activation's id.
    pub activation_id: String,
    /// The request (transaction) id.
    pub transaction_id: String,
    /// The enclosing sequence's activation id.
    pub cause: Option<String>,
    /// When the request was accepted (epoch ms), for `waitTime`.
    pub accepted_at: u64,
}

impl RunContext {
    /// A top-level activation for `invoker`.
    pub fn new(invoker: &str) -> Self {
        RunContext {
            invoker: invoker.to_string(),
            activation_id: new_activation_id(),
            transaction_id: new_activation_id(),
            cause: None,
            accepted_at: now_ms(),
        }
    }

    /// The context of a component run by the sequence activation `self`.
    pub fn component(&self) -> Self {
        RunContext {
            invoker: self.invoker.clone(),
            activation_id: new_activation_id(),
            transaction_id: self.transaction_id.clone(),
            cause: Some(self.activation_id.clone()),
            accepted_at: now_ms(),
        }
    }
}

fn ms(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The annotations every activation of `resolved` carries: `path`, `binding`, `causedBy`,
/// `kind`, `limits`.
pub fn base_annotations(resolved: &Resolved, ctx: &RunContext, kind: &str) -> Vec<KeyValue> {
    let mut a = vec![KeyValue::new("path", Value::from(resolved.path.clone()))];
    if let Some(b) = &resolved.binding {
        a.push(KeyValue::new("binding", Value::from(b.clone())));
    }
    if ctx.cause.is_some() {
        a.push(KeyValue::new("causedBy", Value::from("sequence")));
    }
    a.push(KeyValue::new("kind", Value::from(kind)));
    a.push(KeyValue::new(
        "limits",
        serde_json::to_value(resolved.action.limits).unwrap_or(Value::Null),
    ));
    a
}

/// The activation record of one run of a code action.
pub fn from_outcome(resolved: &Resolved, ctx: &RunContext, outcome: &RunOutcome) -> Activation {
    let action = &resolved.action;
    let mut annotations = base_annotations(resolved, ctx, &action.exec.kind);
    annotations.push(KeyValue::new("timeout", Value::from(outcome.timed_out)));
    annotations.push(KeyValue::new(
        "waitTime",
        Value::from(outcome.start.saturating_sub(ctx.accepted_at)),
    ));
    if let Some(init) = outcome.init_time {
        annotations.push(KeyValue::new("initTime", Value::from(init)));
    }
    Activation {
        namespace: ctx.invoker.clone(),
        name: action.name.clone(),
        version: action.version.clone(),
        subject: ctx.invoker.clone(),
        publish: false,
        activation_id: ctx.activation_id.clone(),
        start: ms(outcome.start),
        end: Some(ms(outcome.end)),
        duration: Some(ms(outcome.duration())),
        cause: ctx.cause.clone(),
        response: response(outcome.status, outcome.result.clone(), outcome.size),
        logs: outcome.logs.clone(),
        annotations,
    }
}

/// `response` of an activation.
pub fn response(
    status: ActivationStatus,
    result: Value,
    size: Option<usize>,
) -> ActivationResponse {
    ActivationResponse {
        status: status.as_str().to_string(),
        success: status == ActivationStatus::Success,
        result,
        size: size.map(|s| s as u64),
    }
}

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
    let q = ActivationQuery {
        name,
        since: epoch("since")?,
        upto: epoch("upto")?,
        skip: page.skip,
        limit: page.limit,
    };
    if page.count {
        let n = state.store.count_activations(&namespace, q).await?;
        return Ok(Json(json!({ "activations": n })));
    }
    let found = state.store.list_activations(&namespace, q).await?;
    let items: Vec<Value> = found
        .iter()
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
    state
        .store
        .get_activation(&namespace, &id.to_ascii_lowercase())
        .await?
        .ok_or_else(ApiError::not_found)
}

/// `GET /api/v1/namespaces/{ns}/activations/{id}`.
pub async fn get(
    State(state): State<AppState>,
    subject: Subject,
    Path((ns, id)): Path<(String, String)>,
) -> Result<Json<Activation>, ApiError> {
    Ok(Json(fetch(&state, &subject, &ns, &id).await?))
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

    #[test]
    fn components_point_at_their_sequence() {
        let top = RunContext::new("guest");
        let comp = top.component();
        assert_eq!(comp.cause.as_deref(), Some(top.activation_id.as_str()));
        assert_ne!(comp.activation_id, top.activation_id);
        assert!(top.cause.is_none());
    }
}
