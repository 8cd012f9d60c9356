//! The project's files as the engine sees them right after a read: directory listings come
//! from what the read already listed (its [`Snapshot`]), everything else from the disk. The
//! engine's planning and get-metadata's runtime filling follow the read at once, so the
//! listings are current; builds list through fresh `DiskFiles` of their own.

use std::path::{Path, PathBuf};

use sluice_core::files::{DiskFiles, Entry, ProjectFiles};

use crate::listing::{Listings, Snapshot};

/// [`DiskFiles`], with the last read's listings in front.
#[derive(Debug)]
pub struct ReadFiles {
    disk: DiskFiles,
    root: PathBuf,
    snapshot: Option<Snapshot>,
}

impl ReadFiles {
    /// The files of the project at `location`, with the listings of its last read on this
    /// thread, if it was the last read.
    pub fn new(location: &str) -> Self {
        let root = std::path::absolute(location).unwrap_or_else(|_| PathBuf::from(location));
        ReadFiles {
            disk: DiskFiles::new(&root),
            snapshot: Listings::last_read(&root),
            root,
        }
    }

    fn listed(&self, rel: &str) -> Option<&Vec<Entry>> {
        let path = if Path::new(rel).is_absolute() {
            PathBuf::from(rel)
        } else {
            self.root.join(rel)
        };
        self.snapshot.as_ref()?.get(&path)
    }
}

impl ProjectFiles for ReadFiles {
    fn root(&self) -> Option<&Path> {
        self.disk.root()
    }

    fn read(&self, rel: &str) -> sluice_core::Result<Vec<u8>> {
        self.disk.read(rel)
    }

    fn list(&self, rel_dir: &str) -> sluice_core::Result<Vec<Entry>> {
        match self.listed(rel_dir) {
            Some(entries) => Ok(entries.clone()),
            None => self.disk.list(rel_dir),
        }
    }

    fn exists(&self, rel: &str) -> bool {
        self.listed(rel).is_some() || self.disk.exists(rel)
    }

    fn is_dir(&self, rel: &str) -> bool {
        self.listed(rel).is_some() || self.disk.is_dir(rel)
    }
}
