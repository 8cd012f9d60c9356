//! One server per data directory: the local namespace as a background daemon (or `sluice
//! serve` in the foreground — the same server), found and started by every command that
//! needs it.
//!
//! How it is built:
//! - The lock ([`crate::owner`]) decides who serves a data directory; the state file
//!   ([`files::STATE_FILE`]) only says where that server listens. A server that cannot take
//!   the lock refuses to start ([`LocalError::AlreadyRunning`]), so two never share one
//!   database's scheduler.
//! - A client trusts the state file only once its server answers the control route with the
//!   file's token ([`client::probe`]); a file left by a killed server is stale and the next
//!   server overwrites it.
//! - The port is remembered ([`files::PORT_FILE`]) so printed URLs stay valid across
//!   restarts; the first server of a directory tries [`DEFAULT_PORT`], then any free port.
//! - A background server exits after an idle period ([`files::DEFAULT_IDLE`],
//!   [`files::IDLE_ENV`]) with no request in flight and no activation running.
//!
//! It sits above [`crate::server`]; nothing below imports it. It never prints: callers get a
//! [`Ready`] to announce.

pub mod client;
pub mod control;
pub mod files;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use rand::distr::Alphanumeric;
use tokio::sync::Notify;

use crate::error::LocalError;
use crate::server::{self, DEFAULT_PORT, Prepared};
use crate::state::AppState;
use crate::store::namespaces::Namespace;
use control::{Activity, Control};
use files::DaemonFile;

pub use files::{DEFAULT_IDLE, DaemonStatus, IDLE_ENV, LOG_FILE, STATE_FILE, parse_idle};

/// How to run a server over a data directory.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    pub data_dir: PathBuf,
    /// Loopback unless the user says otherwise.
    pub host: IpAddr,
    /// A port to insist on; `None`: the remembered one, else [`DEFAULT_PORT`], else any.
    pub port: Option<u16>,
    /// Exit after this long without requests; `None`: run until stopped.
    pub idle: Option<Duration>,
}

impl DaemonOptions {
    /// A loopback server over `data_dir` that runs until stopped.
    pub fn new(data_dir: PathBuf) -> Self {
        DaemonOptions {
            data_dir,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: None,
            idle: None,
        }
    }
}

/// A server that listens, for the caller to announce.
#[derive(Debug)]
pub struct Ready {
    pub api_host: String,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// The `local` namespace (its key is the user's own; print it only on purpose).
    pub namespace: Namespace,
}

/// Serves `opts.data_dir` until Ctrl-C, SIGTERM, `sluice local stop` or the idle period.
/// Calls `on_ready` once it listens and its state file is written. Blocks; builds its own
/// runtime.
pub fn run(opts: DaemonOptions, on_ready: impl FnOnce(&Ready)) -> Result<(), LocalError> {
    // A malformed runner limit stops the server before it serves anything.
    crate::runner::RunnerSettings::from_env()?;
    let Prepared {
        store,
        data_dir,
        namespace,
    } = server::prepare(&opts.data_dir)?;
    let state = AppState::new(store, data_dir.clone());
    if !state.claim_data_dir()? {
        let running = files::read_state(&data_dir);
        return Err(LocalError::AlreadyRunning {
            data_dir,
            api_host: running.as_ref().map(|f| f.api_host.clone()),
            pid: running.map(|f| f.pid),
        });
    }
    let listener = bind(&opts, &data_dir)?;
    let addr = listener.local_addr().map_err(|source| LocalError::Serve {
        addr: opts.host.to_string(),
        source,
    })?;
    let token: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(48)
        .map(char::from)
        .collect();
    let api_host = server::api_host_of(addr);
    files::remember_port(&data_dir, addr.port())?;
    files::write_state(
        &data_dir,
        &DaemonFile {
            pid: std::process::id(),
            host: addr.ip(),
            port: addr.port(),
            api_host: api_host.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            token: token.clone(),
        },
    )?;
    on_ready(&Ready {
        api_host,
        addr,
        data_dir: data_dir.clone(),
        namespace,
    });
    let result = serve_until_stopped(listener, state, token.as_str().into(), opts.idle);
    files::remove_state(&data_dir, &token);
    result
}

/// Binds the requested port, else the remembered one, else [`DEFAULT_PORT`], else any.
fn bind(
    opts: &DaemonOptions,
    data_dir: &std::path::Path,
) -> Result<std::net::TcpListener, LocalError> {
    let serve_err = |port: u16| {
        move |source| LocalError::Serve {
            addr: SocketAddr::new(opts.host, port).to_string(),
            source,
        }
    };
    if let Some(port) = opts.port {
        return std::net::TcpListener::bind(SocketAddr::new(opts.host, port))
            .map_err(serve_err(port));
    }
    let wanted = files::remembered_port(data_dir).unwrap_or(DEFAULT_PORT);
    std::net::TcpListener::bind(SocketAddr::new(opts.host, wanted))
        .or_else(|_| std::net::TcpListener::bind(SocketAddr::new(opts.host, 0)))
        .map_err(serve_err(0))
}

fn serve_until_stopped(
    listener: std::net::TcpListener,
    state: AppState,
    token: Arc<str>,
    idle: Option<Duration>,
) -> Result<(), LocalError> {
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let serve_err = |source| LocalError::Serve {
        addr: addr.clone(),
        source,
    };
    log_runner(&state);
    listener.set_nonblocking(true).map_err(serve_err)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("sluice-local")
        .enable_all()
        .build()
        .map_err(serve_err)?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).map_err(serve_err)?;
        let stop = Arc::new(Notify::new());
        let activity = Arc::new(Activity::default());
        let control = Control {
            state: state.clone(),
            token,
            stop: stop.clone(),
            idle,
        };
        let app = server::api_router(state.clone())
            .merge(control::router(control))
            .layer(axum::middleware::from_fn_with_state(
                activity.clone(),
                control::track,
            ));
        let running = state.running.clone();
        let shutdown = async move {
            tokio::select! {
                () = stop.notified() => {}
                () = ctrl_c_or_term() => {}
                () = idle_out(activity, running, idle) => {}
            }
        };
        server::serve_app(listener, state, app, shutdown).await
    })
}

/// Says once, in the log, how functions run: the pool's caps and their confinement.
fn log_runner(state: &AppState) {
    let settings = state.runner.runner(&state.data_dir).config().settings;
    let confinement = crate::runner::confinement();
    tracing::info!(
        max_workers = settings.max_workers,
        max_per_action = settings.max_per_action,
        idle_worker_secs = settings.idle_ttl.as_secs(),
        "local runner ready"
    );
    if confinement.applies() {
        tracing::info!("confinement of local functions: {}", confinement.describe());
    } else {
        tracing::warn!("confinement of local functions: {}", confinement.describe());
    }
}

async fn ctrl_c_or_term() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Completes once nothing happened for `idle` (never when `None`).
async fn idle_out(
    activity: Arc<Activity>,
    running: Arc<crate::state::RunningActivations>,
    idle: Option<Duration>,
) {
    let Some(idle) = idle else {
        return std::future::pending().await;
    };
    let tick = (idle / 10).clamp(Duration::from_millis(20), Duration::from_secs(1));
    loop {
        tokio::time::sleep(tick).await;
        if running.is_empty() && activity.idle_for() >= idle {
            tracing::info!(
                idle_secs = idle.as_secs_f64(),
                "idle: the local namespace server exits"
            );
            return;
        }
    }
}
