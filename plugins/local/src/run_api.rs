//! The runner's half of the server: invoke (`POST` on [`crate::api::ACTION_PATH`]), trigger
//! fire (`POST` on [`crate::api::TRIGGER_PATH`]), activations, web actions, and background
//! tasks such as the scheduler.
//!
//! This module is the seam between the API (the "local" engineer's) and the runner (the
//! "runner" engineer's): the server merges [`routes`] into its router, calls [`start`] once it
//! listens, and keeps a [`RunnerState`] in [`crate::api::AppState::runner`].

use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::routing::{any, get, post};

use crate::api::{ACTION_PATH, AppState, TRIGGER_PATH};
use crate::runner::{Runner, RunnerConfig};

/// What the runner keeps for the life of a server: the warm processes.
#[derive(Debug, Default)]
pub struct RunnerState {
    runner: OnceLock<Runner>,
    started: AtomicBool,
}

impl RunnerState {
    /// The runner, caching code under `<data_dir>/runner`.
    pub fn runner(&self, data_dir: &Path) -> &Runner {
        self.runner
            .get_or_init(|| Runner::new(RunnerConfig::new(data_dir.join("runner"))))
    }
}

/// The runner's routes, merged into the API router. Paths that the API also serves are
/// spelled exactly as the API's constants (axum merges methods of identical paths).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(ACTION_PATH, post(crate::invoke::handle))
        .route(TRIGGER_PATH, post(crate::scheduler::fire_handler))
        .route(
            "/api/v1/namespaces/{ns}/activations",
            get(crate::activations::list),
        )
        .route(
            "/api/v1/namespaces/{ns}/activations/{id}",
            get(crate::activations::get),
        )
        .route(
            "/api/v1/namespaces/{ns}/activations/{id}/logs",
            get(crate::activations::logs),
        )
        .route(
            "/api/v1/namespaces/{ns}/activations/{id}/result",
            get(crate::activations::result),
        )
        .route("/api/v1/web/{*path}", any(crate::web::handle))
}

/// Called once, inside the server's runtime, after the listener is bound and
/// `state.api_host` is set: starts the scheduler of DigitalOcean-style triggers.
pub fn start(state: &AppState) {
    if state.runner.started.swap(true, Ordering::SeqCst) {
        return;
    }
    crate::scheduler::spawn(state.clone());
}
