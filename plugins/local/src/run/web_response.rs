//! The HTTP response a web action's result becomes (openwhisk-api.md §7): `.json`, `.html`,
//! `.svg` and `.text` project one property of the result; `.http` reads `statusCode`,
//! `headers` and `body` (base64 for binary content types). Split from [`crate::run::web`],
//! which parses the request and runs the action, and which alone imports this.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::Value;

use crate::http_error::ApiError;

fn is_binary_type(content_type: &str) -> bool {
    let ct = content_type.to_ascii_lowercase();
    ["image/", "audio/", "video/", "font/"]
        .iter()
        .any(|p| ct.starts_with(p))
        || [
            "application/octet-stream",
            "application/pdf",
            "application/zip",
        ]
        .iter()
        .any(|t| ct.starts_with(t))
}

fn typed(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Response {
    let mut resp = (status, body.into()).into_response();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

/// The response an extension makes of a result (or of a projected `error`).
pub(super) fn shape(extension: &str, result: &Value) -> Result<Response, ApiError> {
    let property = |names: &[&str]| names.iter().find_map(|n| result.get(*n)).cloned();
    match extension {
        "json" => match result {
            Value::Object(_) | Value::Array(_) => Ok(typed(
                StatusCode::OK,
                "application/json",
                result.to_string(),
            )),
            _ => Err(ApiError::bad_request(
                "Response is not valid 'application/json'.",
            )),
        },
        "html" | "svg" => {
            let (names, ct): (&[&str], _) = if extension == "html" {
                (&["body", "html"], "text/html; charset=UTF-8")
            } else {
                (&["body", "svg"], "image/svg+xml")
            };
            match property(names) {
                Some(Value::String(s)) => Ok(typed(StatusCode::OK, ct, s)),
                _ if extension == "html" => {
                    Err(ApiError::bad_request("Response is not valid 'text/html'."))
                }
                _ => Err(ApiError::bad_request(
                    "Response is not valid 'image/svg+xml'.",
                )),
            }
        }
        "text" => match property(&["body", "text"]) {
            Some(Value::String(s)) => Ok(typed(StatusCode::OK, "text/plain; charset=UTF-8", s)),
            Some(v @ (Value::Object(_) | Value::Array(_))) => Ok(typed(
                StatusCode::OK,
                "text/plain; charset=UTF-8",
                serde_json::to_string_pretty(&v).unwrap_or_default(),
            )),
            Some(Value::Null) | None => Err(ApiError::not_found_with(
                "Response does not include requested property.",
            )),
            Some(v) => Ok(typed(
                StatusCode::OK,
                "text/plain; charset=UTF-8",
                v.to_string(),
            )),
        },
        _ => http_response(result),
    }
}

trait NotFoundWith {
    fn not_found_with(message: &str) -> ApiError;
}

impl NotFoundWith for ApiError {
    fn not_found_with(message: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }
}

const NOT_HTTP: &str = "Response is not valid 'message/http'.";

/// `.http`: `headers`, `statusCode`, `body` of the result.
fn http_response(result: &Value) -> Result<Response, ApiError> {
    let fields = result
        .as_object()
        .ok_or_else(|| ApiError::bad_request(NOT_HTTP))?;
    let mut header_list: Vec<(HeaderName, HeaderValue)> = Vec::new();
    let mut content_type: Option<String> = None;
    if let Some(h) = fields.get("headers") {
        let h = h
            .as_object()
            .ok_or_else(|| ApiError::bad_request(NOT_HTTP))?;
        for (name, value) in h {
            let values: Vec<&Value> = match value {
                Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            for v in values {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return Err(ApiError::bad_request(NOT_HTTP)),
                };
                let hn = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| ApiError::bad_request(NOT_HTTP))?;
                let hv =
                    HeaderValue::from_str(&text).map_err(|_| ApiError::bad_request(NOT_HTTP))?;
                if hn == header::CONTENT_TYPE {
                    content_type = Some(text.clone());
                }
                header_list.push((hn, hv));
            }
        }
    }
    let explicit_status = match fields.get("statusCode") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => Some(
            s.trim()
                .parse::<u64>()
                .map_err(|_| ApiError::bad_request(NOT_HTTP))?,
        ),
        Some(_) => return Err(ApiError::bad_request(NOT_HTTP)),
    };
    let explicit_status = match explicit_status {
        Some(code) => Some(
            u16::try_from(code)
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())
                .ok_or_else(|| ApiError::bad_request(NOT_HTTP))?,
        ),
        None => None,
    };
    let (bytes, generated_type): (Vec<u8>, Option<String>) = match fields.get("body") {
        None | Some(Value::Null) => (Vec::new(), None),
        Some(Value::String(s)) if s.is_empty() => (Vec::new(), None),
        Some(Value::String(s)) => {
            let ct = content_type
                .clone()
                .unwrap_or_else(|| "text/html".to_string());
            if is_binary_type(&ct) {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(s.trim())
                    .map_err(|_| ApiError::bad_request(NOT_HTTP))?;
                (decoded, Some(ct))
            } else {
                (s.clone().into_bytes(), Some(ct))
            }
        }
        Some(v) => {
            let ct = match &content_type {
                Some(ct) if ct.contains("json") => ct.clone(),
                Some(_) => {
                    return Err(ApiError::bad_request(
                        "Response type in header did not match generated content type.",
                    ));
                }
                None => "application/json".to_string(),
            };
            (v.to_string().into_bytes(), Some(ct))
        }
    };
    let status = explicit_status.unwrap_or(if bytes.is_empty() {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::OK
    });
    let mut resp = (status, Body::from(bytes)).into_response();
    for (n, v) in header_list {
        resp.headers_mut().append(n, v);
    }
    if let Some(ct) = generated_type
        && let Ok(v) = HeaderValue::from_str(&ct)
    {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn http_results_become_responses() {
        let r = http_response(
            &json!({"statusCode": 201, "headers": {"x-a": ["1", 2]}, "body": {"ok": true}}),
        )
        .expect("valid");
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(r.headers().get_all("x-a").iter().count(), 2);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
        let empty = http_response(&json!({})).expect("valid");
        assert_eq!(empty.status(), StatusCode::NO_CONTENT);
        let html = http_response(&json!({"body": "<p>hi</p>"})).expect("valid");
        assert_eq!(html.headers()[header::CONTENT_TYPE], "text/html");
        let err = http_response(&json!({"statusCode": "abc"})).expect_err("bad status");
        assert_eq!(err.message, NOT_HTTP);
        assert!(http_response(&json!([1])).is_err());
    }

    #[test]
    fn extensions_check_their_shapes() {
        assert!(shape("json", &json!({"a": 1})).is_ok());
        assert_eq!(
            shape("json", &json!("x")).expect_err("scalar").message,
            "Response is not valid 'application/json'."
        );
        assert_eq!(
            shape("text", &json!({})).expect_err("missing").status,
            StatusCode::NOT_FOUND
        );
        assert!(shape("html", &json!({"html": "<b>x</b>"})).is_ok());
    }
}
