//! Progress you can trust (issue 20, item 7): a quiet build is visibly alive. Off a terminal
//! a `still running (N s)` line appears after 10 s of silence; on a terminal (a real
//! pseudo-terminal, made with util-linux `script`) each build has a spinner with its elapsed
//! time.

mod common;

use std::process::{Command, Stdio};

use common::ProjectTest;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A project with one function whose build script is quiet for `seconds`.
fn slow_project(seconds: u32) -> ProjectTest {
    let test = ProjectTest::empty()
        .write(
            "packages/slow/wait/build.sh",
            format!("#!/bin/sh\nsleep {seconds}\n"),
        )
        .write(
            "packages/slow/wait/index.js",
            "exports.main = () => ({ body: 'done' });\n",
        );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let script = test.path().join("packages/slow/wait/build.sh");
        let _ = std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755));
    }
    test
}

#[test]
fn a_quiet_build_says_it_is_still_running_every_ten_seconds() -> TestResult {
    let test = slow_project(11);
    let out = test.command(["build", "."]).stdin(Stdio::null()).output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("still running (10 s): building slow/wait"),
        "{stdout}"
    );
    // Once the build has finished, the heartbeat stops: exactly one line for 11 s.
    assert_eq!(stdout.matches("still running").count(), 1, "{stdout}");
    Ok(())
}

#[test]
fn on_a_terminal_each_build_has_a_spinner_with_its_elapsed_time() -> TestResult {
    let has_script = Command::new("script")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_script || cfg!(not(target_os = "linux")) {
        eprintln!(
            "SKIPPED on_a_terminal_each_build_has_a_spinner_with_its_elapsed_time: needs util-linux 'script' for a pseudo-terminal"
        );
        return Ok(());
    }
    let test = slow_project(2);
    let sluice = insta_cmd::get_cargo_bin("sluice");
    let mut cmd = Command::new("script");
    cmd.args(["-q", "-e", "-c"])
        .arg(format!("{} build .", sluice.display()))
        .arg("/dev/null")
        .current_dir(test.path());
    test.isolate(&mut cmd);
    let out = cmd.env("TERM", "xterm").stdin(Stdio::null()).output()?;
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("building slow/wait ("), "{shown}");
    assert!(shown.contains("Results of building 1 function"), "{shown}");
    assert!(!shown.contains("still running"), "{shown}");
    Ok(())
}
