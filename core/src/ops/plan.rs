//! `plan`: read and build as a deploy would (with build avoidance, as `--incremental`), then
//! compare with what the namespace holds. Nothing is sent but reads.

use std::path::PathBuf;

use crate::changes::Plan;
use crate::error::Result;
use crate::model::Flags;
use crate::plugin::Target;

use super::deploy::{Prepared, prepare};
use super::session::{Session, Targets};

/// What to plan.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PlanOptions {
    /// The project's location.
    pub project: String,
    pub flags: Flags,
    /// The deployer, by name; `None` is the registry's default.
    pub deployer: Option<String>,
}

impl PlanOptions {
    pub fn new(project: impl Into<String>, flags: Flags, deployer: Option<String>) -> Self {
        PlanOptions {
            project: project.into(),
            flags,
            deployer,
        }
    }
}

/// A plan, and where it was made.
#[derive(Debug, Clone)]
pub struct PlanOutcome {
    pub project_dir: PathBuf,
    pub target: Target,
    pub plan: Plan,
}

/// Plans a deploy of `options.project`; `flags.prune` adds the deletes. A `plan:after` hook
/// may veto (an `Err`).
pub async fn plan(
    session: &Session,
    options: &PlanOptions,
    targets: &dyn Targets,
) -> Result<PlanOutcome> {
    let mut flags = options.flags.clone();
    flags.incremental = true;
    let Prepared {
        project_dir,
        deployer,
        ctx,
        target,
        project,
        ..
    } = prepare(
        session,
        &options.project,
        &flags,
        options.deployer.as_deref(),
        targets,
        "Planning the deploy of",
        false,
    )
    .await?;
    let plan = session
        .engine
        .plan_changes(deployer.as_ref(), &ctx, &target, &project, flags.prune)
        .await?;
    Ok(PlanOutcome {
        project_dir,
        target,
        plan,
    })
}
