//! The container-free runner against the real `node` and `python3`: code shapes, parameters,
//! environment, results, errors, time limits and warm reuse.

use std::collections::BTreeMap;
use std::io::Write;

use base64::Engine as _;
use serde_json::{Value, json};
use sluice_local::runner::{
    ActivationStatus, RunOutcome, RunRequest, RunnableAction, Runner, RunnerConfig,
};

struct Harness {
    _cache: tempfile::TempDir,
    runner: Runner,
}

impl Harness {
    fn new() -> Self {
        let cache = tempfile::tempdir().expect("cache dir");
        let runner = Runner::new(RunnerConfig::new(cache.path()));
        Self {
            _cache: cache,
            runner,
        }
    }

    /// The runner's cache directory: materialised code lives below it.
    fn cache(&self) -> &std::path::Path {
        self._cache.path()
    }

    async fn run(&self, action: &RunnableAction, args: Value) -> RunOutcome {
        self.run_env(action, args, BTreeMap::new()).await
    }

    async fn run_env(
        &self,
        action: &RunnableAction,
        args: Value,
        env: BTreeMap<String, String>,
    ) -> RunOutcome {
        let request = RunRequest {
            args,
            env,
            activation_id: "0123456789abcdef0123456789abcdef".into(),
            transaction_id: "tid-1".into(),
            api_host: Some("http://127.0.0.1:3233".into()),
            api_key: None,
        };
        self.runner.run(action, request).await
    }
}

fn action(kind: &str, code: &str) -> RunnableAction {
    RunnableAction {
        namespace: "guest".into(),
        package: Some("demo".into()),
        name: "fn".into(),
        version: "0.0.1".into(),
        kind: kind.into(),
        code: code.into(),
        binary: false,
        main: None,
        timeout_ms: 10_000,
        logs_mb: 10,
        memory_mb: 256,
    }
}

fn zipped(kind: &str, entries: &[(&str, &str)]) -> RunnableAction {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        for (name, body) in entries {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .expect("zip entry");
            w.write_all(body.as_bytes()).expect("zip write");
        }
        w.finish().expect("zip finish");
    }
    let mut a = action(
        kind,
        &base64::engine::general_purpose::STANDARD.encode(buf.into_inner()),
    );
    a.binary = true;
    a
}

fn error_text(outcome: &RunOutcome) -> String {
    outcome.result["error"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn node_single_file_with_global_main_and_logs() {
    let h = Harness::new();
    let a = action(
        "nodejs:20",
        "function main(args) {\n  console.log('hello ' + args.name);\n  console.error('to stderr');\n  return { greeting: 'Hello ' + args.name + '!' };\n}\n",
    );
    let out = h.run(&a, json!({"name": "World"})).await;
    assert_eq!(out.status, ActivationStatus::Success, "{out:?}");
    assert_eq!(out.result, json!({"greeting": "Hello World!"}));
    assert_eq!(out.size, Some(27));
    assert!(out.init_time.is_some());
    assert_eq!(out.logs.len(), 2, "{:?}", out.logs);
    let line = &out.logs[0];
    assert!(line.ends_with(" stdout: hello World"), "{line}");
    assert_eq!(&line[29..30], "Z", "timestamp is 30 chars: {line}");
    assert!(out.logs[1].ends_with(" stderr: to stderr"));
}

#[tokio::test]
async fn node_exports_promises_and_esm() {
    let h = Harness::new();
    let a = action(
        "nodejs:20",
        "exports.main = async (args) => { await new Promise(r => setTimeout(r, 20)); return { n: args.n + 1 }; };",
    );
    let out = h.run(&a, json!({"n": 1})).await;
    assert_eq!(out.result, json!({"n": 2}));
    let esm = action(
        "nodejs:20",
        "import { sep } from 'node:path';\nexport function main(args) { return { sep }; }\n",
    );
    let out = h.run(&esm, json!({})).await;
    assert_eq!(out.status, ActivationStatus::Success, "{out:?}");
    assert_eq!(out.result, json!({"sep": "/"}));
    let undefined = action("nodejs:20", "function main() {}");
    assert_eq!(h.run(&undefined, json!({})).await.result, json!({}));
}

#[tokio::test]
async fn node_zips_package_json_index_and_file_dot_fn() {
    let h = Harness::new();
    let pkg = zipped(
        "nodejs:20",
        &[
            ("package.json", r#"{"name":"x","main":"src/app.js"}"#),
            (
                "src/app.js",
                "const h = require('./helper'); exports.main = (a) => ({ v: h(a.v) });",
            ),
            ("src/helper.js", "module.exports = (v) => v * 2;"),
        ],
    );
    assert_eq!(h.run(&pkg, json!({"v": 21})).await.result, json!({"v": 42}));
    let index = zipped(
        "nodejs:20",
        &[(
            "index.js",
            "exports.main = () => ({ cwd: require('path').basename(process.cwd()).length });",
        )],
    );
    assert_eq!(
        h.run(&index, json!({})).await.result,
        json!({"cwd": 64}),
        "runs inside its unpacked folder"
    );
    let mut dotted = zipped(
        "nodejs:20",
        &[(
            "lib/handler.js",
            "exports.run = () => ({ via: 'lib/handler.run' });",
        )],
    );
    dotted.main = Some("lib/handler.run".into());
    assert_eq!(
        h.run(&dotted, json!({})).await.result,
        json!({"via": "lib/handler.run"})
    );
    let neither = zipped("nodejs:20", &[("other.js", "exports.main = () => ({})")]);
    let out = h.run(&neither, json!({})).await;
    assert_eq!(out.status, ActivationStatus::DeveloperError);
    assert_eq!(
        error_text(&out),
        "Initialization has failed due to: Zipped actions must contain either package.json or index.js at the root."
    );
}

#[tokio::test]
async fn exec_main_names_another_function() {
    let h = Harness::new();
    let mut a = action(
        "nodejs:20",
        "function hello(a) { return { hi: a.who }; }\nfunction main() { return { wrong: true }; }",
    );
    a.main = Some("hello".into());
    assert_eq!(
        h.run(&a, json!({"who": "x"})).await.result,
        json!({"hi": "x"})
    );
    let mut p = action(
        "python:3.11",
        "def handler(args):\n    return {'py': args['who']}\n",
    );
    p.main = Some("handler".into());
    let out = h.run(&p, json!({"who": "y"})).await;
    assert_eq!(out.result, json!({"py": "y"}), "{out:?}");
}

#[tokio::test]
async fn python_single_file_and_zip_with_virtualenv() {
    let h = Harness::new();
    let a = action(
        "python:3.11",
        "import sys\ndef main(args):\n    print('hi', args.get('name'))\n    print('oops', file=sys.stderr)\n    return {'greeting': 'Hello ' + args.get('name', 'stranger') + '!'}\n",
    );
    let out = h.run(&a, json!({})).await;
    assert_eq!(out.status, ActivationStatus::Success, "{out:?}");
    assert_eq!(out.result, json!({"greeting": "Hello stranger!"}));
    assert!(out.logs[0].ends_with(" stdout: hi None"), "{:?}", out.logs);
    assert!(out.logs[1].ends_with(" stderr: oops"), "{:?}", out.logs);
    let zip = zipped(
        "python:3.11",
        &[
            (
                "__main__.py",
                "import helper, joke\ndef main(args):\n    return {'sum': helper.add(2, 3), 'joke': joke.tell()}\n",
            ),
            ("helper.py", "def add(a, b):\n    return a + b\n"),
            (
                "virtualenv/lib/python3.11/site-packages/joke.py",
                "def tell():\n    return 'from the virtualenv'\n",
            ),
        ],
    );
    let out = h.run(&zip, json!({})).await;
    assert_eq!(out.status, ActivationStatus::Success, "{out:?}");
    assert_eq!(out.result, json!({"sum": 5, "joke": "from the virtualenv"}));
    let no_main = zipped("python:3.11", &[("other.py", "x = 1")]);
    let out = h.run(&no_main, json!({})).await;
    assert_eq!(
        error_text(&out),
        "Initialization has failed due to: Zip file does not include __main__.py"
    );
}

/// A package on the host python's own site-packages (and the test below checks it is
/// there) that no function here lists.
const HOST_ONLY: &str = "jinja2";

#[tokio::test]
async fn python_sees_the_stdlib_its_code_and_virtualenv_but_not_the_host() {
    let host = std::process::Command::new("python3")
        .args(["-c", &format!("import {HOST_ONLY}")])
        .status()
        .expect("python3 runs");
    assert!(
        host.success(),
        "the host python needs {HOST_ONLY} for this test"
    );
    let h = Harness::new();
    let probe = format!(
        "import json, sys\n\
         def main(args):\n\
         \x20   try:\n\
         \x20       import {HOST_ONLY}\n\
         \x20       leaked = True\n\
         \x20   except ImportError:\n\
         \x20       leaked = False\n\
         \x20   return {{'leaked': leaked, 'site': [p for p in sys.path if 'site-packages' in p],\n\
         \x20           'user_site': sys.flags.no_user_site, 'exit': callable(exit)}}\n"
    );
    let out = h.run(&action("python:3.11", &probe), json!({})).await;
    assert_eq!(out.status, ActivationStatus::Success, "{out:?}");
    assert_eq!(
        out.result,
        json!({"leaked": false, "site": [], "user_site": 1, "exit": true})
    );

    // With a virtualenv, its site-packages is the only one, and it shadows the host's.
    let zip = zipped(
        "python:3.11",
        &[
            (
                "__main__.py",
                "import sys, jinja2\ndef main(args):\n    return {'jinja2': jinja2.__version__, 'site': [p.split('/code/', 1)[-1].split('/', 1)[-1] for p in sys.path if 'site-packages' in p]}\n",
            ),
            (
                "virtualenv/lib/python3.11/site-packages/jinja2/__init__.py",
                "__version__ = 'from the zip'\n",
            ),
        ],
    );
    let out = h.run(&zip, json!({})).await;
    assert_eq!(out.status, ActivationStatus::Success, "{out:?}");
    assert_eq!(
        out.result,
        json!({"jinja2": "from the zip", "site": ["virtualenv/lib/python3.11/site-packages"]})
    );
}

#[tokio::test]
async fn node_resolves_modules_only_from_its_code() {
    let h = Harness::new();
    // A node_modules folder above the materialised code (code lives under <cache>/code/):
    // plain node would find it by walking up; the cloud has nothing there.
    let leak = h.cache().join("node_modules").join("leak");
    std::fs::create_dir_all(&leak).expect("mkdir");
    std::fs::write(leak.join("index.js"), "module.exports = 'leaked';").expect("write");
    let probe = "exports.main = () => { let found; try { found = require('leak'); } \
                 catch (e) { found = e.code; } \
                 return { found, own: require('own'), fs: typeof require('fs').readFileSync }; };";
    let a = zipped(
        "nodejs:20",
        &[
            ("index.js", probe),
            ("node_modules/own/index.js", "module.exports = 'mine';"),
        ],
    );
    let out = h.run(&a, json!({})).await;
    assert_eq!(out.status, ActivationStatus::Success, "{out:?}");
    assert_eq!(
        out.result,
        json!({"found": "MODULE_NOT_FOUND", "own": "mine", "fs": "function"})
    );
}

#[tokio::test]
async fn init_parameters_and_ow_variables_reach_the_environment() {
    let h = Harness::new();
    let env = BTreeMap::from([("MULTI".to_string(), "line 1\\nline 2".to_string())]);
    let node = action(
        "nodejs:20",
        "function main() { const e = process.env; return { multi: e.MULTI, name: e.__OW_ACTION_NAME, ns: e.__OW_NAMESPACE, id: e.__OW_ACTIVATION_ID, version: e.__OW_ACTION_VERSION, host: e.__OW_API_HOST, deadline: Number(e.__OW_DEADLINE) > Date.now() }; }",
    );
    let out = h.run_env(&node, json!({}), env.clone()).await;
    assert_eq!(
        out.result,
        json!({"multi": "line 1\\nline 2", "name": "/guest/demo/fn", "ns": "guest",
               "id": "0123456789abcdef0123456789abcdef", "version": "0.0.1",
               "host": "http://127.0.0.1:3233", "deadline": true})
    );
    let py = action(
        "python:3.11",
        "import os\ndef main(a):\n    return {'multi': os.environ['MULTI'], 'id': os.environ['__OW_ACTIVATION_ID']}\n",
    );
    let out = h.run_env(&py, json!({}), env).await;
    assert_eq!(
        out.result,
        json!({"multi": "line 1\\nline 2", "id": "0123456789abcdef0123456789abcdef"})
    );
}

#[tokio::test]
async fn two_parameter_handlers_get_a_context() {
    let h = Harness::new();
    let node = action(
        "nodejs:20",
        "function main(event, context) { return { fn: context.functionName, left: context.getRemainingTimeInMillis() > 0, id: context.activationId, ev: event.x }; }",
    );
    assert_eq!(
        h.run(&node, json!({"x": 1})).await.result,
        json!({"fn": "/guest/demo/fn", "left": true, "id": "0123456789abcdef0123456789abcdef", "ev": 1})
    );
    let py = action(
        "python:3.11",
        "def main(event, context):\n    return {'fn': context.function_name, 'left': context.get_remaining_time_in_millis() > 0, 'ev': event['x']}\n",
    );
    assert_eq!(
        h.run(&py, json!({"x": 2})).await.result,
        json!({"fn": "/guest/demo/fn", "left": true, "ev": 2})
    );
}

#[tokio::test]
async fn time_limit_kills_and_reports() {
    let h = Harness::new();
    let mut a = action(
        "nodejs:20",
        "function main(a) { console.log('started'); if (a.spin) { while (true) {} } return { ok: true }; }",
    );
    a.timeout_ms = 500;
    let out = h.run(&a, json!({"spin": true})).await;
    assert_eq!(out.status, ActivationStatus::DeveloperError);
    assert!(out.timed_out);
    assert_eq!(
        error_text(&out),
        "The action exceeded its time limits of 500 milliseconds."
    );
    assert!(out.logs.iter().any(|l| l.ends_with("stdout: started")));
    let again = h.run(&a, json!({})).await;
    assert_eq!(
        again.result,
        json!({"ok": true}),
        "a fresh process after the kill"
    );
    assert!(again.init_time.is_some());
    let mut py = action(
        "python:3.11",
        "import time\ndef main(a):\n    time.sleep(5)\n    return {}\n",
    );
    py.timeout_ms = 2000;
    let out = h.run(&py, json!({})).await;
    assert!(out.timed_out);
    assert_eq!(
        error_text(&out),
        "The action exceeded its time limits of 2000 milliseconds."
    );
}

#[tokio::test]
async fn errors_follow_each_runtime() {
    let h = Harness::new();
    let thrown = action("nodejs:20", "function main() { throw new Error('boom'); }");
    let out = h.run(&thrown, json!({})).await;
    assert_eq!(out.status, ActivationStatus::DeveloperError);
    assert_eq!(error_text(&out), "An error has occurred: Error: boom");
    assert!(out.logs.iter().any(|l| l.contains("stderr: Error: boom")));
    let rejected = action(
        "nodejs:20",
        "async function main() { throw new Error('nope'); }",
    );
    let out = h.run(&rejected, json!({})).await;
    assert_eq!(out.status, ActivationStatus::ApplicationError);
    assert_eq!(out.result["error"]["message"], json!("nope"));
    let returned = action(
        "nodejs:20",
        "function main() { return { error: 'bad input' }; }",
    );
    let out = h.run(&returned, json!({})).await;
    assert_eq!(out.status, ActivationStatus::ApplicationError);
    assert_eq!(out.result, json!({"error": "bad input"}));
    let scalar = action("nodejs:20", "function main() { return 42; }");
    assert_eq!(
        error_text(&h.run(&scalar, json!({})).await),
        "The action did not return a dictionary."
    );
    let py = action(
        "python:3.11",
        "def main(a):\n    raise ValueError('py boom')\n",
    );
    let out = h.run(&py, json!({})).await;
    assert_eq!(out.status, ActivationStatus::ApplicationError);
    assert_eq!(out.result, json!({"error": "py boom"}));
    assert!(out.logs.iter().any(|l| l.contains("ValueError: py boom")));
    let py_scalar = action("python:3.11", "def main(a):\n    return 'text'\n");
    assert_eq!(
        error_text(&h.run(&py_scalar, json!({})).await),
        "The action did not return a dictionary or array."
    );
    let array = action("python:3.11", "def main(a):\n    return [1, 2]\n");
    let out = h.run(&array, json!({})).await;
    assert_eq!(
        (out.status, out.result),
        (ActivationStatus::Success, json!([1, 2]))
    );
    let exits = action("nodejs:20", "function main() { process.exit(3); }");
    assert_eq!(
        error_text(&h.run(&exits, json!({})).await),
        "The action did not produce a valid response and exited unexpectedly."
    );
    let syntax = action("nodejs:20", "function main( {");
    let out = h.run(&syntax, json!({})).await;
    assert!(
        error_text(&out).starts_with("Initialization has failed due to: SyntaxError"),
        "{out:?}"
    );
    let missing = action("python:3.11", "def other(a):\n    return a\n");
    assert_eq!(
        error_text(&h.run(&missing, json!({})).await),
        "Initialization has failed due to: Action entrypoint 'main' is not a function."
    );
}

#[tokio::test]
async fn results_over_one_megabyte_are_refused() {
    let h = Harness::new();
    let big = action(
        "nodejs:20",
        "function main() { return { s: 'x'.repeat(1100000) }; }",
    );
    let out = h.run(&big, json!({})).await;
    assert_eq!(
        out.status,
        ActivationStatus::ApplicationError,
        "{:?}",
        out.result
    );
    assert!(error_text(&out).starts_with(
        "The action produced a response that exceeded the allowed length: 1100008 > 1048576 bytes."
    ));
}

#[tokio::test]
async fn warm_processes_are_reused_per_version() {
    let h = Harness::new();
    let counter = "let count = 0;\nfunction main() { count += 1; return { count }; }";
    let a = action("nodejs:20", counter);
    let first = h.run(&a, json!({})).await;
    let second = h.run(&a, json!({})).await;
    assert_eq!(first.result, json!({"count": 1}));
    assert_eq!(second.result, json!({"count": 2}));
    assert!(first.init_time.is_some());
    assert!(second.init_time.is_none(), "warm run has no initTime");
    let mut next = a.clone();
    next.version = "0.0.2".into();
    assert_eq!(
        h.run(&next, json!({})).await.result,
        json!({"count": 1}),
        "a new version starts a new process"
    );
}

#[tokio::test]
async fn other_kinds_cannot_run_locally_and_zips_may_not_escape() {
    let h = Harness::new();
    let php = action("php:8.0", "<?php function main() {}");
    let out = h.run(&php, json!({})).await;
    assert_eq!(out.status, ActivationStatus::DeveloperError);
    assert!(
        error_text(&out).starts_with("The runtime 'php:8.0' cannot run locally"),
        "{out:?}"
    );
    let evil = zipped(
        "nodejs:20",
        &[
            ("index.js", "exports.main = () => ({})"),
            ("../../evil.js", ""),
        ],
    );
    let out = h.run(&evil, json!({})).await;
    assert_eq!(out.status, ActivationStatus::DeveloperError);
    assert_eq!(
        error_text(&out),
        "The zip entry '../../evil.js' escapes the action's folder; refusing to unpack it."
    );
}

#[tokio::test]
async fn log_limit_truncates() {
    let h = Harness::new();
    let mut a = action(
        "nodejs:20",
        "function main() { console.log('first'); console.log('second'); return {}; }",
    );
    a.logs_mb = 0;
    let out = h.run(&a, json!({})).await;
    assert_eq!(
        out.logs,
        vec!["Logs were truncated because the total bytes size exceeds the limit of 0 bytes."]
    );
}
