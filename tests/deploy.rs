//! `sluice deploy` against a fake OpenWhisk controller on 127.0.0.1: every deploying e2e case
//! of the spec (§15), with snapshots of the output and of the request bodies, plus
//! incremental deploys, injected faults and `--json`.

mod common;
mod deploy_support;

use std::process::Command;

use common::ProjectTest;
use deploy_support::{AUTH, FakeWhisk};
use serde_json::Value;

/// A fixture whose credential store (`NIMBELLA_DIR`, the original's format) points at the
/// fake controller, so commands need no `--apihost`/`--auth` (and snapshots hold no port).
fn fixture(name: &str, whisk: &FakeWhisk) -> ProjectTest {
    ProjectTest::fixture(name).write_home(".nimbella/credentials.json", store(whisk))
}

/// A credential store with the fake controller's namespace as the current one.
fn store(whisk: &FakeWhisk) -> String {
    serde_json::json!({
        "currentHost": whisk.uri(),
        "currentNamespace": deploy_support::NAMESPACE,
        "credentials": {whisk.uri(): {deploy_support::NAMESPACE: {"api_key": AUTH}}}
    })
    .to_string()
}

/// A deploy of `project` (relative to the test's project directory).
fn deploy(test: &ProjectTest, project: &str, extra: &[&str]) -> Command {
    let mut args = vec!["deploy", project];
    args.extend_from_slice(extra);
    test.command(args)
}

/// Filters for the server's address, on top of the shared ones.
fn server_filters(whisk: &FakeWhisk) -> Vec<(String, String)> {
    vec![(regex::escape(&whisk.uri()), "[SERVER]".to_string())]
}

/// The recorded entity requests, redacted.
fn requests(whisk: &FakeWhisk) -> String {
    common::redact(&whisk.entity_requests_json(), &server_filters(whisk))
}

fn kind_of(whisk: &FakeWhisk, action: &str) -> Option<String> {
    whisk
        .entity(&format!("actions/{action}"))
        .and_then(|a| a["exec"]["kind"].as_str().map(str::to_string))
}

fn annotation(whisk: &FakeWhisk, action: &str, key: &str) -> Value {
    let entity = whisk
        .entity(&format!("actions/{action}"))
        .unwrap_or(Value::Null);
    entity["annotations"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["key"] == key)
        .map(|a| a["value"].clone())
        .unwrap_or(Value::Null)
}

#[test]
fn environ_uses_the_project_dotenv() {
    let whisk = FakeWhisk::start();
    let test = fixture("environ", &whisk).env_remove("RUNTIME");
    sluice_snapshot!(
        filters = server_filters(&whisk),
        "environ",
        deploy(&test, ".", &[])
    );
    insta::assert_snapshot!("environ_requests", requests(&whisk));
    assert_eq!(
        kind_of(&whisk, "test_environ/variable").as_deref(),
        Some("nodejs:14")
    );
}

#[test]
fn environ_env_file_and_process_environment() {
    let whisk = FakeWhisk::start();
    let test = fixture("environ", &whisk).env_remove("RUNTIME");
    let out = deploy(&test, ".", &["--env", "test.env"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        kind_of(&whisk, "test_environ/variable").as_deref(),
        Some("nodejs-lambda:14")
    );

    let test = test.env("RUNTIME", "python:3.9");
    let out = deploy(&test, ".", &[]).output().expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        kind_of(&whisk, "test_environ/variable").as_deref(),
        Some("python:3.9")
    );
}

#[test]
fn errors_resource_clash_reports_both_entities_and_fails() {
    let whisk = FakeWhisk::start();
    let test = fixture("deploy/errors", &whisk);
    let out = deploy(&test, "existing-project", &[])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    whisk.reset_requests();
    sluice_snapshot!(
        filters = server_filters(&whisk),
        "errors_resource_clash",
        deploy(&test, "resource-clash-error", &[])
    );
    insta::assert_snapshot!("errors_resource_clash_requests", requests(&whisk));
}

#[test]
fn errors_misspelled_config_names_the_function() {
    let whisk = FakeWhisk::start();
    let test = fixture("errors", &whisk);
    sluice_snapshot!(
        filters = server_filters(&whisk),
        "errors_misspelled_config",
        deploy(&test, "misspelled-config", &[])
    );
}

#[test]
fn multi_line_environment_is_one_init_parameter() {
    let whisk = FakeWhisk::start();
    let test = fixture("multi_line", &whisk).env_remove("MULTI");
    sluice_snapshot!(
        filters = server_filters(&whisk),
        "multi_line",
        deploy(&test, ".", &[])
    );
    insta::assert_snapshot!("multi_line_requests", requests(&whisk));
}

#[test]
fn multi_substitute_sends_parameters_and_environment() {
    let whisk = FakeWhisk::start();
    let test = fixture("multi_substitute", &whisk)
        .env("A", "this is A")
        .env("B", "this is B")
        .env("C", "this is C");
    sluice_snapshot!(
        filters = server_filters(&whisk),
        "multi_substitute",
        deploy(&test, ".", &[])
    );
    insta::assert_snapshot!("multi_substitute_requests", requests(&whisk));
}

#[test]
fn package_binding_is_deployed_as_a_binding() {
    let whisk = FakeWhisk::start();
    let test = fixture("package-binding", &whisk);
    sluice_snapshot!(
        filters = server_filters(&whisk),
        "package_binding",
        deploy(&test, ".", &[])
    );
    insta::assert_snapshot!("package_binding_requests", requests(&whisk));
}

#[test]
fn package_binding_with_functions_fails() {
    let whisk = FakeWhisk::start();
    let test = fixture("package-binding", &whisk).write(
        "packages/test-package-binding/ringer.js",
        "function main() { return {} }\n",
    );
    sluice_snapshot!(
        filters = server_filters(&whisk),
        "package_binding_with_functions",
        deploy(&test, ".", &[])
    );
    assert!(whisk.entity("packages/test-package-binding").is_none());
}

#[test]
fn sequences_are_qualified_and_deployed_after_their_components() {
    let whisk = FakeWhisk::start();
    let test = fixture("sequence", &whisk);
    sluice_snapshot!(
        filters = server_filters(&whisk),
        "sequence",
        deploy(&test, ".", &[])
    );
    insta::assert_snapshot!("sequence_requests", requests(&whisk));
    let order: Vec<String> = whisk
        .request_lines()
        .into_iter()
        .filter(|l| l.starts_with("PUT /api/v1/namespaces/_/actions/"))
        .map(|l| {
            l.trim_start_matches("PUT /api/v1/namespaces/_/actions/")
                .to_string()
        })
        .collect();
    let position = |name: &str| order.iter().position(|n| n == name).expect("deployed");
    for code in [
        "test-sequence/split",
        "test-sequence/sort",
        "test-sequence/increment",
    ] {
        assert!(
            position(code) < position("test-sequence/incrTwice"),
            "{order:?}"
        );
    }
    assert!(position("test-sequence/incrTwice") < position("test-sequence/incrFiveTimes"));
    assert!(position("test-sequence/incrThreeTimes") < position("test-sequence/incrFiveTimes"));
}

#[test]
fn sequence_cycles_fail_all_sequences() {
    let whisk = FakeWhisk::start();
    let test = fixture("deploy/sequence-cycle", &whisk);
    sluice_snapshot!(
        filters = server_filters(&whisk),
        "sequence_cycle",
        deploy(&test, ".", &[])
    );
    assert!(whisk.entity("actions/cyc/step").is_some());
    assert!(whisk.entity("actions/cyc/first").is_none());
}

#[test]
fn split_params_put_top_level_values_on_the_package() {
    let whisk = FakeWhisk::start();
    let test = fixture("split_params", &whisk);
    sluice_snapshot!(
        filters = server_filters(&whisk),
        "split_params",
        deploy(&test, ".", &[])
    );
    insta::assert_snapshot!("split_params_requests", requests(&whisk));
}

#[test]
fn triggers_go_to_the_triggers_api_with_a_token() {
    let whisk = FakeWhisk::start();
    let test = fixture("triggers", &whisk)
        .env("SLUICE_DO_API_URL", whisk.uri())
        .env("DO_API_TOKEN", "do-token");
    sluice_snapshot!(
        filters = server_filters(&whisk),
        "triggers",
        deploy(&test, ".", &[])
    );
    insta::assert_snapshot!("triggers_requests", requests(&whisk));
    let invoke2 = whisk.trigger("invoke2").expect("created");
    assert_eq!(invoke2["is_enabled"], false);
    assert_eq!(invoke2["function"], "test-triggers/hello2");
}

#[test]
fn triggers_are_skipped_without_a_token() {
    let whisk = FakeWhisk::start();
    let test = fixture("triggers", &whisk).env("SLUICE_DO_API_URL", whisk.uri());
    sluice_snapshot!(
        filters = server_filters(&whisk),
        "triggers_without_token",
        deploy(&test, ".", &[])
    );
    assert!(whisk.trigger("invoke1").is_none());
}

#[test]
fn unweb_turns_web_off_and_sets_the_secret() {
    let whisk = FakeWhisk::start();
    let test = fixture("unweb", &whisk);
    let out = deploy(&test, "no-config", &[]).output().expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(annotation(&whisk, "test-unweb/notify", "web-export"), true);
    assert_eq!(
        annotation(&whisk, "test-unweb/notify", "require-whisk-auth"),
        false
    );
    whisk.reset_requests();
    sluice_snapshot!(
        filters = server_filters(&whisk),
        "unweb_with_config",
        deploy(&test, "with-config", &[])
    );
    insta::assert_snapshot!("unweb_with_config_requests", requests(&whisk));
    assert_eq!(annotation(&whisk, "test-unweb/notify", "web-export"), false);
    assert_eq!(
        annotation(&whisk, "test-unweb/notify", "require-whisk-auth"),
        "xyzzy"
    );
}

#[test]
fn yaml_alias_merges_repeated_functions() {
    let whisk = FakeWhisk::start();
    let test = fixture("yaml_alias", &whisk);
    sluice_snapshot!(
        filters = server_filters(&whisk),
        "yaml_alias",
        deploy(&test, ".", &[])
    );
    insta::assert_snapshot!("yaml_alias_requests", requests(&whisk));
    assert_eq!(
        annotation(&whisk, "test-yaml-alias/gateway", "require-whisk-auth"),
        false
    );
    assert_eq!(
        annotation(&whisk, "test-yaml-alias/cli-gateway", "require-whisk-auth"),
        "xyzzy"
    );
}

#[test]
fn include_exclude_deploys_only_the_selection() {
    let whisk = FakeWhisk::start();
    let test = fixture("include_exclude", &whisk);
    sluice_snapshot!(
        filters = server_filters(&whisk),
        "include_exclude_exclude_package",
        deploy(&test, ".", &["--exclude", "test-ie-admin"])
    );
    sluice_snapshot!(
        filters = server_filters(&whisk),
        "include_exclude_include_one",
        deploy(&test, ".", &["--include", "test-ie-printer/notify"])
    );
    sluice_snapshot!(
        filters = server_filters(&whisk),
        "include_exclude_mixed",
        deploy(
            &test,
            ".",
            &[
                "--include",
                "test-ie-admin/,test-ie-printer",
                "--exclude",
                "test-ie-printer/notify,test-ie-printer/update"
            ]
        )
    );
    // Filtered deploys merge their versions with the earlier ones.
    let versions =
        std::fs::read_to_string(test.path().join(".deployed/versions.json")).expect("written");
    let versions: Value = serde_json::from_str(&versions).expect("json");
    let actions = versions[0]["actionVersions"].as_object().expect("map");
    assert_eq!(actions.len(), 6, "{actions:?}");
}

#[test]
fn use_lib_builds_lib_first_then_deploys_the_included_file() {
    let whisk = FakeWhisk::start();
    let test = fixture("use-lib", &whisk);
    sluice_snapshot!(
        filters = server_filters(&whisk),
        "use_lib",
        deploy(&test, ".", &[])
    );
    insta::assert_snapshot!("use_lib_requests", requests(&whisk));
}

#[test]
fn incremental_second_run_only_reads_each_package() {
    let whisk = FakeWhisk::start();
    let test = fixture("include_exclude", &whisk);
    let out = deploy(&test, ".", &["--incremental"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    whisk.reset_requests();
    sluice_snapshot!(
        filters = server_filters(&whisk),
        "incremental_second_run",
        deploy(&test, ".", &["--incremental"])
    );
    // No PUT: one GET per package confirms that the namespace holds what was recorded.
    insta::assert_snapshot!("incremental_second_run_requests", requests(&whisk));
}

#[test]
fn deploy_completes_when_a_third_of_requests_fail_with_503() {
    let whisk = FakeWhisk::with_faults(3);
    let test = fixture("include_exclude", &whisk);
    let out = deploy(&test, ".", &[]).output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in [
        "test-ie-admin/flush",
        "test-ie-printer/create",
        "test-ie-printer/notify",
    ] {
        assert!(
            whisk.entity(&format!("actions/{name}")).is_some(),
            "{name}: {stdout}"
        );
    }
    let injected = whisk
        .requests()
        .iter()
        .filter(|r| r.url.path().starts_with("/api/v1/namespaces/_/"))
        .count();
    assert!(
        injected >= 9,
        "retries happened: {injected} entity requests"
    );
}

#[test]
fn json_always_prints_transcript_and_outcome() {
    let whisk = FakeWhisk::start();
    let test = fixture("deploy/errors", &whisk);
    let out = deploy(&test, "existing-project", &[])
        .output()
        .expect("runs");
    assert!(out.status.success());
    sluice_snapshot!(
        filters = server_filters(&whisk),
        "json_failures",
        deploy(&test, "resource-clash-error", &["--json"])
    );
    // A prepare failure (bad key) still gives the document.
    sluice_snapshot!(
        filters = server_filters(&whisk),
        "json_bad_auth",
        test.command(["deploy", "existing-project", "--json", "--auth", "u:wrong"])
    );
}

#[test]
fn runtime_table_falls_back_to_the_built_in_one_with_a_warning() {
    let whisk = FakeWhisk::without_runtimes();
    let test = fixture("split_params", &whisk);
    sluice_snapshot!(
        filters = server_filters(&whisk),
        "runtimes_fallback",
        deploy(&test, ".", &["--json"])
    );
}
