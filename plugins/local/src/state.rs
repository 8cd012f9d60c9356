//! What every handler shares: [`AppState`] (the store, the accepted kinds, the limits, the
//! data directory, the runner's warm processes, the activations still running, the data
//! directory's lock when this server owns it) and the [`SystemLimits`] it enforces.
//!
//! This sits at the bottom of the crate, beside [`crate::http_error`] and [`crate::request`]:
//! the entity API ([`crate::api`]) and the run-time API ([`crate::run`]) both build on it, so
//! it may import only the store, the runner and sluice-core, never either of them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use sluice_core::RuntimeTable;

use crate::error::LocalError;
use crate::owner::DataDirLock;
use crate::runner::{Runner, RunnerConfig};
use crate::store::{Activation, Store};

/// Everything a handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// The kinds this server accepts (DigitalOcean's).
    pub runtimes: Arc<RuntimeTable>,
    pub limits: SystemLimits,
    /// The data directory (database, key file, the runner's work folders).
    pub data_dir: Arc<PathBuf>,
    /// `http://127.0.0.1:<port>` once the server is listening (for `__OW_API_HOST`).
    pub api_host: Arc<OnceLock<String>>,
    /// The runner's state (warm workers, …).
    pub runner: Arc<RunnerState>,
    /// Activations started and not yet stored, by id.
    pub running: Arc<RunningActivations>,
    owner: Arc<OnceLock<DataDirLock>>,
    auth_cache: Arc<RwLock<HashMap<String, String>>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .field("data_dir", &self.data_dir)
            .field("api_host", &self.api_host.get())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State over an open store in `data_dir`.
    pub fn new(store: Store, data_dir: PathBuf) -> Self {
        AppState {
            store,
            runtimes: Arc::new(RuntimeTable::builtin()),
            limits: SystemLimits::default(),
            data_dir: Arc::new(data_dir),
            api_host: Arc::new(OnceLock::new()),
            runner: Arc::new(RunnerState::default()),
            running: Arc::new(RunningActivations::default()),
            owner: Arc::new(OnceLock::new()),
            auth_cache: Arc::new(RwLock::new(HashMap::new())),
        }
    }

    /// Takes the data directory's lock (see [`crate::owner`]) for the life of this state;
    /// false when another server owns the directory. Only the owner runs the scheduler.
    pub fn claim_data_dir(&self) -> Result<bool, LocalError> {
        if self.owns_data_dir() {
            return Ok(true);
        }
        match DataDirLock::try_acquire(&self.data_dir)? {
            Some(lock) => Ok(self.owner.set(lock).is_ok()),
            None => Ok(false),
        }
    }

    /// Whether this server holds the data directory's lock.
    pub fn owns_data_dir(&self) -> bool {
        self.owner.get().is_some()
    }

    /// The namespace `credentials` authenticated as before, if any (see [`crate::auth`]).
    pub(crate) fn cached_subject(&self, credentials: &str) -> Option<String> {
        self.auth_cache
            .read()
            .ok()
            .and_then(|c| c.get(credentials).cloned())
    }

    /// Forgets every cached credential of `namespace` (it was deleted).
    pub fn forget_subjects(&self, namespace: &str) {
        if let Ok(mut c) = self.auth_cache.write() {
            c.retain(|_, ns| ns != namespace);
        }
    }

    /// Remembers that `credentials` authenticate as `namespace`.
    pub(crate) fn cache_subject(&self, credentials: String, namespace: String) {
        if let Ok(mut c) = self.auth_cache.write() {
            c.insert(credentials, namespace);
        }
    }
}

/// What the runner keeps for the life of a server: the warm processes, and whether its
/// background tasks (the scheduler) were started.
#[derive(Debug, Default)]
pub struct RunnerState {
    runner: OnceLock<Runner>,
    started: AtomicBool,
}

impl RunnerState {
    /// The runner, caching code under `<data_dir>/runner`.
    pub fn runner(&self, data_dir: &Path) -> &Runner {
        self.runner.get_or_init(|| {
            Runner::new(RunnerConfig::new(data_dir.join("runner")).protecting(data_dir))
        })
    }

    /// True the first time it is called: the caller starts the background tasks.
    pub fn first_start(&self) -> bool {
        !self.started.swap(true, Ordering::SeqCst)
    }
}

/// The activations that started and are not stored yet (a placeholder record each, its
/// status `running`), so that they can be listed and read while they run.
#[derive(Debug, Default)]
pub struct RunningActivations {
    by_id: Mutex<HashMap<String, Activation>>,
}

impl RunningActivations {
    /// Notes that `activation` runs.
    pub fn insert(&self, activation: Activation) {
        if let Ok(mut m) = self.by_id.lock() {
            m.insert(activation.activation_id.clone(), activation);
        }
    }

    /// Notes that the activation `id` ended (and is stored).
    pub fn remove(&self, id: &str) {
        if let Ok(mut m) = self.by_id.lock() {
            m.remove(id);
        }
    }

    /// The running activation `id` of `namespace`.
    pub fn get(&self, namespace: &str, id: &str) -> Option<Activation> {
        let m = self.by_id.lock().ok()?;
        m.get(id).filter(|a| a.namespace == namespace).cloned()
    }

    /// The running activations of `namespace`, newest first.
    pub fn of_namespace(&self, namespace: &str) -> Vec<Activation> {
        let Ok(m) = self.by_id.lock() else {
            return Vec::new();
        };
        let mut out: Vec<Activation> = m
            .values()
            .filter(|a| a.namespace == namespace)
            .cloned()
            .collect();
        out.sort_by(|a, b| {
            b.start
                .cmp(&a.start)
                .then_with(|| a.activation_id.cmp(&b.activation_id))
        });
        out
    }

    /// How many activations run.
    pub fn len(&self) -> usize {
        self.by_id.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Whether none runs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The limits this server enforces. Ranges are DigitalOcean's where they are wider than
/// Apache's (openwhisk-api.md §13.4), so a project valid for DigitalOcean deploys locally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemLimits {
    pub min_timeout: u64,
    pub max_timeout: u64,
    pub min_memory: u64,
    pub max_memory: u64,
    pub min_logs: u64,
    pub max_logs: u64,
    pub max_code: usize,
    pub max_parameters: usize,
    pub sequence_length: usize,
}

impl Default for SystemLimits {
    fn default() -> Self {
        SystemLimits {
            min_timeout: 100,
            max_timeout: 900_000,
            min_memory: 128,
            max_memory: 1024,
            min_logs: 0,
            max_logs: 10,
            max_code: 48 * 1024 * 1024,
            max_parameters: 1024 * 1024,
            sequence_length: 50,
        }
    }
}
