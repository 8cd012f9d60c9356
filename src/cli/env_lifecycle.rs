//! `sluice env create|delete`: the namespace of an environment of `sluice.toml`, made and
//! connected, or emptied and deleted. The namespace is the environment's `namespace` setting
//! with `{branch}` filled in (as every command reads it); it is created under that label, on
//! DigitalOcean (in the environment's `region`, or `--region`) or on the local server (see
//! [`super::account`]). Deleting undeploys everything first — triggers included, which a
//! namespace delete alone could leave scheduled — and asks before it does.

use std::process::ExitCode;
use std::sync::Arc;

use serde::Serialize;
use sluice_core::ops::{self, UndeployOptions};
use sluice_core::settings::{Environment, SETTINGS_FILE};
use sluice_core::{EntityKind, Flags, UndeployRequest};

use super::account::{AccountArgs, Remote};
use super::confirm;
use super::connection::{TargetArgs, TokenArgs};
use super::env;
use super::render::{CliError, OutputArgs, StderrFeedback, print_json};
use super::session::{self, CliTargets};

/// `env create`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The environment (a table [environments.NAME] of sluice.toml)
    name: String,
    /// The project directory
    #[arg(default_value = ".")]
    project: String,
    /// The DigitalOcean region [default: the environment's `region`]
    #[arg(long, short = 'r')]
    region: Option<String>,
    #[command(flatten)]
    account: AccountArgs,
    /// JSON: environment, namespace (label, region, id, apiHost, local), created, store
    #[command(flatten)]
    output: OutputArgs,
}

/// `env delete`.
#[derive(Debug, clap::Args)]
pub struct DeleteArgs {
    /// The environment (a table [environments.NAME] of sluice.toml)
    name: String,
    /// The project directory
    #[arg(default_value = ".")]
    project: String,
    /// Delete without asking
    #[arg(long, short = 'y')]
    yes: bool,
    #[command(flatten)]
    account: AccountArgs,
    /// JSON: environment, namespace, undeployed (the undeploy's successes and failures)
    #[command(flatten)]
    output: OutputArgs,
}

/// What `env create --json` prints.
#[derive(Debug, Serialize)]
struct Created {
    environment: String,
    namespace: Remote,
    /// False when the namespace existed already (it is connected then).
    created: bool,
    store: String,
}

/// What `env delete --json` prints.
#[derive(Debug, Serialize)]
struct Deleted {
    environment: String,
    namespace: Remote,
    undeployed: sluice_core::DeployResponse,
}

/// The environment `name` and the namespace label it names.
fn environment(project: &str, name: &str) -> Result<(Environment, String), CliError> {
    let Some(env) = env::choose(project, Some(name))? else {
        return Err(CliError::msg(format!(
            "there is no environment '{name}' in {SETTINGS_FILE}"
        )));
    };
    let Some(label) = env.namespace.clone() else {
        return Err(CliError::msg(format!(
            "[environments.{name}] in {SETTINGS_FILE} names no namespace, so there is none to create or delete"
        ))
        .with_help(format!(
            "add namespace = \"<label>\" to [environments.{name}] (`{{branch}}` is replaced by the git branch)"
        )));
    };
    Ok((env, label))
}

pub fn create(args: CreateArgs) -> Result<ExitCode, CliError> {
    let (env, label) = environment(&args.project, &args.name)?;
    let account = args
        .account
        .open(args.region.as_ref().map(|_| "--region"))?;
    let region = args.region.clone().or(env.region.clone());
    let existing = account
        .list()?
        .into_iter()
        .find(|n| n.label == label || n.id == label);
    let (namespace, created) = match existing {
        Some(n) => (n, false),
        None if !account.is_local() && region.is_none() => {
            return Err(CliError::msg(format!(
                "environment '{}' has no region for its DigitalOcean namespace '{label}'",
                env.name
            ))
            .with_help(format!(
                "add region = \"nyc1\" (or another region) to [environments.{}] in {SETTINGS_FILE}, or pass --region",
                env.name
            )));
        }
        None => (account.create(&label, region.as_deref())?, true),
    };
    let store = account.connect(&namespace)?.display().to_string();
    // `-e NAME` sends deploys to the environment's `apihost`: say so when it is not where
    // the namespace lives.
    if let Some(host) = &env.apihost
        && !namespace.local
        && sluice_openwhisk::expand_apihost(host).ok().as_deref()
            != Some(namespace.api_host.as_str())
    {
        eprintln!(
            "Warning: [environments.{}] in {SETTINGS_FILE} sets apihost = \"{host}\", but the namespace lives on '{}': deploys with -e {} would look for it on {host}; remove the apihost or set it to the namespace's",
            env.name, namespace.api_host, env.name
        );
    }
    if args.output.json() {
        print_json(&Created {
            environment: env.name,
            namespace,
            created,
            store,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let what = match (namespace.local, created) {
        (true, true) => format!("Created the local namespace '{}'", namespace.id),
        (true, false) => format!("The local namespace '{}' exists already", namespace.id),
        (false, true) => format!(
            "Created namespace '{}' with label '{label}' in region {}",
            namespace.id, namespace.region
        ),
        (false, false) => format!(
            "Namespace '{}' with label '{label}' exists already",
            namespace.id
        ),
    };
    println!("{what} for environment '{}'", env.name);
    if namespace.local {
        println!("Now using the local namespace '{}'", namespace.id);
    } else {
        println!(
            "Connected to functions namespace '{}' on API host '{}'",
            namespace.id, namespace.api_host
        );
    }
    println!("Deploy to it with 'sluice deploy -e {}'", env.name);
    Ok(ExitCode::SUCCESS)
}

pub fn delete(args: DeleteArgs) -> Result<ExitCode, CliError> {
    let (env, label) = environment(&args.project, &args.name)?;
    let account = args.account.open(None)?;
    let namespace = account.find(&label, true)?;
    let (full, auth) = account.credentials(&namespace)?;
    confirm::deletion(
        &format!(
            "Deleting environment '{}': everything deployed in namespace '{}' (label '{}'), its triggers included, and then the namespace itself.",
            env.name, namespace.id, namespace.label
        ),
        args.yes,
    )?;

    // Everything in the namespace, through the same op as `undeploy --all --triggers`.
    let session = session::bare(Arc::new(StderrFeedback));
    let target = TargetArgs {
        apihost: Some(full.api_host.clone()),
        auth: Some(auth.clone()),
        insecure: false,
    };
    let token = TokenArgs {
        access_token: Some(account.triggers_token(&auth)),
    };
    let mut request = UndeployRequest::default();
    request.all = true;
    request.all_triggers = true;
    let options = UndeployOptions::new(request, Flags::default(), None);
    let targets = CliTargets::new(&target, &token, &session);
    let runtime = tokio::runtime::Runtime::new().map_err(CliError::other)?;
    let undeployed = runtime
        .block_on(ops::undeploy::undeploy(&session, &options, &targets))
        .map_err(|e| targets.key_source.explain(CliError::from(e)))?;
    if !undeployed.failures.is_empty() {
        let first = &undeployed.failures[0];
        return Err(CliError::msg(format!(
            "could not undeploy everything from namespace '{}' ({} failed; first: {}), so it was not deleted",
            namespace.id,
            undeployed.failures.len(),
            first.message
        ))
        .with_help(format!(
            "fix the cause and run 'sluice env delete {}' again",
            env.name
        )));
    }
    let forgotten = account.delete(&namespace)?;
    if args.output.json() {
        print_json(&Deleted {
            environment: env.name,
            namespace,
            undeployed,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    for s in &undeployed.successes {
        let kind = match s.kind {
            EntityKind::Action => "function",
            EntityKind::Package | EntityKind::Binding => "package",
            EntityKind::Trigger => "trigger",
        };
        println!("Deleted {kind} '{}'", s.name);
    }
    println!(
        "Deleted {} of environment '{}'",
        namespace.describe(),
        env.name
    );
    if forgotten {
        println!("  and removed it from the credential store");
    }
    Ok(ExitCode::SUCCESS)
}
