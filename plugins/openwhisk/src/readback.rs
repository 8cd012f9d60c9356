//! Reading a project's functions back from a namespace, code included, for `promote`: one
//! `GET …/actions/<name>?code=true` per function, beside the versions the project recorded
//! for that namespace. Judging what was read (drift, missing functions) is the caller's.

use base64::Engine as _;
use futures::future::join_all;
use serde::Deserialize;
use sluice_core::{DeployStructure, DeployedFunction, VersionEntry};

use crate::client::Client;
use crate::error::{OwError, Result};
use crate::server_state::ServerEntity;

/// The `exec` of an action record.
#[derive(Debug, Default, Deserialize)]
struct Exec {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    main: Option<String>,
    #[serde(default)]
    binary: bool,
}

#[derive(Debug, Default, Deserialize)]
struct ActionRecord {
    #[serde(default)]
    exec: Exec,
}

/// Every function of `project` that runs code (sequences have none to copy) as the namespace
/// holds it, with `recorded`'s entry for it.
pub async fn read_deployed(
    client: &Client,
    project: &DeployStructure,
    recorded: &VersionEntry,
) -> Result<Vec<DeployedFunction>> {
    let names: Vec<String> = project
        .packages
        .iter()
        .flat_map(|p| {
            p.actions
                .iter()
                .filter(|a| !a.is_sequence())
                .map(move |a| a.qualified_name(&p.name))
        })
        .collect();
    let read = join_all(names.iter().map(|n| read_one(client, n))).await;
    let mut out = Vec::with_capacity(names.len());
    for (name, got) in names.into_iter().zip(read) {
        let mut function = got?.unwrap_or_else(|| DeployedFunction::new(name.clone()));
        function.recorded = recorded.action_versions.get(&name).cloned();
        out.push(function);
    }
    Ok(out)
}

async fn read_one(client: &Client, name: &str) -> Result<Option<DeployedFunction>> {
    let mut url = client.entity_url("actions", name);
    url.query_pairs_mut().append_pair("code", "true");
    let value = match client.get(url.clone()).await {
        Ok(v) => v,
        Err(e) if e.status() == Some(404) => return Ok(None),
        Err(e) => return Err(e),
    };
    let entity = ServerEntity::from_record(&value);
    let record: ActionRecord = serde_json::from_value(value).map_err(|e| OwError::Decode {
        url: url.to_string(),
        message: e.to_string(),
    })?;
    let exec = record.exec;
    let is_sequence = exec.kind.as_deref() == Some("sequence");
    let code = match (is_sequence, exec.code) {
        (true, _) | (false, None) => None,
        (false, Some(text)) if exec.binary => Some(
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|e| OwError::Decode {
                    url: url.to_string(),
                    message: format!("the binary code of '{name}' is not base64: {e}"),
                })?,
        ),
        (false, Some(text)) => Some(text.into_bytes()),
    };
    let mut function = DeployedFunction::new(name);
    function.digest = entity.digest().map(str::to_string);
    function.version = Some(entity.version);
    function.code = code;
    function.kind = exec.kind;
    function.main = exec.main.filter(|m| !m.is_empty());
    function.binary = exec.binary;
    Ok(Some(function))
}
