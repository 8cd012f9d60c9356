//! `sluice deploy` with no namespace configured: the embedded local namespace
//! (`sluice-local`) is started on 127.0.0.1 and used through the same OpenWhisk client. The
//! test then opens the same data directory and reads back what was deployed.

mod common;

use common::ProjectTest;
use serde_json::Value;
use sluice_openwhisk::{Client, TransportOptions};

fn local_filters() -> Vec<(String, String)> {
    vec![(
        r"http://127\.0\.0\.1:\d+".to_string(),
        "[LOCAL]".to_string(),
    )]
}

/// Reads an entity (`actions`, `packages`) from the local namespace of `test`.
fn local_get(test: &ProjectTest, collection: &str, name: &str) -> Value {
    let server =
        sluice_local::EmbeddedServer::start(&test.local_dir()).expect("the local server starts");
    let client = Client::new(&server.apihost, server.auth(), &TransportOptions::default())
        .expect("a client");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let value = runtime
        .block_on(client.get(client.entity_url(collection, name)))
        .unwrap_or(Value::Null);
    drop(server);
    value
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

#[test]
fn sequences_deploy_to_the_local_namespace() {
    let test = ProjectTest::fixture("sequence");
    sluice_snapshot!(filters = local_filters(), test.command(["deploy", "."]), @r"
    success: true
    exit_code: 0
    ----- stdout -----
    Deploying '[TEMP]/project'
      to the local namespace 'local' on [LOCAL]
      (to deploy to a real namespace: sluice namespace add --apihost <host> --auth <key>)
    Deployment status recorded in '[TEMP]/project/.deployed'

    Deployed functions ('sluice functions get <funcName> --url' for URL):
      - test-sequence/increment
      - test-sequence/sort
      - test-sequence/split
      - test-sequence/mySequence
      - test-sequence/incrTwice
      - test-sequence/incrThreeTimes
      - test-sequence/incrFiveTimes

    ----- stderr -----
    ");
    let seq = local_get(&test, "actions", "test-sequence/incrFiveTimes");
    assert_eq!(seq["exec"]["kind"], "sequence");
    assert_eq!(
        seq["exec"]["components"],
        serde_json::json!([
            "/local/test-sequence/incrTwice",
            "/local/test-sequence/incrThreeTimes"
        ])
    );
}

#[test]
fn split_params_and_incremental_on_the_local_namespace() {
    let test = ProjectTest::fixture("split_params");
    let out = test
        .command(["deploy", ".", "--incremental"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let package = local_get(&test, "packages", "test-split-params");
    let params = package["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let keys: Vec<(String, bool)> = params
        .iter()
        .map(|p| {
            (
                p["key"].as_str().unwrap_or_default().to_string(),
                p["init"] == true,
            )
        })
        .collect();
    assert!(keys.contains(&("p1".to_string(), false)), "{params:?}");
    assert!(keys.contains(&("e1".to_string(), true)), "{params:?}");
    assert!(keys.contains(&("e2".to_string(), true)), "{params:?}");

    sluice_snapshot!(filters = local_filters(), test.command(["deploy", ".", "--incremental"]), @r"
    success: true
    exit_code: 0
    ----- stdout -----
    Deploying '[TEMP]/project'
      to the local namespace 'local' on [LOCAL]
      (to deploy to a real namespace: sluice namespace add --apihost <host> --auth <key>)

    Skipped 1 unchanged functions

    ----- stderr -----
    ");
}

#[test]
fn triggers_and_web_annotations_on_the_local_namespace() {
    let test = ProjectTest::fixture("triggers");
    let out = test.command(["deploy", "."]).output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Deployed triggers:\n  - invoke1\n  - invoke2"),
        "{stdout}"
    );
    let hello1 = local_get(&test, "actions", "test-triggers/hello1");
    assert_eq!(annotation(&hello1, "web-export"), false);
    assert_eq!(annotation(&hello1, "final"), true);
}

#[test]
fn unweb_on_the_local_namespace() {
    let test = ProjectTest::fixture("unweb");
    for dir in ["no-config", "with-config"] {
        let out = test.command(["deploy", dir]).output().expect("runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let notify = local_get(&test, "actions", "test-unweb/notify");
    assert_eq!(annotation(&notify, "web-export"), false);
    assert_eq!(annotation(&notify, "require-whisk-auth"), "xyzzy");
}
