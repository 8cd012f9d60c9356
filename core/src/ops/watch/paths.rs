//! Which saved paths matter to `watch`, and what they deploy: a path maps to its function
//! (`packages/<pkg>/<fn>…`), to the whole project (`project.yml`, `sluice.toml`, `.env`, the
//! `--env`/`--build-env` files, `lib/`, hook files) or to nothing (sluice's and tools' own
//! outputs, the system exclusion list, a function's `.ignore`).

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use crate::entity_filter::EntityFilter;
use crate::model::Flags;
use crate::system_ignore::SystemIgnore;

use super::ChangeBatch;

/// Names that sluice, git or a package manager writes: never a reason to deploy.
const WRITTEN_BY_TOOLS: &[&str] = &[
    ".deployed",
    ".nimbella",
    ".git",
    "node_modules",
    crate::finder::ZIP_NAME,
    ".built",
];

/// Maps changed paths to the functions they belong to.
pub(super) struct PathMapper {
    root: PathBuf,
    flags: Flags,
    filter: EntityFilter,
    system_ignore: SystemIgnore,
    /// Files whose change re-reads the whole project, relative to the project.
    project_files: BTreeSet<String>,
}

impl PathMapper {
    pub(super) fn new(root: &Path, flags: &Flags, system_ignore: SystemIgnore) -> Self {
        let mut project_files: BTreeSet<String> =
            ["project.yml", "projectConfig.yml", "sluice.toml", ".env"]
                .into_iter()
                .map(str::to_string)
                .collect();
        for file in [&flags.env, &flags.build_env].into_iter().flatten() {
            let full = std::path::absolute(file)
                .ok()
                .and_then(|p| p.canonicalize().ok());
            if let Some(rel) = full.as_deref().and_then(|f| relative(root, f)) {
                project_files.insert(rel);
            }
        }
        PathMapper {
            root: root.to_path_buf(),
            flags: flags.clone(),
            filter: EntityFilter::new(flags.include.as_deref(), flags.exclude.as_deref()),
            system_ignore,
            project_files,
        }
    }

    /// The relevant changed paths (sorted), and the batch to deploy when any maps to
    /// something deployable.
    pub(super) fn map_paths(&self, raw: &[PathBuf]) -> (Vec<String>, Option<ChangeBatch>) {
        let mut paths = BTreeSet::new();
        let mut functions = BTreeSet::new();
        let mut whole_project = false;
        for path in raw {
            let Some(rel) = relative(&self.root, path) else {
                continue;
            };
            if rel.is_empty() || self.ignored(&rel) {
                continue;
            }
            match self.owner(&rel) {
                Owner::Project => whole_project = true,
                Owner::Entity(name) => {
                    functions.insert(name);
                }
                Owner::Nothing => {
                    paths.insert(rel);
                    continue;
                }
            }
            paths.insert(rel);
        }
        let paths: Vec<String> = paths.into_iter().collect();
        if !whole_project && functions.is_empty() {
            return (paths, None);
        }
        let batch = ChangeBatch {
            paths: paths.clone(),
            functions: if whole_project {
                Vec::new()
            } else {
                functions.into_iter().collect()
            },
            whole_project,
        };
        (paths, Some(batch))
    }

    /// Written by sluice or tools, excluded by the system list or a function's `.ignore`.
    fn ignored(&self, rel: &str) -> bool {
        if rel.split('/').any(|c| WRITTEN_BY_TOOLS.contains(&c)) {
            return true;
        }
        if self.system_ignore.is_excluded(rel) {
            return true;
        }
        // packages/<pkg>/<fn>/<rest>: the function's `.ignore` (gitignore syntax).
        let parts: Vec<&str> = rel.splitn(4, '/').collect();
        if let [packages, pkg, func, rest] = parts.as_slice()
            && *packages == "packages"
        {
            if *rest == ".ignore" {
                return false;
            }
            let dir = self.root.join(packages).join(pkg).join(func);
            let ignore_file = dir.join(".ignore");
            if ignore_file.is_file() {
                let mut builder = ignore::gitignore::GitignoreBuilder::new(&dir);
                if builder.add(&ignore_file).is_none()
                    && let Ok(matcher) = builder.build()
                {
                    let full = dir.join(rest);
                    return matcher
                        .matched_path_or_any_parents(&full, full.is_dir())
                        .is_ignore();
                }
            }
        }
        false
    }

    fn owner(&self, rel: &str) -> Owner {
        if self.project_files.contains(rel) || rel == "lib" || rel.starts_with("lib/") {
            return Owner::Project;
        }
        if rel.ends_with(".lua") {
            // Hook files: the session of the next deploy loads them afresh.
            return Owner::Project;
        }
        let mut parts = rel.split('/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("packages"), Some(pkg), Some(entry)) => {
                let entry_path = self.root.join("packages").join(pkg).join(entry);
                // Gone by the end of the batch (an editor's probe file, the temporary file
                // of a "safe write", a function removed: a watch never deletes) or hidden
                // (no function has a name starting with '.'): nothing to deploy. A rename
                // over the function's file reports the file itself, which exists.
                if entry.starts_with('.') || !entry_path.exists() {
                    return Owner::Nothing;
                }
                let is_dir_entry = parts.next().is_some() || entry_path.is_dir();
                let name = if is_dir_entry {
                    entry
                } else {
                    Path::new(entry)
                        .file_stem()
                        .and_then(|s| s.to_str())
                        .unwrap_or(entry)
                };
                Owner::Entity(format!("{pkg}/{name}"))
            }
            (Some("packages"), Some(pkg), None)
                if self.root.join("packages").join(pkg).is_dir() =>
            {
                Owner::Entity(pkg.to_string())
            }
            _ => Owner::Nothing,
        }
    }

    /// True when `--include`/`--exclude` leave out every function of the batch.
    pub(super) fn user_filter_excludes_all(&self, batch: &ChangeBatch) -> bool {
        if batch.whole_project {
            return false;
        }
        !batch.functions.iter().any(|f| match f.split_once('/') {
            Some((pkg, name)) => self.filter.is_action_included(pkg, name),
            None => self.filter.is_package_included(f),
        })
    }

    /// The deploy flags for a batch: incremental, and only its functions.
    pub(super) fn flags_for(&self, batch: &ChangeBatch) -> Flags {
        let mut flags = self.flags.clone();
        flags.incremental = true;
        if !batch.whole_project {
            let kept: Vec<&str> = batch
                .functions
                .iter()
                .filter(|f| match f.split_once('/') {
                    Some((pkg, name)) => self.filter.is_action_included(pkg, name),
                    None => self.filter.is_package_included(f),
                })
                .map(String::as_str)
                .collect();
            flags.include = Some(kept.join(","));
        }
        flags
    }

    /// The directories whose builds this batch may run (their writes are not saves).
    pub(super) fn build_dirs(&self, batch: &ChangeBatch) -> BTreeSet<String> {
        let has_build = |dir: &Path| {
            ["build.sh", "build.cmd", "package.json"]
                .iter()
                .any(|f| dir.join(f).is_file())
        };
        let mut dirs = BTreeSet::new();
        let lib = self.root.join("lib");
        if has_build(&lib) {
            dirs.insert("lib".to_string());
        }
        let packages = self.root.join("packages");
        let candidates: Vec<String> = if batch.whole_project {
            std::fs::read_dir(&packages)
                .into_iter()
                .flatten()
                .flatten()
                .flat_map(|pkg| {
                    let name = pkg.file_name().to_string_lossy().into_owned();
                    std::fs::read_dir(pkg.path())
                        .into_iter()
                        .flatten()
                        .flatten()
                        .map(move |f| format!("{name}/{}", f.file_name().to_string_lossy()))
                })
                .collect()
        } else {
            batch.functions.clone()
        };
        for f in candidates {
            let dir = packages.join(&f);
            if dir.is_dir() && has_build(&dir) {
                dirs.insert(format!("packages/{f}"));
            }
        }
        dirs
    }
}

enum Owner {
    Project,
    Entity(String),
    Nothing,
}

/// `path` relative to `root`, `/`-separated; `None` outside it.
pub(super) fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Vec<String> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapper(root: &Path) -> PathMapper {
        PathMapper::new(root, &Flags::default(), SystemIgnore::default())
    }

    #[test]
    fn maps_paths_to_functions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        std::fs::create_dir_all(root.join("packages/p/dirfn")).expect("mkdir");
        std::fs::write(root.join("packages/p/hello.js"), "x").expect("write");
        let m = mapper(&root);
        let raw = vec![
            root.join("packages/p/hello.js"),
            root.join("packages/p/dirfn/index.js"),
            root.join("README.md"),
        ];
        let (paths, batch) = m.map_paths(&raw);
        assert_eq!(paths.len(), 3);
        let batch = batch.expect("a batch");
        assert_eq!(batch.functions, ["p/dirfn", "p/hello"]);
        assert!(!batch.whole_project);
        assert_eq!(
            m.flags_for(&batch).include.as_deref(),
            Some("p/dirfn,p/hello")
        );
    }

    #[test]
    fn project_files_and_lib_deploy_everything() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        let m = mapper(&root);
        for p in [
            "project.yml",
            "sluice.toml",
            ".env",
            "lib/util.js",
            "hooks/watch.lua",
        ] {
            let (_, batch) = m.map_paths(&[root.join(p)]);
            assert!(batch.expect(p).whole_project, "{p}");
        }
    }

    #[test]
    fn own_outputs_never_deploy() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        std::fs::create_dir_all(root.join("packages/p/f")).expect("mkdir");
        std::fs::write(root.join("packages/p/f/.ignore"), "dist/\n").expect("write");
        let m = mapper(&root);
        for p in [
            ".deployed/versions.json",
            "packages/p/f/__deployer__.zip",
            "packages/p/f/.built",
            "packages/p/f/node_modules/x/index.js",
            "packages/p/f/dist/out.js",
            "packages/p/f/index.js.swp",
        ] {
            let (_, batch) = m.map_paths(&[root.join(p)]);
            assert!(batch.is_none(), "{p} should not deploy");
        }
    }

    #[test]
    fn editor_probe_and_temporary_files_never_name_a_function() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        std::fs::create_dir_all(root.join("packages/demo")).expect("mkdir");
        std::fs::write(root.join("packages/demo/hello.js"), "x").expect("write");
        let m = mapper(&root);
        // vim's write probe `4913` (created and removed), a safe write's temporary file
        // renamed over the function, a removed package: only the function's file remains.
        let (paths, batch) = m.map_paths(&[
            root.join("packages/demo/4913"),
            root.join("packages/demo/.hello.js.tmp123"),
            root.join("packages/demo/hello.js"),
            root.join("packages/gone"),
        ]);
        assert_eq!(paths.len(), 4);
        assert_eq!(batch.expect("a batch").functions, ["demo/hello"]);
        let (_, only_probe) = m.map_paths(&[root.join("packages/demo/4913")]);
        assert!(only_probe.is_none());
    }

    #[test]
    fn user_filter_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        let flags = Flags {
            exclude: Some("p/skip".to_string()),
            ..Flags::default()
        };
        std::fs::create_dir_all(root.join("packages/p")).expect("mkdir");
        for f in ["skip.js", "keep.js"] {
            std::fs::write(root.join("packages/p").join(f), "x").expect("write");
        }
        let m = PathMapper::new(&root, &flags, SystemIgnore::default());
        let (_, batch) = m.map_paths(&[
            root.join("packages/p/skip.js"),
            root.join("packages/p/keep.js"),
        ]);
        let batch = batch.expect("batch");
        assert_eq!(m.flags_for(&batch).include.as_deref(), Some("p/keep"));
        let (_, only_skip) = m.map_paths(&[root.join("packages/p/skip.js")]);
        assert!(m.user_filter_excludes_all(&only_skip.expect("batch")));
    }
}
