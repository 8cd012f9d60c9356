//! The reader's one error type, converted to [`sluice_core::Error`] at the trait boundary.

use std::path::PathBuf;

/// Why a project could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The configuration file is wrong (substitution, tabs, YAML syntax, validation). The
    /// message is the original deployer's text; the CLI adds the config prefix and help.
    #[error("{message}")]
    Config {
        /// `project.yml`, or `projectConfig.yml` for the legacy name.
        file: String,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },
    /// The project's files are laid out in a way that cannot be deployed.
    #[error("{message}")]
    Project {
        message: String,
        help: Option<String>,
    },
    /// A rule the core applies for every reader (the project's confinement, its settings
    /// file) refused something.
    #[error(transparent)]
    Core(#[from] sluice_core::Error),
    /// A file or directory could not be read.
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ReadError {
    /// A layout error without help.
    pub fn project(message: impl Into<String>) -> Self {
        ReadError::Project {
            message: message.into(),
            help: None,
        }
    }

    /// A layout error with a help line.
    pub fn project_with_help(message: impl Into<String>, help: impl Into<String>) -> Self {
        ReadError::Project {
            message: message.into(),
            help: Some(help.into()),
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ReadError::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<ReadError> for sluice_core::Error {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Config {
                file,
                line,
                column,
                message,
            } => sluice_core::Error::Config {
                file,
                line,
                column,
                message,
            },
            ReadError::Project { message, help } => sluice_core::Error::Project { message, help },
            ReadError::Io { path, source } => sluice_core::Error::Io { path, source },
            ReadError::Core(e) => e,
        }
    }
}

/// Results of the reader.
pub type Result<T, E = ReadError> = std::result::Result<T, E>;
