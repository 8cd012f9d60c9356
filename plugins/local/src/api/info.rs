//! `GET /`, `GET /api/v1`, `GET /api/v1/namespaces`, `GET /namespaces/{ns}/limits`, the
//! runtimes manifest and kind resolution. The limits themselves are
//! [`crate::state::SystemLimits`].

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};
use sluice_core::RuntimeTable;

use crate::auth::Subject;
use crate::http_error::ApiError;
use crate::state::{AppState, SystemLimits};

const MB: u64 = 1024 * 1024;

impl SystemLimits {
    fn root_json(&self) -> Value {
        json!({
            "actions_per_minute": 600,
            "triggers_per_minute": 600,
            "concurrent_actions": 120,
            "sequence_length": self.sequence_length,
            "min_action_duration": self.min_timeout,
            "max_action_duration": self.max_timeout,
            "default_action_duration": 60000,
            "min_action_memory": self.min_memory * MB,
            "max_action_memory": self.max_memory * MB,
            "default_action_memory": 256 * MB,
            "min_action_logs": self.min_logs * MB,
            "max_action_logs": self.max_logs * MB,
            "default_action_logs": 10 * MB,
        })
    }
}

/// True for the kinds the local runner executes (node, python and Go actions); the others are
/// accepted and stored so projects deploy, but cannot be invoked locally.
pub fn runs_locally(kind: &str) -> bool {
    crate::runner::Runner::supports(kind)
}

/// The manifest as the controller renders it, with an extra `local` member per kind.
fn runtimes_json(table: &RuntimeTable) -> Value {
    let families: serde_json::Map<String, Value> = table
        .families
        .iter()
        .map(|(family, kinds)| {
            let kinds: Vec<Value> = kinds
                .iter()
                .map(|k| {
                    json!({
                        "kind": k.kind,
                        "image": format!("sluice/local-{}", k.kind.replace(':', "-")),
                        "deprecated": k.deprecated,
                        "default": k.default,
                        "attached": true,
                        "requireMain": false,
                        "local": runs_locally(&k.kind),
                    })
                })
                .collect();
            (family.clone(), Value::Array(kinds))
        })
        .collect();
    Value::Object(families)
}

/// `GET /` (no auth).
pub async fn root(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "description": "OpenWhisk",
        "support": {
            "github": "https://example.invalid/sluice",
            "slack": "",
        },
        "api_paths": ["/api/v1"],
        "limits": state.limits.root_json(),
        "runtimes": runtimes_json(&state.runtimes),
    }))
}

/// `GET /api/v1` (no auth): Apache's fields plus `runtimes` and `limits`, as DigitalOcean's
/// controller answers (doctl and the deployer read `runtimes` here).
pub async fn api_v1(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "description": "OpenWhisk API",
        "api_version": "1.0.0",
        "api_version_path": "v1",
        "build": "sluice-local",
        "buildno": env!("CARGO_PKG_VERSION"),
        "swagger_paths": {"ui": "/docs", "api-docs": "/api-docs"},
        "limits": state.limits.root_json(),
        "runtimes": runtimes_json(&state.runtimes),
    }))
}

/// `GET /api/v1/namespaces`: the caller's namespace only.
pub async fn namespaces(subject: Subject) -> Json<Value> {
    Json(json!([subject.namespace]))
}

/// `GET /api/v1/namespaces/{ns}/limits`.
pub async fn limits(
    State(state): State<AppState>,
    subject: Subject,
    Path(ns): Path<String>,
) -> Result<Json<Value>, ApiError> {
    subject.namespace_for(&ns, "/limits")?;
    let l = state.limits;
    Ok(Json(json!({
        "invocationsPerMinute": 600,
        "concurrentInvocations": 120,
        "firesPerMinute": 600,
        "minActionMemory": l.min_memory,
        "maxActionMemory": l.max_memory,
        "minActionTimeout": l.min_timeout,
        "maxActionTimeout": l.max_timeout,
        "minActionLogs": l.min_logs,
        "maxActionLogs": l.max_logs,
        "minActionConcurrency": 1,
        "maxActionConcurrency": 1,
        "maxParameterSize": "1 MB",
        "maxActionInstances": 120,
    })))
}

/// Resolves a requested kind: lower-cased and trimmed, `family:default` to the family's
/// default (or its only kind); unknown kinds are refused with the controller's message.
pub fn resolve_kind(table: &RuntimeTable, requested: &str) -> Result<String, ApiError> {
    let kind = requested.trim().to_ascii_lowercase();
    if let Some(family) = kind.strip_suffix(":default") {
        if let Some(d) = table.default_of(family) {
            return Ok(d.to_string());
        }
        if let Some(kinds) = table.families.get(family)
            && let [only] = kinds.as_slice()
        {
            return Ok(only.kind.clone());
        }
    } else if table.is_valid(&kind) {
        return Ok(kind);
    }
    let valid = table
        .all_kinds()
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ");
    Err(ApiError::malformed(format!(
        "The specified runtime '{requested}' is not supported by this platform. Valid values are: {valid}."
    )))
}
