//! `sluice undeploy`: exactly the named functions, packages (functions first), triggers, or
//! everything, against the fake controller on 127.0.0.1.

mod common;
mod deploy_support;

use common::ProjectTest;
use deploy_support::{AUTH, FakeWhisk, NAMESPACE};

fn deployed(whisk: &FakeWhisk) -> ProjectTest {
    let store = serde_json::json!({
        "currentHost": whisk.uri(),
        "currentNamespace": NAMESPACE,
        "credentials": {whisk.uri(): {NAMESPACE: {"api_key": AUTH}}}
    });
    let test = ProjectTest::fixture("include_exclude")
        .write_home(".nimbella/credentials.json", store.to_string());
    let out = test.command(["deploy", "."]).output().expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    whisk.reset_requests();
    test
}

fn deletes(whisk: &FakeWhisk) -> Vec<String> {
    whisk
        .request_lines()
        .into_iter()
        .filter(|l| l.starts_with("DELETE"))
        .collect()
}

#[test]
fn named_functions_only() {
    let whisk = FakeWhisk::start();
    let test = deployed(&whisk);
    sluice_snapshot!(test.command(["undeploy", "test-ie-printer/notify", "test-ie-admin/flush"]), @r"
    success: true
    exit_code: 0
    ----- stdout -----
    Deleted function 'test-ie-printer/notify'
    Deleted function 'test-ie-admin/flush'

    ----- stderr -----
    ");
    assert!(whisk.entity("actions/test-ie-printer/notify").is_none());
    assert!(whisk.entity("actions/test-ie-printer/get").is_some());
    assert!(whisk.entity("packages/test-ie-admin").is_some());
}

#[test]
fn a_package_goes_after_its_functions() {
    let whisk = FakeWhisk::start();
    // The fake controller lists a package's actions like a real one.
    let test = deployed(&whisk);
    if let Some(mut pkg) = whisk.entity("packages/test-ie-admin") {
        pkg["actions"] = serde_json::json!([{"name": "flush"}]);
        whisk.put_entity("packages/test-ie-admin", pkg);
    }
    sluice_snapshot!(test.command(["undeploy", "--packages", "test-ie-admin"]), @r"
    success: true
    exit_code: 0
    ----- stdout -----
    Deleted function 'test-ie-admin/flush'
    Deleted package 'test-ie-admin'

    ----- stderr -----
    ");
    assert_eq!(
        deletes(&whisk),
        [
            "DELETE /api/v1/namespaces/_/actions/test-ie-admin/flush",
            "DELETE /api/v1/namespaces/_/packages/test-ie-admin"
        ]
    );
    assert!(whisk.entity("packages/test-ie-printer").is_some());
}

#[test]
fn all_removes_every_function_and_package() {
    let whisk = FakeWhisk::start();
    let test = deployed(&whisk);
    let out = test
        .command(["undeploy", "--all", "--json"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(outcome["successes"].as_array().map(Vec::len), Some(8));
    let lines = deletes(&whisk);
    let last_action = lines
        .iter()
        .rposition(|l| l.contains("/actions/"))
        .expect("actions");
    let first_package = lines
        .iter()
        .position(|l| l.contains("/packages/"))
        .expect("packages");
    assert!(last_action < first_package, "{lines:?}");
    assert!(whisk.entity("packages/test-ie-printer").is_none());
}

#[test]
fn missing_function_fails_with_the_controllers_message() {
    let whisk = FakeWhisk::start();
    let test = deployed(&whisk);
    sluice_snapshot!(test.command(["undeploy", "nope/missing"]), @r"
    success: false
    exit_code: 1
    ----- stdout -----

    ----- stderr -----
    ›   Error: While deleting action 'nope/missing': the requested resource does not exist. (404 Not Found)
    ");
}

#[test]
fn nothing_named_is_a_usage_error() {
    let test = ProjectTest::empty();
    let out = test.command(["undeploy"]).output().expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to undeploy"));
}

#[test]
fn an_unknown_target_deployer_is_refused_with_the_known_ones() {
    let test = ProjectTest::empty();
    let out = test
        .command(["undeploy", "--all", "--target", "nosuch"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no deployer named 'nosuch'"), "{stderr}");
    assert!(stderr.contains("known deployers: openwhisk"), "{stderr}");
}

#[test]
fn a_failed_undeploy_reaches_the_error_hooks() {
    // Nothing listens on port 1: the deployer's prepare fails, and the `--hook` file's
    // `error` handler sees it, as it would for a failed deploy.
    let test = ProjectTest::empty().write(
        "on_error.lua",
        "local sluice = require('sluice')\nsluice.on('error', function(e) sluice.log.warn('hook saw: ' .. e.message) end)\n",
    );
    let out = test
        .command([
            "undeploy",
            "hello",
            "--apihost",
            "http://127.0.0.1:1",
            "--auth",
            "user:key",
            "--hook",
            "on_error.lua",
        ])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("hook saw: "), "{stderr}");
}
