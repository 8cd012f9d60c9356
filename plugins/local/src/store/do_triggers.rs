//! DigitalOcean scheduled triggers (`/v2/functions/namespaces/{ns}/triggers`).

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{DoTrigger, ScheduledDetails, ScheduledRuns, from_json, to_json};
use crate::LocalError;

const COLUMNS: &str = "namespace, name, function, type, is_enabled, cron, body, created_at,
     updated_at, last_run_at, next_run_at";

fn from_row(r: &Row<'_>) -> Result<DoTrigger, LocalError> {
    let body: Option<String> = r.get(6)?;
    Ok(DoTrigger {
        namespace: r.get(0)?,
        name: r.get(1)?,
        function: r.get(2)?,
        trigger_type: r.get(3)?,
        is_enabled: r.get(4)?,
        scheduled_details: ScheduledDetails {
            cron: r.get(5)?,
            body: body
                .map(|b| from_json("do_triggers.body", &b))
                .transpose()?,
        },
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
        scheduled_runs: ScheduledRuns {
            last_run_at: r.get(9)?,
            next_run_at: r.get(10)?,
        },
    })
}

/// The trigger `name` of `ns`.
pub fn get(conn: &Connection, ns: &str, name: &str) -> Result<Option<DoTrigger>, LocalError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM do_triggers WHERE namespace = ?1 AND name = ?2"
    ))?;
    stmt.query_row(params![ns, name], |r| Ok(from_row(r)))
        .optional()?
        .transpose()
}

/// Inserts or replaces `trigger`.
pub fn put(conn: &Connection, t: &DoTrigger) -> Result<(), LocalError> {
    conn.execute(
        "INSERT OR REPLACE INTO do_triggers (namespace, name, function, type, is_enabled, cron,
             body, created_at, updated_at, last_run_at, next_run_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            t.namespace,
            t.name,
            t.function,
            t.trigger_type,
            t.is_enabled,
            t.scheduled_details.cron,
            t.scheduled_details.body.as_ref().map(to_json),
            t.created_at,
            t.updated_at,
            t.scheduled_runs.last_run_at,
            t.scheduled_runs.next_run_at
        ],
    )?;
    Ok(())
}

/// Deletes the trigger; true if it existed.
pub fn delete(conn: &Connection, ns: &str, name: &str) -> Result<bool, LocalError> {
    Ok(conn.execute(
        "DELETE FROM do_triggers WHERE namespace = ?1 AND name = ?2",
        params![ns, name],
    )? > 0)
}

/// Triggers of `ns`, by name.
pub fn list(conn: &Connection, ns: &str) -> Result<Vec<DoTrigger>, LocalError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM do_triggers WHERE namespace = ?1 ORDER BY name"
    ))?;
    let rows = stmt.query_map(params![ns], |r| Ok(from_row(r)))?;
    rows.map(|r| r?).collect()
}

/// Every trigger of every namespace.
pub fn list_all(conn: &mut Connection) -> Result<Vec<DoTrigger>, LocalError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM do_triggers ORDER BY namespace, name"
    ))?;
    let rows = stmt.query_map([], |r| Ok(from_row(r)))?;
    rows.map(|r| r?).collect()
}

/// Records a run: `last_run_at` and the next planned one.
pub fn mark_run(
    conn: &Connection,
    ns: &str,
    name: &str,
    last_run_at: &str,
    next_run_at: Option<String>,
) -> Result<(), LocalError> {
    conn.execute(
        "UPDATE do_triggers SET last_run_at = ?3, next_run_at = ?4 WHERE namespace = ?1 AND name = ?2",
        params![ns, name, last_run_at, next_run_at],
    )?;
    Ok(())
}
