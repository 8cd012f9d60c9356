//! The crate's one error type.

use std::path::PathBuf;

/// What can go wrong in the local namespace outside a single HTTP request.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// A `SLUICE_RUNNER_*` variable is malformed; the server does not start.
    #[error(transparent)]
    RunnerSetting(#[from] crate::runner::SettingError),
    /// The SQLite database could not be opened, migrated, read or written.
    #[error("local namespace database {}: {source}", path.display())]
    Database {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// A query failed (the path is known to the store, not to the query).
    #[error("local namespace database: {0}")]
    Sql(#[from] rusqlite::Error),
    /// A stored JSON column could not be read back (the database was edited by hand?).
    #[error("local namespace database holds malformed JSON in {what}: {source}")]
    StoredJson {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// The database was written by a newer sluice.
    #[error(
        "local namespace database {} has schema version {found}, newer than this sluice understands ({supported}); upgrade sluice or use another --data-dir",
        path.display()
    )]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    /// A file or directory of the data directory could not be created or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// No data directory could be derived from the environment.
    #[error(
        "cannot find a data directory for the local namespace: set SLUICE_LOCAL_DIR, XDG_DATA_HOME or HOME, or pass --data-dir"
    )]
    NoDataDir,
    /// The server could not bind or serve.
    #[error("local namespace server on {addr}: {source}")]
    Serve {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// Another process owns the data directory (a daemon or `sluice serve`).
    #[error(
        "the local namespace in {} is already served{}{}",
        data_dir.display(),
        api_host.as_deref().map(|h| format!(" at {h}")).unwrap_or_default(),
        pid.map(|p| format!(" by process {p}")).unwrap_or_default()
    )]
    AlreadyRunning {
        data_dir: PathBuf,
        api_host: Option<String>,
        pid: Option<u32>,
    },
    /// The background server did not come up.
    #[error("the local namespace server for {} did not start: {detail} (log: {})", data_dir.display(), log.display())]
    DaemonStart {
        data_dir: PathBuf,
        log: PathBuf,
        detail: String,
    },
    /// The background server answered a control request with an error.
    #[error("the local namespace server: {0}")]
    Daemon(String),
    /// A blocking database task panicked or was cancelled.
    #[error("local namespace database task failed: {0}")]
    Task(String),
}

impl From<LocalError> for sluice_core::Error {
    fn from(e: LocalError) -> Self {
        match e {
            LocalError::Io { path, source } => sluice_core::Error::io(path, source),
            other => sluice_core::Error::Deploy {
                message: other.to_string(),
                context: Some("local namespace".to_string()),
            },
        }
    }
}
