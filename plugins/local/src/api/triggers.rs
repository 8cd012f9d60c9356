//! `GET|PUT|DELETE /namespaces/{ns}/triggers/{name}` and the triggers list
//! (openwhisk-api.md §3.4). Firing (`POST`) is the runner's.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::fqn::{self, FIRST_VERSION};
use super::{ApiError, AppState, ListParams, Subject, TRIGGER_PATH, bool_param, read_json};
use crate::names;
use crate::store::{self, KeyValue, Trigger, kv_dedup, kv_get, now_ms, triggers};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/namespaces/{ns}/triggers", get(list))
        .route(TRIGGER_PATH, get(get_one).put(put).delete(delete))
}

/// The body of a trigger `PUT`.
#[derive(Debug, Deserialize)]
struct TriggerPut {
    parameters: Option<Vec<KeyValue>>,
    annotations: Option<Vec<KeyValue>>,
    limits: Option<Map<String, Value>>,
    version: Option<String>,
    publish: Option<bool>,
}

/// The full trigger: `rules` only when it has some.
fn full(t: &Trigger) -> Value {
    let mut v = json!({
        "namespace": t.namespace,
        "name": t.name,
        "version": t.version,
        "publish": t.publish,
        "parameters": t.parameters,
        "annotations": t.annotations,
        "limits": t.limits,
        "updated": t.updated,
    });
    if !t.rules.is_empty() {
        v["rules"] = json!(t.rules);
    }
    v
}

fn summary(t: &Trigger) -> Value {
    json!({
        "namespace": t.namespace,
        "name": t.name,
        "version": t.version,
        "publish": t.publish,
        "annotations": t.annotations,
        "updated": t.updated,
    })
}

async fn list(
    State(state): State<AppState>,
    subject: Subject,
    Path(ns): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let ns = subject.namespace_for(&ns, "/triggers")?;
    let p = ListParams::parse(&query, "triggers")?;
    let value = state
        .store
        .call(move |c| {
            if p.count {
                return Ok(json!({ "triggers": triggers::count(c, &ns)? }));
            }
            let items = triggers::list(c, &ns, p.skip, p.limit)?;
            Ok(Value::Array(items.iter().map(summary).collect()))
        })
        .await?;
    Ok(Json(value))
}

async fn get_one(
    State(state): State<AppState>,
    subject: Subject,
    Path((ns, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let ns = subject.namespace_for(&ns, &format!("/triggers/{name}"))?;
    names::check_entity(&name)?;
    let found = state.store.get_trigger(&ns, &name).await?;
    found
        .map(|t| Json(full(&t)))
        .ok_or_else(ApiError::not_found)
}

async fn put(
    State(state): State<AppState>,
    subject: Subject,
    Path((ns, name)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let ns = subject.namespace_for(&ns, &format!("/triggers/{name}"))?;
    names::check_entity(&name)?;
    let overwrite = bool_param(&query, "overwrite")?.unwrap_or(false);
    let req: TriggerPut = read_json(&headers, &body)?;
    let max = state.limits.max_parameters;
    for (what, kvs) in [
        ("parameters", &req.parameters),
        ("annotations", &req.annotations),
    ] {
        if let Some(kvs) = kvs {
            let size = serde_json::to_string(kvs).map_or(0, |s| s.len());
            if size > max {
                return Err(ApiError::too_large(what, size, max));
            }
        }
    }
    if let Some(feed) = req.annotations.as_deref().and_then(|a| kv_get(a, "feed")) {
        let valid = feed.as_str().and_then(|f| fqn::parse(f, &ns)).is_some();
        if !valid {
            return Err(ApiError::bad_request("Feed name is not valid"));
        }
    }
    let trigger = state
        .store
        .write(move |tx| {
            let old = triggers::get(tx, &ns, &name)?;
            if old.is_some() && !overwrite {
                return Ok(Err(ApiError::exists()));
            }
            if old.is_none() && store::taken_by_other_collection(tx, &ns, &name, "triggers")? {
                return Ok(Err(ApiError::conflict(
                    "Resource by this name exists but is not in this collection.",
                )));
            }
            let keep = |f: fn(&Trigger) -> Vec<KeyValue>| old.as_ref().map(f).unwrap_or_default();
            let trigger = Trigger {
                namespace: ns.clone(),
                name: name.clone(),
                version: req.version.unwrap_or_else(|| {
                    old.as_ref()
                        .map_or_else(|| FIRST_VERSION.to_string(), |o| fqn::bump(&o.version))
                }),
                publish: req
                    .publish
                    .unwrap_or_else(|| old.as_ref().is_some_and(|o| o.publish)),
                parameters: req
                    .parameters
                    .map(kv_dedup)
                    .unwrap_or_else(|| keep(|o| o.parameters.clone())),
                annotations: req
                    .annotations
                    .map(kv_dedup)
                    .unwrap_or_else(|| keep(|o| o.annotations.clone())),
                limits: req
                    .limits
                    .or_else(|| old.as_ref().map(|o| o.limits.clone()))
                    .unwrap_or_default(),
                rules: old.as_ref().map(|o| o.rules.clone()).unwrap_or_default(),
                updated: now_ms(),
            };
            triggers::put(tx, &trigger)?;
            Ok(Ok(trigger))
        })
        .await??;
    Ok(Json(full(&trigger)))
}

async fn delete(
    State(state): State<AppState>,
    subject: Subject,
    Path((ns, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let ns = subject.namespace_for(&ns, &format!("/triggers/{name}"))?;
    names::check_entity(&name)?;
    let deleted = state
        .store
        .write(move |tx| {
            let Some(old) = triggers::get(tx, &ns, &name)? else {
                return Ok(None);
            };
            triggers::delete(tx, &ns, &name)?;
            Ok(Some(old))
        })
        .await?;
    deleted
        .map(|t| Json(full(&t)))
        .ok_or_else(ApiError::not_found)
}
