//! Deploys converge under heavy faults: a real HTTP controller on 127.0.0.1 answers half of
//! the entity requests with 503, 429 (with `Retry-After`), 502, or 500 on `PUT`s, and every
//! one of 200 functions still lands, the deploy exits 0 and `.deployed/versions.json` matches
//! what the server holds. Also: a failing namespace check is retried and, when it keeps
//! failing, names its request; a package that fails for good takes its functions with it.
//!
//! The waits are shortened with `SLUICE_RETRY_BASE_MS` (documented in the book), not with a
//! test-only switch.

mod common;
mod deploy_support;

use std::collections::BTreeMap;
use std::process::Output;

use common::ProjectTest;
use deploy_support::{AUTH, FakeWhisk, Faults, NAMESPACE};
use serde_json::Value;

const PACKAGES: usize = 4;
const PER_PACKAGE: usize = 50;

/// A credential store whose current namespace is the fake controller's.
fn store(whisk: &FakeWhisk) -> String {
    serde_json::json!({
        "currentHost": whisk.uri(),
        "currentNamespace": NAMESPACE,
        "credentials": {whisk.uri(): {NAMESPACE: {"api_key": AUTH}}}
    })
    .to_string()
}

/// A project of `PACKAGES` × `PER_PACKAGE` node functions, pointed at `whisk`.
fn project(whisk: &FakeWhisk) -> ProjectTest {
    let mut test = ProjectTest::empty()
        .write_home(".nimbella/credentials.json", store(whisk))
        .env("SLUICE_RETRY_BASE_MS", "2");
    for p in 0..PACKAGES {
        for f in 0..PER_PACKAGE {
            test = test.write(
                format!("packages/p{p}/f{f}.js"),
                format!(
                    "function main() {{ return {{ body: 'p{p}/f{f}' }} }}\nexports.main = main\n"
                ),
            );
        }
    }
    test
}

fn deploy(test: &ProjectTest) -> Output {
    test.command(["deploy", "."]).output().expect("sluice runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The action versions of the project's versions file.
fn recorded(test: &ProjectTest) -> BTreeMap<String, String> {
    let path = test.path().join(".deployed").join("versions.json");
    let text = std::fs::read_to_string(&path).expect("versions.json was written");
    let entries: Value = serde_json::from_str(&text).expect("versions.json is JSON");
    entries[0]["actionVersions"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v["version"].as_str().unwrap_or("").to_string()))
        .collect()
}

fn every_function_lands(faults: Faults) {
    let whisk = FakeWhisk::faulty(faults.clone());
    let test = project(&whisk);
    let out = deploy(&test);
    let all = text(&out);
    assert!(out.status.success(), "{faults:?}: {all}");
    let on_server = whisk.versions("actions");
    assert_eq!(on_server.len(), PACKAGES * PER_PACKAGE, "{faults:?}: {all}");
    assert_eq!(
        recorded(&test),
        on_server,
        "the versions file matches the server"
    );
    assert!(!all.contains("Error:"), "{all}");
}

#[test]
fn half_of_the_requests_answered_503_still_land_everything() {
    every_function_lands(Faults::share(503, 50));
}

#[test]
fn half_of_the_requests_answered_429_with_retry_after_still_land_everything() {
    every_function_lands(Faults {
        retry_after: Some(0),
        ..Faults::share(429, 50)
    });
}

#[test]
fn half_of_the_requests_answered_502_still_land_everything() {
    every_function_lands(Faults::share(502, 50));
}

#[test]
fn half_of_the_puts_answered_500_still_land_everything() {
    every_function_lands(Faults {
        only_puts: true,
        ..Faults::share(500, 50)
    });
}

#[test]
fn a_namespace_check_that_fails_twice_is_retried() {
    let whisk = FakeWhisk::faulty(Faults {
        namespace_failures: 2,
        ..Default::default()
    });
    let test = project(&whisk);
    let out = deploy(&test);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(whisk.versions("actions").len(), PACKAGES * PER_PACKAGE);
}

#[test]
fn a_namespace_check_that_keeps_failing_names_its_request() {
    let whisk = FakeWhisk::faulty(Faults {
        namespace_failures: usize::MAX,
        ..Default::default()
    });
    let test = project(&whisk).env("SLUICE_RETRY_BUDGET_SECS", "1");
    let out = deploy(&test);
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(
        all.contains("the namespace check (GET ") && all.contains("/api/v1/namespaces"),
        "{all}"
    );
    assert!(whisk.versions("actions").is_empty());
}

#[test]
fn functions_of_a_failed_package_are_not_deployed_and_nothing_is_announced() {
    // Every PUT is refused for good (400): the packages fail, so their functions are not
    // sent at all, and no "Deployment status recorded" is printed for a deploy that did
    // nothing.
    let whisk = FakeWhisk::faulty(Faults {
        only_puts: true,
        ..Faults::share(400, 100)
    });
    let test = project(&whisk);
    let out = deploy(&test);
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("not deployed: package p0 failed"), "{all}");
    assert!(!all.contains("Deployment status recorded"), "{all}");
    let action_puts = whisk
        .requests()
        .iter()
        .filter(|r| r.method.as_str() == "PUT" && r.url.path().contains("/actions/"))
        .count();
    assert_eq!(action_puts, 0, "no function of a failed package is sent");
}
