//! The use-cases, one module each, as cargo's `ops`: every command of the CLI parses its
//! arguments into an options struct, calls one function here and renders the report it gets
//! back. Nothing here parses flags, prints or exits; everything a run needs besides its
//! options comes from the [`Session`] (plugins, hooks, environment, home, feedback) and, for
//! the ops that talk to a namespace, from the caller's [`Targets`].
//!
//! `plan` shares `deploy`'s read, prepare and build, then compares instead of sending.
//! `watch` runs a deploy per batch of changes, with a fresh session per batch. `promote` sends
//! the code one namespace holds to another, through `deploy`'s prepare with supplied artifacts.

pub mod build;
pub mod deploy;
pub mod environment;
pub mod metadata;
pub mod plan;
pub mod promote;
mod remote_build;
mod runtime_cache;
mod session;
pub mod undeploy;
pub mod watch;

pub use build::{BuildOptions, BuildSummary, BuiltFunction};
pub use deploy::{Confirm, DeployOptions, DeployOutcome};
pub use metadata::MetadataOptions;
pub use plan::{PlanOptions, PlanOutcome};
pub use promote::{PromoteOptions, PromoteOutcome};
pub use session::{ResolvedTarget, Session, Targets};
pub use undeploy::UndeployOptions;
pub use watch::{StopHandle, WatchEvent, WatchOptions, WatchReport};
