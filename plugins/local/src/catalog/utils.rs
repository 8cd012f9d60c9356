//! `/whisk.system/utils`: OpenWhisk's building blocks that format and assemble data, as node
//! code the ordinary runner executes. Behaviour and parameter names follow OpenWhisk's
//! catalog (`lines`, `payload`, `num`, `separator`), so sequences written for OpenWhisk —
//! `split | sort | head | cat` — give the same results here.

use serde_json::{Value, json};

/// One utils action: its name, node source, and the annotations OpenWhisk documents it with.
pub(super) struct UtilsAction {
    pub name: &'static str,
    pub code: &'static str,
    pub annotations: Value,
}

/// The package's own annotations.
pub(super) fn package_annotations() -> Value {
    json!({"description": "Building blocks that format and assemble data"})
}

/// Every utils action, by name.
pub(super) fn actions() -> Vec<UtilsAction> {
    vec![
        UtilsAction {
            name: "cat",
            code: CAT,
            annotations: json!({
                "description": "Concatenates input into a string",
                "parameters": [{"name": "lines", "required": true, "type": "array",
                                "description": "An array of strings or numbers"}],
                "sampleInput": {"lines": [4, 2, 3]},
                "sampleOutput": {"lines": [4, 2, 3], "payload": "4\n2\n3"},
            }),
        },
        UtilsAction {
            name: "date",
            code: DATE,
            annotations: json!({
                "description": "Current date and time",
                "sampleOutput": {"date": "2016-03-22T00:59:55.961Z"},
            }),
        },
        UtilsAction {
            name: "echo",
            code: ECHO,
            annotations: json!({
                "description": "Returns the input",
                "parameters": [{"name": "payload", "required": false,
                                "description": "Any JSON entity"}],
                "sampleInput": {"payload": "Five fuzzy felines"},
                "sampleOutput": {"payload": "Five fuzzy felines"},
            }),
        },
        UtilsAction {
            name: "head",
            code: HEAD,
            annotations: json!({
                "description": "Extract prefix of an array",
                "parameters": [
                    {"name": "lines", "required": true, "type": "array",
                     "description": "An array of strings"},
                    {"name": "num", "required": false, "type": "integer",
                     "description": "The length of the prefix"}],
                "sampleInput": {"lines": [4, 2, 3], "num": 2},
                "sampleOutput": {"lines": [4, 2], "num": 2},
            }),
        },
        UtilsAction {
            name: "sort",
            code: SORT,
            annotations: json!({
                "description": "Sorts an array",
                "parameters": [{"name": "lines", "required": true, "type": "array",
                                "description": "An array of strings"}],
                "sampleInput": {"lines": [4, 2, 3]},
                "sampleOutput": {"lines": [2, 3, 4], "length": 3},
            }),
        },
        UtilsAction {
            name: "split",
            code: SPLIT,
            annotations: json!({
                "description": "Split a string into an array",
                "parameters": [
                    {"name": "payload", "required": true, "description": "A string"},
                    {"name": "separator", "required": false,
                     "description": "The character, or the regular expression, to use for splitting the string"}],
                "sampleInput": {"payload": "one,two,three", "separator": ","},
                "sampleOutput": {"lines": ["one", "two", "three"], "payload": "one,two,three"},
            }),
        },
        UtilsAction {
            name: "wordCount",
            code: WORD_COUNT,
            annotations: json!({
                "description": "Count words in a string",
                "parameters": [{"name": "payload", "required": true,
                                "description": "A string"}],
                "sampleInput": {"payload": "Five fuzzy felines"},
                "sampleOutput": {"count": 3},
            }),
        },
    ]
}

const ECHO: &str = r#"// Returns its parameters unchanged.
function main(params) {
  return params || {};
}
"#;

const CAT: &str = r#"// Joins `lines` with newlines into `payload`; every other field is dropped.
function main(params) {
  const lines = params.lines || [];
  return { lines: lines, payload: lines.join("\n") };
}
"#;

const SORT: &str = r#"// Sorts `lines` the way Array.prototype.sort does (as strings).
function main(params) {
  const lines = params.lines || [];
  lines.sort();
  return { lines: lines, length: lines.length };
}
"#;

const HEAD: &str = r#"// The first `num` (default 1) entries of `lines`.
function main(params) {
  const lines = params.lines || [];
  const num = params.num || 1;
  return { lines: lines.slice(0, num), num: num };
}
"#;

const SPLIT: &str = r#"// Splits `payload` on `separator` (default: line breaks) into `lines`.
function main(params) {
  const payload = params.payload === undefined || params.payload === null ? "" : String(params.payload);
  const separator = params.separator || /\r?\n/;
  return { lines: payload.split(separator), payload: params.payload };
}
"#;

const DATE: &str = r#"// The current date and time.
function main() {
  return { date: new Date() };
}
"#;

const WORD_COUNT: &str = r#"// Counts the space-separated words of `payload`.
function main(params) {
  if (params.payload === undefined || params.payload === null) {
    return { error: "wordCount needs a 'payload' parameter (the text to count)" };
  }
  const text = String(params.payload);
  const count = text.split(" ").length;
  console.log("The message '" + text + "' has", count, "words");
  return { count: count };
}
"#;
