//! Running and inspecting functions through the OpenWhisk API (openwhisk-api.md §4.1, §6):
//! invoke, activations (list, get, logs, result) and function reads, for `sluice invoke`,
//! `sluice activations` and `sluice functions`. Works the same against sluice's local
//! namespace, Apache OpenWhisk and DigitalOcean Functions.
//!
//! Invoke does not go through [`Client::post`]: a failed blocking invoke answers 502 with the
//! whole activation as its body, and the caller needs that activation (its id, logs and
//! error), not just the error string the transport keeps.
//!
//! Activation records come back typed ([`Activation`], from the model) and serialize back
//! exactly as the namespace sent them, so callers print them without digging through JSON.

use reqwest::Url;
use serde_json::Value;
use sluice_core::{Activation, ActivationResponse};

use crate::client::Client;
use crate::error::{OwError, Result};

/// How a function should be invoked.
#[derive(Debug, Clone, Default)]
pub struct InvokeOptions {
    /// Wait for the result (`blocking=true`).
    pub blocking: bool,
    /// Longest wait in milliseconds (the server's default, 60 s, when `None`).
    pub timeout_ms: Option<u64>,
}

/// What an invoke answered.
#[derive(Debug, Clone, PartialEq)]
pub enum InvokeOutcome {
    /// The activation finished; `status` is the HTTP status (200, 502, 500).
    Finished {
        /// HTTP status of the answer.
        status: u16,
        /// The full activation record (boxed: it is much larger than the other answers).
        activation: Box<Activation>,
    },
    /// The function returned an array: the controller answers with the bare array.
    ArrayResult {
        /// The activation id (from `x-openwhisk-activation-id`).
        activation_id: Option<String>,
        /// The result.
        result: Value,
    },
    /// Accepted to run in the background (non-blocking, or the wait ran out).
    Accepted {
        /// The activation id to read back later.
        activation_id: String,
    },
}

/// Filters of an activations list.
#[derive(Debug, Clone, Default)]
pub struct ActivationFilter {
    /// `action` or `pkg/action`.
    pub name: Option<String>,
    /// Epoch ms, inclusive.
    pub since: Option<i64>,
    /// Epoch ms, inclusive.
    pub upto: Option<i64>,
    /// At most this many (0..=200).
    pub limit: u32,
    /// Skip this many newest first.
    pub skip: u32,
    /// Full records instead of the brief form.
    pub docs: bool,
}

fn decode_err(url: &Url, e: impl std::fmt::Display) -> OwError {
    OwError::Decode {
        url: url.to_string(),
        message: e.to_string(),
    }
}

impl Client {
    /// `POST …/actions/{name}`: invokes `name` (`fn`, `pkg/fn` or `/ns/pkg/fn`) with `params`.
    /// `api_key` is this client's key (`uuid:key`).
    pub async fn invoke(
        &self,
        api_key: &str,
        name: &str,
        params: &Value,
        options: &InvokeOptions,
    ) -> Result<InvokeOutcome> {
        let mut url = self.entity_url("actions", name);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("blocking", if options.blocking { "true" } else { "false" });
            if let Some(t) = options.timeout_ms {
                q.append_pair("timeout", &t.to_string());
            }
        }
        let (user, password) = api_key.split_once(':').unwrap_or((api_key, ""));
        let http = reqwest::Client::builder()
            .user_agent(concat!("sluice/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| transport_err(&url, e))?;
        let resp = http
            .post(url.clone())
            .basic_auth(user, Some(password))
            .json(params)
            .send()
            .await
            .map_err(|e| transport_err(&url, e))?;
        let status = resp.status();
        let header_id = resp
            .headers()
            .get("x-openwhisk-activation-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = resp.bytes().await.map_err(|e| transport_err(&url, e))?;
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let code = status.as_u16();
        if code == 202 {
            let id = body
                .get("activationId")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or(header_id)
                .ok_or_else(|| decode_err(&url, "202 without an activation id"))?;
            return Ok(InvokeOutcome::Accepted { activation_id: id });
        }
        if body.get("activationId").is_some() && body.get("response").is_some() {
            return Ok(InvokeOutcome::Finished {
                status: code,
                activation: Box::new(
                    serde_json::from_value(body).map_err(|e| decode_err(&url, e))?,
                ),
            });
        }
        if status.is_success() && body.is_array() {
            return Ok(InvokeOutcome::ArrayResult {
                activation_id: header_id,
                result: body,
            });
        }
        Err(OwError::Http {
            method: "POST".into(),
            url: without_query(&url),
            status: code,
            reason: status.canonical_reason().unwrap_or("").to_string(),
            error: body
                .get("error")
                .and_then(Value::as_str)
                .map(str::to_string),
            retry_after: None,
        })
    }

    /// `GET …/activations/{id}`: the full record.
    pub async fn activation(&self, id: &str) -> Result<Activation> {
        self.get_typed(self.api_url(["namespaces", "_", "activations", id]))
            .await
    }

    /// `GET …/activations/{id}/logs`: the log lines.
    pub async fn activation_logs(&self, id: &str) -> Result<Vec<String>> {
        let url = self.api_url(["namespaces", "_", "activations", id, "logs"]);
        let v = self.get(url.clone()).await?;
        serde_json::from_value(v.get("logs").cloned().unwrap_or(Value::Array(vec![])))
            .map_err(|e| decode_err(&url, e))
    }

    /// `GET …/activations/{id}/result`: `{"status","success","result",…}`.
    pub async fn activation_result(&self, id: &str) -> Result<ActivationResponse> {
        self.get_typed(self.api_url(["namespaces", "_", "activations", id, "result"]))
            .await
    }

    /// `GET …/activations`: newest first; brief records unless `filter.docs`.
    pub async fn activations(&self, filter: &ActivationFilter) -> Result<Vec<Activation>> {
        let mut url = self.api_url(["namespaces", "_", "activations"]);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("limit", &filter.limit.to_string());
            q.append_pair("skip", &filter.skip.to_string());
            if let Some(n) = &filter.name {
                q.append_pair("name", n);
            }
            if let Some(s) = filter.since {
                q.append_pair("since", &s.to_string());
            }
            if let Some(u) = filter.upto {
                q.append_pair("upto", &u.to_string());
            }
            if filter.docs {
                q.append_pair("docs", "true");
            }
        }
        self.get_typed(url).await
    }

    /// `GET …/actions?limit&skip`: function summaries, newest first.
    pub async fn functions(&self, limit: u32, skip: u32) -> Result<Vec<Value>> {
        let mut url = self.api_url(["namespaces", "_", "actions"]);
        url.query_pairs_mut()
            .append_pair("limit", &limit.to_string())
            .append_pair("skip", &skip.to_string());
        self.get_typed(url).await
    }

    /// `GET …/actions/{name}?code=…`: one function.
    pub async fn function(&self, name: &str, code: bool) -> Result<Value> {
        let mut url = self.entity_url("actions", name);
        url.query_pairs_mut()
            .append_pair("code", if code { "true" } else { "false" });
        self.get(url).await
    }

    /// `GET url`, decoded into `T`.
    async fn get_typed<T: serde::de::DeserializeOwned>(&self, url: Url) -> Result<T> {
        let v = self.get(url.clone()).await?;
        serde_json::from_value(v).map_err(|e| decode_err(&url, e))
    }
}

fn without_query(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.to_string()
}

fn transport_err(url: &Url, e: reqwest::Error) -> OwError {
    OwError::Transport {
        method: "POST".into(),
        url: without_query(url),
        message: e.to_string(),
        unreachable: e.is_connect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::TransportOptions;
    use serde_json::json;
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn client(uri: &str) -> Client {
        Client::new(uri, "user:pass", &TransportOptions::default()).expect("client")
    }

    #[tokio::test]
    async fn failed_blocking_invoke_keeps_the_activation() {
        let server = MockServer::start().await;
        let activation = json!({"activationId": "a1", "response": {"status": "application error", "success": false, "result": {"error": "no"}}});
        Mock::given(method("POST"))
            .and(path("/api/v1/namespaces/_/actions/pkg/fn"))
            .and(query_param("blocking", "true"))
            .respond_with(ResponseTemplate::new(502).set_body_json(&activation))
            .mount(&server)
            .await;
        let c = client(&server.uri());
        let out = c
            .invoke(
                "user:pass",
                "pkg/fn",
                &json!({}),
                &InvokeOptions {
                    blocking: true,
                    timeout_ms: None,
                },
            )
            .await
            .expect("invoke");
        let InvokeOutcome::Finished {
            status,
            activation: got,
        } = out
        else {
            panic!("not finished: {out:?}");
        };
        assert_eq!(status, 502);
        assert!(!got.is_success());
        assert_eq!(got.status(), Some("application error"));
        assert_eq!(got.result(), &json!({"error": "no"}));
        assert_eq!(serde_json::to_value(&got).expect("json"), activation);
    }

    #[tokio::test]
    async fn accepted_and_array_answers() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/v1/namespaces/_/actions/later"))
            .respond_with(ResponseTemplate::new(202).set_body_json(json!({"activationId": "b2"})))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/api/v1/namespaces/_/actions/list"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("x-openwhisk-activation-id", "c3")
                    .set_body_json(json!([1, 2])),
            )
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/api/v1/namespaces/_/actions/missing"))
            .respond_with(
                ResponseTemplate::new(404)
                    .set_body_json(json!({"error": "The requested resource does not exist."})),
            )
            .mount(&server)
            .await;
        let c = client(&server.uri());
        let opts = InvokeOptions::default();
        assert_eq!(
            c.invoke("user:pass", "later", &json!({}), &opts)
                .await
                .expect("202"),
            InvokeOutcome::Accepted {
                activation_id: "b2".into()
            }
        );
        assert_eq!(
            c.invoke("user:pass", "list", &json!({}), &opts)
                .await
                .expect("array"),
            InvokeOutcome::ArrayResult {
                activation_id: Some("c3".into()),
                result: json!([1, 2])
            }
        );
        let err = c
            .invoke("user:pass", "missing", &json!({}), &opts)
            .await
            .expect_err("404");
        assert_eq!(err.status(), Some(404));
        assert!(
            err.to_string()
                .contains("the requested resource does not exist.")
        );
    }

    #[tokio::test]
    async fn activations_come_back_typed_and_print_as_sent() {
        let server = MockServer::start().await;
        // Brief records, keys in the local namespace's order (annotations before the id).
        let text = r#"[{"namespace":"local","name":"top","version":"0.0.1","publish":false,"annotations":[{"key":"kind","value":"nodejs:20"}],"activationId":"d4","start":1,"end":3,"statusCode":2,"duration":2}]"#;
        Mock::given(method("GET"))
            .and(path("/api/v1/namespaces/_/activations"))
            .and(query_param("name", "top"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(text, "application/json"))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/v1/namespaces/_/activations/d4/result"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"status": "action developer error", "success": false, "result": {"error": "x"}}),
            ))
            .mount(&server)
            .await;
        let c = client(&server.uri());
        let filter = ActivationFilter {
            name: Some("top".into()),
            limit: 1,
            ..ActivationFilter::default()
        };
        let list = c.activations(&filter).await.expect("list");
        assert_eq!(list[0].activation_id, "d4");
        assert_eq!(list[0].kind(), Some("nodejs:20"));
        assert_eq!(
            list[0].outcome(),
            Some(sluice_core::Outcome::DeveloperError)
        );
        assert_eq!(serde_json::to_string(&list).expect("json"), text);
        let result = c.activation_result("d4").await.expect("result");
        assert!(!result.success);
        assert_eq!(result.result, json!({"error": "x"}));
    }
}
