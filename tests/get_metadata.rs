//! `sluice get-metadata`: every reading case of the deployer spec (§15), as snapshots of the
//! JSON or of the exact error text.

mod common;

use common::ProjectTest;

#[test]
fn harness_filters_redact_paths_digests_and_times() {
    let tmp = std::env::temp_dir().join(".tmpAbC123").join("project");
    let text = format!(
        "{} {} \"commit\": \"{}\" \"digest\": \"0a1b2c3d\" \"user\": \"alice\" 2026-11-21T20:07:49.123Z 1763755669123",
        tmp.display(),
        "ab".repeat(32),
        "cd".repeat(20),
    );
    insta::assert_snapshot!(common::redact(&text, &[]), @r#"[TEMP]/project [DIGEST] "commit": "[COMMIT]" "digest": "[DIGEST]" "user": "[USER]" [TIME] [EPOCH_MS]"#);
}

#[test]
fn harness_isolates_the_environment() {
    let test = ProjectTest::empty()
        .write("project.yml", "packages: []\n")
        .env("EXTRA", "1");
    let mut cmd = std::process::Command::new("sh");
    cmd.args([
        "-c",
        "echo $HOME $SLUICE_HOME $NIMBELLA_DIR $SLUICE_LOCAL_DIR ${DO_API_KEY:-none} $EXTRA; pwd",
    ]);
    test.isolate(&mut cmd);
    cmd.current_dir(test.path());
    let out = cmd.output().expect("run sh");
    let text = common::redact(&String::from_utf8_lossy(&out.stdout), &[]);
    insta::assert_snapshot!(text, @r"
    [TEMP]/home [TEMP]/home/.sluice [TEMP]/home/.nimbella [TEMP]/local none 1
    [TEMP]/project
    ");
}

#[test]
fn harness_snapshot_macro_records_exit_code_and_both_streams() {
    let test = ProjectTest::empty();
    let mut cmd = std::process::Command::new("sh");
    cmd.args([
        "-c",
        "echo \"$HOME\"; echo sha=$0 >&2; exit 3",
        &"e".repeat(64),
    ]);
    test.isolate(&mut cmd);
    sluice_snapshot!(filters = vec![("sha=".into(), "SHA:".into())], cmd, @r"
    success: false
    exit_code: 3
    ----- stdout -----
    [TEMP]/home

    ----- stderr -----
    SHA:[DIGEST]
    ");
}

/// `sluice get-metadata .` in the test's project.
fn get_metadata(test: &ProjectTest) -> std::process::Command {
    test.command(["get-metadata", "."])
}

fn get_metadata_with<const N: usize>(test: &ProjectTest, args: [&str; N]) -> std::process::Command {
    let mut cmd = get_metadata(test);
    cmd.args(args);
    cmd
}

// ---- spec §15 reading cases -------------------------------------------------------------

#[test]
fn config_types_invalid_annotations() {
    let test = ProjectTest::fixture("config_types/invalid-annotations");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn config_types_invalid_env() {
    let test = ProjectTest::fixture("config_types/invalid-env");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn config_types_invalid_parameters() {
    let test = ProjectTest::fixture("config_types/invalid-parameters");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn config_types_invalid_parameters_toplevel() {
    let test = ProjectTest::fixture("config_types/invalid-parameters-toplevel");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn environ_uses_the_project_env_file() {
    let test = ProjectTest::fixture("environ").env_remove("RUNTIME");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn environ_env_flag_replaces_the_project_env_file() {
    let test = ProjectTest::fixture("environ").env_remove("RUNTIME");
    sluice_snapshot!(get_metadata_with(&test, ["--env", "test.env"]));
}

#[test]
fn environ_process_environment_wins() {
    let test = ProjectTest::fixture("environ").env("RUNTIME", "python:3.9");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn environ_missing_env_file_is_an_error() {
    let test = ProjectTest::fixture("environ");
    sluice_snapshot!(get_metadata_with(&test, ["--env", "nope.env"]));
}

#[test]
fn errors_misspelled_config_reads_both_packages() {
    // The read succeeds; the deploy reports `emayl/verifier` as not in the project.
    let test = ProjectTest::fixture("errors/misspelled-config");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn filtering_include_from_lib() {
    let test = ProjectTest::fixture("filtering");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn ignoring_system_files_never_become_functions() {
    let test = ProjectTest::fixture("ignoring");
    let output = sluice_snapshot!(get_metadata(&test));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains(".gitignore") && !stdout.contains(".DS_Store"));
}

#[test]
fn include_exclude_exclude_a_package() {
    let test = ProjectTest::fixture("include_exclude");
    sluice_snapshot!(get_metadata_with(&test, ["--exclude", "test-ie-admin"]));
}

#[test]
fn include_exclude_include_one_function() {
    let test = ProjectTest::fixture("include_exclude");
    sluice_snapshot!(get_metadata_with(
        &test,
        ["--include", "test-ie-printer/notify"]
    ));
}

#[test]
fn include_exclude_include_and_exclude() {
    let test = ProjectTest::fixture("include_exclude");
    sluice_snapshot!(get_metadata_with(
        &test,
        [
            "--include",
            "test-ie-admin/,test-ie-printer",
            "--exclude",
            "test-ie-printer/notify,test-ie-printer/update",
        ]
    ));
}

#[test]
fn multi_line_values_keep_literal_backslash_n() {
    let test = ProjectTest::fixture("multi_line").env_remove("MULTI");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn multi_substitute_dictionaries_tabs_and_falsy_keys() {
    let test = ProjectTest::fixture("multi_substitute")
        .env("A", "this is A")
        .env("B", "this is B")
        .env("C", "this is C");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn package_binding_is_read() {
    let test = ProjectTest::fixture("package-binding");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn package_binding_with_functions_is_still_read() {
    // "a bound package may not contain functions of its own" is a deploy-time check (§4.4).
    let test = ProjectTest::fixture("package-binding").write(
        "packages/test-package-binding/ringer.js",
        "function main() {}\n",
    );
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn script_types_cmd_only_wont_run_here() {
    let test = ProjectTest::fixture("script-types");
    sluice_snapshot!(get_metadata_with(
        &test,
        ["--include", "test-script-types/cmd-only"]
    ));
}

#[test]
fn script_types_sh_only() {
    let test = ProjectTest::fixture("script-types");
    sluice_snapshot!(get_metadata_with(
        &test,
        ["--include", "test-script-types/sh-only"]
    ));
}

#[test]
fn script_types_both() {
    let test = ProjectTest::fixture("script-types");
    sluice_snapshot!(get_metadata_with(
        &test,
        ["--include", "test-script-types/both"]
    ));
}

#[test]
fn sequence_config_only_functions() {
    let test = ProjectTest::fixture("sequence");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn split_params_at_three_levels() {
    let test = ProjectTest::fixture("split_params");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn triggers_scheduled_and_legacy() {
    let test = ProjectTest::fixture("triggers");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn triggers_refused_with_no_triggers() {
    let test = ProjectTest::fixture("triggers");
    sluice_snapshot!(get_metadata_with(&test, ["--no-triggers"]));
}

#[test]
fn unweb_functions_are_web_by_default() {
    let test = ProjectTest::fixture("unweb/no-config");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn unweb_with_config() {
    let test = ProjectTest::fixture("unweb/with-config");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn use_lib_include_from_a_built_lib() {
    let test = ProjectTest::fixture("use-lib");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn validate_runtime_rejects_unknown_runtimes() {
    let test = ProjectTest::fixture("validate_runtime");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn yaml_alias_anchors_merge_keys_and_repeated_names() {
    let test = ProjectTest::fixture("yaml_alias");
    sluice_snapshot!(get_metadata(&test));
}

// ---- App Platform: unresolved variables -------------------------------------------------

#[test]
fn unresolved_variables_give_the_config_part_and_exit_0() {
    let test = ProjectTest::fixture("unresolved")
        .env_remove("API_KEY")
        .env_remove("REGION")
        .env_remove("ZONE");
    sluice_snapshot!(get_metadata(&test));
}

// ---- bad input never panics -------------------------------------------------------------

#[test]
fn malformed_project_yml_names_the_line() {
    let test = ProjectTest::fixture("malformed");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn empty_project_yml() {
    let test = ProjectTest::empty().write("project.yml", "# nothing here\n");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn tabs_in_project_yml() {
    let test = ProjectTest::empty().write("project.yml", "packages:\n\t- name: p\n");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn directory_function_with_no_files() {
    let test = ProjectTest::fixture("ignoring").mkdir("packages/test-ignoring/empty/sub");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn include_together_with_ignore() {
    let test = ProjectTest::empty()
        .write("packages/p/both/.include", "index.js\n")
        .write("packages/p/both/.ignore", "*.md\n")
        .write("packages/p/both/index.js", "function main() {}\n");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn duplicate_function_names() {
    let test = ProjectTest::empty()
        .write("packages/p/hello.js", "function main() {}\n")
        .write("packages/p/hello/index.js", "function main() {}\n");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn project_that_does_not_exist() {
    let test = ProjectTest::empty();
    sluice_snapshot!(test.command(["get-metadata", "no-such-dir"]));
}

#[test]
fn hello_example() {
    let test = ProjectTest::from_dir("examples/hello");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn git_clone_annotation_names_repository_and_commit() {
    // Spec §16 item 30: `git rev-parse HEAD`, so a clone is recognised on Linux too.
    let test = ProjectTest::fixture("unweb/no-config")
        .git_clone_of("git@github.com:sluice-test/fixture.git");
    sluice_snapshot!(get_metadata(&test));
}

#[test]
fn environ_unresolved_runtime_fails_validation() {
    // `<RUNTIME>` is substituted, then rejected as a runtime: the validation error wins
    // over the unresolved variable (spec §3 step 9).
    let test = ProjectTest::fixture("environ")
        .env_remove("RUNTIME")
        .remove(".env");
    sluice_snapshot!(get_metadata(&test));
}

// ---- conformance with the original's output ---------------------------------------------

/// The printed JSON of a successful `get-metadata`.
fn metadata_json(output: &std::process::Output) -> serde_json::Value {
    assert!(output.status.success(), "get-metadata failed: {output:?}");
    serde_json::from_slice(&output.stdout).expect("get-metadata prints JSON")
}

#[test]
fn files_directly_in_packages_are_strays_by_bare_name() {
    // The original pushes `dirent.name`, and lists the `packages/` strays before the top
    // level's (`actionsPart.strays.concat(configPart.strays)`).
    let test = ProjectTest::empty()
        .write("packages/README.md", "# notes\n")
        .write("packages/p/hello.js", "function main() {}\n")
        .write("notes.txt", "top level\n");
    let output = sluice_snapshot!(get_metadata(&test));
    assert_eq!(
        metadata_json(&output)["strays"],
        serde_json::json!(["README.md", "notes.txt"])
    );
}

#[test]
fn missing_file_substitution_names_the_file_and_line() {
    // The original left `<<missing.env>` as an unresolved marker, which then failed
    // validation as "environment member must be a dictionary"; sluice names the file.
    let test = ProjectTest::empty()
        .write(
            "project.yml",
            "environment:\n  SETTINGS: ${<missing.env}\n  OTHER: ${<empty.env}\n",
        )
        .write("empty.env", "# no properties\n");
    let output = sluice_snapshot!(get_metadata(&test));
    assert!(!output.status.success());
}

#[test]
fn unresolved_variables_print_functions_as_written() {
    // The original prints its `configPart`: functions as project.yml has them (no `package`,
    // no web default, no runtime, nothing from packages/), the top-level strays, the
    // annotation and the lib build.
    let test = ProjectTest::empty()
        .env_remove("NOPE")
        .write(
            "project.yml",
            "packages:\n  - name: p\n    functions:\n      - name: configured\n        environment:\n          KEY: ${NOPE}\n",
        )
        .write("packages/p/configured.js", "function main() {}\n")
        .write("packages/p/on-disk.js", "function main() {}\n")
        .write("packages/stray-in-packages.txt", "x\n")
        .write("lib/helper.js", "module.exports = {}\n")
        .write("top-stray.txt", "x\n");
    let output = sluice_snapshot!(get_metadata(&test));
    let json = metadata_json(&output);
    assert_eq!(
        json["packages"],
        serde_json::json!([{"name": "p", "functions": [
            {"name": "configured", "environment": {"KEY": "<NOPE>"}}
        ]}])
    );
    assert_eq!(json["strays"], serde_json::json!(["top-stray.txt"]));
    assert_eq!(json["libBuild"], "identify");
    assert!(json["deployerAnnotation"]["projectPath"].is_string());
}

#[test]
fn a_binding_package_has_no_functions_member() {
    // `renameActionsToFunctions` only renames an `actions` array that exists; a package
    // from project.yml with no functions (a binding) has none, while a folder always gives
    // one, even an empty one.
    let test = ProjectTest::fixture("package-binding").mkdir("packages/empty-folder");
    let output = sluice_snapshot!(get_metadata(&test));
    let json = metadata_json(&output);
    let packages = json["packages"].as_array().expect("packages");
    let by_name = |n: &str| {
        packages
            .iter()
            .find(|p| p["name"] == n)
            .unwrap_or_else(|| panic!("package {n}"))
    };
    assert!(by_name("test-package-binding").get("functions").is_none());
    assert_eq!(by_name("empty-folder")["functions"], serde_json::json!([]));
}

#[cfg(unix)]
#[test]
fn a_clone_runs_git_once_and_reads_project_yml_once() {
    // One `git` process per run (the annotation's status); the config is read by one open.
    let test = ProjectTest::fixture("unweb/no-config")
        .write("project.yml", "parameters:\n  a: 1\n")
        .git_clone_of("git@github.com:sluice-test/fixture.git");
    let Ok(real_git) = which_git() else {
        return;
    };
    let bin = test.temp().join("fake-bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let log = test.temp().join("git-calls.log");
    let script = bin.join("git");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            real_git
        ),
    )
    .expect("write the git wrapper");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = get_metadata(&test).env("PATH", path).output().expect("run");
    let json = metadata_json(&output);
    assert_eq!(
        json["deployerAnnotation"]["repository"],
        "git@github.com:sluice-test/fixture.git"
    );
    let calls = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(calls.lines().count(), 1, "git calls: {calls}");
}

fn which_git() -> Result<String, ()> {
    let out = std::process::Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .map_err(|_| ())?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if path.is_empty() { Err(()) } else { Ok(path) }
}
