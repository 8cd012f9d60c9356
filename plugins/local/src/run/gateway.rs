//! The API gateway (openwhisk-api.md §7, OpenWhisk's `wsk api`): routes created through
//! `/whisk.system/apimgmt/createApi` are served at `/api/<namespace>/<basePath>/<relPath>`
//! for their HTTP verb, by calling their web action ([`crate::run::web::serve`]) with the
//! route's response type. `{param}` segments of a route match any one segment; their values
//! join the query parameters the action sees.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;

use crate::catalog::apimgmt;
use crate::http_error::ApiError;
use crate::run::web::{self, WebRequest};
use crate::state::AppState;

/// Any method on `/api/{ns}/{*path}` (paths under `/api/v1/` are the controller's own).
pub async fn handle(
    State(state): State<AppState>,
    Path((ns, path)): Path<(String, String)>,
    RawQuery(raw_query): RawQuery,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (route, params) = apimgmt::find_route(&state.store, &ns, method.as_str(), &path)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let mut query: Vec<String> = raw_query
        .iter()
        .filter(|q| !q.is_empty())
        .cloned()
        .collect();
    for (k, v) in &params {
        query.push(format!("{}={}", encode(k), encode(v)));
    }
    let raw_query = (!query.is_empty()).then(|| query.join("&"));
    let action = &route.action;
    let target = format!(
        "{}/{}/{}.{}",
        action.namespace,
        action.package.as_deref().unwrap_or("default"),
        action.name,
        route.response_type
    );
    let uri: Uri = match &raw_query {
        Some(q) => format!("/api/v1/web/{target}?{q}"),
        None => format!("/api/v1/web/{target}"),
    }
    .parse()
    .map_err(|_| ApiError::bad_request("The request path or query is not valid."))?;
    let request = WebRequest {
        method,
        uri,
        raw_query,
        headers,
        body,
    };
    web::serve(&state, &target, request).await
}

/// Percent-encodes a query component (RFC 3986 unreserved characters stay).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_components_are_percent_encoded() {
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
        assert_eq!(encode("id-1_x.y~"), "id-1_x.y~");
    }
}
