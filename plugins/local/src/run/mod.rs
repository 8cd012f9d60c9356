//! The run-time half of the API: invoke (`POST` on [`crate::paths::ACTION_PATH`]), trigger
//! fire (`POST` on [`crate::paths::TRIGGER_PATH`]), activations, web actions, and background
//! tasks such as the scheduler, the API gateway's routes (`/api/<namespace>/…`), and the
//! upload URLs of remote-build slices ([`slice_upload`]).
//!
//! It builds on the bottom layer ([`crate::state`], [`crate::auth`], [`crate::http_error`],
//! [`crate::request`]), the store and the runner, never on [`crate::api`]; [`crate::server`]
//! merges [`router`] into its router and calls [`start`] once it listens. Inside, the modules
//! form a ladder with no way back up: [`resolve`] → [`record`] → [`code`] → [`sequence`] →
//! [`invoke`] → [`web`] → [`gateway`], [`scheduler`]; [`activations`] (the read API) needs
//! only the store.

pub mod activations;
pub mod code;
pub mod gateway;
pub mod invoke;
pub mod record;
pub mod resolve;
pub mod scheduler;
pub mod sequence;
pub mod slice_upload;
pub mod web;
mod web_response;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, post, put};

use crate::paths::{ACTION_PATH, TRIGGER_PATH};
use crate::state::AppState;

/// The run-time routes. Paths that the entity API also serves are spelled with the same
/// [`crate::paths`] constants (axum merges methods of identical paths).
pub fn router() -> Router<AppState> {
    Router::new()
        .route(ACTION_PATH, post(invoke::handle))
        .route(TRIGGER_PATH, post(scheduler::fire_handler))
        .route(
            "/api/v1/namespaces/{ns}/activations",
            get(activations::list),
        )
        .route(
            "/api/v1/namespaces/{ns}/activations/{id}",
            get(activations::get),
        )
        .route(
            "/api/v1/namespaces/{ns}/activations/{id}/logs",
            get(activations::logs),
        )
        .route(
            "/api/v1/namespaces/{ns}/activations/{id}/result",
            get(activations::result),
        )
        .route("/api/v1/web/{*path}", any(web::handle))
        .route(
            crate::slices::UPLOAD_PATH,
            put(slice_upload::handle).layer(DefaultBodyLimit::max(slice_upload::MAX_SLICE)),
        )
        .route("/api/{ns}/{*path}", any(gateway::handle))
}

/// Called once, inside the server's runtime, after the listener is bound and
/// `state.api_host` is set: starts the scheduler of DigitalOcean-style triggers when this
/// server owns the data directory ([`AppState::owns_data_dir`]; any other server over the
/// same database leaves the firing to the owner, so each trigger fires once). True when the
/// scheduler was started.
pub fn start(state: &AppState) -> bool {
    if state.owns_data_dir() && state.runner.first_start() {
        scheduler::spawn(state.clone());
        return true;
    }
    false
}
