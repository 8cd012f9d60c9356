//! Parameter merging for a run (spec §4.1, §12): package parameters, then action parameters,
//! then the invoke body, later wins; `init: true` parameters never reach `main` but become
//! environment variables of the process.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// One parameter of an entity's key/value array.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Its key.
    pub key: String,
    /// Its value.
    pub value: Value,
    /// Delivered as an environment variable (`"init": true`).
    pub init: bool,
}

/// Merges key/value arrays (`[{"key","value","init"?}]`), later arrays and later entries win.
/// Entries that are not objects with a string `key` are skipped.
pub fn merge(layers: &[&Value]) -> Vec<Param> {
    let mut out: Vec<Param> = Vec::new();
    for layer in layers {
        for entry in layer.as_array().into_iter().flatten() {
            let Some(key) = entry.get("key").and_then(Value::as_str) else {
                continue;
            };
            let param = Param {
                key: key.to_string(),
                value: entry.get("value").cloned().unwrap_or(Value::Null),
                init: entry.get("init").and_then(Value::as_bool).unwrap_or(false),
            };
            match out.iter_mut().find(|p| p.key == param.key) {
                Some(existing) => *existing = param,
                None => out.push(param),
            }
        }
    }
    out
}

/// The argument for `main` and the init environment. A JSON object body is merged over the
/// parameters; any other body (an array) is passed through as the argument, unmerged.
pub fn split(params: &[Param], body: &Value) -> (Value, BTreeMap<String, String>) {
    let mut env = BTreeMap::new();
    let mut args = Map::new();
    for p in params {
        if p.init {
            env.insert(p.key.clone(), env_value(&p.value));
        } else {
            args.insert(p.key.clone(), p.value.clone());
        }
    }
    match body {
        Value::Object(fields) => {
            for (k, v) in fields {
                if !env.contains_key(k) {
                    args.insert(k.clone(), v.clone());
                }
            }
            (Value::Object(args), env)
        }
        Value::Null => (Value::Object(args), env),
        other => (other.clone(), env),
    }
}

/// How an init parameter's value appears in the environment: strings as they are, `null` as
/// empty, anything else as JSON text.
pub fn env_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn later_layers_win_and_init_goes_to_env() {
        let pkg = json!([{"key":"p","value":"pkg"},{"key":"e","value":"pkg-env","init":true}]);
        let act = json!([{"key":"p","value":"act"},{"key":"n","value":3,"init":true}]);
        let merged = merge(&[&pkg, &act]);
        let (args, env) = split(&merged, &json!({"q": true, "e": "ignored"}));
        assert_eq!(args, json!({"p": "act", "q": true}));
        assert_eq!(env.get("e").map(String::as_str), Some("pkg-env"));
        assert_eq!(env.get("n").map(String::as_str), Some("3"));
    }

    #[test]
    fn array_body_is_passed_through() {
        let merged = merge(&[&json!([{"key":"p","value":1}])]);
        let (args, _) = split(&merged, &json!([1, 2]));
        assert_eq!(args, json!([1, 2]));
    }

    #[test]
    fn body_overrides_parameters() {
        let merged = merge(&[&json!([{"key":"name","value":"stranger"}])]);
        let (args, env) = split(&merged, &json!({"name": "World"}));
        assert_eq!(args, json!({"name": "World"}));
        assert!(env.is_empty());
        assert_eq!(env_value(&Value::Null), "");
    }
}
