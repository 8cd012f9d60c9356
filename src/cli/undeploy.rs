//! `sluice undeploy`: parse the names into an [`UndeployRequest`] and run [`ops::undeploy`],
//! which deletes exactly the named functions, packages (functions first) or triggers, or
//! everything with `--all`, through the selected deployer (`--target`) and the engine (so
//! `--hook` files see failures in their `error` handlers).

use std::process::ExitCode;

use std::sync::Arc;

use sluice_core::ops::{self, UndeployOptions};
use sluice_core::{EntityKind, Flags, UndeployRequest};

use super::connection::{TargetArgs, TokenArgs};
use super::render::{CliError, StderrFeedback};
use super::session::{self, CliTargets};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Functions (`pkg/name` or `name`), or packages with --packages, or triggers with --triggers
    names: Vec<String>,
    /// The names are packages: delete each with its functions
    #[arg(long)]
    packages: bool,
    /// The names are triggers; with --all, fail when the triggers cannot be deleted (no DigitalOcean token)
    #[arg(long)]
    triggers: bool,
    /// Delete every function and package of the namespace, and its triggers when a DigitalOcean token is known (the local namespace always has one)
    #[arg(long, conflicts_with = "packages")]
    all: bool,
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    token: TokenArgs,
    #[command(flatten)]
    plugins: super::plugins::DeployPluginArgs,
    #[command(flatten)]
    hooks: super::hooks::HookArgs,
    #[command(flatten)]
    output: super::render::OutputArgs,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    if args.names.is_empty() && !args.all {
        return Err(CliError::msg("nothing to undeploy").with_help(
            "name functions, packages (--packages) or triggers (--triggers), or use --all",
        ));
    }
    if args.all && !args.names.is_empty() {
        return Err(CliError::msg("--all takes no names"));
    }
    let mut request = UndeployRequest::default();
    request.all = args.all;
    request.all_triggers = args.all && args.triggers;
    match (args.packages, args.triggers && !args.all) {
        (true, _) => request.packages = args.names,
        (false, true) => request.triggers = args.names,
        (false, false) => request.actions = args.names,
    }

    let mut session = session::bare(Arc::new(StderrFeedback));
    args.plugins
        .plugins
        .install(&mut session, None, &Flags::default())?;
    args.hooks.install_cli_only(&mut session)?;
    let flags = Flags {
        insecure: args.target.insecure,
        ..Flags::default()
    };
    let options = UndeployOptions::new(request, flags, args.plugins.deployer());
    let targets = CliTargets::new(&args.target, &args.token, &session);
    let runtime = tokio::runtime::Runtime::new().map_err(CliError::other)?;
    let response = runtime
        .block_on(ops::undeploy::undeploy(&session, &options, &targets))
        .map_err(|e| targets.key_source.explain(CliError::from(e)))?;
    let failed = !response.failures.is_empty();
    if args.output.json() {
        println!(
            "{}",
            serde_json::to_string_pretty(&response).map_err(CliError::other)?
        );
    } else {
        for s in &response.successes {
            let kind = match s.kind {
                EntityKind::Action => "function",
                EntityKind::Package | EntityKind::Binding => "package",
                EntityKind::Trigger => "trigger",
            };
            println!("Deleted {kind} '{}'", s.name);
        }
        if response.successes.is_empty() && !failed {
            println!("Nothing deleted");
        }
        let marker = if cfg!(windows) { "»" } else { "›" };
        for f in &response.failures {
            match &f.context {
                Some(c) => eprintln!("{marker}   Error: While deleting {c}: {}", f.message),
                None => eprintln!("{marker}   Error: {}", f.message),
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
