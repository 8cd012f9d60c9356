//! The runner's limits, from the environment of the server that owns it: how many workers run
//! at once in all (sized from the CPU count), how many per action, and how long an idle warm
//! worker is kept. The daemon checks them before it starts ([`RunnerSettings::from_env`]), so a
//! bad value is refused with the variable's name instead of being replaced silently.

use std::time::Duration;

/// Most workers (processes) running activations at once, over all actions.
pub const MAX_WORKERS_ENV: &str = "SLUICE_RUNNER_MAX_WORKERS";
/// Most workers running one action at once.
pub const MAX_PER_ACTION_ENV: &str = "SLUICE_RUNNER_MAX_PER_ACTION";
/// Seconds an idle warm worker is kept before it is stopped.
pub const IDLE_SECS_ENV: &str = "SLUICE_RUNNER_IDLE_SECS";

/// Idle workers are kept ten minutes by default.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(600);

/// A runner setting that is not a positive whole number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the environment variable {variable}={value:?} is not a valid runner setting: it must be a \
     whole number of at least 1 ({meaning}). Unset it to use the default ({default}), or give \
     one such as {variable}=8."
)]
pub struct SettingError {
    /// The variable's name.
    pub variable: &'static str,
    /// Its value.
    pub value: String,
    /// What the setting means.
    pub meaning: &'static str,
    /// The default, as text.
    pub default: String,
}

/// The runner's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunnerSettings {
    /// Global cap on running workers ([`MAX_WORKERS_ENV`]); also the most idle ones kept.
    pub max_workers: usize,
    /// Per-action cap on running workers ([`MAX_PER_ACTION_ENV`]), at most `max_workers`.
    pub max_per_action: usize,
    /// How long an idle worker stays warm ([`IDLE_SECS_ENV`]).
    pub idle_ttl: Duration,
}

impl RunnerSettings {
    /// Four workers per CPU (at least four), all of them available to one action, ten
    /// minutes of idle warmth. Four per CPU because most functions wait on I/O rather than
    /// compute, and a warm worker costs memory, not CPU, while it waits.
    pub fn defaults() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let max_workers = (cpus * 4).max(4);
        Self {
            max_workers,
            max_per_action: max_workers,
            idle_ttl: DEFAULT_IDLE,
        }
    }

    /// The defaults overridden by [`MAX_WORKERS_ENV`], [`MAX_PER_ACTION_ENV`] and
    /// [`IDLE_SECS_ENV`] when set.
    pub fn from_env() -> Result<Self, SettingError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`RunnerSettings::from_env`] over any variable source (tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        let defaults = Self::defaults();
        let read =
            |variable: &'static str, meaning: &'static str, default: u64| match lookup(variable)
                .filter(|v| !v.trim().is_empty())
            {
                None => Ok(default),
                Some(value) => match value.trim().parse::<u64>() {
                    Ok(n) if n >= 1 => Ok(n),
                    _ => Err(SettingError {
                        variable,
                        value,
                        meaning,
                        default: default.to_string(),
                    }),
                },
            };
        let max_workers = read(
            MAX_WORKERS_ENV,
            "most workers running at once",
            defaults.max_workers as u64,
        )? as usize;
        let max_per_action = read(
            MAX_PER_ACTION_ENV,
            "most workers running one action at once",
            max_workers as u64,
        )? as usize;
        let idle = read(
            IDLE_SECS_ENV,
            "seconds an idle worker stays warm",
            defaults.idle_ttl.as_secs(),
        )?;
        Ok(Self {
            max_workers,
            max_per_action: max_per_action.min(max_workers),
            idle_ttl: Duration::from_secs(idle),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            owned
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn defaults_scale_with_cpus_and_variables_override_them() {
        let d = RunnerSettings::defaults();
        assert!(d.max_workers >= 4);
        assert_eq!(d.max_per_action, d.max_workers);
        let s = RunnerSettings::from_lookup(lookup(&[
            (MAX_WORKERS_ENV, "6"),
            (MAX_PER_ACTION_ENV, "9"),
            (IDLE_SECS_ENV, "30"),
        ]))
        .expect("valid");
        assert_eq!(s.max_workers, 6);
        assert_eq!(
            s.max_per_action, 6,
            "per action is capped by the global cap"
        );
        assert_eq!(s.idle_ttl, Duration::from_secs(30));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = RunnerSettings::from_lookup(lookup(&[(MAX_PER_ACTION_ENV, "0")]))
            .expect_err("zero is refused");
        assert_eq!(err.variable, MAX_PER_ACTION_ENV);
        let text = err.to_string();
        assert!(
            text.contains("SLUICE_RUNNER_MAX_PER_ACTION=\"0\""),
            "{text}"
        );
        assert!(text.contains("Unset it"), "{text}");
        assert!(RunnerSettings::from_lookup(lookup(&[(IDLE_SECS_ENV, "soon")])).is_err());
    }
}
