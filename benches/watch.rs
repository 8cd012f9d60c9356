//! Save → redeploy latency of `sluice watch` (issue 16): a project of 1,000 node functions is
//! deployed to the local namespace, then `sluice watch --json` runs on it and one function's
//! file is saved 5 times; each time is from the write to the `deploy` event of its batch
//! (debounce window included). Prints every sample and the median; the target is < 300 ms.
//!
//! Run: `cargo bench --bench watch` (`WATCH_BENCH_DEBOUNCE=<ms>` for another window).
//! A plain timing loop, not criterion: the question is the latency of one real watcher
//! process, which criterion's per-iteration model does not fit.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const FUNCTIONS: usize = 1000;
const SAVES: usize = 5;

/// Kills the watcher and stops the local server, also when the bench panics.
struct Cleanup<'a> {
    child: Option<Child>,
    env: &'a dyn Fn(&mut Command),
    data: std::path::PathBuf,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let mut stop = Command::new(env!("CARGO_BIN_EXE_sluice"));
        (self.env)(&mut stop);
        let _ = stop
            .args(["local", "stop", "--data-dir"])
            .arg(&self.data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn main() {
    let temp = tempfile::tempdir().expect("temporary directory");
    let project = temp.path().join("project");
    let home = temp.path().join("home");
    let data = temp.path().join("local");
    for i in 0..FUNCTIONS {
        let dir = project.join(format!("packages/pkg{}", i / 100));
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(
            dir.join(format!("fn{i}.js")),
            format!("exports.main = () => ({{ n: {i} }});\n"),
        )
        .expect("write");
    }
    std::fs::create_dir_all(home.join(".sluice")).expect("home");
    let env = |cmd: &mut Command| {
        cmd.current_dir(&project)
            .env("HOME", &home)
            .env("SLUICE_HOME", home.join(".sluice"))
            .env("NIMBELLA_DIR", home.join(".nimbella"))
            .env("SLUICE_LOCAL_DIR", &data)
            .env("SLUICE_LOCAL_IDLE", "300s")
            .env_remove("SLUICE_APIHOST")
            .env_remove("DO_API_KEY");
    };
    let mut cleanup = Cleanup {
        child: None,
        env: &env,
        data: data.clone(),
    };
    let exe = env!("CARGO_BIN_EXE_sluice");
    let mut deploy = Command::new(exe);
    env(&mut deploy);
    let out = deploy
        .args(["deploy", "."])
        .stdin(Stdio::null())
        .output()
        .expect("deploy runs");
    assert!(
        out.status.success(),
        "the first deploy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let debounce = std::env::var("WATCH_BENCH_DEBOUNCE").unwrap_or_else(|_| "200".to_string());
    let mut watch = Command::new(exe);
    env(&mut watch);
    let mut child = watch
        .args(["watch", ".", "--json", "--debounce", &debounce])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("watch runs");
    let stdout = child.stdout.take().expect("stdout");
    cleanup.child = Some(child);
    let (tx, rx) = mpsc::channel::<serde_json::Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str(&line)
                && tx.send(v).is_err()
            {
                break;
            }
        }
    });
    let wait_for = |kind: &str| loop {
        let v = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("no '{kind}' event"));
        if v["event"] == kind {
            return v;
        }
        if v["event"] == "error" {
            panic!("the watch failed: {v}");
        }
    };
    wait_for("watching");

    let file = project.join("packages/pkg5/fn500.js");
    let mut samples = Vec::with_capacity(SAVES);
    for round in 0..SAVES {
        std::thread::sleep(Duration::from_millis(500));
        let start = Instant::now();
        std::fs::write(
            &file,
            format!("exports.main = () => ({{ n: 500, round: {round} }});\n"),
        )
        .expect("save");
        let done = wait_for("deploy");
        let took = start.elapsed();
        assert_eq!(
            done["functions"],
            serde_json::json!(["pkg5/fn500"]),
            "{done}"
        );
        println!(
            "save {}: {:>4} ms (deploy itself {} ms)",
            round + 1,
            took.as_millis(),
            done["millis"]
        );
        samples.push(took);
    }
    samples.sort();
    let median = samples[SAVES / 2];
    println!(
        "watch: save -> redeploy done, {FUNCTIONS} functions, debounce {debounce} ms: median {} ms (target < 300 ms)",
        median.as_millis()
    );
    drop(cleanup);
}
