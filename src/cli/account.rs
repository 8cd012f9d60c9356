//! Where namespaces are made and deleted, for `namespace create|list --remote|delete`,
//! `connect <label|id>` and `env create|delete`: the DigitalOcean account of the token (see
//! [`connection::do_token`]), or the local server's namespaces with `--local` or when no token
//! is found — the same commands, the way a doctl user expects them, on either.
//!
//! Connecting a namespace stores its API host and key in the credential store, as doctl's
//! `serverless connect` does; keys are never printed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use sluice_digitalocean::{DoError, Namespace, NamespacesApi};
use sluice_openwhisk::CredentialStore;

use super::connection::{self, ow_error};
use super::local;
use super::render::CliError;
use super::setup;

/// `--local` and `--access-token`: which account's namespaces a command works on.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AccountArgs {
    /// Work on the local server's namespaces, even when a DigitalOcean token is known
    #[arg(long, conflicts_with = "access_token")]
    pub local: bool,
    /// DigitalOcean API token [default: $DIGITALOCEAN_ACCESS_TOKEN, $DO_API_KEY,
    /// $DO_API_TOKEN, then doctl's config file]; without one, the local server's namespaces
    #[arg(long, value_name = "TOKEN")]
    pub access_token: Option<String>,
}

/// The account a command works on.
pub enum Account {
    /// A DigitalOcean account: its API, its token and where the token came from.
    DigitalOcean {
        api: NamespacesApi,
        token: String,
        source: String,
    },
    /// The local server of the data directory.
    Local { data_dir: PathBuf },
}

/// One namespace of an account, as the commands show it (never with its key).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Remote {
    pub label: String,
    /// DigitalOcean's region; empty for a local namespace.
    pub region: String,
    /// The namespace's id (DigitalOcean's `fn-…`; a local namespace's name).
    pub id: String,
    pub api_host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    pub local: bool,
}

impl Remote {
    /// `namespace 'fn-…' (label 'L')`, or `the local namespace 'N'`, for messages.
    pub fn describe(&self) -> String {
        if self.local {
            format!("the local namespace '{}'", self.id)
        } else {
            format!("namespace '{}' (label '{}')", self.id, self.label)
        }
    }

    fn of(ns: &Namespace) -> Self {
        Remote {
            label: ns.label.clone(),
            region: ns.region.clone(),
            id: ns.namespace.clone(),
            api_host: ns.api_host.clone(),
            created_at: ns.created_at.clone(),
            local: false,
        }
    }

    fn local(name: &str, api_host: &str) -> Self {
        Remote {
            label: name.to_string(),
            region: String::new(),
            id: name.to_string(),
            api_host: api_host.to_string(),
            created_at: None,
            local: true,
        }
    }
}

impl AccountArgs {
    /// The account: the local server with `--local`; else DigitalOcean when a token is found;
    /// else the local server, with a note on stderr saying so — unless `needs_do` names the
    /// flag that only makes sense on DigitalOcean (`--region`), which is then an error.
    pub fn open(&self, needs_do: Option<&str>) -> Result<Account, CliError> {
        let env = setup::env_snapshot();
        if self.local {
            if let Some(flag) = needs_do {
                return Err(CliError::msg(format!(
                    "{flag} is for DigitalOcean namespaces; the local server has no regions"
                ))
                .with_help(format!("leave out {flag}, or --local")));
            }
            return local_account(&env);
        }
        match connection::do_token_from(self.access_token.as_deref(), &env) {
            Some((token, source)) => {
                let base = sluice_digitalocean::api_url(|k| env.get(k).cloned());
                let api = NamespacesApi::new(&base, &token).map_err(|e| do_error(e, &source))?;
                Ok(Account::DigitalOcean { api, token, source })
            }
            None if needs_do.is_some() => Err(CliError::msg(format!(
                "{} asks for a DigitalOcean namespace, and no DigitalOcean token was found",
                needs_do.unwrap_or_default()
            ))
            .with_help(format!(
                "{}; or use --local for the local server",
                connection::token_places(&env)
            ))),
            None => {
                eprintln!(
                    "No DigitalOcean token found, so this works on the local server's namespaces (pass --access-token or set DIGITALOCEAN_ACCESS_TOKEN for DigitalOcean's; --local says it on purpose)"
                );
                local_account(&env)
            }
        }
    }
}

fn local_account(env: &BTreeMap<String, String>) -> Result<Account, CliError> {
    let data_dir = sluice_local::server::data_dir_from(|k| env.get(k).cloned())
        .map_err(connection::local_error)?;
    Ok(Account::Local { data_dir })
}

/// Renders an error of DigitalOcean's API; a refused token names where it came from.
pub fn do_error(e: DoError, source: &str) -> CliError {
    let help = match &e {
        DoError::Unauthorized { .. } => Some(format!(
            "the token came from {source}: {}",
            e.help().unwrap_or_default()
        )),
        _ => e.help(),
    };
    let error = CliError::msg(e.to_string());
    match help {
        Some(h) => error.with_help(h),
        None => error,
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::other)
}

impl Account {
    pub fn is_local(&self) -> bool {
        matches!(self, Account::Local { .. })
    }

    /// Every namespace of the account, sorted by label.
    pub fn list(&self) -> Result<Vec<Remote>, CliError> {
        match self {
            Account::DigitalOcean { api, source, .. } => {
                let all = runtime()?
                    .block_on(api.list())
                    .map_err(|e| do_error(e, source))?;
                Ok(all.iter().map(Remote::of).collect())
            }
            Account::Local { data_dir } => {
                let (file, _) = local::ensure_daemon(data_dir).map_err(connection::local_error)?;
                let mut names = sluice_local::daemon::client::namespaces(&file)
                    .map_err(connection::local_error)?;
                names.sort();
                Ok(names
                    .iter()
                    .map(|n| Remote::local(n, &file.api_host))
                    .collect())
            }
        }
    }

    /// The namespace `hint` names: its exact label or id, or (unless `exact`) the only one
    /// whose label or id contains it.
    pub fn find(&self, hint: &str, exact: bool) -> Result<Remote, CliError> {
        match self {
            Account::DigitalOcean { api, source, .. } => {
                let all = runtime()?
                    .block_on(api.list())
                    .map_err(|e| do_error(e, source))?;
                sluice_digitalocean::find(&all, hint, exact)
                    .map(Remote::of)
                    .map_err(|e| do_error(e, source))
            }
            Account::Local { .. } => {
                let all = self.list()?;
                if let Some(n) = all.iter().find(|n| n.id == hint) {
                    return Ok(n.clone());
                }
                let partial: Vec<&Remote> = all.iter().filter(|n| n.id.contains(hint)).collect();
                match partial.as_slice() {
                    [one] if !exact => Ok((*one).clone()),
                    _ => Err(
                        CliError::msg(format!("the local server has no namespace '{hint}'"))
                            .with_help(if all.is_empty() {
                                "create one with 'sluice namespace create --local --label <name>'"
                                    .to_string()
                            } else {
                                format!(
                                    "its namespaces are: {}",
                                    all.iter()
                                        .map(|n| n.id.as_str())
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                )
                            }),
                    ),
                }
            }
        }
    }

    /// Creates a namespace labelled `label` (in `region` on DigitalOcean). A label the
    /// account already has is refused, as doctl does: labels name namespaces.
    pub fn create(&self, label: &str, region: Option<&str>) -> Result<Remote, CliError> {
        if self.list()?.iter().any(|n| n.label == label) {
            return Err(CliError::msg(format!(
                "a namespace labelled '{label}' exists already; labels must be unique"
            ))
            .with_help(format!(
                "connect it with 'sluice connect {label}', or choose another label"
            )));
        }
        match self {
            Account::DigitalOcean { api, source, .. } => {
                let Some(region) = region else {
                    return Err(CliError::msg("a DigitalOcean namespace needs a region")
                        .with_help(
                            "pass --region (nyc1, sfo3, ams3, fra1, lon1, sgp1, syd1, tor1, blr1)",
                        ));
                };
                let region = sluice_digitalocean::region_slug(region);
                let made = runtime()?
                    .block_on(api.create(label, &region))
                    .map_err(|e| do_error(e, source))?;
                Ok(Remote::of(&made))
            }
            Account::Local { data_dir } => {
                let (file, _) = local::ensure_daemon(data_dir).map_err(connection::local_error)?;
                let made = sluice_local::daemon::client::create_namespace(&file, label)
                    .map_err(connection::local_error)?;
                Ok(Remote::local(&made.name, &file.api_host))
            }
        }
    }

    /// Stores the namespace's credentials (API host and key, asked of DigitalOcean) in the
    /// credential store and makes it current; returns the store's file.
    pub fn connect(&self, ns: &Remote) -> Result<PathBuf, CliError> {
        let env = setup::env_snapshot();
        let dir = connection::store_dir(&env)?;
        let mut store = CredentialStore::load(&dir).map_err(ow_error)?;
        match self {
            Account::DigitalOcean { .. } => {
                let (full, auth) = self.credentials(ns)?;
                store.add(&full.api_host, &full.namespace, &auth, Some(&full.label));
            }
            Account::Local { .. } => local::use_local_namespace(&mut store, &ns.id),
        }
        store.save(&dir).map_err(ow_error)?;
        Ok(dir.join(sluice_openwhisk::credentials::STORE_FILE))
    }

    /// The API host and key of a namespace: DigitalOcean's `GET …/{id}`, or the local
    /// server's key of it.
    pub fn credentials(&self, ns: &Remote) -> Result<(Namespace, String), CliError> {
        match self {
            Account::DigitalOcean { api, source, .. } => {
                let full = runtime()?
                    .block_on(api.get(&ns.id))
                    .map_err(|e| do_error(e, source))?;
                let auth = full.auth().ok_or_else(|| {
                    CliError::msg(format!(
                        "DigitalOcean sent no key for the namespace '{}' (label '{}')",
                        ns.id, ns.label
                    ))
                    .with_help("the token may lack read access to functions; check its scopes")
                })?;
                Ok((full, auth))
            }
            Account::Local { data_dir } => {
                let (file, _) = local::ensure_daemon(data_dir).map_err(connection::local_error)?;
                let auth = local::local_namespace_key(&ns.id)?;
                let full = Namespace {
                    namespace: ns.id.clone(),
                    api_host: file.api_host.clone(),
                    label: ns.label.clone(),
                    region: String::new(),
                    created_at: None,
                    updated_at: None,
                    uuid: None,
                    key: None,
                };
                Ok((full, auth))
            }
        }
    }

    /// The token for the namespace's triggers API: DigitalOcean's, or for a local namespace
    /// its own key (the local server serves that API with it).
    pub fn triggers_token(&self, auth: &str) -> String {
        match self {
            Account::DigitalOcean { token, .. } => token.clone(),
            Account::Local { .. } => auth.to_string(),
        }
    }

    /// Deletes the namespace with everything in it, and forgets it in the credential store.
    /// Returns whether the store held it.
    pub fn delete(&self, ns: &Remote) -> Result<bool, CliError> {
        match self {
            Account::DigitalOcean { api, source, .. } => runtime()?
                .block_on(api.delete(&ns.id))
                .map_err(|e| do_error(e, source))?,
            Account::Local { data_dir } => {
                let (file, _) = local::ensure_daemon(data_dir).map_err(connection::local_error)?;
                sluice_local::daemon::client::delete_namespace(&file, &ns.id)
                    .map_err(connection::local_error)?;
            }
        }
        forget(&ns.id, self.is_local())
    }
}

/// Removes every stored entry of the namespace `id` (on the local marker host for a local
/// namespace, on any host for DigitalOcean's, whose ids are unique).
fn forget(id: &str, local: bool) -> Result<bool, CliError> {
    let env = setup::env_snapshot();
    let dir = connection::store_dir(&env)?;
    let mut store = CredentialStore::load(&dir).map_err(ow_error)?;
    let hosts: Vec<String> = store
        .list()
        .into_iter()
        .filter(|n| n.namespace == id && (n.apihost == local::LOCAL_APIHOST) == local)
        .map(|n| n.apihost)
        .collect();
    for host in &hosts {
        store.remove(id, Some(host)).map_err(ow_error)?;
    }
    if !hosts.is_empty() {
        store.save(&dir).map_err(ow_error)?;
    }
    Ok(!hosts.is_empty())
}
