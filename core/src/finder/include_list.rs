//! `.include` (or the legacy `.source`): the authoritative list of a function's files
//! (spec §7.5).
//!
//! Unlike the original, a `..` item is normalised and must land inside `<project>/lib`
//! (`../../../lib/../../etc` and `../../../library` are refused; spec §16 item 15).

use std::path::Path;

use crate::error::{Error, Result};
use crate::system_ignore::SystemIgnore;

use super::walk::{Source, list_files, normalize, slash_path};

/// The files an `.include` file names, directory expansions first (the original's order).
///
/// `include_file` is the `.include` (or `.source`) path, `action_dir` the absolute action
/// directory and `rel_dir` its project-relative form for messages.
pub(crate) fn included_files(
    include_file: &Path,
    action_dir: &Path,
    rel_dir: &str,
    project_dir: &Path,
    system_ignore: &SystemIgnore,
) -> Result<Vec<Source>> {
    let text = std::fs::read_to_string(include_file).map_err(|e| Error::io(include_file, e))?;
    let items: Vec<&str> = text
        .split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let lib = normalize(&project_dir.join("lib"));
    for item in &items {
        check_item(item, action_dir, &lib)?;
    }

    let mut dirs = Vec::new();
    let mut files = Vec::new();
    for item in items {
        let item = item
            .strip_prefix("./")
            .or_else(|| item.strip_prefix(".\\"))
            .unwrap_or(item);
        let item = item.trim_end_matches(['/', '\\']);
        let joined = normalize(&action_dir.join(item));
        let shown = format!("{rel_dir}/{item}");
        let meta = std::fs::metadata(&joined).map_err(|_| Error::Project {
            message: format!("{shown} is included for '{rel_dir}' but does not exist"),
            help: Some(format!(
                "fix or remove the line '{item}' of {rel_dir}/.include"
            )),
        })?;
        let name = if item.contains("..") {
            joined
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        } else {
            slash_path(Path::new(item))
        };
        let name = if name == "." { String::new() } else { name };
        if meta.is_dir() {
            let mut expanded = list_files(&joined, &name, system_ignore, None)?;
            if name.is_empty() {
                expanded.retain(|s| s.name != super::ZIP_NAME);
            }
            dirs.extend(expanded);
        } else if meta.is_file() {
            if system_ignore.is_excluded(&name) {
                continue;
            }
            files.push(Source {
                path: action_dir.join(item),
                name,
            });
        } else {
            return Err(Error::project(format!(
                "'{item}' is neither a file nor a directory"
            )));
        }
    }
    dirs.extend(files);
    let mut seen = std::collections::BTreeSet::new();
    dirs.retain(|s| seen.insert(s.name.clone()));
    Ok(dirs)
}

/// The legality rules alone, over the `.include` (else `.source`) of `action_dir`, if it has
/// one: a remote build checks them before it sends anything (spec §6.4).
pub fn check_include_file(action_dir: &Path, project_dir: &Path) -> Result<()> {
    let Some(file) = [".include", ".source"]
        .iter()
        .map(|n| action_dir.join(n))
        .find(|p| p.is_file())
    else {
        return Ok(());
    };
    let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
    let lib = normalize(&project_dir.join("lib"));
    text.split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .try_for_each(|item| check_item(item, action_dir, &lib))
}

/// The legality rules, checked for every line before anything else.
pub(crate) fn check_item(item: &str, action_dir: &Path, lib: &Path) -> Result<()> {
    if Path::new(item).is_absolute() || item.starts_with('/') || item.starts_with('\\') {
        return Err(Error::Project {
            message: "Absolute paths are prohibited in an '.include' file".to_string(),
            help: Some(format!(
                "make '{item}' relative to the function's directory"
            )),
        });
    }
    if item.contains("..") {
        let target = normalize(&action_dir.join(item));
        if !target.starts_with(lib) {
            return Err(Error::Project {
                message: "Illegal use of '..' in an '.include' file".to_string(),
                help: Some(format!(
                    "'{item}' leaves the function's directory; only files under the project's lib/ may be reached with '..' (for example ../../../lib/common)"
                )),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legality_normalises_parent_references() {
        let action = Path::new("/p/packages/pkg/a");
        let lib = Path::new("/p/lib");
        assert!(check_item("../../../lib/common", action, lib).is_ok());
        assert!(check_item("../../../lib", action, lib).is_ok());
        assert!(check_item("src/x.js", action, lib).is_ok());
        for bad in [
            "../../../lib/../../etc/passwd",
            "../../../library/x",
            "../b/x.js",
            "..",
        ] {
            let e = check_item(bad, action, lib).expect_err(bad);
            assert_eq!(e.to_string(), "Illegal use of '..' in an '.include' file");
        }
        let e = check_item("/etc/passwd", action, lib).expect_err("absolute");
        assert_eq!(
            e.to_string(),
            "Absolute paths are prohibited in an '.include' file"
        );
    }
}
