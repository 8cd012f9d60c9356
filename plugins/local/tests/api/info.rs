//! Info endpoints, authentication, the `_` alias, CORS and request ids.

use serde_json::json;

use crate::support::{Api, As, TestResult};

#[tokio::test]
async fn info_endpoints_report_runtimes_and_limits() -> TestResult {
    let mut api = Api::start();
    let root = api.call_as(As::Nobody, "GET", "/", None).await;
    assert_eq!(root.status, 200);
    let v1 = api.call_as(As::Nobody, "GET", "/api/v1", None).await;
    assert_eq!(v1.status, 200);
    // Both carry the runtimes; node and python are marked as runnable here.
    for body in [&root.body, &v1.body] {
        let nodejs = body["runtimes"]["nodejs"]
            .as_array()
            .ok_or("nodejs family")?;
        assert!(nodejs.iter().all(|k| k["local"] == json!(true)));
        assert_eq!(body["runtimes"]["php"][0]["local"], json!(false));
        assert!(body["limits"]["max_action_duration"].is_u64());
    }
    api.call("GET", "/api/v1/namespaces", None).await;
    api.call("GET", "/api/v1/namespaces/_/limits", None).await;
    insta::assert_yaml_snapshot!("info", api.transcript());
    Ok(())
}

#[tokio::test]
async fn authentication_and_namespace_errors() -> TestResult {
    let mut api = Api::start();
    let missing = api
        .call_as(As::Nobody, "GET", "/api/v1/namespaces", None)
        .await;
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.headers["www-authenticate"],
        "Basic realm=\"OpenWhisk secure realm\""
    );
    let wrong = api
        .call_as(As::Stranger, "GET", "/api/v1/namespaces/_/actions", None)
        .await;
    assert_eq!(wrong.status, 401);
    // A malformed Authorization header is just invalid.
    let garbage = api
        .http
        .get(format!("{}/api/v1/namespaces", api.server.apihost))
        .header("Authorization", "Basic !!!")
        .send()
        .await?;
    assert_eq!(garbage.status(), 401);
    // Another namespace is forbidden, an illegal one is a bad request.
    let other = api
        .call("GET", "/api/v1/namespaces/guest/actions", None)
        .await;
    assert_eq!(other.status, 403);
    let illegal = api
        .call("GET", "/api/v1/namespaces/bad%24ns/actions", None)
        .await;
    assert_eq!(illegal.status, 400);
    // The real name works like `_`.
    let own = api
        .call("GET", "/api/v1/namespaces/local/actions", None)
        .await;
    assert_eq!(own.status, 200);
    let unknown = api.call("GET", "/api/v1/nothing/here", None).await;
    assert_eq!(unknown.status, 404);
    insta::assert_yaml_snapshot!("auth_errors", api.transcript());
    Ok(())
}

#[tokio::test]
async fn every_response_has_a_request_id_and_cors_headers() -> TestResult {
    let api = Api::start();
    let url = format!("{}/api/v1/namespaces/_/actions/x", api.server.apihost);
    let options = api
        .http
        .request(reqwest::Method::OPTIONS, &url)
        .send()
        .await?;
    assert_eq!(options.status(), 200);
    assert_eq!(options.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        options.headers()["access-control-allow-methods"],
        "GET, DELETE, POST, PUT, HEAD"
    );
    assert_eq!(
        options.headers()["access-control-allow-headers"],
        "Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent"
    );
    let missing = api
        .send(As::Owner, "GET", "/api/v1/namespaces/_/actions/x", None)
        .await;
    assert_eq!(missing.status, 404);
    let rid = missing.headers["x-request-id"].to_str()?;
    assert_eq!(rid.len(), 32);
    assert_eq!(missing.body["code"], json!(rid));
    assert_eq!(
        missing.body["error"],
        json!("The requested resource does not exist.")
    );
    assert_eq!(missing.headers["access-control-allow-origin"], "*");
    Ok(())
}

#[tokio::test]
async fn framework_rejections_have_the_error_shape() -> TestResult {
    let mut api = Api::start();
    // PATCH is not a method of the actions API.
    let patch = api
        .call("PATCH", "/api/v1/namespaces/_/actions/x", None)
        .await;
    assert_eq!(patch.status, 405);
    // A query string that is not valid percent-encoding.
    let query = api
        .call("GET", "/api/v1/namespaces/_/actions?limit=%ZZ", None)
        .await;
    assert_eq!(query.status, 400);
    insta::assert_yaml_snapshot!("framework_rejections", api.transcript());
    Ok(())
}
