//! `/nimbella/builder`: the remote-build actions of DigitalOcean's platform, served by the
//! local namespace (deployer spec §12). `getUploadUrl` issues a slice name and an upload URL
//! on this server ([`crate::slices`]); `build_<runtime>` runs the slice deployer — this very
//! sluice executable as `sluice deploy slice:<name>` — and answers with its
//! `{transcript, outcome}` line as the activation's result, exactly what a remote-build
//! client polls for.
//!
//! Why it is built this way:
//! - A `build_<runtime>` action exists only for the runtimes whose toolchain is on this
//!   machine (node, python3, go, php on the PATH when the catalog is installed), so a client
//!   asking for another one gets the 404 it gets from a platform without that builder.
//! - Only the invoker's own slices are built (the slice name starts with its namespace): one
//!   namespace cannot deploy another's upload.
//! - The slice deployer is found as the executable this server runs in, and only when that
//!   is `sluice` (a server embedded in some other program, such as a test binary, has no
//!   slice deployer and says so instead of running something else).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::BuiltinOutcome;
use crate::error::LocalError;
use crate::slices::{self, SliceName};
use crate::state::AppState;

/// The package's name.
pub const PACKAGE: &str = "builder";
/// The upload permission action.
pub const GET_UPLOAD_URL: &str = "getUploadUrl";
/// How long a build may run: what the client waits for (900 polls, one a second).
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(900);
/// The variable that hands the slice's key to the slice deployer (spec §12.2).
pub const ENCRYPTION_KEY: &str = "ENCRYPTION_KEY";

/// The program that must be on the PATH for a runtime family to be built here.
fn toolchain(family: &str) -> Option<&'static str> {
    match family {
        "nodejs" => Some("node"),
        "python" => Some("python3"),
        "go" => Some("go"),
        "php" => Some("php"),
        _ => None,
    }
}

/// Whether `program` is an executable file in one of the PATH's directories.
fn on_path(program: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| is_executable(&dir.join(program)))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.with_extension("exe").is_file() || path.is_file()
}

/// `build_<kind with : as _>` for every kind of `runtimes` whose toolchain is on the PATH,
/// sorted.
pub fn build_action_names(runtimes: &sluice_core::RuntimeTable) -> Vec<String> {
    let mut names: Vec<String> = runtimes
        .all_kinds()
        .into_iter()
        .filter(|kind| toolchain(sluice_core::runtimes::family(kind)).is_some_and(on_path))
        .map(|kind| format!("build_{}", kind.replace(':', "_")))
        .collect();
    names.sort();
    names.dedup();
    names
}

pub(super) fn upload_annotations() -> Value {
    json!({"description": "Permission to upload a remote-build slice: answers {url, sliceName}",
           "parameters": [{"name": "action", "required": true}]})
}

pub(super) fn build_annotations() -> Value {
    json!({"description": "Builds and deploys an uploaded slice: answers {transcript, outcome}",
           "parameters": [{"name": "toBuild", "required": true},
                          {"name": "encryptionKey", "required": false}]})
}

/// `getUploadUrl`: a fresh slice name of the invoker and the URL to `PUT` it to.
pub(super) async fn get_upload_url(
    state: &AppState,
    args: Map<String, Value>,
    invoker: &str,
) -> Result<BuiltinOutcome, LocalError> {
    if args.get("action").and_then(Value::as_str).is_none() {
        return Ok(BuiltinOutcome::error(
            "getUploadUrl needs the parameter 'action' (<package>_<function>)",
        ));
    }
    let Some(api_host) = state.api_host.get().cloned() else {
        return Ok(BuiltinOutcome::error(
            "this server is not listening, so it has no upload URL",
        ));
    };
    let data_dir = state.data_dir.clone();
    let namespace = invoker.to_string();
    let name = tokio::task::spawn_blocking(move || slices::issue(&data_dir, &namespace))
        .await
        .map_err(|e| LocalError::Task(format!("the slice store task failed: {e}")))??;
    Ok(BuiltinOutcome::success(json!({
        "url": slices::upload_url(&api_host, &name),
        "sliceName": name.to_string(),
    })))
}

/// The slice deployer: this executable when it is sluice.
fn slice_deployer() -> Result<PathBuf, String> {
    let exe =
        std::env::current_exe().map_err(|e| format!("the slice deployer cannot be found ({e})"))?;
    let stem = exe
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if stem != "sluice" {
        return Err(format!(
            "this server runs inside '{}', not the sluice executable, so it has no slice deployer; serve the namespace with 'sluice serve' to build remotely",
            exe.display()
        ));
    }
    Ok(exe)
}

/// `build_<runtime>`: runs `sluice deploy slice:<toBuild>` with the key and answers with
/// its `{transcript, outcome}`.
pub(super) async fn build(
    state: &AppState,
    args: Map<String, Value>,
    invoker: &str,
) -> Result<BuiltinOutcome, LocalError> {
    let Some(to_build) = args.get("toBuild").and_then(Value::as_str) else {
        return Ok(BuiltinOutcome::error(
            "a build needs the parameter 'toBuild' (the slice name getUploadUrl gave)",
        ));
    };
    // The original deployer sends the key of its encrypted config; its predecessor
    // (`@nimbella/nimbella-deployer`) sends none, and its config is plain.
    let key = args.get("encryptionKey").and_then(Value::as_str);
    let name = match SliceName::parse(to_build) {
        Ok(n) if n.namespace() == invoker => n,
        Ok(_) => {
            return Ok(BuiltinOutcome::error(format!(
                "Error: the slice '{to_build}' was not uploaded by namespace '{invoker}'"
            )));
        }
        Err(e) => return Ok(BuiltinOutcome::error(format!("Error: {e}"))),
    };
    if !slices::zip_path(&state.data_dir, &name).is_file() {
        return Ok(BuiltinOutcome::error(format!(
            "Error: Could not fetch slice '{name}': nothing was uploaded to it"
        )));
    }
    let exe = match slice_deployer() {
        Ok(e) => e,
        Err(message) => return Ok(BuiltinOutcome::error(format!("Error: {message}"))),
    };
    let mut cmd = tokio::process::Command::new(&exe);
    cmd.arg("deploy")
        .arg(format!("slice:{name}"))
        .env_remove(ENCRYPTION_KEY)
        .env("SLUICE_LOCAL_DIR", state.data_dir.as_path())
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(key) = key {
        cmd.env(ENCRYPTION_KEY, key);
    }
    let child = cmd.spawn().map_err(|source| LocalError::Io {
        path: exe.clone(),
        source,
    })?;
    let output = match tokio::time::timeout(BUILD_TIMEOUT, child.wait_with_output()).await {
        Ok(out) => out.map_err(|source| LocalError::Io { path: exe, source })?,
        Err(_) => {
            return Ok(BuiltinOutcome::error(format!(
                "Error: the build of slice '{name}' ran longer than {} s and was stopped",
                BUILD_TIMEOUT.as_secs()
            )));
        }
    };
    Ok(outcome_of(
        &output.stdout,
        &output.stderr,
        output.status.code(),
    ))
}

/// The slice deployer's answer: its `{transcript, outcome}` line, else its error output.
fn outcome_of(stdout: &[u8], stderr: &[u8], code: Option<i32>) -> BuiltinOutcome {
    let stdout = String::from_utf8_lossy(stdout);
    let result = stdout
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .find(|v| v.get("outcome").is_some());
    if let Some(result) = result {
        return BuiltinOutcome::success(result);
    }
    let stderr = String::from_utf8_lossy(stderr);
    let text = stderr.trim();
    let message = if text.is_empty() {
        format!(
            "Error: the slice deployer exited with status {} and gave no result",
            code.map_or_else(|| "(killed)".to_string(), |c| c.to_string())
        )
    } else {
        text.to_string()
    };
    BuiltinOutcome::error(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::ActivationStatus;

    #[test]
    fn the_result_line_is_the_answer_and_stderr_the_error() {
        let ok = outcome_of(
            b"noise\n{\"transcript\":[],\"outcome\":{\"successes\":[]}}\n",
            b"",
            Some(0),
        );
        assert_eq!(ok.status, ActivationStatus::Success);
        assert_eq!(ok.result["outcome"], json!({"successes": []}));
        let failed = outcome_of(
            b"",
            "›   Error: Could not fetch slice\n".as_bytes(),
            Some(1),
        );
        assert_eq!(failed.status, ActivationStatus::ApplicationError);
        assert_eq!(failed.result["error"], "›   Error: Could not fetch slice");
        let silent = outcome_of(b"", b"", Some(3));
        assert!(
            silent.result["error"]
                .as_str()
                .is_some_and(|e| e.contains("status 3")),
            "{:?}",
            silent.result
        );
    }

    #[test]
    fn build_actions_follow_the_toolchains_on_the_path() {
        let table = sluice_core::RuntimeTable::builtin();
        let names = build_action_names(&table);
        assert_eq!(
            names.iter().any(|n| n.starts_with("build_nodejs_")),
            on_path("node")
        );
        assert_eq!(
            names.iter().any(|n| n.starts_with("build_python_")),
            on_path("python3")
        );
        assert!(!names.iter().any(|n| n.starts_with("build_nodejs-lambda")));
        assert!(names.iter().all(|n| !n.contains(':')));
    }
}
