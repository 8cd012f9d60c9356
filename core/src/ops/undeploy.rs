//! `undeploy`: deletes exactly what the request names, through the selected deployer and the
//! engine (so `error` hooks see a failure, as they do for a deploy).

use crate::error::Result;
use crate::model::{DeployResponse, Flags};
use crate::plugin::UndeployRequest;
use crate::runtimes::RuntimeTable;

use super::session::{Session, Targets};

/// What to delete, and with which deployer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UndeployOptions {
    pub request: UndeployRequest,
    pub flags: Flags,
    /// The deployer to use, by name (`--target`); `None` is the registry's default.
    pub deployer: Option<String>,
}

impl UndeployOptions {
    pub fn new(request: UndeployRequest, flags: Flags, deployer: Option<String>) -> Self {
        UndeployOptions {
            request,
            flags,
            deployer,
        }
    }
}

/// Deletes what `options.request` names from the default namespace. Failures of single
/// entities are in the response.
pub async fn undeploy(
    session: &Session,
    options: &UndeployOptions,
    targets: &dyn Targets,
) -> Result<DeployResponse> {
    let engine = &session.engine;
    let deployer = engine
        .registry
        .deployer_or_default(options.deployer.as_deref())?;
    let resolved = targets.resolve(None)?;
    let ctx = session.deploy_context(&options.flags, &resolved, None, &RuntimeTable::builtin());
    let target = engine.prepare(deployer.as_ref(), &ctx).await?;
    let response = engine
        .undeploy(deployer.as_ref(), &ctx, &target, &options.request)
        .await;
    drop(resolved);
    response
}
