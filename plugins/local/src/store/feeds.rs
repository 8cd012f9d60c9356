//! Alarm feeds of triggers (the `/whisk.system/alarms` provider's schedules): one row per
//! trigger, with its schedule, payload, status and the next time it fires.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{AlarmConfig, AlarmFeed, FeedReason, from_json, to_json};
use crate::LocalError;

const COLUMNS: &str = "namespace, trigger, feed, config, active, date_changed, reason,
     next_fire, fired, created";

fn from_row(r: &Row<'_>) -> Result<AlarmFeed, LocalError> {
    let fired: i64 = r.get(8)?;
    let reason: Option<String> = r.get(6)?;
    Ok(AlarmFeed {
        namespace: r.get(0)?,
        trigger: r.get(1)?,
        feed: r.get(2)?,
        config: from_json::<AlarmConfig>("feeds.config", &r.get::<_, String>(3)?)?,
        active: r.get(4)?,
        date_changed: r.get(5)?,
        reason: reason
            .map(|t| from_json::<FeedReason>("feeds.reason", &t))
            .transpose()?,
        next_fire: r.get(7)?,
        fired: u64::try_from(fired).unwrap_or(0),
        created: r.get(9)?,
    })
}

/// The feed of trigger `trigger` in `ns`.
pub fn get(conn: &Connection, ns: &str, trigger: &str) -> Result<Option<AlarmFeed>, LocalError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM feeds WHERE namespace = ?1 AND trigger = ?2"
    ))?;
    stmt.query_row(params![ns, trigger], |r| Ok(from_row(r)))
        .optional()?
        .transpose()
}

/// Inserts or replaces `feed`.
pub fn put(conn: &Connection, feed: &AlarmFeed) -> Result<(), LocalError> {
    conn.execute(
        "INSERT OR REPLACE INTO feeds (namespace, trigger, feed, config, active, date_changed,
             reason, next_fire, fired, created)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            feed.namespace,
            feed.trigger,
            feed.feed,
            to_json(&feed.config),
            feed.active,
            feed.date_changed,
            feed.reason.as_ref().map(to_json),
            feed.next_fire,
            i64::try_from(feed.fired).unwrap_or(i64::MAX),
            feed.created,
        ],
    )?;
    Ok(())
}

/// Deletes the feed of `trigger`; true if there was one.
pub fn delete(conn: &Connection, ns: &str, trigger: &str) -> Result<bool, LocalError> {
    Ok(conn.execute(
        "DELETE FROM feeds WHERE namespace = ?1 AND trigger = ?2",
        params![ns, trigger],
    )? > 0)
}

/// The active feeds due at `now` (epoch ms): `next_fire <= now`, oldest first.
pub fn due(conn: &Connection, now: i64) -> Result<Vec<AlarmFeed>, LocalError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM feeds WHERE active = 1 AND next_fire IS NOT NULL
             AND next_fire <= ?1 ORDER BY next_fire, namespace, trigger"
    ))?;
    let rows = stmt.query_map(params![now], |r| Ok(from_row(r)))?;
    rows.map(|r| r?).collect()
}
