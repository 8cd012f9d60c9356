//! Remote builds end to end against the local namespace: `sluice deploy --remote-build`
//! slices each function, `/nimbella/builder/getUploadUrl` of the background server hands out
//! an upload URL on it, `build_<runtime>` runs the slice deployer (`sluice deploy
//! slice:<name>`) with the machine's node, python3 or go, and the function it deployed is
//! invoked. Also: the trigger of a remotely built function is deployed (the original never
//! did), the original's three remote-build error cases give its messages, and the original's
//! predecessor `@nimbella/nimbella-deployer` (from npm) builds remotely against `sluice serve`.
//!
//! Slices are unpacked under the test's own `TMPDIR`, so nothing is left in the machine's
//! `/tmp`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;

use common::ProjectTest;
use serde_json::{Value, json};

/// A project test whose slices (and build temporaries) stay in its own temporary directory.
fn project() -> ProjectTest {
    let test = ProjectTest::empty();
    let tmp = test.temp().join("tmp");
    std::fs::create_dir_all(&tmp).expect("a temporary directory");
    test.env("TMPDIR", tmp)
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("run sluice")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `sluice invoke <args…>` as JSON.
fn invoke(test: &ProjectTest, args: &[&str]) -> Value {
    let out = run(&mut test.command(["invoke"].iter().chain(args)));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("invoke printed no JSON ({e}): {}", text(&out)))
}

fn on_path(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn go_available() -> bool {
    Command::new("go")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The slices of the test's data directory that are still stored.
fn stored_slices(test: &ProjectTest) -> Vec<PathBuf> {
    let dir = test.local_dir().join("slices").join("local");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    out.retain(|p| p.extension().is_some_and(|e| e == "zip"));
    out
}

#[test]
fn a_node_function_with_dependencies_is_built_by_the_local_builder() {
    let test = project()
        .write(
            "packages/demo/pad/package.json",
            r#"{"name": "pad", "version": "1.0.0", "main": "index.js", "dependencies": {"left-pad": "1.3.0"}}"#,
        )
        .write(
            "packages/demo/pad/index.js",
            "const leftPad = require('left-pad');\nexports.main = (args) => ({ padded: leftPad(args.n || '7', 3, '0') });\n",
        );
    let out = run(&mut test.command(["deploy", ".", "--remote-build"]));
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains(
            "Submitted function 'demo/pad' for remote building and deployment in runtime nodejs:default"
        ),
        "{shown}"
    );
    assert!(shown.contains("  - demo/pad"), "{shown}");
    // Built remotely: nothing was installed in the project itself.
    assert!(!test.path().join("packages/demo/pad/node_modules").exists());
    assert_eq!(
        invoke(&test, &["demo/pad", "-p", "n", "5"]),
        json!({"padded": "005"})
    );
    // The slice deployed without failures, so the store no longer holds it.
    assert_eq!(stored_slices(&test), Vec::<PathBuf>::new());
    // The versions file has the builder's outcome.
    let versions = std::fs::read_to_string(test.path().join(".deployed/versions.json"))
        .expect("versions are recorded");
    assert!(versions.contains("demo/pad"), "{versions}");
}

const PY_BUILD: &str = r#"#!/bin/bash
set -e
V=$(python3 -c 'import sys; print("python%d.%d" % sys.version_info[:2])')
python3 -m pip install --quiet -r requirements.txt --target "virtualenv/lib/$V/site-packages"
"#;

#[test]
fn a_python_function_with_a_build_script_is_built_by_the_local_builder() {
    let test = project()
        .write("packages/py/six/requirements.txt", "six==1.16.0\n")
        .write("packages/py/six/build.sh", PY_BUILD)
        .write(
            "packages/py/six/__main__.py",
            "import six\n\n\ndef main(args):\n    return {\"six\": six.__version__}\n",
        );
    make_executable(&test.path().join("packages/py/six/build.sh"));
    let out = run(&mut test.command(["deploy", ".", "--remote-build"]));
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("in runtime python:default"),
        "the runtime is agreed on from the slice's files: {shown}"
    );
    assert!(!test.path().join("packages/py/six/virtualenv").exists());
    assert_eq!(invoke(&test, &["py/six"]), json!({"six": "1.16.0"}));
}

#[test]
fn a_go_function_without_a_build_script_is_built_by_the_local_builder() {
    if !go_available() {
        println!(
            "SKIPPED a_go_function_without_a_build_script_is_built_by_the_local_builder: no go on the PATH"
        );
        return;
    }
    let test = project().write(
        "packages/gop/greet/main.go",
        "package main\n\nfunc Main(args map[string]interface{}) map[string]interface{} {\n\tname, ok := args[\"name\"].(string)\n\tif !ok {\n\t\tname = \"stranger\"\n\t}\n\treturn map[string]interface{}{\"greeting\": \"Hello \" + name}\n}\n",
    );
    // Go is built remotely by default; --remote-build says it anyway.
    let out = run(&mut test.command(["deploy", ".", "--remote-build"]));
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("in runtime go:default"), "{shown}");
    assert_eq!(
        invoke(&test, &["gop/greet", "-p", "name", "Go"]),
        json!({"greeting": "Hello Go"})
    );
}

#[test]
fn the_trigger_of_a_remotely_built_function_is_deployed() {
    let test = project()
        .write(
            "packages/demo/tick/index.js",
            "exports.main = () => ({ ticked: true });\n",
        )
        .write(
            "packages/demo/tick/package.json",
            r#"{"name": "tick", "version": "1.0.0", "main": "index.js"}"#,
        )
        .write(
            "project.yml",
            "packages:\n  - name: demo\n    functions:\n      - name: tick\n        triggers:\n          - name: every-minute\n            sourceType: scheduler\n            sourceDetails:\n              cron: \"* * * * *\"\n",
        );
    let out = run(&mut test.command(["deploy", ".", "--remote-build"]));
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("Deployed triggers:\n  - every-minute"),
        "{shown}"
    );
    let listed = run(&mut test.command(["triggers", "get", "every-minute", "--json"]));
    let listed_text = text(&listed);
    assert!(listed.status.success(), "{listed_text}");
    assert!(listed_text.contains("demo/tick"), "{listed_text}");
    assert!(listed_text.contains("* * * * *"), "{listed_text}");
    assert_eq!(invoke(&test, &["demo/tick"]), json!({"ticked": true}));
}

/// The original's `remote-build-errs` cases: each deploy reports the function's failure with
/// the original's words (sluice exits non-zero when something failed; the original did not).
#[test]
fn the_originals_remote_build_errors_give_its_messages() {
    let test = ProjectTest::fixture("remote-build-errs");
    let tmp = test.temp().join("tmp");
    std::fs::create_dir_all(&tmp).expect("a temporary directory");
    let test = test.env("TMPDIR", tmp);
    let mut cases = vec![
        (
            "bad-include",
            vec!["Illegal use of '..' in an '.include' file"],
        ),
        (
            "bad-script",
            vec![
                "Output of failed build",
                "'../../illegal': No such file or directory",
            ],
        ),
    ];
    if go_available() {
        cases.push(("bad-src", vec!["Output of failed build", "undefined: k"]));
    } else {
        println!("SKIPPED the bad-src case: no go on the PATH");
    }
    for (case, expected) in cases {
        let include = format!("test-remote-build-errs/{case}");
        let out = run(&mut test.command(["deploy", ".", "--remote-build", "--include", &include]));
        let shown = text(&out);
        assert!(!out.status.success(), "{case}: {shown}");
        assert!(
            shown.contains(&format!(
                "Transcript of remote build session for action '{include}'"
            )) || case == "bad-include",
            "{case}: {shown}"
        );
        for line in expected {
            assert!(shown.contains(line), "{case}: '{line}' missing in\n{shown}");
        }
        assert!(
            shown.contains(&format!("Error: While deploying action '{include}'")),
            "{case}: {shown}"
        );
    }
    // Failed slices stay in the store (for a look at what was sent).
    assert!(!stored_slices(&test).is_empty());
}

#[cfg(unix)]
fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) {}

// ---- interop: the original's predecessor against `sluice serve` ----

static INSTALL: Mutex<()> = Mutex::new(());

/// `@nimbella/nimbella-deployer` installed once into CARGO_TARGET_TMPDIR (staging directory
/// renamed into place, so a failed install never leaves half a module tree); `None` when npm
/// is missing.
fn install_nimbella_deployer() -> Option<PathBuf> {
    if !on_path("npm") || !on_path("node") {
        return None;
    }
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("nimbella-deployer");
    let module = root.join("node_modules/@nimbella/nimbella-deployer");
    if module.join("package.json").is_file() {
        return Some(root);
    }
    let staging = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("nimbella-deployer.staging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).expect("a staging directory");
    let status = Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "@nimbella/nimbella-deployer@4.3.10",
        ])
        .current_dir(&staging)
        .stdin(Stdio::null())
        .status()
        .expect("run npm");
    assert!(
        status.success(),
        "npm install @nimbella/nimbella-deployer failed"
    );
    let _ = std::fs::remove_dir_all(&root);
    std::fs::rename(&staging, &root).expect("move the install into place");
    Some(root)
}

/// `sluice serve` on a free port; stopped (killed) on drop.
struct Serve {
    child: Child,
    apihost: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(test: &ProjectTest) -> Serve {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let child = test
        .command(["serve", "--port", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sluice serve");
    // Owned at once, so the server is stopped however this function leaves.
    let server = Serve {
        child,
        apihost: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    drop(server);
    panic!("sluice serve did not listen on {port}");
}

const ORIGINAL_DEPLOY: &str = r#"
const nim = require('@nimbella/nimbella-deployer');
const [project, apihost, auth] = process.argv.slice(2);
const owOptions = { apihost, api_key: auth };
const creds = { namespace: 'local', ow: owOptions, storageKey: undefined, redis: false };
const flags = { remoteBuild: true, verboseBuild: false, verboseZip: false, production: false, incremental: false, yarn: false };
const feedback = { progress: m => console.log('progress: ' + m), warn: e => console.log('warn: ' + (e && e.message || e)) };
(async () => {
  nim.initializeAPI('sluice-interop-test');
  const runtimes = await nim.load(apihost);
  const todeploy = await nim.readPrepareAndBuild(project, owOptions, creds, nim.fileSystemPersister, flags, runtimes, undefined, feedback);
  const r = await nim.deploy(todeploy);
  console.log('RESULT ' + JSON.stringify({ successes: r.successes.map(s => s.name), failures: r.failures.map(f => f.message) }));
})().catch(e => { console.log('ERROR ' + (e && e.message || e)); process.exit(1); });
"#;

#[test]
fn the_original_deployer_builds_remotely_against_sluice_serve() {
    let Some(client) = install_nimbella_deployer() else {
        println!(
            "SKIPPED the_original_deployer_builds_remotely_against_sluice_serve: npm or node is not on the PATH"
        );
        return;
    };
    let test = project()
        .write(
            "packages/interop/pad/package.json",
            r#"{"name": "pad", "version": "1.0.0", "main": "index.js", "dependencies": {"left-pad": "1.3.0"}}"#,
        )
        .write(
            "packages/interop/pad/index.js",
            "const leftPad = require('left-pad');\nexports.main = (args) => ({ padded: leftPad(args.n || '1', 4, '0') });\n",
        );
    let server = serve(&test);
    let key = std::fs::read_to_string(test.local_dir().join("local.auth"))
        .expect("the local key file")
        .trim()
        .to_string();
    let script = test.temp().join("original-deploy.js");
    std::fs::write(&script, ORIGINAL_DEPLOY).expect("write the script");
    let mut node = Command::new("node");
    test.isolate(&mut node);
    let out = node
        .arg(&script)
        .arg(test.path())
        .arg(&server.apihost)
        .arg(&key)
        .env("NODE_PATH", client.join("node_modules"))
        .env("TMPDIR", test.temp().join("tmp"))
        .current_dir(test.path())
        .stdin(Stdio::null())
        .output()
        .expect("run node");
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("for remote building and deployment"),
        "{shown}"
    );
    assert!(
        shown.contains(r#"RESULT {"successes":["interop/pad"],"failures":[]}"#),
        "{shown}"
    );
    assert_eq!(
        invoke(
            &test,
            &["interop/pad", "--apihost", &server.apihost, "--auth", &key]
        ),
        json!({"padded": "0001"})
    );
    drop(server);
}

// ---- the book's example ----

/// The fenced blocks of `book/src/remote-builds.md` whose info string has `key=<value>`:
/// (value, body).
fn book_blocks(key: &str) -> Vec<(String, String)> {
    let page = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("book/src/remote-builds.md"),
    )
    .expect("the book page");
    let mut out = Vec::new();
    let mut lines = page.lines();
    while let Some(line) = lines.next() {
        let Some(info) = line.strip_prefix("```") else {
            continue;
        };
        let value = info
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{key}=")));
        let mut body = String::new();
        for inner in lines.by_ref() {
            if inner.starts_with("```") {
                break;
            }
            body.push_str(inner);
            body.push('\n');
        }
        if let Some(v) = value {
            out.push((v.to_string(), body));
        }
    }
    out
}

#[test]
fn the_books_local_builder_example_runs_as_shown() {
    let files = book_blocks("file");
    assert_eq!(files.len(), 2, "the page's example files: {files:?}");
    let mut test = project();
    for (rel, body) in &files {
        test = test.write(rel, body);
    }
    let outputs: std::collections::BTreeMap<String, String> =
        book_blocks("output").into_iter().collect();
    let out = run(&mut test.command(["deploy", ".", "--remote-build"]));
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let id = regex::Regex::new(r"\(id: [0-9a-f]{32}\)").expect("a regex");
    let shown = id
        .replace_all(&stdout, "(id: <id>)")
        .replace(&test.path().display().to_string(), "<project>");
    assert!(
        shown.contains(outputs["deploy"].trim_end()),
        "the book shows\n{}\nsluice printed\n{shown}",
        outputs["deploy"]
    );
    let invoked = run(&mut test.command(["invoke", "demo/pad", "-p", "n", "5"]));
    assert_eq!(
        String::from_utf8_lossy(&invoked.stdout).trim_end(),
        outputs["invoke"].trim_end()
    );
    assert!(!test.path().join("packages/demo/pad/node_modules").exists());
}

#[test]
fn the_slice_deployer_reports_a_missing_slice_the_originals_way() {
    let test = project();
    let out = run(&mut test.command(["deploy", "slice:local/0123456789abcdef0123456789abcdef"]));
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no JSON: {}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(
            "›   Error: Could not fetch slice 'local/0123456789abcdef0123456789abcdef'"
        ),
        "{stderr}"
    );
    let bad = run(&mut test.command(["deploy", "slice:../etc"]));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("is not a slice name"),
        "{}",
        text(&bad)
    );
    let extra = run(&mut test.command(["deploy", "slice:local/x", "--remote-build"]));
    assert!(!extra.status.success());
    assert!(
        text(&extra).contains("takes no other arguments (got '--remote-build')"),
        "{}",
        text(&extra)
    );
}

/// A remotely built function leaves the project before the build, so it gets the
/// environment's secrets in its (encrypted) slice: the function sees them, the transcript
/// does not show them, and the store keeps no slice once it deployed.
#[test]
fn a_remotely_built_function_gets_the_environments_secrets() {
    let test = project()
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_FILE")
        .write("sluice.toml", "[environments.dev]\nnamespace = \"local\"\n")
        .write(
            "project.yml",
            "packages:\n  - name: demo\n    functions:\n      - name: echo\n        runtime: nodejs:default\n        parameters:\n          token: ${secret:TOKEN}\n",
        )
        .write(
            "packages/demo/echo/package.json",
            r#"{"name": "echo", "version": "1.0.0", "main": "index.js"}"#,
        )
        .write(
            "packages/demo/echo/index.js",
            "exports.main = (args) => ({ env: process.env.TOKEN, param: args.token });\n",
        );
    let used = run(&mut test.command(["namespace", "use", "local"]));
    assert!(used.status.success(), "{}", text(&used));
    let out = run(&mut test.command(["secrets", "init", "dev"]));
    assert!(out.status.success(), "{}", text(&out));
    let mut child = test
        .command(["secrets", "set", "dev", "TOKEN"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sluice");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(b"remote-s3cret-42")
            .expect("write the value");
    }
    let set = child.wait_with_output().expect("sluice ends");
    assert!(set.status.success(), "{}", text(&set));
    let out = run(&mut test.command(["deploy", ".", "-e", "dev", "--remote-build"]));
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(!shown.contains("remote-s3cret-42"), "{shown}");
    assert_eq!(
        invoke(&test, &["demo/echo"]),
        json!({"env": "remote-s3cret-42", "param": "remote-s3cret-42"})
    );
    assert_eq!(stored_slices(&test), Vec::<PathBuf>::new());
}
