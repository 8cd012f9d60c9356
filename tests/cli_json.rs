//! `--json` / `-o json` on the commands of the local server and on `plugins trust` (issue 20):
//! each answers one JSON document with the fields a script needs, and keys stay masked
//! unless asked for. Real parts: the background local server of a private data directory,
//! a plugin library built with `cc`.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::ProjectTest;
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs sluice and parses its stdout as one JSON document.
fn json_of(test: &ProjectTest, args: &[&str]) -> Result<Value, Box<dyn std::error::Error>> {
    let out: Output = test.command(args).output()?;
    assert!(
        out.status.success(),
        "sluice {args:?} failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    Ok(serde_json::from_str(&text(&out.stdout))?)
}

#[test]
fn local_namespace_create_and_delete_print_json_with_the_key_masked() -> TestResult {
    let test = ProjectTest::empty();
    let created = json_of(&test, &["local", "namespace", "create", "dev", "--json"])?;
    let api_host = created["apiHost"].as_str().ok_or("apiHost")?.to_string();
    assert!(api_host.starts_with("http://127.0.0.1:"), "{created}");
    assert_eq!(created["name"], json!("dev"));
    let masked = created["auth"].as_str().ok_or("auth")?;
    assert!(masked.ends_with("****"), "{created}");
    assert!(
        created.get("key").is_none(),
        "no whole key without --show-key"
    );

    // --show-key gives the whole key, and it is the one the server takes for `dev`.
    let shown = json_of(
        &test,
        &[
            "local",
            "namespace",
            "create",
            "dev2",
            "-o",
            "json",
            "--show-key",
        ],
    )?;
    let key = shown["key"].as_str().ok_or("key")?;
    assert!(key.starts_with(&shown["auth"].as_str().ok_or("auth")?[..4]));
    let code = |auth: &str| -> Result<String, std::io::Error> {
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", auth])
            .arg(format!("{api_host}/api/v1/namespaces/dev2/actions"))
            .output()?;
        Ok(text(&out.stdout))
    };
    assert_eq!(code(key)?, "200");
    assert_eq!(code("00000000-0000-0000-0000-000000000000:wrong")?, "401");

    let deleted = json_of(&test, &["local", "namespace", "delete", "dev2", "--json"])?;
    assert_eq!(deleted, json!({ "deleted": "dev2" }));
    let names = json_of(&test, &["local", "namespace", "list", "--json"])?;
    assert_eq!(names, json!(["dev", "local"]));
    Ok(())
}

#[test]
fn local_logs_and_stop_print_json() -> TestResult {
    let test = ProjectTest::empty();
    // No server ran yet: stop says so, logs has no file.
    let none = json_of(&test, &["local", "stop", "--json"])?;
    assert_eq!(none["stopped"], json!(false));
    assert_eq!(none["pid"], Value::Null);
    let no_log = json_of(&test, &["local", "logs", "--json"])?;
    assert_eq!(no_log["exists"], json!(false));
    assert_eq!(no_log["lines"], json!([]));

    let status = test.command(["local", "status", "--json"]).output()?;
    assert_eq!(status.status.code(), Some(3), "no server runs yet");
    let status: Value = serde_json::from_slice(&status.stdout)?;
    assert_eq!(status["running"], json!(false));
    json_of(&test, &["functions", "list", "--json"])?;
    let status = json_of(&test, &["local", "status", "--json"])?;
    let pid = status["pid"].as_u64().ok_or("pid")?;

    let log = json_of(&test, &["local", "logs", "-o", "json"])?;
    assert_eq!(log["exists"], json!(true));
    assert_eq!(
        PathBuf::from(log["log"].as_str().ok_or("log")?),
        test.local_dir().join("daemon.log")
    );
    let lines = log["lines"].as_array().ok_or("lines")?;
    assert!(
        lines.iter().any(|l| l
            .as_str()
            .is_some_and(|l| l.contains(&format!("process {pid} serves")))),
        "{log}"
    );
    let last = json_of(&test, &["local", "logs", "-n", "1", "--json"])?;
    assert_eq!(last["lines"].as_array().map(Vec::len), Some(1));
    assert_eq!(last["lines"][0], *lines.last().ok_or("a line")?);

    let stopped = json_of(&test, &["local", "stop", "-o", "json"])?;
    assert_eq!(stopped["stopped"], json!(true));
    assert_eq!(stopped["pid"], json!(pid));
    assert_eq!(
        PathBuf::from(stopped["dataDir"].as_str().ok_or("dataDir")?),
        test.local_dir()
    );
    Ok(())
}

#[cfg(unix)]
#[test]
fn plugins_trust_prints_json_with_each_digest() -> TestResult {
    let test = ProjectTest::empty();
    let dir = test.temp().join("csrc");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("p.c"), "int plugin_version = 1;\n")?;
    let lib = test.path().join("libp.so");
    let built = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(dir.join("p.c"))
        .status()?;
    assert!(built.success(), "cc built the library");
    let digest = Command::new("sha256sum").arg(&lib).output()?;
    let digest = text(&digest.stdout);
    let digest = digest.split_whitespace().next().ok_or("sha256sum")?;

    let trusted = json_of(&test, &["plugins", "trust", "libp.so", "--json"])?;
    assert_eq!(
        trusted["trusted"],
        json!([{ "path": lib.canonicalize()?, "sha256": digest }])
    );
    let store = PathBuf::from(trusted["store"].as_str().ok_or("store")?);
    assert!(store.starts_with(test.sluice_home()), "{trusted}");
    assert!(text(&std::fs::read(&store)?).contains(digest));
    Ok(())
}
