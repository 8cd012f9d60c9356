//! sluice-go-builder: builds Go functions that have no build script locally, when the
//! project asks for it with `localBuild: true` (spec §6.3). Without that flag such functions
//! are planned `remote-default` and this builder does not claim them.

use sluice_core::runtimes::{Agreement, agree_on_runtime, family};
use sluice_core::{
    Artifact, BuildContext, BuildJob, BuildTarget, Builder, Detection, Error, Result, RuntimeTable,
};

/// The Go builder (name `go`).
#[derive(Debug, Default, Clone, Copy)]
pub struct GoBuilder;

/// Whether the action's runtime is in the go family: its explicit runtime, or else the one
/// its file names agree on.
fn is_go(target: &BuildTarget<'_>) -> bool {
    let explicit = target
        .action
        .and_then(|a| a.runtime.as_deref())
        .filter(|r| !r.is_empty());
    match explicit {
        Some(runtime) => family(runtime) == "go",
        None => matches!(
            agree_on_runtime(target.files.iter().map(String::as_str), &RuntimeTable::builtin()),
            Agreement::Agreed(r) if family(&r) == "go"
        ),
    }
}

impl Builder for GoBuilder {
    fn name(&self) -> &str {
        "go"
    }

    fn detect(&self, target: &BuildTarget<'_>) -> Option<Detection> {
        let action = target.action?;
        let claims = action.local_build == Some(true)
            && !target.has_file("build.sh")
            && !target.has_file("build.cmd")
            && !target.has_file("package.json")
            && is_go(target);
        claims.then(|| Detection {
            kind: sluice_core::build_kind::IDENTIFY.to_string(),
            priority: 5,
        })
    }

    fn build(&self, job: &BuildJob<'_>, _ctx: &BuildContext) -> Result<Option<Artifact>> {
        Err(Error::Build {
            entity: job.entity(),
            message: format!(
                "local Go builds of '{}' are not available yet",
                job.entity()
            ),
            output: None,
        })
    }
}
