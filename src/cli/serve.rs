//! `sluice serve`: expose the local namespace over HTTP for `wsk`, the `openwhisk` npm client
//! and web browsers, until Ctrl-C.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use sluice_local::AppState;
use sluice_local::server::{self, DEFAULT_PORT};

use super::CliError;
use super::connection::local_error;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Port to listen on
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
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
    let prepared = server::prepare(&data_dir).map_err(local_error)?;
    let runtime = tokio::runtime::Runtime::new().map_err(CliError::other)?;
    runtime.block_on(async move {
        let addr = SocketAddr::new(args.host, args.port);
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            CliError::msg(format!("cannot listen on {addr}: {e}"))
                .with_help("pick another port with --port (0 picks a free one)")
        })?;
        let bound = listener.local_addr().map_err(CliError::other)?;
        let apihost = server::api_host_of(bound);
        let auth = prepared.namespace.auth();
        if !args.host.is_loopback() {
            eprintln!(
                "warning: listening on {bound}, reachable from other machines; requests still need the key"
            );
        }
        // The key is printed on purpose: it is the user's own local key and what they
        // need to point a client here. It also lives in the key file below.
        println!("sluice: serving the local namespace '{}'", prepared.namespace.name);
        println!("  API host:  {apihost}");
        println!("  Auth:      {auth}");
        println!("  Data:      {}", data_dir.display());
        println!("  Key file:  {}", data_dir.join(server::KEY_FILE).display());
        println!();
        println!("Point wsk at it:");
        println!("  wsk property set --apihost {apihost} --auth {auth}");
        println!("Press Ctrl-C to stop.");
        let state = AppState::new(prepared.store, prepared.data_dir);
        server::serve(listener, state, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(local_error)?;
        eprintln!("sluice: stopped");
        Ok(ExitCode::SUCCESS)
    })
}
