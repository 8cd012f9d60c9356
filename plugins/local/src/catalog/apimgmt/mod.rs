//! `/whisk.system/apimgmt`: the API gateway's management actions `createApi`, `getApi` and
//! `deleteApi`, called as web actions (`/api/v1/web/whisk.system/apimgmt/<name>`) by
//! `wsk api` and the npm client's `ow.routes`, or invoked as ordinary actions.
//!
//! Routes are stored one per verb in the `api_routes` table and served by
//! [`crate::run::gateway`] at `/api/<namespace>/<basePath>/<relPath>`. Answers have the
//! shapes OpenWhisk's route management returns: a swagger 2.0 document per base path inside
//! `{namespace, gwApiActivated, tenantId, gwApiUrl, apidoc}`, and `{"apis": [{id, key, value}]}`
//! for lists. Called as a web action, the answer is an `.http` response (`statusCode`,
//! `headers`, `body`); called directly, it is the bare object (errors as `{"error"}`).

mod doc;

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

pub use doc::gateway_url;

use super::{Builtin, BuiltinOutcome};
use crate::error::LocalError;
use crate::runner::ActivationStatus;
use crate::state::AppState;
use crate::store::{self, ApiRoute, RouteAction, actions, kv_get, packages, routes};
use doc::{ApiDoc, action_fqn, api_value, from_endpoint, from_swagger, names_api, normalise_path};

/// The web action extensions a route may answer with.
pub const RESPONSE_TYPES: &[&str] = &["http", "json", "html", "svg", "text"];

pub(super) fn annotations(which: Builtin) -> Value {
    let description = match which {
        Builtin::CreateApi => "Create an API route, or a whole API from swagger",
        Builtin::GetApi => "List the APIs of the caller's namespace",
        _ => "Delete an API, one of its paths, or one operation of a path",
    };
    json!({"description": description, "web-export": true})
}

/// The caller: `__ow_user` when called as a web action, else the invoker.
fn caller(args: &Map<String, Value>, invoker: &str) -> Option<String> {
    match args.get("__ow_user").and_then(Value::as_str) {
        Some(u) => Some(u.to_string()),
        None if args.contains_key("__ow_method") => None,
        None => Some(invoker.to_string()),
    }
}

fn is_web(args: &Map<String, Value>) -> bool {
    args.contains_key("__ow_method")
}

/// The answer in the form the caller asked for: `.http` fields for a web call.
fn answer(args: &Map<String, Value>, code: u16, body: Value) -> BuiltinOutcome {
    if is_web(args) {
        return BuiltinOutcome::success(json!({
            "statusCode": code,
            "headers": {"Content-Type": "application/json"},
            "body": body,
        }));
    }
    if code < 300 {
        BuiltinOutcome::success(body)
    } else {
        BuiltinOutcome {
            status: ActivationStatus::ApplicationError,
            result: body,
        }
    }
}

fn fail(args: &Map<String, Value>, code: u16, message: impl Into<String>) -> BuiltinOutcome {
    answer(args, code, json!({ "error": message.into() }))
}

fn text<'a>(args: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    args.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// `createApi`.
pub(super) async fn create(
    state: &AppState,
    args: Map<String, Value>,
    invoker: &str,
) -> Result<BuiltinOutcome, LocalError> {
    let Some(ns) = caller(&args, invoker) else {
        return Ok(fail(&args, 401, "A valid auth key is required."));
    };
    let doc = match args.get("apidoc") {
        None => return Ok(fail(&args, 400, "apidoc is required.")),
        Some(Value::String(s)) => serde_json::from_str::<Value>(s).ok(),
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(_) => None,
    };
    let Some(doc) = doc.and_then(|d| serde_json::from_value::<ApiDoc>(d).ok()) else {
        return Ok(fail(
            &args,
            400,
            "apidoc field cannot be parsed. Ensure it is a JSON object with namespace, gatewayBasePath, gatewayPath, gatewayMethod and action (or swagger).",
        ));
    };
    if doc.namespace.is_none() {
        return Ok(fail(&args, 400, "apidoc is missing the namespace field"));
    }
    let response_type = text(&args, "responsetype")
        .unwrap_or("json")
        .to_ascii_lowercase();
    if !RESPONSE_TYPES.contains(&response_type.as_str()) {
        return Ok(fail(
            &args,
            400,
            format!(
                "Invalid response type '{response_type}'. Valid types are {}.",
                RESPONSE_TYPES.join(", ")
            ),
        ));
    }
    let planned = match &doc.swagger {
        Some(swagger) => from_swagger(swagger, &ns, &response_type),
        None => from_endpoint(&doc, &ns, &response_type),
    };
    let (base_path, new_routes) = match planned {
        Ok(p) => p,
        Err(message) => return Ok(fail(&args, 400, message)),
    };
    let replace_all = doc.swagger.is_some();
    let host = state.api_host.get().cloned().unwrap_or_default();
    let store_ns = ns.clone();
    let outcome = state
        .store
        .write(move |tx| {
            for r in &new_routes {
                if let Err(message) = check_web_action(tx, &r.action)? {
                    return Ok(Err(message));
                }
            }
            if replace_all {
                routes::delete(tx, &store_ns, &base_path, None, None)?;
            }
            let existing: Vec<ApiRoute> = routes::list(tx, &store_ns)?
                .into_iter()
                .filter(|r| r.base_path == base_path)
                .collect();
            let name = new_routes
                .first()
                .map(|r| r.api_name.clone())
                .filter(|n| n != &base_path)
                .or_else(|| existing.first().map(|r| r.api_name.clone()))
                .unwrap_or_else(|| base_path.clone());
            for r in existing.iter().chain(new_routes.iter()) {
                let mut r = r.clone();
                r.api_name = name.clone();
                routes::put(tx, &r)?;
            }
            let all: Vec<ApiRoute> = routes::list(tx, &store_ns)?
                .into_iter()
                .filter(|r| r.base_path == base_path)
                .collect();
            Ok(Ok(all))
        })
        .await?;
    Ok(match outcome {
        Ok(all) => answer(&args, 200, api_value(&host, &ns, &all)),
        Err(message) => fail(&args, 400, message),
    })
}

/// `Ok(Err(message))` unless the action exists and is a web action.
fn check_web_action(
    conn: &rusqlite::Connection,
    a: &RouteAction,
) -> Result<Result<(), String>, LocalError> {
    let (ns, pkg) = match &a.package {
        None => (a.namespace.clone(), String::new()),
        Some(p) => match packages::resolve(conn, &a.namespace, p)? {
            Some(r) => (r.target.namespace, r.target.name),
            None => (a.namespace.clone(), p.clone()),
        },
    };
    let fqn = action_fqn(a);
    let Some(found) = actions::get(conn, &ns, &pkg, &a.name, false)? else {
        return Ok(Err(format!(
            "Unable to get action '{fqn}': The requested resource does not exist."
        )));
    };
    if kv_get(&found.annotations, "web-export").and_then(Value::as_bool) != Some(true) {
        let short = fqn.splitn(3, '/').nth(2).unwrap_or(&fqn).to_string();
        return Ok(Err(format!(
            "Action '{fqn}' is not a web action. Issue 'wsk action update \"{short}\" --web true' to convert the action to a web action."
        )));
    }
    Ok(Ok(()))
}

/// `getApi`: the caller's APIs, optionally one (`basepath`: base path or name), narrowed to
/// `relpath` and `operation`.
pub(super) async fn get(
    state: &AppState,
    args: Map<String, Value>,
    invoker: &str,
) -> Result<BuiltinOutcome, LocalError> {
    let Some(ns) = caller(&args, invoker) else {
        return Ok(fail(&args, 401, "Invalid authentication."));
    };
    let host = state.api_host.get().cloned().unwrap_or_default();
    let lookup = ns.clone();
    let mut all = state.store.call(move |c| routes::list(c, &lookup)).await?;
    if let Some(b) = text(&args, "basepath") {
        all.retain(|r| names_api(r, b));
    }
    if let Some(rel) = text(&args, "relpath") {
        let rel = normalise_path(rel);
        all.retain(|r| r.rel_path == rel);
    }
    if let Some(op) = text(&args, "operation") {
        let op = op.to_ascii_uppercase();
        all.retain(|r| r.operation == op);
    }
    let mut by_base: BTreeMap<String, Vec<ApiRoute>> = BTreeMap::new();
    for r in all {
        by_base.entry(r.base_path.clone()).or_default().push(r);
    }
    let mut apis: Vec<Value> = by_base
        .values()
        .map(|routes| {
            let base = routes.first().map_or("/", |r| r.base_path.as_str());
            let id = format!("API:{ns}:{base}");
            json!({"id": id, "key": id, "value": api_value(&host, &ns, routes)})
        })
        .collect();
    let skip = number(&args, "skip").unwrap_or(0);
    let limit = number(&args, "limit").filter(|l| *l > 0);
    apis = apis.into_iter().skip(skip).collect();
    if let Some(l) = limit {
        apis.truncate(l);
    }
    Ok(answer(&args, 200, json!({ "apis": apis })))
}

fn number(args: &Map<String, Value>, key: &str) -> Option<usize> {
    match args.get(key)? {
        Value::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `deleteApi`: an API (`basepath`: base path or name), one of its paths (`relpath`), or one
/// operation of a path (`operation`).
pub(super) async fn delete(
    state: &AppState,
    args: Map<String, Value>,
    invoker: &str,
) -> Result<BuiltinOutcome, LocalError> {
    let Some(ns) = caller(&args, invoker) else {
        return Ok(fail(&args, 401, "A valid auth key is required."));
    };
    let Some(wanted) = text(&args, "basepath").map(str::to_string) else {
        return Ok(fail(&args, 400, "basepath is required."));
    };
    let rel = text(&args, "relpath").map(normalise_path);
    let op = text(&args, "operation").map(str::to_ascii_uppercase);
    if op.is_some() && rel.is_none() {
        return Ok(fail(
            &args,
            400,
            "When specifying an operation, the relpath is required.",
        ));
    }
    let outcome = state
        .store
        .write(move |tx| {
            let all = routes::list(tx, &ns)?;
            let Some(base) = all
                .iter()
                .find(|r| names_api(r, &wanted))
                .map(|r| r.base_path.clone())
            else {
                return Ok(Err(format!("API '{wanted}' does not exist.")));
            };
            let n = routes::delete(tx, &ns, &base, rel.as_deref(), op.as_deref())?;
            if n == 0 {
                let rel = rel.unwrap_or_default();
                return Ok(Err(match op {
                    Some(op) => format!(
                        "path {rel} with operation {} does not exist in the API",
                        op.to_ascii_lowercase()
                    ),
                    None => format!("path {rel} does not exist in the API"),
                }));
            }
            Ok(Ok(()))
        })
        .await?;
    Ok(match outcome {
        Ok(()) => answer(&args, 200, json!({})),
        Err(message) => fail(&args, 404, message),
    })
}

/// The route of `ns` that `method` and `path` (everything after `/api/<ns>`) reach, with the
/// values of its `{param}` segments.
pub async fn find_route(
    store: &store::Store,
    ns: &str,
    method: &str,
    path: &str,
) -> Result<Option<(ApiRoute, Vec<(String, String)>)>, LocalError> {
    let lookup = ns.to_string();
    let all = store.call(move |c| routes::list(c, &lookup)).await?;
    let method = method.to_ascii_uppercase();
    let wanted: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    for r in all.into_iter().filter(|r| r.operation == method) {
        let full = format!("{}/{}", r.base_path, r.rel_path);
        let pattern: Vec<&str> = full.split('/').filter(|s| !s.is_empty()).collect();
        if pattern.len() != wanted.len() {
            continue;
        }
        let mut params = Vec::new();
        let matched = pattern.iter().zip(&wanted).all(|(p, w)| {
            match p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) => {
                    params.push((name.to_string(), (*w).to_string()));
                    true
                }
                None => p == w,
            }
        });
        if matched {
            return Ok(Some((r, params)));
        }
    }
    Ok(None)
}
