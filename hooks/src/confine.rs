//! Keeping hook file access inside the project: paths are resolved against the project
//! directory and canonicalised (so `..` and symbolic links are followed) before the check.

use std::path::{Component, Path, PathBuf};

/// Why a path was refused or could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfineError {
    #[error("'{path}' is outside the project directory; hooks may only use files inside it")]
    Escapes { path: String },
    #[error("'{path}': {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

fn io(path: &str, source: std::io::Error) -> ConfineError {
    ConfineError::Io {
        path: path.to_string(),
        source,
    }
}

/// The canonical path of the existing file `path` (project-relative or absolute), if it lies
/// inside `root`.
pub fn existing(root: &Path, path: &str) -> Result<PathBuf, ConfineError> {
    let root = root
        .canonicalize()
        .map_err(|e| io(&root.display().to_string(), e))?;
    let full = root.join(path).canonicalize().map_err(|e| io(path, e))?;
    if full.starts_with(&root) {
        Ok(full)
    } else {
        Err(ConfineError::Escapes {
            path: path.to_string(),
        })
    }
}

/// A path inside `root` where a file may be written: its parent directories are created
/// (inside the project only) and an existing link out of the project is refused.
pub fn writable(root: &Path, path: &str) -> Result<PathBuf, ConfineError> {
    let root = root
        .canonicalize()
        .map_err(|e| io(&root.display().to_string(), e))?;
    let joined = root.join(path);
    // Refuse `..` that climbs above the project before creating anything.
    let mut depth: usize = 0;
    for c in Path::new(path).components() {
        match c {
            Component::ParentDir if depth == 0 => {
                return Err(ConfineError::Escapes {
                    path: path.to_string(),
                });
            }
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::RootDir | Component::Prefix(_) if !joined.starts_with(&root) => {
                return Err(ConfineError::Escapes {
                    path: path.to_string(),
                });
            }
            _ => {}
        }
    }
    let name = joined
        .file_name()
        .ok_or_else(|| ConfineError::Escapes {
            path: path.to_string(),
        })?
        .to_owned();
    let parent = joined.parent().unwrap_or(&root).to_path_buf();
    let parent_rel = parent
        .strip_prefix(&root)
        .unwrap_or(Path::new(""))
        .to_path_buf();
    // Create the parent one level at a time, checking each existing level so that a link
    // inside the project cannot lead the creation outside it.
    let mut at = root.clone();
    for c in parent_rel.components() {
        at.push(c);
        if !at.exists() {
            std::fs::create_dir(&at).map_err(|e| io(path, e))?;
        }
        let real = at.canonicalize().map_err(|e| io(path, e))?;
        if !real.starts_with(&root) {
            return Err(ConfineError::Escapes {
                path: path.to_string(),
            });
        }
        at = real;
    }
    let target = at.join(name);
    if let Ok(meta) = std::fs::symlink_metadata(&target)
        && meta.file_type().is_symlink()
    {
        let real = target.canonicalize().map_err(|e| io(path, e))?;
        if !real.starts_with(&root) {
            return Err(ConfineError::Escapes {
                path: path.to_string(),
            });
        }
    }
    Ok(target)
}

/// A display name for `file`: relative to `root` when it lies inside, else as given.
pub fn display_name(root: &Path, file: &Path) -> String {
    let root_c = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let file_c = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
    match file_c.strip_prefix(&root_c) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.to_string_lossy().replace('\\', "/"),
        _ => file.to_string_lossy().into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_escapes_and_links_out() -> Result<(), Box<dyn std::error::Error>> {
        let outside = tempfile::tempdir()?;
        std::fs::write(outside.path().join("secret"), "s")?;
        let project = tempfile::tempdir()?;
        std::fs::write(project.path().join("ok.txt"), "ok")?;
        assert!(existing(project.path(), "ok.txt").is_ok());
        assert!(existing(project.path(), "../x").is_err());
        let abs = outside.path().join("secret");
        assert!(matches!(
            existing(project.path(), &abs.display().to_string()),
            Err(ConfineError::Escapes { .. })
        ));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(outside.path(), project.path().join("out"))?;
            assert!(matches!(
                existing(project.path(), "out/secret"),
                Err(ConfineError::Escapes { .. })
            ));
            assert!(matches!(
                writable(project.path(), "out/new"),
                Err(ConfineError::Escapes { .. })
            ));
        }
        assert!(matches!(
            writable(project.path(), "../new"),
            Err(ConfineError::Escapes { .. })
        ));
        let w = writable(project.path(), "build/out/a.js")?;
        assert!(w.ends_with("build/out/a.js"));
        assert!(project.path().join("build/out").is_dir());
        Ok(())
    }
}
