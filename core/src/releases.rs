//! The release log of a project: one JSON object a line in `.deployed/releases.jsonl`, one
//! line per promotion (`sluice promote`), read back by `sluice env history`.
//!
//! Why a JSON-lines file: a promotion only ever appends, one `write` of one line on a file
//! opened for appending, so an interrupted run leaves at most a torn last line (reported with
//! its line number) and never rewrites the history before it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The log's path relative to the project.
pub const RELEASES_FILE: &str = ".deployed/releases.jsonl";

/// The annotation a promotion puts on every entity it sends: `{id, source, commit}`.
pub const RELEASE_ANNOTATION: &str = "sluice-release";

/// One promotion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Release {
    /// `<target>-<n>`: the n-th release of the target environment.
    pub id: String,
    /// The environment the code came from.
    pub source: String,
    /// The environment it went to.
    pub target: String,
    pub source_namespace: String,
    pub namespace: String,
    /// The project's git commit (8 digits, `++` when the work tree was dirty), if in git.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// UTC, RFC 3339.
    pub time: String,
    /// Every function promoted, with the SHA-256 of its code (the same in both namespaces).
    pub functions: BTreeMap<String, String>,
}

/// The log of the project at `project_dir`.
pub fn file(project_dir: &Path) -> PathBuf {
    project_dir.join(RELEASES_FILE)
}

/// Every release of the project, oldest first (none when there is no log yet).
pub fn read(project_dir: &Path) -> Result<Vec<Release>> {
    let path = file(project_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(path, e)),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| Error::Config {
                file: RELEASES_FILE.to_string(),
                line: Some(i + 1),
                column: Some(e.column()),
                message: format!("not a release record ({e}); remove or repair the line"),
            })
        })
        .collect()
}

/// The releases of `environment`, oldest first.
pub fn of_environment(project_dir: &Path, environment: &str) -> Result<Vec<Release>> {
    Ok(read(project_dir)?
        .into_iter()
        .filter(|r| r.target == environment)
        .collect())
}

/// The id the next release of `environment` gets.
pub fn next_id(existing: &[Release], environment: &str) -> String {
    let n = existing.iter().filter(|r| r.target == environment).count() + 1;
    format!("{environment}-{n}")
}

/// Appends `release` to the log as one line.
pub fn append(project_dir: &Path, release: &Release) -> Result<()> {
    let path = file(project_dir);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut line = serde_json::to_string(release).map_err(|e| Error::Project {
        message: format!("cannot write the release record: {e}"),
        help: None,
    })?;
    line.push('\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    f.write_all(line.as_bytes())
        .map_err(|e| Error::io(&path, e))
}

/// The git commit of the project at `dir`: 8 digits of `HEAD`, with `++` when the work tree
/// has changes (as the `deployer` annotation writes it); `None` outside git or before the
/// first commit.
pub fn git_commit(dir: &Path) -> Option<String> {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
    };
    let head = git(&["rev-parse", "--verify", "--quiet", "HEAD"])?;
    let mut commit: String = head.trim().chars().take(8).collect();
    if commit.is_empty() {
        return None;
    }
    if git(&["status", "--porcelain"]).is_some_and(|s| !s.trim().is_empty()) {
        commit.push_str("++");
    }
    Some(commit)
}

/// The SHA-256 (hex) of a function's code.
pub fn code_digest(code: &[u8]) -> String {
    Sha256::digest(code)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `time` as RFC 3339 in UTC, to the second.
pub fn rfc3339(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn release(id: &str, target: &str) -> Release {
        Release {
            id: id.into(),
            source: "stage".into(),
            target: target.into(),
            source_namespace: "ns-stage".into(),
            namespace: "ns-prod".into(),
            commit: Some("abcdef12".into()),
            user: Some("me".into()),
            time: "2026-01-02T03:04:05Z".into(),
            functions: BTreeMap::from([("p/f".to_string(), code_digest(b"x"))]),
        }
    }

    #[test]
    fn appended_releases_read_back_in_order_and_by_environment() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        assert!(read(dir.path())?.is_empty());
        let all = [release("prod-1", "prod"), release("qa-1", "qa")];
        for r in &all {
            append(dir.path(), r)?;
        }
        assert_eq!(read(dir.path())?, all.to_vec());
        assert_eq!(of_environment(dir.path(), "qa")?, vec![all[1].clone()]);
        assert_eq!(next_id(&all, "prod"), "prod-2");
        assert_eq!(next_id(&all, "dev"), "dev-1");
        Ok(())
    }

    #[test]
    fn a_torn_line_is_reported_with_its_number() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        append(dir.path(), &release("prod-1", "prod"))?;
        let path = file(dir.path());
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        f.write_all(b"{\"id\":").map_err(|e| Error::io(&path, e))?;
        match read(dir.path()) {
            Err(Error::Config { file, line, .. }) => {
                assert_eq!(file, RELEASES_FILE);
                assert_eq!(line, Some(2));
            }
            other => panic!("expected a config error, got {other:?}"),
        }
        Ok(())
    }

    #[test]
    fn times_are_utc_rfc3339() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_709_210_096)),
            "2024-02-29T12:34:56Z"
        );
    }

    #[test]
    fn code_digests_are_sha256_hex() {
        assert_eq!(
            code_digest(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
