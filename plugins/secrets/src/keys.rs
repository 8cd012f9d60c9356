//! age keys found as sops finds them — `SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`, then the user's
//! keys file (`$XDG_CONFIG_HOME/sops/age/keys.txt`, else `~/.config/sops/age/keys.txt`) —
//! and the data key wrapped for age recipients as armored age files (sops `age/keysource.go`).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::secrecy::ExposeSecret;

use crate::error::{Result, SecretsError};

/// The private keys available to this run, and where they were looked for.
pub struct Keys {
    identities: Vec<age::x25519::Identity>,
    /// `SOPS_AGE_KEY, SOPS_AGE_KEY_FILE (…), /home/u/.config/sops/age/keys.txt`.
    pub searched: String,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("identities", &self.identities.len())
            .field("searched", &self.searched)
            .finish()
    }
}

/// The user's sops age keys file, as sops locates it.
pub fn user_keys_file(env: &BTreeMap<String, String>) -> Option<PathBuf> {
    let config = env
        .get("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            env.get("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| Path::new(h).join(".config"))
        })?;
    Some(config.join("sops").join("age").join("keys.txt"))
}

impl Keys {
    /// Every key sops would use, from `env` (a snapshot of the process environment).
    pub fn find(env: &BTreeMap<String, String>) -> Result<Keys> {
        let mut identities = Vec::new();
        let mut searched = vec!["the SOPS_AGE_KEY variable".to_string()];
        if let Some(text) = env.get("SOPS_AGE_KEY").filter(|v| !v.trim().is_empty()) {
            identities.extend(parse_identities(text, "SOPS_AGE_KEY")?);
        }
        if let Some(file) = env.get("SOPS_AGE_KEY_FILE").filter(|v| !v.is_empty()) {
            searched.push(format!("SOPS_AGE_KEY_FILE ({file})"));
            let text = std::fs::read_to_string(file).map_err(|source| SecretsError::Io {
                path: PathBuf::from(file),
                source,
            })?;
            identities.extend(parse_identities(&text, file)?);
        } else {
            searched.push("the SOPS_AGE_KEY_FILE variable".to_string());
        }
        if let Some(file) = user_keys_file(env) {
            searched.push(file.display().to_string());
            match std::fs::read_to_string(&file) {
                Ok(text) => {
                    identities.extend(parse_identities(&text, &file.display().to_string())?)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(SecretsError::Io { path: file, source }),
            }
        }
        Ok(Keys {
            identities,
            searched: searched.join(", "),
        })
    }

    /// Keys given directly (tests, tools).
    pub fn from_text(text: &str) -> Result<Keys> {
        Ok(Keys {
            identities: parse_identities(text, "the given key")?,
            searched: "the given key".to_string(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.identities.is_empty()
    }

    /// The public keys (recipients) of the private keys held.
    pub fn recipients(&self) -> Vec<String> {
        self.identities
            .iter()
            .map(|i| i.to_public().to_string())
            .collect()
    }

    /// Opens an armored age file holding a data key; `None` when no key is a recipient.
    pub(crate) fn unwrap(&self, armored: &str) -> Option<Vec<u8>> {
        let decryptor =
            age::Decryptor::new(age::armor::ArmoredReader::new(armored.as_bytes())).ok()?;
        let mut reader = decryptor
            .decrypt(self.identities.iter().map(|i| i as &dyn age::Identity))
            .ok()?;
        let mut out = Vec::new();
        reader.read_to_end(&mut out).ok()?;
        Some(out)
    }
}

fn parse_identities(text: &str, source: &str) -> Result<Vec<age::x25519::Identity>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let identity = age::x25519::Identity::from_str(line).map_err(|_| SecretsError::Key {
            message: format!(
                "{source}, line {}: not an age private key (expected AGE-SECRET-KEY-1…; plugin keys are not supported)",
                n + 1
            ),
        })?;
        out.push(identity);
    }
    Ok(out)
}

/// Checks an `age1…` recipient.
pub fn parse_recipient(text: &str) -> Result<age::x25519::Recipient> {
    age::x25519::Recipient::from_str(text.trim()).map_err(|_| SecretsError::Key {
        message: format!("'{}' is not an age recipient (expected age1…)", text.trim()),
    })
}

/// Wraps the data key for one recipient as an armored age file.
pub(crate) fn wrap(key: &[u8], recipient: &str) -> Result<String> {
    let recipient = parse_recipient(recipient)?;
    let fail = |what: &str| SecretsError::Key {
        message: format!("could not encrypt the data key for {recipient}: {what}"),
    };
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .map_err(|e| fail(&e.to_string()))?;
    let mut out = Vec::new();
    let armored = age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor)
        .map_err(|e| fail(&e.to_string()))?;
    let mut writer = encryptor
        .wrap_output(armored)
        .map_err(|e| fail(&e.to_string()))?;
    writer.write_all(key).map_err(|e| fail(&e.to_string()))?;
    let armored = writer.finish().map_err(|e| fail(&e.to_string()))?;
    armored.finish().map_err(|e| fail(&e.to_string()))?;
    String::from_utf8(out).map_err(|e| fail(&e.to_string()))
}

/// Makes a new age key in `file` (0600, as `age-keygen` writes it); returns its recipient.
pub fn generate(file: &Path) -> Result<String> {
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let created = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    let text = format!(
        "# created: {created}\n# public key: {recipient}\n{}\n",
        identity.to_string().expose_secret()
    );
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|source| SecretsError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    crate::write_private(file, text.as_bytes())?;
    Ok(recipient)
}
