//! What every op of one run shares: the engine (registry and hooks), a snapshot of the
//! environment, sluice's home, the system exclusion list and the feedback sink — set up once
//! per command, so no command assembles contexts by hand.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::Engine;
use crate::error::Result;
use crate::feedback::Feedback;
use crate::model::{Credentials, DeployStructure, Flags};
use crate::plugin::{BuildContext, DeployContext, ProjectManifest, ReadContext};
use crate::runtimes::RuntimeTable;
use crate::system_ignore::SystemIgnore;

/// The credentials of the namespace a run talks to, and what keeps it served.
pub struct ResolvedTarget {
    pub credentials: Credentials,
    /// True for the embedded local namespace.
    pub local: bool,
    /// Keeps whatever serves the target (an embedded server) alive while the run needs it.
    pub guard: Option<Box<dyn std::any::Any>>,
}

impl std::fmt::Debug for ResolvedTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedTarget")
            .field("credentials", &self.credentials)
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

/// Where credentials come from: the caller's flags and credential store, or the embedded
/// namespace. The CLI supplies it; tests may supply their own.
pub trait Targets {
    /// The namespace that `target_namespace` (project.yml's `targetNamespace`) names, or the
    /// default one when `None`.
    fn resolve(&self, target_namespace: Option<&str>) -> Result<ResolvedTarget>;
}

/// The plugins, hooks and surroundings of one run.
pub struct Session {
    pub engine: Engine,
    /// The process environment (a snapshot, so tests can supply their own).
    pub env: BTreeMap<String, String>,
    /// sluice's home directory (credentials, `.exclude`, installed plugins).
    pub home: Option<PathBuf>,
    /// The system exclusion list, with the user's `.exclude` from the home directory.
    pub system_ignore: SystemIgnore,
    pub feedback: Arc<dyn Feedback>,
    /// The chosen environment's decrypted secrets: `${secret:NAME}` in the project, and the
    /// environment of every function at deploy (see [`super::environment::apply_secrets`]).
    pub secrets: BTreeMap<String, String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("engine", &self.engine)
            .field("home", &self.home)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session over `engine`. The user's exclusion file is read now; its bad patterns are
    /// reported as warnings.
    pub fn new(
        engine: Engine,
        env: BTreeMap<String, String>,
        home: Option<PathBuf>,
        feedback: Arc<dyn Feedback>,
    ) -> Self {
        let (system_ignore, bad_patterns) = SystemIgnore::with_user_file(home.as_deref());
        for warning in bad_patterns {
            feedback.warn(&warning);
        }
        Session {
            engine,
            env,
            home,
            system_ignore,
            feedback,
            secrets: BTreeMap::new(),
        }
    }

    /// The context a reader gets for a run with these flags.
    pub fn read_context(&self, flags: &Flags) -> ReadContext {
        let mut ctx = ReadContext::new(flags.clone());
        ctx.env = self.env.clone();
        ctx.system_ignore = self.system_ignore.clone();
        ctx.home = self.home.clone();
        ctx.feedback = self.feedback.clone();
        ctx.secrets = self.secrets.clone();
        ctx
    }

    /// The project's plugins and hooks, from the reader that claims `location`, read cheaply
    /// before the plugins are loaded (one of them may bring the reader that reads it in full).
    pub fn manifest(&self, location: &str) -> Result<ProjectManifest> {
        let reader = self.engine.registry.reader_for(location)?;
        reader.manifest(location, &self.read_context(&Flags::default()))
    }

    /// Reads `location` (reader, planning, `read:after` hooks) with `runtimes` as the table.
    pub fn read(
        &self,
        location: &str,
        flags: &Flags,
        runtimes: &RuntimeTable,
    ) -> Result<DeployStructure> {
        let mut ctx = self.read_context(flags);
        ctx.runtimes = runtimes.clone();
        self.engine.read(location, &ctx)
    }

    /// The context the builders get for `project`, read from `project_dir`; `name` is how
    /// messages show the project when it has no deployer annotation.
    pub fn build_context(
        &self,
        project_dir: &Path,
        name: &str,
        flags: &Flags,
        project: &DeployStructure,
        runtimes: &RuntimeTable,
    ) -> BuildContext {
        let mut ctx = BuildContext::new(project_dir, flags.clone());
        ctx.build_env = project.build_env.clone().unwrap_or_default();
        ctx.runtimes = runtimes.clone();
        ctx.system_ignore = self.system_ignore.clone();
        ctx.feedback = self.feedback.clone();
        ctx.best_project_name = project
            .deployer_annotation
            .as_ref()
            .map(|a| a.best_project_name())
            .unwrap_or_else(|| name.to_string());
        ctx
    }

    /// The context a deployer gets for `target`.
    pub fn deploy_context(
        &self,
        flags: &Flags,
        target: &ResolvedTarget,
        project_dir: Option<&Path>,
        runtimes: &RuntimeTable,
    ) -> DeployContext {
        let mut ctx = DeployContext::new(flags.clone(), Some(target.credentials.clone()));
        ctx.project_dir = project_dir.map(Path::to_path_buf);
        ctx.local = target.local;
        ctx.runtimes = runtimes.clone();
        ctx.feedback = self.feedback.clone();
        ctx
    }
}

/// The read's outcome must be complete before building or deploying: unresolved variables
/// are an error there (get-metadata prints them instead).
pub(crate) fn require_resolved(project: &DeployStructure) -> Result<()> {
    match project
        .unresolved_variables
        .as_ref()
        .filter(|n| !n.is_empty())
    {
        Some(names) => Err(crate::error::Error::Unresolved {
            names: names.clone(),
        }),
        None => Ok(()),
    }
}
