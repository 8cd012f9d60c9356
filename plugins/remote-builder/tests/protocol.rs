//! The remote-build protocol against a recording HTTP server on loopback: what the client
//! sends (snapshot-tested, with the key and the slice name redacted), what it does with the
//! answers, and the spec's errors.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sluice_core::feedback::Level;
use sluice_core::{
    ActionSpec, Credentials, DeployStructure, Flags, OwOptions, PackageSpec, Recorder,
    RuntimeTable, SystemIgnore, build_kind,
};
use sluice_remote_builder::{BuilderClient, Error, SliceRequest, decrypt_config, make_slice};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn write(root: &Path, rel: &str, text: &str) -> std::io::Result<()> {
    let p = root.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(p, text)
}

#[cfg(unix)]
fn make_executable(p: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))
}

fn credentials(apihost: &str) -> Credentials {
    Credentials {
        namespace: Some("ns1".to_string()),
        ow: OwOptions {
            apihost: apihost.to_string(),
            api_key: "user:secret".to_string(),
            ignore_certs: false,
        },
        do_token: None,
    }
}

fn go_function() -> (PackageSpec, ActionSpec) {
    let action = ActionSpec {
        name: "hello".to_string(),
        file: Some("packages/demo/hello.go".to_string()),
        runtime: Some("go:default".to_string()),
        build: Some(build_kind::REMOTE_DEFAULT.to_string()),
        web: None,
        ..ActionSpec::default()
    };
    let package = PackageSpec {
        name: "demo".to_string(),
        actions: vec![action.clone()],
        ..PackageSpec::default()
    };
    (package, action)
}

/// The zip's entries with their modes, and its `project.yml` decrypted with `key`.
fn open_slice(zip: &[u8], key: &str) -> Result<(Vec<String>, String), Box<dyn std::error::Error>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip))?;
    let mut names = Vec::new();
    let mut config = String::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i)?;
        let mode = f.unix_mode().unwrap_or(0) & 0o777;
        let name = f.name()?.to_string();
        names.push(format!("{name} {mode:o}"));
        if name == "project.yml" {
            let mut text = String::new();
            f.read_to_string(&mut text)?;
            config = decrypt_config(&text, key)?;
        }
    }
    Ok((names, config))
}

fn activation(id: &str, success: bool, result: Value) -> Value {
    json!({
        "activationId": id, "namespace": "nimbella", "name": "x", "start": 1, "end": 2,
        "response": {"status": if success {"success"} else {"application error"},
                     "success": success, "result": result}
    })
}

async fn mount_builder(server: &MockServer, build_result: Value, build_ok: bool) {
    let upload = format!("{}/upload/slice-7", server.uri());
    Mock::given(method("POST"))
        .and(path(
            "/api/v1/namespaces/nimbella/actions/builder/getUploadUrl",
        ))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"activationId": "a1"})))
        .mount(server)
        .await;
    // The first poll finds no record yet: 404s are tolerated.
    Mock::given(method("GET"))
        .and(path("/api/v1/namespaces/_/activations/a1"))
        .respond_with(ResponseTemplate::new(404))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/namespaces/_/activations/a1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(activation(
            "a1",
            true,
            json!({"url": upload, "sliceName": "slice-7"}),
        )))
        .mount(server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/upload/slice-7"))
        .respond_with(ResponseTemplate::new(200))
        .mount(server)
        .await;
    let build = build_action("go:default");
    Mock::given(method("POST"))
        .and(path(format!(
            "/api/v1/namespaces/nimbella/actions/builder/{build}"
        )))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"activationId": "b1"})))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/namespaces/_/activations/b1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(activation(
            "b1",
            build_ok,
            build_result,
        )))
        .mount(server)
        .await;
}

fn build_action(runtime: &str) -> String {
    sluice_remote_builder::build_action_name(&RuntimeTable::builtin(), runtime)
}

#[tokio::test]
async fn a_go_function_is_sliced_uploaded_built_and_its_outcome_returned() -> TestResult {
    let dir = tempfile::tempdir()?;
    let root = dir.path();
    write(root, "packages/demo/hello.go", "package main\n")?;
    write(root, "lib/shared.txt", "shared\n")?;
    write(root, "lib/.gitignore", "excluded\n")?;
    let server = MockServer::start().await;
    let outcome = json!({
        "transcript": ["go: building", "done"],
        "outcome": {
            "successes": [{"name": "demo/hello", "kind": "action", "skipped": false}],
            "failures": [], "ignored": [],
            "packageVersions": {}, "actionVersions": {"demo/hello": {"version": "0.0.1", "digest": "abc"}}
        }
    });
    mount_builder(&server, outcome, true).await;

    let (package, action) = go_function();
    let project = DeployStructure {
        packages: vec![package.clone()],
        parameters: Some(serde_json::from_value(json!({"top": "level"}))?),
        ..DeployStructure::default()
    };
    let creds = credentials(&server.uri());
    let flags = Flags {
        remote_build: true,
        build_env: Some("build.env".to_string()),
        ..Flags::default()
    };
    let build_env = BTreeMap::from([("GOFLAGS".to_string(), "-mod=vendor".to_string())]);
    let runtimes = RuntimeTable::builtin();
    let ignore = SystemIgnore::default();
    let req = SliceRequest::new(
        root, &project, &package, &action, &creds, &flags, &build_env, &runtimes, &ignore,
    );
    let slice = make_slice(&req)?;
    // The client's own flags are left as they were (the original cleared them).
    assert!(flags.remote_build);

    let recorder = Arc::new(Recorder::default());
    let client = BuilderClient::new(&creds, "nimbella", recorder.clone())?
        .with_poll_interval(Duration::from_millis(5));
    let id = client.submit(&slice, "demo/hello", &runtimes).await?;
    assert_eq!(id, "b1");
    let result = client.await_build("demo/hello", &id).await?;
    assert_eq!(result.outcome.successes.len(), 1);
    assert!(result.outcome.action_versions.contains_key("demo/hello"));

    let requests = server
        .received_requests()
        .await
        .ok_or("the server records requests")?;
    let mut transcript = Vec::new();
    let mut zip = Vec::new();
    for r in &requests {
        let line = format!("{} {}", r.method, r.url.path());
        if r.method.as_str() == "PUT" {
            zip = r.body.clone();
            transcript.push(json!({"request": line, "bytes": "<zip>"}));
            continue;
        }
        let mut body: Value = if r.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&r.body)?
        };
        if let Some(key) = body.get_mut("encryptionKey") {
            assert_eq!(key.as_str().map(str::len), Some(64));
            *key = json!("[key]");
        }
        if let Some(name) = body.get_mut("toBuild") {
            assert_eq!(name, "slice-7");
            *name = json!("[slice]");
        }
        let auth = r
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        transcript
            .push(json!({"request": line, "body": body, "basicAuth": auth.starts_with("Basic ")}));
    }
    insta::assert_json_snapshot!("go_requests", transcript);

    let (entries, config) = open_slice(&zip, &slice.key_hex)?;
    insta::assert_snapshot!("go_slice_entries", entries.join("\n"));
    let config = config.replace(&server.uri(), "http://[apihost]");
    insta::assert_snapshot!("go_slice_config", config);

    let progress: Vec<String> = recorder
        .lines()
        .into_iter()
        .filter(|(l, _)| *l == Level::Progress)
        .map(|(_, m)| m)
        .collect();
    insta::assert_snapshot!("go_progress", progress.join("\n"));
    Ok(())
}

#[cfg(unix)]
#[test]
fn a_directory_slice_keeps_modes_and_refuses_local_build_output() -> TestResult {
    let dir = tempfile::tempdir()?;
    let root = dir.path();
    write(root, "packages/p/a/build.sh", "#!/bin/sh\nnpm install\n")?;
    make_executable(&root.join("packages/p/a/build.sh"))?;
    write(root, "packages/p/a/index.js", "exports.main = () => ({})\n")?;
    write(root, "packages/p/a/sub/data.json", "{}\n")?;
    let action = ActionSpec {
        name: "a".to_string(),
        file: Some("packages/p/a".to_string()),
        build: Some(build_kind::REMOTE.to_string()),
        ..ActionSpec::default()
    };
    let package = PackageSpec {
        name: "p".to_string(),
        actions: vec![action.clone()],
        ..PackageSpec::default()
    };
    let project = DeployStructure::default();
    let creds = credentials("https://example.invalid");
    let flags = Flags::default();
    let env = BTreeMap::new();
    let runtimes = RuntimeTable::builtin();
    let ignore = SystemIgnore::default();
    let req = SliceRequest::new(
        root, &project, &package, &action, &creds, &flags, &env, &runtimes, &ignore,
    );
    let slice = make_slice(&req)?;
    assert!(slice.runtime.starts_with("nodejs"), "{}", slice.runtime);
    assert_eq!(slice.tag, "p_a");
    let (entries, _) = open_slice(&slice.zip, &slice.key_hex)?;
    assert_eq!(
        entries,
        [
            "packages/p/a/build.sh 755",
            "packages/p/a/index.js 644",
            "packages/p/a/sub/data.json 644",
            "project.yml 644"
        ]
    );

    let too_small = req.with_max_size(64);
    let err = make_slice(&too_small).err().ok_or("too large")?;
    assert_eq!(
        err.to_string(),
        "Remote build upload for 'packages/p/a' is too large.  Make sure the directory is free of derived artifacts"
    );

    write(
        root,
        "packages/p/a/.include",
        "index.js\n../../../../etc/passwd\n",
    )?;
    let err = make_slice(&req).err().ok_or("illegal include")?;
    assert_eq!(err.to_string(), "Illegal use of '..' in an '.include' file");
    std::fs::remove_file(root.join("packages/p/a/.include"))?;

    write(root, "packages/p/a/.built", "")?;
    let err = make_slice(&req).err().ok_or("built locally")?;
    assert!(matches!(err, Error::BuiltLocally { .. }));
    assert!(err.to_string().ends_with(
        "packages/p/a' but it appears to have been built locally.  Remove derived artifacts first."
    ));
    Ok(())
}

#[test]
fn a_slice_without_a_runtime_names_the_function() -> TestResult {
    let dir = tempfile::tempdir()?;
    write(dir.path(), "packages/p/a/build.sh", "true\n")?;
    let action = ActionSpec {
        name: "a".to_string(),
        file: Some("packages/p/a".to_string()),
        build: Some(build_kind::REMOTE.to_string()),
        ..ActionSpec::default()
    };
    let package = PackageSpec {
        name: "p".to_string(),
        ..PackageSpec::default()
    };
    let (project, creds, flags, env) = (
        DeployStructure::default(),
        credentials("https://example.invalid"),
        Flags::default(),
        BTreeMap::new(),
    );
    let (runtimes, ignore) = (RuntimeTable::builtin(), SystemIgnore::default());
    let req = SliceRequest::new(
        dir.path(),
        &project,
        &package,
        &action,
        &creds,
        &flags,
        &env,
        &runtimes,
        &ignore,
    );
    let err = make_slice(&req).err().ok_or("no runtime")?;
    assert_eq!(
        err.to_string(),
        "Could not determine runtime for remote build of 'p/a'.  You may need to specify it in 'project.yml'"
    );
    Ok(())
}

async fn client_for(server: &MockServer) -> Result<BuilderClient, Box<dyn std::error::Error>> {
    Ok(BuilderClient::new(
        &credentials(&server.uri()),
        "nimbella",
        Arc::new(Recorder::default()),
    )?
    .with_poll_interval(Duration::from_millis(2)))
}

#[tokio::test]
async fn the_spec_errors_of_the_protocol() -> TestResult {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(
            "/api/v1/namespaces/nimbella/actions/builder/getUploadUrl",
        ))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"activationId": "u1"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/namespaces/_/activations/u1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(activation(
            "u1",
            false,
            json!({"error": "Error: bucket full"}),
        )))
        .mount(&server)
        .await;
    let client = client_for(&server).await?;
    let err = client.upload_permission("p_a").await.err().ok_or("fails")?;
    assert_eq!(err.to_string(), "bucket full");

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(
            "/api/v1/namespaces/nimbella/actions/builder/getUploadUrl",
        ))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"activationId": "u2"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/namespaces/_/activations/u2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(activation(
            "u2",
            true,
            json!({"url": "x"}),
        )))
        .mount(&server)
        .await;
    let client = client_for(&server).await?;
    let err = client.upload_permission("p_a").await.err().ok_or("fails")?;
    assert_eq!(err.to_string(), "Unexpected response from getUploadUrl");

    // A namespace without builder actions says so, and how to build locally.
    let server = MockServer::start().await;
    let client = client_for(&server).await?;
    let err = client.upload_permission("p_a").await.err().ok_or("fails")?;
    assert!(matches!(err, Error::NoUploadService { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("'/nimbella/builder/getUploadUrl' was not found")
    );

    // No builder for the runtime, and a builder that fails.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/api/v1/namespaces/nimbella/actions/builder/{}",
            build_action("python:3.11")
        )))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/api/v1/namespaces/nimbella/actions/builder/{}",
            build_action("php:8.2")
        )))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let client = client_for(&server).await?;
    let table = RuntimeTable::builtin();
    let err = client
        .start_build(&table, "python:3.11", "s", "k")
        .await
        .err()
        .ok_or("404")?;
    assert_eq!(
        err.to_string(),
        "Remote build service is not available for runtime 'python:3.11' on this platform instance."
    );
    let err = client
        .start_build(&table, "php:8.2", "s", "k")
        .await
        .err()
        .ok_or("502")?;
    assert_eq!(
        err.to_string(),
        "Remote build service returned error status."
    );

    // A failed build gives the activation's error, and one that never ends times out.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/namespaces/_/activations/f1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(activation(
            "f1",
            false,
            json!({"error": {"message": "Error: While deploying: Error: go: compile error"}}),
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/namespaces/_/activations/f2"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let client = client_for(&server).await?;
    let err = client.await_build("p/a", "f1").await.err().ok_or("fails")?;
    assert_eq!(err.to_string(), "go: compile error");
    assert!(
        matches!(err, Error::BuildFailed { ref activation, .. } if activation["activationId"] == "f1")
    );
    let err = client.await_build("p/a", "f2").await.err().ok_or("fails")?;
    assert!(matches!(err, Error::Poll { .. }), "{err}");
    Ok(())
}

/// A namespace that shows a running activation as a placeholder (status `running`, no end,
/// as the local namespace's activations API does for other actions) is polled on until the
/// real record arrives.
#[tokio::test]
async fn a_running_placeholder_is_not_the_builds_outcome() -> TestResult {
    let server = MockServer::start().await;
    let running = json!({
        "activationId": "r1", "namespace": "nimbella", "name": "x", "start": 1,
        "response": {"status": "running", "success": false, "result": {}}
    });
    Mock::given(method("GET"))
        .and(path("/api/v1/namespaces/_/activations/r1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(running))
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&server)
        .await;
    let outcome = json!({
        "transcript": [],
        "outcome": {"successes": [{"name": "p/a", "kind": "action", "skipped": false}],
                    "failures": [], "ignored": [], "packageVersions": {}, "actionVersions": {}}
    });
    Mock::given(method("GET"))
        .and(path("/api/v1/namespaces/_/activations/r1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(activation("r1", true, outcome)))
        .mount(&server)
        .await;
    let client = client_for(&server).await?;
    let result = client.await_build("p/a", "r1").await?;
    assert_eq!(result.outcome.successes.len(), 1);
    let polls = server.received_requests().await.unwrap_or_default().len();
    assert_eq!(polls, 4, "three placeholders, then the record");
    Ok(())
}
