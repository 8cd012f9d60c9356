//! `sluice plugins trust <library>...`: records each library's SHA-256 in
//! `$SLUICE_HOME/trusted-plugins.json`, so a project.yml that lists it may load it (see
//! `sluice_plugin_abi::trust` for why project libraries need this at all).

use std::path::PathBuf;
use std::process::ExitCode;

use sluice_plugin_abi::TrustStore;

use serde::Serialize;

use crate::cli::render::{CliError, OutputArgs, print_json};
use crate::cli::setup;

#[derive(Debug, clap::Args)]
pub struct TrustArgs {
    /// The plugin libraries to trust (.so, .dylib, .dll), as project.yml lists them
    #[arg(required = true, value_name = "LIBRARY")]
    libraries: Vec<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
}

/// What `plugins trust --json` prints.
#[derive(Debug, Serialize)]
struct Trusted {
    trusted: Vec<TrustedLibrary>,
    /// The file the records are in.
    store: PathBuf,
}

#[derive(Debug, Serialize)]
struct TrustedLibrary {
    path: PathBuf,
    sha256: String,
}

pub fn run(args: TrustArgs) -> Result<ExitCode, CliError> {
    let home = setup::home_dir()
        .ok_or_else(|| CliError::msg("cannot find sluice's home: set SLUICE_HOME or HOME"))?;
    let mut store = TrustStore::load(&home)?;
    let mut trusted = Vec::new();
    for library in &args.libraries {
        let (path, digest) = store
            .trust(library)
            .map_err(|e| CliError::from(e).with_help("give the path of a built plugin library"))?;
        trusted.push((path, digest));
    }
    store.save()?;
    if args.output.json() {
        print_json(&Trusted {
            trusted: trusted
                .into_iter()
                .map(|(path, sha256)| TrustedLibrary { path, sha256 })
                .collect(),
            store: store.path().to_path_buf(),
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    for (path, digest) in trusted {
        println!(
            "Trusted {} (sha256 {}); a changed library must be trusted again",
            path.display(),
            &digest[..16.min(digest.len())]
        );
    }
    println!("Recorded in {}", store.path().display());
    Ok(ExitCode::SUCCESS)
}
