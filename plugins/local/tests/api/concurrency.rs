//! Many concurrent writers lose nothing: every create lands, every update bumps the version.

use std::sync::Arc;

use serde_json::json;
use tokio::sync::Semaphore;

use crate::support::{Api, As, TestResult, node_action};

const N: usize = 1000;
/// Requests in flight at once: high enough to contend, low enough for the default open-file
/// limit of CI machines (each request is a socket on both ends).
const IN_FLIGHT: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_puts_lose_nothing() -> TestResult {
    let api = Arc::new(Api::start());
    let gate = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut tasks = Vec::with_capacity(2 * N);
    api.send(
        As::Owner,
        "PUT",
        "/api/v1/namespaces/_/actions/shared",
        Some(node_action("x")),
    )
    .await;
    for i in 0..N {
        for path in [
            format!("/api/v1/namespaces/_/actions/a{i}"),
            "/api/v1/namespaces/_/actions/shared?overwrite=true".to_string(),
        ] {
            let (api, gate) = (api.clone(), gate.clone());
            tasks.push(tokio::spawn(async move {
                let _permit = gate.acquire().await.expect("semaphore open");
                api.send(
                    As::Owner,
                    "PUT",
                    &path,
                    Some(node_action(&format!("// {i}"))),
                )
                .await
                .status
            }));
        }
    }
    for t in tasks {
        assert_eq!(t.await?, 200);
    }
    let count = api
        .send(
            As::Owner,
            "GET",
            "/api/v1/namespaces/_/actions?count=true",
            None,
        )
        .await;
    assert_eq!(count.body, json!({"actions": N + 1}));
    // Every one of the N updates of `shared` was applied on top of the previous one.
    let shared = api
        .send(
            As::Owner,
            "GET",
            "/api/v1/namespaces/_/actions/shared?code=false",
            None,
        )
        .await;
    assert_eq!(shared.body["version"], json!(format!("0.0.{}", N + 1)));
    // And each created action can be read back by name.
    let mut seen = 0;
    for skip in (0..=N).step_by(200) {
        let page = api
            .send(
                As::Owner,
                "GET",
                &format!("/api/v1/namespaces/_/actions?limit=200&skip={skip}"),
                None,
            )
            .await;
        seen += page.body.as_array().map_or(0, Vec::len);
    }
    assert_eq!(seen, N + 1);
    Ok(())
}
