//! A plan: what a deploy would change in a namespace, entity by entity (`sluice plan`,
//! `deploy --dry-run`, `deploy --plan FILE`).
//!
//! The JSON form of [`Plan`] is a documented, stable document (format [`PLAN_FORMAT`]): new
//! fields may appear, existing ones keep their meaning. Values of parameters and environment
//! never appear in it, only their names.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The version of the plan document.
pub const PLAN_FORMAT: u32 = 1;

/// What kind of entity a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanEntity {
    Package,
    Binding,
    Function,
    Sequence,
    Trigger,
}

impl PlanEntity {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanEntity::Package => "package",
            PlanEntity::Binding => "binding",
            PlanEntity::Function => "function",
            PlanEntity::Sequence => "sequence",
            PlanEntity::Trigger => "trigger",
        }
    }
}

/// What a deploy does to one entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// Not in the namespace: it will be created.
    Create,
    /// In the namespace, different from the project: it will be replaced.
    Update,
    /// The namespace holds what the project has: nothing is sent.
    Unchanged,
    /// The namespace's entity is not the one this project last deployed (edited in a console
    /// or by a plain API call): it will be replaced.
    ChangedOutsideSluice,
    /// Deployed by this project, no longer in it: `--prune` deletes it.
    Delete,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Create => "create",
            ChangeKind::Update => "update",
            ChangeKind::Unchanged => "unchanged",
            ChangeKind::ChangedOutsideSluice => "changed outside sluice",
            ChangeKind::Delete => "delete",
        }
    }

    /// Whether applying the plan sends anything for this entity.
    pub fn is_change(self) -> bool {
        self != ChangeKind::Unchanged
    }
}

/// Why an entity is updated. Names only: values are never part of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "field", rename_all = "kebab-case")]
pub enum Reason {
    /// The code differs (short digests of the namespace's and the project's code).
    Code { from: String, to: String },
    /// The runtime differs.
    Kind { from: String, to: String },
    /// Parameter names added, changed and removed.
    Parameters {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        added: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        changed: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        removed: Vec<String>,
    },
    /// Environment variable names added, changed and removed.
    Environment {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        added: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        changed: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        removed: Vec<String>,
    },
    /// Annotations the project sets that the namespace lacks or holds otherwise.
    Annotations { names: Vec<String> },
    /// Limits that differ (`memory`, `timeout`, `logs`, `concurrency`).
    Limits { names: Vec<String> },
    /// Web export settings differ.
    Web,
    /// A sequence's components differ.
    Components,
    /// A package's functions were added or removed.
    Functions {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        added: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        removed: Vec<String>,
    },
    /// A binding points at another package.
    Binding { from: String, to: String },
    /// A trigger's schedule, payload or function differs.
    Trigger { names: Vec<String> },
    /// The namespace's version is not the one this project recorded.
    Version { recorded: String, server: String },
    /// The entity was not deployed by sluice or the original deployer.
    NotDeployedBySluice,
    /// The entity was deployed from another project.
    OtherProject { project: String },
    /// Only the deployer annotation's digest differs (the same content deployed by another
    /// version of the project files, or a difference this plan cannot name).
    Digest { from: String, to: String },
}

fn names<'a>(sign: &str, list: &'a [String]) -> impl Iterator<Item = String> + 'a {
    let sign = sign.to_string();
    list.iter().map(move |n| format!("{sign}{n}"))
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Code { from, to } => write!(f, "code {from}→{to}"),
            Reason::Kind { from, to } => write!(f, "kind {from}→{to}"),
            Reason::Parameters {
                added,
                changed,
                removed,
            }
            | Reason::Environment {
                added,
                changed,
                removed,
            } => {
                let label = if matches!(self, Reason::Parameters { .. }) {
                    "parameters"
                } else {
                    "environment"
                };
                let all: Vec<String> = names("+", added)
                    .chain(names("~", changed))
                    .chain(names("-", removed))
                    .collect();
                write!(f, "{label} {}", all.join(" "))
            }
            Reason::Annotations { names } => write!(f, "annotations {}", names.join(" ")),
            Reason::Limits { names } => write!(f, "limits {}", names.join(" ")),
            Reason::Web => f.write_str("web"),
            Reason::Components => f.write_str("components"),
            Reason::Functions { added, removed } => {
                let all: Vec<String> = names("+", added).chain(names("-", removed)).collect();
                write!(f, "functions {}", all.join(" "))
            }
            Reason::Binding { from, to } => write!(f, "binding {from}→{to}"),
            Reason::Trigger { names } => write!(f, "trigger {}", names.join(" ")),
            Reason::Version { recorded, server } => {
                write!(f, "version {recorded} recorded, {server} on the server")
            }
            Reason::NotDeployedBySluice => f.write_str("not deployed by sluice"),
            Reason::OtherProject { project } => write!(f, "deployed from {project}"),
            Reason::Digest { from, to } => write!(f, "digest {from}→{to}"),
        }
    }
}

/// One entity's line of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedChange {
    pub entity: PlanEntity,
    /// `pkg/name`, `name` (default package), a package's or a trigger's name.
    pub name: String,
    pub change: ChangeKind,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Reason>,
    /// The namespace's version of the entity, when it has one. A trigger has no version: its
    /// entry holds a short digest of what the namespace lists for it instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// The project's full digest of the entity (packages, functions, sequences, triggers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// A created or updated function's kind as this deploy sends it (`nodejs:18`), for
    /// policies in `plan:after` hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// A created or updated function's limits as this deploy sends them (`memory` in MB,
    /// `timeout` in ms, `logs` in MB); a limit left out gets the namespace's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<std::collections::BTreeMap<String, u64>>,
}

impl PlannedChange {
    pub fn new(entity: PlanEntity, name: impl Into<String>, change: ChangeKind) -> Self {
        PlannedChange {
            entity,
            name: name.into(),
            change,
            reasons: Vec::new(),
            server_version: None,
            digest: None,
            kind: None,
            limits: None,
        }
    }

    /// The reasons as one line: `code a1b2→c3d4, parameters +FOO`.
    pub fn reasons_line(&self) -> String {
        self.reasons
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// How many entities of each change kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanCounts {
    pub create: usize,
    pub update: usize,
    pub unchanged: usize,
    pub changed_outside_sluice: usize,
    pub delete: usize,
}

/// What a deploy of a project would do to a namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// [`PLAN_FORMAT`].
    pub format: u32,
    pub apihost: String,
    pub namespace: String,
    /// Whether the plan looked for deletes (`--prune`); applying it deletes what it lists.
    #[serde(default)]
    pub prune: bool,
    pub changes: Vec<PlannedChange>,
    pub counts: PlanCounts,
    /// Digest of what the project would send (each entity's name and digest): changes when
    /// the project does, and only then.
    pub project_digest: String,
    /// Digest of the namespace's versions the plan was made against: changes when the
    /// namespace does.
    pub server_digest: String,
}

impl Plan {
    /// A plan of `changes`, sorted by entity and name, with its counts and project digest.
    /// `server_digest` comes from the deployer, which knows what it read.
    pub fn new(
        apihost: impl Into<String>,
        namespace: impl Into<String>,
        mut changes: Vec<PlannedChange>,
        server_digest: String,
    ) -> Self {
        changes.sort_by(|a, b| (a.entity, &a.name).cmp(&(b.entity, &b.name)));
        let mut counts = PlanCounts::default();
        let mut h = Sha256::new();
        for c in &changes {
            match c.change {
                ChangeKind::Create => counts.create += 1,
                ChangeKind::Update => counts.update += 1,
                ChangeKind::Unchanged => counts.unchanged += 1,
                ChangeKind::ChangedOutsideSluice => counts.changed_outside_sluice += 1,
                ChangeKind::Delete => counts.delete += 1,
            }
        }
        // Only the project's side: a delete is the namespace's entity, and whether an entity
        // is created, updated or unchanged depends on the namespace too.
        for c in changes.iter().filter(|c| c.change != ChangeKind::Delete) {
            h.update(c.entity.as_str());
            h.update([0]);
            h.update(&c.name);
            h.update([0]);
            h.update(c.digest.as_deref().unwrap_or(""));
            h.update([0]);
        }
        Plan {
            format: PLAN_FORMAT,
            apihost: apihost.into(),
            namespace: namespace.into(),
            prune: false,
            changes,
            counts,
            project_digest: hex(&h.finalize()),
            server_digest,
        }
    }

    /// Whether applying the plan changes anything.
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.change.is_change())
    }

    /// The changes of one kind.
    pub fn of(&self, change: ChangeKind) -> impl Iterator<Item = &PlannedChange> {
        self.changes.iter().filter(move |c| c.change == change)
    }

    /// Why `saved` cannot be applied where this (fresh) plan was made, or `None` when it can.
    pub fn staleness(&self, saved: &Plan) -> Option<String> {
        if saved.format != PLAN_FORMAT {
            return Some(format!(
                "it has format {} and this sluice reads format {PLAN_FORMAT}",
                saved.format
            ));
        }
        if saved.apihost != self.apihost || saved.namespace != self.namespace {
            return Some(format!(
                "it was made for namespace '{}' on {}, and this deploy goes to '{}' on {}",
                saved.namespace, saved.apihost, self.namespace, self.apihost
            ));
        }
        if saved.project_digest != self.project_digest {
            let moved = differing(saved, self, |c| {
                (c.change != ChangeKind::Delete).then_some(c.digest.as_deref())
            });
            return Some(format!(
                "the project changed since it was made{}",
                named(&moved)
            ));
        }
        if saved.server_digest != self.server_digest || saved.changes != self.changes {
            let moved = differing(saved, self, |c| {
                Some((c.change, c.server_version.as_deref(), &c.reasons))
            });
            return Some(format!(
                "the namespace changed since it was made{}",
                named(&moved)
            ));
        }
        None
    }
}

/// The entities (`function p/a`) whose `key` differs between two plans, an entity missing
/// from one of them included (a `None` key is no entity).
fn differing<'a, K: PartialEq>(
    a: &'a Plan,
    b: &'a Plan,
    key: impl Fn(&'a PlannedChange) -> Option<K>,
) -> Vec<String> {
    let index = |p: &'a Plan| -> std::collections::BTreeMap<(PlanEntity, &'a str), K> {
        p.changes
            .iter()
            .filter_map(|c| Some(((c.entity, c.name.as_str()), key(c)?)))
            .collect()
    };
    let (a, b) = (index(a), index(b));
    let mut names: Vec<(PlanEntity, &str)> = a
        .iter()
        .filter(|(k, v)| b.get(*k) != Some(*v))
        .map(|(k, _)| *k)
        .chain(b.keys().filter(|k| !a.contains_key(*k)).copied())
        .collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|(entity, name)| format!("{} {name}", entity.as_str()))
        .collect()
}

/// `: function p/a, trigger t` (at most five named), or nothing when no entity is known.
fn named(entities: &[String]) -> String {
    const SHOWN: usize = 5;
    match entities.len() {
        0 => String::new(),
        n if n <= SHOWN => format!(": {}", entities.join(", ")),
        n => format!(": {} and {} more", entities[..SHOWN].join(", "), n - SHOWN),
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(name: &str, kind: ChangeKind) -> PlannedChange {
        PlannedChange::new(PlanEntity::Function, name, kind)
    }

    #[test]
    fn counts_sort_and_detect_changes() {
        let plan = Plan::new(
            "h",
            "ns",
            vec![
                change("p/b", ChangeKind::Unchanged),
                change("p/a", ChangeKind::Create),
            ],
            "s".into(),
        );
        assert_eq!(plan.changes[0].name, "p/a");
        assert_eq!(plan.counts.create, 1);
        assert_eq!(plan.counts.unchanged, 1);
        assert!(plan.has_changes());
        let quiet = Plan::new(
            "h",
            "ns",
            vec![change("p/b", ChangeKind::Unchanged)],
            "s".into(),
        );
        assert!(!quiet.has_changes());
    }

    #[test]
    fn a_plan_is_stale_when_project_or_namespace_moved() {
        let a = Plan::new(
            "h",
            "ns",
            vec![change("p/a", ChangeKind::Create)],
            "s1".into(),
        );
        assert_eq!(a.staleness(&a.clone()), None);
        let moved = Plan::new(
            "h",
            "ns",
            vec![change("p/a", ChangeKind::Create)],
            "s2".into(),
        );
        assert_eq!(
            moved.staleness(&a).as_deref(),
            Some("the namespace changed since it was made")
        );
        let edited = Plan::new(
            "h",
            "ns",
            vec![change("p/b", ChangeKind::Create)],
            "s1".into(),
        );
        assert_eq!(
            edited.staleness(&a).as_deref(),
            Some("the project changed since it was made: function p/a, function p/b")
        );
    }

    fn with_digest(name: &str, kind: ChangeKind, digest: &str, version: &str) -> PlannedChange {
        let mut c = change(name, kind);
        c.digest = Some(digest.into());
        c.server_version = Some(version.into());
        c
    }

    #[test]
    fn the_project_digest_depends_on_the_project_alone() {
        let before = Plan::new(
            "h",
            "ns",
            vec![
                with_digest("p/a", ChangeKind::Unchanged, "d1", "0.0.1"),
                with_digest("p/b", ChangeKind::Update, "d2", "0.0.1"),
            ],
            "s1".into(),
        );
        // p/a was edited on the server: its kind and version move, its project digest not.
        let mut server_moved = Plan::new(
            "h",
            "ns",
            vec![
                with_digest("p/a", ChangeKind::ChangedOutsideSluice, "d1", "0.0.2"),
                with_digest("p/b", ChangeKind::Update, "d2", "0.0.1"),
                change("p/gone", ChangeKind::Delete),
            ],
            "s2".into(),
        );
        assert_eq!(before.project_digest, server_moved.project_digest);
        assert_eq!(
            server_moved.staleness(&before).as_deref(),
            Some("the namespace changed since it was made: function p/a, function p/gone")
        );
        // The same server digest, a different entity line: still named.
        server_moved.server_digest = "s1".into();
        assert!(server_moved.staleness(&before).is_some());

        let project_moved = Plan::new(
            "h",
            "ns",
            vec![
                with_digest("p/a", ChangeKind::Unchanged, "d1", "0.0.1"),
                with_digest("p/b", ChangeKind::Update, "d3", "0.0.1"),
            ],
            "s2".into(),
        );
        assert_eq!(
            project_moved.staleness(&before).as_deref(),
            Some("the project changed since it was made: function p/b")
        );
    }

    #[test]
    fn reasons_read_like_a_diff() {
        let r = Reason::Parameters {
            added: vec!["FOO".into()],
            changed: vec!["BAR".into()],
            removed: vec!["BAZ".into()],
        };
        assert_eq!(r.to_string(), "parameters +FOO ~BAR -BAZ");
        let json = serde_json::to_value(&r).expect("json");
        assert_eq!(json["field"], "parameters");
    }
}
