//! sluice-npm-builder: builds functions (and `lib/`) that have a `package.json`, with npm or
//! (`--yarn`) yarn, then collects the result with the core finder (spec §7.3).
//!
//! With a `build` script the command is `<cmd> install && <cmd> run build`, otherwise
//! `<cmd> install --production`. With `--incremental`, a package that "appears built"
//! (`node_modules` and the newer lock file at least as new as `package.json`; with a build
//! script also a `.built` marker) is not built again. After a successful build the lock
//! files and `node_modules` are touched so the next incremental run sees them as current.
//! `package.json`, the lock files and `node_modules` are part of the deployed zip.

use std::path::Path;
use std::time::SystemTime;

use sluice_core::finder::{self, BuildCommand};
use sluice_core::{
    Artifact, BuildContext, BuildJob, BuildStatus, BuildTarget, Builder, Detection, Error, Result,
};

/// The marker a build script leaves to say it is done.
pub const BUILT_MARKER: &str = ".built";
const LOCK_FILES: &[&str] = &["package-lock.json", "yarn.lock"];

/// The `package.json` builder (name `npm`).
#[derive(Debug, Default, Clone, Copy)]
pub struct NpmBuilder;

/// What will run, and how messages name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The command line (also the progress messages' name for it).
    pub command_line: String,
    /// How the failure message names it: always `<cmd> install`.
    pub error_tag: String,
    /// Whether `package.json` has a `build` script.
    pub has_build_script: bool,
}

/// The commands for a directory: npm or yarn, with or without the build script.
pub fn plan(dir: &Path, yarn: bool) -> Plan {
    let cmd = if yarn { "yarn" } else { "npm" };
    let has_build_script = std::fs::read(dir.join("package.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|pkg| {
            pkg.get("scripts")
                .and_then(|s| s.get("build"))
                .is_some_and(|b| !b.is_null() && b.as_str() != Some(""))
        });
    let command_line = if has_build_script {
        format!("{cmd} install && {cmd} run build")
    } else {
        format!("{cmd} install --production")
    };
    Plan {
        command_line,
        error_tag: format!("{cmd} install"),
        has_build_script,
    }
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// `node_modules` and the newer lock file exist and are at least as new as `package.json`.
pub fn appears_built(dir: &Path) -> bool {
    let Some(package_json) = mtime(&dir.join("package.json")) else {
        return false;
    };
    let modules_current = mtime(&dir.join("node_modules")).is_some_and(|t| t >= package_json);
    let newest_lock = LOCK_FILES.iter().filter_map(|f| mtime(&dir.join(f))).max();
    modules_current && newest_lock.is_some_and(|t| t >= package_json)
}

/// Why a `package.json` build runs or is skipped, for `--explain`.
fn why(dir: &Path, plan: &Plan, incremental: bool, skip: bool) -> String {
    let command = &plan.command_line;
    if skip {
        return format!(
            "skipped '{command}': node_modules and the lock file are newer than package.json"
        );
    }
    if !incremental {
        return format!("built with '{command}': no --incremental");
    }
    let Some(package_json) = mtime(&dir.join("package.json")) else {
        return format!("built with '{command}': package.json cannot be read");
    };
    let reason = match mtime(&dir.join("node_modules")) {
        None => "there is no node_modules yet".to_string(),
        Some(t) if t < package_json => "package.json is newer than node_modules".to_string(),
        Some(_) => match LOCK_FILES.iter().filter_map(|f| mtime(&dir.join(f))).max() {
            None => "there is no lock file yet".to_string(),
            Some(t) if t < package_json => "package.json is newer than the lock file".to_string(),
            Some(_) => format!("the build script has not run yet ({BUILT_MARKER} is missing)"),
        },
    };
    format!("built with '{command}': {reason}")
}

/// Sets the mtimes of the lock files and `node_modules` (those that exist) to now.
fn touch_outputs(dir: &Path) -> Result<()> {
    let now = filetime::FileTime::now();
    for name in LOCK_FILES.iter().chain(["node_modules"].iter()) {
        let path = dir.join(name);
        if path.exists() {
            filetime::set_file_mtime(&path, now).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}

impl Builder for NpmBuilder {
    fn name(&self) -> &str {
        "npm"
    }

    fn detect(&self, target: &BuildTarget<'_>) -> Option<Detection> {
        target.has_file("package.json").then(|| Detection {
            kind: sluice_core::build_kind::PACKAGE_JSON.to_string(),
            priority: 20,
        })
    }

    fn build(&self, job: &BuildJob<'_>, ctx: &BuildContext) -> Result<Option<Artifact>> {
        let (rel_dir, entity) = finder::job_dir(job, "package.json")?;
        let dir = ctx.resolve(&rel_dir);
        let plan = plan(&dir, ctx.flags.yarn);

        let skip = ctx.flags.incremental
            && appears_built(&dir)
            && (!plan.has_build_script || dir.join(BUILT_MARKER).exists());
        finder::explain(
            ctx,
            &job.entity(),
            &why(&dir, &plan, ctx.flags.incremental, skip),
        );
        if skip {
            if ctx.flags.verbose_build {
                ctx.feedback.progress(&format!(
                    "Skipping '{}' in {} because the previous build is still valid",
                    plan.command_line,
                    dir.display()
                ));
            }
        } else {
            let display_path = finder::display_path(ctx, &rel_dir);
            finder::run_build_command(
                &BuildCommand {
                    command_line: &plan.command_line,
                    info: &plan.command_line,
                    error_tag: &plan.error_tag,
                    dir: &dir,
                    display_path: &display_path,
                    entity: &entity,
                },
                ctx,
            )?;
            touch_outputs(&dir)?;
        }

        match job {
            BuildJob::Action { package, action } => {
                let mut artifact = finder::identify(package, action, ctx)?;
                if skip {
                    artifact.status = BuildStatus::Skipped;
                }
                Ok(Some(artifact))
            }
            BuildJob::Lib { .. } => Ok(None),
        }
    }
}
