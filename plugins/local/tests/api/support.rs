//! A server on a temporary data directory and a client that records a transcript of every
//! exchange (redacted so snapshots are stable).

use std::path::Path;

use reqwest::Method;
use serde_json::{Map, Value, json};
use sluice_local::EmbeddedServer;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Who a request claims to be.
#[derive(Debug, Clone, Copy)]
pub enum As {
    /// The `local` namespace's key.
    Owner,
    /// No `Authorization` header.
    Nobody,
    /// A well-formed but wrong key.
    Stranger,
}

pub struct Api {
    pub dir: tempfile::TempDir,
    pub server: EmbeddedServer,
    pub http: reqwest::Client,
    transcript: Vec<Value>,
}

/// One answer: status, headers and body (JSON, or a string when not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Api {
    /// A server on a fresh temporary data directory.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temporary data dir");
        let server = EmbeddedServer::start(dir.path()).expect("start the embedded server");
        Api {
            dir,
            server,
            http: reqwest::Client::new(),
            transcript: Vec::new(),
        }
    }

    /// A server on an existing data directory (to test persistence).
    pub fn start_in(dir: tempfile::TempDir) -> Self {
        let server = EmbeddedServer::start(dir.path()).expect("restart the embedded server");
        Api {
            dir,
            server,
            http: reqwest::Client::new(),
            transcript: Vec::new(),
        }
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Sends a request as the owner, recording it.
    pub async fn call(&mut self, method: &str, path: &str, body: Option<Value>) -> Answer {
        self.call_as(As::Owner, method, path, body).await
    }

    /// Sends a request, recording it in the transcript.
    pub async fn call_as(
        &mut self,
        who: As,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        let answer = self.send(who, method, path, body.clone()).await;
        let mut entry = Map::new();
        entry.insert("request".into(), json!(format!("{method} {path}")));
        if let Some(b) = body {
            entry.insert("body".into(), b);
        }
        entry.insert("status".into(), json!(answer.status));
        entry.insert("response".into(), redact(answer.body.clone()));
        self.transcript.push(Value::Object(entry));
        answer
    }

    /// Sends a request without recording it.
    pub async fn send(&self, who: As, method: &str, path: &str, body: Option<Value>) -> Answer {
        let method = Method::from_bytes(method.as_bytes()).expect("HTTP method");
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.server.apihost));
        match who {
            As::Owner => {
                let (u, p) = self.server.auth().split_once(':').expect("uuid:key");
                req = req.basic_auth(u, Some(p));
            }
            As::Stranger => {
                req = req.basic_auth(
                    "23bc46b1-71f6-4ed5-8c54-816aa4f8c502",
                    Some("123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"),
                );
            }
            As::Nobody => {}
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request reaches the server");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("response body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    /// The recorded exchanges.
    pub fn transcript(&self) -> Value {
        Value::Array(self.transcript.clone())
    }
}

const TIMES: &[&str] = &[
    "updated",
    "start",
    "end",
    "created_at",
    "updated_at",
    "next_run_at",
    "last_run_at",
];

/// Replaces times, request ids and sluice's version with placeholders.
pub fn redact(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let is_error = m.contains_key("error");
            Value::Object(
                m.into_iter()
                    .map(|(k, v)| {
                        let v = if TIMES.contains(&k.as_str()) && !v.is_null() {
                            json!("[time]")
                        } else if (k == "code" && is_error) || k == "request_id" {
                            json!("[request-id]")
                        } else if k == "buildno" {
                            json!("[version]")
                        } else {
                            redact(v)
                        };
                        (k, v)
                    })
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.into_iter().map(redact).collect()),
        other => other,
    }
}

/// An action body with node code.
pub fn node_action(code: &str) -> Value {
    json!({"exec": {"kind": "nodejs:default", "code": code}})
}
