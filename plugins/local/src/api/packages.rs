//! `GET|PUT|DELETE /namespaces/{ns}/packages/{name}` and the packages list
//! (openwhisk-api.md §3.3): bindings, replace-all updates, `force` delete.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use rusqlite::Connection;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::fqn::{self, FIRST_VERSION};
use super::{ApiError, AppState, ListParams, Subject, bool_param, read_json};
use crate::names;
use crate::store::{self, BindingRef, KeyValue, Package, actions, kv_dedup, now_ms, packages};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/namespaces/{ns}/packages", get(list))
        .route(
            "/api/v1/namespaces/{ns}/packages/{name}",
            get(get_one).put(put).delete(delete),
        )
}

/// The body of a package `PUT`.
#[derive(Debug, Deserialize)]
struct PackagePut {
    binding: Option<Map<String, Value>>,
    parameters: Option<Vec<KeyValue>>,
    annotations: Option<Vec<KeyValue>>,
    version: Option<String>,
    publish: Option<bool>,
}

/// The stored package as the API shows it: `binding` is `{}` for a plain package.
fn full(p: &Package) -> Value {
    json!({
        "namespace": p.namespace,
        "name": p.name,
        "version": p.version,
        "publish": p.publish,
        "binding": p.binding.as_ref().map_or_else(|| json!({}), |b| json!(b)),
        "parameters": p.parameters,
        "annotations": p.annotations,
        "updated": p.updated,
    })
}

fn summary(p: &Package) -> Value {
    json!({
        "namespace": p.namespace,
        "name": p.name,
        "version": p.version,
        "publish": p.publish,
        "annotations": p.annotations,
        "binding": p.binding.as_ref().map_or(Value::Bool(false), |b| json!(b)),
        "updated": p.updated,
    })
}

async fn list(
    State(state): State<AppState>,
    subject: Subject,
    Path(ns): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let ns = subject.namespace_for(&ns, "/packages")?;
    let p = ListParams::parse(&query, "packages")?;
    let public = bool_param(&query, "public")?.unwrap_or(false);
    let value = state
        .store
        .call(move |c| {
            if p.count {
                return Ok(json!({ "packages": packages::count(c, &ns)? }));
            }
            let items = packages::list(c, &ns, public, p.skip, p.limit)?;
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
    let ns = subject.namespace_for(&ns, &format!("/packages/{name}"))?;
    names::check_entity(&name)?;
    let value = state
        .store
        .call(move |c| {
            let Some(r) = packages::resolve(c, &ns, &name)? else {
                return Ok(None);
            };
            let contents = actions::list(c, &r.target.namespace, Some(&r.target.name), 0, u64::MAX)?;
            let mut v = full(&r.requested);
            v["parameters"] = json!(r.parameters);
            let brief = |a: &store::Action| {
                json!({"name": a.name, "version": a.version, "annotations": a.annotations})
            };
            let is_feed = |a: &&store::Action| store::kv_get(&a.annotations, "feed").is_some();
            v["actions"] = contents.iter().map(brief).collect();
            v["feeds"] = contents.iter().filter(is_feed).map(brief).collect();
            Ok(Some(v))
        })
        .await?;
    value.map(Json).ok_or_else(ApiError::not_found)
}

async fn put(
    State(state): State<AppState>,
    subject: Subject,
    Path((ns, name)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let ns = subject.namespace_for(&ns, &format!("/packages/{name}"))?;
    names::check_entity(&name)?;
    if name == "default" {
        return Err(ApiError::bad_request("Package name 'default' is reserved."));
    }
    let overwrite = bool_param(&query, "overwrite")?.unwrap_or(false);
    let req: PackagePut = read_json(&headers, &body)?;
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
    let binding = parse_binding(req.binding.as_ref(), &ns)?;
    let package = state
        .store
        .write(move |tx| {
            let old = packages::get(tx, &ns, &name)?;
            if old.is_some() && !overwrite {
                return Ok(Err(ApiError::exists()));
            }
            if old.is_none() && store::taken_by_other_collection(tx, &ns, &name, "packages")? {
                return Ok(Err(ApiError::conflict(
                    "Resource by this name exists but is not in this collection.",
                )));
            }
            if let Some(b) = &binding {
                if let Some(o) = &old
                    && o.binding.is_none()
                {
                    return Ok(Err(ApiError::conflict(
                        "Resource is a package and cannot be converted into a binding.",
                    )));
                }
                if let Err(e) = check_binding_target(tx, &ns, b)? {
                    return Ok(Err(e));
                }
            }
            let mut annotations: Vec<KeyValue> = match req.annotations {
                Some(a) => kv_dedup(a),
                None => old
                    .as_ref()
                    .map(|o| o.annotations.clone())
                    .unwrap_or_default(),
            };
            annotations.retain(|a| a.key != "binding");
            let binding = binding.or_else(|| {
                // An update that does not mention the binding keeps it.
                if req.binding.is_none() {
                    old.as_ref().and_then(|o| o.binding.clone())
                } else {
                    None
                }
            });
            if let Some(b) = &binding {
                annotations.push(KeyValue::new("binding", json!(b)));
            }
            let package = Package {
                namespace: ns.clone(),
                name: name.clone(),
                version: req.version.unwrap_or_else(|| {
                    old.as_ref()
                        .map_or_else(|| FIRST_VERSION.to_string(), |o| fqn::bump(&o.version))
                }),
                publish: req
                    .publish
                    .unwrap_or_else(|| old.as_ref().is_some_and(|o| o.publish)),
                binding,
                parameters: match req.parameters {
                    Some(p) => kv_dedup(p),
                    None => old
                        .as_ref()
                        .map(|o| o.parameters.clone())
                        .unwrap_or_default(),
                },
                annotations,
                updated: now_ms(),
            };
            packages::put(tx, &package)?;
            Ok(Ok(package))
        })
        .await??;
    Ok(Json(full(&package)))
}

/// `binding` of a request: absent or `{}` means none; otherwise `namespace` (`_` allowed)
/// and `name` must be valid names.
fn parse_binding(
    binding: Option<&Map<String, Value>>,
    caller: &str,
) -> Result<Option<BindingRef>, ApiError> {
    let Some(b) = binding.filter(|b| !b.is_empty()) else {
        return Ok(None);
    };
    let field = |key: &str| b.get(key).and_then(Value::as_str).map(str::trim);
    let (Some(ns), Some(name)) = (field("namespace"), field("name")) else {
        return Err(ApiError::malformed(
            "binding must have a 'namespace' and a 'name'",
        ));
    };
    let ns = if ns == "_" { caller } else { ns };
    names::check_namespace(ns)?;
    names::check_entity(name)?;
    Ok(Some(BindingRef {
        namespace: ns.to_string(),
        name: name.to_string(),
    }))
}

fn check_binding_target(
    conn: &Connection,
    caller: &str,
    b: &BindingRef,
) -> Result<Result<(), ApiError>, crate::LocalError> {
    match packages::get(conn, &b.namespace, &b.name)? {
        // Another namespace's package is visible only when published.
        Some(t) if t.namespace != caller && !t.publish => Ok(Err(ApiError::bad_request(
            "Binding references a package that does not exist.",
        ))),
        Some(t) if t.binding.is_some() => Ok(Err(ApiError::bad_request(
            "Cannot bind to another package binding.",
        ))),
        Some(_) => Ok(Ok(())),
        None if store::taken_by_other_collection(conn, &b.namespace, &b.name, "packages")? => {
            Ok(Err(ApiError::conflict(
                "Cannot bind to a resource that is not a package.",
            )))
        }
        None => Ok(Err(ApiError::bad_request(
            "Binding references a package that does not exist.",
        ))),
    }
}

async fn delete(
    State(state): State<AppState>,
    subject: Subject,
    Path((ns, name)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let ns = subject.namespace_for(&ns, &format!("/packages/{name}"))?;
    names::check_entity(&name)?;
    let force = bool_param(&query, "force")?.unwrap_or(false);
    let deleted = state
        .store
        .write(move |tx| {
            let Some(old) = packages::get(tx, &ns, &name)? else {
                return Ok(Err(ApiError::not_found()));
            };
            if old.binding.is_none() {
                let n = actions::count(tx, &ns, Some(&name))?;
                if n > 0 && !force {
                    let noun = if n == 1 { "entity" } else { "entities" };
                    return Ok(Err(ApiError::conflict(format!(
                        "Package not empty (contains {n} {noun}). Set force param or delete package contents."
                    ))));
                }
                actions::delete_package_contents(tx, &ns, &name)?;
            }
            packages::delete(tx, &ns, &name)?;
            Ok(Ok(old))
        })
        .await??;
    Ok(Json(full(&deleted)))
}
