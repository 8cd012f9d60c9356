//! Scheduled triggers (openwhisk-api.md §13.3, local emulation): while the server runs, every
//! enabled DigitalOcean-style trigger fires on its 5-field cron schedule (UTC), invoking its
//! function non-blocking with the trigger's `body` as parameters. Each firing is an ordinary
//! activation of the function, and the trigger's `scheduled_runs` are updated.
//!
//! OpenWhisk triggers fire here too ([`fire_handler`], openwhisk-api.md §5): each active rule
//! invokes its action in the background, and the firing is a trigger activation whose logs
//! name the rule activations. The same loop fires triggers fed by the catalog's alarms
//! ([`crate::catalog::alarms`]) when their schedule is due.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use croner::Cron;
use serde_json::{Value, json};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::auth::Subject;
use crate::catalog::alarms;
use crate::error::LocalError;
use crate::http_error::{ApiError, NOT_FOUND};
use crate::request::read_json;
use crate::run::invoke::{self, accepted};
use crate::run::record::{RunContext, now, response};
use crate::run::resolve::{resolve, split_action_path};
use crate::runner::ActivationStatus;
use crate::state::AppState;
use crate::store::{Activation, DoTrigger, KeyValue};

/// How often the trigger table is looked at.
const TICK: Duration = Duration::from_secs(1);

/// The next planned firing of each trigger, keyed by namespace, name, cron and update time so
/// that an edited trigger is planned afresh.
#[derive(Debug, Default)]
pub struct Schedule {
    next: HashMap<String, DateTime<Utc>>,
}

fn key(t: &DoTrigger) -> String {
    format!(
        "{}\n{}\n{}\n{}",
        t.namespace, t.name, t.scheduled_details.cron, t.updated_at
    )
}

/// The first time after `after` that `cron` matches (UTC), if the expression is valid.
pub fn next_after(cron: &str, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    Cron::from_str(cron.trim())
        .ok()?
        .find_next_occurrence(&after, false)
        .ok()
}

impl Schedule {
    /// The triggers due at `now`: each enabled trigger is planned on first sight, and is due
    /// once `now` reaches its planned time (then planned again after `now`).
    pub fn due(
        &mut self,
        triggers: &[DoTrigger],
        now: DateTime<Utc>,
    ) -> Vec<(DoTrigger, Option<DateTime<Utc>>)> {
        let mut out = Vec::new();
        let live: Vec<String> = triggers.iter().map(key).collect();
        self.next.retain(|k, _| live.contains(k));
        for t in triggers.iter().filter(|t| t.is_enabled) {
            let k = key(t);
            let Some(planned) = self.next.get(&k).copied().or_else(|| {
                next_after(
                    &t.scheduled_details.cron,
                    now - chrono::Duration::seconds(1),
                )
            }) else {
                continue;
            };
            if now >= planned {
                let following = next_after(&t.scheduled_details.cron, now);
                match following {
                    Some(n) => {
                        self.next.insert(k, n);
                    }
                    None => {
                        self.next.remove(&k);
                    }
                }
                out.push((t.clone(), following));
            } else {
                self.next.insert(k, planned);
            }
        }
        out
    }
}

/// Starts the scheduler loop on the current runtime.
pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        let mut schedule = Schedule::default();
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            ticker.tick().await;
            tick(&state, &mut schedule, Utc::now()).await;
        }
    });
}

/// One look at the trigger and feed tables at `now`: fires what is due (DigitalOcean
/// scheduled triggers, then alarm feeds). Returns the activation ids of the firings (for
/// tests and logs): function activations for scheduled triggers, trigger activations for
/// alarms.
pub async fn tick(state: &AppState, schedule: &mut Schedule, now: DateTime<Utc>) -> Vec<String> {
    let mut fired = fire_scheduled(state, schedule, now).await;
    fired.extend(fire_alarms(state, now).await);
    fired
}

async fn fire_scheduled(
    state: &AppState,
    schedule: &mut Schedule,
    now: DateTime<Utc>,
) -> Vec<String> {
    let triggers = match state.store.list_all_do_triggers().await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "listing scheduled triggers failed");
            return Vec::new();
        }
    };
    let mut fired = Vec::new();
    for (trigger, following) in schedule.due(&triggers, now) {
        if let Some(id) = fire(state, &trigger).await {
            fired.push(id);
        }
        let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        if let Err(e) = state
            .store
            .mark_do_trigger_run(
                &trigger.namespace,
                &trigger.name,
                stamp(now),
                following.map(stamp),
            )
            .await
        {
            tracing::warn!(error = %e, trigger = %trigger.name, "recording a scheduled run failed");
        }
    }
    fired
}

/// Invokes the trigger's function non-blocking; returns the activation id.
async fn fire(state: &AppState, trigger: &DoTrigger) -> Option<String> {
    let (package, name) = split_action_path(trigger.function.trim_matches('/'))?;
    let resolved = match resolve(state, &trigger.namespace, package, name).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            tracing::warn!(trigger = %trigger.name, function = %trigger.function, "scheduled trigger names a missing function");
            return None;
        }
        Err(e) => {
            tracing::warn!(error = %e, "resolving a scheduled trigger's function failed");
            return None;
        }
    };
    let body = match &trigger.scheduled_details.body {
        Some(v @ Value::Object(_)) => v.clone(),
        _ => json!({}),
    };
    let ctx = RunContext::new(&trigger.namespace);
    let id = ctx.activation_id.clone();
    drop(invoke::spawn(state, resolved, body, ctx));
    Some(id)
}

/// `POST /api/v1/namespaces/{ns}/triggers/{name}`: fires an OpenWhisk trigger. No active
/// rule → 204; otherwise every active rule's action runs in the background with the trigger's
/// parameters under the payload, and the answer is `202 {"activationId"}` of the trigger
/// activation.
pub async fn fire_handler(
    State(state): State<AppState>,
    subject: Subject,
    Path((ns, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let namespace = subject.namespace_for(&ns, &format!("/triggers/{name}"))?;
    let payload: Value = read_json(&headers, &body)?;
    match fire_trigger(&state, &namespace, &name, &payload).await? {
        Fired::Missing => Err(ApiError::not_found()),
        Fired::NoActiveRule => Ok(StatusCode::NO_CONTENT.into_response()),
        Fired::Activation(id) => Ok(accepted(&id)),
    }
}

/// What firing a trigger did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fired {
    /// The trigger does not exist.
    Missing,
    /// It has no active rule: nothing ran, nothing was recorded.
    NoActiveRule,
    /// The trigger activation's id.
    Activation(String),
}

/// Fires the trigger `name` of `namespace` with `payload` over its parameters: each active
/// rule's action starts in the background, and the firing is stored as a trigger activation
/// whose logs name the rule activations.
pub async fn fire_trigger(
    state: &AppState,
    namespace: &str,
    name: &str,
    payload: &Value,
) -> Result<Fired, LocalError> {
    let Some(trigger) = state.store.get_trigger(namespace, name).await? else {
        return Ok(Fired::Missing);
    };
    let active: Vec<_> = trigger
        .rules
        .iter()
        .filter(|(_, link)| link.status == "active")
        .collect();
    if active.is_empty() {
        return Ok(Fired::NoActiveRule);
    }
    let mut args = serde_json::Map::new();
    for kv in &trigger.parameters {
        args.insert(kv.key.clone(), kv.value.clone());
    }
    if let Value::Object(fields) = payload {
        args.extend(fields.clone());
    }
    let args = Value::Object(args);
    let ctx = RunContext::new(namespace);
    let mut logs = Vec::new();
    for (rule, link) in active {
        let action_path = format!("{}/{}", link.action.path, link.action.name);
        let (action_ns, package) = match link.action.path.split_once('/') {
            Some((n, p)) => (n, Some(p)),
            None => (link.action.path.as_str(), None),
        };
        let line = match resolve(state, action_ns, package, &link.action.name).await? {
            Some(resolved) => {
                let run = RunContext::new(namespace);
                let id = run.activation_id.clone();
                drop(invoke::spawn(state, resolved, args.clone(), run));
                json!({"statusCode": 0, "success": true, "activationId": id,
                       "rule": rule, "action": action_path})
            }
            None => json!({"statusCode": 1, "success": false,
                           "error": NOT_FOUND, "rule": rule, "action": action_path}),
        };
        logs.push(line.to_string());
    }
    let activation = Activation {
        namespace: namespace.to_string(),
        name: trigger.name.clone(),
        version: trigger.version.clone(),
        subject: namespace.to_string(),
        publish: false,
        activation_id: ctx.activation_id.clone(),
        start: now(),
        end: None,
        duration: None,
        cause: None,
        response: response(ActivationStatus::Success, args, None),
        logs,
        annotations: vec![KeyValue::new(
            "path",
            Value::from(format!("{namespace}/{}", trigger.name)),
        )],
    };
    state.store.put_activation(activation).await?;
    Ok(Fired::Activation(ctx.activation_id))
}

/// Fires every alarm feed ([`crate::catalog::alarms`]) due at `now`: its trigger fires with
/// the feed's payload, and the feed plans its next firing (or stops). Returns the trigger
/// activation ids.
async fn fire_alarms(state: &AppState, now: DateTime<Utc>) -> Vec<String> {
    let now_ms = now.timestamp_millis();
    let due = match alarms::due(state, now_ms).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "listing alarm feeds failed");
            return Vec::new();
        }
    };
    let mut fired = Vec::new();
    for feed in due {
        let result =
            fire_trigger(state, &feed.namespace, &feed.trigger, &feed.config.payload).await;
        let missing = match &result {
            Ok(Fired::Activation(id)) => {
                fired.push(id.clone());
                false
            }
            Ok(Fired::NoActiveRule) => false,
            Ok(Fired::Missing) => true,
            Err(e) => {
                tracing::warn!(error = %e, trigger = %feed.trigger, "firing an alarm failed");
                false
            }
        };
        let name = feed.trigger.clone();
        if let Err(e) = alarms::record_fire(state, feed, now_ms, missing).await {
            tracing::warn!(error = %e, trigger = %name, "recording an alarm firing failed");
        }
    }
    fired
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ScheduledDetails, ScheduledRuns};
    use chrono::TimeZone;

    fn trigger(cron: &str, enabled: bool) -> DoTrigger {
        DoTrigger {
            namespace: "local".into(),
            function: "demo/hello".into(),
            trigger_type: "SCHEDULED".into(),
            name: "every-minute".into(),
            is_enabled: enabled,
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:00:00Z".into(),
            scheduled_details: ScheduledDetails {
                cron: cron.into(),
                body: None,
            },
            scheduled_runs: ScheduledRuns::default(),
        }
    }

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, h, m, s)
            .single()
            .expect("valid time")
    }

    #[test]
    fn triggers_fire_once_per_matching_minute() {
        let mut s = Schedule::default();
        let ts = vec![trigger("* * * * *", true)];
        assert!(s.due(&ts, at(10, 0, 30)).is_empty(), "planned for 10:01");
        let due = s.due(&ts, at(10, 1, 0));
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].1, Some(at(10, 2, 0)));
        assert!(s.due(&ts, at(10, 1, 1)).is_empty(), "not twice in a minute");
        assert_eq!(s.due(&ts, at(10, 2, 0)).len(), 1);
    }

    #[test]
    fn disabled_and_invalid_triggers_never_fire() {
        let mut s = Schedule::default();
        let ts = vec![trigger("* * * * *", false), trigger("not a cron", true)];
        assert!(s.due(&ts, at(10, 0, 0)).is_empty());
        assert!(s.due(&ts, at(10, 5, 0)).is_empty());
    }

    #[test]
    fn five_field_schedules_follow_cron() {
        assert_eq!(next_after("30 * * * *", at(10, 0, 0)), Some(at(10, 30, 0)));
        assert_eq!(next_after("0 12 * * *", at(10, 0, 0)), Some(at(12, 0, 0)));
    }
}
