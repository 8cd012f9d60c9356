//! The route paths that both the entity API ([`crate::api`]) and the run-time API
//! ([`crate::run`]) serve, each with its own methods. axum merges the methods of identical
//! paths, so both sides spell them with these constants; keeping them here lets neither side
//! import the other for a string.

/// Route of one action (`name` or `pkg/name`) and of a package's action list (`pkg/`):
/// `GET`, `PUT`, `DELETE` in [`crate::api`], `POST` (invoke) in [`crate::run`].
pub const ACTION_PATH: &str = "/api/v1/namespaces/{ns}/actions/{*path}";
/// Route of one trigger: `GET`, `PUT`, `DELETE` in [`crate::api`], `POST` (fire) in
/// [`crate::run`].
pub const TRIGGER_PATH: &str = "/api/v1/namespaces/{ns}/triggers/{name}";
