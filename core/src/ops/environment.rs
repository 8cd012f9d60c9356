//! Functions know where they run: a deploy to an environment of `sluice.toml` gives every
//! function the init parameter `SLUICE_ENVIRONMENT=<name>` (so `process.env` and
//! `os.environ` see it) and the annotation [`ENVIRONMENT_ANNOTATION`] naming it. The
//! environment's name wins over a value the project sets itself: the name is what the
//! deploy targets, and a stale copied value would lie.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::model::{ActionSpec, DeployStructure, Dict, PackageSpec};

/// The environment variable every function of an environment gets.
pub const ENVIRONMENT_VARIABLE: &str = "SLUICE_ENVIRONMENT";

/// The annotation naming the environment a function was deployed to: `{"name": <env>}`.
pub const ENVIRONMENT_ANNOTATION: &str = "sluice-environment";

/// The annotation listing the names of the parameters and environment variables of a
/// function that hold secrets (`["API_KEY", …]`), so readers of the deployed function mask
/// them.
pub const SECRETS_ANNOTATION: &str = "sluice-secrets";

/// What a reader puts where the project says `${secret:NAME}`: the value itself is filled
/// in by [`apply_secrets`] after the build, so get-metadata, hooks and builders only ever
/// see this masked reference.
pub fn secret_reference(name: &str) -> String {
    format!("sluice-secret({name})****")
}

/// Fills in the references of [`secret_reference`] in `value`; whether there was one.
fn fill(value: &mut Value, secrets: &BTreeMap<String, String>) -> bool {
    match value {
        Value::String(s) if s.contains("sluice-secret(") => {
            let mut found = false;
            for (name, secret) in secrets {
                let reference = secret_reference(name);
                if s.contains(&reference) {
                    *s = s.replace(&reference, secret);
                    found = true;
                }
            }
            found
        }
        Value::Array(items) => items.iter_mut().fold(false, |f, v| fill(v, secrets) | f),
        Value::Object(map) => map.values_mut().fold(false, |f, v| fill(v, secrets) | f),
        _ => false,
    }
}

/// Fills the `${secret:NAME}` references of parameters and environment with their values,
/// gives every function (not sequences) each secret as an environment variable, and the
/// [`SECRETS_ANNOTATION`] naming all of them. Applied after the build, so hooks and builders
/// never see a value. A secret wins over a project variable of the same name: the secrets
/// file is what the environment says.
pub fn apply_secrets(project: &mut DeployStructure, secrets: &BTreeMap<String, String>) {
    for package in &mut project.packages {
        apply_secrets_to_package(package, secrets);
    }
}

/// [`apply_secrets`] for one package and its functions.
fn apply_secrets_to_package(package: &mut PackageSpec, secrets: &BTreeMap<String, String>) {
    let shared = fill_package(package, secrets);
    for action in &mut package.actions {
        fill_action(action, &shared, secrets);
    }
}

/// [`apply_secrets`] for a remotely built function, which leaves the project (with a copy
/// of its package) before the build: what its slice carries.
pub fn apply_secrets_to_remote(
    package: &mut PackageSpec,
    action: &mut ActionSpec,
    secrets: &BTreeMap<String, String>,
) {
    let shared = fill_package(package, secrets);
    fill_action(action, &shared, secrets);
}

/// Fills `dict`'s references; the names of the entries that held one join `names`.
fn fill_dict(dict: &mut Option<Dict>, names: &mut Vec<String>, secrets: &BTreeMap<String, String>) {
    for (k, v) in dict.iter_mut().flatten() {
        if fill(v, secrets) && !names.contains(k) {
            names.push(k.clone());
        }
    }
}

/// Fills the package's own references: the secret names every function of it carries
/// (the secrets themselves, and the package's parameters that held one).
fn fill_package(package: &mut PackageSpec, secrets: &BTreeMap<String, String>) -> Vec<String> {
    let mut shared: Vec<String> = secrets.keys().cloned().collect();
    if !secrets.is_empty() {
        fill_dict(&mut package.parameters, &mut shared, secrets);
        fill_dict(&mut package.environment, &mut shared, secrets);
    }
    shared
}

/// Fills a function's references, gives it the secrets as environment and names its secret
/// parameters in [`SECRETS_ANNOTATION`] (a sequence runs no code: references only).
fn fill_action(action: &mut ActionSpec, shared: &[String], secrets: &BTreeMap<String, String>) {
    if secrets.is_empty() {
        return;
    }
    let mut names = shared.to_vec();
    fill_dict(&mut action.parameters, &mut names, secrets);
    fill_dict(&mut action.environment, &mut names, secrets);
    if action.is_sequence() {
        return;
    }
    let env = action.environment.get_or_insert_with(Dict::new);
    for (name, value) in secrets {
        env.insert(name.clone(), Value::from(value.as_str()));
    }
    action.annotations.get_or_insert_with(Dict::new).insert(
        SECRETS_ANNOTATION.to_string(),
        Value::Array(names.into_iter().map(Value::from).collect()),
    );
}

/// Stamps `environment` on every function of `project` (sequences get the annotation only:
/// they run no code of their own).
pub fn stamp(project: &mut DeployStructure, environment: &str) {
    for package in &mut project.packages {
        for action in &mut package.actions {
            if !action.is_sequence() {
                action
                    .environment
                    .get_or_insert_with(Dict::new)
                    .insert(ENVIRONMENT_VARIABLE.to_string(), Value::from(environment));
            }
            action.annotations.get_or_insert_with(Dict::new).insert(
                ENVIRONMENT_ANNOTATION.to_string(),
                json!({ "name": environment }),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ActionSpec, PackageSpec};

    #[test]
    fn secrets_become_environment_and_their_parameters_are_named() {
        let mut project = DeployStructure {
            packages: vec![PackageSpec {
                name: "p".into(),
                actions: vec![
                    ActionSpec {
                        name: "f".into(),
                        parameters:
                            json!({"token": "Bearer sluice-secret(TOKEN)****", "plain": "x"})
                                .as_object()
                                .cloned(),
                        ..ActionSpec::default()
                    },
                    ActionSpec {
                        name: "s".into(),
                        sequence: Some(vec!["p/f".into()]),
                        ..ActionSpec::default()
                    },
                ],
                ..PackageSpec::default()
            }],
            ..DeployStructure::default()
        };
        let secrets =
            std::collections::BTreeMap::from([("TOKEN".to_string(), "s3cret".to_string())]);
        apply_secrets(&mut project, &secrets);
        assert_eq!(
            project.packages[0].actions[0]
                .parameters
                .as_ref()
                .and_then(|p| p.get("token")),
            Some(&json!("Bearer s3cret"))
        );
        let f = &project.packages[0].actions[0];
        assert_eq!(
            f.environment.clone().unwrap_or_default().get("TOKEN"),
            Some(&json!("s3cret"))
        );
        assert_eq!(
            f.annotations
                .as_ref()
                .and_then(|a| a.get(SECRETS_ANNOTATION)),
            Some(&json!(["TOKEN", "token"]))
        );
        let s = &project.packages[0].actions[1];
        assert!(s.environment.is_none() && s.annotations.is_none());
    }

    #[test]
    fn every_function_gets_the_variable_and_the_annotation() {
        let mut project = DeployStructure {
            packages: vec![PackageSpec {
                name: "p".into(),
                actions: vec![
                    ActionSpec {
                        name: "f".into(),
                        environment: Some(
                            json!({"SLUICE_ENVIRONMENT": "stale", "A": "1"})
                                .as_object()
                                .cloned()
                                .unwrap_or_default(),
                        ),
                        ..ActionSpec::default()
                    },
                    ActionSpec {
                        name: "s".into(),
                        sequence: Some(vec!["p/f".into()]),
                        ..ActionSpec::default()
                    },
                ],
                ..PackageSpec::default()
            }],
            ..DeployStructure::default()
        };
        stamp(&mut project, "stage");
        let f = &project.packages[0].actions[0];
        let env = f.environment.clone().unwrap_or_default();
        assert_eq!(env.get("SLUICE_ENVIRONMENT"), Some(&json!("stage")));
        assert_eq!(env.get("A"), Some(&json!("1")));
        let s = &project.packages[0].actions[1];
        assert!(s.environment.is_none());
        assert_eq!(
            s.annotations
                .as_ref()
                .and_then(|a| a.get(ENVIRONMENT_ANNOTATION)),
            Some(&json!({"name": "stage"}))
        );
    }
}
