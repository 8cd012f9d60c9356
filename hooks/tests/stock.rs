//! The stock hooks in `hooks/lua/`, run by the real runtime as `stock:NAME`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use serde_json::json;
use sluice_core::{
    ActionSpec, BuildDecision, Credentials, DeployResponse, DeployStructure, DeploySuccess,
    EntityKind, Hooks, PackageSpec, Recorder, Target,
};
use sluice_hooks::{HookEnv, Invocation, Invoker, LuaHooks};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn env_with(vars: &[(&str, &str)]) -> (Arc<Recorder>, HookEnv) {
    let recorder = Arc::new(Recorder::default());
    let mut env = HookEnv::new(recorder.clone());
    env.env = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect::<BTreeMap<_, _>>();
    (recorder, env)
}

fn stock(dir: &Path, name: &str, env: HookEnv) -> sluice_core::Result<LuaHooks> {
    LuaHooks::load(dir, &[format!("stock:{name}")], &[], env)
}

fn target(namespace: &str, local: bool) -> Target {
    let mut t = Target::new("https://example.test", namespace, Credentials::default());
    t.local = local;
    t
}

fn project_with(actions: &[(&str, Option<&str>)]) -> DeployStructure {
    DeployStructure {
        packages: vec![PackageSpec {
            name: "demo".into(),
            actions: actions
                .iter()
                .map(|(name, file)| ActionSpec {
                    name: name.to_string(),
                    file: file.map(str::to_string),
                    runtime: Some("nodejs:18".into()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<(), Box<dyn std::error::Error>> {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.test",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()?;
    if !status.status.success() {
        return Err(format!("git {args:?}: {}", String::from_utf8_lossy(&status.stderr)).into());
    }
    Ok(())
}

#[test]
fn require_clean_git_refuses_a_dirty_tree_for_protected_namespaces_only() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("project.yml"), "packages: []\n")?;
    git(dir.path(), &["init", "-q"])?;
    git(dir.path(), &["add", "."])?;
    git(dir.path(), &["commit", "-q", "-m", "first"])?;
    let (_, env) = env_with(&[]);
    let hooks = stock(dir.path(), "require-clean-git", env)?;
    let plan = project_with(&[("a", None)]);
    hooks.deploy_before(plan.clone(), &target("acme-prod", false))?;
    // The deploy records sluice writes itself do not make the tree dirty.
    std::fs::create_dir_all(dir.path().join(".deployed"))?;
    std::fs::write(dir.path().join(".deployed/versions.json"), "[]")?;
    hooks.deploy_before(plan.clone(), &target("acme-prod", false))?;

    std::fs::write(dir.path().join("new.js"), "x")?;
    let e = hooks
        .deploy_before(plan.clone(), &target("acme-prod", false))
        .expect_err("dirty tree to prod");
    let text = e.to_string();
    assert!(
        text.starts_with("hook stock:require-clean-git:"),
        "the error names the stock hook and its line: {text}"
    );
    assert!(text.contains("(deploy:before): refusing to deploy to 'acme-prod': the project has 1 uncommitted change(s)"), "{text}");
    assert!(text.contains("?? new.js"), "{text}");
    hooks.deploy_before(plan.clone(), &target("acme-dev", false))?;

    let (_, env) = env_with(&[("SLUICE_PROTECTED_NAMESPACE", "^stage")]);
    let hooks = stock(dir.path(), "require-clean-git", env)?;
    hooks.deploy_before(plan.clone(), &target("acme-prod", false))?;
    assert!(
        hooks
            .deploy_before(plan, &target("stage-1", false))
            .is_err()
    );
    Ok(())
}

#[test]
fn require_clean_git_refuses_a_project_outside_git() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (_, env) = env_with(&[]);
    let hooks = stock(dir.path(), "require-clean-git", env)?;
    // Outside any repository git status fails; the temp dir must not sit inside one.
    let inside_git = Command::new("git")
        .args(["rev-parse", "--is-inside-work-tree"])
        .current_dir(dir.path())
        .output()?
        .status
        .success();
    if !inside_git {
        let e = hooks
            .deploy_before(project_with(&[]), &target("prod", false))
            .expect_err("no git tree");
        assert!(
            e.to_string()
                .contains("cannot check the git tree before deploying to 'prod'"),
            "{e}"
        );
    }
    Ok(())
}

#[test]
fn stamp_environment_stamps_the_chosen_environment_and_never_guesses() -> TestResult {
    let dir = tempfile::tempdir()?;
    for (namespace, local) in [("acme-prod", false), ("guest", true)] {
        let (recorder, env) = env_with(&[("SLUICE_ENVIRONMENT", "stage")]);
        let hooks = stock(dir.path(), "stamp-environment", env)?;
        let mut plan = project_with(&[("a", None), ("b", None)]);
        plan.packages[0].actions[1].environment = Some(
            json!({"DEPLOY_ENVIRONMENT": "kept"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        );
        let out = hooks.deploy_before(plan, &target(namespace, local))?;
        let a = &out.packages[0].actions[0];
        assert_eq!(
            a.environment
                .as_ref()
                .and_then(|e| e.get("DEPLOY_ENVIRONMENT")),
            Some(&json!("stage"))
        );
        assert_eq!(
            a.annotations.as_ref().and_then(|e| e.get("environment")),
            Some(&json!("stage"))
        );
        let b = &out.packages[0].actions[1];
        assert_eq!(
            b.environment
                .as_ref()
                .and_then(|e| e.get("DEPLOY_ENVIRONMENT")),
            Some(&json!("kept"))
        );
        assert_eq!(recorder.lines().len(), 1);
    }
    let (_, env) = env_with(&[
        ("SLUICE_ENVIRONMENT", "qa"),
        ("SLUICE_ENVIRONMENT_VARIABLE", "STAGE"),
    ]);
    let hooks = stock(dir.path(), "stamp-environment", env)?;
    let out = hooks.deploy_before(project_with(&[("a", None)]), &target("acme-prod", false))?;
    assert_eq!(
        out.packages[0].actions[0]
            .environment
            .as_ref()
            .and_then(|e| e.get("STAGE")),
        Some(&json!("qa"))
    );
    // A namespace called prod is not a reason to call it production.
    let (_, env) = env_with(&[]);
    let hooks = stock(dir.path(), "stamp-environment", env)?;
    let e = hooks
        .deploy_before(project_with(&[("a", None)]), &target("acme-prod", false))
        .expect_err("no environment chosen");
    assert!(
        e.to_string().contains(
            "no environment to stamp on the functions deployed to 'acme-prod': deploy with -e NAME"
        ),
        "{e}"
    );
    Ok(())
}

#[test]
fn render_template_supplies_the_rendered_file_as_the_artifact() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("packages/demo"))?;
    std::fs::write(
        dir.path().join("packages/demo/hello.js"),
        "function main() { return { body: '{{GREETING}}, {{ TARGET }}' } }\n",
    )?;
    std::fs::write(
        dir.path().join("packages/demo/plain.js"),
        "function main() { return {} }\n",
    )?;
    let (_, env) = env_with(&[("GREETING", "Hello"), ("TARGET", "world")]);
    let hooks = stock(dir.path(), "render-template", env)?;
    let project = project_with(&[
        ("hello", Some("packages/demo/hello.js")),
        ("plain", Some("packages/demo/plain.js")),
    ]);
    let decision = hooks.build_before("demo", &project.packages[0].actions[0])?;
    let BuildDecision::Use(artifact) = decision else {
        panic!("expected an artifact, got {decision:?}");
    };
    assert_eq!(artifact.file, ".deployed/hooks/demo/hello.js");
    assert_eq!(artifact.runtime.as_deref(), Some("nodejs:18"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join(&artifact.file))?,
        "function main() { return { body: 'Hello, world' } }\n"
    );
    assert_eq!(
        hooks.build_before("demo", &project.packages[0].actions[1])?,
        BuildDecision::Run
    );

    let (_, env) = env_with(&[("GREETING", "Hello")]);
    let hooks = stock(dir.path(), "render-template", env)?;
    let e = hooks
        .build_before("demo", &project.packages[0].actions[0])
        .expect_err("TARGET is not set");
    assert!(
        e.to_string()
            .contains("(build:before): cannot render demo/hello: set TARGET in the environment"),
        "{e}"
    );
    Ok(())
}

/// Answers invocations from a table of canned results, recording the calls. It stands in for
/// the namespace only to test the Lua script's decisions; the deploy tests use the real one.
struct Canned {
    results: BTreeMap<String, Invocation>,
    calls: Mutex<Vec<(String, String)>>,
}

impl Invoker for Canned {
    fn invoke(
        &self,
        target: &Target,
        action: &str,
        _params: &serde_json::Value,
    ) -> Result<Invocation, String> {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push((target.namespace.clone(), action.to_string()));
        }
        self.results
            .get(action)
            .cloned()
            .ok_or_else(|| format!("The requested resource does not exist: {action}"))
    }
}

#[test]
fn smoke_test_invokes_deployed_functions_and_fails_on_error_results() -> TestResult {
    let dir = tempfile::tempdir()?;
    let ok = |result: serde_json::Value| Invocation {
        ok: true,
        result,
        activation_id: Some("a1".into()),
    };
    let canned = Arc::new(Canned {
        results: BTreeMap::from([
            ("demo/good".to_string(), ok(json!({"body": "fine"}))),
            (
                "demo/bad".to_string(),
                ok(json!({"error": "database unreachable"})),
            ),
            (
                "demo/crash".to_string(),
                Invocation {
                    ok: false,
                    result: json!({"error": "The action did not return a dictionary."}),
                    activation_id: None,
                },
            ),
        ]),
        calls: Mutex::new(Vec::new()),
    });
    let response = DeployResponse {
        successes: ["demo/good", "demo/bad", "demo/crash"]
            .iter()
            .map(|n| DeploySuccess {
                name: n.to_string(),
                kind: EntityKind::Action,
                skipped: false,
            })
            .chain(std::iter::once(DeploySuccess {
                name: "demo".into(),
                kind: EntityKind::Package,
                skipped: false,
            }))
            .collect(),
        ..Default::default()
    };

    let (recorder, mut env) = env_with(&[]);
    env.invoker = Some(canned.clone());
    let hooks = stock(dir.path(), "smoke-test", env)?;
    let e = hooks
        .deploy_after(&response, &target("ns1", false))
        .expect_err("two fail");
    assert!(
        e.to_string().ends_with(
            "(deploy:after): smoke test failed: demo/bad (database unreachable); demo/crash (The action did not return a dictionary.)"
        ),
        "{e}"
    );
    assert_eq!(recorder.lines().len(), 1, "one pass is logged");
    let calls = canned.calls.lock().map(|c| c.clone()).unwrap_or_default();
    assert_eq!(
        calls,
        [
            ("ns1", "demo/good"),
            ("ns1", "demo/bad"),
            ("ns1", "demo/crash")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );

    let (_, mut env) = env_with(&[("SLUICE_SMOKE_TEST", "demo/good")]);
    env.invoker = Some(canned.clone());
    let hooks = stock(dir.path(), "smoke-test", env)?;
    hooks.deploy_after(&response, &target("ns1", false))?;
    Ok(())
}
