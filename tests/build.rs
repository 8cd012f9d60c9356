//! `sluice build`: the build cases of the deployer spec (§15: build-env, empty_zip,
//! filtering, ignoring, script-types, use-lib), every build kind, reproducible zips,
//! incremental reuse and failures — with real bash and npm, reading the zips back.

mod common;

use std::io::Read;
use std::path::Path;

use common::ProjectTest;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Names of a zip's entries, in order.
fn zip_names(zip: &Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let archive = zip::ZipArchive::new(std::fs::File::open(zip)?)?;
    Ok(archive
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<_, _>>()?)
}

fn zip_text(zip: &Path, name: &str) -> Result<String, Box<dyn std::error::Error>> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip)?)?;
    let mut text = String::new();
    archive.by_name(name)?.read_to_string(&mut text)?;
    Ok(text)
}

/// A fixture of this file's own (`tests/fixtures/build/<name>`), with npm kept offline.
fn build_fixture(name: &str) -> ProjectTest {
    offline_npm(ProjectTest::fixture(&format!("build/{name}")))
}

/// npm can take more than 5 s on a busy machine; its "Still running" notices are not stable.
fn no_still_running() -> Vec<(String, String)> {
    vec![(r"(?m)^Still running .*\n".to_string(), String::new())]
}

fn offline_npm(test: ProjectTest) -> ProjectTest {
    test.env("npm_config_audit", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_update_notifier", "false")
        .env("npm_config_offline", "true")
}

#[test]
fn build_env_entries_reach_build_sh() -> TestResult {
    let test = build_fixture("build-env");
    sluice_snapshot!(test.command(["build", ".", "--build-env", "build.env"]));
    let zip = test
        .path()
        .join("packages/test-build-env/test/__deployer__.zip");
    assert_eq!(zip_names(&zip)?, ["config.json", "index.js"]);
    assert_eq!(zip_text(&zip, "config.json")?.trim(), r#"{"name":"sammy"}"#);
    Ok(())
}

#[test]
fn empty_zip_fails_without_writing_a_zip() {
    let test = build_fixture("empty_zip");
    sluice_snapshot!(test.command(["build", "."]));
    assert!(
        !test
            .path()
            .join("packages/default/action/__deployer__.zip")
            .exists()
    );
}

#[test]
fn filtering_deploys_the_one_lib_file_left_after_exclusion() {
    let test = ProjectTest::fixture("filtering");
    sluice_snapshot!(test.command(["build", "."]));
    assert!(
        !test
            .path()
            .join("packages/test-filtering/test/__deployer__.zip")
            .exists()
    );
}

#[test]
fn ignoring_never_mentions_system_files() {
    let test = ProjectTest::fixture("ignoring");
    let out = sluice_snapshot!(test.command(["build", "."]));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        !text.contains(".gitignore") && !text.contains(".DS_Store"),
        "{text}"
    );
}

#[test]
fn script_types_cmd_only_cannot_run_here() {
    let test = ProjectTest::fixture("script-types");
    sluice_snapshot!(
        "script_types_cmd_only",
        test.command(["build", ".", "--include", "test-script-types/cmd-only"])
    );
}

#[test]
fn script_types_sh_only_and_both_build() -> TestResult {
    let test = ProjectTest::fixture("script-types");
    sluice_snapshot!(
        "script_types_sh_and_both",
        test.command([
            "build",
            ".",
            "--build-jobs",
            "1",
            "--include",
            "test-script-types/sh-only,test-script-types/both",
        ])
    );
    // build.sh and build.cmd never reach the zip; both functions have just hello.js.
    assert!(
        !test
            .path()
            .join("packages/test-script-types/both/__deployer__.zip")
            .exists()
    );
    Ok(())
}

#[test]
fn use_lib_builds_lib_first_then_deploys_its_output() -> TestResult {
    let test = ProjectTest::fixture("use-lib");
    assert!(!test.path().join("lib/hello.js").exists());
    sluice_snapshot!(test.command(["build", ".", "--build-jobs", "1"]));
    assert!(test.path().join("lib/hello.js").exists());
    Ok(())
}

#[test]
fn every_build_kind_becomes_one_artifact() -> TestResult {
    let test = build_fixture("kinds");
    sluice_snapshot!(
        filters = no_still_running(),
        test.command(["build", ".", "--build-jobs", "1"])
    );
    let zip = |f: &str| {
        test.path()
            .join("packages/demo")
            .join(f)
            .join("__deployer__.zip")
    };
    assert_eq!(
        zip_names(&zip("zipped"))?,
        ["data/config.json", "index.js", "lib/util.js", "run.sh"]
    );
    assert_eq!(zip_names(&zip("ignored"))?, ["helper.js", "index.js"]);
    assert_eq!(
        zip_names(&zip("included"))?,
        ["index.js", "shared/helper.js"]
    );
    assert_eq!(
        zip_names(&zip("scripted"))?,
        ["generated/main.js", "index.js"]
    );
    let npm = zip_names(&zip("npm"))?;
    for expected in ["dist.js", "package.json", "package-lock.json", "src.js"] {
        assert!(
            npm.iter().any(|n| n == expected),
            "{expected} missing from {npm:?}"
        );
    }
    #[cfg(unix)]
    {
        let mut archive = zip::ZipArchive::new(std::fs::File::open(zip("zipped"))?)?;
        let mode = archive.by_name("run.sh")?.unix_mode().map(|m| m & 0o777);
        assert_eq!(mode, Some(0o755));
    }
    Ok(())
}

#[test]
fn json_output_lists_each_function() {
    let test = build_fixture("kinds");
    sluice_snapshot!(test.command(["build", ".", "--json", "--exclude", "demo/npm"]));
}

#[test]
fn zips_are_byte_identical_across_builds_and_touches() -> TestResult {
    let test = build_fixture("kinds");
    let args = ["build", ".", "--exclude", "demo/npm,demo/scripted"];
    let zips = ["zipped", "ignored", "included"].map(|f| {
        test.path()
            .join("packages/demo")
            .join(f)
            .join("__deployer__.zip")
    });
    let read_all = || -> std::io::Result<Vec<Vec<u8>>> { zips.iter().map(std::fs::read).collect() };

    assert!(test.command(args).output()?.status.success());
    let first = read_all()?;
    assert!(test.command(args).output()?.status.success());
    assert_eq!(read_all()?, first, "a second build changed the zips");

    // Every file of the project gets a new modification time.
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    touch_tree(test.path(), later)?;
    assert!(test.command(args).output()?.status.success());
    assert_eq!(read_all()?, first, "touching the files changed the zips");
    Ok(())
}

fn touch_tree(dir: &Path, when: std::time::SystemTime) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            touch_tree(&entry.path(), when)?;
        } else if entry.file_type()?.is_file() {
            std::fs::File::options()
                .write(true)
                .open(entry.path())?
                .set_modified(when)?;
        }
    }
    Ok(())
}

#[test]
fn incremental_builds_reuse_zips_and_skip_built_scripts() -> TestResult {
    let test = build_fixture("kinds");
    let args = [
        "build",
        ".",
        "--build-jobs",
        "1",
        "--exclude",
        "demo/npm",
        "--incremental",
        "--verbose-zip",
        "--verbose-build",
    ];
    // The first run builds everything (scripted's build.sh leaves a .built marker) ...
    assert!(test.command(args).output()?.status.success());
    let scripted = test.path().join("packages/demo/scripted");
    assert!(scripted.join(".built").exists());
    let before = std::fs::read(scripted.join("__deployer__.zip"))?;
    // ... the second skips the script and reuses every zip.
    sluice_snapshot!(test.command(args));
    assert_eq!(std::fs::read(scripted.join("__deployer__.zip"))?, before);
    // A deleted file changes the file set: that zip is written again.
    std::fs::remove_file(test.path().join("packages/demo/zipped/run.sh"))?;
    let out = test.command(args).output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Zipping action contents in packages/demo/zipped"),
        "{stdout}"
    );
    assert!(stdout.contains("  - demo/zipped: built "), "{stdout}");
    Ok(())
}

#[test]
fn a_failed_build_shows_its_output_and_fails_the_command() {
    let test = build_fixture("failing");
    sluice_snapshot!(test.command(["build", "."]));
}

#[test]
fn remote_default_go_functions_fail_naming_the_function() {
    let test = build_fixture("go-remote");
    sluice_snapshot!(test.command(["build", "."]));
}

#[test]
fn a_failed_lib_build_stops_the_whole_build() {
    let test = build_fixture("lib-fails");
    sluice_snapshot!(test.command(["build", "."]));
    assert!(!test.path().join("packages/p/a/__deployer__.zip").exists());
}
