//! The rule that a project reads nothing outside its own directory: `${<file}`, function
//! files, symlinked function files and directories, and the files a function's zip collects
//! must all resolve — after symlinks — inside the project root, or inside a directory the
//! user allowed explicitly. A cloned project cannot then deploy `/etc/passwd` or
//! `~/.ssh/id_rsa` as a "function" or a parameter.
//!
//! Two ways to allow a directory, for monorepos with shared code: the repeatable
//! `--allow-outside <DIR>` flag (relative to the current directory, in [`Flags`]), and
//! `allow_outside = ["../shared"]` under `[project]` in `sluice.toml` at the project root
//! (relative to the project). Files the user names on the command line (`--env`,
//! `--build-env`) are the user's own choice and are not confined.
//!
//! The reader and the finder apply it identically, which is why it lives here.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::model::Flags;
pub use crate::settings::{ProjectSettings, SETTINGS_FILE};

/// Reads `[project]` of `<project_dir>/sluice.toml` (the whole file is checked, see
/// [`crate::settings`]); no file gives the defaults.
pub fn project_settings(project_dir: &Path) -> Result<ProjectSettings> {
    Ok(crate::settings::read(project_dir)?.project)
}

/// Where a project may read: its root and the allowed directories, all canonical.
#[derive(Debug, Clone)]
pub struct Confinement {
    root: PathBuf,
    allowed: Vec<PathBuf>,
}

impl Confinement {
    /// The confinement of the project at `project_dir` with the `--allow-outside`
    /// directories of `flags` and those of its `sluice.toml`. An allowed directory that does
    /// not exist is an error (it is most likely a typo).
    pub fn for_project(project_dir: &Path, flags: &Flags) -> Result<Self> {
        let root = project_dir
            .canonicalize()
            .map_err(|e| Error::io(project_dir, e))?;
        let mut allowed = Vec::new();
        for dir in &flags.allow_outside {
            allowed.push(canonical_dir(Path::new(dir), || {
                format!("--allow-outside '{dir}': directory not found (the path is relative to the current directory)")
            })?);
        }
        for dir in project_settings(project_dir)?.allow_outside {
            allowed.push(canonical_dir(&root.join(&dir), || {
                format!("allow_outside entry '{dir}' in {SETTINGS_FILE}: directory not found (the path is relative to the project directory)")
            })?);
        }
        Ok(Confinement { root, allowed })
    }

    /// The canonical project root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Checks that `path` (absolute, or relative to the project root) resolves inside the
    /// project or an allowed directory. `what` says what the path is for (`the function file
    /// of 'p/f'`). A path that does not exist is not this rule's business: `Ok` with the
    /// path as given, so the caller reports it as missing.
    pub fn check(&self, path: &Path, what: &str) -> Result<PathBuf> {
        let full = if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.root.join(path)
        };
        let Ok(real) = full.canonicalize() else {
            return Ok(full);
        };
        if real.starts_with(&self.root) || self.allowed.iter().any(|a| real.starts_with(a)) {
            return Ok(real);
        }
        let via = if real == full {
            String::new()
        } else {
            format!(" (it resolves to {})", real.display())
        };
        // Inside the project (a symlink that leads out), the path is shown from the root.
        let shown = full.strip_prefix(&self.root).unwrap_or(path);
        Err(Error::Project {
            message: format!(
                "{what}: '{}' is outside the project directory{via}",
                shown.display(),
            ),
            help: Some(format!(
                "keep the file inside the project, or allow its directory with --allow-outside <DIR> or allow_outside = [\"<DIR>\"] under [project] in {SETTINGS_FILE}"
            )),
        })
    }
}

fn canonical_dir(dir: &Path, message: impl Fn() -> String) -> Result<PathBuf> {
    match dir.canonicalize() {
        Ok(real) if real.is_dir() => Ok(real),
        _ => Err(Error::Usage {
            message: message(),
            help: Some("give an existing directory to allow".to_string()),
        }),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn inside_outside_and_allowed() -> std::io::Result<()> {
        let t = tempfile::tempdir()?;
        let project = t.path().join("project");
        let shared = t.path().join("shared");
        std::fs::create_dir_all(project.join("packages/p"))?;
        std::fs::create_dir_all(&shared)?;
        std::fs::write(shared.join("x.env"), "A=1\n")?;
        std::fs::write(project.join("packages/p/f.js"), "")?;
        std::os::unix::fs::symlink(shared.join("x.env"), project.join("packages/p/link.js"))?;
        let flags = Flags::default();
        let c = Confinement::for_project(&project, &flags).expect("confinement");
        assert!(c.check(Path::new("packages/p/f.js"), "f").is_ok());
        assert!(c.check(Path::new("does/not/exist"), "f").is_ok());
        let e = c
            .check(Path::new("../shared/x.env"), "${<../shared/x.env}")
            .expect_err("outside");
        assert!(e.to_string().contains("outside the project"), "{e}");
        let e = c
            .check(Path::new("packages/p/link.js"), "f")
            .expect_err("a symlink out");
        assert!(e.to_string().contains("resolves to"), "{e}");

        std::fs::write(
            project.join(SETTINGS_FILE),
            "[project]\nallow_outside = [\"../shared\"]\n[environments.x]\nnamespace = \"x\"\n",
        )?;
        let c = Confinement::for_project(&project, &flags).expect("confinement");
        assert!(c.check(Path::new("../shared/x.env"), "f").is_ok());

        std::fs::write(
            project.join(SETTINGS_FILE),
            "[project]\nallow-outside = []\n",
        )?;
        let e = Confinement::for_project(&project, &flags).expect_err("unknown key");
        assert_eq!(e.line(), Some(2));
        Ok(())
    }

    #[test]
    fn the_flag_allows_too() -> std::io::Result<()> {
        let t = tempfile::tempdir()?;
        let project = t.path().join("project");
        std::fs::create_dir_all(&project)?;
        std::fs::write(t.path().join("x.env"), "A=1\n")?;
        let flags = Flags {
            allow_outside: vec![t.path().display().to_string()],
            ..Flags::default()
        };
        let c = Confinement::for_project(&project, &flags).expect("confinement");
        assert!(c.check(&t.path().join("x.env"), "f").is_ok());
        let missing = Flags {
            allow_outside: vec![t.path().join("nope").display().to_string()],
            ..Flags::default()
        };
        assert!(Confinement::for_project(&project, &missing).is_err());
        Ok(())
    }
}
