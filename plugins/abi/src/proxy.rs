//! The host side of a call, and the trait objects the registry holds for a loaded plugin.
//!
//! [`PluginHandle::call`] serializes a request, passes the host callbacks, copies the reply,
//! gives the buffer back to the plugin's `free_buffer`, and parses the reply. Anything wrong
//! with the reply (not JSON, wrong schema, no buffer) is an [`Error::Plugin`] naming the
//! plugin and the operation.

use std::ffi::c_void;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sluice_core::{
    Artifact, BuildContext, BuildJob, BuildTarget, Builder, DeployContext, DeployResponse,
    DeployStructure, Deployer, Detection, Error, Feedback, ProjectReader, ReadContext, Result,
    RuntimeTable, Silent, Target, UndeployRequest,
};

use crate::abi::{
    AbiBuffer, AbiStr, CallFn, FunctionTable, HostApi, SCHEMA_VERSION, level, status,
};
use crate::wire::{
    BuildContextWire, BuildJobWire, BuildRequest, BuildTargetWire, DeployContextWire,
    DeployerRequest, DetectionWire, Outcome, ReadContextWire, ReadRequest, Reply, Request,
    StepWire, TargetWire, UndeployWire,
};

/// Set by [`request_cancel`]; every plugin call's `cancelled` callback reads it.
static CANCELLED: AtomicBool = AtomicBool::new(false);

/// Asks running and future plugin calls to stop (e.g. from a Ctrl-C handler). Plugins see it
/// through their `cancelled` callback; it is process-wide because cancellation is.
pub fn request_cancel() {
    CANCELLED.store(true, Ordering::SeqCst);
}

/// A loaded plugin: its identity and a copy of its function table. Lives for the rest of the
/// process (see [`crate::loader`] for why libraries are never unloaded).
#[derive(Debug)]
pub struct PluginHandle {
    /// The declared name.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// The plugin API version it was built against.
    pub api_version: String,
    pub abi_version: u32,
    pub capabilities: u32,
    /// The canonical path of the library.
    pub path: PathBuf,
    pub(crate) functions: FunctionTable,
}

/// What the host's callbacks reach during one call.
struct HostState {
    feedback: Arc<dyn Feedback>,
}

extern "C" fn host_log(data: *mut c_void, lvl: u32, message: AbiStr) {
    // SAFETY: `data` is the HostState of the call in progress (the plugin may only call back
    // while the call runs) and `message` is valid for this callback.
    let (state, bytes) = unsafe { (&*data.cast::<HostState>(), message.as_bytes()) };
    let text = String::from_utf8_lossy(bytes);
    if lvl == level::WARN {
        state.feedback.warn(&text);
    } else {
        state.feedback.progress(&text);
    }
}

extern "C" fn host_step(data: *mut c_void, step: AbiStr) {
    // SAFETY: as in `host_log`.
    let (state, bytes) = unsafe { (&*data.cast::<HostState>(), step.as_bytes()) };
    if let Ok(step) = serde_json::from_slice::<StepWire>(bytes) {
        state.feedback.step(&step.into_step());
    }
}

extern "C" fn host_cancelled(_data: *mut c_void) -> bool {
    CANCELLED.load(Ordering::SeqCst)
}

impl PluginHandle {
    fn fail(&self, message: String) -> Error {
        Error::Plugin {
            plugin: self.name.clone(),
            message,
        }
    }

    /// Calls `op` with `request` and parses the reply.
    pub(crate) fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        op: &str,
        function: Option<CallFn>,
        request: &Req,
        feedback: Arc<dyn Feedback>,
    ) -> Result<Resp> {
        let function = function.ok_or_else(|| self.fail(format!("it does not export '{op}'")))?;
        let free = self
            .functions
            .free_buffer
            .ok_or_else(|| self.fail("it does not export 'free_buffer'".into()))?;
        let json = serde_json::to_vec(&Request::new(request))
            .map_err(|e| self.fail(format!("cannot serialize the {op} request: {e}")))?;
        let state = HostState { feedback };
        let api = HostApi {
            size: std::mem::size_of::<HostApi>(),
            data: (&state as *const HostState).cast_mut().cast::<c_void>(),
            log: host_log,
            step: host_step,
            cancelled: host_cancelled,
        };
        let mut reply = AbiBuffer::empty();
        let code = function(&api, AbiStr::new(&json), &mut reply);
        let bytes = AbiStr {
            ptr: reply.ptr,
            len: reply.len,
        };
        // SAFETY: the plugin filled `reply` with a buffer of `len` bytes that stays valid
        // until we hand it to its `free_buffer`, which happens right after this copy.
        let bytes = unsafe { bytes.as_bytes() }.to_vec();
        if !reply.ptr.is_null() {
            free(reply);
        }
        drop(state);
        if bytes.is_empty() {
            return Err(self.fail(format!("{op} returned no reply (status {code})")));
        }
        let parsed = Reply::<Resp>::parse(&bytes).map_err(|e| {
            let shown: String = String::from_utf8_lossy(&bytes).chars().take(80).collect();
            self.fail(format!("{op} returned invalid JSON ({e}): {shown}"))
        })?;
        if parsed.schema != SCHEMA_VERSION {
            return Err(self.fail(format!(
                "{op} replied with schema {}, this sluice reads schema {SCHEMA_VERSION}",
                parsed.schema
            )));
        }
        match (parsed.outcome, code) {
            (Outcome::Ok(v), status::OK) => Ok(v),
            (Outcome::Error(e), _) => Err(e.into_core(&self.name)),
            (Outcome::Ok(_), code) => {
                Err(self.fail(format!("{op} replied 'ok' with status {code}")))
            }
        }
    }
}

fn silent() -> Arc<dyn Feedback> {
    Arc::new(Silent)
}

/// A plugin's reader, as the registry sees it.
pub(crate) struct PluginReader {
    pub plugin: &'static PluginHandle,
    pub name: String,
}

impl ProjectReader for PluginReader {
    fn name(&self) -> &str {
        &self.name
    }

    fn claims(&self, location: &str) -> bool {
        let req = ReadRequest {
            location: location.to_string(),
            context: None,
        };
        let f = self.plugin.functions.reader_claims;
        match self.plugin.call::<_, bool>("claims", f, &req, silent()) {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(plugin = %self.plugin.name, "claims failed: {e}");
                false
            }
        }
    }

    fn read(&self, location: &str, ctx: &ReadContext) -> Result<DeployStructure> {
        let req = ReadRequest {
            location: location.to_string(),
            context: Some(ReadContextWire::from_context(ctx)),
        };
        let f = self.plugin.functions.reader_read;
        self.plugin.call("read", f, &req, ctx.feedback.clone())
    }
}

/// A plugin's builder, as the registry sees it.
pub(crate) struct PluginBuilder {
    pub plugin: &'static PluginHandle,
    pub name: String,
}

impl Builder for PluginBuilder {
    fn name(&self) -> &str {
        &self.name
    }

    fn detect(&self, target: &BuildTarget<'_>) -> Option<Detection> {
        let req = BuildTargetWire::from_target(target);
        let f = self.plugin.functions.builder_detect;
        match self
            .plugin
            .call::<_, Option<DetectionWire>>("detect", f, &req, silent())
        {
            Ok(d) => d.map(Into::into),
            Err(e) => {
                // detect cannot fail in the trait: the plugin just does not claim the target.
                tracing::warn!(plugin = %self.plugin.name, "detect failed: {e}");
                None
            }
        }
    }

    fn build(&self, job: &BuildJob<'_>, ctx: &BuildContext) -> Result<Option<Artifact>> {
        let req = BuildRequest {
            job: BuildJobWire::from_job(job),
            context: BuildContextWire::from_context(ctx),
        };
        let f = self.plugin.functions.builder_build;
        self.plugin.call("build", f, &req, ctx.feedback.clone())
    }
}

/// A plugin's deployer, as the registry sees it. Each call runs on its own thread so that the
/// plugin's blocking executor never stalls the host's async runtime.
pub(crate) struct PluginDeployer {
    pub plugin: &'static PluginHandle,
    pub name: String,
}

impl PluginDeployer {
    async fn call<Resp: DeserializeOwned + Send + 'static>(
        &self,
        op: &'static str,
        function: Option<CallFn>,
        request: DeployerRequest,
        feedback: Arc<dyn Feedback>,
    ) -> Result<Resp> {
        let plugin = self.plugin;
        let (tx, rx) = futures::channel::oneshot::channel();
        std::thread::Builder::new()
            .name(format!("plugin-{}", plugin.name))
            .spawn(move || {
                let _ = tx.send(plugin.call(op, function, &request, feedback));
            })
            .map_err(|e| plugin.fail(format!("cannot start a thread for {op}: {e}")))?;
        rx.await
            .map_err(|_| plugin.fail(format!("{op} ended without a reply")))?
    }

    fn request(ctx: &DeployContext) -> DeployerRequest {
        DeployerRequest {
            context: DeployContextWire::from_context(ctx),
            target: None,
            project: None,
            undeploy: None,
        }
    }
}

#[async_trait]
impl Deployer for PluginDeployer {
    fn name(&self) -> &str {
        &self.name
    }

    async fn prepare(&self, ctx: &DeployContext) -> Result<Target> {
        let f = self.plugin.functions.deployer_prepare;
        let t: TargetWire = self
            .call("prepare", f, Self::request(ctx), ctx.feedback.clone())
            .await?;
        Ok(t.into_target())
    }

    async fn deploy(
        &self,
        ctx: &DeployContext,
        target: &Target,
        project: &DeployStructure,
    ) -> Result<DeployResponse> {
        let mut req = Self::request(ctx);
        req.target = Some(TargetWire::from_target(target));
        req.project = Some(project.clone());
        let f = self.plugin.functions.deployer_deploy;
        self.call("deploy", f, req, ctx.feedback.clone()).await
    }

    async fn runtimes(&self, ctx: &DeployContext) -> Result<Option<RuntimeTable>> {
        let f = self.plugin.functions.deployer_runtimes;
        self.call("runtimes", f, Self::request(ctx), ctx.feedback.clone())
            .await
    }

    async fn undeploy(
        &self,
        ctx: &DeployContext,
        target: &Target,
        request: &UndeployRequest,
    ) -> Result<DeployResponse> {
        let mut req = Self::request(ctx);
        req.target = Some(TargetWire::from_target(target));
        req.undeploy = Some(UndeployWire::from_request(request));
        let f = self.plugin.functions.deployer_undeploy;
        self.call("undeploy", f, req, ctx.feedback.clone()).await
    }
}
