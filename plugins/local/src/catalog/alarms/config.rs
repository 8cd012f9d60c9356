//! The parameters of the alarms feeds: what a `CREATE` makes of them and what an `UPDATE`
//! may change, with the alarms provider's messages for what is wrong.

use serde_json::{Map, Value, json};

use super::FeedKind;
use super::schedule::{first_fire, future_date, instant, parse_cron};
use crate::store::{AlarmConfig, AlarmFeed};

const DELETE_AFTER_FIRE: &[&str] = &["false", "true", "rules"];
/// How long after `CREATE` an interval without `startDate` first fires (the provider's).
const INTERVAL_DELAY_MS: i64 = 30_000;

fn payload_of(args: &Map<String, Value>) -> Option<Value> {
    match args.get("trigger_payload")? {
        Value::String(s) => Some(json!({ "payload": s })),
        v @ Value::Object(_) => Some(v.clone()),
        Value::Null => None,
        other => Some(json!({ "payload": other })),
    }
}

/// The feed a `CREATE` makes, or the provider's message for what is wrong.
pub(super) fn create(
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
pub(super) fn update(
    mut feed: AlarmFeed,
    args: &Map<String, Value>,
    now: i64,
) -> Result<AlarmFeed, String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> i64 {
        instant(&json!(s)).expect("date")
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
