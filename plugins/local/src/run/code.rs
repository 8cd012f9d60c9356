//! One run of a code action: the request the runner ([`crate::runner`]) gets (arguments,
//! environment, the caller's key when the action asks for it) and the activation record of
//! its outcome. The catalog's built-in actions ([`crate::catalog::builtin`]) run in-process
//! here instead. Storing the record is the caller's ([`crate::run::invoke::execute`], or the
//! sequence that ran it).

use serde_json::Value;

use crate::catalog;
use crate::run::record::{self, RunContext};
use crate::run::resolve::Resolved;
use crate::runner::params;
use crate::runner::{RunOutcome, RunRequest, RunnableAction, now_ms};
use crate::state::AppState;
use crate::store::{Action, Activation, kv_get, namespaces};

/// One run of a code action through the runner.
pub async fn run(
    state: &AppState,
    resolved: &Resolved,
    body: Value,
    ctx: &RunContext,
) -> Activation {
    let action = &resolved.action;
    let (args, env) = params::split(&resolved.merged_params(), &body);
    if let Some(which) = catalog::builtin(action) {
        return run_builtin(state, resolved, which, args, ctx).await;
    }
    let api_key = if provides_api_key(action) {
        namespace_auth(state, &ctx.invoker).await
    } else {
        None
    };
    let runnable = RunnableAction {
        namespace: action.root_namespace().to_string(),
        package: action.package().map(str::to_string),
        name: action.name.clone(),
        version: action.version.clone(),
        kind: action.exec.kind.clone(),
        code: action.exec.code.clone().unwrap_or_default(),
        binary: action.exec.binary.unwrap_or(false),
        main: action.exec.main.clone(),
        timeout_ms: action.limits.timeout,
        logs_mb: action.limits.logs,
        memory_mb: action.limits.memory,
    };
    let request = RunRequest {
        args,
        env,
        activation_id: ctx.activation_id.clone(),
        transaction_id: ctx.transaction_id.clone(),
        api_host: state.api_host.get().cloned(),
        api_key,
    };
    let runner = state.runner.runner(&state.data_dir);
    let outcome = runner.run(&runnable, request).await;
    record::from_outcome(resolved, ctx, &outcome)
}

/// `provide-api-key` absent or truthy means the action sees the caller's key.
fn provides_api_key(action: &Action) -> bool {
    match kv_get(&action.annotations, "provide-api-key") {
        None => true,
        Some(v) => v.as_bool().unwrap_or(true),
    }
}

async fn namespace_auth(state: &AppState, namespace: &str) -> Option<String> {
    let ns = namespace.to_string();
    state
        .store
        .call(move |c| namespaces::get(c, &ns))
        .await
        .ok()
        .flatten()
        .map(|n| n.auth())
}

/// A catalog built-in run in-process, recorded like a code run.
async fn run_builtin(
    state: &AppState,
    resolved: &Resolved,
    which: catalog::Builtin,
    args: Value,
    ctx: &RunContext,
) -> Activation {
    let start = now_ms();
    let fields = match args {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    let outcome = catalog::run_builtin(state, which, fields, &ctx.invoker).await;
    let size = outcome.result.to_string().len();
    let run = RunOutcome {
        status: outcome.status,
        result: outcome.result,
        logs: Vec::new(),
        start,
        end: now_ms(),
        init_time: None,
        timed_out: false,
        size: Some(size),
    };
    record::from_outcome(resolved, ctx, &run)
}
