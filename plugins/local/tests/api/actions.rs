//! Actions: create, conflict, update merge rules, kinds, binary detection, packages and
//! bindings, sequences, names, limits, sizes and list parameters.

use base64::Engine;
use serde_json::json;

use crate::support::{Api, TestResult, node_action};

const A: &str = "/api/v1/namespaces/_/actions";

#[tokio::test]
async fn create_conflict_update_get_delete() -> TestResult {
    let mut api = Api::start();
    let mut body = node_action("function main() { return {} }");
    body["parameters"] =
        json!([{"key": "a", "value": 1}, {"key": "e", "value": "x", "init": true}]);
    body["annotations"] = json!([{"key": "web-export", "value": true}, {"key": "old", "value": 1}]);
    let created = api
        .call("PUT", &format!("{A}/hello"), Some(body.clone()))
        .await;
    assert_eq!(created.status, 200);
    assert_eq!(created.body["version"], json!("0.0.1"));
    assert_eq!(created.body["exec"]["kind"], json!("nodejs:14"));
    let again = api.call("PUT", &format!("{A}/hello"), Some(body)).await;
    assert_eq!(again.status, 409);
    // Update: annotations merge (minus delAnnotations), parameters are replaced.
    let update = json!({
        "parameters": [{"key": "b", "value": 2}],
        "annotations": [{"key": "web-export", "value": false}, {"key": "new", "value": true}],
        "delAnnotations": ["old"],
        "limits": {"timeout": 5000}
    });
    let updated = api
        .call("PUT", &format!("{A}/hello?overwrite=true"), Some(update))
        .await;
    assert_eq!(updated.status, 200);
    assert_eq!(updated.body["version"], json!("0.0.2"));
    assert_eq!(updated.body["limits"]["timeout"], json!(5000));
    assert_eq!(updated.body["limits"]["memory"], json!(256));
    // An explicit version wins.
    let versioned = api
        .call(
            "PUT",
            &format!("{A}/hello?overwrite=true"),
            Some(json!({"version": "1.2.3"})),
        )
        .await;
    assert_eq!(versioned.body["version"], json!("1.2.3"));
    api.call("GET", &format!("{A}/hello?code=false"), None)
        .await;
    api.call("GET", &format!("{A}/hello"), None).await;
    let deleted = api.call("DELETE", &format!("{A}/hello"), None).await;
    assert_eq!(deleted.status, 200);
    let gone = api.call("GET", &format!("{A}/hello"), None).await;
    assert_eq!(gone.status, 404);
    let gone = api.call("DELETE", &format!("{A}/hello"), None).await;
    assert_eq!(gone.status, 404);
    insta::assert_yaml_snapshot!("action_lifecycle", api.transcript());
    Ok(())
}

#[tokio::test]
async fn kinds_code_and_binary() -> TestResult {
    let mut api = Api::start();
    let zip = base64::engine::general_purpose::STANDARD.encode(b"PK\x03\x04 pretend zip bytes");
    let bin = api
        .call(
            "PUT",
            &format!("{A}/zipped"),
            Some(json!({"exec": {"kind": " Python:Default ", "code": zip, "binary": false, "main": "handler"}})),
        )
        .await;
    assert_eq!(bin.body["exec"]["binary"], json!(true));
    assert_eq!(bin.body["exec"]["kind"], json!("python:3.9"));
    let text = api
        .call(
            "PUT",
            &format!("{A}/texty"),
            Some(json!({"exec": {"kind": "nodejs:18", "code": "function main() {}", "binary": true}})),
        )
        .await;
    assert_eq!(text.body["exec"]["binary"], json!(false));
    let unknown = api
        .call(
            "PUT",
            &format!("{A}/bad"),
            Some(json!({"exec": {"kind": "cobol:1", "code": "x"}})),
        )
        .await;
    assert_eq!(unknown.status, 400);
    let no_code = api
        .call(
            "PUT",
            &format!("{A}/bad"),
            Some(json!({"exec": {"kind": "nodejs:18"}})),
        )
        .await;
    assert_eq!(no_code.status, 400);
    let no_exec = api.call("PUT", &format!("{A}/bad"), Some(json!({}))).await;
    assert_eq!(no_exec.status, 400);
    let blackbox = api
        .call(
            "PUT",
            &format!("{A}/boxed"),
            Some(json!({"exec": {"kind": "blackbox", "image": "me/img:1"}})),
        )
        .await;
    assert_eq!(blackbox.status, 200);
    insta::assert_yaml_snapshot!("action_kinds", api.transcript());
    Ok(())
}

#[tokio::test]
async fn names_limits_sizes_and_bodies() -> TestResult {
    let mut api = Api::start();
    // Percent-encoded names are decoded before validation.
    let spaced = api
        .call("PUT", &format!("{A}/my%20action"), Some(node_action("x")))
        .await;
    assert_eq!(spaced.status, 200);
    assert_eq!(spaced.body["name"], json!("my action"));
    let illegal = api
        .call("PUT", &format!("{A}/bad%24name"), Some(node_action("x")))
        .await;
    assert_eq!(illegal.status, 400);
    let long = "a".repeat(300);
    let too_long = api
        .call("PUT", &format!("{A}/{long}"), Some(node_action("x")))
        .await;
    assert_eq!(too_long.status, 400);
    let mut slow = node_action("x");
    slow["limits"] = json!({"timeout": 50});
    assert_eq!(
        api.call("PUT", &format!("{A}/slow"), Some(slow))
            .await
            .status,
        400
    );
    let mut huge = node_action("x");
    huge["limits"] = json!({"memory": 4096});
    assert_eq!(
        api.call("PUT", &format!("{A}/huge"), Some(huge))
            .await
            .status,
        400
    );
    // 413 for parameters over 1 MB (recorded without the megabyte).
    let mut big = node_action("x");
    big["parameters"] = json!([{"key": "blob", "value": "x".repeat(1024 * 1024)}]);
    let too_big = api
        .send(
            crate::support::As::Owner,
            "PUT",
            &format!("{A}/big"),
            Some(big),
        )
        .await;
    assert_eq!(too_big.status, 413);
    assert_eq!(
        too_big.body["error"],
        json!("parameters larger than allowed: 1048603 > 1048576 bytes.")
    );
    // Malformed JSON and a wrong content type.
    let url = format!("{}{A}/junk", api.server.apihost);
    let (u, p) = api.server.auth().split_once(':').ok_or("auth")?;
    let malformed = api
        .http
        .put(&url)
        .basic_auth(u, Some(p))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await?;
    assert_eq!(malformed.status(), 400);
    let body: serde_json::Value = malformed.json().await?;
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("The request content was malformed:\n"))
    );
    let text = api
        .http
        .put(&url)
        .basic_auth(u, Some(p))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await?;
    assert_eq!(text.status(), 415);
    // A trigger's name is taken for actions.
    api.call(
        "PUT",
        "/api/v1/namespaces/_/triggers/taken",
        Some(json!({})),
    )
    .await;
    let clash = api
        .call("PUT", &format!("{A}/taken"), Some(node_action("x")))
        .await;
    assert_eq!(clash.status, 409);
    insta::assert_yaml_snapshot!("action_validation", api.transcript());
    Ok(())
}

#[tokio::test]
async fn list_parameters() -> TestResult {
    let mut api = Api::start();
    for name in ["one", "two", "three"] {
        api.send(
            crate::support::As::Owner,
            "PUT",
            &format!("{A}/{name}"),
            Some(node_action("x")),
        )
        .await;
    }
    let all = api.call("GET", A, None).await;
    let names: Vec<&str> = all
        .body
        .as_array()
        .ok_or("list")?
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    // Newest first.
    assert_eq!(names, ["three", "two", "one"]);
    let page = api.call("GET", &format!("{A}?limit=1&skip=1"), None).await;
    assert_eq!(page.body[0]["name"], json!("two"));
    let count = api.call("GET", &format!("{A}?count=true"), None).await;
    assert_eq!(count.body, json!({"actions": 3}));
    for bad in [
        "limit=201",
        "limit=x",
        "skip=-1",
        "count=maybe",
        "count=true&docs=true",
    ] {
        let r = api.call("GET", &format!("{A}?{bad}"), None).await;
        assert_eq!(r.status, 400, "{bad}");
    }
    insta::assert_yaml_snapshot!("action_lists", api.transcript());
    Ok(())
}

#[tokio::test]
async fn actions_in_packages_and_bindings() -> TestResult {
    let mut api = Api::start();
    let p = "/api/v1/namespaces/_/packages";
    let missing = api
        .call("PUT", &format!("{A}/nopkg/a"), Some(node_action("x")))
        .await;
    assert_eq!(missing.status, 404);
    api.call(
        "PUT",
        &format!("{p}/tools"),
        Some(json!({"parameters": [{"key": "p", "value": 1}]})),
    )
    .await;
    let inside = api
        .call("PUT", &format!("{A}/tools/a"), Some(node_action("x")))
        .await;
    assert_eq!(inside.body["namespace"], json!("local/tools"));
    api.call(
        "PUT",
        &format!("{p}/bound"),
        Some(json!({"binding": {"namespace": "_", "name": "tools"}})),
    )
    .await;
    let via = api
        .call("GET", &format!("{A}/bound/a?code=false"), None)
        .await;
    assert_eq!(via.status, 200);
    let into_binding = api
        .call("PUT", &format!("{A}/bound/b"), Some(node_action("x")))
        .await;
    assert_eq!(into_binding.status, 400);
    let del_binding = api.call("DELETE", &format!("{A}/bound/a"), None).await;
    assert_eq!(del_binding.status, 400);
    let listed = api.call("GET", &format!("{A}/tools/"), None).await;
    assert_eq!(listed.body.as_array().map(Vec::len), Some(1));
    let through = api.call("GET", &format!("{A}/bound/"), None).await;
    assert_eq!(through.body.as_array().map(Vec::len), Some(1));
    // The namespace-wide list includes packaged actions.
    let all = api.call("GET", A, None).await;
    assert_eq!(all.body.as_array().map(Vec::len), Some(1));
    insta::assert_yaml_snapshot!("action_packages", api.transcript());
    Ok(())
}

#[tokio::test]
async fn sequences() -> TestResult {
    let mut api = Api::start();
    api.send(
        crate::support::As::Owner,
        "PUT",
        &format!("{A}/a"),
        Some(node_action("x")),
    )
    .await;
    api.send(
        crate::support::As::Owner,
        "PUT",
        "/api/v1/namespaces/_/packages/p",
        Some(json!({})),
    )
    .await;
    api.send(
        crate::support::As::Owner,
        "PUT",
        &format!("{A}/p/b"),
        Some(node_action("x")),
    )
    .await;
    let seq = |components: serde_json::Value| json!({"exec": {"kind": "sequence", "components": components}});
    let ok = api
        .call(
            "PUT",
            &format!("{A}/s"),
            Some(seq(json!(["/_/a", "/local/p/b"]))),
        )
        .await;
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.body["parameters"],
        json!([{"key": "_actions", "value": ["/local/a", "/local/p/b"]}])
    );
    // Updating a sequence without exec keeps its _actions.
    let kept = api
        .call(
            "PUT",
            &format!("{A}/s?overwrite=true"),
            Some(json!({"parameters": [{"key": "x", "value": 1}]})),
        )
        .await;
    assert_eq!(kept.body["parameters"][0]["key"], json!("_actions"));
    let empty = api
        .call("PUT", &format!("{A}/e"), Some(seq(json!([]))))
        .await;
    assert_eq!(empty.status, 400);
    let missing = api
        .call("PUT", &format!("{A}/m"), Some(seq(json!(["/_/nope"]))))
        .await;
    assert_eq!(missing.status, 400);
    let itself = api
        .call(
            "PUT",
            &format!("{A}/s?overwrite=true"),
            Some(seq(json!(["/_/s"]))),
        )
        .await;
    assert_eq!(itself.status, 400);
    // Turning the sequence into code without parameters leaves none.
    let code = api
        .call(
            "PUT",
            &format!("{A}/s?overwrite=true"),
            Some(node_action("x")),
        )
        .await;
    assert_eq!(code.body["parameters"], json!([]));
    insta::assert_yaml_snapshot!("action_sequences", api.transcript());
    Ok(())
}
