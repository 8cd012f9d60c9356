//! One interpreter process running one action version: start (spawn, handshake, load the code),
//! run (one JSON line out, one JSON line back, logs until the end-of-activation markers) and
//! kill. The protocol is described in `launchers/node.js`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::confine::{self, Policy};
use super::logs::{LogCollector, SENTINEL, Stream};

/// Environment variables passed through from sluice to functions; everything else (tokens,
/// credentials) stays out of the function's process.
const PASSED_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "TEMP",
    "TMP",
    "SYSTEMROOT",
    "PYENV_ROOT",
    "PYENV_VERSION",
    "NVM_DIR",
    "NVM_BIN",
];

/// What the log readers report.
#[derive(Debug)]
enum LogEvent {
    Line(Stream, DateTime<Utc>, String),
    Sentinel(Stream),
    Eof,
}

/// How waiting for a protocol line ended.
#[derive(Debug)]
pub enum Wait {
    /// A line arrived.
    Line(String),
    /// The deadline passed.
    TimedOut,
    /// The process went away.
    Died,
}

/// Everything needed to start a worker.
#[derive(Debug)]
pub struct StartSpec<'a> {
    /// The interpreter.
    pub program: &'a Path,
    /// Its flags, before the launcher ([`super::Language::interpreter_args`]).
    pub args: &'a [&'a str],
    /// The launcher script on disk, given to the interpreter (`None`: `program` is the
    /// launcher itself, as Go's compiled one is).
    pub launcher: Option<&'a Path>,
    /// The materialised code.
    pub code_dir: &'a Path,
    /// Whether the code came from a zip.
    pub binary: bool,
    /// `exec.main`.
    pub main: Option<&'a str>,
    /// Init parameters and static `__OW_*` variables.
    pub env: &'a BTreeMap<String, String>,
    /// sluice's data directory, which the worker must not read (when confinement applies).
    pub protected: Option<&'a Path>,
    /// `limits.memory` in megabytes: the process's data segment limit.
    pub memory_mb: u64,
}

/// Why a worker could not be started.
#[derive(Debug)]
pub enum StartError {
    /// The interpreter could not be spawned (not installed?).
    Spawn(std::io::Error),
    /// A platform problem (socket).
    Internal(String),
}

/// A live process with its protocol connection and log streams.
#[derive(Debug)]
pub struct Worker {
    child: Child,
    reader: Option<BufReader<OwnedReadHalf>>,
    writer: Option<OwnedWriteHalf>,
    logs: mpsc::UnboundedReceiver<LogEvent>,
    listener: Option<TcpListener>,
    token: String,
    open_streams: u8,
    /// The worker's own temporary directory (`TMPDIR`), removed with it.
    _tmp: tempfile::TempDir,
}

impl Worker {
    /// Spawns the interpreter; the handshake and code loading happen in [`Worker::init`].
    pub async fn spawn(spec: &StartSpec<'_>) -> Result<Self, StartError> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| StartError::Internal(format!("cannot listen on 127.0.0.1: {e}")))?;
        let port = listener
            .local_addr()
            .map_err(|e| StartError::Internal(e.to_string()))?
            .port();
        let token = uuid::Uuid::new_v4().simple().to_string();
        let tmp = tempfile::Builder::new()
            .prefix("sluice-worker-")
            .tempdir()
            .map_err(|e| {
                StartError::Internal(format!("cannot create a temporary directory: {e}"))
            })?;
        let mut cmd = Command::new(spec.program);
        cmd.args(spec.args)
            .args(spec.launcher)
            .current_dir(spec.code_dir)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for key in PASSED_ENV {
            if let Some(v) = std::env::var_os(key) {
                cmd.env(key, v);
            }
        }
        cmd.env("PYTHONUNBUFFERED", "1");
        for key in ["TMPDIR", "TEMP", "TMP"] {
            cmd.env(key, tmp.path());
        }
        cmd.envs(spec.env);
        cmd.env("SLUICE_RUNNER_PORT", port.to_string())
            .env("SLUICE_RUNNER_TOKEN", &token)
            .env("SLUICE_RUNNER_CODE_DIR", spec.code_dir)
            .env("SLUICE_RUNNER_BINARY", if spec.binary { "1" } else { "0" })
            .env("SLUICE_RUNNER_MAIN", spec.main.unwrap_or("main"));
        let policy = spec.protected.map(|protected| Policy {
            protected: std::iter::once(protected.to_path_buf())
                .chain(super::confine::credential_places())
                .collect(),
            readable: [
                Some(spec.code_dir),
                spec.launcher.unwrap_or(spec.program).parent(),
            ]
            .into_iter()
            .flatten()
            .map(Path::to_path_buf)
            .collect(),
            writable: vec![tmp.path().to_path_buf()],
        });
        let mut child =
            confine::spawn(&mut cmd, policy.as_ref(), spec.memory_mb).map_err(StartError::Spawn)?;
        let (tx, rx) = mpsc::unbounded_channel();
        if let Some(out) = child.stdout.take() {
            tokio::spawn(read_stream(out, Stream::Stdout, tx.clone()));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(read_stream(err, Stream::Stderr, tx));
        }
        Ok(Self {
            child,
            reader: None,
            writer: None,
            logs: rx,
            listener: Some(listener),
            token,
            open_streams: 2,
            _tmp: tmp,
        })
    }

    /// Waits for the launcher to connect and load the code. `Ok(Ok(()))` when loaded,
    /// `Ok(Err(message))` when loading failed (a developer error), `Err(wait)` on timeout/death.
    pub async fn init(
        &mut self,
        deadline: Instant,
        logs: &mut LogCollector,
    ) -> Result<Result<(), String>, Wait> {
        let mut marks = Marks::default();
        self.connect(deadline, logs, &mut marks).await?;
        let line = match self.await_line(deadline, logs, &mut marks).await {
            Wait::Line(l) => l,
            other => return Err(other),
        };
        let reply: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if reply.get("ok").and_then(serde_json::Value::as_bool) == Some(true) {
            return Ok(Ok(()));
        }
        let message = reply
            .get("error")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("The action failed during initialization.")
            .to_string();
        Ok(Err(message))
    }

    async fn connect(
        &mut self,
        deadline: Instant,
        logs: &mut LogCollector,
        marks: &mut Marks,
    ) -> Result<(), Wait> {
        let Some(listener) = self.listener.take() else {
            return Ok(());
        };
        let hello = serde_json::json!({ "hello": self.token });
        // When the process exits before we accepted, its connection may still be queued:
        // allow a short grace period instead of giving up at once.
        let mut exited_grace: Option<Instant> = None;
        loop {
            let until = exited_grace.map_or(deadline, |g| g.min(deadline));
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { return Err(Wait::Died) };
                    if let Some((reader, writer)) = handshake(stream, &hello, deadline).await {
                        self.reader = Some(reader);
                        self.writer = Some(writer);
                        return Ok(());
                    }
                }
                ev = self.logs.recv(), if self.open_streams > 0 => {
                    self.note(ev, logs, marks);
                }
                _ = self.child.wait(), if exited_grace.is_none() => {
                    exited_grace = Some(Instant::now() + Duration::from_millis(300));
                }
                _ = tokio::time::sleep_until(until) => {
                    return Err(if exited_grace.is_some() { Wait::Died } else { Wait::TimedOut });
                }
            }
        }
    }

    /// Sends one run message and waits for its result line, collecting logs meanwhile; after
    /// the result, waits up to `drain` for the end-of-activation markers.
    pub async fn run(
        &mut self,
        message: &str,
        deadline: Instant,
        drain: Duration,
        logs: &mut LogCollector,
    ) -> Wait {
        let Some(writer) = self.writer.as_mut() else {
            return Wait::Died;
        };
        let mut line = message.to_string();
        line.push('\n');
        if writer.write_all(line.as_bytes()).await.is_err() {
            return Wait::Died;
        }
        let mut marks = Marks::default();
        let outcome = self.await_line(deadline, logs, &mut marks).await;
        if matches!(outcome, Wait::Line(_)) {
            self.drain_logs(Instant::now() + drain, logs, &mut marks)
                .await;
        }
        outcome
    }

    /// Whether a write to the worker would reach a live process.
    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None)) && self.writer.is_some()
    }

    /// Kills the process and collects what it printed before dying.
    pub async fn kill(mut self, logs: &mut LogCollector) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
        let mut marks = Marks::default();
        self.drain_logs(
            Instant::now() + Duration::from_millis(500),
            logs,
            &mut marks,
        )
        .await;
    }

    /// Collects logs until both markers (or both ends of stream) were seen, or the deadline.
    pub async fn drain_logs(&mut self, until: Instant, logs: &mut LogCollector, marks: &mut Marks) {
        while !marks.done(self.open_streams) {
            tokio::select! {
                ev = self.logs.recv() => {
                    if ev.is_none() { break; }
                    self.note(ev, logs, marks);
                }
                _ = tokio::time::sleep_until(until) => break,
            }
        }
    }

    async fn await_line(
        &mut self,
        deadline: Instant,
        logs: &mut LogCollector,
        marks: &mut Marks,
    ) -> Wait {
        let Some(reader) = self.reader.as_mut() else {
            return Wait::Died;
        };
        // `read_until` into bytes, not `read_line`: a log line arriving while a long result
        // is still coming in wins the `select!`, and only `read_until` keeps what it had read
        // so far for the next round (with `read_line` a 1 MB result came out cut and was
        // reported as "not a valid response" on a loaded machine).
        let mut buf = Vec::new();
        loop {
            tokio::select! {
                read = reader.read_until(b'\n', &mut buf) => {
                    return match read {
                        Ok(0) | Err(_) => {
                            self.reader = None;
                            self.writer = None;
                            Wait::Died
                        }
                        Ok(_) => Wait::Line(String::from_utf8_lossy(&buf).trim_end().to_string()),
                    };
                }
                ev = self.logs.recv(), if self.open_streams > 0 => {
                    match ev {
                        Some(LogEvent::Line(s, t, l)) => logs.push(t, s, &l),
                        Some(LogEvent::Sentinel(s)) => marks.see(s),
                        Some(LogEvent::Eof) | None => self.open_streams = self.open_streams.saturating_sub(1),
                    }
                }
                _ = tokio::time::sleep_until(deadline) => return Wait::TimedOut,
            }
        }
    }

    fn note(&mut self, ev: Option<LogEvent>, logs: &mut LogCollector, marks: &mut Marks) {
        match ev {
            Some(LogEvent::Line(s, t, l)) => logs.push(t, s, &l),
            Some(LogEvent::Sentinel(s)) => marks.see(s),
            Some(LogEvent::Eof) | None => {
                self.open_streams = self.open_streams.saturating_sub(1);
            }
        }
    }
}

/// End-of-activation markers seen in one run.
#[derive(Debug, Default)]
pub struct Marks {
    stdout: bool,
    stderr: bool,
}

impl Marks {
    fn see(&mut self, s: Stream) {
        match s {
            Stream::Stdout => self.stdout = true,
            Stream::Stderr => self.stderr = true,
        }
    }

    fn done(&self, open_streams: u8) -> bool {
        open_streams == 0 || (self.stdout && self.stderr)
    }
}

async fn handshake(
    stream: TcpStream,
    hello: &serde_json::Value,
    deadline: Instant,
) -> Option<(BufReader<OwnedReadHalf>, OwnedWriteHalf)> {
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut first = String::new();
    let read = tokio::time::timeout_at(deadline, reader.read_line(&mut first)).await;
    match read {
        Ok(Ok(n))
            if n > 0
                && serde_json::from_str::<serde_json::Value>(&first)
                    .ok()
                    .as_ref()
                    == Some(hello) =>
        {
            Some((reader, write))
        }
        _ => None,
    }
}

async fn read_stream(
    stream: impl AsyncRead + Unpin,
    which: Stream,
    tx: mpsc::UnboundedSender<LogEvent>,
) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let text = String::from_utf8_lossy(&buf);
                let line = text.trim_end_matches(['\n', '\r']);
                if let Some(before) = line.strip_suffix(SENTINEL) {
                    if !before.is_empty() {
                        let _ = tx.send(LogEvent::Line(which, Utc::now(), before.to_string()));
                    }
                    let _ = tx.send(LogEvent::Sentinel(which));
                } else {
                    let _ = tx.send(LogEvent::Line(which, Utc::now(), line.to_string()));
                }
            }
        }
    }
    let _ = tx.send(LogEvent::Eof);
}
