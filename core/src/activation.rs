//! The activation record: what an OpenWhisk namespace keeps about one run of a function
//! (openwhisk-api.md §3.6), in its full form (`GET …/activations/{id}`, a blocking invoke)
//! and its brief form (the activations list without `docs=true`).
//!
//! Why it is built this way:
//! - Every field is optional on the wire (`#[serde(default)]`): the brief form has no
//!   `response` or `logs`, a run that has not ended has no `end`, and other controllers add or
//!   leave out fields. What sluice does not model stays in `extra`, so nothing sent is lost.
//! - A record serializes back exactly as it came: the same keys in the same order (the
//!   workspace builds serde_json with `preserve_order`), so `--json` output is what the
//!   namespace sent, whichever controller sent it. Keys the record did not have are written
//!   only when code gave them a value other than the default; a record built in code writes
//!   its non-default fields in declaration order.
//! - Readers ask questions ([`Activation::is_success`], [`Activation::outcome`],
//!   [`Activation::kind`]) instead of digging through JSON, and the CLI decides how answers look.

use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// One run of a function, as the namespace records it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default)]
pub struct Activation {
    /// 32 hex digits.
    pub activation_id: String,
    /// The namespace, with the package for a packaged function (`ns/pkg`).
    pub namespace: String,
    /// The function's name (without its package).
    pub name: String,
    /// The function's version.
    pub version: String,
    /// Who invoked it (full form only).
    pub subject: Option<String>,
    /// Epoch milliseconds.
    pub start: i64,
    /// Epoch milliseconds; absent while it runs.
    pub end: Option<i64>,
    /// Milliseconds.
    pub duration: Option<i64>,
    /// The brief form's outcome code (0 success … 3 internal error).
    pub status_code: Option<u32>,
    /// The outcome and result (full form only).
    pub response: Option<ActivationResponse>,
    /// Log lines (full form only).
    pub logs: Vec<String>,
    /// `path`, `kind`, `limits`, `initTime`, `waitTime`, `causedBy`, …
    pub annotations: Vec<Annotation>,
    pub publish: bool,
    /// The sequence activation that caused this one.
    pub cause: Option<String>,
    /// Fields this type does not model, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    #[serde(skip)]
    key_order: KeyOrder,
}

/// `response` of a full activation record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default)]
pub struct ActivationResponse {
    /// `success`, `application error`, `action developer error`, `whisk internal error`.
    pub status: String,
    /// The outcome code, when the controller sends it here.
    pub status_code: Option<u32>,
    pub success: bool,
    /// What the function returned (or `{"error": …}`).
    pub result: Value,
    /// Fields this type does not model (`size`, …), kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    #[serde(skip)]
    key_order: KeyOrder,
}

/// One `{"key", "value"}` annotation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    pub key: String,
    #[serde(default)]
    pub value: Value,
}

/// How a run ended, from `statusCode` or the response's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// The function returned an error.
    ApplicationError,
    /// The function failed (threw, timed out, could not start).
    DeveloperError,
    /// The platform failed.
    InternalError,
}

impl Outcome {
    /// The outcome of a `statusCode` (0..=3); `None` for any other code.
    pub fn from_code(code: u32) -> Option<Self> {
        match code {
            0 => Some(Outcome::Success),
            1 => Some(Outcome::ApplicationError),
            2 => Some(Outcome::DeveloperError),
            3 => Some(Outcome::InternalError),
            _ => None,
        }
    }

    /// The outcome of a response `status`; anything unknown is an internal error.
    pub fn from_status(status: &str) -> Self {
        match status {
            "success" => Outcome::Success,
            "application error" => Outcome::ApplicationError,
            "action developer error" => Outcome::DeveloperError,
            _ => Outcome::InternalError,
        }
    }
}

/// The `limits` annotation: what the run was allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RunLimits {
    /// Milliseconds.
    pub timeout: Option<u64>,
    /// Megabytes.
    pub memory: Option<u64>,
    /// Log size, megabytes.
    pub logs: Option<u64>,
    /// Concurrent activations per container.
    pub concurrency: Option<u64>,
}

static NULL: Value = Value::Null;

impl Activation {
    /// The value of annotation `key`.
    pub fn annotation(&self, key: &str) -> Option<&Value> {
        self.annotations
            .iter()
            .find(|a| a.key == key)
            .map(|a| &a.value)
    }

    /// The runtime kind (`nodejs:20`, `sequence`, …).
    pub fn kind(&self) -> Option<&str> {
        self.annotation("kind").and_then(Value::as_str)
    }

    /// The `path` annotation: `ns/pkg/name` or `ns/name`.
    pub fn path(&self) -> Option<&str> {
        self.annotation("path").and_then(Value::as_str)
    }

    /// The function within the namespace (`pkg/name` or `name`): the `path` annotation
    /// without its namespace, else the name.
    pub fn entity_path(&self) -> &str {
        match self.path().and_then(|p| p.split_once('/')) {
            Some((_, rest)) => rest,
            None => &self.name,
        }
    }

    /// The run's limits, from the `limits` annotation.
    pub fn limits(&self) -> Option<RunLimits> {
        RunLimits::deserialize(self.annotation("limits")?).ok()
    }

    /// True when the run started a new container (it has an `initTime`).
    pub fn is_cold(&self) -> bool {
        self.annotation("initTime").is_some()
    }

    /// How the run ended: the brief form's `statusCode`, else the response's `status`;
    /// `None` when the record says neither (or gives an unknown code).
    pub fn outcome(&self) -> Option<Outcome> {
        match self.status_code {
            Some(code) => Outcome::from_code(code),
            None => self
                .response
                .as_ref()
                .map(|r| Outcome::from_status(&r.status)),
        }
    }

    /// True when the run succeeded: the response says so, or (brief form) `statusCode` is 0.
    pub fn is_success(&self) -> bool {
        match &self.response {
            Some(r) => r.success,
            None => self.status_code == Some(0),
        }
    }

    /// The response's `status` (`success`, `application error`, …).
    pub fn status(&self) -> Option<&str> {
        self.response.as_ref().map(|r| r.status.as_str())
    }

    /// What the function returned; `null` for a record without a response.
    pub fn result(&self) -> &Value {
        self.response.as_ref().map_or(&NULL, |r| &r.result)
    }
}

/// The keys of a record in the order they came, so it serializes back the same. It is how a
/// record was written, not what it says: it never makes two records unequal.
#[derive(Debug, Clone, Default)]
struct KeyOrder(Vec<String>);

impl PartialEq for KeyOrder {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Implements `Serialize`/`Deserialize` for a record type derived with `remote = "Self"`:
/// read through a JSON map to remember its key order, write back in that order.
macro_rules! faithful_record {
    ($ty:ident) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let fields = $ty::serialize(self, serde_json::value::Serializer)
                    .map_err(S::Error::custom)?;
                let defaults = $ty::serialize(&$ty::default(), serde_json::value::Serializer)
                    .map_err(S::Error::custom)?;
                in_key_order(fields, &defaults, &self.key_order.0).serialize(serializer)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let map = Map::<String, Value>::deserialize(deserializer)?;
                let order = map.keys().cloned().collect();
                let mut record = $ty::deserialize(Value::Object(map)).map_err(D::Error::custom)?;
                record.key_order = KeyOrder(order);
                Ok(record)
            }
        }
    };
}

faithful_record!(Activation);
faithful_record!(ActivationResponse);

/// `fields` (a derived serialization) with the keys of `order` first, in that order, then the
/// other keys whose value is not their default.
fn in_key_order(fields: Value, defaults: &Value, order: &[String]) -> Map<String, Value> {
    let Value::Object(mut fields) = fields else {
        return Map::new();
    };
    let mut out = Map::with_capacity(fields.len());
    for key in order {
        if let Some(value) = fields.get_mut(key) {
            out.insert(key.clone(), value.take());
        }
    }
    for (key, value) in fields {
        if !out.contains_key(&key) && defaults.get(&key) != Some(&value) {
            out.insert(key, value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn full() -> Value {
        json!({
            "namespace": "local/hello", "name": "greet", "version": "0.0.1", "subject": "local",
            "publish": false, "activationId": "0123456789abcdef0123456789abcdef",
            "start": 1_709_287_200_000_i64, "end": 1_709_287_200_012_i64, "duration": 12,
            "response": {"status": "application error", "success": false,
                         "result": {"error": "no"}, "size": 16},
            "logs": ["2024-03-01T10:00:00.001Z stdout: hi"],
            "annotations": [{"key": "path", "value": "local/hello/greet"},
                            {"key": "kind", "value": "nodejs:20"},
                            {"key": "limits", "value": {"timeout": 60000, "memory": 256}},
                            {"key": "initTime", "value": 40}],
            "futureField": {"x": 1}
        })
    }

    #[test]
    fn full_records_read_typed() {
        let a: Activation = serde_json::from_value(full()).expect("activation");
        assert_eq!(a.activation_id, "0123456789abcdef0123456789abcdef");
        assert_eq!(a.kind(), Some("nodejs:20"));
        assert_eq!(a.entity_path(), "hello/greet");
        assert!(a.is_cold());
        assert!(!a.is_success());
        assert_eq!(a.status(), Some("application error"));
        assert_eq!(a.outcome(), Some(Outcome::ApplicationError));
        assert_eq!(a.result(), &json!({"error": "no"}));
        let limits = a.limits().expect("limits");
        assert_eq!((limits.timeout, limits.memory), (Some(60000), Some(256)));
        assert_eq!(a.extra["futureField"], json!({"x": 1}));
    }

    #[test]
    fn records_serialize_back_as_they_came() {
        // The brief form puts `annotations` before `activationId`; the full form after.
        let brief = json!({"namespace": "local", "name": "top", "version": "0.0.1",
                           "publish": false, "annotations": [], "activationId": "a1",
                           "start": 1, "end": 2, "statusCode": 0, "duration": 1});
        for original in [full(), brief] {
            let a: Activation = serde_json::from_value(original.clone()).expect("activation");
            assert_eq!(
                serde_json::to_string(&a).expect("json"),
                original.to_string()
            );
        }
    }

    #[test]
    fn brief_records_say_how_they_ended() {
        let a: Activation =
            serde_json::from_value(json!({"activationId": "a1", "statusCode": 0})).expect("brief");
        assert!(a.is_success());
        assert_eq!(a.outcome(), Some(Outcome::Success));
        assert_eq!(a.result(), &Value::Null);
        assert_eq!(a.entity_path(), "");
        let odd: Activation = serde_json::from_value(json!({"statusCode": 9})).expect("odd");
        assert_eq!(odd.outcome(), None);
    }

    #[test]
    fn edits_and_new_records_are_written() {
        let mut a: Activation =
            serde_json::from_value(json!({"activationId": "a1"})).expect("brief");
        a.duration = Some(5);
        assert_eq!(
            serde_json::to_value(&a).expect("json"),
            json!({"activationId": "a1", "duration": 5})
        );
        let fresh = Activation {
            name: "f".into(),
            ..Activation::default()
        };
        assert_eq!(
            serde_json::to_value(&fresh).expect("json"),
            json!({"name": "f"})
        );
    }
}
