//! Shared-library plugins on the command line: the repeatable `--plugin [NAME=]PATH` flag that
//! commands flatten into their arguments, `sluice plugins list [project]` and
//! `sluice plugins install` (in `install`).

mod install;

use std::process::ExitCode;
use std::sync::Arc;

use serde::Serialize;
use sluice_core::ops::Session;
use sluice_core::{Flags, Origin};
use sluice_plugin_abi::LoadedPlugin;

use super::render::{CliError, StderrFeedback};

/// The `--plugin` flag, for commands that read, build or deploy a project.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PluginArgs {
    /// Load a plugin library (repeatable); `NAME=PATH` lets it replace the reader, builder or
    /// deployer called NAME. Plugins in $SLUICE_HOME/plugins/ and in project.yml `plugins:`
    /// are loaded too
    #[arg(long = "plugin", value_name = "[NAME=]PATH")]
    pub plugin: Vec<String>,
}

impl PluginArgs {
    /// Loads every plugin for `project` into the session's registry: those in
    /// `$SLUICE_HOME/plugins/`, `--plugin`, then the project's `plugins:`.
    pub fn install(
        &self,
        session: &mut Session,
        project: Option<&str>,
    ) -> Result<Vec<LoadedPlugin>, CliError> {
        let mut ctx = session.read_context(&Flags::default());
        ctx.feedback = Arc::new(StderrFeedback);
        sluice_plugin_abi::load_for_project(
            &mut session.engine.registry,
            &self.plugin,
            project,
            &ctx,
        )
        // A manifest error (project.yml's YAML) points into the project's files.
        .map_err(|e| CliError::from_core(&e, project.map(std::path::Path::new)))
    }
}

/// `--plugin` plus `--target NAME`, for `deploy`: a plugin may bring its own deployer.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DeployPluginArgs {
    #[command(flatten)]
    pub plugins: PluginArgs,
    /// Deploy with the deployer called NAME (one a plugin provides; see `sluice plugins list`)
    #[arg(long = "target", value_name = "NAME")]
    pub target: Option<String>,
}

impl DeployPluginArgs {
    /// The deployer's name (`--target`); `None` leaves the choice to the registry's default.
    pub fn deployer(&self) -> Option<String> {
        self.target.clone()
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: PluginsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum PluginsCommand {
    /// Show the readers, builders and deployers available (built-ins and plugins) and where
    /// each comes from
    List(ListArgs),
    /// Build a plugin crate (cargo, release) or take a built library, check it loads, and
    /// install it into $SLUICE_HOME/plugins/
    Install(install::InstallArgs),
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// A project whose project.yml `plugins:` should be loaded too
    project: Option<String>,
    #[command(flatten)]
    plugins: PluginArgs,
    #[command(flatten)]
    output: super::render::OutputArgs,
}

#[derive(Debug, Serialize)]
struct Listing {
    components: Vec<Component>,
    libraries: Vec<Library>,
}

#[derive(Debug, Serialize)]
struct Component {
    kind: &'static str,
    name: String,
    /// `built-in`, or the library's path.
    origin: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Library {
    name: String,
    version: String,
    api_version: String,
    abi_version: u32,
    path: String,
    /// `home`, `--plugin` or `project.yml`.
    source: String,
    provides: Vec<String>,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let list = match args.command {
        PluginsCommand::List(list) => list,
        PluginsCommand::Install(install) => return install::run(install),
    };
    let mut session = super::session::bare(Arc::new(StderrFeedback));
    let loaded = list
        .plugins
        .install(&mut session, list.project.as_deref())?;
    let registry = &session.engine.registry;
    let listing = Listing {
        components: registry
            .describe()
            .into_iter()
            .map(|(kind, name, origin)| Component {
                kind,
                name,
                origin: match origin {
                    Origin::BuiltIn => "built-in".to_string(),
                    Origin::Library(path) => path,
                },
            })
            .collect(),
        libraries: loaded
            .into_iter()
            .map(|l| Library {
                provides: [
                    ("reader", &l.reader),
                    ("builder", &l.builder),
                    ("deployer", &l.deployer),
                ]
                .into_iter()
                .filter_map(|(kind, name)| name.as_ref().map(|n| format!("{kind} {n}")))
                .collect(),
                name: l.name,
                version: l.version,
                api_version: l.api_version,
                abi_version: l.abi_version,
                path: l.path.display().to_string(),
                source: l.source.to_string(),
            })
            .collect(),
    };
    if list.output.json() {
        println!(
            "{}",
            serde_json::to_string_pretty(&listing).map_err(CliError::other)?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let width = listing
        .components
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    for c in &listing.components {
        println!("{:<8}  {:<width$}  {}", c.kind, c.name, c.origin);
    }
    if listing.libraries.is_empty() {
        println!("\nNo plugin libraries loaded.");
    } else {
        println!("\nPlugin libraries:");
        for l in &listing.libraries {
            println!(
                "  {} {} (plugin API {}, ABI {}) from {}: {}\n    provides {}",
                l.name,
                l.version,
                l.api_version,
                l.abi_version,
                l.source,
                l.path,
                l.provides.join(", ")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
