//! `sluice watch <project>`: redeploy what changed on every save, until Ctrl-C. The op
//! ([`ops::watch`]) does the watching and deploying; this module parses the flags and renders
//! its events as lines for people, or as NDJSON (one event per line) with `--json`/`-o json`.

use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use sluice_core::ops::{self, StopHandle, WatchEvent, WatchOptions, WatchReport};
use sluice_core::{DeployResponse, EntityKind, Error, Feedback, Step};

use super::deploy::ProjectArgs;
use super::render::{CliError, ConsoleFeedback};

#[derive(Debug, clap::Args)]
// The deploy flags a watch refuses (with a way out) are not offered in its help.
#[command(mut_arg("prune", |a| a.hide(true)), mut_arg("explain", |a| a.hide(true)))]
pub struct Args {
    #[command(flatten)]
    common: ProjectArgs,
    /// How long files must be quiet before a batch of changes is deployed, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    debounce: u64,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let common = &args.common;
    if common.prune() {
        return Err(CliError::msg(
            "--prune is not a flag of 'sluice watch': a watch deploys only what changed",
        )
        .with_help("run 'sluice deploy --prune' to delete what the project no longer has"));
    }
    if common.explain() {
        return Err(CliError::msg("--explain is not a flag of 'sluice watch'")
            .with_help("run 'sluice plan --explain' to see why each entity would be sent"));
    }
    let json = common.json();
    let printer = Arc::new(Printer {
        json,
        out: Mutex::new(()),
    });
    let feedback: Arc<dyn Feedback> = if json {
        Arc::new(JsonFeedback(printer.clone()))
    } else {
        Arc::new(ConsoleFeedback { quiet: true })
    };
    let first = common.open_session(feedback.clone())?;
    let targets = common.targets(&first);
    drop(first);
    let mut options = WatchOptions::new(
        common.project(),
        common.flags(true, false)?,
        common.deployer(),
    );
    options.debounce = Duration::from_millis(args.debounce);
    let report = Renderer {
        printer: printer.clone(),
        project: common.project().to_string(),
        environment: common
            .environment()?
            .map(|e| (e.describe(), e.name.clone())),
    };
    let stop = StopHandle::new();
    let runtime = tokio::runtime::Runtime::new().map_err(CliError::other)?;
    let on_signal = stop.clone();
    let signal_printer = printer.clone();
    runtime.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            signal_printer.note("Stopping (Ctrl-C again to stop at once)");
            on_signal.stop();
            // Builds run in process groups of their own, so a terminal's Ctrl-C does not
            // reach them: stop them (the local namespace's server is not a build). A stopped
            // build's thread waits for the process to end, so the watch ends here.
            if sluice_core::finder::stop_all_builds() > 0 {
                signal_printer.stopped();
                std::process::exit(0);
            }
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    let open = || {
        common
            .open_session(feedback.clone())
            .map_err(CliError::into_core)
    };
    let result = runtime.block_on(ops::watch::watch(&open, &options, &targets, &report, &stop));
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => Err(super::session::op_error(&e, common.project())),
    }
}

/// Serializes output from the watch loop, the builds' feedback and the signal handler.
struct Printer {
    json: bool,
    out: Mutex<()>,
}

impl Printer {
    fn line(&self, text: &str) {
        let _guard = self.out.lock();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    fn event(&self, value: &impl Serialize) {
        if let Ok(text) = serde_json::to_string(value) {
            self.line(&text);
        }
    }

    /// The watch has ended.
    fn stopped(&self) {
        if self.json {
            self.event(&json!({ "event": "stopped" }));
        } else {
            self.line("Stopped watching");
        }
    }

    /// A remark for people; in NDJSON it is an event of its own.
    fn note(&self, text: &str) {
        if self.json {
            self.event(&json!({ "event": "stopping" }));
        } else {
            self.line(text);
        }
    }
}

/// `--json`: builds and warnings as NDJSON events.
struct JsonFeedback(Arc<Printer>);

impl Feedback for JsonFeedback {
    fn progress(&self, _message: &str) {}

    fn warn(&self, message: &str) {
        self.0
            .event(&json!({ "event": "warning", "message": message }));
    }

    fn step(&self, step: &Step) {
        if let Step::BuildFinished { entity, ok } = step {
            self.0
                .event(&json!({ "event": "build", "entity": entity, "ok": ok }));
        }
    }
}

struct Renderer {
    printer: Arc<Printer>,
    project: String,
    /// The environment of `sluice.toml` the watch deploys to (chosen once, at the start), as
    /// the header names it, and its name for JSON.
    environment: Option<(String, String)>,
}

/// How NDJSON shows a failed batch.
#[derive(Serialize)]
struct ErrorEvent<'a> {
    event: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<String>,
    millis: u64,
    project: &'a str,
}

impl WatchReport for Renderer {
    fn event(&self, event: &WatchEvent) {
        if self.printer.json {
            match (event, &self.environment) {
                (WatchEvent::Watching { .. }, Some((_, name))) => {
                    let mut value = serde_json::to_value(event).unwrap_or_default();
                    if let Some(fields) = value.as_object_mut() {
                        fields.insert("environment".to_string(), json!(name));
                    }
                    self.printer.event(&value);
                }
                _ => self.printer.event(event),
            }
            return;
        }
        let p = &self.printer;
        match event {
            WatchEvent::Watching { .. } => {
                p.line(&format!("Watching '{}' [Ctrl-C to stop]", self.project));
                if let Some((described, _)) = &self.environment {
                    p.line(&format!("  for {described}"));
                }
            }
            WatchEvent::Change(batch) => {
                p.line("");
                p.line(&format!("Changed: {}", batch.paths.join(", ")));
                if batch.whole_project {
                    p.line("Redeploying the project (incremental)");
                } else {
                    p.line(&format!("Redeploying {}", batch.functions.join(", ")));
                }
            }
            WatchEvent::Skipped { paths, reason } => {
                p.line(&format!("Not deploying {}: {reason}", paths.join(", ")));
            }
            WatchEvent::Deploy {
                millis, outcome, ..
            } => {
                p.line(&summary(outcome, *millis));
                for f in &outcome.failures {
                    p.line(&format!("  Error: {f}"));
                }
                p.line("Watching for changes");
            }
            WatchEvent::Stopped => p.line("Stopped watching"),
            _ => {}
        }
    }

    fn error(&self, error: &Error, millis: u64) {
        if self.printer.json {
            self.printer.event(&ErrorEvent {
                event: "error",
                message: error.to_string(),
                file: error.file(),
                line: error.line(),
                help: error.help(),
                millis,
                project: &self.project,
            });
            return;
        }
        let report = miette::Report::new(super::session::op_error(error, &self.project));
        let _guard = self.printer.out.lock();
        let _ = std::io::stderr().write_all(format!("{report:?}\n").as_bytes());
        drop(_guard);
        self.printer.line(&format!(
            "Failed after {millis} ms; still watching (save to retry)"
        ));
    }
}

/// `Deployed a, b; 3 unchanged (120 ms)`.
fn summary(r: &DeployResponse, millis: u64) -> String {
    let sent: Vec<&str> = r
        .successes
        .iter()
        .filter(|s| s.kind == EntityKind::Action && !s.skipped)
        .map(|s| s.name.as_str())
        .collect();
    let unchanged = r
        .successes
        .iter()
        .filter(|s| s.kind == EntityKind::Action && s.skipped)
        .count();
    let mut text = if sent.is_empty() {
        "Nothing to deploy".to_string()
    } else {
        format!("Deployed {}", sent.join(", "))
    };
    if unchanged > 0 {
        text.push_str(&format!("; {unchanged} unchanged"));
    }
    if !r.failures.is_empty() {
        text.push_str(&format!("; {} failed", r.failures.len()));
    }
    format!("{text} ({millis} ms)")
}
