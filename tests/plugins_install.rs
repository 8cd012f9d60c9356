//! `sluice plugins install`: each example plugin's README is one command — install the crate
//! (built with cargo in release mode) into `$SLUICE_HOME/plugins/`, then the example deploys
//! with nothing else set; a built library installs the same way, and what is not a plugin is
//! refused before anything is copied.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::ProjectTest;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A sluice command whose cargo builds go to this test binary's own target directory: the
/// outer `cargo test` holds the lock of the main one while tests run.
fn command(test: &ProjectTest, args: &[&str]) -> Command {
    let mut cmd = test.command(args);
    cmd.env(
        "CARGO_TARGET_DIR",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugins-release"),
    )
    .stdin(Stdio::null());
    cmd
}

fn ok(mut cmd: Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| e.to_string())?;
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

fn library(krate: &str) -> String {
    format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        krate.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    )
}

#[test]
fn each_example_plugin_installs_in_one_command_and_its_example_deploys() -> TestResult {
    for (krate, dir, example, function) in [
        (
            "sluice-function-template",
            "examples/plugins/function-template",
            "examples/templated",
            "greetings/bonjour",
        ),
        (
            "sluice-functions-toml",
            "examples/plugins/functions-toml",
            "examples/toml-functions",
            "echo",
        ),
    ] {
        let test = ProjectTest::from_dir(example);
        let crate_dir = repo().join(dir);
        let installed = ok(command(
            &test,
            &[
                "plugins",
                "install",
                &crate_dir.display().to_string(),
                "-o",
                "json",
            ],
        ))?;
        let installed: serde_json::Value = serde_json::from_str(&installed)?;
        let dest = test.sluice_home().join("plugins").join(library(krate));
        assert_eq!(installed["path"], dest.display().to_string());
        assert!(dest.is_file(), "{krate} is in $SLUICE_HOME/plugins/");

        let deployed = ok(command(&test, &["deploy", "."]))?;
        assert!(deployed.contains(function), "{example}: {deployed}");
        let listed = ok(command(&test, &["plugins", "list"]))?;
        assert!(listed.contains("from home"), "{listed}");

        // Installing again (an update) replaces the library in place.
        let lib = PathBuf::from(
            installed["path"]
                .as_str()
                .ok_or("the JSON names the installed path")?,
        );
        let copy = test.temp().join(library(krate));
        std::fs::copy(&lib, &copy)?;
        let again = ok(command(
            &test,
            &["plugins", "install", &copy.display().to_string()],
        ))?;
        assert!(again.contains("Installed plugin"), "{again}");
    }
    Ok(())
}

#[test]
fn what_is_not_a_plugin_is_refused_before_anything_is_copied() -> TestResult {
    let test = ProjectTest::empty().write("libnot_a_plugin.so", "not a library");
    let fake = test.path().join("libnot_a_plugin.so");
    let err = ok(command(
        &test,
        &["plugins", "install", &fake.display().to_string()],
    ))
    .err()
    .unwrap_or_default();
    assert!(err.contains("libnot_a_plugin.so"), "{err}");
    let err = ok(command(&test, &["plugins", "install", "nowhere"]))
        .err()
        .unwrap_or_default();
    assert!(err.contains("neither a plugin crate"), "{err}");
    assert!(!test.sluice_home().join("plugins").exists());
    Ok(())
}
