//! Builds never outlive sluice and never hang it: SIGTERM (and Ctrl-C) of sluice stops the
//! running `build.sh` with every process it started; `--build-timeout` stops a build that
//! runs too long, naming the function and the command; and a failed build's long output is
//! cut to its head and tail in messages, with the whole log in a file the message names.
#![cfg(unix)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::ProjectTest;

/// A function whose `build.sh` records its pid and a background child's, then sleeps and
/// only afterwards writes its markers.
fn sleeping_build(markers: &Path) -> ProjectTest {
    let script = format!(
        "#!/bin/bash\n\
         echo $$ > '{m}/script.pid'\n\
         (sleep 4; touch '{m}/child-finished') &\n\
         echo $! > '{m}/child.pid'\n\
         sleep 4\n\
         touch '{m}/script-finished'\n",
        m = markers.display()
    );
    ProjectTest::empty()
        .write("packages/p/slow/build.sh", script)
        .write("packages/p/slow/index.js", "exports.main = () => ({})\n")
        .chmod_executable("packages/p/slow/build.sh")
}

trait Executable {
    fn chmod_executable(self, rel: &str) -> Self;
}

impl Executable for ProjectTest {
    fn chmod_executable(self, rel: &str) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path().join(rel);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("chmod build.sh");
        self
    }
}

fn alive(pid_file: &Path) -> bool {
    let Ok(pid) = std::fs::read_to_string(pid_file) else {
        return false;
    };
    Path::new("/proc").join(pid.trim()).exists()
        && !std::fs::read_to_string(Path::new("/proc").join(pid.trim()).join("stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stops_the_build_on(signal: &str, expected_code: i32) {
    let markers = tempfile::tempdir().expect("tempdir");
    let test = sleeping_build(markers.path());
    let sluice = test
        .command(["build", "."])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sluice starts");
    wait_for(&markers.path().join("child.pid"));
    let status = Command::new("kill")
        .args([signal, &sluice.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let out = sluice.wait_with_output().expect("sluice ends");
    assert_eq!(out.status.code(), Some(expected_code), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("stopped 1 running build"), "{stderr}");

    assert!(
        !alive(&markers.path().join("script.pid")),
        "build.sh survived"
    );
    assert!(
        !alive(&markers.path().join("child.pid")),
        "its child survived"
    );
    // Past the builds' sleep: nothing they would have written appears.
    std::thread::sleep(Duration::from_secs(5));
    assert!(!markers.path().join("script-finished").exists());
    assert!(!markers.path().join("child-finished").exists());
}

#[test]
fn sigterm_of_sluice_stops_the_build_and_its_children() {
    stops_the_build_on("-TERM", 143);
}

#[test]
fn ctrl_c_of_sluice_stops_the_build_and_its_children() {
    stops_the_build_on("-INT", 130);
}

#[test]
fn a_build_past_its_timeout_is_stopped_with_an_error_naming_function_and_command() {
    let markers = tempfile::tempdir().expect("tempdir");
    let test = sleeping_build(markers.path());
    let out = test
        .command(["build", ".", "--build-timeout", "1s"])
        .output()
        .expect("sluice runs");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("p/slow"), "names the function: {all}");
    assert!(
        all.contains("'./build.sh' did not finish within 1s"),
        "names the command and the limit: {all}"
    );
    assert!(
        all.contains("--build-timeout"),
        "says how to raise it: {all}"
    );
    assert!(!alive(&markers.path().join("script.pid")));
    assert!(!alive(&markers.path().join("child.pid")));
    std::thread::sleep(Duration::from_secs(5));
    assert!(!markers.path().join("script-finished").exists());
    assert!(!markers.path().join("child-finished").exists());
}

#[test]
fn a_failed_build_shows_head_and_tail_and_writes_the_whole_log() {
    let test = ProjectTest::empty()
        .write(
            "packages/p/noisy/build.sh",
            "#!/bin/bash\nfor i in $(seq 1 1000); do echo \"noise $i\"; done\nexit 3\n",
        )
        .write("packages/p/noisy/index.js", "exports.main = () => ({})\n")
        .chmod_executable("packages/p/noisy/build.sh");
    let out = test.command(["build", "."]).output().expect("sluice runs");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{all}");
    assert!(
        all.contains("noise 1\n") && all.contains("noise 1000"),
        "{all}"
    );
    assert!(
        !all.contains("noise 500\n"),
        "the middle is left out: {all}"
    );
    let log = all
        .lines()
        .find_map(|l| {
            l.split_once("the full log is in ")
                .map(|(_, p)| p.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no log named: {all}"));
    let text = std::fs::read_to_string(&log).expect("the log exists");
    assert_eq!(text.lines().count(), 1000);
    assert!(text.contains("noise 500\n"));
    let _ = std::fs::remove_file(log);
}
