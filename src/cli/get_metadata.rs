//! `sluice get-metadata <project>`: run [`ops::metadata`] (read only) and print the project
//! structure as JSON, as the original deployer does (`--json` is accepted: JSON is the only
//! output).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use sluice_core::Flags;
use sluice_core::ops::{self, MetadataOptions};

use super::render::{CliError, StderrFeedback};
use super::session;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project directory
    project: String,
    /// Property file (dotenv or JSON) for ${VAR} substitution in project.yml [default: <project>/.env]
    #[arg(long, value_name = "FILE")]
    env: Option<PathBuf>,
    /// Only these packages or functions (comma-separated `pkg`, `pkg/` or `pkg/fn`)
    #[arg(long, value_name = "LIST")]
    include: Option<String>,
    /// Leave out these packages or functions (comma-separated `pkg`, `pkg/` or `pkg/fn`)
    #[arg(long, value_name = "LIST")]
    exclude: Option<String>,
    /// A directory outside the project that it may read (`${<file}`, symlinked files); repeatable
    #[arg(long, value_name = "DIR")]
    allow_outside: Vec<PathBuf>,
    /// Treat any `triggers` clause as an error (for platforms without triggers)
    #[arg(long)]
    no_triggers: bool,
    #[command(flatten)]
    output: super::render::OutputArgs,
    #[command(flatten)]
    plugins: super::plugins::PluginArgs,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let _ = args.output.json();
    let flags = Flags {
        env: args.env.map(|p| p.display().to_string()),
        include: args.include,
        exclude: args.exclude,
        allow_outside: args
            .allow_outside
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        no_triggers: args.no_triggers,
        ..Flags::default()
    };
    let mut session = session::bare(Arc::new(StderrFeedback));
    args.plugins
        .install(&mut session, Some(&args.project), &flags)?;
    let options = MetadataOptions::new(&args.project, flags);
    let structure = ops::metadata::metadata(&session, &options)
        .map_err(|e| session::op_error(&e, &args.project))?;
    let json = serde_json::to_string_pretty(&structure).map_err(CliError::other)?;
    println!("{json}");
    Ok(ExitCode::SUCCESS)
}
