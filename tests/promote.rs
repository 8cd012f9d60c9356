//! `sluice promote <from> <to>` and `sluice env history` against the local namespace server
//! with three environments in three local namespaces (dev, stage, prod): the promoted code is
//! byte for byte what the source namespace holds (not the working tree), with the target's
//! parameters and `SLUICE_ENVIRONMENT`; drift or a missing function in the source blocks it;
//! `--dry-run` changes nothing; each promotion is a release in `.deployed/releases.jsonl`.

mod common;

use std::process::Stdio;

use common::ProjectTest;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sluice_openwhisk::{Client, TransportOptions};

const SETTINGS: &str = r#"
[environments.dev]
namespace = "dev"
env = "env/dev.env"

[environments.stage]
namespace = "stage"
env = "env/stage.env"

[environments.prod]
namespace = "prod"
env = "env/prod.env"
protected = true
"#;

const PROJECT: &str = "packages:\n  - name: app\n    functions:\n      - name: hello\n        runtime: nodejs:default\n        parameters:\n          greeting: ${GREETING}\n      - name: twice\n        sequence: [app/hello, app/hello]\n";

fn function(version: &str) -> String {
    format!(
        "function main(args) {{\n  return {{ environment: process.env.SLUICE_ENVIRONMENT, greeting: args.greeting, code: '{version}' }};\n}}\nexports.main = main;\n"
    )
}

/// The project, and the local namespaces `dev`, `stage` and `prod` in the credential store.
fn three_environments() -> ProjectTest {
    let test = ProjectTest::empty()
        .write("sluice.toml", SETTINGS)
        .write("project.yml", PROJECT)
        .write("packages/app/hello.js", function("v1"))
        .write("env/dev.env", "GREETING=hi from dev\n")
        .write("env/stage.env", "GREETING=hello from stage\n")
        .write("env/prod.env", "GREETING=good day from prod\n");
    for ns in ["dev", "stage", "prod"] {
        test.ok(&["local", "namespace", "create", ns]);
        test.ok(&["namespace", "use", ns]);
    }
    test
}

fn fails(test: &ProjectTest, args: &[&str]) -> String {
    let out = test.run(args);
    assert!(
        !out.status.success(),
        "sluice {args:?} should have failed:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn invoke_in(test: &ProjectTest, namespace: &str, name: &str) -> Value {
    test.ok(&["namespace", "use", namespace]);
    let out = test.ok(&["invoke", name]);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("invoke printed no JSON ({e}): {out}"))
}

/// A client of the local namespace `namespace` (through the running server).
fn client(test: &ProjectTest, namespace: &str) -> Client {
    let file =
        sluice_local::daemon::files::read_state(&test.local_dir()).expect("the local server runs");
    let ns = sluice_local::daemon::client::namespace(&file, namespace)
        .expect("the server answers")
        .unwrap_or_else(|| panic!("no local namespace '{namespace}'"));
    Client::new(&file.api_host, &ns.auth, &TransportOptions::default()).expect("a client")
}

/// The action `name` of `namespace`, code included (`Null` when there is none).
fn action_in(test: &ProjectTest, namespace: &str, name: &str) -> Value {
    let client = client(test, namespace);
    let mut url = client.entity_url("actions", name);
    url.query_pairs_mut().append_pair("code", "true");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(client.get(url)).unwrap_or(Value::Null)
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

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn releases(test: &ProjectTest) -> Vec<Value> {
    match std::fs::read_to_string(test.path().join(".deployed/releases.jsonl")) {
        Ok(text) => text
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn promote_copies_the_source_code_with_the_target_settings_and_records_a_release() {
    let test = three_environments().git_commit();
    test.ok(&["deploy", ".", "-e", "dev"]);
    test.ok(&["deploy", ".", "-e", "stage"]);
    assert_eq!(
        invoke_in(&test, "dev", "app/hello"),
        json!({"environment": "dev", "greeting": "hi from dev", "code": "v1"})
    );
    assert_eq!(
        invoke_in(&test, "stage", "app/hello"),
        json!({"environment": "stage", "greeting": "hello from stage", "code": "v1"})
    );
    // prod is protected: a deploy needs --force, a promotion does not.
    let stderr = fails(&test, &["deploy", ".", "-e", "prod"]);
    assert!(
        stderr.contains("environment 'prod' is protected"),
        "{stderr}"
    );

    // The working tree moves on; prod must get what stage runs, not this.
    let test = test.write("packages/app/hello.js", function("v2-unreleased"));
    let out = test.ok(&["promote", "stage", "prod", "--yes"]);
    assert!(
        out.contains("to the local namespace 'prod'")
            && out.contains("for environment 'prod'")
            && out.contains("Recorded release 'prod-1' (stage -> prod)"),
        "{out}"
    );

    let stage = action_in(&test, "stage", "app/hello");
    let prod = action_in(&test, "prod", "app/hello");
    let stage_code = stage["exec"]["code"].as_str().expect("stage has code");
    assert_eq!(prod["exec"]["code"].as_str(), Some(stage_code));
    assert_eq!(stage_code, function("v1"));
    assert_eq!(
        invoke_in(&test, "prod", "app/hello"),
        json!({"environment": "prod", "greeting": "good day from prod", "code": "v1"})
    );
    // The sequence came along and runs prod's function.
    assert_eq!(
        invoke_in(&test, "prod", "app/twice")["environment"],
        json!("prod")
    );
    assert_eq!(
        annotation(&prod, "sluice-environment"),
        json!({"name": "prod"})
    );
    let release_annotation = annotation(&prod, "sluice-release");
    assert_eq!(release_annotation["id"], "prod-1");
    assert_eq!(release_annotation["source"], "stage");
    // The working tree changed after the commit.
    assert!(
        release_annotation["commit"]
            .as_str()
            .is_some_and(|c| c.len() == 10 && c.ends_with("++")),
        "{prod}"
    );

    // The code read from stage was staged under .deployed/ and is gone again.
    let staged: Vec<String> = std::fs::read_dir(test.path().join(".deployed"))
        .expect("a .deployed directory")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("promote-"))
        .collect();
    assert!(staged.is_empty(), "{staged:?}");

    let records = releases(&test);
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert_eq!(record["id"], "prod-1");
    assert_eq!(record["source"], "stage");
    assert_eq!(record["target"], "prod");
    assert_eq!(record["sourceNamespace"], "stage");
    assert_eq!(record["namespace"], "prod");
    assert!(record["user"].is_string(), "{record}");
    assert!(
        record["time"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{record}"
    );
    assert_eq!(record["commit"], release_annotation["commit"]);
    assert_eq!(
        record["functions"],
        json!({"app/hello": sha256(stage_code)})
    );

    let history: Value =
        serde_json::from_str(&test.ok(&["env", "history", "prod", "--json"])).expect("JSON");
    assert_eq!(history, json!([record]));
    let table = test.ok(&["env", "history", "prod"]);
    assert!(
        table.contains("RELEASE") && table.contains("prod-1") && table.contains("stage"),
        "{table}"
    );
    let none = test.ok(&["env", "history", "stage"]);
    assert!(
        none.contains("No releases of environment 'stage'"),
        "{none}"
    );

    // A second promotion is the next release.
    test.ok(&["promote", "stage", "prod", "--yes"]);
    let ids: Vec<Value> = releases(&test).iter().map(|r| r["id"].clone()).collect();
    assert_eq!(ids, [json!("prod-1"), json!("prod-2")]);
}

#[test]
fn drift_in_the_source_blocks_the_promotion() {
    let test = three_environments();
    test.ok(&["deploy", ".", "-e", "stage"]);
    // Someone changes stage's function with a plain API PUT, outside the project.
    let client = client(&test, "stage");
    let body = json!({"exec": {"kind": "nodejs:default", "code": function("hotfix")}});
    tokio::runtime::Runtime::new()
        .expect("a runtime")
        .block_on(client.put(
            {
                let mut url = client.entity_url("actions", "app/hello");
                url.query_pairs_mut().append_pair("overwrite", "true");
                url
            },
            &body,
        ))
        .expect("the PUT is accepted");

    let stderr = fails(&test, &["promote", "stage", "prod", "--yes"]);
    assert!(
        stderr.contains("cannot promote from environment 'stage'")
            && stderr.contains("'app/hello' drifted")
            && stderr.contains("sluice deploy -e stage"),
        "{stderr}"
    );
    assert_eq!(action_in(&test, "prod", "app/hello"), Value::Null);
    assert!(releases(&test).is_empty());

    // Deploying stage again from the project ends the drift.
    test.ok(&["deploy", ".", "-e", "stage"]);
    test.ok(&["promote", "stage", "prod", "--yes"]);
    assert_eq!(invoke_in(&test, "prod", "app/hello")["code"], "v1");
}

#[test]
fn a_function_the_source_never_got_blocks_the_promotion() {
    let test = three_environments();
    test.ok(&["deploy", ".", "-e", "stage"]);
    let test = test.write("packages/app/added.js", function("new"));
    let stderr = fails(&test, &["promote", "stage", "prod", "--yes"]);
    assert!(
        stderr.contains("'app/added'") && stderr.contains("no record of deploying it"),
        "{stderr}"
    );
    assert_eq!(action_in(&test, "prod", "app/hello"), Value::Null);
}

#[test]
fn dry_run_shows_the_plan_and_changes_nothing() {
    let test = three_environments();
    test.ok(&["deploy", ".", "-e", "stage"]);
    let out = test.ok(&["promote", "stage", "prod", "--dry-run"]);
    assert!(
        out.contains("app/hello") && out.contains("Dry run: nothing was promoted"),
        "{out}"
    );
    assert_eq!(action_in(&test, "prod", "app/hello"), Value::Null);
    assert!(releases(&test).is_empty());

    let plan: Value =
        serde_json::from_str(&test.ok(&["promote", "stage", "prod", "--dry-run", "--json"]))
            .expect("JSON");
    assert_eq!(plan["source"]["namespace"], "stage");
    assert_eq!(plan["target"]["environment"], "prod");
    assert_eq!(plan["outcome"], Value::Null);
    assert_eq!(plan["release"], Value::Null);
    assert!(plan["plan"]["changes"].is_array(), "{plan}");
    assert_eq!(action_in(&test, "prod", "app/hello"), Value::Null);
}

#[test]
fn without_a_terminal_a_promotion_needs_yes() {
    let test = three_environments();
    test.ok(&["deploy", ".", "-e", "stage"]);
    let stderr = fails(&test, &["promote", "stage", "prod"]);
    assert!(
        stderr.contains("needs a confirmation") && stderr.contains("--yes"),
        "{stderr}"
    );
    let stderr = fails(&test, &["promote", "stage", "nowhere", "--yes"]);
    assert!(stderr.contains("nowhere"), "{stderr}");
    assert_eq!(action_in(&test, "prod", "app/hello"), Value::Null);
}

#[test]
fn promote_json_reports_the_outcome_and_the_release() {
    let test = three_environments();
    test.ok(&["deploy", ".", "-e", "stage"]);
    let doc: Value =
        serde_json::from_str(&test.ok(&["promote", "stage", "prod", "--yes", "--json"]))
            .expect("JSON");
    assert_eq!(doc["release"]["id"], "prod-1");
    assert_eq!(doc["outcome"]["failures"], json!([]));
    assert_eq!(doc["target"]["namespace"], "prod");
}

/// The book's Promotion section shows the settings this file promotes with, and the
/// history table as `env history` prints it.
#[test]
fn the_book_shows_these_settings_and_the_history_table() {
    let page = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/environments.md"),
    )
    .expect("read the book page");
    let section = page
        .split("## Promotion")
        .nth(1)
        .expect("a Promotion section");
    let toml = section
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a toml block");
    let toml: String = toml.lines().skip(1).map(|l| format!("{l}\n")).collect();
    assert_eq!(toml.trim(), SETTINGS.trim());

    let test = three_environments().git_commit();
    test.ok(&["deploy", ".", "-e", "stage"]);
    let dry = test.ok(&["promote", "stage", "prod", "--dry-run"]);
    for line in [
        "Promoting the code of 1 function(s) from environment 'stage' (namespace 'stage')",
        "  + create                 function app/hello",
        "Dry run: nothing was promoted. Promote with 'sluice promote stage prod --yes'",
    ] {
        assert!(
            section.contains(line) && dry.contains(line),
            "{line}\n{dry}"
        );
    }
    test.ok(&["promote", "stage", "prod", "--yes"]);
    let table = test.ok(&["env", "history", "prod"]);
    let words = |line: &str| line.split_whitespace().collect::<Vec<_>>().join(" ");
    let header = words(table.lines().next().unwrap_or_default());
    assert!(
        section.lines().any(|l| words(l) == header),
        "the book's history table has not the header {header}"
    );
}

/// A function of several files is a zip (binary code): it goes over byte for byte, and its
/// trigger is deployed to the target too.
#[test]
fn zipped_functions_and_their_triggers_are_promoted() {
    let helper = |v: &str| format!("exports.version = '{v}';\n");
    let test = ProjectTest::empty()
        .write("sluice.toml", SETTINGS)
        .write(
            "project.yml",
            "packages:\n  - name: app\n    functions:\n      - name: multi\n        runtime: nodejs:default\n        triggers:\n          - name: nightly\n            sourceType: scheduler\n            enabled: false\n            sourceDetails:\n              cron: \"0 3 * * *\"\n",
        )
        .write(
            "packages/app/multi/index.js",
            "const helper = require('./helper');\nexports.main = () => ({ environment: process.env.SLUICE_ENVIRONMENT, version: helper.version });\n",
        )
        .write("packages/app/multi/helper.js", helper("v1"))
        .write("env/stage.env", "")
        .write("env/prod.env", "")
        .write("env/dev.env", "");
    for ns in ["stage", "prod"] {
        test.ok(&["local", "namespace", "create", ns]);
        test.ok(&["namespace", "use", ns]);
    }
    test.ok(&["deploy", ".", "-e", "stage"]);
    let test = test.write("packages/app/multi/helper.js", helper("v2-unreleased"));
    test.ok(&["promote", "stage", "prod", "--yes"]);

    let stage = action_in(&test, "stage", "app/multi");
    let prod = action_in(&test, "prod", "app/multi");
    assert_eq!(stage["exec"]["binary"], json!(true), "{stage}");
    assert_eq!(prod["exec"]["binary"], json!(true), "{prod}");
    assert!(stage["exec"]["code"].is_string());
    assert_eq!(prod["exec"]["code"], stage["exec"]["code"]);
    assert_eq!(
        invoke_in(&test, "prod", "app/multi"),
        json!({"environment": "prod", "version": "v1"})
    );
    let triggers: Value =
        serde_json::from_str(&test.ok(&["triggers", "list", "--json"])).expect("JSON");
    let names: Vec<&str> = triggers
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["nightly"], "{triggers}");
}

/// On a terminal the plan is shown and a promotion waits for a yes (a real pseudo-terminal,
/// through util-linux's `script`).
#[cfg(target_os = "linux")]
#[test]
fn on_a_terminal_the_plan_is_confirmed_first() {
    use std::io::Write;

    let test = three_environments();
    test.ok(&["deploy", ".", "-e", "stage"]);
    let sluice = insta_cmd::get_cargo_bin("sluice");
    let on_a_terminal = |answer: &str| {
        let mut cmd = std::process::Command::new("script");
        test.isolate(&mut cmd);
        let mut child = cmd
            .args([
                "-qec",
                &format!("{} promote stage prod", sluice.display()),
                "/dev/null",
            ])
            .current_dir(test.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run script (util-linux)");
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(format!("{answer}\n").as_bytes())
                .expect("answer");
        }
        let out = child.wait_with_output().expect("script ends");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let refused = on_a_terminal("n");
    assert!(
        refused.contains("+ create                 function app/hello")
            && refused.contains("Promote 'stage' to 'prod'? [y/N]")
            && refused.contains("cancelled: the plan was not confirmed"),
        "{refused}"
    );
    assert_eq!(action_in(&test, "prod", "app/hello"), Value::Null);
    let accepted = on_a_terminal("y");
    assert!(accepted.contains("Recorded release 'prod-1'"), "{accepted}");
    assert_eq!(invoke_in(&test, "prod", "app/hello")["environment"], "prod");
}

/// The JSON of a dry run and of the history, as programs read them.
#[test]
fn dry_run_and_history_json_snapshots() {
    let port = vec![(
        r"127\.0\.0\.1:\d+".to_string(),
        "127.0.0.1:[PORT]".to_string(),
    )];
    let test = three_environments();
    test.ok(&["deploy", ".", "-e", "stage"]);
    sluice_snapshot!(
        filters = port.clone(),
        "promote_dry_run_json",
        test.command(["promote", "stage", "prod", "--dry-run", "--json"])
    );
    test.ok(&["promote", "stage", "prod", "--yes"]);
    sluice_snapshot!(
        filters = port,
        "env_history_json",
        test.command(["env", "history", "prod", "--json"])
    );
}

/// A promotion deploys with the target's secrets, not the source's: each environment has its
/// own encrypted secrets file (`secrets init`, `secrets set` from stdin), and prod's function
/// sees prod's value after `promote stage prod`, while stage keeps its own.
#[test]
fn a_promotion_deploys_with_the_targets_secrets() {
    let test = ProjectTest::empty()
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_FILE")
        .write(
            "sluice.toml",
            "[environments.stage]\nnamespace = \"stage\"\n\n[environments.prod]\nnamespace = \"prod\"\nprotected = true\n",
        )
        .write(
            "project.yml",
            "packages:\n  - name: app\n    functions:\n      - name: hello\n        runtime: nodejs:default\n",
        )
        .write(
            "packages/app/hello.js",
            "exports.main = () => ({ token: process.env.TOKEN, environment: process.env.SLUICE_ENVIRONMENT });\n",
        );
    for ns in ["stage", "prod"] {
        test.ok(&["local", "namespace", "create", ns]);
        test.ok(&["namespace", "use", ns]);
        test.ok(&["secrets", "init", ns]);
    }
    for (env, value) in [("stage", "stage-token-1"), ("prod", "prod-token-9")] {
        let mut child = test
            .command(["secrets", "set", env, "TOKEN"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run sluice");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin");
            stdin.write_all(value.as_bytes()).expect("write the value");
        }
        let out = child.wait_with_output().expect("sluice ends");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    test.ok(&["deploy", ".", "-e", "stage"]);
    let promoted = test.run(&["promote", "stage", "prod", "--yes"]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&promoted.stdout),
        String::from_utf8_lossy(&promoted.stderr)
    );
    assert!(promoted.status.success(), "{said}");
    for secret in ["stage-token-1", "prod-token-9"] {
        assert!(
            !said.contains(secret),
            "the promotion printed a secret: {said}"
        );
    }
    assert_eq!(
        invoke_in(&test, "prod", "app/hello"),
        json!({"token": "prod-token-9", "environment": "prod"})
    );
    assert_eq!(
        invoke_in(&test, "stage", "app/hello"),
        json!({"token": "stage-token-1", "environment": "stage"})
    );
}
