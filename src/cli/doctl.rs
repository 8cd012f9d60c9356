//! What sluice finds of a doctl installation, so a doctl user's token and connected
//! namespace work without setting anything: doctl's config file (`config.yaml` in doctl's
//! config directory, or `$DIGITALOCEAN_CONFIG`) with the access token of the current context,
//! and the serverless credential store doctl keeps per token under
//! `<config dir>/sandbox/creds/<first 4 bytes of sha1(token), hex>/credentials.json`
//! (doctl's `HashAccessToken` and `GetCredentialDirectory`).
//!
//! Only reads; never writes doctl's files unless the user's store lives there.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use sha1::{Digest, Sha1};

/// doctl's config directory: Go's `os.UserConfigDir()` joined with `doctl`.
pub fn config_dir(env: &BTreeMap<String, String>) -> Option<PathBuf> {
    let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let base = if cfg!(windows) {
        get("APPDATA")
    } else if cfg!(target_os = "macos") {
        get("HOME").map(|h| h.join("Library").join("Application Support"))
    } else {
        get("XDG_CONFIG_HOME").or_else(|| get("HOME").map(|h| h.join(".config")))
    };
    base.map(|b| b.join("doctl"))
}

/// doctl's config file: `$DIGITALOCEAN_CONFIG`, else `config.yaml` in its config directory.
pub fn config_file(env: &BTreeMap<String, String>) -> Option<PathBuf> {
    match env.get("DIGITALOCEAN_CONFIG").filter(|v| !v.is_empty()) {
        Some(path) => Some(PathBuf::from(path)),
        None => config_dir(env).map(|d| d.join("config.yaml")),
    }
}

/// The parts of doctl's config file sluice reads.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Config {
    #[serde(rename = "access-token")]
    access_token: Option<String>,
    context: Option<String>,
    #[serde(rename = "auth-contexts")]
    auth_contexts: BTreeMap<String, String>,
}

/// The access token of doctl's current context (`$DIGITALOCEAN_CONTEXT`, else the file's
/// `context`, else `default`), read from doctl's config file.
pub fn config_token(env: &BTreeMap<String, String>) -> Option<String> {
    let text = std::fs::read_to_string(config_file(env)?).ok()?;
    let config: Config = serde_yaml::from_str(&text).ok()?;
    let context = env
        .get("DIGITALOCEAN_CONTEXT")
        .filter(|c| !c.is_empty())
        .cloned()
        .or(config.context)
        .unwrap_or_else(|| "default".to_string());
    let token = if context == "default" {
        config.access_token
    } else {
        config.auth_contexts.get(&context).cloned()
    };
    token.filter(|t| !t.is_empty())
}

/// The token doctl itself would use: `$DIGITALOCEAN_ACCESS_TOKEN`, else its config file's.
pub fn token(env: &BTreeMap<String, String>) -> Option<String> {
    env.get("DIGITALOCEAN_ACCESS_TOKEN")
        .filter(|t| !t.is_empty())
        .cloned()
        .or_else(|| config_token(env))
}

/// The directory of doctl's serverless credential store for `token`.
pub fn serverless_dir(env: &BTreeMap<String, String>, token: &str) -> Option<PathBuf> {
    let digest = Sha1::digest(token.as_bytes());
    let leaf: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    Some(config_dir(env)?.join("sandbox").join("creds").join(leaf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_credential_directory_is_doctls_hash_of_the_token() {
        // doctl keeps the first 4 bytes of the sha1, in hex.
        let e = env(&[("HOME", "/h"), ("XDG_CONFIG_HOME", "/cfg")]);
        let dir = serverless_dir(&e, "dop_v1_test").expect("dir");
        let leaf = dir.file_name().map(|n| n.to_string_lossy().into_owned());
        let expected: String = Sha1::digest(b"dop_v1_test")[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(leaf.as_deref(), Some(expected.as_str()));
        if !cfg!(windows) && !cfg!(target_os = "macos") {
            assert!(dir.starts_with("/cfg/doctl/sandbox/creds"));
        }
    }

    #[test]
    fn the_token_follows_the_context() -> Result<(), std::io::Error> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("config.yaml");
        std::fs::write(
            &file,
            "access-token: dop_default\ncontext: work\nauth-contexts:\n  work: dop_work\n",
        )?;
        let path = file.display().to_string();
        let e = env(&[("DIGITALOCEAN_CONFIG", path.as_str())]);
        assert_eq!(config_token(&e).as_deref(), Some("dop_work"));
        let e = env(&[
            ("DIGITALOCEAN_CONFIG", path.as_str()),
            ("DIGITALOCEAN_CONTEXT", "default"),
        ]);
        assert_eq!(config_token(&e).as_deref(), Some("dop_default"));
        let e = env(&[
            ("DIGITALOCEAN_CONFIG", path.as_str()),
            ("DIGITALOCEAN_ACCESS_TOKEN", "dop_env"),
        ]);
        assert_eq!(token(&e).as_deref(), Some("dop_env"));
        Ok(())
    }
}
