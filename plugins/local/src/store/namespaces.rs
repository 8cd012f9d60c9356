//! Namespaces and their auth keys (`uuid:key`, sent as HTTP Basic credentials).

use rand::Rng;
use rand::distr::Alphanumeric;
use rusqlite::{Connection, OptionalExtension, params};

use super::now_ms;
use crate::LocalError;

/// A namespace and its credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Namespace {
    pub name: String,
    pub uuid: String,
    pub key: String,
}

impl Namespace {
    /// `uuid:key`, the value of `--auth` / `wsk property set --auth`.
    pub fn auth(&self) -> String {
        format!("{}:{}", self.uuid, self.key)
    }
}

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.name)
            .field("uuid", &self.uuid)
            .field("key", &sluice_core::mask_secret(&self.key))
            .finish()
    }
}

/// The namespace `name`.
pub fn get(conn: &Connection, name: &str) -> Result<Option<Namespace>, LocalError> {
    Ok(conn
        .query_row(
            "SELECT name, uuid, key FROM namespaces WHERE name = ?1",
            params![name],
            |r| {
                Ok(Namespace {
                    name: r.get(0)?,
                    uuid: r.get(1)?,
                    key: r.get(2)?,
                })
            },
        )
        .optional()?)
}

/// The namespace whose credentials are `uuid` and `key`.
pub fn authenticate(
    conn: &Connection,
    uuid: &str,
    key: &str,
) -> Result<Option<String>, LocalError> {
    let found: Option<(String, String)> = conn
        .query_row(
            "SELECT name, key FROM namespaces WHERE uuid = ?1",
            params![uuid],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(found.and_then(|(name, stored)| constant_time_eq(&stored, key).then_some(name)))
}

/// Every namespace name, sorted.
pub fn list(conn: &Connection) -> Result<Vec<String>, LocalError> {
    let mut stmt = conn.prepare("SELECT name FROM namespaces ORDER BY name")?;
    let names = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(names)
}

/// The namespace `name`, created with a fresh random key if it does not exist yet.
pub fn ensure(conn: &mut Connection, name: &str) -> Result<Namespace, LocalError> {
    super::write_tx(conn, |tx| {
        if let Some(ns) = get(tx, name)? {
            return Ok(ns);
        }
        let ns = Namespace {
            name: name.to_string(),
            uuid: uuid::Uuid::new_v4().to_string(),
            key: random_key(),
        };
        tx.execute(
            "INSERT INTO namespaces (name, uuid, key, created) VALUES (?1, ?2, ?3, ?4)",
            params![ns.name, ns.uuid, ns.key, now_ms()],
        )?;
        Ok(ns)
    })
}

/// The namespaces the standard catalog ([`crate::catalog`]) owns. No key authenticates as
/// them, so nobody writes into them.
pub const RESERVED: &[&str] = &["whisk.system", "nimbella"];

/// Whether `name` can name a namespace (and is not [`RESERVED`]): 1 to 64 characters, letters, digits, `_` and `-`,
/// starting with a letter or digit (what OpenWhisk accepts in a path segment, and safe in
/// a file name).
pub fn check_name(name: &str) -> Result<(), String> {
    let ok_first = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    let ok_rest = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if RESERVED.contains(&name) {
        Err(format!(
            "'{name}' is reserved: it holds the standard catalog every namespace sees; choose another name"
        ))
    } else if ok_first && ok_rest && name.len() <= 64 {
        Ok(())
    } else {
        Err(format!(
            "'{name}' is not a namespace name: use 1 to 64 letters, digits, '_' or '-', starting with a letter or digit"
        ))
    }
}

/// Deletes the namespace `name` and every entity and activation in it; false when there is
/// no such namespace.
pub fn delete(conn: &mut Connection, name: &str) -> Result<bool, LocalError> {
    super::write_tx(conn, |tx| {
        for table in [
            "actions",
            "packages",
            "triggers",
            "rules",
            "activations",
            "do_triggers",
        ] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE namespace = ?1"),
                params![name],
            )?;
        }
        Ok(tx.execute("DELETE FROM namespaces WHERE name = ?1", params![name])? > 0)
    })
}

/// A 64-character alphanumeric key, the length OpenWhisk keys have.
fn random_key() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(64)
        .map(char::from)
        .collect()
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
