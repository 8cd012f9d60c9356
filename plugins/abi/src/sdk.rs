//! The plugin side: generic `extern "C"` functions that serve the ABI for an ordinary
//! implementation of `ProjectReader`, `Builder` or `Deployer`, and the [`export_plugin!`]
//! macro that instantiates them in a plugin crate.
//!
//! Every call parses its JSON request, rebuilds the context the trait expects (feedback goes
//! back to the host through its callbacks), runs the trait method inside
//! `catch_unwind`, and returns a JSON reply. A panic becomes an error reply naming the
//! operation; it never unwinds into the host. Deployer methods are async: they run to
//! completion on a small current-thread executor (`futures::executor::block_on`), so a plugin
//! that needs a Tokio runtime builds its own inside its methods.
//!
//! [`export_plugin!`]: crate::export_plugin

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, RwLock};

use serde::Serialize;
use serde::de::DeserializeOwned;
use sluice_core::{
    Artifact, BuildContext, Builder, DeployContext, DeployResponse, DeployStructure, Deployer,
    Error, Excluder, Feedback, ProjectReader, ReadContext, RuntimeTable, Step,
};

use crate::abi::{
    ABI_VERSION, AbiBuffer, AbiStr, FunctionTable, HostApi, PLUGIN_API_VERSION, PluginDeclaration,
    SCHEMA_VERSION, capability, level, status,
};
use crate::wire::{
    BuildContextWire, BuildRequest, BuildTargetWire, DeployContextWire, DeployerRequest,
    Description, DetectionWire, Empty, ErrorWire, ReadContextWire, ReadRequest, Reply, Request,
    StepWire, TargetWire,
};

/// What [`export_plugin!`](crate::export_plugin) generates for a plugin crate: its name,
/// version and the instances it serves. Not meant to be implemented by hand.
pub trait Exported: 'static {
    const NAME: &'static str;
    const VERSION: &'static str;
    const CAPABILITIES: u32;
    fn reader() -> Option<&'static dyn ProjectReader>;
    fn builder() -> Option<&'static dyn Builder>;
    fn deployer() -> Option<&'static dyn Deployer>;
}

/// The function table for `P`, with the functions of its capabilities.
pub const fn function_table<P: Exported>() -> FunctionTable {
    let mut t = FunctionTable::empty();
    t.free_buffer = Some(free_buffer);
    t.describe = Some(describe::<P>);
    if P::CAPABILITIES & capability::READER != 0 {
        t.reader_claims = Some(reader_claims::<P>);
        t.reader_read = Some(reader_read::<P>);
    }
    if P::CAPABILITIES & capability::BUILDER != 0 {
        t.builder_detect = Some(builder_detect::<P>);
        t.builder_build = Some(builder_build::<P>);
    }
    if P::CAPABILITIES & capability::DEPLOYER != 0 {
        t.deployer_prepare = Some(deployer_prepare::<P>);
        t.deployer_deploy = Some(deployer_deploy::<P>);
        t.deployer_runtimes = Some(deployer_runtimes::<P>);
        t.deployer_undeploy = Some(deployer_undeploy::<P>);
    }
    t
}

/// The declaration for `P`, pointing at its (static) function table.
pub const fn declaration<P: Exported>(functions: &'static FunctionTable) -> PluginDeclaration {
    PluginDeclaration {
        abi_version: ABI_VERSION,
        capabilities: P::CAPABILITIES,
        api_version: AbiStr::new(PLUGIN_API_VERSION.as_bytes()),
        name: AbiStr::new(P::NAME.as_bytes()),
        version: AbiStr::new(P::VERSION.as_bytes()),
        functions,
    }
}

/// Whether the host asked the current call to stop. Long-running plugin code (a build loop,
/// a deploy of many entities) should check it and return an error when it is set. Only the
/// thread that received the call sees it; elsewhere it is `false`.
pub fn cancelled() -> bool {
    CURRENT.with(|c| c.borrow().as_ref().is_some_and(|scope| scope.cancelled()))
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<CallScope>>> = const { RefCell::new(None) };
}

/// The host callbacks of one call. They are valid only until the call returns, so every use
/// goes through the lock, and the call closes the scope (under the write lock) before it
/// returns: a feedback object a plugin kept past the call then reaches nothing.
struct CallScope {
    host: RwLock<Option<HostCallbacks>>,
}

#[derive(Clone, Copy)]
struct HostCallbacks(HostApi);

// SAFETY: the ABI requires host callbacks to be callable from any thread while the call
// runs; the scope's lock ensures no use outlives the call.
unsafe impl Send for HostCallbacks {}
// SAFETY: as above; the callbacks take `data` by value and synchronise on the host side.
unsafe impl Sync for HostCallbacks {}

impl CallScope {
    fn open(host: *const HostApi) -> Arc<Self> {
        let callbacks = if host.is_null() {
            None
        } else {
            // SAFETY: a non-null `host` points to a live HostApi of some ABI-1 host for the
            // duration of the call; every such struct starts with its size.
            let size = unsafe { std::ptr::read(host.cast::<usize>()) };
            // An older host's smaller struct lacks callbacks this SDK calls: use none then.
            (size >= std::mem::size_of::<HostApi>()).then(|| {
                // SAFETY: the struct is at least as large as ours, so reading it whole is
                // in bounds.
                HostCallbacks(unsafe { *host })
            })
        };
        Arc::new(CallScope {
            host: RwLock::new(callbacks),
        })
    }

    fn close(&self) {
        if let Ok(mut host) = self.host.write() {
            *host = None;
        }
    }

    fn with<R>(&self, f: impl FnOnce(&HostApi) -> R) -> Option<R> {
        let guard = self.host.read().ok()?;
        guard.as_ref().map(|h| f(&h.0))
    }

    fn log(&self, lvl: u32, message: &str) {
        self.with(|h| (h.log)(h.data, lvl, AbiStr::new(message.as_bytes())));
    }

    fn step(&self, step: &Step) {
        let Some(json) = StepWire::from_step(step).and_then(|s| serde_json::to_vec(&s).ok()) else {
            return;
        };
        self.with(|h| (h.step)(h.data, AbiStr::new(&json)));
    }

    fn cancelled(&self) -> bool {
        self.with(|h| (h.cancelled)(h.data)).unwrap_or(false)
    }
}

/// Feedback that goes to the host's log and step callbacks.
struct HostFeedback(Arc<CallScope>);

impl Feedback for HostFeedback {
    fn progress(&self, message: &str) {
        self.0.log(level::PROGRESS, message);
    }
    fn warn(&self, message: &str) {
        self.0.log(level::WARN, message);
    }
    fn step(&self, step: &Step) {
        self.0.step(step);
    }
}

/// Contexts carry the host version as `&'static str`; each distinct version is leaked once.
fn static_version(version: &str) -> &'static str {
    static SEEN: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let Ok(mut seen) = SEEN.lock() else {
        return sluice_core::HOST_VERSION;
    };
    if let Some(v) = seen.iter().find(|v| **v == version) {
        return v;
    }
    let v: &'static str = Box::leak(version.to_string().into_boxed_str());
    seen.push(v);
    v
}

fn excluder(patterns: &[String]) -> Excluder {
    Excluder::new(patterns).0
}

fn read_context(w: ReadContextWire, scope: &Arc<CallScope>) -> ReadContext {
    let mut ctx = ReadContext::new(w.flags);
    ctx.host_version = static_version(&w.host_version);
    ctx.runtimes = w.runtimes;
    ctx.excluder = excluder(&w.exclude_patterns);
    ctx.env = w.env;
    ctx.home = w.home;
    ctx.feedback = Arc::new(HostFeedback(scope.clone()));
    ctx
}

fn build_context(w: BuildContextWire, scope: &Arc<CallScope>) -> BuildContext {
    let mut ctx = BuildContext::new(w.project_dir, w.flags);
    ctx.host_version = static_version(&w.host_version);
    ctx.build_env = w.build_env;
    ctx.runtimes = w.runtimes;
    ctx.excluder = excluder(&w.exclude_patterns);
    ctx.best_project_name = w.best_project_name;
    ctx.feedback = Arc::new(HostFeedback(scope.clone()));
    ctx
}

fn deploy_context(w: DeployContextWire, scope: &Arc<CallScope>) -> DeployContext {
    let mut ctx = DeployContext::new(w.flags, w.credentials);
    ctx.host_version = static_version(&w.host_version);
    ctx.project_dir = w.project_dir;
    ctx.local = w.local;
    ctx.runtimes = w.runtimes;
    ctx.feedback = Arc::new(HostFeedback(scope.clone()));
    ctx
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

fn missing(what: &str) -> Error {
    Error::usage(format!("this plugin has no {what}"))
}

/// Serves one call: parse, run `f` under `catch_unwind`, reply. Never unwinds.
fn serve<Req, Resp, F>(
    host: *const HostApi,
    request: AbiStr,
    reply: *mut AbiBuffer,
    op: &str,
    f: F,
) -> i32
where
    Req: DeserializeOwned,
    Resp: Serialize,
    F: FnOnce(Req, &Arc<CallScope>) -> Result<Resp, Error>,
{
    if reply.is_null() {
        return status::ERROR;
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let scope = CallScope::open(host);
        let previous = CURRENT.with(|c| c.replace(Some(scope.clone())));
        // SAFETY: the host passes request bytes valid for the duration of the call.
        let bytes = unsafe { request.as_bytes() };
        let result = match Request::<Req>::parse(bytes) {
            Err(e) => Err(ErrorWire::protocol(format!(
                "cannot parse the {op} request: {e}"
            ))),
            Ok(req) if req.schema != SCHEMA_VERSION => Err(ErrorWire::protocol(format!(
                "the host sent schema {} but this plugin speaks schema {SCHEMA_VERSION}",
                req.schema
            ))),
            Ok(req) => match catch_unwind(AssertUnwindSafe(|| f(req.body, &scope))) {
                Ok(Ok(v)) => Ok(v),
                Ok(Err(e)) => Err(ErrorWire::from_core(&e)),
                Err(payload) => Err(ErrorWire::panic(op, panic_message(payload.as_ref()))),
            },
        };
        scope.close();
        CURRENT.with(|c| c.replace(previous));
        let (code, json) = match result {
            Ok(v) => (status::OK, serde_json::to_vec(&Reply::ok(v))),
            Err(e) => (status::ERROR, serde_json::to_vec(&Reply::<()>::error(e))),
        };
        match json {
            Ok(json) => (code, json),
            Err(e) => (
                status::ERROR,
                serde_json::to_vec(&Reply::<()>::error(ErrorWire::protocol(format!(
                    "cannot serialize the {op} reply: {e}"
                ))))
                .unwrap_or_default(),
            ),
        }
    }));
    let (code, json) = outcome.unwrap_or_else(|payload| {
        let e = ErrorWire::panic(op, panic_message(payload.as_ref()));
        (
            status::ERROR,
            serde_json::to_vec(&Reply::<()>::error(e)).unwrap_or_default(),
        )
    });
    // SAFETY: `reply` is non-null and points to an AbiBuffer the host owns for this call.
    unsafe {
        *reply = AbiBuffer::from_vec(json);
    }
    code
}

/// Frees a reply made by this library (exported through the function table).
pub extern "C" fn free_buffer(buffer: AbiBuffer) {
    // SAFETY: every reply buffer comes from `AbiBuffer::from_vec` in this library, and the
    // host gives each back exactly once.
    drop(unsafe { buffer.into_vec() });
}

pub extern "C" fn describe<P: Exported>(
    host: *const HostApi,
    request: AbiStr,
    reply: *mut AbiBuffer,
) -> i32 {
    serve(host, request, reply, "describe", |_: Empty, _| {
        Ok(Description {
            reader: P::reader().map(|r| r.name().to_string()),
            builder: P::builder().map(|b| b.name().to_string()),
            deployer: P::deployer().map(|d| d.name().to_string()),
        })
    })
}

pub extern "C" fn reader_claims<P: Exported>(
    host: *const HostApi,
    request: AbiStr,
    reply: *mut AbiBuffer,
) -> i32 {
    serve(host, request, reply, "claims", |req: ReadRequest, _| {
        let reader = P::reader().ok_or_else(|| missing("reader"))?;
        Ok(reader.claims(&req.location))
    })
}

pub extern "C" fn reader_read<P: Exported>(
    host: *const HostApi,
    request: AbiStr,
    reply: *mut AbiBuffer,
) -> i32 {
    serve(
        host,
        request,
        reply,
        "read",
        |req: ReadRequest, scope| -> Result<DeployStructure, Error> {
            let reader = P::reader().ok_or_else(|| missing("reader"))?;
            let wire = req
                .context
                .ok_or_else(|| Error::usage("the read request has no context"))?;
            reader.read(&req.location, &read_context(wire, scope))
        },
    )
}

pub extern "C" fn builder_detect<P: Exported>(
    host: *const HostApi,
    request: AbiStr,
    reply: *mut AbiBuffer,
) -> i32 {
    serve(host, request, reply, "detect", |req: BuildTargetWire, _| {
        let builder = P::builder().ok_or_else(|| missing("builder"))?;
        Ok(builder.detect(&req.as_target()).map(DetectionWire::from))
    })
}

pub extern "C" fn builder_build<P: Exported>(
    host: *const HostApi,
    request: AbiStr,
    reply: *mut AbiBuffer,
) -> i32 {
    serve(
        host,
        request,
        reply,
        "build",
        |req: BuildRequest, scope| -> Result<Option<Artifact>, Error> {
            let builder = P::builder().ok_or_else(|| missing("builder"))?;
            builder.build(&req.job.as_job(), &build_context(req.context, scope))
        },
    )
}

fn deployer_call<P: Exported, R: Serialize>(
    host: *const HostApi,
    request: AbiStr,
    reply: *mut AbiBuffer,
    op: &str,
    f: impl FnOnce(&'static dyn Deployer, DeployContext, DeployerRequest) -> Result<R, Error>,
) -> i32 {
    serve(host, request, reply, op, |req: DeployerRequest, scope| {
        let deployer = P::deployer().ok_or_else(|| missing("deployer"))?;
        let ctx = deploy_context(req.context.clone(), scope);
        f(deployer, ctx, req)
    })
}

fn target_of(req: &mut DeployerRequest) -> Result<sluice_core::Target, Error> {
    req.target
        .take()
        .map(TargetWire::into_target)
        .ok_or_else(|| Error::usage("the request has no target"))
}

pub extern "C" fn deployer_prepare<P: Exported>(
    host: *const HostApi,
    request: AbiStr,
    reply: *mut AbiBuffer,
) -> i32 {
    deployer_call::<P, _>(host, request, reply, "prepare", |d, ctx, _| {
        futures::executor::block_on(d.prepare(&ctx)).map(|t| TargetWire::from_target(&t))
    })
}

pub extern "C" fn deployer_deploy<P: Exported>(
    host: *const HostApi,
    request: AbiStr,
    reply: *mut AbiBuffer,
) -> i32 {
    deployer_call::<P, _>(
        host,
        request,
        reply,
        "deploy",
        |d, ctx, mut req| -> Result<DeployResponse, Error> {
            let target = target_of(&mut req)?;
            let project = req
                .project
                .ok_or_else(|| Error::usage("the deploy request has no project"))?;
            futures::executor::block_on(d.deploy(&ctx, &target, &project))
        },
    )
}

pub extern "C" fn deployer_runtimes<P: Exported>(
    host: *const HostApi,
    request: AbiStr,
    reply: *mut AbiBuffer,
) -> i32 {
    deployer_call::<P, _>(
        host,
        request,
        reply,
        "runtimes",
        |d, ctx, _| -> Result<Option<RuntimeTable>, Error> {
            futures::executor::block_on(d.runtimes(&ctx))
        },
    )
}

pub extern "C" fn deployer_undeploy<P: Exported>(
    host: *const HostApi,
    request: AbiStr,
    reply: *mut AbiBuffer,
) -> i32 {
    deployer_call::<P, _>(
        host,
        request,
        reply,
        "undeploy",
        |d, ctx, mut req| -> Result<DeployResponse, Error> {
            let target = target_of(&mut req)?;
            let undeploy = req.undeploy.take().unwrap_or_default().into_request();
            futures::executor::block_on(d.undeploy(&ctx, &target, &undeploy))
        },
    )
}

/// Exports a plugin: turns ordinary implementations of `sluice_core`'s `ProjectReader`,
/// `Builder` and/or `Deployer` into the sluice C ABI. Use it once, in a `cdylib` crate.
///
/// ```ignore
/// sluice_plugin_abi::export_plugin! {
///     name: "toml-template",
///     version: env!("CARGO_PKG_VERSION"),
///     builder: TemplateBuilder::default(),
/// }
/// ```
///
/// `reader:`, `builder:` and `deployer:` are each optional (in that order; at least one).
/// Each expression is evaluated once, on first use, inside the panic guard.
#[macro_export]
macro_rules! export_plugin {
    (
        name: $name:expr,
        version: $version:expr
        $(, reader: $reader:expr)?
        $(, builder: $builder:expr)?
        $(, deployer: $deployer:expr)?
        $(,)?
    ) => {
        #[doc(hidden)]
        pub struct SluicePluginExport;
        impl $crate::sdk::Exported for SluicePluginExport {
            const NAME: &'static str = $name;
            const VERSION: &'static str = $version;
            const CAPABILITIES: u32 = 0
                $(| $crate::__sluice_if_present!($reader, $crate::abi::capability::READER))?
                $(| $crate::__sluice_if_present!($builder, $crate::abi::capability::BUILDER))?
                $(| $crate::__sluice_if_present!($deployer, $crate::abi::capability::DEPLOYER))?;
            fn reader() -> ::std::option::Option<&'static dyn $crate::sluice_core::ProjectReader> {
                $crate::__sluice_instance!(dyn $crate::sluice_core::ProjectReader $(, $reader)?)
            }
            fn builder() -> ::std::option::Option<&'static dyn $crate::sluice_core::Builder> {
                $crate::__sluice_instance!(dyn $crate::sluice_core::Builder $(, $builder)?)
            }
            fn deployer() -> ::std::option::Option<&'static dyn $crate::sluice_core::Deployer> {
                $crate::__sluice_instance!(dyn $crate::sluice_core::Deployer $(, $deployer)?)
            }
        }

        /// The plugin's entry point (see `sluice_plugin_abi::abi::ENTRY_SYMBOL`).
        // The ABI needs an unmangled symbol; the function itself does nothing unsafe.
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn sluice_plugin_declare() -> *const $crate::abi::PluginDeclaration {
            static FUNCTIONS: $crate::abi::FunctionTable =
                $crate::sdk::function_table::<SluicePluginExport>();
            static DECLARATION: $crate::abi::PluginDeclaration =
                $crate::sdk::declaration::<SluicePluginExport>(&FUNCTIONS);
            &DECLARATION
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __sluice_if_present {
    ($ignored:expr, $value:expr) => {
        $value
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __sluice_instance {
    ($t:ty) => {
        ::std::option::Option::None
    };
    ($t:ty, $make:expr) => {{
        static INSTANCE: ::std::sync::OnceLock<::std::boxed::Box<$t>> =
            ::std::sync::OnceLock::new();
        ::std::option::Option::Some(
            INSTANCE
                .get_or_init(|| ::std::boxed::Box::new($make))
                .as_ref(),
        )
    }};
}
