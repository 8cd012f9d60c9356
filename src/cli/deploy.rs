//! `sluice deploy <project>`: parse the flags, run [`ops::deploy`], then print the summary in
//! the original deployer's words (spec §1.3), or `{transcript, outcome}` with `--json`
//! (always, even when a phase fails). The exit status is non-zero whenever anything failed.

use std::path::PathBuf;
use std::process::ExitCode;

use sluice_core::Flags;
use sluice_core::ops::{self, DeployOptions};

use super::connection::{TargetArgs, TokenArgs};
use super::deploy_output::{Output, print_summary};
use super::render::CliError;
use super::session::{self, CliTargets};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project directory
    #[arg(default_value = ".")]
    project: String,
    /// Property file (dotenv or JSON) for ${VAR} substitution in project.yml [default: <project>/.env]
    #[arg(long, value_name = "FILE")]
    env: Option<PathBuf>,
    /// Property file whose entries are added to the environment of build scripts
    #[arg(long, value_name = "FILE")]
    build_env: Option<PathBuf>,
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    token: TokenArgs,
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
    #[command(flatten)]
    output: super::render::OutputArgs,
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
    #[command(flatten)]
    build_limits: super::build_limits::BuildLimitArgs,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    args.build_limits.apply()?;
    let flags = Flags {
        env: args.env.as_ref().map(|p| p.display().to_string()),
        build_env: args.build_env.as_ref().map(|p| p.display().to_string()),
        apihost: args.target.apihost.clone(),
        include: args.include.clone(),
        exclude: args.exclude.clone(),
        insecure: args.target.insecure,
        verbose_build: args.verbose_build,
        verbose_zip: args.verbose_zip,
        yarn: args.yarn,
        remote_build: args.remote_build,
        incremental: args.incremental,
        json: args.output.json(),
        no_triggers: args.no_triggers,
        build_jobs: args.build_jobs.map(usize::from),
        deploy_jobs: Some(usize::from(args.deploy_jobs)),
    };
    let out = Output::new(args.output.json());
    let session = match session::open(
        &args.project,
        &args.plugins.plugins,
        &args.hooks,
        out.feedback.clone(),
    ) {
        Ok(s) => s,
        Err(e) => return out.fail(e),
    };
    let options = DeployOptions::new(&args.project, flags, args.plugins.deployer());
    let targets = CliTargets::new(&args.target, &args.token, &session);
    let runtime = tokio::runtime::Runtime::new().map_err(CliError::other)?;
    let outcome = match runtime.block_on(ops::deploy::deploy(&session, &options, &targets)) {
        Ok(o) => o,
        Err(e) => {
            return out.fail(
                targets
                    .key_source
                    .explain(session::op_error(&e, &args.project)),
            );
        }
    };
    let response = outcome.response;
    let failed = !response.failures.is_empty();
    if args.output.json() {
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
