//! The runtime table of a namespace, kept for a few minutes in sluice's home
//! (`cache/runtimes/`), so back-to-back commands against one API host read the controller's
//! table once instead of once per command. A read that fails with a cached table is retried
//! with a fresh one (see `ops::deploy::prepare`), so a runtime the namespace just gained is
//! never refused because of the cache.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::changes::hex;
use crate::runtimes::RuntimeTable;

/// How long a cached table is used.
pub const MAX_AGE: Duration = Duration::from_secs(600);

#[derive(Serialize, Deserialize)]
struct Entry {
    apihost: String,
    deployer: String,
    /// Seconds since the Unix epoch.
    fetched: u64,
    table: RuntimeTable,
}

fn file(home: &Path, deployer: &str, apihost: &str) -> PathBuf {
    let key = hex(&Sha256::digest(format!("{deployer}\0{apihost}").as_bytes()));
    home.join("cache")
        .join("runtimes")
        .join(format!("{}.json", &key[..16]))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The cached table of `apihost`, when one younger than [`MAX_AGE`] exists.
pub fn load(home: Option<&Path>, deployer: &str, apihost: &str) -> Option<RuntimeTable> {
    let text = std::fs::read_to_string(file(home?, deployer, apihost)).ok()?;
    let entry: Entry = serde_json::from_str(&text).ok()?;
    let fresh = now().saturating_sub(entry.fetched) < MAX_AGE.as_secs();
    (fresh && entry.apihost == apihost && entry.deployer == deployer).then_some(entry.table)
}

/// Keeps `table` for `apihost`. Best effort: a cache that cannot be written only costs a
/// request next time.
pub fn store(home: Option<&Path>, deployer: &str, apihost: &str, table: &RuntimeTable) {
    let Some(home) = home else { return };
    let path = file(home, deployer, apihost);
    let entry = Entry {
        apihost: apihost.to_string(),
        deployer: deployer.to_string(),
        fetched: now(),
        table: table.clone(),
    };
    let (Some(dir), Ok(text)) = (path.parent(), serde_json::to_vec(&entry)) else {
        return;
    };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = dir.join(format!(".{}.{}", std::process::id(), now()));
    if std::fs::write(&tmp, text).is_ok() && std::fs::rename(&tmp, &path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_table_is_found_for_its_host_and_deployer_only() {
        let home = tempfile::tempdir().expect("tempdir");
        let table = RuntimeTable::builtin();
        store(Some(home.path()), "openwhisk", "http://h:1", &table);
        assert_eq!(
            load(Some(home.path()), "openwhisk", "http://h:1"),
            Some(table)
        );
        assert_eq!(load(Some(home.path()), "openwhisk", "http://h:2"), None);
        assert_eq!(load(Some(home.path()), "other", "http://h:1"), None);
        assert_eq!(load(None, "openwhisk", "http://h:1"), None);
    }
}
