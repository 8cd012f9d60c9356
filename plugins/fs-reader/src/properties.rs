//! Property files (`.env`, `--env`, `--build-env`, `${<file}`): a JSON object, or else
//! dotenv syntax with the rules of the `dotenv` npm package v16 (which the original deployer
//! uses): `KEY=VALUE` or `KEY: VALUE`, optional `export `, `#` comments, single, double or
//! backtick quotes, multi-line quoted values, and `\n` / `\r` expanded inside double quotes.
//! No variable expansion (unlike the `dotenvy` crate, which is why this is written here).

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use crate::source_cache::CacheUse;

/// dotenv v16's line pattern, as written in its sources.
static LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?m)(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)"#,
    )
    .expect("the dotenv line pattern is valid")
});

/// Properties in file order (a JSON file keeps its value types).
pub type Properties = serde_json::Map<String, serde_json::Value>;

/// A property's value as text: strings as they are, other JSON values as JSON text (`3`,
/// `true`), which is what string concatenation gave in the original.
pub fn value_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Parses dotenv text. Later keys win, as in dotenv.
pub fn parse_dotenv(text: &str) -> Properties {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = Properties::new();
    for cap in LINE.captures_iter(&text) {
        let key = cap[1].to_string();
        let raw = cap.get(2).map_or("", |m| m.as_str()).trim();
        let quote = raw.chars().next();
        let mut value = match quote {
            Some(q @ ('\'' | '"' | '`')) if raw.len() >= 2 && raw.ends_with(q) => {
                raw[1..raw.len() - 1].to_string()
            }
            _ => raw.to_string(),
        };
        if quote == Some('"') {
            value = value.replace("\\n", "\n").replace("\\r", "\r");
        }
        out.insert(key, serde_json::Value::String(value));
    }
    out
}

/// The 1-based line and text of the first line of dotenv text that no `KEY=VALUE` entry
/// covers (blank lines and `#` comments aside). dotenv itself skips such lines silently, so
/// a typo (`API_KEY 123`) became a missing variable reported far from its cause.
pub fn malformed_dotenv_line(text: &str) -> Option<(usize, String)> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let covered: Vec<(usize, usize)> = LINE
        .find_iter(&text)
        .map(|m| (m.start(), m.end()))
        .collect();
    let mut offset = 0;
    for (index, line) in text.split('\n').enumerate() {
        let start = offset;
        offset += line.len() + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let first = start + (line.len() - line.trim_start().len());
        if !covered.iter().any(|&(s, e)| s <= first && first < e) {
            return Some((index + 1, line.to_string()));
        }
    }
    None
}

/// Loads a property file, refusing a dotenv line that is not `KEY=VALUE` (with its line).
pub fn load_checked(path: &Path, how: CacheUse) -> Result<Properties, crate::error::ReadError> {
    let text = crate::source_cache::read_to_string(path, how)
        .map_err(|e| crate::error::ReadError::io(path, e))?;
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(&text) {
        return Ok(map);
    }
    if let Some((line, content)) = malformed_dotenv_line(&text) {
        return Err(crate::error::ReadError::Config {
            file: path.display().to_string(),
            line: Some(line),
            column: None,
            message: format!(
                "line {line} is not a property: '{}' (write KEY=VALUE, or start the line with # for a comment)",
                content.trim().escape_debug()
            ),
        });
    }
    Ok(parse_dotenv(&text))
}

/// Parses a property file's text: a JSON object if it is one, else dotenv.
pub fn parse_properties(text: &str) -> Properties {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text) {
        return map;
    }
    parse_dotenv(text)
}

/// Loads a property file; a missing or unreadable file gives `None`.
pub fn load_properties(path: &Path) -> Option<Properties> {
    load_properties_with(path, CacheUse::Take)
}

/// [`load_properties`] through the reader's [source cache](crate::source_cache).
pub fn load_properties_with(path: &Path, how: CacheUse) -> Option<Properties> {
    let text = crate::source_cache::read_to_string(path, how).ok()?;
    Some(parse_properties(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn texts(props: Properties) -> Vec<(String, String)> {
        props
            .iter()
            .map(|(k, v)| (k.clone(), value_text(v)))
            .collect()
    }

    #[test]
    fn dotenv_forms() {
        let text = "# comment\nA=plain value # trailing\nexport B='single # kept'\nC=\"double\\nline\"\nD=`back`\nE:  colon\nF=\n";
        assert_eq!(
            texts(parse_dotenv(text)),
            map(&[
                ("A", "plain value"),
                ("B", "single # kept"),
                ("C", "double\nline"),
                ("D", "back"),
                ("E", "colon"),
                ("F", ""),
            ])
        );
    }

    #[test]
    fn dotenv_multi_line_double_quotes() {
        let text = "MULTI=\"line 1\nline 2\"\nNEXT=x\n";
        assert_eq!(
            texts(parse_dotenv(text)),
            map(&[("MULTI", "line 1\nline 2"), ("NEXT", "x")])
        );
    }

    #[test]
    fn malformed_lines_are_found() {
        assert_eq!(malformed_dotenv_line("A=1\n# c\n\nB=\"x\ny\"\n"), None);
        assert_eq!(
            malformed_dotenv_line("A=1\nAPI_KEY 123\n"),
            Some((2, "API_KEY 123".to_string()))
        );
        assert_eq!(malformed_dotenv_line("=x\n").map(|m| m.0), Some(1));
    }

    #[test]
    fn json_objects_win_over_dotenv() {
        assert_eq!(
            texts(parse_properties(r#"{"A": "x", "N": 3, "T": true}"#)),
            map(&[("A", "x"), ("N", "3"), ("T", "true")])
        );
        // A JSON value that is not an object falls back to dotenv.
        assert!(parse_properties("[1]").is_empty());
    }
}
