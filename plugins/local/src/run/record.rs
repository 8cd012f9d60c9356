//! Activation records (openwhisk-api.md §3.6): who runs an activation and why
//! ([`RunContext`]), the ids, the annotations every record carries, the record of a code
//! run, and storing a finished record.
//!
//! Every run-time path builds its records here — code runs, sequences, trigger firings — so
//! this sits just above [`crate::run::resolve`] and imports nothing else of [`crate::run`].

use serde_json::Value;

use crate::run::resolve::Resolved;
use crate::runner::{ActivationStatus, RunOutcome, now_ms};
use crate::state::AppState;
use crate::store::{Activation, ActivationResponse, KeyValue};

/// Who runs an activation and why: the invoker's namespace, the ids, and the parent
/// sequence when there is one.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The invoker's namespace (the activation's `namespace` and `subject`).
    pub invoker: String,
    /// This activation's id.
    pub activation_id: String,
    /// The request (transaction) id.
    pub transaction_id: String,
    /// The enclosing sequence's activation id.
    pub cause: Option<String>,
    /// When the request was accepted (epoch ms), for `waitTime`.
    pub accepted_at: u64,
}

impl RunContext {
    /// A top-level activation for `invoker`.
    pub fn new(invoker: &str) -> Self {
        RunContext {
            invoker: invoker.to_string(),
            activation_id: new_activation_id(),
            transaction_id: new_activation_id(),
            cause: None,
            accepted_at: now_ms(),
        }
    }

    /// The context of a component run by the sequence activation `self`.
    pub fn component(&self) -> Self {
        RunContext {
            invoker: self.invoker.clone(),
            activation_id: new_activation_id(),
            transaction_id: self.transaction_id.clone(),
            cause: Some(self.activation_id.clone()),
            accepted_at: now_ms(),
        }
    }
}

fn ms(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The annotations every activation of `resolved` carries: `path`, `binding`, `causedBy`,
/// `kind`, `limits`.
pub fn base_annotations(resolved: &Resolved, ctx: &RunContext, kind: &str) -> Vec<KeyValue> {
    let mut a = vec![KeyValue::new("path", Value::from(resolved.path.clone()))];
    if let Some(b) = &resolved.binding {
        a.push(KeyValue::new("binding", Value::from(b.clone())));
    }
    if ctx.cause.is_some() {
        a.push(KeyValue::new("causedBy", Value::from("sequence")));
    }
    a.push(KeyValue::new("kind", Value::from(kind)));
    a.push(KeyValue::new(
        "limits",
        serde_json::to_value(resolved.action.limits).unwrap_or(Value::Null),
    ));
    a
}

/// The activation record of one run of a code action.
pub fn from_outcome(resolved: &Resolved, ctx: &RunContext, outcome: &RunOutcome) -> Activation {
    let action = &resolved.action;
    let mut annotations = base_annotations(resolved, ctx, &action.exec.kind);
    annotations.push(KeyValue::new("timeout", Value::from(outcome.timed_out)));
    annotations.push(KeyValue::new(
        "waitTime",
        Value::from(outcome.start.saturating_sub(ctx.accepted_at)),
    ));
    if let Some(init) = outcome.init_time {
        annotations.push(KeyValue::new("initTime", Value::from(init)));
    }
    Activation {
        namespace: ctx.invoker.clone(),
        name: action.name.clone(),
        version: action.version.clone(),
        subject: ctx.invoker.clone(),
        publish: false,
        activation_id: ctx.activation_id.clone(),
        start: ms(outcome.start),
        end: Some(ms(outcome.end)),
        duration: Some(ms(outcome.duration())),
        cause: ctx.cause.clone(),
        response: response(outcome.status, outcome.result.clone(), outcome.size),
        logs: outcome.logs.clone(),
        annotations,
    }
}

/// The status of an activation that has started and not ended.
pub const RUNNING: &str = "running";

/// The placeholder record of an activation of `resolved` that has just started: no end, no
/// duration, status [`RUNNING`]. The activations API answers with it until the real record
/// is stored.
pub fn running(resolved: &Resolved, ctx: &RunContext) -> Activation {
    let action = &resolved.action;
    let kind = action.exec.kind.as_str();
    Activation {
        namespace: ctx.invoker.clone(),
        name: action.name.clone(),
        version: action.version.clone(),
        subject: ctx.invoker.clone(),
        publish: false,
        activation_id: ctx.activation_id.clone(),
        start: ms(ctx.accepted_at),
        end: None,
        duration: None,
        cause: ctx.cause.clone(),
        response: ActivationResponse {
            status: RUNNING.to_string(),
            success: false,
            result: Value::Object(serde_json::Map::new()),
            size: None,
        },
        logs: Vec::new(),
        annotations: base_annotations(resolved, ctx, kind),
    }
}

/// `response` of an activation.
pub fn response(
    status: ActivationStatus,
    result: Value,
    size: Option<usize>,
) -> ActivationResponse {
    ActivationResponse {
        status: status.as_str().to_string(),
        success: status == ActivationStatus::Success,
        result,
        size: size.map(|s| s as u64),
    }
}

/// Stores a finished activation; a failure is logged, not answered (the run happened).
pub async fn store(state: &AppState, activation: &Activation) {
    if let Err(e) = state.store.put_activation(activation.clone()).await {
        tracing::error!(error = %e, id = %activation.activation_id, "storing an activation failed");
    }
}

/// A new activation id: 32 lowercase hex characters.
pub fn new_activation_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Epoch milliseconds as the store keeps them.
pub fn now() -> i64 {
    i64::try_from(now_ms()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_point_at_their_sequence() {
        let top = RunContext::new("guest");
        let comp = top.component();
        assert_eq!(comp.cause.as_deref(), Some(top.activation_id.as_str()));
        assert_ne!(comp.activation_id, top.activation_id);
        assert!(top.cause.is_none());
    }

    #[test]
    fn activation_ids_are_32_hex() {
        let id = new_activation_id();
        assert_eq!(id.len(), 32);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }
}
