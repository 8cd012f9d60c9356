//! `sluice deploy` with remote builds against a fake controller on 127.0.0.1 whose
//! `/nimbella/builder` actions are recorded: a Go function (remote by default) and a
//! `--remote-build` function are sliced, uploaded and built there, and the builder's outcome
//! appears in the deploy's summary and versions file, and the function's trigger is
//! deployed after it; without the builder the spec's error names the runtime.

mod common;
mod deploy_support;

use common::ProjectTest;
use deploy_support::{AUTH, FakeWhisk, NAMESPACE};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, ResponseTemplate};

fn store(whisk: &FakeWhisk) -> String {
    json!({
        "currentHost": whisk.uri(),
        "currentNamespace": NAMESPACE,
        "credentials": {whisk.uri(): {NAMESPACE: {"api_key": AUTH}}}
    })
    .to_string()
}

fn activation(id: &str, result: Value) -> Value {
    json!({
        "activationId": id, "namespace": "nimbella", "name": "builder", "start": 1, "end": 2,
        "response": {"status": "success", "success": true, "result": result}
    })
}

/// Mounts the builder actions on the fake controller, ahead of its own routes: each
/// `build_*` answers with an outcome that deploys `entity`.
fn mount_builder(whisk: &FakeWhisk, entity: &str) {
    let upload = format!("{}/upload/slice-1", whisk.uri());
    let outcome = json!({
        "transcript": ["remote: built"],
        "outcome": {
            "successes": [{"name": entity, "kind": "action", "skipped": false}],
            "failures": [], "ignored": [], "packageVersions": {},
            "actionVersions": {entity: {"version": "0.0.1", "digest": "d1"}}
        }
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        Mock::given(method("POST"))
            .and(path(
                "/api/v1/namespaces/nimbella/actions/builder/getUploadUrl",
            ))
            .respond_with(ResponseTemplate::new(202).set_body_json(json!({"activationId": "u1"})))
            .with_priority(1)
            .mount(&whisk.server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/v1/namespaces/_/activations/u1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(activation(
                "u1",
                json!({"url": upload, "sliceName": "slice-1"}),
            )))
            .with_priority(1)
            .mount(&whisk.server)
            .await;
        Mock::given(method("PUT"))
            .and(path("/upload/slice-1"))
            .respond_with(ResponseTemplate::new(200))
            .with_priority(1)
            .mount(&whisk.server)
            .await;
        Mock::given(method("POST"))
            .and(path_regex(
                r"^/api/v1/namespaces/nimbella/actions/builder/build_go_.+$",
            ))
            .respond_with(ResponseTemplate::new(202).set_body_json(json!({"activationId": "b1"})))
            .with_priority(1)
            .mount(&whisk.server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/v1/namespaces/_/activations/b1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(activation("b1", outcome)))
            .with_priority(1)
            .mount(&whisk.server)
            .await;
    });
}

#[test]
fn a_go_function_is_built_and_deployed_by_the_namespaces_builder() {
    let whisk = FakeWhisk::start();
    mount_builder(&whisk, "demo/hello");
    let test = ProjectTest::empty()
        .write_home(".nimbella/credentials.json", store(&whisk))
        .write("packages/demo/hello.go", "package main\n\nfunc Main(args map[string]interface{}) map[string]interface{} {\n\treturn args\n}\n")
        .write("packages/demo/local.js", "function main() { return {} }\n")
        .write(
            "project.yml",
            "packages:\n  - name: demo\n    functions:\n      - name: hello\n        triggers:\n          - name: every-minute\n            type: SCHEDULED\n            scheduledDetails:\n              cron: \"* * * * *\"\n",
        )
        .write("build.env", "GOFLAGS=-mod=vendor\n")
        .env("SLUICE_DO_API_URL", whisk.uri())
        .env("DO_API_TOKEN", "do-token");
    let output = sluice_snapshot!(
        filters = vec![(regex::escape(&whisk.uri()), "[SERVER]".to_string())],
        test.command(["deploy", ".", "--build-env", "build.env"])
    );
    assert!(output.status.success());
    let lines: Vec<String> = whisk
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    // The package is deployed by the client; the Go function is not PUT by it.
    assert!(
        lines.iter().any(|l| l == "PUT /upload/slice-1"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "PUT /api/v1/namespaces/_/packages/demo"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "PUT /api/v1/namespaces/_/actions/demo/local"),
        "{lines:?}"
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with("PUT /api/v1/namespaces/_/actions/demo/hello")),
        "{lines:?}"
    );
    // Unlike the original, the remotely built function's trigger is deployed afterwards.
    let trigger = whisk
        .trigger("every-minute")
        .expect("the trigger was deployed");
    assert_eq!(trigger["function"], "demo/hello");
    // And its version (from the builder's outcome) is recorded with the others.
    let versions = std::fs::read_to_string(test.path().join(".deployed/versions.json"))
        .expect("a versions file");
    assert!(versions.contains("demo/hello"), "{versions}");

    // The slice carries the build environment, and flags that do not ask for another
    // remote build; its config is readable with the key sent to build_go_*.
    let requests = whisk.requests();
    let zip = requests
        .iter()
        .find(|r| r.url.path() == "/upload/slice-1")
        .map(|r| r.body.clone())
        .expect("the slice was uploaded");
    let build: Value = requests
        .iter()
        .find(|r| r.url.path().contains("/builder/build_go_"))
        .and_then(|r| serde_json::from_slice(&r.body).ok())
        .expect("the build was requested");
    assert_eq!(build["toBuild"], "slice-1");
    let key = build["encryptionKey"].as_str().expect("a key");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("a zip");
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name("project.yml").expect("a config"),
        &mut text,
    )
    .expect("readable");
    let config = sluice_remote_builder::decrypt_config(&text, key).expect("decrypts");
    assert!(config.contains("GOFLAGS: -mod=vendor"), "{config}");
    assert!(config.contains("slice: true"), "{config}");
    assert!(!config.contains("remoteBuild"), "{config}");
    assert!(!config.contains("triggers"), "{config}");
    assert!(archive.by_name("packages/demo/hello/build.sh").is_ok());
}

#[test]
fn without_a_builder_for_the_runtime_the_function_fails_with_the_spec_message() {
    let whisk = FakeWhisk::start();
    mount_builder(&whisk, "demo/hello");
    let test = ProjectTest::empty()
        .write_home(".nimbella/credentials.json", store(&whisk))
        .write("packages/demo/a/build.sh", "#!/bin/sh\ntrue\n")
        .write(
            "packages/demo/a/main.py",
            "def main(args):\n    return args\n",
        );
    let output = sluice_snapshot!(
        filters = vec![(regex::escape(&whisk.uri()), "[SERVER]".to_string())],
        test.command(["deploy", ".", "--remote-build"])
    );
    assert!(!output.status.success());
}

#[test]
fn the_local_namespace_has_no_builder_for_a_runtime_it_cannot_build() {
    // No namespace configured: the embedded local namespace is used. Its /nimbella/builder
    // package builds only the runtimes whose toolchain is on the machine (never
    // nodejs-lambda), so that function fails with the spec's message, and the rest of the
    // project deploys.
    let test = ProjectTest::empty()
        .write("packages/demo/lambda/index.js", "exports.handler = async () => ({})\n")
        .write(
            "packages/demo/lambda/package.json",
            r#"{"name": "lambda", "version": "1.0.0", "main": "index.js"}"#,
        )
        .write("packages/demo/local.js", "function main() { return {} }\n")
        .write(
            "project.yml",
            "packages:\n  - name: demo\n    functions:\n      - name: lambda\n        runtime: nodejs-lambda:18\n        remoteBuild: true\n",
        );
    let output = sluice_snapshot!(
        filters = vec![
            (
                r"http://127\.0\.0\.1:\d+".to_string(),
                "[LOCAL]".to_string()
            ),
            (
                r"\(id: [0-9a-f]{32}\)".to_string(),
                "(id: [ID])".to_string()
            ),
        ],
        test.command(["deploy", "."])
    );
    assert!(!output.status.success());
}
