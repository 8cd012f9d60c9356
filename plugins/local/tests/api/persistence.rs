//! Everything written survives a restart of the server on the same data directory.

use serde_json::{Value, json};

use crate::support::{Api, As, TestResult, node_action};

#[tokio::test]
async fn entities_survive_a_restart() -> TestResult {
    let api = Api::start();
    let auth_before = api.server.auth().to_string();
    let writes: Vec<(&str, Value)> = vec![
        (
            "/api/v1/namespaces/_/packages/tools",
            json!({"parameters": [{"key": "p", "value": 1}]}),
        ),
        (
            "/api/v1/namespaces/_/actions/tools/t",
            node_action("function main() {}"),
        ),
        (
            "/api/v1/namespaces/_/actions/hello",
            node_action("function main() { return {} }"),
        ),
        (
            "/api/v1/namespaces/_/packages/bound",
            json!({"binding": {"namespace": "_", "name": "tools"}}),
        ),
        (
            "/api/v1/namespaces/_/triggers/tick",
            json!({"parameters": [{"key": "n", "value": 1}]}),
        ),
        (
            "/api/v1/namespaces/_/rules/r",
            json!({"trigger": "/_/tick", "action": "/_/hello"}),
        ),
    ];
    for (path, body) in &writes {
        let r = api.send(As::Owner, "PUT", path, Some(body.clone())).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
    }
    let reads: Vec<&str> = writes.iter().map(|(p, _)| *p).collect();
    let mut before = Vec::new();
    for path in &reads {
        before.push(api.send(As::Owner, "GET", path, None).await.body);
    }
    let (u, _) = auth_before.split_once(':').ok_or("auth")?;
    let do_trigger = json!({
        "name": "nightly", "function": "hello", "type": "SCHEDULED",
        "scheduled_details": {"cron": "0 3 * * *"}
    });
    let created = api
        .http
        .post(format!(
            "{}/v2/functions/namespaces/local/triggers",
            api.server.apihost
        ))
        .bearer_auth(&auth_before)
        .json(&do_trigger)
        .send()
        .await?;
    assert_eq!(created.status(), 200);
    let old_host = api.server.apihost.clone();

    // Stop the server, start another on the same directory.
    let Api { dir, server, .. } = api;
    server.stop()?;
    let api = Api::start_in(dir);
    assert_ne!(api.server.apihost, old_host, "a new ephemeral port");
    assert_eq!(api.server.auth(), auth_before, "the key is kept");
    assert!(u.len() == 36);
    for (path, old) in reads.iter().zip(before) {
        let now = api.send(As::Owner, "GET", path, None).await;
        assert_eq!(now.status, 200, "{path}");
        assert_eq!(now.body, old, "{path} changed across the restart");
    }
    let listed: Value = api
        .http
        .get(format!(
            "{}/v2/functions/namespaces/local/triggers",
            api.server.apihost
        ))
        .bearer_auth(&auth_before)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(listed["triggers"][0]["name"], json!("nightly"));
    Ok(())
}

#[tokio::test]
async fn the_key_file_is_private_and_matches_the_database() -> TestResult {
    let api = Api::start();
    let key_file = api.data_dir().join(sluice_local::server::KEY_FILE);
    let text = std::fs::read_to_string(&key_file)?;
    assert_eq!(text.trim(), api.server.auth());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file)?.permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let db = api.data_dir().join(sluice_local::store::DB_FILE);
        assert_eq!(std::fs::metadata(db)?.permissions().mode() & 0o777, 0o600);
    }
    // A deleted key file is written again from the database on the next start.
    let Api { dir, server, .. } = api;
    let auth = server.auth().to_string();
    server.stop()?;
    std::fs::remove_file(&key_file)?;
    let api = Api::start_in(dir);
    assert_eq!(api.server.auth(), auth);
    assert_eq!(std::fs::read_to_string(&key_file)?.trim(), auth);
    Ok(())
}
