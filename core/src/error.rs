//! One error type for every phase, carrying what a person needs to fix the problem: the file
//! and line, the entity, and a help line. Plugins convert their own errors into it at the
//! trait boundary; the CLI renders it (with miette). The core never prints.

use std::path::PathBuf;

/// A failure of a phase (read, prepare, build, deploy) or of a plugin or hook.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `project.yml` (or another configuration file) is wrong.
    #[error("Invalid project configuration file ({file}): {message}")]
    Config {
        /// The configuration file's name as the user knows it (`project.yml`).
        file: String,
        /// 1-based line, where the parser gives one.
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
    /// Substitution left variables unresolved (reported, but `get-metadata` still prints).
    #[error("The following substitutions could not be resolved: {}", quoted_list(.names))]
    Unresolved { names: Vec<String> },
    /// A function or `lib/` failed to build.
    #[error("{message}")]
    Build {
        /// `action 'pkg/name'` or `lib`.
        entity: String,
        message: String,
        /// Collected output of a failed subprocess.
        output: Option<String>,
    },
    /// Credentials are missing, wrong, or do not match the target.
    #[error("{message}")]
    Credentials {
        message: String,
        help: Option<String>,
    },
    /// The namespace (controller) refused or failed a request.
    #[error("{message}")]
    Deploy {
        message: String,
        context: Option<String>,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A shared-library plugin failed.
    #[error("plugin '{plugin}': {message}")]
    Plugin { plugin: String, message: String },
    /// A Lua hook failed or returned something unusable.
    #[error("hook {file}{} ({event}): {message}", .line.map(|l| format!(":{l}")).unwrap_or_default())]
    Hook {
        file: String,
        line: Option<usize>,
        event: String,
        message: String,
    },
    /// The user asked for something sluice cannot do (bad flag combination, unknown target).
    #[error("{message}")]
    Usage {
        message: String,
        help: Option<String>,
    },
}

/// The link printed under every configuration error, as the original deployer does.
pub const CONFIG_HELP: &str = "Learn more about the project configuration file https://docs.digitalocean.com/products/functions/reference/project-configuration/";

fn quoted_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Error {
    /// Shorthand for [`Error::Project`] without help.
    pub fn project(message: impl Into<String>) -> Self {
        Error::Project {
            message: message.into(),
            help: None,
        }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Shorthand for [`Error::Usage`] without help.
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            help: None,
        }
    }

    /// What the user can do about it, when there is something to say.
    pub fn help(&self) -> Option<String> {
        match self {
            Error::Config { file, .. } if file.ends_with(".toml") => Some(
                "sluice.toml holds sluice's own project settings; see 'Files outside the project' in the project.yml reference".to_string(),
            ),
            Error::Config { file, .. } if !file.ends_with(".yml") && !file.ends_with(".yaml") => {
                Some("a property file holds KEY=VALUE lines (or one JSON object); fix or remove the line".to_string())
            }
            Error::Config { .. } => Some(CONFIG_HELP.to_string()),
            Error::Project { help, .. }
            | Error::Credentials { help, .. }
            | Error::Usage { help, .. } => help.clone(),
            Error::Unresolved { names } => Some(format!(
                "define {} in the environment, in the project's .env file, or in the file given with --env",
                names.join(", ")
            )),
            Error::Build {
                output: Some(_), ..
            } => Some("the build's output is shown above".to_string()),
            _ => None,
        }
    }

    /// The file the error is about, when there is one.
    pub fn file(&self) -> Option<String> {
        match self {
            Error::Config { file, .. } | Error::Hook { file, .. } => Some(file.clone()),
            Error::Io { path, .. } => Some(path.display().to_string()),
            _ => None,
        }
    }

    /// The 1-based line the error is about, when there is one.
    pub fn line(&self) -> Option<usize> {
        match self {
            Error::Config { line, .. } | Error::Hook { line, .. } => *line,
            _ => None,
        }
    }

    /// The message with the original deployer's wording for configuration errors:
    /// `Invalid project configuration file (project.yml): <msg> \n    Learn more …`.
    pub fn original_text(&self) -> String {
        match self {
            Error::Config { .. } => format!("{self} \n    {CONFIG_HELP}"),
            _ => self.to_string(),
        }
    }
}

/// Results of sluice operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_error_has_the_original_wording() {
        let e = Error::Config {
            file: "project.yml".into(),
            line: None,
            column: None,
            message: "parameters must be a dictionary".into(),
        };
        assert_eq!(
            e.original_text(),
            "Invalid project configuration file (project.yml): parameters must be a dictionary \n    Learn more about the project configuration file https://docs.digitalocean.com/products/functions/reference/project-configuration/"
        );
    }

    #[test]
    fn unresolved_lists_names() {
        let e = Error::Unresolved {
            names: vec!["A".into(), "B".into()],
        };
        assert_eq!(
            e.to_string(),
            "The following substitutions could not be resolved: 'A', 'B'"
        );
    }
}
