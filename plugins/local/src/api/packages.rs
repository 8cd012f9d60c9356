//! `GET|PUT|DELETE /namespaces/{ns}/packages/{name}` and the packages list
//! (openwhisk-api.md §3.3): bindings, replace-all updates, `force` delete. List, get and
//! delete run through [`super::entity`].

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use rusqlite::Connection;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::entity::{self, Count, Entity, Get, List, Shared, check_put, check_sizes, scope};
use super::fqn;
use crate::auth::Subject;
use crate::error::LocalError;
use crate::http_error::ApiError;
use crate::names;
use crate::request::{bool_param, read_json};
use crate::state::AppState;
use crate::store::{self, BindingRef, KeyValue, Package, actions, kv_dedup, now_ms, packages};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/namespaces/{ns}/packages",
            get(entity::list::<Package>),
        )
        .route(
            "/api/v1/namespaces/{ns}/packages/{name}",
            get(entity::get_one::<Package>)
                .put(put)
                .delete(entity::delete::<Package>),
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

impl Entity for Package {
    const COLLECTION: &'static str = "packages";
    const LISTS_PUBLIC: bool = true;
    const DELETES_FORCED: bool = true;

    const GET: Get<Self> = packages::get;
    const COUNT: Count = packages::count;
    const LIST: List<Self> = packages::list;
    const SHARED: Option<(Count, Shared<Self>)> =
        Some((packages::count_published_in, packages::list_published_in));

    /// Published packages are shared; bindings stay their owner's.
    fn is_shared(&self) -> bool {
        self.publish && self.binding.is_none()
    }

    /// `binding` is `false` for a plain package.
    fn summary(&self) -> Value {
        json!({
            "namespace": self.namespace,
            "name": self.name,
            "version": self.version,
            "publish": self.publish,
            "annotations": self.annotations,
            "binding": self.binding.as_ref().map_or(Value::Bool(false), |b| json!(b)),
            "updated": self.updated,
        })
    }

    /// The package with its binding followed: the merged parameters, and the actions and
    /// feeds of the package it resolves to.
    fn show(conn: &Connection, ns: &str, name: &str) -> Result<Option<Value>, LocalError> {
        let Some(r) = packages::resolve(conn, ns, name)? else {
            return Ok(None);
        };
        let contents = actions::list(conn, &r.target.namespace, Some(&r.target.name), 0, u64::MAX)?;
        let mut v = full(&r.requested);
        v["parameters"] = json!(r.parameters);
        let brief = |a: &store::Action| json!({"name": a.name, "version": a.version, "annotations": a.annotations});
        let is_feed = |a: &&store::Action| store::kv_get(&a.annotations, "feed").is_some();
        v["actions"] = contents.iter().map(brief).collect();
        v["feeds"] = contents.iter().filter(is_feed).map(brief).collect();
        Ok(Some(v))
    }

    /// A package that holds actions goes only with `force`, and takes them along; a
    /// binding holds none of its own.
    fn remove(
        conn: &Connection,
        old: Self,
        force: bool,
    ) -> Result<Result<Value, ApiError>, LocalError> {
        let (ns, name) = (&old.namespace, &old.name);
        if old.binding.is_none() {
            let n = actions::count(conn, ns, Some(name))?;
            if n > 0 && !force {
                let noun = if n == 1 { "entity" } else { "entities" };
                return Ok(Err(ApiError::conflict(format!(
                    "Package not empty (contains {n} {noun}). Set force param or delete package contents."
                ))));
            }
            actions::delete_package_contents(conn, ns, name)?;
        }
        packages::delete(conn, ns, name)?;
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
    let ns = scope(&subject, &ns, Package::COLLECTION, &name)?;
    if name == "default" {
        return Err(ApiError::bad_request("Package name 'default' is reserved."));
    }
    let overwrite = bool_param(&query, "overwrite")?.unwrap_or(false);
    let req: PackagePut = read_json(&headers, &body)?;
    check_sizes(
        state.limits.max_parameters,
        req.parameters.as_ref(),
        req.annotations.as_ref(),
    )?;
    let binding = parse_binding(req.binding.as_ref(), &ns)?;
    let package = state
        .store
        .write(move |tx| {
            let old = packages::get(tx, &ns, &name)?;
            if let Err(e) = check_put(old.is_some(), overwrite, || {
                store::taken_by_other_collection(tx, &ns, &name, Package::COLLECTION)
            })? {
                return Ok(Err(e));
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
                version: fqn::next_version(req.version, old.as_ref().map(|o| o.version.as_str())),
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
) -> Result<Result<(), ApiError>, LocalError> {
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
