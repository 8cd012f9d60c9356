//! The environment a command runs in: `-e/--environment NAME` (or `SLUICE_ENVIRONMENT`),
//! else the environment of `sluice.toml` whose branch patterns match the project's git
//! branch, else none. Chosen once per command ([`EnvironmentArg::choose`]) and kept, so the
//! flags, the target and the hooks all see the same choice. Also `sluice env list|current`,
//! which show the project's environments and the one a deploy would use.

use std::path::Path;
use std::process::ExitCode;
use std::sync::OnceLock;

use serde::Serialize;
use sluice_core::settings::{self, ChosenBy, Environment};

use super::env_lifecycle;
use super::render::{CliError, OutputArgs, print_json};
use super::table::Table;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: EnvCommand,
}

#[derive(Debug, clap::Subcommand)]
enum EnvCommand {
    /// List the environments of the project's sluice.toml (the one a deploy would use is marked with *)
    List {
        /// The project directory
        #[arg(default_value = ".")]
        project: String,
        #[command(flatten)]
        environment: EnvironmentArg,
        /// JSON: name, namespace, branches, protected, env files, current
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Print the environment a deploy of the project would use, and why
    Current {
        /// The project directory
        #[arg(default_value = ".")]
        project: String,
        #[command(flatten)]
        environment: EnvironmentArg,
        /// JSON: name, chosenBy, branch, namespace, protected, env files (null for none)
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Create the environment's namespace (DigitalOcean's, or the local server's) and connect it
    Create(env_lifecycle::CreateArgs),
    /// Undeploy everything from the environment's namespace (triggers included) and delete it
    Delete(env_lifecycle::DeleteArgs),
    /// List the releases promoted into an environment (.deployed/releases.jsonl)
    History(super::env_history::Args),
}

/// One environment as `env list --json` prints it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Listed {
    name: String,
    namespace: Option<String>,
    apihost: Option<String>,
    branches: Vec<String>,
    env: Option<String>,
    build_env: Option<String>,
    secrets: Option<String>,
    protected: bool,
    current: bool,
}

/// The chosen environment as `env current --json` prints it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Current<'a> {
    name: &'a str,
    /// `name` (-e or SLUICE_ENVIRONMENT) or `branch`.
    chosen_by: &'static str,
    branch: Option<&'a str>,
    namespace: Option<&'a str>,
    protected: bool,
    env: Option<String>,
    build_env: Option<String>,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    match args.command {
        EnvCommand::Create(args) => env_lifecycle::create(args),
        EnvCommand::Delete(args) => env_lifecycle::delete(args),
        EnvCommand::History(args) => super::env_history::run(args),
        EnvCommand::List {
            project,
            environment,
            output,
        } => {
            let dir = Path::new(&project);
            let all = settings::read(dir).map_err(|e| CliError::from_core(&e, Some(dir)))?;
            let current = environment.choose(&project)?.map(|e| e.name.clone());
            let listed: Vec<Listed> = all
                .environments
                .iter()
                .map(|(name, e)| Listed {
                    name: name.clone(),
                    namespace: e.namespace.clone(),
                    apihost: e.apihost.clone(),
                    branches: e.branches.clone(),
                    env: e.env.clone(),
                    build_env: e.build_env.clone(),
                    secrets: e.secrets.clone(),
                    protected: e.protected,
                    current: current.as_deref() == Some(name.as_str()),
                })
                .collect();
            if output.json() {
                return print_json(&listed).map(|()| ExitCode::SUCCESS);
            }
            if listed.is_empty() {
                println!(
                    "The project has no environments: add [environments.<name>] tables to {}",
                    settings::SETTINGS_FILE
                );
                return Ok(ExitCode::SUCCESS);
            }
            let mut table = Table::new(&["", "ENVIRONMENT", "NAMESPACE", "BRANCHES", "PROTECTED"]);
            for e in &listed {
                table.row([
                    if e.current { "*" } else { "" }.to_string(),
                    e.name.clone(),
                    e.namespace
                        .clone()
                        .unwrap_or_else(|| "(current)".to_string()),
                    e.branches.join(", "),
                    if e.protected { "yes" } else { "" }.to_string(),
                ]);
            }
            table.print();
            Ok(ExitCode::SUCCESS)
        }
        EnvCommand::Current {
            project,
            environment,
            output,
        } => {
            let dir = std::path::absolute(&project).map_err(CliError::other)?;
            let chosen = environment.choose(&project)?;
            let shown = |p: &Option<std::path::PathBuf>| {
                p.as_ref()
                    .map(|p| p.strip_prefix(&dir).unwrap_or(p).display().to_string())
            };
            let current = chosen.map(|e| Current {
                name: &e.name,
                chosen_by: match e.chosen_by {
                    ChosenBy::Named => "name",
                    ChosenBy::Branch(_) => "branch",
                },
                branch: match &e.chosen_by {
                    ChosenBy::Branch(b) => Some(b.as_str()),
                    ChosenBy::Named => None,
                },
                namespace: e.namespace.as_deref(),
                protected: e.protected,
                env: shown(&e.env_file),
                build_env: shown(&e.build_env_file),
            });
            if output.json() {
                return print_json(&current).map(|()| ExitCode::SUCCESS);
            }
            match (chosen, current) {
                (Some(e), Some(c)) => {
                    println!("{}", e.describe());
                    println!(
                        "  namespace: {}",
                        c.namespace.unwrap_or("(the current namespace)")
                    );
                    if let Some(env) = &c.env {
                        println!("  env file: {env}");
                    }
                    if let Some(env) = &c.build_env {
                        println!("  build-env file: {env}");
                    }
                    if c.protected {
                        println!("  protected: deploys need --force");
                    }
                }
                _ => println!(
                    "No environment: pass -e NAME, set SLUICE_ENVIRONMENT, or give an environment of {} branch patterns that match the git branch",
                    settings::SETTINGS_FILE
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `-e/--environment`, for every command that reads a project.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct EnvironmentArg {
    /// Deploy to this environment of sluice.toml (its namespace, env files and protection);
    /// without it, the git branch picks one by the environments' branch patterns
    #[arg(
        id = "environment",
        short = 'e',
        long = "environment",
        value_name = "NAME",
        env = "SLUICE_ENVIRONMENT"
    )]
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
    // Absolute, so the environment's files do not depend on the working directory.
    let dir = &std::path::absolute(project).map_err(CliError::other)?;
    let settings = settings::read(dir).map_err(|e| CliError::from_core(&e, Some(dir)))?;
    // The branch is only asked for when something needs it.
    let needs_branch = settings.environments.values().any(|e| {
        !e.branches.is_empty()
            || e.namespace
                .as_deref()
                .is_some_and(|n| n.contains("{branch}"))
    });
    let branch = if needs_branch {
        settings::current_branch(dir)
    } else {
        None
    };
    settings::select(&settings, dir, named, branch.as_deref())
        .map_err(|e| CliError::from_core(&e, Some(dir)))
}
