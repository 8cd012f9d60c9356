//! The deploy's remote builds (spec §12): functions planned `remote`/`remote-default` are
//! taken out of the project before the local build, submitted to the registered
//! [`RemoteBuilder`] once the target is known, and their outcomes handed to the deployer
//! (which records them and deploys the functions' triggers). Without a remote builder they stay in the project, and the build phase explains
//! that they cannot be built.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::feedback::Feedback;
use crate::model::{
    ActionSpec, DeployFailure, DeployResponse, DeployStructure, Flags, PackageSpec, build_kind,
};
use crate::plugin::Target;
use crate::remote::{RemoteBuilder, RemoteJob, RemoteOutcome};
use crate::runtimes::RuntimeTable;
use crate::system_ignore::SystemIgnore;

/// A function sent to the remote builder, and the handle to wait on (or why it was not sent).
pub(crate) struct Submitted {
    package: PackageSpec,
    action: ActionSpec,
    handle: Result<String, DeployFailure>,
}

/// Removes the remotely built functions from `project` (their packages stay, so the local
/// deploy still creates them), in project order.
pub(crate) fn take_remote(project: &mut DeployStructure) -> Vec<(PackageSpec, ActionSpec)> {
    let mut taken = Vec::new();
    for package in &mut project.packages {
        let (remote, local): (Vec<ActionSpec>, Vec<ActionSpec>) =
            std::mem::take(&mut package.actions)
                .into_iter()
                .partition(|a| a.build.as_deref().is_some_and(build_kind::is_remote));
        package.actions = local;
        for action in remote {
            let mut shell = package.clone();
            shell.actions = Vec::new();
            taken.push((shell, action));
        }
    }
    taken
}

/// What every job of one deploy shares.
pub(crate) struct Shared<'a> {
    pub project_dir: &'a Path,
    pub project: &'a DeployStructure,
    pub target: &'a Target,
    pub flags: &'a Flags,
    pub runtimes: &'a RuntimeTable,
    pub system_ignore: &'a SystemIgnore,
    pub env: &'a BTreeMap<String, String>,
    pub feedback: &'a Arc<dyn Feedback>,
}

impl Shared<'_> {
    fn job<'b>(&'b self, package: &'b PackageSpec, action: &'b ActionSpec) -> RemoteJob<'b> {
        RemoteJob {
            project_dir: self.project_dir,
            project: self.project,
            package,
            action,
            target: self.target,
            flags: self.flags,
            runtimes: self.runtimes,
            system_ignore: self.system_ignore,
            env: self.env,
            feedback: self.feedback,
        }
    }
}

/// Submits every taken function, one after the other (the original does too: uploads are
/// large, and the builds themselves run in parallel remotely).
pub(crate) async fn submit_all(
    builder: &dyn RemoteBuilder,
    shared: &Shared<'_>,
    taken: Vec<(PackageSpec, ActionSpec)>,
) -> Vec<Submitted> {
    let mut submitted = Vec::with_capacity(taken.len());
    for (package, action) in taken {
        let handle = builder.submit(&shared.job(&package, &action)).await;
        submitted.push(Submitted {
            package,
            action,
            handle,
        });
    }
    submitted
}

/// Waits for every submitted function; a function that was not submitted keeps its failure.
pub(crate) async fn collect(
    builder: &dyn RemoteBuilder,
    shared: &Shared<'_>,
    submitted: Vec<Submitted>,
) -> Vec<RemoteOutcome> {
    let mut outcomes = Vec::with_capacity(submitted.len());
    for s in submitted {
        let response = match &s.handle {
            Ok(handle) => {
                builder
                    .outcome(&shared.job(&s.package, &s.action), handle)
                    .await
            }
            Err(failure) => DeployResponse {
                failures: vec![failure.clone()],
                ..DeployResponse::default()
            },
        };
        outcomes.push(RemoteOutcome::new(s.package.name, s.action, response));
    }
    outcomes
}
