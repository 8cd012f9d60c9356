//! The SQLite store: one database file per data directory holding namespaces and their keys,
//! actions (with code), packages and bindings, triggers, rules, activations and DigitalOcean
//! scheduled triggers.
//!
//! Why it is built this way:
//! - Every write runs in an `IMMEDIATE` transaction, the database is in WAL mode and every
//!   connection waits (busy timeout) instead of failing, so two sluice processes (a `sluice
//!   serve` and a `sluice deploy`) can share one data directory safely.
//! - The schema is versioned with `PRAGMA user_version`; [`migrate`] brings any older file
//!   forward and refuses a newer one.
//! - SQLite calls block, so async callers go through [`Store::call`], which runs the closure
//!   on tokio's blocking pool with a connection from a small pool.
//! - Entities are stored as typed columns plus JSON columns for the key/value arrays; the
//!   functions in the submodules take a `&Connection` so they compose inside one transaction.

pub mod actions;
pub mod activations;
pub mod do_triggers;
pub mod feeds;
pub mod namespaces;
pub mod packages;
pub mod routes;
pub mod rules;
pub mod triggers;
mod types;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use types::*;

use crate::LocalError;

/// The schema version this sluice writes.
pub const SCHEMA_VERSION: i64 = 2;

/// The database file name inside the data directory.
pub const DB_FILE: &str = "local.db";

/// Connections kept open for reuse.
const POOL_SIZE: usize = 4;

/// A handle on the database. Cheap to clone; every clone shares the connection pool.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    pool: Mutex<Vec<Connection>>,
    /// Writers of this process queue here (fair, async) rather than spinning on SQLite's
    /// busy handler; other processes are still kept out by the database lock.
    write_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir`, migrating it to the current
    /// schema. The directory is created with mode 0700 and the file with 0600 on Unix, as it
    /// holds auth keys.
    pub fn open(data_dir: &Path) -> Result<Store, LocalError> {
        create_private_dir(data_dir)?;
        let path = data_dir.join(DB_FILE);
        let conn = open_connection(&path)?;
        restrict_file(&path)?;
        migrate(&conn, &path)?;
        Ok(Store {
            inner: Arc::new(Inner {
                path,
                pool: Mutex::new(vec![conn]),
                write_lock: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` with a pooled connection on the current thread (for synchronous callers).
    pub fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, LocalError>,
    ) -> Result<T, LocalError> {
        let mut conn = self.checkout()?;
        let result = f(&mut conn);
        self.checkin(conn);
        result
    }

    /// Runs `f` with a pooled connection on tokio's blocking pool.
    pub async fn call<T, F>(&self, f: F) -> Result<T, LocalError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, LocalError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.with(f))
            .await
            .map_err(|e| LocalError::Task(e.to_string()))?
    }

    /// Runs `f` inside an `IMMEDIATE` transaction (committed when `f` succeeds) on tokio's
    /// blocking pool.
    pub async fn write<T, F>(&self, f: F) -> Result<T, LocalError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, LocalError> + Send + 'static,
    {
        let _turn = self.inner.write_lock.lock().await;
        self.call(move |conn| write_tx(conn, f)).await
    }

    fn checkout(&self) -> Result<Connection, LocalError> {
        let pooled = self
            .inner
            .pool
            .lock()
            .map_err(|_| LocalError::Task("connection pool poisoned".into()))?
            .pop();
        match pooled {
            Some(c) => Ok(c),
            None => open_connection(&self.inner.path),
        }
    }

    fn checkin(&self, conn: Connection) {
        if let Ok(mut pool) = self.inner.pool.lock()
            && pool.len() < POOL_SIZE
        {
            pool.push(conn);
        }
    }

    // ---- typed entry points used by the runner and the API -------------------------------

    /// The action `name` in `package` (or top level) of `namespace`, with its code.
    pub async fn get_action(
        &self,
        namespace: &str,
        package: Option<&str>,
        name: &str,
    ) -> Result<Option<Action>, LocalError> {
        let (ns, pkg, name) = owned3(namespace, package.unwrap_or(""), name);
        self.call(move |c| actions::get(c, &ns, &pkg, &name, true))
            .await
    }

    /// The package (or binding) `name` of `namespace`.
    pub async fn get_package(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Package>, LocalError> {
        let (ns, name) = (namespace.to_string(), name.to_string());
        self.call(move |c| packages::get(c, &ns, &name)).await
    }

    /// The package with its binding followed (`None` if it, or the bound package, is gone).
    pub async fn resolve_package(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<ResolvedPackage>, LocalError> {
        let (ns, name) = (namespace.to_string(), name.to_string());
        self.call(move |c| packages::resolve(c, &ns, &name)).await
    }

    /// The trigger `name` of `namespace`, with its rules.
    pub async fn get_trigger(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Trigger>, LocalError> {
        let (ns, name) = (namespace.to_string(), name.to_string());
        self.call(move |c| triggers::get(c, &ns, &name)).await
    }

    /// Inserts or replaces an activation record.
    pub async fn put_activation(&self, activation: Activation) -> Result<(), LocalError> {
        self.write(move |tx| activations::put(tx, &activation))
            .await
    }

    /// The activation `id` of `namespace`.
    pub async fn get_activation(
        &self,
        namespace: &str,
        id: &str,
    ) -> Result<Option<Activation>, LocalError> {
        let (ns, id) = (namespace.to_string(), id.to_string());
        self.call(move |c| activations::get(c, &ns, &id)).await
    }

    /// Activations of `namespace`, newest `start` first.
    pub async fn list_activations(
        &self,
        namespace: &str,
        query: ActivationQuery,
    ) -> Result<Vec<Activation>, LocalError> {
        let ns = namespace.to_string();
        self.call(move |c| activations::list(c, &ns, &query)).await
    }

    /// How many activations of `namespace` match `query` (skip and limit ignored).
    pub async fn count_activations(
        &self,
        namespace: &str,
        query: ActivationQuery,
    ) -> Result<u64, LocalError> {
        let ns = namespace.to_string();
        self.call(move |c| activations::count(c, &ns, &query)).await
    }

    /// Every DigitalOcean scheduled trigger of every namespace (for the scheduler).
    pub async fn list_all_do_triggers(&self) -> Result<Vec<DoTrigger>, LocalError> {
        self.call(do_triggers::list_all).await
    }

    /// Records a scheduled run of a DO trigger (RFC 3339 times).
    pub async fn mark_do_trigger_run(
        &self,
        namespace: &str,
        name: &str,
        last_run_at: String,
        next_run_at: Option<String>,
    ) -> Result<(), LocalError> {
        let (ns, name) = (namespace.to_string(), name.to_string());
        self.write(move |tx| do_triggers::mark_run(tx, &ns, &name, &last_run_at, next_run_at))
            .await
    }
}

fn owned3(a: &str, b: &str, c: &str) -> (String, String, String) {
    (a.to_string(), b.to_string(), c.to_string())
}

/// Runs `f` in an `IMMEDIATE` transaction: the write lock is taken up front, so two writers
/// (threads or processes) wait on the busy timeout instead of failing on lock upgrade.
pub fn write_tx<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Transaction<'_>) -> Result<T, LocalError>,
) -> Result<T, LocalError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let out = f(&tx)?;
    tx.commit()?;
    Ok(out)
}

fn open_connection(path: &Path) -> Result<Connection, LocalError> {
    let db_err = |source| LocalError::Database {
        path: path.to_path_buf(),
        source,
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(db_err)?;
    conn.busy_timeout(Duration::from_secs(30)).map_err(db_err)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(db_err)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(db_err)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(db_err)?;
    Ok(conn)
}

/// Brings the schema to [`SCHEMA_VERSION`], one step per version, each in a transaction.
fn migrate(conn: &Connection, path: &Path) -> Result<(), LocalError> {
    let db_err = |source| LocalError::Database {
        path: path.to_path_buf(),
        source,
    };
    loop {
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(db_err)?;
        if version > SCHEMA_VERSION {
            return Err(LocalError::SchemaTooNew {
                path: path.to_path_buf(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        let step = MIGRATIONS[usize::try_from(version).unwrap_or(0)];
        // BEGIN IMMEDIATE makes a concurrent first start of two processes safe: the second
        // waits, then sees the new user_version and does nothing.
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE;
             {step}
             PRAGMA user_version = {};
             COMMIT;",
            version + 1
        ))
        .or_else(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            // Another process may have migrated meanwhile; re-check before failing.
            let now: i64 = conn
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .map_err(db_err)?;
            if now > version {
                Ok(())
            } else {
                Err(db_err(e))
            }
        })?;
    }
}

/// `MIGRATIONS[v]` takes the schema from version `v` to `v + 1`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE IF NOT EXISTS namespaces (
    name     TEXT PRIMARY KEY,
    uuid     TEXT NOT NULL UNIQUE,
    key      TEXT NOT NULL,
    created  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS actions (
    namespace   TEXT NOT NULL,
    package     TEXT NOT NULL DEFAULT '',
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    publish     INTEGER NOT NULL,
    exec        TEXT NOT NULL,
    code        TEXT,
    parameters  TEXT NOT NULL,
    annotations TEXT NOT NULL,
    limits      TEXT NOT NULL,
    updated     INTEGER NOT NULL,
    PRIMARY KEY (namespace, package, name)
);
CREATE TABLE IF NOT EXISTS packages (
    namespace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    publish     INTEGER NOT NULL,
    binding     TEXT,
    parameters  TEXT NOT NULL,
    annotations TEXT NOT NULL,
    updated     INTEGER NOT NULL,
    PRIMARY KEY (namespace, name)
);
CREATE TABLE IF NOT EXISTS triggers (
    namespace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    publish     INTEGER NOT NULL,
    parameters  TEXT NOT NULL,
    annotations TEXT NOT NULL,
    limits      TEXT NOT NULL,
    rules       TEXT NOT NULL,
    updated     INTEGER NOT NULL,
    PRIMARY KEY (namespace, name)
);
CREATE TABLE IF NOT EXISTS rules (
    namespace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    publish     INTEGER NOT NULL,
    annotations TEXT NOT NULL,
    trigger     TEXT NOT NULL,
    action      TEXT NOT NULL,
    updated     INTEGER NOT NULL,
    PRIMARY KEY (namespace, name)
);
CREATE TABLE IF NOT EXISTS activations (
    namespace     TEXT NOT NULL,
    activation_id TEXT NOT NULL,
    entity_path   TEXT NOT NULL,
    start         INTEGER NOT NULL,
    doc           TEXT NOT NULL,
    PRIMARY KEY (namespace, activation_id)
);
CREATE INDEX IF NOT EXISTS activations_by_start ON activations (namespace, start DESC);
CREATE TABLE IF NOT EXISTS do_triggers (
    namespace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    function    TEXT NOT NULL,
    type        TEXT NOT NULL,
    is_enabled  INTEGER NOT NULL,
    cron        TEXT NOT NULL,
    body        TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    last_run_at TEXT,
    next_run_at TEXT,
    PRIMARY KEY (namespace, name)
);
"#,
    r#"
CREATE TABLE IF NOT EXISTS feeds (
    namespace    TEXT NOT NULL,
    trigger      TEXT NOT NULL,
    feed         TEXT NOT NULL,
    config       TEXT NOT NULL,
    active       INTEGER NOT NULL,
    date_changed INTEGER NOT NULL,
    reason       TEXT,
    next_fire    INTEGER,
    fired        INTEGER NOT NULL DEFAULT 0,
    created      INTEGER NOT NULL,
    PRIMARY KEY (namespace, trigger)
);
CREATE INDEX IF NOT EXISTS feeds_by_next_fire ON feeds (active, next_fire);
CREATE TABLE IF NOT EXISTS api_routes (
    namespace        TEXT NOT NULL,
    base_path        TEXT NOT NULL,
    rel_path         TEXT NOT NULL,
    operation        TEXT NOT NULL,
    api_name         TEXT NOT NULL,
    action_namespace TEXT NOT NULL,
    action_package   TEXT NOT NULL DEFAULT '',
    action_name      TEXT NOT NULL,
    response_type    TEXT NOT NULL,
    updated          INTEGER NOT NULL,
    PRIMARY KEY (namespace, base_path, rel_path, operation)
);
"#,
];

/// Serializes a value for a JSON column.
pub(crate) fn to_json<T: Serialize>(value: &T) -> String {
    // Serializing our own plain data types cannot fail (no maps with non-string keys).
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}

/// Reads a JSON column back.
pub(crate) fn from_json<T: DeserializeOwned>(
    what: &'static str,
    text: &str,
) -> Result<T, LocalError> {
    serde_json::from_str(text).map_err(|source| LocalError::StoredJson { what, source })
}

/// Now, in epoch milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Creates `dir` (and parents), private to the user on Unix.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), LocalError> {
    let io = |source| LocalError::Io {
        path: dir.to_path_buf(),
        source,
    };
    if dir.is_dir() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir).map_err(io)
    }
}

fn restrict_file(path: &Path) -> Result<(), LocalError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(
            |source| LocalError::Io {
                path: path.to_path_buf(),
                source,
            },
        )?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// The collections whose top-level names share one space per namespace, as the
/// controller's entity store keys documents by `namespace/name` alone.
pub const COLLECTIONS: &[&str] = &["actions", "packages", "triggers", "rules"];

/// True when `name` is taken in namespace `ns` by an entity of a collection other than
/// `own` (top-level actions only: packaged actions live under their package's name).
pub fn taken_by_other_collection(
    conn: &Connection,
    ns: &str,
    name: &str,
    own: &str,
) -> Result<bool, LocalError> {
    for table in COLLECTIONS.iter().filter(|t| **t != own) {
        let extra = if *table == "actions" {
            " AND package = ''"
        } else {
            ""
        };
        let n: i64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM {table} WHERE namespace = ?1 AND name = ?2{extra}"),
            rusqlite::params![ns, name],
            |r| r.get(0),
        )?;
        if n > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}
