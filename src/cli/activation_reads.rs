//! Reading activations back from a [`Connection`], for `sluice invoke` and
//! `sluice activations`: one record (with a message that says why it may be missing), a page,
//! the newest, new ones as they arrive, and waiting until a background run is recorded.

use std::collections::HashSet;
use std::time::Duration;

use sluice_core::Activation;
use sluice_openwhisk::ActivationFilter;

use super::connection::Connection;
use super::render::CliError;

/// The full record of activation `id`.
pub fn fetch(conn: &Connection, id: &str) -> Result<Activation, CliError> {
    conn.runtime
        .block_on(conn.client.activation(id))
        .map_err(|e| {
            if e.status() == Some(404) {
                CliError::msg(format!("no activation with id '{id}'"))
                    .with_help("list recent ones with `sluice activations list`")
            } else {
                conn.error(e)
            }
        })
}

/// One page of activations, newest first.
pub fn list(conn: &Connection, filter: &ActivationFilter) -> Result<Vec<Activation>, CliError> {
    conn.runtime
        .block_on(conn.client.activations(filter))
        .map_err(|e| conn.error(e))
}

/// The id of the newest activation (of `function` when given).
pub fn newest(conn: &Connection, function: &Option<String>) -> Result<String, CliError> {
    let filter = ActivationFilter {
        name: function.clone(),
        limit: 1,
        ..ActivationFilter::default()
    };
    list(conn, &filter)?
        .into_iter()
        .map(|a| a.activation_id)
        .find(|id| !id.is_empty())
        .ok_or_else(|| CliError::msg("there are no activations yet"))
}

/// Polls for activations whose id is not in `seen`, oldest first, until interrupted or `each`
/// fails.
pub fn follow(
    conn: &Connection,
    function: &Option<String>,
    seen: &mut HashSet<String>,
    mut each: impl FnMut(&Activation) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let filter = ActivationFilter {
        name: function.clone(),
        limit: 50,
        ..ActivationFilter::default()
    };
    loop {
        std::thread::sleep(Duration::from_secs(1));
        for a in list(conn, &filter)?.iter().rev() {
            if !a.activation_id.is_empty() && seen.insert(a.activation_id.clone()) {
                each(a)?;
            }
        }
    }
}
