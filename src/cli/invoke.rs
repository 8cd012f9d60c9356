//! `sluice invoke <fn>`: runs a function and prints its result (or, with `--no-wait`, the id
//! of the activation to read back later). Works against the embedded local namespace and any
//! OpenWhisk / DigitalOcean namespace alike.

use std::process::ExitCode;

use sluice_openwhisk::{InvokeOptions, InvokeOutcome};

use super::params::ParamArgs;
use super::render::{CliError, print_json};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The function: `pkg/name`, or `name` for one outside any package
    function: String,
    #[command(flatten)]
    params: ParamArgs,
    /// Do not wait: print the activation id and read the outcome later with `sluice activations`
    #[arg(long)]
    no_wait: bool,
    /// Print the whole activation record, not just the result
    #[arg(long)]
    full: bool,
    #[command(flatten)]
    output: super::render::OutputArgs,
    #[command(flatten)]
    target: super::run_target::RunTargetArgs,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let params = args.params.parameters()?;
    let conn = args.target.connect()?;
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
                conn.error(e)
            }
        })?;
    match outcome {
        InvokeOutcome::Accepted { activation_id } => {
            if args.output.json() {
                print_json(&serde_json::json!({ "activationId": activation_id }))?;
            } else {
                println!("{activation_id}");
                let get = format!("'sluice activations get {activation_id}'");
                if args.no_wait {
                    eprintln!("Started in the background. Read the outcome with {get}.");
                } else {
                    eprintln!(
                        "The function has not finished yet. Read the outcome later with {get}."
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        InvokeOutcome::ArrayResult { result, .. } => {
            print_json(&result)?;
            Ok(ExitCode::SUCCESS)
        }
        InvokeOutcome::Finished { activation, .. } => {
            if args.full {
                print_json(&activation)?;
            } else {
                print_json(activation.result())?;
            }
            if activation.is_success() {
                return Ok(ExitCode::SUCCESS);
            }
            if !args.output.json() {
                let status = activation.status().filter(|s| !s.is_empty());
                eprintln!(
                    "error: the function failed ({}); see 'sluice activations logs {}'",
                    status.unwrap_or("error"),
                    activation.activation_id
                );
            }
            Ok(ExitCode::FAILURE)
        }
    }
}
