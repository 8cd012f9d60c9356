//! `/nimbella/builder` over plain HTTP: `getUploadUrl` hands out a slice name and an upload
//! URL on this server, the URL takes exactly one upload without credentials, and
//! `build_<runtime>` refuses what it must refuse. (Builds themselves run the sluice
//! executable; they are tested end to end in the CLI's tests/remote_e2e.rs.)

use serde_json::{Value, json};

use crate::support::{Api, As, TestResult};

const UPLOAD: &str =
    "/api/v1/namespaces/nimbella/actions/builder/getUploadUrl?blocking=true&result=true";

fn build_path(api_runtime: &str) -> String {
    format!(
        "/api/v1/namespaces/nimbella/actions/builder/build_{api_runtime}?blocking=true&result=true"
    )
}

#[tokio::test]
async fn an_upload_url_takes_one_upload_without_credentials() -> TestResult {
    let api = Api::start();
    let answer = api
        .send(
            As::Owner,
            "POST",
            UPLOAD,
            Some(json!({"action": "demo_hello"})),
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let url = answer.body["url"].as_str().ok_or("a url")?.to_string();
    let slice = answer.body["sliceName"]
        .as_str()
        .ok_or("a slice name")?
        .to_string();
    assert!(
        slice.starts_with("local/") && slice.len() == "local/".len() + 32,
        "{slice}"
    );
    assert_eq!(
        url,
        format!("{}/sluice/v1/slices/{slice}", api.server.apihost)
    );

    let http = reqwest::Client::new();
    let first = http.put(&url).body(b"PK-slice".to_vec()).send().await?;
    assert_eq!(first.status().as_u16(), 200);
    let stored = api.data_dir().join("slices").join(format!("{slice}.zip"));
    assert_eq!(std::fs::read(&stored)?, b"PK-slice");
    let second = http.put(&url).body(b"other".to_vec()).send().await?;
    assert_eq!(second.status().as_u16(), 403, "one upload per issued name");
    assert_eq!(std::fs::read(&stored)?, b"PK-slice");
    let never = format!(
        "{}/sluice/v1/slices/local/0123456789abcdef0123456789abcdef",
        api.server.apihost
    );
    assert_eq!(
        http.put(&never).body("x").send().await?.status().as_u16(),
        403
    );
    let escape = format!("{}/sluice/v1/slices/local/..", api.server.apihost);
    assert_eq!(
        http.put(&escape).body("x").send().await?.status().as_u16(),
        404
    );

    // Without its parameter, getUploadUrl fails as an action does.
    let bare = api.send(As::Owner, "POST", UPLOAD, Some(json!({}))).await;
    assert_eq!(bare.status, 502, "{:?}", bare.body);
    Ok(())
}

#[tokio::test]
async fn builds_refuse_missing_foreign_and_unbuildable_slices() -> TestResult {
    let api = Api::start();
    let listed = api
        .send(
            As::Owner,
            "GET",
            "/api/v1/namespaces/nimbella/actions/builder/",
            None,
        )
        .await;
    let names: Vec<String> = listed
        .body
        .as_array()
        .ok_or("a list")?
        .iter()
        .filter_map(|a| a["name"].as_str().map(str::to_string))
        .collect();
    assert!(names.iter().any(|n| n == "getUploadUrl"), "{names:?}");
    let Some(build) = names.iter().find(|n| n.starts_with("build_")) else {
        println!("SKIPPED builds_refuse_…: no toolchain on the PATH, so no build actions");
        return Ok(());
    };
    assert!(names.iter().all(|n| !n.contains(':')), "{names:?}");
    let runtime = build.trim_start_matches("build_").to_string();
    let error = |v: &Value| v["error"].as_str().unwrap_or_default().to_string();

    let missing = api
        .send(As::Owner, "POST", &build_path(&runtime), Some(json!({})))
        .await;
    assert_eq!(missing.status, 502);
    assert!(
        error(&missing.body).contains("'toBuild'"),
        "{:?}",
        missing.body
    );

    let foreign = api
        .send(
            As::Owner,
            "POST",
            &build_path(&runtime),
            Some(json!({"toBuild": "other/0123456789abcdef0123456789abcdef"})),
        )
        .await;
    assert!(
        error(&foreign.body).contains("was not uploaded by namespace 'local'"),
        "{:?}",
        foreign.body
    );

    let issued = api
        .send(
            As::Owner,
            "POST",
            UPLOAD,
            Some(json!({"action": "demo_hello"})),
        )
        .await;
    let slice = issued.body["sliceName"]
        .as_str()
        .ok_or("a slice name")?
        .to_string();
    let not_uploaded = api
        .send(
            As::Owner,
            "POST",
            &build_path(&runtime),
            Some(json!({"toBuild": slice})),
        )
        .await;
    assert!(
        error(&not_uploaded.body).contains("Could not fetch slice"),
        "{:?}",
        not_uploaded.body
    );

    // Uploaded, but this server runs inside a test binary: there is no slice deployer, and
    // the build says so rather than running something else.
    let url = issued.body["url"].as_str().ok_or("a url")?;
    reqwest::Client::new().put(url).body("PK").send().await?;
    let embedded = api
        .send(
            As::Owner,
            "POST",
            &build_path(&runtime),
            Some(json!({"toBuild": slice})),
        )
        .await;
    assert_eq!(embedded.status, 502);
    assert!(
        error(&embedded.body).contains("not the sluice executable"),
        "{:?}",
        embedded.body
    );
    Ok(())
}
