//! Invoking actions (openwhisk-api.md §4.1): resolve the action through its package or
//! binding, merge parameters, run it (the [`crate::runner`] for code, [`crate::sequence`] for
//! sequences), store the activation, and answer the `POST` the way the controller does.
//!
//! The run itself is always a spawned task: a blocking request that waits longer than its
//! `timeout` gets `202 {"activationId"}` while the activation carries on and is stored when
//! it ends, exactly like a non-blocking invoke.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::LocalError;
use crate::activations::{self, RunContext};
use crate::api::{ApiError, AppState, Subject, bool_param, read_json};
use crate::runner::params::{self, Param};
use crate::runner::{ActivationStatus, RunRequest, RunnableAction, now_ms};
use crate::store::{Action, Activation, KeyValue, kv_get, namespaces};

/// Largest invoke payload, curried parameters included (1 MB).
pub const MAX_PAYLOAD: usize = 1024 * 1024;
/// Longest a blocking invoke waits (ms), and the default `timeout`.
pub const MAX_WAIT_MS: u64 = 60_000;
/// The controller's 400 for overriding a final parameter or a reserved name.
pub const RESERVED_PARAMS: &str =
    "Request defines parameters that are not allowed (e.g., reserved properties).";

/// An action found through its namespace, package or binding.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The stored action (with code).
    pub action: Action,
    /// Parameters of its package (binding parameters over the bound package's).
    pub package_params: Vec<KeyValue>,
    /// `ns[/pkg]/name` of the executed action (the bound-to package for bindings).
    pub path: String,
    /// `ns/binding` when invoked through a binding.
    pub binding: Option<String>,
}

impl Resolved {
    /// The parameters the action sees before the request's (package < action).
    pub fn merged_params(&self) -> Vec<Param> {
        let pkg = serde_json::to_value(&self.package_params).unwrap_or(Value::Null);
        let act = serde_json::to_value(&self.action.parameters).unwrap_or(Value::Null);
        params::merge(&[&pkg, &act])
    }

    /// True when the action is annotated with `name: true`.
    pub fn annotated(&self, name: &str) -> bool {
        kv_get(&self.action.annotations, name).and_then(Value::as_bool) == Some(true)
    }
}

/// Finds `name` in `package` (or top level) of `namespace`, following bindings.
pub async fn resolve(
    state: &AppState,
    namespace: &str,
    package: Option<&str>,
    name: &str,
) -> Result<Option<Resolved>, LocalError> {
    let Some(pkg) = package else {
        let Some(action) = state.store.get_action(namespace, None, name).await? else {
            return Ok(None);
        };
        return Ok(Some(Resolved {
            path: format!("{namespace}/{name}"),
            action,
            package_params: Vec::new(),
            binding: None,
        }));
    };
    let Some(resolved) = state.store.resolve_package(namespace, pkg).await? else {
        return Ok(None);
    };
    let target = &resolved.target;
    let Some(action) = state
        .store
        .get_action(&target.namespace, Some(&target.name), name)
        .await?
    else {
        return Ok(None);
    };
    let binding = resolved
        .requested
        .binding
        .as_ref()
        .map(|_| format!("{namespace}/{pkg}"));
    Ok(Some(Resolved {
        path: format!("{}/{}/{name}", target.namespace, target.name),
        action,
        package_params: resolved.parameters,
        binding,
    }))
}

/// Resolves a fully qualified name (`/ns/name`, `/ns/pkg/name`; `ns/pkg/name` too).
pub async fn resolve_fqn(state: &AppState, fqn: &str) -> Result<Option<Resolved>, LocalError> {
    let parts: Vec<&str> = fqn.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        [ns, name] => resolve(state, ns, None, name).await,
        [ns, pkg, name] => resolve(state, ns, Some(pkg), name).await,
        _ => Ok(None),
    }
}

/// `pkg/name` or `name` of a request path; `None` for anything else (`pkg/`, deeper paths).
pub fn split_action_path(path: &str) -> Option<(Option<&str>, &str)> {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        [name] if !name.is_empty() => Some((None, name)),
        [pkg, name] if !pkg.is_empty() && !name.is_empty() => Some((Some(pkg), name)),
        _ => None,
    }
}

/// Checks the request body against `final` parameters and the payload limit.
pub fn check_request(resolved: &Resolved, body: &Value, body_len: usize) -> Result<(), ApiError> {
    let merged = resolved.merged_params();
    if resolved.annotated("final")
        && let Some(fields) = body.as_object()
    {
        let defined = |k: &str| merged.iter().any(|p| p.key == k && !p.value.is_null());
        if fields.keys().any(|k| defined(k)) {
            return Err(ApiError::bad_request(RESERVED_PARAMS));
        }
    }
    let curried: usize = merged
        .iter()
        .map(|p| p.key.len() + p.value.to_string().len())
        .sum();
    let size = body_len + curried;
    if size > MAX_PAYLOAD {
        return Err(ApiError::too_large("Request", size, MAX_PAYLOAD));
    }
    Ok(())
}

/// Runs a resolved action (code or sequence) to its end, stores the activation and returns
/// it. Never fails: problems become the activation's status.
pub async fn execute(
    state: &AppState,
    resolved: &Resolved,
    body: Value,
    ctx: RunContext,
) -> Activation {
    let activation = if resolved.action.exec.is_sequence() {
        Box::pin(crate::sequence::run(state, resolved, body, ctx)).await
    } else {
        run_code(state, resolved, body, &ctx).await
    };
    if let Err(e) = state.store.put_activation(activation.clone()).await {
        tracing::error!(error = %e, id = %activation.activation_id, "storing an activation failed");
    }
    activation
}

/// One run of a code action through the runner.
async fn run_code(
    state: &AppState,
    resolved: &Resolved,
    body: Value,
    ctx: &RunContext,
) -> Activation {
    let action = &resolved.action;
    let (args, env) = params::split(&resolved.merged_params(), &body);
    let api_key = if provides_api_key(action) {
        namespace_auth(state, &ctx.invoker).await
    } else {
        None
    };
    let runnable = RunnableAction {
        namespace: action.root_namespace().to_string(),
        package: action.package().map(str::to_string),
        name: action.name.clone(),
        version: action.version.clone(),
        kind: action.exec.kind.clone(),
        code: action.exec.code.clone().unwrap_or_default(),
        binary: action.exec.binary.unwrap_or(false),
        main: action.exec.main.clone(),
        timeout_ms: action.limits.timeout,
        logs_mb: action.limits.logs,
    };
    let request = RunRequest {
        args,
        env,
        activation_id: ctx.activation_id.clone(),
        transaction_id: ctx.transaction_id.clone(),
        api_host: state.api_host.get().cloned(),
        api_key,
    };
    let runner = state.runner.runner(&state.data_dir);
    let outcome = runner.run(&runnable, request).await;
    activations::from_outcome(resolved, ctx, &outcome)
}

/// `provide-api-key` absent or truthy means the action sees the caller's key.
fn provides_api_key(action: &Action) -> bool {
    match kv_get(&action.annotations, "provide-api-key") {
        None => true,
        Some(v) => v.as_bool().unwrap_or(true),
    }
}

async fn namespace_auth(state: &AppState, namespace: &str) -> Option<String> {
    let ns = namespace.to_string();
    state
        .store
        .call(move |c| namespaces::get(c, &ns))
        .await
        .ok()
        .flatten()
        .map(|n| n.auth())
}

/// Starts `resolved` on its own task and returns the handle of its activation.
pub fn spawn(
    state: &AppState,
    resolved: Resolved,
    body: Value,
    ctx: RunContext,
) -> tokio::task::JoinHandle<Activation> {
    let state = state.clone();
    tokio::spawn(async move { execute(&state, &resolved, body, ctx).await })
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
    let namespace = subject.namespace_for(&ns, &format!("/actions/{path}"))?;
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
    let resolved = resolve(&state, &namespace, package, name)
        .await?
        .ok_or_else(ApiError::not_found)?;
    check_request(&resolved, &payload, body.len())?;
    let ctx = RunContext::new(&namespace);
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

/// A new activation id: 32 lowercase hex characters.
pub fn new_activation_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Epoch milliseconds as the store keeps them.
pub fn now() -> i64 {
    i64::try_from(now_ms()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_paths_split_into_package_and_name() {
        assert_eq!(split_action_path("hello"), Some((None, "hello")));
        assert_eq!(
            split_action_path("demo/hello"),
            Some((Some("demo"), "hello"))
        );
        assert_eq!(split_action_path("demo/"), None);
        assert_eq!(split_action_path("a/b/c"), None);
    }

    #[test]
    fn activation_ids_are_32_hex() {
        let id = new_activation_id();
        assert_eq!(id.len(), 32);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }
}
