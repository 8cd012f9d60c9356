//! `sluice invoke <fn>`: runs a function and prints its result (or, with `--no-wait`, the id
//! of the activation to read back later). Works against the embedded local namespace and any
//! OpenWhisk / DigitalOcean namespace alike.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Map, Value};
use sluice_openwhisk::{InvokeOptions, InvokeOutcome};

use super::render::CliError;
use super::connection::{Connection, TargetArgs, connect, ow_error};
use super::render::print_json;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The function: `pkg/name`, or `name` for one outside any package
    function: String,
    /// A parameter: `-p name World` (values that parse as JSON are JSON: `-p n 3`)
    #[arg(short = 'p', long = "param", num_args = 2, value_names = ["KEY", "VALUE"])]
    params: Vec<String>,
    /// A JSON file with an object of parameters (`-p` wins over it)
    #[arg(short = 'P', long = "param-file", value_name = "FILE")]
    param_file: Option<PathBuf>,
    /// Do not wait: print the activation id and read the outcome later with `sluice activations`
    #[arg(long)]
    no_wait: bool,
    /// Print the whole activation record, not just the result
    #[arg(long)]
    full: bool,
    /// Print JSON only (the result, the full record with --full, or {"activationId"})
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    target: TargetArgs,
}

/// The parameters of `-P file` then `-p key value` pairs.
pub fn parameters(file: Option<&PathBuf>, pairs: &[String]) -> Result<Value, CliError> {
    let mut params = Map::new();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::msg(format!("cannot read {}: {e}", path.display())))?;
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(m)) => params.extend(m),
            Ok(_) => {
                return Err(CliError::msg(format!(
                    "{} must hold a JSON object of parameters",
                    path.display()
                )));
            }
            Err(e) => {
                return Err(
                    CliError::msg(format!("{} is not valid JSON: {e}", path.display()))
                        .with_help("write the parameters as a JSON object: {\"name\": \"World\"}"),
                );
            }
        }
    }
    for pair in pairs.chunks(2) {
        if let [key, value] = pair {
            let v = serde_json::from_str::<Value>(value).unwrap_or_else(|_| value.clone().into());
            params.insert(key.clone(), v);
        }
    }
    Ok(Value::Object(params))
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let params = parameters(args.param_file.as_ref(), &args.params)?;
    let conn = connect(&args.target)?;
    let options = InvokeOptions {
        blocking: !args.no_wait,
        timeout_ms: None,
    };
    let outcome = conn
        .runtime
        .block_on(
            conn.client
                .invoke(&conn.api_key, &args.function, &params, &options),
        )
        .map_err(|e| {
            if e.status() == Some(404) {
                CliError::msg(format!("function '{}' does not exist", args.function))
                    .with_help("list the deployed functions with 'sluice functions list'")
            } else {
                ow_error(e)
            }
        })?;
    match outcome {
        InvokeOutcome::Accepted { activation_id } => {
            if args.json {
                print_json(&serde_json::json!({ "activationId": activation_id }))?;
            } else if args.no_wait {
                println!("{activation_id}");
                eprintln!(
                    "Started in the background. Read the outcome with 'sluice activations get {activation_id}'."
                );
            } else {
                println!("{activation_id}");
                eprintln!(
                    "The function has not finished yet. Read the outcome later with 'sluice activations get {activation_id}'."
                );
            }
            if conn.local {
                // The local namespace lives in this process: let the run finish and be recorded.
                wait_recorded(&conn, &activation_id);
            }
            Ok(ExitCode::SUCCESS)
        }
        InvokeOutcome::ArrayResult { result, .. } => {
            print_json(&result)?;
            Ok(ExitCode::SUCCESS)
        }
        InvokeOutcome::Finished { activation, .. } => {
            let response = &activation["response"];
            let success = response["success"].as_bool() == Some(true);
            if args.full {
                print_json(&activation)?;
            } else {
                print_json(&response["result"])?;
            }
            if success {
                Ok(ExitCode::SUCCESS)
            } else {
                if !args.json {
                    let status = response["status"].as_str().unwrap_or("error");
                    let id = activation["activationId"].as_str().unwrap_or("");
                    eprintln!(
                        "error: the function failed ({status}); see 'sluice activations logs {id}'"
                    );
                }
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

/// Polls until the activation is readable (the local run finished), for at most 15 minutes.
fn wait_recorded(conn: &Connection, id: &str) {
    conn.runtime.block_on(async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(900);
        while tokio::time::Instant::now() < deadline {
            if conn.client.activation(id).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_parse_as_json_when_they_can() {
        let pairs: Vec<String> = ["name", "World", "n", "0", "list", "[1,2]"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let p = parameters(None, &pairs).expect("params");
        assert_eq!(
            p,
            serde_json::json!({"name": "World", "n": 0, "list": [1, 2]})
        );
    }
}
