//! Ownership of a data directory: one process at a time holds `daemon.lock` (an exclusive
//! advisory lock, released by the OS when the holder exits or is killed), and only the holder
//! runs the data directory's background work — the scheduler — so a trigger fires once
//! however many servers read the same database.
//!
//! A lock file left behind by a killed process is harmless: the lock, not the file, is what
//! counts, and the next owner takes it over. This sits at the bottom of the crate beside
//! [`crate::state`], which keeps the owner's lock for the life of its server.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::error::LocalError;
use crate::store;

/// The lock file in the data directory.
pub const LOCK_FILE: &str = "daemon.lock";

/// The held lock of a data directory; dropping it releases the directory.
#[derive(Debug)]
pub struct DataDirLock {
    path: PathBuf,
    _file: File,
}

impl DataDirLock {
    /// Takes the lock of `data_dir` if nobody holds it; `Ok(None)` when another process (or
    /// another lock in this one) does.
    pub fn try_acquire(data_dir: &Path) -> Result<Option<DataDirLock>, LocalError> {
        store::create_private_dir(data_dir)?;
        let path = data_dir.join(LOCK_FILE);
        let io = |source| LocalError::Io {
            path: path.clone(),
            source,
        };
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(DataDirLock { path, _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(io(e)),
        }
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_released_on_drop() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = DataDirLock::try_acquire(dir.path())
            .expect("lock")
            .expect("free at first");
        assert!(
            DataDirLock::try_acquire(dir.path())
                .expect("lock")
                .is_none()
        );
        drop(first);
        assert!(
            DataDirLock::try_acquire(dir.path())
                .expect("lock")
                .is_some()
        );
    }

    #[test]
    fn a_leftover_lock_file_is_taken_over() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(LOCK_FILE), b"12345\n").expect("leftover");
        assert!(
            DataDirLock::try_acquire(dir.path())
                .expect("lock")
                .is_some()
        );
    }
}
