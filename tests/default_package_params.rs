//! Top-level `parameters` and `environment` with functions in the default package: the
//! original failed the deploy ("The default package does not support attaching…"); sluice
//! puts them on the default package's functions themselves (a departure listed in the book).
//! Deployed to the embedded local namespace and read back from it.

mod common;

use common::ProjectTest;
use sluice_openwhisk::{Client, TransportOptions};

#[test]
fn top_level_values_reach_default_package_functions() {
    let test = ProjectTest::empty()
        .write(
            "project.yml",
            "parameters:\n  region: nyc1\nenvironment:\n  MODE: prod\n",
        )
        .write(
            "packages/default/hello.js",
            "function main(args) { return { body: args.region + ' ' + process.env.MODE } }\nexports.main = main\n",
        );
    let out = test.command(["deploy", "."]).output().expect("sluice runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let server =
        sluice_local::EmbeddedServer::start(&test.local_dir()).expect("the local server starts");
    let client = Client::new(&server.apihost, server.auth(), &TransportOptions::default())
        .expect("a client");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let action = runtime
        .block_on(client.get(client.entity_url("actions", "hello")))
        .expect("hello is deployed");
    drop(server);
    let params = action["parameters"].as_array().cloned().unwrap_or_default();
    let region = params.iter().find(|p| p["key"] == "region");
    let mode = params.iter().find(|p| p["key"] == "MODE");
    assert_eq!(region.map(|p| p["value"].clone()), Some("nyc1".into()));
    assert_eq!(mode.map(|p| p["value"].clone()), Some("prod".into()));
    assert_eq!(mode.map(|p| p["init"].clone()), Some(true.into()));
}
