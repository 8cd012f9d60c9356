//! Python functions with dependencies, end to end: `requirements.txt` installed by the python
//! builder (real pip, against PyPI), deployed to the embedded local namespace and invoked
//! there with the host's python3, which must see the pinned package and nothing of its own
//! site-packages. six 1.16.0 is pinned because the host has another six; jinja2 is on the host
//! and listed nowhere.

mod common;

use common::ProjectTest;
use serde_json::{Value, json};

/// The local server's address and the host python's version (in the virtualenv's path).
fn local_filters() -> Vec<(String, String)> {
    vec![
        (
            r"http://127\.0\.0\.1:\d+".to_string(),
            "[LOCAL]".to_string(),
        ),
        (r"/python3\.\d+/".to_string(), "/python3.[X]/".to_string()),
    ]
}

/// `sluice invoke <args…>`: its exit success and its stdout as JSON.
fn invoke(test: &ProjectTest, args: &[&str]) -> (bool, Value) {
    let out = test
        .command(["invoke"].iter().chain(args))
        .output()
        .expect("run sluice");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "invoke printed no JSON ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), value)
}

#[test]
fn pinned_requirements_run_locally_and_host_packages_do_not() {
    let test = ProjectTest::fixture("python-deps");
    sluice_snapshot!(filters = local_filters(), test.command(["deploy", "."]), @r"
    success: true
    exit_code: 0
    ----- stdout -----
    Deploying '[TEMP]/project'
      to the local namespace 'local' on [LOCAL]
      (to deploy to a real namespace: sluice namespace add --apihost <host> --auth <key>)
    Started running python3 -m pip install -r requirements.txt --target virtualenv/lib/python3.[X]/site-packages in [TEMP]/project/packages/py/pinned
    Finished running python3 -m pip install -r requirements.txt --target virtualenv/lib/python3.[X]/site-packages in [TEMP]/project/packages/py/pinned
    Deployment status recorded in '[TEMP]/project/.deployed'

    Deployed functions ('sluice functions get <funcName> --url' for URL):
      - py/hostonly
      - py/pinned

    ----- stderr -----
    ");
    let zip = test.path().join("packages/py/pinned/__deployer__.zip");
    assert!(
        zip.is_file(),
        "the pinned function is zipped with its virtualenv"
    );

    let (ok, result) = invoke(&test, &["py/pinned"]);
    assert!(ok, "{result}");
    assert_eq!(result, json!({"six": "1.16.0"}));

    let (ok, result) = invoke(&test, &["py/hostonly"]);
    assert!(!ok, "{result}");
    assert_eq!(
        result,
        json!({"error": "Initialization has failed due to: No module named 'jinja2'"})
    );
}

/// get-metadata records the build kind the original deployer records for such a function
/// (`identify`: for it, `requirements.txt` is just another file); only sluice's build does
/// more.
#[test]
fn get_metadata_records_the_originals_build_kind() {
    let test = ProjectTest::fixture("python-deps");
    let out = test
        .command(["get-metadata", "."])
        .output()
        .expect("run sluice");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let builds: Vec<(Value, Value)> = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["functions"].as_array().cloned().unwrap_or_default())
        .map(|a| (a["name"].clone(), a["build"].clone()))
        .collect();
    assert_eq!(
        builds,
        [
            (json!("hostonly"), Value::Null),
            (json!("pinned"), json!("identify"))
        ]
    );
}
