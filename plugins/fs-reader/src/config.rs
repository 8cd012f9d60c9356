//! The `project.yml` pipeline (spec §3): read, substitute, reject tabs, parse, rename
//! `actions` → `functions`, validate, convert to the model, filter with the entity_filter.

use std::collections::BTreeMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use sluice_core::{
    ActionSpec, BindingSpec, DeployStructure, EntityFilter, PackageSpec, ReadContext, RuntimeTable,
    TargetNamespace,
};

use sluice_core::confine::Confinement;

use crate::error::{ReadError, Result};
use crate::properties::Properties;
use crate::source_cache::CacheUse;
use crate::substitute::{DEPRECATED_DICTIONARY, EnvSymbols, substitute};
use crate::validate::{Rules, validate_config};
use crate::yaml;

/// What loading the config gives.
#[derive(Debug, Default)]
pub struct LoadedConfig {
    /// The config part of the project (not merged with the file system).
    pub structure: DeployStructure,
    /// Names substitution could not resolve, in order of appearance.
    pub unresolved: Vec<String>,
    pub warnings: Vec<String>,
    /// The file's text as written, for locating errors found after the load.
    pub raw: Option<String>,
}

/// Inputs of [`load_config`].
#[derive(Debug, Clone, Copy)]
pub struct ConfigInputs<'a> {
    pub project_dir: &'a Path,
    /// `project.yml` or `projectConfig.yml`.
    pub file_name: &'a str,
    pub env: &'a BTreeMap<String, String>,
    /// Decrypted secrets for `${secret:NAME}`.
    pub secrets: &'a BTreeMap<String, String>,
    pub props: &'a Properties,
    pub runtimes: &'a RuntimeTable,
    pub no_triggers: bool,
    pub entity_filter: &'a EntityFilter,
    /// Whether the files read are remembered for a later read (the manifest) or taken.
    pub cache: CacheUse,
    /// Where `${<file}` may read.
    pub confinement: &'a Confinement,
}

impl<'a> ConfigInputs<'a> {
    /// The inputs a read with `ctx` gives for `file_name` in `project_dir`.
    pub fn from_context(
        project_dir: &'a Path,
        file_name: &'a str,
        ctx: &'a ReadContext,
        props: &'a Properties,
        cache: CacheUse,
        confinement: &'a Confinement,
    ) -> Self {
        ConfigInputs {
            project_dir,
            file_name,
            env: &ctx.env,
            secrets: &ctx.secrets,
            props,
            runtimes: &ctx.runtimes,
            no_triggers: ctx.flags.no_triggers,
            entity_filter: &ctx.entity_filter,
            cache,
            confinement,
        }
    }
}

fn config_error(
    inputs: &ConfigInputs<'_>,
    line: Option<usize>,
    message: impl Into<String>,
) -> ReadError {
    ReadError::Config {
        file: inputs.file_name.to_string(),
        line,
        column: None,
        message: message.into(),
    }
}

/// The config file after substitution and YAML parsing (steps 1–5), before validation.
#[derive(Debug)]
pub struct ParsedConfig {
    /// The raw text (validation errors are located in it).
    pub raw: String,
    pub config: Map<String, Value>,
    pub unresolved: Vec<String>,
    pub warnings: Vec<String>,
}

/// Reads, substitutes, rejects tabs and parses the config file (spec §3 steps 1–5), with the
/// same errors the full read reports.
pub fn parse_config(inputs: &ConfigInputs<'_>) -> Result<ParsedConfig> {
    let path = inputs.project_dir.join(inputs.file_name);
    let raw = crate::source_cache::read_to_string(&path, inputs.cache)
        .map_err(|e| ReadError::io(&path, e))?;
    let symbols = EnvSymbols {
        env: inputs.env,
        secrets: inputs.secrets,
        props: inputs.props,
        project_dir: inputs.project_dir,
        cache: inputs.cache,
        confinement: Some(inputs.confinement),
    };
    let substituted = substitute(&raw, &symbols)
        .map_err(|e| config_error(inputs, Some(e.line()), e.to_string()))?;
    let mut warnings = Vec::new();
    if substituted.deprecated_dictionary {
        warnings.push(DEPRECATED_DICTIONARY.to_string());
    }
    let text = substituted.text;
    if let Some(offset) = text.find('\t') {
        let line = text[..offset].matches('\n').count() + 1;
        return Err(config_error(
            inputs,
            Some(line),
            "YAML configuration may not contain tabs",
        ));
    }
    let parsed = yaml::parse(&text).map_err(|e| ReadError::Config {
        file: inputs.file_name.to_string(),
        line: e.line,
        column: e.column,
        message: e.message,
    })?;
    let config = match parsed {
        Value::Object(config) => config,
        Value::Null => {
            return Err(config_error(
                inputs,
                None,
                "configuration is empty or unparseable",
            ));
        }
        other => {
            let what = match other {
                Value::Array(_) => "a list",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                _ => "a boolean",
            };
            return Err(config_error(
                inputs,
                Some(1),
                format!(
                    "the configuration must be a mapping of keys such as 'packages:' and 'parameters:', but it is {what}"
                ),
            ));
        }
    };
    Ok(ParsedConfig {
        raw,
        config,
        unresolved: substituted.unresolved,
        warnings,
    })
}

/// `plugins:` and `hooks:` of a parsed config (sluice extensions), as written.
pub fn manifest_lists(config: &Map<String, Value>) -> (Vec<String>, Vec<String>) {
    (
        strings(config, "plugins").unwrap_or_default(),
        strings(config, "hooks").unwrap_or_default(),
    )
}

/// Loads, substitutes, parses and validates the config file.
pub fn load_config(inputs: ConfigInputs<'_>) -> Result<LoadedConfig> {
    let ParsedConfig {
        raw,
        mut config,
        unresolved,
        warnings,
    } = parse_config(&inputs)?;
    rename_actions(&mut config);
    validate_config(
        &mut config,
        Rules {
            runtimes: inputs.runtimes,
            no_triggers: inputs.no_triggers,
        },
    )
    .map_err(|invalid| {
        let line = yaml::key_line(&raw, &invalid.key, invalid.within.as_deref())
            .or_else(|| yaml::key_line(&raw, &invalid.key, None));
        config_error(&inputs, line, invalid.message)
    })?;
    let mut structure = to_structure(&config);
    filter(&mut structure, inputs.entity_filter);
    Ok(LoadedConfig {
        structure,
        unresolved,
        warnings,
        raw: Some(raw),
    })
}

/// In each package, `functions` replaces `actions` (silently winning when both are there).
fn rename_actions(config: &mut Map<String, Value>) {
    let Some(Value::Array(packages)) = config.get_mut("packages") else {
        return;
    };
    for package in packages.iter_mut().filter_map(Value::as_object_mut) {
        if let Some(actions) = package.remove("actions")
            && !package.contains_key("functions")
        {
            package.insert("functions".to_string(), actions);
        }
    }
}

/// Step 10: the entity_filter applies to the config's packages and functions too.
fn filter(structure: &mut DeployStructure, entity_filter: &EntityFilter) {
    structure
        .packages
        .retain(|p| entity_filter.is_package_included(&p.name));
    for package in &mut structure.packages {
        let name = package.name.clone();
        package
            .actions
            .retain(|a| entity_filter.is_action_included(&name, &a.name));
    }
}

/// A member as a model type; absent, `null`, or (falsy and) of the wrong type gives `None`.
fn get<T: DeserializeOwned>(map: &Map<String, Value>, key: &str) -> Option<T> {
    map.get(key)
        .filter(|v| !v.is_null())
        .and_then(|v| serde_json::from_value(v.clone()).ok())
}

/// A string member; `''` counts as absent (spec §16 item 7).
fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn dict(map: &Map<String, Value>, key: &str) -> Option<Map<String, Value>> {
    map.get(key).and_then(Value::as_object).cloned()
}

fn strings(map: &Map<String, Value>, key: &str) -> Option<Vec<String>> {
    let items = map.get(key)?.as_array()?;
    Some(
        items
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect(),
    )
}

/// Converts the validated config to the model.
fn to_structure(config: &Map<String, Value>) -> DeployStructure {
    let packages = config
        .get("packages")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(Value::as_object)
                .map(to_package)
                .collect()
        })
        .unwrap_or_default();
    let target_namespace = match config.get("targetNamespace") {
        Some(Value::String(s)) if !s.is_empty() => Some(TargetNamespace::Name(s.clone())),
        Some(v @ Value::Object(_)) => serde_json::from_value(v.clone()).ok(),
        _ => None,
    };
    DeployStructure {
        packages,
        parameters: dict(config, "parameters"),
        environment: dict(config, "environment"),
        target_namespace,
        slice: get(config, "slice"),
        credentials: get(config, "credentials"),
        flags: get(config, "flags"),
        deployer_annotation: get(config, "deployerAnnotation"),
        build_env: get(config, "buildEnv"),
        hooks: strings(config, "hooks"),
        plugins: strings(config, "plugins"),
        ..DeployStructure::default()
    }
}

fn to_package(p: &Map<String, Value>) -> PackageSpec {
    let name = text(p, "name").unwrap_or_default();
    let actions = p
        .get("functions")
        .and_then(Value::as_array)
        .map(|fs| {
            fs.iter()
                .filter_map(Value::as_object)
                // No `package` here: the merge adds it; the config part alone (unresolved
                // variables) shows functions as written, as the original does.
                .map(to_action)
                .collect()
        })
        .unwrap_or_default();
    PackageSpec {
        shared: get(p, "shared"),
        web: get(p, "web"),
        environment: dict(p, "environment"),
        parameters: dict(p, "parameters"),
        annotations: dict(p, "annotations"),
        binding: get::<BindingSpec>(p, "binding"),
        deployed_during_build: get(p, "deployedDuringBuild"),
        functions_absent: !p.get("functions").is_some_and(Value::is_array),
        actions,
        name,
    }
}

fn to_action(f: &Map<String, Value>) -> ActionSpec {
    ActionSpec {
        name: text(f, "name").unwrap_or_default(),
        file: text(f, "file"),
        runtime: text(f, "runtime"),
        main: text(f, "main"),
        docker: text(f, "docker"),
        binary: get(f, "binary"),
        remote_build: get(f, "remoteBuild"),
        local_build: get(f, "localBuild"),
        sequence: strings(f, "sequence"),
        web: get(f, "web"),
        web_secure: get(f, "webSecure"),
        environment: dict(f, "environment"),
        annotations: dict(f, "annotations"),
        parameters: dict(f, "parameters"),
        limits: get(f, "limits"),
        triggers: get(f, "triggers"),
        ..ActionSpec::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_core::{WebSecure, WebSetting};

    fn load(yaml: &str, env: &[(&str, &str)]) -> Result<LoadedConfig> {
        let t = tempfile::tempdir().map_err(|e| ReadError::io("tmp", e))?;
        std::fs::write(t.path().join("project.yml"), yaml).map_err(|e| ReadError::io("w", e))?;
        let env: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let table = RuntimeTable::builtin();
        let entity_filter = EntityFilter::default();
        let confinement = Confinement::for_project(t.path(), &sluice_core::Flags::default())
            .map_err(|e| ReadError::project(e.to_string()))?;
        load_config(ConfigInputs {
            confinement: &confinement,
            project_dir: t.path(),
            file_name: "project.yml",
            env: &env,
            secrets: &BTreeMap::new(),
            props: &Properties::new(),
            runtimes: &table,
            no_triggers: false,
            entity_filter: &entity_filter,
            cache: CacheUse::Take,
        })
    }

    fn message(r: Result<LoadedConfig>) -> (String, Option<usize>) {
        match r {
            Err(ReadError::Config { message, line, .. }) => (message, line),
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn converts_to_the_model_with_empty_strings_absent() {
        let loaded = load(
            "targetNamespace: ''\npackages:\n  - name: p\n    actions:\n      - name: f\n        runtime: ''\n        main: ''\n        web: raw\n        webSecure: false\n        binary: false\n",
            &[],
        )
        .expect("valid");
        let s = loaded.structure;
        assert_eq!(s.target_namespace, None);
        let f = &s.packages[0].actions[0];
        assert_eq!(f.runtime, None);
        assert_eq!(f.main, None);
        assert_eq!(f.web, Some(WebSetting::Raw));
        assert_eq!(f.web_secure, Some(WebSecure::Flag(false)));
        assert_eq!(f.binary, Some(false));
        assert_eq!(f.package, None);
    }

    #[test]
    fn functions_win_over_actions() {
        let loaded = load(
            "packages:\n  - name: p\n    actions: [{name: a}]\n    functions: [{name: f}]\n",
            &[],
        )
        .expect("valid");
        assert_eq!(loaded.structure.packages[0].actions[0].name, "f");
    }

    #[test]
    fn tabs_are_rejected_with_their_line_unless_substituted_away() {
        assert_eq!(
            message(load("a: 1\n#\tcomment\n", &[])),
            ("YAML configuration may not contain tabs".into(), Some(2))
        );
        let ok = load("parameters: $(\n\t\tA\n\t)\n", &[("A", "x")]).expect("tabs vanish");
        assert_eq!(
            ok.structure.parameters,
            serde_json::json!({"A": "x"}).as_object().cloned()
        );
    }

    #[test]
    fn empty_and_syntax_errors() {
        assert_eq!(
            message(load("# nothing\n", &[])),
            ("configuration is empty or unparseable".into(), None)
        );
        let (msg, line) = message(load("packages:\n  - name: [\n", &[]));
        assert!(!msg.is_empty());
        assert!(line.is_some());
    }

    #[test]
    fn validation_errors_point_at_the_key() {
        let (msg, line) = message(load(
            "packages:\n  - name: default\n    functions:\n      - name: hello\n        runtime: xyz\n",
            &[],
        ));
        assert_eq!(msg, "'xyz' is not a valid runtime value");
        assert_eq!(line, Some(5));
    }

    #[test]
    fn unresolved_names_are_reported_not_failed() {
        let loaded = load("parameters:\n  a: ${NOPE}\n", &[]).expect("loads");
        assert_eq!(loaded.unresolved, ["NOPE"]);
        assert_eq!(
            loaded.structure.parameters,
            serde_json::json!({"a": "<NOPE>"}).as_object().cloned()
        );
    }

    #[test]
    fn runaway_is_a_config_error_with_line() {
        assert_eq!(
            message(load("a: 1\nb: ${X\n", &[])),
            (
                "Runaway variable name or path directive in project.yml".into(),
                Some(2)
            )
        );
    }

    #[test]
    fn sluice_extension_keys() {
        let loaded = load("hooks: [hooks/a.lua]\nplugins: [p.so]\n", &[]).expect("valid");
        assert_eq!(
            loaded.structure.hooks,
            Some(vec!["hooks/a.lua".to_string()])
        );
        assert_eq!(loaded.structure.plugins, Some(vec!["p.so".to_string()]));
    }
}
