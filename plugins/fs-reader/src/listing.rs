//! Directory listings, cached for the length of one read (spec §16 item 23: the original
//! listed every directory function again and again). The engine's build planning lists
//! through the reader's `ProjectFiles`, with its own cache.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use sluice_core::SystemIgnore;

use crate::error::{ReadError, Result};

/// One entry of a directory (symlinks followed; a dangling one counts as a file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub is_dir: bool,
}

/// Cached listings of one project.
#[derive(Debug, Default)]
pub struct Listings {
    dirs: RefCell<HashMap<PathBuf, Rc<Vec<Entry>>>>,
}

thread_local! {
    /// The listings of the last read on this thread, for the engine's planning and runtime
    /// filling that run right after it through [`crate::files::ReadFiles`].
    static LAST_READ: RefCell<Option<(PathBuf, Snapshot)>> = const { RefCell::new(None) };
}

/// A read's listings, frozen: directory (absolute) → its entries.
pub type Snapshot = Arc<HashMap<PathBuf, Vec<sluice_core::files::Entry>>>;

impl Listings {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps a read's listings for [`Listings::last_read`] of the same project on this
    /// thread, replacing any kept before: the engine plans the project and get-metadata fills
    /// its runtimes right after the read, and without this they listed every directory
    /// function a second and a third time.
    pub fn hand_over(self, project_dir: &Path) {
        let snapshot: HashMap<PathBuf, Vec<sluice_core::files::Entry>> = self
            .dirs
            .into_inner()
            .into_iter()
            .map(|(dir, entries)| {
                let entries = entries
                    .iter()
                    .map(|e| sluice_core::files::Entry {
                        name: e.name.clone(),
                        is_dir: e.is_dir,
                    })
                    .collect();
                (dir, entries)
            })
            .collect();
        let kept = (project_dir.to_path_buf(), Arc::new(snapshot));
        LAST_READ.with(|slot| *slot.borrow_mut() = Some(kept));
    }

    /// The listings the last read of `project_dir` on this thread handed over, if it was
    /// the last read. Only for work that follows that read at once.
    pub fn last_read(project_dir: &Path) -> Option<Snapshot> {
        LAST_READ.with(|slot| match &*slot.borrow() {
            Some((dir, snapshot)) if dir == project_dir => Some(snapshot.clone()),
            _ => None,
        })
    }

    /// The entries of `dir`, sorted by name (for stable output across file systems).
    pub fn list(&self, dir: &Path) -> Result<Rc<Vec<Entry>>> {
        if let Some(hit) = self.dirs.borrow().get(dir) {
            return Ok(hit.clone());
        }
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| ReadError::io(dir, e))? {
            let entry = entry.map_err(|e| ReadError::io(dir, e))?;
            // The entry's own type costs nothing (readdir has it); only a symlink needs a
            // `stat` to follow it.
            let is_dir = match entry.file_type() {
                Ok(t) if !t.is_symlink() => t.is_dir(),
                _ => std::fs::metadata(entry.path()).is_ok_and(|m| m.is_dir()),
            };
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str() else {
                return Err(ReadError::project_with_help(
                    format!(
                        "{}: the file name is not valid UTF-8",
                        dir.join(sluice_core::names::escaped_os_name(&file_name))
                            .display()
                    ),
                    "rename it: names of files, functions and packages must be UTF-8 (a zip or an entity cannot carry these bytes faithfully)",
                ));
            };
            entries.push(Entry {
                name: name.to_string(),
                is_dir,
            });
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let entries = Rc::new(entries);
        self.dirs
            .borrow_mut()
            .insert(dir.to_path_buf(), entries.clone());
        Ok(entries)
    }

    /// Names of the files (not directories) of `dir`, less the exclusion list (matched
    /// against the bare name, as the original's `filterFiles` did).
    pub fn files(&self, dir: &Path, system_ignore: &SystemIgnore) -> Result<Vec<String>> {
        Ok(self
            .list(dir)?
            .iter()
            .filter(|e| !e.is_dir && !system_ignore.is_excluded(&e.name))
            .map(|e| e.name.clone())
            .collect())
    }
}

/// `a/b` + `c` → `a/b/c`; an empty base gives the name alone.
pub fn join_rel(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_string()
    } else {
        format!("{base}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_the_directory_files_less_the_exclusion_list() -> std::io::Result<()> {
        let t = tempfile::tempdir()?;
        let d = t.path();
        std::fs::create_dir_all(d.join("a/sub1"))?;
        std::fs::write(d.join("a/z.js"), "")?;
        std::fs::write(d.join("a/b.js~"), "")?;
        let l = Listings::new();
        assert_eq!(
            l.files(&d.join("a"), &SystemIgnore::default())
                .expect("listing"),
            ["z.js"]
        );
        Ok(())
    }
}
