//! Scheduled triggers (openwhisk-api.md §13.3, local emulation): while the server runs, every
//! enabled DigitalOcean-style trigger fires on its 5-field cron schedule (UTC), invoking its
//! function non-blocking with the trigger's `body` as parameters. Each firing is an ordinary
//! activation of the function, and the trigger's `scheduled_runs` are updated.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use croner::Cron;
use serde_json::{Value, json};

use crate::activations::RunContext;
use crate::api::AppState;
use crate::invoke::{resolve, split_action_path};
use crate::store::DoTrigger;

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

/// One look at the trigger table at `now`: fires what is due. Returns the activation ids of
/// the firings (for tests and logs).
pub async fn tick(state: &AppState, schedule: &mut Schedule, now: DateTime<Utc>) -> Vec<String> {
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
    drop(crate::invoke::spawn(state, resolved, body, ctx));
    Some(id)
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
