//! `sluice serve`: expose the local namespace over HTTP for `wsk`, the `openwhisk` npm client
//! and web browsers, until Ctrl-C — the same server as the background one (`sluice local`),
//! in the foreground and owning the data directory.
//!
//! The banner never shows the key: it is masked, and the banner says where the key file is
//! (and `sluice namespace current --show-key` prints it on purpose). With `-o json` the same
//! facts are one JSON document on stdout, printed once the server listens, for scripts that
//! start it in the background.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;
use sluice_local::daemon::{self, DaemonOptions, Ready};
use sluice_local::server;
use sluice_local::store::namespaces;
use sluice_local::{LocalError, Store};

use super::CliError;
use super::connection::local_error;
use super::render::{OutputArgs, print_json};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Port to listen on [default: the port this data directory used last, else 3233, else
    /// any free one]
    #[arg(long)]
    port: Option<u16>,
    /// Address to listen on (loopback unless you say otherwise; auth is always required)
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// Where the namespace's database and key live [default: $XDG_DATA_HOME/sluice or
    /// ~/.local/share/sluice]
    #[arg(long, env = "SLUICE_LOCAL_DIR")]
    data_dir: Option<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
}

/// What `-o json` prints once the server listens.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Serving {
    apihost: String,
    /// The namespace the key below belongs to.
    namespace: String,
    /// Every namespace of this data directory.
    namespaces: Vec<String>,
    /// The key, masked; the whole key is in `key_file`.
    auth: String,
    key_file: String,
    data_dir: String,
    pid: u32,
}

impl Serving {
    fn of(ready: &Ready, data_dir: &std::path::Path) -> Self {
        let mut names = Store::open(data_dir)
            .and_then(|store| store.with(|c| namespaces::list(c)))
            .unwrap_or_default();
        if !names.contains(&ready.namespace.name) {
            names.push(ready.namespace.name.clone());
        }
        names.sort();
        Serving {
            apihost: ready.api_host.clone(),
            namespace: ready.namespace.name.clone(),
            namespaces: names,
            auth: sluice_core::mask_secret(&ready.namespace.auth()),
            key_file: data_dir.join(server::KEY_FILE).display().to_string(),
            data_dir: data_dir.display().to_string(),
            pid: std::process::id(),
        }
    }
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let data_dir = match args.data_dir {
        Some(d) => d,
        None => server::default_data_dir().map_err(local_error)?,
    };
    let opts = DaemonOptions {
        host: args.host,
        port: args.port,
        ..DaemonOptions::new(data_dir.clone())
    };
    let json = args.output.json();
    let mut printed = Ok(());
    let result = daemon::run(opts, |ready| {
        if !args.host.is_loopback() {
            eprintln!(
                "warning: listening on {}, reachable from other machines; requests still need the key",
                ready.addr
            );
        }
        let serving = Serving::of(ready, &data_dir);
        if json {
            printed = print_json(&serving);
            return;
        }
        println!(
            "sluice: serving the local namespace '{}'",
            serving.namespace
        );
        println!("  API host:  {}", serving.apihost);
        println!("  Auth:      {} (masked)", serving.auth);
        println!("  Key file:  {}", serving.key_file);
        println!("  Data:      {}", serving.data_dir);
        println!();
        println!("The whole key is in the key file; a script reads it there or with");
        println!("  sluice namespace current --show-key   (when this namespace is current)");
        println!("Point wsk at it:");
        println!(
            "  wsk property set --apihost {} --auth \"$(cat '{}')\"",
            serving.apihost, serving.key_file
        );
        println!("Press Ctrl-C to stop.");
    });
    printed?;
    match result {
        Ok(()) => {
            eprintln!("sluice: stopped");
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ LocalError::AlreadyRunning { .. }) => Err(CliError::msg(e.to_string()).with_help(
            "use it as it is, or stop it with `sluice local stop` and run `sluice serve` again",
        )),
        Err(LocalError::Serve { addr, source }) => {
            Err(CliError::msg(format!("cannot listen on {addr}: {source}"))
                .with_help("pick another port with --port (0 picks a free one)"))
        }
        Err(e) => Err(local_error(e)),
    }
}
