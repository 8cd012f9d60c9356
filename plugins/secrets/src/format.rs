//! The stores: YAML and JSON (the `sops` mapping at the end) and dotenv (`KEY=VALUE` lines,
//! the metadata flattened to `sops_…` keys as sops `stores/dotenv` writes it).

use std::path::Path;

use crate::error::{Result, SecretsError};
use crate::tree::{Entry, Node};

/// A secrets file's format, from its extension (`.env` / `*.env` → dotenv, `.json` → JSON,
/// else YAML).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
    Dotenv,
}

impl Format {
    pub fn of(path: &Path) -> Format {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name == ".env" || name.ends_with(".env") || name.starts_with(".env.") {
            Format::Dotenv
        } else if name.ends_with(".json") {
            Format::Json
        } else {
            Format::Yaml
        }
    }
}

/// Splits a file into its body and its `sops` metadata (as a tree), if any.
pub fn parse(path: &Path, format: Format, text: &str) -> Result<(Vec<Entry>, Option<Node>)> {
    match format {
        // JSON is YAML: one parser keeps the order of keys for both.
        Format::Yaml | Format::Json => parse_yaml(path, text),
        Format::Dotenv => parse_dotenv(path, text),
    }
}

/// Writes a body and metadata back.
pub fn emit(
    path: &Path,
    format: Format,
    body: &[Entry],
    metadata: Option<&Node>,
) -> Result<String> {
    match format {
        Format::Yaml => emit_yaml(path, body, metadata),
        Format::Json => emit_json(path, body, metadata),
        Format::Dotenv => emit_dotenv(path, body, metadata),
    }
}

fn bad(path: &Path, message: impl Into<String>) -> SecretsError {
    SecretsError::Format {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn parse_yaml(path: &Path, text: &str) -> Result<(Vec<Entry>, Option<Node>)> {
    if text.trim().is_empty() {
        return Ok((Vec::new(), None));
    }
    let value: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
        let line = e
            .location()
            .map(|l| format!(" (line {})", l.line()))
            .unwrap_or_default();
        bad(path, format!("not valid YAML{line}: {e}"))
    })?;
    let Node::Map(entries) = from_yaml(path, value)? else {
        return Err(bad(
            path,
            "a secrets file must be a mapping of names to values",
        ));
    };
    let mut body = Vec::new();
    let mut metadata = None;
    for entry in entries {
        match entry {
            Entry::Pair(k, v) if k == "sops" => metadata = Some(v),
            other => body.push(other),
        }
    }
    Ok((body, metadata))
}

fn from_yaml(path: &Path, value: serde_yaml::Value) -> Result<Node> {
    use serde_yaml::Value;
    Ok(match value {
        Value::Null => Node::Null,
        Value::Bool(b) => Node::Bool(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Node::Int(i),
            None => Node::Float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => Node::Str(s),
        Value::Sequence(items) => Node::List(
            items
                .into_iter()
                .map(|v| from_yaml(path, v))
                .collect::<Result<_>>()?,
        ),
        Value::Mapping(map) => {
            let mut entries = Vec::new();
            for (k, v) in map {
                let key = match k {
                    Value::String(s) => s,
                    other => {
                        return Err(bad(
                            path,
                            format!("only string keys are supported, found {other:?}"),
                        ));
                    }
                };
                entries.push(Entry::Pair(key, from_yaml(path, v)?));
            }
            Node::Map(entries)
        }
        Value::Tagged(t) => {
            return Err(bad(
                path,
                format!("YAML tags are not supported ({})", t.tag),
            ));
        }
    })
}

fn to_yaml(node: &Node) -> serde_yaml::Value {
    use serde_yaml::Value;
    match node {
        Node::Null => Value::Null,
        Node::Str(s) => Value::String(s.clone()),
        Node::Int(i) => Value::Number((*i).into()),
        Node::Float(f) => Value::Number((*f).into()),
        Node::Bool(b) => Value::Bool(*b),
        Node::List(items) => Value::Sequence(items.iter().map(to_yaml).collect()),
        Node::Map(entries) => {
            let mut map = serde_yaml::Mapping::new();
            for entry in entries {
                if let Entry::Pair(k, v) = entry {
                    map.insert(Value::String(k.clone()), to_yaml(v));
                }
            }
            Value::Mapping(map)
        }
    }
}

fn emit_yaml(path: &Path, body: &[Entry], metadata: Option<&Node>) -> Result<String> {
    if body.iter().any(|e| matches!(e, Entry::Comment(_))) {
        return Err(bad(
            path,
            "comments cannot be written to a YAML secrets file",
        ));
    }
    let mut all = body.to_vec();
    if let Some(m) = metadata {
        all.push(Entry::Pair("sops".to_string(), m.clone()));
    }
    serde_yaml::to_string(&to_yaml(&Node::Map(all))).map_err(|e| bad(path, e.to_string()))
}

fn to_json(node: &Node) -> serde_json::Value {
    use serde_json::Value;
    match node {
        Node::Null => Value::Null,
        Node::Str(s) => Value::String(s.clone()),
        Node::Int(i) => Value::from(*i),
        Node::Float(f) => Value::from(*f),
        Node::Bool(b) => Value::Bool(*b),
        Node::List(items) => Value::Array(items.iter().map(to_json).collect()),
        Node::Map(entries) => Value::Object(
            entries
                .iter()
                .filter_map(|e| match e {
                    Entry::Pair(k, v) => Some((k.clone(), to_json(v))),
                    Entry::Comment(_) => None,
                })
                .collect(),
        ),
    }
}

fn emit_json(path: &Path, body: &[Entry], metadata: Option<&Node>) -> Result<String> {
    if body.iter().any(|e| matches!(e, Entry::Comment(_))) {
        return Err(bad(
            path,
            "comments cannot be written to a JSON secrets file",
        ));
    }
    let mut all = body.to_vec();
    if let Some(m) = metadata {
        all.push(Entry::Pair("sops".to_string(), m.clone()));
    }
    let mut text = serde_json::to_string_pretty(&to_json(&Node::Map(all)))
        .map_err(|e| bad(path, e.to_string()))?;
    text.push('\n');
    Ok(text)
}

fn parse_dotenv(path: &Path, text: &str) -> Result<(Vec<Entry>, Option<Node>)> {
    let mut body = Vec::new();
    let mut flat = Vec::new();
    for (n, line) in text.split('\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            body.push(Entry::Comment(comment.to_string()));
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(bad(
                path,
                format!(
                    "line {}: not KEY=VALUE (a dotenv secrets file has one secret per line)",
                    n + 1
                ),
            ));
        };
        let value = value.replace("\\n", "\n");
        match key.strip_prefix("sops_") {
            Some(rest) => flat.push((rest.to_string(), value)),
            None => body.push(Entry::Pair(key.to_string(), Node::Str(value))),
        }
    }
    let metadata = if flat.is_empty() {
        None
    } else {
        Some(unflatten(path, flat)?)
    };
    Ok((body, metadata))
}

/// `age__list_0__map_enc` → `{age: [{enc: …}]}` (sops `stores/flatten.go`).
fn unflatten(path: &Path, flat: Vec<(String, String)>) -> Result<Node> {
    let mut root = Node::Map(Vec::new());
    for (key, value) in flat {
        let mut parts = key.split("__");
        let first = parts.next().unwrap_or_default().to_string();
        let mut steps: Vec<Step> = vec![Step::Key(first)];
        for part in parts {
            if let Some(i) = part.strip_prefix("list_") {
                let i = i
                    .parse()
                    .map_err(|_| bad(path, format!("malformed sops metadata key 'sops_{key}'")))?;
                steps.push(Step::Index(i));
            } else if let Some(k) = part.strip_prefix("map_") {
                steps.push(Step::Key(k.to_string()));
            } else {
                return Err(bad(
                    path,
                    format!("malformed sops metadata key 'sops_{key}'"),
                ));
            }
        }
        insert(&mut root, &steps, Node::Str(value))
            .ok_or_else(|| bad(path, format!("malformed sops metadata key 'sops_{key}'")))?;
    }
    Ok(root)
}

enum Step {
    Key(String),
    Index(usize),
}

fn insert(node: &mut Node, steps: &[Step], value: Node) -> Option<()> {
    let Some((step, rest)) = steps.split_first() else {
        *node = value;
        return Some(());
    };
    let child = match (step, &mut *node) {
        (Step::Key(k), Node::Map(entries)) => {
            let pos = entries
                .iter()
                .position(|e| matches!(e, Entry::Pair(name, _) if name == k));
            let pos = match pos {
                Some(p) => p,
                None => {
                    let fresh = match rest.first() {
                        Some(Step::Index(_)) => Node::List(Vec::new()),
                        _ => Node::Map(Vec::new()),
                    };
                    entries.push(Entry::Pair(k.clone(), fresh));
                    entries.len() - 1
                }
            };
            match &mut entries[pos] {
                Entry::Pair(_, v) => v,
                Entry::Comment(_) => return None,
            }
        }
        (Step::Index(i), Node::List(items)) => {
            while items.len() <= *i {
                items.push(match rest.first() {
                    Some(Step::Index(_)) => Node::List(Vec::new()),
                    _ => Node::Map(Vec::new()),
                });
            }
            &mut items[*i]
        }
        _ => return None,
    };
    insert(child, rest, value)
}

fn flatten(prefix: &str, node: &Node, out: &mut Vec<(String, String)>) {
    match node {
        Node::Map(entries) => {
            for entry in entries {
                if let Entry::Pair(k, v) = entry {
                    flatten(&format!("{prefix}__map_{k}"), v, out);
                }
            }
        }
        Node::List(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}__list_{i}"), v, out);
            }
        }
        leaf => out.push((
            prefix.to_string(),
            crate::tree::leaf_text(leaf).unwrap_or_default(),
        )),
    }
}

fn emit_dotenv(path: &Path, body: &[Entry], metadata: Option<&Node>) -> Result<String> {
    let mut out = String::new();
    let push = |out: &mut String, key: &str, value: &str| {
        out.push_str(key);
        out.push('=');
        out.push_str(&value.replace('\n', "\\n"));
        out.push('\n');
    };
    for entry in body {
        match entry {
            Entry::Comment(c) => {
                out.push('#');
                out.push_str(c);
                out.push('\n');
            }
            Entry::Pair(k, v) => {
                let text = crate::tree::leaf_text(v).ok_or_else(|| {
                    bad(
                        path,
                        format!("'{k}' has a nested value, which a dotenv file cannot hold"),
                    )
                })?;
                push(&mut out, k, &text);
            }
        }
    }
    if let Some(Node::Map(entries)) = metadata {
        for entry in entries {
            if let Entry::Pair(k, v) = entry {
                let mut flat = Vec::new();
                flatten("", v, &mut flat);
                for (suffix, value) in flat {
                    push(&mut out, &format!("sops_{k}{suffix}"), &value);
                }
            }
        }
    }
    Ok(out)
}
