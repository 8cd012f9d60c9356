//! sluice's embedded local namespace: an OpenWhisk-compatible controller on SQLite.
//!
//! What it owns: the store ([`store`]), the REST API ([`api`], axum) with the controller's
//! semantics for actions, packages, triggers and rules plus DigitalOcean's scheduled-triggers
//! API, `sluice serve` ([`server`]), and the zero-setup default target ([`embedded`]) that
//! the CLI starts in-process on an ephemeral loopback port. The runner (invoke, activations,
//! web actions, scheduler) plugs in through [`run_api`].
//!
//! What it must not do: know anything about projects or deploying. sluice deploys here
//! through the same `sluice-openwhisk` client it uses for a real namespace, so the two
//! targets cannot drift apart.

pub mod activations;
pub mod api;
pub mod embedded;
mod error;
pub mod invoke;
pub mod names;
pub mod run_api;
pub mod runner;
pub mod scheduler;
pub mod sequence;
pub mod server;
pub mod store;
pub mod web;

pub use api::{AppState, api_router};
pub use embedded::EmbeddedServer;
pub use error::LocalError;
pub use store::Store;
