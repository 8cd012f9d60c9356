//! `sluice activations list|get|logs|result`: the records of past runs, from the local
//! namespace or any OpenWhisk namespace. `--last` picks the newest; `--follow` keeps polling
//! for new activations.

use std::collections::HashSet;
use std::process::ExitCode;

use sluice_core::Activation;
use sluice_openwhisk::ActivationFilter;

use super::activation_reads::{fetch, follow, list as list_page, newest};
use super::render::{CliError, print_json};
use listing::table;

mod listing;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// List activations, newest first
    List(ListArgs),
    /// Print an activation record
    Get(OneArgs),
    /// Print an activation's log lines
    Logs(OneArgs),
    /// Print an activation's result
    Result(OneArgs),
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Only activations of this function (`pkg/name` or `name`)
    function: Option<String>,
    /// How many (1 to 200)
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=200))]
    limit: u32,
    /// Skip this many of the newest
    #[arg(long, default_value_t = 0)]
    skip: u32,
    /// Only activations started at or after this time (epoch milliseconds)
    #[arg(long)]
    since: Option<i64>,
    /// Only activations started at or before this time (epoch milliseconds)
    #[arg(long)]
    upto: Option<i64>,
    /// Print the full records as JSON
    #[arg(long)]
    full: bool,
    /// Keep watching for new activations (Ctrl-C to stop)
    #[arg(long)]
    follow: bool,
    #[command(flatten)]
    output: super::render::OutputArgs,
    #[command(flatten)]
    target: super::run_target::RunTargetArgs,
}

#[derive(Debug, clap::Args)]
struct OneArgs {
    /// The activation id (or use --last)
    #[arg(required_unless_present = "last")]
    id: Option<String>,
    /// The newest activation (of --function when given)
    #[arg(long, conflicts_with = "id")]
    last: bool,
    /// With --last: the newest activation of this function
    #[arg(long, requires = "last")]
    function: Option<String>,
    /// Keep printing as new activations arrive (logs and results of each; Ctrl-C to stop)
    #[arg(long)]
    follow: bool,
    #[command(flatten)]
    output: super::render::OutputArgs,
    #[command(flatten)]
    target: super::run_target::RunTargetArgs,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    match args.command {
        Sub::List(a) => list(a),
        Sub::Get(a) => one(a, Part::Record),
        Sub::Logs(a) => one(a, Part::Logs),
        Sub::Result(a) => one(a, Part::Result),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Record,
    Logs,
    Result,
}

fn list(args: ListArgs) -> Result<ExitCode, CliError> {
    let conn = args.target.connect()?;
    let filter = ActivationFilter {
        name: args.function.clone(),
        since: args.since,
        upto: args.upto,
        limit: args.limit,
        skip: args.skip,
        docs: args.full,
    };
    let items = list_page(&conn, &filter)?;
    let json = args.output.json() || args.full;
    if json {
        print_json(&items)?;
    } else {
        table(&items, true).print();
    }
    if args.follow {
        let mut seen: HashSet<String> = items.into_iter().map(|a| a.activation_id).collect();
        follow(&conn, &args.function, &mut seen, |a| {
            if json {
                print_json(a)
            } else {
                table(std::slice::from_ref(a), false).print();
                Ok(())
            }
        })?;
    }
    Ok(ExitCode::SUCCESS)
}

fn one(args: OneArgs, part: Part) -> Result<ExitCode, CliError> {
    let conn = args.target.connect()?;
    let id = match &args.id {
        Some(id) => id.clone(),
        None => newest(&conn, &args.function)?,
    };
    let record = fetch(&conn, &id)?;
    let running = record
        .response
        .as_ref()
        .is_some_and(|r| r.status == "running");
    if !matches!(part, Part::Record) && running {
        return Err(
            CliError::msg(format!("activation '{id}' is still running")).with_help(format!(
                "`sluice activations get {id}` shows it; ask again when it ends"
            )),
        );
    }
    show(&record, part, args.output.json())?;
    if args.follow {
        let mut seen = HashSet::from([id]);
        follow(&conn, &args.function, &mut seen, |a| {
            let full = fetch(&conn, &a.activation_id)?;
            if !args.output.json() {
                println!("── {} {}", full.entity_path(), a.activation_id);
            }
            show(&full, part, args.output.json())
        })?;
    }
    Ok(ExitCode::SUCCESS)
}

fn show(record: &Activation, part: Part, json: bool) -> Result<(), CliError> {
    match part {
        Part::Record => print_json(record),
        Part::Result => print_json(record.result()),
        Part::Logs if json => print_json(&serde_json::json!({ "logs": record.logs })),
        Part::Logs => {
            for line in &record.logs {
                println!("{line}");
            }
            Ok(())
        }
    }
}
