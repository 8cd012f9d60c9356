//! `/v2/functions/namespaces`: the shapes DigitalOcean documents and the four calls.

use std::time::Duration;

use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};

use crate::error::{DoError, Result};

/// One functions namespace, as `GET /v2/functions/namespaces/{id}` returns it under
/// `namespace` (the list returns the same objects under `namespaces`).
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Namespace {
    /// The namespace's id (`fn-…`), which is also its OpenWhisk namespace name.
    pub namespace: String,
    /// The OpenWhisk API host that serves it (`https://faas-nyc1-….doserverless.co`).
    #[serde(default)]
    pub api_host: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// The first half of the OpenWhisk key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// The second half of the OpenWhisk key: a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl Namespace {
    /// The OpenWhisk API key (`uuid:key`), when DigitalOcean sent both halves.
    pub fn auth(&self) -> Option<String> {
        match (&self.uuid, &self.key) {
            (Some(u), Some(k)) if !u.is_empty() && !k.is_empty() => Some(format!("{u}:{k}")),
            _ => None,
        }
    }
}

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Namespace")
            .field("namespace", &self.namespace)
            .field("api_host", &self.api_host)
            .field("label", &self.label)
            .field("region", &self.region)
            .field("key", &self.key.as_deref().map(sluice_core::mask_secret))
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct One {
    namespace: Namespace,
}

#[derive(Deserialize)]
struct Many {
    #[serde(default)]
    namespaces: Vec<Namespace>,
}

/// DigitalOcean's error body.
#[derive(Deserialize)]
struct ErrorBody {
    id: Option<String>,
    message: Option<String>,
}

/// The body of a create.
#[derive(Serialize)]
struct Create<'a> {
    label: &'a str,
    region: &'a str,
}

/// A client of the functions namespaces of one account.
#[derive(Clone)]
pub struct NamespacesApi {
    base: Url,
    token: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for NamespacesApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamespacesApi")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

/// How long one call may take: creating a namespace takes DigitalOcean a few seconds.
const TIMEOUT: Duration = Duration::from_secs(60);

/// How often a read or a delete is tried, and the first wait between tries (doubled each time).
const ATTEMPTS: u32 = 3;
const FIRST_WAIT: Duration = Duration::from_millis(500);

impl NamespacesApi {
    /// A client for the API at `base` (see [`crate::api_url`]) with the account's token.
    pub fn new(base: &str, token: &str) -> Result<Self> {
        let bad = |message: String| DoError::BadUrl {
            url: base.to_string(),
            message,
        };
        let base_url = Url::parse(&format!("{}/", base.trim_end_matches('/')))
            .map_err(|e| bad(e.to_string()))?;
        if !matches!(base_url.scheme(), "http" | "https") {
            return Err(bad("it must start with https:// (or http://)".to_string()));
        }
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(15))
            .user_agent(concat!("sluice/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| DoError::Transport {
                method: "-".into(),
                url: base.to_string(),
                message: e.to_string(),
            })?;
        Ok(NamespacesApi {
            base: base_url,
            token: token.to_string(),
            http,
        })
    }

    fn url(&self, id: Option<&str>) -> Result<Url> {
        let mut url = self.base.clone();
        {
            let mut segments = url.path_segments_mut().map_err(|()| DoError::BadUrl {
                url: self.base.to_string(),
                message: "it cannot have a path".to_string(),
            })?;
            segments.pop_if_empty();
            segments.extend(["v2", "functions", "namespaces"]);
            if let Some(id) = id {
                segments.push(id);
            }
        }
        Ok(url)
    }

    /// Sends a call, again (up to [`ATTEMPTS`] times, waiting longer each time) when a read
    /// or a delete meets a busy or failing API (429, 5xx) or no answer, as doctl does. A
    /// create is sent once: a lost answer may still have made the namespace.
    async fn send(
        &self,
        method: Method,
        id: Option<&str>,
        body: Option<&Create<'_>>,
    ) -> Result<String> {
        let retried = method != Method::POST;
        let mut wait = FIRST_WAIT;
        let mut attempt = 1;
        loop {
            let result = self.send_once(method.clone(), id, body).await;
            let transient = match &result {
                Err(DoError::Api { status, .. }) => *status == 429 || *status >= 500,
                Err(DoError::Transport { .. }) => true,
                _ => false,
            };
            if !(retried && transient && attempt < ATTEMPTS) {
                return result;
            }
            tokio::time::sleep(wait).await;
            wait *= 2;
            attempt += 1;
        }
    }

    /// Sends one call; `id` names the namespace a 404 is about.
    async fn send_once(
        &self,
        method: Method,
        id: Option<&str>,
        body: Option<&Create<'_>>,
    ) -> Result<String> {
        let url = self.url(id)?;
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .bearer_auth(&self.token)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        let transport = |e: reqwest::Error| DoError::Transport {
            method: method.to_string(),
            url: url.to_string(),
            // Without the URL reqwest repeats (it holds no token, but say it once).
            message: e.without_url().to_string(),
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let text = response.text().await.map_err(transport)?;
        if status.is_success() {
            return Ok(text);
        }
        let parsed: Option<ErrorBody> = serde_json::from_str(&text).ok();
        let (err_id, message) = match parsed {
            Some(b) => (b.id, b.message),
            None => (None, None),
        };
        let message = message
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
        // The path alone: the host is DigitalOcean's (or the one the user set), and a
        // shorter line reads better.
        let url = url.path().to_string();
        Err(match (status.as_u16(), id) {
            (401 | 403, _) => DoError::Unauthorized {
                method: method.to_string(),
                url: url.clone(),
                message,
            },
            (404, Some(id)) => DoError::NotFound {
                namespace: id.to_string(),
            },
            (code, _) => DoError::Api {
                method: method.to_string(),
                url,
                status: code,
                id: err_id,
                message,
            },
        })
    }

    fn decode<T: serde::de::DeserializeOwned>(&self, id: Option<&str>, text: &str) -> Result<T> {
        serde_json::from_str(text).map_err(|e| DoError::Decode {
            url: self
                .url(id)
                .map(|u| u.to_string())
                .unwrap_or_else(|_| self.base.to_string()),
            message: e.to_string(),
        })
    }

    /// Every functions namespace of the account (`GET /v2/functions/namespaces`), sorted by
    /// label, then id.
    pub async fn list(&self) -> Result<Vec<Namespace>> {
        let text = self.send(Method::GET, None, None).await?;
        let mut all = self.decode::<Many>(None, &text)?.namespaces;
        all.sort_by(|a, b| (&a.label, &a.namespace).cmp(&(&b.label, &b.namespace)));
        Ok(all)
    }

    /// One namespace with its key (`GET /v2/functions/namespaces/{id}`).
    pub async fn get(&self, id: &str) -> Result<Namespace> {
        let text = self.send(Method::GET, Some(id), None).await?;
        Ok(self.decode::<One>(Some(id), &text)?.namespace)
    }

    /// Creates a namespace (`POST /v2/functions/namespaces` with `{"label", "region"}`).
    pub async fn create(&self, label: &str, region: &str) -> Result<Namespace> {
        let text = self
            .send(Method::POST, None, Some(&Create { label, region }))
            .await?;
        Ok(self.decode::<One>(None, &text)?.namespace)
    }

    /// Deletes a namespace and everything in it (`DELETE /v2/functions/namespaces/{id}`).
    pub async fn delete(&self, id: &str) -> Result<()> {
        self.send(Method::DELETE, Some(id), None).await.map(|_| ())
    }
}

/// The namespace `hint` names, the way doctl matches it: the one whose label or id is exactly
/// `hint`; else the only one whose label or id contains it. With `exact`, only the first rule
/// (for deletes, where a guess would be dangerous).
pub fn find<'a>(all: &'a [Namespace], hint: &str, exact: bool) -> Result<&'a Namespace> {
    let exactly: Vec<&Namespace> = all
        .iter()
        .filter(|n| n.label == hint || n.namespace == hint)
        .collect();
    let candidates = match exactly.as_slice() {
        [one] => return Ok(one),
        [] if !exact => all
            .iter()
            .filter(|n| n.label.contains(hint) || n.namespace.contains(hint))
            .collect(),
        _ => exactly,
    };
    match candidates.as_slice() {
        [one] => Ok(one),
        [] => Err(DoError::NoMatch {
            hint: hint.to_string(),
            labels: all.iter().map(|n| n.label.clone()).collect(),
        }),
        several => Err(DoError::Ambiguous {
            hint: hint.to_string(),
            matches: several
                .iter()
                .map(|n| format!("{} ({})", n.label, n.namespace))
                .collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(label: &str, id: &str) -> Namespace {
        Namespace {
            namespace: id.into(),
            api_host: "https://faas-nyc1-2ef2e6cc.doserverless.co".into(),
            label: label.into(),
            region: "nyc1".into(),
            created_at: None,
            updated_at: None,
            uuid: Some("u".into()),
            key: Some("secret-key-value".into()),
        }
    }

    #[test]
    fn find_prefers_an_exact_label_or_id_then_a_unique_part() -> Result<()> {
        let all = [
            ns("stage", "fn-aaaa"),
            ns("stage-2", "fn-bbbb"),
            ns("prod", "fn-cccc"),
        ];
        assert_eq!(find(&all, "stage", true)?.namespace, "fn-aaaa");
        assert_eq!(find(&all, "fn-cccc", true)?.label, "prod");
        assert_eq!(find(&all, "pro", false)?.namespace, "fn-cccc");
        assert!(matches!(
            find(&all, "pro", true),
            Err(DoError::NoMatch { .. })
        ));
        assert!(matches!(
            find(&all, "fn-", false),
            Err(DoError::Ambiguous { .. })
        ));
        Ok(())
    }

    #[test]
    fn debug_masks_the_key() {
        let shown = format!("{:?}", ns("stage", "fn-aaaa"));
        assert!(!shown.contains("secret-key-value"), "{shown}");
        assert_eq!(ns("a", "b").auth().as_deref(), Some("u:secret-key-value"));
    }

    #[tokio::test]
    async fn reads_are_tried_again_when_the_api_is_busy_and_creates_are_not() -> Result<()> {
        use wiremock::matchers::{method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        let busy = || {
            ResponseTemplate::new(503).set_body_json(
                serde_json::json!({"id": "service_unavailable", "message": "try later"}),
            )
        };
        Mock::given(path("/v2/functions/namespaces"))
            .respond_with(busy())
            .up_to_n_times(2)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v2/functions/namespaces"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(serde_json::json!({"namespaces": []})),
            )
            .mount(&server)
            .await;
        let api = NamespacesApi::new(&server.uri(), "dop_v1_good")?;
        assert!(api.list().await?.is_empty(), "the third try succeeds");
        Mock::given(method("POST"))
            .and(path("/v2/functions/namespaces"))
            .respond_with(busy())
            .mount(&server)
            .await;
        let made = api.create("x", "nyc1").await;
        assert!(
            matches!(made, Err(DoError::Api { status: 503, .. })),
            "{made:?}"
        );
        let posts = server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.method.as_str() == "POST")
            .count();
        assert_eq!(posts, 1, "a create is sent once");
        Ok(())
    }

    #[tokio::test]
    async fn errors_keep_digitaloceans_message_and_never_the_token() -> Result<()> {
        use wiremock::matchers::{header, method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v2/functions/namespaces/fn-gone"))
            .and(header("authorization", "Bearer dop_v1_good"))
            .respond_with(ResponseTemplate::new(404).set_body_json(
                serde_json::json!({"id": "not_found", "message": "The resource you were accessing could not be found."}),
            ))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v2/functions/namespaces"))
            .respond_with(ResponseTemplate::new(422).set_body_json(
                serde_json::json!({"id": "unprocessable_entity", "message": "invalid region"}),
            ))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v2/functions/namespaces"))
            .respond_with(ResponseTemplate::new(401).set_body_json(
                serde_json::json!({"id": "unauthorized", "message": "Unable to authenticate you"}),
            ))
            .mount(&server)
            .await;
        let api = NamespacesApi::new(&server.uri(), "dop_v1_good")?;
        let gone = api.get("fn-gone").await;
        assert!(matches!(&gone, Err(DoError::NotFound { namespace }) if namespace == "fn-gone"));
        let bad = api.create("x", "mars1").await;
        match &bad {
            Err(e @ DoError::Api { status: 422, .. }) => {
                assert!(e.to_string().contains("invalid region"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        let refused = NamespacesApi::new(&server.uri(), "dop_v1_wrong")?
            .list()
            .await;
        match &refused {
            Err(e @ DoError::Unauthorized { .. }) => {
                let shown = format!("{e} {e:?}");
                assert!(shown.contains("Unable to authenticate you"), "{shown}");
                assert!(!shown.contains("dop_v1_wrong"), "{shown}");
            }
            other => panic!("{other:?}"),
        }
        Ok(())
    }
}
