//! The local namespace's background server from the command line, for real: the sluice
//! binary starts it on demand and reuses it, `sluice local status|stop` see and stop it,
//! `sluice serve` refuses a data directory it owns, a killed server is replaced on the same
//! port, an idle one exits; `invoke --no-wait` returns while the function still runs; local
//! namespaces are created, used by name and kept apart. `ProjectTest` stops every server a
//! test started when the test ends.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::ProjectTest;
use serde_json::{Value, json};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The state file of the test's data directory.
fn state(test: &ProjectTest) -> Option<Value> {
    let text = std::fs::read_to_string(test.local_dir().join("daemon.json")).ok()?;
    serde_json::from_str(&text).ok()
}

fn pid_of(test: &ProjectTest) -> u64 {
    state(test)
        .and_then(|s| s["pid"].as_u64())
        .expect("a state file with a pid")
}

fn alive(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.split_whitespace().nth(2).is_none_or(|st| st != "Z"))
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn deploy(test: &ProjectTest) {
    test.ok(&["deploy", "."]);
}

#[test]
fn the_first_command_starts_a_server_that_later_ones_reuse() {
    let test = ProjectTest::empty();
    assert!(state(&test).is_none());
    test.ok(&["functions", "list"]);
    let pid = pid_of(&test);
    assert!(alive(pid));
    test.ok(&["functions", "list"]);
    assert_eq!(pid_of(&test), pid, "the second command reuses the server");
    let status: Value =
        serde_json::from_str(&test.ok(&["local", "status", "--json"])).expect("status JSON");
    assert_eq!(status["running"], json!(true));
    assert_eq!(status["pid"], json!(pid));
    assert_eq!(status["namespaces"], json!(["local"]));
    assert_eq!(status["idleExitSeconds"], json!(120));
    let host = status["apiHost"].as_str().expect("apiHost");
    assert!(host.starts_with("http://127.0.0.1:"), "{host}");
    let human = test.ok(&["local", "status"]);
    assert!(
        human.contains(&format!("  API host:    {host}\n")),
        "{human}"
    );
    assert!(human.contains("  Namespaces:  local\n"), "{human}");
    // The log says who served what; it never holds the key.
    let logs = test.ok(&["local", "logs"]);
    assert!(
        logs.contains(&format!("sluice: process {pid} serves ")),
        "{logs}"
    );
    let key = std::fs::read_to_string(test.local_dir().join("local.auth")).expect("key file");
    assert!(!logs.contains(key.trim()));
    let stopped = test.ok(&["local", "stop"]);
    assert_eq!(
        stopped,
        format!("sluice: stopped the local namespace server (process {pid})\n")
    );
    wait_until("the server exited", Duration::from_secs(10), || !alive(pid));
    assert!(state(&test).is_none());
    let after = test.run(&["local", "status", "--json"]);
    assert_eq!(after.status.code(), Some(3));
    let after: Value = serde_json::from_slice(&after.stdout).expect("status JSON");
    assert_eq!(after["running"], json!(false));
}

#[test]
fn serve_refuses_a_data_dir_a_server_owns() {
    let test = ProjectTest::empty();
    test.ok(&["functions", "list"]);
    let pid = pid_of(&test);
    let out = test.run(&["serve", "--port", "0"]);
    assert!(!out.status.success());
    // The error is wrapped to the terminal's width: compare words.
    let err = text(&out.stderr)
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        err.contains("is already served at http://127.0.0.1:"),
        "{err}"
    );
    assert!(err.contains(&format!("by process {pid}")), "{err}");
    assert!(err.contains("sluice local stop"), "{err}");
}

#[test]
fn a_killed_server_is_replaced_on_the_same_port() {
    let test = ProjectTest::empty();
    test.ok(&["functions", "list"]);
    let first = state(&test).expect("state");
    let pid = first["pid"].as_u64().expect("pid");
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    wait_until("the server died", Duration::from_secs(10), || !alive(pid));
    // The state file and the lock file stay behind, stale.
    assert!(state(&test).is_some());
    test.ok(&["functions", "list"]);
    let second = state(&test).expect("state");
    assert_ne!(second["pid"], first["pid"]);
    assert_eq!(second["port"], first["port"], "the port is remembered");
}

#[test]
fn an_idle_server_exits_by_itself() {
    let test = ProjectTest::empty().env("SLUICE_LOCAL_IDLE", "1s");
    test.ok(&["functions", "list"]);
    let pid = pid_of(&test);
    wait_until("the idle server exited", Duration::from_secs(20), || {
        !alive(pid)
    });
    assert!(state(&test).is_none());
    let logs = test.ok(&["local", "logs", "-n", "1"]);
    assert!(
        logs.contains(&format!("sluice: process {pid} stopped")),
        "{logs}"
    );
}

const SLEEPY: &str = "function main(args) {\n  return new Promise((resolve) => setTimeout(() => resolve({ slept: args.ms }), args.ms))\n}\nexports.main = main\n";

#[test]
fn no_wait_returns_at_once_and_the_run_shows_as_running_until_it_ends() {
    let test = ProjectTest::empty().write("packages/demo/sleepy.js", SLEEPY);
    deploy(&test);
    let started = Instant::now();
    let accepted: Value = serde_json::from_str(&test.ok(&[
        "invoke",
        "demo/sleepy",
        "-p",
        "ms",
        "4000",
        "--no-wait",
        "--json",
    ]))
    .expect("accepted JSON");
    assert!(
        started.elapsed() < Duration::from_millis(3000),
        "--no-wait waited {:?}",
        started.elapsed()
    );
    let id = accepted["activationId"].as_str().expect("id").to_string();
    let now: Value =
        serde_json::from_str(&test.ok(&["activations", "get", &id])).expect("record JSON");
    assert_eq!(now["response"]["status"], json!("running"), "{now}");
    let list: Value =
        serde_json::from_str(&test.ok(&["activations", "list", "--json"])).expect("list JSON");
    assert_eq!(list[0]["activationId"], json!(id));
    wait_until("the run ended", Duration::from_secs(30), || {
        let v: Value =
            serde_json::from_str(&test.ok(&["activations", "get", &id])).unwrap_or(Value::Null);
        v["response"]["status"] != json!("running")
    });
    let result: Value =
        serde_json::from_str(&test.ok(&["activations", "result", &id])).expect("result");
    assert_eq!(result, json!({"slept": 4000}));
    let missing = test.run(&["activations", "get", "0123456789abcdef0123456789abcdef"]);
    assert!(!missing.status.success());
    let err = text(&missing.stderr);
    assert!(
        err.contains("no activation with id '0123456789abcdef0123456789abcdef'"),
        "{err}"
    );
}

#[test]
fn local_namespaces_are_created_used_by_name_and_kept_apart() {
    let test = ProjectTest::from_dir("examples/hello");
    let created = test.ok(&["local", "namespace", "create", "dev"]);
    assert!(
        created.contains("created the local namespace 'dev'"),
        "{created}"
    );
    assert_eq!(test.ok(&["local", "namespace", "list"]), "dev\nlocal\n");
    let used = test.ok(&["namespace", "use", "dev"]);
    assert_eq!(used, "Now using the local namespace 'dev'\n");
    deploy(&test);
    let dev = test.ok(&["functions", "list"]);
    assert!(dev.contains("hello/greet"), "{dev}");
    test.ok(&["namespace", "use", "local"]);
    let local = test.ok(&["functions", "list"]);
    assert!(
        !local.contains("hello/greet"),
        "local sees dev's function:\n{local}"
    );
    let missing = test.run(&["namespace", "use", "nope"]);
    assert!(!missing.status.success());
    let out = test.run(&["local", "namespace", "create", "dev"]);
    assert!(text(&out.stderr).contains("already exists"));
    test.ok(&["local", "namespace", "delete", "dev"]);
    assert_eq!(test.ok(&["local", "namespace", "list"]), "local\n");
    assert_dir_private(&test.local_dir());
}

fn assert_dir_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for name in ["daemon.json", "daemon.lock", "daemon.log", "daemon.port"] {
        let mode = std::fs::metadata(dir.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{name} is readable by others: {mode:o}");
    }
}
