//! [`Runner`]: picks a warm worker for the action version (or starts one), runs, classifies the
//! result and keeps the worker warm for the next run when it behaved.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::code::{code_digest, materialise};
use super::logs::LogCollector;
use super::worker::{StartError, StartSpec, Wait, Worker};
use super::{
    ActivationStatus, Language, RunOutcome, RunRequest, RunnableAction, RunnerConfig,
    classify_result, now_ms, timeout_message,
};

/// Runs actions in local `node` / `python3` processes. Cheap to share behind an `Arc`; idle
/// processes are killed when the runner is dropped.
#[derive(Debug)]
pub struct Runner {
    config: RunnerConfig,
    idle: Mutex<HashMap<String, Vec<Worker>>>,
    launchers: Mutex<HashMap<Language, PathBuf>>,
}

impl Runner {
    /// A runner caching code under `config.cache_dir`.
    pub fn new(config: RunnerConfig) -> Self {
        Self {
            config,
            idle: Mutex::new(HashMap::new()),
            launchers: Mutex::new(HashMap::new()),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &RunnerConfig {
        &self.config
    }

    /// Whether `kind` can run here.
    pub fn supports(kind: &str) -> bool {
        Language::for_kind(kind).is_some()
    }

    /// Kills every idle process.
    pub fn shutdown(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    /// Runs `action` once. Never fails: every problem becomes the outcome's status and message.
    pub async fn run(&self, action: &RunnableAction, request: RunRequest) -> RunOutcome {
        let Some(lang) = Language::for_kind(&action.kind) else {
            return RunOutcome::failed(
                ActivationStatus::DeveloperError,
                format!(
                    "The runtime '{}' cannot run locally: sluice runs nodejs:* and python:* \
                     functions without containers. Deploy it to an OpenWhisk or DigitalOcean \
                     namespace to run it.",
                    action.kind
                ),
            );
        };
        let start = now_ms();
        let code_dir = {
            let cache = self.config.cache_dir.clone();
            let a = action.clone();
            match tokio::task::spawn_blocking(move || materialise(&cache, lang, &a)).await {
                Ok(Ok(dir)) => dir,
                Ok(Err(e)) => {
                    return RunOutcome::failed(ActivationStatus::DeveloperError, e.to_string());
                }
                Err(e) => return RunOutcome::failed(ActivationStatus::WhiskError, e.to_string()),
            }
        };
        let launcher = match self.launcher(lang) {
            Ok(p) => p,
            Err(e) => return RunOutcome::failed(ActivationStatus::WhiskError, e),
        };
        let static_env = static_env(action, &request);
        let key = pool_key(action, &static_env);
        let mut logs = LogCollector::new(action.logs_mb);
        let timeout = Duration::from_millis(action.timeout_ms.max(1));

        let outcome_base =
            |status, result, logs: LogCollector, init_time, timed_out, size| RunOutcome {
                status,
                result,
                logs: logs.into_lines(),
                start,
                end: now_ms(),
                init_time,
                timed_out,
                size,
            };

        let mut init_time = None;
        let mut worker = match self.take_idle(&key) {
            Some(w) => w,
            None => {
                let spec = StartSpec {
                    program: self.config.program(lang),
                    args: lang.interpreter_args(),
                    launcher: &launcher,
                    code_dir: &code_dir,
                    binary: action.binary,
                    main: action.main.as_deref(),
                    env: &static_env,
                };
                let cold_start = Instant::now();
                let mut w = match Worker::spawn(&spec).await {
                    Ok(w) => w,
                    Err(StartError::Spawn(e)) => {
                        let msg = format!(
                            "The runtime '{}' cannot run locally: could not start '{}': {e}. \
                             Install it, or point {} at it.",
                            action.kind,
                            spec.program.display(),
                            lang.program_env()
                        );
                        return RunOutcome::failed(ActivationStatus::DeveloperError, msg);
                    }
                    Err(StartError::Internal(e)) => {
                        return RunOutcome::failed(ActivationStatus::WhiskError, e);
                    }
                };
                let init = w.init(Instant::now() + timeout, &mut logs).await;
                init_time = Some(cold_start.elapsed().as_millis() as u64);
                match init {
                    Ok(Ok(())) => w,
                    Ok(Err(message)) => {
                        w.kill(&mut logs).await;
                        return outcome_base(
                            ActivationStatus::DeveloperError,
                            serde_json::json!({ "error": message }),
                            logs,
                            init_time,
                            false,
                            None,
                        );
                    }
                    Err(wait) => {
                        let timed_out = matches!(wait, Wait::TimedOut);
                        w.kill(&mut logs).await;
                        let message = if timed_out {
                            format!(
                                "The action exceeded its time limits of {} milliseconds during initialization.",
                                action.timeout_ms
                            )
                        } else {
                            "The action did not initialize and exited unexpectedly.".to_string()
                        };
                        return outcome_base(
                            ActivationStatus::DeveloperError,
                            serde_json::json!({ "error": message }),
                            logs,
                            init_time,
                            timed_out,
                            None,
                        );
                    }
                }
            }
        };

        let deadline_ms = now_ms() + action.timeout_ms;
        let message = run_message(action, &request, deadline_ms);
        let wait = worker
            .run(
                &message,
                Instant::now() + timeout,
                self.config.log_drain,
                &mut logs,
            )
            .await;
        match wait {
            Wait::Line(line) => {
                let (status, result, size) = interpret(&line);
                if worker.is_alive() {
                    self.put_idle(key, worker);
                } else {
                    worker.kill(&mut logs).await;
                }
                outcome_base(status, result, logs, init_time, false, size)
            }
            Wait::TimedOut => {
                worker.kill(&mut logs).await;
                outcome_base(
                    ActivationStatus::DeveloperError,
                    serde_json::json!({ "error": timeout_message(action.timeout_ms) }),
                    logs,
                    init_time,
                    true,
                    None,
                )
            }
            Wait::Died => {
                worker.kill(&mut logs).await;
                outcome_base(
                    ActivationStatus::DeveloperError,
                    serde_json::json!({
                        "error": "The action did not produce a valid response and exited unexpectedly."
                    }),
                    logs,
                    init_time,
                    false,
                    None,
                )
            }
        }
    }

    fn take_idle(&self, key: &str) -> Option<Worker> {
        let mut idle = self.idle.lock().ok()?;
        let list = idle.get_mut(key)?;
        while let Some(mut w) = list.pop() {
            if w.is_alive() {
                return Some(w);
            }
        }
        None
    }

    fn put_idle(&self, key: String, worker: Worker) {
        let Ok(mut idle) = self.idle.lock() else {
            return;
        };
        let total: usize = idle.values().map(Vec::len).sum();
        if total >= self.config.max_idle_total {
            // Make room by dropping (and so killing) workers of some other action.
            if let Some(other) = idle.keys().find(|k| **k != key).cloned() {
                idle.remove(&other);
            } else {
                return;
            }
        }
        let list = idle.entry(key).or_default();
        if list.len() < self.config.max_idle_per_action {
            list.push(worker);
        }
    }

    /// The launcher script for `lang`, written once into the cache directory.
    fn launcher(&self, lang: Language) -> Result<PathBuf, String> {
        let mut map = self
            .launchers
            .lock()
            .map_err(|_| "runner state poisoned".to_string())?;
        if let Some(p) = map.get(&lang) {
            return Ok(p.clone());
        }
        let (name, text) = lang.launcher();
        let digest = hex_digest(text.as_bytes());
        let dir = self.config.cache_dir.join("launchers").join(&digest[..16]);
        let path = dir.join(name);
        if !path.is_file() {
            std::fs::create_dir_all(&dir)
                .and_then(|()| {
                    let tmp = dir.join(format!(".{name}.{}", uuid::Uuid::new_v4().simple()));
                    std::fs::write(&tmp, text)?;
                    std::fs::rename(&tmp, &path)
                })
                .map_err(|e| format!("cannot write the launcher {}: {e}", path.display()))?;
        }
        map.insert(lang, path.clone());
        Ok(path)
    }
}

/// The variables a process gets at start: init parameters and the `__OW_*` values that stay
/// the same for the action version.
fn static_env(action: &RunnableAction, request: &RunRequest) -> BTreeMap<String, String> {
    let mut env = request.env.clone();
    env.insert("__OW_NAMESPACE".into(), action.namespace.clone());
    env.insert("__OW_ACTION_NAME".into(), action.qualified_name());
    env.insert("__OW_ACTION_VERSION".into(), action.version.clone());
    if let Some(h) = &request.api_host {
        env.insert("__OW_API_HOST".into(), h.clone());
    }
    if let Some(k) = &request.api_key {
        env.insert("__OW_API_KEY".into(), k.clone());
    }
    env
}

fn pool_key(action: &RunnableAction, env: &BTreeMap<String, String>) -> String {
    let mut h = Sha256::new();
    h.update(code_digest(action).as_bytes());
    for (k, v) in env {
        h.update(k.len().to_le_bytes());
        h.update(k.as_bytes());
        h.update(v.len().to_le_bytes());
        h.update(v.as_bytes());
    }
    format!("{:x}", h.finalize())
}

fn hex_digest(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

fn run_message(action: &RunnableAction, request: &RunRequest, deadline_ms: u64) -> String {
    let mut msg = serde_json::Map::new();
    msg.insert("value".into(), request.args.clone());
    msg.insert("namespace".into(), action.namespace.clone().into());
    msg.insert("action_name".into(), action.qualified_name().into());
    msg.insert("action_version".into(), action.version.clone().into());
    msg.insert("activation_id".into(), request.activation_id.clone().into());
    msg.insert(
        "transaction_id".into(),
        request.transaction_id.clone().into(),
    );
    msg.insert("deadline".into(), deadline_ms.to_string().into());
    if let Some(h) = &request.api_host {
        msg.insert("api_host".into(), h.clone().into());
    }
    if let Some(k) = &request.api_key {
        msg.insert("api_key".into(), k.clone().into());
    }
    serde_json::Value::Object(msg).to_string()
}

const OK_PREFIX: &str = "{\"ok\":true,\"result\":";

/// Turns the launcher's reply line into status, result and raw result size.
fn interpret(line: &str) -> (ActivationStatus, serde_json::Value, Option<usize>) {
    if let Some(raw) = line
        .strip_prefix(OK_PREFIX)
        .and_then(|rest| rest.strip_suffix('}'))
    {
        return match serde_json::from_str(raw) {
            Ok(result) => {
                let (status, result) = classify_result(result, raw.len());
                (status, result, Some(raw.len()))
            }
            Err(_) => (
                ActivationStatus::DeveloperError,
                serde_json::json!({
                    "error": "The action did not produce a valid JSON or JSON Array response."
                }),
                None,
            ),
        };
    }
    let reply: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
    let message = reply
        .get("error")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("The action did not produce a valid response.")
        .to_string();
    (
        ActivationStatus::DeveloperError,
        serde_json::json!({ "error": message }),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replies_are_interpreted() {
        let (st, r, size) = interpret(r#"{"ok":true,"result":{"a":1}}"#);
        assert_eq!(
            (st, r, size),
            (ActivationStatus::Success, json!({"a":1}), Some(7))
        );
        let (st, r, _) = interpret(r#"{"ok":true,"result":{"error":"x"}}"#);
        assert_eq!(
            (st, r),
            (ActivationStatus::ApplicationError, json!({"error":"x"}))
        );
        let (st, r, _) =
            interpret(r#"{"ok":false,"error":"The action did not return a dictionary."}"#);
        assert_eq!(st, ActivationStatus::DeveloperError);
        assert_eq!(
            r,
            json!({"error":"The action did not return a dictionary."})
        );
    }
}
