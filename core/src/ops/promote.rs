//! `promote <from> <to>`: the exact code of every function this project deployed in `<from>`,
//! read back from `<from>`'s namespace and checked against what the project recorded there,
//! deployed to `<to>` with `<to>`'s settings (the project is read for `<to>`: its env file,
//! parameters and `SLUICE_ENVIRONMENT`). Packages, sequences, bindings and triggers come from
//! the project as for a deploy; only the code of functions comes from `<from>`.
//!
//! Why it is built this way: the read code is handed to the engine as artifacts a hook
//! supplies (the `build:before` seam), so a promotion is a deploy in every other respect —
//! the same header, plan, deployer and versions file — and nothing is built.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};

use crate::changes::Plan;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::hooks::{BuildDecision, Hooks};
use crate::model::{
    ActionSpec, Artifact, BuildStatus, DeployResponse, DeployStructure, Dict, Flags,
};
use crate::plugin::{DeployedFunction, Target};
use crate::releases::{self, RELEASE_ANNOTATION, Release};
use crate::runtimes::RuntimeTable;

use super::deploy::{Confirm, Prepared, prepare, stage_namespace};
use super::session::{Session, Targets, require_resolved};

/// What to promote.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PromoteOptions {
    /// The project's location.
    pub project: String,
    /// The source environment.
    pub from: String,
    /// The flags of the target: `flags.environment` names it, `flags.env` is its env file.
    pub flags: Flags,
    /// The deployer, by name; `None` is the registry's default.
    pub deployer: Option<String>,
    /// Make the plan and stop.
    pub dry_run: bool,
    /// Asked with the plan before anything is sent; `false` cancels. `None` sends.
    pub confirm: Option<Confirm>,
}

impl PromoteOptions {
    pub fn new(
        project: impl Into<String>,
        from: impl Into<String>,
        flags: Flags,
        deployer: Option<String>,
    ) -> Self {
        PromoteOptions {
            project: project.into(),
            from: from.into(),
            flags,
            deployer,
            dry_run: false,
            confirm: None,
        }
    }
}

/// What a promotion did.
#[derive(Debug, Clone)]
pub struct PromoteOutcome {
    pub project_dir: PathBuf,
    /// Where the code came from.
    pub source: Target,
    /// Where it went.
    pub target: Target,
    pub plan: Plan,
    /// The deploy's response; `None` for a dry run.
    pub response: Option<DeployResponse>,
    /// The release recorded; `None` for a dry run or when an entity failed.
    pub release: Option<Release>,
}

/// Promotes `options.from` to the environment `options.flags.environment`. An `Err` when the
/// source has drifted or lacks functions, when a phase fails, or when the plan is not
/// confirmed; failures of single entities are in the outcome's response.
pub async fn promote(
    session: &Session,
    options: &PromoteOptions,
    from: &dyn Targets,
    to: &dyn Targets,
) -> Result<PromoteOutcome> {
    let to_name = options.flags.environment.clone().ok_or_else(|| {
        Error::usage("promote needs the target environment (the second argument)")
    })?;
    if to_name == options.from {
        return Err(Error::Usage {
            message: format!("cannot promote '{to_name}' to itself"),
            help: Some("name two environments of sluice.toml: sluice promote <from> <to>".into()),
        });
    }
    let engine = &session.engine;
    let deployer = engine
        .registry
        .deployer_or_default(options.deployer.as_deref())?;
    let project_dir =
        std::path::absolute(&options.project).map_err(|e| Error::io(&options.project, e))?;

    // The project's entities, as the target's settings read them.
    let builtin = RuntimeTable::builtin();
    let project = session.read(&options.project, &options.flags, &builtin)?;
    require_resolved(&project)?;

    let mut from_flags = options.flags.clone();
    from_flags.environment = Some(options.from.clone());
    let resolved = from.resolve(stage_namespace(project.target_namespace.as_ref(), false)?)?;
    let from_ctx = session.deploy_context(&from_flags, &resolved, Some(&project_dir), &builtin);
    let source = engine.prepare(deployer.as_ref(), &from_ctx).await?;
    let deployed = deployer.read_deployed(&from_ctx, &source, &project).await?;
    drop(resolved);
    check_source(&options.from, &source, &deployed)?;
    session.feedback.progress(&format!(
        "Promoting the code of {} function(s) from environment '{}' (namespace '{}')",
        deployed.iter().filter(|f| f.code.is_some()).count(),
        options.from,
        source.namespace
    ));

    let staging = Staging::new(&project_dir)?;
    let mut artifacts = BTreeMap::new();
    let mut functions = BTreeMap::new();
    for (i, function) in deployed.iter().enumerate() {
        let Some(code) = &function.code else { continue };
        let file = staging.dir.join(i.to_string());
        std::fs::write(&file, code).map_err(|e| Error::io(&file, e))?;
        artifacts.insert(
            function.name.clone(),
            Artifact {
                file: file.display().to_string(),
                runtime: function.kind.clone(),
                binary: function.binary,
                zipped: function.binary,
                main: function.main.clone(),
                status: BuildStatus::Supplied,
            },
        );
        functions.insert(function.name.clone(), releases::code_digest(code));
    }

    let existing = releases::read(&project_dir)?;
    let stamp = crate::annotation::deployer_annotation(&project_dir, &session.env);
    let mut release = Release {
        id: releases::next_id(&existing, &to_name),
        source: options.from.clone(),
        target: to_name.clone(),
        source_namespace: source.namespace.clone(),
        namespace: String::new(),
        commit: stamp
            .commit
            .clone()
            .or_else(|| releases::git_commit(&project_dir)),
        user: stamp.user.clone(),
        time: releases::rfc3339(std::time::SystemTime::now()),
        functions,
    };
    let promoting = Session {
        engine: Engine {
            registry: engine.registry.clone(),
            hooks: Arc::new(Promotion {
                inner: engine.hooks.clone(),
                artifacts,
                annotation: json!({
                    "id": release.id,
                    "source": release.source,
                    "commit": release.commit,
                }),
            }),
        },
        env: session.env.clone(),
        home: session.home.clone(),
        system_ignore: session.system_ignore.clone(),
        feedback: session.feedback.clone(),
        // `<to>`'s secrets (the session is opened in the target environment).
        secrets: session.secrets.clone(),
    };
    let Prepared {
        deployer,
        ctx,
        target,
        project,
        ..
    } = prepare(
        &promoting,
        &options.project,
        &options.flags,
        options.deployer.as_deref(),
        to,
        "Promoting",
        false,
    )
    .await?;
    release.namespace = target.namespace.clone();
    let engine = &promoting.engine;
    let plan = engine
        .plan_changes(deployer.as_ref(), &ctx, &target, &project, false)
        .await?;
    let mut outcome = PromoteOutcome {
        project_dir,
        source,
        target,
        plan,
        response: None,
        release: None,
    };
    if options.dry_run {
        return Ok(outcome);
    }
    if let Some(confirm) = &options.confirm
        && !(confirm.0)(&outcome.plan)
    {
        return Err(Error::usage(format!(
            "promotion of '{}' to '{to_name}' cancelled: the plan was not confirmed",
            options.from
        )));
    }
    let response = engine
        .deploy(deployer.as_ref(), &ctx, &outcome.target, project)
        .await?;
    if response.failures.is_empty() {
        releases::append(&outcome.project_dir, &release)?;
        outcome.release = Some(release);
    }
    outcome.response = Some(response);
    Ok(outcome)
}

/// Refuses a source that is not exactly what the project recorded there.
fn check_source(from: &str, source: &Target, deployed: &[DeployedFunction]) -> Result<()> {
    let ns = &source.namespace;
    let problems: Vec<String> = deployed
        .iter()
        .filter_map(|f| {
            let name = &f.name;
            let Some(recorded) = &f.recorded else {
                return Some(format!(
                    "'{name}': this project has no record of deploying it to namespace '{ns}' (.deployed/versions.json)"
                ));
            };
            let Some(version) = &f.version else {
                return Some(format!("'{name}': namespace '{ns}' has no such function"));
            };
            let digest_matches = f
                .digest
                .as_deref()
                .is_some_and(|d| !d.is_empty() && recorded.digest.starts_with(d));
            if version != &recorded.version || !digest_matches {
                return Some(format!(
                    "'{name}' drifted: namespace '{ns}' has version {version} (digest {}), the project recorded version {} (digest {})",
                    f.digest.as_deref().unwrap_or("none"),
                    recorded.version,
                    recorded.digest.chars().take(8).collect::<String>()
                ));
            }
            if f.code.is_none() {
                return Some(format!("'{name}': namespace '{ns}' returned no code for it"));
            }
            None
        })
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Project {
        message: format!(
            "cannot promote from environment '{from}': it is not what this project deployed there\n  {}",
            problems.join("\n  ")
        ),
        help: Some(format!(
            "deploy the project to '{from}' again (sluice deploy -e {from}), check it, then promote"
        )),
    })
}

/// The staging directory of the read code, under `.deployed/`, removed when dropped.
struct Staging {
    dir: PathBuf,
}

impl Staging {
    fn new(project_dir: &Path) -> Result<Self> {
        let dir = project_dir
            .join(".deployed")
            .join(format!("promote-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(Staging { dir })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The project's hooks, with the source's code as every function's artifact and the release
/// annotation on every function.
struct Promotion {
    inner: Arc<dyn Hooks>,
    artifacts: BTreeMap<String, Artifact>,
    annotation: Value,
}

impl Hooks for Promotion {
    fn read_after(&self, project: DeployStructure) -> Result<DeployStructure> {
        let mut project = self.inner.read_after(project)?;
        for package in &mut project.packages {
            for action in &mut package.actions {
                action
                    .annotations
                    .get_or_insert_with(Dict::new)
                    .insert(RELEASE_ANNOTATION.to_string(), self.annotation.clone());
            }
        }
        Ok(project)
    }
    fn build_before(&self, package: &str, action: &ActionSpec) -> Result<BuildDecision> {
        match self.artifacts.get(&action.qualified_name(package)) {
            Some(artifact) => Ok(BuildDecision::Use(artifact.clone())),
            None if action.is_sequence() => Ok(BuildDecision::Run),
            None => Err(Error::Build {
                entity: format!("action '{}'", action.qualified_name(package)),
                message: format!(
                    "'{}' has no code read from the source environment, so it cannot be promoted",
                    action.qualified_name(package)
                ),
                output: None,
            }),
        }
    }
    fn build_after(
        &self,
        package: &str,
        action: &ActionSpec,
        artifact: Artifact,
    ) -> Result<Artifact> {
        // The promoted code is sent exactly as read: no hook edits it.
        match self.artifacts.contains_key(&action.qualified_name(package)) {
            true => Ok(artifact),
            false => self.inner.build_after(package, action, artifact),
        }
    }
    fn deploy_before(&self, project: DeployStructure, target: &Target) -> Result<DeployStructure> {
        self.inner.deploy_before(project, target)
    }
    fn deploy_after(&self, response: &DeployResponse, target: &Target) -> Result<()> {
        self.inner.deploy_after(response, target)
    }
    fn plan_after(&self, plan: &Plan, target: &Target) -> Result<()> {
        self.inner.plan_after(plan, target)
    }
    fn wants_plan(&self) -> bool {
        self.inner.wants_plan()
    }
    fn on_error(&self, error: &Error) {
        self.inner.on_error(error)
    }
}
