//! Lua hooks: let a project change how it is read, built and deployed with a few lines of Lua
//! kept with the project (`hooks:` in project.yml, `--hook FILE` on the command line).
//!
//! [`LuaHooks`] implements [`sluice_core::Hooks`]. Why it is built this way:
//! - **One Lua state per run, on its own thread.** A Lua state is single-threaded, but the
//!   engine calls hooks from several build threads; every [`Hooks`] method sends a request
//!   over a channel to the hooks thread and waits for its answer. Handlers of one event run in
//!   registration order, one call at a time.
//! - **Data in, data out** (xplr's rule). The model crosses as plain tables through serde, so a
//!   handler sees the same shape as `sluice get-metadata` prints, and returns data that the
//!   Rust side validates and applies; a bad return value is an error naming the handler.
//! - **A sandbox.** No `io`, no `debug`, no C modules, `os` cut down to clocks and dates; the
//!   `sluice` module ([`module`]) is the only way out (files inside the project, processes,
//!   the namespace). A memory limit and an instruction budget per handler call stop runaway
//!   scripts with an error instead of a hung deploy.
//! - **Errors name the file, the line and the event** ([`sluice_core::Error::Hook`]).
//!
//! This crate must not print (log lines go through [`Feedback`]) and does not know about
//! the CLI or any plugin: `sluice.invoke` goes through the [`Invoker`] the caller supplies.

mod confine;
mod error;
mod event;
mod module;
mod sandbox;
pub mod stock;
mod vm;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use serde::Serialize;
use sluice_core::hooks::{BuildDecision, Hooks};
use sluice_core::{
    ActionSpec, Artifact, DeployResponse, DeployStructure, Error, Feedback, Plan, Result, Silent,
    Target,
};

pub use event::Event;
pub use module::{Invocation, Invoker};
pub use sandbox::Limits;

use vm::{Call, ErrorReport, Reply, Request};

/// What hooks may use from the host.
#[derive(Clone)]
#[non_exhaustive]
pub struct HookEnv {
    /// The namespace the run deploys to, when known before `deploy:before` (which sets it).
    pub target: Option<Target>,
    /// How `sluice.invoke` reaches functions; without one it raises an error.
    pub invoker: Option<Arc<dyn Invoker>>,
    /// Where `sluice.log` and `print` go.
    pub feedback: Arc<dyn Feedback>,
    /// What `sluice.env(name)` sees (a snapshot, so tests can supply their own).
    pub env: BTreeMap<String, String>,
    pub limits: Limits,
}

impl std::fmt::Debug for HookEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookEnv")
            .field("target", &self.target)
            .field("invoker", &self.invoker.is_some())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Default for HookEnv {
    fn default() -> Self {
        HookEnv::new(Arc::new(Silent))
    }
}

impl HookEnv {
    /// No target, no invoker, an empty environment, default limits.
    pub fn new(feedback: Arc<dyn Feedback>) -> Self {
        HookEnv {
            target: None,
            invoker: None,
            feedback,
            env: BTreeMap::new(),
            limits: Limits::default(),
        }
    }
}

/// One handler as `sluice hooks list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandlerInfo {
    /// The hook file (project-relative, `stock:NAME`, or as given on the command line).
    pub file: String,
    /// Where the handler function is defined.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

/// The handlers of one event, in the order they run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventHandlers {
    pub event: String,
    pub handlers: Vec<HandlerInfo>,
}

/// Lua hooks for one run. Dropping it stops the hooks thread.
pub struct LuaHooks {
    tx: Option<mpsc::Sender<Request>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for LuaHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LuaHooks").finish_non_exhaustive()
    }
}

impl LuaHooks {
    /// Loads the project's hook files (`hooks:` entries, relative to `project_dir` and confined
    /// to it), then `cli_files` (`--hook`), running each file's top level now. An error names
    /// the file and line; the event is `load`.
    pub fn load(
        project_dir: impl Into<PathBuf>,
        project_files: &[String],
        cli_files: &[PathBuf],
        env: HookEnv,
    ) -> Result<LuaHooks> {
        Self::start(
            project_dir.into(),
            Some(project_files.to_vec()),
            cli_files,
            env,
        )
    }

    /// Like [`LuaHooks::load`], but the project's hook files are taken from the `hooks:` of the
    /// project that `read:after` receives, so hooks can be installed on the engine before the
    /// project is read. The files load at the first event (with `cli_files` after them).
    pub fn for_project(
        project_dir: impl Into<PathBuf>,
        cli_files: &[PathBuf],
        env: HookEnv,
    ) -> Result<LuaHooks> {
        Self::start(project_dir.into(), None, cli_files, env)
    }

    fn start(
        project_dir: PathBuf,
        project_files: Option<Vec<String>>,
        cli_files: &[PathBuf],
        env: HookEnv,
    ) -> Result<LuaHooks> {
        let init = vm::Init {
            project_dir: absolute(&project_dir),
            project_files,
            cli_files: cli_files.to_vec(),
            target: env.target,
            invoker: env.invoker,
            feedback: env.feedback,
            env: env.env,
            limits: env.limits,
        };
        let (tx, thread) = vm::spawn(init)?;
        Ok(LuaHooks {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    fn ask(&self, call: Call) -> Result<Reply> {
        let (reply, answer) = mpsc::sync_channel(1);
        let stopped = || vm::thread_error("the hooks thread has stopped");
        self.tx
            .as_ref()
            .ok_or_else(stopped)?
            .send(Request { call, reply })
            .map_err(|_| stopped())?;
        answer.recv().map_err(|_| stopped())?
    }

    /// Every event with the handlers registered for it, in order (loading pending files).
    pub fn listing(&self) -> Result<Vec<EventHandlers>> {
        match self.ask(Call::Listing)? {
            Reply::Listing(l) => Ok(l),
            _ => Err(unexpected()),
        }
    }

    /// Tells hooks the target before `deploy:before` does (for `sluice.target` and
    /// `sluice.invoke` in earlier events).
    pub fn set_target(&self, target: &Target) -> Result<()> {
        self.ask(Call::SetTarget(target.clone())).map(|_| ())
    }
}

fn unexpected() -> Error {
    vm::thread_error("the hooks thread gave an unexpected answer")
}

fn absolute(dir: &Path) -> PathBuf {
    if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|c| c.join(dir))
            .unwrap_or_else(|_| dir.to_path_buf())
    }
}

impl Drop for LuaHooks {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Hooks for LuaHooks {
    fn read_after(&self, project: DeployStructure) -> Result<DeployStructure> {
        match self.ask(Call::ReadAfter(project))? {
            Reply::Project(p) => Ok(*p),
            _ => Err(unexpected()),
        }
    }

    fn build_before(&self, package: &str, action: &ActionSpec) -> Result<BuildDecision> {
        let call = Call::BuildBefore {
            package: package.to_string(),
            action: action.clone(),
        };
        match self.ask(call)? {
            Reply::Decision(d) => Ok(d),
            _ => Err(unexpected()),
        }
    }

    fn build_after(
        &self,
        package: &str,
        action: &ActionSpec,
        artifact: Artifact,
    ) -> Result<Artifact> {
        let call = Call::BuildAfter {
            package: package.to_string(),
            action: action.clone(),
            artifact,
        };
        match self.ask(call)? {
            Reply::Artifact(a) => Ok(a),
            _ => Err(unexpected()),
        }
    }

    fn deploy_before(&self, project: DeployStructure, target: &Target) -> Result<DeployStructure> {
        let call = Call::DeployBefore {
            project,
            target: target.clone(),
        };
        match self.ask(call)? {
            Reply::Project(p) => Ok(*p),
            _ => Err(unexpected()),
        }
    }

    fn deploy_after(&self, response: &DeployResponse, target: &Target) -> Result<()> {
        let call = Call::DeployAfter {
            response: response.clone(),
            target: target.clone(),
        };
        self.ask(call).map(|_| ())
    }

    fn plan_after(&self, plan: &Plan, target: &Target) -> Result<()> {
        let call = Call::PlanAfter {
            plan: Box::new(plan.clone()),
            target: target.clone(),
        };
        self.ask(call).map(|_| ())
    }

    fn watch_change(
        &self,
        paths: &[String],
        project_hook_files: &[String],
    ) -> Result<Option<Vec<String>>> {
        let call = Call::WatchChange {
            paths: paths.to_vec(),
            project_hooks: project_hook_files.to_vec(),
        };
        match self.ask(call)? {
            Reply::Paths(p) => Ok(p),
            _ => Err(unexpected()),
        }
    }

    fn wants_plan(&self) -> bool {
        self.listing().is_ok_and(|all| {
            all.iter()
                .any(|e| e.event == Event::PlanAfter.name() && !e.handlers.is_empty())
        })
    }

    fn on_error(&self, error: &Error) {
        let report = ErrorReport {
            message: error.to_string(),
            file: error.file(),
            line: error.line(),
            help: error.help(),
        };
        let _ = self.ask(Call::Error(report));
    }
}
