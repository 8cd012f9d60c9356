//! The data model shared by every phase and every plugin.
//!
//! These types are the wire format too: `get-metadata` prints a [`DeployStructure`], the
//! versions file holds [`VersionEntry`] values, `--json` prints a [`DeployResponse`], Lua hooks
//! see them as tables and shared-library plugins exchange them as JSON. Field names are
//! camelCase and absent members are skipped so the JSON has the original deployer's shape.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A JSON dictionary that keeps the order of its keys as written in `project.yml`.
pub type Dict = serde_json::Map<String, serde_json::Value>;

/// Build kinds written by the planner into [`ActionSpec::build`] and [`DeployStructure::lib_build`].
///
/// They are plain strings (not an enum) because plugins may add kinds of their own; these
/// are the ones the original deployer knows, spelled as it spells them.
mod package_wire;

pub mod build_kind {
    /// A `build.sh` script in the directory.
    pub const BUILD_SH: &str = "build.sh";
    /// A `build.cmd` script (Windows).
    pub const BUILD_CMD: &str = "build.cmd";
    /// `npm install` (and `npm run build`), or the yarn equivalents.
    pub const PACKAGE_JSON: &str = "package.json";
    /// The files are listed in `.include` (or the legacy `.source`).
    pub const INCLUDE: &str = ".include";
    /// The files are every file of the directory, less `.ignore` patterns.
    pub const IDENTIFY: &str = "identify";
    /// Built remotely because the user asked for it.
    pub const REMOTE: &str = "remote";
    /// Built remotely because the runtime (go, swift) needs a build and there is no script.
    pub const REMOTE_DEFAULT: &str = "remote-default";

    /// Real builds run a subprocess; the others only collect files.
    pub fn is_real(kind: &str) -> bool {
        matches!(kind, BUILD_SH | BUILD_CMD | PACKAGE_JSON)
    }

    /// Remote builds happen in the namespace, not on this machine.
    pub fn is_remote(kind: &str) -> bool {
        matches!(kind, REMOTE | REMOTE_DEFAULT)
    }
}

/// A whole project as read from disk (or any other source), before and after building.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployStructure {
    #[serde(default)]
    pub packages: Vec<PackageSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Dict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Dict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_namespace: Option<TargetNamespace>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slice: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Credentials>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<Flags>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployer_annotation: Option<DeployerAnnotation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_env: Option<BTreeMap<String, String>>,
    /// Files and directories found in the project that are not part of it.
    #[serde(default)]
    pub strays: Vec<String>,
    /// The project location as the user gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_path: Option<String>,
    /// The planned build of `lib/`, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lib_build: Option<String>,
    /// Names that `${…}` substitution could not resolve (App Platform reads this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unresolved_variables: Option<Vec<String>>,
    /// Lua hook files, relative to the project (sluice extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<Vec<String>>,
    /// Shared-library plugins, relative to the project (sluice extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugins: Option<Vec<String>>,
}

impl DeployStructure {
    /// Every action of every package, with its package.
    pub fn actions(&self) -> impl Iterator<Item = (&PackageSpec, &ActionSpec)> {
        self.packages
            .iter()
            .flat_map(|p| p.actions.iter().map(move |a| (p, a)))
    }
}

/// `targetNamespace` in project.yml: a name, or one name per stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TargetNamespace {
    Name(String),
    Stages {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        test: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        production: Option<String>,
    },
}

/// One package: a folder under `packages/` and/or an entry of `packages:` in project.yml.
///
/// Serialized by hand ([`package_wire`]) for one member: `functions` is left out when the
/// package has no functions *and* its source listed none ([`PackageSpec::functions_absent`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PackageSpec {
    pub name: String,
    pub shared: Option<bool>,
    pub web: Option<WebSetting>,
    pub environment: Option<Dict>,
    pub parameters: Option<Dict>,
    pub annotations: Option<Dict>,
    pub binding: Option<BindingSpec>,
    pub deployed_during_build: Option<bool>,
    /// The package's functions (`functions:` in project.yml; `actions` is accepted too).
    pub actions: Vec<ActionSpec>,
    /// True when project.yml (or the JSON this was read from) has no `functions` list for
    /// this package and no folder gave it any — a binding package, typically. The original
    /// then prints no `functions` member; a folder under `packages/` always gives one.
    pub functions_absent: bool,
}

impl PackageSpec {
    /// The package whose functions deploy without a package.
    pub fn is_default(&self) -> bool {
        self.name == "default"
    }
}

/// A package binding: this package is an alias of another namespace's package.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindingSpec {
    pub namespace: String,
    pub name: String,
}

/// One function (action).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionSpec {
    pub name: String,
    /// Project-relative path of the code file or the action directory (absolute paths allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zipped: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// The planned build (see [`build_kind`]); `None` for single files and sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web: Option<WebSetting>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_secure: Option<WebSecure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Dict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Dict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Dict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggers: Option<Vec<TriggerSpec>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_build: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_build: Option<bool>,
    /// Set by the build phase when this action's build failed; the deployer reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_error: Option<String>,
}

impl ActionSpec {
    /// The name OpenWhisk knows: `pkg/name`, or `name` in the default package.
    pub fn qualified_name(&self, package: &str) -> String {
        if package == "default" {
            self.name.clone()
        } else {
            format!("{package}/{}", self.name)
        }
    }

    /// Sequences have no code of their own.
    pub fn is_sequence(&self) -> bool {
        self.sequence.is_some()
    }
}

/// `web:` of a function or package: `true`, `false` or `"raw"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebSetting {
    On,
    Off,
    Raw,
}

impl WebSetting {
    /// The web-export annotation value.
    pub fn exported(self) -> bool {
        !matches!(self, WebSetting::Off)
    }
}

impl fmt::Display for WebSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WebSetting::On => "true",
            WebSetting::Off => "false",
            WebSetting::Raw => "raw",
        })
    }
}

impl Serialize for WebSetting {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            WebSetting::On => s.serialize_bool(true),
            WebSetting::Off => s.serialize_bool(false),
            WebSetting::Raw => s.serialize_str("raw"),
        }
    }
}

impl<'de> Deserialize<'de> for WebSetting {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Bool(true) => Ok(WebSetting::On),
            serde_json::Value::Bool(false) => Ok(WebSetting::Off),
            serde_json::Value::String(s) if s == "raw" => Ok(WebSetting::Raw),
            other => Err(serde::de::Error::custom(format!(
                "web must be a boolean or the string 'raw', not {other}"
            ))),
        }
    }
}

/// `webSecure:` of a function: `false`, or the secret callers must send (`true` is legacy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WebSecure {
    Flag(bool),
    Secret(String),
}

/// `limits:` of a function, passed to OpenWhisk as given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// Milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<serde_json::Number>,
    /// Megabytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<serde_json::Number>,
    /// Kilobytes (OpenWhisk: megabytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<serde_json::Number>,
}

/// A DigitalOcean scheduled trigger attached to a function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `SCHEDULED` (case-insensitive on input, stored as written).
    #[serde(rename = "type")]
    pub trigger_type: String,
    pub scheduled_details: ScheduledDetails,
}

/// When a scheduled trigger fires, and with what parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduledDetails {
    /// Five-field crontab expression.
    pub cron: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Dict>,
}

/// Command-line flags that change how a project is read, built and deployed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Flags {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub verbose_build: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub verbose_zip: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub incremental: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub yarn: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub remote_build: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub json: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_triggers: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apihost: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<String>,
    /// Most builds at once (default: number of CPUs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_jobs: Option<usize>,
    /// Most entity requests in flight at once (default 25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy_jobs: Option<usize>,
    /// `--allow-outside`: directories outside the project that it may read (see
    /// [`crate::confine`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_outside: Vec<String>,
    /// With `incremental`: trust `.deployed/versions.json` alone, as the original deployer
    /// does, instead of confirming each skipped entity against the namespace.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub trust_local: bool,
    /// Delete what this project deployed and no longer has.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prune: bool,
    /// Say for each function why it is built, skipped or deployed as it is (`--explain`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub explain: bool,
    /// The environment of `sluice.toml` the run deploys to (`-e`, `SLUICE_ENVIRONMENT` or a
    /// branch pattern): every function gets `SLUICE_ENVIRONMENT` and the annotation of
    /// [`crate::ops::environment`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// `--production`: deploy to `targetNamespace.production` of the `{test, production}`
    /// form, instead of `test`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub production: bool,
}

/// What it takes to talk to one OpenWhisk namespace.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Credentials {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub ow: OwOptions,
    /// DigitalOcean API token, for the triggers API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub do_token: Option<String>,
}

/// OpenWhisk client options, in the npm client's spelling.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OwOptions {
    pub apihost: String,
    pub api_key: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_certs: bool,
}

/// Shows a secret as its first few characters and a mask, never in full.
pub fn mask_secret(secret: &str) -> String {
    let shown: String = secret.chars().take(4).collect();
    if secret.chars().count() <= 8 {
        "****".to_string()
    } else {
        format!("{shown}****")
    }
}

impl fmt::Debug for OwOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwOptions")
            .field("apihost", &self.apihost)
            .field("api_key", &mask_secret(&self.api_key))
            .field("ignore_certs", &self.ignore_certs)
            .finish()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("namespace", &self.namespace)
            .field("ow", &self.ow)
            .field("do_token", &self.do_token.as_deref().map(mask_secret))
            .finish()
    }
}

/// The `deployer` annotation attached to every deployed entity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployerAnnotation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    pub project_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zipped: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_slice_handling: Option<bool>,
}

impl DeployerAnnotation {
    /// The name used in display paths: `owner/repo/sub` for a git clone, else the project path.
    pub fn best_project_name(&self) -> String {
        let Some(repo) = &self.repository else {
            return self.project_path.clone();
        };
        let mut segment = match repo.split_once(':') {
            Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
            None => repo.as_str(),
        };
        segment = segment.strip_suffix(".git").unwrap_or(segment);
        let segment = segment.trim_start_matches('/');
        if self.project_path.is_empty() {
            segment.to_string()
        } else {
            format!("{segment}/{}", self.project_path)
        }
    }
}

/// The result of a deploy (or of part of one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployResponse {
    #[serde(default)]
    pub successes: Vec<DeploySuccess>,
    #[serde(default)]
    pub failures: Vec<DeployFailure>,
    #[serde(default)]
    pub ignored: Vec<String>,
    /// Entities `--prune` deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deleted: Vec<DeploySuccess>,
    #[serde(default)]
    pub package_versions: BTreeMap<String, VersionInfo>,
    #[serde(default)]
    pub action_versions: BTreeMap<String, VersionInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apihost: Option<String>,
}

impl DeployResponse {
    /// Appends another response: lists concatenate, version maps merge (later wins), the first
    /// namespace and apihost stay.
    pub fn combine(&mut self, other: DeployResponse) {
        self.successes.extend(other.successes);
        self.failures.extend(other.failures);
        self.ignored.extend(other.ignored);
        self.deleted.extend(other.deleted);
        self.package_versions.extend(other.package_versions);
        self.action_versions.extend(other.action_versions);
        if self.namespace.is_none() {
            self.namespace = other.namespace;
        }
        if self.apihost.is_none() {
            self.apihost = other.apihost;
        }
    }

    /// A response holding one failure.
    pub fn failure(message: impl Into<String>, context: Option<String>) -> Self {
        DeployResponse {
            failures: vec![DeployFailure {
                message: message.into(),
                context,
                status_code: None,
            }],
            ..Default::default()
        }
    }
}

/// What kind of entity a success is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntityKind {
    Action,
    Trigger,
    Binding,
    Package,
}

/// One entity that was deployed (or skipped because it was unchanged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploySuccess {
    pub name: String,
    pub kind: EntityKind,
    pub skipped: bool,
}

/// One entity that failed, with the entity it is about in `context`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployFailure {
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
}

impl fmt::Display for DeployFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.context {
            Some(context) => write!(f, "While deploying {context}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The version OpenWhisk gave an entity, and the digest of what was deployed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionInfo {
    pub version: String,
    pub digest: String,
}

/// One element of `.deployed/versions.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionEntry {
    pub apihost: String,
    pub namespace: String,
    #[serde(default)]
    pub package_versions: BTreeMap<String, VersionInfo>,
    #[serde(default)]
    pub action_versions: BTreeMap<String, VersionInfo>,
}

/// What a build produced for one function: the file to deploy and how to deploy it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// Path of the file to deploy, relative to the project root or absolute.
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    #[serde(default)]
    pub binary: bool,
    #[serde(default)]
    pub zipped: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main: Option<String>,
    /// Whether the artifact was made now, reused from an earlier build, or supplied by a hook.
    #[serde(default)]
    pub status: BuildStatus,
}

/// How an artifact came to be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildStatus {
    #[default]
    Built,
    Reused,
    Skipped,
    Supplied,
}

impl fmt::Display for BuildStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BuildStatus::Built => "built",
            BuildStatus::Reused => "reused",
            BuildStatus::Skipped => "skipped",
            BuildStatus::Supplied => "supplied",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_project_name_from_ssh_and_https_remotes() {
        let mut a = DeployerAnnotation {
            repository: Some("git@github.com:o/r.git".into()),
            project_path: "sub".into(),
            ..Default::default()
        };
        assert_eq!(a.best_project_name(), "o/r/sub");
        a.repository = Some("https://github.com/o/r.git".into());
        assert_eq!(a.best_project_name(), "github.com/o/r/sub");
        a.repository = None;
        assert_eq!(a.best_project_name(), "sub");
    }

    #[test]
    fn web_setting_round_trips() {
        for (text, web) in [
            ("true", WebSetting::On),
            ("false", WebSetting::Off),
            ("\"raw\"", WebSetting::Raw),
        ] {
            let parsed: WebSetting = serde_json::from_str(text).expect("parses");
            assert_eq!(parsed, web);
            assert_eq!(serde_json::to_string(&web).expect("serializes"), text);
        }
        assert!(serde_json::from_str::<WebSetting>("\"yes\"").is_err());
    }

    #[test]
    fn credentials_debug_masks_secrets() {
        let c = Credentials {
            namespace: Some("ns".into()),
            ow: OwOptions {
                apihost: "https://h".into(),
                api_key: "23bc46b1-71f6-4ed5:123zO3xZCLrMN6v2BKK1dXYFpXlPkcc".into(),
                ignore_certs: false,
            },
            do_token: Some("dop_v1_abcdefghijklmnop".into()),
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("123zO3x"), "{shown}");
        assert!(!shown.contains("abcdefghijklmnop"), "{shown}");
    }

    #[test]
    fn failure_display_has_context() {
        let f = DeployFailure {
            message: "boom".into(),
            context: Some("action 'p/a'".into()),
            status_code: None,
        };
        assert_eq!(f.to_string(), "While deploying action 'p/a': boom");
    }
}
