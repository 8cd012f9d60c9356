//! The script builder with real bash, on real directories, reading the zips back.

#![cfg(unix)]

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use sluice_core::feedback::Level;
use sluice_core::{ActionSpec, BuildContext, BuildJob, BuildStatus, Builder, Flags, Recorder};
use sluice_script_builder::ScriptBuilder;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn write(root: &Path, rel: &str, text: &str) -> std::io::Result<()> {
    let p = root.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&p, text)?;
    if rel.ends_with(".sh") {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

fn action(file: &str, runtime: Option<&str>) -> ActionSpec {
    ActionSpec {
        name: file.rsplit('/').next().unwrap_or(file).to_string(),
        file: Some(file.to_string()),
        runtime: runtime.map(str::to_string),
        build: Some("build.sh".to_string()),
        ..Default::default()
    }
}

fn ctx(root: &Path, flags: Flags) -> (BuildContext, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let mut c = BuildContext::new(root, flags);
    c.best_project_name = "proj".to_string();
    c.feedback = recorder.clone();
    (c, recorder)
}

fn zip_text(zip: &Path, name: &str) -> Result<String, Box<dyn std::error::Error>> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip)?)?;
    let mut text = String::new();
    archive.by_name(name)?.read_to_string(&mut text)?;
    Ok(text)
}

fn build(
    c: &BuildContext,
    package: &str,
    a: &ActionSpec,
) -> sluice_core::Result<Option<sluice_core::Artifact>> {
    ScriptBuilder.build(&BuildJob::Action { package, action: a }, c)
}

#[test]
fn build_env_entries_reach_the_script_and_override_the_process_env() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let d = "packages/test-build-env/test";
    write(
        tmp.path(),
        &format!("{d}/index.js"),
        "const c = require('./config.json');",
    )?;
    write(
        tmp.path(),
        &format!("{d}/build.sh"),
        "#!/bin/bash\necho \"{\\\"name\\\":\\\"$USER_NAME\\\",\\\"path\\\":\\\"$PATH\\\"}\" > config.json\n",
    )?;
    let (mut c, rec) = ctx(tmp.path(), Flags::default());
    c.build_env.insert("USER_NAME".into(), "sammy".into());
    c.build_env.insert("PATH".into(), "/usr/bin:/bin".into());
    let art =
        build(&c, "test-build-env", &action(d, Some("nodejs:default")))?.ok_or("no artifact")?;
    assert_eq!(art.file, format!("{d}/__deployer__.zip"));
    assert_eq!(art.status, BuildStatus::Built);
    let config = zip_text(&tmp.path().join(&art.file), "config.json")?;
    assert_eq!(config.trim(), r#"{"name":"sammy","path":"/usr/bin:/bin"}"#);
    // build.sh itself is never part of the zip.
    assert!(zip_text(&tmp.path().join(&art.file), "build.sh").is_err());
    let lines: Vec<String> = rec.lines().into_iter().map(|(_, l)| l).collect();
    assert_eq!(
        lines,
        [
            format!("Started running ./build.sh in proj/{d}"),
            format!("Finished running ./build.sh in proj/{d}"),
        ]
    );
    Ok(())
}

#[test]
fn a_failed_script_reports_its_output_and_exit_code() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let d = "packages/p/bad";
    write(tmp.path(), &format!("{d}/index.js"), "x")?;
    write(
        tmp.path(),
        &format!("{d}/build.sh"),
        "echo compiling\necho oops >&2\nexit 3\n",
    )?;
    let (c, rec) = ctx(tmp.path(), Flags::default());
    let err = build(&c, "p", &action(d, None)).expect_err("exit 3");
    assert_eq!(err.to_string(), "'./build.sh' exited with code 3");
    let abs = tmp.path().join(d);
    assert_eq!(
        rec.warnings(),
        [
            format!("Output of failed build in {}", abs.display()),
            "compiling\noops".to_string()
        ]
    );
    assert!(!abs.join("__deployer__.zip").exists());
    Ok(())
}

#[test]
fn a_script_without_shebang_runs_in_bash() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let d = "packages/p/plain";
    write(
        tmp.path(),
        &format!("{d}/build.sh"),
        "[[ -n \"$BASH_VERSION\" ]] && echo 'exports.main = 1' > main.js\n",
    )?;
    let (c, _) = ctx(tmp.path(), Flags::default());
    let art = build(&c, "p", &action(d, None))?.ok_or("no artifact")?;
    // One file after the build: deployed as it is.
    assert_eq!(art.file, format!("{d}/main.js"));
    assert_eq!(art.runtime.as_deref(), Some("nodejs:default"));
    Ok(())
}

#[test]
fn only_build_scripts_leave_no_included_files_and_no_zip() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let d = "packages/default/action";
    write(tmp.path(), &format!("{d}/build.sh"), "echo built\n")?;
    write(tmp.path(), &format!("{d}/build.cmd"), "echo built\n")?;
    let (c, _) = ctx(tmp.path(), Flags::default());
    let err = build(&c, "default", &action(d, Some("nodejs:default"))).expect_err("empty");
    assert_eq!(err.to_string(), "Action 'action' has no included files");
    assert!(!tmp.path().join(d).join("__deployer__.zip").exists());
    Ok(())
}

#[test]
fn incremental_builds_skip_when_built_marker_exists() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let d = "packages/p/inc";
    write(tmp.path(), &format!("{d}/index.js"), "x")?;
    write(
        tmp.path(),
        &format!("{d}/build.sh"),
        "echo run >> runs.log\ntouch .built\n",
    )?;
    let flags = Flags {
        incremental: true,
        verbose_build: true,
        ..Flags::default()
    };
    let (c, rec) = ctx(tmp.path(), flags);
    let a = action(d, None);
    assert_eq!(
        build(&c, "p", &a)?.ok_or("none")?.status,
        BuildStatus::Built
    );
    assert_eq!(
        build(&c, "p", &a)?.ok_or("none")?.status,
        BuildStatus::Skipped
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join(d).join("runs.log"))?,
        "run\n"
    );
    assert!(
        rec.lines()
            .iter()
            .any(|(level, l)| *level == Level::Progress
                && l == &format!(
                    "Skipping build in proj/{d} because the action was previously built"
                ))
    );
    // Without --incremental the marker is ignored.
    let (c, _) = ctx(tmp.path(), Flags::default());
    assert_eq!(
        build(&c, "p", &a)?.ok_or("none")?.status,
        BuildStatus::Built
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join(d).join("runs.log"))?,
        "run\nrun\n"
    );
    Ok(())
}

#[test]
fn verbose_builds_stream_stdout_as_progress_and_stderr_as_warnings() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let d = "packages/p/loud";
    write(tmp.path(), &format!("{d}/a.js"), "x")?;
    write(tmp.path(), &format!("{d}/b.js"), "x")?;
    write(
        tmp.path(),
        &format!("{d}/build.sh"),
        "echo to-out\necho to-err >&2\nprintf tail\n",
    )?;
    let flags = Flags {
        verbose_build: true,
        ..Flags::default()
    };
    let (c, rec) = ctx(tmp.path(), flags);
    build(&c, "p", &action(d, None))?;
    let lines = rec.lines();
    assert!(lines.contains(&(Level::Progress, "to-out".to_string())));
    assert!(lines.contains(&(Level::Progress, "tail".to_string())));
    assert!(lines.contains(&(Level::Warn, "to-err".to_string())));
    Ok(())
}

#[test]
fn a_long_build_says_it_is_still_running_when_output_arrives() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let d = "packages/p/slow";
    write(tmp.path(), &format!("{d}/a.js"), "x")?;
    write(
        tmp.path(),
        &format!("{d}/build.sh"),
        "sleep 5.3\necho late\n",
    )?;
    let (c, rec) = ctx(tmp.path(), Flags::default());
    build(&c, "p", &action(d, None))?;
    let progress: Vec<String> = rec.lines().into_iter().map(|(_, l)| l).collect();
    assert_eq!(
        progress,
        [
            format!("Started running ./build.sh in proj/{d}"),
            format!("Still running ./build.sh in proj/{d}"),
            format!("Finished running ./build.sh in proj/{d}"),
        ]
    );
    Ok(())
}

#[test]
fn lib_builds_run_in_lib_and_return_no_artifact() -> TestResult {
    let tmp = tempfile::tempdir()?;
    write(
        tmp.path(),
        "lib/prototype",
        "function main() { return {body: 'Hello stranger!'} }",
    )?;
    write(tmp.path(), "lib/build.sh", "cp prototype hello.js\n")?;
    let (c, rec) = ctx(tmp.path(), Flags::default());
    let out = ScriptBuilder.build(&BuildJob::Lib { kind: "build.sh" }, &c)?;
    assert!(out.is_none());
    assert!(tmp.path().join("lib/hello.js").exists());
    assert_eq!(rec.lines()[0].1, "Started running ./build.sh in proj/lib");
    Ok(())
}
