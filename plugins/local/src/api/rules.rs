//! `GET|PUT|DELETE|POST /namespaces/{ns}/rules/{name}` and the rules list
//! (openwhisk-api.md §3.5); list, get and delete are [`super::entity`]'s. A rule's status
//! lives in its trigger's `rules` map.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use rusqlite::Connection;
use serde::Deserialize;
use serde_json::{Value, json};

use super::entity::{self, Count, Entity, Get, List, check_put, scope};
use super::fqn;
use crate::auth::Subject;
use crate::error::LocalError;
use crate::http_error::ApiError;
use crate::request::{bool_param, read_json};
use crate::state::AppState;
use crate::store::{
    self, KeyValue, PathName, Rule, RuleLink, actions, kv_dedup, now_ms, packages, rules, triggers,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/namespaces/{ns}/rules", get(entity::list::<Rule>))
        .route(
            "/api/v1/namespaces/{ns}/rules/{name}",
            get(entity::get_one::<Rule>)
                .put(put)
                .delete(entity::delete::<Rule>)
                .post(set_state),
        )
}

const ACTIVE: &str = "active";
const INACTIVE: &str = "inactive";

/// The body of a rule `PUT`.
#[derive(Debug, Deserialize)]
struct RulePut {
    trigger: Option<String>,
    action: Option<String>,
    annotations: Option<Vec<KeyValue>>,
    version: Option<String>,
    publish: Option<bool>,
}

/// The body of a rule `POST` (`wsk` adds `"trigger": null, "action": null`).
#[derive(Debug, Deserialize)]
struct RuleState {
    status: Option<String>,
}

fn with_status(r: &Rule, status: &str) -> Value {
    let mut v = json!(r);
    v["status"] = json!(status);
    v
}

fn link_key(r: &Rule) -> String {
    format!("{}/{}", r.namespace, r.name)
}

/// The status of `rule` as its trigger records it (`inactive` when the trigger is gone).
fn status_of(conn: &Connection, r: &Rule) -> Result<String, LocalError> {
    let trigger = triggers::get(conn, &r.trigger.path, &r.trigger.name)?;
    Ok(trigger
        .and_then(|t| t.rules.get(&link_key(r)).map(|l| l.status.clone()))
        .unwrap_or_else(|| INACTIVE.to_string()))
}

/// Sets (or with `None` removes) the link of `rule` in its trigger, if the trigger exists.
fn link(conn: &Connection, r: &Rule, status: Option<&str>) -> Result<bool, LocalError> {
    let Some(mut t) = triggers::get(conn, &r.trigger.path, &r.trigger.name)? else {
        return Ok(false);
    };
    match status {
        Some(s) => {
            t.rules.insert(
                link_key(r),
                RuleLink {
                    action: r.action.clone(),
                    status: s.to_string(),
                },
            );
        }
        None => {
            t.rules.remove(&link_key(r));
        }
    }
    triggers::put(conn, &t)?;
    Ok(true)
}

impl Entity for Rule {
    const COLLECTION: &'static str = "rules";

    const GET: Get<Self> = rules::get;
    const COUNT: Count = rules::count;
    const LIST: List<Self> = |c, ns, _public, skip, limit| rules::list(c, ns, skip, limit);

    fn summary(&self) -> Value {
        json!(self)
    }

    /// The rule with the status its trigger records.
    fn show(conn: &Connection, ns: &str, name: &str) -> Result<Option<Value>, LocalError> {
        let Some(r) = rules::get(conn, ns, name)? else {
            return Ok(None);
        };
        let status = status_of(conn, &r)?;
        Ok(Some(with_status(&r, &status)))
    }

    /// Unlinks the rule from its trigger first; the answer shows it `inactive`.
    fn remove(
        conn: &Connection,
        old: Self,
        _force: bool,
    ) -> Result<Result<Value, ApiError>, LocalError> {
        link(conn, &old, None)?;
        rules::delete(conn, &old.namespace, &old.name)?;
        Ok(Ok(with_status(&old, INACTIVE)))
    }
}

/// Resolves a rule's trigger reference: `/ns/name` (no package), in the caller's namespace.
fn parse_trigger(reference: &str, caller: &str) -> Option<PathName> {
    let r = fqn::parse(reference, caller)?;
    r.package.is_none().then_some(PathName {
        path: r.namespace,
        name: r.name,
    })
}

fn parse_action(reference: &str, caller: &str) -> Option<PathName> {
    let r = fqn::parse(reference, caller)?;
    Some(PathName {
        path: r.path(),
        name: r.name,
    })
}

fn action_exists(conn: &Connection, a: &PathName) -> Result<bool, LocalError> {
    let (ns, pkg) = match a.path.split_once('/') {
        None => (a.path.clone(), String::new()),
        Some((ns, p)) => match packages::resolve(conn, ns, p)? {
            None => return Ok(false),
            Some(r) => (r.target.namespace, r.target.name),
        },
    };
    Ok(actions::get(conn, &ns, &pkg, &a.name, false)?.is_some())
}

async fn put(
    State(state): State<AppState>,
    subject: Subject,
    Path((ns, name)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let ns = scope(&subject, &ns, Rule::COLLECTION, &name)?;
    let overwrite = bool_param(&query, "overwrite")?.unwrap_or(false);
    let req: RulePut = read_json(&headers, &body)?;
    let invalid = || ApiError::bad_request("rule requires a valid trigger and a valid action");
    let trigger = req
        .trigger
        .as_deref()
        .map(|t| parse_trigger(t, &ns).ok_or_else(invalid))
        .transpose()?;
    let action = req
        .action
        .as_deref()
        .map(|a| parse_action(a, &ns).ok_or_else(invalid))
        .transpose()?;
    let value = state
        .store
        .write(move |tx| {
            let old = rules::get(tx, &ns, &name)?;
            if let Err(e) = check_put(old.is_some(), overwrite, || {
                store::taken_by_other_collection(tx, &ns, &name, Rule::COLLECTION)
            })? {
                return Ok(Err(e));
            }
            let (Some(trigger), Some(action)) = (
                trigger.or_else(|| old.as_ref().map(|o| o.trigger.clone())),
                action.or_else(|| old.as_ref().map(|o| o.action.clone())),
            ) else {
                return Ok(Err(invalid()));
            };
            // Rules link the caller's own trigger and action: another namespace's entities
            // are neither readable nor writable here (the trigger's rules map is written).
            if trigger.path != ns || triggers::get(tx, &trigger.path, &trigger.name)?.is_none() {
                return Ok(Err(ApiError::bad_request(format!(
                    "trigger {} does not exist",
                    trigger.fully_qualified()
                ))));
            }
            let own_action = action.path.split('/').next() == Some(ns.as_str());
            if !own_action || !action_exists(tx, &action)? {
                return Ok(Err(ApiError::bad_request(format!(
                    "action {} does not exist",
                    action.fully_qualified()
                ))));
            }
            // An update keeps the current status, and unlinks the rule from a trigger it
            // moves away from.
            let status = match &old {
                Some(o) => {
                    let s = status_of(tx, o)?;
                    link(tx, o, None)?;
                    s
                }
                None => ACTIVE.to_string(),
            };
            let rule = Rule {
                namespace: ns.clone(),
                name: name.clone(),
                version: fqn::next_version(req.version, old.as_ref().map(|o| o.version.as_str())),
                publish: req
                    .publish
                    .unwrap_or_else(|| old.as_ref().is_some_and(|o| o.publish)),
                annotations: req
                    .annotations
                    .map(kv_dedup)
                    .or_else(|| old.as_ref().map(|o| o.annotations.clone()))
                    .unwrap_or_default(),
                trigger,
                action,
                updated: now_ms(),
            };
            rules::put(tx, &rule)?;
            link(tx, &rule, Some(&status))?;
            Ok(Ok(with_status(&rule, &status)))
        })
        .await??;
    Ok(Json(value))
}

async fn set_state(
    State(state): State<AppState>,
    subject: Subject,
    Path((ns, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<&'static str, ApiError> {
    let ns = scope(&subject, &ns, Rule::COLLECTION, &name)?;
    let req: RuleState = read_json(&headers, &body)?;
    let status = req.status.unwrap_or_default();
    if status != ACTIVE && status != INACTIVE {
        return Err(ApiError::bad_request(format!(
            "'{status}' is not a recognized rule state, must be one of ['active', 'inactive']"
        )));
    }
    state
        .store
        .write(move |tx| {
            let Some(rule) = rules::get(tx, &ns, &name)? else {
                return Ok(Err(ApiError::not_found()));
            };
            if !link(tx, &rule, Some(&status))? {
                return Ok(Err(ApiError::new(
                    axum::http::StatusCode::NOT_FOUND,
                    "Only rules with existing triggers can be activated",
                )));
            }
            Ok(Ok("OK"))
        })
        .await?
}
