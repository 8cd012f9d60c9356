//! `sluice init [DIR] --language node|python|go [--overwrite]` (doctl's `serverless init`):
//! a project that deploys and runs at once — `project.yml`, one `sample/hello` function and
//! a `.gitignore` for what deploys leave behind. The templates live in `init/` beside this
//! file; `{dir}` in them becomes the directory as the user wrote it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Serialize;

use super::render::{CliError, OutputArgs, print_json};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project directory to create
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// The language of the sample function
    #[arg(short, long, value_enum, default_value_t = Language::Node)]
    language: Language,
    /// Write the files even when the directory already holds a project (replacing them)
    #[arg(long)]
    overwrite: bool,
    #[command(flatten)]
    output: OutputArgs,
}

/// The languages `init` has a sample for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Language {
    /// JavaScript on nodejs:default
    Node,
    /// Python on python:default
    Python,
    /// Go on go:default, built on this machine (`localBuild: true`)
    Go,
}

impl Language {
    /// The files of the project: (path relative to the project, text).
    fn files(self) -> [(&'static str, &'static str); 3] {
        let gitignore = (".gitignore", include_str!("init/gitignore.txt"));
        match self {
            Language::Node => [
                ("project.yml", include_str!("init/node.yml")),
                ("packages/sample/hello.js", include_str!("init/node.js")),
                gitignore,
            ],
            Language::Python => [
                ("project.yml", include_str!("init/python.yml")),
                ("packages/sample/hello.py", include_str!("init/python.py")),
                gitignore,
            ],
            Language::Go => [
                ("project.yml", include_str!("init/go.yml")),
                ("packages/sample/hello/hello.go", include_str!("init/go.go")),
                gitignore,
            ],
        }
    }
}

/// What `--json` prints.
#[derive(Debug, Serialize)]
struct Created {
    dir: String,
    language: Language,
    files: Vec<String>,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let dir = &args.dir;
    if !args.overwrite && is_project(dir) {
        return Err(CliError::msg(format!(
            "{} already holds a project (project.yml or packages/)",
            dir.display()
        ))
        .with_help("pick another directory, or add --overwrite to replace its sample files"));
    }
    if args.overwrite {
        remove_samples(dir)?;
    }
    let shown = dir.display().to_string();
    let mut files = Vec::new();
    for (rel, text) in args.language.files() {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| CliError::msg(format!("cannot create {}: {e}", parent.display())))?;
        }
        std::fs::write(&path, text.replace("{dir}", &shown))
            .map_err(|e| CliError::msg(format!("cannot write {}: {e}", path.display())))?;
        files.push(rel.to_string());
    }
    if args.output.json() {
        print_json(&Created {
            dir: shown,
            language: args.language,
            files,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("Created a {:?} project in {shown}:", args.language);
    for f in &files {
        println!("  {f}");
    }
    println!("\nDeploy it with 'sluice deploy {shown}'.");
    if args.language != Language::Go {
        println!("Then run it with 'sluice invoke sample/hello -p name World'.");
    }
    Ok(ExitCode::SUCCESS)
}

/// Removes the sample functions of every language (`--overwrite` to another language must
/// not leave two `sample/hello` functions).
fn remove_samples(dir: &Path) -> Result<(), CliError> {
    for language in [Language::Node, Language::Python, Language::Go] {
        for (rel, _) in language.files() {
            if !rel.starts_with("packages/") {
                continue;
            }
            let path = dir.join(rel);
            let result = match std::fs::remove_file(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                other => other,
            };
            result.map_err(|e| CliError::msg(format!("cannot remove {}: {e}", path.display())))?;
        }
    }
    Ok(())
}

/// Whether `dir` already has a project in it.
fn is_project(dir: &Path) -> bool {
    dir.join("project.yml").exists() || dir.join("packages").exists()
}
