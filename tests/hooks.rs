//! Lua hooks end to end: `sluice deploy` of fixture projects (tests/fixtures/hooks/) to the
//! embedded local namespace, with hooks that edit the structure, leave a function out, supply
//! an artifact, refuse the deploy, fail to parse and loop forever; and `sluice hooks list`.

mod common;

use common::ProjectTest;
use serde_json::{Value, json};
use sluice_openwhisk::{Client, TransportOptions};

/// Every action in the test's local namespace, reduced to what hooks can change (the
/// deployer's own annotation, with its digests, is left out).
fn deployed_actions(test: &ProjectTest) -> Value {
    let dir = test.local_dir();
    let server =
        sluice_local::EmbeddedServer::start(&dir).expect("start the local namespace again");
    let client =
        Client::new(&server.apihost, server.auth(), &TransportOptions::default()).expect("client");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let list = runtime
        .block_on(client.get(client.api_url(["namespaces", "_", "actions"])))
        .expect("list actions");
    let mut out = Vec::new();
    for brief in list.as_array().into_iter().flatten() {
        let package = brief["namespace"]
            .as_str()
            .and_then(|ns| ns.split_once('/'))
            .map(|(_, p)| p.to_string());
        let name = brief["name"].as_str().unwrap_or_default();
        let full = match &package {
            Some(p) => format!("{p}/{name}"),
            None => name.to_string(),
        };
        let action = runtime
            .block_on(client.get(client.entity_url("actions", &full)))
            .expect("get action");
        let annotations: Vec<Value> = action["annotations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["key"] != "deployer")
            .cloned()
            .collect();
        out.push(json!({
            "name": full,
            "kind": action["exec"]["kind"],
            "code": action["exec"]["code"],
            "parameters": action["parameters"],
            "annotations": annotations,
        }));
    }
    out.sort_by_key(|a| a["name"].as_str().unwrap_or_default().to_string());
    Value::Array(out)
}

fn local_filters() -> Vec<(String, String)> {
    vec![(
        r"http://127\.0\.0\.1:\d+".to_string(),
        "[LOCAL]".to_string(),
    )]
}

#[test]
fn hooks_edit_the_structure_skip_a_function_and_supply_an_artifact() {
    let test = ProjectTest::fixture("hooks/edit").env("GREETING", "Hello from a template");
    sluice_snapshot!(
        filters = local_filters(),
        "edit_deploy",
        test.command(["deploy", ".", "-e", "local"])
    );
    insta::assert_json_snapshot!("edit_entities", deployed_actions(&test));
    let rendered = std::fs::read_to_string(test.path().join(".deployed/hooks/demo/greeting.js"))
        .expect("rendered");
    assert!(rendered.contains("Hello from a template"), "{rendered}");
}

#[test]
fn hooks_list_shows_every_event_and_its_handlers_in_order() {
    let test = ProjectTest::fixture("hooks/edit").write(
        "extra.lua",
        "local sluice = require('sluice')\nsluice.on('error', function(e) sluice.log.warn(e.message) end)\n",
    );
    sluice_snapshot!(
        "list_text",
        test.command([
            "hooks",
            "list",
            ".",
            "--hook",
            "extra.lua",
            "--hook",
            "stock:smoke-test"
        ])
    );
    sluice_snapshot!("list_json", test.command(["hooks", "list", ".", "--json"]));
}

#[test]
fn a_failing_deploy_before_hook_sends_nothing() {
    let test = ProjectTest::fixture("hooks/abort");
    let output = sluice_snapshot!(
        filters = local_filters(),
        "abort_deploy",
        test.command(["deploy", "."])
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("hook hooks/freeze.lua:5 (deploy:before): deploys to 'local' are frozen"),
        "{stderr}"
    );
    assert_eq!(deployed_actions(&test), json!([]));
}

#[test]
fn a_syntax_error_names_the_file_and_line() {
    let test = ProjectTest::fixture("hooks/syntax");
    let output = sluice_snapshot!("syntax_deploy", test.command(["deploy", "."]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("hook hooks/broken.lua:5 (load)"),
        "{stderr}"
    );
    assert_eq!(deployed_actions(&test), json!([]));
}

#[test]
fn an_endless_loop_is_stopped_by_the_instruction_limit() {
    let test = ProjectTest::fixture("hooks/loop");
    let output = sluice_snapshot!("loop_deploy", test.command(["deploy", "."]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("hook hooks/spin.lua:6 (read:after): the hook ran more than 100000000"),
        "{stderr}"
    );
}

#[test]
fn build_honours_hooks_too() {
    let test = ProjectTest::fixture("hooks/edit").env("GREETING", "Hi");
    sluice_snapshot!("edit_build", test.command(["build", ".", "--json"]));
}
