//! `sluice namespace add|list|use|remove|current`: the credential store (the original
//! deployer's `credentials.json`). Keys are checked against the controller before they are
//! stored and are never printed in full.

use std::process::ExitCode;

use serde_json::json;
use sluice_openwhisk::{Client, CredentialStore, TransportOptions, expand_apihost};

use super::connection::{self, TargetArgs, ow_error};
use super::local;
use super::render::{CliError, print_json};
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
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Make a stored namespace current
    Use {
        namespace: String,
        /// The API host, when the namespace is stored for several
        #[arg(long, value_name = "HOST")]
        apihost: Option<String>,
    },
    /// Forget a stored namespace
    Remove {
        namespace: String,
        /// The API host, when the namespace is stored for several
        #[arg(long, value_name = "HOST")]
        apihost: Option<String>,
    },
    /// Print the current namespace and its API host
    Current,
}

/// `namespace add`: the connection flags, both of them required, and a label.
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("apihost", |a| a.required(true).help("API host (`nyc1` → https://nyc1.doserverless.co)")),
    mut_arg("auth", |a| a.required(true).help("API key (`uuid:key`)")),
    mut_arg("insecure", |a| a.help("Skip TLS certificate checks while checking the key")),
)]
struct AddArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// A label to remember the namespace by
    #[arg(long)]
    label: Option<String>,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let env = setup::env_snapshot();
    let dir = connection::store_dir(&env)?;
    let mut store = CredentialStore::load(&dir).map_err(ow_error)?;
    match args.command {
        NamespaceCommand::Add(AddArgs { target, label }) => {
            let (Some(apihost), Some(auth)) = (&target.apihost, &target.auth) else {
                return Err(CliError::msg("namespace add needs --apihost and --auth"));
            };
            let apihost = expand_apihost(apihost);
            let options = TransportOptions {
                insecure: target.insecure,
                ..Default::default()
            };
            let client = Client::new(&apihost, auth, &options).map_err(ow_error)?;
            let runtime = tokio::runtime::Runtime::new().map_err(CliError::other)?;
            let namespaces = runtime.block_on(client.namespaces()).map_err(ow_error)?;
            let Some(namespace) = namespaces.first() else {
                return Err(CliError::msg(format!(
                    "the controller at {apihost} lists no namespace for this key"
                )));
            };
            store.add(&apihost, namespace, auth, label.as_deref());
            store.save(&dir).map_err(ow_error)?;
            println!("Connected to namespace '{namespace}' on API host '{apihost}'");
        }
        NamespaceCommand::List { json } => {
            let list = store.list();
            if json {
                let items: Vec<_> = list
                    .iter()
                    .map(|n| {
                        json!({"namespace": n.namespace, "apihost": n.apihost, "label": n.label,
                               "auth": n.masked_key, "current": n.current})
                    })
                    .collect();
                print_json(&items)?;
            } else if list.is_empty() {
                println!(
                    "No namespaces are stored; add one with 'sluice namespace add --apihost <host> --auth <key>'"
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
        }
        NamespaceCommand::Use { namespace, apihost } => {
            let apihost = apihost.as_deref().map(expand_apihost);
            let host = match store.use_namespace(&namespace, apihost.as_deref()) {
                Ok(host) => host,
                // Not stored: a namespace of the local server, by name.
                Err(e) => {
                    let local = apihost.as_deref().is_none_or(|h| h == local::LOCAL_APIHOST);
                    if !(local && local::has_local_namespace(&namespace)?) {
                        return Err(ow_error(e));
                    }
                    local::use_local_namespace(&mut store, &namespace);
                    local::LOCAL_APIHOST.to_string()
                }
            };
            store.save(&dir).map_err(ow_error)?;
            if host == local::LOCAL_APIHOST {
                println!("Now using the local namespace '{namespace}'");
            } else {
                println!("Now using namespace '{namespace}' on API host '{host}'");
            }
        }
        NamespaceCommand::Remove { namespace, apihost } => {
            let apihost = apihost.as_deref().map(expand_apihost);
            let host = store
                .remove(&namespace, apihost.as_deref())
                .map_err(ow_error)?;
            store.save(&dir).map_err(ow_error)?;
            println!("Removed namespace '{namespace}' on API host '{host}'");
        }
        NamespaceCommand::Current => match (&store.current_namespace, &store.current_host) {
            (Some(ns), Some(host)) => println!("{ns} on {host}"),
            _ => {
                return Err(
                    CliError::msg("You do not have a current namespace").with_help(
                        "add one with 'sluice namespace add --apihost <host> --auth <key>'",
                    ),
                );
            }
        },
    }
    Ok(ExitCode::SUCCESS)
}
