//! Trigger clauses (spec §3.2 "Trigger"): the legacy rewrite, validation with the original's
//! messages, and five-field crontab validation with the rules of the `cron-validator` npm
//! package's defaults (no seconds, no names, no `?`, weekdays 0–6). Written here rather than
//! taken from `croner` because croner accepts names, aliases and a 7 for Sunday, which the
//! original rejects.

use serde_json::{Map, Value};

/// Rewrites legacy triggers in place, then validates the clause.
pub fn validate_triggers(clause: &mut Value) -> Result<(), String> {
    let Some(triggers) = clause.as_array_mut() else {
        return Err("a 'triggers' clause must be an array".into());
    };
    for trigger in triggers {
        let Some(trigger) = trigger.as_object_mut() else {
            return Err("an individual trigger must be a dictionary".into());
        };
        rewrite_legacy(trigger);
        validate_trigger(trigger)?;
    }
    Ok(())
}

/// `sourceType: scheduler` + `sourceDetails: {cron, withBody}` → `type: SCHEDULED` +
/// `scheduledDetails: {cron, body}`.
fn rewrite_legacy(trigger: &mut Map<String, Value>) {
    if !trigger.contains_key("sourceType") && !trigger.contains_key("sourceDetails") {
        return;
    }
    let details = trigger.remove("sourceDetails").unwrap_or(Value::Null);
    let mut scheduled = Map::new();
    if let Some(cron) = details.get("cron") {
        scheduled.insert("cron".into(), cron.clone());
    }
    if let Some(body) = details.get("withBody") {
        scheduled.insert("body".into(), body.clone());
    }
    trigger.insert("scheduledDetails".into(), Value::Object(scheduled));
    if let Some(source) = trigger.remove("sourceType") {
        let kind = if source.as_str() == Some("scheduler") {
            Value::String("SCHEDULED".into())
        } else {
            source
        };
        trigger.insert("type".into(), kind);
    }
}

fn validate_trigger(trigger: &Map<String, Value>) -> Result<(), String> {
    for key in trigger.keys() {
        if !matches!(
            key.as_str(),
            "name" | "enabled" | "type" | "scheduledDetails"
        ) {
            return Err(format!(
                "Invalid key '{key}' found in 'triggers' clause in project.yml"
            ));
        }
    }
    let Some(name) = trigger.get("name").and_then(Value::as_str) else {
        return Err("the 'name' field of a trigger is required".into());
    };
    if let Some(problem) =
        crate::entity_names::config_name_problem(crate::entity_names::NameOf::Trigger, name)
    {
        return Err(problem);
    }
    let is_scheduled = trigger
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.to_uppercase() == "SCHEDULED");
    if !is_scheduled {
        return Err("the trigger 'type' field must be 'SCHEDULED'".into());
    }
    let Some(details) = trigger.get("scheduledDetails").and_then(Value::as_object) else {
        return Err(
            "the 'scheduledDetails' property of a trigger is required for type=\"SCHEDULED\""
                .into(),
        );
    };
    for key in details.keys() {
        if key != "cron" && key != "body" {
            return Err(format!(
                "Invalid key '{key}' found in scheduledDetails in project.yml"
            ));
        }
    }
    let Some(cron) = details.get("cron").and_then(Value::as_str) else {
        return Err("the 'cron' member of 'scheduledDetails' must be a string".into());
    };
    if !is_valid_cron(cron) {
        return Err(format!(
            "the cron expression '{cron}' is not valid crontab syntax"
        ));
    }
    if details.get("body").is_some_and(|b| !b.is_object()) {
        return Err("the 'body' member of scheduledDetails must be a dictionary".into());
    }
    let enabled = trigger.get("enabled");
    if enabled.is_some_and(|e| !crate::validate::is_falsy(e) && !e.is_boolean()) {
        return Err("the 'enabled' property of a trigger must be boolean'".into());
    }
    Ok(())
}

/// Five whitespace-separated fields: minute, hour, day of month, month, day of week.
pub fn is_valid_cron(expression: &str) -> bool {
    const RANGES: [(u32, u32); 5] = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)];
    let fields: Vec<&str> = expression.split_whitespace().collect();
    fields.len() == 5
        && fields
            .iter()
            .zip(RANGES)
            .all(|(field, (min, max))| is_valid_field(field, min, max))
}

fn number(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn is_valid_field(field: &str, min: u32, max: u32) -> bool {
    if field
        .chars()
        .any(|c| !(c.is_ascii_digit() || matches!(c, '-' | ',' | '/' | '*')))
    {
        return false;
    }
    field.split(',').all(|part| {
        if part.ends_with('/') {
            return false;
        }
        let mut pieces = part.split('/');
        let range = pieces.next().unwrap_or_default();
        let step = pieces.next();
        if pieces.next().is_some() {
            return false;
        }
        let step_ok = step.is_none_or(|s| number(s).is_some_and(|n| n > 0));
        step_ok && is_valid_range(range, min, max)
    })
}

fn is_valid_range(range: &str, min: u32, max: u32) -> bool {
    let in_range = |n: Option<u32>| n.is_some_and(|n| (min..=max).contains(&n));
    let sides: Vec<&str> = range.split('-').collect();
    match sides.as_slice() {
        [one] => *one == "*" || in_range(number(one)),
        [low, high] => {
            let (low, high) = (number(low), number(high));
            in_range(low) && in_range(high) && low <= high
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(mut v: Value) -> Result<(), String> {
        validate_triggers(&mut v)
    }

    fn scheduled(cron: &str) -> Value {
        json!([{"name": "t", "type": "SCHEDULED", "scheduledDetails": {"cron": cron}}])
    }

    // The unit-test list of spec §15.
    #[test]
    fn original_unit_cases() {
        assert_eq!(
            check(json!({})),
            Err("a 'triggers' clause must be an array".into())
        );
        assert_eq!(check(json!([])), Ok(()));
        assert_eq!(
            check(
                json!([{"name": "t", "type": "no-valid", "scheduledDetails": {"cron": "* * * * *"}}])
            ),
            Err("the trigger 'type' field must be 'SCHEDULED'".into())
        );
        assert_eq!(
            check(
                json!([{"name": "t", "type": "scheduled", "scheduledDetails": {"cron": "* * * * * "}}])
            ),
            Ok(())
        );
        assert_eq!(
            check(
                json!([{"name": "t", "invalid": 1, "type": "SCHEDULED", "scheduledDetails": {"cron": "* * * * *"}}])
            ),
            Err("Invalid key 'invalid' found in 'triggers' clause in project.yml".into())
        );
        assert_eq!(
            check(scheduled("foo")),
            Err("the cron expression 'foo' is not valid crontab syntax".into())
        );
        assert_eq!(
            check(
                json!([{"name": "t", "type": "SCHEDULED", "scheduledDetails": {"cron": "* * * * *", "body": "x"}}])
            ),
            Err("the 'body' member of scheduledDetails must be a dictionary".into())
        );
        assert_eq!(
            check(
                json!([{"name": "t", "type": "SCHEDULED", "scheduledDetails": {"cron": "* * * * *", "body": {"name": "tester"}}}])
            ),
            Ok(())
        );
    }

    #[test]
    fn other_trigger_errors_in_order() {
        assert_eq!(
            check(json!(["x"])),
            Err("an individual trigger must be a dictionary".into())
        );
        assert_eq!(
            check(json!([{"type": "SCHEDULED"}])),
            Err("the 'name' field of a trigger is required".into())
        );
        assert_eq!(
            check(json!([{"name": "t", "type": "SCHEDULED"}])),
            Err(
                "the 'scheduledDetails' property of a trigger is required for type=\"SCHEDULED\""
                    .into()
            )
        );
        assert_eq!(
            check(
                json!([{"name": "t", "type": "SCHEDULED", "scheduledDetails": {"cron": "* * * * *", "x": 1}}])
            ),
            Err("Invalid key 'x' found in scheduledDetails in project.yml".into())
        );
        assert_eq!(
            check(json!([{"name": "t", "type": "SCHEDULED", "scheduledDetails": {"cron": 5}}])),
            Err("the 'cron' member of 'scheduledDetails' must be a string".into())
        );
        assert_eq!(
            check(
                json!([{"name": "t", "enabled": "yes", "type": "SCHEDULED", "scheduledDetails": {"cron": "* * * * *"}}])
            ),
            Err("the 'enabled' property of a trigger must be boolean'".into())
        );
    }

    #[test]
    fn legacy_triggers_are_rewritten() {
        let mut v = json!([{"name": "invoke2", "sourceType": "scheduler", "enabled": false,
            "sourceDetails": {"cron": "30 * * * *", "withBody": {"a": 1}}}]);
        assert_eq!(validate_triggers(&mut v), Ok(()));
        assert_eq!(
            v,
            json!([{"name": "invoke2", "enabled": false, "scheduledDetails": {"cron": "30 * * * *", "body": {"a": 1}}, "type": "SCHEDULED"}])
        );
        let mut other =
            json!([{"name": "x", "sourceType": "webhook", "sourceDetails": {"cron": "* * * * *"}}]);
        assert_eq!(
            validate_triggers(&mut other),
            Err("the trigger 'type' field must be 'SCHEDULED'".into())
        );
    }

    #[test]
    fn cron_syntax() {
        for ok in [
            "* * * * *",
            "* * * * * ",
            "  0 0 1 1 0",
            "*/5 0-23/2 1,15,31 1-12 0-6",
            "59 23 31 12 6",
            "5/10 * * * *",
            "1-5,10-15 * * * *",
        ] {
            assert!(is_valid_cron(ok), "{ok} should be valid");
        }
        for bad in [
            "foo",
            "* * * *",
            "* * * * * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * * 13 *",
            "* * * * 7",
            "* * * JAN *",
            "* * * * MON",
            "? * * * *",
            "*/0 * * * *",
            "5- * * * *",
            "5/ * * * *",
            "1/2/3 * * * *",
            "9-3 * * * *",
            ",1 * * * *",
            "@daily",
        ] {
            assert!(!is_valid_cron(bad), "{bad} should be invalid");
        }
    }
}
