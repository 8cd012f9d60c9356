//! The finder: the default builder. It deploys a directory action by collecting its files —
//! the ones `.include` lists, or every file less the `.ignore` patterns — and zipping them
//! reproducibly (autozip), or by deploying the one file as it is.
//!
//! Script and npm builders call [`identify`] after their subprocess ran, so every local
//! build ends the same way.

use crate::error::{Error, Result};
use crate::model::{Artifact, build_kind};
use crate::plugin::{BuildContext, BuildJob, BuildTarget, Builder, Detection};

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

    fn build(&self, job: &BuildJob<'_>, _ctx: &BuildContext) -> Result<Option<Artifact>> {
        Err(Error::Build {
            entity: job.entity(),
            message: format!("the finder cannot build '{}' yet", job.entity()),
            output: None,
        })
    }
}
