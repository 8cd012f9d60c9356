//! `sluice version`.

use std::process::ExitCode;

use super::CliError;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the versions as JSON (sluice, the plugin API)
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let version = env!("CARGO_PKG_VERSION");
    if args.json {
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
