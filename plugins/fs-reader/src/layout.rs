//! The project's layout on disk (spec §2.1, §2.2, §6.1): the top level, the `packages/`
//! scan, and the generic checks of action directories and `lib/`.

use std::path::{Path, PathBuf};

use sluice_core::model::build_kind;
use sluice_core::runtimes::file_parts;
use sluice_core::{ActionSpec, EntityFilter, PackageSpec, RuntimeTable, SystemIgnore};

use crate::entity_names::{NameOf, check_file_name};
use crate::error::{ReadError, Result};
use crate::listing::{Listings, join_rel};

/// What the top level of a project holds.
#[derive(Debug, Default)]
pub struct TopLevel {
    /// The config file's name (`project.yml`, or the legacy `projectConfig.yml`).
    pub config: Option<String>,
    pub has_packages: bool,
    pub has_lib: bool,
    /// The project's own `.env`, when `--env` was not given.
    pub env_file: Option<PathBuf>,
    pub strays: Vec<String>,
    pub warnings: Vec<String>,
}

/// Classifies the entries of the project root (spec §2.1).
pub fn scan_top_level(
    dir: &Path,
    env_flag_given: bool,
    system_ignore: &SystemIgnore,
    listings: &Listings,
) -> Result<TopLevel> {
    let mut top = TopLevel::default();
    let mut legacy = false;
    let mut other_yaml: Option<String> = None;
    for entry in listings.list(dir)?.iter() {
        let name = entry.name.as_str();
        if name == "packages" && !entry.is_dir {
            return Err(ReadError::project_with_help(
                "'packages' is a file, but it must be the directory that holds the project's packages",
                "remove or rename the file 'packages', or make it a directory with one subdirectory per package",
            ));
        }
        if entry.is_dir {
            match name {
                "packages" => top.has_packages = true,
                "lib" => top.has_lib = true,
                ".nimbella" | ".deployed" => {}
                _ => top.strays.push(name.to_string()),
            }
            continue;
        }
        if system_ignore.is_excluded(name) {
            continue;
        }
        match name {
            "project.yml" => top.config = Some(name.to_string()),
            "projectConfig.yml" => legacy = true,
            ".env" if !env_flag_given => top.env_file = Some(dir.join(name)),
            _ if name.ends_with(".yml") || name.ends_with(".yaml") => {
                other_yaml = Some(name.to_string());
            }
            _ => top.strays.push(name.to_string()),
        }
    }
    if top.config.is_none() && legacy {
        top.config = Some("projectConfig.yml".to_string());
        top.warnings.push(
            "Warning: the name 'projectConfig.yml' is deprecated; please rename to 'project.yml' soon"
                .to_string(),
        );
    }
    if top.config.is_none()
        && let Some(name) = other_yaml
    {
        top.warnings
            .push(format!("Warning: found {name} but no project.yml"));
    }
    Ok(top)
}

/// What the `packages/` scan needs.
#[derive(Debug, Clone, Copy)]
pub struct ScanContext<'a> {
    pub project_dir: &'a Path,
    pub entity_filter: &'a EntityFilter,
    pub system_ignore: &'a SystemIgnore,
    pub runtimes: &'a RuntimeTable,
    /// Prefix of display paths (`<bestProjectName>`).
    pub display_base: &'a str,
    pub listings: &'a Listings,
}

/// Scans `packages/`: one package per subdirectory, one action per file or subdirectory.
/// Returns the packages and the strays (files directly in `packages/`).
pub fn scan_packages(ctx: ScanContext<'_>) -> Result<(Vec<PackageSpec>, Vec<String>)> {
    let packages_dir = ctx.project_dir.join("packages");
    let mut packages = Vec::new();
    let mut strays = Vec::new();
    for entry in ctx.listings.list(&packages_dir)?.iter() {
        if !entry.is_dir {
            if !ctx.system_ignore.is_excluded(&entry.name) {
                // Recorded by its bare name, as the original does (`dirent.name`).
                strays.push(entry.name.clone());
            }
            continue;
        }
        if !ctx.entity_filter.is_package_included(&entry.name) {
            continue;
        }
        if entry.name != "default" {
            check_file_name(
                NameOf::Package,
                &entry.name,
                &format!("packages/{}", entry.name),
            )?;
        }
        packages.push(scan_package(&entry.name, ctx)?);
    }
    Ok((packages, strays))
}

fn scan_package(name: &str, ctx: ScanContext<'_>) -> Result<PackageSpec> {
    let dir = ctx.project_dir.join("packages").join(name);
    let mut actions: Vec<ActionSpec> = Vec::new();
    // Name → how it was found, for the duplicate check.
    let mut seen: Vec<(String, String)> = Vec::new();
    for entry in ctx.listings.list(&dir)?.iter() {
        if !entry.is_dir && ctx.system_ignore.is_excluded(&entry.name) {
            continue;
        }
        let rel = format!("packages/{name}/{}", entry.name);
        let rel_path = rel.clone();
        let display_file = Some(join_rel(ctx.display_base, &rel));
        let (action, how) = if entry.is_dir {
            let action = ActionSpec {
                name: entry.name.clone(),
                file: Some(rel),
                display_file,
                package: Some(name.to_string()),
                ..ActionSpec::default()
            };
            (action, Some("as a directory".to_string()))
        } else {
            let parts = file_parts(&entry.name, ctx.runtimes);
            // A file whose extension gives no runtime still gives a name: two of them with
            // one name are as much a clash as two with runtimes.
            let how = Some(parts.runtime.as_ref().map_or_else(
                || format!("as the file '{}'", entry.name),
                |r| format!("with runtime '{r}'"),
            ));
            let action = ActionSpec {
                name: parts.name,
                file: Some(rel),
                display_file,
                runtime: parts.runtime,
                binary: Some(parts.binary),
                zipped: Some(parts.zipped),
                package: Some(name.to_string()),
                ..ActionSpec::default()
            };
            (action, how)
        };
        if !ctx.entity_filter.is_action_included(name, &action.name) {
            continue;
        }
        check_file_name(NameOf::Function, &action.name, &rel_path)?;
        if let Some(how) = how {
            if let Some((_, former)) = seen.iter().find(|(n, _)| *n == action.name) {
                return Err(ReadError::project_with_help(
                    format!(
                        "The action name '{}' appears twice, once {former} and once {how}",
                        action.name
                    ),
                    format!("rename or remove one of them in packages/{name}"),
                ));
            }
            seen.push((action.name.clone(), how));
        }
        let mut action = action;
        if entry.is_dir {
            let rel_dir = action.file.clone().unwrap_or_default();
            let files = ctx
                .listings
                .files(&dir.join(&entry.name), ctx.system_ignore)?;
            action.build = Some(special_kind(&files, &rel_dir, true)?.to_string());
        }
        actions.push(action);
    }
    Ok(PackageSpec {
        name: name.to_string(),
        shared: Some(false),
        actions,
        ..PackageSpec::default()
    })
}

/// The generic checks of an action directory or `lib/` (spec §6.1), and the build kind the
/// original would choose. Builders' `detect` decides the final kind; this one is the
/// fallback when no builder claims the directory.
pub fn special_kind(files: &[String], rel_dir: &str, is_action: bool) -> Result<&'static str> {
    let has = |n: &str| files.iter().any(|f| f == n);
    let include = has(".include") || has(".source");
    if include && has(".ignore") {
        return Err(ReadError::project_with_help(
            format!(
                "In {rel_dir}: '.include' (or '.source') and '.ignore' may not both be present"
            ),
            "keep one of them: '.include' lists the files to deploy, '.ignore' the files to leave out",
        ));
    }
    if is_action && (files.is_empty() || (files.len() == 1 && has(".ignore"))) {
        return Err(ReadError::project_with_help(
            format!("Action directory {rel_dir} has no files"),
            "add the function's code, or remove the directory",
        ));
    }
    if !is_action && (include || has(".ignore")) {
        return Err(ReadError::project(
            "'.include' and '.ignore' are not supported in the 'lib' directory",
        ));
    }
    if cfg!(windows) && has("build.cmd") {
        return Ok(build_kind::BUILD_CMD);
    }
    if !cfg!(windows) && has("build.cmd") && !has("build.sh") {
        return Err(ReadError::project_with_help(
            format!(
                "In {rel_dir}: 'build.cmd' won't run on this platform and no 'build.sh' is provided"
            ),
            "add a build.sh next to build.cmd",
        ));
    }
    Ok(if has("build.sh") {
        build_kind::BUILD_SH
    } else if has("package.json") {
        build_kind::PACKAGE_JSON
    } else if include {
        build_kind::INCLUDE
    } else {
        build_kind::IDENTIFY
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(files: &[&str], is_action: bool) -> std::result::Result<&'static str, String> {
        let files: Vec<String> = files.iter().map(|f| f.to_string()).collect();
        special_kind(&files, "packages/p/a", is_action).map_err(|e| e.to_string())
    }

    #[test]
    fn special_files_and_precedence() {
        assert_eq!(
            kind(&["build.sh", "package.json", ".include"], true),
            Ok("build.sh")
        );
        assert_eq!(
            kind(&["package.json", ".include"], true),
            Ok("package.json")
        );
        assert_eq!(kind(&[".source"], true), Ok(".include"));
        assert_eq!(kind(&["index.js"], true), Ok("identify"));
        assert_eq!(kind(&["build.sh", "build.cmd"], true), Ok("build.sh"));
        assert_eq!(kind(&[], false), Ok("identify"));
    }

    #[test]
    fn special_file_errors() {
        assert_eq!(
            kind(&[".include", ".ignore", "a.js"], true),
            Err(
                "In packages/p/a: '.include' (or '.source') and '.ignore' may not both be present"
                    .into()
            )
        );
        assert_eq!(
            kind(&[], true),
            Err("Action directory packages/p/a has no files".into())
        );
        assert_eq!(
            kind(&[".ignore"], true),
            Err("Action directory packages/p/a has no files".into())
        );
        assert_eq!(
            kind(&[".include"], false),
            Err("'.include' and '.ignore' are not supported in the 'lib' directory".into())
        );
        assert_eq!(
            kind(&["build.cmd", "a.js"], true),
            Err("In packages/p/a: 'build.cmd' won't run on this platform and no 'build.sh' is provided".into())
        );
    }
}
