//! What the namespace holds of a project, read in few requests: one `GET` per package of the
//! project (a package's record lists its actions with their versions and annotations, and the
//! `deployer` annotation carries each entity's digest), one paged list of actions when the
//! project has functions in the default package, and, for `--prune`, one paged list of
//! packages.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::join_all;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sluice_core::{DeployStructure, DeployerAnnotation, VersionEntry};

use crate::client::Client;
use crate::digest;
use crate::error::{OwError, Result};

/// The largest page OpenWhisk serves.
const PAGE: usize = 200;

/// One entity as the namespace has it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServerEntity {
    pub version: String,
    /// The `deployer` annotation, when sluice or the original deployer put one there.
    pub deployer: Option<DeployerAnnotation>,
    /// The `exec` annotation OpenWhisk sets on actions (`sequence` for sequences).
    pub exec: Option<String>,
}

impl ServerEntity {
    pub(crate) fn from_record(record: &Value) -> Self {
        let mut entity = ServerEntity {
            version: record
                .get("version")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            ..Default::default()
        };
        for a in record
            .get("annotations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match a.get("key").and_then(Value::as_str) {
                Some("deployer") => {
                    entity.deployer = a
                        .get("value")
                        .and_then(|v| serde_json::from_value(v.clone()).ok());
                }
                Some("exec") => {
                    entity.exec = a.get("value").and_then(Value::as_str).map(str::to_string);
                }
                _ => {}
            }
        }
        entity
    }

    /// The short digest in the `deployer` annotation.
    pub fn digest(&self) -> Option<&str> {
        self.deployer.as_ref().and_then(|d| d.digest.as_deref())
    }

    /// Whether this project (same repository and project path) deployed it.
    pub fn deployed_by(&self, project: &DeployerAnnotation) -> bool {
        self.deployer.as_ref().is_some_and(|d| {
            d.project_path == project.project_path && d.repository == project.repository
        })
    }

    /// Whether the namespace holds exactly what `recorded` says was deployed.
    fn confirms(&self, recorded: &sluice_core::VersionInfo) -> bool {
        self.version == recorded.version
            && self.digest() == Some(digest::short(&recorded.digest).as_str())
    }
}

/// A package as the namespace has it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServerPackage {
    pub entity: ServerEntity,
    /// The whole record (parameters, annotations, binding) for comparisons.
    pub record: Value,
    /// Its actions by short name (empty for a binding: the listed ones are the bound
    /// package's).
    pub actions: BTreeMap<String, ServerEntity>,
}

/// What the namespace holds of one project.
#[derive(Debug, Clone, Default)]
pub struct ServerState {
    /// The project's packages: `None` when the namespace has no such package.
    pub packages: BTreeMap<String, Option<ServerPackage>>,
    /// Actions of the default package, when they were listed.
    pub default_actions: BTreeMap<String, ServerEntity>,
    /// Packages of the namespace the project does not have (listed only for `--prune`), with
    /// their actions.
    pub other_packages: BTreeMap<String, ServerPackage>,
    /// How many requests reading took.
    pub requests: usize,
}

/// Which reads [`ServerState::fetch`] makes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reads {
    /// List the default package's actions.
    pub default_package: bool,
    /// List every package (for `--prune`).
    pub all_packages: bool,
}

impl Reads {
    /// The reads a comparison of `project` needs.
    pub fn for_project(project: &DeployStructure, prune: bool) -> Self {
        Reads {
            default_package: prune
                || project
                    .packages
                    .iter()
                    .any(|p| p.is_default() && !p.actions.is_empty()),
            all_packages: prune,
        }
    }
}

fn is_not_found(e: &OwError) -> bool {
    e.status() == Some(404)
}

/// Whether a package record is a binding (a plain package has `"binding": {}`).
pub fn is_binding(record: &Value) -> bool {
    record.get("binding").and_then(|b| b.get("name")).is_some()
}

async fn get_package(client: &Client, name: &str) -> Result<Option<ServerPackage>> {
    match client.get(client.entity_url("packages", name)).await {
        Ok(record) => {
            let actions = if is_binding(&record) {
                BTreeMap::new()
            } else {
                record
                    .get("actions")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|a| {
                        let name = a.get("name").and_then(Value::as_str)?;
                        Some((name.to_string(), ServerEntity::from_record(a)))
                    })
                    .collect()
            };
            Ok(Some(ServerPackage {
                entity: ServerEntity::from_record(&record),
                record,
                actions,
            }))
        }
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Every page of a collection list (`actions` or `packages`).
async fn list_all(client: &Client, collection: &str, requests: &mut usize) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    loop {
        let mut url = client.api_url(["namespaces", "_", collection]);
        url.query_pairs_mut()
            .append_pair("limit", &PAGE.to_string())
            .append_pair("skip", &out.len().to_string());
        *requests += 1;
        let page = client.get(url.clone()).await?;
        let items = page.as_array().cloned().ok_or_else(|| OwError::Decode {
            url: url.to_string(),
            message: "expected a list".to_string(),
        })?;
        let n = items.len();
        out.extend(items);
        if n < PAGE {
            return Ok(out);
        }
    }
}

impl ServerState {
    /// Reads what the namespace holds of `project`.
    pub async fn fetch(client: &Client, project: &DeployStructure, reads: Reads) -> Result<Self> {
        let names: Vec<&str> = project
            .packages
            .iter()
            .filter(|p| !p.is_default())
            .map(|p| p.name.as_str())
            .collect();
        let fetched = join_all(names.iter().map(|n| get_package(client, n))).await;
        let mut state = ServerState {
            requests: names.len(),
            ..Default::default()
        };
        for (name, got) in names.iter().zip(fetched) {
            state.packages.insert(name.to_string(), got?);
        }
        if reads.default_package {
            let mut requests = 0;
            for item in list_all(client, "actions", &mut requests).await? {
                // Actions inside packages have `ns/pkg` as their namespace.
                let in_default = item
                    .get("namespace")
                    .and_then(Value::as_str)
                    .is_some_and(|ns| !ns.contains('/'));
                if let (true, Some(name)) = (in_default, item.get("name").and_then(Value::as_str)) {
                    state
                        .default_actions
                        .insert(name.to_string(), ServerEntity::from_record(&item));
                }
            }
            state.requests += requests;
        }
        if reads.all_packages {
            let mut requests = 0;
            let listed = list_all(client, "packages", &mut requests).await?;
            state.requests += requests;
            let known: BTreeSet<&str> = names.iter().copied().collect();
            let others: Vec<String> = listed
                .iter()
                .filter_map(|p| p.get("name").and_then(Value::as_str))
                .filter(|n| !known.contains(n))
                .map(str::to_string)
                .collect();
            // Only packages this project might own need their actions read.
            let owned: Vec<&String> = others
                .iter()
                .filter(|n| {
                    listed
                        .iter()
                        .find(|p| p.get("name").and_then(Value::as_str) == Some(n.as_str()))
                        .map(ServerEntity::from_record)
                        .is_some_and(|e| e.deployer.is_some())
                })
                .collect();
            let fetched = join_all(owned.iter().map(|n| get_package(client, n))).await;
            state.requests += owned.len();
            for (name, got) in owned.into_iter().zip(fetched) {
                if let Some(pkg) = got? {
                    state.other_packages.insert(name.clone(), pkg);
                }
            }
        }
        Ok(state)
    }

    /// The namespace's action `pkg/name` (or `name` in the default package).
    pub fn action(&self, qualified: &str) -> Option<&ServerEntity> {
        match qualified.split_once('/') {
            Some((pkg, name)) => self
                .packages
                .get(pkg)
                .and_then(Option::as_ref)
                .and_then(|p| p.actions.get(name)),
            None => self.default_actions.get(qualified),
        }
    }

    /// The namespace's package `name`.
    pub fn package(&self, name: &str) -> Option<&ServerPackage> {
        self.packages.get(name).and_then(Option::as_ref)
    }

    /// `old` less every entry the namespace does not confirm (another version or digest, or
    /// the entity is gone): what a verified `--incremental` may skip.
    pub fn verified(&self, mut old: VersionEntry) -> VersionEntry {
        old.package_versions.retain(|name, recorded| {
            self.package(name)
                .is_some_and(|p| p.entity.confirms(recorded))
        });
        old.action_versions
            .retain(|name, recorded| self.action(name).is_some_and(|a| a.confirms(recorded)));
        old
    }

    /// A digest of every version read: it changes when the namespace does.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        let mut feed = |kind: &str, name: &str, e: Option<&ServerEntity>| {
            h.update(kind);
            h.update([0]);
            h.update(name);
            h.update([0]);
            if let Some(e) = e {
                h.update(&e.version);
                h.update([0]);
                h.update(e.digest().unwrap_or(""));
            }
            h.update([1]);
        };
        for (name, pkg) in &self.packages {
            feed("package", name, pkg.as_ref().map(|p| &p.entity));
            for (a, e) in pkg.iter().flat_map(|p| &p.actions) {
                feed("action", &format!("{name}/{a}"), Some(e));
            }
        }
        for (name, e) in &self.default_actions {
            feed("action", name, Some(e));
        }
        for (name, pkg) in &self.other_packages {
            feed("package", name, Some(&pkg.entity));
            for (a, e) in &pkg.actions {
                feed("action", &format!("{name}/{a}"), Some(e));
            }
        }
        sluice_core::changes::hex(&h.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_give_version_digest_and_owner() {
        let e = ServerEntity::from_record(&json!({
            "version": "0.0.3",
            "annotations": [
                {"key": "exec", "value": "sequence"},
                {"key": "deployer", "value": {"projectPath": "/p", "digest": "abcd1234"}},
            ],
        }));
        assert_eq!(e.version, "0.0.3");
        assert_eq!(e.digest(), Some("abcd1234"));
        assert_eq!(e.exec.as_deref(), Some("sequence"));
        let ours = DeployerAnnotation {
            project_path: "/p".into(),
            ..Default::default()
        };
        assert!(e.deployed_by(&ours));
        let theirs = DeployerAnnotation {
            project_path: "/q".into(),
            ..Default::default()
        };
        assert!(!e.deployed_by(&theirs));
    }

    #[test]
    fn verified_keeps_only_what_the_server_confirms() {
        let mut state = ServerState::default();
        let mut pkg = ServerPackage::default();
        let good = ServerEntity {
            version: "0.0.1".into(),
            deployer: Some(DeployerAnnotation {
                digest: Some("aaaaaaaa".into()),
                ..Default::default()
            }),
            exec: None,
        };
        let mut edited = good.clone();
        edited.version = "0.0.2".into();
        pkg.actions.insert("same".into(), good.clone());
        pkg.actions.insert("edited".into(), edited);
        state.packages.insert("p".into(), Some(pkg));
        let info = |v: &str| sluice_core::VersionInfo {
            version: v.into(),
            digest: "aaaaaaaaffff".into(),
        };
        let mut old = VersionEntry::default();
        for name in ["p/same", "p/edited", "p/gone"] {
            old.action_versions.insert(name.into(), info("0.0.1"));
        }
        let kept = state.verified(old);
        assert_eq!(
            kept.action_versions.keys().collect::<Vec<_>>(),
            vec!["p/same"]
        );
    }
}
