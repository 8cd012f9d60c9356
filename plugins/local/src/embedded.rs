//! The local namespace served in-process on an ephemeral loopback port, for as long as an
//! [`EmbeddedServer`] value lives — for tests and benchmarks. The CLI uses the data
//! directory's background server instead ([`crate::daemon`]). An embedded server never takes
//! the data directory's lock, so it never runs the scheduler (see [`crate::owner`]).
//!
//! The server runs on its own thread with its own small tokio runtime, so callers need no
//! runtime of their own and dropping the guard (even inside another runtime) stops it.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::error::LocalError;
use crate::server::{self, Prepared};
use crate::state::AppState;

/// A running embedded server. Dropping it shuts the server down.
pub struct EmbeddedServer {
    /// `http://127.0.0.1:<port>`.
    pub apihost: String,
    /// Always [`server::LOCAL_NAMESPACE`].
    pub namespace: String,
    auth: String,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<(), LocalError>>>,
}

impl std::fmt::Debug for EmbeddedServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedServer")
            .field("apihost", &self.apihost)
            .field("namespace", &self.namespace)
            .field("auth", &sluice_core::mask_secret(&self.auth))
            .finish()
    }
}

impl EmbeddedServer {
    /// Opens `data_dir` (creating the `local` namespace and its key on first use) and
    /// serves it on `127.0.0.1:<ephemeral port>`.
    pub fn start(data_dir: &Path) -> Result<EmbeddedServer, LocalError> {
        Self::start_on(data_dir, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
    }

    /// Like [`EmbeddedServer::start`] on a given address (port 0 picks one).
    pub fn start_on(data_dir: &Path, addr: SocketAddr) -> Result<EmbeddedServer, LocalError> {
        let Prepared {
            store,
            data_dir,
            namespace,
        } = server::prepare(data_dir)?;
        let serve_err = |source| LocalError::Serve {
            addr: addr.to_string(),
            source,
        };
        let std_listener = std::net::TcpListener::bind(addr).map_err(serve_err)?;
        std_listener.set_nonblocking(true).map_err(serve_err)?;
        let bound = std_listener.local_addr().map_err(serve_err)?;
        let state = AppState::new(store, data_dir);
        let (tx, rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sluice-local".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("sluice-local-worker")
                    .enable_all()
                    .build()
                    .map_err(|source| LocalError::Serve {
                        addr: bound.to_string(),
                        source,
                    })?;
                rt.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(std_listener).map_err(|source| {
                            LocalError::Serve {
                                addr: bound.to_string(),
                                source,
                            }
                        })?;
                    server::serve(listener, state, async move {
                        let _ = rx.await;
                    })
                    .await
                })
            })
            .map_err(serve_err)?;
        Ok(EmbeddedServer {
            apihost: server::api_host_of(bound),
            namespace: namespace.name.clone(),
            auth: namespace.auth(),
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// `uuid:key` of the `local` namespace (secret: never print it).
    pub fn auth(&self) -> &str {
        &self.auth
    }

    /// Stops the server and waits for it, reporting a failure of the serving thread.
    pub fn stop(mut self) -> Result<(), LocalError> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> Result<(), LocalError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| LocalError::Task("local namespace server panicked".into()))?,
            None => Ok(()),
        }
    }
}

impl Drop for EmbeddedServer {
    fn drop(&mut self) {
        let _ = self.stop_inner();
    }
}
