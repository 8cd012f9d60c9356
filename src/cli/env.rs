//! The environment a command runs in: `-e/--environment NAME` (or `SLUICE_ENVIRONMENT`),
//! else the environment of `sluice.toml` whose branch patterns match the project's git
//! branch, else none. Chosen once per command ([`EnvironmentArg::choose`]) and kept, so the
//! flags, the target and the hooks all see the same choice.

use std::path::Path;
use std::sync::OnceLock;

use sluice_core::settings::{self, Environment};

use super::render::CliError;

/// `-e/--environment`, for every command that reads a project.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct EnvironmentArg {
    /// Deploy to this environment of sluice.toml (its namespace, env files and protection);
    /// without it, the git branch picks one by the environments' branch patterns
    #[arg(short = 'e', long = "environment", value_name = "NAME", env = "SLUICE_ENVIRONMENT")]
    pub name: Option<String>,
    #[arg(skip)]
    chosen: OnceLock<Option<Environment>>,
}

impl EnvironmentArg {
    /// The environment of the project at `project`, chosen on the first call.
    pub fn choose(&self, project: &str) -> Result<Option<&Environment>, CliError> {
        if let Some(chosen) = self.chosen.get() {
            return Ok(chosen.as_ref());
        }
        let chosen = choose(project, self.name.as_deref())?;
        Ok(self.chosen.get_or_init(|| chosen).as_ref())
    }
}

/// Picks the environment of the project at `project` (see the module header).
pub fn choose(project: &str, named: Option<&str>) -> Result<Option<Environment>, CliError> {
    let dir = Path::new(project);
    let settings = settings::read(dir).map_err(|e| CliError::from_core(&e, Some(dir)))?;
    // The branch is only asked for when something needs it.
    let needs_branch = settings
        .environments
        .values()
        .any(|e| !e.branches.is_empty() || e.namespace.as_deref().is_some_and(|n| n.contains("{branch}")));
    let branch = if needs_branch {
        settings::current_branch(dir)
    } else {
        None
    };
    settings::select(&settings, dir, named, branch.as_deref())
        .map_err(|e| CliError::from_core(&e, Some(dir)))
}
