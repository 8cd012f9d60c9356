//! Where a command sends things: the one place that turns the target flags
//! ([`TargetArgs`], flattened into every command that talks to a namespace), the project's
//! `targetNamespace` and the credential store into [`Credentials`] (spec §8.2), and opens a
//! [`Connection`] for the run-time commands.
//!
//! No command looks at the store or at `--apihost`/`--auth` by itself.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sluice_core::{Credentials, OwOptions};
use sluice_openwhisk::{Client, CredentialStore, Selection, TransportOptions};

use super::render::CliError;
use super::setup;

/// Where to connect: the same flags as `deploy`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TargetArgs {
    /// OpenWhisk API host (with --auth the credential store is not used)
    #[arg(long, value_name = "HOST")]
    pub apihost: Option<String>,
    /// OpenWhisk API key (`uuid:key`)
    #[arg(long, value_name = "KEY")]
    pub auth: Option<String>,
    /// Skip TLS certificate checks
    #[arg(long)]
    pub insecure: bool,
}

impl TargetArgs {
    /// The options these flags give, with the project's `targetNamespace` when there is one.
    pub fn options(&self, target_namespace: Option<String>) -> TargetOptions {
        TargetOptions {
            apihost: self.apihost.clone(),
            auth: self.auth.clone(),
            insecure: self.insecure,
            target_namespace,
        }
    }
}

/// What the command line (and the project) say about the target.
#[derive(Debug, Clone, Default)]
pub struct TargetOptions {
    /// `--apihost`, raw (abbreviations are expanded once, in the store's selection).
    pub apihost: Option<String>,
    /// `--auth`.
    pub auth: Option<String>,
    /// `--insecure`.
    pub insecure: bool,
    /// `targetNamespace` of project.yml.
    pub target_namespace: Option<String>,
}

/// The credentials a command uses, and whether they are the embedded local namespace's: the
/// ops' own type, so a resolved target passes into an op as it is.
pub use sluice_core::ops::ResolvedTarget;

/// The credential store's directory: `$NIMBELLA_DIR` when set, else sluice's home.
pub fn store_dir(env: &BTreeMap<String, String>) -> Result<PathBuf, CliError> {
    sluice_openwhisk::store_dir(
        env.get("NIMBELLA_DIR").map(String::as_str),
        setup::home_dir().as_deref(),
    )
    .ok_or_else(|| CliError::msg("cannot find the credential store: set SLUICE_HOME or HOME"))
}

/// The DigitalOcean API token: `DO_API_KEY` or `DO_API_TOKEN`, whichever is set.
pub fn do_token(env: &BTreeMap<String, String>) -> Option<String> {
    ["DO_API_KEY", "DO_API_TOKEN"]
        .iter()
        .filter_map(|k| env.get(*k))
        .find(|v| !v.is_empty())
        .cloned()
}

/// Picks the credentials: `--apihost` with `--auth`; else the project's `targetNamespace`
/// in the store; else the store's current namespace.
pub fn resolve(
    opts: &TargetOptions,
    env: &BTreeMap<String, String>,
) -> Result<ResolvedTarget, CliError> {
    let selection = Selection {
        apihost: opts.apihost.clone(),
        auth: opts.auth.clone(),
        insecure: opts.insecure,
        target_namespace: opts.target_namespace.clone(),
        do_token: do_token(env),
    };
    let store = if selection.apihost.is_some() && selection.auth.is_some() {
        CredentialStore::default()
    } else {
        CredentialStore::load(&store_dir(env)?).map_err(ow_error)?
    };
    if selection.apihost.is_none()
        && selection.auth.is_none()
        && selection.target_namespace.is_none()
        && !store.has_current()
    {
        return local_target(env, sluice_local::server::LOCAL_NAMESPACE);
    }
    let credentials = store.select(&selection).map_err(ow_error)?;
    if credentials.ow.apihost == super::local::LOCAL_APIHOST {
        let namespace = credentials.namespace.as_deref();
        return local_target(
            env,
            namespace.unwrap_or(sluice_local::server::LOCAL_NAMESPACE),
        );
    }
    Ok(ResolvedTarget {
        credentials,
        local: false,
        guard: None,
    })
}

/// No namespace configured, or a local one chosen with `sluice namespace use`: the embedded
/// local namespace `namespace`, served by the background server of its data directory
/// (started when none runs, see `sluice local`), and driven through the same OpenWhisk
/// client as a real namespace. Its key doubles as the token of its DigitalOcean triggers
/// API.
fn local_target(
    env: &BTreeMap<String, String>,
    namespace: &str,
) -> Result<ResolvedTarget, CliError> {
    let dir = sluice_local::server::data_dir_from(|k| env.get(k).cloned()).map_err(local_error)?;
    let (file, _) = super::local::ensure_daemon(&dir).map_err(local_error)?;
    let ns = sluice_local::daemon::client::namespace(&file, namespace)
        .map_err(local_error)?
        .ok_or_else(|| {
            CliError::msg(format!("there is no local namespace '{namespace}'")).with_help(format!(
                "create it with `sluice local namespace create {namespace}`"
            ))
        })?;
    let credentials = Credentials {
        namespace: Some(ns.name),
        ow: OwOptions {
            apihost: file.api_host.clone(),
            api_key: ns.auth.clone(),
            ignore_certs: false,
        },
        do_token: Some(ns.auth),
    };
    Ok(ResolvedTarget {
        credentials,
        local: true,
        guard: None,
    })
}

/// A live connection to the target namespace (and, for the local one, its in-process server).
pub struct Connection {
    pub client: Client,
    pub api_key: String,
    pub apihost: String,
    /// The namespace's name, when known.
    pub namespace: Option<String>,
    /// The DigitalOcean token (for the triggers API), when there is one.
    pub do_token: Option<String>,
    /// The embedded local namespace, served by this process.
    pub local: bool,
    pub runtime: tokio::runtime::Runtime,
    // Declared last: dropped after the runtime has finished everything.
    _guard: Option<Box<dyn std::any::Any>>,
}

/// Resolves the target and opens a client on it.
pub fn connect(args: &TargetArgs) -> Result<Connection, CliError> {
    let env = setup::env_snapshot();
    let resolved = resolve(&args.options(None), &env)?;
    let creds = &resolved.credentials;
    let (client, runtime) = open_client(&creds.ow, args.insecure)?;
    Ok(Connection {
        client,
        api_key: creds.ow.api_key.clone(),
        apihost: creds.ow.apihost.clone(),
        namespace: creds.namespace.clone(),
        do_token: creds.do_token.clone(),
        local: resolved.local,
        runtime,
        _guard: resolved.guard,
    })
}

/// A client on `ow` (certificate checks off with `insecure` or the credentials' own
/// setting) and the single-threaded runtime to drive it.
pub fn open_client(
    ow: &OwOptions,
    insecure: bool,
) -> Result<(Client, tokio::runtime::Runtime), CliError> {
    let transport = TransportOptions {
        insecure: insecure || ow.ignore_certs,
        ..TransportOptions::default()
    };
    let client = Client::new(&ow.apihost, &ow.api_key, &transport).map_err(ow_error)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::other)?;
    Ok((client, runtime))
}

/// Renders a client error the CLI way.
pub fn ow_error(e: sluice_openwhisk::OwError) -> CliError {
    CliError::from_core(&e.into_core(None), None)
}

/// Renders an error of the embedded local namespace the CLI way.
pub fn local_error(e: sluice_local::LocalError) -> CliError {
    CliError::from_core(&e.into(), None)
}
