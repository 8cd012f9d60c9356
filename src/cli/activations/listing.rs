//! How `sluice activations list` shows activations to people: one row each, through the
//! shared [`Table`].

use sluice_core::{Activation, Outcome};

use crate::cli::table::Table;
use crate::cli::time::{datetime_ms, duration_ms};

fn status_label(a: &Activation) -> &'static str {
    match a.outcome() {
        Some(Outcome::Success) => "success",
        Some(Outcome::ApplicationError) => "application error",
        Some(Outcome::DeveloperError) => "developer error",
        Some(Outcome::InternalError) => "internal error",
        None => "-",
    }
}

/// A table of activations for people.
pub(super) fn table(items: &[Activation], header: bool) -> Table {
    let mut t = if header {
        Table::new(&[
            "DATETIME",
            "ACTIVATION ID",
            "KIND",
            "START",
            "DURATION",
            "STATUS",
        ])
    } else {
        Table::headless()
    };
    for a in items {
        let kind = a.kind().unwrap_or("-");
        let start = match (a.is_cold(), kind) {
            (true, _) => "cold",
            (false, "sequence") => "-",
            (false, _) => "warm",
        };
        t.row([
            datetime_ms(a.start),
            a.activation_id.clone(),
            kind.to_string(),
            start.to_string(),
            duration_ms(a.duration),
            format!("{} {}", status_label(a), a.entity_path()),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn activations_render_as_a_table() {
        let a: Activation = serde_json::from_value(json!({
            "activationId": "0123456789abcdef0123456789abcdef", "start": 1_709_287_200_000_i64,
            "duration": 12, "statusCode": 0, "name": "greet",
            "annotations": [{"key": "path", "value": "local/hello/greet"},
                            {"key": "kind", "value": "nodejs:20"},
                            {"key": "initTime", "value": 40}]
        }))
        .expect("activation");
        assert_eq!(
            table(&[a], true).render(),
            "DATETIME             ACTIVATION ID                     KIND       START  DURATION  STATUS\n\
             2024-03-01 10:00:00  0123456789abcdef0123456789abcdef  nodejs:20  cold   12ms      success hello/greet\n"
        );
    }
}
