//! Removing entities: named functions, whole packages (their functions first, then the
//! package), everything in the namespace, and DigitalOcean triggers.

use futures::future::join_all;
use serde_json::Value;
use sluice_core::{DeployFailure, DeployResponse, DeploySuccess, EntityKind, UndeployRequest};

use crate::client::Client;
use crate::error::{OwError, Result};
use crate::triggers::TriggersApi;

/// Page size of list calls (the controller's maximum).
const PAGE: usize = 200;

fn failed(r: &mut DeployResponse, e: OwError, context: String) {
    r.failures.push(DeployFailure {
        status_code: e.status(),
        message: e.to_string(),
        context: Some(context),
    });
}

fn done(r: &mut DeployResponse, name: String, kind: EntityKind) {
    r.successes.push(DeploySuccess {
        name,
        kind,
        skipped: false,
    });
}

/// Every entity of a collection (`actions`, `packages`), page by page.
async fn list_all(client: &Client, collection: &str) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    loop {
        let mut url = client.api_url(["namespaces", "_", collection]);
        url.query_pairs_mut()
            .append_pair("limit", &PAGE.to_string())
            .append_pair("skip", &out.len().to_string());
        let page = client.get(url).await?;
        let items = page.as_array().cloned().unwrap_or_default();
        let n = items.len();
        out.extend(items);
        if n < PAGE {
            return Ok(out);
        }
    }
}

/// `pkg/name` of a listed action (`namespace` is `ns` or `ns/pkg`).
fn listed_action_name(item: &Value) -> Option<String> {
    let name = item.get("name")?.as_str()?;
    let ns = item
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Some(match ns.split_once('/') {
        Some((_, pkg)) => format!("{pkg}/{name}"),
        None => name.to_string(),
    })
}

async fn delete_actions(client: &Client, names: Vec<String>, r: &mut DeployResponse) {
    let results = join_all(
        names
            .iter()
            .map(|n| client.delete(client.entity_url("actions", n))),
    )
    .await;
    for (name, result) in names.into_iter().zip(results) {
        match result {
            Ok(_) => done(r, name, EntityKind::Action),
            Err(e) => failed(r, e, format!("action '{name}'")),
        }
    }
}

async fn delete_package(client: &Client, name: &str, r: &mut DeployResponse) {
    let url = client.entity_url("packages", name);
    let package = match client.get(url.clone()).await {
        Ok(p) => p,
        Err(e) => return failed(r, e, format!("package '{name}'")),
    };
    // A binding lists the bound package's actions, which are not ours to delete.
    let is_binding = package
        .get("binding")
        .and_then(Value::as_object)
        .is_some_and(|b| !b.is_empty());
    if !is_binding {
        let actions: Vec<String> = package
            .get("actions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| a.get("name").and_then(Value::as_str))
            .map(|a| format!("{name}/{a}"))
            .collect();
        let before = r.failures.len();
        delete_actions(client, actions, r).await;
        if r.failures.len() > before {
            return;
        }
    }
    match client.delete(url).await {
        Ok(_) => done(r, name.to_string(), EntityKind::Package),
        Err(e) => failed(r, e, format!("package '{name}'")),
    }
}

async fn delete_triggers(
    api: Option<&TriggersApi>,
    namespace: &str,
    names: Vec<String>,
    r: &mut DeployResponse,
) {
    let Some(api) = api else {
        for name in names {
            r.failures.push(DeployFailure {
                message: "triggers are managed through the DigitalOcean API; set DO_API_KEY or DO_API_TOKEN".into(),
                context: Some(format!("trigger '{name}'")),
                status_code: None,
            });
        }
        return;
    };
    for name in names {
        match api.delete(namespace, &name).await {
            Ok(()) => done(r, name, EntityKind::Trigger),
            Err(e) => failed(r, e, format!("trigger '{name}'")),
        }
    }
}

/// Deletes what `request` names. Failures of single entities are in the response.
pub async fn undeploy(
    client: &Client,
    triggers: Option<&TriggersApi>,
    namespace: &str,
    request: &UndeployRequest,
) -> Result<DeployResponse> {
    let mut r = DeployResponse {
        namespace: Some(namespace.to_string()),
        apihost: Some(client.apihost().to_string()),
        ..Default::default()
    };
    if request.all {
        let actions = list_all(client, "actions").await?;
        let names: Vec<String> = actions.iter().filter_map(listed_action_name).collect();
        delete_actions(client, names, &mut r).await;
        let packages = list_all(client, "packages").await?;
        for p in packages
            .iter()
            .filter_map(|p| p.get("name").and_then(Value::as_str))
        {
            match client.delete(client.entity_url("packages", p)).await {
                Ok(_) => done(&mut r, p.to_string(), EntityKind::Package),
                Err(e) => failed(&mut r, e, format!("package '{p}'")),
            }
        }
    }
    delete_actions(client, request.actions.clone(), &mut r).await;
    for p in &request.packages {
        delete_package(client, p, &mut r).await;
    }
    let mut trigger_names = request.triggers.clone();
    // `--all` takes the triggers with the functions they would fire, when the triggers API
    // can be reached; `--all --triggers` insists (and fails without a token).
    let every_trigger = request.all_triggers || (request.all && triggers.is_some());
    if every_trigger {
        match triggers {
            Some(api) => {
                let listed = api.list(namespace).await?;
                trigger_names.extend(
                    listed
                        .iter()
                        .filter_map(|t| t.get("name").and_then(Value::as_str))
                        .map(str::to_string),
                );
            }
            None => trigger_names.push("*".to_string()),
        }
    }
    delete_triggers(triggers, namespace, trigger_names, &mut r).await;
    Ok(r)
}
