//! `sluice plan <project>` (and `deploy --dry-run`): read and build as a deploy would, then
//! print what the deploy would change. `--out FILE` saves the plan for `deploy --plan FILE`;
//! `--detailed-exitcode` exits 2 when there are changes, as `terraform plan` does.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use sluice_core::ops::{self, Confirm, PlanOptions};
use sluice_core::{ChangeKind, Plan};

use super::deploy::ProjectArgs;
use super::deploy_output::Output;
use super::render::CliError;

/// How a plan is handed over.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanOutputArgs {
    /// Exit 2 when the plan has changes, 0 when it has none, 1 on errors (as 'terraform plan -detailed-exitcode')
    #[arg(long)]
    detailed_exitcode: bool,
    /// Also write the plan as JSON to FILE, for 'sluice deploy --plan FILE'
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

impl PlanOutputArgs {
    /// These flags only mean something when a plan is printed.
    pub fn refuse_without_dry_run(&self) -> Result<(), CliError> {
        let flag = match (self.detailed_exitcode, &self.out) {
            (true, _) => "--detailed-exitcode",
            (false, Some(_)) => "--out",
            (false, None) => return Ok(()),
        };
        Err(CliError::msg(format!(
            "{flag} is a flag of a plan, and this deploy sends changes"
        ))
        .with_help("use 'sluice plan' or 'sluice deploy --dry-run' with it"))
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    common: ProjectArgs,
    #[command(flatten)]
    plan_output: PlanOutputArgs,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    run_plan(&args.common, &args.plan_output)
}

/// Makes and prints the plan of `common.project`.
pub fn run_plan(common: &ProjectArgs, output: &PlanOutputArgs) -> Result<ExitCode, CliError> {
    common.apply_build_limits()?;
    let out = Output::new(common.json());
    let options = PlanOptions::new(
        common.project(),
        common.flags(true, false)?,
        common.deployer(),
    );
    let outcome = match common.with_session(&out, async |session, targets| {
        ops::plan::plan(session, &options, targets).await
    })? {
        Ok(o) => o,
        Err(code) => return Ok(code),
    };
    let plan = outcome.plan;
    if let Some(file) = &output.out {
        write_plan(file, &plan)?;
    }
    if common.json() {
        println!(
            "{}",
            serde_json::to_string_pretty(&plan).map_err(CliError::other)?
        );
    } else {
        super::plan_output::print_plan(&plan, common.explain());
        if let Some(file) = &output.out {
            println!(
                "\nSaved the plan to '{}': apply exactly it with 'sluice deploy --plan {}'",
                file.display(),
                file.display()
            );
        }
    }
    Ok(match (output.detailed_exitcode, plan.has_changes()) {
        (true, true) => ExitCode::from(2),
        _ => ExitCode::SUCCESS,
    })
}

fn write_plan(file: &Path, plan: &Plan) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(plan).map_err(CliError::other)?;
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let cannot = |e: std::io::Error| {
        CliError::msg(format!(
            "cannot write the plan to '{}': {e}",
            file.display()
        ))
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(cannot)?;
    tmp.write_all(text.as_bytes()).map_err(cannot)?;
    tmp.write_all(b"\n").map_err(cannot)?;
    tmp.persist(file).map_err(|e| cannot(e.error))?;
    Ok(())
}

/// A plan saved by `plan --out`.
pub fn read_saved(file: &Path) -> Result<Plan, CliError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::msg(format!("cannot read the plan '{}': {e}", file.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        CliError::msg(format!(
            "'{}' is not a plan made by 'sluice plan --out' (line {}, column {}: {e})",
            file.display(),
            e.line(),
            e.column()
        ))
        .with_help("make one with 'sluice plan --out <FILE>'")
    })
}

/// Asks on the terminal before `--prune` deletes; off a terminal the deletes need `--yes`.
pub fn confirm_deletes() -> Result<Confirm, CliError> {
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    Ok(Confirm(Arc::new(move |plan: &Plan| {
        let mut err = std::io::stderr();
        let _ = writeln!(err, "--prune will delete:");
        for c in plan.of(ChangeKind::Delete) {
            let _ = writeln!(err, "  - {} {}", c.entity.as_str(), c.name);
        }
        if !interactive {
            let _ = writeln!(
                err,
                "Not on a terminal, so nothing is deleted without --yes (-y)."
            );
            return false;
        }
        let _ = write!(err, "Delete them? [y/N] ");
        let _ = err.flush();
        let mut answer = String::new();
        if std::io::stdin().lock().read_line(&mut answer).is_err() {
            return false;
        }
        matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes")
    })))
}
