//! What the daemon adds to the API: control routes under `/_sluice/daemon` (its status, stop,
//! and the namespaces it holds), reserved to the holder of the state file's token, and the
//! idle clock that every request resets.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::sync::Notify;

use super::files::{DaemonStatus, RunnerStatus};
use crate::runner::now_ms;
use crate::state::AppState;
use crate::store::namespaces;

/// The control routes' prefix.
pub const CONTROL_PATH: &str = "/_sluice/daemon";

/// Requests in flight and when the last one ended.
#[derive(Debug)]
pub struct Activity {
    inflight: AtomicUsize,
    last_ms: AtomicU64,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            inflight: AtomicUsize::new(0),
            last_ms: AtomicU64::new(now_ms()),
        }
    }
}

impl Activity {
    /// How long nothing happened (zero while a request is in flight).
    pub fn idle_for(&self) -> Duration {
        if self.inflight.load(Ordering::SeqCst) > 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(now_ms().saturating_sub(self.last_ms.load(Ordering::SeqCst)))
    }

    fn touch(&self) {
        self.last_ms.store(now_ms(), Ordering::SeqCst);
    }
}

/// Counts a request in flight and resets the idle clock when it ends.
pub async fn track(State(activity): State<Arc<Activity>>, req: Request, next: Next) -> Response {
    activity.inflight.fetch_add(1, Ordering::SeqCst);
    activity.touch();
    let resp = next.run(req).await;
    activity.touch();
    activity.inflight.fetch_sub(1, Ordering::SeqCst);
    resp
}

/// What the control handlers need.
#[derive(Clone)]
pub struct Control {
    pub state: AppState,
    pub token: Arc<str>,
    pub stop: Arc<Notify>,
    pub idle: Option<Duration>,
}

/// The control routes.
pub fn router(control: Control) -> Router {
    Router::new()
        .route(CONTROL_PATH, get(status))
        .route(&format!("{CONTROL_PATH}/stop"), post(stop))
        .route(&format!("{CONTROL_PATH}/namespaces"), get(list_namespaces))
        .route(
            &format!("{CONTROL_PATH}/namespaces/{{name}}"),
            get(get_namespace)
                .put(create_namespace)
                .delete(delete_namespace),
        )
        .with_state(control)
}

fn authorized(control: &Control, headers: &HeaderMap) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let want = control.token.as_bytes();
    given.len() == want.len()
        && given
            .bytes()
            .zip(want.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

fn forbidden() -> Response {
    error(
        StatusCode::FORBIDDEN,
        "the daemon's control token is required",
    )
}

async fn status(State(control): State<Control>, headers: HeaderMap) -> Response {
    if !authorized(&control, &headers) {
        return forbidden();
    }
    let names = match control.state.store.with(|c| namespaces::list(c)) {
        Ok(n) => n,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    Json(DaemonStatus {
        pid: std::process::id(),
        api_host: control.state.api_host.get().cloned().unwrap_or_default(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        data_dir: control.state.data_dir.as_ref().clone(),
        namespaces: names,
        idle_exit_seconds: control.idle.map(|d| d.as_secs()),
        running_activations: control.state.running.len(),
        runner: runner_status(&control),
    })
    .into_response()
}

fn runner_status(control: &Control) -> RunnerStatus {
    let runner = control.state.runner.runner(&control.state.data_dir);
    let settings = runner.config().settings;
    RunnerStatus {
        max_workers: settings.max_workers,
        max_per_action: settings.max_per_action,
        idle_worker_seconds: settings.idle_ttl.as_secs(),
        idle_workers: runner.idle_workers(),
        confinement: crate::runner::confinement().describe(),
    }
}

async fn stop(State(control): State<Control>, headers: HeaderMap) -> Response {
    if !authorized(&control, &headers) {
        return forbidden();
    }
    control.stop.notify_one();
    Json(json!({ "stopping": std::process::id() })).into_response()
}

async fn list_namespaces(State(control): State<Control>, headers: HeaderMap) -> Response {
    if !authorized(&control, &headers) {
        return forbidden();
    }
    match control.state.store.with(|c| namespaces::list(c)) {
        Ok(n) => Json(json!(n)).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

fn namespace_body(ns: &namespaces::Namespace) -> Response {
    Json(json!({ "name": ns.name, "auth": ns.auth() })).into_response()
}

async fn get_namespace(
    State(control): State<Control>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if !authorized(&control, &headers) {
        return forbidden();
    }
    match control.state.store.with(|c| namespaces::get(c, &name)) {
        Ok(Some(ns)) => namespace_body(&ns),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            format!("no local namespace named '{name}'"),
        ),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn create_namespace(
    State(control): State<Control>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if !authorized(&control, &headers) {
        return forbidden();
    }
    if let Err(why) = namespaces::check_name(&name) {
        return error(StatusCode::BAD_REQUEST, why);
    }
    match control.state.store.with(|c| namespaces::ensure(c, &name)) {
        Ok(ns) => namespace_body(&ns),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn delete_namespace(
    State(control): State<Control>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if !authorized(&control, &headers) {
        return forbidden();
    }
    if name == crate::server::LOCAL_NAMESPACE {
        return error(
            StatusCode::BAD_REQUEST,
            "the 'local' namespace is the default one and cannot be deleted",
        );
    }
    match control.state.store.with(|c| namespaces::delete(c, &name)) {
        Ok(true) => {
            control.state.forget_subjects(&name);
            Json(json!({ "deleted": name })).into_response()
        }
        Ok(false) => error(
            StatusCode::NOT_FOUND,
            format!("no local namespace named '{name}'"),
        ),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
