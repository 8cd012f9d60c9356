//! The bad-input corpus: every project under `tests/fixtures/bad/<case>/` is broken in one
//! way, and `get-metadata`, `build` and `deploy` (to the embedded local namespace, in this
//! test's own data directory) must each refuse it with a clear message: no panic, no hang
//! (each command is killed after 5 s, which fails the case) and no exit 0. The exit codes
//! and messages are snapshotted, one snapshot per case.
//!
//! Each case has a `CASE` file (not copied into the project) whose first line says what is
//! wrong, and directives for what git cannot hold or a fixture must not contain:
//!
//! * `args: <arg>…` — extra arguments for all three commands;
//! * `path: <p>` — the project argument instead of `.`;
//! * `reads: ok` — the problem is one found at build time, so `get-metadata` may succeed;
//! * `outside: <rel> <text>` — a file in a directory next to the project (`../outside`);
//! * `symlink: <rel> <target>` — a symbolic link in the project (`{outside}` is that
//!   directory);
//! * `nonutf8: <rel>` — a file whose name holds the `\xNN` bytes written;
//! * `mkdir: <rel>` — an empty directory.
//!
//! The fixtures are copied to a temporary directory first, so nothing is written in the
//! tree.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::ProjectTest;

/// The longest a command may take before the case fails as a hang.
const HANG: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
struct Case {
    describe: String,
    args: Vec<String>,
    path: Option<String>,
    reads_ok: bool,
    outside: Vec<(String, String)>,
    symlinks: Vec<(String, String)>,
    non_utf8: Vec<String>,
    mkdirs: Vec<String>,
}

fn parse_case(text: &str) -> Case {
    let mut case = Case::default();
    for line in text.lines() {
        if let Some(d) = line.strip_prefix("# ") {
            if case.describe.is_empty() {
                case.describe = d.to_string();
            }
            continue;
        }
        let Some((key, value)) = line.split_once(": ") else {
            continue;
        };
        let pair = || {
            let (a, b) = value.split_once(' ').unwrap_or((value, ""));
            (a.to_string(), b.to_string())
        };
        match key {
            "args" => case.args = value.split_whitespace().map(str::to_string).collect(),
            "path" => case.path = Some(value.to_string()),
            "reads" => case.reads_ok = value == "ok",
            "outside" => case.outside.push(pair()),
            "symlink" => case.symlinks.push(pair()),
            "nonutf8" => case.non_utf8.push(value.to_string()),
            "mkdir" => case.mkdirs.push(value.to_string()),
            other => panic!("unknown CASE directive '{other}'"),
        }
    }
    case
}

/// `a\xffb` → the bytes `a`, 0xff, `b`.
#[cfg(unix)]
fn unescape(text: &str) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    let mut bytes = Vec::new();
    let mut rest = text.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'\\'
            && tail.first() == Some(&b'x')
            && let Some(hex) = tail.get(1..3)
            && let Ok(v) = u8::from_str_radix(std::str::from_utf8(hex).unwrap_or("zz"), 16)
        {
            bytes.push(v);
            rest = &tail[3..];
            continue;
        }
        bytes.push(b);
        rest = tail;
    }
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

/// Copies a fixture without its `CASE` file (no symlinks are stored in fixtures).
fn copy_case(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the project");
    for entry in std::fs::read_dir(from).expect("read the fixture") {
        let entry = entry.expect("a fixture entry");
        if entry.file_name() == "CASE" && from.join("CASE") == entry.path() {
            continue;
        }
        copy_entry(&entry.path(), &to.join(entry.file_name()));
    }
}

fn copy_entry(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).expect("create a directory");
        for entry in std::fs::read_dir(from).expect("read a directory") {
            let entry = entry.expect("an entry");
            copy_entry(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::copy(from, to).expect("copy a file");
    }
}

#[cfg(unix)]
fn set_up(case: &Case, test: &ProjectTest) {
    let outside = test.temp().join("outside");
    std::fs::create_dir_all(&outside).expect("create the outside directory");
    for (rel, text) in &case.outside {
        let path = outside.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create outside parents");
        }
        std::fs::write(&path, format!("{text}\n")).expect("write an outside file");
    }
    for (rel, target) in &case.symlinks {
        let link = test.path().join(rel);
        if let Some(parent) = link.parent() {
            std::fs::create_dir_all(parent).expect("create link parents");
        }
        let target = target.replace("{outside}", &outside.display().to_string());
        std::os::unix::fs::symlink(&target, &link).expect("create a symlink");
    }
    for rel in &case.non_utf8 {
        let path = test.path().join(unescape(rel));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parents");
        }
        std::fs::write(&path, "exports.main = () => ({})\n").expect("write a non-UTF-8 name");
    }
    for rel in &case.mkdirs {
        std::fs::create_dir_all(test.path().join(rel)).expect("create a directory");
    }
}

/// What one command did.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    hung: bool,
}

/// Runs a command with stdin closed, killing it after [`HANG`].
fn run_bounded(mut cmd: Command) -> Run {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sluice");
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let mut hung = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for sluice") {
            break status;
        }
        if start.elapsed() > HANG {
            hung = true;
            let _ = child.kill();
            break child.wait().expect("reap sluice");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        code: status.code(),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        hung,
    }
}

fn extra_filters(test: &ProjectTest) -> Vec<(String, String)> {
    let mut out = vec![
        (
            regex::escape(&test.temp().join("outside").display().to_string()),
            "[OUTSIDE]".to_string(),
        ),
        (
            r"http://127\.0\.0\.1:\d+".to_string(),
            "[LOCAL]".to_string(),
        ),
    ];
    if let Ok(real) = test.temp().canonicalize() {
        out.push((
            regex::escape(&real.display().to_string()),
            "[TEMP]".to_string(),
        ));
    }
    out
}

#[cfg(unix)]
#[test]
fn every_bad_project_is_refused_clearly() {
    let root = common::fixtures_dir().join("bad");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("the corpus exists")
        .map(|e| e.expect("a case").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 60, "the corpus has {} cases", cases.len());

    let mut problems = Vec::new();
    for dir in &cases {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let case = parse_case(&std::fs::read_to_string(dir.join("CASE")).expect("a CASE file"));
        let test = ProjectTest::empty();
        copy_case(dir, test.path());
        set_up(&case, &test);
        let project = case.path.clone().unwrap_or_else(|| ".".to_string());

        let mut transcript = format!("# {}\n", case.describe);
        for command in ["get-metadata", "build", "deploy"] {
            let mut args = vec![command.to_string(), project.clone()];
            args.extend(case.args.iter().cloned());
            let run = run_bounded(test.command(&args));
            let code = run.code.map_or("killed".to_string(), |c| c.to_string());
            transcript.push_str(&format!(
                "\n$ sluice {}\nexit_code: {code}\n----- stderr -----\n{}",
                args.join(" "),
                run.stderr.trim_end()
            ));
            if !run.stdout.trim().is_empty() {
                transcript.push_str(&format!("\n----- stdout -----\n{}", run.stdout.trim_end()));
            }
            transcript.push('\n');
            if run.hung {
                problems.push(format!("{name}: {command} hung (killed after {HANG:?})"));
            }
            if run.stderr.contains("panicked") || run.code == Some(101) {
                problems.push(format!("{name}: {command} panicked:\n{}", run.stderr));
            }
            let may_succeed = command == "get-metadata" && case.reads_ok;
            if run.code == Some(0) && !may_succeed {
                problems.push(format!("{name}: {command} exited 0"));
            }
        }
        let mut settings = insta::Settings::clone_current();
        for (re, rep) in extra_filters(&test).iter().chain(common::filters().iter()) {
            settings.add_filter(re, rep.as_str());
        }
        settings.set_omit_expression(true);
        settings.set_snapshot_suffix(name.clone());
        settings.bind(|| insta::assert_snapshot!(transcript));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The way out the refusals offer works: `--allow-outside DIR` lets `${<file}` read a file in
/// DIR (for get-metadata, build and deploy alike, the plugin manifest read included), while a
/// run without it is refused.
#[test]
fn allow_outside_lets_substitution_read_the_allowed_directory() {
    let test = ProjectTest::empty()
        .write(
            "project.yml",
            "parameters: ${<../outside/shared.env}\npackages:\n  - name: p\n    functions:\n      - name: f\n        runtime: nodejs:default\n",
        )
        .write("packages/p/f.js", "exports.main = (a) => ({ region: a.REGION });\n");
    let outside = test.temp().join("outside");
    std::fs::create_dir_all(&outside).expect("create the outside directory");
    std::fs::write(outside.join("shared.env"), "REGION=ams3\n").expect("write the shared file");
    let run = |args: &[&str]| {
        test.command(args)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run sluice")
    };
    let refused = run(&["get-metadata", "."]);
    assert!(!refused.status.success());
    // The message is wrapped to the terminal's width: compare without the wrapping.
    let flat: String = String::from_utf8_lossy(&refused.stderr)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '│')
        .collect();
    assert!(flat.contains("--allow-outside<DIR>"), "{flat}");
    let dir = outside.display().to_string();
    let read = run(&["get-metadata", ".", "--allow-outside", &dir]);
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&read.stdout).expect("JSON");
    assert_eq!(metadata["parameters"]["REGION"], "ams3");
    let built = run(&["build", ".", "--allow-outside", &dir]);
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let deployed = run(&["deploy", ".", "--allow-outside", &dir]);
    assert!(
        deployed.status.success(),
        "{}",
        String::from_utf8_lossy(&deployed.stderr)
    );
    let invoked = run(&["invoke", "p/f"]);
    assert!(
        invoked.status.success(),
        "{}",
        String::from_utf8_lossy(&invoked.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&invoked.stdout).expect("JSON");
    assert_eq!(result["region"], "ams3");
}
