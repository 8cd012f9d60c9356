//! `GET|PUT|DELETE /namespaces/{ns}/actions/[{pkg}/]{name}`, the actions list and a
//! package's action list (`actions/{pkg}/`). The merge rules of an update live in
//! [`super::action_put`]. Actions are no [`super::entity::Entity`] (their paths carry a
//! package and follow bindings) but share its list answer and `PUT` checks. Invoking (`POST`)
//! is [`crate::run`]'s.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::get;
use serde_json::{Value, json};

use super::action_put::{self, ActionPut};
use super::entity::{check_put, page};
use crate::auth::Subject;
use crate::http_error::ApiError;
use crate::names;
use crate::paths::ACTION_PATH;
use crate::request::{ListParams, bool_param, read_json};
use crate::state::AppState;
use crate::store::{self, Action, actions, packages};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/namespaces/{ns}/actions", get(list))
        .route("/api/v1/namespaces/{ns}/actions/", get(list))
        .route(ACTION_PATH, get(get_one).put(put).delete(delete))
}

/// What the wildcard after `actions/` names.
enum Target {
    /// `name` or `pkg/name`.
    Action {
        package: Option<String>,
        name: String,
    },
    /// `pkg/`: the actions of a package.
    PackageList(String),
}

fn parse_target(path: &str) -> Result<Target, ApiError> {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        [name] => {
            names::check_entity(name)?;
            Ok(Target::Action {
                package: None,
                name: (*name).to_string(),
            })
        }
        [pkg, ""] => {
            names::check_entity(pkg)?;
            Ok(Target::PackageList((*pkg).to_string()))
        }
        [pkg, name] => {
            names::check_entity(pkg)?;
            names::check_entity(name)?;
            Ok(Target::Action {
                package: Some((*pkg).to_string()),
                name: (*name).to_string(),
            })
        }
        _ => Err(ApiError::not_found()),
    }
}

/// The list item form of an action.
fn summary(a: &Action) -> Value {
    json!({
        "namespace": a.namespace,
        "name": a.name,
        "version": a.version,
        "publish": a.publish,
        "annotations": a.annotations,
        "limits": a.limits,
        "exec": {"binary": a.exec.binary.unwrap_or(false)},
        "updated": a.updated,
    })
}

async fn list(
    State(state): State<AppState>,
    subject: Subject,
    Path(ns): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let ns = subject.namespace_for(&ns, "/actions")?;
    list_in(&state, ns, None, false, &query).await
}

/// Whether another namespace may read the actions of `package` (published, not a binding).
fn shared(package: &store::Package) -> bool {
    package.publish && package.binding.is_none()
}

/// The actions of `ns` (top level) or of `package`; `foreign` when the caller reads another
/// namespace's package, which must then be shared.
async fn list_in(
    state: &AppState,
    ns: String,
    package: Option<String>,
    foreign: bool,
    query: &HashMap<String, String>,
) -> Result<Json<Value>, ApiError> {
    let p = ListParams::parse(query, "actions")?;
    let result = state
        .store
        .call(move |c| {
            // A binding lists the actions of the package it is bound to.
            let (list_ns, list_pkg) = match &package {
                None => (ns, None),
                Some(pkg) => match packages::resolve(c, &ns, pkg)? {
                    Some(r) if !foreign || shared(&r.requested) => {
                        (r.target.namespace, Some(r.target.name))
                    }
                    _ => return Ok(Err(ApiError::not_found())),
                },
            };
            let pkg = list_pkg.as_deref();
            page(
                p,
                "actions",
                || actions::count(c, &list_ns, pkg),
                |skip, limit| actions::list(c, &list_ns, pkg, skip, limit),
                summary,
            )
            .map(Ok)
        })
        .await??;
    Ok(Json(result))
}

async fn get_one(
    State(state): State<AppState>,
    subject: Subject,
    Path((ns, path)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let (read_ns, foreign) = subject.read_namespace(&ns)?;
    let (package, name) = match parse_target(&path)? {
        Target::PackageList(pkg) => {
            return list_in(&state, read_ns, Some(pkg), foreign, &query).await;
        }
        // Another namespace shares only what its published packages hold.
        Target::Action { package: None, .. } if foreign => {
            return Err(ApiError::forbidden(&format!("{ns}/actions/{path}")));
        }
        Target::Action { package, name } => (package, name),
    };
    let ns = read_ns;
    let with_code = bool_param(&query, "code")?.unwrap_or(true);
    let found = state
        .store
        .call(move |c| {
            let (ns, pkg) = match package {
                None => (ns, String::new()),
                // Through a binding, the action of the bound package is returned.
                Some(pkg) => match packages::resolve(c, &ns, &pkg)? {
                    Some(r) if !foreign || shared(&r.requested) => {
                        (r.target.namespace, r.target.name)
                    }
                    _ => return Ok(None),
                },
            };
            actions::get(c, &ns, &pkg, &name, with_code)
        })
        .await?;
    let action = found.ok_or_else(ApiError::not_found)?;
    Ok(Json(serde_json::to_value(&action).unwrap_or(Value::Null)))
}

async fn put(
    State(state): State<AppState>,
    subject: Subject,
    Path((ns, path)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let ns = subject.namespace_for(&ns, &format!("/actions/{path}"))?;
    let Target::Action { package, name } = parse_target(&path)? else {
        return Err(ApiError::not_found());
    };
    let overwrite = bool_param(&query, "overwrite")?.unwrap_or(false);
    let request: ActionPut = read_json(&headers, &body)?;
    let checked = action_put::check_request(&state, &ns, request)?;
    let action = state
        .store
        .write(move |tx| {
            let pkg = package.clone().unwrap_or_default();
            if let Some(p) = &package {
                match packages::get(tx, &ns, p)? {
                    None => return Ok(Err(ApiError::not_found())),
                    Some(found) if found.binding.is_some() => {
                        return Ok(Err(ApiError::bad_request(
                            "Operation not permitted on package binding.",
                        )));
                    }
                    Some(_) => {}
                }
            }
            let old = actions::get(tx, &ns, &pkg, &name, true)?;
            // Packaged actions live under their package's name, so only top-level ones can
            // collide with another collection.
            if let Err(e) = check_put(old.is_some(), overwrite, || {
                Ok(package.is_none()
                    && store::taken_by_other_collection(tx, &ns, &name, "actions")?)
            })? {
                return Ok(Err(e));
            }
            let namespace = match &package {
                Some(p) => format!("{ns}/{p}"),
                None => ns.clone(),
            };
            let fqn = format!("/{namespace}/{name}");
            if let Err(e) = action_put::check_components(tx, &checked, &fqn) {
                return Ok(Err(e));
            }
            let action = match action_put::merge(checked, old, namespace, name) {
                Ok(a) => a,
                Err(e) => return Ok(Err(e)),
            };
            actions::put(tx, &action)?;
            Ok(Ok(action))
        })
        .await??;
    Ok(Json(serde_json::to_value(&action).unwrap_or(Value::Null)))
}

async fn delete(
    State(state): State<AppState>,
    subject: Subject,
    Path((ns, path)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let ns = subject.namespace_for(&ns, &format!("/actions/{path}"))?;
    let Target::Action { package, name } = parse_target(&path)? else {
        return Err(ApiError::not_found());
    };
    let deleted = state
        .store
        .write(move |tx| {
            let pkg = package.unwrap_or_default();
            if !pkg.is_empty()
                && let Some(p) = packages::get(tx, &ns, &pkg)?
                && p.binding.is_some()
            {
                return Ok(Err(ApiError::bad_request(
                    "Operation not permitted on package binding.",
                )));
            }
            let Some(old) = actions::get(tx, &ns, &pkg, &name, true)? else {
                return Ok(Err(ApiError::not_found()));
            };
            actions::delete(tx, &ns, &pkg, &name)?;
            Ok(Ok(old))
        })
        .await??;
    Ok(Json(serde_json::to_value(&deleted).unwrap_or(Value::Null)))
}
