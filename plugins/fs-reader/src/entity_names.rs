//! Entity names checked at read time against OpenWhisk's rule
//! ([`sluice_core::names`]): names written in `project.yml`, names that come from the
//! file system (package directories, function files), sequence components and trigger
//! names. A name that breaks the rule would be refused by the controller at best, and at
//! worst (`..`, `a/b`) address another entity than the one meant.

use sluice_core::DeployStructure;
use sluice_core::EntityFilter;
use sluice_core::names::{NAME_RULE, check_name};

use crate::error::ReadError;

/// What a name names, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameOf {
    Package,
    Function,
    Trigger,
}

impl NameOf {
    fn word(self) -> &'static str {
        match self {
            NameOf::Package => "package",
            NameOf::Function => "function",
            NameOf::Trigger => "trigger",
        }
    }
}

/// The message for a name written in `project.yml`, or `None` when it is valid.
pub fn config_name_problem(of: NameOf, name: &str) -> Option<String> {
    if of == NameOf::Package && name == "default" {
        return None;
    }
    check_name(name).err().map(|e| {
        format!(
            "the {} name '{}' is not a valid OpenWhisk name: {e} ({NAME_RULE})",
            of.word(),
            name.escape_debug()
        )
    })
}

/// Checks a name that comes from the file system: `path` is the project-relative path it
/// came from.
pub fn check_file_name(of: NameOf, name: &str, path: &str) -> Result<(), ReadError> {
    match check_name(name) {
        Ok(()) => Ok(()),
        Err(e) => Err(ReadError::project_with_help(
            format!(
                "{path}: the {} name '{}' is not a valid OpenWhisk name: {e}",
                of.word(),
                name.escape_debug()
            ),
            format!("rename it: {NAME_RULE}"),
        )),
    }
}

/// The message for a sequence component's syntax (`name`, `pkg/name` or `/ns/pkg/name`),
/// or `None` when each of its parts is a valid name.
pub fn component_problem(component: &str) -> Option<String> {
    let parts: Vec<&str> = match component.strip_prefix('/') {
        Some(fq) => fq.split('/').collect(),
        None => component.split('/').collect(),
    };
    let max = if component.starts_with('/') { 3 } else { 2 };
    let min = if component.starts_with('/') { 2 } else { 1 };
    if parts.len() > max || parts.len() < min {
        return Some(format!(
            "the sequence component '{}' is not a function name: write 'name', 'package/name' or '/namespace/package/name'",
            component.escape_debug()
        ));
    }
    parts.iter().find_map(|part| {
        check_name(part).err().map(|e| {
            format!(
                "the sequence component '{}' is not a valid OpenWhisk name: {e} ({NAME_RULE})",
                component.escape_debug()
            )
        })
    })
}

/// A sequence component that names a function of this project that is not there:
/// `(sequence, component)` of the first one, in document order.
pub fn missing_component(
    structure: &DeployStructure,
    entity_filter: &EntityFilter,
) -> Option<(String, String)> {
    for (package, action) in structure.actions() {
        let Some(components) = &action.sequence else {
            continue;
        };
        for component in components {
            // `/ns/...` may be any namespace's; only relative names are the project's.
            if component.starts_with('/') {
                continue;
            }
            let (pkg, name) = component.split_once('/').unwrap_or(("default", component));
            // Only packages the project declares are the project's to check; a bare name or
            // another package may be deployed already by someone else.
            if pkg == "default" {
                continue;
            }
            let Some(p) = structure.packages.iter().find(|p| p.name == pkg) else {
                continue;
            };
            if !entity_filter.is_action_included(pkg, name) {
                continue;
            }
            if !p.actions.iter().any(|a| a.name == name) {
                return Some((action.qualified_name(&package.name), component.clone()));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_names() {
        assert_eq!(config_name_problem(NameOf::Package, "default"), None);
        assert_eq!(config_name_problem(NameOf::Function, "hello"), None);
        let msg = config_name_problem(NameOf::Function, "..").expect("refused");
        assert!(msg.starts_with("the function name '..' is not a valid OpenWhisk name: the name may not start with '.'"), "{msg}");
        assert!(config_name_problem(NameOf::Package, "../../x").is_some());
        assert!(config_name_problem(NameOf::Trigger, "a b ").is_some());
    }

    #[test]
    fn components() {
        assert_eq!(component_problem("p/f"), None);
        assert_eq!(component_problem("f"), None);
        assert_eq!(component_problem("/ns/p/f"), None);
        assert_eq!(component_problem("/ns/f"), None);
        assert!(component_problem("a/b/c").is_some());
        assert!(component_problem("p/..").is_some());
        assert!(component_problem("").is_some());
        assert!(component_problem("/ns").is_some());
    }
}
