//! Directory listings, cached for the length of one read (spec §16 item 23: the original
//! listed every directory function again and again — at scan, at planning, for runtime
//! agreement, and once more in `get-metadata`).

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use sluice_core::Excluder;

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
    trees: RefCell<HashMap<PathBuf, Rc<Vec<String>>>>,
}

thread_local! {
    /// The listings of the last read on this thread, for the runtime filling that
    /// `get-metadata` runs right after it (see [`Listings::hand_over`]).
    static LAST_READ: RefCell<Option<(PathBuf, Listings)>> = const { RefCell::new(None) };
}

impl Listings {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps a read's listings for the next [`Listings::take_over`] of the same project on
    /// this thread, replacing any kept before. `get-metadata` fills runtimes right after the
    /// read; without this it listed every directory function a second time.
    pub fn hand_over(self, project_dir: &Path) {
        LAST_READ.with(|slot| *slot.borrow_mut() = Some((project_dir.to_path_buf(), self)));
    }

    /// The listings the last read of `project_dir` on this thread handed over (taken, so
    /// used once), else fresh ones. Only for work that follows that read at once.
    pub fn take_over(project_dir: &Path) -> Self {
        LAST_READ.with(|slot| {
            let mut slot = slot.borrow_mut();
            match slot.take() {
                Some((dir, listings)) if dir == project_dir => listings,
                _ => Listings::new(),
            }
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
            entries.push(Entry {
                name: entry.file_name().to_string_lossy().into_owned(),
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
    pub fn files(&self, dir: &Path, excluder: &Excluder) -> Result<Vec<String>> {
        Ok(self
            .list(dir)?
            .iter()
            .filter(|e| !e.is_dir && !excluder.is_excluded(&e.name))
            .map(|e| e.name.clone())
            .collect())
    }

    /// Every file below `dir` as a project-relative path (`rel_dir` is `dir` relative to the
    /// project), less the exclusion list. Order: the directory's own files first, then its
    /// subdirectories depth-first, last discovered first (the original's order, which decides
    /// runtime agreement). Symlinked directories are followed once.
    pub fn tree(&self, dir: &Path, rel_dir: &str, excluder: &Excluder) -> Rc<Vec<String>> {
        if let Some(hit) = self.trees.borrow().get(dir) {
            return hit.clone();
        }
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut stack = vec![(dir.to_path_buf(), rel_dir.to_string())];
        while let Some((path, rel)) = stack.pop() {
            if !seen.insert(identity(&path)) {
                continue;
            }
            let Ok(entries) = self.list(&path) else {
                continue;
            };
            for e in entries.iter() {
                let child = join_rel(&rel, &e.name);
                if e.is_dir {
                    stack.push((path.join(&e.name), child));
                } else if !excluder.is_excluded(&child) {
                    out.push(child);
                }
            }
        }
        let out = Rc::new(out);
        self.trees
            .borrow_mut()
            .insert(dir.to_path_buf(), out.clone());
        out
    }
}

/// What makes a directory the same one when reached twice (through a symlink). On Unix the
/// device and inode: one `stat`, where `canonicalize` reads every component's link.
#[cfg(unix)]
fn identity(path: &Path) -> (u64, u64, PathBuf) {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(m) => (m.dev(), m.ino(), PathBuf::new()),
        Err(_) => (0, 0, path.to_path_buf()),
    }
}

#[cfg(not(unix))]
fn identity(path: &Path) -> (u64, u64, PathBuf) {
    (
        0,
        0,
        path.canonicalize().unwrap_or_else(|_| path.to_path_buf()),
    )
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
    fn tree_lists_files_first_then_subdirectories_and_excludes() -> std::io::Result<()> {
        let t = tempfile::tempdir()?;
        let d = t.path();
        std::fs::create_dir_all(d.join("a/sub1"))?;
        std::fs::create_dir_all(d.join("a/sub2/.git"))?;
        std::fs::write(d.join("a/z.js"), "")?;
        std::fs::write(d.join("a/b.js~"), "")?;
        std::fs::write(d.join("a/sub1/x.py"), "")?;
        std::fs::write(d.join("a/sub2/y.go"), "")?;
        std::fs::write(d.join("a/sub2/.git/config"), "")?;
        let l = Listings::new();
        let tree = l.tree(&d.join("a"), "packages/p/a", &Excluder::default());
        assert_eq!(
            tree.as_slice(),
            [
                "packages/p/a/z.js",
                "packages/p/a/sub2/y.go",
                "packages/p/a/sub1/x.py"
            ]
        );
        assert_eq!(
            l.files(&d.join("a"), &Excluder::default())
                .expect("listing"),
            ["z.js"]
        );
        Ok(())
    }
}
