//! Which python builds: `$SLUICE_PYTHON` (a `--build-env` entry wins over the process
//! environment, as it does for everything the build runs), else `python3`; and its `X.Y`,
//! which names the virtualenv's `lib/pythonX.Y/site-packages`.

use std::process::{Command, Stdio};

use sluice_core::BuildContext;

use crate::error::{PythonError, Result};

/// The variable that names the interpreter.
pub const PYTHON_VAR: &str = "SLUICE_PYTHON";
/// The interpreter used when [`PYTHON_VAR`] is unset or empty.
pub const DEFAULT_PYTHON: &str = "python3";

/// The interpreter program for a build.
pub fn program(ctx: &BuildContext) -> String {
    ctx.build_env
        .get(PYTHON_VAR)
        .cloned()
        .or_else(|| std::env::var(PYTHON_VAR).ok())
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_PYTHON.to_string())
}

/// The interpreter's `major.minor`, asked of the interpreter itself (with the build's
/// environment, so a `--build-env PATH=…` is honoured).
pub fn version(program: &str, ctx: &BuildContext) -> Result<String> {
    let output = Command::new(program)
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .current_dir(&ctx.project_dir)
        .envs(&ctx.build_env)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| PythonError::Interpreter {
            program: program.to_string(),
            source,
        })?;
    let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if output.status.success() && is_version(&text) {
        Ok(text)
    } else {
        let mut printed = text;
        printed.push_str(String::from_utf8_lossy(&output.stderr).trim());
        Err(PythonError::NoVersion {
            program: program.to_string(),
            output: printed,
        })
    }
}

/// `3.11`-shaped: two dot-separated numbers.
fn is_version(text: &str) -> bool {
    let mut parts = text.split('.');
    let numeric =
        |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    numeric(parts.next()) && numeric(parts.next()) && parts.next().is_none()
}

/// The `X.Y` a runtime kind names (`python:3.11` → `3.11`); `None` for `python:default` and
/// other families.
pub fn runtime_version(kind: &str) -> Option<&str> {
    let (family, version) = kind.split_once(':')?;
    (family == "python" && is_version(version)).then_some(version)
}

/// `program` as one shell word (POSIX quoting when it holds anything unusual).
pub fn shell_word(program: &str) -> String {
    let plain = program
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_./+=:@%".contains(&b));
    if plain && !program.is_empty() {
        program.to_string()
    } else {
        format!("'{}'", program.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_two_numbers() {
        assert!(is_version("3.11"));
        assert!(!is_version("3.11.7"));
        assert!(!is_version("Python 3.11"));
        assert!(!is_version(""));
    }

    #[test]
    fn runtime_kinds_name_a_version_or_not() {
        assert_eq!(runtime_version("python:3.11"), Some("3.11"));
        assert_eq!(runtime_version("python:default"), None);
        assert_eq!(runtime_version("nodejs:20"), None);
    }

    #[test]
    fn odd_programs_are_quoted_for_the_shell() {
        assert_eq!(shell_word("python3"), "python3");
        assert_eq!(shell_word("/opt/py 3/bin/python"), "'/opt/py 3/bin/python'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }

    #[test]
    fn build_env_names_the_interpreter_first() {
        let mut ctx = BuildContext::new("/nowhere", sluice_core::Flags::default());
        ctx.build_env
            .insert(PYTHON_VAR.to_string(), "/opt/python3.9".to_string());
        assert_eq!(program(&ctx), "/opt/python3.9");
    }
}
