//! `get-metadata`: read only, and hand back the structure as the original deployer prints it.
//! Unresolved variables are not an error here (App Platform reads `unresolvedVariables` from
//! the output): they are a warning, and the structure is the configuration part only.

use crate::error::Result;
use crate::model::{DeployStructure, Flags};
use crate::runtimes::RuntimeTable;

use super::session::Session;

/// What to read.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MetadataOptions {
    pub project: String,
    pub flags: Flags,
}

impl MetadataOptions {
    pub fn new(project: impl Into<String>, flags: Flags) -> Self {
        MetadataOptions {
            project: project.into(),
            flags,
        }
    }
}

/// Reads `options.project` as a deploy would, without building anything.
pub fn metadata(session: &Session, options: &MetadataOptions) -> Result<DeployStructure> {
    let runtimes = RuntimeTable::builtin();
    let mut ctx = session.read_context(&options.flags);
    ctx.runtimes = runtimes;
    let mut structure = session.engine.read(&options.project, &ctx)?;
    match &structure.unresolved_variables {
        Some(names) => {
            let unresolved = crate::error::Error::Unresolved {
                names: names.clone(),
            };
            session.feedback.warn(&format!("Warning: {unresolved}"));
        }
        None => {
            let files = session
                .engine
                .registry
                .reader_for(&options.project)?
                .files(&options.project);
            session
                .engine
                .fill_runtimes(&mut structure, files.as_ref(), &ctx);
        }
    }
    Ok(structure)
}
