//! The JSON that crosses the boundary: one request and one reply shape per operation, built
//! from the `sluice-core` model types, each wrapped with the [`SCHEMA_VERSION`].
//!
//! Contexts hold Rust objects (feedback sinks, builder lists, file access) that cannot
//! cross; their plain-data members cross here and the objects are replaced by the host
//! callbacks on the plugin side.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sluice_core::{
    ActionSpec, Credentials, DeployContext, Error, Flags, ReadContext, RuntimeTable, Step, Target,
    UndeployRequest,
};

use crate::abi::SCHEMA_VERSION;

/// A request: the schema version plus the operation's payload.
#[derive(Debug, Serialize, Deserialize)]
pub struct Request<T> {
    pub schema: u32,
    #[serde(flatten)]
    pub body: T,
}

impl<T> Request<T> {
    pub fn new(body: T) -> Self {
        Request {
            schema: SCHEMA_VERSION,
            body,
        }
    }
}

impl<T: serde::de::DeserializeOwned> Request<T> {
    /// Parses a request. The body's types ignore unknown members, so the bytes are read
    /// once for the schema and once for the body, instead of through serde's `flatten`
    /// buffering (which costs more than both passes together).
    pub fn parse(bytes: &[u8]) -> serde_json::Result<Self> {
        let SchemaOnly { schema } = serde_json::from_slice(bytes)?;
        let body = serde_json::from_slice(bytes)?;
        Ok(Request { schema, body })
    }
}

#[derive(Deserialize)]
struct SchemaOnly {
    schema: u32,
}

/// A reply: `{"schema":1,"ok":…}` or `{"schema":1,"error":{…}}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Reply<T> {
    pub schema: u32,
    #[serde(flatten)]
    pub outcome: Outcome<T>,
}

/// The result inside a [`Reply`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome<T> {
    Ok(T),
    Error(ErrorWire),
}

/// A reply as read, without `flatten` buffering: `ok` is `Some` whenever the member is
/// present, even as `null` (`T` may itself be an `Option`).
#[derive(Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
struct RawReply<T> {
    schema: u32,
    #[serde(default, deserialize_with = "present")]
    ok: Option<T>,
    #[serde(default)]
    error: Option<ErrorWire>,
}

fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

impl<T: serde::de::DeserializeOwned> Reply<T> {
    /// Parses a reply; it must hold exactly one of `ok` and `error`.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let raw: RawReply<T> = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let outcome = match (raw.ok, raw.error) {
            (Some(v), None) => Outcome::Ok(v),
            (None, Some(e)) => Outcome::Error(e),
            _ => return Err("a reply holds exactly one of 'ok' and 'error'".to_string()),
        };
        Ok(Reply {
            schema: raw.schema,
            outcome,
        })
    }
}

impl<T> Reply<T> {
    pub fn ok(value: T) -> Self {
        Reply {
            schema: SCHEMA_VERSION,
            outcome: Outcome::Ok(value),
        }
    }

    pub fn error(error: ErrorWire) -> Self {
        Reply {
            schema: SCHEMA_VERSION,
            outcome: Outcome::Error(error),
        }
    }
}

/// A `sluice_core::Error` as data. `kind` names the variant; `panic` marks a caught panic.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorWire {
    pub kind: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// The entity (`action 'p/a'`, `lib`) of a build error, the context of a deploy error,
    /// the event of a hook error, the plugin of a plugin error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
}

/// The `kind` of an [`ErrorWire`] made from a caught panic.
pub const PANIC_KIND: &str = "panic";

impl ErrorWire {
    /// A caught panic inside `operation`.
    pub fn panic(operation: &str, message: String) -> Self {
        ErrorWire {
            kind: PANIC_KIND.to_string(),
            message: format!("panicked in {operation}: {message}"),
            ..Default::default()
        }
    }

    /// An error of the protocol itself (a request the plugin cannot parse, …).
    pub fn protocol(message: String) -> Self {
        ErrorWire {
            kind: "plugin".to_string(),
            message,
            ..Default::default()
        }
    }

    /// Turns a core error into data.
    pub fn from_core(error: &Error) -> Self {
        let base = |kind: &str, message: &str| ErrorWire {
            kind: kind.to_string(),
            message: message.to_string(),
            ..Default::default()
        };
        match error {
            Error::Config {
                file,
                line,
                column,
                message,
            } => ErrorWire {
                file: Some(file.clone()),
                line: *line,
                column: *column,
                ..base("config", message)
            },
            Error::Project { message, help } => ErrorWire {
                help: help.clone(),
                ..base("project", message)
            },
            Error::Unresolved { names } => ErrorWire {
                names: names.clone(),
                ..base("unresolved", &error.to_string())
            },
            Error::Build {
                entity,
                message,
                output,
            } => ErrorWire {
                entity: Some(entity.clone()),
                output: output.clone(),
                ..base("build", message)
            },
            Error::Credentials { message, help } => ErrorWire {
                help: help.clone(),
                ..base("credentials", message)
            },
            Error::Deploy { message, context } => ErrorWire {
                entity: context.clone(),
                ..base("deploy", message)
            },
            Error::Io { path, source } => ErrorWire {
                file: Some(path.display().to_string()),
                ..base("io", &source.to_string())
            },
            Error::Plugin { plugin, message } => ErrorWire {
                entity: Some(plugin.clone()),
                ..base("plugin", message)
            },
            Error::Hook {
                file,
                line,
                event,
                message,
            } => ErrorWire {
                file: Some(file.clone()),
                line: *line,
                entity: Some(event.clone()),
                ..base("hook", message)
            },
            Error::Usage { message, help } => ErrorWire {
                help: help.clone(),
                ..base("usage", message)
            },
        }
    }

    /// Turns the data back into a core error; failures of the plugin as such (panics,
    /// protocol errors, unknown kinds) become [`Error::Plugin`] naming `plugin`.
    pub fn into_core(self, plugin: &str) -> Error {
        let as_plugin = |message: String| Error::Plugin {
            plugin: plugin.to_string(),
            message,
        };
        match self.kind.as_str() {
            "config" => Error::Config {
                file: self.file.unwrap_or_else(|| "project.yml".to_string()),
                line: self.line,
                column: self.column,
                message: self.message,
            },
            "project" => Error::Project {
                message: self.message,
                help: self.help,
            },
            "unresolved" => Error::Unresolved { names: self.names },
            "build" => Error::Build {
                entity: self.entity.unwrap_or_default(),
                message: self.message,
                output: self.output,
            },
            "credentials" => Error::Credentials {
                message: self.message,
                help: self.help,
            },
            "deploy" => Error::Deploy {
                message: self.message,
                context: self.entity,
            },
            "io" => Error::Io {
                path: PathBuf::from(self.file.unwrap_or_default()),
                source: std::io::Error::other(self.message),
            },
            "hook" => Error::Hook {
                file: self.file.unwrap_or_default(),
                line: self.line,
                event: self.entity.unwrap_or_default(),
                message: self.message,
            },
            "usage" => Error::Usage {
                message: self.message,
                help: self.help,
            },
            // A plugin error raised inside the plugin keeps the name it gave.
            "plugin" if self.entity.is_some() => Error::Plugin {
                plugin: self.entity.unwrap_or_default(),
                message: self.message,
            },
            _ => as_plugin(self.message),
        }
    }
}

/// The names of what a plugin provides (reply of `describe`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Description {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reader: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployer: Option<String>,
}

/// An empty request body.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Empty {}

/// `claims` and `read` requests.
#[derive(Debug, Serialize, Deserialize)]
pub struct ReadRequest {
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<ReadContextWire>,
}

/// The data of a [`ReadContext`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadContextWire {
    pub host_version: String,
    pub flags: Flags,
    pub runtimes: RuntimeTable,
    pub exclude_patterns: Vec<String>,
    pub env: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<PathBuf>,
}

impl ReadContextWire {
    pub fn from_context(ctx: &ReadContext) -> Self {
        ReadContextWire {
            host_version: ctx.host_version.to_string(),
            flags: ctx.flags.clone(),
            runtimes: ctx.runtimes.clone(),
            exclude_patterns: ctx.excluder.extra_patterns().to_vec(),
            env: ctx.env.clone(),
            home: ctx.home.clone(),
        }
    }
}

/// A `BuildTarget` as data (the `builder_detect` request).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildTargetWire {
    pub dir: PathBuf,
    pub rel_dir: String,
    pub files: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<ActionSpec>,
    pub flags: Flags,
}

impl BuildTargetWire {
    pub fn from_target(t: &sluice_core::BuildTarget<'_>) -> Self {
        BuildTargetWire {
            dir: t.dir.to_path_buf(),
            rel_dir: t.rel_dir.to_string(),
            files: t.files.to_vec(),
            action: t.action.cloned(),
            flags: t.flags.clone(),
        }
    }

    /// Borrows it back as a core `BuildTarget`.
    pub fn as_target(&self) -> sluice_core::BuildTarget<'_> {
        sluice_core::BuildTarget::new(
            &self.dir,
            &self.rel_dir,
            &self.files,
            self.action.as_ref(),
            &self.flags,
        )
    }
}

/// A `Detection` as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectionWire {
    pub kind: String,
    pub priority: i32,
}

impl From<sluice_core::Detection> for DetectionWire {
    fn from(d: sluice_core::Detection) -> Self {
        DetectionWire {
            kind: d.kind,
            priority: d.priority,
        }
    }
}

impl From<DetectionWire> for sluice_core::Detection {
    fn from(d: DetectionWire) -> Self {
        sluice_core::Detection {
            kind: d.kind,
            priority: d.priority,
        }
    }
}

/// A `BuildJob` as data.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BuildJobWire {
    Action {
        package: String,
        action: Box<ActionSpec>,
    },
    Lib {
        kind: String,
    },
}

impl BuildJobWire {
    pub fn from_job(job: &sluice_core::BuildJob<'_>) -> Self {
        match job {
            sluice_core::BuildJob::Action { package, action } => BuildJobWire::Action {
                package: package.to_string(),
                action: Box::new((*action).clone()),
            },
            sluice_core::BuildJob::Lib { kind } => BuildJobWire::Lib {
                kind: kind.to_string(),
            },
        }
    }

    pub fn as_job(&self) -> sluice_core::BuildJob<'_> {
        match self {
            BuildJobWire::Action { package, action } => {
                sluice_core::BuildJob::Action { package, action }
            }
            BuildJobWire::Lib { kind } => sluice_core::BuildJob::Lib { kind },
        }
    }
}

/// The `build` request.
#[derive(Debug, Serialize, Deserialize)]
pub struct BuildRequest {
    pub job: BuildJobWire,
    pub context: BuildContextWire,
}

/// The data of a `BuildContext`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildContextWire {
    pub host_version: String,
    pub project_dir: PathBuf,
    pub flags: Flags,
    pub build_env: BTreeMap<String, String>,
    pub runtimes: RuntimeTable,
    pub exclude_patterns: Vec<String>,
    pub best_project_name: String,
}

impl BuildContextWire {
    pub fn from_context(ctx: &sluice_core::BuildContext) -> Self {
        BuildContextWire {
            host_version: ctx.host_version.to_string(),
            // Builders of another reader's files see its root on disk when it has one.
            project_dir: ctx
                .files
                .root()
                .map(|r| r.to_path_buf())
                .unwrap_or_else(|| ctx.project_dir.clone()),
            flags: ctx.flags.clone(),
            build_env: ctx.build_env.clone(),
            runtimes: ctx.runtimes.clone(),
            exclude_patterns: ctx.excluder.extra_patterns().to_vec(),
            best_project_name: ctx.best_project_name.clone(),
        }
    }
}

/// The data of a [`DeployContext`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployContextWire {
    pub host_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_dir: Option<PathBuf>,
    pub flags: Flags,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Credentials>,
    pub local: bool,
    pub runtimes: RuntimeTable,
}

impl DeployContextWire {
    pub fn from_context(ctx: &DeployContext) -> Self {
        DeployContextWire {
            host_version: ctx.host_version.to_string(),
            project_dir: ctx.project_dir.clone(),
            flags: ctx.flags.clone(),
            credentials: ctx.credentials.clone(),
            local: ctx.local,
            runtimes: ctx.runtimes.clone(),
        }
    }
}

/// A deploy [`Target`] as data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetWire {
    pub apihost: String,
    pub namespace: String,
    pub credentials: Credentials,
    pub local: bool,
}

impl TargetWire {
    pub fn from_target(t: &Target) -> Self {
        TargetWire {
            apihost: t.apihost.clone(),
            namespace: t.namespace.clone(),
            credentials: t.credentials.clone(),
            local: t.local,
        }
    }

    pub fn into_target(self) -> Target {
        let mut t = Target::new(self.apihost, self.namespace, self.credentials);
        t.local = self.local;
        t
    }
}

/// Requests of the deployer operations.
#[derive(Debug, Serialize, Deserialize)]
pub struct DeployerRequest {
    pub context: DeployContextWire,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetWire>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<sluice_core::DeployStructure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undeploy: Option<UndeployWire>,
}

/// An [`UndeployRequest`] as data.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UndeployWire {
    pub actions: Vec<String>,
    pub packages: Vec<String>,
    pub all: bool,
    pub triggers: Vec<String>,
    pub all_triggers: bool,
}

impl UndeployWire {
    pub fn from_request(r: &UndeployRequest) -> Self {
        UndeployWire {
            actions: r.actions.clone(),
            packages: r.packages.clone(),
            all: r.all,
            triggers: r.triggers.clone(),
            all_triggers: r.all_triggers,
        }
    }

    pub fn into_request(self) -> UndeployRequest {
        let mut r = UndeployRequest::default();
        r.actions = self.actions;
        r.packages = self.packages;
        r.all = self.all;
        r.triggers = self.triggers;
        r.all_triggers = self.all_triggers;
        r
    }
}

/// A progress [`Step`] as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StepWire {
    BuildStarted { entity: String },
    BuildFinished { entity: String, ok: bool },
    Deployed { entity: String, ok: bool },
}

impl StepWire {
    pub fn from_step(step: &Step) -> Option<Self> {
        Some(match step {
            Step::BuildStarted { entity } => StepWire::BuildStarted {
                entity: entity.clone(),
            },
            Step::BuildFinished { entity, ok } => StepWire::BuildFinished {
                entity: entity.clone(),
                ok: *ok,
            },
            Step::Deployed { entity, ok } => StepWire::Deployed {
                entity: entity.clone(),
                ok: *ok,
            },
            _ => return None,
        })
    }

    pub fn into_step(self) -> Step {
        match self {
            StepWire::BuildStarted { entity } => Step::BuildStarted { entity },
            StepWire::BuildFinished { entity, ok } => Step::BuildFinished { entity, ok },
            StepWire::Deployed { entity, ok } => Step::Deployed { entity, ok },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_have_the_documented_shape() {
        let ok = serde_json::to_string(&Reply::ok(true)).expect("serializes");
        assert_eq!(ok, r#"{"schema":1,"ok":true}"#);
        let err = serde_json::to_string(&Reply::<bool>::error(ErrorWire::protocol("x".into())))
            .expect("serializes");
        assert_eq!(
            err,
            r#"{"schema":1,"error":{"kind":"plugin","message":"x"}}"#
        );
        let back: Reply<bool> = Reply::parse(ok.as_bytes()).expect("parses");
        assert!(matches!(back.outcome, Outcome::Ok(true)));
        let none: Reply<Option<bool>> = Reply::parse(br#"{"schema":1,"ok":null}"#).expect("parses");
        assert!(matches!(none.outcome, Outcome::Ok(None)));
        assert!(Reply::<Option<bool>>::parse(br#"{"schema":1}"#).is_err());
        let req: Request<ReadRequest> =
            Request::parse(br#"{"schema":1,"location":"x"}"#).expect("parses");
        assert_eq!((req.schema, req.body.location.as_str()), (1, "x"));
    }

    #[test]
    fn core_errors_round_trip() {
        let errors = [
            Error::Config {
                file: "functions.toml".into(),
                line: Some(3),
                column: Some(1),
                message: "bad".into(),
            },
            Error::Build {
                entity: "action 'p/a'".into(),
                message: "failed".into(),
                output: Some("out".into()),
            },
            Error::Deploy {
                message: "refused".into(),
                context: Some("action 'a'".into()),
            },
            Error::Unresolved {
                names: vec!["A".into()],
            },
        ];
        for e in errors {
            let back = ErrorWire::from_core(&e).into_core("p");
            assert_eq!(back.to_string(), e.to_string());
            assert_eq!(back.line(), e.line());
            assert_eq!(back.help(), e.help());
        }
    }

    #[test]
    fn panics_become_plugin_errors_naming_the_plugin() {
        let e = ErrorWire::panic("build", "boom".into()).into_core("my-plugin");
        assert_eq!(e.to_string(), "plugin 'my-plugin': panicked in build: boom");
    }
}
