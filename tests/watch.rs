//! `sluice watch` (issue 16): a real watcher (inotify) on temporary projects, deploying to the
//! embedded local namespace. Each test runs `sluice watch . --json` as a child process, reads
//! its NDJSON events line by line with timeouts, and kills it at the end through a guard (so
//! also when an assertion fails); the `ProjectTest` then stops the local server.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::ProjectTest;
use serde_json::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// How long a deploy of a small project may take on a loaded machine.
const EVENT_TIMEOUT: Duration = Duration::from_secs(60);

fn hello(version: u32) -> String {
    format!("exports.main = () => ({{ version: {version} }});\n")
}

/// A running `sluice watch --json`; dropping it kills the process.
struct Watch {
    child: Child,
    events: mpsc::Receiver<Value>,
    seen: Vec<Value>,
}

impl Watch {
    fn start(test: &ProjectTest, extra: &[&str]) -> Result<Watch, Box<dyn std::error::Error>> {
        let mut cmd: Command = test.command(["watch", ".", "--json"]);
        cmd.args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) => {
                        if tx.send(v).is_err() {
                            break;
                        }
                    }
                    Err(e) => panic!("watch printed a line that is not JSON ({e}): {line}"),
                }
            }
        });
        let mut watch = Watch {
            child,
            events,
            seen: Vec::new(),
        };
        watch.next_of("watching", EVENT_TIMEOUT)?;
        Ok(watch)
    }

    /// The next event of kind `kind` (others are kept in `seen`).
    fn next_of(&mut self, kind: &str, timeout: Duration) -> Result<Value, String> {
        let until = Instant::now() + timeout;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(v) => {
                    self.seen.push(v.clone());
                    if v["event"] == kind {
                        return Ok(v);
                    }
                }
                Err(_) => {
                    return Err(format!(
                        "no '{kind}' event within {timeout:?}; events so far: {:#?}",
                        self.seen
                    ));
                }
            }
        }
    }

    /// A batch's end: its `deploy` or `error` event.
    fn outcome(&mut self) -> Result<Value, String> {
        let until = Instant::now() + EVENT_TIMEOUT;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(v) => {
                    self.seen.push(v.clone());
                    if v["event"] == "deploy" || v["event"] == "error" {
                        return Ok(v);
                    }
                }
                Err(_) => return Err(format!("no outcome; events so far: {:#?}", self.seen)),
            }
        }
    }

    /// Every event of the next `period`.
    fn collect(&mut self, period: Duration) -> Vec<Value> {
        let until = Instant::now() + period;
        let mut out = Vec::new();
        while let Ok(v) = self
            .events
            .recv_timeout(until.saturating_duration_since(Instant::now()))
        {
            self.seen.push(v.clone());
            out.push(v);
        }
        out
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["event"].as_str().unwrap_or("?").to_string())
        .collect()
}

fn invoke(test: &ProjectTest, name: &str) -> Result<Value, Box<dyn std::error::Error>> {
    let out = test
        .command(["invoke", name])
        .stdin(Stdio::null())
        .output()?;
    assert!(
        out.status.success(),
        "invoke failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}

fn write(test: &ProjectTest, rel: &str, text: &str) -> std::io::Result<()> {
    let path = test.path().join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text)
}

fn deployed(event: &Value) -> Vec<String> {
    event["outcome"]["successes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["skipped"] == false)
        .filter_map(|s| s["name"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn an_edit_redeploys_only_that_function_and_the_next_invoke_runs_it() -> TestResult {
    let test = ProjectTest::empty()
        .write("packages/demo/hello.js", hello(1))
        .write("packages/demo/other.js", hello(100));
    let first = test
        .command(["deploy", "."])
        .stdin(Stdio::null())
        .output()?;
    assert!(first.status.success());
    assert_eq!(invoke(&test, "demo/hello")?["version"], 1);

    let mut watch = Watch::start(&test, &[])?;
    write(&test, "packages/demo/hello.js", &hello(2))?;
    let change = watch.next_of("change", EVENT_TIMEOUT)?;
    assert_eq!(change["functions"], serde_json::json!(["demo/hello"]));
    assert_eq!(
        change["paths"],
        serde_json::json!(["packages/demo/hello.js"])
    );
    let done = watch.outcome()?;
    assert_eq!(done["event"], "deploy", "{done:#}");
    assert_eq!(deployed(&done), ["demo/hello"]);
    assert!(done["millis"].is_u64());
    // The warm worker of version 1 is retired: the next invoke runs the new code.
    assert_eq!(invoke(&test, "demo/hello")?["version"], 2);
    assert_eq!(invoke(&test, "demo/other")?["version"], 100);
    Ok(())
}

#[test]
fn a_burst_of_saves_makes_one_or_two_deploys_that_never_overlap() -> TestResult {
    let test = ProjectTest::empty().write("packages/demo/hello.js", hello(0));
    let mut watch = Watch::start(&test, &[])?;
    for i in 1..=20 {
        write(&test, "packages/demo/hello.js", &hello(i))?;
        std::thread::sleep(Duration::from_millis(10));
    }
    watch.outcome()?;
    let rest = watch.collect(Duration::from_secs(3));
    let all: Vec<Value> = watch.seen.clone();
    let kinds = kinds(&all);
    let deploys = kinds.iter().filter(|k| *k == "deploy").count();
    assert!((1..=2).contains(&deploys), "{kinds:?} (then {rest:?})");
    // Serialized: every change is followed by its outcome before the next change.
    let mut open = false;
    for k in &kinds {
        match k.as_str() {
            "change" => {
                assert!(!open, "a change started while a deploy ran: {kinds:?}");
                open = true;
            }
            "deploy" | "error" => open = false,
            _ => {}
        }
    }
    assert_eq!(invoke(&test, "demo/hello")?["version"], 20);
    Ok(())
}

#[test]
fn an_idle_project_and_sluices_own_writes_make_no_deploy() -> TestResult {
    let test = ProjectTest::empty()
        .write("packages/demo/hello.js", hello(1))
        .write("packages/demo/dir/index.js", hello(1))
        .write("packages/demo/dir/.ignore", "dist/\n");
    let mut watch = Watch::start(&test, &[])?;
    let idle = watch.collect(Duration::from_secs(3));
    assert!(idle.is_empty(), "an idle project made events: {idle:?}");
    for (rel, text) in [
        (".deployed/versions.json", "{}"),
        ("packages/demo/dir/__deployer__.zip", "zip"),
        ("packages/demo/dir/.built", ""),
        ("packages/demo/dir/node_modules/left-pad/index.js", "x"),
        ("packages/demo/dir/dist/bundle.js", "x"),
        ("packages/demo/.hello.js.swp", "x"),
    ] {
        write(&test, rel, text)?;
    }
    let after = watch.collect(Duration::from_secs(2));
    let deploys: Vec<&Value> = after.iter().filter(|e| e["event"] != "skipped").collect();
    assert!(
        deploys.is_empty(),
        "sluice's own outputs deployed: {after:?}"
    );
    Ok(())
}

#[test]
fn a_broken_project_yml_is_reported_and_the_fix_deploys() -> TestResult {
    let test = ProjectTest::empty()
        .write("project.yml", "packages:\n  - name: demo\n")
        .write("packages/demo/hello.js", hello(1));
    let mut watch = Watch::start(&test, &[])?;
    write(&test, "project.yml", "packages: [\n")?;
    let error = watch.outcome()?;
    assert_eq!(error["event"], "error", "{error:#}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("project.yml")),
        "{error:#}"
    );
    write(&test, "project.yml", "packages:\n  - name: demo\n")?;
    let change = watch.next_of("change", EVENT_TIMEOUT)?;
    assert_eq!(change["whole_project"], true);
    let done = watch.outcome()?;
    assert_eq!(done["event"], "deploy", "{done:#}");
    assert_eq!(invoke(&test, "demo/hello")?["version"], 1);
    Ok(())
}

#[test]
fn a_failing_build_is_reported_and_the_watch_goes_on() -> TestResult {
    let test = ProjectTest::empty()
        .write("packages/demo/built/index.js", hello(1))
        .write("packages/demo/built/build.sh", "#!/bin/bash\nexit 0\n");
    let script = test.path().join("packages/demo/built/build.sh");
    set_executable(&script)?;
    let mut watch = Watch::start(&test, &[])?;
    std::fs::write(&script, "#!/bin/bash\necho broken >&2\nexit 3\n")?;
    let failed = watch.outcome()?;
    let reported = failed["event"] == "error"
        || failed["outcome"]["failures"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
    assert!(reported, "the failed build was not reported: {failed:#}");
    // Alive: the next save is deployed.
    std::fs::write(&script, "#!/bin/bash\nexit 0\n")?;
    write(&test, "packages/demo/built/index.js", &hello(2))?;
    let done = watch.outcome()?;
    assert_eq!(done["event"], "deploy", "{done:#}");
    assert!(
        done["outcome"]["failures"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "{done:#}"
    );
    assert_eq!(invoke(&test, "demo/built")?["version"], 2);
    Ok(())
}

#[test]
fn a_watch_change_hook_filters_paths_or_skips_the_deploy() -> TestResult {
    let hook = r#"
local sluice = require("sluice")
sluice.on("watch:change", function(paths)
  local kept = {}
  for _, p in ipairs(paths) do
    if p:find("skipme") then return false end
    if not p:find("draft") then table.insert(kept, p) end
  end
  return kept
end)
"#;
    let test = ProjectTest::empty()
        .write("project.yml", "hooks:\n  - hooks/watch.lua\n")
        .write("hooks/watch.lua", hook)
        .write("packages/demo/hello.js", hello(1))
        .write("packages/demo/draft.js", hello(1));
    let mut watch = Watch::start(&test, &[])?;
    write(&test, "packages/demo/skipme.js", &hello(1))?;
    let skipped = watch.next_of("skipped", EVENT_TIMEOUT)?;
    assert!(
        skipped["reason"]
            .as_str()
            .is_some_and(|r| r.contains("watch:change")),
        "{skipped:#}"
    );
    write(&test, "packages/demo/draft.js", &hello(2))?;
    write(&test, "packages/demo/hello.js", &hello(2))?;
    let change = watch.next_of("change", EVENT_TIMEOUT)?;
    assert_eq!(change["functions"], serde_json::json!(["demo/hello"]));
    let done = watch.outcome()?;
    assert_eq!(deployed(&done), ["demo/hello"], "{done:#}");
    Ok(())
}

#[test]
fn ctrl_c_stops_the_watch_and_its_running_build() -> TestResult {
    let test = ProjectTest::empty()
        .write("packages/demo/slow/index.js", hello(1))
        .write("packages/demo/slow/build.sh", "#!/bin/bash\nexit 0\n");
    let script = test.path().join("packages/demo/slow/build.sh");
    set_executable(&script)?;
    let mut watch = Watch::start(&test, &[])?;
    std::fs::write(
        &script,
        "#!/bin/bash\necho started > started.txt\nsleep 60\n",
    )?;
    watch.next_of("change", EVENT_TIMEOUT)?;
    let started = test.path().join("packages/demo/slow/started.txt");
    let until = Instant::now() + EVENT_TIMEOUT;
    while !started.exists() {
        assert!(Instant::now() < until, "the build never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = watch.child.id().to_string();
    let sent = Command::new("kill").args(["-INT", &pid]).status()?;
    assert!(sent.success());
    // Well before the build's 60 s: the build was stopped with the watch.
    watch.next_of("stopped", Duration::from_secs(20))?;
    let status = watch.child.wait()?;
    assert!(status.success(), "{status:?}");
    Ok(())
}

/// Editors do not just write the file: vim probes the directory with a file `4913` and
/// renames the original to a backup, others write a hidden temporary file and rename it over
/// the original. Each such save deploys the function, and only it.
#[test]
fn editor_style_saves_deploy_the_function() -> TestResult {
    let test = ProjectTest::empty().write("packages/demo/hello.js", hello(1));
    let mut watch = Watch::start(&test, &[])?;
    let dir = test.path().join("packages/demo");
    // vim: probe, backup by rename, write the new file, drop the backup.
    std::fs::write(dir.join("4913"), "")?;
    std::fs::remove_file(dir.join("4913"))?;
    std::fs::rename(dir.join("hello.js"), dir.join("hello.js~"))?;
    std::fs::write(dir.join("hello.js"), hello(2))?;
    std::fs::remove_file(dir.join("hello.js~"))?;
    let done = watch.outcome()?;
    assert_eq!(done["event"], "deploy", "{done:#}");
    assert_eq!(deployed(&done), ["demo/hello"]);
    assert_eq!(invoke(&test, "demo/hello")?["version"], 2);
    // A safe write: a hidden temporary file renamed over the function.
    std::fs::write(dir.join(".hello.js.tmp123"), hello(3))?;
    std::fs::rename(dir.join(".hello.js.tmp123"), dir.join("hello.js"))?;
    let done = watch.outcome()?;
    assert_eq!(done["event"], "deploy", "{done:#}");
    assert_eq!(deployed(&done), ["demo/hello"]);
    assert_eq!(invoke(&test, "demo/hello")?["version"], 3);
    Ok(())
}

/// `watch -e stage`: the environment is chosen once and every batch deploys to its
/// namespace with its env file; a save of that env file re-reads the project and redeploys.
#[test]
fn an_environment_picks_the_namespace_and_its_env_file_is_watched() -> TestResult {
    let test = ProjectTest::empty()
        .write(
            "sluice.toml",
            "[environments.stage]\nnamespace = \"stage\"\nenv = \"env/stage.env\"\n",
        )
        .write(
            "project.yml",
            "packages:\n  - name: demo\n    functions:\n      - name: hello\n        runtime: nodejs:default\n        parameters:\n          greeting: ${GREETING}\n",
        )
        .write(
            "packages/demo/hello.js",
            "exports.main = (a) => ({ environment: process.env.SLUICE_ENVIRONMENT, greeting: a.greeting, version: 1 });\n",
        )
        .write("env/stage.env", "GREETING=hello from stage\n");
    for args in [
        &["local", "namespace", "create", "stage"][..],
        &["namespace", "use", "stage"],
        &["namespace", "use", "local"],
    ] {
        let out = test.command(args).stdin(Stdio::null()).output()?;
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let mut watch = Watch::start(&test, &["-e", "stage"])?;
    assert_eq!(watch.seen[0]["environment"], "stage", "{:#?}", watch.seen);
    write(
        &test,
        "packages/demo/hello.js",
        "exports.main = (a) => ({ environment: process.env.SLUICE_ENVIRONMENT, greeting: a.greeting, version: 2 });\n",
    )?;
    let done = watch.outcome()?;
    assert_eq!(done["event"], "deploy", "{done:#}");
    assert_eq!(deployed(&done), ["demo/hello"]);
    // Nothing went to the default namespace; stage runs the new code with stage's values.
    let elsewhere = test
        .command(["functions", "get", "demo/hello"])
        .stdin(Stdio::null())
        .output()?;
    assert!(
        !elsewhere.status.success(),
        "demo/hello reached the local namespace"
    );
    let use_stage = test
        .command(["namespace", "use", "stage"])
        .stdin(Stdio::null())
        .output()?;
    assert!(use_stage.status.success());
    let result = invoke(&test, "demo/hello")?;
    assert_eq!(
        result,
        serde_json::json!({"environment": "stage", "greeting": "hello from stage", "version": 2})
    );

    // The environment's env file is a project file: saving it redeploys with the new value.
    write(&test, "env/stage.env", "GREETING=hi again from stage\n")?;
    let change = watch.next_of("change", EVENT_TIMEOUT)?;
    assert_eq!(change["paths"], serde_json::json!(["env/stage.env"]));
    let done = watch.outcome()?;
    assert_eq!(done["event"], "deploy", "{done:#}");
    assert_eq!(deployed(&done), ["demo/hello"]);
    assert_eq!(
        invoke(&test, "demo/hello")?["greeting"],
        "hi again from stage"
    );
    Ok(())
}

#[test]
fn prune_is_refused_with_a_way_out() -> TestResult {
    let test = ProjectTest::empty().write("packages/demo/hello.js", hello(1));
    let out = test
        .command(["watch", ".", "--prune"])
        .stdin(Stdio::null())
        .output()?;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--prune") && stderr.contains("sluice deploy --prune"));
    Ok(())
}

#[cfg(unix)]
fn set_executable(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn set_executable(_path: &std::path::Path) -> std::io::Result<()> {
    Ok(())
}
