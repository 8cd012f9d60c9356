//! `sluice namespace …` and the credential selection rules of spec §8.2, against the fake
//! controller on 127.0.0.1. Keys never appear in full in any output.

mod common;
mod deploy_support;

use common::ProjectTest;
use deploy_support::{AUTH, FakeWhisk, NAMESPACE};

fn server_filters(whisk: &FakeWhisk) -> Vec<(String, String)> {
    vec![(regex::escape(&whisk.uri()), "[SERVER]".to_string())]
}

#[test]
fn add_checks_the_key_and_stores_it_privately() {
    let whisk = FakeWhisk::start();
    let test = ProjectTest::empty();
    let uri = whisk.uri();
    let out = test
        .command([
            "namespace",
            "add",
            "--apihost",
            &uri,
            "--auth",
            AUTH,
            "--label",
            "dev",
        ])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Connected to namespace 'test-ns'"),
        "{stdout}"
    );
    assert!(!stdout.contains("testkey"));

    let path = test.nimbella_dir().join("credentials.json");
    let store: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("written")).expect("json");
    assert_eq!(store["currentNamespace"], NAMESPACE);
    assert_eq!(store["credentials"][&uri][NAMESPACE]["api_key"], AUTH);
    assert_eq!(store["credentials"][&uri][NAMESPACE]["label"], "dev");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .expect("exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    sluice_snapshot!(filters = server_filters(&whisk), test.command(["namespace", "list"]), @r"
    success: true
    exit_code: 0
    ----- stdout -----
    * test-ns (dev)  [SERVER]  23bc****

    ----- stderr -----
    ");
    sluice_snapshot!(filters = server_filters(&whisk), test.command(["namespace", "current"]), @r"
    success: true
    exit_code: 0
    ----- stdout -----
    test-ns on [SERVER]

    ----- stderr -----
    ");
}

#[test]
fn add_refuses_a_bad_key() {
    let whisk = FakeWhisk::start();
    let test = ProjectTest::empty();
    let uri = whisk.uri();
    let out = test
        .command(["namespace", "add", "--apihost", &uri, "--auth", "u:wrong"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the supplied authentication is invalid (401 Unauthorized)"),
        "{stderr}"
    );
    assert!(!test.nimbella_dir().join("credentials.json").exists());
}

#[test]
fn use_and_remove_switch_the_current_namespace() {
    let store = serde_json::json!({
        "currentHost": "https://a.example",
        "currentNamespace": "one",
        "credentials": {
            "https://a.example": {"one": {"api_key": "u1:k1"}, "two": {"api_key": "u2:k2"}},
            "https://b.example": {"two": {"api_key": "u3:k3"}}
        }
    });
    let test = ProjectTest::empty().write_home(".nimbella/credentials.json", store.to_string());
    sluice_snapshot!(test.command(["namespace", "use", "two"]), @r"
    success: false
    exit_code: 1
    ----- stdout -----

    ----- stderr -----
      × The namespace 'two' exists on more than one API host.  An '--apihost'
      │ argument is required
    ");
    sluice_snapshot!(test.command(["namespace", "use", "two", "--apihost", "b.example"]), @r"
    success: true
    exit_code: 0
    ----- stdout -----
    Now using namespace 'two' on API host 'https://b.example'

    ----- stderr -----
    ");
    sluice_snapshot!(test.command(["namespace", "remove", "two", "--apihost", "b.example"]), @r"
    success: true
    exit_code: 0
    ----- stdout -----
    Removed namespace 'two' on API host 'https://b.example'

    ----- stderr -----
    ");
    let out = test
        .command(["namespace", "current"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
}

#[test]
fn deploy_checks_the_target_namespace() {
    let whisk = FakeWhisk::start();
    // The store says the key belongs to "other", but the controller says "test-ns".
    let store = serde_json::json!({
        "currentHost": whisk.uri(),
        "currentNamespace": "other",
        "credentials": {whisk.uri(): {"other": {"api_key": AUTH}}}
    });
    let test =
        ProjectTest::fixture("unweb").write_home(".nimbella/credentials.json", store.to_string());
    sluice_snapshot!(filters = server_filters(&whisk), test.command(["deploy", "no-config"]), @r"
    success: false
    exit_code: 1
    ----- stdout -----

    ----- stderr -----
      × Supplied credentials do not match target namespace 'other'; deployment
      │ aborted
      help: check the namespace's key with 'sluice namespace list'
    ");
}

#[test]
fn target_namespace_missing_from_the_store() {
    let whisk = FakeWhisk::start();
    let store = serde_json::json!({
        "currentHost": whisk.uri(),
        "currentNamespace": NAMESPACE,
        "credentials": {whisk.uri(): {NAMESPACE: {"api_key": AUTH}}}
    });
    let test = ProjectTest::fixture("unweb")
        .write_home(".nimbella/credentials.json", store.to_string())
        .write("no-config/project.yml", "targetNamespace: elsewhere\n");
    let out = test
        .command(["deploy", "no-config"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("No credentials found for namespace 'elsewhere' on any API host"),
        "{stderr}"
    );
}

#[test]
fn list_lines_up_its_columns() {
    let store = serde_json::json!({
        "currentHost": "https://a.example",
        "currentNamespace": "one",
        "credentials": {
            "https://a.example": {"one": {"api_key": "u1:k1", "label": "dev"},
                                  "second-ns": {"api_key": "u2:k2"}},
            "https://bb.example.com": {"two": {"api_key": "u3:k3"}}
        }
    });
    let test = ProjectTest::empty().write_home(".nimbella/credentials.json", store.to_string());
    sluice_snapshot!(test.command(["namespace", "list"]), @r"
    success: true
    exit_code: 0
    ----- stdout -----
    * one (dev)  https://a.example       ****
      second-ns  https://a.example       ****
      two        https://bb.example.com  ****

    ----- stderr -----
    ");
}
