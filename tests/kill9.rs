//! A deploy killed with SIGKILL half-way resumes: `.deployed/versions.json` is written as
//! packages complete (atomically), so `deploy --incremental` afterwards resends only the
//! entities the file does not record, and ends with everything on the server and a versions
//! file that matches it.

mod common;
mod deploy_support;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::ProjectTest;
use deploy_support::{AUTH, FakeWhisk, Faults, NAMESPACE};
use serde_json::Value;

const PACKAGES: usize = 20;
const PER_PACKAGE: usize = 50;

fn store(whisk: &FakeWhisk) -> String {
    serde_json::json!({
        "currentHost": whisk.uri(),
        "currentNamespace": NAMESPACE,
        "credentials": {whisk.uri(): {NAMESPACE: {"api_key": AUTH}}}
    })
    .to_string()
}

/// `(packages, actions)` recorded in the versions file (empty when there is none yet).
fn recorded(test: &ProjectTest) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let path = test.path().join(".deployed").join("versions.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Default::default();
    };
    let entries: Value = serde_json::from_str(&text).expect("versions.json is whole JSON");
    let versions = |member: &str| -> BTreeMap<String, String> {
        entries[0][member]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v["version"].as_str().unwrap_or("").to_string()))
            .collect()
    };
    (versions("packageVersions"), versions("actionVersions"))
}

#[test]
fn a_deploy_killed_half_way_resumes_with_incremental_and_resends_only_the_rest() {
    let whisk = FakeWhisk::faulty(Faults {
        latency: Duration::from_millis(15),
        ..Default::default()
    });
    let mut test = ProjectTest::empty().write_home(".nimbella/credentials.json", store(&whisk));
    for p in 0..PACKAGES {
        for f in 0..PER_PACKAGE {
            test = test.write(
                format!("packages/p{p:02}/f{f:02}.js"),
                format!("exports.main = () => ({{ body: 'p{p}/f{f}' }})\n"),
            );
        }
    }
    let total = PACKAGES * PER_PACKAGE;

    let mut child = test
        .command(["deploy", ".", "--incremental", "--deploy-jobs", "8"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sluice starts");
    // Kill it once a good part, but not all, has landed.
    let deadline = Instant::now() + Duration::from_secs(120);
    while whisk.landed_put_count() < total / 2 {
        assert!(Instant::now() < deadline, "the deploy never got half-way");
        assert!(
            child.try_wait().expect("wait").is_none(),
            "the deploy ended before it could be killed; slow the server down"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    // The server may still finish requests that were in flight; let them settle.
    std::thread::sleep(Duration::from_millis(200));

    let (packages_before, actions_before) = recorded(&test);
    assert!(
        !actions_before.is_empty() && actions_before.len() < total,
        "a partial record: {} of {total}",
        actions_before.len()
    );
    // What the file records did land, with the version the server gave.
    let on_server = whisk.versions("actions");
    for (name, version) in &actions_before {
        assert_eq!(
            on_server.get(name),
            Some(version),
            "{name} is recorded as it landed"
        );
    }

    whisk.reset_requests();
    let out = test
        .command(["deploy", ".", "--incremental"])
        .output()
        .expect("sluice runs");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let resent: Vec<String> = whisk.landed_puts();
    let resent_actions: Vec<&str> = resent
        .iter()
        .filter_map(|k| k.strip_prefix("actions/"))
        .collect();
    for name in &resent_actions {
        assert!(
            !actions_before.contains_key(*name),
            "{name} was recorded, yet resent"
        );
    }
    assert_eq!(
        resent_actions.len(),
        total - actions_before.len(),
        "exactly the unrecorded functions are resent"
    );
    for key in resent.iter().filter_map(|k| k.strip_prefix("packages/")) {
        assert!(
            !packages_before.contains_key(key),
            "package {key} was recorded, yet resent"
        );
    }

    let (_, actions_after) = recorded(&test);
    assert_eq!(actions_after.len(), total);
    assert_eq!(actions_after, whisk.versions("actions"), "converged");
}
