//! `sluice init` (doctl's `serverless init`): each language's project deploys to the local
//! namespace at once and runs there (Go with the host's `go`); the project keeps deploy outputs
//! out of git; an existing project is only replaced with `--overwrite`.

mod common;

use std::process::{Command, Stdio};

use common::ProjectTest;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn ok(mut cmd: Command) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// `init` then `deploy`, returning the test.
fn init_and_deploy(language: &str) -> Result<ProjectTest, String> {
    let test = ProjectTest::empty();
    ok(test.command(["init", "app", "--language", language]))?;
    let gitignore =
        std::fs::read_to_string(test.path().join("app/.gitignore")).map_err(|e| e.to_string())?;
    assert!(gitignore.contains(".deployed/"), "{gitignore}");
    let deployed = ok(test.command(["deploy", "app"]))?;
    assert!(deployed.contains("sample/hello"), "{deployed}");
    Ok(test)
}

#[test]
fn node_and_python_projects_deploy_and_run_on_the_local_namespace() -> TestResult {
    for language in ["node", "python"] {
        let test = init_and_deploy(language)?;
        let out = ok(test.command(["invoke", "sample/hello", "-p", "name", "World"]))?;
        assert!(out.contains("Hello World!"), "{language}: {out}");
    }
    Ok(())
}

#[test]
fn a_go_project_builds_locally_deploys_and_runs_on_the_local_namespace() -> TestResult {
    let has_go = Command::new("go")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_go {
        eprintln!(
            "SKIPPED a_go_project_builds_locally_deploys_and_runs_on_the_local_namespace: no Go toolchain ('go') on the PATH; \
             install Go to run it"
        );
        return Ok(());
    }
    let test = init_and_deploy("go")?;
    let got = ok(test.command(["functions", "get", "sample/hello", "-o", "json"]))?;
    let function: serde_json::Value = serde_json::from_str(&got)?;
    let kind = function["exec"]["kind"].as_str().unwrap_or_default();
    assert!(kind.starts_with("go:"), "{function}");
    let out = ok(test.command(["invoke", "sample/hello", "-p", "name", "World"]))?;
    assert!(out.contains("Hello World!"), "{out}");
    let again = ok(test.command(["invoke", "sample/hello", "--param", "name:Gopher"]))?;
    assert!(again.contains("Hello Gopher!"), "{again}");
    Ok(())
}

#[test]
fn the_generated_project_says_how_to_use_it_and_go_builds_locally() -> TestResult {
    let test = ProjectTest::empty();
    ok(test.command(["init", "g", "--language", "go"]))?;
    let yml = std::fs::read_to_string(test.path().join("g/project.yml"))?;
    assert!(yml.contains("localBuild: true"), "{yml}");
    assert!(yml.contains("no remote builder"), "{yml}");
    assert!(yml.contains("sluice deploy g"), "{yml}");
    let listed = ok(test.command(["init", "--language", "python", "-o", "json"]))?;
    let created: serde_json::Value = serde_json::from_str(&listed)?;
    assert_eq!(created["language"], "python");
    assert!(test.path().join("packages/sample/hello.py").is_file());
    Ok(())
}

#[test]
fn an_existing_project_is_replaced_only_with_overwrite() -> TestResult {
    let test = ProjectTest::empty();
    ok(test.command(["init", "app"]))?;
    let again = ok(test.command(["init", "app", "--language", "python"]));
    let err = again.err().unwrap_or_default();
    assert!(err.contains("already holds a project"), "{err}");
    assert!(err.contains("--overwrite"), "{err}");
    ok(test.command(["init", "app", "--language", "python", "--overwrite"]))?;
    assert!(test.path().join("app/packages/sample/hello.py").is_file());
    assert!(!test.path().join("app/packages/sample/hello.js").exists());
    let deployed = ok(test.command(["deploy", "app"]))?;
    assert!(deployed.contains("sample/hello"), "{deployed}");
    Ok(())
}
