//! Validation of the parsed `project.yml` (spec §3.2–§3.3), with the original's exact
//! messages, on the untyped JSON value so the legacy rules can be reproduced: members are
//! checked in document order, the first error wins, and top-level, package and function
//! members whose value is *falsy* (`false`, `0`, `''`, `null`) are skipped before the key is
//! even looked at (so `clean: false` passes). Nested validators (limits, environment values,
//! triggers) do not skip falsy values.

use serde_json::{Map, Value};
use sluice_core::RuntimeTable;

use crate::entity_names::{NameOf, component_problem, config_name_problem};
use crate::triggers::validate_triggers;

/// A validation failure: the message and where to point (the key, inside the entity named).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub message: String,
    /// The offending key, for finding its line.
    pub key: String,
    /// The `name` of the package or function holding it, when known.
    pub within: Option<String>,
}

impl Invalid {
    fn new(message: impl Into<String>, key: &str, within: Option<&str>) -> Self {
        Invalid {
            message: message.into(),
            key: key.to_string(),
            within: within.map(str::to_string),
        }
    }
}

/// What validation needs besides the config.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub runtimes: &'a RuntimeTable,
    /// `--no-triggers`: any non-empty `triggers` clause is an error.
    pub no_triggers: bool,
}

/// JavaScript truthiness (`false`, `0`, `''` and `null` are falsy; `{}` and `[]` are not).
pub fn is_falsy(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f == 0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(_) | Value::Object(_) => false,
    }
}

/// JavaScript `typeof`.
pub fn js_type(v: &Value) -> &'static str {
    match v {
        Value::Null | Value::Array(_) | Value::Object(_) => "object",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
    }
}

fn is_web(v: &Value) -> bool {
    v.is_boolean() || v.as_str() == Some("raw")
}

/// Validates the whole configuration (a mapping; the caller rejects other documents).
pub fn validate_config(config: &mut Map<String, Value>, rules: Rules<'_>) -> Result<(), Invalid> {
    let is_slice = config.get("slice").is_some_and(|s| !is_falsy(s));
    let nimbella = config.get("targetNamespace").and_then(Value::as_str) == Some("nimbella");
    let keys: Vec<String> = config.keys().cloned().collect();
    for key in keys {
        let Some(value) = config.get_mut(&key) else {
            continue;
        };
        if is_falsy(value) {
            continue;
        }
        match key.as_str() {
            "slice" => {}
            "credentials" | "flags" | "deployerAnnotation" | "buildEnv" if is_slice => {}
            "targetNamespace" => check_target_namespace(value)?,
            "packages" => {
                let Some(packages) = value.as_array_mut() else {
                    return Err(Invalid::new("packages member must be an array", &key, None));
                };
                for package in packages {
                    validate_package(package, rules, is_slice, nimbella)?;
                }
            }
            "parameters" | "environment" => {
                if !value.is_object() {
                    return Err(Invalid::new(
                        format!("{key} member must be a dictionary"),
                        &key,
                        None,
                    ));
                }
            }
            // sluice extensions: Lua hooks and shared-library plugins, as lists of paths.
            "hooks" | "plugins" => {
                let ok = value
                    .as_array()
                    .is_some_and(|items| items.iter().all(Value::is_string));
                if !ok {
                    return Err(Invalid::new(
                        format!("{key} member must be an array of strings (file paths)"),
                        &key,
                        None,
                    ));
                }
            }
            _ => {
                return Err(Invalid::new(
                    format!("Invalid key '{key}' found in project.yml"),
                    &key,
                    None,
                ));
            }
        }
    }
    Ok(())
}

fn check_target_namespace(value: &Value) -> Result<(), Invalid> {
    let ok = match value {
        Value::String(_) => true,
        Value::Object(map) => {
            !map.is_empty()
                && map
                    .iter()
                    .all(|(k, v)| (k == "test" || k == "production") && v.is_string())
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(
            "targetNamespace must be a string or a dictionary containing 'test' and/or 'production' members",
            "targetNamespace",
            None,
        ))
    }
}

fn validate_package(
    package: &mut Value,
    rules: Rules<'_>,
    is_slice: bool,
    nimbella: bool,
) -> Result<(), Invalid> {
    let Some(package) = package.as_object_mut() else {
        return Err(Invalid::new(
            "a package must be a dictionary",
            "packages",
            None,
        ));
    };
    let name = package
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string);
    let within = name.as_deref();
    let is_default = within == Some("default");
    let keys: Vec<String> = package.keys().cloned().collect();
    for key in keys {
        let Some(value) = package.get_mut(&key) else {
            continue;
        };
        if is_falsy(value) {
            continue;
        }
        let fail = |message: String| Err(Invalid::new(message, &key, within));
        match key.as_str() {
            "name" => {
                let Some(text) = value.as_str() else {
                    return fail("'name' member of a 'package' must be a string".into());
                };
                if let Some(problem) = config_name_problem(NameOf::Package, text) {
                    return fail(problem);
                }
            }
            "functions" | "actions" => {
                let Some(functions) = value.as_array_mut() else {
                    return fail("functions member of a 'package' must be an array".into());
                };
                for function in functions {
                    validate_function(function, rules, nimbella)?;
                }
            }
            "shared" => {
                if !value.is_boolean() {
                    return fail("'shared' member of a 'package' must be a boolean".into());
                }
                if is_default {
                    return fail("'shared' must be absent or false for the default package".into());
                }
            }
            "web" => {
                if !is_web(value) {
                    return fail(
                        "web member of an 'package' must be a boolean or the string 'raw'".into(),
                    );
                }
            }
            "environment" => {
                check_environment(value).map_err(|m| Invalid::new(m, &key, within))?;
            }
            "parameters" | "annotations" => {
                let Some(dict) = value.as_object() else {
                    return fail(format!("{key} must be a dictionary"));
                };
                if is_default && !dict.is_empty() {
                    return fail(format!(
                        "'{key}' must be absent or empty for the default package"
                    ));
                }
            }
            "binding" => {
                let complete = value.as_object().is_some_and(|b| {
                    b.get("namespace").is_some_and(Value::is_string)
                        && b.get("name").is_some_and(Value::is_string)
                });
                if !complete {
                    return fail(
                        "binding information is incomplete: namespace and package name are both required"
                            .into(),
                    );
                }
            }
            "deployedDuringBuild" if is_slice => {}
            _ => {
                return fail(format!(
                    "Invalid key '{key}' found in 'package' in project.yml"
                ));
            }
        }
    }
    Ok(())
}

/// `environment`: a dictionary of strings.
fn check_environment(value: &Value) -> Result<(), String> {
    let Some(env) = value.as_object() else {
        return Err("the environment clause must be a dictionary".into());
    };
    for (k, v) in env {
        if !v.is_string() {
            return Err(format!(
                "All environment values must be strings but '{k}' has type '{}'",
                js_type(v)
            ));
        }
    }
    Ok(())
}

/// The annotations sluice sets itself from `web` and `webSecure`.
fn check_forbidden_annotations(dict: &Map<String, Value>) -> Result<(), String> {
    for key in dict.keys() {
        match key.as_str() {
            "require-whisk-auth" => {
                return Err(
                    "the 'require-whisk-auth' annotation may not be set explicitly; use 'webSecure'"
                        .into(),
                );
            }
            "web-export" => {
                return Err(
                    "the 'web-export' annotation may not be set explicitly; use 'web=true|false|\"raw\"'"
                        .into(),
                );
            }
            "raw-http" => {
                return Err(
                    "the 'raw-http' annotation may not be set explicitly; use 'web=raw'".into(),
                );
            }
            _ => {}
        }
    }
    Ok(())
}

fn validate_function(
    function: &mut Value,
    rules: Rules<'_>,
    nimbella: bool,
) -> Result<(), Invalid> {
    let Some(function) = function.as_object_mut() else {
        return Err(Invalid::new(
            "a function must be a dictionary",
            "functions",
            None,
        ));
    };
    let name = function
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string);
    let within = name.as_deref();
    let keys: Vec<String> = function.keys().cloned().collect();
    for key in keys {
        let Some(value) = function.get_mut(&key) else {
            continue;
        };
        if is_falsy(value) {
            continue;
        }
        let fail = |message: String| Err(Invalid::new(message, &key, within));
        match key.as_str() {
            "name" | "file" | "runtime" | "main" | "docker" => {
                let Some(text) = value.as_str() else {
                    return fail(format!("'{key}' member of a function must be a string"));
                };
                if key == "runtime" && !rules.runtimes.is_valid(text) {
                    return fail(format!("'{text}' is not a valid runtime value"));
                }
                if key == "name"
                    && let Some(problem) = config_name_problem(NameOf::Function, text)
                {
                    return fail(problem);
                }
            }
            "binary" | "remoteBuild" | "localBuild" => {
                if !value.is_boolean() {
                    return fail(format!("'{key}' member of a function must be a boolean"));
                }
            }
            "sequence" => {
                let ok = value
                    .as_array()
                    .and_then(|items| items.first())
                    .is_some_and(Value::is_string);
                if !ok {
                    return fail(
                        "'sequence' member of a function must be an array of one or more strings naming other functions"
                            .into(),
                    );
                }
                for component in value.as_array().into_iter().flatten() {
                    let Some(component) = component.as_str() else {
                        return fail(format!(
                            "the sequence component {component} is not a string naming a function"
                        ));
                    };
                    if let Some(problem) = component_problem(component) {
                        return fail(problem);
                    }
                }
            }
            "web" => {
                if !is_web(value) {
                    return fail(
                        "web member of a function must be a boolean or the string 'raw'".into(),
                    );
                }
            }
            "webSecure" => {
                let ok = value.is_string() || (nimbella && value.as_bool() == Some(true));
                if !ok {
                    return fail(
                        "'webSecure' member of a function must be a boolean false or a string"
                            .into(),
                    );
                }
            }
            "environment" => {
                check_environment(value).map_err(|m| Invalid::new(m, &key, within))?;
                // Legacy fall-through into the annotation screen (spec §16 item 10).
                if let Some(env) = value.as_object() {
                    check_forbidden_annotations(env).map_err(|m| Invalid::new(m, &key, within))?;
                }
            }
            "annotations" => {
                let Some(dict) = value.as_object() else {
                    return fail("annotations must be a dictionary".into());
                };
                check_forbidden_annotations(dict).map_err(|m| Invalid::new(m, &key, within))?;
            }
            "parameters" => {
                if !value.is_object() {
                    return fail("parameters must be a dictionary".into());
                }
            }
            "limits" => check_limits(value).map_err(|(m, k)| Invalid::new(m, &k, within))?,
            "triggers" => {
                let empty = value.as_array().is_some_and(Vec::is_empty);
                if rules.no_triggers && !empty {
                    return fail(
                        "the project requests triggers but triggers are not available".into(),
                    );
                }
                validate_triggers(value).map_err(|m| Invalid::new(m, &key, within))?;
            }
            _ => {
                return fail(format!(
                    "Invalid key '{key}' found in 'functions' clause in project.yml"
                ));
            }
        }
    }
    Ok(())
}

/// `limits`: only `timeout`, `memory` and `logs`, each a number. Errors name the key too.
fn check_limits(value: &Value) -> Result<(), (String, String)> {
    let Some(limits) = value.as_object() else {
        return Err(("limits must be a dictionary".into(), "limits".into()));
    };
    for (k, v) in limits {
        match k.as_str() {
            "timeout" | "memory" | "logs" => {
                if !v.is_number() {
                    return Err((
                        format!("'{k}' member of a 'limits' clause must be a number"),
                        k.clone(),
                    ));
                }
                check_limit_range(k, v).map_err(|m| (m, k.clone()))?;
            }
            _ => {
                return Err((
                    format!("Invalid key '{k}' found in 'limits' clause in project.yml"),
                    k.clone(),
                ));
            }
        }
    }
    Ok(())
}

/// The widest range any target accepts for a limit (OpenWhisk's defaults, widened to
/// DigitalOcean's 15 minutes and 1 GB): `(unit, min, max)`. A namespace may allow less; then
/// the controller says so at deploy.
fn limit_range(key: &str) -> (&'static str, u64, u64) {
    match key {
        "timeout" => ("milliseconds", 100, 900_000),
        "memory" => ("megabytes", 128, 1024),
        _ => ("kilobytes", 0, 10_240),
    }
}

/// A limit is a whole number within [`limit_range`].
fn check_limit_range(key: &str, value: &Value) -> Result<(), String> {
    let (unit, min, max) = limit_range(key);
    let ok = value.as_u64().is_some_and(|n| (min..=max).contains(&n));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "'{key}' member of a 'limits' clause must be a whole number of {unit} from {min} to {max}, not {value}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(config: Value) -> Result<(), String> {
        check_with(config, false)
    }

    fn check_with(config: Value, no_triggers: bool) -> Result<(), String> {
        let table = RuntimeTable::builtin();
        let mut config = config
            .as_object()
            .cloned()
            .expect("test configs are objects");
        validate_config(
            &mut config,
            Rules {
                runtimes: &table,
                no_triggers,
            },
        )
        .map_err(|e| e.message)
    }

    fn function(f: Value) -> Value {
        json!({"packages": [{"name": "p", "functions": [f]}]})
    }

    #[test]
    fn falsy_members_are_skipped_before_the_key_is_checked() {
        let config = json!({
            "cleanNamespace": false,
            "parameters": {},
            "packages": [{
                "name": "p", "shared": false, "clean": false, "environment": {},
                "functions": [{
                    "name": "hello", "clean": false, "binary": false, "main": "",
                    "web": true, "webSecure": false, "annotations": {}, "limits": {},
                    "runtime": 0, "zipped": null
                }]
            }]
        });
        assert_eq!(check(config), Ok(()));
    }

    #[test]
    fn top_level_errors() {
        assert_eq!(
            check(json!({"parameters": "xxx"})),
            Err("parameters member must be a dictionary".into())
        );
        assert_eq!(
            check(json!({"environment": [1]})),
            Err("environment member must be a dictionary".into())
        );
        assert_eq!(
            check(json!({"packages": {"a": 1}})),
            Err("packages member must be an array".into())
        );
        assert_eq!(
            check(json!({"bogus": true})),
            Err("Invalid key 'bogus' found in project.yml".into())
        );
        assert_eq!(
            check(json!({"credentials": {"x": 1}})),
            Err("Invalid key 'credentials' found in project.yml".into())
        );
        assert_eq!(
            check(json!({"slice": true, "credentials": {"x": 1}})),
            Ok(())
        );
        assert_eq!(
            check(json!({"targetNamespace": 3})),
            Err("targetNamespace must be a string or a dictionary containing 'test' and/or 'production' members".into())
        );
        assert_eq!(
            check(json!({"targetNamespace": {"test": "t", "production": "p"}})),
            Ok(())
        );
        assert_eq!(
            check(json!({"hooks": ["h.lua"], "plugins": ["p.so"]})),
            Ok(())
        );
        assert!(check(json!({"hooks": "h.lua"})).is_err());
    }

    #[test]
    fn first_error_in_document_order_wins() {
        assert_eq!(
            check(json!({"zzz": 1, "parameters": "x"})),
            Err("Invalid key 'zzz' found in project.yml".into())
        );
        assert_eq!(
            check(json!({"parameters": "x", "zzz": 1})),
            Err("parameters member must be a dictionary".into())
        );
    }

    #[test]
    fn package_errors() {
        let pkg = |p: Value| check(json!({"packages": [p]}));
        assert_eq!(
            pkg(json!({"name": 3})),
            Err("'name' member of a 'package' must be a string".into())
        );
        assert_eq!(
            pkg(json!({"functions": "x"})),
            Err("functions member of a 'package' must be an array".into())
        );
        assert_eq!(
            pkg(json!({"shared": "yes"})),
            Err("'shared' member of a 'package' must be a boolean".into())
        );
        assert_eq!(
            pkg(json!({"name": "default", "shared": true})),
            Err("'shared' must be absent or false for the default package".into())
        );
        assert_eq!(
            pkg(json!({"web": "yes"})),
            Err("web member of an 'package' must be a boolean or the string 'raw'".into())
        );
        assert_eq!(
            pkg(json!({"environment": "xxx"})),
            Err("the environment clause must be a dictionary".into())
        );
        assert_eq!(
            pkg(json!({"environment": {"A": null}})),
            Err("All environment values must be strings but 'A' has type 'object'".into())
        );
        assert_eq!(
            pkg(json!({"annotations": 1})),
            Err("annotations must be a dictionary".into())
        );
        assert_eq!(
            pkg(json!({"name": "default", "parameters": {"a": 1}})),
            Err("'parameters' must be absent or empty for the default package".into())
        );
        assert_eq!(
            pkg(json!({"binding": {"namespace": "n"}})),
            Err(
                "binding information is incomplete: namespace and package name are both required"
                    .into()
            )
        );
        assert_eq!(
            pkg(json!({"deployedDuringBuild": true})),
            Err("Invalid key 'deployedDuringBuild' found in 'package' in project.yml".into())
        );
    }

    #[test]
    fn function_errors() {
        let f = |v: Value| check(function(v));
        assert_eq!(
            f(json!({"main": 3})),
            Err("'main' member of a function must be a string".into())
        );
        assert_eq!(
            f(json!({"runtime": "xyz"})),
            Err("'xyz' is not a valid runtime value".into())
        );
        assert_eq!(f(json!({"runtime": "nodejs:default"})), Ok(()));
        assert_eq!(
            f(json!({"binary": "yes"})),
            Err("'binary' member of a function must be a boolean".into())
        );
        assert_eq!(
            f(json!({"sequence": []})),
            Err("'sequence' member of a function must be an array of one or more strings naming other functions".into())
        );
        assert_eq!(
            f(json!({"web": 1})),
            Err("web member of a function must be a boolean or the string 'raw'".into())
        );
        assert_eq!(
            f(json!({"webSecure": true})),
            Err("'webSecure' member of a function must be a boolean false or a string".into())
        );
        assert_eq!(
            f(json!({"annotations": "xxx"})),
            Err("annotations must be a dictionary".into())
        );
        assert_eq!(
            f(json!({"annotations": {"web-export": true}})),
            Err("the 'web-export' annotation may not be set explicitly; use 'web=true|false|\"raw\"'".into())
        );
        assert_eq!(
            f(json!({"annotations": {"raw-http": true}})),
            Err("the 'raw-http' annotation may not be set explicitly; use 'web=raw'".into())
        );
        assert_eq!(
            f(json!({"environment": {"require-whisk-auth": "x"}})),
            Err(
                "the 'require-whisk-auth' annotation may not be set explicitly; use 'webSecure'"
                    .into()
            )
        );
        assert_eq!(
            f(json!({"parameters": "xxx"})),
            Err("parameters must be a dictionary".into())
        );
        assert_eq!(
            f(json!({"limits": {"timeout": "1"}})),
            Err("'timeout' member of a 'limits' clause must be a number".into())
        );
        assert_eq!(
            f(json!({"limits": {"cpu": 1}})),
            Err("Invalid key 'cpu' found in 'limits' clause in project.yml".into())
        );
        assert_eq!(
            f(json!({"zipped": true})),
            Err("Invalid key 'zipped' found in 'functions' clause in project.yml".into())
        );
    }

    #[test]
    fn web_secure_true_is_allowed_for_nimbella() {
        let config = json!({"targetNamespace": "nimbella", "packages": [{"functions": [{"webSecure": true}]}]});
        assert_eq!(check(config), Ok(()));
    }

    #[test]
    fn no_triggers_rejects_a_triggers_clause() {
        let config = function(
            json!({"name": "f", "triggers": [{"name": "t", "type": "SCHEDULED", "scheduledDetails": {"cron": "* * * * *"}}]}),
        );
        assert_eq!(check(config.clone()), Ok(()));
        assert_eq!(
            check_with(config, true),
            Err("the project requests triggers but triggers are not available".into())
        );
        // Only a non-empty clause counts as requesting triggers.
        assert_eq!(check_with(function(json!({"triggers": []})), true), Ok(()));
    }

    #[test]
    fn errors_name_the_key_and_entity() {
        let table = RuntimeTable::builtin();
        let mut config = function(json!({"name": "hello", "runtime": "xyz"}))
            .as_object()
            .cloned()
            .expect("object");
        let e = validate_config(
            &mut config,
            Rules {
                runtimes: &table,
                no_triggers: false,
            },
        )
        .expect_err("invalid");
        assert_eq!(e.key, "runtime");
        assert_eq!(e.within.as_deref(), Some("hello"));
    }
}
