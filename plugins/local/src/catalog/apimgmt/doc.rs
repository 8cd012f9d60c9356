//! The documents of the API gateway: the `apidoc` a `createApi` sends (one endpoint, or a
//! whole swagger document) read into routes, and routes written back as the swagger 2.0
//! document and CLI shape (`{namespace, gwApiActivated, tenantId, gwApiUrl, apidoc}`)
//! OpenWhisk's route management answers with.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::names::is_valid_name;
use crate::store::{ApiRoute, RouteAction, now_ms};

/// The `apidoc` of a `createApi`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ApiDoc {
    pub namespace: Option<String>,
    api_name: Option<String>,
    gateway_base_path: Option<String>,
    gateway_path: Option<String>,
    gateway_method: Option<String>,
    action: Option<DocAction>,
    pub swagger: Option<Value>,
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

/// `/name` with one leading slash and none at the end; `/` stays `/`.
pub(super) fn normalise_path(path: &str) -> String {
    let trimmed = path.trim().trim_matches('/');
    format!("/{trimmed}")
}

/// The routes of a single-endpoint `apidoc`, or what is missing.
pub(super) fn from_endpoint(
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
pub(super) fn from_swagger(
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

pub(super) fn action_fqn(a: &RouteAction) -> String {
    match &a.package {
        Some(p) => format!("/{}/{p}/{}", a.namespace, a.name),
        None => format!("/{}/{}", a.namespace, a.name),
    }
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
pub(super) fn api_value(host: &str, ns: &str, routes: &[ApiRoute]) -> Value {
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
pub(super) fn names_api(r: &ApiRoute, wanted: &str) -> bool {
    if wanted.starts_with('/') {
        r.base_path == normalise_path(wanted)
    } else {
        r.api_name == wanted
    }
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
