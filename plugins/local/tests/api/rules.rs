//! Rules, and their status kept on the trigger.

use serde_json::json;

use crate::support::{Api, As, TestResult, node_action};

const R: &str = "/api/v1/namespaces/_/rules";

#[tokio::test]
async fn rule_lifecycle() -> TestResult {
    let mut api = Api::start();
    for t in ["t1", "t2"] {
        api.send(
            As::Owner,
            "PUT",
            &format!("/api/v1/namespaces/_/triggers/{t}"),
            Some(json!({})),
        )
        .await;
    }
    api.send(
        As::Owner,
        "PUT",
        "/api/v1/namespaces/_/actions/hello",
        Some(node_action("x")),
    )
    .await;
    let no_trigger = api
        .call(
            "PUT",
            &format!("{R}/r"),
            Some(json!({"trigger": "/_/nope", "action": "/_/hello"})),
        )
        .await;
    assert_eq!(no_trigger.status, 400);
    let no_action = api
        .call(
            "PUT",
            &format!("{R}/r"),
            Some(json!({"trigger": "/_/t1", "action": "/_/nope"})),
        )
        .await;
    assert_eq!(no_action.status, 400);
    let neither = api.call("PUT", &format!("{R}/r"), Some(json!({}))).await;
    assert_eq!(neither.status, 400);
    let created = api
        .call(
            "PUT",
            &format!("{R}/r"),
            Some(json!({"trigger": "/_/t1", "action": "/_/hello"})),
        )
        .await;
    assert_eq!(created.status, 200);
    assert_eq!(created.body["status"], json!("active"));
    assert_eq!(
        created.body["trigger"],
        json!({"path": "local", "name": "t1"})
    );
    let dup = api
        .call(
            "PUT",
            &format!("{R}/r"),
            Some(json!({"trigger": "/_/t1", "action": "/_/hello"})),
        )
        .await;
    assert_eq!(dup.status, 409);
    let trigger = api
        .call("GET", "/api/v1/namespaces/_/triggers/t1", None)
        .await;
    assert_eq!(trigger.body["rules"]["local/r"]["status"], json!("active"));
    let off = api
        .call(
            "POST",
            &format!("{R}/r"),
            Some(json!({"status": "inactive", "trigger": null, "action": null})),
        )
        .await;
    assert_eq!(off.status, 200);
    assert_eq!(
        api.call("GET", &format!("{R}/r"), None).await.body["status"],
        json!("inactive")
    );
    let bad = api
        .call("POST", &format!("{R}/r"), Some(json!({"status": "sleepy"})))
        .await;
    assert_eq!(bad.status, 400);
    // Moving to another trigger keeps the status and unlinks the old trigger.
    let moved = api
        .call(
            "PUT",
            &format!("{R}/r?overwrite=true"),
            Some(json!({"trigger": "/local/t2"})),
        )
        .await;
    assert_eq!(moved.body["status"], json!("inactive"));
    assert_eq!(moved.body["version"], json!("0.0.2"));
    let t1 = api
        .call("GET", "/api/v1/namespaces/_/triggers/t1", None)
        .await;
    assert!(t1.body.get("rules").is_none());
    api.call("POST", &format!("{R}/r"), Some(json!({"status": "active"})))
        .await;
    api.call("GET", R, None).await;
    api.call("GET", &format!("{R}?count=true"), None).await;
    let deleted = api.call("DELETE", &format!("{R}/r"), None).await;
    assert_eq!(deleted.body["status"], json!("inactive"));
    let t2 = api
        .call("GET", "/api/v1/namespaces/_/triggers/t2", None)
        .await;
    assert!(t2.body.get("rules").is_none());
    assert_eq!(api.call("GET", &format!("{R}/r"), None).await.status, 404);
    assert_eq!(
        api.call("POST", &format!("{R}/r"), Some(json!({"status": "active"})))
            .await
            .status,
        404
    );
    insta::assert_yaml_snapshot!("rule_lifecycle", api.transcript());
    Ok(())
}

#[tokio::test]
async fn a_rule_whose_trigger_is_gone_is_inactive() -> TestResult {
    let mut api = Api::start();
    api.send(
        As::Owner,
        "PUT",
        "/api/v1/namespaces/_/triggers/t",
        Some(json!({})),
    )
    .await;
    api.send(
        As::Owner,
        "PUT",
        "/api/v1/namespaces/_/actions/a",
        Some(node_action("x")),
    )
    .await;
    api.send(
        As::Owner,
        "PUT",
        &format!("{R}/r"),
        Some(json!({"trigger": "/_/t", "action": "/_/a"})),
    )
    .await;
    api.send(As::Owner, "DELETE", "/api/v1/namespaces/_/triggers/t", None)
        .await;
    let got = api.call("GET", &format!("{R}/r"), None).await;
    assert_eq!(got.body["status"], json!("inactive"));
    let on = api
        .call("POST", &format!("{R}/r"), Some(json!({"status": "active"})))
        .await;
    assert_eq!(on.status, 404);
    assert_eq!(
        on.body["error"],
        json!("Only rules with existing triggers can be activated")
    );
    Ok(())
}

#[tokio::test]
async fn rules_and_sequences_stay_inside_the_namespace() -> TestResult {
    let api = Api::start();
    api.send(
        As::Owner,
        "PUT",
        "/api/v1/namespaces/_/triggers/t",
        Some(json!({})),
    )
    .await;
    api.send(
        As::Owner,
        "PUT",
        "/api/v1/namespaces/_/actions/a",
        Some(node_action("x")),
    )
    .await;
    let foreign_trigger = api
        .send(
            As::Owner,
            "PUT",
            &format!("{R}/r"),
            Some(json!({"trigger": "/guest/t", "action": "/_/a"})),
        )
        .await;
    assert_eq!(foreign_trigger.status, 400);
    assert_eq!(
        foreign_trigger.body["error"],
        json!("trigger /guest/t does not exist")
    );
    let foreign_action = api
        .send(
            As::Owner,
            "PUT",
            &format!("{R}/r"),
            Some(json!({"trigger": "/_/t", "action": "/guest/a"})),
        )
        .await;
    assert_eq!(
        foreign_action.body["error"],
        json!("action /guest/a does not exist")
    );
    let foreign_component = api
        .send(
            As::Owner,
            "PUT",
            "/api/v1/namespaces/_/actions/s",
            Some(json!({"exec": {"kind": "sequence", "components": ["/_/a", "/guest/a"]}})),
        )
        .await;
    assert_eq!(
        foreign_component.body["error"],
        json!("Sequence component does not exist.")
    );
    Ok(())
}
