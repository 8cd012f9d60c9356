//! The [`Session`] of a command that reads a project: the built-in plugins, the plugin
//! libraries (home, `--plugin`, the project's `plugins:`, found with one cheap manifest read),
//! the Lua hooks, the environment and the feedback — and [`CliTargets`], the flags and
//! credential store behind the ops' [`Targets`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use sluice_core::ops::{ResolvedTarget, Session, Targets};
use sluice_core::{Engine, Feedback};

use super::connection::{self, TargetArgs};
use super::hooks::HookArgs;
use super::plugins::PluginArgs;
use super::render::CliError;
use super::setup;

/// A session for `project` with its plugins loaded and its hooks installed.
pub fn open(
    project: &str,
    plugins: &PluginArgs,
    hooks: &HookArgs,
    feedback: Arc<dyn Feedback>,
) -> Result<Session, CliError> {
    let mut session = bare(feedback);
    plugins.install(&mut session, Some(project))?;
    let project_dir = std::path::absolute(project).map_err(CliError::other)?;
    hooks.install(&mut session, &project_dir)?;
    Ok(session)
}

/// A session with the built-in plugins only, no hooks.
pub fn bare(feedback: Arc<dyn Feedback>) -> Session {
    Session::new(
        Engine::new(setup::builtin_registry()),
        setup::env_snapshot(),
        setup::home_dir(),
        feedback,
    )
}

/// Renders an op's error, pointing into the project's files where it names one.
pub fn op_error(e: &sluice_core::Error, project: &str) -> CliError {
    CliError::from_core(e, Some(Path::new(project)))
}

/// The target flags and the credential store, as the ops see them.
#[derive(Debug)]
pub struct CliTargets {
    args: TargetArgs,
    env: BTreeMap<String, String>,
}

impl CliTargets {
    pub fn new(args: &TargetArgs, session: &Session) -> Self {
        CliTargets {
            args: args.clone(),
            env: session.env.clone(),
        }
    }
}

impl Targets for CliTargets {
    fn resolve(&self, target_namespace: Option<&str>) -> sluice_core::Result<ResolvedTarget> {
        let options = self.args.options(target_namespace.map(str::to_string));
        connection::resolve(&options, &self.env).map_err(CliError::into_core)
    }
}
