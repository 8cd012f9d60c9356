//! A project's own plugin libraries (project.yml `plugins:`) run native code the moment they
//! are opened, so they are opened only when trusted: `sluice plugins trust <path>` records
//! the library's SHA-256 in `$SLUICE_HOME`, `--trust-project-plugins` trusts them for one
//! run (CI), and a library that changed since it was trusted is refused again.
//!
//! The library here is the most hostile kind: its constructor writes a marker file, so the
//! marker appears exactly when the library was opened. It is built with `cc`, which is on
//! every machine that links Rust.
#![cfg(target_os = "linux")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::ProjectTest;

const CONSTRUCTOR: &str = r#"
#include <stdio.h>
#include <stdlib.h>
__attribute__((constructor)) static void ran(void) {
    const char *marker = getenv("TRUST_TEST_MARKER");
    if (marker) {
        FILE *f = fopen(marker, "w");
        if (f) { fputs("the constructor ran\n", f); fclose(f); }
    }
}
int VERSION = VERSION_NUMBER;
"#;

/// Builds the library into `<project>/plugins/libhostile.so`, in its `version`.
fn build_library(test: &ProjectTest, version: u32) -> PathBuf {
    let dir = test.temp().join("csrc");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let source = dir.join("hostile.c");
    std::fs::write(&source, CONSTRUCTOR).expect("write C source");
    let lib = test.path().join("plugins").join("libhostile.so");
    std::fs::create_dir_all(lib.parent().expect("parent")).expect("mkdir");
    let status = Command::new("cc")
        .args([
            "-shared",
            "-fPIC",
            &format!("-DVERSION_NUMBER={version}"),
            "-o",
        ])
        .arg(&lib)
        .arg(&source)
        .status()
        .expect("cc runs");
    assert!(status.success(), "cc built the library");
    lib
}

fn project() -> (ProjectTest, PathBuf, PathBuf) {
    let test = ProjectTest::empty()
        .write(
            "project.yml",
            "plugins:\n  - plugins/libhostile.so\npackages:\n  - name: p\n",
        )
        .write(
            "packages/p/hello.js",
            "exports.main = () => ({ body: 'hi' })\n",
        );
    let marker = test.temp().join("marker");
    let lib = build_library(&test, 1);
    (test.env("TRUST_TEST_MARKER", &marker), lib, marker)
}

fn text(out: &Output) -> String {
    // miette wraps long messages: compare words.
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
    .replace('│', " ")
    .split_whitespace()
    .collect::<Vec<_>>()
    .join(" ")
}

fn assert_refused(test: &ProjectTest, args: &[&str], marker: &Path, lib: &Path, why: &str) {
    let out = test.run(args);
    let all = text(&out);
    assert!(!out.status.success(), "{args:?} must fail: {all}");
    assert!(
        !marker.exists(),
        "{args:?} opened the untrusted library: {all}"
    );
    assert!(all.contains(why), "{args:?}: {all}");
    // The library as project.yml names it, from where sluice ran; miette may break the
    // line inside the path, so compare without spaces.
    let squash = |t: &str| t.split_whitespace().collect::<String>();
    let relative = Path::new(".").join(lib.strip_prefix(test.path()).expect("in the project"));
    assert!(
        squash(&all).contains(&squash(&format!(
            "sluice plugins trust {}",
            relative.display()
        ))),
        "{args:?} names the command that trusts it: {all}"
    );
}

#[test]
fn an_untrusted_project_library_is_never_opened() {
    let (test, lib, marker) = project();
    for args in [
        &["get-metadata", "."][..],
        &["build", "."][..],
        &["deploy", "."][..],
    ] {
        assert_refused(&test, args, &marker, &lib, "it is not trusted");
    }
    // The listing shows it, unopened, with the command.
    let out = test.run(&["plugins", "list", "."]);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("Not loaded (not trusted)"), "{all}");
    assert!(!marker.exists());
}

#[test]
fn a_trusted_library_loads_until_it_changes() {
    let (test, lib, marker) = project();
    let out = test.run(&["plugins", "trust", "plugins/libhostile.so"]);
    assert!(out.status.success(), "{}", text(&out));
    let file = test.sluice_home().join("trusted-plugins.json");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file)
            .expect("trust file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the trust file is private");
    }
    let recorded = std::fs::read_to_string(&file).expect("trust file");
    assert!(
        recorded.contains(&lib.canonicalize().expect("canonical").display().to_string()),
        "{recorded}"
    );

    // Trusted: it is opened (its constructor runs); it is no sluice plugin, which is the
    // next check, and that is reported.
    let out = test.run(&["get-metadata", "."]);
    assert!(
        marker.exists(),
        "a trusted library is loaded: {}",
        text(&out)
    );
    assert!(text(&out).contains("not a sluice plugin"), "{}", text(&out));
    std::fs::remove_file(&marker).expect("rm marker");

    // Rebuilt with other bytes: untrusted again.
    build_library(&test, 2);
    assert_refused(
        &test,
        &["get-metadata", "."],
        &marker,
        &lib,
        "it changed since it was trusted",
    );
}

#[test]
fn trust_project_plugins_trusts_them_for_one_run() {
    let (test, _lib, marker) = project();
    let out = test.run(&["get-metadata", "--trust-project-plugins", "."]);
    assert!(marker.exists(), "{}", text(&out));
    std::fs::remove_file(&marker).expect("rm marker");
    // The environment variable does the same, for CI.
    let ci = test.env("SLUICE_TRUST_PROJECT_PLUGINS", "true");
    let out = ci.run(&["get-metadata", "."]);
    assert!(marker.exists(), "{}", text(&out));
}

#[test]
fn libraries_given_with_dash_dash_plugin_are_trusted_by_the_user_who_typed_them() {
    let (test, lib, marker) = project();
    let test = test.write("project.yml", "packages:\n  - name: p\n");
    let out = test.run(&["get-metadata", "--plugin", &lib.display().to_string(), "."]);
    assert!(marker.exists(), "{}", text(&out));
}

#[test]
fn trusting_something_that_is_not_there_fails_clearly() {
    let (test, _lib, _marker) = project();
    let out = test.run(&["plugins", "trust", "plugins/nope.so"]);
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("plugins/nope.so"), "{all}");
}
