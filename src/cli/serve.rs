//! `sluice serve`: expose the local namespace over HTTP for `wsk`, the `openwhisk` npm client
//! and web browsers, until Ctrl-C — the same server as the background one (`sluice local`),
//! in the foreground and owning the data directory.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::ExitCode;

use sluice_local::LocalError;
use sluice_local::daemon::{self, DaemonOptions};
use sluice_local::server;

use super::CliError;
use super::connection::local_error;

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
    let result = daemon::run(opts, |ready| {
        let apihost = &ready.api_host;
        let auth = ready.namespace.auth();
        if !args.host.is_loopback() {
            eprintln!(
                "warning: listening on {}, reachable from other machines; requests still need the key",
                ready.addr
            );
        }
        // The key is printed on purpose: it is the user's own local key and what they
        // need to point a client here. It also lives in the key file below.
        println!(
            "sluice: serving the local namespace '{}'",
            ready.namespace.name
        );
        println!("  API host:  {apihost}");
        println!("  Auth:      {auth}");
        println!("  Data:      {}", data_dir.display());
        println!("  Key file:  {}", data_dir.join(server::KEY_FILE).display());
        println!();
        println!("Point wsk at it:");
        println!("  wsk property set --apihost {apihost} --auth {auth}");
        println!("Press Ctrl-C to stop.");
    });
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
