//! functions-toml: an example third-party reader plugin for sluice — a project described by
//! one `functions.toml` file instead of the `project.yml` + `packages/` folder layout.
//!
//! ```toml
//! [parameters]            # optional, given to every function (its own entries win)
//! greeting = "Hello"
//!
//! [[function]]
//! name = "hello"
//! package = "demo"        # optional; the default package otherwise
//! file = "src/hello.js"   # a file, or a directory (then the host's builders build it)
//! runtime = "nodejs:18"   # optional; else from the file's extension
//! web = true
//! parameters = { name = "world" }
//! ```
//!
//! The reader claims a directory that has a `functions.toml` and no `project.yml`, so it
//! never takes over an ordinary project. A reader does not plan builds: it marks a directory
//! function with the generic build kind `identify`, and the host's engine then asks its
//! builders which one owns the directory (exactly as for the built-in reader), so `build.sh`,
//! `package.json` or a builder plugin work for these functions unchanged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sluice_plugin_abi::sluice_core::model::{Dict, WebSetting, build_kind};
use sluice_plugin_abi::sluice_core::{
    self, ActionSpec, DeployStructure, DeployerAnnotation, Error, PackageSpec, ProjectReader,
    ReadContext, Result,
};

/// The project file this reader reads.
pub const FILE: &str = "functions.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Project {
    #[serde(default)]
    parameters: Option<Dict>,
    #[serde(default)]
    environment: Option<Dict>,
    #[serde(default, rename = "function")]
    functions: Vec<Function>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Function {
    name: String,
    package: Option<String>,
    file: String,
    runtime: Option<String>,
    main: Option<String>,
    web: Option<WebSetting>,
    parameters: Option<Dict>,
    environment: Option<Dict>,
}

/// The reader.
#[derive(Debug, Default)]
pub struct FunctionsTomlReader;

impl ProjectReader for FunctionsTomlReader {
    fn name(&self) -> &str {
        "functions-toml"
    }

    fn claims(&self, location: &str) -> bool {
        let dir = Path::new(location);
        dir.join(FILE).is_file() && !dir.join("project.yml").exists()
    }

    fn read(&self, location: &str, ctx: &ReadContext) -> Result<DeployStructure> {
        let dir = Path::new(location);
        let path = dir.join(FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let project: Project = toml::from_str(&text).map_err(|e| config_error(&text, &e))?;
        if project.functions.is_empty() {
            return Err(Error::Config {
                file: FILE.into(),
                line: None,
                column: None,
                message: "there is no [[function]] to deploy".into(),
            });
        }

        let mut packages: BTreeMap<String, Vec<ActionSpec>> = BTreeMap::new();
        for f in project.functions {
            let mut action = f.into_action();
            // Project-wide entries go to every function (its own entries win), so they work
            // in the default package too, which OpenWhisk gives no parameters of its own.
            action.parameters = merged(&project.parameters, action.parameters);
            action.environment = merged(&project.environment, action.environment);
            let action = check_file(action, dir, ctx)?;
            let package = action.package.clone().unwrap_or_else(|| "default".into());
            if packages
                .get(&package)
                .is_some_and(|actions| actions.iter().any(|a| a.name == action.name))
            {
                return Err(Error::Config {
                    file: FILE.into(),
                    line: None,
                    column: None,
                    message: format!(
                        "the function '{}' is declared twice",
                        action.qualified_name(&package)
                    ),
                });
            }
            packages.entry(package).or_default().push(action);
        }
        let absolute = dir
            .canonicalize()
            .unwrap_or_else(|_| PathBuf::from(location));
        Ok(DeployStructure {
            packages: packages
                .into_iter()
                .map(|(name, actions)| PackageSpec {
                    name,
                    actions,
                    ..Default::default()
                })
                .collect(),
            file_path: Some(location.to_string()),
            deployer_annotation: Some(DeployerAnnotation {
                project_path: absolute.display().to_string(),
                ..Default::default()
            }),
            ..Default::default()
        })
    }
}

fn merged(project: &Option<Dict>, own: Option<Dict>) -> Option<Dict> {
    let Some(project) = project else { return own };
    let mut out = project.clone();
    out.extend(own.unwrap_or_default());
    Some(out)
}

impl Function {
    fn into_action(self) -> ActionSpec {
        ActionSpec {
            name: self.name,
            package: self.package,
            file: Some(self.file),
            runtime: self.runtime,
            main: self.main,
            web: self.web,
            parameters: self.parameters,
            environment: self.environment,
            ..Default::default()
        }
    }
}

/// Checks the function's file: a file deploys as is (its runtime from its name), a
/// directory is marked as one for the host's build planning.
fn check_file(mut action: ActionSpec, dir: &Path, ctx: &ReadContext) -> Result<ActionSpec> {
    let file = action.file.clone().unwrap_or_default();
    let path = dir.join(&file);
    let entity = action.qualified_name(action.package.as_deref().unwrap_or("default"));
    let missing = || Error::Config {
        file: FILE.into(),
        line: None,
        column: None,
        message: format!("the file '{file}' of function '{entity}' does not exist"),
    };
    let meta = std::fs::metadata(&path).map_err(|_| missing())?;
    if meta.is_dir() {
        // A directory: the engine asks the host's builders which one owns it.
        action.build = Some(build_kind::IDENTIFY.to_string());
    } else {
        let base = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parts = sluice_core::runtimes::file_parts(&base, &ctx.runtimes);
        if action.runtime.is_none() {
            action.runtime = parts
                .runtime
                .map(|r| ctx.runtimes.canonical(&r).to_string());
        }
        action.binary = Some(parts.binary);
        action.zipped = Some(parts.zipped);
    }
    if action.runtime.is_none() && action.build.is_none() {
        ctx.feedback.warn(&format!(
            "function '{entity}' has no runtime: set 'runtime' in {FILE}"
        ));
    }
    Ok(action)
}

fn config_error(text: &str, e: &toml::de::Error) -> Error {
    let (line, column) = e
        .span()
        .map(|span| {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            (line, column)
        })
        .unzip();
    Error::Config {
        file: FILE.into(),
        line,
        column,
        message: e.message().to_string(),
    }
}

sluice_plugin_abi::export_plugin! {
    name: "functions-toml",
    version: env!("CARGO_PKG_VERSION"),
    reader: FunctionsTomlReader,
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_core::Flags;

    #[test]
    fn a_directory_is_marked_for_the_hosts_planning() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join(FILE),
            "[[function]]\nname = \"d\"\nfile = \"src\"\n",
        )
        .expect("write");
        std::fs::create_dir(dir.path().join("src")).expect("mkdir");
        std::fs::write(dir.path().join("src/build.sh"), "").expect("write");
        let location = dir.path().display().to_string();
        let p = FunctionsTomlReader
            .read(&location, &ReadContext::new(Flags::default()))
            .expect("reads");
        let (_, d) = p.actions().next().expect("one");
        assert_eq!(d.build.as_deref(), Some("identify"));
    }

    fn read(toml: &str) -> Result<DeployStructure> {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(FILE), toml).expect("write");
        std::fs::write(dir.path().join("a.py"), "def main(a): return a").expect("write");
        let location = dir.path().display().to_string();
        assert!(FunctionsTomlReader.claims(&location));
        FunctionsTomlReader.read(&location, &ReadContext::new(Flags::default()))
    }

    #[test]
    fn groups_functions_into_packages() {
        let p = read("[[function]]\nname = \"a\"\nfile = \"a.py\"\n[[function]]\nname = \"b\"\npackage = \"x\"\nfile = \"a.py\"\nweb = \"raw\"\n")
            .expect("reads");
        let names: Vec<(&str, &str)> = p
            .actions()
            .map(|(pkg, a)| (pkg.name.as_str(), a.name.as_str()))
            .collect();
        assert_eq!(names, [("default", "a"), ("x", "b")]);
        let (_, a) = p.actions().next().expect("one");
        assert_eq!(a.runtime.as_deref(), Some("python:3.9"));
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let err =
            read("[[function]]\nname = \"a\"\nfile = \"a.py\"\nbogus = 1\n").expect_err("fails");
        assert_eq!(err.file().as_deref(), Some(FILE));
        assert_eq!(err.line(), Some(4));
        let err = read("[[function]]\nname = \"a\"\nfile = \"nope.js\"\n").expect_err("fails");
        assert!(
            err.to_string()
                .contains("'nope.js' of function 'a' does not exist"),
            "{err}"
        );
    }
}
