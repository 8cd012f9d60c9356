//! The slice store: where remote builds put their project slices on the local namespace,
//! the local stand-in for the builder's S3 bucket (deployer spec §12.1 step 4–5, §12.5).
//!
//! Layout under the data directory: `slices/<namespace>/<id>.pending` while an upload is
//! allowed (written by `getUploadUrl`), then `slices/<namespace>/<id>.zip` once the slice
//! is uploaded. A slice's name is `<namespace>/<id>`, what `getUploadUrl` answers and
//! `sluice deploy slice:<name>` reads.
//!
//! Why it is built this way:
//! - The upload URL carries no credentials (the original client `PUT`s to a presigned S3 URL
//!   with no authorization), so the store accepts one upload per issued name and nothing else:
//!   the `.pending` marker is the permission, and the random id makes it unguessable.
//! - Names are checked before they become paths: a namespace name and a 32-digit hex id,
//!   never `..` or a separator, so no request reaches outside `slices/`.
//! - Uploads are written to a temporary file and renamed into place, so a reader never sees
//!   half a slice; the directory is private (0700) because slices hold encrypted credentials.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::LocalError;
use crate::store;

/// The store's directory under the data directory.
pub const SLICES_DIR: &str = "slices";

/// The route of an upload URL (served by [`crate::run::slice_upload`]).
pub const UPLOAD_PATH: &str = "/sluice/v1/slices/{ns}/{id}";

/// The upload URL of `name` on the server at `api_host`.
pub fn upload_url(api_host: &str, name: &SliceName) -> String {
    format!("{}/sluice/v1/slices/{name}", api_host.trim_end_matches('/'))
}

/// A slice name that is not one the store issues.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{0}' is not a slice name of the local namespace (they are written <namespace>/<32 hex digits>, as getUploadUrl answers)"
)]
pub struct BadSliceName(pub String);

/// A checked slice name: `<namespace>/<id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SliceName {
    namespace: String,
    id: String,
}

impl SliceName {
    /// Parses `<namespace>/<id>`.
    pub fn parse(name: &str) -> Result<Self, BadSliceName> {
        let bad = || BadSliceName(name.to_string());
        let (namespace, id) = name.split_once('/').ok_or_else(bad)?;
        let ns_ok = !namespace.is_empty()
            && namespace.len() <= 256
            && namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
            && !namespace.starts_with('.');
        let id_ok = id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit());
        if !ns_ok || !id_ok {
            return Err(bad());
        }
        Ok(SliceName {
            namespace: namespace.to_string(),
            id: id.to_ascii_lowercase(),
        })
    }

    /// A fresh name in `namespace`.
    fn fresh(namespace: &str) -> Self {
        SliceName {
            namespace: namespace.to_string(),
            id: uuid::Uuid::new_v4().simple().to_string(),
        }
    }

    /// The namespace whose slice this is.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }
}

impl std::fmt::Display for SliceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.id)
    }
}

fn ns_dir(data_dir: &Path, name: &SliceName) -> PathBuf {
    data_dir.join(SLICES_DIR).join(&name.namespace)
}

fn pending_path(data_dir: &Path, name: &SliceName) -> PathBuf {
    ns_dir(data_dir, name).join(format!("{}.pending", name.id))
}

/// Where the uploaded slice `name` is (it may not exist).
pub fn zip_path(data_dir: &Path, name: &SliceName) -> PathBuf {
    ns_dir(data_dir, name).join(format!("{}.zip", name.id))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LocalError + '_ {
    move |source| LocalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Issues a new slice name in `namespace` and allows one upload to it.
pub fn issue(data_dir: &Path, namespace: &str) -> Result<SliceName, LocalError> {
    let name = SliceName::fresh(namespace);
    store::create_private_dir(&data_dir.join(SLICES_DIR))?;
    let dir = ns_dir(data_dir, &name);
    store::create_private_dir(&dir)?;
    let pending = pending_path(data_dir, &name);
    std::fs::write(&pending, b"").map_err(io(&pending))?;
    Ok(name)
}

/// What an upload came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upload {
    /// The slice is stored.
    Stored,
    /// No upload is allowed to this name (never issued, or already uploaded).
    NotAllowed,
}

/// Stores `bytes` as the slice `name`, when an upload to it is allowed.
pub fn put(data_dir: &Path, name: &SliceName, bytes: &[u8]) -> Result<Upload, LocalError> {
    let pending = pending_path(data_dir, name);
    if !pending.is_file() {
        return Ok(Upload::NotAllowed);
    }
    let dir = ns_dir(data_dir, name);
    let target = zip_path(data_dir, name);
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(io(&dir))?;
    tmp.write_all(bytes).map_err(io(&target))?;
    tmp.as_file().sync_all().map_err(io(&target))?;
    tmp.persist(&target).map_err(|e| LocalError::Io {
        path: target.clone(),
        source: e.error,
    })?;
    std::fs::remove_file(&pending).map_err(io(&pending))?;
    Ok(Upload::Stored)
}

/// Removes the slice `name` (after a build that deployed it without failures).
pub fn remove(data_dir: &Path, name: &SliceName) -> Result<(), LocalError> {
    let path = zip_path(data_dir, name);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(&path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_before_they_become_paths() {
        assert!(SliceName::parse("local/0123456789abcdef0123456789abcdef").is_ok());
        for bad in [
            "local",
            "local/",
            "../x/0123456789abcdef0123456789abcdef",
            "local/../0123456789abcdef0123456789ab",
            "local/0123456789abcdef0123456789abcdeg",
            "a/b/0123456789abcdef0123456789abcdef",
            ".hidden/0123456789abcdef0123456789abcdef",
        ] {
            assert!(SliceName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn one_upload_per_issued_name() -> Result<(), Box<dyn std::error::Error>> {
        let data = tempfile::tempdir()?;
        let name = issue(data.path(), "local")?;
        let again = SliceName::parse(&name.to_string())?;
        assert_eq!(again, name);
        assert_eq!(put(data.path(), &name, b"zip")?, Upload::Stored);
        assert_eq!(std::fs::read(zip_path(data.path(), &name))?, b"zip");
        assert_eq!(put(data.path(), &name, b"other")?, Upload::NotAllowed);
        assert_eq!(std::fs::read(zip_path(data.path(), &name))?, b"zip");
        let never = SliceName::parse("local/0123456789abcdef0123456789abcdef")?;
        assert_eq!(put(data.path(), &never, b"zip")?, Upload::NotAllowed);
        remove(data.path(), &name)?;
        assert!(!zip_path(data.path(), &name).exists());
        remove(data.path(), &name)?;
        Ok(())
    }
}
