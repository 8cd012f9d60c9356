//! The system exclusion list (spec §2.5): files that are never part of a function or a
//! project, whatever the project says — git metadata, editor leftovers, sluice's own state.
//!
//! The original matched globs whose effect depended on where they were applied; this
//! implements the stated intent everywhere: drop `.gitignore` and `.DS_Store` at any depth,
//! anything inside `.git/`, `*~`, `.#*`, `*.swp`, `*.swx`, and any path containing
//! `.nimbella`, `.deployed` or `_tmp_`. Users add glob patterns in `<home>/.exclude`.

use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};

/// Decides which files are excluded.
#[derive(Debug, Clone, Default)]
pub struct SystemIgnore {
    extra: Option<GlobSet>,
    extra_patterns: Vec<String>,
}

impl SystemIgnore {
    /// The system list plus extra glob patterns (one per entry; blank entries are ignored).
    /// Patterns that are not valid globs are returned as errors so the caller can warn.
    pub fn new<I, S>(extra: I) -> (Self, Vec<String>)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut builder = GlobSetBuilder::new();
        let mut patterns = Vec::new();
        let mut bad = Vec::new();
        for p in extra {
            let p = p.as_ref().trim();
            if p.is_empty() || p.starts_with('#') {
                continue;
            }
            match Glob::new(p) {
                Ok(g) => {
                    builder.add(g);
                    patterns.push(p.to_string());
                }
                Err(e) => bad.push(format!("ignoring exclusion pattern '{p}': {e}")),
            }
        }
        let extra = if patterns.is_empty() {
            None
        } else {
            builder.build().ok()
        };
        (
            SystemIgnore {
                extra,
                extra_patterns: patterns,
            },
            bad,
        )
    }

    /// The system list plus the patterns of `<dir>/.exclude`, if that file exists.
    pub fn with_user_file(dir: Option<&Path>) -> (Self, Vec<String>) {
        let lines = dir
            .map(|d| d.join(".exclude"))
            .and_then(|f| std::fs::read_to_string(f).ok())
            .unwrap_or_default();
        Self::new(lines.lines())
    }

    /// The user's extra patterns, for display.
    pub fn extra_patterns(&self) -> &[String] {
        &self.extra_patterns
    }

    /// Whether a path (relative, `/`-separated, or a bare file name) is excluded.
    pub fn is_excluded(&self, rel_path: &str) -> bool {
        let path = rel_path.replace('\\', "/");
        let base = path.rsplit('/').next().unwrap_or(&path);
        let system = base == ".gitignore"
            || base == ".DS_Store"
            || base.ends_with('~')
            || base.ends_with(".swp")
            || base.ends_with(".swx")
            || path.contains(".#")
            || path.contains(".nimbella")
            || path.contains(".deployed")
            || path.contains("_tmp_")
            || path.split('/').rev().skip(1).any(|c| c == ".git");
        system
            || self
                .extra
                .as_ref()
                .is_some_and(|g| g.is_match(&path) || g.is_match(base))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_patterns_match_anywhere() {
        let (x, bad) = SystemIgnore::new(Vec::<String>::new());
        assert!(bad.is_empty());
        for p in [
            ".gitignore",
            "packages/p/a/.gitignore",
            ".DS_Store",
            "lib/sub/.DS_Store",
            "packages/p/a/.git/config",
            "foo.js~",
            "packages/p/a/.x.js.swp",
            "a.swx",
            "packages/p/.#lock",
            "x/.nimbella/y",
            ".deployed/versions.json",
            "packages/p/a/_tmp_1",
        ] {
            assert!(x.is_excluded(p), "{p} should be excluded");
        }
        for p in [
            "index.js",
            "packages/p/a/src/x.js",
            ".git",
            "gitignore",
            "lib/common/foo.js",
        ] {
            assert!(!x.is_excluded(p), "{p} should be kept");
        }
    }

    #[test]
    fn user_patterns_are_added() {
        let (x, bad) = SystemIgnore::new(["*.log", "", "# comment", "[bad"]);
        assert_eq!(bad.len(), 1);
        assert!(x.is_excluded("debug.log"));
        assert!(x.is_excluded("packages/p/a/debug.log"));
        assert!(!x.is_excluded("debug.txt"));
    }
}
