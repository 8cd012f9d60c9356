//! Command definitions and dispatch. One module per command; shared rendering in `render`,
//! shared setup (registry, environment, home) in `setup`.

mod account;
mod activation_reads;
mod activations;
mod build;
mod build_limits;
mod build_output;
mod completions;
mod confirm;
mod connection;
mod deploy;
mod deploy_output;
mod doctl;
mod env;
mod env_history;
mod env_lifecycle;
mod functions;
mod get_metadata;
mod hooks;
mod init;
mod invoke;
mod local;
mod man;
mod namespace;
mod params;
mod plan;
mod plan_output;
mod plugins;
mod progress;
mod promote;
mod render;
mod run_target;
mod secrets;
mod serve;
mod session;
mod setup;
mod slice;
mod table;
mod time;
mod triggers;
mod undeploy;
mod version;
mod watch;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use render::CliError;

/// A fast, extensible deployer for serverless function projects.
///
/// sluice reads DigitalOcean Functions / Apache OpenWhisk projects (project.yml, packages/,
/// lib/), builds each function and deploys it to an OpenWhisk-compatible namespace, or to an
/// embedded local namespace when none is configured.
#[derive(Debug, Parser)]
#[command(
    name = "sluice",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read the records of function runs: list, get, logs, result
    Activations(activations::Args),
    /// Build every function of a project (and lib/) without deploying; print the artifacts
    Build(build::Args),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    Completions(completions::Args),
    /// Connect a namespace of the account by label or id (or check a key with --apihost and --auth, as `namespace add`)
    Connect(namespace::ConnectArgs),
    /// Read, build and deploy a project to a namespace
    Deploy(deploy::Args),
    /// Show the project's environments (sluice.toml), and create or delete their namespaces
    Env(env::Args),
    /// List and read deployed functions
    Functions(functions::Args),
    /// Print a project's structure as JSON, as the deployer sees it
    GetMetadata(get_metadata::Args),
    /// Show the project's Lua hooks: every event and the handlers that run for it
    Hooks(hooks::Args),
    /// Create a project with one sample function (node, python or go) that deploys at once
    Init(init::Args),
    /// Run a function and print its result
    Invoke(invoke::Args),
    /// The local namespace's background server: status, stop, logs, namespaces
    Local(local::Args),
    /// Print the manual page, or write one page per command into a directory
    Man(man::Args),
    /// Manage stored namespaces (credentials)
    #[command(visible_alias = "namespaces")]
    Namespace(namespace::Args),
    /// Show what a deploy would change in the namespace, without changing it
    Plan(plan::Args),
    /// Deploy the exact code of one environment to another, with the other's settings
    Promote(promote::Args),
    /// List the readers, builders and deployers (built-in and from plugin libraries)
    Plugins(plugins::Args),
    /// An environment's encrypted secrets (SOPS format, age keys): init, set, get, list, edit, rotate, check
    Secrets(secrets::Args),
    /// Serve the local namespace over HTTP (for wsk, the openwhisk npm client, browsers)
    Serve(serve::Args),
    /// List and read scheduled triggers
    Triggers(triggers::Args),
    /// Delete functions, packages or triggers from the namespace
    Undeploy(undeploy::Args),
    /// Print sluice's version
    Version(version::Args),
    /// Redeploy what changed on every save (incremental), until Ctrl-C
    Watch(watch::Args),
}

/// Parses the command line, runs the command, renders any error and returns the exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    setup::init_tracing();
    let result = match cli.command {
        Command::Activations(args) => activations::run(args),
        Command::Build(args) => build::run(args),
        Command::Completions(args) => completions::run(args),
        Command::Connect(args) => namespace::run_connect(args),
        Command::Deploy(args) => deploy::run(args),
        Command::Env(args) => env::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Promote(args) => promote::run(args),
        Command::Functions(args) => functions::run(args),
        Command::GetMetadata(args) => get_metadata::run(args),
        Command::Hooks(args) => hooks::run(args),
        Command::Init(args) => init::run(args),
        Command::Invoke(args) => invoke::run(args),
        Command::Local(args) => local::run(args),
        Command::Man(args) => man::run(args),
        Command::Namespace(args) => namespace::run(args),
        Command::Plugins(args) => plugins::run(args),
        Command::Secrets(args) => secrets::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Triggers(args) => triggers::run(args),
        Command::Undeploy(args) => undeploy::run(args),
        Command::Version(args) => version::run(args),
        Command::Watch(args) => watch::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            render::print_error(e);
            ExitCode::FAILURE
        }
    }
}
