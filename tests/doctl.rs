//! At home for doctl and wsk users (issue 20): shell completions and man pages, doctl's token
//! and credential store found by default, `--param k:v`, the `functions invoke`,
//! `namespaces` and `connect` aliases, `deploy` with no directory, API hosts without a scheme,
//! and a refused key explained by where it came from.

mod common;
mod deploy_support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::ProjectTest;
use deploy_support::{AUTH, FakeWhisk, NAMESPACE};
use sha1::{Digest, Sha1};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

fn run(mut cmd: Command) -> Result<Output, std::io::Error> {
    cmd.stdin(Stdio::null()).output()
}

fn ok(out: &Output) -> Result<String, String> {
    if out.status.success() {
        Ok(text(&out.stdout))
    } else {
        Err(format!(
            "failed:\n{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        ))
    }
}

/// A store whose current namespace is the fake controller's, with `key`.
fn store(whisk: &FakeWhisk, key: &str) -> String {
    serde_json::json!({
        "currentHost": whisk.uri(),
        "currentNamespace": NAMESPACE,
        "credentials": {whisk.uri(): {NAMESPACE: {"api_key": key}}}
    })
    .to_string()
}

fn has(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

#[test]
fn completions_are_valid_scripts_for_every_shell() -> TestResult {
    let test = ProjectTest::empty();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = ok(&run(test.command(["completions", shell]))?)?;
        assert!(script.contains("sluice"), "{shell}: {script}");
        assert!(script.contains("deploy"), "{shell} completes the commands");
    }
    let path = test.temp().join("sluice.bash");
    std::fs::write(&path, ok(&run(test.command(["completions", "bash"]))?)?)?;
    let status = Command::new("bash").arg("-n").arg(&path).status()?;
    assert!(
        status.success(),
        "bash -n refuses the bash completion script"
    );
    // The script registers a completion for `sluice` when sourced.
    let sourced = Command::new("bash")
        .arg("-c")
        .arg(format!("source {} && complete -p sluice", path.display()))
        .output()?;
    assert!(ok(&sourced)?.contains("sluice"));
    for (shell, check) in [("zsh", "-n"), ("fish", "--no-execute")] {
        if !has(shell) {
            eprintln!(
                "note: {shell} is not installed; its completion script was not syntax-checked"
            );
            continue;
        }
        let file = test.temp().join(format!("sluice.{shell}"));
        std::fs::write(&file, ok(&run(test.command(["completions", shell]))?)?)?;
        assert!(
            Command::new(shell)
                .arg(check)
                .arg(&file)
                .status()?
                .success()
        );
    }
    let refused = run(test.command(["completions", "tcsh"]))?;
    assert!(!refused.status.success());
    Ok(())
}

/// The roff page passes the basic checks of the man format: a title line, a NAME section and
/// a SYNOPSIS, and, where `man` is installed, renders.
fn check_page(path: &Path, name: &str) -> TestResult {
    let page = std::fs::read_to_string(path)?;
    assert!(
        page.lines()
            .any(|l| l.starts_with(&format!(".TH {name} 1"))),
        "{}: no .TH line",
        path.display()
    );
    assert!(page.contains(".SH NAME"), "{}", path.display());
    assert!(page.contains(".SH SYNOPSIS"), "{}", path.display());
    if has("man") {
        let out = Command::new("man")
            .arg("-l")
            .arg(path)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .output()?;
        let shown = text(&out.stdout);
        if out.status.success() && !shown.is_empty() {
            assert!(shown.contains("NAME"), "{shown}");
        }
    }
    Ok(())
}

#[test]
fn man_prints_the_main_page_and_writes_one_page_per_command() -> TestResult {
    let test = ProjectTest::empty();
    let main = ok(&run(test.command(["man"]))?)?;
    let file = test.temp().join("printed.1");
    std::fs::write(&file, &main)?;
    check_page(&file, "sluice")?;
    assert!(main.contains("deploy"), "the main page lists the commands");

    let dir = test.temp().join("man");
    let mut cmd = test.command(["man", "--dir"]);
    cmd.arg(&dir);
    let out = ok(&run(cmd)?)?;
    assert!(out.contains("manual pages"), "{out}");
    for (page, name) in [
        ("sluice.1", "sluice"),
        ("sluice-deploy.1", "sluice-deploy"),
        ("sluice-namespace-add.1", "sluice-namespace-add"),
        ("sluice-functions-invoke.1", "sluice-functions-invoke"),
        ("sluice-completions.1", "sluice-completions"),
    ] {
        check_page(&dir.join(page), name)?;
    }
    let deploy = std::fs::read_to_string(dir.join("sluice-deploy.1"))?;
    for flag in ["incremental", "access\\-token", "hook", "plugin", "output"] {
        assert!(deploy.contains(flag), "deploy's page lacks --{flag}");
    }
    Ok(())
}

#[test]
fn doctl_token_and_credential_store_are_found_by_default() -> TestResult {
    let whisk = FakeWhisk::start();
    // doctl's config file holds the token of its current context; its serverless store lives
    // under `sandbox/creds/<sha1(token)[..4] in hex>`.
    let token = "do-token";
    let leaf: String = Sha1::digest(token.as_bytes())[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let test = ProjectTest::fixture("triggers")
        .env_remove("NIMBELLA_DIR")
        .write_home(
            ".config/doctl/config.yaml",
            format!("access-token: {token}\ncontext: default\n"),
        )
        .write_home(
            format!(".config/doctl/sandbox/creds/{leaf}/credentials.json"),
            store(&whisk, AUTH),
        );
    let current = ok(&run(test.command(["namespace", "current"]))?)?;
    assert_eq!(current.trim(), format!("{NAMESPACE} on {}", whisk.uri()));

    // The deploy takes the token from doctl's config and the triggers API URL from the API
    // host (the fake serves both), with no DO_API_KEY or SLUICE_DO_API_URL.
    let deployed = ok(&run(test.command(["deploy"]))?)?;
    assert!(deployed.contains("invoke1"), "{deployed}");
    assert!(whisk.trigger("invoke1").is_some());
    let listed = ok(&run(test.command(["triggers", "list"]))?)?;
    assert!(
        listed.contains("invoke1") && listed.contains("invoke2"),
        "{listed}"
    );
    Ok(())
}

#[test]
fn digitalocean_access_token_and_the_flag_reach_the_triggers_api() -> TestResult {
    let whisk = FakeWhisk::start();
    let test = ProjectTest::fixture("triggers")
        .write_home(".nimbella/credentials.json", store(&whisk, AUTH))
        .env("DIGITALOCEAN_ACCESS_TOKEN", "do-token");
    ok(&run(test.command(["deploy", "."]))?)?;
    let got = ok(&run(test.command(["triggers", "get", "invoke1", "--json"]))?)?;
    let trigger: serde_json::Value = serde_json::from_str(&got)?;
    assert_eq!(trigger["function"], "test-triggers/hello1");

    // --access-token wins over the variable: a wrong one is refused by the API.
    let wrong = run(test.command(["triggers", "list", "--access-token", "nope"]))?;
    assert!(!wrong.status.success());
    assert!(
        text(&wrong.stderr).contains("authenticate"),
        "{}",
        text(&wrong.stderr)
    );
    let flagged =
        ProjectTest::empty().write_home(".nimbella/credentials.json", store(&whisk, AUTH));
    let listed = ok(&run(flagged.command([
        "triggers",
        "list",
        "--access-token",
        "do-token",
    ]))?)?;
    assert!(listed.contains("invoke1"), "{listed}");

    // Without any token the error says where sluice looked.
    let none = run(flagged.command(["triggers", "list"]))?;
    let stderr = text(&none.stderr);
    assert!(!none.status.success());
    for place in [
        "--access-token",
        "DIGITALOCEAN_ACCESS_TOKEN",
        "DO_API_KEY",
        "doctl",
    ] {
        assert!(stderr.contains(place), "{stderr}");
    }
    Ok(())
}

#[test]
fn doctl_forms_of_params_and_commands_run_on_the_local_namespace() -> TestResult {
    let test = ProjectTest::from_dir("examples/hello");
    // `deploy` with no directory deploys `.`.
    ok(&run(test.command(["deploy"]))?)?;
    for args in [
        vec!["invoke", "hello/greet", "--param", "name:World"],
        vec!["invoke", "hello/greet", "-p", "name:World"],
        vec!["invoke", "hello/greet", "-p", "name", "World"],
        vec![
            "functions",
            "invoke",
            "hello/greet",
            "--param",
            "name:World",
        ],
    ] {
        let out = ok(&run(test.command(&args))?)?;
        assert!(out.contains("Hello World"), "{args:?}: {out}");
    }
    let lonely = run(test.command(["invoke", "hello/greet", "-p", "name"]))?;
    assert!(!lonely.status.success());
    assert!(text(&lonely.stderr).contains("--param name:VALUE"));
    Ok(())
}

#[test]
fn namespaces_and_connect_are_aliases() -> TestResult {
    let whisk = FakeWhisk::start();
    let test = ProjectTest::empty();
    let uri = whisk.uri();
    let out = ok(&run(test.command([
        "connect",
        "--apihost",
        &uri,
        "--auth",
        AUTH,
    ]))?)?;
    assert!(out.contains("Connected to namespace 'test-ns'"), "{out}");
    let listed = ok(&run(test.command(["namespaces", "list"]))?)?;
    assert!(listed.contains("test-ns"), "{listed}");
    Ok(())
}

#[test]
fn an_api_host_without_a_scheme_is_http_on_loopback_and_refused_elsewhere() -> TestResult {
    let whisk = FakeWhisk::start();
    let test = ProjectTest::empty();
    let bare = whisk.uri().trim_start_matches("http://").to_string();
    let listed = run(test.command(["functions", "list", "--apihost", &bare, "--auth", AUTH]))?;
    ok(&listed)?;
    let refused = run(test.command([
        "functions",
        "list",
        "--apihost",
        "faas.example.co:443",
        "--auth",
        AUTH,
    ]))?;
    let stderr = text(&refused.stderr);
    assert!(!refused.status.success());
    assert!(stderr.contains("no http:// or https:// scheme"), "{stderr}");
    assert!(stderr.contains("https://faas.example.co:443"), "{stderr}");
    Ok(())
}

#[test]
fn a_refused_key_is_explained_by_where_it_came_from() -> TestResult {
    let whisk = FakeWhisk::start();
    let uri = whisk.uri();
    let test = ProjectTest::empty();
    let flag = run(test.command(["functions", "list", "--apihost", &uri, "--auth", "u:wrong"]))?;
    let stderr = text(&flag.stderr);
    assert!(!flag.status.success());
    assert!(stderr.contains("the key came from --auth"), "{stderr}");
    assert!(!stderr.contains("sluice namespace current"), "{stderr}");

    let stored = ProjectTest::from_dir("examples/hello")
        .write_home(".nimbella/credentials.json", store(&whisk, "u:wrong"));
    for args in [vec!["functions", "list"], vec!["deploy"]] {
        let out = run(stored.command(&args))?;
        let stderr = text(&out.stderr);
        assert!(!out.status.success());
        assert!(
            stderr.contains("the key came from the credential store"),
            "{args:?}: {stderr}"
        );
    }

    // No store anywhere: `namespace current` says where it looked.
    let none = run(ProjectTest::empty()
        .env_remove("NIMBELLA_DIR")
        .command(["namespace", "current"]))?;
    let stderr = text(&none.stderr);
    assert!(!none.status.success());
    assert!(stderr.contains("sluice looked in"), "{stderr}");
    assert!(stderr.contains("credentials.json"), "{stderr}");
    Ok(())
}
