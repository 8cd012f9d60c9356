//! How a plan looks to a person: one line per entity that changes (unchanged ones only with
//! `--explain`), with the reasons, and a count line. Parameter values never appear.

use sluice_core::{ChangeKind, Plan, PlannedChange};

fn mark(change: ChangeKind) -> &'static str {
    match change {
        ChangeKind::Create => "+",
        ChangeKind::Update => "~",
        ChangeKind::ChangedOutsideSluice => "!",
        ChangeKind::Delete => "-",
        ChangeKind::Unchanged => "=",
    }
}

fn line(c: &PlannedChange, width: usize) -> String {
    let reasons = c.reasons_line();
    let head = format!(
        "  {} {:<22} {:<8} {:<width$}",
        mark(c.change),
        c.change.as_str(),
        c.entity.as_str(),
        c.name
    );
    if reasons.is_empty() {
        head
    } else {
        format!("{head}  ({reasons})")
    }
}

/// The plan; `explain` also lists the unchanged entities.
pub fn print_plan(plan: &Plan, explain: bool) {
    println!(
        "\nPlan for namespace '{}' on {}:",
        plan.namespace, plan.apihost
    );
    let shown: Vec<&PlannedChange> = plan
        .changes
        .iter()
        .filter(|c| explain || c.change.is_change())
        .collect();
    let width = shown
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    for c in &shown {
        println!("{}", line(c, width).trim_end());
    }
    let n = plan.counts;
    if !plan.has_changes() {
        println!("  No changes: the namespace holds what the project has.");
    }
    println!(
        "\n{} to create, {} to update, {} changed outside sluice, {} to delete, {} unchanged.",
        n.create, n.update, n.changed_outside_sluice, n.delete, n.unchanged
    );
}

/// `deploy --explain`: why each entity was sent, skipped or deleted.
pub fn print_explanation(plan: &Plan, incremental: bool) {
    println!("\nWhy each entity was sent, skipped or deleted:");
    for c in &plan.changes {
        let why = match c.change {
            ChangeKind::Create => "not in the namespace".to_string(),
            ChangeKind::Unchanged if incremental => "unchanged on the server: skipped".to_string(),
            ChangeKind::Unchanged => {
                "unchanged on the server, sent anyway (no --incremental)".to_string()
            }
            ChangeKind::Update => format!("differs from the server: {}", c.reasons_line()),
            ChangeKind::ChangedOutsideSluice => {
                format!("changed outside sluice: {}", c.reasons_line())
            }
            ChangeKind::Delete => "deployed by this project, no longer in it".to_string(),
        };
        println!("  {} {}: {}", c.entity.as_str(), c.name, why);
    }
}
