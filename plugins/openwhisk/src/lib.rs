//! sluice-openwhisk: the OpenWhisk REST client, the [`OpenWhiskDeployer`], the credential
//! store and the DigitalOcean triggers API client.
//!
//! It owns *how* a project reaches a namespace: request bodies, digests and the versions
//! file (compatible with the original deployer), retries and the concurrency bound. It must
//! not read projects, build anything, print, or exit: progress goes through the context's
//! `Feedback`, results come back as values.
//!
//! Modules by responsibility: [`transport`] (pool, bound, retries), [`client`] (OpenWhisk
//! URLs and auth), [`deployer`] (the trait impl), `deploy` (one run), [`resilience`] (retry
//! budgets and AIMD for a deploy's requests), [`body`], [`digest`],
//! [`annotation`], [`sequences`], [`triggers`], [`versions`], [`credentials`], `undeploy`.

pub mod annotation;
pub mod body;
pub mod client;
pub mod client_run;
mod code;
pub mod credentials;
mod deploy;
pub mod deployer;
pub mod digest;
pub mod error;
mod plan;
mod prune;
mod readback;
pub mod resilience;
pub mod sequences;
pub mod server_state;
pub mod transport;
pub mod triggers;
mod undeploy;
pub mod versions;

pub use client::Client;
pub use client_run::{ActivationFilter, InvokeOptions, InvokeOutcome};
pub use credentials::{CredentialStore, Selection, StoredNamespace, expand_apihost, store_dir};
pub use deploy::{BOUND_WITH_FUNCTIONS, DEFAULT_PACKAGE_MESSAGE};
pub use deployer::OpenWhiskDeployer;
pub use error::{AUTH_FAILED_HELP, OwError};
pub use transport::{DEFAULT_DEPLOY_JOBS, RetryPolicy, Transport, TransportOptions};
pub use triggers::{DEFAULT_DO_API_URL, DO_API_URL_ENV, TriggersApi, do_api_url_for};
