//! `sluice promote <from> <to> [project]`: the exact code of environment `<from>` deployed to
//! `<to>` with `<to>`'s settings ([`ops::promote`]). The plan is shown first; it is applied
//! after a yes on the terminal or with `--yes`; `--dry-run` stops at the plan. Promotion is
//! how a protected environment changes, so it needs no `--force`.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use serde::Serialize;
use sluice_core::Flags;
use sluice_core::ops::{self, Confirm, PromoteOptions};
use sluice_core::releases::Release;
use sluice_core::{DeployResponse, Plan};

use super::connection::{TargetArgs, TokenArgs};
use super::deploy_output::{Output, print_summary};
use super::hooks::HookArgs;
use super::plugins::PluginArgs;
use super::render::{CliError, OutputArgs};
use super::session::{self, CliTargets};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The environment (of sluice.toml) whose deployed code is promoted
    from: String,
    /// The environment it is promoted to
    to: String,
    /// The project directory
    #[arg(default_value = ".")]
    project: String,
    /// Apply the plan without asking
    #[arg(short = 'y', long)]
    yes: bool,
    /// Show the plan and stop
    #[arg(long, conflicts_with = "yes")]
    dry_run: bool,
    /// JSON: transcript, source, target, plan, outcome (null for a dry run), release
    #[command(flatten)]
    output: OutputArgs,
}

/// What `promote --json` prints.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonOutput {
    transcript: Vec<String>,
    source: Where,
    target: Where,
    plan: Plan,
    outcome: Option<DeployResponse>,
    release: Option<Release>,
}

#[derive(Serialize)]
struct Where {
    environment: String,
    namespace: String,
    apihost: String,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let json = args.output.json();
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !args.yes && !args.dry_run && (json || !interactive) {
        return Err(CliError::msg(format!(
            "promoting '{}' to '{}' needs a confirmation, and {}",
            args.from,
            args.to,
            if json {
                "--json output cannot ask for one"
            } else {
                "this is not a terminal"
            }
        ))
        .with_help("review the plan with --dry-run, then promote with --yes (-y)"));
    }
    let from_env = named(&args.project, &args.from)?;
    let to_env = named(&args.project, &args.to)?;
    let flags = Flags {
        env: to_env.env_file.as_ref().map(|p| p.display().to_string()),
        build_env: to_env
            .build_env_file
            .as_ref()
            .map(|p| p.display().to_string()),
        environment: Some(to_env.name.clone()),
        json,
        ..Flags::default()
    };
    let mut options = PromoteOptions::new(&args.project, &args.from, flags, None);
    options.dry_run = args.dry_run;
    if !args.yes && !args.dry_run {
        options.confirm = Some(ask(&args.from, &args.to));
    }

    let out = Output::new(json);
    let session = match session::open_in(
        &args.project,
        &PluginArgs::default(),
        &HookArgs::default(),
        out.feedback.clone(),
        Some(&to_env),
        &sluice_core::Flags::default(),
    ) {
        Ok(s) => s,
        Err(e) => return out.fail(e),
    };
    let none = (TargetArgs::default(), TokenArgs::default());
    let from_targets = CliTargets::new(&none.0, &none.1, &session).in_environment(Some(&from_env));
    let to_targets = CliTargets::new(&none.0, &none.1, &session).in_environment(Some(&to_env));
    let runtime = tokio::runtime::Runtime::new().map_err(CliError::other)?;
    let outcome = match runtime.block_on(ops::promote::promote(
        &session,
        &options,
        &from_targets,
        &to_targets,
    )) {
        Ok(o) => o,
        Err(e) => return out.fail(session::op_error(&e, &args.project)),
    };

    let failed = outcome
        .response
        .as_ref()
        .is_some_and(|r| !r.failures.is_empty());
    if json {
        let doc = JsonOutput {
            transcript: out.transcript(),
            source: Where {
                environment: args.from.clone(),
                namespace: outcome.source.namespace.clone(),
                apihost: outcome.source.apihost.clone(),
            },
            target: Where {
                environment: args.to.clone(),
                namespace: outcome.target.namespace.clone(),
                apihost: outcome.target.apihost.clone(),
            },
            plan: outcome.plan,
            outcome: outcome.response,
            release: outcome.release,
        };
        super::render::print_json(&doc)?;
    } else {
        // With a question the plan was shown before it.
        if options.confirm.is_none() {
            super::plan_output::print_plan(&outcome.plan, false);
        }
        match (&outcome.response, &outcome.release) {
            (None, _) => println!(
                "\nDry run: nothing was promoted. Promote with 'sluice promote {} {} --yes'",
                args.from, args.to
            ),
            (Some(response), release) => {
                println!();
                print_summary(response);
                match release {
                    Some(r) => println!(
                        "Recorded release '{}' ({} -> {}) in .deployed/releases.jsonl",
                        r.id, r.source, r.target
                    ),
                    None => println!("No release was recorded: some entities failed"),
                }
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The environment `name` of the project's sluice.toml.
fn named(project: &str, name: &str) -> Result<sluice_core::settings::Environment, CliError> {
    super::env::choose(project, Some(name))?.ok_or_else(|| {
        CliError::msg(format!("there is no environment '{name}'"))
            .with_help("list the environments with 'sluice env list'")
    })
}

/// Shows the plan on the terminal and asks whether to apply it.
fn ask(from: &str, to: &str) -> Confirm {
    let question = format!("Promote '{from}' to '{to}'? [y/N] ");
    Confirm(Arc::new(move |plan: &Plan| {
        super::plan_output::print_plan(plan, false);
        let mut err = std::io::stderr();
        let _ = write!(err, "{question}");
        let _ = err.flush();
        let mut answer = String::new();
        if std::io::stdin().lock().read_line(&mut answer).is_err() {
            return false;
        }
        matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes")
    }))
}
