//! `deploy`: read → prepare → build → deploy, with the runtime table of the namespace being
//! deployed to (when its credentials are known before the read), else the built-in table with
//! a warning.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::model::{DeployResponse, Flags, TargetNamespace};
use crate::plugin::Target;
use crate::runtimes::RuntimeTable;

use super::session::{Session, Targets, require_resolved};

/// What to deploy, and how.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeployOptions {
    /// The project's location (a directory, or whatever a reader claims).
    pub project: String,
    pub flags: Flags,
    /// The deployer to use, by name (`--target`); `None` is the registry's default.
    pub deployer: Option<String>,
}

impl DeployOptions {
    pub fn new(project: impl Into<String>, flags: Flags, deployer: Option<String>) -> Self {
        DeployOptions {
            project: project.into(),
            flags,
            deployer,
        }
    }
}

/// What a deploy did, and where.
#[derive(Debug, Clone)]
pub struct DeployOutcome {
    /// The project's directory, absolute.
    pub project_dir: PathBuf,
    pub target: Target,
    /// Successes and failures per entity: a failed entity is here, not in an `Err`.
    pub response: DeployResponse,
}

/// Deploys `options.project`. An `Err` means a phase failed as a whole (the project could
/// not be read, the credentials were refused, `lib/` did not build); failures of single
/// entities are in the outcome's response.
pub async fn deploy(
    session: &Session,
    options: &DeployOptions,
    targets: &dyn Targets,
) -> Result<DeployOutcome> {
    let engine = &session.engine;
    let flags = &options.flags;
    let deployer = engine
        .registry
        .deployer_or_default(options.deployer.as_deref())?;
    let project_dir =
        std::path::absolute(&options.project).map_err(|e| Error::io(&options.project, e))?;

    let early = targets.resolve(None).ok();
    let mut runtimes = RuntimeTable::builtin();
    if let Some(early) = &early {
        let ctx = session.deploy_context(flags, early, None, &runtimes);
        match deployer.runtimes(&ctx).await {
            Ok(Some(table)) => runtimes = table,
            Ok(None) => {}
            Err(e) => session.feedback.warn(&format!(
                "Warning: could not load the runtimes of '{}' ({e}); using the built-in runtime table",
                early.credentials.ow.apihost
            )),
        }
    }

    let mut project = session.read(&options.project, flags, &runtimes)?;
    require_resolved(&project)?;

    let target_namespace = match &project.target_namespace {
        Some(TargetNamespace::Name(n)) if !n.is_empty() => Some(n.as_str()),
        _ => None,
    };
    let resolved = match (early, target_namespace) {
        (Some(early), None) => early,
        (_, named) => targets.resolve(named)?,
    };
    let deploy_ctx = session.deploy_context(flags, &resolved, Some(&project_dir), &runtimes);
    let target = engine.prepare(deployer.as_ref(), &deploy_ctx).await?;
    session.feedback.progress(&header(&project_dir, &target));

    let name = project_dir.display().to_string();
    let build_ctx = session.build_context(&project_dir, &name, flags, &project, &runtimes);
    engine.build(&mut project, &build_ctx)?;

    let response = engine
        .deploy(deployer.as_ref(), &deploy_ctx, &target, project)
        .await?;
    drop(resolved);
    Ok(DeployOutcome {
        project_dir,
        target,
        response,
    })
}

/// The first progress line: where the deploy goes.
fn header(project_dir: &std::path::Path, target: &Target) -> String {
    if target.local {
        format!(
            "Deploying '{}'\n  to the local namespace '{}' on {}\n  (to deploy to a real namespace: sluice namespace add --apihost <host> --auth <key>)",
            project_dir.display(),
            target.namespace,
            target.apihost
        )
    } else {
        format!(
            "Deploying '{}'\n  to namespace '{}'\n  on host '{}'",
            project_dir.display(),
            target.namespace,
            target.apihost
        )
    }
}
