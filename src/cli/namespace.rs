//! `sluice namespace add|list|use|remove|current` (also `sluice namespaces …`, and
//! `sluice connect` for `add`): the credential store (the original deployer's
//! `credentials.json`, found where doctl keeps it too). Keys are checked against the
//! controller before they are stored and are never printed in full.
//!
//! `namespace create|delete`, `namespace list --remote` and `connect <label|id>` work on the
//! namespaces of an account (DigitalOcean's, or the local server's; see [`super::account`]).

use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;
use sluice_openwhisk::{Client, CredentialStore, Selection, TransportOptions, expand_apihost};

use super::account::{AccountArgs, Remote};
use super::confirm;
use super::connection::{self, KeySource, TargetArgs, ow_error};
use super::local;
use super::render::{CliError, OutputArgs, print_json};
use super::setup;
use super::table::Table;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: NamespaceCommand,
}

#[derive(Debug, clap::Subcommand)]
enum NamespaceCommand {
    /// Check a key against a controller and store it; the namespace becomes current
    Add(AddArgs),
    /// Create a namespace (DigitalOcean's, or the local server's) and connect it
    Create(CreateArgs),
    /// List the stored namespaces (the current one is marked with *), or with --remote the
    /// account's
    List(ListArgs),
    /// Delete a namespace of the account and everything in it (by label or id)
    Delete(DeleteArgs),
    /// Make a stored namespace current (by name, or by its label)
    Use(PickArgs),
    /// Forget a stored namespace
    Remove(PickArgs),
    /// Print the current namespace and its API host
    Current {
        /// Print the namespace's whole key (alone on a line; `key` in JSON), for scripts
        #[arg(long)]
        show_key: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
}

/// `namespace add` (and `sluice connect`): the connection flags, both of them required, and
/// a label.
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("apihost", |a| a.required(true).help("API host (`nyc1` → https://nyc1.doserverless.co; `127.0.0.1:3233` → http://)")),
    mut_arg("auth", |a| a.required(true).help("API key (`uuid:key`)")),
    mut_arg("insecure", |a| a.help("Skip TLS certificate checks while checking the key")),
)]
pub struct AddArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// A label to remember the namespace by
    #[arg(long)]
    label: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
}

/// `namespace create`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The namespace's label (unique in the account; a local namespace's name)
    #[arg(long, short = 'l')]
    label: String,
    /// The DigitalOcean region (nyc1, sfo3, ams3, fra1, lon1, sgp1, syd1, tor1, blr1)
    #[arg(long, short = 'r')]
    region: Option<String>,
    /// Do not connect the new namespace (the current namespace stays)
    #[arg(long, short = 'n')]
    no_connect: bool,
    #[command(flatten)]
    account: AccountArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// `namespace list`.
#[derive(Debug, clap::Args)]
#[command(mut_arg("access_token", |a| a.requires("remote")))]
pub struct ListArgs {
    /// List the account's namespaces (DigitalOcean's, or with --local the local server's)
    /// instead of the stored ones
    #[arg(long)]
    remote: bool,
    #[command(flatten)]
    account: AccountArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// `namespace delete`.
#[derive(Debug, clap::Args)]
pub struct DeleteArgs {
    /// The namespace's exact label or id
    namespace: String,
    /// Delete without asking
    #[arg(long, short = 'y')]
    yes: bool,
    #[command(flatten)]
    account: AccountArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// `sluice connect`: a namespace of the account by label or id (doctl's form), or a key
/// checked against a controller (`--apihost` with `--auth`, the same as `namespace add`).
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("apihost", |a| a.requires("auth").conflicts_with("namespace").help("API host, with --auth: check that key and store it (`namespace add`)")),
    mut_arg("auth", |a| a.requires("apihost").help("API key (`uuid:key`), with --apihost")),
    mut_arg("insecure", |a| a.requires("apihost").help("Skip TLS certificate checks while checking the key")),
    mut_arg("access_token", |a| a.conflicts_with("apihost")),
    mut_arg("local", |a| a.conflicts_with("apihost")),
)]
pub struct ConnectArgs {
    /// The namespace's label or id (or a part of it that only one namespace has); without it,
    /// the account's only namespace
    namespace: Option<String>,
    #[command(flatten)]
    target: TargetArgs,
    /// A label to remember the namespace by (with --apihost and --auth)
    #[arg(long, requires = "apihost")]
    label: Option<String>,
    #[command(flatten)]
    account: AccountArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// One namespace of an account as `namespace create|delete` and `connect` print it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Made {
    #[serde(flatten)]
    namespace: Remote,
    /// Whether it is now the current namespace of the credential store.
    connected: bool,
    /// The store file, when it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    store: Option<String>,
}

/// `namespace use|remove`: one stored namespace.
#[derive(Debug, clap::Args)]
struct PickArgs {
    namespace: String,
    /// The API host, when the namespace is stored for several
    #[arg(long, value_name = "HOST")]
    apihost: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
}

/// One namespace as `--json` prints it.
#[derive(Debug, Serialize)]
struct Shown {
    namespace: String,
    apihost: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    /// The key, masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    auth: Option<String>,
    current: bool,
    /// The store file.
    store: String,
    /// The whole key, only with `--show-key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let env = setup::env_snapshot();
    let dir = connection::store_dir(&env)?;
    let store = CredentialStore::load(&dir).map_err(ow_error)?;
    match args.command {
        NamespaceCommand::Add(add) => run_add(add, store, &dir),
        NamespaceCommand::Create(args) => create(args),
        NamespaceCommand::List(args) if args.remote || args.account.local => list_remote(args),
        NamespaceCommand::List(args) => list(&store, &dir, args.output),
        NamespaceCommand::Delete(args) => delete(args),
        NamespaceCommand::Use(pick) => pick_one(pick, store, &dir, false),
        NamespaceCommand::Remove(pick) => pick_one(pick, store, &dir, true),
        NamespaceCommand::Current { show_key, output } => {
            current(&store, &dir, &env, show_key, output)
        }
    }
}

/// `sluice connect`: a namespace of the account by label or id, or `namespace add` under
/// doctl's name.
pub fn run_connect(args: ConnectArgs) -> Result<ExitCode, CliError> {
    let ConnectArgs {
        namespace,
        target,
        label,
        account,
        output,
    } = args;
    if target.apihost.is_some() {
        let env = setup::env_snapshot();
        let dir = connection::store_dir(&env)?;
        let store = CredentialStore::load(&dir).map_err(ow_error)?;
        let add = AddArgs {
            target,
            label,
            output,
        };
        return run_add(add, store, &dir);
    }
    let account = account.open(None)?;
    let found = match namespace.as_deref() {
        Some(hint) => account.find(hint, false)?,
        // doctl's `connect` without a name: the account's only namespace.
        None => {
            let mut all = account.list()?;
            match all.len() {
                1 => all.remove(0),
                0 => {
                    return Err(CliError::msg("the account has no functions namespaces")
                        .with_help("create one with 'sluice namespace create --label <label> --region <region>'"));
                }
                _ => {
                    let labels: Vec<&str> = all.iter().map(|n| n.label.as_str()).collect();
                    return Err(CliError::msg(format!(
                        "the account has {} namespaces: {}",
                        all.len(),
                        labels.join(", ")
                    ))
                    .with_help("name one: 'sluice connect <label or id>'"));
                }
            }
        }
    };
    let store = account.connect(&found)?;
    print_made(&found, true, Some(store.display().to_string()), output, "")?;
    Ok(ExitCode::SUCCESS)
}

/// Prints what `create`, `delete` or `connect` did to `ns`; `done` is the first line
/// (none for `connect`).
fn print_made(
    ns: &Remote,
    connected: bool,
    store: Option<String>,
    output: OutputArgs,
    done: &str,
) -> Result<(), CliError> {
    if output.json() {
        return print_json(&Made {
            namespace: ns.clone(),
            connected,
            store,
        });
    }
    if !done.is_empty() {
        println!("{done}");
    }
    if connected && ns.local {
        println!("Now using the local namespace '{}'", ns.id);
    } else if connected {
        println!(
            "Connected to functions namespace '{}' on API host '{}'",
            ns.id, ns.api_host
        );
    }
    Ok(())
}

fn create(args: CreateArgs) -> Result<ExitCode, CliError> {
    let account = args
        .account
        .open(args.region.as_ref().map(|_| "--region"))?;
    let made = account.create(&args.label, args.region.as_deref())?;
    let store = if args.no_connect {
        None
    } else {
        Some(account.connect(&made)?.display().to_string())
    };
    let done = if made.local {
        format!("Created the local namespace '{}'", made.id)
    } else {
        format!(
            "Created namespace '{}' with label '{}' in region {}",
            made.id, made.label, made.region
        )
    };
    print_made(&made, store.is_some(), store, args.output, &done)?;
    Ok(ExitCode::SUCCESS)
}

fn list_remote(args: ListArgs) -> Result<ExitCode, CliError> {
    let account = args.account.open(None)?;
    let all = account.list()?;
    if args.output.json() {
        print_json(&all)?;
    } else if all.is_empty() {
        println!(
            "The account has no functions namespaces; create one with 'sluice namespace create --label <label>{}'",
            if account.is_local() {
                ""
            } else {
                " --region <region>"
            }
        );
    } else {
        let mut table = Table::new(&["LABEL", "REGION", "ID", "API HOST"]);
        for n in all {
            let region = if n.local {
                "local".to_string()
            } else {
                n.region
            };
            table.row([n.label, region, n.id, n.api_host]);
        }
        table.print();
    }
    Ok(ExitCode::SUCCESS)
}

fn delete(args: DeleteArgs) -> Result<ExitCode, CliError> {
    let account = args.account.open(None)?;
    let found = account.find(&args.namespace, true)?;
    let what = if found.local {
        format!(
            "Deleting the local namespace '{}' and everything deployed in it.",
            found.id
        )
    } else {
        format!(
            "Deleting namespace '{}' with label '{}' and everything deployed in it.",
            found.id, found.label
        )
    };
    confirm::deletion(&what, args.yes)?;
    let forgotten = account.delete(&found)?;
    if args.output.json() {
        print_json(&Made {
            namespace: found,
            connected: false,
            store: None,
        })?;
    } else {
        println!("Deleted {}", found.describe());
        if forgotten {
            println!("  and removed it from the credential store");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn store_file(dir: &Path) -> String {
    dir.join(sluice_openwhisk::credentials::STORE_FILE)
        .display()
        .to_string()
}

fn run_add(args: AddArgs, mut store: CredentialStore, dir: &Path) -> Result<ExitCode, CliError> {
    let AddArgs {
        target,
        label,
        output,
    } = args;
    let (Some(apihost), Some(auth)) = (&target.apihost, &target.auth) else {
        return Err(CliError::msg("namespace add needs --apihost and --auth"));
    };
    let apihost = expand_apihost(apihost).map_err(ow_error)?;
    let options = TransportOptions {
        insecure: target.insecure,
        ..Default::default()
    };
    let client = Client::new(&apihost, auth, &options).map_err(ow_error)?;
    let runtime = tokio::runtime::Runtime::new().map_err(CliError::other)?;
    let namespaces = runtime
        .block_on(client.namespaces())
        .map_err(|e| KeySource::Flag.explain(ow_error(e)))?;
    let Some(namespace) = namespaces.first() else {
        return Err(CliError::msg(format!(
            "the controller at {apihost} lists no namespace for this key"
        )));
    };
    store.add(&apihost, namespace, auth, label.as_deref());
    store.save(dir).map_err(ow_error)?;
    if output.json() {
        print_json(&Shown {
            namespace: namespace.clone(),
            apihost,
            label,
            auth: Some(sluice_core::mask_secret(auth)),
            current: true,
            store: store_file(dir),
            key: None,
        })?;
    } else {
        println!("Connected to namespace '{namespace}' on API host '{apihost}'");
    }
    Ok(ExitCode::SUCCESS)
}

fn list(store: &CredentialStore, dir: &Path, output: OutputArgs) -> Result<ExitCode, CliError> {
    let list = store.list();
    if output.json() {
        let items: Vec<Shown> = list
            .into_iter()
            .map(|n| Shown {
                namespace: n.namespace,
                apihost: n.apihost,
                label: n.label,
                auth: Some(n.masked_key),
                current: n.current,
                store: store_file(dir),
                key: None,
            })
            .collect();
        print_json(&items)?;
    } else if list.is_empty() {
        println!(
            "No namespaces are stored in {}; add one with 'sluice namespace add --apihost <host> --auth <key>'",
            store_file(dir)
        );
    } else {
        let mut table = Table::headless();
        for n in list {
            let mark = if n.current { "*" } else { " " };
            let label = n.label.map(|l| format!(" ({l})")).unwrap_or_default();
            table.row([
                format!("{mark} {}{label}", n.namespace),
                n.apihost,
                n.masked_key,
            ]);
        }
        table.print();
    }
    Ok(ExitCode::SUCCESS)
}

fn pick_one(
    args: PickArgs,
    mut store: CredentialStore,
    dir: &Path,
    remove: bool,
) -> Result<ExitCode, CliError> {
    let apihost = match args.apihost.as_deref() {
        Some(h) if h == local::LOCAL_APIHOST => Some(h.to_string()),
        Some(h) => Some(store.resolve_host(h).map_err(ow_error)?),
        None => None,
    };
    let mut args = args;
    let host = if remove {
        store
            .remove(&args.namespace, apihost.as_deref())
            .map_err(ow_error)?
    } else {
        match store.use_namespace(&args.namespace, apihost.as_deref()) {
            Ok(host) => host,
            // Not stored by that id: a stored namespace by its label.
            Err(_)
                if let Some((namespace, host)) =
                    connection::by_label(&store, &args.namespace, apihost.as_deref()) =>
            {
                store
                    .use_namespace(&namespace, Some(&host))
                    .map_err(ow_error)?;
                args.namespace = namespace;
                host
            }
            // Not stored: a namespace of the local server, by name.
            Err(e) => {
                let local = apihost.as_deref().is_none_or(|h| h == local::LOCAL_APIHOST);
                if !(local && local::has_local_namespace(&args.namespace)?) {
                    return Err(ow_error(e));
                }
                local::use_local_namespace(&mut store, &args.namespace);
                local::LOCAL_APIHOST.to_string()
            }
        }
    };
    store.save(dir).map_err(ow_error)?;
    if args.output.json() {
        print_json(&Shown {
            namespace: args.namespace,
            apihost: host,
            label: None,
            auth: None,
            current: !remove,
            store: store_file(dir),
            key: None,
        })?;
    } else if remove {
        println!(
            "Removed namespace '{}' on API host '{host}'",
            args.namespace
        );
    } else if host == local::LOCAL_APIHOST {
        println!("Now using the local namespace '{}'", args.namespace);
    } else {
        println!(
            "Now using namespace '{}' on API host '{host}'",
            args.namespace
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn current(
    store: &CredentialStore,
    dir: &Path,
    env: &std::collections::BTreeMap<String, String>,
    show_key: bool,
    output: OutputArgs,
) -> Result<ExitCode, CliError> {
    let (Some(ns), Some(host)) = (&store.current_namespace, &store.current_host) else {
        let looked = connection::describe_places(&connection::store_places(env));
        return Err(CliError::msg("You do not have a current namespace").with_help(format!(
            "sluice looked in {looked}; add one with 'sluice namespace add --apihost <host> --auth <key>' (or set NIMBELLA_DIR to doctl's store)"
        )));
    };
    let key = match show_key {
        false => None,
        // A local namespace's key stays with the local server: ask it.
        true if host == local::LOCAL_APIHOST => Some(local::local_namespace_key(ns)?),
        true => Some(
            store
                .select(&Selection::default())
                .map_err(ow_error)?
                .ow
                .api_key,
        ),
    };
    if output.json() {
        let entry = store.list().into_iter().find(|n| n.current);
        print_json(&Shown {
            namespace: ns.clone(),
            apihost: host.clone(),
            label: entry.as_ref().and_then(|n| n.label.clone()),
            auth: entry.map(|n| n.masked_key),
            current: true,
            store: store_file(dir),
            key,
        })?;
    } else if let Some(key) = key {
        println!("{key}");
    } else {
        println!("{ns} on {host}");
    }
    Ok(ExitCode::SUCCESS)
}
