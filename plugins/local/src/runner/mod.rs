//! The container-free runner: executes `nodejs:*`, `python:*` and `go:*` actions in child
//! processes of the real `node` / `python3` (Go code is compiled with the host's `go`), the way
//! an OpenWhisk invoker drives an action container.
//!
//! Why this shape: OpenWhisk runtimes speak the "actionloop" protocol (one JSON line in, one
//! JSON line out, user output kept apart for logs). We keep that protocol but swap the container
//! for a plain process started from a small launcher embedded in the binary (`launchers/`), and
//! talk to it over a loopback TCP connection so that the user's stdout and stderr remain free to
//! become activation logs. Code is materialised once per action version in a cache directory
//! ([`code`], [`go`]); warm processes are kept and reused ([`pool`], [`idle`]) within a bounded
//! pool: a global cap sized from the CPU count and a per-action cap ([`settings`]), runs beyond
//! them wait in a first-come, first-served queue. Every run has the action's time limit
//! enforced by killing the process, and every process has its memory limit and, where the
//! kernel has Landlock, a file-system confinement ([`confine`]).
//!
//! The runner knows nothing about HTTP, SQLite or packages: the caller merges parameters
//! ([`params`]), and turns the [`RunOutcome`] into an activation record.

mod code;
mod confine;
mod go;
mod idle;
mod launchers;
mod logs;
pub mod params;
mod pool;
pub mod settings;
mod worker;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

pub use code::CodeError;
pub use confine::{Confinement, confinement};
pub use logs::format_log_line;
pub use pool::Runner;
pub use settings::{RunnerSettings, SettingError};

/// Largest result a function may return (1 MB, as the OpenWhisk default).
pub const MAX_RESULT_BYTES: usize = 1024 * 1024;

/// The outcome classes of an activation, with the controller's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ActivationStatus {
    /// The function returned a dictionary (or array) without `error`.
    #[serde(rename = "success")]
    Success,
    /// The function returned a dictionary with a top-level `error` member.
    #[serde(rename = "application error")]
    ApplicationError,
    /// The function crashed, timed out, failed to load or returned something unusable.
    #[serde(rename = "action developer error")]
    DeveloperError,
    /// The platform failed.
    #[serde(rename = "whisk internal error")]
    WhiskError,
}

impl ActivationStatus {
    /// The status string used in full activation records (`"action developer error"` …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::ApplicationError => "application error",
            Self::DeveloperError => "action developer error",
            Self::WhiskError => "whisk internal error",
        }
    }

    /// The numeric `statusCode` of brief activation records.
    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::ApplicationError => 1,
            Self::DeveloperError => 2,
            Self::WhiskError => 3,
        }
    }

    /// Parses [`ActivationStatus::as_str`] back.
    pub fn from_str_name(s: &str) -> Option<Self> {
        [
            Self::Success,
            Self::ApplicationError,
            Self::DeveloperError,
            Self::WhiskError,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// Everything the runner needs to know about the action it runs.
#[derive(Debug, Clone)]
pub struct RunnableAction {
    /// The namespace that owns the action (`guest`).
    pub namespace: String,
    /// The package, if the action is inside one.
    pub package: Option<String>,
    /// The action's own name.
    pub name: String,
    /// The action's version (`0.0.3`): part of the warm-process key.
    pub version: String,
    /// The resolved kind (`nodejs:20`, `python:3.11`).
    pub kind: String,
    /// Source text, or base64 of a zip when `binary`.
    pub code: String,
    /// Whether `code` is a base64 zip.
    pub binary: bool,
    /// `exec.main`, when given.
    pub main: Option<String>,
    /// `limits.timeout` in milliseconds.
    pub timeout_ms: u64,
    /// `limits.logs` in megabytes.
    pub logs_mb: u64,
    /// `limits.memory` in megabytes: the worker's data segment limit (`RLIMIT_DATA`, Linux);
    /// 0 for none.
    pub memory_mb: u64,
}

impl RunnableAction {
    /// `/ns/pkg/name`, the value of `__OW_ACTION_NAME`.
    pub fn qualified_name(&self) -> String {
        match &self.package {
            Some(p) => format!("/{}/{}/{}", self.namespace, p, self.name),
            None => format!("/{}/{}", self.namespace, self.name),
        }
    }
}

/// One run of an action.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The argument passed to `main` (already merged, without init parameters).
    pub args: Value,
    /// The init environment: `init: true` parameters as strings (see [`params::split`]).
    pub env: BTreeMap<String, String>,
    /// The activation id (32 hex chars).
    pub activation_id: String,
    /// The transaction (request) id.
    pub transaction_id: String,
    /// `__OW_API_HOST`: the URL functions can call back.
    pub api_host: Option<String>,
    /// `__OW_API_KEY`, when the action may see it.
    pub api_key: Option<String>,
}

/// What happened in one run; the caller turns it into an activation record.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The outcome class.
    pub status: ActivationStatus,
    /// `response.result`: the function's result, or `{"error": …}`.
    pub result: Value,
    /// Log lines in the controller's format.
    pub logs: Vec<String>,
    /// Epoch milliseconds when the run started (after any queueing).
    pub start: u64,
    /// Epoch milliseconds when it ended.
    pub end: u64,
    /// Cold start: how long starting the process and loading the code took (ms).
    pub init_time: Option<u64>,
    /// Whether the time limit was hit.
    pub timed_out: bool,
    /// Byte length of the raw result the function produced.
    pub size: Option<usize>,
}

impl RunOutcome {
    /// `end - start` in milliseconds.
    pub fn duration(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// An outcome that never reached user code (unsupported kind, bad zip, platform failure).
    pub fn failed(status: ActivationStatus, message: impl Into<String>) -> Self {
        let now = now_ms();
        Self {
            status,
            result: serde_json::json!({ "error": message.into() }),
            logs: Vec::new(),
            start: now,
            end: now,
            init_time: None,
            timed_out: false,
            size: None,
        }
    }
}

/// Which interpreter runs a kind, or `None` when it cannot run locally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    /// `nodejs:*`, run by `node`.
    Node,
    /// `python:*`, run by `python3`.
    Python,
    /// `go:*`, compiled by `go` and run by the compiled launcher.
    Go,
}

impl Language {
    /// The language that runs `kind` locally.
    pub fn for_kind(kind: &str) -> Option<Self> {
        match sluice_core::runtimes::family(kind) {
            "nodejs" => Some(Self::Node),
            "python" => Some(Self::Python),
            "go" => Some(Self::Go),
            _ => None,
        }
    }

    /// The launcher's file name and text (Go's is a source file compiled once).
    fn launcher(self) -> (&'static str, &'static str) {
        match self {
            Self::Node => ("node.js", include_str!("../../launchers/node.js")),
            Self::Python => ("python.py", include_str!("../../launchers/python.py")),
            Self::Go => ("proxy.go", go::proxy_source()),
        }
    }

    /// Flags given to the interpreter before the launcher, so what runs locally sees only
    /// what the cloud runtime would: python gets `-I` (no user site-packages, no `PYTHON*`
    /// variables, not the launcher's directory) and `-S` (no host site-packages; the launcher
    /// adds the code directory and the zip's virtualenv itself), plus `-u` because `-I` also
    /// ignores `PYTHONUNBUFFERED`. Node needs none: `NODE_PATH` never reaches it and the
    /// launcher drops the global folders from module lookups.
    pub fn interpreter_args(self) -> &'static [&'static str] {
        match self {
            Self::Node | Self::Go => &[],
            Self::Python => &["-I", "-S", "-u"],
        }
    }

    fn default_program(self) -> &'static str {
        match self {
            Self::Node => "node",
            Self::Python => "python3",
            Self::Go => "go",
        }
    }

    fn program_env(self) -> &'static str {
        match self {
            Self::Node => "SLUICE_NODE",
            Self::Python => "SLUICE_PYTHON",
            Self::Go => "SLUICE_GO",
        }
    }
}

/// Where the runner keeps unpacked code, which interpreters it uses and its limits.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Cache directory for materialised code (one sub-directory per code digest).
    pub cache_dir: PathBuf,
    /// The `node` program (`$SLUICE_NODE`, else `node` on PATH).
    pub node: PathBuf,
    /// The `python3` program (`$SLUICE_PYTHON`, else `python3` on PATH).
    pub python: PathBuf,
    /// The `go` program that compiles Go functions (`$SLUICE_GO`, else `go` on PATH).
    pub go: PathBuf,
    /// The pool's limits: global and per-action caps, idle period.
    pub settings: RunnerSettings,
    /// A directory functions must not read (sluice's data directory, with the namespace keys
    /// and database), enforced where the kernel has Landlock; `None`: no confinement.
    pub protected_dir: Option<PathBuf>,
    /// How long to wait for the end-of-activation markers on stdout/stderr after a result.
    pub log_drain: Duration,
}

impl RunnerConfig {
    /// Defaults, with interpreters taken from `$SLUICE_NODE` / `$SLUICE_PYTHON` / `$SLUICE_GO`
    /// and limits from the `SLUICE_RUNNER_*` variables ([`settings`]) when set; a malformed
    /// limit falls back to its default here (servers check them first with
    /// [`RunnerSettings::from_env`]).
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        let program = |lang: Language| {
            std::env::var_os(lang.program_env())
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(lang.default_program()))
        };
        Self {
            cache_dir: cache_dir.into(),
            node: program(Language::Node),
            python: program(Language::Python),
            go: program(Language::Go),
            settings: RunnerSettings::from_env().unwrap_or_else(|_| RunnerSettings::defaults()),
            protected_dir: None,
            log_drain: Duration::from_secs(2),
        }
    }

    /// Confines functions so that they cannot read `data_dir` ([`confine`]).
    pub fn protecting(mut self, data_dir: impl Into<PathBuf>) -> Self {
        self.protected_dir = Some(data_dir.into());
        self
    }

    fn program(&self, lang: Language) -> &PathBuf {
        match lang {
            Language::Node => &self.node,
            Language::Python => &self.python,
            Language::Go => &self.go,
        }
    }
}

/// The controller's message for a run over its time limit.
pub fn timeout_message(timeout_ms: u64) -> String {
    format!("The action exceeded its time limits of {timeout_ms} milliseconds.")
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Classifies a successful JSON result the way the controller does: an `error` member makes it
/// an application error, and results over [`MAX_RESULT_BYTES`] are refused.
pub fn classify_result(result: Value, size: usize) -> (ActivationStatus, Value) {
    if size > MAX_RESULT_BYTES {
        let msg = format!(
            "The action produced a response that exceeded the allowed length: {size} > {MAX_RESULT_BYTES} bytes."
        );
        return (
            ActivationStatus::ApplicationError,
            serde_json::json!({ "error": msg }),
        );
    }
    let is_error = result.as_object().is_some_and(|o| o.contains_key("error"));
    if is_error {
        (ActivationStatus::ApplicationError, result)
    } else {
        (ActivationStatus::Success, result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_map_to_languages() {
        assert_eq!(Language::for_kind("nodejs:20"), Some(Language::Node));
        assert_eq!(Language::for_kind("nodejs:default"), Some(Language::Node));
        assert_eq!(Language::for_kind("python:3.11"), Some(Language::Python));
        assert_eq!(Language::for_kind("go:1.20"), Some(Language::Go));
        assert_eq!(Language::for_kind("blackbox"), None);
    }

    #[test]
    fn error_member_makes_an_application_error() {
        let (st, r) = classify_result(json!({"error": "nope"}), 16);
        assert_eq!(st, ActivationStatus::ApplicationError);
        assert_eq!(r, json!({"error": "nope"}));
        let (st, _) = classify_result(json!([1, 2]), 5);
        assert_eq!(st, ActivationStatus::Success);
        let (st, r) = classify_result(json!({"a": 1}), MAX_RESULT_BYTES + 1);
        assert_eq!(st, ActivationStatus::ApplicationError);
        assert!(
            r["error"]
                .as_str()
                .is_some_and(|m| m.contains("exceeded the allowed length"))
        );
    }

    #[test]
    fn status_strings_round_trip() {
        for st in [
            ActivationStatus::Success,
            ActivationStatus::ApplicationError,
            ActivationStatus::DeveloperError,
            ActivationStatus::WhiskError,
        ] {
            assert_eq!(ActivationStatus::from_str_name(st.as_str()), Some(st));
        }
        assert_eq!(ActivationStatus::DeveloperError.code(), 2);
    }
}
