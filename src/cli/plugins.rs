//! Shared-library plugins on the command line: the repeatable `--plugin [NAME=]PATH` flag that
//! commands flatten into their arguments (with `--trust-project-plugins`),
//! `sluice plugins list [project]`, `sluice plugins install` (in `install`) and
//! `sluice plugins trust` (in `trust`).

mod install;
mod trust;

use std::process::ExitCode;
use std::sync::Arc;

use serde::Serialize;
use sluice_core::ops::Session;
use sluice_core::{Flags, Origin};
use sluice_plugin_abi::{LoadedPlugin, PluginSource, ProjectTrust, RefusedPlugin};

use super::render::{CliError, StderrFeedback};

/// The `--plugin` flag, for commands that read, build or deploy a project.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PluginArgs {
    /// Load a plugin library (repeatable); `NAME=PATH` lets it replace the reader, builder or
    /// deployer called NAME. Plugins in $SLUICE_HOME/plugins/ and in project.yml `plugins:`
    /// are loaded too
    #[arg(long = "plugin", value_name = "[NAME=]PATH")]
    pub plugin: Vec<String>,
    /// Load the project's own plugin libraries (project.yml `plugins:`) without a trust
    /// record, for CI; otherwise each must be trusted first with `sluice plugins trust`
    #[arg(long, env = "SLUICE_TRUST_PROJECT_PLUGINS")]
    pub trust_project_plugins: bool,
}

impl PluginArgs {
    /// How this run trusts project libraries.
    pub fn trust(&self) -> ProjectTrust {
        if self.trust_project_plugins {
            ProjectTrust::Everything
        } else {
            ProjectTrust::Recorded(super::setup::home_dir())
        }
    }

    /// Loads every plugin for `project` into the session's registry: those in
    /// `$SLUICE_HOME/plugins/`, `--plugin`, then the project's `plugins:` (read with
    /// `read_flags`).
    pub fn install(
        &self,
        session: &mut Session,
        project: Option<&str>,
        read_flags: &Flags,
    ) -> Result<Vec<LoadedPlugin>, CliError> {
        // The run's own flags: `plugins:` may use `${VAR}` from `--env` or `${<file}` from a
        // directory `--allow-outside` allows, as the real read does.
        let mut ctx = session.read_context(read_flags);
        ctx.feedback = Arc::new(StderrFeedback);
        sluice_plugin_abi::load_for_project(
            &mut session.engine.registry,
            &self.plugin,
            project,
            &ctx,
            &self.trust(),
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
    /// Trust a project's plugin library (its SHA-256 is recorded in $SLUICE_HOME), so that
    /// project.yml `plugins:` may load it; a changed library must be trusted again
    ///
    /// With --json: `{"trusted": [{"path", "sha256"}], "store": PATH}`, each path canonical.
    Trust(trust::TrustArgs),
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
    /// Project libraries that were not loaded because they are not trusted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    untrusted: Vec<Untrusted>,
}

#[derive(Debug, Serialize)]
struct Untrusted {
    path: String,
    reason: String,
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
    /// Why it may be loaded: `home` and `--plugin` by where they come from, a project's
    /// libraries by a trust record or `--trust-project-plugins`.
    trusted: &'static str,
    provides: Vec<String>,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let list = match args.command {
        PluginsCommand::List(list) => list,
        PluginsCommand::Install(install) => return install::run(install),
        PluginsCommand::Trust(trust) => return trust::run(trust),
    };
    let mut session = super::session::bare(Arc::new(StderrFeedback));
    let mut ctx = session.read_context(&Flags::default());
    ctx.feedback = Arc::new(StderrFeedback);
    let project = list.project.as_deref();
    let trust = list.plugins.trust();
    let (loaded, refused): (Vec<LoadedPlugin>, Vec<RefusedPlugin>) =
        sluice_plugin_abi::load_for_project_listing(
            &mut session.engine.registry,
            &list.plugins.plugin,
            project,
            &ctx,
            &trust,
        )
        .map_err(|e| CliError::from_core(&e, project.map(std::path::Path::new)))?;
    let trusted_by = |source: PluginSource| match (source, &trust) {
        (PluginSource::Home, _) => "home",
        (PluginSource::CommandLine, _) => "--plugin",
        (PluginSource::Project, ProjectTrust::Everything) => "--trust-project-plugins",
        (PluginSource::Project, ProjectTrust::Recorded(_)) => "trust record",
    };
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
                trusted: trusted_by(l.source),
            })
            .collect(),
        untrusted: refused
            .into_iter()
            .map(|r| Untrusted {
                path: r.path.display().to_string(),
                reason: r.reason,
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
                "  {} {} (plugin API {}, ABI {}) from {}: {}\n    provides {}\n    trusted by {}",
                l.name,
                l.version,
                l.api_version,
                l.abi_version,
                l.source,
                l.path,
                l.provides.join(", "),
                l.trusted
            );
        }
    }
    if !listing.untrusted.is_empty() {
        println!("\nNot loaded (not trusted):");
        for u in &listing.untrusted {
            println!(
                "  {}\n    trust it with: sluice plugins trust {}",
                u.path, u.path
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
