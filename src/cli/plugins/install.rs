//! `sluice plugins install <crate-dir|library>`: one command from a plugin's sources to a
//! plugin sluice loads. A directory with a `Cargo.toml` is built with
//! `cargo build --release --lib` (into the target directory cargo picks: `$CARGO_TARGET_DIR`,
//! the workspace's or the crate's own `target/`), and the `cdylib` cargo reports is taken; a
//! file is taken as the built library. Either way the library is loaded once here, so only a
//! real sluice plugin of a matching ABI is installed, then copied into
//! `$SLUICE_HOME/plugins/` under a temporary name and renamed into place (a running sluice
//! that has the old copy loaded keeps working).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use serde::{Deserialize, Serialize};
use sluice_plugin_abi::{PluginSource, PluginSpec};

use crate::cli::render::{CliError, OutputArgs, StderrFeedback, print_json};
use crate::cli::setup;

#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// A plugin crate (a directory with Cargo.toml, built with cargo in release mode) or a
    /// built plugin library (.so, .dylib, .dll)
    source: PathBuf,
    #[command(flatten)]
    output: OutputArgs,
}

/// What `--json` prints.
#[derive(Debug, Serialize)]
struct Installed {
    name: String,
    version: String,
    path: String,
    provides: Vec<String>,
}

/// One line of `cargo build --message-format=json`, as far as sluice reads it.
#[derive(Debug, Deserialize)]
struct CargoMessage {
    reason: String,
    #[serde(default)]
    manifest_path: Option<PathBuf>,
    #[serde(default)]
    target: Option<CargoTarget>,
    #[serde(default)]
    filenames: Vec<PathBuf>,
}

#[derive(Debug, Deserialize)]
struct CargoTarget {
    kind: Vec<String>,
}

pub fn run(args: InstallArgs) -> Result<ExitCode, CliError> {
    let home = setup::home_dir()
        .ok_or_else(|| CliError::msg("cannot find sluice's home: set SLUICE_HOME or HOME"))?;
    let library = if args.source.join("Cargo.toml").is_file() {
        build_crate(&args.source)?
    } else if is_library(&args.source) {
        args.source.clone()
    } else {
        return Err(CliError::msg(format!(
            "{} is neither a plugin crate (no Cargo.toml) nor a plugin library",
            args.source.display()
        ))
        .with_help(format!(
            "give a crate directory, or a built library ending in {}",
            std::env::consts::DLL_SUFFIX
        )));
    };
    // Loading checks the entry point, the ABI version and the declaration.
    let mut registry = setup::builtin_registry();
    let spec = PluginSpec {
        path: library.clone(),
        replaces: None,
        source: PluginSource::CommandLine,
    };
    let loaded = sluice_plugin_abi::load_into(&mut registry, &[spec], &StderrFeedback)
        .map_err(|e| CliError::from_core(&e, None))?;
    let Some(plugin) = loaded.into_iter().next() else {
        return Err(CliError::msg(format!(
            "{} was not loaded",
            library.display()
        )));
    };
    let dir = home.join("plugins");
    let file_name = library
        .file_name()
        .ok_or_else(|| CliError::msg(format!("{} has no file name", library.display())))?;
    let dest = dir.join(file_name);
    copy_into_place(&library, &dest)?;
    let provides: Vec<String> = [
        ("reader", &plugin.reader),
        ("builder", &plugin.builder),
        ("deployer", &plugin.deployer),
    ]
    .into_iter()
    .filter_map(|(kind, name)| name.as_ref().map(|n| format!("{kind} {n}")))
    .collect();
    if args.output.json() {
        print_json(&Installed {
            name: plugin.name,
            version: plugin.version,
            path: dest.display().to_string(),
            provides,
        })?;
    } else {
        println!(
            "Installed plugin '{}' {} ({}) as {}",
            plugin.name,
            plugin.version,
            provides.join(", "),
            dest.display()
        );
        println!("Every sluice command now loads it; 'sluice plugins list' shows it.");
    }
    Ok(ExitCode::SUCCESS)
}

fn is_library(path: &Path) -> bool {
    path.is_file()
        && path
            .extension()
            .is_some_and(|x| x == "so" || x == "dylib" || x == "dll")
}

/// Builds the crate in `dir` and returns the path of its `cdylib`.
fn build_crate(dir: &Path) -> Result<PathBuf, CliError> {
    let manifest = dir.join("Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("Building {} (cargo build --release)", dir.display());
    let output = Command::new(&cargo)
        .args([
            "build",
            "--release",
            "--lib",
            "--message-format=json-render-diagnostics",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| {
            CliError::msg(format!("cannot run cargo: {e}")).with_help(
                "install Rust (https://rustup.rs) to build plugin crates, or give a built library",
            )
        })?;
    if !output.status.success() {
        return Err(CliError::msg(format!(
            "cargo could not build the plugin crate {}",
            dir.display()
        ))
        .with_help("the compiler's messages are above"));
    }
    let wanted = std::fs::canonicalize(&manifest).unwrap_or(manifest);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let library = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<CargoMessage>(line).ok())
        .filter(|m| m.reason == "compiler-artifact")
        .filter(|m| m.manifest_path.as_deref() == Some(wanted.as_path()))
        .filter(|m| {
            m.target
                .as_ref()
                .is_some_and(|t| t.kind.iter().any(|k| k == "cdylib"))
        })
        .flat_map(|m| m.filenames)
        .find(|f| is_library(f));
    library.ok_or_else(|| {
        CliError::msg(format!("{} builds no shared library", dir.display()))
            .with_help("a plugin crate says crate-type = [\"cdylib\"] under [lib]")
    })
}

/// Copies `from` to `to` through a temporary file in the same directory and a rename.
fn copy_into_place(from: &Path, to: &Path) -> Result<(), CliError> {
    let dir = to.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::msg(format!("cannot create {}: {e}", dir.display())))?;
    let tmp = dir.join(format!(
        ".{}.installing",
        to.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    std::fs::copy(from, &tmp)
        .and_then(|_| std::fs::rename(&tmp, to))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            CliError::msg(format!("cannot install {}: {e}", to.display()))
        })
}
