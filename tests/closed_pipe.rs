//! Writing to a closed pipe (`sluice functions get X --json | head -c 10`) never panics:
//! sluice exits quietly, with the status a SIGPIPE gives in a shell (141), as other CLIs do.
#![cfg(unix)]

mod common;
mod deploy_support;

use std::io::Read;
use std::process::Stdio;

use common::ProjectTest;
use deploy_support::{AUTH, FakeWhisk, NAMESPACE};

#[test]
fn a_reader_that_goes_away_ends_sluice_quietly() {
    let whisk = FakeWhisk::start();
    // Far more than a pipe buffer holds, so sluice is still writing when the reader leaves.
    let code = "x".repeat(4 << 20);
    whisk.put_entity(
        "actions/big",
        serde_json::json!({
            "namespace": NAMESPACE, "name": "big", "version": "0.0.1",
            "exec": {"kind": "nodejs:18", "code": code, "binary": false},
            "annotations": [], "parameters": [], "limits": {}
        }),
    );
    let store = serde_json::json!({
        "currentHost": whisk.uri(),
        "currentNamespace": NAMESPACE,
        "credentials": {whisk.uri(): {NAMESPACE: {"api_key": AUTH}}}
    });
    let test = ProjectTest::empty()
        .write_home(".nimbella/credentials.json", store.to_string())
        .env("RUST_BACKTRACE", "1");
    for args in [
        &["functions", "get", "big", "--json"][..],
        &["functions", "get", "big", "--code"][..],
    ] {
        let mut child = test
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sluice starts");
        let mut head = [0u8; 10];
        child
            .stdout
            .take()
            .expect("stdout")
            .read_exact(&mut head)
            .expect("ten bytes");
        // The read end is dropped here: the pipe is closed.
        let out = child.wait_with_output().expect("sluice ends");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.trim().is_empty(), "{args:?} is quiet: {stderr}");
        assert_eq!(out.status.code(), Some(141), "{args:?}: {stderr}");
    }
}
