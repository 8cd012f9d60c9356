//! Packages and bindings.

use serde_json::json;

use crate::support::{Api, As, TestResult, node_action};

const P: &str = "/api/v1/namespaces/_/packages";

#[tokio::test]
async fn package_lifecycle() -> TestResult {
    let mut api = Api::start();
    let created = api
        .call(
            "PUT",
            &format!("{P}/tools"),
            Some(json!({
                "parameters": [{"key": "p", "value": 1}],
                "annotations": [{"key": "a", "value": 1}, {"key": "binding", "value": "ignored"}],
                "publish": false
            })),
        )
        .await;
    assert_eq!(created.status, 200);
    assert_eq!(created.body["binding"], json!({}));
    let again = api
        .call("PUT", &format!("{P}/tools"), Some(json!({})))
        .await;
    assert_eq!(again.status, 409);
    let reserved = api
        .call("PUT", &format!("{P}/default"), Some(json!({})))
        .await;
    assert_eq!(reserved.status, 400);
    // Update replaces annotations wholesale (no merge, unlike actions).
    let updated = api
        .call(
            "PUT",
            &format!("{P}/tools?overwrite=true"),
            Some(json!({"annotations": [{"key": "b", "value": 2}]})),
        )
        .await;
    assert_eq!(
        updated.body["annotations"],
        json!([{"key": "b", "value": 2}])
    );
    assert_eq!(
        updated.body["parameters"],
        json!([{"key": "p", "value": 1}])
    );
    assert_eq!(updated.body["version"], json!("0.0.2"));
    for name in ["a", "b"] {
        let mut body = node_action("x");
        body["annotations"] = json!([{"key": "feed", "value": name == "b"}]);
        api.send(
            As::Owner,
            "PUT",
            &format!("/api/v1/namespaces/_/actions/tools/{name}"),
            Some(body),
        )
        .await;
    }
    let got = api.call("GET", &format!("{P}/tools"), None).await;
    assert_eq!(got.body["actions"].as_array().map(Vec::len), Some(2));
    api.call("GET", P, None).await;
    api.call("GET", &format!("{P}?count=true"), None).await;
    let not_empty = api.call("DELETE", &format!("{P}/tools"), None).await;
    assert_eq!(not_empty.status, 409);
    api.send(
        As::Owner,
        "DELETE",
        "/api/v1/namespaces/_/actions/tools/b",
        None,
    )
    .await;
    let one_left = api.call("DELETE", &format!("{P}/tools"), None).await;
    assert_eq!(one_left.status, 409);
    let forced = api
        .call("DELETE", &format!("{P}/tools?force=true"), None)
        .await;
    assert_eq!(forced.status, 200);
    let gone = api
        .send(
            As::Owner,
            "GET",
            "/api/v1/namespaces/_/actions/tools/a",
            None,
        )
        .await;
    assert_eq!(gone.status, 404);
    assert_eq!(
        api.call("GET", &format!("{P}/tools"), None).await.status,
        404
    );
    insta::assert_yaml_snapshot!("package_lifecycle", api.transcript());
    Ok(())
}

#[tokio::test]
async fn bindings() -> TestResult {
    let mut api = Api::start();
    api.send(
        As::Owner,
        "PUT",
        &format!("{P}/tools"),
        Some(json!({"parameters": [{"key": "a", "value": 1}, {"key": "b", "value": 1}]})),
    )
    .await;
    api.send(
        As::Owner,
        "PUT",
        "/api/v1/namespaces/_/actions/tools/t",
        Some(node_action("x")),
    )
    .await;
    let bound = api
        .call(
            "PUT",
            &format!("{P}/mine"),
            Some(json!({
                "binding": {"namespace": "_", "name": "tools"},
                "parameters": [{"key": "b", "value": 2}]
            })),
        )
        .await;
    assert_eq!(bound.status, 200);
    assert_eq!(
        bound.body["binding"],
        json!({"namespace": "local", "name": "tools"})
    );
    // GET merges the bound package's parameters under the binding's, lists its actions.
    let got = api.call("GET", &format!("{P}/mine"), None).await;
    assert_eq!(
        got.body["parameters"],
        json!([{"key": "a", "value": 1}, {"key": "b", "value": 2}])
    );
    assert_eq!(got.body["actions"][0]["name"], json!("t"));
    let list = api.call("GET", P, None).await;
    let bindings: Vec<_> = list
        .body
        .as_array()
        .ok_or("list")?
        .iter()
        .map(|p| p["binding"].clone())
        .collect();
    assert!(bindings.contains(&json!(false)));
    let to_missing = api
        .call(
            "PUT",
            &format!("{P}/x"),
            Some(json!({"binding": {"namespace": "_", "name": "nope"}})),
        )
        .await;
    assert_eq!(to_missing.status, 400);
    let to_binding = api
        .call(
            "PUT",
            &format!("{P}/x"),
            Some(json!({"binding": {"namespace": "_", "name": "mine"}})),
        )
        .await;
    assert_eq!(to_binding.status, 400);
    api.send(
        As::Owner,
        "PUT",
        "/api/v1/namespaces/_/triggers/trig",
        Some(json!({})),
    )
    .await;
    let to_trigger = api
        .call(
            "PUT",
            &format!("{P}/x"),
            Some(json!({"binding": {"namespace": "_", "name": "trig"}})),
        )
        .await;
    assert_eq!(to_trigger.status, 409);
    let convert = api
        .call(
            "PUT",
            &format!("{P}/tools?overwrite=true"),
            Some(json!({"binding": {"namespace": "_", "name": "mine"}})),
        )
        .await;
    assert_eq!(convert.status, 409);
    // Deleting a binding leaves the bound package's actions alone.
    assert_eq!(
        api.call("DELETE", &format!("{P}/mine"), None).await.status,
        200
    );
    let still = api
        .send(
            As::Owner,
            "GET",
            "/api/v1/namespaces/_/actions/tools/t",
            None,
        )
        .await;
    assert_eq!(still.status, 200);
    insta::assert_yaml_snapshot!("package_bindings", api.transcript());
    Ok(())
}
