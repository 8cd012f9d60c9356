//! OpenWhisk triggers.

use serde_json::json;

use crate::support::{Api, TestResult};

const T: &str = "/api/v1/namespaces/_/triggers";

#[tokio::test]
async fn trigger_lifecycle() -> TestResult {
    let mut api = Api::start();
    let created = api
        .call(
            "PUT",
            &format!("{T}/events"),
            Some(json!({
                "parameters": [{"key": "p", "value": 1}],
                "annotations": [{"key": "a", "value": 1}]
            })),
        )
        .await;
    assert_eq!(created.status, 200);
    assert_eq!(created.body["limits"], json!({}));
    assert_eq!(
        api.call("PUT", &format!("{T}/events"), Some(json!({})))
            .await
            .status,
        409
    );
    let updated = api
        .call(
            "PUT",
            &format!("{T}/events?overwrite=true"),
            Some(json!({"parameters": [{"key": "q", "value": 2}]})),
        )
        .await;
    assert_eq!(
        updated.body["parameters"],
        json!([{"key": "q", "value": 2}])
    );
    assert_eq!(
        updated.body["annotations"],
        json!([{"key": "a", "value": 1}])
    );
    assert_eq!(updated.body["version"], json!("0.0.2"));
    let bad_feed = api
        .call(
            "PUT",
            &format!("{T}/fed"),
            Some(json!({"annotations": [{"key": "feed", "value": "/a/b/c/d"}]})),
        )
        .await;
    assert_eq!(bad_feed.status, 400);
    let good_feed = api
        .call(
            "PUT",
            &format!("{T}/fed"),
            Some(json!({"annotations": [{"key": "feed", "value": "/whisk.system/alarms/alarm"}]})),
        )
        .await;
    assert_eq!(good_feed.status, 200);
    api.call("GET", &format!("{T}/events"), None).await;
    api.call("GET", T, None).await;
    api.call("GET", &format!("{T}?count=true"), None).await;
    assert_eq!(
        api.call("DELETE", &format!("{T}/events"), None)
            .await
            .status,
        200
    );
    assert_eq!(
        api.call("GET", &format!("{T}/events"), None).await.status,
        404
    );
    assert_eq!(
        api.call("DELETE", &format!("{T}/events"), None)
            .await
            .status,
        404
    );
    insta::assert_yaml_snapshot!("trigger_lifecycle", api.transcript());
    Ok(())
}
