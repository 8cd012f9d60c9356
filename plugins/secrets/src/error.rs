//! What can go wrong with a secrets file. Messages name the file and the key, never a value.

use std::path::PathBuf;

/// A failure reading, decrypting or writing a secrets file.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid YAML / dotenv, or its `sops` metadata is malformed.
    #[error("{}: {message}", .path.display())]
    Format { path: PathBuf, message: String },
    /// The file has no `sops` metadata: it holds plaintext.
    #[error("{}: the secrets file is not encrypted (it has no sops metadata)", .path.display())]
    NotEncrypted { path: PathBuf },
    /// Values that should be encrypted are plaintext.
    #[error("{}: plaintext value at {}", .path.display(), .keys.join(", "))]
    Plaintext { path: PathBuf, keys: Vec<String> },
    /// None of the available age identities opens the data key.
    #[error("{}: no age key can decrypt this file (recipients: {})", .path.display(), .recipients.join(", "))]
    NoKey {
        path: PathBuf,
        recipients: Vec<String>,
        /// Where keys were looked for.
        searched: String,
    },
    /// A value failed authentication: it was changed or was not encrypted with this file's key.
    #[error("{}: the value at '{key}' fails authentication (changed outside sops, or not encrypted with this file's data key)", .path.display())]
    Tampered { path: PathBuf, key: String },
    /// The MAC over the values does not match.
    #[error("{}: the file's MAC does not match its values (a value was changed, added or removed outside sops)", .path.display())]
    MacMismatch { path: PathBuf },
    /// There is no recipient to encrypt for.
    #[error("{}: no age recipients to encrypt for", .path.display())]
    NoRecipients { path: PathBuf },
    /// A key, recipient or `.sops.yaml` is malformed.
    #[error("{message}")]
    Key { message: String },
    /// The file uses a feature sluice does not write (pgp, kms, … key sources).
    #[error("{}: {message}", .path.display())]
    Unsupported { path: PathBuf, message: String },
    /// No secret of that name.
    #[error("{}: there is no secret '{key}'", .path.display())]
    Missing { path: PathBuf, key: String },
}

impl SecretsError {
    /// A line saying how to fix it, where there is one.
    pub fn help(&self) -> Option<String> {
        match self {
            SecretsError::NotEncrypted { path } | SecretsError::Plaintext { path, .. } => Some(format!(
                "encrypt it with 'sops encrypt -i {}', or recreate it with 'sluice secrets init' and 'sluice secrets set'",
                path.display()
            )),
            SecretsError::NoKey { searched, .. } => Some(format!(
                "supply the private age key of one of the recipients: {searched}"
            )),
            SecretsError::Tampered { .. } | SecretsError::MacMismatch { .. } => Some(
                "restore the file from version control, or set the value again with 'sluice secrets set'".to_string(),
            ),
            SecretsError::NoRecipients { .. } => Some(
                "add 'recipients = [\"age1…\"]' to the environment in sluice.toml, or an 'age' creation rule to .sops.yaml".to_string(),
            ),
            SecretsError::Missing { key, .. } => Some(format!(
                "set it with 'sluice secrets set <env> {key}'"
            )),
            _ => None,
        }
    }
}

impl From<SecretsError> for sluice_core::Error {
    fn from(e: SecretsError) -> Self {
        let help = e.help();
        sluice_core::Error::Project {
            message: e.to_string(),
            help,
        }
    }
}

pub type Result<T> = std::result::Result<T, SecretsError>;
