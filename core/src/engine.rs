//! The engine runs the phases — read (the reader, then build planning in [`crate::plan`]) →
//! prepare → build → deploy — each callable alone, and returns values. It never prints and
//! never exits: progress goes through [`Feedback`], failures come back as [`Error`]s or
//! inside the [`DeployResponse`]. It looks at a project's files only through
//! [`ProjectFiles`](crate::files::ProjectFiles).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::changes::Plan;
use crate::error::{Error, Result};
use crate::feedback::Step;
use crate::hooks::{BuildDecision, Hooks, NoHooks};
use crate::model::{
    ActionSpec, Artifact, BuildStatus, DeployResponse, DeployStructure, build_kind,
};
use crate::plugin::{
    BuildContext, BuildJob, BuildTarget, Builder, DeployContext, Deployer, Detection, ReadContext,
    Target, UndeployRequest,
};
use crate::registry::Registry;

/// Holds the plugins and hooks of one run.
pub struct Engine {
    pub registry: Registry,
    pub hooks: Arc<dyn Hooks>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

/// What happened to one function in the build phase.
#[derive(Debug, Clone, PartialEq)]
pub enum BuildOutcome {
    /// Built (or reused, or supplied by a hook): deploy this.
    Artifact(Artifact),
    /// Nothing to build: a single file deployed as is, or a sequence.
    Unbuilt,
    /// A `build:before` hook left it out of the deploy.
    SkippedByHook,
    /// The build failed with this message; the deployer reports it.
    Failed(String),
}

/// The build result of one function.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildReport {
    pub package: String,
    pub action: String,
    /// `pkg/name`, or `name` in the default package.
    pub entity: String,
    pub outcome: BuildOutcome,
}

/// The detection with the highest priority (the first registered wins a tie).
pub fn best_detection(
    builders: &[Arc<dyn Builder>],
    target: &BuildTarget<'_>,
) -> Option<Detection> {
    select(builders, target, None).map(|(_, d)| d)
}

fn select(
    builders: &[Arc<dyn Builder>],
    target: &BuildTarget<'_>,
    kind: Option<&str>,
) -> Option<(Arc<dyn Builder>, Detection)> {
    let mut best: Option<(Arc<dyn Builder>, Detection)> = None;
    for b in builders {
        let Some(d) = b.detect(target) else { continue };
        if kind.is_some_and(|k| k != d.kind) {
            continue;
        }
        if best
            .as_ref()
            .is_none_or(|(_, top)| d.priority > top.priority)
        {
            best = Some((b.clone(), d));
        }
    }
    best
}

/// Names of the files directly in `rel_dir`, after the exclusion list, sorted: what the
/// builders' `detect` looks at when the build phase picks the builder of a planned kind.
/// Listed again rather than kept from planning, because builds change directories.
fn top_level_files(rel_dir: &str, ctx: &BuildContext) -> Vec<String> {
    ctx.files
        .list(rel_dir)
        .map(|entries| {
            entries
                .into_iter()
                .filter(|e| !e.is_dir && !ctx.system_ignore.is_excluded(&e.name))
                .map(|e| e.name)
                .collect()
        })
        .unwrap_or_default()
}

/// Why a project whose files are not on disk is not built (see [`crate::files`]).
fn not_on_disk(what: &str, kind: &str) -> String {
    format!(
        "{what} has a '{kind}' build, but its project is not in a directory on this machine; builders work in a directory, so the project's reader must give a local copy (ProjectReader::files returning DiskFiles)"
    )
}

impl Engine {
    pub fn new(registry: Registry) -> Self {
        Engine {
            registry,
            hooks: Arc::new(NoHooks),
        }
    }

    /// Replaces the hooks.
    pub fn with_hooks(mut self, hooks: Arc<dyn Hooks>) -> Self {
        self.hooks = hooks;
        self
    }

    fn report<T>(&self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result {
            self.hooks.on_error(e);
        }
        result
    }

    /// Read phase: the reader that claims `location`, then [`Engine::plan`] over the reader's
    /// files, then the `read:after` hooks (which see the planned `build` kinds).
    pub fn read(&self, location: &str, ctx: &ReadContext) -> Result<DeployStructure> {
        let result = self
            .registry
            .reader_for(location)
            .and_then(|reader| {
                let mut project = reader.read(location, ctx)?;
                let files = reader.files(location);
                self.plan(&mut project, files.as_ref(), ctx)?;
                Ok(project)
            })
            .and_then(|project| self.hooks.read_after(project));
        self.report(result)
    }

    /// Prepare phase: the deployer checks the credentials and names the target.
    pub async fn prepare(&self, deployer: &dyn Deployer, ctx: &DeployContext) -> Result<Target> {
        let result = deployer.prepare(ctx).await;
        self.report(result)
    }

    /// Builds `lib/` (when the plan says so) to completion, then every function, in parallel
    /// up to `flags.build_jobs` (default: the number of CPUs).
    ///
    /// The project is updated in place: built functions point at their artifacts, failed ones
    /// carry `build_error`, functions a hook skipped are removed. A `lib/` failure is an `Err`.
    pub fn build(
        &self,
        project: &mut DeployStructure,
        ctx: &BuildContext,
    ) -> Result<Vec<BuildReport>> {
        let result = self.build_inner(project, ctx);
        self.report(result)
    }

    fn build_inner(
        &self,
        project: &mut DeployStructure,
        ctx: &BuildContext,
    ) -> Result<Vec<BuildReport>> {
        let builders = self.registry.builders();
        if let Some(kind) = project.lib_build.clone()
            && build_kind::is_real(&kind)
            && lib_build_needed(project)
        {
            self.build_lib(&builders, &kind, ctx)?;
        }

        let jobs: Vec<(usize, usize)> = project
            .packages
            .iter()
            .enumerate()
            .flat_map(|(p, pkg)| (0..pkg.actions.len()).map(move |a| (p, a)))
            .collect();
        let slots: Vec<Mutex<Option<BuildOutcome>>> =
            jobs.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let workers = ctx
            .flags
            .build_jobs
            .unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(2)
            })
            .max(1)
            .min(jobs.len().max(1));
        let shared: &DeployStructure = project;
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(&(p, a)) = jobs.get(i) else { break };
                        let pkg = &shared.packages[p];
                        let outcome = self.build_one(&builders, &pkg.name, &pkg.actions[a], ctx);
                        if let Ok(mut slot) = slots[i].lock() {
                            *slot = Some(outcome);
                        }
                    }
                });
            }
        });

        let mut reports = Vec::with_capacity(jobs.len());
        let mut skipped: Vec<(usize, usize)> = Vec::new();
        for (&(p, a), slot) in jobs.iter().zip(slots) {
            let outcome =
                slot.into_inner().ok().flatten().unwrap_or_else(|| {
                    BuildOutcome::Failed("the build did not finish".to_string())
                });
            let pkg_name = project.packages[p].name.clone();
            let action = &mut project.packages[p].actions[a];
            match &outcome {
                BuildOutcome::Artifact(artifact) => apply_artifact(action, artifact),
                BuildOutcome::Failed(message) => action.build_error = Some(message.clone()),
                BuildOutcome::SkippedByHook => skipped.push((p, a)),
                BuildOutcome::Unbuilt => {}
            }
            reports.push(BuildReport {
                entity: action.qualified_name(&pkg_name),
                package: pkg_name,
                action: action.name.clone(),
                outcome,
            });
        }
        for (p, a) in skipped.into_iter().rev() {
            project.packages[p].actions.remove(a);
        }
        Ok(reports)
    }

    fn build_lib(
        &self,
        builders: &[Arc<dyn Builder>],
        kind: &str,
        ctx: &BuildContext,
    ) -> Result<()> {
        let dir = ctx.project_dir.join("lib");
        let files = top_level_files("lib", ctx);
        let target = BuildTarget::new(&dir, "lib", &files, None, &ctx.flags);
        let (builder, _) = select(builders, &target, Some(kind)).ok_or_else(|| Error::Build {
            entity: "lib".to_string(),
            message: format!("no builder can run a '{kind}' build of lib/"),
            output: None,
        })?;
        if ctx.files.root().is_none() {
            return Err(Error::Build {
                entity: "lib".to_string(),
                message: not_on_disk("lib/", kind),
                output: None,
            });
        }
        ctx.feedback.step(&Step::BuildStarted {
            entity: "lib".into(),
        });
        let result = builder.build(&BuildJob::Lib { kind }, ctx);
        ctx.feedback.step(&Step::BuildFinished {
            entity: "lib".into(),
            ok: result.is_ok(),
        });
        result.map(|_| ())
    }

    /// Builds one function: the single place where hooks wrap a build.
    pub fn build_one(
        &self,
        builders: &[Arc<dyn Builder>],
        package: &str,
        action: &ActionSpec,
        ctx: &BuildContext,
    ) -> BuildOutcome {
        match self.hooks.build_before(package, action) {
            Err(e) => return BuildOutcome::Failed(e.to_string()),
            Ok(BuildDecision::Skip) => return BuildOutcome::SkippedByHook,
            Ok(BuildDecision::Use(mut artifact)) => {
                artifact.status = BuildStatus::Supplied;
                return self.after_build(package, action, artifact);
            }
            Ok(BuildDecision::Run) => {}
        }
        let Some(kind) = action.build.as_deref() else {
            return unbuilt_file_outcome(package, action, ctx);
        };
        let entity = action.qualified_name(package);
        let Some(file) = action.file.as_deref() else {
            return BuildOutcome::Failed(format!(
                "Action '{entity}' has a '{kind}' build but no directory"
            ));
        };
        let dir = ctx.resolve(file);
        let files = top_level_files(file, ctx);
        let target = BuildTarget::new(&dir, file, &files, Some(action), &ctx.flags);
        let Some((builder, _)) = select(builders, &target, Some(kind)) else {
            return BuildOutcome::Failed(no_builder_message(&entity, kind));
        };
        if ctx.files.root().is_none() {
            return BuildOutcome::Failed(not_on_disk(&format!("Function '{entity}'"), kind));
        }
        ctx.feedback.step(&Step::BuildStarted {
            entity: entity.clone(),
        });
        let result = builder.build(&BuildJob::Action { package, action }, ctx);
        ctx.feedback.step(&Step::BuildFinished {
            entity,
            ok: result.is_ok(),
        });
        match result {
            Ok(Some(artifact)) => self.after_build(package, action, artifact),
            Ok(None) => BuildOutcome::Unbuilt,
            Err(e) => BuildOutcome::Failed(e.to_string()),
        }
    }

    fn after_build(&self, package: &str, action: &ActionSpec, artifact: Artifact) -> BuildOutcome {
        match self.hooks.build_after(package, action, artifact) {
            Ok(artifact) => BuildOutcome::Artifact(artifact),
            Err(e) => BuildOutcome::Failed(e.to_string()),
        }
    }

    /// What deploying `project` would change (`deployer.plan`), then the `plan:after` hooks,
    /// which may veto with an `Err`.
    pub async fn plan_changes(
        &self,
        deployer: &dyn Deployer,
        ctx: &DeployContext,
        target: &Target,
        project: &DeployStructure,
        prune: bool,
    ) -> Result<Plan> {
        let result = match deployer.plan(ctx, target, project, prune).await {
            Ok(plan) => self.hooks.plan_after(&plan, target).map(|()| plan),
            Err(e) => Err(e),
        };
        self.report(result)
    }

    /// Deploy phase: `deploy:before` hooks, the deployer, then `deploy:after` hooks.
    pub async fn deploy(
        &self,
        deployer: &dyn Deployer,
        ctx: &DeployContext,
        target: &Target,
        project: DeployStructure,
    ) -> Result<DeployResponse> {
        let project = match self.hooks.deploy_before(project, target) {
            Ok(p) => p,
            Err(e) => return self.report(Err(e)),
        };
        let mut response = match deployer.deploy(ctx, target, &project).await {
            Ok(r) => r,
            Err(e) => return self.report(Err(e)),
        };
        if let Err(e) = self.hooks.deploy_after(&response, target) {
            self.hooks.on_error(&e);
            response.failures.push(crate::model::DeployFailure {
                message: e.to_string(),
                context: Some("deploy:after hook".to_string()),
                status_code: None,
            });
        }
        Ok(response)
    }
}

impl Engine {
    /// Undeploy phase: the deployer deletes what `request` names; a failure of the whole
    /// request reaches the `error` hooks.
    pub async fn undeploy(
        &self,
        deployer: &dyn Deployer,
        ctx: &DeployContext,
        target: &Target,
        request: &UndeployRequest,
    ) -> Result<DeployResponse> {
        let result = deployer.undeploy(ctx, target, request).await;
        self.report(result)
    }
}

/// A function file is deployed as it is, so building it means checking it: a zip must be
/// a sound archive, and the file must give a runtime (its extension, or `runtime:`), which
/// the deploy would otherwise find missing only after the namespace was contacted.
fn unbuilt_file_outcome(package: &str, action: &ActionSpec, ctx: &BuildContext) -> BuildOutcome {
    let Some(file) = action.file.as_deref() else {
        return BuildOutcome::Unbuilt;
    };
    if action.runtime.as_deref().is_none_or(str::is_empty)
        && action.docker.is_none()
        && !action.is_sequence()
    {
        return BuildOutcome::Failed(format!(
            "Action '{}' has no runtime: the name of {file} gives none; add 'runtime:' for it in project.yml, or give the file an extension that names one (.js, .py, …)",
            action.qualified_name(package)
        ));
    }
    if action.zipped == Some(true)
        && ctx.files.root().is_some()
        && let Err(e) = crate::zip_check::check_prebuilt_zip(&ctx.resolve(file), file)
    {
        return BuildOutcome::Failed(format!(
            "{e}; rebuild it (sluice zips a function directory itself) or remove it"
        ));
    }
    crate::finder::explain(
        ctx,
        &action.qualified_name(package),
        &format!("nothing to build: {file} is deployed as it is"),
    );
    BuildOutcome::Unbuilt
}

fn no_builder_message(entity: &str, kind: &str) -> String {
    if build_kind::is_remote(kind) {
        format!(
            "Function '{entity}' is built remotely ('{kind}'), which only 'sluice deploy' does (the namespace's builder builds and deploys it); to build it on this machine, set 'localBuild: true' for it in project.yml"
        )
    } else {
        format!("Function '{entity}' has a '{kind}' build, but no builder is registered for it")
    }
}

/// `lib/` is built when some function has a local build (spec §6.6; `.include` and plain
/// directories count as local builds).
fn lib_build_needed(project: &DeployStructure) -> bool {
    project.slice == Some(true)
        || project.actions().any(|(_, a)| {
            a.build
                .as_deref()
                .is_some_and(|k| !build_kind::is_remote(k))
        })
}

/// Points an action at its artifact (spec §7.8: file, binary and zipped come from the file;
/// the runtime and main from the action when it has them).
pub fn apply_artifact(action: &mut ActionSpec, artifact: &Artifact) {
    action.file = Some(artifact.file.clone());
    action.binary = Some(artifact.binary);
    action.zipped = Some(artifact.zipped);
    if action.runtime.as_deref().is_none_or(str::is_empty) {
        action.runtime = artifact.runtime.clone();
    }
    if action.main.as_deref().is_none_or(str::is_empty) && artifact.main.is_some() {
        action.main = artifact.main.clone();
    }
}
