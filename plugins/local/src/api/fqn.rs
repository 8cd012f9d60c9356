//! Fully qualified entity names in request bodies (`/ns[/pkg]/name`, with `_` for the
//! caller's namespace) and version numbers.

/// A parsed entity reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityRef {
    pub namespace: String,
    pub package: Option<String>,
    pub name: String,
}

impl EntityRef {
    /// `ns` or `ns/pkg`.
    pub fn path(&self) -> String {
        match &self.package {
            Some(p) => format!("{}/{p}", self.namespace),
            None => self.namespace.clone(),
        }
    }

    /// `/ns[/pkg]/name`.
    pub fn fully_qualified(&self) -> String {
        format!("/{}/{}", self.path(), self.name)
    }
}

/// Parses `/ns/name`, `/ns/pkg/name`, `ns/pkg/name`, `pkg/name` or `name` (the last two in
/// the caller's namespace); `_` becomes `caller`. `None` when the shape is wrong or a
/// segment is not a valid name.
pub fn parse(reference: &str, caller: &str) -> Option<EntityRef> {
    let reference = reference.trim();
    let (absolute, rest) = match reference.strip_prefix('/') {
        Some(r) => (true, r),
        None => (false, reference),
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let (ns, pkg, name) = match (absolute, parts.as_slice()) {
        (true, [ns, name]) => (*ns, None, *name),
        (true, [ns, pkg, name]) | (false, [ns, pkg, name]) => (*ns, Some(*pkg), *name),
        (false, [pkg, name]) => (caller, Some(*pkg), *name),
        (false, [name]) => (caller, None, *name),
        _ => return None,
    };
    let ns = if ns == "_" { caller } else { ns };
    let valid = crate::names::is_valid_name;
    if !valid(ns) || !valid(name) || pkg.is_some_and(|p| !valid(p)) {
        return None;
    }
    Some(EntityRef {
        namespace: ns.to_string(),
        package: pkg.map(str::to_string),
        name: name.to_string(),
    })
}

/// The next version: patch + 1 (`0.0.1` → `0.0.2`); anything unparsable restarts at `0.0.1`.
pub fn bump(version: &str) -> String {
    let parts: Vec<u64> = version
        .split('.')
        .map(|p| p.parse::<u64>())
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    match parts.as_slice() {
        [major, minor, patch] => format!("{major}.{minor}.{}", patch + 1),
        _ => "0.0.1".to_string(),
    }
}

/// The first version of a new entity.
pub const FIRST_VERSION: &str = "0.0.1";

/// The version a `PUT` stores: the one requested, else the old entity's bumped, else the
/// first.
pub fn next_version(requested: Option<String>, old: Option<&str>) -> String {
    requested.unwrap_or_else(|| old.map_or_else(|| FIRST_VERSION.to_string(), bump))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_resolve_against_the_caller() {
        let r = parse("/_/pkg/a", "me").expect("valid");
        assert_eq!(r.fully_qualified(), "/me/pkg/a");
        assert_eq!(parse("a", "me").expect("valid").fully_qualified(), "/me/a");
        assert_eq!(
            parse("p/a", "me").expect("valid").fully_qualified(),
            "/me/p/a"
        );
        assert_eq!(
            parse("/other/a", "me").expect("valid").fully_qualified(),
            "/other/a"
        );
        assert_eq!(parse("/a", "me"), None);
        assert_eq!(parse("/a/b/c/d", "me"), None);
        assert_eq!(parse("/a/b$", "me"), None);
    }

    #[test]
    fn versions_bump_the_patch() {
        assert_eq!(bump("0.0.1"), "0.0.2");
        assert_eq!(bump("1.2.9"), "1.2.10");
        assert_eq!(bump("junk"), "0.0.1");
    }

    #[test]
    fn puts_keep_a_requested_version_else_bump_the_old_one() {
        assert_eq!(next_version(None, None), FIRST_VERSION);
        assert_eq!(next_version(None, Some("0.0.4")), "0.0.5");
        assert_eq!(next_version(Some("2.0.0".into()), Some("0.0.4")), "2.0.0");
    }
}
