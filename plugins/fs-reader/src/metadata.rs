//! What `get-metadata` adds after a successful read (spec §13.1 step 4): every function gets
//! a `runtime` — the explicit one, else `''` for sequences, else from the file name, else
//! the agreement over the directory's files. Kept out of [`crate::read_project`] because a
//! deploy must not pin a directory's runtime before its build has run.

use std::path::Path;

use sluice_core::runtimes::file_parts;
use sluice_core::{DeployStructure, Excluder, RuntimeTable};

use crate::listing::Listings;
use crate::plan::agreed_runtime;

/// Fills in the runtime of every function that has none (unknown stays absent).
pub fn fill_runtimes(
    structure: &mut DeployStructure,
    project_dir: &Path,
    runtimes: &RuntimeTable,
    excluder: &Excluder,
) {
    // The read that just ran listed these directories already.
    let listings = Listings::take_over(&std::path::absolute(project_dir).unwrap_or_default());
    for package in &mut structure.packages {
        for action in &mut package.actions {
            if action.runtime.is_some() {
                continue;
            }
            if action.is_sequence() {
                action.runtime = Some(String::new());
                continue;
            }
            let Some(file) = action.file.as_deref() else {
                continue;
            };
            let path = project_dir.join(file);
            action.runtime = if path.is_dir() {
                agreed_runtime(&path, file, excluder, runtimes, &listings)
            } else {
                let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
                file_parts(base, runtimes).runtime
            };
        }
    }
}
