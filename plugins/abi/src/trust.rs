//! Which project plugin libraries may be loaded: like direnv's `allow`, a project's own
//! native code runs only once the user has said so for that exact file.
//!
//! A library listed under `plugins:` in project.yml runs its constructors the moment it is
//! opened — before sluice can tell whether it is a plugin at all — so opening it is running
//! it. Cloning a repository must not be enough to run its native code, even for
//! `get-metadata`. The user trusts a library with `sluice plugins trust <path>`, which
//! records its canonical path and SHA-256 in `$SLUICE_HOME/trusted-plugins.json` (written
//! atomically, mode 0600); a library whose bytes changed since is untrusted again. CI passes
//! `--trust-project-plugins` instead. Libraries in `$SLUICE_HOME/plugins/` and those given
//! with `--plugin` are the user's own choice and need no record.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sluice_core::{Error, Result};

/// The trust file, in sluice's home.
pub const TRUST_FILE: &str = "trusted-plugins.json";

/// How project libraries are trusted during one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectTrust {
    /// Only libraries recorded in the trust file of this home (none without a home).
    Recorded(Option<PathBuf>),
    /// Every project library (`--trust-project-plugins`).
    Everything,
}

/// What the trust file says about one library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustState {
    /// Recorded with the digest it has now.
    Trusted,
    /// Never trusted.
    Unknown,
    /// Trusted once, but its bytes changed since.
    Changed,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TrustFile {
    /// Canonical library path → hex SHA-256 of its bytes.
    #[serde(default)]
    libraries: BTreeMap<String, String>,
}

/// The trust records of one home.
#[derive(Debug)]
pub struct TrustStore {
    path: PathBuf,
    file: TrustFile,
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The hex SHA-256 of a file's bytes.
pub fn file_digest(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(|e| io_error(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn canonical(library: &Path) -> Result<PathBuf> {
    library.canonicalize().map_err(|e| io_error(library, e))
}

impl TrustStore {
    /// The records of `home` (none when the file does not exist yet).
    pub fn load(home: &Path) -> Result<Self> {
        let path = home.join(TRUST_FILE);
        let file = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| Error::Plugin {
                plugin: TRUST_FILE.to_string(),
                message: format!(
                    "{} is not a trust file ({e}); delete it and trust the plugins again",
                    path.display()
                ),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => TrustFile::default(),
            Err(e) => return Err(io_error(&path, e)),
        };
        Ok(TrustStore { path, file })
    }

    /// The trust file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records `library` (by canonical path) with its current digest; returns the canonical
    /// path and the digest. Call [`TrustStore::save`] afterwards.
    pub fn trust(&mut self, library: &Path) -> Result<(PathBuf, String)> {
        let path = canonical(library)?;
        if !path.is_file() {
            return Err(Error::Plugin {
                plugin: path.display().to_string(),
                message: "not a file: trust a plugin library (.so, .dylib, .dll)".to_string(),
            });
        }
        let digest = file_digest(&path)?;
        self.file
            .libraries
            .insert(path.display().to_string(), digest.clone());
        Ok((path, digest))
    }

    /// What the records say about `library` as it is now.
    pub fn state(&self, library: &Path) -> Result<TrustState> {
        let path = canonical(library)?;
        let Some(recorded) = self.file.libraries.get(&path.display().to_string()) else {
            return Ok(TrustState::Unknown);
        };
        Ok(if *recorded == file_digest(&path)? {
            TrustState::Trusted
        } else {
            TrustState::Changed
        })
    }

    /// Writes the records: a temporary file in the home, mode 0600, renamed into place.
    pub fn save(&self) -> Result<()> {
        use std::io::Write;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        let text = serde_json::to_string_pretty(&self.file).map_err(|e| Error::Plugin {
            plugin: TRUST_FILE.to_string(),
            message: e.to_string(),
        })?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| io_error(dir, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| io_error(tmp.path(), e))?;
        }
        tmp.write_all(format!("{text}\n").as_bytes())
            .map_err(|e| io_error(tmp.path(), e))?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| io_error(&self.path, e))?;
        tmp.persist(&self.path)
            .map_err(|e| io_error(&self.path, e.error))?;
        Ok(())
    }
}

/// The refusal of an untrusted (or changed) project library, with the command that trusts
/// it.
pub(crate) fn refusal(library: &Path, state: &TrustState) -> Error {
    let shown = library.display();
    let why = match state {
        TrustState::Changed => "it changed since it was trusted (its SHA-256 differs)",
        _ => "it is not trusted",
    };
    Error::Plugin {
        plugin: library
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| shown.to_string()),
        message: format!(
            "project.yml lists the native library {shown}, and {why}; a library runs code as soon as it is loaded, so sluice did not load it. If you trust it, run `sluice plugins trust {shown}` (or pass --trust-project-plugins, for CI)"
        ),
    }
}

/// Whether `library` (a project library) may be opened under `trust`; `Err` is the refusal.
pub(crate) fn check(library: &Path, trust: &ProjectTrust) -> Result<()> {
    let home = match trust {
        ProjectTrust::Everything => return Ok(()),
        ProjectTrust::Recorded(home) => home,
    };
    // A missing library is reported by the loader as such, with its own message.
    if library.canonicalize().is_err() {
        return Ok(());
    }
    let state = match home {
        Some(home) => TrustStore::load(home)?.state(library)?,
        None => TrustState::Unknown,
    };
    match state {
        TrustState::Trusted => Ok(()),
        other => Err(refusal(library, &other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trusted_library_stays_trusted_until_it_changes() -> Result<()> {
        let home = tempfile::tempdir().map_err(|e| io_error(Path::new("tmp"), e))?;
        let lib = home.path().join("libx.so");
        std::fs::write(&lib, b"one").map_err(|e| io_error(&lib, e))?;
        let trust = ProjectTrust::Recorded(Some(home.path().to_path_buf()));
        let refused = check(&lib, &trust).expect_err("unknown at first");
        assert!(
            refused
                .to_string()
                .contains(&format!("sluice plugins trust {}", lib.display())),
            "{refused}"
        );

        let mut store = TrustStore::load(home.path())?;
        store.trust(&lib)?;
        store.save()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path())
                .map_err(|e| io_error(store.path(), e))?
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        check(&lib, &trust)?;

        std::fs::write(&lib, b"two").map_err(|e| io_error(&lib, e))?;
        let changed = check(&lib, &trust).expect_err("changed");
        assert!(
            changed.to_string().contains("changed since it was trusted"),
            "{changed}"
        );
        assert!(check(&lib, &ProjectTrust::Everything).is_ok());
        assert!(check(&lib, &ProjectTrust::Recorded(None)).is_err());
        Ok(())
    }
}
