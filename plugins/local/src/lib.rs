//! sluice's embedded local namespace: an OpenWhisk-compatible controller on SQLite.
//!
//! What it owns: the store ([`store`]), the runner of node and python code ([`runner`]), the
//! REST API (axum) with the controller's semantics, `sluice serve` ([`server`]), and the
//! zero-setup default target ([`embedded`]) that the CLI starts in-process on an ephemeral
//! loopback port.
//!
//! What it must not do: know anything about projects or deploying. sluice deploys here
//! through the same `sluice-openwhisk` client it uses for a real namespace, so the two
//! targets cannot drift apart.
//!
//! How it is layered — each module imports only from the layers below it, never one that
//! imports it back:
//! 1. [`store`], [`runner`] and [`LocalError`]: the database, the processes, the one error.
//! 2. The shared request layer: [`state`] ([`AppState`]), [`http_error`] ([`ApiError`] and the
//!    JSON error shape), [`request`] (paging, boolean flags, JSON bodies), [`auth`] (the
//!    caller), [`names`], [`paths`] (routes both halves serve) and [`middleware`].
//! 3. Two halves side by side that never import each other: [`api`] (entity CRUD: actions,
//!    packages, triggers, rules, DigitalOcean triggers, info) and [`run`] (invoke,
//!    activations, web actions, sequences, trigger firing and the scheduler).
//! 4. [`server`] merges the two routers under the middleware; [`embedded`] runs it.

pub mod api;
pub mod auth;
pub mod daemon;
pub mod embedded;
mod error;
pub mod http_error;
pub mod middleware;
pub mod names;
pub mod owner;
pub mod paths;
pub mod request;
pub mod run;
pub mod runner;
pub mod server;
pub mod state;
pub mod store;

pub use embedded::EmbeddedServer;
pub use error::LocalError;
pub use http_error::ApiError;
/// The scheduler keeps its old path (`sluice_local::scheduler`) for the tests that drive it.
pub use run::scheduler;
pub use server::api_router;
pub use state::AppState;
pub use store::Store;
