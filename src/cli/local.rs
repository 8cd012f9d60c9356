//! `sluice local status|stop|logs|namespace`: the background server of the local namespace
//! (one per data directory, started on demand by any command that needs it), and the hidden
//! `sluice local daemon` that is that server.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use serde_json::json;
use sluice_local::LocalError;
use sluice_local::daemon::{self, DaemonOptions, client};

use super::CliError;
use super::connection::local_error;
use super::render::{OutputArgs, print_json};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where the namespace's database and key live [default: $XDG_DATA_HOME/sluice or
    /// ~/.local/share/sluice]
    #[arg(long, env = "SLUICE_LOCAL_DIR", global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: LocalCommand,
}

#[derive(Debug, clap::Subcommand)]
enum LocalCommand {
    /// Say whether the local namespace server runs, where, and with which namespaces
    Status {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Stop the local namespace server (the next command that needs it starts it again)
    ///
    /// With --json: `{"stopped": true|false, "pid": N|null, "dataDir": PATH}` (stopped is false
    /// when no server ran).
    Stop {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Print the server's log
    ///
    /// With --json: one document, `{"log": PATH, "exists": true|false, "lines": [...]}`, the
    /// lines as strings without their newline (`jq -r '.lines[]'` gives the text back).
    Logs {
        /// Only the last N lines
        #[arg(long, short = 'n', value_name = "N")]
        lines: Option<usize>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Create, list and delete local namespaces (each has its own key)
    #[command(subcommand)]
    Namespace(NamespaceCommand),
    /// Run the server in the background (started by sluice itself)
    #[command(hide = true)]
    Daemon {
        /// Exit after this long without requests (`30s`, `15m`, `0` for never)
        /// [default: $SLUICE_LOCAL_IDLE or 15m]
        #[arg(long)]
        idle: Option<String>,
    },
}

#[derive(Debug, clap::Subcommand)]
enum NamespaceCommand {
    /// Create a namespace (with a fresh key); `sluice namespace use NAME` then targets it
    ///
    /// A name is 1 to 64 letters, digits, `_` or `-`, starting with a letter or digit. With
    /// --json: `{"name", "apiHost", "auth"}`, auth masked; --show-key adds `key`, the whole key.
    Create {
        name: String,
        /// Print the namespace's whole key (`key` in JSON; masked otherwise)
        #[arg(long)]
        show_key: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List the namespaces
    List {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Delete a namespace and everything deployed in it
    ///
    /// With --json: `{"deleted": NAME}`.
    Delete {
        name: String,
        #[command(flatten)]
        output: OutputArgs,
    },
}

/// The API host the credential store records for a local namespace chosen with `sluice
/// namespace use`: not a URL, a marker that sends commands to the background server (whose
/// address and keys are looked up each time).
pub const LOCAL_APIHOST: &str = "sluice-local";

/// The placeholder key stored with [`LOCAL_APIHOST`] (the real key stays in the data dir).
const LOCAL_KEY_PLACEHOLDER: &str = "local:kept-by-the-local-server";

/// Whether the local server (started if needed) holds the namespace `name`.
pub fn has_local_namespace(name: &str) -> Result<bool, CliError> {
    let dir = data_dir(None)?;
    let (file, _) = ensure_daemon(&dir).map_err(local_error)?;
    Ok(client::namespace(&file, name)
        .map_err(local_error)?
        .is_some())
}

/// The whole key of the local namespace `name` (the local server is started if needed).
pub fn local_namespace_key(name: &str) -> Result<String, CliError> {
    let dir = data_dir(None)?;
    let (file, _) = ensure_daemon(&dir).map_err(local_error)?;
    client::namespace(&file, name)
        .map_err(local_error)?
        .map(|n| n.auth)
        .ok_or_else(|| {
            CliError::msg(format!("the local server has no namespace '{name}'"))
                .with_help("list them with 'sluice local namespace list'")
        })
}

/// Records the local namespace `name` in the credential store and makes it current.
pub fn use_local_namespace(store: &mut sluice_openwhisk::CredentialStore, name: &str) {
    store.add(LOCAL_APIHOST, name, LOCAL_KEY_PLACEHOLDER, Some("local"));
}

/// The data directory: `--data-dir`, `$SLUICE_LOCAL_DIR`, else the default.
fn data_dir(given: Option<PathBuf>) -> Result<PathBuf, CliError> {
    match given {
        Some(d) => Ok(d),
        None => sluice_local::server::default_data_dir().map_err(local_error),
    }
}

/// The command that runs the background server of `data_dir`: this very executable.
pub fn daemon_command(data_dir: &Path) -> Result<Command, LocalError> {
    let exe = std::env::current_exe().map_err(|source| LocalError::Io {
        path: PathBuf::from("sluice"),
        source,
    })?;
    let mut cmd = Command::new(exe);
    cmd.arg("local")
        .arg("daemon")
        .arg("--data-dir")
        .arg(data_dir);
    Ok(cmd)
}

/// The server of `data_dir`, started in the background when none runs.
pub fn ensure_daemon(
    data_dir: &Path,
) -> Result<(daemon::files::DaemonFile, daemon::DaemonStatus), LocalError> {
    if let Some(found) = client::probe(data_dir) {
        return Ok(found);
    }
    // The new server reads $SLUICE_LOCAL_IDLE; a bad value is named here rather than left to
    // a server that exits with it in its log.
    if let Err(e) = idle_period(None) {
        return Err(LocalError::Daemon(format!(
            "not started for {}, as {e}: {}",
            data_dir.display(),
            e.help().unwrap_or("write it like 30s, 15m or 1h")
        )));
    }
    let cmd = daemon_command(data_dir)?;
    client::ensure(data_dir, move || cmd)
}

fn idle_period(flag: Option<String>) -> Result<Option<Duration>, CliError> {
    let (text, origin) = match flag {
        Some(t) => (t, "--idle"),
        None => match std::env::var(daemon::IDLE_ENV) {
            Ok(t) if !t.trim().is_empty() => (t, daemon::IDLE_ENV),
            _ => return Ok(Some(daemon::DEFAULT_IDLE)),
        },
    };
    daemon::parse_idle(&text).ok_or_else(|| {
        let origin = if origin == daemon::IDLE_ENV {
            format!("${origin}")
        } else {
            origin.to_string()
        };
        CliError::msg(format!("{origin} is '{text}', which is not a duration")).with_help(format!(
            "write it like 30s, 15m or 1h (0 never exits){}",
            if origin.starts_with('$') {
                format!(
                    ", or unset {} for the default {}m",
                    daemon::IDLE_ENV,
                    daemon::DEFAULT_IDLE.as_secs() / 60
                )
            } else {
                String::new()
            }
        ))
    })
}

fn describe_idle(idle: Option<u64>) -> String {
    match idle {
        None => "never (stop it with `sluice local stop`)".to_string(),
        Some(s) if s % 3600 == 0 && s > 0 => format!("after {}h without requests", s / 3600),
        Some(s) if s % 60 == 0 && s > 0 => format!("after {}m without requests", s / 60),
        Some(s) => format!("after {s}s without requests"),
    }
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let dir = data_dir(args.data_dir)?;
    match args.command {
        LocalCommand::Status { output } => status(&dir, output.json()),
        LocalCommand::Stop { output } => stop(&dir, output.json()),
        LocalCommand::Logs { lines, output } => logs(&dir, lines, output.json()),
        LocalCommand::Namespace(cmd) => namespace(&dir, cmd),
        LocalCommand::Daemon { idle } => {
            let mut opts = DaemonOptions::new(dir);
            opts.idle = idle_period(idle)?;
            let idle_text = describe_idle(opts.idle.map(|d| d.as_secs()));
            daemon::run(opts, |ready| {
                println!(
                    "{} sluice: process {} serves {} at {} (exits {idle_text})",
                    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    std::process::id(),
                    ready.data_dir.display(),
                    ready.api_host,
                );
            })
            .map_err(local_error)?;
            println!(
                "{} sluice: process {} stopped",
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                std::process::id()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn status(dir: &Path, as_json: bool) -> Result<ExitCode, CliError> {
    let Some((_, s)) = client::probe(dir) else {
        if as_json {
            print_json(&json!({ "running": false, "dataDir": dir }))?;
        } else {
            println!(
                "sluice: no local namespace server runs for {}",
                dir.display()
            );
            println!(
                "  (any command that needs it starts it; `sluice serve` runs it in the foreground)"
            );
        }
        return Ok(ExitCode::from(3));
    };
    if as_json {
        let mut v = serde_json::to_value(&s).map_err(CliError::other)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("running".into(), json!(true));
            o.insert("log".into(), json!(daemon::files::log_path(dir)));
        }
        print_json(&v)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("sluice: the local namespace server is running");
    println!("  API host:    {}", s.api_host);
    println!("  Namespaces:  {}", s.namespaces.join(", "));
    println!("  Process:     {}", s.pid);
    println!("  Data:        {}", s.data_dir.display());
    println!("  Log:         {}", daemon::files::log_path(dir).display());
    println!("  Idle exit:   {}", describe_idle(s.idle_exit_seconds));
    println!(
        "  Workers:     at most {} at once, {} per action; {} warm, idle ones kept {} s",
        s.runner.max_workers,
        s.runner.max_per_action,
        s.runner.idle_workers,
        s.runner.idle_worker_seconds
    );
    println!("  Confinement: {}", s.runner.confinement);
    if s.running_activations > 0 {
        println!("  Running:     {} activation(s)", s.running_activations);
    }
    Ok(ExitCode::SUCCESS)
}

fn stop(dir: &Path, as_json: bool) -> Result<ExitCode, CliError> {
    let stopped = client::stop(dir).map_err(local_error)?;
    if as_json {
        print_json(&json!({
            "stopped": stopped.is_some(),
            "pid": stopped.as_ref().map(|s| s.pid),
            "dataDir": dir,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    match stopped {
        Some(s) => println!(
            "sluice: stopped the local namespace server (process {})",
            s.pid
        ),
        None => println!(
            "sluice: no local namespace server runs for {}",
            dir.display()
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// The log, as text or as one JSON document (`{"log", "exists", "lines": [...]}`): a
/// document like every other `--json` answer, so `jq '.lines[]'` gives the text back.
fn logs(dir: &Path, lines: Option<usize>, as_json: bool) -> Result<ExitCode, CliError> {
    let path = daemon::files::log_path(dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(CliError::msg(format!("{}: {e}", path.display())).with_help(
                "check the data directory's permissions (--data-dir, $SLUICE_LOCAL_DIR)",
            ));
        }
    };
    let all: Vec<&str> = text
        .as_deref()
        .map(|t| t.lines().collect())
        .unwrap_or_default();
    let from = lines.map_or(0, |n| all.len().saturating_sub(n));
    let shown = &all[from..];
    if as_json {
        print_json(&json!({ "log": path, "exists": text.is_some(), "lines": shown }))?;
    } else if text.is_none() {
        println!("sluice: no log yet ({} does not exist)", path.display());
    } else {
        for line in shown {
            println!("{line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A namespace `local namespace create --json` made.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    name: String,
    api_host: String,
    /// The key, masked.
    auth: String,
    /// The whole key, only with `--show-key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
}

fn namespace(dir: &Path, cmd: NamespaceCommand) -> Result<ExitCode, CliError> {
    let (file, _) = ensure_daemon(dir).map_err(local_error)?;
    match cmd {
        NamespaceCommand::Create {
            name,
            show_key,
            output,
        } => {
            let exists = client::namespace(&file, &name)
                .map_err(local_error)?
                .is_some();
            if exists {
                return Err(CliError::msg(format!(
                    "the local namespace '{name}' already exists"
                ))
                .with_help(format!(
                    "target it with `sluice namespace use {name}`, or delete it first with `sluice local namespace delete {name}`"
                )));
            }
            let created = client::create_namespace(&file, &name).map_err(local_error)?;
            if output.json() {
                print_json(&Created {
                    auth: sluice_core::mask_secret(&created.auth),
                    key: show_key.then(|| created.auth.clone()),
                    name: created.name,
                    api_host: file.api_host.clone(),
                })?;
            } else {
                println!("sluice: created the local namespace '{}'", created.name);
                println!("  target it with `sluice namespace use {}`", created.name);
                if show_key {
                    println!("  key: {}", created.auth);
                }
            }
        }
        NamespaceCommand::List { output } => {
            let names = client::namespaces(&file).map_err(local_error)?;
            if output.json() {
                print_json(&json!(names))?;
            } else {
                for n in names {
                    println!("{n}");
                }
            }
        }
        NamespaceCommand::Delete { name, output } => {
            client::delete_namespace(&file, &name).map_err(local_error)?;
            if output.json() {
                print_json(&json!({ "deleted": name }))?;
            } else {
                println!("sluice: deleted the local namespace '{name}' and everything in it");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
