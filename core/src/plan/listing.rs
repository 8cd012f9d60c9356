//! Directory listings through [`ProjectFiles`], cached for the length of one planning pass:
//! a directory function is listed for its builder's detection and again for runtime
//! agreement, and the original listed every one of them again and again (spec §16 item 23).

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::rc::Rc;

use crate::error::Result;
use crate::exclude::Excluder;
use crate::files::{Entry, ProjectFiles};

/// Deeper than this, a project that is not on disk (where symlink loops cannot be told
/// apart by their canonical path) is assumed to loop.
const MAX_DEPTH_OFF_DISK: usize = 64;

/// Cached listings of one project, by project-relative directory.
pub(crate) struct Listing<'a> {
    files: &'a dyn ProjectFiles,
    dirs: RefCell<HashMap<String, Rc<Vec<Entry>>>>,
}

impl<'a> Listing<'a> {
    pub(crate) fn new(files: &'a dyn ProjectFiles) -> Self {
        Listing {
            files,
            dirs: RefCell::new(HashMap::new()),
        }
    }

    /// The entries of `rel_dir`, sorted by name.
    pub(crate) fn list(&self, rel_dir: &str) -> Result<Rc<Vec<Entry>>> {
        if let Some(hit) = self.dirs.borrow().get(rel_dir) {
            return Ok(hit.clone());
        }
        let entries = Rc::new(self.files.list(rel_dir)?);
        self.dirs
            .borrow_mut()
            .insert(rel_dir.to_string(), entries.clone());
        Ok(entries)
    }

    /// Whether `rel` is a directory.
    pub(crate) fn is_dir(&self, rel: &str) -> bool {
        self.dirs.borrow().contains_key(rel) || self.files.is_dir(rel)
    }

    /// Names of the files (not directories) of `rel_dir`, less the exclusion list (matched
    /// against the bare name, as the original's `filterFiles` did).
    pub(crate) fn file_names(&self, rel_dir: &str, excluder: &Excluder) -> Result<Vec<String>> {
        Ok(self
            .list(rel_dir)?
            .iter()
            .filter(|e| !e.is_dir && !excluder.is_excluded(&e.name))
            .map(|e| e.name.clone())
            .collect())
    }

    /// Every file below `rel_dir` as a project-relative path, less the exclusion list. Order:
    /// the directory's own files first, then its subdirectories depth-first, last discovered
    /// first (the original's order, which decides runtime agreement). Symlinked directories
    /// are followed once.
    pub(crate) fn tree(&self, rel_dir: &str, excluder: &Excluder) -> Vec<String> {
        let mut out = Vec::new();
        let mut seen: HashSet<(u64, u64, PathBuf)> = HashSet::new();
        let mut stack = vec![(rel_dir.to_string(), 0usize)];
        while let Some((rel, depth)) = stack.pop() {
            let identity = match self.files.root() {
                Some(root) => identity(&root.join(&rel)),
                None if depth > MAX_DEPTH_OFF_DISK => continue,
                None => (0, 0, PathBuf::from(&rel)),
            };
            if !seen.insert(identity) {
                continue;
            }
            let Ok(entries) = self.list(&rel) else {
                continue;
            };
            for e in entries.iter() {
                let child = join_rel(&rel, &e.name);
                if e.is_dir {
                    stack.push((child, depth + 1));
                } else if !excluder.is_excluded(&child) {
                    out.push(child);
                }
            }
        }
        out
    }
}

/// What makes a directory the same one when reached twice (through a symlink). On Unix the
/// device and inode: one `stat`, where `canonicalize` reads every component's link.
#[cfg(unix)]
fn identity(path: &std::path::Path) -> (u64, u64, PathBuf) {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(m) => (m.dev(), m.ino(), PathBuf::new()),
        Err(_) => (0, 0, path.to_path_buf()),
    }
}

#[cfg(not(unix))]
fn identity(path: &std::path::Path) -> (u64, u64, PathBuf) {
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    (0, 0, canonical)
}

/// `a/b` + `c` → `a/b/c`; an empty base gives the name alone.
fn join_rel(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_string()
    } else {
        format!("{base}/{name}")
    }
}
