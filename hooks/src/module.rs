//! The `sluice` Lua module: what hook code may do besides computing. Everything that touches
//! the outside world (files, processes, the namespace, the environment) goes through here, so
//! the sandbox can leave `io`, most of `os` and C modules out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use mlua::{Function, Lua, LuaSerdeExt, Table, Value, Variadic};
use sluice_core::{Feedback, Target};

use crate::confine;
use crate::error::Raised;
use crate::event::Event;

/// Invokes a deployed function for `sluice.invoke`. The CLI supplies one backed by the
/// OpenWhisk client; tests may supply their own.
///
/// It is called on the hooks thread, outside any async runtime, and must block until the
/// activation ends. An implementation over an async client should drive it on a runtime of
/// its own (a current-thread tokio runtime is enough), never on the caller's.
pub trait Invoker: Send + Sync {
    /// Invokes `action` (`pkg/name`, or `name` in the default package) in `target` with
    /// `params`, blocking. `Err` means it could not be invoked at all (unknown function,
    /// network); a function that ran and failed is an `Ok` with `ok: false`.
    fn invoke(
        &self,
        target: &Target,
        action: &str,
        params: &serde_json::Value,
    ) -> Result<Invocation, String>;
}

/// The outcome of one blocking invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    /// Whether the activation succeeded (OpenWhisk `response.success`).
    pub ok: bool,
    /// The activation's result (`response.result`).
    pub result: serde_json::Value,
    pub activation_id: Option<String>,
}

/// A registered handler.
#[derive(Debug, Clone)]
pub(crate) struct Handler {
    pub func: Function,
    /// The display name of the file that defines it.
    pub file: String,
    /// The line where it is defined.
    pub line: Option<usize>,
}

/// State the module's functions share with the VM loop.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub handlers: Mutex<BTreeMap<Event, Vec<Handler>>>,
    pub target: Mutex<Option<Target>>,
}

/// What the module needs from the host.
pub(crate) struct ModuleHost {
    pub project_dir: PathBuf,
    pub env: BTreeMap<String, String>,
    pub feedback: Arc<dyn Feedback>,
    pub invoker: Option<Arc<dyn Invoker>>,
    pub shared: Arc<Shared>,
}

/// The position of the Lua code that called the current Rust function.
pub(crate) fn caller(lua: &Lua) -> (Option<String>, Option<usize>) {
    lua.inspect_stack(1, |d| {
        let source = d
            .source()
            .source
            .map(|s| s.strip_prefix('@').unwrap_or(&s).to_string());
        (source, d.current_line())
    })
    .unwrap_or((None, None))
}

/// An error at the caller's position.
pub(crate) fn raise(lua: &Lua, message: impl Into<String>) -> mlua::Error {
    let (file, line) = caller(lua);
    mlua::Error::external(Raised {
        file,
        line,
        message: message.into(),
    })
}

fn text_of(values: Variadic<Value>) -> mlua::Result<String> {
    let parts: mlua::Result<Vec<String>> = values.iter().map(Value::to_string).collect();
    Ok(parts?.join("\t"))
}

/// The `target` table: apihost, namespace and whether it is the local namespace.
pub(crate) fn target_table(lua: &Lua, target: Option<&Target>) -> mlua::Result<Value> {
    let Some(t) = target else {
        return Ok(Value::Nil);
    };
    let table = lua.create_table()?;
    table.set("apihost", t.apihost.as_str())?;
    table.set("namespace", t.namespace.as_str())?;
    table.set("local", t.local)?;
    Ok(Value::Table(table))
}

/// Builds the module table.
pub(crate) fn build(lua: &Lua, host: ModuleHost) -> mlua::Result<Table> {
    let host = Arc::new(host);
    let m = lua.create_table()?;
    m.set("version", sluice_core::HOST_VERSION)?;
    m.set("project_dir", host.project_dir.display().to_string())?;
    let target = host.shared.target.lock().ok().and_then(|t| t.clone());
    m.set("target", target_table(lua, target.as_ref())?)?;

    let h = host.clone();
    m.set(
        "on",
        lua.create_function(move |lua, (name, func): (String, Value)| {
            let Some(event) = Event::from_name(&name) else {
                let known: Vec<&str> = Event::ALL.iter().map(|e| e.name()).collect();
                return Err(raise(
                    lua,
                    format!(
                        "unknown event '{name}'; the events are {}",
                        known.join(", ")
                    ),
                ));
            };
            let Value::Function(func) = func else {
                return Err(raise(
                    lua,
                    format!(
                        "sluice.on('{name}', ...) needs a function, not a {}",
                        func.type_name()
                    ),
                ));
            };
            let info = func.info();
            let (file, line) = match info.source.as_deref().and_then(|s| s.strip_prefix('@')) {
                Some(src) => (src.to_string(), info.line_defined),
                None => {
                    let (f, l) = caller(lua);
                    (f.unwrap_or_else(|| "?".to_string()), l)
                }
            };
            if let Ok(mut all) = h.shared.handlers.lock() {
                all.entry(event)
                    .or_default()
                    .push(Handler { func, file, line });
            }
            Ok(())
        })?,
    )?;

    let log = lua.create_table()?;
    let fb = host.feedback.clone();
    log.set(
        "info",
        lua.create_function(move |_, values: Variadic<Value>| {
            fb.progress(&text_of(values)?);
            Ok(())
        })?,
    )?;
    let fb = host.feedback.clone();
    log.set(
        "warn",
        lua.create_function(move |_, values: Variadic<Value>| {
            fb.warn(&text_of(values)?);
            Ok(())
        })?,
    )?;
    m.set("log", log)?;

    let h = host.clone();
    m.set(
        "env",
        lua.create_function(move |_, name: String| Ok(h.env.get(&name).cloned()))?,
    )?;

    let json = lua.create_table()?;
    json.set(
        "encode",
        lua.create_function(|lua, value: Value| {
            serde_json::to_string(&value)
                .map_err(|e| raise(lua, format!("sluice.json.encode: {e}")))
        })?,
    )?;
    json.set(
        "decode",
        lua.create_function(|lua, text: mlua::LuaString| {
            let value: serde_json::Value = serde_json::from_slice(&text.as_bytes())
                .map_err(|e| raise(lua, format!("sluice.json.decode: {e}")))?;
            lua.to_value(&value)
        })?,
    )?;
    json.set("null", lua.null())?;
    m.set("json", json)?;

    let yaml = lua.create_table()?;
    yaml.set(
        "decode",
        lua.create_function(|lua, text: String| {
            let value: serde_json::Value = serde_yaml::from_str(&text)
                .map_err(|e| raise(lua, format!("sluice.yaml.decode: {e}")))?;
            lua.to_value(&value)
        })?,
    )?;
    m.set("yaml", yaml)?;

    let h = host.clone();
    m.set(
        "read_file",
        lua.create_function(move |lua, path: String| {
            let full = confine::existing(&h.project_dir, &path)
                .map_err(|e| raise(lua, format!("sluice.read_file: {e}")))?;
            let bytes = std::fs::read(&full)
                .map_err(|e| raise(lua, format!("sluice.read_file: '{path}': {e}")))?;
            lua.create_string(bytes)
        })?,
    )?;

    let h = host.clone();
    m.set(
        "write_file",
        lua.create_function(move |lua, (path, content): (String, mlua::LuaString)| {
            let full = confine::writable(&h.project_dir, &path)
                .map_err(|e| raise(lua, format!("sluice.write_file: {e}")))?;
            std::fs::write(&full, content.as_bytes())
                .map_err(|e| raise(lua, format!("sluice.write_file: '{path}': {e}")))?;
            Ok(path)
        })?,
    )?;

    let h = host.clone();
    m.set(
        "exec",
        lua.create_function(
            move |lua, (cmd, args, opts): (String, Option<Vec<String>>, Option<Table>)| {
                exec(lua, &h, &cmd, args.unwrap_or_default(), opts)
            },
        )?,
    )?;

    let h = host.clone();
    m.set(
        "invoke",
        lua.create_function(move |lua, (action, params): (String, Option<Value>)| {
            invoke(lua, &h, &action, params)
        })?,
    )?;

    m.set(
        "fail",
        lua.create_function(|lua, message: Value| -> mlua::Result<()> {
            let text = match message {
                Value::Nil => "a hook stopped the run".to_string(),
                other => other.to_string()?,
            };
            Err(raise(lua, text))
        })?,
    )?;
    Ok(m)
}

fn exec(
    lua: &Lua,
    host: &ModuleHost,
    cmd: &str,
    args: Vec<String>,
    opts: Option<Table>,
) -> mlua::Result<Table> {
    let mut command = Command::new(cmd);
    command.args(&args).current_dir(&host.project_dir);
    if let Some(opts) = opts {
        if let Some(cwd) = opts.get::<Option<String>>("cwd")? {
            let dir = confine::existing(&host.project_dir, &cwd)
                .map_err(|e| raise(lua, format!("sluice.exec: cwd {e}")))?;
            command.current_dir(dir);
        }
        if let Some(env) = opts.get::<Option<BTreeMap<String, String>>>("env")? {
            command.envs(env);
        }
    }
    let output = command
        .output()
        .map_err(|e| raise(lua, format!("sluice.exec: cannot run '{cmd}': {e}")))?;
    let result = lua.create_table()?;
    // A process killed by a signal has no status; report -1 as shells report "no code".
    result.set("status", output.status.code().unwrap_or(-1))?;
    result.set("stdout", lua.create_string(&output.stdout)?)?;
    result.set("stderr", lua.create_string(&output.stderr)?)?;
    Ok(result)
}

fn invoke(
    lua: &Lua,
    host: &ModuleHost,
    action: &str,
    params: Option<Value>,
) -> mlua::Result<Table> {
    let Some(invoker) = host.invoker.as_ref() else {
        return Err(raise(
            lua,
            "sluice.invoke: this command cannot invoke functions (no namespace to invoke in)",
        ));
    };
    let target = host.shared.target.lock().ok().and_then(|t| t.clone());
    let Some(target) = target else {
        return Err(raise(
            lua,
            "sluice.invoke: no target namespace is known yet (invoke from deploy:before or deploy:after)",
        ));
    };
    let params: serde_json::Value = match params {
        None | Some(Value::Nil) => serde_json::json!({}),
        Some(v) => lua.from_value(v)?,
    };
    let outcome = invoker
        .invoke(&target, action, &params)
        .map_err(|e| raise(lua, format!("sluice.invoke('{action}'): {e}")))?;
    let table = lua.create_table()?;
    table.set("ok", outcome.ok)?;
    table.set("result", lua.to_value(&outcome.result)?)?;
    table.set("activation_id", outcome.activation_id)?;
    Ok(table)
}

/// The project searcher for `require`: `require("hooks.util")` loads `hooks/util.lua` from
/// the project (confined like `read_file`). Returns the loader, or why nothing was found.
pub(crate) fn project_searcher(lua: &Lua, project_dir: &Path) -> mlua::Result<Function> {
    let dir = project_dir.to_path_buf();
    lua.create_function(move |lua, name: String| -> mlua::Result<(Value, Value)> {
        let rel = format!("{}.lua", name.replace('.', "/"));
        match confine::existing(&dir, &rel) {
            Ok(full) => {
                let text = std::fs::read(&full)
                    .map_err(|e| raise(lua, format!("require('{name}'): {e}")))?;
                let func = lua
                    .load(text)
                    .set_name(format!("@{rel}"))
                    .set_mode(mlua::chunk::ChunkMode::Text)
                    .into_function()?;
                Ok((
                    Value::Function(func),
                    Value::String(lua.create_string(&rel)?),
                ))
            }
            Err(_) => Ok((
                Value::String(lua.create_string(format!("\n\tno file '{rel}' in the project"))?),
                Value::Nil,
            )),
        }
    })
}
