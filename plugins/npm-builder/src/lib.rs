//! sluice-npm-builder: builds functions (and `lib/`) that have a `package.json`, with npm or
//! (`--yarn`) yarn, then collects the result with the core finder (spec §7.3).

use sluice_core::{
    Artifact, BuildContext, BuildJob, BuildTarget, Builder, Detection, Error, Result,
};

/// The `package.json` builder (name `npm`).
#[derive(Debug, Default, Clone, Copy)]
pub struct NpmBuilder;

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

    fn build(&self, job: &BuildJob<'_>, _ctx: &BuildContext) -> Result<Option<Artifact>> {
        Err(Error::Build {
            entity: job.entity(),
            message: format!("npm builds of '{}' are not available yet", job.entity()),
            output: None,
        })
    }
}
