//! Errors that must say what happened (QA's findings on issues 12 and 20): a refused
//! DigitalOcean token names where the token came from, not the namespace key's store; a
//! local namespace name the server refuses shows the server's rule; a bad
//! `$SLUICE_LOCAL_IDLE` is named with its value before a server is started; a python
//! function over its memory limit says so in the activation's error.
//!
//! Real parts: the sluice binary, its background local server in a private data directory,
//! python3. The triggers API is DigitalOcean's, so it is the wiremock fake of
//! tests/deploy_support.

mod common;
mod deploy_support;

use std::process::Output;

use common::ProjectTest;
use deploy_support::{AUTH, FakeWhisk, NAMESPACE};
use serde_json::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn failed(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "expected a failure:\n{}",
        text(&out.stdout)
    );
    text(&out.stderr)
}

/// A credential store whose current namespace is the fake's, with the right key.
fn store(whisk: &FakeWhisk) -> String {
    serde_json::json!({
        "currentHost": whisk.uri(),
        "currentNamespace": NAMESPACE,
        "credentials": {whisk.uri(): {NAMESPACE: {"api_key": AUTH}}}
    })
    .to_string()
}

/// miette wraps long help lines: compare the words only.
fn words(stderr: &str) -> String {
    stderr
        .split_whitespace()
        .filter(|w| *w != "│")
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_refused_token_is_explained_by_where_the_token_came_from() -> TestResult {
    let whisk = FakeWhisk::start();
    let base = ProjectTest::empty().write_home(".nimbella/credentials.json", store(&whisk));
    // The right token works, so what follows is about the token alone.
    let ok = base
        .command(["triggers", "list", "--access-token", "do-token"])
        .output()?;
    assert!(ok.status.success(), "{}", text(&ok.stderr));

    let flag = words(&failed(
        &base
            .command(["triggers", "list", "--access-token", "bad-token-7731"])
            .output()?,
    ));
    assert!(
        flag.contains("the DigitalOcean token came from --access-token"),
        "{flag}"
    );

    let variable = ProjectTest::empty()
        .write_home(".nimbella/credentials.json", store(&whisk))
        .env("DIGITALOCEAN_ACCESS_TOKEN", "bad-token-7731");
    let from_env = words(&failed(&variable.command(["triggers", "list"]).output()?));
    assert!(
        from_env.contains("the DigitalOcean token came from $DIGITALOCEAN_ACCESS_TOKEN"),
        "{from_env}"
    );

    let doctl = ProjectTest::empty()
        .write_home(".nimbella/credentials.json", store(&whisk))
        .write_home(
            ".config/doctl/config.yaml",
            "access-token: bad-token-7731\ncontext: default\n",
        );
    let config = doctl.home().join(".config/doctl/config.yaml");
    let from_config = words(&failed(
        &doctl.command(["triggers", "get", "invoke1"]).output()?,
    ));
    // miette may break the line inside the path: compare without any whitespace.
    let squashed = |s: &str| s.split_whitespace().collect::<String>();
    assert!(
        squashed(&from_config).contains(&squashed(&format!(
            "the DigitalOcean token came from doctl's config file {}",
            config.display()
        ))),
        "{from_config}"
    );

    for stderr in [&flag, &from_env, &from_config] {
        assert!(!stderr.contains("credential store"), "{stderr}");
        assert!(
            !stderr.contains("bad-token-7731"),
            "the token is never shown: {stderr}"
        );
    }
    Ok(())
}

#[test]
fn a_refused_local_namespace_name_shows_the_rule() -> TestResult {
    let test = ProjectTest::empty();
    for name in ["bad name/x", "a b", "x%2Fy", "über"] {
        let out = test
            .command(["local", "namespace", "create", name])
            .output()?;
        let stderr = words(&failed(&out));
        assert!(
            stderr.contains(&format!("'{name}' is not a namespace name"))
                && stderr.contains("letters, digits, '_' or '-'"),
            "{name}: {stderr}"
        );
    }
    // Nothing was created under a mangled name.
    let list = test
        .command(["local", "namespace", "list", "--json"])
        .output()?;
    let names: Value = serde_json::from_slice(&list.stdout)?;
    assert_eq!(names, serde_json::json!(["local"]));
    // Deleting such a name says it does not exist, with its name.
    let stderr = words(&failed(
        &test
            .command(["local", "namespace", "delete", "a b"])
            .output()?,
    ));
    assert!(
        stderr.contains("no local namespace named 'a b'"),
        "{stderr}"
    );
    Ok(())
}

#[test]
fn a_bad_idle_setting_is_named_before_a_server_starts() -> TestResult {
    let test = ProjectTest::empty().env("SLUICE_LOCAL_IDLE", "bogus");
    let stderr = words(&failed(&test.command(["functions", "list"]).output()?));
    assert!(
        stderr.contains("$SLUICE_LOCAL_IDLE is 'bogus', which is not a duration"),
        "{stderr}"
    );
    assert!(stderr.contains("write it like 30s"), "{stderr}");
    // No server was started with it.
    assert!(!test.local_dir().join("daemon.json").exists());
    assert!(!test.local_dir().join("daemon.log").exists());

    // A server that already runs is used whatever the variable says (it does not read it).
    let fine = ProjectTest::empty();
    assert!(
        fine.command(["functions", "list"])
            .output()?
            .status
            .success()
    );
    let listed = fine
        .command(["functions", "list"])
        .env("SLUICE_LOCAL_IDLE", "bogus")
        .output()?;
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    Ok(())
}

#[cfg(target_os = "linux")]
#[test]
fn a_python_function_over_its_memory_limit_says_so() -> TestResult {
    let test = ProjectTest::empty()
        .write(
            "project.yml",
            "packages:\n  - name: demo\n    functions:\n      - name: hog\n        runtime: python:default\n        limits:\n          memory: 128\n",
        )
        .write(
            "packages/demo/hog.py",
            "def main(args):\n    block = bytearray(400 * 1024 * 1024)\n    return {\"size\": len(block)}\n",
        )
        .write(
            "packages/demo/blank.py",
            "class Quiet(Exception):\n    pass\n\ndef main(args):\n    raise Quiet()\n",
        );
    let deployed = test.command(["deploy", "."]).output()?;
    assert!(deployed.status.success(), "{}", text(&deployed.stderr));

    let out = test.command(["invoke", "demo/hog"]).output()?;
    assert!(!out.status.success());
    let result: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(
        result["error"], "MemoryError: the function exceeded its memory limit of 128 MB",
        "{result}"
    );
    let record = test
        .command(["activations", "get", "--last", "--json"])
        .output()?;
    let record: Value = serde_json::from_slice(&record.stdout)?;
    assert_eq!(record["response"]["status"], "application error");
    assert_eq!(record["response"]["result"], result);

    // Any exception with no message is named by its type rather than left empty.
    let out = test.command(["invoke", "demo/blank"]).output()?;
    let result: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(result["error"], "Quiet", "{result}");
    Ok(())
}
