//! `sluice activations list|get|logs|result`: the records of past runs, from the local
//! namespace or any OpenWhisk namespace. `--last` picks the newest; `--follow` keeps polling
//! for new activations.

use std::collections::HashSet;
use std::process::ExitCode;

use sluice_core::{Activation, Outcome};
use sluice_openwhisk::ActivationFilter;

use super::activation_reads::{fetch, follow, list as list_page, newest};
use super::connection::{TargetArgs, connect};
use super::render::{CliError, print_json};
use super::table::Table;
use super::time::{datetime_ms, duration_ms};

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
    /// Print JSON
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    target: TargetArgs,
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
    /// Print JSON
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    target: TargetArgs,
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
    let conn = connect(&args.target)?;
    let filter = ActivationFilter {
        name: args.function.clone(),
        since: args.since,
        upto: args.upto,
        limit: args.limit,
        skip: args.skip,
        docs: args.full,
    };
    let items = list_page(&conn, &filter)?;
    let json = args.json || args.full;
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
    let conn = connect(&args.target)?;
    let id = match &args.id {
        Some(id) => id.clone(),
        None => newest(&conn, &args.function)?,
    };
    show(&fetch(&conn, &id)?, part, args.json)?;
    if args.follow {
        let mut seen = HashSet::from([id]);
        follow(&conn, &args.function, &mut seen, |a| {
            let full = fetch(&conn, &a.activation_id)?;
            if !args.json {
                println!("── {} {}", full.entity_path(), a.activation_id);
            }
            show(&full, part, args.json)
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

fn status_label(a: &Activation) -> &'static str {
    match a.outcome() {
        Some(Outcome::Success) => "success",
        Some(Outcome::ApplicationError) => "application error",
        Some(Outcome::DeveloperError) => "developer error",
        Some(Outcome::InternalError) => "internal error",
        None => "-",
    }
}

/// A table of activations for people.
fn table(items: &[Activation], header: bool) -> Table {
    let mut t = if header {
        Table::new(&[
            "DATETIME",
            "ACTIVATION ID",
            "KIND",
            "START",
            "DURATION",
            "STATUS",
        ])
    } else {
        Table::headless()
    };
    for a in items {
        let kind = a.kind().unwrap_or("-");
        let start = match (a.is_cold(), kind) {
            (true, _) => "cold",
            (false, "sequence") => "-",
            (false, _) => "warm",
        };
        t.row([
            datetime_ms(a.start),
            a.activation_id.clone(),
            kind.to_string(),
            start.to_string(),
            duration_ms(a.duration),
            format!("{} {}", status_label(a), a.entity_path()),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn activations_render_as_a_table() {
        let a: Activation = serde_json::from_value(json!({
            "activationId": "0123456789abcdef0123456789abcdef", "start": 1_709_287_200_000_i64,
            "duration": 12, "statusCode": 0, "name": "greet",
            "annotations": [{"key": "path", "value": "local/hello/greet"},
                            {"key": "kind", "value": "nodejs:20"},
                            {"key": "initTime", "value": 40}]
        }))
        .expect("activation");
        assert_eq!(
            table(&[a], true).render(),
            "DATETIME             ACTIVATION ID                     KIND       START  DURATION  STATUS\n\
             2024-03-01 10:00:00  0123456789abcdef0123456789abcdef  nodejs:20  cold   12ms      success hello/greet\n"
        );
    }
}
