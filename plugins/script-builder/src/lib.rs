//! sluice-script-builder: builds functions (and `lib/`) whose directory holds a `build.sh`
//! (or, on Windows, a `build.cmd`) by running it, then collects the result with the core
//! finder (spec §6.1, §7.2, §7.4).
//!
//! The script runs as `./build.sh` through a shell (`$shell`, else `/bin/bash`) in its own
//! directory, with the process environment plus the `--build-env` entries. With
//! `--incremental`, a `.built` file in the directory (left there by the script) means the
//! build already ran and is skipped.

use sluice_core::finder::{self, BuildCommand};
use sluice_core::{
    Artifact, BuildContext, BuildJob, BuildStatus, BuildTarget, Builder, Detection, Result,
};

/// The build script this platform runs.
#[cfg(windows)]
pub const SCRIPT: &str = sluice_core::build_kind::BUILD_CMD;
/// The build script this platform runs.
#[cfg(not(windows))]
pub const SCRIPT: &str = sluice_core::build_kind::BUILD_SH;

/// The marker a build leaves to say it is done (honoured only with `--incremental`).
pub const BUILT_MARKER: &str = ".built";

/// The `build.sh` / `build.cmd` builder (name `script`).
#[derive(Debug, Default, Clone, Copy)]
pub struct ScriptBuilder;

impl Builder for ScriptBuilder {
    fn name(&self) -> &str {
        "script"
    }

    fn detect(&self, target: &BuildTarget<'_>) -> Option<Detection> {
        target.has_file(SCRIPT).then(|| Detection {
            kind: SCRIPT.to_string(),
            priority: 30,
        })
    }

    fn build(&self, job: &BuildJob<'_>, ctx: &BuildContext) -> Result<Option<Artifact>> {
        let (rel_dir, entity) = finder::job_dir(job, SCRIPT)?;
        let dir = ctx.resolve(&rel_dir);
        let display_path = finder::display_path(ctx, &rel_dir);

        let skip = ctx.flags.incremental && dir.join(BUILT_MARKER).exists();
        let why = match (skip, ctx.flags.incremental) {
            (true, _) => format!("skipped {SCRIPT}: it ran before ({BUILT_MARKER} is present)"),
            (false, true) => {
                format!("built with {SCRIPT}: it has not run yet ({BUILT_MARKER} is missing)")
            }
            (false, false) => format!("built with {SCRIPT}: no --incremental"),
        };
        finder::explain(ctx, &job.entity(), &why);
        if skip {
            if ctx.flags.verbose_build {
                ctx.feedback.progress(&format!(
                    "Skipping build in {display_path} because the action was previously built"
                ));
            }
        } else {
            let command_line = format!("./{SCRIPT}");
            let command_line = if cfg!(windows) {
                SCRIPT.to_string()
            } else {
                command_line
            };
            finder::run_build_command(
                &BuildCommand {
                    command_line: &command_line,
                    info: &command_line,
                    error_tag: &command_line,
                    dir: &dir,
                    display_path: &display_path,
                    entity: &entity,
                },
                ctx,
            )?;
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
