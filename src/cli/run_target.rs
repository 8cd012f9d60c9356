//! The target of a run-time command (`invoke`, `functions`, `activations`, `triggers`): the
//! connection flags plus `-e/--environment`, so `sluice invoke -e stage hello` runs the
//! function in the namespace `sluice deploy -e stage` deployed it to. The environment is one
//! of the `sluice.toml` in the current directory, chosen as a deploy chooses it (by name, or
//! by the git branch's patterns); `--apihost`/`--auth` still win over it.

use super::connection::{self, Connection, TargetArgs, TargetOptions};
use super::env::EnvironmentArg;
use super::render::CliError;

#[derive(Debug, clap::Args)]
pub struct RunTargetArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub environment: EnvironmentArg,
}

impl RunTargetArgs {
    /// The target options: the environment's namespace (and API host, unless `--apihost`).
    pub fn options(&self) -> Result<TargetOptions, CliError> {
        let environment = if self.target.auth.is_some() {
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
        if let Some(env) = environment
            && let sluice_core::settings::ChosenBy::Branch(_) = env.chosen_by
        {
            // Chosen without being named: say so, or a user on a feature branch would not
            // know why `invoke` answers from another namespace than the current one.
            eprintln!("Using {}", env.describe());
        }
        Ok(options)
    }

    /// Resolves the target and opens a client on it.
    pub fn connect(&self) -> Result<Connection, CliError> {
        connection::connect_with(&self.options()?)
    }
}
