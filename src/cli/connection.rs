//! Where a command sends things: the one place that turns the target flags
//! ([`TargetArgs`], flattened into every command that talks to a namespace), the project's
//! `targetNamespace` and the credential store into [`Credentials`] (spec §8.2), and opens a
//! [`Connection`] for the run-time commands.
//!
//! No command looks at the store or at `--apihost`/`--auth` by itself. The DigitalOcean token
//! and the store are found the way doctl users expect ([`do_token`], [`store_dir`]), and a
//! refused key is explained by where it came from ([`KeySource`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use sluice_core::{Credentials, OwOptions};
use sluice_openwhisk::{Client, CredentialStore, Selection, TransportOptions};

use super::doctl;
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
            access_token: None,
        }
    }
}

/// `--access-token` (doctl's flag), for the commands that use DigitalOcean's API: triggers
/// on `deploy`, `undeploy --triggers`, `triggers list|get`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TokenArgs {
    /// DigitalOcean API token, for scheduled triggers [default: $DIGITALOCEAN_ACCESS_TOKEN,
    /// $DO_API_KEY, $DO_API_TOKEN, then doctl's config file]
    #[arg(long, value_name = "TOKEN")]
    pub access_token: Option<String>,
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
    /// `--access-token`.
    pub access_token: Option<String>,
}

impl TargetOptions {
    /// Where the key of a target resolved from these options comes from.
    pub fn key_source(&self, local: bool, env: &BTreeMap<String, String>) -> KeySource {
        if local {
            KeySource::Local
        } else if self.auth.is_some() {
            KeySource::Flag
        } else {
            KeySource::Store(store_dir(env).ok())
        }
    }
}

/// Where the API key of a command's target came from, so a refused key gets a help line
/// that points at the right place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `--auth`.
    Flag,
    /// The credential store in this directory.
    Store(Option<PathBuf>),
    /// The embedded local namespace's own key.
    Local,
}

impl KeySource {
    /// The help line for a key the namespace refused.
    pub fn auth_help(&self) -> String {
        match self {
            KeySource::Flag => "the key came from --auth: check it (it looks like `uuid:key`), or leave --auth out to use the stored namespace".to_string(),
            KeySource::Store(dir) => format!(
                "the key came from the credential store{}: check it with 'sluice namespace current', or add the namespace again with 'sluice namespace add'",
                dir.as_ref()
                    .map(|d| format!(" {}", d.join(sluice_openwhisk::credentials::STORE_FILE).display()))
                    .unwrap_or_default()
            ),
            KeySource::Local => "the key came from the local namespace's key file (in $SLUICE_LOCAL_DIR or ~/.local/share/sluice): stop other sluice processes using it, or remove the data directory to start afresh".to_string(),
        }
    }

    /// `error` with the help of a refused key replaced by one naming this source.
    pub fn explain(&self, error: CliError) -> CliError {
        if error.help() == Some(sluice_openwhisk::AUTH_FAILED_HELP) {
            error.with_help(self.auth_help())
        } else {
            error
        }
    }
}

/// The credentials a command uses, and whether they are the embedded local namespace's: the
/// ops' own type, so a resolved target passes into an op as it is.
pub use sluice_core::ops::ResolvedTarget;

/// The credential store's directory: `$NIMBELLA_DIR` when set; else sluice's home when it
/// holds a store; else doctl's serverless store for doctl's token, when it holds one; else
/// sluice's home (where `namespace add` creates one).
pub fn store_dir(env: &BTreeMap<String, String>) -> Result<PathBuf, CliError> {
    let places = store_places(env);
    // With NIMBELLA_DIR there is one place, used whether or not it holds a store yet.
    let found = places
        .iter()
        .find(|p| p.join(sluice_openwhisk::credentials::STORE_FILE).is_file());
    found
        .or(places.first())
        .cloned()
        .ok_or_else(|| CliError::msg("cannot find the credential store: set SLUICE_HOME or HOME"))
}

/// Where sluice looks for the credential store, in order (for [`store_dir`] and for errors
/// that say where it looked).
pub fn store_places(env: &BTreeMap<String, String>) -> Vec<PathBuf> {
    if let Some(explicit) = env.get("NIMBELLA_DIR").filter(|d| !d.is_empty()) {
        return vec![PathBuf::from(explicit)];
    }
    let mut places: Vec<PathBuf> = setup::home_dir().into_iter().collect();
    if let Some(dir) = doctl::token(env).and_then(|t| doctl::serverless_dir(env, &t)) {
        places.push(dir);
    }
    places
}

/// The places of [`store_places`] as one line for a help text.
pub fn describe_places(places: &[PathBuf]) -> String {
    places
        .iter()
        .map(|p| {
            p.join(sluice_openwhisk::credentials::STORE_FILE)
                .display()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The DigitalOcean API token: `--access-token`, else `$DIGITALOCEAN_ACCESS_TOKEN` (doctl's),
/// `$DO_API_KEY`, `$DO_API_TOKEN`, else the current context's token in doctl's config file.
pub fn do_token(flag: Option<&str>, env: &BTreeMap<String, String>) -> Option<String> {
    do_token_from(flag, env).map(|(token, _)| token)
}

/// [`do_token`] with where the token came from (`--access-token`, the variable's name, or
/// doctl's config file), for the help of a refused token.
pub fn do_token_from(
    flag: Option<&str>,
    env: &BTreeMap<String, String>,
) -> Option<(String, String)> {
    if let Some(t) = flag.filter(|t| !t.is_empty()) {
        return Some((t.to_string(), "--access-token".to_string()));
    }
    ["DIGITALOCEAN_ACCESS_TOKEN", "DO_API_KEY", "DO_API_TOKEN"]
        .iter()
        .find_map(|k| {
            env.get(*k)
                .filter(|v| !v.is_empty())
                .map(|v| (v.clone(), format!("${k}")))
        })
        .or_else(|| {
            let file = doctl::config_file(env)
                .map(|f| format!("doctl's config file {}", f.display()))
                .unwrap_or_else(|| "doctl's config file".to_string());
            doctl::config_token(env).map(|t| (t, file))
        })
}

/// Where [`do_token`] looked, for the help of a missing token.
pub fn token_places(env: &BTreeMap<String, String>) -> String {
    let file = doctl::config_file(env)
        .map(|f| format!(", doctl's config file {}", f.display()))
        .unwrap_or_default();
    format!(
        "pass --access-token, or set DIGITALOCEAN_ACCESS_TOKEN (or DO_API_KEY); sluice looked in --access-token, DIGITALOCEAN_ACCESS_TOKEN, DO_API_KEY, DO_API_TOKEN{file}"
    )
}

/// Picks the credentials: `--apihost` with `--auth`; else the project's `targetNamespace`
/// in the store; else the store's current namespace.
pub fn resolve(
    opts: &TargetOptions,
    env: &BTreeMap<String, String>,
) -> Result<ResolvedTarget, CliError> {
    let store = if opts.apihost.is_some() && opts.auth.is_some() {
        CredentialStore::default()
    } else {
        CredentialStore::load(&store_dir(env)?).map_err(ow_error)?
    };
    // `targetNamespace` and an environment's namespace may name a stored namespace by label.
    let target_namespace =
        opts.target_namespace
            .as_ref()
            .map(|t| match by_label(&store, t, None) {
                Some((namespace, _)) if !store.list().iter().any(|n| &n.namespace == t) => {
                    namespace
                }
                _ => t.clone(),
            });
    let selection = Selection {
        apihost: opts.apihost.clone(),
        auth: opts.auth.clone(),
        insecure: opts.insecure,
        target_namespace,
        do_token: do_token(opts.access_token.as_deref(), env),
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

/// The stored namespace whose label (doctl's, or `namespace add --label`'s) is `label`, on
/// `apihost` when given: its id and API host, when exactly one has that label.
pub fn by_label(
    store: &CredentialStore,
    label: &str,
    apihost: Option<&str>,
) -> Option<(String, String)> {
    let mut matching = store
        .list()
        .into_iter()
        // `namespace use` marks the local namespaces it stores with the label "local": that
        // is sluice's marker, not a name (`use local` means the namespace called local).
        .filter(|n| {
            !(n.apihost == super::local::LOCAL_APIHOST && n.label.as_deref() == Some("local"))
        })
        .filter(|n| n.label.as_deref() == Some(label) && apihost.is_none_or(|h| h == n.apihost));
    let first = matching.next()?;
    match matching.next() {
        Some(_) => None,
        None => Some((first.namespace, first.apihost)),
    }
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
    /// Where `do_token` came from (`--access-token`, a variable, doctl's config file).
    pub token_source: Option<String>,
    /// The embedded local namespace, served by this process.
    pub local: bool,
    /// Where the key came from.
    pub key_source: KeySource,
    pub runtime: tokio::runtime::Runtime,
    // Declared last: dropped after the runtime has finished everything.
    _guard: Option<Box<dyn std::any::Any>>,
}

pub fn connect_with(options: &TargetOptions) -> Result<Connection, CliError> {
    let env = setup::env_snapshot();
    let resolved = resolve(options, &env)?;
    let key_source = options.key_source(resolved.local, &env);
    let creds = &resolved.credentials;
    let (client, runtime) =
        open_client(&creds.ow, options.insecure).map_err(|e| key_source.explain(e))?;
    Ok(Connection {
        client,
        api_key: creds.ow.api_key.clone(),
        apihost: creds.ow.apihost.clone(),
        namespace: creds.namespace.clone(),
        do_token: creds.do_token.clone(),
        token_source: if resolved.local {
            None
        } else {
            do_token_from(options.access_token.as_deref(), &env).map(|(_, source)| source)
        },
        local: resolved.local,
        key_source,
        runtime,
        _guard: resolved.guard,
    })
}

impl Connection {
    /// Renders a client error, saying where a refused key came from.
    pub fn error(&self, e: sluice_openwhisk::OwError) -> CliError {
        self.key_source.explain(ow_error(e))
    }

    /// Renders an error of DigitalOcean's triggers API, whose credential is the token, not
    /// the namespace's key: a refused token is explained by where the token came from (the
    /// local namespace's API takes its key, so there the key's source is named).
    pub fn token_error(&self, e: sluice_openwhisk::OwError) -> CliError {
        let error = ow_error(e);
        match &self.token_source {
            Some(source) if error.help() == Some(sluice_openwhisk::AUTH_FAILED_HELP) => {
                error.with_help(token_help(source))
            }
            _ => self.key_source.explain(error),
        }
    }
}

/// The help line for a DigitalOcean token the triggers API refused, from `source`.
pub fn token_help(source: &str) -> String {
    format!(
        "the DigitalOcean token came from {source}: check it (`doctl auth init` saves a new one), or pass another with --access-token; it needs access to Functions"
    )
}

/// Remembers where the key of the last resolved target came from (for the ops, which resolve
/// the target themselves).
#[derive(Debug, Default)]
pub struct KeySourceCell(Mutex<Option<KeySource>>);

impl KeySourceCell {
    pub fn set(&self, source: KeySource) {
        if let Ok(mut s) = self.0.lock() {
            *s = Some(source);
        }
    }

    /// `error` with a refused key explained, when a target was resolved.
    pub fn explain(&self, error: CliError) -> CliError {
        match self.0.lock().ok().and_then(|s| s.clone()) {
            Some(source) => source.explain(error),
            None => error,
        }
    }
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
