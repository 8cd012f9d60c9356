//! Activation records, stored whole as JSON with the columns the list filters need.

use rusqlite::{Connection, OptionalExtension, params};

use super::actions::clamp;
use super::{Activation, ActivationQuery, from_json, to_json};
use crate::LocalError;

/// Inserts or replaces an activation (the runner writes it once finished, or twice: when
/// accepted and when done).
pub fn put(conn: &Connection, activation: &Activation) -> Result<(), LocalError> {
    conn.execute(
        "INSERT OR REPLACE INTO activations (namespace, activation_id, entity_path, start, doc)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            activation.namespace,
            activation.activation_id,
            activation.entity_path(),
            activation.start,
            to_json(activation)
        ],
    )?;
    Ok(())
}

/// The activation `id` of `ns`.
pub fn get(conn: &Connection, ns: &str, id: &str) -> Result<Option<Activation>, LocalError> {
    let doc: Option<String> = conn
        .query_row(
            "SELECT doc FROM activations WHERE namespace = ?1 AND activation_id = ?2",
            params![ns, id],
            |r| r.get(0),
        )
        .optional()?;
    doc.map(|d| from_json("activations.doc", &d)).transpose()
}

const FILTER: &str = "namespace = ?1 AND (?2 IS NULL OR entity_path = ?2)
     AND (?3 IS NULL OR start >= ?3) AND (?4 IS NULL OR start <= ?4)";

/// Activations of `ns` matching `q`, newest `start` first.
pub fn list(
    conn: &Connection,
    ns: &str,
    q: &ActivationQuery,
) -> Result<Vec<Activation>, LocalError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT doc FROM activations WHERE {FILTER}
         ORDER BY start DESC, activation_id LIMIT ?5 OFFSET ?6"
    ))?;
    let rows = stmt.query_map(
        params![ns, q.name, q.since, q.upto, clamp(q.limit), clamp(q.skip)],
        |r| r.get::<_, String>(0),
    )?;
    rows.map(|r| from_json("activations.doc", &r?)).collect()
}

/// How many activations of `ns` match `q` (its skip and limit are ignored).
pub fn count(conn: &Connection, ns: &str, q: &ActivationQuery) -> Result<u64, LocalError> {
    let n: i64 = conn.query_row(
        &format!("SELECT COUNT(*) FROM activations WHERE {FILTER}"),
        params![ns, q.name, q.since, q.upto],
        |r| r.get(0),
    )?;
    Ok(u64::try_from(n).unwrap_or(0))
}
