//! `sluice get-metadata <project>`: read only, print the project structure as JSON.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use sluice_core::{Engine, Excluder, Flags, ReadContext};

use super::render::{CliError, StderrFeedback};
use super::setup;

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
    /// Treat any `triggers` clause as an error (for platforms without triggers)
    #[arg(long)]
    no_triggers: bool,
    /// Print JSON (the default; accepted for compatibility)
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    plugins: super::plugins::PluginArgs,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let _ = args.json;
    let flags = Flags {
        env: args.env.map(|p| p.display().to_string()),
        include: args.include,
        exclude: args.exclude,
        no_triggers: args.no_triggers,
        ..Flags::default()
    };
    let home = setup::home_dir();
    let mut ctx = ReadContext::new(flags);
    ctx.env = setup::env_snapshot();
    let (excluder, bad_patterns) = Excluder::with_user_file(home.as_deref());
    ctx.excluder = excluder;
    ctx.home = home;
    let feedback = Arc::new(StderrFeedback);
    for warning in bad_patterns {
        sluice_core::Feedback::warn(feedback.as_ref(), &warning);
    }
    ctx.feedback = feedback.clone();

    let engine = Engine::new(args.plugins.registry(&args.project)?);
    let project_dir = PathBuf::from(&args.project);
    let mut structure = engine
        .read(&args.project, &ctx)
        .map_err(|e| CliError::from_core(&e, Some(&project_dir)))?;
    match &structure.unresolved_variables {
        // Printed with exit 0: App Platform reads `unresolvedVariables` from the JSON.
        Some(names) => {
            let unresolved = sluice_core::Error::Unresolved {
                names: names.clone(),
            };
            sluice_core::Feedback::warn(feedback.as_ref(), &format!("Warning: {unresolved}"));
        }
        None if project_dir.is_dir() => {
            let files = engine
                .registry
                .reader_for(&args.project)
                .map_err(|e| CliError::from_core(&e, Some(&project_dir)))?
                .files(&args.project);
            engine.fill_runtimes(&mut structure, files.as_ref(), &ctx);
        }
        None => {}
    }
    let json = serde_json::to_string_pretty(&structure).map_err(CliError::other)?;
    println!("{json}");
    Ok(ExitCode::SUCCESS)
}
