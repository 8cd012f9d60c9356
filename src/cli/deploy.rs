//! `sluice deploy <project>`: parse the flags, run [`ops::deploy`], then print the summary in
//! the original deployer's words (spec §1.3), or `{transcript, outcome}` with `--json`
//! (always, even when a phase fails). The exit status is non-zero whenever anything failed.
//! `--dry-run` is `sluice plan`; `--plan FILE` applies a saved plan; `--prune` deletes.
//! `deploy slice:<name>` is the slice deployer of remote builds ([`super::slice`]).

use std::path::PathBuf;
use std::process::ExitCode;

use sluice_core::Flags;
use sluice_core::ops::{self, DeployOptions};

use super::connection::{TargetArgs, TokenArgs};
use super::deploy_output::{Output, print_summary};
use super::render::CliError;
use super::session::{self, CliTargets};

/// What `deploy` and `plan` share: the project, how it is read and built, where it goes.
#[derive(Debug, clap::Args)]
pub struct ProjectArgs {
    /// The project directory
    #[arg(default_value = ".")]
    project: String,
    /// Property file (dotenv or JSON) for ${VAR} substitution in project.yml [default: <project>/.env]
    #[arg(long, value_name = "FILE")]
    env: Option<PathBuf>,
    /// Property file whose entries are added to the environment of build scripts
    #[arg(long, value_name = "FILE")]
    build_env: Option<PathBuf>,
    #[command(flatten)]
    environment: super::env::EnvironmentArg,
    /// Deploy to project.yml's targetNamespace.production (of `{test: A, production: B}`) instead of test
    #[arg(long, conflicts_with = "environment")]
    production: bool,
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    token: TokenArgs,
    /// Show the output of build scripts as they run
    #[arg(long)]
    verbose_build: bool,
    /// Say when functions are zipped
    #[arg(long)]
    verbose_zip: bool,
    /// Use yarn instead of npm for package.json builds
    #[arg(long)]
    yarn: bool,
    /// Build every function with a real build remotely
    #[arg(long)]
    remote_build: bool,
    /// Only these packages or functions (comma-separated `pkg`, `pkg/` or `pkg/fn`)
    #[arg(long, value_name = "LIST")]
    include: Option<String>,
    /// Leave out these packages or functions (comma-separated `pkg`, `pkg/` or `pkg/fn`)
    #[arg(long, value_name = "LIST")]
    exclude: Option<String>,
    /// A directory outside the project that it may read (`${<file}`, symlinked files); repeatable
    #[arg(long, value_name = "DIR")]
    allow_outside: Vec<PathBuf>,
    #[command(flatten)]
    output: super::render::OutputArgs,
    /// Treat any `triggers` clause as an error (for platforms without triggers)
    #[arg(long)]
    no_triggers: bool,
    /// Most builds at once [default: number of CPUs]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    build_jobs: Option<u16>,
    /// Most requests to the namespace in flight at once
    #[arg(long, value_name = "N", env = "DEPLOYMENT_CHUNK_SIZE", default_value_t = 25,
          value_parser = clap::value_parser!(u16).range(1..))]
    deploy_jobs: u16,
    /// Also delete the functions, sequences, packages and triggers this project deployed and no longer has
    #[arg(long)]
    prune: bool,
    /// Say for each entity why it is sent, skipped or deleted
    #[arg(long)]
    explain: bool,
    #[command(flatten)]
    plugins: super::plugins::DeployPluginArgs,
    #[command(flatten)]
    hooks: super::hooks::HookArgs,
    #[command(flatten)]
    build_limits: super::build_limits::BuildLimitArgs,
}

impl ProjectArgs {
    /// The flags of the run; the chosen environment supplies `--env` and `--build-env` when
    /// they are not given.
    pub fn flags(&self, incremental: bool, trust_local: bool) -> Result<Flags, CliError> {
        let environment = self.environment()?;
        let file = |given: &Option<PathBuf>, settled: Option<&PathBuf>| {
            given.as_ref().or(settled).map(|p| p.display().to_string())
        };
        Ok(Flags {
            env: file(&self.env, environment.and_then(|e| e.env_file.as_ref())),
            build_env: file(
                &self.build_env,
                environment.and_then(|e| e.build_env_file.as_ref()),
            ),
            environment: environment.map(|e| e.name.clone()),
            production: self.production,
            apihost: self.target.apihost.clone(),
            include: self.include.clone(),
            exclude: self.exclude.clone(),
            allow_outside: self
                .allow_outside
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            insecure: self.target.insecure,
            verbose_build: self.verbose_build,
            verbose_zip: self.verbose_zip,
            yarn: self.yarn,
            remote_build: self.remote_build,
            incremental,
            json: self.output.json(),
            no_triggers: self.no_triggers,
            build_jobs: self.build_jobs.map(usize::from),
            deploy_jobs: Some(usize::from(self.deploy_jobs)),
            trust_local,
            prune: self.prune,
            explain: self.explain,
        })
    }

    /// The environment of `sluice.toml` this run deploys to, if any.
    pub fn environment(&self) -> Result<Option<&sluice_core::settings::Environment>, CliError> {
        self.environment.choose(&self.project)
    }

    pub fn project(&self) -> &str {
        &self.project
    }

    pub fn json(&self) -> bool {
        self.output.json()
    }

    pub fn explain(&self) -> bool {
        self.explain
    }

    /// Opens the session, runs `op` with the targets, and renders a phase's failure.
    pub fn with_session<T>(
        &self,
        out: &Output,
        op: impl AsyncFnOnce(&session::Session, &CliTargets) -> sluice_core::Result<T>,
    ) -> Result<Result<T, ExitCode>, CliError> {
        let environment = match self.environment() {
            Ok(e) => e,
            Err(e) => return out.fail(e).map(Err),
        };
        let read_flags = match self.flags(false, false) {
            Ok(f) => f,
            Err(e) => return out.fail(e).map(Err),
        };
        let session = match session::open_in(
            &self.project,
            &self.plugins.plugins,
            &self.hooks,
            out.feedback.clone(),
            environment,
            &read_flags,
        ) {
            Ok(s) => s,
            Err(e) => return out.fail(e).map(Err),
        };
        let targets =
            CliTargets::new(&self.target, &self.token, &session).in_environment(environment);
        let runtime = tokio::runtime::Runtime::new().map_err(CliError::other)?;
        match runtime.block_on(op(&session, &targets)) {
            Ok(v) => Ok(Ok(v)),
            Err(e) => {
                let rendered = targets
                    .key_source
                    .explain(session::op_error(&e, &self.project));
                out.fail(super::secrets::mask_error(
                    rendered,
                    &e,
                    &session.secrets,
                    environment,
                ))
                .map(Err)
            }
        }
    }

    pub fn deployer(&self) -> Option<String> {
        self.plugins.deployer()
    }

    /// Applies `--build-timeout` for the builds this command runs.
    pub fn apply_build_limits(&self) -> Result<(), CliError> {
        self.build_limits.apply()
    }

    pub fn prune(&self) -> bool {
        self.prune
    }

    /// A session for the project with its plugins and hooks (for commands that open one per
    /// run of an op, as `watch` does per batch).
    pub fn open_session(
        &self,
        feedback: std::sync::Arc<dyn sluice_core::Feedback>,
    ) -> Result<session::Session, CliError> {
        let environment = self.environment()?;
        session::open_in(
            &self.project,
            &self.plugins.plugins,
            &self.hooks,
            feedback,
            environment,
            &self.flags(false, false)?,
        )
    }

    pub fn targets(&self, session: &session::Session) -> CliTargets {
        let environment = self.environment().ok().flatten();
        CliTargets::new(&self.target, &self.token, session).in_environment(environment)
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    common: ProjectArgs,
    /// Skip unchanged builds, and deploys the namespace confirms it holds (version and digest in .deployed/versions.json)
    #[arg(long)]
    incremental: bool,
    /// With --incremental: skip by .deployed/versions.json alone, without asking the namespace (the original deployer's way)
    #[arg(long, requires = "incremental")]
    trust_local: bool,
    /// Print the plan instead of deploying (what 'sluice plan' does)
    #[arg(long, conflicts_with = "plan")]
    dry_run: bool,
    /// Apply exactly this saved plan ('sluice plan --out FILE'); refused if the project or the namespace changed since
    #[arg(long, value_name = "FILE", conflicts_with = "prune")]
    plan: Option<PathBuf>,
    /// Delete what --prune finds without asking
    #[arg(short = 'y', long)]
    yes: bool,
    /// Deploy to a protected environment (one that otherwise changes only by 'sluice promote')
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    plan_output: super::plan::PlanOutputArgs,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    // A builder action's run: the slice's own config says how it is deployed.
    if let Some(name) = args.common.project().strip_prefix(super::slice::PREFIX) {
        super::slice::refuse_other_arguments(std::env::args_os())?;
        return super::slice::run(name);
    }
    if args.dry_run {
        return super::plan::run_plan(&args.common, &args.plan_output);
    }
    args.plan_output.refuse_without_dry_run()?;
    let common = &args.common;
    common.apply_build_limits()?;
    let flags = common.flags(args.incremental, args.trust_local)?;
    if let Some(env) = common.environment()?.filter(|e| e.protected)
        && !args.force
    {
        return Err(CliError::msg(format!(
            "environment '{}' is protected (protected = true in sluice.toml)",
            env.name
        ))
        .with_help(
            "deploy to it on purpose with --force, or choose another environment with -e NAME",
        ));
    }
    let out = Output::new(common.json());
    let mut options = DeployOptions::new(common.project(), flags, common.deployer());
    if let Some(file) = &args.plan {
        options.saved_plan = Some(super::plan::read_saved(file)?);
    }
    options.want_plan = common.explain();
    // A saved plan was reviewed when it was made: its deletes are not asked about again.
    if common.prune && !args.yes {
        options.confirm = Some(super::plan::confirm_deletes()?);
    }
    let outcome = match common.with_session(&out, async |session, targets| {
        ops::deploy::deploy(session, &options, targets).await
    })? {
        Ok(o) => o,
        Err(code) => return Ok(code),
    };
    let response = outcome.response;
    let failed = !response.failures.is_empty();
    if common.json() {
        out.print_json(response)?;
    } else {
        if let (true, Some(plan)) = (common.explain(), &outcome.plan) {
            super::plan_output::print_explanation(plan, args.incremental);
        }
        print_summary(&response);
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
