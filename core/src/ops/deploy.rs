//! `deploy`: read → prepare → build → deploy, with the runtime table of the namespace being
//! deployed to (when its credentials are known before the read), else the built-in table with
//! a warning.

use std::path::PathBuf;
use std::sync::Arc;

use crate::changes::Plan;
use crate::error::{Error, Result};
use crate::model::{DeployResponse, DeployStructure, Flags, TargetNamespace};
use crate::plugin::{DeployContext, Deployer, Target};
use crate::runtimes::RuntimeTable;

use super::remote_build::{self, Shared, Submitted};
use super::runtime_cache;
use super::session::{ResolvedTarget, Session, Targets, require_resolved};

/// Asked before a plan's deletes are carried out; `false` cancels the deploy.
#[derive(Clone)]
pub struct Confirm(pub Arc<dyn Fn(&Plan) -> bool + Send + Sync>);

impl std::fmt::Debug for Confirm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Confirm(..)")
    }
}

/// What to deploy, and how.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeployOptions {
    /// The project's location (a directory, or whatever a reader claims).
    pub project: String,
    pub flags: Flags,
    /// The deployer to use, by name (`--target`); `None` is the registry's default.
    pub deployer: Option<String>,
    /// A saved plan to apply exactly (`deploy --plan FILE`): refused when the project or the
    /// namespace changed since it was made.
    pub saved_plan: Option<Plan>,
    /// Asked before deleting anything (`--prune`); `None` deletes without asking.
    pub confirm: Option<Confirm>,
    /// Make a plan even without `--prune` or a saved plan (`--explain`), so the outcome says
    /// why each entity was sent or skipped.
    pub want_plan: bool,
}

impl DeployOptions {
    pub fn new(project: impl Into<String>, flags: Flags, deployer: Option<String>) -> Self {
        DeployOptions {
            project: project.into(),
            flags,
            deployer,
            saved_plan: None,
            confirm: None,
            want_plan: false,
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
    /// The plan that was applied, when one was made (`--prune`, `--plan`, `--explain`, a
    /// `plan:after` hook).
    pub plan: Option<Plan>,
}

/// A project read, built and ready to be sent: what `deploy` and `plan` share.
pub(crate) struct Prepared {
    pub project_dir: PathBuf,
    pub deployer: Arc<dyn Deployer>,
    pub ctx: DeployContext,
    pub target: Target,
    pub project: DeployStructure,
    /// Functions sent to the remote builder (only when `prepare` was asked to send them).
    pub remote: Vec<Submitted>,
}

/// read → prepare → build, with the runtime table of the namespace being deployed to (when
/// its credentials are known before the read), else the built-in table with a warning.
pub(crate) async fn prepare(
    session: &Session,
    location: &str,
    flags: &Flags,
    deployer: Option<&str>,
    targets: &dyn Targets,
    verb: &str,
    remote_builds: bool,
) -> Result<Prepared> {
    let engine = &session.engine;
    let deployer = engine.registry.deployer_or_default(deployer)?;
    let project_dir = std::path::absolute(location).map_err(|e| Error::io(location, e))?;

    let early = targets.resolve(None).ok();
    let home = session.home.as_deref();
    let mut runtimes = RuntimeTable::builtin();
    let mut cached = false;
    if let Some(early) = &early {
        let host = &early.credentials.ow.apihost;
        match runtime_cache::load(home, deployer.name(), host) {
            Some(table) => {
                runtimes = table;
                cached = true;
            }
            None => {
                if let Some(table) = fetch_runtimes(session, deployer.as_ref(), flags, early).await
                {
                    runtimes = table;
                }
            }
        }
    }

    let mut project = match (session.read(location, flags, &runtimes), &early) {
        (Ok(project), _) => project,
        // The cached table may be older than the namespace's: read again with a fresh one.
        (Err(_), Some(early)) if cached => {
            if let Some(table) = fetch_runtimes(session, deployer.as_ref(), flags, early).await {
                runtimes = table;
            }
            session.read(location, flags, &runtimes)?
        }
        (Err(e), _) => return Err(e),
    };
    require_resolved(&project)?;
    if let Some(environment) = &flags.environment {
        super::environment::stamp(&mut project, environment);
    }

    let target_namespace = stage_namespace(project.target_namespace.as_ref(), flags.production)?;
    let resolved = match (early, target_namespace) {
        (Some(early), None) => early,
        (_, named) => targets.resolve(named)?,
    };
    let ctx = session.deploy_context(flags, &resolved, Some(&project_dir), &runtimes);
    let target = engine.prepare(deployer.as_ref(), &ctx).await?;
    session.feedback.progress(&header(
        verb,
        &project_dir,
        &target,
        flags.environment.as_deref(),
    ));

    let name = project_dir.display().to_string();
    let remote_builder = engine.registry.remote_builder().filter(|_| remote_builds);
    let mut remote = Vec::new();
    if let Some(builder) = &remote_builder {
        let mut taken = remote_build::take_remote(&mut project);
        // Remotely built functions leave before the build, so they get the environment's
        // secrets here: the slice's project.yml is encrypted (spec §12.1), as it is for the
        // namespace credentials it carries too.
        for (shell, action) in &mut taken {
            super::environment::apply_secrets_to_remote(shell, action, &session.secrets);
        }
        let shared = Shared {
            project_dir: &project_dir,
            project: &project,
            target: &target,
            flags,
            runtimes: &runtimes,
            system_ignore: &session.system_ignore,
            env: &session.env,
            feedback: &session.feedback,
        };
        remote = remote_build::submit_all(builder.as_ref(), &shared, taken).await;
    }
    let build_ctx = session.build_context(&project_dir, &name, flags, &project, &runtimes);
    engine.build(&mut project, &build_ctx)?;
    super::environment::apply_secrets(&mut project, &session.secrets);
    drop(resolved);
    Ok(Prepared {
        project_dir,
        deployer,
        ctx,
        target,
        project,
        remote,
    })
}

/// Deploys `options.project`. An `Err` means a phase failed as a whole (the project could
/// not be read, the credentials were refused, `lib/` did not build, a saved plan is stale, a
/// `plan:after` hook vetoed); failures of single entities are in the outcome's response.
pub async fn deploy(
    session: &Session,
    options: &DeployOptions,
    targets: &dyn Targets,
) -> Result<DeployOutcome> {
    let engine = &session.engine;
    let mut flags = options.flags.clone();
    if let Some(saved) = &options.saved_plan {
        // A plan is made with build and deploy avoidance; applying it skips what it skips,
        // and deletes what it lists.
        flags.incremental = true;
        flags.prune = saved.prune;
    }
    let Prepared {
        project_dir,
        deployer,
        mut ctx,
        target,
        project,
        remote,
    } = prepare(
        session,
        &options.project,
        &flags,
        options.deployer.as_deref(),
        targets,
        "Deploying",
        true,
    )
    .await?;

    let wants_plan = options.want_plan
        || options.saved_plan.is_some()
        || flags.prune
        || engine.hooks.wants_plan();
    let mut plan = None;
    if wants_plan {
        let fresh = engine
            .plan_changes(deployer.as_ref(), &ctx, &target, &project, flags.prune)
            .await?;
        if let Some(saved) = &options.saved_plan
            && let Some(why) = fresh.staleness(saved)
        {
            return Err(Error::Usage {
                message: format!("the saved plan cannot be applied: {why}"),
                help: Some(
                    "make a new plan with 'sluice plan --out <FILE>', review it, then deploy it with 'sluice deploy --plan <FILE>'"
                        .to_string(),
                ),
            });
        }
        let deletes = fresh.counts.delete;
        if deletes > 0
            && let Some(confirm) = &options.confirm
            && !(confirm.0)(&fresh)
        {
            return Err(Error::usage(format!(
                "deploy cancelled: --prune would delete {deletes} entit{} and was not confirmed",
                if deletes == 1 { "y" } else { "ies" }
            )));
        }
        // Without --prune or a saved plan the plan only explains: nothing is deleted.
        if flags.prune || options.saved_plan.is_some() {
            ctx.applying = Some(Arc::new(fresh.clone()));
        }
        plan = Some(fresh);
    }

    if let Some(builder) = engine.registry.remote_builder()
        && !remote.is_empty()
    {
        let shared = Shared {
            project_dir: &project_dir,
            project: &project,
            target: &target,
            flags: &flags,
            runtimes: &ctx.runtimes,
            system_ignore: &session.system_ignore,
            env: &session.env,
            feedback: &session.feedback,
        };
        ctx.remote_outcomes = remote_build::collect(builder.as_ref(), &shared, remote).await;
    }
    let response = engine
        .deploy(deployer.as_ref(), &ctx, &target, project)
        .await?;
    Ok(DeployOutcome {
        project_dir,
        target,
        response,
        plan,
    })
}

/// The namespace project.yml's `targetNamespace` names: the name, or with the `{test,
/// production}` form the `test` entry (`production` with `--production`). `--production`
/// without a production entry is an error, so the flag never silently does nothing.
pub(crate) fn stage_namespace(
    target: Option<&TargetNamespace>,
    production: bool,
) -> Result<Option<&str>> {
    fn named(n: &Option<String>) -> Option<&str> {
        n.as_deref().filter(|n| !n.is_empty())
    }
    match (target, production) {
        (Some(TargetNamespace::Stages { production: p, .. }), true) if named(p).is_some() => {
            Ok(named(p))
        }
        (_, true) => Err(Error::Usage {
            message: "--production: project.yml's targetNamespace has no production entry".to_string(),
            help: Some(
                "write targetNamespace as { test: <namespace>, production: <namespace> }, or leave --production out"
                    .to_string(),
            ),
        }),
        (Some(TargetNamespace::Name(n)), false) => Ok(Some(n.as_str()).filter(|n| !n.is_empty())),
        (Some(TargetNamespace::Stages { test, .. }), false) => Ok(named(test)),
        (None, false) => Ok(None),
    }
}

/// The namespace's runtime table, kept in the cache for the next command, or `None` (with a
/// warning when reading it failed).
async fn fetch_runtimes(
    session: &Session,
    deployer: &dyn Deployer,
    flags: &Flags,
    early: &ResolvedTarget,
) -> Option<RuntimeTable> {
    let ctx = session.deploy_context(flags, early, None, &RuntimeTable::builtin());
    match deployer.runtimes(&ctx).await {
        Ok(table) => {
            if let Some(table) = &table {
                let host = &early.credentials.ow.apihost;
                runtime_cache::store(session.home.as_deref(), deployer.name(), host, table);
            }
            table
        }
        Err(e) => {
            session.feedback.warn(&format!(
                "Warning: could not load the runtimes of '{}' ({e}); using the built-in runtime table",
                early.credentials.ow.apihost
            ));
            None
        }
    }
}

/// The first progress line: where the deploy (or plan) goes.
fn header(
    verb: &str,
    project_dir: &std::path::Path,
    target: &Target,
    environment: Option<&str>,
) -> String {
    let text = header_lines(verb, project_dir, target);
    match environment {
        Some(name) => format!("{text}\n  for environment '{name}'"),
        None => text,
    }
}

fn header_lines(verb: &str, project_dir: &std::path::Path, target: &Target) -> String {
    if target.local {
        format!(
            "{verb} '{}'\n  to the local namespace '{}' on {}\n  (to deploy to a real namespace: sluice namespace add --apihost <host> --auth <key>)",
            project_dir.display(),
            target.namespace,
            target.apihost
        )
    } else {
        format!(
            "{verb} '{}'\n  to namespace '{}'\n  on host '{}'",
            project_dir.display(),
            target.namespace,
            target.apihost
        )
    }
}
