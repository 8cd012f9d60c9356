//! Build subprocesses that can always be stopped: each runs in a process group of its own
//! (so `build.sh`'s children go with it), every live group is in one registry, and
//! [`stop_all_builds`] ends them all — the CLI calls it on Ctrl-C and SIGTERM, so a build is
//! never left running, reparented to init, after sluice is gone.
//!
//! The time limit ([`set_build_timeout`]) is process-wide for the same reason the registry
//! is: it is a property of the sluice run (`--build-timeout`), not of a project, and every
//! builder shares [`super::run_build_command`].

use std::collections::BTreeSet;
use std::process::Child;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The default of `--build-timeout`: 15 minutes.
pub const DEFAULT_BUILD_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// How long a stopped build gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_millis(500);

/// The limit in milliseconds (0 = the default).
static TIMEOUT_MS: AtomicU64 = AtomicU64::new(0);

/// Set by [`stop_all_builds`]: the process is about to exit.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// Process group ids of the builds running now.
static RUNNING: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

/// Sets how long one build command may run before it is stopped.
pub fn set_build_timeout(limit: Duration) {
    TIMEOUT_MS.store(limit.as_millis().max(1) as u64, Ordering::SeqCst);
}

/// How long one build command may run.
pub fn build_timeout() -> Duration {
    match TIMEOUT_MS.load(Ordering::SeqCst) {
        0 => DEFAULT_BUILD_TIMEOUT,
        ms => Duration::from_millis(ms),
    }
}

/// Puts the command to be spawned into a new process group (led by the child).
pub(crate) fn own_group(command: &mut std::process::Command) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    #[cfg(not(unix))]
    let _ = command;
}

/// A running build's group, taken out of the registry when dropped.
pub(crate) struct Registered(u32);

impl Registered {
    pub(crate) fn new(child: &Child) -> Self {
        let id = child.id();
        if let Ok(mut running) = RUNNING.lock() {
            running.insert(id);
        }
        Registered(id)
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut running) = RUNNING.lock() {
            running.remove(&self.0);
        }
    }
}

#[cfg(unix)]
fn signal_group(group: u32, signal: nix::sys::signal::Signal) {
    if let Ok(raw) = i32::try_from(group) {
        // An error means the group is gone already, which is what we want.
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(raw), signal);
    }
}

/// Stops one build: SIGTERM to its whole group, SIGKILL after a short grace, then reaps it.
pub(crate) fn stop(child: &mut Child) {
    #[cfg(unix)]
    {
        use nix::sys::signal::Signal;
        signal_group(child.id(), Signal::SIGTERM);
        let until = Instant::now() + GRACE;
        while Instant::now() < until {
            if matches!(child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Children of the build may outlive its leader: the group goes either way.
        signal_group(child.id(), Signal::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Stops every running build (their whole process groups) and returns how many there were.
/// Safe to call from any thread; the builds' own threads then see them end.
///
/// It is meant for the end of the process: builds that end because of it do not report a
/// failure, their threads wait for the caller to exit instead (with the signal's status).
pub fn stop_all_builds() -> usize {
    STOPPING.store(true, Ordering::SeqCst);
    let groups: Vec<u32> = RUNNING
        .lock()
        .map(|r| r.iter().copied().collect())
        .unwrap_or_default();
    #[cfg(unix)]
    {
        use nix::sys::signal::Signal;
        for g in &groups {
            signal_group(*g, Signal::SIGTERM);
        }
        if !groups.is_empty() {
            std::thread::sleep(GRACE);
        }
        for g in &groups {
            signal_group(*g, Signal::SIGKILL);
        }
    }
    groups.len()
}

/// A build that ended because [`stop_all_builds`] stopped it waits here for the process to
/// exit, so its failure is neither reported nor taken for the run's result.
pub(crate) fn wait_if_stopping() {
    while STOPPING.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// How a duration reads in messages: `15m`, `90s`, `1.5s`.
pub(crate) fn describe(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(60_000) && ms > 0 {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(describe(Duration::from_secs(900)), "15m");
        assert_eq!(describe(Duration::from_secs(90)), "90s");
        assert_eq!(describe(Duration::from_millis(1500)), "1.5s");
    }
}
