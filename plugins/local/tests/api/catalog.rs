//! The standard catalog over plain HTTP: what another namespace may read, list and invoke
//! of `whisk.system` and `nimbella`, what it may not write, and the feed and gateway
//! built-ins' errors.

use serde_json::json;

use crate::support::{Api, As, TestResult, node_action};

#[tokio::test]
async fn the_catalog_is_readable_and_invocable_but_not_writable() -> TestResult {
    let mut api = Api::start();
    api.call("GET", "/api/v1/namespaces/whisk.system/packages", None)
        .await;
    api.call("GET", "/api/v1/namespaces/nimbella/packages/builder", None)
        .await;
    api.call(
        "GET",
        "/api/v1/namespaces/whisk.system/actions/utils/",
        None,
    )
    .await;
    api.call("GET", "/api/v1/namespaces/whisk.system/actions", None)
        .await;
    api.call(
        "POST",
        "/api/v1/namespaces/whisk.system/actions/utils/sort?blocking=true&result=true",
        Some(json!({"lines": ["b", "c", "a"]})),
    )
    .await;
    api.call(
        "PUT",
        "/api/v1/namespaces/whisk.system/actions/utils/mine",
        Some(node_action("function main() { return {} }")),
    )
    .await;
    api.call(
        "DELETE",
        "/api/v1/namespaces/whisk.system/packages/utils",
        None,
    )
    .await;
    api.call_as(
        As::Nobody,
        "GET",
        "/api/v1/namespaces/whisk.system/packages",
        None,
    )
    .await;
    api.call(
        "PUT",
        "/api/v1/namespaces/_/actions/seq",
        Some(json!({"exec": {"kind": "sequence",
                             "components": ["/whisk.system/utils/split", "/whisk.system/utils/head"]}})),
    )
    .await;
    api.call(
        "POST",
        "/api/v1/namespaces/_/actions/seq?blocking=true&result=true",
        Some(json!({"payload": "b\na"})),
    )
    .await;
    insta::assert_yaml_snapshot!("catalog_access", without_build_actions(api.transcript()));
    Ok(())
}

/// The transcript without `/nimbella/builder`'s `build_<runtime>` actions: which exist
/// depends on the toolchains of the machine (`getUploadUrl` always does).
fn without_build_actions(mut transcript: serde_json::Value) -> serde_json::Value {
    for entry in transcript.as_array_mut().into_iter().flatten() {
        if let Some(actions) = entry
            .pointer_mut("/response/actions")
            .and_then(serde_json::Value::as_array_mut)
        {
            actions.retain(|a| !a["name"].as_str().is_some_and(|n| n.starts_with("build_")));
        }
    }
    transcript
}

#[tokio::test]
async fn feeds_and_the_gateway_refuse_bad_requests() -> TestResult {
    let mut api = Api::start();
    let feed = "/api/v1/namespaces/whisk.system/actions/alarms/interval?blocking=true&result=true";
    api.call("POST", feed, Some(json!({"lifecycleEvent": "CREATE"})))
        .await;
    api.call(
        "POST",
        feed,
        Some(json!({"lifecycleEvent": "CREATE", "triggerName": "/_/none",
                    "authKey": "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:wrong"})),
    )
    .await;
    let auth = api.server.auth().to_string();
    api.call(
        "POST",
        feed,
        Some(json!({"lifecycleEvent": "CREATE", "triggerName": "/_/none", "authKey": auth})),
    )
    .await;
    api.call("PUT", "/api/v1/namespaces/_/triggers/t", Some(json!({})))
        .await;
    api.call(
        "POST",
        feed,
        Some(
            json!({"lifecycleEvent": "CREATE", "triggerName": "/_/t", "authKey": auth,
                    "minutes": "often"}),
        ),
    )
    .await;
    api.call(
        "POST",
        feed,
        Some(json!({"lifecycleEvent": "SHRUG", "triggerName": "/_/t", "authKey": auth})),
    )
    .await;
    api.call_as(
        As::Nobody,
        "GET",
        "/api/v1/web/whisk.system/apimgmt/getApi.http",
        None,
    )
    .await;
    api.call(
        "POST",
        "/api/v1/web/whisk.system/apimgmt/createApi.http",
        Some(json!({"apidoc": {"namespace": "_", "gatewayBasePath": "/b"}})),
    )
    .await;
    api.call(
        "DELETE",
        "/api/v1/web/whisk.system/apimgmt/deleteApi.http",
        None,
    )
    .await;
    api.call("GET", "/api/local/nothing/here", None).await;
    // The key is random per run (and secret): the transcript shows a placeholder.
    let transcript = serde_json::to_string(&api.transcript())?.replace(&auth, "[auth]");
    let transcript: serde_json::Value = serde_json::from_str(&transcript)?;
    insta::assert_yaml_snapshot!("catalog_errors", transcript);
    Ok(())
}
