//! `sluice plan`, verified `--incremental`, `--prune` and `--plan FILE` (issue 15), against the
//! embedded local namespace (a real server in a temp data dir) and against the recording fake
//! controller on loopback (for request counts).

mod common;
mod deploy_support;

use std::process::{Command, Output, Stdio};

use common::ProjectTest;
use deploy_support::{AUTH, FakeWhisk};
use serde_json::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn function(name: &str, body: &str) -> (String, String) {
    (
        format!("packages/{name}/index.js"),
        format!("exports.main = () => ({{ body: '{body}' }});\n"),
    )
}

/// A project with `pkg/<name>` functions.
fn project(functions: &[(&str, &str)]) -> ProjectTest {
    functions
        .iter()
        .fold(ProjectTest::empty(), |test, (name, body)| {
            let (path, text) = function(name, body);
            test.write(path, text)
        })
}

fn run(test: &ProjectTest, args: &[&str]) -> Result<Output, std::io::Error> {
    test.command(args).stdin(Stdio::null()).output()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn transcript(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The transcript with miette's wrapped error lines joined again.
fn unwrapped(out: &Output) -> String {
    transcript(out).replace("\n  │ ", " ")
}

fn deployed(test: &ProjectTest, args: &[&str]) -> Result<String, Box<dyn std::error::Error>> {
    let out = run(test, args)?;
    assert!(out.status.success(), "{}", transcript(&out));
    Ok(stdout(&out))
}

/// The plan document of `sluice plan <args> -o json`.
fn plan_json(test: &ProjectTest, extra: &[&str]) -> Result<Value, Box<dyn std::error::Error>> {
    let mut args = vec!["plan", ".", "-o", "json"];
    args.extend_from_slice(extra);
    let out = run(test, &args)?;
    assert!(out.status.success(), "{}", transcript(&out));
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// `name → change` of a plan document.
fn changes(plan: &Value) -> Vec<(String, String)> {
    plan["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                format!(
                    "{} {}",
                    c["entity"].as_str().unwrap_or(""),
                    c["name"].as_str().unwrap_or("")
                ),
                c["change"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// PUTs an action straight through the local namespace's API (as a console edit would),
/// with node's own `fetch`.
fn edit_through_the_api(test: &ProjectTest, action: &str, code: &str) -> TestResult {
    let dir = test.local_dir();
    let port = std::fs::read_to_string(dir.join("daemon.port"))?;
    let key = std::fs::read_to_string(dir.join("local.auth"))?;
    let script = format!(
        "fetch('http://127.0.0.1:{}/api/v1/namespaces/_/actions/{action}?overwrite=true', {{
           method: 'PUT',
           headers: {{ authorization: 'Basic ' + Buffer.from({key:?}).toString('base64'),
                      'content-type': 'application/json' }},
           body: JSON.stringify({{ exec: {{ kind: 'nodejs:18', code: {code:?} }} }}),
         }}).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(2));",
        port.trim(),
        key = key.trim(),
    );
    let status = Command::new("node").arg("-e").arg(script).status()?;
    assert!(status.success(), "the direct PUT of {action} failed");
    Ok(())
}

#[test]
fn a_plan_names_each_create_update_delete_and_unchanged_exactly() -> TestResult {
    let test = project(&[("p/a", "a1"), ("p/b", "b1"), ("p/c", "c1"), ("p/d", "d1")]);
    deployed(&test, &["deploy", "."])?;
    // One update, one create, one delete candidate, the rest unchanged.
    let (path, text) = function("p/a", "a2");
    let test = test.write(path, text).remove("packages/p/d");
    let (path, text) = function("p/e", "e1");
    let test = test.write(path, text);

    let plan = plan_json(&test, &["--prune"])?;
    assert_eq!(
        changes(&plan),
        vec![
            ("package p".to_string(), "update".to_string()),
            ("function p/a".to_string(), "update".to_string()),
            ("function p/b".to_string(), "unchanged".to_string()),
            ("function p/c".to_string(), "unchanged".to_string()),
            ("function p/d".to_string(), "delete".to_string()),
            ("function p/e".to_string(), "create".to_string()),
        ]
    );
    insta::assert_json_snapshot!("plan_document", plan, {
        ".changes[].digest" => "[DIGEST]",
        ".changes[].reasons[].from" => "[HASH]",
        ".changes[].reasons[].to" => "[HASH]",
        ".apihost" => "[APIHOST]",
        ".projectDigest" => "[DIGEST]",
        ".serverDigest" => "[DIGEST]",
    });

    // Without --prune nothing is a delete; the text form says the same.
    let out = run(&test, &["plan", ".", "--detailed-exitcode"])?;
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
    let text = stdout(&out);
    assert!(text.contains("~ update"), "{text}");
    assert!(text.contains("p/a"), "{text}");
    assert!(text.contains("(code "), "{text}");
    assert!(text.contains("+ create"), "{text}");
    assert!(!text.contains("delete "), "{text}");
    assert!(
        text.contains(
            "1 to create, 2 to update, 0 changed outside sluice, 0 to delete, 2 unchanged."
        ),
        "{text}"
    );

    deployed(&test, &["deploy", ".", "--prune", "--yes"])?;
    let out = run(&test, &["plan", ".", "--prune", "--detailed-exitcode"])?;
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    assert!(stdout(&out).contains("No changes"), "{}", stdout(&out));
    Ok(())
}

#[test]
fn parameter_values_never_appear_in_a_plan() -> TestResult {
    let test = project(&[("p/a", "a1")]).write(
        "project.yml",
        "packages:\n  - name: p\n    functions:\n      - name: a\n        parameters:\n          TOKEN: first-secret-value\n          KEEP: same\n",
    );
    deployed(&test, &["deploy", "."])?;
    let test = test.write(
        "project.yml",
        "packages:\n  - name: p\n    functions:\n      - name: a\n        parameters:\n          TOKEN: second-secret-value\n          NEW: added-value\n",
    );
    let out = run(&test, &["plan", "."])?;
    let text = transcript(&out);
    assert!(text.contains("parameters +NEW ~TOKEN -KEEP"), "{text}");
    for secret in [
        "first-secret-value",
        "second-secret-value",
        "added-value",
        "same",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    let json = serde_json::to_string(&plan_json(&test, &[])?)?;
    assert!(!json.contains("secret-value"), "{json}");
    Ok(())
}

#[test]
fn a_change_made_outside_sluice_is_shown_and_redeployed_by_a_verified_incremental() -> TestResult {
    let test = project(&[("p/a", "a1"), ("p/b", "b1"), ("p/c", "c1")]);
    deployed(&test, &["deploy", "."])?;
    edit_through_the_api(&test, "p/b", "exports.main = () => ({ body: 'console' })")?;

    let plan = plan_json(&test, &[])?;
    assert_eq!(
        changes(&plan),
        vec![
            ("package p".to_string(), "unchanged".to_string()),
            ("function p/a".to_string(), "unchanged".to_string()),
            (
                "function p/b".to_string(),
                "changed-outside-sluice".to_string()
            ),
            ("function p/c".to_string(), "unchanged".to_string()),
        ]
    );
    let text = deployed(&test, &["deploy", ".", "--incremental"])?;
    assert!(text.contains("  - p/b"), "{text}");
    assert!(text.contains("Skipped 2 unchanged functions"), "{text}");
    let result = deployed(&test, &["invoke", "p/b"])?;
    assert!(
        result.contains("b1"),
        "the project's code is back: {result}"
    );

    // --trust-local keeps the original's way: the versions file alone decides.
    edit_through_the_api(
        &test,
        "p/b",
        "exports.main = () => ({ body: 'console again' })",
    )?;
    let text = deployed(&test, &["deploy", ".", "--incremental", "--trust-local"])?;
    assert!(text.contains("Skipped 3 unchanged functions"), "{text}");
    Ok(())
}

#[test]
fn prune_deletes_only_what_this_project_deployed() -> TestResult {
    let mine = project(&[("shared/a1", "a1"), ("shared/a2", "a2"), ("mine/x", "x")]);
    // Another project in the same namespace (the same local data dir).
    let theirs_dir = mine.temp().join("theirs");
    for (name, body) in [("shared/b1", "b1"), ("other/y", "y")] {
        let (path, text) = function(name, body);
        let path = theirs_dir.join(path);
        std::fs::create_dir_all(path.parent().ok_or("no parent")?)?;
        std::fs::write(path, text)?;
    }
    deployed(&mine, &["deploy", "."])?;
    let theirs = theirs_dir.to_string_lossy().into_owned();
    deployed(&mine, &["deploy", &theirs])?;

    let mine = mine.remove("packages/shared/a2").remove("packages/mine");
    let out = run(&mine, &["deploy", ".", "--prune"])?;
    assert!(!out.status.success(), "deletes off a terminal need --yes");
    assert!(transcript(&out).contains("--yes"), "{}", transcript(&out));

    let text = deployed(&mine, &["deploy", ".", "--prune", "-y"])?;
    assert!(text.contains("Deleted (--prune):"), "{text}");
    let listed = deployed(&mine, &["functions", "list"])?;
    for kept in ["shared/a1", "shared/b1", "other/y"] {
        assert!(listed.contains(kept), "{kept} must stay: {listed}");
    }
    for gone in ["shared/a2", "mine/x"] {
        assert!(!listed.contains(gone), "{gone} must be deleted: {listed}");
    }
    Ok(())
}

#[test]
fn a_saved_plan_is_applied_exactly_and_refused_once_stale() -> TestResult {
    let test = project(&[("p/a", "a1"), ("p/b", "b1")]);
    deployed(&test, &["deploy", "."])?;
    let (path, text) = function("p/a", "a2");
    let test = test.write(path, text).remove("packages/p/b");
    deployed(&test, &["plan", ".", "--prune", "--out", "plan.json"])?;
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(test.path().join("plan.json"))?)?;
    assert_eq!(saved["prune"], true);

    // The project moves on after the plan was made: refused, nothing sent.
    let (path, text) = function("p/a", "a3");
    let test = test.write(path, text);
    let out = run(&test, &["deploy", ".", "--plan", "plan.json"])?;
    assert!(!out.status.success());
    assert!(
        unwrapped(&out).contains("the project changed since it was made: function p/a"),
        "{}",
        transcript(&out)
    );
    assert!(deployed(&test, &["invoke", "p/a"])?.contains("a1"));

    // A fresh plan is applied as made, its delete included, without asking again.
    deployed(&test, &["plan", ".", "--prune", "--out", "plan.json"])?;
    let text = deployed(&test, &["deploy", ".", "--plan", "plan.json"])?;
    assert!(text.contains("  - p/a"), "{text}");
    assert!(text.contains("Deleted (--prune):"), "{text}");
    assert!(deployed(&test, &["invoke", "p/a"])?.contains("a3"));

    let broken = test.write("broken.json", "{ not a plan");
    let out = run(&broken, &["deploy", ".", "--plan", "broken.json"])?;
    assert!(!out.status.success());
    assert!(
        transcript(&out).contains("'broken.json' is not a plan made by 'sluice plan --out'"),
        "{}",
        transcript(&out)
    );
    Ok(())
}

#[test]
fn a_plan_after_hook_vetoes_the_deploy() -> TestResult {
    let test = project(&[("p/a", "a1"), ("p/b", "b1")])
        .write("project.yml", "hooks:\n  - hooks/policy.lua\n")
        .write(
            "hooks/policy.lua",
            "local sluice = require(\"sluice\")\n\
             sluice.on(\"plan:after\", function(plan, target)\n\
               if plan.counts.delete > 0 then sluice.fail(\"no deletes in \" .. target.namespace) end\n\
             end)\n",
        );
    deployed(&test, &["deploy", "."])?;
    let test = test.remove("packages/p/b");
    let out = run(&test, &["deploy", ".", "--prune", "--yes"])?;
    assert!(!out.status.success());
    assert!(
        transcript(&out).contains("no deletes in local"),
        "{}",
        transcript(&out)
    );
    let listed = deployed(&test, &["functions", "list"])?;
    assert!(listed.contains("p/b"), "vetoed: nothing deleted: {listed}");
    Ok(())
}

/// The other policy of the issue, "no function over 256 MB": a created or updated function's
/// entry carries its limits and kind as the deploy sends them.
#[test]
fn a_plan_after_hook_sees_the_limits_of_what_changes() -> TestResult {
    let project_yml = |memory: u32| {
        format!(
            "hooks:\n  - hooks/policy.lua\npackages:\n  - name: p\n    functions:\n      - name: a\n        runtime: nodejs:default\n        limits:\n          memory: {memory}\n"
        )
    };
    let test = project(&[("p/a", "a1")])
        .write("project.yml", project_yml(256))
        .write(
            "hooks/policy.lua",
            "local sluice = require(\"sluice\")\n\
             sluice.on(\"plan:after\", function(plan, target)\n\
               for _, c in ipairs(plan.changes) do\n\
                 if c.limits and c.limits.memory and c.limits.memory > 256 then\n\
                   sluice.fail(c.name .. \" asks for \" .. c.limits.memory .. \" MB (\" .. c.kind .. \"): at most 256\")\n\
                 end\n\
               end\n\
             end)\n",
        );
    deployed(&test, &["deploy", "."])?;
    let test = test.write("project.yml", project_yml(512));
    let out = run(&test, &["deploy", "."])?;
    assert!(!out.status.success());
    assert!(
        transcript(&out).contains("p/a asks for 512 MB"),
        "{}",
        transcript(&out)
    );
    let plan = run(&test, &["plan", ".", "-o", "json"])?;
    assert!(!plan.status.success(), "the hook vetoes the plan too");
    assert!(
        unwrapped(&plan).contains("p/a asks for 512 MB"),
        "{}",
        transcript(&plan)
    );
    Ok(())
}

/// A credential store pointing at the fake controller.
fn at_fake(test: ProjectTest, whisk: &FakeWhisk) -> ProjectTest {
    let store = serde_json::json!({
        "currentHost": whisk.uri(),
        "currentNamespace": deploy_support::NAMESPACE,
        "credentials": {whisk.uri(): {deploy_support::NAMESPACE: {"api_key": AUTH}}}
    });
    test.write_home(".nimbella/credentials.json", store.to_string())
}

#[test]
fn a_no_op_verified_incremental_deploy_reads_one_record_per_package() -> TestResult {
    let whisk = FakeWhisk::start();
    let names: Vec<String> = (0..10)
        .flat_map(|p| (0..5).map(move |f| format!("p{p}/f{f}")))
        .collect();
    let functions: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "x")).collect();
    let test = at_fake(project(&functions), &whisk);
    deployed(&test, &["deploy", "."])?;
    whisk.reset_requests();
    let text = deployed(&test, &["deploy", ".", "--incremental"])?;
    assert!(text.contains("Skipped 50 unchanged functions"), "{text}");
    let mut lines = whisk.request_lines();
    lines.sort();
    // The runtime table is the one the first deploy cached: the namespace check and one read
    // per package are all.
    let mut expected = vec!["GET /api/v1/namespaces".to_string()];
    expected.extend((0..10).map(|p| format!("GET /api/v1/namespaces/_/packages/p{p}")));
    expected.sort();
    assert_eq!(lines, expected);
    Ok(())
}

#[test]
fn a_cached_runtime_table_is_refreshed_when_the_project_needs_a_newer_runtime() -> TestResult {
    let whisk = FakeWhisk::start();
    let test = at_fake(project(&[("p/a", "a1")]), &whisk);
    deployed(&test, &["deploy", "."])?;
    // The cache holds the table the namespace had then; make it one without nodejs:18.
    let dir = test.sluice_home().join("cache/runtimes");
    let file = std::fs::read_dir(&dir)?
        .next()
        .ok_or("no cached runtime table")??
        .path();
    let mut entry: Value = serde_json::from_str(&std::fs::read_to_string(&file)?)?;
    entry["table"]["families"]["nodejs"] =
        serde_json::json!([{"kind": "nodejs:14", "default": true}]);
    std::fs::write(&file, entry.to_string())?;

    let test = test.write(
        "project.yml",
        "packages:\n  - name: p\n    functions:\n      - name: a\n        runtime: nodejs:18\n",
    );
    whisk.reset_requests();
    deployed(&test, &["deploy", "."])?;
    let info_reads = whisk
        .request_lines()
        .iter()
        .filter(|l| *l == "GET /api/v1")
        .count();
    assert_eq!(info_reads, 1, "the stale table was replaced once");
    assert_eq!(
        whisk
            .entity("actions/p/a")
            .map(|a| a["exec"]["kind"].clone()),
        Some(Value::from("nodejs:18"))
    );
    Ok(())
}

#[test]
fn explain_says_why_each_function_is_built_sent_or_skipped() -> TestResult {
    let test = project(&[("p/a", "a1"), ("p/b", "b1")])
        .write("packages/p/s/build.sh", "#!/bin/sh\necho built > out.txt\n")
        .write("packages/p/s/index.js", "exports.main = () => ({});\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let script = test.path().join("packages/p/s/build.sh");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
    }
    let text = deployed(&test, &["build", ".", "--incremental", "--explain"])?;
    assert!(
        text.contains("Why: p/a: nothing to zip: index.js is deployed as it is"),
        "{text}"
    );
    assert!(
        text.contains("Why: p/s: built with build.sh: it has not run yet (.built is missing)"),
        "{text}"
    );
    let text = deployed(&test, &["build", ".", "--explain"])?;
    assert!(
        text.contains("Why: p/s: built with build.sh: no --incremental"),
        "{text}"
    );

    deployed(&test, &["deploy", "."])?;
    let (path, body) = function("p/a", "a2");
    let test = test.write(path, body);
    let text = deployed(&test, &["deploy", ".", "--incremental", "--explain"])?;
    assert!(
        text.contains("function p/a: differs from the server: code "),
        "{text}"
    );
    assert!(
        text.contains("function p/b: unchanged on the server: skipped"),
        "{text}"
    );
    Ok(())
}

#[test]
fn a_saved_plan_refused_because_the_namespace_changed_names_the_entity() -> TestResult {
    let test = project(&[("p/a", "a1"), ("p/b", "b1")]);
    deployed(&test, &["deploy", "."])?;
    let (path, text) = function("p/a", "a2");
    let test = test.write(path, text);
    deployed(&test, &["plan", ".", "--out", "plan.json"])?;
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(test.path().join("plan.json"))?)?;

    // Only the server moves: the project digest stays, the refusal blames the namespace.
    edit_through_the_api(&test, "p/b", "exports.main = () => ({ body: 'console' })")?;
    let fresh = plan_json(&test, &[])?;
    assert_eq!(fresh["projectDigest"], saved["projectDigest"]);
    assert_ne!(fresh["serverDigest"], saved["serverDigest"]);
    let out = run(&test, &["deploy", ".", "--plan", "plan.json"])?;
    assert!(!out.status.success());
    let text = unwrapped(&out);
    assert!(
        text.contains("the namespace changed since it was made: function p/b"),
        "{text}"
    );
    assert!(!text.contains("the project changed"), "{text}");
    assert!(
        deployed(&test, &["invoke", "p/a"])?.contains("a1"),
        "nothing sent"
    );
    Ok(())
}

fn with_trigger(test: ProjectTest, cron: &str) -> ProjectTest {
    test.write(
        "project.yml",
        format!(
            "packages:\n  - name: p\n    functions:\n      - name: a\n        triggers:\n          - name: tick\n            sourceType: scheduler\n            sourceDetails:\n              cron: \"{cron}\"\n"
        ),
    )
}

/// The cron of trigger `tick` as the namespace lists it.
fn listed_cron(test: &ProjectTest) -> Result<String, Box<dyn std::error::Error>> {
    let out = run(test, &["triggers", "list", "-o", "json"])?;
    assert!(out.status.success(), "{}", transcript(&out));
    let listed: Value = serde_json::from_slice(&out.stdout)?;
    let tick = listed
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["name"] == "tick")
        .ok_or_else(|| format!("no trigger tick in {listed}"))?;
    Ok(tick["scheduled_details"]["cron"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

#[test]
fn a_trigger_only_change_is_applied_by_incremental_and_by_a_saved_plan() -> TestResult {
    let test = with_trigger(project(&[("p/a", "a1")]), "* * * * *");
    deployed(&test, &["deploy", "."])?;
    assert_eq!(listed_cron(&test)?, "* * * * *");

    // A no-op incremental deploy sends no trigger.
    let text = deployed(&test, &["deploy", ".", "--incremental"])?;
    assert!(!text.contains("Deployed triggers"), "{text}");

    let test = with_trigger(test, "0 * * * *");
    let out = run(&test, &["plan", "."])?;
    assert!(
        stdout(&out).contains("(trigger scheduled_details)"),
        "{}",
        transcript(&out)
    );
    let text = deployed(&test, &["deploy", ".", "--incremental"])?;
    assert!(text.contains("Skipped 1 unchanged functions"), "{text}");
    assert!(text.contains("Deployed triggers:\n  - tick"), "{text}");
    assert_eq!(listed_cron(&test)?, "0 * * * *");

    let test = with_trigger(test, "5 * * * *");
    deployed(&test, &["plan", ".", "--out", "plan.json"])?;
    let text = deployed(&test, &["deploy", ".", "--plan", "plan.json"])?;
    assert!(text.contains("Deployed triggers:\n  - tick"), "{text}");
    assert_eq!(listed_cron(&test)?, "5 * * * *");
    let plan = plan_json(&test, &[])?;
    assert_eq!(
        changes(&plan),
        vec![
            ("package p".to_string(), "unchanged".to_string()),
            ("function p/a".to_string(), "unchanged".to_string()),
            ("trigger tick".to_string(), "unchanged".to_string()),
        ]
    );
    Ok(())
}

/// The reasons of `entity name` in a plan document.
fn reasons_of<'a>(plan: &'a Value, entity: &str, name: &str) -> &'a Value {
    plan["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["entity"] == entity && c["name"] == name)
        .map_or(&Value::Null, |c| &c["reasons"])
}

#[test]
fn a_packages_functions_reason_names_only_what_this_deploy_changes() -> TestResult {
    let mine = project(&[("p/a", "a1"), ("p/e", "e1")]);
    // p/z: another project's function in the same package; p/w: made by a plain API call.
    let theirs_dir = mine.temp().join("theirs");
    let (path, text) = function("p/z", "z1");
    let path = theirs_dir.join(path);
    std::fs::create_dir_all(path.parent().ok_or("no parent")?)?;
    std::fs::write(path, text)?;
    // The package is the last deployer's: this project's.
    deployed(&mine, &["deploy", &theirs_dir.to_string_lossy()])?;
    deployed(&mine, &["deploy", "."])?;
    edit_through_the_api(&mine, "p/w", "exports.main = () => ({ body: 'curl' })")?;

    let (path, text) = function("p/n", "n1");
    let mine = mine.remove("packages/p/e").write(path, text);

    let pruned = plan_json(&mine, &["--prune"])?;
    assert_eq!(
        reasons_of(&pruned, "package", "p"),
        &serde_json::json!([{"field": "functions", "added": ["n"], "removed": ["e"]}])
    );
    let out = run(&mine, &["plan", ".", "--prune"])?;
    assert!(
        stdout(&out).contains("(functions +n -e)"),
        "{}",
        transcript(&out)
    );

    // Without --prune p/e stays in the namespace: the package's reason does not name it.
    let kept = plan_json(&mine, &[])?;
    assert_eq!(
        reasons_of(&kept, "package", "p"),
        &serde_json::json!([{"field": "functions", "added": ["n"]}])
    );
    let out = run(&mine, &["plan", "."])?;
    let text = stdout(&out);
    assert!(text.contains("(functions +n)"), "{}", transcript(&out));
    for other in ["-e", "-w", "-z"] {
        assert!(!text.contains(other), "{other}: {text}");
    }
    Ok(())
}

/// The server version of `entity name` in a plan document.
fn server_version(plan: &Value, entity: &str, name: &str) -> Value {
    plan["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["entity"] == entity && c["name"] == name)
        .map_or(Value::Null, |c| c["serverVersion"].clone())
}

#[test]
fn a_saved_plan_sends_a_sequence_only_when_it_changes() -> TestResult {
    let sequence = |components: &str| {
        format!(
            "packages:\n  - name: p\n    functions:\n      - name: s\n        sequence: [{components}]\n"
        )
    };
    let test = project(&[("p/a", "a1"), ("p/b", "b1")]).write("project.yml", sequence("p/a"));
    deployed(&test, &["deploy", "."])?;
    let before = server_version(&plan_json(&test, &[])?, "sequence", "p/s");
    assert!(before.is_string(), "the sequence is deployed: {before}");

    // The function changes, the sequence does not: the plan sends the function alone.
    let (path, text) = function("p/a", "a2");
    let test = test.write(path, text);
    deployed(&test, &["plan", ".", "--out", "plan.json"])?;
    deployed(&test, &["deploy", ".", "--plan", "plan.json"])?;
    let after = plan_json(&test, &[])?;
    assert_eq!(server_version(&after, "sequence", "p/s"), before);
    assert!(deployed(&test, &["invoke", "p/s"])?.contains("a2"));

    // Its components change: the plan updates it.
    let test = test.write("project.yml", sequence("p/b"));
    let planned = plan_json(&test, &["--out", "plan.json"])?;
    assert_eq!(
        reasons_of(&planned, "sequence", "p/s"),
        &serde_json::json!([{"field": "components"}])
    );
    deployed(&test, &["deploy", ".", "--plan", "plan.json"])?;
    assert!(deployed(&test, &["invoke", "p/s"])?.contains("b1"));
    Ok(())
}
