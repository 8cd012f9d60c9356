//! The runtime table: which `kind`s a namespace accepts and which is the default of each
//! family, plus the original deployer's rules for inferring a runtime from a file name.
//!
//! The built-in table is DigitalOcean's; a deployer can replace it with the controller's own
//! list (`GET /api/v1` → `runtimes`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One runtime kind of a family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeKind {
    pub kind: String,
    #[serde(default)]
    pub default: bool,
    #[serde(default)]
    pub deprecated: bool,
}

/// Runtime kinds by family (`nodejs`, `python`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeTable {
    pub families: BTreeMap<String, Vec<RuntimeKind>>,
}

impl Default for RuntimeTable {
    fn default() -> Self {
        Self::builtin()
    }
}

/// Families and kinds of DigitalOcean Functions: the original deployer's static table
/// (defaults included) plus the kinds DigitalOcean has added since.
const BUILTIN: &[(&str, &[&str], &str)] = &[
    (
        "go",
        &["go:1.15", "go:1.17", "go:1.20", "go:1.24", "go:1.25"],
        "go:1.17",
    ),
    (
        "nodejs",
        &["nodejs:14", "nodejs:18", "nodejs:22", "nodejs:24"],
        "nodejs:14",
    ),
    (
        "nodejs-lambda",
        &["nodejs-lambda:14", "nodejs-lambda:18"],
        "",
    ),
    (
        "php",
        &["php:8.0", "php:8.2", "php:8.3", "php:8.4", "php:8.5"],
        "php:8.0",
    ),
    (
        "python",
        &["python:3.9", "python:3.11", "python:3.12", "python:3.13"],
        "python:3.9",
    ),
];

impl RuntimeTable {
    /// DigitalOcean's runtimes, for when no controller has been asked.
    pub fn builtin() -> Self {
        let families = BUILTIN
            .iter()
            .map(|(family, kinds, default)| {
                let kinds = kinds
                    .iter()
                    .map(|k| RuntimeKind {
                        kind: (*k).to_string(),
                        default: k == default,
                        deprecated: false,
                    })
                    .collect();
                ((*family).to_string(), kinds)
            })
            .collect();
        RuntimeTable { families }
    }

    /// Reads the `runtimes` member of a controller's `/api/v1` answer.
    ///
    /// Each value must be an array of objects with a string `kind`; anything else is refused
    /// with the original deployer's message.
    pub fn from_controller_info(info: &serde_json::Value, apihost: &str) -> Result<Self, String> {
        let invalid = || format!("Invalid runtime JSON received from platform API: {apihost}");
        let runtimes = info
            .get("runtimes")
            .and_then(|r| r.as_object())
            .ok_or_else(invalid)?;
        let mut families = BTreeMap::new();
        for (family, kinds) in runtimes {
            let kinds = kinds.as_array().ok_or_else(invalid)?;
            let mut parsed = Vec::with_capacity(kinds.len());
            for k in kinds {
                let kind = k.get("kind").and_then(|k| k.as_str()).ok_or_else(invalid)?;
                parsed.push(RuntimeKind {
                    kind: kind.to_string(),
                    default: k.get("default").and_then(|d| d.as_bool()).unwrap_or(false),
                    deprecated: k
                        .get("deprecated")
                        .and_then(|d| d.as_bool())
                        .unwrap_or(false),
                });
            }
            families.insert(family.clone(), parsed);
        }
        Ok(RuntimeTable { families })
    }

    fn kinds(&self) -> impl Iterator<Item = &RuntimeKind> {
        self.families.values().flatten()
    }

    /// `family:default` is valid when the family has a default; any other kind must match exactly.
    pub fn is_valid(&self, kind: &str) -> bool {
        match kind.strip_suffix(":default") {
            Some(family) => self.default_of(family).is_some(),
            None => self.kinds().any(|k| k.kind == kind),
        }
    }

    /// The default kind of a family, if it has one.
    pub fn default_of(&self, family: &str) -> Option<&str> {
        let prefix = format!("{family}:");
        self.kinds()
            .find(|k| k.default && k.kind.starts_with(&prefix))
            .map(|k| k.kind.as_str())
    }

    /// `family:default` becomes the family's default kind; other kinds are returned as they are.
    pub fn canonical<'a>(&'a self, kind: &'a str) -> &'a str {
        kind.strip_suffix(":default")
            .and_then(|family| self.default_of(family))
            .unwrap_or(kind)
    }

    /// Every kind, sorted, for error messages.
    pub fn all_kinds(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self.kinds().map(|k| k.kind.as_str()).collect();
        all.sort_unstable();
        all
    }
}

/// The family of a kind: `nodejs:18` → `nodejs`.
pub fn family(kind: &str) -> &str {
    kind.split(':').next().unwrap_or(kind)
}

/// What a file's name says about the action it holds (the original's `actionFileToParts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileParts {
    /// The action name.
    pub name: String,
    /// The runtime, when the name implies a valid one.
    pub runtime: Option<String>,
    /// Zips and jars are deployed base64-encoded.
    pub binary: bool,
    pub zipped: bool,
}

/// Splits a file's base name into action name, runtime, binary and zipped (spec §2.3).
pub fn file_parts(file_name: &str, table: &RuntimeTable) -> FileParts {
    let Some(first_dot) = file_name.find('.').filter(|i| *i > 0) else {
        return FileParts {
            name: file_name.to_string(),
            runtime: None,
            binary: true,
            zipped: false,
        };
    };
    let segments: Vec<&str> = file_name.split('.').collect();
    let ext = segments.last().copied().unwrap_or_default();
    let binary = ext == "zip" || ext == "jar";
    let zipped = ext == "zip";
    let (name, runtime) = if segments.len() == 2 {
        (
            file_name[..first_dot].to_string(),
            runtime_for_extension(ext),
        )
    } else if ext == "zip" {
        // name.<mid>.zip, where a version split at a dot (python-3.9) is rejoined.
        let n = segments.len();
        let last = segments[n - 2];
        let rejoin = n >= 4
            && !last.is_empty()
            && last.chars().all(|c| c.is_ascii_digit())
            && segments[n - 3].contains('-');
        let (mid, name_end) = if rejoin {
            (format!("{}.{}", segments[n - 3], last), n - 3)
        } else {
            (last.to_string(), n - 2)
        };
        let runtime = match mid.split_once('-') {
            Some((family, version)) => format!("{family}:{version}"),
            None => format!("{mid}:default"),
        };
        let runtime = table.is_valid(&runtime).then_some(runtime);
        (segments[..name_end].join("."), runtime)
    } else {
        let last_dot = file_name.rfind('.').unwrap_or(file_name.len());
        (
            file_name[..last_dot].to_string(),
            runtime_for_extension(ext),
        )
    };
    FileParts {
        name,
        runtime,
        binary,
        zipped,
    }
}

/// The runtime an extension implies when the name holds no runtime of its own.
pub fn runtime_for_extension(ext: &str) -> Option<String> {
    let family = match ext {
        "js" | "ts" => "nodejs",
        "go" => "go",
        "php" => "php",
        "py" => "python",
        _ => return None,
    };
    Some(format!("{family}:default"))
}

/// The runtime a set of source files agrees on (spec §7.7, with disagreement detected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Agreement {
    /// No file implies a runtime.
    None,
    /// Every file that implies a runtime implies this one.
    Agreed(String),
    /// Two files imply different runtimes; the first two are named.
    Conflict {
        first: (String, String),
        second: (String, String),
    },
}

/// Runs the agreement rule over file paths, in order.
pub fn agree_on_runtime<'a>(
    paths: impl IntoIterator<Item = &'a str>,
    table: &RuntimeTable,
) -> Agreement {
    let mut found: Option<(String, String)> = None;
    for path in paths {
        let base = path.rsplit(['/', '\\']).next().unwrap_or(path);
        let Some(runtime) = file_parts(base, table).runtime else {
            continue;
        };
        match &found {
            None => found = Some((path.to_string(), runtime)),
            Some((first_path, first_runtime)) if *first_runtime != runtime => {
                return Agreement::Conflict {
                    first: (first_path.clone(), first_runtime.clone()),
                    second: (path.to_string(), runtime),
                };
            }
            Some(_) => {}
        }
    }
    match found {
        Some((_, runtime)) => Agreement::Agreed(runtime),
        None => Agreement::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(name: &str) -> (String, Option<String>, bool, bool) {
        let p = file_parts(name, &RuntimeTable::builtin());
        (p.name, p.runtime, p.binary, p.zipped)
    }

    fn rt(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn no_dot_or_leading_dot_is_binary_with_unknown_runtime() {
        assert_eq!(parts("hello"), ("hello".into(), None, true, false));
        assert_eq!(parts(".foo"), (".foo".into(), None, true, false));
    }

    #[test]
    fn one_dot_uses_the_extension() {
        assert_eq!(
            parts("a.js"),
            ("a".into(), rt("nodejs:default"), false, false)
        );
        assert_eq!(
            parts("a.ts"),
            ("a".into(), rt("nodejs:default"), false, false)
        );
        assert_eq!(
            parts("a.py"),
            ("a".into(), rt("python:default"), false, false)
        );
        assert_eq!(parts("a.go"), ("a".into(), rt("go:default"), false, false));
        assert_eq!(
            parts("a.php"),
            ("a".into(), rt("php:default"), false, false)
        );
        assert_eq!(parts("a.rb"), ("a".into(), None, false, false));
        assert_eq!(parts("a.zip"), ("a".into(), None, true, true));
        assert_eq!(parts("a.jar"), ("a".into(), None, true, false));
    }

    #[test]
    fn several_dots_without_zip_take_the_last_extension() {
        assert_eq!(
            parts("my.fn.js"),
            ("my.fn".into(), rt("nodejs:default"), false, false)
        );
        assert_eq!(parts("a.b.jar"), ("a.b".into(), None, true, false));
    }

    #[test]
    fn zip_mid_segment_names_a_runtime() {
        assert_eq!(
            parts("a.b.nodejs.zip"),
            ("a.b".into(), rt("nodejs:default"), true, true)
        );
        assert_eq!(
            parts("hello.nodejs-14.zip"),
            ("hello".into(), rt("nodejs:14"), true, true)
        );
        assert_eq!(
            parts("hello.python-3.9.zip"),
            ("hello".into(), rt("python:3.9"), true, true)
        );
        // The version rejoin needs a '-' in the segment before the digits.
        assert_eq!(parts("hello.x.9.zip"), ("hello.x".into(), None, true, true));
        // Only the first '-' becomes ':', so this one is invalid (legacy, kept).
        assert_eq!(
            parts("f.nodejs-lambda-14.zip"),
            ("f".into(), None, true, true)
        );
        assert_eq!(parts("f.nodejs-lambda-18.zip").1, None);
        assert_eq!(parts("f.unknown.zip"), ("f".into(), None, true, true));
    }

    #[test]
    fn validity_and_canonical_forms() {
        let t = RuntimeTable::builtin();
        assert!(t.is_valid("nodejs:default"));
        assert!(t.is_valid("nodejs-lambda:14"));
        assert!(!t.is_valid("nodejs-lambda:default"));
        assert!(!t.is_valid("xyz"));
        assert_eq!(t.canonical("go:default"), "go:1.17");
        assert_eq!(t.canonical("nodejs:18"), "nodejs:18");
    }

    #[test]
    fn agreement_detects_conflicts() {
        let t = RuntimeTable::builtin();
        assert_eq!(
            agree_on_runtime(["README", "index.js", "lib/util.js"], &t),
            Agreement::Agreed("nodejs:default".into())
        );
        assert_eq!(agree_on_runtime(["README"], &t), Agreement::None);
        assert!(matches!(
            agree_on_runtime(["index.js", "main.py"], &t),
            Agreement::Conflict { .. }
        ));
    }

    #[test]
    fn controller_runtimes_are_checked() {
        let info =
            serde_json::json!({"runtimes": {"nodejs": [{"kind": "nodejs:20", "default": true}]}});
        let t = RuntimeTable::from_controller_info(&info, "h").expect("valid");
        assert_eq!(t.canonical("nodejs:default"), "nodejs:20");
        let bad = serde_json::json!({"runtimes": {"nodejs": {"kind": "x"}}});
        assert_eq!(
            RuntimeTable::from_controller_info(&bad, "h")
                .expect_err("an object is not a list of kinds"),
            "Invalid runtime JSON received from platform API: h"
        );
    }
}
