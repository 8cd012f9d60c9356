//! What bounds the builds of `build` and `deploy`: `--build-timeout`, and stopping every
//! running build (its whole process group) when sluice gets Ctrl-C or SIGTERM, so no
//! `build.sh` outlives the sluice that started it.

use std::time::Duration;

use sluice_core::finder;

use super::render::CliError;

/// The `--build-timeout` flag.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct BuildLimitArgs {
    /// Stop a build command (build.sh, npm, pip, go) that runs longer than this, with every
    /// process it started: `90s`, `15m`, `1h`, or seconds
    #[arg(long, value_name = "DURATION", env = "SLUICE_BUILD_TIMEOUT",
          default_value = "15m", value_parser = parse_duration)]
    build_timeout: Duration,
}

impl BuildLimitArgs {
    /// Applies the limit and starts watching for Ctrl-C and SIGTERM.
    pub fn apply(&self) -> Result<(), CliError> {
        finder::set_build_timeout(self.build_timeout);
        stop_builds_on_signals()
    }
}

/// `90s`, `15m`, `1h`, `500ms` or a number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration; write it as 90s, 15m, 1h or seconds"))?;
    let d = match unit.trim() {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        other => {
            return Err(format!(
                "unknown unit '{other}' in '{text}'; use ms, s, m or h"
            ));
        }
    };
    if d.is_zero() {
        return Err(
            "a build timeout of zero would stop every build; give a positive duration".into(),
        );
    }
    Ok(d)
}

/// On SIGINT or SIGTERM: stop every running build, say so, and exit as the signal would
/// (130 or 143). The watcher is registered before this returns, so a signal that comes
/// right after is not missed.
#[cfg(unix)]
fn stop_builds_on_signals() -> Result<(), CliError> {
    use tokio::signal::unix::{SignalKind, signal};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(CliError::other)?;
    let (mut interrupt, mut terminate) = {
        let _entered = runtime.enter();
        (
            signal(SignalKind::interrupt()).map_err(CliError::other)?,
            signal(SignalKind::terminate()).map_err(CliError::other)?,
        )
    };
    std::thread::spawn(move || {
        let code = runtime.block_on(async {
            tokio::select! {
                _ = interrupt.recv() => 130,
                _ = terminate.recv() => 143,
            }
        });
        let stopped = finder::stop_all_builds();
        if stopped > 0 {
            eprintln!("sluice: interrupted; stopped {stopped} running build(s)");
        }
        std::process::exit(code);
    });
    Ok(())
}

#[cfg(not(unix))]
fn stop_builds_on_signals() -> Result<(), CliError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5 days").is_err());
    }
}
