//! The text of the project's small input files (`project.yml`, `.env`, `--env`, `${<file}`
//! files), kept between [`FsReader::manifest`](crate::FsReader) and the full read of the same
//! command, so each file is opened once per command.
//!
//! Why a process-wide table and not a field of `FsReader`: the reader is a unit struct that
//! the host registers as `Arc::new(FsReader)`, once per process, so a table per process is
//! the same thing without changing how it is built. The manifest *remembers* what it read;
//! the full read *takes* it (the entry is removed, so the table never grows past one
//! command's files). An entry is used only while the file's length and modification time
//! are still those it was read with (a `stat`, not an open), so an edit in between — `watch`
//! — is never hidden.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

/// How a read uses the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    /// Keep the text for a later [`CacheUse::Take`] (the manifest read).
    Remember,
    /// Use and drop a remembered text when it is still current (the full read).
    Take,
}

#[derive(Debug)]
struct Entry {
    len: u64,
    modified: Option<SystemTime>,
    text: String,
    /// Supplied ([`supply`]): stays for every read of the file, not only the next one.
    pinned: bool,
}

static TABLE: Mutex<Option<HashMap<PathBuf, Entry>>> = Mutex::new(None);

fn stamp(meta: &std::fs::Metadata) -> (u64, Option<SystemTime>) {
    (meta.len(), meta.modified().ok())
}

fn take_current(path: &Path) -> Option<String> {
    let mut table = TABLE.lock().ok()?;
    let table = table.as_mut()?;
    let entry = match table.get(path) {
        Some(e) if e.pinned => Entry {
            len: e.len,
            modified: e.modified,
            text: e.text.clone(),
            pinned: true,
        },
        _ => table.remove(path)?,
    };
    let meta = std::fs::metadata(path).ok()?;
    (stamp(&meta) == (entry.len, entry.modified)).then_some(entry.text)
}

/// Reads a file as UTF-8 text, through the table as `how` says.
pub fn read_to_string(path: &Path, how: CacheUse) -> std::io::Result<String> {
    if let Some(text) = take_current(path) {
        if how == CacheUse::Remember && !is_pinned(path) {
            remember(path, &text, false);
        }
        return Ok(text);
    }
    if how == CacheUse::Take {
        return std::fs::read_to_string(path);
    }
    let mut file = std::fs::File::open(path)?;
    let (len, modified) = stamp(&file.metadata()?);
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    if let Ok(mut table) = TABLE.lock() {
        table.get_or_insert_with(HashMap::new).insert(
            path.to_path_buf(),
            Entry {
                len,
                modified,
                text: text.clone(),
                pinned: false,
            },
        );
    }
    Ok(text)
}

/// Makes `text` stand for the file at `path` in every read of it while the file is
/// unchanged: how a slice's decrypted `project.yml` is read without writing its credentials
/// to the disk. The file must exist (its length and time are the entry's stamp).
pub fn supply(path: &Path, text: &str) {
    remember(path, text, true);
}

fn is_pinned(path: &Path) -> bool {
    TABLE
        .lock()
        .ok()
        .and_then(|t| t.as_ref().and_then(|t| t.get(path).map(|e| e.pinned)))
        .unwrap_or(false)
}

fn remember(path: &Path, text: &str, pinned: bool) {
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    let (len, modified) = stamp(&meta);
    if let Ok(mut table) = TABLE.lock() {
        table.get_or_insert_with(HashMap::new).insert(
            path.to_path_buf(),
            Entry {
                len,
                modified,
                text: text.to_string(),
                pinned,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_text_is_taken_once_and_only_while_current() -> std::io::Result<()> {
        let t = tempfile::tempdir()?;
        let path = t.path().join("project.yml");
        std::fs::write(&path, "a: 1\n")?;
        assert_eq!(read_to_string(&path, CacheUse::Remember)?, "a: 1\n");
        assert_eq!(read_to_string(&path, CacheUse::Take)?, "a: 1\n");
        // Taken: the next read goes to the disk.
        std::fs::write(&path, "b: 22\n")?;
        assert_eq!(read_to_string(&path, CacheUse::Take)?, "b: 22\n");
        // An edit after remembering wins.
        read_to_string(&path, CacheUse::Remember)?;
        std::fs::write(&path, "c: 333\n")?;
        assert_eq!(read_to_string(&path, CacheUse::Take)?, "c: 333\n");
        // A supplied text stands for the file it names, manifest and full read alike.
        supply(&path, "plain: text\n");
        assert_eq!(read_to_string(&path, CacheUse::Remember)?, "plain: text\n");
        assert_eq!(read_to_string(&path, CacheUse::Take)?, "plain: text\n");
        assert_eq!(read_to_string(&path, CacheUse::Take)?, "plain: text\n");
        // Until the file changes.
        std::fs::write(&path, "d: 4444\n")?;
        assert_eq!(read_to_string(&path, CacheUse::Take)?, "d: 4444\n");
        Ok(())
    }
}
