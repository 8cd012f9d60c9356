//! When alarm feeds fire: dates as the provider takes them, cron expressions, the next
//! firing of a schedule, and what happens to a feed after it fired.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use croner::Cron;
use croner::parser::{CronParser, Year};
use serde_json::Value;

use crate::error::LocalError;
use crate::state::AppState;
use crate::store::{AlarmConfig, AlarmFeed, FeedReason, feeds, rules, triggers};

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
pub(super) fn future_date(
    v: &Value,
    name: &str,
    after: Option<i64>,
    now: i64,
) -> Result<i64, String> {
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
    use serde_json::json;

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
}
