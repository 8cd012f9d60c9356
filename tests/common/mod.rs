//! The shared harness of sluice's CLI integration tests.
//!
//! Two pieces, after uv and mdBook:
//!
//! * [`ProjectTest`], a chained builder over a fixture project: it copies
//!   `tests/fixtures/<name>/` into a fresh temporary directory, gives the child process an
//!   isolated `HOME`, `SLUICE_HOME`, `NIMBELLA_DIR` and `SLUICE_LOCAL_DIR` (all inside that
//!   temporary directory), and strips the variables that would reach a real cloud
//!   (`DO_API_KEY`, `DO_API_TOKEN`, `DIGITALOCEAN_*`, `__OW_*`); doctl's config directory
//!   (`XDG_CONFIG_HOME`) is inside it too.
//! * [`sluice_snapshot!`], which runs a [`std::process::Command`] and snapshots its exit code,
//!   stdout and stderr with one shared list of [`filters`] (temporary paths, digests, commits,
//!   times, the user name), so snapshots stay stable across machines and runs.
//!
//! ```ignore
//! mod common;
//! use common::ProjectTest;
//!
//! #[test]
//! fn reads_the_sequence_fixture() {
//!     let test = ProjectTest::fixture("sequence");
//!     sluice_snapshot!(test.command(["get-metadata", "."]));
//! }
//! ```
//!
//! Why not `insta_cmd::assert_cmd_snapshot!` as is: it stores the command's explicit
//! environment in the snapshot's `info` header, and ours holds temporary paths that change on
//! every run. [`sluice_snapshot!`] spawns the command itself (the binary comes from
//! [`insta_cmd::get_cargo_bin`]), formats the output exactly like `insta_cmd` does, and records
//! a filtered `info` instead.

#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde::Serialize;

/// The directory holding fixture projects.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

/// The filters every snapshot gets, as (regex, replacement) pairs, most specific first.
pub fn filters() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    // Temporary directories made by `tempfile` (`<tmp>/.tmpXXXXXX`), in raw and canonical form
    // (macOS puts /tmp behind /private).
    let tmp = std::env::temp_dir();
    let mut tmps = vec![tmp.clone()];
    if let Ok(canonical) = tmp.canonicalize()
        && canonical != tmp
    {
        tmps.insert(0, canonical);
    }
    for t in tmps {
        let t = t.display().to_string();
        let t = t.trim_end_matches(['/', '\\']);
        out.push((
            format!(r"{}[/\\]\.tmp[A-Za-z0-9_]+", regex::escape(t)),
            "[TEMP]".to_string(),
        ));
    }
    // Sha-256 digests (artifacts, versions.json, code hashes).
    out.push((r"\b[0-9a-f]{64}\b".into(), "[DIGEST]".into()));
    // Git commits: full, or the deployer annotation's 8 digits (a dirty tree's `++` stays).
    out.push((
        r#""commit": "[0-9a-f]{8,40}"#.into(),
        r#""commit": "[COMMIT]"#.into(),
    ));
    // The deployer annotation's short digest (8 hex digits).
    out.push((
        r#""digest": "[0-9a-f]{8}""#.into(),
        r#""digest": "[DIGEST]""#.into(),
    ));
    // The OS or git user in the deployer annotation.
    out.push((r#""user": "[^"]*""#.into(), r#""user": "[USER]""#.into()));
    // RFC 3339 times.
    out.push((
        r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?\b".into(),
        "[TIME]".into(),
    ));
    // The heartbeat of a quiet build (every 10 s of silence): how many depends on the machine.
    out.push((r"(?m)^still running \(\d+ s\): .*\n".into(), String::new()));
    // Epoch milliseconds (2020-09 .. 2286): activation start/end, version timestamps.
    out.push((r"\b1[6-9]\d{11}\b".into(), "[EPOCH_MS]".into()));
    out
}

/// Applies [`filters`] (plus `extra`) to a text, for checks outside snapshots.
pub fn redact(text: &str, extra: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for (re, rep) in filters().iter().chain(extra) {
        let re = regex::Regex::new(re).expect("filters are valid regular expressions");
        out = re.replace_all(&out, rep.as_str()).into_owned();
    }
    out
}

/// What the snapshot header records about the command (paths already filtered).
#[derive(Debug, Serialize)]
pub struct CommandInfo {
    program: String,
    args: Vec<String>,
}

impl CommandInfo {
    fn of(cmd: &Command) -> Self {
        let program = Path::new(cmd.get_program())
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let args = cmd
            .get_args()
            .map(|a| redact(&a.to_string_lossy(), &[]))
            .collect();
        CommandInfo { program, args }
    }
}

/// Runs a command (stdin closed) and returns the header info and its output.
pub fn run_for_snapshot(cmd: &mut Command) -> (CommandInfo, Output) {
    let info = CommandInfo::of(cmd);
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("failed to run {:?}: {e}", cmd.get_program()));
    (info, output)
}

/// The snapshot text of an output, in `insta_cmd`'s format.
pub fn format_output(output: &Output) -> String {
    format!(
        "success: {:?}\nexit_code: {}\n----- stdout -----\n{}\n----- stderr -----\n{}",
        output.status.success(),
        output.status.code().unwrap_or(!0),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs a command and snapshots exit status, stdout and stderr with the shared filters.
///
/// Forms: `sluice_snapshot!(cmd)`, `sluice_snapshot!(cmd, @"inline")`,
/// `sluice_snapshot!("name", cmd)`, and each with extra filters first:
/// `sluice_snapshot!(filters = vec![("re".into(), "rep".into())], cmd)`.
/// Evaluates to the [`std::process::Output`] for further checks.
#[macro_export]
macro_rules! sluice_snapshot {
    (@run $extra:ident, $cmd:expr, $assert:expr) => {{
        let mut cmd: std::process::Command = $cmd;
        let (info, output) = $crate::common::run_for_snapshot(&mut cmd);
        let mut settings = insta::Settings::clone_current();
        for (re, rep) in $crate::common::filters().iter().chain($extra.iter()) {
            settings.add_filter(re, rep.as_str());
        }
        settings.set_info(&info);
        settings.set_omit_expression(true);
        settings.bind(|| {
            #[allow(clippy::redundant_closure_call)]
            ($assert)(&$crate::common::format_output(&output));
        });
        output
    }};
    (filters = $extra:expr, $name:literal, $cmd:expr $(,)?) => {{
        let extra: Vec<(String, String)> = $extra;
        $crate::sluice_snapshot!(@run extra, $cmd, |snap: &str| {
            insta::assert_snapshot!($name, snap);
        })
    }};
    (filters = $extra:expr, $cmd:expr, @$inline:literal $(,)?) => {{
        let extra: Vec<(String, String)> = $extra;
        $crate::sluice_snapshot!(@run extra, $cmd, |snap: &str| {
            insta::assert_snapshot!(snap, @$inline);
        })
    }};
    (filters = $extra:expr, $cmd:expr $(,)?) => {{
        let extra: Vec<(String, String)> = $extra;
        $crate::sluice_snapshot!(@run extra, $cmd, |snap: &str| {
            insta::assert_snapshot!(snap);
        })
    }};
    ($name:literal, $cmd:expr $(,)?) => {{
        $crate::sluice_snapshot!(filters = Vec::new(), $name, $cmd)
    }};
    ($cmd:expr, @$inline:literal $(,)?) => {{
        $crate::sluice_snapshot!(filters = Vec::new(), $cmd, @$inline)
    }};
    ($cmd:expr $(,)?) => {{
        $crate::sluice_snapshot!(filters = Vec::new(), $cmd)
    }};
}

/// A fixture project copied into an isolated temporary directory.
///
/// Layout inside the temporary directory: `project/` (the copy), `home/` (`HOME`),
/// `home/.sluice` (`SLUICE_HOME`), `home/.nimbella` (`NIMBELLA_DIR`) and `local/`
/// (`SLUICE_LOCAL_DIR`). Commands run with the project as their working directory.
#[derive(Debug)]
pub struct ProjectTest {
    temp: tempfile::TempDir,
    project: PathBuf,
    envs: Vec<(OsString, OsString)>,
    removed: Vec<OsString>,
}

impl ProjectTest {
    /// Copies `tests/fixtures/<name>/` (panics with a clear message when it does not exist).
    pub fn fixture(name: &str) -> Self {
        let source = fixtures_dir().join(name);
        assert!(
            source.is_dir(),
            "fixture {} does not exist",
            source.display()
        );
        let test = Self::empty();
        copy_tree(&source, &test.project).unwrap_or_else(|e| panic!("copying fixture {name}: {e}"));
        test
    }

    /// Copies any directory (for example `examples/hello`), relative to the repository root.
    pub fn from_dir(dir: impl AsRef<Path>) -> Self {
        let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir.as_ref());
        let test = Self::empty();
        copy_tree(&source, &test.project)
            .unwrap_or_else(|e| panic!("copying {}: {e}", source.display()));
        test
    }

    /// An empty project directory.
    pub fn empty() -> Self {
        let temp = tempfile::tempdir().expect("create a temporary directory");
        let project = temp.path().join("project");
        let home = temp.path().join("home");
        for dir in [
            project.clone(),
            home.join(".sluice"),
            home.join(".nimbella"),
            temp.path().join("local"),
        ] {
            std::fs::create_dir_all(&dir).expect("create test directories");
        }
        ProjectTest {
            temp,
            project,
            envs: Vec::new(),
            removed: Vec::new(),
        }
    }

    /// Writes a file below the project (parents are created).
    pub fn write(self, rel: impl AsRef<Path>, text: impl AsRef<[u8]>) -> Self {
        let path = self.project.join(rel.as_ref());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent directories");
        }
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        self
    }

    /// Creates a (possibly empty) directory below the project; git cannot store empty ones.
    pub fn mkdir(self, rel: impl AsRef<Path>) -> Self {
        let path = self.project.join(rel.as_ref());
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
        self
    }

    /// Removes a file or directory below the project.
    pub fn remove(self, rel: impl AsRef<Path>) -> Self {
        let path = self.project.join(rel.as_ref());
        let result = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        result.unwrap_or_else(|e| panic!("remove {}: {e}", path.display()));
        self
    }

    /// Writes a file below the isolated home directory (for example `.nimbella/.exclude`).
    pub fn write_home(self, rel: impl AsRef<Path>, text: impl AsRef<[u8]>) -> Self {
        let path = self.home().join(rel.as_ref());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent directories");
        }
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        self
    }

    /// Sets an environment variable for every command of this test.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.envs
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Removes an inherited environment variable for every command of this test.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.removed.push(key.as_ref().to_owned());
        self
    }

    /// Makes the project look like a clone: `git init`, a `user.email`, an `origin` remote and
    /// one commit (the deployer annotation then names the repository and the commit).
    pub fn git_clone_of(self, origin: &str) -> Self {
        let run = |args: &[&str]| {
            let status = Command::new("git")
                .args(args)
                .current_dir(&self.project)
                .env("HOME", self.home())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("run git");
            assert!(status.success(), "git {args:?} failed");
        };
        run(&["init", "-q"]);
        run(&["config", "user.email", "dev@example.invalid"]);
        run(&["config", "user.name", "sluice-test"]);
        run(&["remote", "add", "origin", origin]);
        self.git_commit()
    }

    /// Runs `git init` (if needed) and one commit of everything in the project.
    pub fn git_commit(self) -> Self {
        let run = |args: &[&str]| {
            let status = Command::new("git")
                .args(args)
                .current_dir(&self.project)
                .env("GIT_AUTHOR_NAME", "sluice-test")
                .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
                .env("GIT_COMMITTER_NAME", "sluice-test")
                .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
                .env("HOME", self.home())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("run git");
            assert!(status.success(), "git {args:?} failed");
        };
        if !self.project.join(".git").exists() {
            run(&["init", "-q"]);
        }
        run(&["add", "-A"]);
        run(&["commit", "-q", "-m", "fixture"]);
        self
    }

    /// The project directory.
    pub fn path(&self) -> &Path {
        &self.project
    }

    /// The temporary directory holding the project, home and local data.
    pub fn temp(&self) -> &Path {
        self.temp.path()
    }

    /// The isolated `HOME`.
    pub fn home(&self) -> PathBuf {
        self.temp.path().join("home")
    }

    /// The isolated `SLUICE_HOME`.
    pub fn sluice_home(&self) -> PathBuf {
        self.home().join(".sluice")
    }

    /// The isolated `NIMBELLA_DIR` (credential store of the original deployer).
    pub fn nimbella_dir(&self) -> PathBuf {
        self.home().join(".nimbella")
    }

    /// The isolated `SLUICE_LOCAL_DIR` (data of the embedded local namespace).
    pub fn local_dir(&self) -> PathBuf {
        self.temp.path().join("local")
    }

    /// `sluice <args>` in the project with stdin closed, to the end.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .stdin(Stdio::null())
            .output()
            .expect("run sluice")
    }

    /// [`ProjectTest::run`] that must succeed: its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "sluice {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A `sluice` command with these arguments, run in the project directory with the
    /// isolated environment.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(insta_cmd::get_cargo_bin("sluice"));
        cmd.args(args).current_dir(&self.project);
        self.isolate(&mut cmd);
        cmd
    }

    /// Applies the isolated environment to any command (for example `node` or `git`).
    pub fn isolate(&self, cmd: &mut Command) {
        for (key, _) in std::env::vars_os() {
            let k = key.to_string_lossy();
            if k.starts_with("__OW_")
                || k.starts_with("SLUICE_")
                || k.starts_with("DO_API_")
                || k.starts_with("DIGITALOCEAN_")
            {
                cmd.env_remove(&key);
            }
        }
        for key in [
            "DO_API_KEY",
            "DO_API_TOKEN",
            "ENCRYPTION_KEY",
            "NIMBELLA_DIR",
        ] {
            cmd.env_remove(key);
        }
        cmd.env("HOME", self.home())
            .env("USERPROFILE", self.home())
            .env("SLUICE_HOME", self.sluice_home())
            .env("NIMBELLA_DIR", self.nimbella_dir())
            .env("SLUICE_LOCAL_DIR", self.local_dir())
            // A safety net: a background server that outlives its test (killed test
            // process) exits soon by itself. Drop stops it at once.
            .env("SLUICE_LOCAL_IDLE", "120s")
            // doctl's config directory (its token and serverless store) stays inside too.
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("APPDATA", self.home().join("AppData"))
            // A fixed OS user: the deployer annotation names it.
            .env("USER", "sluice-test")
            .env("LOGNAME", "sluice-test")
            .env("NO_COLOR", "1")
            .env("CLICOLOR", "0");
        for key in &self.removed {
            cmd.env_remove(key);
        }
        for (key, value) in &self.envs {
            cmd.env(key, value);
        }
    }
}

impl Drop for ProjectTest {
    /// Stops the background local namespace server a command of this test started (its
    /// state file is in this test's data directory), so no test leaves one running.
    fn drop(&mut self) {
        stop_local_server(&self.local_dir(), |cmd| self.isolate(cmd));
    }
}

/// Stops the local namespace server of `data_dir`, if its state file says one runs: `sluice
/// local stop`, then a kill of its pid should that fail.
pub fn stop_local_server(data_dir: &Path, isolate: impl Fn(&mut Command)) {
    let state = data_dir.join("daemon.json");
    let Ok(text) = std::fs::read_to_string(&state) else {
        return;
    };
    let mut cmd = Command::new(insta_cmd::get_cargo_bin("sluice"));
    isolate(&mut cmd);
    let stopped = cmd
        .args(["local", "stop", "--data-dir"])
        .arg(data_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if stopped && !state.exists() {
        return;
    }
    let pid = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("pid").and_then(serde_json::Value::as_u64));
    // Only a process that is still a sluice server: a stale pid may belong to anything now.
    let is_sluice = |pid: u64| {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains("sluice"))
    };
    if let Some(pid) = pid.filter(|p| is_sluice(*p)) {
        let _ = Command::new("kill")
            .arg("-9")
            .arg(pid.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// What sluice itself writes into a project: deploy records and build outputs. None of it
/// is in the repository, so a copy leaves it out and a test never sees what an earlier run
/// (the README's main command, another test) left in `examples/` or a fixture.
const RUN_STATE: &[&str] = &[".deployed", "__deployer__.zip", ".built"];

/// Copies a directory tree (files keep their permissions, so build scripts stay executable),
/// without sluice's own run state.
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if RUN_STATE.iter().any(|n| entry.file_name() == *n) {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
