//! `-o/--output text|json` (doctl's flag) beside `--json`, on every command that prints data:
//! one table of commands, each run with `-o json` and required to print one JSON document on
//! stdout; and a check against the generated man pages that the table names every command
//! that has the flag, so a new command cannot be left out.

mod common;
mod deploy_support;

use std::collections::BTreeSet;
use std::process::Stdio;

use common::ProjectTest;
use deploy_support::{AUTH, FakeWhisk};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Runs `sluice <args> -o json` and parses its stdout.
fn json_of(test: &ProjectTest, args: &[&str]) -> Result<serde_json::Value, String> {
    let out = test
        .command(args)
        .args(["-o", "json"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "{args:?} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_str(&stdout).map_err(|e| format!("{args:?} printed no JSON ({e}):\n{stdout}"))
}

/// The commands run against the local namespace, in an order where each finds what it needs.
const LOCAL: &[&[&str]] = &[
    &["init", "fresh"],
    &["deploy"],
    &["plan", "."],
    &["build", "."],
    &["get-metadata", "."],
    &["hooks", "list", "."],
    &["plugins", "list"],
    &["version"],
    &["functions", "list"],
    &["functions", "get", "hello/greet"],
    &["invoke", "hello/greet", "-p", "name", "World"],
    &["functions", "invoke", "hello/greet"],
    &["activations", "list"],
    &["activations", "get", "--last"],
    &["activations", "logs", "--last"],
    &["activations", "result", "--last"],
    &["triggers", "list"],
    &["namespace", "list"],
    &["local", "status"],
    &["local", "logs"],
    &["local", "namespace", "create", "scratch"],
    &["local", "namespace", "list"],
    &["local", "namespace", "delete", "scratch"],
    &["env", "list", "."],
    &["env", "current", "."],
    &[
        "namespace",
        "create",
        "--label",
        "extra",
        "--local",
        "--no-connect",
    ],
    &["namespace", "list", "--remote", "--local"],
    &["namespace", "delete", "extra", "--local", "--yes"],
    &["env", "history", "prod", "."],
    &["man"],
    &["undeploy", "hello/greet"],
    &["local", "stop"],
];

/// The commands run against the fake controller (a real, stored namespace).
const STORED: &[&[&str]] = &[
    &["namespace", "current"],
    &["namespace", "use", "test-ns"],
    &["triggers", "get", "invoke1"],
    &["namespace", "remove", "test-ns"],
];

#[test]
fn every_command_prints_json_with_dash_o_json() -> TestResult {
    let test = ProjectTest::from_dir("examples/hello");
    for args in LOCAL {
        if args[0] == "undeploy" {
            let invoked = json_of(&test, &["invoke", "hello/greet", "--param", "name:World"])?;
            assert!(invoked.to_string().contains("Hello World"), "{invoked}");
        }
        json_of(&test, args)?;
    }

    let whisk = FakeWhisk::start();
    let stored = ProjectTest::fixture("triggers").env("DIGITALOCEAN_ACCESS_TOKEN", "do-token");
    let uri = whisk.uri();
    let added = json_of(
        &stored,
        &["namespace", "add", "--apihost", &uri, "--auth", AUTH],
    )?;
    assert_eq!(added["namespace"], "test-ns");
    assert!(
        !added.to_string().contains("testkey"),
        "keys stay masked: {added}"
    );
    json_of(&stored, &["connect", "--apihost", &uri, "--auth", AUTH])?;
    json_of(&stored, &["deploy", "."])?;
    for args in STORED {
        json_of(&stored, args)?;
    }
    Ok(())
}

#[test]
fn text_is_the_default_and_the_two_spellings_conflict() -> TestResult {
    let test = ProjectTest::empty();
    let text = test.command(["version", "-o", "text"]).output()?;
    assert!(text.status.success());
    let shown = String::from_utf8_lossy(&text.stdout);
    assert!(!shown.trim_start().starts_with('{'), "{shown}");
    let both = test.command(["version", "--json", "-o", "text"]).output()?;
    assert!(!both.status.success());
    let bad = test.command(["version", "-o", "yaml"]).output()?;
    assert!(!bad.status.success());
    Ok(())
}

#[test]
fn the_table_covers_every_command_with_an_output_flag() -> TestResult {
    let test = ProjectTest::empty();
    let dir = test.temp().join("man");
    let out = test.command(["man", "--dir"]).arg(&dir).output()?;
    assert!(out.status.success());
    let mut with_flag = BTreeSet::new();
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        let page = std::fs::read_to_string(&path)?;
        if page.contains("\\-\\-json") && page.contains("\\-\\-output") {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            with_flag.insert(stem.trim_start_matches("sluice-").replace('-', " "));
        } else if page.contains("\\-\\-json") {
            panic!("{} has --json without -o/--output", path.display());
        }
    }
    let mut covered: BTreeSet<String> = BTreeSet::new();
    for args in LOCAL.iter().chain(STORED) {
        let words: Vec<&str> = args
            .iter()
            .take_while(|a| !a.starts_with('-'))
            .copied()
            .collect();
        for n in 1..=words.len().min(3) {
            covered.insert(words[..n].join(" ").replace('-', " "));
        }
    }
    // Run above with arguments of their own; `plugins install -o json` builds a crate, so
    // tests/plugins_install.rs runs it; `serve -o json` runs until stopped, so
    // tests/serve_banner.rs reads its one document and stops it; `watch -o json` prints NDJSON
    // until stopped, which tests/watch.rs reads line by line. `env create|delete` need a
    // sluice.toml with environments: tests/do_namespaces.rs reads their JSON; `promote` needs
    // a project with environments in two namespaces, so tests/promote.rs runs it with --json.
    // `plugins trust` needs a built library: tests/cli_json.rs builds one and reads its JSON.
    covered.extend(
        [
            "namespace add",
            "connect",
            "env create",
            "env delete",
            "plugins install",
            "plugins trust",
            "serve",
            "watch",
            "promote",
        ]
        .map(String::from),
    );
    let missing: Vec<_> = with_flag.difference(&covered).collect();
    assert!(with_flag.contains("functions list"), "{with_flag:?}");
    assert!(missing.is_empty(), "-o json is not tested for: {missing:?}");
    Ok(())
}
