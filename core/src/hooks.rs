//! The seam through which project hooks (Lua, in `sluice-hooks`) change what the engine does.
//!
//! Every method has a default that changes nothing, so the engine can always call them;
//! handlers take data and return data, and the engine applies what they return.

use crate::changes::Plan;
use crate::error::{Error, Result};
use crate::model::{ActionSpec, Artifact, DeployResponse, DeployStructure};
use crate::plugin::Target;

/// What a `build:before` handler decided for one function.
#[derive(Debug, Clone, PartialEq)]
pub enum BuildDecision {
    /// Run the builder as usual.
    Run,
    /// Leave this function out of the deploy.
    Skip,
    /// Deploy this artifact; the builder is not run.
    Use(Artifact),
}

/// Handlers for the engine's events. Implementations must be thread-safe: builds call
/// `build_before`/`build_after` from several threads.
pub trait Hooks: Send + Sync {
    /// `read:after`: may return an edited project.
    fn read_after(&self, project: DeployStructure) -> Result<DeployStructure> {
        Ok(project)
    }
    /// `build:before`, once per function.
    fn build_before(&self, _package: &str, _action: &ActionSpec) -> Result<BuildDecision> {
        Ok(BuildDecision::Run)
    }
    /// `build:after`, once per function that was built: may edit the artifact.
    fn build_after(
        &self,
        _package: &str,
        _action: &ActionSpec,
        artifact: Artifact,
    ) -> Result<Artifact> {
        Ok(artifact)
    }
    /// `deploy:before`: may edit the project or refuse (an `Err`) before anything is sent.
    fn deploy_before(&self, project: DeployStructure, _target: &Target) -> Result<DeployStructure> {
        Ok(project)
    }
    /// `deploy:after`: sees the result; an `Err` is reported as a failure of the deploy.
    fn deploy_after(&self, _response: &DeployResponse, _target: &Target) -> Result<()> {
        Ok(())
    }
    /// `plan:after`: sees the plan before it is applied (or printed); an `Err` vetoes the
    /// deploy with its message (policy as code: "no deletes in prod").
    fn plan_after(&self, _plan: &Plan, _target: &Target) -> Result<()> {
        Ok(())
    }
    /// Whether a `plan:after` handler is registered, so a deploy knows to make a plan.
    fn wants_plan(&self) -> bool {
        false
    }
    /// `watch:change`: sees the changed paths of a batch of `sluice watch` (relative to the
    /// project) before it is deployed. `None` deploys them as they are, `Some(paths)` only
    /// those (none: skip the deploy). `project_hook_files` are the `hooks:` of project.yml,
    /// for implementations that load them when the project is read (this event comes first).
    fn watch_change(
        &self,
        _paths: &[String],
        _project_hook_files: &[String],
    ) -> Result<Option<Vec<String>>> {
        Ok(None)
    }
    /// `error`: told about any phase's error; it cannot change it.
    fn on_error(&self, _error: &Error) {}
}

/// No hooks at all.
#[derive(Debug, Default)]
pub struct NoHooks;

impl Hooks for NoHooks {}
