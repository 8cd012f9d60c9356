//! [`OpenWhiskDeployer`]: the [`Deployer`] of any OpenWhisk-compatible namespace
//! (DigitalOcean Functions, Apache OpenWhisk, sluice's local namespace).

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use sluice_core::{
    ChangeKind, Credentials, DeployContext, DeployResponse, DeployStructure, Deployer,
    DeployerAnnotation, Error, Plan, PlanEntity, RuntimeTable, Target, UndeployRequest,
    VersionEntry, VersionInfo,
};

use crate::client::Client;
use crate::deploy::Run;
use crate::error::OwError;
use crate::plan::{self, Inputs};
use crate::resilience::{self, EntityRetry, Pacer};
use crate::server_state::{Reads, ServerState};
use crate::transport::{DEFAULT_DEPLOY_JOBS, RetryPolicy, Transport, TransportOptions};
use crate::triggers::{DO_API_URL_ENV, TriggersApi, do_api_url_for};
use crate::versions;

/// The deployer's registered name.
pub const NAME: &str = "openwhisk";

/// Deploys to an OpenWhisk REST API.
#[derive(Debug, Clone)]
pub struct OpenWhiskDeployer {
    /// The triggers API base: `with_do_api_url` or `$SLUICE_DO_API_URL`; `None` derives it
    /// from the API host ([`do_api_url_for`]).
    do_api_url: Option<String>,
    retry: RetryPolicy,
    /// The retry budget of each entity of a deploy (and of the namespace check).
    entity_retry: EntityRetry,
}

impl Default for OpenWhiskDeployer {
    fn default() -> Self {
        Self::new()
    }
}

fn no_credentials() -> Error {
    Error::Credentials {
        message: "no credentials were given for the OpenWhisk deployer".to_string(),
        help: Some(
            "add a namespace with 'sluice namespace add --apihost <host> --auth <key>'".to_string(),
        ),
    }
}

impl OpenWhiskDeployer {
    /// A deployer whose triggers API is `$SLUICE_DO_API_URL`, else derived from the API host
    /// (DigitalOcean's API for DigitalOcean Functions).
    pub fn new() -> Self {
        let do_api_url = std::env::var(DO_API_URL_ENV).ok().filter(|u| !u.is_empty());
        OpenWhiskDeployer {
            do_api_url,
            retry: RetryPolicy::default(),
            entity_retry: EntityRetry::from_env(),
        }
    }

    /// Uses another triggers API base URL.
    pub fn with_do_api_url(mut self, url: impl Into<String>) -> Self {
        self.do_api_url = Some(url.into());
        self
    }

    /// Uses another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Uses another retry budget for each entity of a deploy.
    pub fn with_entity_retry(mut self, retry: EntityRetry) -> Self {
        self.entity_retry = retry;
        self
    }

    fn transport(&self, ctx: &DeployContext, creds: &Credentials) -> Result<Transport, Error> {
        self.transport_with(ctx, creds, self.retry)
    }

    fn transport_with(
        &self,
        ctx: &DeployContext,
        creds: &Credentials,
        retry: RetryPolicy,
    ) -> Result<Transport, Error> {
        let options = TransportOptions {
            insecure: creds.ow.ignore_certs || ctx.flags.insecure,
            max_in_flight: deploy_jobs(ctx),
            retry,
            ..Default::default()
        };
        Transport::new(&options).map_err(|e| e.into_core(None))
    }

    /// A client whose transport sends each request once: a deploy's requests are retried by
    /// [`resilience::with_retries`], which knows they are idempotent and paces them.
    fn deploy_client(&self, ctx: &DeployContext, creds: &Credentials) -> Result<Client, Error> {
        let once = RetryPolicy {
            max_attempts: 1,
            ..self.retry
        };
        let transport = self.transport_with(ctx, creds, once)?;
        Client::with_transport(&creds.ow.apihost, &creds.ow.api_key, transport)
            .map_err(|e| e.into_core(None))
    }

    /// A client for the credentials of `ctx`.
    pub fn client(&self, ctx: &DeployContext, creds: &Credentials) -> Result<Client, Error> {
        let transport = self.transport(ctx, creds)?;
        Client::with_transport(&creds.ow.apihost, &creds.ow.api_key, transport)
            .map_err(|e| e.into_core(None))
    }

    fn triggers_api(
        &self,
        ctx: &DeployContext,
        creds: &Credentials,
        local: bool,
    ) -> Result<Option<TriggersApi>, Error> {
        let Some(token) = creds.do_token.as_deref().filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        // sluice's local namespace serves DigitalOcean's triggers API on its own host.
        let base = match &self.do_api_url {
            _ if local => creds.ow.apihost.clone(),
            Some(url) => url.clone(),
            None => do_api_url_for(&creds.ow.apihost),
        };
        // The triggers API is not always idempotent (POST), so it keeps the transport's own
        // retries, which only repeat what the server surely did not act on.
        TriggersApi::new(&base, token, self.transport(ctx, creds)?)
            .map(Some)
            .map_err(|e| e.into_core(None))
    }

    /// The versions this project recorded for the target (empty without a project dir).
    fn recorded(ctx: &DeployContext, target: &Target) -> Result<VersionEntry, Error> {
        match &ctx.project_dir {
            Some(dir) => versions::load(dir, &versions::recorded_host(target), &target.namespace)
                .map_err(|e| e.into_core(Some("the versions file".into()))),
            None => Ok(VersionEntry::default()),
        }
    }

    /// The `deployer` annotation every entity gets.
    fn annotation(ctx: &DeployContext, project: &DeployStructure) -> DeployerAnnotation {
        match (&project.deployer_annotation, &ctx.project_dir) {
            (Some(a), _) => a.clone(),
            (None, Some(dir)) => {
                let env: BTreeMap<String, String> = std::env::vars().collect();
                sluice_core::annotation::deployer_annotation(dir, &env)
            }
            (None, None) => Default::default(),
        }
    }

    /// What an `--incremental` deploy may skip: with a plan being applied, exactly what it
    /// marks unchanged; else the recorded versions the namespace confirms (or, with
    /// `--trust-local`, all of them).
    async fn skippable(
        &self,
        ctx: &DeployContext,
        target: &Target,
        client: &Client,
        project: &DeployStructure,
    ) -> Result<VersionEntry, Error> {
        if let Some(plan) = &ctx.applying {
            return Ok(unchanged_in(plan, target));
        }
        let old = Self::recorded(ctx, target)?;
        if ctx.flags.trust_local
            || (old.package_versions.is_empty() && old.action_versions.is_empty())
        {
            return Ok(old);
        }
        match ServerState::fetch(client, project, Reads::for_project(project, false)).await {
            Ok(state) => Ok(state.verified(old)),
            Err(e) => {
                ctx.feedback.warn(&format!(
                    "Warning: could not read what the namespace holds ({e}); deploying every function (--trust-local skips by the versions file alone)"
                ));
                Ok(VersionEntry::default())
            }
        }
    }

    /// The triggers an `--incremental` deploy sends although their function is skipped:
    /// with a plan being applied, those it creates or updates; else those the namespace
    /// lacks or holds otherwise (one list of its triggers), none with `--trust-local` (the
    /// original's way: a skipped function's triggers are skipped too).
    async fn stale_triggers(
        &self,
        ctx: &DeployContext,
        target: &Target,
        api: Option<&TriggersApi>,
        project: &DeployStructure,
    ) -> BTreeSet<String> {
        if let Some(plan) = &ctx.applying {
            return plan
                .changes
                .iter()
                .filter(|c| c.entity == PlanEntity::Trigger && c.change.is_change())
                .filter(|c| c.change != ChangeKind::Delete)
                .map(|c| c.name.clone())
                .collect();
        }
        let declared: BTreeSet<String> = project
            .actions()
            .flat_map(|(_, a)| a.triggers.iter().flatten())
            .map(|t| t.name.clone())
            .collect();
        let Some(api) = api else {
            return BTreeSet::new();
        };
        if ctx.flags.trust_local || declared.is_empty() {
            return BTreeSet::new();
        }
        match api.list(&target.namespace).await {
            Ok(listed) => plan::stale_triggers(project, &listed),
            Err(e) => {
                ctx.feedback.warn(&format!(
                    "Warning: could not list the namespace's triggers ({e}); sending every trigger"
                ));
                declared
            }
        }
    }
}

/// The entities `plan` leaves unchanged, as versions an incremental deploy skips.
fn unchanged_in(plan: &Plan, target: &Target) -> VersionEntry {
    let mut entry = VersionEntry {
        apihost: versions::recorded_host(target),
        namespace: target.namespace.clone(),
        ..Default::default()
    };
    for c in plan.of(ChangeKind::Unchanged) {
        let (Some(version), Some(digest)) = (&c.server_version, &c.digest) else {
            continue;
        };
        let info = VersionInfo {
            version: version.clone(),
            digest: digest.clone(),
        };
        match c.entity {
            PlanEntity::Package | PlanEntity::Binding => {
                entry.package_versions.insert(c.name.clone(), info);
            }
            PlanEntity::Function => {
                entry.action_versions.insert(c.name.clone(), info);
            }
            PlanEntity::Sequence | PlanEntity::Trigger => {}
        }
    }
    entry
}

fn deploy_jobs(ctx: &DeployContext) -> usize {
    ctx.flags.deploy_jobs.unwrap_or(DEFAULT_DEPLOY_JOBS)
}

/// The namespace check failed for good: say which request it was, since its error alone
/// ("internal server error (500 …)") does not.
fn namespace_check_failed(client: &Client, e: OwError) -> Error {
    if matches!(
        e,
        OwError::Http {
            status: 401 | 403,
            ..
        }
    ) {
        return e.into_core(None);
    }
    let url = client.api_url(["namespaces"]);
    Error::Deploy {
        message: format!("the namespace check (GET {url}) failed after retries: {e}"),
        context: Some(format!("the controller at {}", client.apihost())),
    }
}

#[async_trait]
impl Deployer for OpenWhiskDeployer {
    fn name(&self) -> &str {
        NAME
    }

    async fn prepare(&self, ctx: &DeployContext) -> Result<Target, Error> {
        let creds = ctx.credentials.clone().ok_or_else(no_credentials)?;
        let client = self.deploy_client(ctx, &creds)?;
        let pacer = Pacer::new(1);
        let namespaces =
            resilience::with_retries(&self.entity_retry, &pacer, || client.namespaces())
                .await
                .map_err(|e| namespace_check_failed(&client, e))?;
        let first = namespaces
            .first()
            .cloned()
            .ok_or_else(|| Error::Credentials {
                message: format!(
                    "the controller at {} lists no namespace for this key",
                    creds.ow.apihost
                ),
                help: None,
            })?;
        if let Some(expected) = &creds.namespace
            && expected != &first
        {
            return Err(Error::Credentials {
                message: format!(
                    "Supplied credentials do not match target namespace '{expected}'; deployment aborted"
                ),
                help: Some("check the namespace's key with 'sluice namespace list'".to_string()),
            });
        }
        let mut credentials = creds.clone();
        credentials.namespace = Some(first.clone());
        let mut target = Target::new(creds.ow.apihost.clone(), first, credentials);
        target.local = ctx.local;
        Ok(target)
    }

    async fn runtimes(&self, ctx: &DeployContext) -> Result<Option<RuntimeTable>, Error> {
        let creds = ctx.credentials.clone().ok_or_else(no_credentials)?;
        let client = self.client(ctx, &creds)?;
        let info = client
            .controller_info()
            .await
            .map_err(|e| e.into_core(None))?;
        RuntimeTable::from_controller_info(&info, &creds.ow.apihost)
            .map(Some)
            .map_err(|message| Error::Deploy {
                message,
                context: None,
            })
    }

    async fn deploy(
        &self,
        ctx: &DeployContext,
        target: &Target,
        project: &DeployStructure,
    ) -> Result<DeployResponse, Error> {
        let client = self.deploy_client(ctx, &target.credentials)?;
        let triggers = self.triggers_api(ctx, &target.credentials, target.local)?;
        let old = match ctx.flags.incremental {
            // Reads go through a client that retries on its own (the deploy's retries are
            // per entity).
            true => {
                let reader = self.client(ctx, &target.credentials)?;
                self.skippable(ctx, target, &reader, project).await?
            }
            false => Default::default(),
        };
        let stale_triggers = match ctx.flags.incremental {
            true => {
                self.stale_triggers(ctx, target, triggers.as_ref(), project)
                    .await
            }
            false => Default::default(),
        };
        let annotation = Self::annotation(ctx, project);
        let deletes = ctx.applying.clone();
        let run = Run {
            stale_triggers,
            ctx,
            target,
            project,
            client,
            triggers,
            old,
            annotation,
            project_dir: ctx.project_dir.clone(),
            retry: self.entity_retry,
            pacer: Pacer::new(deploy_jobs(ctx)),
            progress: match (&ctx.project_dir, project.slice) {
                (Some(dir), None | Some(false)) => Some(versions::Progress::new(
                    dir,
                    &versions::recorded_host(target),
                    &target.namespace,
                )),
                _ => None,
            },
        };
        let mut response = run.deploy().await;
        if let Some(plan) = deletes {
            let pruned = crate::prune::prune(
                &run.client,
                run.triggers.as_ref(),
                &target.namespace,
                &plan,
                ctx.feedback.as_ref(),
            )
            .await;
            response.combine(pruned);
        }
        Ok(response)
    }

    async fn plan(
        &self,
        ctx: &DeployContext,
        target: &Target,
        project: &DeployStructure,
        prune: bool,
    ) -> Result<Plan, Error> {
        let client = self.client(ctx, &target.credentials)?;
        let triggers = self.triggers_api(ctx, &target.credentials, target.local)?;
        let old = Self::recorded(ctx, target)?;
        let annotation = Self::annotation(ctx, project);
        let state = ServerState::fetch(&client, project, Reads::for_project(project, prune))
            .await
            .map_err(|e| e.into_core(Some("reading what the namespace holds".into())))?;
        plan::plan(Inputs {
            client: &client,
            triggers: triggers.as_ref(),
            namespace: &target.namespace,
            apihost: &target.apihost,
            project,
            project_dir: ctx.project_dir.as_deref(),
            state: &state,
            old: &old,
            annotation: &annotation,
            runtimes: &ctx.runtimes,
            prune,
        })
        .await
        .map_err(|e| e.into_core(Some("planning the deploy".into())))
    }

    async fn read_deployed(
        &self,
        ctx: &DeployContext,
        target: &Target,
        project: &DeployStructure,
    ) -> Result<Vec<sluice_core::DeployedFunction>, Error> {
        let client = self.client(ctx, &target.credentials)?;
        let recorded = Self::recorded(ctx, target)?;
        crate::readback::read_deployed(&client, project, &recorded)
            .await
            .map_err(|e| e.into_core(Some("reading the deployed functions back".into())))
    }

    async fn undeploy(
        &self,
        ctx: &DeployContext,
        target: &Target,
        request: &UndeployRequest,
    ) -> Result<DeployResponse, Error> {
        let client = self.client(ctx, &target.credentials)?;
        let triggers = self.triggers_api(ctx, &target.credentials, target.local)?;
        crate::undeploy::undeploy(&client, triggers.as_ref(), &target.namespace, request)
            .await
            .map_err(|e: OwError| e.into_core(None))
    }
}
