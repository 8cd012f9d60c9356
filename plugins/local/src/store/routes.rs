//! API gateway routes (`/whisk.system/apimgmt`): one row per namespace, base path, relative
//! path and HTTP verb, naming the web action it calls and the response type.

use rusqlite::{Connection, Row, params};

use super::{ApiRoute, RouteAction};
use crate::LocalError;

const COLUMNS: &str = "namespace, base_path, rel_path, operation, api_name, action_namespace,
     action_package, action_name, response_type, updated";

fn from_row(r: &Row<'_>) -> Result<ApiRoute, LocalError> {
    let package: String = r.get(6)?;
    Ok(ApiRoute {
        namespace: r.get(0)?,
        base_path: r.get(1)?,
        rel_path: r.get(2)?,
        operation: r.get(3)?,
        api_name: r.get(4)?,
        action: RouteAction {
            namespace: r.get(5)?,
            package: (!package.is_empty()).then_some(package),
            name: r.get(7)?,
        },
        response_type: r.get(8)?,
        updated: r.get(9)?,
    })
}

/// Inserts or replaces `route` (same namespace, base path, relative path and verb).
pub fn put(conn: &Connection, route: &ApiRoute) -> Result<(), LocalError> {
    conn.execute(
        "INSERT OR REPLACE INTO api_routes (namespace, base_path, rel_path, operation, api_name,
             action_namespace, action_package, action_name, response_type, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            route.namespace,
            route.base_path,
            route.rel_path,
            route.operation,
            route.api_name,
            route.action.namespace,
            route.action.package.clone().unwrap_or_default(),
            route.action.name,
            route.response_type,
            route.updated,
        ],
    )?;
    Ok(())
}

/// Every route of `ns`, by base path, relative path and verb.
pub fn list(conn: &Connection, ns: &str) -> Result<Vec<ApiRoute>, LocalError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM api_routes WHERE namespace = ?1
             ORDER BY base_path, rel_path, operation"
    ))?;
    let rows = stmt.query_map(params![ns], |r| Ok(from_row(r)))?;
    rows.map(|r| r?).collect()
}

/// Deletes the routes of `ns` under `base_path`, narrowed to `rel_path` and then to
/// `operation` when given. Returns how many went.
pub fn delete(
    conn: &Connection,
    ns: &str,
    base_path: &str,
    rel_path: Option<&str>,
    operation: Option<&str>,
) -> Result<usize, LocalError> {
    Ok(conn.execute(
        "DELETE FROM api_routes WHERE namespace = ?1 AND base_path = ?2
             AND (?3 IS NULL OR rel_path = ?3) AND (?4 IS NULL OR operation = ?4)",
        params![ns, base_path, rel_path, operation],
    )?)
}
