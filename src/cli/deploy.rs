//! `sluice deploy <project>`: read → prepare → build → deploy, then the summary in the
//! original deployer's words (spec §1.3), or `{transcript, outcome}` with `--json` (always,
//! even when a phase fails). The exit status is non-zero whenever anything failed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use serde::Serialize;
use sluice_core::{
    BuildContext, DeployContext, DeployResponse, Engine, EntityKind, Excluder, Feedback, Flags,
    ReadContext, Recorder, RuntimeTable, TargetNamespace,
};

use super::render::{CliError, ConsoleFeedback};
use super::setup;
use super::connection::{self, TargetOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project directory
    project: String,
    /// Property file (dotenv or JSON) for ${VAR} substitution in project.yml [default: <project>/.env]
    #[arg(long, value_name = "FILE")]
    env: Option<PathBuf>,
    /// Property file whose entries are added to the environment of build scripts
    #[arg(long, value_name = "FILE")]
    build_env: Option<PathBuf>,
    /// OpenWhisk API host (`nyc1` → https://nyc1.doserverless.co; with --auth the store is not used)
    #[arg(long, value_name = "HOST")]
    apihost: Option<String>,
    /// OpenWhisk API key (`uuid:key`)
    #[arg(long, value_name = "KEY")]
    auth: Option<String>,
    /// Skip TLS certificate checks
    #[arg(long)]
    insecure: bool,
    /// Show the output of build scripts as they run
    #[arg(long)]
    verbose_build: bool,
    /// Say when functions are zipped
    #[arg(long)]
    verbose_zip: bool,
    /// Use yarn instead of npm for package.json builds
    #[arg(long)]
    yarn: bool,
    /// Build every function with a real build remotely
    #[arg(long)]
    remote_build: bool,
    /// Skip unchanged builds and deploys (digests in .deployed/versions.json)
    #[arg(long)]
    incremental: bool,
    /// Only these packages or functions (comma-separated `pkg`, `pkg/` or `pkg/fn`)
    #[arg(long, value_name = "LIST")]
    include: Option<String>,
    /// Leave out these packages or functions (comma-separated `pkg`, `pkg/` or `pkg/fn`)
    #[arg(long, value_name = "LIST")]
    exclude: Option<String>,
    /// Print `{transcript, outcome}` as JSON instead of the summary
    #[arg(long)]
    json: bool,
    /// Treat any `triggers` clause as an error (for platforms without triggers)
    #[arg(long)]
    no_triggers: bool,
    /// Most builds at once [default: number of CPUs]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    build_jobs: Option<u16>,
    /// Most requests to the namespace in flight at once
    #[arg(long, value_name = "N", env = "DEPLOYMENT_CHUNK_SIZE", default_value_t = 25,
          value_parser = clap::value_parser!(u16).range(1..))]
    deploy_jobs: u16,
    #[command(flatten)]
    plugins: super::plugins::DeployPluginArgs,
    #[command(flatten)]
    hooks: super::hooks::HookArgs,
}

/// The `--json` document.
#[derive(Debug, Serialize)]
struct JsonOutput {
    transcript: Vec<String>,
    outcome: DeployResponse,
}

/// Where the run's progress and warnings go: the console, or the `--json` transcript.
struct Output {
    json: bool,
    recorder: Arc<Recorder>,
    feedback: Arc<dyn Feedback>,
}

impl Output {
    fn new(json: bool) -> Self {
        let recorder = Arc::new(Recorder::default());
        let feedback: Arc<dyn Feedback> = if json {
            recorder.clone()
        } else {
            Arc::new(ConsoleFeedback::default())
        };
        Output {
            json,
            recorder,
            feedback,
        }
    }

    /// A phase failed: in JSON an outcome holding the error, else the error itself.
    fn fail(&self, error: CliError) -> Result<ExitCode, CliError> {
        if !self.json {
            return Err(error);
        }
        let outcome = DeployResponse::failure(error.to_string(), None);
        self.print_json(outcome)?;
        Ok(ExitCode::FAILURE)
    }

    fn print_json(&self, outcome: DeployResponse) -> Result<(), CliError> {
        let doc = JsonOutput {
            transcript: self.recorder.warnings(),
            outcome,
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).map_err(CliError::other)?
        );
        Ok(())
    }
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let flags = Flags {
        env: args.env.as_ref().map(|p| p.display().to_string()),
        build_env: args.build_env.as_ref().map(|p| p.display().to_string()),
        apihost: args.apihost.clone(),
        include: args.include.clone(),
        exclude: args.exclude.clone(),
        insecure: args.insecure,
        verbose_build: args.verbose_build,
        verbose_zip: args.verbose_zip,
        yarn: args.yarn,
        remote_build: args.remote_build,
        incremental: args.incremental,
        json: args.json,
        no_triggers: args.no_triggers,
        build_jobs: args.build_jobs.map(usize::from),
        deploy_jobs: Some(usize::from(args.deploy_jobs)),
    };
    let out = Output::new(args.json);
    let runtime = tokio::runtime::Runtime::new().map_err(CliError::other)?;
    let env = setup::env_snapshot();
    let engine = Engine::new(args.plugins.registry(&args.project)?);
    let deployer = engine
        .registry
        .deployer(args.plugins.deployer(sluice_openwhisk::deployer::NAME))
        .map_err(|e| CliError::from_core(&e, None))?;
    let project_dir = std::path::absolute(&args.project).map_err(CliError::other)?;
    let engine = args
        .hooks
        .install(engine, &project_dir, out.feedback.clone(), &env)?;
    let mut options = TargetOptions {
        apihost: args.apihost.clone(),
        auth: args.auth.clone(),
        insecure: args.insecure,
        target_namespace: None,
    };

    // The runtime table comes from the namespace we are about to deploy to (when the
    // credentials are known before reading), else the built-in table with a warning.
    let early = connection::resolve(&options, &env).ok();
    let mut runtimes = RuntimeTable::builtin();
    if let Some(early) = &early {
        let mut ctx = DeployContext::new(flags.clone(), Some(early.credentials.clone()));
        ctx.local = early.local;
        match runtime.block_on(deployer.runtimes(&ctx)) {
            Ok(Some(table)) => runtimes = table,
            Ok(None) => {}
            Err(e) => out.feedback.warn(&format!(
                "Warning: could not load the runtimes of '{}' ({e}); using the built-in runtime table",
                early.credentials.ow.apihost
            )),
        }
    }

    // Read.
    let home = setup::home_dir();
    let (excluder, bad_patterns) = Excluder::with_user_file(home.as_deref());
    for warning in bad_patterns {
        out.feedback.warn(&warning);
    }
    let mut read_ctx = ReadContext::new(flags.clone());
    read_ctx.env = env.clone();
    read_ctx.excluder = excluder.clone();
    read_ctx.home = home;
    read_ctx.runtimes = runtimes.clone();
    read_ctx.feedback = out.feedback.clone();
    let mut project = match engine.read(&args.project, &read_ctx) {
        Ok(p) => p,
        Err(e) => return out.fail(CliError::from_core(&e, Some(&project_dir))),
    };
    if let Some(names) = project
        .unresolved_variables
        .clone()
        .filter(|n| !n.is_empty())
    {
        let e = sluice_core::Error::Unresolved { names };
        return out.fail(CliError::from_core(&e, Some(&project_dir)));
    }

    // Prepare.
    options.target_namespace = match &project.target_namespace {
        Some(TargetNamespace::Name(n)) if !n.is_empty() => Some(n.clone()),
        _ => None,
    };
    let resolved = match (early, options.target_namespace.is_some()) {
        (Some(early), false) => early,
        _ => match connection::resolve(&options, &env) {
            Ok(r) => r,
            Err(e) => return out.fail(e),
        },
    };
    let mut deploy_ctx = DeployContext::new(flags.clone(), Some(resolved.credentials.clone()));
    deploy_ctx.project_dir = Some(project_dir.clone());
    deploy_ctx.local = resolved.local;
    deploy_ctx.runtimes = runtimes.clone();
    deploy_ctx.feedback = out.feedback.clone();
    let target = match runtime.block_on(engine.prepare(deployer.as_ref(), &deploy_ctx)) {
        Ok(t) => t,
        Err(e) => return out.fail(CliError::from_core(&e, None)),
    };
    let header = if target.local {
        format!(
            "Deploying '{}'\n  to the local namespace '{}' on {}\n  (to deploy to a real namespace: sluice namespace add --apihost <host> --auth <key>)",
            project_dir.display(),
            target.namespace,
            target.apihost
        )
    } else {
        format!(
            "Deploying '{}'\n  to namespace '{}'\n  on host '{}'",
            project_dir.display(),
            target.namespace,
            target.apihost
        )
    };
    out.feedback.progress(&header);

    // Build.
    let mut build_ctx = BuildContext::new(&project_dir, flags);
    build_ctx.build_env = project.build_env.clone().unwrap_or_default();
    build_ctx.runtimes = runtimes;
    build_ctx.excluder = excluder;
    build_ctx.feedback = out.feedback.clone();
    build_ctx.best_project_name = project
        .deployer_annotation
        .as_ref()
        .map(|a| a.best_project_name())
        .unwrap_or_else(|| project_dir.display().to_string());
    if let Err(e) = engine.build(&mut project, &build_ctx) {
        return out.fail(CliError::from_core(&e, Some(&project_dir)));
    }

    // Deploy.
    let response =
        match runtime.block_on(engine.deploy(deployer.as_ref(), &deploy_ctx, &target, project)) {
            Ok(r) => r,
            Err(e) => return out.fail(CliError::from_core(&e, None)),
        };
    drop(resolved.guard);
    let failed = !response.failures.is_empty();
    if args.json {
        out.print_json(response)?;
    } else {
        print_summary(&response);
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The result summary of spec §1.3, in the original's words.
fn print_summary(r: &DeployResponse) {
    if r.successes.is_empty() && r.failures.is_empty() {
        println!("\nNothing deployed");
        return;
    }
    println!();
    let names = |kind: EntityKind, skipped: bool| -> Vec<&str> {
        r.successes
            .iter()
            .filter(|s| s.kind == kind && s.skipped == skipped)
            .map(|s| s.name.as_str())
            .collect()
    };
    let deployed = names(EntityKind::Action, false);
    if !deployed.is_empty() {
        println!("Deployed functions ('sluice functions get <funcName> --url' for URL):");
        for n in deployed {
            println!("  - {n}");
        }
    }
    let skipped = names(EntityKind::Action, true).len();
    if skipped > 0 {
        println!("Skipped {skipped} unchanged functions");
    }
    let triggers = names(EntityKind::Trigger, false);
    if !triggers.is_empty() {
        println!("Deployed triggers:");
        for n in triggers {
            println!("  - {n}");
        }
    }
    let skipped_triggers = names(EntityKind::Trigger, true).len();
    if skipped_triggers > 0 {
        println!("Skipped {skipped_triggers} triggers");
    }
    let bound = names(EntityKind::Binding, false);
    if !bound.is_empty() {
        println!("Deployed bound packages:");
        for n in bound {
            println!("  - {n}");
        }
    }
    if !r.failures.is_empty() {
        println!("Failures:");
        let marker = if cfg!(windows) { "»" } else { "›" };
        for f in &r.failures {
            eprintln!("{marker}   Error: {f}");
        }
    }
}
