//! `build`: read, then build every function (and `lib/` when the plan says so) without
//! deploying, and describe what each function became: its artifact's path, size and digest.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::engine::{BuildOutcome, BuildReport};
use crate::error::{Error, Result};
use crate::model::{DeployStructure, Flags};
use crate::runtimes::RuntimeTable;

use super::session::{Session, require_resolved};

/// What to build.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BuildOptions {
    pub project: String,
    pub flags: Flags,
}

impl BuildOptions {
    pub fn new(project: impl Into<String>, flags: Flags) -> Self {
        BuildOptions {
            project: project.into(),
            flags,
        }
    }
}

/// What one function became.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuiltFunction {
    /// `pkg/name`, or `name` in the default package.
    pub name: String,
    /// `built`, `reused`, `skipped`, `supplied`, `unbuilt` (deployed as is), `omitted` (a
    /// hook left it out) or `failed`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binary: Option<bool>,
    /// SHA-256 of the artifact's bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl BuiltFunction {
    pub fn failed(&self) -> bool {
        self.status == "failed"
    }
}

/// Every function's result, sorted by name (the `--json` document of `sluice build`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuildSummary {
    pub functions: Vec<BuiltFunction>,
}

impl BuildSummary {
    pub fn failed(&self) -> usize {
        self.functions.iter().filter(|f| f.failed()).count()
    }
}

/// Builds `options.project`. An `Err` means the project could not be read or `lib/` failed;
/// a function's failure is in its entry.
pub fn build(session: &Session, options: &BuildOptions) -> Result<BuildSummary> {
    let project_dir =
        std::path::absolute(&options.project).map_err(|e| Error::io(&options.project, e))?;
    let runtimes = RuntimeTable::builtin();
    let mut project = session.read(&options.project, &options.flags, &runtimes)?;
    require_resolved(&project)?;
    let ctx = session.build_context(
        &project_dir,
        &options.project,
        &options.flags,
        &project,
        &runtimes,
    );
    let reports = session.engine.build(&mut project, &ctx)?;
    let mut functions: Vec<BuiltFunction> = reports
        .iter()
        .map(|r| describe(r, &project, &project_dir))
        .collect();
    functions.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(BuildSummary { functions })
}

fn describe(report: &BuildReport, project: &DeployStructure, project_dir: &Path) -> BuiltFunction {
    let action = project
        .packages
        .iter()
        .filter(|p| p.name == report.package)
        .flat_map(|p| p.actions.iter())
        .find(|a| a.name == report.action);
    let mut out = BuiltFunction {
        name: report.entity.clone(),
        status: String::new(),
        file: None,
        size: None,
        runtime: action.and_then(|a| a.runtime.clone()),
        binary: None,
        digest: None,
        error: None,
    };
    match &report.outcome {
        BuildOutcome::Artifact(artifact) => {
            out.status = artifact.status.to_string();
            out.binary = Some(artifact.binary);
            out.runtime = out.runtime.or_else(|| artifact.runtime.clone());
            describe_file(&mut out, &artifact.file, project_dir);
        }
        BuildOutcome::Unbuilt => {
            out.status = "unbuilt".to_string();
            if let Some(a) = action.filter(|a| !a.is_sequence()) {
                out.binary = a.binary;
                if let Some(file) = &a.file {
                    describe_file(&mut out, file, project_dir);
                }
            }
        }
        BuildOutcome::SkippedByHook => out.status = "omitted".to_string(),
        BuildOutcome::Failed(message) => {
            out.status = "failed".to_string();
            out.error = Some(message.clone());
        }
    }
    out
}

/// Fills in the path, size and digest of the file a function deploys.
fn describe_file(out: &mut BuiltFunction, file: &str, project_dir: &Path) {
    out.file = Some(file.to_string());
    let path = if Path::new(file).is_absolute() {
        PathBuf::from(file)
    } else {
        project_dir.join(file)
    };
    if let Ok((size, digest)) = size_and_digest(&path) {
        out.size = Some(size);
        out.digest = Some(digest);
    }
}

fn size_and_digest(path: &Path) -> std::io::Result<(u64, String)> {
    use sha2::{Digest, Sha256};
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex_digest(&hasher.finalize())))
}

fn hex_digest(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
