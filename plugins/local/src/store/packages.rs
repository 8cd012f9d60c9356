//! Packages and bindings.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::actions::clamp;
use super::{BindingRef, KeyValue, Package, ResolvedPackage, from_json, to_json};
use crate::LocalError;

const COLUMNS: &str =
    "namespace, name, version, publish, binding, parameters, annotations, updated";

fn from_row(r: &Row<'_>) -> Result<Package, LocalError> {
    let binding: Option<String> = r.get(4)?;
    Ok(Package {
        namespace: r.get(0)?,
        name: r.get(1)?,
        version: r.get(2)?,
        publish: r.get(3)?,
        binding: binding
            .map(|b| from_json::<BindingRef>("packages.binding", &b))
            .transpose()?,
        parameters: from_json("packages.parameters", &r.get::<_, String>(5)?)?,
        annotations: from_json("packages.annotations", &r.get::<_, String>(6)?)?,
        updated: r.get(7)?,
    })
}

/// The package `name` of `ns`.
pub fn get(conn: &Connection, ns: &str, name: &str) -> Result<Option<Package>, LocalError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM packages WHERE namespace = ?1 AND name = ?2"
    ))?;
    stmt.query_row(params![ns, name], |r| Ok(from_row(r)))
        .optional()?
        .transpose()
}

/// The package with its binding followed; `None` if it or its target is missing.
pub fn resolve(
    conn: &Connection,
    ns: &str,
    name: &str,
) -> Result<Option<ResolvedPackage>, LocalError> {
    let Some(requested) = get(conn, ns, name)? else {
        return Ok(None);
    };
    let Some(b) = requested.binding.clone() else {
        return Ok(Some(ResolvedPackage {
            parameters: requested.parameters.clone(),
            target: requested.clone(),
            requested,
        }));
    };
    let Some(target) = get(conn, &b.namespace, &b.name)? else {
        return Ok(None);
    };
    let parameters = merge_params(&target.parameters, &requested.parameters);
    Ok(Some(ResolvedPackage {
        requested,
        target,
        parameters,
    }))
}

/// `base` overridden key by key by `over`.
pub fn merge_params(base: &[KeyValue], over: &[KeyValue]) -> Vec<KeyValue> {
    let mut out: Vec<KeyValue> = base.to_vec();
    for kv in over {
        if let Some(slot) = out.iter_mut().find(|o| o.key == kv.key) {
            *slot = kv.clone();
        } else {
            out.push(kv.clone());
        }
    }
    out
}

/// Inserts or replaces `package`.
pub fn put(conn: &Connection, package: &Package) -> Result<(), LocalError> {
    conn.execute(
        "INSERT OR REPLACE INTO packages (namespace, name, version, publish, binding, parameters,
             annotations, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            package.namespace,
            package.name,
            package.version,
            package.publish,
            package.binding.as_ref().map(to_json),
            to_json(&package.parameters),
            to_json(&package.annotations),
            package.updated
        ],
    )?;
    Ok(())
}

/// Deletes the package; true if it existed.
pub fn delete(conn: &Connection, ns: &str, name: &str) -> Result<bool, LocalError> {
    Ok(conn.execute(
        "DELETE FROM packages WHERE namespace = ?1 AND name = ?2",
        params![ns, name],
    )? > 0)
}

/// Packages of `ns` (or, with `public`, published packages of every namespace), newest first.
pub fn list(
    conn: &Connection,
    ns: &str,
    public: bool,
    skip: u64,
    limit: u64,
) -> Result<Vec<Package>, LocalError> {
    let filter = if public {
        "publish = 1 AND binding IS NULL"
    } else {
        "namespace = ?1"
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM packages WHERE ({filter}) AND ?1 IS NOT NULL
         ORDER BY updated DESC, name LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt.query_map(params![ns, clamp(limit), clamp(skip)], |r| Ok(from_row(r)))?;
    rows.map(|r| r?).collect()
}

/// How many packages `ns` has.
pub fn count(conn: &Connection, ns: &str) -> Result<u64, LocalError> {
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM packages WHERE namespace = ?1",
        params![ns],
        |r| r.get(0),
    )?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The published packages (not bindings) of `ns`, by name: what another namespace sees.
pub fn list_published_in(
    conn: &Connection,
    ns: &str,
    skip: u64,
    limit: u64,
) -> Result<Vec<Package>, LocalError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM packages WHERE namespace = ?1 AND publish = 1 AND binding IS NULL
         ORDER BY name LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt.query_map(params![ns, clamp(limit), clamp(skip)], |r| Ok(from_row(r)))?;
    rows.map(|r| r?).collect()
}

/// How many published packages `ns` shows to other namespaces.
pub fn count_published_in(conn: &Connection, ns: &str) -> Result<u64, LocalError> {
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM packages WHERE namespace = ?1 AND publish = 1 AND binding IS NULL",
        params![ns],
        |r| r.get(0),
    )?;
    Ok(u64::try_from(n).unwrap_or(0))
}
