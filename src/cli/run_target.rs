//! The target of a run-time command (`invoke`, `functions`, `activations`, `triggers`): the
//! connection flags plus `-e/--environment`, so `sluice invoke -e stage hello` runs the
//! function in the namespace `sluice deploy -e stage` deployed it to. The environment is one
//! of the `sluice.toml` in the current directory, and only a named one (`-e` or
//! `SLUICE_ENVIRONMENT`): branch patterns choose where a *project* deploys, while a run-time
//! command without `-e` acts on the current namespace, as doctl's and wsk's do, so that
//! `sluice namespace use stage && sluice invoke …` means stage on any branch.
//! `--apihost`/`--auth` still win over the environment.

use super::connection::{self, Connection, TargetArgs, TargetOptions};
use super::env::EnvironmentArg;
use super::render::CliError;

#[derive(Debug, clap::Args)]
#[command(mut_arg("environment", |a| a.help(
    "Act on the namespace of this environment of ./sluice.toml (as `deploy -e NAME`); without it, the current namespace"
)))]
pub struct RunTargetArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub environment: EnvironmentArg,
}

impl RunTargetArgs {
    /// The target options: the environment's namespace (and API host, unless `--apihost`).
    pub fn options(&self) -> Result<TargetOptions, CliError> {
        let environment = if self.target.auth.is_some() || self.environment.name.is_none() {
            // A key on the command line names its namespace itself.
            None
        } else {
            self.environment.choose(".")?
        };
        let mut options = self
            .target
            .options(environment.and_then(|e| e.namespace.clone()));
        if options.apihost.is_none() {
            options.apihost = environment.and_then(|e| e.apihost.clone());
        }
        Ok(options)
    }

    /// Resolves the target and opens a client on it.
    pub fn connect(&self) -> Result<Connection, CliError> {
        connection::connect_with(&self.options()?)
    }
}
