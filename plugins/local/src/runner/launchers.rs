//! The launchers on disk: each language's launcher is written into the cache directory once,
//! under a digest of its text (so an upgraded sluice never runs an old one), and Go's is
//! compiled there with the host's `go`. Staged in a temporary sibling and renamed, so
//! concurrent cold starts never see half a launcher.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::Language;
use super::code::CodeError;

/// The launcher for `lang`, written (and for Go compiled) once into the cache directory under
/// a digest of its text.
pub fn ensure_launcher(cache_dir: &Path, lang: Language, go: &Path) -> Result<PathBuf, CodeError> {
    let (name, text) = lang.launcher();
    let digest = hex_digest(text.as_bytes());
    let dir = cache_dir.join("launchers").join(&digest[..16]);
    let path = match lang {
        Language::Go => dir.join("sluice-go-launcher"),
        _ => dir.join(name),
    };
    if path.is_file() {
        return Ok(path);
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CodeError::Io { path, source }
    };
    let parent = cache_dir.join("launchers");
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let staging = tempfile::Builder::new()
        .prefix(".launcher-")
        .tempdir_in(&parent)
        .map_err(io(&parent))?;
    match lang {
        Language::Go => {
            super::go::build_proxy(go, cache_dir, staging.path())?;
        }
        _ => std::fs::write(staging.path().join(name), text).map_err(io(&path))?,
    }
    let staged = staging.keep();
    if std::fs::rename(&staged, &dir).is_err() {
        // Another cold start won the race with the same launcher.
        let _ = std::fs::remove_dir_all(&staged);
    }
    if path.is_file() {
        Ok(path)
    } else {
        Err(CodeError::Io {
            path,
            source: std::io::Error::other("the launcher was not written"),
        })
    }
}

fn hex_digest(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}
