//! Request bodies of package and action PUTs (spec §10.2–10.4), as pure functions so they
//! can be tested without a server.

use serde_json::{Value, json};
use sluice_core::{ActionSpec, DeployStructure, Dict, PackageSpec, WebSecure, WebSetting};

/// `[{key, value}]` entries of a dictionary, then (with `init: true`) of an environment.
pub fn parameters(params: Option<&Dict>, environment: Option<&Dict>) -> Value {
    let mut out = Vec::new();
    for (k, v) in params.into_iter().flatten() {
        out.push(json!({"key": k, "value": v}));
    }
    for (k, v) in environment.into_iter().flatten() {
        out.push(json!({"key": k, "value": v, "init": true}));
    }
    Value::Array(out)
}

fn merged(top: Option<&Dict>, own: Option<&Dict>) -> Option<Dict> {
    if top.is_none() && own.is_none() {
        return None;
    }
    let mut m = top.cloned().unwrap_or_default();
    for (k, v) in own.into_iter().flatten() {
        m.insert(k.clone(), v.clone());
    }
    Some(m)
}

fn kv_array(map: &Dict) -> Value {
    Value::Array(
        map.iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect(),
    )
}

/// Turns a `[{key, value}]` array (as OpenWhisk returns it) into a dictionary.
pub fn kv_to_dict(value: Option<&Value>) -> Dict {
    let mut out = Dict::new();
    for item in value.and_then(Value::as_array).into_iter().flatten() {
        if let (Some(k), Some(v)) = (item.get("key").and_then(Value::as_str), item.get("value")) {
            out.insert(k.to_string(), v.clone());
        }
    }
    out
}

/// The PUT body of a package: parameters merged from top level and package (the package
/// wins), annotations = old ones (less the legacy `deployerAnnot`) < package annotations <
/// `deployer`.
pub fn package_body(
    project: &DeployStructure,
    package: &PackageSpec,
    old_annotations: Dict,
    deployer: Value,
) -> Value {
    let params = merged(project.parameters.as_ref(), package.parameters.as_ref());
    let env = merged(project.environment.as_ref(), package.environment.as_ref());
    let mut annotations = old_annotations;
    annotations.remove("deployerAnnot");
    for (k, v) in package.annotations.iter().flatten() {
        annotations.insert(k.clone(), v.clone());
    }
    annotations.insert("deployer".into(), deployer);
    let mut body = json!({
        "parameters": parameters(params.as_ref(), env.as_ref()),
        "annotations": kv_array(&annotations),
    });
    if let Some(shared) = package.shared {
        body["publish"] = Value::Bool(shared);
    }
    if let Some(binding) = &package.binding {
        body["binding"] = json!({"namespace": binding.namespace, "name": binding.name});
    }
    body
}

/// The annotations of an action, in increasing precedence: its own, `deployer`, `final`,
/// the web pair, `require-whisk-auth`. (Old annotations are merged by the controller on
/// update, so they are not sent.)
pub fn action_annotations(action: &ActionSpec, deployer: Value) -> Value {
    let mut a = Dict::new();
    for (k, v) in action.annotations.iter().flatten() {
        a.insert(k.clone(), v.clone());
    }
    a.insert("deployer".into(), deployer);
    a.insert("final".into(), Value::Bool(true));
    let (export, raw) = match action.web {
        Some(WebSetting::On) => (true, false),
        Some(WebSetting::Raw) => (true, true),
        Some(WebSetting::Off) | None => (false, false),
    };
    a.insert("web-export".into(), Value::Bool(export));
    a.insert("raw-http".into(), Value::Bool(raw));
    let secure = match &action.web_secure {
        Some(WebSecure::Secret(s)) => Value::String(s.clone()),
        _ => Value::Bool(false),
    };
    a.insert("require-whisk-auth".into(), secure);
    kv_array(&a)
}

/// What an action runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Exec<'a> {
    /// Code (text, or base64 when binary) for a runtime kind, or a docker image.
    Code { code: &'a str, runtime: &'a str },
    /// Fully qualified component names.
    Sequence(&'a [String]),
}

/// The PUT body of an action.
pub fn action_body(action: &ActionSpec, exec: Exec<'_>, deployer: Value) -> Value {
    let exec = match exec {
        Exec::Sequence(components) => json!({"kind": "sequence", "components": components}),
        Exec::Code { code, runtime } => {
            let mut e = match &action.docker {
                Some(image) => json!({"kind": "blackbox", "image": image, "code": code}),
                None => json!({"kind": runtime, "code": code}),
            };
            if let Some(binary) = action.binary {
                e["binary"] = Value::Bool(binary);
            }
            if let Some(main) = action.main.as_deref().filter(|m| !m.is_empty()) {
                e["main"] = Value::String(main.to_string());
            }
            e
        }
    };
    let mut body = json!({
        "annotations": action_annotations(action, deployer),
        "parameters": parameters(action.parameters.as_ref(), action.environment.as_ref()),
        "exec": exec,
    });
    if let Some(limits) = &action.limits {
        body["limits"] = serde_json::to_value(limits).unwrap_or_else(|_| json!({}));
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict(v: Value) -> Option<Dict> {
        v.as_object().cloned()
    }

    #[test]
    fn package_parameters_merge_top_level_and_keep_env_last() {
        let project = DeployStructure {
            parameters: dict(json!({"p1": "pone", "p2": "top"})),
            environment: dict(json!({"e1": "eone"})),
            ..Default::default()
        };
        let package = PackageSpec {
            name: "p".into(),
            parameters: dict(json!({"p2": "ptwo"})),
            environment: dict(json!({"e2": "etwo"})),
            ..Default::default()
        };
        let mut old = Dict::new();
        old.insert("deployerAnnot".into(), json!("legacy"));
        old.insert("kept".into(), json!(1));
        let body = package_body(&project, &package, old, json!({"digest": "x"}));
        assert_eq!(
            body,
            json!({
                "parameters": [
                    {"key": "p1", "value": "pone"}, {"key": "p2", "value": "ptwo"},
                    {"key": "e1", "value": "eone", "init": true}, {"key": "e2", "value": "etwo", "init": true}
                ],
                "annotations": [{"key": "kept", "value": 1}, {"key": "deployer", "value": {"digest": "x"}}]
            })
        );
    }

    #[test]
    fn action_annotations_follow_the_precedence() {
        let action = ActionSpec {
            name: "a".into(),
            web: Some(WebSetting::Raw),
            web_secure: Some(WebSecure::Secret("xyzzy".into())),
            annotations: dict(json!({"final": false, "web-export": false, "mine": 1})),
            ..Default::default()
        };
        let a = action_annotations(&action, json!({}));
        assert_eq!(
            a,
            json!([
                {"key": "final", "value": true}, {"key": "web-export", "value": true},
                {"key": "mine", "value": 1}, {"key": "deployer", "value": {}},
                {"key": "raw-http", "value": true}, {"key": "require-whisk-auth", "value": "xyzzy"}
            ])
        );
    }

    #[test]
    fn docker_actions_are_blackbox_and_limits_are_sent_even_empty() {
        let action = ActionSpec {
            name: "a".into(),
            docker: Some("repo/img:1".into()),
            binary: Some(false),
            main: Some(String::new()),
            limits: Some(sluice_core::Limits::default()),
            ..Default::default()
        };
        let body = action_body(
            &action,
            Exec::Code {
                code: "x",
                runtime: "nodejs:18",
            },
            json!({}),
        );
        assert_eq!(
            body["exec"],
            json!({"kind": "blackbox", "image": "repo/img:1", "code": "x", "binary": false})
        );
        assert_eq!(body["limits"], json!({}));
        assert_eq!(body["parameters"], json!([]));
    }
}
