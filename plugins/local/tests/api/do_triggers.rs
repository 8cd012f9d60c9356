//! DigitalOcean's scheduled-triggers API with a Bearer token.

use serde_json::{Value, json};

use crate::support::{Api, As, TestResult, node_action, redact};

async fn call(
    api: &Api,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}/v2/functions/namespaces/{path}", api.server.apihost);
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = api.http.request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("json")
    };
    (status, body)
}

#[tokio::test]
async fn scheduled_triggers() -> TestResult {
    let api = Api::start();
    api.send(
        As::Owner,
        "PUT",
        "/api/v1/namespaces/_/packages/p",
        Some(json!({})),
    )
    .await;
    api.send(
        As::Owner,
        "PUT",
        "/api/v1/namespaces/_/actions/p/f",
        Some(node_action("x")),
    )
    .await;
    let token = api.server.auth().to_string();
    let key_only = token
        .split_once(':')
        .map(|(_, k)| k.to_string())
        .ok_or("key")?;
    let t = Some(token.as_str());
    let mut transcript = Vec::new();
    let mut record = |label: &str, (status, body): (u16, Value)| {
        transcript
            .push(json!({"request": label, "status": status, "response": redact(body.clone())}));
        (status, body)
    };
    let create = json!({
        "name": "nightly", "function": "p/f", "type": "SCHEDULED", "is_enabled": true,
        "scheduled_details": {"cron": "0 3 * * *", "body": {"n": 1}}
    });
    let (s, b) = record(
        "POST local/triggers",
        call(&api, t, "POST", "local/triggers", Some(create.clone())).await,
    );
    assert_eq!(s, 200);
    assert_eq!(b["trigger"]["function"], json!("p/f"));
    assert!(b["trigger"]["scheduled_runs"]["next_run_at"].is_string());
    let (s, _) = record(
        "POST local/triggers (again)",
        call(&api, t, "POST", "local/triggers", Some(create.clone())).await,
    );
    assert_eq!(s, 409);
    let mut missing_fn = create.clone();
    missing_fn["name"] = json!("other");
    missing_fn["function"] = json!("p/nope");
    let (s, _) = record(
        "POST local/triggers (missing function)",
        call(&api, t, "POST", "local/triggers", Some(missing_fn)).await,
    );
    assert_eq!(s, 404);
    let mut bad_cron = create.clone();
    bad_cron["name"] = json!("other");
    bad_cron["scheduled_details"] = json!({"cron": "every day"});
    let (s, _) = record(
        "POST local/triggers (bad cron)",
        call(&api, t, "POST", "local/triggers", Some(bad_cron)).await,
    );
    assert_eq!(s, 400);
    let (s, _) = record(
        "GET local/triggers (no token)",
        call(&api, None, "GET", "local/triggers", None).await,
    );
    assert_eq!(s, 401);
    let (s, _) = record(
        "GET local/triggers (wrong token)",
        call(&api, Some("nope:nope"), "GET", "local/triggers", None).await,
    );
    assert_eq!(s, 401);
    let (s, _) = record(
        "GET other/triggers",
        call(&api, t, "GET", "other/triggers", None).await,
    );
    assert_eq!(s, 404);
    // The key alone is accepted as a token too.
    let (s, b) = record(
        "GET local/triggers (key only)",
        call(&api, Some(&key_only), "GET", "local/triggers", None).await,
    );
    assert_eq!(s, 200);
    assert_eq!(b["triggers"].as_array().map(Vec::len), Some(1));
    let (s, b) = record(
        "PUT local/triggers/nightly",
        call(
            &api,
            t,
            "PUT",
            "local/triggers/nightly",
            Some(json!({"is_enabled": false})),
        )
        .await,
    );
    assert_eq!(s, 200);
    assert_eq!(b["trigger"]["is_enabled"], json!(false));
    let (s, _) = record(
        "GET local/triggers/nightly",
        call(&api, t, "GET", "local/triggers/nightly", None).await,
    );
    assert_eq!(s, 200);
    let (s, _) = record(
        "DELETE local/triggers/nightly",
        call(&api, t, "DELETE", "local/triggers/nightly", None).await,
    );
    assert_eq!(s, 204);
    let (s, _) = record(
        "DELETE local/triggers/nightly (again)",
        call(&api, t, "DELETE", "local/triggers/nightly", None).await,
    );
    assert_eq!(s, 404);
    insta::assert_yaml_snapshot!("do_triggers", Value::Array(transcript));
    Ok(())
}
