//! `sluice env history <name> [project]`: the releases promoted into an environment, from
//! the project's `.deployed/releases.jsonl`, oldest first.

use std::path::Path;
use std::process::ExitCode;

use sluice_core::releases::{self, Release};

use super::render::{CliError, OutputArgs, print_json};
use super::table::Table;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The environment
    name: String,
    /// The project directory
    #[arg(default_value = ".")]
    project: String,
    /// JSON: the release records (id, source, target, sourceNamespace, namespace, commit, user, time, functions)
    #[command(flatten)]
    output: OutputArgs,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let dir = std::path::absolute(&args.project).map_err(CliError::other)?;
    let list: Vec<Release> = releases::of_environment(&dir, &args.name)
        .map_err(|e| CliError::from_core(&e, Some(Path::new(&dir))))?;
    if args.output.json() {
        return print_json(&list).map(|()| ExitCode::SUCCESS);
    }
    if list.is_empty() {
        println!(
            "No releases of environment '{}': promote to it with 'sluice promote <from> {}'",
            args.name, args.name
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new(&["RELEASE", "FROM", "COMMIT", "TIME", "USER", "FUNCTIONS"]);
    for r in &list {
        table.row([
            r.id.clone(),
            r.source.clone(),
            r.commit.clone().unwrap_or_default(),
            r.time.clone(),
            r.user.clone().unwrap_or_default(),
            r.functions.len().to_string(),
        ]);
    }
    table.print();
    Ok(ExitCode::SUCCESS)
}
