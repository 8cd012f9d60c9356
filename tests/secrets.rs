//! `sluice secrets` and secrets at deploy, against the local namespace server: a value set
//! with `secrets set` reaches the function (as environment and through `${secret:NAME}`)
//! and appears nowhere else — not in stdout or stderr of deploy, `--json`, plan, get-metadata,
//! `.deployed/`, the hooks' log lines, or `functions get` (unless `--show-secrets`).

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use common::ProjectTest;
use serde_json::Value;

const API_KEY: &str = "sup3r-s3cret-api-key";
const TOKEN: &str = "tok-7f3a9c-never-shown";

const FUNCTION: &str = "function main(args) {\n  return { apiKey: process.env.API_KEY, token: args.token };\n}\nexports.main = main;\n";

const HOOK: &str = r#"local sluice = require("sluice")
sluice.on("read:after", function(project)
  sluice.log.info("read:after " .. sluice.json.encode(project))
end)
sluice.on("build:before", function(fn)
  sluice.log.info("build:before " .. sluice.json.encode(fn))
end)
sluice.on("deploy:before", function(plan, target)
  sluice.log.info("deploy:before " .. sluice.json.encode(plan))
end)
"#;

fn project() -> ProjectTest {
    ProjectTest::empty()
        .write("sluice.toml", "[environments.dev]\nnamespace = \"dev\"\n")
        .write(
            "project.yml",
            "packages:\n  - name: app\n    functions:\n      - name: hello\n        runtime: nodejs:default\n        parameters:\n          token: ${secret:TOKEN}\n",
        )
        .write("packages/app/hello.js", FUNCTION)
        .write("hooks/spy.lua", HOOK)
}

fn run(test: &ProjectTest, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = test.command(args);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run sluice");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write stdin");
    }
    child.wait_with_output().expect("sluice ends")
}

/// stdout and stderr, with miette's wrapping undone (lines joined, `│` gutters dropped).
fn text(out: &Output) -> String {
    let joined = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let unwrapped = unwrapped_lines(&joined);
    format!("{joined}\n{unwrapped}")
}

fn unwrapped_lines(text: &str) -> String {
    text.lines()
        .map(|l| l.trim().trim_start_matches('│').trim())
        .collect::<Vec<_>>()
        .join(" ")
}

fn ok(test: &ProjectTest, args: &[&str], stdin: Option<&str>) -> Output {
    let out = run(test, args, stdin);
    assert!(
        out.status.success(),
        "sluice {args:?} failed:\n{}",
        text(&out)
    );
    out
}

fn assert_hidden(what: &str, text: &str) {
    for secret in [API_KEY, TOKEN] {
        assert!(
            !text.contains(secret),
            "{what} shows a secret value:\n{text}"
        );
    }
}

/// Every file under `dir`, as text.
fn all_text(dir: &Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.push_str(&all_text(&path));
        } else {
            out.push_str(&String::from_utf8_lossy(
                &std::fs::read(&path).unwrap_or_default(),
            ));
        }
    }
    out
}

/// `secrets init` made a key and the file; two secrets are set from stdin.
fn with_secrets() -> ProjectTest {
    let test = project()
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_FILE");
    let out = ok(&test, &["secrets", "init", "dev"], None);
    let said = text(&out);
    let key_file = test.home().join(".config/sops/age/keys.txt");
    assert!(said.contains(&key_file.display().to_string()), "{said}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file)
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let settings = std::fs::read_to_string(test.path().join("sluice.toml")).expect("toml");
    assert!(
        settings.contains("secrets = \"secrets/dev.yaml\""),
        "{settings}"
    );
    assert!(settings.contains("recipients = [\"age1"), "{settings}");
    ok(
        &test,
        &["secrets", "set", "dev", "API_KEY"],
        Some(&format!("{API_KEY}\n")),
    );
    ok(&test, &["secrets", "set", "dev", "TOKEN", "-"], Some(TOKEN));
    test
}

#[test]
fn a_deployed_secret_reaches_the_function_and_is_shown_nowhere() {
    let test = with_secrets();
    let file = std::fs::read_to_string(test.path().join("secrets/dev.yaml")).expect("file");
    assert_hidden("the secrets file", &file);
    let listed = ok(&test, &["secrets", "list", "dev"], None);
    assert_eq!(String::from_utf8_lossy(&listed.stdout), "API_KEY\nTOKEN\n");
    let got = ok(&test, &["secrets", "get", "dev", "TOKEN"], None);
    assert_eq!(String::from_utf8_lossy(&got.stdout), format!("{TOKEN}\n"));

    ok(&test, &["local", "namespace", "create", "dev"], None);
    ok(&test, &["namespace", "use", "dev"], None);
    let hook = ["--hook", "hooks/spy.lua"];
    let deploy = ok(
        &test,
        &[&["deploy", ".", "-e", "dev"][..], &hook].concat(),
        None,
    );
    let shown = text(&deploy);
    assert!(shown.contains("read:after"), "the hook ran: {shown}");
    assert!(shown.contains("deploy:before"), "the hook ran: {shown}");
    // Hooks see the reference, not the value.
    assert!(shown.contains("sluice-secret(TOKEN)****"), "{shown}");
    assert_hidden("deploy", &shown);

    let invoked = ok(&test, &["invoke", "app/hello"], None);
    let result: Value = serde_json::from_slice(&invoked.stdout).expect("json");
    assert_eq!(result["apiKey"], API_KEY);
    assert_eq!(result["token"], TOKEN);

    // A changed secret is sent again; --json and plan show neither value.
    ok(
        &test,
        &["secrets", "set", "dev", "API_KEY"],
        Some(&format!("{API_KEY}-2")),
    );
    let plan = ok(&test, &["plan", ".", "-e", "dev"], None);
    assert!(text(&plan).contains("API_KEY"), "{}", text(&plan));
    assert_hidden("plan", &text(&plan));
    let plan_json = ok(&test, &["plan", ".", "-e", "dev", "--json"], None);
    assert_hidden("plan --json", &text(&plan_json));
    let json = ok(
        &test,
        &[&["deploy", ".", "-e", "dev", "--json"][..], &hook].concat(),
        None,
    );
    assert_hidden("deploy --json", &text(&json));
    let result: Value =
        serde_json::from_slice(&ok(&test, &["invoke", "app/hello"], None).stdout).expect("json");
    assert_eq!(result["apiKey"], format!("{API_KEY}-2"));

    assert_hidden(".deployed/", &all_text(&test.path().join(".deployed")));
    // get-metadata decrypts nothing: the reference stays unresolved.
    let metadata = run(&test, &["get-metadata", "."], None);
    assert_hidden("get-metadata", &text(&metadata));
    assert!(
        text(&metadata).contains("secret:TOKEN"),
        "{}",
        text(&metadata)
    );

    let got = ok(&test, &["functions", "get", "app/hello"], None);
    assert_hidden("functions get", &text(&got));
    let function: Value = serde_json::from_slice(&got.stdout).expect("json");
    let masked: Vec<&Value> = function["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter(|p| p["value"] == "****")
        .collect();
    assert_eq!(
        masked.len(),
        3,
        "API_KEY, TOKEN and token are masked: {function}"
    );
    let shown = ok(
        &test,
        &["functions", "get", "app/hello", "--show-secrets"],
        None,
    );
    assert!(text(&shown).contains(TOKEN));
}

#[test]
fn ci_supplies_the_key_through_sops_age_key() {
    let test = with_secrets();
    let key_file = test.home().join(".config/sops/age/keys.txt");
    let key = std::fs::read_to_string(&key_file).expect("key");
    std::fs::remove_file(&key_file).expect("remove the user's key");
    let out = run(&test, &["secrets", "get", "dev", "TOKEN"], None);
    assert!(!out.status.success());
    let said = text(&out);
    assert!(said.contains("secrets/dev.yaml"), "{said}");
    assert!(said.contains("no age key can decrypt"), "{said}");
    assert!(said.contains("SOPS_AGE_KEY"), "{said}");
    let plan = run(&test, &["plan", ".", "-e", "dev"], None);
    assert!(!plan.status.success());
    assert!(text(&plan).contains("secrets/dev.yaml"), "{}", text(&plan));
    assert!(text(&plan).contains("SOPS_AGE_KEY"), "{}", text(&plan));

    let test = test.env("SOPS_AGE_KEY", key.trim());
    let got = ok(&test, &["secrets", "get", "dev", "TOKEN"], None);
    assert_eq!(String::from_utf8_lossy(&got.stdout), format!("{TOKEN}\n"));
}

#[test]
fn a_missing_secret_and_a_plaintext_file_are_refused_at_deploy() {
    let test = with_secrets().write(
        "project.yml",
        "packages:\n  - name: app\n    functions:\n      - name: hello\n        runtime: nodejs:default\n        parameters:\n          token: ${secret:NOPE}\n",
    );
    let out = run(&test, &["plan", ".", "-e", "dev"], None);
    assert!(!out.status.success());
    assert!(text(&out).contains("secret:NOPE"), "{}", text(&out));
    assert!(
        text(&out).contains("dev.yaml lacks NOPE: set it with 'sluice secrets set dev NOPE'"),
        "{}",
        text(&out)
    );
    assert_hidden("the error", &text(&out));

    let test = test.write("secrets/dev.yaml", "API_KEY: plain-value\n");
    let out = run(&test, &["plan", ".", "-e", "dev"], None);
    assert!(!out.status.success());
    let said = text(&out);
    assert!(said.contains("secrets/dev.yaml"), "{said}");
    assert!(said.contains("not encrypted"), "{said}");
    assert!(!said.contains("plain-value"), "{said}");
}

#[test]
fn check_fails_on_one_plaintext_value_and_passes_on_encrypted_files() {
    let test = with_secrets();
    ok(&test, &["secrets", "check"], None);
    ok(&test, &["secrets", "check", "secrets/dev.yaml"], None);
    let file = std::fs::read_to_string(test.path().join("secrets/dev.yaml")).expect("file");
    let test = test
        .write("leaky.yaml", format!("LEAKED: value\n{file}"))
        .write("plain.env", "A=1\n");
    let out = run(
        &test,
        &[
            "secrets",
            "check",
            "secrets/dev.yaml",
            "leaky.yaml",
            "plain.env",
        ],
        None,
    );
    assert!(!out.status.success());
    let said = text(&out);
    assert!(
        said.contains("leaky.yaml: plaintext values: LEAKED"),
        "{said}"
    );
    assert!(said.contains("plain.env: not encrypted"), "{said}");
    assert!(!said.contains("secrets/dev.yaml:"), "{said}");
    assert!(
        said.contains("2 of 3 secrets files hold plaintext"),
        "{said}"
    );
}

#[test]
fn edit_reencrypts_and_removes_its_temporary_file_even_when_the_editor_fails() {
    let test = with_secrets();
    let seen = test.temp().join("seen-path");
    let editor = test.temp().join("editor.sh");
    std::fs::write(
        &editor,
        format!(
            "#!/bin/sh\necho \"$1\" > '{}'\nstat -c %a \"$1\" >> '{}'\nprintf 'EXTRA: added\\n' >> \"$1\"\nexit ${{EDITOR_EXIT:-0}}\n",
            seen.display(),
            seen.display()
        ),
    )
    .expect("editor");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let test = test.env("EDITOR", &editor).env_remove("VISUAL");
    ok(&test, &["secrets", "edit", "dev"], None);
    let record = std::fs::read_to_string(&seen).expect("the editor ran");
    let mut lines = record.lines();
    let tmp = lines.next().expect("path").to_string();
    assert_eq!(lines.next(), Some("600"));
    assert!(
        !Path::new(&tmp).exists(),
        "the temporary file {tmp} is left"
    );
    let listed = ok(&test, &["secrets", "list", "dev"], None);
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        "API_KEY\nTOKEN\nEXTRA\n"
    );

    let before = std::fs::read_to_string(test.path().join("secrets/dev.yaml")).expect("file");
    let test = test.env("EDITOR_EXIT", "3");
    let out = run(&test, &["secrets", "edit", "dev"], None);
    assert!(!out.status.success());
    assert!(text(&out).contains("is unchanged"), "{}", text(&out));
    let tmp = std::fs::read_to_string(&seen).expect("seen");
    assert!(!Path::new(tmp.lines().next().unwrap_or_default()).exists());
    let after = std::fs::read_to_string(test.path().join("secrets/dev.yaml")).expect("file");
    assert_eq!(before, after);
}

#[test]
fn rotate_encrypts_anew_with_the_same_values() {
    let test = with_secrets();
    let path = test.path().join("secrets/dev.yaml");
    let before = std::fs::read_to_string(&path).expect("file");
    ok(&test, &["secrets", "rotate", "dev"], None);
    let after = std::fs::read_to_string(&path).expect("file");
    let enc = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("TOKEN:"))
            .map(str::to_string)
            .unwrap_or_default()
    };
    assert_ne!(enc(&before), enc(&after));
    let got = ok(&test, &["secrets", "get", "dev", "TOKEN"], None);
    assert_eq!(String::from_utf8_lossy(&got.stdout), format!("{TOKEN}\n"));
}

/// The fenced blocks of `book/src/secrets.md` with the given info string, in order.
fn book_blocks(info: &str) -> Vec<String> {
    let book =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/secrets.md"))
            .expect("book/src/secrets.md");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in book.lines() {
        match &mut current {
            None if line == format!("```{info}") => current = Some(String::new()),
            Some(block) if line == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// Runs a shell line of the book in the project, with this build of sluice first on PATH.
fn shell(test: &ProjectTest, line: &str, envs: &[(&str, &str)]) -> Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_sluice"));
    let mut cmd = std::process::Command::new("sh");
    test.isolate(&mut cmd);
    let path = format!(
        "{}:{}",
        bin.parent().expect("bin dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    cmd.arg("-c")
        .arg(line)
        .current_dir(test.path())
        .env("PATH", path)
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_FILE")
        .stdin(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("sh runs")
}

#[test]
fn the_book_examples_run() {
    let yaml = book_blocks("yaml");
    let project_yml = yaml
        .iter()
        .find(|b| b.starts_with("packages:"))
        .expect("the project.yml example");
    let test = ProjectTest::empty()
        .write(
            "sluice.toml",
            "[environments.dev]\nnamespace = \"dev\"\n\n[environments.prod]\nnamespace = \"prod\"\nsecrets = \"secrets/dev.yaml\"\n",
        )
        .write("project.yml", project_yml)
        .write("packages/app/hello.js", FUNCTION);
    let sh = book_blocks("sh");
    let run_block = |block: &str, envs: &[(&str, &str)]| {
        for line in block.lines().filter(|l| !l.trim().is_empty()) {
            let out = shell(&test, line, envs);
            assert!(out.status.success(), "{line}: {}", text(&out));
        }
    };
    run_block(&sh[0], &[]);
    run_block(&sh[1], &[("VALUE", API_KEY)]);
    ok(&test, &["secrets", "set", "dev", "TOKEN"], Some(TOKEN));
    let got = shell(&test, "sluice secrets get dev API_KEY", &[]);
    assert_eq!(String::from_utf8_lossy(&got.stdout), format!("{API_KEY}\n"));

    // The check's output as the book shows it.
    let file = std::fs::read_to_string(test.path().join("secrets/dev.yaml")).expect("file");
    let test = test.write("leaky.yaml", format!("LEAKED: value\n{file}"));
    let out = shell(
        &test,
        "sluice secrets check leaky.yaml secrets/dev.yaml",
        &[],
    );
    assert!(!out.status.success());
    let shown = book_blocks("text").remove(0);
    let first = shown.lines().next().expect("a line");
    assert!(text(&out).contains(first), "{}", text(&out));
    assert!(text(&out).contains("1 of 2 secrets files hold plaintext"));

    // The shipped pre-commit hook runs that command on files under secrets/.
    let hooks: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"),
        )
        .expect(".pre-commit-hooks.yaml"),
    )
    .expect("yaml");
    let hook = &hooks[0];
    assert_eq!(hook["id"], "sluice-secrets-check");
    assert_eq!(hook["entry"], "sluice secrets check");
    let files = regex::Regex::new(hook["files"].as_str().expect("files")).expect("regex");
    assert!(files.is_match("secrets/dev.yaml") && files.is_match("a/secrets/prod.env"));
    assert!(!files.is_match("project.yml"));

    // CI: the key only in SOPS_AGE_KEY.
    let test = test.remove("leaky.yaml");
    ok(&test, &["local", "namespace", "create", "prod"], None);
    ok(&test, &["namespace", "use", "prod"], None);
    let key_file = test.home().join(".config/sops/age/keys.txt");
    let key = std::fs::read_to_string(&key_file).expect("key");
    std::fs::remove_file(&key_file).expect("remove");
    let ci = sh.last().expect("the CI line");
    let out = shell(&test, ci.trim(), &[("CI_AGE_KEY", key.trim())]);
    assert!(out.status.success(), "{}", text(&out));
    assert_hidden("the CI deploy", &text(&out));
    let result: Value =
        serde_json::from_slice(&ok(&test, &["invoke", "app/hello"], None).stdout).expect("json");
    assert_eq!(result["token"], TOKEN);
    assert_eq!(result["apiKey"], API_KEY);
}

fn snapshot_filters() -> Vec<(String, String)> {
    vec![
        (r"age1[0-9a-z]{58}".to_string(), "[RECIPIENT]".to_string()),
        (
            r"http://127\.0\.0\.1:\d+".to_string(),
            "[LOCAL]".to_string(),
        ),
    ]
}

#[test]
fn transcripts_of_init_check_and_a_masked_hook_line() {
    let test = project()
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_FILE")
        .write(
            "hooks/tell.lua",
            "local sluice = require(\"sluice\")\nsluice.on(\"read:after\", function(project)\n  sluice.log.info(\"token is \" .. project.packages[1].functions[1].parameters.token)\nend)\n",
        );
    sluice_snapshot!(
        filters = snapshot_filters(),
        "secrets_init",
        test.command(["secrets", "init", "dev"])
    );
    ok(&test, &["secrets", "set", "dev", "TOKEN"], Some(TOKEN));
    let file = std::fs::read_to_string(test.path().join("secrets/dev.yaml")).expect("file");
    let test = test.write("leaky.yaml", format!("LEAKED: value\n{file}"));
    sluice_snapshot!(
        filters = snapshot_filters(),
        "secrets_check_fails",
        test.command(["secrets", "check", "secrets/dev.yaml", "leaky.yaml"])
    );
    ok(&test, &["local", "namespace", "create", "dev"], None);
    ok(&test, &["namespace", "use", "dev"], None);
    let out = sluice_snapshot!(
        filters = snapshot_filters(),
        "secrets_deploy_masked",
        test.command(["deploy", ".", "-e", "dev", "--hook", "hooks/tell.lua"])
    );
    assert_hidden("deploy", &text(&out));
}
