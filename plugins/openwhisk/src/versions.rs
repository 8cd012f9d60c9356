//! `.deployed/versions.json`: what was deployed where, with digests, in the original
//! deployer's format (spec §11.1–11.2), so either tool can read the other's file.
//!
//! Departures on purpose: the file is written atomically (temp file + rename); versions are
//! merged whenever any `--include`/`--exclude` filter is active (the original replaced them
//! when only `--exclude` was used); a corrupt file is reported, never a crash; and the file
//! is written as the deploy goes ([`Progress`]), so a deploy that is killed half-way leaves
//! a record of what landed and `--incremental` resends only the rest.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use sluice_core::{DeployResponse, VersionEntry};

use crate::error::{OwError, Result};

/// The directory holding the versions file.
pub fn deployed_dir(project_dir: &Path) -> PathBuf {
    project_dir.join(".deployed")
}

fn versions_file(project_dir: &Path) -> PathBuf {
    deployed_dir(project_dir).join("versions.json")
}

/// Every entry of the file; a missing or non-array (legacy) file reads as none.
fn read_entries(path: &Path) -> Result<Vec<VersionEntry>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(OwError::io(path, e)),
    };
    let value: Value = serde_json::from_str(&text).map_err(|e| OwError::Decode {
        url: path.display().to_string(),
        message: e.to_string(),
    })?;
    match value {
        Value::Array(items) => items
            .into_iter()
            .map(|v| {
                serde_json::from_value(v).map_err(|e| OwError::Decode {
                    url: path.display().to_string(),
                    message: e.to_string(),
                })
            })
            .collect(),
        _ => Ok(Vec::new()),
    }
}

/// The entry for this API host and namespace (empty when there is none).
pub fn load(project_dir: &Path, apihost: &str, namespace: &str) -> Result<VersionEntry> {
    let entries = read_entries(&versions_file(project_dir))?;
    Ok(entries
        .into_iter()
        .find(|e| e.apihost == apihost && e.namespace == namespace)
        .unwrap_or_else(|| VersionEntry {
            apihost: apihost.to_string(),
            namespace: namespace.to_string(),
            ..Default::default()
        }))
}

/// The API host under which a target's versions are recorded. The embedded local
/// namespace listens on a new port every run, so it is recorded as [`LOCAL_HOST`].
pub fn recorded_host(target: &sluice_core::Target) -> String {
    if target.local {
        LOCAL_HOST.to_string()
    } else {
        target.apihost.clone()
    }
}

/// The `apihost` of the versions entry of sluice's local namespace.
pub const LOCAL_HOST: &str = "local";

/// Records a deploy under `apihost` and the response's namespace. Returns `Some(dir)` when
/// `.deployed` was created by this call (the caller reports it), `None` otherwise. Nothing
/// is written when the response has no versions. `merge` keeps versions of entities this
/// deploy did not touch.
pub fn record(
    project_dir: &Path,
    apihost: &str,
    response: &DeployResponse,
    merge: bool,
) -> Result<Option<PathBuf>> {
    if response.package_versions.is_empty() && response.action_versions.is_empty() {
        return Ok(None);
    }
    let dir = deployed_dir(project_dir);
    let created = !dir.is_dir();
    if created {
        std::fs::create_dir_all(&dir).map_err(|e| OwError::io(&dir, e))?;
    }
    ignore_in_git(&dir)?;
    let path = versions_file(project_dir);
    // A file we cannot parse is replaced, as the original replaces a non-array one.
    let mut entries = read_entries(&path).unwrap_or_default();
    let apihost = apihost.to_string();
    let namespace = response.namespace.clone().unwrap_or_default();
    let new = VersionEntry {
        apihost: apihost.clone(),
        namespace: namespace.clone(),
        package_versions: response.package_versions.clone(),
        action_versions: response.action_versions.clone(),
    };
    match entries
        .iter_mut()
        .find(|e| e.apihost == apihost && e.namespace == namespace)
    {
        None => entries.push(new),
        Some(old) if merge => {
            old.package_versions.extend(new.package_versions);
            old.action_versions.extend(new.action_versions);
        }
        Some(old) => *old = new,
    }
    let text = serde_json::to_string_pretty(&entries).map_err(|e| OwError::Decode {
        url: path.display().to_string(),
        message: e.to_string(),
    })?;
    write_atomically(&path, text.as_bytes())?;
    Ok(created.then_some(dir))
}

/// How often, at most, [`Progress`] rewrites the file between package completions.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// The versions file kept up to date while a deploy runs: every landed entity is added, and
/// the file is rewritten (atomically, merged into what is there) when a package completes and
/// otherwise at most every [`PROGRESS_EVERY`]. Entities not yet redeployed keep their old
/// records, which is right: the server still holds what those records describe.
pub(crate) struct Progress {
    project_dir: PathBuf,
    apihost: String,
    namespace: String,
    state: Mutex<ProgressState>,
}

struct ProgressState {
    landed: DeployResponse,
    unwritten: bool,
    last_write: Instant,
    /// Whether one of our writes created `.deployed/` (the final record reports it).
    created: Option<PathBuf>,
}

impl Progress {
    pub(crate) fn new(project_dir: &Path, apihost: &str, namespace: &str) -> Self {
        Progress {
            project_dir: project_dir.to_path_buf(),
            apihost: apihost.to_string(),
            namespace: namespace.to_string(),
            state: Mutex::new(ProgressState {
                landed: DeployResponse::default(),
                unwritten: false,
                last_write: Instant::now(),
                created: None,
            }),
        }
    }

    /// Adds the versions of `response`; writes when `package_done` or when the last write is
    /// old enough. A failed write is logged and left to the final record, which reports it.
    pub(crate) fn add(&self, response: &DeployResponse, package_done: bool) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let versions =
            !response.package_versions.is_empty() || !response.action_versions.is_empty();
        if versions {
            state
                .landed
                .package_versions
                .extend(response.package_versions.clone());
            state
                .landed
                .action_versions
                .extend(response.action_versions.clone());
            state.unwritten = true;
        }
        if !state.unwritten || !(package_done || state.last_write.elapsed() >= PROGRESS_EVERY) {
            return;
        }
        state.landed.namespace = Some(self.namespace.clone());
        match record(&self.project_dir, &self.apihost, &state.landed, true) {
            Ok(created) => {
                if state.created.is_none() {
                    state.created = created;
                }
                state.unwritten = false;
            }
            Err(e) => tracing::warn!(%e, "could not record deploy progress"),
        }
        state.last_write = Instant::now();
    }

    /// The `.deployed/` directory one of the progress writes created, if any.
    pub(crate) fn created(&self) -> Option<PathBuf> {
        self.state.lock().ok().and_then(|s| s.created.clone())
    }
}

/// Deploy state is per machine and per namespace: `.deployed/` carries a `.gitignore` of its
/// own (`*`), so a project stays clean in git without the user ignoring it. One the user
/// wrote is kept.
fn ignore_in_git(dir: &Path) -> Result<()> {
    let path = dir.join(".gitignore");
    if path.exists() {
        return Ok(());
    }
    write_atomically(
        &path,
        b"# Written by sluice: deploy records stay out of git.\n*\n",
    )
}

/// Writes through a temporary file in the same directory and renames it into place, so a
/// crash never leaves a half-written file.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| OwError::io(dir, e))?;
    tmp.write_all(bytes)
        .map_err(|e| OwError::io(tmp.path(), e))?;
    tmp.as_file().sync_all().map_err(|e| OwError::io(path, e))?;
    tmp.persist(path).map_err(|e| OwError::io(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_core::VersionInfo;

    fn response(pkg: &str, action: &str) -> DeployResponse {
        let mut r = DeployResponse {
            apihost: Some("https://h".into()),
            namespace: Some("ns".into()),
            ..Default::default()
        };
        r.package_versions.insert(
            pkg.into(),
            VersionInfo {
                version: "0.0.1".into(),
                digest: "d1".into(),
            },
        );
        r.action_versions.insert(
            action.into(),
            VersionInfo {
                version: "0.0.2".into(),
                digest: "d2".into(),
            },
        );
        r
    }

    #[test]
    fn record_then_load_round_trips_and_merges_under_a_filter() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| OwError::io("tmp", e))?;
        let created = record(dir.path(), "https://h", &response("p", "p/a"), false)?;
        assert_eq!(created, Some(dir.path().join(".deployed")));
        let again = record(dir.path(), "https://h", &response("q", "q/b"), true)?;
        assert_eq!(again, None);
        let entry = load(dir.path(), "https://h", "ns")?;
        assert_eq!(
            entry.action_versions.keys().collect::<Vec<_>>(),
            ["p/a", "q/b"]
        );
        record(dir.path(), "https://h", &response("q", "q/b"), false)?;
        let entry = load(dir.path(), "https://h", "ns")?;
        assert_eq!(entry.action_versions.keys().collect::<Vec<_>>(), ["q/b"]);
        assert!(
            load(dir.path(), "https://other", "ns")?
                .action_versions
                .is_empty()
        );
        Ok(())
    }

    #[test]
    fn progress_is_written_as_packages_complete_and_merged_with_the_old_file() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| OwError::io("tmp", e))?;
        record(dir.path(), "https://h", &response("old", "old/a"), false)?;
        let progress = Progress::new(dir.path(), "https://h", "ns");
        progress.add(&response("p", "p/a"), false);
        // Not written yet: no package completed and the last write is recent.
        assert!(
            !load(dir.path(), "https://h", "ns")?
                .action_versions
                .contains_key("p/a")
        );
        progress.add(&DeployResponse::default(), true);
        let entry = load(dir.path(), "https://h", "ns")?;
        assert_eq!(
            entry.action_versions.keys().collect::<Vec<_>>(),
            ["old/a", "p/a"]
        );
        assert_eq!(progress.created(), None, "the first record made .deployed");
        Ok(())
    }

    #[test]
    fn legacy_non_array_file_is_replaced() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| OwError::io("tmp", e))?;
        std::fs::create_dir_all(deployed_dir(dir.path())).map_err(|e| OwError::io("d", e))?;
        std::fs::write(versions_file(dir.path()), "{\"old\": true}")
            .map_err(|e| OwError::io("f", e))?;
        assert!(
            load(dir.path(), "https://h", "ns")?
                .package_versions
                .is_empty()
        );
        record(dir.path(), "https://h", &response("p", "p/a"), false)?;
        let text =
            std::fs::read_to_string(versions_file(dir.path())).map_err(|e| OwError::io("f", e))?;
        assert!(text.trim_start().starts_with('['), "{text}");
        Ok(())
    }

    #[test]
    fn the_deploy_records_ignore_themselves_in_git() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| OwError::io("tmp", e))?;
        record(dir.path(), "https://h", &response("p", "p/a"), false)?;
        let ignore = deployed_dir(dir.path()).join(".gitignore");
        let text = std::fs::read_to_string(&ignore).map_err(|e| OwError::io("f", e))?;
        assert!(text.lines().any(|l| l == "*"), "{text}");
        std::fs::write(&ignore, "mine\n").map_err(|e| OwError::io("f", e))?;
        record(dir.path(), "https://h", &response("p", "p/b"), true)?;
        let kept = std::fs::read_to_string(&ignore).map_err(|e| OwError::io("f", e))?;
        assert_eq!(kept, "mine\n");
        Ok(())
    }
}
