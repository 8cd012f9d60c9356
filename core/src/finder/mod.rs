//! The finder: the default builder. It turns a function directory into one artifact by
//! collecting its files — the ones `.include` lists (spec §7.5), or every file less the
//! `.ignore` patterns (§7.6) — and then deploying the one file as it is, or zipping them
//! reproducibly into `__deployer__.zip` (autozip, §7.7), with the runtime settled as §7.8 says.
//!
//! Builders that run a subprocess first (script, npm) call [`identify`] afterwards, so every
//! local build ends the same way, and [`run_build_command`] to run it with the original's
//! reporting.

mod autozip;
mod command;
mod include_list;
mod listing;
mod process_group;
mod walk;

use std::path::{Path, PathBuf};

pub use autozip::{reusable, write_zip};
pub use command::{BuildCommand, run_build_command};
pub use include_list::check_include_file;
pub use process_group::{DEFAULT_BUILD_TIMEOUT, build_timeout, set_build_timeout, stop_all_builds};
pub use walk::Source;

use crate::confine::Confinement;
use crate::error::{Error, Result};
use crate::model::{ActionSpec, Artifact, BuildStatus, build_kind};
use crate::plugin::{BuildContext, BuildJob, BuildTarget, Builder, Detection};
use crate::runtimes::{Agreement, agree_on_runtime, file_parts};

/// The name of the zip autozip writes in the function directory.
pub const ZIP_NAME: &str = "__deployer__.zip";

/// The default builder (name `finder`).
#[derive(Debug, Default, Clone, Copy)]
pub struct Finder;

impl Builder for Finder {
    fn name(&self) -> &str {
        "finder"
    }

    fn detect(&self, target: &BuildTarget<'_>) -> Option<Detection> {
        target.action?;
        if target.has_file(".include") || target.has_file(".source") {
            Some(Detection {
                kind: build_kind::INCLUDE.to_string(),
                priority: 10,
            })
        } else {
            Some(Detection {
                kind: build_kind::IDENTIFY.to_string(),
                priority: 0,
            })
        }
    }

    fn build(&self, job: &BuildJob<'_>, ctx: &BuildContext) -> Result<Option<Artifact>> {
        match job {
            BuildJob::Action { package, action } => identify(package, action, ctx).map(Some),
            BuildJob::Lib { kind } => Err(Error::Build {
                entity: "lib".to_string(),
                message: format!("the finder does not build lib/ (planned build '{kind}')"),
                output: None,
            }),
        }
    }
}

/// `<best project name>/<rel>`: how build messages name a directory.
/// With `--explain`: one line saying why `entity` is built or skipped (`built: …`,
/// `skipped: …`).
pub fn explain(ctx: &BuildContext, entity: &str, why: &str) {
    if ctx.flags.explain {
        ctx.feedback.progress(&format!("Why: {entity}: {why}"));
    }
}

pub fn display_path(ctx: &BuildContext, rel: &str) -> String {
    let rel = rel.trim_start_matches("./");
    if Path::new(rel).is_absolute() {
        rel.to_string()
    } else {
        format!("{}/{rel}", ctx.best_project_name.trim_end_matches('/'))
    }
}

/// `action 'pkg/name'`: the entity of build errors.
pub fn action_entity(package: &str, action: &ActionSpec) -> String {
    format!("action '{}'", action.qualified_name(package))
}

/// Where a build job runs: the project-relative directory (no trailing slash) and the entity
/// its errors are about (`action 'pkg/name'` or `lib`). `kind` names the build in the error for
/// an action that has no directory.
pub fn job_dir(job: &BuildJob<'_>, kind: &str) -> Result<(String, String)> {
    let (dir, entity) = match job {
        BuildJob::Action { package, action } => {
            let entity = action_entity(package, action);
            let dir = action.file.clone().ok_or_else(|| Error::Build {
                entity: entity.clone(),
                message: format!(
                    "Action '{}' has a {kind} build but no directory",
                    action.qualified_name(package)
                ),
                output: None,
            })?;
            (dir, entity)
        }
        BuildJob::Lib { .. } => ("lib".to_string(), "lib".to_string()),
    };
    Ok((dir.trim_end_matches(['/', '\\']).to_string(), entity))
}

/// The project-relative, `/`-separated form of `path` when it is inside the project.
fn project_relative(ctx: &BuildContext, path: &Path) -> String {
    match path.strip_prefix(&ctx.project_dir) {
        Ok(rel) => walk::slash_path(rel),
        Err(_) => path.display().to_string(),
    }
}

/// Turns a function directory into its artifact: `.include` or the plain listing, then a
/// single file or an (incrementally reused) reproducible zip, with the runtime settled.
pub fn identify(package: &str, action: &ActionSpec, ctx: &BuildContext) -> Result<Artifact> {
    let located = locate(package, action, ctx)?;
    let (sources, inputs) = gather(&located, ctx).map_err(|e| located.wrap(e))?;
    let Located {
        qualified,
        rel_dir,
        dir,
        ..
    } = &located;
    let (qualified, rel_dir) = (qualified.as_str(), rel_dir.as_str());
    let build_error = |e: Error| located.wrap(e);

    // Every file the artifact takes resolves inside the project (or an allowed directory):
    // a symlink in a function directory must not ship `/etc/shadow` or `~/.ssh`.
    let confinement =
        Confinement::for_project(&ctx.project_dir, &ctx.flags).map_err(build_error)?;
    for source in &sources {
        let what = format!("the file '{}' of function '{qualified}'", source.name);
        confinement
            .check(&source.path, &what)
            .map_err(build_error)?;
    }

    if let [only] = sources.as_slice() {
        explain(
            ctx,
            qualified,
            &format!("nothing to zip: {} is deployed as it is", only.name),
        );
        let artifact = single_file(&only.path, action, qualified, ctx).map_err(build_error)?;
        if artifact.zipped {
            crate::zip_check::check_prebuilt_zip(&only.path, &artifact.file).map_err(|e| {
                build_error(Error::project(format!(
                    "{e}; rebuild it or let sluice zip the directory's files itself"
                )))
            })?;
        }
        return Ok(artifact);
    }

    let runtime = settle_runtime(action, &sources, qualified, ctx).map_err(build_error)?;
    let zip_path = dir.join(ZIP_NAME);
    let shown = display_path(ctx, rel_dir);
    let status = if ctx.flags.incremental && reusable(&zip_path, &sources, &inputs) {
        if ctx.flags.verbose_zip {
            ctx.feedback.progress(&format!(
                "Reusing {ZIP_NAME} in {shown} because no included file changed"
            ));
        }
        explain(
            ctx,
            qualified,
            "zip reused: no included file changed since it was made",
        );
        BuildStatus::Reused
    } else {
        let why = match ctx.flags.incremental {
            true => "zipped: an included file changed, or there was no zip",
            false => "zipped: no --incremental",
        };
        explain(ctx, qualified, why);
        if ctx.flags.verbose_zip {
            ctx.feedback
                .progress(&format!("Zipping action contents in {rel_dir}"));
        }
        write_zip(&zip_path, &sources).map_err(build_error)?;
        if ctx.flags.verbose_zip {
            ctx.feedback
                .progress(&format!("Zipping complete in {rel_dir}"));
        }
        BuildStatus::Built
    };
    Ok(Artifact {
        file: project_relative(ctx, &zip_path),
        runtime: Some(runtime),
        binary: true,
        zipped: true,
        main: None,
        status,
    })
}

/// A function directory and the names build errors use for it.
struct Located {
    entity: String,
    qualified: String,
    rel_dir: String,
    dir: PathBuf,
}

impl Located {
    /// Wraps an error as this function's build error (build errors pass through).
    fn wrap(&self, e: Error) -> Error {
        match e {
            Error::Build { .. } => e,
            other => Error::Build {
                entity: self.entity.clone(),
                message: other.to_string(),
                output: None,
            },
        }
    }
}

fn locate(package: &str, action: &ActionSpec, ctx: &BuildContext) -> Result<Located> {
    let entity = action_entity(package, action);
    let qualified = action.qualified_name(package);
    let rel_dir = action.file.as_deref().ok_or_else(|| Error::Build {
        entity: entity.clone(),
        message: format!("Action '{qualified}' has no directory to build"),
        output: None,
    })?;
    let rel_dir = rel_dir.trim_end_matches(['/', '\\']).to_string();
    let dir = ctx.resolve(&rel_dir);
    Ok(Located {
        entity,
        qualified,
        rel_dir,
        dir,
    })
}

/// The files `.include` (or `.source`) lists, else the directory's files less `.ignore`,
/// plus the control files whose times matter for incremental reuse.
fn gather(located: &Located, ctx: &BuildContext) -> Result<(Vec<Source>, Vec<PathBuf>)> {
    let Located {
        qualified,
        rel_dir,
        dir,
        ..
    } = located;
    let include = [".include", ".source"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file());
    match include {
        Some(file) => {
            let sources = include_list::included_files(
                &file,
                dir,
                rel_dir,
                &ctx.project_dir,
                &ctx.system_ignore,
            )?;
            if sources.is_empty() {
                let name = file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                return Err(Error::project(format!("{rel_dir}/{name} is empty")));
            }
            Ok((sources, vec![file]))
        }
        None => {
            let sources = listing::listed_files(dir, rel_dir, &ctx.system_ignore)?;
            if sources.is_empty() {
                return Err(Error::project(format!(
                    "Action '{qualified}' has no included files"
                )));
            }
            Ok((sources, vec![dir.join(".ignore")]))
        }
    }
}

/// The files a function directory deploys (`.include`, or the listing less `.ignore`), for
/// builders that package them their own way (the Go builder compiles them).
pub fn collect_sources(
    package: &str,
    action: &ActionSpec,
    ctx: &BuildContext,
) -> Result<Vec<Source>> {
    let located = locate(package, action, ctx)?;
    gather(&located, ctx)
        .map(|(s, _)| s)
        .map_err(|e| located.wrap(e))
}

/// The action's runtime, else the one its files agree on; disagreement is an error naming
/// both files (spec §16 item 14), no runtime at all is §7.8's error.
fn settle_runtime(
    action: &ActionSpec,
    sources: &[Source],
    qualified: &str,
    ctx: &BuildContext,
) -> Result<String> {
    if let Some(r) = action.runtime.as_deref().filter(|r| !r.is_empty()) {
        return Ok(r.to_string());
    }
    let mut names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    match agree_on_runtime(names, &ctx.runtimes) {
        Agreement::Agreed(r) => Ok(r),
        Agreement::None => Err(undetermined(qualified)),
        Agreement::Conflict { first, second } => Err(Error::Project {
            message: format!(
                "Action '{qualified}' not deployed: its files imply different runtimes: '{}' ({}) and '{}' ({})",
                first.0, first.1, second.0, second.1
            ),
            help: Some(format!(
                "set 'runtime' for function '{qualified}' in project.yml, or list only one language's files in .include/.ignore"
            )),
        }),
    }
}

fn undetermined(qualified: &str) -> Error {
    Error::Project {
        message: format!("Action '{qualified}' not deployed: runtime type could not be determined"),
        help: Some(format!(
            "set 'runtime' for function '{qualified}' in project.yml, or give its files a known extension (.js, .py, .php, .go)"
        )),
    }
}

/// One file deployed as it is (spec §7.8): binary and zipped come from the file's name, the
/// runtime from the action, else from the file's name.
fn single_file(
    path: &Path,
    action: &ActionSpec,
    qualified: &str,
    ctx: &BuildContext,
) -> Result<Artifact> {
    let base = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parts = file_parts(&base, &ctx.runtimes);
    let runtime = action
        .runtime
        .clone()
        .filter(|r| !r.is_empty())
        .or(parts.runtime)
        .ok_or_else(|| undetermined(qualified))?;
    let shown = walk::normalize(path);
    Ok(Artifact {
        file: project_relative(ctx, &shown),
        runtime: Some(runtime),
        binary: parts.binary,
        zipped: parts.zipped,
        main: None,
        status: BuildStatus::Built,
    })
}

#[cfg(test)]
mod tests;
