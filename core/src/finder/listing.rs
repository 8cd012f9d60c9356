//! The plain listing of a function directory, less `.ignore` patterns (spec §7.6).
//!
//! Patterns have gitignore semantics and are matched relative to the *action directory*, so
//! anchored patterns (`/x.js`, `src/x.js`) mean what a git user expects (a deliberate fix of
//! spec §16 item 16). `.ignore`, `build.sh`, `build.cmd` and `__deployer__.zip` are always
//! left out, at any depth, as the original does; so is the `.built` marker (the original
//! zipped it, spec §16 item 19), because a marker is not code and zipping it would change the
//! artifact's digest between a fresh and an incremental build.

use std::path::Path;
use std::sync::Arc;

use ignore::gitignore::GitignoreBuilder;

use crate::error::{Error, Result};
use crate::system_ignore::SystemIgnore;

use super::walk::{Source, list_files};

/// Entries that never belong to a function's files.
const ALWAYS_IGNORED: &[&str] = &[
    ".ignore",
    ".built",
    "build.sh",
    "build.cmd",
    super::ZIP_NAME,
];

/// Every file of `action_dir` that `.ignore` and the exclusion list let through.
pub(crate) fn listed_files(
    action_dir: &Path,
    rel_dir: &str,
    system_ignore: &SystemIgnore,
) -> Result<Vec<Source>> {
    let mut builder = GitignoreBuilder::new(action_dir);
    let ignore_file = action_dir.join(".ignore");
    if ignore_file.is_file() {
        let text = std::fs::read_to_string(&ignore_file).map_err(|e| Error::io(&ignore_file, e))?;
        for (n, line) in text.lines().enumerate() {
            builder.add_line(None, line).map_err(|e| Error::Project {
                message: format!("{rel_dir}/.ignore, line {}: {e}", n + 1),
                help: Some(
                    "use gitignore pattern syntax (https://git-scm.com/docs/gitignore)".to_string(),
                ),
            })?;
        }
    }
    for pattern in ALWAYS_IGNORED {
        builder
            .add_line(None, pattern)
            .map_err(|e| Error::project(e.to_string()))?;
    }
    let matcher = builder.build().map_err(|e| Error::Project {
        message: format!("{rel_dir}/.ignore: {e}"),
        help: Some("use gitignore pattern syntax (https://git-scm.com/docs/gitignore)".to_string()),
    })?;
    list_files(action_dir, "", system_ignore, Some(Arc::new(matcher)))
}
