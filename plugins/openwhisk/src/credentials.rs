//! The credential store, in the original deployer's `credentials.json` format (spec §8.1),
//! and the rules that pick the credentials of a deploy (spec §8.2).
//!
//! The store lives in `$NIMBELLA_DIR` when that is set (so a doctl user's connected
//! namespace works unchanged), else in sluice's home (`$SLUICE_HOME`, default `~/.sluice`).
//! Members this code does not know (doctl's `label`, legacy `project`…) are kept on rewrite.
//! Writes are atomic (temp file + rename) with mode 0600; reading never creates anything.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sluice_core::{Credentials, Dict, OwOptions, mask_secret};

use crate::error::{OwError, Result};

/// The store file's name inside its directory.
pub const STORE_FILE: &str = "credentials.json";

/// One namespace's key, plus whatever else the writer put there (`label`, …).
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoredKey {
    pub api_key: String,
    #[serde(flatten)]
    pub extra: Dict,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("api_key", &mask_secret(&self.api_key))
            .field("extra", &self.extra)
            .finish()
    }
}

impl StoredKey {
    /// The `label` member (doctl writes one).
    pub fn label(&self) -> Option<&str> {
        self.extra.get("label").and_then(|l| l.as_str())
    }
}

/// The whole `credentials.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialStore {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_namespace: Option<String>,
    /// apihost → namespace → key.
    #[serde(default)]
    pub credentials: BTreeMap<String, BTreeMap<String, StoredKey>>,
    #[serde(flatten)]
    pub extra: Dict,
}

/// One stored namespace, for listings.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredNamespace {
    pub apihost: String,
    pub namespace: String,
    pub label: Option<String>,
    /// The key with all but its first characters masked.
    pub masked_key: String,
    pub current: bool,
}

/// The directory of the store: `NIMBELLA_DIR` if given, else sluice's home.
pub fn store_dir(nimbella_dir: Option<&str>, sluice_home: Option<&Path>) -> Option<PathBuf> {
    match nimbella_dir.filter(|d| !d.is_empty()) {
        Some(d) => Some(PathBuf::from(d)),
        None => sluice_home.map(Path::to_path_buf),
    }
}

/// `--apihost` as written, made a URL once and used everywhere. A value with a scheme is used
/// as is. Without one: a loopback host (`127.0.0.1:3233`, `localhost`, `[::1]`) gets
/// `http://` (local servers such as `sluice serve` speak plain HTTP); a bare word `x` becomes
/// `https://x.doserverless.co`; a `*.doserverless.co` host gets `https://`. Any other host
/// without a scheme is refused with a hint rather than guessed.
pub fn expand_apihost(raw: &str) -> Result<String> {
    let raw = raw.trim();
    if raw.starts_with("http://") || raw.starts_with("https://") {
        return Ok(raw.to_string());
    }
    let bare = raw.trim_end_matches('/');
    let host = host_part(bare);
    if is_loopback(host) {
        return Ok(format!("http://{bare}"));
    }
    if !bare.contains([':', '.', '/']) && !bare.is_empty() {
        return Ok(format!("https://{bare}.doserverless.co"));
    }
    if host.ends_with(".doserverless.co") && !bare.contains("://") {
        return Ok(format!("https://{bare}"));
    }
    Err(OwError::Credentials {
        message: format!("the API host '{raw}' has no http:// or https:// scheme"),
        help: Some(format!(
            "write --apihost https://{bare} (or http://{bare} for a server without TLS)"
        )),
    })
}

/// The host of `host[:port]` (`[v6]:port` keeps its brackets off).
fn host_part(bare: &str) -> &str {
    if let Some(rest) = bare.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    bare.split([':', '/']).next().unwrap_or(bare)
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// What the command line and project say about the target.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `--apihost`, raw (expanded here).
    pub apihost: Option<String>,
    /// `--auth`.
    pub auth: Option<String>,
    pub insecure: bool,
    /// `targetNamespace` of project.yml.
    pub target_namespace: Option<String>,
    /// DigitalOcean API token (`DO_API_KEY` or `DO_API_TOKEN`).
    pub do_token: Option<String>,
}

fn no_current() -> OwError {
    OwError::Credentials {
        message: "You do not have a current namespace.  Use 'nim auth login' to create a new one or 'nim auth switch' to use an existing one".to_string(),
        help: Some(
            "add one with 'sluice namespace add --apihost <host> --auth <key>', or pick one with 'sluice namespace use <namespace>'"
                .to_string(),
        ),
    }
}

impl CredentialStore {
    /// Reads the store in `dir`; a missing file is an empty store.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(STORE_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| OwError::Credentials {
                message: format!("{} is not a valid credential store: {e}", path.display()),
                help: Some("fix or remove the file, then add the namespace again".to_string()),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(OwError::io(path, e)),
        }
    }

    /// Writes the store to `dir` atomically, with mode 0600 (the directory 0700).
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| OwError::io(dir, e))?;
        let path = dir.join(STORE_FILE);
        let text = serde_json::to_string_pretty(self).map_err(|e| OwError::Decode {
            url: path.display().to_string(),
            message: e.to_string(),
        })?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| OwError::io(dir, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| OwError::io(tmp.path(), e))?;
        }
        use std::io::Write;
        tmp.write_all(text.as_bytes())
            .map_err(|e| OwError::io(&path, e))?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| OwError::io(&path, e))?;
        tmp.persist(&path)
            .map_err(|e| OwError::io(&path, e.error))?;
        Ok(())
    }

    /// Adds (or replaces) a namespace and makes it current.
    pub fn add(&mut self, apihost: &str, namespace: &str, api_key: &str, label: Option<&str>) {
        let entry = self
            .credentials
            .entry(apihost.to_string())
            .or_default()
            .entry(namespace.to_string())
            .or_default();
        entry.api_key = api_key.to_string();
        if let Some(label) = label {
            entry.extra.insert("label".into(), label.into());
        }
        self.current_host = Some(apihost.to_string());
        self.current_namespace = Some(namespace.to_string());
    }

    /// Hosts on which `namespace` is stored (only `apihost` when given).
    fn hosts_of(&self, namespace: &str, apihost: Option<&str>) -> Vec<String> {
        self.credentials
            .iter()
            .filter(|(host, nss)| nss.contains_key(namespace) && apihost.is_none_or(|h| h == *host))
            .map(|(host, _)| host.clone())
            .collect()
    }

    /// The one host holding `namespace`, with the original's errors for none and several.
    pub fn host_of(&self, namespace: &str, apihost: Option<&str>) -> Result<String> {
        let hosts = self.hosts_of(namespace, apihost);
        match (hosts.as_slice(), apihost) {
            ([one], _) => Ok(one.clone()),
            ([], Some(h)) => Err(OwError::Credentials {
                message: format!(
                    "No credentials found for namespace '{namespace}' on API host '{h}'"
                ),
                help: Some(
                    "add it with 'sluice namespace add --apihost <host> --auth <key>'".into(),
                ),
            }),
            ([], None) => Err(OwError::Credentials {
                message: format!(
                    "No credentials found for namespace '{namespace}' on any API host"
                ),
                help: Some(
                    "add it with 'sluice namespace add --apihost <host> --auth <key>'".into(),
                ),
            }),
            _ => Err(OwError::Credentials {
                message: format!(
                    "The namespace '{namespace}' exists on more than one API host.  An '--apihost' argument is required"
                ),
                help: None,
            }),
        }
    }

    /// Makes a stored namespace current.
    pub fn use_namespace(&mut self, namespace: &str, apihost: Option<&str>) -> Result<String> {
        let host = self.host_of(namespace, apihost)?;
        self.current_host = Some(host.clone());
        self.current_namespace = Some(namespace.to_string());
        Ok(host)
    }

    /// Forgets a namespace; the current one becomes unset when it is the one removed.
    pub fn remove(&mut self, namespace: &str, apihost: Option<&str>) -> Result<String> {
        let host = self.host_of(namespace, apihost)?;
        if let Some(nss) = self.credentials.get_mut(&host) {
            nss.remove(namespace);
            if nss.is_empty() {
                self.credentials.remove(&host);
            }
        }
        if self.current_host.as_deref() == Some(host.as_str())
            && self.current_namespace.as_deref() == Some(namespace)
        {
            self.current_host = None;
            self.current_namespace = None;
        }
        Ok(host)
    }

    /// Every stored namespace, sorted by host then name.
    pub fn list(&self) -> Vec<StoredNamespace> {
        let mut out = Vec::new();
        for (host, nss) in &self.credentials {
            for (ns, key) in nss {
                out.push(StoredNamespace {
                    apihost: host.clone(),
                    namespace: ns.clone(),
                    label: key.label().map(str::to_string),
                    masked_key: mask_secret(&key.api_key),
                    current: self.current_host.as_deref() == Some(host.as_str())
                        && self.current_namespace.as_deref() == Some(ns.as_str()),
                });
            }
        }
        out
    }

    /// `--apihost` as the user wrote it: a stored host it names without its scheme
    /// (`a.example` for `https://a.example`), else [`expand_apihost`].
    pub fn resolve_host(&self, raw: &str) -> Result<String> {
        let bare = raw.trim().trim_end_matches('/');
        let stored = self.credentials.keys().find(|h| {
            let h = h.trim_end_matches('/');
            h == bare
                || h.strip_prefix("https://") == Some(bare)
                || h.strip_prefix("http://") == Some(bare)
        });
        match stored {
            Some(h) => Ok(h.clone()),
            None => expand_apihost(raw),
        }
    }

    /// Whether any namespace is stored and current.
    pub fn has_current(&self) -> bool {
        self.current_host.is_some() && self.current_namespace.is_some()
    }

    /// Picks the credentials of a deploy (spec §8.2, with `--apihost` expanded once and the
    /// DigitalOcean token taken the same way in every case).
    pub fn select(&self, sel: &Selection) -> Result<Credentials> {
        let apihost = sel
            .apihost
            .as_deref()
            .map(|h| self.resolve_host(h))
            .transpose()?;
        if let (Some(host), Some(auth)) = (&apihost, &sel.auth) {
            return Ok(Credentials {
                namespace: None,
                ow: OwOptions {
                    apihost: host.clone(),
                    api_key: auth.clone(),
                    ignore_certs: sel.insecure,
                },
                do_token: sel.do_token.clone(),
            });
        }
        let (host, namespace) = match sel.target_namespace.as_deref().filter(|t| !t.is_empty()) {
            Some(target) => (
                self.host_of(target, apihost.as_deref())?,
                target.to_string(),
            ),
            None => match (&self.current_host, &self.current_namespace) {
                (Some(h), Some(n)) => (h.clone(), n.clone()),
                _ => return Err(no_current()),
            },
        };
        let stored = self
            .credentials
            .get(&host)
            .and_then(|nss| nss.get(&namespace))
            .ok_or_else(|| OwError::Credentials {
                message: format!("No credentials found for namespace '{namespace}' on API host '{host}'"),
                help: Some("the store's current namespace has no key; pick another with 'sluice namespace use'".into()),
            })?;
        Ok(Credentials {
            namespace: Some(namespace),
            ow: OwOptions {
                apihost: apihost.unwrap_or(host),
                api_key: sel.auth.clone().unwrap_or_else(|| stored.api_key.clone()),
                ignore_certs: sel.insecure,
            },
            do_token: sel.do_token.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> CredentialStore {
        let mut s = CredentialStore::default();
        s.add("https://a.example", "ns1", "u1:k1", Some("first"));
        s.add("https://b.example", "ns1", "u2:k2", None);
        s.add("https://b.example", "ns2", "u3:k3", None);
        s
    }

    #[test]
    fn apihost_abbreviations() -> Result<()> {
        assert_eq!(expand_apihost("nyc1")?, "https://nyc1.doserverless.co");
        assert_eq!(
            expand_apihost("faas-nyc1-2ef2e6cc.doserverless.co")?,
            "https://faas-nyc1-2ef2e6cc.doserverless.co"
        );
        assert_eq!(
            expand_apihost("http://127.0.0.1:3233")?,
            "http://127.0.0.1:3233"
        );
        assert_eq!(
            expand_apihost("https://faas.example.co")?,
            "https://faas.example.co"
        );
        Ok(())
    }

    #[test]
    fn loopback_without_a_scheme_is_http_and_other_hosts_are_refused() -> Result<()> {
        assert_eq!(expand_apihost("127.0.0.1:3233")?, "http://127.0.0.1:3233");
        assert_eq!(expand_apihost("localhost:3233/")?, "http://localhost:3233");
        assert_eq!(expand_apihost("[::1]:3233")?, "http://[::1]:3233");
        for raw in ["faas.example.co", "10.0.0.5:3233", "ftp://x"] {
            let err = expand_apihost(raw).err().map(|e| e.to_string());
            assert!(
                err.as_deref()
                    .is_some_and(|e| e.contains("has no http:// or https:// scheme")),
                "{raw}: {err:?}"
            );
        }
        Ok(())
    }

    #[test]
    fn flags_bypass_the_store() -> Result<()> {
        let c = CredentialStore::default().select(&Selection {
            apihost: Some("nyc1".into()),
            auth: Some("u:k".into()),
            do_token: Some("tok".into()),
            ..Default::default()
        })?;
        assert_eq!(c.ow.apihost, "https://nyc1.doserverless.co");
        assert_eq!(c.namespace, None);
        assert_eq!(c.do_token.as_deref(), Some("tok"));
        Ok(())
    }

    #[test]
    fn target_namespace_rules_and_messages() -> Result<()> {
        let s = store();
        let err = |sel: Selection| s.select(&sel).map(|_| ()).err().map(|e| e.to_string());
        assert_eq!(
            err(Selection {
                target_namespace: Some("ns1".into()),
                ..Default::default()
            })
            .as_deref(),
            Some(
                "The namespace 'ns1' exists on more than one API host.  An '--apihost' argument is required"
            )
        );
        assert_eq!(
            err(Selection {
                target_namespace: Some("nope".into()),
                ..Default::default()
            })
            .as_deref(),
            Some("No credentials found for namespace 'nope' on any API host")
        );
        assert_eq!(
            err(Selection {
                target_namespace: Some("ns2".into()),
                apihost: Some("https://a.example".into()),
                ..Default::default()
            })
            .as_deref(),
            Some("No credentials found for namespace 'ns2' on API host 'https://a.example'")
        );
        let c = s.select(&Selection {
            target_namespace: Some("ns1".into()),
            apihost: Some("a.example".into()),
            ..Default::default()
        })?;
        assert_eq!(c.ow.api_key, "u1:k1");
        let current = s.select(&Selection::default())?;
        assert_eq!(current.namespace.as_deref(), Some("ns2"));
        assert_eq!(
            CredentialStore::default()
                .select(&Selection::default())
                .err()
                .map(|e| e.to_string())
                .as_deref(),
            Some(
                "You do not have a current namespace.  Use 'nim auth login' to create a new one or 'nim auth switch' to use an existing one"
            )
        );
        Ok(())
    }

    #[test]
    fn save_is_private_and_keeps_unknown_members() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| OwError::io("tmp", e))?;
        let text = r#"{"currentHost":"h","currentNamespace":"n","credentials":{"h":{"n":{"api_key":"u:k","label":"L","production":false}}},"other":1}"#;
        std::fs::write(dir.path().join(STORE_FILE), text).map_err(|e| OwError::io("f", e))?;
        let mut s = CredentialStore::load(dir.path())?;
        assert_eq!(s.list()[0].label.as_deref(), Some("L"));
        s.add("h2", "n2", "u2:k2", None);
        s.save(dir.path())?;
        let back: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(STORE_FILE))
                .map_err(|e| OwError::io("f", e))?,
        )
        .map_err(|e| OwError::Message(e.to_string()))?;
        assert_eq!(back["other"], 1);
        assert_eq!(back["credentials"]["h"]["n"]["production"], false);
        assert_eq!(back["currentHost"], "h2");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(STORE_FILE))
                .map_err(|e| OwError::io("f", e))?
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        s.remove("n2", None)?;
        assert!(!s.has_current());
        Ok(())
    }
}
