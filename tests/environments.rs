//! Environments of `sluice.toml` against the local namespace server, which holds many
//! namespaces: `-e NAME`, `SLUICE_ENVIRONMENT` and a git branch pattern pick the namespace and
//! the env file; every deployed function sees `SLUICE_ENVIRONMENT` and carries the
//! `sluice-environment` annotation; a protected environment needs `--force`.

mod common;

use std::process::{Command, Stdio};

use common::ProjectTest;
use serde_json::{Value, json};
use sluice_openwhisk::{Client, TransportOptions};

const SETTINGS: &str = r#"
[environments.dev]
namespace = "app_{branch}"
branches = ["feature/*"]
env = "env/dev.env"

[environments.stage]
namespace = "stage"
env = "env/stage.env"

[environments.prod]
namespace = "prod"
env = "env/prod.env"
protected = true
"#;

const FUNCTION: &str = "function main(args) {\n  return { environment: process.env.SLUICE_ENVIRONMENT, greeting: args.greeting };\n}\nexports.main = main;\n";

/// A project with one function and three environments, each with its own greeting, and the
/// local namespaces `app_feature-login`, `stage` and `prod` known to the credential store.
fn three_environments() -> ProjectTest {
    let test = ProjectTest::empty()
        .write("sluice.toml", SETTINGS)
        .write(
            "project.yml",
            "packages:\n  - name: app\n    functions:\n      - name: hello\n        runtime: nodejs:default\n        parameters:\n          greeting: ${GREETING}\n",
        )
        .write("packages/app/hello.js", FUNCTION)
        .write("env/dev.env", "GREETING=hi from dev\n")
        .write("env/stage.env", "GREETING=hello from stage\n")
        .write("env/prod.env", "GREETING=good day from prod\n");
    for ns in ["app_feature-login", "stage", "prod"] {
        test.ok(&["local", "namespace", "create", ns]);
        test.ok(&["namespace", "use", ns]);
    }
    test
}

/// Invokes `app/hello` in the local namespace `namespace`.
fn invoke_in(test: &ProjectTest, namespace: &str) -> Value {
    test.ok(&["namespace", "use", namespace]);
    let out = test.ok(&["invoke", "app/hello"]);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("invoke printed no JSON ({e}): {out}"))
}

/// The function `app/hello` as the local namespace `namespace` holds it (through the running
/// server, which the commands before started).
fn function_in(test: &ProjectTest, namespace: &str) -> Value {
    let file =
        sluice_local::daemon::files::read_state(&test.local_dir()).expect("the local server runs");
    let ns = sluice_local::daemon::client::namespace(&file, namespace)
        .expect("the server answers")
        .unwrap_or_else(|| panic!("no local namespace '{namespace}'"));
    let client =
        Client::new(&file.api_host, &ns.auth, &TransportOptions::default()).expect("a client");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime
        .block_on(client.get(client.entity_url("actions", "app/hello")))
        .unwrap_or(Value::Null)
}

fn annotation(entity: &Value, key: &str) -> Value {
    entity["annotations"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["key"] == key)
        .map(|a| a["value"].clone())
        .unwrap_or(Value::Null)
}

fn git(test: &ProjectTest, args: &[&str]) {
    let mut cmd = Command::new("git");
    test.isolate(&mut cmd);
    let status = cmd
        .args(args)
        .current_dir(test.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run git");
    assert!(status.success(), "git {args:?} failed");
}

#[test]
fn each_environment_gets_its_namespace_env_file_and_name() {
    let test = three_environments().git_commit();
    git(&test, &["checkout", "-q", "-b", "feature/login"]);

    // No -e: the branch pattern picks dev, and {branch} names its namespace.
    let out = test.ok(&["deploy", "."]);
    assert!(
        out.contains("to the local namespace 'app_feature-login'")
            && out.contains("for environment 'dev'"),
        "{out}"
    );
    assert_eq!(
        invoke_in(&test, "app_feature-login"),
        json!({"environment": "dev", "greeting": "hi from dev"})
    );

    // -e wins over the branch.
    let out = test.ok(&["deploy", ".", "-e", "stage"]);
    assert!(out.contains("for environment 'stage'"), "{out}");
    assert_eq!(
        invoke_in(&test, "stage"),
        json!({"environment": "stage", "greeting": "hello from stage"})
    );
    assert_eq!(
        annotation(&function_in(&test, "stage"), "sluice-environment"),
        json!({"name": "stage"})
    );
    // The dev namespace was left as it was.
    assert_eq!(invoke_in(&test, "app_feature-login")["environment"], "dev");

    // The run-time commands take -e too: the current namespace is dev's now, but -e stage
    // invokes and reads the function where `deploy -e stage` put it.
    let out = test.ok(&["invoke", "app/hello", "-e", "stage"]);
    let result: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(result["environment"], "stage", "{out}");
    let out = test.ok(&["functions", "get", "app/hello", "-e", "stage", "-o", "json"]);
    let got: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(got["namespace"], "stage/app", "{out}");
    let listed = test.ok(&["activations", "list", "-e", "stage", "-o", "json"]);
    assert!(listed.contains("hello"), "{listed}");
    let unknown = test.run(&["invoke", "app/hello", "-e", "nope"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nope"));
}

#[test]
fn a_protected_environment_needs_force() {
    let test = three_environments();
    let out = test.run(&["deploy", ".", "-e", "prod"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("environment 'prod' is protected") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(function_in(&test, "prod"), Value::Null);

    // SLUICE_ENVIRONMENT chooses as -e does.
    let test = test.env("SLUICE_ENVIRONMENT", "prod");
    test.ok(&["deploy", ".", "--force"]);
    assert_eq!(
        invoke_in(&test, "prod"),
        json!({"environment": "prod", "greeting": "good day from prod"})
    );
}

#[test]
fn an_unknown_environment_names_the_known_ones() {
    let test = ProjectTest::empty()
        .write("sluice.toml", SETTINGS)
        .write("packages/app/hello.js", FUNCTION);
    let out = test.run(&["plan", ".", "-e", "qa"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("there is no environment 'qa' in sluice.toml")
            && stderr.contains("dev, prod, stage"),
        "{stderr}"
    );
}

#[test]
fn a_misspelt_environment_key_is_refused_with_its_line() {
    let test = ProjectTest::empty()
        .write(
            "sluice.toml",
            "[environments.dev]\nnamespace = \"dev\"\nprotect = true\n",
        )
        .write("packages/app/hello.js", FUNCTION);
    let out = test.run(&["plan", ".", "-e", "dev"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("sluice.toml") && stderr.contains("protect") && stderr.contains(":3"),
        "{stderr}"
    );
}

#[test]
fn env_list_and_current_show_the_choice_and_why() {
    let test = three_environments().git_commit();
    git(&test, &["checkout", "-q", "-b", "feature/login"]);
    let listed: Value = serde_json::from_str(&test.ok(&["env", "list", "--json"])).expect("JSON");
    let names: Vec<(&str, bool)> = listed
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| Some((e["name"].as_str()?, e["current"].as_bool()?)))
        .collect();
    assert_eq!(names, [("dev", true), ("prod", false), ("stage", false)]);
    let current: Value =
        serde_json::from_str(&test.ok(&["env", "current", "--json"])).expect("JSON");
    assert_eq!(
        current,
        json!({
            "name": "dev", "chosenBy": "branch", "branch": "feature/login",
            "namespace": "app_feature-login", "protected": false,
            "env": "env/dev.env", "buildEnv": null
        })
    );
    let text = test.ok(&["env", "current", "-e", "prod"]);
    assert!(
        text.contains("environment 'prod'") && text.contains("deploys need --force"),
        "{text}"
    );
}

#[test]
fn target_namespace_test_and_production_with_the_production_flag() {
    let test = ProjectTest::empty()
        .write(
            "project.yml",
            "targetNamespace:\n  test: stage\n  production: prod\npackages:\n  - name: app\n    functions:\n      - name: hello\n        runtime: nodejs:default\n",
        )
        .write("packages/app/hello.js", FUNCTION);
    for ns in ["stage", "prod"] {
        test.ok(&["local", "namespace", "create", ns]);
        test.ok(&["namespace", "use", ns]);
    }
    let out = test.ok(&["deploy", "."]);
    assert!(out.contains("to the local namespace 'stage'"), "{out}");
    assert_eq!(function_in(&test, "prod"), Value::Null);
    let out = test.ok(&["deploy", ".", "--production"]);
    assert!(out.contains("to the local namespace 'prod'"), "{out}");
    assert_eq!(function_in(&test, "prod")["name"], "hello");

    // Without a production entry the flag is refused, not ignored.
    let test = test.write(
        "project.yml",
        "targetNamespace: stage\npackages:\n  - name: app\n    functions:\n      - name: hello\n        runtime: nodejs:default\n",
    );
    let out = test.run(&["plan", ".", "--production"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("targetNamespace has no production entry"),
        "{stderr}"
    );
}

#[test]
fn undeploy_all_takes_the_triggers_with_the_functions() {
    let test = ProjectTest::fixture("triggers");
    test.ok(&["deploy", "."]);
    let listed: Value =
        serde_json::from_str(&test.ok(&["triggers", "list", "--json"])).expect("JSON");
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
    let out = test.ok(&["undeploy", "--all"]);
    assert!(
        out.contains("Deleted trigger 'invoke1'") && out.contains("Deleted trigger 'invoke2'"),
        "{out}"
    );
    let listed: Value =
        serde_json::from_str(&test.ok(&["triggers", "list", "--json"])).expect("JSON");
    assert_eq!(listed, json!([]));
}

#[test]
fn labels_name_namespaces_for_use_and_for_environments() {
    let test = ProjectTest::empty()
        .write("sluice.toml", "[environments.stage]\nnamespace = \"staging\"\n")
        .write(
            "project.yml",
            "packages:\n  - name: app\n    functions:\n      - name: hello\n        runtime: nodejs:default\n",
        )
        .write("packages/app/hello.js", FUNCTION);
    for ns in ["stage", "other"] {
        test.ok(&["local", "namespace", "create", ns]);
    }
    let store = json!({
        "currentHost": "sluice-local",
        "currentNamespace": "other",
        "credentials": {"sluice-local": {
            "stage": {"api_key": "local:kept-by-the-local-server", "label": "staging"},
            "other": {"api_key": "local:kept-by-the-local-server", "label": "scratch"}
        }}
    });
    std::fs::write(
        test.nimbella_dir().join("credentials.json"),
        store.to_string(),
    )
    .expect("write the store");

    let out = test.ok(&["deploy", ".", "-e", "stage"]);
    assert!(out.contains("to the local namespace 'stage'"), "{out}");
    let out = test.ok(&["namespace", "use", "staging"]);
    assert!(
        out.contains("Now using the local namespace 'stage'"),
        "{out}"
    );
    let invoked = test.ok(&["invoke", "app/hello"]);
    assert!(invoked.contains("\"environment\": \"stage\""), "{invoked}");
}
