//! sluice-python-builder: builds python functions that have a `requirements.txt` and no build
//! script or `package.json`, by installing the requirements with pip into a `virtualenv/`
//! inside the function directory, then collecting the directory with the core finder, so the
//! zip carries `virtualenv/bin/activate_this.py` and `virtualenv/lib/pythonX.Y/site-packages`
//! — the layout OpenWhisk's and DigitalOcean's python runtimes activate.
//!
//! It owns: detection (priority below the script and npm builders, so `build.sh`, `build.cmd`
//! or `package.json` still decide), the pip command (`<python> -m pip install -r
//! requirements.txt --target virtualenv/lib/pythonX.Y/site-packages`, python being
//! `$SLUICE_PYTHON` or `python3`), and the incremental rule: with `--incremental` pip is not run
//! when `virtualenv/.sluice-requirements` records the same `requirements.txt` digest and
//! python version as now.
//!
//! It must not change what the original deployer records: the build kind stays `identify`
//! (or `.include`), as the original plans such a function, so `get-metadata` is unchanged and
//! only sluice's local build does more. It must not delete a `virtualenv/` it did not write,
//! and it does not build `lib/`.

mod error;
pub mod interpreter;
pub mod venv;

pub use error::PythonError;

use sluice_core::finder::{self, BuildCommand};
use sluice_core::runtimes::{Agreement, agree_on_runtime, family};
use sluice_core::{
    ActionSpec, Artifact, BuildContext, BuildJob, BuildStatus, BuildTarget, Builder, Detection,
    Error, Result, RuntimeTable, build_kind,
};

use crate::venv::{Layout, VIRTUALENV};

/// The file that makes a python function this builder's.
pub const REQUIREMENTS: &str = "requirements.txt";
/// Files whose builders win over this one.
const OTHER_BUILDS: &[&str] = &["build.sh", "build.cmd", "package.json"];
/// How a failed install is named (`'pip install' exited with code 1`).
pub const ERROR_TAG: &str = "pip install";

/// The `requirements.txt` builder (name `python`).
#[derive(Debug, Default, Clone, Copy)]
pub struct PythonBuilder;

/// Whether the target is a python function: its explicit runtime, else the one its
/// top-level files agree on.
fn is_python(target: &BuildTarget<'_>) -> bool {
    let explicit = target
        .action
        .and_then(|a| a.runtime.as_deref())
        .filter(|r| !r.is_empty());
    match explicit {
        Some(runtime) => family(runtime) == "python",
        None => matches!(
            agree_on_runtime(target.files.iter().map(String::as_str), &RuntimeTable::builtin()),
            Agreement::Agreed(r) if family(&r) == "python"
        ),
    }
}

/// The pip command line for an interpreter and a layout.
pub fn command_line(program: &str, layout: &Layout) -> String {
    format!(
        "{} -m pip install -r {REQUIREMENTS} --target {}",
        interpreter::shell_word(program),
        layout.site_packages
    )
}

impl Builder for PythonBuilder {
    fn name(&self) -> &str {
        "python"
    }

    fn detect(&self, target: &BuildTarget<'_>) -> Option<Detection> {
        target.action?;
        let claims = target.has_file(REQUIREMENTS)
            && !OTHER_BUILDS.iter().any(|f| target.has_file(f))
            && is_python(target);
        if !claims {
            return None;
        }
        // The same kinds the finder records (the original plans these functions so), each
        // claimed just above the finder's priority for it.
        Some(
            if target.has_file(".include") || target.has_file(".source") {
                Detection {
                    kind: build_kind::INCLUDE.to_string(),
                    priority: 15,
                }
            } else {
                Detection {
                    kind: build_kind::IDENTIFY.to_string(),
                    priority: 10,
                }
            },
        )
    }

    fn build(&self, job: &BuildJob<'_>, ctx: &BuildContext) -> Result<Option<Artifact>> {
        let BuildJob::Action { package, action } = job else {
            return Err(Error::Build {
                entity: job.entity(),
                message: "the python builder does not build lib/".to_string(),
                output: None,
            });
        };
        build_action(package, action, ctx).map(Some)
    }
}

fn build_action(package: &str, action: &ActionSpec, ctx: &BuildContext) -> Result<Artifact> {
    let job = BuildJob::Action { package, action };
    let (rel_dir, entity) = finder::job_dir(&job, REQUIREMENTS)?;
    let dir = ctx.resolve(&rel_dir);
    let qualified = action.qualified_name(package);
    let program = interpreter::program(ctx);
    let x_y = interpreter::version(&program, ctx).map_err(|e| e.into_build(&entity))?;
    let layout = Layout::new(&dir, &x_y);
    let command_line = command_line(&program, &layout);

    let mut skipped = false;
    if layout.is_foreign() {
        ctx.feedback.warn(&format!(
            "{} has a {VIRTUALENV}/ that sluice did not make; it is deployed as it is and {REQUIREMENTS} is not installed (delete {VIRTUALENV}/ to have sluice install it)",
            finder::display_path(ctx, &rel_dir)
        ));
    } else {
        let stamp =
            venv::stamp(&dir.join(REQUIREMENTS), &x_y).map_err(|e| e.into_build(&entity))?;
        skipped = ctx.flags.incremental && layout.is_current(&stamp, &dir);
        let why = match (skipped, ctx.flags.incremental) {
            (true, _) => format!(
                "skipped pip: {REQUIREMENTS} and python {x_y} are unchanged since {VIRTUALENV}/ was made"
            ),
            (false, true) => format!(
                "built with pip: {REQUIREMENTS} or the python version changed, or {VIRTUALENV}/ is missing"
            ),
            (false, false) => "built with pip: no --incremental".to_string(),
        };
        finder::explain(ctx, &qualified, &why);
        if skipped {
            if ctx.flags.verbose_build {
                ctx.feedback.progress(&format!(
                    "Skipping '{command_line}' in {} because the previous build is still valid",
                    dir.display()
                ));
            }
        } else {
            layout.recreate(&dir).map_err(|e| e.into_build(&entity))?;
            let display_path = finder::display_path(ctx, &rel_dir);
            finder::run_build_command(
                &BuildCommand {
                    command_line: &command_line,
                    info: &command_line,
                    error_tag: ERROR_TAG,
                    dir: &dir,
                    display_path: &display_path,
                    entity: &entity,
                },
                ctx,
            )?;
            layout
                .mark_installed(&stamp)
                .map_err(|e| e.into_build(&entity))?;
        }
    }

    let action = settle_runtime(package, action, ctx)?;
    warn_about_mismatches(&action, &qualified, &program, &x_y, &dir, ctx);
    let mut artifact = finder::identify(package, &action, ctx)?;
    if skipped {
        artifact.status = BuildStatus::Skipped;
    }
    Ok(artifact)
}

/// The action with its runtime settled from its own files, not the installed packages: a
/// package may ship `.js` or `.go` files, which must not make the finder see a runtime
/// conflict.
fn settle_runtime(package: &str, action: &ActionSpec, ctx: &BuildContext) -> Result<ActionSpec> {
    let mut action = action.clone();
    if action.runtime.as_deref().is_none_or(str::is_empty) {
        let sources = finder::collect_sources(package, &action, ctx)?;
        let own = sources
            .iter()
            .map(|s| s.name.as_str())
            .filter(|n| !n.starts_with(&format!("{VIRTUALENV}/")));
        if let Agreement::Agreed(runtime) = agree_on_runtime(own, &ctx.runtimes) {
            action.runtime = Some(runtime);
        }
    }
    Ok(action)
}

/// Warnings for a build that would not load as the user expects in the cloud: packages
/// installed for another python than the runtime's, or an `.include` that leaves them out.
fn warn_about_mismatches(
    action: &ActionSpec,
    qualified: &str,
    program: &str,
    x_y: &str,
    dir: &std::path::Path,
    ctx: &BuildContext,
) {
    let runtime = action.runtime.as_deref().unwrap_or_default();
    if let Some(wanted) = interpreter::runtime_version(runtime).filter(|v| *v != x_y) {
        ctx.feedback.warn(&format!(
            "Function '{qualified}' runs on {runtime} but its requirements were installed with python {x_y} ('{program}'); packages with compiled code may not load there. Set SLUICE_PYTHON to a python{wanted} to match"
        ));
    }
    let include = ["include", "source"]
        .iter()
        .map(|n| dir.join(format!(".{n}")))
        .find(|p| p.is_file());
    if let Some(include) = include {
        let lists_virtualenv = std::fs::read_to_string(&include).is_ok_and(|text| {
            text.lines()
                .any(|l| l.trim().trim_start_matches("./").trim_end_matches('/') == VIRTUALENV)
        });
        if !lists_virtualenv {
            ctx.feedback.warn(&format!(
                "Function '{qualified}' installs {REQUIREMENTS} but its {} does not list {VIRTUALENV}, so the installed packages are not deployed; add a line '{VIRTUALENV}'",
                include.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
            ));
        }
    }
}
