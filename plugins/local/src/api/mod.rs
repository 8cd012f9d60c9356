//! The entity API (axum): actions, packages, triggers and rules under `/api/v1`, the info
//! endpoints, and DigitalOcean's scheduled-triggers API.
//!
//! It builds on the bottom layer ([`crate::state`], [`crate::auth`], [`crate::http_error`],
//! [`crate::request`], [`crate::paths`]) and the store, and knows nothing of running
//! actions: [`crate::server`] merges [`router`] with [`crate::run::router`]. Packages,
//! triggers and rules share their list, get and delete handlers (`entity`).

mod action_put;
mod actions;
mod do_triggers;
mod entity;
pub mod fqn;
mod info;
mod packages;
mod rules;
mod triggers;

use axum::Router;
use axum::routing::get;

pub use info::{resolve_kind, runs_locally};

use crate::state::AppState;

/// The entity routes and the info endpoints (no fallback, no middleware: the server adds
/// those over everything).
pub fn router() -> Router<AppState> {
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
}
