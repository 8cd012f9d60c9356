//! Invoking actions (openwhisk-api.md §4.1): resolve the action ([`crate::run::resolve`]), run
//! it ([`crate::run::code`] for code, [`crate::run::sequence`] for sequences), store the
//! activation, and answer the `POST` the way the controller does.
//!
//! The run itself is always a spawned task: a blocking request that waits longer than its
//! `timeout` gets `202 {"activationId"}` while the activation carries on and is stored when
//! it ends, exactly like a non-blocking invoke. Web actions and trigger firing start their
//! runs through [`spawn`] too.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::auth::Subject;
use crate::http_error::ApiError;
use crate::request::{bool_param, read_json};
use crate::run::code;
use crate::run::record::{self, RunContext};
use crate::run::resolve::{Resolved, check_request, resolve, split_action_path};
use crate::run::sequence;
use crate::runner::ActivationStatus;
use crate::state::AppState;
use crate::store::Activation;

/// Longest a blocking invoke waits (ms), and the default `timeout`.
pub const MAX_WAIT_MS: u64 = 60_000;

/// Runs a resolved action (code or sequence) to its end, stores the activation and returns
/// it. Never fails: problems become the activation's status.
pub async fn execute(
    state: &AppState,
    resolved: &Resolved,
    body: Value,
    ctx: RunContext,
) -> Activation {
    let activation = if resolved.action.exec.is_sequence() {
        sequence::run(state, resolved, body, ctx).await
    } else {
        code::run(state, resolved, body, &ctx).await
    };
    record::store(state, &activation).await;
    activation
}

/// Starts `resolved` on its own task and returns the handle of its activation. Until the
/// record is stored, the activations API shows a `running` placeholder
/// ([`record::running`]).
pub fn spawn(
    state: &AppState,
    resolved: Resolved,
    body: Value,
    ctx: RunContext,
) -> tokio::task::JoinHandle<Activation> {
    let state = state.clone();
    state.running.insert(record::running(&resolved, &ctx));
    tokio::spawn(async move {
        let id = ctx.activation_id.clone();
        let activation = execute(&state, &resolved, body, ctx).await;
        state.running.remove(&id);
        activation
    })
}

/// The HTTP status of a finished activation: 200, 502 (application or developer error), 500.
pub fn status_of(activation: &Activation) -> StatusCode {
    match ActivationStatus::from_str_name(&activation.response.status) {
        Some(ActivationStatus::Success) => StatusCode::OK,
        Some(ActivationStatus::ApplicationError | ActivationStatus::DeveloperError) => {
            StatusCode::BAD_GATEWAY
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `x-openwhisk-activation-id: <id>` on `resp`.
pub fn with_activation_header(mut resp: Response, id: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(id) {
        resp.headers_mut().insert("x-openwhisk-activation-id", v);
    }
    resp
}

/// `202 {"activationId": …}`.
pub fn accepted(id: &str) -> Response {
    let body = axum::Json(json!({ "activationId": id }));
    with_activation_header((StatusCode::ACCEPTED, body).into_response(), id)
}

/// `POST /api/v1/namespaces/{ns}/actions/[{pkg}/]{name}` — invoke.
pub async fn handle(
    State(state): State<AppState>,
    subject: Subject,
    Path((ns, path)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (namespace, foreign) = subject.read_namespace(&ns)?;
    let blocking = bool_param(&query, "blocking")?.unwrap_or(false);
    let result_only = bool_param(&query, "result")?.unwrap_or(false);
    let wait_ms = match query.get("timeout") {
        None => MAX_WAIT_MS,
        Some(t) => match t.trim().parse::<u64>() {
            Ok(n) if (1..=MAX_WAIT_MS).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(
                    "Timeout must be number of milliseconds up to 60000.",
                ));
            }
        },
    };
    let payload: Value = read_json(&headers, &body)?;
    if !payload.is_object() && !payload.is_array() {
        return Err(ApiError::malformed(
            "The request body must be a JSON object.",
        ));
    }
    let (package, name) = split_action_path(&path).ok_or_else(ApiError::not_found)?;
    if foreign {
        // Another namespace's actions run only from its published packages.
        let shared = match package {
            Some(p) => state
                .store
                .get_package(&namespace, p)
                .await?
                .is_some_and(|p| p.publish && p.binding.is_none()),
            None => false,
        };
        if !shared {
            return Err(ApiError::forbidden(&format!("{ns}/actions/{path}")));
        }
    }
    let resolved = resolve(&state, &namespace, package, name)
        .await?
        .ok_or_else(ApiError::not_found)?;
    check_request(&resolved, &payload, body.len())?;
    // The activation is the caller's, wherever the action lives.
    let ctx = RunContext::new(&subject.namespace);
    let id = ctx.activation_id.clone();
    let handle = spawn(&state, resolved, payload, ctx);
    if !blocking {
        return Ok(accepted(&id));
    }
    let mut handle = handle;
    match tokio::time::timeout(std::time::Duration::from_millis(wait_ms), &mut handle).await {
        Ok(Ok(activation)) => Ok(respond(&activation, result_only)),
        Ok(Err(e)) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the activation task failed: {e}"),
        )),
        Err(_) => Ok(accepted(&id)),
    }
}

/// The answer to a blocking invoke that finished: the full activation (or its result when
/// `result=true`, or the bare array when the result is an array), status by outcome.
pub fn respond(activation: &Activation, result_only: bool) -> Response {
    let result = &activation.response.result;
    let body = if result_only || result.is_array() {
        result.clone()
    } else {
        serde_json::to_value(activation).unwrap_or_else(|_| Value::Object(Map::new()))
    };
    let resp = (status_of(activation), axum::Json(body)).into_response();
    with_activation_header(resp, &activation.activation_id)
}
