//! The conversation with the builder actions (spec §12.1 steps 4–6, §12.3, §12.4): ask
//! `getUploadUrl` for a place to put the slice, upload it, start `build_<runtime>`, and later
//! wait for that activation's `{transcript, outcome}`.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use sluice_core::{Activation, Credentials, DeployResponse, Feedback, RuntimeTable};

use crate::error::{Error, Result};
use crate::slice::Slice;

/// Polls allowed for `getUploadUrl` (about two minutes).
pub const UPLOAD_PERMISSION_POLLS: u32 = 120;
/// Polls allowed for a remote build (about fifteen minutes).
pub const BUILD_POLLS: u32 = 900;
/// The status of an activation record that has started and not ended.
const RUNNING: &str = "running";
/// Errors other than 404 tolerated while polling, before giving up.
const POLL_ERRORS_TOLERATED: u32 = 3;

/// The namespace holding the builder actions: `TEST_BUILDER_NAMESPACE`, else `nimbella`.
pub fn builder_namespace(env: &std::collections::BTreeMap<String, String>) -> String {
    env.get("TEST_BUILDER_NAMESPACE")
        .filter(|n| !n.is_empty())
        .cloned()
        .unwrap_or_else(|| "nimbella".to_string())
}

/// `build_<R>`: the canonical runtime with `:` replaced by `_` (`go:default` → `build_go_1.17`
/// when the table's Go default is 1.17; the dot stays).
pub fn build_action_name(runtimes: &RuntimeTable, runtime: &str) -> String {
    format!("build_{}", runtimes.canonical(runtime).replace(':', "_"))
}

/// What a remote build answered: the build's warnings and output, and the deploy outcome of
/// the function (successes, failures, versions), merged into the client's result.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct RemoteResult {
    #[serde(default)]
    pub transcript: Vec<String>,
    pub outcome: DeployResponse,
}

/// A client of one namespace's builder actions.
#[derive(Clone)]
pub struct BuilderClient {
    http: reqwest::Client,
    apihost: String,
    api_key: String,
    builder_ns: String,
    poll_interval: Duration,
    feedback: Arc<dyn Feedback>,
}

impl std::fmt::Debug for BuilderClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuilderClient")
            .field("apihost", &self.apihost)
            .field("builder_ns", &self.builder_ns)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Invoked {
    activation_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UploadPermission {
    url: Option<String>,
    slice_name: Option<String>,
}

impl BuilderClient {
    /// A client for the namespace `credentials` name, asking the builder actions in
    /// `builder_ns` (see [`builder_namespace`]).
    pub fn new(
        credentials: &Credentials,
        builder_ns: impl Into<String>,
        feedback: Arc<dyn Feedback>,
    ) -> Result<Self> {
        let apihost = normalize_host(&credentials.ow.apihost);
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(credentials.ow.ignore_certs)
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| Error::Http {
                url: apihost.clone(),
                message: e.to_string(),
            })?;
        Ok(BuilderClient {
            http,
            apihost,
            api_key: credentials.ow.api_key.clone(),
            builder_ns: builder_ns.into(),
            poll_interval: Duration::from_secs(1),
            feedback,
        })
    }

    /// Polls every `interval` instead of every second.
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Steps 4–6: upload permission, upload, build request. Returns the build's activation
    /// id; `name` is the function as messages name it.
    pub async fn submit(
        &self,
        slice: &Slice,
        name: &str,
        runtimes: &RuntimeTable,
    ) -> Result<String> {
        let (url, slice_name) = self.upload_permission(&slice.tag).await?;
        self.upload(&url, &slice.tag, slice.zip.clone()).await?;
        let id = self
            .start_build(runtimes, &slice.runtime, &slice_name, &slice.key_hex)
            .await?;
        self.feedback.progress(&format!(
            "Submitted function '{name}' for remote building and deployment in runtime {} (id: {id})",
            slice.runtime
        ));
        Ok(id)
    }

    /// Step 4: invoke `getUploadUrl` and wait for its `{url, sliceName}`.
    pub async fn upload_permission(&self, tag: &str) -> Result<(String, String)> {
        let id = match self.invoke("getUploadUrl", &json!({ "action": tag })).await {
            Err(Error::Status { status: 404, .. }) => {
                return Err(Error::NoUploadService {
                    apihost: self.apihost.clone(),
                    builder_ns: self.builder_ns.clone(),
                });
            }
            other => other?,
        };
        let progress = format!("Waiting for permission to upload remote build for '{tag}'");
        let Some(activation) = self
            .wait_for_activation(&id, UPLOAD_PERMISSION_POLLS, &progress)
            .await?
        else {
            return Err(Error::UploadPermissionTimeout {
                tag: tag.to_string(),
            });
        };
        if !activation.is_success() {
            return Err(Error::UploadPermission {
                tag: tag.to_string(),
                message: error_text(&activation)
                    .unwrap_or_else(|| "Failed to get remote build upload permission".to_string()),
            });
        }
        let result = activation.result().clone();
        match serde_json::from_value::<UploadPermission>(result) {
            Ok(UploadPermission {
                url: Some(url),
                slice_name: Some(slice_name),
            }) => Ok((url, slice_name)),
            _ => Err(Error::UnexpectedUploadResponse {
                tag: tag.to_string(),
            }),
        }
    }

    /// Step 5: `PUT` the zip at the upload URL.
    pub async fn upload(&self, url: &str, tag: &str, zip: Vec<u8>) -> Result<()> {
        let response = self
            .http
            .put(url)
            .body(zip)
            .send()
            .await
            .map_err(|e| Error::Http {
                url: url.to_string(),
                message: e.to_string(),
            })?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(Error::Upload {
                tag: tag.to_string(),
                status,
            });
        }
        Ok(())
    }

    /// Step 6: invoke `build_<runtime>` without waiting; returns its activation id.
    pub async fn start_build(
        &self,
        runtimes: &RuntimeTable,
        runtime: &str,
        slice_name: &str,
        key_hex: &str,
    ) -> Result<String> {
        let action = build_action_name(runtimes, runtime);
        let body = json!({ "toBuild": slice_name, "encryptionKey": key_hex });
        match self.invoke(&action, &body).await {
            Err(Error::Status { status: 404, .. }) => Err(Error::NoBuildService {
                runtime: runtime.to_string(),
            }),
            Err(Error::Status { status, .. }) if status >= 500 => {
                Err(Error::BuildServiceStatus { status })
            }
            other => other,
        }
    }

    /// §12.3: wait for the build's `{transcript, outcome}`; the transcript goes to progress.
    pub async fn await_build(&self, name: &str, activation_id: &str) -> Result<RemoteResult> {
        let progress = format!("Processing of action '{name}' is still running remotely ...");
        let activation = self
            .wait_for_activation(activation_id, BUILD_POLLS, &progress)
            .await?
            .ok_or(Error::BuildTimeout)?;
        if !activation.is_success() {
            let message = error_text(&activation)
                .unwrap_or_else(|| "Remote build failed to provide a result".to_string());
            let record = serde_json::to_value(&activation).unwrap_or(Value::Null);
            return Err(Error::BuildFailed {
                message,
                activation: record,
            });
        }
        let result: RemoteResult =
            serde_json::from_value(activation.result().clone()).map_err(|_| Error::NoResult)?;
        if !result.transcript.is_empty() {
            self.feedback.progress(&format!(
                "Transcript of remote build session for action '{name}':"
            ));
            for line in &result.transcript {
                self.feedback.progress(line);
            }
        }
        Ok(result)
    }

    /// A non-blocking invoke of `/<builder_ns>/builder/<action>`; returns the activation id.
    async fn invoke(&self, action: &str, body: &Value) -> Result<String> {
        let url = format!(
            "{}/api/v1/namespaces/{}/actions/builder/{action}",
            self.apihost, self.builder_ns
        );
        let response = self
            .authorized(self.http.post(&url))
            .json(body)
            .send()
            .await
            .map_err(|e| Error::Http {
                url: url.clone(),
                message: e.to_string(),
            })?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        if !(200..300).contains(&status) {
            return Err(Error::Status {
                url,
                status,
                body: text,
            });
        }
        serde_json::from_str::<Invoked>(&text)
            .map(|i| i.activation_id)
            .map_err(|_| Error::Status {
                url,
                status,
                body: format!("no activationId in {text}"),
            })
    }

    /// §12.4: `GET …/activations/<id>` every interval until the record has ended, at most
    /// `limit` times; every 10th poll reports `progress`. `None` means timed out.
    async fn wait_for_activation(
        &self,
        id: &str,
        limit: u32,
        progress: &str,
    ) -> Result<Option<Activation>> {
        let url = format!("{}/api/v1/namespaces/_/activations/{id}", self.apihost);
        let mut errors = 0;
        for poll in 1..=limit {
            tokio::time::sleep(self.poll_interval).await;
            if poll % 10 == 0 {
                self.feedback.progress(progress);
            }
            let sent = self.authorized(self.http.get(&url)).send().await;
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    errors += 1;
                    if errors > POLL_ERRORS_TOLERATED {
                        return Err(Error::Poll {
                            message: format!("Could not read activation {id}: {e}"),
                        });
                    }
                    continue;
                }
            };
            let status = response.status().as_u16();
            if status == 404 {
                continue; // not recorded yet
            }
            let text = response.text().await.unwrap_or_default();
            if !(200..300).contains(&status) {
                errors += 1;
                if errors > POLL_ERRORS_TOLERATED {
                    return Err(Error::Poll {
                        message: format!(
                            "Reading activation {id} failed with HTTP status {status}: {text}"
                        ),
                    });
                }
                continue;
            }
            let activation: Activation = serde_json::from_str(&text).map_err(|e| Error::Poll {
                message: format!("Activation {id} is not an activation record: {e}"),
            })?;
            // A namespace may answer with a placeholder while the action runs (the local
            // namespace does: status `running`, no end): that is not an outcome yet.
            let ended = activation.end.is_some()
                || activation
                    .response
                    .as_ref()
                    .is_some_and(|r| !r.status.is_empty() && r.status != RUNNING);
            if ended {
                return Ok(Some(activation));
            }
        }
        Ok(None)
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self.api_key.split_once(':') {
            Some((user, pass)) => request.basic_auth(user, Some(pass)),
            None => request.bearer_auth(&self.api_key),
        }
    }
}

/// `https://` added to a bare host, no trailing slash.
fn normalize_host(apihost: &str) -> String {
    let host = apihost.trim_end_matches('/');
    if host.starts_with("http://") || host.starts_with("https://") {
        host.to_string()
    } else {
        format!("https://{host}")
    }
}

/// `response.result.error` (a string, or its `message`), after its last `Error:`.
fn error_text(activation: &Activation) -> Option<String> {
    let error = activation.result().get("error")?;
    let text = match error {
        Value::String(s) => s.clone(),
        other => other.get("message")?.as_str()?.to_string(),
    };
    let tail = match text.rfind("Error:") {
        Some(i) => text[i + "Error:".len()..].trim().to_string(),
        None => text,
    };
    Some(tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_action_names_keep_the_dot() {
        let table = RuntimeTable::builtin();
        let go = build_action_name(&table, "go:default");
        assert!(go.starts_with("build_go_1"), "{go}");
        assert_eq!(
            build_action_name(&table, "python:3.11"),
            "build_python_3.11"
        );
    }

    #[test]
    fn error_text_keeps_what_follows_the_last_error() {
        let a: Activation = serde_json::from_value(json!({
            "activationId": "x",
            "end": 1,
            "response": {"status": "application error", "success": false,
                "result": {"error": {"message": "Error: wrapped Error: go build failed"}}}
        }))
        .expect("activation");
        assert_eq!(error_text(&a).as_deref(), Some("go build failed"));
    }
}
