//! The local namespace's runner, end to end through the background server: a deployed
//! function cannot read the namespace key file or the database, `sluice local status` shows the
//! pool's caps and the confinement, and a malformed runner setting stops the server.

mod common;

use std::process::Stdio;

use common::ProjectTest;
use sluice_local::runner::{Confinement, confinement};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const SNOOP: &str = r#"
const fs = require('fs');
function main(args) {
  try {
    return { read: fs.readFileSync(args.path, 'utf8').length };
  } catch (e) {
    return { refused: e.code };
  }
}
exports.main = main;
"#;

#[test]
fn a_local_function_cannot_read_the_key_file_or_the_database() -> TestResult {
    if let Confinement::Unavailable(why) = confinement() {
        println!("SKIPPED a_local_function_cannot_read_the_key_file_or_the_database: {why}");
        return Ok(());
    }
    let test = ProjectTest::empty().write("packages/spy/snoop.js", SNOOP);
    let deployed = test
        .command(["deploy", "."])
        .stdin(Stdio::null())
        .output()?;
    assert!(deployed.status.success(), "{deployed:?}");
    let data = test.local_dir();
    let mut secrets: Vec<_> = std::fs::read_dir(&data)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    secrets.sort();
    assert!(
        secrets.iter().any(|p| p.ends_with("local.auth")),
        "{secrets:?}"
    );
    for secret in &secrets {
        let path = secret.to_string_lossy().to_string();
        let out = test
            .command(["invoke", "spy/snoop", "-p", "path", &path])
            .stdin(Stdio::null())
            .output()?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("\"refused\": \"EACCES\""),
            "{path}: {stdout}"
        );
    }
    // Nor the user's credential stores: sluice's own (the keys of every namespace, cloud
    // ones included) and doctl's.
    let doctl = test.home().join(".config/doctl/config.yaml");
    std::fs::create_dir_all(doctl.parent().ok_or("a parent")?)?;
    std::fs::write(&doctl, "access-token: dop_v1_not_for_functions\n")?;
    let store = test.sluice_home().join("credentials.json");
    std::fs::write(&store, "{\"namespaces\": []}\n")?;
    for secret in [&store, &doctl] {
        let path = secret.to_string_lossy().to_string();
        let out = test
            .command(["invoke", "spy/snoop", "-p", "path", &path])
            .stdin(Stdio::null())
            .output()?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("\"refused\": \"EACCES\""),
            "{path}: {stdout}"
        );
    }
    let readable = test.path().join("packages/spy/snoop.js");
    let out = test
        .command([
            "invoke",
            "spy/snoop",
            "-p",
            "path",
            &readable.to_string_lossy(),
        ])
        .stdin(Stdio::null())
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"read\":"), "{stdout}");
    let status = test.command(["local", "status"]).output()?;
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("Confinement: Landlock"), "{text}");
    let json = test.command(["local", "status", "--json"]).output()?;
    let status: serde_json::Value = serde_json::from_slice(&json.stdout)?;
    let runner = &status["runner"];
    assert!(
        runner["maxWorkers"].as_u64().is_some_and(|n| n >= 4),
        "{status}"
    );
    assert_eq!(runner["maxPerAction"], runner["maxWorkers"], "{status}");
    assert_eq!(runner["idleWorkerSeconds"], 600, "{status}");
    assert_eq!(runner["idleWorkers"], 1, "{status}");
    assert!(
        runner["confinement"]
            .as_str()
            .is_some_and(|c| c.starts_with("Landlock")),
        "{status}"
    );
    Ok(())
}

#[test]
fn a_malformed_runner_setting_stops_the_server_with_its_name() -> TestResult {
    let test = ProjectTest::empty().env("SLUICE_RUNNER_MAX_WORKERS", "0");
    let out = test
        .command(["serve", "--port", "0"])
        .stdin(Stdio::null())
        .output()?;
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("SLUICE_RUNNER_MAX_WORKERS=\"0\""),
        "{stderr}"
    );
    assert!(stderr.contains("Unset it"), "{stderr}");
    Ok(())
}
