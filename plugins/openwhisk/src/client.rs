//! The OpenWhisk REST client: URLs under `<apihost>/api/v1/`, Basic auth, the `_` namespace
//! segment, percent-encoded path segments, JSON bodies. Transport concerns (pooling, the
//! concurrency bound, retries) live in [`crate::transport`].
//!
//! Other rooms add request methods in their own files (`impl Client` blocks); the helpers
//! they need ([`Client::entity_url`], [`Client::get`], [`Client::put`], …) are public.

use reqwest::{Method, Url};
use serde_json::Value;

use crate::error::{OwError, Result};
use crate::transport::{Auth, Call, Transport, TransportOptions};

/// A client for one OpenWhisk namespace.
#[derive(Clone)]
pub struct Client {
    apihost: String,
    /// `<apihost>/api/v1/` with a trailing slash.
    base: Url,
    auth: Auth,
    transport: Transport,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("apihost", &self.apihost)
            .finish_non_exhaustive()
    }
}

/// Appends percent-encoded path segments to `url`; `.` and `..` go as the literal `%2E` and
/// `%2E%2E` (see [`Client::api_url`]), never as dot segments URL parsing would drop.
pub(crate) fn extend_path<'a>(url: &mut Url, segments: impl IntoIterator<Item = &'a str>) {
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        for segment in segments {
            match segment {
                "." => path.push("%2E"),
                ".." => path.push("%2E%2E"),
                other => path.push(other),
            };
        }
    }
}

/// The controller URL of an API host: `https://` is assumed when there is no scheme.
pub fn host_url(apihost: &str) -> Result<Url> {
    let trimmed = apihost.trim().trim_end_matches('/');
    let with_scheme = if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
        trimmed.to_string()
    } else {
        format!("https://{trimmed}")
    };
    Url::parse(&format!("{with_scheme}/")).map_err(|e| OwError::BadHost {
        apihost: apihost.to_string(),
        message: e.to_string(),
    })
}

impl Client {
    /// A client with its own transport.
    pub fn new(apihost: &str, api_key: &str, options: &TransportOptions) -> Result<Self> {
        Self::with_transport(apihost, api_key, Transport::new(options)?)
    }

    /// A client sharing a transport (and so its pool and concurrency bound) with others.
    pub fn with_transport(apihost: &str, api_key: &str, transport: Transport) -> Result<Self> {
        let base = host_url(apihost)?
            .join("api/v1/")
            .map_err(|e| OwError::BadHost {
                apihost: apihost.to_string(),
                message: e.to_string(),
            })?;
        Ok(Client {
            apihost: apihost.to_string(),
            base,
            auth: Auth::basic(api_key),
            transport,
        })
    }

    /// The API host as given.
    pub fn apihost(&self) -> &str {
        &self.apihost
    }

    /// The transport, for sharing and for its request counter.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// `<apihost>/api/v1/<segments…>`, each segment percent-encoded (`/`, `%`, `?`, `#` and
    /// spaces included, so a segment never splits or ends the path).
    ///
    /// A segment that is `.` or `..` cannot be sent as itself: URL parsing drops it (WHATWG
    /// treats `%2E%2E` the same way), so `actions/p/..` would become `actions/p` and address
    /// another entity. Such a segment is sent as the literal text `%2E` / `%2E%2E`
    /// (encoded once more, `%252E`), which the controller decodes to a name it refuses.
    /// The reader refuses such names long before; this is the last line.
    pub fn api_url<'a>(&self, segments: impl IntoIterator<Item = &'a str>) -> Url {
        let mut url = self.base.clone();
        extend_path(&mut url, segments);
        url
    }

    /// URL of an entity: `namespaces/_/<collection>/<name>`, where `name` is `a`, `pkg/a`
    /// or a fully qualified `/ns/pkg/a` (then `ns` replaces `_`).
    pub fn entity_url(&self, collection: &str, name: &str) -> Url {
        let (namespace, rest) = match name.strip_prefix('/') {
            Some(fq) => fq.split_once('/').unwrap_or((fq, "")),
            None => ("_", name),
        };
        let mut segments = vec!["namespaces", namespace, collection];
        segments.extend(rest.split('/').filter(|s| !s.is_empty()));
        self.api_url(segments)
    }

    /// GET with Basic auth.
    pub async fn get(&self, url: Url) -> Result<Value> {
        self.call(Method::GET, url, None, true).await
    }

    /// PUT of a JSON body with Basic auth (`overwrite=true` requests are idempotent).
    pub async fn put(&self, url: Url, body: &Value) -> Result<Value> {
        self.call(Method::PUT, url, Some(body), true).await
    }

    /// DELETE with Basic auth.
    pub async fn delete(&self, url: Url) -> Result<Value> {
        self.call(Method::DELETE, url, None, true).await
    }

    /// POST of a JSON body with Basic auth (not idempotent: retried only when the server
    /// surely did not act on it).
    pub async fn post(&self, url: Url, body: &Value) -> Result<Value> {
        self.call(Method::POST, url, Some(body), false).await
    }

    /// Any request with this client's auth.
    pub async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<Value> {
        self.transport
            .send(Call {
                method,
                url,
                auth: &self.auth,
                body,
                idempotent,
            })
            .await
    }

    /// `GET /api/v1/namespaces`: the namespaces the key can use (the first is the key's own).
    pub async fn namespaces(&self) -> Result<Vec<String>> {
        let url = self.api_url(["namespaces"]);
        let value = self.get(url.clone()).await?;
        serde_json::from_value(value).map_err(|e| OwError::Decode {
            url: url.to_string(),
            message: e.to_string(),
        })
    }

    /// `GET /api/v1` without auth: the controller info (its `runtimes` member on DigitalOcean
    /// and on sluice's local namespace).
    pub async fn controller_info(&self) -> Result<Value> {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
        }
        self.transport
            .send(Call {
                method: Method::GET,
                url,
                auth: &Auth::None,
                body: None,
                idempotent: true,
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        Client::new("http://127.0.0.1:9", "u:k", &TransportOptions::default()).expect("client")
    }

    #[test]
    fn entity_urls_use_underscore_and_encode_segments() {
        let c = client();
        assert_eq!(
            c.entity_url("actions", "pkg/a b").as_str(),
            "http://127.0.0.1:9/api/v1/namespaces/_/actions/pkg/a%20b"
        );
        assert_eq!(
            c.entity_url("actions", "/ns/pkg/a").as_str(),
            "http://127.0.0.1:9/api/v1/namespaces/ns/actions/pkg/a"
        );
        assert_eq!(
            c.entity_url("packages", "p?x#y").as_str(),
            "http://127.0.0.1:9/api/v1/namespaces/_/packages/p%3Fx%23y"
        );
    }

    #[test]
    fn dot_segments_never_address_another_entity() {
        let c = client();
        assert_eq!(
            c.entity_url("actions", "p/..").as_str(),
            "http://127.0.0.1:9/api/v1/namespaces/_/actions/p/%252E%252E"
        );
        assert_eq!(
            c.entity_url("packages", ".").as_str(),
            "http://127.0.0.1:9/api/v1/namespaces/_/packages/%252E"
        );
        assert_eq!(
            c.entity_url("actions", "p/a%2Fb&c@d").as_str(),
            "http://127.0.0.1:9/api/v1/namespaces/_/actions/p/a%252Fb&c@d"
        );
        assert_eq!(
            c.api_url(["namespaces", "_", "actions", "a/b"]).as_str(),
            "http://127.0.0.1:9/api/v1/namespaces/_/actions/a%2Fb"
        );
    }

    #[test]
    fn host_without_scheme_is_https() {
        assert_eq!(
            host_url("faas.example.co").expect("url").as_str(),
            "https://faas.example.co/"
        );
        assert_eq!(
            host_url("http://127.0.0.1:3233/").expect("url").as_str(),
            "http://127.0.0.1:3233/"
        );
    }
}
