//! Web actions (openwhisk-api.md §7): `/api/v1/web/{ns}/{pkg}/{action}.{ext}/{rest}` runs an
//! exported action with the HTTP request as its argument (`__ow_*` members, query and body
//! merged, or raw) and turns its result into the HTTP response the extension asks for
//! (`web_response`).

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::http_error::ApiError;
use crate::middleware::{CORS_HEADERS, allow_cors};
use crate::run::invoke::{MAX_WAIT_MS, spawn, with_activation_header};
use crate::run::record::RunContext;
use crate::run::resolve::{MAX_PAYLOAD, RESERVED_PARAMS, Resolved, resolve};
use crate::run::web_response::shape;
use crate::state::AppState;
use crate::store::kv_get;

const EXTENSIONS: &[&str] = &["http", "json", "html", "svg", "text"];
const RESERVED: &[&str] = &[
    "__ow_method",
    "__ow_headers",
    "__ow_path",
    "__ow_user",
    "__ow_query",
    "__ow_body",
];
const CORS_METHODS: &str = "OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH";
const PROCESSING_ERROR: &str = "There was an error processing your request.";

/// Where a web request points.
#[derive(Debug, PartialEq, Eq)]
struct Target<'a> {
    namespace: &'a str,
    package: Option<&'a str>,
    action: &'a str,
    extension: &'a str,
    rest: String,
}

fn parse_target(path: &str) -> Option<Target<'_>> {
    let mut parts = path.splitn(4, '/');
    let namespace = parts.next().filter(|s| !s.is_empty())?;
    let package = parts.next().filter(|s| !s.is_empty())?;
    let last = parts.next().filter(|s| !s.is_empty())?;
    let rest = parts.next().map(|r| format!("/{r}")).unwrap_or_default();
    let (action, extension) = match last.rsplit_once('.') {
        Some((name, ext)) if EXTENSIONS.contains(&ext) && !name.is_empty() => (name, ext),
        _ => (last, "http"),
    };
    Some(Target {
        namespace,
        package: (package != "default").then_some(package),
        action,
        extension,
        rest,
    })
}

/// Any method on `/api/v1/web/{*path}`.
pub async fn handle(
    State(state): State<AppState>,
    Path(path): Path<String>,
    RawQuery(raw_query): RawQuery,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request = WebRequest {
        method,
        uri,
        raw_query,
        headers,
        body,
    };
    serve(&state, &path, request).await
}

/// An HTTP request for a web action.
#[derive(Debug)]
pub struct WebRequest {
    pub method: Method,
    /// Its query is the one the action sees.
    pub uri: Uri,
    pub raw_query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Runs the web action `path` (`{ns}/{pkg}/{action}.{ext}/{rest}`) for `request`: what
/// `/api/v1/web/` serves, and what the API gateway ([`crate::run::gateway`]) calls.
pub async fn serve(
    state: &AppState,
    path: &str,
    request: WebRequest,
) -> Result<Response, ApiError> {
    let WebRequest {
        method,
        uri,
        raw_query,
        headers,
        body,
    } = request;
    let state = state.clone();
    let target = parse_target(path).ok_or_else(ApiError::not_found)?;
    let resolved = resolve(&state, target.namespace, target.package, target.action)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if !resolved.annotated("web-export") {
        return Err(ApiError::not_found());
    }
    let subject = check_auth(&state, &resolved, &headers).await?;
    let custom_options = resolved.annotated("web-custom-options");
    if method == Method::OPTIONS && !custom_options {
        return Ok(cors(StatusCode::OK.into_response(), &headers));
    }
    if body.len() > MAX_PAYLOAD {
        return Err(ApiError::too_large("Request", body.len(), MAX_PAYLOAD));
    }
    let args = arguments(
        &resolved, &method, &uri, raw_query, &headers, &body, &target, subject,
    )?;
    let ctx = RunContext::new(target.namespace);
    let id = ctx.activation_id.clone();
    let mut handle = spawn(&state, resolved, args, ctx);
    let activation =
        match tokio::time::timeout(Duration::from_millis(MAX_WAIT_MS), &mut handle).await {
            Ok(Ok(a)) => a,
            Ok(Err(e)) => {
                return Err(ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    e.to_string(),
                ));
            }
            Err(_) => {
                return Ok(with_activation_header(
                    ApiError::new(StatusCode::ACCEPTED, "Response not yet ready.").into_response(),
                    &id,
                ));
            }
        };
    let resp = match activation.response.status.as_str() {
        "success" => shape(target.extension, &activation.response.result),
        "application error" => {
            let error = activation
                .response
                .result
                .get("error")
                .cloned()
                .unwrap_or(Value::Null);
            shape(target.extension, &error)
        }
        _ => Err(ApiError::bad_request(PROCESSING_ERROR)),
    };
    let resp = match resp {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    let resp = with_activation_header(resp, &id);
    Ok(if custom_options {
        resp
    } else {
        cors(resp, &headers)
    })
}

/// `require-whisk-auth`: `true` needs valid credentials; a string or number must match the
/// `X-Require-Whisk-Auth` header. Returns the authenticated namespace, if any.
async fn check_auth(
    state: &AppState,
    resolved: &Resolved,
    headers: &HeaderMap,
) -> Result<Option<String>, ApiError> {
    let subject = state.authenticate(headers).await.ok().flatten();
    let required = kv_get(&resolved.action.annotations, "require-whisk-auth");
    let ok = match required {
        None | Some(Value::Null) | Some(Value::Bool(false)) => true,
        Some(Value::Bool(true)) => subject.is_some(),
        Some(v) => {
            let expected = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            headers
                .get("x-require-whisk-auth")
                .and_then(|h| h.to_str().ok())
                .is_some_and(|h| h == expected)
        }
    };
    if ok {
        Ok(subject.map(|s| s.namespace))
    } else {
        Err(ApiError::bad_auth())
    }
}

#[allow(clippy::too_many_arguments)]
fn arguments(
    resolved: &Resolved,
    method: &Method,
    uri: &Uri,
    raw_query: Option<String>,
    headers: &HeaderMap,
    body: &Bytes,
    target: &Target<'_>,
    user: Option<String>,
) -> Result<Value, ApiError> {
    let mut args = Map::new();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if resolved.annotated("raw-http") {
        args.insert("__ow_query".into(), raw_query.unwrap_or_default().into());
        let text = if body.is_empty() {
            String::new()
        } else if content_type.contains("json") || !is_text(&content_type, body) {
            base64::engine::general_purpose::STANDARD.encode(body)
        } else {
            String::from_utf8_lossy(body).into_owned()
        };
        args.insert("__ow_body".into(), text.into());
    } else {
        let mut request = Map::new();
        let query: Query<Vec<(String, String)>> =
            Query::try_from_uri(uri).map_err(|e| ApiError::bad_query("query", e))?;
        for (k, v) in query.0 {
            request.insert(k, Value::from(v));
        }
        if !body.is_empty() {
            if content_type.contains("json") {
                match serde_json::from_slice::<Value>(body).map_err(ApiError::malformed)? {
                    Value::Object(fields) => request.extend(fields),
                    other => {
                        request.insert("__ow_body".into(), other);
                    }
                }
            } else if content_type.starts_with("application/x-www-form-urlencoded") {
                let form_uri: Uri = format!("/?{}", String::from_utf8_lossy(body))
                    .parse()
                    .map_err(ApiError::malformed)?;
                let form: Query<Vec<(String, String)>> =
                    Query::try_from_uri(&form_uri).map_err(ApiError::malformed)?;
                for (k, v) in form.0 {
                    request.insert(k, Value::from(v));
                }
            } else if is_text(&content_type, body) {
                request.insert("__ow_body".into(), String::from_utf8_lossy(body).into());
            } else {
                let b64 = base64::engine::general_purpose::STANDARD.encode(body);
                request.insert("__ow_body".into(), b64.into());
            }
        }
        let params = resolved.merged_params();
        let final_params = resolved.annotated("final");
        for key in request.keys() {
            let reserved = RESERVED.contains(&key.as_str()) && key != "__ow_body";
            let is_final =
                final_params && params.iter().any(|p| &p.key == key && !p.value.is_null());
            if reserved || is_final {
                return Err(ApiError::bad_request(RESERVED_PARAMS));
            }
        }
        args.extend(request);
    }
    args.insert(
        "__ow_method".into(),
        method.as_str().to_ascii_lowercase().into(),
    );
    let mut hmap = Map::new();
    for (name, value) in headers {
        let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match hmap.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(&v);
            }
            _ => {
                hmap.insert(name.as_str().to_string(), v.into());
            }
        }
    }
    args.insert("__ow_headers".into(), Value::Object(hmap));
    args.insert("__ow_path".into(), target.rest.clone().into());
    if let Some(u) = user {
        args.insert("__ow_user".into(), u.into());
    }
    Ok(Value::Object(args))
}

fn is_text(content_type: &str, body: &[u8]) -> bool {
    let texty = content_type.is_empty()
        || content_type.starts_with("text/")
        || content_type.contains("xml")
        || content_type.contains("javascript")
        || content_type.contains("json");
    texty && std::str::from_utf8(body).is_ok()
}

/// Adds the web CORS headers (not with `web-custom-options`).
fn cors(mut resp: Response, request: &HeaderMap) -> Response {
    let allow_headers = request
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static(CORS_HEADERS));
    allow_cors(resp.headers_mut(), CORS_METHODS, allow_headers);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_extensions_and_rest() {
        let t = parse_target("local/default/hello.json/a/b").expect("target");
        assert_eq!(
            t,
            Target {
                namespace: "local",
                package: None,
                action: "hello",
                extension: "json",
                rest: "/a/b".into()
            }
        );
        let t = parse_target("local/demo/hello").expect("target");
        assert_eq!(
            (t.package, t.action, t.extension),
            (Some("demo"), "hello", "http")
        );
        let t = parse_target("local/demo/v1.2").expect("target");
        assert_eq!((t.action, t.extension), ("v1.2", "http"));
        assert!(parse_target("local/demo").is_none());
    }
}
