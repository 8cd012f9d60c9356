//! Build planning (spec §6), a phase of the engine that runs between the reader and the
//! `read:after` hooks: which build kind each directory function and `lib/` gets, and whether
//! a build happens locally or remotely (§6.3). Also `get-metadata`'s runtime filling
//! (§13.1 step 4), which needs the same runtime agreement over a directory's files.
//!
//! Why the engine and not the reader: a reader says what the project *is* — a function is a
//! directory, recorded as the layout's generic kind in `build` (`identify`, `build.sh`, …;
//! `lib_build` likewise), with the layout's own checks done while reading. Which builder
//! owns a directory depends on the builders registered for this run, which only the engine
//! knows; so the engine asks each builder's `detect` (highest priority wins, the first
//! registered wins a tie) and keeps the reader's kind when none claims it. Every listing
//! goes through the reader's [`ProjectFiles`], so a project that is not on disk is planned
//! the same way. Planning must not build, and never prints.

mod listing;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;

use crate::engine::{Engine, best_detection};
use crate::error::{Error, Result};
use crate::files::ProjectFiles;
use crate::model::{ActionSpec, DeployStructure, build_kind};
use crate::plugin::{BuildTarget, Builder, ReadContext};
use crate::runtimes::{Agreement, agree_on_runtime, family, file_parts};

use listing::Listing;

impl Engine {
    /// Plans the builds of a project a reader returned (spec §6): the builders' detection for
    /// every directory function (`build` set by the reader) and for `lib/` (`lib_build` set),
    /// then the local/remote decision for every function. Files are listed through `files`.
    ///
    /// A project with unresolved variables is the configuration part only; it is left as is.
    pub fn plan(
        &self,
        project: &mut DeployStructure,
        files: &dyn ProjectFiles,
        ctx: &ReadContext,
    ) -> Result<()> {
        if project.unresolved_variables.is_some() {
            return Ok(());
        }
        Planner::new(files, ctx, self.registry.builders()).plan(project)
    }

    /// Gives every function that has none a `runtime`, as `get-metadata` shows it (spec
    /// §13.1 step 4): `''` for sequences, else from the file name, else the agreement over
    /// the directory's files (unknown, or disagreeing, stays absent). Not part of
    /// [`Engine::read`], because a deploy must not pin a directory's runtime before its build
    /// has run.
    pub fn fill_runtimes(
        &self,
        project: &mut DeployStructure,
        files: &dyn ProjectFiles,
        ctx: &ReadContext,
    ) {
        let listing = Listing::new(files);
        for action in project.packages.iter_mut().flat_map(|p| &mut p.actions) {
            if action.runtime.is_some() {
                continue;
            }
            if action.is_sequence() {
                action.runtime = Some(String::new());
                continue;
            }
            action.runtime = file_runtime(action, &listing, ctx);
        }
    }
}

/// One planning pass over one project.
struct Planner<'a> {
    listing: Listing<'a>,
    ctx: &'a ReadContext,
    builders: Vec<Arc<dyn Builder>>,
    /// The project's directory (absolute) for [`BuildTarget::dir`]; empty off disk.
    root: PathBuf,
}

impl<'a> Planner<'a> {
    fn new(
        files: &'a dyn ProjectFiles,
        ctx: &'a ReadContext,
        builders: Vec<Arc<dyn Builder>>,
    ) -> Self {
        let root = files
            .root()
            .map(|r| std::path::absolute(r).unwrap_or_else(|_| r.to_path_buf()))
            .unwrap_or_default();
        Planner {
            listing: Listing::new(files),
            ctx,
            builders,
            root,
        }
    }

    fn plan(&self, project: &mut DeployStructure) -> Result<()> {
        if let Some(kind) = project.lib_build.take() {
            project.lib_build = Some(self.detect("lib", None, kind)?);
        }
        for a in project.actions().map(|(_, a)| a) {
            if a.remote_build == Some(true) && a.local_build == Some(true) {
                return Err(Error::Project {
                    message: format!(
                        "Local and remote building cannot both be required (function {})",
                        a.name
                    ),
                    help: Some(
                        "remove 'remoteBuild' or 'localBuild' from the function in project.yml"
                            .to_string(),
                    ),
                });
            }
        }
        for a in project.packages.iter_mut().flat_map(|p| &mut p.actions) {
            self.plan_action(a)?;
        }
        Ok(())
    }

    /// The builders' kind for a directory function, then local or remote (spec §6.3).
    fn plan_action(&self, a: &mut ActionSpec) -> Result<()> {
        let runtime = self.effective_runtime(a);
        if let Some(kind) = a.build.take() {
            let rel_dir = a.file.clone().unwrap_or_default();
            let mut probe = a.clone();
            if probe.runtime.is_none() {
                probe.runtime.clone_from(&runtime);
            }
            a.build = Some(self.detect(&rel_dir, Some(&probe), kind)?);
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
        } else if a.remote_build == Some(true) || (self.ctx.flags.remote_build && !local) {
            a.build = Some(build_kind::REMOTE.to_string());
        }
        if cfg!(windows) && a.build.as_deref() == Some(build_kind::BUILD_SH) {
            return Err(Error::Project {
                message: format!(
                    "In function {}: 'build.sh' won't run on this platform and no 'build.cmd' is provided",
                    a.name
                ),
                help: Some("add a build.cmd next to build.sh".to_string()),
            });
        }
        Ok(())
    }

    /// The builders' choice for `rel_dir`; the reader's `kind` when none claims it.
    fn detect(&self, rel_dir: &str, action: Option<&ActionSpec>, kind: String) -> Result<String> {
        let files = self.listing.file_names(rel_dir, &self.ctx.excluder)?;
        let dir = self.root.join(rel_dir);
        let target = BuildTarget::new(&dir, rel_dir, &files, action, &self.ctx.flags);
        Ok(best_detection(&self.builders, &target).map_or(kind, |d| d.kind))
    }

    /// The function's runtime for planning: explicit, else from the file name, else
    /// agreement over a directory's files. Sequences have none.
    fn effective_runtime(&self, a: &ActionSpec) -> Option<String> {
        if a.is_sequence() {
            return None;
        }
        if let Some(r) = a.runtime.as_ref().filter(|r| !r.is_empty()) {
            return Some(r.clone());
        }
        file_runtime(a, &self.listing, self.ctx)
    }
}

/// The runtime a function's file implies: its name's, or for a directory the agreement over
/// its files (spec §7.7). Disagreement gives `None` (the original took the first runtime
/// found, §16 item 14); the build reports conflicts.
fn file_runtime(a: &ActionSpec, listing: &Listing<'_>, ctx: &ReadContext) -> Option<String> {
    let file = a.file.as_deref()?;
    if listing.is_dir(file) {
        let tree = listing.tree(file, &ctx.excluder);
        return match agree_on_runtime(tree.iter().map(String::as_str), &ctx.runtimes) {
            Agreement::Agreed(r) => Some(r),
            Agreement::None | Agreement::Conflict { .. } => None,
        };
    }
    let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
    file_parts(base, &ctx.runtimes).runtime
}
