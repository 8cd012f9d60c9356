//! Sequences: fully qualified component names (spec §10.5) and the dependency order in which
//! they are deployed, with cycle detection (spec §10.6).

use std::collections::{BTreeSet, HashMap};

/// The original's message when sequences depend on each other in a circle.
pub const CYCLE_MESSAGE: &str = "A cycle was detected in mutually dependent sequences";

/// A component name made absolute: `/ns/...` is kept, anything else is put in `namespace`.
pub fn qualify(namespace: &str, component: &str) -> String {
    if component.starts_with('/') {
        component.to_string()
    } else {
        format!("/{namespace}/{component}")
    }
}

/// One sequence waiting for the code actions to be deployed.
#[derive(Debug, Clone, PartialEq)]
pub struct Deferred {
    /// Index of the package and of the action in the project.
    pub package: usize,
    pub action: usize,
    /// `pkg/name` or `name`.
    pub name: String,
    /// `/ns/pkg/name`.
    pub fqn: String,
    /// Fully qualified components.
    pub components: Vec<String>,
}

/// Orders sequences so that a sequence comes after the sequences it uses (depth-first, in
/// discovery order). A cycle is an error.
pub fn sort(deferred: Vec<Deferred>) -> Result<Vec<Deferred>, &'static str> {
    let by_fqn: HashMap<&str, usize> = deferred
        .iter()
        .enumerate()
        .map(|(i, d)| (d.fqn.as_str(), i))
        .collect();
    let mut order: Vec<usize> = Vec::with_capacity(deferred.len());
    let mut done = vec![false; deferred.len()];
    let mut active = vec![false; deferred.len()];

    fn visit(
        i: usize,
        deferred: &[Deferred],
        by_fqn: &HashMap<&str, usize>,
        done: &mut [bool],
        active: &mut [bool],
        order: &mut Vec<usize>,
    ) -> Result<(), &'static str> {
        if done[i] {
            return Ok(());
        }
        if active[i] {
            return Err(CYCLE_MESSAGE);
        }
        active[i] = true;
        for c in &deferred[i].components {
            if let Some(&j) = by_fqn.get(c.as_str()) {
                visit(j, deferred, by_fqn, done, active, order)?;
            }
        }
        active[i] = false;
        done[i] = true;
        order.push(i);
        Ok(())
    }

    for i in 0..deferred.len() {
        visit(i, &deferred, &by_fqn, &mut done, &mut active, &mut order)?;
    }
    let mut slots: Vec<Option<Deferred>> = deferred.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}

/// Warnings for components in the deploying namespace that the project does not deploy
/// (the controller reports dangling components itself; this only helps spot typos).
pub fn warnings(
    deferred: &[Deferred],
    namespace: &str,
    project_fqns: &BTreeSet<String>,
) -> Vec<String> {
    let prefix = format!("/{namespace}/");
    let mut out = Vec::new();
    for d in deferred {
        for c in &d.components {
            if c.starts_with(&prefix) && !project_fqns.contains(c) {
                out.push(format!(
                    "Sequence '{}' contains action '{c}' which is in the same namespace but not part of the deployment",
                    d.name
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(name: &str, components: &[&str]) -> Deferred {
        Deferred {
            package: 0,
            action: 0,
            name: name.into(),
            fqn: qualify("ns", name),
            components: components.iter().map(|c| qualify("ns", c)).collect(),
        }
    }

    #[test]
    fn qualifies_relative_names() {
        assert_eq!(qualify("ns", "pkg/a"), "/ns/pkg/a");
        assert_eq!(qualify("ns", "a"), "/ns/a");
        assert_eq!(qualify("ns", "/other/a"), "/other/a");
    }

    #[test]
    fn dependencies_come_first() {
        let sorted = sort(vec![
            seq("p/incrFiveTimes", &["p/incrTwice", "p/incrThreeTimes"]),
            seq("p/mySequence", &["p/split", "p/sort"]),
            seq("p/incrTwice", &["p/increment", "p/increment"]),
            seq(
                "p/incrThreeTimes",
                &["p/increment", "p/increment", "p/increment"],
            ),
        ])
        .expect("no cycle");
        let names: Vec<&str> = sorted.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "p/incrTwice",
                "p/incrThreeTimes",
                "p/incrFiveTimes",
                "p/mySequence"
            ]
        );
    }

    #[test]
    fn cycles_are_detected() {
        let err = sort(vec![seq("a", &["b"]), seq("b", &["c"]), seq("c", &["a"])]);
        assert_eq!(err, Err(CYCLE_MESSAGE));
        assert_eq!(sort(vec![seq("a", &["a"])]), Err(CYCLE_MESSAGE));
    }

    #[test]
    fn warns_about_same_namespace_components_not_deployed() {
        let known: BTreeSet<String> = ["/ns/p/a".to_string()].into();
        let w = warnings(
            &[seq("p/s", &["p/a", "p/missing", "/other/x"])],
            "ns",
            &known,
        );
        assert_eq!(
            w,
            [
                "Sequence 'p/s' contains action '/ns/p/missing' which is in the same namespace but not part of the deployment"
            ]
        );
    }
}
