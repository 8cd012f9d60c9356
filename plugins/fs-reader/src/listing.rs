//! Directory listings, cached for the length of one read (spec §16 item 23: the original
//! listed every directory function again and again). The engine's build planning lists
//! through the reader's `ProjectFiles`, with its own cache.

use std::cell::RefCell;
use std::collections::HashMap;
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
}

impl Listings {
    pub fn new() -> Self {
        Self::default()
    }

    /// The entries of `dir`, sorted by name (for stable output across file systems).
    pub fn list(&self, dir: &Path) -> Result<Rc<Vec<Entry>>> {
        if let Some(hit) = self.dirs.borrow().get(dir) {
            return Ok(hit.clone());
        }
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| ReadError::io(dir, e))? {
            let entry = entry.map_err(|e| ReadError::io(dir, e))?;
            let is_dir = std::fs::metadata(entry.path()).is_ok_and(|m| m.is_dir());
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
            l.files(&d.join("a"), &Excluder::default())
                .expect("listing"),
            ["z.js"]
        );
        Ok(())
    }
}
