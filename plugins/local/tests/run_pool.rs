//! The bounded, warm pool against real `node`, `python3` and `go`: per-action and global caps
//! with a first-come queue, retirement of a redeployed action's workers, idle expiry, memory
//! limits, Landlock confinement of the data directory, and Go functions.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use sluice_local::runner::{
    ActivationStatus, Confinement, RunOutcome, RunRequest, RunnableAction, Runner, RunnerConfig,
    RunnerSettings, confinement,
};

fn runner(cache: &Path, settings: RunnerSettings) -> Runner {
    let mut config = RunnerConfig::new(cache);
    config.settings = settings;
    Runner::new(config)
}

fn settings(max_workers: usize, max_per_action: usize, idle_secs: u64) -> RunnerSettings {
    RunnerSettings {
        max_workers,
        max_per_action,
        idle_ttl: Duration::from_secs(idle_secs),
    }
}

fn action(name: &str, kind: &str, code: &str) -> RunnableAction {
    RunnableAction {
        namespace: "guest".into(),
        package: None,
        name: name.into(),
        version: "0.0.1".into(),
        kind: kind.into(),
        code: code.into(),
        binary: false,
        main: None,
        timeout_ms: 20_000,
        logs_mb: 10,
        memory_mb: 256,
    }
}

fn zipped(name: &str, kind: &str, entries: &[(&str, &[u8], u32)]) -> RunnableAction {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        for (path, body, mode) in entries {
            let opts = zip::write::SimpleFileOptions::default().unix_permissions(*mode);
            w.start_file(*path, opts).expect("zip entry");
            w.write_all(body).expect("zip write");
        }
        w.finish().expect("zip finish");
    }
    let mut a = action(
        name,
        kind,
        &base64::engine::general_purpose::STANDARD.encode(buf.into_inner()),
    );
    a.binary = true;
    a
}

async fn run(r: &Runner, a: &RunnableAction, args: Value) -> RunOutcome {
    let request = RunRequest {
        args,
        env: BTreeMap::new(),
        activation_id: "0123456789abcdef0123456789abcdef".into(),
        transaction_id: "tid".into(),
        api_host: None,
        api_key: None,
    };
    r.run(a, request).await
}

fn error_text(o: &RunOutcome) -> String {
    o.result["error"].as_str().unwrap_or_default().to_string()
}

const SLEEPER: &str =
    "function main(a) { return new Promise(r => setTimeout(() => r({ok: true}), a.ms)); }";

/// Runs `n` sleeps of `ms` at once; returns each run's (start, end).
async fn concurrent_sleeps(
    r: &Arc<Runner>,
    actions: &[RunnableAction],
    ms: u64,
) -> Vec<(u64, u64)> {
    let mut tasks = Vec::new();
    for a in actions {
        let r = r.clone();
        let a = a.clone();
        tasks.push(tokio::spawn(
            async move { run(&r, &a, json!({"ms": ms})).await },
        ));
    }
    let mut spans = Vec::new();
    for t in tasks {
        let o = t.await.expect("task");
        assert_eq!(o.status, ActivationStatus::Success, "{o:?}");
        spans.push((o.start, o.end));
    }
    spans
}

/// The most runs that overlapped in time.
fn max_overlap(spans: &[(u64, u64)]) -> usize {
    spans
        .iter()
        .map(|(s, _)| spans.iter().filter(|(s2, e2)| s2 <= s && s < e2).count())
        .max()
        .unwrap_or(0)
}

#[tokio::test]
async fn the_per_action_cap_queues_runs_of_one_action() {
    let cache = tempfile::tempdir().expect("cache");
    let r = Arc::new(runner(cache.path(), settings(8, 2, 60)));
    let a = action("sleepy", "nodejs:20", SLEEPER);
    // Warm two workers first so the measured runs are not skewed by cold starts.
    concurrent_sleeps(&r, &[a.clone(), a.clone()], 10).await;
    let spans = concurrent_sleeps(&r, &vec![a.clone(); 6], 300).await;
    assert_eq!(max_overlap(&spans), 2, "{spans:?}");
    assert!(
        r.idle_workers() <= 2,
        "no more workers than the action's cap"
    );
}

#[tokio::test]
async fn the_global_cap_bounds_all_actions_together() {
    let cache = tempfile::tempdir().expect("cache");
    let r = Arc::new(runner(cache.path(), settings(2, 2, 60)));
    let actions: Vec<RunnableAction> = (0..5)
        .map(|i| action(&format!("a{i}"), "nodejs:20", SLEEPER))
        .collect();
    let spans = concurrent_sleeps(&r, &actions, 300).await;
    assert_eq!(max_overlap(&spans), 2, "{spans:?}");
    assert!(
        r.idle_workers() <= 2,
        "the pool keeps at most the global cap idle"
    );
}

#[tokio::test]
async fn a_redeployed_action_retires_its_old_workers() {
    let cache = tempfile::tempdir().expect("cache");
    let r = runner(cache.path(), settings(8, 8, 60));
    let v1 = action("f", "nodejs:20", "function main() { return {v: 1}; }");
    assert_eq!(run(&r, &v1, json!({})).await.result, json!({"v": 1}));
    assert_eq!(r.idle_workers(), 1);
    let mut v2 = action("f", "nodejs:20", "function main() { return {v: 2}; }");
    v2.version = "0.0.2".into();
    assert_eq!(run(&r, &v2, json!({})).await.result, json!({"v": 2}));
    assert_eq!(r.idle_workers(), 1, "the old code's worker was retired");
    let other = action("g", "nodejs:20", "function main() { return {g: 1}; }");
    run(&r, &other, json!({})).await;
    assert_eq!(r.idle_workers(), 2, "other actions' workers stay");
}

#[tokio::test]
async fn idle_workers_expire() {
    let cache = tempfile::tempdir().expect("cache");
    let r = runner(cache.path(), settings(4, 4, 1));
    let a = action("f", "python:3", "def main(a):\n    return {'ok': True}\n");
    run(&r, &a, json!({})).await;
    assert_eq!(r.idle_workers(), 1);
    tokio::time::sleep(Duration::from_millis(1800)).await;
    assert_eq!(r.idle_workers(), 0, "expired after the idle period");
    let again = run(&r, &a, json!({})).await;
    assert!(again.init_time.is_some(), "a cold start after expiry");
}

#[tokio::test]
async fn the_memory_limit_stops_big_allocations() {
    let cache = tempfile::tempdir().expect("cache");
    let r = runner(cache.path(), RunnerSettings::defaults());
    let mut node = action(
        "hog",
        "nodejs:20",
        "function main() { const a = []; for (let i = 0; i < 64; i++) a.push(Buffer.alloc(16 << 20, 1)); return {n: a.length}; }",
    );
    node.memory_mb = 128;
    let out = run(&r, &node, json!({})).await;
    assert_ne!(out.status, ActivationStatus::Success, "{out:?}");
    let mut small = node.clone();
    small.memory_mb = 2048;
    small.name = "roomy".into();
    let out = run(&r, &small, json!({})).await;
    assert_eq!(out.result, json!({"n": 64}), "{out:?}");
    let mut py = action(
        "pyhog",
        "python:3",
        "def main(a):\n    b = bytearray(512 * 1024 * 1024)\n    return {'n': len(b)}\n",
    );
    py.memory_mb = 128;
    let out = run(&r, &py, json!({})).await;
    assert_eq!(out.status, ActivationStatus::ApplicationError, "{out:?}");
    assert!(
        out.logs.iter().any(|l| l.contains("MemoryError")),
        "{out:?}"
    );
}

const SNOOP: &str = r#"
const fs = require('fs');
function main(a) {
  const out = {};
  for (const [k, p] of Object.entries(a.read)) {
    try { fs.readFileSync(p); out[k] = 'read'; } catch (e) { out[k] = e.code; }
  }
  for (const [k, p] of Object.entries(a.write)) {
    try { fs.writeFileSync(p, 'x'); out['write_' + k] = 'written'; } catch (e) { out['write_' + k] = e.code; }
  }
  try { fs.writeFileSync(require('os').tmpdir() + '/scratch', 'x'); out.tmp = 'written'; } catch (e) { out.tmp = e.code; }
  return out;
}
"#;

#[tokio::test]
async fn functions_cannot_read_the_data_directory() {
    if let Confinement::Unavailable(why) = confinement() {
        println!("SKIPPED functions_cannot_read_the_data_directory: {why}");
        return;
    }
    let data = tempfile::tempdir().expect("data dir");
    let key = data.path().join("namespaces.key");
    std::fs::write(&key, "secret").expect("key");
    let db = data.path().join("sluice.db");
    std::fs::write(&db, "db").expect("db");
    let outside = tempfile::tempdir().expect("outside");
    let readable = outside.path().join("notes.txt");
    std::fs::write(&readable, "hello").expect("notes");
    let mut config = RunnerConfig::new(data.path().join("runner")).protecting(data.path());
    config.settings = RunnerSettings::defaults();
    let r = Runner::new(config);
    let a = action("snoop", "nodejs:20", SNOOP);
    let args = json!({
        "read": {
            "key": key, "db": db, "outside": readable, "etc": "/etc/hostname",
        },
        "write": {
            "outside": outside.path().join("dropped.txt"),
            "data": data.path().join("dropped.txt"),
            "code": "./dropped.js",
        },
    });
    let out = run(&r, &a, args).await;
    assert_eq!(out.status, ActivationStatus::Success, "{out:?}");
    let got = &out.result;
    assert_eq!(got["key"], "EACCES", "{got}");
    assert_eq!(got["db"], "EACCES", "{got}");
    assert_eq!(got["outside"], "read", "{got}");
    assert_eq!(got["etc"], "read", "{got}");
    assert_eq!(
        got["tmp"], "written",
        "the worker's own temporary directory is writable"
    );
    for k in ["write_outside", "write_data", "write_code"] {
        assert_eq!(got[k], "EACCES", "{k}: {got}");
    }
    assert!(!outside.path().join("dropped.txt").exists(), "{got}");
    assert!(!data.path().join("dropped.txt").exists(), "{got}");
    let py = action(
        "pysnoop",
        "python:3",
        "def main(a):\n    try:\n        open(a['key']).read()\n        return {'key': 'read'}\n    except PermissionError:\n        return {'key': 'denied'}\n",
    );
    let out = run(&r, &py, json!({"key": key})).await;
    assert_eq!(out.result, json!({"key": "denied"}), "{out:?}");
}

fn has_go() -> bool {
    std::process::Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

const GO_HELLO: &str = r#"package main

import "fmt"

// Main greets.
func Main(args map[string]interface{}) map[string]interface{} {
	name, ok := args["name"].(string)
	if !ok {
		name = "stranger"
	}
	fmt.Println("greeting", name)
	return map[string]interface{}{"body": "Hello " + name + "!"}
}
"#;

#[tokio::test]
async fn go_sources_compile_once_and_run_warm() {
    if !has_go() {
        println!("SKIPPED go_sources_compile_once_and_run_warm: no 'go' on the PATH; install Go");
        return;
    }
    let cache = tempfile::tempdir().expect("cache");
    let r = runner(cache.path(), RunnerSettings::defaults());
    let a = action("hello", "go:1.19", GO_HELLO);
    let first = run(&r, &a, json!({"name": "World"})).await;
    assert_eq!(first.result, json!({"body": "Hello World!"}), "{first:?}");
    assert!(
        first
            .logs
            .iter()
            .any(|l| l.ends_with("stdout: greeting World")),
        "{first:?}"
    );
    let second = run(&r, &a, json!({})).await;
    assert_eq!(second.result, json!({"body": "Hello stranger!"}));
    assert!(second.init_time.is_none(), "the second run is warm");

    // A zip with a go.mod, a sub-package and a custom entry name.
    let module = zipped(
        "mod",
        "go:1.19",
        &[
            ("go.mod", b"module example.com/greet\n\ngo 1.19\n", 0o644),
            (
                "main.go",
                b"package main\n\nimport \"example.com/greet/words\"\n\nfunc Greet(args map[string]interface{}) map[string]interface{} {\n\treturn map[string]interface{}{\"word\": words.Hello()}\n}\n",
                0o644,
            ),
            ("words/words.go", b"package words\n\nfunc Hello() string { return \"hi\" }\n", 0o644),
        ],
    );
    let mut module = module;
    module.main = Some("greet".into());
    let out = run(&r, &module, json!({})).await;
    assert_eq!(out.result, json!({"word": "hi"}), "{out:?}");
}

#[tokio::test]
async fn go_errors_are_clear() {
    if !has_go() {
        println!("SKIPPED go_errors_are_clear: no 'go' on the PATH; install Go");
        return;
    }
    let cache = tempfile::tempdir().expect("cache");
    let r = runner(cache.path(), RunnerSettings::defaults());
    let broken = action(
        "broken",
        "go:1.19",
        "package main\n\nfunc Main(args map[string]interface{}) map[string]interface{} {\n\treturn nope\n}\n",
    );
    let out = run(&r, &broken, json!({})).await;
    assert_eq!(out.status, ActivationStatus::DeveloperError);
    let text = error_text(&out);
    assert!(
        text.starts_with("Initialization has failed due to: go build failed:"),
        "{text}"
    );
    assert!(text.contains("undefined: nope"), "{text}");
    assert!(
        !text.contains(cache.path().to_string_lossy().as_ref()),
        "{text}"
    );

    let needs_module = zipped(
        "dep",
        "go:1.19",
        &[
            ("go.mod", b"module m\n\ngo 1.19\n\nrequire github.com/pkg/errors v0.9.1\n", 0o644),
            (
                "main.go",
                b"package main\n\nimport \"github.com/pkg/errors\"\n\nfunc Main(a map[string]interface{}) map[string]interface{} {\n\treturn map[string]interface{}{\"e\": errors.New(\"x\").Error()}\n}\n",
                0o644,
            ),
        ],
    );
    let out = run(&r, &needs_module, json!({})).await;
    assert_eq!(out.status, ActivationStatus::DeveloperError);
    assert!(error_text(&out).contains("go mod vendor"), "{out:?}");

    let not_main = action("lib", "go:1.19", "package hello\n\nfunc Main() {}\n");
    let out = run(&r, &not_main, json!({})).await;
    assert!(error_text(&out).contains("`package main`"), "{out:?}");
}

#[tokio::test]
async fn a_precompiled_go_exec_runs_as_it_is() {
    if !has_go() {
        println!("SKIPPED a_precompiled_go_exec_runs_as_it_is: no 'go' on the PATH; install Go");
        return;
    }
    // Build an action-loop executable the way `localBuild` does, with its own func main.
    let src = tempfile::tempdir().expect("src");
    std::fs::write(src.path().join("go.mod"), "module x\n\ngo 1.19\n").expect("go.mod");
    std::fs::write(
        src.path().join("main.go"),
        "package main\n\nimport (\n\t\"bufio\"\n\t\"os\"\n)\n\nfunc main() {\n\tout := os.NewFile(3, \"pipe\")\n\tout.Write([]byte(\"{\\\"ok\\\": true}\\n\"))\n\tin := bufio.NewReader(os.Stdin)\n\tfor {\n\t\tif _, err := in.ReadBytes('\\n'); err != nil {\n\t\t\treturn\n\t\t}\n\t\tos.Stderr.WriteString(\"ran\\n\")\n\t\tout.Write([]byte(\"{\\\"precompiled\\\": true}\\n\"))\n\t}\n}\n",
    )
    .expect("main.go");
    let built = std::process::Command::new("go")
        .args(["build", "-o", "exec", "."])
        .current_dir(src.path())
        .env("GOFLAGS", "-buildvcs=false")
        .env("GOPROXY", "off")
        .output()
        .expect("go build");
    assert!(built.status.success(), "{built:?}");
    let exec = std::fs::read(src.path().join("exec")).expect("exec");
    let cache = tempfile::tempdir().expect("cache");
    let r = runner(cache.path(), RunnerSettings::defaults());
    let a = zipped("pre", "go:1.19", &[("exec", &exec, 0o755)]);
    let out = run(&r, &a, json!({})).await;
    assert_eq!(out.result, json!({"precompiled": true}), "{out:?}");
    assert!(
        out.logs.iter().any(|l| l.ends_with("stderr: ran")),
        "{out:?}"
    );
}
