//! [`RemoteBuilder`](sluice_core::RemoteBuilder) for the engine: makes the slice, runs the
//! protocol, and turns every error into the function's failure with the spec's context.

use async_trait::async_trait;
use sluice_core::{DeployFailure, DeployResponse, RemoteJob};

use crate::client::{BuilderClient, builder_namespace};
use crate::error::Error;
use crate::slice::{DEFAULT_MAX_SLICE_SIZE, SliceRequest, make_slice};

/// The built-in remote builder: slices to `/<BUILDER_NS>/builder` on the deploy's namespace.
#[derive(Debug, Default, Clone, Copy)]
pub struct RemoteBuild;

fn client(job: &RemoteJob<'_>) -> Result<BuilderClient, Error> {
    BuilderClient::new(
        &job.target.credentials,
        builder_namespace(job.env),
        job.feedback.clone(),
    )
}

fn failure(message: String, context: String) -> DeployFailure {
    DeployFailure {
        message,
        context: Some(context),
        status_code: None,
    }
}

#[async_trait]
impl sluice_core::RemoteBuilder for RemoteBuild {
    fn name(&self) -> &str {
        "remote"
    }

    async fn submit(&self, job: &RemoteJob<'_>) -> Result<String, DeployFailure> {
        let entity = job.entity();
        let context = format!("action '{entity}'");
        let max_size = job
            .env
            .get("MAX_SLICE_UPLOAD_SIZE")
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(DEFAULT_MAX_SLICE_SIZE);
        let build_env = job.project.build_env.clone().unwrap_or_default();
        let req = SliceRequest::new(
            job.project_dir,
            job.project,
            job.package,
            job.action,
            &job.target.credentials,
            job.flags,
            &build_env,
            job.runtimes,
            job.system_ignore,
        )
        .with_annotation(job.project.deployer_annotation.as_ref())
        .with_max_size(max_size);
        let slice = make_slice(&req).map_err(|e| failure(e.to_string(), context.clone()))?;
        let client = client(job).map_err(|e| failure(e.to_string(), context.clone()))?;
        client
            .submit(&slice, &entity, job.runtimes)
            .await
            .map_err(|e| failure(e.to_string(), context))
    }

    async fn outcome(&self, job: &RemoteJob<'_>, handle: &str) -> DeployResponse {
        let entity = job.entity();
        let result = match client(job) {
            Ok(c) => c.await_build(&entity, handle).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(r) => r.outcome,
            Err(e @ (Error::BuildTimeout | Error::Poll { .. })) => DeployResponse::failure(
                e.to_string(),
                Some(format!(
                    "action '{entity}' (waiting for remote build response)"
                )),
            ),
            Err(e) => DeployResponse::failure(
                e.to_string(),
                Some(format!("action '{entity}' (running remote build)")),
            ),
        }
    }
}

/// The remote builder of a slice deployer: a slice is built where it is deployed, so a
/// function that would be sent away again fails instead of bouncing between builders.
#[derive(Debug, Default, Clone, Copy)]
pub struct InSlice;

#[async_trait]
impl sluice_core::RemoteBuilder for InSlice {
    fn name(&self) -> &str {
        "in-slice"
    }

    async fn submit(&self, job: &RemoteJob<'_>) -> Result<String, DeployFailure> {
        let entity = job.entity();
        Err(failure(
            format!(
                "Function '{entity}' of a remote build slice would be built remotely again; the builder builds slices itself (is its toolchain installed?)"
            ),
            format!("action '{entity}'"),
        ))
    }

    async fn outcome(&self, job: &RemoteJob<'_>, _handle: &str) -> DeployResponse {
        DeployResponse::failure(
            "a slice's functions are never sent to another builder".to_string(),
            Some(format!("action '{}'", job.entity())),
        )
    }
}
