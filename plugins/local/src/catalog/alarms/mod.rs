//! `/whisk.system/alarms`: the feeds `alarm` (cron), `interval` (minutes) and `once` (date),
//! with the feed lifecycle OpenWhisk clients drive (`wsk trigger create --feed`, npm
//! `ow.feeds.create/get/update/delete`): an invoke whose parameters carry `lifecycleEvent`
//! (`CREATE`, `READ`, `UPDATE`, `DELETE`, `PAUSE`, `UNPAUSE`), `triggerName` and `authKey`,
//! plus the feed's own parameters.
//!
//! Schedules live in the store's `feeds` table with the time each fires next
//! ([`AlarmFeed::next_fire`]); [`crate::run::scheduler`] fires what is due and hands the
//! feed back to [`after_fire`]. Messages follow the alarms provider's.

mod config;
mod schedule;

use chrono::{SecondsFormat, TimeZone, Utc};
use serde_json::{Map, Value, json};

pub use schedule::{after_fire, due, first_fire, instant, parse_cron, record_fire};

use super::BuiltinOutcome;
use crate::error::LocalError;
use crate::names::is_valid_name;
use crate::state::AppState;
use crate::store::{AlarmFeed, FeedReason, feeds, namespaces, now_ms, triggers};

/// Which alarms feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedKind {
    /// `alarm`: a cron schedule.
    Cron,
    /// `interval`: every `minutes`.
    Interval,
    /// `once`: at `date`.
    Once,
}

impl FeedKind {
    pub(super) fn image_path(self) -> &'static str {
        match self {
            FeedKind::Cron => "alarms/alarm",
            FeedKind::Interval => "alarms/interval",
            FeedKind::Once => "alarms/once",
        }
    }

    /// `/whisk.system/alarms/<name>`.
    pub fn feed_name(self) -> String {
        format!("/{}/{}", super::SYSTEM_NAMESPACE, self.image_path())
    }

    pub(super) fn annotations(self) -> Value {
        let (description, parameters) = match self {
            FeedKind::Cron => (
                "Fire trigger when alarm occurs",
                json!([
                    {"name": "cron", "required": true, "description": "UNIX crontab syntax for firing trigger in Coordinated Universal Time (UTC)."},
                    {"name": "trigger_payload", "required": false},
                    {"name": "maxTriggers", "required": false},
                    {"name": "startDate", "required": false},
                    {"name": "stopDate", "required": false}
                ]),
            ),
            FeedKind::Interval => (
                "Fire trigger at specified interval",
                json!([
                    {"name": "minutes", "required": true, "type": "integer", "description": "The number of minutes between each firing."},
                    {"name": "trigger_payload", "required": false},
                    {"name": "startDate", "required": false},
                    {"name": "stopDate", "required": false}
                ]),
            ),
            FeedKind::Once => (
                "Fire trigger once when alarm occurs",
                json!([
                    {"name": "date", "required": true, "description": "The date the trigger is fired."},
                    {"name": "trigger_payload", "required": false},
                    {"name": "deleteAfterFire", "required": false, "description": "One of false, true (delete the trigger) or rules (the trigger and its rules)."}
                ]),
            ),
        };
        json!({"feed": true, "description": description, "parameters": parameters})
    }
}

/// Runs one lifecycle event of the feed `kind`.
pub(super) async fn lifecycle(
    state: &AppState,
    kind: FeedKind,
    mut args: Map<String, Value>,
) -> Result<BuiltinOutcome, LocalError> {
    let text = |args: &Map<String, Value>, k: &str| {
        args.get(k).and_then(Value::as_str).map(str::to_string)
    };
    let event = text(&args, "lifecycleEvent").unwrap_or_else(|| "CREATE".to_string());
    let Some(auth_key) = text(&args, "authKey") else {
        return Ok(BuiltinOutcome::error("no authKey parameter was provided"));
    };
    let Some(trigger_name) = text(&args, "triggerName") else {
        return Ok(BuiltinOutcome::error(
            "no trigger name parameter was provided",
        ));
    };
    args.remove("authKey");
    let store = state.store.clone();
    let now = now_ms();
    store
        .write(move |tx| {
            let Some(owner) = authenticate(tx, &auth_key)? else {
                return Ok(BuiltinOutcome::error(
                    "Trigger authentication request failed.",
                ));
            };
            let Some((ns, name)) = parse_trigger(&trigger_name, &owner) else {
                return Ok(BuiltinOutcome::error(format!(
                    "triggerName '{trigger_name}' is not a trigger name (/namespace/name)"
                )));
            };
            if ns != owner {
                return Ok(BuiltinOutcome::error(
                    "Trigger authentication request failed.",
                ));
            }
            let trigger_exists = triggers::get(tx, &ns, &name)?.is_some();
            let existing = feeds::get(tx, &ns, &name)?;
            let fqn = format!("/{ns}/{name}");
            let missing_feed = || {
                BuiltinOutcome::error(format!("could not find an alarm feed for trigger {fqn}"))
            };
            if !trigger_exists && event != "DELETE" {
                return Ok(BuiltinOutcome::error(format!(
                    "Trigger authentication request failed: trigger {fqn} does not exist."
                )));
            }
            match event.as_str() {
                "CREATE" => {
                    if existing.is_some() {
                        return Ok(BuiltinOutcome::error(format!(
                            "an alarm feed already exists for trigger {fqn}; delete it first"
                        )));
                    }
                    match config::create(kind, &args, &ns, &name, now) {
                        Ok(feed) => {
                            feeds::put(tx, &feed)?;
                            Ok(success())
                        }
                        Err(message) => Ok(BuiltinOutcome::error(message)),
                    }
                }
                "READ" => Ok(match existing {
                    Some(feed) => BuiltinOutcome::success(read(&feed)),
                    None => missing_feed(),
                }),
                "DELETE" => Ok(if feeds::delete(tx, &ns, &name)? {
                    success()
                } else {
                    missing_feed()
                }),
                "PAUSE" | "UNPAUSE" => {
                    let Some(mut feed) = existing else {
                        return Ok(missing_feed());
                    };
                    let active = event == "UNPAUSE";
                    if feed.active != active {
                        feed.active = active;
                        feed.date_changed = now;
                        feed.reason = (!active).then(|| FeedReason {
                            kind: "USER".into(),
                            status_code: None,
                            message: "paused through the feed's PAUSE lifecycle event".into(),
                        });
                        if active {
                            feed.next_fire = first_fire(&feed.config, now);
                        }
                        feeds::put(tx, &feed)?;
                    }
                    Ok(success())
                }
                "UPDATE" => {
                    let Some(feed) = existing else {
                        return Ok(missing_feed());
                    };
                    match config::update(feed, &args, now) {
                        Ok(feed) => {
                            feeds::put(tx, &feed)?;
                            Ok(success())
                        }
                        Err(message) => Ok(BuiltinOutcome::error(message)),
                    }
                }
                other => Ok(BuiltinOutcome::error(format!(
                    "unsupported lifecycleEvent '{other}': use CREATE, READ, UPDATE, DELETE, PAUSE or UNPAUSE"
                ))),
            }
        })
        .await
}

fn success() -> BuiltinOutcome {
    BuiltinOutcome::success(json!({"status": "success"}))
}

/// The namespace `uuid:key` belongs to.
fn authenticate(conn: &rusqlite::Connection, auth_key: &str) -> Result<Option<String>, LocalError> {
    match auth_key.split_once(':') {
        Some((uuid, key)) => namespaces::authenticate(conn, uuid, key),
        None => Ok(None),
    }
}

/// `/ns/name` (`_` is `owner`), `ns/name` or `name`.
fn parse_trigger(name: &str, owner: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = name.trim().trim_start_matches('/').split('/').collect();
    let (ns, name) = match (name.trim().starts_with('/'), parts.as_slice()) {
        (true, [ns, name]) | (false, [ns, name]) => (*ns, *name),
        (false, [name]) => (owner, *name),
        _ => return None,
    };
    let ns = if ns == "_" { owner } else { ns };
    (is_valid_name(ns) && is_valid_name(name)).then(|| (ns.to_string(), name.to_string()))
}

/// The `READ` answer: `config` and `status`, as the alarms provider shows them.
pub fn read(feed: &AlarmFeed) -> Value {
    let changed = Utc
        .timestamp_millis_opt(feed.date_changed)
        .single()
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true));
    let mut status = json!({
        "active": feed.active,
        "dateChanged": feed.date_changed,
        "dateChangedISO": changed,
    });
    if let Some(r) = &feed.reason {
        status["reason"] = json!(r);
    }
    json!({ "config": feed.config, "status": status })
}
