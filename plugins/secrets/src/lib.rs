//! Secrets files in SOPS's format with age recipients, read and written so the `sops` CLI
//! reads what sluice writes and the other way round: every value encrypted on its own with
//! AES-256-GCM under one data key, the data key wrapped for each age recipient, and a MAC
//! over the values checked on decrypt. YAML and dotenv stores.

pub mod cipher;
pub mod error;
pub mod format;
pub mod keys;
pub mod rules;
pub mod tree;

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::RngCore;

pub use error::{Result, SecretsError};
pub use format::Format;
pub use keys::Keys;
use tree::{Entry, Node, Rules};

/// The `sops.version` sluice writes: the sops release whose format it follows.
pub const SOPS_VERSION: &str = "3.11.0";

/// The suffix sops leaves unencrypted by default.
pub const DEFAULT_UNENCRYPTED_SUFFIX: &str = "_unencrypted";

/// A decrypted secrets file, ready to read, change and write back.
pub struct SecretsFile {
    pub path: PathBuf,
    pub format: Format,
    body: Vec<Entry>,
    rules: Rules,
    data_key: [u8; 32],
    /// The recipients the file is encrypted for now.
    pub recipients: Vec<String>,
}

impl std::fmt::Debug for SecretsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsFile")
            .field("path", &self.path)
            .field("names", &self.names())
            .field("recipients", &self.recipients)
            .finish_non_exhaustive()
    }
}

/// What `check` found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    /// Every value that should be encrypted is.
    Encrypted,
    /// No `sops` metadata: the names of the values held in plaintext.
    NotEncrypted(Vec<String>),
    /// Has metadata, but these values are plaintext.
    Plaintext(Vec<String>),
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| SecretsError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn meta_str(meta: &[Entry], key: &str) -> Option<String> {
    meta.iter().find_map(|e| match e {
        Entry::Pair(k, v) if k == key => tree::leaf_text(v),
        _ => None,
    })
}

fn meta_node<'a>(meta: &'a [Entry], key: &str) -> Option<&'a Node> {
    meta.iter().find_map(|e| match e {
        Entry::Pair(k, v) if k == key => Some(v),
        _ => None,
    })
}

struct Metadata {
    age: Vec<(String, String)>,
    lastmodified: String,
    mac: String,
    rules: Rules,
}

fn metadata(path: &Path, node: &Node, writing: bool) -> Result<Metadata> {
    let bad = |message: String| SecretsError::Format {
        path: path.to_path_buf(),
        message,
    };
    let Node::Map(meta) = node else {
        return Err(bad("the 'sops' metadata is not a mapping".to_string()));
    };
    for unsupported in ["unencrypted_comment_regex", "encrypted_comment_regex"] {
        if meta_str(meta, unsupported).is_some_and(|s| !s.is_empty()) {
            return Err(SecretsError::Unsupported {
                path: path.to_path_buf(),
                message: format!("sops.{unsupported} is not supported by sluice"),
            });
        }
    }
    if writing {
        for foreign in [
            "kms",
            "gcp_kms",
            "azure_kv",
            "hc_vault",
            "pgp",
            "key_groups",
        ] {
            if matches!(meta_node(meta, foreign), Some(Node::List(items)) if !items.is_empty()) {
                return Err(SecretsError::Unsupported {
                    path: path.to_path_buf(),
                    message: format!(
                        "the file is also encrypted with '{foreign}' keys, which sluice cannot re-wrap; change it with the sops CLI"
                    ),
                });
            }
        }
    }
    let mut age = Vec::new();
    if let Some(Node::List(items)) = meta_node(meta, "age") {
        for item in items {
            let Node::Map(fields) = item else {
                return Err(bad("a sops.age entry is not a mapping".to_string()));
            };
            match (meta_str(fields, "recipient"), meta_str(fields, "enc")) {
                (Some(r), Some(e)) => age.push((r, e)),
                _ => {
                    return Err(bad(
                        "a sops.age entry lacks 'recipient' or 'enc'".to_string()
                    ));
                }
            }
        }
    }
    let regex = |key: &str| -> Result<Option<regex::Regex>> {
        match meta_str(meta, key).filter(|s| !s.is_empty()) {
            Some(p) => regex::Regex::new(&p)
                .map(Some)
                .map_err(|e| bad(format!("sops.{key}: {e}"))),
            None => Ok(None),
        }
    };
    let rules = Rules {
        unencrypted_suffix: meta_str(meta, "unencrypted_suffix"),
        encrypted_suffix: meta_str(meta, "encrypted_suffix"),
        unencrypted_regex: regex("unencrypted_regex")?,
        encrypted_regex: regex("encrypted_regex")?,
        mac_only_encrypted: meta_str(meta, "mac_only_encrypted")
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
    };
    Ok(Metadata {
        age,
        lastmodified: meta_str(meta, "lastmodified").unwrap_or_default(),
        mac: meta_str(meta, "mac").unwrap_or_default(),
        rules,
    })
}

/// Checks a file without keys: are all the values that should be encrypted encrypted?
pub fn check(path: &Path) -> Result<CheckOutcome> {
    let format = Format::of(path);
    let (body, meta) = format::parse(path, format, &read(path)?)?;
    let Some(meta) = meta else {
        let names = tree::plaintext_paths(&body, &Rules::default());
        return Ok(CheckOutcome::NotEncrypted(names));
    };
    let meta = metadata(path, &meta, false)?;
    let plain = tree::plaintext_paths(&body, &meta.rules);
    Ok(if plain.is_empty() && cipher::is_encrypted(&meta.mac) {
        CheckOutcome::Encrypted
    } else if plain.is_empty() {
        CheckOutcome::Plaintext(vec!["sops.mac".to_string()])
    } else {
        CheckOutcome::Plaintext(plain)
    })
}

impl SecretsFile {
    /// A new, empty file at `path` (not written until [`SecretsFile::save`]).
    pub fn create(path: &Path) -> SecretsFile {
        let mut data_key = [0u8; 32];
        rand::rng().fill_bytes(&mut data_key);
        SecretsFile {
            path: path.to_path_buf(),
            format: Format::of(path),
            body: Vec::new(),
            rules: Rules {
                unencrypted_suffix: Some(DEFAULT_UNENCRYPTED_SUFFIX.to_string()),
                ..Rules::default()
            },
            data_key,
            recipients: Vec::new(),
        }
    }

    /// Reads and decrypts `path` with `keys`, checking every value and the MAC.
    pub fn open(path: &Path, keys: &Keys) -> Result<SecretsFile> {
        let format = Format::of(path);
        let (mut body, meta) = format::parse(path, format, &read(path)?)?;
        let Some(meta) = meta else {
            return Err(SecretsError::NotEncrypted {
                path: path.to_path_buf(),
            });
        };
        let meta = metadata(path, &meta, false)?;
        let recipients: Vec<String> = meta.age.iter().map(|(r, _)| r.clone()).collect();
        let data_key = meta
            .age
            .iter()
            .find_map(|(_, enc)| keys.unwrap(enc))
            .and_then(|k| <[u8; 32]>::try_from(k.as_slice()).ok())
            .ok_or_else(|| SecretsError::NoKey {
                path: path.to_path_buf(),
                recipients: recipients.clone(),
                searched: keys.searched.clone(),
            })?;
        let computed = tree::decrypt(path, &mut body, &meta.rules, &data_key)?;
        let stored = cipher::parse(&meta.mac)
            .and_then(|m| cipher::decrypt(&m, &data_key, &meta.lastmodified))
            .ok_or_else(|| SecretsError::MacMismatch {
                path: path.to_path_buf(),
            })?;
        if stored != computed.as_bytes() {
            return Err(SecretsError::MacMismatch {
                path: path.to_path_buf(),
            });
        }
        Ok(SecretsFile {
            path: path.to_path_buf(),
            format,
            body,
            rules: meta.rules,
            data_key,
            recipients,
        })
    }

    /// The top-level names, in file order.
    pub fn names(&self) -> Vec<String> {
        self.body
            .iter()
            .filter_map(|e| match e {
                Entry::Pair(k, _) => Some(k.clone()),
                Entry::Comment(_) => None,
            })
            .collect()
    }

    /// A top-level value as text (nested values are not secrets sluice hands out).
    pub fn get(&self, name: &str) -> Option<String> {
        self.body.iter().find_map(|e| match e {
            Entry::Pair(k, v) if k == name => tree::leaf_text(v),
            _ => None,
        })
    }

    /// Every top-level value that is text, a number or a boolean, in file order.
    pub fn values(&self) -> Vec<(String, String)> {
        self.body
            .iter()
            .filter_map(|e| match e {
                Entry::Pair(k, v) => tree::leaf_text(v).map(|t| (k.clone(), t)),
                Entry::Comment(_) => None,
            })
            .collect()
    }

    /// Sets (or adds) a top-level string value.
    pub fn set(&mut self, name: &str, value: &str) {
        for entry in &mut self.body {
            if let Entry::Pair(k, v) = entry
                && k == name
            {
                *v = Node::Str(value.to_string());
                return;
            }
        }
        self.body
            .push(Entry::Pair(name.to_string(), Node::Str(value.to_string())));
    }

    /// Removes a top-level value; whether it was there.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.body.len();
        self.body
            .retain(|e| !matches!(e, Entry::Pair(k, _) if k == name));
        before != self.body.len()
    }

    /// A fresh data key: the next [`SecretsFile::save`] encrypts every value anew.
    pub fn rotate(&mut self) {
        rand::rng().fill_bytes(&mut self.data_key);
    }

    /// The plaintext of the file (for `edit`), in its format, without metadata.
    pub fn plaintext(&self) -> Result<String> {
        format::emit(&self.path, self.format, &self.body, None)
    }

    /// Replaces the values with those of `text` (an edited [`SecretsFile::plaintext`]).
    pub fn replace_plaintext(&mut self, text: &str) -> Result<()> {
        let (body, meta) = format::parse(&self.path, self.format, text)?;
        if meta.is_some() {
            return Err(SecretsError::Format {
                path: self.path.clone(),
                message: "the edited text must not hold 'sops' metadata".to_string(),
            });
        }
        self.body = body;
        Ok(())
    }

    /// Encrypts for `recipients` and writes the file atomically (0600).
    pub fn save(&mut self, recipients: &[String]) -> Result<()> {
        if recipients.is_empty() {
            return Err(SecretsError::NoRecipients {
                path: self.path.clone(),
            });
        }
        let text = self.encrypted_text(recipients)?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| SecretsError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        write_private(&self.path, text.as_bytes())?;
        self.recipients = recipients.to_vec();
        Ok(())
    }

    /// The file's encrypted text for `recipients`.
    pub fn encrypted_text(&self, recipients: &[String]) -> Result<String> {
        let mut body = self.body.clone();
        let mac = tree::encrypt(&self.path, &mut body, &self.rules, &self.data_key)?;
        let lastmodified = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let mac = cipher::encrypt(mac.as_bytes(), "str", &self.data_key, &lastmodified)
            .ok_or_else(|| SecretsError::Format {
                path: self.path.clone(),
                message: "the MAC could not be encrypted".to_string(),
            })?;
        let mut age = Vec::new();
        for r in recipients {
            age.push(Node::Map(vec![
                Entry::Pair("recipient".into(), Node::Str(r.trim().to_string())),
                Entry::Pair("enc".into(), Node::Str(keys::wrap(&self.data_key, r)?)),
            ]));
        }
        let mut meta = vec![
            Entry::Pair("age".into(), Node::List(age)),
            Entry::Pair("lastmodified".into(), Node::Str(lastmodified)),
            Entry::Pair("mac".into(), Node::Str(mac)),
        ];
        if self.rules.mac_only_encrypted {
            meta.push(Entry::Pair("mac_only_encrypted".into(), Node::Bool(true)));
        }
        let text = |k: &str, v: &Option<String>| {
            v.as_ref()
                .map(|v| Entry::Pair(k.to_string(), Node::Str(v.clone())))
        };
        meta.extend(text("unencrypted_suffix", &self.rules.unencrypted_suffix));
        meta.extend(text("encrypted_suffix", &self.rules.encrypted_suffix));
        meta.extend(text(
            "unencrypted_regex",
            &self
                .rules
                .unencrypted_regex
                .as_ref()
                .map(|r| r.as_str().to_string()),
        ));
        meta.extend(text(
            "encrypted_regex",
            &self
                .rules
                .encrypted_regex
                .as_ref()
                .map(|r| r.as_str().to_string()),
        ));
        meta.push(Entry::Pair(
            "version".into(),
            Node::Str(SOPS_VERSION.into()),
        ));
        format::emit(&self.path, self.format, &body, Some(&Node::Map(meta)))
    }
}

/// Refuses to rewrite a file that also holds key sources sluice cannot re-wrap.
pub fn check_writable(path: &Path) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let (_, meta) = format::parse(path, Format::of(path), &read(path)?)?;
    if let Some(meta) = meta {
        metadata(path, &meta, true)?;
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically with mode 0600 (a temporary file in the same
/// directory, renamed into place).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| SecretsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".sluice-secrets")
        .permissions(private_permissions())
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

#[cfg(unix)]
fn private_permissions() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o600)
}
