//! The deployer annotation (spec §11.4): who deployed what from where. With git: the origin
//! URL, the project's path inside the repository, the user's email and the commit (with `++`
//! when the tree is dirty). The original asked for `git rev-parse head`, which fails on
//! case-sensitive file systems, so on Linux it never used git; sluice asks for `HEAD`
//! (§16 item 30). Without git (or without an origin or an email): the OS user and the
//! absolute project path.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use sluice_core::DeployerAnnotation;

fn git(dir: &Path, args: &[&str]) -> Option<std::process::Child> {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

fn output(child: Option<std::process::Child>) -> Option<String> {
    let out = child?.wait_with_output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim_end().to_string())
}

/// The annotation for a project directory (absolute).
pub fn deployer_annotation(dir: &Path, env: &BTreeMap<String, String>) -> DeployerAnnotation {
    git_annotation(dir).unwrap_or_else(|| DeployerAnnotation {
        user: ["USER", "LOGNAME", "USERNAME"]
            .iter()
            .find_map(|k| env.get(*k).filter(|v| !v.is_empty()).cloned()),
        project_path: dir.display().to_string(),
        ..DeployerAnnotation::default()
    })
}

fn git_annotation(dir: &Path) -> Option<DeployerAnnotation> {
    let top = output(git(dir, &["rev-parse", "--show-toplevel"]))?;
    // The other four questions are independent: ask them at once.
    let origin = git(dir, &["config", "--get", "remote.origin.url"]);
    let email = git(dir, &["config", "--get", "user.email"]);
    let head = git(dir, &["rev-parse", "HEAD"]);
    let status = git(dir, &["status", "--porcelain"]);
    let (origin, email, head, status) =
        (output(origin), output(email), output(head), output(status));
    let (repository, user, head, status) = (origin?, email?, head?, status?);
    let top = Path::new(&top).canonicalize().ok()?;
    let here = dir.canonicalize().ok()?;
    let project_path = here
        .strip_prefix(&top)
        .ok()?
        .to_string_lossy()
        .replace('\\', "/");
    let mut commit: String = head.chars().take(8).collect();
    if !status.is_empty() {
        commit.push_str("++");
    }
    Some(DeployerAnnotation {
        user: Some(user),
        repository: Some(repository),
        project_path,
        commit: Some(commit),
        ..DeployerAnnotation::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &Path, args: &[&str]) -> bool {
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    #[test]
    fn without_git_the_os_user_and_absolute_path() -> std::io::Result<()> {
        let t = tempfile::tempdir()?;
        let mut env = BTreeMap::new();
        env.insert("USER".to_string(), "alice".to_string());
        let a = deployer_annotation(t.path(), &env);
        assert_eq!(a.user.as_deref(), Some("alice"));
        assert_eq!(a.project_path, t.path().display().to_string());
        assert_eq!(a.repository, None);
        Ok(())
    }

    #[test]
    fn with_git_the_repository_path_and_commit() -> std::io::Result<()> {
        let t = tempfile::tempdir()?;
        let root = t.path();
        let project = root.join("sub/proj");
        std::fs::create_dir_all(&project)?;
        std::fs::write(project.join("project.yml"), "")?;
        if !run(root, &["init", "-q"]) {
            return Ok(()); // no git on this machine
        }
        assert!(run(root, &["config", "user.email", "dev@example.invalid"]));
        assert!(run(
            root,
            &["remote", "add", "origin", "git@github.com:o/r.git"]
        ));
        assert!(run(root, &["add", "-A"]));
        assert!(run(root, &["commit", "-q", "-m", "x"]));
        let a = deployer_annotation(&project, &BTreeMap::new());
        assert_eq!(a.user.as_deref(), Some("dev@example.invalid"));
        assert_eq!(a.repository.as_deref(), Some("git@github.com:o/r.git"));
        assert_eq!(a.project_path, "sub/proj");
        let commit = a.commit.clone().expect("a commit");
        assert_eq!(commit.len(), 8);
        assert_eq!(a.best_project_name(), "o/r/sub/proj");
        std::fs::write(project.join("new.js"), "")?;
        let dirty = deployer_annotation(&project, &BTreeMap::new());
        assert_eq!(dirty.commit, Some(format!("{commit}++")));
        Ok(())
    }
}
