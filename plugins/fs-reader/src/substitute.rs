//! Symbol substitution in `project.yml` (spec §3.1): purely textual, before YAML parsing.
//!
//! The text is scanned left to right for the next `${` or `$(`. Forms:
//! `${NAME}` (newlines in the value escaped as `\n`), `${|NAME}` (raw), `${<file}` (the
//! file's properties as a JSON object), `$(A B …)` (a JSON object of the named values) and the
//! deprecated `${A B}` (the same). Lookup is the process environment first, then the env
//! file; an empty value counts as missing. Substitution runs once; the result is not rescanned.

use crate::properties::{Properties, value_text};

/// Where values come from.
pub trait Symbols {
    /// The value of a variable, if it is set and not empty.
    fn lookup(&self, name: &str) -> Option<String>;
    /// The properties of a file named in `${<path}` (relative to the project); `None` when
    /// it does not exist, `Err` with the reason when it may not be read (outside the
    /// project) or is malformed.
    fn file(&self, path: &str) -> Result<Option<Properties>, String>;
}

/// The result of substitution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Substituted {
    pub text: String,
    /// Names (or `<file` for `${<file}`) that could not be resolved, in order of appearance.
    pub unresolved: Vec<String>,
    /// The deprecated `${A B}` dictionary form was used (warn once).
    pub deprecated_dictionary: bool,
}

/// Why substitution stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Runaway {
    /// A directive with no terminator.
    #[error("Runaway variable name or path directive in project.yml")]
    Unterminated {
        /// 1-based line of the opener.
        line: usize,
    },
    /// `${<file}` names a file that is missing, empty, outside the project or malformed.
    #[error("{message}")]
    File { line: usize, message: String },
}

impl Runaway {
    /// 1-based line of the directive.
    pub fn line(&self) -> usize {
        match self {
            Runaway::Unterminated { line } | Runaway::File { line, .. } => *line,
        }
    }
}

/// `${secret:NAME}` names a secret of the chosen environment's secrets file.
pub const SECRET_PREFIX: &str = "secret:";

/// The deprecation warning for `${A B}`.
pub const DEPRECATED_DICTIONARY: &str =
    "Using '${}' for dictionary substitution is now deprecated; use '$()'";

/// Substitutes every directive in `input`.
pub fn substitute(input: &str, symbols: &dyn Symbols) -> Result<Substituted, Runaway> {
    let mut out = String::with_capacity(input.len());
    let mut unresolved = Vec::new();
    let mut deprecated_dictionary = false;
    let mut rest = input;
    while let Some((at, is_brace)) = next_opener(rest) {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let terminator = if is_brace { '}' } else { ')' };
        let consumed = input.len() - rest.len() + at;
        let line_here = || input[..consumed].matches('\n').count() + 1;
        let Some(end) = after.find(terminator) else {
            return Err(Runaway::Unterminated { line: line_here() });
        };
        let symbol = after[..end].trim();
        rest = &after[end + 1..];
        let has_space = symbol.chars().any(char::is_whitespace);
        if !is_brace || has_space {
            if is_brace {
                deprecated_dictionary = true;
            }
            out.push_str(&dictionary(symbol, symbols, &mut unresolved));
        } else if let Some(path) = symbol.strip_prefix('<') {
            // The original left a missing or empty file as an unresolved `<<file>`, which
            // then failed validation as "parameters member must be a dictionary": name the
            // file instead.
            let path = path.trim();
            let file_error = |message: String| Runaway::File {
                line: line_here(),
                message: format!("${{<{path}}}: {message}"),
            };
            match symbols.file(path).map_err(file_error)? {
                Some(props) if !props.is_empty() => {
                    out.push_str(&serde_json::Value::Object(props).to_string());
                }
                Some(_) => {
                    return Err(file_error(format!(
                        "the file '{path}' holds no properties (KEY=VALUE lines or a JSON object)"
                    )));
                }
                None => {
                    return Err(file_error(format!(
                        "the file '{path}' does not exist (the path is relative to the project directory)"
                    )));
                }
            }
        } else if let Some(name) = symbol.strip_prefix('|') {
            out.push_str(&variable(name, symbols, &mut unresolved));
        } else {
            out.push_str(&variable(symbol, symbols, &mut unresolved).replace('\n', "\\n"));
        }
    }
    out.push_str(rest);
    Ok(Substituted {
        text: out,
        unresolved,
        deprecated_dictionary,
    })
}

/// Where the first `${` or `$(` of `text` starts, and whether it is `${`. One scan: looking
/// for each opener on its own rescans the rest of the text for the one that is absent at every
/// directive, which made a value with many `${A}` quadratic.
fn next_opener(text: &str) -> Option<(usize, bool)> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(offset) = text[from..].find('$') {
        let at = from + offset;
        match bytes.get(at + 1) {
            Some(b'{') => return Some((at, true)),
            Some(b'(') => return Some((at, false)),
            Some(_) => from = at + 1,
            None => return None,
        }
    }
    None
}

fn variable(name: &str, symbols: &dyn Symbols, unresolved: &mut Vec<String>) -> String {
    match symbols.lookup(name) {
        Some(value) => value,
        None => {
            unresolved.push(name.to_string());
            format!("<{name}>")
        }
    }
}

/// `{"A":"<value>",…}`, with `"<A>"` for an unresolved name.
fn dictionary(content: &str, symbols: &dyn Symbols, unresolved: &mut Vec<String>) -> String {
    let mut map = serde_json::Map::new();
    for token in content.split_whitespace() {
        let value = variable(token, symbols, unresolved);
        map.insert(token.to_string(), serde_json::Value::String(value));
    }
    serde_json::Value::Object(map).to_string()
}

/// The usual symbols: the process environment (a snapshot), then the env file, and
/// property files relative to the project.
#[derive(Debug)]
pub struct EnvSymbols<'a> {
    pub env: &'a std::collections::BTreeMap<String, String>,
    /// The environment's decrypted secrets: `${secret:NAME}` looks here only.
    pub secrets: &'a std::collections::BTreeMap<String, String>,
    pub props: &'a Properties,
    pub project_dir: &'a std::path::Path,
    /// Whether `${<file}` files are remembered for a later read (the manifest) or taken.
    pub cache: crate::source_cache::CacheUse,
    /// Where `${<file}` may read; `None` reads anywhere (tests of substitution alone).
    pub confinement: Option<&'a sluice_core::confine::Confinement>,
}

impl Symbols for EnvSymbols<'_> {
    fn lookup(&self, name: &str) -> Option<String> {
        if let Some(secret) = name.strip_prefix(SECRET_PREFIX) {
            // The value is filled in after the build; until then only a masked reference.
            let secret = secret.trim();
            return self
                .secrets
                .contains_key(secret)
                .then(|| sluice_core::ops::environment::secret_reference(secret));
        }
        self.env
            .get(name)
            .filter(|v| !v.is_empty())
            .cloned()
            .or_else(|| {
                self.props
                    .get(name)
                    .map(value_text)
                    .filter(|v| !v.is_empty())
            })
    }

    fn file(&self, path: &str) -> Result<Option<Properties>, String> {
        let full = match self.confinement {
            Some(c) => c
                .check(std::path::Path::new(path), "the substituted file")
                .map_err(|e| {
                    let help = e.help().map(|h| format!("; {h}")).unwrap_or_default();
                    format!("{e}{help}")
                })?,
            None => self.project_dir.join(path),
        };
        if !full.is_file() {
            return Ok(None);
        }
        crate::properties::load_checked(&full, self.cache)
            .map(Some)
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    struct Fake {
        vars: BTreeMap<String, String>,
        files: BTreeMap<String, Properties>,
    }

    impl Symbols for Fake {
        fn lookup(&self, name: &str) -> Option<String> {
            self.vars.get(name).filter(|v| !v.is_empty()).cloned()
        }
        fn file(&self, path: &str) -> Result<Option<Properties>, String> {
            Ok(self.files.get(path).cloned())
        }
    }

    fn fake() -> Fake {
        let mut vars = BTreeMap::new();
        vars.insert("A".into(), "this is A".into());
        vars.insert("B".into(), "this is B".into());
        vars.insert("MULTI".into(), "line 1\nline 2".into());
        vars.insert("EMPTY".into(), String::new());
        let mut files = BTreeMap::new();
        files.insert(
            "params.env".into(),
            crate::properties::parse_properties("X=1\nY=two\n"),
        );
        files.insert("empty.env".into(), Properties::new());
        files.insert(
            "typed.json".into(),
            crate::properties::parse_properties(r#"{"n": 3, "s": "x"}"#),
        );
        Fake { vars, files }
    }

    fn sub(text: &str) -> Substituted {
        substitute(text, &fake()).expect("no runaway")
    }

    #[test]
    fn simple_variable_is_replaced_and_trimmed() {
        let s = sub("a: ${A}\nb: ${ B }\n");
        assert_eq!(s.text, "a: this is A\nb: this is B\n");
        assert!(s.unresolved.is_empty());
        assert!(!s.deprecated_dictionary);
    }

    #[test]
    fn newlines_are_escaped_in_the_simple_form_only() {
        assert_eq!(sub("m: ${MULTI}").text, "m: line 1\\nline 2");
        assert_eq!(sub("m: ${|MULTI}").text, "m: line 1\nline 2");
    }

    #[test]
    fn unresolved_names_are_recorded_in_order_with_duplicates() {
        let s = sub("${NOPE} ${EMPTY} ${NOPE} ${|RAW}");
        assert_eq!(s.text, "<NOPE> <EMPTY> <NOPE> <RAW>");
        assert_eq!(s.unresolved, ["NOPE", "EMPTY", "NOPE", "RAW"]);
    }

    #[test]
    fn file_form_gives_a_json_object() {
        assert_eq!(sub("p: ${<params.env}").text, r#"p: {"X":"1","Y":"two"}"#);
        assert_eq!(sub("p: ${<typed.json}").text, r#"p: {"n":3,"s":"x"}"#);
    }

    #[test]
    fn missing_or_empty_file_is_an_error_naming_it() {
        let e = substitute("a: 1\np: ${<nope.env}", &fake()).expect_err("missing");
        assert_eq!(e.line(), 2);
        assert!(
            e.to_string().contains("the file 'nope.env' does not exist"),
            "{e}"
        );
        let e = substitute("q: ${<empty.env}", &fake()).expect_err("empty");
        assert!(e.to_string().contains("holds no properties"), "{e}");
    }

    #[test]
    fn dictionary_form_spans_lines_and_tabs() {
        let s = sub("parameters: $(\n\t\t A\n\t\t B\n\t\t)\nenvironment: $( C )");
        assert_eq!(
            s.text,
            "parameters: {\"A\":\"this is A\",\"B\":\"this is B\"}\nenvironment: {\"C\":\"<C>\"}"
        );
        assert_eq!(s.unresolved, ["C"]);
        assert!(!s.deprecated_dictionary);
    }

    #[test]
    fn dictionary_values_are_json_escaped() {
        assert_eq!(sub("$(MULTI)").text, r#"{"MULTI":"line 1\nline 2"}"#);
    }

    #[test]
    fn deprecated_brace_dictionary_is_flagged() {
        let s = sub("p: ${A B}");
        assert_eq!(s.text, r#"p: {"A":"this is A","B":"this is B"}"#);
        assert!(s.deprecated_dictionary);
    }

    #[test]
    fn whitespace_wins_over_file_and_raw_markers() {
        // `${< file}` and `${| A}` hold whitespace, so they are dictionaries (legacy).
        assert_eq!(
            sub("${< params.env}").text,
            r#"{"<":"<<>","params.env":"<params.env>"}"#
        );
        assert_eq!(sub("${| A}").text, r#"{"|":"<|>","A":"this is A"}"#);
    }

    #[test]
    fn paren_file_marker_is_a_variable_name() {
        let s = sub("$(<params.env)");
        assert_eq!(s.text, r#"{"<params.env":"<<params.env>"}"#);
        assert_eq!(s.unresolved, ["<params.env"]);
    }

    #[test]
    fn the_earlier_opener_wins_and_text_is_not_rescanned() {
        let mut f = fake();
        f.vars.insert("NEST".into(), "${A}".into());
        let s = substitute("$(A) ${NEST}", &f).expect("ok");
        assert_eq!(s.text, r#"{"A":"this is A"} ${A}"#);
    }

    #[test]
    fn runaway_directive_names_its_line() {
        let err = substitute("a: 1\nb: ${A\nc: 2\n", &fake()).expect_err("runaway");
        assert_eq!(err.line(), 2);
        assert_eq!(
            err.to_string(),
            "Runaway variable name or path directive in project.yml"
        );
        assert!(substitute("$(A", &fake()).is_err());
    }

    #[test]
    fn text_without_directives_is_unchanged() {
        let s = sub("a: $A {b} $ ( c )");
        assert_eq!(s.text, "a: $A {b} $ ( c )");
    }

    #[test]
    fn process_environment_beats_the_env_file() {
        let mut env = BTreeMap::new();
        env.insert("RUNTIME".to_string(), "python:3.9".to_string());
        env.insert("BLANK".to_string(), String::new());
        let props =
            crate::properties::parse_properties("RUNTIME=nodejs:14\nBLANK=from-file\nONLY=file\n");
        let dir = std::path::Path::new(".");
        let symbols = EnvSymbols {
            env: &env,
            secrets: &BTreeMap::new(),
            props: &props,
            project_dir: dir,
            cache: crate::source_cache::CacheUse::Take,
            confinement: None,
        };
        assert_eq!(symbols.lookup("RUNTIME").as_deref(), Some("python:3.9"));
        assert_eq!(symbols.lookup("BLANK").as_deref(), Some("from-file"));
        assert_eq!(symbols.lookup("ONLY").as_deref(), Some("file"));
        assert_eq!(symbols.lookup("NONE"), None);
    }
}
