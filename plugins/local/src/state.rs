//! What every handler shares: [`AppState`] (the store, the accepted kinds, the limits, the
//! data directory, the runner's warm processes) and the [`SystemLimits`] it enforces.
//!
//! This sits at the bottom of the crate, beside [`crate::http_error`] and [`crate::request`]:
//! the entity API ([`crate::api`]) and the run-time API ([`crate::run`]) both build on it, so
//! it may import only the store, the runner and sluice-core, never either of them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use sluice_core::RuntimeTable;

use crate::runner::{Runner, RunnerConfig};
use crate::store::Store;

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
            auth_cache: Arc::new(RwLock::new(HashMap::new())),
        }
    }

    /// The namespace `credentials` authenticated as before, if any (see [`crate::auth`]).
    pub(crate) fn cached_subject(&self, credentials: &str) -> Option<String> {
        self.auth_cache
            .read()
            .ok()
            .and_then(|c| c.get(credentials).cloned())
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
        self.runner
            .get_or_init(|| Runner::new(RunnerConfig::new(data_dir.join("runner"))))
    }

    /// True the first time it is called: the caller starts the background tasks.
    pub fn first_start(&self) -> bool {
        !self.started.swap(true, Ordering::SeqCst)
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
