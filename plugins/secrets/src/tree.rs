//! The tree of a secrets file and SOPS's walk over it: which values are encrypted (the
//! `unencrypted_suffix` family of rules), the additional data of each value (its key path
//! joined with `:` plus a trailing `:`), and the MAC (SHA-512 over the plaintext values in
//! file order, upper-case hex), as sops `sops.go` does.

use std::path::Path;

use sha2::{Digest, Sha512};

use crate::cipher;
use crate::error::{Result, SecretsError};

/// A value of the tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Map(Vec<Entry>),
    List(Vec<Node>),
}

/// An entry of a mapping: a key and its value, or a comment line (dotenv).
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Pair(String, Node),
    Comment(String),
}

/// The `mac_only_encrypted` MAC starts with these bytes (sops `MACOnlyEncryptedInitialization`).
const MAC_ONLY_ENCRYPTED_INIT: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
    0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

/// Which values are left in the clear, as the `sops` metadata says.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub unencrypted_suffix: Option<String>,
    pub encrypted_suffix: Option<String>,
    pub unencrypted_regex: Option<regex::Regex>,
    pub encrypted_regex: Option<regex::Regex>,
    pub mac_only_encrypted: bool,
}

impl Rules {
    /// sops `shouldBeEncrypted` (without the comment regexes, which sluice refuses).
    pub fn should_encrypt(&self, path: &[String]) -> bool {
        let mut encrypted = true;
        if let Some(suffix) = self.unencrypted_suffix.as_deref().filter(|s| !s.is_empty())
            && path.iter().any(|p| p.ends_with(suffix))
        {
            encrypted = false;
        }
        if let Some(suffix) = self.encrypted_suffix.as_deref().filter(|s| !s.is_empty()) {
            encrypted = path.iter().any(|p| p.ends_with(suffix));
        }
        if let Some(re) = &self.unencrypted_regex
            && path.iter().any(|p| re.is_match(p))
        {
            encrypted = false;
        }
        if let Some(re) = &self.encrypted_regex {
            encrypted = path.iter().any(|p| re.is_match(p));
        }
        encrypted
    }
}

fn leaf_bytes(node: &Node) -> Option<(Vec<u8>, &'static str)> {
    match node {
        Node::Str(s) => Some((s.as_bytes().to_vec(), "str")),
        Node::Int(i) => Some((i.to_string().into_bytes(), "int")),
        Node::Float(f) => Some((format!("{f}").into_bytes(), "float")),
        Node::Bool(b) => Some((
            (if *b { "True" } else { "False" }).as_bytes().to_vec(),
            "bool",
        )),
        Node::Null | Node::Map(_) | Node::List(_) => None,
    }
}

fn aad(path: &[String]) -> String {
    let mut s = path.join(":");
    s.push(':');
    s
}

fn new_hasher(rules: &Rules) -> Sha512 {
    let mut hash = Sha512::new();
    if rules.mac_only_encrypted {
        hash.update(MAC_ONLY_ENCRYPTED_INIT);
    }
    hash
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Encrypts every value the rules say to, in place; returns the MAC (upper-case hex). A
/// value too large to seal is an error naming its key path.
pub fn encrypt(
    file: &Path,
    entries: &mut [Entry],
    rules: &Rules,
    key: &[u8; 32],
) -> Result<String> {
    let mut hash = new_hasher(rules);
    let mut path = Vec::new();
    encrypt_entries(file, entries, rules, key, &mut path, &mut hash)?;
    Ok(hex_upper(&hash.finalize()))
}

fn seal(file: &Path, plain: &[u8], kind: &str, key: &[u8; 32], path: &[String]) -> Result<String> {
    cipher::encrypt(plain, kind, key, &aad(path)).ok_or_else(|| SecretsError::Format {
        path: file.to_path_buf(),
        message: format!("the value at '{}' is too large to encrypt", path.join(".")),
    })
}

fn encrypt_entries(
    file: &Path,
    entries: &mut [Entry],
    rules: &Rules,
    key: &[u8; 32],
    path: &mut Vec<String>,
    hash: &mut Sha512,
) -> Result<()> {
    for entry in entries {
        match entry {
            Entry::Comment(text) => {
                if rules.should_encrypt(path) && !text.is_empty() {
                    *text = seal(file, text.as_bytes(), "comment", key, path)?;
                }
            }
            Entry::Pair(name, value) => {
                path.push(name.clone());
                encrypt_node(file, value, rules, key, path, hash)?;
                path.pop();
            }
        }
    }
    Ok(())
}

fn encrypt_node(
    file: &Path,
    node: &mut Node,
    rules: &Rules,
    key: &[u8; 32],
    path: &mut Vec<String>,
    hash: &mut Sha512,
) -> Result<()> {
    match node {
        Node::Map(entries) => encrypt_entries(file, entries, rules, key, path, hash),
        Node::List(items) => {
            for item in items {
                encrypt_node(file, item, rules, key, path, hash)?;
            }
            Ok(())
        }
        leaf => {
            let Some((bytes, kind)) = leaf_bytes(leaf) else {
                return Ok(());
            };
            let encrypted = rules.should_encrypt(path);
            if !rules.mac_only_encrypted || encrypted {
                hash.update(&bytes);
            }
            // sops leaves empty strings as they are (`isEmpty` in aes/cipher.go).
            if encrypted && !bytes.is_empty() {
                *leaf = Node::Str(seal(file, &bytes, kind, key, path)?);
            }
            Ok(())
        }
    }
}

/// Decrypts every value the rules say is encrypted, in place; returns the MAC computed over
/// the plaintext. A value that should be encrypted but is not, or fails authentication, is
/// an error naming its key path.
pub fn decrypt(
    file: &Path,
    entries: &mut [Entry],
    rules: &Rules,
    key: &[u8; 32],
) -> Result<String> {
    let mut hash = new_hasher(rules);
    let mut path = Vec::new();
    decrypt_entries(file, entries, rules, key, &mut path, &mut hash)?;
    Ok(hex_upper(&hash.finalize()))
}

fn decrypt_entries(
    file: &Path,
    entries: &mut [Entry],
    rules: &Rules,
    key: &[u8; 32],
    path: &mut Vec<String>,
    hash: &mut Sha512,
) -> Result<()> {
    for entry in entries {
        match entry {
            Entry::Comment(text) => {
                // sops keeps a comment that does not decrypt (older files have plain ones).
                if rules.should_encrypt(path)
                    && let Some(value) = cipher::parse(text)
                    && let Some(plain) = cipher::decrypt(&value, key, &aad(path))
                {
                    *text = String::from_utf8_lossy(&plain).into_owned();
                }
            }
            Entry::Pair(name, value) => {
                path.push(name.clone());
                decrypt_node(file, value, rules, key, path, hash)?;
                path.pop();
            }
        }
    }
    Ok(())
}

fn decrypt_node(
    file: &Path,
    node: &mut Node,
    rules: &Rules,
    key: &[u8; 32],
    path: &mut Vec<String>,
    hash: &mut Sha512,
) -> Result<()> {
    match node {
        Node::Map(entries) => decrypt_entries(file, entries, rules, key, path, hash),
        Node::List(items) => {
            for item in items {
                decrypt_node(file, item, rules, key, path, hash)?;
            }
            Ok(())
        }
        Node::Null => Ok(()),
        leaf => {
            let encrypted = rules.should_encrypt(path);
            if encrypted {
                let shown = path.join(".");
                let text = match leaf {
                    Node::Str(s) => s.clone(),
                    _ => {
                        return Err(SecretsError::Plaintext {
                            path: file.to_path_buf(),
                            keys: vec![shown],
                        });
                    }
                };
                if !text.is_empty() {
                    let value = cipher::parse(&text).ok_or_else(|| SecretsError::Plaintext {
                        path: file.to_path_buf(),
                        keys: vec![shown.clone()],
                    })?;
                    let plain = cipher::decrypt(&value, key, &aad(path)).ok_or_else(|| {
                        SecretsError::Tampered {
                            path: file.to_path_buf(),
                            key: shown.clone(),
                        }
                    })?;
                    *leaf = typed(file, &shown, &value.kind, plain)?;
                }
            }
            if (!rules.mac_only_encrypted || encrypted)
                && let Some((bytes, _)) = leaf_bytes(leaf)
            {
                hash.update(&bytes);
            }
            Ok(())
        }
    }
}

fn typed(file: &Path, key: &str, kind: &str, plain: Vec<u8>) -> Result<Node> {
    let bad = |what: &str| SecretsError::Format {
        path: file.to_path_buf(),
        message: format!("the value at '{key}' is not a valid {what}"),
    };
    let text = String::from_utf8(plain).map_err(|_| bad("UTF-8 string"))?;
    Ok(match kind {
        "str" | "bytes" | "time" => Node::Str(text),
        "int" => Node::Int(text.parse().map_err(|_| bad("int"))?),
        "float" => Node::Float(text.parse().map_err(|_| bad("float"))?),
        "bool" => Node::Bool(match text.as_str() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => true,
            "0" | "f" | "F" | "false" | "FALSE" | "False" => false,
            _ => return Err(bad("bool")),
        }),
        other => {
            return Err(SecretsError::Format {
                path: file.to_path_buf(),
                message: format!("the value at '{key}' has the unknown sops type '{other}'"),
            });
        }
    })
}

/// The key paths (`a.b`) of values the rules say should be encrypted but are plaintext.
pub fn plaintext_paths(entries: &[Entry], rules: &Rules) -> Vec<String> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    plain_entries(entries, rules, &mut path, &mut out);
    out
}

fn plain_entries(entries: &[Entry], rules: &Rules, path: &mut Vec<String>, out: &mut Vec<String>) {
    for entry in entries {
        if let Entry::Pair(name, value) = entry {
            path.push(name.clone());
            plain_node(value, rules, path, out);
            path.pop();
        }
    }
}

fn plain_node(node: &Node, rules: &Rules, path: &mut Vec<String>, out: &mut Vec<String>) {
    match node {
        Node::Map(entries) => plain_entries(entries, rules, path, out),
        Node::List(items) => items.iter().for_each(|i| plain_node(i, rules, path, out)),
        Node::Null => {}
        Node::Str(s) if s.is_empty() || cipher::is_encrypted(s) => {}
        _ => {
            if rules.should_encrypt(path) {
                let shown = path.join(".");
                if !out.contains(&shown) {
                    out.push(shown);
                }
            }
        }
    }
}

/// A leaf as environment text (`True`/`False` for booleans, as sops prints them).
pub fn leaf_text(node: &Node) -> Option<String> {
    leaf_bytes(node).map(|(b, _)| String::from_utf8_lossy(&b).into_owned())
}
