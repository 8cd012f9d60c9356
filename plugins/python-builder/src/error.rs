//! What can go wrong before or around pip (pip's own failure is the core build error that
//! [`sluice_core::finder::run_build_command`] makes, carrying pip's output).

use std::path::PathBuf;

/// A python build problem, turned into a core build error for the function it is about.
#[derive(Debug, thiserror::Error)]
pub enum PythonError {
    /// The interpreter could not be started.
    #[error("could not run '{program}' to find its version: {source}")]
    Interpreter {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// The interpreter ran but did not say which version it is.
    #[error("'{program}' did not report a python version (it printed: {output})")]
    NoVersion { program: String, output: String },
    /// Reading or writing the virtualenv failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl PythonError {
    /// `Io` for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        PythonError::Io {
            path: path.into(),
            source,
        }
    }

    /// The core build error for `entity` (`action 'pkg/name'`), with a help line where there
    /// is an obvious fix.
    pub fn into_build(self, entity: &str) -> sluice_core::Error {
        let message = match &self {
            PythonError::Interpreter { .. } | PythonError::NoVersion { .. } => format!(
                "{self}; install python3 with pip, or set SLUICE_PYTHON (in the environment or with --build-env) to the interpreter to use"
            ),
            PythonError::Io { .. } => self.to_string(),
        };
        sluice_core::Error::Build {
            entity: entity.to_string(),
            message,
            output: None,
        }
    }
}

/// Results of this crate's own steps.
pub type Result<T> = std::result::Result<T, PythonError>;
