//! The hooks thread: one Lua state per run, owned by one thread, serving the requests the
//! [`crate::LuaHooks`] methods send from whatever thread the engine calls them on.

use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};

use mlua::{IntoLuaMulti, Lua, LuaSerdeExt, Table, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sluice_core::hooks::BuildDecision;
use sluice_core::{
    ActionSpec, Artifact, DeployResponse, DeployStructure, Error, Feedback, Plan, Result, Target,
};

use crate::confine;
use crate::error::{Fallback, to_core};
use crate::event::Event;
use crate::module::{self, Handler, Invoker, ModuleHost, Shared};
use crate::sandbox::{self, Budget, Limits};
use crate::stock;
use crate::{EventHandlers, HandlerInfo};

/// The pseudo-event named in errors that happen while a hook file is loaded.
pub(crate) const LOAD: &str = "load";

/// A question for the hooks thread.
pub(crate) enum Call {
    ReadAfter(DeployStructure),
    BuildBefore {
        package: String,
        action: ActionSpec,
    },
    BuildAfter {
        package: String,
        action: ActionSpec,
        artifact: Artifact,
    },
    DeployBefore {
        project: DeployStructure,
        target: Target,
    },
    DeployAfter {
        response: DeployResponse,
        target: Target,
    },
    PlanAfter {
        plan: Box<Plan>,
        target: Target,
    },
    WatchChange {
        paths: Vec<String>,
        project_hooks: Vec<String>,
    },
    Error(ErrorReport),
    SetTarget(Target),
    Listing,
}

/// Its answer.
pub(crate) enum Reply {
    Project(Box<DeployStructure>),
    Decision(BuildDecision),
    Artifact(Artifact),
    Done,
    Paths(Option<Vec<String>>),
    Listing(Vec<EventHandlers>),
}

pub(crate) struct Request {
    pub call: Call,
    pub reply: mpsc::SyncSender<Result<Reply>>,
}

/// What an `error` handler sees.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ErrorReport {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

/// Everything the thread needs to start.
pub(crate) struct Init {
    pub project_dir: PathBuf,
    /// The project's hook files; `None` means "take them from the project `read:after` sees".
    pub project_files: Option<Vec<String>>,
    pub cli_files: Vec<PathBuf>,
    pub target: Option<Target>,
    pub invoker: Option<Arc<dyn Invoker>>,
    pub feedback: Arc<dyn Feedback>,
    pub env: std::collections::BTreeMap<String, String>,
    pub limits: Limits,
}

/// A hook file ready to run.
struct HookFile {
    display: String,
    text: Vec<u8>,
}

/// Why the hooks cannot run any more (a file failed to load); repeated to every later call.
#[derive(Clone)]
struct Broken {
    file: String,
    line: Option<usize>,
    event: String,
    message: String,
}

struct Vm {
    lua: Lua,
    module: Table,
    shared: Arc<Shared>,
    budget: Arc<Budget>,
    limits: Limits,
    project_dir: PathBuf,
    feedback: Arc<dyn Feedback>,
    /// Files not loaded yet: (project files if known, command-line files).
    pending: Option<(Option<Vec<String>>, Vec<PathBuf>)>,
    broken: Option<Broken>,
}

/// Starts the hooks thread; returns once the state exists (and, when the project's files are
/// known, once every file is loaded), with the first error if any.
pub(crate) fn spawn(init: Init) -> Result<(mpsc::Sender<Request>, std::thread::JoinHandle<()>)> {
    let (tx, rx) = mpsc::channel::<Request>();
    let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<()>>(1);
    let eager = init.project_files.is_some();
    let handle = std::thread::Builder::new()
        .name("sluice-hooks".to_string())
        .spawn(move || {
            let mut vm = match Vm::start(init) {
                Ok(vm) => vm,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let loaded = if eager {
                vm.ensure_loaded(None)
            } else {
                Ok(())
            };
            let _ = ready_tx.send(loaded);
            for request in rx {
                let answer = vm.handle(request.call);
                let _ = request.reply.send(answer);
            }
        })
        .map_err(|e| thread_error(&e.to_string()))?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok((tx, handle)),
        Ok(Err(e)) => {
            drop(tx);
            let _ = handle.join();
            Err(e)
        }
        Err(_) => {
            drop(tx);
            let _ = handle.join();
            Err(thread_error("the hooks thread stopped while starting"))
        }
    }
}

pub(crate) fn thread_error(message: &str) -> Error {
    Error::Hook {
        file: "(hooks)".to_string(),
        line: None,
        event: LOAD.to_string(),
        message: message.to_string(),
    }
}

fn lua_setup_error(e: &mlua::Error) -> Error {
    thread_error(&format!("cannot set up the Lua state: {e}"))
}

impl Vm {
    fn start(init: Init) -> Result<Vm> {
        let shared = Arc::new(Shared::default());
        if let Ok(mut t) = shared.target.lock() {
            t.clone_from(&init.target);
        }
        let budget = Arc::new(Budget::default());
        let lua = sandbox::new_state().map_err(|e| lua_setup_error(&e))?;
        let host = ModuleHost {
            project_dir: init.project_dir.clone(),
            env: init.env,
            feedback: init.feedback.clone(),
            invoker: init.invoker,
            shared: shared.clone(),
        };
        let module = module::build(&lua, host).map_err(|e| lua_setup_error(&e))?;
        let log_info = module
            .get::<Table>("log")
            .and_then(|log| log.get::<mlua::Function>("info"))
            .map_err(|e| lua_setup_error(&e))?;
        sandbox::secure(
            &lua,
            &init.project_dir,
            init.limits,
            budget.clone(),
            log_info,
        )
        .map_err(|e| lua_setup_error(&e))?;
        sandbox::install_module(&lua, module.clone()).map_err(|e| lua_setup_error(&e))?;
        Ok(Vm {
            lua,
            module,
            shared,
            budget,
            limits: init.limits,
            project_dir: init.project_dir,
            feedback: init.feedback,
            pending: Some((init.project_files, init.cli_files)),
            broken: None,
        })
    }

    fn handle(&mut self, call: Call) -> Result<Reply> {
        let from_project = match &call {
            Call::ReadAfter(p) => Some(p.hooks.clone().unwrap_or_default()),
            Call::WatchChange { project_hooks, .. } => Some(project_hooks.clone()),
            _ => None,
        };
        if let Call::Error(report) = &call {
            // Errors while loading were already reported by their own result.
            if self.broken.is_some() || self.pending.is_some() {
                let _ = report;
                return Ok(Reply::Done);
            }
        }
        self.ensure_loaded(from_project)?;
        match call {
            Call::ReadAfter(project) => self
                .chain(Event::ReadAfter, project, |_| Ok(Value::Nil))
                .map(|p| Reply::Project(Box::new(p))),
            Call::BuildBefore { package, action } => {
                self.build_before(&package, &action).map(Reply::Decision)
            }
            Call::BuildAfter {
                package,
                action,
                artifact,
            } => self
                .build_after(&package, &action, artifact)
                .map(Reply::Artifact),
            Call::DeployBefore { project, target } => {
                self.set_target(target)?;
                let target_value = self.target_value()?;
                self.chain(Event::DeployBefore, project, |_| Ok(target_value.clone()))
                    .map(|p| Reply::Project(Box::new(p)))
            }
            Call::DeployAfter { response, target } => {
                self.set_target(target)?;
                self.deploy_after(&response).map(|()| Reply::Done)
            }
            Call::PlanAfter { plan, target } => {
                self.set_target(target)?;
                self.plan_after(&plan).map(|()| Reply::Done)
            }
            Call::WatchChange { paths, .. } => self.watch_change(paths).map(Reply::Paths),
            Call::Error(report) => {
                self.on_error(&report);
                Ok(Reply::Done)
            }
            Call::SetTarget(target) => self.set_target(target).map(|()| Reply::Done),
            Call::Listing => Ok(Reply::Listing(self.listing())),
        }
    }

    fn broken_error(b: &Broken) -> Error {
        Error::Hook {
            file: b.file.clone(),
            line: b.line,
            event: b.event.clone(),
            message: b.message.clone(),
        }
    }

    /// Loads the pending files: the project's (from `project_hooks` when they were not known
    /// at start), then the command line's.
    fn ensure_loaded(&mut self, project_hooks: Option<Vec<String>>) -> Result<()> {
        if let Some(b) = &self.broken {
            return Err(Self::broken_error(b));
        }
        let Some((project, cli)) = self.pending.take() else {
            return Ok(());
        };
        let project = project.or(project_hooks).unwrap_or_default();
        let mut files = Vec::with_capacity(project.len() + cli.len());
        let result = (|| {
            for entry in &project {
                files.push(resolve_project_file(&self.project_dir, entry)?);
            }
            for path in &cli {
                files.push(resolve_cli_file(&self.project_dir, path)?);
            }
            for file in &files {
                self.load_file(file)?;
            }
            Ok(())
        })();
        if let Err(Error::Hook {
            file,
            line,
            event,
            message,
        }) = &result
        {
            self.broken = Some(Broken {
                file: file.clone(),
                line: *line,
                event: event.clone(),
                message: message.clone(),
            });
        }
        result
    }

    fn load_file(&self, file: &HookFile) -> Result<()> {
        self.budget.reset();
        self.lua
            .load(file.text.as_slice())
            .set_name(format!("@{}", file.display))
            .set_mode(mlua::chunk::ChunkMode::Text)
            .exec()
            .map_err(|e| to_core(&e, &self.fallback(&file.display, None, LOAD)))
    }

    fn fallback<'a>(&self, file: &'a str, line: Option<usize>, event: &'a str) -> Fallback<'a> {
        Fallback {
            file,
            line,
            event,
            memory_limit: self.limits.memory,
        }
    }

    fn handlers(&self, event: Event) -> Vec<Handler> {
        self.shared
            .handlers
            .lock()
            .map(|all| all.get(&event).cloned().unwrap_or_default())
            .unwrap_or_default()
    }

    fn call(&self, h: &Handler, event: Event, args: impl IntoLuaMulti) -> Result<Value> {
        self.budget.reset();
        let result = h.func.call::<Value>(args);
        result.map_err(|e| to_core(&e, &self.fallback(&h.file, h.line, event.name())))
    }

    fn encode<T: Serialize>(&self, value: &T, event: Event) -> Result<Value> {
        self.lua.to_value(value).map_err(|e| Error::Hook {
            file: "(hooks)".to_string(),
            line: None,
            event: event.name().to_string(),
            message: format!("cannot pass the data to Lua: {e}"),
        })
    }

    fn decode<T: DeserializeOwned>(
        &self,
        value: Value,
        h: &Handler,
        event: Event,
        what: &str,
    ) -> Result<T> {
        // Lua tables have no order: sorted keys keep what a hook returns (and so digests,
        // requests and snapshots) the same from run to run.
        let options = mlua::serde::DeserializeOptions::new().sort_keys(true);
        self.lua.from_value_with(value, options).map_err(|e| {
            self.bad_return(
                h,
                event,
                &format!("the returned table is not a valid {what}: {e}"),
            )
        })
    }

    fn bad_return(&self, h: &Handler, event: Event, message: &str) -> Error {
        Error::Hook {
            file: h.file.clone(),
            line: h.line,
            event: event.name().to_string(),
            message: format!("{message} ({event} handlers return {})", event.contract()),
        }
    }

    /// Runs the handlers of an event whose handlers take a value and may return an edited
    /// one; each handler sees the previous one's result.
    fn chain<T, F>(&self, event: Event, mut value: T, extra: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: Fn(&Lua) -> Result<Value>,
    {
        for h in self.handlers(event) {
            let arg = self.encode(&value, event)?;
            let returned = self.call(&h, event, (arg, extra(&self.lua)?))?;
            match returned {
                Value::Nil => {}
                Value::Table(_) => value = self.decode(returned, &h, event, "project")?,
                other => {
                    return Err(self.bad_return(
                        &h,
                        event,
                        &format!("a handler returned {}", describe_value(&other)),
                    ));
                }
            }
        }
        Ok(value)
    }

    fn build_before(&self, package: &str, action: &ActionSpec) -> Result<BuildDecision> {
        let event = Event::BuildBefore;
        let handlers = self.handlers(event);
        if handlers.is_empty() {
            return Ok(BuildDecision::Run);
        }
        let ctx = self.lua.create_table().map_err(|e| lua_setup_error(&e))?;
        let entity = action.qualified_name(package);
        let filled = ctx
            .set("package", package)
            .and_then(|()| ctx.set("entity", entity))
            .and_then(|()| ctx.set("project_dir", self.project_dir.display().to_string()));
        filled.map_err(|e| lua_setup_error(&e))?;
        for h in handlers {
            let arg = self.encode(action, event)?;
            match self.call(&h, event, (arg, ctx.clone()))? {
                Value::Nil => {}
                Value::Boolean(false) => return Ok(BuildDecision::Skip),
                table @ Value::Table(_) => {
                    let artifact: Artifact = self.decode(table, &h, event, "artifact")?;
                    return Ok(BuildDecision::Use(artifact));
                }
                other => {
                    return Err(self.bad_return(
                        &h,
                        event,
                        &format!("a handler returned {}", describe_value(&other)),
                    ));
                }
            }
        }
        Ok(BuildDecision::Run)
    }

    fn build_after(
        &self,
        package: &str,
        action: &ActionSpec,
        mut artifact: Artifact,
    ) -> Result<Artifact> {
        let event = Event::BuildAfter;
        for h in self.handlers(event) {
            let fn_value = self.encode(action, event)?;
            let art_value = self.encode(&artifact, event)?;
            let ctx = self.lua.create_table().map_err(|e| lua_setup_error(&e))?;
            ctx.set("package", package)
                .map_err(|e| lua_setup_error(&e))?;
            match self.call(&h, event, (fn_value, art_value, ctx))? {
                Value::Nil => {}
                table @ Value::Table(_) => artifact = self.decode(table, &h, event, "artifact")?,
                other => {
                    return Err(self.bad_return(
                        &h,
                        event,
                        &format!("a handler returned {}", describe_value(&other)),
                    ));
                }
            }
        }
        Ok(artifact)
    }

    fn deploy_after(&self, response: &DeployResponse) -> Result<()> {
        let event = Event::DeployAfter;
        for h in self.handlers(event) {
            let arg = self.encode(response, event)?;
            self.call(&h, event, (arg, self.target_value()?))?;
        }
        Ok(())
    }

    fn plan_after(&self, plan: &Plan) -> Result<()> {
        let event = Event::PlanAfter;
        for h in self.handlers(event) {
            let arg = self.encode(plan, event)?;
            self.call(&h, event, (arg, self.target_value()?))?;
        }
        Ok(())
    }

    /// Each handler sees what the previous one kept; `false` (or an empty list) skips.
    fn watch_change(&self, paths: Vec<String>) -> Result<Option<Vec<String>>> {
        let event = Event::WatchChange;
        let handlers = self.handlers(event);
        if handlers.is_empty() {
            return Ok(None);
        }
        let mut kept = paths;
        for h in handlers {
            let arg = self.encode(&kept, event)?;
            match self.call(&h, event, arg)? {
                Value::Nil => {}
                Value::Boolean(false) => return Ok(Some(Vec::new())),
                table @ Value::Table(_) => {
                    kept = self.decode(table, &h, event, "list of paths")?;
                }
                other => {
                    return Err(self.bad_return(
                        &h,
                        event,
                        &format!("a handler returned {}", describe_value(&other)),
                    ));
                }
            }
            if kept.is_empty() {
                return Ok(Some(kept));
            }
        }
        Ok(Some(kept))
    }

    fn on_error(&self, report: &ErrorReport) {
        let event = Event::Error;
        for h in self.handlers(event) {
            let outcome = self
                .encode(report, event)
                .and_then(|arg| self.call(&h, event, arg));
            if let Err(e) = outcome {
                self.feedback.warn(&e.to_string());
            }
        }
    }

    fn set_target(&self, target: Target) -> Result<()> {
        let value =
            module::target_table(&self.lua, Some(&target)).map_err(|e| lua_setup_error(&e))?;
        self.module
            .set("target", value)
            .map_err(|e| lua_setup_error(&e))?;
        if let Ok(mut t) = self.shared.target.lock() {
            *t = Some(target);
        }
        Ok(())
    }

    fn target_value(&self) -> Result<Value> {
        self.module
            .get::<Value>("target")
            .map_err(|e| lua_setup_error(&e))
    }

    fn listing(&self) -> Vec<EventHandlers> {
        Event::ALL
            .iter()
            .map(|&event| EventHandlers {
                event: event.name().to_string(),
                handlers: self
                    .handlers(event)
                    .into_iter()
                    .map(|h| HandlerInfo {
                        file: h.file,
                        line: h.line,
                    })
                    .collect(),
            })
            .collect()
    }
}

fn describe_value(v: &Value) -> String {
    match v {
        Value::Boolean(b) => format!("{b}"),
        Value::Integer(_) | Value::Number(_) => "a number".to_string(),
        Value::UserData(_) | Value::LightUserData(_) => "a userdata".to_string(),
        other => format!("a {}", other.type_name()),
    }
}

fn load_error(file: &str, message: String) -> Error {
    Error::Hook {
        file: file.to_string(),
        line: None,
        event: LOAD.to_string(),
        message,
    }
}

/// A `hooks:` entry of project.yml: `stock:NAME`, or a Lua file inside the project.
fn resolve_project_file(project_dir: &Path, entry: &str) -> Result<HookFile> {
    if let Some(name) = entry.strip_prefix(stock::PREFIX) {
        return stock_file(entry, name);
    }
    let full = confine::existing(project_dir, entry).map_err(|e| {
        load_error(
            entry,
            format!("cannot load the hook file listed in project.yml: {e}"),
        )
    })?;
    let text = std::fs::read(&full)
        .map_err(|e| load_error(entry, format!("cannot read the hook file: {e}")))?;
    Ok(HookFile {
        display: confine::display_name(project_dir, &full),
        text,
    })
}

/// A `--hook` argument: `stock:NAME`, or a Lua file anywhere.
fn resolve_cli_file(project_dir: &Path, path: &Path) -> Result<HookFile> {
    let shown = path.display().to_string();
    if let Some(name) = shown.strip_prefix(stock::PREFIX) {
        return stock_file(&shown, name);
    }
    let text = std::fs::read(path).map_err(|e| {
        load_error(
            &shown,
            format!("cannot read the hook file given with --hook: {e}"),
        )
    })?;
    Ok(HookFile {
        display: confine::display_name(project_dir, path),
        text,
    })
}

fn stock_file(entry: &str, name: &str) -> Result<HookFile> {
    match stock::source(name) {
        Some(text) => Ok(HookFile {
            display: entry.to_string(),
            text: text.as_bytes().to_vec(),
        }),
        None => Err(load_error(
            entry,
            format!(
                "there is no stock hook '{name}'; the stock hooks are {}",
                stock::names().join(", ")
            ),
        )),
    }
}
