//! Remote builds as the engine sees them (spec §12): functions whose build is `remote` or
//! `remote-default` are not built here; a [`RemoteBuilder`] sends each to the namespace's
//! builder, which builds and deploys it, and later answers with that function's deploy
//! outcome. The engine merges the outcome like any other result.
//!
//! Why it is built this way:
//! - Two steps (`submit` during the build phase, `outcome` during the deploy phase), so the
//!   remote builds run while the rest of the project is deployed.
//! - Both return data: a failure of one function is a [`DeployFailure`] in the result, never
//!   an error that stops the deploy.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

use crate::feedback::Feedback;
use crate::model::{
    ActionSpec, DeployFailure, DeployResponse, DeployStructure, Flags, PackageSpec,
};
use crate::plugin::Target;
use crate::runtimes::RuntimeTable;
use crate::system_ignore::SystemIgnore;

/// One function to build remotely, with what the builder needs to make its slice.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct RemoteJob<'a> {
    pub project_dir: &'a Path,
    pub project: &'a DeployStructure,
    pub package: &'a PackageSpec,
    pub action: &'a ActionSpec,
    /// Where the deploy goes (the builder deploys there too).
    pub target: &'a Target,
    pub flags: &'a Flags,
    pub runtimes: &'a RuntimeTable,
    pub system_ignore: &'a SystemIgnore,
    /// The process environment (`TEST_BUILDER_NAMESPACE`, `MAX_SLICE_UPLOAD_SIZE`).
    pub env: &'a BTreeMap<String, String>,
    pub feedback: &'a Arc<dyn Feedback>,
}

impl std::fmt::Debug for RemoteJob<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteJob")
            .field("package", &self.package.name)
            .field("action", &self.action.name)
            .finish_non_exhaustive()
    }
}

impl RemoteJob<'_> {
    /// `pkg/name`, or `name` in the default package.
    pub fn entity(&self) -> String {
        self.action.qualified_name(&self.package.name)
    }
}

/// A remotely built function and what its build answered, handed to the deployer so the
/// outcome is recorded with the rest (versions) and the function's triggers are deployed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RemoteOutcome {
    /// The function's package (empty for the default package).
    pub package: String,
    /// The function as the project gives it, triggers included.
    pub action: ActionSpec,
    /// The builder's deploy outcome of the function (or why it failed).
    pub response: DeployResponse,
}

impl RemoteOutcome {
    pub fn new(package: impl Into<String>, action: ActionSpec, response: DeployResponse) -> Self {
        RemoteOutcome {
            package: package.into(),
            action,
            response,
        }
    }
}

/// Builds and deploys functions in the namespace's builder.
#[async_trait]
pub trait RemoteBuilder: Send + Sync {
    /// A short name for messages.
    fn name(&self) -> &str;
    /// Sends the function to be built; returns a handle to wait on (an activation id).
    async fn submit(&self, job: &RemoteJob<'_>) -> Result<String, DeployFailure>;
    /// Waits for a submitted function's deploy outcome (its failures included).
    async fn outcome(&self, job: &RemoteJob<'_>, handle: &str) -> DeployResponse;
}
