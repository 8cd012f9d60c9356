//! Cross-cutting behaviour of every route, in one middleware ([`request_context`]): a request
//! id on every response (`X-Request-ID`, and the `code` of error bodies), CORS headers, the
//! answer to `OPTIONS`, and the controller's error shape for [`crate::http_error::ApiError`] answers and the
//! framework's own rejections.
//!
//! [`crate::server`] layers it over the merged router; [`crate::api`] reads the
//! [`RequestId`] it leaves in the request, web actions reuse [`allow_cors`]. It imports only
//! [`crate::http_error`].

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http_error::ErrorMessage;

/// Largest request body accepted (the controller's HTTP entity maximum).
pub const MAX_BODY: usize = 50 * 1024 * 1024;

/// The request id of the current request (also in `X-Request-ID`).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

const CORS_METHODS: &str = "GET, DELETE, POST, PUT, HEAD";
/// The request headers CORS allows by default.
pub const CORS_HEADERS: &str =
    "Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent";

/// Request id, CORS and `OPTIONS` for every route; renders [`crate::http_error::ApiError`] bodies.
pub async fn request_context(mut req: Request, next: Next) -> Response {
    let tid = uuid::Uuid::new_v4().simple().to_string();
    let path = req.uri().path().to_string();
    let web = path.starts_with("/api/v1/web/");
    req.extensions_mut().insert(RequestId(tid.clone()));
    let mut resp = if req.method() == Method::OPTIONS && !web {
        StatusCode::OK.into_response()
    } else {
        next.run(req).await
    };
    let message = match resp.extensions_mut().remove::<ErrorMessage>() {
        Some(ErrorMessage(message)) => Some(message),
        // The framework's own rejections (405, a body over the limit, an unreadable query)
        // come as plain text; give them the controller's error shape too.
        None if is_framework_error(&resp, &path) => Some(framework_message(&mut resp).await),
        None => None,
    };
    if let Some(message) = message {
        let body = serde_json::json!({ "error": message, "code": tid });
        *resp.body_mut() = Body::from(body.to_string());
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp.headers_mut().remove(header::CONTENT_LENGTH);
    }
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&tid) {
        headers.insert(HeaderName::from_static("x-request-id"), v);
    }
    if !web {
        allow_cors(
            headers,
            CORS_METHODS,
            HeaderValue::from_static(CORS_HEADERS),
        );
    }
    resp
}

/// CORS for any origin: `methods` and the request headers `allow_headers` (web actions
/// answer CORS themselves, with their own methods, through this too).
pub fn allow_cors(headers: &mut HeaderMap, methods: &'static str, allow_headers: HeaderValue) {
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(methods),
    );
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allow_headers);
}

/// An error answer that no handler shaped: 4xx/5xx without a JSON body, outside the web
/// actions (which shape their own answers) and the DigitalOcean API.
fn is_framework_error(resp: &Response, path: &str) -> bool {
    let status = resp.status();
    let json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"));
    (status.is_client_error() || status.is_server_error())
        && !json
        && !path.starts_with("/api/v1/web/")
        && !path.starts_with("/v2/")
}

/// The text of a framework rejection, or a message for its status when it has none.
async fn framework_message(resp: &mut Response) -> String {
    let body = std::mem::replace(resp.body_mut(), Body::empty());
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    match resp.status() {
        StatusCode::METHOD_NOT_ALLOWED => "HTTP method not allowed".to_string(),
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!("Request larger than allowed: the limit is {MAX_BODY} bytes.")
        }
        _ if !text.is_empty() => text,
        s => s.canonical_reason().unwrap_or("error").to_string(),
    }
}
