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

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Builtin, BuiltinOutcome};
use crate::error::LocalError;
use crate::names::is_valid_name;
use crate::runner::ActivationStatus;
use crate::state::AppState;
use crate::store::{self, ApiRoute, RouteAction, actions, kv_get, now_ms, packages, routes};

/// The web action extensions a route may answer with.
pub const RESPONSE_TYPES: &[&str] = &["http", "json", "html", "svg", "text"];

pub(super) fn annotations(which: Builtin) -> Value {
    let description = match which {
        Builtin::CreateApi => "Create an API route, or a whole API from swagger",
        Builtin::GetApi => "List the APIs of the caller's namespace",
        _ => "Delete an API, one of its paths, or one operation of a path",
    };
    json!({"description": description, "web-export": true, "final": true})
}

/// The `apidoc` of a `createApi`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiDoc {
    namespace: Option<String>,
    api_name: Option<String>,
    gateway_base_path: Option<String>,
    gateway_path: Option<String>,
    gateway_method: Option<String>,
    action: Option<DocAction>,
    swagger: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DocAction {
    name: Option<String>,
    namespace: Option<String>,
    backend_method: Option<String>,
    backend_url: Option<String>,
    authkey: Option<String>,
}

/// The `x-openwhisk` member of a swagger operation.
#[derive(Debug, Deserialize)]
struct SwaggerAction {
    namespace: String,
    #[serde(default)]
    package: Option<String>,
    action: String,
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

/// `/name` with one leading slash and none at the end; `/` stays `/`.
fn normalise_path(path: &str) -> String {
    let trimmed = path.trim().trim_matches('/');
    format!("/{trimmed}")
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

/// The routes of a single-endpoint `apidoc`, or what is missing.
fn from_endpoint(
    doc: &ApiDoc,
    ns: &str,
    response_type: &str,
) -> Result<(String, Vec<ApiRoute>), String> {
    let base = doc
        .gateway_base_path
        .as_deref()
        .ok_or("apidoc is missing the gatewayBasePath field")?;
    let rel = doc
        .gateway_path
        .as_deref()
        .ok_or("apidoc is missing the gatewayPath field")?;
    let method = doc
        .gateway_method
        .as_deref()
        .ok_or("apidoc is missing the gatewayMethod field")?;
    let action = doc
        .action
        .as_ref()
        .ok_or("apidoc is missing the action field.")?;
    action
        .backend_method
        .as_ref()
        .ok_or("action is missing the backendMethod field.")?;
    action
        .backend_url
        .as_ref()
        .ok_or("action is missing the backendUrl field.")?;
    let action_ns = action
        .namespace
        .as_deref()
        .ok_or("action is missing the namespace field.")?;
    let name = action
        .name
        .as_deref()
        .ok_or("action is missing the name field.")?;
    action
        .authkey
        .as_ref()
        .ok_or("action is missing the authkey field.")?;
    // The CLI sends its own namespace as `_`; the controller's caller replaces it.
    let action_ns = if action_ns == "_" || Some(action_ns) == doc.namespace.as_deref() {
        ns
    } else {
        action_ns
    };
    let target = action_of(action_ns, name)?;
    let base_path = normalise_path(base);
    let route = ApiRoute {
        namespace: ns.to_string(),
        base_path: base_path.clone(),
        rel_path: normalise_path(rel),
        operation: operation(method)?,
        api_name: doc.api_name.clone().unwrap_or_else(|| base_path.clone()),
        action: target,
        response_type: response_type.to_string(),
        updated: now_ms(),
    };
    Ok((base_path, vec![route]))
}

/// The routes of a swagger document (`basePath`, `info.title`, `paths` with `x-openwhisk`).
fn from_swagger(
    swagger: &Value,
    ns: &str,
    response_type: &str,
) -> Result<(String, Vec<ApiRoute>), String> {
    let swagger = match swagger {
        Value::String(s) => serde_json::from_str::<Value>(s)
            .map_err(|_| "swagger field cannot be parsed. Ensure it is valid JSON.")?,
        v => v.clone(),
    };
    let base = swagger
        .get("basePath")
        .and_then(Value::as_str)
        .ok_or("swagger is missing the basePath field.")?;
    let paths = swagger
        .get("paths")
        .and_then(Value::as_object)
        .ok_or("swagger is missing the paths field.")?;
    let title = swagger
        .get("info")
        .ok_or("swagger is missing the info field.")?
        .get("title")
        .and_then(Value::as_str);
    let base_path = normalise_path(base);
    let mut out = Vec::new();
    for (rel, ops) in paths {
        let Some(ops) = ops.as_object() else { continue };
        for (op, spec) in ops {
            let Some(ow) = spec.get("x-openwhisk") else {
                return Err(format!(
                    "swagger operation {op} {rel} has no x-openwhisk member naming its action"
                ));
            };
            let ow: SwaggerAction = serde_json::from_value(ow.clone()).map_err(|_| {
                format!("x-openwhisk of {op} {rel} needs namespace, package and action")
            })?;
            let action_ns = if ow.namespace == "_" {
                ns
            } else {
                &ow.namespace
            };
            let name = match ow
                .package
                .as_deref()
                .filter(|p| !p.is_empty() && *p != "default")
            {
                Some(p) => format!("{p}/{}", ow.action),
                None => ow.action.clone(),
            };
            out.push(ApiRoute {
                namespace: ns.to_string(),
                base_path: base_path.clone(),
                rel_path: normalise_path(rel),
                operation: operation(op)?,
                api_name: title.map_or_else(|| base_path.clone(), str::to_string),
                action: action_of(action_ns, &name)?,
                response_type: response_type.to_string(),
                updated: now_ms(),
            });
        }
    }
    Ok((base_path, out))
}

fn operation(method: &str) -> Result<String, String> {
    let m = method.trim().to_ascii_uppercase();
    const VERBS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];
    if VERBS.contains(&m.as_str()) {
        Ok(m)
    } else {
        Err(format!(
            "'{method}' is not a valid API operation; use one of {}",
            VERBS.join(", ")
        ))
    }
}

/// `pkg/name`, `name` or `/ns/pkg/name` of the action in `ns`.
fn action_of(ns: &str, name: &str) -> Result<RouteAction, String> {
    let parts: Vec<&str> = name.trim_start_matches('/').split('/').collect();
    let (ns, package, name) = match (name.starts_with('/'), parts.as_slice()) {
        (false, [a]) => (ns, None, *a),
        (false, [p, a]) => (ns, Some(*p), *a),
        (true, [n, a]) => (*n, None, *a),
        (true, [n, p, a]) => (*n, Some(*p), *a),
        _ => return Err(format!("'{name}' is not an action name")),
    };
    let valid = is_valid_name(ns) && is_valid_name(name) && package.is_none_or(is_valid_name);
    if !valid {
        return Err(format!("'{name}' is not a valid action name"));
    }
    Ok(RouteAction {
        namespace: ns.to_string(),
        package: package.map(str::to_string),
        name: name.to_string(),
    })
}

fn action_fqn(a: &RouteAction) -> String {
    match &a.package {
        Some(p) => format!("/{}/{p}/{}", a.namespace, a.name),
        None => format!("/{}/{}", a.namespace, a.name),
    }
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

/// Where the gateway serves `ns`'s API at `base_path`.
pub fn gateway_url(host: &str, ns: &str, base_path: &str) -> String {
    let base = if base_path == "/" { "" } else { base_path };
    format!("{host}/api/{ns}{base}")
}

/// The swagger document of one API (all routes share `base_path`).
fn swagger(host: &str, routes: &[ApiRoute]) -> Value {
    let base_path = routes.first().map_or("/", |r| r.base_path.as_str());
    let title = routes.first().map_or(base_path, |r| r.api_name.as_str());
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for r in routes {
        let op = r.operation.to_ascii_lowercase();
        let pkg = r.action.package.clone().unwrap_or_else(|| "default".into());
        let url = format!(
            "{host}/api/v1/web/{}/{pkg}/{}.{}",
            r.action.namespace, r.action.name, r.response_type
        );
        paths.entry(r.rel_path.clone()).or_default().insert(
            op.clone(),
            json!({
                "operationId": format!("{op}_{}", r.rel_path),
                "x-openwhisk": {
                    "namespace": r.action.namespace,
                    "package": r.action.package.clone().unwrap_or_default(),
                    "action": r.action.name,
                    "url": url,
                },
                "responses": {"default": {"description": "Default response"}},
            }),
        );
    }
    json!({
        "swagger": "2.0",
        "info": {"title": title, "version": "1.0.0"},
        "basePath": base_path,
        "paths": paths,
    })
}

/// `{namespace, gwApiActivated, tenantId, gwApiUrl, apidoc}` of one API.
fn api_value(host: &str, ns: &str, routes: &[ApiRoute]) -> Value {
    let base_path = routes.first().map_or("/", |r| r.base_path.as_str());
    json!({
        "namespace": ns,
        "gwApiActivated": true,
        "tenantId": ns,
        "gwApiUrl": gateway_url(host, ns, base_path),
        "apidoc": swagger(host, routes),
    })
}

/// Whether `wanted` (a base path, or an API name without a leading slash) names `r`'s API.
fn names_api(r: &ApiRoute, wanted: &str) -> bool {
    if wanted.starts_with('/') {
        r.base_path == normalise_path(wanted)
    } else {
        r.api_name == wanted
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_get_one_leading_slash() {
        assert_eq!(normalise_path("hello/"), "/hello");
        assert_eq!(normalise_path("/"), "/");
        assert_eq!(normalise_path("//a/b"), "/a/b");
    }

    #[test]
    fn action_names_take_the_route_namespace() {
        let a = action_of("local", "demo/hello").expect("valid");
        assert_eq!(action_fqn(&a), "/local/demo/hello");
        let a = action_of("local", "/other/hello").expect("valid");
        assert_eq!(action_fqn(&a), "/other/hello");
        assert!(action_of("local", "a/b/c").is_err());
    }

    #[test]
    fn gateway_urls_append_the_base_path() {
        assert_eq!(gateway_url("http://h", "local", "/"), "http://h/api/local");
        assert_eq!(
            gateway_url("http://h", "local", "/v"),
            "http://h/api/local/v"
        );
    }
}
