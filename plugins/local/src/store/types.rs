//! The stored entities, shaped as the controller returns them (openwhisk-api.md §3) so that
//! handlers serialize them directly.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One `{"key", "value"}` pair of a parameters or annotations array. Extra members
/// (`init`, `encryption`) are kept and echoed back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    #[serde(default)]
    pub value: Value,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl KeyValue {
    /// A plain pair.
    pub fn new(key: impl Into<String>, value: Value) -> Self {
        KeyValue {
            key: key.into(),
            value,
            extra: Map::new(),
        }
    }

    /// True when the parameter is delivered at init as an environment variable.
    pub fn is_init(&self) -> bool {
        self.extra.get("init").and_then(Value::as_bool) == Some(true)
    }
}

/// Looks up a key in a key/value array (the last occurrence wins, as in the controller).
pub fn kv_get<'a>(kvs: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    kvs.iter()
        .rev()
        .find(|kv| kv.key == key)
        .map(|kv| &kv.value)
}

/// Sets a key in a key/value array, replacing every earlier occurrence.
pub fn kv_set(kvs: &mut Vec<KeyValue>, key: &str, value: Value) {
    kvs.retain(|kv| kv.key != key);
    kvs.push(KeyValue::new(key, value));
}

/// Removes duplicate keys, keeping the last occurrence at the position of the first.
pub fn kv_dedup(kvs: Vec<KeyValue>) -> Vec<KeyValue> {
    let mut out: Vec<KeyValue> = Vec::with_capacity(kvs.len());
    for kv in kvs {
        if let Some(slot) = out.iter_mut().find(|o| o.key == kv.key) {
            *slot = kv;
        } else {
            out.push(kv);
        }
    }
    out
}

/// An action's `exec`. `code` is `None` when it was not asked for (`code=false`) or for
/// sequences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exec {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main: Option<String>,
    /// Sequences only: fully qualified component names (`/ns[/pkg]/name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<String>>,
    /// Absent for sequences.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binary: Option<bool>,
}

impl Exec {
    /// True for `kind: sequence`.
    pub fn is_sequence(&self) -> bool {
        self.kind == "sequence"
    }
}

/// An action's limits. Every field is present once stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionLimits {
    /// Milliseconds.
    pub timeout: u64,
    /// Megabytes.
    pub memory: u64,
    /// Megabytes.
    pub logs: u64,
    pub concurrency: u64,
}

impl Default for ActionLimits {
    fn default() -> Self {
        ActionLimits {
            timeout: 60_000,
            memory: 256,
            logs: 10,
            concurrency: 1,
        }
    }
}

/// A stored action (openwhisk-api.md §3.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// `ns` for top-level actions, `ns/pkg` inside a package.
    pub namespace: String,
    pub name: String,
    pub version: String,
    pub publish: bool,
    pub exec: Exec,
    pub parameters: Vec<KeyValue>,
    pub annotations: Vec<KeyValue>,
    pub limits: ActionLimits,
    /// Epoch milliseconds of the last write.
    pub updated: i64,
}

impl Action {
    /// The namespace without the package.
    pub fn root_namespace(&self) -> &str {
        self.namespace.split('/').next().unwrap_or(&self.namespace)
    }

    /// The package, when the action lives in one.
    pub fn package(&self) -> Option<&str> {
        self.namespace.split_once('/').map(|(_, p)| p)
    }

    /// `/ns[/pkg]/name`.
    pub fn fully_qualified_name(&self) -> String {
        format!("/{}/{}", self.namespace, self.name)
    }
}

/// `{"namespace","name"}` of a bound package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindingRef {
    pub namespace: String,
    pub name: String,
}

/// A stored package or binding (openwhisk-api.md §3.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Package {
    pub namespace: String,
    pub name: String,
    pub version: String,
    pub publish: bool,
    /// `None` for a plain package.
    pub binding: Option<BindingRef>,
    pub parameters: Vec<KeyValue>,
    pub annotations: Vec<KeyValue>,
    pub updated: i64,
}

/// A package with its binding followed: what invoking through it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedPackage {
    /// The package named in the request (a binding or a plain package).
    pub requested: Package,
    /// The package whose actions run: the bound package for a binding, else `requested`.
    pub target: Package,
    /// Parameters in effect: target's, overridden by the binding's.
    pub parameters: Vec<KeyValue>,
}

/// `{"path","name"}` as rules reference triggers and actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathName {
    /// `ns` or `ns/pkg`.
    pub path: String,
    pub name: String,
}

impl PathName {
    /// `/path/name`.
    pub fn fully_qualified(&self) -> String {
        format!("/{}/{}", self.path, self.name)
    }
}

/// A rule as linked into its trigger's `rules` map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleLink {
    pub action: PathName,
    /// `active` or `inactive`.
    pub status: String,
}

/// A stored trigger (openwhisk-api.md §3.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    pub namespace: String,
    pub name: String,
    pub version: String,
    pub publish: bool,
    pub parameters: Vec<KeyValue>,
    pub annotations: Vec<KeyValue>,
    pub limits: Map<String, Value>,
    /// Keyed by `ns/rule`; sorted for stable output.
    pub rules: std::collections::BTreeMap<String, RuleLink>,
    pub updated: i64,
}

/// A stored rule (openwhisk-api.md §3.5). Its status lives on the trigger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub namespace: String,
    pub name: String,
    pub version: String,
    pub publish: bool,
    pub annotations: Vec<KeyValue>,
    pub trigger: PathName,
    pub action: PathName,
    pub updated: i64,
}

/// `response` of an activation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivationResponse {
    /// `success`, `application error`, `action developer error`, `whisk internal error`.
    pub status: String,
    pub success: bool,
    #[serde(default)]
    pub result: Value,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub size: Option<u64>,
}

impl ActivationResponse {
    /// The numeric `statusCode` of the brief form (0..=3).
    pub fn status_code(&self) -> u8 {
        match self.status.as_str() {
            "success" => 0,
            "application error" => 1,
            "action developer error" => 2,
            _ => 3,
        }
    }
}

/// An activation record (openwhisk-api.md §3.6), full form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activation {
    pub namespace: String,
    pub name: String,
    pub version: String,
    pub subject: String,
    pub publish: bool,
    pub activation_id: String,
    pub start: i64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub end: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub duration: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cause: Option<String>,
    pub response: ActivationResponse,
    #[serde(default)]
    pub logs: Vec<String>,
    #[serde(default)]
    pub annotations: Vec<KeyValue>,
}

impl Activation {
    /// The entity path within the namespace (`pkg/name` or `name`) that the activations
    /// list's `name` filter matches: from the `path` annotation, else the name.
    pub fn entity_path(&self) -> String {
        match kv_get(&self.annotations, "path").and_then(Value::as_str) {
            Some(p) => match p.split_once('/') {
                Some((_, rest)) => rest.to_string(),
                None => p.to_string(),
            },
            None => self.name.clone(),
        }
    }

    /// The brief form listed without `docs=true`.
    pub fn brief(&self) -> Value {
        let mut m = Map::new();
        m.insert("namespace".into(), Value::from(self.namespace.clone()));
        m.insert("name".into(), Value::from(self.name.clone()));
        m.insert("version".into(), Value::from(self.version.clone()));
        m.insert("publish".into(), Value::from(self.publish));
        m.insert(
            "annotations".into(),
            serde_json::to_value(&self.annotations).unwrap_or(Value::Array(vec![])),
        );
        m.insert(
            "activationId".into(),
            Value::from(self.activation_id.clone()),
        );
        m.insert("start".into(), Value::from(self.start));
        if let Some(end) = self.end {
            m.insert("end".into(), Value::from(end));
            m.insert(
                "statusCode".into(),
                Value::from(self.response.status_code()),
            );
        }
        if let Some(d) = self.duration {
            m.insert("duration".into(), Value::from(d));
        }
        if let Some(c) = &self.cause {
            m.insert("cause".into(), Value::from(c.clone()));
        }
        Value::Object(m)
    }
}

/// Filter and page of an activations list.
#[derive(Debug, Clone, Default)]
pub struct ActivationQuery {
    /// `action` or `pkg/action`.
    pub name: Option<String>,
    /// Epoch ms, inclusive, on `start`.
    pub since: Option<i64>,
    /// Epoch ms, inclusive, on `start`.
    pub upto: Option<i64>,
    pub skip: u64,
    pub limit: u64,
}

/// A DigitalOcean scheduled trigger (openwhisk-api.md §13.3), as the DO API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoTrigger {
    pub namespace: String,
    /// `pkg/fn` or `fn`.
    pub function: String,
    #[serde(rename = "type")]
    pub trigger_type: String,
    pub name: String,
    pub is_enabled: bool,
    /// RFC 3339.
    pub created_at: String,
    pub updated_at: String,
    pub scheduled_details: ScheduledDetails,
    pub scheduled_runs: ScheduledRuns,
}

/// `scheduled_details` of a DO trigger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduledDetails {
    pub cron: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

/// `scheduled_runs` of a DO trigger (RFC 3339 or null).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScheduledRuns {
    pub last_run_at: Option<String>,
    pub next_run_at: Option<String>,
}

/// The schedule and payload of an alarm feed, as the alarms provider's `READ` shows it
/// (`config`). Exactly one of `cron`, `minutes` and `date` is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmConfig {
    /// The trigger's name.
    pub name: String,
    /// The trigger's namespace.
    pub namespace: String,
    /// What each firing passes to the trigger.
    pub payload: Value,
    /// The `alarm` feed: a 5-field (or 6-field, seconds first) cron expression, UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// The `interval` feed: minutes between firings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<u64>,
    /// The `once` feed: when it fires (as given: a date string or epoch milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<Value>,
    /// The `once` feed: `false`, `true` (delete the trigger) or `rules` (and its rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_after_fire: Option<String>,
    /// No firing before this time (as given: a date string or epoch milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<Value>,
    /// No firing after this time (as given: a date string or epoch milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<Value>,
    /// The `alarm` feed: stop after this many firings (`-1`: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_triggers: Option<i64>,
}

/// A trigger fed by the alarms provider.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmFeed {
    /// The trigger's namespace.
    pub namespace: String,
    /// The trigger's name.
    pub trigger: String,
    /// The feed action (`/whisk.system/alarms/alarm`, `…/interval`, `…/once`).
    pub feed: String,
    pub config: AlarmConfig,
    /// False once paused, stopped or done.
    pub active: bool,
    /// Epoch ms of the last status change.
    pub date_changed: i64,
    /// Why it is not active.
    pub reason: Option<FeedReason>,
    /// Epoch ms of the next firing; `None` when nothing is planned.
    pub next_fire: Option<i64>,
    /// How many times it fired.
    pub fired: u64,
    /// Epoch ms of the `CREATE`.
    pub created: i64,
}

/// The web action an API route calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteAction {
    pub namespace: String,
    pub package: Option<String>,
    pub name: String,
}

/// One API gateway route: `<verb> /api/<namespace>/<base_path>/<rel_path>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRoute {
    pub namespace: String,
    /// `/` or `/name`, with a leading slash and none at the end.
    pub base_path: String,
    /// `/path`, with a leading slash; `{param}` segments match any one segment.
    pub rel_path: String,
    /// The HTTP verb, upper case.
    pub operation: String,
    /// The API's name (defaults to the base path).
    pub api_name: String,
    pub action: RouteAction,
    /// The web action extension: `json`, `http`, `html`, `svg` or `text`.
    pub response_type: String,
    pub updated: i64,
}

/// Why an alarm feed stopped firing (`status.reason` of a `READ`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedReason {
    /// `USER` (paused through the feed) or `AUTO` (the provider stopped it).
    pub kind: String,
    /// The HTTP status that stopped it, for `AUTO` stops caused by the trigger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    pub message: String,
}
