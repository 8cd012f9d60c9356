//! The daemon's files in the data directory, and how long it may sit idle.
//!
//! - `daemon.lock` ([`crate::owner::LOCK_FILE`]): held by the running server; the authority.
//! - `daemon.json` ([`STATE_FILE`], mode 0600, written atomically): pid, address, version and
//!   the control token of the server that holds the lock. A file left by a killed server is
//!   stale: its server does not answer, and the next server replaces it.
//! - `daemon.port` ([`PORT_FILE`]): the port last served, reused so URLs stay valid.
//! - `daemon.log` ([`LOG_FILE`]): what a background server prints.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::LocalError;

/// The state file of the running server.
pub const STATE_FILE: &str = "daemon.json";
/// The remembered port.
pub const PORT_FILE: &str = "daemon.port";
/// The background server's log.
pub const LOG_FILE: &str = "daemon.log";
/// The variable that sets the idle period (`30s`, `15m`, `1h`, `0` for never).
pub const IDLE_ENV: &str = "SLUICE_LOCAL_IDLE";
/// How long a background server waits for a request before it exits.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(15 * 60);

/// What `daemon.json` holds.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DaemonFile {
    pub pid: u32,
    pub host: IpAddr,
    pub port: u16,
    /// `http://<host>:<port>`.
    pub api_host: String,
    /// sluice-local's version.
    pub version: String,
    /// The secret of the control routes (stop, status); the file is the user's alone.
    pub token: String,
}

impl std::fmt::Debug for DaemonFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaemonFile")
            .field("pid", &self.pid)
            .field("api_host", &self.api_host)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl DaemonFile {
    /// Where a client on this machine connects (an unspecified host means loopback).
    pub fn connect_addr(&self) -> SocketAddr {
        let ip = if self.host.is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            self.host
        };
        SocketAddr::new(ip, self.port)
    }
}

/// What a running server says about itself (`sluice local status --json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DaemonStatus {
    pub pid: u32,
    pub api_host: String,
    pub version: String,
    pub data_dir: PathBuf,
    /// The namespaces it serves, sorted.
    pub namespaces: Vec<String>,
    /// Seconds without a request before it exits; `None`: it never exits by itself.
    pub idle_exit_seconds: Option<u64>,
    /// Activations started and not finished.
    pub running_activations: usize,
    /// The runner's caps and what confines local functions.
    #[serde(default)]
    pub runner: RunnerStatus,
}

/// The runner's part of [`DaemonStatus`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunnerStatus {
    /// Most workers running at once (`SLUICE_RUNNER_MAX_WORKERS`).
    pub max_workers: usize,
    /// Most workers running one action at once (`SLUICE_RUNNER_MAX_PER_ACTION`).
    pub max_per_action: usize,
    /// Seconds an idle warm worker is kept (`SLUICE_RUNNER_IDLE_SECS`).
    pub idle_worker_seconds: u64,
    /// Warm workers waiting now.
    pub idle_workers: usize,
    /// How local functions are confined, in one sentence.
    pub confinement: String,
}

/// `daemon.json` of `data_dir`, if there is a readable one.
pub fn read_state(data_dir: &Path) -> Option<DaemonFile> {
    let text = std::fs::read_to_string(data_dir.join(STATE_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Writes `daemon.json` (0600, atomically).
pub fn write_state(data_dir: &Path, file: &DaemonFile) -> Result<(), LocalError> {
    let text = serde_json::to_vec_pretty(file).map_err(|source| LocalError::StoredJson {
        what: "daemon.json",
        source,
    })?;
    crate::server::write_private_atomic(&data_dir.join(STATE_FILE), &text)
}

/// Removes `daemon.json` when it still describes the server with `token`.
pub fn remove_state(data_dir: &Path, token: &str) {
    if read_state(data_dir).is_some_and(|f| f.token == token) {
        let _ = std::fs::remove_file(data_dir.join(STATE_FILE));
    }
}

/// The port remembered for `data_dir`.
pub fn remembered_port(data_dir: &Path) -> Option<u16> {
    std::fs::read_to_string(data_dir.join(PORT_FILE))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Remembers `port` for `data_dir`.
pub fn remember_port(data_dir: &Path, port: u16) -> Result<(), LocalError> {
    crate::server::write_private_atomic(&data_dir.join(PORT_FILE), format!("{port}\n").as_bytes())
}

/// The log file of `data_dir`.
pub fn log_path(data_dir: &Path) -> PathBuf {
    data_dir.join(LOG_FILE)
}

/// Parses an idle period: `500ms`, `30s`, `15m`, `1h`, or bare seconds. `Some(None)` for
/// `0`, `never` or `off` (never exit); `None` when it is not a duration.
pub fn parse_idle(text: &str) -> Option<Option<Duration>> {
    let t = text.trim().to_ascii_lowercase();
    if matches!(t.as_str(), "0" | "never" | "off") {
        return Some(None);
    }
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits.parse().ok()?;
    let d = match unit.trim() {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" | "min" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => return None,
    };
    Some((!d.is_zero()).then_some(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_periods_parse() {
        assert_eq!(parse_idle("30s"), Some(Some(Duration::from_secs(30))));
        assert_eq!(parse_idle("15m"), Some(Some(Duration::from_secs(900))));
        assert_eq!(parse_idle("1h"), Some(Some(Duration::from_secs(3600))));
        assert_eq!(parse_idle("250ms"), Some(Some(Duration::from_millis(250))));
        assert_eq!(parse_idle("45"), Some(Some(Duration::from_secs(45))));
        assert_eq!(parse_idle("never"), Some(None));
        assert_eq!(parse_idle("0"), Some(None));
        assert_eq!(parse_idle("soon"), None);
        assert_eq!(parse_idle("5 parsecs"), None);
    }

    #[test]
    fn the_state_file_is_private_and_round_trips() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = DaemonFile {
            pid: 42,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 3233,
            api_host: "http://127.0.0.1:3233".into(),
            version: "0.1.0".into(),
            token: "t".into(),
        };
        write_state(dir.path(), &file).expect("write");
        assert_eq!(read_state(dir.path()), Some(file));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(STATE_FILE))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        remove_state(dir.path(), "other");
        assert!(read_state(dir.path()).is_some());
        remove_state(dir.path(), "t");
        assert!(read_state(dir.path()).is_none());
    }
}
