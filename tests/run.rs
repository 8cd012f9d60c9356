//! Running functions end to end: each original deployer e2e scenario (spec §15) deployed with
//! `sluice deploy` to the embedded local namespace and asserted by `sluice invoke`, plus the
//! run-time cases (python zip, time limit, throw, background invoke, web function over HTTP).
//! Everything runs for real: the sluice binary, SQLite, node and python3.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::ProjectTest;
use serde_json::{Value, json};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn deploy(test: &ProjectTest, extra: &[&str]) {
    let mut args = vec!["deploy", "."];
    args.extend_from_slice(extra);
    let out = test.run(&args);
    assert!(
        out.status.success(),
        "deploy failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// `sluice invoke <args…>`: its exit success and its stdout as JSON.
fn invoke(test: &ProjectTest, args: &[&str]) -> (bool, Value) {
    let mut full = vec!["invoke"];
    full.extend_from_slice(args);
    let out = test.run(&full);
    let stdout = text(&out.stdout);
    let value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "invoke printed no JSON ({e}):\n{stdout}\n{}",
            text(&out.stderr)
        )
    });
    (out.status.success(), value)
}

fn kind_of(test: &ProjectTest, function: &str) -> Value {
    let out = test.run(&["functions", "get", function, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("function JSON");
    v["exec"]["kind"].clone()
}

#[test]
fn hello_example_greets_by_name() {
    let test = ProjectTest::from_dir("examples/hello");
    deploy(&test, &[]);
    let out = test.run(&["invoke", "hello/greet", "-p", "name", "World"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "{\n  \"body\": \"Hello World!\"\n}\n");
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn sequence_sorts_the_haiku_and_increments_five_times() {
    let test = ProjectTest::fixture("sequence");
    deploy(&test, &[]);
    let (ok, haiku) = invoke(&test, &["test-sequence/mySequence", "-P", "sushi.json"]);
    assert!(ok);
    assert_eq!(
        haiku,
        json!({"length": 3, "lines": ["Is full of regret.", "Over-ripe sushi,", "The Master"]})
    );
    let (ok, five) = invoke(&test, &["test-sequence/incrFiveTimes", "-p", "value", "0"]);
    assert!(ok);
    assert_eq!(five, json!({"value": 5}));
}

#[test]
fn split_params_reach_arguments_and_environment() {
    let test = ProjectTest::fixture("split_params");
    deploy(&test, &[]);
    let (ok, result) = invoke(&test, &["test-split-params/split"]);
    assert!(ok);
    assert_eq!(result, json!({"body": "eone,pthree,ethree,ptwo,etwo,pone"}));
}

#[test]
fn environ_picks_the_runtime_and_it_runs_locally() {
    let test = ProjectTest::fixture("environ").env_remove("RUNTIME");
    deploy(&test, &[]);
    assert_eq!(kind_of(&test, "test_environ/variable"), json!("nodejs:14"));
    // The fixture's file is empty: node loads it and finds no `main`.
    let (ok, result) = invoke(&test, &["test_environ/variable"]);
    assert!(!ok);
    assert_eq!(
        result,
        json!({"error": "Initialization has failed due to: Action entrypoint 'main' is not a function."})
    );
    deploy(&test, &["--env", "test.env"]);
    assert_eq!(
        kind_of(&test, "test_environ/variable"),
        json!("nodejs-lambda:14")
    );
    let (ok, result) = invoke(&test, &["test_environ/variable"]);
    assert!(!ok);
    assert!(
        result["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("The runtime 'nodejs-lambda:14' cannot run locally")),
        "{result}"
    );
    let python = test.env("RUNTIME", "python:3.9");
    deploy(&python, &[]);
    assert_eq!(
        kind_of(&python, "test_environ/variable"),
        json!("python:3.9")
    );
}

#[test]
fn multi_line_environment_keeps_literal_backslash_n() {
    let test = ProjectTest::fixture("multi_line");
    deploy(&test, &[]);
    let (ok, result) = invoke(&test, &["test-multi-line/hello"]);
    assert!(ok);
    let multi = result["body"]["multi"].as_str().expect("multi is a string");
    assert!(
        multi.contains("Multiple lines line 1\\nMultiple lines line 2\\nMultiple"),
        "{multi}"
    );
    assert!(!multi.contains('\n'), "no real newline: {multi:?}");
}

#[test]
fn multi_substitute_gives_parameters_and_environment() {
    let test = ProjectTest::fixture("multi_substitute")
        .env("A", "this is A")
        .env("B", "this is B")
        .env("C", "this is C");
    deploy(&test, &[]);
    let (ok, result) = invoke(&test, &["test-multi-substitute/hello"]);
    assert!(ok);
    assert_eq!(
        result,
        json!({"body": {"A": "this is A", "B": "this is B", "C": "this is C"}})
    );
}

#[test]
fn build_env_reaches_the_build_script() {
    let test = ProjectTest::fixture("build/build-env");
    deploy(&test, &["--build-env", "build.env"]);
    let (ok, result) = invoke(&test, &["test-build-env/test"]);
    assert!(ok);
    assert_eq!(result, json!({"body": "Hello sammy!"}));
}

#[test]
fn use_lib_functions_greet_strangers() {
    let test = ProjectTest::fixture("use-lib");
    deploy(&test, &[]);
    for f in ["hello1", "hello2", "hello3"] {
        let (ok, result) = invoke(&test, &[&format!("test-use-lib/{f}")]);
        assert!(ok);
        assert_eq!(result, json!({"body": "Hello stranger!"}), "{f}");
    }
}

#[test]
fn python_zip_with_main_py_runs() {
    let test = ProjectTest::fixture("run-cases");
    deploy(&test, &[]);
    let out = test.run(&["functions", "get", "run-cases/pyzip", "--json"]);
    let f: Value = serde_json::from_slice(&out.stdout).expect("function JSON");
    assert_eq!(f["exec"]["binary"], json!(true), "deployed as a zip");
    let (ok, result) = invoke(&test, &["run-cases/pyzip", "-p", "name", "Ada"]);
    assert!(ok);
    assert_eq!(result, json!({"greeting": "Hello Ada, from a zip!"}));
}

#[test]
fn time_limits_and_throws_fail_the_invoke() {
    let test = ProjectTest::fixture("run-cases");
    deploy(&test, &[]);
    let (ok, result) = invoke(&test, &["run-cases/spin"]);
    assert!(!ok);
    assert_eq!(
        result,
        json!({"error": "The action exceeded its time limits of 1000 milliseconds."})
    );
    let (ok, full) = invoke(&test, &["run-cases/throws", "-p", "what", "that", "--full"]);
    assert!(!ok);
    assert_eq!(full["response"]["status"], "action developer error");
    assert_eq!(
        full["response"]["result"]["error"],
        "An error has occurred: Error: cannot handle that"
    );
    let id = full["activationId"].as_str().expect("activation id");
    let logs = test.run(&["activations", "logs", id]);
    assert!(
        text(&logs.stdout).contains("stderr: Error: cannot handle that"),
        "{}",
        text(&logs.stdout)
    );
    let spin_logs = test.run(&[
        "activations",
        "logs",
        "--last",
        "--function",
        "run-cases/spin",
    ]);
    assert!(text(&spin_logs.stdout).contains(" stdout: spinning"));
}

#[test]
fn background_invoke_is_read_back_through_activations() {
    let test = ProjectTest::fixture("run-cases");
    deploy(&test, &[]);
    let (ok, accepted) = invoke(
        &test,
        &["run-cases/slow", "-p", "job", "42", "--no-wait", "--json"],
    );
    assert!(ok);
    let id = accepted["activationId"]
        .as_str()
        .expect("activation id")
        .to_string();
    assert_eq!(id.len(), 32);
    // The server runs it in the background; wait until its record is no longer `running`.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = test.run(&["activations", "get", &id]);
        let record: Value = serde_json::from_slice(&got.stdout).unwrap_or(Value::Null);
        if record["response"]["status"] != json!("running") {
            break;
        }
        assert!(Instant::now() < deadline, "the background run never ended");
        std::thread::sleep(Duration::from_millis(50));
    }
    let result = test.run(&["activations", "result", &id]);
    assert!(result.status.success(), "{}", text(&result.stderr));
    let result: Value = serde_json::from_slice(&result.stdout).expect("result JSON");
    assert_eq!(result, json!({"done": 42}));
    let logs = test.run(&["activations", "logs", &id]);
    assert!(text(&logs.stdout).contains(" stdout: working on 42"));
    let list = test.run(&["activations", "list", "run-cases/slow", "--json"]);
    let list: Value = serde_json::from_slice(&list.stdout).expect("list JSON");
    assert_eq!(list[0]["activationId"], json!(id));
    let table = text(&test.run(&["activations", "list"]).stdout);
    assert!(table.starts_with("DATETIME "), "{table}");
    assert!(table.contains(&format!("{id}  nodejs:")), "{table}");
}

/// A plain HTTP/1.1 GET: status line, headers and body as text.
fn http_get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("read timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("send request");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read answer");
    answer
}

/// The port of a `http://127.0.0.1:<port>/…` URL.
fn port_of(url: &str) -> u16 {
    url.trim()
        .strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("not a loopback URL: {url}"))
}

#[test]
fn web_function_is_fetched_over_http() {
    let test = ProjectTest::fixture("run-cases");
    deploy(&test, &[]);
    // No `sluice serve`: the background server of the data directory answers the URL.
    let url = text(
        &test
            .run(&["functions", "get", "run-cases/page", "--url"])
            .stdout,
    );
    let port = port_of(&url);
    assert_eq!(
        url.trim(),
        format!("http://127.0.0.1:{port}/api/v1/web/local/run-cases/page")
    );
    let curl = std::process::Command::new("curl")
        .args(["-s", &format!("{}?name=Curl", url.trim())])
        .output()
        .expect("run curl");
    assert_eq!(text(&curl.stdout), "<h1>Hello Curl!</h1><p>get </p>");
    let answer = http_get(port, "/api/v1/web/local/run-cases/page/docs?name=Web");
    let lower = answer.to_ascii_lowercase();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(lower.contains("\r\nx-served-by: sluice\r\n"), "{answer}");
    assert!(lower.contains("\r\ncontent-type: text/html"), "{answer}");
    assert!(
        lower.contains("\r\naccess-control-allow-origin: *\r\n"),
        "{answer}"
    );
    assert!(
        answer.ends_with("<h1>Hello Web!</h1><p>get /docs</p>"),
        "{answer}"
    );
    // Functions are web functions by default; one that fails answers 400.
    let failing = http_get(port, "/api/v1/web/local/run-cases/throws.json");
    assert!(failing.starts_with("HTTP/1.1 400"), "{failing}");
    assert!(
        failing.contains("There was an error processing your request."),
        "{failing}"
    );
    let missing = http_get(port, "/api/v1/web/local/run-cases/nope");
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
}

#[test]
fn transcripts_for_people() {
    let test = ProjectTest::fixture("run-cases");
    deploy(&test, &[]);
    sluice_snapshot!("functions_list", test.command(["functions", "list"]));
    let ids = vec![(
        r"\b[0-9a-f]{32}\b".to_string(),
        "[ACTIVATION_ID]".to_string(),
    )];
    sluice_snapshot!(
        filters = ids,
        "invoke_throws",
        test.command(["invoke", "run-cases/throws"])
    );
}
