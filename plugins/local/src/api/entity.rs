//! What the entity collections share, written once: the list, get and delete handlers of
//! packages, triggers and rules over the [`Entity`] trait, the list answer ([`page`]), and the
//! checks every `PUT` makes ([`scope`], [`check_sizes`], [`check_put`]).
//!
//! Actions are not an [`Entity`]: their paths carry a package (`pkg/name`, and `pkg/` for a
//! package's list) and follow bindings, so they keep their own handlers and use the shared
//! pieces. Each collection's `PUT` stays its own too: the merge rules differ for every one.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use rusqlite::Connection;
use serde_json::{Map, Value};

use crate::auth::Subject;
use crate::error::LocalError;
use crate::http_error::ApiError;
use crate::names;
use crate::request::{ListParams, bool_param};
use crate::state::AppState;
use crate::store::KeyValue;

/// The store's read of one entity: `(conn, namespace, name)`.
pub(super) type Get<E> = fn(&Connection, &str, &str) -> Result<Option<E>, LocalError>;
/// The store's count of a namespace's entities.
pub(super) type Count = fn(&Connection, &str) -> Result<u64, LocalError>;
/// The store's page of entities: `(conn, namespace, public, skip, limit)`.
pub(super) type List<E> = fn(&Connection, &str, bool, u64, u64) -> Result<Vec<E>, LocalError>;
/// The store's page of what a namespace shares with others: `(conn, namespace, skip, limit)`.
pub(super) type Shared<E> = fn(&Connection, &str, u64, u64) -> Result<Vec<E>, LocalError>;

/// An entity kept by `(namespace, name)` in its own collection, whose list, get and delete
/// follow the controller's common rules (paging, `count`, 404 for what is not there).
pub(super) trait Entity: Sized + Send + 'static {
    /// The collection: its path segment, the key of a `count=true` answer, its table.
    const COLLECTION: &'static str;
    /// Whether a list honours `public=true` (packages: the published ones of every namespace).
    const LISTS_PUBLIC: bool = false;
    /// Whether a delete honours `force=true` (packages: with the actions they hold).
    const DELETES_FORCED: bool = false;

    /// Reads the entity `name` of `ns` (the store's `get`).
    const GET: Get<Self>;
    /// How many `ns` holds (the store's `count`).
    const COUNT: Count;
    /// One page (`skip`, `limit`) of `ns`, or with `public` of everything published.
    const LIST: List<Self>;
    /// How many, and one page of, the entities `ns` shares with other namespaces (packages:
    /// the published ones). `None`: another namespace's list is forbidden.
    const SHARED: Option<(Count, Shared<Self>)> = None;

    /// Whether another namespace may read this entity.
    fn is_shared(&self) -> bool {
        false
    }

    /// The form of a list item.
    fn summary(&self) -> Value;
    /// What `GET` answers for `name`; `None` is a 404.
    fn show(conn: &Connection, ns: &str, name: &str) -> Result<Option<Value>, LocalError>;
    /// Deletes `old` (and what hangs on it) inside the write transaction, and returns what the
    /// `DELETE` answers, or the error that refuses it.
    fn remove(
        conn: &Connection,
        old: Self,
        force: bool,
    ) -> Result<Result<Value, ApiError>, LocalError>;
}

/// `GET /namespaces/{ns}/<collection>`.
pub(super) async fn list<E: Entity>(
    State(state): State<AppState>,
    subject: Subject,
    Path(ns): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let (read_ns, foreign) = subject.read_namespace(&ns)?;
    let p = ListParams::parse(&query, E::COLLECTION)?;
    if foreign {
        let Some((count, shared)) = E::SHARED else {
            return Err(ApiError::forbidden(&format!("{ns}/{}", E::COLLECTION)));
        };
        let value = state
            .store
            .call(move |c| {
                page(
                    p,
                    E::COLLECTION,
                    || count(c, &read_ns),
                    |skip, limit| shared(c, &read_ns, skip, limit),
                    E::summary,
                )
            })
            .await?;
        return Ok(Json(value));
    }
    let ns = read_ns;
    let public = E::LISTS_PUBLIC && bool_param(&query, "public")?.unwrap_or(false);
    let value = state
        .store
        .call(move |c| {
            page(
                p,
                E::COLLECTION,
                || (E::COUNT)(c, &ns),
                |skip, limit| (E::LIST)(c, &ns, public, skip, limit),
                E::summary,
            )
        })
        .await?;
    Ok(Json(value))
}

/// `GET /namespaces/{ns}/<collection>/{name}`.
pub(super) async fn get_one<E: Entity>(
    State(state): State<AppState>,
    subject: Subject,
    Path((ns, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (read_ns, foreign) = subject.read_namespace(&ns)?;
    if foreign && E::SHARED.is_none() {
        return Err(ApiError::forbidden(&format!(
            "{ns}/{}/{name}",
            E::COLLECTION
        )));
    }
    names::check_entity(&name)?;
    let found = state
        .store
        .call(move |c| {
            // Another namespace's entity is visible only when it is shared; else it is
            // as absent as a missing one.
            if foreign && !(E::GET)(c, &read_ns, &name)?.is_some_and(|e| e.is_shared()) {
                return Ok(None);
            }
            E::show(c, &read_ns, &name)
        })
        .await?;
    found.map(Json).ok_or_else(ApiError::not_found)
}

/// `DELETE /namespaces/{ns}/<collection>/{name}`.
pub(super) async fn delete<E: Entity>(
    State(state): State<AppState>,
    subject: Subject,
    Path((ns, name)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let ns = scope(&subject, &ns, E::COLLECTION, &name)?;
    let force = E::DELETES_FORCED && bool_param(&query, "force")?.unwrap_or(false);
    let answer = state
        .store
        .write(move |tx| {
            let Some(old) = (E::GET)(tx, &ns, &name)? else {
                return Ok(Err(ApiError::not_found()));
            };
            E::remove(tx, old, force)
        })
        .await??;
    Ok(Json(answer))
}

/// A list answer: `{"<collection>": n}` for `count=true`, else the page as summaries.
pub(super) fn page<T>(
    p: ListParams,
    collection: &str,
    count: impl FnOnce() -> Result<u64, LocalError>,
    list: impl FnOnce(u64, u64) -> Result<Vec<T>, LocalError>,
    summary: impl Fn(&T) -> Value,
) -> Result<Value, LocalError> {
    if p.count {
        let mut counted = Map::new();
        counted.insert(collection.to_string(), Value::from(count()?));
        return Ok(Value::Object(counted));
    }
    let items = list(p.skip, p.limit)?;
    Ok(Value::Array(items.iter().map(summary).collect()))
}

/// The namespace that the path segment `segment` names for the caller (403 for another's),
/// once `name` is checked: the start of every handler of `/<collection>/{name}`.
pub(super) fn scope(
    subject: &Subject,
    segment: &str,
    collection: &str,
    name: &str,
) -> Result<String, ApiError> {
    let ns = subject.namespace_for(segment, &format!("/{collection}/{name}"))?;
    names::check_entity(name)?;
    Ok(ns)
}

/// 413 when the `parameters` or `annotations` of a `PUT` are larger than `max` bytes of JSON.
pub(super) fn check_sizes(
    max: usize,
    parameters: Option<&Vec<KeyValue>>,
    annotations: Option<&Vec<KeyValue>>,
) -> Result<(), ApiError> {
    for (what, kvs) in [("parameters", parameters), ("annotations", annotations)] {
        if let Some(kvs) = kvs {
            let size = serde_json::to_string(kvs).map_or(0, |s| s.len());
            if size > max {
                return Err(ApiError::too_large(what, size, max));
            }
        }
    }
    Ok(())
}

/// What a `PUT` must pass inside its transaction before it writes: 409 `resource already
/// exists` over an existing entity without `overwrite`, and 409 for a new entity whose name
/// `taken_elsewhere` (by another collection: the controller keys documents by name alone).
pub(super) fn check_put(
    exists: bool,
    overwrite: bool,
    taken_elsewhere: impl FnOnce() -> Result<bool, LocalError>,
) -> Result<Result<(), ApiError>, LocalError> {
    if exists && !overwrite {
        return Ok(Err(ApiError::exists()));
    }
    if !exists && taken_elsewhere()? {
        return Ok(Err(ApiError::conflict(
            "Resource by this name exists but is not in this collection.",
        )));
    }
    Ok(Ok(()))
}
