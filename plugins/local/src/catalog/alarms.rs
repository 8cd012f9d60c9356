//! `/whisk.system/alarms`: the feeds `alarm` (cron), `interval` (minutes) and `once` (date),
//! with the feed lifecycle OpenWhisk clients drive (`wsk trigger create --feed`, npm
//! `ow.feeds.create/get/update/delete`): an invoke whose parameters carry `lifecycleEvent`
//! (`CREATE`, `READ`, `UPDATE`, `DELETE`, `PAUSE`, `UNPAUSE`), `triggerName` and `authKey`,
//! plus the feed's own parameters.
//!
//! Schedules live in the store's `feeds` table with the time each fires next
//! ([`AlarmFeed::next_fire`]); [`crate::run::scheduler`] fires what is due and hands the
//! feed back to [`after_fire`]. Messages follow the alarms provider's.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use croner::Cron;
use croner::parser::{CronParser, Year};
use serde_json::{Map, Value, json};

use super::BuiltinOutcome;
use crate::error::LocalError;
use crate::names::is_valid_name;
use crate::state::AppState;
use crate::store::{
    AlarmConfig, AlarmFeed, FeedReason, feeds, namespaces, now_ms, rules, triggers,
};

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

const DELETE_AFTER_FIRE: &[&str] = &["false", "true", "rules"];
/// How long after `CREATE` an interval without `startDate` first fires (the provider's).
const INTERVAL_DELAY_MS: i64 = 30_000;

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
                    match create(kind, &args, &ns, &name, now) {
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
                    match update(feed, &args, now) {
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

fn payload_of(args: &Map<String, Value>) -> Option<Value> {
    match args.get("trigger_payload")? {
        Value::String(s) => Some(json!({ "payload": s })),
        v @ Value::Object(_) => Some(v.clone()),
        Value::Null => None,
        other => Some(json!({ "payload": other })),
    }
}

/// The feed a `CREATE` makes, or the provider's message for what is wrong.
fn create(
    kind: FeedKind,
    args: &Map<String, Value>,
    ns: &str,
    name: &str,
    now: i64,
) -> Result<AlarmFeed, String> {
    let mut config = AlarmConfig {
        name: name.to_string(),
        namespace: ns.to_string(),
        payload: payload_of(args).unwrap_or_else(|| json!({})),
        ..AlarmConfig::default()
    };
    match kind {
        FeedKind::Once => {
            let date = args
                .get("date")
                .ok_or("alarms once trigger feed is missing the date parameter")?;
            future_date(date, "date", None, now)?;
            config.date = Some(date.clone());
            config.delete_after_fire = delete_after_fire(args)?;
        }
        FeedKind::Interval => {
            config.minutes = Some(minutes(
                args.get("minutes")
                    .ok_or("interval trigger feed is missing the minutes parameter")?,
            )?);
            if args.contains_key("maxTriggers") {
                return Err("maxTriggers is not supported for the interval trigger feed".into());
            }
        }
        FeedKind::Cron => {
            let cron = args
                .get("cron")
                .and_then(Value::as_str)
                .ok_or("alarms trigger feed is missing the cron parameter")?;
            parse_cron(cron).ok_or_else(|| format!("cron pattern '{cron}' is not valid"))?;
            config.cron = Some(cron.to_string());
            if let Some(max) = args.get("maxTriggers") {
                if args.contains_key("stopDate") {
                    return Err(
                        "maxTriggers is not allowed when the stopDate parameter is specified"
                            .into(),
                    );
                }
                config.max_triggers = Some(
                    max.as_i64()
                        .or_else(|| max.as_str().and_then(|s| s.trim().parse().ok()))
                        .ok_or("the maxTriggers parameter must be an integer")?,
                );
            }
        }
    }
    if kind != FeedKind::Once {
        let start = match args.get("startDate") {
            Some(d) => Some(future_date(d, "startDate", None, now)?),
            None => None,
        };
        config.start_date = args.get("startDate").cloned();
        if kind == FeedKind::Interval && start.is_none() {
            config.start_date = Some(json!(now + INTERVAL_DELAY_MS));
        }
        if let Some(stop) = args.get("stopDate") {
            let begin = start.unwrap_or(now);
            future_date(stop, "stopDate", Some(begin), now)?;
            config.stop_date = Some(stop.clone());
        }
    }
    let next_fire = first_fire(&config, now);
    if config.stop_date.is_some() && next_fire.is_none() {
        return Err("the first scheduled trigger fire is not until after the stop date".into());
    }
    Ok(AlarmFeed {
        namespace: ns.to_string(),
        trigger: name.to_string(),
        feed: kind.feed_name(),
        config,
        active: true,
        date_changed: now,
        reason: None,
        next_fire,
        fired: 0,
        created: now,
    })
}

/// An `UPDATE`: the parameters the feed's kind allows, re-planned from now.
fn update(mut feed: AlarmFeed, args: &Map<String, Value>, now: i64) -> Result<AlarmFeed, String> {
    let mut changed = false;
    let config = &mut feed.config;
    if let Some(p) = payload_of(args) {
        config.payload = p;
        changed = true;
    }
    if config.date.is_some() {
        if let Some(d) = args.get("date") {
            future_date(d, "date", None, now)?;
            config.date = Some(d.clone());
            changed = true;
        }
        if args.contains_key("deleteAfterFire") {
            config.delete_after_fire = delete_after_fire(args)?;
            changed = true;
        }
    } else {
        if config.minutes.is_some() {
            if let Some(m) = args.get("minutes") {
                config.minutes = Some(minutes(m)?);
                changed = true;
            }
        } else if let Some(cron) = args.get("cron").and_then(Value::as_str) {
            parse_cron(cron).ok_or_else(|| format!("cron pattern '{cron}' is not valid"))?;
            config.cron = Some(cron.to_string());
            changed = true;
        }
        if let Some(d) = args.get("startDate") {
            future_date(d, "startDate", None, now)?;
            config.start_date = Some(d.clone());
            changed = true;
        }
        if let Some(d) = args.get("stopDate") {
            let begin = config.start_date.as_ref().and_then(instant);
            future_date(d, "stopDate", begin, now)?;
            config.stop_date = Some(d.clone());
            changed = true;
        }
    }
    if !changed {
        return Err("no updatable parameters were specified".into());
    }
    feed.next_fire = if feed.active {
        first_fire(&feed.config, now)
    } else {
        None
    };
    Ok(feed)
}

fn delete_after_fire(args: &Map<String, Value>) -> Result<Option<String>, String> {
    let Some(v) = args.get("deleteAfterFire") else {
        return Ok(None);
    };
    let text = match v {
        Value::String(s) => s.trim().to_ascii_lowercase(),
        other => other.to_string(),
    };
    if DELETE_AFTER_FIRE.contains(&text.as_str()) {
        Ok(Some(text))
    } else {
        Err("deleteAfterFire parameter must be one of [false, true, rules].".into())
    }
}

fn minutes(v: &Value) -> Result<u64, String> {
    let n = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|f| f.fract() == 0.0)
    .ok_or("the minutes parameter must be an integer")?;
    if n <= 0.0 {
        return Err("the minutes parameter must be an integer greater than zero".into());
    }
    // An integral, positive f64 from JSON: the cast is exact up to 2^53 minutes.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(n as u64)
}

/// A cron expression as the alarms provider takes it: 5 fields, or 6 with seconds first.
pub fn parse_cron(expr: &str) -> Option<Cron> {
    CronParser::builder()
        .year(Year::Disallowed)
        .build()
        .parse(expr.trim())
        .ok()
}

/// Epoch ms of a date given as epoch ms or as text (RFC 3339, or a UTC date and time).
pub fn instant(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(ms) = s.parse::<i64>() {
                return Some(ms);
            }
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                return Some(t.timestamp_millis());
            }
            for f in [
                "%Y-%m-%dT%H:%M:%S%.f",
                "%Y-%m-%d %H:%M:%S%.f",
                "%Y-%m-%dT%H:%M",
            ] {
                if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
                    return Some(t.and_utc().timestamp_millis());
                }
            }
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc().timestamp_millis())
        }
        _ => None,
    }
}

/// The epoch ms of `v`, checked the way the provider checks dates.
fn future_date(v: &Value, name: &str, after: Option<i64>, now: i64) -> Result<i64, String> {
    let shown = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let t = instant(v).ok_or_else(|| format!("{name} parameter '{shown}' is not a valid Date"))?;
    if t <= now {
        return Err(format!("{name} parameter '{shown}' must be in the future"));
    }
    if let Some(start) = after
        && t <= start
    {
        return Err(format!(
            "{name} parameter '{shown}' must be greater than the startDate parameter"
        ));
    }
    Ok(t)
}

fn utc(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

/// The first firing at or after `now` (epoch ms), within `startDate`/`stopDate`.
pub fn first_fire(config: &AlarmConfig, now: i64) -> Option<i64> {
    let start = config.start_date.as_ref().and_then(instant);
    let planned = if let Some(date) = &config.date {
        instant(date)
    } else if let Some(m) = config.minutes {
        let step = i64::try_from(m).ok()?.checked_mul(60_000)?;
        let first = start.unwrap_or(now);
        if first >= now {
            Some(first)
        } else {
            // Missed firings are skipped: the next one on the interval's grid.
            let missed = (now - first + step - 1) / step;
            first.checked_add(missed.checked_mul(step)?)
        }
    } else {
        let cron = parse_cron(config.cron.as_deref()?)?;
        let from = utc(start.map_or(now, |s| s.max(now)) - 1)?;
        cron.find_next_occurrence(&from, false)
            .ok()
            .map(|t| t.timestamp_millis())
    };
    let stop = config.stop_date.as_ref().and_then(instant);
    planned.filter(|p| stop.is_none_or(|s| *p <= s))
}

/// What the scheduler does after firing `feed`'s trigger at `now` (it was due at
/// `feed.next_fire`): plan the next firing, or stop the feed (and, for `once` with
/// `deleteAfterFire`, delete the trigger and maybe its rules). `trigger_missing` is true
/// when the trigger no longer exists; the feed is then stopped as the provider does.
pub fn after_fire(
    tx: &rusqlite::Transaction<'_>,
    mut feed: AlarmFeed,
    now: i64,
    trigger_missing: bool,
) -> Result<(), LocalError> {
    let stop = |feed: &mut AlarmFeed, code: Option<u16>, message: &str| {
        feed.active = false;
        feed.next_fire = None;
        feed.date_changed = now;
        feed.reason = Some(FeedReason {
            kind: "AUTO".into(),
            status_code: code,
            message: message.to_string(),
        });
    };
    if trigger_missing {
        stop(
            &mut feed,
            Some(404),
            "Automatically disabled: the trigger does not exist.",
        );
        return feeds::put(tx, &feed);
    }
    feed.fired += 1;
    if feed.config.date.is_some() {
        match feed.config.delete_after_fire.as_deref() {
            Some("true") | Some("rules") => {
                if feed.config.delete_after_fire.as_deref() == Some("rules")
                    && let Some(t) = triggers::get(tx, &feed.namespace, &feed.trigger)?
                {
                    for rule in t.rules.keys() {
                        let name = rule.rsplit('/').next().unwrap_or(rule);
                        rules::delete(tx, &feed.namespace, name)?;
                    }
                }
                triggers::delete(tx, &feed.namespace, &feed.trigger)?;
                feeds::delete(tx, &feed.namespace, &feed.trigger)?;
                return Ok(());
            }
            _ => stop(&mut feed, None, "Automatically disabled after firing once."),
        }
        return feeds::put(tx, &feed);
    }
    let limit = feed.config.max_triggers.filter(|m| *m >= 0);
    if limit.is_some_and(|m| i64::try_from(feed.fired).unwrap_or(i64::MAX) >= m) {
        stop(
            &mut feed,
            None,
            "Automatically disabled after reaching max triggers.",
        );
        return feeds::put(tx, &feed);
    }
    let after = feed.next_fire.map_or(now, |p| p.max(now)) + 1;
    match first_fire(&feed.config, after) {
        Some(next) => feed.next_fire = Some(next),
        None => stop(
            &mut feed,
            None,
            "Automatically disabled after reaching the stopDate.",
        ),
    }
    feeds::put(tx, &feed)
}

/// The feeds due at `now` (epoch ms).
pub async fn due(state: &AppState, now: i64) -> Result<Vec<AlarmFeed>, LocalError> {
    state.store.call(move |c| feeds::due(c, now)).await
}

/// Hands a fired feed to [`after_fire`] in its own write.
pub async fn record_fire(
    state: &AppState,
    feed: AlarmFeed,
    now: i64,
    trigger_missing: bool,
) -> Result<(), LocalError> {
    state
        .store
        .write(move |tx| after_fire(tx, feed, now, trigger_missing))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        instant(&json!(s)).expect("date")
    }

    #[test]
    fn dates_are_rfc3339_utc_text_or_epoch_ms() {
        assert_eq!(at("2030-01-01T00:00:00Z"), at("2030-01-01T00:00:00"));
        assert_eq!(at("2030-01-01"), at("2030-01-01T00:00:00.000Z"));
        assert_eq!(instant(&json!(1_000)), Some(1_000));
        assert_eq!(instant(&json!("soon")), None);
    }

    #[test]
    fn cron_takes_five_fields_or_six_with_seconds() {
        assert!(parse_cron("*/5 * * * *").is_some());
        assert!(parse_cron("30 */5 * * * *").is_some());
        assert!(parse_cron("every minute").is_none());
    }

    #[test]
    fn schedules_plan_their_next_firing() {
        let now = at("2030-01-01T10:00:30Z");
        let cron = AlarmConfig {
            cron: Some("* * * * *".into()),
            ..AlarmConfig::default()
        };
        assert_eq!(first_fire(&cron, now), Some(at("2030-01-01T10:01:00Z")));
        let interval = AlarmConfig {
            minutes: Some(10),
            start_date: Some(json!("2030-01-01T09:55:00Z")),
            ..AlarmConfig::default()
        };
        assert_eq!(first_fire(&interval, now), Some(at("2030-01-01T10:05:00Z")));
        let stopped = AlarmConfig {
            stop_date: Some(json!("2030-01-01T10:00:45Z")),
            ..cron
        };
        assert_eq!(first_fire(&stopped, now), None);
        let once = AlarmConfig {
            date: Some(json!("2030-02-01T00:00:00Z")),
            ..AlarmConfig::default()
        };
        assert_eq!(first_fire(&once, now), Some(at("2030-02-01T00:00:00Z")));
    }

    #[test]
    fn creates_check_their_parameters() {
        let now = at("2030-01-01T00:00:00Z");
        let args = |v: Value| v.as_object().cloned().unwrap_or_default();
        let e = create(FeedKind::Cron, &args(json!({})), "local", "t", now).expect_err("no cron");
        assert_eq!(e, "alarms trigger feed is missing the cron parameter");
        let e = create(
            FeedKind::Interval,
            &args(json!({"minutes": 0})),
            "local",
            "t",
            now,
        )
        .expect_err("zero");
        assert_eq!(
            e,
            "the minutes parameter must be an integer greater than zero"
        );
        let e = create(
            FeedKind::Once,
            &args(json!({"date": "2020-01-01"})),
            "local",
            "t",
            now,
        )
        .expect_err("past");
        assert_eq!(e, "date parameter '2020-01-01' must be in the future");
        let f = create(
            FeedKind::Interval,
            &args(json!({"minutes": 2, "trigger_payload": "hi"})),
            "local",
            "t",
            now,
        )
        .expect("valid");
        assert_eq!(f.config.payload, json!({"payload": "hi"}));
        assert_eq!(f.next_fire, Some(now + INTERVAL_DELAY_MS));
    }
}
