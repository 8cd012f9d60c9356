//! `sluice version`.

use std::process::ExitCode;

use super::CliError;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    output: super::render::OutputArgs,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let version = env!("CARGO_PKG_VERSION");
    if args.output.json() {
        let v = serde_json::json!({ "sluice": version, "pluginApi": sluice_core::HOST_VERSION });
        println!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(CliError::other)?
        );
    } else {
        println!("{version}");
    }
    Ok(ExitCode::SUCCESS)
}
