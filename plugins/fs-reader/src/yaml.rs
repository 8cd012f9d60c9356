//! The one place where YAML is parsed. Everything else sees `serde_json::Value`s, so the YAML
//! crate (serde_yaml 0.9, frozen upstream; `yaml_serde` is its successor) can be swapped here
//! alone.
//!
//! What the original's js-yaml `safeLoad` gives and this reproduces: YAML 1.2 booleans only
//! (`yes`/`no` stay strings), anchors and aliases, merge keys `<<`, an error for duplicate
//! keys, and mapping keys turned into strings. Timestamps stay strings (js-yaml made dates,
//! which then serialised back as ISO strings).

/// A YAML syntax error with its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    pub message: String,
    /// 1-based.
    pub line: Option<usize>,
    /// 1-based.
    pub column: Option<usize>,
}

/// The deepest nesting [`parse`] accepts. The YAML parser refuses more than 128 levels
/// itself, but only after scanning the whole text, and deep flow nesting (100,000 `[`)
/// makes that scan take minutes; no project needs a tenth of this.
pub const MAX_DEPTH: usize = 64;

/// Finds nesting deeper than [`MAX_DEPTH`] without parsing: flow collections (`[`, `{`
/// outside quotes and comments, counted across lines) and block entries opened on one line
/// (`- - - x`). Linear in the text; an error names the line. A quoted scalar is assumed to
/// end on its line: one that spans lines can only make the count too high when the
/// brackets it holds are unbalanced, which is then refused as nesting.
pub fn check_depth(text: &str) -> Result<(), YamlError> {
    let mut flow: usize = 0;
    for (index, line) in text.lines().enumerate() {
        let too_deep = |what: &str| YamlError {
            message: format!(
                "the YAML nests {what} more than {MAX_DEPTH} levels deep; flatten the structure"
            ),
            line: Some(index + 1),
            column: None,
        };
        let rest = line.trim_start_matches(' ');
        // Block nesting opened on one line (`- - - x`, `? ? x`): each indicator is a level.
        let indicators = rest
            .as_bytes()
            .chunks(2)
            .take_while(|pair| matches!(pair, [b'-' | b'?', b' '] | [b'-' | b'?']))
            .count();
        if indicators > MAX_DEPTH {
            return Err(too_deep("'-' and '?' entries"));
        }
        let mut quote: Option<char> = None;
        let mut previous = ' ';
        for c in rest.chars() {
            match (quote, c) {
                (Some('\''), '\'') | (Some('"'), '"')
                    if previous != '\\' || quote == Some('\'') =>
                {
                    quote = None;
                }
                (Some(_), _) => {}
                (None, '#') if previous == ' ' || previous == '\t' => break,
                (None, '\'' | '"') if matches!(previous, ' ' | '[' | '{' | ',' | ':') => {
                    quote = Some(c);
                }
                (None, '[' | '{') => {
                    flow += 1;
                    if flow > MAX_DEPTH {
                        return Err(too_deep("'[' and '{'"));
                    }
                }
                (None, ']' | '}') => flow = flow.saturating_sub(1),
                _ => {}
            }
            previous = c;
        }
    }
    Ok(())
}

/// Parses YAML text into JSON values (mapping order kept). An empty document gives `Null`.
/// Nesting deeper than [`MAX_DEPTH`] is refused before parsing ([`check_depth`]).
pub fn parse(text: &str) -> Result<serde_json::Value, YamlError> {
    check_depth(text)?;
    let mut value: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
        let location = e.location();
        YamlError {
            message: e.to_string(),
            line: location.as_ref().map(serde_yaml::Location::line),
            column: location.as_ref().map(serde_yaml::Location::column),
        }
    })?;
    value.apply_merge().map_err(|e| YamlError {
        message: e.to_string(),
        line: None,
        column: None,
    })?;
    Ok(to_json(value))
}

fn key_text(key: serde_yaml::Value) -> String {
    match to_json(key) {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => "null".to_string(),
        other => other.to_string(),
    }
}

fn to_json(value: serde_yaml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    use serde_yaml::Value as Y;
    match value {
        Y::Null => J::Null,
        Y::Bool(b) => J::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                J::from(i)
            } else if let Some(u) = n.as_u64() {
                J::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(J::Null, J::Number)
            }
        }
        Y::String(s) => J::String(s),
        Y::Sequence(items) => J::Array(items.into_iter().map(to_json).collect()),
        Y::Mapping(map) => J::Object(
            map.into_iter()
                .map(|(k, v)| (key_text(k), to_json(v)))
                .collect(),
        ),
        Y::Tagged(tagged) => to_json(tagged.value),
    }
}

/// Finds the 1-based line of `key:` in the text, cheaply and approximately: the first line
/// (after the line holding `name: <after>`, when given) where `key` starts a mapping entry.
/// Good enough to point a validation error at its place; `None` when not found.
pub fn key_line(text: &str, key: &str, after: Option<&str>) -> Option<usize> {
    let mut start = 0;
    if let Some(name) = after {
        start = text.lines().position(|l| names(l, name))?;
    }
    text.lines()
        .enumerate()
        .skip(start)
        .find(|(_, line)| starts_entry(line, key))
        .map(|(i, _)| i + 1)
}

fn names(line: &str, name: &str) -> bool {
    let t = line.trim_start().trim_start_matches("- ").trim_start();
    let Some(rest) = t.strip_prefix("name") else {
        return false;
    };
    let Some(value) = rest.trim_start().strip_prefix(':') else {
        return false;
    };
    let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
    value == name
}

fn starts_entry(line: &str, key: &str) -> bool {
    let t = line.trim_start();
    let t = t.strip_prefix("- ").map_or(t, str::trim_start);
    let t = t
        .strip_prefix('"')
        .and_then(|r| r.strip_prefix(key).and_then(|r| r.strip_prefix('"')))
        .or_else(|| {
            t.strip_prefix('\'')
                .and_then(|r| r.strip_prefix(key).and_then(|r| r.strip_prefix('\'')))
        })
        .or_else(|| t.strip_prefix(key));
    t.is_some_and(|r| r.trim_start().starts_with(':'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_1_2_booleans_and_order() {
        let v = parse("b: true\nc: yes\na: False\nn: 3\nf: 1.5\nd: 2021-01-01\n").expect("parses");
        assert_eq!(
            v,
            json!({"b": true, "c": "yes", "a": false, "n": 3, "f": 1.5, "d": "2021-01-01"})
        );
        let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["b", "c", "a", "n", "f", "d"]);
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let text = "base: &b\n  x: 1\n  y: 2\nother:\n  <<: *b\n  y: 3\nlist: [*b]\n";
        let v = parse(text).expect("parses");
        assert_eq!(v["other"], json!({"x": 1, "y": 3}));
        assert_eq!(v["list"], json!([{"x": 1, "y": 2}]));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = parse("a: 1\na: 2\n").expect_err("duplicate");
        assert!(e.message.contains("duplicate"), "{}", e.message);
    }

    #[test]
    fn syntax_errors_carry_the_line() {
        let e = parse("packages:\n  - name: x\n   bad: [\n").expect_err("bad yaml");
        assert!(e.line.is_some());
    }

    #[test]
    fn empty_document_is_null() {
        assert_eq!(parse("").expect("parses"), serde_json::Value::Null);
        assert_eq!(
            parse("# only a comment\n").expect("parses"),
            serde_json::Value::Null
        );
    }

    #[test]
    fn keys_become_strings() {
        let v = parse("1: a\ntrue: b\n").expect("parses");
        assert_eq!(v, json!({"1": "a", "true": "b"}));
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let deep = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        let e = parse(&deep).expect_err("too deep");
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("more than 64 levels"), "{}", e.message);
        let unclosed = format!("a: 1\nb: {}\n", "{".repeat(MAX_DEPTH + 1));
        assert_eq!(parse(&unclosed).expect_err("too deep").line, Some(2));
        let dashes = format!("{}x\n", "- ".repeat(MAX_DEPTH + 1));
        assert!(parse(&dashes).is_err());
        // Brackets in quotes and comments do not count; moderate nesting parses.
        let quoted = format!(
            "a: '{}'\nb: \"{}\" # {}\n",
            "[".repeat(200),
            "{".repeat(200),
            "[".repeat(200)
        );
        assert!(parse(&quoted).is_ok());
        let fine = format!("a: {}1{}\n", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&fine).is_ok());
    }

    #[test]
    fn key_lines_are_found() {
        let text = "packages:\n  - name: p\n    functions:\n      - name: hello\n        runtime: xyz\n  - name: q\n    parameters: 1\n";
        assert_eq!(key_line(text, "packages", None), Some(1));
        assert_eq!(key_line(text, "runtime", Some("hello")), Some(5));
        assert_eq!(key_line(text, "parameters", Some("q")), Some(7));
        assert_eq!(key_line(text, "missing", None), None);
        assert_eq!(key_line("- \"web\": 1\n", "web", None), Some(1));
    }
}
