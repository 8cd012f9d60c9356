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
