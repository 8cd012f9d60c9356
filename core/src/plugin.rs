//! The three plugin traits — [`ProjectReader`], [`Builder`], [`Deployer`] — and the context
//! structs passed to them.
//!
//! Each trait has at most three required methods; contexts are `#[non_exhaustive]` structs
//! (built with `new` and then adjusted field by field) so the host can add members without
//! breaking plugins. Built-in plugins implement exactly these traits, as third-party ones do.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;

use crate::changes::Plan;
use crate::entity_filter::EntityFilter;
use crate::error::{Error, Result};
use crate::feedback::{Feedback, Silent};
use crate::files::{DiskFiles, ProjectFiles};
use crate::model::{
    ActionSpec, Artifact, Credentials, DeployResponse, DeployStructure, Flags, VersionInfo,
};
use crate::runtimes::RuntimeTable;
use crate::system_ignore::SystemIgnore;

/// sluice's version, handed to plugins so they can adapt.
pub const HOST_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Everything a reader needs besides the location.
#[derive(Clone)]
#[non_exhaustive]
pub struct ReadContext {
    pub host_version: &'static str,
    pub flags: Flags,
    pub entity_filter: EntityFilter,
    pub system_ignore: SystemIgnore,
    pub runtimes: RuntimeTable,
    /// The process environment (a snapshot, so tests can supply their own).
    pub env: BTreeMap<String, String>,
    /// sluice's home directory (credentials, `.exclude`, installed plugins).
    pub home: Option<PathBuf>,
    pub feedback: Arc<dyn Feedback>,
    /// The chosen environment's decrypted secrets, for `${secret:NAME}` (empty: none).
    pub secrets: BTreeMap<String, String>,
}

impl std::fmt::Debug for ReadContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadContext")
            .field("flags", &self.flags)
            .field("entity_filter", &self.entity_filter)
            .finish_non_exhaustive()
    }
}

impl ReadContext {
    /// A context with no filters, the built-in runtime table, an empty environment and
    /// silent feedback.
    pub fn new(flags: Flags) -> Self {
        let entity_filter = EntityFilter::new(flags.include.as_deref(), flags.exclude.as_deref());
        ReadContext {
            host_version: HOST_VERSION,
            flags,
            entity_filter,
            system_ignore: SystemIgnore::default(),
            runtimes: RuntimeTable::builtin(),
            env: BTreeMap::new(),
            home: None,
            feedback: Arc::new(Silent),
            secrets: BTreeMap::new(),
        }
    }
}

/// What must be known of a project before it is read in full: the shared-library plugins it
/// names (one of them may be the reader itself) and its Lua hook files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProjectManifest {
    /// `plugins:` entries, as written (relative to the project).
    pub plugins: Vec<String>,
    /// `hooks:` entries, as written (relative to the project).
    pub hooks: Vec<String>,
}

impl ProjectManifest {
    /// The manifest of an already-read project.
    pub fn of(project: &DeployStructure) -> Self {
        ProjectManifest {
            plugins: project.plugins.clone().unwrap_or_default(),
            hooks: project.hooks.clone().unwrap_or_default(),
        }
    }
}

/// Turns a location into a [`DeployStructure`].
pub trait ProjectReader: Send + Sync {
    /// A short name for messages and `sluice plugins list`.
    fn name(&self) -> &str;
    /// Whether this reader reads `location` (a directory, `slice:…`, anything it recognises).
    fn claims(&self, location: &str) -> bool;
    /// Reads, validates and merges the project. A directory function gets the layout's
    /// generic build kind in `build` (`identify` when the layout has no opinion), and
    /// `lib_build` is set when there is a `lib/`; which builder owns them is planned by the
    /// engine afterwards ([`Engine::plan`](crate::Engine::plan)), not by the reader.
    fn read(&self, location: &str, ctx: &ReadContext) -> Result<DeployStructure>;
    /// The project's plugins and hooks, read cheaply before the full read. The default reads
    /// the project in full; a reader that can find them in less work overrides it.
    fn manifest(&self, location: &str, ctx: &ReadContext) -> Result<ProjectManifest> {
        self.read(location, ctx).map(|p| ProjectManifest::of(&p))
    }
    /// The project's files, through which the engine plans builds and picks builders; the
    /// default is the local disk rooted at `location`. See [`crate::files`] for building a
    /// project that is not on disk.
    fn files(&self, location: &str) -> Arc<dyn ProjectFiles> {
        Arc::new(DiskFiles::new(location))
    }
}

/// What a builder is asked to look at, when the engine plans and when it picks the builder.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct BuildTarget<'a> {
    /// The action directory, or `lib/` (absolute; project-relative when the project's files
    /// are not on disk).
    pub dir: &'a Path,
    /// The same, relative to the project (`packages/p/a`, `lib`).
    pub rel_dir: &'a str,
    /// Names of the files (not directories) directly in `dir`, after the exclusion list.
    pub files: &'a [String],
    /// The action, or `None` for `lib/`.
    pub action: Option<&'a ActionSpec>,
    pub flags: &'a Flags,
}

impl<'a> BuildTarget<'a> {
    pub fn new(
        dir: &'a Path,
        rel_dir: &'a str,
        files: &'a [String],
        action: Option<&'a ActionSpec>,
        flags: &'a Flags,
    ) -> Self {
        BuildTarget {
            dir,
            rel_dir,
            files,
            action,
            flags,
        }
    }

    /// Whether `name` is one of the directory's files.
    pub fn has_file(&self, name: &str) -> bool {
        self.files.iter().any(|f| f == name)
    }
}

/// A builder's claim on a target: the build kind it would record, and how strongly it claims.
/// The highest priority wins; the finder claims everything at priority 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub kind: String,
    pub priority: i32,
}

/// What to build.
#[derive(Debug, Clone, Copy)]
pub enum BuildJob<'a> {
    /// One function of a package.
    Action {
        package: &'a str,
        action: &'a ActionSpec,
    },
    /// The project's `lib/` directory.
    Lib { kind: &'a str },
}

impl BuildJob<'_> {
    /// `pkg/name` (or `name` in the default package), or `lib`.
    pub fn entity(&self) -> String {
        match self {
            BuildJob::Action { package, action } => action.qualified_name(package),
            BuildJob::Lib { .. } => "lib".to_string(),
        }
    }
}

/// Everything a builder needs besides the job.
#[derive(Clone)]
#[non_exhaustive]
pub struct BuildContext {
    pub host_version: &'static str,
    pub project_dir: PathBuf,
    pub flags: Flags,
    /// `--build-env` entries; they override the process environment in build subprocesses.
    pub build_env: BTreeMap<String, String>,
    pub runtimes: RuntimeTable,
    pub system_ignore: SystemIgnore,
    /// Used in display paths (`<best name>/packages/p/a`).
    pub best_project_name: String,
    pub files: Arc<dyn ProjectFiles>,
    pub feedback: Arc<dyn Feedback>,
}

impl std::fmt::Debug for BuildContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildContext")
            .field("project_dir", &self.project_dir)
            .field("flags", &self.flags)
            .finish_non_exhaustive()
    }
}

impl BuildContext {
    pub fn new(project_dir: impl Into<PathBuf>, flags: Flags) -> Self {
        let project_dir = project_dir.into();
        BuildContext {
            host_version: HOST_VERSION,
            files: Arc::new(DiskFiles::new(&project_dir)),
            best_project_name: project_dir.display().to_string(),
            project_dir,
            flags,
            build_env: BTreeMap::new(),
            runtimes: RuntimeTable::builtin(),
            system_ignore: SystemIgnore::default(),
            feedback: Arc::new(Silent),
        }
    }

    /// A project-relative (or absolute) path on disk.
    pub fn resolve(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.project_dir.join(p)
        }
    }
}

/// Turns a function's sources (or `lib/`) into one deployable artifact.
pub trait Builder: Send + Sync {
    /// A short name for messages and `sluice plugins list`.
    fn name(&self) -> &str;
    /// Whether this builder owns the target, as what kind and with what priority.
    fn detect(&self, target: &BuildTarget<'_>) -> Option<Detection>;
    /// Builds. For an action, returns the artifact to deploy; for `lib/`, `None`.
    fn build(&self, job: &BuildJob<'_>, ctx: &BuildContext) -> Result<Option<Artifact>>;
}

/// Which namespace a deploy goes to, once the deployer has checked the credentials.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Target {
    pub apihost: String,
    pub namespace: String,
    pub credentials: Credentials,
    /// True for the embedded local namespace.
    pub local: bool,
}

impl Target {
    pub fn new(
        apihost: impl Into<String>,
        namespace: impl Into<String>,
        credentials: Credentials,
    ) -> Self {
        Target {
            apihost: apihost.into(),
            namespace: namespace.into(),
            credentials,
            local: false,
        }
    }
}

/// Everything a deployer needs besides the project.
#[derive(Clone)]
#[non_exhaustive]
pub struct DeployContext {
    pub host_version: &'static str,
    /// The project's directory (for `.deployed/` and git), when deploying a project.
    pub project_dir: Option<PathBuf>,
    pub flags: Flags,
    pub entity_filter: EntityFilter,
    /// The credentials chosen by the caller (store, flags, or the local namespace).
    pub credentials: Option<Credentials>,
    /// True when `credentials` are the embedded local namespace's.
    pub local: bool,
    pub runtimes: RuntimeTable,
    pub feedback: Arc<dyn Feedback>,
    /// The plan being applied (`deploy --plan FILE`, `--prune`): entities it marks unchanged
    /// are not sent, and its deletes are carried out. `None` deploys as usual.
    pub applying: Option<Arc<Plan>>,
    /// Functions the namespace's builder built and deployed (spec §12): the deployer adds
    /// their outcomes to its response and deploys their triggers.
    pub remote_outcomes: Vec<crate::remote::RemoteOutcome>,
}

impl std::fmt::Debug for DeployContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeployContext")
            .field("project_dir", &self.project_dir)
            .field("flags", &self.flags)
            .field("credentials", &self.credentials)
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl DeployContext {
    pub fn new(flags: Flags, credentials: Option<Credentials>) -> Self {
        let entity_filter = EntityFilter::new(flags.include.as_deref(), flags.exclude.as_deref());
        DeployContext {
            host_version: HOST_VERSION,
            project_dir: None,
            flags,
            entity_filter,
            credentials,
            local: false,
            runtimes: RuntimeTable::builtin(),
            feedback: Arc::new(Silent),
            applying: None,
            remote_outcomes: Vec::new(),
        }
    }
}

/// What `undeploy` removes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UndeployRequest {
    /// Functions by name (`pkg/name` or `name`).
    pub actions: Vec<String>,
    /// Whole packages, with their functions.
    pub packages: Vec<String>,
    /// Everything in the namespace.
    pub all: bool,
    /// Triggers by name; with `all`, every trigger too.
    pub triggers: Vec<String>,
    pub all_triggers: bool,
}

/// One function of a project as a namespace holds it, beside what the project recorded of it
/// there (`.deployed/versions.json`): what `promote` checks and copies.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct DeployedFunction {
    /// `pkg/name`, or `name` in the default package.
    pub name: String,
    /// What the project recorded for it in this namespace; `None`: never deployed from here.
    pub recorded: Option<VersionInfo>,
    /// The namespace's version; `None`: the namespace has no such function.
    pub version: Option<String>,
    /// The short digest of the namespace's `deployer` annotation.
    pub digest: Option<String>,
    /// The code exactly as deployed (decoded when binary); `None` for sequences.
    pub code: Option<Vec<u8>>,
    /// The runtime kind, `main` and whether the code is binary (a zip), as the namespace has them.
    pub kind: Option<String>,
    pub main: Option<String>,
    pub binary: bool,
}

impl DeployedFunction {
    pub fn new(name: impl Into<String>) -> Self {
        DeployedFunction {
            name: name.into(),
            ..Default::default()
        }
    }
}

/// Sends a built project to a namespace.
#[async_trait]
pub trait Deployer: Send + Sync {
    /// A short name; `--target NAME` chooses a deployer by it.
    fn name(&self) -> &str;
    /// Checks the credentials against the namespace and says where the deploy will go.
    async fn prepare(&self, ctx: &DeployContext) -> Result<Target>;
    /// Deploys packages, bindings, actions, sequences and triggers; failures of single
    /// entities are in the response, not in the `Err`.
    async fn deploy(
        &self,
        ctx: &DeployContext,
        target: &Target,
        project: &DeployStructure,
    ) -> Result<DeployResponse>;
    /// The namespace's runtime table, when it publishes one.
    async fn runtimes(&self, _ctx: &DeployContext) -> Result<Option<RuntimeTable>> {
        Ok(None)
    }
    /// What deploying `project` would change in the namespace, without changing anything;
    /// `prune` adds the entities this project deployed that it no longer has. The default
    /// says the deployer cannot plan.
    async fn plan(
        &self,
        _ctx: &DeployContext,
        _target: &Target,
        _project: &DeployStructure,
        _prune: bool,
    ) -> Result<Plan> {
        Err(Error::usage(format!(
            "the '{}' deployer cannot plan: it does not read what its namespace holds",
            self.name()
        )))
    }
    /// The functions of `project` that run code (not sequences) as the namespace holds them,
    /// with their code and what the project recorded of them there (for `promote`). The default says the deployer cannot.
    async fn read_deployed(
        &self,
        _ctx: &DeployContext,
        _target: &Target,
        _project: &DeployStructure,
    ) -> Result<Vec<DeployedFunction>> {
        Err(Error::usage(format!(
            "the '{}' deployer cannot read deployed code back, so it cannot promote",
            self.name()
        )))
    }
    /// Removes entities. The default says the deployer cannot.
    async fn undeploy(
        &self,
        _ctx: &DeployContext,
        _target: &Target,
        _request: &UndeployRequest,
    ) -> Result<DeployResponse> {
        Err(Error::usage(format!(
            "the '{}' deployer cannot undeploy",
            self.name()
        )))
    }
}
