//! Sequences (openwhisk-api.md §8): components run strictly one after another, each as its
//! own activation caused by the sequence; the output of one (object or array, else `{}`) is
//! the input of the next; the first non-success stops the sequence and becomes its response.
//! Nested sequences run inline with their own activation.
//!
//! Components run through [`crate::run::code`] directly (not through invoke), so invoke can
//! call this module without this module calling invoke back.

use serde_json::{Value, json};

use crate::run::code;
use crate::run::record::{self, RunContext, base_annotations, response};
use crate::run::resolve::{Resolved, resolve_fqn};
use crate::runner::{ActivationStatus, now_ms};
use crate::state::AppState;
use crate::store::{Activation, KeyValue};

/// Application error for a component that cannot be found.
pub const MISSING_COMPONENT: &str = "Sequence component does not exist.";
/// Application error when more atomic actions would run than the sequence limit allows.
pub const TOO_MANY: &str = "Too many actions in the sequence.";

/// Runs the sequence `resolved` with `body` as the first component's input.
pub async fn run(
    state: &AppState,
    resolved: &Resolved,
    body: Value,
    ctx: RunContext,
) -> Activation {
    let mut budget = state.limits.sequence_length;
    run_nested(state, resolved, body, ctx, &mut budget).await
}

async fn run_nested(
    state: &AppState,
    resolved: &Resolved,
    body: Value,
    ctx: RunContext,
    budget: &mut usize,
) -> Activation {
    let start = now_ms();
    let components = resolved.action.exec.components.clone().unwrap_or_default();
    let mut input = body;
    let mut ids: Vec<String> = Vec::new();
    let mut duration: i64 = 0;
    let mut last = response(ActivationStatus::Success, json!({}), None);
    for fqn in &components {
        let component = match resolve_fqn(state, fqn).await {
            Ok(Some(c)) => c,
            Ok(None) => {
                last = response(
                    ActivationStatus::ApplicationError,
                    json!({ "error": MISSING_COMPONENT }),
                    None,
                );
                break;
            }
            Err(e) => {
                tracing::error!(error = %e, "resolving a sequence component failed");
                last = response(
                    ActivationStatus::WhiskError,
                    json!({ "error": "Sequence failed." }),
                    None,
                );
                break;
            }
        };
        let child_ctx = ctx.component();
        let activation = if component.action.exec.is_sequence() {
            Box::pin(run_nested(state, &component, input, child_ctx, budget)).await
        } else {
            if *budget == 0 {
                last = response(
                    ActivationStatus::ApplicationError,
                    json!({ "error": TOO_MANY }),
                    None,
                );
                break;
            }
            *budget -= 1;
            let activation = code::run(state, &component, input, &child_ctx).await;
            record::store(state, &activation).await;
            activation
        };
        if component.action.exec.is_sequence() {
            // Nested sequences are stored here, after their components.
            if let Err(e) = state.store.put_activation(activation.clone()).await {
                tracing::error!(error = %e, "storing a nested sequence activation failed");
            }
        }
        ids.push(activation.activation_id.clone());
        duration += activation.duration.unwrap_or(0);
        last = activation.response.clone();
        if !last.success {
            break;
        }
        input = match &last.result {
            v @ (Value::Object(_) | Value::Array(_)) => v.clone(),
            _ => json!({}),
        };
    }
    let end = now_ms();
    let mut annotations = vec![];
    if ctx.cause.is_none() {
        annotations.push(KeyValue::new("topmost", Value::from(true)));
    }
    annotations.extend(base_annotations(resolved, &ctx, "sequence"));
    annotations.push(KeyValue::new(
        "waitTime",
        Value::from(start.saturating_sub(ctx.accepted_at)),
    ));
    let to_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    Activation {
        namespace: ctx.invoker.clone(),
        name: resolved.action.name.clone(),
        version: resolved.action.version.clone(),
        subject: ctx.invoker.clone(),
        publish: false,
        activation_id: ctx.activation_id.clone(),
        start: to_i64(start),
        end: Some(to_i64(end)),
        duration: Some(duration),
        cause: ctx.cause.clone(),
        response: last,
        logs: ids,
        annotations,
    }
}
