//! Digests of packages and actions, exactly as the original deployer computes them
//! (spec §11.3), so a `.deployed/versions.json` written by either tool lets the other skip
//! unchanged entities.
//!
//! SHA-256 over UTF-8 strings concatenated without separators; JavaScript's `String(x)`
//! decides how scalars look.

use serde_json::Value;
use sha2::{Digest, Sha256};
use sluice_core::{ActionSpec, Dict, PackageSpec, WebSecure};

/// The short form put in the `deployer` annotation.
pub fn short(digest: &str) -> String {
    digest.chars().take(8).collect()
}

/// JavaScript's `String(number)` for the numbers a project file can hold.
fn js_number(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{}", f as i64),
        Some(f) => f.to_string(),
        None => n.to_string(),
    }
}

fn dict_value(h: &mut Sha256, value: &Value) {
    match value {
        Value::String(s) => h.update(s.as_bytes()),
        Value::Bool(b) => h.update(if *b { "true" } else { "false" }),
        Value::Number(n) => h.update(js_number(n).as_bytes()),
        Value::Null => {}
        Value::Object(map) => dict(h, Some(map)),
        Value::Array(items) => {
            // JS object keys of an array are "0", "1", … sorted as strings.
            let mut keyed: Vec<(String, &Value)> = items
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v))
                .collect();
            keyed.sort_by(|a, b| a.0.cmp(&b.0));
            for (k, v) in keyed {
                h.update(k.as_bytes());
                dict_value(h, v);
            }
        }
    }
}

/// `dict(D)`: keys in sorted order, each followed by its value.
fn dict(h: &mut Sha256, d: Option<&Dict>) {
    let Some(d) = d else { return };
    let mut keys: Vec<&String> = d.keys().collect();
    keys.sort();
    for k in keys {
        h.update(k.as_bytes());
        if let Some(v) = d.get(k) {
            dict_value(h, v);
        }
    }
}

fn to_dict<T: serde::Serialize>(value: Option<&T>) -> Option<Dict> {
    value
        .and_then(|v| serde_json::to_value(v).ok())
        .and_then(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        })
}

/// Digest of an action (code actions and sequences): `code` is the text sent (base64 for
/// binary code), empty for sequences.
pub fn action_digest(action: &ActionSpec, code: &str) -> String {
    let mut h = Sha256::new();
    h.update(action.binary.unwrap_or(false).to_string());
    h.update(action.zipped.unwrap_or(false).to_string());
    h.update(match action.web {
        Some(w) => w.to_string(),
        None => "undefined".to_string(),
    });
    h.update(match &action.web_secure {
        None => "undefined".to_string(),
        Some(WebSecure::Flag(b)) => b.to_string(),
        Some(WebSecure::Secret(s)) => s.clone(),
    });
    dict(&mut h, action.annotations.as_ref());
    dict(&mut h, action.parameters.as_ref());
    dict(&mut h, action.environment.as_ref());
    dict(&mut h, to_dict(action.limits.as_ref()).as_ref());
    for component in action.sequence.iter().flatten() {
        h.update(component.as_bytes());
    }
    h.update(code.as_bytes());
    if let Some(main) = action.main.as_deref().filter(|m| !m.is_empty()) {
        h.update(main.as_bytes());
    }
    if let Some(runtime) = &action.runtime {
        h.update(runtime.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Digest of a package (not covering top-level parameters, as in the original).
pub fn package_digest(package: &PackageSpec) -> String {
    let mut h = Sha256::new();
    h.update(package.shared.unwrap_or(false).to_string());
    h.update(package.web.is_some_and(|w| w.exported()).to_string());
    dict(&mut h, package.annotations.as_ref());
    dict(&mut h, package.parameters.as_ref());
    dict(&mut h, package.environment.as_ref());
    dict(&mut h, to_dict(package.binding.as_ref()).as_ref());
    for action in &package.actions {
        h.update(action.name.as_bytes());
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sluice_core::WebSetting;

    fn sha(parts: &[&str]) -> String {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p.as_bytes());
        }
        hex::encode(h.finalize())
    }

    #[test]
    fn action_digest_concatenates_in_the_original_order() {
        let action = ActionSpec {
            name: "a".into(),
            runtime: Some("nodejs:default".into()),
            web: Some(WebSetting::On),
            parameters: json!({"b": 1, "a": {"x": true, "n": null}})
                .as_object()
                .cloned(),
            main: Some("".into()),
            ..Default::default()
        };
        let expected = sha(&[
            "false",
            "false",
            "true",
            "undefined",
            "a",
            "n",
            "x",
            "true",
            "b",
            "1",
            "code",
            "nodejs:default",
        ]);
        assert_eq!(action_digest(&action, "code"), expected);
    }

    #[test]
    fn arrays_digest_as_string_keyed_objects() {
        let action = ActionSpec {
            name: "a".into(),
            binary: Some(true),
            zipped: Some(true),
            web: Some(WebSetting::Raw),
            web_secure: Some(WebSecure::Secret("s".into())),
            annotations: json!({"l": [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]})
                .as_object()
                .cloned(),
            main: Some("m".into()),
            runtime: Some("python:3.9".into()),
            ..Default::default()
        };
        let mut parts = vec!["true", "true", "raw", "s", "l"];
        let items = [
            ("0", "10"),
            ("1", "11"),
            ("10", "20"),
            ("2", "12"),
            ("3", "13"),
            ("4", "14"),
            ("5", "15"),
            ("6", "16"),
            ("7", "17"),
            ("8", "18"),
            ("9", "19"),
        ];
        for (k, v) in &items {
            parts.push(k);
            parts.push(v);
        }
        parts.extend(["QUJD", "m", "python:3.9"]);
        assert_eq!(action_digest(&action, "QUJD"), sha(&parts));
    }

    #[test]
    fn package_digest_covers_binding_and_function_names() {
        let package = PackageSpec {
            name: "p".into(),
            shared: Some(true),
            binding: Some(sluice_core::BindingSpec {
                namespace: "nimbella".into(),
                name: "builder".into(),
            }),
            actions: vec![
                ActionSpec {
                    name: "x".into(),
                    ..Default::default()
                },
                ActionSpec {
                    name: "y".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let expected = sha(&[
            "true",
            "false",
            "name",
            "builder",
            "namespace",
            "nimbella",
            "x",
            "y",
        ]);
        assert_eq!(package_digest(&package), expected);
    }

    #[test]
    fn whole_floats_print_like_javascript() {
        let n = serde_json::Number::from_f64(3.0).expect("finite");
        assert_eq!(js_number(&n), "3");
        let n = serde_json::Number::from_f64(1.5).expect("finite");
        assert_eq!(js_number(&n), "1.5");
    }
}
