//! How phases report progress without printing: the CLI supplies a [`Feedback`] and decides
//! how it looks (plain lines, a progress line per function, or a `--json` transcript).

use std::sync::Mutex;

/// A structured step, for renderers that draw one line per function.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// A build of `entity` (`pkg/name` or `lib`) began.
    BuildStarted { entity: String },
    /// A build ended.
    BuildFinished { entity: String, ok: bool },
    /// A deploy request for `entity` ended.
    Deployed { entity: String, ok: bool },
}

/// Receives progress and warnings from the engine and plugins. Implementations must be cheap
/// and must not block for long: builds call it from several threads.
pub trait Feedback: Send + Sync {
    /// An informational line (suppressed by `--json`).
    fn progress(&self, message: &str);
    /// A warning (always shown, or captured in the `--json` transcript).
    fn warn(&self, message: &str);
    /// A structured step; the default ignores it.
    fn step(&self, _step: &Step) {}
}

/// Discards everything.
#[derive(Debug, Default)]
pub struct Silent;

impl Feedback for Silent {
    fn progress(&self, _message: &str) {}
    fn warn(&self, _message: &str) {}
}

/// Keeps every line, in order; used by `--json`, by tests and by plugins.
#[derive(Debug, Default)]
pub struct Recorder {
    lines: Mutex<Vec<(Level, String)>>,
}

/// Which channel a recorded line came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Progress,
    Warn,
}

impl Recorder {
    /// Every recorded line with its channel.
    pub fn lines(&self) -> Vec<(Level, String)> {
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The warnings only (what `--json` puts in `transcript`).
    pub fn warnings(&self) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|(level, _)| *level == Level::Warn)
            .map(|(_, line)| line)
            .collect()
    }

    fn push(&self, level: Level, message: &str) {
        if let Ok(mut lines) = self.lines.lock() {
            lines.push((level, message.to_string()));
        }
    }
}

impl Feedback for Recorder {
    fn progress(&self, message: &str) {
        self.push(Level::Progress, message);
    }
    fn warn(&self, message: &str) {
        self.push(Level::Warn, message);
    }
}
