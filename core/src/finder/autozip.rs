//! Autozip: writes `__deployer__.zip` reproducibly (spec §7.7, with §16 item 17 fixed).
//!
//! Entries are sorted by name, every timestamp is the zip epoch (1980-01-01 00:00), the
//! creating system is always "Unix", permission bits are kept, and the compression level is
//! fixed, so the same files give the same bytes (and the same digest) on every run and every
//! machine. Symlinks are stored as symlinks when their target stays inside the zip; a link
//! that would point outside (or is absolute) is stored as the file it points to, so no entry
//! can reach outside the action directory when unpacked.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZipArchive, ZipWriter};

use crate::error::{Error, Result};

use super::walk::{Source, normalize};

fn options() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(6))
        .last_modified_time(DateTime::default())
        .system(System::Unix)
}

fn zip_error(path: &Path, e: zip::result::ZipError) -> Error {
    Error::io(path, std::io::Error::other(e))
}

/// Writes `sources` into a zip at `zip_path` (atomically: a temporary file, then a rename).
pub fn write_zip(zip_path: &Path, sources: &[Source]) -> Result<()> {
    let mut sorted: Vec<&Source> = sources.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let tmp = temporary_name(zip_path);
    let result = write_entries(&tmp, &sorted);
    match result {
        Ok(()) => std::fs::rename(&tmp, zip_path).map_err(|e| Error::io(zip_path, e)),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn temporary_name(zip_path: &Path) -> PathBuf {
    // `_tmp_` is on the system exclusion list, so a concurrent listing never picks it up.
    // Unique per process and call, so two functions sharing a directory never collide.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut name = zip_path.as_os_str().to_os_string();
    name.push(format!("._tmp_{}_{n}", std::process::id()));
    PathBuf::from(name)
}

fn write_entries(tmp: &Path, sources: &[&Source]) -> Result<()> {
    let file = File::create(tmp).map_err(|e| Error::io(tmp, e))?;
    let mut zip = ZipWriter::new(BufWriter::new(file));
    for source in sources {
        add_entry(&mut zip, source).map_err(|e| match e {
            EntryError::Io(e) => Error::io(&source.path, e),
            EntryError::Zip(e) => zip_error(tmp, e),
        })?;
    }
    let mut out = zip.finish().map_err(|e| zip_error(tmp, e))?;
    out.flush().map_err(|e| Error::io(tmp, e))?;
    Ok(())
}

enum EntryError {
    Io(std::io::Error),
    Zip(zip::result::ZipError),
}

impl From<std::io::Error> for EntryError {
    fn from(e: std::io::Error) -> Self {
        EntryError::Io(e)
    }
}

impl From<zip::result::ZipError> for EntryError {
    fn from(e: zip::result::ZipError) -> Self {
        EntryError::Zip(e)
    }
}

fn add_entry(zip: &mut ZipWriter<BufWriter<File>>, source: &Source) -> Result<(), EntryError> {
    let lstat = std::fs::symlink_metadata(&source.path)?;
    if lstat.file_type().is_symlink() {
        let target = std::fs::read_link(&source.path)?;
        if link_stays_inside(&source.name, &target) {
            let target = target.to_string_lossy().replace('\\', "/");
            zip.add_symlink(&source.name, target, options().unix_permissions(0o777))?;
            return Ok(());
        }
    }
    // Regular files, and links whose target would leave the zip: the contents.
    let meta = std::fs::metadata(&source.path)?;
    zip.start_file(&source.name, options().unix_permissions(mode_of(&meta)))?;
    let mut input = File::open(&source.path)?;
    std::io::copy(&mut input, zip)?;
    Ok(())
}

/// Whether a link at `name` (inside the zip) pointing at `target` stays inside the zip.
fn link_stays_inside(name: &str, target: &Path) -> bool {
    if target.is_absolute() || target.to_string_lossy().starts_with(['/', '\\']) {
        return false;
    }
    let parent = Path::new(name).parent().unwrap_or(Path::new(""));
    let resolved = normalize(&parent.join(target));
    !resolved.starts_with("..") && !resolved.as_os_str().is_empty()
}

#[cfg(unix)]
fn mode_of(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o777
}

#[cfg(not(unix))]
fn mode_of(meta: &std::fs::Metadata) -> u32 {
    if meta.permissions().readonly() {
        0o444
    } else {
        0o644
    }
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok()
}

/// Whether an existing zip can be reused: it exists, no source nor any of `inputs`
/// (`.include`, `.ignore`) is newer than it, and it holds exactly the same entry names.
pub fn reusable(zip_path: &Path, sources: &[Source], inputs: &[PathBuf]) -> bool {
    let Some(zip_time) = mtime(zip_path) else {
        return false;
    };
    let not_newer = |p: &Path| mtime(p).is_some_and(|t| t <= zip_time);
    if !sources.iter().all(|s| not_newer(&s.path)) {
        return false;
    }
    if !inputs.iter().filter(|p| p.exists()).all(|p| not_newer(p)) {
        return false;
    }
    let Ok(file) = File::open(zip_path) else {
        return false;
    };
    let Ok(archive) = ZipArchive::new(file) else {
        return false;
    };
    let Ok(mut in_zip) = archive
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<Vec<String>, _>>()
    else {
        return false;
    };
    in_zip.sort_unstable();
    let mut wanted: Vec<String> = sources.iter().map(|s| s.name.clone()).collect();
    wanted.sort_unstable();
    in_zip == wanted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_must_stay_inside() {
        assert!(link_stays_inside("a/b.js", Path::new("c.js")));
        assert!(link_stays_inside("a/b.js", Path::new("../c.js")));
        assert!(!link_stays_inside("b.js", Path::new("../c.js")));
        assert!(!link_stays_inside("a/b.js", Path::new("../../c.js")));
        assert!(!link_stays_inside("b.js", Path::new("/etc/passwd")));
        assert!(!link_stays_inside("b.js", Path::new(".")));
    }
}
