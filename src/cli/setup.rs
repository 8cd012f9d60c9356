//! What every command needs: the registry of built-in plugins, sluice's home directory and a
//! snapshot of the environment.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use sluice_core::{Origin, Registry};

/// Diagnostics for developers, through `SLUICE_LOG=debug` (never on by default).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SLUICE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The process environment, as readers and builders see it.
pub fn env_snapshot() -> BTreeMap<String, String> {
    std::env::vars().collect()
}

/// sluice's home: `$SLUICE_HOME`, else `~/.sluice`.
pub fn home_dir() -> Option<PathBuf> {
    if let Some(h) = std::env::var_os("SLUICE_HOME").filter(|h| !h.is_empty()) {
        return Some(PathBuf::from(h));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".sluice"))
}

/// The built-in readers, builders and deployers.
pub fn builtin_registry() -> Registry {
    let mut r = Registry::new();
    // Built-ins have distinct names, so registration cannot fail.
    // Registration lines are added by each plugin as it lands:
    let _ = r.add_reader(Arc::new(sluice_fs_reader::FsReader), Origin::BuiltIn, false);
    let _ = r.add_builder(Arc::new(sluice_core::Finder), Origin::BuiltIn, false);
    let _ = r.add_builder(
        Arc::new(sluice_script_builder::ScriptBuilder),
        Origin::BuiltIn,
        false,
    );
    let _ = r.add_builder(
        Arc::new(sluice_npm_builder::NpmBuilder),
        Origin::BuiltIn,
        false,
    );
    let _ = r.add_builder(
        Arc::new(sluice_go_builder::GoBuilder),
        Origin::BuiltIn,
        false,
    );
    let _ = r.add_builder(
        Arc::new(sluice_python_builder::PythonBuilder),
        Origin::BuiltIn,
        false,
    );
    r.set_remote_builder(Arc::new(sluice_remote_builder::RemoteBuild));
    let _ = r.add_deployer(
        Arc::new(sluice_openwhisk::OpenWhiskDeployer::new()),
        Origin::BuiltIn,
        false,
    );
    r
}
