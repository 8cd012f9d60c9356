//! The [`Session`] of a command that reads a project: the built-in plugins, the plugin
//! libraries (home, `--plugin`, the project's `plugins:`, found with one cheap manifest read),
//! the Lua hooks, the environment and the feedback — and [`CliTargets`], the flags and
//! credential store behind the ops' [`Targets`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sluice_core::confine::Confinement;
pub use sluice_core::ops::Session;
use sluice_core::ops::environment::ENVIRONMENT_VARIABLE;
use sluice_core::ops::{ResolvedTarget, Targets};
use sluice_core::settings::{self, Environment, SETTINGS_FILE};
use sluice_core::{Engine, Feedback, Flags};

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
    read_flags: &Flags,
) -> Result<Session, CliError> {
    open_in(project, plugins, hooks, feedback, None, read_flags)
}

/// [`open`] for a run in `environment`: hooks see its name as `SLUICE_ENVIRONMENT`. The
/// `hooks` and `plugins` of the project's `sluice.toml` are loaded with project.yml's (after
/// them, before the command line's), confined to the project like every file it names.
pub fn open_in(
    project: &str,
    plugins: &PluginArgs,
    hooks: &HookArgs,
    feedback: Arc<dyn Feedback>,
    environment: Option<&Environment>,
    read_flags: &Flags,
) -> Result<Session, CliError> {
    let mut session = bare(feedback);
    let project_dir = std::path::absolute(project).map_err(CliError::other)?;
    let settings = settings::read(&project_dir).map_err(|e| op_error(&e, project))?;
    if let Some(env) = environment {
        session
            .env
            .insert(ENVIRONMENT_VARIABLE.to_string(), env.name.clone());
        if env.secrets_file.is_some() {
            session.secrets = super::secrets::load(&project_dir, env, &session.env)?;
            session.feedback = Arc::new(super::secrets::Masking {
                inner: session.feedback.clone(),
                values: super::secrets::values(&session.secrets),
            });
        }
    }
    let mut plugins = plugins.clone();
    let mut hooks = hooks.clone();
    if !settings.plugins.is_empty() || !settings.hooks.is_empty() {
        let confinement = Confinement::for_project(&project_dir, &Flags::default())
            .map_err(|e| op_error(&e, project))?;
        let settled = |entry: &str, what: &str| {
            confinement
                .check(
                    Path::new(entry),
                    &format!("the {what} '{entry}' of {SETTINGS_FILE}"),
                )
                .map_err(|e| op_error(&e, project))
        };
        for entry in &settings.plugins {
            // `NAME=PATH` names the plugin it replaces, as `--plugin` does.
            let (name, path) = match entry.split_once('=') {
                Some((name, path)) => (Some(name), path),
                None => (None, entry.as_str()),
            };
            let full = settled(path, "plugin")?.display().to_string();
            plugins.plugin.push(match name {
                Some(name) => format!("{name}={full}"),
                None => full,
            });
        }
        let mut settled_hooks = Vec::new();
        for entry in &settings.hooks {
            settled_hooks.push(if entry.starts_with("stock:") {
                PathBuf::from(entry)
            } else {
                settled(entry, "hook")?
            });
        }
        settled_hooks.append(&mut hooks.hook);
        hooks.hook = settled_hooks;
    }
    plugins.install(&mut session, Some(project), read_flags)?;
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
    /// The chosen environment's namespace, which wins over project.yml's `targetNamespace`.
    environment_namespace: Option<String>,
}

impl CliTargets {
    pub fn new(args: &TargetArgs, token: &TokenArgs, session: &Session) -> Self {
        CliTargets {
            args: args.clone(),
            access_token: token.access_token.clone(),
            env: session.env.clone(),
            key_source: KeySourceCell::default(),
            environment_namespace: None,
        }
    }

    /// These targets in `environment`: its namespace, and its API host unless `--apihost`
    /// names one.
    pub fn in_environment(mut self, environment: Option<&Environment>) -> Self {
        if let Some(env) = environment {
            self.environment_namespace = env.namespace.clone();
            if self.args.apihost.is_none() {
                self.args.apihost = env.apihost.clone();
            }
        }
        self
    }
}

impl Targets for CliTargets {
    fn resolve(&self, target_namespace: Option<&str>) -> sluice_core::Result<ResolvedTarget> {
        let chosen = self
            .environment_namespace
            .clone()
            .or_else(|| target_namespace.map(str::to_string));
        let mut options = self.args.options(chosen);
        options.access_token = self.access_token.clone();
        let resolved = connection::resolve(&options, &self.env).map_err(CliError::into_core)?;
        self.key_source
            .set(options.key_source(resolved.local, &self.env));
        Ok(resolved)
    }
}
