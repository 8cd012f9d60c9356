//! Activation log lines in the controller's format, with the `limits.logs` cap.

use chrono::{DateTime, SecondsFormat, Utc};

/// The marker each launcher prints on stdout and stderr after a run.
pub const SENTINEL: &str = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX";

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The function's stdout.
    Stdout,
    /// The function's stderr.
    Stderr,
}

impl Stream {
    fn as_str(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }
}

/// `<RFC 3339 timestamp with nanoseconds, left-justified in 30 chars> stdout: <line>`.
pub fn format_log_line(time: DateTime<Utc>, stream: Stream, line: &str) -> String {
    let ts = time.to_rfc3339_opts(SecondsFormat::Nanos, true);
    format!("{ts:<30} {}: {line}", stream.as_str())
}

/// Collects the lines of one activation and stops at `limit` bytes with the controller's
/// truncation notice.
#[derive(Debug)]
pub struct LogCollector {
    lines: Vec<String>,
    bytes: usize,
    limit: usize,
    truncated: bool,
}

impl LogCollector {
    /// A collector allowing `limit_mb` megabytes of log text.
    pub fn new(limit_mb: u64) -> Self {
        Self {
            lines: Vec::new(),
            bytes: 0,
            limit: (limit_mb as usize).saturating_mul(1024 * 1024),
            truncated: false,
        }
    }

    /// Adds one line (without its newline).
    pub fn push(&mut self, time: DateTime<Utc>, stream: Stream, line: &str) {
        if self.truncated {
            return;
        }
        let size = line.len();
        if self.bytes + size > self.limit {
            self.truncated = true;
            self.lines.push(format!(
                "Logs were truncated because the total bytes size exceeds the limit of {} bytes.",
                self.limit
            ));
            return;
        }
        self.bytes += size;
        self.lines.push(format_log_line(time, stream, line));
    }

    /// The collected lines.
    pub fn into_lines(self) -> Vec<String> {
        self.lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn lines_have_the_controller_format() {
        let t = Utc
            .timestamp_opt(1_709_287_200, 123_456_789)
            .single()
            .expect("valid time");
        assert_eq!(
            format_log_line(t, Stream::Stdout, "hi"),
            "2024-03-01T10:00:00.123456789Z stdout: hi"
        );
        assert_eq!(
            format_log_line(t, Stream::Stderr, ""),
            "2024-03-01T10:00:00.123456789Z stderr: "
        );
    }

    #[test]
    fn logs_stop_at_the_limit() {
        let mut c = LogCollector::new(0);
        c.push(Utc::now(), Stream::Stdout, "x");
        c.push(Utc::now(), Stream::Stdout, "y");
        let lines = c.into_lines();
        assert_eq!(
            lines,
            vec!["Logs were truncated because the total bytes size exceeds the limit of 0 bytes."]
        );
    }
}
