//! Build planning (spec §6): which builder kind each directory function (and `lib/`) gets,
//! decided by the registered builders' `detect` (highest priority wins), and whether a build
//! happens locally or remotely (§6.3).

use std::path::Path;
use std::sync::Arc;

use sluice_core::engine::best_detection;
use sluice_core::model::build_kind;
use sluice_core::runtimes::{Agreement, agree_on_runtime, family, file_parts};
use sluice_core::{ActionSpec, BuildTarget, Builder, Excluder, Flags, PackageSpec, RuntimeTable};

use crate::error::{ReadError, Result};
use crate::layout::special_kind;
use crate::listing::Listings;

/// What planning needs.
#[derive(Clone, Copy)]
pub struct PlanContext<'a> {
    pub project_dir: &'a Path,
    pub builders: &'a [Arc<dyn Builder>],
    pub flags: &'a Flags,
    pub runtimes: &'a RuntimeTable,
    pub excluder: &'a Excluder,
    pub listings: &'a Listings,
}

impl std::fmt::Debug for PlanContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanContext")
            .field("project_dir", &self.project_dir)
            .finish_non_exhaustive()
    }
}

/// The build kind of `lib/` (spec §6.6), after the generic checks.
pub fn plan_lib(ctx: PlanContext<'_>) -> Result<String> {
    let dir = ctx.project_dir.join("lib");
    let files = ctx.listings.files(&dir, ctx.excluder)?;
    let fallback = special_kind(&files, "lib", false)?;
    let target = BuildTarget::new(&dir, "lib", &files, None, ctx.flags);
    Ok(best_detection(ctx.builders, &target).map_or_else(|| fallback.to_string(), |d| d.kind))
}

/// Plans every function: the builders' detection for directory functions, then the
/// local/remote decision.
pub fn plan_actions(packages: &mut [PackageSpec], ctx: PlanContext<'_>) -> Result<()> {
    for a in packages.iter().flat_map(|p| &p.actions) {
        if a.remote_build == Some(true) && a.local_build == Some(true) {
            return Err(ReadError::project_with_help(
                format!(
                    "Local and remote building cannot both be required (function {})",
                    a.name
                ),
                "remove 'remoteBuild' or 'localBuild' from the function in project.yml",
            ));
        }
    }
    for a in packages.iter_mut().flat_map(|p| &mut p.actions) {
        let runtime = effective_runtime(a, ctx);
        if a.build.is_some() {
            a.build = Some(detect(a, runtime.as_deref(), ctx)?);
        }
        let default_remote = runtime
            .as_deref()
            .is_some_and(|r| matches!(family(r), "go" | "swift"));
        let local = a.local_build == Some(true);
        let real = a.build.as_deref().is_some_and(build_kind::is_real);
        if !real {
            if default_remote && !local {
                a.build = Some(build_kind::REMOTE_DEFAULT.to_string());
            }
        } else if a.remote_build == Some(true) || (ctx.flags.remote_build && !local) {
            a.build = Some(build_kind::REMOTE.to_string());
        }
        if cfg!(windows) && a.build.as_deref() == Some(build_kind::BUILD_SH) {
            return Err(ReadError::project_with_help(
                format!(
                    "In function {}: 'build.sh' won't run on this platform and no 'build.cmd' is provided",
                    a.name
                ),
                "add a build.cmd next to build.sh",
            ));
        }
    }
    Ok(())
}

/// The builders' choice for a directory function; the generic kind when none claims it.
fn detect(a: &ActionSpec, runtime: Option<&str>, ctx: PlanContext<'_>) -> Result<String> {
    let rel_dir = a.file.as_deref().unwrap_or_default();
    let dir = ctx.project_dir.join(rel_dir);
    let files = ctx.listings.files(&dir, ctx.excluder)?;
    let fallback = special_kind(&files, rel_dir, true)?;
    let mut probe = a.clone();
    if probe.runtime.is_none() {
        probe.runtime = runtime.map(str::to_string);
    }
    let target = BuildTarget::new(&dir, rel_dir, &files, Some(&probe), ctx.flags);
    Ok(best_detection(ctx.builders, &target).map_or_else(|| fallback.to_string(), |d| d.kind))
}

/// The function's runtime for planning: explicit, else from the file name, else agreement
/// over a directory's files. Sequences have none.
pub fn effective_runtime(a: &ActionSpec, ctx: PlanContext<'_>) -> Option<String> {
    if a.is_sequence() {
        return None;
    }
    if let Some(r) = a.runtime.as_ref().filter(|r| !r.is_empty()) {
        return Some(r.clone());
    }
    let file = a.file.as_deref()?;
    let path = ctx.project_dir.join(file);
    if path.is_dir() {
        return agreed_runtime(&path, file, ctx.excluder, ctx.runtimes, ctx.listings);
    }
    let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
    file_parts(base, ctx.runtimes).runtime
}

/// Runtime agreement over a directory's files (spec §7.7). Disagreement gives `None`
/// (the original took the first runtime found, §16 item 14); the build reports conflicts.
pub fn agreed_runtime(
    dir: &Path,
    rel_dir: &str,
    excluder: &Excluder,
    runtimes: &RuntimeTable,
    listings: &Listings,
) -> Option<String> {
    let tree = listings.tree(dir, rel_dir, excluder);
    match agree_on_runtime(tree.iter().map(String::as_str), runtimes) {
        Agreement::Agreed(r) => Some(r),
        Agreement::None | Agreement::Conflict { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_core::{BuildContext, BuildJob, Detection};

    /// A test builder claiming directories that hold a given file.
    struct Claims {
        file: &'static str,
        kind: &'static str,
        priority: i32,
    }

    impl Builder for Claims {
        fn name(&self) -> &str {
            self.kind
        }
        fn detect(&self, target: &BuildTarget<'_>) -> Option<Detection> {
            target.has_file(self.file).then(|| Detection {
                kind: self.kind.to_string(),
                priority: self.priority,
            })
        }
        fn build(
            &self,
            _job: &BuildJob<'_>,
            _ctx: &BuildContext,
        ) -> sluice_core::Result<Option<sluice_core::Artifact>> {
            Ok(None)
        }
    }

    fn setup(files: &[(&str, &str)]) -> std::io::Result<tempfile::TempDir> {
        let t = tempfile::tempdir()?;
        for (path, text) in files {
            let p = t.path().join(path);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(p, text)?;
        }
        Ok(t)
    }

    fn dir_action(pkg: &str, name: &str) -> ActionSpec {
        ActionSpec {
            name: name.into(),
            file: Some(format!("packages/{pkg}/{name}")),
            build: Some(build_kind::IDENTIFY.into()),
            package: Some(pkg.into()),
            ..ActionSpec::default()
        }
    }

    fn plan(
        dir: &Path,
        actions: Vec<ActionSpec>,
        builders: &[Arc<dyn Builder>],
        flags: &Flags,
    ) -> Result<Vec<ActionSpec>> {
        let mut packages = vec![PackageSpec {
            name: "p".into(),
            actions,
            ..PackageSpec::default()
        }];
        let table = RuntimeTable::builtin();
        let excluder = Excluder::default();
        let listings = Listings::new();
        plan_actions(
            &mut packages,
            PlanContext {
                project_dir: dir,
                builders,
                flags,
                runtimes: &table,
                excluder: &excluder,
                listings: &listings,
            },
        )?;
        Ok(packages.remove(0).actions)
    }

    fn builders() -> Vec<Arc<dyn Builder>> {
        vec![
            Arc::new(Claims {
                file: "build.sh",
                kind: "build.sh",
                priority: 30,
            }),
            Arc::new(Claims {
                file: "package.json",
                kind: "package.json",
                priority: 20,
            }),
        ]
    }

    #[test]
    fn highest_priority_detection_wins() -> std::io::Result<()> {
        let t = setup(&[
            ("packages/p/both/build.sh", ""),
            ("packages/p/both/package.json", "{}"),
            ("packages/p/npm/package.json", "{}"),
            ("packages/p/plain/index.js", ""),
        ])?;
        let actions = plan(
            t.path(),
            vec![
                dir_action("p", "both"),
                dir_action("p", "npm"),
                dir_action("p", "plain"),
            ],
            &builders(),
            &Flags::default(),
        )
        .expect("plans");
        let kinds: Vec<_> = actions.iter().map(|a| a.build.as_deref()).collect();
        assert_eq!(
            kinds,
            [Some("build.sh"), Some("package.json"), Some("identify")]
        );
        Ok(())
    }

    #[test]
    fn go_is_remote_by_default_unless_local_build() -> std::io::Result<()> {
        let t = setup(&[
            ("packages/p/godir/sub/main.go", ""),
            ("packages/p/godir/go.mod", ""),
            ("packages/p/local/main.go", ""),
            ("packages/p/single.go", ""),
        ])?;
        let mut local = dir_action("p", "local");
        local.local_build = Some(true);
        let single = ActionSpec {
            name: "single".into(),
            file: Some("packages/p/single.go".into()),
            runtime: Some("go:default".into()),
            ..ActionSpec::default()
        };
        let seq = ActionSpec {
            name: "seq".into(),
            sequence: Some(vec!["p/single".into()]),
            ..ActionSpec::default()
        };
        let actions = plan(
            t.path(),
            vec![dir_action("p", "godir"), local, single, seq],
            &builders(),
            &Flags::default(),
        )
        .expect("plans");
        let kinds: Vec<_> = actions.iter().map(|a| a.build.as_deref()).collect();
        assert_eq!(
            kinds,
            [
                Some("remote-default"),
                Some("identify"),
                Some("remote-default"),
                None
            ]
        );
        Ok(())
    }

    #[test]
    fn real_builds_go_remote_on_request() -> std::io::Result<()> {
        let t = setup(&[
            ("packages/p/a/build.sh", ""),
            ("packages/p/b/build.sh", ""),
            ("packages/p/c/index.js", ""),
        ])?;
        let mut b = dir_action("p", "b");
        b.local_build = Some(true);
        let flags = Flags {
            remote_build: true,
            ..Flags::default()
        };
        let actions = plan(
            t.path(),
            vec![dir_action("p", "a"), b, dir_action("p", "c")],
            &builders(),
            &flags,
        )
        .expect("plans");
        let kinds: Vec<_> = actions.iter().map(|a| a.build.as_deref()).collect();
        assert_eq!(kinds, [Some("remote"), Some("build.sh"), Some("identify")]);

        let mut r = dir_action("p", "a");
        r.remote_build = Some(true);
        let actions = plan(t.path(), vec![r], &builders(), &Flags::default()).expect("plans");
        assert_eq!(actions[0].build.as_deref(), Some("remote"));
        Ok(())
    }

    #[test]
    fn remote_and_local_together_is_an_error() -> std::io::Result<()> {
        let t = setup(&[("packages/p/a/index.js", "")])?;
        let mut a = dir_action("p", "a");
        a.remote_build = Some(true);
        a.local_build = Some(true);
        let err = plan(t.path(), vec![a], &builders(), &Flags::default()).expect_err("conflict");
        assert_eq!(
            err.to_string(),
            "Local and remote building cannot both be required (function a)"
        );
        Ok(())
    }

    #[test]
    fn without_builders_the_generic_kind_is_used() -> std::io::Result<()> {
        let t = setup(&[("packages/p/a/package.json", "{}"), ("lib/build.sh", "")])?;
        let actions =
            plan(t.path(), vec![dir_action("p", "a")], &[], &Flags::default()).expect("plans");
        assert_eq!(actions[0].build.as_deref(), Some("package.json"));
        let table = RuntimeTable::builtin();
        let excluder = Excluder::default();
        let listings = Listings::new();
        let lib = plan_lib(PlanContext {
            project_dir: t.path(),
            builders: &[],
            flags: &Flags::default(),
            runtimes: &table,
            excluder: &excluder,
            listings: &listings,
        })
        .expect("plans lib");
        assert_eq!(lib, "build.sh");
        Ok(())
    }
}
