//! `sluice triggers list|get`: the scheduled triggers of the namespace, through the
//! DigitalOcean triggers API (served by the local namespace too). The token is doctl's
//! (`--access-token`, `$DIGITALOCEAN_ACCESS_TOKEN`, doctl's config file) or `$DO_API_KEY`;
//! the API's URL follows the API host unless `$SLUICE_DO_API_URL` says otherwise.

use std::process::ExitCode;

use serde::Deserialize;
use serde_json::Value;
use sluice_openwhisk::{DO_API_URL_ENV, TriggersApi, do_api_url_for};

use super::connection::{Connection, TokenArgs, connect_with, token_places};
use super::render::{CliError, OutputArgs, print_json};
use super::setup;
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
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    target: super::run_target::RunTargetArgs,
    #[command(flatten)]
    token: TokenArgs,
}

#[derive(Debug, clap::Args)]
struct GetArgs {
    /// The trigger's name
    name: String,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    target: super::run_target::RunTargetArgs,
    #[command(flatten)]
    token: TokenArgs,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    match args.command {
        Sub::List(a) => {
            let conn = open(&a.target, &a.token)?;
            let mut triggers = fetch_all(&conn)?;
            if let Some(f) = &a.function {
                triggers.retain(|t| Shown::of(t).function.as_deref() == Some(f.as_str()));
            }
            triggers.sort_by_key(|t| Shown::of(t).name.unwrap_or_default());
            if a.output.json() {
                print_json(&triggers)?;
            } else {
                table(&triggers).print();
            }
            Ok(ExitCode::SUCCESS)
        }
        Sub::Get(a) => {
            let conn = open(&a.target, &a.token)?;
            let trigger = fetch_all(&conn)?
                .into_iter()
                .find(|t| Shown::of(t).name.as_deref() == Some(a.name.as_str()))
                .ok_or_else(|| {
                    CliError::msg(format!("trigger '{}' does not exist", a.name))
                        .with_help("list the triggers with 'sluice triggers list'")
                })?;
            if a.output.json() {
                print_json(&trigger)?;
            } else {
                table(std::slice::from_ref(&trigger)).print();
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn open(
    target: &super::run_target::RunTargetArgs,
    token: &TokenArgs,
) -> Result<Connection, CliError> {
    let mut options = target.options()?;
    options.access_token = token.access_token.clone();
    connect_with(&options)
}

fn fetch_all(conn: &Connection) -> Result<Vec<Value>, CliError> {
    let token = conn.do_token.as_deref().ok_or_else(|| {
        CliError::msg("scheduled triggers live in DigitalOcean's API, and no token is set")
            .with_help(token_places(&setup::env_snapshot()))
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
            .unwrap_or_else(|| do_api_url_for(&conn.apihost))
    };
    let api = TriggersApi::new(&base, token, conn.client.transport().clone())
        .map_err(|e| conn.error(e))?;
    conn.runtime
        .block_on(api.list(namespace))
        .map_err(|e| conn.token_error(e))
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
