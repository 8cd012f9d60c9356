//! sluice-script-builder: builds functions (and `lib/`) whose directory holds a `build.sh`
//! (or, on Windows, a `build.cmd`) by running it, then collects the result with the core
//! finder (spec §6.1, §7.2, §7.4).

use sluice_core::{
    Artifact, BuildContext, BuildJob, BuildTarget, Builder, Detection, Error, Result,
};

/// The build script this platform runs.
#[cfg(windows)]
pub const SCRIPT: &str = sluice_core::build_kind::BUILD_CMD;
/// The build script this platform runs.
#[cfg(not(windows))]
pub const SCRIPT: &str = sluice_core::build_kind::BUILD_SH;

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

    fn build(&self, job: &BuildJob<'_>, _ctx: &BuildContext) -> Result<Option<Artifact>> {
        Err(Error::Build {
            entity: job.entity(),
            message: format!("script builds of '{}' are not available yet", job.entity()),
            output: None,
        })
    }
}
