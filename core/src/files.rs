//! File access to a project, the one way the engine looks at a project's files.
//!
//! A reader hands out its project's files with `ProjectReader::files`: the file-system
//! reader (and the default) gives [`DiskFiles`]; a reader for another kind of location (a
//! slice, an archive, a plugin's format) may return its own implementation. The engine plans
//! builds (lists directories, agrees on runtimes) and chooses each function's builder only
//! through this trait, so such a project is planned like one on disk.
//!
//! Building is different: every builder (the finder's zip next to the sources, build
//! scripts, npm, go) works in a directory, so the engine builds only a project whose files
//! have a [`ProjectFiles::root`]. A reader whose project is not on disk materialises it (a
//! temporary copy) and returns `DiskFiles` for the copy; otherwise the build phase refuses
//! with an error saying so rather than failing inside a builder.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub is_dir: bool,
}

/// Read access to a project's files by project-relative, `/`-separated paths.
pub trait ProjectFiles: Send + Sync + std::fmt::Debug {
    /// The project's directory on disk, when it has one; builders need it.
    fn root(&self) -> Option<&Path>;
    /// The bytes of a file.
    fn read(&self, rel: &str) -> Result<Vec<u8>>;
    /// The entries of a directory, sorted by name.
    fn list(&self, rel_dir: &str) -> Result<Vec<Entry>>;
    /// Whether a file or directory exists.
    fn exists(&self, rel: &str) -> bool;
    /// Whether `rel` is a directory (symlinks followed). The default asks [`Self::list`].
    fn is_dir(&self, rel: &str) -> bool {
        self.list(rel).is_ok()
    }
}

/// A project on the local disk.
#[derive(Debug, Clone)]
pub struct DiskFiles {
    root: PathBuf,
}

impl DiskFiles {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DiskFiles { root: root.into() }
    }

    fn path(&self, rel: &str) -> PathBuf {
        let p = Path::new(rel);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.root.join(p)
        }
    }
}

impl ProjectFiles for DiskFiles {
    fn root(&self) -> Option<&Path> {
        Some(&self.root)
    }

    fn read(&self, rel: &str) -> Result<Vec<u8>> {
        let path = self.path(rel);
        std::fs::read(&path).map_err(|e| Error::io(path, e))
    }

    fn list(&self, rel_dir: &str) -> Result<Vec<Entry>> {
        let path = self.path(rel_dir);
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(&path).map_err(|e| Error::io(&path, e))? {
            let entry = entry.map_err(|e| Error::io(&path, e))?;
            // Symlinks are followed; a dangling one counts as a file. The entry's own type
            // costs nothing (readdir has it): only a symlink needs a `stat`.
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
        Ok(entries)
    }

    fn exists(&self, rel: &str) -> bool {
        self.path(rel).exists()
    }

    fn is_dir(&self, rel: &str) -> bool {
        self.path(rel).is_dir()
    }
}
