//! One deploy run (spec §10): packages and their functions concurrently under the global
//! request bound, then sequences in dependency order, then the versions file.
//!
//! Requests per entity: an action is one `PUT` (the controller merges old annotations on
//! update, so the original's `GET ?code=false` before each action is not needed); a package
//! is a `GET` and a `PUT`, because a package update *replaces* its annotations and the `GET`
//! keeps annotations other tools put there, as the original does.
//!
//! Every one of those requests is idempotent, so each goes through
//! [`resilience::with_retries`] (a per-entity retry budget and the AIMD bound). A package
//! whose `PUT` failed for good takes its functions with it: they are reported as "not
//! deployed: package p failed" rather than sent to fail one by one with 404. What lands is
//! recorded in the versions file as the run goes ([`versions::Progress`]).

use std::collections::BTreeSet;
use std::path::PathBuf;

use futures::future::join_all;
use reqwest::Url;
use serde_json::Value;
use sluice_core::feedback::Step;
use sluice_core::{
    ActionSpec, DeployContext, DeployFailure, DeployResponse, DeployStructure, DeploySuccess,
    DeployerAnnotation, EntityKind, PackageSpec, Target, VersionEntry, VersionInfo,
};

use crate::annotation;
use crate::body::{self, Exec};
use crate::client::Client;
use crate::digest;
use crate::error::OwError;
use crate::resilience::{self, EntityRetry, Pacer};
use crate::sequences::{self, Deferred};
use crate::triggers::TriggersApi;
use crate::versions;

/// The original's message for a default package with parameters, environment or binding.
pub const DEFAULT_PACKAGE_MESSAGE: &str =
    "The default package does not support attaching environment, parameters, or binding";
/// The message for a binding that also has functions.
pub const BOUND_WITH_FUNCTIONS: &str = "a bound package may not contain functions of its own";

/// State shared by every entity of one deploy.
pub(crate) struct Run<'a> {
    pub ctx: &'a DeployContext,
    pub target: &'a Target,
    pub project: &'a DeployStructure,
    pub client: Client,
    pub triggers: Option<TriggersApi>,
    /// Versions of the last deploy (empty unless `--incremental`).
    pub old: VersionEntry,
    /// Triggers sent even when their function is skipped (`--incremental`): the namespace
    /// lacks them or holds them otherwise.
    pub stale_triggers: BTreeSet<String>,
    pub annotation: DeployerAnnotation,
    pub project_dir: Option<PathBuf>,
    pub retry: EntityRetry,
    pub pacer: Pacer,
    /// The versions file as the run goes (`None` when nothing is recorded).
    pub progress: Option<versions::Progress>,
}

fn failure(message: impl Into<String>, context: String, status: Option<u16>) -> DeployResponse {
    DeployResponse {
        failures: vec![DeployFailure {
            message: message.into(),
            context: Some(context),
            status_code: status,
        }],
        ..Default::default()
    }
}

fn from_error(e: OwError, context: String) -> DeployResponse {
    let status = e.status();
    failure(e.to_string(), context, status)
}

fn success(name: String, kind: EntityKind, skipped: bool) -> DeploySuccess {
    DeploySuccess {
        name,
        kind,
        skipped,
    }
}

fn with_overwrite(mut url: reqwest::Url) -> reqwest::Url {
    url.query_pairs_mut().append_pair("overwrite", "true");
    url
}

fn is_empty_dict(d: &Option<sluice_core::Dict>) -> bool {
    d.as_ref().is_none_or(|d| d.is_empty())
}

/// Version string of a PUT answer.
fn version_of(answer: &Value) -> String {
    answer
        .get("version")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Namespace of a PUT answer (`ns/pkg` for actions in a package → `ns`).
fn namespace_of(answer: &Value) -> Option<String> {
    answer
        .get("namespace")
        .and_then(Value::as_str)
        .map(|ns| ns.split('/').next().unwrap_or(ns).to_string())
        .filter(|ns| !ns.is_empty())
}

impl Run<'_> {
    /// A `PUT` with the entity's retry budget.
    async fn put(&self, url: Url, body: &Value) -> Result<Value, OwError> {
        resilience::with_retries(&self.retry, &self.pacer, || {
            self.client.put(url.clone(), body)
        })
        .await
    }

    /// A `GET` with the entity's retry budget.
    async fn get(&self, url: Url) -> Result<Value, OwError> {
        resilience::with_retries(&self.retry, &self.pacer, || self.client.get(url.clone())).await
    }

    fn note_progress(&self, response: &DeployResponse, package_done: bool) {
        if let Some(progress) = &self.progress {
            progress.add(response, package_done);
        }
    }

    /// The whole deploy.
    pub async fn deploy(&self) -> DeployResponse {
        let per_package = join_all(
            (0..self.project.packages.len()).map(|p| self.deploy_package_and_functions(p)),
        )
        .await;
        let mut response = DeployResponse::default();
        let mut deferred = Vec::new();
        for (r, d) in per_package {
            response.combine(r);
            deferred.extend(d);
        }
        response.ignored.extend(self.project.strays.iter().cloned());
        response.combine(self.deploy_sequences(deferred).await);
        response.combine(self.remote_outcomes().await);
        if response.namespace.is_none() {
            response.namespace = Some(self.target.namespace.clone());
        }
        response.apihost = Some(self.target.apihost.clone());
        self.record(&mut response);
        response
    }

    fn record(&self, response: &mut DeployResponse) {
        let Some(dir) = &self.project_dir else { return };
        if self.project.slice == Some(true) {
            return;
        }
        let merge = !self.ctx.entity_filter.is_including_everything();
        // Nothing landed: there is no deployment status worth announcing.
        let all_failed = response.successes.is_empty() && !response.failures.is_empty();
        match versions::record(dir, &versions::recorded_host(self.target), response, merge) {
            Ok(created) => {
                let created = self
                    .progress
                    .as_ref()
                    .and_then(versions::Progress::created)
                    .or(created);
                if let Some(created) = created
                    && !all_failed
                {
                    self.ctx.feedback.progress(&format!(
                        "Deployment status recorded in '{}'",
                        created.display()
                    ));
                }
            }
            Err(e) => response.failures.push(DeployFailure {
                message: e.to_string(),
                context: Some("the versions file".to_string()),
                status_code: None,
            }),
        }
    }

    async fn deploy_package_and_functions(&self, p: usize) -> (DeployResponse, Vec<Deferred>) {
        let pkg = &self.project.packages[p];
        if pkg.is_default() {
            // Top-level parameters and environment are the reader's to put on the default
            // package's functions themselves (a departure from the original, which failed
            // here); only the package's own would be lost.
            let own = !is_empty_dict(&pkg.parameters)
                || !is_empty_dict(&pkg.environment)
                || !is_empty_dict(&pkg.annotations)
                || pkg.binding.is_some();
            if own {
                return (
                    failure(DEFAULT_PACKAGE_MESSAGE, "package 'default'".into(), None),
                    Vec::new(),
                );
            }
            let done = self.deploy_functions(p).await;
            self.note_progress(&done.0, true);
            return done;
        }
        if pkg.binding.is_some() && !pkg.actions.is_empty() {
            return (
                failure(
                    BOUND_WITH_FUNCTIONS,
                    format!("package '{}'", pkg.name),
                    None,
                ),
                Vec::new(),
            );
        }
        if pkg.deployed_during_build == Some(true) {
            let done = self.deploy_functions(p).await;
            self.note_progress(&done.0, true);
            return done;
        }
        let mut package_response = self.deploy_package(pkg).await;
        if !package_response.failures.is_empty() {
            for action in &pkg.actions {
                let name = action.qualified_name(&pkg.name);
                package_response.failures.push(DeployFailure {
                    message: format!("not deployed: package {} failed", pkg.name),
                    context: Some(format!("action '{name}'")),
                    status_code: None,
                });
            }
            return (package_response, Vec::new());
        }
        self.note_progress(&package_response, false);
        let (mut response, deferred) = self.deploy_functions(p).await;
        response.combine(package_response);
        self.note_progress(&response, true);
        (response, deferred)
    }

    async fn deploy_functions(&self, p: usize) -> (DeployResponse, Vec<Deferred>) {
        let pkg = &self.project.packages[p];
        let results = join_all((0..pkg.actions.len()).map(|a| self.deploy_function(p, a))).await;
        let mut response = DeployResponse::default();
        let mut deferred = Vec::new();
        for (r, d) in results {
            response.combine(r);
            deferred.extend(d);
        }
        (response, deferred)
    }

    async fn deploy_package(&self, pkg: &PackageSpec) -> DeployResponse {
        let digest = digest::package_digest(pkg);
        if let Some(old) = self.old.package_versions.get(&pkg.name)
            && old.digest == digest
        {
            let mut r = DeployResponse::default();
            r.package_versions.insert(pkg.name.clone(), old.clone());
            return r;
        }
        let url = self.client.entity_url("packages", &pkg.name);
        // Errors are ignored: a missing package has no old annotations.
        let old_annotations = match self.get(url.clone()).await {
            Ok(old) => body::kv_to_dict(old.get("annotations")),
            Err(_) => Default::default(),
        };
        let deployer = annotation::for_entity(&self.annotation, Some(digest::short(&digest)), None);
        let put_body = body::package_body(self.project, pkg, old_annotations, deployer);
        match self.put(with_overwrite(url), &put_body).await {
            Ok(answer) => {
                let mut r = DeployResponse {
                    namespace: namespace_of(&answer),
                    ..Default::default()
                };
                r.package_versions.insert(
                    pkg.name.clone(),
                    VersionInfo {
                        version: version_of(&answer),
                        digest,
                    },
                );
                if pkg.binding.is_some() {
                    r.successes
                        .push(success(pkg.name.clone(), EntityKind::Binding, false));
                }
                r
            }
            Err(e) => from_error(e, format!("package '{}'", pkg.name)),
        }
    }

    fn read_code(&self, action: &ActionSpec, file: &str) -> Result<String, String> {
        crate::code::read_code(self.project_dir.as_deref(), action, file)
    }

    async fn deploy_function(&self, p: usize, a: usize) -> (DeployResponse, Option<Deferred>) {
        let pkg = &self.project.packages[p];
        let action = &pkg.actions[a];
        let name = action.qualified_name(&pkg.name);
        let context = format!("action '{name}'");
        if let Some(message) = &action.build_error {
            return (failure(message.clone(), context, None), None);
        }
        if let Some(components) = &action.sequence {
            if action.file.is_some() {
                let m = "An action cannot be a sequence and also exist in the project directory structure";
                return (failure(m, context, None), None);
            }
            if action.runtime.as_deref().is_some_and(|r| !r.is_empty())
                || action.binary == Some(true)
                || action.main.as_deref().is_some_and(|m| !m.is_empty())
            {
                let m = "An action cannot be a sequence and also have the runtime, binary, or main attributes";
                return (failure(m, context, None), None);
            }
            let ns = &self.target.namespace;
            let deferred = Deferred {
                package: p,
                action: a,
                fqn: sequences::qualify(ns, &name),
                components: components
                    .iter()
                    .map(|c| sequences::qualify(ns, c))
                    .collect(),
                name,
            };
            return (DeployResponse::default(), Some(deferred));
        }
        let code = match (&action.file, &action.docker) {
            (Some(file), _) => match self.read_code(action, file) {
                Ok(code) => code,
                Err(message) => return (failure(message, context, None), None),
            },
            (None, Some(_)) => String::new(),
            (None, None) => {
                let m = "Action is named in the config but does not exist in the project";
                return (failure(m, context, None), None);
            }
        };
        let runtime = action.runtime.as_deref().filter(|r| !r.is_empty());
        if runtime.is_none() && action.docker.is_none() {
            let m = format!("Action '{name}' not deployed: runtime type could not be determined");
            return (failure(m, format!("action {name}"), None), None);
        }
        let digest = digest::action_digest(action, &code);
        if let Some(old) = self.old.action_versions.get(&name)
            && old.digest == digest
        {
            let mut r = DeployResponse::default();
            r.successes
                .push(success(name.clone(), EntityKind::Action, true));
            r.action_versions.insert(name.clone(), old.clone());
            r.combine(
                self.deploy_triggers_where(action, &name, &self.stale_triggers)
                    .await,
            );
            return (r, None);
        }
        let deployer = annotation::for_entity(
            &self.annotation,
            Some(digest::short(&digest)),
            action.zipped,
        );
        let exec = Exec::Code {
            code: &code,
            runtime: runtime.unwrap_or_default(),
        };
        let put_body = body::action_body(action, exec, deployer);
        let url = with_overwrite(self.client.entity_url("actions", &name));
        let result = self.put(url, &put_body).await;
        self.ctx.feedback.step(&Step::Deployed {
            entity: name.clone(),
            ok: result.is_ok(),
        });
        let answer = match result {
            Ok(answer) => answer,
            Err(e) => return (from_error(e, context), None),
        };
        let mut r = DeployResponse {
            namespace: namespace_of(&answer),
            ..Default::default()
        };
        r.successes
            .push(success(name.clone(), EntityKind::Action, false));
        r.action_versions.insert(
            name.clone(),
            VersionInfo {
                version: version_of(&answer),
                digest,
            },
        );
        self.note_progress(&r, false);
        r.combine(self.deploy_triggers(action, &name).await);
        (r, None)
    }

    /// The outcomes of remotely built functions (spec §12.3), and then — unlike the original,
    /// which never deploys them — the triggers of each function its builder deployed.
    async fn remote_outcomes(&self) -> DeployResponse {
        let mut r = DeployResponse::default();
        for done in &self.ctx.remote_outcomes {
            let deployed = done.response.failures.is_empty();
            r.combine(done.response.clone());
            if deployed {
                let name = done.action.qualified_name(&done.package);
                r.combine(self.deploy_triggers(&done.action, &name).await);
            }
        }
        r
    }

    /// Triggers of a deployed function, one after another.
    async fn deploy_triggers(&self, action: &ActionSpec, function: &str) -> DeployResponse {
        self.deploy_triggers_of(action, function, |_| true).await
    }

    /// The triggers of a skipped function that are in `stale`.
    async fn deploy_triggers_where(
        &self,
        action: &ActionSpec,
        function: &str,
        stale: &BTreeSet<String>,
    ) -> DeployResponse {
        self.deploy_triggers_of(action, function, |name| stale.contains(name))
            .await
    }

    async fn deploy_triggers_of(
        &self,
        action: &ActionSpec,
        function: &str,
        send: impl Fn(&str) -> bool,
    ) -> DeployResponse {
        let mut r = DeployResponse::default();
        for trigger in action.triggers.iter().flatten() {
            if !send(&trigger.name) {
                continue;
            }
            let Some(api) = &self.triggers else {
                r.successes
                    .push(success(trigger.name.clone(), EntityKind::Trigger, true));
                continue;
            };
            match api.upsert(&self.target.namespace, trigger, function).await {
                Ok(()) => {
                    r.successes
                        .push(success(trigger.name.clone(), EntityKind::Trigger, false))
                }
                Err(e) => r.combine(from_error(e, format!("trigger '{}'", trigger.name))),
            }
        }
        r
    }

    /// Whether an incremental deploy applying a plan skips sequence `name`: the plan found
    /// the namespace holding it with this `digest`. (The versions file records no sequences,
    /// so without a plan they are always sent.)
    fn plan_leaves_unchanged(&self, name: &str, digest: &str) -> bool {
        let Some(plan) = self
            .ctx
            .applying
            .as_deref()
            .filter(|_| self.ctx.flags.incremental)
        else {
            return false;
        };
        plan.of(sluice_core::ChangeKind::Unchanged).any(|c| {
            c.entity == sluice_core::PlanEntity::Sequence
                && c.name == name
                && c.digest.as_deref() == Some(digest)
        })
    }

    async fn deploy_sequences(&self, deferred: Vec<Deferred>) -> DeployResponse {
        if deferred.is_empty() {
            return DeployResponse::default();
        }
        let ns = &self.target.namespace;
        let known: BTreeSet<String> = self
            .project
            .actions()
            .map(|(p, a)| sequences::qualify(ns, &a.qualified_name(&p.name)))
            .collect();
        for warning in sequences::warnings(&deferred, ns, &known) {
            self.ctx.feedback.warn(&warning);
        }
        let sorted = match sequences::sort(deferred) {
            Ok(s) => s,
            Err(message) => return failure(message, "sequences".into(), None),
        };
        let mut response = DeployResponse::default();
        for d in sorted {
            let action = &self.project.packages[d.package].actions[d.action];
            let digest = digest::action_digest(action, "");
            if self.plan_leaves_unchanged(&d.name, &digest) {
                response
                    .successes
                    .push(success(d.name.clone(), EntityKind::Action, true));
                response.combine(
                    self.deploy_triggers_where(action, &d.name, &self.stale_triggers)
                        .await,
                );
                continue;
            }
            let deployer =
                annotation::for_entity(&self.annotation, Some(digest::short(&digest)), None);
            let put_body = body::action_body(action, Exec::Sequence(&d.components), deployer);
            let url = with_overwrite(self.client.entity_url("actions", &d.name));
            let result = self.put(url, &put_body).await;
            self.ctx.feedback.step(&Step::Deployed {
                entity: d.name.clone(),
                ok: result.is_ok(),
            });
            match result {
                Ok(answer) => {
                    response.combine(DeployResponse {
                        namespace: namespace_of(&answer),
                        successes: vec![success(d.name.clone(), EntityKind::Action, false)],
                        ..Default::default()
                    });
                    response.combine(self.deploy_triggers(action, &d.name).await);
                }
                Err(e) => response.combine(from_error(e, format!("action '{}'", d.name))),
            }
        }
        response
    }
}
