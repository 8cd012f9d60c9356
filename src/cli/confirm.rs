//! Asking before something is deleted for good: `--yes` answers for the user; on a terminal
//! the question is asked on stderr; off a terminal (CI, pipes) nothing is deleted without
//! `--yes`, so a script never deletes by accident.

use std::io::{BufRead, IsTerminal, Write};

use super::render::CliError;

/// Shows `what` (one or more lines) on stderr and asks to go on; `Ok` means go on.
pub fn deletion(what: &str, yes: bool) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    let mut err = std::io::stderr();
    let _ = writeln!(err, "{what}");
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(
            CliError::msg("not on a terminal, so nothing is deleted without --yes")
                .with_help("run it again with --yes (-y) to delete"),
        );
    }
    let _ = write!(err, "Delete? [y/N] ");
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(CliError::other)?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(())
    } else {
        Err(CliError::msg("not confirmed, nothing deleted"))
    }
}
