//! Recursive listing of a directory's files, shared by `.include` expansion and the plain
//! listing: files only, symlinked directories followed, the system exclusion list and an
//! optional gitignore matcher applied relative to the walked directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ignore::WalkBuilder;
use ignore::gitignore::Gitignore;

use crate::error::{Error, Result};
use crate::system_ignore::SystemIgnore;

/// One file to deploy: where it is on disk and what it is called in the artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The file on disk (symlinks are not resolved).
    pub path: PathBuf,
    /// Its name in the zip: relative, `/`-separated, never `..`.
    pub name: String,
}

/// `/`-separated form of a relative path.
pub(crate) fn slash_path(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Every file under `dir`, named `<prefix>/<relative path>` (or just the relative path when
/// `prefix` is empty), in sorted depth-first order.
pub(crate) fn list_files(
    dir: &Path,
    prefix: &str,
    system_ignore: &SystemIgnore,
    ignore: Option<Arc<Gitignore>>,
) -> Result<Vec<Source>> {
    let root = dir.to_path_buf();
    let filter_root = root.clone();
    let ignore_in_filter = system_ignore.clone();
    let mut walker = WalkBuilder::new(&root);
    walker
        .standard_filters(false)
        .follow_links(true)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(move |entry| {
            let Ok(rel) = entry.path().strip_prefix(&filter_root) else {
                return true;
            };
            if rel.as_os_str().is_empty() {
                return true;
            }
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            if ignore_in_filter.is_excluded(&slash_path(rel)) {
                return false;
            }
            ignore
                .as_ref()
                .is_none_or(|gi| !gi.matched(rel, is_dir).is_ignore())
        });
    let mut files = Vec::new();
    for entry in walker.build() {
        let entry = entry.map_err(|e| Error::Project {
            message: format!("Could not list the files of {}: {e}", root.display()),
            help: Some("check for symbolic-link loops and unreadable directories".to_string()),
        })?;
        let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
        if is_dir {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(&root) else {
            continue;
        };
        if rel.as_os_str().is_empty() {
            continue;
        }
        if rel.to_str().is_none() {
            return Err(non_utf8(&root, rel));
        }
        let rel = slash_path(rel);
        let name = if prefix.is_empty() {
            rel
        } else {
            format!("{prefix}/{rel}")
        };
        files.push(Source {
            path: entry.into_path(),
            name,
        });
    }
    Ok(files)
}

/// A file whose name is not UTF-8 cannot be named faithfully in a zip (U+FFFD would stand
/// for its bytes, so two files could take one name): it is refused, bytes escaped.
fn non_utf8(root: &Path, rel: &Path) -> Error {
    let shown: Vec<String> = rel
        .components()
        .map(|c| crate::names::escaped_os_name(c.as_os_str()))
        .collect();
    Error::Project {
        message: format!(
            "{}/{}: the file name is not valid UTF-8",
            root.display(),
            shown.join("/")
        ),
        help: Some("rename the file: names in a function's zip must be UTF-8".to_string()),
    }
}

/// Resolves `.` and `..` without touching the disk.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}
