//! The client side of the daemon: find the server of a data directory ([`probe`]), start one
//! in the background when none answers ([`ensure`]), stop it ([`stop`]), and manage its
//! namespaces. It speaks plain HTTP/1.1 over a loopback socket to the control routes
//! ([`super::control::CONTROL_PATH`]), so a CLI command pays a millisecond, not a runtime.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::control::CONTROL_PATH;
use super::files::{self, DaemonFile, DaemonStatus};
use crate::error::LocalError;
use crate::owner::DataDirLock;

/// How long [`ensure`] waits for a new server to answer.
const START_WAIT: Duration = Duration::from_secs(20);
/// How long [`stop`] waits for a server to let go of its data directory.
const STOP_WAIT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(10);

/// A namespace of the running server, with its credentials (`uuid:key`; never print them).
#[derive(Clone, Deserialize)]
pub struct NamespaceAuth {
    pub name: String,
    pub auth: String,
}

impl std::fmt::Debug for NamespaceAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamespaceAuth")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The server of `data_dir` and its status, when one answers with the state file's token.
pub fn probe(data_dir: &Path) -> Option<(DaemonFile, DaemonStatus)> {
    let file = files::read_state(data_dir)?;
    let (code, body) = request(&file, "GET", CONTROL_PATH).ok()?;
    if code != 200 {
        return None;
    }
    let status = serde_json::from_slice(&body).ok()?;
    Some((file, status))
}

/// The server of `data_dir`, started in the background with `command` (stdin closed,
/// stdout and stderr appended to the log, in its own process group) when none answers.
/// Waits until it answers; a race with another starter is fine (one takes the lock, both
/// callers then find it).
pub fn ensure(
    data_dir: &Path,
    command: impl FnOnce() -> Command,
) -> Result<(DaemonFile, DaemonStatus), LocalError> {
    if let Some(found) = probe(data_dir) {
        return Ok(found);
    }
    crate::store::create_private_dir(data_dir)?;
    let log_path = files::log_path(data_dir);
    let io = |source| LocalError::Io {
        path: log_path.clone(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let log = options.open(&log_path).map_err(io)?;
    // Where this start's output begins, so a failure reports what this child said.
    let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
    let mut cmd = command();
    cmd.stdin(Stdio::null())
        .stdout(log.try_clone().map_err(io)?)
        .stderr(log);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = cmd.spawn().map_err(io)?;
    let started = Instant::now();
    let failed = |detail: String| LocalError::DaemonStart {
        data_dir: data_dir.to_path_buf(),
        log: log_path.clone(),
        detail,
    };
    loop {
        if let Some(found) = probe(data_dir) {
            // Reap the child whenever it exits, so a long-lived caller keeps no zombie.
            std::thread::spawn(move || child.wait());
            return Ok(found);
        }
        if let Ok(Some(status)) = child.try_wait() {
            // It may have lost the race to another server, which answers in a moment.
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline {
                if let Some(found) = probe(data_dir) {
                    return Ok(found);
                }
                std::thread::sleep(POLL);
            }
            return Err(failed(format!(
                "it exited ({status}): {}",
                output_since(&log_path, log_start)
            )));
        }
        if started.elapsed() > START_WAIT {
            return Err(failed(format!(
                "it did not answer within {}s",
                START_WAIT.as_secs()
            )));
        }
        std::thread::sleep(POLL);
    }
}

/// Stops the server of `data_dir` and waits until it let go of the directory. `None` when
/// none ran (a stale state file is removed).
pub fn stop(data_dir: &Path) -> Result<Option<DaemonStatus>, LocalError> {
    let Some((file, status)) = probe(data_dir) else {
        if DataDirLock::try_acquire(data_dir)?.is_some() {
            let _ = std::fs::remove_file(data_dir.join(files::STATE_FILE));
        }
        return Ok(None);
    };
    let (code, body) = request(&file, "POST", &format!("{CONTROL_PATH}/stop"))
        .map_err(|e| LocalError::Daemon(format!("asking it to stop: {e}")))?;
    if code != 200 {
        return Err(LocalError::Daemon(error_of(code, &body)));
    }
    let started = Instant::now();
    while started.elapsed() < STOP_WAIT {
        if DataDirLock::try_acquire(data_dir)?.is_some() {
            return Ok(Some(status));
        }
        std::thread::sleep(POLL);
    }
    Err(LocalError::Daemon(format!(
        "process {} did not stop within {}s",
        status.pid,
        STOP_WAIT.as_secs()
    )))
}

/// The namespaces of the server `file` describes.
pub fn namespaces(file: &DaemonFile) -> Result<Vec<String>, LocalError> {
    control(file, "GET", &format!("{CONTROL_PATH}/namespaces"))
}

/// The namespace `name` and its credentials; `None` when there is none.
pub fn namespace(file: &DaemonFile, name: &str) -> Result<Option<NamespaceAuth>, LocalError> {
    let (code, body) = request(file, "GET", &namespace_path(name))
        .map_err(|e| LocalError::Daemon(e.to_string()))?;
    match code {
        200 => parse(&body).map(Some),
        // A name the server cannot hold is not there; a name with a `/` would not even reach
        // the route (it is encoded, but any 404 is an absent namespace).
        404 => Ok(None),
        _ => Err(LocalError::Daemon(error_of(code, &body))),
    }
}

/// Creates the namespace `name` (or finds it) and returns its credentials.
pub fn create_namespace(file: &DaemonFile, name: &str) -> Result<NamespaceAuth, LocalError> {
    control(file, "PUT", &namespace_path(name))
}

/// Deletes the namespace `name` with everything in it.
pub fn delete_namespace(file: &DaemonFile, name: &str) -> Result<(), LocalError> {
    let _: serde_json::Value = control(file, "DELETE", &namespace_path(name))?;
    Ok(())
}

/// The control route of the namespace `name`, which is any text the user typed: every byte
/// but the unreserved ones is percent-encoded, so a space or a `/` stays inside the one path
/// segment and the server's name rule answers instead of the HTTP parser.
fn namespace_path(name: &str) -> String {
    let mut path = format!("{CONTROL_PATH}/namespaces/");
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            path.push(char::from(b));
        } else {
            path.push_str(&format!("%{b:02X}"));
        }
    }
    path
}

fn control<T: DeserializeOwned>(
    file: &DaemonFile,
    method: &str,
    path: &str,
) -> Result<T, LocalError> {
    let (code, body) =
        request(file, method, path).map_err(|e| LocalError::Daemon(e.to_string()))?;
    if code != 200 {
        return Err(LocalError::Daemon(error_of(code, &body)));
    }
    parse(&body)
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, LocalError> {
    serde_json::from_slice(body)
        .map_err(|e| LocalError::Daemon(format!("unexpected control answer: {e}")))
}

/// The message of an error answer: its `error`, else its text, else its HTTP status (an
/// answer with no body must still say something).
fn error_of(code: u16, body: &[u8]) -> String {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string());
    if message.is_empty() {
        format!("the control request failed with HTTP {code} and no message")
    } else {
        message
    }
}

/// What a server that failed to start wrote to its log from byte `start` on, as one line:
/// its error is usually several (a message, then a help line), and the last alone may not
/// name the cause. At most the last [`REPORTED_LINES`] lines.
fn output_since(log: &Path, start: u64) -> String {
    let text = std::fs::read(log).unwrap_or_default();
    let from = usize::try_from(start).unwrap_or(usize::MAX).min(text.len());
    let text = String::from_utf8_lossy(&text[from..]);
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.trim().trim_start_matches(['×', '│']).trim())
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return "no output".to_string();
    }
    lines[lines.len().saturating_sub(REPORTED_LINES)..].join(" ")
}

/// How many lines of a failed start's output [`ensure`] reports.
const REPORTED_LINES: usize = 6;

/// One HTTP/1.1 request with no body to the server `file` describes: (status, body).
fn request(file: &DaemonFile, method: &str, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect_timeout(&file.connect_addr(), Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_nodelay(true)?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        file.connect_addr(),
        file.token
    );
    stream.write_all(head.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no HTTP header"))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("no HTTP status"))?;
    let body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Ok((code, dechunk(&body)));
    }
    Ok((code, body))
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = body.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&body[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || body.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&body[eol + 2..eol + 2 + size]);
        body = &body[(eol + 4 + size).min(body.len())..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_namespace_name_stays_in_one_path_segment() {
        assert_eq!(
            namespace_path("dev-1_x"),
            format!("{CONTROL_PATH}/namespaces/dev-1_x")
        );
        assert_eq!(
            namespace_path("bad name/x"),
            format!("{CONTROL_PATH}/namespaces/bad%20name%2Fx")
        );
        assert_eq!(
            namespace_path("ü%"),
            format!("{CONTROL_PATH}/namespaces/%C3%BC%25")
        );
    }

    #[test]
    fn an_error_answer_always_says_something() {
        assert_eq!(error_of(400, br#"{"error":"bad name"}"#), "bad name");
        assert_eq!(error_of(502, b" gateway down\n"), "gateway down");
        assert_eq!(
            error_of(400, b""),
            "the control request failed with HTTP 400 and no message"
        );
    }

    #[test]
    fn a_failed_start_reports_what_this_start_wrote() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("daemon.log");
        std::fs::write(&log, "an older run's last line\n")?;
        let start = std::fs::metadata(&log)?.len();
        assert_eq!(output_since(&log, start), "no output");
        let mut text = std::fs::read_to_string(&log)?;
        text.push_str(
            "\n  × $SLUICE_LOCAL_IDLE is 'bogus', which is not a duration\n  help: write it like 30s\n",
        );
        std::fs::write(&log, text)?;
        assert_eq!(
            output_since(&log, start),
            "$SLUICE_LOCAL_IDLE is 'bogus', which is not a duration help: write it like 30s"
        );
        Ok(())
    }
}
