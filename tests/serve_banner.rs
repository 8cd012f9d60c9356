//! `sluice serve` never shows the whole key: the banner masks it and says where the key file
//! is; `-o json` prints one document (API host, namespaces, key file, pid, masked key) once
//! the server listens; and `sluice namespace current --show-key` is the explicit way for a
//! script to get a key.

mod common;
mod deploy_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use common::ProjectTest;
use deploy_support::{AUTH, FakeWhisk};
use serde_json::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A running `sluice serve`, stopped when dropped (also when an assertion fails).
struct Serving<'a> {
    test: &'a ProjectTest,
    child: Child,
}

impl Drop for Serving<'_> {
    fn drop(&mut self) {
        common::stop_local_server(&self.test.local_dir(), |c| self.test.isolate(c));
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `sluice serve` and returns it with the lines it printed up to `last` (included).
fn serve_until<'a>(
    test: &'a ProjectTest,
    extra: &[&str],
    last: &str,
) -> Result<(Serving<'a>, String), Box<dyn std::error::Error>> {
    let mut child = test
        .command(["serve", "--port", "0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let serving = Serving { test, child };
    let mut printed = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        printed.push_str(&line);
        printed.push('\n');
        if line.starts_with(last) {
            break;
        }
    }
    Ok((serving, printed))
}

fn the_key(test: &ProjectTest) -> Result<String, std::io::Error> {
    Ok(
        std::fs::read_to_string(test.local_dir().join("local.auth"))?
            .trim()
            .to_string(),
    )
}

#[test]
fn the_banner_masks_the_key_and_names_the_key_file() -> TestResult {
    let test = ProjectTest::empty();
    let (_serving, banner) = serve_until(&test, &[], "Press Ctrl-C")?;
    let key = the_key(&test)?;
    {
        assert!(!key.is_empty());
        assert!(
            !banner.contains(&key),
            "the whole key is printed:\n{banner}"
        );
        let secret = key.split_once(':').map(|(_, k)| k).unwrap_or(&key);
        assert!(
            !banner.contains(secret),
            "the key's secret part is printed:\n{banner}"
        );
        let key_file = test.local_dir().join("local.auth").display().to_string();
        assert!(
            banner.contains(&format!("Key file:  {key_file}")),
            "{banner}"
        );
        assert!(banner.contains("(masked)"), "{banner}");
        assert!(
            banner.contains("sluice namespace current --show-key"),
            "{banner}"
        );
    }
    Ok(())
}

#[test]
fn serve_with_dash_o_json_prints_one_document_when_ready() -> TestResult {
    let test = ProjectTest::empty();
    let (serving, doc) = serve_until(&test, &["-o", "json"], "}")?;
    let pid = serving.child.id();
    let key = the_key(&test)?;
    {
        let v: Value = serde_json::from_str(&doc)?;
        assert!(
            v["apihost"]
                .as_str()
                .is_some_and(|h| h.starts_with("http://127.0.0.1:")),
            "{v}"
        );
        assert_eq!(v["pid"].as_u64(), Some(u64::from(pid)));
        assert_eq!(v["namespace"], "local");
        assert_eq!(v["namespaces"], serde_json::json!(["local"]));
        assert_eq!(
            v["keyFile"].as_str().map(std::path::PathBuf::from),
            Some(test.local_dir().join("local.auth"))
        );
        assert!(
            v["auth"].as_str().is_some_and(|a| a.ends_with("****")),
            "{v}"
        );
        assert!(!doc.contains(&key), "the key is masked: {doc}");
        // The API host answers with that key.
        let out = test
            .command(["functions", "list", "--apihost"])
            .arg(v["apihost"].as_str().unwrap_or_default())
            .args(["--auth", &key])
            .output()?;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

#[test]
fn show_key_prints_the_current_namespace_key_for_scripts() -> TestResult {
    let whisk = FakeWhisk::start();
    let test = ProjectTest::empty();
    let added = test
        .command([
            "namespace",
            "add",
            "--apihost",
            &whisk.uri(),
            "--auth",
            AUTH,
        ])
        .output()?;
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let plain = test.command(["namespace", "current"]).output()?;
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("testkey"));
    let shown = test
        .command(["namespace", "current", "--show-key"])
        .output()?;
    assert!(shown.status.success());
    assert_eq!(String::from_utf8_lossy(&shown.stdout), format!("{AUTH}\n"));
    let json = test
        .command(["namespace", "current", "--show-key", "-o", "json"])
        .output()?;
    let v: Value = serde_json::from_slice(&json.stdout)?;
    assert_eq!(v["key"], AUTH);
    assert!(
        v["auth"].as_str().is_some_and(|a| a.ends_with("****")),
        "{v}"
    );

    // The local namespace's key comes from the local server.
    let local = test.command(["namespace", "use", "local"]).output()?;
    assert!(
        local.status.success(),
        "{}",
        String::from_utf8_lossy(&local.stderr)
    );
    let shown = test
        .command(["namespace", "current", "--show-key"])
        .output()?;
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&shown.stdout).trim(),
        the_key(&test)?
    );
    Ok(())
}
