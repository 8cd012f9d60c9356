//! `sluice activations list|get|logs|result`: the records of past runs, from the local
//! namespace or any OpenWhisk namespace. `--last` picks the newest; `--follow` keeps polling
//! for new activations.

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sluice_openwhisk::ActivationFilter;

use super::connection::{Connection, TargetArgs, connect, ow_error};
use super::render::CliError;
use super::render::print_json;

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
    let items = conn
        .runtime
        .block_on(conn.client.activations(&filter))
        .map_err(ow_error)?;
    if args.json || args.full {
        print_json(&Value::Array(items.clone()))?;
    } else {
        print!("{}", table(&items, true));
    }
    if args.follow {
        let mut seen: HashSet<String> = items.iter().filter_map(id_of).collect();
        follow(&conn, &args.function, &mut seen, |a| {
            if args.json || args.full {
                print_json(a)
            } else {
                print!("{}", table(std::slice::from_ref(a), false));
                Ok(())
            }
        })?;
    }
    Ok(ExitCode::SUCCESS)
}

fn one(args: OneArgs, part: Part) -> Result<ExitCode, CliError> {
    let conn = connect(&args.target)?;
    let id = match (&args.id, args.last) {
        (Some(id), _) => id.clone(),
        (None, _) => newest(&conn, &args.function)?,
    };
    let record = fetch(&conn, &id)?;
    if !matches!(part, Part::Record) && record["response"]["status"] == "running" {
        return Err(
            CliError::msg(format!("activation '{id}' is still running")).with_help(format!(
                "`sluice activations get {id}` shows it; ask again when it ends"
            )),
        );
    }
    show(&record, part, args.json)?;
    if args.follow {
        let mut seen = HashSet::from([id]);
        follow(&conn, &args.function, &mut seen, |a| {
            let id = id_of(a).unwrap_or_default();
            let full = fetch(&conn, &id)?;
            if !args.json {
                println!("── {} {}", path_of(&full), id);
            }
            show(&full, part, args.json)
        })?;
    }
    Ok(ExitCode::SUCCESS)
}

fn fetch(conn: &Connection, id: &str) -> Result<Value, CliError> {
    conn.runtime
        .block_on(conn.client.activation(id))
        .map_err(|e| {
            if e.status() == Some(404) {
                CliError::msg(format!("no activation with id '{id}'"))
                    .with_help("list recent ones with `sluice activations list`")
            } else {
                ow_error(e)
            }
        })
}

fn show(record: &Value, part: Part, json: bool) -> Result<(), CliError> {
    match part {
        Part::Record => print_json(record),
        Part::Result => print_json(&record["response"]["result"]),
        Part::Logs => {
            let logs = record["logs"].as_array().cloned().unwrap_or_default();
            if json {
                print_json(&serde_json::json!({ "logs": logs }))
            } else {
                for line in logs {
                    println!("{}", line.as_str().unwrap_or_default());
                }
                Ok(())
            }
        }
    }
}

fn newest(conn: &Connection, function: &Option<String>) -> Result<String, CliError> {
    let filter = ActivationFilter {
        name: function.clone(),
        limit: 1,
        ..ActivationFilter::default()
    };
    let items = conn
        .runtime
        .block_on(conn.client.activations(&filter))
        .map_err(ow_error)?;
    items
        .first()
        .and_then(id_of)
        .ok_or_else(|| CliError::msg("there are no activations yet"))
}

/// Polls for activations not in `seen`, oldest first, until interrupted.
fn follow(
    conn: &Connection,
    function: &Option<String>,
    seen: &mut HashSet<String>,
    mut each: impl FnMut(&Value) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let filter = ActivationFilter {
        name: function.clone(),
        limit: 50,
        ..ActivationFilter::default()
    };
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let items = conn
            .runtime
            .block_on(conn.client.activations(&filter))
            .map_err(ow_error)?;
        for a in items.iter().rev() {
            if let Some(id) = id_of(a)
                && seen.insert(id)
            {
                each(a)?;
            }
        }
    }
}

fn id_of(a: &Value) -> Option<String> {
    a["activationId"].as_str().map(str::to_string)
}

fn annotation<'a>(a: &'a Value, key: &str) -> Option<&'a Value> {
    a["annotations"]
        .as_array()?
        .iter()
        .find(|kv| kv["key"] == key)
        .map(|kv| &kv["value"])
}

fn path_of(a: &Value) -> String {
    let path = annotation(a, "path").and_then(Value::as_str).unwrap_or("");
    // `ns/pkg/name` → `pkg/name`; fall back on the name.
    match path.split_once('/') {
        Some((_, rest)) => rest.to_string(),
        None => a["name"].as_str().unwrap_or("").to_string(),
    }
}

fn status_of(a: &Value) -> &'static str {
    let code = a["statusCode"]
        .as_u64()
        .or_else(|| match a["response"]["status"].as_str() {
            Some("success") => Some(0),
            Some("application error") => Some(1),
            Some("action developer error") => Some(2),
            Some(_) => Some(3),
            None => None,
        });
    match code {
        Some(0) => "success",
        Some(1) => "application error",
        Some(2) => "developer error",
        Some(3) => "internal error",
        _ => "-",
    }
}

/// A table of activations for people.
fn table(items: &[Value], header: bool) -> String {
    let mut rows: Vec<[String; 6]> = Vec::new();
    if header {
        rows.push(
            [
                "DATETIME",
                "ACTIVATION ID",
                "KIND",
                "START",
                "DURATION",
                "STATUS",
            ]
            .map(str::to_string),
        );
    }
    for a in items {
        let start = a["start"].as_i64().unwrap_or(0);
        let when = DateTime::<Utc>::from_timestamp_millis(start)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default();
        let kind = annotation(a, "kind").and_then(Value::as_str).unwrap_or("-");
        let temp = if annotation(a, "initTime").is_some() {
            "cold"
        } else if kind == "sequence" {
            "-"
        } else {
            "warm"
        };
        let duration = a["duration"]
            .as_i64()
            .map(|d| format!("{d}ms"))
            .unwrap_or_else(|| "-".into());
        rows.push([
            when,
            id_of(a).unwrap_or_default(),
            kind.to_string(),
            temp.to_string(),
            duration,
            format!("{} {}", status_of(a), path_of(a)),
        ]);
    }
    render_rows(&rows)
}

/// Left-aligned columns separated by two spaces; the last column is not padded.
pub fn render_rows<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i + 1 == N {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn activations_render_as_a_table() {
        let a = json!({
            "activationId": "0123456789abcdef0123456789abcdef", "start": 1_709_287_200_000_i64,
            "duration": 12, "statusCode": 0, "name": "greet",
            "annotations": [{"key": "path", "value": "local/hello/greet"},
                            {"key": "kind", "value": "nodejs:20"},
                            {"key": "initTime", "value": 40}]
        });
        assert_eq!(
            table(&[a], true),
            "DATETIME             ACTIVATION ID                     KIND       START  DURATION  STATUS\n\
             2024-03-01 10:00:00  0123456789abcdef0123456789abcdef  nodejs:20  cold   12ms      success hello/greet\n"
        );
    }
}
