//! How instants and durations look to people in listings: UTC `YYYY-MM-DD HH:MM:SS` and
//! whole milliseconds, with `-` where there is nothing to show.

use chrono::{DateTime, Utc};

/// An epoch-milliseconds instant as `2024-03-01 10:00:00` (UTC); empty when out of range.
pub fn datetime_ms(epoch_ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(epoch_ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// A duration in milliseconds as `12ms`; `-` when unknown.
pub fn duration_ms(ms: Option<i64>) -> String {
    ms.map_or_else(|| "-".into(), |d| format!("{d}ms"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_utc_and_durations_in_ms() {
        assert_eq!(datetime_ms(1_709_287_200_000), "2024-03-01 10:00:00");
        assert_eq!(duration_ms(Some(12)), "12ms");
        assert_eq!(duration_ms(None), "-");
    }
}
