//! Lua hooks on the command line: the repeatable `--hook FILE` flag (installed on the engine
//! by the commands that read, build or deploy), the OpenWhisk-backed [`Invoker`] behind
//! `sluice.invoke`, and `sluice hooks list <project>`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::Value;
use sluice_core::ops::Session;
use sluice_core::{Feedback, Target};
use sluice_hooks::{HookEnv, Invocation, Invoker, LuaHooks};
use sluice_openwhisk::{InvokeOptions, InvokeOutcome};

use super::connection::open_client;
use super::render::{CliError, StderrFeedback, print_json};

/// The `--hook` flag.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct HookArgs {
    /// Run this Lua hook file after the project's own (repeatable); `stock:NAME` is a stock hook
    #[arg(long = "hook", value_name = "FILE")]
    pub hook: Vec<PathBuf>,
}

impl HookArgs {
    /// Installs the project's hooks (project.yml `hooks:`, loaded when the project is read)
    /// and the `--hook` files on the session's engine.
    pub fn install(&self, session: &mut Session, project_dir: &Path) -> Result<(), CliError> {
        let env = hook_env(session.feedback.clone(), &session.env);
        let hooks = LuaHooks::for_project(project_dir, &self.hook, env)
            .map_err(|e| CliError::from_core(&e, Some(project_dir)))?;
        session.engine.hooks = Arc::new(hooks);
        Ok(())
    }

    /// Installs only the `--hook` files, for commands that read no project (`undeploy`).
    pub fn install_cli_only(&self, session: &mut Session) -> Result<(), CliError> {
        if self.hook.is_empty() {
            return Ok(());
        }
        let dir = std::env::current_dir().map_err(CliError::other)?;
        let env = hook_env(session.feedback.clone(), &session.env);
        let hooks = LuaHooks::load(&dir, &[], &self.hook, env)
            .map_err(|e| CliError::from_core(&e, Some(&dir)))?;
        session.engine.hooks = Arc::new(hooks);
        Ok(())
    }
}

fn hook_env(feedback: Arc<dyn Feedback>, env: &BTreeMap<String, String>) -> HookEnv {
    let mut hook_env = HookEnv::new(feedback);
    hook_env.env = env.clone();
    hook_env.invoker = Some(Arc::new(OwInvoker));
    hook_env
}

/// `sluice.invoke` through the OpenWhisk client, with the target's credentials.
///
/// Hooks call it on their own thread while the engine waits, so it runs each invocation on a
/// small runtime of its own rather than on the command's.
#[derive(Debug)]
struct OwInvoker;

impl Invoker for OwInvoker {
    fn invoke(&self, target: &Target, action: &str, params: &Value) -> Result<Invocation, String> {
        let ow = &target.credentials.ow;
        let (client, runtime) = open_client(ow, false).map_err(|e| e.to_string())?;
        let blocking = InvokeOptions {
            blocking: true,
            timeout_ms: None,
        };
        let outcome = runtime
            .block_on(client.invoke(&ow.api_key, action, params, &blocking))
            .map_err(|e| e.to_string())?;
        match outcome {
            InvokeOutcome::Finished { activation, .. } => Ok(Invocation {
                ok: activation.is_success(),
                result: activation.result().clone(),
                activation_id: Some(activation.activation_id).filter(|id| !id.is_empty()),
            }),
            InvokeOutcome::ArrayResult {
                activation_id,
                result,
            } => Ok(Invocation {
                ok: true,
                result,
                activation_id,
            }),
            InvokeOutcome::Accepted { activation_id } => Err(format!(
                "the activation {activation_id} did not finish while sluice waited"
            )),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: HooksCommand,
}

#[derive(Debug, clap::Subcommand)]
enum HooksCommand {
    /// Show every hook event and the handlers that run for it, in order
    List(ListArgs),
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// The project directory
    project: String,
    #[command(flatten)]
    hooks: HookArgs,
    #[command(flatten)]
    output: super::render::OutputArgs,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    match args.command {
        HooksCommand::List(list) => run_list(list),
    }
}

fn run_list(args: ListArgs) -> Result<ExitCode, CliError> {
    let session = super::session::bare(Arc::new(StderrFeedback));
    let project_dir = std::path::absolute(&args.project).map_err(CliError::other)?;
    // Only the `hooks:` list is needed: the manifest read, not a full read of the project.
    let manifest = session
        .manifest(&args.project)
        .map_err(|e| CliError::from_core(&e, Some(&project_dir)))?;
    let env = hook_env(session.feedback.clone(), &session.env);
    let hooks = LuaHooks::load(&project_dir, &manifest.hooks, &args.hooks.hook, env)
        .map_err(|e| CliError::from_core(&e, Some(&project_dir)))?;
    let listing = hooks
        .listing()
        .map_err(|e| CliError::from_core(&e, Some(&project_dir)))?;
    if args.output.json() {
        print_json(&serde_json::json!({ "events": listing }))?;
        return Ok(ExitCode::SUCCESS);
    }
    for event in &listing {
        println!("{}", event.event);
        if event.handlers.is_empty() {
            println!("  (no handlers)");
        }
        for (i, h) in event.handlers.iter().enumerate() {
            match h.line {
                Some(line) => println!("  {}. {}:{line}", i + 1, h.file),
                None => println!("  {}. {}", i + 1, h.file),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
