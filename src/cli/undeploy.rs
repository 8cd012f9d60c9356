//! `sluice undeploy`: deletes exactly the named functions, packages (functions first) or
//! triggers, or everything with `--all`.

use std::process::ExitCode;

use sluice_core::{DeployContext, Engine, EntityKind, Flags, UndeployRequest};

use super::render::CliError;
use super::setup;
use super::connection::{self, TargetOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Functions (`pkg/name` or `name`), or packages with --packages, or triggers with --triggers
    names: Vec<String>,
    /// The names are packages: delete each with its functions
    #[arg(long)]
    packages: bool,
    /// The names are triggers; with --all, delete every trigger too
    #[arg(long)]
    triggers: bool,
    /// Delete every function and package of the namespace
    #[arg(long, conflicts_with = "packages")]
    all: bool,
    /// OpenWhisk API host (with --auth the credential store is not used)
    #[arg(long, value_name = "HOST")]
    apihost: Option<String>,
    /// OpenWhisk API key (`uuid:key`)
    #[arg(long, value_name = "KEY")]
    auth: Option<String>,
    /// Skip TLS certificate checks
    #[arg(long)]
    insecure: bool,
    /// Print the outcome as JSON
    #[arg(long)]
    json: bool,
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

    let env = setup::env_snapshot();
    let options = TargetOptions {
        apihost: args.apihost,
        auth: args.auth,
        insecure: args.insecure,
        target_namespace: None,
    };
    let resolved = connection::resolve(&options, &env)?;
    let engine = Engine::new(setup::builtin_registry());
    let deployer = engine
        .registry
        .deployer(sluice_openwhisk::deployer::NAME)
        .map_err(|e| CliError::from_core(&e, None))?;
    let flags = Flags {
        insecure: args.insecure,
        ..Flags::default()
    };
    let mut ctx = DeployContext::new(flags, Some(resolved.credentials.clone()));
    ctx.local = resolved.local;
    let runtime = tokio::runtime::Runtime::new().map_err(CliError::other)?;
    let response = runtime.block_on(async {
        let target = engine.prepare(deployer.as_ref(), &ctx).await?;
        deployer.undeploy(&ctx, &target, &request).await
    });
    drop(resolved.guard);
    let response = response.map_err(|e| CliError::from_core(&e, None))?;
    let failed = !response.failures.is_empty();
    if args.json {
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
