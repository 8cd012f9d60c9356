//! Running the API: the whole router ([`api_router`]: the entity routes of [`crate::api`]
//! merged with the run-time routes of [`crate::run`], under one fallback and middleware), the
//! data directory, the `local` namespace and its key file, and a listener served until a
//! shutdown signal (for `sluice serve` and [`crate::embedded`]).
//!
//! It is the one module that sees both halves of the API; [`crate::daemon`] and
//! [`crate::embedded`] run it.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio::net::TcpListener;

use crate::error::LocalError;
use crate::http_error::ApiError;
use crate::middleware::{MAX_BODY, request_context};
use crate::state::AppState;
use crate::store::{self, Store, namespaces};

/// The namespace sluice creates in its data directory.
pub const LOCAL_NAMESPACE: &str = "local";

/// The file in the data directory holding the `local` namespace's `uuid:key`.
pub const KEY_FILE: &str = "local.auth";

/// The default port of `sluice serve` (OpenWhisk standalone's).
pub const DEFAULT_PORT: u16 = 3233;

/// How long in-flight requests may run after shutdown was asked for.
const GRACE: Duration = Duration::from_secs(5);

/// The whole API: the entity routes, the run-time routes (axum merges the methods of the
/// paths both serve), a 404 for anything else, the body limit and the middleware.
pub fn api_router(state: AppState) -> Router {
    Router::new()
        .merge(crate::api::router())
        .merge(crate::run::router())
        .fallback(|| async { ApiError::not_found() })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(request_context))
        .with_state(state)
}

/// The data directory: `$SLUICE_LOCAL_DIR`, else `$XDG_DATA_HOME/sluice`, else
/// `~/.local/share/sluice`, read from the process environment.
pub fn default_data_dir() -> Result<PathBuf, LocalError> {
    data_dir_from(|name| std::env::var(name).ok())
}

/// [`default_data_dir`] over any environment (`get` returns a variable's value).
pub fn data_dir_from(get: impl Fn(&str) -> Option<String>) -> Result<PathBuf, LocalError> {
    let var = |name: &str| get(name).filter(|v| !v.is_empty());
    if let Some(d) = var("SLUICE_LOCAL_DIR") {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = var("XDG_DATA_HOME") {
        return Ok(PathBuf::from(d).join("sluice"));
    }
    var("HOME")
        .map(|h| PathBuf::from(h).join(".local").join("share").join("sluice"))
        .ok_or(LocalError::NoDataDir)
}

/// An opened data directory: the store, the `local` namespace and its credentials.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub store: Store,
    pub data_dir: PathBuf,
    pub namespace: namespaces::Namespace,
}

/// Opens the store in `data_dir`, installs the standard catalog ([`crate::catalog`]), creates
/// the `local` namespace with a random key on first use, and (re)writes the key file (mode
/// 0600, atomically) when it is missing or stale.
pub fn prepare(data_dir: &Path) -> Result<Prepared, LocalError> {
    let store = Store::open(data_dir)?;
    crate::catalog::install(&store)?;
    let namespace = store.with(|c| namespaces::ensure(c, LOCAL_NAMESPACE))?;
    let key_file = data_dir.join(KEY_FILE);
    let wanted = format!("{}\n", namespace.auth());
    if std::fs::read_to_string(&key_file).ok().as_deref() != Some(wanted.as_str()) {
        write_private_atomic(&key_file, wanted.as_bytes())?;
    }
    Ok(Prepared {
        store,
        data_dir: data_dir.to_path_buf(),
        namespace,
    })
}

/// Writes `bytes` to `path` through a temporary file in the same directory (mode 0600 on
/// Unix) renamed over it, so readers never see half a key and nobody else can read it.
pub fn write_private_atomic(path: &Path, bytes: &[u8]) -> Result<(), LocalError> {
    let io = |source| LocalError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    store::create_private_dir(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io)?;
    }
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Serves the API on `listener` until `shutdown` completes, then lets in-flight requests
/// finish (up to a few seconds). Sets `state.api_host` and starts the runner's background
/// tasks first (the scheduler only when `state` owns the data directory).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), LocalError> {
    serve_app(listener, state.clone(), api_router(state), shutdown).await
}

/// [`serve`] with a router the caller built over [`api_router`] (the daemon adds its
/// control routes and idle tracking).
pub async fn serve_app(
    listener: TcpListener,
    state: AppState,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), LocalError> {
    let addr = listener.local_addr().map_err(|source| LocalError::Serve {
        addr: "listener".into(),
        source,
    })?;
    let _ = state.api_host.set(api_host_of(addr));
    crate::run::start(&state);
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        let _ = stopping_tx.send(());
    });
    let grace = async move {
        if stopping_rx.await.is_ok() {
            tokio::time::sleep(GRACE).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        r = server => r.map_err(|source| LocalError::Serve { addr: addr.to_string(), source }),
        () = grace => Ok(()),
    }
}

/// `http://<addr>`, the value to give `--apihost`.
pub fn api_host_of(addr: SocketAddr) -> String {
    format!("http://{addr}")
}
