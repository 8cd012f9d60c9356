//! How a deploy's outcome looks: the summary in the original deployer's words (spec §1.3) on
//! the console, or the `{transcript, outcome}` document with `--json`, which is printed even
//! when a phase fails.

use std::process::ExitCode;
use std::sync::Arc;

use serde::Serialize;
use sluice_core::{DeployResponse, EntityKind, Feedback, Recorder};

use super::render::CliError;

/// The `--json` document.
#[derive(Debug, Serialize)]
struct JsonOutput {
    transcript: Vec<String>,
    outcome: DeployResponse,
}

/// Where the run's progress and warnings go: the console, or the `--json` transcript.
pub struct Output {
    json: bool,
    recorder: Arc<Recorder>,
    pub feedback: Arc<dyn Feedback>,
}

impl Output {
    pub fn new(json: bool) -> Self {
        let recorder = Arc::new(Recorder::default());
        let feedback: Arc<dyn Feedback> = if json {
            recorder.clone()
        } else {
            super::progress::for_people()
        };
        Output {
            json,
            recorder,
            feedback,
        }
    }

    /// A phase failed: in JSON an outcome holding the error, else the error itself.
    pub fn fail(&self, error: CliError) -> Result<ExitCode, CliError> {
        if !self.json {
            return Err(error);
        }
        let outcome = DeployResponse::failure(error.to_string(), None);
        self.print_json(outcome)?;
        Ok(ExitCode::FAILURE)
    }

    /// The warnings recorded for `--json` so far.
    pub fn transcript(&self) -> Vec<String> {
        self.recorder.warnings()
    }

    pub fn print_json(&self, outcome: DeployResponse) -> Result<(), CliError> {
        let doc = JsonOutput {
            transcript: self.recorder.warnings(),
            outcome,
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).map_err(CliError::other)?
        );
        Ok(())
    }
}

/// The result summary of spec §1.3, in the original's words.
pub fn print_summary(r: &DeployResponse) {
    if r.successes.is_empty() && r.failures.is_empty() && r.deleted.is_empty() {
        println!("\nNothing deployed");
        return;
    }
    println!();
    let names = |kind: EntityKind, skipped: bool| -> Vec<&str> {
        r.successes
            .iter()
            .filter(|s| s.kind == kind && s.skipped == skipped)
            .map(|s| s.name.as_str())
            .collect()
    };
    let deployed = names(EntityKind::Action, false);
    if !deployed.is_empty() {
        println!("Deployed functions ('sluice functions get <funcName> --url' for URL):");
        for n in deployed {
            println!("  - {n}");
        }
    }
    let skipped = names(EntityKind::Action, true).len();
    if skipped > 0 {
        println!("Skipped {skipped} unchanged functions");
    }
    let triggers = names(EntityKind::Trigger, false);
    if !triggers.is_empty() {
        println!("Deployed triggers:");
        for n in triggers {
            println!("  - {n}");
        }
    }
    let skipped_triggers = names(EntityKind::Trigger, true).len();
    if skipped_triggers > 0 {
        println!("Skipped {skipped_triggers} triggers");
    }
    let bound = names(EntityKind::Binding, false);
    if !bound.is_empty() {
        println!("Deployed bound packages:");
        for n in bound {
            println!("  - {n}");
        }
    }
    if !r.deleted.is_empty() {
        println!("Deleted (--prune):");
        for d in &r.deleted {
            println!("  - {}", d.name);
        }
    }
    if !r.failures.is_empty() {
        println!("Failures:");
        let marker = if cfg!(windows) { "»" } else { "›" };
        for f in &r.failures {
            eprintln!("{marker}   Error: {f}");
        }
    }
}
