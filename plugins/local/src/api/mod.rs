//! The OpenWhisk-compatible REST API (axum): entity management under `/api/v1`, the info
//! endpoints and the DigitalOcean triggers API. Invocation, activations, web actions and the
//! scheduler belong to the runner, which plugs in through [`crate::run_api`].
//!
//! Cross-cutting behaviour lives in one middleware ([`request_context`]): a request id on
//! every response (`X-Request-ID`, and the `code` of error bodies), CORS headers and the
//! answer to `OPTIONS`.

mod action_put;
mod actions;
mod auth;
mod do_triggers;
mod error;
pub mod fqn;
mod info;
mod packages;
mod params;
mod rules;
mod triggers;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, RwLock};

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sluice_core::RuntimeTable;

pub use auth::Subject;
pub use error::{ApiError, ErrorMessage, NOT_FOUND};
pub use info::{SystemLimits, resolve_kind, runs_locally};
pub use params::{ListParams, bool_param, read_json};

use crate::store::Store;

/// Route of one action (`name` or `pkg/name`) and of a package's action list (`pkg/`).
/// The runner adds `POST` on the same path.
pub const ACTION_PATH: &str = "/api/v1/namespaces/{ns}/actions/{*path}";
/// Route of one trigger; the runner adds `POST` (fire).
pub const TRIGGER_PATH: &str = "/api/v1/namespaces/{ns}/triggers/{name}";

/// Largest request body accepted (the controller's HTTP entity maximum).
pub const MAX_BODY: usize = 50 * 1024 * 1024;

/// Everything a handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// The kinds this server accepts (DigitalOcean's).
    pub runtimes: Arc<RuntimeTable>,
    pub limits: SystemLimits,
    /// The data directory (database, key file, the runner's work folders).
    pub data_dir: Arc<PathBuf>,
    /// `http://127.0.0.1:<port>` once the server is listening (for `__OW_API_HOST`).
    pub api_host: Arc<OnceLock<String>>,
    /// The runner's state (warm workers, …), defined in [`crate::run_api`].
    pub runner: Arc<crate::run_api::RunnerState>,
    auth_cache: Arc<RwLock<HashMap<String, String>>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .field("data_dir", &self.data_dir)
            .field("api_host", &self.api_host.get())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State over an open store in `data_dir`.
    pub fn new(store: Store, data_dir: PathBuf) -> Self {
        AppState {
            store,
            runtimes: Arc::new(RuntimeTable::builtin()),
            limits: SystemLimits::default(),
            data_dir: Arc::new(data_dir),
            api_host: Arc::new(OnceLock::new()),
            runner: Arc::new(crate::run_api::RunnerState::default()),
            auth_cache: Arc::new(RwLock::new(HashMap::new())),
        }
    }

    fn cached_subject(&self, credentials: &str) -> Option<String> {
        self.auth_cache
            .read()
            .ok()
            .and_then(|c| c.get(credentials).cloned())
    }

    fn cache_subject(&self, credentials: String, namespace: String) {
        if let Ok(mut c) = self.auth_cache.write() {
            c.insert(credentials, namespace);
        }
    }
}

/// The whole API: entity routes, the runner's routes and the middleware.
pub fn api_router(state: AppState) -> Router {
    Router::new()
        .route("/", get(info::root))
        .route("/api/v1", get(info::api_v1))
        .route("/api/v1/", get(info::api_v1))
        .route("/api/v1/namespaces", get(info::namespaces))
        .route("/api/v1/namespaces/{ns}/limits", get(info::limits))
        .merge(actions::routes())
        .merge(packages::routes())
        .merge(triggers::routes())
        .merge(rules::routes())
        .merge(do_triggers::routes())
        .merge(crate::run_api::routes())
        .fallback(|| async { ApiError::not_found() })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(request_context))
        .with_state(state)
}

/// The request id of the current request (also in `X-Request-ID`).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

const CORS_METHODS: &str = "GET, DELETE, POST, PUT, HEAD";
const CORS_HEADERS: &str =
    "Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent";

/// Request id, CORS and `OPTIONS` for every route; renders [`ApiError`] bodies.
async fn request_context(mut req: Request, next: Next) -> Response {
    let tid = uuid::Uuid::new_v4().simple().to_string();
    let path = req.uri().path().to_string();
    let web = path.starts_with("/api/v1/web/");
    req.extensions_mut().insert(RequestId(tid.clone()));
    let mut resp = if req.method() == Method::OPTIONS && !web {
        StatusCode::OK.into_response()
    } else {
        next.run(req).await
    };
    let message = match resp.extensions_mut().remove::<ErrorMessage>() {
        Some(ErrorMessage(message)) => Some(message),
        // The framework's own rejections (405, a body over the limit, an unreadable query)
        // come as plain text; give them the controller's error shape too.
        None if is_framework_error(&resp, &path) => Some(framework_message(&mut resp).await),
        None => None,
    };
    if let Some(message) = message {
        let body = serde_json::json!({ "error": message, "code": tid });
        *resp.body_mut() = Body::from(body.to_string());
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp.headers_mut().remove(header::CONTENT_LENGTH);
    }
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&tid) {
        headers.insert(HeaderName::from_static("x-request-id"), v);
    }
    if !web {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(CORS_METHODS),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(CORS_HEADERS),
        );
    }
    resp
}

/// An error answer that no handler shaped: 4xx/5xx without a JSON body, outside the web
/// actions (which shape their own answers) and the DigitalOcean API.
fn is_framework_error(resp: &Response, path: &str) -> bool {
    let status = resp.status();
    let json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"));
    (status.is_client_error() || status.is_server_error())
        && !json
        && !path.starts_with("/api/v1/web/")
        && !path.starts_with("/v2/")
}

/// The text of a framework rejection, or a message for its status when it has none.
async fn framework_message(resp: &mut Response) -> String {
    let body = std::mem::replace(resp.body_mut(), Body::empty());
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    match resp.status() {
        StatusCode::METHOD_NOT_ALLOWED => "HTTP method not allowed".to_string(),
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!("Request larger than allowed: the limit is {MAX_BODY} bytes.")
        }
        _ if !text.is_empty() => text,
        s => s.canonical_reason().unwrap_or("error").to_string(),
    }
}
