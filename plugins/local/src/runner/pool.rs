//! [`Runner`]: admits a run through the per-action and global caps (tokio's semaphores queue
//! waiters first come, first served), picks a warm worker for the action's code (or starts
//! one, evicting the oldest idle worker of another action when the pool is full), runs,
//! classifies the result and keeps the worker warm for the next run when it behaved and its
//! code is still the action's current code.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, Once, Weak};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::code::{CodeError, code_digest, materialise};
use super::idle::IdleWorkers;
use super::launchers::ensure_launcher;
use super::logs::LogCollector;
use super::worker::{StartError, StartSpec, Wait, Worker};
use super::{
    ActivationStatus, Language, RunOutcome, RunRequest, RunnableAction, RunnerConfig,
    classify_result, now_ms, timeout_message,
};

/// Runs actions in local processes. Cheap to share behind an `Arc`; idle processes are
/// killed when the runner is dropped.
#[derive(Debug)]
pub struct Runner {
    config: RunnerConfig,
    shared: Arc<Shared>,
    reaper: Once,
}

/// What the runner's tasks share: the idle workers, the caps, and each action's current code.
#[derive(Debug)]
struct Shared {
    idle: Mutex<IdleWorkers>,
    global: Arc<Semaphore>,
    per_action: Mutex<HashMap<String, Arc<Semaphore>>>,
    current_code: Mutex<HashMap<String, String>>,
}

/// The two permits a run holds while it runs.
#[derive(Debug)]
struct Admission {
    _action: OwnedSemaphorePermit,
    _global: OwnedSemaphorePermit,
}

impl Runner {
    /// A runner caching code under `config.cache_dir`.
    pub fn new(config: RunnerConfig) -> Self {
        let global = Arc::new(Semaphore::new(config.settings.max_workers.max(1)));
        Self {
            config,
            shared: Arc::new(Shared {
                idle: Mutex::new(IdleWorkers::default()),
                global,
                per_action: Mutex::new(HashMap::new()),
                current_code: Mutex::new(HashMap::new()),
            }),
            reaper: Once::new(),
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

    /// How many warm workers wait for a run.
    pub fn idle_workers(&self) -> usize {
        self.shared.idle.lock().map_or(0, |i| i.len())
    }

    /// Kills every idle process.
    pub fn shutdown(&self) {
        let gone = self.shared.idle.lock().map(|mut i| i.clear());
        drop(gone);
    }

    /// Runs `action` once. Never fails: every problem becomes the outcome's status and message.
    /// Waits (in arrival order) while the action or the whole pool is at its cap; the run's
    /// `start` and time limit begin once admitted.
    pub async fn run(&self, action: &RunnableAction, request: RunRequest) -> RunOutcome {
        let Some(lang) = Language::for_kind(&action.kind) else {
            return RunOutcome::failed(
                ActivationStatus::DeveloperError,
                format!(
                    "The runtime '{}' cannot run locally: sluice runs nodejs:*, python:* and \
                     go:* functions without containers. Deploy it to an OpenWhisk or \
                     DigitalOcean namespace to run it.",
                    action.kind
                ),
            );
        };
        self.start_reaper();
        let admission = match self.admit(&action.qualified_name()).await {
            Ok(a) => a,
            Err(e) => return RunOutcome::failed(ActivationStatus::WhiskError, e),
        };
        let outcome = self.run_admitted(lang, action, request).await;
        drop(admission);
        outcome
    }

    async fn admit(&self, action: &str) -> Result<Admission, String> {
        let per_action = {
            let mut map = self
                .shared
                .per_action
                .lock()
                .map_err(|_| "runner state poisoned".to_string())?;
            map.entry(action.to_string())
                .or_insert_with(|| {
                    Arc::new(Semaphore::new(self.config.settings.max_per_action.max(1)))
                })
                .clone()
        };
        let closed = |_| "the runner is shutting down".to_string();
        // The action's own cap first, so a run waiting for it holds no global permit.
        let action_permit = per_action.acquire_owned().await.map_err(closed)?;
        let global_permit = self
            .shared
            .global
            .clone()
            .acquire_owned()
            .await
            .map_err(closed)?;
        Ok(Admission {
            _action: action_permit,
            _global: global_permit,
        })
    }

    /// Stops idle workers after the idle period, on a task that ends with the runner.
    fn start_reaper(&self) {
        self.reaper.call_once(|| {
            let ttl = self.config.settings.idle_ttl;
            let tick = (ttl / 4).clamp(Duration::from_millis(200), Duration::from_secs(30));
            let shared: Weak<Shared> = Arc::downgrade(&self.shared);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(tick).await;
                    let Some(shared) = shared.upgrade() else {
                        return;
                    };
                    let expired = shared.idle.lock().map(|mut i| i.expire(ttl));
                    drop(expired);
                }
            });
        });
    }

    async fn run_admitted(
        &self,
        lang: Language,
        action: &RunnableAction,
        request: RunRequest,
    ) -> RunOutcome {
        let start = now_ms();
        let prepared = {
            let cache = self.config.cache_dir.clone();
            let go = self.config.go.clone();
            let a = action.clone();
            tokio::task::spawn_blocking(move || {
                let dir = materialise(&cache, lang, &a, &go)?;
                let launcher = ensure_launcher(&cache, lang, &go)?;
                Ok::<_, CodeError>((dir, launcher))
            })
            .await
        };
        let (code_dir, launcher) = match prepared {
            Ok(Ok(paths)) => paths,
            Ok(Err(e)) => {
                return RunOutcome::failed(ActivationStatus::DeveloperError, e.to_string());
            }
            Err(e) => return RunOutcome::failed(ActivationStatus::WhiskError, e.to_string()),
        };
        let digest = code_digest(action);
        let qualified = action.qualified_name();
        self.note_current_code(&qualified, &digest);
        let static_env = static_env(action, &request);
        let key = pool_key(&digest, &static_env);
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
        let idle = self.shared.idle.lock().ok().and_then(|mut i| i.take(&key));
        let mut worker = match idle {
            Some(w) => w,
            None => {
                self.make_room(&key);
                let (program, launcher_arg) = match lang {
                    Language::Go => (launcher.as_path(), None),
                    _ => (
                        self.config.program(lang).as_path(),
                        Some(launcher.as_path()),
                    ),
                };
                let spec = StartSpec {
                    program,
                    args: lang.interpreter_args(),
                    launcher: launcher_arg,
                    code_dir: &code_dir,
                    binary: action.binary,
                    main: action.main.as_deref(),
                    env: &static_env,
                    protected: self.config.protected_dir.as_deref(),
                    memory_mb: action.memory_mb,
                };
                let cold_start = Instant::now();
                let mut w = match Worker::spawn(&spec).await {
                    Ok(w) => w,
                    Err(StartError::Spawn(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                        let msg = format!(
                            "The runtime '{}' cannot run locally: could not start '{}': {e}. \
                             Install it, or point {} at it.",
                            action.kind,
                            spec.program.display(),
                            lang.program_env()
                        );
                        return RunOutcome::failed(ActivationStatus::DeveloperError, msg);
                    }
                    Err(StartError::Spawn(e)) => {
                        let msg = format!(
                            "could not start the worker for '{}' ({}): {e}",
                            action.kind,
                            spec.program.display()
                        );
                        return RunOutcome::failed(ActivationStatus::WhiskError, msg);
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
                    self.put_idle(worker, key, qualified, digest);
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

    /// Records `digest` as the action's current code and retires idle workers of older code.
    fn note_current_code(&self, action: &str, digest: &str) {
        let changed = self.shared.current_code.lock().is_ok_and(|mut map| {
            map.insert(action.to_string(), digest.to_string())
                .is_some_and(|old| old != digest)
        });
        if changed {
            let retired = self
                .shared
                .idle
                .lock()
                .map(|mut i| i.retire(action, digest));
            drop(retired);
        }
    }

    /// Before a cold start: when the running and idle workers fill the pool, the oldest idle
    /// worker of another key makes room.
    fn make_room(&self, key: &str) {
        let busy = self.config.settings.max_workers - self.shared.global.available_permits();
        let evicted = self.shared.idle.lock().ok().and_then(|mut idle| {
            (busy + idle.len() > self.config.settings.max_workers)
                .then(|| idle.evict_other(key))
                .flatten()
        });
        drop(evicted);
    }

    fn put_idle(&self, worker: Worker, key: String, action: String, digest: String) {
        let current = self
            .shared
            .current_code
            .lock()
            .ok()
            .and_then(|m| m.get(&action).cloned());
        if current.as_deref() != Some(digest.as_str()) {
            // Redeployed while this run ran: the worker's code is stale.
            drop(worker);
            return;
        }
        let settings = self.config.settings;
        let dropped = self.shared.idle.lock().map(|mut idle| {
            idle.put(
                worker,
                key,
                action,
                digest,
                settings.max_per_action,
                settings.max_workers,
            )
        });
        drop(dropped);
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.shutdown();
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

fn pool_key(digest: &str, env: &BTreeMap<String, String>) -> String {
    let mut h = Sha256::new();
    h.update(digest.as_bytes());
    for (k, v) in env {
        h.update(k.len().to_le_bytes());
        h.update(k.as_bytes());
        h.update(v.len().to_le_bytes());
        h.update(v.as_bytes());
    }
    format!("{:x}", h.finalize())
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
