//! `sluice triggers list|get`: the scheduled triggers of the namespace, through the
//! DigitalOcean triggers API (served by the local namespace too).

use std::process::ExitCode;

use serde::Deserialize;
use serde_json::Value;
use sluice_openwhisk::{DEFAULT_DO_API_URL, DO_API_URL_ENV, TriggersApi};

use super::connection::{Connection, TargetArgs, connect, ow_error};
use super::render::{CliError, print_json};
use super::table::Table;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// List the scheduled triggers
    List(ListArgs),
    /// Print one trigger
    Get(GetArgs),
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Only the triggers of this function (`pkg/name`)
    #[arg(long)]
    function: Option<String>,
    /// Print JSON
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Debug, clap::Args)]
struct GetArgs {
    /// The trigger's name
    name: String,
    #[command(flatten)]
    target: TargetArgs,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    match args.command {
        Sub::List(a) => {
            let conn = connect(&a.target)?;
            let mut triggers = fetch_all(&conn)?;
            if let Some(f) = &a.function {
                triggers.retain(|t| Shown::of(t).function.as_deref() == Some(f.as_str()));
            }
            triggers.sort_by_key(|t| Shown::of(t).name.unwrap_or_default());
            if a.json {
                print_json(&triggers)?;
            } else {
                table(&triggers).print();
            }
            Ok(ExitCode::SUCCESS)
        }
        Sub::Get(a) => {
            let conn = connect(&a.target)?;
            let trigger = fetch_all(&conn)?
                .into_iter()
                .find(|t| Shown::of(t).name.as_deref() == Some(a.name.as_str()))
                .ok_or_else(|| {
                    CliError::msg(format!("trigger '{}' does not exist", a.name))
                        .with_help("list the triggers with 'sluice triggers list'")
                })?;
            print_json(&trigger)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn fetch_all(conn: &Connection) -> Result<Vec<Value>, CliError> {
    let token = conn.do_token.as_deref().ok_or_else(|| {
        CliError::msg("scheduled triggers live in DigitalOcean's API, and no token is set")
            .with_help("set DO_API_KEY (or DO_API_TOKEN) to a DigitalOcean API token")
    })?;
    let namespace = conn
        .namespace
        .as_deref()
        .ok_or_else(|| CliError::msg("the target's namespace is not known"))?;
    let base = if conn.local {
        conn.apihost.clone()
    } else {
        std::env::var(DO_API_URL_ENV)
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| DEFAULT_DO_API_URL.to_string())
    };
    let api = TriggersApi::new(&base, token, conn.client.transport().clone()).map_err(ow_error)?;
    conn.runtime.block_on(api.list(namespace)).map_err(ow_error)
}

/// What sluice reads of a trigger from the DigitalOcean API (which sends more; `--json`
/// prints the trigger as sent). A field that is missing or not text shows as `-`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Shown {
    name: Option<String>,
    function: Option<String>,
    is_enabled: Option<bool>,
    scheduled_details: Details,
    scheduled_runs: Runs,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Details {
    cron: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Runs {
    last_run_at: Option<String>,
    next_run_at: Option<String>,
}

impl Shown {
    fn of(trigger: &Value) -> Self {
        Shown::deserialize(trigger).unwrap_or_default()
    }
}

fn table(triggers: &[Value]) -> Table {
    let mut table = Table::new(&[
        "TRIGGER", "FUNCTION", "CRON", "ENABLED", "LAST RUN", "NEXT RUN",
    ]);
    let text = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    for t in triggers.iter().map(Shown::of) {
        table.row([
            text(t.name),
            text(t.function),
            text(t.scheduled_details.cron),
            (if t.is_enabled == Some(true) {
                "yes"
            } else {
                "no"
            })
            .to_string(),
            text(t.scheduled_runs.last_run_at),
            text(t.scheduled_runs.next_run_at),
        ]);
    }
    table
}
