//! Recipients from `.sops.yaml` creation rules, as sops reads them: the first rule whose
//! `path_regex` matches the file (relative to the `.sops.yaml`'s directory) — or that has no
//! `path_regex` — gives its `age` recipients (a comma-separated string or a list).

use std::path::{Path, PathBuf};

use crate::error::{Result, SecretsError};

/// The `.sops.yaml` nearest to `start` (it and its parents).
pub fn find_config(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|d| d.join(".sops.yaml"))
        .find(|p| p.is_file())
}

/// The age recipients `.sops.yaml` gives `file`, if a config and a matching rule exist.
pub fn recipients_for(file: &Path) -> Result<Option<(PathBuf, Vec<String>)>> {
    let Some(start) = file.parent() else {
        return Ok(None);
    };
    let Some(config) = find_config(start) else {
        return Ok(None);
    };
    let bad = |message: String| SecretsError::Format {
        path: config.clone(),
        message,
    };
    let text = std::fs::read_to_string(&config).map_err(|source| SecretsError::Io {
        path: config.clone(),
        source,
    })?;
    let value: serde_yaml::Value =
        serde_yaml::from_str(&text).map_err(|e| bad(format!("not valid YAML: {e}")))?;
    let Some(rules) = value.get("creation_rules").and_then(|r| r.as_sequence()) else {
        return Ok(None);
    };
    let dir = config.parent().unwrap_or(Path::new("."));
    let relative = file
        .strip_prefix(dir)
        .unwrap_or(file)
        .to_string_lossy()
        .into_owned();
    for (i, rule) in rules.iter().enumerate() {
        if let Some(pattern) = rule.get("path_regex").and_then(|p| p.as_str()) {
            let re = regex::Regex::new(pattern)
                .map_err(|e| bad(format!("creation rule {}: bad path_regex: {e}", i + 1)))?;
            if !re.is_match(&relative) {
                continue;
            }
        }
        let age: Vec<String> = match rule.get("age") {
            Some(serde_yaml::Value::String(s)) => s
                .split(',')
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty())
                .collect(),
            Some(serde_yaml::Value::Sequence(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(|s| s.trim().to_string()))
                .collect(),
            _ => {
                return Err(bad(format!(
                    "creation rule {} matches {relative} but names no age recipients (sluice encrypts for age only)",
                    i + 1
                )));
            }
        };
        for r in &age {
            crate::keys::parse_recipient(r)?;
        }
        return Ok(Some((config.clone(), age)));
    }
    Ok(None)
}
