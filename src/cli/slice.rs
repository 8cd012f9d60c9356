//! `sluice deploy slice:<name>`: the slice deployer (deployer spec §12.5), what a builder
//! action runs. The slice comes from the local namespace's slice store (where
//! `getUploadUrl`'s upload URL put it), is unpacked into `<tmp>/slices/<name>` and its
//! config decrypted with `ENCRYPTION_KEY` (sluice-remote-builder; the slices of the
//! original's predecessor are plain and come without a key), and that directory is
//! read as the project by the ordinary reader, the decrypted config standing in for its
//! `project.yml`. Credentials and flags come from the config; progress is dropped and only
//! warnings reach the transcript; one `{transcript, outcome}` line is printed on stdout, and
//! the slice is removed from the store when nothing failed.
//!
//! As the original, a read or prepare failure prints only `›   Error: …` on stderr and no
//! JSON (the builder action answers with that text as the activation's error).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sluice_core::ops::{self, DeployOptions, ResolvedTarget, Targets};
use sluice_core::{Credentials, DeployResponse, Flags, Recorder};
use sluice_local::slices::{self, SliceName};

use super::render::CliError;

/// The prefix that makes a project location a slice.
pub const PREFIX: &str = "slice:";

/// What the slice deployer takes from the decrypted config besides the project.
#[derive(Deserialize)]
struct SliceSettings {
    credentials: Option<Credentials>,
    flags: Option<serde_yaml::Value>,
}

/// The one line printed after deploying.
#[derive(Serialize)]
struct SliceResult {
    transcript: Vec<String>,
    outcome: DeployResponse,
}

/// The config's credentials, whatever namespace the slice names.
struct SliceTargets(Credentials);

impl Targets for SliceTargets {
    fn resolve(&self, _target_namespace: Option<&str>) -> sluice_core::Result<ResolvedTarget> {
        Ok(ResolvedTarget {
            credentials: self.0.clone(),
            local: false,
            guard: None,
        })
    }
}

fn legacy_error(message: &str) -> ExitCode {
    let marker = if cfg!(windows) { "»" } else { "›" };
    eprintln!("{marker}   Error: {message}");
    ExitCode::FAILURE
}

/// `deploy slice:<name>` takes nothing else: the slice's config sets its flags, so any other
/// argument would be accepted and do nothing. `args` is the process's command line.
pub fn refuse_other_arguments(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Result<(), CliError> {
    let args: Vec<String> = args
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let after_deploy = args
        .iter()
        .position(|a| a == "deploy")
        .map_or(&args[..0], |i| &args[i + 1..]);
    let others: Vec<&String> = after_deploy
        .iter()
        .filter(|a| !a.starts_with(PREFIX))
        .collect();
    if others.is_empty() {
        return Ok(());
    }
    Err(CliError::msg(format!(
        "'deploy slice:<name>' takes no other arguments (got {})",
        others
            .iter()
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .with_help("the slice's own config sets its flags and credentials; run it as 'sluice deploy slice:<name>' with ENCRYPTION_KEY set"))
}

/// Deploys the slice `name` (the location without `slice:`).
pub fn run(name: &str) -> Result<ExitCode, CliError> {
    // Without a key the slice's config must be plain (the predecessor's slices are).
    let key = std::env::var("ENCRYPTION_KEY")
        .ok()
        .filter(|k| !k.trim().is_empty());
    let slice = match SliceName::parse(name) {
        Ok(s) => s,
        Err(e) => return Ok(legacy_error(&format!("Could not fetch slice: {e}"))),
    };
    let data_dir = match sluice_local::server::default_data_dir() {
        Ok(d) => d,
        Err(e) => return Ok(legacy_error(&format!("Could not fetch slice: {e}"))),
    };
    let zip_path = slices::zip_path(&data_dir, &slice);
    let zip = match std::fs::read(&zip_path) {
        Ok(z) => z,
        Err(e) => {
            return Ok(legacy_error(&format!(
                "Could not fetch slice '{slice}' ({}): {e}",
                zip_path.display()
            )));
        }
    };
    let has_default_build = Path::new(sluice_remote_builder::DEFAULT_BUILD).is_file();
    let opened = match sluice_remote_builder::open_slice(
        &zip,
        &slice.to_string(),
        key.as_deref(),
        &sluice_remote_builder::slices_cache_dir(),
        has_default_build,
    ) {
        Ok(o) => o,
        Err(e) => return Ok(legacy_error(&e.to_string())),
    };
    let settings: SliceSettings = match serde_yaml::from_str(&opened.config) {
        Ok(s) => s,
        Err(e) => {
            return Ok(legacy_error(&format!(
                "The slice's project.yml is not valid YAML: {e}"
            )));
        }
    };
    let Some(credentials) = settings.credentials else {
        return Ok(legacy_error(
            "The slice's project.yml has no credentials: it was not made by a remote build client",
        ));
    };
    sluice_fs_reader::source_cache::supply(&opened.dir.join("project.yml"), &opened.config);

    let flags = slice_flags(settings.flags);
    let recorder = Arc::new(Recorder::default());
    let mut session = super::session::bare(recorder.clone());
    // A slice is built here; nothing of it is sent to another builder.
    session
        .engine
        .registry
        .set_remote_builder(Arc::new(sluice_remote_builder::InSlice));
    let location = opened.dir.display().to_string();
    let options = DeployOptions::new(location, flags, None);
    let targets = SliceTargets(credentials);
    let runtime = tokio::runtime::Runtime::new().map_err(CliError::other)?;
    let outcome = match runtime.block_on(ops::deploy::deploy(&session, &options, &targets)) {
        Ok(o) => o.response,
        Err(e) => return Ok(legacy_error(&e.to_string())),
    };
    let failed = !outcome.failures.is_empty();
    let line = SliceResult {
        transcript: recorder.warnings(),
        outcome,
    };
    println!("{}", serde_json::to_string(&line).map_err(CliError::other)?);
    if !failed {
        // Kept when something failed, for a look at what was sent.
        slices::remove(&data_dir, &slice).map_err(CliError::other)?;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The config's flags (the client's, with `remoteBuild` off), as this deployer runs them:
/// never incremental or pruning (a slice has no deploy history), never remote.
fn slice_flags(given: Option<serde_yaml::Value>) -> Flags {
    let mut flags: Flags = given
        .and_then(|v| serde_yaml::from_value(v).ok())
        .unwrap_or_default();
    flags.remote_build = false;
    flags.incremental = false;
    flags.trust_local = false;
    flags.prune = false;
    flags.explain = false;
    flags.env = None;
    flags.build_env = None;
    flags.environment = None;
    flags.json = true;
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slice_deploy_takes_no_other_arguments() {
        let line = |a: &[&str]| a.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert!(refuse_other_arguments(line(&["sluice", "deploy", "slice:local/x"])).is_ok());
        let refused = refuse_other_arguments(line(&[
            "sluice",
            "deploy",
            "slice:local/x",
            "--remote-build",
        ]))
        .expect_err("refused");
        assert!(
            refused.to_string().contains("'--remote-build'"),
            "{refused}"
        );
    }

    #[test]
    fn the_clients_flags_are_kept_but_nothing_remote_or_incremental() {
        let given: serde_yaml::Value = serde_yaml::from_str(
            "verboseBuild: true\nremoteBuild: true\nincremental: true\nbuildEnv: x.env\nunknownToUs: 1\n",
        )
        .expect("yaml");
        let flags = slice_flags(Some(given));
        assert!(flags.verbose_build);
        assert!(!flags.remote_build && !flags.incremental);
        assert_eq!(flags.build_env, None);
        assert!(!slice_flags(None).remote_build);
    }
}
