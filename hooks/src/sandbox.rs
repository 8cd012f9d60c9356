//! The Lua state hooks run in: a safe standard library, a memory limit, and an instruction
//! budget per handler call so that an endless loop ends with an error instead of a hung deploy.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use mlua::{HookTriggers, Lua, LuaOptions, StdLib, Table, VmState};

use crate::error::Raised;

/// Limits on what one run of hooks may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes the Lua state may allocate in all.
    pub memory: usize,
    /// VM instructions one handler call (or the loading of one file) may execute.
    pub instructions: u64,
}

impl Default for Limits {
    /// 64 MiB and 100 million instructions (about a second of pure Lua): far beyond what a
    /// hook that edits a project needs, small enough to stop a runaway one quickly.
    fn default() -> Self {
        Limits {
            memory: 64 * 1024 * 1024,
            instructions: 100_000_000,
        }
    }
}

/// How often the instruction hook runs; the budget is checked at this granularity.
const STEP: u32 = 10_000;

/// The instruction budget shared between the VM loop (which resets it) and the hook.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    used: AtomicU64,
    tripped: AtomicBool,
}

impl Budget {
    pub fn reset(&self) {
        self.used.store(0, Ordering::SeqCst);
        self.tripped.store(false, Ordering::SeqCst);
    }
}

/// Standard-library code run once at start-up: removes what could reach outside the sandbox
/// and makes `pcall`/`xpcall`/`coroutine.resume` unable to swallow the instruction limit.
const PRELUDE: &str = r#"
local tripped, searcher, log_info = ...
local safe_os = { clock = os.clock, date = os.date, difftime = os.difftime, time = os.time }
os = safe_os
dofile, loadfile = nil, nil
string.dump = nil
local raw_load = load
load = function(chunk, name, _, env)
  return raw_load(chunk, name, "t", env)
end
package.loadlib = nil
package.path, package.cpath = "", ""
package.searchers = { package.searchers[1], searcher }
local function guard(ok, ...)
  if not ok and tripped() then error((...), 0) end
  return ok, ...
end
local raw_pcall, raw_xpcall, raw_resume = pcall, xpcall, coroutine.resume
pcall = function(f, ...) return guard(raw_pcall(f, ...)) end
xpcall = function(f, h, ...) return guard(raw_xpcall(f, h, ...)) end
coroutine.resume = function(co, ...) return guard(raw_resume(co, ...)) end
print = function(...)
  local parts = table.pack(...)
  for i = 1, parts.n do parts[i] = tostring(parts[i]) end
  log_info(table.concat(parts, "\t", 1, parts.n))
end
"#;

/// A fresh Lua state with the safe libraries only (no `io`, no `debug`, no C modules);
/// [`secure`] then narrows them and installs the limits.
pub(crate) fn new_state() -> mlua::Result<Lua> {
    let libs = StdLib::COROUTINE
        | StdLib::TABLE
        | StdLib::STRING
        | StdLib::UTF8
        | StdLib::MATH
        | StdLib::OS
        | StdLib::PACKAGE;
    Lua::new_with(libs, LuaOptions::default())
}

/// Runs the prelude (with `log_info` as `print`) and installs the limits on `lua`.
pub(crate) fn secure(
    lua: &Lua,
    project_dir: &Path,
    limits: Limits,
    budget: Arc<Budget>,
    log_info: mlua::Function,
) -> mlua::Result<()> {
    let b = budget.clone();
    let tripped = lua.create_function(move |_, ()| Ok(b.tripped.load(Ordering::SeqCst)))?;
    let searcher = crate::module::project_searcher(lua, project_dir)?;
    lua.load(PRELUDE)
        .set_name("=sluice prelude")
        .call::<()>((tripped, searcher, log_info))?;

    let max = limits.instructions;
    lua.set_global_hook(HookTriggers::new().every_nth_instruction(STEP), move |_lua, debug| {
        let used = budget.used.fetch_add(u64::from(STEP), Ordering::SeqCst) + u64::from(STEP);
        if used > max || budget.tripped.load(Ordering::SeqCst) {
            budget.tripped.store(true, Ordering::SeqCst);
            let source = debug.source().source.map(|s| s.strip_prefix('@').unwrap_or(&s).to_string());
            return Err(mlua::Error::external(Raised {
                file: source,
                line: debug.current_line(),
                message: format!(
                    "the hook ran more than {max} Lua instructions and was stopped (an endless loop?)"
                ),
            }));
        }
        Ok(VmState::Continue)
    })?;
    lua.set_memory_limit(limits.memory)?;
    Ok(())
}

/// The table of loaded modules (`package.loaded`), where `require("sluice")` finds the module.
pub(crate) fn install_module(lua: &Lua, module: Table) -> mlua::Result<()> {
    lua.register_module("sluice", module)
}
