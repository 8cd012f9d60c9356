//! The local namespace from the command line: `sluice deploy` with no configuration goes to
//! the embedded namespace, and `sluice serve` keeps everything across a restart.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Stdio};

use common::ProjectTest;
use serde_json::Value;
use sluice_local::store::actions;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn port_filter() -> Vec<(String, String)> {
    vec![(
        r"127\.0\.0\.1:\d+".to_string(),
        "127.0.0.1:[PORT]".to_string(),
    )]
}

#[test]
fn deploy_with_no_configuration_uses_the_local_namespace() -> TestResult {
    let test = ProjectTest::from_dir("examples/hello");
    let output = sluice_snapshot!(
        filters = port_filter(),
        "deploy_hello_locally",
        test.command(["deploy", "."])
    );
    assert!(output.status.success());
    // The function is in the data directory's database, and the key file is private.
    let prepared = sluice_local::server::prepare(&test.local_dir())?;
    let greet = prepared
        .store
        .with(|c| actions::get(c, "local", "hello", "greet", true))?
        .ok_or("hello/greet was not deployed")?;
    assert_eq!(
        greet.exec.kind, "nodejs:14",
        "nodejs:default resolved by the server"
    );
    assert!(greet.exec.code.is_some_and(|c| c.contains("function main")));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = test.local_dir().join(sluice_local::server::KEY_FILE);
        assert_eq!(std::fs::metadata(key)?.permissions().mode() & 0o777, 0o600);
    }
    // A second deploy (another process, another port) finds the same namespace.
    let again = test.command(["deploy", "."]).output()?;
    assert!(again.status.success());
    let greet = prepared
        .store
        .with(|c| actions::get(c, "local", "hello", "greet", false))?
        .ok_or("hello/greet is gone")?;
    assert_eq!(greet.version, "0.0.2");
    Ok(())
}

/// A running `sluice serve` and what it printed.
struct Served {
    child: Child,
    apihost: String,
    auth: String,
    _stdout: BufReader<ChildStdout>,
}

impl Served {
    fn start(test: &ProjectTest) -> Result<Served, Box<dyn std::error::Error>> {
        let mut child = test
            .command(["serve", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .stdin(Stdio::null())
            .spawn()?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or("stdout")?);
        let (mut apihost, mut auth) = (None, None);
        let mut line = String::new();
        while apihost.is_none() || auth.is_none() {
            line.clear();
            if stdout.read_line(&mut line)? == 0 {
                return Err("sluice serve exited before printing its address".into());
            }
            if let Some(h) = line.trim().strip_prefix("API host:") {
                apihost = Some(h.trim().to_string());
            }
            // The banner masks the key and names the file that holds it.
            if let Some(file) = line.trim().strip_prefix("Key file:") {
                auth = Some(std::fs::read_to_string(file.trim())?.trim().to_string());
            }
        }
        Ok(Served {
            child,
            apihost: apihost.ok_or("apihost")?,
            auth: auth.ok_or("auth")?,
            _stdout: stdout,
        })
    }

    /// `GET path` with the key as a Bearer token (plain HTTP/1.1, no client library).
    fn get(&self, path: &str) -> Result<(u16, Value), Box<dyn std::error::Error>> {
        let hostport = self.apihost.trim_start_matches("http://");
        let mut stream = TcpStream::connect(hostport)?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {hostport}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            self.auth
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let (head, body) = response.split_once("\r\n\r\n").ok_or("no HTTP body")?;
        let status: u16 = head.split_whitespace().nth(1).ok_or("no status")?.parse()?;
        Ok((status, serde_json::from_str(body)?))
    }

    /// Ctrl-C, and the exit status.
    #[cfg(unix)]
    fn interrupt(mut self) -> Result<std::process::ExitStatus, Box<dyn std::error::Error>> {
        let pid = self.child.id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()?;
        assert!(sent.success(), "kill -INT {pid}");
        Ok(self.child.wait()?)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        // Only a test that failed midway gets here with the server still running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(unix)]
#[test]
fn serve_keeps_everything_across_a_restart() -> TestResult {
    let test = ProjectTest::from_dir("examples/hello");
    let served = Served::start(&test)?;
    assert!(served.apihost.starts_with("http://127.0.0.1:"));
    let deploy = test
        .command([
            "deploy",
            ".",
            "--apihost",
            &served.apihost,
            "--auth",
            &served.auth,
        ])
        .output()?;
    assert!(
        deploy.status.success(),
        "{}",
        String::from_utf8_lossy(&deploy.stderr)
    );
    let (status, before) = served.get("/api/v1/namespaces/_/actions/hello/greet")?;
    assert_eq!(status, 200);
    let auth = served.auth.clone();
    let stopped = served.interrupt()?;
    assert!(stopped.success(), "Ctrl-C stops sluice serve cleanly");

    let served = Served::start(&test)?;
    assert_eq!(served.auth, auth, "the key survives a restart");
    let (status, after) = served.get("/api/v1/namespaces/_/actions/hello/greet")?;
    assert_eq!(status, 200);
    assert_eq!(after, before);
    let (_, packages) = served.get("/api/v1/namespaces/_/packages")?;
    assert_eq!(packages[0]["name"], "hello");
    assert!(served.interrupt()?.success());
    Ok(())
}

#[test]
fn scheduled_triggers_deploy_to_the_local_namespace() -> TestResult {
    let test = ProjectTest::fixture("triggers");
    let output = sluice_snapshot!(
        filters = port_filter(),
        "deploy_triggers_locally",
        test.command(["deploy", "."])
    );
    assert!(output.status.success());
    let prepared = sluice_local::server::prepare(&test.local_dir())?;
    let triggers = prepared
        .store
        .with(|c| sluice_local::store::do_triggers::list(c, "local"))?;
    let summary: Vec<(String, String, bool, String, Option<Value>)> = triggers
        .into_iter()
        .map(|t| {
            (
                t.name,
                t.function,
                t.is_enabled,
                t.scheduled_details.cron,
                t.scheduled_details.body,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "invoke1".to_string(),
                "test-triggers/hello1".to_string(),
                true,
                "* * * * *".to_string(),
                Some(serde_json::json!({"name": "tester"}))
            ),
            (
                "invoke2".to_string(),
                "test-triggers/hello2".to_string(),
                false,
                "30 * * * *".to_string(),
                None
            ),
        ]
    );
    Ok(())
}

/// Requests in flight the machine's open-file limit allows: each costs a socket at both ends
/// (client and embedded server live in one process). Linux only reads the limit; elsewhere
/// the default stays modest.
fn deploy_jobs_for(wanted: usize) -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits
                .lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|n| n.parse::<usize>().ok())
        })
        .unwrap_or(1024);
    wanted.min(soft.saturating_sub(256) / 2).max(1)
}

#[test]
fn a_thousand_functions_deployed_at_once_are_all_there() -> TestResult {
    let mut test = ProjectTest::empty();
    for p in 0..10 {
        for f in 0..100 {
            test = test.write(
                format!("packages/p{p}/f{f}.js"),
                format!("function main() {{ return {{ n: {} }} }}\n", p * 100 + f),
            );
        }
    }
    let jobs = deploy_jobs_for(1000).to_string();
    let out = test
        .command(["deploy", ".", "--deploy-jobs", &jobs])
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let prepared = sluice_local::server::prepare(&test.local_dir())?;
    let (total, per_package) = prepared.store.with(|c| {
        let total = actions::count(c, "local", None)?;
        let per_package = (0..10)
            .map(|p| actions::count(c, "local", Some(&format!("p{p}"))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((total, per_package))
    })?;
    assert_eq!(total, 1000);
    assert_eq!(per_package, vec![100; 10]);
    Ok(())
}
