//! Actions, with their code in a separate column so lists never load it.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Action, Exec, from_json, to_json};
use crate::LocalError;

const COLUMNS: &str =
    "namespace, package, name, version, publish, exec, parameters, annotations, limits, updated";

fn from_row(r: &Row<'_>, code: Option<String>) -> Result<Action, LocalError> {
    let ns: String = r.get(0)?;
    let pkg: String = r.get(1)?;
    let mut exec: Exec = from_json("actions.exec", &r.get::<_, String>(5)?)?;
    exec.code = code;
    Ok(Action {
        namespace: if pkg.is_empty() {
            ns
        } else {
            format!("{ns}/{pkg}")
        },
        name: r.get(2)?,
        version: r.get(3)?,
        publish: r.get(4)?,
        exec,
        parameters: from_json("actions.parameters", &r.get::<_, String>(6)?)?,
        annotations: from_json("actions.annotations", &r.get::<_, String>(7)?)?,
        limits: from_json("actions.limits", &r.get::<_, String>(8)?)?,
        updated: r.get(9)?,
    })
}

/// The action `pkg/name` (`pkg` empty for top level) of `ns`; its code only if `with_code`.
pub fn get(
    conn: &Connection,
    ns: &str,
    pkg: &str,
    name: &str,
    with_code: bool,
) -> Result<Option<Action>, LocalError> {
    let sql = format!(
        "SELECT {COLUMNS}, {} FROM actions WHERE namespace = ?1 AND package = ?2 AND name = ?3",
        if with_code { "code" } else { "NULL" }
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let row = stmt
        .query_row(params![ns, pkg, name], |r| {
            let code: Option<String> = r.get(10)?;
            Ok(from_row(r, code))
        })
        .optional()?;
    row.transpose()
}

/// Inserts or replaces `action` (its `namespace` is `ns` or `ns/pkg`).
pub fn put(conn: &Connection, action: &Action) -> Result<(), LocalError> {
    let (ns, pkg) = split_namespace(&action.namespace);
    let mut exec = action.exec.clone();
    let code = exec.code.take();
    conn.execute(
        "INSERT OR REPLACE INTO actions (namespace, package, name, version, publish, exec, code,
             parameters, annotations, limits, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            ns,
            pkg,
            action.name,
            action.version,
            action.publish,
            to_json(&exec),
            code,
            to_json(&action.parameters),
            to_json(&action.annotations),
            to_json(&action.limits),
            action.updated
        ],
    )?;
    Ok(())
}

/// Deletes the action; true if it existed.
pub fn delete(conn: &Connection, ns: &str, pkg: &str, name: &str) -> Result<bool, LocalError> {
    Ok(conn.execute(
        "DELETE FROM actions WHERE namespace = ?1 AND package = ?2 AND name = ?3",
        params![ns, pkg, name],
    )? > 0)
}

/// Actions of `ns` without code, newest first: all of them (`pkg` None) or those of one
/// package.
pub fn list(
    conn: &Connection,
    ns: &str,
    pkg: Option<&str>,
    skip: u64,
    limit: u64,
) -> Result<Vec<Action>, LocalError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM actions WHERE namespace = ?1 AND (?2 IS NULL OR package = ?2)
         ORDER BY updated DESC, package, name LIMIT ?3 OFFSET ?4"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![ns, pkg, clamp(limit), clamp(skip)], |r| {
        Ok(from_row(r, None))
    })?;
    rows.map(|r| r?).collect()
}

/// How many actions `ns` has (in `pkg` when given).
pub fn count(conn: &Connection, ns: &str, pkg: Option<&str>) -> Result<u64, LocalError> {
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM actions WHERE namespace = ?1 AND (?2 IS NULL OR package = ?2)",
        params![ns, pkg],
        |r| r.get(0),
    )?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Deletes every action of package `pkg`.
pub fn delete_package_contents(conn: &Connection, ns: &str, pkg: &str) -> Result<(), LocalError> {
    conn.execute(
        "DELETE FROM actions WHERE namespace = ?1 AND package = ?2",
        params![ns, pkg],
    )?;
    Ok(())
}

/// `ns/pkg` → (`ns`, `pkg`); `ns` → (`ns`, ``).
pub fn split_namespace(namespace: &str) -> (&str, &str) {
    namespace.split_once('/').unwrap_or((namespace, ""))
}

pub(crate) fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
