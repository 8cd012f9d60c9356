//! The code text an action's PUT carries: the file as UTF-8 text, or base64 when binary.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use sluice_core::ActionSpec;

/// Reads `file` (relative to `project_dir` unless absolute) as the action's code; the error
/// is the message to report for the action.
pub fn read_code(
    project_dir: Option<&Path>,
    action: &ActionSpec,
    file: &str,
) -> Result<String, String> {
    let path = match project_dir {
        Some(dir) if !Path::new(file).is_absolute() => dir.join(file),
        _ => PathBuf::from(file),
    };
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    if action.binary == Some(true) {
        Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
    } else {
        String::from_utf8(bytes).map_err(|_| {
            format!(
                "{} is not UTF-8 text; deploy it as a binary (zip) function",
                path.display()
            )
        })
    }
}
