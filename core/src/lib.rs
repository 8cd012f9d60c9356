//! sluice-core: the model of a functions project, the three plugin traits
//! ([`ProjectReader`], [`Builder`], [`Deployer`]), the [`Hooks`] seam, the [`Registry`] and
//! the [`Engine`] that runs the phases, build planning included ([`plan`]).
//!
//! This crate owns *what* a project is and *in which order* things happen. It must not
//! decide *how* a project is laid out on disk (that is `sluice-fs-reader`), how anything is
//! built or sent (the builder and deployer plugins), nor print or exit (the CLI). It holds the
//! few rules that several plugins must apply identically: file-name → runtime inference, the
//! runtime table, the system exclusion list, include/exclude filtering, OpenWhisk's entity
//! name rule ([`names`]), the rule that a project reads nothing outside its directory
//! ([`confine`]), the check of prebuilt zips ([`zip_check`]), and the default builder (the
//! finder and its autozip).

pub mod activation;
pub mod annotation;
pub mod changes;
pub mod confine;
pub mod engine;
pub mod entity_filter;
pub mod error;
pub mod feedback;
pub mod files;
pub mod finder;
pub mod hooks;
pub mod model;
pub mod names;
pub mod ops;
pub mod plan;
pub mod plugin;
pub mod registry;
pub mod releases;
pub mod remote;
pub mod runtimes;
pub mod settings;
pub mod system_ignore;
pub mod zip_check;

pub use activation::{Activation, ActivationResponse, Annotation, Outcome, RunLimits};
pub use changes::{ChangeKind, Plan, PlanEntity, PlannedChange, Reason};
pub use engine::{BuildOutcome, BuildReport, Engine};
pub use entity_filter::EntityFilter;
pub use error::{Error, Result};
pub use feedback::{Feedback, Recorder, Silent, Step};
pub use files::{DiskFiles, ProjectFiles};
pub use finder::{Finder, identify};
pub use hooks::{BuildDecision, Hooks, NoHooks};
pub use model::*;
pub use plugin::{
    BuildContext, BuildJob, BuildTarget, Builder, DeployContext, DeployedFunction, Deployer,
    Detection, HOST_VERSION, ProjectManifest, ProjectReader, ReadContext, Target, UndeployRequest,
};
pub use registry::{Origin, Registry};
pub use remote::{RemoteBuilder, RemoteJob, RemoteOutcome};
pub use runtimes::{FileParts, RuntimeKind, RuntimeTable};
pub use system_ignore::SystemIgnore;
