//! OpenWhisk triggers (with the `rules` map that links them to actions).

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::actions::clamp;
use super::{Trigger, from_json, to_json};
use crate::LocalError;

const COLUMNS: &str =
    "namespace, name, version, publish, parameters, annotations, limits, rules, updated";

fn from_row(r: &Row<'_>) -> Result<Trigger, LocalError> {
    Ok(Trigger {
        namespace: r.get(0)?,
        name: r.get(1)?,
        version: r.get(2)?,
        publish: r.get(3)?,
        parameters: from_json("triggers.parameters", &r.get::<_, String>(4)?)?,
        annotations: from_json("triggers.annotations", &r.get::<_, String>(5)?)?,
        limits: from_json("triggers.limits", &r.get::<_, String>(6)?)?,
        rules: from_json("triggers.rules", &r.get::<_, String>(7)?)?,
        updated: r.get(8)?,
    })
}

/// The trigger `name` of `ns`.
pub fn get(conn: &Connection, ns: &str, name: &str) -> Result<Option<Trigger>, LocalError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM triggers WHERE namespace = ?1 AND name = ?2"
    ))?;
    stmt.query_row(params![ns, name], |r| Ok(from_row(r)))
        .optional()?
        .transpose()
}

/// Inserts or replaces `trigger`.
pub fn put(conn: &Connection, trigger: &Trigger) -> Result<(), LocalError> {
    conn.execute(
        "INSERT OR REPLACE INTO triggers (namespace, name, version, publish, parameters,
             annotations, limits, rules, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            trigger.namespace,
            trigger.name,
            trigger.version,
            trigger.publish,
            to_json(&trigger.parameters),
            to_json(&trigger.annotations),
            to_json(&trigger.limits),
            to_json(&trigger.rules),
            trigger.updated
        ],
    )?;
    Ok(())
}

/// Deletes the trigger; true if it existed.
pub fn delete(conn: &Connection, ns: &str, name: &str) -> Result<bool, LocalError> {
    Ok(conn.execute(
        "DELETE FROM triggers WHERE namespace = ?1 AND name = ?2",
        params![ns, name],
    )? > 0)
}

/// Triggers of `ns`, newest first.
pub fn list(
    conn: &Connection,
    ns: &str,
    skip: u64,
    limit: u64,
) -> Result<Vec<Trigger>, LocalError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM triggers WHERE namespace = ?1
         ORDER BY updated DESC, name LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt.query_map(params![ns, clamp(limit), clamp(skip)], |r| Ok(from_row(r)))?;
    rows.map(|r| r?).collect()
}

/// How many triggers `ns` has.
pub fn count(conn: &Connection, ns: &str) -> Result<u64, LocalError> {
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM triggers WHERE namespace = ?1",
        params![ns],
        |r| r.get(0),
    )?;
    Ok(u64::try_from(n).unwrap_or(0))
}
