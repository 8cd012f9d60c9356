//! `sluice build <project>`: parse the flags, run [`ops::build`] (read, then build every
//! function and `lib/` when the plan says so, without deploying) and print what each function
//! became.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use sluice_core::ops::{self, BuildOptions};
use sluice_core::{Feedback, Flags};

use super::build_output::print_human;
use super::progress;
use super::render::{CliError, StderrFeedback};
use super::session;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project directory
    project: String,
    /// Property file (dotenv or JSON) for ${VAR} substitution in project.yml [default: <project>/.env]
    #[arg(long, value_name = "FILE")]
    env: Option<PathBuf>,
    /// Property file whose entries are added to the environment of build scripts (they win)
    #[arg(long, value_name = "FILE")]
    build_env: Option<PathBuf>,
    /// Only these packages or functions (comma-separated `pkg`, `pkg/` or `pkg/fn`)
    #[arg(long, value_name = "LIST")]
    include: Option<String>,
    /// Leave out these packages or functions (comma-separated `pkg`, `pkg/` or `pkg/fn`)
    #[arg(long, value_name = "LIST")]
    exclude: Option<String>,
    /// Skip builds that are still valid (`.built`, an up-to-date node_modules or zip)
    #[arg(long)]
    incremental: bool,
    /// Say for each function why it is built, skipped or deployed as it is
    #[arg(long)]
    explain: bool,
    /// Show the output of build scripts as they run
    #[arg(long)]
    verbose_build: bool,
    /// Say when functions are zipped
    #[arg(long)]
    verbose_zip: bool,
    /// Use yarn instead of npm for package.json builds
    #[arg(long)]
    yarn: bool,
    /// Most builds at once [default: number of CPUs]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    build_jobs: Option<u16>,
    /// A directory outside the project that it may read (`${<file}`, symlinked files); repeatable
    #[arg(long, value_name = "DIR")]
    allow_outside: Vec<PathBuf>,
    #[command(flatten)]
    output: super::render::OutputArgs,
    #[command(flatten)]
    plugins: super::plugins::PluginArgs,
    #[command(flatten)]
    hooks: super::hooks::HookArgs,
    #[command(flatten)]
    build_limits: super::build_limits::BuildLimitArgs,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    args.build_limits.apply()?;
    let flags = Flags {
        env: args.env.map(|p| p.display().to_string()),
        build_env: args.build_env.map(|p| p.display().to_string()),
        include: args.include,
        exclude: args.exclude,
        allow_outside: args
            .allow_outside
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        incremental: args.incremental,
        explain: args.explain,
        verbose_build: args.verbose_build,
        verbose_zip: args.verbose_zip,
        yarn: args.yarn,
        json: args.output.json(),
        build_jobs: args.build_jobs.map(usize::from),
        ..Flags::default()
    };
    let feedback: Arc<dyn Feedback> = if args.output.json() {
        Arc::new(StderrFeedback)
    } else {
        progress::for_people()
    };
    let session = session::open(&args.project, &args.plugins, &args.hooks, feedback, &flags)?;
    let options = BuildOptions::new(&args.project, flags);
    let summary =
        ops::build::build(&session, &options).map_err(|e| session::op_error(&e, &args.project))?;
    if args.output.json() {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).map_err(CliError::other)?
        );
    } else {
        print_human(&summary.functions);
    }
    Ok(if summary.failed() > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
