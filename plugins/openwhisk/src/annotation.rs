//! The `deployer` annotation (spec §11.4): who deployed what from where, plus a per-entity
//! digest. Each entity gets its own copy (the original mutated one shared object, so a
//! sequence could carry some package's digest, §16 item 32).

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use sluice_core::DeployerAnnotation;

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The annotation for a project directory: the git form when the project is in a clone with
/// an `origin` remote and a `user.email` (commit from `HEAD`, `++` when the tree is dirty),
/// else the OS user and the absolute project path.
pub fn compute(project_dir: &Path) -> DeployerAnnotation {
    let abs = std::fs::canonicalize(project_dir).unwrap_or_else(|_| project_dir.to_path_buf());
    from_git(&abs).unwrap_or_else(|| DeployerAnnotation {
        user: std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .or_else(|_| std::env::var("USERNAME"))
            .ok(),
        project_path: abs.display().to_string(),
        ..Default::default()
    })
}

fn from_git(dir: &Path) -> Option<DeployerAnnotation> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    let repository = git(dir, &["config", "--get", "remote.origin.url"])?;
    let user = git(dir, &["config", "--get", "user.email"])?;
    let head = git(dir, &["rev-parse", "HEAD"])?;
    let status = git(dir, &["status", "--porcelain"])?;
    let top = std::fs::canonicalize(&top).unwrap_or_else(|_| top.into());
    let project_path = dir
        .strip_prefix(&top)
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let mut commit: String = head.chars().take(8).collect();
    if !status.is_empty() {
        commit.push_str("++");
    }
    Some(DeployerAnnotation {
        user: Some(user),
        repository: Some(repository),
        project_path,
        commit: Some(commit),
        ..Default::default()
    })
}

/// The annotation value for one entity: a copy of `base` with this entity's short digest
/// (and `zipped` for actions), without the slice-only marker.
pub fn for_entity(
    base: &DeployerAnnotation,
    digest: Option<String>,
    zipped: Option<bool>,
) -> Value {
    let mut own = base.clone();
    own.digest = digest;
    own.zipped = zipped;
    own.new_slice_handling = None;
    serde_json::to_value(own).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_get_their_own_copies() {
        let base = DeployerAnnotation {
            user: Some("me".into()),
            project_path: "/p".into(),
            new_slice_handling: Some(true),
            ..Default::default()
        };
        let a = for_entity(&base, Some("aaaaaaaa".into()), Some(false));
        let b = for_entity(&base, Some("bbbbbbbb".into()), None);
        assert_eq!(a["digest"], "aaaaaaaa");
        assert_eq!(a["zipped"], false);
        assert_eq!(b["digest"], "bbbbbbbb");
        assert!(b.get("zipped").is_none());
        assert!(a.get("newSliceHandling").is_none());
        assert_eq!(base.digest, None);
    }

    #[test]
    fn git_clone_gives_repository_and_head_commit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let run = |args: &[&str]| {
            let ok = Command::new("git")
                .args(args)
                .current_dir(dir.path())
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .output()
                .expect("git runs")
                .status
                .success();
            assert!(ok, "git {args:?}");
        };
        run(&["init", "-q"]);
        run(&["config", "user.email", "dev@example.com"]);
        run(&["config", "user.name", "Dev"]);
        run(&["remote", "add", "origin", "git@github.com:o/r.git"]);
        std::fs::create_dir_all(dir.path().join("sub")).expect("mkdir");
        std::fs::write(dir.path().join("sub/f"), "x").expect("write");
        run(&["add", "."]);
        run(&["commit", "-q", "-m", "c"]);
        let a = compute(&dir.path().join("sub"));
        assert_eq!(a.repository.as_deref(), Some("git@github.com:o/r.git"));
        assert_eq!(a.project_path, "sub");
        assert_eq!(a.commit.as_ref().map(String::len), Some(8));
        assert_eq!(a.best_project_name(), "o/r/sub");
        std::fs::write(dir.path().join("sub/g"), "dirty").expect("write");
        let dirty = compute(&dir.path().join("sub"));
        assert!(dirty.commit.as_deref().is_some_and(|c| c.ends_with("++")));
    }
}
