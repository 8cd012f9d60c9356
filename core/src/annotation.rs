//! The deployer annotation (spec §11.4): who deployed what from where. It is computed once
//! per read, by the reader, and travels in [`DeployStructure::deployer_annotation`]; the
//! deployers use that copy and never compute their own.
//!
//! The original's rule, kept here: in a git clone with an `origin` remote, a `user.email`
//! and a commit, `{user: <email>, repository: <origin url>, projectPath: <the project
//! relative to the repository's top level>, commit: <8 digits of HEAD>[++ when dirty]}`;
//! otherwise `{user: <OS user>, projectPath: <the absolute project path>}`, absolute as
//! node's `path.resolve` makes it (lexically: `..` folded, symlinks kept).
//!
//! The original asked `git rev-parse head`, which fails on case-sensitive file systems, so on
//! Linux it never used git; sluice reads `HEAD` (§16 item 30).
//!
//! Why it is built this way: the original ran five `git` processes; this runs at most one.
//! The repository is found by walking up to a `.git`, its configuration is read from the
//! files ([`git_config`]), and one `git status --porcelain=v2 --branch` gives both the commit
//! and whether the tree is dirty. A project outside any repository spawns nothing.
//!
//! [`DeployStructure::deployer_annotation`]: crate::model::DeployStructure::deployer_annotation

pub mod git_config;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use crate::model::DeployerAnnotation;
use git_config::{GitConfig, GitDirs};

/// The annotation for the project at `project_dir` (relative paths are taken from the current
/// directory). `env` is the process environment (a snapshot: the OS user, `HOME` and the
/// `GIT_CONFIG_*` variables come from it).
pub fn deployer_annotation(
    project_dir: &Path,
    env: &BTreeMap<String, String>,
) -> DeployerAnnotation {
    let absolute = resolve(project_dir);
    git_annotation(&absolute, env).unwrap_or_else(|| local_annotation(&absolute, env))
}

/// The form used outside a git clone: the OS user and the absolute project path.
pub fn local_annotation(absolute: &Path, env: &BTreeMap<String, String>) -> DeployerAnnotation {
    DeployerAnnotation {
        user: ["USER", "LOGNAME", "USERNAME"]
            .iter()
            .find_map(|k| env.get(*k).filter(|v| !v.is_empty()).cloned())
            .or_else(os_user_name),
        project_path: absolute.display().to_string(),
        ..DeployerAnnotation::default()
    }
}

/// The account name of this process's user (node's `os.userInfo().username`), for when the
/// environment names none.
#[cfg(target_os = "linux")]
fn os_user_name() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id: u32 = fields.nth(1)?.parse().ok()?;
        (id == uid).then(|| name.to_string())
    })
}

#[cfg(not(target_os = "linux"))]
fn os_user_name() -> Option<String> {
    None
}

/// Node's `path.resolve`: absolute, `.` and `..` folded lexically, symlinks left alone.
pub fn resolve(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The repository holding `dir` (canonical): its top level and git directories.
fn discover(dir: &Path) -> Option<(PathBuf, GitDirs)> {
    let start = dir.canonicalize().ok()?;
    for top in start.ancestors() {
        let dot_git = top.join(".git");
        let Ok(meta) = std::fs::metadata(&dot_git) else {
            continue;
        };
        let git_dir = if meta.is_dir() {
            dot_git
        } else {
            // A linked worktree or a submodule: `gitdir: <path>`.
            let text = std::fs::read_to_string(&dot_git).ok()?;
            let target = text.trim().strip_prefix("gitdir:")?.trim();
            top.join(target)
        };
        let common_dir = match std::fs::read_to_string(git_dir.join("commondir")) {
            Ok(rel) => git_dir.join(rel.trim()),
            Err(_) => git_dir.clone(),
        };
        return Some((
            top.to_path_buf(),
            GitDirs {
                git_dir,
                common_dir,
            },
        ));
    }
    None
}

/// What `git status --porcelain=v2 --branch` says: the HEAD commit and whether anything is
/// changed, staged or untracked.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Status {
    head: String,
    dirty: bool,
}

fn parse_status(out: &[u8]) -> Option<Status> {
    let mut head = None;
    let mut dirty = false;
    for record in out.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        if let Some(oid) = record.strip_prefix(b"# branch.oid ") {
            head = Some(String::from_utf8_lossy(oid).into_owned());
        } else if !record.starts_with(b"# ") {
            dirty = true;
        }
    }
    // `(initial)`: no commit yet, which `git rev-parse HEAD` refuses too.
    head.filter(|h| h.chars().all(|c| c.is_ascii_hexdigit()) && !h.is_empty())
        .map(|head| Status { head, dirty })
}

/// The one `git` process of a run.
fn git_status(dir: &Path) -> Option<Status> {
    let out = Command::new("git")
        .args([
            "--no-optional-locks",
            "status",
            "--porcelain=v2",
            "--branch",
            "-z",
            "--untracked-files=normal",
        ])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| parse_status(&out.stdout))
        .flatten()
}

fn git_annotation(absolute: &Path, env: &BTreeMap<String, String>) -> Option<DeployerAnnotation> {
    let (top, dirs) = discover(absolute)?;
    let config = GitConfig::load(&dirs, env);
    let repository = config.get("remote.origin.url")?.trim().to_string();
    let user = config.get("user.email")?.trim().to_string();
    let status = git_status(absolute)?;
    let here = absolute.canonicalize().ok()?;
    let project_path = here.strip_prefix(&top).ok()?.display().to_string();
    let mut commit: String = status.head.chars().take(8).collect();
    if status.dirty {
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

    fn git(dir: &Path, args: &[&str]) -> bool {
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn isolated_env() -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        env.insert("GIT_CONFIG_GLOBAL".into(), "/dev/null".into());
        env.insert("GIT_CONFIG_NOSYSTEM".into(), "1".into());
        env
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn without_user_variables_the_account_name() {
        let a = local_annotation(Path::new("/p"), &BTreeMap::new());
        assert!(a.user.is_some_and(|u| !u.is_empty()));
    }

    #[test]
    fn resolve_folds_dots_like_path_resolve() {
        assert_eq!(resolve(Path::new("/a/b/../c/./d")), PathBuf::from("/a/c/d"));
        assert!(resolve(Path::new("x")).is_absolute());
    }

    #[test]
    fn status_output_gives_head_and_dirtiness() {
        let clean = b"# branch.oid 0123456789abcdef0123456789abcdef01234567\0# branch.head main\0";
        assert_eq!(
            parse_status(clean),
            Some(Status {
                head: "0123456789abcdef0123456789abcdef01234567".into(),
                dirty: false
            })
        );
        let dirty = b"# branch.oid 0123456789abcdef\0# branch.head main\0? new.js\0";
        assert!(parse_status(dirty).is_some_and(|s| s.dirty));
        assert_eq!(
            parse_status(b"# branch.oid (initial)\0# branch.head main\0"),
            None
        );
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
        if !git(root, &["init", "-q"]) {
            return Ok(()); // no git on this machine
        }
        let env = isolated_env();
        // No origin and no email yet: the local form.
        assert!(git(root, &["add", "-A"]));
        assert!(git(root, &["commit", "-q", "-m", "x"]));
        assert_eq!(deployer_annotation(&project, &env).repository, None);

        assert!(git(root, &["config", "user.email", "dev@example.invalid"]));
        assert!(git(
            root,
            &["remote", "add", "origin", "git@github.com:o/r.git"]
        ));
        let a = deployer_annotation(&project, &env);
        assert_eq!(a.user.as_deref(), Some("dev@example.invalid"));
        assert_eq!(a.repository.as_deref(), Some("git@github.com:o/r.git"));
        assert_eq!(a.project_path, "sub/proj");
        let commit = a.commit.clone().expect("a commit");
        assert_eq!(commit.len(), 8);
        assert_eq!(a.best_project_name(), "o/r/sub/proj");
        // The project at the top level: an empty relative path.
        assert_eq!(deployer_annotation(root, &env).project_path, "");

        std::fs::write(project.join("new.js"), "")?;
        let dirty = deployer_annotation(&project, &env);
        assert_eq!(dirty.commit, Some(format!("{commit}++")));
        Ok(())
    }

    #[test]
    fn a_linked_worktree_reads_the_main_repository_config() -> std::io::Result<()> {
        let t = tempfile::tempdir()?;
        let main = t.path().join("main");
        std::fs::create_dir_all(main.join("p"))?;
        std::fs::write(main.join("p/project.yml"), "")?;
        if !git(&main, &["init", "-q"]) {
            return Ok(());
        }
        assert!(git(&main, &["config", "user.email", "dev@example.invalid"]));
        assert!(git(
            &main,
            &["remote", "add", "origin", "https://h/o/r.git"]
        ));
        assert!(git(&main, &["add", "-A"]));
        assert!(git(&main, &["commit", "-q", "-m", "x"]));
        let linked = t.path().join("linked");
        assert!(git(
            &main,
            &["worktree", "add", "-q", &linked.display().to_string()]
        ));
        let a = deployer_annotation(&linked.join("p"), &isolated_env());
        assert_eq!(a.repository.as_deref(), Some("https://h/o/r.git"));
        assert_eq!(a.project_path, "p");
        assert_eq!(a.commit.as_ref().map(String::len), Some(8));
        Ok(())
    }
}
