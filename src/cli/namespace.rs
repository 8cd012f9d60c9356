//! `sluice namespace add|list|use|remove|current` (also `sluice namespaces …`, and
//! `sluice connect` for `add`): the credential store (the original deployer's
//! `credentials.json`, found where doctl keeps it too). Keys are checked against the
//! controller before they are stored and are never printed in full.

use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;
use sluice_openwhisk::{Client, CredentialStore, Selection, TransportOptions, expand_apihost};

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
    /// List the stored namespaces (the current one is marked with *)
    List {
        #[command(flatten)]
        output: OutputArgs,
    },
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
        NamespaceCommand::List { output } => list(&store, &dir, output),
        NamespaceCommand::Use(pick) => pick_one(pick, store, &dir, false),
        NamespaceCommand::Remove(pick) => pick_one(pick, store, &dir, true),
        NamespaceCommand::Current { show_key, output } => {
            current(&store, &dir, &env, show_key, output)
        }
    }
}

/// `sluice connect`: `namespace add` under doctl's name.
pub fn run_connect(args: AddArgs) -> Result<ExitCode, CliError> {
    let env = setup::env_snapshot();
    let dir = connection::store_dir(&env)?;
    let store = CredentialStore::load(&dir).map_err(ow_error)?;
    run_add(args, store, &dir)
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
