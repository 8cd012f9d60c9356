//! sluice's embedded local namespace: an OpenWhisk-compatible controller on SQLite.
//!
//! What it owns: the store ([`store`]), the runner of node and python code ([`runner`]), the
//! REST API (axum) with the controller's semantics, the one server per data directory
//! ([`daemon`]: the background server every CLI command connects to, and `sluice serve`),
//! and an in-process server on an ephemeral loopback port ([`embedded`], for tests and
//! benchmarks).
//!
//! What it must not do: know anything about projects or deploying. sluice deploys here
//! through the same `sluice-openwhisk` client it uses for a real namespace, so the two
//! targets cannot drift apart.
//!
//! How it is layered — each module imports only from the layers below it, never one that
//! imports it back:
//! 1. [`store`], [`runner`] and [`LocalError`]: the database, the processes, the one error;
//!    [`owner`], the data directory's lock (only its holder runs the scheduler);
//!    [`slices`], the store of remote-build slices.
//!    Above them, [`catalog`]: the standard OpenWhisk catalog (`whisk.system`, `nimbella`)
//!    installed into the store, and its built-in feed and API gateway actions.
//! 2. The shared request layer: [`state`] ([`AppState`]), [`http_error`] ([`ApiError`] and the
//!    JSON error shape), [`request`] (paging, boolean flags, JSON bodies), [`auth`] (the
//!    caller), [`names`], [`paths`] (routes both halves serve) and [`middleware`].
//! 3. Two halves side by side that never import each other: [`api`] (entity CRUD: actions,
//!    packages, triggers, rules, DigitalOcean triggers, info) and [`run`] (invoke,
//!    activations, web actions, sequences, trigger firing and the scheduler).
//! 4. [`server`] merges the two routers under the middleware; [`embedded`] runs it
//!    in-process, [`daemon`] as the data directory's owner (with its control routes, idle
//!    exit and the client that finds or starts it).

pub mod api;
pub mod auth;
pub mod catalog;
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
pub mod slices;
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
