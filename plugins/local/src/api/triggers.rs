//! `GET|PUT|DELETE /namespaces/{ns}/triggers/{name}` and the triggers list
//! (openwhisk-api.md §3.4); list, get and delete are [`super::entity`]'s. Firing (`POST`)
//! is [`crate::run`]'s.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use rusqlite::Connection;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::entity::{self, Count, Entity, Get, List, check_put, check_sizes, scope};
use super::fqn;
use crate::auth::Subject;
use crate::error::LocalError;
use crate::http_error::ApiError;
use crate::paths::TRIGGER_PATH;
use crate::request::{bool_param, read_json};
use crate::state::AppState;
use crate::store::{self, KeyValue, Trigger, kv_dedup, kv_get, now_ms, triggers};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/namespaces/{ns}/triggers",
            get(entity::list::<Trigger>),
        )
        .route(
            TRIGGER_PATH,
            get(entity::get_one::<Trigger>)
                .put(put)
                .delete(entity::delete::<Trigger>),
        )
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

impl Entity for Trigger {
    const COLLECTION: &'static str = "triggers";

    const GET: Get<Self> = triggers::get;
    const COUNT: Count = triggers::count;
    const LIST: List<Self> = |c, ns, _public, skip, limit| triggers::list(c, ns, skip, limit);

    fn summary(&self) -> Value {
        json!({
            "namespace": self.namespace,
            "name": self.name,
            "version": self.version,
            "publish": self.publish,
            "annotations": self.annotations,
            "updated": self.updated,
        })
    }

    fn show(conn: &Connection, ns: &str, name: &str) -> Result<Option<Value>, LocalError> {
        Ok(triggers::get(conn, ns, name)?.map(|t| full(&t)))
    }

    fn remove(
        conn: &Connection,
        old: Self,
        _force: bool,
    ) -> Result<Result<Value, ApiError>, LocalError> {
        triggers::delete(conn, &old.namespace, &old.name)?;
        Ok(Ok(full(&old)))
    }
}

async fn put(
    State(state): State<AppState>,
    subject: Subject,
    Path((ns, name)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let ns = scope(&subject, &ns, Trigger::COLLECTION, &name)?;
    let overwrite = bool_param(&query, "overwrite")?.unwrap_or(false);
    let req: TriggerPut = read_json(&headers, &body)?;
    check_sizes(
        state.limits.max_parameters,
        req.parameters.as_ref(),
        req.annotations.as_ref(),
    )?;
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
            if let Err(e) = check_put(old.is_some(), overwrite, || {
                store::taken_by_other_collection(tx, &ns, &name, Trigger::COLLECTION)
            })? {
                return Ok(Err(e));
            }
            let keep = |f: fn(&Trigger) -> Vec<KeyValue>| old.as_ref().map(f).unwrap_or_default();
            let trigger = Trigger {
                namespace: ns.clone(),
                name: name.clone(),
                version: fqn::next_version(req.version, old.as_ref().map(|o| o.version.as_str())),
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
