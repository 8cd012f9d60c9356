//! The body of an action `PUT` (openwhisk-api.md §3.2): validation that needs no database
//! ([`check_request`]), sequence component checks ([`check_components`]) and the merge of
//! an update into the stored action ([`merge`]).

use rusqlite::Connection;
use serde::Deserialize;
use serde_json::Value;

use super::entity::check_sizes;
use super::fqn::{self, FIRST_VERSION};
use super::info::resolve_kind;
use crate::error::LocalError;
use crate::http_error::ApiError;
use crate::names;
use crate::state::AppState;
use crate::store::{
    Action, ActionLimits, Exec, KeyValue, actions, kv_dedup, kv_set, now_ms, packages,
};

/// The body of an action `PUT`. `namespace` and `name` are taken from the URL.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionPut {
    pub exec: Option<ExecPut>,
    pub parameters: Option<Vec<KeyValue>>,
    pub annotations: Option<Vec<KeyValue>>,
    pub del_annotations: Option<Vec<String>>,
    pub limits: Option<LimitsPut>,
    pub version: Option<String>,
    pub publish: Option<bool>,
}

/// `exec` as sent.
#[derive(Debug, Deserialize)]
pub struct ExecPut {
    pub kind: String,
    pub code: Option<String>,
    pub image: Option<String>,
    pub main: Option<String>,
    pub components: Option<Vec<String>>,
}

/// Any subset of the limits.
#[derive(Debug, Default, Deserialize)]
pub struct LimitsPut {
    pub timeout: Option<u64>,
    pub memory: Option<u64>,
    pub logs: Option<u64>,
    pub concurrency: Option<u64>,
}

/// A request that passed the checks that need no database.
#[derive(Debug)]
pub struct Checked {
    exec: Option<Exec>,
    parameters: Option<Vec<KeyValue>>,
    annotations: Option<Vec<KeyValue>>,
    del_annotations: Vec<String>,
    limits: LimitsPut,
    version: Option<String>,
    publish: Option<bool>,
    deprecated: Vec<String>,
    sequence_length: usize,
}

/// Validates kinds, code, limits and sizes; resolves `:default` kinds and `_` in sequence
/// components against `ns`.
pub fn check_request(state: &AppState, ns: &str, put: ActionPut) -> Result<Checked, ApiError> {
    let limits = &state.limits;
    let exec = put.exec.map(|e| check_exec(state, ns, e)).transpose()?;
    if let Some(e) = &exec {
        let size = e.code.as_ref().map_or(0, String::len) + e.image.as_ref().map_or(0, String::len);
        if size > limits.max_code {
            return Err(ApiError::too_large("exec", size, limits.max_code));
        }
    }
    check_sizes(
        limits.max_parameters,
        put.parameters.as_ref(),
        put.annotations.as_ref(),
    )?;
    let l = put.limits.unwrap_or_default();
    let range = |what: &str, unit: &str, v: Option<u64>, min: u64, max: u64| match v {
        Some(v) if v < min => Err(ApiError::bad_request(format!(
            "{what} {v} {unit} below allowed threshold of {min} {unit}"
        ))),
        Some(v) if v > max => Err(ApiError::bad_request(format!(
            "{what} {v} {unit} exceeds allowed threshold of {max} {unit}"
        ))),
        _ => Ok(()),
    };
    range(
        "timeout",
        "milliseconds",
        l.timeout,
        limits.min_timeout,
        limits.max_timeout,
    )?;
    range(
        "memory size",
        "MB",
        l.memory,
        limits.min_memory,
        limits.max_memory,
    )?;
    range("log size", "MB", l.logs, limits.min_logs, limits.max_logs)?;
    if let Some(c) = l.concurrency
        && c != 1
    {
        return Err(ApiError::bad_request(format!(
            "concurrency {c} exceeds allowed threshold of 1"
        )));
    }
    let deprecated = state
        .runtimes
        .families
        .values()
        .flatten()
        .filter(|k| k.deprecated)
        .map(|k| k.kind.clone())
        .collect();
    Ok(Checked {
        exec,
        parameters: put.parameters.map(kv_dedup),
        annotations: put.annotations.map(kv_dedup),
        del_annotations: put.del_annotations.unwrap_or_default(),
        limits: l,
        version: put.version,
        publish: put.publish,
        deprecated,
        sequence_length: limits.sequence_length,
    })
}

fn check_exec(state: &AppState, ns: &str, e: ExecPut) -> Result<Exec, ApiError> {
    let kind = e.kind.trim().to_ascii_lowercase();
    match kind.as_str() {
        "sequence" => {
            let components = e
                .components
                .unwrap_or_default()
                .iter()
                .map(|c| {
                    fqn::parse(c, ns)
                        .map(|r| r.fully_qualified())
                        .ok_or_else(|| {
                            ApiError::malformed(format!("'{c}' is not a fully qualified name"))
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Exec {
                kind,
                code: None,
                image: None,
                main: None,
                components: Some(components),
                binary: None,
            })
        }
        "blackbox" => {
            let image = e.image.filter(|i| !i.trim().is_empty()).ok_or_else(|| {
                ApiError::malformed(
                    "'image' must be a string defined in 'exec' for 'blackbox' actions",
                )
            })?;
            let binary = e.code.as_deref().is_some_and(names::is_base64);
            Ok(Exec {
                kind,
                code: e.code,
                image: Some(image),
                main: e.main,
                components: None,
                binary: Some(binary),
            })
        }
        _ => {
            let resolved = resolve_kind(&state.runtimes, &e.kind)?;
            let code = e.code.ok_or_else(|| {
                ApiError::malformed(format!(
                    "'code' must be a string defined in 'exec' for '{resolved}' actions"
                ))
            })?;
            let binary = names::is_base64(&code);
            Ok(Exec {
                kind: resolved,
                code: Some(code),
                image: None,
                main: e.main,
                components: None,
                binary: Some(binary),
            })
        }
    }
}

/// For a sequence: 1..=limit components, none of them the sequence itself, each an existing
/// action (through packages and bindings).
pub fn check_components(conn: &Connection, checked: &Checked, fqn: &str) -> Result<(), ApiError> {
    let Some(components) = checked.exec.as_ref().and_then(|e| e.components.as_ref()) else {
        return Ok(());
    };
    if components.is_empty() {
        return Err(ApiError::bad_request(
            "No component specified for the sequence.",
        ));
    }
    if components.len() > checked.sequence_length {
        return Err(ApiError::bad_request("Too many actions in the sequence."));
    }
    for c in components {
        if c == fqn {
            return Err(ApiError::bad_request("Sequence may not refer to itself."));
        }
        let own = fqn
            .split('/')
            .nth(1)
            .is_some_and(|ns| c.split('/').nth(1) == Some(ns));
        let exists = component_exists(conn, c, !own).map_err(ApiError::from)?;
        if !exists {
            return Err(ApiError::bad_request("Sequence component does not exist."));
        }
    }
    Ok(())
}

/// Whether the component `fqn` exists; `foreign` components (another namespace's) must sit
/// in a published package, as OpenWhisk shares nothing else.
fn component_exists(conn: &Connection, fqn: &str, foreign: bool) -> Result<bool, LocalError> {
    // Components were normalised by check_exec, so this parse cannot fail.
    let Some(r) = fqn::parse(fqn, "_") else {
        return Ok(false);
    };
    let (ns, pkg) = match &r.package {
        None if foreign => return Ok(false),
        None => (r.namespace.clone(), String::new()),
        Some(p) => match packages::resolve(conn, &r.namespace, p)? {
            Some(res) if !foreign || (res.requested.publish && res.requested.binding.is_none()) => {
                (res.target.namespace, res.target.name)
            }
            _ => return Ok(false),
        },
    };
    Ok(actions::get(conn, &ns, &pkg, &r.name, false)?.is_some())
}

/// The stored action after this request: a new one, or `old` updated with the controller's
/// merge rules (exec/limits/publish if given, parameters replaced, annotations merged).
pub fn merge(
    c: Checked,
    old: Option<Action>,
    namespace: String,
    name: String,
) -> Result<Action, ApiError> {
    let now = now_ms();
    let limits_with = |base: ActionLimits| ActionLimits {
        timeout: c.limits.timeout.unwrap_or(base.timeout),
        memory: c.limits.memory.unwrap_or(base.memory),
        logs: c.limits.logs.unwrap_or(base.logs),
        concurrency: c.limits.concurrency.unwrap_or(base.concurrency),
    };
    let mut action = match old {
        None => {
            let exec = c
                .exec
                .ok_or_else(|| ApiError::bad_request("exec undefined"))?;
            let parameters = match &exec.components {
                Some(components) => sequence_params(components),
                None => c.parameters.unwrap_or_default(),
            };
            let mut annotations = c.annotations.unwrap_or_default();
            if !annotations.iter().any(|a| a.key == "provide-api-key") {
                annotations.push(KeyValue::new("provide-api-key", Value::Bool(false)));
            }
            Action {
                namespace,
                name,
                version: c.version.unwrap_or_else(|| FIRST_VERSION.to_string()),
                publish: c.publish.unwrap_or(false),
                exec,
                parameters,
                annotations,
                limits: limits_with(ActionLimits::default()),
                updated: now,
            }
        }
        Some(old) => {
            if c.deprecated.contains(&old.exec.kind) {
                return Err(ApiError::bad_request(format!(
                    "The '{}' runtime is no longer supported. You may read and delete but not update or invoke this action.",
                    old.exec.kind
                )));
            }
            let was_sequence = old.exec.is_sequence();
            let parameters = match (&c.exec, c.parameters) {
                (Some(e), _) if e.is_sequence() => {
                    sequence_params(e.components.as_deref().unwrap_or_default())
                }
                (Some(_), Some(p)) => p,
                (Some(_), None) if was_sequence => Vec::new(),
                (None, _) if was_sequence => old.parameters.clone(),
                (_, Some(p)) => p,
                (_, None) => old.parameters.clone(),
            };
            let mut annotations: Vec<KeyValue> = old
                .annotations
                .into_iter()
                .filter(|a| !c.del_annotations.contains(&a.key))
                .collect();
            for a in c.annotations.unwrap_or_default() {
                kv_set_kv(&mut annotations, a);
            }
            Action {
                namespace,
                name,
                version: c.version.unwrap_or_else(|| fqn::bump(&old.version)),
                publish: c.publish.unwrap_or(old.publish),
                exec: c.exec.unwrap_or(old.exec),
                parameters,
                annotations,
                limits: limits_with(old.limits),
                updated: now,
            }
        }
    };
    kv_set(
        &mut action.annotations,
        "exec",
        Value::String(action.exec.kind.clone()),
    );
    Ok(action)
}

/// Replaces the value of `kv.key` in place (keeping its position), or appends it.
fn kv_set_kv(kvs: &mut Vec<KeyValue>, kv: KeyValue) {
    match kvs.iter_mut().find(|o| o.key == kv.key) {
        Some(slot) => *slot = kv,
        None => kvs.push(kv),
    }
}

fn sequence_params(components: &[String]) -> Vec<KeyValue> {
    vec![KeyValue::new(
        "_actions",
        Value::Array(components.iter().cloned().map(Value::String).collect()),
    )]
}
