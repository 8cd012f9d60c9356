//! The [`Session`] of a command that reads a project: the built-in plugins, the plugin
//! libraries (home, `--plugin`, the project's `plugins:`, found with one cheap manifest read),
//! the Lua hooks, the environment and the feedback — and [`CliTargets`], the flags and
//! credential store behind the ops' [`Targets`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

pub use sluice_core::ops::Session;
use sluice_core::ops::{ResolvedTarget, Targets};
use sluice_core::{Engine, Feedback};

use super::connection::{self, KeySourceCell, TargetArgs, TokenArgs};
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
    access_token: Option<String>,
    env: BTreeMap<String, String>,
    /// Where the resolved target's key came from, to explain a refused key.
    pub key_source: KeySourceCell,
}

impl CliTargets {
    pub fn new(args: &TargetArgs, token: &TokenArgs, session: &Session) -> Self {
        CliTargets {
            args: args.clone(),
            access_token: token.access_token.clone(),
            env: session.env.clone(),
            key_source: KeySourceCell::default(),
        }
    }
}

impl Targets for CliTargets {
    fn resolve(&self, target_namespace: Option<&str>) -> sluice_core::Result<ResolvedTarget> {
        let mut options = self.args.options(target_namespace.map(str::to_string));
        options.access_token = self.access_token.clone();
        let resolved = connection::resolve(&options, &self.env).map_err(CliError::into_core)?;
        self.key_source
            .set(options.key_source(resolved.local, &self.env));
        Ok(resolved)
    }
}
