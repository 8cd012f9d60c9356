//! sluice-fs-reader: the [`ProjectReader`] for a project directory on disk.
//!
//! It owns everything the original deployer did while *reading* (spec §2–§6, §9, §11.4):
//! the top-level layout and the `packages/` scan, file name → runtime, the `project.yml`
//! pipeline (substitution, tabs, YAML, validation with the original's messages), the merge of
//! config and file system, `--include`/`--exclude`, the layout's checks of function
//! directories and `lib/` with their generic build kind (§6.1), and the deployer annotation.
//! On top of the original's checks it refuses, at read time, entity names OpenWhisk would
//! refuse or that would address another entity ([`entity_names`]), paths that resolve
//! outside the project ([`sluice_core::confine`]), YAML nested deep enough to stall the
//! parser ([`yaml::check_depth`]) and filters that match nothing.
//!
//! It must not plan builds: which builder owns a directory is the engine's plan, which asks
//! the registered builders after the read (`sluice_core::Engine::plan`); the reader only
//! records "this function is a directory" as the layout's kind in `build`. Nor may it build,
//! deploy, print or exit: warnings go through the context's `Feedback`,
//! errors come back as values. All YAML goes through [`yaml`], so the YAML crate can be
//! swapped in one place. Directory listings are cached for the length of one read.
//!
//! [`FsReader::manifest`](ProjectReader::manifest) finds `plugins:`/`hooks:` with steps 1–5
//! of the pipeline alone (no listing, no git, no validation) and leaves the bytes it read in
//! [`source_cache`], so the full read that follows opens no file a second time.

pub mod config;
pub mod entity_names;
pub mod error;
pub mod files;
mod filter_check;
pub mod layout;
pub mod listing;
pub mod merge;
pub mod properties;
pub mod source_cache;
pub mod substitute;
pub mod triggers;
pub mod validate;
pub mod yaml;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use sluice_core::confine::Confinement;
use sluice_core::{DeployStructure, ProjectFiles, ProjectManifest, ProjectReader, ReadContext};

pub use error::ReadError;

use crate::config::{ConfigInputs, load_config, manifest_lists, parse_config};
use crate::error::Result;
use crate::layout::{ScanContext, scan_packages, scan_top_level, special_kind};
use crate::listing::Listings;
use crate::properties::{Properties, load_checked, value_text};
use crate::source_cache::CacheUse;

/// Reads a project directory (any existing directory not written `slice:…`).
#[derive(Debug, Default, Clone, Copy)]
pub struct FsReader;

impl ProjectReader for FsReader {
    fn name(&self) -> &str {
        "fs"
    }

    fn claims(&self, location: &str) -> bool {
        !location.starts_with("slice:") && Path::new(location).is_dir()
    }

    fn read(&self, location: &str, ctx: &ReadContext) -> sluice_core::Result<DeployStructure> {
        let structure = read_project(location, ctx)?;
        if !ctx.entity_filter.is_including_everything() && structure.unresolved_variables.is_none()
        {
            filter_check::check_filter_matches(location, ctx)?;
        }
        Ok(structure)
    }

    /// `plugins:` and `hooks:` of `project.yml` (or `projectConfig.yml`) after substitution,
    /// without listing the project, running git or validating. Substitution, tab and YAML
    /// errors are the full read's, with file and line. What it reads is kept for the full
    /// read of the same command (see [`source_cache`]).
    fn manifest(&self, location: &str, ctx: &ReadContext) -> sluice_core::Result<ProjectManifest> {
        read_manifest(location, ctx).map_err(Into::into)
    }

    /// The disk, with this read's directory listings in front (see [`files`]).
    fn files(&self, location: &str) -> Arc<dyn ProjectFiles> {
        Arc::new(files::ReadFiles::new(location))
    }
}

/// See [`FsReader`]'s `manifest`.
pub fn read_manifest(location: &str, ctx: &ReadContext) -> Result<ProjectManifest> {
    let given = Path::new(location);
    let dir = std::path::absolute(given).map_err(|e| error::ReadError::io(given, e))?;
    let is_config = |name: &str| !ctx.system_ignore.is_excluded(name) && dir.join(name).is_file();
    let Some(file_name) = ["project.yml", "projectConfig.yml"]
        .into_iter()
        .find(|n| is_config(n))
    else {
        return Ok(ProjectManifest::default());
    };
    let confinement = Confinement::for_project(&dir, &ctx.flags)?;
    let env_file = dir.join(".env");
    let props = match &ctx.flags.env {
        Some(file) => required_properties(file, CacheUse::Remember)?,
        None if !ctx.system_ignore.is_excluded(".env") && env_file.is_file() => {
            project_env(&confinement, &env_file, CacheUse::Remember)?
        }
        None => Properties::new(),
    };
    let parsed = parse_config(&ConfigInputs::from_context(
        &dir,
        file_name,
        ctx,
        &props,
        CacheUse::Remember,
        &confinement,
    ))?;
    let (plugins, hooks) = manifest_lists(&parsed.config);
    let mut manifest = ProjectManifest::default();
    manifest.plugins = plugins;
    manifest.hooks = hooks;
    Ok(manifest)
}

fn missing_env_file(file: &str) -> error::ReadError {
    error::ReadError::project_with_help(
        format!("The specified environment file '{file}' does not exist"),
        "check the path; it is relative to the current directory",
    )
}

/// Loads `--env`/`--build-env` (relative to the current directory). They are the user's
/// own choice on the command line, so they are not confined to the project.
fn required_properties(file: &str, how: CacheUse) -> Result<Properties> {
    let path = Path::new(file);
    if !path.is_file() {
        return Err(missing_env_file(file));
    }
    load_checked(path, how)
}

/// Loads the project's own `.env`, which must resolve inside the project (it may be a
/// symlink into an allowed directory).
fn project_env(confinement: &Confinement, path: &Path, how: CacheUse) -> Result<Properties> {
    let real = confinement.check(path, "the project's .env file")?;
    load_checked(&real, how)
}

/// Every function's file (and so every symlinked function file or directory) resolves
/// inside the project; a sequence component that names a function of one of the project's
/// packages names one that is there.
fn check_read_project(
    structure: &DeployStructure,
    confinement: &Confinement,
    ctx: &ReadContext,
    config: Option<(&str, &str)>,
) -> Result<()> {
    for (package, action) in structure.actions() {
        if let Some(file) = &action.file {
            let what = format!(
                "the file of function '{}'",
                action.qualified_name(&package.name)
            );
            confinement.check(Path::new(file), &what)?;
        }
    }
    if let Some((sequence, component)) =
        entity_names::missing_component(structure, &ctx.entity_filter)
    {
        let message = format!(
            "the sequence '{sequence}' uses '{component}', but the project has no function '{component}'"
        );
        return Err(match config {
            Some((file, raw)) => error::ReadError::Config {
                file: file.to_string(),
                line: yaml::key_line(raw, "sequence", sequence.rsplit('/').next()),
                column: None,
                message: format!("{message}; add it, or fix the name"),
            },
            None => error::ReadError::project(message),
        });
    }
    Ok(())
}

/// Reads the project at `location` (spec §2–§6.1); the engine plans its builds afterwards.
///
/// When substitution leaves variables unresolved, the result is `Ok` with
/// `unresolved_variables` set and only the config part (not merged): callers that deploy
/// must refuse it; `get-metadata` prints it.
pub fn read_project(location: &str, ctx: &ReadContext) -> Result<DeployStructure> {
    let given = Path::new(location);
    let dir = std::path::absolute(given).map_err(|e| error::ReadError::io(given, e))?;
    let listings = Listings::new();
    let top = scan_top_level(&dir, ctx.flags.env.is_some(), &ctx.system_ignore, &listings)?;
    for warning in &top.warnings {
        ctx.feedback.warn(warning);
    }

    let confinement = Confinement::for_project(&dir, &ctx.flags)?;
    let props = match (&ctx.flags.env, &top.env_file) {
        (Some(file), _) => required_properties(file, CacheUse::Take)?,
        (None, Some(path)) => project_env(&confinement, path, CacheUse::Take)?,
        (None, None) => Properties::new(),
    };
    let build_env: Option<BTreeMap<String, String>> = match &ctx.flags.build_env {
        Some(file) => Some(
            required_properties(file, CacheUse::Take)?
                .iter()
                .map(|(k, v)| (k.clone(), value_text(v)))
                .collect(),
        ),
        None => None,
    };

    let config = top.config.as_deref().map(|file_name| {
        load_config(ConfigInputs::from_context(
            &dir,
            file_name,
            ctx,
            &props,
            CacheUse::Take,
            &confinement,
        ))
    });

    let annotation = match &config {
        Some(Ok(c)) if c.structure.deployer_annotation.is_some() => {
            c.structure.deployer_annotation.clone()
        }
        _ => Some(sluice_core::annotation::deployer_annotation(&dir, &ctx.env)),
    };
    let display_base = annotation
        .as_ref()
        .map(sluice_core::DeployerAnnotation::best_project_name)
        .unwrap_or_default();

    // The scan's own errors take precedence over config errors (spec §3 step 9).
    let (fs_packages, package_strays) = if top.has_packages {
        scan_packages(ScanContext {
            project_dir: &dir,
            entity_filter: &ctx.entity_filter,
            system_ignore: &ctx.system_ignore,
            runtimes: &ctx.runtimes,
            display_base: &display_base,
            listings: &listings,
        })?
    } else {
        (Vec::new(), Vec::new())
    };
    // `lib/`'s checks are the scan's too: they come before config errors.
    let lib_build = if top.has_lib {
        let files = listings.files(&dir.join("lib"), &ctx.system_ignore)?;
        Some(special_kind(&files, "lib", false)?.to_string())
    } else {
        None
    };

    let config = config.transpose()?.unwrap_or_default();
    for warning in &config.warnings {
        ctx.feedback.warn(warning);
    }
    let mut structure = config.structure;
    structure.file_path = Some(location.to_string());
    structure.lib_build = lib_build;
    structure.deployer_annotation = annotation;
    if build_env.is_some() {
        structure.build_env = build_env;
    }
    if !config.unresolved.is_empty() {
        // The config part alone, as the original's `configPart`: its own packages (not
        // merged, no defaults), the top-level strays, the annotation and the lib build.
        structure.strays = top.strays;
        structure.unresolved_variables = Some(config.unresolved);
        return Ok(structure);
    }

    let mut packages = merge::merge_packages(fs_packages, std::mem::take(&mut structure.packages));
    merge::apply_web_defaults(&mut packages);

    merge::apply_top_level_to_default(&mut packages, &structure);
    structure.packages = packages;
    check_read_project(
        &structure,
        &confinement,
        ctx,
        top.config.as_deref().zip(config.raw.as_deref()),
    )?;
    // The original concatenates the `packages/` strays first, then the top level's.
    structure.strays = package_strays;
    structure.strays.extend(top.strays);
    listings.hand_over(&dir);
    Ok(structure)
}

#[cfg(test)]
mod tests;
