//! Rules. Their status is not stored here but in the trigger's `rules` map.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::actions::clamp;
use super::{Rule, from_json, to_json};
use crate::LocalError;

const COLUMNS: &str = "namespace, name, version, publish, annotations, trigger, action, updated";

fn from_row(r: &Row<'_>) -> Result<Rule, LocalError> {
    Ok(Rule {
        namespace: r.get(0)?,
        name: r.get(1)?,
        version: r.get(2)?,
        publish: r.get(3)?,
        annotations: from_json("rules.annotations", &r.get::<_, String>(4)?)?,
        trigger: from_json("rules.trigger", &r.get::<_, String>(5)?)?,
        action: from_json("rules.action", &r.get::<_, String>(6)?)?,
        updated: r.get(7)?,
    })
}

/// The rule `name` of `ns`.
pub fn get(conn: &Connection, ns: &str, name: &str) -> Result<Option<Rule>, LocalError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM rules WHERE namespace = ?1 AND name = ?2"
    ))?;
    stmt.query_row(params![ns, name], |r| Ok(from_row(r)))
        .optional()?
        .transpose()
}

/// Inserts or replaces `rule`.
pub fn put(conn: &Connection, rule: &Rule) -> Result<(), LocalError> {
    conn.execute(
        "INSERT OR REPLACE INTO rules (namespace, name, version, publish, annotations, trigger,
             action, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            rule.namespace,
            rule.name,
            rule.version,
            rule.publish,
            to_json(&rule.annotations),
            to_json(&rule.trigger),
            to_json(&rule.action),
            rule.updated
        ],
    )?;
    Ok(())
}

/// Deletes the rule; true if it existed.
pub fn delete(conn: &Connection, ns: &str, name: &str) -> Result<bool, LocalError> {
    Ok(conn.execute(
        "DELETE FROM rules WHERE namespace = ?1 AND name = ?2",
        params![ns, name],
    )? > 0)
}

/// Rules of `ns`, newest first.
pub fn list(conn: &Connection, ns: &str, skip: u64, limit: u64) -> Result<Vec<Rule>, LocalError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM rules WHERE namespace = ?1
         ORDER BY updated DESC, name LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt.query_map(params![ns, clamp(limit), clamp(skip)], |r| Ok(from_row(r)))?;
    rows.map(|r| r?).collect()
}

/// How many rules `ns` has.
pub fn count(conn: &Connection, ns: &str) -> Result<u64, LocalError> {
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM rules WHERE namespace = ?1",
        params![ns],
        |r| r.get(0),
    )?;
    Ok(u64::try_from(n).unwrap_or(0))
}
